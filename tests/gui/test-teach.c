/* test-teach.c - the teaching side of the window, under X (Xvfb).
 *
 * Usage: test-teach LESSON TRACE CHATTY MESSAGES [ATTACH-TRACE]
 *   - an operation step applies exactly the operation of the next event
 *     (rav_trace_operation_at), points at it with a caption, and back
 *     undoes exactly it; the Explain panel says what happened; the same
 *     on an attach recording, whose snapshots are steps of their own;
 *   - a lesson: opening it plays to its first step and shows its text;
 *     Next reaches each step's place (the end of its operation) and shows
 *     its narration; Back returns to the previous one; the last Next ends
 *     the lesson;
 *   - the glossary opens at a term;
 *   - the chatty-vs-messages window shows, for both recordings, the totals
 *     the cache model gives on the same files.
 * Animations are off (the "animate" setting) so steps take no time.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ravscope-application.h"
#include "ravscope-compare-window.h"
#include "ravscope-contention-panel.h"
#include "ravscope-contention.h"
#include "ravscope-explain-panel.h"
#include "ravscope-explain.h"
#include "ravscope-glossary-window.h"
#include "ravscope-heap-view.h"
#include "ravscope-heapdraw-private.h"
#include "ravscope-lesson-player.h"
#include "ravscope-lesson.h"
#include "ravscope-narration.h"
#include "ravscope-transport-bar.h"
#include "ravscope-window.h"
#define GUI_TEST_WAIT_S 90
#define GUI_TEST_SPIN_ROUNDS 30
#include "gui-test.h"

static const char *lesson_path, *trace_path, *chatty_path, *messages_path;

static RavscopeWindow *new_window(void)
{
	return present_window(1300, 850);
}

static guint64 position(RavscopeWindow *w)
{
	return ravscope_document_get_position(ravscope_window_get_document(w));
}

/* The Explain panel, found by type in the window's tree. */
static GtkWidget *explain_panel_of(RavscopeWindow *w)
{
	GtkWidget *panel = NULL;
	GPtrArray *todo = g_ptr_array_new();
	g_ptr_array_add(todo, w);
	while (todo->len && !panel) {
		GtkWidget *x = g_ptr_array_steal_index(todo, todo->len - 1);
		if (RAVSCOPE_IS_EXPLAIN_PANEL(x))
			panel = x;
		for (GtkWidget *c = gtk_widget_get_first_child(x); c; c = gtk_widget_get_next_sibling(c))
			g_ptr_array_add(todo, c);
	}
	g_ptr_array_unref(todo);
	g_assert_nonnull(panel);
	return panel;
}

/* What the panel says once its refresh timer has run. */
static char *explain_text(GtkWidget *panel)
{
	char *text = ravscope_explain_panel_dup_text(RAVSCOPE_EXPLAIN_PANEL(panel));
	for (int i = 0; i < 50 && strlen(text) < 40; i++) {
		spin_a_bit();
		g_free(text);
		text = ravscope_explain_panel_dup_text(RAVSCOPE_EXPLAIN_PANEL(panel));
	}
	return text;
}

/* An attach recording starts from snapshots: each is one operation step,
 * and the Explain panel says what a snapshot is. */
static void test_attach_steps(gconstpointer path)
{
	RavscopeWindow *w = new_window();
	open_path(w, path);
	spin_until(is_indexed, w, "indexing");
	spin_a_bit();
	rav_trace *t = ravscope_document_get_trace(ravscope_window_get_document(w));
	ravscope_window_seek(w, 0);
	spin_a_bit();
	guint snapshots = 0;
	for (int k = 0; k < 8; k++) {
		rav_operation op;
		g_assert_true(rav_trace_operation_at(t, position(w), &op));
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-op-forward", NULL));
		spin_a_bit();
		g_assert_cmpuint(position(w), ==, op.last + 1);
		if (op.kind != RAV_OP_SNAPSHOT)
			continue;
		snapshots++;
		const RavscopeSpotlight *sp =
		    ravscope_heap_view_get_spotlight(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w)));
		g_assert_nonnull(sp);
		g_assert_nonnull(strstr(sp->caption, "snapshot of"));
		g_autofree char *text = explain_text(explain_panel_of(w));
		if (!strstr(text, "snapshot"))
			g_error("the Explain panel after a snapshot says: %s", text);
	}
	g_assert_cmpuint(snapshots, >=, 2);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

static void test_operation_step(gconstpointer path)
{
	RavscopeWindow *w = new_window();
	open_path(w, path);
	spin_until(is_indexed, w, "indexing");
	spin_a_bit();
	rav_trace *t = ravscope_document_get_trace(ravscope_window_get_document(w));
	guint64 n = ravscope_document_get_event_count(ravscope_window_get_document(w));
	/* Several places: the start, the middle, and inside an operation. */
	guint64 starts[] = {0, n / 3, n / 2 + 1};
	for (guint k = 0; k < G_N_ELEMENTS(starts); k++) {
		ravscope_window_seek(w, starts[k]);
		spin_a_bit();
		guint64 before = position(w);
		rav_operation op;
		g_assert_true(rav_trace_operation_at(t, before, &op));
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-op-forward", NULL));
		spin_a_bit();
		g_assert_cmpuint(position(w), ==, op.last + 1);
		/* It points at the operation and says what it was. */
		const RavscopeSpotlight *sp =
		    ravscope_heap_view_get_spotlight(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w)));
		g_assert_nonnull(sp);
		g_assert_true(sp->caption && *sp->caption);
		/* Back undoes exactly this operation. */
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-op-back", NULL));
		spin_a_bit();
		g_assert_cmpuint(position(w), ==, op.first);
		/* Event steps are still there. */
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
		spin_a_bit();
		g_assert_cmpuint(position(w), >, op.first);
	}
	/* The Explain panel says what the last event did, in words. */
	ravscope_window_seek(w, n / 2);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-op-forward", NULL));
	spin_a_bit();
	g_autofree char *text = explain_text(explain_panel_of(w));
	g_assert_cmpuint(strlen(text), >, 40);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

static gboolean lesson_at_rest(gpointer w)
{
	RavscopeLessonPlayer *p = ravscope_window_get_lesson_player(w);
	return ravscope_lesson_player_get_lesson(p) && ravscope_lesson_player_get_step(p) >= 0 &&
	       !ravscope_lesson_player_is_busy(p);
}

static gboolean lesson_ended(gpointer w)
{
	return ravscope_lesson_player_get_lesson(ravscope_window_get_lesson_player(w)) == NULL;
}

/* The narration shown is the step's text (markup aside). */
static void check_step(RavscopeWindow *w, const RavscopeLesson *l, guint k)
{
	RavscopeLessonPlayer *p = ravscope_window_get_lesson_player(w);
	g_assert_cmpint(ravscope_lesson_player_get_step(p), ==, (int)k);
	const RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
	g_assert_cmpuint(position(w), ==, st->target);
	if (st->has_op) {
		/* Next reached the step's event: its operation is applied, the
		 * next one is not. */
		g_assert_cmpuint(position(w), ==, st->op.last + 1);
		g_assert_nonnull(
		    ravscope_heap_view_get_spotlight(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w))));
	}
	const char *shown = ravscope_window_get_narration(w);
	/* The first words of the step's text are shown as written. */
	g_autofree char *head = g_strndup(st->text, 12);
	if (!strstr(shown, head))
		g_error("step %u shows \"%s\", not its text \"%s\"", k, shown, st->text);
}

static void test_lesson(void)
{
	/* The lesson as the window will resolve it, to compare with. */
	GError *error = NULL;
	g_autoptr(RavscopeLesson) l = ravscope_lesson_load(lesson_path, &error);
	g_assert_no_error(error);
	char **dirs = ravscope_application_trace_dirs();
	g_assert_true(ravscope_lesson_check(l, (const char *const *)dirs, &error));
	g_strfreev(dirs);

	RavscopeWindow *w = new_window();
	ravscope_window_start_lesson(w, lesson_path);
	spin_until(lesson_at_rest, w, "the lesson's first step");
	check_step(w, l, 0);
	for (guint k = 1; k < l->steps->len; k++) {
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
		spin_until(lesson_at_rest, w, "the next step");
		check_step(w, l, k);
		if (k == 2) {
			/* Back, then forward again. */
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-back", NULL));
			spin_until(lesson_at_rest, w, "the previous step");
			check_step(w, l, k - 1);
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
			spin_until(lesson_at_rest, w, "the step again");
			check_step(w, l, k);
		}
	}
	/* Next while travelling goes straight to the step. */
	ravscope_window_start_lesson(w, lesson_path);
	spin_until(lesson_at_rest, w, "the restarted lesson");
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
	if (ravscope_lesson_player_is_busy(ravscope_window_get_lesson_player(w)))
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
	spin_until(lesson_at_rest, w, "the skipped-to step");
	check_step(w, l, 1);
	/* Finishing ends the lesson; the trace stays open. */
	for (guint k = 1; k < l->steps->len; k++) {
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
		if (k + 1 < l->steps->len)
			spin_until(lesson_at_rest, w, "a step");
	}
	spin_until(lesson_ended, w, "the end of the lesson");
	g_assert_nonnull(ravscope_window_get_document(w));
	/* A broken lesson is refused (a dialog), and the window stays usable. */
	g_autofree char *tmp = g_build_filename(g_get_tmp_dir(), "test-teach-broken.lesson", NULL);
	g_assert_true(g_file_set_contents(tmp, "[lesson]\ntitle = x\n", -1, NULL));
	ravscope_window_start_lesson(w, tmp);
	spin_a_bit();
	g_assert_null(ravscope_lesson_player_get_lesson(ravscope_window_get_lesson_player(w)));
	g_unlink(tmp);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* ---- a lesson on a 900 x 600 projector ---- */

static void resize_to(RavscopeWindow *w, int width, int height)
{
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	GdkSurface *s = gtk_native_get_surface(GTK_NATIVE(w));
	for (int i = 0; i < 40 && (gdk_surface_get_width(s) != width || gdk_surface_get_height(s) != height); i++)
		spin_a_bit();
	for (int i = 0; i < 10; i++)
		spin_a_bit();
}

/* At 900 x 600, normal and in presentation mode: the window fits (its
 * minimum is not larger, so it keeps that size), and the heap gets the
 * room the timeline had (the lesson's steps move the playhead). */
static void check_small_screen(RavscopeWindow *w, gboolean presentation, int heap_min)
{
	const char *mode = presentation ? "presentation mode" : "normal mode";
	for (int i = 0; i < 20; i++)
		spin_a_bit();
	int min_w, min_h, nat;
	gtk_widget_measure(GTK_WIDGET(w), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, &nat, NULL, NULL);
	gtk_widget_measure(GTK_WIDGET(w), GTK_ORIENTATION_VERTICAL, 900, &min_h, &nat, NULL, NULL);
	GdkSurface *s = gtk_native_get_surface(GTK_NATIVE(w));
	GtkWidget *heap = ravscope_window_get_heap_view(w);
	GtkWidget *timeline = find_by_type(GTK_WIDGET(w), "RavscopeTimeline");
	g_assert_nonnull(timeline);
	g_test_message("%s, a lesson at 900x600: minimum %dx%d, window %dx%d, heap %d px high, timeline %s", mode,
		       min_w, min_h, gdk_surface_get_width(s), gdk_surface_get_height(s), gtk_widget_get_height(heap),
		       gtk_widget_get_mapped(timeline) ? "shown" : "hidden");
	g_assert_cmpint(min_w, <=, 900);
	g_assert_cmpint(min_h, <=, 600);
	g_assert_cmpint(gdk_surface_get_width(s), ==, 900);
	g_assert_cmpint(gdk_surface_get_height(s), ==, 600);
	g_assert_false(gtk_widget_get_mapped(timeline));
	/* the line of what the last event did goes too (the caption says it) */
	GtkWidget *bar = find_by_type(GTK_WIDGET(w), "RavscopeTransportBar");
	g_assert_nonnull(bar);
	g_assert_false(ravscope_transport_bar_get_show_event(RAVSCOPE_TRANSPORT_BAR(bar)));
	g_assert_cmpint(gtk_widget_get_height(heap), >=, heap_min);
}

static void test_lesson_small_screen(void)
{
	GSettings *settings = ravscope_settings_new();
	g_assert_nonnull(settings);
	RavscopeWindow *w = present_window(900, 600);
	ravscope_window_start_lesson(w, lesson_path);
	spin_until(lesson_at_rest, w, "the lesson's first step");
	/* (before: 215 px of heap at 900x600; in presentation mode the window
	 * could not be narrower than 946 x 648) */
	check_small_screen(w, FALSE, 370);
	g_settings_set_boolean(settings, "large-text", TRUE);
	check_small_screen(w, TRUE, 285);
	/* the lesson's longest narration (step 3's five lines) still fits */
	for (int k = 0; k < 2; k++) {
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
		spin_until(lesson_at_rest, w, "the next step");
	}
	check_small_screen(w, TRUE, 200);
	g_settings_set_boolean(settings, "large-text", FALSE);
	/* A taller window gives the timeline back ... */
	GtkWidget *timeline = find_by_type(GTK_WIDGET(w), "RavscopeTimeline");
	resize_to(w, 1300, 850);
	g_assert_true(gtk_widget_get_mapped(timeline));
	resize_to(w, 900, 600);
	g_assert_false(gtk_widget_get_mapped(timeline));
	/* ... and so does the end of the lesson, whatever the size. */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-close", NULL));
	for (int i = 0; i < 10; i++)
		spin_a_bit();
	g_assert_true(gtk_widget_get_mapped(find_by_type(GTK_WIDGET(w), "RavscopeTimeline")));
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_object_unref(settings);
}

/* A lesson's Page Down is Next wherever the focus is: its shortcut runs in
 * the capture phase, before the focused widget.  (The heap view took Page
 * Down to scroll its lanes: in the chatty lesson Next never came.) */
static void test_lesson_keys_first(void)
{
	RavscopeWindow *w = new_window();
	GtkWidget *flap = find_by_type(GTK_WIDGET(w), "AdwFlap");
	g_assert_nonnull(flap);
	GListModel *cs = gtk_widget_observe_controllers(flap);
	gboolean found = FALSE;
	for (guint i = 0; i < g_list_model_get_n_items(cs); i++) {
		g_autoptr(GObject) c = g_list_model_get_item(cs, i);
		if (!GTK_IS_SHORTCUT_CONTROLLER(c))
			continue;
		for (guint k = 0; k < g_list_model_get_n_items(G_LIST_MODEL(c)); k++) {
			g_autoptr(GtkShortcut) sc = g_list_model_get_item(G_LIST_MODEL(c), k);
			GtkShortcutTrigger *t = gtk_shortcut_get_trigger(sc);
			GtkShortcutAction *a = gtk_shortcut_get_action(sc);
			if (!GTK_IS_KEYVAL_TRIGGER(t) || !GTK_IS_NAMED_ACTION(a))
				continue;
			guint key = gtk_keyval_trigger_get_keyval(GTK_KEYVAL_TRIGGER(t));
			const char *name = gtk_named_action_get_action_name(GTK_NAMED_ACTION(a));
			GtkPropagationPhase phase = gtk_event_controller_get_propagation_phase(GTK_EVENT_CONTROLLER(c));
			if (key == GDK_KEY_Page_Down && !g_strcmp0(name, "win.lesson-next")) {
				g_assert_cmpint(phase, ==, GTK_PHASE_CAPTURE);
				found = TRUE;
			}
			/* ... but a text field still takes a 'g' before the glossary */
			if (key == GDK_KEY_g)
				g_assert_cmpint(phase, ==, GTK_PHASE_BUBBLE);
		}
	}
	g_object_unref(cs);
	g_assert_true(found);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* A lesson that starts as its trace opens, in presentation mode: its first
 * step (zoom = fit, the list's eight nodes) shows what it points at.  (The
 * fit ran before the view had a size, and presentation mode's close-up
 * then centred on the left edge of a view 0 px wide: the heap was out of
 * sight at every size.) */
static void test_lesson_presentation_start(void)
{
	GSettings *settings = ravscope_settings_new();
	g_assert_nonnull(settings);
	g_settings_set_boolean(settings, "large-text", TRUE);
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), 900, 600);
	ravscope_window_start_lesson(w, lesson_path);
	spin_until(lesson_at_rest, w, "the lesson's first step");
	gtk_window_present(GTK_WINDOW(w));
	resize_to(w, 900, 600);
	RavscopeHeapView *heap = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	const RavscopeSpotlight *sp = ravscope_heap_view_get_spotlight(heap);
	g_assert_nonnull(sp);
	guint cells = 0;
	for (guint i = 0; i < sp->spots->len; i++) {
		const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, i);
		if (s->kind != RAVSCOPE_SPOT_CELL)
			continue;
		cells++;
		if (!ravscope_heap_view_cell_in_view(heap, s->cell))
			g_error("the step points at %u.%u, out of view", rav_loc_page(s->cell), rav_loc_cell(s->cell));
	}
	g_assert_cmpuint(cells, ==, 8);
	g_settings_set_boolean(settings, "large-text", FALSE);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_object_unref(settings);
}

/* The operation's caption on a short heap area (a lesson at 900 x 600 in
 * presentation mode leaves about 180 px): it takes at most a third of the
 * area, and goes to the top when at the bottom it would cover the cells
 * the step is about.  (Before: 4 lines of 22 px type, 136 px of 180, over
 * the operation's cells.) */
static void test_caption_room(void)
{
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 900, 600);
	cairo_t *cr = cairo_create(surf);
	const char *caption = "field 1 of 0.5 (node) now refers to 0.3 (node) \u2192 the old value 0.4 (node) freed "
	                      "\u2192 top cell 0.8 (node) moves into the hole at 0.4 \u2192 2 pointers fixed";
	RavscopeViewport vp = {.x0 = 220, .y0 = 0, .width = 680, .height = 180, .large_text = TRUE};
	double box[4];
	ravscope__spotlight_caption_box(cr, &vp, caption, NULL, 0, box);
	g_test_message("caption at 680x180: %.0fx%.0f at y %.0f", box[2], box[3], box[1]);
	g_assert_cmpfloat(box[3], <=, 180 * 0.34 + 0.5);
	g_assert_cmpfloat(box[1] + box[3], <=, 180); /* at the bottom */
	g_assert_cmpfloat(box[1], >, 90);
	g_assert_cmpfloat(box[0], >=, vp.x0);
	g_assert_cmpfloat(box[0] + box[2], <=, vp.x0 + vp.width);
	/* the step's cells at the bottom of the area: the caption goes up */
	double cells[8] = {400, 150, 20, 20, 430, 150, 20, 20};
	double up[4];
	ravscope__spotlight_caption_box(cr, &vp, caption, cells, 2, up);
	g_assert_cmpfloat(up[1] + up[3], <, 150);
	/* cells at the top: it stays at the bottom */
	cells[1] = cells[5] = 20;
	ravscope__spotlight_caption_box(cr, &vp, caption, cells, 2, up);
	g_assert_cmpfloat(up[1], ==, box[1]);
	/* a tall area keeps the large type and the whole sentence */
	vp.height = 700;
	double tall[4];
	ravscope__spotlight_caption_box(cr, &vp, caption, NULL, 0, tall);
	g_assert_cmpfloat(tall[3], >, box[3]);
	g_assert_cmpfloat(tall[3], <=, 700 * 0.34);
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
}

/* A teacher's step too long for a 900 x 600 window in presentation mode
 * keeps to five lines there (the rest in its tooltip), so the heap and the
 * transport bar stay on screen; a taller window shows it whole.  (Before:
 * nine lines; the heap shrank to its 200 px minimum and the rest did not
 * fit: lesson 6's receive step put the transport bar off the window.) */
static void test_lesson_long_text(void)
{
	g_autofree char *dir = g_path_get_dirname(lesson_path);
	g_autofree char *trace = g_build_filename(dir, "lesson-free.ravtrace", NULL);
	g_autofree char *abs = g_canonicalize_filename(trace, NULL);
	GString *text = g_string_new(NULL);
	for (int i = 0; i < 12; i++)
		g_string_append(text, " A long sentence a teacher wrote, and then another one after it.");
	g_autofree char *body = g_strdup_printf("[lesson]\ntitle = Long\ntrace = %s\n[step]\nat = start\ntext =%s\n",
	                                        abs, text->str);
	g_string_free(text, TRUE);
	g_autofree char *path = g_build_filename(g_get_tmp_dir(), "test-teach-long.lesson", NULL);
	g_assert_true(g_file_set_contents(path, body, -1, NULL));
	GSettings *settings = ravscope_settings_new();
	g_settings_set_boolean(settings, "large-text", TRUE);
	RavscopeWindow *w = present_window(900, 600);
	ravscope_window_start_lesson(w, path);
	spin_until(lesson_at_rest, w, "the long step");
	check_small_screen(w, TRUE, 230);
	RavscopeNarration *n = RAVSCOPE_NARRATION(find_by_type(GTK_WIDGET(w), "RavscopeNarration"));
	g_assert_true(ravscope_narration_is_cut(n));
	resize_to(w, 1300, 850);
	g_assert_false(ravscope_narration_is_cut(n));
	g_settings_set_boolean(settings, "large-text", FALSE);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_object_unref(settings);
	g_unlink(path);
}

/* Labels of neighbouring cells on the top row of a short heap area (lesson
 * 2's free at 900 x 600 in presentation mode) do not print over each
 * other: where no place is free, a label goes where it covers least.
 * (Before: 'moved into the hole' covered 'referred to'.) */
static void test_labels_apart(void)
{
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 900, 600);
	cairo_t *cr = cairo_create(surf);
	RavscopeSpotlight *sp = ravscope_spotlight_new();
	const char *labels[] = {"referred to", "moved into the hole \u00b7 2 fixed", "refers"};
	double cells[12] = {455, 35, 20, 20, 477, 35, 20, 20, 499, 35, 20, 20};
	for (guint i = 0; i < 3; i++)
		ravscope_spotlight_add_cell(sp, rav_loc_make(0, 3 + i, 0), labels[i]);
	RavscopeViewport vp = {.x0 = 220, .y0 = 0, .width = 680, .height = 180, .large_text = TRUE, .spotlight = sp};
	double caption[4], boxes[12];
	ravscope__spotlight_caption_box(cr, &vp,
	                                "field 1 of 0.5 (node) now refers to 0.3 (node) \u2192 the old value 0.4 (node) "
	                                "freed \u2192 top cell 0.8 (node) moves into the hole at 0.4 \u2192 2 pointers fixed",
	                                cells, 3, caption);
	ravscope__spotlight_label_boxes(cr, &vp, cells, caption, boxes);
	for (guint i = 0; i < 3; i++) {
		const double *a = boxes + 4 * i;
		g_test_message("%s: %.0f,%.0f %.0fx%.0f", labels[i], a[0], a[1], a[2], a[3]);
		g_assert_cmpfloat(a[0], >=, vp.x0);
		g_assert_cmpfloat(a[0] + a[2], <=, vp.x0 + vp.width);
		g_assert_cmpfloat(a[1], >=, vp.y0);
		g_assert_cmpfloat(a[1] + a[3], <=, vp.y0 + vp.height);
		for (guint j = 0; j < i; j++) {
			const double *b = boxes + 4 * j;
			gboolean overlap = a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3];
			if (overlap)
				g_error("'%s' covers '%s'", labels[i], labels[j]);
		}
	}
	ravscope_spotlight_free(sp);
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
}

/* Four or more labelled cells side by side (a compaction's "fixed", "was
 * the hole", "back on top" and the slot's words; zoomed out, where cells
 * are a pixel apart and their marks overlap): no label prints over
 * another's words or over the caption, each stays inside the heap area,
 * and the first spot's label is always shown; those with no room left are
 * left out (box 0x0).  Short and tall heap areas, cells of 40, 20 and 1 px
 * (a 10 px mark).  (Before: with no free place a label went where it
 * covered the least, over the others' words.) */
static guint check_crowded(cairo_t *cr, guint ncells, double cell, double height, gboolean large)
{
	static const char *const words[] = {"holds it", "new", "was the hole", "back on top", "fixed",
	                                     "referred to", "lets go", "moved into the hole \u00b7 2 fixed"};
	RavscopeSpotlight *sp = ravscope_spotlight_new();
	double cells[4 * 8];
	for (guint i = 0; i < ncells; i++) {
		ravscope_spotlight_add_cell(sp, rav_loc_make(0, 3 + i, 0), words[i]);
		/* a 1 px cell is marked 10 px wide around its centre */
		double w = MAX(cell, 10), cx = 455 + i * MAX(cell + 2, 1) + cell / 2;
		cells[4 * i] = cx - w / 2, cells[4 * i + 1] = 35, cells[4 * i + 2] = w, cells[4 * i + 3] = w;
	}
	RavscopeViewport vp = {.x0 = 220, .y0 = 0, .width = 680, .height = height, .large_text = large, .spotlight = sp};
	double caption[4], boxes[4 * 8];
	ravscope__spotlight_caption_box(cr, &vp, "top cell 0.8 (node) moves into the hole at 0.4 \u2192 4 pointers fixed",
	                                cells, ncells, caption);
	ravscope__spotlight_label_boxes(cr, &vp, cells, caption, boxes);
	guint shown = 0;
	for (guint i = 0; i < ncells; i++) {
		const double *a = boxes + 4 * i;
		if (a[2] <= 0) {
			g_assert_cmpuint(i, >, 0); /* the first label always has room */
			continue;
		}
		shown++;
		g_assert_cmpfloat(a[0], >=, vp.x0);
		g_assert_cmpfloat(a[0] + a[2], <=, vp.x0 + vp.width);
		g_assert_cmpfloat(a[1], >=, vp.y0);
		g_assert_cmpfloat(a[1] + a[3], <=, vp.y0 + vp.height);
		const double *c = caption;
		if (a[0] < c[0] + c[2] && c[0] < a[0] + a[2] && a[1] < c[1] + c[3] && c[1] < a[1] + a[3])
			g_error("%u cells of %.0f px, %.0f px high: '%s' covers the caption", ncells, cell, height, words[i]);
		for (guint j = 0; j < i; j++) {
			const double *b = boxes + 4 * j;
			if (b[2] > 0 && a[0] < b[0] + b[2] && b[0] < a[0] + a[2] && a[1] < b[1] + b[3] && b[1] < a[1] + a[3])
				g_error("%u cells of %.0f px, %.0f px high: '%s' covers '%s'", ncells, cell, height, words[i],
				        words[j]);
		}
	}
	ravscope_spotlight_free(sp);
	return shown;
}

static void test_labels_crowded(void)
{
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 900, 600);
	cairo_t *cr = cairo_create(surf);
	static const double sizes[] = {40, 20, 1};
	static const double heights[] = {180, 500};
	for (guint n = 4; n <= 8; n++)
		for (guint s = 0; s < G_N_ELEMENTS(sizes); s++)
			for (guint h = 0; h < G_N_ELEMENTS(heights); h++)
				for (int large = 0; large < 2; large++) {
					guint shown = check_crowded(cr, n, sizes[s], heights[h], large);
					g_test_message("%u cells of %.0f px, %.0f px high%s: %u labels shown", n, sizes[s],
					               heights[h], large ? ", large text" : "", shown);
					/* a tall area has room for them all */
					if (heights[h] >= 500)
						g_assert_cmpuint(shown, ==, n);
				}
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
}

/* ---- zoom = operation: the operation's pages whole ---- */

static gboolean not_gliding(gpointer heap)
{
	return !ravscope_heap_view_is_gliding(heap);
}

/* Lesson 2's free (zoom = operation): its pages are in view whole, the
 * roots page with the root one of its fix-ups rewrote too (before: the
 * view held page 0 only, the roots page cut at its edge, and the next step
 * talks about that root), and the words fixed are pointed at ("fixed"),
 * at 900 x 600 in presentation mode and on a larger window. */
static void check_operation_pages(RavscopeWindow *w, const RavscopeLessonStep *st, guint k, const char *where);

/* toggle: then switch presentation mode over (on or off) at the step; the
 * pages stay framed (before: entering it replaced the step's framing by
 * its close-up, the pages cut). */
static void check_operation_zoom(RavscopeWindow *w, const RavscopeLesson *l, const char *where, GSettings *toggle)
{
	RavscopeLessonPlayer *p = ravscope_window_get_lesson_player(w);
	guint checked = 0;
	ravscope_window_start_lesson(w, lesson_path);
	spin_until(lesson_at_rest, w, "the lesson's first step");
	for (guint k = 0; k < l->steps->len; k++) {
		if (k > 0) {
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
			spin_until(lesson_at_rest, w, "the next step");
		}
		const RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
		if (st->zoom != RAVSCOPE_ZOOM_OPERATION)
			continue;
		g_assert_true(st->has_op);
		g_assert_cmpint(ravscope_lesson_player_get_step(p), ==, (int)k);
		check_operation_pages(w, st, k, where);
		if (toggle) {
			g_settings_set_boolean(toggle, "large-text", !g_settings_get_boolean(toggle, "large-text"));
			check_operation_pages(w, st, k, "... presentation mode switched over");
		}
		checked++;
	}
	g_assert_cmpuint(checked, >=, 1);
}

static void check_operation_pages(RavscopeWindow *w, const RavscopeLessonStep *st, guint k, const char *where)
{
	RavscopeHeapView *heap = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	RavscopeDocument *doc = ravscope_window_get_document(w);
	for (int i = 0; i < 10; i++)
		spin_a_bit();
	spin_until(not_gliding, heap, "the zoom's end");
	rav_loc fixed[4];
	guint nfixed = ravscope_operation_fixed_words(doc, &st->op, fixed, 4);
	rav_loc want[8] = { st->op.cell, st->op.move_to, st->op.slot };
	guint n = 3;
	for (guint i = 0; i < nfixed; i++)
		want[n++] = fixed[i];
	for (guint i = 0; i < n; i++) {
		if (!want[i] || (want[i] & RAV_LOC_EXTERNAL))
			continue;
		g_test_message("%s, step %u: page %u in view: %d (scale %.0f)", where, k + 1, rav_loc_page(want[i]),
			       ravscope_heap_view_page_in_view(heap, rav_loc_page(want[i])),
			       ravscope_heap_view_get_scale(heap));
		if (!ravscope_heap_view_page_in_view(heap, rav_loc_page(want[i])))
			g_error("%s, step %u (zoom = operation): page %u of %u.%u is not whole in view", where, k + 1,
				rav_loc_page(want[i]), rav_loc_page(want[i]), rav_loc_cell(want[i]));
	}
	/* the fixed words are pointed at */
	const RavscopeSpotlight *sp = ravscope_heap_view_get_spotlight(heap);
	g_assert_nonnull(sp);
	for (guint i = 0; i < nfixed; i++) {
		rav_loc c = rav_loc_make(rav_loc_page(fixed[i]), rav_loc_cell(fixed[i]), 0);
		gboolean found = FALSE;
		for (guint j = 0; j < sp->spots->len; j++) {
			const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, j);
			found |= s->kind == RAVSCOPE_SPOT_CELL && s->cell == c;
		}
		if (!found)
			g_error("%s, step %u: the fixed word in %u.%u is not pointed at", where, k + 1, rav_loc_page(c),
				rav_loc_cell(c));
	}
}

static void test_lesson_zoom_operation(void)
{
	GError *error = NULL;
	g_autoptr(RavscopeLesson) l = ravscope_lesson_load(lesson_path, &error);
	g_assert_no_error(error);
	char **dirs = ravscope_application_trace_dirs();
	g_assert_true(ravscope_lesson_check(l, (const char *const *)dirs, &error));
	g_strfreev(dirs);
	/* the free with a move whose fix-ups rewrote a root: lesson 2's */
	gboolean root_fixed = FALSE;
	for (guint k = 0; k < l->steps->len; k++) {
		const RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
		root_fixed |= st->zoom == RAVSCOPE_ZOOM_OPERATION && st->op.move_fixups >= 2;
	}
	g_assert_true(root_fixed);
	GSettings *settings = ravscope_settings_new();
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), 900, 600);
	gtk_window_present(GTK_WINDOW(w));
	g_settings_set_boolean(settings, "large-text", TRUE);
	resize_to(w, 900, 600);
	check_operation_zoom(w, l, "900x600, presentation mode", NULL);
	g_settings_set_boolean(settings, "large-text", FALSE);
	resize_to(w, 1300, 850);
	check_operation_zoom(w, l, "1300x850", NULL);
	/* a teacher turns presentation mode on at the step, and off again */
	resize_to(w, 1024, 768);
	check_operation_zoom(w, l, "1024x768", settings);
	check_operation_zoom(w, l, "1024x768, presentation mode", settings);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_object_unref(settings);
}

/* An operation that gives a page back to the pool points at it there
 * (lesson 5's "one goes back": the caption said so, nothing showed it). */
static void test_released_pages(void)
{
	g_autofree char *dir = g_path_get_dirname(lesson_path);
	g_autofree char *path = g_build_filename(dir, "lesson-pages.ravtrace", NULL);
	RavscopeWindow *w = new_window();
	GFile *f = g_file_new_for_path(path);
	ravscope_window_open(w, f);
	g_object_unref(f);
	spin_until(is_indexed, w, "indexing");
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_operation op = {0};
	gboolean found = FALSE;
	for (guint64 i = 0; i < ravscope_document_get_event_count(doc) && !found; i = op.last + 1) {
		g_assert_true(rav_trace_operation_at(t, i, &op));
		found = op.pages_released > 0 && op.kind != RAV_OP_THREAD && op.kind != RAV_OP_PAGES;
	}
	g_assert_true(found);
	rav_event_filter filter = {.kinds = (guint64)1 << RAV_EV_PAGE_RELEASE, .thread = op.thread};
	gint64 release = rav_trace_find_next(t, op.first, &filter);
	g_assert_cmpint(release, >=, (gint64)op.first);
	g_assert_cmpint(release, <=, (gint64)op.last);
	rav_event ev;
	g_assert_true(rav_trace_event_at(t, (guint64)release, &ev));
	ravscope_window_seek(w, op.last + 1);
	spin_a_bit();
	RavscopeSpotlight *sp = ravscope_operation_spotlight(doc, &op, TRUE);
	gboolean pointed = FALSE;
	for (guint j = 0; j < sp->spots->len; j++) {
		const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, j);
		pointed |= s->kind == RAVSCOPE_SPOT_PAGE && s->page == rav_loc_page(ev.a) &&
		           !g_strcmp0(s->label, "back to the pool");
	}
	g_assert_true(pointed);
	ravscope_spotlight_free(sp);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* Every step about an operation shows the page it happened on whole, at
 * 900 x 600 in presentation mode, whatever its zoom (lesson 6's "keep"
 * step built its message on a page cut at the bottom of the lanes shown),
 * and a step framing its operation cuts no page at the view's edge. */
static void test_lesson_steps_in_view(void)
{
	const char *names[] = {"02-free.lesson", "03-sharing.lesson", "06-handoff.lesson", "10-deferred.lesson"};
	g_autofree char *dir = g_path_get_dirname(lesson_path);
	GSettings *settings = ravscope_settings_new();
	g_settings_set_boolean(settings, "large-text", TRUE);
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), 900, 600);
	gtk_window_present(GTK_WINDOW(w));
	resize_to(w, 900, 600);
	RavscopeHeapView *heap = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *path = g_build_filename(dir, names[i], NULL);
		ravscope_window_start_lesson(w, path);
		spin_until(lesson_at_rest, w, "the lesson's first step");
		RavscopeLessonPlayer *p = ravscope_window_get_lesson_player(w);
		const RavscopeLesson *l = ravscope_lesson_player_get_lesson(p);
		guint n = l->steps->len;
		for (guint k = 0; k < n; k++) {
			if (k > 0) {
				g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
				spin_until(lesson_at_rest, w, "the next step");
			}
			l = ravscope_lesson_player_get_lesson(p);
			const RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
			if (!st->has_op)
				continue;
			rav_loc c = st->op.cell ? st->op.cell : st->op.move_to ? st->op.move_to : st->op.slot;
			if (!c || (c & RAV_LOC_EXTERNAL))
				continue;
			for (int j = 0; j < 10; j++)
				spin_a_bit();
			spin_until(not_gliding, heap, "the zoom's end");
			g_test_message("%s step %u: page %u in view: %d", names[i], k + 1, rav_loc_page(c),
			               ravscope_heap_view_page_in_view(heap, rav_loc_page(c)));
			if (!ravscope_heap_view_page_in_view(heap, rav_loc_page(c)))
				g_error("%s, step %u: the page of %u.%u, where its operation happened, is not whole in view",
				        names[i], k + 1, rav_loc_page(c), rav_loc_cell(c));
			/* and a step framing its operation shows no page cut at the
			 * edge (lessons 3 and 10: the roots page beside page 0) */
			if (st->zoom == RAVSCOPE_ZOOM_OPERATION && ravscope_heap_view_pages_cut(heap))
				g_error("%s, step %u (zoom = operation): %u page(s) cut at the view's edge", names[i], k + 1,
				        ravscope_heap_view_pages_cut(heap));
		}
	}
	g_settings_set_boolean(settings, "large-text", FALSE);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_object_unref(settings);
}

/* A lesson's contention step (lesson 9) keeps the side panel folded: the
 * model's first computation opened it, over the heap and the narration
 * at 900 x 600. */
static void test_lesson_contention_panel(void)
{
	g_autofree char *dir = g_path_get_dirname(lesson_path);
	g_autofree char *path = g_build_filename(dir, "09-chatty.lesson", NULL);
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), 900, 600);
	gtk_window_present(GTK_WINDOW(w));
	ravscope_window_start_lesson(w, path);
	spin_until(lesson_at_rest, w, "the lesson's first step");
	AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
	RavscopeLessonPlayer *p = ravscope_window_get_lesson_player(w);
	const RavscopeLesson *l = ravscope_lesson_player_get_lesson(p);
	guint n = l->steps->len, on = 0;
	for (guint k = 0; k < n; k++) {
		if (k > 0) {
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.lesson-next", NULL));
			spin_until(lesson_at_rest, w, "the next step");
		}
		l = ravscope_lesson_player_get_lesson(p);
		const RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
		for (int j = 0; j < 20; j++)
			spin_a_bit();
		on += st->contention == 1;
		if (adw_flap_get_reveal_flap(flap))
			g_error("lesson 9, step %u: the side panel opened", k + 1);
	}
	g_assert_cmpuint(on, >=, 1);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* ---- full screen for a projector ---- */

/* F11 (full screen) and F5 (Present) are the projector's keys but while a
 * live program is held, when they are the debugger's Step and Continue;
 * Shift+F11 and Shift+F5 are always the projector's.  Present turns on
 * presentation mode and, again, back to what it was. */
static void test_projector_keys(void)
{
	GSettings *settings = ravscope_settings_new();
	g_settings_set_boolean(settings, "large-text", FALSE);
	RavscopeWindow *w = new_window();
	struct {
		guint key;
		GdkModifierType mods;
		const char *action;
	} keys[] = {
	    {GDK_KEY_F11, 0, "win.fullscreen"},
	    {GDK_KEY_F11, GDK_SHIFT_MASK, "win.fullscreen"},
	    {GDK_KEY_F5, 0, "win.present"},
	    {GDK_KEY_F5, GDK_SHIFT_MASK, "win.present"},
	    {GDK_KEY_F11, GDK_CONTROL_MASK, NULL},
	    {GDK_KEY_F10, 0, NULL},
	};
	for (guint i = 0; i < G_N_ELEMENTS(keys); i++)
		g_assert_cmpstr(ravscope_window_projector_key(w, keys[i].key, keys[i].mods), ==, keys[i].action);
	/* (held by the debugger, F11 and F5 go on to it: test-live) */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.present", NULL));
	g_assert_true(g_settings_get_boolean(settings, "large-text"));
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.present", NULL));
	g_assert_false(g_settings_get_boolean(settings, "large-text"));
	/* presentation mode on before stays on after */
	g_settings_set_boolean(settings, "large-text", TRUE);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.present", NULL));
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.present", NULL));
	g_assert_true(g_settings_get_boolean(settings, "large-text"));
	/* Escape ends Present when nothing is selected */
	g_settings_set_boolean(settings, "large-text", FALSE);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.present", NULL));
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.unselect", NULL));
	g_assert_false(g_settings_get_boolean(settings, "large-text"));
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_object_unref(settings);
}

static void test_glossary(void)
{
	RavscopeGlossaryWindow *g = ravscope_glossary_show(NULL, "hole");
	spin_a_bit();
	g_assert_cmpstr(ravscope_glossary_window_get_current(g), ==, "hole");
	ravscope_glossary_show(NULL, "back-link");
	g_assert_cmpstr(ravscope_glossary_window_get_current(g), ==, "back-link");
	gtk_window_destroy(GTK_WINDOW(g));
	spin_a_bit();
}

typedef struct {
	RavscopeCompareWindow *cw;
} CompareWait;

static gboolean compare_done(gpointer data)
{
	rav_contention_totals t;
	CompareWait *c = data;
	return ravscope_compare_window_get_totals(c->cw, 0, &t) &&
	       ravscope_compare_window_get_totals(c->cw, 1, &t);
}

static void model_totals(const char *path, rav_contention_totals *out)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	g_assert_nonnull(t);
	g_assert_cmpint(rav_trace_index(t, NULL, NULL, &err), ==, 0);
	rav_contention_config cfg = {.line_size = 64};
	rav_contention *c = rav_contention_run(t, &cfg, NULL, NULL, &err);
	g_assert_nonnull(c);
	rav_contention_get_totals(c, out);
	rav_contention_free(c);
	rav_trace_close(t);
}

static void test_compare(void)
{
	CompareWait c = {ravscope_compare_window_new(NULL, chatty_path, messages_path)};
	gtk_window_present(GTK_WINDOW(c.cw));
	spin_until(compare_done, &c, "both cache models");
	spin_a_bit();
	const char *paths[2] = {chatty_path, messages_path};
	for (guint i = 0; i < 2; i++) {
		rav_contention_totals shown, direct;
		g_assert_true(ravscope_compare_window_get_totals(c.cw, i, &shown));
		model_totals(paths[i], &direct);
		g_assert_cmpuint(shown.transfers, ==, direct.transfers);
		g_assert_cmpuint(shown.invalidations, ==, direct.invalidations);
		g_assert_cmpuint(shown.accesses, ==, direct.accesses);
	}
	g_assert_nonnull(
	    strstr(ravscope_compare_window_get_summary(c.cw), "Cache lines moved between cores"));
	gtk_window_destroy(GTK_WINDOW(c.cw));
	spin_a_bit();
}

/* ---- the contention window's length: a setting, shown and set in the Lines panel ---- */

static gboolean contention_done(gpointer data)
{
	RavscopeContention *c = data;
	return !ravscope_contention_is_running(c) && ravscope_contention_get_result(c) != NULL;
}

static void test_contention_window(void)
{
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(chatty_path, &error);
	g_assert_no_error(error);
	g_assert_true(ravscope_document_index_sync(doc, &error));
	guint64 n = ravscope_document_get_event_count(doc);
	GSettings *settings = ravscope_settings_new();
	RavscopeContention *c = ravscope_contention_new();
	ravscope_contention_set_settings(c, settings);
	ravscope_contention_set_document(c, doc);
	/* automatic by default: a fortieth of the trace, at least 2000 */
	g_assert_cmpuint(g_settings_get_uint(settings, "contention-window"), ==, 0);
	g_assert_cmpuint(ravscope_contention_window_events(c), ==, MAX(2000, n / 40));
	/* the setting is the model's window */
	g_settings_set_uint(settings, "contention-window", 1234);
	g_assert_cmpuint(ravscope_contention_get_window_length(c), ==, 1234);
	g_assert_cmpuint(ravscope_contention_window_events(c), ==, 1234);
	g_assert_true(ravscope_document_seek(doc, n / 2, &error));
	ravscope_contention_set_windowed(c, TRUE);
	ravscope_contention_set_active(c, TRUE);
	spin_until(contention_done, c, "the windowed model");
	guint64 from, to;
	ravscope_contention_get_range(c, &from, &to);
	g_assert_cmpuint(to, ==, n / 2);
	g_assert_cmpuint(from, ==, n / 2 - 1234);
	/* the Lines panel shows it, and a length typed there is the setting,
	 * and the model follows once the value rests */
	GtkWidget *panel = ravscope_contention_panel_new();
	GtkWidget *win = gtk_window_new();
	gtk_window_set_child(GTK_WINDOW(win), panel);
	ravscope_contention_panel_set_contention(RAVSCOPE_CONTENTION_PANEL(panel), c);
	gtk_window_present(GTK_WINDOW(win));
	spin_a_bit();
	GtkWidget *spin = NULL;
	GPtrArray *todo = g_ptr_array_new();
	g_ptr_array_add(todo, panel);
	while (todo->len && !spin) {
		GtkWidget *x = g_ptr_array_steal_index(todo, todo->len - 1);
		if (GTK_IS_SPIN_BUTTON(x))
			spin = x;
		for (GtkWidget *k = gtk_widget_get_first_child(x); k; k = gtk_widget_get_next_sibling(k))
			g_ptr_array_add(todo, k);
	}
	g_ptr_array_unref(todo);
	g_assert_nonnull(spin);
	g_assert_cmpfloat(gtk_spin_button_get_value(GTK_SPIN_BUTTON(spin)), ==, 1234);
	g_assert_cmpstr(gtk_editable_get_text(GTK_EDITABLE(spin)), ==, "1234");
	g_assert_true(gtk_widget_get_visible(gtk_widget_get_ancestor(spin, ADW_TYPE_ACTION_ROW)));
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(spin), 5000);
	g_assert_cmpuint(g_settings_get_uint(settings, "contention-window"), ==, 5000);
	for (int i = 0; i < 200; i++) {
		ravscope_contention_get_range(c, &from, &to);
		if (from == n / 2 - 5000 && contention_done(c))
			break;
		spin_a_bit();
	}
	g_assert_cmpuint(from, ==, n / 2 - 5000);
	g_assert_cmpuint(to, ==, n / 2);
	/* 0 is automatic again */
	gtk_spin_button_set_value(GTK_SPIN_BUTTON(spin), 0);
	spin_a_bit();
	g_assert_cmpstr(gtk_editable_get_text(GTK_EDITABLE(spin)), ==, "auto");
	g_assert_cmpuint(ravscope_contention_window_events(c), ==, MAX(2000, n / 40));
	/* typed: a count, or "auto" */
	gtk_editable_set_text(GTK_EDITABLE(spin), "3000");
	gtk_spin_button_update(GTK_SPIN_BUTTON(spin));
	g_assert_cmpuint(g_settings_get_uint(settings, "contention-window"), ==, 3000);
	gtk_editable_set_text(GTK_EDITABLE(spin), "auto");
	gtk_spin_button_update(GTK_SPIN_BUTTON(spin));
	g_assert_cmpuint(g_settings_get_uint(settings, "contention-window"), ==, 0);
	ravscope_contention_panel_set_contention(RAVSCOPE_CONTENTION_PANEL(panel), NULL);
	gtk_window_destroy(GTK_WINDOW(win));
	spin_a_bit();
	ravscope_contention_set_active(c, FALSE);
	g_object_unref(c);
	g_object_unref(settings);
	g_object_unref(doc);
}

int main(int argc, char **argv)
{
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc != 5 && argc != 6) {
		g_printerr("usage: test-teach LESSON TRACE CHATTY MESSAGES [ATTACH-TRACE]\n");
		return 2;
	}
	lesson_path = argv[1];
	trace_path = argv[2];
	chatty_path = argv[3];
	messages_path = argv[4];
	/* No animation: steps apply at once (the settings backend is memory). */
	GSettings *s = ravscope_settings_new();
	if (s) {
		g_settings_set_boolean(s, "animate", FALSE);
		g_object_unref(s);
	}
	g_test_add_data_func("/Rav/Gui/Teach/operation-step", trace_path, test_operation_step);
	if (argc == 6) {
		g_test_add_data_func("/Rav/Gui/Teach/operation-step-attach", argv[5], test_operation_step);
		g_test_add_data_func("/Rav/Gui/Teach/attach-snapshots", argv[5], test_attach_steps);
	}
	g_test_add_func("/Rav/Gui/Teach/lesson", test_lesson);
	g_test_add_func("/Rav/Gui/Teach/lesson-small-screen", test_lesson_small_screen);
	g_test_add_func("/Rav/Gui/Teach/contention-window", test_contention_window);
	g_test_add_func("/Rav/Gui/Teach/lesson-keys-first", test_lesson_keys_first);
	g_test_add_func("/Rav/Gui/Teach/lesson-presentation-start", test_lesson_presentation_start);
	g_test_add_func("/Rav/Gui/Teach/lesson-long-text", test_lesson_long_text);
	g_test_add_func("/Rav/Gui/Teach/caption-room", test_caption_room);
	g_test_add_func("/Rav/Gui/Teach/labels-apart", test_labels_apart);
	g_test_add_func("/Rav/Gui/Teach/labels-crowded", test_labels_crowded);
	g_test_add_func("/Rav/Gui/Teach/lesson-zoom-operation", test_lesson_zoom_operation);
	g_test_add_func("/Rav/Gui/Teach/projector-keys", test_projector_keys);
	g_test_add_func("/Rav/Gui/Teach/released-pages", test_released_pages);
	g_test_add_func("/Rav/Gui/Teach/lesson-steps-in-view", test_lesson_steps_in_view);
	g_test_add_func("/Rav/Gui/Teach/lesson-contention-panel", test_lesson_contention_panel);
	g_test_add_func("/Rav/Gui/Teach/glossary", test_glossary);
	g_test_add_func("/Rav/Gui/Teach/compare", test_compare);
	return g_test_run();
}
