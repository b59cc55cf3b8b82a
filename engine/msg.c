/* msg.c - messages, channels and the arrival compaction.
 *
 * A message is a heap of its own (kind RAV_HEAP_MESSAGE) whose pages are
 * buffer pages: bump-allocated, never compacted while the message is built
 * or in flight, so nothing in them moves.  Its root lives in a root cell
 * inside its first buffer page, so the whole message is self-contained.
 * Sending hands the message (its page list) to a channel; receiving links
 * the pages into the receiver's list, turns the unused tails of pages that
 * are no longer at the top (and the root cell) into holes, and compacts:
 * cells from the top of the heap move into the holes, fixing their
 * referrers, until the heap has no gaps again. */
#include <errno.h>
#include <stdlib.h>

#include "rav-private.h"

struct rav_channel {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rav_msg *head, *tail;
	unsigned id;
	bool closed;
};

static atomic_uint next_channel_id;

rav_msg *rav_msg_new(void)
{
	RAV_SITE_ENTER();
	rav_heap *self = rav_heap_self();
	if (!self)
		return NULL;
	rav_msg *m = calloc(1, sizeof *m);
	if (!m) {
		rav__fail(RAV_ENOMEM, "rav_msg_new: out of memory");
		return NULL;
	}
	rav__heap_init(&m->heap, RAV_HEAP_MESSAGE);
	m->heap.msg = m;
	REC_SYNC(RAV_EV_HEAP_NEW | ((uint32_t)RAV_HEAP_MESSAGE << 8), m->heap.id, self->id, 0, rav__stamp());
	REC(RAV_EV_MSG_BUILD, 0, m->heap.id, 0, 0, 0);
	m->root = rav__root_slot_new(&m->heap);
	if (!m->root) {
		rav__heap_destroy(&m->heap);
		free(m);
		return NULL;
	}
	return m;
}

rav_heap *rav_msg_heap(rav_msg *m)
{
	return m ? &m->heap : NULL;
}

rav_root rav_msg_root(rav_msg *m)
{
	return m ? (rav_root)m->root : NULL;
}

void rav_msg_free(rav_msg *m)
{
	RAV_SITE_ENTER();
	if (!m)
		return;
	rav__heap_destroy(&m->heap);
	REC_SYNC(RAV_EV_HEAP_END, m->heap.id, 0, 0, rav__stamp());
	free(m);
}

/* Copy the subtree held by slot `src` of heap h into the message, with an
 * explicit stack of (source cell, destination slot) pairs. */
rav_status rav_msg_adopt(rav_msg *m, rav_heap *h, rav_root src)
{
	RAV_SITE_ENTER();
	if (!m || !h || !src)
		return rav__fail(RAV_EINVAL, "rav_msg_adopt: null argument");
	if (m->sent)
		return rav__fail(RAV_ESTATE, "rav_msg_adopt: message already sent");
	/* Queued kills may still hold references into the subtree. */
	rav__drain(h, 0);
	uintptr_t *sslot = (uintptr_t *)src;
	rav_cell *top = (rav_cell *)*sslot;
	if (!top)
		return rav__fail(RAV_EINVAL, "rav_msg_adopt: the source root is empty");
	rav_heap *mh = &m->heap;
	typedef struct pair {
		rav_cell *from;
		uintptr_t *to;
	} pair;
	size_t cap = 256, n = 0;
	pair *stack = malloc(cap * sizeof *stack);
	if (!stack)
		return rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
	/* First pass: the subtree must be held only through its own slots. */
	stack[n++] = (pair){ top, NULL };
	rav_status st = RAV_OK;
	size_t cells = 0;
	while (n) {
		rav_cell *c = stack[--n].from;
		if (cell_type(c) == RAV_TYPE_REF) {
			st = rav__fail(RAV_EINVAL, "rav_msg_adopt: the subtree is shared (cell %p has several "
						   "referrers); only a subtree held by one root can move",
				       (void *)c);
			break;
		}
		cells++;
		unsigned mask = type_refmask(cell_type(c));
		for (int f = 0; f < 2; f++) {
			if (!(mask & (1u << f)) || !c->w[1 + f])
				continue;
			if (n == cap) {
				pair *grown = realloc(stack, cap * 2 * sizeof *stack);
				if (!grown) {
					st = rav__fail(RAV_ENOMEM, "rav_msg_adopt: out of memory");
					goto out;
				}
				stack = grown;
				cap *= 2;
			}
			stack[n++] = (pair){ (rav_cell *)c->w[1 + f], NULL };
		}
	}
	if (st != RAV_OK)
		goto out;
	/* Second pass: copy.  The message root is overwritten. */
	if (*m->root)
		rav__detach(mh, m->root, RAV_EV_REF_CLEAR);
	n = 0;
	stack[n++] = (pair){ top, m->root };
	while (n) {
		pair p = stack[--n];
		rav_cell *c = rav__alloc(mh, cell_type(p.from));
		if (!c) {
			st = RAV_ENOMEM;
			goto out;
		}
		unsigned mask = type_refmask(cell_type(p.from));
		uintptr_t tw = p.from->w[0] & ~RAV_FLAG_MARK;
		if (tw != c->w[0]) {
			REC(RAV_EV_TYPE_WORD, 0, 0, c, c->w[0], tw);
			c->w[0] = tw;
		}
		for (int f = 0; f < 2; f++)
			if (!(mask & (1u << f)) && p.from->w[1 + f])
				WRITE_WORD(RAV_EV_DATA_STORE, &c->w[1 + f], p.from->w[1 + f]);
		WRITE_WORD(RAV_EV_REF_STORE, p.to, c);
		WRITE_WORD(RAV_EV_LINK, &c->w[RAV_W_BACK], p.to);
		for (int f = 1; f >= 0; f--)
			if ((mask & (1u << f)) && p.from->w[1 + f])
				stack[n++] = (pair){ (rav_cell *)p.from->w[1 + f], &c->w[1 + f] };
	}
	/* Drop the originals. */
	rav__detach(h, sslot, RAV_EV_REF_CLEAR);
	rav__after_free(h);
out:
	free(stack);
	(void)cells;
	return st;
}

/* ---- channels ---- */

rav_channel *rav_channel_new(void)
{
	rav_channel *ch = calloc(1, sizeof *ch);
	if (!ch) {
		rav__fail(RAV_ENOMEM, "rav_channel_new: out of memory");
		return NULL;
	}
	pthread_mutex_init(&ch->lock, NULL);
	pthread_cond_init(&ch->cond, NULL);
	ch->id = atomic_fetch_add(&next_channel_id, 1) + 1;
	return ch;
}

void rav_channel_close(rav_channel *ch)
{
	if (!ch)
		return;
	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}

/* Discards the messages still queued (rav_msg_free): one call site. */
static void channel_free(rav_channel *ch)
{
	if (!ch)
		return;
	struct rav_msg *m = ch->head;
	while (m) {
		struct rav_msg *next = m->next;
		rav_msg_free(m);
		m = next;
	}
	pthread_cond_destroy(&ch->cond);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

rav_status rav_send(rav_channel *ch, rav_msg *m)
{
	RAV_SITE_ENTER();
	if (!ch || !m)
		return rav__fail(RAV_EINVAL, "rav_send: null channel or message");
	if (m->sent)
		return rav__fail(RAV_ESTATE, "rav_send: message %u was already sent", m->heap.id);
	rav_heap *mh = &m->heap;
	/* Only the message root may hold a reference when the message leaves. */
	for (rav_cell *p = mh->first; p; p = (rav_cell *)p->w[PH_NEXT]) {
		unsigned fill = p == mh->top_page ? mh->top : page_fill(p);
		for (unsigned i = 1; i < fill; i++)
			if (cell_type(&p[i]) == RAV_TYPE_ROOT)
				for (int w = 1; w < 4; w++)
					if (p[i].w[w] && &p[i].w[w] != m->root)
						return rav__fail(RAV_ESTATE,
								 "rav_send: message %u has a root other than its "
								 "message root still set; free it before sending",
								 mh->id);
	}
	if (mh->top_page)
		page_set_fill(mh->top_page, mh->top);
	rav_heap *self = rav__self();
	if (self)
		self->st.pages_sent += mh->st.pages;
	pthread_mutex_lock(&ch->lock);
	if (ch->closed) {
		pthread_mutex_unlock(&ch->lock);
		return rav__fail(RAV_ECLOSED, "rav_send: channel %u is closed", ch->id);
	}
	m->sent = true;
	m->channel = ch->id;
	m->next = NULL;
	if (ch->tail)
		ch->tail->next = m;
	else
		ch->head = m;
	ch->tail = m;
	rav_stamp stamp = rav__stamp();
	/* Once the lock is released the receiver may take the message and free
	 * it: read what the event needs now. */
	unsigned msg_id = mh->id, ch_id = ch->id;
	uint64_t msg_pages = mh->st.pages;
	pthread_cond_signal(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
	REC_SYNC(RAV_EV_MSG_SEND, msg_id, ch_id, msg_pages, stamp);
	(void)msg_id, (void)ch_id, (void)msg_pages;
	return RAV_OK;
}

/* Link the message's pages into h and compact; store the root into dst. */
rav_status rav__arrive(rav_heap *h, rav_msg *m, uintptr_t *dst)
{
	rav_heap *mh = &m->heap;
	rav__drain(h, 0); /* nothing may move while kills are queued */
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
	unsigned last_fill = mh->top;
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
	mh->first = mh->last = mh->top_page = NULL;
	h->gen++;
	if (!first_new) {
		/* An empty message: nothing arrives but an empty root. */
		if (dst && *dst) {
			rav__detach(h, dst, RAV_EV_REF_CLEAR);
			rav__after_free(h);
		}
		return RAV_OK;
	}
	/* Counters move with the cells. */
	h->st.live_cells += mh->st.live_cells;
	h->st.ref_cells += mh->st.ref_cells;
	/* Holes: the tail of the old top page and of every arrived page but the last. */
	if (old_top && old_top != empty) {
		for (unsigned i = old_top_fill; i < CELLS; i++) {
			REC(RAV_EV_FREE, 0, 0, &old_top[i], 0, 0);
			VG_CELL_ALLOC(&old_top[i]);
			rav__dead_push(h, &old_top[i]);
		}
		page_set_fill(old_top, CELLS);
	}
	for (rav_cell *p = first_new; p != last_new; p = (rav_cell *)p->w[PH_NEXT]) {
		for (unsigned i = page_fill(p); i < CELLS; i++) {
			REC(RAV_EV_FREE, 0, 0, &p[i], 0, 0);
			VG_CELL_ALLOC(&p[i]);
			rav__dead_push(h, &p[i]);
		}
		page_set_fill(p, CELLS);
	}
	h->top_page = last_new;
	h->top = last_fill;
	/* Dead cells of the message join h's queue; root cells become holes after
	 * the message root's reference moves to dst. */
	rav_cell *d;
	while ((d = rav__dead_pop(mh)) != NULL)
		rav__dead_push(h, d);
	uintptr_t *tmp = NULL;
	if (dst && *dst) {
		tmp = h->scratch ? h->scratch : (h->scratch = rav__root_slot_new(h));
		if (tmp)
			rav__transfer(h, dst, tmp, RAV_EV_LINK);
	}
	if (dst)
		rav__transfer(h, m->root, dst, RAV_EV_REF_STORE);
	else if (*m->root)
		rav__detach(h, m->root, RAV_EV_REF_CLEAR);
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
	if (tmp && *tmp)
		rav__detach(h, tmp, RAV_EV_LINK);
	rav__compact(h, 0, 1);
	h->gen++;
	return RAV_OK;
}

static rav_status receive(rav_channel *ch, rav_heap *h, rav_root dst, bool block)
{
	if (!ch || !h)
		return rav__fail(RAV_EINVAL, "rav_recv: null channel or heap");
	if (h->kind != RAV_HEAP_THREAD)
		return rav__fail(RAV_EINVAL, "rav_recv: heap %u is a message, not a thread heap", h->id);
	pthread_mutex_lock(&ch->lock);
	while (!ch->head) {
		if (ch->closed) {
			pthread_mutex_unlock(&ch->lock);
			return rav__fail(RAV_ECLOSED, "rav_recv: channel %u is closed and empty", ch->id);
		}
		if (!block) {
			pthread_mutex_unlock(&ch->lock);
			return RAV_EAGAIN;
		}
		pthread_cond_wait(&ch->cond, &ch->lock);
	}
	rav_msg *m = ch->head;
	ch->head = m->next;
	if (!ch->head)
		ch->tail = NULL;
	rav_stamp stamp = rav__stamp();
	pthread_mutex_unlock(&ch->lock);
	REC_SYNC(RAV_EV_MSG_RECV, m->heap.id, ch->id, h->id, stamp);
	rav_status st = rav__arrive(h, m, (uintptr_t *)dst);
	free(m->heap.root_stack);
	REC_SYNC(RAV_EV_HEAP_END, m->heap.id, 0, 0, rav__stamp());
	free(m);
	return st;
}

rav_status rav_recv(rav_channel *ch, rav_heap *h, rav_root dst)
{
	RAV_SITE_ENTER();
	return receive(ch, h, dst, true);
}

rav_status rav_try_recv(rav_channel *ch, rav_heap *h, rav_root dst)
{
	RAV_SITE_ENTER();
	return receive(ch, h, dst, false);
}

void rav_channel_free(rav_channel *ch)
{
	RAV_SITE_BEGIN();
	channel_free(ch);
	RAV_SITE_END();
}
