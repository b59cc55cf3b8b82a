/* ravscope-contention.c - the contention model's life in the viewer.
 *
 * rav_contention_run() replays every recorded access through a model of
 * per-thread caches; on a big trace that takes seconds, so it runs in a
 * GTask with progress published from atomics by a main-loop timeout, and
 * every job carries a generation number: a newer job, a new document or a
 * cancel makes older results stale, and they are dropped when they arrive.
 * The windowed mode recomputes for the last events before the playhead
 * 250 ms after the playhead rests, never while playing; in a live session
 * it slides with the newest events (ravscope_contention_refresh_live).
 * How many events the window spans is the user's ("window-length", kept in
 * the "contention-window" setting; 0 picks a fortieth of the trace).
 */
#include "ravscope-contention.h"

struct _RavscopeContention {
	GObject parent_instance;
	RavscopeDocument *doc;
	gulong position_handler;
	GSettings *settings;
	gboolean active, windowed, playing;
	guint window_length; /* events; 0: automatic */
	rav_contention *result;
	unsigned line_size;
	guint64 from, to;                     /* range of the result */
	guint64 highlight_from, highlight_to; /* timeline highlight */
	gboolean running;
	guint64 done, total; /* atomics from the worker */
	double progress;
	guint poll;
	GCancellable *cancel;
	guint generation;
	guint rerun;
};

G_DEFINE_FINAL_TYPE(RavscopeContention, ravscope_contention, G_TYPE_OBJECT)

enum { PROP_0, PROP_ACTIVE, PROP_WINDOWED, PROP_WINDOW_LENGTH, PROP_RUNNING, PROP_PROGRESS, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_CHANGED, SIGNAL_MESSAGE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void changed(RavscopeContention *self)
{
	g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static void set_running(RavscopeContention *self, gboolean running)
{
	if (self->running == running)
		return;
	self->running = running;
	if (!running)
		g_clear_handle_id(&self->poll, g_source_remove);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_RUNNING]);
}

/* ---- the worker ---------------------------------------------------------------- */

typedef struct {
	RavscopeContention *self;
	rav_trace *trace;
	rav_contention_config cfg;
	GCancellable *cancellable;
	guint generation;
} ContentionJob;

static bool job_progress(uint64_t done, uint64_t total, void *user)
{
	ContentionJob *job = user;
	__atomic_store_n(&job->self->done, done, __ATOMIC_RELAXED);
	__atomic_store_n(&job->self->total, total, __ATOMIC_RELAXED);
	return !g_cancellable_is_cancelled(job->cancellable);
}

static void job_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	ContentionJob *job = data;
	rav_trace_error err = { 0 };
	rav_contention *c = rav_contention_run(job->trace, &job->cfg, job_progress, job, &err);
	if (!c) {
		g_task_return_new_error(task, RAVSCOPE_ERROR, err.code, "%s", err.message);
		return;
	}
	g_task_return_pointer(task, c, (GDestroyNotify)rav_contention_free);
}

static void job_free(gpointer p)
{
	ContentionJob *job = p;
	g_clear_object(&job->cancellable);
	g_free(job);
}

static gboolean poll_cb(gpointer user)
{
	RavscopeContention *self = user;
	guint64 done = __atomic_load_n(&self->done, __ATOMIC_RELAXED);
	guint64 total = __atomic_load_n(&self->total, __ATOMIC_RELAXED);
	self->progress = total ? (double)done / total : 0;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PROGRESS]);
	return G_SOURCE_CONTINUE;
}

static void job_done(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeContention *self = user;
	GError *error = NULL;
	rav_contention *c = g_task_propagate_pointer(G_TASK(res), &error);
	ContentionJob *job = g_task_get_task_data(G_TASK(res));
	/* Only the newest job counts: a rerun for a new window, a new document
	 * or a cancel make older results stale. */
	gboolean current = self->doc && job->trace == ravscope_document_get_trace(self->doc) &&
			   job->generation == self->generation && self->running;
	if (!current) {
		if (c)
			rav_contention_free(c);
		g_clear_error(&error);
		g_object_unref(self);
		return;
	}
	set_running(self, FALSE);
	if (!c) {
		if (!g_error_matches(error, RAVSCOPE_ERROR, RAV_TRACE_ECANCELLED))
			g_signal_emit(self, signals[SIGNAL_MESSAGE], 0, error->message);
		g_error_free(error);
		ravscope_contention_set_active(self, FALSE);
	} else {
		if (self->result)
			rav_contention_free(self->result);
		self->result = c;
		self->line_size = job->cfg.line_size;
		self->from = self->highlight_from = job->cfg.from;
		self->to = self->highlight_to = job->cfg.to;
	}
	changed(self);
	g_object_unref(self);
}

guint64 ravscope_contention_window_events(RavscopeContention *self)
{
	if (self->window_length)
		return self->window_length;
	guint64 n = self->doc ? ravscope_document_get_event_count(self->doc) : 0;
	return MAX(RAVSCOPE_CONTENTION_WINDOW_MIN_AUTO, n / 40);
}

static void start(RavscopeContention *self)
{
	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	self->cancel = g_cancellable_new();
	ContentionJob *job = g_new0(ContentionJob, 1);
	job->self = self;
	job->trace = ravscope_document_get_trace(self->doc);
	job->cfg.line_size = self->settings ? g_settings_get_uint(self->settings, "line-size") : 64;
	if (job->cfg.line_size < 16 || (job->cfg.line_size & (job->cfg.line_size - 1)))
		job->cfg.line_size = 64;
	job->cfg.windows = 64;
	if (self->windowed) {
		/* The window ends at the playhead: what led up to this moment. */
		guint64 pos = ravscope_document_get_position(self->doc), w = ravscope_contention_window_events(self);
		job->cfg.from = pos > w ? pos - w : 0;
		job->cfg.to = MAX(pos, job->cfg.from + 1);
	}
	job->generation = ++self->generation;
	job->cancellable = g_object_ref(self->cancel);
	self->done = 0;
	self->total = 0;
	self->progress = 0;
	GTask *task = g_task_new(self->doc, self->cancel, job_done, g_object_ref(self));
	g_task_set_task_data(task, job, job_free);
	g_task_run_in_thread(task, job_thread);
	g_object_unref(task);
	if (!self->poll)
		self->poll = g_timeout_add(100, poll_cb, self);
	set_running(self, TRUE);
	if (!self->result)
		changed(self);
}

/* ---- following the playhead ------------------------------------------------------- */

static gboolean rerun_cb(gpointer user)
{
	RavscopeContention *self = user;
	self->rerun = 0;
	if (self->doc && self->active && self->windowed && ravscope_document_is_indexed(self->doc))
		start(self);
	return G_SOURCE_REMOVE;
}

static void on_position_changed(RavscopeDocument *doc, guint64 pos, gboolean stepped, RavscopeContention *self)
{
	if (!self->active || !self->windowed || self->playing)
		return;
	g_clear_handle_id(&self->rerun, g_source_remove);
	self->rerun = g_timeout_add(250, rerun_cb, self);
}

/* A live session: the trace grows and the playhead never rests, so the
 * window calls this every half second while following.  The window (the
 * last ravscope_contention_window_events before the playhead) slides with
 * the newest events; one job at a time, so a slow model skips turns rather
 * than queueing them. */
void ravscope_contention_refresh_live(RavscopeContention *self)
{
	if (!self->doc || !self->active || self->running)
		return;
	if (!self->windowed) {
		self->windowed = TRUE;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_WINDOWED]);
	}
	start(self);
}

/* ---- state -------------------------------------------------------------------------- */

static void clear(RavscopeContention *self)
{
	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	self->generation++;
	g_clear_handle_id(&self->rerun, g_source_remove);
	self->highlight_from = self->highlight_to = 0;
	g_clear_pointer(&self->result, rav_contention_free);
	set_running(self, FALSE);
	if (self->active) {
		self->active = FALSE;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ACTIVE]);
	}
}

void ravscope_contention_set_document(RavscopeContention *self, RavscopeDocument *doc)
{
	clear(self);
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_object(&self->doc);
	}
	if (doc) {
		self->doc = g_object_ref(doc);
		self->position_handler = g_signal_connect(doc, "position-changed", G_CALLBACK(on_position_changed), self);
	}
	changed(self);
}

void ravscope_contention_set_active(RavscopeContention *self, gboolean on)
{
	if (self->active == on)
		return;
	self->active = on;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ACTIVE]);
	if (!self->doc)
		return;
	if (!on) {
		if (self->running) {
			if (self->cancel)
				g_cancellable_cancel(self->cancel);
			self->generation++;
			set_running(self, FALSE);
		}
		changed(self);
		return;
	}
	if (self->result) {
		changed(self);
		on_position_changed(self->doc, 0, FALSE, self);
		return;
	}
	if (self->running)
		return;
	if (ravscope_document_is_stream(self->doc) && !ravscope_document_is_indexed(self->doc)) {
		/* a live session: over the newest events, sliding (refresh_live) */
		ravscope_contention_refresh_live(self);
		return;
	}
	if (!ravscope_document_is_indexed(self->doc)) {
		g_signal_emit(self, signals[SIGNAL_MESSAGE], 0, "Contention can be computed once indexing has finished");
		self->active = FALSE;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ACTIVE]);
		return;
	}
	start(self);
}

void ravscope_contention_set_windowed(RavscopeContention *self, gboolean windowed)
{
	if (self->windowed == windowed)
		return;
	self->windowed = windowed;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_WINDOWED]);
	if (!windowed) {
		self->highlight_from = self->highlight_to = 0;
		changed(self);
	}
	if (self->active && self->doc)
		start(self);
}

void ravscope_contention_set_window_length(RavscopeContention *self, guint events)
{
	if (self->window_length == events)
		return;
	self->window_length = events;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_WINDOW_LENGTH]);
	if (self->active && self->windowed && self->doc && ravscope_document_is_indexed(self->doc)) {
		/* a spin button sends every step: compute when it rests */
		g_clear_handle_id(&self->rerun, g_source_remove);
		self->rerun = g_timeout_add(250, rerun_cb, self);
	}
	changed(self);
}

guint ravscope_contention_get_window_length(RavscopeContention *self) { return self->window_length; }

void ravscope_contention_set_playing(RavscopeContention *self, gboolean playing)
{
	self->playing = playing;
}

void ravscope_contention_set_settings(RavscopeContention *self, GSettings *settings)
{
	if (self->settings)
		g_settings_unbind(self, "window-length");
	g_set_object(&self->settings, settings);
	if (settings)
		g_settings_bind(settings, "contention-window", self, "window-length", G_SETTINGS_BIND_DEFAULT);
}

RavscopeDocument *ravscope_contention_get_document(RavscopeContention *self) { return self->doc; }
gboolean ravscope_contention_get_active(RavscopeContention *self) { return self->active; }
gboolean ravscope_contention_get_windowed(RavscopeContention *self) { return self->windowed; }
gboolean ravscope_contention_is_running(RavscopeContention *self) { return self->running; }
double ravscope_contention_get_progress(RavscopeContention *self) { return self->progress; }
rav_contention *ravscope_contention_get_result(RavscopeContention *self) { return self->result; }
unsigned ravscope_contention_get_line_size(RavscopeContention *self) { return self->line_size; }

void ravscope_contention_get_range(RavscopeContention *self, guint64 *from, guint64 *to)
{
	*from = self->from;
	*to = self->to;
}

void ravscope_contention_get_highlight(RavscopeContention *self, guint64 *from, guint64 *to)
{
	*from = self->highlight_from;
	*to = self->highlight_to;
}

/* ---- class ---------------------------------------------------------------------------- */

static void ravscope_contention_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	RavscopeContention *self = RAVSCOPE_CONTENTION(o);
	switch (id) {
	case PROP_ACTIVE: g_value_set_boolean(v, self->active); break;
	case PROP_WINDOWED: g_value_set_boolean(v, self->windowed); break;
	case PROP_WINDOW_LENGTH: g_value_set_uint(v, self->window_length); break;
	case PROP_RUNNING: g_value_set_boolean(v, self->running); break;
	case PROP_PROGRESS: g_value_set_double(v, self->progress); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
	}
}

static void ravscope_contention_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	RavscopeContention *self = RAVSCOPE_CONTENTION(o);
	switch (id) {
	case PROP_ACTIVE: ravscope_contention_set_active(self, g_value_get_boolean(v)); break;
	case PROP_WINDOWED: ravscope_contention_set_windowed(self, g_value_get_boolean(v)); break;
	case PROP_WINDOW_LENGTH: ravscope_contention_set_window_length(self, g_value_get_uint(v)); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
	}
}

static void ravscope_contention_dispose(GObject *object)
{
	RavscopeContention *self = RAVSCOPE_CONTENTION(object);
	clear(self);
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_object(&self->doc);
	}
	g_clear_object(&self->settings);
	G_OBJECT_CLASS(ravscope_contention_parent_class)->dispose(object);
}

static void ravscope_contention_class_init(RavscopeContentionClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	oc->dispose = ravscope_contention_dispose;
	oc->get_property = ravscope_contention_get_property;
	oc->set_property = ravscope_contention_set_property;
	props[PROP_ACTIVE] = g_param_spec_boolean("active", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_WINDOWED] = g_param_spec_boolean("windowed", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_WINDOW_LENGTH] = g_param_spec_uint("window-length", NULL, NULL, 0, RAVSCOPE_CONTENTION_WINDOW_MAX, 0,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_RUNNING] = g_param_spec_boolean("running", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_PROGRESS] = g_param_spec_double("progress", NULL, NULL, 0, 1, 0,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
	signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
					       NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_MESSAGE] = g_signal_new("message", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
					       NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void ravscope_contention_init(RavscopeContention *self)
{
	self->line_size = 0;
}

RavscopeContention *ravscope_contention_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_CONTENTION, NULL);
}
