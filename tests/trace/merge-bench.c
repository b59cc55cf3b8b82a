/* merge-bench.c - the indexing thread's own work, alone: framing, merging
 * and decoding a trace into a sink that keeps nothing (the pipeline's
 * ring slot stands in for the consumers).  Not a test (no thresholds): run
 * it by hand, usually under callgrind to count the decode thread's
 * instructions per event without the apply thread in the count:
 *
 *	valgrind --tool=callgrind merge-bench FILE
 *
 * It prints the events merged and the wall and CPU time of the merge.
 * `merge-bench --index FILE` indexes for real instead (rav_trace_index:
 * this thread merges and decodes, a worker applies) and prints each
 * thread's CPU time (the open's framing walk apart, as rav-bench times
 * the index alone), to see which of the two limits the rate;
 * `valgrind --tool=callgrind --separate-threads=yes` counts each one's
 * instructions.  `merge-bench --hash FILE` hashes every field of every
 * event instead of one per batch: to compare two decoders' output (e.g.
 * RAVTRACE_SIMD=0, the portable loop, against the default).
 * `merge-bench --open N FILE` opens and closes the file N times and prints
 * the best CPU time of one open (user and system apart) and its page faults:
 * the framing walk's cost, which every reader of the file pays. */
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace-private.h"

enum { SLOT_EVENTS = 256 };

typedef struct null_sink {
	ravt_sink sink;
	bool hash_all;
	uint64_t events, check;
	rav_event slot[SLOT_EVENTS];
} null_sink;

static void ns_begin(ravt_sink *s, uint64_t from)
{
	(void)s;
	(void)from;
}

static void ns_events(ravt_sink *s, const rav_event *evs, size_t n)
{
	null_sink *k = (null_sink *)s;
	k->events += n;
	if (k->hash_all) {
		for (size_t i = 0; i < n; i++) {
			const rav_event *e = &evs[i];
			uint64_t f[] = {e->index, e->time_ns, e->thread, e->kind, e->aux, e->x,
			                e->a,     e->b,       e->c,      e->site, (uint64_t)(e->text != NULL)};
			for (size_t j = 0; j < sizeof f / sizeof f[0]; j++)
				k->check = (k->check ^ f[j]) * UINT64_C(0x100000001b3);
		}
		return;
	}
	/* touch one field per batch so the stores cannot be dropped */
	k->check += evs[n - 1].a;
}

static void ns_end(ravt_sink *s, uint64_t upto, bool final)
{
	(void)s;
	(void)upto;
	(void)final;
}

static rav_event *ns_reserve(ravt_sink *s, size_t *room)
{
	*room = SLOT_EVENTS;
	return ((null_sink *)s)->slot;
}

static const ravt_sink_ops ns_ops = {ns_begin, ns_events, ns_end, NULL, ns_reserve, NULL};

static double clk(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Both threads, as rav_trace_index runs them. */
static int index_for_real(const char *path)
{
	double o0 = clk(CLOCK_THREAD_CPUTIME_ID);
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	/* (the open's framing walk apart: rav-bench times the index alone) */
	double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
	double t0 = clk(CLOCK_THREAD_CPUTIME_ID);
	if (!t || rav_trace_index(t, NULL, NULL, &err) != 0) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		if (t)
			rav_trace_close(t);
		return 1;
	}
	double w1 = clk(CLOCK_MONOTONIC), c1 = clk(CLOCK_PROCESS_CPUTIME_ID);
	double t1 = clk(CLOCK_THREAD_CPUTIME_ID);
	uint64_t n = rav_trace_indexed_events(t);
	/* (the worker's CPU: the process's less this thread's) */
	printf("%llu events indexed: %.3f s wall, %.1f M events/s; open %.3f s CPU; decode thread %.3f s CPU "
	       "(%.1f M/s), apply thread %.3f s CPU (%.1f M/s)\n",
	       (unsigned long long)n, w1 - w0, (double)n / (w1 - w0) / 1e6, t0 - o0, t1 - t0,
	       (double)n / (t1 - t0) / 1e6, (c1 - c0) - (t1 - t0),
	       (double)n / ((c1 - c0) - (t1 - t0)) / 1e6);
	uint64_t kfs, kfb, spacing, copies = ravt_trace_index_copies(t);
	ravt_trace_keyframe_stats(t, &kfs, &kfb, &spacing);
	printf("%llu keyframes, %.1f MB; %llu cell blocks copied on write (%.4f an event)\n", (unsigned long long)kfs,
	       (double)kfb / 1e6, (unsigned long long)copies, n ? (double)copies / (double)n : 0.0);
	rav_trace_close(t);
	return 0;
}

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec * 1e-6;
}

/* The open alone, n times: best user and system CPU, minor faults */
static int open_only(const char *path, int n)
{
	double best_u = 1e9, best_s = 1e9, best_t = 1e9;
	long faults = 0;
	uint64_t events = 0, size = 0;
	for (int i = 0; i < n; i++) {
		struct rusage r0, r1;
		getrusage(RUSAGE_THREAD, &r0);
		double c0 = clk(CLOCK_THREAD_CPUTIME_ID);
		rav_trace_error err;
		ravt_reader *rd = ravt_reader_open_file(path, &err);
		double c1 = clk(CLOCK_THREAD_CPUTIME_ID);
		getrusage(RUSAGE_THREAD, &r1);
		if (!rd) {
			fprintf(stderr, "%s: %s\n", path, err.message);
			return 1;
		}
		events = ravt_reader_framed_events(rd);
		size = ravt_reader_size(rd);
		ravt_reader_close(rd);
		double u = tv(r1.ru_utime) - tv(r0.ru_utime), s = tv(r1.ru_stime) - tv(r0.ru_stime);
		if (c1 - c0 < best_t) {
			best_t = c1 - c0;
			best_u = u;
			best_s = s;
			faults = r1.ru_minflt - r0.ru_minflt;
		}
	}
	printf("open of %llu events, %.1f MB, best of %d: %.2f ms CPU (user %.1f ms, system %.1f ms), %ld minor "
	       "faults\n",
	       (unsigned long long)events, (double)size / 1e6, n, best_t * 1e3, best_u * 1e3, best_s * 1e3, faults);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--index"))
		return index_for_real(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "--open"))
		return open_only(argv[3], atoi(argv[2]));
	static null_sink ns = {.sink = {&ns_ops}};
	if (argc == 3 && !strcmp(argv[1], "--hash")) {
		ns.hash_all = true;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s [--index | --hash | --open N] FILE\n", argv[0]);
		return 2;
	}
	double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
	rav_trace_error err;
	ravt_reader *rd = ravt_reader_open_file(argv[1], &err);
	if (!rd) {
		fprintf(stderr, "%s: %s\n", argv[1], err.message);
		return 1;
	}
	ravt_sink *sinks[1] = {&ns.sink};
	int rc = ravt_reader_merge(rd, sinks, 1, 0, &err);
	double w1 = clk(CLOCK_MONOTONIC), c1 = clk(CLOCK_PROCESS_CPUTIME_ID);
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], err.message);
		ravt_reader_close(rd);
		return 1;
	}
	printf("%llu events merged (check %llx): %.3f s wall, %.3f s CPU, %.1f M events/s of CPU\n",
	       (unsigned long long)ns.events, (unsigned long long)ns.check, w1 - w0, c1 - c0,
	       (double)ns.events / (c1 - c0) / 1e6);
	ravt_reader_close(rd);
	return 0;
}
