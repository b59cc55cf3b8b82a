/* seek-cost.c - what seeking in an indexed trace costs, in figures that do
 * not depend on how busy the machine is: events replayed per seek (the
 * worst: just before each keyframe; and at random points), next to wall and
 * CPU times.
 *
 * A benchmark, not a test (timings).  Usage:
 *   seek-cost FILE [--random N] [--worst-only] [--one K]
 * --one K: index, then one seek to just before keyframe K (the last when K
 * is past it; K = worst: the keyframe after the longest interval) and
 * nothing else.  Under callgrind with --instr-atstart=no only that seek is
 * counted (both of its threads): the instructions of one worst seek.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ravtrace.h"
#include "replay.h"
#include "trace-private.h"
#include "xorshift.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_u(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

typedef struct runs {
	uint64_t *ev;
	double *wall, *cpu;
	size_t n;
} runs;

static int seek_one(rav_state *s, uint64_t at, runs *r)
{
	rav_trace_error err;
	/* from elsewhere first, so that the seek restores a keyframe */
	if (rav_state_seek(s, 0, &err) < 0) {
		fprintf(stderr, "seek 0: %s\n", err.message);
		return -1;
	}
	double w = now(CLOCK_MONOTONIC), c = now(CLOCK_PROCESS_CPUTIME_ID);
	if (rav_state_seek(s, at, &err) < 0) {
		fprintf(stderr, "seek %llu: %s\n", (unsigned long long)at, err.message);
		return -1;
	}
	r->wall[r->n] = now(CLOCK_MONOTONIC) - w;
	r->cpu[r->n] = now(CLOCK_PROCESS_CPUTIME_ID) - c;
	r->ev[r->n] = ravt_state_seek_replayed(s);
	if (getenv("SEEK_COST_VERBOSE"))
		printf("  seek to %llu: %llu events replayed, %.1f ms wall, %.1f ms CPU\n", (unsigned long long)at,
		       (unsigned long long)r->ev[r->n], r->wall[r->n] * 1e3, r->cpu[r->n] * 1e3);
	r->n++;
	return 0;
}

static void report(const char *what, runs *r)
{
	if (!r->n)
		return;
	qsort(r->ev, r->n, sizeof *r->ev, cmp_u);
	qsort(r->wall, r->n, sizeof *r->wall, cmp_d);
	qsort(r->cpu, r->n, sizeof *r->cpu, cmp_d);
	printf("%s (%zu seeks): replayed events median %llu, max %llu; wall median %.1f ms, max %.1f ms; "
	       "CPU median %.1f ms, max %.1f ms\n",
	       what, r->n, (unsigned long long)r->ev[r->n / 2], (unsigned long long)r->ev[r->n - 1],
	       r->wall[r->n / 2] * 1e3, r->wall[r->n - 1] * 1e3, r->cpu[r->n / 2] * 1e3, r->cpu[r->n - 1] * 1e3);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s FILE [--random N] [--worst-only] [--one K]\n", argv[0]);
		return 2;
	}
	size_t nrandom = 50;
	bool worst_only = false;
	long long one = -1;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--random") && i + 1 < argc)
			nrandom = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--worst-only"))
			worst_only = true;
		else if (!strcmp(argv[i], "--one") && i + 1 < argc) {
			i++;
			one = !strcmp(argv[i], "worst") ? -2 : strtoll(argv[i], NULL, 10);
		}
		else {
			fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[i]);
			return 2;
		}
	}
	rav_trace_error err;
	rav_trace *t = rav_trace_open(argv[1], &err);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	if (rav_trace_index(t, NULL, NULL, &err) < 0 || ravt_trace_replay_error(t, &err)) {
		fprintf(stderr, "index: %s\n", err.message);
		return 1;
	}
	uint64_t n = rav_trace_indexed_events(t);
	uint64_t kfs, kfb, spacing;
	ravt_trace_keyframe_stats(t, &kfs, &kfb, &spacing);
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	uint64_t copies = ravt_trace_index_copies(t);
	printf("%llu events, file %.1f MB; indexed in %.2f s wall, %.2f s CPU; %llu keyframes, %.1f MB, "
	       "interval cost %llu; %llu blocks copied on write (%.4f an event)\n",
	       (unsigned long long)n, info.file_size / 1e6, now(CLOCK_MONOTONIC) - w0,
	       now(CLOCK_PROCESS_CPUTIME_ID) - c0, (unsigned long long)kfs, kfb / 1e6,
	       (unsigned long long)spacing, (unsigned long long)copies, n ? (double)copies / (double)n : 0.0);
	rav_state *s = rav_state_new(t);
	if (!s)
		return 1;
	/* just before each keyframe, and the end: the longest replays */
	uint64_t *targets = malloc(sizeof *targets * (kfs + 1));
	size_t nt = 0;
	for (uint64_t k = 1; k <= kfs; k++) {
		uint64_t p = k < kfs ? ravt_trace_keyframe_pos(t, k) : n + 1;
		if (p > 0 && p - 1 > ravt_trace_keyframe_pos(t, k - 1))
			targets[nt++] = p - 1;
	}
	if (one != -1) {
		if (one == -2) {
			uint64_t longest = 0;
			for (size_t i = 0; i < nt; i++) {
				uint64_t from = ravt_trace_keyframe_pos(t, i);
				if (targets[i] - from >= longest) {
					longest = targets[i] - from;
					one = (long long)i;
				}
			}
		}
		uint64_t at = nt ? targets[(size_t)one < nt ? (size_t)one : nt - 1] : n;
		CALLGRIND_START_INSTRUMENTATION;
		int rc = rav_state_seek(s, at, &err);
		CALLGRIND_STOP_INSTRUMENTATION;
		if (rc < 0) {
			fprintf(stderr, "seek: %s\n", err.message);
			return 1;
		}
		printf("one seek to %llu: %llu events replayed\n", (unsigned long long)at,
		       (unsigned long long)ravt_state_seek_replayed(s));
		rav_state_free(s);
		rav_trace_close(t);
		return 0;
	}
	size_t cap = nt > nrandom ? nt : nrandom;
	runs r = {malloc(sizeof *r.ev * cap), malloc(sizeof *r.wall * cap), malloc(sizeof *r.cpu * cap), 0};
	for (size_t i = 0; i < nt; i++)
		if (seek_one(s, targets[i], &r) < 0)
			return 1;
	report("just before each keyframe", &r);
	/* at each keyframe: what restoring one costs alone */
	r.n = 0;
	for (uint64_t k = 1; k < kfs; k++)
		if (seek_one(s, ravt_trace_keyframe_pos(t, k), &r) < 0)
			return 1;
	report("at each keyframe (restore only)", &r);
	if (!worst_only) {
		r.n = 0;
		uint64_t rng = 99;
		for (size_t i = 0; i < nrandom; i++) {
			xorshift64(&rng);
			if (seek_one(s, rng % (n + 1), &r) < 0)
				return 1;
		}
		report("random points", &r);
	}
	free(r.ev);
	free(r.wall);
	free(r.cpu);
	free(targets);
	rav_state_free(s);
	rav_trace_close(t);
	return 0;
}
