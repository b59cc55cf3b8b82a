/* rough-edges-first-minutes.c - rough edges of the first minutes: opening,
 * an empty trace, filters, counts, placeholders, palette, cell text (10,
 * 11), and settings without D-Bus (12).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "rough-edges.h"

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

void test_opening(void)
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

void test_empty_trace(void)
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

void test_filter_items(void)
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

void test_placeholders(void)
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

void test_counts_agree(void)
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

void test_palette(void)
{
	/* 11: the types a picture shows together read apart (the serialize
	 * demo's vector types were four close blues). */
	guint16 types[32];
	guint n = 0;
	for (guint16 t = 0; t <= 9; t++)
		types[n++] = t;
	for (guint16 t = RAVSCOPE_TYPE_FIRST_USER; t < RAVSCOPE_TYPE_FIRST_USER + 10; t++)
		types[n++] = t;
	/* Both styles, the screen palette and presentation mode's. */
	for (int style = 0; style < 4; style++) {
		gboolean dark = style & 1, present = style >> 1;
		for (guint i = 0; i < n; i++)
			for (guint j = 0; j < i; j++) {
				double a[3], b[3];
				to_lab(ravscope_type_argb_palette(types[i], dark, present) & 0xffffff, a);
				to_lab(ravscope_type_argb_palette(types[j], dark, present) & 0xffffff, b);
				double de = sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
						 (a[2] - b[2]) * (a[2] - b[2]));
				if (de < 20)
					g_error("types %u and %u (%s style%s) differ by Delta E %.1f", types[i], types[j],
						dark ? "dark" : "light", present ? ", presentation" : "", de);
			}
	}
}

void test_cell_text(void)
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

void test_no_dbus(void)
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
