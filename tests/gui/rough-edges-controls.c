/* rough-edges-controls.c - rough edges of the controls: everything reachable
 * in a small window (1), the Events panel scrolled to the playhead (2), the
 * speed and step units (3), Space after a drop-down (4).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "rough-edges.h"

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

static void resize(RavscopeWindow *w, int width, int height)
{
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	GdkSurface *s = gtk_native_get_surface(GTK_NATIVE(w));
	/* (waits bounded by time, not by a count of 0.1 s spins: under load
	 * a count ran out before the window did what the checks then read) */
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	while (gdk_surface_get_width(s) != width || gdk_surface_get_height(s) != height) {
		if (g_get_monotonic_time() > deadline)
			g_error("the window is %dx%d 60 s after it was sized %dx%d", gdk_surface_get_width(s),
				gdk_surface_get_height(s), width, height);
		spin_a_bit();
	}
	/* The side panel folds (or unfolds) with a slide: let it end. */
	AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
	for (;;) {
		spin_a_bit();
		double p = adw_flap_get_reveal_progress(flap);
		if (p == 0 || p == 1)
			break;
		if (g_get_monotonic_time() > deadline)
			g_error("the side panel still sliding (%.2f) 60 s after the window was sized %dx%d", p, width, height);
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

/* The transport bar's position is not cut and its zoom buttons show. */
static void check_transport_whole(GtkWidget *win, const char *when)
{
	GtkWidget *bar = find_by_type(win, "RavscopeTransportBar");
	GtkWidget *label = find_with_class(bar, "ravscope-position");
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

void test_small_window(void)
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
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	while (adw_flap_get_reveal_progress(flap) < 1) { /* it slides in */
		if (g_get_monotonic_time() > deadline)
			g_error("the side panel not in after 60 s (%.2f)", adw_flap_get_reveal_progress(flap));
		spin_a_bit();
	}
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
	gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	while (g_get_monotonic_time() < deadline) {
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

void test_events_panel_scrolls(void)
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

void test_speed_unit(void)
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

void test_space_after_choice(void)
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
