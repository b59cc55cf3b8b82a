/* flush-test.h - what the tests of a recording's last moments share
 * (abort-flush, crash-flush, exec-flush): the file and the fork, a child
 * that records to the file and allocates, and the parent's opening of what
 * it left. */
#ifndef RAV_FLUSH_TEST_H
#define RAV_FLUSH_TEST_H

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ravioli.h"
#include "trace-test.h"

/* Make the file named by the mkstemp template path, and fork: 0 in the
 * child, its pid in the parent. */
static inline pid_t ft_fork(char *path)
{
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	fflush(NULL);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	return pid;
}

/* In the parent: how the child ended (waitpid's status). */
static inline int ft_wait(pid_t pid)
{
	int status = 0;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return status;
}

/* In the child: record to path from here on (as RAVIOLI_TRACE does), or
 * leave with status 3. */
static inline void ft_record(const char *path)
{
	char err[256];
	if (rav_trace_start(path, false, err, sizeof err) != 0) {
		fprintf(stderr, "child: %s\n", err);
		_exit(3);
	}
}

typedef struct ft_cells {
	rav_heap *heap;
	rav_type type;
	rav_root root;
} ft_cells;

/* In the child: n cells of a type of their own under a new root (n + 1
 * allocations with the roots cell), then a mark; status 4 if one fails.
 * Returns where they are, for a test that allocates more of them. */
static inline ft_cells ft_allocate(const char *type_name, int n, const char *mark)
{
	ft_cells c = {rav_heap_self(), rav_type_register(type_name, RAV_DATA, RAV_REF), 0};
	c.root = rav_root_new(c.heap);
	for (int i = 0; i < n; i++) {
		rav_ref ref;
		if (rav_new_before(c.heap, c.type, rav_root_slot(c.root), 1, &ref) != RAV_OK)
			_exit(4);
	}
	rav_mark(mark);
	return c;
}

/* In the parent: the child's file, opened and indexed (a check fails if
 * indexing does). */
static inline rav_trace *ft_open(const char *path)
{
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_trace *t = rav_trace_open(path, &err);
	if (!t)
		fprintf(stderr, "open: %s\n", err.message);
	REQUIRE(t);
	CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
	return t;
}

#endif
