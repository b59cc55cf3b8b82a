/* test-rough-edges.c - regressions of the rough edges a newcomer met in the
 * first minutes (issue #12), each where a test can see it, under X (Xvfb).
 *
 * Usage: test-rough-edges TRACE...  (the demo traces; the tests pick the
 * ones they need by name).  Each test path names the rough edge it guards.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "ravscope-charts-panel.h"
#include "ravscope-charts.h"
#include "ravscope-heap-view.h"
#include "ravscope-heapdraw.h"
#include "ravscope-playback.h"
#include "ravscope-window.h"
#include "format.h"
#include "ravscope-application.h"

static char **traces;
static int n_traces;

static const char *demo(const char *name)
{
	for (int i = 0; i < n_traces; i++) {
		g_autofree char *base = g_path_get_basename(traces[i]);
		if (g_str_has_prefix(base, name) && base[strlen(name)] == '.')
			return traces[i];
	}
	return NULL;
}

static void spin_a_bit(void)
{
	for (int i = 0; i < 50; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(2000);
	}
}

static gboolean is_indexed(RavscopeWindow *w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc && ravscope_document_is_indexed(doc);
}

static void wait_indexed(RavscopeWindow *w)
{
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	while (!is_indexed(w)) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for indexing");
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	spin_a_bit();
}

static RavscopeWindow *open_window(const char *path, int width, int height)
{
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	gtk_window_present(GTK_WINDOW(w));
	if (path) {
		GFile *f = g_file_new_for_path(path);
		ravscope_window_open(w, f);
		g_object_unref(f);
		wait_indexed(w);
	}
	spin_a_bit();
	return w;
}

static void close_window(RavscopeWindow *w)
{
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* ---- 1: everything reachable in a small window ------------------------------ */

static gboolean inside_scroller(GtkWidget *w, GtkWidget *top)
{
	for (GtkWidget *p = gtk_widget_get_parent(w); p && p != top; p = gtk_widget_get_parent(p))
		if (GTK_IS_SCROLLED_WINDOW(p) || GTK_IS_VIEWPORT(p) || GTK_IS_POPOVER(p))
			return TRUE;
	return FALSE;
}

/* Every control drawn in the window lies inside it: nothing cut off at its
 * left side or hidden past its right edge.  Returns how many were checked. */
static guint check_controls_inside(GtkWidget *window, GtkWidget *w, const char *when)
{
	guint n = 0;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (!gtk_widget_get_mapped(c) || GTK_IS_POPOVER(c) || GTK_IS_NATIVE(c))
			continue;
		gboolean control = GTK_IS_BUTTON(c) || GTK_IS_MENU_BUTTON(c) || GTK_IS_DROP_DOWN(c) ||
				   g_str_has_prefix(G_OBJECT_TYPE_NAME(c), "Ravscope");
		if (control && !inside_scroller(c, window) && gtk_widget_get_width(c) > 0) {
			graphene_rect_t b;
			g_assert_true(gtk_widget_compute_bounds(c, window, &b));
			int ww = gtk_widget_get_width(window), wh = gtk_widget_get_height(window);
			if (b.origin.x < -0.5 || b.origin.y < -0.5 || b.origin.x + b.size.width > ww + 0.5 ||
			    b.origin.y + b.size.height > wh + 0.5)
				g_error("%s: %s (%s) at %.0f,%.0f %.0fx%.0f is not inside the %dx%d window", when,
					G_OBJECT_TYPE_NAME(c), gtk_widget_get_tooltip_text(c) ? gtk_widget_get_tooltip_text(c) : "",
					b.origin.x, b.origin.y, b.size.width, b.size.height, ww, wh);
			n++;
		}
		n += check_controls_inside(window, c, when);
	}
	return n;
}

/* The first widget of a type under w, popovers left out (drop-downs hold
 * list views of their own). */
static GtkWidget *find_by_type(GtkWidget *w, const char *type_name)
{
	if (g_strcmp0(G_OBJECT_TYPE_NAME(w), type_name) == 0)
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_by_type(c, type_name);
		if (found)
			return found;
	}
	return NULL;
}

static void resize(RavscopeWindow *w, int width, int height)
{
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	GdkSurface *s = gtk_native_get_surface(GTK_NATIVE(w));
	for (int i = 0; i < 40 && (gdk_surface_get_width(s) != width || gdk_surface_get_height(s) != height); i++)
		spin_a_bit();
	/* The side panel folds (or unfolds) with a slide: let it end. */
	AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
	for (int i = 0; i < 100; i++) {
		spin_a_bit();
		double p = adw_flap_get_reveal_progress(flap);
		if (p == 0 || p == 1)
			break;
	}
}

/* The side switcher scrolls; choosing a page (here by name, as the
 * actions do) brings its tab into the visible part. */
static void check_tab_in_view(RavscopeWindow *w, const char *page)
{
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	adw_view_stack_set_visible_child_name(stack, page);
	for (int i = 0; i < 5; i++)
		spin_a_bit();
	GtkWidget *switcher = find_by_type(GTK_WIDGET(w), "AdwViewSwitcher");
	GtkWidget *scroll = gtk_widget_get_ancestor(switcher, GTK_TYPE_SCROLLED_WINDOW);
	g_assert_nonnull(scroll);
	GtkWidget *tab = NULL;
	for (GtkWidget *c = switcher; c;) { /* depth-first, for the active toggle */
		if (GTK_IS_TOGGLE_BUTTON(c) && gtk_toggle_button_get_active(GTK_TOGGLE_BUTTON(c))) {
			tab = c;
			break;
		}
		GtkWidget *next = gtk_widget_get_first_child(c);
		while (!next && c && c != switcher) {
			next = gtk_widget_get_next_sibling(c);
			if (!next)
				c = gtk_widget_get_parent(c);
		}
		if (c == switcher && !next)
			break;
		c = next;
	}
	g_assert_nonnull(tab);
	graphene_rect_t b;
	g_assert_true(gtk_widget_compute_bounds(tab, scroll, &b));
	if (b.origin.x < -0.5 || b.origin.x + b.size.width > gtk_widget_get_width(scroll) + 0.5)
		g_error("tab of %s at x %.0f..%.0f is outside the %d px switcher", page, b.origin.x,
			b.origin.x + b.size.width, gtk_widget_get_width(scroll));
}

static GtkWidget *find_css(GtkWidget *w, const char *css_class)
{
	if (gtk_widget_has_css_class(w, css_class))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		GtkWidget *f = find_css(c, css_class);
		if (f)
			return f;
	}
	return NULL;
}

/* The transport bar's position is not cut and its zoom buttons show. */
static void check_transport_whole(GtkWidget *win, const char *when)
{
	GtkWidget *bar = find_by_type(win, "RavscopeTransportBar");
	GtkWidget *label = find_css(bar, "ravscope-position");
	g_assert_nonnull(label);
	GtkWidget *zoom = gtk_widget_get_next_sibling(label); /* the linked zoom buttons */
	g_assert_true(zoom && gtk_widget_get_mapped(zoom));
	graphene_rect_t b;
	g_assert_true(gtk_widget_compute_bounds(zoom, win, &b));
	g_assert_cmpfloat(b.origin.x + b.size.width, <=, gtk_widget_get_width(win) + 0.5);
	PangoLayout *layout = gtk_label_get_layout(GTK_LABEL(label));
	if (pango_layout_is_ellipsized(layout))
		g_error("%s: the position \"%s\" is cut", when, gtk_label_get_text(GTK_LABEL(label)));
}

static void test_small_window(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 900, 600);
	GtkWidget *win = GTK_WIDGET(w);
	/* 900x600 is not below the window's minimum: it keeps that size. */
	GdkSurface *surface = gtk_native_get_surface(GTK_NATIVE(w));
	g_assert_cmpint(gdk_surface_get_width(surface), ==, 900);
	g_assert_cmpint(gdk_surface_get_height(surface), ==, 600);
	guint n = check_controls_inside(win, win, "900x600, side panel folded");
	g_assert_cmpuint(n, >=, 12);
	/* The side panel opens over the heap (folded), with its tabs inside. */
	AdwFlap *flap = ADW_FLAP(find_by_type(win, "AdwFlap"));
	g_assert_nonnull(flap);
	g_assert_true(adw_flap_get_folded(flap));
	g_assert_true(gtk_widget_activate_action(win, "win.toggle-sidebar", NULL));
	for (int i = 0; i < 100 && adw_flap_get_reveal_progress(flap) < 1; i++)
		spin_a_bit(); /* it slides in */
	g_assert_true(adw_flap_get_reveal_flap(flap));
	check_controls_inside(win, win, "900x600, side panel open");
	GtkWidget *switcher = find_by_type(GTK_WIDGET(adw_flap_get_flap(flap)), "AdwViewSwitcher");
	g_assert_true(switcher && gtk_widget_get_mapped(switcher));
	/* Open over the heap, the panel leaves most of it in sight: its ten
	 * tabs scroll rather than widen it. */
	int panel_w = gtk_widget_get_width(adw_flap_get_flap(flap));
	g_test_message("side panel over the heap at 900x600: %d px", panel_w);
	g_assert_cmpint(panel_w, <=, 420);
	check_tab_in_view(w, "errors");
	check_tab_in_view(w, "inspector");
	g_assert_true(gtk_widget_activate_action(win, "win.toggle-sidebar", NULL));
	spin_a_bit();

	/* The default size: side by side, the panel at its own width, the
	 * transport bar's position whole and its zoom buttons in the window. */
	resize(w, 1200, 780);
	g_assert_false(adw_flap_get_folded(flap));
	panel_w = gtk_widget_get_width(adw_flap_get_flap(flap));
	g_test_message("side panel at 1200x780: %d px", panel_w);
	g_assert_cmpint(panel_w, <=, 420);
	check_controls_inside(win, win, "1200x780");
	check_transport_whole(win, "1200x780");

	/* Wide: side by side, and the heap column keeps its left side. */
	resize(w, 1400, 800);
	g_assert_false(adw_flap_get_folded(flap));
	g_assert_true(adw_flap_get_reveal_flap(flap));
	check_controls_inside(win, win, "1400x800");

	/* The declared minimum size is a real one: at it, nothing is cut. */
	int min_w, min_h, nat;
	gtk_widget_measure(win, GTK_ORIENTATION_HORIZONTAL, -1, &min_w, &nat, NULL, NULL);
	gtk_widget_measure(win, GTK_ORIENTATION_VERTICAL, min_w, &min_h, &nat, NULL, NULL);
	g_test_message("minimum window size %dx%d", min_w, min_h);
	g_assert_cmpint(min_w, <=, 900);
	g_assert_cmpint(min_h, <=, 600);
	resize(w, min_w, min_h);
	check_controls_inside(win, win, "at the minimum size");
	close_window(w);
}

/* ---- 2: the Events panel shows the playhead's event when it opens ------------ */

static GtkWidget *show_panel(RavscopeWindow *w, const char *name)
{
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	g_assert_nonnull(stack);
	adw_view_stack_set_visible_child_name(stack, name);
	spin_a_bit();
	return adw_view_stack_get_visible_child(stack);
}

/* The event index of each row of the Events list on screen (rows are a dot,
 * the index and the description). */
static GArray *visible_event_rows(GtkWidget *list)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(guint64));
	graphene_rect_t lb;
	g_assert_true(gtk_widget_compute_bounds(list, list, &lb));
	for (GtkWidget *row = gtk_widget_get_first_child(list); row; row = gtk_widget_get_next_sibling(row)) {
		GtkWidget *box = gtk_widget_get_first_child(row);
		if (!gtk_widget_get_mapped(row) || !box || !GTK_IS_BOX(box))
			continue;
		graphene_rect_t rb;
		if (!gtk_widget_compute_bounds(row, list, &rb) || rb.origin.y + rb.size.height <= 0 ||
		    rb.origin.y >= lb.size.height)
			continue;
		GtkWidget *idx = gtk_widget_get_next_sibling(gtk_widget_get_first_child(box));
		const char *t = idx && GTK_IS_LABEL(idx) ? gtk_label_get_text(GTK_LABEL(idx)) : "";
		if (*t) {
			guint64 e = g_ascii_strtoull(t, NULL, 10);
			g_array_append_val(out, e);
		}
	}
	return out;
}

/* The rows on screen once the list has settled (a few frames). */
static GArray *settled_rows(GtkWidget *list, guint64 want)
{
	GArray *rows = NULL;
	for (int i = 0; i < 40; i++) {
		if (rows)
			g_array_unref(rows);
		rows = visible_event_rows(list);
		gboolean has = FALSE;
		for (guint k = 0; k < rows->len; k++)
			has |= g_array_index(rows, guint64, k) == want;
		if (rows->len > 3 && has)
			break;
		spin_a_bit();
	}
	return rows;
}

static gboolean rows_hold(GArray *rows, guint64 e)
{
	for (guint i = 0; i < rows->len; i++)
		if (g_array_index(rows, guint64, i) == e)
			return TRUE;
	return FALSE;
}

static int cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
	return x < y ? -1 : x > y;
}

/* After a jump the row is in the middle half of the rows on screen, so what
 * led to it and what follows both show. */
static void assert_centred(GArray *rows, guint64 e, const char *when)
{
	g_array_sort(rows, cmp_u64);
	guint k = 0;
	while (k < rows->len && g_array_index(rows, guint64, k) != e)
		k++;
	g_assert_cmpuint(k, <, rows->len);
	g_test_message("%s: event %" G_GUINT64_FORMAT " is row %u of %u on screen", when, e, k, rows->len);
	if (k < rows->len / 4 || k > rows->len * 3 / 4)
		g_error("%s: event %" G_GUINT64_FORMAT " is row %u of the %u on screen, not near the middle", when, e, k,
			rows->len);
}

static void test_events_panel_scrolls(void)
{
	RavscopeWindow *w = open_window(demo("list"), 1400, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	guint64 pos = ravscope_document_get_position(doc);
	g_assert_cmpuint(pos, >, 200); /* opened where the most cells are live */
	GtkWidget *panel = show_panel(w, "events");
	GtkWidget *list = find_by_type(panel, "GtkListView");
	g_assert_nonnull(list);
	g_autoptr(GArray) rows = settled_rows(list, pos - 1);
	g_assert_cmpuint(rows->len, >, 3);
	if (!rows_hold(rows, pos - 1))
		g_error("the Events list opens on rows %" G_GUINT64_FORMAT "..., not on event %" G_GUINT64_FORMAT,
			g_array_index(rows, guint64, 0), pos - 1);
	assert_centred(rows, pos - 1, "opened");
	/* Seeking while the panel is hidden: shown again, it is on the new event. */
	show_panel(w, "inspector");
	ravscope_window_seek(w, pos / 3);
	spin_a_bit();
	show_panel(w, "events");
	g_autoptr(GArray) rows2 = settled_rows(list, pos / 3 - 1);
	g_assert_true(rows_hold(rows2, pos / 3 - 1));
	assert_centred(rows2, pos / 3 - 1, "shown after a seek");
	/* And while it is showing. */
	ravscope_window_seek(w, pos / 2);
	spin_a_bit();
	g_autoptr(GArray) rows3 = settled_rows(list, pos / 2 - 1);
	g_assert_true(rows_hold(rows3, pos / 2 - 1));
	assert_centred(rows3, pos / 2 - 1, "a seek while shown");
	/* One step on: the list moves with it, the row still on screen. */
	ravscope_window_seek(w, pos / 2 + 1);
	spin_a_bit();
	g_autoptr(GArray) rows4 = settled_rows(list, pos / 2);
	g_assert_true(rows_hold(rows4, pos / 2));
	close_window(w);
}

/* ---- 3: the speed and the step say their unit, and keep to it --------------- */

static void test_speed_unit(void)
{
	/* The ladder names its unit: changes for the slow speeds, events after. */
	guint n;
	const double *sp = ravscope_playback_speeds(&n);
	const char *const *names = ravscope_playback_speed_names();
	for (guint i = 0; i < n; i++) {
		gboolean changes = ravscope_playback_speed_counts_changes(sp[i]);
		g_assert_nonnull(strstr(names[i], changes ? "changes/s" : "events/s"));
	}
	g_assert_true(ravscope_playback_speed_counts_changes(20));
	g_assert_false(ravscope_playback_speed_counts_changes(100));

	/* A step is one change: exactly one event that alters the heap, or a
	 * move and the fix-ups of its referrers. */
	RavscopeWindow *w = open_window(demo("tree"), 1400, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	guint64 stop = ravscope_step_stop_kinds();
	guint steps = 0;
	ravscope_window_seek(w, 0);
	for (guint k = 0; k < 400 && ravscope_document_get_position(doc) < ravscope_document_get_event_count(doc); k++) {
		guint64 before = ravscope_document_get_position(doc);
		g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
		guint64 after = ravscope_document_get_position(doc);
		g_assert_cmpuint(after, >, before);
		guint changes = 0;
		gboolean in_move = FALSE;
		for (guint64 i = before; i < after; i++) {
			rav_event ev;
			g_assert_true(rav_trace_event_at(t, i, &ev));
			if (in_move && (ev.kind == RAV_EV_FIXUP || ev.kind == RAV_EV_LINK))
				continue;
			if (stop >> ev.kind & 1) {
				changes++;
				in_move = ev.kind == RAV_EV_MOVE;
			}
		}
		if (changes != 1)
			g_error("a step from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " made %u changes", before, after, changes);
		steps++;
	}
	g_assert_cmpuint(steps, ==, 400);
	close_window(w);
}

/* ---- 4: after a choice in a drop-down, Space plays ------------------------------ */

static GtkWidget *find_with_tooltip(GtkWidget *w, GType type, const char *tip_start)
{
	if (G_TYPE_CHECK_INSTANCE_TYPE(w, type) && gtk_widget_get_tooltip_text(w) &&
	    g_str_has_prefix(gtk_widget_get_tooltip_text(w), tip_start))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_with_tooltip(c, type, tip_start);
		if (found)
			return found;
	}
	return NULL;
}

static GtkPopover *popover_of(GtkWidget *w)
{
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
		if (GTK_IS_POPOVER(c))
			return GTK_POPOVER(c);
	return NULL;
}

static void test_space_after_choice(void)
{
	RavscopeWindow *w = open_window(demo("list"), 1400, 800);
	GtkWidget *heap = ravscope_window_get_heap_view(w);
	const char *tips[] = { "Playback speed", "Kind of event to jump to" };
	for (guint k = 0; k < G_N_ELEMENTS(tips); k++) {
		GtkWidget *dd = find_with_tooltip(GTK_WIDGET(w), GTK_TYPE_DROP_DOWN, tips[k]);
		g_assert_nonnull(dd);
		GtkPopover *pop = popover_of(dd);
		g_assert_nonnull(pop);
		/* As a click does: the drop-down opens, a choice closes it. */
		gtk_widget_grab_focus(dd);
		gtk_popover_popup(pop);
		spin_a_bit();
		gtk_drop_down_set_selected(GTK_DROP_DOWN(dd), 1);
		gtk_popover_popdown(pop);
		spin_a_bit();
		GtkWidget *focus = gtk_root_get_focus(GTK_ROOT(w));
		if (focus != heap)
			g_error("after choosing in \"%s\" the focus is on %s, not the heap view (Space would not play)", tips[k],
				focus ? G_OBJECT_TYPE_NAME(focus) : "nothing");
	}
	close_window(w);
}

/* ---- 5: the camera, zoomed in ------------------------------------------------------ */

static void wait_camera(GtkWidget *hv)
{
	/* Glides and zooms run on the frame clock: let them end. */
	for (int i = 0; i < 30; i++)
		spin_a_bit();
}

/* A move whose referrer's fix-up is on another page than the hole it fills. */
static int64_t move_fixed_elsewhere(rav_trace *t, rav_event *move)
{
	rav_event_filter f = { .kinds = (guint64)1 << RAV_EV_MOVE, .thread = -1 };
	for (int64_t mv = rav_trace_find_next(t, 0, &f); mv >= 0; mv = rav_trace_find_next(t, (guint64)mv + 1, &f)) {
		rav_event ev, fx;
		g_assert_true(rav_trace_event_at(t, (guint64)mv, &ev));
		for (guint64 i = (guint64)mv + 1; rav_trace_event_at(t, i, &fx) && (fx.kind == RAV_EV_FIXUP || fx.kind == RAV_EV_TIME); i++) {
			if (fx.kind == RAV_EV_FIXUP && rav_loc_page(fx.a) != rav_loc_page(ev.b)) {
				*move = ev;
				return mv;
			}
		}
	}
	return -1;
}

static void test_camera(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 1400, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	RavscopeHeapView *hv = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	rav_event move = { 0 };
	int64_t mv = move_fixed_elsewhere(t, &move);
	g_assert_cmpint(mv, >=, 0);
	rav_loc dest = rav_loc_make(rav_loc_page(move.b), rav_loc_cell(move.b), 0);

	/* A jump to that move, zoomed onto another page: the view frames the
	 * moved cell (it used to frame the page of the last fix-up). */
	ravscope_window_seek(w, (guint64)mv);
	/* Another page of the same heap, far from the hole. */
	guint32 other = G_MAXUINT32;
	rav_state *state = ravscope_document_get_state(doc);
	for (unsigned i = 0; i < rav_state_heap_count(state) && other == G_MAXUINT32; i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(state, i, &h) || h.kind != RAV_HEAP_THREAD)
			continue;
		for (unsigned p = 0; p < h.page_count; p++)
			if (h.pages[p] != rav_loc_page(dest) && (other == G_MAXUINT32 || p == h.page_count - 1))
				other = h.pages[p];
	}
	g_assert_cmpuint(other, !=, G_MAXUINT32);
	ravscope_heap_view_focus_cell(hv, rav_loc_make(other, 5, 0));
	wait_camera(GTK_WIDGET(hv));
	g_assert_false(ravscope_heap_view_cell_in_view(hv, dest));
	ravscope_window_seek(w, (guint64)mv - 1 > 0 ? (guint64)mv - 1 : 0);
	gtk_widget_activate_action(GTK_WIDGET(w), "win.seek-event", "t", (guint64)mv);
	wait_camera(GTK_WIDGET(hv));
	if (!ravscope_heap_view_cell_in_view(hv, dest))
		g_error("after going to the move at %" G_GINT64_FORMAT " the moved cell %u.%u is not in view", mv,
			rav_loc_page(dest), rav_loc_cell(dest));

	/* Playing zoomed in: the camera follows the action without jumping
	 * between pages on every step (at most once here: the steps below take
	 * far less than the camera's hold time). */
	ravscope_window_seek(w, ravscope_document_get_event_count(doc) / 2);
	ravscope_heap_view_focus_cell(hv, rav_loc_make(other, 5, 0));
	wait_camera(GTK_WIDGET(hv));
	ravscope_heap_view_set_playing(hv, TRUE);
	double s0, x0, y0;
	ravscope_heap_view_get_target_view(hv, &s0, &x0, &y0);
	guint moves = 0, offpage = 0;
	gint64 t0 = g_get_monotonic_time();
	GArray *ev = g_array_new(FALSE, FALSE, sizeof(rav_event));
	for (int k = 0; k < 60; k++) {
		g_array_set_size(ev, 0);
		ravscope_document_step_visible(doc, ev, NULL);
		ravscope_heap_view_animate(hv, (rav_event *)ev->data, ev->len, 45);
		double s, x, y;
		ravscope_heap_view_get_target_view(hv, &s, &x, &y);
		if (fabs(x - x0) > 1e-6 || fabs(y - y0) > 1e-6)
			moves++;
		x0 = x;
		y0 = y;
		for (guint i = 0; i < ev->len; i++)
			if (g_array_index(ev, rav_event, i).kind == RAV_EV_MOVE)
				offpage += !ravscope_heap_view_cell_in_view(hv, g_array_index(ev, rav_event, i).b);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	g_array_unref(ev);
	ravscope_heap_view_set_playing(hv, FALSE);
	double seconds = (g_get_monotonic_time() - t0) / 1e6;
	g_test_message("60 steps in %.2f s: %u camera moves, %u moves out of view", seconds, moves, offpage);
	g_assert_cmpuint(offpage, >, 0); /* the action was on more than one page */
	/* At most one glide per 1.5 s (the steps run as fast as the machine
	 * lets them; it is not a timing threshold, only the camera's rule). */
	g_assert_cmpuint(moves, <=, 1 + (guint)(seconds / 1.5));
	close_window(w);
}

/* ---- 6: the status line names the event gone to; times go forward --------------- */

static GtkWidget *find_with_class(GtkWidget *w, const char *css_class)
{
	if (gtk_widget_has_css_class(w, css_class))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_with_class(c, css_class);
		if (found)
			return found;
	}
	return NULL;
}

static void test_status_and_times(void)
{
	const char *names[] = { "messages", "chatty" };
	guint64 seen = 0;
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		RavscopeWindow *w = open_window(demo(names[k]), 1400, 800);
		RavscopeDocument *doc = ravscope_window_get_document(w);
		rav_trace *t = ravscope_document_get_trace(doc);
		guint64 n = ravscope_document_get_event_count(doc);
		GtkLabel *status = GTK_LABEL(find_with_class(GTK_WIDGET(w), "ravscope-event"));
		g_assert_nonnull(status);
		/* Going to an event (a history row, a list row, a jump): the status
		 * line describes that event, whatever kind it is and whatever the
		 * other thread does right after it. */
		guint checked = 0, kinds = 0;
		for (guint64 e = 1; e < n; e += n / 157 + 1) {
			rav_event ev;
			g_assert_true(rav_trace_event_at(t, e, &ev));
			if (ev.kind == RAV_EV_TIME)
				continue;
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.seek-event", "t", e));
			while (g_main_context_iteration(NULL, FALSE))
				;
			g_autofree char *want = ravscope_document_describe_event(doc, &ev);
			const char *got = gtk_label_get_text(status);
			if (!g_str_has_suffix(got, want))
				g_error("%s: after going to event %" G_GUINT64_FORMAT " (%s) the status line says \"%s\"", names[k], e,
					want, got);
			checked++;
			if (!(seen >> ev.kind & 1))
				kinds++;
			seen |= (guint64)1 << ev.kind;
		}
		g_test_message("%s: status line right after going to %u events of %u new kinds", names[k], checked, kinds);
		/* Times shown never go backwards along the list, by more than the
		 * clocks of two cores differ: an ordering event (a receive after
		 * its send) is merged after the event it follows by sequence
		 * number, and its clock reading, taken on the other core, may
		 * be some nanoseconds earlier (seen: 15 ns in a messages
		 * recording).  The list shows tenths of a microsecond. */
		guint64 last = 0;
		for (guint64 e = 0; e < n; e++) {
			guint64 tn = ravscope_document_event_time_ns(doc, e);
			if (tn + 1000 < last)
				g_error("%s: event %" G_GUINT64_FORMAT " is shown at %" G_GUINT64_FORMAT " ns, before event %"
					G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " ns)", names[k], e, tn, e - 1, last);
			last = MAX(last, tn);
		}
		g_assert_cmpuint(last, >, 0);
		close_window(w);
	}
	g_assert_cmpuint(__builtin_popcountll(seen), >=, 6);
}

/* ---- 7: the legend hides no page; the overlay's own legend --------------------- */

static RavscopeDocument *open_doc(const char *path)
{
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(path, &error);
	g_assert_no_error(error);
	g_assert_true(ravscope_document_index_sync(doc, &error));
	ravscope_document_seek(doc, ravscope_document_busiest_event(doc), NULL);
	return doc;
}

/* Draw the heap of doc at a viewport into a new surface of w x h. */
static cairo_surface_t *draw_heap(RavscopeDocument *doc, RavscopeViewport *vp, int w, int h, double zoom,
				  RavscopeHeapLayout **layout_out)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	cairo_t *cr = cairo_create(s);
	vp->gutter = 170;
	vp->x0 = 170;
	vp->y0 = 0;
	vp->width = w - 170;
	vp->height = h - ravscope_heap_legend_height(vp);
	vp->selected = vp->hover = RAV_LOC_NONE;
	RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, vp, 40);
	if (zoom > 0) {
		vp->scale = zoom;
		vp->ox = 3;
		vp->oy = 1;
	}
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, P, doc, L, vp);
	g_assert_cmpint(cairo_status(cr), ==, CAIRO_STATUS_SUCCESS);
	cairo_destroy(cr);
	ravscope_heap_painter_free(P);
	if (layout_out)
		*layout_out = L;
	else
		ravscope_heap_layout_free(L);
	cairo_surface_flush(s);
	return s;
}

static guint64 count_in_rows(cairo_surface_t *s, int y0, int y1, guint32 rgb)
{
	int w = cairo_image_surface_get_width(s), stride = cairo_image_surface_get_stride(s);
	const guint8 *d = cairo_image_surface_get_data(s);
	guint64 n = 0;
	for (int y = MAX(y0, 0); y < y1 && y < cairo_image_surface_get_height(s); y++)
		for (int x = 0; x < w; x++)
			n += (((const guint32 *)(d + (size_t)y * stride))[x] & 0xffffff) == rgb;
	return n;
}

static gboolean same_rows(cairo_surface_t *a, cairo_surface_t *b, int y0, int y1)
{
	int stride = cairo_image_surface_get_stride(a);
	return memcmp(cairo_image_surface_get_data(a) + (size_t)y0 * stride,
		      cairo_image_surface_get_data(b) + (size_t)y0 * stride, (size_t)(y1 - y0) * stride) == 0;
}

static void test_legend(void)
{
	RavscopeDocument *doc = open_doc(demo("tree"));
	const int W = 900, H = 600;
	const double zooms[] = { 0, 12, 40 };
	for (guint z = 0; z < G_N_ELEMENTS(zooms); z++) {
		/* The heap area is the same picture with and without the legend:
		 * the legend is a strip under it, over no page at any zoom. */
		RavscopeViewport with = { .legend = TRUE }, without = { .legend = FALSE };
		cairo_surface_t *a = draw_heap(doc, &with, W, H, zooms[z], NULL);
		without.height = with.height;
		cairo_surface_t *b = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
		cairo_t *cr = cairo_create(b);
		without.gutter = without.x0 = 170;
		without.width = W - 170;
		without.selected = without.hover = RAV_LOC_NONE;
		RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &without, 40);
		if (zooms[z] > 0) {
			without.scale = zooms[z];
			without.ox = 3;
			without.oy = 1;
		}
		RavscopeHeapPainter *P = ravscope_heap_painter_new();
		ravscope_heap_draw(cr, P, doc, L, &without);
		cairo_destroy(cr);
		cairo_surface_flush(b);
		g_assert_cmpfloat(with.scale, ==, without.scale);
		int strip = (int)(with.y0 + with.height);
		g_assert_cmpint(strip, <, H);
		if (!same_rows(a, b, 0, strip))
			g_error("at zoom %.0f the legend changes the heap area", zooms[z]);
		/* ... and the strip shows the types. */
		guint32 node = ravscope_type_argb(RAVSCOPE_TYPE_FIRST_USER, FALSE) & 0xffffff;
		g_assert_cmpuint(count_in_rows(a, strip, H, node), >, 20);
		ravscope_heap_painter_free(P);
		ravscope_heap_layout_free(L);
		cairo_surface_destroy(a);
		cairo_surface_destroy(b);
	}
	g_object_unref(doc);

	/* The contention overlay: its legend is the heat scale, not the types;
	 * a model without transfers in the heap's pages leaves the cells as they
	 * are (it washed out the whole heap). */
	const char *names[] = { "messages", "list" };
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		doc = open_doc(demo(names[k]));
		rav_contention_config cfg = { .line_size = 64, .windows = 16 };
		rav_trace_error err = { 0 };
		rav_contention *c = rav_contention_run(ravscope_document_get_trace(doc), &cfg, NULL, NULL, &err);
		g_assert_nonnull(c);
		RavscopeViewport off = { .legend = TRUE }, on = { .legend = TRUE, .contention = c };
		cairo_surface_t *a = draw_heap(doc, &off, W, H, 0, NULL);
		cairo_surface_t *b = draw_heap(doc, &on, W, H, 0, NULL);
		int strip = (int)(on.y0 + on.height);
		guint32 node = ravscope_type_argb(RAVSCOPE_TYPE_FIRST_USER, FALSE) & 0xffffff;
		g_assert_cmpuint(count_in_rows(a, strip, H, node), >, 20);
		g_assert_cmpuint(count_in_rows(b, strip, H, node), ==, 0);
		gboolean heats = ravscope_contention_heats_pool(c);
		g_test_message("%s: heats %d", names[k], heats);
		if (heats)
			g_assert_false(same_rows(a, b, 0, strip));
		else
			g_assert_true(same_rows(a, b, 0, strip));
		g_assert_true(k == 0 ? heats : !heats);
		rav_contention_free(c);
		cairo_surface_destroy(a);
		cairo_surface_destroy(b);
		g_object_unref(doc);
	}
}

/* ---- 8: timeline mark labels neither overlap nor vanish ---------------------- */

static void test_mark_labels(void)
{
	const char *names[] = { "tree", "list", "serialize", "messages" };
	const double widths[] = { 500, 900, 1600 };
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 10, 10);
	cairo_t *cr = cairo_create(s);
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		RavscopeDocument *doc = open_doc(demo(names[k]));
		guint marks = rav_trace_mark_count(ravscope_document_get_trace(doc));
		for (guint wi = 0; wi < G_N_ELEMENTS(widths); wi++) {
			for (int large = 0; large < 2; large++) {
				RavscopeTimelineStyle st = { .large_text = large, .hover_event = G_MAXUINT64 };
				double x = 12, y = 4, w = widths[wi] - 24, h = large ? 116 : 88;
				RavscopeMarkLabel lab[64];
				guint hidden = 0;
				guint n = ravscope_timeline_mark_labels(cr, doc, x, y, w, h, &st, lab, G_N_ELEMENTS(lab), &hidden);
				g_assert_cmpuint(n + hidden, ==, marks);
				for (guint i = 0; i < n; i++) {
					g_assert_cmpfloat(lab[i].x, >=, x);
					g_assert_cmpfloat(lab[i].x + lab[i].w, <=, x + w + 0.5);
					g_assert_cmpfloat(lab[i].y, >=, y);
					g_assert_cmpfloat(lab[i].y + lab[i].h, <=, y + h / 2);
					g_assert_cmpfloat(lab[i].w, >=, 20);
					for (guint j = 0; j < i; j++) {
						gboolean apart = lab[i].x >= lab[j].x + lab[j].w || lab[j].x >= lab[i].x + lab[i].w ||
								 lab[i].y >= lab[j].y + lab[j].h || lab[j].y >= lab[i].y + lab[i].h;
						if (!apart)
							g_error("%s at %.0f px: the labels of marks %u and %u overlap", names[k],
								widths[wi], lab[i].mark, lab[j].mark);
					}
				}
				/* The list and tree demos: every mark labelled at a usual width. */
				if (wi >= 1 && (k == 0 || k == 1) && hidden)
					g_error("%s at %.0f px%s: %u of %u mark labels left out", names[k], widths[wi],
						large ? " (large text)" : "", hidden, marks);
			}
		}
		g_object_unref(doc);
	}
	cairo_destroy(cr);
	cairo_surface_destroy(s);
}

/* ---- 9: tab icons that exist; charts with axes, read-out and click-to-seek ---- */

static void test_tabs_and_charts(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 1400, 800);
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	GtkSelectionModel *pages = adw_view_stack_get_pages(stack);
	GtkIconTheme *theme = gtk_icon_theme_get_for_display(gtk_widget_get_display(GTK_WIDGET(w)));
	for (guint i = 0; i < g_list_model_get_n_items(G_LIST_MODEL(pages)); i++) {
		AdwViewStackPage *page = g_list_model_get_item(G_LIST_MODEL(pages), i);
		const char *icon = adw_view_stack_page_get_icon_name(page);
		if (!icon || !gtk_icon_theme_has_icon(theme, icon))
			g_error("tab %s: icon %s is not in the icon theme", adw_view_stack_page_get_name(page), icon);
		g_assert_false(g_str_has_prefix(icon, "weather-"));
		g_object_unref(page);
	}
	g_object_unref(pages);

	RavscopeChartsPanel *charts = RAVSCOPE_CHARTS_PANEL(show_panel(w, "charts"));
	GtkWidget *area = find_by_type(GTK_WIDGET(charts), "GtkDrawingArea");
	int aw = gtk_widget_get_width(area);
	g_assert_cmpint(aw, >, 100);
	/* Over the first chart's plot: an event; over its value axis: none. */
	guint64 e0 = 0, e1 = 0, none;
	g_assert_true(ravscope_charts_panel_event_at(charts, aw * 0.3, 60, &e0));
	g_assert_true(ravscope_charts_panel_event_at(charts, aw * 0.7, 60, &e1));
	g_assert_cmpuint(e1, >, e0);
	g_assert_false(ravscope_charts_panel_event_at(charts, 20, 60, &none));
	/* The read-out is drawn where the pointer is. */
	RavscopeDocument *doc = ravscope_window_get_document(w);
	RavscopeChartSpec spec = { "Moves", "per 1,000 events", "per 1,000", RAV_SERIES_MOVES, -1, TRUE, NULL, 0 };
	cairo_surface_t *img[2];
	for (int k = 0; k < 2; k++) {
		img[k] = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 400, 100);
		cairo_t *cr = cairo_create(img[k]);
		RavscopeTimelineStyle st = { .hover_event = k ? e1 : G_MAXUINT64 };
		g_assert_true(ravscope_chart_draw(cr, doc, &spec, 0, 0, 400, 100, &st));
		cairo_destroy(cr);
		cairo_surface_flush(img[k]);
	}
	g_assert_false(same_rows(img[0], img[1], 0, 100));
	cairo_surface_destroy(img[0]);
	cairo_surface_destroy(img[1]);
	/* A click goes there. */
	ravscope_charts_panel_click(charts, aw * 0.5, 60);
	spin_a_bit();
	guint64 e;
	g_assert_true(ravscope_charts_panel_event_at(charts, aw * 0.5, 60, &e));
	guint64 pos = ravscope_document_get_position(ravscope_window_get_document(w));
	g_assert_cmpuint(pos, >, e);
	g_assert_cmpuint(pos, <=, e + 16);
	close_window(w);
}

/* ---- 10, 11: first minutes ------------------------------------------------------- */

static gboolean has_toast(GtkWidget *w)
{
	if (g_str_has_prefix(G_OBJECT_TYPE_NAME(w), "AdwToastWidget"))
		return TRUE;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
		if (has_toast(c))
			return TRUE;
	return FALSE;
}

static GtkLabel *status_label(RavscopeWindow *w)
{
	return GTK_LABEL(find_with_class(GTK_WIDGET(w), "ravscope-event"));
}

static void test_opening(void)
{
	/* 10: the chatty demo has no cells: it does not claim to open where the
	 * most cells are live, and says where its data is. */
	RavscopeWindow *w = open_window(demo("chatty"), 1400, 800);
	const char *st = gtk_label_get_text(status_label(w));
	g_test_message("chatty opens with: %s", st);
	g_assert_null(strstr(st, "most cells are live"));
	g_assert_nonnull(strstr(st, "outside the pool"));
	/* 11: no toast over the timeline; the status line says it instead. */
	g_assert_false(has_toast(GTK_WIDGET(w)));
	close_window(w);
	w = open_window(demo("tree"), 1400, 800);
	g_assert_false(has_toast(GTK_WIDGET(w)));
	g_assert_nonnull(strstr(gtk_label_get_text(status_label(w)), "most cells are live"));
	/* Until the playhead moves. */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.step-forward", NULL));
	spin_a_bit();
	g_assert_null(strstr(gtk_label_get_text(status_label(w)), "most cells are live"));
	close_window(w);
}

static int write_file(const void *data, size_t len, void *user)
{
	return fwrite(data, 1, len, user) == len ? 0 : -1;
}

static void test_empty_trace(void)
{
	/* 11: a trace without events has nothing to play. */
	g_autofree char *dir = g_dir_make_tmp("ravscope-rough-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "empty.ravtrace", NULL);
	FILE *f = fopen(path, "wb");
	g_assert_nonnull(f);
	ravt_writer_params p = { .word_size = 8, .cell_size = 32, .page_size = 4096, .tsc_hz = 1000000000ull };
	char err[256];
	ravt_writer *wr = ravt_writer_new(&p, write_file, f, err, sizeof err);
	g_assert_nonnull(wr);
	g_assert_cmpint(ravt_writer_finish(wr, 0), ==, 0);
	ravt_writer_free(wr);
	fclose(f);
	RavscopeWindow *w = open_window(path, 1200, 700);
	g_assert_cmpstr(ravscope_window_get_page(w), ==, "trace");
	g_assert_cmpuint(ravscope_document_get_event_count(ravscope_window_get_document(w)), ==, 0);
	g_assert_false(ravscope_window_can_play(w));
	GtkWidget *play = find_with_tooltip(GTK_WIDGET(w), GTK_TYPE_BUTTON, "Play or pause");
	g_assert_nonnull(play);
	g_assert_false(gtk_widget_is_sensitive(play));
	g_assert_nonnull(strstr(gtk_label_get_text(status_label(w)), "no events"));
	close_window(w);
	w = open_window(demo("list"), 1200, 700);
	g_assert_true(ravscope_window_can_play(w));
	close_window(w);
	g_unlink(path);
	g_rmdir(dir);
}

static void test_filter_items(void)
{
	/* 11: every kind in the Events filter is visible when it opens. */
	RavscopeWindow *w = open_window(demo("list"), 1400, 800);
	GtkWidget *panel = show_panel(w, "events");
	GtkWidget *dd = find_with_tooltip(panel, GTK_TYPE_DROP_DOWN, "Show only this kind");
	g_assert_nonnull(dd);
	GtkPopover *pop = popover_of(dd);
	gtk_popover_popup(pop);
	for (int i = 0; i < 10; i++)
		spin_a_bit();
	GtkWidget *sw = NULL;
	for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(pop)); c && !sw; c = gtk_widget_get_next_sibling(c))
		sw = find_by_type(c, "GtkScrolledWindow");
	g_assert_nonnull(sw);
	GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(sw));
	g_test_message("filter list: %.0f of %.0f px shown", gtk_adjustment_get_page_size(adj), gtk_adjustment_get_upper(adj));
	g_assert_cmpfloat(gtk_adjustment_get_upper(adj), <=, gtk_adjustment_get_page_size(adj) + 1);
	gtk_popover_popdown(pop);
	spin_a_bit();
	close_window(w);
}

/* Every label under w that is shown is whole: as tall as it needs for the
 * width it got, and inside the scrolled window it is in. */
static guint check_labels_whole(GtkWidget *w, const char *when)
{
	guint n = 0;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (!gtk_widget_get_mapped(c) || GTK_IS_POPOVER(c))
			continue;
		if (GTK_IS_LABEL(c) && gtk_label_get_text(GTK_LABEL(c))[0]) {
			const char *text = gtk_label_get_text(GTK_LABEL(c));
			int min_h, nat_h;
			gtk_widget_measure(c, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width(c), &min_h, &nat_h, NULL, NULL);
			if (gtk_widget_get_height(c) < min_h)
				g_error("%s: \"%s\" is %d px tall, needs %d", when, text, gtk_widget_get_height(c), min_h);
			GtkWidget *sw = gtk_widget_get_ancestor(c, GTK_TYPE_SCROLLED_WINDOW);
			graphene_rect_t b;
			if (sw && gtk_widget_compute_bounds(c, sw, &b) &&
			    b.origin.y + b.size.height > gtk_widget_get_height(sw) + 0.5)
				g_error("%s: \"%s\" ends at %.0f px, below its %d px scroller", when, text,
					b.origin.y + b.size.height, gtk_widget_get_height(sw));
			n++;
		}
		n += check_labels_whole(c, when);
	}
	return n;
}

static void test_placeholders(void)
{
	/* 11: the Cell and Graph panels' "No Cell Selected" texts are shown
	 * whole (the Cell one lost its last line at 1280x800). */
	const int sizes[][2] = { { 1280, 800 }, { 1400, 800 }, { 900, 600 } };
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		RavscopeWindow *w = open_window(demo("tree"), sizes[i][0], sizes[i][1]);
		AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
		g_assert_nonnull(flap);
		if (!adw_flap_get_reveal_flap(flap)) /* folded: open it over the heap */
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.toggle-sidebar", NULL));
		for (int k = 0; k < 100 && adw_flap_get_reveal_progress(flap) < 1; k++)
			spin_a_bit();
		const char *tabs[] = { "inspector", "graph" };
		for (guint t = 0; t < G_N_ELEMENTS(tabs); t++) {
			GtkWidget *panel = show_panel(w, tabs[t]);
			for (int k = 0; k < 4; k++)
				spin_a_bit();
			g_autofree char *when = g_strdup_printf("%s panel at %dx%d", tabs[t], sizes[i][0], sizes[i][1]);
			guint n = check_labels_whole(panel, when);
			g_test_message("%s: %u labels whole", when, n);
			g_assert_cmpuint(n, >=, 2);
		}
		close_window(w);
	}
}

static void test_counts_agree(void)
{
	/* 11: the live count (lanes, title; the charts' series come from the
	 * same totals) is the sum of the legend's live types; roots are listed
	 * apart and counted by none. */
	const char *names[] = { "tree", "list", "serialize" };
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		RavscopeDocument *doc = open_doc(demo(names[k]));
		rav_state_totals tot;
		rav_state_get_totals(ravscope_document_get_state(doc), &tot);
		RavscopeViewport vp = { .legend = TRUE };
		RavscopeHeapLayout *L = NULL;
		cairo_surface_destroy(draw_heap(doc, &vp, 900, 600, 0, &L));
		GArray *counts = ravscope_heap_type_counts(doc, L);
		guint64 live = 0, roots = 0;
		for (guint i = 0; i < counts->len; i++) {
			RavscopeTypeCount c = g_array_index(counts, RavscopeTypeCount, i);
			if (c.type == RAVSCOPE_TYPE_ROOT)
				roots += c.cells;
			else if (c.type != RAVSCOPE_TYPE_EMPTY && c.type != RAVSCOPE_TYPE_HEADER && c.type != RAVSCOPE_TYPE_DEAD)
				live += c.cells;
		}
		g_array_unref(counts);
		g_assert_cmpuint(roots, >, 0);
		g_assert_cmpuint(live, ==, tot.live_cells);
		guint64 lanes = 0;
		rav_state *s = ravscope_document_get_state(doc);
		for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
			rav_state_heap h;
			if (rav_state_heap_at(s, i, &h))
				lanes += h.live_cells;
		}
		g_assert_cmpuint(lanes, ==, tot.live_cells);
		ravscope_heap_layout_free(L);
		g_object_unref(doc);
	}
}

/* CIE76 Delta E between two colours. */
static void to_lab(guint32 hex, double lab[3])
{
	double c[3];
	for (int i = 0; i < 3; i++) {
		double v = ((hex >> (16 - 8 * i)) & 0xff) / 255.0;
		c[i] = v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
	}
	double x = (0.4124 * c[0] + 0.3576 * c[1] + 0.1805 * c[2]) / 0.95047;
	double y = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
	double z = (0.0193 * c[0] + 0.1192 * c[1] + 0.9505 * c[2]) / 1.08883;
	double f[3] = { x, y, z };
	for (int i = 0; i < 3; i++)
		f[i] = f[i] > 0.008856 ? cbrt(f[i]) : 7.787 * f[i] + 16.0 / 116;
	lab[0] = 116 * f[1] - 16;
	lab[1] = 500 * (f[0] - f[1]);
	lab[2] = 200 * (f[1] - f[2]);
}

static void test_palette(void)
{
	/* 11: the types a picture shows together read apart (the serialize
	 * demo's vector types were four close blues). */
	guint16 types[32];
	guint n = 0;
	for (guint16 t = 0; t <= 9; t++)
		types[n++] = t;
	for (guint16 t = RAVSCOPE_TYPE_FIRST_USER; t < RAVSCOPE_TYPE_FIRST_USER + 10; t++)
		types[n++] = t;
	for (int dark = 0; dark < 2; dark++)
		for (guint i = 0; i < n; i++)
			for (guint j = 0; j < i; j++) {
				double a[3], b[3];
				to_lab(ravscope_type_argb(types[i], dark) & 0xffffff, a);
				to_lab(ravscope_type_argb(types[j], dark) & 0xffffff, b);
				double de = sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
						 (a[2] - b[2]) * (a[2] - b[2]));
				if (de < 20)
					g_error("types %u and %u (%s style) differ by Delta E %.1f", types[i], types[j],
						dark ? "dark" : "light", de);
			}
}

static void test_cell_text(void)
{
	/* 11: zoomed in, arrows leave a field beside its text (from its cell's
	 * right edge) and end on the border of their target, not on its text. */
	RavscopeDocument *doc = open_doc(demo("tree"));
	RavscopeViewport vp = { .legend = FALSE };
	RavscopeHeapLayout *L = NULL;
	cairo_surface_destroy(draw_heap(doc, &vp, 1400, 900, 90, &L));
	rav_state *s = ravscope_document_get_state(doc);
	guint checked = 0;
	for (guint k = 0; k < L->pages->len * 128 && checked < 20; k++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, k / 128);
		guint32 c = k % 128;
		rav_state_cell sc;
		if (lp->kind == RAV_SPAGE_POOL || !rav_state_cell_at(s, lp->page, c, &sc) || sc.state != RAV_CELL_LIVE ||
		    sc.type < RAVSCOPE_TYPE_FIRST_USER || !sc.word[1])
			continue;
		double x1, y1, x2, y2, wx, wy;
		if (!ravscope_heap_link_geometry(L, &vp, rav_loc_make(lp->page, c, 1), sc.word[1], &x1, &y1, &x2, &y2))
			continue;
		g_assert_true(ravscope_heap_layout_cell_pos(L, rav_loc_make(lp->page, c, 0), &wx, &wy));
		/* On the edge of its cell (text is inside), the side facing the target. */
		double left = vp.x0 + (wx - vp.ox) * vp.scale, right = left + vp.scale;
		double top = vp.y0 + (wy - vp.oy) * vp.scale, bottom = top + vp.scale;
		double m = vp.scale * 0.1;
		gboolean on_edge = x1 <= left + m || x1 >= right - m || y1 <= top + m || y1 >= bottom - m;
		g_assert_true(on_edge);
		if (x1 <= left + m)
			g_assert_cmpfloat(x2, <, left);
		if (x1 >= right - m)
			g_assert_cmpfloat(x2, >, right);
		checked++;
	}
	g_assert_cmpuint(checked, >, 3);
	ravscope_heap_layout_free(L);
	g_object_unref(doc);
}

/* ---- 12: without a D-Bus session, the toggles still work ----------------------- */

static void test_no_dbus(void)
{
	if (g_test_subprocess()) {
		/* dconf without a session bus: every write would be lost. */
		GSettings *app = ravscope_settings_new(), *win = ravscope_settings_new();
		g_assert_nonnull(app);
		g_assert_nonnull(ravscope_settings_notice());
		g_assert_false(g_settings_get_boolean(win, "large-text"));
		g_settings_set_boolean(app, "large-text", TRUE);
		g_settings_set_enum(app, "color-scheme", 2);
		for (int i = 0; i < 20; i++)
			spin_a_bit(); /* a failed dconf write is reverted from the main loop */
		/* What the application's menu toggles, the window reads. */
		g_assert_true(g_settings_get_boolean(win, "large-text"));
		g_assert_cmpint(g_settings_get_enum(win, "color-scheme"), ==, 2);
		g_object_unref(app);
		g_object_unref(win);
		return;
	}
	g_autofree char *runtime = g_dir_make_tmp("ravscope-nobus-XXXXXX", NULL);
	g_autofree char *old_backend = g_strdup(g_getenv("GSETTINGS_BACKEND"));
	g_autofree char *old_bus = g_strdup(g_getenv("DBUS_SESSION_BUS_ADDRESS"));
	g_autofree char *old_runtime = g_strdup(g_getenv("XDG_RUNTIME_DIR"));
	g_setenv("GSETTINGS_BACKEND", "dconf", TRUE);
	g_setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/ravscope-test-bus", TRUE);
	g_setenv("XDG_RUNTIME_DIR", runtime, TRUE);
	g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
	g_test_trap_assert_passed();
	g_test_trap_assert_stderr("*no D-Bus session bus*");
#define RESTORE(var, value) ((value) ? g_setenv(var, value, TRUE) : (g_unsetenv(var), TRUE))
	RESTORE("GSETTINGS_BACKEND", old_backend);
	RESTORE("DBUS_SESSION_BUS_ADDRESS", old_bus);
	RESTORE("XDG_RUNTIME_DIR", old_runtime);
#undef RESTORE
	g_rmdir(runtime);
}

int main(int argc, char **argv)
{
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc < 2 && !g_test_subprocess()) {
		g_printerr("usage: %s TRACE...\n", argv[0]);
		return 2;
	}
	traces = argv + 1;
	n_traces = argc - 1;
	g_test_add_func("/Rav/Gui/RoughEdges/1-small-window", test_small_window);
	g_test_add_func("/Rav/Gui/RoughEdges/2-events-panel-scrolls", test_events_panel_scrolls);
	g_test_add_func("/Rav/Gui/RoughEdges/3-speed-unit", test_speed_unit);
	g_test_add_func("/Rav/Gui/RoughEdges/4-space-after-choice", test_space_after_choice);
	g_test_add_func("/Rav/Gui/RoughEdges/5-camera", test_camera);
	g_test_add_func("/Rav/Gui/RoughEdges/6-status-and-times", test_status_and_times);
	g_test_add_func("/Rav/Gui/RoughEdges/7-legend", test_legend);
	g_test_add_func("/Rav/Gui/RoughEdges/8-mark-labels", test_mark_labels);
	g_test_add_func("/Rav/Gui/RoughEdges/9-tabs-and-charts", test_tabs_and_charts);
	g_test_add_func("/Rav/Gui/RoughEdges/10-11-opening", test_opening);
	g_test_add_func("/Rav/Gui/RoughEdges/11-empty-trace", test_empty_trace);
	g_test_add_func("/Rav/Gui/RoughEdges/11-filter-items", test_filter_items);
	g_test_add_func("/Rav/Gui/RoughEdges/11-counts-agree", test_counts_agree);
	g_test_add_func("/Rav/Gui/RoughEdges/11-placeholders", test_placeholders);
	g_test_add_func("/Rav/Gui/RoughEdges/11-palette", test_palette);
	g_test_add_func("/Rav/Gui/RoughEdges/11-cell-text", test_cell_text);
	g_test_add_func("/Rav/Gui/RoughEdges/12-no-dbus", test_no_dbus);
	return g_test_run();
}
