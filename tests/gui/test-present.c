/* test-present.c - presentation mode's picture reads on a projector, a
 * lesson step can draw the links of the cells it shows, and the box a
 * step's caption takes (where cell tooltips stay off) is where it is drawn.
 *
 * argv[1]: a demo trace (tree).  A projector washes out near colours: the
 * heap drawn in presentation mode (large_text), light and dark, at a zoom
 * where cells are squares with gaps and pages have frames, must show
 * empty cells apart from the background by a WCAG luminance ratio of 1.5
 * at least, and page frames (their strongest pixel across the left edge)
 * by 3 at least (WCAG's bound for non-text contrast).  The screen palette
 * stays as it was (its empty cells are #e6e6e9).  No display needed.
 */
#include <glib.h>
#include <math.h>

#include "ravscope-document.h"
#include "ravscope-heapdraw.h"

#define W 900
#define H 600
#define GUTTER 220

static const char *trace_path;

static double channel(double v)
{
	return v <= 0.03928 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static double luminance(guint32 rgb)
{
	return 0.2126 * channel(((rgb >> 16) & 0xff) / 255.0) + 0.7152 * channel(((rgb >> 8) & 0xff) / 255.0) +
	       0.0722 * channel((rgb & 0xff) / 255.0);
}

static double contrast(guint32 a, guint32 b)
{
	double la = luminance(a), lb = luminance(b);
	return (MAX(la, lb) + 0.05) / (MIN(la, lb) + 0.05);
}

static guint32 pixel(cairo_surface_t *s, int x, int y)
{
	g_assert_true(x >= 0 && y >= 0 && x < cairo_image_surface_get_width(s) && y < cairo_image_surface_get_height(s));
	const guint8 *data = cairo_image_surface_get_data(s);
	return ((const guint32 *)(data + (size_t)y * cairo_image_surface_get_stride(s)))[x] & 0xffffff;
}

static guint32 hex_of(const double rgb[3])
{
	return (guint32)lround(rgb[0] * 255) << 16 | (guint32)lround(rgb[1] * 255) << 8 | (guint32)lround(rgb[2] * 255);
}

/* The trace, indexed, at its middle event: pages with live and empty cells. */
static RavscopeDocument *open_half(void)
{
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(trace_path, &error);
	g_assert_no_error(error);
	g_assert_true(ravscope_document_index_sync(doc, &error));
	g_assert_no_error(error);
	g_assert_true(ravscope_document_seek(doc, ravscope_document_get_event_count(doc) / 2, NULL));
	return doc;
}

/* Draws the tree demo's heap half-way, cells `scale` px, and measures
 * the contrasts: empty cell / background and page frame / background. */
static void measure(gboolean present, gboolean dark, double *empty_ratio, double *frame_ratio)
{
	RavscopeDocument *doc = open_half();

	RavscopeViewport vp = { .gutter = GUTTER, .x0 = GUTTER, .width = W - GUTTER, .height = H, .dark = dark,
				.large_text = present, .selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE };
	RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, present ? 52 : 40);
	/* Close enough for gaps between cells and page frames, the first
	 * page (of a thread) at the top left with room around its frame. */
	const RavscopeLayoutPage *lp = NULL;
	for (guint i = 0; i < L->pages->len && !lp; i++)
		if (g_array_index(L->pages, RavscopeLayoutPage, i).kind != RAV_SPAGE_POOL)
			lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
	g_assert_nonnull(lp);
	vp.scale = 24;
	vp.ox = lp->x - 1;
	vp.oy = lp->y - 1;

	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
	cairo_t *cr = cairo_create(s);
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, P, doc, L, &vp);
	cairo_destroy(cr);
	cairo_surface_flush(s);

	double bg[3];
	ravscope_heap_background(dark, bg);
	guint32 background = hex_of(bg);

	/* An empty cell of the page: the centre of its square. */
	rav_state *st = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	guint32 empty = G_MAXUINT32;
	for (unsigned c = 0; c < cpp && c < L->cols * L->rows && empty == G_MAXUINT32; c++) {
		rav_state_cell sc;
		if (rav_state_cell_at(st, lp->page, c, &sc) && sc.type != 0)
			continue;
		double cx = vp.x0 + (lp->x + c % L->cols + 0.5 - vp.ox) * vp.scale;
		double cy = vp.y0 + (lp->y + c / L->cols + 0.5 - vp.oy) * vp.scale;
		if (cx < vp.x0 || cy < vp.y0 || cx >= vp.x0 + vp.width || cy >= vp.y0 + vp.height)
			continue;
		empty = pixel(s, (int)cx, (int)cy);
	}
	g_assert_cmpuint(empty, !=, G_MAXUINT32);
	/* It is drawn in the empty type's colour of the palette. */
	g_assert_cmphex(empty, ==, ravscope_type_argb_palette(0, dark, present) & 0xffffff);
	*empty_ratio = contrast(empty, background);

	/* The page frame crosses a row through the page's first cell row, a
	 * few pixels left of its first cell; its strongest pixel there. */
	int fy = (int)(vp.y0 + (lp->y + 0.5 - vp.oy) * vp.scale);
	int fx = (int)(vp.x0 + (lp->x - vp.ox) * vp.scale);
	double best = 1;
	for (int x = fx - 12; x < fx; x++)
		best = MAX(best, contrast(pixel(s, x, fy), background));
	*frame_ratio = best;

	ravscope_heap_painter_free(P);
	cairo_surface_destroy(s);
	ravscope_heap_layout_free(L);
	g_object_unref(doc);
}

static void test_projector_contrast(void)
{
	for (int dark = 0; dark < 2; dark++) {
		double empty, frame;
		measure(TRUE, dark, &empty, &frame);
		g_test_message("presentation, %s: empty cell %.2f:1, page frame %.2f:1", dark ? "dark" : "light", empty,
			       frame);
		if (empty < 1.5 || frame < 3.0)
			g_error("presentation mode (%s style): empty cells %.2f:1 against the background (want 1.5), "
				"page frames %.2f:1 (want 3)",
				dark ? "dark" : "light", empty, frame);
	}
	/* The screen palette is unchanged: its empty cells are the quiet
	 * #e6e6e9 (the measurement sees them, so it would see a change). */
	double empty, frame;
	measure(FALSE, FALSE, &empty, &frame);
	g_assert_cmpfloat(empty, <, 1.5);
	g_assert_cmpfloat(frame, >, 1.0);
}

/* A lesson step's `links = on` (RavscopeSpotlight.links): the references
 * out of the cells pointed at are drawn (lesson 4 shows a tree's shape
 * with it); without it the same spotlight draws none. */
static cairo_surface_t *draw_spotlight(RavscopeDocument *doc, RavscopeHeapLayout *L, RavscopeViewport *vp,
				       gboolean links, guint *refs)
{
	rav_state *st = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	RavscopeSpotlight *sp = ravscope_spotlight_new();
	sp->links = links;
	*refs = 0;
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		for (unsigned c = 1; c < cpp; c++) {
			rav_state_cell sc;
			if (!rav_state_cell_at(st, lp->page, c, &sc) || sc.state != RAV_CELL_LIVE ||
			    sc.type < RAVSCOPE_TYPE_FIRST_USER)
				continue;
			ravscope_spotlight_add_cell(sp, rav_loc_make(lp->page, c, 0), NULL);
			for (int f = 0; f < 2; f++)
				*refs += ravscope_document_type_field_is_ref(doc, sc.type, f) && sc.word[1 + f];
		}
	}
	vp->spotlight = sp;
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
	cairo_t *cr = cairo_create(s);
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, P, doc, L, vp);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	ravscope_heap_painter_free(P);
	vp->spotlight = NULL;
	ravscope_spotlight_free(sp);
	return s;
}

static void test_spotlight_links(void)
{
	RavscopeDocument *doc = open_half();
	RavscopeViewport vp = { .gutter = GUTTER, .x0 = GUTTER, .width = W - GUTTER, .height = H, .large_text = TRUE,
				.selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE, .accent = { 0.1, 0.4, 0.9 } };
	RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 52);
	guint refs = 0;
	cairo_surface_t *without = draw_spotlight(doc, L, &vp, FALSE, &refs);
	cairo_surface_t *with = draw_spotlight(doc, L, &vp, TRUE, &refs);
	g_assert_cmpuint(refs, >, 0); /* the tree demo's nodes refer to each other */
	guint64 changed = 0;
	for (int y = 0; y < H; y++)
		for (int x = GUTTER; x < W; x++)
			changed += pixel(with, x, y) != pixel(without, x, y);
	/* An arrow per reference, a few pixels wide: well over 20 pixels each
	 * (targets off screen or overlapping arrows aside). */
	if (changed < 20 * MIN(refs, 10u))
		g_error("links = on changed %" G_GUINT64_FORMAT " pixels for %u references", changed, refs);
	cairo_surface_destroy(without);
	cairo_surface_destroy(with);
	ravscope_heap_layout_free(L);
	g_object_unref(doc);
}

/* ravscope_heap_spotlight_caption() (what the heap view keeps cell
 * tooltips off) is where the caption is drawn: every pixel a caption
 * changes is inside its box (with its border and shadow), and it does
 * change pixels there. */
static void test_caption_box(void)
{
	RavscopeDocument *doc = open_half();
	for (int present = 0; present < 2; present++) {
		RavscopeViewport vp = { .gutter = GUTTER, .x0 = GUTTER, .width = W - GUTTER, .height = H,
					.large_text = present, .selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE,
					.accent = { 0.1, 0.4, 0.9 } };
		RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, present ? 52 : 40);
		cairo_surface_t *img[2];
		double box[4] = { 0 };
		for (int with = 0; with < 2; with++) {
			RavscopeSpotlight *sp = ravscope_spotlight_new();
			sp->dim = FALSE;
			if (with)
				ravscope_spotlight_set_caption(sp, "new 0.2 (node) in field 1 of 0.1 (node)");
			vp.spotlight = sp;
			g_assert_true(ravscope_heap_spotlight_caption(L, &vp, box) == with);
			img[with] = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
			cairo_t *cr = cairo_create(img[with]);
			RavscopeHeapPainter *P = ravscope_heap_painter_new();
			ravscope_heap_draw(cr, P, doc, L, &vp);
			ravscope_heap_painter_free(P);
			cairo_destroy(cr);
			cairo_surface_flush(img[with]);
			vp.spotlight = NULL;
			ravscope_spotlight_free(sp);
		}
		g_assert_cmpfloat(box[2], >, 50);
		g_assert_cmpfloat(box[3], >, 10);
		g_assert_cmpfloat(box[0], >=, vp.x0);
		g_assert_cmpfloat(box[1] + box[3], <=, vp.y0 + vp.height);
		guint64 inside = 0, outside = 0;
		for (int y = 0; y < H; y++)
			for (int x = 0; x < W; x++) {
				if (pixel(img[0], x, y) == pixel(img[1], x, y))
					continue;
				/* slack for the box's border (2 px) and its shadow (2, 3 px down right) */
				if (x >= box[0] - 2 && x <= box[0] + box[2] + 4 && y >= box[1] - 2 && y <= box[1] + box[3] + 5)
					inside++;
				else
					outside++;
			}
		g_assert_cmpuint(outside, ==, 0);
		g_assert_cmpuint(inside, >=, (guint64)(box[2] * box[3] * 0.05)); /* its text at least */
		cairo_surface_destroy(img[0]);
		cairo_surface_destroy(img[1]);
		ravscope_heap_layout_free(L);
	}
	g_object_unref(doc);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc != 2) {
		g_printerr("usage: %s TRACE\n", argv[0]);
		return 2;
	}
	trace_path = argv[1];
	g_test_add_func("/Rav/Gui/Present/projector-contrast", test_projector_contrast);
	g_test_add_func("/Rav/Gui/Present/spotlight-links", test_spotlight_links);
	g_test_add_func("/Rav/Gui/Present/caption-box", test_caption_box);
	return g_test_run();
}
