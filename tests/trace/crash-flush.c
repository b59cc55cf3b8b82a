/* crash-flush.c - a recorded program that dies of a signal in its own code
 * keeps its events (trace/recorder.c, "A program that dies of a signal").
 *
 * A child records to a file (rav_trace_start, as RAVIOLI_TRACE does),
 * allocates NODES cells, marks, then dies; how is the argument:
 *   segv     a store through a null pointer (SIGSEGV)
 *   abort    abort() from the program (SIGABRT)
 *   fpe      an integer division by zero (SIGFPE)
 *   thread   a second thread allocates, marks and segfaults while the
 *            main thread, which allocated and marked too, spins: the main
 *            thread's buffer, never handed over, must be in the trace too
 *   threads  CRASHERS threads each allocate and mark, meet at a barrier and
 *            segfault at the same moment while the main thread, which
 *            allocated and marked too, spins: one ERROR (the first
 *            signal's), every thread's events, a finished file
 *   bare     a thread that never called the engine (no buffer, no heap)
 *            segfaults while the main thread, which allocated and marked,
 *            spins: the ERROR goes to the process's stream (heap 0), in
 *            the recorder's spare buffer
 *   handler  the program installed its own SIGSEGV handler before
 *            recording started: it is still called (it says so through a
 *            pipe), and the signal still kills the child
 *   off      RAVIOLI_TRACE_SIGNALS=0: nothing is kept (the events sat in
 *            the buffer), the status is the signal's: what the handler
 *            is for, seen to fail without it
 * The parent checks the exit status (the signal's), that the trace opens,
 * indexes and replays consistently, and holds every allocation, the
 * marks, and the ERROR event that says which signal, last in its thread.
 *
 * Under AddressSanitizer the child's SIGSEGV/SIGBUS/SIGFPE go on to ASan's
 * own handler (installed before the recorder's, which chains to it): it
 * reports and exits with status 1 rather than dying of the signal.  The
 * trace is checked all the same; only the status is taken as ASan's. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flush-test.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define NODES 50
#define MAIN_NODES 20
#define CRASHERS 3

static const char *mode;
static int handler_pipe = -1;
static volatile int spin = 1;

static void allocate(int n, const char *mark)
{
	ft_allocate("crash-node", n, mark);
}

/* The faults are the test's point: UBSan (CI's ASan step builds with it and
 * halts on its first report) must not report them before they happen. */
#define REAL_FAULT __attribute__((noinline, no_sanitize("undefined")))

static REAL_FAULT void die_of_segv(void)
{
	volatile int *volatile p = NULL;
	*p = 1;
}

#if defined(__x86_64__) || defined(__i386__)
static REAL_FAULT void die_of_fpe(void)
{
	volatile int zero = 0, one = 1;
	volatile int q = one / zero;
	(void)q;
}
#endif

static void *crasher(void *arg)
{
	(void)arg;
	allocate(NODES, "before the crash");
	die_of_segv();
	return NULL;
}

static pthread_barrier_t together;

static void *together_crasher(void *arg)
{
	(void)arg;
	allocate(NODES, "before the crash");
	pthread_barrier_wait(&together);
	die_of_segv();
	return NULL;
}

static void *bare_crasher(void *arg)
{
	(void)arg;
	die_of_segv();
	return NULL;
}

static void own_handler(int sig)
{
	ssize_t rc = write(handler_pipe, "called", 6);
	(void)rc;
	signal(sig, SIG_DFL); /* the fault recurs on return and kills the child */
}

static void child(const char *path)
{
	if (strcmp(mode, "handler") == 0)
		signal(SIGSEGV, own_handler);
	if (strcmp(mode, "off") == 0)
		setenv("RAVIOLI_TRACE_SIGNALS", "0", 1);
	ft_record(path);
	if (strcmp(mode, "thread") == 0 || strcmp(mode, "bare") == 0) {
		bool bare = strcmp(mode, "bare") == 0;
		allocate(bare ? NODES : MAIN_NODES, bare ? "before the crash" : "main runs on");
		pthread_t th;
		if (pthread_create(&th, NULL, bare ? bare_crasher : crasher, NULL) != 0)
			_exit(6);
		while (spin)
			usleep(1000); /* the main thread runs on while the other dies (a
			               * pure busy loop outlived its process under
			               * memcheck, whose other threads were gone) */
		_exit(5);
	}
	if (strcmp(mode, "threads") == 0) {
		allocate(MAIN_NODES, "main runs on");
		pthread_barrier_init(&together, NULL, CRASHERS);
		pthread_t th[CRASHERS];
		for (int i = 0; i < CRASHERS; i++)
			if (pthread_create(&th[i], NULL, together_crasher, NULL) != 0)
				_exit(6);
		while (spin)
			usleep(1000);
		_exit(5);
	}
	allocate(NODES, "before the crash");
	if (strcmp(mode, "abort") == 0)
		abort();
	if (strcmp(mode, "fpe") == 0) {
#if defined(__x86_64__) || defined(__i386__)
		die_of_fpe();
#else
		raise(SIGFPE); /* integer division does not trap here */
#endif
	}
	die_of_segv();
	_exit(5);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "child") == 0) {
		mode = argv[2];
		handler_pipe = atoi(argv[4]);
		child(argv[3]);
	}
	REQUIRE(argc == 2);
	mode = argv[1];
	if (strcmp(mode, "bare") == 0 && getenv("RAV_UNDER_VALGRIND")) {
		/* Under memcheck the trace comes out whole (ravtrace validate,
		 * the ERROR in heap 0), but when the bare thread's fault recurs
		 * valgrind ends every thread but the main one, which sleeps on
		 * and the process never ends (natively it dies of SIGSEGV): not
		 * understood yet, so not run there. */
		fprintf(stderr, "bare: skipped under valgrind (the process outlives its threads there)\n");
		return 77;
	}
	bool threads = strcmp(mode, "threads") == 0;
	bool thread = strcmp(mode, "thread") == 0 || threads, bare = strcmp(mode, "bare") == 0,
	     off = strcmp(mode, "off") == 0;
	int expect_sig = strcmp(mode, "abort") == 0 ? SIGABRT : strcmp(mode, "fpe") == 0 ? SIGFPE : SIGSEGV;
	char path[] = "/tmp/rav-crash-flush-XXXXXX";
	int pfd[2];
	REQUIRE(pipe(pfd) == 0);
	pid_t pid = ft_fork(path);
	if (pid == 0) {
		close(pfd[0]);
		if (UNDER_ASAN) {
			/* A fresh process rather than the fork of this one: this
			 * one has a thread (the attach listener), and ASan's
			 * allocator lock, if that thread held it at the fork,
			 * stays held in the child (glibc's malloc takes care of
			 * that; ASan's did not): the child's writer thread hung
			 * there, 1 run in 4, an artefact of the test.  (Not under
			 * memcheck: the exec'd child would run outside it.) */
			char fdarg[16];
			snprintf(fdarg, sizeof fdarg, "%d", pfd[1]);
			execl(argv[0], argv[0], "child", mode, path, fdarg, (char *)NULL);
			_exit(7);
		}
		handler_pipe = pfd[1];
		child(path);
	}
	close(pfd[1]);
	char said[16] = "";
	ssize_t got = read(pfd[0], said, sizeof said - 1);
	close(pfd[0]);
	int status = ft_wait(pid);
	if (UNDER_ASAN && expect_sig != SIGABRT)
		/* (ASan's handler runs after ours: it exits, or aborts with
		 * ASAN_OPTIONS=abort_on_error=1 as CI sets) */
		CHECK(WIFEXITED(status) ||
		      (WIFSIGNALED(status) && (WTERMSIG(status) == expect_sig || WTERMSIG(status) == SIGABRT)));
	else
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == expect_sig);
	if (strcmp(mode, "handler") == 0)
		CHECK(got == 6 && memcmp(said, "called", 6) == 0);

	rav_trace *t = ft_open(path);
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	/* the handler finishes the file (its trailer); without it there is none */
	CHECK(info.truncated == off);
	rav_trace_error rerr;
	memset(&rerr, 0, sizeof rerr);
	bool consistent = rav_trace_consistent(t, &rerr);
	if (!consistent)
		fprintf(stderr, "replay: %s\n", rerr.message);
	CHECK(consistent);

	rav_event_filter all = { .thread = -1 };
	rav_event_iter it;
	rav_event ev;
	unsigned allocs = 0, marks = 0, main_marks = 0, errors = 0;
	int last_kind[64];
	for (int i = 0; i < 64; i++)
		last_kind[i] = -1;
	uint32_t error_heap = 0;
	char want[64];
	snprintf(want, sizeof want, "the program died of %s (signal %d)",
		 expect_sig == SIGABRT ? "SIGABRT" : expect_sig == SIGFPE ? "SIGFPE" : "SIGSEGV", expect_sig);
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		allocs += ev.kind == RAV_EV_ALLOC;
		if (ev.kind == RAV_EV_MARK && ev.text && strcmp(ev.text, "before the crash") == 0)
			marks++;
		if (ev.kind == RAV_EV_MARK && ev.text && strcmp(ev.text, "main runs on") == 0)
			main_marks++;
		if (ev.kind == RAV_EV_ERROR && ev.text && strncmp(ev.text, want, strlen(want)) == 0) {
			errors++;
			error_heap = ev.thread;
			CHECK_EQ(ev.aux, 0); /* not an engine status */
		}
		if (ev.kind != RAV_EV_TIME && ev.thread < 64)
			last_kind[ev.thread] = ev.kind;
	}
	if (off) {
		/* without the handler the thread's buffer is lost: the proof the
		 * checks above can fail */
		CHECK_EQ(allocs, 0);
		CHECK_EQ(marks, 0);
		CHECK_EQ(errors, 0);
	} else {
		/* the nodes and one roots cell per thread */
		CHECK_EQ(allocs, threads  ? CRASHERS * (NODES + 1) + MAIN_NODES + 1
		                 : thread ? NODES + 1 + MAIN_NODES + 1
		                          : NODES + 1);
		CHECK_EQ(marks, threads ? CRASHERS : 1);
		CHECK_EQ(main_marks, thread ? 1 : 0);
		CHECK_EQ(errors, 1);
		CHECK(error_heap < 64 && last_kind[error_heap] == RAV_EV_ERROR); /* the crashing thread's last */
		CHECK(bare ? error_heap == 0 : error_heap != 0);
	}
	rav_trace_close(t);
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%s: %d checks failed\n", mode, tt_failures);
	return tt_failures ? 1 : 0;
}
