/* trace-private.h - what the rest of libravtrace, the tests and the
 * benchmarks may ask a rav_trace beyond the public API (ravtrace.h).
 *
 * A rav_trace (trace.c) is a thin owner: a reader (reader.h) and the
 * consumers it feeds (tables.h, replay.h with series.h and
 * replay-history.h).  It wires them together and answers the public API
 * from them; none of them knows the rav_trace.
 */
#ifndef RAVT_TRACE_PRIVATE_H
#define RAVT_TRACE_PRIVATE_H

#include "reader.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The trace's reader, for cursors (contention model, tests). */
ravt_reader *ravt_trace_reader(rav_trace *t);

/* State that a part above the trace keeps with it (the operations map, the
 * symbolizer of call sites):
 * made by `create` on first use (NULL when out of memory: asked again next
 * time), freed by `destroy` when the trace closes.  Any thread. */
enum { RAVT_EXT_OPERATIONS, RAVT_EXT_SYMBOLS, RAVT_EXT_COUNT };
void *ravt_trace_extension(rav_trace *t, unsigned slot, void *(*create)(rav_trace *t), void (*destroy)(void *));

/* Each recorded object of the trace that the symbolizer could open, with
 * its libdwfl module (reported at bias 0: addresses are the ELF's), under
 * the symbolizer's lock (libdw is not thread-safe); fn must not call back
 * into the symbolizer.  Objects that could not be opened are passed with
 * mod NULL and the reason in `why` (also for an object without debug
 * info, with mod set).  Returns the number of objects (sitespec.c). */
struct Dwfl_Module;
/* A source file's path as the symbolizer gives it (absolute with the unit's
 * compilation directory dir, "." and ".." folded): buf, or file itself. */
const char *ravt_source_path_fold(const char *dir, const char *file, char *buf, size_t cap);
typedef void (*ravt_module_fn)(unsigned object, struct Dwfl_Module *mod, const char *why, void *user);
unsigned ravt_symbols_each_object(rav_trace *t, ravt_module_fn fn, void *user);

/* An analysis's error: code, chunk -1, "what: msg" (err may be NULL). */
void ravt_error_set(rav_trace_error *err, rav_trace_errcode code, const char *what, const char *msg);

/* The first replay error met while indexing: false if none, else fills *err. */
bool ravt_trace_replay_error(const rav_trace *t, rav_trace_error *err);

/* Keyframes: how many, the bytes they hold beyond the live model, and the
 * current target cost of an interval between two, in events (benchmarks). */
void ravt_trace_keyframe_stats(const rav_trace *t, uint64_t *keyframes, uint64_t *keyframe_bytes,
                               uint64_t *spacing);
/* Cell blocks copied on write while indexing (each the first write to a
 * block shared with a keyframe), once indexing is done (benchmarks). */
uint64_t ravt_trace_index_copies(const rav_trace *t);
/* The event index of keyframe i (in order), or UINT64_MAX past the last
 * (benchmarks seek just before each one: the longest replays). */
uint64_t ravt_trace_keyframe_pos(const rav_trace *t, uint64_t i);

/* Work done by indexing so far (tests show that it grows with the events
 * indexed, not with how often a growing trace was polled). */
typedef struct ravt_trace_work {
	ravt_reader_work reader;
	uint64_t replay_events; /* events applied by the replay consumer */
} ravt_trace_work;
void ravt_trace_get_work(const rav_trace *t, ravt_trace_work *out);

#ifdef __cplusplus
}
#endif
#endif /* RAVT_TRACE_PRIVATE_H */
