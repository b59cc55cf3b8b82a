/* record.c - the engine side of tracing, part 1: per-thread raw event
 * buffers and the recording paths (record-live.c is part 2: live sessions).
 *
 * With tracing compiled in, every operation checks one global flag
 * (rav__tracing) - a well-predicted branch when no recorder records.  When
 * it is set, events are appended to the calling thread's buffer by
 * rav__emit (rav-private.h), inline: one compare against a thread-local
 * bound, four stores and the count's publication.  As in Tracy, the
 * recording thread only ever writes raw fixed-width records; encoding,
 * address translation, call-site dictionaries and compression are the
 * writer thread's (trace/writer*.c).  Everything that is not a plain
 * append happens here, on the slow path, which the bound sends an event
 * to: a TSC reading every RAV_TIME_EVERY events (rdtsc costs about as much
 * as the whole event otherwise), a full buffer exchanged with the recorder,
 * no buffer, a stream outside the current epoch, or a debugger that wants
 * to see every event.  Each slow path sets the bound again (set_bound).
 *
 * Every thread that records has a record in a registry, whose `active`
 * buffer a live reader may read while the thread appends to it (records are
 * published by a release store of count).  Buffers are only ever recycled by
 * the recorder, so a reader never sees a buffer reused under it.  Memory is
 * the recorder's: it hands out a bounded number of buffers and makes a
 * thread wait in `exchange`, or refuses it one (events then count as
 * dropped), rather than grow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "rav-tsc.h"
#include "record-private.h"

int rav__tracing_flag;
int rav__hooks_flag;
const rav_recorder *rav__recorder_ptr;
uint32_t rav__epoch;

rav_evbuf rav__nobuf; /* count 0, cap 0: never written */
_Thread_local struct rav__rec_tls rav__rtl = { .buf = &rav__nobuf }; /* buffer, bound, clock, site */
_Thread_local uint32_t rav__tl_epoch;
_Thread_local unsigned rav__tl_backoff;
#define tbuf rav__tbuf

/* Events a thread with no buffer could not record pass unseen through this
 * many emits before the thread asks the recorder for a buffer again (each
 * ask takes the recorder's lock). */
#define NO_BUFFER_BACKOFF 256

/* ---- thread records ---- */

pthread_mutex_t rav__recs_lock = PTHREAD_MUTEX_INITIALIZER;
rav_thread_rec *rav__recs;
static uint32_t next_rec_id;
static pthread_key_t rec_key;
static pthread_once_t rec_once = PTHREAD_ONCE_INIT;
_Thread_local rav_thread_rec *rav__tl_rec;
static _Thread_local uint32_t tl_commit; /* count to publish after the reserved records are filled */
uint64_t rav__dropped_gone;              /* atomic: `dropped` of threads that ended */

void rav__set_active(rav_thread_rec *rec, rav_evbuf *b)
{
	if (rec)
		__atomic_store_n(&rec->active, b, __ATOMIC_RELEASE);
}

static void rec_destructor(void *arg)
{
	rav_thread_rec *rec = arg;
	/* A buffer still held (a thread that never had a heap) goes back. */
	rav_record_flush();
	pthread_mutex_lock(&rav__recs_lock);
	if (rec->prev)
		rec->prev->next = rec->next;
	else
		rav__recs = rec->next;
	if (rec->next)
		rec->next->prev = rec->prev;
	__atomic_fetch_add(&rav__dropped_gone, __atomic_load_n(&rec->dropped, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
	pthread_mutex_unlock(&rav__recs_lock);
	rav__tl_rec = NULL;
	free(rec);
}

static void make_rec_key(void)
{
	pthread_key_create(&rec_key, rec_destructor);
}

rav_thread_rec *rav__thread_rec(void)
{
	if (RAV_LIKELY(rav__tl_rec != NULL))
		return rav__tl_rec;
	pthread_once(&rec_once, make_rec_key);
	rav_thread_rec *rec = calloc(1, sizeof *rec);
	if (!rec)
		return NULL;
	pthread_mutex_lock(&rav__recs_lock);
	rec->id = ++next_rec_id;
	rec->next = rav__recs;
	if (rav__recs)
		rav__recs->prev = rec;
	rav__recs = rec;
	pthread_mutex_unlock(&rav__recs_lock);
	rav__tl_rec = rec;
	pthread_setspecific(rec_key, rec);
	return rec;
}

#define tsc_now rav__tsc_now /* (rav-tsc.h) */

uint64_t rav__tsc(void)
{
	return tsc_now();
}

static bool seq_make_room(void);

/* A compare-and-swap rather than an add: the number is taken only if the
 * counter is in the thread's epoch, so a thread left behind by a new epoch
 * cannot take one of the new epoch's numbers and leave a hole in them.
 *
 * A number is only handed to a thread that has room in its buffer for the
 * event it numbers (its clock reading and the event, rav__emit_sync): a
 * thread the recorder refuses a buffer takes no number, and so every
 * number handed out is written.  Live sessions depend on that: the cut of
 * a loss or of the end is a sequence number, every event numbered below
 * it must reach the stream, and a number taken by a thread that could not
 * write it would leave a hole that later events (the receiver's hand-off
 * of a message whose send was lost) fall into (session-thread.c).
 * (Recording to a file, epoch 0, nothing is cut: the event takes its
 * buffer when it is written, outside the lock that ordered it, as before.) */
uint64_t rav__seq_take(void)
{
	unsigned long long v = atomic_load_explicit(&rav__seq, memory_order_relaxed);
	if (rav__tl_epoch != 0 && RAV_LIKELY((v >> RAV_SEQ_EPOCH_SHIFT) == rav__tl_epoch) &&
	    RAV_UNLIKELY(tbuf->count + 3 > tbuf->cap) && !seq_make_room())
		return 0;
	for (;;) {
		if (RAV_UNLIKELY((v >> RAV_SEQ_EPOCH_SHIFT) != rav__tl_epoch)) {
			/* The session is ending (rav_record_seq_close, record-live.c):
			 * this thread's stream ends before the event it could not
			 * number.  The bound goes too: the inline fast path checks
			 * only the bound, and would go on appending this thread's
			 * later events (an allocation in the page whose acquire had
			 * no number) up to its next clock reading. */
			if (rav__tl_epoch == __atomic_load_n(&rav__epoch, __ATOMIC_ACQUIRE))
				rav__tl_epoch = 0;
			rav__tlimit = 0;
			return 0;
		}
		if (atomic_compare_exchange_weak_explicit(&rav__seq, &v, v + 1, memory_order_relaxed,
		                                          memory_order_relaxed))
			return v + 1;
	}
}

bool rav_record_install(const rav_recorder *r)
{
	if (r && (atomic_load(&rav__next_heap_id) != 0 || rav__recorder))
		return false;
	rav__site_prepare(r ? r->site_depth : 0);
	__atomic_store_n(&rav__recorder_ptr, r, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__hooks_flag, r && r->record_access ? RAV_HOOK_ACCESS : 0, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__tracing_flag, r != NULL, __ATOMIC_RELEASE);
	rav__alloc_gate_sync();
	if (r)
		rav__types_record_all();
	return true;
}

bool rav_record_active(void)
{
	return rav__tracing != 0;
}

/* ---- the bound of the fast path ---- */

/* While a debugger wants to see every event of this thread (event
 * filtering, or a one-event step), every event takes the slow path, which
 * shows it to the debugger after recording it. */
static inline bool debug_wants_events(void)
{
	return RAV_UNLIKELY(__atomic_load_n(&rav__debug_filter, __ATOMIC_RELAXED) ||
			    rav__debug_tl_step == RAV_DEBUG_STEP_EVENT);
}

/* Events the thread may still record before its next clock reading, with
 * `count` records in its buffer. */
static inline uint32_t countdown_at(uint32_t count)
{
	return rav__tclock > count ? rav__tclock - count : 0;
}

/* After a slow path left `count` records in the buffer (published or about
 * to be) and `countdown` events until the next clock reading: where the
 * next clock reading falls, and how far the fast path may go.  One record
 * stays free for the clock reading in front of an event, as reserve()
 * needs. */
static inline void set_bound(uint32_t count, uint32_t countdown)
{
	rav__tclock = count + countdown;
	rav_evbuf *b = tbuf;
	uint32_t bound = 0;
	if (b != &rav__nobuf && !debug_wants_events()) {
		bound = b->cap - 1;
		if (rav__tclock < bound)
			bound = rav__tclock;
	}
	rav__tlimit = bound;
}

void rav__record_recheck(void)
{
	rav__tlimit = 0;
}

/* Hand the current buffer (full, partial or none) to the recorder and take
 * a fresh one in the thread's epoch (NULL if refused: the thread then has
 * none).  The next event takes a clock reading. */
rav_evbuf *rav__exchange(void)
{
	const rav_recorder *r = rav__recorder;
	rav_thread_rec *rec = rav__thread_rec();
	rav_evbuf *full = tbuf == &rav__nobuf ? NULL : tbuf;
	/* No active buffer while the old one is handed over: a live reader
	 * could otherwise still find it here after the recorder recycled it to
	 * this very thread, before its new header fields are published. */
	rav__set_active(rec, NULL);
	tbuf = &rav__nobuf;
	rav__tlimit = 0;
	rav_evbuf *b = r->exchange(full, r->user);
	/* The exchange may have waited for the writer: take a fresh clock
	 * reading before the next event, so the events after the wait are not
	 * interpolated back into the time spent waiting (countdown 0). */
	if (b) {
		rav_heap *h = rav__self();
		__atomic_store_n(&b->thread, h ? h->id : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->owner, rec ? rec->id : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->serial, rec ? rec->serial++ : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->epoch, rav__tl_epoch, __ATOMIC_RELEASE);
		tbuf = b;
	}
	set_bound(0, 0);
	rav__set_active(rec, b);
	return b;
}

void rav__adopt_buffer(rav_evbuf *b)
{
	const rav_recorder *r = rav__recorder;
	rav_evbuf *old = tbuf;
	tbuf = b ? b : &rav__nobuf;
	rav__tl_backoff = 0;
	if (old != &rav__nobuf && r)
		r->release(old, r->user);
	set_bound(tbuf->count, 0);
}

static void count_drop(unsigned n)
{
	rav_thread_rec *rec = rav__tl_rec;
	if (rec)
		__atomic_fetch_add(&rec->dropped, n, __ATOMIC_RELAXED);
}

/* Nothing may be recorded now: every event takes the slow path until
 * something changes (a buffer, the epoch). */
static inline rav_raw_event *refuse(void)
{
	rav__tlimit = 0;
	return NULL;
}

/* rav__seq_take's thread has no room for the event it wants to number:
 * a fresh buffer first, as reserve() would take one for the event.  If the
 * recorder refuses, the event is dropped before it has a number. */
static __attribute__((noinline)) bool seq_make_room(void)
{
	if (!rav__recorder)
		return false;
	if (tbuf == &rav__nobuf && rav__tl_backoff) {
		rav__tl_backoff--;
		count_drop(1);
		return false;
	}
	rav_evbuf *b = rav__exchange();
	if (b && b->count + 3 <= b->cap)
		return true;
	rav__tl_backoff = NO_BUFFER_BACKOFF;
	count_drop(1);
	return false;
}

/* What reserve() reserves for. */
typedef enum reserve_for {
	FOR_EVENT, /* an event (and its text records): a clock reading in front when one is due */
	FOR_SYNC,  /* a clock reading of its own and an ordering event (rav__emit_sync) */
	FOR_RAW,   /* records that are not events (call sites): no clock, no drop counted */
} reserve_for;

/* Room for n more records in the thread's buffer, or NULL if nothing may
 * be recorded now.  The records are published by commit() once filled. */
static rav_raw_event *reserve(unsigned n, reserve_for what)
{
	if (!rav__recorder)
		return refuse();
	/* A thread whose stream is not in the current epoch yet records
	 * nothing until its next safe point snapshots its heap. */
	if (RAV_UNLIKELY(rav__tl_epoch != __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED)))
		return refuse();
	rav_evbuf *b = tbuf;
	uint32_t countdown = countdown_at(b->count);
	if (RAV_UNLIKELY(b == &rav__nobuf || b->count + n + 1 > b->cap)) {
		if (b == &rav__nobuf && rav__tl_backoff) {
			if (what != FOR_RAW) {
				rav__tl_backoff--;
				count_drop(n);
			}
			return refuse();
		}
		b = rav__exchange();
		countdown = 0;
		if (!b || b->count + n + 1 > b->cap) {
			if (what != FOR_RAW) {
				rav__tl_backoff = NO_BUFFER_BACKOFF;
				count_drop(n);
			}
			return refuse();
		}
	}
	uint32_t at = b->count;
	if (what == FOR_EVENT) {
		if (countdown == 0) {
			rav_raw_event *t = &b->ev[at++];
			t->kind = RAV_EV_TIME;
			t->x = 0;
			t->a = tsc_now();
			t->b = 0;
			t->c = 0;
			countdown = RAV_TIME_EVERY;
		}
		countdown--;
	} else if (what == FOR_SYNC) {
		countdown = RAV_TIME_EVERY;
	}
	tl_commit = at + n;
	set_bound(tl_commit, countdown);
	return &b->ev[at];
}

static inline void commit(void)
{
	__atomic_store_n(&tbuf->count, tl_commit, __ATOMIC_RELEASE);
}

/* Call-site records (site.c) are not events: no clock reading, and the
 * countdown to the next one does not move. */
rav_raw_event *rav__reserve_raw(unsigned n)
{
	return reserve(n, FOR_RAW);
}

void rav__commit_raw(void)
{
	commit();
}

static __attribute__((noinline)) void emit_slower(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b,
                                                    uint64_t c)
{
	rav_raw_event *e = reserve(1, FOR_EVENT);
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

/* Most events that miss the fast path only need the periodic clock
 * reading in front of them: that case is done here without a frame (what
 * reserve() would do for it), the others in emit_slower. */
void rav__emit_slow(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t c)
{
	rav_evbuf *buf = tbuf;
	uint32_t n = buf->count;
	if (RAV_LIKELY(n >= rav__tclock && n + 2 <= buf->cap && !debug_wants_events() &&
	               rav__tl_epoch == __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED) && rav__recorder)) {
		rav_raw_event *e = &buf->ev[n];
		/* The event first, the clock after: its arguments are used up
		 * before rdtsc takes rdx and rax on x86 (one callee-saved
		 * register fewer, and b and c of the reading as one 16-byte
		 * store: objdump).  Both are published together below. */
		rav__put_kind_x(&e[1], kindaux, x);
		e[1].a = a;
		e[1].b = b;
		e[1].c = c;
		rav__put_kind_x(&e[0], RAV_EV_TIME, 0);
		e[0].b = 0;
		e[0].c = 0;
		e[0].a = tsc_now();
		__atomic_store_n(&buf->count, n + 2, __ATOMIC_RELEASE);
		uint32_t clock = n + 2 + RAV_TIME_EVERY - 1, bound = buf->cap - 1;
		rav__tclock = clock;
		rav__tlimit = clock < bound ? clock : bound;
		return;
	}
	emit_slower(kindaux, x, a, b, c);
}

bool rav__compound_clock(unsigned recs)
{
	rav_evbuf *buf = tbuf;
	uint32_t n = buf->count;
	if (!(n + recs > rav__tclock && n + 1 + recs <= buf->cap && !debug_wants_events() &&
	      rav__tl_epoch == __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED) && rav__recorder))
		return false;
	rav_raw_event *e = &buf->ev[n];
	rav__put_kind_x(e, RAV_EV_TIME, 0);
	e->b = 0;
	e->c = 0;
	e->a = tsc_now();
	__atomic_store_n(&buf->count, n + 1, __ATOMIC_RELEASE);
	uint32_t clock = n + 1 + RAV_TIME_EVERY, bound = buf->cap - 1;
	rav__tclock = clock;
	rav__tlimit = clock < bound ? clock : bound;
	return true;
}

void rav__emit_sync(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t seq, uint64_t tsc)
{
	/* This event brings its own clock reading (taken under the lock that
	 * orders it): no periodic one may slip in before it with a later tsc. */
	rav_raw_event *e = reserve(2, FOR_SYNC);
	if (!e)
		return;
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
	rav_raw_event *e = reserve(1 + extra, FOR_EVENT);
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

/* ---- threads ---- */

void rav__record_thread_start(rav_heap *h)
{
	h->tid = (uint64_t)syscall(SYS_gettid);
	rav__census_add(h);
#if RAV_TRACING
	if (!rav__tracing || !rav__recorder)
		return;
	/* In a session, a thread that did not record yet joins it here (its
	 * new heap is empty: the snapshot says so). */
	RAV_SAFEPOINT(h);
	/* A buffer taken before this thread had a heap (type definitions at
	 * install) is labelled heap 0: hand it over, so that this thread's
	 * events from here on are labelled with its heap and stay in one
	 * stream in program order. */
	if (tbuf != &rav__nobuf && tbuf->thread != h->id) {
		if (tbuf->count)
			rav__exchange();
		else
			__atomic_store_n(&tbuf->thread, h->id, __ATOMIC_RELAXED);
	}
	uint64_t seq = rav__seq_take();
	if (seq)
		rav__emit_sync(RAV_EV_THREAD_START, h->id, h->tid, 0, seq, tsc_now());
	seq = rav__seq_take();
	if (seq)
		rav__emit_sync(RAV_EV_HEAP_NEW | ((uint32_t)h->kind << 8), h->id, h->id, 0, seq, tsc_now());
#endif
}

void rav__record_thread_end(rav_heap *h)
{
#if RAV_TRACING
	if (rav__tracing && rav__recorder) {
		uint64_t seq = rav__seq_take();
		if (seq)
			rav__emit_sync(RAV_EV_HEAP_END, h->id, 0, 0, seq, tsc_now());
		seq = rav__seq_take();
		if (seq)
			rav__emit_sync(RAV_EV_THREAD_END, h->id, 0, 0, seq, tsc_now());
	}
	rav_record_flush();
#endif
	rav__census_remove(h);
}

void rav_record_flush(void)
{
	const rav_recorder *r = rav__recorder;
	if (!r || tbuf == &rav__nobuf)
		return;
	rav_evbuf *b = tbuf;
	tbuf = &rav__nobuf;
	rav__tlimit = 0;
	rav__set_active(rav__tl_rec, NULL);
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
	size_t len = strlen(text), kept = len;
	/* A longer text is cut at RAV_MARK_MAX bytes, before a UTF-8
	 * character rather than through it (the tools would show the
	 * half as U+FFFD). */
	if (kept > RAV_MARK_MAX) {
		kept = RAV_MARK_MAX;
		while (kept > 0 && ((unsigned char)text[kept] & 0xc0) == 0x80)
			kept--;
	}
	rav__emit_text(RAV_EV_MARK, 0, 0, kept, text, kept);
}

void rav_trace_access(const void *addr, bool write)
{
	RAV_SITE_ENTER();
	if (rav__tracing && rav__recorder)
		rav__emit_slow(RAV_EV_ACCESS | ((uint32_t)write << 8), 0, (uint64_t)(uintptr_t)addr,
		               sizeof(uintptr_t), 0);
}

/* ---- the registry, for live readers ---- */

uint64_t rav_record_dropped(void)
{
	uint64_t n = __atomic_load_n(&rav__dropped_gone, __ATOMIC_RELAXED);
	pthread_mutex_lock(&rav__recs_lock);
	for (rav_thread_rec *r = rav__recs; r; r = r->next)
		n += __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&rav__recs_lock);
	return n;
}

void rav_record_foreach_buffer(void (*fn)(rav_evbuf *b, void *user), void *user)
{
	pthread_mutex_lock(&rav__recs_lock);
	for (rav_thread_rec *r = rav__recs; r; r = r->next) {
		rav_evbuf *b = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE);
		if (b)
			fn(b, user);
	}
	pthread_mutex_unlock(&rav__recs_lock);
}

uint32_t rav_record_self_owner(void)
{
	return rav__tl_rec ? rav__tl_rec->id : 0;
}

/* ---- a program that dies of a signal ---- */

rav_evbuf *rav_record_detach(uint32_t *heap)
{
	rav_heap *h = rav__self();
	*heap = h ? h->id : 0;
	rav_evbuf *b = tbuf;
	tbuf = &rav__nobuf;
	rav__tlimit = 0;
	rav__tclock = 0;
	rav__set_active(rav__tl_rec, NULL);
	return b == &rav__nobuf ? NULL : b;
}

bool rav_record_put_text(rav_evbuf *b, uint32_t heap, rav_ev_kind kind, uint32_t aux, const char *text, size_t len)
{
	if (len > 4096)
		len = 4096;
	uint32_t extra = (uint32_t)((len + sizeof(rav_raw_event) - 1) / sizeof(rav_raw_event));
	uint32_t n = __atomic_load_n(&b->count, __ATOMIC_RELAXED);
	if (n == 0) {
		rav_thread_rec *rec = rav__tl_rec;
		__atomic_store_n(&b->thread, heap, __ATOMIC_RELAXED);
		__atomic_store_n(&b->owner, rec ? rec->id : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->serial, rec ? rec->serial++ : 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->epoch, rav__tl_epoch, __ATOMIC_RELAXED);
	}
	if ((uint64_t)n + 2 + extra > b->cap)
		return false;
	rav_raw_event *e = &b->ev[n];
	e[0].kind = RAV_EV_TIME;
	e[0].x = 0;
	e[0].a = tsc_now();
	e[0].b = 0;
	e[0].c = 0;
	e[1].kind = (uint32_t)kind | (aux << 8);
	e[1].x = 0;
	e[1].a = len;
	e[1].b = 0;
	e[1].c = 0;
	/* no memset/memcpy: plain stores, in a signal handler */
	char *t = (char *)&e[2];
	for (size_t i = 0; i < (size_t)extra * sizeof(rav_raw_event); i++)
		t[i] = i < len ? text[i] : 0;
	__atomic_store_n(&b->count, n + 2 + extra, __ATOMIC_RELEASE);
	return true;
}

bool rav_record_foreach_buffer_try(void (*fn)(rav_evbuf *b, uint32_t count, void *user), void *user)
{
	bool locked = false;
	for (int i = 0; i < 200 && !locked; i++) {
		locked = pthread_mutex_trylock(&rav__recs_lock) == 0;
		if (!locked) {
			struct timespec d = { 0, 1000 * 1000 };
			nanosleep(&d, NULL);
		}
	}
	if (!locked)
		return false;
	for (rav_thread_rec *r = rav__recs; r; r = r->next) {
		rav_evbuf *b = __atomic_load_n(&r->active, __ATOMIC_ACQUIRE);
		if (b)
			fn(b, __atomic_load_n(&b->count, __ATOMIC_ACQUIRE), user);
	}
	pthread_mutex_unlock(&rav__recs_lock);
	return true;
}
