/* churn-probe.c - one churn variant alone, for callgrind and cachegrind.
 *
 * rav-bench's churn runs every implementation and both ravioli modes in one
 * process, so a profile of it mixes them.  This runs exactly its ravioli
 * step (bench_list_pop then bench_list_push, bench-common.h; rav_compact
 * every 256 steps in deferred mode) on one heap, with the steps in one
 * function of their own, so that
 *
 *   valgrind --tool=callgrind --cache-sim=yes --toggle-collect=probe_steps \
 *       build-rel/bench/churn-probe imm 1000000 200000
 *
 * counts the instructions and D1 misses of the steps only (divide by the
 * step count).  It also prints the steps' wall time and the thread's CPU
 * time per step, for interleaved A/B timing of two builds (on a shared
 * host the CPU time leaves out the time the thread was not running).
 * `mi` runs bench-churn.c's malloc step with mimalloc (libmimalloc.so.2,
 * loaded as rav-bench loads it) in probe_malloc_steps: the reference,
 * measured the same way and in the same conditions
 * (--toggle-collect=probe_malloc_steps under callgrind).  Arguments:
 * imm|def|mi, live nodes, steps, chunks (defaults: imm, 1000000, 2000000,
 * 1: the churn workload's sizes); with chunks, the steps are timed in that
 * many equal parts and the fastest part is printed (a part that ran
 * undisturbed by the host's other work).
 */
#include <dlfcn.h>
#include <string.h>
#include <time.h>

#include "bench-common.h"

/* The steps of bench-common.h, in functions of their own for callgrind. */
__attribute__((noinline)) static void probe_steps(rav_heap *h, rav_type t, rav_root *roots, size_t lists,
						  size_t steps, uint64_t *rngp, bool deferred)
{
	bench_churn_rav_steps(h, t, roots, roots[0], lists, steps, rngp, deferred, false);
}

__attribute__((noinline)) static void probe_malloc_steps(mnode **heads, size_t lists, size_t steps, uint64_t *rngp,
							 void *(*malloc_fn)(size_t), void (*free_fn)(void *))
{
	bench_churn_malloc_steps(heads, lists, steps, rngp, malloc_fn, free_fn);
}

static double ns_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* The steps' time, in `chunks` equal parts timed one by one: the fastest
 * part's wall and CPU time per step (on a shared host, a part that ran
 * undisturbed says more than the sum of all).  Chunk c runs step(c). */
typedef struct probe_time {
	double wall_ns, cpu_ns; /* per step, the fastest chunk's (each its own minimum) */
} probe_time;

#define PROBE_TIMED(pt, chunks, per_chunk, body)                                                         \
	do {                                                                                             \
		(pt).wall_ns = (pt).cpu_ns = 1e300;                                                      \
		for (size_t chunk_ = 0; chunk_ < (chunks); chunk_++) {                                   \
			struct timespec a_, b_, ca_, cb_;                                                \
			clock_gettime(CLOCK_MONOTONIC, &a_);                                             \
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca_);                                    \
			body;                                                                            \
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb_);                                    \
			clock_gettime(CLOCK_MONOTONIC, &b_);                                             \
			double w_ = ns_between(&a_, &b_) / (double)(per_chunk);                          \
			double c_ = ns_between(&ca_, &cb_) / (double)(per_chunk);                        \
			if (w_ < (pt).wall_ns)                                                           \
				(pt).wall_ns = w_;                                                       \
			if (c_ < (pt).cpu_ns)                                                            \
				(pt).cpu_ns = c_;                                                        \
		}                                                                                        \
	} while (0)

static int run_mimalloc(size_t live, size_t steps, size_t lists, size_t chunks)
{
	void *lib = dlopen("libmimalloc.so.2", RTLD_LOCAL | RTLD_NOW);
	void *m = lib ? dlsym(lib, "mi_malloc") : NULL, *f = lib ? dlsym(lib, "mi_free") : NULL;
	if (!m || !f) {
		fprintf(stderr, "churn-probe: mimalloc not loaded: %s\n", lib ? "no mi_malloc/mi_free" : dlerror());
		return 1;
	}
	void *(*malloc_fn)(size_t);
	void (*free_fn)(void *);
	memcpy(&malloc_fn, &m, sizeof m);
	memcpy(&free_fn, &f, sizeof f);
	mnode **heads = calloc(lists, sizeof *heads);
	if (!heads)
		bench_die("out of memory");
	uint64_t rng = 1;
	for (size_t i = 0; i < live; i++) {
		size_t b = bench_rand(&rng) % lists;
		mnode *n = malloc_fn(sizeof *n);
		if (!n)
			bench_die("out of memory");
		n->value = i;
		n->next = heads[b];
		heads[b] = n;
	}
	probe_time pt;
	PROBE_TIMED(pt, chunks, steps / chunks,
		    probe_malloc_steps(heads, lists, steps / chunks, &rng, malloc_fn, free_fn));
	printf("mimalloc: %zu live nodes in %zu lists, %zu steps, %.1f ns/step (%.1f ns/step of CPU time)\n", live,
	       lists, steps, pt.wall_ns, pt.cpu_ns);
	for (size_t i = 0; i < lists; i++)
		while (heads[i]) {
			mnode *n = heads[i];
			heads[i] = n->next;
			free_fn(n);
		}
	free(heads);
	return 0;
}

static size_t arg_size(const char *s, const char *what)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > (1ull << 32)) {
		fprintf(stderr, "churn-probe: %s must be a number from 1 to 2^32, not '%s'\n", what, s);
		exit(2);
	}
	return (size_t)v;
}

int main(int argc, char **argv)
{
	if (argc > 5 || (argc > 1 && strcmp(argv[1], "imm") != 0 && strcmp(argv[1], "def") != 0 &&
			 strcmp(argv[1], "mi") != 0)) {
		fprintf(stderr, "usage: churn-probe [imm|def|mi] [LIVE_NODES] [STEPS] [CHUNKS]\n");
		return 2;
	}
	bool deferred = argc > 1 && strcmp(argv[1], "def") == 0;
	size_t live = argc > 2 ? arg_size(argv[2], "LIVE_NODES") : 1000000;
	size_t steps = argc > 3 ? arg_size(argv[3], "STEPS") : 2000000;
	size_t chunks = argc > 4 ? arg_size(argv[4], "CHUNKS") : 1;
	if (chunks > steps) {
		fprintf(stderr, "churn-probe: CHUNKS must not exceed STEPS\n");
		return 2;
	}
	size_t lists = bench_churn_lists(live);
	if (argc > 1 && strcmp(argv[1], "mi") == 0)
		return run_mimalloc(live, steps, lists, chunks);
	rav_heap *h = rav_heap_self();
	if (!h)
		bench_die("rav_heap_self");
	rav_type t = bench_types_get().list;
	rav_root *roots = malloc(lists * sizeof *roots);
	if (!roots)
		bench_die("out of memory");
	for (size_t b = 0; b < lists; b++)
		if (!(roots[b] = rav_root_new(h)))
			bench_die("rav_root_new");
	uint64_t rng = 1;
	for (size_t i = 0; i < live; i++)
		bench_list_push(h, t, roots[bench_rand(&rng) % lists], roots[0], i);
	probe_time pt;
	PROBE_TIMED(pt, chunks, steps / chunks, probe_steps(h, t, roots, lists, steps / chunks, &rng, deferred));
	if (rav_heap_check(h) != RAV_OK)
		bench_die("rav_heap_check");
	printf("%s: %zu live nodes in %zu lists, %zu steps, %.1f ns/step (%.1f ns/step of CPU time)\n",
	       deferred ? "deferred" : "immediate", live, lists, steps, pt.wall_ns, pt.cpu_ns);
	for (size_t i = 0; i < lists; i++)
		rav_root_free(h, roots[i]);
	free(roots);
	return 0;
}
