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
 *
 * Fitting never lets the lanes' padding grow with their count: with more
 * lanes than fit label-tall, they become one text line tall, and when even
 * that is too tall for the view, the whole-heap view shows the top lanes
 * and scrolls (ravscope_heap_layout_build_fit).
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
	g_free(lane->brief);
}

void ravscope_heap_layout_free(RavscopeHeapLayout *layout)
{
	if (!layout)
		return;
	g_array_unref(layout->lanes);
	g_array_unref(layout->pages);
	g_clear_pointer(&layout->lane_of_heap, g_hash_table_unref);
	g_free(layout->page_slot);
	g_clear_pointer(&layout->page_slot_high, g_hash_table_unref);
	g_free(layout);
}

/* Page index -> index in pages: an array up to PAGE_SLOT_DIRECT, a hash
 * table above, so a page at index 2^24-1 costs an entry, not 64 MB of
 * array (issue #14: page-index-high). */
#define PAGE_SLOT_DIRECT ((guint32)1 << 20)

static void set_page_slot(RavscopeHeapLayout *L, guint32 page, guint32 index)
{
	if (page < L->page_slot_len) {
		L->page_slot[page] = index;
		return;
	}
	if (!L->page_slot_high)
		L->page_slot_high = g_hash_table_new(NULL, NULL);
	g_hash_table_insert(L->page_slot_high, GUINT_TO_POINTER(page), GUINT_TO_POINTER(index + 1));
}

/* ---- what there is to lay out -------------------------------------------------- */

typedef struct {
	guint32 heap_id;
	gboolean present;
	rav_state_heap heap;
	rav_trace_thread thread; /* the trace's entry for it (a copy) */
	gboolean listed;         /* the trace's thread table has it */
	const rav_trace_thread *th; /* &thread if listed, else NULL (set once the array is complete) */
	unsigned max_pages;         /* most pages it ever owned, at least its count now */
	gboolean folded;            /* in the folded lane (see RavscopeHeapLayout.show_empty) */
} HeapRef;

/* The heaps, message pages and pool pages at the playhead. */
typedef struct {
	GArray *heaps; /* HeapRef: thread heaps and others alive now, in heap id (creation) order */
	GArray *msgs;  /* rav_state_heap: message heaps alive now that hold pages */
	unsigned folded; /* thread heaps with a lane that fold into one */
	unsigned flight_pages, pool_pages;
	guint32 *pool; /* the pool's pages, in index order */
} Census;

static gboolean has_lane(const HeapRef *r);

static gint heap_ref_order(gconstpointer pa, gconstpointer pb)
{
	const HeapRef *a = pa, *b = pb;
	return a->heap_id < b->heap_id ? -1 : a->heap_id > b->heap_id;
}

static void census_take(Census *c, RavscopeDocument *doc, gboolean show_empty)
{
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_state *s = ravscope_document_get_state(doc);
	c->heaps = g_array_new(FALSE, TRUE, sizeof(HeapRef));
	c->msgs = g_array_new(FALSE, TRUE, sizeof(rav_state_heap));
	GHashTable *index = g_hash_table_new(NULL, NULL); /* heap id -> index in heaps + 1 */
	unsigned nthreads = rav_trace_thread_count(t);
	for (unsigned i = 0; i < nthreads; i++) {
		rav_trace_thread th;
		if (rav_trace_thread_at(t, i, &th) && th.kind == RAV_HEAP_THREAD) {
			HeapRef r = { .heap_id = th.heap_id, .thread = th, .listed = TRUE };
			g_array_append_val(c->heaps, r);
			if (!g_hash_table_contains(index, GUINT_TO_POINTER(th.heap_id)))
				g_hash_table_insert(index, GUINT_TO_POINTER(th.heap_id), GUINT_TO_POINTER(c->heaps->len));
		}
	}
	unsigned nheaps = rav_state_heap_count(s);
	for (unsigned i = 0; i < nheaps; i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(s, i, &h))
			continue;
		if (h.kind == RAV_HEAP_MESSAGE) {
			if (h.alive && h.page_count > 0)
				g_array_append_val(c->msgs, h);
			continue;
		}
		guint at = GPOINTER_TO_UINT(g_hash_table_lookup(index, GUINT_TO_POINTER(h.id)));
		if (at) {
			HeapRef *r = &g_array_index(c->heaps, HeapRef, at - 1);
			r->present = TRUE;
			r->heap = h;
		} else {
			HeapRef r = { .heap_id = h.id, .present = TRUE, .heap = h };
			r.listed = rav_trace_thread_by_id(t, h.id, &r.thread);
			g_array_append_val(c->heaps, r);
		}
	}
	g_hash_table_unref(index);
	/* Lanes in heap id order, which is the order the heaps were created
	 * (roots.c numbers them from one counter).  The thread table's order
	 * is not always that: a recorded file lists threads as their events
	 * first appear in the merged order (threads running together can
	 * swap: heap ids 1048/1049 at places 1049/1048 in test-lanes' 1000
	 * threads), and a live session attached to a running program lists
	 * them as their snapshots came (worker1, worker2, worker0, main).
	 * Stable: an id listed twice keeps its entries' order. */
	g_array_sort(c->heaps, heap_ref_order);
	for (guint i = 0; i < c->heaps->len; i++) {
		HeapRef *r = &g_array_index(c->heaps, HeapRef, i);
		/* The array is complete: its entries stay where they are now. */
		r->th = r->listed ? &r->thread : NULL;
		r->max_pages = MAX(ravscope_document_max_pages(doc, r->heap_id), r->present ? r->heap.page_count : 0);
		r->folded = !show_empty && has_lane(r) && !(r->present && (r->heap.alive || r->heap.page_count > 0));
	}
	c->folded = 0;
	for (guint i = 0; i < c->heaps->len; i++)
		c->folded += g_array_index(c->heaps, HeapRef, i).folded;
	if (c->folded == 1) {
		/* One lane folded into one saves nothing and hides its name. */
		for (guint i = 0; i < c->heaps->len; i++)
			g_array_index(c->heaps, HeapRef, i).folded = FALSE;
		c->folded = 0;
	}
	c->flight_pages = 0;
	for (guint i = 0; i < c->msgs->len; i++)
		c->flight_pages += g_array_index(c->msgs, rav_state_heap, i).page_count;
	/* (A byte per page of the span: this runs every frame a trace plays.) */
	guint32 npool = rav_state_pool_pages(s, NULL, 0);
	c->pool = g_new(guint32, MAX(npool, 1));
	c->pool_pages = rav_state_pool_pages(s, c->pool, npool);
	c->pool_pages = MIN(c->pool_pages, npool);
}

static void census_clear(Census *c)
{
	g_array_unref(c->heaps);
	g_array_unref(c->msgs);
	g_free(c->pool);
}

/* A heap that never owns a page and has no name (the recorder's own
 * thread) has nothing to show; named threads keep a lane even without
 * pages (programs that share malloc'd memory, whose accesses the
 * contention view shows). */
static gboolean has_lane(const HeapRef *r)
{
	return r->max_pages > 0 || (r->th && r->th->name[0]);
}

static unsigned lane_rows(unsigned pages, unsigned page_cols)
{
	unsigned rows = (pages + page_cols - 1) / page_cols;
	return MAX(rows, 1);
}

/* Pool pages are drawn as small blocks, many per row. */
static void pool_block(unsigned cols, unsigned rows, double *bw, double *bh)
{
	*bw = MAX(2.0, cols / 4.0);
	*bh = MAX(1.0, rows / 4.0);
}

static double world_height_for(const Census *c, unsigned page_cols, double page_h, unsigned cols, double min_lane_h)
{
	double h = 0;
	for (guint i = 0; i < c->heaps->len; i++) {
		const HeapRef *r = &g_array_index(c->heaps, HeapRef, i);
		if (r->folded)
			continue;
		h += MAX(r->max_pages ? lane_rows(r->max_pages, page_cols) * page_h + LANE_PAD * 2 : 0, min_lane_h);
	}
	if (c->folded)
		h += min_lane_h;
	h += MAX(c->flight_pages ? lane_rows(c->flight_pages, page_cols) * page_h + LANE_PAD * 2 : 0, min_lane_h);
	double pool_w = MAX(2.0, cols / 4.0) + 1;
	unsigned per_row = MAX(1, (unsigned)((page_cols * (cols + PAGE_GAP)) / pool_w));
	h += MAX(c->pool_pages ? lane_rows(c->pool_pages, per_row) * (MAX(1.0, page_h / 4.0) + 1) + LANE_PAD * 2 : 0,
		 min_lane_h);
	return h;
}

/* ---- building -------------------------------------------------------------------- */

static RavscopeHeapLayout *layout_new(RavscopeDocument *doc, gboolean show_empty)
{
	rav_state *s = ravscope_document_get_state(doc);
	RavscopeHeapLayout *L = g_new0(RavscopeHeapLayout, 1);
	L->cols = ravscope_document_page_columns(doc);
	L->rows = ravscope_document_page_rows(doc);
	L->page_w = L->cols + PAGE_GAP;
	L->page_h = L->rows + PAGE_GAP;
	L->lanes = g_array_new(FALSE, TRUE, sizeof(RavscopeLane));
	g_array_set_clear_func(L->lanes, lane_clear);
	L->pages = g_array_new(FALSE, TRUE, sizeof(RavscopeLayoutPage));
	L->lane_of_heap = g_hash_table_new(NULL, NULL);
	L->show_empty = show_empty;
	L->position = rav_state_position(s);
	L->page_span = rav_state_page_span(s);
	L->page_slot_len = MAX(MIN(L->page_span, PAGE_SLOT_DIRECT), 1);
	L->page_slot = g_new(guint32, L->page_slot_len);
	memset(L->page_slot, 0xff, sizeof(guint32) * L->page_slot_len);
	return L;
}

static void set_thread_detail(RavscopeLane *lane, const rav_state_heap *h)
{
	g_free(lane->detail);
	g_free(lane->brief);
	if (!h) {
		lane->detail = g_strdup("not started");
		lane->brief = g_strdup("not started");
		return;
	}
	lane->detail = g_strdup_printf("%u page%s · %" G_GUINT64_FORMAT " live%s", h->page_count,
				       h->page_count == 1 ? "" : "s", h->live_cells, h->alive ? "" : " · ended");
	lane->brief = h->alive ? g_strdup_printf("%" G_GUINT64_FORMAT " live", h->live_cells) : g_strdup("ended");
}

/* Pages per row whose world is closest to the view's aspect. */
static unsigned choose_page_cols(const Census *census, const RavscopeHeapLayout *L, double aspect, double min_lane_h)
{
	double best = G_MAXDOUBLE;
	unsigned page_cols = 1;
	for (unsigned pc = 1; pc <= 1024; pc *= 2) {
		double w = pc * L->page_w + 1;
		double h = world_height_for(census, pc, L->page_h, L->cols, min_lane_h);
		double d = fabs(log((w / h) / MAX(aspect, 0.05)));
		if (d < best) {
			best = d;
			page_cols = pc;
		}
	}
	return page_cols;
}

static RavscopeHeapLayout *build(RavscopeDocument *doc, const Census *census, RavscopeHeapLayout *L,
				 const RavscopeHeapLayout *keep, unsigned page_cols, double aspect, double min_lane_h)
{
	min_lane_h = MAX(min_lane_h, EMPTY_LANE_H);
	L->min_lane_h = min_lane_h;
	const GArray *heaps = census->heaps, *msgs = census->msgs;

	if (page_cols == 0)
		page_cols = choose_page_cols(census, L, aspect, min_lane_h);
	L->page_cols = page_cols;
	L->world_w = page_cols * L->page_w;

	double y = 0, natural_y = 0;
	for (guint i = 0; i < heaps->len; i++) {
		const HeapRef *r = &g_array_index(heaps, HeapRef, i);
		unsigned count = r->present ? r->heap.page_count : 0;
		unsigned maxp = r->max_pages;
		if (!has_lane(r) || r->folded)
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
		natural_y += MAX(maxp ? rows * L->page_h + LANE_PAD * 2 : 0, EMPTY_LANE_H);
		lane.content_y = y + LANE_PAD;
		lane.content_w = MIN(page_cols, MAX(maxp, count ? maxslot + 1 : 0)) * L->page_w;
		lane.content_h = maxp ? rows * L->page_h : 0;
		lane.alive = r->present && r->heap.alive;
		lane.label = ravscope_thread_label(r->th, r->heap_id);
		set_thread_detail(&lane, r->present ? &r->heap : NULL);
		guint lane_index = L->lanes->len;
		g_array_append_val(L->lanes, lane);
		g_hash_table_insert(L->lane_of_heap, GUINT_TO_POINTER(r->heap_id), GUINT_TO_POINTER(lane_index + 1));
		for (unsigned k = 0; k < count; k++) {
			guint32 page = r->heap.pages[k];
			guint32 slot = slot_of[k];
			RavscopeLayoutPage lp = {
				.page = page, .lane = lane_index, .heap_id = r->heap_id, .kind = r->heap.page_kinds[k],
				.x = (slot % page_cols) * L->page_w + PAGE_GAP / 2,
				.y = y + LANE_PAD + (slot / page_cols) * L->page_h + PAGE_GAP / 2,
				.w = L->cols, .h = L->rows, .slot = slot,
			};
			if (page < L->page_span)
				set_page_slot(L, page, L->pages->len);
			g_array_append_val(L->pages, lp);
		}
		g_free(slot_of);
		g_free(used);
		y += lane.h;
	}

	/* The folded heaps: one lane, saying how many and why. */
	L->folded = census->folded;
	if (census->folded) {
		RavscopeLane lane = { .kind = RAVSCOPE_LANE_FOLDED, .heap_id = 0, .y = y, .h = min_lane_h };
		unsigned ended = 0;
		guint lane_index = L->lanes->len;
		for (guint i = 0; i < heaps->len; i++) {
			const HeapRef *r = &g_array_index(heaps, HeapRef, i);
			if (!r->folded)
				continue;
			ended += r->present;
			g_hash_table_insert(L->lane_of_heap, GUINT_TO_POINTER(r->heap_id), GUINT_TO_POINTER(lane_index + 1));
		}
		unsigned waiting = census->folded - ended;
		lane.label = g_strdup_printf("%u empty thread%s", census->folded, census->folded == 1 ? "" : "s");
		if (ended && waiting)
			lane.detail = g_strdup_printf("%u ended · %u to start", ended, waiting);
		else
			lane.detail = g_strdup_printf("%s · no pages", ended ? "ended" : "not started");
		lane.brief = g_strdup(ended && waiting ? "folded" : ended ? "ended" : "not started");
		g_array_append_val(L->lanes, lane);
		natural_y += EMPTY_LANE_H;
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
				RavscopeLayoutPage lp = {
					.page = page, .lane = lane_index, .heap_id = h->id, .kind = h->page_kinds[j],
					.x = (k % page_cols) * L->page_w + PAGE_GAP / 2,
					.y = y + LANE_PAD + (k / page_cols) * L->page_h + PAGE_GAP / 2,
					.w = L->cols, .h = L->rows, .slot = k,
				};
				if (page < L->page_span)
					set_page_slot(L, page, L->pages->len);
				g_array_append_val(L->pages, lp);
			}
		}
		lane.h = MAX(k ? lane_rows(k, page_cols) * L->page_h + LANE_PAD * 2 : 0, min_lane_h);
		natural_y += MAX(k ? lane_rows(k, page_cols) * L->page_h + LANE_PAD * 2 : 0, EMPTY_LANE_H);
		lane.content_y = y + LANE_PAD;
		lane.content_w = MIN(page_cols, k) * L->page_w;
		lane.content_h = k ? lane_rows(k, page_cols) * L->page_h : 0;
		lane.label = g_strdup("messages");
		unsigned sending = 0;
		for (guint i = 0; i < msgs->len; i++)
			sending += g_array_index(msgs, rav_state_heap, i).in_flight;
		lane.detail = g_strdup_printf("%u building · %u in flight", msgs->len - sending, sending);
		lane.brief = g_strdup_printf("%u in flight", sending);
		g_array_append_val(L->lanes, lane);
		y += lane.h;
	}

	/* Pool: small blocks, many per row. */
	{
		RavscopeLane lane = { .kind = RAVSCOPE_LANE_POOL, .y = y, .alive = TRUE };
		guint lane_index = L->lanes->len;
		double bw, bh;
		pool_block(L->cols, L->rows, &bw, &bh);
		unsigned per_row = MAX(1, (unsigned)(L->world_w / (bw + 1)));
		unsigned k = 0;
		for (guint i = 0; i < census->pool_pages; i++) {
			guint32 p = census->pool[i];
			if (p >= L->page_span)
				continue;
			RavscopeLayoutPage lp = {
				.page = p, .lane = lane_index, .heap_id = 0, .kind = RAV_SPAGE_POOL,
				.x = (k % per_row) * (bw + 1) + 0.5,
				.y = y + LANE_PAD + (k / per_row) * (bh + 1) + 0.5,
				.w = bw, .h = bh, .slot = k,
			};
			set_page_slot(L, p, L->pages->len);
			g_array_append_val(L->pages, lp);
			k++;
		}
		lane.h = MAX(k ? lane_rows(k, per_row) * (bh + 1) + LANE_PAD * 2 : 0, min_lane_h);
		natural_y += MAX(k ? lane_rows(k, per_row) * (bh + 1) + LANE_PAD * 2 : 0, EMPTY_LANE_H);
		lane.content_y = y + LANE_PAD;
		lane.content_w = MIN(per_row, k) * (bw + 1) + 1;
		lane.content_h = k ? lane_rows(k, per_row) * (bh + 1) + 1 : 0;
		lane.label = g_strdup("pool");
		lane.detail = g_strdup_printf("%u free page%s", k, k == 1 ? "" : "s");
		lane.brief = g_strdup_printf("%u free", k);
		g_array_append_val(L->lanes, lane);
		y += lane.h;
	}
	L->world_h = y;
	L->natural_h = natural_y;
	return L;
}

RavscopeHeapLayout *ravscope_heap_layout_build(RavscopeDocument *doc, const RavscopeHeapLayout *keep, unsigned page_cols,
					       double aspect, double min_lane_h)
{
	gboolean show_empty = keep && keep->show_empty;
	RavscopeHeapLayout *L = layout_new(doc, show_empty);
	Census census;
	census_take(&census, doc, show_empty);
	build(doc, &census, L, keep, page_cols, aspect, min_lane_h);
	census_clear(&census);
	return L;
}

/* ---- fitting many lanes ------------------------------------------------------------- */

/* Screen height of one lane of h world units at `scale`, at least lane_px
 * (and EMPTY_LANE_H world units) tall, as build() makes it. */
static double lane_px_at(double h, double scale, double lane_px)
{
	return MAX(MAX(h, EMPTY_LANE_H) * scale, lane_px);
}

/* Screen height of all lanes at `scale` pixels per cell and page_cols pages
 * per row, each lane at least lane_px tall (as build() lays them out). */
static double lanes_height_px(const Census *c, const RavscopeHeapLayout *L, unsigned page_cols, double scale,
			      double lane_px)
{
	double px = 0;
	for (guint i = 0; i < c->heaps->len; i++) {
		const HeapRef *r = &g_array_index(c->heaps, HeapRef, i);
		if (!has_lane(r) || r->folded)
			continue;
		double h = r->max_pages ? lane_rows(r->max_pages, page_cols) * L->page_h + LANE_PAD * 2 : 0;
		px += lane_px_at(h, scale, lane_px);
	}
	if (c->folded)
		px += lane_px_at(0, scale, lane_px);
	double fh = c->flight_pages ? lane_rows(c->flight_pages, page_cols) * L->page_h + LANE_PAD * 2 : 0;
	px += lane_px_at(fh, scale, lane_px);
	double bw, bh;
	pool_block(L->cols, L->rows, &bw, &bh);
	unsigned per_row = MAX(1, (unsigned)(page_cols * L->page_w / (bw + 1)));
	double ph = c->pool_pages ? lane_rows(c->pool_pages, per_row) * (bh + 1) + LANE_PAD * 2 : 0;
	px += lane_px_at(ph, scale, lane_px);
	return px;
}

/* The largest scale at which the lanes fit width x height with page_cols
 * pages per row and every lane at least lane_px tall; 0 if none does. */
static double compact_scale(const Census *c, const RavscopeHeapLayout *L, unsigned page_cols, double width,
			    double height, double lane_px)
{
	double hi = width / MAX(page_cols * L->page_w, 1);
	if (lanes_height_px(c, L, page_cols, hi, lane_px) <= height)
		return hi;
	if (lanes_height_px(c, L, page_cols, 0, lane_px) > height)
		return 0;
	double lo = 0;
	for (int i = 0; i < 48; i++) {
		double mid = (lo + hi) / 2;
		if (lanes_height_px(c, L, page_cols, mid, lane_px) <= height)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The scale ravscope_viewport_fit gives a layout without a fit_scale of
 * world_w x world_h with npages pages. */
static double whole_fit_scale(const RavscopeViewport *vp, double world_w, double world_h, guint npages)
{
	double scale = MIN(vp->width / MAX(world_w, 1), vp->height / MAX(world_h, 1));
	/* Whole pixels per cell when possible: crisp cells, exact colours. */
	if (scale >= 1)
		scale = floor(scale);
	/* A heap without pages: keep empty lanes label-sized. */
	if (npages == 0)
		scale = MIN(scale, 14);
	return scale;
}

/* L if it was built with page_cols and min_lane_h, else a new build with
 * them (L freed).  While a trace plays the fit rarely changes, so the
 * layout built on the last frame's fit is usually the one wanted: one
 * build per frame instead of two (a build visits every page). */
static RavscopeHeapLayout *rebuild_unless(RavscopeHeapLayout *L, RavscopeDocument *doc, const Census *census,
					  const RavscopeHeapLayout *keep, unsigned page_cols, double aspect,
					  double min_lane_h)
{
	if (L->page_cols == page_cols && L->min_lane_h == MAX(min_lane_h, EMPTY_LANE_H))
		return L;
	gboolean show_empty = L->show_empty;
	ravscope_heap_layout_free(L);
	L = layout_new(doc, show_empty);
	return build(doc, census, L, keep, page_cols, aspect, min_lane_h);
}

RavscopeHeapLayout *ravscope_heap_layout_build_fit(RavscopeDocument *doc, const RavscopeHeapLayout *keep,
						   unsigned page_cols, RavscopeViewport *vp, double label_px)
{
	double avail_w = vp->width;
	double aspect = avail_w / MAX(vp->height, 1);
	gboolean show_empty = keep && keep->show_empty;
	RavscopeHeapLayout *L = layout_new(doc, show_empty);
	Census census;
	census_take(&census, doc, show_empty);
	/* The pages per row are chosen as if lanes had no minimum height;
	 * the first build guesses the minimum the previous layout settled on,
	 * and what the fit of a layout without one would have been follows
	 * from its natural_h. */
	unsigned pc = page_cols ? page_cols : choose_page_cols(&census, L, aspect, 0);
	build(doc, &census, L, keep, pc, aspect, keep ? keep->min_lane_h : 0);
	double scale0 = whole_fit_scale(vp, L->world_w, L->natural_h, L->pages->len);
	if (L->lanes->len * label_px <= vp->height) {
		/* Lanes at least label_px tall on screen at this zoom, so every
		 * lane's name is readable in the whole-heap view. */
		double min_h = label_px / MAX(scale0, 1e-3);
		L = rebuild_unless(L, doc, &census, keep, pc, aspect, min_h > EMPTY_LANE_H * 1.05 ? min_h : 0);
		/* Taller lanes make the world taller and the fit smaller (and the
		 * fit's whole pixels per cell can drop a step): raise the minimum
		 * until the lanes it gives are label_px tall at the fit they
		 * give.  The minimum only grows, the scale only shrinks, and
		 * label_px per lane fits the view, so this settles in a few
		 * rounds; the bound only guards against rounding. */
		for (int round = 0; round < 8; round++) {
			double s = whole_fit_scale(vp, L->world_w, L->world_h, L->pages->len);
			if (s * L->min_lane_h >= label_px - 1e-6)
				break;
			L = rebuild_unless(L, doc, &census, keep, pc, aspect, label_px / MAX(s, 1e-3));
		}
		census_clear(&census);
		ravscope_viewport_fit(vp, L);
		return L;
	}
	/* Too many lanes for label_px each: squeezing them all into the view
	 * would shrink them past reading (and stretch their label padding to
	 * thousands of cells, the world's height growing with the square of
	 * the lane count).  Lanes one line of text tall instead; if even that
	 * does not fit, the view scrolls through them, as Sysprof's and
	 * Tracy's thread rows do. */
	double lane_px = ceil(label_px / 2);
	double scale = 0;
	if (L->lanes->len * lane_px <= vp->height) {
		for (unsigned c = page_cols ? page_cols : 1; c <= (page_cols ? page_cols : 1024); c *= 2) {
			double sc = compact_scale(&census, L, c, avail_w, vp->height, lane_px);
			if (sc > scale) {
				scale = sc;
				pc = c;
			}
		}
	}
	gboolean scrolls = scale <= 0;
	if (scrolls) {
		/* One page row per lane line; as many pages per row as fit. */
		scale = lane_px / (L->page_h + LANE_PAD * 2);
		if (!page_cols)
			pc = (unsigned)CLAMP(floor(avail_w / (L->page_w * (scale >= 1 ? floor(scale) : scale))), 1, 1024);
	}
	if (scale >= 1)
		scale = floor(scale);
	L = rebuild_unless(L, doc, &census, keep, pc, aspect, lane_px / scale);
	census_clear(&census);
	L->fit_scale = scale;
	L->scrolls = L->world_h * scale > vp->height + 0.5;
	ravscope_viewport_fit(vp, L);
	return L;
}

const RavscopeLayoutPage *ravscope_heap_layout_find(const RavscopeHeapLayout *L, guint32 page)
{
	if (!L || page >= L->page_span)
		return NULL;
	guint32 i;
	if (page < L->page_slot_len) {
		i = L->page_slot[page];
		if (i == G_MAXUINT32)
			return NULL;
	} else {
		gpointer v = L->page_slot_high ? g_hash_table_lookup(L->page_slot_high, GUINT_TO_POINTER(page)) : NULL;
		if (!v)
			return NULL;
		i = GPOINTER_TO_UINT(v) - 1;
	}
	return &g_array_index(L->pages, RavscopeLayoutPage, i);
}

void ravscope_heap_layout_keep_fit(RavscopeHeapLayout *L, const RavscopeHeapLayout *fitted, double height)
{
	if (!fitted || fitted->fit_scale <= 0)
		return;
	L->fit_scale = fitted->fit_scale;
	L->scrolls = L->world_h * L->fit_scale > height + 0.5;
}

double ravscope_heap_layout_refit_min_h(const RavscopeHeapLayout *fitted, double scale, double label_px)
{
	/* Many lanes: the one-line height the fit chose.  Few: label_px at
	 * the zoom the fit ended at. */
	return fitted->fit_scale > 0 ? fitted->min_lane_h : label_px / MAX(scale, 1e-3);
}

double ravscope_heap_layout_clamp_oy(const RavscopeHeapLayout *L, double oy, double height, double scale)
{
	double max_oy = MAX(0, L->world_h - height / MAX(scale, 1e-6));
	return CLAMP(oy, 0, max_oy);
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
	if (L->fit_scale > 0) {
		vp->scale = L->fit_scale;
		vp->ox = 0;
		vp->oy = 0;
		return;
	}
	vp->scale = whole_fit_scale(vp, L->world_w, L->world_h, L->pages->len);
	vp->ox = 0;
	vp->oy = 0;
}


void ravscope_heap_layout_lanes_shown(const RavscopeHeapLayout *L, const RavscopeViewport *vp, RavscopeLanesShown *out)
{
	out->shown = 0;
	out->first = out->last = G_MAXUINT;
	out->min_px = 0;
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		double top = sy_of(vp, lane->y), bottom = sy_of(vp, lane->y + lane->h);
		if (bottom <= vp->y0 || top >= vp->y0 + vp->height)
			continue;
		if (!out->shown++)
			out->first = i;
		out->last = i;
		out->min_px = out->shown == 1 ? bottom - top : MIN(out->min_px, bottom - top);
	}
}

gboolean ravscope_heap_scroll_bar(const RavscopeHeapLayout *L, const RavscopeViewport *vp, double *track_x,
				  double *track_y, double *track_h, double *thumb_y, double *thumb_h)
{
	if (!L || !L->scrolls || L->world_h <= 0)
		return FALSE;
	*track_x = vp->x0 + vp->width - RAVSCOPE_SCROLL_BAR_W;
	*track_y = vp->y0 + 4;
	*track_h = MAX(vp->height - 8, 1);
	double visible = vp->height / MAX(vp->scale, 1e-6);
	double frac = CLAMP(visible / L->world_h, 0, 1);
	*thumb_h = MIN(*track_h, MAX(24, *track_h * frac));
	double room = L->world_h - visible;
	double at = room > 0 ? CLAMP(vp->oy / room, 0, 1) : 0;
	*thumb_y = *track_y + (*track_h - *thumb_h) * at;
	return TRUE;
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
		case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF: case RAV_EV_PAGE_TO_MSG:
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
		guint at = GPOINTER_TO_UINT(g_hash_table_lookup(L->lane_of_heap, GUINT_TO_POINTER(h.id)));
		if (!at || g_array_index(L->lanes, RavscopeLane, at - 1).kind != RAVSCOPE_LANE_THREAD)
			continue;
		set_thread_detail(&g_array_index(L->lanes, RavscopeLane, at - 1), &h);
	}
}

