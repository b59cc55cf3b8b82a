/* record.c - the engine side of tracing: per-thread raw event buffers.
 *
 * With tracing compiled in, every operation checks one global flag
 * (rav__tracing) - a well-predicted branch when no recorder is installed.
 * When it is set, events are appended to the calling thread's buffer with
 * plain stores; only a full buffer costs a call into the recorder.  A TSC
 * reading is added every RAV_TIME_EVERY events rather than per event
 * (rdtsc costs about as much as the whole event otherwise). */
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

#include "rav-private.h"

int rav__tracing;
const rav_recorder *rav__recorder;

_Thread_local rav_evbuf *rav__tbuf;
_Thread_local unsigned rav__time_countdown;
#define tbuf rav__tbuf
#define time_countdown rav__time_countdown

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

bool rav_record_install(const rav_recorder *r)
{
	if (r && atomic_load(&rav__next_heap_id) != 0)
		return false;
	rav__recorder = r;
	rav__site_prepare(r ? r->site_depth : 0);
	__atomic_store_n(&rav__tracing, r != NULL, __ATOMIC_RELEASE);
	if (r)
		rav__types_record_all();
	return true;
}

bool rav_record_active(void)
{
	return rav__tracing != 0;
}

static rav_evbuf *exchange(void)
{
	rav_evbuf *b = rav__recorder->exchange(tbuf, rav__recorder->user);
	/* The exchange may have waited for the writer: take a fresh clock
	 * reading before the next event, so the events after the wait are not
	 * interpolated back into the time spent waiting. */
	time_countdown = 0;
	if (b) {
		rav_heap *h = rav__self();
		b->thread = h ? h->id : 0;
		b->count = 0;
	}
	tbuf = b;
	return b;
}

/* Room for n more records, or NULL if the recorder has no buffer to give. */
static inline rav_raw_event *reserve_clock(unsigned n, bool clock)
{
	rav_evbuf *b = tbuf;
	if (RAV_UNLIKELY(!b || b->count + n + 1 > b->cap)) {
		b = exchange();
		if (!b || b->count + n + 1 > b->cap)
			return NULL;
	}
	if (RAV_UNLIKELY(time_countdown == 0) && clock) {
		rav_raw_event *t = &b->ev[b->count++];
		t->kind = RAV_EV_TIME;
		t->x = 0;
		t->a = rav__tsc();
		t->b = 0;
		t->c = 0;
		time_countdown = RAV_TIME_EVERY;
	}
	if (time_countdown)
		time_countdown--;
	rav_raw_event *e = &b->ev[b->count];
	b->count += n;
	return e;
}

static inline rav_raw_event *reserve(unsigned n)
{
	return reserve_clock(n, true);
}

rav_raw_event *rav__reserve_raw(unsigned n)
{
	if (!rav__recorder)
		return NULL;
	rav_evbuf *b = tbuf;
	if (RAV_UNLIKELY(!b || b->count + n + 1 > b->cap)) {
		b = exchange();
		if (!b || b->count + n + 1 > b->cap)
			return NULL;
	}
	rav_raw_event *e = &b->ev[b->count];
	b->count += n;
	return e;
}

void rav__commit_raw(unsigned n)
{
	(void)n; /* the records are counted by rav__reserve_raw */
}

void rav__emit_slow(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t c)
{
	if (!rav__recorder)
		return;
	rav_raw_event *e = reserve(1);
	if (!e)
		return;
	e->kind = kindaux;
	e->x = x;
	e->a = a;
	e->b = b;
	e->c = c;
}

void rav__emit_sync(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t seq, uint64_t tsc)
{
	if (!rav__recorder)
		return;
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
}

void rav__emit_text(rav_ev_kind kind, uint32_t aux, uint32_t x, uint64_t a, const char *text, size_t len)
{
#if RAV_TRACING
	if (!rav__tracing || !rav__recorder)
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
#else
	(void)kind, (void)aux, (void)x, (void)a, (void)text, (void)len;
#endif
}

void rav__record_thread_start(rav_heap *h)
{
#if RAV_TRACING
	if (!rav__tracing || !rav__recorder)
		return;
	/* A buffer taken before this thread had a heap (type definitions at
	 * install) is labelled heap 0: hand it over, so that this thread's
	 * events from here on are labelled with its heap and stay in one
	 * stream in program order. */
	if (tbuf && tbuf->thread != h->id) {
		if (tbuf->count)
			exchange();
		else
			tbuf->thread = h->id;
	}
	uint64_t seq = rav__seq_next_locked();
	rav__emit_sync(RAV_EV_THREAD_START, h->id, (uint64_t)syscall(SYS_gettid), 0, seq, rav__tsc());
	seq = rav__seq_next_locked();
	rav__emit_sync(RAV_EV_HEAP_NEW | ((uint32_t)h->kind << 8), h->id, h->id, 0, seq, rav__tsc());
#else
	(void)h;
#endif
}

void rav__record_thread_end(rav_heap *h)
{
#if RAV_TRACING
	if (!rav__tracing || !rav__recorder)
		return;
	uint64_t seq = rav__seq_next_locked();
	rav__emit_sync(RAV_EV_HEAP_END, h->id, 0, 0, seq, rav__tsc());
	seq = rav__seq_next_locked();
	rav__emit_sync(RAV_EV_THREAD_END, h->id, 0, 0, seq, rav__tsc());
	rav_record_flush();
#else
	(void)h;
#endif
}

void rav_record_flush(void)
{
	if (!rav__recorder || !tbuf)
		return;
	rav_evbuf *b = tbuf;
	tbuf = NULL;
	rav__recorder->release(b, rav__recorder->user);
}

void rav_thread_name(const char *name)
{
	RAV_SITE_ENTER();
	rav_heap *h = rav_heap_self();
	if (!h || !name)
		return;
	size_t len = strlen(name);
	rav__emit_text(RAV_EV_THREAD_NAME, (uint32_t)len, h->id, 0, name, len);
}

void rav_mark(const char *text)
{
	RAV_SITE_ENTER();
	if (!text)
		return;
	rav_heap_self();
	size_t len = strlen(text);
	rav__emit_text(RAV_EV_MARK, 0, 0, len > 4096 ? 4096 : len, text, len);
}

void rav_trace_access(const void *addr, bool write)
{
	RAV_SITE_ENTER();
	if (rav__tracing && rav__recorder)
		rav__emit_slow(RAV_EV_ACCESS | ((uint32_t)write << 8), 0, (uint64_t)(uintptr_t)addr,
			       sizeof(uintptr_t), 0);
}
