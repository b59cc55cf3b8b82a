/* cascade.c - steps 1-4 of a free (free.c tells the whole story): letting
 * go of a reference (drop, and the splice of a reference raviolo),
 * queueing a cell that lost its last referrer, and the kill cascade that
 * makes dying cells dead: in bounded steps for deferred mode
 * (cascade_queue), whole with its stack of pending children
 * (cascade_all_t), and the top cascade, which reads a structure allocated
 * last once and truncates the heap below it (top_sweep, in address order,
 * for a structure allocated parent first; cascade_top, along its links,
 * for any other).  A structure
 * let go of whole among survivors goes on to bulk-kill.c.
 *
 * Nothing here moves a cell (invariant 4: a dying cell's back-link word is
 * a queue link); the compaction (compact.c, truncate.c, bulk-kill.c) runs
 * once the cascade is over.
 */
#include <stdlib.h>
#include <string.h>

#include "free-private.h"

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
#if RAV_TRACING
/* The same while recording, its events (the links, the chain's weights,
 * p's FREE) in the caller's run m (rav__em_begin: the caller may have put
 * events before them); ends the run. */
static inline __attribute__((always_inline)) void splice_out_em(rav_heap *h, rav_cell *p, uintptr_t *slot,
								 rav_emitter *m)
{
	rav_assert(cell_type(p) == RAV_TYPE_REF &&
		   (p->w[RAV_W_BACK1] == (uintptr_t)slot || p->w[RAV_W_BACK2] == (uintptr_t)slot));
	uintptr_t *other = (uintptr_t *)(p->w[RAV_W_BACK1] == (uintptr_t)slot ? p->w[RAV_W_BACK2] : p->w[RAV_W_BACK1]);
	rav_cell *q = (rav_cell *)p->w[RAV_W_FWD];
	rav__em_put(m, RAV_EV_LINK, 0, (uintptr_t)other, *other, (uintptr_t)q);
	*other = (uintptr_t)q;
	uintptr_t *bl = backlink_slot_of(q, &p->w[RAV_W_FWD]);
	rav__em_put(m, RAV_EV_LINK, 0, (uintptr_t)bl, *bl, (uintptr_t)other);
	*bl = (uintptr_t)other;
	for (rav_cell *r = q; cell_type(r) == RAV_TYPE_REF; r = (rav_cell *)r->w[RAV_W_FWD]) {
		/* set_scalar_t's event */
		uintptr_t ow = r->w[0];
		uintptr_t nw = (ow & ((1u << RAV_SCALAR_SHIFT) - 1)) | ((ow >> RAV_SCALAR_SHIFT) - 1) << RAV_SCALAR_SHIFT;
		rav__em_put(m, RAV_EV_TYPE_WORD, 0, (uintptr_t)r, ow & ~RAV_FLAG_TRANSIENT, nw & ~RAV_FLAG_TRANSIENT);
		r->w[0] = nw;
	}
	/* make_dead_t's event and watch test */
	uintptr_t tw = p->w[0];
	rav__em_put(m, RAV_EV_FREE | (uint32_t)RAV_TYPE_REF << 8, 0, (uintptr_t)p, 0, 0);
	rav__em_done(m);
	RAV_WATCH_TEST(true, tw, RAV_EV_FREE | ((uint32_t)RAV_TYPE_REF << 8), p, p, 0, 0);
	make_dead_t(h, p, false);
}

/* Out of line, so that the untraced callers keep their shape (callgrind:
 * inline, the untraced splice and drop took 5-8 instructions more). */
static __attribute__((noinline)) void splice_out_traced(rav_heap *h, rav_cell *p, uintptr_t *slot)
{
	rav_emitter m;
	rav__em_begin(&m);
	splice_out_em(h, p, slot, &m);
}

/* drop's reference raviolo while recording: REFRAV_REMOVE, the slot's
 * clear, then the splice, in one run. */
static __attribute__((noinline)) void drop_refrav_traced(rav_heap *h, rav_cell *p, uintptr_t *slot, unsigned evkind)
{
	rav_emitter m;
	rav__em_begin(&m);
	rav__em_put(&m, RAV_EV_REFRAV_REMOVE, 0, (uintptr_t)p, 0, 0);
	rav__em_put(&m, evkind, 0, (uintptr_t)slot, (uintptr_t)p, 0);
	*slot = 0;
	splice_out_em(h, p, slot, &m);
}
#endif

void rav__splice_out(rav_heap *h, rav_cell *p, uintptr_t *slot)
{
#if RAV_TRACING
	if (rav__tracing) {
		splice_out_traced(h, p, slot);
		return;
	}
#endif
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
 * without referrer is not queued: the collector frees it in its sweep.
 * `tr`: recording (drop, below, makes a copy for each: the traced one's
 * compound takes a due clock reading first, rav__compound_room_t, and the
 * untraced one has no event code). */
static inline __attribute__((always_inline)) void drop_t(rav_heap *h, uintptr_t *slot, unsigned evkind, bool cascade,
							 bool tr)
{
	rav_cell *p = (rav_cell *)*slot;
	if (!p)
		return;
	if (cell_type(p) != RAV_TYPE_REF) {
		rav_assert(p->w[RAV_W_BACK] == (uintptr_t)slot);
#if RAV_TRACING
		uint32_t next;
		rav_raw_event *e;
		if (tr && RAV_LIKELY((e = rav__compound_room_t(tr, 1, &next)) != NULL)) {
			/* the clear and the back-link as one RAV_RAW_DETACH record */
			rav__compound_put(e, RAV_RAW_DETACH | evkind << 8, (uintptr_t)slot, (uintptr_t)p, 0);
			rav__compound_done(next);
			*slot = 0;
			p->w[RAV_W_BACK] = 0;
		} else
#endif
		{
			RECT(tr, evkind, 0, 0, slot, p, 0);
			*slot = 0;
			WRITE_WORD_T(tr, RAV_EV_LINK, &p->w[RAV_W_BACK], 0);
		}
		if (cascade)
			queue_dying_t(h, p, tr);
		return;
	}
#if RAV_TRACING
	if (tr && refrav_drop_recorded(h, p, slot, evkind)) /* (rec6: its events as one record) */
		return;
#endif
#if RAV_TRACING
	if (tr) {
		drop_refrav_traced(h, p, slot, evkind);
		return;
	}
#endif
	RECT(tr, RAV_EV_REFRAV_REMOVE, 0, 0, p, 0, 0);
	RECT(tr, evkind, 0, 0, slot, p, 0);
	*slot = 0;
	rav__splice_out(h, p, slot);
}

static inline __attribute__((always_inline)) void drop(rav_heap *h, uintptr_t *slot, unsigned evkind, bool cascade)
{
	if (rav__tracing)
		drop_t(h, slot, evkind, cascade, true);
	else
		drop_t(h, slot, evkind, cascade, false);
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
		rav_cell *d = dying_pop(h);
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
bool rav__pending_room(rav_heap *h, size_t sp)
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
void rav__pending_ref_lost(rav_heap *h, rav_cell *p, size_t *sp)
{
	uintptr_t *b1 = (uintptr_t *)p->w[RAV_W_BACK1], *b2 = (uintptr_t *)p->w[RAV_W_BACK2];
	bool dead1 = cell_type(cell_of(b1)) == RAV_TYPE_DEAD, dead2 = cell_type(cell_of(b2)) == RAV_TYPE_DEAD;
	rav_assert(dead1 || dead2);
	rav_cell *q = (rav_cell *)p->w[RAV_W_FWD];
#if RAV_TRACING
	if (rav__tracing && (!dead1 || !dead2)) {
		rav_emitter m;
		rav__em_begin(&m);
		rav__em_put(&m, RAV_EV_REFRAV_REMOVE, 0, (uintptr_t)p, 0, 0);
		splice_out_em(h, p, dead1 ? b1 : b2, &m);
		return;
	}
#endif
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
	if (rav__pending_room(h, *sp)) {
		h->pending[(*sp)++] = (rav_pending){ q };
	} else if (cell_type(q) == RAV_TYPE_REF) {
		/* out of memory for the stack: p, dead now, is the referrer q
		 * lost (recursion bounded by the tree's depth) */
		rav__pending_ref_lost(h, q, sp);
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
bool rav__cascade_push_slow(rav_heap *h, rav_cell *d, int f, size_t sp)
{
	rav_cell *c = (rav_cell *)d->w[1 + f];
	if (rav__pending_room(h, sp)) {
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
	/* The FREEs as one run of events (rav__em_begin), ended around the
	 * calls that record (with SYNC_OUT) and begun again after them. */
#if RAV_TRACING
	rav_emitter em = { 0 };
	if (tr)
		rav__em_begin(&em);
#define EM_OUT()                                                                                         \
	do {                                                                                             \
		if (tr)                                                                                  \
			rav__em_done(&em);                                                               \
	} while (0)
#define EM_IN() (tr ? rav__em_begin(&em) : (void)0)
#else
#define EM_OUT() ((void)0)
#define EM_IN() ((void)0)
#endif
#define SYNC_OUT()                                                                                       \
	do {                                                                                             \
		EM_OUT();                                                                                \
		RUN_CLOSE();                                                                             \
		prev_dead = NULL;                                                                        \
		if (dead) {                                                                              \
			dead->w[2] = 0; /* the head's prev link, left unwritten by the loop */           \
			heap_bump_stop(h);                                                               \
		}                                                                                        \
		h->dead = dead;                                                                          \
		h->st.live_cells -= done - synced;                                                       \
		h->st.frees += done - synced;                                                            \
		h->st.dead_cells += done - synced;                                                       \
		synced = done;                                                                           \
	} while (0)
#define SYNC_IN() (EM_IN(), dead = h->dead, pend = h->pending, cap = h->pending_cap)
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
				rav__pending_ref_lost(h, d, &sp_out);
				sp = sp_out;
				SYNC_IN();
				continue;
			}
			/* (its referrer, the field that held it, is in a dead cell) */
			rav_assert(d->w[RAV_W_BACK] && cell_type(cell_of((uintptr_t *)d->w[RAV_W_BACK])) == RAV_TYPE_DEAD &&
				   !cell_gone(d));
		} else if (h->dying) {
			d = dying_pop(h);
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
					sp += rav__cascade_push_slow(h, d, 1, sp);
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
#if RAV_TRACING
		if (tr) {
			uintptr_t tw = d->w[0];
			rav__em_put(&em, RAV_EV_FREE | (uint32_t)(tw & RAV_TYPE_MASK) << 8, 0, (uintptr_t)d, 0, 0);
			if (RAV_UNLIKELY(tw & RAV_FLAG_WATCH)) {
				/* (the debugger reads the buffer: the run so far first) */
				rav__em_done(&em);
				RAV_WATCH_TEST(tr, tw, RAV_EV_FREE | ((uint32_t)cell_type(d) << 8), d, d, 0, 0);
				rav__em_begin(&em);
			}
		}
#endif
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
#undef EM_OUT
#undef EM_IN
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
 * the heap is truncated below them (rav__truncate_to: the pages they filled
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

void rav__truncate_to(rav_heap *h, rav_top_region b, bool trimmed);

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
	heap_bump_stop(h);
	h->st.live_cells -= n;
	h->st.frees += n;
	h->st.dead_cells += n;
}

/* The top sweep: whether the structure at `first` (a cell that lost its
 * last referrer, not queued) is exactly the cells [first, hi] in heap order
 * (a page's last cell followed by the next page's first) for some hi:
 * returns hi, or NULL (the top cascade then does its walk).  A structure
 * allocated parent first (depth first with either field first, or a list
 * appended at its tail) is one; the sweep reads its cells once in address
 * order, with neither a stack nor a branch on the shape, and writes
 * nothing.
 *
 * Why the block is the structure: each cell c after first is the child of
 * a cell before it in the block (its back-link, the slot that refers to
 * it, lies in a cell of the block before c), and no cell has two
 * referrers, so the block's cells after first are distinct children of
 * the block's cells.  `open` counts the children seen less the cells swept
 * after first; when it reaches 0, those children are exactly the cells
 * swept: the structure is closed and lies in the block.  A reference
 * raviolo, a dead cell, a back-link from elsewhere (the structure is not
 * contiguous, or not parent first: a list pushed at its head, a tree built
 * bottom-up), or the heap's top reached with children still to come: NULL.
 * The sweep then read at most the structure's cells once (twice in all
 * with the walk) and the page headers below (the budget). */
static rav_cell *top_sweep(const rav_heap *h, rav_cell *first, rav_cell **lo_out)
{
	const uint8_t *refmask = rav__refmask;
	rav_cell *const first_page = page_of(first);
	rav_cell *page = first_page, *c = first;
	/* a back-link b on c's page is in the block before c when
	 * b - lo < rel: lo is first, or the page (its header holds no slot) */
	uintptr_t lo = (uintptr_t)first, rel = 0;
	/* one past the last cell to read on this page */
	rav_cell *limit = page == h->top_page ? &page[h->top] : page + CELLS;
	/* page headers the check of a back-link from an earlier page may read
	 * (64, and 16 per page swept; a depth-first tree of 1M cells needs
	 * ~7 per page): a shape that needs more goes to the walk */
	size_t budget = 64;
	uintptr_t t = c->w[0] & RAV_TYPE_MASK;
	unsigned mask = refmask[t];
	size_t open = (size_t)((mask & 1) && c->w[1]) + (size_t)((mask & 2) && c->w[2]);
	if (t <= RAV_TYPE_DEAD)
		return NULL;
	while (open) {
		rel += RAV_CELL_SIZE;
		if (RAV_UNLIKELY(++c == limit)) {
			/* the next page (never past the top page: cells above its
			 * top are not the heap's) */
			if (page == h->top_page)
				goto down;
			budget += 16;
			page = (rav_cell *)page->w[PH_NEXT];
			c = page + 1;
			lo = (uintptr_t)page;
			rel = RAV_CELL_SIZE;
			limit = page == h->top_page ? &page[h->top] : page + CELLS;
			if (c >= limit)
				return NULL;
		}
		/* c must be a normal raviolo (not a reference raviolo, whose
		 * word 3 is a back-link too; not a dead cell, whose word 3 is a
		 * run tag): tested where the type's mask is not 3, or the
		 * back-link is not on c's page, since no built-in type up to
		 * RAV_TYPE_DEAD has two reference fields (types.c) */
		t = c->w[0] & RAV_TYPE_MASK;
		rav_assert(refmask[t] != 3 || t > RAV_TYPE_DEAD);
		uintptr_t back = c->w[RAV_W_BACK];
		if (RAV_UNLIKELY(back - lo >= rel)) {
			/* From an earlier page of the block: first's page (at or
			 * after first), or one whose list leads to c's page without
			 * passing first's. */
			if (t <= RAV_TYPE_DEAD)
				return NULL;
			rav_cell *bp = page_of((const void *)back);
			if (page == first_page || bp == page)
				return NULL; /* (not before c on its page, or before first) */
			if (bp == first_page) {
				if (back < (uintptr_t)first)
					return NULL;
			} else {
				rav_cell *q = bp;
				do {
					if (--budget == 0)
						return NULL;
					q = (rav_cell *)q->w[PH_NEXT];
				} while (q && q != page && q != first_page);
				if (q != page)
					return NULL;
			}
		}
		mask = refmask[t];
		if (RAV_LIKELY(mask == 3))
			open += (size_t)(c->w[1] != 0) + (size_t)(c->w[2] != 0) - 1;
		else if (t <= RAV_TYPE_DEAD)
			return NULL;
		else /* (branchless here, gcc computed both tests before the
		      * branch: +1 instruction per cell of a tree, -2 of a list) */
			open += (size_t)((mask & 1) && c->w[1]) + (size_t)((mask & 2) && c->w[2]) - 1;
	}
	*lo_out = first;
	return c;
down:
	/* Every cell from first to the heap's top is the structure's, and
	 * `open` of its children are still to come: they may lie just below
	 * first (a received message's top cells, moved into the tail of the
	 * heap's old top page by the arrival).  The block grows down from
	 * first, each cell's back-link in a cell above it (on its page, or
	 * on a page its list leads to: the block is everything up to the
	 * top). */
	c = first;
	page = first_page;
	while (open) {
		if (c == page + 1) {
			page = (rav_cell *)page->w[PH_PREV];
			if (!page)
				return NULL;
			budget += 16;
			c = page + CELLS; /* (a page below the top page is full) */
		}
		c--;
		t = c->w[0] & RAV_TYPE_MASK;
		if (t <= RAV_TYPE_DEAD)
			return NULL;
		uintptr_t back = c->w[RAV_W_BACK];
		rav_cell *bp = page_of((const void *)back);
		if (bp == page) {
			if (back < (uintptr_t)(c + 1))
				return NULL;
		} else {
			rav_cell *q = page;
			do {
				if (--budget == 0)
					return NULL;
				q = (rav_cell *)q->w[PH_NEXT];
			} while (q && q != bp);
			if (!q)
				return NULL;
		}
		mask = refmask[t];
		open += (size_t)((c->w[1] != 0) & mask) + (size_t)((c->w[2] != 0) & (mask >> 1)) - 1;
	}
	*lo_out = c;
	return &h->top_page[h->top - 1];
}

/* The structure at `first` freed by the top sweep, truncated or made
 * holes in one block as the top cascade would; 0 if the sweep gave up
 * (nothing done). */
static __attribute__((noinline)) size_t top_sweep_free(rav_heap *h, rav_cell *first)
{
	rav_cell *lo, *end = top_sweep(h, first, &lo);
	if (!end)
		return 0;
	size_t n = top_block_cells(lo, end);
	h->gen++;
	if (end == &h->top_page[h->top - 1]) {
		h->st.live_cells -= n;
		h->st.frees += n;
		rav__truncate_to(h, (rav_top_region){ page_of(lo), slot_in_page(lo) }, false);
	} else {
		cascade_top_holes(h, lo, end, n);
	}
	return n;
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
	if (!d)
		d = dying_pop(h);
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
			next = dying_pop(h);
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
			if (!rav__pending_room(h, sp))
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
		rav__truncate_to(h, (rav_top_region){ page_of(lo), slot_in_page(lo) }, false);
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

size_t rav__kill_whole(rav_heap *h, size_t sp, rav_cell *nx, bool finished);

/* The whole cascade, from `first` (see cascade_top) or the dying queue;
 * `top`: the caller lets the top cascade truncate the heap; `fill`: and
 * compaction follows at once (rav__kill_whole: a structure among survivors is
 * killed into the hole array and compacted here). */
static size_t cascade_whole(rav_heap *h, rav_cell *first, bool top, bool fill)
{
	size_t sp = 0, done = 0;
	rav_cell *nx = NULL;
	if (top && !rav__tracing && h->kind == RAV_HEAP_THREAD && !h->tearing_down && !h->cascading &&
	    rav__pending_room(h, 0)) {
		bool finished;
		if (first && !h->dying && (done = top_sweep_free(h, first)) != 0)
			return fill && h->dead ? done + rav__kill_whole(h, 0, NULL, true) : done;
		done = cascade_top(h, first, &sp, &nx, &finished);
		if (fill && h->dead)
			return done + rav__kill_whole(h, sp, finished ? NULL : nx, finished);
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


/* The rest of a whole cascade, untraced, for bulk-kill.c's way back. */
size_t rav__cascade_rest(rav_heap *h, size_t sp, rav_cell *nx)
{
	return cascade_all_t(h, false, sp, nx);
}
