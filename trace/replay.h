/* replay.h - heap state at any event: the replay consumer and rav_state.
 *
 * The replay consumer (replay-index.c) is a sink (sink.h): it applies every
 * event to a live model as the reader delivers it, checking each against
 * the model, takes copy-on-write keyframes, and feeds the summary series
 * and the history filter on the way, so the viewer can seek and draw charts
 * without a second pass.  A rav_state (replay-state.c) seeks by copying the
 * nearest keyframe at or before its target and replaying forward with a
 * reader cursor.
 *
 * A replay error met while indexing (an event that does not fit the model)
 * does not stop indexing: the first one is kept, keyframes stop there, and
 * seeking past it reports it (RAV_TRACE_EREPLAY with the event index).
 */
#ifndef RAVT_REPLAY_H
#define RAVT_REPLAY_H

#include "reader.h"
#include "replay-history.h"
#include "series.h"
#include "sink.h"

typedef struct ravt_replay ravt_replay;

/* series and history (not owned) are fed as events are applied; the live
 * model charges what it holds to budget (the reader's, budget.h). */
ravt_replay *ravt_replay_new(uint32_t page_size, uint32_t cell_size, uint8_t word_size, ravt_series *series,
                             ravt_history *history, ravt_budget *budget);
void ravt_replay_free(ravt_replay *rp);
ravt_sink *ravt_replay_sink(ravt_replay *rp);
/* The replay sink's events() with a look at the next call's events, for
 * its prefetches (pipeline.h: ravt_pipeline_set_ahead). */
void ravt_replay_events_ahead(ravt_sink *sink, const rav_event *evs, size_t n, const rav_event *next,
                              size_t nnext);
/* Keyframes may hold 10 times the trace's size, at least 64 MiB and at
 * most 768 MiB plus the size, and no more than the trace's memory limit
 * (the env variable RAVTRACE_KEYFRAME_MB overrides it); a stream's size
 * grows.  They are as far apart as a worst seek allows (a replay cost,
 * RAVTRACE_KEYFRAME_COST overrides it), or further where the budget holds
 * fewer: `events`, the events the trace holds as far as is known (a
 * file's from its framing; what a stream has delivered), spaces those
 * evenly. */
void ravt_replay_set_trace_size(ravt_replay *rp, uint64_t bytes, uint64_t events);
/* Events applied to the live model (and seen by series and history). */
uint64_t ravt_replay_applied(const ravt_replay *rp);
/* The first replay error met while indexing: false if none, else fills *err. */
bool ravt_replay_error(const ravt_replay *rp, rav_trace_error *err);
/* Keyframes: how many, the bytes they hold beyond the live model (tables
 * plus blocks copied on write since), and the current target replay cost of
 * the interval between two (events replayed + weighted blocks copied). */
void ravt_replay_stats(const ravt_replay *rp, uint64_t *keyframes, uint64_t *keyframe_bytes,
                       uint64_t *spacing);
/* The position of keyframe i, UINT64_MAX if there is none. */
uint64_t ravt_replay_keyframe_pos(const ravt_replay *rp, uint64_t i);
/* Cell blocks the live model copied on write in total (each the first
 * write to a block shared with a keyframe): for benchmarks, read once
 * indexing is done. */
uint64_t ravt_replay_copies(const ravt_replay *rp);
/* Events applied to the live model in total (work accounting for tests). */
uint64_t ravt_replay_work(const ravt_replay *rp);

/* For a seek to `index`: the nearest keyframe at or before it is copied
 * into *m (with m->pos set to its position) when it is a better start than
 * m itself: when `restart` (m cannot go on), m is past index, or the
 * keyframe is after m.  Returns 1 if a keyframe exists (*used: copied), 0 if
 * none does, -1 when out of memory for the copy. */
int ravt_replay_restore(const ravt_replay *rp, uint64_t index, ravt_model *m, bool restart, bool *used);

/* The live model (the heap after every event indexed so far) copied into
 * *m, as a keyframe is restored: tables copied, cell blocks shared copy on
 * write.  Only on the thread that indexes, between calls (the live model
 * moves while indexing runs).  1 done, 0 if indexing stopped at a replay
 * error (the live model is not a heap to show), -1 out of memory. */
int ravt_replay_copy_live(const ravt_replay *rp, ravt_model *m);

/* A state over the replay's keyframes and the reader's events. */
rav_state *ravt_state_new(ravt_replay *rp, ravt_reader *rd);
/* A state with no trace behind it, for unit tests and for tools that build
 * events by hand: geometry is given, events are applied one by one with
 * ravt_state_apply (which validates them exactly as replay does). */
rav_state *ravt_state_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size);
/* 0 on success, -1 with *err (RAV_TRACE_EREPLAY, event index in message). */
int ravt_state_apply(rav_state *s, const rav_event *ev, rav_trace_error *err);
/* Events the state's last seek replayed (from a keyframe or from where the
 * state was): the deterministic cost of a seek, for benchmarks. */
uint64_t ravt_state_seek_replayed(const rav_state *s);

#endif /* RAVT_REPLAY_H */
