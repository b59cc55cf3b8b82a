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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	pthread_t writer;
	int fd;
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

static rav_evbuf *rec_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	pthread_mutex_lock(&R.lock);
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

static int sink_fd(const void *data, size_t len, void *user)
{
	int fd = *(int *)user;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
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
			rc = ravt_writer_add(R.w, b->thread, b->ev, b->count);
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
		b->count = 0;
		b->flags = 0;
		b->next = R.free_list;
		R.free_list = b;
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
		if (R.fd >= 0)
			close(R.fd);
		R.fd = -1;
	}
}

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
	R.stopping = R.stopped = R.write_failed = R.pool_known = false;
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
	if (pthread_create(&R.writer, NULL, writer_main, NULL) != 0) {
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
	static bool hooks;
	if (!hooks) {
		hooks = true;
		atexit(rav_trace_stop);
		/* misuse under the default handler aborts: the trace keeps
		 * the buffered events and the error */
		rav_record_set_abort_hook(rav_trace_stop);
		pthread_atfork(NULL, NULL, atfork_child);
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
	if (R.fd >= 0)
		close(R.fd);
	R.fd = -1;
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
