/* replay-bench.c - measures the replay figures of issue #3 item 6 on a
 * generated trace: indexing speed, seek time at random points, memory of
 * the open trace, keyframe memory, stepping and contention speed.
 *
 * Registered as a meson benchmark (not a test: it has timings and takes
 * minutes at full size).  Usage:
 *   replay-bench [--events N] [--live L] [--threads N] [--file PATH] [--keep] [--uniform]
 *                [--generate-only]
 * --uniform: frees and stores hit random cells anywhere (worst case for
 * keyframe memory); default: mostly young cells, as real programs do.
 * --live is per thread.  --generate-only: write the trace (kept) and stop,
 * e.g. to make many-thread traces for `ravscope --bench`.
 * Default: 100M events, 1M live cells per heap, in $TMPDIR.
 *
 * Measured 2026-11-25 on the 2-core build machine (shared, so CPU times are
 * the meaningful ones), default keyframe budget:
 *   young pattern, 100M events, 1 thread, file 594 MB (5.95 bytes/event):
 *     index 5.4 s CPU (18.4 M events/s, reader included); 382 keyframes,
 *     410 MB; RSS minus keyframes 0.99x the file; seek CPU median 5.5 ms,
 *     max 12.8 ms (wall max 16 ms); step 21.5 M events/s; contention
 *     20.9 M events/s; page_types over 7838 pages 7 ms.
 *   uniform pattern (worst case: every keyframe is nearly a full copy),
 *     30M events, 1M live cells: keyframes thinned to every 1M events
 *     (29, 692 MB); seek CPU median 78 ms, max 176 ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ravtrace.h"
#include "replay-gen.h"
#include "trace-private.h"
#include "xorshift.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the process (indexing and long seeks run on two threads):
 * the machine may be shared, wall time alone misleads. */
static double cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	gen_params gp = {
	    .events = 100000000ull, .live_target = 1000000, .threads = 1, .seed = 12345, .access = true};
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[512];
	snprintf(path, sizeof path, "%s/replay-bench-%d.ravtrace", tmp, (int)getpid());
	gp.path = path;
	bool keep = false, generate_only = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events") && i + 1 < argc)
			gp.events = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--live") && i + 1 < argc)
			gp.live_target = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			gp.threads = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--file") && i + 1 < argc)
			gp.path = argv[++i];
		else if (!strcmp(argv[i], "--keep"))
			keep = true;
		else if (!strcmp(argv[i], "--uniform"))
			gp.uniform = true;
		else if (!strcmp(argv[i], "--generate-only"))
			generate_only = keep = true;
		else {
			fprintf(stderr,
			        "usage: %s [--events N] [--live L] [--threads N] [--file PATH] [--keep] "
			        "[--uniform] [--generate-only]\n",
			        argv[0]);
			return 2;
		}
	}
	double t0 = now();
	uint64_t written = 0;
	struct stat st;
	if (access(gp.path, R_OK) == 0 && keep) {
		printf("using existing %s\n", gp.path);
	} else if (gen_trace(&gp, &written) < 0) {
		return 1;
	}
	double t1 = now();
	if (stat(gp.path, &st) != 0) {
		perror(gp.path);
		return 1;
	}
	printf("generated: %llu events, %.1f MB (%.2f bytes/event) in %.1f s\n", (unsigned long long)written,
	       st.st_size / 1e6, written ? (double)st.st_size / (double)written : 0.0, t1 - t0);
	if (generate_only)
		return 0;

	long rss0 = rss_kb();
	rav_trace_error err;
	rav_trace *t = rav_trace_open(gp.path, &err);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	double t2 = now(), c2 = cpu();
	if (rav_trace_index(t, NULL, NULL, &err) < 0) {
		fprintf(stderr, "index: %s\n", err.message);
		return 1;
	}
	double t3 = now(), c3 = cpu();
	if (ravt_trace_replay_error(t, &err)) {
		fprintf(stderr, "replay error while indexing: %s\n", err.message);
		return 1;
	}
	uint64_t n = rav_trace_indexed_events(t);
	uint64_t kfs, kfb, spacing;
	ravt_trace_keyframe_stats(t, &kfs, &kfb, &spacing);
	long rss1 = rss_kb();
	printf("indexed: %llu events in %.2f s wall, %.2f s CPU (%.1f M events/s of CPU)\n",
	       (unsigned long long)n, t3 - t2, c3 - c2, (double)n / (c3 - c2) / 1e6);
	printf("keyframes: %llu, %.1f MB, target interval cost now %llu\n", (unsigned long long)kfs, kfb / 1e6,
	       (unsigned long long)spacing);
	printf("RSS after index: %.1f MB (file %.1f MB; RSS minus keyframes %.1f MB = %.2fx file)\n",
	       (rss1 - rss0) / 1e3, st.st_size / 1e6, ((rss1 - rss0) * 1e3 - (double)kfb) / 1e6,
	       ((rss1 - rss0) * 1e3 - (double)kfb) / (double)st.st_size);

	rav_state *s = rav_state_new(t);
	enum { SEEKS = 60 };
	double times[SEEKS], ctimes[SEEKS];
	uint64_t rng = 99;
	for (int i = 0; i < SEEKS; i++) {
		xorshift64(&rng);
		uint64_t at = n ? rng % (n + 1) : 0;
		double a = now(), ca = cpu();
		if (rav_state_seek(s, at, &err) < 0) {
			fprintf(stderr, "seek %llu: %s\n", (unsigned long long)at, err.message);
			return 1;
		}
		times[i] = now() - a;
		ctimes[i] = cpu() - ca;
	}
	qsort(times, SEEKS, sizeof times[0], cmp_d);
	qsort(ctimes, SEEKS, sizeof ctimes[0], cmp_d);
	double sum = 0;
	for (int i = 0; i < SEEKS; i++)
		sum += times[i];
	printf("seek (random, %d): wall median %.1f ms, mean %.1f ms, max %.1f ms; CPU median %.1f ms, max "
	       "%.1f ms\n",
	       SEEKS, times[SEEKS / 2] * 1e3, sum / SEEKS * 1e3, times[SEEKS - 1] * 1e3,
	       ctimes[SEEKS / 2] * 1e3, ctimes[SEEKS - 1] * 1e3);
	rav_state_totals tot;
	rav_state_get_totals(s, &tot);
	printf("state at %llu: %llu live cells, %llu pages\n", (unsigned long long)rav_state_position(s),
	       (unsigned long long)tot.live_cells, (unsigned long long)tot.pages);

	/* step speed: 1M events forward */
	rav_state_seek(s, n / 2, &err);
	double a = now(), sc = cpu();
	uint64_t steps = 0;
	rav_event ev;
	while (steps < 1000000 && rav_state_step(s, &ev, &err))
		steps++;
	double b = now();
	double sc2 = cpu();
	printf("step: %llu events in %.1f ms wall, %.1f ms CPU (%.1f M/s of CPU)\n",
	       (unsigned long long)steps, (b - a) * 1e3, (sc2 - sc) * 1e3, steps / (sc2 - sc) / 1e6);

	/* page types over every page in use (one GUI frame of the whole heap) */
	uint32_t span = rav_state_page_span(s);
	uint16_t types[65536 / 32];
	a = now();
	for (uint32_t p = 0; p < span; p++)
		rav_state_page_types(s, p, types);
	b = now();
	printf("page_types over %u pages: %.2f ms\n", span, (b - a) * 1e3);

	/* history of one cell */
	rav_cell_event hist[64];
	unsigned total = 0;
	a = now();
	unsigned got = rav_trace_cell_history(t, rav_loc_make(3, 5, 0), n / 2, hist, 64, &total);
	b = now();
	printf("cell history: %u of %u events in %.1f ms\n", got, total, (b - a) * 1e3);

	double series[4096];
	a = now();
	rav_trace_series(t, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 4096, series);
	rav_trace_series(t, RAV_SERIES_EVENTS, -1, 0, 0, 4096, series);
	b = now();
	printf("series (2 x 4096 bins): %.2f ms\n", (b - a) * 1e3);

	rav_contention_config cc = {.line_size = 64};
	a = now();
	double ca = cpu();
	rav_contention *c = rav_contention_run(t, &cc, NULL, NULL, &err);
	b = now();
	double cb = cpu();
	if (!c) {
		fprintf(stderr, "contention: %s\n", err.message);
		return 1;
	}
	rav_contention_totals ct;
	rav_contention_get_totals(c, &ct);
	printf("contention: %llu events in %.2f s wall, %.2f s CPU (%.1f M events/s of CPU), %llu accesses, "
	       "%llu transfers\n",
	       (unsigned long long)n, b - a, cb - ca, n / (cb - ca) / 1e6, (unsigned long long)ct.accesses,
	       (unsigned long long)ct.transfers);
	rav_contention_free(c);
	rav_state_free(s);
	rav_trace_close(t);
	if (!keep)
		unlink(gp.path);
	return 0;
}
