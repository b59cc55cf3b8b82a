/* test-engine-valgrind.c - memcheck catches a read through a stale borrow.
 *
 * Usage: test-engine-valgrind PATH-TO-valgrind-stale-read
 *
 * Runs the helper under `valgrind --error-exitcode=99` and passes when
 * memcheck exits 99 and its report names the moved-away cell's address
 * (the word the helper read, printed by it) in an invalid read.  Skips (exit 77) when the
 * engine was built without Valgrind support, when valgrind is missing, or
 * when this test itself runs under a Valgrind setup (no nesting).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ravioli.h"

static int skip(const char *why)
{
	printf("SKIP: %s\n", why);
	return 77;
}

/* Lower-case copy, so "0x1FFF0" and "0x1fff0" compare equal. */
static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s VALGRIND-STALE-READ-PROGRAM\n", argv[0]);
		return 2;
	}
#if !RAV_VALGRIND
	return skip("the engine was built without Valgrind support (-Dvalgrind=enabled)");
#endif
	if (getenv("RAV_UNDER_VALGRIND"))
		return skip("already running under a Valgrind setup");
	if (system("valgrind --version >/dev/null 2>&1") != 0)
		return skip("valgrind is not installed");

	char log[] = "/tmp/rav-vg-XXXXXX";
	int lfd = mkstemp(log);
	if (lfd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(lfd);
	char out[] = "/tmp/rav-vgout-XXXXXX";
	int ofd = mkstemp(out);
	if (ofd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(ofd);

	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		char logopt[64];
		snprintf(logopt, sizeof logopt, "--log-file=%s", log);
		if (!freopen(out, "w", stdout))
			_exit(126);
		execlp("valgrind", "valgrind", "--tool=memcheck", "--error-exitcode=99", logopt, argv[1],
		       (char *)NULL);
		_exit(127);
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	static char report[1 << 20], output[4096];
	FILE *f = fopen(log, "r");
	size_t rn = f ? fread(report, 1, sizeof report - 1, f) : 0;
	report[rn] = 0;
	if (f)
		fclose(f);
	f = fopen(out, "r");
	size_t on = f ? fread(output, 1, sizeof output - 1, f) : 0;
	output[on] = 0;
	if (f)
		fclose(f);
	unlink(log);
	unlink(out);

	printf("helper output:\n%s\nvalgrind exit status %d\n", output, rc);
	void *from = NULL, *to = NULL, *at = NULL;
	if (sscanf(output, "moved-from %p moved-to %p read-at %p", &from, &to, &at) != 3) {
		printf("FAIL: the helper did not print the moved cell's address\nmemcheck report:\n%s\n", report);
		return 1;
	}
	char addr[32];
	snprintf(addr, sizeof addr, "address %p", at); /* a word of the moved-away cell */
	lower(addr);
	lower(report);
	bool ok = rc == 99 && strstr(report, "invalid read") != NULL && strstr(report, addr) != NULL;
	printf("%s: exit 99: %s, \"invalid read\": %s, \"%s\": %s\n", ok ? "PASS" : "FAIL", rc == 99 ? "yes" : "no",
	       strstr(report, "invalid read") ? "yes" : "no", addr, strstr(report, addr) ? "yes" : "no");
	if (!ok)
		printf("memcheck report:\n%s\n", report);
	return ok ? 0 : 1;
}
