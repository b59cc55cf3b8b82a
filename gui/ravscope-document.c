/* ravscope-document.c - an open trace, its playhead and its background index.
 *
 * Indexing runs in a GTask thread and reports progress through an atomic
 * counter that a main-loop timeout publishes as a property, so the worker
 * never touches GObject state the widgets read.  libravtrace allows the
 * playhead state to be used while indexing goes on (it sees the indexed
 * prefix), which is what lets the first frame appear before indexing ends.
 *
 * Questions about the whole trace are in ravscope-document-queries.c, names
 * in plain words in ravscope-document-names.c (ravscope-document-private.h).
 */
#include "ravscope-document-private.h"

#include <stdio.h>
#include <string.h>

G_DEFINE_QUARK(ravscope-error-quark, ravscope_error)

G_DEFINE_FINAL_TYPE(RavscopeDocument, ravscope_document, G_TYPE_OBJECT)

enum { PROP_0, PROP_INDEX_PROGRESS, PROP_INDEXED, PROP_OPERATIONS_READY, N_PROPS };
static GParamSpec *props[N_PROPS];

enum { SIGNAL_POSITION_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void ravscope_document_finalize(GObject *object)
{
	RavscopeDocument *doc = RAVSCOPE_DOCUMENT(object);
	g_clear_handle_id(&doc->progress_source, g_source_remove);
	if (doc->state)
		rav_state_free(doc->state);
	if (doc->trace && !doc->owner)
		rav_trace_close(doc->trace);
	g_clear_object(&doc->owner);
	g_clear_pointer(&doc->max_pages, g_hash_table_unref);
	g_clear_object(&doc->cancellable);
	g_clear_pointer(&doc->shown_names, g_hash_table_unref);
	g_free(doc->stop_message);
	g_free(doc->path);
	g_free(doc->basename);
	G_OBJECT_CLASS(ravscope_document_parent_class)->finalize(object);
}

static void ravscope_document_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	RavscopeDocument *doc = RAVSCOPE_DOCUMENT(object);
	switch (id) {
	case PROP_OPERATIONS_READY:
		g_value_set_boolean(value, doc->indexed && !doc->operations_running);
		break;
	case PROP_INDEX_PROGRESS:
		g_value_set_double(value, doc->progress);
		break;
	case PROP_INDEXED:
		g_value_set_boolean(value, doc->indexed);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
}

static void ravscope_document_class_init(RavscopeDocumentClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	object_class->finalize = ravscope_document_finalize;
	object_class->get_property = ravscope_document_get_property;
	props[PROP_INDEX_PROGRESS] = g_param_spec_double("index-progress", NULL, NULL, 0, 1, 0,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	/* operations-ready: the map of operations covers the indexed trace */
	props[PROP_OPERATIONS_READY] = g_param_spec_boolean("operations-ready", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_INDEXED] = g_param_spec_boolean("indexed", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(object_class, N_PROPS, props);
	/* position-changed (guint64 position, gboolean stepped) */
	signals[SIGNAL_POSITION_CHANGED] = g_signal_new("position-changed", G_TYPE_FROM_CLASS(klass),
		G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_BOOLEAN);
}

static void ravscope_document_init(RavscopeDocument *doc)
{
	doc->max_pages = g_hash_table_new(NULL, NULL);
	doc->headline = -1;
}

static void set_error_from_trace(GError **error, const rav_trace_error *err)
{
	const char *msg = err->message[0] ? err->message : "unknown error";
	g_set_error_literal(error, RAVSCOPE_ERROR, (int)err->code, msg);
}

RavscopeDocument *ravscope_document_open(const char *path, GError **error)
{
	rav_trace_error err = { 0 };
	rav_trace *t = rav_trace_open(path, &err);
	if (!t) {
		set_error_from_trace(error, &err);
		return NULL;
	}
	rav_state *s = rav_state_new(t);
	if (!s) {
		rav_trace_close(t);
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_ENOMEM, "%s: out of memory creating the replay state", path);
		return NULL;
	}
	/* Call sites name the program's objects by their recorded paths; a
	 * program kept next to its trace, or installed next to ravscope (the
	 * demos' samples), is found there too. */
	g_autofree char *trace_dir = g_path_get_dirname(path);
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *exe_dir = exe ? g_path_get_dirname(exe) : NULL;
	g_autofree char *search = g_strjoin(":", trace_dir, exe_dir, NULL);
	rav_trace_set_object_path(t, search);
	RavscopeDocument *doc = g_object_new(RAVSCOPE_TYPE_DOCUMENT, NULL);
	doc->path = g_strdup(path);
	doc->basename = g_path_get_basename(path);
	doc->trace = t;
	doc->state = s;
	rav_trace_get_info(t, &doc->info);
	unsigned cpp = doc->info.cells_per_page ? doc->info.cells_per_page : 128;
	/* Wide pages (16 columns for 128 cells) read best in horizontal lanes. */
	doc->page_cols = cpp >= 16 ? 16 : cpp;
	doc->page_rows = (cpp + doc->page_cols - 1) / doc->page_cols;
	return doc;
}

static void finish_indexing(RavscopeDocument *doc, gboolean map_operations);

RavscopeDocument *ravscope_document_open_stream(int fd, const char *title, GError **error)
{
	rav_trace_error err = { 0 };
	rav_trace *t = rav_trace_open_fd(fd, &err);
	if (!t) {
		set_error_from_trace(error, &err);
		return NULL;
	}
	rav_state *s = rav_state_new(t);
	if (!s) {
		rav_trace_close(t);
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_ENOMEM, "out of memory creating the replay state");
		return NULL;
	}
	RavscopeDocument *doc = g_object_new(RAVSCOPE_TYPE_DOCUMENT, NULL);
	doc->path = NULL;
	doc->basename = g_strdup(title);
	doc->trace = t;
	doc->state = s;
	doc->stream = TRUE;
	rav_trace_get_info(t, &doc->info);
	unsigned cpp = doc->info.cells_per_page ? doc->info.cells_per_page : 128;
	doc->page_cols = cpp >= 16 ? 16 : cpp;
	doc->page_rows = (cpp + doc->page_cols - 1) / doc->page_cols;
	return doc;
}

gboolean ravscope_document_is_stream(RavscopeDocument *doc) { return doc->stream; }

void ravscope_document_sync_stream(RavscopeDocument *doc)
{
	if (doc->stream && !doc->indexed)
		rav_trace_get_info(doc->trace, &doc->info);
}

rav_state *ravscope_document_exchange_state(RavscopeDocument *doc, rav_state *state)
{
	rav_state *old = doc->state;
	doc->state = state;
	doc->headline = -1;
	g_signal_emit(doc, signals[SIGNAL_POSITION_CHANGED], 0, (guint64)rav_state_position(doc->state), FALSE);
	return old;
}

gint64 ravscope_document_poll(RavscopeDocument *doc, guint64 max_events, GError **error)
{
	if (!doc->stream)
		return 0;
	gint64 total = 0, t0 = g_get_monotonic_time();
	for (;;) {
		rav_trace_error err = { 0 };
		int64_t n = rav_trace_poll(doc->trace, &err);
		if (n < 0) {
			set_error_from_trace(error, &err);
			return -1;
		}
		total += n;
		/* bounded in events and in time (a frame's share: 6 ms) */
		if (n == 0 || (guint64)total >= max_events || g_get_monotonic_time() - t0 > 6000)
			break;
	}
	rav_trace_get_info(doc->trace, &doc->info);
	if (rav_trace_stream_ended(doc->trace) && !doc->indexed) {
		/* The rest merged by the file rule (FORMAT.md §8): final counts. */
		rav_trace_error err = { 0 };
		if (rav_trace_index(doc->trace, NULL, NULL, &err) == 0)
			finish_indexing(doc, TRUE);
	}
	return total;
}

RavscopeDocument *ravscope_document_new_view(RavscopeDocument *doc, GError **error)
{
	rav_state *s = rav_state_new(doc->trace);
	if (!s) {
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_ENOMEM, "%s: out of memory creating a replay state", doc->path);
		return NULL;
	}
	RavscopeDocument *v = g_object_new(RAVSCOPE_TYPE_DOCUMENT, NULL);
	v->owner = g_object_ref(doc);
	v->path = g_strdup(doc->path);
	v->basename = g_strdup(doc->basename);
	v->trace = doc->trace;
	v->state = s;
	v->info = doc->info;
	v->page_cols = doc->page_cols;
	v->page_rows = doc->page_rows;
	v->indexed = doc->indexed;
	GHashTableIter it;
	gpointer k, val;
	g_hash_table_iter_init(&it, doc->max_pages);
	while (g_hash_table_iter_next(&it, &k, &val))
		g_hash_table_insert(v->max_pages, k, val);
	GError *seek_error = NULL;
	if (!ravscope_document_seek(v, ravscope_document_get_position(doc), &seek_error)) {
		g_propagate_error(error, seek_error);
		g_object_unref(v);
		return NULL;
	}
	return v;
}

const char *ravscope_document_get_path(RavscopeDocument *doc) { return doc->path; }
const char *ravscope_document_get_basename(RavscopeDocument *doc) { return doc->basename; }
rav_trace *ravscope_document_get_trace(RavscopeDocument *doc) { return doc->trace; }
rav_state *ravscope_document_get_state(RavscopeDocument *doc) { return doc->state; }
const rav_trace_info *ravscope_document_get_info(RavscopeDocument *doc) { return &doc->info; }
unsigned ravscope_document_page_columns(RavscopeDocument *doc) { return doc->page_cols; }
unsigned ravscope_document_page_rows(RavscopeDocument *doc) { return doc->page_rows; }
gboolean ravscope_document_is_indexed(RavscopeDocument *doc) { return doc->indexed; }
double ravscope_document_get_index_progress(RavscopeDocument *doc) { return doc->progress; }

/* ---- indexing ------------------------------------------------------------ */

typedef struct {
	RavscopeDocument *doc;
	GCancellable *cancellable;
} IndexJob;

static bool index_progress_cb(uint64_t done, uint64_t total, void *user)
{
	IndexJob *job = user;
	__atomic_store_n(&job->doc->progress_done, done, __ATOMIC_RELAXED);
	__atomic_store_n(&job->doc->progress_total, total, __ATOMIC_RELAXED);
	return !(job->cancellable && g_cancellable_is_cancelled(job->cancellable));
}

static void compute_max_pages(RavscopeDocument *doc)
{
	enum { BINS = 512 };
	double *bins = g_new0(double, BINS);
	unsigned n = rav_trace_thread_count(doc->trace);
	for (unsigned i = 0; i < n; i++) {
		rav_trace_thread th_entry;
		const rav_trace_thread *th = rav_trace_thread_at(doc->trace, i, &th_entry) ? &th_entry : NULL;
		if (!th)
			continue;
		if (!rav_trace_series(doc->trace, RAV_SERIES_PAGES, th->heap_id, 0, 0, BINS, bins))
			continue;
		double m = 0;
		for (unsigned b = 0; b < BINS; b++)
			m = MAX(m, bins[b]);
		g_hash_table_insert(doc->max_pages, GUINT_TO_POINTER(th->heap_id), GUINT_TO_POINTER((guint)m));
	}
	g_free(bins);
}

/* The map of operations (operation steps, the Explain panel) is built by
 * one pass over the events, on a worker after indexing; until it is done,
 * questions about events far beyond what it covers would wait for it. */
static bool operations_progress_cb(uint64_t done, uint64_t total, void *user)
{
	IndexJob *job = user;
	return !(job->cancellable && g_cancellable_is_cancelled(job->cancellable));
}

static void operations_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	RavscopeDocument *doc = source;
	rav_trace_error err = { 0 };
	rav_trace_operations_prepare(doc->trace, operations_progress_cb, task_data, &err);
	g_task_return_boolean(task, TRUE);
}

static void operations_done(GObject *source, GAsyncResult *result, gpointer user)
{
	RavscopeDocument *doc = RAVSCOPE_DOCUMENT(source);
	doc->operations_running = FALSE;
	g_object_notify_by_pspec(G_OBJECT(doc), props[PROP_OPERATIONS_READY]);
}

static void index_job_free(gpointer p);

static void start_operations(RavscopeDocument *doc)
{
	IndexJob *job = g_new0(IndexJob, 1);
	job->doc = doc;
	job->cancellable = doc->cancellable ? g_object_ref(doc->cancellable) : NULL;
	doc->operations_running = TRUE;
	GTask *task = g_task_new(doc, NULL, operations_done, NULL);
	g_task_set_task_data(task, job, index_job_free);
	g_task_run_in_thread(task, operations_thread);
	g_object_unref(task);
}

gboolean ravscope_document_operations_ready(RavscopeDocument *doc, guint64 index)
{
	/* The map goes on from where it is: near it (or once it is finished,
	 * for a growing trace), asking costs a piece of a pass, not all. */
	guint64 known = rav_trace_operations_known(doc->trace);
	return index < known || (!doc->operations_running && index - known < (1u << 22)) ||
	       index - known < (1u << 16);
}

static void finish_indexing(RavscopeDocument *doc, gboolean map_operations)
{
	doc->indexed = TRUE;
	doc->indexing = FALSE;
	doc->progress = 1.0;
	rav_trace_get_info(doc->trace, &doc->info);
	compute_max_pages(doc);
	g_object_notify_by_pspec(G_OBJECT(doc), props[PROP_INDEX_PROGRESS]);
	g_object_notify_by_pspec(G_OBJECT(doc), props[PROP_INDEXED]);
	if (map_operations)
		start_operations(doc);
}

/* Resolve every call site once (libdw reads the program's debug info), so
 * that labels in the panels are cache lookups on the main thread. */
static void warm_sites(rav_trace *t)
{
	guint32 n = rav_trace_site_count(t);
	rav_trace_symbol sy[RAV_TRACE_SITE_FRAMES_MAX];
	for (guint32 id = 1; id <= n; id++)
		rav_trace_site_resolve(t, id, sy, RAV_TRACE_SITE_FRAMES_MAX);
}

static void index_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
	IndexJob *job = task_data;
	rav_trace_error err = { 0 };
	if (rav_trace_index(job->doc->trace, index_progress_cb, job, &err) != 0) {
		GError *error = NULL;
		set_error_from_trace(&error, &err);
		g_task_return_error(task, error);
		return;
	}
	warm_sites(job->doc->trace);
	g_task_return_boolean(task, TRUE);
}

static gboolean publish_progress(gpointer user)
{
	RavscopeDocument *doc = user;
	guint64 done = __atomic_load_n(&doc->progress_done, __ATOMIC_RELAXED);
	guint64 total = __atomic_load_n(&doc->progress_total, __ATOMIC_RELAXED);
	double p = total > 0 ? (double)done / (double)total : 0;
	if (p != doc->progress) {
		doc->progress = CLAMP(p, 0, 1);
		g_object_notify_by_pspec(G_OBJECT(doc), props[PROP_INDEX_PROGRESS]);
	}
	return G_SOURCE_CONTINUE;
}

static void index_job_free(gpointer p)
{
	IndexJob *job = p;
	g_clear_object(&job->cancellable);
	g_free(job);
}

static void index_done(GObject *source, GAsyncResult *result, gpointer user)
{
	GTask *outer = user;
	RavscopeDocument *doc = RAVSCOPE_DOCUMENT(source);
	GError *error = NULL;
	g_clear_handle_id(&doc->progress_source, g_source_remove);
	if (!g_task_propagate_boolean(G_TASK(result), &error)) {
		doc->indexing = FALSE;
		g_task_return_error(outer, error);
	} else {
		finish_indexing(doc, TRUE);
		g_task_return_boolean(outer, TRUE);
	}
	g_object_unref(outer);
}

void ravscope_document_index_async(RavscopeDocument *doc, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data)
{
	GTask *outer = g_task_new(doc, cancellable, callback, user_data);
	if (doc->indexed || doc->indexing) {
		g_task_return_boolean(outer, TRUE);
		g_object_unref(outer);
		return;
	}
	doc->indexing = TRUE;
	g_set_object(&doc->cancellable, cancellable);
	IndexJob *job = g_new0(IndexJob, 1);
	job->doc = doc;
	job->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
	GTask *task = g_task_new(doc, cancellable, index_done, outer);
	g_task_set_task_data(task, job, index_job_free);
	/* The worker may outlive a closed window only until it notices the
	 * cancellable; the task holds a ref on the document meanwhile. */
	doc->progress_source = g_timeout_add(100, publish_progress, doc);
	g_task_run_in_thread(task, index_thread);
	g_object_unref(task);
}

gboolean ravscope_document_index_finish(RavscopeDocument *doc, GAsyncResult *result, GError **error)
{
	return g_task_propagate_boolean(G_TASK(result), error);
}

gboolean ravscope_document_index_sync(RavscopeDocument *doc, GError **error)
{
	if (doc->indexed)
		return TRUE;
	rav_trace_error err = { 0 };
	if (rav_trace_index(doc->trace, NULL, NULL, &err) != 0) {
		set_error_from_trace(error, &err);
		return FALSE;
	}
	warm_sites(doc->trace);
	/* Without a main loop (headless) the map of operations is built on
	 * demand instead. */
	finish_indexing(doc, FALSE);
	return TRUE;
}

/* ---- playhead ------------------------------------------------------------ */

guint64 ravscope_document_get_event_count(RavscopeDocument *doc)
{
	return doc->indexed ? doc->info.events : rav_trace_indexed_events(doc->trace);
}

guint64 ravscope_document_get_position(RavscopeDocument *doc)
{
	return rav_state_position(doc->state);
}

gboolean ravscope_document_seek(RavscopeDocument *doc, guint64 index, GError **error)
{
	guint64 count = ravscope_document_get_event_count(doc);
	if (index > count)
		index = count;
	rav_trace_error err = { 0 };
	doc->headline = -1;
	if (rav_state_seek(doc->state, index, &err) != 0) {
		set_error_from_trace(error, &err);
		return FALSE;
	}
	g_signal_emit(doc, signals[SIGNAL_POSITION_CHANGED], 0, (guint64)rav_state_position(doc->state), FALSE);
	return TRUE;
}

gboolean ravscope_document_step(RavscopeDocument *doc, rav_event *applied, GError **error)
{
	rav_event ev;
	rav_trace_error err = { 0 };
	if (rav_state_position(doc->state) >= ravscope_document_get_event_count(doc))
		return FALSE;
	doc->headline = -1;
	if (!rav_state_step(doc->state, &ev, &err)) {
		if (err.code != RAV_TRACE_OK)
			set_error_from_trace(error, &err);
		return FALSE;
	}
	if (applied)
		*applied = ev;
	g_signal_emit(doc, signals[SIGNAL_POSITION_CHANGED], 0, (guint64)rav_state_position(doc->state), TRUE);
	return TRUE;
}

/* Apply the next event without announcing it; FALSE at the end or on an
 * error (then *error is set). */
static gboolean apply_quietly(RavscopeDocument *doc, GArray *applied, GError **error)
{
	rav_event ev;
	rav_trace_error err = { 0 };
	if (rav_state_position(doc->state) >= ravscope_document_get_event_count(doc))
		return FALSE;
	if (!rav_state_step(doc->state, &ev, &err)) {
		if (err.code != RAV_TRACE_OK)
			set_error_from_trace(error, &err);
		return FALSE;
	}
	if (applied)
		g_array_append_val(applied, ev);
	return TRUE;
}

static void announce_step(RavscopeDocument *doc)
{
	g_signal_emit(doc, signals[SIGNAL_POSITION_CHANGED], 0, (guint64)rav_state_position(doc->state), TRUE);
}

guint ravscope_document_step_many(RavscopeDocument *doc, guint max, GArray *applied, GError **error)
{
	guint n = 0;
	doc->headline = -1;
	while (n < max && apply_quietly(doc, applied, error && !*error ? error : NULL))
		n++;
	if (n > 0)
		announce_step(doc);
	return n;
}

/* Where a step stops: after an event a person sees happen.  Message
 * send/receive and heap creation are bookkeeping around the page hand-offs
 * that follow them, so a step runs on to the hand-off. */
static gboolean stops_step(unsigned kind)
{
	switch (kind) {
	case RAV_EV_ALLOC: case RAV_EV_FREE: case RAV_EV_MOVE: case RAV_EV_TRIM: case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE: case RAV_EV_REF_CLEAR: case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE:
	case RAV_EV_PAGE_HANDOFF: case RAV_EV_PAGE_TO_MSG: case RAV_EV_MARK: case RAV_EV_ERROR:
		return TRUE;
	default:
		return FALSE;
	}
}

guint64 ravscope_step_stop_kinds(void)
{
	guint64 m = 0;
	for (unsigned k = 0; k < RAV_EV_KIND_COUNT; k++)
		if (stops_step(k))
			m |= (guint64)1 << k;
	return m;
}

/* After a move: its fix-ups (and clock readings between them) are part of
 * the same step, the picture shows the cell sliding and the arrows being
 * re-aimed together.  Only the moving thread's: another thread's events
 * merged in between are its own steps. */
static void apply_move_fixups(RavscopeDocument *doc, guint32 thread, GArray *applied, GError **error)
{
	rav_event next;
	while (rav_trace_event_at(doc->trace, rav_state_position(doc->state), &next) && next.thread == thread &&
	       (next.kind == RAV_EV_FIXUP || next.kind == RAV_EV_LINK || next.kind == RAV_EV_TIME)) {
		if (!apply_quietly(doc, applied, error))
			break;
	}
}

guint ravscope_document_step_visible(RavscopeDocument *doc, GArray *applied, GError **error)
{
	guint before = applied->len;
	gint64 headline = -1;
	for (guint guard = 0; guard < 1000000; guard++) {
		guint at = applied->len;
		if (!apply_quietly(doc, applied, error))
			break;
		const rav_event *ev = &g_array_index(applied, rav_event, at);
		if (!stops_step(ev->kind))
			continue;
		headline = (gint64)ev->index;
		if (ev->kind == RAV_EV_MOVE)
			apply_move_fixups(doc, ev->thread, applied, error);
		break;
	}
	/* Named before it is announced: the status line reads it then. */
	doc->headline = headline;
	if (applied->len > before)
		announce_step(doc);
	return applied->len - before;
}

guint ravscope_document_step_event(RavscopeDocument *doc, GArray *applied, GError **error)
{
	guint before = applied->len;
	if (!apply_quietly(doc, applied, error))
		return 0;
	const rav_event *ev = &g_array_index(applied, rav_event, before);
	doc->headline = (gint64)ev->index;
	if (ev->kind == RAV_EV_MOVE)
		apply_move_fixups(doc, ev->thread, applied, error);
	announce_step(doc);
	return applied->len - before;
}
