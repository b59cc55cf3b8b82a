/* record-live.c - the engine side of tracing, part 2: live sessions
 * (part 1, record.c: the per-thread buffers and the recording paths).
 *
 * A recorder can start recording while heaps exist (trace/listen.c).  A
 * session is an *epoch*.  A thread records nothing in an epoch until it
 * has passed a safe point (the start of an engine call) in it; there it
 * starts a fresh buffer whose first record is the snapshot of its heap, so
 * every heap's events continue exactly from its snapshot.  A thread
 * blocked in rav_recv is snapshotted by a sweep under its channel's lock
 * and continues, when it wakes, in the buffer the sweep prepared.  A
 * snapshot the recorder refuses keeps the thread out of the epoch: its
 * events would not replay.  A resynchronisation after lost events is just
 * the next epoch.  Also here:
 * the views a live recorder takes of the process without stopping it (the
 * pool's free pages, the types, the census of thread heaps).
 */
#include <stdlib.h>

#include "record-private.h"

static uint32_t epoch_now(void)
{
	return __atomic_load_n(&rav__epoch, __ATOMIC_ACQUIRE);
}

/* Epoch e's numbers were closed by rav_record_seq_close: nobody joins it. */
static bool epoch_closed(uint32_t e)
{
	return (atomic_load_explicit(&rav__seq, memory_order_acquire) >> RAV_SEQ_EPOCH_SHIFT) != e;
}

/* The calling thread left epoch e (leave_epoch): it stays out of it. */
static bool left_epoch(uint32_t e)
{
	rav_thread_rec *rec = rav__tl_rec;
	return rec && __atomic_load_n(&rec->left, __ATOMIC_RELAXED) == e;
}

/* ---- live sessions ---- */

bool rav_record_install_live(const rav_recorder *r)
{
	if (!r || !r->snapshot)
		return false;
	const rav_recorder *expected = NULL;
	if (__atomic_compare_exchange_n(&rav__recorder_ptr, &expected, r, false, __ATOMIC_ACQ_REL,
	                                __ATOMIC_ACQUIRE))
		return true;
	return expected == r;
}

uint32_t rav_record_session_begin(void)
{
	/* A new session (recording was off, not a resynchronisation): the
	 * sites threads remember are stale (rav__site_restream) */
	if (!rav__tracing)
		__atomic_fetch_add(&rav__site_gen, 1, __ATOMIC_RELAXED);
	uint32_t e = __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED) + 1;
	/* The counter first: a thread that sees the new epoch finds its
	 * numbers starting at e << 40 | 1; one still in the old epoch fails its
	 * compare-and-swap and takes none. */
	atomic_store_explicit(&rav__seq, (uint64_t)e << RAV_SEQ_EPOCH_SHIFT, memory_order_release);
	__atomic_store_n(&rav__epoch, e, __ATOMIC_RELEASE);
	/* Reads take safe points during a session, and record accesses if
	 * the live recorder says so (it sets that before the session). */
	const rav_recorder *r = rav__recorder;
	bool access = r && __atomic_load_n(&r->record_access, __ATOMIC_RELAXED);
	/* call sites as the live recorder asks */
	rav__site_prepare(r ? __atomic_load_n(&r->site_depth, __ATOMIC_RELAXED) : 0);
	__atomic_store_n(&rav__hooks_flag, RAV_HOOK_SAFEPOINT | (access ? RAV_HOOK_ACCESS : 0),
	                 __ATOMIC_RELEASE);
	__atomic_store_n(&rav__tracing_flag, 1, __ATOMIC_RELEASE);
	rav__alloc_gate_sync();
	return e;
}

/* The end of a session must be a consistent cut of every thread's stream,
 * like the cut of a loss (FORMAT.md 12.3).  Turning recording off alone is
 * not: a thread that took its number under a channel's lock but had not
 * written its event yet (rav_send stamps under the lock, records after
 * unlocking), or whose event was still unpublished when the final drain
 * read its buffer, is missing from the stream, while the thread that took
 * the next number (the receiver's page hand-off of that very message) was
 * read later and is in it: replay then finds a page handed off by a message
 * whose creation and pages it never saw.  So the session first closes the
 * epoch's numbers: the counter leaves the epoch, a thread that then needs a
 * number stops recording right before that event (rav__seq_take), and no
 * thread joins the epoch any more.  Every number up to the one returned
 * was handed out and its event is written soon by its thread; the session
 * waits until it has all of them, then drains.  Returns how many numbers
 * the epoch handed out. */
uint64_t rav_record_seq_close(void)
{
	uint32_t e = epoch_now();
	uint64_t base = (uint64_t)e << RAV_SEQ_EPOCH_SHIFT;
	uint64_t was = atomic_exchange_explicit(&rav__seq, (uint64_t)(e + 1) << RAV_SEQ_EPOCH_SHIFT,
	                                        memory_order_acq_rel);
	return was >> RAV_SEQ_EPOCH_SHIFT == e ? was - base : 0;
}

uint64_t rav_record_seq_last(void)
{
	return atomic_load_explicit(&rav__seq, memory_order_acquire);
}

void rav_record_session_end(void)
{
	__atomic_store_n(&rav__tracing_flag, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__hooks_flag, 0, __ATOMIC_RELEASE);
	rav__alloc_gate_sync();
}

uint32_t rav_record_epoch(void)
{
	return epoch_now();
}

uint64_t rav_record_stamp(uint64_t *tsc)
{
	RAV_SAFEPOINT(NULL);
	uint64_t seq = rav__seq_take();
	if (tsc)
		*tsc = rav__tsc();
	return seq;
}

/* The heap's description for the recorder's snapshot callback.  The stamp
 * is taken here: after it, every event of the heap is recorded. */
static uint64_t take_snapshot(const rav_recorder *r, rav_heap *h, rav_snap_where where, unsigned channel,
                              uint32_t e, uint64_t *seq, uint64_t *tsc)
{
	rav_snap_heap s = {
	    .heap = h,
	    .id = h->id,
	    .parent = h->parent,
	    .channel = channel,
	    .kind = (uint8_t)h->kind,
	    .where = (uint8_t)where,
	    .free_mode = (uint8_t)h->mode,
	    .epoch = e,
	    .os_tid = h->tid,
	    .name = h->name,
	};
	s.seq = *seq = rav__seq_take();
	if (!s.seq)
		return 0;
	s.tsc = *tsc = rav__tsc();
	uint64_t piece = r->snapshot(&s, r->user);
	/* Only a snapshot the recorder took counts: a heap whose snapshot was
	 * refused is still to be taken (by whoever touches it next). */
	if (piece)
		__atomic_store_n(&h->snap_epoch, e, __ATOMIC_RELEASE);
	return piece;
}

/* The calling thread stops recording in its epoch for good: a heap it
 * works on could not be snapshotted, so its events would not replay.  Its
 * stream ends here, as at the end of a session: the recorder counts what
 * follows as lost (a refused snapshot is a loss, or the session ends), and
 * the thread does not join the epoch again (a stream with a gap would not
 * replay either: what the thread did meanwhile, a page it gave back, is
 * missing); the next epoch takes it back. */
static void leave_epoch(uint32_t e)
{
	rav_thread_rec *rec = rav__thread_rec();
	if (rec)
		__atomic_store_n(&rec->left, e, __ATOMIC_RELAXED);
	rav__tl_epoch = 0;
	rav__record_recheck();
}

/* False if the recorder refused the snapshot (or the epoch's numbers are
 * closed). */
static bool snapshot_owned(const rav_recorder *r, rav_heap *h, uint32_t e)
{
	uint64_t seq, tsc;
	uint64_t piece = take_snapshot(r, h, RAV_SNAP_OWNER, 0, e, &seq, &tsc);
	if (!piece || !seq)
		return false;
	rav__emit_sync(RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_HEAP << 8), h->id, piece, RAV_SNAP_OWNER, seq,
	               tsc);
	return true;
}

/* The calling thread enters epoch e: a fresh buffer whose first record is
 * the snapshot of its heap.  If the recorder has no buffer to give, the
 * thread stays out of the epoch (the recorder counts that as loss and
 * resynchronises later). */
static void join_epoch(const rav_recorder *r, uint32_t e)
{
	rav_thread_rec *rec = rav__thread_rec();
	uint32_t was = rav__tl_epoch;
	rav__tl_epoch = e;
	if (rec)
		rec->serial = 0;
	/* The old buffer (an earlier epoch's) goes to the recorder, which
	 * discards it; the new one is tagged with e. */
	rav_evbuf *b = rav__exchange();
	if (!b) {
		rav__tl_epoch = was;
		return;
	}
	rav__tl_backoff = 0;
	/* the site first: the snapshot event then carries the call during
	 * which the thread joined, and stale sites of the writer's are gone */
	rav__site_restream();
	rav_heap *self = rav__self();
	if (self && !snapshot_owned(r, self, e)) {
		/* Without its snapshot the thread's events would not replay: the
		 * buffer goes back untagged (the recorder discards it, and it is
		 * not the first of the thread's stream in e, which a parked
		 * snapshot or the next epoch starts again). */
		rav__set_active(rec, NULL);
		__atomic_store_n(&b->epoch, 0, __ATOMIC_RELEASE);
		rav_record_flush();
		leave_epoch(e);
	}
}

/* A leaf: recording to a file (no session) passes here at every call. */
void rav__safepoint(rav_heap *h)
{
	if (RAV_UNLIKELY(rav__hooks & RAV_HOOK_SAFEPOINT) && RAV_UNLIKELY(rav__safepoint_due(h)))
		rav__safepoint_slow(h);
}

/* The epoch part of a safe point: join the session's epoch (snapshotting the
 * heap) if the thread is not in it yet. */
static void safepoint_epoch(rav_heap *h)
{
	const rav_recorder *r = rav__recorder;
	if (!r || !r->snapshot)
		return;
	uint32_t e = epoch_now();
	if (e == 0)
		return;
	if (rav__tl_epoch != e) {
		if (epoch_closed(e) || left_epoch(e))
			return;
		join_epoch(r, e);
		if (rav__tl_epoch != e)
			return;
	}
	/* Only a heap of the calling thread (its own, or a message it builds):
	 * a call made on another thread's heap (a misuse debug builds report
	 * after this) must not snapshot it. */
	rav_heap *self = rav__self();
	if (h && self && h->builder == self->id && __atomic_load_n(&h->snap_epoch, __ATOMIC_ACQUIRE) != e &&
	    !snapshot_owned(r, h, e))
		leave_epoch(e);
}

__attribute__((noinline)) void rav__safepoint_slow(rav_heap *h)
{
	safepoint_epoch(h);
	/* Whether or not the thread is in the epoch: during a loss (the epoch
	 * closed until the session resynchronises) or after a refused snapshot
	 * a paused program must still hold, and watches must still be applied.
	 * (This returned early with the epoch part: the likely reason why, under
	 * memcheck, attach-debug-cell twice saw no thread hold for 120 s after
	 * a PAUSE, until the blocked third thread woke at the program's end.) */
	if (__atomic_load_n(&rav__debug_safepoints, __ATOMIC_ACQUIRE))
		rav__debug_safepoint(h);
}

void rav_record_event_ordered(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t seq,
                              uint64_t tsc)
{
	if (!rav__tracing)
		return;
	RAV_SAFEPOINT(NULL);
	rav__emit_sync(kindaux, x, a, b, seq, tsc);
}

void rav__park(rav_parked *pk, rav_heap *h)
{
	memset(pk, 0, sizeof *pk);
	pk->heap = h;
	pk->rec = rav__thread_rec();
	/* Whatever the thread recorded is already readable (live readers poll
	 * active buffers), so nothing waits in it while the thread sleeps. */
}

void rav__unpark(rav_parked *pk)
{
	/* Before a received message arrives (cells may move): a debugger's
	 * watch requests name cells where they were while this thread slept. */
	if (RAV_UNLIKELY(__atomic_load_n(&rav__debug_safepoints, __ATOMIC_ACQUIRE)))
		rav__debug_apply_watches();
	if (!pk->adopt)
		return;
	/* A sweep snapshotted this thread's heap while it slept and started
	 * its stream in pk->epoch with that snapshot: continue there. */
	rav__tl_epoch = pk->epoch;
	rav__adopt_buffer(pk->adopt);
	rav__site_restream();
}

void rav__snapshot_parked(rav_parked *pk, unsigned channel)
{
	const rav_recorder *r = rav__recorder;
	rav_thread_rec *rec = pk->rec;
	uint32_t e = epoch_now();
	/* (the owner sleeps under the channel's lock, which the caller holds:
	 * its record stands still) */
	if (!r || !r->snapshot || !rec || e == 0 ||
	    __atomic_load_n(&pk->heap->snap_epoch, __ATOMIC_ACQUIRE) == e ||
	    __atomic_load_n(&rec->left, __ATOMIC_RELAXED) == e)
		return;
	rav_evbuf *b = r->exchange(NULL, r->user);
	if (!b)
		return;
	uint64_t seq, tsc;
	uint64_t piece = take_snapshot(r, pk->heap, RAV_SNAP_PARKED, channel, e, &seq, &tsc);
	if (!piece || !seq) {
		/* No snapshot: the thread must not wake into e with an empty
		 * stream (its events would not replay); it joins at its next
		 * safe point instead, or stays out. */
		r->release(b, r->user);
		return;
	}
	__atomic_store_n(&b->thread, pk->heap->id, __ATOMIC_RELAXED);
	__atomic_store_n(&b->owner, rec->id, __ATOMIC_RELAXED);
	__atomic_store_n(&b->serial, 0, __ATOMIC_RELAXED);
	b->ev[0] = (rav_raw_event){RAV_EV_TIME, 0, tsc, 0, seq};
	b->ev[1] = (rav_raw_event){RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_HEAP << 8), pk->heap->id, piece,
	                           RAV_SNAP_PARKED, seq};
	__atomic_store_n(&b->count, 2, __ATOMIC_RELAXED);
	__atomic_store_n(&b->epoch, e, __ATOMIC_RELEASE);
	rec->serial = 1;
	if (pk->adopt) /* from an earlier epoch: the recorder discards it */
		r->release(pk->adopt, r->user);
	pk->adopt = b;
	pk->epoch = e;
	rav__set_active(rec, b);
}

void rav__snapshot_in_flight(rav_heap *mh, unsigned channel, bool taker)
{
	const rav_recorder *r = rav__recorder;
	uint32_t e = epoch_now();
	if (!r || !r->snapshot || e == 0 || __atomic_load_n(&mh->snap_epoch, __ATOMIC_ACQUIRE) == e)
		return;
	RAV_SAFEPOINT(NULL);
	if (rav__tl_epoch != e)
		return;
	uint64_t seq, tsc;
	uint64_t piece = take_snapshot(r, mh, RAV_SNAP_IN_FLIGHT, channel, e, &seq, &tsc);
	if (piece && seq)
		rav__emit_sync(RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_HEAP << 8), mh->id, piece,
		               RAV_SNAP_IN_FLIGHT, seq, tsc);
	else if (taker && rav__tl_epoch == e)
		/* The receiver is about to take pages the stream knows nothing of.
		 * (A sweep leaves the message to its receiver.) */
		leave_epoch(e);
}

unsigned rav_record_sweep(unsigned budget, unsigned *taken)
{
	if (taken)
		*taken = 0;
	if (!rav__tracing)
		return 0;
	RAV_SAFEPOINT(NULL);
	return rav__channels_sweep(budget ? budget : 1, taken);
}

void rav_record_types(void (*fn)(uint16_t id, unsigned refmask, const char *text, size_t len, void *user), uint64_t *seq,
                      uint64_t *tsc, void *user)
{
	rav__types_snapshot(fn, seq, tsc, user);
}

void *rav_record_pool_base(size_t *bytes)
{
	if (!__atomic_load_n(&rav__pool.ready, __ATOMIC_ACQUIRE))
		return NULL;
	if (bytes)
		*bytes = rav__pool.reserved * (size_t)RAV_PAGE_SIZE;
	return rav__pool.base;
}

void rav_record_pool_free(void (*fn)(const uint32_t *pages, size_t n, uint64_t carved, uint64_t seq,
                                     uint64_t tsc, void *user),
                          void *user)
{
	if (!rav_record_pool_base(NULL)) {
		uint64_t tsc;
		uint64_t seq = rav_record_stamp(&tsc);
		fn(NULL, 0, 0, seq, tsc, user);
		return;
	}
	/* The shared pool's free pages, warm and cold.  Pages in threads' page
	 * caches (owned by their threads, read without a lock) and pages being
	 * purged or committed outside the lock are not listed: a reader learns
	 * of them when they are next acquired. */
	pthread_mutex_lock(&rav__pool.lock);
	size_t n = rav__pool.nwarm + rav__pool.ncold, k = 0;
	uint32_t *pages = malloc((n ? n : 1) * sizeof *pages);
	if (pages) {
		for (rav_cell *p = rav__pool.warm; p && k < n; p = (rav_cell *)p->w[PH_NEXT])
			pages[k++] = (uint32_t)rav_page_index(p);
		for (size_t i = 0; i < rav__pool.ncold && k < n; i++)
			pages[k++] = (uint32_t)rav_page_index(rav__pool.cold[i]);
	}
	uint64_t carved = rav__pool.bump;
	uint64_t tsc;
	uint64_t seq = rav_record_stamp(&tsc);
	/* Called under the lock: no page changes hands before the pieces of
	 * the heaps that take it are ordered after this stamp. */
	fn(pages, pages ? k : 0, carved, seq, tsc, user);
	pthread_mutex_unlock(&rav__pool.lock);
	free(pages);
}

/* Thread heaps for the census: registered at creation, gone at exit. */
static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
typedef struct heap_entry {
	struct heap_entry *next;
	rav_heap *h;
} heap_entry;
static heap_entry *heaps;

void rav__census_add(rav_heap *h)
{
	heap_entry *e = malloc(sizeof *e);
	if (!e)
		return;
	e->h = h;
	pthread_mutex_lock(&heaps_lock);
	e->next = heaps;
	heaps = e;
	pthread_mutex_unlock(&heaps_lock);
}

void rav__census_remove(rav_heap *h)
{
	pthread_mutex_lock(&heaps_lock);
	for (heap_entry **p = &heaps; *p; p = &(*p)->next) {
		if ((*p)->h == h) {
			heap_entry *e = *p;
			*p = e->next;
			free(e);
			break;
		}
	}
	pthread_mutex_unlock(&heaps_lock);
}

/* A heap's live count, read while its owner may be changing it: a torn or
 * stale value is acceptable for a census, so this one read is exempt from
 * the race detector. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RAV_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define RAV_TSAN 1
#endif
#ifdef RAV_TSAN
__attribute__((no_sanitize("thread")))
#endif
static uint64_t
racy_live(const rav_heap *h)
{
	return *(const volatile uint64_t *)&h->st.live_cells;
}

size_t rav_record_census(rav_census *out, uint32_t *pending, size_t max)
{
	memset(out, 0, sizeof *out);
	uint32_t e = epoch_now();
	size_t np = 0;
	pthread_mutex_lock(&heaps_lock);
	for (heap_entry *it = heaps; it; it = it->next) {
		out->threads++;
		out->live_cells += racy_live(it->h);
		if (__atomic_load_n(&it->h->snap_epoch, __ATOMIC_ACQUIRE) == e && e)
			out->synced++;
		else if (pending && np < max)
			pending[np++] = it->h->id;
	}
	pthread_mutex_unlock(&heaps_lock);
	if (rav_record_pool_base(NULL)) {
		rav_pool_stats ps;
		rav_pool_stats_get(&ps);
		out->pool_used_pages = ps.used_pages;
	}
	return np;
}
