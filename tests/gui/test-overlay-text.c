/* test-overlay-text.c - the sentences drawn over an empty heap are wrapped,
 * never cut, however narrow the view.
 *
 * Usage: test-overlay-text CHATTY.ravtrace (a recording whose threads keep
 * their data in malloc'd memory, with accesses: rav-sample-chatty's).  Its
 * heap is drawn with the contention overlay, as one side of the Chatty
 * Threads vs. Messages window, from 420 to 1300 px wide: "No ravioli cells
 * in this trace" with its explanation in the middle, and the box of the
 * memory outside the pool with its totals.  At 900x600 (the window side by
 * side, 430 px each) both were cut with an ellipsis ("its threads keep
 * their data outside...", "79 contended lines, 9030 transfe...").  No
 * display needed (suite 'headless' as well).  (A lane label in the gutter
 * may still be shortened: at 420 px in large text the folded lane's "2 empty
 * threads" is.)
 */
#include <cairo.h>
#include <glib.h>

#include "ravscope-document.h"
#include "ravscope-heapdraw-private.h"
#include "ravscope-heapdraw.h"

#define GUTTER 170

int main(int argc, char **argv)
{
	if (argc != 2) {
		g_printerr("usage: %s CHATTY.ravtrace\n", argv[0]);
		return 2;
	}
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(argv[1], &error);
	g_assert_no_error(error);
	g_assert_true(ravscope_document_index_sync(doc, &error));
	g_assert_no_error(error);
	rav_contention_config cfg = { .line_size = 64, .windows = 64 };
	rav_trace_error err = { 0 };
	rav_contention *cont = rav_contention_run(ravscope_document_get_trace(doc), &cfg, NULL, NULL, &err);
	g_assert_nonnull(cont);
	g_assert_true(ravscope_document_seek(doc, ravscope_document_busiest_event(doc), NULL));
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	guint drawn = 0;
	for (int w = 420; w <= 1300; w += 80) {
		for (int large = 0; large < 2; large++) {
			int h = 290;
			cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
			RavscopeViewport vp = { .gutter = GUTTER, .x0 = GUTTER, .width = w - GUTTER, .height = h,
						.selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE, .contention = cont,
						.large_text = large };
			RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40);
			cairo_t *cr = cairo_create(s);
			ravscope_heap_draw(cr, P, doc, L, &vp);
			/* the two overlays again, counted on their own (a lane
			 * label in the gutter may be shortened: not these) */
			guint before = ravscope__texts_cut;
			ravscope__heap_draw_no_cells(cr, doc, &vp);
			ravscope__heap_draw_external_lines(cr, &vp);
			cairo_destroy(cr);
			if (ravscope__texts_cut != before)
				g_error("%d px wide%s: %u texts cut with an ellipsis", w, large ? ", large text" : "",
					ravscope__texts_cut - before);
			drawn++;
			ravscope_heap_layout_free(L);
			cairo_surface_destroy(s);
		}
	}
	g_print("%u views drawn, no text cut\n", drawn);
	ravscope_heap_painter_free(P);
	rav_contention_free(cont);
	g_object_unref(doc);
	return 0;
}
