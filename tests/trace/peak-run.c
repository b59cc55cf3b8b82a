/* peak-run.c - run a command and write its peak resident memory to a file.
 *
 *     peak-run PEAKFILE AS_LIMIT COMMAND [ARG...]
 *
 * Forks, sets the child's core-size limit to 0 and, when AS_LIMIT (bytes)
 * is not 0, its address-space limit, execs COMMAND, waits for it and writes
 * the child's ru_maxrss (KiB, decimal) to PEAKFILE; then exits as the child
 * did (re-raising its signal).  SIGTERM or SIGINT to peak-run kills the
 * child with SIGKILL.
 *
 * hostile.py runs every command through this: a command forked from the
 * test script itself would count the script's pages (hundreds of MB while
 * it parses an export) in its ru_maxrss, since Linux keeps a process's
 * peak across exec; a fresh Python interpreter did the same job at ~0.2-0.3 s
 * of start-up per command (most of the hostile tests' time: over a thousand
 * commands), this at ~1 ms.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t child_pid;

static void on_signal(int sig)
{
	(void)sig;
	if (child_pid > 0)
		kill((pid_t)child_pid, SIGKILL);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: peak-run PEAKFILE AS_LIMIT COMMAND [ARG...]\n");
		return 125;
	}
	char *end;
	errno = 0;
	uintmax_t as_limit = strtoumax(argv[2], &end, 10);
	if (errno || *end || end == argv[2]) {
		fprintf(stderr, "peak-run: AS_LIMIT '%s' is not a number of bytes\n", argv[2]);
		return 125;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	pid_t pid = fork();
	if (pid < 0) {
		perror("peak-run: fork");
		return 125;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		struct rlimit core = {0, 0};
		setrlimit(RLIMIT_CORE, &core);
		if (as_limit) {
			struct rlimit as = {(rlim_t)as_limit, (rlim_t)as_limit};
			if (setrlimit(RLIMIT_AS, &as) != 0) {
				perror("peak-run: setrlimit(RLIMIT_AS)");
				_exit(125);
			}
		}
		execvp(argv[3], argv + 3);
		fprintf(stderr, "peak-run: cannot run %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	child_pid = pid;

	int status;
	struct rusage usage;
	pid_t got;
	while ((got = wait4(pid, &status, 0, &usage)) < 0 && errno == EINTR)
		;
	if (got < 0) {
		perror("peak-run: wait4");
		return 125;
	}
	FILE *f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%ld", usage.ru_maxrss) < 0 || fclose(f) != 0) {
		fprintf(stderr, "peak-run: cannot write %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		signal(sig, SIG_DFL);
		struct rlimit core = {0, 0};
		setrlimit(RLIMIT_CORE, &core);
		raise(sig);
		return 128 + sig; /* (a signal that does not end a process) */
	}
	return WEXITSTATUS(status);
}
