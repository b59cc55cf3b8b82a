/* ravscope-window-teach.c - the window's teaching side: operation steps
 * and what they point at, the Glossary, lessons (the Lessons menu, the
 * narration strip, the lesson player) and the chatty-vs-messages window.
 *
 * A lesson starts by opening its trace in this window; when indexing ends
 * (ravscope__window_teach_indexed, called by the window) the lesson is
 * resolved against the trace and the player takes the playhead to the
 * first step.  A lesson that does not fit its trace (a mark that is not
 * there, a step out of order) is refused with the lesson file's line.
 */
#include "ravscope-window-private.h"

#include "ravscope-compare-window.h"
#include "ravscope-explain.h"
#include "ravscope-glossary-window.h"
#include "ravscope-lesson.h"

/* ---- operation steps -------------------------------------------------------------- */

static void on_operation(RavscopePlayback *p, gpointer op, gboolean forward, guint duration_ms,
                         RavscopeWindow *self)
{
	if (!self->doc)
		return;
	ravscope_heap_view_set_spotlight(self->heap_view,
	                                 ravscope_operation_spotlight(self->doc, op, forward));
}

static void act_step_op_forward(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope_playback_step_operation(RAVSCOPE_WINDOW(w)->playback, TRUE);
}

static void act_step_op_back(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope_playback_step_operation(RAVSCOPE_WINDOW(w)->playback, FALSE);
}

static void act_glossary(GtkWidget *w, const char *name, GVariant *p)
{
	const char *id = p ? g_variant_get_string(p, NULL) : NULL;
	ravscope_glossary_show(GTK_WINDOW(w), id && *id ? id : NULL);
}

static void act_compare(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeCompareWindow *cw = ravscope_compare_window_new(GTK_WINDOW(w), NULL, NULL);
	gtk_window_present(GTK_WINDOW(cw));
}

/* ---- lessons ----------------------------------------------------------------------- */

static void lesson_error(RavscopeWindow *self, const char *what, const GError *error)
{
	GtkWidget *dlg = adw_message_dialog_new(GTK_WINDOW(self), what, error->message);
	adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(dlg), "close", "_Close");
	gtk_window_present(GTK_WINDOW(dlg));
}

/* A lesson on a short window (a 900 x 600 projector) gives the timeline's
 * height to the heap, and the line under the transport bar that says what
 * the last event did (the caption on the heap says it): the lesson's steps
 * move the playhead, and the transport bar still steps and plays.  A
 * taller window, or the end of the lesson, brings them back.  Decided
 * after layout, from the window's height. */
#define LESSON_FULL_HEIGHT 720 /* px: below it a lesson hides the timeline */
#define LESSON_SHORT_LINES 5   /* lines of narration at most, then */

static gboolean fit_lesson_layout(gpointer data)
{
	RavscopeWindow *self = data;
	self->lesson_fit_idle = 0;
	gboolean lesson = gtk_revealer_get_reveal_child(self->narration_revealer);
	int height = gtk_widget_get_height(GTK_WIDGET(self));
	gboolean full = !lesson || height <= 0 || height >= LESSON_FULL_HEIGHT;
	gtk_widget_set_visible(GTK_WIDGET(self->timeline), full);
	ravscope_transport_bar_set_show_event(self->transport_bar, full);
	/* and a step's text keeps to five lines (a longer one pushed the
	 * transport bar off a 900 x 600 window in presentation mode) */
	ravscope_narration_set_max_lines(self->narration, full ? -1 : LESSON_SHORT_LINES);
	return G_SOURCE_REMOVE;
}

static void queue_fit_lesson_layout(RavscopeWindow *self)
{
	/* below the redraw priority: the new size is allocated by then */
	if (!self->lesson_fit_idle)
		self->lesson_fit_idle = g_idle_add_full(G_PRIORITY_LOW, fit_lesson_layout, self, NULL);
}

/* The surface's "layout" comes with every new size, whoever asked for it
 * (the user, the window manager, maximizing, the program). */
static void on_surface_layout(GdkSurface *surface, int width, int height, RavscopeWindow *self)
{
	queue_fit_lesson_layout(self);
}

static void on_window_realize(GtkWidget *w, RavscopeWindow *self)
{
	GdkSurface *surface = gtk_native_get_surface(GTK_NATIVE(w));
	if (surface)
		g_signal_connect_object(surface, "layout", G_CALLBACK(on_surface_layout), self, 0);
}

static void set_lesson_mode(RavscopeWindow *self, gboolean on)
{
	/* A lesson wants the room for the heap: the side panel folds away
	 * while it runs and comes back as it was. */
	if (on && !self->lesson_sidebar_saved) {
		self->lesson_sidebar_saved = TRUE;
		self->lesson_sidebar_was = gtk_toggle_button_get_active(self->sidebar_button);
		gtk_toggle_button_set_active(self->sidebar_button, FALSE);
	} else if (!on && self->lesson_sidebar_saved) {
		self->lesson_sidebar_saved = FALSE;
		gtk_toggle_button_set_active(self->sidebar_button, self->lesson_sidebar_was);
	}
	gtk_revealer_set_reveal_child(self->narration_revealer, on);
	queue_fit_lesson_layout(self);
	gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.lesson-next", on);
	gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.lesson-back", on);
	gtk_widget_action_set_enabled(GTK_WIDGET(self), "win.lesson-close", on);
}

/* Open a lesson file: check it, open its trace here, start once indexed. */
void ravscope_window_start_lesson(RavscopeWindow *self, const char *path)
{
	GError *error = NULL;
	RavscopeLesson *lesson = ravscope_lesson_load(path, &error);
	char **dirs = ravscope_application_trace_dirs();
	if (lesson && !ravscope_lesson_find_trace(lesson, (const char *const *)dirs, &error))
		g_clear_pointer(&lesson, ravscope_lesson_free);
	g_strfreev(dirs);
	if (!lesson) {
		lesson_error(self, "This Lesson Cannot Be Opened", error);
		g_error_free(error);
		return;
	}
	ravscope_lesson_player_stop(self->lesson_player);
	g_clear_pointer(&self->pending_lesson, ravscope_lesson_free);
	GFile *f = g_file_new_for_path(lesson->trace_path);
	ravscope_window_open(self, f);
	g_object_unref(f);
	/* Opening replaced the document (and dropped any earlier pending
	 * lesson); this one waits for the indexing. */
	g_autofree char *opened =
		self->doc ? g_canonicalize_filename(ravscope_document_get_path(self->doc), NULL) : NULL;
	if (opened && !g_strcmp0(opened, lesson->trace_path))
		self->pending_lesson = lesson;
	else
		ravscope_lesson_free(lesson);
}

gboolean ravscope__window_teach_indexed(RavscopeWindow *self)
{
	if (!self->pending_lesson || !self->doc)
		return FALSE;
	RavscopeLesson *lesson = g_steal_pointer(&self->pending_lesson);
	GError *error = NULL;
	if (!ravscope_lesson_resolve(lesson, ravscope_document_get_trace(self->doc), &error)) {
		lesson_error(self, "This Lesson Does Not Fit Its Trace", error);
		g_error_free(error);
		ravscope_lesson_free(lesson);
		return FALSE;
	}
	ravscope_playback_stop(self->playback);
	ravscope_document_seek(self->doc, 0, NULL);
	set_lesson_mode(self, TRUE);
	ravscope_lesson_player_start(self->lesson_player, lesson, self->doc);
	return TRUE;
}

void ravscope__window_teach_document_changed(RavscopeWindow *self)
{
	/* A lesson belongs to the trace it was started on. */
	g_clear_pointer(&self->pending_lesson, ravscope_lesson_free);
	if (self->lesson_player)
		ravscope_lesson_player_stop(self->lesson_player);
}

static void on_lesson_finished(RavscopeLessonPlayer *p, RavscopeWindow *self)
{
	set_lesson_mode(self, FALSE);
}

static void act_lesson(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope_window_start_lesson(RAVSCOPE_WINDOW(w), g_variant_get_string(p, NULL));
}

static void act_lesson_next(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope_lesson_player_next(RAVSCOPE_WINDOW(w)->lesson_player);
}

static void act_lesson_back(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope_lesson_player_back(RAVSCOPE_WINDOW(w)->lesson_player);
}

static void act_lesson_close(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope_lesson_player_stop(RAVSCOPE_WINDOW(w)->lesson_player);
}

static void on_open_lesson_response(GtkNativeDialog *dialog, int response, RavscopeWindow *self)
{
	if (response == GTK_RESPONSE_ACCEPT) {
		GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
		g_autofree char *path = f ? g_file_get_path(f) : NULL;
		if (path)
			ravscope_window_start_lesson(self, path);
		g_clear_object(&f);
	}
	g_object_unref(dialog);
}

static void act_open_lesson(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	GtkFileChooserNative *dlg = gtk_file_chooser_native_new(
	    "Open a Lesson", GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
	GtkFileFilter *f = gtk_file_filter_new();
	gtk_file_filter_set_name(f, "ravscope lessons (*.lesson)");
	gtk_file_filter_add_pattern(f, "*.lesson");
	gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dlg), f);
	g_object_unref(f);
	g_signal_connect(dlg, "response", G_CALLBACK(on_open_lesson_response), self);
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(dlg));
}

typedef struct {
	char *path, *title;
	int order;
} LessonEntry;

static int by_order(gconstpointer a, gconstpointer b)
{
	const LessonEntry *x = a, *y = b;
	return x->order != y->order ? (x->order < y->order ? -1 : 1) : g_strcmp0(x->title, y->title);
}

static void refresh_lesson_menu(RavscopeWindow *self)
{
	g_menu_remove_all(self->lesson_menu);
	GPtrArray *paths = ravscope_application_list_lessons();
	GArray *entries = g_array_new(FALSE, FALSE, sizeof(LessonEntry));
	for (guint i = 0; i < paths->len; i++) {
		const char *path = g_ptr_array_index(paths, i);
		RavscopeLesson *l = ravscope_lesson_load(path, NULL);
		/* A broken file still shows: opening it says what is wrong. */
		LessonEntry e = {g_strdup(path), l ? g_strdup(l->title) : g_path_get_basename(path),
		                 l ? l->order : 100000};
		g_array_append_val(entries, e);
		ravscope_lesson_free(l);
	}
	g_array_sort(entries, by_order);
	GMenu *list = g_menu_new();
	for (guint i = 0; i < entries->len; i++) {
		LessonEntry *e = &g_array_index(entries, LessonEntry, i);
		g_autofree char *label = g_strdup_printf("%u. %s", i + 1, e->title);
		GMenuItem *item = g_menu_item_new(label, NULL);
		g_menu_item_set_action_and_target_value(item, "win.lesson", g_variant_new_string(e->path));
		g_menu_append_item(list, item);
		g_object_unref(item);
		g_free(e->path);
		g_free(e->title);
	}
	if (entries->len == 0) {
		GMenuItem *item = g_menu_item_new("No lessons found (build samples/)", "win.none");
		g_menu_append_item(list, item);
		g_object_unref(item);
	}
	g_array_unref(entries);
	g_ptr_array_unref(paths);
	g_menu_append_section(self->lesson_menu, NULL, G_MENU_MODEL(list));
	g_object_unref(list);
	GMenu *more = g_menu_new();
	g_menu_append(more, "Open a Lesson _File…", "win.open-lesson");
	g_menu_append(more, "_Glossary", "win.glossary");
	g_menu_append(more, "_Chatty Threads vs. Messages", "win.compare");
	g_menu_append(more, "_Present (Full Screen, Large Text)", "win.present");
	g_menu_append_section(self->lesson_menu, NULL, G_MENU_MODEL(more));
	g_object_unref(more);
}

static void on_narration_next(RavscopeNarration *n, RavscopeWindow *self)
{
	ravscope_lesson_player_next(self->lesson_player);
}

static void on_narration_back(RavscopeNarration *n, RavscopeWindow *self)
{
	ravscope_lesson_player_back(self->lesson_player);
}

static void on_narration_close(RavscopeNarration *n, RavscopeWindow *self)
{
	ravscope_lesson_player_stop(self->lesson_player);
}

/* ---- full screen, for a projector ------------------------------------------------------ */

/* F11 is full screen and F5 starts a slide show in the programs a teacher
 * knows (browsers, viewers, slide tools); in ravscope's debugger they are
 * Step and Continue (ravscope-window-live-debug.c).  Shift+F11 (full
 * screen) and Shift+F5 (Present: full screen and presentation mode) are
 * never anything else; F11 and F5 alone do the same whenever the
 * debugger's action is off, i.e. always but while a live program is held.
 * Escape with nothing selected leaves full screen, as a slide show does. */
static void set_presenting(RavscopeWindow *self, gboolean on)
{
	if (on == self->presenting)
		return;
	self->presenting = on;
	if (on)
		self->present_was_large = self->settings && g_settings_get_boolean(self->settings, "large-text");
	if (self->settings && (on || !self->present_was_large))
		g_settings_set_boolean(self->settings, "large-text", on);
	if (on)
		gtk_window_fullscreen(GTK_WINDOW(self));
	else
		gtk_window_unfullscreen(GTK_WINDOW(self));
}

static void act_present(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	set_presenting(self, !self->presenting);
}

static void on_fullscreened(GtkWindow *w, GParamSpec *pspec, RavscopeWindow *self)
{
	/* left full screen some other way (F11, the window manager): the
	 * presentation ends with it */
	if (!gtk_window_is_fullscreen(w) && self->presenting && gtk_widget_get_mapped(GTK_WIDGET(w)))
		set_presenting(self, FALSE);
}

gboolean ravscope__window_teach_escape(RavscopeWindow *self)
{
	if (!self->presenting && !gtk_window_is_fullscreen(GTK_WINDOW(self)))
		return FALSE;
	if (self->presenting)
		set_presenting(self, FALSE);
	else
		gtk_window_unfullscreen(GTK_WINDOW(self));
	return TRUE;
}

const char *ravscope_window_projector_key(RavscopeWindow *self, guint keyval, GdkModifierType mods)
{
	mods &= gtk_accelerator_get_default_mod_mask();
	if (mods != 0 && mods != GDK_SHIFT_MASK)
		return NULL;
	if (keyval == GDK_KEY_F11)
		return mods == 0 && ravscope__window_live_can_step(self) ? NULL : "win.fullscreen";
	if (keyval == GDK_KEY_F5)
		return mods == 0 && ravscope__window_live_can_continue(self) ? NULL : "win.present";
	return NULL;
}

/* Before the window's own bindings (F11: Step, F5: Continue), which take
 * the key only while the debugger can use it. */
static gboolean on_projector_key(GtkEventControllerKey *c, guint keyval, guint code, GdkModifierType mods,
                                 RavscopeWindow *self)
{
	const char *action = ravscope_window_projector_key(self, keyval, mods);
	return action && gtk_widget_activate_action(GTK_WIDGET(self), action, NULL);
}

/* ---- for tests ------------------------------------------------------------------------ */

RavscopeLessonPlayer *ravscope_window_get_lesson_player(RavscopeWindow *self)
{
	return self->lesson_player;
}

const char *ravscope_window_get_narration(RavscopeWindow *self)
{
	return ravscope_narration_get_text(self->narration);
}

/* ---- setup ----------------------------------------------------------------------------- */

void ravscope__window_teach_class_init(GtkWidgetClass *wc)
{
	gtk_widget_class_install_action(wc, "win.step-op-forward", NULL, act_step_op_forward);
	gtk_widget_class_install_action(wc, "win.step-op-back", NULL, act_step_op_back);
	gtk_widget_class_install_action(wc, "win.glossary", NULL, act_glossary);
	gtk_widget_class_install_action(wc, "win.compare", NULL, act_compare);
	gtk_widget_class_install_action(wc, "win.lesson", "s", act_lesson);
	gtk_widget_class_install_action(wc, "win.open-lesson", NULL, act_open_lesson);
	gtk_widget_class_install_action(wc, "win.lesson-next", NULL, act_lesson_next);
	gtk_widget_class_install_action(wc, "win.lesson-back", NULL, act_lesson_back);
	gtk_widget_class_install_action(wc, "win.lesson-close", NULL, act_lesson_close);
	gtk_widget_class_install_property_action(wc, "win.fullscreen", "fullscreened");
	gtk_widget_class_install_action(wc, "win.present", NULL, act_present);
}

void ravscope__window_teach_init(RavscopeWindow *self)
{
	g_signal_connect(self->playback, "operation", G_CALLBACK(on_operation), self);
	self->lesson_player =
	    ravscope_lesson_player_new(self->playback, self->heap_view, self->narration, self->contention);
	g_signal_connect(self->lesson_player, "finished", G_CALLBACK(on_lesson_finished), self);
	g_signal_connect(self->narration, "next", G_CALLBACK(on_narration_next), self);
	g_signal_connect(self->narration, "back", G_CALLBACK(on_narration_back), self);
	g_signal_connect(self->narration, "close", G_CALLBACK(on_narration_close), self);
	self->lesson_menu = g_menu_new();
	gtk_menu_button_set_menu_model(self->lesson_button, G_MENU_MODEL(self->lesson_menu));
	refresh_lesson_menu(self);
	set_lesson_mode(self, FALSE);
	g_signal_connect(self, "realize", G_CALLBACK(on_window_realize), self);
	g_signal_connect_swapped(self, "map", G_CALLBACK(queue_fit_lesson_layout), self);

	/* Keys of a lesson and of the glossary on the trace page.  A lesson's
	 * Page Down / Page Up run in the capture phase: Next wherever the focus
	 * is (a presenter's remote sends them), not a scroll of the heap's
	 * lanes or of a list; without a lesson the actions are disabled and
	 * the keys go on to the focused widget.  'g' waits for the bubble
	 * phase, so a text field still takes the letter. */
	struct {
		guint key;
		GdkModifierType mods;
		const char *action;
		gboolean capture;
	} keys[] = {
	    {GDK_KEY_Page_Down, 0, "win.lesson-next", TRUE},
	    {GDK_KEY_Page_Up, 0, "win.lesson-back", TRUE},
	    {GDK_KEY_g, 0, "win.glossary", FALSE},
	};
	for (int capture = 0; capture < 2; capture++) {
		GtkEventController *sc = gtk_shortcut_controller_new();
		for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
			if (keys[i].capture == capture)
				gtk_shortcut_controller_add_shortcut(
				    GTK_SHORTCUT_CONTROLLER(sc),
				    gtk_shortcut_new(gtk_keyval_trigger_new(keys[i].key, keys[i].mods),
				                     gtk_named_action_new(keys[i].action)));
		gtk_event_controller_set_propagation_phase(sc, capture ? GTK_PHASE_CAPTURE : GTK_PHASE_BUBBLE);
		gtk_widget_add_controller(GTK_WIDGET(self->flap), sc);
	}
	GtkEventController *keys_projector = gtk_event_controller_key_new();
	gtk_event_controller_set_propagation_phase(keys_projector, GTK_PHASE_CAPTURE);
	g_signal_connect(keys_projector, "key-pressed", G_CALLBACK(on_projector_key), self);
	gtk_widget_add_controller(GTK_WIDGET(self), keys_projector);
	g_signal_connect(self, "notify::fullscreened", G_CALLBACK(on_fullscreened), self);
}

void ravscope__window_teach_dispose(RavscopeWindow *self)
{
	g_clear_handle_id(&self->lesson_fit_idle, g_source_remove);
	if (self->lesson_player) {
		g_signal_handlers_disconnect_by_data(self->lesson_player, self);
		ravscope_lesson_player_stop(self->lesson_player);
	}
	g_clear_object(&self->lesson_player);
	g_clear_pointer(&self->pending_lesson, ravscope_lesson_free);
	g_clear_object(&self->lesson_menu);
}
