/* rav-bench.c - the rav-bench driver: options, allocators, timing, output.
 *
 * Compares libravioli with glibc malloc, jemalloc and mimalloc in one run.
 * jemalloc and mimalloc are loaded with dlopen(RTLD_LOCAL | RTLD_NOW) and
 * called through their own symbols, so they never replace the process's
 * malloc and every implementation runs in the same process on the same
 * machine state.  Debian's jemalloc uses initial-exec TLS, which a plain
 * dlopen cannot place; the driver then re-executes itself once with
 * GLIBC_TUNABLES=glibc.rtld.optional_static_tls raised.
 *
 * Workloads live in other files (bench-workloads.c, and whatever later
 * files register); see rav-bench.h.
 */
#include <dlfcn.h>
#include <sys/wait.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "ravioli.h"
#include "rav-bench.h"
#include "study.h"

#define MAX_WORKLOADS 32

static const bench_workload *registry[MAX_WORKLOADS];
static unsigned nregistered;

void bench_register(const bench_workload *w)
{
	if (nregistered < MAX_WORKLOADS)
		registry[nregistered++] = w;
}

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_best(const bench_params *p, double (*fn)(void *ctx), void *ctx)
{
	for (unsigned i = 0; i < p->warmup; i++)
		(void)fn(ctx);
	double best = -1;
	for (unsigned i = 0; i < p->repeat; i++) {
		double t = fn(ctx);
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

void bench_best_interleaved(const bench_params *p, unsigned n, double (*const fns[])(void *ctx), void *const ctxs[],
			    double best[])
{
	for (unsigned i = 0; i < n; i++)
		best[i] = -1;
	for (unsigned w = 0; w < p->warmup; w++)
		for (unsigned i = 0; i < n; i++)
			(void)fns[i](ctxs[i]);
	for (unsigned r = 0; r < p->repeat; r++)
		for (unsigned i = 0; i < n; i++) {
			double t = fns[i](ctxs[i]);
			if (best[i] < 0 || t < best[i])
				best[i] = t;
		}
}

bench_result *bench_add(bench_report *r, const char *impl, double seconds)
{
	if (r->n == BENCH_MAX_RESULTS)
		return &r->results[r->n - 1];
	bench_result *res = &r->results[r->n++];
	memset(res, 0, sizeof *res);
	snprintf(res->impl, sizeof res->impl, "%s", impl);
	res->seconds = seconds;
	return res;
}

uint64_t bench_resident_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

size_t bench_size(const bench_params *p, size_t full, size_t quick)
{
	double n = (double)(p->quick ? quick : full) * p->scale;
	return n < 16 ? 16 : (size_t)n;
}

bool bench_run_child(const bench_workload *w, char *const args[], void *out, size_t len)
{
	char *argv[16];
	int n = 0;
	argv[n++] = "rav-bench";
	argv[n++] = "--child";
	argv[n++] = (char *)w->name;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int fds[2];
	if (pipe(fds) != 0)
		return false;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fds[0], (char *)out + got, len - got);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		got += (size_t)r;
	}
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return got == len && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* ---- allocators ---- */

static bench_alloc allocs[3];
static unsigned nallocs;
static char alloc_notes[2][256];

static void *glibc_malloc(size_t n)
{
	return malloc(n);
}

static void glibc_free(void *p)
{
	free(p);
}

/* Returns false and fills note when the library cannot be used. */
static bool load_alloc(const char *lib, const char *name, const char *msym, const char *fsym, char *note,
		       size_t notelen, bool *tls_problem)
{
	void *h = dlopen(lib, RTLD_LOCAL | RTLD_NOW);
	if (!h) {
		const char *err = dlerror();
		snprintf(note, notelen, "%s not loaded: %s", lib, err ? err : "unknown error");
		if (err && strstr(err, "static TLS"))
			*tls_problem = true;
		return false;
	}
	void *m = dlsym(h, msym), *f = dlsym(h, fsym);
	if (!m || !f) {
		snprintf(note, notelen, "%s has no %s/%s", lib, msym, fsym);
		return false;
	}
	bench_alloc *a = &allocs[nallocs++];
	a->name = name;
	/* dlsym returns object pointers; POSIX guarantees the conversion. */
	memcpy(&a->malloc_fn, &m, sizeof m);
	memcpy(&a->free_fn, &f, sizeof f);
	return true;
}

static bool selected(const char *list, const char *name);

static void load_allocs(char **argv, const char *impls)
{
	if (selected(impls, "glibc"))
		allocs[nallocs++] = (bench_alloc){ "glibc", glibc_malloc, glibc_free };
	bool tls = false;
	bool je = !selected(impls, "jemalloc") ||
		  load_alloc("libjemalloc.so.2", "jemalloc", "malloc", "free", alloc_notes[0], sizeof alloc_notes[0],
			     &tls);
	if (!je && tls && !getenv("RAV_BENCH_REEXEC")) {
		/* Room for jemalloc's initial-exec TLS block: restart once with it. */
		const char *old = getenv("GLIBC_TUNABLES");
		char buf[512];
		snprintf(buf, sizeof buf, "%s%sglibc.rtld.optional_static_tls=16384", old ? old : "", old ? ":" : "");
		setenv("GLIBC_TUNABLES", buf, 1);
		setenv("RAV_BENCH_REEXEC", "1", 1);
		execv("/proc/self/exe", argv);
		snprintf(alloc_notes[0], sizeof alloc_notes[0], "re-executing for jemalloc failed: %s",
			 strerror(errno));
	}
	if (selected(impls, "mimalloc"))
		load_alloc("libmimalloc.so.2", "mimalloc", "mi_malloc", "mi_free", alloc_notes[1],
			   sizeof alloc_notes[1], &tls);
}

/* ---- machine ---- */

static char cpu_model[128] = "unknown";
static long cores;

static void describe_machine(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v++;
				while (*v == ' ')
					v++;
				v[strcspn(v, "\n")] = 0;
				snprintf(cpu_model, sizeof cpu_model, "%s", v);
			}
			break;
		}
	}
	if (f)
		fclose(f);
	cores = sysconf(_SC_NPROCESSORS_ONLN);
}

/* ---- output ---- */

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static const bench_result *find_impl(const bench_report *r, const char *impl)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->results[i].impl, impl) == 0)
			return &r->results[i];
	return NULL;
}

static double ratio_to_mimalloc(const bench_report *r, const bench_result *res)
{
	const bench_result *mi = find_impl(r, "mimalloc");
	if (!mi || mi->seconds <= 0 || res->seconds < 0)
		return -1;
	return res->seconds / mi->seconds;
}

static void print_json(const bench_workload *w, const bench_report *r, const bench_params *p)
{
	FILE *o = stdout;
	fprintf(o, "{\"workload\": ");
	json_string(o, w->name);
	fprintf(o, ", \"description\": ");
	json_string(o, w->description);
	fprintf(o, ", \"params\": {%s}, \"machine\": {\"cpu\": ", r->params);
	json_string(o, cpu_model);
	fprintf(o, ", \"cores\": %ld, \"page_size\": %d, \"debug_checks\": %s, \"tracing_compiled\": %s}", cores,
		RAV_PAGE_SIZE, RAV_DEBUG ? "true" : "false", RAV_TRACING ? "true" : "false");
	fprintf(o, ", \"method\": {\"repeat\": %u, \"warmup\": %u, \"statistic\": \"%s\", \"quick\": %s}",
		r->runs ? r->runs : p->repeat, p->warmup, r->statistic ? r->statistic : "best", p->quick ? "true" : "false");
	fprintf(o, ", \"results\": [");
	for (unsigned i = 0; i < r->n; i++) {
		const bench_result *res = &r->results[i];
		fprintf(o, "%s{\"impl\": ", i ? ", " : "");
		json_string(o, res->impl);
		if (res->seconds >= 0)
			fprintf(o, ", \"seconds\": %.6f", res->seconds);
		else
			fprintf(o, ", \"seconds\": null");
		double ratio = ratio_to_mimalloc(r, res);
		if (ratio >= 0)
			fprintf(o, ", \"ratio_to_mimalloc\": %.3f", ratio);
		else
			fprintf(o, ", \"ratio_to_mimalloc\": null");
		for (int m = 0; m < BENCH_MAX_METRICS && r->metric_names[m]; m++)
			fprintf(o, ", \"%s\": %.6g", r->metric_names[m], res->metric[m]);
		if (res->note[0]) {
			fprintf(o, ", \"note\": ");
			json_string(o, res->note);
		}
		fputc('}', o);
	}
	fprintf(o, "]}\n");
	fflush(o);
}

static void print_table(const bench_workload *w, const bench_report *r)
{
	printf("\n%s: %s\n  (%s)\n", w->name, w->description, r->params);
	printf("  %-17s %12s %10s", "impl", "time (ms)", "/mimalloc");
	for (int m = 0; m < BENCH_MAX_METRICS && r->metric_names[m]; m++)
		printf(" %16s", r->metric_names[m]);
	printf("\n");
	for (unsigned i = 0; i < r->n; i++) {
		const bench_result *res = &r->results[i];
		printf("  %-17s", res->impl);
		if (res->seconds >= 0)
			printf(" %12.2f", res->seconds * 1e3);
		else
			printf(" %12s", "-");
		double ratio = ratio_to_mimalloc(r, res);
		if (ratio >= 0)
			printf(" %9.2fx", ratio);
		else
			printf(" %10s", "-");
		for (int m = 0; m < BENCH_MAX_METRICS && r->metric_names[m]; m++)
			printf(" %16.6g", res->metric[m]);
		if (res->note[0])
			printf("  %s", res->note);
		printf("\n");
	}
	fflush(stdout);
}

/* ---- main ---- */

static void usage(FILE *to)
{
	fprintf(to, "usage: rav-bench [--json] [--quick] [--workloads NAME,...] [--impls NAME,...] [--repeat N]\n"
		    "                 [--warmup N] [--scale X] [--seed N] [--list]\n"
		    "Compares libravioli with glibc malloc, jemalloc and mimalloc on the same work.\n"
		    "  --json       one JSON object per workload on stdout (machine info inside each)\n"
		    "  --quick      tiny sizes, one run: a smoke test, not a measurement\n"
		    "  --workloads  comma-separated subset (see --list)\n"
		    "  --impls      comma-separated subset of ravioli,glibc,jemalloc,mimalloc (for profiling)\n"
		    "  --repeat N   timed runs per implementation, best kept (default 3); trace-record:\n"
		    "               8N pairs of runs, the median of their differences\n"
		    "  --warmup N   untimed runs first (default 1)\n"
		    "  --scale X    multiply every workload's size by X (default 1)\n"
		    "  --version    print the version and exit\n"
		    "       rav-bench --study [--quick] [--out DIR] ...   the measurements of docs/findings.md\n"
		    "                 (rav-bench --study --help)\n");
}

static int by_order(const void *a, const void *b)
{
	const bench_workload *x = *(const bench_workload *const *)a, *y = *(const bench_workload *const *)b;
	return x->order - y->order;
}

static bool selected(const char *list, const char *name)
{
	if (!list)
		return true;
	size_t n = strlen(name);
	for (const char *s = list; *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == n && strncmp(s, name, n) == 0)
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "--child") == 0) {
		/* A workload's fresh-process part; result bytes on stdout. */
		load_allocs(argv, NULL);
		for (unsigned i = 0; i < nregistered; i++)
			if (strcmp(registry[i]->name, argv[2]) == 0 && registry[i]->child)
				return registry[i]->child(allocs, nallocs, argc - 3, argv + 3);
		fprintf(stderr, "rav-bench: no child part for workload '%s'\n", argv[2]);
		return 2;
	}
	if (argc >= 2 && (strcmp(argv[1], "--study") == 0 || strcmp(argv[1], "--study-child") == 0)) {
		/* The findings study (study.c): its own options. */
		load_allocs(argv, NULL);
		return study_main(argc, argv, allocs, nallocs);
	}
	bench_params p = { .quick = false, .repeat = 3, .warmup = 1, .scale = 1.0, .seed = 12345, .ravioli = true };
	bool json = false, list = false;
	const char *only = NULL, *impls = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--quick") == 0) {
			p.quick = true;
		} else if (strcmp(a, "--list") == 0) {
			list = true;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("rav-bench %s\n", RAV_VERSION);
			return 0;
		} else if (v && strcmp(a, "--workloads") == 0) {
			only = v;
			i++;
		} else if (v && strcmp(a, "--impls") == 0) {
			impls = v;
			i++;
		} else if (v && strcmp(a, "--repeat") == 0) {
			p.repeat = (unsigned)strtoul(v, NULL, 10);
			i++;
		} else if (v && strcmp(a, "--warmup") == 0) {
			p.warmup = (unsigned)strtoul(v, NULL, 10);
			i++;
		} else if (v && strcmp(a, "--scale") == 0) {
			p.scale = strtod(v, NULL);
			i++;
		} else if (v && strcmp(a, "--seed") == 0) {
			p.seed = strtoull(v, NULL, 0);
			i++;
		} else {
			fprintf(stderr, "rav-bench: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (p.repeat == 0 || !(p.scale > 0)) {
		fprintf(stderr, "rav-bench: --repeat must be >= 1 and --scale > 0\n");
		return 2;
	}
	if (p.quick) {
		p.repeat = 1;
		p.warmup = 0;
	}
	qsort(registry, nregistered, sizeof registry[0], by_order);
	if (list) {
		for (unsigned i = 0; i < nregistered; i++)
			printf("%-14s %s\n", registry[i]->name, registry[i]->description);
		return 0;
	}
	if (only)
		for (const char *s = only; *s;) {
			const char *e = strchr(s, ',');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			bool known = false;
			for (unsigned i = 0; i < nregistered; i++)
				known |= strlen(registry[i]->name) == len && strncmp(registry[i]->name, s, len) == 0;
			if (!known) {
				fprintf(stderr, "rav-bench: no workload named '%.*s' (see --list)\n", (int)len, s);
				return 2;
			}
			if (!e)
				break;
			s = e + 1;
		}

	static const char *const known_impls[] = { "ravioli", "glibc", "jemalloc", "mimalloc" };
	for (const char *s = impls; s && *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		bool known = false;
		for (size_t k = 0; k < sizeof known_impls / sizeof known_impls[0]; k++)
			known |= strlen(known_impls[k]) == len && strncmp(known_impls[k], s, len) == 0;
		if (!known) {
			fprintf(stderr, "rav-bench: unknown implementation '%.*s' (ravioli, glibc, jemalloc, mimalloc)\n",
				(int)len, s);
			return 2;
		}
		s = e ? e + 1 : s + len;
	}
	p.ravioli = selected(impls, "ravioli");
	load_allocs(argv, impls);
	describe_machine();
	if (!json) {
		struct utsname u;
		uname(&u);
		printf("rav-bench: libravioli vs glibc malloc, jemalloc, mimalloc (same process, same run)\n");
		printf("machine: %s, %ld cores online, %s %s\n", cpu_model, cores, u.sysname, u.release);
		printf("engine: page size %d, debug checks %s, tracing hooks %s\n", RAV_PAGE_SIZE,
		       RAV_DEBUG ? "ON (slower: configure -Ddebug_checks=false to measure)" : "off",
		       RAV_TRACING ? "compiled in (recording off)" : "not compiled");
		printf("method: best of %u timed run(s) after %u warm-up run(s), CLOCK_MONOTONIC; setup and "
		       "teardown outside the timed part unless a workload says otherwise; resident memory from "
		       "/proc/self/statm in a fresh process per implementation%s\n",
		       p.repeat, p.warmup, p.quick ? "; QUICK MODE: sizes too small to mean anything" : "");
		printf("allocators:");
		for (unsigned i = 0; i < nallocs; i++)
			printf(" %s", allocs[i].name);
		printf("\n");
		for (int i = 0; i < 2; i++)
			if (alloc_notes[i][0])
				printf("note: %s\n", alloc_notes[i]);
	}
	for (unsigned i = 0; i < nregistered; i++) {
		const bench_workload *w = registry[i];
		if (!selected(only, w->name))
			continue;
		bench_report r;
		memset(&r, 0, sizeof r);
		w->run(&p, allocs, nallocs, &r);
		if (json)
			print_json(w, &r, &p);
		else
			print_table(w, &r);
	}
	return 0;
}
