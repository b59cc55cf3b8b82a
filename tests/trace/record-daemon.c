/* record-daemon.c - a program that records to a file (RAVIOLI_TRACE, as
 * rav_trace_start) and then closes every descriptor above 2, as daemons do
 * at their start, keeps its recording and its own files.
 *
 *	test-format-record-daemon
 *
 * A child records, allocates and marks, closes descriptors 3-1023 (the
 * trace file's among them), fills the numbers up to 95 with pipes of its
 * own holding one byte each (non-blocking), then allocates enough for the
 * writer thread to write many chunks and marks again.  Before, the writer
 * went on writing into whatever took the trace's number: the program's
 * pipe got the chunks (or the write failed on a full pipe and the trace
 * stopped there).  Now the writer uses the descriptor only while it is
 * still the file it opened, and opens the file again by its path.  The
 * child checks that each pipe still holds its byte alone; the parent, that
 * the trace is complete with every allocation and both marks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flush-test.h"

#define BEFORE 50
#define AFTER 60000 /* several buffers' worth of events: the writer writes meanwhile */
#define TOP 95

static void child(const char *path)
{
	ft_record(path);
	ft_cells c = ft_allocate("daemon-node", BEFORE, "before close");
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	static int rd[TOP];
	int npipes = 0;
	for (;;) {
		int p[2];
		if (pipe(p) != 0)
			_exit(5);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		fcntl(p[1], F_SETFL, O_NONBLOCK);
		if (write(p[1], "x", 1) != 1)
			_exit(5);
		rd[npipes++] = p[0];
		if (p[1] >= TOP - 2)
			break;
	}
	for (int i = 0; i < AFTER; i++)
		if (rav_new_before(c.heap, c.type, rav_root_slot(c.root), 1, NULL) != RAV_OK)
			_exit(4);
	rav_mark("after close");
	/* the writer thread takes the buffers it has been handed meanwhile */
	rav_root_clear(c.heap, c.root);
	rav_trace_stop();
	int bad = 0;
	for (int i = 0; i < npipes; i++) {
		char buf[64];
		ssize_t n = read(rd[i], buf, sizeof buf);
		ssize_t more = read(rd[i], buf, sizeof buf);
		if (n != 1 || buf[0] != 'x' || more != -1 || errno != EAGAIN) {
			fprintf(stderr, "child: the pipe at %d was written into (read %zd, then %zd)\n", rd[i], n, more);
			bad++;
		}
	}
	_exit(bad ? 10 : 0);
}

int main(void)
{
	char path[] = "/tmp/rav-record-daemon-XXXXXX";
	pid_t pid = ft_fork(path);
	if (pid == 0)
		child(path);
	int status = ft_wait(pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "child status %#x\n", status);

	rav_trace *t = ft_open(path);
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	CHECK(!info.truncated);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	unsigned allocs = 0, before = 0, after = 0;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		allocs += ev.kind == RAV_EV_ALLOC;
		before += ev.kind == RAV_EV_MARK && ev.text && !strcmp(ev.text, "before close");
		after += ev.kind == RAV_EV_MARK && ev.text && !strcmp(ev.text, "after close");
	}
	CHECK_EQ(allocs, BEFORE + 1 + AFTER); /* the nodes, the roots cell */
	CHECK_EQ(before, 1);
	CHECK_EQ(after, 1);
	rav_trace_close(t);
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
