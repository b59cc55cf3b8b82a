/* msg.c - messages and the arrival compaction.
 *
 * A message is a heap of its own (kind RAV_HEAP_MESSAGE) whose pages are
 * buffer pages: bump-allocated, never compacted while the message is built
 * or in flight, so nothing in them moves.  Its root lives in a root cell
 * inside its first buffer page, so the whole message is self-contained.
 * Sending hands the message (its page list) to a channel (channel.c);
 * receiving links the pages into the receiver's list whole (the cells in
 * them are not copied), then closes the one gap this can leave, the
 * receiver's partly filled top page, whichever way moves fewer cells: the
 * arrived cells fill its tail, or its few cells move after the arrived ones
 * and the page goes back to the pool (rav__arrive, also used by
 * rav_deserialize).  The root cell becomes a hole, and the arrival
 * compaction fills the holes from the top.
 */
#include <errno.h>
#include <stdlib.h>

#include "free-private.h"
#include "rav-private.h"

/* A message or channel the program freed (or one that never was) used
 * again: freeing it twice tore down its pages twice, sending it crashed.
 * One word compared on the calls that take them, in every build; the
 * word is cleared before the memory goes back, so a use after free is
 * caught until malloc hands the memory out again.  (ASan and memcheck
 * report the same uses as reads of freed memory.) */
rav_status rav__msg_check(const struct rav_msg *m, const char *what)
{
	if (RAV_LIKELY(m->live == RAV_MSG_LIVE))
		return RAV_OK;
	rav__misuse(RAV_EINVAL,
	            "%s: %p is not a message the program holds (freed with rav_msg_free, received, or never "
	            "made by rav_msg_new)",
	            what, (const void *)m);
	return RAV_EINVAL;
}

/* Tear down a message the engine holds (unsent, or queued in a channel). */
void rav__msg_destroy(rav_msg *m)
{
	RAV_SAFEPOINT(&m->heap);
	rav__heap_destroy(&m->heap);
	REC_SYNC(RAV_EV_HEAP_END, m->heap.id, 0, 0, rav__stamp());
	*(volatile uint32_t *)&m->live = 0; /* (a store the compiler would drop before free) */
	free(m);
}

rav_msg *rav_msg_new(void)
{
	RAV_SITE_ENTER();
	rav_heap *self = rav_heap_self();
	if (!self)
		return NULL;
	RAV_SAFEPOINT(self);
	rav_msg *m = calloc(1, sizeof *m);
	if (!m) {
		rav__fail(RAV_ENOMEM, "rav_msg_new: out of memory");
		return NULL;
	}
	rav__heap_init(&m->heap, RAV_HEAP_MESSAGE);
	m->live = RAV_MSG_LIVE;
	m->heap.msg = m;
	m->heap.parent = self->id;
	REC_SYNC(RAV_EV_HEAP_NEW | ((uint32_t)RAV_HEAP_MESSAGE << 8), m->heap.id, self->id, 0, rav__stamp());
	REC(RAV_EV_MSG_BUILD, 0, m->heap.id, 0, 0, 0);
	m->root = rav__root_slot_new(&m->heap);
	if (!m->root) {
		rav__heap_destroy(&m->heap);
		free(m);
		return NULL;
	}
	m->heap.extra_roots = 0; /* counts the roots besides the message root */
	return m;
}

/* (checked like the calls that take a message: one word, every build) */
rav_heap *rav_msg_heap(rav_msg *m)
{
	return m && rav__msg_check(m, "rav_msg_heap") == RAV_OK ? &m->heap : NULL;
}

rav_root rav_msg_root(rav_msg *m)
{
	return m && rav__msg_check(m, "rav_msg_root") == RAV_OK ? (rav_root)m->root : NULL;
}

void rav_msg_free(rav_msg *m)
{
	RAV_SITE_ENTER();
	if (!m || rav__msg_check(m, "rav_msg_free") != RAV_OK)
		return;
	if (m->sent) {
		rav__misuse(RAV_EINVAL, "rav_msg_free: message %u was sent: it belongs to its channel now", m->heap.id);
		return;
	}
	rav__msg_destroy(m);
}

/* ---- adopting a subtree ----
 *
 * rav_msg_adopt moves the subtree held by one root of a thread heap into a
 * message.  Two ways:
 *
 *  - Pages change hands.  When the subtree is exactly the heap's top
 *    `cells` cells (the common case: a structure built last, or one that
 *    arrived as a message and goes on) and nothing is being recorded, the
 *    pages holding it whole are unlinked from the heap and linked into the
 *    message as they are: their cells keep their addresses, so no word in
 *    them changes.  Only the cells of the lowest page that are in the
 *    subtree (fewer than a page; all of them when that page is the heap's
 *    first) move into the message one by one, each with its fix-ups, so the
 *    heap keeps a first page and the top stays where the heap's cells end.
 *    The cost is the pages' and at most a page of moves, whatever the size
 *    of the subtree (issue #9: "a received message costs what its pages
 *    cost"; the other half, receiving, links pages already).  Recorded
 *    too (format 1.6): each page handed is one page-to-msg event (which
 *    page, how many of its cells, where it goes in the message's list),
 *    and the few word writes besides (the lowest page's moves, the unused
 *    tail of the last page made holes, the root changing slots) are the
 *    ordinary events, so replay rebuilds both heaps exactly.
 *  - A copy, cell by cell, into fresh cells of the message (depth first,
 *    with an explicit stack of (source cell, destination slot) pairs), and
 *    the originals dropped: anywhere in the heap. */

typedef struct adopt_pair {
	rav_cell *from;
	uintptr_t *to;
} adopt_pair;

typedef struct adopt_stack {
	adopt_pair *v;
	size_t n, cap;
} adopt_stack;

static bool adopt_push(adopt_stack *s, rav_cell *from, uintptr_t *to)
{
	if (s->n == s->cap) {
		adopt_pair *grown = realloc(s->v, s->cap * 2 * sizeof *grown);
		if (!grown)
			return false;
		s->v = grown;
		s->cap *= 2;
	}
	s->v[s->n++] = (adopt_pair){ from, to };
	return true;
}

/* The walks that only read (the first pass, the region check): a stack of
 * cells, children pushed without a branch each, the second field's first
 * (the copy's order, so the copy needs a stack as deep as `depth`). */
typedef struct adopt_walk {
	rav_cell **v;
	size_t n, cap, depth;
} adopt_walk;

static inline __attribute__((always_inline)) bool walk_push_children(adopt_walk *w, const rav_cell *c)
{
	if (RAV_UNLIKELY(w->n + 2 > w->cap)) {
		rav_cell **grown = realloc(w->v, w->cap * 2 * sizeof *grown);
		if (!grown)
			return false;
		w->v = grown;
		w->cap *= 2;
	}
	unsigned mask = type_refmask(cell_type(c));
	rav_cell *k1 = (mask & 2) ? (rav_cell *)c->w[2] : NULL;
	rav_cell *k0 = (mask & 1) ? (rav_cell *)c->w[1] : NULL;
	w->v[w->n] = k1;
	w->n += k1 != NULL;
	w->v[w->n] = k0;
	w->n += k0 != NULL;
	if (w->n > w->depth)
		w->depth = w->n;
	return true;
}

/* Is every cell of the subtree at `top` in the marked top region?  (The
 * first pass counted them: all in means the subtree is the region.) */
static bool adopt_in_region(adopt_walk *w, rav_cell *top, rav_top_region region, bool *oom)
{
	w->n = 0;
	w->v[w->n++] = top;
	while (w->n) {
		rav_cell *c = w->v[--w->n];
		if (!rav__in_top_region(region, c))
			return false;
		if (!walk_push_children(w, c))
			return !(*oom = true);
	}
	return true;
}

/* An empty cell of message heap mh for a cell about to move in (counted
 * as allocated); NULL when no page can be had. */
static rav_cell *adopt_cell(rav_heap *mh)
{
	rav_cell *c;
	if (mh->dead == NULL && mh->top < CELLS) {
		c = &mh->top_page[mh->top];
		heap_set_top_index(mh, mh->top + 1);
		VG_CELL_ALLOC(c);
	} else if (!(c = rav__alloc_slow(mh))) {
		return NULL;
	}
	mh->st.allocs++;
	mh->st.live_cells++;
	return c;
}

/* A cell adopt_cell took goes back when the room for the moves cannot
 * all be had: the top cell is un-bumped; another empty cell (a bump on a
 * page since left) becomes a hole, recorded as an empty cell freed; a
 * reused hole goes back to the hole list (it never stopped being one). */
static void adopt_cell_return(rav_heap *mh, rav_cell *c)
{
	mh->st.live_cells--;
	if (mh->top_page && mh->top > 1 && c == &mh->top_page[mh->top - 1]) {
		mh->st.allocs--;
		heap_set_top_index(mh, mh->top - 1);
		VG_CELL_FREE(c);
		return;
	}
	mh->st.frees++;
	if (cell_type(c) == RAV_TYPE_EMPTY)
		REC(RAV_EV_FREE, 0, 0, c, 0, 0);
	rav__dead_push(mh, c);
}

/* Page p (of the pool) by its index, as the page-to-msg event names it. */
static inline uint64_t page_number(const rav_cell *p)
{
	return (uint64_t)(((const char *)p - rav__pool.base) / RAV_PAGE_SIZE);
}

/* The event for page p of heap h going to message heap mh with its cells
 * below `fill`, before mh's page `before` (NULL: at the end of its list).
 * (FORMAT.md 5.2, kind 39.) */
static inline void rec_page_to_msg(const rav_heap *mh, const rav_heap *h, const rav_cell *p, unsigned fill,
				   const rav_cell *before)
{
	REC(RAV_EV_PAGE_TO_MSG, fill, mh->id, page_number(p), h->id, before ? page_number(before) + 1 : 0);
}

/* The pages way (above): the subtree held by sslot is the region of h's
 * top `cells` cells, which is no longer marked. */
static rav_status adopt_pages(rav_msg *m, rav_heap *h, uintptr_t *sslot, rav_top_region region, size_t cells)
{
	rav_heap *mh = &m->heap;
	rav_cell *low = region.page, *below = (rav_cell *)low->w[PH_PREV];
	const unsigned from = region.index;
	const unsigned low_fill = low == h->top_page ? h->top : CELLS;
	/* The lowest page goes whole if the subtree fills it; else its part
	 * of the subtree moves (fewer than a page of cells).  A subtree that
	 * is all of the top page but fills at most two thirds of it moves too:
	 * handing the page made each of its empty cells a hole of the message
	 * (a store and an event each, and a trim each at arrival, so their
	 * lines travel twice), 126 of them for a one-cell message against one
	 * move (the findings study's pipeline forwarding one-cell messages:
	 * 28-57 line transfers per cell per hop in the contention model, 2.0-2.5
	 * now; 64-cell messages at 8 threads 0.88 -> 0.52 with two thirds rather
	 * than half, its time within the noise). */
	const bool sparse_top = low == h->top_page && from == 1 && low_fill - 1 <= 2 * (CELLS - low_fill);
	const bool low_whole = from == 1 && !sparse_top;
	const unsigned nmove = low_whole ? 0 : low_fill - from;
	rav_cell *first_handed = low_whole ? low : low == h->top_page ? NULL : (rav_cell *)low->w[PH_NEXT];
	/* Room first, so a failure leaves both heaps as they were (what was
	 * taken becomes holes of the message). */
	rav_cell *dest[RAV_PAGE_CELLS];
	for (unsigned i = 0; i < nmove; i++) {
		if (!(dest[i] = adopt_cell(mh))) {
			while (i--)
				adopt_cell_return(mh, dest[i]);
			return rav__fail(RAV_ENOMEM, "rav_msg_adopt: no page for the message");
		}
	}
	uintptr_t *mroot = m->root;
	if (*mroot)
		rav__drop(mh, mroot, RAV_EV_REF_CLEAR);
	/* The lowest page's part moves cell by cell (each move fixes every
	 * word naming the moved cell, in h or already in the message). */
	for (unsigned i = 0; i < nmove; i++)
		rav__move(h, &low[from + i], dest[i]);
	if (first_handed) {
		rav_cell *last_handed = h->top_page;
		const unsigned last_fill = h->top;
		rav_cell *before = (rav_cell *)first_handed->w[PH_PREV];
		rav_cell *after = (rav_cell *)last_handed->w[PH_NEXT]; /* the spare, if any: it stays */
		if (before)
			before->w[PH_NEXT] = (uintptr_t)after;
		else
			h->first = after;
		if (after)
			after->w[PH_PREV] = (uintptr_t)before;
		else
			h->last = before;
		rav_cell *mtop = mh->top_page;
		size_t npages = 0;
		for (rav_cell *p = first_handed;; p = (rav_cell *)p->w[PH_NEXT]) {
			rec_page_to_msg(mh, h, p, p == last_handed ? last_fill : CELLS, mtop);
			/* (also clears the region's marks: the header is rewritten) */
			page_set(p, p == last_handed ? last_fill : CELLS, RAV_PAGE_BUFFER);
			p->w[PH_OWNER] = (uintptr_t)mh;
			npages++;
			if (p == last_handed)
				break;
		}
		/* The pages go before the message's top page (the one holding its
		 * root cell, usually alone), the unused tail of the last one made
		 * holes, so every page of the message but its top page is full
		 * (as rav_serialize_msg and the readers of its images expect).  At
		 * arrival the root cell is the top cell and those holes lie right
		 * under it: all are trimmed, none filled by a move. */
		rav_cell *mprev = mtop ? (rav_cell *)mtop->w[PH_PREV] : mh->last;
		first_handed->w[PH_PREV] = (uintptr_t)mprev;
		last_handed->w[PH_NEXT] = (uintptr_t)mtop;
		if (mprev)
			mprev->w[PH_NEXT] = (uintptr_t)first_handed;
		else
			mh->first = first_handed;
		if (mtop) {
			mtop->w[PH_PREV] = (uintptr_t)last_handed;
			for (unsigned i = last_fill; i < CELLS; i++) {
				REC(RAV_EV_FREE, 0, 0, &last_handed[i], 0, 0);
				VG_CELL_ALLOC(&last_handed[i]);
				rav__dead_push(mh, &last_handed[i]);
			}
			page_set_fill(last_handed, CELLS);
		} else {
			mh->last = last_handed;
			heap_set_top(mh, last_handed, last_fill);
		}
		h->st.pages -= npages;
		mh->st.pages += npages;
		mh->st.live_cells += cells - nmove;
		mh->st.allocs += cells - nmove;
	}
	/* h's top comes down to where its cells now end. */
	if (sparse_top) {
		/* the top page emptied: the top goes to the page before, one
		 * spare kept */
		rav__truncate_to(h, (rav_top_region){ low, 1 }, true);
	} else if (!low_whole) {
		heap_set_top(h, low, from);
	} else if (below) {
		heap_set_top(h, below, CELLS); /* (a page before the top page is full) */
	} else if (h->first) {
		/* The heap's pages all went: the spare becomes its top page. */
		heap_set_top(h, h->first, 1);
		if (page_dirty(h->top_page))
			rav__page_clean(h->top_page);
	} else {
		heap_set_top(h, NULL, CELLS); /* as a new heap */
	}
	h->st.live_cells -= cells;
	h->st.frees += cells;
	h->gen++;
	mh->gen++;
	/* The subtree's top cell (moved or handed) goes to the message root. */
	rav_cell *top = (rav_cell *)*sslot;
	WRITE_WORD(RAV_EV_REF_CLEAR, sslot, 0);
	WRITE_WORD(RAV_EV_REF_STORE, mroot, top);
	WRITE_WORD(RAV_EV_LINK, &top->w[RAV_W_BACK], mroot);
	rav_assert_expensive(rav_heap_check(h) == RAV_OK && rav_heap_check(mh) == RAV_OK);
	return RAV_OK;
}

/* The cells from c (a live cell of h) to h's top, if c is in h's page
 * list before its top; 0 if not. */
static size_t cells_above(const rav_heap *h, const rav_cell *c)
{
	const rav_cell *p = page_of(c);
	unsigned i = slot_in_page(c);
	size_t n = 0;
	for (;;) {
		unsigned fill = p == h->top_page ? h->top : CELLS;
		if (i >= fill)
			return 0;
		n += fill - i;
		if (p == h->top_page)
			return n;
		if (!(p = (const rav_cell *)p->w[PH_NEXT]))
			return 0;
		i = 1;
	}
}

rav_status rav_msg_adopt(rav_msg *m, rav_heap *h, rav_root src)
{
	RAV_SITE_ENTER();
	if (!m || !h || !src)
		return rav__fail(RAV_EINVAL, "rav_msg_adopt: null argument");
	if (rav__msg_check(m, "rav_msg_adopt") != RAV_OK)
		return RAV_EINVAL;
	if (m->sent)
		return rav__fail(RAV_ESTATE, "rav_msg_adopt: message already sent");
	/* (a message adopting from itself tripped the engine's invariants: the
	 * walk found the subtree's cells queued to die) */
	if (h == &m->heap) {
		rav__misuse(RAV_EINVAL, "rav_msg_adopt: heap %u is message %u's own heap: adopt from the heap the "
			    "subtree is in", h->id, m->heap.id);
		return RAV_EINVAL;
	}
	if (!CHECK_OWNER(h, "rav_msg_adopt") || !CHECK_OWNER(&m->heap, "rav_msg_adopt"))
		return rav__misuse_status();
	/* In every build: the walk below follows the root's word, and a root
	 * of another heap (or no root at all) would send it through another
	 * thread's cells.  One check per adopt, next to a subtree walk. */
	if (!rav__check_root(h, src, "rav_msg_adopt"))
		return rav__misuse_status();
	RAV_SAFEPOINT(h);
	RAV_SAFEPOINT(&m->heap);
	/* Dying cells may still hold references into the subtree. */
	rav__cascade(h, 0);
	rav__top_clean(h); /* the hand-off expects empty cells above the top */
	uintptr_t *sslot = (uintptr_t *)src;
	rav_cell *top = (rav_cell *)*sslot;
	if (!top)
		return rav__fail(RAV_EINVAL, "rav_msg_adopt: the source root is empty");
	rav_heap *mh = &m->heap;
	adopt_walk walk = { malloc(256 * sizeof(rav_cell *)), 0, 256, 1 };
	adopt_stack stack = { NULL, 0, 0 };
	if (!walk.v)
		return rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
	/* First pass: the subtree must be held only through its own slots.
	 * It also tells whether the subtree is the heap's top region (the
	 * pages way): when its top cell is its lowest
	 * (a structure built from its top down, or one that arrived as a
	 * message), the region is known before the pass and checked in it;
	 * otherwise a second walk checks the region of the count. */
	rav_status st = RAV_OK;
	size_t cells = 0, guess = 0;
	rav_top_region region = { NULL, 0 };
	bool pages_way = h->kind == RAV_HEAP_THREAD && !h->dead && !h->dying && !h->pinned;
	bool guessed = pages_way && (guess = cells_above(h, top)) != 0 && rav__top_region_mark(h, guess, &region);
	bool in_guess = guessed;
	walk.v[walk.n++] = top;
	while (walk.n) {
		rav_cell *c = walk.v[--walk.n];
		if (cell_type(c) == RAV_TYPE_REF) {
			st = rav__fail(RAV_EINVAL, "rav_msg_adopt: the subtree is shared (cell %p has several "
						   "referrers); only a subtree held by one root can move",
				       (void *)c);
			break;
		}
		cells++;
		in_guess = in_guess && rav__in_top_region(region, c);
		if (!walk_push_children(&walk, c)) {
			st = rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
			break;
		}
	}
	if (guessed) {
		rav__top_region_unmark(h);
		if (st == RAV_OK && in_guess && cells == guess) {
			st = adopt_pages(m, h, sslot, region, cells);
			goto out;
		}
	}
	if (st != RAV_OK)
		goto out;
	if (pages_way && rav__top_region_mark(h, cells, &region)) {
		bool oom = false, whole = adopt_in_region(&walk, top, region, &oom);
		rav__top_region_unmark(h);
		if (oom) {
			st = rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
			goto out;
		}
		if (whole) {
			st = adopt_pages(m, h, sslot, region, cells);
			goto out;
		}
	}
	stack.cap = walk.depth + 2;
	if (!(stack.v = malloc(stack.cap * sizeof *stack.v))) {
		st = rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
		goto out;
	}
	/* Second pass: copy.  The message root is overwritten. */
	if (*m->root)
		rav__drop(mh, m->root, RAV_EV_REF_CLEAR);
	stack.n = 0;
	adopt_push(&stack, top, m->root);
	while (stack.n) {
		adopt_pair p = stack.v[--stack.n];
		rav_cell *c = rav__alloc(mh, cell_type(p.from));
		if (!c) {
			st = RAV_ENOMEM;
			goto out;
		}
		unsigned mask = type_refmask(cell_type(p.from));
		uintptr_t tw = p.from->w[0] & ~(RAV_FLAG_MARK | RAV_FLAG_WATCH);
		if (tw != c->w[0]) {
			REC(RAV_EV_TYPE_WORD, 0, 0, c, c->w[0], tw);
			c->w[0] = tw;
		}
		for (int f = 0; f < 2; f++)
			if (!(mask & (1u << f)) && p.from->w[1 + f])
				WRITE_WORD(RAV_EV_DATA_STORE, &c->w[1 + f], p.from->w[1 + f]);
		WRITE_WORD(RAV_EV_REF_STORE, p.to, c);
		WRITE_WORD(RAV_EV_LINK, &c->w[RAV_W_BACK], p.to);
		/* (the first pass measured how deep this pass goes) */
		for (int f = 1; f >= 0; f--)
			if ((mask & (1u << f)) && p.from->w[1 + f] &&
			    !adopt_push(&stack, (rav_cell *)p.from->w[1 + f], &c->w[1 + f])) {
				st = rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
				goto out;
			}
	}
	/* Drop the originals: the kill cascade and a compaction. */
	rav__drop(h, sslot, RAV_EV_REF_CLEAR);
	rav__settle(h);
out:
	free(walk.v);
	free(stack.v);
	return st;
}

/* Which pages a received message's cells end up in.  The message's pages
 * are linked in whole (before the receiver's trailing empty page); what is
 * left is the gap between the receiver's partly filled top page and the
 * arrived pages.  Either the arrived cells fill the tail of that page
 * (moves = the tail's size, or the arrived cells when fewer:
 * RAV_ARRIVE_FILL_TAIL, the only way before), or
 * the receiver's few cells on that page move up into the room left in the
 * message's last page and the emptied page goes back to the pool (moves =
 * the cells on it: RAV_ARRIVE_EVACUATE).  RAV_ARRIVE_CHEAPER picks the
 * policy with fewer moves for each message (the default); the other two
 * exist so rav-bench can measure both. */
rav_arrive_policy rav__arrive_policy = RAV_ARRIVE_CHEAPER;

/* Empty cells [from, CELLS) of page p become holes to fill (RAV_EV_FREE with
 * aux 0). */
static void tail_to_holes(rav_heap *h, rav_cell *p, unsigned from)
{
	for (unsigned i = from; i < CELLS; i++) {
		REC(RAV_EV_FREE, 0, 0, &p[i], 0, 0);
		VG_CELL_ALLOC(&p[i]);
		rav__dead_push(h, &p[i]);
	}
	page_set_fill(p, CELLS);
}

/* Move the receiver's cells of page `old` (all below its fill) into the
 * empty tail of the top page, highest first, then give `old` back. */
static void evacuate(rav_heap *h, rav_cell *old, unsigned old_fill)
{
	for (unsigned i = old_fill; i-- > 1;) {
		rav_cell *c = &old[i];
		if (cell_type(c) == RAV_TYPE_DEAD) {
			/* a hole of deferred mode: it leaves with its page */
			rav__dead_unlink(h, c);
			REC(RAV_EV_TRIM, 0, 0, c, 0, 0);
			c->w[0] = c->w[1] = c->w[2] = c->w[3] = 0;
			VG_CELL_FREE(c);
			continue;
		}
		rav_cell *d = &h->top_page[h->top];
		heap_set_top_index(h, h->top + 1);
		VG_CELL_ALLOC(d);
		rav__move(h, c, d);
	}
	page_set_fill(old, 1);
	rav__page_unlink(h, old);
	rav__page_release(h, old);
}

/* A small message moves in (RAV_ARRIVE_CHEAPER, rav__arrive): its one
 * page, linked into h after the top page, gives each of its cells to a
 * hole of h (the caller dropped what dst held) or else to the tail of h's
 * partly filled top page, then goes back with its root cell.
 * Moves: the message's cells; holes: none.  Filling the tail instead made
 * a hole of every empty cell of it and trimmed those the arrived cells did
 * not fill (a store and an event each: 68 of each for one cell arriving
 * into a page of 60). */
static void move_in(rav_heap *h, rav_msg *m, uintptr_t *dst, rav_cell *page, unsigned fill)
{
	for (unsigned i = 1; i < fill; i++) {
		rav_cell *c = &page[i];
		if (cell_type(c) == RAV_TYPE_ROOT)
			continue;
		/* into a hole first (what dst held, dropped by the caller) */
		rav_cell *d = rav__dead_pop(h);
		if (!d) {
			d = &h->top_page[h->top];
			heap_set_top_index(h, h->top + 1);
			VG_CELL_ALLOC(d);
		}
		rav__move(h, c, d);
	}
	if (dst)
		rav__transfer(h, m->root, dst, RAV_EV_REF_STORE);
	else if (*m->root)
		rav__drop(h, m->root, RAV_EV_REF_CLEAR);
	rav_cell *rc = cell_of(m->root);
	rav_assert(page_of(rc) == page && cell_type(rc) == RAV_TYPE_ROOT);
	REC(RAV_EV_FREE, RAV_TYPE_ROOT, 0, rc, 0, 0);
	h->st.frees++;
	REC(RAV_EV_TRIM, 0, 0, rc, 0, 0);
	rc->w[0] = rc->w[1] = rc->w[2] = rc->w[3] = 0;
	VG_CELL_FREE(rc);
	page_set_fill(page, 1);
	rav__page_unlink(h, page);
	rav__page_release(h, page);
	if (h->dead) /* holes the message's cells did not fill */
		rav__compact(h, 0, RAV_COMPACT_ARRIVAL);
	h->gen++;
}

/* Link the message's pages into h and compact; store the root into dst.
 * Nothing here can fail: what dst held is dropped first (its holes are
 * filled by the same compaction), so no scratch slot is needed. */
rav_status rav__arrive(rav_heap *h, rav_msg *m, uintptr_t *dst)
{
	rav_heap *mh = &m->heap;
	if (dst && *dst)
		rav__drop(h, dst, RAV_EV_REF_CLEAR);
	rav__cascade(h, 0); /* nothing may move while cells are dying */
	rav__top_clean(h);  /* cells may move into h's top page's empty tail */
	/* The page the arrived pages go before: the trailing empty page, if any. */
	rav_cell *empty = NULL;
	if (h->top_page) {
		if (h->top == 1)
			empty = h->top_page;
		else
			empty = (rav_cell *)h->top_page->w[PH_NEXT];
	}
	rav_cell *old_top = h->top_page;
	unsigned old_top_fill = h->top;
	rav_cell *first_new = mh->first, *last_new = mh->last;
	if (mh->top_page)
		page_set_fill(mh->top_page, mh->top);
	unsigned last_fill = mh->top_page ? mh->top : 1;
	for (rav_cell *p = mh->first; p;) {
		rav_cell *next = (rav_cell *)p->w[PH_NEXT];
		rav_stamp stamp = rav__stamp();
		page_set(p, page_fill(p), RAV_PAGE_HEAP);
		p->w[PH_OWNER] = (uintptr_t)h;
		/* insert before `empty` (or append) */
		p->w[PH_NEXT] = (uintptr_t)empty;
		rav_cell *prev = empty ? (rav_cell *)empty->w[PH_PREV] : h->last;
		p->w[PH_PREV] = (uintptr_t)prev;
		if (prev)
			prev->w[PH_NEXT] = (uintptr_t)p;
		else
			h->first = p;
		if (empty)
			empty->w[PH_PREV] = (uintptr_t)p;
		else
			h->last = p;
		h->st.pages++;
		h->st.pages_received++;
		REC_SYNC(RAV_EV_PAGE_HANDOFF, h->id, (uint64_t)(uintptr_t)p, mh->id, stamp);
		p = next;
	}
	mh->first = mh->last = NULL;
	heap_set_top(mh, NULL, mh->top);
	h->gen++;
	if (!first_new) {
		/* An empty message: nothing arrives but an empty root. */
		rav__settle(h);
		return RAV_OK;
	}
	/* Counters move with the cells. */
	h->st.live_cells += mh->st.live_cells;
	h->st.ref_cells += mh->st.ref_cells;
	/* The gap left by the receiver's partly filled top page. */
	bool gap = old_top && old_top != empty && old_top_fill < CELLS;
	bool evac = false;
	if (gap) {
		unsigned tail = CELLS - old_top_fill, cells = old_top_fill - 1, room = CELLS - last_fill;
		/* A one-page message with no hole, as small as the tail and as
		 * the receiver's cells on that page: it moves in. */
		if (rav__arrive_policy == RAV_ARRIVE_CHEAPER && first_new == last_new && !mh->dead &&
		    mh->root_cells == 1 && mh->st.live_cells <= tail && mh->st.live_cells <= cells) {
			move_in(h, m, dst, last_new, last_fill);
			return RAV_OK;
		}
		/* Filling the tail moves the arrived cells that end up above the
		 * compaction's boundary: at most the tail's size, and at most the
		 * cells that arrived (a message of a few cells into a top page of
		 * 60 moved 60 when this compared with the tail alone: eng16) */
		uint64_t fill_moves = mh->st.live_cells < tail ? mh->st.live_cells : tail;
		evac = cells <= room && (rav__arrive_policy == RAV_ARRIVE_EVACUATE ||
					 (rav__arrive_policy == RAV_ARRIVE_CHEAPER && cells < fill_moves));
	}
	if (old_top && old_top != empty && !evac)
		tail_to_holes(h, old_top, old_top_fill); /* (also records its fill, CELLS, in its header) */
	/* Holes: the unused tail of every arrived page but the last. */
	for (rav_cell *p = first_new; p != last_new; p = (rav_cell *)p->w[PH_NEXT])
		if (page_fill(p) < CELLS)
			tail_to_holes(h, p, page_fill(p));
	heap_set_top(h, last_new, last_fill);
	if (evac)
		evacuate(h, old_top, old_top_fill);
	/* Dead cells of the message join h's holes. */
	rav_cell *d;
	while ((d = rav__dead_pop(mh)) != NULL)
		rav__dead_push(h, d);
	if (dst)
		rav__transfer(h, m->root, dst, RAV_EV_REF_STORE);
	else if (*m->root)
		rav__drop(h, m->root, RAV_EV_REF_CLEAR);
	/* Root cells become holes.  A message made by rav_msg_new knows its
	 * root cells; one read by rav_deserialize is searched. */
	if (mh->root_cells == 1) {
		rav_cell *rc = cell_of(m->root);
		rav_assert(cell_type(rc) == RAV_TYPE_ROOT);
		REC(RAV_EV_FREE, RAV_TYPE_ROOT, 0, rc, 0, 0);
		h->st.frees++;
		rav__dead_push(h, rc);
	} else {
		for (rav_cell *p = first_new;; p = (rav_cell *)p->w[PH_NEXT]) {
			unsigned fill = p == last_new ? last_fill : CELLS;
			for (unsigned i = 1; i < fill; i++) {
				if (cell_type(&p[i]) != RAV_TYPE_ROOT)
					continue;
				REC(RAV_EV_FREE, RAV_TYPE_ROOT, 0, &p[i], 0, 0);
				h->st.frees++;
				rav__dead_push(h, &p[i]);
			}
			if (p == last_new)
				break;
		}
	}
	rav__compact(h, 0, RAV_COMPACT_ARRIVAL);
	h->gen++;
	return RAV_OK;
}
