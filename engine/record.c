/* record.c - the engine side of tracing: per-thread raw event buffers, and
 * the safe points that let a recorder attach to a running program.
 *
 * With tracing compiled in, every operation checks one global flag
 * (rav__tracing) - a well-predicted branch when no recorder records.  When
 * it is set, events are appended to the calling thread's buffer with plain
 * stores; only a full buffer costs a call into the recorder.  A TSC reading
 * is added every RAV_TIME_EVERY events rather than per event (rdtsc costs
 * about as much as the whole event otherwise).
 *
 * Live sessions (the recorder of trace/listen.c): recording can start while
 * heaps exist.  A session is an *epoch*.  A thread records nothing in an
 * epoch until it has passed a safe point (the start of an engine call) in
 * it; there it starts a fresh buffer whose first record is the snapshot of
 * its heap, so every heap's events continue exactly from its snapshot.  A
 * thread blocked in rav_recv is snapshotted by a sweep under its channel's
 * lock and continues, when it wakes, in the buffer the sweep prepared.  A
 * resynchronisation after lost events is just the next epoch.
 *
 * Every thread that records has a record in a registry, whose `active`
 * buffer a live reader may read while the thread appends to it (records are
 * published by a release store of count).  Buffers are only ever recycled by
 * the recorder, so a reader never sees a buffer reused under it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

#include "rav-private.h"

int rav__tracing_flag;
int rav__hooks_flag;
const rav_recorder *rav__recorder_ptr;
uint32_t rav__epoch;

_Thread_local rav_evbuf *rav__tbuf;
_Thread_local unsigned rav__time_countdown;
_Thread_local uint32_t rav__tl_epoch;
#define tbuf rav__tbuf
#define time_countdown rav__time_countdown

/* Events a thread with no buffer could not record pass unseen through this
 * many emits before the thread asks the recorder for a buffer again (each
 * ask takes the recorder's lock). */
#define NO_BUFFER_BACKOFF 256

/* ---- thread records ---- */

typedef struct rav_thread_rec {
	struct rav_thread_rec *next, *prev;
	rav_evbuf *active; /* atomic: the buffer the thread appends to */
	uint32_t id;       /* rav_evbuf.owner */
	uint32_t serial;   /* serial of the thread's next buffer in its epoch */
	uint64_t dropped;  /* atomic: events lost for want of a buffer */
} rav_thread_rec;

static pthread_mutex_t recs_lock = PTHREAD_MUTEX_INITIALIZER;
static rav_thread_rec *recs;
static uint32_t next_rec_id;
static pthread_key_t rec_key;
static pthread_once_t rec_once = PTHREAD_ONCE_INIT;
static _Thread_local rav_thread_rec *tl_rec;
static _Thread_local unsigned tl_backoff;
static _Thread_local uint32_t tl_commit; /* count to publish after the reserved records are filled */
static uint64_t dropped_gone;            /* atomic: `dropped` of threads that ended */

static const rav_recorder *recorder(void)
{
	return rav__recorder;
}

static void set_active(rav_thread_rec *rec, rav_evbuf *b)
{
	if (rec)
		__atomic_store_n(&rec->active, b, __ATOMIC_RELEASE);
}

static void rec_destructor(void *arg)
{
	rav_thread_rec *rec = arg;
	/* A buffer still held (a thread that never had a heap) goes back. */
	rav_record_flush();
	pthread_mutex_lock(&recs_lock);
	if (rec->prev)
		rec->prev->next = rec->next;
	else
		recs = rec->next;
	if (rec->next)
		rec->next->prev = rec->prev;
	__atomic_fetch_add(&dropped_gone, __atomic_load_n(&rec->dropped, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&recs_lock);
	tl_rec = NULL;
	free(rec);
}

static void make_rec_key(void)
{
	pthread_key_create(&rec_key, rec_destructor);
}

/* The calling thread's record, registered on first use (NULL on ENOMEM:
 * the thread then records without being read live). */
static rav_thread_rec *thread_rec(void)
{
	if (RAV_LIKELY(tl_rec != NULL))
		return tl_rec;
	pthread_once(&rec_once, make_rec_key);
	rav_thread_rec *rec = calloc(1, sizeof *rec);
	if (!rec)
		return NULL;
	pthread_mutex_lock(&recs_lock);
	rec->id = ++next_rec_id;
	rec->next = recs;
	if (recs)
		recs->prev = rec;
	recs = rec;
	pthread_mutex_unlock(&recs_lock);
	tl_rec = rec;
	pthread_setspecific(rec_key, rec);
	return rec;
}

uint64_t rav__tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static uint32_t epoch_now(void)
{
	return __atomic_load_n(&rav__epoch, __ATOMIC_ACQUIRE);
}

/* Epoch e's numbers were closed by rav_record_seq_close: nobody joins it. */
static bool epoch_closed(uint32_t e)
{
	return (atomic_load_explicit(&rav__seq, memory_order_acquire) >> RAV_SEQ_EPOCH_SHIFT) != e;
}

/* A compare-and-swap rather than an add: the number is taken only if the
 * counter is in the thread's epoch, so a thread left behind by a new epoch
 * cannot take one of the new epoch's numbers and leave a hole in them. */
uint64_t rav__seq_take(void)
{
	unsigned long long v = atomic_load_explicit(&rav__seq, memory_order_relaxed);
	for (;;) {
		if (RAV_UNLIKELY((v >> RAV_SEQ_EPOCH_SHIFT) != rav__tl_epoch)) {
			/* The session is ending (rav_record_seq_close): this thread's
			 * stream ends before the event it could not number. */
			if (rav__tl_epoch == epoch_now())
				rav__tl_epoch = 0;
			return 0;
		}
		if (atomic_compare_exchange_weak_explicit(&rav__seq, &v, v + 1, memory_order_relaxed,
		                                          memory_order_relaxed))
			return v + 1;
	}
}

bool rav_record_install(const rav_recorder *r)
{
	if (r && (atomic_load(&rav__next_heap_id) != 0 || recorder()))
		return false;
	rav__site_prepare(r ? r->site_depth : 0);
	__atomic_store_n(&rav__recorder_ptr, r, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__hooks_flag, r && r->record_access ? RAV_HOOK_ACCESS : 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__tracing_flag, r != NULL, __ATOMIC_RELEASE);
	if (r)
		rav__types_record_all();
	return true;
}

bool rav_record_active(void)
{
	return rav__tracing != 0;
}

/* Hand the current buffer (full, partial or NULL) to the recorder and take
 * a fresh one in the thread's epoch. */
static rav_evbuf *exchange(void)
{
	const rav_recorder *r = recorder();
	rav_thread_rec *rec = thread_rec();
	rav_evbuf *full = tbuf;
	/* No active buffer while the old one is handed over: a live reader
	 * could otherwise still find it here after the recorder recycled it to
	 * this very thread, before its new header fields are published. */
	set_active(rec, NULL);
	rav_evbuf *b = r->exchange(full, r->user);
	/* The exchange may have waited for the writer: take a fresh clock
	 * reading before the next event, so the events after the wait are not
	 * interpolated back into the time spent waiting. */
	time_countdown = 0;
	if (b) {
		rav_heap *h = rav__self();
		__atomic_store_n(&b->thread, h ? h->id : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->owner, rec ? rec->id : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->serial, rec ? rec->serial++ : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->epoch, rav__tl_epoch, __ATOMIC_RELEASE);
	}
	tbuf = b;
	set_active(rec, b);
	return b;
}

static void count_drop(unsigned n)
{
	rav_thread_rec *rec = tl_rec;
	if (rec)
		__atomic_fetch_add(&rec->dropped, n, __ATOMIC_RELAXED);
}

/* Room for n more records, or NULL if nothing may be recorded now.  The
 * records are published by commit() once filled. */
/* While a debugger wants to see every event of this thread (event
 * filtering, or a one-event step), the fast path of rav__emit is closed by
 * keeping time_countdown at 0; the real countdown waits here. */
static _Thread_local unsigned tl_saved_countdown;
static _Thread_local bool tl_countdown_saved;

static inline bool debug_wants_events(void)
{
	return RAV_UNLIKELY(__atomic_load_n(&rav__debug_filter, __ATOMIC_RELAXED) ||
			    rav__debug_tl_step == RAV_DEBUG_STEP_EVENT);
}

static inline rav_raw_event *reserve_clock(unsigned n, bool clock)
{
	if (RAV_UNLIKELY(tl_countdown_saved)) {
		time_countdown = tl_saved_countdown;
		tl_countdown_saved = false;
	}
	if (!recorder())
		return NULL;
	/* A thread whose stream is not in the current epoch yet records
	 * nothing until its next safe point snapshots its heap. */
	if (RAV_UNLIKELY(rav__tl_epoch != __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED)))
		return NULL;
	rav_evbuf *b = tbuf;
	if (RAV_UNLIKELY(!b || b->count + n + 1 > b->cap)) {
		if (!b && tl_backoff) {
			tl_backoff--;
			count_drop(n);
			return NULL;
		}
		b = exchange();
		if (!b || b->count + n + 1 > b->cap) {
			tl_backoff = NO_BUFFER_BACKOFF;
			count_drop(n);
			return NULL;
		}
	}
	uint32_t at = b->count;
	if (RAV_UNLIKELY(time_countdown == 0) && clock) {
		rav_raw_event *t = &b->ev[at++];
		t->kind = RAV_EV_TIME;
		t->x = 0;
		t->a = rav__tsc();
		t->b = 0;
		t->c = 0;
		time_countdown = RAV_TIME_EVERY;
	}
	if (time_countdown)
		time_countdown--;
	if (debug_wants_events()) {
		tl_saved_countdown = time_countdown;
		tl_countdown_saved = true;
		time_countdown = 0;
	}
	tl_commit = at + n;
	return &b->ev[at];
}

static inline rav_raw_event *reserve(unsigned n)
{
	return reserve_clock(n, true);
}

static inline void commit(void)
{
	__atomic_store_n(&tbuf->count, tl_commit, __ATOMIC_RELEASE);
}

/* Call-site records (site.c) are not events: no clock reading, and the
 * countdown to the next one does not move. */
rav_raw_event *rav__reserve_raw(unsigned n)
{
	if (!recorder() || RAV_UNLIKELY(rav__tl_epoch != __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED)))
		return NULL;
	rav_evbuf *b = tbuf;
	if (RAV_UNLIKELY(!b || b->count + n + 1 > b->cap)) {
		if (!b && tl_backoff)
			return NULL;
		b = exchange();
		if (!b || b->count + n + 1 > b->cap)
			return NULL;
	}
	tl_commit = b->count + n;
	return &b->ev[b->count];
}

void rav__commit_raw(void)
{
	commit();
}

void rav__emit_slow(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t c)
{
	rav_raw_event *e = reserve(1);
	if (!e)
		return;
	e->kind = kindaux;
	e->x = x;
	e->a = a;
	e->b = b;
	e->c = c;
	commit();
	if (debug_wants_events()) {
		rav_raw_event copy = { kindaux, x, a, b, c };
		rav__debug_event(&copy, NULL, 0);
	}
}

void rav__emit_sync(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t seq, uint64_t tsc)
{
	/* This event brings its own clock reading (taken under the lock that
	 * orders it): no periodic one may slip in before it with a later tsc. */
	rav_raw_event *e = reserve_clock(2, false);
	if (!e)
		return;
	time_countdown = RAV_TIME_EVERY;
	e[0].kind = RAV_EV_TIME;
	e[0].x = 0;
	e[0].a = tsc;
	e[0].b = 0;
	e[0].c = seq;
	e[1].kind = kindaux;
	e[1].x = x;
	e[1].a = a;
	e[1].b = b;
	e[1].c = seq;
	commit();
	if (debug_wants_events()) {
		rav_raw_event copy = e[1];
		rav__debug_event(&copy, NULL, 0);
	}
}

void rav__emit_text(rav_ev_kind kind, uint32_t aux, uint32_t x, uint64_t a, const char *text, size_t len)
{
#if RAV_TRACING
	if (!rav__tracing)
		return;
	if (len > 4096)
		len = 4096;
	unsigned extra = (unsigned)((len + sizeof(rav_raw_event) - 1) / sizeof(rav_raw_event));
	rav_raw_event *e = reserve(1 + extra);
	if (!e)
		return;
	e->kind = (uint32_t)kind | (aux << 8);
	e->x = x;
	e->a = a;
	e->b = 0;
	e->c = 0;
	memset(e + 1, 0, extra * sizeof(rav_raw_event));
	memcpy(e + 1, text, len);
	commit();
	if (debug_wants_events()) {
		rav_raw_event copy = *e;
		rav__debug_event(&copy, text, len);
	}
#else
	(void)kind, (void)aux, (void)x, (void)a, (void)text, (void)len;
#endif
}

void rav__record_thread_start(rav_heap *h)
{
	h->tid = (uint64_t)syscall(SYS_gettid);
	rav__census_add(h);
#if RAV_TRACING
	if (!rav__tracing || !recorder())
		return;
	/* In a session, a thread that did not record yet joins it here (its
	 * new heap is empty: the snapshot says so). */
	RAV_SAFEPOINT(h);
	/* A buffer taken before this thread had a heap (type definitions at
	 * install) is labelled heap 0: hand it over, so that this thread's
	 * events from here on are labelled with its heap and stay in one
	 * stream in program order. */
	if (tbuf && tbuf->thread != h->id) {
		if (tbuf->count)
			exchange();
		else
			__atomic_store_n(&tbuf->thread, h->id, __ATOMIC_RELAXED);
	}
	uint64_t seq = rav__seq_take();
	if (seq)
		rav__emit_sync(RAV_EV_THREAD_START, h->id, h->tid, 0, seq, rav__tsc());
	seq = rav__seq_take();
	if (seq)
		rav__emit_sync(RAV_EV_HEAP_NEW | ((uint32_t)h->kind << 8), h->id, h->id, 0, seq, rav__tsc());
#endif
}

void rav__record_thread_end(rav_heap *h)
{
#if RAV_TRACING
	if (rav__tracing && recorder()) {
		uint64_t seq = rav__seq_take();
		if (seq)
			rav__emit_sync(RAV_EV_HEAP_END, h->id, 0, 0, seq, rav__tsc());
		seq = rav__seq_take();
		if (seq)
			rav__emit_sync(RAV_EV_THREAD_END, h->id, 0, 0, seq, rav__tsc());
	}
	rav_record_flush();
#endif
	rav__census_remove(h);
}

void rav_record_flush(void)
{
	const rav_recorder *r = recorder();
	if (!r || !tbuf)
		return;
	rav_evbuf *b = tbuf;
	tbuf = NULL;
	set_active(tl_rec, NULL);
	r->release(b, r->user);
}

void rav_thread_name(const char *name)
{
	RAV_SITE_ENTER();
	rav_heap *h = rav_heap_self();
	if (!h || !name)
		return;
	RAV_SAFEPOINT(h);
	snprintf(h->name, sizeof h->name, "%s", name);
	size_t len = strlen(name);
	rav__emit_text(RAV_EV_THREAD_NAME, (uint32_t)len, h->id, 0, name, len);
}

void rav_mark(const char *text)
{
	RAV_SITE_ENTER();
	if (!text)
		return;
	rav_heap *h = rav_heap_self();
	RAV_SAFEPOINT(h);
	size_t len = strlen(text);
	rav__emit_text(RAV_EV_MARK, 0, 0, len > 4096 ? 4096 : len, text, len);
}

void rav_trace_access(const void *addr, bool write)
{
	RAV_SITE_ENTER();
	if (rav__tracing && recorder())
		rav__emit_slow(RAV_EV_ACCESS | ((uint32_t)write << 8), 0, (uint64_t)(uintptr_t)addr,
		               sizeof(uintptr_t), 0);
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
	const rav_recorder *r = recorder();
	bool access = r && __atomic_load_n(&r->record_access, __ATOMIC_RELAXED);
	/* call sites as the live recorder asks */
	rav__site_prepare(r ? __atomic_load_n(&r->site_depth, __ATOMIC_RELAXED) : 0);
	__atomic_store_n(&rav__hooks_flag, RAV_HOOK_SAFEPOINT | (access ? RAV_HOOK_ACCESS : 0),
	                 __ATOMIC_RELEASE);
	__atomic_store_n(&rav__tracing_flag, 1, __ATOMIC_RELEASE);
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

void rav_record_session_end(void)
{
	__atomic_store_n(&rav__tracing_flag, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__hooks_flag, 0, __ATOMIC_RELEASE);
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

uint64_t rav_record_dropped(void)
{
	uint64_t n = __atomic_load_n(&dropped_gone, __ATOMIC_RELAXED);
	pthread_mutex_lock(&recs_lock);
	for (rav_thread_rec *r = recs; r; r = r->next)
		n += __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&recs_lock);
	return n;
}

void rav_record_foreach_buffer(void (*fn)(rav_evbuf *b, void *user), void *user)
{
	pthread_mutex_lock(&recs_lock);
	for (rav_thread_rec *r = recs; r; r = r->next) {
		rav_evbuf *b = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE);
		if (b)
			fn(b, user);
	}
	pthread_mutex_unlock(&recs_lock);
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
	__atomic_store_n(&h->snap_epoch, e, __ATOMIC_RELEASE);
	return r->snapshot(&s, r->user);
}

static void snapshot_owned(const rav_recorder *r, rav_heap *h, uint32_t e)
{
	uint64_t seq, tsc;
	uint64_t piece = take_snapshot(r, h, RAV_SNAP_OWNER, 0, e, &seq, &tsc);
	if (piece && seq)
		rav__emit_sync(RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_HEAP << 8), h->id, piece, RAV_SNAP_OWNER,
		               seq, tsc);
}

/* The calling thread enters epoch e: a fresh buffer whose first record is
 * the snapshot of its heap.  If the recorder has no buffer to give, the
 * thread stays out of the epoch (the recorder counts that as loss and
 * resynchronises later). */
static void join_epoch(const rav_recorder *r, uint32_t e)
{
	rav_thread_rec *rec = thread_rec();
	uint32_t was = rav__tl_epoch;
	rav__tl_epoch = e;
	if (rec)
		rec->serial = 0;
	/* The old buffer (an earlier epoch's) goes to the recorder, which
	 * discards it; the new one is tagged with e. */
	if (!exchange()) {
		rav__tl_epoch = was;
		return;
	}
	tl_backoff = 0;
	/* the site first: the snapshot event then carries the call during
	 * which the thread joined, and stale sites of the writer's are gone */
	rav__site_restream();
	rav_heap *self = rav__self();
	if (self)
		snapshot_owned(r, self, e);
}

/* A leaf: recording to a file (no session) passes here at every call. */
void rav__safepoint(rav_heap *h)
{
	if (RAV_UNLIKELY(rav__hooks & RAV_HOOK_SAFEPOINT) && RAV_UNLIKELY(rav__safepoint_due(h)))
		rav__safepoint_slow(h);
}

__attribute__((noinline)) void rav__safepoint_slow(rav_heap *h)
{
	const rav_recorder *r = recorder();
	if (!r || !r->snapshot)
		return;
	uint32_t e = epoch_now();
	if (e == 0)
		return;
	if (rav__tl_epoch != e) {
		if (epoch_closed(e))
			return;
		join_epoch(r, e);
		if (rav__tl_epoch != e)
			return;
	}
	/* Only a heap of the calling thread (its own, or a message it builds):
	 * a call made on another thread's heap (a misuse debug builds report
	 * after this) must not snapshot it. */
	rav_heap *self = rav__self();
	if (h && self && h->builder == self->id && __atomic_load_n(&h->snap_epoch, __ATOMIC_ACQUIRE) != e)
		snapshot_owned(r, h, e);
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
	pk->rec = thread_rec();
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
	const rav_recorder *r = recorder();
	rav_evbuf *old = tbuf;
	tbuf = pk->adopt;
	rav__tl_epoch = pk->epoch;
	time_countdown = 0;
	tl_backoff = 0;
	if (old && r)
		r->release(old, r->user);
	rav__site_restream();
}

void rav__snapshot_parked(rav_parked *pk, unsigned channel)
{
	const rav_recorder *r = recorder();
	rav_thread_rec *rec = pk->rec;
	uint32_t e = epoch_now();
	if (!r || !r->snapshot || !rec || e == 0 ||
	    __atomic_load_n(&pk->heap->snap_epoch, __ATOMIC_ACQUIRE) == e)
		return;
	rav_evbuf *b = r->exchange(NULL, r->user);
	if (!b)
		return;
	uint64_t seq, tsc;
	uint64_t piece = take_snapshot(r, pk->heap, RAV_SNAP_PARKED, channel, e, &seq, &tsc);
	__atomic_store_n(&b->thread, pk->heap->id, __ATOMIC_RELAXED);
	__atomic_store_n(&b->owner, rec->id, __ATOMIC_RELAXED);
	__atomic_store_n(&b->serial, 0, __ATOMIC_RELAXED);
	uint32_t n = 0;
	if (piece) {
		b->ev[0] = (rav_raw_event){RAV_EV_TIME, 0, tsc, 0, seq};
		b->ev[1] = (rav_raw_event){RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_HEAP << 8), pk->heap->id,
		                           piece, RAV_SNAP_PARKED, seq};
		n = 2;
	}
	__atomic_store_n(&b->count, n, __ATOMIC_RELAXED);
	__atomic_store_n(&b->epoch, e, __ATOMIC_RELEASE);
	rec->serial = 1;
	if (pk->adopt) /* from an earlier epoch: the recorder discards it */
		r->release(pk->adopt, r->user);
	pk->adopt = b;
	pk->epoch = e;
	set_active(rec, b);
}

void rav__snapshot_in_flight(rav_heap *mh, unsigned channel)
{
	const rav_recorder *r = recorder();
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
}

unsigned rav_record_sweep(void)
{
	if (!rav__tracing)
		return 0;
	RAV_SAFEPOINT(NULL);
	return rav__channels_sweep();
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

uint32_t rav_record_self_owner(void)
{
	return tl_rec ? tl_rec->id : 0;
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
