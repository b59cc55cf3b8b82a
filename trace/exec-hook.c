/* exec-hook.c - a program that calls exec ends its recording and its attach
 * session as exit() would.
 *
 * exec replaces the process image without running atexit or on_exit
 * handlers: the recorder's buffered events (a buffer per thread, the chunk
 * the writer was filling, often all of a short program's events) were lost
 * and the file left without its trailer ("truncated"), and an attached
 * client was told the program had been killed.  So libravioli defines the
 * exec family (as gcc's coverage runtime wraps it): each finishes the trace
 * file (rav_trace_stop, what exit() does) and ends a live session with its
 * END record ("the program called exec"), then calls the C library's own
 * function.  The new image starts afresh: it records only if RAVIOLI_TRACE
 * is in its environment (the recorder removed it from this one's, so a
 * program linked with libravioli does not replace the trace), and listens
 * for attach as any program does.
 *
 * Only the process that records or listens does this: a child of fork()
 * (whose recorder is already off) or of vfork() (which shares its parent's
 * memory and must not touch it) goes straight to the C library, with
 * nothing but getpid() and loads of words on the way, both safe there.
 * The C library's functions are looked up once, when the library is loaded
 * (dlsym is not async-signal-safe: a forked child must not call it).  If
 * the exec fails, the program goes on without recording or attach session,
 * and says so on standard error.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "session.h"

extern char **environ;

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);

static execve_fn real_execve;
static execvpe_fn real_execvpe;
static fexecve_fn real_fexecve;
static execveat_fn real_execveat;

__attribute__((constructor)) static void exec_hook_init(void)
{
	real_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
	real_execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
	real_fexecve = (fexecve_fn)dlsym(RTLD_NEXT, "fexecve");
	real_execveat = (execveat_fn)dlsym(RTLD_NEXT, "execveat");
}

/* Finish what exit() would have finished; true if something was. */
static bool before_exec(const char *what)
{
	bool rec = ravt_recorder_before_exec();
	bool live = ravt_listen_before_exec(what);
	return rec || live;
}

static int failed(bool ended, const char *what, int err)
{
	if (ended)
		fprintf(stderr, "ravioli: exec of %s failed (%s): the trace and the attach session ended at it\n",
		        what ? what : "(null)", strerror(err));
	errno = err;
	return -1;
}

/* The C library's functions, or the system call where the program has no
 * dynamic C library to find them in (a static link). */
static int do_execve(const char *path, char *const argv[], char *const envp[])
{
	if (real_execve)
		return real_execve(path, argv, envp);
	return (int)syscall(SYS_execve, path, argv, envp);
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
	if (real_execvpe)
		return real_execvpe(file, argv, envp);
	if (!file || !*file) {
		errno = ENOENT;
		return -1;
	}
	if (strchr(file, '/'))
		return do_execve(file, argv, envp);
	const char *path = getenv("PATH");
	if (!path)
		path = "/bin:/usr/bin";
	int err = ENOENT;
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char full[4096];
		int n = snprintf(full, sizeof full, "%.*s%s%s", (int)(end - p), p, end > p ? "/" : "", file);
		if (n > 0 && (size_t)n < sizeof full) {
			do_execve(full, argv, envp);
			if (errno == EACCES)
				err = EACCES;
			else if (errno != ENOENT && errno != ENOTDIR)
				return -1;
		}
		if (!*end)
			break;
		p = end;
	}
	errno = err;
	return -1;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	bool ended = before_exec(path);
	do_execve(path, argv, envp);
	return failed(ended, path, errno);
}

int execv(const char *path, char *const argv[])
{
	bool ended = before_exec(path);
	do_execve(path, argv, environ);
	return failed(ended, path, errno);
}

int execvpe(const char *file, char *const argv[], char *const envp[])
{
	bool ended = before_exec(file);
	do_execvpe(file, argv, envp);
	return failed(ended, file, errno);
}

int execvp(const char *file, char *const argv[])
{
	bool ended = before_exec(file);
	do_execvpe(file, argv, environ);
	return failed(ended, file, errno);
}

int fexecve(int fd, char *const argv[], char *const envp[])
{
	bool ended = before_exec("a file descriptor");
	if (real_fexecve)
		real_fexecve(fd, argv, envp);
	else
		syscall(SYS_execveat, fd, "", argv, envp, 0x1000 /* AT_EMPTY_PATH */);
	return failed(ended, "a file descriptor", errno);
}

int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	bool ended = before_exec(path);
	if (real_execveat)
		real_execveat(dirfd, path, argv, envp, flags);
	else
		syscall(SYS_execveat, dirfd, path, argv, envp, flags);
	return failed(ended, path, errno);
}

/* The list forms: their arguments into an array, then the array forms
 * above.  As in the C library, arg (argv[0]) is not NULL (glibc declares it
 * nonnull) and a NULL after it ends the list. */
static size_t count_args(va_list ap)
{
	size_t n = 1;
	while (va_arg(ap, const char *))
		n++;
	return n;
}

/* argv[0] = arg, then the n - 1 arguments after it in *ap, then NULL;
 * leaves *ap at the NULL that ends the list (through a pointer, so that the
 * caller may go on reading it: C11 7.16p3). */
static void fill_args(char **argv, size_t n, const char *arg, va_list *ap)
{
	argv[0] = (char *)arg;
	for (size_t i = 1; i <= n; i++)
		argv[i] = i < n ? va_arg(*ap, char *) : NULL;
}

/* Counts the list, then gives the array to CALL; the macro keeps each
 * list form's va_start in its own variadic function. */
#define EXEC_LIST(arg, CALL)                                                                       \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, arg);                                                                 \
		size_t n = count_args(ap);                                                         \
		va_end(ap);                                                                        \
		char *argv[n + 1];                                                                 \
		va_start(ap, arg);                                                                 \
		fill_args(argv, n, arg, &ap);                                                      \
		CALL;                                                                              \
	} while (0)

int execl(const char *path, const char *arg, ...)
{
	EXEC_LIST(arg, va_end(ap); return execv(path, argv));
}

int execlp(const char *file, const char *arg, ...)
{
	EXEC_LIST(arg, va_end(ap); return execvp(file, argv));
}

int execle(const char *path, const char *arg, ...)
{
	/* the environment follows the NULL that ends the list */
	EXEC_LIST(arg, (void)va_arg(ap, char *); char *const *envp = va_arg(ap, char *const *); va_end(ap);
	          return execve(path, argv, envp));
}
