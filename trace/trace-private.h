/* trace-private.h - what the reader shares with the rest of libravtrace.
 *
 * The reader (reader.c) owns struct rav_trace: the mapped bytes, the chunk
 * table, the per-thread streams and the merged global order (a list of
 * "runs": consecutive global indices taken from one thread's stream).  Replay
 * (replay.c) and the contention model only need three things from it:
 *   - geometry and counts (the public rav_trace_info, kept in t->info),
 *   - a place to hang their own state (t->replay, t->contention),
 *   - a fast sequential cursor over the events in global order, starting
 *     anywhere (replay restarts from a keyframe with it).
 * Nothing else in the struct is for them; reader.c is its only writer.
 */
#ifndef RAV_TRACE_PRIVATE_H
#define RAV_TRACE_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ravtrace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Sequential cursor over the global order ------------------------------
 *
 * Usage:
 *	rav_trace_cursor cur;
 *	_rav_trace_cursor_init(t, from, &cur);
 *	while (_rav_trace_cursor_next(&cur, &ev)) ...
 *	_rav_trace_cursor_fini(&cur);
 *
 * Events come out exactly as rav_trace_event_at() gives them (same index,
 * time, locations, text pointers), but at decode speed: the cursor keeps one
 * decoder per recording thread and only decompresses each chunk once.
 * It sees the events indexed so far (it may run while rav_trace_index works
 * on another thread) and stops at the end of that prefix; init may be given
 * from == indexed count (then next returns false at once).  Any number of
 * cursors may be open on one trace, from any threads.  `error` is set when
 * next returned false because a chunk failed to decode (not at a clean end).
 */
typedef struct rav_trace_cursor {
	rav_trace *trace;
	uint64_t next;          /* global index of the next event */
	bool failed;            /* a chunk failed to decode: see error */
	rav_trace_error error;
	void *priv;             /* reader.c's decoder set */
} rav_trace_cursor;

void _rav_trace_cursor_init(rav_trace *t, uint64_t from, rav_trace_cursor *cur);
bool _rav_trace_cursor_next(rav_trace_cursor *cur, rav_event *ev);
void _rav_trace_cursor_fini(rav_trace_cursor *cur);

/* Heap bytes the reader itself holds for an open trace (chunk and run
 * tables, decoded-chunk cache, decoder buffers, texts), not counting the
 * mapped file or what replay and contention keep.  For benchmarks. */
size_t _rav_trace_reader_memory(const rav_trace *t);

/* ---- The trace object -------------------------------------------------------
 * Members other engineers may read: info (geometry, counts; info.events is
 * the number of events indexed once rav_trace_index has finished),
 * replay and contention (theirs).  The rest is reader.c's. */
struct rav_trace_reader; /* reader.c */

struct rav_trace {
	rav_trace_info info;
	void *replay;           /* owned by replay.c (freed by _rav_replay_free) */
	void *contention;       /* free for contention.c if it needs a per-trace cache */
	struct rav_trace_reader *rd;
};

#ifdef __cplusplus
}
#endif
#endif /* RAV_TRACE_PRIVATE_H */
