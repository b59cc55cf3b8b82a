/* test-rough-edges.c - regressions of the rough edges a newcomer met in the
 * first minutes (issue #12), each where a test can see it, under X (Xvfb).
 *
 * Usage: test-rough-edges TRACE...  (the demo traces; the tests pick the
 * ones they need by name).  Each test path names the rough edge it guards.
 *
 * The tests are in one file per part of the window (rough-edges-*.c,
 * sharing rough-edges.h); this one holds the helpers they share and the
 * list of test paths.
 */
#include <adwaita.h>
#include <string.h>

#include "rough-edges.h"

static char **traces;
static int n_traces;

const char *demo(const char *name)
{
	for (int i = 0; i < n_traces; i++) {
		g_autofree char *base = g_path_get_basename(traces[i]);
		if (g_str_has_prefix(base, name) && base[strlen(name)] == '.')
			return traces[i];
	}
	return NULL;
}

GtkWidget *show_panel(RavscopeWindow *w, const char *name)
{
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	g_assert_nonnull(stack);
	adw_view_stack_set_visible_child_name(stack, name);
	spin_a_bit();
	return adw_view_stack_get_visible_child(stack);
}

GtkPopover *popover_of(GtkWidget *w)
{
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
		if (GTK_IS_POPOVER(c))
			return GTK_POPOVER(c);
	return NULL;
}

RavscopeDocument *open_doc(const char *path)
{
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(path, &error);
	g_assert_no_error(error);
	g_assert_true(ravscope_document_index_sync(doc, &error));
	ravscope_document_seek(doc, ravscope_document_busiest_event(doc), NULL);
	return doc;
}

/* Draw the heap of doc at a viewport into a new surface of w x h. */
cairo_surface_t *draw_heap(RavscopeDocument *doc, RavscopeViewport *vp, int w, int h, double zoom,
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

gboolean same_rows(cairo_surface_t *a, cairo_surface_t *b, int y0, int y1)
{
	int stride = cairo_image_surface_get_stride(a);
	return memcmp(cairo_image_surface_get_data(a) + (size_t)y0 * stride,
		      cairo_image_surface_get_data(b) + (size_t)y0 * stride, (size_t)(y1 - y0) * stride) == 0;
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
	g_test_add_func("/Rav/Gui/RoughEdges/newcomer-panel-names", test_panel_names);
	g_test_add_func("/Rav/Gui/RoughEdges/newcomer-panel-small-window", test_panel_small_window);
	g_test_add_func("/Rav/Gui/RoughEdges/newcomer-errors-site", test_errors_site);
	g_test_add_func("/Rav/Gui/RoughEdges/newcomer-hit-count", test_hit_count_words);
	g_test_add_func("/Rav/Gui/RoughEdges/newcomer-stop-texts", test_stop_texts);
	return g_test_run();
}

