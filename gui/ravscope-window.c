/* ravscope-window.c - the main window: assembles the views around one open
 * document.
 *
 * The template (ravscope-window.ui) holds the widgets and the two shared
 * controllers: RavscopePlayback moves the playhead, RavscopeContention
 * computes the cache model.  This file gives them the document, wires
 * what one announces to what another shows (applied events to the heap
 * view's animation, the contention result to the overlay and the
 * timeline), refreshes the side panels at most every ~100 ms while playing
 * so fast playback stays smooth, and runs the document's life: opening,
 * indexing in a GTask with progress, errors and notices.  Actions, keys,
 * opening dialogs and menus are in ravscope-window-actions.c.
 */
#include <math.h>
#include "ravscope-window-private.h"

#include <string.h>

G_DEFINE_FINAL_TYPE(RavscopeWindow, ravscope_window, ADW_TYPE_APPLICATION_WINDOW)

enum { PROP_0, PROP_SHOW_CONTENTION, N_WINDOW_PROPS };
static GParamSpec *window_props[N_WINDOW_PROPS];

void ravscope__window_toast(RavscopeWindow *self, const char *text)
{
	/* a toast's title is markup (libadwaita 1.2): the texts here are plain
	 * (paths, a breakpoint's function, a stream's error), and may hold a
	 * file name's or a trace's bytes that are not UTF-8, which the escape
	 * would pass on and Pango refuse: made valid first */
	g_autofree char *shown = ravscope_display_text(text);
	g_autofree char *e = g_markup_escape_text(shown ? shown : text, -1);
	AdwToast *t = adw_toast_new(e);
	adw_toast_set_timeout(t, 4);
	adw_toast_overlay_add_toast(self->toast_overlay, t);
}

static void on_message(GObject *source, const char *text, RavscopeWindow *self)
{
	ravscope__window_toast(self, text);
}

/* ---- refreshing panels --------------------------------------------------------- */

static gboolean refresh_cb(gpointer user)
{
	RavscopeWindow *self = user;
	self->refresh_source = 0;
	if (!self->doc)
		return G_SOURCE_REMOVE;
	for (guint i = 0; i < self->panels->len; i++)
		ravscope_panel_refresh(g_ptr_array_index(self->panels, i));
	return G_SOURCE_REMOVE;
}

static void schedule_refresh(RavscopeWindow *self)
{
	if (!self->refresh_source && !self->disposed)
		self->refresh_source = g_timeout_add(ravscope_playback_get_playing(self->playback) ? 120 : 15, refresh_cb, self);
}

static void on_position_changed(RavscopeDocument *doc, guint64 pos, gboolean stepped, RavscopeWindow *self)
{
	ravscope__window_live_position_changed(self);
	schedule_refresh(self);
}

/* ---- what the controllers announce ------------------------------------------------ */

static void on_applied(RavscopePlayback *p, gpointer events, guint n, guint duration_ms, RavscopeWindow *self)
{
	ravscope_heap_view_animate(self->heap_view, events, n, duration_ms);
}

static void on_jumped(RavscopePlayback *p, guint64 from, guint64 to, RavscopeWindow *self)
{
	ravscope_heap_view_follow_seek(self->heap_view, from, to);
}

static void on_playing(RavscopePlayback *p, GParamSpec *pspec, RavscopeWindow *self)
{
	gboolean playing = ravscope_playback_get_playing(p);
	ravscope_heap_view_set_playing(self->heap_view, playing);
	ravscope_contention_set_playing(self->contention, playing);
	if (!playing)
		schedule_refresh(self);
}

static void on_contention_changed(RavscopeContention *c, RavscopeWindow *self)
{
	rav_contention *result = ravscope_contention_get_result(c);
	guint64 from, to;
	ravscope_contention_get_range(c, &from, &to);
	ravscope_heap_view_set_contention(self->heap_view, ravscope_contention_get_active(c) ? result : NULL,
					  ravscope_contention_get_line_size(c), from, to);
	ravscope_contention_get_highlight(c, &from, &to);
	ravscope_timeline_set_window(self->timeline, from, to);
}

static void on_contention_active(RavscopeContention *c, GParamSpec *pspec, RavscopeWindow *self)
{
	g_object_notify_by_pspec(G_OBJECT(self), window_props[PROP_SHOW_CONTENTION]);
}

/* Computing for the first time: show where the progress is.  Not in a
 * lesson, which folds the side panel away for the heap and the narration
 * (lesson 9's contention step opened it over both at 900 x 600). */
static void on_contention_running(RavscopeContention *c, GParamSpec *pspec, RavscopeWindow *self)
{
	if (ravscope_contention_is_running(c) && !ravscope_contention_get_result(c) &&
	    !gtk_revealer_get_reveal_child(self->narration_revealer))
		ravscope__window_show_panel(self, "contention");
}

static void on_cell_selected(RavscopeHeapView *hv, guint64 loc, RavscopeWindow *self)
{
	for (guint i = 0; i < self->panels->len; i++)
		ravscope_panel_select_cell(g_ptr_array_index(self->panels, i), (rav_loc)loc);
	/* A click shows the cell; the Graph keeps showing when it is up, so
	 * clicking boxes walks a structure. */
	if (loc && gtk_toggle_button_get_active(self->sidebar_button) &&
	    g_strcmp0(adw_view_stack_get_visible_child_name(self->side_stack), "graph") != 0)
		adw_view_stack_set_visible_child_name(self->side_stack, "inspector");
}

static void on_highlight_changed(RavscopeSiteHighlight *h, RavscopeWindow *self)
{
	ravscope_heap_view_set_highlight(self->heap_view, ravscope_site_highlight_get_cells(h),
					 ravscope_site_highlight_get_label(h));
}

static void on_timeline_seek(RavscopeTimeline *tl, guint64 event, RavscopeWindow *self)
{
	ravscope_playback_stop(self->playback);
	ravscope_playback_seek(self->playback, event);
}

/* ---- the document's life ------------------------------------------------------------ */

void ravscope__window_show_error(RavscopeWindow *self, const char *title, const char *message)
{
	adw_status_page_set_title(self->error_page, title);
	/* the description is markup; the message is plain (it names the file) */
	g_autofree char *e = g_markup_escape_text(message, -1);
	adw_status_page_set_description(self->error_page, e);
	g_free(self->error_text);
	self->error_text = g_strdup(message);
	gtk_stack_set_visible_child_name(self->stack, "error");
	adw_window_title_set_subtitle(self->window_title, "");
}

static void show_notice(RavscopeWindow *self, const char *text)
{
	self->notice_is_settings = FALSE;
	gtk_label_set_text(self->notice_label, text);
	gtk_revealer_set_reveal_child(self->notice_revealer, text != NULL);
}

static void on_notice_close(GtkButton *b, RavscopeWindow *self)
{
	gtk_revealer_set_reveal_child(self->notice_revealer, FALSE);
}

static void on_index_progress(RavscopeDocument *doc, GParamSpec *pspec, RavscopeWindow *self)
{
	if (!self->playhead_actions_enabled && ravscope_document_get_event_count(doc) > 0)
		ravscope__window_update_actions(self);
	gtk_widget_queue_draw(GTK_WIDGET(self->heap_view));
}

/* ravscope --event/--select/--panel: TRUE if it moved the playhead. */
static gboolean apply_start(RavscopeWindow *self)
{
	gboolean moved = FALSE;
	if (self->start_event >= 0) {
		guint64 n = ravscope_document_get_event_count(self->doc);
		ravscope_document_seek(self->doc, MIN((guint64)self->start_event, n), NULL);
		ravscope_heap_view_zoom_fit(self->heap_view);
		moved = TRUE;
	}
	if (self->start_select) {
		ravscope_heap_view_set_selected(self->heap_view, self->start_select);
		ravscope_heap_view_focus_cell(self->heap_view, self->start_select);
	}
	if (self->start_panel)
		ravscope__window_show_panel(self, self->start_panel);
	if (self->start_break) {
		ravscope__window_show_panel(self, "breakpoints");
		g_autofree char *error = NULL;
		if (ravscope_breakpoints_panel_add_site(self->breakpoints_panel, self->start_break, 0, &error)) {
			ravscope_playback_seek(self->playback, 0);
			moved = ravscope_breakpoints_panel_run(self->breakpoints_panel, TRUE);
		} else {
			g_autofree char *msg = g_strdup_printf("--break=%s: %s", self->start_break, error);
			show_notice(self, msg);
		}
		g_clear_pointer(&self->start_break, g_free);
	}
	self->start_event = -1;
	self->start_select = RAV_LOC_NONE;
	g_clear_pointer(&self->start_panel, g_free);
	return moved;
}

void ravscope_window_set_start_break(RavscopeWindow *self, const char *spec)
{
	g_free(self->start_break);
	self->start_break = g_strdup(spec);
}

/* Every side panel a trace has (Output only comes with a program ravscope
 * runs): the title on its tab, the name in the side stack.  --panel took
 * five of the stack's names only, so "--panel=breaks" (or errors, graph,
 * explain, or Cell and Lines as the tabs say) was refused. */
static const struct {
	const char *tab, *name;
} side_panels[] = {
	{"cell", "inspector"}, {"graph", "graph"},   {"events", "events"},      {"sites", "sites"},
	{"explain", "explain"}, {"lines", "contention"}, {"charts", "charts"}, {"breaks", "breakpoints"},
	{"errors", "errors"},
};

const char *ravscope_window_panel_name(const char *name)
{
	for (guint i = 0; name && i < G_N_ELEMENTS(side_panels); i++)
		if (!g_ascii_strcasecmp(name, side_panels[i].tab) || !g_ascii_strcasecmp(name, side_panels[i].name))
			return side_panels[i].name;
	return NULL;
}

const char *ravscope_window_panel_names(void)
{
	return "cell, graph, events, sites, explain, lines, charts, breaks, errors";
}

void ravscope_window_set_start(RavscopeWindow *self, gint64 event, rav_loc select, const char *panel)
{
	self->start_event = event;
	self->start_select = select;
	g_free(self->start_panel);
	self->start_panel = g_strdup(panel);
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
	ravscope_transport_bar_set_indexing(self->transport_bar, FALSE);
	if (!ok) {
		if (!g_error_matches(error, RAVSCOPE_ERROR, RAV_TRACE_ECANCELLED)) {
			/* The indexed prefix stays usable: say what happened. */
			g_autofree char *msg = g_strdup_printf("Indexing stopped: %s. The first %" G_GUINT64_FORMAT
							       " events can be viewed.", error->message,
							       ravscope_document_get_event_count(doc));
			show_notice(self, msg);
		}
		g_error_free(error);
		ravscope__window_update_actions(self);
		g_object_unref(self);
		return;
	}
	ravscope_timeline_refresh(self->timeline);
	if (apply_start(self)) {
		/* the command line said where to look */
	} else if (!ravscope__window_teach_indexed(self) && !ravscope_playback_get_user_moved(self->playback)) {
		/* Where it opens, said in the status line until the playhead
		 * moves: a toast here would cover the timeline for seconds. */
		guint64 at;
		g_autofree char *why = ravscope_document_opening(doc, &at);
		ravscope_document_seek(doc, at, NULL);
		ravscope_heap_view_zoom_fit(self->heap_view);
		ravscope_transport_bar_set_hint(self->transport_bar, why);
	}
	ravscope__window_update_actions(self);
	schedule_refresh(self);
	g_object_unref(self);
}

static void set_document(RavscopeWindow *self, RavscopeDocument *doc)
{
	ravscope_playback_stop(self->playback);
	if (self->cancellable) {
		g_cancellable_cancel(self->cancellable);
		g_clear_object(&self->cancellable);
	}
	if (self->doc) {
		g_signal_handlers_disconnect_by_data(self->doc, self);
		g_clear_object(&self->doc);
	}
	if (doc) {
		self->doc = g_object_ref(doc);
		g_signal_connect(doc, "position-changed", G_CALLBACK(on_position_changed), self);
		g_signal_connect(doc, "notify::index-progress", G_CALLBACK(on_index_progress), self);
	}
	ravscope__window_update_actions(self);
	ravscope__window_teach_document_changed(self);
	gtk_widget_set_sensitive(GTK_WIDGET(self->sidebar_button), doc != NULL);
	ravscope_playback_set_document(self->playback, doc);
	ravscope_contention_set_document(self->contention, doc);
	ravscope_heap_view_set_document(self->heap_view, doc);
	if (self->highlight)
		ravscope_site_highlight_set_document(self->highlight, doc);
	ravscope_timeline_set_document(self->timeline, doc);
	ravscope_transport_bar_set_document(self->transport_bar, doc);
	for (guint i = 0; i < self->panels->len; i++)
		ravscope_panel_set_document(g_ptr_array_index(self->panels, i), doc);
	schedule_refresh(self);
}

void ravscope__window_set_live_document(RavscopeWindow *self, RavscopeDocument *doc, const char *command)
{
	show_notice(self, NULL);
	set_document(self, doc);
	g_autofree char *title = g_strdup_printf("%s (live)", command);
	gtk_window_set_title(GTK_WINDOW(self), title);
	adw_window_title_set_title(self->window_title, command);
	adw_window_title_set_subtitle(self->window_title, "attached: live heap");
	gtk_stack_set_visible_child_name(self->stack, "trace");
	ravscope_heap_view_zoom_fit(self->heap_view);
	gtk_widget_grab_focus(GTK_WIDGET(self->heap_view));
}

void ravscope_window_open(RavscopeWindow *self, GFile *file)
{
	g_autofree char *path = g_file_get_path(file);
	ravscope__window_live_stop(self);
	g_autofree char *name = g_file_get_basename(file);
	/* The last trace's notice goes; one about the settings stays. */
	if (gtk_revealer_get_reveal_child(self->notice_revealer) && !self->notice_is_settings)
		show_notice(self, NULL);
	if (!path) {
		ravscope__window_show_error(self, "This Trace Cannot Be Opened", "Only local files can be opened.");
		return;
	}
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(path, &error);
	if (!doc) {
		set_document(self, NULL);
		g_autofree char *title = g_strdup_printf("%s Cannot Be Opened", name);
		ravscope__window_show_error(self, title, error->message);
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
	ravscope_transport_bar_set_indexing(self->transport_bar, TRUE);
	self->cancellable = g_cancellable_new();
	ravscope_document_index_async(doc, self->cancellable, index_done, g_object_ref(self));
	gtk_widget_grab_focus(GTK_WIDGET(self->heap_view));
	/* Recent files: the desktop's list, so file choosers show it too. */
	g_autofree char *uri = g_file_get_uri(file);
	GtkRecentData rd = { .display_name = name, .mime_type = (char *)"application/x-ravtrace",
			     .app_name = (char *)"ravscope", .app_exec = (char *)"ravscope %f" };
	gtk_recent_manager_add_full(gtk_recent_manager_get_default(), uri, &rd);
	g_object_unref(doc);
}

/* ---- for tests and scripting ----------------------------------------------------------- */

RavscopeDocument *ravscope_window_get_document(RavscopeWindow *self) { return self->doc; }
GtkWindow *ravscope_window_get_export_dialog(RavscopeWindow *self) { return GTK_WINDOW(self->export_dialog); }
const char *ravscope_window_get_page(RavscopeWindow *self) { return gtk_stack_get_visible_child_name(self->stack); }
const char *ravscope_window_get_error_text(RavscopeWindow *self) { return self->error_text; }
GtkWidget *ravscope_window_get_heap_view(RavscopeWindow *self) { return GTK_WIDGET(self->heap_view); }
GtkWidget *ravscope_window_get_sites_panel(RavscopeWindow *self) { return GTK_WIDGET(self->sites_panel); }

gint64 ravscope_window_get_highlighted_cells(RavscopeWindow *self)
{
	const rav_site_cells *c = self->highlight ? ravscope_site_highlight_get_cells(self->highlight) : NULL;
	return c ? (gint64)rav_site_cells_list(c, NULL, 0) : -1;
}
gboolean ravscope_window_is_playing(RavscopeWindow *self) { return ravscope_playback_get_playing(self->playback); }
void ravscope_window_seek(RavscopeWindow *self, guint64 event) { ravscope_playback_seek(self->playback, event); }

void ravscope_window_select_cell(RavscopeWindow *self, rav_loc cell)
{
	ravscope_heap_view_set_selected(self->heap_view, cell);
}

char *ravscope_window_dup_inspector_text(RavscopeWindow *self)
{
	return ravscope_inspector_dup_text(self->inspector);
}

/* ---- settings ------------------------------------------------------------------------- */

static gboolean settings_bool(RavscopeWindow *self, const char *key, gboolean dflt)
{
	return self->settings ? g_settings_get_boolean(self->settings, key) : dflt;
}

static void on_side_page_changed(GObject *o, GParamSpec *pspec, RavscopeWindow *self);

static void apply_style_settings(RavscopeWindow *self)
{
	gboolean large = settings_bool(self, "large-text", FALSE);
	ravscope_heap_view_set_style(self->heap_view, large, settings_bool(self, "show-legend", TRUE),
				     settings_bool(self, "animate", TRUE));
	ravscope_heap_view_set_show_empty_threads(self->heap_view, settings_bool(self, "show-empty-threads", FALSE));
	ravscope_timeline_set_large_text(self->timeline, large);
	ravscope_charts_panel_set_large_text(self->charts_panel, large);
	ravscope_graph_panel_set_large_text(self->graph_panel, large);
	if (large)
		gtk_widget_add_css_class(GTK_WIDGET(self), "presentation");
	else
		gtk_widget_remove_css_class(GTK_WIDGET(self), "presentation");
	on_side_page_changed(NULL, NULL, self); /* the tabs' width changed */
}

static void on_settings_changed(GSettings *s, const char *key, RavscopeWindow *self)
{
	apply_style_settings(self);
}

static gboolean on_close_request(GtkWindow *w, gpointer user)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope_playback_stop(self->playback);
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

/* "show-contention" backs the win.contention toggle (the header button).
 * The action asks for it while the template is still being built, before
 * the contention model is bound. */
static void ravscope_window_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(o);
	if (id == PROP_SHOW_CONTENTION)
		g_value_set_boolean(v, self->contention && ravscope_contention_get_active(self->contention));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_window_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(o);
	if (id == PROP_SHOW_CONTENTION && self->contention)
		ravscope_contention_set_active(self->contention, g_value_get_boolean(v));
	else if (id != PROP_SHOW_CONTENTION)
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_window_dispose(GObject *object)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(object);
	self->disposed = TRUE;
	g_clear_handle_id(&self->refresh_source, g_source_remove);
	if (self->flap_fold_tick && self->flap)
		gtk_widget_remove_tick_callback(GTK_WIDGET(self->flap), self->flap_fold_tick);
	self->flap_fold_tick = 0;
	if (self->flap_reveal_tick && self->flap)
		gtk_widget_remove_tick_callback(GTK_WIDGET(self->flap), self->flap_reveal_tick);
	self->flap_reveal_tick = 0;
	/* Detaching leaves the program running; closing the socket releases
	 * it if it was paused. */
	if (self->heap_view)
		ravscope__window_live_stop(self);
	if (self->cancellable)
		g_cancellable_cancel(self->cancellable);
	if (self->heap_view)
		set_document(self, NULL);
	g_clear_object(&self->cancellable);
	g_signal_handlers_disconnect_by_data(gtk_recent_manager_get_default(), self);
	if (self->settings)
		g_signal_handlers_disconnect_by_data(self->settings, self);
	if (self->playback) {
		g_signal_handlers_disconnect_by_data(self->playback, self);
		ravscope_playback_set_ticker(self->playback, NULL);
	}
	if (self->contention)
		g_signal_handlers_disconnect_by_data(self->contention, self);
	if (self->export_dialog)
		gtk_window_destroy(GTK_WINDOW(self->export_dialog));
	if (self->highlight) {
		g_signal_handlers_disconnect_by_data(self->highlight, self);
		g_clear_object(&self->highlight);
	}
	g_clear_pointer(&self->start_panel, g_free);
	g_clear_pointer(&self->start_break, g_free);
	g_clear_pointer(&self->error_text, g_free);
	ravscope__window_teach_dispose(self);
	g_clear_object(&self->settings);
	g_clear_object(&self->demo_menu);
	g_clear_object(&self->recent_menu);
	g_clear_pointer(&self->panels, g_ptr_array_unref);
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
	g_type_ensure(RAVSCOPE_TYPE_TRANSPORT_BAR);
	g_type_ensure(RAVSCOPE_TYPE_PLAYBACK);
	g_type_ensure(RAVSCOPE_TYPE_CONTENTION);
	g_type_ensure(RAVSCOPE_TYPE_INSPECTOR);
	g_type_ensure(RAVSCOPE_TYPE_EVENTS_PANEL);
	g_type_ensure(RAVSCOPE_TYPE_CONTENTION_PANEL);
	g_type_ensure(RAVSCOPE_TYPE_CHARTS_PANEL);
	g_type_ensure(RAVSCOPE_TYPE_GRAPH_PANEL);
	g_type_ensure(RAVSCOPE_TYPE_SITES_PANEL);
	g_type_ensure(RAVSCOPE_TYPE_EXPLAIN_PANEL);
	g_type_ensure(RAVSCOPE_TYPE_NARRATION);
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-window.ui");
#define BIND(name) gtk_widget_class_bind_template_child(wc, RavscopeWindow, name)
	BIND(toast_overlay); BIND(window_title); BIND(demo_button); BIND(sidebar_button);
	BIND(notice_revealer); BIND(notice_label); BIND(stack); BIND(error_page);
	BIND(welcome_demos); BIND(flap); BIND(heap_column); BIND(heap_view); BIND(transport_bar); BIND(timeline);
	BIND(side_stack); BIND(inspector); BIND(events_panel); BIND(charts_panel); BIND(graph_panel); BIND(sites_panel);
	BIND(playback); BIND(contention); BIND(demo_submenu); BIND(recent_submenu); BIND(header_bar);
	BIND(lesson_button); BIND(narration_revealer); BIND(narration);
	BIND(switcher_scroll); BIND(side_switcher);
#undef BIND
	gtk_widget_class_bind_template_callback(wc, on_notice_close);
	window_props[PROP_SHOW_CONTENTION] = g_param_spec_boolean("show-contention", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(object_class, N_WINDOW_PROPS, window_props);
	ravscope__window_class_add_actions(wc);
	ravscope__window_live_class_init(wc);
	ravscope__window_teach_class_init(wc);
}

/* Panels made here rather than in the template: errors, breakpoints, and
 * the output of a program started by ravscope (shown only then). */
static void on_errors_count(GObject *o, GParamSpec *pspec, RavscopeWindow *self)
{
	guint n = ravscope_errors_panel_get_count(self->errors_panel);
	adw_view_stack_page_set_badge_number(self->errors_page, n);
	adw_view_stack_page_set_needs_attention(self->errors_page, n > 0);
	g_autofree char *label = g_strdup_printf("%u error%s", n, n == 1 ? "" : "s");
	gtk_widget_set_visible(GTK_WIDGET(self->header_errors), n > 0);
	gtk_button_set_label(self->header_errors, label);
}

/* A flap that folds hides its panel; one that unfolds shows it (what an
 * unlocked AdwFlap does itself), but the first fold keeps a panel asked for
 * before it open (over the heap, as the sidebar button opens it; see
 * ravscope__window_show_panel).  Then the flap is unlocked: it does so
 * itself from there on. */
static void apply_first_fold(RavscopeWindow *self)
{
	gboolean folded = adw_flap_get_folded(self->flap);
	adw_flap_set_reveal_flap(self->flap, !folded || self->panel_through_fold);
	adw_flap_set_locked(self->flap, FALSE);
	self->panel_through_fold = FALSE;
}

static gboolean first_fold_tick(GtkWidget *flap, GdkFrameClock *clock, gpointer data)
{
	RavscopeWindow *self = data;
	(void)clock;
	if (adw_swipeable_get_distance(ADW_SWIPEABLE(flap)) <= 0)
		return G_SOURCE_CONTINUE;
	self->flap_fold_tick = 0;
	apply_first_fold(self);
	return G_SOURCE_REMOVE;
}

/* AdwFlap (1.2) starts a reveal animation at a velocity of 0 / distance, the
 * distance being its flap's width at its last layout: 0 before its first.
 * Unlocked, a flap that folds at its first layout (a window narrower than
 * both columns) starts hiding its panel at 0 / 0 = NaN; when the
 * animation's first frame comes in the same millisecond (a loaded
 * machine), its reveal progress is NaN for that frame and the heap column
 * is allocated -2147483648 px wide (a Gtk-WARNING; fatal in the tests:
 * CI's SIGTRAP in gui teach).  So the flap starts locked (it keeps its
 * reveal as it folds), and the first fold is applied once the flap has a
 * width: at once if it has, else at the next frame (its layout is under
 * way now). */
static void on_flap_folded(AdwFlap *flap, GParamSpec *pspec, RavscopeWindow *self)
{
	(void)pspec;
	if (!adw_flap_get_locked(flap)) {
		self->panel_through_fold = FALSE;
		return;
	}
	if (adw_swipeable_get_distance(ADW_SWIPEABLE(flap)) > 0)
		apply_first_fold(self);
	else if (!self->flap_fold_tick)
		self->flap_fold_tick = gtk_widget_add_tick_callback(GTK_WIDGET(flap), first_fold_tick, self, NULL);
}

/* The sidebar button drives the flap's reveal, and the flap (dismissed by
 * a click outside or Escape, or hidden as it folds) the button.  Not a
 * property binding: a reveal change while the flap is shown but has no
 * width yet (a lesson started, the panel hidden, in a window not laid out)
 * would start AdwFlap's animation at 0 / 0 (on_flap_folded), so such a
 * change waits for the frame after the flap's first layout. */
static void apply_sidebar_button(RavscopeWindow *self)
{
	gboolean want = gtk_toggle_button_get_active(self->sidebar_button);
	if (adw_flap_get_reveal_flap(self->flap) != want)
		adw_flap_set_reveal_flap(self->flap, want);
}

static gboolean flap_reveal_tick(GtkWidget *flap, GdkFrameClock *clock, gpointer data)
{
	RavscopeWindow *self = data;
	(void)clock;
	if (adw_swipeable_get_distance(ADW_SWIPEABLE(flap)) <= 0)
		return G_SOURCE_CONTINUE;
	self->flap_reveal_tick = 0;
	apply_sidebar_button(self);
	return G_SOURCE_REMOVE;
}

static void on_sidebar_toggled(GtkToggleButton *button, RavscopeWindow *self)
{
	(void)button;
	if (gtk_widget_get_mapped(GTK_WIDGET(self->flap)) && adw_swipeable_get_distance(ADW_SWIPEABLE(self->flap)) <= 0) {
		if (!self->flap_reveal_tick)
			self->flap_reveal_tick =
				gtk_widget_add_tick_callback(GTK_WIDGET(self->flap), flap_reveal_tick, self, NULL);
		return;
	}
	apply_sidebar_button(self);
}

static void on_flap_reveal(AdwFlap *flap, GParamSpec *pspec, RavscopeWindow *self)
{
	(void)pspec;
	gboolean shown = adw_flap_get_reveal_flap(flap);
	if (gtk_toggle_button_get_active(self->sidebar_button) != shown)
		gtk_toggle_button_set_active(self->sidebar_button, shown);
}

static void add_code_panels(RavscopeWindow *self)
{
	self->breakpoints_panel = g_object_new(RAVSCOPE_TYPE_BREAKPOINTS_PANEL, NULL);
	AdwViewStackPage *bp = adw_view_stack_add_titled(self->side_stack, GTK_WIDGET(self->breakpoints_panel),
							 "breakpoints", "Breaks");
	adw_view_stack_page_set_icon_name(bp, "media-record-symbolic");
	self->errors_panel = g_object_new(RAVSCOPE_TYPE_ERRORS_PANEL, NULL);
	self->errors_page = adw_view_stack_add_titled(self->side_stack, GTK_WIDGET(self->errors_panel), "errors",
						      "Errors");
	adw_view_stack_page_set_icon_name(self->errors_page, "dialog-warning-symbolic");
	g_signal_connect(self->errors_panel, "notify::count", G_CALLBACK(on_errors_count), self);
	GtkWidget *scroll = gtk_scrolled_window_new();
	self->output_view = GTK_TEXT_VIEW(gtk_text_view_new());
	gtk_text_view_set_editable(self->output_view, FALSE);
	gtk_text_view_set_monospace(self->output_view, TRUE);
	gtk_text_view_set_wrap_mode(self->output_view, GTK_WRAP_WORD_CHAR);
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), GTK_WIDGET(self->output_view));
	self->output_page = adw_view_stack_add_titled(self->side_stack, scroll, "output", "Output");
	adw_view_stack_page_set_icon_name(self->output_page, "utilities-terminal-symbolic");
	adw_view_stack_page_set_visible(self->output_page, FALSE);
	g_signal_connect(self->output_page, "notify::visible", G_CALLBACK(on_side_page_changed), self);
	/* the header's error badge */
	self->header_errors = GTK_BUTTON(gtk_button_new_with_label(""));
	gtk_widget_add_css_class(GTK_WIDGET(self->header_errors), "error-badge");
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->header_errors), "Engine errors in this trace: show them");
	gtk_actionable_set_action_name(GTK_ACTIONABLE(self->header_errors), "win.show-errors");
	gtk_widget_set_visible(GTK_WIDGET(self->header_errors), FALSE);
	adw_header_bar_pack_end(self->header_bar, GTK_WIDGET(self->header_errors));
}

/* The current page's tab, found among the switcher's toggle buttons. */
static GtkWidget *active_tab(GtkWidget *w)
{
	if (GTK_IS_TOGGLE_BUTTON(w) && gtk_widget_get_visible(w) && gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(w)))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		GtkWidget *found = active_tab(c);
		if (found)
			return found;
	}
	return NULL;
}

/* The visible tabs of the switcher and the widest natural label among them. */
static void count_tabs(GtkWidget *w, int *label_w, int *tabs)
{
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		/* child-visible: a tab holds a wide and a narrow form in a stack */
		if (!gtk_widget_get_visible(c) || !gtk_widget_get_child_visible(c))
			continue;
		if (GTK_IS_TOGGLE_BUTTON(c))
			(*tabs)++;
		if (GTK_IS_LABEL(c)) {
			int nat;
			gtk_widget_measure(c, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
			*label_w = MAX(*label_w, nat);
		}
		count_tabs(c, label_w, tabs);
	}
}

/* The side panel's width: the template's minimum, and the most it takes to
 * show every tab whole (the heap column keeps its 600 px beside it in a
 * window 1100 px wide; narrower windows fold the panel over the heap). */
#define SIDE_PANEL_MIN 360
#define SIDE_PANEL_MAX 500

/* The switcher scrolls: a page chosen by an action (Show Errors, a
 * breakpoint hit, a shortcut) brings its tab into view.  Done when idle, after
 * the switcher has marked the new tab. */
static gboolean scroll_tab_into_view(gpointer data)
{
	RavscopeWindow *self = data;
	/* A scrolled window gives its child only the child's minimum width,
	 * and the switcher's tabs would ellipsize down to it ("Eve…") before
	 * scrolling, while its natural width (about 100 px a tab) would show
	 * only three.  Ask for equal tabs just wide enough for the longest
	 * label, measured again as pages come and go (Output) and text grows
	 * (presentation mode). */
	int label_w = 0, tabs = 0;
	count_tabs(self->side_switcher, &label_w, &tabs);
	int strip = tabs * (label_w + 4);
	gtk_widget_set_size_request(self->side_switcher, strip, -1);
	/* The panel takes the strip's width (the template's 360 px cut the
	 * last of nine tabs in half at the edge, which reads as a broken tab,
	 * not as "scroll for more"), up to SIDE_PANEL_MAX; only wider strips
	 * (presentation mode's larger text) scroll. */
	GtkWidget *panel = gtk_widget_get_parent(GTK_WIDGET(self->switcher_scroll));
	gtk_widget_set_size_request(panel, CLAMP(strip, SIDE_PANEL_MIN, SIDE_PANEL_MAX), -1);
	GtkWidget *tab = active_tab(self->side_switcher);
	graphene_rect_t b;
	if (tab && gtk_widget_compute_bounds(tab, self->side_switcher, &b)) {
		GtkAdjustment *adj = gtk_scrolled_window_get_hadjustment(self->switcher_scroll);
		/* whole pixels, so the tabs are not drawn at a fractional offset */
		gtk_adjustment_clamp_page(adj, floor(b.origin.x), ceil(b.origin.x + b.size.width));
	}
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

static void on_side_page_changed(GObject *o, GParamSpec *pspec, RavscopeWindow *self)
{
	g_idle_add(scroll_tab_into_view, g_object_ref(self));
}

static void on_switcher_mapped(GtkWidget *w, RavscopeWindow *self)
{
	on_side_page_changed(NULL, NULL, self);
}

RavscopeBreakpointsPanel *ravscope_window_get_breakpoints_panel(RavscopeWindow *self) { return self->breakpoints_panel; }
guint ravscope_window_get_error_count(RavscopeWindow *self) { return ravscope_errors_panel_get_count(self->errors_panel); }

/* The side panels are the pages of the side stack that are RavscopePanels. */
static void find_panels(RavscopeWindow *self)
{
	self->panels = g_ptr_array_new();
	GtkSelectionModel *pages = adw_view_stack_get_pages(self->side_stack);
	for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(pages)); i++) {
		AdwViewStackPage *page = g_list_model_get_item(G_LIST_MODEL(pages), i);
		GtkWidget *child = adw_view_stack_page_get_child(page);
		if (RAVSCOPE_IS_PANEL(child))
			g_ptr_array_add(self->panels, child);
		g_object_unref(page);
	}
	g_object_unref(pages);
}

/* The tab icons and style.css ship in the resource.  AdwApplication adds
 * its resource path to the icon theme and loads style.css; a window made
 * without one (the GUI tests) does both itself, once per display. */
static void add_resources(GtkWidget *w)
{
	GdkDisplay *display = gtk_widget_get_display(w);
	if (!g_object_get_data(G_OBJECT(display), "ravscope-style") &&
	    !ADW_IS_APPLICATION(g_application_get_default())) {
		GtkCssProvider *css = gtk_css_provider_new();
		gtk_css_provider_load_from_resource(css, "/org/ravscope/Ravscope/style.css");
		gtk_style_context_add_provider_for_display(display, GTK_STYLE_PROVIDER(css),
							   GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
		g_object_set_data_full(G_OBJECT(display), "ravscope-style", css, g_object_unref);
	}
	GtkIconTheme *theme = gtk_icon_theme_get_for_display(gtk_widget_get_display(w));
	const char *path = "/org/ravscope/Ravscope/icons";
	g_auto(GStrv) have = gtk_icon_theme_get_resource_path(theme);
	if (!have || !g_strv_contains((const char *const *)have, path))
		gtk_icon_theme_add_resource_path(theme, path);
}

static void ravscope_window_init(RavscopeWindow *self)
{
	add_resources(GTK_WIDGET(self));
	gtk_widget_init_template(GTK_WIDGET(self));
	add_code_panels(self);
	g_signal_connect(self->flap, "notify::folded", G_CALLBACK(on_flap_folded), self);
	adw_flap_set_reveal_flap(self->flap, gtk_toggle_button_get_active(self->sidebar_button));
	g_signal_connect(self->sidebar_button, "toggled", G_CALLBACK(on_sidebar_toggled), self);
	g_signal_connect(self->flap, "notify::reveal-flap", G_CALLBACK(on_flap_reveal), self);
	find_panels(self);
	g_signal_connect(self->side_stack, "notify::visible-child", G_CALLBACK(on_side_page_changed), self);
	g_signal_connect(self->side_switcher, "map", G_CALLBACK(on_switcher_mapped), self);
	ravscope__window_live_build(self);
	ravscope__window_live_debug_init(self);
	self->settings = ravscope_settings_new();
	if (self->settings) {
		gtk_window_set_default_size(GTK_WINDOW(self), g_settings_get_int(self->settings, "window-width"),
					    g_settings_get_int(self->settings, "window-height"));
		if (g_settings_get_boolean(self->settings, "window-maximized"))
			gtk_window_maximize(GTK_WINDOW(self));
		g_signal_connect(self->settings, "changed", G_CALLBACK(on_settings_changed), self);
		g_settings_bind(self->settings, "playback-speed", self->playback, "speed", G_SETTINGS_BIND_DEFAULT);
		g_settings_bind(self->settings, "animate", self->playback, "animate", G_SETTINGS_BIND_GET);
	}
	g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), NULL);

	ravscope_playback_set_ticker(self->playback, GTK_WIDGET(self));
	g_signal_connect(self->playback, "applied", G_CALLBACK(on_applied), self);
	g_signal_connect(self->playback, "jumped", G_CALLBACK(on_jumped), self);
	g_signal_connect(self->playback, "message", G_CALLBACK(on_message), self);
	g_signal_connect(self->playback, "notify::playing", G_CALLBACK(on_playing), self);
	ravscope_contention_set_settings(self->contention, self->settings);
	g_signal_connect(self->contention, "changed", G_CALLBACK(on_contention_changed), self);
	g_signal_connect(self->contention, "message", G_CALLBACK(on_message), self);
	g_signal_connect(self->contention, "notify::active", G_CALLBACK(on_contention_active), self);
	g_signal_connect(self->contention, "notify::running", G_CALLBACK(on_contention_running), self);
	g_signal_connect(self->heap_view, "cell-selected", G_CALLBACK(on_cell_selected), self);
	self->highlight = ravscope_site_highlight_new();
	g_signal_connect(self->highlight, "changed", G_CALLBACK(on_highlight_changed), self);
	self->start_event = -1;
	g_signal_connect(self->timeline, "seek", G_CALLBACK(on_timeline_seek), self);

	ravscope__window_init_actions(self);
	ravscope__window_teach_init(self);
	apply_style_settings(self);
	/* Said once per run, by the first window, in the notice strip (a toast
	 * would cover the timeline). */
	static gboolean told;
	if (!told && ravscope_settings_notice()) {
		told = TRUE;
		show_notice(self, ravscope_settings_notice());
		self->notice_is_settings = TRUE;
	}
	set_document(self, NULL);
	gtk_stack_set_visible_child_name(self->stack, "welcome");
}

RavscopeWindow *ravscope_window_new(GtkApplication *app)
{
	return g_object_new(RAVSCOPE_TYPE_WINDOW, "application", app, NULL);
}
