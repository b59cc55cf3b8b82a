/* inspect.c - the inspection API: walks, referrers, counters, invariants.
 *
 * Tools and tests compare against this view (the trace replay test checks
 * the replayed state cell by cell against rav_heap_walk), so it reports the
 * raw truth: headers included, dead cells as they are.  rav_heap_check is
 * the full invariant check the model test runs often; it is O(cells). */
#include <stdio.h>
#include <stdlib.h>

#include "rav-private.h"

static unsigned fill_of(rav_heap *h, rav_cell *p)
{
	return p == h->top_page ? h->top : page_fill(p);
}

/* rav_cell_inspect without its argument checks, for the walk. */
static void inspect_cell(const rav_cell *c, rav_cell_info *out)
{
	memset(out, 0, sizeof *out);
	out->cell = (rav_cell *)c;
	out->page = rav_page_index(c);
	out->slot = slot_in_page(c);
	out->type = cell_type(c);
	out->scalar = cell_scalar(c);
	if (out->type == RAV_TYPE_REF) {
		out->field[0] = c->w[RAV_W_FWD];
		out->back[0] = c->w[RAV_W_BACK1];
		out->back[1] = c->w[RAV_W_BACK2];
	} else {
		out->field[0] = c->w[1];
		out->field[1] = c->w[2];
		out->back[0] = c->w[3];
	}
}

void rav_cell_inspect(rav_heap *h, const rav_cell *c, rav_cell_info *out)
{
	(void)h;
	if (!out) {
		rav__misuse(RAV_EINVAL, "rav_cell_inspect: null output");
		return;
	}
	if (((uintptr_t)c & (RAV_CELL_SIZE - 1)) != 0 || !rav__in_pool(c)) {
		memset(out, 0, sizeof *out);
		rav__misuse(RAV_EINVAL, "rav_cell_inspect: %p is not a raviolo address", (const void *)c);
		return;
	}
	inspect_cell(c, out);
}

void rav_heap_walk(rav_heap *h, rav_page_visitor pv, rav_cell_visitor cv, void *user)
{
	if (!h)
		return;
	for (int pass = 0; pass < 2; pass++) {
		rav_cell *p = pass == 0 ? h->first : h->root_first;
		for (; p; p = (rav_cell *)p->w[PH_NEXT]) {
			unsigned fill = pass == 0 ? fill_of(h, p) : (p == h->root_first ? h->root_bump : CELLS);
			if (pv && !pv(h, rav_page_index(p), fill, pass == 1, user))
				return;
			if (!cv)
				continue;
			for (unsigned i = 0; i < fill; i++) {
				rav_cell_info info;
				inspect_cell(&p[i], &info);
				if (!cv(h, &info, user))
					return;
			}
		}
	}
}

void rav_referrers(rav_heap *h, rav_ref obj, rav_slot_visitor v, void *user)
{
	if (!h || !v) {
		rav__misuse(RAV_EINVAL, "rav_referrers: null %s", h ? "visitor" : "heap");
		return;
	}
	if (!obj.cell || !CHECK_REF(h, obj, "rav_referrers"))
		return;
	/* Depth-first over the reference tree above obj, with a small explicit
	 * stack (the tree is balanced: depth ~ log2 of the referrer count). */
	uintptr_t *stack[128];
	unsigned n = 0;
	if (obj.cell->w[RAV_W_BACK])
		stack[n++] = (uintptr_t *)obj.cell->w[RAV_W_BACK];
	while (n) {
		uintptr_t *s = stack[--n];
		rav_cell *c = cell_of(s);
		if (cell_type(c) == RAV_TYPE_REF && word_of(s) == RAV_W_FWD) {
			if (n + 2 > sizeof stack / sizeof stack[0]) {
				rav__fail(RAV_ERANGE, "rav_referrers: reference tree deeper than %zu",
					  sizeof stack / sizeof stack[0]);
				return;
			}
			stack[n++] = (uintptr_t *)c->w[RAV_W_BACK2];
			stack[n++] = (uintptr_t *)c->w[RAV_W_BACK1];
			continue;
		}
		if (!v(s, user))
			return;
	}
}

void rav_heap_stats(rav_heap *h, rav_stats *out)
{
	if (!out) {
		rav__misuse(RAV_EINVAL, "rav_heap_stats: null output");
		return;
	}
	if (!h) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = h->st;
}

#define BAD(fmt, ...) return rav__fail(RAV_EINVAL, "heap %u invariant: " fmt, h->id, ##__VA_ARGS__)

static bool in_heap(rav_heap *h, const void *addr)
{
	if ((char *)addr < rav__pool.base || (char *)addr >= rav__pool.base + rav__pool.reserved * (size_t)RAV_PAGE_SIZE)
		return false;
	return page_owner(page_of(addr)) == h;
}

rav_status rav_heap_check(rav_heap *h)
{
	if (!h)
		return rav__fail(RAV_EINVAL, "rav_heap_check: null heap");
	uint64_t live = 0, refs = 0, dead = 0, pages = 0, dying = 0;
	bool seen_top = false;
	/* The bump pointer and limit follow the top (rav-private.h, heap_set_top). */
	if (h->bump != (h->top_page ? &h->top_page[h->top] : NULL))
		BAD("the bump pointer is not the top (cell %u of the top page)", h->top);
	if (h->limit && (h->dead || h->limit != &h->top_page[CELLS]))
		BAD("the bump limit lets allocations bump while %s", h->dead ? "holes wait" : "it is not the top page's end");
	rav_cell *prev = NULL;
	for (rav_cell *p = h->first; p; prev = p, p = (rav_cell *)p->w[PH_NEXT]) {
		pages++;
		if (cell_type(p) != RAV_TYPE_HEADER)
			BAD("page %zu has no header", rav_page_index(p));
		if ((rav_cell *)p->w[PH_PREV] != prev)
			BAD("page %zu: broken back link in the page list", rav_page_index(p));
		if (page_owner(p) != h)
			BAD("page %zu is in the list but owned by another heap", rav_page_index(p));
		unsigned fill = fill_of(h, p);
		if (seen_top) {
			if (fill != 1)
				BAD("page %zu after the top page is not empty (fill %u)", rav_page_index(p), fill);
			if (p->w[PH_NEXT])
				BAD("more than one empty page kept after the top (hysteresis)");
		} else if (p != h->top_page && fill != CELLS && h->kind == RAV_HEAP_THREAD) {
			BAD("page %zu before the top is not full (fill %u): a gap", rav_page_index(p), fill);
		}
		/* (a thread heap's top page may be dirty above its top: PAGE_DIRTY) */
		if (page_dirty(p) && (p == h->top_page ? h->kind != RAV_HEAP_THREAD : fill != 1))
			BAD("page %zu is dirty (cells not zeroed) but in use", rav_page_index(p));
		if (p == h->top_page)
			seen_top = true;
		for (unsigned i = 1; i < CELLS; i++) {
			rav_cell *c = &p[i];
			if (i >= fill && page_dirty(p))
				break; /* the spare or a dirty top page: zeroed or overwritten when used */
			if (i >= fill) {
				VG_OPEN(c, RAV_CELL_SIZE);
				bool empty = !(c->w[0] || c->w[1] || c->w[2] || c->w[3]);
				VG_CLOSE(c, RAV_CELL_SIZE);
				if (h->kind == RAV_HEAP_THREAD && !empty)
					BAD("cell %zu:%u above the top is not empty", rav_page_index(p), i);
				continue;
			}
			rav_type t = cell_type(c);
			if (t == RAV_TYPE_DEAD) {
				dead++;
				continue;
			}
			if (t == RAV_TYPE_EMPTY || t == RAV_TYPE_HEADER || t >= rav_type_count())
				BAD("cell %zu:%u below the top has invalid type %u", rav_page_index(p), i, t);
			if (c->w[0] & RAV_FLAG_MARK)
				BAD("cell %zu:%u still carries the collector's mark", rav_page_index(p), i);
			if (t == RAV_TYPE_ROOT) {
				if (h->kind == RAV_HEAP_THREAD)
					BAD("root cell %zu:%u in a data page of a thread heap", rav_page_index(p), i);
				for (int w = 1; w < 4; w++) {
					rav_cell *tg = (rav_cell *)c->w[w];
					if (tg && (!in_heap(h, tg) || *backlink_slot_of(tg, &c->w[w]) != (uintptr_t)&c->w[w]))
						BAD("root slot %zu:%u.%d and its target disagree", rav_page_index(p), i, w);
				}
				continue;
			}
			live++;
			unsigned mask = type_refmask(t);
			if (t == RAV_TYPE_REF) {
				refs++;
				mask = 1;
				if (!c->w[RAV_W_FWD])
					BAD("reference raviolo %zu:%u has no target", rav_page_index(p), i);
				/* The count is the number of leaf slots above. */
				uintptr_t k = 0;
				for (int w = RAV_W_BACK1; w <= RAV_W_BACK2; w++) {
					uintptr_t *s = (uintptr_t *)c->w[w];
					if (!s)
						BAD("reference raviolo %zu:%u has an empty back-link", rav_page_index(p), i);
					rav_cell *sc = cell_of(s);
					k += (cell_type(sc) == RAV_TYPE_REF && word_of(s) == RAV_W_FWD) ? cell_scalar(sc) : 1;
				}
				if (k != cell_scalar(c))
					BAD("reference raviolo %zu:%u counts %lu referrers, its tree has %lu", rav_page_index(p), i,
					    (unsigned long)cell_scalar(c), (unsigned long)k);
			}
			for (int f = 0; f < 2; f++) {
				rav_cell *tg = (rav_cell *)c->w[1 + f];
				if (!(mask & (1u << f)) || !tg)
					continue;
				if (((uintptr_t)tg & (RAV_CELL_SIZE - 1)) || !in_heap(h, tg))
					BAD("cell %zu:%u field %d points outside the heap (%p)", rav_page_index(p), i, f, (void *)tg);
				rav_type tt = cell_type(tg);
				if (tt == RAV_TYPE_DEAD || tt == RAV_TYPE_EMPTY || tt == RAV_TYPE_ROOT || tt == RAV_TYPE_HEADER)
					BAD("cell %zu:%u field %d points at a %s cell", rav_page_index(p), i, f, rav_type_name(tt));
				if (*backlink_slot_of(tg, &c->w[1 + f]) != (uintptr_t)&c->w[1 + f])
					BAD("cell %zu:%u field %d: target's back-link does not name it", rav_page_index(p), i, f);
			}
			int first = t == RAV_TYPE_REF ? RAV_W_BACK1 : RAV_W_BACK;
			if (c->w[0] & RAV_FLAG_DYING) {
				dying++;
				continue; /* its back-link word links the kill queue */
			}
			for (int w = first; w <= 3; w++) {
				uintptr_t *s = (uintptr_t *)c->w[w];
				if (!s)
					BAD("cell %zu:%u (%s) has no referrer", rav_page_index(p), i, rav_type_name(t));
				if (!in_heap(h, s))
					BAD("cell %zu:%u back-link %p is outside the heap", rav_page_index(p), i, (void *)s);
				if (*s != (uintptr_t)c)
					BAD("cell %zu:%u back-link names a slot that does not point back", rav_page_index(p), i);
			}
		}
	}
	if (h->first && !seen_top)
		BAD("top page is not in the page list");
	if (live != h->st.live_cells || refs != h->st.ref_cells || dead != h->st.dead_cells || pages != h->st.pages)
		BAD("counters disagree: live %lu/%lu refs %lu/%lu dead %lu/%lu pages %lu/%lu", (unsigned long)live,
		    (unsigned long)h->st.live_cells, (unsigned long)refs, (unsigned long)h->st.ref_cells,
		    (unsigned long)dead, (unsigned long)h->st.dead_cells, (unsigned long)pages,
		    (unsigned long)h->st.pages);
	if (h->kind == RAV_HEAP_THREAD && h->mode == RAV_FREE_IMMEDIATE && (dead || dying))
		BAD("%lu dead cells left in immediate mode", (unsigned long)dead);
	uint64_t ql = 0;
	for (rav_cell *q = h->dying; q; q = (rav_cell *)q->w[RAV_W_BACK])
		if (!(q->w[0] & RAV_FLAG_DYING) || ++ql > dying)
			BAD("kill queue is corrupt");
	if (ql != dying || dying != h->st.dying_cells)
		BAD("kill queue holds %lu cells, %lu are flagged dying, count says %lu", (unsigned long)ql,
		    (unsigned long)dying, (unsigned long)h->st.dying_cells);
	uint64_t dl = 0;
	rav_cell *dprev = NULL;
	for (rav_cell *d = h->dead; d; dprev = d, d = (rav_cell *)d->w[1]) {
		if (cell_type(d) != RAV_TYPE_DEAD || (rav_cell *)d->w[2] != dprev || ++dl > dead)
			BAD("hole list is corrupt");
	}
	if (dl != dead)
		BAD("hole list holds %lu cells, pages hold %lu", (unsigned long)dl, (unsigned long)dead);
	if (h->dead_tail != dprev)
		BAD("hole list tail is not its last cell");
	/* Root slots: their targets must name them. */
	for (rav_cell *p = h->root_first; p; p = (rav_cell *)p->w[PH_NEXT]) {
		unsigned fill = p == h->root_first ? h->root_bump : CELLS;
		for (unsigned i = 1; i < fill; i++)
			for (int w = 1; w < 4; w++) {
				rav_cell *tg = (rav_cell *)p[i].w[w];
				if (tg && (!in_heap(h, tg) || *backlink_slot_of(tg, &p[i].w[w]) != (uintptr_t)&p[i].w[w]))
					BAD("root slot %zu:%u.%d and its target disagree", rav_page_index(p), i, w);
			}
	}
	return RAV_OK;
}
