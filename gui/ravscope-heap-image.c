/* ravscope-heap-image.c - the zoomed-out heap picture: one pixel per cell.
 *
 * Under RECT_SCALE pixels per cell, every shown cell is one pixel of a
 * cached ARGB image, painted scaled (nearest filtering from one pixel per
 * cell up, bilinear below).  The image is not a picture of the whole
 * world: each lane's page area (RavscopeLane content_*) near the view (the
 * lanes it shows and those within half a view above and below) is a
 * block, and the blocks are packed on shelves into tiles of bounded size,
 * so memory follows the cells shown, not the lanes' padding, their count
 * or the lanes scrolled out of view (issue #14: the 560 lanes of a
 * hand-off trace were 473 MB of image for the seven lanes a render
 * shows), and no surface ever nears cairo's 32767-pixel limit.  The budget
 * pays for the tiles' rows, shelf ends included.  A block that cannot
 * have a place (wider or taller than a tile, over the pixel budget, or
 * cairo could not allocate its tile) is drawn flat: its pages as plain
 * blocks, cells visible again from RECT_SCALE on.
 *
 * The image is updated only for pages that changed (the painter's dirty
 * set, filled from the events the playhead applied) or moved; blocks keep
 * their places while every lane still fits its block, so playing a heap of
 * millions of cells costs the changed pages per frame.  Lanes that grow
 * past their block, new lanes, or a lane scrolled into view without a
 * block repack everything around the view: the only full redraw besides a
 * seek or a style change (scrolling repacks every half view or so).
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <string.h>

#define TILE_MIN_W 2048           /* tiles are at least this wide, wider if a block needs it */
#define TILE_MAX_W 32000          /* cairo's limit is 32767 pixels a side */
#define TILE_MAX 16384            /* tiles are at most this tall */
#define BLOCK_SPACING 1           /* transparent pixels between blocks: no bleeding when filtered */
#define IMAGE_BUDGET_PX ((guint64)1 << 26) /* 64M pixels (256 MB) of cell image at most */

struct ImageBlock {
	RavscopeLaneKind kind;
	guint32 heap_id;
	int tile;       /* index in tiles; -1: drawn flat */
	int x, y, w, h; /* place and capacity in its tile (pixels) */
};

/* Where each page was last drawn in the image, so an update can move only
 * the pages whose place changed. */
struct DrawnPage {
	gint32 tile, x, y, w, h; /* w == 0: not drawn */
	guint8 kind;
};

static gsize block_key(RavscopeLaneKind kind, guint32 heap_id)
{
	return (gsize)heap_id * 4 + (gsize)kind;
}

static const ImageBlock *block_of_lane(const RavscopeHeapPainter *P, const RavscopeLane *lane)
{
	if (!P->block_index)
		return NULL;
	gpointer v = g_hash_table_lookup(P->block_index, GSIZE_TO_POINTER(block_key(lane->kind, lane->heap_id)));
	return v ? &g_array_index(P->blocks, ImageBlock, GPOINTER_TO_UINT(v) - 1) : NULL;
}

/* Pixels a lane's pages need in the image (0 x 0: no pages). */
static void lane_need(const RavscopeLane *lane, int *w, int *h)
{
	if (lane->content_h <= 0 || lane->content_w <= 0) {
		*w = *h = 0;
		return;
	}
	/* Pages sit at whole pixels (their floor) from the block's top row,
	 * floor(content_y): one row of slack for fractional lane origins. */
	*w = (int)ceil(lane->content_w) + 1;
	*h = (int)ceil(lane->content_h) + 2;
}

/* Whether the lane's rows are within `margin` views of the view's rows
 * (world units; margin 0: on screen). */
static gboolean lane_near(const RavscopeViewport *vp, const RavscopeLane *lane, double margin)
{
	if (vp->scale <= 0)
		return TRUE;
	double view_h = vp->height / vp->scale;
	double top = vp->oy - margin * view_h, bottom = vp->oy + (1 + margin) * view_h;
	return lane->y + lane->h >= top && lane->y <= bottom;
}

#define NEAR_MARGIN 0.5 /* views above and below the view whose lanes are packed too */

/* ---- packing ------------------------------------------------------------------ */

static void clear_image(RavscopeHeapPainter *P)
{
	if (P->tiles)
		g_ptr_array_set_size(P->tiles, 0);
	if (P->blocks)
		g_array_set_size(P->blocks, 0);
	if (P->block_index)
		g_hash_table_remove_all(P->block_index);
	P->image_px = 0;
	P->flat_blocks = 0;
}

static void pack(RavscopeHeapPainter *P, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	clear_image(P);
	if (!P->tiles) {
		P->tiles = g_ptr_array_new_with_free_func((GDestroyNotify)cairo_surface_destroy);
		P->blocks = g_array_new(FALSE, TRUE, sizeof(ImageBlock));
		P->block_index = g_hash_table_new(NULL, NULL);
	}
	int tile_w = TILE_MIN_W;
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		int w, h;
		lane_need(lane, &w, &h);
		if (w <= TILE_MAX_W && lane_near(vp, lane, NEAR_MARGIN))
			tile_w = MAX(tile_w, w);
	}
	/* Shelves: blocks left to right, a new shelf when the row is full, a
	 * new tile when the tile is. */
	GArray *heights = g_array_new(FALSE, TRUE, sizeof(int)); /* used height of each tile */
	int tile = -1, x = 0, y = 0, shelf_h = 0;
	guint64 budget = IMAGE_BUDGET_PX;
	/* Tests make the budget small to see lanes drawn flat. */
	const char *env = g_getenv("RAVSCOPE_IMAGE_BUDGET_PX");
	if (env && *env)
		budget = g_ascii_strtoull(env, NULL, 10);
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		int w, h;
		lane_need(lane, &w, &h);
		if (!w || !lane_near(vp, lane, NEAR_MARGIN))
			continue;
		/* Messages and the pool change size as a trace plays: room to
		 * grow, so they do not repack the image at every message. */
		if (lane->kind != RAVSCOPE_LANE_THREAD) {
			w = MAX(w, (int)MIN(ceil(L->world_w) + 1, tile_w));
			h = MIN(h + h / 2 + 16, TILE_MAX);
		}
		ImageBlock b = { .kind = lane->kind, .heap_id = lane->heap_id, .tile = -1, .w = w, .h = h };
		/* The budget pays for tile rows: a new shelf's, or the rows a
		 * block adds to its shelf's height (a whole tile's width each). */
		gboolean new_shelf = tile < 0 || x + w > tile_w;
		guint64 cost = (guint64)tile_w * (guint64)(new_shelf ? h + BLOCK_SPACING : MAX(h - shelf_h, 0));
		if (w <= tile_w && h <= TILE_MAX && cost <= budget) {
			if (tile >= 0 && x + w > tile_w) {
				y += shelf_h + BLOCK_SPACING;
				x = 0;
				shelf_h = 0;
			}
			if (tile < 0 || y + h > TILE_MAX) {
				if (tile >= 0)
					g_array_index(heights, int, tile) = y + shelf_h;
				g_array_set_size(heights, heights->len + 1);
				tile = (int)heights->len - 1;
				x = y = shelf_h = 0;
			}
			b.tile = tile;
			b.x = x;
			b.y = y;
			x += w + BLOCK_SPACING;
			shelf_h = MAX(shelf_h, h);
			budget -= cost;
		}
		g_array_append_val(P->blocks, b);
		g_hash_table_insert(P->block_index, GSIZE_TO_POINTER(block_key(lane->kind, lane->heap_id)),
				    GUINT_TO_POINTER(P->blocks->len));
	}
	if (tile >= 0)
		g_array_index(heights, int, tile) = y + shelf_h;
	/* The tiles themselves; a tile cairo cannot make leaves its blocks flat. */
	for (guint t = 0; t < heights->len; t++) {
		int th = MIN((g_array_index(heights, int, t) + 63) & ~63, TILE_MAX);
		cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, tile_w, MAX(th, 1));
		if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS || !cairo_image_surface_get_data(s)) {
			cairo_surface_destroy(s);
			s = NULL;
		} else {
			P->image_px += (guint64)tile_w * th;
		}
		g_ptr_array_add(P->tiles, s);
	}
	for (guint i = 0; i < P->blocks->len; i++) {
		ImageBlock *b = &g_array_index(P->blocks, ImageBlock, i);
		if (b->tile >= 0 && !g_ptr_array_index(P->tiles, b->tile))
			b->tile = -1;
		P->flat_blocks += b->tile < 0;
	}
	g_array_unref(heights);
}

/* Every lane with pages on screen has a block, and every block (of the
 * lanes packed before, near the view then) still holds its lane. */
static gboolean packing_holds(const RavscopeHeapPainter *P, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	if (!P->tiles)
		return FALSE;
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		int w, h;
		lane_need(lane, &w, &h);
		if (!w)
			continue;
		const ImageBlock *b = block_of_lane(P, lane);
		if (!b ? lane_near(vp, lane, 0) : b->tile >= 0 && (b->w < w || b->h < h))
			return FALSE;
	}
	return TRUE;
}

/* ---- pages in the image ---------------------------------------------------------- */

/* Where the page goes in the image; FALSE if its lane is drawn flat. */
static gboolean page_place(const RavscopeHeapPainter *P, const RavscopeHeapLayout *L, const RavscopeLayoutPage *lp,
			   DrawnPage *out)
{
	const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, lp->lane);
	const ImageBlock *b = block_of_lane(P, lane);
	if (!b || b->tile < 0)
		return FALSE;
	out->tile = b->tile;
	out->x = b->x + (gint32)floor(lp->x);
	out->y = b->y + (gint32)floor(lp->y) - (gint32)floor(lane->content_y);
	out->w = lp->kind == RAV_SPAGE_POOL ? (gint32)lp->w : (gint32)L->cols;
	out->h = lp->kind == RAV_SPAGE_POOL ? (gint32)lp->h : (gint32)L->rows;
	out->kind = lp->kind;
	/* Inside its block, or not at all (a page past its lane's room). */
	return out->x >= b->x && out->y >= b->y && out->x + out->w <= b->x + b->w && out->y + out->h <= b->y + b->h;
}

static void fill_rect(RavscopeHeapPainter *P, const DrawnPage *d, guint32 colour)
{
	cairo_surface_t *s = g_ptr_array_index(P->tiles, d->tile);
	guint32 *px = (guint32 *)cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s) / 4;
	int tw = cairo_image_surface_get_width(s), th = cairo_image_surface_get_height(s);
	for (int y = MAX(d->y, 0); y < MIN(d->y + d->h, th); y++)
		for (int x = MAX(d->x, 0); x < MIN(d->x + d->w, tw); x++)
			px[(size_t)y * stride + x] = colour;
}

static void put_page(RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
		     const RavscopeLayoutPage *lp, const DrawnPage *d, gboolean dark, gboolean present)
{
	if (lp->kind == RAV_SPAGE_POOL) {
		fill_rect(P, d, 0xff000000u | ravscope__pool_page_hex(dark, present));
		return;
	}
	cairo_surface_t *s = g_ptr_array_index(P->tiles, d->tile);
	guint32 *px = (guint32 *)cairo_image_surface_get_data(s);
	int stride = cairo_image_surface_get_stride(s) / 4;
	int tw = cairo_image_surface_get_width(s), th = cairo_image_surface_get_height(s);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	guint16 *types = ravscope__painter_page_types(P, doc, lp->page);
	for (unsigned c = 0; c < L->cols * L->rows; c++) {
		int x = d->x + (int)(c % L->cols), y = d->y + (int)(c / L->cols);
		if (x >= tw || y >= th)
			continue;
		px[(size_t)y * stride + x] = c < cpp ? ravscope_type_argb_palette(types[c], dark, present) : 0;
	}
}

/* Where the page was drawn: an array entry up to DRAWN_DIRECT, a hash
 * table entry above (made on demand), so a page at index 2^24-1 costs an
 * entry, not 400 MB of array (issue #14). */
#define DRAWN_DIRECT ((guint32)1 << 20)

static DrawnPage *drawn_at(RavscopeHeapPainter *P, guint32 page)
{
	if (page < DRAWN_DIRECT)
		return page < P->drawn_len ? &P->drawn[page] : NULL;
	if (!P->drawn_high)
		P->drawn_high = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	DrawnPage *d = g_hash_table_lookup(P->drawn_high, GUINT_TO_POINTER(page));
	if (!d) {
		d = g_new0(DrawnPage, 1);
		g_hash_table_insert(P->drawn_high, GUINT_TO_POINTER(page), d);
	}
	return d;
}

/* A page no longer where it was drawn (left, moved, changed kind): clear
 * its old place and mark it not drawn. */
static void unplace_if_moved(RavscopeHeapPainter *P, const RavscopeHeapLayout *L, guint32 page, DrawnPage *was)
{
	const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, page);
	DrawnPage now;
	if (!lp || !page_place(P, L, lp, &now) || now.tile != was->tile || now.x != was->x || now.y != was->y ||
	    now.kind != was->kind) {
		fill_rect(P, was, 0);
		was->w = 0;
	}
}

static void clear_tiles(RavscopeHeapPainter *P)
{
	for (guint t = 0; t < P->tiles->len; t++) {
		cairo_surface_t *s = g_ptr_array_index(P->tiles, t);
		if (!s)
			continue;
		cairo_surface_flush(s);
		memset(cairo_image_surface_get_data(s), 0,
		       (size_t)cairo_image_surface_get_stride(s) * cairo_image_surface_get_height(s));
	}
}

void ravscope__heap_image_update(RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
				 const RavscopeViewport *vp)
{
	gboolean dark = vp->dark, present = vp->large_text;
	gboolean repack = !packing_holds(P, L, vp);
	gboolean full = !P->valid || repack || P->image_dark != dark || P->image_present != present;
	if (repack)
		pack(P, L, vp);
	guint32 direct = MIN(L->page_span, DRAWN_DIRECT);
	if (P->drawn_len < direct) {
		/* A new highest page: room for it, geometrically (a growing heap
		 * names a new page every few frames); the new entries say "not
		 * drawn", which is all they need; no full redraw for it. */
		guint32 len = (guint32)MIN((guint64)MAX((guint64)direct + 64, (guint64)P->drawn_len * 2), DRAWN_DIRECT);
		P->drawn = g_renew(DrawnPage, P->drawn, len);
		memset(P->drawn + P->drawn_len, 0, sizeof(DrawnPage) * (len - P->drawn_len));
		P->drawn_len = len;
	}
	if (full) {
		if (P->drawn)
			memset(P->drawn, 0, sizeof(DrawnPage) * P->drawn_len);
		if (P->drawn_high)
			g_hash_table_remove_all(P->drawn_high);
		clear_tiles(P);
	} else {
		for (guint t = 0; t < P->tiles->len; t++)
			if (g_ptr_array_index(P->tiles, t))
				cairo_surface_flush(g_ptr_array_index(P->tiles, t));
	}
	/* Pages that left or moved: clear where they were first, then draw
	 * every page that is new, moved or dirty.  A playing trace usually
	 * touches a handful of pages per frame, whatever the heap's size. */
	DrawnPage *drawn = P->drawn;
	for (guint32 p = 0; p < P->drawn_len && !full; p++)
		if (drawn[p].w)
			unplace_if_moved(P, L, p, &drawn[p]);
	if (P->drawn_high && !full) {
		GHashTableIter it;
		gpointer key, value;
		g_hash_table_iter_init(&it, P->drawn_high);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			if (((DrawnPage *)value)->w)
				unplace_if_moved(P, L, GPOINTER_TO_UINT(key), value);
			if (!((DrawnPage *)value)->w)
				g_hash_table_iter_remove(&it);
		}
	}
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		DrawnPage *d = drawn_at(P, lp->page);
		if (!d)
			continue;
		gboolean dirty = P->dirty && g_hash_table_contains(P->dirty, GUINT_TO_POINTER(lp->page));
		if (d->w && !dirty)
			continue;
		DrawnPage now;
		if (!page_place(P, L, lp, &now))
			continue;
		put_page(P, doc, L, lp, &now, dark, present);
		*d = now;
	}
	for (guint t = 0; t < P->tiles->len; t++)
		if (g_ptr_array_index(P->tiles, t))
			cairo_surface_mark_dirty(g_ptr_array_index(P->tiles, t));
	g_clear_pointer(&P->dirty, g_hash_table_unref);
	P->valid = TRUE;
	P->image_dark = dark;
	P->image_present = present;
}

/* ---- drawing ------------------------------------------------------------------- */

static gboolean lane_visible(const RavscopeViewport *vp, const RavscopeLane *lane)
{
	double top = sy_of(vp, lane->y), bottom = sy_of(vp, lane->y + lane->h);
	return bottom >= vp->y0 && top <= vp->y0 + vp->height;
}

void ravscope__heap_image_draw(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
			       const RavscopeViewport *vp)
{
	ravscope__heap_image_update(P, doc, L, vp);
	cairo_save(cr);
	cairo_translate(cr, vp->x0, vp->y0);
	cairo_scale(cr, vp->scale, vp->scale);
	cairo_translate(cr, -vp->ox, -vp->oy);
	cairo_filter_t filter = vp->scale >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_BILINEAR;
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		const ImageBlock *b = block_of_lane(P, lane);
		if (!b || b->tile < 0 || !lane_visible(vp, lane))
			continue;
		/* Block pixel (b->x + u, b->y + v) is world (u, floor(content_y) + v). */
		double wy0 = floor(lane->content_y);
		cairo_set_source_surface(cr, g_ptr_array_index(P->tiles, b->tile), -b->x, wy0 - b->y);
		cairo_pattern_set_filter(cairo_get_source(cr), filter);
		cairo_rectangle(cr, 0, wy0, b->w, b->h);
		cairo_fill(cr);
	}
	cairo_restore(cr);
	if (!P->flat_blocks)
		return;
	/* Lanes without a place in the image: their pages as plain blocks. */
	double c[3];
	ravscope__hex_rgb(ravscope__page_frame_hex(vp->dark, vp->large_text), c);
	cairo_set_source_rgb(cr, c[0], c[1], c[2]);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		const ImageBlock *b = block_of_lane(P, &g_array_index(L->lanes, RavscopeLane, lp->lane));
		if ((b && b->tile >= 0) || !ravscope__page_visible(vp, lp))
			continue;
		cairo_rectangle(cr, sx_of(vp, lp->x), sy_of(vp, lp->y), MAX(lp->w * vp->scale, 1), MAX(lp->h * vp->scale, 1));
	}
	cairo_fill(cr);
}

void ravscope__heap_image_free(RavscopeHeapPainter *P)
{
	g_clear_pointer(&P->tiles, g_ptr_array_unref);
	g_clear_pointer(&P->blocks, g_array_unref);
	g_clear_pointer(&P->block_index, g_hash_table_unref);
	g_clear_pointer(&P->drawn, g_free);
	g_clear_pointer(&P->drawn_high, g_hash_table_unref);
	P->drawn_len = 0;
}

void ravscope_heap_painter_image_stats(const RavscopeHeapPainter *P, guint *tiles, guint64 *pixels, guint *flat_lanes)
{
	*tiles = P->tiles ? P->tiles->len : 0;
	*pixels = P->image_px;
	*flat_lanes = P->flat_blocks;
}
