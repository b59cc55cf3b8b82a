/* ravscope-compare-window.c - chatty threads against ravioli messages.
 *
 * Two columns, one per recording of the same producer/consumer work
 * (samples/chatty.c: a mutex-guarded queue in malloc'd memory;
 * samples/messages.c: ravioli messages handed over by page).  Each column
 * is a document, a cache model (RavscopeContention, run in the
 * background as soon as the trace is indexed) and a heap view with the
 * overlay on; under it the model's totals.  The figures come from the
 * traces the build recorded, the same ones `ravtrace stats` reads, so the
 * window, the CLI and the README (which names the command) agree.
 *
 * "Measure on this machine" runs the two sample programs without
 * recording, interleaved (chatty, messages, messages, chatty, ...) so a
 * machine busy with something else slows both alike, and shows each
 * one's best wall time: the time is this machine's, today.
 *
 * The position scale moves both recordings to the same fraction of their
 * events; Play moves it across in about 20 seconds.
 */
#include "ravscope-compare-window.h"

#include <string.h>

#include "ravscope-application.h"
#include "ravscope-contention.h"
#include "ravscope-document.h"
#include "ravscope-heap-view.h"

#define PLAY_SECONDS 20.0
#define MEASURE_RUNS 5
#define MEASURE_MESSAGES 2000

typedef struct {
	const char *name; /* sample name: chatty, messages */
	const char *title;
	const char *about;
	char *path;
	RavscopeDocument *doc;
	RavscopeContention *contention;
	RavscopeHeapView *view;
	GtkLabel *figures;
	char *problem; /* why this side shows nothing */
	gint64 best_us;
	guint runs;
} Side;

struct _RavscopeCompareWindow {
	AdwWindow parent_instance;
	GtkButton *play_button; /* template */
	GtkButton *measure_button;
	GtkLabel *summary_label;
	GtkBox *columns;
	GtkAdjustment *position;
	Side side[2];
	GCancellable *cancel;
	guint tick;
	gint64 last_frame;
	gboolean moving; /* the scale is being set by playing */
	/* measuring */
	guint measure_round, measure_rounds, measure_messages;
	GSubprocess *proc;
	gint64 proc_start;
	guint proc_side;
	char *summary;
};

G_DEFINE_FINAL_TYPE(RavscopeCompareWindow, ravscope_compare_window, ADW_TYPE_WINDOW)

static char *thousands(guint64 v)
{
	g_autofree char *raw = g_strdup_printf("%" G_GUINT64_FORMAT, v);
	GString *s = g_string_new(NULL);
	gsize n = strlen(raw);
	for (gsize i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			g_string_append_c(s, ',');
		g_string_append_c(s, raw[i]);
	}
	return g_string_free(s, FALSE);
}

static char *format_us(gint64 us)
{
	return us < 1000      ? g_strdup_printf("%" G_GINT64_FORMAT " µs", us)
	       : us < 1000000 ? g_strdup_printf("%.1f ms", us / 1000.0)
	                      : g_strdup_printf("%.2f s", us / 1e6);
}

static void update_summary(RavscopeCompareWindow *self)
{
	rav_contention_totals t[2];
	gboolean have[2];
	for (guint i = 0; i < 2; i++)
		have[i] = ravscope_compare_window_get_totals(self, i, &t[i]);
	GString *s = g_string_new(NULL);
	if (have[0] && have[1]) {
		g_autofree char *a = thousands(t[0].transfers), *b = thousands(t[1].transfers);
		g_string_append_printf(
		    s,
		    "Cache lines moved between cores: <b>%s</b> with shared memory, <b>%s</b> with ravioli "
		    "messages",
		    a, b);
		if (t[1].transfers)
			g_string_append_printf(s, " (%.1f× as many when chatty)",
			                       (double)t[0].transfers / t[1].transfers);
		g_string_append(s, ".");
	} else {
		g_string_append(s, "Reading the two recordings and running the cache model on each…");
	}
	if (self->side[0].best_us && self->side[1].best_us) {
		g_autofree char *a = format_us(self->side[0].best_us), *b = format_us(self->side[1].best_us);
		g_string_append_printf(
		    s, " Measured here, %u messages, best of %u: %s chatty, %s with messages.",
		    self->measure_messages, MIN(self->side[0].runs, self->side[1].runs), a, b);
	}
	gtk_label_set_markup(self->summary_label, s->str);
	g_free(self->summary);
	self->summary = g_strdup(gtk_label_get_text(self->summary_label));
	g_string_free(s, TRUE);
}

static void update_figures(RavscopeCompareWindow *self, guint i)
{
	Side *sd = &self->side[i];
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "<b>%s</b>\n<small>%s</small>\n", sd->title, sd->about);
	if (sd->problem) {
		g_autofree char *e = g_markup_escape_text(sd->problem, -1);
		g_string_append_printf(s, "\n%s", e);
	} else {
		rav_contention_totals t;
		if (ravscope_compare_window_get_totals(self, i, &t)) {
			g_autofree char *tr = thousands(t.transfers), *inv = thousands(t.invalidations);
			g_autofree char *acc = thousands(t.accesses), *lc = thousands(t.lines_contended);
			g_string_append_printf(
			    s, "\n<span size=\"xx-large\" weight=\"bold\">%s</span> cache-line transfers\n",
			    tr);
			g_string_append_printf(
			    s, "%s invalidations · %s memory accesses · %s lines contended\n", inv, acc, lc);
		} else if (sd->contention && ravscope_contention_is_running(sd->contention)) {
			g_string_append_printf(s, "\nRunning the cache model… %.0f%%\n",
			                       100 * ravscope_contention_get_progress(sd->contention));
		} else {
			g_string_append(s, "\nReading the trace…\n");
		}
		if (sd->doc) {
			const rav_trace_info *info = ravscope_document_get_info(sd->doc);
			g_autofree char *ev = thousands(ravscope_document_get_event_count(sd->doc));
			g_autofree char *rec = info->end_ns > info->start_ns
			                           ? format_us((gint64)(info->end_ns - info->start_ns) / 1000)
			                           : g_strdup("?");
			g_string_append_printf(s, "%s events, recorded in %s (with tracing on)", ev, rec);
		}
		if (sd->best_us) {
			g_autofree char *b = format_us(sd->best_us);
			g_string_append_printf(
			    s, "\nMeasured here without tracing: <b>%s</b> (best of %u, %u messages)", b,
			    sd->runs, self->measure_messages);
		}
	}
	gtk_label_set_markup(sd->figures, s->str);
	g_string_free(s, TRUE);
}

static void update_all(RavscopeCompareWindow *self)
{
	update_figures(self, 0);
	update_figures(self, 1);
	update_summary(self);
}

gboolean ravscope_compare_window_get_totals(RavscopeCompareWindow *self, guint side,
                                            rav_contention_totals *out)
{
	if (side > 1 || !self->side[side].contention)
		return FALSE;
	rav_contention *c = ravscope_contention_get_result(self->side[side].contention);
	if (!c)
		return FALSE;
	rav_contention_get_totals(c, out);
	return TRUE;
}

const char *ravscope_compare_window_get_summary(RavscopeCompareWindow *self)
{
	return self->summary ? self->summary : "";
}

/* ---- the recordings --------------------------------------------------------------------- */

static void on_contention_changed(RavscopeContention *c, RavscopeCompareWindow *self)
{
	guint64 from, to;
	ravscope_contention_get_range(c, &from, &to);
	for (guint i = 0; i < 2; i++)
		if (self->side[i].contention == c)
			ravscope_heap_view_set_contention(self->side[i].view,
			                                  ravscope_contention_get_result(c),
			                                  ravscope_contention_get_line_size(c), from, to);
	update_all(self);
}

static void on_contention_progress(RavscopeContention *c, GParamSpec *pspec, RavscopeCompareWindow *self)
{
	update_all(self);
}

static void on_contention_message(RavscopeContention *c, const char *text, RavscopeCompareWindow *self)
{
	for (guint i = 0; i < 2; i++)
		if (self->side[i].contention == c) {
			g_free(self->side[i].problem);
			self->side[i].problem = g_strdup(text);
		}
	update_all(self);
}

static void index_done(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeDocument *doc = RAVSCOPE_DOCUMENT(source);
	GError *error = NULL;
	gboolean ok = ravscope_document_index_finish(doc, res, &error);
	RavscopeCompareWindow *self = user; /* a reference taken for this call */
	if (!ok && g_error_matches(error, RAVSCOPE_ERROR, RAV_TRACE_ECANCELLED)) {
		g_error_free(error);
		g_object_unref(self);
		return;
	}
	for (guint i = 0; i < 2; i++) {
		Side *sd = &self->side[i];
		if (sd->doc != doc)
			continue;
		if (!ok) {
			sd->problem = g_strdup_printf("%s: %s", sd->path, error->message);
		} else {
			ravscope_contention_set_document(sd->contention, doc);
			ravscope_contention_set_active(sd->contention, TRUE);
			ravscope_document_seek(doc,
			                       (guint64)(gtk_adjustment_get_value(self->position) *
			                                 ravscope_document_get_event_count(doc)),
			                       NULL);
			ravscope_heap_view_zoom_fit(sd->view);
		}
	}
	g_clear_error(&error);
	update_all(self);
	g_object_unref(self);
}

static void open_side(RavscopeCompareWindow *self, guint i, const char *path)
{
	Side *sd = &self->side[i];
	sd->path = g_strdup(path);
	if (!path) {
		sd->problem = g_strdup_printf(
		    "No %s.ravtrace among the demo traces (build samples/ or install ravscope).", sd->name);
		return;
	}
	GError *error = NULL;
	sd->doc = ravscope_document_open(path, &error);
	if (!sd->doc) {
		sd->problem = g_strdup(error->message);
		g_error_free(error);
		return;
	}
	ravscope_heap_view_set_document(sd->view, sd->doc);
	ravscope_document_index_async(sd->doc, self->cancel, index_done, g_object_ref(self));
}

static char *find_demo(const char *name)
{
	g_autofree char *want = g_strdup_printf("%s.ravtrace", name);
	GPtrArray *demos = ravscope_application_list_demos();
	char *found = NULL;
	for (guint i = 0; i < demos->len && !found; i++) {
		g_autofree char *base = g_path_get_basename(g_ptr_array_index(demos, i));
		if (!g_strcmp0(base, want))
			found = g_strdup(g_ptr_array_index(demos, i));
	}
	g_ptr_array_unref(demos);
	return found;
}

/* ---- moving through both ---------------------------------------------------------------- */

static void move_to(RavscopeCompareWindow *self, double f)
{
	for (guint i = 0; i < 2; i++) {
		Side *sd = &self->side[i];
		if (!sd->doc || !ravscope_document_is_indexed(sd->doc))
			continue;
		guint64 n = ravscope_document_get_event_count(sd->doc);
		guint64 want = (guint64)(f * n), pos = ravscope_document_get_position(sd->doc);
		if (want > pos && want - pos <= 200000) {
			GArray *ev = g_array_new(FALSE, FALSE, sizeof(rav_event));
			ravscope_document_step_many(sd->doc, (guint)(want - pos), ev, NULL);
			ravscope_heap_view_animate(sd->view, (const rav_event *)ev->data, ev->len, 0);
			g_array_unref(ev);
		} else if (want != pos) {
			ravscope_document_seek(sd->doc, want, NULL);
		}
	}
}

static void on_scale_moved(GtkRange *range, RavscopeCompareWindow *self)
{
	move_to(self, gtk_adjustment_get_value(self->position));
}

static void stop_playing(RavscopeCompareWindow *self)
{
	if (!self->tick)
		return;
	gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->tick);
	self->tick = 0;
	gtk_button_set_icon_name(self->play_button, "media-playback-start-symbolic");
}

static gboolean tick_cb(GtkWidget *w, GdkFrameClock *clock, gpointer user)
{
	RavscopeCompareWindow *self = user;
	gint64 now = gdk_frame_clock_get_frame_time(clock);
	double dt = self->last_frame ? (now - self->last_frame) / 1e6 : 0;
	self->last_frame = now;
	double f = MIN(1, gtk_adjustment_get_value(self->position) + MIN(dt, 0.25) / PLAY_SECONDS);
	gtk_adjustment_set_value(self->position, f);
	if (f >= 1) {
		self->tick = 0;
		gtk_button_set_icon_name(self->play_button, "media-playback-start-symbolic");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void on_play(GtkButton *b, RavscopeCompareWindow *self)
{
	if (self->tick) {
		stop_playing(self);
		return;
	}
	if (gtk_adjustment_get_value(self->position) >= 1)
		gtk_adjustment_set_value(self->position, 0);
	self->last_frame = 0;
	self->tick = gtk_widget_add_tick_callback(GTK_WIDGET(self), tick_cb, self, NULL);
	gtk_button_set_icon_name(self->play_button, "media-playback-pause-symbolic");
}

/* ---- measuring ------------------------------------------------------------------------- */

static void measure_next(RavscopeCompareWindow *self);

static void measure_finished(RavscopeCompareWindow *self, const char *problem)
{
	g_clear_object(&self->proc);
	gtk_widget_set_sensitive(GTK_WIDGET(self->measure_button), TRUE);
	gtk_button_set_label(self->measure_button, "_Measure on This Machine");
	if (problem) {
		g_free(self->side[self->proc_side].problem);
		self->side[self->proc_side].problem = g_strdup(problem);
	}
	update_all(self);
}

static void proc_done(GObject *source, GAsyncResult *res, gpointer user)
{
	GError *error = NULL;
	gboolean ok = g_subprocess_wait_check_finish(G_SUBPROCESS(source), res, &error);
	g_autoptr(RavscopeCompareWindow) self = user; /* a reference taken for this call */
	if (!ok && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_error_free(error);
		return;
	}
	gint64 us = g_get_monotonic_time() - self->proc_start;
	if (!ok) {
		g_autofree char *msg = g_strdup_printf("rav-sample-%s failed: %s",
		                                       self->side[self->proc_side].name, error->message);
		g_error_free(error);
		measure_finished(self, msg);
		return;
	}
	Side *sd = &self->side[self->proc_side];
	if (!sd->best_us || us < sd->best_us)
		sd->best_us = us;
	sd->runs++;
	g_clear_object(&self->proc);
	update_all(self);
	measure_next(self);
}

static void measure_next(RavscopeCompareWindow *self)
{
	guint total = self->measure_rounds * 2;
	if (self->measure_round >= total) {
		measure_finished(self, NULL);
		return;
	}
	/* chatty, messages, messages, chatty, ...: neither always goes first. */
	guint k = self->measure_round++;
	guint side = (k / 2) % 2 == 0 ? k % 2 : 1 - k % 2;
	self->proc_side = side;
	g_autofree char *exe = ravscope_application_find_sample(self->side[side].name);
	if (!exe) {
		g_autofree char *msg =
		    g_strdup_printf("rav-sample-%s was not found (build samples/ or install ravscope)",
		                    self->side[side].name);
		measure_finished(self, msg);
		return;
	}
	g_autofree char *label = g_strdup_printf("Measuring… %u/%u", k + 1, total);
	gtk_button_set_label(self->measure_button, label);
	GSubprocessLauncher *l =
	    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
	/* Measure the program, not the recorder. */
	g_subprocess_launcher_unsetenv(l, "RAVIOLI_TRACE");
	g_subprocess_launcher_unsetenv(l, "RAVIOLI_TRACE_ACCESS");
	g_subprocess_launcher_unsetenv(l, "RAVIOLI_LISTEN");
	g_autofree char *arg = g_strdup_printf("%u", self->measure_messages);
	GError *error = NULL;
	self->proc_start = g_get_monotonic_time();
	self->proc = g_subprocess_launcher_spawn(l, &error, exe, arg, NULL);
	g_object_unref(l);
	if (!self->proc) {
		g_autofree char *msg = g_strdup_printf("%s: %s", exe, error->message);
		g_error_free(error);
		measure_finished(self, msg);
		return;
	}
	g_subprocess_wait_check_async(self->proc, self->cancel, proc_done, g_object_ref(self));
}

void ravscope_compare_window_measure(RavscopeCompareWindow *self, guint runs, guint messages)
{
	if (self->proc)
		return;
	for (guint i = 0; i < 2; i++)
		self->side[i].best_us = 0, self->side[i].runs = 0;
	self->measure_round = 0;
	self->measure_rounds = MAX(runs, 1);
	self->measure_messages = MAX(messages, 1);
	gtk_widget_set_sensitive(GTK_WIDGET(self->measure_button), FALSE);
	measure_next(self);
}

static void on_measure(GtkButton *b, RavscopeCompareWindow *self)
{
	ravscope_compare_window_measure(self, MEASURE_RUNS, MEASURE_MESSAGES);
}

/* ---- the window --------------------------------------------------------------------------- */

static void build_column(RavscopeCompareWindow *self, guint i)
{
	Side *sd = &self->side[i];
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
	gtk_widget_add_css_class(box, "card");
	sd->figures = GTK_LABEL(gtk_label_new(NULL));
	gtk_label_set_wrap(sd->figures, TRUE);
	gtk_label_set_xalign(sd->figures, 0);
	gtk_widget_set_margin_start(GTK_WIDGET(sd->figures), 12);
	gtk_widget_set_margin_end(GTK_WIDGET(sd->figures), 12);
	gtk_widget_set_margin_top(GTK_WIDGET(sd->figures), 10);
	gtk_widget_set_margin_bottom(GTK_WIDGET(sd->figures), 10);
	sd->view = RAVSCOPE_HEAP_VIEW(ravscope_heap_view_new());
	ravscope_heap_view_set_style(sd->view, FALSE, FALSE, FALSE);
	gtk_box_append(GTK_BOX(box), GTK_WIDGET(sd->view));
	gtk_box_append(GTK_BOX(box), GTK_WIDGET(sd->figures));
	gtk_box_append(self->columns, box);
	sd->contention = ravscope_contention_new();
	g_signal_connect(sd->contention, "changed", G_CALLBACK(on_contention_changed), self);
	g_signal_connect(sd->contention, "notify::progress", G_CALLBACK(on_contention_progress), self);
	g_signal_connect(sd->contention, "message", G_CALLBACK(on_contention_message), self);
}

RavscopeCompareWindow *ravscope_compare_window_new(GtkWindow *parent, const char *chatty,
                                                   const char *messages)
{
	RavscopeCompareWindow *self = g_object_new(RAVSCOPE_TYPE_COMPARE_WINDOW, NULL);
	if (parent) {
		gtk_window_set_transient_for(GTK_WINDOW(self), parent);
		gtk_window_set_application(GTK_WINDOW(self), gtk_window_get_application(parent));
	}
	g_autofree char *c = chatty ? g_strdup(chatty) : find_demo("chatty");
	g_autofree char *m = messages ? g_strdup(messages) : find_demo("messages");
	open_side(self, 0, c);
	open_side(self, 1, m);
	update_all(self);
	return self;
}

static void ravscope_compare_window_dispose(GObject *o)
{
	RavscopeCompareWindow *self = RAVSCOPE_COMPARE_WINDOW(o);
	stop_playing(self);
	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	if (self->proc)
		g_subprocess_force_exit(self->proc);
	g_clear_object(&self->proc);
	for (guint i = 0; i < 2; i++) {
		Side *sd = &self->side[i];
		if (sd->contention) {
			g_signal_handlers_disconnect_by_data(sd->contention, self);
			ravscope_contention_set_document(sd->contention, NULL);
		}
		if (sd->view)
			ravscope_heap_view_set_document(sd->view, NULL);
		g_clear_object(&sd->contention);
		g_clear_object(&sd->doc);
		g_clear_pointer(&sd->path, g_free);
		g_clear_pointer(&sd->problem, g_free);
	}
	g_clear_object(&self->cancel);
	g_clear_pointer(&self->summary, g_free);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_COMPARE_WINDOW);
	G_OBJECT_CLASS(ravscope_compare_window_parent_class)->dispose(o);
}

static void toggle_play(GtkWidget *w, const char *name, GVariant *p)
{
	on_play(NULL, RAVSCOPE_COMPARE_WINDOW(w));
}

static void ravscope_compare_window_class_init(RavscopeCompareWindowClass *klass)
{
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	G_OBJECT_CLASS(klass)->dispose = ravscope_compare_window_dispose;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-compare-window.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeCompareWindow, play_button);
	gtk_widget_class_bind_template_child(wc, RavscopeCompareWindow, measure_button);
	gtk_widget_class_bind_template_child(wc, RavscopeCompareWindow, summary_label);
	gtk_widget_class_bind_template_child(wc, RavscopeCompareWindow, columns);
	gtk_widget_class_bind_template_child(wc, RavscopeCompareWindow, position);
	gtk_widget_class_bind_template_callback(wc, on_play);
	gtk_widget_class_bind_template_callback(wc, on_measure);
	gtk_widget_class_bind_template_callback(wc, on_scale_moved);
	gtk_widget_class_install_action(wc, "compare.play", NULL, toggle_play);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_space, 0, "compare.play", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void ravscope_compare_window_init(RavscopeCompareWindow *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->cancel = g_cancellable_new();
	self->measure_messages = MEASURE_MESSAGES;
	self->side[0] =
	    (Side){.name = "chatty",
	           .title = "Shared memory: a queue under a mutex (“chatty”)",
	           .about = "rav-sample-chatty: the producer and the consumer share malloc'd memory; "
	                    "every load and store is recorded."};
	self->side[1] =
	    (Side){.name = "messages",
	           .title = "Ravioli messages: pages handed over",
	           .about = "rav-sample-messages: the same lists, built in message pages and handed to "
	                    "the consumer whole."};
	build_column(self, 0);
	build_column(self, 1);
	gtk_adjustment_set_value(self->position, 0.5); /* mid-way: both heaps busy */
}
