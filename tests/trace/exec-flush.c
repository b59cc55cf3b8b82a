/* exec-flush.c - a program that calls exec keeps its recording whole.
 *
 *	test-format-exec-flush MODE
 *
 * exec runs no atexit handler: the events each thread still held in its
 * buffer were lost and the file had no trailer (`ravtrace validate`:
 * truncated), often all of a short program's events.  libravioli's exec
 * family finishes the trace first (trace/exec-hook.c).  A child records
 * to a file (rav_trace_start, as RAVIOLI_TRACE does), allocates, marks,
 * and then, by MODE:
 *   execv, execl, execlp, execle, execvp  runs /bin/sh -c 'exit 7' that way;
 *   fail     execv of a path that does not exist: the call fails with
 *            ENOENT (errno kept) and the file is finished at it;
 *   vfork    vfork()s a child that execs /bin/sh (the hook must leave the
 *            parent's recording alone: the child shares its memory), then
 *            goes on recording and exits normally.
 * The parent checks the child's exit status and that the trace is complete
 * (a trailer, not truncated) and has the allocations and the marks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flush-test.h"

#define NODES 50

extern char **environ;

static void child(const char *path, const char *mode)
{
	ft_record(path);
	ft_cells c = ft_allocate("exec-node", NODES, "before exec");
	char *const argv[] = {"sh", "-c", "exit 7", NULL};
	if (!strcmp(mode, "execv"))
		execv("/bin/sh", argv);
	else if (!strcmp(mode, "execl"))
		execl("/bin/sh", "sh", "-c", "exit 7", (char *)NULL);
	else if (!strcmp(mode, "execlp"))
		execlp("sh", "sh", "-c", "exit 7", (char *)NULL);
	else if (!strcmp(mode, "execle")) {
		/* the status comes from the environment given: execle's last argument */
		char *const env[] = {"RAV_EXEC_STATUS=7", NULL};
		execle("/bin/sh", "sh", "-c", "exit ${RAV_EXEC_STATUS:-9}", (char *)NULL, env);
	} else if (!strcmp(mode, "execvp"))
		execvp("sh", argv);
	else if (!strcmp(mode, "fail")) {
		execv("/nonexistent/rav-exec-flush", argv);
		_exit(errno == ENOENT ? 7 : 5);
	} else if (!strcmp(mode, "vfork")) {
		pid_t pid = vfork();
		if (pid == 0) {
			execv("/bin/sh", argv);
			_exit(6);
		}
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
			_exit(8);
		rav_new_before(c.heap, c.type, rav_root_slot(c.root), 1, NULL);
		rav_mark("after vfork");
		exit(7);
	}
	_exit(9); /* the exec failed */
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	const char *mode = argv[1];
	bool vf = !strcmp(mode, "vfork");
	char path[] = "/tmp/rav-exec-flush-XXXXXX";
	pid_t pid = ft_fork(path);
	if (pid == 0)
		child(path, mode);
	int status = ft_wait(pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7);

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
		before += ev.kind == RAV_EV_MARK && ev.text && !strcmp(ev.text, "before exec");
		after += ev.kind == RAV_EV_MARK && ev.text && !strcmp(ev.text, "after vfork");
	}
	CHECK_EQ(allocs, NODES + 1 + vf); /* the nodes, the roots cell (and one after vfork) */
	CHECK_EQ(before, 1);
	CHECK_EQ(after, vf ? 1u : 0u);
	rav_trace_close(t);
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%s: %d checks failed\n", mode, tt_failures);
	return tt_failures ? 1 : 0;
}
