/* abort-flush.c - a program that misuses the API under the default error
 * handler aborts; its recording must keep what it did up to there.
 *
 * A child records to a file (rav_trace_start, as RAVIOLI_TRACE does),
 * allocates, marks, and then passes a null heap, which the default
 * handler reports and aborts on (in every build).  The events sat in the
 * thread's buffer: without the engine's abort hook the file held the
 * header and nothing else.  The parent checks that the child died of
 * SIGABRT and that the trace has the allocations, the mark and the error
 * with its message, as its last event of that thread. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flush-test.h"

#define NODES 50

static void child(const char *path)
{
	ft_record(path);
	ft_allocate("abort-node", NODES, "before the misuse");
	rav_collect(NULL); /* misuse: the default handler prints and aborts */
	_exit(5);
}

int main(void)
{
	char path[] = "/tmp/rav-abort-flush-XXXXXX";
	pid_t pid = ft_fork(path);
	if (pid == 0)
		child(path);
	int status = ft_wait(pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);

	rav_trace *t = ft_open(path);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	unsigned allocs = 0, marks = 0, errors = 0;
	int last_kind = -1;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		allocs += ev.kind == RAV_EV_ALLOC;
		if (ev.kind == RAV_EV_MARK && ev.text && strcmp(ev.text, "before the misuse") == 0)
			marks++;
		if (ev.kind == RAV_EV_ERROR && ev.text && strstr(ev.text, "rav_collect: null heap"))
			errors++;
		if (ev.kind != RAV_EV_TIME)
			last_kind = ev.kind;
	}
	CHECK_EQ(allocs, NODES + 1); /* the nodes and the roots cell */
	CHECK_EQ(marks, 1);
	CHECK_EQ(errors, 1);
	CHECK_EQ(last_kind, RAV_EV_ERROR);
	rav_trace_close(t);
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
