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
 * step count).  It also prints the steps' wall time per step, for
 * interleaved A/B timing of two builds.  Arguments: imm|def, live nodes,
 * steps (defaults: imm, 1000000, 2000000, the churn workload's sizes).
 */
#include <string.h>
#include <time.h>

#include "bench-common.h"

enum { DEFERRED_EVERY = 256 }; /* as bench-churn.c */

__attribute__((noinline)) static void probe_steps(rav_heap *h, rav_type t, rav_root *roots, size_t lists,
						  size_t steps, uint64_t *rngp, bool deferred)
{
	uint64_t rng = *rngp;
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_DEFERRED);
	for (size_t i = 0; i < steps; i++) {
		bench_list_pop(h, roots[bench_rand(&rng) % lists]);
		bench_list_push(h, t, roots[bench_rand(&rng) % lists], roots[0], i);
		if (deferred && i % DEFERRED_EVERY == DEFERRED_EVERY - 1)
			rav_compact(h, 0);
	}
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	*rngp = rng;
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
	if (argc > 4 || (argc > 1 && strcmp(argv[1], "imm") != 0 && strcmp(argv[1], "def") != 0)) {
		fprintf(stderr, "usage: churn-probe [imm|def] [LIVE_NODES] [STEPS]\n");
		return 2;
	}
	bool deferred = argc > 1 && strcmp(argv[1], "def") == 0;
	size_t live = argc > 2 ? arg_size(argv[2], "LIVE_NODES") : 1000000;
	size_t steps = argc > 3 ? arg_size(argv[3], "STEPS") : 2000000;
	size_t lists = live / 1000 < 16 ? 16 : live / 1000; /* as bench-churn.c */
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
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	probe_steps(h, t, roots, lists, steps, &rng, deferred);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)steps;
	if (rav_heap_check(h) != RAV_OK)
		bench_die("rav_heap_check");
	printf("%s: %zu live nodes in %zu lists, %zu steps, %.1f ns/step\n", deferred ? "deferred" : "immediate", live,
	       lists, steps, ns);
	for (size_t i = 0; i < lists; i++)
		rav_root_free(h, roots[i]);
	free(roots);
	return 0;
}
