/* channel.c - channels: sending and receiving messages (msg.c has the
 * messages themselves and rav__arrive, which links a received message's
 * pages into the receiver's heap).
 *
 * Live sessions (record-live.c) need two things from here: channels are listed
 * (a sweep snapshots the messages queued in them), and a receiver that
 * blocks puts itself on its channel's `parked` list, so a sweep can
 * snapshot its heap under the channel's lock while it sleeps.  The sweep
 * only tries channel locks: a thread holding one may be waiting for the
 * recorder, whose thread runs the sweep. */
#include <errno.h>
#include <stdlib.h>

#include "rav-private.h"

struct rav_channel {
	uint32_t live; /* RAV_CHANNEL_LIVE until rav_channel_free (misuse check) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rav_msg *head, *tail;
	/* messages sent and received so far: the one numbered n (chan_seq) is
	 * still queued while taken <= n (first in, first out) */
	uint64_t sent, taken;
	unsigned id;
	bool closed;
	rav_parked *parked;              /* receivers blocked in rav_recv */
	struct rav_channel *next, *prev; /* all channels (for sweeps) */
	/* The sweep of epoch sweep_epoch (channels_lock): done, or where its
	 * next batch starts (resume, while taken <= resume_seq) */
	uint32_t sweep_epoch;
	bool sweep_done;
	struct rav_msg *sweep_resume;
	uint64_t sweep_resume_seq;
};

static atomic_uint next_channel_id;
static pthread_mutex_t channels_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rav_channel *channels;

#define RAV_CHANNEL_LIVE 0x214e4843u /* "CHN!" */

static bool channel_live(const rav_channel *ch, const char *what)
{
	if (RAV_LIKELY(ch->live == RAV_CHANNEL_LIVE))
		return true;
	rav__misuse(RAV_EINVAL, "%s: %p is not a channel (freed with rav_channel_free, or never made by rav_channel_new)",
	            what, (const void *)ch);
	return false;
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
	ch->live = RAV_CHANNEL_LIVE;
	ch->id = atomic_fetch_add(&next_channel_id, 1) + 1;
	pthread_mutex_lock(&channels_lock);
	ch->next = channels;
	if (channels)
		channels->prev = ch;
	channels = ch;
	pthread_mutex_unlock(&channels_lock);
	return ch;
}

void rav_channel_close(rav_channel *ch)
{
	if (!ch || !channel_live(ch, "rav_channel_close"))
		return;
	pthread_mutex_lock(&ch->lock);
	ch->closed = true;
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}

/* Discards the messages still queued (rav_msg_free): one call site. */
static void channel_free(rav_channel *ch)
{
	if (!ch || !channel_live(ch, "rav_channel_free"))
		return;
	/* A receiver asleep in rav_recv would wake on a destroyed condition
	 * variable (or never): refused, the channel stays as it was. */
	pthread_mutex_lock(&ch->lock);
	bool waited_on = ch->parked != NULL;
	pthread_mutex_unlock(&ch->lock);
	if (waited_on) {
		rav__misuse(RAV_ESTATE,
			    "rav_channel_free: channel %u has a receiver blocked in rav_recv: close it "
			    "(rav_channel_close), and free it once its receivers returned",
			    ch->id);
		return;
	}
	pthread_mutex_lock(&channels_lock);
	if (ch->prev)
		ch->prev->next = ch->next;
	else
		channels = ch->next;
	if (ch->next)
		ch->next->prev = ch->prev;
	pthread_mutex_unlock(&channels_lock);
	struct rav_msg *m = ch->head;
	while (m) {
		struct rav_msg *next = m->next;
		rav__msg_destroy(m);
		m = next;
	}
	pthread_cond_destroy(&ch->cond);
	pthread_mutex_destroy(&ch->lock);
	*(volatile uint32_t *)&ch->live = 0;
	free(ch);
}

rav_status rav_send(rav_channel *ch, rav_msg *m)
{
	RAV_SITE_ENTER();
	if (!ch || !m)
		return rav__fail(RAV_EINVAL, "rav_send: null channel or message");
	if (!channel_live(ch, "rav_send") || rav__msg_check(m, "rav_send") != RAV_OK)
		return RAV_EINVAL;
	if (m->sent)
		return rav__fail(RAV_ESTATE, "rav_send: message %u was already sent", m->heap.id);
	rav_heap *mh = &m->heap;
	RAV_SAFEPOINT(rav__self());
	RAV_SAFEPOINT(mh);
	/* Only the message root may hold a reference when the message leaves
	 * (searched only if other roots were ever made in it). */
	for (rav_cell *p = mh->extra_roots ? mh->first : NULL; p; p = (rav_cell *)p->w[PH_NEXT]) {
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
	/* The heap is the channel's now: the builder's calls on it are misuse
	 * (rav__heap_gone, from every allocation: the heap shows no room), and
	 * none writes into its pages.  (Its top page's fill is in its header.) */
	mh->builder = RAV_BUILDER_SENT;
	m->sent_top_page = mh->top_page;
	m->sent_top = mh->top;
	m->sent_dead = mh->dead;
	m->sent_dead_tail = mh->dead_tail;
	mh->dead = mh->dead_tail = NULL;
	heap_set_top(mh, NULL, CELLS);
	m->next = NULL;
	m->chan_seq = ch->sent++;
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

static rav_status receive(rav_channel *ch, rav_heap *h, rav_root dst, bool block)
{
	if (!ch || !h)
		return rav__fail(RAV_EINVAL, "rav_recv: null channel or heap");
	if (!channel_live(ch, "rav_recv"))
		return RAV_EINVAL;
	if (h->kind != RAV_HEAP_THREAD)
		return rav__fail(RAV_EINVAL, "rav_recv: heap %u is a message, not a thread heap", h->id);
	if (!CHECK_OWNER(h, "rav_recv"))
		return rav__misuse_status();
	/* In every build, before the message leaves the queue: a root of
	 * another heap would get the message's cells linked into that heap
	 * (another thread's) and report success. */
	if (!rav__check_root(h, dst, "rav_recv"))
		return rav__misuse_status();
	RAV_SAFEPOINT(h);
	pthread_mutex_lock(&ch->lock);
	rav_parked pk;
	bool parked = false;
	while (!ch->head) {
		if (ch->closed)
			break;
		if (!block) {
			pthread_mutex_unlock(&ch->lock);
			return RAV_EAGAIN;
		}
		if (!parked) {
			rav__park(&pk, h);
			pk.next = ch->parked;
			ch->parked = &pk;
			parked = true;
		}
		pthread_cond_wait(&ch->cond, &ch->lock);
	}
	if (parked) {
		for (rav_parked **p = &ch->parked; *p; p = &(*p)->next)
			if (*p == &pk) {
				*p = pk.next;
				break;
			}
		rav__unpark(&pk);
	}
	if (!ch->head) {
		pthread_mutex_unlock(&ch->lock);
		/* how a receive loop ends: not an error (no ERROR event, so a
		 * program's normal shutdown shows none in ravscope) */
		return rav__outcome(RAV_ECLOSED, "rav_recv: channel %u is closed and empty", ch->id);
	}
	/* Nothing of h was touched yet in this call: a thread that slept
	 * through the start of a session joins it here, under the lock. */
	RAV_SAFEPOINT(h);
	rav_msg *m = ch->head;
	ch->head = m->next;
	ch->taken++;
	if (!ch->head)
		ch->tail = NULL;
	m->heap.dead = m->sent_dead;
	m->heap.dead_tail = m->sent_dead_tail;
	heap_set_top(&m->heap, m->sent_top_page, m->sent_top);
	/* A message queued before the session began is taken now, before its
	 * pages change hands (the channel's lock keeps it still). */
	if (RAV_UNLIKELY(rav__tracing))
		rav__snapshot_in_flight(&m->heap, ch->id, true);
	rav_stamp stamp = rav__stamp();
	pthread_mutex_unlock(&ch->lock);
	REC_SYNC(RAV_EV_MSG_RECV, m->heap.id, ch->id, h->id, stamp);
	rav_status st = rav__arrive(h, m, (uintptr_t *)dst);
	free(m->heap.root_stack);
	free(m->heap.pending);
	REC_SYNC(RAV_EV_HEAP_END, m->heap.id, 0, 0, rav__stamp());
	*(volatile uint32_t *)&m->live = 0; /* (a store the compiler would drop before free) */
	free(m);
	return st;
}

rav_status rav_recv(rav_channel *ch, rav_heap *h, rav_root dst)
{
	bool noted = rav__site_enter_blocking(RAV_CALLER);
	rav_status st = receive(ch, h, dst, true);
	rav__site_leave_blocking(noted);
	return st;
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

/* ---- live sessions ---- */

/* Snapshot the messages queued in every channel and the heaps of threads
 * blocked in rav_recv, each under its channel's lock, at most `budget`
 * messages a call (rav_record_sweep).  A long queue is taken in batches,
 * so its sender and receiver are held up for a batch at a time (a message
 * taken already is skipped: its heap is in the epoch), and a call does a
 * bounded amount of work: the session thread sweeps between its rounds over
 * the buffers.  (All at once, a resynchronisation with 60000 messages
 * queued spent seconds snapshotting while no buffer was read: the buffers
 * overflowed, a loss began, and the next resynchronisation did the same,
 * for ever.)  Each channel remembers where its sweep of the epoch stopped:
 * the next batch starts there while that message is still queued (from the
 * head each time, the walks over messages taken already made a queue of n
 * messages cost n^2/512 steps).  A message not swept yet when its receiver
 * takes it is snapshotted by the receiver (receive). */
#define SWEEP_BATCH 256

unsigned rav__channels_sweep(unsigned budget, unsigned *taken_out)
{
	unsigned left = 0, total = 0;
	uint32_t e = __atomic_load_n(&rav__epoch, __ATOMIC_ACQUIRE);
	pthread_mutex_lock(&channels_lock);
	for (struct rav_channel *ch = channels; ch; ch = ch->next) {
		if (ch->sweep_epoch != e) {
			ch->sweep_epoch = e;
			ch->sweep_done = false;
			ch->sweep_resume = NULL;
			ch->sweep_resume_seq = 0;
		}
		if (ch->sweep_done)
			continue;
		if (total >= budget) {
			left++;
			continue;
		}
		for (bool more = true; more;) {
			if (pthread_mutex_trylock(&ch->lock) != 0) {
				left++;
				break;
			}
			for (rav_parked *pk = ch->parked; pk; pk = pk->next)
				rav__snapshot_parked(pk, ch->id);
			unsigned taken = 0;
			more = false;
			/* resume is still queued (not received, so not freed) while
			 * the channel has taken no more than resume_seq messages;
			 * otherwise every message before it went too */
			struct rav_msg *m = ch->sweep_resume && ch->taken <= ch->sweep_resume_seq ? ch->sweep_resume
			                                                                          : ch->head;
			ch->sweep_resume = NULL;
			for (; m; m = m->next) {
				if (__atomic_load_n(&m->heap.snap_epoch, __ATOMIC_ACQUIRE) == e)
					continue;
				if (taken == SWEEP_BATCH || total + taken >= budget) {
					more = true;
					ch->sweep_resume = m;
					ch->sweep_resume_seq = m->chan_seq;
					break;
				}
				rav__snapshot_in_flight(&m->heap, ch->id, false);
				taken++;
			}
			pthread_mutex_unlock(&ch->lock);
			total += taken;
			if (!more)
				ch->sweep_done = true;
			else if (total >= budget) {
				left++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&channels_lock);
	if (taken_out)
		*taken_out = total;
	return left;
}
