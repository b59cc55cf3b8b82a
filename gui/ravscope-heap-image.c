/* ravscope-heap-image.c - the zoomed-out heap picture: one pixel per cell.
 *
 * Under RECT_SCALE pixels per cell, every shown cell is one pixel of a
 * cached ARGB image of the whole world, painted scaled with nearest
 * filtering.  The image is rebuilt only for pages that changed (the
 * painter's dirty set, filled from the events the playhead applied) or
 * that moved in the layout, so playing a heap of millions of cells costs
 * the changed pages per frame.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <string.h>

static void image_put_page(RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
			   const RavscopeLayoutPage *lp, gboolean dark)
{
	guint32 *px = (guint32 *)cairo_image_surface_get_data(P->image);
	int stride = cairo_image_surface_get_stride(P->image) / 4;
	int x0 = (int)floor(lp->x), y0 = (int)floor(lp->y);
	if (lp->kind == RAV_SPAGE_POOL) {
		guint32 c = dark ? 0xff45454a : 0xffd4d4d8;
		for (int y = 0; y < (int)lp->h; y++)
			for (int x = 0; x < (int)lp->w; x++)
				if (x0 + x < P->image_w && y0 + y < P->image_h)
					px[(y0 + y) * stride + x0 + x] = c;
		return;
	}
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	guint16 *types = _ravscope_painter_page_types(P, doc, lp->page);
	for (unsigned c = 0; c < L->cols * L->rows; c++) {
		int x = x0 + (int)(c % L->cols), y = y0 + (int)(c / L->cols);
		if (x >= P->image_w || y >= P->image_h)
			continue;
		px[y * stride + x] = c < cpp ? ravscope_type_argb(types[c], dark) : 0;
	}
}

/* Where each page was last drawn in the image (world units, packed), so
 * an update can move only the pages whose place changed. */
struct DrawnPage {
	gint32 x, y, w, h; /* w == 0: not drawn */
	guint8 kind;
};

static void image_clear_rect(RavscopeHeapPainter *P, const DrawnPage *d)
{
	guint32 *px = (guint32 *)cairo_image_surface_get_data(P->image);
	int stride = cairo_image_surface_get_stride(P->image) / 4;
	for (int y = MAX(d->y, 0); y < MIN(d->y + d->h, P->image_h); y++)
		for (int x = MAX(d->x, 0); x < MIN(d->x + d->w, P->image_w); x++)
			px[y * stride + x] = 0;
}

void _ravscope_heap_image_update(RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L, gboolean dark)
{
	int w = (int)ceil(L->world_w) + 1, h = (int)ceil(L->world_h) + 1;
	/* The image only grows (with slack): lanes for messages and the pool
	 * change height as a trace plays, and a resize would redraw every
	 * cell of the heap. */
	gboolean grow = !P->image || P->image_w < w || P->image_h < h;
	gboolean full = !P->valid || grow || P->image_dark != dark || P->drawn_len < L->page_span;
	if (full) {
		if (grow) {
			g_clear_pointer(&P->image, cairo_surface_destroy);
			P->image_w = (w + 255) & ~255;
			P->image_h = (h + 255) & ~255;
			P->image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, P->image_w, P->image_h);
		}
		if (P->drawn_len < L->page_span) {
			P->drawn = g_renew(DrawnPage, P->drawn, L->page_span + 64);
			P->drawn_len = L->page_span + 64;
		}
		memset(P->drawn, 0, sizeof(DrawnPage) * P->drawn_len);
		cairo_surface_flush(P->image);
		memset(cairo_image_surface_get_data(P->image), 0, (size_t)cairo_image_surface_get_stride(P->image) * P->image_h);
	} else {
		cairo_surface_flush(P->image);
	}
	/* Pages that left or moved: clear where they were first, then draw
	 * every page that is new, moved or dirty.  A playing trace usually
	 * touches a handful of pages per frame, whatever the heap's size. */
	DrawnPage *drawn = P->drawn;
	for (guint32 p = 0; p < P->drawn_len && !full; p++) {
		if (!drawn[p].w)
			continue;
		const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, p);
		if (!lp || (gint32)floor(lp->x) != drawn[p].x || (gint32)floor(lp->y) != drawn[p].y || lp->kind != drawn[p].kind) {
			image_clear_rect(P, &drawn[p]);
			drawn[p].w = 0;
		}
	}
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		DrawnPage *d = &drawn[lp->page];
		gboolean dirty = P->dirty && g_hash_table_contains(P->dirty, GUINT_TO_POINTER(lp->page));
		if (d->w && !dirty)
			continue;
		image_put_page(P, doc, L, lp, dark);
		d->x = (gint32)floor(lp->x);
		d->y = (gint32)floor(lp->y);
		d->w = lp->kind == RAV_SPAGE_POOL ? (gint32)lp->w : (gint32)L->cols;
		d->h = lp->kind == RAV_SPAGE_POOL ? (gint32)lp->h : (gint32)L->rows;
		d->kind = lp->kind;
	}
	cairo_surface_mark_dirty(P->image);
	g_clear_pointer(&P->dirty, g_hash_table_unref);
	P->valid = TRUE;
	P->image_dark = dark;
}
