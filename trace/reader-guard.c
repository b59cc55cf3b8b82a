/* reader-guard.c - reading the mapped bytes of a file that may change
 * under us.
 *
 * A trace file is mapped, not read: opening a multi-gigabyte trace reads
 * only its frame headers, and the page cache, not the heap, holds what was
 * looked at.  But a mapping of a file that another program truncates
 * (re-recording to the same path with an older recorder, `cp` over it, an
 * editor saving in place) turns every access past the new end into SIGBUS,
 * which kills the process.  The choices were:
 *
 *  - read with pread into private buffers instead of mapping: each chunk
 *    costs a copy and a system call, and the random-access cache, cursors
 *    and merge on several threads would each need their own buffers of
 *    stored bytes; opening would read every frame with a call;
 *  - copy the whole file at open (a private copy): twice the memory of a
 *    big trace, and the time to read all of it before the first frame;
 *  - keep the mapping and survive the fault: the reader touches mapped
 *    bytes in only two places (walking frames at open or poll, and loading
 *    one chunk: checksum plus decompression into a private buffer); every
 *    event is decoded from that private buffer.  Each of those runs under a
 *    guard: a SIGBUS handler that, when the faulting address lies in the
 *    guarded range of the faulting thread, jumps back to the guard, which
 *    reports RAV_TRACE_ECHANGED ("the file changed under us") and marks the
 *    reader, so nothing touches the mapping again.
 *
 * The third keeps the cost of opening and reading where it was (one
 * sigsetjmp, without saving the signal mask, per chunk loaded: tens of
 * instructions against the tens of thousands a chunk's decompression
 * takes) and needs no copy.  The handler is installed once, when the first
 * file is opened; it forwards a fault that is not ours (another address,
 * another thread, no guard) to the disposition that was there before, so a
 * program's own SIGBUS handler still runs, and with the default
 * disposition the process dies as it would have.  A program that installs
 * a SIGBUS handler after opening a trace replaces this one: it then has to
 * forward faults itself (documented in ravtrace.h).
 *
 * A file replaced by rename (what the recorder does, recorder.c) needs
 * none of this: the mapping keeps the old file's pages, and the reader
 * goes on with the trace it opened.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader-private.h"

typedef struct guard {
	sigjmp_buf jb;
	const uint8_t *lo, *hi;
} guard;

static __thread guard *volatile tls_guard;
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	guard *g = tls_guard;
	const uint8_t *a = si ? (const uint8_t *)si->si_addr : NULL;
	if (g && a >= g->lo && a < g->hi) {
		tls_guard = NULL;
		siglongjmp(g->jb, 1);
	}
	/* Not a fault of ours: what would have happened without us. */
	if (previous.sa_flags & SA_SIGINFO) {
		if (previous.sa_sigaction)
			previous.sa_sigaction(sig, si, uc);
		return;
	}
	if (previous.sa_handler == SIG_IGN)
		return;
	if (previous.sa_handler == SIG_DFL) {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS); /* (a fault re-executed after return would do the same) */
		return;
	}
	previous.sa_handler(sig);
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	/* SA_NODEFER: the jump leaves the handler without sigreturn, so
	 * SIGBUS must not stay blocked in the thread (a later fault would
	 * then kill the process whatever the handler) */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &previous) != 0)
		memset(&previous, 0, sizeof previous);
}

void ravt_guard_install(void)
{
	pthread_once(&installed, install);
}

void ravt_changed_error(ravt_reader *rd, rav_trace_error *err)
{
	struct stat st;
	char now[96] = "";
	if (rd->file_fd >= 0 && fstat(rd->file_fd, &st) == 0)
		snprintf(now, sizeof now, " (it has %lld bytes now, %zu when it was opened)",
		         (long long)st.st_size, rd->map_len);
	ravt_set_error(err, RAV_TRACE_ECHANGED, 0, -1,
	               "the file changed under us: it was truncated or rewritten while it was open%s; "
	               "reopen it to read what it holds now",
	               now);
}

bool ravt_file_changed(ravt_reader *rd)
{
	if (!rd->guard_map || rd->file_fd < 0)
		return false;
	if (atomic_load_explicit(&rd->changed_flag, memory_order_relaxed))
		return true;
	struct stat st;
	if (fstat(rd->file_fd, &st) != 0)
		return false;
	int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	if ((uint64_t)st.st_size == rd->map_len && mt == rd->file_mtime_ns)
		return false;
	if ((uint64_t)st.st_size > rd->map_len) {
		/* grown: a recording going on appends (the bytes we mapped are
		 * as they were), a rewrite starts with a new header */
		ravt_header now;
		if (pread(rd->file_fd, &now, sizeof now, 0) == (ssize_t)sizeof now &&
		    memcmp(&now, &rd->hdr, sizeof now) == 0)
			return false;
	}
	atomic_store(&rd->changed_flag, true);
	return true;
}

bool ravt_guarded(ravt_reader *rd, bool (*fn)(void *arg), void *arg, rav_trace_error *err)
{
	if (!rd->guard_map)
		return fn(arg);
	if (atomic_load_explicit(&rd->changed_flag, memory_order_relaxed)) {
		ravt_changed_error(rd, err);
		return false;
	}
	guard g;
	g.lo = rd->data;
	g.hi = rd->data + rd->map_len;
	guard *outer = tls_guard;
	if (sigsetjmp(g.jb, 0)) {
		tls_guard = outer;
		/* (no lock here: a caller may hold the reader's) */
		atomic_store(&rd->changed_flag, true);
		ravt_changed_error(rd, err);
		return false;
	}
	tls_guard = &g;
	bool ok = fn(arg);
	tls_guard = outer;
	return ok;
}
