/* ravtrace-batch.c - many `ravtrace` command lines in one process tree, so
 * that a checker's start-up is paid once, not once per command (a test
 * helper, not installed).
 *
 * tests/trace/hostile.py runs five ravtrace commands on each of its hostile
 * traces, and test-cli.sh a dozen or more per test.  Under memcheck each
 * separate `valgrind ravtrace ...` spent most of its time starting
 * (valgrind itself, the debug information of libdw, zstd, sqlite and libc,
 * translating the same start-up code again).  This driver is linked from
 * the very objects of `ravtrace` (its main() renamed ravtrace_main, see
 * meson.build) and, run under the checker, forks once per command: each
 * command still runs in a process of its own, from a fresh copy of a
 * process that has done nothing but read its request, and exits as
 * ravtrace would.  Memcheck follows fork: the child's errors and its leak
 * check at exit are its own, and its exit code is --error-exitcode when it
 * found any.  (Memcheck writes its reports to the stderr the driver started
 * with, not to the command's: the caller reads them from there after each
 * command.)  trace-hostile under memcheck: 110 s of CPU with a checker per
 * command, 44 s through this driver.
 *
 * Protocol, one request per line on stdin, fields separated by tabs:
 *   SECONDS  OUT  ERR  ENV  [ARG...]
 * runs `ravtrace ARG...` with stdout to the file OUT, stderr to ERR, stdin
 * from /dev/null, RAVTRACE_MEMORY_MB removed from the environment and ENV
 * ("NAME=VALUE", or "-" for nothing) added, killed after SECONDS (SIGALRM,
 * which ravtrace never uses).  One answer per request on stdout:
 *   PID exit CODE | PID signal N | PID timeout
 * End of input ends the driver (exit 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ravtrace-main.h"

enum { MAX_ARGS = 64 };

static void redirect(const char *path, int fd, int flags)
{
	int f = open(path, flags, 0644);
	if (f < 0 || dup2(f, fd) < 0) {
		fprintf(stderr, "ravtrace-batch: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(f);
}

static void run_child(char **field, int nfields)
{
	redirect("/dev/null", 0, O_RDONLY);
	redirect(field[1], 1, O_WRONLY | O_CREAT | O_TRUNC);
	redirect(field[2], 2, O_WRONLY | O_CREAT | O_TRUNC);
	unsetenv("RAVTRACE_MEMORY_MB");
	if (strcmp(field[3], "-") != 0 && putenv(field[3]) != 0)
		_exit(127);
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = (char *)"ravtrace";
	for (int i = 4; i < nfields && argc <= MAX_ARGS; i++)
		argv[argc++] = field[i];
	argv[argc] = NULL;
	alarm((unsigned)atoi(field[0]));
	exit(ravtrace_main(argc, argv));
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		char *field[MAX_ARGS + 4];
		int n = 0;
		/* (an empty argument is an empty field: strsep, not strtok) */
		for (char *rest = line, *f; n < MAX_ARGS + 4 && (f = strsep(&rest, "\t"));)
			field[n++] = f;
		if (n < 4) {
			fprintf(stderr,
			        "ravtrace-batch: a request needs SECONDS OUT ERR ENV [ARG...]: %d fields\n",
			        n);
			return 2;
		}
		fflush(stdout); /* nothing of ours buffered twice */
		pid_t pid = fork();
		if (pid < 0) {
			perror("ravtrace-batch: fork");
			return 1;
		}
		if (pid == 0)
			run_child(field, n);
		int status;
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR) {
				perror("ravtrace-batch: waitpid");
				return 1;
			}
		if (WIFEXITED(status))
			printf("%ld exit %d\n", (long)pid, WEXITSTATUS(status));
		else if (WTERMSIG(status) == SIGALRM)
			printf("%ld timeout\n", (long)pid);
		else
			printf("%ld signal %d\n", (long)pid, WTERMSIG(status));
		fflush(stdout);
	}
	free(line);
	return 0;
}
