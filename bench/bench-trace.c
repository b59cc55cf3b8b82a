/* bench-trace.c - what recording a trace costs (issue #3, item 3).
 *
 * The same engine workload runs in a fresh process twice: once with no
 * recorder (tracing compiled in, switched off: one predictable branch per
 * operation) and once recording to a file.  The
 * difference in the workload's time, divided by the number of events in
 * the resulting trace, is the cost added per event on the recording thread
 * (the background writer runs on the other core).  The trace's size divided
 * by its event count is the on-disk cost; the same ratio is reported over
 * the demo traces the build generates from samples/.
 *
 * The recording thread's cost is measured from many pairs of runs (8 per
 * --repeat; run_record says why): ns_per_event, the median over the pairs
 * of the workload thread's CPU time with recording minus without, per
 * event, with the quartiles, range and pair count beside it; and
 * parts_ns_per_event, the workload cut into parts at fixed points (the
 * same operations in every run of every mode: the workload is
 * deterministic), each part's median difference over the pairs, summed: a
 * preemption or a neighbour's burst spoils one part of one run instead of
 * a whole run.  What the writer thread costs is reported too
 * (writer_ns_per_event: the process's CPU time minus the workload
 * thread's, from the workload's start until the writer has written the
 * last buffer, the median of the pairs' differences, where without
 * recording the engine's page purge thread is all of it): on a machine
 * with few cores that is CPU the recorded program pays as well.
 * tools/record-cost.sh counts the instructions recording adds per event
 * (callgrind), the figure that does not move with the machine's load.
 *
 * The workload mixes what programs do: a depth-first tree build, reference
 * stores that share nodes (reference ravioli) and drop subtrees (frees,
 * moves, fix-ups), a collection for the cycles that creates, and teardown.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rav-bench.h"
#include "ravioli.h"
#include "ravtrace.h"

/* The build tree's samples/ when this rav-bench runs from the build tree,
 * else the installed demos: an installed copy never reads a build tree. */
static const char *demo_traces_dir(void)
{
	char exe[4096], root[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0 && realpath(RAV_BUILD_ROOT, root)) {
		exe[n] = '\0';
		size_t len = strlen(root);
		if (strncmp(exe, root, len) == 0 && exe[len] == '/')
			return RAV_SAMPLES_DIR;
	}
	return RAV_DEMO_INSTALL_DIR;
}

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static rav_type NODE;

/* Where the workload is cut for parts_ns_per_event: the thread CPU time at
 * each cut (bench_record_workload fills it when chunk_cpu is set). */
#define CHUNKS_MAX 64
#define TREE_SPLIT 3    /* the tree build: a part per subtree 3 levels below the root's children (16) */
#define STORE_CHUNKS 40 /* the sharing stores: 40 parts */
static double *chunk_cpu;
static unsigned chunk_n;

static void chunk_cut(void)
{
	if (chunk_cpu && chunk_n < CHUNKS_MAX)
		chunk_cpu[chunk_n++] = thread_cpu();
}

rav_type bench_record_node_type(void)
{
	if (!NODE)
		NODE = rav_type_register("bench.node", RAV_REF, RAV_REF);
	return NODE;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

void bench_record_build(rav_heap *h, rav_ref parent, int field, int depth, uint64_t *ops)
{
	if (depth == 0)
		return;
	rav_ref n;
	if (rav_new_field(h, NODE, parent, field, &n) != RAV_OK) {
		fprintf(stderr, "rav-bench: the tree workload's allocation failed: %s\n", rav_last_error());
		exit(1);
	}
	(*ops)++;
	/* Allocation never moves cells: n stays valid through the recursion. */
	bench_record_build(h, n, 0, depth - 1, ops);
	bench_record_build(h, n, 1, depth - 1, ops);
}

/* bench_record_build with a cut after each subtree `split` levels below:
 * the same allocations in the same order. */
static void build_cut(rav_heap *h, rav_ref parent, int field, int depth, int split, uint64_t *ops)
{
	if (split == 0 || depth <= 1) {
		bench_record_build(h, parent, field, depth, ops);
		chunk_cut();
		return;
	}
	rav_ref n;
	if (rav_new_field(h, NODE, parent, field, &n) != RAV_OK) {
		fprintf(stderr, "rav-bench: the tree workload's allocation failed: %s\n", rav_last_error());
		exit(1);
	}
	(*ops)++;
	build_cut(h, n, 0, depth - 1, split - 1, ops);
	build_cut(h, n, 1, depth - 1, split - 1, ops);
}

/* A node on a random path of at most `depth` hops from the root. */
static rav_ref walk(rav_heap *h, rav_root root, int depth, uint64_t *rng)
{
	rav_ref cur = rav_root_get(h, root);
	for (int d = 0; d < depth; d++) {
		rav_ref next = rav_load_ref(h, cur, (int)(xorshift(rng) & 1));
		if (rav_ref_is_null(next))
			break;
		cur = next;
	}
	return cur;
}

double bench_record_workload(int depth, unsigned stores, uint64_t seed, uint64_t *ops, double *cpu)
{
	double c0 = thread_cpu();
	rav_heap *h = rav_heap_self();
	rav_root root = rav_root_new(h);
	uint64_t rng = seed | 1;
	double t0 = bench_now();
	rav_ref top;
	rav_new_root(h, NODE, root, &top);
	if (chunk_cpu) {
		chunk_n = 0;
		chunk_cut();
		build_cut(h, top, 0, depth - 1, TREE_SPLIT, ops);
		build_cut(h, top, 1, depth - 1, TREE_SPLIT, ops);
	} else {
		bench_record_build(h, top, 0, depth - 1, ops);
		bench_record_build(h, top, 1, depth - 1, ops);
	}
	unsigned per_chunk = stores / STORE_CHUNKS ? stores / STORE_CHUNKS : 1;
	for (unsigned i = 0; i < stores; i++) {
		if (i && i % per_chunk == 0)
			chunk_cut();
		/* Every store may free, so both borrows are taken afresh. */
		rav_ref target = walk(h, root, depth, &rng);
		rav_root keep = rav_root_new(h);
		rav_root_set(h, keep, target);
		rav_ref at = walk(h, root, depth - 3, &rng);
		rav_store_ref(h, at, (int)(xorshift(&rng) & 1), rav_root_get(h, keep));
		rav_root_free(h, keep);
		(*ops) += 4;
	}
	chunk_cut();
	*ops += rav_collect(h);
	rav_root_free(h, root);
	chunk_cut();
	*cpu = thread_cpu() - c0;
	return bench_now() - t0;
}

static const bench_workload trace_record;

/* What a child reports: the workload's figures, then what the kernel
 * counted for the workload's thread during it (RUSAGE_THREAD): minor page
 * faults (fresh buffer memory the recording thread touches would show
 * here) and context switches, voluntary (waiting for the writer to free a
 * buffer) and involuntary (preempted: on a loaded machine, each switch can
 * cost the thread its caches). */
typedef struct record_child_out {
	bench_record_out w;
	uint64_t faults, vcsw, ivcsw;
	double writer_cpu; /* the process's CPU time but the workload thread's (the writer, the purge thread) */
	unsigned chunks;   /* cuts in chunk[]: chunks - 1 parts */
	double chunk[CHUNKS_MAX];
} record_child_out;

static double process_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int record_child(const bench_alloc *allocs, unsigned nallocs, int argc, char **argv)
{
	(void)allocs, (void)nallocs;
	if (argc != 3)
		return 2;
	/* The driver may re-execute itself (jemalloc's TLS), and the recorder's
	 * constructor clears RAVIOLI_TRACE for child processes, so the child is
	 * told through its own variable and starts recording explicitly, before
	 * its first heap exists. */
	const char *path = getenv("RAV_BENCH_TRACE");
	if (path && *path) {
		char err[256];
		if (rav_trace_start(path, false, err, sizeof err) != 0) {
			fprintf(stderr, "rav-bench trace-record: %s\n", err);
			return 1;
		}
	}
	bench_record_node_type();
	record_child_out o;
	memset(&o, 0, sizeof o);
	struct rusage r0, r1;
	getrusage(RUSAGE_THREAD, &r0);
	double p0 = process_cpu(), t0 = thread_cpu();
	chunk_cpu = o.chunk;
	o.w.seconds = bench_record_workload(atoi(argv[0]), (unsigned)strtoul(argv[1], NULL, 10),
					    strtoull(argv[2], NULL, 10), &o.w.operations, &o.w.cpu_seconds);
	o.chunks = chunk_n;
	chunk_cpu = NULL;
	getrusage(RUSAGE_THREAD, &r1);
	o.faults = (uint64_t)(r1.ru_minflt - r0.ru_minflt);
	o.vcsw = (uint64_t)(r1.ru_nvcsw - r0.ru_nvcsw);
	o.ivcsw = (uint64_t)(r1.ru_nivcsw - r0.ru_nivcsw);
	/* The writer's part: everything the process spent but this thread,
	 * until the writer has encoded and written the last buffer (it joins
	 * the writer thread, whose time stays in the process's). */
	if (path && *path)
		rav_trace_stop();
	o.writer_cpu = (process_cpu() - p0) - (thread_cpu() - t0);
	return write(1, &o, sizeof o) == (ssize_t)sizeof o ? 0 : 1;
}

/* Events and bytes of a trace file; false if it cannot be read. */
static bool trace_size(const char *path, uint64_t *events, uint64_t *bytes, char *why, size_t whylen)
{
	rav_trace_error err; /* its message is at most 511 bytes; the caller's note is shorter */
	rav_trace *t = rav_trace_open(path, &err);
	if (!t) {
		snprintf(why, whylen, "%.150s", err.message);
		return false;
	}
	if (rav_trace_index(t, NULL, NULL, &err) < 0) {
		snprintf(why, whylen, "%.150s", err.message);
		rav_trace_close(t);
		return false;
	}
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	*events = rav_trace_indexed_events(t);
	*bytes = info.file_size;
	rav_trace_close(t);
	return true;
}

/* The q-quantile of n values (sorted in place), interpolated between the
 * two nearest ranks: q 0.5 is the median, 0.25 and 0.75 the quartiles. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double quantile(double *v, unsigned n, double q)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	double pos = q * (double)(n - 1);
	unsigned i = (unsigned)pos;
	return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[i];
}

/* The modes every pair runs, in fresh processes (see run_record). */
enum { MODE_OFF, MODE_ON, MODE_NOSITES, MODE_STACK, MODES };

/* Metrics of the trace-record rows (their names in run_record). */
enum {
	M_EVENTS,
	M_NS,      /* the median over the pairs of (mode - base) thread CPU per event */
	M_NS_Q1,   /* its quartiles, */
	M_NS_Q3,
	M_NS_MIN,  /* and range */
	M_NS_MAX,
	M_PAIRS,
	M_PARTS,   /* each part's median difference over the pairs, summed */
	M_WRITER,  /* the median of the other threads' CPU differences */
	M_WALL,    /* the median of the workload's wall time differences */
	M_BYTES,
	M_FAULTS,  /* the mean of the recording thread's minor fault differences */
};

/* Fill res's time metrics from the pairs' differences of `mode` minus
 * `base` (runs[k * MODES + mode]: pair k's run of that mode), over
 * `events` events.  d is scratch for `pairs` values. */
static void pair_diffs(bench_result *res, const record_child_out *runs, unsigned pairs, int mode, int base,
		       uint64_t events, unsigned nparts, double *d)
{
	const double per = 1e9 / (double)events;
	for (unsigned k = 0; k < pairs; k++)
		d[k] = (runs[k * MODES + mode].w.cpu_seconds - runs[k * MODES + base].w.cpu_seconds) * per;
	res->metric[M_NS] = quantile(d, pairs, 0.5);
	res->metric[M_NS_Q1] = quantile(d, pairs, 0.25);
	res->metric[M_NS_Q3] = quantile(d, pairs, 0.75);
	res->metric[M_NS_MIN] = d[0];
	res->metric[M_NS_MAX] = d[pairs - 1];
	res->metric[M_PAIRS] = pairs;
	double sum = 0;
	for (unsigned j = 0; j < nparts; j++) {
		for (unsigned k = 0; k < pairs; k++) {
			const record_child_out *a = &runs[k * MODES + mode], *b = &runs[k * MODES + base];
			d[k] = (a->chunk[j + 1] - a->chunk[j]) - (b->chunk[j + 1] - b->chunk[j]);
		}
		sum += quantile(d, pairs, 0.5);
	}
	res->metric[M_PARTS] = nparts ? sum * per : -1;
	for (unsigned k = 0; k < pairs; k++)
		d[k] = (runs[k * MODES + mode].writer_cpu - runs[k * MODES + base].writer_cpu) * per;
	res->metric[M_WRITER] = quantile(d, pairs, 0.5);
	for (unsigned k = 0; k < pairs; k++)
		d[k] = (runs[k * MODES + mode].w.seconds - runs[k * MODES + base].w.seconds) * per;
	res->metric[M_WALL] = quantile(d, pairs, 0.5);
	double faults = 0;
	for (unsigned k = 0; k < pairs; k++)
		faults += (double)runs[k * MODES + mode].faults - (double)runs[k * MODES + base].faults;
	res->metric[M_FAULTS] = faults / pairs / (double)events;
}

/* A mode's median wall time, and its mean context switches per run. */
static double mode_wall(const record_child_out *runs, unsigned pairs, int mode, double *d, double *vcsw, double *ivcsw)
{
	*vcsw = *ivcsw = 0;
	for (unsigned k = 0; k < pairs; k++) {
		d[k] = runs[k * MODES + mode].w.seconds;
		*vcsw += (double)runs[k * MODES + mode].vcsw / pairs;
		*ivcsw += (double)runs[k * MODES + mode].ivcsw / pairs;
	}
	return quantile(d, pairs, 0.5);
}

/* The recording thread's cost is a small difference between two runs of
 * several hundred milliseconds, on a machine whose other load moves a run
 * by more than that difference.  So the modes run as many pairs (8 per
 * --repeat), each pair's runs back to back in fresh processes, in the
 * order off, on, no sites (backtraces) and reversed in every other pair
 * (a drift of the machine's speed over a pair cancels), and the figure is
 * the median of the pairs' differences of the workload thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID: time the thread waits or is preempted is not
 * in it), with its quartiles, range and the pair count, so a reader sees
 * how far to trust it. */
static void run_record(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	(void)allocs, (void)nallocs;
	int depth = p->quick ? 14 : 20;
	if (p->scale > 0 && p->scale < 1 && !p->quick)
		depth = 16;
	unsigned stores = p->quick ? 2000 : 200000;
	char path[256];
	snprintf(path, sizeof path, "%s/rav-bench-record-%d.ravtrace", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (int)getpid());
	char dbuf[16], sbuf[24], seedbuf[24];
	snprintf(dbuf, sizeof dbuf, "%d", depth);
	snprintf(sbuf, sizeof sbuf, "%u", stores);
	snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)p->seed);
	char *args[] = { dbuf, sbuf, seedbuf, NULL };
	snprintf(r->params, sizeof r->params, "\"tree_nodes\": %lu, \"sharing_stores\": %u",
		 (unsigned long)((1ul << depth) - 1), stores);
	r->metric_names[M_EVENTS] = "events";
	r->metric_names[M_NS] = "ns_per_event"; /* recording thread CPU added per event: median of the pairs */
	r->metric_names[M_NS_Q1] = "ns_q1";
	r->metric_names[M_NS_Q3] = "ns_q3";
	r->metric_names[M_NS_MIN] = "ns_min";
	r->metric_names[M_NS_MAX] = "ns_max";
	r->metric_names[M_PAIRS] = "pairs";
	r->metric_names[M_PARTS] = "parts_ns_per_event"; /* the same from the parts' medians (top of file) */
	r->metric_names[M_WRITER] = "writer_ns_per_event"; /* the other threads' CPU time added per event */
	r->metric_names[M_WALL] = "wall_ns_per_event";     /* includes waiting for the writer */
	r->metric_names[M_BYTES] = "bytes_per_event";
	r->metric_names[M_FAULTS] = "faults_per_event"; /* recording thread's minor page faults added per event */
	r->statistic = "median of paired differences";

	/* Four modes, interleaved run by run (timings on a shared machine
	 * drift): tracing off, recording with call sites (the default),
	 * recording without them (RAVIOLI_TRACE_SITES=0), whose difference is
	 * what call sites cost, and with backtraces (RAVIOLI_TRACE_STACK=8, in
	 * the first --repeat pairs only). */
	char path_ns[280], path_st[280];
	snprintf(path_ns, sizeof path_ns, "%s.nosites", path);
	snprintf(path_st, sizeof path_st, "%s.stack", path);
	const unsigned pairs = 8 * p->repeat;
	/* backtraces: a run of them takes ~6x as long, and the figure is ~30x
	 * larger than the noise: the first --repeat pairs only */
	const unsigned stack_pairs = p->repeat;
	r->runs = pairs;
	record_child_out *runs = calloc((size_t)pairs * MODES, sizeof *runs);
	double *d = calloc(pairs, sizeof *d);
	if (!runs || !d) {
		free(runs);
		free(d);
		bench_result *res = bench_add(r, "recording", -1);
		snprintf(res->note, sizeof res->note, "out of memory for %u pairs", pairs);
		return;
	}
	unsigned parts = 0;
	bool parts_ok = true;
	const bool verbose = getenv("RAV_BENCH_VERBOSE") && *getenv("RAV_BENCH_VERBOSE") == '1';
	for (unsigned k = 0; k < pairs + p->warmup; k++) {
		for (int i = 0; i < MODES; i++) {
			const int mode = k % 2 ? MODES - 1 - i : i;
			if (mode == MODE_STACK && k >= p->warmup + stack_pairs)
				continue;
			if (mode)
				setenv("RAV_BENCH_TRACE", mode == MODE_ON ? path : mode == MODE_NOSITES ? path_ns : path_st, 1);
			else
				unsetenv("RAV_BENCH_TRACE");
			if (mode == MODE_NOSITES)
				setenv("RAVIOLI_TRACE_SITES", "0", 1);
			if (mode == MODE_STACK)
				setenv("RAVIOLI_TRACE_STACK", "8", 1);
			record_child_out out;
			bool ok = bench_run_child(&trace_record, args, &out, sizeof out);
			unsetenv("RAV_BENCH_TRACE");
			unsetenv("RAVIOLI_TRACE_SITES");
			unsetenv("RAVIOLI_TRACE_STACK");
			if (!ok) {
				bench_result *res = bench_add(r, mode ? "recording" : "tracing off", -1);
				snprintf(res->note, sizeof res->note, "child process failed");
				unlink(path);
				unlink(path_ns);
				unlink(path_st);
				free(runs);
				free(d);
				return;
			}
			if (k < p->warmup)
				continue;
			unsigned np = out.chunks > 1 ? out.chunks - 1 : 0;
			if (k == p->warmup && i == 0)
				parts = np;
			else if (np != parts)
				parts_ok = false; /* (the workload is deterministic: never) */
			runs[(k - p->warmup) * MODES + mode] = out;
			if (verbose) /* one line a run, for a look at the spread (tools/, HACKING.md) */
				fprintf(stderr, "trace-record run: pair %u mode %d cpu %.6f wall %.6f writer %.6f ivcsw %llu vcsw %llu\n",
					k - p->warmup, mode, out.w.cpu_seconds, out.w.seconds, out.writer_cpu,
					(unsigned long long)out.ivcsw, (unsigned long long)out.vcsw);
		}
	}
	const unsigned nparts = parts_ok ? parts : 0;
	double vcsw, ivcsw;
	bench_result *off = bench_add(r, "tracing off", mode_wall(runs, pairs, MODE_OFF, d, &vcsw, &ivcsw));
	snprintf(off->note, sizeof off->note,
		 "tracing compiled in, no recorder; median of %u runs; switches %.0f voluntary + %.0f involuntary", pairs,
		 vcsw, ivcsw);
	uint64_t events = 0, bytes = 0, events_ns = 0, bytes_ns = 0, events_st = 0, bytes_st = 0;
	char why[160] = "";
	bool ok = trace_size(path, &events, &bytes, why, sizeof why);
	bool ok_ns = trace_size(path_ns, &events_ns, &bytes_ns, why, sizeof why);
	bool ok_st = trace_size(path_st, &events_st, &bytes_st, why, sizeof why);
	unlink(path);
	unlink(path_ns);
	unlink(path_st);
	bench_result *on = bench_add(r, "recording", mode_wall(runs, pairs, MODE_ON, d, &vcsw, &ivcsw));
	if (!ok || !ok_ns || !ok_st || events == 0 || events_ns == 0 || events_st == 0) {
		snprintf(on->note, sizeof on->note, "trace unreadable: %.140s", why);
		free(runs);
		free(d);
		return;
	}
	on->metric[M_EVENTS] = (double)events;
	on->metric[M_BYTES] = (double)bytes / (double)events;
	pair_diffs(on, runs, pairs, MODE_ON, MODE_OFF, events, nparts, d);
	snprintf(on->note, sizeof on->note,
		 "ns/event: recording thread CPU added, median of %u pairs (IQR %.2f..%.2f); sites on; "
		 "switches %.0f vol + %.0f inv",
		 pairs, on->metric[M_NS_Q1], on->metric[M_NS_Q3], vcsw, ivcsw);
	bench_result *nos = bench_add(r, "recording, no call sites", mode_wall(runs, pairs, MODE_NOSITES, d, &vcsw, &ivcsw));
	nos->metric[M_EVENTS] = (double)events_ns;
	nos->metric[M_BYTES] = (double)bytes_ns / (double)events_ns;
	pair_diffs(nos, runs, pairs, MODE_NOSITES, MODE_OFF, events_ns, nparts, d);
	snprintf(nos->note, sizeof nos->note, "RAVIOLI_TRACE_SITES=0");
	bench_result *cs = bench_add(r, "call sites", -1);
	cs->metric[M_EVENTS] = (double)events;
	pair_diffs(cs, runs, pairs, MODE_ON, MODE_NOSITES, events, nparts, d);
	cs->metric[M_BYTES] = on->metric[M_BYTES] - nos->metric[M_BYTES];
	snprintf(cs->note, sizeof cs->note,
		 "what call sites add: the pairs' recording - recording without them (goal 1 ns, 0.3 B)");
	bench_result *st =
		bench_add(r, "recording, backtraces", mode_wall(runs, stack_pairs, MODE_STACK, d, &vcsw, &ivcsw));
	st->metric[M_EVENTS] = (double)events_st;
	st->metric[M_BYTES] = (double)bytes_st / (double)events_st;
	pair_diffs(st, runs, stack_pairs, MODE_STACK, MODE_OFF, events_st, nparts, d);
	snprintf(st->note, sizeof st->note, "RAVIOLI_TRACE_STACK=8: a backtrace per engine call");
	free(runs);
	free(d);

	/* On-disk cost over the demo traces the build made from samples/ (or
	 * their installed copies, for an installed rav-bench). */
	const char *demo_dir = demo_traces_dir();
	DIR *dir = opendir(demo_dir);
	uint64_t sev = 0, sbytes = 0;
	unsigned nfiles = 0;
	struct dirent *e;
	while (dir && (e = readdir(dir)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len < 10 || strcmp(e->d_name + len - 9, ".ravtrace") != 0)
			continue;
		char fp[512];
		snprintf(fp, sizeof fp, "%s/%s", demo_dir, e->d_name);
		uint64_t ev, by;
		if (trace_size(fp, &ev, &by, why, sizeof why)) {
			sev += ev;
			sbytes += by;
			nfiles++;
		}
	}
	if (dir)
		closedir(dir);
	bench_result *demo = bench_add(r, "demo traces", -1);
	if (nfiles && sev) {
		demo->metric[M_EVENTS] = (double)sev;
		demo->metric[M_BYTES] = (double)sbytes / (double)sev;
		snprintf(demo->note, sizeof demo->note, "bytes/event over %u demo traces in %s", nfiles, demo_dir);
	} else {
		snprintf(demo->note, sizeof demo->note, "no demo traces found in %s", demo_dir);
	}
}

static const bench_workload trace_record = {
	.name = "trace-record",
	.description = "recording cost: ns added per event on the recording thread, bytes per event on disk",
	.order = 60,
	.run = run_record,
	.child = record_child,
};
BENCH_WORKLOAD(trace_record)
