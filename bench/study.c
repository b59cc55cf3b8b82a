/* study.c - the driver of `rav-bench --study` (see study.h).
 *
 * One command measures the five questions of docs/findings.md and writes
 * everything the page shows: OUT/qN.md (tables), OUT/qN-*.svg (plots),
 * OUT/traces/NAME.ravtrace (small traces to open in ravscope), OUT/machine.md,
 * then replaces the generated blocks of the findings page.  Run from a
 * build tree, OUT defaults to the source tree's docs/study and the page to
 * docs/findings.md; --quick (CI) never writes into the source tree unless
 * told to with --out/--findings, because its figures are meaningless.
 *
 * Children (traces, other page-size builds) are started with
 * `--study-child ID ARGS...`; see study_spawn.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ravioli.h"
#include "study.h"

extern char **environ;

static const study_def *const studies[] = {&study_q1, &study_q2, &study_q3, &study_q4, &study_q5};
enum { NSTUDIES = sizeof studies / sizeof studies[0] };

bool study_fail(study_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(c->log, "rav-bench --study: ");
	vfprintf(c->log, fmt, ap);
	fprintf(c->log, "\n");
	va_end(ap);
	return false;
}

void study_log(study_ctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(c->log, "  ");
	vfprintf(c->log, fmt, ap);
	fprintf(c->log, "\n");
	fflush(c->log);
	va_end(ap);
}

char *study_path(const study_ctx *c, const char *dir, const char *name)
{
	(void)c;
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (!p) {
		fprintf(stderr, "rav-bench --study: out of memory\n");
		exit(1);
	}
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

FILE *study_open(study_ctx *c, const char *name)
{
	char *path = study_path(c, c->out_dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		study_fail(c, "cannot write %s: %s", path, strerror(errno));
	free(path);
	/* A study's table says which run it comes from (--only re-runs some). */
	size_t n = strlen(name);
	if (f && n == 5 && name[0] == 'q' && strcmp(name + 2, ".md") == 0)
		fprintf(f, "*This table: run of %s.*\n\n", c->stamp);
	return f;
}

bool study_close(study_ctx *c, FILE *f, const char *name)
{
	bool ok = !ferror(f);
	if (fclose(f) != 0)
		ok = false;
	if (!ok)
		return study_fail(c, "writing %s/%s failed: %s", c->out_dir, name, strerror(errno));
	return true;
}

double study_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double study_clock_cost(void)
{
	static double cost = -1;
	if (cost < 0) {
		enum { N = 2001 };
		static double d[N];
		for (int i = 0; i < N; i++) {
			double a = study_now(), b = study_now();
			d[i] = b - a;
		}
		qsort(d, N, sizeof d[0], cmp_dbl);
		cost = d[N / 2];
	}
	return cost;
}

double study_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *study_int(char *buf, size_t len, uint64_t n)
{
	char tmp[32];
	int d = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)n);
	size_t o = 0;
	for (int i = 0; i < d && o + 1 < len; i++) {
		if (i && (d - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

int study_child_reply(const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		ssize_t w = write(1, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

bool study_spawn(study_ctx *c, const char *exe, const char *id, char *const args[], char *const env[],
                 void *out, size_t len)
{
	char *argv[24];
	int n = 0;
	argv[n++] = (char *)exe;
	argv[n++] = "--study-child";
	argv[n++] = (char *)id;
	for (int i = 0; args && args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	/* The environment, plus env[], minus any recording a parent was asked
	 * for (only the children the study means to record record). */
	size_t ne = 0, extra = 0;
	while (environ[ne])
		ne++;
	while (env && env[extra])
		extra++;
	char **envp = calloc(ne + extra + 2, sizeof *envp);
	if (!envp)
		return study_fail(c, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < ne; i++)
		if (strncmp(environ[i], "RAVIOLI_TRACE", 13) != 0 &&
		    strncmp(environ[i], "RAVIOLI_LISTEN=", 15) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; i < extra; i++)
		envp[k++] = env[i];
	envp[k++] = "RAVIOLI_LISTEN=0"; /* a study child is never attached to */
	envp[k] = NULL;
	int fds[2];
	if (pipe(fds) != 0) {
		free(envp);
		return study_fail(c, "pipe: %s", strerror(errno));
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		free(envp);
		close(fds[0]);
		close(fds[1]);
		return study_fail(c, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execve(exe, argv, envp);
		fprintf(stderr, "rav-bench --study: cannot run %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	free(envp);
	close(fds[1]);
	size_t got = 0;
	char *dst = out;
	for (;;) {
		char buf[4096];
		ssize_t r = read(fds[0], got < len ? dst + got : buf, got < len ? len - got : sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (got < len)
			got += (size_t)r;
		else
			got = len + 1; /* said more than its result: a different child */
	}
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return study_fail(c, "%s --study-child %s failed (%s %d)", exe, id,
		                  WIFEXITED(status) ? "exit status" : "signal",
		                  WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	if (got != len)
		return study_fail(
		    c,
		    "%s --study-child %s answered %zu bytes, expected %zu (a rav-bench of another "
		    "version?)",
		    exe, id, got, len);
	return true;
}

/* ---- machine ---- */

static void describe(study_ctx *c, const char *argv0_dir)
{
	(void)argv0_dir;
	char cpu[128] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v += 1 + strspn(v + 1, " ");
				v[strcspn(v, "\n")] = 0;
				snprintf(cpu, sizeof cpu, "%s", v);
			}
			break;
		}
	if (f)
		fclose(f);
	double load[3] = {-1, -1, -1};
	if (getloadavg(load, 3) < 0)
		load[0] = -1;
	struct utsname u;
	uname(&u);
	char os[128] = "Linux";
	f = fopen("/etc/os-release", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *v = line + 12 + (line[12] == '"');
			v[strcspn(v, "\"\n")] = 0;
			snprintf(os, sizeof os, "%s", v);
		}
	if (f)
		fclose(f);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	char date[32];
	strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", &tm);
	/* A very long CPU or OS name is cut, and the cut shown. */
	int n = snprintf(
	    c->machine, sizeof c->machine,
	    "%s; %s, %ld cores online, %s, Linux %s; load average %.2f at start; engine built with page size "
	    "%d, debug checks %s, tracing hooks %s; best of %u interleaved runs",
	    date, cpu, sysconf(_SC_NPROCESSORS_ONLN), os, u.release, load[0], RAV_PAGE_SIZE,
	    RAV_DEBUG ? "ON (slower)" : "off",
	    RAV_TRACING ? "compiled in (off unless recording)" : "not compiled", c->repeat);
	if (n < 0 || (size_t)n >= sizeof c->machine)
		memcpy(c->machine + sizeof c->machine - 4, "...", 4);
	snprintf(c->stamp, sizeof c->stamp, "%s, load average %.2f at start%s", date, load[0],
	         c->quick ? ", QUICK mode" : "");
}

/* ---- findings page: replace the generated blocks ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap + 1);
	for (size_t r; b && (r = fread(b + n, 1, cap - n, f)) > 0;) {
		n += r;
		if (n == cap) {
			char *nb = realloc(b, 2 * cap + 1);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
			cap *= 2;
		}
	}
	bool err = ferror(f);
	fclose(f);
	if (!b || err) {
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/* In page text, replace what lies between "<!-- study:ID -->\n" and
 * "<!-- /study:ID -->" with body.  Returns the new text (malloc'd) or NULL
 * when the markers are missing or out of order. */
static char *replace_block(const char *text, const char *id, const char *body)
{
	char open[64], close[64];
	snprintf(open, sizeof open, "<!-- study:%s -->", id);
	snprintf(close, sizeof close, "<!-- /study:%s -->", id);
	const char *a = strstr(text, open), *b = strstr(text, close);
	if (!a || !b || b < a)
		return NULL;
	a += strlen(open);
	size_t head = (size_t)(a - text), bl = strlen(body), tail = strlen(b);
	char *out = malloc(head + bl + tail + 3);
	if (!out)
		return NULL;
	memcpy(out, text, head);
	size_t o = head;
	out[o++] = '\n';
	memcpy(out + o, body, bl);
	o += bl;
	if (bl && body[bl - 1] != '\n')
		out[o++] = '\n';
	memcpy(out + o, b, tail + 1);
	return out;
}

static bool update_findings(study_ctx *c, const char *page, const char *const ids[], unsigned n)
{
	size_t len;
	char *text = slurp(page, &len);
	if (!text)
		return study_fail(c, "cannot read %s: %s", page, strerror(errno));
	for (unsigned i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "%s.md", ids[i]);
		char *path = study_path(c, c->out_dir, name);
		size_t bl;
		char *body = slurp(path, &bl);
		free(path);
		if (!body) {
			free(text);
			return study_fail(c, "cannot read %s/%s", c->out_dir, name);
		}
		char *next = replace_block(text, ids[i], body);
		free(body);
		if (!next) {
			free(text);
			return study_fail(c, "%s has no '<!-- study:%s -->' ... '<!-- /study:%s -->' block",
			                  page, ids[i], ids[i]);
		}
		free(text);
		text = next;
	}
	/* Write beside, then rename: an interrupted run leaves the old page. */
	size_t pl = strlen(page) + 8;
	char *tmp = malloc(pl);
	snprintf(tmp, pl, "%s.tmp", page);
	FILE *f = fopen(tmp, "w");
	bool ok = f && fputs(text, f) >= 0;
	if (f && fclose(f) != 0)
		ok = false;
	if (ok && rename(tmp, page) != 0)
		ok = false;
	if (!ok) {
		study_fail(c, "cannot write %s: %s", page, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	free(text);
	return ok;
}

/* ---- main ---- */

static bool built_here(void)
{
	char exe[PATH_MAX], root[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0 || !realpath(RAV_BUILD_ROOT, root))
		return false;
	exe[n] = '\0';
	size_t len = strlen(root);
	return strncmp(exe, root, len) == 0 && exe[len] == '/';
}

static bool mkdirs(const char *path)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof buf) {
		errno = ENAMETOOLONG;
		return false;
	}
	memcpy(buf, path, strlen(path) + 1);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return false;
			*p = '/';
		}
	return mkdir(buf, 0777) == 0 || errno == EEXIST;
}

static void study_usage(FILE *to)
{
	fprintf(to,
	        "usage: rav-bench --study [--quick] [--out DIR] [--findings FILE|none] [--only q1,...]\n"
	        "                 [--repeat N] [--pages build|self]\n"
	        "Measures the five open questions of docs/findings.md and writes their tables (DIR/qN.md),\n"
	        "plots (DIR/qN-*.svg) and ravscope traces (DIR/traces/), then updates the generated blocks\n"
	        "of the findings page.\n"
	        "  --out DIR       default: docs/study of the source tree when run from a build tree\n"
	        "                  (./rav-study otherwise; ./rav-study-quick with --quick)\n"
	        "  --findings F    the page to update (default: docs/findings.md with the default --out\n"
	        "                  of a full run, none otherwise)\n"
	        "  --quick         tiny sizes, one run each: checks the study works, figures meaningless\n"
	        "  --repeat N      best of N interleaved runs (default 5)\n"
	        "  --pages MODE    question 4: 'build' configures and builds the engine at 1-16 KB pages\n"
	        "                  (meson, in BUILD/study-pages/), 'self' measures this build's page size\n"
	        "                  only (default: build, self with --quick)\n");
}

int study_main(int argc, char **argv, const bench_alloc *allocs, unsigned nallocs)
{
	if (argc >= 3 && strcmp(argv[1], "--study-child") == 0) {
		for (unsigned i = 0; i < NSTUDIES; i++)
			if (studies[i]->child && strncmp(argv[2], studies[i]->id, 2) == 0)
				return studies[i]->child(argc - 2, argv + 2);
		fprintf(stderr, "rav-bench: no study child '%s'\n", argv[2]);
		return 2;
	}
	study_ctx c = {.quick = false, .repeat = 5, .log = stderr};
	const char *out = NULL, *findings = NULL, *only = NULL, *pages = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--quick") == 0)
			c.quick = true;
		else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			study_usage(stdout);
			return 0;
		} else if (v && strcmp(a, "--out") == 0)
			out = argv[++i];
		else if (v && strcmp(a, "--findings") == 0)
			findings = argv[++i];
		else if (v && strcmp(a, "--only") == 0)
			only = argv[++i];
		else if (v && strcmp(a, "--pages") == 0)
			pages = argv[++i];
		else if (v && strcmp(a, "--repeat") == 0) {
			char *end;
			unsigned long r = strtoul(v, &end, 10);
			if (*end || r == 0 || r > 1000) {
				fprintf(stderr, "rav-bench --study: --repeat takes 1..1000, not '%s'\n", v);
				return 2;
			}
			c.repeat = (unsigned)r;
			i++;
		} else {
			fprintf(stderr, "rav-bench --study: unknown or incomplete option '%s'\n", a);
			study_usage(stderr);
			return 2;
		}
	}
	if (pages && strcmp(pages, "build") != 0 && strcmp(pages, "self") != 0) {
		fprintf(stderr, "rav-bench --study: --pages is 'build' or 'self', not '%s'\n", pages);
		return 2;
	}
	if (only)
		for (const char *s = only; *s;) {
			size_t len = strcspn(s, ",");
			bool known = false;
			for (unsigned i = 0; i < NSTUDIES; i++)
				known |=
				    strlen(studies[i]->id) == len && strncmp(s, studies[i]->id, len) == 0;
			if (!known) {
				fprintf(stderr, "rav-bench --study: no study '%.*s' (q1 ... q5)\n", (int)len,
				        s);
				return 2;
			}
			s += len + (s[len] == ',');
		}
	if (c.quick)
		c.repeat = 1;
	bool here = built_here();
	char def_out[PATH_MAX], def_page[PATH_MAX];
	snprintf(def_out, sizeof def_out, "%s/docs/study", RAV_SOURCE_ROOT);
	snprintf(def_page, sizeof def_page, "%s/docs/findings.md", RAV_SOURCE_ROOT);
	if (!out)
		out = c.quick ? "rav-study-quick" : here ? def_out : "rav-study";
	if (!findings)
		findings = !c.quick && here && strcmp(out, def_out) == 0 ? def_page : "none";
	c.out_dir = out;
	static char tdir[PATH_MAX + 16];
	snprintf(tdir, sizeof tdir, "%s/traces", out);
	c.trace_dir = tdir;
	if (!mkdirs(tdir)) {
		fprintf(stderr, "rav-bench --study: cannot create %s: %s\n", tdir, strerror(errno));
		return 1;
	}
	static char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0) {
		fprintf(stderr, "rav-bench --study: cannot find my own executable: %s\n", strerror(errno));
		return 1;
	}
	exe[n] = '\0';
	c.exe = exe;
	c.pages = pages ? pages : c.quick || !here ? "self" : "build";
	c.build_root = RAV_BUILD_ROOT;
	for (unsigned i = 0; i < nallocs && i < 3; i++)
		c.allocs[c.nallocs++] = allocs[i];
	describe(&c, NULL);
	fprintf(c.log, "rav-bench --study%s: writing into %s\nmachine: %s\n", c.quick ? " (quick)" : "", out,
	        c.machine);
	if (RAV_DEBUG && !c.quick)
		fprintf(c.log, "note: this build has debug checks on; configure --buildtype=release "
		               "-Ddebug_checks=false for figures worth publishing\n");

	FILE *m = study_open(&c, "machine.md");
	if (!m)
		return 1;
	fprintf(m, "Measured %s: %s.%s\n",
	        c.quick ? "in QUICK mode (sizes too small to mean anything)" : "on", c.machine,
	        c.quick ? ""
	                : " The machine is shared with other jobs and noisy: every timed comparison is "
	                  "interleaved (each variant once per round) and the best round is kept.");
	if (!study_close(&c, m, "machine.md"))
		return 1;

	const char *done[NSTUDIES + 1];
	unsigned ndone = 0;
	done[ndone++] = "machine";
	int status = 0;
	for (unsigned i = 0; i < NSTUDIES; i++) {
		const study_def *s = studies[i];
		if (only) {
			bool sel = false;
			for (const char *p = only; *p;) {
				size_t len = strcspn(p, ",");
				sel |= strlen(s->id) == len && strncmp(p, s->id, len) == 0;
				p += len + (p[len] == ',');
			}
			if (!sel)
				continue;
		}
		double t0 = study_now();
		fprintf(c.log, "%s: %s\n", s->id, s->title);
		if (s->run(&c))
			done[ndone++] = s->id;
		else
			status = 1;
		fprintf(c.log, "%s: %s in %.1f s\n", s->id, done[ndone - 1] == s->id ? "done" : "FAILED",
		        study_now() - t0);
	}
	if (strcmp(findings, "none") != 0 && !update_findings(&c, findings, done, ndone))
		status = 1;
	else if (strcmp(findings, "none") != 0)
		fprintf(c.log, "updated %s\n", findings);
	return status;
}
