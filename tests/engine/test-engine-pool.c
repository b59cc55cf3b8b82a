/* test-engine-pool.c - the page pool keeps memory warm, then gives it back.
 *
 * rav_init is process-wide, so this is its own executable, run twice: with
 * the background purge thread (default) and with "no-thread" (pages go back
 * during page operations).  A short purge delay keeps it quick.  It checks
 * what rav_pool_stats reports (where each free page is) against what the
 * engine did, and with mincore() that purged pages really left memory.
 * Waiting for the purge has a generous bound (a liveness check: it prints
 * how long it took, it never judges the time).
 */
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rav-test.h"
#include "pool-test.h"

enum { DELAY_MS = 20, RESERVE = 4, LIMIT = 8192, LIST = 30000 /* cells: about 237 pages */ };

static rav_type T_NODE;
static bool no_thread;

static rav_pool_stats pool(void)
{
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	return ps;
}

/* Of the steps from one page of a list built in order to the next, how
 * many go up in memory to the very next page (pool.c, "Layout"), and how
 * many go up at all. */
static size_t adjacent_steps(void **pages, size_t n, size_t *up)
{
	size_t adj = 0;
	*up = 0;
	for (size_t i = 1; i < n; i++) {
		adj += (char *)pages[i] == (char *)pages[i - 1] + RAV_PAGE_SIZE;
		*up += (char *)pages[i] > (char *)pages[i - 1];
	}
	return adj;
}

/* Until at least `want` pages are cold (bounded: 30 s).  Without the
 * thread, page operations do the purging: keep making some (40 pages
 * acquired and given back, more than a thread's cache holds, so the
 * shared pool sees them; they stay warm, being in use). */
enum { KEEP_BUSY = 40 };

static double wait_purged(rav_heap *h, uint64_t want)
{
	double t0 = now_ms();
	rav_root r = rav_root_new(h);
	for (;;) {
		rav_pool_stats ps = pool();
		if (ps.cold_pages >= want && ps.purging_pages == 0)
			break;
		CHECK(now_ms() - t0 < 30000);
		sleep_ms(5);
		if (no_thread) {
			void *unused[1];
			build(h, T_NODE, r, RAV_PAGE_CELLS * KEEP_BUSY, unused, 0);
			CHECK_OK(rav_root_clear(h, r));
		}
	}
	rav_root_free(h, r);
	return now_ms() - t0;
}

static void *churn_thread(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	void *unused[1];
	build(h, T_NODE, r, LIST, unused, 0);
	CHECK_OK(rav_root_clear(h, r));
	rav_pool_stats ps = pool();
	CHECK(ps.threads_caching >= 1);
	CHECK(ps.cached_pages >= 1);
	rav_root_free(h, r);
	rav_thread_exit(); /* the cache empties into the shared pool */
	return NULL;
}

int main(int argc, char **argv)
{
	no_thread = argc > 1 && strcmp(argv[1], "no-thread") == 0;
	/* Refused values change nothing. */
	rav_config bad = { .pool_limit_pages = (size_t)RAV_POOL_MAX_PAGES + 1 };
	CHECK_STATUS(rav_init(&bad), RAV_EINVAL);
	bad = (rav_config){ .purge_delay_ms = RAV_POOL_MAX_PURGE_DELAY_MS + 1 };
	CHECK_STATUS(rav_init(&bad), RAV_EINVAL);
	/* (purge_decay_ms 1: no peak kept, pages go back by age alone, as a
	 * program asking for memory back at once has it; the decay has
	 * test-engine-pool-decay.c) */
	rav_config cfg = { .pool_limit_pages = LIMIT, .pool_hot_pages = RESERVE, .purge_delay_ms = DELAY_MS,
			   .purge_decay_ms = 1, .no_purge_thread = no_thread };
	CHECK_OK(rav_init(&cfg));
	T_NODE = rav_type_register("pool.node", RAV_DATA, RAV_REF);
	rav_heap *h = rav_heap_self();
	rav_pool_stats ps = pool();
	CHECK_EQ(ps.limit_pages, LIMIT);
	CHECK_EQ(ps.reserve_pages, RESERVE);
	CHECK_EQ(ps.purge_delay_ms, DELAY_MS);
	CHECK_EQ(ps.purge_decay_ms, 1);

	/* A big structure, then freed: its pages stay warm at first. */
	rav_root r = rav_root_new(h);
	static void *pages[LIST];
	size_t np = build(h, T_NODE, r, LIST, pages, LIST);
	rav_stats s;
	rav_heap_stats(h, &s);
	ps = pool();
	printf("# %zu pages built; pool used %" PRIu64 ", heap %" PRIu64 " + %" PRIu64 " root\n", np, ps.used_pages,
	       s.pages, s.root_pages);
	CHECK_EQ(ps.used_pages, s.pages + s.root_pages);
	CHECK(np > 200);
	/* Fresh pages: each the one after the last in memory, but for one
	 * step over the root page (a root page is the highest the thread's
	 * cache has). */
	size_t up, adj = adjacent_steps(pages, np, &up);
	printf("# fresh: %zu of %zu steps to the next page in memory, %zu up\n", adj, np - 1, up);
	CHECK_EQ(up, np - 1);
	CHECK(adj >= np - 2);
	CHECK_OK(rav_root_clear(h, r));
	ps = pool();
	rav_heap_stats(h, &s);
	printf("# after the free: used %" PRIu64 ", cached %" PRIu64 ", warm %" PRIu64 ", cold %" PRIu64
	       ", due %" PRIu64 "\n",
	       ps.used_pages, ps.cached_pages, ps.warm_pages, ps.cold_pages, ps.due_pages);
	CHECK_EQ(ps.used_pages, s.pages + s.root_pages);
	CHECK(ps.cached_pages <= ps.cache_pages_max);
	CHECK(ps.cached_pages + ps.warm_pages + ps.cold_pages + ps.purging_pages >= np - 2);
	CHECK_EQ(ps.free_pages, ps.cached_pages + ps.warm_pages + ps.cold_pages + ps.purging_pages);
	CHECK(ps.reserved_pages >= ps.used_pages + ps.free_pages);

	/* Within about the delay they go back to the OS, all but the reserve
	 * and the thread's cache. */
	uint64_t busy = no_thread ? KEEP_BUSY + 2 : 0;
	double took = wait_purged(h, np - RESERVE - RAV_POOL_CACHE_PAGES - 4 - busy);
	if (!no_thread) /* and the rest of what is due, which the thread purges as one batch */
		while (pool().due_pages > 0 || pool().purging_pages > 0)
			sleep_ms(5);
	ps = pool();
	size_t still = resident(pages, np);
	printf("# purged after %.1f ms (delay %d ms, %s): warm %" PRIu64 ", cold %" PRIu64 ", %zu of %zu pages "
	       "still resident\n",
	       took, DELAY_MS, no_thread ? "no thread" : "purge thread", ps.warm_pages, ps.cold_pages, still, np);
	if (!no_thread)
		CHECK_EQ(ps.warm_pages, RESERVE);
	CHECK(ps.cold_pages >= np - RESERVE - ps.cache_pages_max - 4 - busy);
	CHECK(ps.purged_pages >= ps.cold_pages);
	CHECK(still <= RESERVE + ps.cache_pages_max + 4 + busy);
	CHECK_EQ(ps.purge_thread, !no_thread);

	/* Taken back youngest first, committed again. */
	uint64_t recommitted = ps.recommitted_pages;
	np = build(h, T_NODE, r, LIST, pages, LIST);
	ps = pool();
	CHECK(ps.recommitted_pages > recommitted);
	CHECK_HEAP(h);
	/* The same pages in the same order: the heap gave them back from its
	 * highest down, the cache and the warm list kept that order, the purge
	 * took the highest first and the cold stack gives back the lowest
	 * first. */
	adj = adjacent_steps(pages, np, &up);
	printf("# rebuilt from cold pages: %zu of %zu steps to the next page in memory, %zu up\n", adj, np - 1, up);
	CHECK_EQ(up, np - 1);
	CHECK(adj >= np - 3);
	CHECK_OK(rav_root_clear(h, r));

	/* Another thread's cache: counted while it lives, handed over when it
	 * ends. */
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, churn_thread, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	ps = pool();
	rav_heap_stats(h, &s);
	CHECK_EQ(ps.threads_caching, 1);
	CHECK_EQ(ps.used_pages, s.pages + s.root_pages);

	rav_root_free(h, r);
	CHECK_HEAP(h);
	rav_thread_exit();
	ps = pool();
	CHECK_EQ(ps.used_pages, 0);
	CHECK_EQ(ps.threads_caching, 0);
	printf("ok pool (%s)\n", no_thread ? "no thread" : "purge thread");
	return 0;
}
