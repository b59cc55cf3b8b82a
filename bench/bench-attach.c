/* bench-attach.c - what live attach costs (issue #7).
 *
 * trace-attach runs the trace-record workload (bench-trace.c's tree build,
 * sharing stores and collection) in fresh processes:
 *   - listening off (RAVIOLI_LISTEN=0) against listening with nobody
 *     attached: the goal is no measurable difference (<= 1 %);
 *   - recording to a file against being attached by a client that writes
 *     the stream to a file (what `ravtrace attach -o` does, through the
 *     same library): the recording thread's CPU time added per event and
 *     the events per second that reach the client, with the events lost.
 * trace-attach-latency measures the time from an event in the program to
 * the client having it decoded and indexed: the program places a mark
 * holding its CLOCK_MONOTONIC time every millisecond while a second thread
 * churns its heap; the client reads the stream with rav_trace_open_fd and
 * rav_trace_poll (what a live viewer does) and compares each mark's time
 * with its own clock when the mark becomes visible.
 * Modes are interleaved run by run and the best of --repeat is kept, so a
 * noisy machine hurts both sides alike; ratios are what to look at.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rav-bench.h"
#include "rav-record.h"
#include "ravioli.h"
#include "ravtrace.h"

static const bench_workload trace_attach;

/* The fresh process: optionally record to a file (RAV_BENCH_TRACE) or wait
 * to be attached to (RAV_BENCH_WAIT_ATTACH), then the workload. */
static int attach_child(const bench_alloc *allocs, unsigned nallocs, int argc, char **argv)
{
	(void)allocs, (void)nallocs;
	if (argc != 3)
		return 2;
	const char *path = getenv("RAV_BENCH_TRACE");
	if (path && *path) {
		char err[256];
		if (rav_trace_start(path, false, err, sizeof err) != 0) {
			fprintf(stderr, "rav-bench trace-attach: %s\n", err);
			return 1;
		}
	}
	bench_record_node_type();
	rav_heap_self();
	if (getenv("RAV_BENCH_WAIT_ATTACH")) {
		/* the driver attaches; recording is on once it has */
		double t0 = bench_now();
		while (!rav_record_active() && bench_now() - t0 < 30)
			usleep(1000);
		if (!rav_record_active()) {
			fprintf(stderr, "rav-bench trace-attach: nobody attached within 30 s\n");
			return 1;
		}
	}
	bench_record_out o = {0, 0, 0};
	o.seconds = bench_record_workload(atoi(argv[0]), (unsigned)strtoul(argv[1], NULL, 10), strtoull(argv[2], NULL, 10),
	                     &o.operations, &o.cpu_seconds);
	return write(1, &o, sizeof o) == (ssize_t)sizeof o ? 0 : 1;
}

/* Run the child re-executed, attached to by this process: the stream goes
 * to `path` (as `ravtrace attach -o` writes it). */
static bool run_attached(char *const args[], const char *path, bench_record_out *o, rav_live_status *st)
{
	int res[2];
	if (pipe(res) != 0)
		return false;
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		close(res[0]);
		close(res[1]);
		return false;
	}
	self[n] = 0;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(res[1], 1);
		close(res[0]);
		setenv("RAV_BENCH_WAIT_ATTACH", "1", 1);
		unsetenv("RAVIOLI_LISTEN");
		char *argv[16] = {self, (char *)"--child", (char *)trace_attach.name};
		int k = 3;
		for (int i = 0; args[i] && k < 15; i++)
			argv[k++] = args[i];
		argv[k] = NULL;
		execv(self, argv);
		_exit(127);
	}
	close(res[1]);
	bool ok = false;
	int ofd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	rav_live_options lo = {0};
	rav_live_session *s = NULL;
	rav_trace_error err;
	for (double t0 = bench_now(); !s && bench_now() - t0 < 10;) {
		s = rav_live_attach(pid, &lo, &err);
		if (!s)
			usleep(5000);
	}
	if (s && ofd >= 0) {
		memset(st, 0, sizeof *st);
		while (!st->ended)
			if (rav_live_pump(s, 200, ofd, st, &err) < 0)
				break;
		ok = st->ended;
	} else {
		fprintf(stderr, "rav-bench trace-attach: %s\n",
		        s ? "cannot create the trace file" : err.message);
		kill(pid, SIGKILL);
	}
	rav_live_close(s);
	if (ofd >= 0)
		close(ofd);
	size_t got = 0;
	while (got < sizeof *o) {
		ssize_t r = read(res[0], (char *)o + got, sizeof *o - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(res[0]);
	int status;
	waitpid(pid, &status, 0);
	return ok && got == sizeof *o && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static bool events_in(const char *path, uint64_t *events)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	if (!t)
		return false;
	bool ok = rav_trace_index(t, NULL, NULL, &err) == 0;
	*events = rav_trace_indexed_events(t);
	rav_trace_close(t);
	return ok;
}

enum { M_OFF, M_IDLE, M_FILE, M_ATTACHED, NMODES };

static void run_attach(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	(void)allocs, (void)nallocs;
	int depth = p->quick ? 14 : 20;
	unsigned stores = p->quick ? 2000 : 200000;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char fpath[256], apath[256];
	snprintf(fpath, sizeof fpath, "%s/rav-bench-attach-file-%d.ravtrace", tmp, (int)getpid());
	snprintf(apath, sizeof apath, "%s/rav-bench-attach-live-%d.ravtrace", tmp, (int)getpid());
	char dbuf[16], sbuf[24], seedbuf[24];
	snprintf(dbuf, sizeof dbuf, "%d", depth);
	snprintf(sbuf, sizeof sbuf, "%u", stores);
	snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)p->seed);
	char *args[] = {dbuf, sbuf, seedbuf, NULL};
	snprintf(r->params, sizeof r->params, "\"tree_nodes\": %lu, \"sharing_stores\": %u",
	         (unsigned long)((1ul << depth) - 1), stores);
	r->metric_names[0] = "events";
	r->metric_names[1] = "ns_per_event"; /* recording thread CPU added per event (vs listening off) */
	r->metric_names[2] = "events_per_s"; /* events that reached the trace / workload wall time */
	r->metric_names[3] = "lost";

	double best[NMODES], best_cpu[NMODES];
	for (int m = 0; m < NMODES; m++)
		best[m] = best_cpu[m] = -1;
	rav_live_status last_st = {0};
	/* Interleaved: each round runs every mode once. */
	for (unsigned k = 0; k < p->repeat + p->warmup; k++) {
		for (int m = 0; m < NMODES; m++) {
			bench_record_out o;
			bool ok;
			unsetenv("RAV_BENCH_TRACE");
			if (m == M_OFF)
				setenv("RAVIOLI_LISTEN", "0", 1);
			else
				unsetenv("RAVIOLI_LISTEN");
			if (m == M_FILE)
				setenv("RAV_BENCH_TRACE", fpath, 1);
			if (m == M_ATTACHED) {
				rav_live_status st;
				ok = run_attached(args, apath, &o, &st);
				if (ok)
					last_st = st;
			} else {
				ok = bench_run_child(&trace_attach, args, &o, sizeof o);
			}
			unsetenv("RAV_BENCH_TRACE");
			unsetenv("RAVIOLI_LISTEN");
			if (!ok) {
				bench_result *res = bench_add(r, "failed", -1);
				snprintf(res->note, sizeof res->note, "mode %d: child process failed", m);
				unlink(fpath);
				unlink(apath);
				return;
			}
			if (k >= p->warmup && (best[m] < 0 || o.seconds < best[m]))
				best[m] = o.seconds;
			if (k >= p->warmup && (best_cpu[m] < 0 || o.cpu_seconds < best_cpu[m]))
				best_cpu[m] = o.cpu_seconds;
		}
	}
	bench_result *off = bench_add(r, "listening off", best[M_OFF]);
	snprintf(off->note, sizeof off->note, "RAVIOLI_LISTEN=0; workload CPU %.0f ms",
	         best_cpu[M_OFF] * 1e3);
	bench_result *idle = bench_add(r, "listening, idle", best[M_IDLE]);
	snprintf(idle->note, sizeof idle->note,
	         "nobody attached: %+.2f%% wall, %+.2f%% CPU against listening off",
	         (best[M_IDLE] / best[M_OFF] - 1) * 100, (best_cpu[M_IDLE] / best_cpu[M_OFF] - 1) * 100);
	uint64_t fev = 0, aev = 0;
	bool fok = events_in(fpath, &fev), aok = events_in(apath, &aev);
	unlink(fpath);
	unlink(apath);
	bench_result *file = bench_add(r, "recording to a file", best[M_FILE]);
	if (fok && fev) {
		file->metric[0] = (double)fev;
		file->metric[1] = (best_cpu[M_FILE] - best_cpu[M_OFF]) / (double)fev * 1e9;
		file->metric[2] = (double)fev / best[M_FILE];
		snprintf(file->note, sizeof file->note, "RAVIOLI_TRACE from the start");
	} else {
		snprintf(file->note, sizeof file->note, "trace unreadable");
	}
	bench_result *att = bench_add(r, "attached, streaming", best[M_ATTACHED]);
	if (aok && aev) {
		att->metric[0] = (double)aev;
		att->metric[1] = (best_cpu[M_ATTACHED] - best_cpu[M_OFF]) / (double)aev * 1e9;
		att->metric[2] = (double)aev / best[M_ATTACHED];
		att->metric[3] = (double)last_st.lost;
		snprintf(att->note, sizeof att->note,
		         "client writes the stream to a file; last run lost %llu events",
		         (unsigned long long)last_st.lost);
	} else {
		snprintf(att->note, sizeof att->note, "trace unreadable");
	}
}

static const bench_workload trace_attach = {
    .name = "trace-attach",
    .description = "live attach: idle listening vs off; streaming to a client vs recording to a file",
    .order = 62,
    .run = run_attach,
    .child = attach_child,
};
BENCH_WORKLOAD(trace_attach)

/* ---- latency ------------------------------------------------------------ */

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile int churn_stop;

static void *churn(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	uint64_t ops = 0;
	while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
		rav_ref top;
		rav_new_root(h, bench_record_node_type(), r, &top);
		bench_record_build(h, top, 0, 8, &ops);
		rav_root_clear(h, r);
		usleep(200);
	}
	rav_root_free(h, r);
	return NULL;
}

static const bench_workload trace_attach_latency;

static int latency_child(const bench_alloc *allocs, unsigned nallocs, int argc, char **argv)
{
	(void)allocs, (void)nallocs;
	if (argc != 1)
		return 2;
	double seconds = atof(argv[0]);
	bench_record_node_type();
	rav_heap_self();
	double t0 = bench_now();
	while (!rav_record_active() && bench_now() - t0 < 30)
		usleep(1000);
	pthread_t th;
	pthread_create(&th, NULL, churn, NULL);
	t0 = bench_now();
	char text[48];
	while (bench_now() - t0 < seconds) {
		snprintf(text, sizeof text, "t=%llu", (unsigned long long)mono_ns());
		rav_mark(text);
		usleep(1000);
	}
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	uint32_t done = 1;
	return write(1, &done, sizeof done) == (ssize_t)sizeof done ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void run_latency(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	(void)allocs, (void)nallocs;
	double seconds = p->quick ? 0.5 : 5;
	char sbuf[32];
	snprintf(sbuf, sizeof sbuf, "%g", seconds);
	snprintf(r->params, sizeof r->params, "\"seconds\": %g, \"mark_every_ms\": 1", seconds);
	r->metric_names[0] = "marks";
	r->metric_names[1] = "p50_ms";
	r->metric_names[2] = "p99_ms";
	r->metric_names[3] = "max_ms";
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	int res[2];
	if (n <= 0 || pipe(res) != 0) {
		bench_add(r, "failed", -1);
		return;
	}
	self[n] = 0;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(res[1], 1);
		close(res[0]);
		unsetenv("RAVIOLI_LISTEN");
		execl(self, self, "--child", trace_attach_latency.name, sbuf, (char *)NULL);
		_exit(127);
	}
	close(res[1]);
	rav_trace_error err;
	rav_live_options lo = {0};
	rav_live_session *s = NULL;
	for (double t0 = bench_now(); !s && bench_now() - t0 < 10;) {
		s = rav_live_attach(pid, &lo, &err);
		if (!s)
			usleep(5000);
	}
	size_t cap = 1 << 16, nl = 0;
	double *lat = malloc(cap * sizeof *lat);
	rav_trace *t = s ? rav_trace_open_fd(rav_live_fd(s), &err) : NULL;
	if (t && lat) {
		unsigned seen = 0;
		double started = bench_now();
		while (!rav_trace_stream_ended(t)) {
			struct pollfd pf = {rav_live_fd(s), POLLIN, 0};
			poll(&pf, 1, 20);
			if (rav_trace_poll(t, &err) < 0) {
				fprintf(stderr, "rav-bench trace-attach-latency: %s\n", err.message);
				break;
			}
			uint64_t now = mono_ns();
			unsigned nm = rav_trace_mark_count(t);
			for (; seen < nm; seen++) {
				rav_trace_mark mk;
				unsigned long long at;
				if (rav_trace_mark_at(t, seen, &mk) && sscanf(mk.text, "t=%llu", &at) == 1 &&
				    nl < cap && now >= at)
					lat[nl++] = (double)(now - at) * 1e-6;
			}
			/* Nothing at all for a minute: give up. */
			if (!seen && rav_trace_indexed_events(t) == 0 && bench_now() - started > 60)
				break;
		}
	} else {
		fprintf(stderr, "rav-bench trace-attach-latency: %s\n", err.message);
	}
	uint32_t done = 0;
	ssize_t got = read(res[0], &done, sizeof done);
	(void)got;
	close(res[0]);
	int status;
	if (!t)
		kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (t)
		rav_trace_close(t);
	rav_live_close(s);
	bench_result *row = bench_add(r, "event to decoded", -1);
	if (nl) {
		qsort(lat, nl, sizeof *lat, cmp_double);
		row->metric[0] = (double)nl;
		row->metric[1] = lat[nl / 2];
		row->metric[2] = lat[(size_t)((double)nl * 0.99)];
		row->metric[3] = lat[nl - 1];
		snprintf(
		    row->note, sizeof row->note,
		    "mark in the program -> visible after rav_trace_poll in the client (flush every 5 ms)");
	} else {
		snprintf(row->note, sizeof row->note, "no mark arrived");
	}
	free(lat);
}

static const bench_workload trace_attach_latency = {
    .name = "trace-attach-latency",
    .description = "live attach: time from an event in the program to the client having it decoded",
    .order = 63,
    .run = run_latency,
    .child = latency_child,
};
BENCH_WORKLOAD(trace_attach_latency)
