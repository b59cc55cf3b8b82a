/* ravscope-window-actions.c - what the window can be asked to do.
 *
 * Every command is a "win." action, so buttons (named in the templates),
 * menus, keyboard shortcuts and panels reach it the same way; panels use
 * win.select-cell and win.seek-event rather than calling the window.  Also
 * here: the frequent keys of the trace page, opening files (dialog, drop,
 * demos, recent files) and the demo and recent menus.
 */
#include "ravscope-window-private.h"

#include "ravscope-application.h"

/* Trace actions only make sense with a trace, and those that move the
 * playhead only with events to move over. */
static const char *const trace_actions[] = {
	"win.zoom-in", "win.zoom-out", "win.zoom-fit", "win.find", "win.contention", "win.follow",
	"win.toggle-sidebar", "win.select-cell", "win.export", "win.highlight-sites", "win.show-site-events",
	"win.break-at-site",
};
static const char *const playhead_actions[] = {
	"win.play", "win.step-forward", "win.step-back", "win.jump-next", "win.jump-prev", "win.home", "win.end",
	"win.seek-event", "win.step-op-forward", "win.step-op-back",
};

void ravscope__window_update_actions(RavscopeWindow *self)
{
	gboolean have = self->doc != NULL;
	gboolean events = have && ravscope_document_get_event_count(self->doc) > 0;
	for (guint i = 0; i < G_N_ELEMENTS(trace_actions); i++)
		gtk_widget_action_set_enabled(GTK_WIDGET(self), trace_actions[i], have);
	for (guint i = 0; i < G_N_ELEMENTS(playhead_actions); i++)
		gtk_widget_action_set_enabled(GTK_WIDGET(self), playhead_actions[i], events);
	self->playhead_actions_enabled = events;
}

gboolean ravscope_window_can_play(RavscopeWindow *self)
{
	return self->playhead_actions_enabled;
}

void ravscope__window_show_panel(RavscopeWindow *self, const char *name)
{
	/* Asked for before the flap was laid out (--panel, --break, a live
	 * session's start), or since its first layout folded it but before
	 * that fold is applied (the frame after: on_flap_folded): in a window
	 * narrower than both columns it folds at its first layout, and a flap
	 * that folds closes, so the panel never showed. */
	if (gtk_widget_get_width(GTK_WIDGET(self->flap)) == 0 || self->flap_fold_tick)
		self->panel_through_fold = TRUE;
	gtk_toggle_button_set_active(self->sidebar_button, TRUE);
	adw_view_stack_set_visible_child_name(self->side_stack, name);
}

/* ---- playhead and view -------------------------------------------------------- */

static void act_play(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_toggle(RAVSCOPE_WINDOW(w)->playback); }
static void act_step_forward(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_step_forward(RAVSCOPE_WINDOW(w)->playback); }
static void act_step_back(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_step_back(RAVSCOPE_WINDOW(w)->playback); }
static void act_jump_next(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_jump(RAVSCOPE_WINDOW(w)->playback, TRUE); }
static void act_jump_prev(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_jump(RAVSCOPE_WINDOW(w)->playback, FALSE); }
static void act_home(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_home(RAVSCOPE_WINDOW(w)->playback); }
static void act_end(GtkWidget *w, const char *name, GVariant *p) { ravscope_playback_end(RAVSCOPE_WINDOW(w)->playback); }
static void act_zoom_in(GtkWidget *w, const char *name, GVariant *p) { ravscope_heap_view_zoom(RAVSCOPE_WINDOW(w)->heap_view, 1.6); }
static void act_zoom_out(GtkWidget *w, const char *name, GVariant *p) { ravscope_heap_view_zoom(RAVSCOPE_WINDOW(w)->heap_view, 1 / 1.6); }
static void act_zoom_fit(GtkWidget *w, const char *name, GVariant *p) { ravscope_heap_view_zoom_fit(RAVSCOPE_WINDOW(w)->heap_view); }

/* win.seek-event (t): go to an event and play it, from a panel. */
static void act_seek_event(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->doc)
		ravscope_playback_go_to(self->playback, g_variant_get_uint64(p));
}

/* win.select-cell (t): select a cell (a rav_loc) and bring its page into view. */
static void act_select_cell(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	rav_loc loc = g_variant_get_uint64(p);
	ravscope_heap_view_set_selected(self->heap_view, loc);
	ravscope_heap_view_focus_cell(self->heap_view, loc);
}

/* win.highlight-sites ((sau)): highlight the cells these call sites
 * allocated (label: what they are; no sites: stop). */
static void act_highlight_sites(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	const char *label;
	g_autoptr(GVariant) sites = NULL;
	g_variant_get(p, "(&s@au)", &label, &sites);
	gsize n = 0;
	const guint32 *ids = g_variant_get_fixed_array(sites, &n, sizeof(guint32));
	ravscope_site_highlight_set(self->highlight, ids, n, label);
}

/* win.show-site-events ((sau)): the Events panel, showing these sites' events. */
static void act_show_site_events(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	const char *label;
	g_autoptr(GVariant) sites = NULL;
	g_variant_get(p, "(&s@au)", &label, &sites);
	gsize n = 0;
	const guint32 *ids = g_variant_get_fixed_array(sites, &n, sizeof(guint32));
	ravscope_events_panel_show_sites(self->events_panel, label, ids, n);
	ravscope__window_show_panel(self, "events");
}

/* win.break-at-site (s): the Breakpoints panel, with a breakpoint on the
 * events of this call site (FUNCTION, FILE:LINE or *ADDRESS); a spec that
 * resolves to nothing is left in the form with the reason. */
static void act_break_at_site(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope__window_show_panel(self, "breakpoints");
	ravscope_breakpoints_panel_add_site(self->breakpoints_panel, g_variant_get_string(p, NULL), 0, NULL);
}

static void act_find(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (!self->doc)
		return;
	ravscope__window_show_panel(self, "events");
	ravscope_events_panel_focus_search(self->events_panel);
}

static void act_toggle_sidebar(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	gtk_toggle_button_set_active(self->sidebar_button, !gtk_toggle_button_get_active(self->sidebar_button));
}

static void act_follow(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope_heap_view_set_follow(self->heap_view, !ravscope_heap_view_get_follow(self->heap_view));
}

/* win.focus-heap: keys (Space, the arrows) go to the trace page again, after
 * a control took the focus for a choice. */
static void act_focus_heap(GtkWidget *w, const char *name, GVariant *p)
{
	gtk_widget_grab_focus(GTK_WIDGET(RAVSCOPE_WINDOW(w)->heap_view));
}

static void act_escape(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	/* the selection first; then full screen ends, as a slide show does */
	if (ravscope_heap_view_get_selected(self->heap_view) || !ravscope__window_teach_escape(self))
		ravscope_heap_view_set_selected(self->heap_view, RAV_LOC_NONE);
}

/* win.export: the Export dialog, starting from what the view shows. */
static void on_export_done(RavscopeExportDialog *d, gboolean ok, const char *message, RavscopeWindow *self)
{
	if (ok)
		ravscope__window_toast(self, message);
}

static void act_export(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (!self->doc)
		return;
	ravscope_playback_stop(self->playback);
	RavscopePictureStyle view;
	ravscope_heap_view_get_picture_style(self->heap_view, &view);
	RavscopeExportDialog *d = ravscope_export_dialog_new(GTK_WINDOW(self), self->doc, &view);
	g_signal_connect_object(d, "done", G_CALLBACK(on_export_done), self, 0);
	self->export_dialog = d;
	g_object_add_weak_pointer(G_OBJECT(d), (gpointer *)&self->export_dialog);
	gtk_window_present(GTK_WINDOW(d));
}

/* ---- opening ------------------------------------------------------------------- */

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

static void act_open_path(GtkWidget *w, const char *name, GVariant *p)
{
	GFile *f = g_file_new_for_path(g_variant_get_string(p, NULL));
	ravscope_window_open(RAVSCOPE_WINDOW(w), f);
	g_object_unref(f);
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

/* ---- menus: demos and recent -------------------------------------------------------- */

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

static void on_recent_changed(GtkRecentManager *m, RavscopeWindow *self)
{
	ravscope_window_refresh_menus(self);
}

/* ---- setup ------------------------------------------------------------------------ */

void ravscope__window_class_add_actions(GtkWidgetClass *wc)
{
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
	gtk_widget_class_install_property_action(wc, "win.contention", "show-contention");
	gtk_widget_class_install_action(wc, "win.follow", NULL, act_follow);
	gtk_widget_class_install_action(wc, "win.unselect", NULL, act_escape);
	gtk_widget_class_install_action(wc, "win.focus-heap", NULL, act_focus_heap);
	gtk_widget_class_install_action(wc, "win.export", NULL, act_export);
	gtk_widget_class_install_action(wc, "win.select-cell", "t", act_select_cell);
	gtk_widget_class_install_action(wc, "win.seek-event", "t", act_seek_event);
	gtk_widget_class_install_action(wc, "win.highlight-sites", "(sau)", act_highlight_sites);
	gtk_widget_class_install_action(wc, "win.show-site-events", "(sau)", act_show_site_events);
	gtk_widget_class_install_action(wc, "win.break-at-site", "s", act_break_at_site);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "win.unselect", NULL);
}

void ravscope__window_init_actions(RavscopeWindow *self)
{
	/* Menus. */
	self->demo_menu = g_menu_new();
	self->recent_menu = g_menu_new();
	gtk_menu_button_set_menu_model(self->demo_button, G_MENU_MODEL(self->demo_menu));
	g_menu_append_section(self->demo_submenu, NULL, G_MENU_MODEL(self->demo_menu));
	g_menu_append_section(self->recent_submenu, NULL, G_MENU_MODEL(self->recent_menu));
	ravscope_window_refresh_menus(self);
	g_signal_connect(gtk_recent_manager_get_default(), "changed", G_CALLBACK(on_recent_changed), self);

	/* Frequent keys on the trace page's own controller: GtkWindow binds the
	 * arrows to focus movement, and a controller on an ancestor of the
	 * focused widget sees the keys before the window does.  A focused text
	 * entry still gets its keys first (bubble phase). */
	struct { guint key; GdkModifierType mods; const char *action; } keys[] = {
		{ GDK_KEY_space, 0, "win.play" },
		{ GDK_KEY_Right, 0, "win.step-op-forward" },
		{ GDK_KEY_Left, 0, "win.step-op-back" },
		{ GDK_KEY_Right, GDK_SHIFT_MASK, "win.step-forward" },
		{ GDK_KEY_Left, GDK_SHIFT_MASK, "win.step-back" },
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
	gtk_widget_add_controller(GTK_WIDGET(self->flap), sc);

	GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
	g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
	gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));
}
