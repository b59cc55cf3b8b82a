/* study.h - `rav-bench --study`: the five measurements docs/findings.md
 * answers the essay's open questions with (issue #15).
 *
 * Each question is one study (study-q1.c ... study-q5.c) that measures,
 * writes its tables as markdown (qN.md) and its plots as SVG (qN-*.svg)
 * into the output directory, and records the small traces that show it in
 * ravscope.  The driver (study.c) runs them in order, then copies every
 * qN.md between the markers `<!-- study:qN -->` and `<!-- /study:qN -->` of
 * docs/findings.md, so a re-run updates the numbers without hand-editing
 * while the prose around them stays.
 *
 * Anything a study needs to run in a fresh process (a recorded trace, a
 * measurement in another page-size build) goes through study_spawn: the
 * child is this executable (or another build's rav-bench) started with
 * `--study-child NAME ARGS...`, and writes its result as raw bytes on fd 1.
 */
#ifndef RAV_STUDY_H
#define RAV_STUDY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rav-bench.h"

typedef struct study_ctx {
	bool quick;             /* CI sizes: seconds in total, outputs well-formed, figures meaningless */
	unsigned repeat;        /* best-of-N, interleaved between the compared variants */
	const char *out_dir;    /* tables, plots, traces go here */
	const char *trace_dir;  /* out_dir/traces */
	const char *exe;        /* this rav-bench (for children) */
	const char *pages;      /* Q4: "build" (configure other page sizes) or "self" (this build only) */
	const char *build_root; /* where extra builds go (Q4) */
	char machine[512];      /* one line: CPU, cores, kernel, load, build */
	char stamp[96];         /* when this run started and how loaded the machine was */
	bench_alloc allocs[3];
	unsigned nallocs;
	FILE *log; /* progress (stderr) */
} study_ctx;

/* One study: runs, writes OUT/qN.md and its SVGs.  False: a failure
 * study_fail has explained. */
typedef struct study_def {
	const char *id; /* "q1" */
	const char *title;
	bool (*run)(study_ctx *c);
	/* Optional: a part run in a fresh process (--study-child ID ARGS). */
	int (*child)(int argc, char **argv);
} study_def;

extern const study_def study_q1, study_q2, study_q3, study_q4, study_q5;

/* `rav-bench --study ...` and `rav-bench --study-child ...`. */
int study_main(int argc, char **argv, const bench_alloc *allocs, unsigned nallocs);

/* ---- helpers for the studies ---- */

bool study_fail(study_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void study_log(study_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fopen OUT/name for writing; NULL after study_fail. */
FILE *study_open(study_ctx *c, const char *name);
/* Close a file opened by study_open, reporting a write error. */
bool study_close(study_ctx *c, FILE *f, const char *name);
char *study_path(const study_ctx *c, const char *dir, const char *name); /* malloc'd */

/* Run exe --study-child id args... in a fresh process with extra
 * environment entries (NULL-terminated "NAME=value", may be NULL); read
 * exactly len bytes of result from its stdout.  False (with a message on
 * the log) if it could not start, failed or said less. */
bool study_spawn(study_ctx *c, const char *exe, const char *id, char *const args[], char *const env[],
                 void *out, size_t len);

/* Write a result of len bytes to fd 1 (the child side). */
int study_child_reply(const void *data, size_t len);

/* Wall seconds, thread CPU seconds. */
double study_now(void);
/* What one study_now() costs (the median of many back-to-back pairs):
 * subtracted from timed batches too short to hide it. */
double study_clock_cost(void);
double study_cpu(void);

/* Format n with thousands separators ("1,234,567") into buf. */
const char *study_int(char *buf, size_t len, uint64_t n);

/* ---- SVG plots (study-svg.c) ---- */

enum { PLOT_MAX_SERIES = 8, PLOT_MAX_POINTS = 32 };

typedef struct plot_series {
	const char *name;
	unsigned n;
	double x[PLOT_MAX_POINTS], y[PLOT_MAX_POINTS]; /* y < 0 or NaN: no point */
	bool dashed;
} plot_series;

typedef struct plot {
	const char *title, *xlabel, *ylabel;
	bool xlog, ylog; /* log2 x, log10 y */
	bool bars;       /* grouped bars: x are category indexes 0..n-1 named by cats */
	const char *cats[PLOT_MAX_POINTS];
	unsigned nseries;
	plot_series s[PLOT_MAX_SERIES];
	const char *note; /* one line under the plot (machine, method) */
} plot;

/* Add a series; returns it (the last one if full). */
plot_series *plot_add(plot *p, const char *name);
void plot_point(plot_series *s, double x, double y);
/* Write p as a standalone SVG (readable on a forge: no scripts, no
 * external fonts).  False after study_fail. */
bool plot_write(study_ctx *c, const plot *p, const char *name);

#endif /* RAV_STUDY_H */
