/* rav-bench.h - the workload interface of rav-bench.
 *
 * rav-bench is table-driven: each workload is a bench_workload registered
 * from a constructor (BENCH_WORKLOAD), so a new figure (tracing cost per
 * event, trace indexing and seek times, ...) is one more source file in
 * bench/meson.build, with no change to the driver.  The driver owns the
 * parts every workload shares: options, machine description, loading the
 * malloc implementations side by side, timing method and output (table or
 * one JSON object per workload).
 */
#ifndef RAV_BENCH_H
#define RAV_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ravioli.h"

/* A malloc implementation loaded next to the process's own (glibc). */
typedef struct bench_alloc {
	const char *name; /* "glibc", "jemalloc", "mimalloc" */
	void *(*malloc_fn)(size_t);
	void (*free_fn)(void *);
} bench_alloc;

typedef struct bench_params {
	bool quick;      /* CI smoke sizes: seconds in total, figures meaningless */
	unsigned repeat; /* timed runs per implementation; the best is kept */
	unsigned warmup; /* untimed runs before them */
	double scale;    /* multiplies every workload's default size */
	uint64_t seed;
	bool ravioli;    /* run the libravioli side (--impls can leave it out) */
} bench_params;

enum { BENCH_MAX_METRICS = 12, BENCH_MAX_RESULTS = 8 };

typedef struct bench_result {
	char impl[32];                    /* "ravioli", or an allocator's name */
	double seconds;                   /* best timed run; < 0 when not measured */
	double metric[BENCH_MAX_METRICS]; /* named by bench_report.metric_names */
	char note[160];                   /* why it was not measured, or a remark */
} bench_result;

typedef struct bench_report {
	char params[256];                              /* JSON members, e.g. "\"live\": 1000000" */
	const char *metric_names[BENCH_MAX_METRICS];   /* NULL after the last; JSON keys and table heads */
	const char *statistic;                         /* how the rows were taken: NULL for "best" (the default) */
	unsigned runs;                                 /* timed runs per row when not --repeat (0: --repeat) */
	bench_result results[BENCH_MAX_RESULTS];
	unsigned n;
} bench_report;

typedef struct bench_workload {
	const char *name;        /* selects it: --workloads churn,tree */
	const char *description; /* one line for the table and JSON */
	int order;               /* position in the default run */
	void (*run)(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *out);
	/* Optional: work done in a fresh process (see bench_run_child); writes
	 * its result to fd 1 and returns the exit status. */
	int (*child)(const bench_alloc *allocs, unsigned nallocs, int argc, char **argv);
} bench_workload;

void bench_register(const bench_workload *w);

/* bench-trace.c: the trace-record workload (a tree of `depth` levels built
 * cell by cell, then `stores` sharing stores along random paths, then a
 * collection), also run by bench-attach.c; its fresh process writes a
 * bench_record_out to fd 1. */
typedef struct bench_record_out {
	double seconds;     /* wall time of the workload */
	double cpu_seconds; /* CPU time of the recording thread during it */
	uint64_t operations;
} bench_record_out;
rav_type bench_record_node_type(void); /* "bench.node": two references */
/* A full binary subtree of `depth` levels in parent's field. */
void bench_record_build(rav_heap *h, rav_ref parent, int field, int depth, uint64_t *ops);
double bench_record_workload(int depth, unsigned stores, uint64_t seed, uint64_t *ops, double *cpu);
#define BENCH_WORKLOAD(sym)                                                                             \
	__attribute__((constructor)) static void bench_register_##sym(void)                             \
	{                                                                                               \
		bench_register(&sym);                                                                   \
	}

/* Run workload w's `child` in a new process (this executable re-executed
 * with --child NAME ARGS...), so that its memory figures start from a
 * clean address space, not a fork of a process that already used the
 * allocators.  Reads exactly len bytes of result into out; false on any
 * failure. */
bool bench_run_child(const bench_workload *w, char *const args[], void *out, size_t len);

/* Monotonic seconds. */
double bench_now(void);

/* Run fn(ctx) p->warmup times untimed then p->repeat times; fn returns the
 * seconds of its timed part (setup and teardown stay outside).  Returns the
 * best. */
double bench_best(const bench_params *p, double (*fn)(void *ctx), void *ctx);

/* The same, interleaved: round r runs fns[0](ctxs[0]), fns[1](ctxs[1]),
 * ... one after the other, so every implementation sees the same machine
 * state (a noisy neighbour slows all of them alike).  best[i] gets each
 * one's best. */
void bench_best_interleaved(const bench_params *p, unsigned n, double (*const fns[])(void *ctx), void *const ctxs[],
			    double best[]);

/* Append a result row; returns it for the metrics. */
bench_result *bench_add(bench_report *r, const char *impl, double seconds);

/* Resident set size of the calling process, in bytes (/proc/self/statm). */
uint64_t bench_resident_bytes(void);

/* Scaled size with a floor, for the workloads' defaults. */
size_t bench_size(const bench_params *p, size_t full, size_t quick);

/* Deterministic generator, so every implementation sees the same work. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif /* RAV_BENCH_H */
