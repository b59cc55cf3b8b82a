/* heap-inline.h - the hot steps of a heap as inline functions, shared by
 * the files of a free (free.c and its steps: cascade.c, compact.c, ...),
 * heap.c (allocation) and access.c
 * (the public entry points), so both compile them into their loops without a call.
 *
 * What each step does and in which order is written once, at the top of
 * free.c.  Functions named *_t take the recording flag as an argument (see
 * RECT in rav-private.h); the plain ones read it.
 */
#ifndef RAV_HEAP_INLINE_H
#define RAV_HEAP_INLINE_H

#include "rav-private.h"

/* The out-of-line parts of the steps below (cascade.c, truncate.c) */
void rav__queue_dying_slow(rav_heap *h, rav_cell *c, bool now);
void rav__top_page_emptied(rav_heap *h);
void rav__splice_out(rav_heap *h, rav_cell *p, uintptr_t *slot);
rav_status rav__attach(rav_heap *h, uintptr_t *slot, rav_cell *target, unsigned evkind);

/* ---- holes ----
 *
 * Dead cells wait on a doubly linked list through words 1 (next) and 2
 * (prev), most recent first, with a tail pointer.  A cascade kills cells in
 * address order for structures built depth-first, so the hole compaction
 * finds at the top is usually the list's head, and unlinking it touches
 * only its neighbour. */

static inline void dead_push(rav_heap *h, rav_cell *c)
{
	c->w[0] = RAV_TYPE_DEAD;
	c->w[1] = (uintptr_t)h->dead;
	c->w[2] = 0;
	if (h->dead)
		h->dead->w[2] = (uintptr_t)c;
	else
		h->dead_tail = c;
	h->dead = c;
	heap_bump_stop(h);
	h->st.dead_cells++;
}

/* The runs the cascade recorded no longer describe the hole list (a hole
 * left it other than from an end of the newest run, or by trimming a run
 * whole). */
static inline void runs_forget(rav_heap *h)
{
	h->nruns = 0;
	h->runs_head = 0;
}

/* Whether hole c belongs to a recorded run (the cascade left the run's
 * index in its word 3; a hole made otherwise has a back-link or 0 there,
 * and a stale index names a run whose range cannot hold c: every cell in a
 * run's range died in that run). */
static inline bool run_holds(const rav_heap *h, const rav_cell *c, unsigned *idx)
{
	uintptr_t tag = c->w[3];
	if (tag < h->runs_head || tag >= h->nruns)
		return false;
	const rav_dead_run *r = &h->runs[tag];
	const rav_cell *lo = r->first < r->last ? r->first : r->last;
	if (r->n == 0 || c < lo || c >= lo + r->n)
		return false;
	*idx = (unsigned)tag;
	return true;
}

/* Unlink the holes from `head_end` to `tail_end` (following w[1], the
 * hole list's direction) from the hole list in one splice. */
static inline void dead_unlink_span(rav_heap *h, rav_cell *head_end, rav_cell *tail_end)
{
	rav_cell *prev = (rav_cell *)head_end->w[2];
	rav_cell *next = (rav_cell *)tail_end->w[1];
	if (prev)
		prev->w[1] = (uintptr_t)next;
	else
		h->dead = next;
	if (next)
		next->w[2] = (uintptr_t)prev;
	else
		h->dead_tail = prev;
}

/* Unlink a hole that is in no recorded run. */
static inline void dead_unlink_raw(rav_heap *h, rav_cell *c)
{
	dead_unlink_span(h, c, c);
}

static inline void dead_unlink(rav_heap *h, rav_cell *c)
{
	runs_forget(h);
	dead_unlink_raw(h, c);
}

/* Runs that left (n 0) between others stay as tombstones until they
 * reach an end, so the newest run is always runs[nruns - 1]. */
static inline void runs_trim_ends(rav_heap *h)
{
	while (h->nruns > h->runs_head && h->runs[h->nruns - 1].n == 0)
		h->nruns--;
	while (h->runs_head < h->nruns && h->runs[h->runs_head].n == 0)
		h->runs_head++;
	if (h->runs_head == h->nruns)
		runs_forget(h);
}

/* The head of the hole list, if it is in a run, is the newest run's last
 * cell (it was pushed last of the run, and any hole pushed after it would
 * be nearer the head): the run loses that end.  A run of one is no run
 * (so a lone hole never is in one). */
static inline void runs_pop(rav_heap *h, rav_cell *c)
{
	if (h->nruns <= h->runs_head)
		return;
	rav_dead_run *r = &h->runs[h->nruns - 1];
	if (r->last != c)
		return;
	if (r->n == 2) {
		r->n = 0;
		runs_trim_ends(h);
	} else {
		r->n--;
		r->last = r->last > r->first ? c - 1 : c + 1;
	}
}

/* maybe_runs false: the caller knows no run is recorded (none is while
 * compaction runs if none was when it began: only the cascade adds runs). */
static inline __attribute__((always_inline)) rav_cell *dead_pop_t(rav_heap *h, bool maybe_runs)
{
	rav_cell *c = h->dead;
	if (maybe_runs && RAV_UNLIKELY(h->nruns != 0))
		runs_pop(h, c);
	rav_cell *next = (rav_cell *)c->w[1];
	h->dead = next;
	if (next)
		next->w[2] = 0;
	else
		h->dead_tail = NULL;
	h->st.dead_cells--;
	return c;
}

static inline rav_cell *dead_pop(rav_heap *h)
{
	return dead_pop_t(h, true);
}

/* An allocation that reuses the most recent hole (deferred mode: a free
 * left it, the next allocation fills it and nothing moves), inline where
 * rav__alloc_t would take its out-of-line path. */
static inline __attribute__((always_inline)) rav_cell *alloc_hole_t(rav_heap *h, rav_type t, bool tr)
{
	rav_cell *c = dead_pop_t(h, true);
	rav_assert(cell_type(c) == RAV_TYPE_DEAD);
	rav__alloc_init_t(h, c, t, tr);
	return c;
}

/* The head of the hole list goes to its end (compaction skipping a hole
 * that is about to be trimmed). */
static inline void dead_rotate(rav_heap *h)
{
	rav_cell *c = h->dead;
	if (c == h->dead_tail)
		return;
	runs_forget(h);
	rav_cell *next = (rav_cell *)c->w[1];
	h->dead = next;
	next->w[2] = 0;
	c->w[1] = 0;
	c->w[2] = (uintptr_t)h->dead_tail;
	h->dead_tail->w[1] = (uintptr_t)c;
	h->dead_tail = c;
}

/* Freed, or queued to be freed (deferred mode). */
static inline bool cell_gone(const rav_cell *c)
{
	return cell_type(c) == RAV_TYPE_DEAD || (c->w[0] & RAV_FLAG_DYING);
}

static inline bool is_fwd_slot(const uintptr_t *slot)
{
	const rav_cell *c = cell_of(slot);
	return cell_type(c) == RAV_TYPE_REF && word_of(slot) == RAV_W_FWD;
}

static inline uintptr_t leaf_weight(const uintptr_t *slot)
{
	return is_fwd_slot(slot) ? cell_scalar(cell_of(slot)) : 1;
}

/* Helpers named *_t take the recording flag (see RECT in rav-private.h);
 * the plain ones read it. */
static inline __attribute__((always_inline)) void set_scalar_t(rav_cell *c, uintptr_t scalar, bool tr)
{
	uintptr_t nw = (c->w[0] & ((1u << RAV_SCALAR_SHIFT) - 1)) | (scalar << RAV_SCALAR_SHIFT);
	/* The collector's mark, the dying flag and a debugger's watch are
	 * transient and never recorded. */
	RECT(tr, RAV_EV_TYPE_WORD, 0, 0, c, c->w[0] & ~RAV_FLAG_TRANSIENT, nw & ~RAV_FLAG_TRANSIENT);
	c->w[0] = nw;
}

static inline void set_scalar_rec(rav_cell *c, uintptr_t scalar)
{
	set_scalar_t(c, scalar, rav__tracing);
}

/* Move a reference from slot `from` to the empty slot `to`. */
static inline __attribute__((always_inline)) void transfer_t(uintptr_t *from, uintptr_t *to, unsigned evkind, bool tr)
{
	rav_cell *p = (rav_cell *)*from;
	if (!p)
		return;
	rav_assert(*to == 0);
	uintptr_t *bl = backlink_slot_of(p, from);
#if RAV_TRACING
	uint32_t next;
	rav_raw_event *e;
	if (tr && RAV_LIKELY((e = rav__compound_room_t(tr, 1, &next)) != NULL)) {
		/* the three events as one RAV_RAW_TRANSFER record */
		rav__compound_put(e, RAV_RAW_TRANSFER | evkind << 8 | (uint32_t)(bl - p->w) << 16, (uintptr_t)from,
				  (uintptr_t)to, (uintptr_t)p);
		rav__compound_done(next);
		*to = (uintptr_t)p;
		*bl = (uintptr_t)to;
		*from = 0;
		return;
	}
#endif
	WRITE_WORD_T(tr, evkind, to, p);
	WRITE_WORD_T(tr, RAV_EV_LINK, bl, to);
	WRITE_WORD_T(tr, RAV_EV_LINK, from, 0);
}

static inline void transfer(uintptr_t *from, uintptr_t *to, unsigned evkind)
{
	transfer_t(from, to, evkind, rav__tracing);
}

static inline __attribute__((always_inline)) void make_dead_t(rav_heap *h, rav_cell *c, bool tr)
{
	uintptr_t tw = c->w[0];
	rav_type t = (rav_type)(tw & RAV_TYPE_MASK);
	rav_assert(t != RAV_TYPE_DEAD && t != RAV_TYPE_EMPTY && t != RAV_TYPE_HEADER);
	RECT(tr, RAV_EV_FREE, t, 0, c, 0, 0);
	RAV_WATCH_TEST(tr, tw, RAV_EV_FREE | (t << 8), c, c, 0, 0);
	if (t == RAV_TYPE_REF)
		h->st.ref_cells--;
	h->st.live_cells--;
	h->st.frees++;
	h->gen++;
	dead_push(h, c);
}

/* A reference raviolo p that `slot` (one of its two referrers) lets go
 * of, cleared and spliced
 * out of its tree while recording (cascade.c's drop): when its target q is
 * a normal raviolo (no weights to update down a chain), no debugger is
 * installed and p is not watched, the five events (REFRAV_REMOVE, the
 * slot's clear, the two links, the FREE) as one RAV_RAW_REFRAV_DROP record
 * and the writes rav__splice_out would make; false, nothing done,
 * otherwise (the caller records them one by one). */
static inline __attribute__((always_inline)) bool refrav_drop_recorded(rav_heap *h, rav_cell *p, uintptr_t *slot,
									unsigned evkind)
{
#if RAV_TRACING
	if (RAV_UNLIKELY(__atomic_load_n(&rav__debugger, __ATOMIC_RELAXED) != NULL) || (p->w[0] & RAV_FLAG_WATCH))
		return false;
	uintptr_t *other = (uintptr_t *)(p->w[RAV_W_BACK1] == (uintptr_t)slot ? p->w[RAV_W_BACK2] : p->w[RAV_W_BACK1]);
	rav_cell *q = (rav_cell *)p->w[RAV_W_FWD];
	if (cell_type(q) == RAV_TYPE_REF)
		return false;
	uint32_t next;
	rav_raw_event *e = rav__compound_room(2, &next);
	if (RAV_UNLIKELY(!e))
		return false;
	rav_assert(q->w[RAV_W_BACK] == (uintptr_t)&p->w[RAV_W_FWD] && *other == (uintptr_t)p);
	rav__put_kind_x(e, RAV_RAW_REFRAV_DROP | evkind << 8, 0);
	e->a = (uintptr_t)p;
	e->b = (uintptr_t)slot;
	e->c = (uintptr_t)other;
	rav__compound_words(&e[1], (uintptr_t)q, 0);
	rav__compound_done(next);
	*slot = 0;
	*other = (uintptr_t)q;
	q->w[RAV_W_BACK] = (uintptr_t)other;
	make_dead_t(h, p, false);
	return true;
#else
	(void)h, (void)p, (void)slot, (void)evkind;
	return false;
#endif
}

static inline void make_dead(rav_heap *h, rav_cell *c)
{
	make_dead_t(h, c, rav__tracing);
}

/* A normal raviolo with no reference to drop: it can skip the queue. */
static inline bool has_children(const rav_cell *c)
{
	unsigned mask = type_refmask(cell_type(c));
	return ((mask & 1) && c->w[1]) || ((mask & 2) && c->w[2]);
}

/* Step 2: c lost its last referrer. */
static inline __attribute__((always_inline)) void queue_dying_t(rav_heap *h, rav_cell *c, bool tr)
{
	rav_assert(!cell_gone(c) && cell_type(c) != RAV_TYPE_REF && cell_type(c) != RAV_TYPE_ROOT);
	if (RAV_LIKELY(!h->cascading && !has_children(c))) {
		/* The cascade of a leaf is its own death, O(1) in any mode (the
		 * common case of a random free: no queue push and pop).  In
		 * deferred mode the hole waits for rav_compact, and the next
		 * allocation reuses it. */
		make_dead_t(h, c, tr);
		return;
	}
	rav__queue_dying_slow(h, c, !h->cascading && (h->mode == RAV_FREE_IMMEDIATE || h->kind == RAV_HEAP_MESSAGE));
}

static inline void queue_dying(rav_heap *h, rav_cell *c)
{
	queue_dying_t(h, c, rav__tracing);
}

/* A move's copy of t's words into d (t emptied unless the caller empties
 * its page itself), before the pointers naming t are fixed. */
static inline __attribute__((always_inline)) void move_words_only(rav_cell *t, rav_cell *d, bool zero)
{
	d->w[0] = t->w[0];
	d->w[1] = t->w[1];
	d->w[2] = t->w[2];
	d->w[3] = t->w[3];
	if (zero)
		t->w[0] = t->w[1] = t->w[2] = t->w[3] = 0;
	VG_CELL_FREE(t);
}

/* Step 7 (below) while recording, its events as one RAV_RAW_MOVE record
 * (rav-record.h): the fix-up slots are found from t's words before they
 * are copied (a slot inside t is the same word of d, a child that is t
 * itself is d), recorded, then written.  False, with nothing done, when the
 * record does not fit under the bound or a debugger is installed (a
 * watched cell whose word is fixed up holds the thread right after that
 * fix-up's event): move_words_t then records the events one by one.  Each
 * fix-up's old value is t's word k, its new one d's. */
static inline __attribute__((always_inline)) bool move_recorded(rav_cell *t, rav_cell *d, rav_type type, bool zero,
								unsigned *fixups, uint32_t wrap, uint32_t x, bool clk)
{
#if RAV_TRACING
	if (RAV_UNLIKELY(__atomic_load_n(&rav__debugger, __ATOMIC_RELAXED) != NULL))
		return false;
	/* The slots, in the record's order (the referrers', then the
	 * children's back-links), and the value each fix-up writes there
	 * (d, or d's field): the fix-ups below write val[i] into slot[i]
	 * instead of finding word k from ks for each and testing its cell
	 * for a watch, ~7 instructions a fix-up more (callgrind, rav-bench
	 * trace-record). */
	uintptr_t *slot[3];
	uintptr_t val[3];
	uint32_t n = 0, ks = 0;
	if (type == RAV_TYPE_REF) {
		/* (never inside t: a reference raviolo is not its own referrer) */
		slot[0] = (uintptr_t *)t->w[RAV_W_BACK1];
		slot[1] = (uintptr_t *)t->w[RAV_W_BACK2];
		rav_assert(*slot[0] == (uintptr_t)t && *slot[1] == (uintptr_t)t);
		val[0] = val[1] = (uintptr_t)d;
		n = 2;
	} else {
		uintptr_t *b = (uintptr_t *)t->w[RAV_W_BACK];
		if (b) {
			rav_assert(*b == (uintptr_t)t);
			slot[0] = cell_of(b) == t ? (uintptr_t *)((char *)b - (char *)t + (char *)d) : b;
			val[0] = (uintptr_t)d;
			n = 1;
		}
	}
	/* children's back-links (a reference raviolo's target: field 0) */
	unsigned mask = type_refmask(type);
	for (unsigned f = 0; f < 2; f++) {
		if (!(mask & (1u << f)) || !t->w[1 + f])
			continue;
		rav_cell *c = (rav_cell *)t->w[1 + f];
		uintptr_t *bl = c == t ? &d->w[RAV_W_BACK] : backlink_slot_of(c, &t->w[1 + f]);
		rav_assert(c == t ? t->w[RAV_W_BACK] == (uintptr_t)&t->w[1 + f] : *bl == (uintptr_t)&t->w[1 + f]);
		rav_assert(n < 3);
		ks |= (1u + f) << (2 * n);
		val[n] = (uintptr_t)&d->w[1 + f];
		slot[n++] = bl;
	}
	unsigned recs = n >= 2 ? 2 : 1;
	uint32_t next;
	/* clk: a due clock reading first (rav__compound_room_t) in the one-move
	 * compactions (settle_t, free_alone_t), not in the sweep's moves:
	 * there it cost rav__compact's untraced path 5 instructions a call
	 * (a saved register and a frame), for 0.1 per event recording */
	rav_raw_event *e = rav__compound_room_t(clk, recs, &next);
	if (RAV_UNLIKELY(!e))
		return false;
	rav__put_kind_x(e, RAV_RAW_MOVE | (n | ks << 2 | wrap) << 8, x);
	e->a = (uintptr_t)t;
	e->b = (uintptr_t)d;
	e->c = n ? (uintptr_t)slot[0] : 0;
	if (n >= 2)
		rav__compound_words(&e[1], (uintptr_t)slot[1], n > 2 ? (uintptr_t)slot[2] : 0);
	rav__compound_done(next);
	move_words_only(t, d, zero);
	*fixups = n;
	/* No debugger (tested above), so no watch test: a watched cell's flag
	 * is only a debugger's, and one left by a debugger since gone is
	 * transient, never recorded, and ignored as the untraced move
	 * ignores it (move_words_untraced). */
	for (uint32_t i = 0; i < n; i++)
		*slot[i] = val[i];
	return true;
#else
	(void)t, (void)d, (void)type, (void)zero, (void)fixups, (void)wrap, (void)x;
	return false;
#endif
}

/* Where the back-link naming `slot` is in the cell p that slot refers to,
 * when the caller knows that h holds no reference raviolo (no_refs: h's
 * st.ref_cells is 0, an exact count rav_heap_check verifies): word
 * RAV_W_BACK, found without reading p.  Only a reference raviolo has its
 * back-link elsewhere, and finding out whether p is one means reading its
 * type word: a cache miss when p is cold (the successor of a popped list
 * head, the old head of a list pushed onto), and a load that misses holds
 * up the retirement of every instruction after it, where the store alone
 * would wait in the store buffer while the next instructions (the next
 * step's misses) go on. */
static inline __attribute__((always_inline)) uintptr_t *backlink_slot_in(rav_cell *p, const uintptr_t *slot,
									   bool no_refs)
{
	rav_assert(!no_refs || cell_type(p) != RAV_TYPE_REF);
	return no_refs ? &p->w[RAV_W_BACK] : backlink_slot_of(p, slot);
}

/* Step 7 untraced (move_words_z below): the same fix-ups in another
 * order, children first, then the copy, then the slot naming t.  A cell
 * that refers to itself (its back-link is its own field f) then needs no
 * test: the child fix-up of field f writes t's own back-link word, which
 * the copy carries to d, and the slot it names is d's field f, written
 * last.  (The recorded order, MOVE then the slot naming t then the
 * children, is move_words_z's with tr: a debugger sees each fix-up's
 * event after the MOVE.)  Callgrind, churn-probe immediate: 12 fewer
 * instructions per move than the RELOC tests of the recorded order. */
static inline __attribute__((always_inline)) unsigned move_words_untraced(rav_cell *t, rav_cell *d, rav_type type,
									   bool zero, bool no_refs)
{
	unsigned fixups = 0;
	unsigned mask = type_refmask(type);
	/* Children's back-links named t's fields; now d's (a child that is t
	 * itself: t's own back-link word, copied below). */
	rav_cell *c0 = (rav_cell *)t->w[1], *c1 = (rav_cell *)t->w[2];
	if ((mask & 1) && c0) {
		*backlink_slot_in(c0, &t->w[1], no_refs) = (uintptr_t)&d->w[1];
		fixups++;
	}
	if ((mask & 2) && c1) {
		*backlink_slot_in(c1, &t->w[2], no_refs) = (uintptr_t)&d->w[2];
		fixups++;
	}
	move_words_only(t, d, zero);
	/* The slot(s) naming t now name d (never inside t for a reference
	 * raviolo: it is not its own referrer; a normal cell's own field was
	 * made d's above). */
	if (!no_refs && type == RAV_TYPE_REF) {
		*(uintptr_t *)d->w[RAV_W_BACK1] = (uintptr_t)d;
		*(uintptr_t *)d->w[RAV_W_BACK2] = (uintptr_t)d;
		return fixups + 2;
	}
	uintptr_t *b = (uintptr_t *)d->w[RAV_W_BACK];
	if (b) {
		*b = (uintptr_t)d;
		fixups++;
	}
	return fixups;
}

/* Step 7: move live cell t into hole (or, on arrival, empty cell) d: its
 * words and their fix-ups, without the heap's counters (move_cell_z counts;
 * the one-pass compaction counts in locals, since every store into a cell
 * may alias the heap's fields and would make the compiler reload them).
 * With `zero` false the caller empties t's page itself afterwards (the
 * one-pass compaction: truncate_to).  Returns the fix-ups made.
 * move_words_nr: the same where the heap holds no reference raviolo
 * (backlink_slot_in), untraced. */
/* move_words_z's traced move when its record did not pass the bound:
 * again with a due clock reading taken first (rav__compound_room_clk), else
 * its events one by one.  Out of line: the clock's call inline cost
 * rav__compact's untraced path a saved register and a frame. */
static __attribute__((noinline, unused)) unsigned move_words_traced_slow(rav_cell *t, rav_cell *d, bool zero, bool no_refs)
{
	const bool tr = true;
	rav_type type = cell_type(t);
	unsigned fixups = 0;
	rav_assert(t != d);
	rav_assert(!cell_gone(t) && type != RAV_TYPE_EMPTY && type != RAV_TYPE_HEADER && type != RAV_TYPE_ROOT);
	rav_assert(cell_type(d) == RAV_TYPE_DEAD || cell_type(d) == RAV_TYPE_EMPTY);
	if (move_recorded(t, d, type, zero, &fixups, 0, 0, true))
		return fixups;
	RECT(tr, RAV_EV_MOVE, 0, 0, t, d, 0);
	move_words_only(t, d, zero);
#define RELOC(slotp) (cell_of(slotp) == t ? (uintptr_t *)((char *)(slotp) - (char *)t + (char *)d) : (slotp))
	/* The slot(s) naming t now name d. */
	if (!no_refs && type == RAV_TYPE_REF) {
		for (int k = RAV_W_BACK1; k <= RAV_W_BACK2; k++) {
			uintptr_t *s = (uintptr_t *)d->w[k]; /* never inside t: a reference raviolo is not its own referrer */
			RECT(tr, RAV_EV_FIXUP, 0, 0, s, *s, d);
			RAV_WATCH_TEST(tr, cell_of(s)->w[0], RAV_EV_FIXUP, cell_of(s), s, *s, d);
			*s = (uintptr_t)d;
		}
		fixups = 2;
	} else if (d->w[RAV_W_BACK]) {
		/* A cell referring to itself: the slot moved with it.  Its
		 * back-link is fixed (and recorded) with the children below. */
		uintptr_t *s = RELOC((uintptr_t *)d->w[RAV_W_BACK]);
		RECT(tr, RAV_EV_FIXUP, 0, 0, s, *s, d);
		RAV_WATCH_TEST(tr, cell_of(s)->w[0], RAV_EV_FIXUP, cell_of(s), s, *s, d);
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
		uintptr_t *bl = backlink_slot_in(c, &t->w[1 + f], no_refs);
		RECT(tr, RAV_EV_FIXUP, 0, 0, bl, *bl, &d->w[1 + f]);
		RAV_WATCH_TEST(tr, c->w[0], RAV_EV_FIXUP, c, bl, *bl, &d->w[1 + f]);
		*bl = (uintptr_t)&d->w[1 + f];
		fixups++;
	}
#undef RELOC
	/* After its fix-ups: a debugger holding here sees the move whole. */
	RAV_WATCH_TEST(tr, d->w[0], RAV_EV_MOVE, d, t, d, 0);
	return fixups;
}

static inline __attribute__((always_inline)) unsigned move_words_z(rav_cell *t, rav_cell *d, bool tr, bool zero,
								   bool no_refs)
{
	rav_type type = cell_type(t);
	unsigned fixups = 0;
	rav_assert(t != d);
	rav_assert(!cell_gone(t) && type != RAV_TYPE_EMPTY && type != RAV_TYPE_HEADER && type != RAV_TYPE_ROOT);
	rav_assert(cell_type(d) == RAV_TYPE_DEAD || cell_type(d) == RAV_TYPE_EMPTY);
	if (!tr)
		return move_words_untraced(t, d, type, zero, no_refs);
	if (RAV_LIKELY(move_recorded(t, d, type, zero, &fixups, 0, 0, false)))
		return fixups;
	return move_words_traced_slow(t, d, zero, no_refs);
}

static inline __attribute__((always_inline)) unsigned move_words_t(rav_cell *t, rav_cell *d, bool tr, bool zero)
{
	return move_words_z(t, d, tr, zero, false);
}

static inline __attribute__((always_inline)) unsigned move_words_nr(rav_cell *t, rav_cell *d, bool zero)
{
	return move_words_z(t, d, false, zero, true);
}

static inline __attribute__((always_inline)) void move_cell_z(rav_heap *h, rav_cell *t, rav_cell *d, bool tr,
							       bool zero)
{
	rav_assert(h->dying == NULL);
	if (h->pinned == t)
		h->pinned = d;
	unsigned fixups = move_words_t(t, d, tr, zero);
	h->st.moves++;
	h->st.fixups += fixups;
	h->gen++;
}

static inline __attribute__((always_inline)) void move_cell_t(rav_heap *h, rav_cell *t, rav_cell *d, bool tr)
{
	move_cell_z(h, t, d, tr, true);
}

static inline void move_cell(rav_heap *h, rav_cell *t, rav_cell *d)
{
	move_cell_t(h, t, d, rav__tracing);
}

/* Step 8: the top cell has just become empty. */
static inline void shrink(rav_heap *h)
{
	rav_assert(h->top > 1 && h->bump == &h->top_page[h->top]);
	/* (the same page: bump follows top; limit stays as it is, the page's
	 * end or NULL while holes wait) */
	h->top--;
	h->bump--;
	if (RAV_UNLIKELY(h->top == 1))
		rav__top_page_emptied(h);
}

static inline void prefetch_neighbours(const rav_cell *c)
{
	rav_type t = cell_type(c);
	if (t == RAV_TYPE_DEAD)
		return;
	if (t == RAV_TYPE_REF) {
		rav_prefetch((void *)c->w[RAV_W_FWD]);
		rav_prefetch((void *)c->w[RAV_W_BACK1]);
		rav_prefetch((void *)c->w[RAV_W_BACK2]);
		return;
	}
	unsigned mask = type_refmask(t);
	if ((mask & 1) && c->w[1])
		rav_prefetch((void *)c->w[1]);
	if ((mask & 2) && c->w[2])
		rav_prefetch((void *)c->w[2]);
	if (c->w[RAV_W_BACK])
		rav_prefetch((void *)c->w[RAV_W_BACK]);
}

/* A one-move compaction while recording (settle_t, free_alone_t): live
 * top cell t moves into hole d, and its events, with `wrap`'s (rav-record.h:
 * RAV_RAW_MOVE_FREE for d's FREE first, _BEGIN), go into one RAV_RAW_MOVE
 * record when it passes the bound and no debugger is installed; else one
 * by one as before (the FREE only if asked: its caller's watch test is
 * then the caller's).  COMPACT_END goes in the record too unless the move
 * empties the top page (h->top == 2: the shrink after it releases the page
 * first), and then, as when the record did not pass, the caller records it:
 * returns whether it did, with the fix-ups in *fixups. */
static inline __attribute__((always_inline)) bool move_one_recorded(rav_heap *h, rav_cell *t, rav_cell *d,
								     uint32_t wrap, unsigned *fixups, bool tr)
{
	if (h->top != 2)
		wrap |= RAV_RAW_MOVE_END;
	if (RAV_LIKELY(move_recorded(t, d, cell_type(t), true, fixups, wrap, h->id, tr)))
		return (wrap & RAV_RAW_MOVE_END) != 0;
	if (wrap & RAV_RAW_MOVE_FREE)
		RECT(true, RAV_EV_FREE, wrap >> RAV_RAW_MOVE_TYPE_SHIFT, 0, d, 0, 0);
	RECT(true, RAV_EV_COMPACT_BEGIN, RAV_COMPACT_FREE, h->id, 0, 0, 0);
	*fixups = move_words_t(t, d, true, true);
	return false;
}

/* Step 5.  The common case of a random free (one hole, a live cell on
 * top that moves into it) is done here without the general loop. */
static inline __attribute__((always_inline)) void settle_t(rav_heap *h, bool tr)
{
	rav_cell *d = h->dead;
	if (!d || h->mode != RAV_FREE_IMMEDIATE || h->kind != RAV_HEAP_THREAD)
		return;
	if (RAV_LIKELY(d->w[1] == 0 && !h->dying)) {
		rav_cell *t = &h->top_page[h->top - 1];
		if (t != d && cell_type(t) != RAV_TYPE_DEAD) {
			/* (a lone hole is in no run: runs have two cells or more) */
			h->dead = h->dead_tail = NULL;
			h->limit = &h->top_page[CELLS]; /* no hole left: bumping resumes */
			h->st.dead_cells--;
#if RAV_TRACING
			if (tr) {
				unsigned fixups;
				rav_assert(h->dying == NULL);
				if (h->pinned == t)
					h->pinned = d;
				bool ended = move_one_recorded(h, t, d, RAV_RAW_MOVE_BEGIN, &fixups, tr);
				h->st.moves++;
				h->st.fixups += fixups;
				h->gen++;
				shrink(h);
				if (!ended)
					RECT(tr, RAV_EV_COMPACT_END, 0, h->id, 1, 0, 0);
				return;
			}
#endif
			move_cell_t(h, t, d, tr);
			shrink(h);
			return;
		}
	}
	rav__compact(h, 0, RAV_COMPACT_FREE);
}

static inline void settle(rav_heap *h)
{
	settle_t(h, rav__tracing);
}

/* Steps 4-8 at once for the commonest free of all (a list pop, a leaf
 * overwritten): cell c, a normal raviolo that lost its only referrer and
 * holds no reference, dies in an immediate-mode thread heap that has no
 * hole and nothing dying.  Its hole would be pushed on the hole list only
 * for settle to pop it again at once: instead the top cell moves straight
 * into it.  The trace sees what make_dead + settle record (FREE, then the
 * compaction's MOVE and FIXUPs); c being the top cell itself (a trim) takes
 * that general path. */
static inline __attribute__((always_inline)) void free_alone_t(rav_heap *h, rav_cell *c, bool tr)
{
	rav_cell *t = &h->top_page[h->top - 1];
	rav_assert(h->mode == RAV_FREE_IMMEDIATE && h->kind == RAV_HEAP_THREAD && !h->dead && !h->dying &&
		   !h->cascading && !has_children(c) && c->w[RAV_W_BACK] == 0);
	if (RAV_UNLIKELY(t == c)) {
		make_dead_t(h, c, tr);
		settle_t(h, tr);
		return;
	}
	uintptr_t tw = c->w[0];
	rav_type type = (rav_type)(tw & RAV_TYPE_MASK);
	rav_assert(type != RAV_TYPE_DEAD && type != RAV_TYPE_EMPTY && type != RAV_TYPE_HEADER && type != RAV_TYPE_REF);
	if (h->pinned == t)
		h->pinned = c;
	unsigned fixups;
	bool ended = false;
#if RAV_TRACING
	if (tr && RAV_LIKELY(!(tw & RAV_FLAG_WATCH)) &&
	    RAV_LIKELY(__atomic_load_n(&rav__debugger, __ATOMIC_RELAXED) == NULL)) {
		/* FREE, COMPACT_BEGIN, the move and (most often) COMPACT_END as one record */
		c->w[0] = RAV_TYPE_DEAD; /* (what move_words_t expects of a hole) */
		ended = move_one_recorded(h, t, c,
					  RAV_RAW_MOVE_FREE | RAV_RAW_MOVE_BEGIN | (uint32_t)type << RAV_RAW_MOVE_TYPE_SHIFT,
					  &fixups, tr);
	} else
#endif
	{
		RECT(tr, RAV_EV_FREE, type, 0, c, 0, 0);
		RAV_WATCH_TEST(tr, tw, RAV_EV_FREE | (type << 8), c, c, 0, 0);
		c->w[0] = RAV_TYPE_DEAD; /* (what move_words_t expects of a hole) */
		RECT(tr, RAV_EV_COMPACT_BEGIN, RAV_COMPACT_FREE, h->id, 0, 0, 0);
		fixups = move_words_t(t, c, tr, true);
	}
	/* (the free's counts and the move's, together) */
	h->st.live_cells--;
	h->st.frees++;
	h->st.moves++;
	h->st.fixups += fixups;
	h->gen += 2;
	shrink(h);
	if (!ended)
		RECT(tr, RAV_EV_COMPACT_END, 0, h->id, 1, 0, 0);
}

/* An API call is about to free: the top cell will probably move into the
 * hole, so start loading the words its move fixes while the free runs. */
static inline void prefetch_top(rav_heap *h)
{
	if (h->top_page && h->top > 1)
		prefetch_neighbours(&h->top_page[h->top - 1]);
}

#endif /* RAV_HEAP_INLINE_H */
