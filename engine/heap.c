/* heap.c - allocation and the hole list of a heap.
 *
 * Allocation takes the next cell at the top (the inline fast path is
 * rav__alloc in rav-private.h); when the top page is full, grow() moves the
 * top to the spare page or a page from the pool.  A queued hole (deferred
 * mode, or an API call that freed before it allocates) is reused first.
 *
 * The invariants of a heap and the life of a free, step by step, are
 * written once at the top of free.c, which has the free path; the hole
 * list itself is in heap-inline.h.
 */

#include "heap-inline.h"

/* ---- allocation (the fast path is rav__alloc in rav-private.h) ---- */

/* Move the top to a fresh page: the spare if there is one, else the pool.
 * A thread heap's new top page may stay dirty (PAGE_DIRTY in rav-private.h):
 * its allocations write every word of their cells.  A message heap's pages
 * are zeroed (its cells above the top are read by the hand-off and arrival
 * code, which does not expect old contents there). */
static bool grow(rav_heap *h)
{
	rav_cell *next = h->top_page ? (rav_cell *)h->top_page->w[PH_NEXT] : NULL;
	bool lazy = h->kind == RAV_HEAP_THREAD;
	if (!next) {
		unsigned kind = h->kind == RAV_HEAP_MESSAGE ? RAV_PAGE_BUFFER : RAV_PAGE_HEAP;
		next = lazy ? rav__page_acquire_dirty(h, kind) : rav__page_acquire(h, kind);
		if (!next)
			return false;
		rav__page_append(h, next);
	}
	rav_assert(page_fill(next) == 1);
	if (!lazy && page_dirty(next))
		rav__page_clean(next);
	if (h->top_page) {
		page_set_fill(h->top_page, h->top);
		/* full: no cell above its top is left unzeroed */
		rav_assert(h->top == CELLS);
		h->top_page->w[0] &= ~PAGE_DIRTY;
	}
	heap_set_top(h, next, 1);
	return true;
}

void rav__top_clean(rav_heap *h)
{
	rav_cell *p = h->top_page;
	if (!p || !page_dirty(p))
		return;
	size_t bytes = (size_t)(CELLS - h->top) * RAV_CELL_SIZE;
	VG_OPEN(&p[h->top], bytes);
	memset(&p[h->top], 0, bytes);
	VG_CLOSE(&p[h->top], bytes);
	p->w[0] &= ~PAGE_DIRTY;
}

rav_cell *rav__alloc_slow(rav_heap *h)
{
	/* A heap whose thread ended, or a sent message, has no room at its top
	 * (its limit is NULL), so every allocation into it comes here, in
	 * every build: one compare off the fast path. */
	if (RAV_UNLIKELY(h->builder >= RAV_BUILDER_ENDED)) {
		rav__heap_gone(h, "allocation");
		return NULL;
	}
	if (h->dead) {
		/* Reuse a queued hole: deferred mode, or within an operation that
		 * freed before it allocates (the compaction at its end fills the
		 * rest). */
		rav_cell *c = rav__dead_pop(h);
		rav_assert(cell_type(c) == RAV_TYPE_DEAD);
		return c;
	}
	/* (the top page may have room: a hole left since the last bump stopped
	 * the fast path, which the next move of the top, or this, resumes) */
	if (h->top >= CELLS && !grow(h))
		return NULL;
	rav_cell *c = &h->top_page[h->top];
	heap_set_top_index(h, h->top + 1);
	VG_CELL_ALLOC(c);
	return c;
}

/* ravioli.h's inline allocation when holes wait (deferred mode): the hole
 * is taken and counted here, the caller links the cell, so a deferred-mode
 * push costs no API call (churn, deferred, 20k live, callgrind: 292 -> 255
 * instructions per step; immediate mode and a tree's build +1 or 2, the
 * call site the inline paths grew). */
rav_cell *rav__take_hole(rav_heap *h, rav_type t)
{
	return h->dead ? alloc_hole_t(h, t, false) : NULL;
}

rav_cell *rav__top_cell(rav_heap *h)
{
	if (!h->top_page || h->top <= 1)
		return NULL;
	return &h->top_page[h->top - 1];
}

/* ---- holes (the list itself is in heap-inline.h) ---- */

void rav__dead_push(rav_heap *h, rav_cell *c)
{
	dead_push(h, c);
}

void rav__dead_unlink(rav_heap *h, rav_cell *c)
{
	rav_assert(cell_type(c) == RAV_TYPE_DEAD);
	dead_unlink(h, c);
	h->st.dead_cells--;
}

rav_cell *rav__dead_pop(rav_heap *h)
{
	return h->dead ? dead_pop(h) : NULL;
}

