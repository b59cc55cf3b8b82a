/* test-engine-pool-decay.c - the pool keeps the recent peak warm, then
 * gives it back within purge_decay_ms (engine/pool-decay.h).
 *
 * rav_init is process-wide, so this is its own executable, run with the
 * background purge thread (default) and with "no-thread" (page operations
 * purge).  The decay is long (10 minutes: the hold outlasts any slow
 * checker's run) and the test moves the pool's clock forward instead of
 * waiting (rav__pool_clock_advance, a test hook).  Checked: the policy's
 * arithmetic with made-up times; a rebuild within the hold commits no page
 * again (recommitted_pages stays 0), however long use stood at the peak
 * before the drop; the mark falls linearly after the hold and the pool
 * comes down to it; at the end of the decay only the floor is warm and the
 * pages really left memory (mincore); what rav_pool_stats says is
 * consistent at every step.  Waits are liveness bounds (30 s), never
 * judged.
 */
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pool-decay.h"
#include "rav-test.h"
#include "pool-test.h"

enum { DELAY_MS = 20, RESERVE = 4, LIMIT = 8192, LIST = 30000 /* cells: about 237 pages */ };
#define DECAY_MS 600000u /* hold 5 min, fall 5 min */
#define MS 1000000ull

static rav_type T_NODE;
static bool no_thread;

static rav_pool_stats pool(void)
{
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	/* consistent whenever read */
	CHECK(ps.mark_pages <= ps.peak_pages);
	uint64_t in_use = ps.used_pages + ps.cached_pages;
	uint64_t above = ps.mark_pages > in_use ? ps.mark_pages - in_use : 0;
	/* (mark and use read under one lock; caches' counts a moment apart
	 * but this test's one thread is the only one with a cache) */
	CHECK_EQ(ps.keep_pages, above > ps.reserve_pages ? above : ps.reserve_pages);
	CHECK_EQ(ps.due_pages, ps.warm_pages > ps.keep_pages ? ps.warm_pages - ps.keep_pages : 0);
	CHECK_EQ(ps.free_pages, ps.cached_pages + ps.warm_pages + ps.cold_pages + ps.purging_pages);
	CHECK_EQ(ps.purge_decay_ms, DECAY_MS);
	return ps;
}

/* Let the pool do what is due now: the purge thread (woken by the clock
 * hook), or page operations without it.  Until nothing is due and nothing
 * in flight (bounded: 30 s).  Without the thread, KEEP_BUSY pages go
 * through the shared pool each round (more than a cache holds). */
enum { KEEP_BUSY = 40 };

static rav_pool_stats settle(rav_heap *h)
{
	double t0 = now_ms();
	rav_root r = rav_root_new(h);
	for (;;) {
		if (no_thread) {
			void *unused[1];
			build(h, T_NODE, r, RAV_PAGE_CELLS * KEEP_BUSY, unused, 0);
			CHECK_OK(rav_root_clear(h, r));
		}
		rav_pool_stats ps = pool();
		if (ps.due_pages == 0 && ps.purging_pages == 0)
			break;
		CHECK(now_ms() - t0 < 30000);
		sleep_ms(2);
	}
	rav_root_free(h, r);
	/* (the thread may have been woken and not run yet: give it a moment
	 * and look again; a purge it wrongly did would show now) */
	if (!no_thread)
		sleep_ms(20);
	return pool();
}

/* Move the clock so use left the mark `age_ms` ago. */
static void clock_to(uint64_t age_ms)
{
	rav_pool_stats ps = pool();
	CHECK(ps.peak_age_ms <= age_ms);
	rav__pool_clock_advance((age_ms - ps.peak_age_ms) * MS);
}

/* The arithmetic of pool-decay.h with made-up times. */
static void t_mark(void)
{
	rav_pool_mark m = { .hold_ns = 500 * MS, .fall_ns = 500 * MS };
	uint64_t t = 1000 * MS;
	rav_mark_note(&m, 1000, t);
	CHECK_EQ(m.peak, 1000);
	rav_mark_note(&m, 10, t + 1); /* below the mark: unchanged */
	CHECK_EQ(m.peak, 1000);
	CHECK_EQ(m.peak_ns, t);
	CHECK_EQ(rav_mark_at(&m, t + 500 * MS), 1000);        /* whole through the hold */
	CHECK_EQ(rav_mark_at(&m, t + 750 * MS), 500);         /* half way down the fall */
	CHECK_EQ(rav_mark_at(&m, t + 1000 * MS), 0);          /* gone at hold + fall */
	CHECK_EQ(rav_mark_keep(&m, 10, 64, t + 100 * MS), 990); /* the peak's pages beyond use */
	CHECK_EQ(rav_mark_keep(&m, 10, 64, t + 2000 * MS), 64); /* then the floor */
	CHECK_EQ(rav_mark_keep(&m, 2000, 64, t), 64);
	/* wakes: the hold's end + a tick, ticks through the fall, its end, none after */
	CHECK_EQ(rav_mark_next_ns(&m, t, 62 * MS), t + 562 * MS);
	CHECK_EQ(rav_mark_next_ns(&m, t + 600 * MS, 62 * MS), t + 662 * MS);
	CHECK_EQ(rav_mark_next_ns(&m, t + 990 * MS, 62 * MS), t + 1000 * MS);
	CHECK_EQ(rav_mark_next_ns(&m, t + 1000 * MS, 62 * MS), 0);
	/* use back at the decayed mark: the mark follows it and starts again */
	rav_mark_note(&m, 600, t + 750 * MS);
	CHECK_EQ(m.peak, 600);
	CHECK_EQ(m.peak_ns, t + 750 * MS);
	CHECK_EQ(rav_mark_at(&m, t + 1200 * MS), 600);
	/* long falls do not overflow (a day, the largest pool) */
	rav_pool_mark big = { .peak = (size_t)1 << 34, .hold_ns = 0, .fall_ns = 86400000ull * MS };
	CHECK_EQ(rav_mark_at(&big, 43200000ull * MS), (size_t)1 << 33);
}

int main(int argc, char **argv)
{
	no_thread = argc > 1 && strcmp(argv[1], "no-thread") == 0;
	t_mark();
	rav_config bad = { .purge_decay_ms = RAV_POOL_MAX_PURGE_DELAY_MS + 1 };
	CHECK_STATUS(rav_init(&bad), RAV_EINVAL);
	CHECK(strstr(rav_last_error(), "purge_decay_ms") != NULL);
	rav_config cfg = { .pool_limit_pages = LIMIT,
			   .pool_hot_pages = RESERVE,
			   .purge_delay_ms = DELAY_MS,
			   .purge_decay_ms = DECAY_MS,
			   .no_purge_thread = no_thread };
	CHECK_OK(rav_init(&cfg));
	T_NODE = rav_type_register("decay.node", RAV_DATA, RAV_REF);
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	static void *pages[LIST];

	/* Built, and held at the peak for longer than the whole decay: the
	 * hold counts from the drop, not from when the peak was reached. */
	size_t np = build(h, T_NODE, r, LIST, pages, LIST);
	CHECK(np > 200);
	rav_pool_stats ps = pool();
	CHECK_EQ(ps.peak_pages, ps.used_pages + ps.cached_pages);
	rav__pool_clock_advance(3ull * DECAY_MS * MS);
	CHECK_OK(rav_root_clear(h, r));
	ps = pool();
	uint64_t peak = ps.peak_pages;
	printf("# dropped: peak %" PRIu64 " pages, used %" PRIu64 ", cached %" PRIu64 ", warm %" PRIu64
	       ", keep %" PRIu64 "\n",
	       peak, ps.used_pages, ps.cached_pages, ps.warm_pages, ps.keep_pages);
	CHECK(peak >= np);
	CHECK_EQ(ps.mark_pages, peak);
	CHECK_EQ(ps.due_pages, 0);

	/* Well past the purge delay, near the hold's end: nothing went back. */
	clock_to(DECAY_MS / 2 - 10000);
	ps = settle(h);
	printf("# %" PRIu64 " ms after the drop: mark %" PRIu64 ", warm %" PRIu64 ", cold %" PRIu64 ", purged %" PRIu64
	       "\n",
	       ps.peak_age_ms, ps.mark_pages, ps.warm_pages, ps.cold_pages, ps.purged_pages);
	CHECK_EQ(ps.mark_pages, peak);
	CHECK_EQ(ps.purged_pages, 0);
	CHECK_EQ(ps.cold_pages, 0);

	/* A rebuild within the hold commits nothing again. */
	np = build(h, T_NODE, r, LIST, pages, LIST);
	ps = pool();
	CHECK_EQ(ps.recommitted_pages, 0);
	CHECK_EQ(ps.cold_pages, 0);
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, r));
	/* (the same peak give or take what the thread's cache held: the mark
	 * started again at this drop if use reached it) */
	peak = pool().peak_pages;

	/* Half way down the fall: the pool comes down to the mark. */
	clock_to(DECAY_MS / 2 + DECAY_MS / 4);
	ps = settle(h);
	uint64_t in_use = ps.used_pages + ps.cached_pages;
	printf("# %" PRIu64 " ms after the drop: mark %" PRIu64 " of %" PRIu64 ", keep %" PRIu64 ", warm %" PRIu64
	       ", cold %" PRIu64 "\n",
	       ps.peak_age_ms, ps.mark_pages, peak, ps.keep_pages, ps.warm_pages, ps.cold_pages);
	CHECK(ps.mark_pages >= peak / 2 - 2 && ps.mark_pages <= peak / 2 + 2);
	CHECK(ps.warm_pages <= ps.keep_pages);
	CHECK(ps.cold_pages > 0);
	CHECK(in_use + ps.warm_pages <= ps.mark_pages + RESERVE + (no_thread ? KEEP_BUSY + 2 : 0));

	/* At the end of the decay: the floor only, and out of memory. */
	clock_to(DECAY_MS + 1);
	ps = settle(h);
	size_t still = resident(pages, np);
	printf("# %" PRIu64 " ms after the drop: mark %" PRIu64 ", keep %" PRIu64 ", warm %" PRIu64 ", cold %" PRIu64
	       ", %zu of %zu pages resident\n",
	       ps.peak_age_ms, ps.mark_pages, ps.keep_pages, ps.warm_pages, ps.cold_pages, still, np);
	if (!no_thread) {
		CHECK_EQ(ps.mark_pages, 0);
		CHECK_EQ(ps.keep_pages, RESERVE);
		CHECK_EQ(ps.warm_pages, RESERVE);
	}
	uint64_t busy = no_thread ? KEEP_BUSY + 2 : 0;
	CHECK(ps.warm_pages <= RESERVE + busy);
	CHECK(still <= RESERVE + ps.cache_pages_max + 4 + busy);

	/* Rebuilt now, the pages come back from the OS. */
	build(h, T_NODE, r, LIST, pages, LIST);
	ps = pool();
	CHECK(ps.recommitted_pages > 0);
	CHECK_HEAP(h);
	rav_root_free(h, r);
	rav_thread_exit();
	ps = pool();
	CHECK_EQ(ps.used_pages, 0);
	printf("ok pool-decay (%s)\n", no_thread ? "no thread" : "purge thread");
	return 0;
}
