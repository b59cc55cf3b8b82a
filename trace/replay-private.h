/* replay-private.h - hooks between the trace reader and the replay model.
 *
 * The reader (reader.c) decodes events in the merged global order and feeds
 * each one to the replay index while it indexes; replay.c keeps a live heap
 * model, takes copy-on-write keyframes and fills the summary series as the
 * events go by, so the GUI can seek and draw charts without a second pass.
 * What replay.c keeps hangs off rav_trace.replay (void * owned by replay.c).
 *
 * Replay errors met while indexing (an event that does not fit the model)
 * do not stop indexing: the first one is kept, keyframes stop there, and
 * seeking past it reports it (RAV_TRACE_EREPLAY with the event index).
 * The reader may ask for it with _rav_replay_index_error().
 */
#ifndef RAV_REPLAY_PRIVATE_H
#define RAV_REPLAY_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ravtrace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called by the reader around and during indexing.  index_event gets every
 * event in global order, index 0, 1, 2, ... without gaps. */
void _rav_replay_index_begin(rav_trace *t);
void _rav_replay_index_event(rav_trace *t, const rav_event *ev);
/* The same for n consecutive events (evs[0].index continues the order): the
 * reader hands over a batch at a time so the per-event cost is the model's
 * work alone. */
void _rav_replay_index_events(rav_trace *t, const rav_event *evs, size_t n);
void _rav_replay_index_end(rav_trace *t);
/* At rav_trace_close. */
void _rav_replay_free(rav_trace *t);
/* The first replay error met while indexing: false if none, else fills *err. */
bool _rav_replay_index_error(const rav_trace *t, rav_trace_error *err);

/* Keyframe figures for rav_trace_info.keyframes and for benchmarks: how many,
 * the bytes they hold beyond the live model (tables plus pages copied on
 * write since), and the current spacing in events. */
void _rav_replay_stats(const rav_trace *t, uint64_t *keyframes, uint64_t *keyframe_bytes, uint64_t *spacing);

/* A replay state with no trace behind it, for unit tests and for tools that
 * build events by hand: geometry is given, events are applied one by one
 * with _rav_state_apply (which validates them exactly as replay does). */
rav_state *_rav_state_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size);
/* 0 on success, -1 with *err (RAV_TRACE_EREPLAY, event index in message). */
int _rav_state_apply(rav_state *s, const rav_event *ev, rav_trace_error *err);

/* The contention model fed by hand (tests): thread_ids[i] is the heap id of
 * thread index i.  With cfg->to == 0 every event falls in window 0 unless
 * cfg->to gives the event range the windows cover.  Feed events in order,
 * then finish before reading results with the public rav_contention_*. */
rav_contention *_rav_contention_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size,
                                             const rav_contention_config *cfg, const uint32_t *thread_ids,
                                             unsigned nthreads, rav_trace_error *err);
bool _rav_contention_feed(rav_contention *c, const rav_event *ev); /* false: out of memory */
bool _rav_contention_finish(rav_contention *c, rav_trace_error *err);

#ifdef __cplusplus
}
#endif
#endif /* RAV_REPLAY_PRIVATE_H */
