/* abort-flush.c - a program that misuses the API under the default error
 * handler aborts; its recording must keep what it did up to there.
 *
 * A child records to a file (rav_trace_start, as RAVIOLI_TRACE does),
 * allocates, marks, and then passes a null heap, which the default
 * handler reports and aborts on (in every build).  The events sat in the
 * thread's buffer: without the engine's abort hook the file held the
 * header and nothing else.  The parent checks that the child died of
 * SIGABRT and that the trace has the allocations, the mark and the error
 * with its message, as its last event of that thread.
 *
 * `thread`: the misuse is made by a second thread while the main thread,
 * which allocated and marked first, waits for it (as a program's main
 * thread waits in rav_recv for a worker that misuses): the main thread's
 * buffer must be kept too, and the trace must replay (a plain stop kept
 * the aborting thread's buffer only, whose events name the main thread's
 * pages: replay refused it).
 *
 * RAV_TEST_KEEP_TRACE=PATH keeps the recording there (test-cli.sh's
 * `died` mode reads it with ravtrace info). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flush-test.h"

#define NODES 50
#define MAIN_NODES 30

static void *misuser(void *arg)
{
	(void)arg;
	ft_allocate("abort-node", NODES, "before the misuse");
	rav_collect(NULL); /* misuse: the default handler prints and aborts */
	return NULL;
}

static void child(const char *path, bool thread)
{
	ft_record(path);
	if (thread) {
		ft_allocate("main-node", MAIN_NODES, "main waits");
		pthread_t th;
		if (pthread_create(&th, NULL, misuser, NULL) != 0)
			_exit(6);
		pthread_join(th, NULL); /* the process dies meanwhile */
		_exit(5);
	}
	misuser(NULL);
	_exit(5);
}

int main(int argc, char **argv)
{
	bool thread = argc > 1 && strcmp(argv[1], "thread") == 0;
	char path[] = "/tmp/rav-abort-flush-XXXXXX";
	pid_t pid = ft_fork(path);
	if (pid == 0)
		child(path, thread);
	int status = ft_wait(pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

	rav_trace *t = ft_open(path);
	rav_trace_error rerr;
	memset(&rerr, 0, sizeof rerr);
	bool consistent = rav_trace_consistent(t, &rerr);
	if (!consistent)
		fprintf(stderr, "replay: %s\n", rerr.message);
	CHECK(consistent);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	unsigned allocs = 0, marks = 0, main_marks = 0, errors = 0, died = 0;
	uint32_t error_heap = 0;
	int last_kind[64];
	for (int i = 0; i < 64; i++)
		last_kind[i] = -1;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		allocs += ev.kind == RAV_EV_ALLOC;
		if (ev.kind == RAV_EV_MARK && ev.text && strcmp(ev.text, "before the misuse") == 0)
			marks++;
		if (ev.kind == RAV_EV_MARK && ev.text && strcmp(ev.text, "main waits") == 0)
			main_marks++;
		if (ev.kind == RAV_EV_ERROR && ev.text && strstr(ev.text, "rav_collect: null heap")) {
			errors++;
			error_heap = ev.thread;
		}
		/* the recorder's note after the engine's message, as for abort() */
		if (ev.kind == RAV_EV_ERROR && ev.text &&
		    strcmp(ev.text, "the program died of SIGABRT (signal 6), raised by the program (abort())") == 0)
			died++;
		if (ev.kind != RAV_EV_TIME && ev.thread < 64)
			last_kind[ev.thread] = ev.kind;
	}
	/* the nodes and a roots cell per thread */
	CHECK_EQ(allocs, thread ? NODES + 1 + MAIN_NODES + 1 : NODES + 1);
	CHECK_EQ(marks, 1);
	CHECK_EQ(main_marks, thread ? 1 : 0);
	CHECK_EQ(errors, 1);
	CHECK_EQ(died, 1);
	CHECK(error_heap < 64 && last_kind[error_heap] == RAV_EV_ERROR); /* the misusing thread's last */
	rav_trace_close(t);
	const char *keep = getenv("RAV_TEST_KEEP_TRACE");
	if (keep) {
		FILE *in = fopen(path, "rb"), *out = fopen(keep, "wb");
		REQUIRE(in && out);
		char buf[8192];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, in)) > 0)
			REQUIRE(fwrite(buf, 1, n, out) == n);
		fclose(in);
		REQUIRE(fclose(out) == 0);
	}
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
