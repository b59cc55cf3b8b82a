/* ravscope-window.c - the main window and the playhead's controller.
 *
 * The window owns the open document and decides how the playhead moves:
 * playing applies a number of events per frame proportional to the chosen
 * speed (slow speeds animate each event, fast ones only redraw), stepping
 * skips events that change nothing visible, jumping uses the trace's
 * filtered search.  Views (heap, timeline, inspector, event list, charts)
 * listen to the document's "position-changed"; the inspector and event
 * list are refreshed at most every 100 ms so fast playback stays smooth.
 * Long work (indexing, the contention model) runs in GTasks with progress.
 */
#include "ravscope-window.h"

#include <math.h>
#include <string.h>

#include "ravscope-application.h"
#include "ravscope-charts.h"
#include "ravscope-event-model.h"
#include "ravscope-heap-view.h"
#include "ravscope-heapdraw.h"
#include "ravscope-inspector.h"
#include "ravscope-timeline.h"

struct _RavscopeWindow {
	AdwApplicationWindow parent_instance;
	/* template */
	AdwToastOverlay *toast_overlay;
	AdwWindowTitle *window_title;
	GtkMenuButton *demo_button;
	GtkToggleButton *sidebar_button;
	GtkToggleButton *heat_button;
	GtkRevealer *notice_revealer;
	GtkLabel *notice_label;
	GtkButton *notice_close;
	GtkStack *stack;
	AdwStatusPage *error_page;
	GtkBox *welcome_demos;
	GtkPaned *paned;
	RavscopeHeapView *heap_view;
	RavscopeTimeline *timeline;
	GtkButton *play_button;
	GtkDropDown *jump_kind;
	GtkDropDown *speed;
	GtkLabel *position_label;
	GtkLabel *event_label;
	GtkProgressBar *index_progress;
	GtkBox *inspector_box;
	AdwViewStack *side_stack;
	GtkSearchEntry *event_search;
	GtkDropDown *event_kind_filter;
	GtkDropDown *event_thread_filter;
	GtkLabel *event_count_label;
	GtkListView *event_list;
	GtkBox *contention_box;
	GtkDrawingArea *charts;
	GMenu *demo_menu;     /* shared by the Demos button and the main menu */
	GMenu *recent_menu;

	GSettings *settings;
	RavscopeDocument *doc;
	GCancellable *cancellable; /* indexing and contention of this document */
	gulong position_handler, progress_handler;
	RavscopeInspector *inspector;
	RavscopeEventModel *event_model;
	GtkSingleSelection *event_selection;
	gboolean syncing_list;
	/* playback */
	guint play_tick;
	gint64 last_frame_us;
	double event_debt;
	guint refresh_source;
	gboolean user_moved;
	/* contention */
	rav_contention *contention;
	gboolean contention_running;
	guint64 contention_done, contention_total; /* atomics from the worker */
	guint contention_poll;
	GtkProgressBar *contention_progress;
	gboolean show_contention;
	gboolean contention_windowed;
	GCancellable *contention_cancel;
	guint contention_generation;
	guint contention_rerun;
	guint64 contention_from, contention_to;
	unsigned contention_line_size;
	gboolean disposed;
	GMenu *demo_submenu, *recent_submenu; /* in the main menu (template) */
};

G_DEFINE_FINAL_TYPE(RavscopeWindow, ravscope_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_SHOW_CONTENTION, N_WINDOW_PROPS };
static GParamSpec *window_props[N_WINDOW_PROPS];

static const double speeds[] = { 2, 5, 20, 100, 1000, 10000, 100000, 1000000 };
static const char *const speed_names[] = { "2 events/s", "5 events/s", "20 events/s", "100 events/s",
					   "1k events/s", "10k events/s", "100k events/s", "1M events/s", NULL };
/* Jump targets: event families, then user marks and errors. */
static const char *const jump_names[] = { "allocation", "free", "move", "fix-up", "reference", "page", "message",
					  "access", "mark", "error", NULL };

static void update_position_ui(RavscopeWindow *self);
static void stop_playing(RavscopeWindow *self);

/* ---- small helpers ---------------------------------------------------------- */

static void toast(RavscopeWindow *self, const char *text)
{
	AdwToast *t = adw_toast_new(text);
	adw_toast_set_timeout(t, 4);
	adw_toast_overlay_add_toast(self->toast_overlay, t);
}

static gboolean settings_bool(RavscopeWindow *self, const char *key, gboolean dflt)
{
	return self->settings ? g_settings_get_boolean(self->settings, key) : dflt;
}

static double current_speed(RavscopeWindow *self)
{
	guint i = gtk_drop_down_get_selected(self->speed);
	return speeds[MIN(i, G_N_ELEMENTS(speeds) - 1)];
}

static guint64 kinds_mask_for_jump(guint i)
{
	/* "move" means a compaction move, not the compaction's bookends. */
	if (i == RAVSCOPE_FAMILY_MOVE)
		return (guint64)1 << RAV_EV_MOVE;
	if (i < RAVSCOPE_FAMILY_OTHER)
		return ravscope_family_kinds((RavscopeFamily)i);
	if (i == RAVSCOPE_FAMILY_OTHER)
		return (guint64)1 << RAV_EV_MARK;
	return (guint64)1 << RAV_EV_ERROR;
}

/* ---- refreshing views ------------------------------------------------------- */

static gboolean refresh_cb(gpointer user)
{
	RavscopeWindow *self = user;
	self->refresh_source = 0;
	if (!self->doc)
		return G_SOURCE_REMOVE;
	ravscope_inspector_refresh(self->inspector);
	/* Keep the event list on the last applied event. */
	guint64 pos = ravscope_document_get_position(self->doc);
	guint row = ravscope_event_model_row_for_event(self->event_model, pos > 0 ? pos - 1 : 0);
	if (row != GTK_INVALID_LIST_POSITION && gtk_single_selection_get_selected(self->event_selection) != row) {
		self->syncing_list = TRUE;
		gtk_single_selection_set_selected(self->event_selection, row);
		gtk_widget_activate_action(GTK_WIDGET(self->event_list), "list.scroll-to-item", "u", row);
		self->syncing_list = FALSE;
	}
	gtk_widget_queue_draw(GTK_WIDGET(self->charts));
	return G_SOURCE_REMOVE;
}

static void schedule_refresh(RavscopeWindow *self)
{
	if (!self->refresh_source && !self->disposed)
		self->refresh_source = g_timeout_add(self->play_tick ? 120 : 15, refresh_cb, self);
}

static void update_position_ui(RavscopeWindow *self)
{
	if (!self->doc)
		return;
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	g_autofree char *what = NULL;
	if (pos > 0) {
		rav_event ev;
		if (ravscope_document_last_event(self->doc, &ev)) {
			g_autofree char *d = ravscope_document_describe_event(self->doc, &ev);
			/* Time since the start of the recording, in the unit that reads best. */
			double us = ev.time_ns / 1000.0;
			what = us < 1000 ? g_strdup_printf("%.1f µs · %s", us, d)
			       : us < 1e6 ? g_strdup_printf("%.3f ms · %s", us / 1000, d)
					  : g_strdup_printf("%.3f s · %s", us / 1e6, d);
		}
	}
	g_autofree char *text = g_strdup_printf("<b>%" G_GUINT64_FORMAT "</b> / %" G_GUINT64_FORMAT, pos, n);
	/* What just happened, on its own line: the sentence a class reads. */
	gtk_label_set_text(self->event_label, what ? what : (pos == 0 ? "start of the trace" : ""));
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->event_label), what);
	gtk_label_set_markup(self->position_label, text);
}

static void contention_follow_playhead(RavscopeWindow *self);

static void on_position_changed(RavscopeDocument *doc, guint64 pos, gboolean stepped, RavscopeWindow *self)
{
	update_position_ui(self);
	schedule_refresh(self);
	contention_follow_playhead(self);
}

/* ---- playhead moves ----------------------------------------------------------- */

static void seek_to(RavscopeWindow *self, guint64 event)
{
	if (!self->doc)
		return;
	guint64 from = ravscope_document_get_position(self->doc);
	GError *error = NULL;
	self->user_moved = TRUE;
	if (!ravscope_document_seek(self->doc, event, &error)) {
		toast(self, error->message);
		g_error_free(error);
		return;
	}
	ravscope_heap_view_follow_seek(self->heap_view, from, ravscope_document_get_position(self->doc));
}

void ravscope_window_seek(RavscopeWindow *self, guint64 event)
{
	seek_to(self, event);
}

/* Apply events until one that changes the picture (or a mark) has been
 * applied, then animate what was applied. */
static void step_forward(RavscopeWindow *self, guint duration_ms)
{
	if (!self->doc)
		return;
	self->user_moved = TRUE;
	GArray *applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
	GError *error = NULL;
	ravscope_document_step_visible(self->doc, applied, &error);
	if (error) {
		toast(self, error->message);
		g_error_free(error);
	}
	ravscope_heap_view_animate(self->heap_view, (rav_event *)applied->data, applied->len, duration_ms);
	g_array_unref(applied);
}

/* Step back over the last visual event and play its motion backwards: a
 * move slides back out of the hole, an allocation shrinks away, so
 * stepping back and forth over a compaction shows the same picture. */
static void step_back(RavscopeWindow *self, guint duration_ms)
{
	if (!self->doc)
		return;
	guint64 pos = ravscope_document_get_position(self->doc);
	if (pos == 0)
		return;
	rav_trace *t = ravscope_document_get_trace(self->doc);
	/* Back to just before the last event a step would have stopped at
	 * (for a move, its fix-ups go with it). */
	rav_event_filter f = { .kinds = ravscope_step_stop_kinds() & ~((guint64)1 << RAV_EV_FIXUP), .thread = -1 };
	int64_t prev = rav_trace_find_prev(t, pos, &f);
	guint64 target = prev >= 0 ? (guint64)prev : 0;
	GArray *undone = g_array_new(FALSE, FALSE, sizeof(rav_event));
	for (guint64 i = target; i < pos && undone->len < 4096; i++) {
		rav_event ev;
		if (!rav_trace_event_at(t, i, &ev))
			break;
		switch (ev.kind) {
		case RAV_EV_MOVE: {
			uint64_t tmp = ev.a;
			ev.a = ev.b;
			ev.b = tmp;
			break;
		}
		case RAV_EV_FIXUP:
		case RAV_EV_REF_STORE: {
			uint64_t tmp = ev.b;
			ev.b = ev.c;
			ev.c = tmp;
			break;
		}
		case RAV_EV_ALLOC:
			ev.kind = RAV_EV_FREE;
			break;
		case RAV_EV_FREE:
			ev.kind = RAV_EV_ALLOC;
			break;
		default:
			break;
		}
		g_array_prepend_val(undone, ev);
	}
	GError *error = NULL;
	self->user_moved = TRUE;
	if (!ravscope_document_seek(self->doc, target, &error)) {
		toast(self, error->message);
		g_error_free(error);
	} else {
		ravscope_heap_view_animate(self->heap_view, (rav_event *)undone->data, undone->len, duration_ms);
	}
	g_array_unref(undone);
}

static void jump(RavscopeWindow *self, gboolean forward)
{
	if (!self->doc)
		return;
	rav_event_filter f = { .kinds = kinds_mask_for_jump(gtk_drop_down_get_selected(self->jump_kind)), .thread = -1 };
	guint64 pos = ravscope_document_get_position(self->doc);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	/* The event at pos-1 is the one on screen: search past it. */
	int64_t idx = forward ? rav_trace_find_next(t, pos, &f) : (pos >= 2 ? rav_trace_find_prev(t, pos - 1, &f) : -1);
	if (idx < 0) {
		g_autofree char *msg = g_strdup_printf("No %s %s here", forward ? "later" : "earlier",
						       jump_names[gtk_drop_down_get_selected(self->jump_kind)]);
		toast(self, msg);
		return;
	}
	stop_playing(self);
	seek_to(self, (guint64)idx);
	step_forward(self, settings_bool(self, "animate", TRUE) ? 600 : 0);
}

static gboolean play_tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(widget);
	if (!self->doc) {
		self->play_tick = 0;
		return G_SOURCE_REMOVE;
	}
	gint64 now = gdk_frame_clock_get_frame_time(clock);
	double dt = self->last_frame_us ? (now - self->last_frame_us) / 1e6 : 0;
	self->last_frame_us = now;
	double speed = current_speed(self);
	self->event_debt += MIN(dt, 0.25) * speed;
	if (self->event_debt < 1)
		return G_SOURCE_CONTINUE;
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	if (pos >= n) {
		stop_playing(self);
		return G_SOURCE_REMOVE;
	}
	gboolean animate = settings_bool(self, "animate", TRUE) && speed <= 20;
	if (animate) {
		/* One visual event per period, animated across it. */
		self->event_debt -= 1;
		step_forward(self, (guint)(900 / speed));
		return G_SOURCE_CONTINUE;
	}
	guint count = (guint)MIN(self->event_debt, 5e6);
	self->event_debt -= count;
	GArray *applied = g_array_sized_new(FALSE, FALSE, sizeof(rav_event), MIN(count, 65536));
	GError *error = NULL;
	ravscope_document_step_many(self->doc, count, applied, &error);
	ravscope_heap_view_animate(self->heap_view, (rav_event *)applied->data, applied->len, 0);
	g_array_unref(applied);
	if (error) {
		toast(self, error->message);
		g_error_free(error);
		stop_playing(self);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static void set_play_icon(RavscopeWindow *self, gboolean playing)
{
	gtk_button_set_icon_name(self->play_button, playing ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
}

static void stop_playing(RavscopeWindow *self)
{
	if (self->play_tick) {
		gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->play_tick);
		self->play_tick = 0;
	}
	set_play_icon(self, FALSE);
	if (self->heap_view)
		ravscope_heap_view_set_playing(self->heap_view, FALSE);
	schedule_refresh(self);
}

gboolean ravscope_window_is_playing(RavscopeWindow *self)
{
	return self->play_tick != 0;
}

static void toggle_play(RavscopeWindow *self)
{
	if (!self->doc)
		return;
	if (self->play_tick) {
		stop_playing(self);
		return;
	}
	if (ravscope_document_get_position(self->doc) >= ravscope_document_get_event_count(self->doc))
		seek_to(self, 0);
	self->user_moved = TRUE;
	self->last_frame_us = 0;
	self->event_debt = 1; /* start moving at once */
	self->play_tick = gtk_widget_add_tick_callback(GTK_WIDGET(self), play_tick_cb, NULL, NULL);
	ravscope_heap_view_set_playing(self->heap_view, TRUE);
	set_play_icon(self, TRUE);
}

/* ---- actions ------------------------------------------------------------------ */

static void act_play(GtkWidget *w, const char *name, GVariant *p) { toggle_play(RAVSCOPE_WINDOW(w)); }

static void act_step_forward(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	stop_playing(self);
	step_forward(self, settings_bool(self, "animate", TRUE) ? 600 : 0);
}

static void act_step_back(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	stop_playing(self);
	step_back(self, settings_bool(self, "animate", TRUE) ? 600 : 0);
}

static void act_jump_next(GtkWidget *w, const char *name, GVariant *p) { jump(RAVSCOPE_WINDOW(w), TRUE); }
static void act_jump_prev(GtkWidget *w, const char *name, GVariant *p) { jump(RAVSCOPE_WINDOW(w), FALSE); }

static void act_home(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	stop_playing(self);
	seek_to(self, 0);
}

static void act_end(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (!self->doc)
		return;
	stop_playing(self);
	seek_to(self, ravscope_document_get_event_count(self->doc));
}

static void act_zoom_in(GtkWidget *w, const char *name, GVariant *p) { ravscope_heap_view_zoom(RAVSCOPE_WINDOW(w)->heap_view, 1.6); }
static void act_zoom_out(GtkWidget *w, const char *name, GVariant *p) { ravscope_heap_view_zoom(RAVSCOPE_WINDOW(w)->heap_view, 1 / 1.6); }
static void act_zoom_fit(GtkWidget *w, const char *name, GVariant *p) { ravscope_heap_view_zoom_fit(RAVSCOPE_WINDOW(w)->heap_view); }

static void act_find(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (!self->doc)
		return;
	gtk_toggle_button_set_active(self->sidebar_button, TRUE);
	adw_view_stack_set_visible_child_name(self->side_stack, "events");
	gtk_widget_grab_focus(GTK_WIDGET(self->event_search));
}

static void act_toggle_sidebar(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	gtk_toggle_button_set_active(self->sidebar_button, !gtk_toggle_button_get_active(self->sidebar_button));
}

static void act_follow(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope_inspector_set_follow(self->inspector, !ravscope_inspector_get_follow(self->inspector));
}

static void act_escape(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope_heap_view_set_selected(self->heap_view, RAV_LOC_NONE);
}

/* ---- opening -------------------------------------------------------------------- */

static void show_error(RavscopeWindow *self, const char *title, const char *message)
{
	adw_status_page_set_title(self->error_page, title);
	adw_status_page_set_description(self->error_page, message);
	gtk_stack_set_visible_child_name(self->stack, "error");
	adw_window_title_set_subtitle(self->window_title, "");
}

static void show_notice(RavscopeWindow *self, const char *text)
{
	gtk_label_set_text(self->notice_label, text);
	gtk_revealer_set_reveal_child(self->notice_revealer, text != NULL);
}

static guint64 busiest_event(RavscopeDocument *doc)
{
	enum { BINS = 256 };
	guint64 n = ravscope_document_get_event_count(doc);
	double v[BINS];
	if (n == 0 || !rav_trace_series(ravscope_document_get_trace(doc), RAV_SERIES_LIVE_CELLS, -1, 0, n, BINS, v))
		return n;
	guint best = BINS - 1;
	for (guint i = 0; i < BINS; i++)
		if (v[i] > v[best])
			best = i;
	return MIN(n, (guint64)ceil((double)n * (best + 1) / BINS));
}

static void on_index_progress(RavscopeDocument *doc, GParamSpec *pspec, RavscopeWindow *self)
{
	gtk_widget_queue_draw(GTK_WIDGET(self->heap_view));
	gtk_progress_bar_set_fraction(self->index_progress, ravscope_document_get_index_progress(doc));
	update_position_ui(self);
	ravscope_event_model_update_count(self->event_model);
}

static void index_done(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeWindow *self = user;
	RavscopeDocument *doc = RAVSCOPE_DOCUMENT(source);
	GError *error = NULL;
	gboolean ok = ravscope_document_index_finish(doc, res, &error);
	if (doc != self->doc) {
		g_clear_error(&error);
		g_object_unref(self);
		return;
	}
	gtk_widget_set_visible(GTK_WIDGET(self->index_progress), FALSE);
	if (!ok) {
		if (!g_error_matches(error, RAVSCOPE_ERROR, RAV_TRACE_ECANCELLED)) {
			/* The indexed prefix stays usable: say what happened. */
			g_autofree char *msg = g_strdup_printf("Indexing stopped: %s. The first %" G_GUINT64_FORMAT
							       " events can be viewed.", error->message,
							       ravscope_document_get_event_count(doc));
			show_notice(self, msg);
		}
		g_error_free(error);
		g_object_unref(self);
		return;
	}
	ravscope_timeline_refresh(self->timeline);
	ravscope_event_model_update_count(self->event_model);
	if (!self->user_moved) {
		guint64 at = busiest_event(doc);
		ravscope_document_seek(doc, at, NULL);
		ravscope_heap_view_zoom_fit(self->heap_view);
		g_autofree char *msg = g_strdup_printf("Showing event %" G_GUINT64_FORMAT ", when the most cells are live. Home goes to the start, Space plays.", at);
		toast(self, msg);
	}
	update_position_ui(self);
	schedule_refresh(self);
	g_object_unref(self);
}

static void clear_contention(RavscopeWindow *self);
static void build_contention_panel(RavscopeWindow *self);
static void setup_event_filters(RavscopeWindow *self);

static void set_document(RavscopeWindow *self, RavscopeDocument *doc)
{
	stop_playing(self);
	if (self->cancellable) {
		g_cancellable_cancel(self->cancellable);
		g_clear_object(&self->cancellable);
	}
	clear_contention(self);
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_signal_handler(&self->progress_handler, self->doc);
		g_clear_object(&self->doc);
	}
	self->user_moved = FALSE;
	if (doc) {
		self->doc = g_object_ref(doc);
		self->position_handler = g_signal_connect(doc, "position-changed", G_CALLBACK(on_position_changed), self);
		self->progress_handler = g_signal_connect(doc, "notify::index-progress", G_CALLBACK(on_index_progress), self);
	}
	/* Trace actions only make sense with a trace. */
	static const char *const trace_actions[] = { "win.play", "win.step-forward", "win.step-back", "win.jump-next",
		"win.jump-prev", "win.home", "win.end", "win.zoom-in", "win.zoom-out", "win.zoom-fit", "win.find",
		"win.contention", "win.follow", "win.toggle-sidebar" };
	for (guint i = 0; i < G_N_ELEMENTS(trace_actions); i++)
		gtk_widget_action_set_enabled(GTK_WIDGET(self), trace_actions[i], doc != NULL);
	gtk_widget_set_sensitive(GTK_WIDGET(self->sidebar_button), doc != NULL);
	ravscope_heap_view_set_document(self->heap_view, doc);
	ravscope_timeline_set_document(self->timeline, doc);
	ravscope_inspector_set_document(self->inspector, doc);
	ravscope_event_model_set_document(self->event_model, doc);
	setup_event_filters(self);
	build_contention_panel(self);
	gtk_widget_queue_draw(GTK_WIDGET(self->charts));
}

void ravscope_window_open(RavscopeWindow *self, GFile *file)
{
	g_autofree char *path = g_file_get_path(file);
	g_autofree char *name = g_file_get_basename(file);
	show_notice(self, NULL);
	if (!path) {
		show_error(self, "This Trace Cannot Be Opened", "Only local files can be opened.");
		return;
	}
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(path, &error);
	if (!doc) {
		set_document(self, NULL);
		g_autofree char *title = g_strdup_printf("%s Cannot Be Opened", name);
		show_error(self, title, error->message);
		gtk_window_set_title(GTK_WINDOW(self), "ravscope");
		adw_window_title_set_title(self->window_title, "ravscope");
		g_error_free(error);
		return;
	}
	set_document(self, doc);
	const rav_trace_info *info = ravscope_document_get_info(doc);
	if (info->truncated) {
		g_autofree char *msg = g_strdup_printf(
			"This trace ends in the middle of a chunk (the recorded program probably crashed or was killed). "
			"The first %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes (%.0f%%) were recovered and are shown.",
			info->recovered_bytes, info->file_size,
			info->file_size ? 100.0 * info->recovered_bytes / info->file_size : 0.0);
		show_notice(self, msg);
	}
	gtk_window_set_title(GTK_WINDOW(self), name);
	adw_window_title_set_title(self->window_title, name);
	/* The recorded command line, with the program's directory left out. */
	g_autofree char *sub = NULL;
	if (info->program[0]) {
		g_autofree char *shown = ravscope_display_text(info->program); /* a trace's bytes */
		const char *program = shown ? shown : info->program;
		const char *sp = strchr(program, ' ');
		g_autofree char *argv0 = sp ? g_strndup(program, sp - program) : g_strdup(program);
		g_autofree char *base = g_path_get_basename(argv0);
		sub = g_strdup_printf("recorded from %s%s", base, sp ? sp : "");
	} else {
		sub = g_strdup("recorded trace");
	}
	adw_window_title_set_subtitle(self->window_title, sub);
	gtk_stack_set_visible_child_name(self->stack, "trace");
	gtk_widget_set_visible(GTK_WIDGET(self->index_progress), TRUE);
	gtk_progress_bar_set_fraction(self->index_progress, 0);
	self->cancellable = g_cancellable_new();
	ravscope_document_index_async(doc, self->cancellable, index_done, g_object_ref(self));
	update_position_ui(self);
	gtk_widget_grab_focus(GTK_WIDGET(self->heap_view));
	/* Recent files: the desktop's list, so file choosers show it too. */
	g_autofree char *uri = g_file_get_uri(file);
	GtkRecentData rd = { .display_name = name, .mime_type = (char *)"application/x-ravtrace",
			     .app_name = (char *)"ravscope", .app_exec = (char *)"ravscope %f" };
	gtk_recent_manager_add_full(gtk_recent_manager_get_default(), uri, &rd);
	g_object_unref(doc);
}

RavscopeDocument *ravscope_window_get_document(RavscopeWindow *self) { return self->doc; }
const char *ravscope_window_get_page(RavscopeWindow *self) { return gtk_stack_get_visible_child_name(self->stack); }
const char *ravscope_window_get_error_text(RavscopeWindow *self) { return adw_status_page_get_description(self->error_page); }
GtkWidget *ravscope_window_get_heap_view(RavscopeWindow *self) { return GTK_WIDGET(self->heap_view); }

void ravscope_window_select_cell(RavscopeWindow *self, rav_loc cell)
{
	ravscope_heap_view_set_selected(self->heap_view, cell);
}

char *ravscope_window_dup_inspector_text(RavscopeWindow *self)
{
	return ravscope_inspector_dup_text(self->inspector);
}

static void on_open_response(GtkNativeDialog *dialog, int response, RavscopeWindow *self)
{
	if (response == GTK_RESPONSE_ACCEPT) {
		GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
		if (f) {
			ravscope_window_open(self, f);
			g_object_unref(f);
		}
	}
	g_object_unref(dialog);
}

static void act_open(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	GtkFileChooserNative *dlg = gtk_file_chooser_native_new("Open a Trace", GTK_WINDOW(self),
		GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
	GtkFileFilter *f = gtk_file_filter_new();
	gtk_file_filter_set_name(f, "ravioli traces (*.ravtrace)");
	gtk_file_filter_add_pattern(f, "*.ravtrace");
	gtk_file_filter_add_mime_type(f, "application/x-ravtrace");
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dlg), f);
	GtkFileFilter *all = gtk_file_filter_new();
	gtk_file_filter_set_name(all, "All files");
	gtk_file_filter_add_pattern(all, "*");
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dlg), all);
	g_object_unref(f);
	g_object_unref(all);
	g_signal_connect(dlg, "response", G_CALLBACK(on_open_response), self);
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(dlg));
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y, RavscopeWindow *self)
{
	if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST))
		return FALSE;
	GSList *files = g_value_get_boxed(value);
	if (!files)
		return FALSE;
	ravscope_window_open(self, G_FILE(files->data));
	return TRUE;
}

/* ---- menus: demos and recent ------------------------------------------------------ */

static char *demo_label(const char *path)
{
	g_autofree char *base = g_path_get_basename(path);
	char *dot = strrchr(base, '.');
	if (dot)
		*dot = 0;
	return g_strdup(base);
}

static void on_demo_clicked(GtkButton *b, RavscopeWindow *self)
{
	const char *path = g_object_get_data(G_OBJECT(b), "path");
	GFile *f = g_file_new_for_path(path);
	ravscope_window_open(self, f);
	g_object_unref(f);
}

void ravscope_window_refresh_menus(RavscopeWindow *self)
{
	g_menu_remove_all(self->demo_menu);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->welcome_demos))))
		gtk_box_remove(self->welcome_demos, child);
	GPtrArray *demos = ravscope_application_list_demos();
	for (guint i = 0; i < demos->len; i++) {
		const char *path = g_ptr_array_index(demos, i);
		g_autofree char *label = demo_label(path);
		GMenuItem *item = g_menu_item_new(label, NULL);
		g_menu_item_set_action_and_target_value(item, "win.open-path", g_variant_new_string(path));
		g_menu_append_item(self->demo_menu, item);
		g_object_unref(item);
		if (i < 6) {
			g_autofree char *blabel = g_strdup_printf("Demo: %s", label);
			GtkWidget *b = gtk_button_new_with_label(blabel);
			gtk_widget_add_css_class(b, "pill");
			g_object_set_data_full(G_OBJECT(b), "path", g_strdup(path), g_free);
			g_signal_connect(b, "clicked", G_CALLBACK(on_demo_clicked), self);
			gtk_box_append(self->welcome_demos, b);
		}
	}
	if (demos->len == 0) {
		GMenuItem *item = g_menu_item_new("No demos found (build samples/)", "win.none");
		g_menu_append_item(self->demo_menu, item);
		g_object_unref(item);
	}
	g_ptr_array_unref(demos);

	g_menu_remove_all(self->recent_menu);
	GList *items = gtk_recent_manager_get_items(gtk_recent_manager_get_default());
	guint n = 0;
	for (GList *l = items; l && n < 10; l = l->next) {
		GtkRecentInfo *ri = l->data;
		const char *uri = gtk_recent_info_get_uri(ri);
		if (!g_str_has_suffix(uri, ".ravtrace") || !gtk_recent_info_exists(ri))
			continue;
		g_autofree char *path = g_filename_from_uri(uri, NULL, NULL);
		if (!path)
			continue;
		GMenuItem *item = g_menu_item_new(gtk_recent_info_get_display_name(ri), NULL);
		g_menu_item_set_action_and_target_value(item, "win.open-path", g_variant_new_string(path));
		g_menu_append_item(self->recent_menu, item);
		g_object_unref(item);
		n++;
	}
	g_list_free_full(items, (GDestroyNotify)gtk_recent_info_unref);
	if (n == 0) {
		GMenuItem *item = g_menu_item_new("No recent traces", "win.none");
		g_menu_append_item(self->recent_menu, item);
		g_object_unref(item);
	}
}

static void act_open_path(GtkWidget *w, const char *name, GVariant *p)
{
	GFile *f = g_file_new_for_path(g_variant_get_string(p, NULL));
	ravscope_window_open(RAVSCOPE_WINDOW(w), f);
	g_object_unref(f);
}

static void on_recent_changed(GtkRecentManager *m, RavscopeWindow *self)
{
	ravscope_window_refresh_menus(self);
}

/* ---- event list ------------------------------------------------------------------- */

static void setup_event_filters(RavscopeWindow *self)
{
	GtkStringList *kinds = gtk_string_list_new(NULL);
	gtk_string_list_append(kinds, "All kinds");
	for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++)
		gtk_string_list_append(kinds, ravscope_family_name(f));
	gtk_string_list_append(kinds, "marks");
	gtk_string_list_append(kinds, "errors");
	gtk_drop_down_set_model(self->event_kind_filter, G_LIST_MODEL(kinds));
	g_object_unref(kinds);
	GtkStringList *threads = gtk_string_list_new(NULL);
	gtk_string_list_append(threads, "All threads");
	if (self->doc) {
		rav_trace *t = ravscope_document_get_trace(self->doc);
		for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
			rav_trace_thread th_entry;
			const rav_trace_thread *th = rav_trace_thread_at(t, i, &th_entry) ? &th_entry : NULL;
			g_autofree char *nm = th ? ravscope_document_heap_name(self->doc, th->heap_id) : g_strdup("?");
			gtk_string_list_append(threads, nm);
		}
	}
	gtk_drop_down_set_model(self->event_thread_filter, G_LIST_MODEL(threads));
	g_object_unref(threads);
}

static void apply_event_filter(RavscopeWindow *self)
{
	if (!self->doc)
		return;
	guint k = gtk_drop_down_get_selected(self->event_kind_filter);
	guint64 kinds = 0;
	if (k >= 1 && k <= RAVSCOPE_N_FAMILIES)
		kinds = ravscope_family_kinds((RavscopeFamily)(k - 1));
	else if (k == RAVSCOPE_N_FAMILIES + 1)
		kinds = (guint64)1 << RAV_EV_MARK;
	else if (k == RAVSCOPE_N_FAMILIES + 2)
		kinds = (guint64)1 << RAV_EV_ERROR;
	guint t = gtk_drop_down_get_selected(self->event_thread_filter);
	gint64 thread = -1;
	if (t >= 1 && t != GTK_INVALID_LIST_POSITION) {
		rav_trace_thread th_entry;
		const rav_trace_thread *th = rav_trace_thread_at(ravscope_document_get_trace(self->doc), t - 1, &th_entry) ? &th_entry : NULL;
		if (th)
			thread = th->heap_id;
	}
	ravscope_event_model_set_filter(self->event_model, kinds, thread, gtk_editable_get_text(GTK_EDITABLE(self->event_search)));
}

static void on_filter_changed(GObject *o, GParamSpec *pspec, RavscopeWindow *self) { apply_event_filter(self); }
static void on_search_changed(GtkSearchEntry *e, RavscopeWindow *self) { apply_event_filter(self); }

static void on_model_count(RavscopeEventModel *m, GParamSpec *pspec, RavscopeWindow *self)
{
	g_autofree char *t = ravscope_event_model_dup_status(m);
	gtk_label_set_text(self->event_count_label, t);
}

static void on_event_activate(GtkListView *lv, guint row, RavscopeWindow *self)
{
	guint64 ev = ravscope_event_model_event_at_row(self->event_model, row);
	if (ev == G_MAXUINT64)
		return;
	stop_playing(self);
	seek_to(self, ev);
	step_forward(self, settings_bool(self, "animate", TRUE) ? 600 : 0);
}

static void event_row_setup(GtkSignalListItemFactory *f, GtkListItem *item, gpointer user)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
	GtkWidget *dot = gtk_label_new("●");
	GtkWidget *idx = gtk_label_new("");
	GtkWidget *text = gtk_label_new("");
	gtk_widget_add_css_class(idx, "dim-label");
	gtk_widget_add_css_class(idx, "numeric");
	gtk_label_set_xalign(GTK_LABEL(idx), 1);
	gtk_label_set_width_chars(GTK_LABEL(idx), 7);
	gtk_label_set_xalign(GTK_LABEL(text), 0);
	gtk_label_set_ellipsize(GTK_LABEL(text), PANGO_ELLIPSIZE_END);
	gtk_widget_set_hexpand(text, TRUE);
	gtk_box_append(GTK_BOX(box), dot);
	gtk_box_append(GTK_BOX(box), idx);
	gtk_box_append(GTK_BOX(box), text);
	gtk_list_item_set_child(item, box);
}

static void event_row_bind(GtkSignalListItemFactory *f, GtkListItem *item, RavscopeWindow *self)
{
	RavscopeEventItem *ei = gtk_list_item_get_item(item);
	GtkWidget *box = gtk_list_item_get_child(item);
	GtkWidget *dot = gtk_widget_get_first_child(box);
	GtkWidget *idx = gtk_widget_get_next_sibling(dot);
	GtkWidget *text = gtk_widget_get_next_sibling(idx);
	guint64 e = ravscope_event_item_get_index(ei);
	char buf[32];
	g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, e);
	gtk_label_set_text(GTK_LABEL(idx), buf);
	rav_event ev;
	if (self->doc && rav_trace_event_at(ravscope_document_get_trace(self->doc), e, &ev)) {
		g_autofree char *d = ravscope_document_describe_event(self->doc, &ev);
		gtk_label_set_text(GTK_LABEL(text), d);
		double rgb[3];
		ravscope_family_color(ravscope_event_family(ev.kind), rgb);
		g_autofree char *markup = g_strdup_printf("<span foreground=\"#%02x%02x%02x\">●</span>", (int)(rgb[0] * 255),
							  (int)(rgb[1] * 255), (int)(rgb[2] * 255));
		gtk_label_set_markup(GTK_LABEL(dot), markup);
	} else {
		gtk_label_set_text(GTK_LABEL(text), "(not indexed yet)");
	}
}

/* ---- inspector callbacks --------------------------------------------------------- */

static void on_cell_selected(RavscopeHeapView *hv, guint64 loc, RavscopeWindow *self)
{
	ravscope_inspector_set_cell(self->inspector, (rav_loc)loc);
	if (loc && gtk_toggle_button_get_active(self->sidebar_button))
		adw_view_stack_set_visible_child_name(self->side_stack, "inspector");
}

static void on_inspector_select(RavscopeInspector *ins, guint64 loc, RavscopeWindow *self)
{
	ravscope_heap_view_set_selected(self->heap_view, (rav_loc)loc);
	ravscope_heap_view_focus_cell(self->heap_view, (rav_loc)loc);
}

static void on_inspector_seek(RavscopeInspector *ins, guint64 event, RavscopeWindow *self)
{
	stop_playing(self);
	seek_to(self, event);
	step_forward(self, settings_bool(self, "animate", TRUE) ? 600 : 0);
}

static void on_inspector_follow(RavscopeInspector *ins, GParamSpec *pspec, RavscopeWindow *self)
{
	ravscope_heap_view_set_follow(self->heap_view, ravscope_inspector_get_follow(ins));
}

static void on_timeline_seek(RavscopeTimeline *tl, guint64 event, RavscopeWindow *self)
{
	stop_playing(self);
	seek_to(self, event);
}

/* ---- contention -------------------------------------------------------------------- */

typedef struct {
	RavscopeWindow *self;
	rav_trace *trace;
	rav_contention_config cfg;
	GCancellable *cancellable;
	guint generation;
} ContentionJob;

static bool contention_progress(uint64_t done, uint64_t total, void *user)
{
	ContentionJob *job = user;
	__atomic_store_n(&job->self->contention_done, done, __ATOMIC_RELAXED);
	__atomic_store_n(&job->self->contention_total, total, __ATOMIC_RELAXED);
	return !g_cancellable_is_cancelled(job->cancellable);
}

static void contention_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	ContentionJob *job = data;
	rav_trace_error err = { 0 };
	rav_contention *c = rav_contention_run(job->trace, &job->cfg, contention_progress, job, &err);
	if (!c) {
		g_task_return_new_error(task, RAVSCOPE_ERROR, err.code, "%s", err.message);
		return;
	}
	g_task_return_pointer(task, c, (GDestroyNotify)rav_contention_free);
}

static void contention_job_free(gpointer p)
{
	ContentionJob *job = p;
	g_clear_object(&job->cancellable);
	g_free(job);
}

static gboolean contention_poll_cb(gpointer user)
{
	RavscopeWindow *self = user;
	guint64 done = __atomic_load_n(&self->contention_done, __ATOMIC_RELAXED);
	guint64 total = __atomic_load_n(&self->contention_total, __ATOMIC_RELAXED);
	if (self->contention_progress)
		gtk_progress_bar_set_fraction(self->contention_progress, total ? (double)done / total : 0);
	return G_SOURCE_CONTINUE;
}

static void on_hot_line_clicked(GtkButton *b, RavscopeWindow *self)
{
	guint64 loc = *(guint64 *)g_object_get_data(G_OBJECT(b), "loc");
	ravscope_heap_view_set_selected(self->heap_view, loc);
	ravscope_heap_view_focus_cell(self->heap_view, loc);
}

static void set_show_contention(RavscopeWindow *self, gboolean on);

static guint64 contention_window_events(RavscopeWindow *self);
static void on_windowed_toggled(GtkSwitch *sw, GParamSpec *pspec, RavscopeWindow *self);

static void set_show_contention_off(RavscopeWindow *self)
{
	set_show_contention(self, FALSE);
}

static void build_contention_panel(RavscopeWindow *self)
{
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->contention_box))))
		gtk_box_remove(self->contention_box, child);
	self->contention_progress = NULL;
	GtkWidget *intro = gtk_label_new(NULL);
	gtk_label_set_wrap(GTK_LABEL(intro), TRUE);
	gtk_label_set_xalign(GTK_LABEL(intro), 0);
	gtk_widget_add_css_class(intro, "dim-label");
	if (!self->doc) {
		return;
	} else if (self->contention_running) {
		gtk_label_set_text(GTK_LABEL(intro), "Replaying memory accesses through a model of per-thread caches…");
		gtk_box_append(self->contention_box, intro);
		GtkWidget *pb = gtk_progress_bar_new();
		self->contention_progress = GTK_PROGRESS_BAR(pb);
		gtk_box_append(self->contention_box, pb);
		GtkWidget *cancel = gtk_button_new_with_label("Cancel");
		gtk_widget_set_halign(cancel, GTK_ALIGN_START);
		g_signal_connect_swapped(cancel, "clicked", G_CALLBACK(set_show_contention_off), self);
		gtk_box_append(self->contention_box, cancel);
		return;
	} else if (!self->contention) {
		gtk_label_set_text(GTK_LABEL(intro),
			"Cache contention: replay the recorded loads and stores through a model of each thread's cache "
			"(64-byte lines) and count lines moving between threads. Traces record accesses when the program ran "
			"with RAVIOLI_TRACE_ACCESS=1.");
		gtk_box_append(self->contention_box, intro);
		GtkWidget *b = gtk_button_new_with_label("Compute Contention");
		gtk_widget_add_css_class(b, "suggested-action");
		gtk_widget_add_css_class(b, "pill");
		gtk_widget_set_halign(b, GTK_ALIGN_CENTER);
		gtk_actionable_set_action_name(GTK_ACTIONABLE(b), "win.contention");
		gtk_box_append(self->contention_box, b);
		return;
	}
	{
		GtkWidget *row = adw_action_row_new();
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), "Only around the playhead");
		g_autofree char *sub = g_strdup_printf("the last %" G_GUINT64_FORMAT " events before the playhead, recomputed when it rests",
						       contention_window_events(self));
		adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
		GtkWidget *sw = gtk_switch_new();
		gtk_widget_set_valign(sw, GTK_ALIGN_CENTER);
		gtk_switch_set_active(GTK_SWITCH(sw), self->contention_windowed);
		g_signal_connect(sw, "notify::active", G_CALLBACK(on_windowed_toggled), self);
		adw_action_row_add_suffix(ADW_ACTION_ROW(row), sw);
		adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), sw);
		GtkWidget *lb = gtk_list_box_new();
		gtk_widget_add_css_class(lb, "boxed-list");
		gtk_list_box_set_selection_mode(GTK_LIST_BOX(lb), GTK_SELECTION_NONE);
		gtk_list_box_append(GTK_LIST_BOX(lb), row);
		gtk_box_append(self->contention_box, lb);
	}
	rav_contention_totals tot;
	rav_contention_get_totals(self->contention, &tot);
	g_autofree char *range = self->contention_to > self->contention_from
		? g_strdup_printf("Events %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ": ", self->contention_from, self->contention_to)
		: g_strdup("Whole trace: ");
	g_autofree char *summary = g_strdup_printf(
		"%s%" G_GUINT64_FORMAT " accesses · %" G_GUINT64_FORMAT " line transfers between threads · %" G_GUINT64_FORMAT
		" invalidations · %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " lines contended",
		range, tot.accesses, tot.transfers, tot.invalidations, tot.lines_contended, tot.lines_touched);
	gtk_label_set_text(GTK_LABEL(intro), summary);
	gtk_box_append(self->contention_box, intro);
	GtkWidget *title = gtk_label_new("Hottest lines");
	gtk_widget_add_css_class(title, "heading");
	gtk_label_set_xalign(GTK_LABEL(title), 0);
	gtk_box_append(self->contention_box, title);
	GtkWidget *list = gtk_list_box_new();
	gtk_widget_add_css_class(list, "boxed-list");
	gtk_list_box_set_selection_mode(GTK_LIST_BOX(list), GTK_SELECTION_NONE);
	unsigned n = rav_contention_line_count(self->contention);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	for (unsigned i = 0; i < n && i < 40; i++) {
		const rav_contention_line *ln = rav_contention_line_at(self->contention, i);
		GString *threads = g_string_new(NULL);
		for (unsigned k = 0; k < 64 && k < rav_trace_thread_count(t); k++) {
			if (!(ln->thread_mask & ((guint64)1 << k)))
				continue;
			rav_trace_thread th_entry;
			const rav_trace_thread *th = rav_trace_thread_at(t, k, &th_entry) ? &th_entry : NULL;
			if (!th)
				continue;
			g_autofree char *nm = ravscope_document_heap_name(self->doc, th->heap_id);
			g_string_append_printf(threads, "%s%s", threads->len ? ", " : "", nm);
		}
		g_autofree char *where = ln->external ? g_strdup_printf("outside the pool (0x%" G_GINT64_MODIFIER "x)", ln->line * 64)
						     : ravscope_format_loc(ln->first_cell);
		g_autofree char *titletext = g_strdup_printf("%" G_GUINT64_FORMAT " transfers · %s", ln->transfers, where);
		g_autofree char *sub = g_strdup_printf("%" G_GUINT64_FORMAT " reads, %" G_GUINT64_FORMAT " writes · %s",
						       ln->reads, ln->writes, threads->str);
		g_string_free(threads, TRUE);
		GtkWidget *row = adw_action_row_new();
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), titletext);
		adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
		if (!ln->external) {
			GtkWidget *go = gtk_button_new_from_icon_name("find-location-symbolic");
			gtk_widget_set_valign(go, GTK_ALIGN_CENTER);
			gtk_widget_add_css_class(go, "flat");
			gtk_widget_set_tooltip_text(go, "Show this line's first cell");
			guint64 *loc = g_new(guint64, 1);
			*loc = ln->first_cell;
			g_object_set_data_full(G_OBJECT(go), "loc", loc, g_free);
			g_signal_connect(go, "clicked", G_CALLBACK(on_hot_line_clicked), self);
			adw_action_row_add_suffix(ADW_ACTION_ROW(row), go);
		}
		gtk_list_box_append(GTK_LIST_BOX(list), row);
	}
	if (n == 0) {
		GtkWidget *row = adw_action_row_new();
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), "No line moved between threads");
		gtk_list_box_append(GTK_LIST_BOX(list), row);
	}
	gtk_box_append(self->contention_box, list);
}

static void contention_done_cb(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeWindow *self = user;
	GError *error = NULL;
	rav_contention *c = g_task_propagate_pointer(G_TASK(res), &error);
	ContentionJob *job = g_task_get_task_data(G_TASK(res));
	/* Only the newest job counts: a rerun for a new window, a new document
	 * or a cancel make older results stale. */
	gboolean current = self->doc && job->trace == ravscope_document_get_trace(self->doc) &&
			   job->generation == self->contention_generation && self->contention_running;
	if (!current) {
		if (c)
			rav_contention_free(c);
		g_clear_error(&error);
		g_object_unref(self);
		return;
	}
	g_clear_handle_id(&self->contention_poll, g_source_remove);
	self->contention_running = FALSE;
	if (!c) {
		if (!g_error_matches(error, RAVSCOPE_ERROR, RAV_TRACE_ECANCELLED))
			toast(self, error->message);
		g_error_free(error);
		set_show_contention(self, FALSE);
	} else {
		ravscope_heap_view_set_contention(self->heap_view, NULL, self->contention_line_size);
		if (self->contention)
			rav_contention_free(self->contention);
		self->contention = c;
		self->contention_line_size = job->cfg.line_size;
		self->contention_from = job->cfg.from;
		self->contention_to = job->cfg.to;
		ravscope_heap_view_set_contention(self->heap_view, self->show_contention ? c : NULL, self->contention_line_size);
		ravscope_timeline_set_window(self->timeline, job->cfg.from, job->cfg.to);
	}
	build_contention_panel(self);
	gtk_widget_queue_draw(GTK_WIDGET(self->charts));
	g_object_unref(self);
}

static void clear_contention(RavscopeWindow *self)
{
	if (self->contention_cancel)
		g_cancellable_cancel(self->contention_cancel);
	g_clear_object(&self->contention_cancel);
	self->contention_generation++;
	g_clear_handle_id(&self->contention_rerun, g_source_remove);
	ravscope_timeline_set_window(self->timeline, 0, 0);
	ravscope_heap_view_set_contention(self->heap_view, NULL, self->contention_line_size);
	if (self->contention) {
		rav_contention_free(self->contention);
		self->contention = NULL;
	}
	self->contention_running = FALSE;
	g_clear_handle_id(&self->contention_poll, g_source_remove);
	if (self->show_contention) {
		self->show_contention = FALSE;
		g_object_notify_by_pspec(G_OBJECT(self), window_props[PROP_SHOW_CONTENTION]);
	}
}

static guint64 contention_window_events(RavscopeWindow *self)
{
	guint64 n = ravscope_document_get_event_count(self->doc);
	return MAX(2000, n / 40);
}

static void start_contention(RavscopeWindow *self)
{
	if (self->contention_cancel)
		g_cancellable_cancel(self->contention_cancel);
	g_clear_object(&self->contention_cancel);
	self->contention_cancel = g_cancellable_new();
	ContentionJob *job = g_new0(ContentionJob, 1);
	job->self = self;
	job->trace = ravscope_document_get_trace(self->doc);
	job->cfg.line_size = self->settings ? g_settings_get_uint(self->settings, "line-size") : 64;
	if (job->cfg.line_size < 16 || (job->cfg.line_size & (job->cfg.line_size - 1)))
		job->cfg.line_size = 64;
	job->cfg.windows = 64;
	if (self->contention_windowed) {
		/* The window ends at the playhead: what led up to this moment. */
		guint64 pos = ravscope_document_get_position(self->doc), w = contention_window_events(self);
		job->cfg.from = pos > w ? pos - w : 0;
		job->cfg.to = MAX(pos, job->cfg.from + 1);
	}
	job->generation = ++self->contention_generation;
	job->cancellable = g_object_ref(self->contention_cancel);
	self->contention_done = 0;
	self->contention_total = 0;
	self->contention_running = TRUE;
	GTask *task = g_task_new(self->doc, self->contention_cancel, contention_done_cb, g_object_ref(self));
	g_task_set_task_data(task, job, contention_job_free);
	g_task_run_in_thread(task, contention_thread);
	g_object_unref(task);
	if (!self->contention_poll)
		self->contention_poll = g_timeout_add(100, contention_poll_cb, self);
	if (!self->contention) {
		build_contention_panel(self);
		gtk_toggle_button_set_active(self->sidebar_button, TRUE);
		adw_view_stack_set_visible_child_name(self->side_stack, "contention");
	}
}

static gboolean contention_rerun_cb(gpointer user)
{
	RavscopeWindow *self = user;
	self->contention_rerun = 0;
	if (self->doc && self->show_contention && self->contention_windowed && ravscope_document_is_indexed(self->doc))
		start_contention(self);
	return G_SOURCE_REMOVE;
}

/* The playhead moved: a windowed overlay follows it once it rests. */
static void contention_follow_playhead(RavscopeWindow *self)
{
	if (!self->show_contention || !self->contention_windowed || self->play_tick)
		return;
	g_clear_handle_id(&self->contention_rerun, g_source_remove);
	self->contention_rerun = g_timeout_add(250, contention_rerun_cb, self);
}

static void on_windowed_toggled(GtkSwitch *sw, GParamSpec *pspec, RavscopeWindow *self)
{
	self->contention_windowed = gtk_switch_get_active(sw);
	if (!self->contention_windowed)
		ravscope_timeline_set_window(self->timeline, 0, 0);
	if (self->show_contention && self->doc)
		start_contention(self);
}

/* The "show-contention" property backs the win.contention toggle: turning
 * it on computes the model once (in a worker), then only shows or hides
 * the overlay; turning it off while computing cancels. */
static void set_show_contention(RavscopeWindow *self, gboolean on)
{
	if (self->show_contention == on)
		return;
	self->show_contention = on;
	g_object_notify_by_pspec(G_OBJECT(self), window_props[PROP_SHOW_CONTENTION]);
	if (!self->doc)
		return;
	if (!on) {
		ravscope_heap_view_set_contention(self->heap_view, NULL, self->contention_line_size);
		if (self->contention_running) {
			if (self->contention_cancel)
				g_cancellable_cancel(self->contention_cancel);
			self->contention_generation++;
			self->contention_running = FALSE;
			g_clear_handle_id(&self->contention_poll, g_source_remove);
			build_contention_panel(self);
		}
		return;
	}
	if (self->contention) {
		ravscope_heap_view_set_contention(self->heap_view, self->contention, self->contention_line_size);
		contention_follow_playhead(self);
		return;
	}
	if (self->contention_running)
		return;
	if (!ravscope_document_is_indexed(self->doc)) {
		toast(self, "Contention can be computed once indexing has finished");
		self->show_contention = FALSE;
		g_object_notify_by_pspec(G_OBJECT(self), window_props[PROP_SHOW_CONTENTION]);
		return;
	}
	start_contention(self);
}

/* ---- charts ---------------------------------------------------------------------------- */

static void draw_charts(GtkDrawingArea *area, cairo_t *cr, int w, int h, gpointer user)
{
	RavscopeWindow *self = user;
	if (!self->doc)
		return;
	gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
	gboolean large = settings_bool(self, "large-text", FALSE);
	RavscopeTimelineStyle st = { .dark = dark, .large_text = large, .hover_event = G_MAXUINT64 };
	st.accent[0] = dark ? 0x78 / 255.0 : 0x1c / 255.0;
	st.accent[1] = dark ? 0xae / 255.0 : 0x71 / 255.0;
	st.accent[2] = dark ? 0xed / 255.0 : 0xd8 / 255.0;
	double ch = large ? 110 : 84, gap = 10, x = 12, cw = w - 24, y = 8;
	ravscope_chart_draw(cr, self->doc, "Live cells", RAV_SERIES_LIVE_CELLS, -1, NULL, 0, x, y, cw, ch, &st);
	y += ch + gap;
	ravscope_chart_draw(cr, self->doc, "Pages (all heaps)", RAV_SERIES_PAGES, -1, NULL, 0, x, y, cw, ch, &st);
	y += ch + gap;
	ravscope_chart_draw(cr, self->doc, "Moves", RAV_SERIES_MOVES, -1, NULL, 0, x, y, cw, ch, &st);
	y += ch + gap;
	ravscope_chart_draw(cr, self->doc, "Fix-ups", RAV_SERIES_FIXUPS, -1, NULL, 0, x, y, cw, ch, &st);
	y += ch + gap;
	ravscope_chart_draw(cr, self->doc, "Page hand-offs", RAV_SERIES_HANDOFFS, -1, NULL, 0, x, y, cw, ch, &st);
	y += ch + gap;
	if (self->contention) {
		unsigned nw = rav_contention_window_count(self->contention);
		double *v = g_new0(double, MAX(nw, 1));
		for (unsigned i = 0; i < nw; i++)
			v[i] = (double)rav_contention_window(self->contention, i, NULL, NULL);
		ravscope_chart_draw(cr, self->doc, "Line transfers (contention)", RAV_SERIES_EVENTS, -1, v, nw, x, y, cw, ch, &st);
		g_free(v);
		y += ch + gap;
	}
	rav_trace *t = ravscope_document_get_trace(self->doc);
	for (unsigned i = 0; i < rav_trace_thread_count(t) && i < 16; i++) {
		rav_trace_thread th_entry;
		const rav_trace_thread *th = rav_trace_thread_at(t, i, &th_entry) ? &th_entry : NULL;
		if (!th || th->kind != RAV_HEAP_THREAD || ravscope_document_max_pages(self->doc, th->heap_id) == 0)
			continue;
		g_autofree char *nm = ravscope_document_heap_name(self->doc, th->heap_id);
		g_autofree char *title = g_strdup_printf("Pages of %s", nm);
		ravscope_chart_draw(cr, self->doc, title, RAV_SERIES_PAGES, th->heap_id, NULL, 0, x, y, cw, ch * 0.75, &st);
		y += ch * 0.75 + gap;
	}
	int want = (int)y + 8;
	if (gtk_drawing_area_get_content_height(area) != want)
		gtk_drawing_area_set_content_height(area, want);
}

/* ---- settings ------------------------------------------------------------------------- */

static void apply_style_settings(RavscopeWindow *self)
{
	gboolean large = settings_bool(self, "large-text", FALSE);
	ravscope_heap_view_set_style(self->heap_view, large, settings_bool(self, "show-legend", TRUE),
				     settings_bool(self, "animate", TRUE));
	ravscope_timeline_set_large_text(self->timeline, large);
	if (large)
		gtk_widget_add_css_class(GTK_WIDGET(self), "presentation");
	else
		gtk_widget_remove_css_class(GTK_WIDGET(self), "presentation");
	gtk_widget_queue_draw(GTK_WIDGET(self->charts));
}

static void on_settings_changed(GSettings *s, const char *key, RavscopeWindow *self)
{
	apply_style_settings(self);
}

static void on_speed_changed(GtkDropDown *dd, GParamSpec *pspec, RavscopeWindow *self)
{
	if (self->settings)
		g_settings_set_double(self->settings, "playback-speed", current_speed(self));
}

static void on_notice_close(GtkButton *b, RavscopeWindow *self)
{
	gtk_revealer_set_reveal_child(self->notice_revealer, FALSE);
}

static gboolean on_close_request(GtkWindow *w, gpointer user)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	stop_playing(self);
	if (self->settings) {
		int width, height;
		gtk_window_get_default_size(w, &width, &height);
		g_settings_set_int(self->settings, "window-width", width);
		g_settings_set_int(self->settings, "window-height", height);
		g_settings_set_boolean(self->settings, "window-maximized", gtk_window_is_maximized(w));
	}
	return FALSE;
}

/* ---- class ----------------------------------------------------------------------------- */

static void ravscope_window_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_SHOW_CONTENTION)
		g_value_set_boolean(v, RAVSCOPE_WINDOW(o)->show_contention);
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_window_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	if (id == PROP_SHOW_CONTENTION)
		set_show_contention(RAVSCOPE_WINDOW(o), g_value_get_boolean(v));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_window_dispose(GObject *object)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(object);
	self->disposed = TRUE;
	g_clear_handle_id(&self->refresh_source, g_source_remove);
	if (self->cancellable)
		g_cancellable_cancel(self->cancellable);
	if (self->heap_view)
		set_document(self, NULL);
	g_clear_object(&self->cancellable);
	g_signal_handlers_disconnect_by_data(gtk_recent_manager_get_default(), self);
	if (self->settings)
		g_signal_handlers_disconnect_by_data(self->settings, self);
	g_clear_object(&self->settings);
	g_clear_object(&self->inspector);
	g_clear_object(&self->event_model);
	g_clear_object(&self->event_selection);
	g_clear_object(&self->demo_menu);
	g_clear_object(&self->recent_menu);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_WINDOW);
	G_OBJECT_CLASS(ravscope_window_parent_class)->dispose(object);
}

static void ravscope_window_class_init(RavscopeWindowClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	object_class->dispose = ravscope_window_dispose;
	object_class->get_property = ravscope_window_get_property;
	object_class->set_property = ravscope_window_set_property;
	g_type_ensure(RAVSCOPE_TYPE_HEAP_VIEW);
	g_type_ensure(RAVSCOPE_TYPE_TIMELINE);
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child(wc, RavscopeWindow, name)
	BIND(toast_overlay); BIND(window_title); BIND(demo_button); BIND(sidebar_button); BIND(heat_button);
	BIND(notice_revealer); BIND(notice_label); BIND(notice_close); BIND(stack); BIND(error_page);
	BIND(welcome_demos); BIND(paned); BIND(heap_view); BIND(timeline); BIND(play_button);
	BIND(jump_kind); BIND(speed); BIND(position_label); BIND(event_label); BIND(index_progress); BIND(inspector_box);
	BIND(side_stack); BIND(event_search); BIND(event_kind_filter); BIND(event_thread_filter);
	BIND(event_count_label); BIND(event_list); BIND(contention_box); BIND(charts);
	BIND(demo_submenu); BIND(recent_submenu);
#undef BIND
	gtk_widget_class_install_action(wc, "win.open", NULL, act_open);
	gtk_widget_class_install_action(wc, "win.open-path", "s", act_open_path);
	gtk_widget_class_install_action(wc, "win.play", NULL, act_play);
	gtk_widget_class_install_action(wc, "win.step-forward", NULL, act_step_forward);
	gtk_widget_class_install_action(wc, "win.step-back", NULL, act_step_back);
	gtk_widget_class_install_action(wc, "win.jump-next", NULL, act_jump_next);
	gtk_widget_class_install_action(wc, "win.jump-prev", NULL, act_jump_prev);
	gtk_widget_class_install_action(wc, "win.home", NULL, act_home);
	gtk_widget_class_install_action(wc, "win.end", NULL, act_end);
	gtk_widget_class_install_action(wc, "win.zoom-in", NULL, act_zoom_in);
	gtk_widget_class_install_action(wc, "win.zoom-out", NULL, act_zoom_out);
	gtk_widget_class_install_action(wc, "win.zoom-fit", NULL, act_zoom_fit);
	gtk_widget_class_install_action(wc, "win.find", NULL, act_find);
	gtk_widget_class_install_action(wc, "win.toggle-sidebar", NULL, act_toggle_sidebar);
	window_props[PROP_SHOW_CONTENTION] = g_param_spec_boolean("show-contention", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(object_class, N_WINDOW_PROPS, window_props);
	gtk_widget_class_install_property_action(wc, "win.contention", "show-contention");
	gtk_widget_class_install_action(wc, "win.follow", NULL, act_follow);
	gtk_widget_class_install_action(wc, "win.unselect", NULL, act_escape);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "win.unselect", NULL);
}

static void ravscope_window_init(RavscopeWindow *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->settings = ravscope_settings_new();
	if (self->settings) {
		gtk_window_set_default_size(GTK_WINDOW(self), g_settings_get_int(self->settings, "window-width"),
					    g_settings_get_int(self->settings, "window-height"));
		if (g_settings_get_boolean(self->settings, "window-maximized"))
			gtk_window_maximize(GTK_WINDOW(self));
		g_signal_connect(self->settings, "changed", G_CALLBACK(on_settings_changed), self);
	}
	g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), NULL);
	g_signal_connect(self->notice_close, "clicked", G_CALLBACK(on_notice_close), self);

	/* Menus. */
	self->demo_menu = g_menu_new();
	self->recent_menu = g_menu_new();
	gtk_menu_button_set_menu_model(self->demo_button, G_MENU_MODEL(self->demo_menu));
	g_menu_append_section(self->demo_submenu, NULL, G_MENU_MODEL(self->demo_menu));
	g_menu_append_section(self->recent_submenu, NULL, G_MENU_MODEL(self->recent_menu));
	ravscope_window_refresh_menus(self);
	g_signal_connect(gtk_recent_manager_get_default(), "changed", G_CALLBACK(on_recent_changed), self);

	/* Transport choices. */
	GtkStringList *sp = gtk_string_list_new((const char *const *)speed_names);
	gtk_drop_down_set_model(self->speed, G_LIST_MODEL(sp));
	g_object_unref(sp);
	guint speed_index = 2;
	if (self->settings) {
		double want = g_settings_get_double(self->settings, "playback-speed");
		for (guint i = 0; i < G_N_ELEMENTS(speeds); i++)
			if (fabs(log(speeds[i] / want)) < fabs(log(speeds[speed_index] / want)))
				speed_index = i;
	}
	gtk_drop_down_set_selected(self->speed, speed_index);
	g_signal_connect(self->speed, "notify::selected", G_CALLBACK(on_speed_changed), self);
	GtkStringList *jk = gtk_string_list_new((const char *const *)jump_names);
	gtk_drop_down_set_model(self->jump_kind, G_LIST_MODEL(jk));
	g_object_unref(jk);
	gtk_drop_down_set_selected(self->jump_kind, RAVSCOPE_FAMILY_MOVE);

	/* Inspector. */
	self->inspector = ravscope_inspector_new();
	gtk_box_append(self->inspector_box, ravscope_inspector_get_widget(self->inspector));
	g_signal_connect(self->inspector, "select-cell", G_CALLBACK(on_inspector_select), self);
	g_signal_connect(self->inspector, "seek", G_CALLBACK(on_inspector_seek), self);
	g_signal_connect(self->inspector, "notify::follow", G_CALLBACK(on_inspector_follow), self);
	g_signal_connect(self->heap_view, "cell-selected", G_CALLBACK(on_cell_selected), self);
	g_signal_connect(self->timeline, "seek", G_CALLBACK(on_timeline_seek), self);

	/* Event list. */
	self->event_model = ravscope_event_model_new();
	self->event_selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(self->event_model)));
	gtk_single_selection_set_autoselect(self->event_selection, FALSE);
	gtk_single_selection_set_can_unselect(self->event_selection, TRUE);
	GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
	g_signal_connect(factory, "setup", G_CALLBACK(event_row_setup), self);
	g_signal_connect(factory, "bind", G_CALLBACK(event_row_bind), self);
	gtk_list_view_set_factory(self->event_list, factory);
	g_object_unref(factory);
	gtk_list_view_set_model(self->event_list, GTK_SELECTION_MODEL(self->event_selection));
	g_signal_connect(self->event_list, "activate", G_CALLBACK(on_event_activate), self);
	g_signal_connect(self->event_search, "search-changed", G_CALLBACK(on_search_changed), self);
	g_signal_connect(self->event_kind_filter, "notify::selected", G_CALLBACK(on_filter_changed), self);
	g_signal_connect(self->event_thread_filter, "notify::selected", G_CALLBACK(on_filter_changed), self);
	g_signal_connect(self->event_model, "notify::status", G_CALLBACK(on_model_count), self);
	setup_event_filters(self);

	/* Frequent keys on the trace page's own controller: GtkWindow binds the
	 * arrows to focus movement, and a controller on an ancestor of the
	 * focused widget sees the keys before the window does.  A focused text
	 * entry still gets its keys first (bubble phase). */
	struct { guint key; GdkModifierType mods; const char *action; } keys[] = {
		{ GDK_KEY_space, 0, "win.play" },
		{ GDK_KEY_Right, 0, "win.step-forward" },
		{ GDK_KEY_Left, 0, "win.step-back" },
		{ GDK_KEY_Right, GDK_CONTROL_MASK, "win.jump-next" },
		{ GDK_KEY_Left, GDK_CONTROL_MASK, "win.jump-prev" },
		{ GDK_KEY_Home, 0, "win.home" },
		{ GDK_KEY_End, 0, "win.end" },
		{ GDK_KEY_plus, 0, "win.zoom-in" },
		{ GDK_KEY_plus, GDK_SHIFT_MASK, "win.zoom-in" },
		{ GDK_KEY_equal, 0, "win.zoom-in" },
		{ GDK_KEY_KP_Add, 0, "win.zoom-in" },
		{ GDK_KEY_minus, 0, "win.zoom-out" },
		{ GDK_KEY_KP_Subtract, 0, "win.zoom-out" },
		{ GDK_KEY_0, 0, "win.zoom-fit" },
		{ GDK_KEY_c, 0, "win.contention" },
		{ GDK_KEY_f, 0, "win.follow" },
	};
	GtkEventController *sc = gtk_shortcut_controller_new();
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
		gtk_shortcut_controller_add_shortcut(GTK_SHORTCUT_CONTROLLER(sc),
			gtk_shortcut_new(gtk_keyval_trigger_new(keys[i].key, keys[i].mods), gtk_named_action_new(keys[i].action)));
	gtk_widget_add_controller(GTK_WIDGET(self->paned), sc);

	gtk_drawing_area_set_draw_func(self->charts, draw_charts, self, NULL);
	gtk_drawing_area_set_content_height(self->charts, 600);

	GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
	g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
	gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));

	apply_style_settings(self);
	set_document(self, NULL);
	gtk_stack_set_visible_child_name(self->stack, "welcome");
}

RavscopeWindow *ravscope_window_new(GtkApplication *app)
{
	return g_object_new(RAVSCOPE_TYPE_WINDOW, "application", app, NULL);
}
