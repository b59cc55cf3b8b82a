/* recorder.c - the recorder programs link: engine buffers in, trace file out.
 *
 * The engine fills a per-thread buffer of raw records with plain stores and
 * only calls us when one is full (exchange) or the thread ends (release).
 * Everything costly - address translation, encoding, compression, writing -
 * happens on one background writer thread, so the recording threads pay
 * only the buffer hand-over.  Buffers cycle between the threads, a queue to
 * the writer and a free list (last in, first out: the buffer a thread takes
 * is the one most recently written out, still in cache).  Memory is
 * bounded: when the writer falls behind and MAX_QUEUED buffers wait, an
 * exchanging thread blocks until one is recycled instead of allocating
 * more.
 *
 * The hand-over costs a recording thread no system call in the usual case:
 * an idle writer naps rather than wait to be woken for each buffer, and a
 * producer wakes it only when WAKE_AT buffers wait, when a thread ends, or
 * when the writer has been idle long enough to sleep without a timeout.
 * Waking it per buffer cost the recording thread a futex call, and often a
 * context switch, every 8192 events (about 2000 per rav-bench trace-record
 * run; waking the writer under the lock also made it block at once on that
 * lock).  The nap follows the producers' pace (WRITER_NAP_MIN_US to
 * WRITER_NAP_MAX_US: halved when it ends with two or more buffers waiting,
 * doubled when it ends with none), so that a writer that keeps up takes
 * each buffer soon after it fills: the ring a recording thread writes
 * through stays at two or three buffers, where a fixed 20 ms nap let
 * WAKE_AT buffers wait each time (five buffers, 1.25 MiB, more than the
 * 1 MiB L2 it shares with the program: cachegrind with a 1 MiB last level
 * gives 0.33 write misses and 0.013 extra read misses of the program per
 * event for such a ring, against none for one reused buffer).  A writer
 * that falls behind (rav-bench's tree build, or a loaded machine) never
 * naps, and the ring grows to its cap as before.
 *
 * The trace is written under a temporary name in the same directory (a
 * new file, never an existing one truncated) and renamed to its path as
 * soon as its header is written, before the program runs on: a reader that
 * has the previous trace at that path open keeps reading the old file
 * (truncating a file that is mapped would kill it with SIGBUS), while
 * anyone opening the path from then on finds the recording in progress,
 * and a program that crashes leaves its readable prefix at the path it was
 * given (each chunk is one write()).  Renaming at the end instead would
 * leave a crashed program's trace under a name nobody looks for.  A path
 * that is not a regular file (a FIFO, /dev/stdout, a character device) is
 * written to directly; a symbolic link is followed, so the file it points
 * to is the one replaced; a file in a directory where no new file may be
 * created is truncated and written in place, as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "rav-tsc.h"
#include "session.h"
#include "ravioli.h"
#include "ravtrace.h"

/* Buffer size, measured (rav-bench trace-record's workload, 2026-12-02):
 * the ring a thread writes through is the buffers waiting for the writer
 * plus the one it fills; with a fixed 20 ms nap it was at least WAKE_AT + 1
 * buffers (1.25 MiB), more than the 1 MiB L2 of the machines we measure on,
 * so each line of records was a cache miss (the writer's nap now follows
 * the producers' pace, above): 0.37 L2 misses per event in cachegrind with a 1 MiB last
 * level, against 0.02 for one buffer reused and 0.06 for a ring of six
 * 64 KiB buffers.  64 KiB buffers were tried and dropped: the writer is
 * then woken four times as often, the recording thread was preempted more
 * (involuntary switches up ~20%) and was no faster in interleaved runs;
 * and while the writer is behind (the tree build) the ring sits at its
 * 4 MiB cap whatever the buffer size.  Page faults: buffers are recycled,
 * never freed, so only the ring's first touch faults, 64 per buffer (the
 * recording thread, RUSAGE_THREAD: 9701 faults per run through 16 buffers,
 * 8741 through one, 9803 not recording), 0.00006 per event, ~2 ms per run:
 * not worth populating them ahead. */
#define BUF_RECORDS 8192        /* 256 KiB per buffer */
#define MAX_QUEUED 16           /* buffers waiting for the writer before producers block */
#define RELEASED 1u             /* evbuf flag: the thread's last buffer (or a flush) */
#define WAKE_AT 4               /* buffers waiting before a producer wakes a napping writer */
#define WRITER_NAP_MAX_US 20000 /* the longest buffers may wait for a napping writer */
#define WRITER_NAP_MIN_US 100   /* the shortest nap (while buffers fill fast) */
#define WRITER_IDLE_MS 500      /* idle time before the writer sleeps until woken */

/* What the writer thread is doing (under the lock). */
enum { WRITER_BUSY, WRITER_NAPPING, WRITER_ASLEEP };

enum { COMPRESS_AUTO, COMPRESS_ALWAYS, COMPRESS_NEVER };

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work, freed;
	rav_evbuf *head, *tail; /* queue to the writer */
	size_t queued;
	rav_evbuf *free_list;
	int writer_state;           /* WRITER_* */
	unsigned producers_waiting; /* threads waiting for a free buffer */
	bool started, stopping, stopped;
	bool crashed;               /* a fatal signal is being handled: producers hand nothing over */
	int writer_done;            /* atomic: the writer finished the file (or gave up) */
	pthread_t writer;
	int writer_up;    /* atomic: the writer thread runs its own code (atfork_prepare) */
	int started_flag; /* atomic: a writer thread was started, by start_pid */
	pid_t start_pid;
	int fd;
	ravt_fdid fd_id;   /* fd, as opened: written only while it is still ours */
	char *reopen_path; /* the file's path (a regular file we made or truncated), or NULL */
	bool fd_lost_told;
	ravt_writer *w;
	char *rename_from, *rename_to; /* the temporary name until the header is written */
	bool pool_known;
	bool write_failed;
	int compress_mode; /* COMPRESS_* (RAVIOLI_TRACE_COMPRESS) */
	uint64_t dropped;
	rav_recorder rec;
	ravt_selfmaps maps; /* the program's memory map, for call sites */
	/* RAVIOLI_TRACE_STATS=1: what recording cost, printed at the end. */
	bool stats;
	uint64_t buffers, waits, wait_ns, writer_cpu_ns;
	uint64_t allocated;   /* buffers ever allocated: the most the ring held */
	uint64_t wakes;       /* producers' wake-ups of a napping or sleeping writer */
	uint64_t at_level[5]; /* buffers written at zstd 1, -1, -5, -10, raw */
} R = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.freed = PTHREAD_COND_INITIALIZER,
	.fd = -1,
	.fd_id = {.fd = -1},
};

static rav_evbuf *buf_new(void)
{
	rav_evbuf *b = malloc(sizeof *b + BUF_RECORDS * sizeof(rav_raw_event));
	if (!b)
		return NULL;
	b->next = NULL;
	b->thread = 0;
	b->count = 0;
	b->cap = BUF_RECORDS;
	b->flags = 0;
	return b;
}

/* Lock held.  Returns whether the writer must be woken (by the caller,
 * after unlocking: woken under the lock, it would block on it at once);
 * `urgent`: a thread's last buffer, written out without waiting for more. */
static bool enqueue(rav_evbuf *b, bool urgent)
{
	b->next = NULL;
	if (R.tail)
		R.tail->next = b;
	else
		R.head = b;
	R.tail = b;
	R.queued++;
	return R.writer_state == WRITER_ASLEEP ||
	       (R.writer_state == WRITER_NAPPING && (urgent || R.queued >= WAKE_AT));
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Lock held, R.crashed: the process is dying of a signal and its handler
 * has taken the threads' buffers as they stand (crash_flush).  A thread
 * that handed one over now would hand over a buffer already queued, or
 * take one from the free list that another thread still writes in: it
 * waits for the writer to finish the file (the process normally ends
 * first), then records nothing more (its own buffer back, emptied and
 * counted as dropped: no other thread has it).  Returns the buffer for
 * the thread (NULL: none), with the lock released. */
static rav_evbuf *after_crash(rav_evbuf *full)
{
	while (!__atomic_load_n(&R.writer_done, __ATOMIC_ACQUIRE)) {
		pthread_mutex_unlock(&R.lock);
		struct timespec d = { 0, 1000 * 1000 };
		nanosleep(&d, NULL);
		pthread_mutex_lock(&R.lock);
	}
	if (full) {
		R.dropped += full->count;
		full->count = 0;
		full->flags = 0;
	}
	pthread_mutex_unlock(&R.lock);
	return full;
}

static rav_evbuf *rec_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	pthread_mutex_lock(&R.lock);
	if (R.crashed)
		return after_crash(full);
	bool wake = false;
	if (full) {
		if (R.stopped) {
			/* Recording is over: recycle the buffer, count what is lost. */
			R.dropped += full->count;
			full->count = 0;
			full->flags = 0;
			pthread_mutex_unlock(&R.lock);
			return full;
		}
		full->flags = 0;
		wake = enqueue(full, false);
	}
	rav_evbuf *b = NULL;
	for (;;) {
		if (R.free_list) {
			b = R.free_list;
			R.free_list = b->next;
			break;
		}
		/* A thread's first buffer is always granted (it holds nothing to
		 * wait on); further ones only while the queue is short. */
		if (!full || R.queued < MAX_QUEUED) {
			b = buf_new();
			R.allocated += b != NULL;
			break;
		}
		if (R.stopped)
			break;
		/* about to wait for the writer: it must be at work */
		if (R.writer_state != WRITER_BUSY)
			pthread_cond_signal(&R.work);
		wake = false;
		uint64_t t0 = R.stats ? mono_ns() : 0;
		R.producers_waiting++;
		pthread_cond_wait(&R.freed, &R.lock);
		R.producers_waiting--;
		if (R.crashed)
			return after_crash(NULL); /* `full` is queued already */
		if (R.stats) {
			R.waits++;
			R.wait_ns += mono_ns() - t0;
		}
	}
	R.wakes += wake;
	pthread_mutex_unlock(&R.lock);
	if (wake)
		pthread_cond_signal(&R.work);
	if (b) {
		b->count = 0;
		b->flags = 0;
		b->next = NULL;
	}
	return b;
}

static void rec_release(rav_evbuf *last, void *user)
{
	(void)user;
	if (!last)
		return;
	pthread_mutex_lock(&R.lock);
	if (R.crashed) {
		after_crash(last); /* (not recycled: its thread may use it no more) */
		return;
	}
	bool wake = false;
	if (R.stopped) {
		R.dropped += last->count;
		last->next = R.free_list;
		R.free_list = last;
	} else {
		last->flags |= RELEASED;
		wake = enqueue(last, true);
		R.wakes += wake;
	}
	pthread_mutex_unlock(&R.lock);
	if (wake)
		pthread_cond_signal(&R.work);
}

/* The program closed the trace's descriptor (a daemon closes every one
 * above 2 at its start, often while the writer runs; the number may be a
 * file or pipe of its own by now, which the writer must never write into):
 * the file is opened again by its path, for appending, if it is still the
 * same file.  False if not (a pipe, or a file replaced or removed). */
static bool reopen_output(void)
{
	const char *path = R.rename_from ? R.rename_from : R.reopen_path;
	if (!path)
		return false;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	ravt_fdid id;
	fd = ravt_fd_keep(fd, &id);
	if (id.fd != fd || id.dev != R.fd_id.dev || id.ino != R.fd_id.ino) {
		ravt_fd_drop(&id);
		return false;
	}
	R.fd = fd;
	R.fd_id = id;
	return true;
}

static int sink_fd(const void *data, size_t len, void *user)
{
	(void)user;
	const char *p = data;
	while (len) {
		if (!ravt_fd_ours(&R.fd_id) && !reopen_output()) {
			if (!R.fd_lost_told) {
				R.fd_lost_told = true;
				fprintf(stderr,
				        "ravioli: the program closed the trace's descriptor (%d) and it cannot be opened "
				        "again: the trace ends here\n",
				        R.fd_id.fd);
			}
			R.fd = -1;
			errno = EBADF;
			return -1;
		}
		ssize_t n = write(R.fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	/* The header is written: the new file takes the path. */
	if (R.rename_from) {
		int rc = rename(R.rename_from, R.rename_to);
		int e = errno;
		if (rc != 0)
			unlink(R.rename_from);
		free(R.rename_from);
		free(R.reopen_path);
		R.reopen_path = rc == 0 ? R.rename_to : NULL; /* (sink: opened again there) */
		if (rc != 0)
			free(R.rename_to);
		R.rename_from = R.rename_to = NULL;
		if (rc != 0) {
			errno = e;
			return -1;
		}
	}
	return 0;
}

/* Create the file the trace goes to: a new file next to `path`, renamed to
 * it once the header is in (sink_fd); see the top of this file.  -1 with
 * errbuf filled. */
static int create_output(const char *path, char *errbuf, size_t errlen)
{
	struct stat st;
	char *target = NULL;
	if (stat(path, &st) == 0) {
		if (!S_ISREG(st.st_mode)) {
			int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
			if (fd < 0)
				snprintf(errbuf, errlen, "cannot open %s for the trace: %s", path, strerror(errno));
			return fd;
		}
		target = realpath(path, NULL); /* through a symbolic link: replace its target */
	} else if (errno == ENOENT) {
		struct stat lst;
		if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
			/* a link to a file that does not exist yet: create it there */
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
			if (fd < 0)
				snprintf(errbuf, errlen, "cannot create trace file %s: %s", path, strerror(errno));
			return fd;
		}
		target = strdup(path);
	} else {
		snprintf(errbuf, errlen, "cannot create trace file %s: %s", path, strerror(errno));
		return -1;
	}
	if (!target) {
		snprintf(errbuf, errlen, "cannot create trace file %s: %s", path, strerror(errno));
		return -1;
	}
	size_t n = strlen(target) + 64;
	char *tmp = malloc(n);
	if (!tmp) {
		free(target);
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	/* "DIR/.NAME.recording-PID-N": hidden, and named after what it becomes */
	const char *slash = strrchr(target, '/');
	int dirlen = slash ? (int)(slash - target + 1) : 0;
	int fd = -1;
	for (unsigned k = 0; k < 100 && fd < 0; k++) {
		snprintf(tmp, n, "%.*s.%s.recording-%ld-%u", dirlen, target, target + dirlen, (long)getpid(), k);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		/* a directory we may not create files in, holding a file we may
		 * write: write it in place, as a recorder that cannot rename must */
		int e = errno;
		free(tmp);
		free(target);
		fd = e == EACCES || e == EPERM || e == EROFS ? open(path, O_WRONLY | O_TRUNC | O_CLOEXEC) : -1;
		if (fd < 0)
			snprintf(errbuf, errlen, "cannot create trace file %s: %s", path, strerror(e));
		return fd;
	}
	R.rename_from = tmp;
	R.rename_to = target;
	return fd;
}

static void drop_rename(void)
{
	if (R.rename_from)
		unlink(R.rename_from);
	free(R.rename_from);
	free(R.rename_to);
	R.rename_from = R.rename_to = NULL;
}

/* The pool's address is needed before the first pool address is encoded.
 * Asking for it earlier would initialise the pool (and make a later
 * rav_init fail), so wait for a buffer that holds an address. */
static void learn_pool(const rav_evbuf *b)
{
	if (R.pool_known)
		return;
	for (uint32_t i = 0; i < b->count; i++) {
		const rav_raw_event *e = &b->ev[i];
		unsigned shape = ravt_shape_of(RAV_EV_KIND(e));
		if (ravt_shape_addr_mask(shape) && e->a) {
			void *base = rav_pool_base();
			if (!base)
				return;
			rav_pool_stats st;
			rav_pool_stats_get(&st);
			ravt_writer_set_pool(R.w, (uint64_t)(uintptr_t)base, (uint64_t)st.reserved_pages * RAV_PAGE_SIZE);
			R.pool_known = true;
			return;
		}
	}
}

/* Compression is most of the writer's work (zstd level 1 costs about
 * twice the encoding).  In auto mode, when the producers get ahead, the
 * writer steps down to zstd's fast levels, which still halve the size of
 * typical traces, and stores chunks raw only when the queue is nearly full
 * (raw events average 4-6 bytes, above the 4-byte budget), rather than make
 * the recording threads wait. */
static int level_for(size_t queued)
{
	if (R.compress_mode == COMPRESS_NEVER)
		return 0;
	if (R.compress_mode == COMPRESS_ALWAYS || queued < MAX_QUEUED / 4)
		return 1;
	if (queued < MAX_QUEUED / 2)
		return -1;
	if (queued < MAX_QUEUED * 11 / 16)
		return -5;
	if (queued < MAX_QUEUED * 7 / 8)
		return -10;
	return 0;
}

/* One nap: wait for work until `nap_ns` from now (or a producer's
 * signal).  Returns the nanoseconds napped. */
static uint64_t writer_nap(uint64_t nap_ns)
{
	uint64_t t0 = mono_ns(), end = t0 + nap_ns;
	struct timespec until = { (time_t)(end / 1000000000u), (long)(end % 1000000000u) };
	pthread_cond_timedwait(&R.work, &R.lock, &until);
	return mono_ns() - t0;
}

static void *writer_main(void *arg)
{
	(void)arg;
	__atomic_store_n(&R.writer_up, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&R.lock);
	uint64_t nap_ns = (uint64_t)WRITER_NAP_MAX_US * 1000u, idle_ns = 0;
	for (;;) {
		while (!R.head && !R.stopping) {
			if (idle_ns < (uint64_t)WRITER_IDLE_MS * 1000000u) {
				R.writer_state = WRITER_NAPPING;
				uint64_t napped = writer_nap(nap_ns);
				/* The nap follows the producers' pace: several buffers
				 * waiting at its end means they waited too long (the ring
				 * grew); none, that it could have slept longer. */
				if (R.queued >= 2 && nap_ns / 2 >= (uint64_t)WRITER_NAP_MIN_US * 1000u)
					nap_ns /= 2;
				else if (R.queued == 0 && nap_ns * 2 <= (uint64_t)WRITER_NAP_MAX_US * 1000u)
					nap_ns *= 2;
				if (!R.head)
					idle_ns += napped;
			} else {
				R.writer_state = WRITER_ASLEEP;
				pthread_cond_wait(&R.work, &R.lock);
			}
		}
		R.writer_state = WRITER_BUSY;
		if (!R.head)
			break;
		idle_ns = 0;
		rav_evbuf *b = R.head;
		R.head = b->next;
		if (!R.head)
			R.tail = NULL;
		R.queued--;
		bool failed = R.write_failed;
		int level = level_for(R.queued);
		R.buffers++;
		R.at_level[level == 1 ? 0 : level == -1 ? 1 : level == -5 ? 2 : level == -10 ? 3 : 4]++;
		pthread_mutex_unlock(&R.lock);

		int rc = 0;
		if (!failed) {
			ravt_writer_set_level(R.w, level);
			learn_pool(b);
			/* (a buffer the crash handler took from a running thread
			 * may still grow: its count is read once, published) */
			rc = ravt_writer_add(R.w, b->thread, b->ev, __atomic_load_n(&b->count, __ATOMIC_ACQUIRE));
			if (rc == 0 && (b->flags & RELEASED)) {
				rc = ravt_writer_flush_thread(R.w, b->thread);
				uint32_t cur = ravt_writer_current_thread(R.w);
				if (rc == 0 && cur != b->thread)
					rc = ravt_writer_flush_thread(R.w, cur);
			}
			if (rc != 0)
				fprintf(stderr, "ravioli: trace recording stopped: %s\n", ravt_writer_error(R.w));
		}

		pthread_mutex_lock(&R.lock);
		if (failed || rc != 0) {
			R.write_failed = true;
			R.dropped += b->count;
		}
		if (!R.crashed) {
			b->count = 0;
			b->flags = 0;
			b->next = R.free_list;
			R.free_list = b;
		} /* else: a buffer the crash handler took from a thread that may still write in it */
		if (R.producers_waiting) {
			/* woken outside the lock, which they need at once */
			pthread_mutex_unlock(&R.lock);
			pthread_cond_broadcast(&R.freed);
			pthread_mutex_lock(&R.lock);
		}
	}
	R.stopped = true;
	pthread_cond_broadcast(&R.freed);
	struct timespec cpu;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
	R.writer_cpu_ns = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
	uint64_t dropped = R.dropped;
	bool failed = R.write_failed;
	pthread_mutex_unlock(&R.lock);
	if (!failed && ravt_writer_finish(R.w, dropped) != 0)
		fprintf(stderr, "ravioli: finishing the trace failed: %s\n", ravt_writer_error(R.w));
	__atomic_store_n(&R.writer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* TSC ticks per second, measured against CLOCK_MONOTONIC over ~10 ms. */
static uint64_t calibrate_tsc(uint64_t *tsc_start)
{
	uint64_t t0 = mono_ns(), c0 = rav__tsc_now();
	*tsc_start = c0;
	struct timespec d = { 0, 10 * 1000 * 1000 };
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
	uint64_t t1 = mono_ns(), c1 = rav__tsc_now();
	if (t1 <= t0 || c1 <= c0)
		return 0;
	return (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0));
}

/* The process's command line as the header stores it (NUL-separated
 * arguments, trailing NULs dropped); shared with the listener and the
 * live session.  0 if unreadable. */
size_t ravt_read_cmdline(char *buf, size_t cap)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t n = 0;
	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	while (n && buf[n - 1] == 0)
		n--;
	return n;
}

/* The writer naps with a timeout on the monotonic clock (a change of the
 * wall clock must not make it sleep for hours).  No thread waits on it
 * when this runs (not destroyed first: in a child after fork, destroying
 * it would wait for the parent's writer, which does not exist there). */
static void init_work_cond(void)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&R.work, &a);
	pthread_condattr_destroy(&a);
}

/* A program that forks in its first instants (RAVIOLI_TRACE set) forks
 * while the writer thread, started by the constructor, may still be
 * starting: under AddressSanitizer that start-up holds the sanitizer's
 * locks, which a child forked meanwhile inherits held (the listener's
 * case, listen.c's atfork_prepare; attach-fork-early --trace).  fork waits
 * until the thread runs its own code: microseconds, once; at most a second. */
static void atfork_prepare(void)
{
	if (!__atomic_load_n(&R.started_flag, __ATOMIC_ACQUIRE) || getpid() != R.start_pid)
		return;
	for (int i = 0; i < 20000 && !__atomic_load_n(&R.writer_up, __ATOMIC_ACQUIRE); i++) {
		struct timespec d = {0, 50 * 1000};
		nanosleep(&d, NULL);
	}
}

static void atfork_child(void)
{
	/* The writer thread does not exist in the child: the child does not
	 * record (its events would interleave with the parent's file). */
	pthread_mutex_init(&R.lock, NULL);
	init_work_cond();
	pthread_cond_init(&R.freed, NULL);
	R.head = R.tail = NULL;
	R.queued = 0;
	if (R.started) {
		R.stopping = R.stopped = true;
		R.write_failed = true;
		if (R.fd >= 0 && ravt_fd_ours(&R.fd_id))
			close(R.fd);
		R.fd = -1;
		R.fd_id.fd = -1;
	}
}

/* ---- A program that dies of a signal ----
 *
 * A crash in the program's own code (SIGSEGV, SIGBUS, SIGFPE, SIGILL, or
 * abort()) would lose what every thread still holds in its buffer: up to
 * BUF_RECORDS events each, often all of a short program's.  While a file
 * is recorded (RAVIOLI_TRACE_SIGNALS=0 turns it off), a handler for those
 * signals does what it can, in the order that keeps most:
 *
 *   - producers are stopped (R.crashed: a thread that hands over a buffer
 *     from then on waits for the end of the process instead, so no buffer
 *     is queued twice or reused while it is written out);
 *   - the crashing thread's buffer, with an ERROR event (status 0, no
 *     engine error: "the program died of SIGSEGV (signal 11) at address
 *     0x..."; in a spare buffer when its own has no room), is queued;
 *   - so is every other thread's current buffer, as far as it is
 *     published (the records a live reader may read: an event being
 *     written when the signal came is not among them);
 *   - the writer writes the queue out and finishes the file, as at exit.
 *
 * Every wait is bounded: the recorder's lock and the engine's registry
 * lock are only tried (a thread that died holding one must not hang the
 * handler), and the writer gets WRITER_GRACE_MS; past that the handler
 * gives up (saying so on stderr) and the signal takes its course.  Then
 * the disposition the program had before recording started is put back
 * and the signal delivered again (a fault re-executes, a raised signal is
 * raised again): the exit status, the core dump, or the program's own
 * handler, are what they were without the recorder.  A program that
 * installs a handler after recording started replaces this one (the
 * recorder then keeps nothing more than before).  Only the thread that
 * started the recording has an alternate signal stack (a stack overflow
 * on another thread is not caught).  A program that handles SIGSEGV to
 * recover (and goes on) should set RAVIOLI_TRACE_SIGNALS=0: recording
 * stops at the first such signal. */

#define WRITER_GRACE_MS 2000 /* the writer's time to finish the file after a crash */
#define CRASH_BUFS 4096      /* threads' buffers the handler can queue */
#define SPARE_RECORDS 272    /* a clock reading, the ERROR event and 4096 bytes of text */

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
#define N_CRASH_SIGNALS (sizeof crash_signals / sizeof crash_signals[0])
static struct {
	bool installed;
	struct sigaction old[N_CRASH_SIGNALS]; /* the program's dispositions before ours */
	rav_evbuf *spare;                      /* for the ERROR event when the thread's buffer is full */
	int owner;                             /* atomic: the thread (tid) handling a crash */
	int done;                              /* atomic: it has finished */
	rav_evbuf *bufs[CRASH_BUFS];           /* other threads' buffers, as collected */
	uint32_t nbufs;
	void *altstack;
} C;

static int crash_index(int sig)
{
	for (unsigned i = 0; i < N_CRASH_SIGNALS; i++)
		if (crash_signals[i] == sig)
			return (int)i;
	return -1;
}

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGABRT: return "SIGABRT";
	default: return "a signal";
	}
}

/* Async-signal-safe text building (no stdio in a handler). */
typedef struct {
	char *p;
	size_t len, cap;
} sbuf;

static void put_str(sbuf *b, const char *s)
{
	while (*s && b->len + 1 < b->cap)
		b->p[b->len++] = *s++;
	b->p[b->len] = 0;
}

static void put_num(sbuf *b, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (base == 16)
		put_str(b, "0x");
	while (n && b->len + 1 < b->cap)
		b->p[b->len++] = tmp[--n];
	b->p[b->len] = 0;
}

/* "the program died of SIGSEGV (signal 11) at address 0x10" */
static size_t crash_text(char *out, size_t cap, int sig, const siginfo_t *si)
{
	sbuf b = { out, 0, cap };
	out[0] = 0;
	put_str(&b, "the program died of ");
	put_str(&b, signal_name(sig));
	put_str(&b, " (signal ");
	put_num(&b, (uint64_t)sig, 10);
	put_str(&b, ")");
	if (si && si->si_code <= 0) {
		/* sent: kill(), raise(), abort() */
		if (si->si_pid == getpid())
			put_str(&b, sig == SIGABRT ? ", raised by the program (abort())" : ", raised by the program");
		else {
			put_str(&b, ", sent by process ");
			put_num(&b, (uint64_t)si->si_pid, 10);
		}
	} else if (si && sig != SIGABRT) {
		put_str(&b, " at address ");
		put_num(&b, (uint64_t)(uintptr_t)si->si_addr, 16);
	}
	return b.len;
}

static void say(const char *what)
{
	char line[256];
	sbuf b = { line, 0, sizeof line };
	put_str(&b, "ravioli: trace: ");
	put_str(&b, what);
	put_str(&b, "\n");
	ssize_t rc = write(2, line, b.len);
	(void)rc;
}

static bool lock_within(pthread_mutex_t *m, int ms)
{
	for (int i = 0; i < ms; i++) {
		if (pthread_mutex_trylock(m) == 0)
			return true;
		struct timespec d = { 0, 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	return false;
}

static void collect_buffer(rav_evbuf *b, uint32_t count, void *user)
{
	(void)user;
	if (count && C.nbufs < CRASH_BUFS)
		C.bufs[C.nbufs++] = b;
}

/* See the top of this section.  Returns whether the file was finished. */
static bool crash_flush(int sig, const siginfo_t *si)
{
	if (!lock_within(&R.lock, 500)) {
		say("the recorder was busy when the program died: its buffered events are lost");
		return false;
	}
	if (!R.started || R.stopping || R.crashed || pthread_equal(pthread_self(), R.writer)) {
		pthread_mutex_unlock(&R.lock);
		return false;
	}
	R.crashed = true;
	pthread_mutex_unlock(&R.lock);

	char text[160];
	size_t len = crash_text(text, sizeof text, sig, si);
	uint32_t heap;
	rav_evbuf *own = rav_record_detach(&heap), *extra = NULL;
	if (!own || !rav_record_put_text(own, heap, RAV_EV_ERROR, 0, text, len)) {
		if (C.spare && rav_record_put_text(C.spare, heap, RAV_EV_ERROR, 0, text, len))
			extra = C.spare;
	}
	C.nbufs = 0;
	bool others = rav_record_foreach_buffer_try(collect_buffer, NULL);

	if (!lock_within(&R.lock, 500)) {
		say("the recorder was busy when the program died: its buffered events are lost");
		return false;
	}
	if (own && own->count) {
		own->flags |= RELEASED;
		enqueue(own, true);
	}
	if (extra) {
		extra->flags |= RELEASED;
		enqueue(extra, true);
	}
	for (uint32_t i = 0; i < C.nbufs; i++) {
		C.bufs[i]->flags |= RELEASED;
		enqueue(C.bufs[i], true);
	}
	R.stopping = true;
	pthread_mutex_unlock(&R.lock);
	pthread_cond_signal(&R.work);
	if (!others)
		say("the other threads' buffered events are lost (their registry was busy)");
	for (int i = 0; i < WRITER_GRACE_MS; i++) {
		if (__atomic_load_n(&R.writer_done, __ATOMIC_ACQUIRE))
			return true;
		struct timespec d = { 0, 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	say("the trace writer did not finish in time after the program died: the trace ends earlier");
	return false;
}

/* The disposition the program had, and the signal again (see above). */
static void crash_chain(int sig, const siginfo_t *si)
{
	int k = crash_index(sig);
	if (k >= 0)
		sigaction(sig, &C.old[k], NULL);
	else
		signal(sig, SIG_DFL);
	/* A fault recurs when the instruction is run again; a signal that was
	 * sent is sent again (pending until this handler returns). */
	if (!si || si->si_code <= 0)
		raise(sig);
}

static void crash_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	int self = (int)syscall(SYS_gettid), none = 0;
	if (__atomic_compare_exchange_n(&C.owner, &none, self, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		crash_flush(sig, si);
		__atomic_store_n(&C.done, 1, __ATOMIC_RELEASE);
	} else if (none != self) {
		/* Another thread is handling a crash: it ends the process soon;
		 * this one waits for it (bounded), then takes its own course. */
		for (int i = 0; i < WRITER_GRACE_MS + 1500 && !__atomic_load_n(&C.done, __ATOMIC_ACQUIRE); i++) {
			struct timespec d = { 0, 1000 * 1000 };
			nanosleep(&d, NULL);
		}
	}
	/* (none == self: a fault inside the handler itself: give up at once) */
	crash_chain(sig, si);
	errno = saved;
}

/* The engine's misuse handler (the default error handler) is about to
 * abort: keep every thread's buffer, as for a crash.  rav_trace_stop would
 * write out only the aborting thread's: the others still run (a thread
 * blocked in rav_recv, say) and theirs, with the types, pages and messages
 * the aborting thread's last events name, were lost, leaving a trace that
 * replay refuses at its first hand-off.  The abort() that follows finds
 * the crash handled (C.owner is this thread) and takes its course. */
static void misuse_abort(void)
{
	int self = (int)syscall(SYS_gettid), none = 0;
	if (__atomic_compare_exchange_n(&C.owner, &none, self, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		siginfo_t si; /* as abort() raises it: "..., raised by the program (abort())" */
		memset(&si, 0, sizeof si);
		si.si_signo = SIGABRT;
		si.si_code = SI_USER;
		si.si_pid = getpid();
		crash_flush(SIGABRT, &si);
		__atomic_store_n(&C.done, 1, __ATOMIC_RELEASE);
	}
}

static void crash_install(void)
{
	const char *env = getenv("RAVIOLI_TRACE_SIGNALS");
	if (C.installed || (env && strcmp(env, "0") == 0))
		return;
	if (!C.spare) {
		C.spare = malloc(sizeof *C.spare + SPARE_RECORDS * sizeof(rav_raw_event));
		if (C.spare) {
			memset(C.spare, 0, sizeof *C.spare);
			C.spare->cap = SPARE_RECORDS;
		}
	}
	/* An alternate stack for this thread (a stack overflow in it is then
	 * caught), unless the program set one up. */
	stack_t cur;
	if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE) && !C.altstack) {
		size_t size = 64 * 1024;
		C.altstack = malloc(size);
		if (C.altstack) {
			stack_t ss = { .ss_sp = C.altstack, .ss_size = size, .ss_flags = 0 };
			if (sigaltstack(&ss, NULL) != 0) {
				free(C.altstack);
				C.altstack = NULL;
			}
		}
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = crash_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < N_CRASH_SIGNALS; i++)
		sigaction(crash_signals[i], &sa, &C.old[i]);
	C.installed = true;
}

/* Recording ended normally: the program's dispositions back (those it
 * changed since are its own and stay). */
static void crash_uninstall(void)
{
	if (!C.installed)
		return;
	for (unsigned i = 0; i < N_CRASH_SIGNALS; i++) {
		struct sigaction cur;
		if (sigaction(crash_signals[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == crash_handler)
			sigaction(crash_signals[i], &C.old[i], NULL);
	}
	C.installed = false;
}

/* The process that records (0: none): a child of vfork shares R with its
 * parent, and must not finish the parent's recording (exec-hook.c). */
static pid_t recording_pid;

int rav_trace_start(const char *path, bool access, char *errbuf, size_t errlen)
{
	char dummy[8];
	if (!errbuf) {
		errbuf = dummy;
		errlen = sizeof dummy;
	}
	pthread_mutex_lock(&R.lock);
	bool busy = R.started;
	pthread_mutex_unlock(&R.lock);
	if (busy) {
		snprintf(errbuf, errlen, "a recording is already running (one per process)");
		return -1;
	}
	if (!path || !*path) {
		snprintf(errbuf, errlen, "no trace path given");
		return -1;
	}
	int fd;
	bool own_fd = true;
	if (strncmp(path, "fd:", 3) == 0) {
		/* Write to an inherited descriptor (a pipe or socket: live attach). */
		char *end;
		long n = strtol(path + 3, &end, 10);
		if (*end || n < 0 || n > 1 << 20) {
			snprintf(errbuf, errlen, "bad descriptor in \"%s\" (expected fd:NUMBER)", path);
			return -1;
		}
		fd = (int)n;
		own_fd = false;
	} else {
		fd = create_output(path, errbuf, errlen);
		if (fd < 0)
			return -1;
	}
	/* Out of the program's way (64 or above) and known by identity: a
	 * daemon closing every descriptor above 2 must not have the writer
	 * write into the file or pipe that took the number (sink_fd). */
	free(R.reopen_path);
	R.reopen_path = NULL;
	R.fd_lost_told = false;
	if (own_fd) {
		fd = ravt_fd_keep(fd, &R.fd_id);
		struct stat sb;
		if (!R.rename_from && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
			R.reopen_path = realpath(path, NULL);
	} else {
		struct stat sb;
		R.fd_id.fd = -1;
		if (fstat(fd, &sb) == 0)
			R.fd_id = (ravt_fdid){.fd = fd, .dev = sb.st_dev, .ino = sb.st_ino};
	}

	/* Call sites: the return address of every engine call, or a
	 * backtrace (RAVIOLI_TRACE_SITES, RAVIOLI_TRACE_STACK). */
	int site_depth = ravt_site_depth_from_env(errbuf, errlen);
	if (site_depth < 0) {
		if (own_fd)
			close(fd);
		return -1;
	}
	unsigned depth = (unsigned)site_depth;
	static char cmdline[4096];
	ravt_selfmaps_free(&R.maps);
	ravt_writer_params p = {
		.word_size = (uint8_t)sizeof(uintptr_t),
		.cell_size = (uint16_t)RAV_CELL_SIZE,
		.page_size = RAV_PAGE_SIZE,
		.flags = (access ? RAVT_HF_ACCESS : 0) |
			 (depth ? RAVT_HF_SITES | (uint32_t)depth << RAVT_HF_STACK_SHIFT : 0),
		.sites_hook = ravt_selfmaps_hook,
		.sites_user = &R.maps,
	};
	p.tsc_hz = calibrate_tsc(&p.tsc_start);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	p.start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	p.cmdline = cmdline;
	p.cmdline_len = ravt_read_cmdline(cmdline, sizeof cmdline);

	R.fd = fd;
	R.w = ravt_writer_new(&p, sink_fd, &R.fd, errbuf, errlen);
	if (!R.w) {
		drop_rename();
		if (own_fd)
			close(fd);
		R.fd = -1;
		return -1;
	}
	/* The memory map with the header (a reader of the file in progress can
	 * place call sites before the first SITES chunk comes) */
	if (depth && ravt_selfmaps_write(R.w, &R.maps) != 0) {
		snprintf(errbuf, errlen, "%s", ravt_writer_error(R.w));
		ravt_writer_free(R.w);
		R.w = NULL;
		drop_rename();
		if (own_fd)
			close(fd);
		R.fd = -1;
		return -1;
	}
	R.rec.exchange = rec_exchange;
	R.rec.release = rec_release;
	R.rec.user = NULL;
	R.rec.record_access = access;
	R.rec.site_depth = (uint8_t)depth;
	R.stopping = R.stopped = R.write_failed = R.pool_known = R.crashed = false;
	R.writer_done = 0;
	/* auto: zstd level 1, faster levels and then raw chunks as the writer
	 * falls behind (level_for); always: level 1, and recording threads
	 * wait for the writer; never: store raw. */
	const char *cm = getenv("RAVIOLI_TRACE_COMPRESS");
	R.compress_mode = !cm || !*cm || strcmp(cm, "auto") == 0 ? COMPRESS_AUTO
			  : strcmp(cm, "always") == 0		? COMPRESS_ALWAYS
			  : strcmp(cm, "never") == 0		? COMPRESS_NEVER
								: COMPRESS_AUTO;
	R.dropped = 0;
	const char *st = getenv("RAVIOLI_TRACE_STATS");
	R.stats = st && strcmp(st, "1") == 0;
	R.buffers = R.waits = R.wait_ns = R.writer_cpu_ns = R.allocated = R.wakes = 0;
	memset(R.at_level, 0, sizeof R.at_level);
	R.writer_state = WRITER_BUSY;
	init_work_cond();
	__atomic_store_n(&R.writer_up, 0, __ATOMIC_RELEASE);
	R.start_pid = getpid();
	__atomic_store_n(&R.started_flag, 1, __ATOMIC_RELEASE);
	if (pthread_create(&R.writer, NULL, writer_main, NULL) != 0) {
		__atomic_store_n(&R.started_flag, 0, __ATOMIC_RELEASE);
		snprintf(errbuf, errlen, "cannot start the trace writer thread");
		ravt_writer_free(R.w);
		R.w = NULL;
		if (own_fd)
			close(fd);
		R.fd = -1;
		return -1;
	}
	if (!rav_record_install(&R.rec)) {
		pthread_mutex_lock(&R.lock);
		R.stopping = true;
		pthread_cond_signal(&R.work);
		pthread_mutex_unlock(&R.lock);
		pthread_join(R.writer, NULL);
		ravt_writer_free(R.w);
		R.w = NULL;
		if (own_fd)
			close(fd);
		R.fd = -1;
		snprintf(errbuf, errlen, "heaps already exist: recording must start before the first heap is created");
		return -1;
	}
	pthread_mutex_lock(&R.lock);
	R.started = true;
	pthread_mutex_unlock(&R.lock);
	__atomic_store_n(&recording_pid, getpid(), __ATOMIC_RELAXED);
	/* a crash keeps the buffered events (RAVIOLI_TRACE_SIGNALS=0: not) */
	crash_install();
	static bool hooks;
	if (!hooks) {
		hooks = true;
		atexit(rav_trace_stop);
		/* misuse under the default handler aborts: the trace keeps
		 * every thread's buffered events and the error */
		rav_record_set_abort_hook(misuse_abort);
		pthread_atfork(atfork_prepare, NULL, atfork_child);
	}
	return 0;
}

void rav_trace_stop(void)
{
	pthread_mutex_lock(&R.lock);
	bool run = R.started && !R.stopping;
	pthread_mutex_unlock(&R.lock);
	if (!run)
		return;
	crash_uninstall();
	/* The calling thread's partial buffer; threads that already ended
	 * handed theirs over through release. */
	rav_record_flush();
	pthread_mutex_lock(&R.lock);
	R.stopping = true;
	pthread_cond_signal(&R.work);
	pthread_mutex_unlock(&R.lock);
	pthread_join(R.writer, NULL);
	if (R.stats) {
		uint64_t ev = ravt_writer_events(R.w), bytes = ravt_writer_bytes(R.w);
		fprintf(stderr,
			"ravioli: trace: %llu events, %llu bytes (%.2f per event); writer CPU %.1f ms (%.1f ns per "
			"event); %llu buffers (zstd 1: %llu, -1: %llu, -5: %llu, -10: %llu, raw: %llu); producers waited %llu "
			"times, %.1f ms; %llu buffers allocated, writer woken %llu times\n",
			(unsigned long long)ev, (unsigned long long)bytes, ev ? (double)bytes / (double)ev : 0.0,
			(double)R.writer_cpu_ns * 1e-6, ev ? (double)R.writer_cpu_ns / (double)ev : 0.0,
			(unsigned long long)R.buffers, (unsigned long long)R.at_level[0],
			(unsigned long long)R.at_level[1], (unsigned long long)R.at_level[2],
			(unsigned long long)R.at_level[3], (unsigned long long)R.at_level[4], (unsigned long long)R.waits,
			(double)R.wait_ns * 1e-6, (unsigned long long)R.allocated, (unsigned long long)R.wakes);
	}
	/* The recorder stays installed: threads still running hand their
	 * buffers to it and they are recycled (counted as dropped) rather than
	 * racing with an uninstall. */
	ravt_writer_free(R.w);
	R.w = NULL;
	/* (only while it is still ours: the program may have a file of its
	 * own under the number now) */
	if (R.fd >= 0 && ravt_fd_ours(&R.fd_id))
		close(R.fd);
	R.fd = -1;
	R.fd_id.fd = -1;
}

/* exec-hook.c: the program calls exec, which runs no atexit handler. */
bool ravt_recorder_before_exec(void)
{
	pid_t pid = __atomic_load_n(&recording_pid, __ATOMIC_RELAXED);
	if (pid == 0 || pid != getpid())
		return false;
	pthread_mutex_lock(&R.lock);
	bool run = R.started && !R.stopping;
	pthread_mutex_unlock(&R.lock);
	if (run)
		rav_trace_stop();
	return run;
}

__attribute__((constructor)) static void rav_trace_autostart(void)
{
	const char *path = getenv("RAVIOLI_TRACE");
	/* Listening for attach (RAVIOLI_LISTEN, listen.c) is independent of
	 * recording to a file. */
	ravt_listen_autostart();
	if (!path || !*path)
		return;
	const char *acc = getenv("RAVIOLI_TRACE_ACCESS");
	char err[256];
	if (rav_trace_start(path, acc && strcmp(acc, "1") == 0, err, sizeof err) != 0)
		fprintf(stderr, "ravioli: not recording a trace: %s\n", err);
	/* Child processes must not truncate and overwrite this trace. */
	unsetenv("RAVIOLI_TRACE");
}
