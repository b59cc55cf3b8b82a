/* pool-purge.c - the page pool gives free pages back to the OS.
 *
 * What pool.c's top says under "cold" and "What the pool keeps warm": the
 * purge of warm pages beyond what is kept (pool-decay.h) once unused for the
 * purge delay, oldest first, in batches whose madvise runs outside the
 * lock; the background purge thread and, without it, the purge during page
 * operations; the pool's clock.  Split from pool.c (eng17), which keeps the
 * lists and the page operations.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rav-private.h"

#define PURGE_BATCH 1024 /* pages per purge round (bounds the time pages spend in flight) */

static atomic_ullong clock_skew; /* tests: rav__pool_clock_advance */

uint64_t rav__pool_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
	       atomic_load_explicit(&clock_skew, memory_order_relaxed);
}

void rav__pool_clock_advance(uint64_t ns)
{
	if (rav__pool_ensure() != RAV_OK)
		return;
	pthread_mutex_lock(&rav__pool.lock);
	atomic_fetch_add_explicit(&clock_skew, ns, memory_order_relaxed);
	pthread_cond_broadcast(&rav__pool.purger_wake);
	pthread_mutex_unlock(&rav__pool.lock);
}

/* ---- madvise, outside the lock (pool.c commits with it too) ---- */

static int by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (rav_cell *const *)a, y = (uintptr_t) * (rav_cell *const *)b;
	return x < y ? -1 : x > y;
}

/* Apply advice to a batch of pages, one call per run of adjacent pages.
 * With ravioli pages smaller than the OS page, MADV_DONTNEED may only touch
 * OS pages the run covers completely (it would zero live neighbours), and
 * committing advice is widened to whole OS pages (harmless). */
bool rav__advise_runs(rav_cell **pages, size_t n, int advice)
{
	static uintptr_t os_page;
	if (!os_page) {
		long ps = sysconf(_SC_PAGESIZE);
		os_page = ps > 0 ? (uintptr_t)ps : 4096;
	}
	qsort(pages, n, sizeof *pages, by_address);
	bool ok = true;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && (char *)pages[j] == (char *)pages[j - 1] + RAV_PAGE_SIZE)
			j++;
		uintptr_t start = (uintptr_t)pages[i], end = start + (j - i) * (uintptr_t)RAV_PAGE_SIZE;
		if (advice == MADV_DONTNEED) {
			start = (start + os_page - 1) & ~(os_page - 1);
			end &= ~(os_page - 1);
		} else {
			start &= ~(os_page - 1);
			end = (end + os_page - 1) & ~(os_page - 1);
		}
		if (end > start && madvise((void *)start, end - start, advice) != 0)
			ok = false;
		i = j;
	}
	return ok;
}

/* ---- the purge (under rav__pool.lock but for the madvise) ---- */

static rav_cell *warm_pop_oldest_locked(void)
{
	rav_cell *p = rav__pool.warm_tail;
	rav__pool.warm_tail = (rav_cell *)p->w[PH_PREV];
	if (rav__pool.warm_tail)
		rav__pool.warm_tail->w[PH_NEXT] = 0;
	else
		rav__pool.warm = NULL;
	rav__pool.nwarm--;
	return p;
}

/* Warm pages kept at time now (pool-decay.h). */
size_t rav__pool_keep_locked(uint64_t now)
{
	return rav_mark_keep(&rav__pool.mark, rav__pool.out, rav__pool.reserve, now);
}

/* Take the due pages out for purging: beyond what the pool keeps, and
 * unused for the delay (at most max, and only as many as the cold stack
 * has room for once they come back). */
static size_t purge_take_locked(uint64_t now, rav_cell **out, size_t max)
{
	size_t n = 0, keep = rav__pool_keep_locked(now);
	while (n < max && rav__pool.nwarm > keep &&
	       rav__warm_time_ns(rav__pool.warm_tail) + rav__pool.delay_ns <= now) {
		size_t need = rav__pool.ncold + rav__pool.purging + n + 1;
		if (need > rav__pool.cold_cap) {
			size_t cap = rav__pool.cold_cap ? rav__pool.cold_cap * 2 : 1024;
			while (cap < need)
				cap *= 2;
			rav_cell **grown = realloc(rav__pool.cold, cap * sizeof *grown);
			if (!grown)
				break; /* keep them warm rather than lose them */
			rav__pool.cold = grown;
			rav__pool.cold_cap = cap;
		}
		out[n++] = warm_pop_oldest_locked();
	}
	rav__pool.purging += n;
	return n;
}

/* Give the taken pages back to the OS: the lock is released around the
 * madvise and taken again. */
static void purge_pages_unlocked_locked(rav_cell **batch, size_t n)
{
	pthread_mutex_unlock(&rav__pool.lock);
	rav__advise_runs(batch, n, MADV_DONTNEED);
	pthread_mutex_lock(&rav__pool.lock);
	/* (advise_runs sorted them: pushed from the highest down, they come
	 * back from the lowest up, as the oldest warm pages, purged first, are
	 * usually the highest: see the top) */
	for (size_t i = n; i-- > 0;)
		rav__pool.cold[rav__pool.ncold++] = batch[i];
	rav__pool.purging -= n;
	rav__pool.purged_pages += n;
	pthread_cond_broadcast(&rav__pool.purge_done);
}

/* The background purger. */
static void *purger_main(void *arg)
{
	(void)arg;
	static rav_cell *batch[PURGE_BATCH];
	uint64_t tick = rav__pool.delay_ns / 8, fall_tick = rav__pool.mark.fall_ns / 8;
	if (fall_tick < 1000000u)
		fall_tick = 1000000u;
	pthread_mutex_lock(&rav__pool.lock);
	for (;;) {
		uint64_t now = rav__pool_now_ns();
		size_t n = purge_take_locked(now, batch, PURGE_BATCH);
		if (n) {
			purge_pages_unlocked_locked(batch, n);
			continue;
		}
		if (rav__pool.nwarm > rav__pool.reserve) {
			/* Beyond keep: when the oldest is old enough; else when
			 * the mark next falls. */
			uint64_t due = rav__pool.nwarm > rav__pool_keep_locked(now)
					       ? rav__warm_time_ns(rav__pool.warm_tail) + rav__pool.delay_ns + tick
					       : rav_mark_next_ns(&rav__pool.mark, now, fall_tick);
			if (due == 0) /* (cannot be: the mark is at zero, keep at the floor) */
				due = now + fall_tick;
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts); /* the condition variable's clock */
			uint64_t wait = due > now ? due - now : 0;
			uint64_t ns = (uint64_t)ts.tv_nsec + wait % 1000000000u;
			ts.tv_sec += (time_t)(wait / 1000000000u + ns / 1000000000u);
			ts.tv_nsec = (long)(ns % 1000000000u);
			pthread_cond_timedwait(&rav__pool.purger_wake, &rav__pool.lock, &ts);
		} else {
			rav__pool.purger_idle = true;
			pthread_cond_wait(&rav__pool.purger_wake, &rav__pool.lock);
			rav__pool.purger_idle = false;
		}
	}
	return NULL;
}

void rav__purger_start(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/* The thread starts with every signal blocked: the program's signals
	 * go to its own threads. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t th;
	int err = pthread_create(&th, &attr, purger_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err == 0)
		pthread_setname_np(th, "rav-purge");
	pthread_mutex_lock(&rav__pool.lock);
	if (err != 0) {
		rav__pool.purger_running = false;
		rav__pool.purger_off = true; /* page operations purge from now on */
	}
	pthread_mutex_unlock(&rav__pool.lock);
}

/* After pages came back to the shared pool (lock held): wake or start the
 * purger when something is above the reserve.  Returns true if the caller
 * must start the thread (after unlocking). */
bool rav__purger_notify_locked(void)
{
	if (rav__pool.nwarm <= rav__pool.reserve || rav__pool.purger_off)
		return false;
	if (!rav__pool.purger_running) {
		rav__pool.purger_running = true;
		return true;
	}
	if (rav__pool.purger_idle) {
		rav__pool.purger_idle = false;
		pthread_cond_signal(&rav__pool.purger_wake);
	}
	return false;
}

/* Without the thread: purge what is due now, one round of at most 64
 * pages per page operation so the caller's delay stays bounded (lock held). */
void rav__purge_inline_locked(void)
{
	if (!rav__pool.purger_off || rav__pool.nwarm <= rav__pool.reserve)
		return;
	rav_cell *batch[64];
	size_t n = purge_take_locked(rav__pool_now_ns(), batch, 64);
	if (n)
		purge_pages_unlocked_locked(batch, n);
}
