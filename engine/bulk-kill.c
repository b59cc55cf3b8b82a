/* bulk-kill.c - a structure let go of whole among survivors (a list whose
 * cells alternate with another's, a tree among other data): its cascade
 * types each dying cell dead and appends it to an array instead of the
 * hole list, and one walk from the top fills the holes, whose addresses
 * it knows in advance.  A shortcut of the life of a free (free.c); the
 * design in full below.
 */
#include <stdlib.h>
#include <string.h>

#include "free-private.h"

/* ---- a whole kill among survivors: holes in an array, one fill ----
 *
 * A structure let go of whole at the end of a call (rav__drop_whole) that
 * is not the heap's top cells (a list whose cells alternate with a
 * survivor's, a tree built among other data) kills many cells, and only
 * compaction follows in the call.  Its holes need not form the hole list:
 * the cascade only marks each dying cell dead (its type word, in a line it
 * reads anyway) and appends its index to an array (kill_collect); the
 * fill then knows every hole in advance, so it prefetches the holes it
 * will write a few moves ahead instead of chasing list links, and writes
 * no list or run words at all (fill_holes).  The result is the heap the
 * hole list would give: holes are filled newest first, each by the top
 * cell, holes above where the top will end are never filled.  When no
 * hole lies below that boundary (the structure is the heap's top cells,
 * only not in the order the top cascade follows: rebuilt in place by a
 * compaction, built level by level), nothing above it lives and the heap
 * is truncated without a walk.
 *
 * Holes are stored as 32-bit cell indices in the pool's range: 4 bytes per
 * killed cell instead of 8, and the array passes through the caches with
 * the structure (a pool of more than 2^32 cells, 128 GB, takes the
 * ordinary path).  Tried and not kept: a kill that writes nothing into
 * the dying cells (so that a line of the structure is not dirtied by the
 * kill and again by the fill), the fill telling the holes above the
 * boundary by their order in the array: 85 instructions per freed cell
 * against 70 for the same fill reading types, with the same simulated
 * misses (HACKING.md).
 *
 * It starts where the top cascade gives up (cascade_whole with `fill`):
 * the block of cells that cascade killed is on the hole list and moves to
 * the array first.  Only while not recording (the trace takes the ordinary
 * path, event for event), in an immediate-mode thread heap with no hole
 * yet in the call.  Reference ravioli that die on the way are spliced out
 * as usual (their holes join the list, and the fill takes them from
 * there); if the array cannot grow, the holes go to the list and the
 * ordinary compaction runs.  A small kill pays one test (no hole yet) and,
 * when the top cascade truncates, nothing more. */

/* The array keeps its memory for the next kill up to this many holes
 * (256 KB); a larger one is given back after its kill. */
enum { HOLES_KEEP = 1 << 16 };

/* A cell's index in the pool's range, and the cell of an index. */
static inline uint32_t hole_ix(const rav_cell *c)
{
	rav_assert(rav__in_pool(c));
	return (uint32_t)(((uintptr_t)c - (uintptr_t)rav__pool.base) / RAV_CELL_SIZE);
}
static inline rav_cell *hole_at(const char *base, uint32_t i)
{
	return (rav_cell *)(base + (size_t)i * RAV_CELL_SIZE);
}

/* How far ahead the kill prefetches (in steps of its stride), and the fill
 * (in cells of its walk down from the top, and in holes: a move takes a
 * few ns, a miss ~100).  The walk's 64 (2 KB) against 32: 5.49-5.70 ->
 * 5.28-5.43 ms per million freed cells (bulk-probe, HACKING.md); 128 and
 * 96 were slower than 64, the kill's 64 and the holes' 32 no better. */
enum { KILL_AHEAD = 32, FILL_AHEAD = 64, HOLE_AHEAD = 16 };

/* The cell `ahead` cells from c (negative: down) when that leaves c's
 * page: in the next page of the heap's list.  A structure allocated in
 * order goes on there, wherever the pool placed that page, and the
 * hardware prefetcher, which stops at the end of an OS page and learns
 * each stream anew, does not follow (the cost of a walk over a heap's
 * cells against the same walk over a malloc heap's, whose pages follow
 * each other in memory: HACKING.md).  Further than a page away, or past
 * the heap's ends, the answer is only somewhere harmless to prefetch. */
static __attribute__((noinline)) const rav_cell *cell_across(const rav_cell *c, long ahead)
{
	long s = (long)slot_in_page(c) + ahead;
	const rav_cell *pg = page_of(c);
	if (s < 1) {
		pg = (const rav_cell *)pg->w[PH_PREV];
		s += CELLS - 1;
	} else {
		pg = (const rav_cell *)pg->w[PH_NEXT];
		s -= CELLS - 1;
	}
	return pg && s >= 1 && s < (long)CELLS ? pg + s : c;
}

/* Room for hole index n (n + 1 holes). */
static bool holes_room(rav_heap *h, size_t n)
{
	if (n < h->holes_cap)
		return true;
	size_t cap = h->holes_cap ? h->holes_cap : 1024;
	while (cap <= n)
		cap *= 2;
	uint32_t *grown = realloc(h->holes, cap * sizeof *grown);
	if (!grown)
		return false;
	h->holes = grown;
	h->holes_cap = cap;
	return true;
}

/* Step 3 to the end for rav__kill_whole, as cascade_all_t without recording or
 * runs: sp children wait on the stack, nx (if not NULL) is visited next.
 * Each cell that dies is typed dead and appended to h->holes after the nh
 * already there (on the hole list if the array cannot grow).  Returns the
 * holes in the array. */
static __attribute__((noinline)) size_t kill_collect(rav_heap *h, size_t sp, rav_cell *nx, size_t nh)
{
	rav_pending *pend = h->pending;
	size_t cap = h->pending_cap;
	/* the next hole's place and the array's end, in registers */
	uint32_t *hp = h->holes + nh, *hend = h->holes + h->holes_cap;
	const uintptr_t base = (uintptr_t)rav__pool.base;
	h->cascading = true;
	h->gen++;
	for (;;) {
		rav_cell *d;
		if (nx) {
			d = nx;
			nx = NULL;
		} else if (sp) {
			d = pend[--sp].cell;
		} else if (h->dying) {
			d = dying_pop(h);
		} else {
			break;
		}
		rav_type t = cell_type(d);
		if (RAV_UNLIKELY(t <= RAV_TYPE_DEAD)) {
			if (t == RAV_TYPE_DEAD)
				continue; /* a reference raviolo whose two referrers both died */
			rav_assert(t == RAV_TYPE_REF);
			size_t sp_out = sp;
			rav__pending_ref_lost(h, d, &sp_out);
			sp = sp_out;
			pend = h->pending;
			cap = h->pending_cap;
			continue;
		}
		/* The next cell: field 0 if it is a reference, else field 1
		 * (cascade_all_t's order); with both, field 1 waits.  By the
		 * type's reference mask, one branch each for a list (field 1
		 * only) and a leaf. */
		unsigned mask = type_refmask(t);
		if (mask == 2) {
			nx = (rav_cell *)d->w[2];
		} else if (mask == 3) {
			rav_cell *c0 = (rav_cell *)d->w[1], *c1 = (rav_cell *)d->w[2];
			nx = c0 ? c0 : c1;
			if (c0 && c1) {
				if (RAV_LIKELY(sp < cap)) {
					pend[sp++] = (rav_pending){ c1 };
				} else {
					sp += rav__cascade_push_slow(h, d, 1, sp);
					pend = h->pending;
					cap = h->pending_cap;
				}
			}
		} else if (mask == 1) {
			nx = (rav_cell *)d->w[1];
		}
		if (nx) {
			/* a list or a tree allocated in order: the cell as many
			 * strides ahead, in the next page of the heap when the
			 * stride leaves nx's (cell_across) */
			intptr_t stride = (char *)nx - (char *)d;
			if (stride > -512 && stride < 512) {
				const char *ahead = (char *)nx + KILL_AHEAD * stride;
				if (RAV_LIKELY(((uintptr_t)ahead ^ (uintptr_t)nx) < RAV_PAGE_SIZE))
					rav_prefetch(ahead);
				else
					rav_prefetch(cell_across(nx, KILL_AHEAD * stride / (intptr_t)RAV_CELL_SIZE));
			}
		}
		if (RAV_UNLIKELY(hp == hend)) {
			size_t k = (size_t)(hp - h->holes);
			if (!holes_room(h, k)) {
				/* out of memory: this hole joins the list (fill_holes
				 * hands every hole to the ordinary compaction then) */
				make_dead(h, d);
				continue;
			}
			hp = h->holes + k;
			hend = h->holes + h->holes_cap;
		}
		rav_assert(rav__in_pool(d));
		d->w[0] = RAV_TYPE_DEAD;
		*hp++ = (uint32_t)(((uintptr_t)d - base) / RAV_CELL_SIZE);
	}
	size_t n = (size_t)(hp - h->holes), done = n - nh;
	h->st.live_cells -= done;
	h->st.frees += done;
	h->cascading = false;
	return n;
}

/* fill_holes' walk from the top down to the boundary b: each live cell
 * moves into the newest hole of holes[0, m) below b.  `refs`: the heap may
 * hold reference ravioli.  Returns the moves, *fixups_out their fix-ups. */
static inline __attribute__((always_inline)) size_t fill_walk(rav_heap *h, boundary b, const uint32_t *holes,
							      size_t m, bool refs, size_t *fixups_out)
{
	const char *const base = rav__pool.base;
	size_t moves = 0, fixups = 0;
	rav_cell *pinned = h->pinned;
	rav_cell *page = h->top_page;
	rav_cell *t = &page[h->top - 1];
	for (size_t a = m < HOLE_AHEAD ? m : HOLE_AHEAD; a > 0; a--)
		rav_prefetch(hole_at(base, holes[m - a]));
	for (;;) {
		rav_cell *const end = &page[page == b.page ? b.index : 1];
		if (page != b.page) {
			/* the walk goes on at the top of the page before in the
			 * heap's list, wherever that is (cell_across): its first
			 * cells now, in one go */
			const rav_cell *next = (const rav_cell *)page->w[PH_PREV];
			for (unsigned k = 1; k <= FILL_AHEAD; k += 2)
				rav_prefetch(&next[CELLS - k]);
		}
		while (t >= end) {
			/* the walk down (below the page: harmless, a prefetch
			 * never faults), and the hole a few moves ahead (for
			 * writing) */
			rav_prefetch(t - FILL_AHEAD);
			if (cell_type(t) == RAV_TYPE_DEAD) {
				t--;
				continue;
			}
			rav_cell *d;
			do {
				rav_assert(m > 0);
				d = hole_at(base, holes[--m]);
			} while (doomed(b, d));
			if (m >= HOLE_AHEAD)
				rav_prefetch(hole_at(base, holes[m - HOLE_AHEAD]));
			rav_assert(cell_type(d) == RAV_TYPE_DEAD);
			if (RAV_UNLIKELY(t == pinned))
				h->pinned = pinned = d;
			/* (t's page: rav__truncate_to) */
			fixups += refs ? move_words_t(t, d, false, false) : move_words_nr(t, d, false);
			moves++;
			t--;
		}
		if (page == b.page)
			break;
		page = (rav_cell *)page->w[PH_PREV];
		t = &page[CELLS - 1];
	}
	*fixups_out = fixups;
	return moves;
}

/* Steps 6-8 for rav__kill_whole: the nh holes of h->holes (and those on the
 * hole list: spliced reference ravioli) are filled from the top in one
 * walk, as sweep_t does with the list: each cell above the boundary, when
 * it is the top cell, is trimmed if dead or moves into the newest hole
 * below the boundary.  The holes to write are known in advance: the one a
 * few moves ahead is prefetched (for writing), so the misses of the holes
 * overlap with each other and with the walk's. */
static __attribute__((noinline)) void fill_holes(rav_heap *h, size_t nh)
{
	const char *const base = rav__pool.base; /* (once: the moves' stores may alias it) */
	if (h->dead) {
		/* holes on the list join the array */
		size_t nl = h->st.dead_cells;
		if (!holes_room(h, nh + nl - 1)) {
			/* out of memory: the ordinary compaction takes them all */
			for (size_t k = 0; k < nh; k++)
				dead_push(h, hole_at(base, h->holes[k]));
			runs_forget(h);
			rav__compact(h, 0, RAV_COMPACT_FREE);
			return;
		}
		for (rav_cell *c = h->dead; c; c = (rav_cell *)c->w[1])
			h->holes[nh++] = hole_ix(c);
		h->dead = h->dead_tail = NULL;
		h->st.dead_cells = 0;
	}
	runs_forget(h);
	if (nh == 0)
		return;
	rav_assert(h->dying == NULL && h->top_page);
	REC(RAV_EV_COMPACT_BEGIN, RAV_COMPACT_FREE, h->id, 0, 0, 0);
	boundary b = rav__mark_top(h, nh, SIZE_MAX);
	/* The holes, newest first; those above the boundary are passed over.
	 * If none lies below it, nothing above it lives: no walk (told from
	 * the page headers only, from the newest hole on: one look when the
	 * structure lay among survivors). */
	const uint32_t *holes = h->holes;
	size_t k = nh;
	while (k > 0 && doomed(b, hole_at(base, holes[k - 1])))
		k--;
	bool walk = k > 0;
	size_t moves = 0, fixups = 0;
	if (walk) {
		/* (two copies: in a heap without reference ravioli, a child's
		 * back-link is fixed without reading the child's type) */
		if (h->st.ref_cells == 0)
			moves = fill_walk(h, b, holes, nh, false, &fixups);
		else
			moves = fill_walk(h, b, holes, nh, true, &fixups);
	}
	h->st.moves += moves;
	h->st.fixups += fixups;
	h->gen += (uint32_t)moves;
	rav__truncate_to(h, b, true);
	rav__clear_boundary(h);
	if (h->holes_cap > HOLES_KEEP) {
		free(h->holes);
		h->holes = NULL;
		h->holes_cap = 0;
	}
	REC(RAV_EV_COMPACT_END, 0, h->id, moves, 0, 0);
	rav_assert_expensive(rav_heap_check(h) == RAV_OK);
}

/* rav__drop_whole's kill among survivors (see above), after the top
 * cascade handed over (or finished below the top): the cells it killed
 * are holes on the list; the rest of the cascade, unless `finished`, goes
 * on with sp children on the stack and nx (if not NULL) next.  Returns the
 * cells killed here. */
size_t rav__kill_whole(rav_heap *h, size_t sp, rav_cell *nx, bool finished)
{
	/* the top cascade's holes first, the oldest first */
	size_t nh = 0, nl = h->st.dead_cells;
	if (rav__pool.reserved > ((size_t)1 << 32) / CELLS || !holes_room(h, nl - 1))
		return finished ? 0 : rav__cascade_rest(h, sp, nx); /* (the ordinary compaction follows) */
	for (rav_cell *c = h->dead_tail; c; c = (rav_cell *)c->w[2])
		h->holes[nh++] = hole_ix(c);
	rav_assert(nh == nl);
	h->dead = h->dead_tail = NULL;
	h->st.dead_cells = 0;
	runs_forget(h);
	size_t killed = 0;
	if (!finished) {
		size_t before = h->st.frees;
		nh = kill_collect(h, sp, nx, nh);
		killed = (size_t)(h->st.frees - before);
	}
	fill_holes(h, nh);
	return killed;
}
