/* tree-probe.c - rav-bench's tree and binary-trees ravioli runs alone, for
 * callgrind, cachegrind and perf.
 *
 * The same calls as bench-workloads.c's tree_ravioli and bench-classic.c's
 * bt_once (ravioli side), with each phase in a function of its own so that
 *
 *   valgrind --tool=callgrind --cache-sim=yes --toggle-collect=probe_tree_build \
 *       --toggle-collect=probe_tree_teardown build-rel/bench/tree-probe tree 1000000 2
 *
 * counts one phase (divide by nodes x runs).  binary-trees' phases are
 * probe_bt_build, probe_bt_check and probe_bt_drop (`bt MAX_DEPTH RUNS`).
 * `mtree NODES RUNS` runs bench-workloads.c's malloc tree with mimalloc
 * (libmimalloc.so.2, loaded as rav-bench loads it), timed the same way.
 * Each run prints its wall and CPU time, the page faults it took
 * (getrusage) and where the pool's pages are (rav_pool_stats_get).
 */
#include <dlfcn.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench-common.h"

static double now_s(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Anonymous memory the kernel backs with huge pages, in kB (smaps_rollup). */
static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* ---- tree (bench-workloads.c) ---- */

static void rtree_build(rav_heap *h, rav_type t, rav_ref parent, int field, size_t lo, size_t hi)
{
	if (lo >= hi)
		return;
	size_t mid = lo + (hi - lo) / 2;
	rav_ref n;
	OK(rav_new_field(h, t, parent, field, &n));
	rav_set_scalar(h, n, mid);
	rtree_build(h, t, n, 0, lo, mid);
	rtree_build(h, t, n, 1, mid + 1, hi);
}

__attribute__((noinline)) static void probe_tree_build(rav_heap *h, rav_type t, rav_root r, size_t nodes)
{
	size_t mid = nodes / 2;
	rav_ref top;
	OK(rav_new_root(h, t, r, &top));
	rav_set_scalar(h, top, mid);
	rtree_build(h, t, top, 0, 0, mid);
	rtree_build(h, t, top, 1, mid + 1, nodes);
}

__attribute__((noinline)) static void probe_tree_teardown(rav_heap *h, rav_root r)
{
	OK(rav_root_clear(h, r));
}

/* bench-workloads.c's malloc tree, through function pointers as there. */
static void *(*mi_malloc_fn)(size_t);
static void (*mi_free_fn)(void *);

static mnode *mtree_build(size_t lo, size_t hi)
{
	if (lo >= hi)
		return NULL;
	size_t mid = lo + (hi - lo) / 2;
	mnode *n = mi_malloc_fn(sizeof *n);
	n->value = mid;
	n->next = mtree_build(lo, mid);
	n->right = mtree_build(mid + 1, hi);
	return n;
}

static void mtree_free(mnode *n)
{
	if (!n)
		return;
	mtree_free(n->next);
	mtree_free(n->right);
	mi_free_fn(n);
}

static void load_mimalloc(void)
{
	void *lib = dlopen("libmimalloc.so.2", RTLD_LOCAL | RTLD_NOW);
	void *m = lib ? dlsym(lib, "mi_malloc") : NULL, *f = lib ? dlsym(lib, "mi_free") : NULL;
	if (!m || !f)
		bench_die("mimalloc not loaded");
	memcpy(&mi_malloc_fn, &m, sizeof m);
	memcpy(&mi_free_fn, &f, sizeof f);
}

/* ---- binary-trees (bench-classic.c) ---- */

/* bench-common.h's build and check, in functions of their own for callgrind. */
__attribute__((noinline)) static void probe_bt_build(rav_heap *h, rav_type t, rav_root r, int depth)
{
	bench_bt_build(h, t, r, depth);
}

__attribute__((noinline)) static uint64_t probe_bt_check(rav_heap *h, rav_root r)
{
	return bench_bt_check(h, rav_root_get(h, r));
}

__attribute__((noinline)) static void probe_bt_drop(rav_heap *h, rav_root r)
{
	OK(rav_root_clear(h, r));
}

static uint64_t bt_once(rav_heap *h, rav_type t, int max)
{
	int min = 4;
	uint64_t checks = 0;
	rav_root tmp = rav_root_new(h), longlived = rav_root_new(h);
	if (!tmp || !longlived)
		bench_die("rav_root_new");
	probe_bt_build(h, t, tmp, max + 1);
	checks += probe_bt_check(h, tmp);
	probe_bt_drop(h, tmp);
	probe_bt_build(h, t, longlived, max);
	for (int d = min; d <= max; d += 2) {
		uint64_t iters = (uint64_t)1 << (max - d + min);
		for (uint64_t i = 0; i < iters; i++) {
			probe_bt_build(h, t, tmp, d);
			checks += probe_bt_check(h, tmp);
			probe_bt_drop(h, tmp);
		}
	}
	checks += probe_bt_check(h, longlived);
	rav_root_free(h, longlived);
	rav_root_free(h, tmp);
	return checks;
}

static void print_pool(void)
{
	rav_pool_stats s;
	rav_pool_stats_get(&s);
	printf("  pool: used %llu cached %llu warm %llu cold %llu purged %llu recommitted %llu shared_locks %llu\n",
	       (unsigned long long)s.used_pages, (unsigned long long)s.cached_pages, (unsigned long long)s.warm_pages,
	       (unsigned long long)s.cold_pages, (unsigned long long)s.purged_pages,
	       (unsigned long long)s.recommitted_pages, (unsigned long long)s.shared_locks);
}

int main(int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "tree") != 0 && strcmp(argv[1], "bt") != 0 && strcmp(argv[1], "mtree") != 0)) {
		fprintf(stderr, "usage: tree-probe tree|mtree [NODES [RUNS]] | bt [MAX_DEPTH [RUNS]]\n");
		return 2;
	}
	bool tree = strcmp(argv[1], "bt") != 0;
	if (strcmp(argv[1], "mtree") == 0) {
		load_mimalloc();
		size_t nodes = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
		int runs = argc > 3 ? atoi(argv[3]) : 3;
		for (int i = 0; i < runs; i++) {
			double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
			mnode *root = mtree_build(0, nodes);
			double w1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
			long huge = anon_huge_kb();
			mtree_free(root);
			double w2 = now_s(CLOCK_MONOTONIC), c2 = now_s(CLOCK_THREAD_CPUTIME_ID);
			printf("mtree %zu: %.2f ms (build %.2f, teardown %.2f), cpu %.2f ms (build %.2f, teardown %.2f), huge pages %ld kB\n",
			       nodes, (w2 - w0) * 1e3, (w1 - w0) * 1e3, (w2 - w1) * 1e3, (c2 - c0) * 1e3,
			       (c1 - c0) * 1e3, (c2 - c1) * 1e3, huge);
		}
		return 0;
	}
	size_t size = argc > 2 ? strtoull(argv[2], NULL, 10) : tree ? 1000000 : 16;
	int runs = argc > 3 ? atoi(argv[3]) : 3;
	rav_heap *h = rav_heap_self();
	if (!h)
		bench_die("rav_heap_self");
	rav_type t = bench_types_get().tree;
	for (int i = 0; i < runs; i++) {
		long f0 = minflt();
		double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
		if (tree) {
			rav_root r = rav_root_new(h);
			if (!r)
				bench_die("rav_root_new");
			probe_tree_build(h, t, r, size);
			double w1 = now_s(CLOCK_MONOTONIC), c1 = now_s(CLOCK_THREAD_CPUTIME_ID);
			long f1 = minflt(), huge = anon_huge_kb();
			probe_tree_teardown(h, r);
			rav_root_free(h, r);
			double w2 = now_s(CLOCK_MONOTONIC), c2 = now_s(CLOCK_THREAD_CPUTIME_ID);
			printf("tree %zu: %.2f ms (build %.2f, teardown %.2f), cpu %.2f ms (build %.2f, teardown %.2f), "
			       "faults %ld + %ld, huge pages %ld kB\n",
			       size, (w2 - w0) * 1e3, (w1 - w0) * 1e3, (w2 - w1) * 1e3, (c2 - c0) * 1e3, (c1 - c0) * 1e3,
			       (c2 - c1) * 1e3, f1 - f0, minflt() - f1, huge);
		} else {
			uint64_t checks = bt_once(h, t, (int)size);
			double w2 = now_s(CLOCK_MONOTONIC), c2 = now_s(CLOCK_THREAD_CPUTIME_ID);
			printf("bt %zu: %.2f ms, cpu %.2f ms, faults %ld, checks %llu\n", size, (w2 - w0) * 1e3,
			       (c2 - c0) * 1e3, minflt() - f0, (unsigned long long)checks);
		}
		print_pool();
	}
	if (rav_heap_check(h) != RAV_OK)
		bench_die("rav_heap_check");
	return 0;
}
