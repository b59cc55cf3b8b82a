/* roots.c - heap lifetime, page lists, roots and the debug checks.
 *
 * The cold half of a heap (heap.c and free.c have the hot half): creating the calling
 * thread's heap and tearing it down at thread exit, linking pages into a
 * heap's list, handing out root slots, and the checks debug builds run on
 * every call (stale borrows, references into another heap, a heap used
 * from a thread that does not own it).
 *
 * Root slots: a root is the address of one word of a RAV_TYPE_ROOT cell.
 * Thread heaps keep root cells in root pages of their own (they never
 * move); a message keeps them in its buffer pages, so its root travels
 * with it and becomes a hole on arrival.  Free root slots are kept on a
 * malloc'd stack, filled three at a time (the three slot words of a fresh
 * root cell).
 */
#include <stdio.h>
#include <stdlib.h>

#include "rav-private.h"

atomic_uint rav__next_heap_id;

_Thread_local rav_heap *rav__self_heap;
static pthread_key_t self_key;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

/* ---- heap lifetime ---- */

/* Ended heaps.  A program may keep the pointer of a heap whose thread
 * ended and call with it: freed, its structure would be read and written
 * as if live.  So it is kept, empty, marked RAV_BUILDER_ENDED (every call
 * that allocates or makes a root reports it, debug builds every call),
 * and reused for a later thread's heap only once GRAVE_KEEP others ended
 * after it: what is kept is bounded by the threads alive at once plus
 * GRAVE_KEEP structures.  A reused one has a new id, so a stale pointer to
 * it is then another thread's heap (reported as such by debug builds). */
#define GRAVE_KEEP 64
static pthread_mutex_t grave_lock = PTHREAD_MUTEX_INITIALIZER;
static rav_heap *grave_head, *grave_tail; /* oldest first */
static unsigned grave_n;

static void release_self(rav_heap *h)
{
	rav__heap_destroy(h);
	rav__page_cache_flush(); /* the pages the heap gave back, and any others this thread held */
	rav__record_thread_end(h);
	rav__self_heap = NULL;
	h->builder = RAV_BUILDER_ENDED;
	h->grave_next = NULL;
	pthread_mutex_lock(&grave_lock);
	if (grave_tail)
		grave_tail->grave_next = h;
	else
		grave_head = h;
	grave_tail = h;
	grave_n++;
	pthread_mutex_unlock(&grave_lock);
}

/* A heap structure for a new thread: an ended one old enough, or a new one. */
static rav_heap *heap_struct_new(void)
{
	rav_heap *h = NULL;
	pthread_mutex_lock(&grave_lock);
	if (grave_n > GRAVE_KEEP) {
		h = grave_head;
		grave_head = h->grave_next;
		if (!grave_head)
			grave_tail = NULL;
		grave_n--;
	}
	pthread_mutex_unlock(&grave_lock);
	if (h)
		return h;
	/* Its own cache lines: the heaps of two threads are written all the
	 * time and must not share one, nor a 128-byte pair of lines (the unit
	 * the adjacent-line prefetchers of x86 cores fetch, so a write to one
	 * line of a pair can still take its neighbour from another core). */
	return aligned_alloc(128, (sizeof *h + 127) & ~(size_t)127);
}

static void self_destructor(void *arg)
{
	rav_heap *h = arg;
	if (h) {
		rav__self_heap = h; /* events recorded during teardown still belong to this thread */
		rav__site_clear();  /* no call of the program tears it down */
		release_self(h);
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
	heap_set_top(h, NULL, CELLS); /* no page yet: the first allocation takes the slow path */
	h->builder = kind == RAV_HEAP_THREAD ? h->id : rav__self_heap ? rav__self_heap->id : 0;
	/* Born in the creating thread's epoch: its creation is recorded in that
	 * stream (or, if the thread is not recording yet, the heap is
	 * snapshotted when it joins). */
	h->snap_epoch = rav__tl_epoch;
}

rav_heap *rav_heap_self(void)
{
	if (RAV_LIKELY(rav__self_heap != NULL))
		return rav__self_heap;
	if (rav__pool_ensure() != RAV_OK)
		return NULL;
	pthread_once(&self_once, make_key);
#if RAV_VALGRIND
	ANNOTATE_HAPPENS_AFTER(&self_key);
#endif
	rav_heap *h = heap_struct_new();
	if (!h) {
		rav__fail(RAV_ENOMEM, "rav_heap_self: out of memory for the heap structure");
		return NULL;
	}
	rav__heap_init(h, RAV_HEAP_THREAD);
	rav__self_heap = h;
	pthread_setspecific(self_key, h);
	rav__record_thread_start(h);
	return h;
}

void rav_thread_exit(void)
{
	RAV_SITE_ENTER();
	rav_heap *h = rav__self_heap;
	if (!h)
		return;
	pthread_setspecific(self_key, NULL);
	release_self(h);
}

unsigned rav_heap_id(const rav_heap *h)
{
	return h ? h->id : 0;
}

uint32_t rav_heap_gen(const rav_heap *h)
{
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_heap_gen: null heap");
		return 0;
	}
	return h->gen;
}

/* Give every page back to the pool.  Cells are not freed one by one: the
 * whole heap goes, so there is nothing left to fix up. */
void rav__heap_destroy(rav_heap *h)
{
	h->tearing_down = true;
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
			(void)fill;
			/* Zeroed when it is used again (PAGE_DIRTY). */
			p->w[0] |= PAGE_DIRTY;
			rav__page_release(h, p);
			p = next;
		}
	}
	free(h->root_stack);
	h->root_stack = NULL;
	free(h->pending);
	h->pending = NULL;
	h->pending_cap = 0;
	free(h->holes);
	h->holes = NULL;
	h->holes_cap = 0;
	free(h->runs);
	h->runs = NULL;
	h->runs_cap = h->nruns = h->runs_head = 0;
	h->root_n = h->root_cap = 0;
	h->scratch = NULL;
	h->first = h->last = h->root_first = NULL;
	h->dead = h->dead_tail = h->dying = NULL;
	heap_set_top(h, NULL, CELLS);
	h->st.live_cells = h->st.ref_cells = h->st.dead_cells = h->st.dying_cells = 0;
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
	rav_assert(page_owner(p) == h);
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
		h->root_cells++;
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
		/* make sure the three slots of the new cell fit before taking it */
		if (h->root_cap < 3) {
			uintptr_t **grown = realloc(h->root_stack, 64 * sizeof *grown);
			if (!grown) {
				rav__fail(RAV_ENOMEM, "rav_root_new: out of memory for the root table");
				return NULL;
			}
			h->root_stack = grown;
			h->root_cap = 64;
		}
		rav_cell *c = root_cell_new(h);
		if (!c)
			return NULL;
		h->root_stack[h->root_n++] = &c->w[3];
		h->root_stack[h->root_n++] = &c->w[2];
		h->root_stack[h->root_n++] = &c->w[1];
		c->w[0] |= RAV_FLAG_ROOT_FREE_ALL;
	}
	uintptr_t *slot = h->root_stack[--h->root_n];
	rav_assert(cell_of(slot)->w[0] & RAV_FLAG_ROOT_FREE(word_of(slot)));
	cell_of(slot)->w[0] &= ~RAV_FLAG_ROOT_FREE(word_of(slot));
	h->extra_roots++;
	REC(RAV_EV_ROOT_NEW, 0, 0, slot, 0, 0);
	return slot;
}

void rav__root_slot_free(rav_heap *h, uintptr_t *slot)
{
	/* In every build (a root is freed far less often than it is read): a
	 * root freed twice would be on the free stack twice, and two later
	 * rav_root_new would hand out the same slot.  Debug builds stop it
	 * earlier (rav__check_root), with the same message. */
	uintptr_t *type_word = &cell_of(slot)->w[0];
	if (RAV_UNLIKELY(*type_word & RAV_FLAG_ROOT_FREE(word_of(slot)))) {
		rav__misuse(RAV_ESTALE, "rav_root_free: root %p of heap %u was freed already (freed twice?)",
			    (void *)slot, h->id);
		return;
	}
	REC(RAV_EV_ROOT_FREE, 0, 0, slot, 0, 0);
	h->extra_roots--;
	/* If the stack cannot grow, the slot stays allocated but empty: a leak
	 * of 8 bytes, never a crash. */
	if (root_stack_push(h, slot))
		*type_word |= RAV_FLAG_ROOT_FREE(word_of(slot));
}

/* The engine's own root slot, for a reference in transit during an
 * overwrite (created on first use). */
uintptr_t *rav__scratch_slot(rav_heap *h)
{
	if (!h->scratch)
		h->scratch = rav__root_slot_new(h);
	return h->scratch;
}

rav_root rav_root_new(rav_heap *h)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__fail(RAV_EINVAL, "rav_root_new: null heap");
		return NULL;
	}
	/* In every build (not a per-cell call): a root of a heap nobody owns
	 * any more would be memory the channel or the pool holds. */
	if (RAV_UNLIKELY(h->builder >= RAV_BUILDER_ENDED)) {
		rav__heap_gone(h, "rav_root_new");
		return NULL;
	}
	if (!CHECK_OWNER(h, "rav_root_new"))
		return NULL;
	RAV_SAFEPOINT(h);
	return (rav_root)rav__root_slot_new(h);
}

/* ---- checks ---- */

/* rav_root_free's checks off its common case (a thread heap in use), in
 * every build: true (reported) if the root must not be freed. */
bool rav__root_free_refused(const rav_heap *h, rav_root r)
{
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_root_free: null heap");
		return true;
	}
	if (h->builder >= RAV_BUILDER_ENDED) {
		rav__heap_gone(h, "rav_root_free");
		return true;
	}
	if (h->kind == RAV_HEAP_MESSAGE && h->msg && (uintptr_t *)r == h->msg->root) {
		rav__misuse(RAV_EINVAL,
			    "rav_root_free: %p is the message root of message %u: it goes with the message "
			    "(rav_send, or rav_msg_free to discard it)",
			    (void *)r, h->id);
		return true;
	}
	return false;
}

/* A heap no thread may use any more: a thread heap whose thread ended
 * (rav_thread_exit, or the thread exited), or a message that was sent. */
void rav__heap_gone(const rav_heap *h, const char *what)
{
	if (h->builder == RAV_BUILDER_SENT)
		rav__misuse(RAV_ESTATE,
			    "%s: message %u was sent (rav_send): its pages belong to the channel and then to the "
			    "receiver; build the next one with rav_msg_new",
			    what, h->id);
	else
		rav__misuse(RAV_ESTALE,
			    "%s: heap %u ended (its thread called rav_thread_exit or exited): the pointer is stale; "
			    "rav_heap_self() gives the calling thread's heap",
			    what, h->id);
}

bool rav__check_owner(const rav_heap *h, const char *what)
{
	if (!h) {
		rav__misuse(RAV_EINVAL, "%s: null heap (rav_heap_self() gives the calling thread's)", what);
		return false;
	}
	const rav_heap *self = rav__self_heap;
	unsigned owner = h->builder;
	if (RAV_LIKELY(self != NULL && owner == self->id))
		return true;
	if (owner >= RAV_BUILDER_ENDED) {
		rav__heap_gone(h, what);
		return false;
	}
	if (h->kind == RAV_HEAP_MESSAGE && !owner) {
		/* a message built by a thread that had no heap yet, or one being
		 * read by rav_deserialize: it belongs to whoever holds it now */
		return true;
	}
	char who[64];
	if (self)
		snprintf(who, sizeof who, "the thread of heap %u", self->id);
	else
		snprintf(who, sizeof who, "a thread without a heap");
	if (h->kind == RAV_HEAP_THREAD)
		rav__misuse(RAV_ECROSS,
			    "%s: heap %u is another thread's heap, used here from %s (a heap is used only by its own "
			    "thread; send a message instead)",
			    what, h->id, who);
	else
		rav__misuse(RAV_ECROSS,
			    "%s: message %u is being built by the thread of heap %u, used here from %s (a message is "
			    "built by one thread, then sent)",
			    what, h->id, owner, who);
	return false;
}

bool rav__check_root(rav_heap *h, rav_root r, const char *what)
{
	if (!r) {
		rav__misuse(RAV_EINVAL, "%s: null root", what);
		return false;
	}
	if (!rav__check_owner(h, what))
		return false;
	rav_cell *c = cell_of(r);
	if (((uintptr_t)r & (sizeof(uintptr_t) - 1)) != 0 || !rav__in_pool(r)) {
		rav__misuse(RAV_EINVAL, "%s: %p is not a root (not an engine address)", what, (void *)r);
		return false;
	}
	if (cell_type(c) != RAV_TYPE_ROOT || page_owner(page_of(c)) != h || word_of(r) == 0) {
		rav__misuse(RAV_EINVAL, "%s: %p is not a root of heap %u", what, (void *)r, h->id);
		return false;
	}
	if (c->w[0] & RAV_FLAG_ROOT_FREE(word_of(r))) {
		rav__misuse(RAV_ESTALE, "%s: root %p of heap %u was freed with rav_root_free (used after free, or freed twice)",
			    what, (void *)r, h->id);
		return false;
	}
	return true;
}

bool rav__check_ref(rav_heap *h, rav_ref r, const char *what)
{
	if (!r.cell) {
		rav__misuse(RAV_EINVAL, "%s: null reference", what);
		return false;
	}
	if (!rav__check_owner(h, what))
		return false;
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
