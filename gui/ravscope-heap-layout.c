/* ravscope-heap-layout.c - where every lane and page of the heap picture goes.
 *
 * World coordinates are in cells: a page is a grid of cols x rows cells
 * plus a gap; lanes stack vertically (one per thread heap, then "in
 * flight" message pages, then the pool).  Lane sizes come from the most
 * pages each heap ever owned (from the trace's summary series), so lanes
 * keep their place while a trace plays, and a page keeps its place in its
 * lane when another page of the heap is released.  The viewport maps world
 * to pixels with one scale (pixels per cell); fitting and hit testing live
 * here too, because both are questions about the layout.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <string.h>

#define PAGE_GAP 2.0     /* world units between pages */
#define LANE_PAD 1.0
#define EMPTY_LANE_H 3.0 /* world units: enough for the lane's label at fit zoom */

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
		const rav_trace_thread *th = rav_trace_thread_at(t, i);
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
		const rav_trace_thread *th = rav_trace_thread_by_id(t, r->heap_id);
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

/* ---- viewport: fit and hit testing ---------------------------------------- */

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

