/* bulk-kill.c - a structure let go of whole among survivors (a list whose
 * cells alternate with another's, a tree among other data): its cascade
 * appends each dying cell to an array instead of the hole list, without
 * writing into it, and one walk from the top fills the holes, whose
 * addresses it knows in advance.  A shortcut of the life of a free (free.c); the
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
 * the cascade appends each dying cell's index to an array (kill_collect);
 * the fill then knows every hole in advance, so it prefetches the holes it
 * will write a few moves ahead instead of chasing list links, and writes
 * no list or run words at all (fill_holes).  The result is the heap the
 * hole list would give, up to which survivor lands in which hole: every
 * survivor above where the top will end moves once, into a hole below it;
 * holes above that boundary are never filled.
 *
 * The kill writes nothing into the cells it kills: it only reads them
 * (their type and links).  Such a structure is as big as the caches or
 * bigger, and a write would make every line of it dirty, to be written
 * back to memory twice (once after the kill, once after the fill writes
 * the hole or after the walk fixes a survivor next to it), where only the
 * holes the fill writes need writing at all.  What the fill needs to know
 * of a cell above the boundary, dead or alive, the array tells: the holes
 * there (in the order they died, or its reverse: the common case of a list
 * or a tree killed along its links from its first cell) are checked to be
 * in the order of the walk down from the top, in one pass over the holes
 * alone, and the walk then steps over each as it reaches it.  Holes in any
 * other order are typed dead then, and the walk reads each cell's type.
 * A cascade that meets a reference raviolo types every hole dead from
 * there on (rav__pending_ref_lost tells a lost referrer by its dead type),
 * as do its ways out when memory runs out.
 *
 * Holes are stored as 32-bit cell indices in the pool's range (4 bytes per
 * killed cell instead of 8: the array passes through the caches too); a
 * pool of more than 2^32 cells (128 GB) takes the ordinary path.
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
static inline rav_cell *hole_at(uint32_t i)
{
	return (rav_cell *)(rav__pool.base + (size_t)i * RAV_CELL_SIZE);
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

/* Holes [from, to) of the array typed dead. */
static void holes_type_dead(rav_heap *h, size_t from, size_t to)
{
	for (size_t k = from; k < to; k++)
		hole_at(h->holes[k])->w[0] = RAV_TYPE_DEAD;
}

/* Step 3 to the end for rav__kill_whole, as cascade_all_t without recording or
 * runs: sp children wait on the stack, nx (if not NULL) is visited next.
 * Each cell that dies is appended to h->holes after the nh already there
 * (on the hole list if the array cannot grow), untouched unless *typed
 * (then, or from where it becomes so, typed dead: see above).  Returns the
 * holes in the array. */
static size_t kill_collect(rav_heap *h, size_t sp, rav_cell *nx, size_t nh, bool *typed)
{
	rav_pending *pend = h->pending;
	size_t cap = h->pending_cap;
	/* the next hole's place and the array's end, in registers */
	uint32_t *hp = h->holes + nh, *hend = h->holes + h->holes_cap;
	bool dead_typed = *typed;
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
			if (!dead_typed) {
				holes_type_dead(h, 0, (size_t)(hp - h->holes));
				dead_typed = true;
			}
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
					if (!dead_typed) {
						/* (out of memory, the child may take the
						 * queue path: dead cells typed so) */
						holes_type_dead(h, 0, (size_t)(hp - h->holes));
						d->w[0] = RAV_TYPE_DEAD;
						dead_typed = true;
					}
					sp += rav__cascade_push_slow(h, d, 1, sp);
					pend = h->pending;
					cap = h->pending_cap;
				}
			}
		} else if (mask == 1) {
			nx = (rav_cell *)d->w[1];
		}
		if (nx) {
			intptr_t stride = (char *)nx - (char *)d;
			if (stride > -512 && stride < 512)
				rav_prefetch((char *)nx + 8 * stride);
		}
		if (RAV_UNLIKELY(hp == hend)) {
			size_t k = (size_t)(hp - h->holes);
			if (!holes_room(h, k)) {
				/* out of memory: this hole joins the list (fill_holes
				 * hands every hole to the ordinary compaction then) */
				if (!dead_typed) {
					holes_type_dead(h, 0, k);
					dead_typed = true;
				}
				make_dead(h, d);
				continue;
			}
			hp = h->holes + k;
			hend = h->holes + h->holes_cap;
		}
		if (dead_typed)
			d->w[0] = RAV_TYPE_DEAD;
		*hp++ = hole_ix(d);
	}
	size_t n = (size_t)(hp - h->holes), done = n - nh;
	h->st.live_cells -= done;
	h->st.frees += done;
	h->cascading = false;
	*typed = dead_typed;
	return n;
}

/* How many of the holes, from holes[0] on, lie above the boundary in the
 * order of the walk down from the top (each page from its top cell down,
 * pages from the top page down to b.page): one step per hole and per page,
 * no cell read. */
static size_t walk_prefix(const rav_heap *h, boundary b, const uint32_t *holes, size_t nh)
{
	rav_cell *page = h->top_page, *t = &page[h->top - 1];
	size_t j = 0;
	for (;;) {
		rav_cell *const end = &page[page == b.page ? b.index : 1];
		for (; j < nh; j++) {
			rav_cell *x = hole_at(holes[j]);
			if (page_of(x) != page)
				break;
			if (x > t || x < end)
				return j;
			t = x - 1;
		}
		if (j == nh || page == b.page)
			return j;
		page = (rav_cell *)page->w[PH_PREV];
		t = &page[CELLS - 1];
	}
}

/* Whether the holes from holes[from] on all lie below the boundary. */
static bool all_below(boundary b, const uint32_t *holes, size_t from, size_t nh)
{
	for (size_t k = from; k < nh; k++)
		if (doomed(b, hole_at(holes[k])))
			return false;
	return true;
}

/* The holes above the boundary first, holes[0..nd), in the walk's order
 * (*ordered) when they die along the walk or against it (the array as it
 * is, or reversed): then nd is returned and the rest lie below.  If not,
 * nothing is known (*ordered false, 0 returned). */
static size_t holes_order(rav_heap *h, boundary b, size_t nh, bool *ordered)
{
	uint32_t *holes = h->holes;
	size_t nd = walk_prefix(h, b, holes, nh);
	if (!all_below(b, holes, nd, nh)) {
		for (size_t i = 0, j = nh; i + 1 < j; i++, j--) {
			uint32_t x = holes[i];
			holes[i] = holes[j - 1];
			holes[j - 1] = x;
		}
		nd = walk_prefix(h, b, holes, nh);
		if (!all_below(b, holes, nd, nh)) {
			*ordered = false;
			return 0;
		}
	}
	*ordered = true;
	return nd;
}

/* The move of a survivor t above the boundary into hole d, as
 * move_words_t untraced (the counters are the caller's): the hole need not
 * be typed dead.  Returns the fix-ups made. */
static inline __attribute__((always_inline)) unsigned fill_move(rav_heap *h, rav_cell *t, rav_cell *d)
{
	rav_type type = cell_type(t);
	rav_assert(t != d && !cell_gone(t));
	rav_assert(type != RAV_TYPE_DEAD && type != RAV_TYPE_EMPTY && type != RAV_TYPE_HEADER && type != RAV_TYPE_ROOT);
	if (RAV_UNLIKELY(t == h->pinned))
		h->pinned = d;
	move_words_only(t, d, false); /* (t's page: rav__truncate_to) */
	unsigned fixups = 0;
	/* The slot(s) naming t now name d. */
	if (RAV_UNLIKELY(type == RAV_TYPE_REF)) {
		/* (never inside t: a reference raviolo is not its own referrer) */
		*(uintptr_t *)d->w[RAV_W_BACK1] = (uintptr_t)d;
		*(uintptr_t *)d->w[RAV_W_BACK2] = (uintptr_t)d;
		fixups = 2;
	} else if (d->w[RAV_W_BACK]) {
		uintptr_t *s = (uintptr_t *)d->w[RAV_W_BACK];
		if (cell_of(s) == t) /* a cell referring to itself: the slot moved with it */
			s = (uintptr_t *)((char *)s - (char *)t + (char *)d);
		*s = (uintptr_t)d;
		fixups = 1;
	}
	/* Children's back-links named t's fields; now d's. */
	unsigned mask = type_refmask(type);
	for (int f = 0; f < 2; f++) {
		if (!(mask & (1u << f)) || !d->w[1 + f])
			continue;
		rav_cell *c = (rav_cell *)d->w[1 + f];
		if (c == t)
			c = d;
		*backlink_slot_of(c, &t->w[1 + f]) = (uintptr_t)&d->w[1 + f];
		fixups++;
	}
	return fixups;
}

/* Steps 6-8 for rav__kill_whole: the nh holes of h->holes (and those on the
 * hole list: spliced reference ravioli) are filled from the top in one
 * walk, as sweep_t does with the list: each survivor above the boundary
 * moves into a hole below it (the newest first), and the holes above it
 * are trimmed with the rest.  The holes to write are known in advance: the
 * one a few moves ahead is prefetched (for writing), so the misses of the
 * holes overlap with each other and with the walk's.  `typed`: every hole
 * is typed dead already. */
static void fill_holes(rav_heap *h, size_t nh, bool typed)
{
	if (h->dead) {
		/* holes on the list (typed dead) join the array */
		size_t nl = h->st.dead_cells;
		if (!holes_room(h, nh + nl - 1)) {
			/* out of memory: the ordinary compaction takes them all */
			for (size_t k = 0; k < nh; k++)
				dead_push(h, hole_at(h->holes[k]));
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
	bool ordered;
	const size_t nd = holes_order(h, b, nh, &ordered);
	if (!typed && (RAV_VALGRIND || !ordered))
		holes_type_dead(h, 0, nh); /* the walk reads each cell's type (memcheck: rav__truncate_to) */
	const uint32_t *holes = h->holes;
	char *const base = rav__pool.base; /* (hole_at, once: the moves' stores may alias it) */
#define HOLE(i) ((rav_cell *)(base + (size_t)(i) * RAV_CELL_SIZE))
	size_t m = nh; /* holes[nd..m) are below the boundary (all, unordered), taken from the end */
	size_t moves = 0, fixups = 0;
	rav_cell *page = h->top_page;
	rav_cell *t = &page[h->top - 1];
	for (size_t k = m - nd < AHEAD ? m - nd : AHEAD; k > 0; k--)
		rav_prefetch(HOLE(holes[m - k]));
	size_t j = 0; /* ordered: holes[j] is the next above the boundary */
	rav_cell *next = nd ? HOLE(holes[0]) : NULL;
	/* (no hole left to fill: nothing above the boundary lives) */
	while (m > nd) {
		rav_cell *const end = &page[page == b.page ? b.index : 1];
		for (; t >= end; t--) {
			if (t >= end + 2 * AHEAD)
				rav_prefetch(t - 2 * AHEAD);
			if (t == next) {
				next = ++j < nd ? HOLE(holes[j]) : NULL;
				continue;
			}
			if (!ordered && cell_type(t) == RAV_TYPE_DEAD)
				continue;
			rav_cell *d;
			do {
				rav_assert(m > nd);
				d = HOLE(holes[--m]);
			} while (!ordered && doomed(b, d)); /* (unordered: passed over) */
			if (m >= nd + AHEAD)
				rav_prefetch(HOLE(holes[m - AHEAD]));
			rav_assert(ordered ? !doomed(b, d) : cell_type(d) == RAV_TYPE_DEAD);
			fixups += fill_move(h, t, d);
			moves++;
		}
		if (page == b.page)
			break;
		page = (rav_cell *)page->w[PH_PREV];
		t = &page[CELLS - 1];
	}
#undef HOLE
	rav_assert(!ordered || m == nd); /* (unordered: those left lie above the boundary) */
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
	bool typed = false;
	if (!finished) {
		size_t before = h->st.frees;
		nh = kill_collect(h, sp, nx, nh, &typed);
		killed = (size_t)(h->st.frees - before);
	}
	fill_holes(h, nh, typed);
	return killed;
}
