/* attach-util.h - what the attach tests (attach-session.c, attach-debug.c)
 * share: starting the target in a private socket directory (under
 * $RAV_TEST_WRAPPER when set), collecting its output, attaching, pumping,
 * and talking the raw protocol.  Included by one test program each.
 */
#ifndef ATTACH_UTIL_H
#define ATTACH_UTIL_H
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "live.h"
#include "ravtrace.h"
#include "trace-test.h"

/* CHECK and the failure count (tt_failures) come from trace-test.h */

static const char *target;
static char rundir[256];
static bool small;
/* Waits for a condition that should come (not fixed pauses) last this many
 * times longer under memcheck: 30 s was too short for a held thread under
 * memcheck on a loaded 2-core machine; a passing test does not wait longer. */
static double wait_scale = 1;
/* start() closes the target's standard input (as a shell's <&- does). */
static bool start_stdin_closed;

typedef struct proc {
	pid_t pid;
	int out, err; /* pipes */
} proc;

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void sleep_ms(int ms)
{
	struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
}

/* An unlinked temporary file: the target's output goes there, so a target
 * that writes a lot (a sanitizer report) never blocks on a full pipe. */
static inline int temp_file(void)
{
	char path[] = "/tmp/attach-out-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(path);
	return fd;
}

/* Start the target with these arguments (NULL-terminated), listening unless told otherwise. */
static inline proc start(const char *const *args, bool listen)
{
	int o = temp_file(), e = temp_file();
	/* Ignored until attach-target installs its handler: a hurry
	 * (finish_hurried) sent before it has reached main() is lost rather
	 * than fatal.  Set here, before fork(), so that the child has it from
	 * its first instant: set in the child, a hurry sent 300 ms after the
	 * fork killed it under TSan on a loaded host (the child had not run
	 * that far yet; CI, attach-listen-off).  This process never gets one. */
	signal(SIGUSR1, SIG_IGN);
	proc p = {fork(), o, e};
	if (p.pid == 0) {
		dup2(o, 1);
		dup2(e, 2);
		close(o);
		close(e);
		if (start_stdin_closed)
			close(0);
		if (!listen)
			setenv("RAVIOLI_LISTEN", "0", 1);
		/* sanitizers would take the crash signal before the program's
		 * handler (a sanitized build of the target is still the target) */
		setenv("TSAN_OPTIONS", "handle_segv=0", 1);
		setenv("ASAN_OPTIONS", "handle_segv=0", 1);
		struct rlimit nocore = {0, 0};
		setrlimit(RLIMIT_CORE, &nocore); /* the crash test leaves no core file */
		const char *argv[64];
		int n = 0;
		char *wrap = getenv("RAV_TEST_WRAPPER");
		if (wrap && *wrap)
			for (char *tok = strtok(strdup(wrap), " "); tok && n < 40; tok = strtok(NULL, " "))
				argv[n++] = tok;
		argv[n++] = target;
		for (int i = 0; args[i] && n < 63; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	return p;
}

static inline char *slurp(int fd)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		if (n + 1 == cap)
			b = realloc(b, cap *= 2);
		ssize_t r = read(fd, b + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	b[n] = 0;
	close(fd);
	return b;
}

/* Wait for the target; its stdout and stderr go to *out, *err (malloc'd). */
static inline int finish(proc *p, char **out, char **err)
{
	int status = 0;
	waitpid(p->pid, &status, 0);
	char *o = slurp(p->out), *e = slurp(p->err);
	if (out)
		*out = o;
	else
		free(o);
	if (err)
		*err = e;
	else {
		if (e[0])
			fprintf(stderr, "target stderr:\n%s", e);
		free(e);
	}
	return status;
}

/* The checks are done: the target finishes its remaining rounds without
 * pausing (SIGUSR1, attach-target.c; its output depends only on the
 * rounds), then finish().  The pace is there to give clients time, and
 * waiting it out would only make the tests slow. */
static inline int finish_hurried(proc *p, char **out, char **err)
{
	kill(p->pid, SIGUSR1);
	return finish(p, out, err);
}

/* The target exited with this code; if not, say how it ended. */
static inline bool exited_with(int status, int code)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == code)
		return true;
	if (WIFSIGNALED(status))
		fprintf(stderr, "the target was killed by signal %d (%s), not exit(%d)\n", WTERMSIG(status),
		        strsignal(WTERMSIG(status)), code);
	else if (WIFEXITED(status))
		fprintf(stderr, "the target exited with %d, not %d\n", WEXITSTATUS(status), code);
	return false;
}

/* The checks are done: the target ends (hurried, or at its own pace) with
 * status 0 and the output of a run nobody attached to, ref. */
static inline void finish_unchanged(proc *p, const char *ref, bool hurried)
{
	char *out;
	int status = hurried ? finish_hurried(p, &out, NULL) : finish(p, &out, NULL);
	CHECK(exited_with(status, 0));
	CHECK(strcmp(out, ref) == 0);
	if (strcmp(out, ref) != 0)
		fprintf(stderr, "output:\n%sexpected:\n%s", out, ref);
	free(out);
}

static inline bool socket_of(pid_t pid, char *path, size_t cap)
{
	int n = snprintf(path, cap, "%s/ravioli/%ld.sock", rundir, (long)pid);
	return n > 0 && (size_t)n < cap && access(path, F_OK) == 0;
}

static inline bool wait_socket(pid_t pid, double seconds)
{
	char path[512];
	double t0 = now_s();
	while (now_s() - t0 < seconds) {
		if (socket_of(pid, path, sizeof path))
			return true;
		sleep_ms(10);
	}
	fprintf(stderr, "the target (pid %ld) did not start listening within %.0f s\n", (long)pid, seconds);
	return false;
}

static inline const char *const *args_of(const char *a0, ...)
{
	static const char *v[16];
	va_list ap;
	va_start(ap, a0);
	int n = 0;
	for (const char *a = a0; a && n < 15; a = va_arg(ap, const char *))
		v[n++] = a;
	va_end(ap);
	v[n] = NULL;
	return v;
}

/* Output of a run nobody attaches to. */
static inline char *reference_output(const char *const *args)
{
	/* Its output depends only on the rounds (attach-target.c), so the
	 * reference run skips the pauses: it costs the work, not the pace
	 * chosen to give an attached client time. */
	const char *fast[64];
	int n = 0;
	for (int i = 0; args[i] && n < 63; i++) {
		fast[n++] = args[i];
		if (!strcmp(args[i], "--pace-us") && args[i + 1] && n < 63) {
			fast[n++] = "0";
			i++;
		}
	}
	fast[n] = NULL;
	proc p = start(fast, false);
	char *out;
	int st = finish(&p, &out, NULL);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return out;
}

/* Pump a session until the program ends it (or `seconds`), writing nowhere. */
static inline void pump(rav_live_session *s, rav_live_status *st, double seconds)
{
	double t0 = now_s();
	rav_trace_error err;
	while (!st->ended && now_s() - t0 < seconds)
		if (rav_live_pump(s, 100, -1, st, &err) < 0) {
			fprintf(stderr, "pump: %s\n", err.message);
			tt_failures++;
			break;
		}
}

static inline rav_live_session *attach_retry(pid_t pid, const rav_live_options *o, double seconds)
{
	double t0 = now_s();
	rav_trace_error err;
	for (;;) {
		rav_live_session *s = rav_live_attach(pid, o, &err);
		if (s || now_s() - t0 > seconds) {
			if (!s)
				fprintf(stderr, "attach: %s\n", err.message);
			return s;
		}
		sleep_ms(50);
	}
}

/* ---- raw protocol ---- */

static inline int connect_raw(pid_t pid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socket_of(pid, sa.sun_path, sizeof sa.sun_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Read what the program answers (until it closes, at most `seconds`) and
 * return the first SESSION record's type and code (v[0]); -1 if none. */
static inline int read_answer(int fd, double seconds, int64_t *code, char *text, size_t tcap)
{
	static uint8_t buf[1 << 20];
	size_t n = 0;
	double t0 = now_s();
	while (now_s() - t0 < seconds && n < sizeof buf) {
		struct pollfd pf = {fd, POLLIN, 0};
		if (poll(&pf, 1, 100) <= 0)
			continue;
		ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	if (n < sizeof(ravt_header))
		return -1;
	ravt_header h;
	memcpy(&h, buf, sizeof h);
	for (size_t at = h.header_size; at + sizeof(ravt_frame) <= n;) {
		ravt_frame f;
		memcpy(&f, buf + at, sizeof f);
		if (f.sync != RAVT_CHUNK_SYNC)
			return -1;
		if (f.kind == RAVT_CHUNK_SESSION && at + sizeof f + sizeof(ravt_session) <= n) {
			ravt_session r;
			memcpy(&r, buf + at + sizeof f, sizeof r);
			if (code)
				*code = r.v[0];
			if (text) {
				size_t l = r.text_len < tcap - 1 ? r.text_len : tcap - 1;
				memcpy(text, buf + at + sizeof f + sizeof r, l);
				text[l] = 0;
			}
			return r.type;
		}
		at += sizeof f + ((f.stored_len + 7u) & ~7u);
	}
	return -1;
}

static inline void send_bytes(int fd, const void *p, size_t n)
{
	if (send(fd, p, n, MSG_NOSIGNAL) != (ssize_t)n)
		perror("send");
}

/* One subtest of an attach test program, selected by name. */
typedef struct attach_subtest {
	const char *name;
	void (*run)(void);
} attach_subtest;

/* A subtest's optional argument (`PROG TARGET SUBTEST ARG`), else NULL. */
static const char *subtest_arg;

/* The main of an attach test: `PROG TARGET SUBTEST [ARG]`.  The subtest runs with
 * a private socket directory (other tests and programs stay out of it),
 * removed afterwards; exits 1 if a check failed, 2 on a usage error. */
static inline int attach_test_main(int argc, char **argv, const char *name, const attach_subtest *tests,
                                   size_t ntests)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: %s TARGET SUBTEST [ARG]\n", argv[0]);
		return 2;
	}
	subtest_arg = argc == 4 ? argv[3] : NULL;
	const attach_subtest *run = NULL;
	for (size_t i = 0; i < ntests && !run; i++)
		if (!strcmp(argv[2], tests[i].name))
			run = &tests[i];
	if (!run) {
		fprintf(stderr, "unknown subtest %s\n", argv[2]);
		return 2;
	}
	target = argv[1];
	small = getenv("RAV_TEST_SMALL") != NULL;
	if (getenv("RAV_UNDER_VALGRIND"))
		wait_scale = 4;
	signal(SIGPIPE, SIG_IGN);
	snprintf(rundir, sizeof rundir, "/tmp/%s-XXXXXX", name);
	if (!mkdtemp(rundir)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(rundir, 0700);
	setenv("XDG_RUNTIME_DIR", rundir, 1);
	run->run();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", rundir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", rundir);
	if (tt_failures) {
		fprintf(stderr, "%s: %d check(s) failed\n", run->name, tt_failures);
		return 1;
	}
	return 0;
}

#endif /* ATTACH_UTIL_H */
