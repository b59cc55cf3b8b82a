/* trace.c - rav_trace: the reader and the consumers it feeds, behind the
 * public API (ravtrace.h).
 *
 * A trace owns its reader (framing, decoding, merging, random access) and
 * the consumers the merged events are delivered to: the tables (threads,
 * types, marks) and replay, which feeds the series and the history filter.
 * Indexing is "merge what is framed and not merged yet", so rav_trace_index
 * on a file and rav_trace_poll on a stream are the same incremental step;
 * a later consumer (a live stream to a client) is one more sink here.
 * With more than one CPU replay runs on a worker thread behind a bounded
 * pipeline (pipeline.h): the caller's thread merges, decodes and fills the
 * tables (they run ahead of replay as the merged count does) while the
 * worker replays, and each call drains it before returning.
 *
 * Dependencies run one way: trace.c -> {tables, replay, series, history}
 * -> reader -> decoder -> format; nothing below includes this file's
 * structure (HACKING.md shows the graph).
 */
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "pipeline.h"
#include "replay.h"
#include "tables.h"
#include "trace-private.h"

/* Events merged between two progress reports of rav_trace_index. */
#define INDEX_STEP ((uint64_t)1 << 20)

struct rav_trace {
	ravt_reader *rd;
	ravt_tables *tables;
	ravt_series *series;
	ravt_history *history;
	ravt_replay *replay;
	ravt_sink *sinks[2];
	size_t nsinks;
	ravt_pipeline *pipe; /* NULL: the consumers run on the indexing thread */
	pthread_mutex_t index_lock; /* one poll or index at a time */
	/* State kept for parts above the trace (operations), made on first use. */
	pthread_mutex_t ext_lock;
	void *ext[RAVT_EXT_COUNT];
	void (*ext_free[RAVT_EXT_COUNT])(void *);
};

static void set_nomem(rav_trace_error *err)
{
	ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
}

/* Wrap an open reader; NULL (reader closed) when out of memory. */
static rav_trace *wrap(ravt_reader *rd, rav_trace_error *err)
{
	if (!rd)
		return NULL;
	rav_trace *t = calloc(1, sizeof *t);
	rav_trace_info in;
	ravt_reader_get_info(rd, &in);
	if (t) {
		t->rd = rd;
		ravt_budget *b = ravt_reader_budget(rd);
		t->tables = ravt_tables_new(b);
		t->series = ravt_series_new(b);
		t->history = ravt_history_new(b);
		if (t->series && t->history)
			t->replay = ravt_replay_new(in.page_size, in.cell_size, in.word_size, t->series,
			                            t->history, b);
		pthread_mutex_init(&t->index_lock, NULL);
		pthread_mutex_init(&t->ext_lock, NULL);
	}
	if (!t || !t->tables || !t->replay) {
		if (t)
			rav_trace_close(t);
		else
			ravt_reader_close(rd);
		set_nomem(err);
		return NULL;
	}
	t->sinks[t->nsinks++] = ravt_tables_sink(t->tables);
	t->sinks[t->nsinks++] = ravt_replay_sink(t->replay);
	/* replay alone on the worker: the tables' pass over each batch (a few
	 * loads and compares an event) runs on the indexing thread, which
	 * waits for the worker, as the merged count does (see merge_steps) */
	t->pipe = ravt_pipeline_new(&t->sinks[1], 1);
	if (t->pipe)
		ravt_pipeline_set_ahead(t->pipe, 0, ravt_replay_events_ahead);
	return t;
}

rav_trace *rav_trace_open(const char *path, rav_trace_error *err)
{
	return wrap(ravt_reader_open_file(path, err), err);
}

rav_trace *rav_trace_open_memory(const void *data, size_t size, rav_trace_error *err)
{
	return wrap(ravt_reader_open_memory(data, size, err), err);
}

/* (index_lock held) */
static int merge_steps(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err)
{
	/* with a worker: the tables here, then the pipeline (last: the reader
	 * decodes into its slots, ravt_sink_ops.reserve), which runs replay */
	ravt_sink *piped[2] = {t->sinks[0], t->pipe ? ravt_pipeline_sink(t->pipe) : NULL};
	ravt_sink *const *sinks = t->pipe ? piped : t->sinks;
	size_t nsinks = t->nsinks;
	for (;;) {
		int rc = ravt_reader_merge(t->rd, sinks, nsinks, progress ? INDEX_STEP : 0, err);
		if (rc < 0)
			return -1;
		uint64_t done = ravt_reader_merged(t->rd);
		if (rc == 0) {
			if (progress) {
				/* "done" means replayed too */
				ravt_pipeline_drain(t->pipe);
				progress(done, done, user);
			}
			return 0;
		}
		if (!progress(done, ravt_reader_framed_events(t->rd), user)) {
			ravt_set_error(err, RAV_TRACE_ECANCELLED, 0, -1,
			               "indexing cancelled after %llu events", (unsigned long long)done);
			return -1;
		}
	}
}

/* (index_lock held) */
static int index_locked(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err)
{
	ravt_replay_set_trace_size(t->replay, ravt_reader_size(t->rd), ravt_reader_framed_events(t->rd));
	int rc = merge_steps(t, progress, user, err);
	ravt_pipeline_drain(t->pipe);
	return rc;
}

rav_trace *rav_trace_open_fd(int fd, rav_trace_error *err)
{
	rav_trace *t = wrap(ravt_reader_open_fd(fd, err), err);
	if (!t)
		return NULL;
	pthread_mutex_lock(&t->index_lock);
	int rc = index_locked(t, NULL, NULL, err);
	pthread_mutex_unlock(&t->index_lock);
	if (rc < 0) {
		rav_trace_close(t);
		return NULL;
	}
	return t;
}

int64_t rav_trace_poll(rav_trace *t, rav_trace_error *err)
{
	pthread_mutex_lock(&t->index_lock);
	int64_t n = ravt_reader_poll(t->rd, err);
	if (n >= 0 && ravt_reader_is_stream(t->rd) && index_locked(t, NULL, NULL, err) < 0)
		n = -1;
	pthread_mutex_unlock(&t->index_lock);
	return n;
}

int rav_trace_index(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err)
{
	pthread_mutex_lock(&t->index_lock);
	int rc = index_locked(t, progress, user, err);
	pthread_mutex_unlock(&t->index_lock);
	return rc;
}

int rav_trace_save(rav_trace *t, const char *path, rav_trace_error *err)
{
	pthread_mutex_lock(&t->index_lock);
	int rc = ravt_reader_save(t->rd, path, err);
	pthread_mutex_unlock(&t->index_lock);
	return rc;
}

bool rav_trace_stream_ended(const rav_trace *t)
{
	return ravt_reader_stream_ended(t->rd);
}

void rav_trace_close(rav_trace *t)
{
	if (!t)
		return;
	ravt_pipeline_free(t->pipe);
	for (unsigned i = 0; i < RAVT_EXT_COUNT; i++)
		if (t->ext[i])
			t->ext_free[i](t->ext[i]);
	pthread_mutex_destroy(&t->ext_lock);
	ravt_replay_free(t->replay);
	ravt_history_free(t->history);
	ravt_series_free(t->series);
	ravt_tables_free(t->tables);
	ravt_reader_close(t->rd);
	pthread_mutex_destroy(&t->index_lock);
	free(t);
}

uint64_t rav_trace_indexed_events(const rav_trace *t)
{
	return ravt_reader_merged(t->rd);
}

void rav_trace_get_info(const rav_trace *t, rav_trace_info *out)
{
	ravt_reader_get_info(t->rd, out);
	if (ravt_reader_merge_final(t->rd) && !ravt_reader_merge_failed(t->rd, NULL))
		out->events = ravt_reader_merged(t->rd);
	uint64_t last;
	if (ravt_tables_last_time(t->tables, &last)) {
		out->duration_ns = last;
		if (out->start_ns)
			out->end_ns =
			    out->start_ns + last < out->start_ns ? UINT64_MAX : out->start_ns + last;
	}
	ravt_replay_stats(t->replay, &out->keyframes, NULL, NULL);
}

bool rav_trace_consistent(const rav_trace *t, rav_trace_error *err)
{
	/* a decode error or the memory limit first: replay stopped with it */
	if (ravt_reader_merge_failed(t->rd, err))
		return false;
	return !ravt_replay_error(t->replay, err);
}

void rav_trace_set_memory_limit(rav_trace *t, uint64_t bytes)
{
	ravt_budget_set_limit(ravt_reader_budget(t->rd), bytes);
}

uint64_t rav_trace_memory_limit(const rav_trace *t)
{
	return ravt_budget_limit(ravt_reader_budget(t->rd));
}

bool rav_trace_get_session(const rav_trace *t, rav_trace_session *out)
{
	return ravt_reader_session(t->rd, out);
}

/* ---- tables ------------------------------------------------------------------ */

unsigned rav_trace_thread_count(const rav_trace *t)
{
	return ravt_tables_thread_count(t->tables);
}

bool rav_trace_thread_at(const rav_trace *t, unsigned i, rav_trace_thread *out)
{
	return ravt_tables_thread_at(t->tables, i, out);
}

bool rav_trace_thread_by_id(const rav_trace *t, uint32_t heap_id, rav_trace_thread *out)
{
	return ravt_tables_thread_by_id(t->tables, heap_id, out);
}

unsigned rav_trace_type_count(const rav_trace *t)
{
	return ravt_tables_type_count(t->tables);
}

bool rav_trace_type_at(const rav_trace *t, unsigned i, rav_trace_type *out)
{
	return ravt_tables_type_at(t->tables, i, out);
}

bool rav_trace_type_by_id(const rav_trace *t, uint16_t id, rav_trace_type *out)
{
	return ravt_tables_type_by_id(t->tables, id, out);
}

const char *rav_trace_type_name(const rav_trace *t, uint16_t id)
{
	return ravt_tables_type_name(t->tables, id);
}

const char *rav_trace_type_field_name(const rav_trace *t, uint16_t id, int field)
{
	return ravt_tables_type_field_name(t->tables, id, field);
}

unsigned rav_trace_mark_count(const rav_trace *t)
{
	return ravt_tables_mark_count(t->tables);
}

bool rav_trace_mark_at(const rav_trace *t, unsigned i, rav_trace_mark *out)
{
	return ravt_tables_mark_at(t->tables, i, out);
}

/* ---- call sites ---------------------------------------------------------------- */

unsigned rav_trace_object_count(const rav_trace *t)
{
	return ravt_reader_object_count(t->rd);
}

bool rav_trace_object_at(const rav_trace *t, unsigned i, rav_trace_object *out)
{
	return ravt_reader_object_at(t->rd, i, out);
}

uint32_t rav_trace_site_count(const rav_trace *t)
{
	return ravt_reader_site_count(t->rd);
}

unsigned rav_trace_site_frames(const rav_trace *t, uint32_t site, rav_trace_frame *out, unsigned max)
{
	return ravt_reader_site_frames(t->rd, site, out, max);
}

size_t rav_trace_sites_with_call(const rav_trace *t, const rav_trace_frame *call, uint32_t *out, size_t max)
{
	return ravt_reader_sites_with_call(t->rd, call, out, max);
}

/* ---- events ------------------------------------------------------------------ */

bool rav_trace_event_at(rav_trace *t, uint64_t index, rav_event *out)
{
	return ravt_reader_event_at(t->rd, index, out);
}

int64_t rav_trace_thread_event(rav_trace *t, uint32_t thread, uint64_t ordinal)
{
	return ravt_reader_thread_event(t->rd, thread, ordinal);
}

/* An iterator reads through a cursor (one decoder per thread, each chunk
 * decompressed once): random access through the reader's small cache of
 * decoded windows would decode a window again at every switch between
 * threads once more threads interleave than it has windows. */
void rav_event_iter_init(rav_event_iter *it, rav_trace *t, const rav_event_filter *filter)
{
	memset(it, 0, sizeof *it);
	it->trace = t;
	if (filter)
		it->filter = *filter;
	else
		it->filter.thread = -1;
	it->next = it->filter.from;
}

void rav_event_iter_fini(rav_event_iter *it)
{
	ravt_cursor *cur = it->priv;
	if (cur) {
		ravt_cursor_fini(cur);
		free(cur);
	}
	it->priv = NULL;
}

static uint64_t range_end(const rav_trace *t, const rav_event_filter *f)
{
	uint64_t n = rav_trace_indexed_events(t);
	return f->to && f->to < n ? f->to : n;
}

bool rav_event_iter_next(rav_event_iter *it, rav_event *out)
{
	uint64_t end = range_end(it->trace, &it->filter);
	rav_event ev;
	while (it->next < end) {
		ravt_cursor *cur = it->priv;
		if (!cur) {
			cur = malloc(sizeof *cur);
			if (!cur)
				break;
			ravt_cursor_init(cur, it->trace->rd, it->next);
			it->priv = cur;
		}
		if (!ravt_cursor_next(cur, &ev))
			break; /* (a chunk that does not decode: indexing reported it) */
		it->next = ev.index + 1;
		if (ravt_filter_match(&it->filter, &ev)) {
			*out = ev;
			return true;
		}
	}
	/* at the end of what is indexed (a growing trace may bring more: the
	 * next call starts a cursor where this one stopped) */
	rav_event_iter_fini(it);
	return false;
}

int64_t rav_trace_find_next(rav_trace *t, uint64_t from, const rav_event_filter *filter)
{
	rav_event_filter all = {.thread = -1};
	const rav_event_filter *f = filter ? filter : &all;
	uint64_t end = range_end(t, f);
	if (from < f->from)
		from = f->from;
	if (from >= end)
		return -1;
	return ravt_reader_scan(t->rd, from, end, 1, f, NULL);
}

int64_t rav_trace_find_prev(rav_trace *t, uint64_t from, const rav_event_filter *filter)
{
	rav_event_filter all = {.thread = -1};
	const rav_event_filter *f = filter ? filter : &all;
	uint64_t end = range_end(t, f);
	if (from > end)
		from = end;
	if (from <= f->from)
		return -1;
	return ravt_reader_scan(t->rd, from, f->from, -1, f, NULL);
}

/* ---- replay, series, history ----------------------------------------------- */

rav_state *rav_state_new(rav_trace *t)
{
	return ravt_state_new(t->replay, t->rd);
}

/* Events both merged and applied (what seeks and queries may use). */
static uint64_t available(const rav_trace *t)
{
	uint64_t a = ravt_replay_applied(t->replay), m = ravt_reader_merged(t->rd);
	return a < m ? a : m;
}

uint64_t rav_trace_replayed_events(const rav_trace *t)
{
	return available(t);
}

bool rav_trace_series(rav_trace *t, rav_series_kind kind, int64_t arg, uint64_t from, uint64_t to,
                      unsigned nbins, double *out)
{
	return ravt_series_query(t->series, kind, arg, from, to, nbins, out, ravt_replay_applied(t->replay));
}

unsigned rav_trace_cell_history(rav_trace *t, rav_loc cell, uint64_t at, rav_cell_event *out, unsigned max,
                                unsigned *total)
{
	return ravt_history_query(t->history, t->rd, available(t), cell, at, out, max, total);
}

/* ---- for the rest of libravtrace, tests and benchmarks ------------------------ */

ravt_reader *ravt_trace_reader(rav_trace *t)
{
	return t->rd;
}

void *ravt_trace_extension(rav_trace *t, unsigned slot, void *(*create)(rav_trace *t), void (*destroy)(void *))
{
	if (slot >= RAVT_EXT_COUNT)
		return NULL;
	pthread_mutex_lock(&t->ext_lock);
	if (!t->ext[slot] && create) {
		t->ext[slot] = create(t);
		t->ext_free[slot] = destroy;
	}
	void *p = t->ext[slot];
	pthread_mutex_unlock(&t->ext_lock);
	return p;
}

void ravt_error_set(rav_trace_error *err, rav_trace_errcode code, const char *what, const char *msg)
{
	if (!err)
		return;
	memset(err, 0, sizeof *err);
	err->code = code;
	err->chunk = -1;
	snprintf(err->message, sizeof err->message, "%s: %s", what, msg);
}

bool ravt_trace_replay_error(const rav_trace *t, rav_trace_error *err)
{
	return ravt_replay_error(t->replay, err);
}

void ravt_trace_keyframe_stats(const rav_trace *t, uint64_t *keyframes, uint64_t *keyframe_bytes,
                               uint64_t *spacing)
{
	ravt_replay_stats(t->replay, keyframes, keyframe_bytes, spacing);
}

uint64_t ravt_trace_index_copies(const rav_trace *t)
{
	return ravt_replay_copies(t->replay);
}

uint64_t ravt_trace_keyframe_pos(const rav_trace *t, uint64_t i)
{
	return ravt_replay_keyframe_pos(t->replay, i);
}

void ravt_trace_get_work(const rav_trace *t, ravt_trace_work *out)
{
	ravt_reader_get_work(t->rd, &out->reader);
	out->replay_events = ravt_replay_work(t->replay);
}
