/* ravscope-heapdraw.c - lays out lanes and pages, and draws them with cairo.
 *
 * Two drawing regimes, switched by zoom:
 *  - far (under RECT_SCALE pixels per cell): every shown cell is one pixel
 *    of a cached ARGB image of the whole world, painted scaled with nearest
 *    filtering.  The image is rebuilt only for pages that changed, so
 *    playing a heap of millions of cells costs the changed pages per frame.
 *  - near: visible cells as rectangles; from TEXT_SCALE on, each cell also
 *    shows its type and fields, and references are drawn as arrows.
 * Everything is culled to the visible world rectangle first.
 *
 * Lane sizes come from the most pages each heap ever owned (from the
 * trace's summary series), so lanes keep their place while a trace plays.
 */
#include "ravscope-heapdraw.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "rav-record.h"

/* Cells are counted per type id, and a type id has RAV_TYPE_BITS bits. */
#define TYPE_IDS ((unsigned)RAV_TYPE_MASK + 1)

#define RECT_SCALE 5.0   /* from here on cells are drawn as rectangles */
#define GAP_SCALE 8.0    /* from here on cells have a one-pixel gap */
#define TEXT_SCALE 36.0  /* type names inside cells */
#define FIELD_SCALE 50.0 /* field values and reference arrows */
#define PAGE_GAP 2.0     /* world units between pages */
#define LANE_PAD 1.0
#define EMPTY_LANE_H 3.0 /* world units: enough for the lane's label at fit zoom */

typedef struct DrawnPage DrawnPage;

struct _RavscopeHeapPainter {
	DrawnPage *drawn; /* by page index: where it is in the image */
	guint32 drawn_len;
	cairo_surface_t *image; /* world image, one pixel per cell */
	int image_w, image_h;
	gboolean image_dark;
	gboolean valid;
	GHashTable *dirty; /* pages to redraw in the image; NULL = all */
	guint16 *types;
	unsigned types_len;
	GArray *legend_counts; /* RavscopeTypeCount at legend_position */
	gboolean legend_throttle;
	guint64 *legend_pending; /* counts of the pass in progress while playing */
	guint legend_next_page;
	guint64 legend_position;
	gconstpointer legend_doc;
};

/* ---- colours ------------------------------------------------------------- */

static void hex_rgb(guint32 hex, double rgb[3])
{
	rgb[0] = ((hex >> 16) & 0xff) / 255.0;
	rgb[1] = ((hex >> 8) & 0xff) / 255.0;
	rgb[2] = (hex & 0xff) / 255.0;
}

static guint32 type_hex(guint16 type, gboolean dark)
{
	static const guint32 user[] = { 0x2ec27e, 0xff7800, 0xc061cb, 0xf5c211, 0x00a3a3,
					0x865e3c, 0x8ff0a4, 0xffbe6f, 0xdc8add, 0x6f8396 };
	switch (type) {
	case RAVSCOPE_TYPE_EMPTY: return dark ? 0x38383c : 0xe6e6e9;
	case RAVSCOPE_TYPE_HEADER: return dark ? 0x8a8990 : 0x5e5c64;
	case RAVSCOPE_TYPE_REF: return dark ? 0xdeddda : 0x2b2536;
	case RAVSCOPE_TYPE_ROOT: return 0xe5a50a;
	case RAVSCOPE_TYPE_DEAD: return 0xe01b24;
	case 5: return 0x1c71d8;
	case 6: return 0x3584e4;
	case 7: return 0x62a0ea;
	case 8: return 0x99c1f1;
	case 9: return 0x9141ac;
	default:
		if (type < RAVSCOPE_TYPE_FIRST_USER)
			return 0x9a9996;
		return user[(type - RAVSCOPE_TYPE_FIRST_USER) % G_N_ELEMENTS(user)];
	}
}

void ravscope_type_color(guint16 type, gboolean dark, double rgb[3])
{
	hex_rgb(type_hex(type, dark), rgb);
}

guint32 ravscope_type_argb(guint16 type, gboolean dark)
{
	return 0xff000000u | type_hex(type, dark);
}

void ravscope_heap_background(gboolean dark, double rgb[3])
{
	hex_rgb(dark ? 0x1e1e20 : 0xfafafa, rgb);
}

static void text_rgb(gboolean dark, double rgb[3])
{
	hex_rgb(dark ? 0xf0f0f0 : 0x242424, rgb);
}

static gboolean rgb_is_light(const double rgb[3])
{
	return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.55;
}

/* ---- layout -------------------------------------------------------------- */

static void lane_clear(gpointer p)
{
	RavscopeLane *lane = p;
	g_free(lane->label);
	g_free(lane->detail);
}

void ravscope_heap_layout_free(RavscopeHeapLayout *layout)
{
	if (!layout)
		return;
	g_array_unref(layout->lanes);
	g_array_unref(layout->pages);
	g_free(layout->page_slot);
	g_free(layout);
}

typedef struct {
	guint32 heap_id;
	gboolean present;
	rav_state_heap heap;
} HeapRef;

static unsigned lane_rows(unsigned pages, unsigned page_cols)
{
	unsigned rows = (pages + page_cols - 1) / page_cols;
	return MAX(rows, 1);
}

static double world_height_for(RavscopeDocument *doc, const GArray *heaps, unsigned page_cols,
			       double page_h, unsigned flight_pages, unsigned pool_pages, unsigned cols, double min_lane_h)
{
	double h = 0;
	for (guint i = 0; i < heaps->len; i++) {
		const HeapRef *r = &g_array_index(heaps, HeapRef, i);
		unsigned maxp = MAX(ravscope_document_max_pages(doc, r->heap_id), r->present ? r->heap.page_count : 0);
		h += MAX(maxp ? lane_rows(maxp, page_cols) * page_h + LANE_PAD * 2 : 0, min_lane_h);
	}
	h += MAX(flight_pages ? lane_rows(flight_pages, page_cols) * page_h + LANE_PAD * 2 : 0, min_lane_h);
	double pool_w = MAX(2.0, cols / 4.0) + 1;
	unsigned per_row = MAX(1, (unsigned)((page_cols * (cols + PAGE_GAP)) / pool_w));
	h += MAX(pool_pages ? lane_rows(pool_pages, per_row) * (MAX(1.0, page_h / 4.0) + 1) + LANE_PAD * 2 : 0, min_lane_h);
	return h;
}

RavscopeHeapLayout *ravscope_heap_layout_build(RavscopeDocument *doc, const RavscopeHeapLayout *keep, unsigned page_cols,
					       double aspect, double min_lane_h)
{
	min_lane_h = MAX(min_lane_h, EMPTY_LANE_H);
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_state *s = ravscope_document_get_state(doc);
	RavscopeHeapLayout *L = g_new0(RavscopeHeapLayout, 1);
	L->cols = ravscope_document_page_columns(doc);
	L->rows = ravscope_document_page_rows(doc);
	L->page_w = L->cols + PAGE_GAP;
	L->page_h = L->rows + PAGE_GAP;
	L->lanes = g_array_new(FALSE, TRUE, sizeof(RavscopeLane));
	g_array_set_clear_func(L->lanes, lane_clear);
	L->pages = g_array_new(FALSE, TRUE, sizeof(RavscopeLayoutPage));
	L->position = rav_state_position(s);
	L->page_span = rav_state_page_span(s);
	L->page_slot = g_new(guint32, MAX(L->page_span, 1));
	memset(L->page_slot, 0xff, sizeof(guint32) * MAX(L->page_span, 1));

	/* Thread heaps in the trace's order (stable), message heaps alive now. */
	GArray *heaps = g_array_new(FALSE, TRUE, sizeof(HeapRef));
	GArray *msgs = g_array_new(FALSE, TRUE, sizeof(rav_state_heap));
	unsigned nthreads = rav_trace_thread_count(t);
	for (unsigned i = 0; i < nthreads; i++) {
		rav_trace_thread th_entry;
		const rav_trace_thread *th = rav_trace_thread_at(t, i, &th_entry) ? &th_entry : NULL;
		if (th && th->kind == RAV_HEAP_THREAD) {
			HeapRef r = { .heap_id = th->heap_id };
			g_array_append_val(heaps, r);
		}
	}
	unsigned nheaps = rav_state_heap_count(s);
	for (unsigned i = 0; i < nheaps; i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(s, i, &h))
			continue;
		if (h.kind == RAV_HEAP_MESSAGE) {
			if (h.alive && h.page_count > 0)
				g_array_append_val(msgs, h);
			continue;
		}
		gboolean found = FALSE;
		for (guint j = 0; j < heaps->len; j++) {
			HeapRef *r = &g_array_index(heaps, HeapRef, j);
			if (r->heap_id == h.id) {
				r->present = TRUE;
				r->heap = h;
				found = TRUE;
			}
		}
		if (!found) {
			HeapRef r = { .heap_id = h.id, .present = TRUE, .heap = h };
			g_array_append_val(heaps, r);
		}
	}
	unsigned flight_pages = 0;
	for (guint i = 0; i < msgs->len; i++)
		flight_pages += g_array_index(msgs, rav_state_heap, i).page_count;
	/* Each message starts a new row: count whole rows, below. */
	unsigned pool_pages = 0;
	for (guint32 p = 0; p < L->page_span; p++) {
		struct rav_state_page sp;
		if (ravscope_state_page(s, p, &sp) && sp.kind == RAV_SPAGE_POOL)
			pool_pages++;
	}

	if (page_cols == 0) {
		double best = G_MAXDOUBLE;
		page_cols = 1;
		for (unsigned pc = 1; pc <= 1024; pc *= 2) {
			double w = pc * L->page_w + 1;
			double h = world_height_for(doc, heaps, pc, L->page_h, flight_pages, pool_pages, L->cols, min_lane_h);
			double d = fabs(log((w / h) / MAX(aspect, 0.05)));
			if (d < best) {
				best = d;
				page_cols = pc;
			}
		}
	}
	L->page_cols = page_cols;
	L->world_w = page_cols * L->page_w;

	double y = 0;
	for (guint i = 0; i < heaps->len; i++) {
		const HeapRef *r = &g_array_index(heaps, HeapRef, i);
		unsigned count = r->present ? r->heap.page_count : 0;
		unsigned maxp = MAX(ravscope_document_max_pages(doc, r->heap_id), count);
		/* A heap that never owns a page and has no name (the
		 * recorder's own thread) has nothing to show; named threads
		 * keep a lane even without pages (programs that share malloc'd
		 * memory, whose accesses the contention view shows). */
		rav_trace_thread th_entry;
		const rav_trace_thread *th = rav_trace_thread_by_id(t, r->heap_id, &th_entry) ? &th_entry : NULL;
		if (maxp == 0 && (!th || !th->name[0]))
			continue;
		RavscopeLane lane = { .kind = RAVSCOPE_LANE_THREAD, .heap_id = r->heap_id, .y = y };
		/* Places: pages seen in this lane before keep theirs; the
		 * others take the lowest free places, in list order. */
		guint32 *slot_of = g_new(guint32, MAX(count, 1));
		guint nslots = count + MAX(maxp, count) + 1;
		guint8 *used = g_new0(guint8, nslots);
		guint32 maxslot = 0;
		for (unsigned k = 0; k < count; k++) {
			const RavscopeLayoutPage *old = keep ? ravscope_heap_layout_find(keep, r->heap.pages[k]) : NULL;
			slot_of[k] = G_MAXUINT32;
			if (old && old->heap_id == r->heap_id && old->kind != RAV_SPAGE_POOL && old->slot < nslots && !used[old->slot] &&
			    g_array_index(keep->lanes, RavscopeLane, old->lane).kind == RAVSCOPE_LANE_THREAD) {
				slot_of[k] = old->slot;
				used[old->slot] = 1;
			}
		}
		guint32 next_free = 0;
		for (unsigned k = 0; k < count; k++) {
			if (slot_of[k] == G_MAXUINT32) {
				while (next_free < nslots && used[next_free])
					next_free++;
				slot_of[k] = next_free;
				if (next_free < nslots)
					used[next_free] = 1;
			}
			maxslot = MAX(maxslot, slot_of[k]);
		}
		unsigned rows = MAX(lane_rows(maxp, page_cols), count ? maxslot / page_cols + 1 : 1);
		lane.h = MAX(maxp ? rows * L->page_h + LANE_PAD * 2 : 0, min_lane_h);
		lane.alive = r->present && r->heap.alive;
		lane.label = ravscope_document_heap_name(doc, r->heap_id);
		if (!r->present)
			lane.detail = g_strdup("not started");
		else
			lane.detail = g_strdup_printf("%u page%s · %" G_GUINT64_FORMAT " live%s", count, count == 1 ? "" : "s",
						      r->heap.live_cells, r->heap.alive ? "" : " · ended");
		guint lane_index = L->lanes->len;
		g_array_append_val(L->lanes, lane);
		for (unsigned k = 0; k < count; k++) {
			guint32 page = r->heap.pages[k];
			struct rav_state_page sp = { 0 };
			ravscope_state_page(s, page, &sp);
			guint32 slot = slot_of[k];
			RavscopeLayoutPage lp = {
				.page = page, .lane = lane_index, .heap_id = r->heap_id, .kind = sp.kind,
				.x = (slot % page_cols) * L->page_w + PAGE_GAP / 2,
				.y = y + LANE_PAD + (slot / page_cols) * L->page_h + PAGE_GAP / 2,
				.w = L->cols, .h = L->rows, .slot = slot,
			};
			if (page < L->page_span)
				L->page_slot[page] = L->pages->len;
			g_array_append_val(L->pages, lp);
		}
		g_free(slot_of);
		g_free(used);
		y += lane.h;
	}

	/* Messages: the pages of every message heap alive now, in one flow
	 * (each page's dashed frame marks it as a buffer page). */
	{
		RavscopeLane lane = { .kind = RAVSCOPE_LANE_FLIGHT, .heap_id = 0, .y = y, .alive = TRUE };
		guint lane_index = L->lanes->len;
		unsigned k = 0;
		for (guint i = 0; i < msgs->len; i++) {
			const rav_state_heap *h = &g_array_index(msgs, rav_state_heap, i);
			for (unsigned j = 0; j < h->page_count; j++, k++) {
				guint32 page = h->pages[j];
				struct rav_state_page sp = { 0 };
				ravscope_state_page(s, page, &sp);
				RavscopeLayoutPage lp = {
					.page = page, .lane = lane_index, .heap_id = h->id, .kind = sp.kind,
					.x = (k % page_cols) * L->page_w + PAGE_GAP / 2,
					.y = y + LANE_PAD + (k / page_cols) * L->page_h + PAGE_GAP / 2,
					.w = L->cols, .h = L->rows, .slot = k,
				};
				if (page < L->page_span)
					L->page_slot[page] = L->pages->len;
				g_array_append_val(L->pages, lp);
			}
		}
		lane.h = MAX(k ? lane_rows(k, page_cols) * L->page_h + LANE_PAD * 2 : 0, min_lane_h);
		lane.label = g_strdup("messages");
		unsigned sending = 0;
		for (guint i = 0; i < msgs->len; i++)
			sending += g_array_index(msgs, rav_state_heap, i).in_flight;
		lane.detail = g_strdup_printf("%u building · %u in flight", msgs->len - sending, sending);
		g_array_append_val(L->lanes, lane);
		y += lane.h;
	}

	/* Pool: small blocks, many per row. */
	{
		RavscopeLane lane = { .kind = RAVSCOPE_LANE_POOL, .y = y, .alive = TRUE };
		guint lane_index = L->lanes->len;
		double bw = MAX(2.0, L->cols / 4.0), bh = MAX(1.0, L->rows / 4.0);
		unsigned per_row = MAX(1, (unsigned)(L->world_w / (bw + 1)));
		unsigned k = 0;
		for (guint32 p = 0; p < L->page_span; p++) {
			struct rav_state_page sp;
			if (!ravscope_state_page(s, p, &sp) || sp.kind != RAV_SPAGE_POOL)
				continue;
			RavscopeLayoutPage lp = {
				.page = p, .lane = lane_index, .heap_id = 0, .kind = sp.kind,
				.x = (k % per_row) * (bw + 1) + 0.5,
				.y = y + LANE_PAD + (k / per_row) * (bh + 1) + 0.5,
				.w = bw, .h = bh, .slot = k,
			};
			L->page_slot[p] = L->pages->len;
			g_array_append_val(L->pages, lp);
			k++;
		}
		lane.h = MAX(k ? lane_rows(k, per_row) * (bh + 1) + LANE_PAD * 2 : 0, min_lane_h);
		lane.label = g_strdup("pool");
		lane.detail = g_strdup_printf("%u free page%s", k, k == 1 ? "" : "s");
		g_array_append_val(L->lanes, lane);
		y += lane.h;
	}
	L->world_h = y;
	g_array_unref(heaps);
	g_array_unref(msgs);
	return L;
}

RavscopeHeapLayout *ravscope_heap_layout_build_fit(RavscopeDocument *doc, const RavscopeHeapLayout *keep,
						   unsigned page_cols, RavscopeViewport *vp, double label_px)
{
	double avail_w = vp->width - (vp->width > 3 * vp->reserve_right ? vp->reserve_right : 0);
	double aspect = avail_w / MAX(vp->height, 1);
	RavscopeHeapLayout *L = ravscope_heap_layout_build(doc, keep, page_cols, aspect, 0);
	ravscope_viewport_fit(vp, L);
	/* Lanes at least label_px tall on screen at this zoom, so every lane's
	 * name is readable in the whole-heap view. */
	double min_h = label_px / MAX(vp->scale, 1e-3);
	if (min_h > EMPTY_LANE_H * 1.05) {
		unsigned pc = L->page_cols;
		ravscope_heap_layout_free(L);
		L = ravscope_heap_layout_build(doc, keep, page_cols ? page_cols : pc, aspect, min_h);
		ravscope_viewport_fit(vp, L);
	}
	return L;
}

const RavscopeLayoutPage *ravscope_heap_layout_find(const RavscopeHeapLayout *L, guint32 page)
{
	if (!L || page >= L->page_span || L->page_slot[page] == G_MAXUINT32)
		return NULL;
	return &g_array_index(L->pages, RavscopeLayoutPage, L->page_slot[page]);
}

gboolean ravscope_heap_layout_cell_pos(const RavscopeHeapLayout *L, rav_loc cell, double *wx, double *wy)
{
	if (cell == RAV_LOC_NONE || (cell & RAV_LOC_EXTERNAL))
		return FALSE;
	const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, rav_loc_page(cell));
	if (!lp || lp->kind == RAV_SPAGE_POOL)
		return FALSE;
	unsigned c = rav_loc_cell(cell);
	*wx = lp->x + (c % L->cols);
	*wy = lp->y + (c / L->cols);
	return TRUE;
}

/* ---- viewport ------------------------------------------------------------ */

void ravscope_viewport_fit(RavscopeViewport *vp, const RavscopeHeapLayout *L)
{
	double avail_w = vp->width - (vp->width > 3 * vp->reserve_right ? vp->reserve_right : 0);
	double sx = avail_w / MAX(L->world_w, 1);
	double sy = vp->height / MAX(L->world_h, 1);
	vp->scale = MIN(sx, sy);
	/* Whole pixels per cell when possible: crisp cells, exact colours. */
	if (vp->scale >= 1)
		vp->scale = floor(vp->scale);
	/* A heap without pages: keep empty lanes label-sized. */
	if (L->pages->len == 0)
		vp->scale = MIN(vp->scale, 14);
	vp->ox = 0;
	vp->oy = 0;
}

static inline double sx_of(const RavscopeViewport *vp, double wx) { return vp->x0 + (wx - vp->ox) * vp->scale; }
static inline double sy_of(const RavscopeViewport *vp, double wy) { return vp->y0 + (wy - vp->oy) * vp->scale; }

rav_loc ravscope_heap_hit(const RavscopeHeapLayout *L, const RavscopeViewport *vp, double x, double y)
{
	if (!L || x < vp->x0 || y < vp->y0 || x >= vp->x0 + vp->width || y >= vp->y0 + vp->height)
		return RAV_LOC_NONE;
	double wx = vp->ox + (x - vp->x0) / vp->scale;
	double wy = vp->oy + (y - vp->y0) / vp->scale;
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL)
			continue;
		if (wx >= lp->x && wx < lp->x + L->cols && wy >= lp->y && wy < lp->y + L->rows) {
			unsigned c = (unsigned)(wy - lp->y) * L->cols + (unsigned)(wx - lp->x);
			return rav_loc_make(lp->page, c, 0);
		}
	}
	return RAV_LOC_NONE;
}

/* ---- painter ------------------------------------------------------------- */

RavscopeHeapPainter *ravscope_heap_painter_new(void)
{
	return g_new0(RavscopeHeapPainter, 1);
}

void ravscope_heap_painter_free(RavscopeHeapPainter *P)
{
	if (!P)
		return;
	g_clear_pointer(&P->image, cairo_surface_destroy);
	g_clear_pointer(&P->dirty, g_hash_table_unref);
	g_clear_pointer(&P->legend_counts, g_array_unref);
	g_free(P->legend_pending);
	g_free(P->types);
	g_free(P->drawn);
	g_free(P);
}

void ravscope_heap_painter_invalidate(RavscopeHeapPainter *P)
{
	P->valid = FALSE;
	g_clear_pointer(&P->legend_counts, g_array_unref);
	g_clear_pointer(&P->dirty, g_hash_table_unref);
}

void ravscope_heap_painter_set_playing(RavscopeHeapPainter *P, gboolean playing)
{
	P->legend_throttle = playing;
	P->legend_next_page = 0;
	if (P->legend_pending)
		memset(P->legend_pending, 0, sizeof(guint64) * TYPE_IDS);
}

void ravscope_heap_painter_invalidate_pages(RavscopeHeapPainter *P, const guint32 *pages, guint n)
{
	if (!P->valid)
		return;
	if (!P->dirty)
		P->dirty = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < n; i++)
		g_hash_table_add(P->dirty, GUINT_TO_POINTER(pages[i]));
}

static guint16 *page_types(RavscopeHeapPainter *P, RavscopeDocument *doc, guint32 page)
{
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	if (P->types_len < cpp) {
		g_free(P->types);
		P->types = g_new(guint16, cpp);
		P->types_len = cpp;
	}
	if (!rav_state_page_types(ravscope_document_get_state(doc), page, P->types))
		memset(P->types, 0, sizeof(guint16) * cpp);
	return P->types;
}

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
	guint16 *types = page_types(P, doc, lp->page);
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

static void image_update(RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L, gboolean dark)
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

void ravscope_heap_painter_note_events(RavscopeHeapPainter *P, const rav_event *events, guint n)
{
	for (guint i = 0; i < n && P->valid; i++) {
		const rav_event *e = &events[i];
		guint32 pages[2];
		guint np = 0;
		switch (e->kind) {
		case RAV_EV_MOVE:
			pages[np++] = rav_loc_page(e->b);
			/* fall through */
		case RAV_EV_ALLOC: case RAV_EV_FREE: case RAV_EV_TRIM: case RAV_EV_FIXUP:
		case RAV_EV_REF_STORE: case RAV_EV_REF_CLEAR: case RAV_EV_DATA_STORE: case RAV_EV_LINK:
		case RAV_EV_TYPE_WORD: case RAV_EV_REFRAV_INSERT: case RAV_EV_REFRAV_REMOVE:
		case RAV_EV_ROOT_NEW: case RAV_EV_ROOT_FREE:
			if (!(e->a & RAV_LOC_EXTERNAL))
				pages[np++] = rav_loc_page(e->a);
			ravscope_heap_painter_invalidate_pages(P, pages, np);
			break;
		case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF:
			/* Pages that change place are found by comparing layouts;
			 * the page itself may change kind or contents. */
			pages[np++] = rav_loc_page(e->a);
			ravscope_heap_painter_invalidate_pages(P, pages, np);
			break;
		default:
			break;
		}
	}
}

/* ---- text ---------------------------------------------------------------- */

/* One layout reused for every label: creating a PangoLayout per cell
 * label dominated the zoomed-in frame time.  Drawing happens on one thread
 * (the GTK main thread, or the headless renderer's only thread). */
static PangoLayout *make_text(cairo_t *cr, const char *text, double px, gboolean bold)
{
	static PangoLayout *layout;
	static PangoFontDescription *fd;
	if (!layout) {
		PangoContext *ctx = pango_font_map_create_context(pango_cairo_font_map_get_default());
		layout = pango_layout_new(ctx);
		g_object_unref(ctx);
		fd = pango_font_description_from_string("Sans");
	}
	pango_cairo_update_layout(cr, layout);
	pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
	pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(layout, fd);
	pango_layout_set_width(layout, -1);
	pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_NONE);
	pango_layout_set_text(layout, text, -1);
	return g_object_ref(layout);
}

static void draw_text(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
		      const double rgb[3], double max_w)
{
	PangoLayout *pl = make_text(cr, text, px, bold);
	if (max_w > 0) {
		pango_layout_set_width(pl, (int)(max_w * PANGO_SCALE));
		pango_layout_set_ellipsize(pl, PANGO_ELLIPSIZE_END);
	}
	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, pl);
	g_object_unref(pl);
}

static double text_width(cairo_t *cr, const char *text, double px, gboolean bold)
{
	PangoLayout *pl = make_text(cr, text, px, bold);
	int w, h;
	pango_layout_get_pixel_size(pl, &w, &h);
	g_object_unref(pl);
	return w;
}

/* ---- arrows -------------------------------------------------------------- */

static void draw_arrow(cairo_t *cr, double x1, double y1, double x2, double y2, double width,
		       const double rgb[3], double alpha, gboolean dashed)
{
	double dx = x2 - x1, dy = y2 - y1;
	double len = sqrt(dx * dx + dy * dy);
	if (len < 2)
		return;
	/* Bend sideways so arrows along a row do not run through the cells. */
	double bend = MIN(len * 0.25, 60);
	double mx = (x1 + x2) / 2 - dy / len * bend, my = (y1 + y2) / 2 + dx / len * bend;
	cairo_save(cr);
	cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
	cairo_set_line_width(cr, width);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
	if (dashed) {
		double d[2] = { width * 3, width * 2 };
		cairo_set_dash(cr, d, 2, 0);
	}
	cairo_move_to(cr, x1, y1);
	cairo_curve_to(cr, mx, my, mx, my, x2, y2);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
	double ax = x2 - mx, ay = y2 - my, al = sqrt(ax * ax + ay * ay);
	if (al > 0) {
		ax /= al;
		ay /= al;
		double hs = width * 4 + 3;
		cairo_move_to(cr, x2, y2);
		cairo_line_to(cr, x2 - ax * hs - ay * hs * 0.5, y2 - ay * hs + ax * hs * 0.5);
		cairo_line_to(cr, x2 - ax * hs + ay * hs * 0.5, y2 - ay * hs - ax * hs * 0.5);
		cairo_close_path(cr);
		cairo_fill(cr);
	}
	cairo_restore(cr);
}

static void rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
	r = MIN(r, MIN(w, h) / 2);
	cairo_new_sub_path(cr);
	cairo_arc(cr, x + w - r, y + r, r, -G_PI / 2, 0);
	cairo_arc(cr, x + w - r, y + h - r, r, 0, G_PI / 2);
	cairo_arc(cr, x + r, y + h - r, r, G_PI / 2, G_PI);
	cairo_arc(cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
	cairo_close_path(cr);
}

/* ---- cells ---------------------------------------------------------------- */

static double ease(double t)
{
	t = CLAMP(t, 0, 1);
	return t * t * (3 - 2 * t);
}

static double anim_local_t(const RavscopeViewport *vp, const RavscopeAnim *a)
{
	double span = MAX(a->end - a->start, 1e-6);
	return CLAMP((vp->anim_t - a->start) / span, 0, 1);
}

/* Screen rectangle of a cell for the rectangle regime. */
static void cell_rect(const RavscopeViewport *vp, double wx, double wy, double *x, double *y, double *w, double *h)
{
	double gap = vp->scale >= GAP_SCALE ? MAX(1.0, floor(vp->scale / 24)) : 0;
	double x1 = floor(sx_of(vp, wx)), y1 = floor(sy_of(vp, wy));
	double x2 = floor(sx_of(vp, wx + 1)), y2 = floor(sy_of(vp, wy + 1));
	*x = x1;
	*y = y1;
	*w = MAX(1, x2 - x1 - gap);
	*h = MAX(1, y2 - y1 - gap);
}

static void fill_cell(cairo_t *cr, const RavscopeViewport *vp, double x, double y, double w, double h, guint16 type)
{
	double rgb[3];
	ravscope_type_color(type, vp->dark, rgb);
	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	if (vp->scale >= TEXT_SCALE) {
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		rounded_rect(cr, x, y, w, h, vp->scale * 0.08);
		cairo_fill(cr);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	} else {
		cairo_rectangle(cr, x, y, w, h);
		cairo_fill(cr);
	}
	if (vp->scale >= 10 && (type == RAVSCOPE_TYPE_REF || type == RAVSCOPE_TYPE_DEAD)) {
		/* Reference ravioli are hatched, dead cells crossed: visible without colour. */
		double ink[3];
		ravscope_heap_background(type == RAVSCOPE_TYPE_REF ? !vp->dark : vp->dark, ink);
		cairo_save(cr);
		cairo_rectangle(cr, x, y, w, h);
		cairo_clip(cr);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		cairo_set_source_rgba(cr, ink[0], ink[1], ink[2], type == RAVSCOPE_TYPE_REF ? 0.35 : 0.8);
		cairo_set_line_width(cr, MAX(1, vp->scale / 20));
		if (type == RAVSCOPE_TYPE_REF) {
			double step = MAX(4, vp->scale / 4);
			for (double d = -h; d < w; d += step) {
				cairo_move_to(cr, x + d, y + h);
				cairo_line_to(cr, x + d + h, y);
			}
		} else {
			double m = w * 0.25;
			cairo_move_to(cr, x + m, y + m);
			cairo_line_to(cr, x + w - m, y + h - m);
			cairo_move_to(cr, x + w - m, y + m);
			cairo_line_to(cr, x + m, y + h - m);
		}
		cairo_stroke(cr);
		cairo_restore(cr);
	}
}

static char *format_field(RavscopeDocument *doc, const rav_state_cell *c, int f)
{
	uint64_t v = c->word[1 + f];
	gboolean is_ref = ravscope_document_type_field_is_ref(doc, c->type, f);
	if (c->type == RAVSCOPE_TYPE_REF && f == 1)
		return NULL; /* a back-link: shown as an arrow, not a value */
	if (is_ref) {
		if (!v)
			return g_strdup("→ null");
		g_autofree char *l = ravscope_format_loc(c->field_target[f] ? c->field_target[f] : v);
		return g_strdup_printf("→ %s", l);
	}
	if (v < 100000)
		return g_strdup_printf("%" G_GUINT64_FORMAT, (guint64)v);
	return g_strdup_printf("0x%" G_GINT64_MODIFIER "x", (guint64)v);
}

static gboolean cell_center(const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc loc, double *x, double *y)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, loc, &wx, &wy))
		return FALSE;
	*x = sx_of(vp, wx + 0.5);
	*y = sy_of(vp, wy + 0.5);
	return TRUE;
}

/* Where inside its cell a word sits, so arrows start at the field they
 * come from: words 0-3 stacked top to bottom in the near regime. */
static gboolean word_point(const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc loc, double *x, double *y)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, loc, &wx, &wy))
		return FALSE;
	if (vp->scale < FIELD_SCALE) {
		*x = sx_of(vp, wx + 0.5);
		*y = sy_of(vp, wy + 0.5);
		return TRUE;
	}
	*x = sx_of(vp, wx + 0.85);
	*y = sy_of(vp, wy + 0.12 + 0.22 * (rav_loc_word(loc) + 0.5));
	return TRUE;
}

static gboolean page_visible(const RavscopeViewport *vp, const RavscopeLayoutPage *lp)
{
	double wx1 = vp->ox + vp->width / vp->scale, wy1 = vp->oy + vp->height / vp->scale;
	return lp->x + lp->w >= vp->ox - 1 && lp->x <= wx1 + 1 && lp->y + lp->h >= vp->oy - 1 && lp->y <= wy1 + 1;
}

static void draw_cell_text(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp,
			   const rav_state_cell *c, guint16 type, double x, double y, double w, double h)
{
	double bg[3], ink[3];
	ravscope_type_color(type, vp->dark, bg);
	gboolean light = rgb_is_light(bg);
	hex_rgb(light ? 0x1a1a1a : 0xffffff, ink);
	double px = CLAMP(vp->scale * 0.165, 8, 15) * (vp->large_text ? 1.2 : 1.0);
	double pad = MAX(2, vp->scale * 0.06);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	draw_text(cr, x + pad, y + pad, ravscope_document_type_name(doc, type), px, TRUE, ink, w - 2 * pad);
	if (vp->scale >= FIELD_SCALE && c && type != RAVSCOPE_TYPE_EMPTY && type != RAVSCOPE_TYPE_HEADER) {
		double line = px * 1.35;
		double yy = y + pad + line * 1.15;
		for (int f = 0; f < 2 && yy + line <= y + h; f++) {
			g_autofree char *v = format_field(doc, c, f);
			if (!v)
				continue;
			g_autofree char *txt = g_strdup_printf("%s %s", c->type == RAVSCOPE_TYPE_REF ? "fwd" : (f ? "f1" : "f0"), v);
			draw_text(cr, x + pad, yy, txt, px * 0.92, FALSE, ink, w - 2 * pad);
			yy += line;
		}
		if (c->scalar && yy + line <= y + h) {
			g_autofree char *txt = g_strdup_printf("scalar %" G_GUINT64_FORMAT, (guint64)c->scalar);
			draw_text(cr, x + pad, yy, txt, px * 0.85, FALSE, ink, w - 2 * pad);
		}
	} else if (type == RAVSCOPE_TYPE_HEADER && vp->scale >= FIELD_SCALE) {
		draw_text(cr, x + pad, y + pad + px * 1.5, "links, owner", px * 0.85, FALSE, ink, w - 2 * pad);
	}
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
}

typedef struct {
	double x, y, w, h;
	guint16 type;
} BatchRect;

static int cmp_batch(gconstpointer a, gconstpointer b)
{
	return (int)((const BatchRect *)a)->type - (int)((const BatchRect *)b)->type;
}

static void flush_batch(cairo_t *cr, const RavscopeViewport *vp, GArray *batch)
{
	g_array_sort(batch, cmp_batch);
	for (guint i = 0; i < batch->len;) {
		guint16 t = g_array_index(batch, BatchRect, i).type;
		double rgb[3];
		ravscope_type_color(t, vp->dark, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		for (; i < batch->len && g_array_index(batch, BatchRect, i).type == t; i++) {
			const BatchRect *r = &g_array_index(batch, BatchRect, i);
			cairo_rectangle(cr, r->x, r->y, r->w, r->h);
		}
		cairo_fill(cr);
	}
}

static void draw_near_pages(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc,
			    const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	GArray *batch = g_array_new(FALSE, FALSE, sizeof(BatchRect));
	rav_state *s = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	double frame[3];
	hex_rgb(vp->dark ? 0x5a5a60 : 0xb8b8bd, frame);
	double wx1 = vp->ox + vp->width / vp->scale, wy1 = vp->oy + vp->height / vp->scale;
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (!page_visible(vp, lp))
			continue;
		double px = sx_of(vp, lp->x), py = sy_of(vp, lp->y);
		double pw = lp->w * vp->scale, ph = lp->h * vp->scale;
		if (lp->kind == RAV_SPAGE_POOL) {
			double c[3];
			hex_rgb(vp->dark ? 0x45454a : 0xd4d4d8, c);
			cairo_set_source_rgb(cr, c[0], c[1], c[2]);
			cairo_rectangle(cr, floor(px), floor(py), floor(pw), floor(ph));
			cairo_fill(cr);
			continue;
		}
		/* Page frame: buffer pages get a dashed accent frame. */
		cairo_save(cr);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		double m = MAX(2, vp->scale * 0.25);
		rounded_rect(cr, px - m, py - m, pw + 2 * m, ph + 2 * m, m * 1.5);
		if (lp->kind == RAV_SPAGE_BUFFER) {
			double d[2] = { 6, 4 };
			cairo_set_dash(cr, d, 2, 0);
			cairo_set_source_rgb(cr, vp->accent[0], vp->accent[1], vp->accent[2]);
		} else {
			cairo_set_source_rgb(cr, frame[0], frame[1], frame[2]);
		}
		cairo_set_line_width(cr, vp->large_text ? 2 : 1);
		cairo_stroke(cr);
		cairo_restore(cr);
		if (vp->scale >= 10) {
			double tc[3];
			text_rgb(vp->dark, tc);
			g_autofree char *lbl = g_strdup_printf("page %u%s%s", lp->page,
				lp->kind == RAV_SPAGE_BUFFER ? " · message buffer" : "",
				lp->kind == RAV_SPAGE_ROOT ? " · roots" : "");
			double fs = CLAMP(vp->scale * 0.55, 9, 14) * (vp->large_text ? 1.3 : 1);
			cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
			draw_text(cr, px, py - m - fs * 1.35, lbl, fs, FALSE, tc, pw);
			cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
		}
		guint16 *types = page_types(P, doc, lp->page);
		for (unsigned c = 0; c < cpp && c < L->cols * L->rows; c++) {
			double wx = lp->x + (c % L->cols), wy = lp->y + (c / L->cols);
			if (wx + 1 < vp->ox || wx > wx1 || wy + 1 < vp->oy || wy > wy1)
				continue;
			double x, y, w, h;
			cell_rect(vp, wx, wy, &x, &y, &w, &h);
			if (vp->scale < TEXT_SCALE && types[c] != RAVSCOPE_TYPE_REF && types[c] != RAVSCOPE_TYPE_DEAD) {
				/* Plain cells are batched by colour below: one fill
				 * per type instead of one per cell. */
				BatchRect br = { x, y, w, h, types[c] };
				g_array_append_val(batch, br);
				continue;
			}
			fill_cell(cr, vp, x, y, w, h, types[c]);
			if (vp->scale >= TEXT_SCALE && types[c] != RAVSCOPE_TYPE_EMPTY) {
				rav_state_cell sc;
				gboolean have = rav_state_cell_at(s, lp->page, c, &sc);
				draw_cell_text(cr, doc, vp, have ? &sc : NULL, types[c], x, y, w, h);
			}
		}
	}
	flush_batch(cr, vp, batch);
	g_array_unref(batch);
}

/* Forward references of visible cells, drawn faintly, when zoomed in far
 * enough to read them. */
static void draw_near_links(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	rav_state *s = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	double ink[3];
	text_rgb(vp->dark, ink);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL || !page_visible(vp, lp))
			continue;
		for (unsigned c = 1; c < cpp; c++) {
			rav_state_cell sc;
			if (!rav_state_cell_at(s, lp->page, c, &sc) || sc.state != RAV_CELL_LIVE)
				continue;
			for (int f = 0; f < 2; f++) {
				if (!ravscope_document_type_field_is_ref(doc, sc.type, f) || !sc.word[1 + f])
					continue;
				if (sc.type == RAVSCOPE_TYPE_REF && f == 1)
					continue;
				rav_loc target = sc.type == RAVSCOPE_TYPE_REF ? sc.word[1] : sc.word[1 + f];
				double x1, y1, x2, y2;
				if (!word_point(L, vp, rav_loc_make(lp->page, c, 1 + f), &x1, &y1))
					continue;
				if (!cell_center(L, vp, target, &x2, &y2))
					continue;
				/* Links leaving the view would only cross it: the
				 * field's text names their target instead. */
				if (x2 < vp->x0 || x2 > vp->x0 + vp->width || y2 < vp->y0 || y2 > vp->y0 + vp->height ||
				    x1 < vp->x0 || x1 > vp->x0 + vp->width || y1 < vp->y0 || y1 > vp->y0 + vp->height)
					continue;
				draw_arrow(cr, x1, y1, x2, y2, vp->large_text ? 2.0 : 1.3, ink, vp->n_anims ? 0.15 : 0.4, FALSE);
			}
		}
	}
}

static void draw_selection_links(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	rav_state_cell sc;
	rav_loc sel = vp->selected;
	if (!rav_state_cell_at(ravscope_document_get_state(doc), rav_loc_page(sel), rav_loc_cell(sel), &sc) ||
	    sc.state != RAV_CELL_LIVE)
		return;
	double lw = vp->large_text ? 3.0 : 2.0;
	double back[3];
	hex_rgb(0xe66100, back);
	for (int f = 0; f < 2; f++) {
		if (!ravscope_document_type_field_is_ref(doc, sc.type, f) || !sc.word[1 + f])
			continue;
		if (sc.type == RAVSCOPE_TYPE_REF && f == 1)
			continue;
		double x1, y1, x2, y2;
		if (!word_point(L, vp, rav_loc_make(rav_loc_page(sel), rav_loc_cell(sel), 1 + f), &x1, &y1))
			continue;
		rav_loc next = sc.word[1 + f];
		if (cell_center(L, vp, next, &x2, &y2))
			draw_arrow(cr, x1, y1, x2, y2, lw, vp->accent, 0.95, FALSE);
		/* Through reference ravioli to the final target. */
		if (sc.field_target[f] && sc.field_target[f] != next && cell_center(L, vp, sc.field_target[f], &x2, &y2))
			draw_arrow(cr, x1, y1, x2, y2, lw * 0.6, vp->accent, 0.6, TRUE);
	}
	/* Back-links name the slots that refer here. */
	int nback = sc.type == RAVSCOPE_TYPE_REF ? 2 : 1;
	for (int k = 0; k < nback; k++) {
		rav_loc slot = sc.type == RAVSCOPE_TYPE_REF ? sc.word[2 + k] : sc.word[3];
		double x1, y1, x2, y2;
		if (!slot || !cell_center(L, vp, sel, &x1, &y1) || !word_point(L, vp, slot, &x2, &y2))
			continue;
		draw_arrow(cr, x1, y1, x2, y2, lw * 0.8, back, 0.9, TRUE);
	}
}

static void outline_cell(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc loc,
			 const double rgb[3], double alpha, double width)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, loc, &wx, &wy))
		return;
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
	cairo_set_line_width(cr, width);
	if (vp->scale >= RECT_SCALE) {
		double x, y, w, h;
		cell_rect(vp, wx, wy, &x, &y, &w, &h);
		rounded_rect(cr, x - width / 2, y - width / 2, w + width, h + width, MIN(6, vp->scale * 0.1));
	} else {
		cairo_arc(cr, sx_of(vp, wx + 0.5), sy_of(vp, wy + 0.5), 9, 0, 2 * G_PI);
	}
	cairo_stroke(cr);
	cairo_restore(cr);
}

static void draw_anims(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	double dead[3], grey[3];
	ravscope_type_color(RAVSCOPE_TYPE_DEAD, vp->dark, dead);
	hex_rgb(0x9a9996, grey);
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	double lw = vp->large_text ? 3 : 2;
	for (guint i = 0; i < vp->n_anims; i++) {
		const RavscopeAnim *a = &vp->anims[i];
		double lt = anim_local_t(vp, a);
		if (vp->anim_t < a->start)
			lt = 0;
		switch (a->kind) {
		case RAVSCOPE_ANIM_MOVE: {
			double xa, ya, xb, yb;
			if (!cell_center(L, vp, a->a, &xa, &ya) || !cell_center(L, vp, a->b, &xb, &yb) || lt >= 1)
				break;
			double e = ease(lt);
			double size = MAX(vp->scale * 0.92, 10);
			double x = xa + (xb - xa) * e, y = ya + (yb - ya) * e;
			double wx, wy;
			/* The hole the cell is sliding into. */
			if (vp->scale >= RECT_SCALE && ravscope_heap_layout_cell_pos(L, a->b, &wx, &wy)) {
				double cx, cy, cw, ch;
				cell_rect(vp, wx, wy, &cx, &cy, &cw, &ch);
				cairo_set_source_rgba(cr, dead[0], dead[1], dead[2], 0.55 * (1 - e));
				cairo_rectangle(cr, cx, cy, cw, ch);
				cairo_fill(cr);
			}
			draw_arrow(cr, xa, ya, xb, yb, lw, vp->accent, 0.8 * (1 - e * 0.7), TRUE);
			double rgb[3];
			ravscope_type_color(a->type, vp->dark, rgb);
			cairo_set_source_rgba(cr, 0, 0, 0, 0.25);
			rounded_rect(cr, x - size / 2 + 3, y - size / 2 + 4, size, size, size * 0.12);
			cairo_fill(cr);
			cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
			rounded_rect(cr, x - size / 2, y - size / 2, size, size, size * 0.12);
			cairo_fill_preserve(cr);
			cairo_set_source_rgb(cr, vp->accent[0], vp->accent[1], vp->accent[2]);
			cairo_set_line_width(cr, lw);
			cairo_stroke(cr);
			if (vp->scale >= TEXT_SCALE) {
				/* The sliding cell keeps its name, so the eye can follow it. */
				double ink[3];
				hex_rgb(rgb_is_light(rgb) ? 0x1a1a1a : 0xffffff, ink);
				double px = CLAMP(vp->scale * 0.165, 8, 15) * (vp->large_text ? 1.2 : 1.0);
				draw_text(cr, x - size / 2 + 4, y - size / 2 + 4, ravscope_document_type_name(doc, a->type), px, TRUE, ink,
					  size - 8);
			}
			break;
		}
		case RAVSCOPE_ANIM_FIXUP: {
			double x1, y1, x2, y2;
			if (vp->anim_t < a->start || !word_point(L, vp, a->a, &x1, &y1))
				break;
			double alpha = sin(G_PI * MIN(1, lt * 0.8 + 0.2));
			if (a->b && cell_center(L, vp, a->b, &x2, &y2))
				draw_arrow(cr, x1, y1, x2, y2, lw * 0.7, grey, 0.7 * (1 - lt), TRUE);
			if (a->c && cell_center(L, vp, a->c, &x2, &y2))
				draw_arrow(cr, x1, y1, x2, y2, lw * 1.2, vp->accent, MAX(alpha, 0.35), FALSE);
			break;
		}
		case RAVSCOPE_ANIM_ALLOC:
		case RAVSCOPE_ANIM_FREE: {
			double x, y;
			if (vp->anim_t < a->start || lt >= 1 || !cell_center(L, vp, a->a, &x, &y))
				break;
			double r = MAX(vp->scale * 0.5, 5) * (1 + 1.5 * (1 - ease(lt)));
			const double *rgb = a->kind == RAVSCOPE_ANIM_FREE ? dead : vp->accent;
			cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 1 - lt);
			cairo_set_line_width(cr, lw * 1.5);
			cairo_arc(cr, x, y, r, 0, 2 * G_PI);
			cairo_stroke(cr);
			break;
		}
		case RAVSCOPE_ANIM_PAGE_ACQUIRE: {
			const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, a->page);
			if (!lp || lt >= 1)
				break;
			double m = vp->scale * 0.6 + 4 * (1 - lt);
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], 1 - lt);
			cairo_set_line_width(cr, lw * 1.5);
			rounded_rect(cr, sx_of(vp, lp->x) - m, sy_of(vp, lp->y) - m, lp->w * vp->scale + 2 * m,
				     lp->h * vp->scale + 2 * m, 6);
			cairo_stroke(cr);
			break;
		}
		case RAVSCOPE_ANIM_PAGE_TRAVEL: {
			const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, a->page);
			if (!lp || lt >= 1)
				break;
			double e = ease(lt);
			double wx = a->from_x + (lp->x - a->from_x) * e, wy = a->from_y + (lp->y - a->from_y) * e;
			double x = sx_of(vp, wx), y = sy_of(vp, wy);
			double w = MAX(L->cols * vp->scale, 24), h = MAX(L->rows * vp->scale, 12);
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], 0.25);
			rounded_rect(cr, x, y, w, h, 6);
			cairo_fill_preserve(cr);
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], 0.95);
			cairo_set_line_width(cr, lw * 1.5);
			cairo_stroke(cr);
			draw_arrow(cr, sx_of(vp, a->from_x + L->cols / 2.0), sy_of(vp, a->from_y + L->rows / 2.0),
				   x + w / 2, y + h / 2, lw, vp->accent, 0.6 * (1 - e), TRUE);
			break;
		}
		}
	}
	cairo_restore(cr);
}

static void heat_rgb(double v, double rgb[3])
{
	/* amber -> red -> dark red */
	v = CLAMP(v, 0, 1);
	rgb[0] = 1.0 - 0.25 * v;
	rgb[1] = 0.72 * (1 - v);
	rgb[2] = 0.15 * (1 - v);
}

static void draw_contention(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	const rav_trace_info *info = ravscope_document_get_info(doc);
	unsigned line_size = vp->line_size ? vp->line_size : 64;
	unsigned lines = info->page_size / line_size;
	unsigned cells_per_line = MAX(1u, line_size / MAX(info->cell_size, 1));
	if (!lines || lines > 4096)
		return;
	guint64 *heat = g_new0(guint64, lines);
	guint64 hottest = 1;
	/* Lines come hottest first: the first pool line sets the scale. */
	for (unsigned i = 0; i < rav_contention_line_count(vp->contention); i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external) {
			hottest = MAX(hottest, ln->transfers);
			break;
		}
	}
	cairo_save(cr);
	/* Wash the cells out so the heat reads on top of any type colour. */
	double bg[3];
	ravscope_heap_background(vp->dark, bg);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.85);
	cairo_paint(cr);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL || !page_visible(vp, lp) || !rav_contention_page(vp->contention, lp->page))
			continue;
		rav_contention_page_lines(vp->contention, lp->page, heat);
		for (unsigned ln = 0; ln < lines; ln++) {
			if (!heat[ln])
				continue;
			double v = log1p((double)heat[ln]) / log1p((double)hottest);
			double rgb[3];
			heat_rgb(v, rgb);
			cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.35 + 0.6 * v);
			for (unsigned k = 0; k < cells_per_line; k++) {
				unsigned c = ln * cells_per_line + k;
				double wx = lp->x + (c % L->cols), wy = lp->y + (c / L->cols);
				cairo_rectangle(cr, sx_of(vp, wx), sy_of(vp, wy), MAX(vp->scale, 1), MAX(vp->scale, 1));
			}
			cairo_fill(cr);
		}
	}
	cairo_restore(cr);
	g_free(heat);
}

/* Memory outside the ravioli pool (a "chatty" program's malloc'd
 * structure) has no cells to heat: show its hottest lines as a strip of
 * heated squares with the totals, so the two designs compare at a glance. */
static void draw_external_lines(cairo_t *cr, const RavscopeViewport *vp)
{
	unsigned n = rav_contention_line_count(vp->contention);
	guint64 lines = 0, transfers = 0, hottest = 1;
	for (unsigned i = 0; i < n; i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external)
			continue;
		lines++;
		transfers += ln->transfers;
		hottest = MAX(hottest, ln->transfers);
	}
	if (!lines)
		return;
	double fs = vp->large_text ? 16 : 12, sq = vp->large_text ? 18 : 14;
	/* Leave the bottom-right corner to the legend. */
	double avail = vp->width - 24 - (vp->legend ? 190 : 0);
	unsigned fit = (unsigned)MAX(4, (avail - fs * 1.2) / (sq + 3));
	unsigned shown = (unsigned)MIN(MIN(lines, 48), fit);
	double bw = MIN(MAX(shown * (sq + 3) + fs * 1.2, fs * 22), avail), bh = fs * 2.6 + sq + 10;
	double bx = vp->x0 + 12, by = vp->y0 + vp->height - bh - 12;
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	text_rgb(vp->dark, tc);
	cairo_save(cr);
	rounded_rect(cr, bx, by, bw, bh, 8);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.94);
	cairo_fill_preserve(cr);
	cairo_set_source_rgb(cr, 0.9, 0.38, 0.0);
	cairo_set_line_width(cr, 1.5);
	cairo_stroke(cr);
	char buf[200];
	g_snprintf(buf, sizeof buf, "Memory outside the ravioli pool: %" G_GUINT64_FORMAT " contended line%s, %" G_GUINT64_FORMAT
		   " transfers between threads", lines, lines == 1 ? "" : "s", transfers);
	draw_text(cr, bx + fs * 0.6, by + fs * 0.5, buf, fs, TRUE, tc, bw - fs);
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < shown; i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external)
			continue;
		double v = log1p((double)ln->transfers) / log1p((double)hottest), rgb[3];
		heat_rgb(v, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		rounded_rect(cr, bx + fs * 0.6 + k * (sq + 3), by + fs * 2.1, sq, sq, 3);
		cairo_fill(cr);
		k++;
	}
	cairo_restore(cr);
}

GArray *ravscope_heap_type_counts(RavscopeDocument *doc, const RavscopeHeapLayout *L)
{
	enum { MAXT = TYPE_IDS };
	guint64 *counts = g_new0(guint64, MAXT);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	guint16 *types = g_new(guint16, MAX(cpp, 1));
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL)
			continue;
		if (!rav_state_page_types(ravscope_document_get_state(doc), lp->page, types))
			continue;
		for (unsigned c = 0; c < cpp; c++)
			counts[types[c]]++; /* a type id always fits */
	}
	GArray *out = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
	for (unsigned t = 0; t < MAXT; t++) {
		if (counts[t]) {
			RavscopeTypeCount tc = { (guint16)t, counts[t] };
			g_array_append_val(out, tc);
		}
	}
	g_free(types);
	g_free(counts);
	return out;
}

static void draw_legend(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
			const RavscopeViewport *vp)
{
	/* Counting every cell is the costliest part of a frame on a big heap.
	 * Stopped: recount when the playhead moved.  Playing: count a slice of
	 * the pages per frame into a pending table and publish it when a pass
	 * is complete, so no single frame pays for the whole heap. */
	enum { MAXT = TYPE_IDS, SLICE_PAGES = 512 };
	guint64 pos = ravscope_document_get_position(doc);
	if (!P->legend_counts || P->legend_doc != doc || (!P->legend_throttle && P->legend_position != pos)) {
		g_clear_pointer(&P->legend_counts, g_array_unref);
		P->legend_counts = ravscope_heap_type_counts(doc, L);
		P->legend_position = pos;
		P->legend_doc = doc;
		P->legend_next_page = 0;
	} else if (P->legend_throttle && P->legend_position != pos) {
		if (!P->legend_pending)
			P->legend_pending = g_new0(guint64, MAXT);
		unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
		guint end = MIN(L->pages->len, P->legend_next_page + SLICE_PAGES);
		for (guint i = P->legend_next_page; i < end; i++) {
			const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
			if (lp->kind == RAV_SPAGE_POOL)
				continue;
			guint16 *types = page_types(P, doc, lp->page);
			for (unsigned c = 0; c < cpp; c++)
				P->legend_pending[types[c]]++;
		}
		P->legend_next_page = end;
		if (end >= L->pages->len) {
			GArray *out = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
			for (unsigned t = 0; t < MAXT; t++) {
				if (P->legend_pending[t]) {
					RavscopeTypeCount tc = { (guint16)t, P->legend_pending[t] };
					g_array_append_val(out, tc);
				}
			}
			g_clear_pointer(&P->legend_counts, g_array_unref);
			P->legend_counts = out;
			P->legend_position = pos;
			P->legend_next_page = 0;
			memset(P->legend_pending, 0, sizeof(guint64) * MAXT);
		}
	}
	if (L->pages->len == 0)
		return; /* no cells: nothing to explain */
	GArray *counts = g_array_ref(P->legend_counts);
	double fs = vp->large_text ? 17 : 12;
	double row = fs * 1.6, sw = fs * 1.1;
	double tc[3], bg[3];
	text_rgb(vp->dark, tc);
	ravscope_heap_background(vp->dark, bg);
	/* Live types first (most cells first), then the fixed kinds. */
	GArray *rows = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
	for (guint i = 0; i < counts->len; i++) {
		RavscopeTypeCount c = g_array_index(counts, RavscopeTypeCount, i);
		if (c.type != RAVSCOPE_TYPE_EMPTY && c.type != RAVSCOPE_TYPE_HEADER)
			g_array_append_val(rows, c);
	}
	for (guint i = 1; i < rows->len; i++)
		for (guint j = i; j > 0 && g_array_index(rows, RavscopeTypeCount, j).cells >
					  g_array_index(rows, RavscopeTypeCount, j - 1).cells; j--) {
			RavscopeTypeCount tmp = g_array_index(rows, RavscopeTypeCount, j);
			g_array_index(rows, RavscopeTypeCount, j) = g_array_index(rows, RavscopeTypeCount, j - 1);
			g_array_index(rows, RavscopeTypeCount, j - 1) = tmp;
		}
	guint max_rows = MAX(2, (guint)((vp->height - 20) / row) - 3);
	if (rows->len > max_rows)
		g_array_set_size(rows, max_rows);
	RavscopeTypeCount fixed[2] = { { RAVSCOPE_TYPE_HEADER, 0 }, { RAVSCOPE_TYPE_EMPTY, 0 } };
	g_array_append_vals(rows, fixed, 2);
	double w = 0;
	char buf[160];
	for (guint i = 0; i < rows->len; i++) {
		RavscopeTypeCount c = g_array_index(rows, RavscopeTypeCount, i);
		if (c.cells)
			g_snprintf(buf, sizeof buf, "%s  %" G_GUINT64_FORMAT, ravscope_document_type_name(doc, c.type), c.cells);
		else
			g_snprintf(buf, sizeof buf, "%s", ravscope_document_type_name(doc, c.type));
		w = MAX(w, text_width(cr, buf, fs, FALSE));
	}
	double bw = w + sw + fs * 2, bh = rows->len * row + fs;
	double bx = vp->x0 + vp->width - bw - 12, by = vp->y0 + vp->height - bh - 12;
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	rounded_rect(cr, bx, by, bw, bh, 8);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.92);
	cairo_fill_preserve(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.18);
	cairo_set_line_width(cr, 1);
	cairo_stroke(cr);
	for (guint i = 0; i < rows->len; i++) {
		RavscopeTypeCount c = g_array_index(rows, RavscopeTypeCount, i);
		double y = by + fs / 2 + i * row;
		double x = bx + fs / 2;
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
		fill_cell(cr, &(RavscopeViewport){ .scale = 12, .dark = vp->dark }, floor(x), floor(y + (row - sw) / 2), sw, sw, c.type);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		if (c.cells)
			g_snprintf(buf, sizeof buf, "%s  %" G_GUINT64_FORMAT, ravscope_document_type_name(doc, c.type), c.cells);
		else
			g_snprintf(buf, sizeof buf, "%s", ravscope_document_type_name(doc, c.type));
		draw_text(cr, x + sw + fs * 0.6, y + (row - fs * 1.25) / 2, buf, fs, FALSE, tc, 0);
	}
	cairo_restore(cr);
	g_array_unref(rows);
	g_array_unref(counts);
}

static void draw_gutter(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	text_rgb(vp->dark, tc);
	double gx = vp->x0 - vp->gutter;
	cairo_save(cr);
	cairo_rectangle(cr, gx, vp->y0, vp->gutter, vp->height);
	cairo_clip(cr);
	cairo_set_source_rgb(cr, bg[0] * 0.97, bg[1] * 0.97, bg[2] * 0.97);
	if (vp->dark)
		cairo_set_source_rgb(cr, bg[0] + 0.04, bg[1] + 0.04, bg[2] + 0.04);
	cairo_paint(cr);
	double fs = vp->large_text ? 18 : 13;
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		double top = sy_of(vp, lane->y), bottom = sy_of(vp, lane->y + lane->h);
		if (bottom < vp->y0 || top > vp->y0 + vp->height)
			continue;
		cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.15);
		cairo_rectangle(cr, gx, floor(bottom), vp->gutter, 1);
		cairo_fill(cr);
		double avail = bottom - MAX(top, vp->y0);
		if (avail < fs * 1.2)
			continue;
		double y = MAX(top, vp->y0) + 6;
		if (y + fs * 2.8 > bottom)
			y = MAX(MAX(top, vp->y0), bottom - fs * 2.8);
		double c[3] = { tc[0], tc[1], tc[2] };
		draw_text(cr, gx + 10, y, lane->label, fs, TRUE, c, vp->gutter - 16);
		if (avail >= fs * 2.6) {
			cairo_save(cr);
			cairo_push_group(cr);
			draw_text(cr, gx + 10, y + fs * 1.35, lane->detail, fs * 0.85, FALSE, c, vp->gutter - 16);
			cairo_pop_group_to_source(cr);
			cairo_paint_with_alpha(cr, 0.7);
			cairo_restore(cr);
		}
	}
	cairo_restore(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.2);
	cairo_rectangle(cr, vp->x0 - 1, vp->y0, 1, vp->height);
	cairo_fill(cr);
}

void ravscope_heap_draw(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc,
			const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	text_rgb(vp->dark, tc);
	cairo_save(cr);
	cairo_rectangle(cr, vp->x0, vp->y0, vp->width, vp->height);
	cairo_clip(cr);
	cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
	cairo_paint(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);

	/* Lane bands: alternate shades, so lanes read apart at any zoom. */
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		double top = sy_of(vp, lane->y), bottom = sy_of(vp, lane->y + lane->h);
		if (bottom < vp->y0 || top > vp->y0 + vp->height)
			continue;
		if (i % 2) {
			cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.035);
			cairo_rectangle(cr, vp->x0, top, vp->width, bottom - top);
			cairo_fill(cr);
		}
		cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.15);
		cairo_rectangle(cr, vp->x0, floor(bottom), vp->width, 1);
		cairo_fill(cr);
	}

	if (vp->scale < RECT_SCALE) {
		image_update(P, doc, L, vp->dark);
		cairo_save(cr);
		cairo_translate(cr, vp->x0, vp->y0);
		cairo_scale(cr, vp->scale, vp->scale);
		cairo_translate(cr, -vp->ox, -vp->oy);
		cairo_set_source_surface(cr, P->image, 0, 0);
		cairo_pattern_set_filter(cairo_get_source(cr), vp->scale >= 1 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_BILINEAR);
		cairo_paint(cr);
		cairo_restore(cr);
	} else {
		draw_near_pages(cr, P, doc, L, vp);
		if (vp->scale >= FIELD_SCALE)
			draw_near_links(cr, doc, L, vp);
	}
	if (vp->contention)
		draw_contention(cr, doc, L, vp);
	if (vp->contention) {
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		draw_external_lines(cr, vp);
	}
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	if (vp->n_anims)
		draw_anims(cr, doc, L, vp);
	if (vp->hover != RAV_LOC_NONE && vp->hover != vp->selected)
		outline_cell(cr, L, vp, vp->hover, tc, 0.6, vp->large_text ? 3 : 2);
	if (vp->selected != RAV_LOC_NONE) {
		draw_selection_links(cr, doc, L, vp);
		outline_cell(cr, L, vp, vp->selected, vp->accent, 1, vp->large_text ? 4 : 3);
	}
	/* Zoomed in far enough that cells carry their type names, the legend
	 * would only hide cells. */
	if (vp->legend && vp->scale < TEXT_SCALE)
		draw_legend(cr, P, doc, L, vp);
	cairo_restore(cr);
	if (vp->gutter > 0)
		draw_gutter(cr, L, vp);
}

void ravscope_anims_build(GArray *anims, RavscopeDocument *doc, const RavscopeHeapLayout *old,
			  const RavscopeHeapLayout *now, const rav_event *events, guint n)
{
	/* Visual events play one after another within the period, each
	 * overlapping the next a little so a compaction reads as one motion. */
	guint visual = 0;
	for (guint i = 0; i < n; i++)
		visual += ravscope_event_kind_is_visual(events[i].kind) && events[i].kind != RAV_EV_LINK;
	guint k = 0;
	rav_state *s = ravscope_document_get_state(doc);
	for (guint i = 0; i < n; i++) {
		const rav_event *e = &events[i];
		if (!ravscope_event_kind_is_visual(e->kind) || e->kind == RAV_EV_LINK)
			continue;
		RavscopeAnim a = { 0 };
		a.start = visual > 1 ? (double)k / visual * 0.6 : 0;
		a.end = visual > 1 ? a.start + 0.4 + 0.6 / visual : 1;
		k++;
		switch (e->kind) {
		case RAV_EV_MOVE: {
			a.kind = RAVSCOPE_ANIM_MOVE;
			a.a = e->a;
			a.b = e->b;
			rav_state_cell c;
			if (rav_state_cell_at(s, rav_loc_page(e->b), rav_loc_cell(e->b), &c))
				a.type = c.type;
			break;
		}
		case RAV_EV_FIXUP:
		case RAV_EV_REF_STORE:
			a.kind = RAVSCOPE_ANIM_FIXUP;
			a.a = e->a;
			a.b = e->b;
			a.c = e->c;
			break;
		case RAV_EV_ALLOC:
			a.kind = RAVSCOPE_ANIM_ALLOC;
			a.a = e->a;
			break;
		case RAV_EV_FREE:
			a.kind = RAVSCOPE_ANIM_FREE;
			a.a = e->a;
			break;
		case RAV_EV_PAGE_ACQUIRE:
			a.kind = RAVSCOPE_ANIM_PAGE_ACQUIRE;
			a.page = rav_loc_page(e->a);
			break;
		case RAV_EV_PAGE_HANDOFF: {
			const RavscopeLayoutPage *from = ravscope_heap_layout_find(old, rav_loc_page(e->a));
			if (!from)
				continue;
			a.kind = RAVSCOPE_ANIM_PAGE_TRAVEL;
			a.page = rav_loc_page(e->a);
			a.from_x = from->x;
			a.from_y = from->y;
			break;
		}
		default:
			continue;
		}
		g_array_append_val(anims, a);
	}
	if (!old || !now)
		return;
	/* Message send/receive: every page that changed lane travels. */
	for (guint i = 0; i < now->pages->len; i++) {
		const RavscopeLayoutPage *np = &g_array_index(now->pages, RavscopeLayoutPage, i);
		const RavscopeLayoutPage *op = ravscope_heap_layout_find(old, np->page);
		if (!op || op->lane == np->lane || np->kind == RAV_SPAGE_POOL)
			continue;
		gboolean have = FALSE;
		for (guint j = 0; j < anims->len && !have; j++) {
			const RavscopeAnim *x = &g_array_index(anims, RavscopeAnim, j);
			have = x->kind == RAVSCOPE_ANIM_PAGE_TRAVEL && x->page == np->page;
		}
		if (have)
			continue;
		RavscopeAnim a = { .kind = RAVSCOPE_ANIM_PAGE_TRAVEL, .page = np->page, .from_x = op->x,
				   .from_y = op->y, .start = 0, .end = 1 };
		g_array_append_val(anims, a);
	}
}

gboolean ravscope_events_change_layout(const rav_event *events, guint n)
{
	for (guint i = 0; i < n; i++) {
		switch (events[i].kind) {
		case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF:
		case RAV_EV_MSG_SEND: case RAV_EV_MSG_RECV: case RAV_EV_HEAP_NEW: case RAV_EV_HEAP_END:
		case RAV_EV_THREAD_START: case RAV_EV_THREAD_END: case RAV_EV_THREAD_NAME: case RAV_EV_DESERIALIZE:
			return TRUE;
		default:
			break;
		}
	}
	return FALSE;
}

void ravscope_heap_layout_refresh(RavscopeHeapLayout *L, RavscopeDocument *doc)
{
	rav_state *s = ravscope_document_get_state(doc);
	L->position = rav_state_position(s);
	unsigned nheaps = rav_state_heap_count(s);
	for (unsigned i = 0; i < nheaps; i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(s, i, &h) || h.kind != RAV_HEAP_THREAD)
			continue;
		for (guint j = 0; j < L->lanes->len; j++) {
			RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, j);
			if (lane->kind != RAVSCOPE_LANE_THREAD || lane->heap_id != h.id)
				continue;
			g_free(lane->detail);
			lane->detail = g_strdup_printf("%u page%s · %" G_GUINT64_FORMAT " live%s", h.page_count,
						       h.page_count == 1 ? "" : "s", h.live_cells, h.alive ? "" : " · ended");
		}
	}
}
