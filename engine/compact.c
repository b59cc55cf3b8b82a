/* compact.c - steps 6-8 of a free (free.c tells the whole story): dead
 * cells at the top are trimmed (a run the cascade recorded leaves the hole
 * list as one segment), a live top cell moves into a hole and the slots
 * naming it and its children's back-links are fixed.  A whole compaction
 * does this in one pass over the cells above the boundary (sweep); bounded
 * steps (deferred mode) go cell by cell (move_run).  The boundary, the
 * truncation and the release of emptied pages are truncate.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "free-private.h"

void rav__move(rav_heap *h, rav_cell *t, rav_cell *d)
{
	move_cell(h, t, d);
}

void rav__shrink(rav_heap *h)
{
	shrink(h);
}

#if RAV_TRACING
/* The trims of n consecutive cells from `top` down (top, top - 1, ...):
 * RAV_RAW_TRIM_RUN records (rav-record.h) of up to RAV_RAW_EXPAND_MAX
 * trims each, two stores and the count's publication for a run; a lone
 * trim, or a run whose record does not pass the bound (a clock reading
 * due, a full buffer, a debugger: trims hold no watched cell), one event
 * each. */
static __attribute__((noinline)) void rec_trim_run(rav_cell *top, size_t n)
{
	while (n) {
		unsigned m = n < RAV_RAW_EXPAND_MAX ? (unsigned)n : RAV_RAW_EXPAND_MAX;
		uint32_t next;
		rav_raw_event *e;
		if (m >= 2 && RAV_LIKELY((e = rav__compound_room_clk(1, &next)) != NULL)) {
			rav__put_kind_x(e, RAV_RAW_TRIM_RUN | m << 8, 0);
			e->a = (uintptr_t)top;
			rav__compound_done(next);
		} else {
			for (unsigned k = 0; k < m; k++)
				REC(RAV_EV_TRIM, 0, 0, top - k, 0, 0);
		}
		top -= m;
		n -= m;
	}
}

/* Most runs are one cell (rav-bench trace-record: 1.4 on average): that
 * one is an inline event. */
static inline __attribute__((always_inline)) void rec_trims(rav_cell *top, size_t n)
{
	if (RAV_LIKELY(n == 1))
		RECT(true, RAV_EV_TRIM, 0, 0, top, 0, 0); /* (its callers tested the recording flag) */
	else
		rec_trim_run(top, n);
}
#endif

/* Step 6, trimming a recorded run: the top cell is the highest cell of
 * run idx.  Its cells leave the hole list as one segment (only the two
 * holes around it are touched) and are not read (so a check on each cell
 * that dies belongs where the cascade kills it, not here).  A run that empties its
 * page (and the page is not the heap's first, so it stops being the top) is
 * not zeroed either: the page becomes dirty (PAGE_DIRTY in rav-private.h)
 * and is zeroed when it is used again, so dropping a large structure
 * allocated last costs one pass over its cells (the cascade's), not three. */
static void trim_run(rav_heap *h, unsigned idx)
{
	rav_dead_run r = h->runs[idx];
	rav_cell *lo = r.first < r.last ? r.first : r.last;
	rav_cell *page = h->top_page;
	rav_assert(r.n >= 2 && lo + r.n - 1 == &page[h->top - 1] && page_of(lo) == page);
#if RAV_DEBUG >= 2
	for (unsigned k = 0; k < r.n; k++)
		rav_assert_internal(cell_type(&lo[k]) == RAV_TYPE_DEAD && lo[k].w[3] == idx);
	for (rav_cell *c = r.last; c != r.first; c = (rav_cell *)c->w[1])
		rav_assert_internal(c >= lo && c < lo + r.n);
#endif
	dead_unlink_span(h, r.last, r.first);
	/* The run leaves the record (a run between others stays as a tombstone). */
	h->runs[idx].n = 0;
	runs_trim_ends(h);
#if RAV_TRACING
	if (RAV_UNLIKELY(rav__tracing))
		rec_trims(&lo[r.n - 1], r.n);
#endif
	unsigned i = slot_in_page(lo);
	if (i == 1 && page->w[PH_PREV])
		page->w[0] |= PAGE_DIRTY;
	else if (r.n <= 4)
		for (unsigned k = 0; k < r.n; k++)
			lo[k].w[0] = lo[k].w[1] = lo[k].w[2] = lo[k].w[3] = 0;
	else
		memset(lo, 0, (size_t)r.n * RAV_CELL_SIZE);
#if RAV_VALGRIND
	for (unsigned k = 0; k < r.n; k++)
		VG_CELL_FREE(&lo[k]);
#endif
	h->st.dead_cells -= r.n;
	heap_set_top_index(h, i);
	if (i == 1)
		rav__top_page_emptied(h);
}

/* Step 6, trimming one dead top cell c that is in no recorded run. */
static inline void trim_one(rav_heap *h, rav_cell *c)
{
	dead_unlink_raw(h, c);
	REC(RAV_EV_TRIM, 0, 0, c, 0, 0);
	c->w[0] = c->w[1] = c->w[2] = c->w[3] = 0;
	VG_CELL_FREE(c);
	h->st.dead_cells--;
	shrink(h);
}

/* Step 6, trimming: the top cell is dead.  Trim it and every dead cell
 * below it: a run the cascade recorded at once (trim_run), other holes one
 * by one. */
static void trim_dead_run(rav_heap *h)
{
	while (h->dead) {
		rav_cell *c = &h->top_page[h->top - 1];
		if (h->top <= 1 || cell_type(c) != RAV_TYPE_DEAD)
			return;
		unsigned idx;
		if (run_holds(h, c, &idx))
			trim_run(h, idx);
		else
			trim_one(h, c);
	}
}

static boundary mark_boundary(rav_heap *h, size_t max_pages)
{
	return rav__mark_top(h, h->st.dead_cells, max_pages);
}

/* Step 6-7, moving: move live top cells into holes below the boundary
 * until a dead cell reaches the top, the holes run out or the budget is
 * spent.  A move's misses are the hole and the moved cell's neighbours
 * (the slot naming it, its children's back-links); the cell AHEAD moves
 * further down and the next hole are prefetched, so a batch waits for
 * several misses at once instead of one after the other. */

static size_t move_run(rav_heap *h, boundary b, size_t budget)
{
	size_t moves = 0;
	const bool runs = h->nruns != 0;
	/* The first few cells of the run have no lead; prefetch them now. */
	for (unsigned k = 1; k < AHEAD && h->top > k + 1; k++)
		prefetch_neighbours(&h->top_page[h->top - 1 - k]);
	while (h->dead && moves < budget) {
		rav_cell *t = &h->top_page[h->top - 1];
		if (cell_type(t) == RAV_TYPE_DEAD) {
			/* Trimmed here rather than by returning to rav__compact:
			 * freeing cells that alternate with survivors alternates
			 * one trim and one move. */
			unsigned idx;
			if (runs && run_holds(h, t, &idx))
				trim_run(h, idx);
			else
				trim_one(h, t);
			continue;
		}
		if (h->top > 2 * AHEAD + 1)
			rav_prefetch(t - 2 * AHEAD);
		if (h->top > AHEAD + 1)
			prefetch_neighbours(t - AHEAD);
		/* A live top cell means a hole lies below the boundary: the
		 * holes above it are at most the cells above it minus this one. */
		for (size_t skipped = 0; doomed(b, h->dead) && skipped < h->st.dead_cells; skipped++)
			dead_rotate(h);
		rav_assert(!doomed(b, h->dead));
		rav_cell *d = dead_pop_t(h, runs);
		if (h->dead)
			rav_prefetch(h->dead);
		move_cell(h, t, d);
		shrink(h);
		moves++;
	}
	return moves;
}

/* The hole after doomed hole c on the list.  The rest of c's run, when
 * the run's first hole is doomed too, is skipped at once: in list order a
 * run's holes are its addresses in order, ending at `first` (a tree
 * dropped below a few later cells puts all its doomed holes ahead of the
 * few that get filled: they are passed over a run at a time, unread). */
static inline rav_cell *next_hole_below(const rav_heap *h, boundary b, rav_cell *c, bool runs)
{
	unsigned idx;
	if (runs && run_holds(h, c, &idx) && doomed(b, h->runs[idx].first))
		c = h->runs[idx].first;
	return (rav_cell *)c->w[1];
}

/* Steps 6-8 in one pass: a whole compaction (no budget).  The cells
 * above the boundary are walked once, from the top down, each when it is
 * the top cell: a dead one is trimmed where it lies (a run the cascade
 * recorded at once, unread beyond its top cell), a live one moves into the
 * next hole below the boundary.  The hole list is only ever read from its
 * head, following next links: holes above the boundary met there are
 * passed over unread (they are trimmed by the walk), and nothing is
 * unlinked from its middle.  When the walk reaches the boundary, every
 * hole below it is filled and every hole above it trimmed, so the list is
 * simply forgotten.
 *
 * The pages the walk empties stay in the heap's list, untouched, until the
 * walk ends (a hole on them may still be read as a list link); then they
 * become empty (and dirty: zeroed when used again), the trimmed cells of
 * the boundary page are zeroed, and the pages past one spare go back to
 * the pool.  So a free of n cells among survivors costs a pass over the
 * n cells above the boundary plus one move per survivor among them, with
 * no per-cell list surgery or zeroing; a structure allocated last costs a
 * read per recorded run.
 *
 * The trace sees what the step-by-step compaction records: each cell,
 * when it is the top cell, trimmed (TRIM) or moved into a hole (MOVE and
 * its FIXUPs); then the page releases. */
static inline __attribute__((always_inline)) size_t sweep_t(rav_heap *h, boundary b, const bool tr)
{
	const bool runs = h->nruns != 0;
	rav_cell *hole = h->dead;
	/* The heap's counters and pin in locals (move_words_t) */
	size_t moves = 0, trimmed = 0, fixups = 0;
	rav_cell *pinned = h->pinned;
	rav_assert(h->dying == NULL);
	rav_cell *page = h->top_page;
	rav_cell *t = &page[h->top - 1]; /* the top cell */
	for (;;) {
		/* the page's lowest cell above the boundary */
		rav_cell *const end = &page[page == b.page ? b.index : 1];
		rav_assert(page == b.page || (page->w[0] & PAGE_DOOMED));
		while (t >= end) {
			/* (the cells ahead, not their neighbours: those of a moved
			 * cell are its list or tree neighbours, nearby in the walk) */
			if (t >= end + 2 * AHEAD)
				rav_prefetch(t - 2 * AHEAD);
			if (cell_type(t) == RAV_TYPE_DEAD) {
				unsigned idx;
				size_t n = 1;
				if (runs && run_holds(h, t, &idx)) {
					/* every cell of the run from its bottom up to t is a hole */
					const rav_dead_run *r = &h->runs[idx];
					rav_cell *rlo = r->first < r->last ? r->first : r->last;
					if (rlo < end)
						rlo = end;
					n = (size_t)(t - rlo) + 1;
				}
#if RAV_TRACING
				if (RAV_UNLIKELY(tr))
					rec_trims(t, n);
#endif
				t -= n;
				trimmed += n;
				continue;
			}
			while (doomed(b, hole))
				hole = next_hole_below(h, b, hole, runs);
			rav_cell *d = hole;
			rav_assert(d && cell_type(d) == RAV_TYPE_DEAD);
			hole = (rav_cell *)d->w[1];
			if (hole)
				rav_prefetch(hole);
			if (RAV_UNLIKELY(t == pinned))
				h->pinned = pinned = d;
			fixups += move_words_t(t, d, tr, false); /* (t's page: rav__truncate_to) */
			moves++;
			t--;
		}
		if (page == b.page)
			break;
		page = (rav_cell *)page->w[PH_PREV];
		t = &page[CELLS - 1];
	}
	h->st.moves += moves;
	h->st.fixups += fixups;
	h->gen += (uint32_t)moves;
	h->dead = h->dead_tail = NULL;
	/* (trimmed is counted for this check only: every hole is gone) */
	rav_assert(h->st.dead_cells == moves + trimmed);
	h->st.dead_cells = 0;
	runs_forget(h);
	rav__truncate_to(h, b, true);
	return moves;
}

/* Two copies: without recording, no event code in the loop. */
static size_t sweep(rav_heap *h, boundary b)
{
	return rav__tracing ? sweep_t(h, b, true) : sweep_t(h, b, false);
}

/* Step 6.  Returns the holes left (nonzero only with a budget). */
size_t rav__compact(rav_heap *h, size_t max_moves, enum rav_compact_reason reason)
{
	if (h->dying)
		rav__cascade(h, 0);
	if (!h->dead || h->kind == RAV_HEAP_MESSAGE || h->tearing_down)
		return h->st.dead_cells;
	REC(RAV_EV_COMPACT_BEGIN, reason, h->id, 0, 0, 0);
	boundary b = mark_boundary(h, max_moves ? 64 + 4 * (max_moves / (CELLS - 1)) : SIZE_MAX);
	size_t moves = 0;
	if (max_moves == 0)
		moves = sweep(h, b);
	while (h->dead && (max_moves == 0 || moves < max_moves)) {
		rav_assert(h->top_page && h->top > 1); /* a hole lies below the top */
		if (cell_type(&h->top_page[h->top - 1]) == RAV_TYPE_DEAD)
			trim_dead_run(h);
		else
			moves += move_run(h, b, max_moves ? max_moves - moves : SIZE_MAX);
	}
	if (!h->dead)
		runs_forget(h);
	rav__clear_boundary(h);
	REC(RAV_EV_COMPACT_END, 0, h->id, moves, 0, 0);
	rav_assert(max_moves != 0 || h->st.dead_cells == 0);
	rav_assert_expensive(rav_heap_check(h) == RAV_OK);
	return h->st.dead_cells;
}
