/* attach-fork-early.c - a program that forks without exec in its first
 * instants, while the attach listener thread (trace/listen.c) may still be
 * starting, has a child that works.
 *
 *	test-attach-fork-early [--trace] [RUNS]
 *
 * Runs itself RUNS times (default 200; 40 with RAV_TEST_SMALL) as a fresh
 * process, each of which forks at the top of main(); the child allocates
 * with malloc, starts a thread and makes a heap, then exits 0.  Under
 * AddressSanitizer the child inherited the sanitizer's locks held by the
 * listener thread's start-up and hung at its first allocation or thread,
 * about one run in ten on a loaded machine (the fork now waits for that
 * start-up: atfork_prepare).  A child that does not finish within 20 s
 * fails the test.  Natively nothing holds a lock there; the test still
 * checks that an early child works and the parent goes on listening.
 * --trace: each run records to a file (RAVIOLI_TRACE, RAVIOLI_LISTEN=0), so
 * the thread starting is the recorder's writer thread (trace/recorder.c's
 * atfork_prepare), and the file it leaves must be a whole trace's size.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ravioli.h"

static void *thread_main(void *arg)
{
	return malloc((size_t)(uintptr_t)arg);
}

/* The child of the early fork. */
static int child(void)
{
	void *p = malloc(1000);
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, (void *)(uintptr_t)100) != 0)
		return 3;
	void *q = NULL;
	pthread_join(t, &q);
	free(q);
	free(p);
	rav_heap *h = rav_heap_self();
	rav_type ty = rav_type_register("early", RAV_DATA, RAV_REF);
	rav_root r = rav_root_new(h);
	if (!h || !ty || !r || rav_new_root(h, ty, r, NULL) != RAV_OK)
		return 4;
	rav_root_free(h, r);
	return 0;
}

/* One fresh process: fork at once, wait for the child (20 s at most). */
static int one_run(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return 5;
	if (pid == 0)
		_exit(child());
	for (int waited = 0; waited < 2000; waited++) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
		if (r < 0 && errno != EINTR)
			return 6;
		struct timespec d = {0, 10 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 7; /* hung */
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--one"))
		return one_run();
	bool trace = argc >= 2 && !strcmp(argv[1], "--trace");
	if (trace) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	int runs = getenv("RAV_TEST_SMALL") ? 40 : 200;
	if (argc == 2)
		runs = atoi(argv[1]);
	if (argc > 2 || runs <= 0) {
		fprintf(stderr, "usage: %s [--trace] [RUNS]\n", argv[0]);
		return 2;
	}
	char path[64] = "";
	if (trace) {
		snprintf(path, sizeof path, "/tmp/rav-fork-early-%ld.ravtrace", (long)getpid());
		setenv("RAVIOLI_TRACE", path, 1);
		setenv("RAVIOLI_LISTEN", "0", 1);
	}
	int failed = 0;
	for (int i = 0; i < runs; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			/* (argv[0], not /proc/self/exe: under valgrind that is the tool) */
			const char *self = strchr(argv[0], '/') ? argv[0] : "/proc/self/exe";
			execl(self, argv[0], "--one", (char *)NULL);
			_exit(8);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
		struct stat sb;
		if (trace && (stat(path, &sb) != 0 || sb.st_size < 64)) {
			fprintf(stderr, "run %d: no trace at %s\n", i, path);
			failed++;
		}
		if (trace)
			unlink(path);
		if (code) {
			fprintf(stderr, "run %d: %s (code %d)\n", i,
			        code == 7 ? "the early child hung" : "the early child failed", code);
			failed++;
		}
	}
	fprintf(stderr, "%d of %d runs failed\n", failed, runs);
	return failed ? 1 : 0;
}
