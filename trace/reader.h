/* reader.h - the trace reader: framing, decoding, merging into one global
 * order, random access and a sequential cursor.  Plain bytes in, events out;
 * it knows nothing of replay, tables or series (they are sinks, sink.h),
 * so it can be tested and fuzzed alone (tests/trace/reader.c,
 * trace/fuzz/fuzz-reader.c).
 *
 * Threads: one thread at a time calls the calls that change the reader
 * (poll, merge); any number of threads may meanwhile read what has been
 * merged (event_at, scan, cursors, get_info).  Merged events never change
 * their index: what later polls bring is appended to the order.
 *
 * Memory: an open reader never holds one decoded struct per event.  It
 * keeps the chunk table, per-thread chunk lists and the merged order as
 * "runs" (consecutive global indices served by one thread's stream); events
 * are decoded on demand.  A file is mapped; a stream is spooled to an
 * unlinked temporary file and mapped the same way, so a long live session
 * costs what an open file costs.
 */
#ifndef RAVT_READER_H
#define RAVT_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "ravtrace.h"
#include "sink.h"

typedef struct ravt_reader ravt_reader;

/* Errors of libravtrace: code, place and a message in plain words. */
void ravt_set_error(rav_trace_error *err, rav_trace_errcode code, uint64_t offset, int64_t chunkno,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ravt_clear_error(rav_trace_error *err);

/* ---- Opening ---------------------------------------------------------------
 * As rav_trace_open / _open_memory / _open_fd (ravtrace.h): NULL with *err,
 * or the reader with *err RAV_TRACE_OK or describing a truncation. */
ravt_reader *ravt_reader_open_file(const char *path, rav_trace_error *err);
ravt_reader *ravt_reader_open_memory(const void *data, size_t size, rav_trace_error *err);
ravt_reader *ravt_reader_open_fd(int fd, rav_trace_error *err);
void ravt_reader_close(ravt_reader *rd);

/* Streams: read what has arrived (never blocks) and frame the complete
 * chunks.  Returns the events framed, 0 for none (also for files), -1. */
int64_t ravt_reader_poll(ravt_reader *rd, rav_trace_error *err);
bool ravt_reader_is_stream(const ravt_reader *rd);
bool ravt_reader_stream_ended(const ravt_reader *rd);
/* Write the bytes read so far, up to the last whole chunk, to path (a
 * new file; written beside it and renamed, so a failure leaves nothing). */
int ravt_reader_save(ravt_reader *rd, const char *path, rav_trace_error *err);

/* Geometry, sizes, chunk count, truncation, program; `events` is the number
 * of events framed (the merged count is ravt_reader_merged). */
void ravt_reader_get_info(const ravt_reader *rd, rav_trace_info *out);
uint64_t ravt_reader_framed_events(const ravt_reader *rd);
/* Bytes of the trace held (file size, or stream bytes received). */
uint64_t ravt_reader_size(const ravt_reader *rd);

/* ---- Merging into the global order (FORMAT.md section 9) -----------------
 * Decodes the framed events not merged yet, in global order, and delivers
 * them to the sinks (begin, events..., end).  Stops after about max_events
 * (0: no limit; it stops at the end of a segment) or when nothing more can
 * be merged now.  Returns 1 if more can be merged now, 0 if not, -1 on a
 * decode error (sticky: every later call returns it again; the events before
 * the damage stay merged and readable).
 *
 * Files, and streams once they ended, merge exactly by the rule of section
 * 9.  A live stream cannot know the chunks still in flight, so it never
 * waits for a thread that has sent nothing new, and a segment whose sequence
 * number is not the next one waits until that number arrives (the first is
 * taken to be 1: the engine's counter starts at 0 when recording starts).
 * The order stays valid for replay; a thread's chunk that arrives late may
 * come after events with later timestamps. */
int ravt_reader_merge(ravt_reader *rd, ravt_sink *const *sinks, size_t nsinks, uint64_t max_events,
                      rav_trace_error *err);
/* The merge's decode error, if it met one: false if none, else fills *err. */
bool ravt_reader_merge_failed(const ravt_reader *rd, rav_trace_error *err);
/* Events merged and published (readable through event_at and cursors). */
uint64_t ravt_reader_merged(const ravt_reader *rd);
/* Every framed event is merged and no more can come (a file merged to its
 * end, a stream merged after it ended, or a decode error). */
bool ravt_reader_merge_final(const ravt_reader *rd);

/* ---- Random access and filtered search ---------------------------------- */
bool ravt_reader_event_at(ravt_reader *rd, uint64_t index, rav_event *out);
/* Event `ordinal` of thread `thread` (heap id) in the global order, -1 if not merged yet. */
int64_t ravt_reader_thread_event(ravt_reader *rd, uint32_t thread, uint64_t ordinal);
/* Spans of consecutive global indices [lo, hi] that hold events of one
 * recording thread. */
typedef struct ravt_gspan {
	uint64_t lo, hi;
} ravt_gspan;
/* The events of event `from`'s thread next to it, as runs of the global
 * order: forward, those after `from` (the first may start at from + 1),
 * backward, those before it (the first may end at from - 1), nearest
 * first, at most max of them.  Returns how many; 0 at that thread's end
 * of what is merged, or when `from` is not merged.  Walking a thread's
 * events by its runs reads none of the other threads' events (the
 * operations of a trace of hundreds of threads, operations.c). */
size_t ravt_reader_thread_spans(ravt_reader *rd, uint64_t from, bool forward, ravt_gspan *out, size_t max);
bool ravt_filter_match(const rav_event_filter *f, const rav_event *ev);
/* First event matching f in [from, to) scanning forward (dir > 0), or in
 * [to, from) scanning backward from from - 1; its index or -1. */
int64_t ravt_reader_scan(ravt_reader *rd, uint64_t from, uint64_t to, int dir, const rav_event_filter *f,
                         rav_event *out);

/* ---- Sequential cursor over the global order ------------------------------
 *
 *	ravt_cursor cur;
 *	ravt_cursor_init(&cur, rd, from);
 *	while (ravt_cursor_next(&cur, &ev)) ...
 *	ravt_cursor_fini(&cur);
 *
 * Events come out exactly as ravt_reader_event_at gives them, at decode
 * speed: one decoder per recording thread, each chunk decompressed once.
 * The cursor sees the events merged so far (merging may go on in another
 * thread) and stops at the end of them; from may equal that count.  `failed`
 * is set when next returned false because a chunk failed to decode. */
typedef struct ravt_cursor {
	ravt_reader *reader;
	uint64_t next; /* global index of the next event */
	bool failed;
	rav_trace_error error;
	void *priv;
} ravt_cursor;

void ravt_cursor_init(ravt_cursor *cur, ravt_reader *rd, uint64_t from);
bool ravt_cursor_next(ravt_cursor *cur, rav_event *ev);
void ravt_cursor_fini(ravt_cursor *cur);

/* ---- Call sites (format 1.3; reader-sites.c) -----------------------------
 * Sites and objects are numbered while chunks are framed, in file order:
 * as rav_trace_site_count ... in ravtrace.h. */
uint32_t ravt_reader_site_count(const ravt_reader *rd);
unsigned ravt_reader_site_frames(const ravt_reader *rd, uint32_t site, rav_trace_frame *out, unsigned max);
size_t ravt_reader_sites_with_call(const ravt_reader *rd, const rav_trace_frame *call, uint32_t *out,
                                   size_t max);
unsigned ravt_reader_object_count(const ravt_reader *rd);
/* The header says call sites were recorded (a memory map is due before the
 * first site, or, from recorders since 2026-12, with the header). */
bool ravt_reader_records_sites(const ravt_reader *rd);
bool ravt_reader_object_at(const ravt_reader *rd, unsigned i, rav_trace_object *out);

/* ---- Snapshots and live sessions (FORMAT.md sections 11 and 12) ----------- */

/* The snapshot piece with this id, once every part of it is framed; NULL
 * otherwise.  Valid until the reader is closed. */
const ravt_piece *ravt_reader_piece(ravt_reader *rd, uint64_t id);
/* What a live session's records said (false: the trace is not one). */
bool ravt_reader_session(const ravt_reader *rd, rav_trace_session *out);

/* ---- Accounting (benchmarks and tests) ------------------------------------ */

/* The trace's memory budget (budget.h): the reader charges its own tables
 * to it, and the consumers it feeds charge theirs. */
ravt_budget *ravt_reader_budget(ravt_reader *rd);

/* Heap bytes the reader holds (tables, decoded-chunk cache, decoder
 * buffers, texts), not counting the mapped bytes. */
size_t ravt_reader_memory(const ravt_reader *rd);

/* Work done by merging so far: events decoded and chunks decompressed.
 * Each framed event is decoded once by the merge, however the indexing is
 * split into polls. */
typedef struct ravt_reader_work {
	uint64_t merge_events;
	uint64_t merge_chunk_loads;
	uint64_t deliveries; /* begin/end pairs sent to the sinks */
} ravt_reader_work;
void ravt_reader_get_work(const ravt_reader *rd, ravt_reader_work *out);

#endif /* RAVT_READER_H */
