/* test-slides.c - pictures for slides in the window, under X (Xvfb): the
 * Export dialog, presentation mode, the neighbourhood graph.
 *
 * Usage: test-slides TRACE...  (the demo traces; tests pick them by name).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "ravscope-application.h"
#include "ravscope-export-dialog.h"
#include "ravscope-graph-panel.h"
#include "ravscope-heap-view.h"
#include "ravscope-window.h"
#include "gui-test.h"

static char **traces;
static int n_traces;

static const char *demo(const char *name)
{
	for (int i = 0; i < n_traces; i++) {
		g_autofree char *base = g_path_get_basename(traces[i]);
		if (g_str_has_prefix(base, name) && base[strlen(name)] == '.')
			return traces[i];
	}
	g_error("no demo trace %s", name);
	return NULL;
}

/* ---- the Export dialog ------------------------------------------------------------- */

typedef struct {
	gboolean done, ok;
	char *message;
} Done;

static void on_done(RavscopeExportDialog *d, gboolean ok, const char *message, Done *r)
{
	r->done = TRUE;
	r->ok = ok;
	g_free(r->message);
	r->message = g_strdup(message);
}

static RavscopeExportDialog *open_dialog(RavscopeWindow *w, Done *r)
{
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.export", NULL));
	spin_a_bit();
	RavscopeExportDialog *d = RAVSCOPE_EXPORT_DIALOG(ravscope_window_get_export_dialog(w));
	g_assert_nonnull(d);
	memset(r, 0, sizeof *r);
	g_signal_connect(d, "done", G_CALLBACK(on_done), r);
	return d;
}

static void wait_done(Done *r)
{
	gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
	while (!r->done) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for the export");
		g_main_context_iteration(NULL, FALSE);
	}
}

static void test_export_dialog(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 1300, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	g_autofree char *dir = g_dir_make_tmp("ravscope-slides-XXXXXX", NULL);
	guint64 pos = ravscope_document_get_position(doc);

	/* This moment, as shown, PNG: the picture and the window's playhead
	 * where it was. */
	Done r;
	RavscopeExportDialog *d = open_dialog(w, &r);
	g_autofree char *png = g_build_filename(dir, "now.png", NULL);
	GError *error = NULL;
	g_assert_true(ravscope_export_dialog_export_to(d, png, &error));
	wait_done(&r);
	g_assert_true(r.ok);
	g_assert_nonnull(strstr(r.message, "now.png"));
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	RavscopePictureStyle view;
	ravscope_heap_view_get_picture_style(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w)), &view);
	g_assert_cmpint(cairo_image_surface_get_width(s), ==, view.width);
	cairo_surface_destroy(s);
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, pos);
	spin_a_bit();
	g_assert_null(ravscope_window_get_export_dialog(w)); /* closed after a success */

	/* A range as SVG-less formats: 1920x1080 GIF; the name gets its ending. */
	d = open_dialog(w, &r);
	ravscope_export_dialog_choose(d, TRUE, pos, pos + 60, 2, 0);
	g_autofree char *gif = g_build_filename(dir, "range", NULL);
	g_assert_true(ravscope_export_dialog_export_to(d, gif, &error));
	g_assert_true(ravscope_export_dialog_is_running(d));
	wait_done(&r);
	g_assert_true(r.ok);
	g_autofree char *gif_file = g_build_filename(dir, "range.gif", NULL);
	gchar *head = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(gif_file, &head, &len, NULL));
	g_assert_true(len > 13 && memcmp(head, "GIF89a", 6) == 0);
	g_assert_cmpint((guint8)head[6] | (guint8)head[7] << 8, ==, 1920);
	g_free(head);
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, pos);
	spin_a_bit();

	/* Closed while running: nothing left behind. */
	d = open_dialog(w, &r);
	ravscope_export_dialog_choose(d, TRUE, 0, ravscope_document_get_event_count(doc), 0, 1);
	g_autofree char *big = g_build_filename(dir, "whole.png", NULL);
	if (ravscope_export_dialog_export_to(d, big, &error)) {
		gtk_window_close(GTK_WINDOW(d));
		spin_a_bit();
		g_assert_true(r.done && !r.ok);
		g_assert_false(g_file_test(big, G_FILE_TEST_EXISTS));
	} else {
		/* Too many frames for the whole trace: said precisely. */
		g_assert_nonnull(strstr(error->message, "frames"));
		g_clear_error(&error);
		gtk_window_close(GTK_WINDOW(d));
		spin_a_bit();
	}
	g_free(r.message);
	close_window(w);
	g_unlink(png);
	g_unlink(gif_file);
	g_rmdir(dir);
}

/* ---- presentation mode ------------------------------------------------------------ */

/* Wait (60 s at most) until cond holds: layout and zooms after a change
 * take frames, which a loaded machine draws late (a fixed 4 s here was
 * most of this test's time, and a bet all the same). */
static void wait_until(gboolean (*cond)(gpointer), gpointer data, const char *what)
{
	spin_until(cond, data, what);
	spin_a_bit();
}

typedef struct {
	GtkWidget *window, *play;
	RavscopeHeapView *hv;
	int min_play_h;    /* the play button at least this tall */
	double scale_from; /* cells at least this big (0: any) ... */
	double scale_below; /* ... or under this (0: any) */
} Shown;

static gboolean shown(gpointer data)
{
	const Shown *s = data;
	GdkSurface *surface = gtk_native_get_surface(GTK_NATIVE(s->window));
	double scale = ravscope_heap_view_get_scale(s->hv);
	return surface && gdk_surface_get_width(surface) == 1300 && gdk_surface_get_height(surface) == 800 &&
	       gtk_widget_get_mapped(s->play) && gtk_widget_get_height(s->play) >= MAX(s->min_play_h, 1) &&
	       !ravscope_heap_view_is_gliding(s->hv) && scale > 0 && (!s->scale_from || scale >= s->scale_from) &&
	       (!s->scale_below || scale < s->scale_below);
}

/* Accent-coloured pixels of the selection's arrows at a zoom where cells
 * show their fields. */
static guint64 arrow_pixels(RavscopeDocument *doc, gboolean large)
{
	RavscopeViewport vp = { .gutter = 0, .width = 900, .height = 700, .large_text = large };
	vp.accent[0] = 1;
	RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40);
	rav_state *st = ravscope_document_get_state(doc);
	/* A cell with a reference, and its page in view. */
	for (guint i = 0; i < L->pages->len && !vp.selected; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		for (guint32 c = 1; c < 128 && !vp.selected; c++) {
			rav_state_cell sc;
			if (rav_state_cell_at(st, lp->page, c, &sc) && sc.state == RAV_CELL_LIVE && sc.type >= 16 &&
			    ravscope_document_type_field_is_ref(doc, sc.type, 1) && sc.word[2] &&
			    rav_loc_page(sc.word[2]) == lp->page && rav_loc_cell(sc.word[2]) != c) {
				vp.selected = rav_loc_make(lp->page, c, 0);
				vp.scale = 60;
				vp.ox = lp->x - 1;
				vp.oy = lp->y - 1;
			}
		}
	}
	g_assert_true(vp.selected != 0);
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 900, 700);
	cairo_t *cr = cairo_create(s);
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, P, doc, L, &vp);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	guint64 n = 0;
	const guint8 *d = cairo_image_surface_get_data(s);
	for (int y = 0; y < 700; y++)
		for (int x = 0; x < 900; x++)
			n += (((const guint32 *)(d + (gsize)y * cairo_image_surface_get_stride(s)))[x] & 0xffffff) == 0xff0000;
	cairo_surface_destroy(s);
	ravscope_heap_painter_free(P);
	ravscope_heap_layout_free(L);
	return n;
}

static void test_presentation(void)
{
	RavscopeWindow *w = open_window(demo("messages"), 1300, 800);
	RavscopeHeapView *hv = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	GtkWidget *play = find_with_tooltip(GTK_WIDGET(w), GTK_TYPE_BUTTON, "Play or pause");
	g_assert_nonnull(play);
	Shown want = { GTK_WIDGET(w), play, hv, 0, 0, 0 };
	wait_until(shown, &want, "the window laid out at 1300 x 800");
	int normal_h = gtk_widget_get_height(play);
	double normal_scale = ravscope_heap_view_get_scale(hv);
	GSettings *settings = ravscope_settings_new();
	g_assert_nonnull(settings);
	g_settings_set_boolean(settings, "large-text", TRUE);
	want.min_play_h = (normal_h * 5 + 3) / 4; /* (rounded up) */
	want.scale_from = 12;
	wait_until(shown, &want, "larger controls and cells (the play button 1.25 times as tall, 12 px cells)");
	/* Controls grow, not only text. */
	g_test_message("play button %d -> %d px; cells %.1f -> %.1f px", normal_h, gtk_widget_get_height(play), normal_scale,
		       ravscope_heap_view_get_scale(hv));
	g_assert_cmpint(gtk_widget_get_height(play), >=, normal_h * 1.25);
	/* Cells: a heap too big to read whole starts close up ... */
	g_assert_cmpfloat(normal_scale, <, 12);
	g_assert_cmpfloat(ravscope_heap_view_get_scale(hv), >=, 12);
	/* ... and "whole heap" asked again shows it whole. */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.zoom-fit", NULL));
	want.scale_from = 0;
	want.scale_below = 12;
	wait_until(shown, &want, "the whole heap (under 12 px cells)");
	g_assert_cmpfloat(ravscope_heap_view_get_scale(hv), <, 12);
	/* Arrows and outlines heavier. */
	RavscopeDocument *doc = ravscope_window_get_document(w);
	guint64 thin = arrow_pixels(doc, FALSE), thick = arrow_pixels(doc, TRUE);
	g_test_message("selection arrows: %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " px", thin, thick);
	g_assert_cmpuint(thin, >, 0);
	g_assert_cmpuint(thick, >=, thin * 3 / 2);
	g_settings_set_boolean(settings, "large-text", FALSE);
	g_object_unref(settings);
	want.min_play_h = 0;
	want.scale_below = 0;
	wait_until(shown, &want, "the window after large text");
	close_window(w);
}

/* ---- the neighbourhood graph --------------------------------------------------------- */

static GtkWidget *find_view_stack(GtkWidget *w)
{
	if (ADW_IS_VIEW_STACK(w))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		GtkWidget *found = GTK_IS_POPOVER(c) ? NULL : find_view_stack(c);
		if (found)
			return found;
	}
	return NULL;
}

static rav_loc cell_with_children(RavscopeDocument *doc, guint want_children)
{
	rav_state *st = ravscope_document_get_state(doc);
	for (unsigned i = 0; i < rav_state_heap_count(st); i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(st, i, &h))
			continue;
		for (unsigned p = 0; p < h.page_count; p++)
			for (guint32 c = 1; c < 128; c++) {
				rav_state_cell sc;
				if (!rav_state_cell_at(st, h.pages[p], c, &sc) || sc.state != RAV_CELL_LIVE ||
				    sc.type < RAVSCOPE_TYPE_FIRST_USER)
					continue;
				guint kids = 0;
				for (int f = 0; f < 2; f++)
					kids += ravscope_document_type_field_is_ref(doc, sc.type, f) && sc.word[1 + f];
				if (kids >= want_children && rav_state_referrers(st, rav_loc_make(h.pages[p], c, 0), NULL, 0) >= 1)
					return rav_loc_make(h.pages[p], c, 0);
			}
	}
	return RAV_LOC_NONE;
}

static void check_graph(RavscopeDocument *doc, rav_loc centre, guint children)
{
	RavscopeGraph *g = ravscope_graph_build(doc, centre, 2, 2, 8);
	g_assert_nonnull(g);
	rav_state_cell c;
	g_assert_true(rav_state_cell_at(ravscope_document_get_state(doc), rav_loc_page(centre), rav_loc_cell(centre), &c));
	g_assert_cmphex(g_array_index(g->nodes, RavscopeGraphNode, 0).cell, ==, centre);
	/* Its children one level down, each the target its field names. */
	guint found = 0;
	for (int f = 0; f < 2; f++) {
		if (!ravscope_document_type_field_is_ref(doc, c.type, f) || !c.word[1 + f])
			continue;
		rav_loc t = c.field_target[f] ? c.field_target[f] : c.word[1 + f];
		t = rav_loc_make(rav_loc_page(t), rav_loc_cell(t), 0);
		for (guint i = 0; i < g->nodes->len; i++) {
			const RavscopeGraphNode *n = &g_array_index(g->nodes, RavscopeGraphNode, i);
			if (n->cell == t) {
				g_assert_cmpint(n->level, ==, 1);
				found++;
			}
		}
	}
	g_assert_cmpuint(found, ==, children);
	/* Its referrer one level up, with an edge down to it. */
	rav_loc slot;
	g_assert_cmpuint(rav_state_referrers(ravscope_document_get_state(doc), centre, &slot, 1), >=, 1);
	rav_loc parent = rav_loc_make(rav_loc_page(slot), rav_loc_cell(slot), 0);
	gboolean up = FALSE;
	for (guint i = 0; i < g->edges->len; i++) {
		const RavscopeGraphEdge *e = &g_array_index(g->edges, RavscopeGraphEdge, i);
		const RavscopeGraphNode *a = &g_array_index(g->nodes, RavscopeGraphNode, e->from);
		up |= a->cell == parent && e->to == 0 && a->level == -1 && e->word == (int)rav_loc_word(slot);
	}
	g_assert_true(up);
	/* Laid out: boxes inside the width, none over another, found by a click. */
	ravscope_graph_layout(g, 340, FALSE);
	for (guint i = 0; i < g->nodes->len; i++) {
		const RavscopeGraphNode *a = &g_array_index(g->nodes, RavscopeGraphNode, i);
		g_assert_cmpfloat(a->x, >=, 0);
		g_assert_cmpfloat(a->x + a->w, <=, 340 + 0.5);
		for (guint j = 0; j < i; j++) {
			const RavscopeGraphNode *b = &g_array_index(g->nodes, RavscopeGraphNode, j);
			g_assert_true(a->x >= b->x + b->w || b->x >= a->x + a->w || a->y >= b->y + b->h || b->y >= a->y + a->h);
		}
		g_assert_cmphex(ravscope_graph_hit(g, a->x + a->w / 2, a->y + a->h / 2), ==, a->cell);
	}
	g_assert_cmphex(ravscope_graph_hit(g, 1, 1), ==, RAV_LOC_NONE);
	ravscope_graph_free(g);
}

static void test_graph(void)
{
	/* Trees: two children; lists: the next node below, the one before above. */
	RavscopeWindow *w = open_window(demo("tree"), 1300, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_loc centre = cell_with_children(doc, 2);
	g_assert_true(centre != RAV_LOC_NONE);
	check_graph(doc, centre, 2);
	/* Not a live cell: no graph. */
	g_assert_null(ravscope_graph_build(doc, rav_loc_make(rav_loc_page(centre), 0, 0), 2, 2, 8));

	/* The panel: select a cell, the graph is its; a click on a box selects
	 * that cell, and the panel stays up to walk on. */
	AdwViewStack *stack = ADW_VIEW_STACK(find_view_stack(GTK_WIDGET(w)));
	g_assert_nonnull(stack);
	adw_view_stack_set_visible_child_name(stack, "graph");
	ravscope_window_select_cell(w, centre);
	spin_a_bit();
	RavscopeGraphPanel *panel = RAVSCOPE_GRAPH_PANEL(adw_view_stack_get_visible_child(stack));
	const RavscopeGraph *g = ravscope_graph_panel_get_graph(panel);
	g_assert_nonnull(g);
	g_assert_cmphex(g_array_index(g->nodes, RavscopeGraphNode, 0).cell, ==, centre);
	const RavscopeGraphNode *child = NULL;
	for (guint i = 0; i < g->nodes->len && !child; i++)
		if (g_array_index(g->nodes, RavscopeGraphNode, i).level == 1)
			child = &g_array_index(g->nodes, RavscopeGraphNode, i);
	g_assert_nonnull(child);
	rav_loc target = child->cell;
	ravscope_graph_panel_click(panel, child->x + 5, child->y + 5);
	spin_a_bit();
	g_assert_cmphex(ravscope_heap_view_get_selected(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w))), ==, target);
	g_assert_cmpstr(adw_view_stack_get_visible_child_name(stack), ==, "graph");
	g_assert_cmphex(g_array_index(ravscope_graph_panel_get_graph(panel)->nodes, RavscopeGraphNode, 0).cell, ==, target);
	close_window(w);

	w = open_window(demo("list"), 1300, 800);
	doc = ravscope_window_get_document(w);
	centre = cell_with_children(doc, 1);
	g_assert_true(centre != RAV_LOC_NONE);
	check_graph(doc, centre, 1);
	close_window(w);
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
	g_test_add_func("/Rav/Gui/Slides/export-dialog", test_export_dialog);
	g_test_add_func("/Rav/Gui/Slides/presentation", test_presentation);
	g_test_add_func("/Rav/Gui/Slides/graph", test_graph);
	return g_test_run();
}
