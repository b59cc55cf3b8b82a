/* session-buffers.c - the event buffers of a live session (session.c).
 *
 * Program threads fill buffers the engine hands out through the recorder's
 * exchange and release callbacks; a buffer handed over joins the session's
 * queue, and the session thread encodes it in order per thread (each
 * thread's buffers carry serial numbers), reading the active ones while
 * they fill.  Only the session thread recycles buffers.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "session.h"
#include "snapshot.h"

/* last: it defines S */
#include "session-private.h"

/* ---- recorder callbacks (program threads) ---- */

/* Lock held. */
void ravt_session_enqueue_locked(rav_evbuf *b)
{
	b->next = NULL;
	if (S.tail)
		S.tail->next = b;
	else
		S.head = b;
	S.tail = b;
	if (!(b->flags & F_PIECE))
		S.queued_bytes += (size_t)b->count * sizeof(rav_raw_event);
	/* Busy producers wake the session thread long before the queue is
	 * full (once per round: one pipe write). */
	if (++S.queued_items >= S.max_bufs / 8 && !S.woken) {
		S.woken = true;
		wake_session();
	}
}

/* Lock held.  The cut is the next number: every one handed out so far was
 * handed to a thread with room for its event, so it reaches the stream,
 * while any event numbered later is held back (consume) - a consistent
 * cut, since an event that depends on another thread's has a larger
 * number.  A cut by clock reading was not one: a thread could hold a
 * number taken before the moment and write its event after it, or not at
 * all for want of a buffer, while the event that depends on it (a
 * receiver's hand-off of the message's pages) was read before. */
void ravt_session_lose_locked(void)
{
	if (S.losing)
		return;
	S.losing = true;
	S.losing_tsc = rav__tsc_now();
	uint64_t last = rav_record_seq_last();
	uint32_t e = (uint32_t)(last >> RAVT_SEQ_EPOCH_SHIFT);
	if (e == S.void_epoch)
		S.cut_seq = last + 1;
	else if (e < S.void_epoch)
		/* a resynchronisation is starting epoch void_epoch: none of it */
		S.cut_seq = ((uint64_t)S.void_epoch << RAVT_SEQ_EPOCH_SHIFT) + 1;
	else
		/* the end closed the numbers (settle): no thread takes one any
		 * more, so a thread refused a buffer only ends its own stream */
		S.cut_seq = UINT64_MAX;
}

bool ravt_session_seqs_complete(uint64_t cut)
{
	uint64_t base = (uint64_t)S.epoch << RAVT_SEQ_EPOCH_SHIFT;
	if (cut <= base + 1)
		return true;
	pthread_mutex_lock(&S.lock);
	uint64_t got = S.seqs_written + S.seqs_void;
	pthread_mutex_unlock(&S.lock);
	return got >= cut - base - 1;
}

rav_evbuf *ravt_session_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	pthread_mutex_lock(&S.lock);
	if (full) {
		full->flags = 0;
		if (S.live) {
			ravt_session_enqueue_locked(full);
		} else {
			full->next = S.free_list;
			S.free_list = full;
		}
	}
	rav_evbuf *b = NULL;
	/* The session thread records its own snapshot events: it never waits
	 * for, or loses to, itself. */
	bool self = ravt_session_on_thread;
	/* Once stopping, threads still get buffers until the end's cut is made
	 * (session-thread.c, settle): a number taken must reach the stream. */
	while (S.live && (self || (!S.sealed && !S.losing))) {
		if (S.free_list) {
			b = S.free_list;
			S.free_list = b->next;
			break;
		}
		/* A thread's first buffer is always granted: it holds nothing the
		 * session could free by waiting. */
		if (!full || self || S.nbufs < S.max_bufs) {
			b = malloc(BUF_BYTES);
			if (b) {
				S.nbufs++;
			} else if (!self) {
				/* out of memory: even lossless sessions must lose */
				ravt_session_lose_locked();
			}
			break;
		}
		if (S.lossless) {
			pthread_cond_wait(&S.freed, &S.lock);
			continue;
		}
		/* The client cannot keep up: lose from now on, resynchronise once
		 * the session thread has caught up. */
		ravt_session_lose_locked();
		break;
	}
	pthread_mutex_unlock(&S.lock);
	if (b) {
		b->next = NULL;
		b->flags = 0;
		b->cap = BUF_RECORDS;
		b->consumed = 0;
	}
	return b;
}

void ravt_session_release(rav_evbuf *last, void *user)
{
	(void)user;
	if (!last)
		return;
	pthread_mutex_lock(&S.lock);
	last->flags = 0;
	if (S.live) {
		last->flags = F_RELEASED;
		ravt_session_enqueue_locked(last);
	} else {
		last->next = S.free_list;
		S.free_list = last;
	}
	pthread_mutex_unlock(&S.lock);
}

/* ---- the session thread: encoding the buffers ---- */

static owner_state *owner_get(uint32_t owner)
{
	for (;;) {
		if (S.owners_cap) {
			size_t mask = S.owners_cap - 1;
			for (size_t i = (owner * 2654435761u) & mask;; i = (i + 1) & mask) {
				owner_state *o = &S.owners[i];
				if (o->used && o->owner == owner)
					return o;
				if (!o->used)
					break;
			}
		}
		/* not found: insert (grow at half full) */
		size_t used = 0;
		for (size_t i = 0; i < S.owners_cap; i++)
			used += S.owners[i].used;
		if (used * 2 + 2 > S.owners_cap) {
			size_t cap = S.owners_cap ? S.owners_cap * 2 : 64;
			owner_state *n = calloc(cap, sizeof *n);
			if (!n)
				return NULL;
			for (size_t i = 0; i < S.owners_cap; i++) {
				if (!S.owners[i].used)
					continue;
				for (size_t j = (S.owners[i].owner * 2654435761u) & (cap - 1);;
				     j = (j + 1) & (cap - 1))
					if (!n[j].used) {
						n[j] = S.owners[i];
						break;
					}
			}
			free(S.owners);
			S.owners = n;
			S.owners_cap = cap;
		}
		size_t mask = S.owners_cap - 1;
		for (size_t i = (owner * 2654435761u) & mask;; i = (i + 1) & mask)
			if (!S.owners[i].used) {
				S.owners[i] = (owner_state){owner, 0, true, false};
				return &S.owners[i];
			}
	}
}

void ravt_session_owners_reset(void)
{
	if (S.owners)
		memset(S.owners, 0, S.owners_cap * sizeof *S.owners);
}

/* Records that belong to record e after it: a text event's text (FORMAT.md:
 * text events), a call site's frames, a compound record's second record
 * (rav-record.h).  Walks of a buffer step over them: their bytes are not
 * records (a frame or an address may look like a clock reading). */
static uint32_t text_records(const rav_raw_event *e)
{
	uint64_t len;
	switch (RAV_EV_KIND(e)) {
	case RAV_RAW_SITE:
		return RAV_SITE_RECORDS(RAV_EV_AUX(e) > RAV_SITE_FRAMES_MAX ? RAV_SITE_FRAMES_MAX : RAV_EV_AUX(e)) - 1;
	case RAV_RAW_MOVE:
	case RAV_RAW_REFRAV_NEW:
	case RAV_RAW_REFRAV_DROP:
		return rav_raw_compound_records(e) - 1;
	case RAV_EV_THREAD_NAME:
		len = RAV_EV_AUX(e);
		break;
	case RAV_EV_TYPE_DEF:
	case RAV_EV_ERROR:
	case RAV_EV_MARK:
		len = e->a;
		break;
	default:
		return 0;
	}
	if (len > 4096)
		len = 4096;
	return (uint32_t)((len + sizeof(rav_raw_event) - 1) / sizeof(rav_raw_event));
}

/* One event for the statistics: a FREE with aux 0 is no free (an empty
 * cell of an arrived page made a hole, rav-record.h), as replay and
 * `ravtrace stats` count frees. */
static inline void count_kind(const rav_raw_event *e)
{
	unsigned k = RAV_EV_KIND(e);
	if (k < RAV_EV_KIND_COUNT && !(k == RAV_EV_FREE && RAV_EV_AUX(e) == 0))
		S.kinds[k]++;
}

/* Events in records [from, to), counted by kind when statistics are wanted. */
static uint64_t count_events(const rav_raw_event *ev, uint32_t from, uint32_t to, bool by_kind)
{
	uint64_t n = 0;
	for (uint32_t i = from; i < to; i++) {
		unsigned k = RAV_EV_KIND(&ev[i]);
		if (k >= RAV_RAW_SITE) {
			/* not events: call sites; compound records: their events */
			unsigned recs = rav_raw_compound_records(&ev[i]);
			if (recs && i + recs <= to) {
				rav_raw_event x[RAV_RAW_EXPAND_MAX];
				unsigned nx = rav_raw_expand(&ev[i], x);
				for (unsigned j = 0; by_kind && j < nx; j++)
					count_kind(&x[j]);
				n += nx;
			}
			i += text_records(&ev[i]);
			continue;
		}
		if (by_kind)
			count_kind(&ev[i]);
		n++;
		i += text_records(&ev[i]);
	}
	return n;
}

static void mark_dirty(uint32_t thread)
{
	for (size_t i = 0; i < S.ndirty; i++)
		if (S.dirty[i] == thread)
			return;
	if (S.ndirty == S.dirty_cap) {
		size_t cap = S.dirty_cap ? S.dirty_cap * 2 : 32;
		uint32_t *d = realloc(S.dirty, cap * sizeof *d);
		if (!d)
			return;
		S.dirty = d;
		S.dirty_cap = cap;
	}
	S.dirty[S.ndirty++] = thread;
}

void ravt_session_flush_dirty(void)
{
	for (size_t i = 0; i < S.ndirty && ravt_session_writer_ok(); i++)
		ravt_writer_flush_thread(S.w, S.dirty[i]);
	S.ndirty = 0;
}

static void learn_pool(void)
{
	if (S.pool_known || !S.w)
		return;
	size_t bytes;
	void *base = rav_record_pool_base(&bytes);
	if (base) {
		ravt_writer_set_pool(S.w, (uint64_t)(uintptr_t)base, bytes);
		S.pool_known = true;
	}
}

/* Records [from, to) of b go to the client. */
static void write_range(rav_evbuf *b, uint32_t from, uint32_t to, uint64_t cut)
{
	if (to <= from)
		return;
	/* an ordering event's own clock reading carries its number */
	for (uint32_t i = from; i < to; i++) {
		if (RAV_EV_KIND(&b->ev[i]) == RAV_EV_TIME && b->ev[i].c && b->ev[i].c < cut)
			S.seqs_written++;
		i += text_records(&b->ev[i]);
	}
	uint64_t n = count_events(b->ev, from, to, S.stats_ms || S.stats_only);
	S.events += n;
	if (!S.stats_only && ravt_session_writer_ok()) {
		learn_pool();
		uint32_t thread = __atomic_load_n(&b->thread, __ATOMIC_RELAXED);
		ravt_writer_add(S.w, thread, b->ev + from, to - from);
		mark_dirty(thread);
	}
}

/* Encode records [b->consumed, upto) of a buffer of the current epoch.
 * During a loss each program thread's stream ends right before its first
 * ordering event numbered at or after the cut (its own clock reading,
 * which carries the number); what follows is lost.  The session thread's
 * own stream goes on (its LOST event, numbered after the cut, ends the
 * epoch), without its other ordering events from the cut on (snapshots of
 * messages taken by a sweep: their pages' history after the cut is not in
 * the stream). */
static void consume(rav_evbuf *b, uint32_t upto)
{
	uint32_t from = b->consumed;
	if (upto <= from)
		return;
	uint32_t owner = __atomic_load_n(&b->owner, __ATOMIC_RELAXED);
	owner_state *o = owner_get(owner);
	pthread_mutex_lock(&S.lock);
	uint64_t cut = S.cut_seq;
	pthread_mutex_unlock(&S.lock);
	b->consumed = upto;
	if (o && o->cut) {
		S.lost += count_events(b->ev, from, upto, false);
		return;
	}
	bool self = owner == S.self_owner;
	uint32_t start = from;
	for (uint32_t i = from; i < upto; i++) {
		const rav_raw_event *e = &b->ev[i];
		if (RAV_EV_KIND(e) == RAV_EV_TIME && e->c >= cut) {
			if (!self) {
				write_range(b, start, i, cut);
				if (o)
					o->cut = true;
				S.lost += count_events(b->ev, i, upto, false);
				return;
			}
			/* the session thread: skip this ordering event (clock
			 * reading and event) unless it is the LOST event */
			if (i + 1 < upto && RAV_EV_KIND(&b->ev[i + 1]) != RAV_EV_LOST) {
				write_range(b, start, i, cut);
				S.lost += count_events(b->ev, i, i + 2, false);
				start = i + 2;
				i++;
				continue;
			}
		}
		i += text_records(e);
	}
	write_range(b, start, upto, cut);
}

/* Buffers done with in this round go back at its end: one of them may
 * still be on the round's list of active buffers (collected before it was
 * handed over), and must not be refilled by another thread before that
 * list is done. */
static rav_evbuf *done_head;

void ravt_session_recycle(rav_evbuf *b)
{
	b->next = done_head;
	done_head = b;
}

void ravt_session_recycle_done(void)
{
	if (!done_head)
		return;
	rav_evbuf *last = done_head;
	while (last->next)
		last = last->next;
	pthread_mutex_lock(&S.lock);
	last->next = S.free_list;
	S.free_list = done_head;
	pthread_cond_broadcast(&S.freed);
	pthread_mutex_unlock(&S.lock);
	done_head = NULL;
}

/* A queued item: a snapshot piece or a buffer handed over. */
static void process(rav_evbuf *b)
{
	if (b->flags & F_PIECE) {
		piece *p = (piece *)(uintptr_t)b->reserved;
		pthread_mutex_lock(&S.lock);
		S.queued_bytes -= p->nwords * sizeof(uint64_t);
		pthread_mutex_unlock(&S.lock);
		if (p->info.epoch == S.epoch)
			ravt_session_write_heap_piece(p);
		ravt_session_free_piece(p);
		free(b);
		return;
	}
	pthread_mutex_lock(&S.lock);
	S.queued_bytes -= (size_t)b->count * sizeof(rav_raw_event);
	pthread_mutex_unlock(&S.lock);
	uint32_t e = __atomic_load_n(&b->epoch, __ATOMIC_ACQUIRE);
	uint32_t count = __atomic_load_n(&b->count, __ATOMIC_ACQUIRE);
	if (e == S.epoch) {
		owner_state *o = owner_get(__atomic_load_n(&b->owner, __ATOMIC_RELAXED));
		uint32_t serial = __atomic_load_n(&b->serial, __ATOMIC_RELAXED);
		if (o && serial == o->expected) {
			consume(b, count);
			o->expected++;
		} else if (o && serial > o->expected) {
			/* Cannot happen (a thread's buffers arrive in order); if it
			 * did, the stream would have a hole: count it as lost. */
			S.lost += count_events(b->ev, b->consumed, count, false);
			o->cut = true;
		}
		if ((b->flags & F_RELEASED) && ravt_session_writer_ok() && !S.stats_only)
			ravt_writer_flush_thread(S.w, __atomic_load_n(&b->thread, __ATOMIC_RELAXED));
	} else if (e >= S.first_epoch && e < S.epoch && count > b->consumed) {
		/* Written in an epoch a resynchronisation left behind. */
		S.lost += count_events(b->ev, b->consumed, count, false);
	}
	ravt_session_recycle(b);
}

static void collect_active(rav_evbuf *b, void *user)
{
	(void)user;
	if (__atomic_load_n(&b->epoch, __ATOMIC_ACQUIRE) != S.epoch)
		return;
	if (S.nact == S.act_cap) {
		size_t cap = S.act_cap ? S.act_cap * 2 : 64;
		void *n = realloc(S.act, cap * sizeof *S.act);
		if (!n)
			return;
		S.act = n;
		S.act_cap = cap;
	}
	S.act[S.nact].b = b;
	S.act[S.nact].count = __atomic_load_n(&b->count, __ATOMIC_ACQUIRE);
	S.nact++;
}

/* One round: committed counts of active buffers, then the queue, then the
 * active buffers up to those counts.  Returns true if the queue was empty. */
bool ravt_session_drain(void)
{
	S.nact = 0;
	rav_record_foreach_buffer(collect_active, NULL);
	pthread_mutex_lock(&S.lock);
	rav_evbuf *q = S.head;
	S.head = S.tail = NULL;
	S.queued_items = 0;
	S.woken = false;
	pthread_mutex_unlock(&S.lock);
	bool empty = q == NULL;
	while (q) {
		rav_evbuf *next = q->next;
		process(q);
		q = next;
	}
	for (size_t i = 0; i < S.nact; i++) {
		rav_evbuf *b = S.act[i].b;
		owner_state *o = owner_get(__atomic_load_n(&b->owner, __ATOMIC_RELAXED));
		if (o && __atomic_load_n(&b->serial, __ATOMIC_RELAXED) == o->expected)
			consume(b, S.act[i].count);
	}
	ravt_session_recycle_done();
	return empty;
}
