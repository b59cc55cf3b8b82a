/* recv-closed.c - rav_recv's RAV_ECLOSED on a closed, empty channel is how
 * a receive loop ends, not an error: the recording has no ERROR event for
 * it (a correct program with worker threads showed "3 errors" in ravscope
 * and `ravtrace stats`), while rav_last_error still says what happened.
 * A send on a closed channel stays an error, recorded.
 *
 * A child records to a file (as RAVIOLI_TRACE does): a worker receives
 * until the channel is closed, then sends on it; the parent reads the
 * trace. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flush-test.h"

static rav_channel *ch;

static void *worker(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	int got = 0;
	rav_status st;
	while ((st = rav_recv(ch, h, r)) == RAV_OK)
		got++;
	if (st != RAV_ECLOSED || got != 2 || !strstr(rav_last_error(), "rav_recv: channel") ||
	    !strstr(rav_last_error(), "closed and empty")) {
		fprintf(stderr, "child: recv ended with %s after %d: %s\n", rav_status_name(st), got, rav_last_error());
		_exit(7);
	}
	if (rav_try_recv(ch, h, r) != RAV_ECLOSED)
		_exit(8);
	rav_msg *m = rav_msg_new();
	if (!m || rav_send(ch, m) != RAV_ECLOSED) /* an error: recorded */
		_exit(9);
	rav_msg_free(m); /* refused: still ours */
	rav_root_free(h, r);
	return NULL;
}

static void child(const char *path)
{
	ft_record(path);
	ft_allocate("node", 10, "main built");
	ch = rav_channel_new();
	pthread_t th;
	if (!ch || pthread_create(&th, NULL, worker, NULL) != 0)
		_exit(6);
	for (int i = 0; i < 2; i++)
		if (rav_send(ch, rav_msg_new()) != RAV_OK)
			_exit(5);
	rav_channel_close(ch);
	pthread_join(th, NULL);
	rav_channel_free(ch);
	exit(0); /* atexit finishes the trace */
}

int main(void)
{
	char path[] = "/tmp/rav-recv-closed-XXXXXX";
	pid_t pid = ft_fork(path);
	if (pid == 0)
		child(path);
	int status = ft_wait(pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	rav_trace *t = ft_open(path);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	unsigned recv_errors = 0, send_errors = 0, other_errors = 0, receives = 0;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		receives += ev.kind == RAV_EV_MSG_RECV;
		if (ev.kind != RAV_EV_ERROR)
			continue;
		if (ev.text && strstr(ev.text, "rav_recv:"))
			recv_errors++;
		else if (ev.text && strstr(ev.text, "rav_send: channel") && ev.aux == RAV_ECLOSED)
			send_errors++;
		else
			other_errors++;
	}
	CHECK_EQ(receives, 2);
	CHECK_EQ(recv_errors, 0);
	CHECK_EQ(send_errors, 1);
	CHECK_EQ(other_errors, 0);
	rav_trace_close(t);
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
