/* free.c - the life of a free: dropping a reference, the kill cascade,
 * compaction (trims and moves) and the release of emptied pages.
 *
 * Invariants (checked in full by rav_heap_check, cheaply by rav_assert):
 *  1. No gaps: the live cells of a thread heap fill its data pages in list
 *     order up to the top, except dead cells (holes) queued on h->dead,
 *     which exist only inside an API call in immediate mode, and between
 *     rav_compact steps in deferred mode.
 *  2. Every reference is known in both directions: a normal raviolo's
 *     back-link names the one slot that refers to it; with several referrers
 *     the slot refers to a reference raviolo whose two back-links name its
 *     two referring slots and whose forward link leads on towards the target.
 *     A reference raviolo's scalar counts the leaf slots above it, so a new
 *     referrer is inserted on the lighter side: the tree stays balanced and a
 *     dereference costs O(log k) hops for k referrers.
 *  3. Moving a cell touches O(1) words: the slot(s) naming it and the
 *     back-links of its children.
 *  4. Nothing moves while a cell is dying (its back-link word is a queue
 *     link, so a move could not fix it), and cells above the top are empty.
 *
 * The life of a free, in order.  Every way of letting go of a reference
 * (rav_root_clear, rav_clear_ref, an overwrite by rav_store_ref /
 * rav_root_set / rav_new_*, the value rav_move drops, rav_vec_pop, ...)
 * takes the same path, one name per step.  A cell goes live -> dying ->
 * dead -> empty:
 *
 *   1. rav__drop(slot)         The slot lets go of its target.  A reference
 *                              raviolo in between is spliced out (its other
 *                              referrer takes its target) and made dead at
 *                              once; a normal raviolo left with no referrer
 *   2. rav__queue_dying(c)     becomes dying: RAV_FLAG_DYING, pushed on
 *                              h->dying through its back-link word, fields
 *                              intact so its children stay consistent.
 *                              Immediate mode (and message heaps) run the
 *                              cascade now; deferred mode leaves it to
 *                              rav_compact, so dropping a huge structure is
 *                              O(1) in the dropping call.  (A cell without
 *                              children skips the queue: its cascade is
 *                              step 4 alone, O(1) in either mode.)
 *   3. rav__cascade(budget)    Takes dying cells one at a time and drops
 *                              their reference fields: a child held only
 *                              there is queued in turn (without clearing
 *                              words that are about to die), a shared child
 *                              loses one referrer.  Then
 *   4. rav__make_dead(c)       the cell becomes a dead hole on h->dead
 *                              (RAV_EV_FREE).  Frees never recurse.
 *   5. rav__settle(h)          At the end of the API call, immediate mode
 *                              compacts (RAV_COMPACT_FREE):
 *   6. rav__compact(budget, reason)  until no hole is left, from the top
 *                              down.  Dead cells at the top are trimmed
 *                              (RAV_EV_TRIM each); runs of them the cascade
 *                              killed at adjacent addresses leave the hole
 *                              list as one segment, unread, and a page such a
 *                              run empties is left dirty, zeroed when used
 *                              again (trim_run): freeing the structure
 *                              allocated last truncates the heap, moves
 *                              nothing and reads its cells once.  A live
 *                              top cell
 *   7. rav__move(top, hole)    moves into the most recent hole: 4 words
 *                              copied, the slot(s) naming it and its
 *                              children's back-links fixed (RAV_EV_FIXUP).
 *                              Runs of moves are batched so their cache
 *                              misses overlap: the cells a few moves ahead
 *                              are prefetched (bounded steps: and their
 *                              neighbours).
 *                              A whole compaction (no budget) does 6-8 in
 *                              one pass over the cells above where the
 *                              top will end (sweep): holes above it are
 *                              never unlinked one by one, and the pages it
 *                              empties are marked dirty at once.  Bounded
 *                              steps (deferred mode) go cell by cell.
 *   8. rav__shrink(h)          Each trim or move takes the top down one cell;
 *                              when the top page empties the top goes to the
 *                              page before, and
 *   9. release_empty_pages(h)  every empty page past one spare goes back to
 *                              the pool (hysteresis: a heap hovering at a
 *                              page boundary does not hammer the pool).
 *
 * Shortcuts:
 *  - a structure allocated last and let go of whole at the end of a call
 *    (rav_root_clear, rav_root_free, a slot set to null; rav_compact and
 *    any cascade run by itself) is read once by the top cascade and the
 *    heap truncated below it: steps 4-8 are skipped, nothing is written
 *    into its cells (cascade_top; recording off only);
 *  - a structure let go of whole that way but lying among survivors (a
 *    list whose cells alternate with another's) kills into an array
 *    instead of the hole list, then fills the holes from the top in one
 *    walk that knows every hole's address in advance (kill_whole: steps
 *    3-8 with no list or run words written; recording off only);
 *  - rav_msg_adopt hands the pages of a subtree that is exactly the heap's
 *    top cells to the message (msg.c, rav__top_region_mark);
 *  - rav_move dropping a cell without children (a list pop) in an
 *    immediate-mode heap without holes moves the top cell straight into it
 *    (free_alone_t in heap-inline.h; untraced, the list pop's one-pass
 *    copy pop_fast in access.c): its hole never joins the hole list, the
 *    events are those of steps 4-8;
 *  - in deferred mode rav_new_before fills the newest hole inline
 *    (alloc_hole_t): a pop and a push then move nothing.
 *
 * The pin: rav_new_root and rav_new_field return the new cell after
 * compacting; h->pinned holds it across the compaction and rav__move keeps
 * it up to date.  No other cell address survives a compaction.
 *
 * Files: this one has the steps above; the steps that run in every API
 * call are inline functions in heap-inline.h; allocation and the hole list's
 * out-of-line functions are heap.c; the public entry points that use them
 * (roots, fields, rav_move, ...) and the reference trees (attach, transfer)
 * are access.c; heap lifetime, page lists, roots and the debug checks are
 * roots.c.  This file is over 800 lines on purpose: the steps of a free
 * are kept in one file, in the order above (issue #10), so the life of a
 * free reads top to bottom here.
 */
#include <stdlib.h>
#include <string.h>

#include "heap-inline.h"

/* ---- steps 1-4: drop, queue, cascade, make dead ---- */

static size_t cascade_whole(rav_heap *h, rav_cell *first, bool top, bool fill);

/* Step 4. */
void rav__make_dead(rav_heap *h, rav_cell *c)
{
	make_dead(h, c);
}

void rav__queue_dying_slow(rav_heap *h, rav_cell *c, bool now)
{
	c->w[0] |= RAV_FLAG_DYING;
	c->w[RAV_W_BACK] = (uintptr_t)h->dying;
	h->dying = c;
	h->st.dying_cells++;
	h->gen++;
	if (now)
		cascade_whole(h, NULL, false, false); /* (the calling API call goes on: see cascade_top) */
}

void rav__queue_dying(rav_heap *h, rav_cell *c)
{
	queue_dying(h, c);
}

/* Splice reference raviolo p out of its tree: `slot`, one of its two
 * referrers, no longer refers to it; the other one takes p's target. */
void rav__splice_out(rav_heap *h, rav_cell *p, uintptr_t *slot)
{
	rav_assert(cell_type(p) == RAV_TYPE_REF &&
		   (p->w[RAV_W_BACK1] == (uintptr_t)slot || p->w[RAV_W_BACK2] == (uintptr_t)slot));
	uintptr_t *other = (uintptr_t *)(p->w[RAV_W_BACK1] == (uintptr_t)slot ? p->w[RAV_W_BACK2] : p->w[RAV_W_BACK1]);
	rav_cell *q = (rav_cell *)p->w[RAV_W_FWD];
	WRITE_WORD(RAV_EV_LINK, other, q);
	WRITE_WORD(RAV_EV_LINK, backlink_slot_of(q, &p->w[RAV_W_FWD]), other);
	for (rav_cell *r = q; cell_type(r) == RAV_TYPE_REF; r = (rav_cell *)r->w[RAV_W_FWD])
		set_scalar_rec(r, cell_scalar(r) - 1);
	make_dead(h, p);
}

/* Step 1.  With `cascade` false (the collector), a normal target left
 * without referrer is not queued: the collector frees it in its sweep. */
static inline void drop(rav_heap *h, uintptr_t *slot, unsigned evkind, bool cascade)
{
	rav_cell *p = (rav_cell *)*slot;
	if (!p)
		return;
	if (cell_type(p) != RAV_TYPE_REF) {
		rav_assert(p->w[RAV_W_BACK] == (uintptr_t)slot);
#if RAV_TRACING
		uint32_t next;
		rav_raw_event *e;
		if (rav__tracing && RAV_LIKELY((e = rav__compound_room(1, &next)) != NULL)) {
			/* the clear and the back-link as one RAV_RAW_DETACH record */
			rav__compound_put(e, RAV_RAW_DETACH | evkind << 8, (uintptr_t)slot, (uintptr_t)p, 0);
			rav__compound_done(next);
			*slot = 0;
			p->w[RAV_W_BACK] = 0;
		} else
#endif
		{
			REC(evkind, 0, 0, slot, p, 0);
			*slot = 0;
			WRITE_WORD(RAV_EV_LINK, &p->w[RAV_W_BACK], 0);
		}
		if (cascade)
			queue_dying(h, p);
		return;
	}
	REC(RAV_EV_REFRAV_REMOVE, 0, 0, p, 0, 0);
	REC(evkind, 0, 0, slot, p, 0);
	*slot = 0;
	rav__splice_out(h, p, slot);
}

void rav__drop(rav_heap *h, uintptr_t *slot, unsigned evkind)
{
	drop(h, slot, evkind, true);
}

void rav__drop_no_cascade(rav_heap *h, uintptr_t *slot)
{
	drop(h, slot, RAV_EV_REF_CLEAR, false);
}

/* Step 3 in bounded steps (deferred mode): children wait on the dying
 * queue, flagged, so they stay consistent between steps.  A child's type
 * must be read when its parent dies (a reference raviolo is spliced out
 * then, a normal child is queued). */
static size_t cascade_queue(rav_heap *h, size_t budget)
{
	size_t done = 0;
	h->cascading = true;
	while (h->dying && done < budget) {
		rav_cell *d = h->dying;
		rav_assert(d->w[0] & RAV_FLAG_DYING);
		h->dying = (rav_cell *)d->w[RAV_W_BACK];
		h->st.dying_cells--;
		done++;
		unsigned mask = type_refmask(cell_type(d));
		/* Field 1 is queued first so field 0 is visited first: structures
		 * built depth-first are then torn down in address order, and the
		 * hole list comes out in the order compaction trims it. */
		for (int f = 1; f >= 0; f--) {
			rav_cell *c = (rav_cell *)d->w[1 + f];
			if (!(mask & (1u << f)) || !c)
				continue;
			if (cell_type(c) == RAV_TYPE_REF) {
				rav__drop(h, &d->w[1 + f], RAV_EV_REF_CLEAR);
			} else {
				rav_assert(c->w[RAV_W_BACK] == (uintptr_t)&d->w[1 + f] && !cell_gone(c));
				c->w[0] |= RAV_FLAG_DYING;
				c->w[RAV_W_BACK] = (uintptr_t)h->dying;
				h->dying = c;
				h->st.dying_cells++;
			}
		}
		make_dead(h, d);
	}
	h->cascading = false;
	return done;
}

/* Room for one more pending child; false if the stack cannot grow. */
static bool pending_room(rav_heap *h, size_t sp)
{
	if (sp < h->pending_cap)
		return true;
	size_t cap = h->pending_cap ? h->pending_cap * 2 : 256;
	rav_pending *grown = realloc(h->pending, cap * sizeof *grown);
	if (!grown)
		return false;
	h->pending = grown;
	h->pending_cap = cap;
	return true;
}

/* Reference raviolo p lost a referrer: a field of a cell that is dead now
 * (its words are hole-list links: not written).  Which one is told by the
 * cells of its two back-links: a dead one is the referrer lost (with one
 * referrer dead, p is popped once before the other can die, since a cell
 * dying later reads its fields then; with both dead, p dies at its first
 * pop and its second pop finds it dead).  If p's other referrer lives on,
 * it takes p's target; if it died too, p's target loses p as its referrer
 * in turn (pushed, handled when popped). */
static void pending_ref_lost(rav_heap *h, rav_cell *p, size_t *sp)
{
	uintptr_t *b1 = (uintptr_t *)p->w[RAV_W_BACK1], *b2 = (uintptr_t *)p->w[RAV_W_BACK2];
	bool dead1 = cell_type(cell_of(b1)) == RAV_TYPE_DEAD, dead2 = cell_type(cell_of(b2)) == RAV_TYPE_DEAD;
	rav_assert(dead1 || dead2);
	rav_cell *q = (rav_cell *)p->w[RAV_W_FWD];
	REC(RAV_EV_REFRAV_REMOVE, 0, 0, p, 0, 0);
	if (!dead1 || !dead2) {
		rav__splice_out(h, p, dead1 ? b1 : b2);
		return;
	}
	/* Both referrers died: one leaf less below p now, the other when q
	 * is popped (spliced out if it is a reference raviolo, dead if not). */
	for (rav_cell *r = q; cell_type(r) == RAV_TYPE_REF; r = (rav_cell *)r->w[RAV_W_FWD])
		set_scalar_rec(r, cell_scalar(r) - 1);
	make_dead(h, p);
	if (pending_room(h, *sp)) {
		h->pending[(*sp)++] = (rav_pending){ q };
	} else if (cell_type(q) == RAV_TYPE_REF) {
		/* out of memory for the stack: p, dead now, is the referrer q
		 * lost (recursion bounded by the tree's depth) */
		pending_ref_lost(h, q, sp);
	} else {
		q->w[0] |= RAV_FLAG_DYING;
		q->w[RAV_W_BACK] = (uintptr_t)h->dying;
		h->dying = q;
		h->st.dying_cells++;
	}
}

/* Step 3 to the end (immediate mode, or a whole rav_compact).  Children
 * wait on a stack of (cell, the parent's field that held it), unread until
 * their turn: reading each child's type as its parent dies would load the
 * right subtree of every node long before the sweep reaches it (a cache
 * miss per node on large trees).  Popped in depth-first order, cells of a
 * structure built depth-first are visited in address order.  If the stack
 * cannot grow, a child takes the queue path instead. */
/* One child of d, field f, waits for its turn at h->pending[sp] (true);
 * if the stack cannot grow it takes the queue path at once (false). */
static bool cascade_push_slow(rav_heap *h, rav_cell *d, int f, size_t sp)
{
	rav_cell *c = (rav_cell *)d->w[1 + f];
	if (pending_room(h, sp)) {
		h->pending[sp] = (rav_pending){ c };
		return true;
	}
	if (cell_type(c) == RAV_TYPE_REF) {
		rav__drop(h, &d->w[1 + f], RAV_EV_REF_CLEAR);
	} else {
		c->w[0] |= RAV_FLAG_DYING;
		c->w[RAV_W_BACK] = (uintptr_t)h->dying;
		h->dying = c;
		h->st.dying_cells++;
	}
	return false;
}

/* Room for one more recorded run (at most RUNS_MAX: a structure of more
 * than RUNS_MAX pages has its lowest pages trimmed cell by cell). */
enum { RUNS_MAX = 1 << 16 };

static bool runs_grow(rav_heap *h)
{
	if (h->runs_cap >= RUNS_MAX)
		return false;
	unsigned cap = h->runs_cap ? h->runs_cap * 2 : 64;
	rav_dead_run *grown = realloc(h->runs, cap * sizeof *grown);
	if (!grown)
		return false;
	h->runs = grown;
	h->runs_cap = cap;
	return true;
}

static inline bool runs_room(rav_heap *h)
{
	return h->nruns < h->runs_cap || runs_grow(h);
}

/* tr: recording is on (a constant in each of the two copies, see
 * rav__cascade). */
static inline __attribute__((always_inline)) size_t cascade_all_t(rav_heap *h, const bool tr, size_t sp0,
								  rav_cell *nx0)
{
	/* sp0 children already wait on the stack and nx0 (if not NULL) is the
	 * one visited next: the top cascade handed over (cascade_top). */
	size_t sp = sp0, done = 0;
	/* The run the last dead cell joined (runs: heap.c, trim_run): open
	 * while no hole joined the list from elsewhere since. */
	const bool record_runs = h->kind == RAV_HEAP_THREAD;
	/* The open run in locals (written to h->runs when it closes): the
	 * cell that extends it (NULL: none open), its direction, index and
	 * first cell (its length is the distance from there to run_next).
	 * prev_dead: the cell that died last, if no other hole joined the
	 * list since. */
	rav_cell *run_next = NULL, *run_first = NULL, *prev_dead = NULL;
	intptr_t run_dir = 0;
	uintptr_t run_idx = 0;
#define RUN_CLOSE()                                                                                      \
	do {                                                                                             \
		if (run_next) {                                                                          \
			h->runs[run_idx] = (rav_dead_run){ run_first, run_next - run_dir,                \
							   (unsigned)((run_next - run_first) * run_dir) };     \
			run_next = NULL;                                                                 \
		}                                                                                        \
	} while (0)
	/* The loop keeps the hole list's head and its counters in locals;
	 * they are written back around the rare calls that use the heap's. */
	rav_cell *dead = h->dead;
	/* Cells killed by the loop since the counters were last written
	 * back: done - synced (every cell the loop takes dies there). */
	size_t synced = 0;
	/* In locals too: the compiler must otherwise reload them after every
	 * store into a cell (size_t and uintptr_t may alias). */
	rav_pending *pend = h->pending;
	size_t cap = h->pending_cap;
#define SYNC_OUT()                                                                                       \
	do {                                                                                             \
		RUN_CLOSE();                                                                             \
		prev_dead = NULL;                                                                        \
		if (dead)                                                                                \
			dead->w[2] = 0; /* the head's prev link, left unwritten by the loop */           \
		h->dead = dead;                                                                          \
		h->st.live_cells -= done - synced;                                                       \
		h->st.frees += done - synced;                                                            \
		h->st.dead_cells += done - synced;                                                       \
		synced = done;                                                                           \
	} while (0)
#define SYNC_IN() (dead = h->dead, pend = h->pending, cap = h->pending_cap)
	/* The child visited next, held in registers: a cell's last child in
	 * visiting order is never pushed, so a list is torn down without the
	 * stack and a tree with half the pushes (the order is the stack's). */
	rav_pending nx = { nx0 };
	h->cascading = true;
	h->gen++;
	for (;;) {
		rav_cell *d;
		if (nx.cell || sp) {
			rav_pending e;
			if (nx.cell) {
				e = nx;
				nx.cell = NULL;
			} else {
				e = pend[--sp];
			}
			d = e.cell;
			rav_type t = cell_type(d);
			/* (a child is never empty, a header or a root cell) */
			if (RAV_UNLIKELY(t <= RAV_TYPE_DEAD)) {
				if (t == RAV_TYPE_DEAD)
					continue; /* a reference raviolo whose two referrers both died */
				rav_assert(t == RAV_TYPE_REF);
				SYNC_OUT();
				size_t sp_out = sp; /* (sp's address never escapes: it stays in a register) */
				pending_ref_lost(h, d, &sp_out);
				sp = sp_out;
				SYNC_IN();
				continue;
			}
			/* (its referrer, the field that held it, is in a dead cell) */
			rav_assert(d->w[RAV_W_BACK] && cell_type(cell_of((uintptr_t *)d->w[RAV_W_BACK])) == RAV_TYPE_DEAD &&
				   !cell_gone(d));
		} else if (h->dying) {
			d = h->dying;
			rav_assert(d->w[0] & RAV_FLAG_DYING);
			h->dying = (rav_cell *)d->w[RAV_W_BACK];
			h->st.dying_cells--;
		} else {
			break;
		}
		uintptr_t mask = type_refmask(cell_type(d));
		/* (fields that are not references read as NULL, without a branch) */
		rav_cell *c1 = (rav_cell *)(d->w[2] & -(mask >> 1 & 1)), *c0 = (rav_cell *)(d->w[1] & -(mask & 1));
		/* Field 0 first, field 1 on the stack (address order for
		 * structures built depth-first).  The sweep goes on from a child
		 * in the direction parent -> child (up for structures built
		 * depth-first, down for lists pushed at their head): a few lines
		 * ahead are loaded early. */
		if (c1) {
			nx = (rav_pending){ c1 };
			if (c0) {
				/* both: field 1 waits on the stack, field 0 is next */
				if (RAV_LIKELY(sp < cap)) {
					pend[sp++] = nx;
				} else {
					SYNC_OUT();
					sp += cascade_push_slow(h, d, 1, sp);
					SYNC_IN();
				}
				nx.cell = NULL;
			}
		}
		if (c0)
			nx = (rav_pending){ c0 };
		if (nx.cell) {
			intptr_t stride = (char *)nx.cell - (char *)d;
			if (stride > -512 && stride < 512)
				rav_prefetch((char *)nx.cell + 8 * stride);
		}
		/* Step 4 (make_dead), with the counters in locals. */
		rav_assert(cell_type(d) != RAV_TYPE_DEAD && cell_type(d) != RAV_TYPE_REF);
		RECT(tr, RAV_EV_FREE, cell_type(d), 0, d, 0, 0);
		RAV_WATCH_TEST(tr, d->w[0], RAV_EV_FREE | ((uint32_t)cell_type(d) << 8), d, d, 0, 0);
		d->w[0] = RAV_TYPE_DEAD;
		d->w[1] = (uintptr_t)dead;
		/* (d->w[2], its prev link, is written once: by the next cell to
		 * die here, or by SYNC_OUT if d is the head then) */
		/* Its run: d extends the open run if it is next to the run's
		 * last cell, in the run's direction; it starts one with the cell
		 * that died before it if that one is its neighbour and in no run
		 * (adjacent cells are on one page: a page's cell 0 is its header).
		 * A lone hole is in no run. */
		if (d == run_next) {
			run_next += run_dir;
			d->w[3] = run_idx;
		} else {
			uintptr_t step = (uintptr_t)d - (uintptr_t)prev_dead;
			/* step is +-RAV_CELL_SIZE (one test; with no prev_dead, step
			 * is d's address, never that small) */
			if (((step + RAV_CELL_SIZE) & ~(uintptr_t)(2 * RAV_CELL_SIZE)) == 0 && !run_next && record_runs &&
			    runs_room(h)) {
				rav_assert(prev_dead);
				run_idx = h->nruns++;
				run_first = prev_dead;
				run_dir = step == RAV_CELL_SIZE ? 1 : -1;
				run_next = d + run_dir;
				prev_dead->w[3] = d->w[3] = run_idx;
			} else {
				RUN_CLOSE();
				d->w[3] = 0;
			}
		}
		prev_dead = d;
		if (dead)
			dead->w[2] = (uintptr_t)d;
		else
			h->dead_tail = d;
		dead = d;
		done++;
	}
	SYNC_OUT();
#undef SYNC_OUT
#undef SYNC_IN
#undef RUN_CLOSE
	h->cascading = false;
	return done;
}

/* ---- step 3 for a structure allocated last: the top cascade ----
 *
 * A tree or list allocated last and let go of whole (a request, a message,
 * a temporary) lies in the heap's top cells.  Its cells need not become
 * holes that compaction then trims: the cascade only reads each one (its
 * children), and if the cells it killed are exactly the heap's top n cells,
 * the heap is truncated below them (truncate_to: the pages they filled
 * become empty and dirty, zeroed when used again).  Nothing is written into
 * a dying cell.
 *
 * Knowing that the killed cells are the top region without a mark per cell:
 * they are kept one block of consecutive cells in heap order, [lo, hi] (a
 * page's last cell is followed by the next page's first), and every cell
 * killed must extend the block at one end.  The cascade visits first the
 * child that extends it, so a structure built depth-first in either
 * direction (parent first, field 0 or 1 first, or children first, as
 * bottom-up builders do) and a list pushed at its head or appended at its
 * tail are torn down as one block; at the end, hi is the heap's top cell or
 * it is not.
 *
 * When a cell does not extend the block (the structure is not contiguous),
 * a child is a reference raviolo (a survivor is shared from inside it: its
 * splice needs dead cells marked as such), or the block ends below the top
 * (cells allocated after the structure survive), the block is made holes
 * as the ordinary cascade would have made them (one recorded run per page,
 * cascade_top_holes) and the ordinary cascade goes on from there with the
 * children still waiting.  Bulk frees among survivors give up at their
 * second cell.
 *
 * Only while not recording (the trace has a FREE and a TRIM per cell, and
 * the order of the ordinary path), and only where the caller lets go of
 * the structure last in its call (rav__drop_whole, or a cascade that
 * runs by itself): a call that still looks at a cell the drop may kill (a
 * store into a field of a cell that may die with the old value) takes
 * rav__drop. */

static void truncate_to(rav_heap *h, rav_top_region b, bool trimmed);

/* d extends the block of killed cells [lo, hi] across a page boundary
 * (cold: once per page): 1 at its top end, -1 at its bottom end, 0 not. */
static __attribute__((noinline)) int top_block_extends_page(const rav_cell *lo, const rav_cell *hi, const rav_cell *d)
{
	if (slot_in_page(hi) == CELLS - 1) {
		const rav_cell *next = (const rav_cell *)page_of(hi)->w[PH_NEXT];
		if (next && d == next + 1)
			return 1;
	}
	if (slot_in_page(lo) == 1) {
		const rav_cell *prev = (const rav_cell *)page_of(lo)->w[PH_PREV];
		if (prev && d == prev + (CELLS - 1))
			return -1;
	}
	return 0;
}

/* The cells of the block [lo, hi] (the loop does not count them: a walk
 * over its pages at the end costs less). */
static size_t top_block_cells(const rav_cell *lo, const rav_cell *hi)
{
	const rav_cell *p = page_of(lo), *last = page_of(hi);
	if (p == last)
		return (size_t)(hi - lo) + 1;
	size_t n = CELLS - slot_in_page(lo) + slot_in_page(hi);
	for (p = (const rav_cell *)p->w[PH_NEXT]; p != last; p = (const rav_cell *)p->w[PH_NEXT])
		n += CELLS - 1;
	return n;
}

/* The killed block [lo, hi] (n cells, nothing written into them yet)
 * becomes holes, as the ordinary cascade makes them: pushed in address
 * order, one recorded run per page part (runs: trim_run, the sweep). */
static void cascade_top_holes(rav_heap *h, rav_cell *lo, rav_cell *hi, size_t n)
{
	rav_cell *dead = h->dead;
	for (rav_cell *a = lo;;) {
		rav_cell *page = page_of(a);
		rav_cell *b = page_of(hi) == page ? hi : page + (CELLS - 1);
		unsigned len = (unsigned)(b - a) + 1;
		uintptr_t tag = 0;
		if (len >= 2 && runs_room(h)) {
			tag = h->nruns++;
			h->runs[tag] = (rav_dead_run){ a, b, len };
		}
		for (rav_cell *c = a; c <= b; c++) {
			c->w[0] = RAV_TYPE_DEAD;
			c->w[1] = (uintptr_t)dead;
			c->w[2] = 0;
			c->w[3] = tag;
			if (dead)
				dead->w[2] = (uintptr_t)c;
			else
				h->dead_tail = c;
			dead = c;
		}
		if (b == hi)
			break;
		a = (rav_cell *)page->w[PH_NEXT] + 1;
	}
	h->dead = dead;
	h->st.live_cells -= n;
	h->st.frees += n;
	h->st.dead_cells += n;
}

/* The top cascade from `first` (a cell that lost its last referrer, not
 * queued; NULL: the dying queue's cells).  Returns the cells it killed;
 * *finished false: it handed over to the ordinary cascade, which must go
 * on with *sp children on the stack and *nx (if not NULL) next. */
static __attribute__((noinline)) size_t cascade_top(rav_heap *h, rav_cell *first, size_t *sp_out, rav_cell **nx_out, bool *finished)
{
	rav_pending *pend = h->pending;
	size_t cap = h->pending_cap, sp = 0, n;
	rav_cell *d = first;
	if (!d) {
		d = h->dying;
		rav_assert(d && (d->w[0] & RAV_FLAG_DYING));
		h->dying = (rav_cell *)d->w[RAV_W_BACK];
		h->st.dying_cells--;
	}
	rav_cell *lo = d, *hi = d, *next;
	bool queued = false; /* next was taken off the dying queue */
	h->cascading = true;
	h->gen++;
	const uint8_t *refmask = rav__refmask;
	for (;;) {
		/* d dies: it is in [lo, hi] already.  Its children: the one that
		 * extends the block is visited next (field 0 if neither does),
		 * the other waits on the stack. */
		rav_assert(cell_type(d) > RAV_TYPE_DEAD);
		unsigned mask = refmask[cell_type(d)];
		rav_cell *c0 = (rav_cell *)d->w[1], *c1 = (rav_cell *)d->w[2];
		if (RAV_UNLIKELY(mask != 3)) {
			/* (fields that are not references read as NULL) */
			if (!(mask & 1))
				c0 = NULL;
			if (!(mask & 2))
				c1 = NULL;
		}
		if (c0 == hi + 1) {
			/* The common case of a structure built parent first: field 0
			 * is the next cell up. */
			if (c1) {
				rav_assert(sp < cap);
				pend[sp++] = (rav_pending){ c1 };
			}
			if (RAV_LIKELY(cell_type(c0) > RAV_TYPE_DEAD && sp < cap)) {
				hi = d = c0;
				continue;
			}
			next = c0; /* (the general checks below) */
		} else if (c0) {
			next = c0;
			if (c1) {
				rav_assert(sp < cap); /* (room is made before a cell joins the block) */
				if (RAV_UNLIKELY(c0 != lo - 1 && (c1 == hi + 1 || c1 == lo - 1 ||
								   (!top_block_extends_page(lo, hi, c0) &&
								    top_block_extends_page(lo, hi, c1))))) {
					next = c1;
					c1 = c0;
				}
				pend[sp++] = (rav_pending){ c1 };
			}
		} else if (c1) {
			next = c1;
		} else if (sp) {
			next = pend[--sp].cell;
		} else if (h->dying) {
			next = h->dying;
			rav_assert(next->w[0] & RAV_FLAG_DYING);
			h->dying = (rav_cell *)next->w[RAV_W_BACK];
			h->st.dying_cells--;
			queued = true;
		} else {
			break;
		}
		/* A reference raviolo (a survivor shared from inside) or a cell
		 * out of the block: the ordinary cascade takes over. */
		if (RAV_UNLIKELY(cell_type(next) <= RAV_TYPE_DEAD))
			goto hand_over;
		if (RAV_UNLIKELY(sp == cap)) {
			/* room for next's push, made before it joins the block */
			if (!pending_room(h, sp))
				goto hand_over;
			pend = h->pending;
			cap = h->pending_cap;
		}
		/* next extends the block (never a page header: hi + 1 and lo - 1
		 * are on their page when next is one of them) */
		if (next == hi + 1) {
			hi = next;
		} else if (next == lo - 1) {
			lo = next;
		} else {
			int end = top_block_extends_page(lo, hi, next);
			if (end > 0)
				hi = next;
			else if (end < 0)
				lo = next;
			else
				goto hand_over;
		}
		d = next;
		queued = false;
	}
	h->cascading = false;
	*finished = true;
	*sp_out = 0;
	*nx_out = NULL;
	n = top_block_cells(lo, hi);
	if (hi == &h->top_page[h->top - 1]) {
		/* The killed cells are the heap's top n: truncate below them. */
		h->st.live_cells -= n;
		h->st.frees += n;
		truncate_to(h, (rav_top_region){ page_of(lo), slot_in_page(lo) }, false);
		return n;
	}
	/* Cells allocated after the structure survive: holes, compacted as usual. */
	cascade_top_holes(h, lo, hi, n);
	return n;
hand_over:
	/* (next, taken but not killed, is not in the block) */
	h->cascading = false;
	n = top_block_cells(lo, hi);
	cascade_top_holes(h, lo, hi, n);
	if (queued) {
		/* back on the dying queue (its back-link word still links it) */
		h->dying = next;
		h->st.dying_cells++;
		next = NULL;
	}
	*finished = false;
	*sp_out = sp;
	*nx_out = next;
	return n;
}

static size_t kill_whole(rav_heap *h, size_t sp, rav_cell *nx, bool finished);

/* The whole cascade, from `first` (see cascade_top) or the dying queue;
 * `top`: the caller lets the top cascade truncate the heap; `fill`: and
 * compaction follows at once (kill_whole: a structure among survivors is
 * killed into the hole array and compacted here). */
static size_t cascade_whole(rav_heap *h, rav_cell *first, bool top, bool fill)
{
	size_t sp = 0, done = 0;
	rav_cell *nx = NULL;
	if (top && !rav__tracing && h->kind == RAV_HEAP_THREAD && !h->tearing_down && !h->cascading &&
	    pending_room(h, 0)) {
		bool finished;
		done = cascade_top(h, first, &sp, &nx, &finished);
		if (fill && h->dead)
			return done + kill_whole(h, sp, finished ? NULL : nx, finished);
		if (finished)
			return done;
	} else if (first) {
		first->w[0] |= RAV_FLAG_DYING;
		first->w[RAV_W_BACK] = (uintptr_t)h->dying;
		h->dying = first;
		h->st.dying_cells++;
	}
	/* Two copies of the loop: without recording, no event code at all. */
	return done + (rav__tracing ? cascade_all_t(h, true, sp, nx) : cascade_all_t(h, false, sp, nx));
}

/* Step 3: run the cascade for at most `budget` cells (0: to the end). */
size_t rav__cascade(rav_heap *h, size_t budget)
{
	if (!h->dying)
		return 0;
	if (budget)
		return cascade_queue(h, budget);
	return cascade_whole(h, NULL, true, false);
}

/* Step 1 at the end of an API call (rav_root_clear, rav_root_free, a field
 * or root set to null): only compaction follows, so a structure allocated
 * last may be truncated away at once (the top cascade). */
void rav__drop_whole(rav_heap *h, uintptr_t *slot)
{
	rav_cell *p = (rav_cell *)*slot;
	if (p && !rav__tracing && h->mode == RAV_FREE_IMMEDIATE && h->kind == RAV_HEAP_THREAD && !h->cascading &&
	    !h->dying && cell_type(p) != RAV_TYPE_REF && has_children(p)) {
		rav_assert(p->w[RAV_W_BACK] == (uintptr_t)slot && !cell_gone(p));
		*slot = 0;
		p->w[RAV_W_BACK] = 0;
		cascade_whole(h, p, true, !h->dead);
		return;
	}
	drop(h, slot, RAV_EV_REF_CLEAR, true);
}

void rav__move(rav_heap *h, rav_cell *t, rav_cell *d)
{
	move_cell(h, t, d);
}

/* Step 9: keep at most one completely empty page after the top. */
static void release_empty_pages(rav_heap *h)
{
	rav_cell *p = (rav_cell *)h->top_page->w[PH_NEXT];
	if (!p)
		return;
	if (h->top > 1)
		p = (rav_cell *)p->w[PH_NEXT]; /* keep one spare after a non-empty top page */
	while (p) {
		rav_cell *next = (rav_cell *)p->w[PH_NEXT];
		rav_assert(page_fill(p) == 1);
		rav__page_unlink(h, p);
		rav__page_release(h, p);
		p = next;
	}
}

/* The top page has no cell left: the top goes to the page before. */
void rav__top_page_emptied(rav_heap *h)
{
	rav_cell *prev = (rav_cell *)h->top_page->w[PH_PREV];
	page_set_fill(h->top_page, 1);
	if (prev) {
		rav_assert(page_fill(prev) == CELLS);
		h->top_page = prev;
		h->top = CELLS;
	}
	release_empty_pages(h);
}

void rav__shrink(rav_heap *h)
{
	shrink(h);
}

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
		for (unsigned k = r.n; k-- > 0;)
			REC(RAV_EV_TRIM, 0, 0, &lo[k], 0, 0);
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
	h->top = i;
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

/* Where the top will be once every hole is gone: D cells below the top,
 * D the number of holes.  A hole at or above that boundary is never
 * filled: it is about to be trimmed, and moving a cell into it would only
 * move that cell again (a structure freed below a few cells allocated after
 * it would cost a move per freed cell).  Pages wholly above the boundary
 * carry PAGE_DOOMED in their header while the compaction runs. */
typedef rav_top_region boundary; /* (rav-private.h: PAGE_DOOMED, rav__in_top_region) */

/* A bounded compaction step (deferred mode) must not walk a million holes'
 * worth of pages: it marks at most max_pages (64 + 4 pages per page of
 * moves it may make).  Holes further down are then taken for below the
 * boundary; that can only cost a move that a later step repeats, never a
 * wrong heap. */
static boundary mark_top(rav_heap *h, uint64_t left, size_t max_pages)
{
	rav_cell *p = h->top_page;
	unsigned top = h->top;
	rav_cell *prev;
	size_t marked = 0;
	while (left >= top - 1 && (prev = (rav_cell *)p->w[PH_PREV]) != NULL) {
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
static void clear_boundary(rav_heap *h)
{
	for (rav_cell *p = h->top_page; p && (p->w[0] & PAGE_DOOMED); p = (rav_cell *)p->w[PH_PREV])
		p->w[0] &= ~PAGE_DOOMED;
}

static boundary mark_boundary(rav_heap *h, size_t max_pages)
{
	return mark_top(h, h->st.dead_cells, max_pages);
}

static inline bool doomed(boundary b, const rav_cell *c)
{
	return rav__in_top_region(b, c);
}

/* Step 6-7, moving: move live top cells into holes below the boundary
 * until a dead cell reaches the top, the holes run out or the budget is
 * spent.  A move's misses are the hole and the moved cell's neighbours
 * (the slot naming it, its children's back-links); the cell AHEAD moves
 * further down and the next hole are prefetched, so a batch waits for
 * several misses at once instead of one after the other. */
enum { AHEAD = 4 };

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

/* The top goes down to the boundary b (every cell above it is dead,
 * moved away or, with `trimmed` false, let go of whole by the caller):
 * the boundary page becomes the top page, its cells above the boundary
 * are zeroed, the pages above it become empty and dirty (zeroed when used
 * again), and those past one spare go back to the pool. */
static void truncate_to(rav_heap *h, rav_top_region b, bool trimmed)
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
	h->top_page = b.page;
	h->top = b.index;
	if (b.index == 1 && b.page->w[PH_PREV]) {
		/* the boundary page empties too: dirty, as the pages above */
		b.page->w[0] |= PAGE_DIRTY;
	} else {
		VG_OPEN(&b.page[b.index], (size_t)(bhi - b.index) * RAV_CELL_SIZE);
		memset(&b.page[b.index], 0, (size_t)(bhi - b.index) * RAV_CELL_SIZE);
		VG_CLOSE(&b.page[b.index], (size_t)(bhi - b.index) * RAV_CELL_SIZE);
	}
	for (rav_cell *p = emptied; p != b.page; p = (rav_cell *)p->w[PH_PREV]) {
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
	*r = mark_top(h, n, SIZE_MAX);
	return true;
}

void rav__top_region_unmark(rav_heap *h)
{
	clear_boundary(h);
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
					for (size_t k = 0; k < n; k++)
						RECT(tr, RAV_EV_TRIM, 0, 0, t - k, 0, 0);
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
			fixups += move_words_t(t, d, tr, false); /* (t's page: truncate_to) */
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
	truncate_to(h, b, true);
	return moves;
}

/* Two copies: without recording, no event code in the loop. */
static size_t sweep(rav_heap *h, boundary b)
{
	return rav__tracing ? sweep_t(h, b, true) : sweep_t(h, b, false);
}

/* ---- a whole kill among survivors: holes in an array, one fill ----
 *
 * A structure let go of whole at the end of a call (rav__drop_whole) that
 * is not the heap's top cells (a list whose cells alternate with a
 * survivor's, a tree built among other data) kills many cells, and only
 * compaction follows in the call.  Its holes need not form the hole list:
 * the cascade only marks each dying cell dead (its type word, in a line it
 * reads anyway) and appends its address to an array (kill_collect); the
 * fill then knows every hole's address in advance, so it prefetches the
 * holes it will write a few moves ahead instead of chasing list links, and
 * writes no list or run words at all (fill_holes).  The result is the
 * heap the hole list would give: holes are filled newest first, each by
 * the top cell, holes above where the top will end are never filled.
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

/* The array costs 8 bytes per killed cell (a quarter of the cells' own
 * size) while the call runs; it keeps its memory for the next kill up to
 * this many holes (512 KB), a larger one is given back after its kill.
 * Measured (cachegrind, 1M cells freed among 1M survivors): 28% fewer
 * instructions than the hole list, but its 8 MB also pass through the
 * caches (about 0.2 more D1 misses per freed cell, which the simulator
 * counts without the prefetches that hide the holes' own misses). */
enum { HOLES_KEEP = 1 << 16 };

/* Room for hole index n (n + 1 holes). */
static bool holes_room(rav_heap *h, size_t n)
{
	if (n < h->holes_cap)
		return true;
	size_t cap = h->holes_cap ? h->holes_cap : 1024;
	while (cap <= n)
		cap *= 2;
	rav_cell **grown = realloc(h->holes, cap * sizeof *grown);
	if (!grown)
		return false;
	h->holes = grown;
	h->holes_cap = cap;
	return true;
}

/* Step 3 to the end for kill_whole, as cascade_all_t without recording or
 * runs: sp children wait on the stack, nx (if not NULL) is visited next.
 * Each cell that dies is typed dead and appended to h->holes after the nh
 * already there (on the hole list if the array cannot grow).  Returns the
 * holes in the array. */
static size_t kill_collect(rav_heap *h, size_t sp, rav_cell *nx, size_t nh)
{
	rav_pending *pend = h->pending;
	size_t cap = h->pending_cap;
	/* the next hole's place and the array's end, in registers */
	rav_cell **hp = h->holes + nh, **hend = h->holes + h->holes_cap;
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
			d = h->dying;
			rav_assert(d->w[0] & RAV_FLAG_DYING);
			h->dying = (rav_cell *)d->w[RAV_W_BACK];
			h->st.dying_cells--;
		} else {
			break;
		}
		rav_type t = cell_type(d);
		if (RAV_UNLIKELY(t <= RAV_TYPE_DEAD)) {
			if (t == RAV_TYPE_DEAD)
				continue; /* a reference raviolo whose two referrers both died */
			rav_assert(t == RAV_TYPE_REF);
			size_t sp_out = sp;
			pending_ref_lost(h, d, &sp_out);
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
					sp += cascade_push_slow(h, d, 1, sp);
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
				make_dead(h, d);
				continue;
			}
			hp = h->holes + k;
			hend = h->holes + h->holes_cap;
		}
		d->w[0] = RAV_TYPE_DEAD;
		*hp++ = d;
	}
	size_t n = (size_t)(hp - h->holes), done = n - nh;
	h->st.live_cells -= done;
	h->st.frees += done;
	h->cascading = false;
	return n;
}

/* Steps 6-8 for kill_whole: the nh holes of h->holes (and those on the
 * hole list: spliced reference ravioli) are filled from the top in one
 * walk, as sweep_t does with the list: each cell above the boundary, when
 * it is the top cell, is trimmed if dead or moves into the newest hole
 * below the boundary.  The holes to write are known in advance: the one a
 * few moves ahead is prefetched (for writing), so the misses of the holes
 * overlap with each other and with the walk's. */
static void fill_holes(rav_heap *h, size_t nh)
{
	if (h->dead) {
		/* holes on the list join the array */
		size_t nl = h->st.dead_cells;
		if (!holes_room(h, nh + nl - 1)) {
			/* out of memory: the ordinary compaction takes them all */
			for (size_t k = 0; k < nh; k++)
				dead_push(h, h->holes[k]);
			runs_forget(h);
			rav__compact(h, 0, RAV_COMPACT_FREE);
			return;
		}
		for (rav_cell *c = h->dead; c; c = (rav_cell *)c->w[1])
			h->holes[nh++] = c;
		h->dead = h->dead_tail = NULL;
		h->st.dead_cells = 0;
	}
	runs_forget(h);
	if (nh == 0)
		return;
	rav_assert(h->dying == NULL && h->top_page);
	REC(RAV_EV_COMPACT_BEGIN, RAV_COMPACT_FREE, h->id, 0, 0, 0);
	boundary b = mark_top(h, nh, SIZE_MAX);
	/* The holes, newest first; those above the boundary are passed over. */
	rav_cell **holes = h->holes;
	size_t m = nh;
	size_t moves = 0, fixups = 0;
	rav_cell *pinned = h->pinned;
	rav_cell *page = h->top_page;
	rav_cell *t = &page[h->top - 1];
	for (size_t k = m < AHEAD ? m : AHEAD; k > 0; k--)
		rav_prefetch(holes[m - k]);
	for (;;) {
		rav_cell *const end = &page[page == b.page ? b.index : 1];
		while (t >= end) {
			if (t >= end + 2 * AHEAD)
				rav_prefetch(t - 2 * AHEAD);
			if (cell_type(t) == RAV_TYPE_DEAD) {
				t--;
				continue;
			}
			rav_cell *d;
			do {
				rav_assert(m > 0);
				d = holes[--m];
			} while (doomed(b, d));
			if (m >= AHEAD)
				rav_prefetch(holes[m - AHEAD]);
			rav_assert(cell_type(d) == RAV_TYPE_DEAD);
			if (RAV_UNLIKELY(t == pinned))
				h->pinned = pinned = d;
			fixups += move_words_t(t, d, false, false); /* (t's page: truncate_to) */
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
	truncate_to(h, b, true);
	clear_boundary(h);
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
static __attribute__((noinline)) size_t kill_whole(rav_heap *h, size_t sp, rav_cell *nx, bool finished)
{
	/* the top cascade's holes first, the oldest first */
	size_t nh = 0, nl = h->st.dead_cells;
	if (!holes_room(h, nl - 1))
		return finished ? 0 : cascade_all_t(h, false, sp, nx); /* (the ordinary compaction follows) */
	for (rav_cell *c = h->dead_tail; c; c = (rav_cell *)c->w[2])
		h->holes[nh++] = c;
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
	clear_boundary(h);
	REC(RAV_EV_COMPACT_END, 0, h->id, moves, 0, 0);
	rav_assert(max_moves != 0 || h->st.dead_cells == 0);
	rav_assert_expensive(rav_heap_check(h) == RAV_OK);
	return h->st.dead_cells;
}

void rav__settle(rav_heap *h)
{
	settle(h);
}

void rav_set_free_mode(rav_heap *h, rav_free_mode mode)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_set_free_mode: null heap");
		return;
	}
	if (!CHECK_OWNER(h, "rav_set_free_mode"))
		return;
	RAV_SAFEPOINT(h);
	if (mode != RAV_FREE_IMMEDIATE && mode != RAV_FREE_DEFERRED) {
		rav__misuse(RAV_EINVAL, "rav_set_free_mode: %d is not a free mode", (int)mode);
		return;
	}
	h->mode = mode;
	if (mode == RAV_FREE_IMMEDIATE) {
		rav__cascade(h, 0);
		rav__settle(h);
	}
}

/* One bounded step of deferred work: first the kill cascade, then moves. */
size_t rav_compact(rav_heap *h, size_t max_moves)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_compact: null heap");
		return 0;
	}
	if (!CHECK_OWNER(h, "rav_compact"))
		return 0;
	RAV_SAFEPOINT(h);
	size_t done = 0;
	if (h->dying) {
		done = rav__cascade(h, max_moves);
		if (h->dying)
			return h->st.dead_cells + h->st.dying_cells;
	}
	if (max_moves && done >= max_moves)
		return h->st.dead_cells;
	return rav__compact(h, max_moves ? max_moves - done : 0, RAV_COMPACT_DEFERRED);
}

