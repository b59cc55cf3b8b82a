/* heap.c - thread heaps: allocation, reference trees, freeing, compaction.
 *
 * The three invariants maintained here (checked by rav_heap_check):
 *  1. No gaps: the live cells of a thread heap fill its data pages in list
 *     order up to the top, except dead cells queued on `dead` (deferred
 *     compaction).  Allocation bumps the top (or reuses a queued hole);
 *     compaction moves the top cell into a hole.
 *  2. Every reference is known in both directions: a normal raviolo's
 *     back-link names the one slot that refers to it; with several referrers
 *     the slot refers to a reference raviolo whose two back-links name its
 *     two referring slots and whose forward link leads on towards the target.
 *     A reference raviolo's scalar counts the leaf slots above it, so a new
 *     referrer is inserted on the lighter side: the tree stays balanced and a
 *     dereference costs O(log k) hops for k referrers.
 *  3. Moving a cell touches O(1) words: the slot(s) naming it and the
 *     back-links of its children.
 *
 * Frees never recurse: cells whose last referrer went away are pushed on a
 * work list threaded through their back-link word (free once they have no
 * referrer) and drained iteratively; dead cells are linked through their
 * payload words.  Compaction runs after the operation that freed, or in
 * bounded steps (rav_compact) in deferred mode.
 */
#include <stdio.h>
#include <stdlib.h>

#include "rav-private.h"

atomic_uint rav__next_heap_id;

static _Thread_local rav_heap *self_heap;
static pthread_key_t self_key;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

/* ---- heap lifetime ---- */

static void self_destructor(void *arg)
{
	rav_heap *h = arg;
	if (h) {
		self_heap = h; /* events recorded during teardown still belong to this thread */
		rav__site_clear(); /* no call of the program tears it down */
		rav__heap_destroy(h);
		rav__record_thread_end(h);
		self_heap = NULL;
		free(h);
	}
}

static void make_key(void)
{
	pthread_key_create(&self_key, self_destructor);
#if RAV_VALGRIND
	ANNOTATE_HAPPENS_BEFORE(&self_key); /* helgrind does not see pthread_once's ordering */
#endif
}

void rav__heap_init(rav_heap *h, rav_heap_kind kind)
{
	memset(h, 0, sizeof *h);
	h->id = atomic_fetch_add(&rav__next_heap_id, 1) + 1;
	h->kind = kind;
	h->gen = 1;
}

rav_heap *rav__self(void)
{
	return self_heap;
}

rav_heap *rav_heap_self(void)
{
	if (RAV_LIKELY(self_heap != NULL))
		return self_heap;
	if (rav__pool_ensure() != RAV_OK)
		return NULL;
	pthread_once(&self_once, make_key);
#if RAV_VALGRIND
	ANNOTATE_HAPPENS_AFTER(&self_key);
#endif
	rav_heap *h = malloc(sizeof *h);
	if (!h) {
		rav__fail(RAV_ENOMEM, "rav_heap_self: out of memory for the heap structure");
		return NULL;
	}
	rav__heap_init(h, RAV_HEAP_THREAD);
	self_heap = h;
	pthread_setspecific(self_key, h);
	rav__record_thread_start(h);
	return h;
}

void rav_thread_exit(void)
{
	RAV_SITE_ENTER();
	rav_heap *h = self_heap;
	if (!h)
		return;
	pthread_setspecific(self_key, NULL);
	rav__heap_destroy(h);
	rav__record_thread_end(h);
	self_heap = NULL;
	free(h);
}

unsigned rav_heap_id(const rav_heap *h)
{
	return h ? h->id : 0;
}

uint32_t rav_heap_gen(const rav_heap *h)
{
	return h->gen;
}

/* Give every page back to the pool.  Cells are not freed one by one: the
 * whole heap goes, so there is nothing left to fix up. */
void rav__heap_destroy(rav_heap *h)
{
	h->dying = true;
	for (int pass = 0; pass < 2; pass++) {
		rav_cell *p = pass == 0 ? h->first : h->root_first;
		while (p) {
			rav_cell *next = (rav_cell *)p->w[PH_NEXT];
			unsigned fill = pass == 0 ? (p == h->top_page ? h->top : page_fill(p))
						  : (p == h->root_first ? h->root_bump : CELLS);
			/* Root cells are plain memory to memcheck (they never move);
			 * data cells are mempool chunks. */
			for (unsigned i = 1; pass == 0 && i < fill; i++) {
				(void)i;
				VG_CELL_FREE(&p[i]);
			}
			VG_OPEN(&p[1], RAV_PAGE_SIZE - RAV_CELL_SIZE);
			memset(&p[1], 0, RAV_PAGE_SIZE - RAV_CELL_SIZE);
			VG_CLOSE(&p[1], RAV_PAGE_SIZE - RAV_CELL_SIZE);
			rav__page_release(h, p);
			p = next;
		}
	}
	free(h->root_stack);
	h->root_stack = NULL;
	h->root_n = h->root_cap = 0;
	h->first = h->last = h->top_page = h->root_first = NULL;
	h->dead = NULL;
	h->top = 0;
	h->st.live_cells = h->st.ref_cells = h->st.dead_cells = 0;
	h->st.pages = h->st.root_pages = 0;
	h->gen++;
}

/* ---- page list ---- */

void rav__page_append(rav_heap *h, rav_cell *p)
{
	p->w[PH_NEXT] = 0;
	p->w[PH_PREV] = (uintptr_t)h->last;
	p->w[PH_OWNER] = (uintptr_t)h;
	if (h->last)
		h->last->w[PH_NEXT] = (uintptr_t)p;
	else
		h->first = p;
	h->last = p;
	h->st.pages++;
}

void rav__page_unlink(rav_heap *h, rav_cell *p)
{
	rav_cell *prev = (rav_cell *)p->w[PH_PREV];
	rav_cell *next = (rav_cell *)p->w[PH_NEXT];
	if (prev)
		prev->w[PH_NEXT] = (uintptr_t)next;
	else
		h->first = next;
	if (next)
		next->w[PH_PREV] = (uintptr_t)prev;
	else
		h->last = prev;
	p->w[PH_NEXT] = p->w[PH_PREV] = 0;
	h->st.pages--;
}

/* Move the top to a fresh page: the spare if there is one, else the pool. */
static bool grow(rav_heap *h)
{
	rav_cell *next = h->top_page ? (rav_cell *)h->top_page->w[PH_NEXT] : NULL;
	if (!next) {
		unsigned kind = h->kind == RAV_HEAP_MESSAGE ? RAV_PAGE_BUFFER : RAV_PAGE_HEAP;
		next = rav__page_acquire(h, kind);
		if (!next)
			return false;
		rav__page_append(h, next);
	}
	if (h->top_page)
		page_set_fill(h->top_page, h->top);
	h->top_page = next;
	h->top = 1;
	return true;
}

/* Hysteresis: keep at most one completely empty page. */
static void trim_pages(rav_heap *h)
{
	rav_cell *p = (rav_cell *)h->top_page->w[PH_NEXT];
	if (!p)
		return;
	if (h->top > 1)
		p = (rav_cell *)p->w[PH_NEXT]; /* keep one spare after a non-empty top page */
	while (p) {
		rav_cell *next = (rav_cell *)p->w[PH_NEXT];
		rav__page_unlink(h, p);
		rav__page_release(h, p);
		p = next;
	}
}

rav_cell *rav__top_cell(rav_heap *h)
{
	if (!h->top_page || h->top <= 1)
		return NULL;
	return &h->top_page[h->top - 1];
}

/* The top cell has just become empty. */
void rav__shrink(rav_heap *h)
{
	h->top--;
	if (h->top == 1) {
		rav_cell *prev = (rav_cell *)h->top_page->w[PH_PREV];
		page_set_fill(h->top_page, 1);
		if (prev) {
			h->top_page = prev;
			h->top = CELLS;
		}
		trim_pages(h);
	}
}

/* ---- allocation ---- */

rav_cell *rav__alloc(rav_heap *h, rav_type t)
{
	rav_cell *c;
	if (RAV_UNLIKELY(h->dead != NULL) && (c = rav__dead_pop(h)) != NULL) {
		/* reuse a queued hole */
	} else {
		if (RAV_UNLIKELY(!h->top_page || h->top == CELLS)) {
			if (!grow(h))
				return NULL;
		}
		c = &h->top_page[h->top++];
		VG_CELL_ALLOC(c);
	}
	c->w[0] = t;
	c->w[1] = 0;
	c->w[2] = 0;
	c->w[3] = 0;
	REC(RAV_EV_ALLOC, t, 0, c, 0, 0);
	h->st.allocs++;
	h->st.live_cells++;
	if (t == RAV_TYPE_REF)
		h->st.ref_cells++;
	return c;
}

/* ---- dead cells ----
 *
 * Holes wait on a doubly linked list through words 1 (next) and 2 (prev),
 * most recent first.  A cascade kills cells roughly in address order, so
 * the dead cell compaction finds at the top is usually the list's head and
 * unlinking it touches only its neighbour. */

void rav__dead_push(rav_heap *h, rav_cell *c)
{
	c->w[0] = RAV_TYPE_DEAD;
	c->w[1] = (uintptr_t)h->dead;
	c->w[2] = 0;
	if (h->dead)
		h->dead->w[2] = (uintptr_t)c;
	h->dead = c;
	h->st.dead_cells++;
}

void rav__dead_unlink(rav_heap *h, rav_cell *c)
{
	rav_cell *next = (rav_cell *)c->w[1];
	rav_cell *prev = (rav_cell *)c->w[2];
	if (prev)
		prev->w[1] = (uintptr_t)next;
	else
		h->dead = next;
	if (next)
		next->w[2] = (uintptr_t)prev;
	h->st.dead_cells--;
}

rav_cell *rav__dead_pop(rav_heap *h)
{
	rav_cell *c = h->dead;
	if (c)
		rav__dead_unlink(h, c);
	return c;
}

void rav__make_dead(rav_heap *h, rav_cell *c)
{
	rav_type t = cell_type(c);
	REC(RAV_EV_FREE, t, 0, c, 0, 0);
	if (t == RAV_TYPE_REF)
		h->st.ref_cells--;
	h->st.live_cells--;
	h->st.frees++;
	h->gen++;
	rav__dead_push(h, c);
}

/* ---- reference trees ---- */

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

static inline void set_scalar_rec(rav_cell *c, uintptr_t scalar)
{
	uintptr_t nw = (c->w[0] & ((1u << RAV_SCALAR_SHIFT) - 1)) | (scalar << RAV_SCALAR_SHIFT);
	/* The collector's mark and the dying flag are transient and never recorded. */
	REC(RAV_EV_TYPE_WORD, 0, 0, c, c->w[0] & ~(RAV_FLAG_MARK | RAV_FLAG_DYING),
	    nw & ~(RAV_FLAG_MARK | RAV_FLAG_DYING));
	c->w[0] = nw;
}

rav_cell *rav__deref_slot(uintptr_t v)
{
	rav_cell *c = (rav_cell *)v;
	while (c && cell_type(c) == RAV_TYPE_REF)
		c = (rav_cell *)c->w[RAV_W_FWD];
	return c;
}

/* Make the empty slot refer to target (a normal raviolo). */
static rav_status attach(rav_heap *h, uintptr_t *slot, rav_cell *target, unsigned evkind)
{
	uintptr_t back = target->w[RAV_W_BACK];
	if (!back) {
		WRITE_WORD(evkind, slot, target);
		WRITE_WORD(RAV_EV_LINK, &target->w[RAV_W_BACK], slot);
		return RAV_OK;
	}
	/* Walk up from the target to the lightest leaf slot and split it. */
	uintptr_t *leaf = (uintptr_t *)back;
	while (is_fwd_slot(leaf)) {
		rav_cell *r = cell_of(leaf);
		uintptr_t *s1 = (uintptr_t *)r->w[RAV_W_BACK1];
		uintptr_t *s2 = (uintptr_t *)r->w[RAV_W_BACK2];
		leaf = leaf_weight(s1) <= leaf_weight(s2) ? s1 : s2;
	}
	rav_cell *n = rav__alloc(h, RAV_TYPE_REF);
	if (!n)
		return RAV_ENOMEM;
	rav_cell *p = (rav_cell *)*leaf;
	REC(RAV_EV_REFRAV_INSERT, 0, 0, n, target, leaf);
	set_scalar_rec(n, 2);
	WRITE_WORD(RAV_EV_LINK, &n->w[RAV_W_FWD], p);
	WRITE_WORD(RAV_EV_LINK, &n->w[RAV_W_BACK1], leaf);
	WRITE_WORD(RAV_EV_LINK, &n->w[RAV_W_BACK2], slot);
	WRITE_WORD(RAV_EV_LINK, backlink_slot_of(p, leaf), &n->w[RAV_W_FWD]);
	WRITE_WORD(RAV_EV_LINK, leaf, n);
	WRITE_WORD(evkind, slot, n);
	for (rav_cell *q = p; cell_type(q) == RAV_TYPE_REF; q = (rav_cell *)q->w[RAV_W_FWD])
		set_scalar_rec(q, cell_scalar(q) + 1);
	return RAV_OK;
}

void rav__attach(rav_heap *h, uintptr_t *slot, rav_cell *target, unsigned evkind)
{
	(void)attach(h, slot, target, evkind);
}

/* Work list of cells that lost their last referrer. */
/* Queue a cell that lost its last referrer.  In immediate mode the cascade
 * runs now; in deferred mode it runs in bounded steps from rav_compact, so
 * dropping a huge structure costs O(1) in the dropping call.  Queued cells
 * keep their fields (their children stay consistent) and carry
 * RAV_FLAG_DYING; nothing moves while the queue is non-empty. */
void rav__kill(rav_heap *h, rav_cell *c)
{
	c->w[0] |= RAV_FLAG_DYING;
	c->w[RAV_W_BACK] = (uintptr_t)h->work;
	h->work = c;
	h->st.dying_cells++;
	h->gen++;
	if (!h->draining && (h->mode == RAV_FREE_IMMEDIATE || h->kind == RAV_HEAP_MESSAGE))
		rav__drain(h, 0);
}

/* Empty a slot.  With gc_mode, a normal target left without referrer is not
 * killed (the collector frees it in its sweep). */
static void detach_mode(rav_heap *h, uintptr_t *slot, unsigned evkind, bool gc_mode)
{
	rav_cell *p = (rav_cell *)*slot;
	if (!p)
		return;
	if (cell_type(p) != RAV_TYPE_REF) {
		REC(evkind, 0, 0, slot, p, 0);
		*slot = 0;
		WRITE_WORD(RAV_EV_LINK, &p->w[RAV_W_BACK], 0);
		if (!gc_mode)
			rav__kill(h, p);
		return;
	}
	/* Splice the reference raviolo out: its other referrer takes its target. */
	uintptr_t *other = (uintptr_t *)(p->w[RAV_W_BACK1] == (uintptr_t)slot ? p->w[RAV_W_BACK2] : p->w[RAV_W_BACK1]);
	rav_cell *q = (rav_cell *)p->w[RAV_W_FWD];
	REC(RAV_EV_REFRAV_REMOVE, 0, 0, p, 0, 0);
	REC(evkind, 0, 0, slot, p, 0);
	*slot = 0;
	WRITE_WORD(RAV_EV_LINK, other, q);
	WRITE_WORD(RAV_EV_LINK, backlink_slot_of(q, &p->w[RAV_W_FWD]), other);
	for (rav_cell *r = q; cell_type(r) == RAV_TYPE_REF; r = (rav_cell *)r->w[RAV_W_FWD])
		set_scalar_rec(r, cell_scalar(r) - 1);
	rav__make_dead(h, p);
}

void rav__detach(rav_heap *h, uintptr_t *slot, unsigned evkind)
{
	detach_mode(h, slot, evkind, false);
}

void rav__detach_gc(rav_heap *h, uintptr_t *slot)
{
	detach_mode(h, slot, RAV_EV_REF_CLEAR, true);
}

/* Run the kill cascade for at most `budget` cells (0: to the end).
 * A child held only by a dying cell dies too: it is queued without
 * clearing the parent's field or its own back-link (both cells' words are
 * about to become unspecified).  Shared children lose one referrer. */
size_t rav__drain(rav_heap *h, size_t budget)
{
	size_t done = 0;
	h->draining = true;
	while (h->work && (budget == 0 || done < budget)) {
		rav_cell *d = h->work;
		h->work = (rav_cell *)d->w[RAV_W_BACK];
		h->st.dying_cells--;
		done++;
		unsigned mask = type_refmask(cell_type(d));
		/* Field 1 is queued first so field 0 is visited first: structures
		 * built depth-first are then torn down in address order. */
		for (int f = 1; f >= 0; f--) {
			rav_cell *c = (rav_cell *)d->w[1 + f];
			if (!(mask & (1u << f)) || !c)
				continue;
			if (cell_type(c) == RAV_TYPE_REF) {
				rav__detach(h, &d->w[1 + f], RAV_EV_REF_CLEAR);
			} else {
				c->w[0] |= RAV_FLAG_DYING;
				c->w[RAV_W_BACK] = (uintptr_t)h->work;
				h->work = c;
				h->st.dying_cells++;
			}
		}
		rav__make_dead(h, d);
	}
	h->draining = false;
	return done;
}

/* Move a reference from slot `from` to the empty slot `to`. */
void rav__transfer(rav_heap *h, uintptr_t *from, uintptr_t *to, unsigned evkind)
{
	rav_cell *p = (rav_cell *)*from;
	if (!p)
		return;
	WRITE_WORD(evkind, to, p);
	WRITE_WORD(RAV_EV_LINK, backlink_slot_of(p, from), to);
	WRITE_WORD(RAV_EV_LINK, from, 0);
}

/* ---- moving and compaction ---- */

void rav__move(rav_heap *h, rav_cell *t, rav_cell *d)
{
	rav_type type = cell_type(t);
	REC(RAV_EV_MOVE, 0, 0, t, d, 0);
	d->w[0] = t->w[0];
	d->w[1] = t->w[1];
	d->w[2] = t->w[2];
	d->w[3] = t->w[3];
	t->w[0] = t->w[1] = t->w[2] = t->w[3] = 0;
	VG_CELL_FREE(t);
	h->st.moves++;
	h->gen++;
	if (h->track[0] == t)
		h->track[0] = d;
	if (h->track[1] == t)
		h->track[1] = d;
#define RELOC(slotp) (cell_of(slotp) == t ? (uintptr_t *)((char *)(slotp) - (char *)t + (char *)d) : (slotp))
	/* The slot(s) naming t now name d. */
	if (type == RAV_TYPE_REF) {
		for (int k = RAV_W_BACK1; k <= RAV_W_BACK2; k++) {
			uintptr_t *s = (uintptr_t *)d->w[k]; /* never inside t: a reference raviolo is not its own referrer */
			REC(RAV_EV_FIXUP, 0, 0, s, *s, d);
			*s = (uintptr_t)d;
			h->st.fixups++;
		}
	} else if (d->w[RAV_W_BACK]) {
		/* A cell referring to itself: the slot moved with it.  Its
		 * back-link is fixed (and recorded) with the children below. */
		uintptr_t *s = RELOC((uintptr_t *)d->w[RAV_W_BACK]);
		REC(RAV_EV_FIXUP, 0, 0, s, *s, d);
		*s = (uintptr_t)d;
		h->st.fixups++;
	}
	/* Children's back-links named t's fields; now d's. */
	unsigned mask = type_refmask(type);
	for (int f = 0; f < 2; f++) {
		if (!(mask & (1u << f)) || !d->w[1 + f])
			continue;
		rav_cell *c = (rav_cell *)d->w[1 + f];
		if (c == t)
			c = d;
		uintptr_t *bl = backlink_slot_of(c, &t->w[1 + f]);
		REC(RAV_EV_FIXUP, 0, 0, bl, *bl, &d->w[1 + f]);
		*bl = (uintptr_t)&d->w[1 + f];
		h->st.fixups++;
	}
#undef RELOC
}

size_t rav__compact(rav_heap *h, size_t max_moves, unsigned reason)
{
	if (h->work)
		rav__drain(h, 0);
	if (!h->dead || h->kind == RAV_HEAP_MESSAGE)
		return h->st.dead_cells;
	size_t moves = 0;
	REC(RAV_EV_COMPACT_BEGIN, reason, h->id, 0, 0, 0);
	while (h->dead && (max_moves == 0 || moves < max_moves)) {
		rav_cell *t = rav__top_cell(h);
		if (cell_type(t) == RAV_TYPE_DEAD) {
			rav__dead_unlink(h, t);
			REC(RAV_EV_TRIM, 0, 0, t, 0, 0);
			t->w[0] = t->w[1] = t->w[2] = t->w[3] = 0;
			VG_CELL_FREE(t);
			rav__shrink(h);
			continue;
		}
		rav_cell *d = rav__dead_pop(h);
		rav__move(h, t, d);
		rav__shrink(h);
		moves++;
	}
	REC(RAV_EV_COMPACT_END, 0, h->id, moves, 0, 0);
	return h->st.dead_cells;
}

void rav__after_free(rav_heap *h)
{
	if (h->st.dead_cells && h->mode == RAV_FREE_IMMEDIATE)
		rav__compact(h, 0, 0);
}

void rav_set_free_mode(rav_heap *h, rav_free_mode mode)
{
	RAV_SITE_ENTER();
	h->mode = mode;
	if (mode == RAV_FREE_IMMEDIATE) {
		rav__drain(h, 0);
		rav__after_free(h);
	}
}

/* One bounded step of deferred work: first the kill cascade, then moves. */
size_t rav_compact(rav_heap *h, size_t max_moves)
{
	RAV_SITE_ENTER();
	if (!h)
		return 0;
	size_t done = 0;
	if (h->work) {
		done = rav__drain(h, max_moves);
		if (h->work)
			return h->st.dead_cells + h->st.dying_cells;
	}
	if (max_moves && done >= max_moves)
		return h->st.dead_cells;
	return rav__compact(h, max_moves ? max_moves - done : 0, 2);
}

/* ---- roots ---- */

static bool root_stack_push(rav_heap *h, uintptr_t *slot)
{
	if (h->root_n == h->root_cap) {
		size_t cap = h->root_cap ? h->root_cap * 2 : 64;
		uintptr_t **grown = realloc(h->root_stack, cap * sizeof *grown);
		if (!grown)
			return false;
		h->root_stack = grown;
		h->root_cap = cap;
	}
	h->root_stack[h->root_n++] = slot;
	return true;
}

/* A fresh root cell: in root pages for thread heaps, in buffer pages for
 * messages (message roots travel with the pages and become holes on arrival). */
static rav_cell *root_cell_new(rav_heap *h)
{
	rav_cell *c;
	if (h->kind == RAV_HEAP_MESSAGE) {
		c = rav__alloc(h, RAV_TYPE_ROOT);
		if (!c)
			return NULL;
		h->st.live_cells--; /* root cells are bookkeeping, not heap objects */
		return c;
	}
	if (!h->root_first || h->root_bump == CELLS) {
		rav_cell *p = rav__page_acquire(h, RAV_PAGE_ROOT);
		if (!p)
			return NULL;
		if (h->root_first)
			page_set_fill(h->root_first, CELLS);
		p->w[PH_NEXT] = (uintptr_t)h->root_first;
		if (h->root_first)
			h->root_first->w[PH_PREV] = (uintptr_t)p;
		h->root_first = p;
		h->root_bump = 1;
		h->st.root_pages++;
	}
	c = &h->root_first[h->root_bump++];
	page_set_fill(h->root_first, h->root_bump);
	VG_OPEN(c, RAV_CELL_SIZE); /* plain memory, not a mempool chunk: the page may have held freed cells */
	c->w[0] = RAV_TYPE_ROOT;
	c->w[1] = c->w[2] = c->w[3] = 0;
	REC(RAV_EV_ALLOC, RAV_TYPE_ROOT, 0, c, 0, 0);
	return c;
}

uintptr_t *rav__root_slot_new(rav_heap *h)
{
	if (h->root_n == 0) {
		if (h->root_n + 3 > h->root_cap) {
			/* make sure the three slots fit before taking the cell */
			if (!root_stack_push(h, NULL))
				goto oom;
			h->root_n--;
			if (h->root_cap < 3) {
				uintptr_t **grown = realloc(h->root_stack, 64 * sizeof *grown);
				if (!grown)
					goto oom;
				h->root_stack = grown;
				h->root_cap = 64;
			}
		}
		rav_cell *c = root_cell_new(h);
		if (!c)
			return NULL;
		h->root_stack[h->root_n++] = &c->w[3];
		h->root_stack[h->root_n++] = &c->w[2];
		h->root_stack[h->root_n++] = &c->w[1];
	}
	uintptr_t *slot = h->root_stack[--h->root_n];
	REC(RAV_EV_ROOT_NEW, 0, 0, slot, 0, 0);
	return slot;
oom:
	rav__fail(RAV_ENOMEM, "rav_root_new: out of memory for the root table");
	return NULL;
}

void rav__root_slot_free(rav_heap *h, uintptr_t *slot)
{
	REC(RAV_EV_ROOT_FREE, 0, 0, slot, 0, 0);
	if (!root_stack_push(h, slot)) {
		/* The slot stays allocated but empty: a leak of 8 bytes, never a crash. */
		return;
	}
}

static uintptr_t *scratch_slot(rav_heap *h)
{
	if (!h->scratch)
		h->scratch = rav__root_slot_new(h);
	return h->scratch;
}

/* ---- checks ---- */

bool rav__check_ref(rav_heap *h, rav_ref r, const char *what)
{
	if (!r.cell) {
		rav__misuse(RAV_EINVAL, "%s: null reference", what);
		return false;
	}
	if (((uintptr_t)r.cell & (RAV_CELL_SIZE - 1)) != 0 || (char *)r.cell < rav__pool.base ||
	    (char *)r.cell >= rav__pool.base + rav__pool.reserved * (size_t)RAV_PAGE_SIZE) {
		rav__misuse(RAV_EINVAL, "%s: %p is not a raviolo address", what, (void *)r.cell);
		return false;
	}
	rav_cell *page = page_of(r.cell);
	if (page_owner(page) == NULL) {
		rav__misuse(RAV_ESTALE, "%s: cell %p is in a page that went back to the pool: the borrow is stale",
			    what, (void *)r.cell);
		return false;
	}
	if (page_owner(page) != h) {
		rav_heap *o = page_owner(page);
		rav__misuse(RAV_ECROSS, "%s: cell %p belongs to heap %u, not to heap %u (no references between heaps; "
			    "send a message instead)", what, (void *)r.cell, o ? o->id : 0, h->id);
		return false;
	}
	if (r.gen != h->gen) {
		rav__misuse(RAV_ESTALE,
			    "%s: stale borrow of cell %p: it was taken at generation %u of heap %u, which has "
			    "since freed or moved cells (now generation %u); re-read it from a root after "
			    "any call that frees",
			    what, (void *)r.cell, r.gen, h->id, h->gen);
		return false;
	}
	rav_type t = cell_type(r.cell);
	if (t == RAV_TYPE_EMPTY || t == RAV_TYPE_DEAD || t == RAV_TYPE_HEADER || t == RAV_TYPE_ROOT ||
	    t == RAV_TYPE_REF) {
		rav__misuse(RAV_ESTALE, "%s: cell %p holds no live raviolo (it is %s)", what, (void *)r.cell,
			    rav_type_name(t));
		return false;
	}
	return true;
}

static inline bool check_field(rav_heap *h, rav_ref obj, int field, rav_field_kind kind, const char *what)
{
	if (!CHECK_REF(h, obj, what))
		return false;
	if ((unsigned)field > 1) {
		rav__misuse(RAV_EINVAL, "%s: field index %d out of range (0 or 1)", what, field);
		return false;
	}
#if RAV_DEBUG
	if (rav_type_field_kind(cell_type(obj.cell), field) != kind) {
		rav__misuse(RAV_ETYPE, "%s: field %d of type %s is a %s field", what, field,
			    rav_type_name(cell_type(obj.cell)),
			    kind == RAV_REF ? "data" : "reference");
		return false;
	}
#else
	(void)kind;
#endif
	return true;
}

static inline bool check_root(rav_heap *h, rav_root r, const char *what)
{
	if (!r) {
		rav__misuse(RAV_EINVAL, "%s: null root", what);
		return false;
	}
#if RAV_DEBUG
	rav_cell *c = cell_of(r);
	if (cell_type(c) != RAV_TYPE_ROOT || page_owner(page_of(c)) != h) {
		rav__misuse(RAV_EINVAL, "%s: %p is not a root of heap %u", what, (void *)r, h->id);
		return false;
	}
#endif
	return true;
}

/* A read's access event; the read's call site (pc: RAV_CALLER of the
 * public function) is taken in the same test, so reads keep one tracing
 * test and pay for a site only when accesses are recorded. */
#define ACCESS_READ(addr, pc)                                                                            \
	do {                                                                                             \
		if (RAV_UNLIKELY(rav__tracing) && rav__recorder && rav__recorder->record_access) {       \
			rav__site_enter(pc);                                                             \
			REC(RAV_EV_ACCESS, 0, 0, (addr), sizeof(uintptr_t), 0);                          \
		}                                                                                        \
	} while (0)

static inline rav_ref mkref(rav_heap *h, rav_cell *c)
{
	return (rav_ref){ c, c ? h->gen : 0 };
}

static rav_cell *walk_read(uintptr_t *slot, uintptr_t pc)
{
	ACCESS_READ(slot, pc);
	rav_cell *c = (rav_cell *)*slot;
	while (c && cell_type(c) == RAV_TYPE_REF) {
		ACCESS_READ(&c->w[RAV_W_FWD], pc);
		c = (rav_cell *)c->w[RAV_W_FWD];
	}
	return c;
}

/* ---- public: roots ---- */

rav_root rav_root_new(rav_heap *h)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__fail(RAV_EINVAL, "rav_root_new: null heap");
		return NULL;
	}
	return (rav_root)rav__root_slot_new(h);
}

void rav_root_free(rav_heap *h, rav_root r)
{
	RAV_SITE_ENTER();
	if (!check_root(h, r, "rav_root_free"))
		return;
	uintptr_t *slot = (uintptr_t *)r;
	if (*slot) {
		rav__detach(h, slot, RAV_EV_REF_CLEAR);
		rav__after_free(h);
	}
	rav__root_slot_free(h, slot);
}

rav_ref rav_root_get(rav_heap *h, rav_root r)
{
	if (!check_root(h, r, "rav_root_get"))
		return RAV_NULL_REF;
	return mkref(h, walk_read((uintptr_t *)r, RAV_CALLER));
}

bool rav_root_is_set(rav_heap *h, rav_root r)
{
	return check_root(h, r, "rav_root_is_set") && *(uintptr_t *)r != 0;
}

/* Store target into slot (dropping the old value).  The old value is
 * dropped only after target is attached, so a target reachable only through
 * the old value survives. `owner` is the cell containing the slot (NULL for
 * roots): if dropping the old value frees it, the new reference goes too. */
static rav_status store_slot(rav_heap *h, uintptr_t *slot, rav_cell *owner, rav_cell *target)
{
	if (!*slot) {
		if (!target)
			return RAV_OK;
		return attach(h, slot, target, RAV_EV_REF_STORE);
	}
	if (!target) {
		rav__detach(h, slot, RAV_EV_REF_CLEAR);
		rav__after_free(h);
		return RAV_OK;
	}
	uintptr_t *tmp = scratch_slot(h);
	if (!tmp)
		return RAV_ENOMEM;
	rav_status s = attach(h, tmp, target, RAV_EV_LINK);
	if (s != RAV_OK)
		return s;
	h->track[0] = owner;
	rav__detach(h, slot, RAV_EV_REF_CLEAR);
	if (owner && cell_gone(owner))
		rav__detach(h, tmp, RAV_EV_LINK);
	else
		rav__transfer(h, tmp, slot, RAV_EV_REF_STORE);
	h->track[0] = NULL;
	rav__after_free(h);
	return RAV_OK;
}

rav_status rav_root_set(rav_heap *h, rav_root r, rav_ref target)
{
	RAV_SITE_ENTER();
	if (!check_root(h, r, "rav_root_set"))
		return rav__misuse_status();
	if (target.cell && !CHECK_REF(h, target, "rav_root_set"))
		return rav__misuse_status();
	return store_slot(h, (uintptr_t *)r, NULL, target.cell);
}

rav_status rav_root_clear(rav_heap *h, rav_root r)
{
	RAV_SITE_ENTER();
	if (!check_root(h, r, "rav_root_clear"))
		return rav__misuse_status();
	uintptr_t *slot = (uintptr_t *)r;
	if (*slot) {
		rav__detach(h, slot, RAV_EV_REF_CLEAR);
		rav__after_free(h);
	}
	return RAV_OK;
}

/* ---- public: allocation ---- */

/* Allocate into slot.  `owner` contains the slot (NULL for roots). */
static rav_status new_into(rav_heap *h, rav_type t, uintptr_t *slot, rav_cell *owner, rav_ref *out)
{
	if (t < RAV_TYPE_FIRST_USER && t != RAV_TYPE_VEC && t != RAV_TYPE_VEC_NODE && t != RAV_TYPE_VEC_LEAF &&
	    t != RAV_TYPE_VEC_RLEAF && t != RAV_TYPE_BYTES)
		return rav__fail(RAV_ETYPE, "rav_new: type %u is reserved by the engine", t);
	if (t >= rav_type_count())
		return rav__fail(RAV_ETYPE, "rav_new: unknown type %u (register it with rav_type_register)", t);
	h->track[1] = owner;
	if (*slot) {
		rav__detach(h, slot, RAV_EV_REF_CLEAR);
		if (owner && cell_gone(owner)) {
			h->track[1] = NULL;
			rav__after_free(h);
			return rav__fail(RAV_ESTATE, "rav_new_field: the parent was freed when its field's old value "
						     "was dropped (it was only reachable through it)");
		}
	}
	rav_cell *c = rav__alloc(h, t);
	if (!c) {
		h->track[1] = NULL;
		rav__after_free(h);
		return RAV_ENOMEM;
	}
	WRITE_WORD(RAV_EV_REF_STORE, slot, c);
	WRITE_WORD(RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
	h->track[1] = NULL;
	h->track[0] = c;
	rav__after_free(h);
	c = h->track[0];
	h->track[0] = NULL;
	if (out)
		*out = mkref(h, c);
	return RAV_OK;
}

rav_status rav_new_root(rav_heap *h, rav_type t, rav_root r, rav_ref *out)
{
	RAV_SITE_ENTER();
	if (!h)
		return rav__fail(RAV_EINVAL, "rav_new_root: null heap");
	if (!check_root(h, r, "rav_new_root"))
		return rav__misuse_status();
	return new_into(h, t, (uintptr_t *)r, NULL, out);
}

rav_status rav_new_field(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out)
{
	RAV_SITE_ENTER();
	if (!check_field(h, parent, field, RAV_REF, "rav_new_field"))
		return rav__misuse_status();
	return new_into(h, t, &parent.cell->w[1 + field], parent.cell, out);
}

/* ---- public: fields ---- */

uintptr_t rav_load(rav_heap *h, rav_ref obj, int field)
{
	if (!check_field(h, obj, field, RAV_DATA, "rav_load"))
		return 0;
	ACCESS_READ(&obj.cell->w[1 + field], RAV_CALLER);
	return obj.cell->w[1 + field];
}

void rav_store(rav_heap *h, rav_ref obj, int field, uintptr_t value)
{
	RAV_SITE_ENTER();
	if (!check_field(h, obj, field, RAV_DATA, "rav_store"))
		return;
	WRITE_WORD(RAV_EV_DATA_STORE, &obj.cell->w[1 + field], value);
}

rav_ref rav_load_ref(rav_heap *h, rav_ref obj, int field)
{
	if (!check_field(h, obj, field, RAV_REF, "rav_load_ref"))
		return RAV_NULL_REF;
	return mkref(h, walk_read(&obj.cell->w[1 + field], RAV_CALLER));
}

rav_status rav_store_ref(rav_heap *h, rav_ref obj, int field, rav_ref target)
{
	RAV_SITE_ENTER();
	if (!check_field(h, obj, field, RAV_REF, "rav_store_ref"))
		return rav__misuse_status();
	if (target.cell && !CHECK_REF(h, target, "rav_store_ref"))
		return rav__misuse_status();
	return store_slot(h, &obj.cell->w[1 + field], obj.cell, target.cell);
}

rav_status rav_clear_ref(rav_heap *h, rav_ref obj, int field)
{
	RAV_SITE_ENTER();
	if (!check_field(h, obj, field, RAV_REF, "rav_clear_ref"))
		return rav__misuse_status();
	return store_slot(h, &obj.cell->w[1 + field], obj.cell, NULL);
}

rav_slot rav_field_slot(rav_ref obj, int field)
{
	if (!obj.cell || (unsigned)field > 1)
		return (rav_slot){ NULL, 0 };
	return (rav_slot){ &obj.cell->w[1 + field], obj.gen };
}

rav_slot rav_root_slot(rav_root r)
{
	return (rav_slot){ (uintptr_t *)r, 0 };
}

static bool check_slot(rav_heap *h, rav_slot s, const char *what)
{
	if (!s.word) {
		rav__misuse(RAV_EINVAL, "%s: null slot", what);
		return false;
	}
	rav_cell *c = cell_of(s.word);
	if (cell_type(c) == RAV_TYPE_ROOT)
		return check_root(h, (rav_root)s.word, what);
	if (!CHECK_REF(h, ((rav_ref){ c, s.gen }), what))
		return false;
	unsigned w = word_of(s.word);
	if (w < 1 || w > 2 || !(type_refmask(cell_type(c)) & (1u << (w - 1)))) {
		rav__misuse(RAV_ETYPE, "%s: word %u of a %s is not a reference field", what, w,
			    rav_type_name(cell_type(c)));
		return false;
	}
	return true;
}

rav_status rav_move(rav_heap *h, rav_slot dst, rav_slot src)
{
	RAV_SITE_ENTER();
	if (!check_slot(h, dst, "rav_move (destination)") || !check_slot(h, src, "rav_move (source)"))
		return rav__misuse_status();
	if (dst.word == src.word)
		return RAV_OK;
	if (!*src.word)
		return store_slot(h, dst.word, cell_type(cell_of(dst.word)) == RAV_TYPE_ROOT ? NULL : cell_of(dst.word),
				  NULL);
	if (!*dst.word) {
		rav__transfer(h, src.word, dst.word, RAV_EV_REF_STORE);
		return RAV_OK;
	}
	uintptr_t *tmp = scratch_slot(h);
	if (!tmp)
		return RAV_ENOMEM;
	rav__transfer(h, dst.word, tmp, RAV_EV_LINK);
	rav__transfer(h, src.word, dst.word, RAV_EV_REF_STORE);
	rav__detach(h, tmp, RAV_EV_LINK);
	rav__after_free(h);
	return RAV_OK;
}

rav_type rav_type_of(rav_heap *h, rav_ref obj)
{
	if (!CHECK_REF(h, obj, "rav_type_of"))
		return 0;
	return cell_type(obj.cell);
}

uintptr_t rav_scalar(rav_heap *h, rav_ref obj)
{
	if (!CHECK_REF(h, obj, "rav_scalar"))
		return 0;
	ACCESS_READ(&obj.cell->w[0], RAV_CALLER);
	return cell_scalar(obj.cell);
}

void rav_set_scalar(rav_heap *h, rav_ref obj, uintptr_t value)
{
	RAV_SITE_ENTER();
	if (!CHECK_REF(h, obj, "rav_set_scalar"))
		return;
	if (value > RAV_SCALAR_MAX) {
		rav__misuse(RAV_ERANGE, "rav_set_scalar: %#lx does not fit in %d bits", (unsigned long)value,
			    (int)(sizeof(uintptr_t) * 8 - RAV_SCALAR_SHIFT));
		return;
	}
	set_scalar_rec(obj.cell, value);
}
