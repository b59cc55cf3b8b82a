/* truncate.c - the top of the heap coming down: the boundary a compaction
 * ends at (pages wholly above it marked PAGE_DOOMED while it runs), the
 * truncation to it (pages above become empty and dirty, zeroed when used
 * again) and step 9 of a free, emptied pages going back to the pool past
 * one spare.  Used by the compaction (compact.c), the top cascade
 * (cascade.c), the bulk kill (bulk-kill.c) and rav_msg_adopt (msg.c: the
 * top region).
 */
#include <stdlib.h>
#include <string.h>

#include "free-private.h"

/* The walks below chase page headers down the heap's list, one miss each
 * when the pages are many (a big free's): the page so many below in memory
 * is likely the one they will reach (the pool hands a heap pages in
 * address order, pool.c) and is prefetched; where it is not, or is no
 * page of the heap, a prefetch is harmless. */
enum { HEADERS_AHEAD = 16 };

/* Step 9: keep at most one completely empty page after the top.  They go
 * back from the last one down, so that the pool hands them out again in
 * the heap's order (pool.c, "Layout"). */
static void release_empty_pages(rav_heap *h)
{
	rav_cell *keep = h->top_page;
	if (h->top > 1 && keep->w[PH_NEXT])
		keep = (rav_cell *)keep->w[PH_NEXT]; /* one spare after a non-empty top page */
	for (rav_cell *p = h->last; p != keep;) {
		rav_cell *prev = (rav_cell *)p->w[PH_PREV];
		rav_prefetch((char *)p - HEADERS_AHEAD * RAV_PAGE_SIZE);
		rav_assert(page_fill(p) == 1);
		rav__page_unlink(h, p);
		rav__page_release(h, p);
		p = prev;
	}
}

/* The top page has no cell left: the top goes to the page before. */
void rav__top_page_emptied(rav_heap *h)
{
	rav_cell *prev = (rav_cell *)h->top_page->w[PH_PREV];
	page_set_fill(h->top_page, 1);
	if (prev) {
		rav_assert(page_fill(prev) == CELLS);
		heap_set_top(h, prev, CELLS);
	}
	release_empty_pages(h);
}

/* A bounded compaction step (deferred mode) must not walk a million holes'
 * worth of pages: it marks at most max_pages (64 + 4 pages per page of
 * moves it may make).  Holes further down are then taken for below the
 * boundary; that can only cost a move that a later step repeats, never a
 * wrong heap. */
boundary rav__mark_top(rav_heap *h, uint64_t left, size_t max_pages)
{
	rav_cell *p = h->top_page;
	unsigned top = h->top;
	rav_cell *prev;
	size_t marked = 0;
	while (left >= top - 1 && (prev = (rav_cell *)p->w[PH_PREV]) != NULL) {
		rav_prefetch((char *)p - HEADERS_AHEAD * RAV_PAGE_SIZE);
		if (marked++ == max_pages)
			return (boundary){ p, CELLS }; /* stopped short: p itself unmarked */
		left -= top - 1;
		p->w[0] |= PAGE_DOOMED;
		p = prev;
		top = CELLS;
	}
	return (boundary){ p, left >= top - 1 ? 1 : top - (unsigned)left };
}

/* The marked pages were a run ending at the top page.  Those the
 * compaction emptied lost the mark with their header (top_page_emptied);
 * the rest end at the current top page. */
void rav__clear_boundary(rav_heap *h)
{
	for (rav_cell *p = h->top_page; p && (p->w[0] & PAGE_DOOMED); p = (rav_cell *)p->w[PH_PREV])
		p->w[0] &= ~PAGE_DOOMED;
}

/* The top goes down to the boundary b (every cell above it is dead,
 * moved away or, with `trimmed` false, let go of whole by the caller):
 * the boundary page becomes the top page, its cells above the boundary
 * are zeroed (a message heap's) or left dirty (a thread heap's), the pages
 * above it become empty and dirty (zeroed when used again), and those
 * past one spare go back to the pool. */
void rav__truncate_to(rav_heap *h, rav_top_region b, bool trimmed)
{
	rav_cell *emptied = h->top_page;
	const unsigned top0 = h->top, bhi = b.page == emptied ? top0 : CELLS;
	(void)trimmed;
#if RAV_VALGRIND
	/* To memcheck, a dead cell is freed now (a sweep could still read it
	 * as a link), or every cell when the caller let go of them whole; a
	 * moved one was freed by its move. */
	for (rav_cell *p = emptied;; p = (rav_cell *)p->w[PH_PREV]) {
		unsigned plo = p == b.page ? b.index : 1, phi = p == emptied ? top0 : CELLS;
		for (unsigned k = plo; k < phi; k++) {
			VG_OPEN(&p[k], RAV_CELL_SIZE);
			if (!trimmed || cell_type(&p[k]) == RAV_TYPE_DEAD)
				VG_CELL_FREE(&p[k]);
			else
				VG_CLOSE(&p[k], RAV_CELL_SIZE);
		}
		if (p == b.page)
			break;
	}
#endif
	heap_set_top(h, b.page, b.index);
	if ((b.index == 1 && b.page->w[PH_PREV]) || h->kind == RAV_HEAP_THREAD) {
		/* the boundary page empties too: dirty, as the pages above; or
		 * it is a thread heap's top page, which may be dirty above its
		 * top (PAGE_DIRTY in rav-private.h: every allocation writes all
		 * four words of its cell).  Zeroing the cells a structure
		 * allocated last just left was 7.2 of the 38 instructions per
		 * node of binary-trees' drop (callgrind, tree-probe bt 14 1),
		 * a pass over lines the next build writes again anyway. */
		b.page->w[0] |= PAGE_DIRTY;
	} else {
		VG_OPEN(&b.page[b.index], (size_t)(bhi - b.index) * RAV_CELL_SIZE);
		memset(&b.page[b.index], 0, (size_t)(bhi - b.index) * RAV_CELL_SIZE);
		VG_CLOSE(&b.page[b.index], (size_t)(bhi - b.index) * RAV_CELL_SIZE);
	}
	for (rav_cell *p = emptied; p != b.page; p = (rav_cell *)p->w[PH_PREV]) {
		rav_prefetch((char *)p - HEADERS_AHEAD * RAV_PAGE_SIZE);
		page_set_fill(p, 1); /* (and no longer doomed) */
		p->w[0] |= PAGE_DIRTY;
	}
	if (h->top == 1)
		rav__top_page_emptied(h);
	else
		release_empty_pages(h);
}

/* The heap's top n cells, marked: rav_msg_adopt checks whether a subtree
 * it sends is exactly them (each of its cells lies in the marked region),
 * and then hands their pages to the message. */
bool rav__top_region_mark(rav_heap *h, size_t n, rav_top_region *r)
{
	if (h->kind != RAV_HEAP_THREAD || h->dead || h->dying || !h->top_page || n == 0 || n > h->st.live_cells)
		return false;
	*r = rav__mark_top(h, n, SIZE_MAX);
	return true;
}

void rav__top_region_unmark(rav_heap *h)
{
	rav__clear_boundary(h);
}
