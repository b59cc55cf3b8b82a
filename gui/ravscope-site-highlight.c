/* ravscope-site-highlight.c - "which of the cells on the heap now did this
 * line of my program allocate?", kept up with the playhead.
 *
 * libravtrace answers it by following the site's cells across their moves
 * (rav_site_cells).  Playing forward continues that pass in place, a step
 * or a frame at a time, on the main thread; a jump backward or far ahead
 * starts a pass on a worker thread whose result replaces the current one
 * when it is done (the highlight is hidden meanwhile rather than shown at
 * the wrong place).  A newer request makes an older worker's result moot.
 */
#include "ravscope-site-highlight.h"

#define SYNC_MAX 200000 /* events a forward update may cost on the main thread */

struct _RavscopeSiteHighlight {
	GObject parent_instance;
	RavscopeDocument *doc;
	gulong position_handler;
	guint32 *sites;
	gsize nsites;
	char *label;
	rav_site_cells *cells; /* at `ready` (NULL: none, or being computed) */
	guint generation;      /* bumped by every new request: older workers' results are dropped */
	GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE(RavscopeSiteHighlight, ravscope_site_highlight, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct {
	RavscopeSiteHighlight *self;
	rav_trace *trace;
	guint32 *sites;
	gsize nsites;
	guint64 at;
	guint generation;
	rav_site_cells *result;
	GCancellable *cancellable;
} Job;

static void job_free(gpointer p)
{
	Job *j = p;
	if (j->result)
		rav_site_cells_free(j->result);
	g_free(j->sites);
	g_clear_object(&j->cancellable);
	g_object_unref(j->self);
	g_free(j);
}

static bool job_progress(uint64_t done, uint64_t total, void *user)
{
	return !g_cancellable_is_cancelled(((Job *)user)->cancellable);
}

static void job_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	Job *j = data;
	j->result = rav_site_cells_new(j->trace, j->sites, j->nsites);
	rav_trace_error err;
	if (j->result && rav_site_cells_seek(j->result, j->at, job_progress, j, &err) < 0) {
		rav_site_cells_free(j->result);
		j->result = NULL;
	}
	g_task_return_boolean(task, j->result != NULL);
}

static void job_done(GObject *source, GAsyncResult *res, gpointer user)
{
	Job *j = g_task_get_task_data(G_TASK(res));
	RavscopeSiteHighlight *self = j->self;
	if (j->generation != self->generation || !j->result)
		return;
	if (self->cells)
		rav_site_cells_free(self->cells);
	self->cells = j->result;
	j->result = NULL;
	/* the playhead may have moved on while the worker ran */
	guint64 pos = ravscope_document_get_position(self->doc);
	if (pos >= rav_site_cells_position(self->cells) && pos - rav_site_cells_position(self->cells) <= SYNC_MAX)
		rav_site_cells_seek(self->cells, pos, NULL, NULL, NULL);
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static void start_job(RavscopeSiteHighlight *self, guint64 at)
{
	if (self->cancellable)
		g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	self->cancellable = g_cancellable_new();
	Job *j = g_new0(Job, 1);
	j->self = g_object_ref(self);
	j->trace = ravscope_document_get_trace(self->doc);
	j->sites = g_memdup2(self->sites, self->nsites * sizeof *self->sites);
	j->nsites = self->nsites;
	j->at = at;
	j->generation = self->generation;
	j->cancellable = g_object_ref(self->cancellable);
	GTask *task = g_task_new(NULL, self->cancellable, job_done, NULL);
	/* the document stays alive while the worker reads its trace */
	g_task_set_task_data(task, j, job_free);
	g_object_set_data_full(G_OBJECT(task), "doc", g_object_ref(self->doc), g_object_unref);
	g_task_run_in_thread(task, job_thread);
	g_object_unref(task);
}

static void update(RavscopeSiteHighlight *self)
{
	if (!self->doc || !self->nsites)
		return;
	guint64 pos = ravscope_document_get_position(self->doc);
	if (self->cells) {
		guint64 at = rav_site_cells_position(self->cells);
		if (at == pos)
			return;
		if (pos > at && pos - at <= SYNC_MAX) {
			if (rav_site_cells_seek(self->cells, pos, NULL, NULL, NULL) >= 0) {
				g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
				return;
			}
		}
		rav_site_cells_free(self->cells);
		self->cells = NULL;
		g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
	}
	self->generation++;
	start_job(self, pos);
}

static void on_position_changed(RavscopeDocument *doc, guint64 pos, gboolean stepped, RavscopeSiteHighlight *self)
{
	update(self);
}

static void clear(RavscopeSiteHighlight *self)
{
	self->generation++;
	if (self->cancellable)
		g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	if (self->cells)
		rav_site_cells_free(self->cells);
	self->cells = NULL;
	g_clear_pointer(&self->sites, g_free);
	self->nsites = 0;
	g_clear_pointer(&self->label, g_free);
}

void ravscope_site_highlight_set(RavscopeSiteHighlight *self, const guint32 *sites, gsize n, const char *label)
{
	clear(self);
	if (n && self->doc) {
		self->sites = g_memdup2(sites, n * sizeof *sites);
		self->nsites = n;
		self->label = g_strdup(label);
		update(self);
	}
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

void ravscope_site_highlight_set_document(RavscopeSiteHighlight *self, RavscopeDocument *doc)
{
	clear(self);
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_object(&self->doc);
	}
	if (doc) {
		self->doc = g_object_ref(doc);
		self->position_handler =
			g_signal_connect(doc, "position-changed", G_CALLBACK(on_position_changed), self);
	}
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

const rav_site_cells *ravscope_site_highlight_get_cells(RavscopeSiteHighlight *self)
{
	return self->cells;
}

const char *ravscope_site_highlight_get_label(RavscopeSiteHighlight *self)
{
	return self->label;
}

gboolean ravscope_site_highlight_is_active(RavscopeSiteHighlight *self)
{
	return self->nsites > 0;
}

static void ravscope_site_highlight_dispose(GObject *o)
{
	RavscopeSiteHighlight *self = RAVSCOPE_SITE_HIGHLIGHT(o);
	clear(self);
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_object(&self->doc);
	}
	G_OBJECT_CLASS(ravscope_site_highlight_parent_class)->dispose(o);
}

static void ravscope_site_highlight_class_init(RavscopeSiteHighlightClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = ravscope_site_highlight_dispose;
	signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
					       NULL, G_TYPE_NONE, 0);
}

static void ravscope_site_highlight_init(RavscopeSiteHighlight *self)
{
}

RavscopeSiteHighlight *ravscope_site_highlight_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_SITE_HIGHLIGHT, NULL);
}
