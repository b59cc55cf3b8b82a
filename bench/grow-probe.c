/* grow-probe.c - a program that grows to a large heap, shrinks, and grows
 * again: resident memory over time after the shrink, page faults, and the
 * cost of growing back, for the engine's pool against malloc (eng17).
 *
 *   grow-probe IMPL [MIB] [WAIT_MS] [WATCH_MS]
 *
 * IMPL: ravioli, glibc, jemalloc or mimalloc (libjemalloc.so.2 and
 * libmimalloc.so.2 loaded as rav-bench loads them); one implementation
 * per process, so each starts with nothing resident.  The program builds
 * MIB MiB (default 1024) of 32-byte list nodes in 64 lists, one list
 * after the other; frees the last 58 lists, the last first (90.6 % of the
 * nodes; for ravioli, rav_root_clear: the lists are at the top of the heap,
 * so this is the pool's work, not the compaction's, which the
 * fragmentation and bulk-free rows measure; for malloc, a free per node);
 * waits WAIT_MS (default 300) without calling the allocator; builds
 * the freed lists again; frees them again; then watches resident memory
 * for WATCH_MS (default 2000) without calling the allocator.  It prints
 * each phase's wall time and minor page faults (getrusage), and resident
 * memory over time after each shrink (/proc/self/statm).  Not a test: its
 * figures are HACKING.md's ("eng17").
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ravioli.h"

enum { LISTS = 64, KEPT = 6 /* the first 6 of 64 lists: 9.4 % */ };

typedef struct node {
	struct node *next;
	uintptr_t pad[3];
} node;

static void *(*malloc_fn)(size_t);
static void (*free_fn)(void *);
static rav_heap *H;
static rav_type T;
static rav_root roots[LISTS];
static node *heads[LISTS];
static bool rav;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double resident_mib(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu %lu", &size, &res) != 2) {
		fprintf(stderr, "grow-probe: cannot read /proc/self/statm\n");
		exit(1);
	}
	fclose(f);
	return (double)res * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static long faults(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt + ru.ru_majflt;
}

static void die(const char *what)
{
	fprintf(stderr, "grow-probe: %s%s%s\n", what, rav ? ": " : "", rav ? rav_last_error() : "");
	exit(1);
}

/* per_list nodes pushed on each list, one list after the other (from:
 * the first list). */
static void grow(size_t per_list, size_t from)
{
	for (size_t l = from, i = 0; l < LISTS; l++)
		for (size_t k = 0; k < per_list; k++, i++) {
			if (rav) {
				rav_ref r;
				if (rav_new_before(H, T, rav_root_slot(roots[l]), 1, &r) != RAV_OK)
					die("rav_new_before");
				rav_store(H, r, 0, i);
			} else {
				node *p = malloc_fn(sizeof *p);
				if (!p)
					die("out of memory");
				p->pad[0] = i;
				p->next = heads[l];
				heads[l] = p;
			}
		}
}

static void shrink(void)
{
	for (size_t l = LISTS; l-- > KEPT;) {
		if (rav) {
			if (rav_root_clear(H, roots[l]) != RAV_OK)
				die("rav_root_clear");
		} else {
			while (heads[l]) {
				node *p = heads[l];
				heads[l] = p->next;
				free_fn(p);
			}
		}
	}
}

/* Resident memory at these times after t0, calling nothing else. */
static void watch(double t0, double until_ms)
{
	static const double at[] = {0,   50,  100,  200,  300,  400,  500,  600,  700,
	                            800, 900, 1000, 1100, 1250, 1500, 2000, 3000, 5000};
	printf("  resident after the shrink:");
	for (size_t k = 0; k < sizeof at / sizeof at[0] && at[k] <= until_ms; k++) {
		double wait = t0 + at[k] * 1e-3 - now();
		if (wait > 0)
			nanosleep(
			    &(struct timespec){(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)},
			    NULL);
		printf(" %.0f ms %.0f MiB;", at[k], resident_mib());
	}
	printf("\n");
}

static size_t arg(const char *s, size_t dflt)
{
	return s ? (size_t)strtoull(s, NULL, 10) : dflt;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 5) {
		fprintf(stderr,
		        "usage: grow-probe ravioli|glibc|jemalloc|mimalloc [MIB] [WAIT_MS] [WATCH_MS]\n");
		return 2;
	}
	const char *impl = argv[1];
	size_t mib = arg(argc > 2 ? argv[2] : NULL, 1024), wait_ms = arg(argc > 3 ? argv[3] : NULL, 300),
	       watch_ms = arg(argc > 4 ? argv[4] : NULL, 2000);
	rav = strcmp(impl, "ravioli") == 0;
	if (rav) {
		H = rav_heap_self();
		T = rav_type_register("grow.node", RAV_DATA, RAV_REF);
		if (!H || !T)
			die("engine");
		for (size_t l = 0; l < LISTS; l++)
			roots[l] = rav_root_new(H);
	} else if (strcmp(impl, "glibc") == 0) {
		malloc_fn = malloc;
		free_fn = free;
	} else {
		const char *lib = strcmp(impl, "jemalloc") == 0 ? "libjemalloc.so.2" : "libmimalloc.so.2";
		const char *ms = strcmp(impl, "jemalloc") == 0 ? "malloc" : "mi_malloc";
		const char *fs = strcmp(impl, "jemalloc") == 0 ? "free" : "mi_free";
		if (strcmp(impl, "jemalloc") != 0 && strcmp(impl, "mimalloc") != 0) {
			fprintf(stderr, "grow-probe: unknown implementation '%s'\n", impl);
			return 2;
		}
		void *h = dlopen(lib, RTLD_LOCAL | RTLD_NOW);
		void *m = h ? dlsym(h, ms) : NULL, *f = h ? dlsym(h, fs) : NULL;
		if (!m || !f) {
			fprintf(stderr, "grow-probe: %s not loaded: %s\n", impl, dlerror());
			return 1;
		}
		memcpy(&malloc_fn, &m, sizeof m);
		memcpy(&free_fn, &f, sizeof f);
	}
	size_t per_list = mib * 1048576 / 32 / LISTS;
	printf("%s: %zu MiB of 32-byte nodes (%zu), 90.6 %% freed, regrown after %zu ms\n", impl, mib,
	       per_list * LISTS, wait_ms);
	double t = now();
	long f = faults();
	grow(per_list, 0);
	printf("  grow     %8.1f ms %9ld faults, resident %.0f MiB\n", (now() - t) * 1e3, faults() - f,
	       resident_mib());
	t = now();
	f = faults();
	shrink();
	double t0 = now();
	printf("  shrink   %8.1f ms %9ld faults, resident %.0f MiB\n", (t0 - t) * 1e3, faults() - f,
	       resident_mib());
	watch(t0, (double)wait_ms);
	t = now();
	f = faults();
	grow(per_list, KEPT);
	printf("  regrow   %8.1f ms %9ld faults, resident %.0f MiB\n", (now() - t) * 1e3, faults() - f,
	       resident_mib());
	t = now();
	f = faults();
	shrink();
	t0 = now();
	printf("  shrink   %8.1f ms %9ld faults, resident %.0f MiB\n", (t0 - t) * 1e3, faults() - f,
	       resident_mib());
	watch(t0, (double)watch_ms);
#ifdef RAV_POOL_DEFAULT_DECAY_MS /* (the pool before eng17 had no keep_pages) */
	if (rav) {
		rav_pool_stats ps;
		rav_pool_stats_get(&ps);
		printf("  pool: used %llu, warm %llu, cold %llu, keep %llu, purged %llu, recommitted %llu "
		       "pages\n",
		       (unsigned long long)ps.used_pages, (unsigned long long)ps.warm_pages,
		       (unsigned long long)ps.cold_pages, (unsigned long long)ps.keep_pages,
		       (unsigned long long)ps.purged_pages, (unsigned long long)ps.recommitted_pages);
	}
#endif
	return 0;
}
