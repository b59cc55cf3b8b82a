/* bulk-probe.c - the bulk free alone, for perf, callgrind and cachegrind.
 *
 * rav-bench's bulk-free runs every implementation and both ravioli modes
 * in one process, so a profile of it mixes them and the lists' building.
 * This builds exactly its two lists (N nodes each, pushed alternately, so
 * that their cells alternate in memory) and frees list a in a function of
 * its own (probe_free: rav_root_clear, then rav_compact in steps of 4096
 * moves in deferred mode; `mi`: walk and free each node with mimalloc,
 * loaded as rav-bench loads it), so that
 *
 *   valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes \
 *       --toggle-collect=probe_free build-rel/bench/bulk-probe imm 250000 1
 *
 * counts the free only (divide by N), and `perf record -e cpu-clock -g`
 * over many repetitions samples only it and the building.  Each
 * repetition builds the lists again (b freed after a, untimed); the
 * fastest repetition's wall and thread CPU time is printed, for
 * interleaved A/B timing of two builds, and the fastest read-only walk of
 * list a before its free (the layout's cost to a pointer chase), and, untimed, where the walk
 * goes from page to page (to the page just below in memory: one stream down, as through a malloc
 * heap's list).  Arguments: imm|def|mi, nodes per
 * list, repetitions (defaults: imm, 1000000, 5).
 */
#include <dlfcn.h>
#include <string.h>
#include <time.h>

#include "bench-common.h"

enum { BULK_STEP = 4096 }; /* as bench-workloads.c */

__attribute__((noinline)) static void probe_free(rav_heap *h, rav_root a, bool deferred)
{
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_DEFERRED);
	OK(rav_root_clear(h, a));
	while (deferred && rav_compact(h, BULK_STEP) != 0)
		;
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
}

__attribute__((noinline)) static void probe_malloc_free(mnode *a, void (*free_fn)(void *))
{
	while (a) {
		mnode *x = a;
		a = a->next;
		free_fn(x);
	}
}

/* The list's nodes read in order, nothing written: what the layout costs a
 * pointer chase, beside what the free costs. */
__attribute__((noinline)) static uintptr_t probe_walk(rav_heap *h, rav_root a)
{
	uintptr_t sum = 0;
	for (rav_ref n = rav_root_get(h, a); !rav_ref_is_null(n); n = rav_load_ref(h, n, 1))
		sum += rav_load(h, n, 0);
	return sum;
}

__attribute__((noinline)) static uintptr_t probe_malloc_walk(const mnode *a)
{
	uintptr_t sum = 0;
	for (; a; a = a->next)
		sum += a->value;
	return sum;
}

/* The layout the walk meets (untimed): of the walk's steps from one pool
 * page to another, how many go to the page just below in memory (a
 * stream down that the hardware prefetcher may follow across pages, as
 * in a malloc heap's list), or just above. */
static void probe_layout(rav_heap *h, rav_root a, size_t *changes, size_t *down, size_t *up)
{
	size_t last = SIZE_MAX;
	for (rav_ref n = rav_root_get(h, a); !rav_ref_is_null(n); n = rav_load_ref(h, n, 1)) {
		size_t pg = rav_page_index(n.cell);
		if (last != SIZE_MAX && pg != last) {
			++*changes;
			*down += pg + 1 == last;
			*up += pg == last + 1;
		}
		last = pg;
	}
}

static double ns_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

static size_t arg_size(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > (1ull << 28)) {
		fprintf(stderr, "bulk-probe: %s must be a number from 1 to 2^28, not '%s'\n", what, s);
		exit(2);
	}
	return (size_t)v;
}

int main(int argc, char **argv)
{
	if (argc > 4 || (argc > 1 && strcmp(argv[1], "imm") != 0 && strcmp(argv[1], "def") != 0 &&
			 strcmp(argv[1], "mi") != 0)) {
		fprintf(stderr, "usage: bulk-probe [imm|def|mi] [NODES] [REPEATS]\n");
		return 2;
	}
	const char *mode = argc > 1 ? argv[1] : "imm";
	bool deferred = strcmp(mode, "def") == 0, mi = strcmp(mode, "mi") == 0;
	size_t nodes = argc > 2 ? arg_size(argv[2], "NODES") : 1000000;
	size_t repeats = argc > 3 ? arg_size(argv[3], "REPEATS") : 5;
	void *(*malloc_fn)(size_t) = NULL;
	void (*free_fn)(void *) = NULL;
	if (mi) {
		void *lib = dlopen("libmimalloc.so.2", RTLD_LOCAL | RTLD_NOW);
		void *m = lib ? dlsym(lib, "mi_malloc") : NULL, *f = lib ? dlsym(lib, "mi_free") : NULL;
		if (!m || !f) {
			fprintf(stderr, "bulk-probe: mimalloc not loaded: %s\n",
				lib ? "no mi_malloc/mi_free" : dlerror());
			return 1;
		}
		memcpy(&malloc_fn, &m, sizeof m);
		memcpy(&free_fn, &f, sizeof f);
	}
	rav_heap *h = mi ? NULL : rav_heap_self();
	rav_type t = mi ? 0 : bench_types_get().list;
	double best_wall = 1e300, best_cpu = 1e300, best_walk = 1e300;
	uintptr_t sum = 0;
	size_t changes = 0, down = 0, up = 0;
	for (size_t r = 0; r < repeats; r++) {
		rav_root a = 0, b = 0;
		mnode *ma = NULL, *mb = NULL;
		if (mi) {
			for (size_t i = 0; i < nodes; i++) {
				mnode *x = malloc_fn(sizeof *x), *y = malloc_fn(sizeof *y);
				if (!x || !y)
					bench_die("out of memory");
				x->value = i;
				x->next = ma;
				ma = x;
				y->next = mb;
				mb = y;
			}
		} else {
			if (!(a = rav_root_new(h)) || !(b = rav_root_new(h)))
				bench_die("rav_root_new");
			for (size_t i = 0; i < nodes; i++) {
				bench_list_push(h, t, a, a, i);
				bench_list_push(h, t, b, b, i);
			}
		}
		if (!mi)
			probe_layout(h, a, &changes, &down, &up);
		struct timespec w0, w1, c0, c1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		sum += mi ? probe_malloc_walk(ma) : probe_walk(h, a);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		if (ns_between(&c0, &c1) < best_walk)
			best_walk = ns_between(&c0, &c1);
		clock_gettime(CLOCK_MONOTONIC, &w0);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		if (mi)
			probe_malloc_free(ma, free_fn);
		else
			probe_free(h, a, deferred);
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		clock_gettime(CLOCK_MONOTONIC, &w1);
		double wall = ns_between(&w0, &w1), cpu = ns_between(&c0, &c1);
		if (wall < best_wall)
			best_wall = wall;
		if (cpu < best_cpu)
			best_cpu = cpu;
		if (mi) {
			while (mb) { /* (not in probe_malloc_free: only list a's free is counted) */
				mnode *y = mb;
				mb = mb->next;
				free_fn(y);
			}
		} else {
			if (rav_heap_check(h) != RAV_OK)
				bench_die("rav_heap_check");
			rav_root_free(h, a);
			rav_root_free(h, b);
		}
	}
	printf("%s: %zu nodes freed among %zu, best of %zu: %.2f ms (%.2f ms of CPU time), %.2f ns per freed node;"
	       " reading the list before: %.2f ns per node (sum %ju)\n",
	       mode, nodes, nodes, repeats, best_wall * 1e-6, best_cpu * 1e-6, best_cpu / (double)nodes,
	       best_walk / (double)nodes, (uintmax_t)sum);
	if (!mi)
		printf("layout: %zu page changes in the walks, %.1f%% to the page below, %.1f%% to the page above\n",
		       changes, changes ? 100.0 * (double)down / (double)changes : 0.0,
		       changes ? 100.0 * (double)up / (double)changes : 0.0);
	return 0;
}
