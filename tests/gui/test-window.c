/* test-window.c - the ravscope window on a real trace, under X (Xvfb).
 *
 * Usage: test-window TRACE...  For each trace: open it, wait for indexing,
 * seek, step forward and back through the window's actions, select a live
 * cell and read the inspector, draw the heap view and count the selected
 * type's colour, toggle the contention overlay.  Then bad files: a corrupt
 * one shows the error page in words, a truncated one opens with a notice;
 * and 300 threads: readable lanes that scroll.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "ravscope-heap-view.h"
#include "ravscope-heapdraw.h"
#include "ravscope-window.h"
#include "gui-test.h"
#include "replay-gen.h"

static char **traces;
static int n_traces;

/* A window that has started opening path (not waiting: the page it
 * shows meanwhile is checked). */
static RavscopeWindow *start_opening(const char *path)
{
	RavscopeWindow *w = present_window(1200, 800);
	open_path(w, path);
	return w;
}

static guint64 count_rgb(cairo_surface_t *s, guint32 rgb)
{
	cairo_surface_flush(s);
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	int stride = cairo_image_surface_get_stride(s);
	const guint8 *d = cairo_image_surface_get_data(s);
	guint64 n = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			n += (((const guint32 *)(d + (size_t)y * stride))[x] & 0xffffff) == rgb;
	return n;
}

/* The first live cell of a user type at the playhead (or RAV_LOC_NONE). */
static rav_loc first_live_cell(RavscopeDocument *doc, guint16 *type)
{
	rav_state *s = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(s, i, &h))
			continue;
		for (unsigned p = 0; p < h.page_count; p++) {
			for (unsigned c = 1; c < cpp; c++) {
				rav_state_cell cell;
				if (rav_state_cell_at(s, h.pages[p], c, &cell) && cell.state == RAV_CELL_LIVE &&
				    cell.type >= RAVSCOPE_TYPE_FIRST_USER) {
					*type = cell.type;
					return rav_loc_make(h.pages[p], c, 0);
				}
			}
		}
	}
	return RAV_LOC_NONE;
}

/* A step over a move also applies the fix-ups right after it. */
static void assert_after_move(RavscopeDocument *doc, guint64 move)
{
	guint64 pos = ravscope_document_get_position(doc);
	g_assert_cmpuint(pos, >, move);
	for (guint64 i = move + 1; i < pos; i++) {
		rav_event ev;
		g_assert_true(rav_trace_event_at(ravscope_document_get_trace(doc), i, &ev));
		if (ev.kind != RAV_EV_FIXUP && ev.kind != RAV_EV_LINK && ev.kind != RAV_EV_TIME)
			g_error("a step over the move at %" G_GUINT64_FORMAT " also applied event %" G_GUINT64_FORMAT
				" (%s)", move, i, rav_event_kind_name(ev.kind));
	}
}

static void test_trace(gconstpointer data)
{
	const char *path = data;
	RavscopeWindow *w = start_opening(path);
	g_assert_cmpstr(ravscope_window_get_page(w), ==, "trace");
	spin_until(is_indexed, w, "indexing");
	spin_a_bit();
	RavscopeDocument *doc = ravscope_window_get_document(w);
	guint64 n = ravscope_document_get_event_count(doc);
	g_assert_cmpuint(n, >, 0);

	/* Seek to the middle, step forward and back. */
	ravscope_window_seek(w, n / 2);
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, n / 2);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
	guint64 after = ravscope_document_get_position(doc);
	g_assert_cmpuint(after, >, n / 2);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-back", NULL));
	g_assert_cmpuint(ravscope_document_get_position(doc), <, after);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.home", NULL));
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, 0);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.end", NULL));
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, n);

	/* Find a moment with live cells of a user type: the busiest one. */
	guint16 type = 0;
	rav_loc cell = RAV_LOC_NONE;
	for (guint k = 1; k <= 8 && cell == RAV_LOC_NONE; k++) {
		ravscope_window_seek(w, n * k / 9);
		cell = first_live_cell(doc, &type);
	}
	if (cell == RAV_LOC_NONE) {
		g_test_message("%s: no live cell of a user type at the probed points", path);
	} else {
		ravscope_window_select_cell(w, cell);
		spin_a_bit();
		g_autofree char *text = ravscope_window_dup_inspector_text(w);
		g_autofree char *loc = ravscope_format_loc(cell);
		const char *tname = ravscope_document_type_name(doc, type);
		if (!strstr(text, loc) || !strstr(text, tname) || !strstr(text, "History") || !strstr(text, "Referrers"))
			g_error("inspector for %s (%s) shows:\n%s", loc, tname, text);

		/* What the heap view draws: the selected type's colour is there. */
		GtkWidget *hv = ravscope_window_get_heap_view(w);
		int hw = MAX(gtk_widget_get_width(hv), 400), hh = MAX(gtk_widget_get_height(hv), 300);
		cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, hw, hh);
		cairo_t *cr = cairo_create(s);
		ravscope_heap_view_draw_to(RAVSCOPE_HEAP_VIEW(hv), cr, hw, hh);
		cairo_destroy(cr);
		gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
		guint64 px = count_rgb(s, ravscope_type_argb(type, dark) & 0xffffff);
		cairo_surface_destroy(s);
		g_assert_cmpuint(px, >, 0);

		/* Zoom onto the selection: still drawn, and the scale grew. */
		double before = ravscope_heap_view_get_scale(RAVSCOPE_HEAP_VIEW(hv));
		ravscope_heap_view_focus_cell(RAVSCOPE_HEAP_VIEW(hv), cell);
		spin_a_bit();
		for (int i = 0; i < 100; i++) {
			g_main_context_iteration(NULL, FALSE);
			g_usleep(5000);
		}
		g_assert_cmpfloat(ravscope_heap_view_get_scale(RAVSCOPE_HEAP_VIEW(hv)), >=, before);

		/* Stepping keeps the zoom the person chose. */
		double zoomed = ravscope_heap_view_get_scale(RAVSCOPE_HEAP_VIEW(hv));
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
		spin_a_bit();
		g_assert_cmpfloat(fabs(ravscope_heap_view_get_scale(RAVSCOPE_HEAP_VIEW(hv)) - zoomed), <, 1e-6);
	}

	/* Follow: select the cell a move will take, step over the move, and
	 * the selection has moved with its raviolo. */
	{
		rav_event_filter f = { .kinds = (guint64)1 << RAV_EV_MOVE, .thread = -1 };
		int64_t mv = rav_trace_find_next(ravscope_document_get_trace(doc), 0, &f);
		if (mv >= 0) {
			rav_event ev;
			g_assert_true(rav_trace_event_at(ravscope_document_get_trace(doc), (guint64)mv, &ev));
			ravscope_window_seek(w, (guint64)mv);
			rav_loc from = rav_loc_make(rav_loc_page(ev.a), rav_loc_cell(ev.a), 0);
			rav_loc to = rav_loc_make(rav_loc_page(ev.b), rav_loc_cell(ev.b), 0);
			ravscope_window_select_cell(w, from);
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.follow", NULL));
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
			assert_after_move(doc, (guint64)mv);
			GtkWidget *hv = ravscope_window_get_heap_view(w);
			g_assert_cmphex(ravscope_heap_view_get_selected(RAVSCOPE_HEAP_VIEW(hv)), ==, to);
			spin_a_bit();
			g_autofree char *text = ravscope_window_dup_inspector_text(w);
			g_autofree char *tl = ravscope_format_loc(to);
			g_assert_nonnull(strstr(text, tl));
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.follow", NULL));
		}
	}

	/* Jump to the next move: the playhead lands just after one. */
	{
		ravscope_window_seek(w, 0);
		rav_event_filter f = { .kinds = (guint64)1 << RAV_EV_MOVE, .thread = -1 };
		int64_t mv = rav_trace_find_next(ravscope_document_get_trace(doc), 0, &f);
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.jump-next", NULL));
		if (mv >= 0)
			assert_after_move(doc, (guint64)mv);
		else
			g_assert_cmpuint(ravscope_document_get_position(doc), ==, 0);
	}

	/* Contention overlay on, then off: the toggle reflects it. */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.contention", NULL));
	gboolean on = FALSE;
	g_object_get(w, "show-contention", &on, NULL);
	g_assert_true(on);
	gtk_widget_activate_action(GTK_WIDGET(w), "win.contention", NULL);
	g_object_get(w, "show-contention", &on, NULL);
	g_assert_false(on);

	/* Play for a moment: the playhead moves on its own. */
	ravscope_window_seek(w, 0);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.play", NULL));
	g_assert_true(ravscope_window_is_playing(w));
	gint64 deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
	while (ravscope_document_get_position(doc) == 0 && g_get_monotonic_time() < deadline) {
		g_main_context_iteration(NULL, FALSE);
		g_usleep(2000);
	}
	g_assert_cmpuint(ravscope_document_get_position(doc), >, 0);
	gtk_widget_activate_action(GTK_WIDGET(w), "win.play", NULL);
	g_assert_false(ravscope_window_is_playing(w));
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* A program with more threads than lanes fit in the window: lanes stay
 * readable (a line of text each) and the view scrolls through them. */
static void test_many_threads(void)
{
	g_autofree char *dir = g_dir_make_tmp("ravscope-win-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "threads-300.ravtrace", NULL);
	gen_params gp = { .path = path, .events = 300 * 600, .live_target = 300, .threads = 300, .seed = 3 };
	g_assert_cmpint(gen_trace(&gp, NULL), ==, 0);
	RavscopeWindow *w = start_opening(path);
	spin_until(is_indexed, w, "indexing 300 threads");
	spin_a_bit();
	RavscopeHeapView *hv = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	RavscopeLanesShown ls;
	gboolean scrolls;
	ravscope_heap_view_get_lanes_shown(hv, &ls, &scrolls);
	g_assert_true(scrolls);
	g_assert_cmpuint(ls.shown, >=, 5);
	g_assert_cmpuint(ls.first, ==, 0);
	g_assert_cmpfloat(ls.min_px, >=, 16);
	guint last = ls.last;
	ravscope_heap_view_scroll_lanes(hv, 1);
	ravscope_heap_view_get_lanes_shown(hv, &ls, &scrolls);
	g_assert_cmpuint(ls.first, >, 0);
	g_assert_cmpuint(ls.first, <=, last + 1);
	/* Far down and back: clamped to the lanes there are. */
	ravscope_heap_view_scroll_lanes(hv, 1000);
	ravscope_heap_view_get_lanes_shown(hv, &ls, &scrolls);
	g_assert_cmpuint(ls.last, ==, 300 + 1); /* thread lanes, then messages and pool */
	ravscope_heap_view_scroll_lanes(hv, -1000);
	ravscope_heap_view_get_lanes_shown(hv, &ls, &scrolls);
	g_assert_cmpuint(ls.first, ==, 0);
	/* Playing keeps lanes and scroll position. */
	ravscope_heap_view_scroll_lanes(hv, 2);
	ravscope_heap_view_get_lanes_shown(hv, &ls, &scrolls);
	guint first = ls.first;
	ravscope_window_seek(w, 1000);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
	spin_a_bit();
	ravscope_heap_view_get_lanes_shown(hv, &ls, &scrolls);
	g_assert_true(scrolls);
	g_assert_cmpuint(ls.first, ==, first);
	int hw = MAX(gtk_widget_get_width(GTK_WIDGET(hv)), 400), hh = MAX(gtk_widget_get_height(GTK_WIDGET(hv)), 300);
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, hw, hh);
	cairo_t *cr = cairo_create(s);
	ravscope_heap_view_draw_to(hv, cr, hw, hh);
	g_assert_cmpint(cairo_status(cr), ==, CAIRO_STATUS_SUCCESS);
	cairo_destroy(cr);
	cairo_surface_destroy(s);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_unlink(path);
	g_rmdir(dir);
}

static void test_corrupt(void)
{
	g_autofree char *dir = g_dir_make_tmp("ravscope-win-XXXXXX", NULL);
	g_autofree char *bogus = g_build_filename(dir, "bogus.ravtrace", NULL);
	g_assert_true(g_file_set_contents(bogus, "RAVTRACE? no, just text that is long enough to have a header\n", -1, NULL));
	RavscopeWindow *w = start_opening(bogus);
	g_assert_cmpstr(ravscope_window_get_page(w), ==, "error");
	const char *msg = ravscope_window_get_error_text(w);
	g_assert_nonnull(msg);
	g_assert_cmpuint(strlen(msg), >, 10);
	g_assert_null(ravscope_window_get_document(w));
	gtk_window_destroy(GTK_WINDOW(w));

	/* A truncated copy of a real trace opens with what could be read. */
	gchar *contents = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(traces[0], &contents, &len, NULL));
	g_autofree char *cut = g_build_filename(dir, "cut.ravtrace", NULL);
	g_assert_true(g_file_set_contents(cut, contents, (gssize)(len * 2 / 3), NULL));
	g_free(contents);
	w = start_opening(cut);
	const char *page = ravscope_window_get_page(w);
	if (g_strcmp0(page, "trace") == 0) {
		RavscopeDocument *doc = ravscope_window_get_document(w);
		g_assert_true(ravscope_document_get_info(doc)->truncated);
		spin_until(is_indexed, w, "indexing a truncated trace");
	} else {
		/* Too short to hold a complete chunk: then it must say why. */
		g_assert_cmpstr(page, ==, "error");
		g_assert_cmpuint(strlen(ravscope_window_get_error_text(w)), >, 10);
	}
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
	g_unlink(bogus);
	g_unlink(cut);
	g_rmdir(dir);
}

/* ---- the side panel's flap at its first layout ---- */

typedef struct {
	guint early; /* reveal changes started, animated, before the flap had a width */
	guint nan;   /* reveal progress NaN */
} FlapWatch;

static void on_reveal_flap(AdwFlap *flap, GParamSpec *pspec, FlapWatch *fw)
{
	(void)pspec;
	gboolean animate = FALSE;
	g_object_get(gtk_widget_get_settings(GTK_WIDGET(flap)), "gtk-enable-animations", &animate, NULL);
	if (animate && gtk_widget_get_mapped(GTK_WIDGET(flap)) && adw_swipeable_get_distance(ADW_SWIPEABLE(flap)) <= 0)
		fw->early++;
}

static void on_reveal_progress(AdwFlap *flap, GParamSpec *pspec, FlapWatch *fw)
{
	(void)pspec;
	fw->nan += isnan(adw_flap_get_reveal_progress(flap));
}

/* Find (the Events panel) as the flap folds at its first layout, before
 * the window has hidden the panel for that fold. */
static void find_as_it_folds(AdwFlap *flap, GParamSpec *pspec, RavscopeWindow *w)
{
	(void)pspec;
	if (adw_flap_get_folded(flap))
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.find", NULL));
	g_signal_handlers_disconnect_by_func(flap, find_as_it_folds, w);
}

static GtkWidget *find_sidebar_button(GtkWidget *w)
{
	if (GTK_IS_TOGGLE_BUTTON(w) && !g_strcmp0(gtk_button_get_icon_name(GTK_BUTTON(w)), "sidebar-show-right-symbolic"))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		GtkWidget *found = find_sidebar_button(c);
		if (found)
			return found;
	}
	return NULL;
}

/* A wide window's flap never folds, so it stays locked: only its width. */
static gboolean flap_laid_out_wide_or_narrow(gpointer flap)
{
	return adw_swipeable_get_distance(ADW_SWIPEABLE(flap)) > 0;
}

static gboolean flap_laid_out(gpointer flap)
{
	return adw_swipeable_get_distance(ADW_SWIPEABLE(flap)) > 0 && !adw_flap_get_locked(flap);
}

/* A window narrower than the heap column and the side panel together
 * (600 + 360 px at their minimum): the flap folds at its first layout and
 * hides the panel, and a panel asked for before that (a start panel), or
 * as it folds (Find), stays open over the heap.  AdwFlap (1.2) starts a reveal animation at a velocity of
 * 0 / distance, the distance being its flap's width at its last layout, 0
 * before the first: hiding the panel as it folded there gave NaN, and when
 * the animation's first frame came in the same millisecond (a loaded
 * machine) the heap column was allocated -2147483648 px wide for a frame
 * (a fatal Gtk-WARNING: CI's SIGTRAP in gui teach).  So no animated
 * reveal change may start before the flap has a width. */
static void test_narrow_first_layout(void)
{
	for (int asked = 0; asked < 3; asked++) {
		FlapWatch fw = { 0 };
		RavscopeWindow *w = present_window(800, 600);
		AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
		g_signal_connect(flap, "notify::reveal-flap", G_CALLBACK(on_reveal_flap), &fw);
		g_signal_connect(flap, "notify::reveal-progress", G_CALLBACK(on_reveal_progress), &fw);
		if (asked == 1)
			ravscope_window_set_start(w, -1, RAV_LOC_NONE, ravscope_window_panel_name("events"));
		if (asked == 2)
			g_signal_connect(flap, "notify::folded", G_CALLBACK(find_as_it_folds), w);
		open_path(w, traces[0]);
		spin_until(is_indexed, w, "indexing");
		spin_until(flap_laid_out, flap, "the flap's first layout");
		spin_a_bit();
		g_test_message("panel asked for: %d; folded %d, revealed %d; early reveal changes %u, NaN %u", asked,
			       adw_flap_get_folded(flap), adw_flap_get_reveal_flap(flap), fw.early, fw.nan);
		g_assert_true(adw_flap_get_folded(flap));
		g_assert_cmpint(adw_flap_get_reveal_flap(flap), ==, asked > 0);
		if (fw.early)
			g_error("the flap's reveal changed, animated, %u time(s) before its first layout", fw.early);
		g_assert_cmpuint(fw.nan, ==, 0);
		g_signal_handlers_disconnect_by_data(flap, &fw);
		close_window(w);
	}
}

/* The side panel hidden or shown before the flap's first layout (F9, or a
 * lesson whose tiny trace was indexed before the window's first frame:
 * set_lesson_mode hides the panel): the change waits for the flap to have a
 * width, as the first fold does, so it never starts AdwFlap's animation at
 * 0 / 0; the button and the flap agree afterwards, wide or narrow. */
static void test_toggle_before_layout(void)
{
	const int sizes[][2] = { { 1300, 850 }, { 800, 600 } };
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		FlapWatch fw = { 0 };
		RavscopeWindow *w = present_window(sizes[i][0], sizes[i][1]);
		AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
		GtkToggleButton *button = GTK_TOGGLE_BUTTON(find_sidebar_button(GTK_WIDGET(w)));
		g_signal_connect(flap, "notify::reveal-flap", G_CALLBACK(on_reveal_flap), &fw);
		g_signal_connect(flap, "notify::reveal-progress", G_CALLBACK(on_reveal_progress), &fw);
		open_path(w, traces[0]);
		g_assert_true(gtk_toggle_button_get_active(button));
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.toggle-sidebar", NULL));
		g_assert_false(gtk_toggle_button_get_active(button));
		spin_until(is_indexed, w, "indexing");
		spin_until(flap_laid_out_wide_or_narrow, flap, "the flap's first layout");
		spin_a_bit();
		g_test_message("%dx%d: folded %d, revealed %d; early reveal changes %u, NaN %u", sizes[i][0],
			       sizes[i][1], adw_flap_get_folded(flap), adw_flap_get_reveal_flap(flap), fw.early, fw.nan);
		if (fw.early)
			g_error("the flap's reveal changed, animated, %u time(s) before its first layout", fw.early);
		g_assert_cmpuint(fw.nan, ==, 0);
		g_assert_false(adw_flap_get_reveal_flap(flap));
		g_assert_false(gtk_toggle_button_get_active(button));
		/* and back: the button shows it, the flap tells the button */
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.toggle-sidebar", NULL));
		spin_a_bit();
		g_assert_true(adw_flap_get_reveal_flap(flap));
		adw_flap_set_reveal_flap(flap, FALSE); /* as Escape or a click outside does */
		g_assert_false(gtk_toggle_button_get_active(button));
		g_signal_handlers_disconnect_by_data(flap, &fw);
		close_window(w);
	}
}

int main(int argc, char **argv)
{
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc < 2) {
		g_printerr("usage: %s TRACE...\n", argv[0]);
		return 2;
	}
	traces = argv + 1;
	n_traces = argc - 1;
	for (int i = 0; i < n_traces; i++) {
		g_autofree char *base = g_path_get_basename(traces[i]);
		g_autofree char *name = g_strdup_printf("/Rav/Gui/Window/%s", base);
		g_test_add_data_func(name, traces[i], test_trace);
	}
	g_test_add_func("/Rav/Gui/Window/bad-files", test_corrupt);
	g_test_add_func("/Rav/Gui/Window/many-threads", test_many_threads);
	g_test_add_func("/Rav/Gui/Window/narrow-first-layout", test_narrow_first_layout);
	g_test_add_func("/Rav/Gui/Window/toggle-before-layout", test_toggle_before_layout);
	return g_test_run();
}
