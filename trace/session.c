/* session.c - the live recorder of an attach session: engine buffers and
 * heap snapshots in, a trace stream out to the attached client's socket.
 *
 * Threads: program threads fill their buffers and, at safe points, take
 * snapshots of their heaps (the engine calls rav_recorder.snapshot, which
 * copies the heap's pages and queues them); one session thread encodes and
 * writes.  It reads every thread's current buffer while it fills (the
 * engine publishes records with release order), so a quiet thread's last
 * events reach the client within one flush interval, not when its buffer
 * happens to fill.  Only the session thread recycles buffers.
 *
 * Order on the wire: a heap's snapshot chunk is written before the event
 * that refers to it.  Each round reads the committed counts of the active
 * buffers first, then drains the queue (snapshot pieces, full buffers),
 * then encodes the active buffers up to those counts: any snapshot whose
 * event is inside them was queued before them.
 *
 * Memory is bounded by the client's queue size (RAVT_LIVE_QUEUE_KIB_DEFAULT,
 * RAVIOLI_LISTEN_QUEUE_KIB, or what the client asks): buffers of 64 KiB,
 * plus one per thread, plus snapshot copies while they are being sent.
 * When a thread needs a buffer and none is left:
 *  - lossless mode: it waits for the session thread (the program runs at
 *    the client's pace);
 *  - default: losing starts (at sequence number N, the next one).  Threads
 *    get no more buffers (their events are counted).  The session thread
 *    still writes every event numbered below N - a thread is handed a
 *    number only if it has room for its event, so they all come - and each
 *    thread's stream up to its first event numbered N or more, which is a
 *    consistent cut because an event that depends on another thread's has
 *    a larger number; then a LOST event, then a new epoch: every heap is
 *    snapshotted again and the stream goes on.  The client says "N events
 *    lost between A and B".  (The end of a session is such a cut too.)
 *
 * The session is four files sharing one state (session-private.h):
 *  - session.c: this control API (start, stop, posts, crashes, reaping),
 *    called by the listener and by exit and signal handlers;
 *  - session-buffers.c: the event buffers, from the program threads that
 *    hand them over to the session thread that encodes them;
 *  - session-snapshot.c: heap snapshots (copied by program threads, written
 *    by the session thread) and epochs (resynchronisation after losses);
 *  - session-thread.c: the session thread: its loop, the socket it writes,
 *    the SESSION records (statistics, sync reports) and the final drain.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "session.h"
#include "snapshot.h"

/* last: it defines S */
#include "session-private.h"

struct ravt_session_state ravt_session_state = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .freed = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .notify = {.fd = -1},
    .wake = {-1, -1},
    .wake_id = {{.fd = -1}, {.fd = -1}},
    .fd = -1,
};

_Thread_local bool ravt_session_on_thread;

/* ---- control (listener thread, exit handlers, signal handlers) ---- */

/* The session thread's wake-up socket pair, made again if the program closed it
 * (listener thread, no session running). */
static void make_wake(void)
{
	if (S.wake[0] >= 0 && ravt_fd_ours(&S.wake_id[0]) && ravt_fd_ours(&S.wake_id[1]))
		return;
	/* forgotten, not closed (see check_fds in listen.c) */
	S.wake_id[0].fd = S.wake_id[1].fd = -1;
	S.wake[0] = S.wake[1] = -1;
	int p[2];
	/* (a socket pair: see make_listener in listen.c) */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, p) != 0)
		return;
	S.wake[0] = ravt_fd_keep(p[0], &S.wake_id[0]);
	S.wake[1] = ravt_fd_keep(p[1], &S.wake_id[1]);
}

void ravt_session_init(const ravt_fdid *notify)
{
	pthread_mutex_lock(&S.lock);
	S.notify = *notify;
	bool running = S.running;
	pthread_mutex_unlock(&S.lock);
	/* (a running session's thread and the program's threads use the pair:
	 * the next session makes it anew if it is not ours any more) */
	if (!running)
		make_wake();
	S.rec.exchange = ravt_session_exchange;
	S.rec.release = ravt_session_release;
	S.rec.snapshot = ravt_session_snapshot;
	S.rec.user = NULL;
}

/* TSC ticks per second (measured once, ~10 ms, at the first attach). */
static uint64_t tsc_hz(void)
{
	static uint64_t hz;
	if (hz)
		return hz;
	struct timespec t0, t1, d = {0, 10 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t c0 = rav__tsc_now();
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t c1 = rav__tsc_now();
	double dt = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	if (dt > 0 && c1 > c0)
		hz = (uint64_t)((double)(c1 - c0) * 1e9 / dt);
	return hz;
}

int ravt_session_start(const rav_session_opts *o, char *err, size_t errlen)
{
	pthread_mutex_lock(&S.lock);
	bool busy = S.running;
	pthread_mutex_unlock(&S.lock);
	if (busy) {
		snprintf(err, errlen, "a session is already running");
		return -1;
	}
	make_wake();
	if (S.wake[0] < 0) {
		snprintf(err, errlen, "cannot create the session's wake-up socket pair");
		return -1;
	}
	if (!rav_record_install_live(&S.rec)) {
		snprintf(err, errlen, "another recorder is installed in this program");
		return -1;
	}
	S.fd = o->fd;
	S.fd_id = o->fd_id;
	S.mode = o->mode;
	S.stats_ms = o->stats_ms;
	S.client_gone = false;
	S.pool_known = false;
	S.events = S.lost = S.lost_reported = S.bytes = S.snapshots = S.resyncs = 0;
	S.crash_deadline = 0;
	S.last_resync_ms = S.resync_backoff = S.resync_not_before = 0;
	memset(S.kinds, 0, sizeof S.kinds);
	S.known_types = 0;
	S.dropped_at_start = rav_record_dropped();
	S.stop_seen = false;
	__atomic_store_n(&S.crash_sig, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&S.finished_flag, 0, __ATOMIC_RELAXED);
	/* tracing is off: nothing reads this until the session begins */
	__atomic_store_n(&S.rec.record_access, (o->mode & RAVT_MODE_ACCESS) != 0, __ATOMIC_RELAXED);
	/* Call sites as a recording to a file takes them: the program's
	 * environment says how (a value that is not a number of frames gives
	 * return addresses rather than no session). */
	char why[160];
	int depth = ravt_site_depth_from_env(why, sizeof why);
	if (depth < 0)
		depth = 1;
	__atomic_store_n(&S.rec.site_depth, (uint8_t)depth, __ATOMIC_RELAXED);
	ravt_selfmaps_free(&S.maps);

	static char cmdline[4096];
	ravt_writer_params p = {
	    .word_size = (uint8_t)sizeof(uintptr_t),
	    .cell_size = (uint16_t)RAV_CELL_SIZE,
	    .page_size = RAV_PAGE_SIZE,
	    .flags = ((o->mode & RAVT_MODE_ACCESS) ? RAVT_HF_ACCESS : 0) |
	             (depth ? RAVT_HF_SITES | (uint32_t)depth << RAVT_HF_STACK_SHIFT : 0),
	    .cmdline = cmdline,
	    .sites_hook = ravt_selfmaps_hook,
	    .sites_user = &S.maps,
	};
	p.tsc_hz = tsc_hz();
	p.tsc_start = rav__tsc_now();
	p.start_realtime_ns = realtime_ns();
	p.cmdline_len = ravt_read_cmdline(cmdline, sizeof cmdline);
	size_t pool_bytes;
	void *base = rav_record_pool_base(&pool_bytes);
	p.pool_base = (uint64_t)(uintptr_t)base;
	/* tools lower the level as the queue fills; live streams start at 1 */
	S.w = ravt_writer_new(&p, ravt_session_sink, NULL, err, errlen);
	if (!S.w) {
		S.fd = -1;
		return -1;
	}
	if (base) {
		ravt_writer_set_pool(S.w, p.pool_base, pool_bytes);
		S.pool_known = true;
	}
	uint32_t kib = o->queue_kib;
	const char *env = getenv("RAVIOLI_LISTEN_QUEUE_KIB");
	if (!kib && env && *env)
		kib = (uint32_t)strtoul(env, NULL, 10);
	if (!kib)
		kib = RAVT_LIVE_QUEUE_KIB_DEFAULT;
	if (kib < RAVT_LIVE_QUEUE_KIB_MIN)
		kib = RAVT_LIVE_QUEUE_KIB_MIN;
	if (kib > RAVT_LIVE_QUEUE_KIB_MAX)
		kib = RAVT_LIVE_QUEUE_KIB_MAX;
	/* v[7]: the session's first sequence number (FORMAT.md 12.3: its
	 * epoch is the next one; only a session starts epochs) */
	int64_t v[8] = {getpid(),
	                getuid(),
	                o->client_pid,
	                o->mode,
	                (int64_t)kib * 1024,
	                RAVT_LIVE_PROTOCOL,
	                (int64_t)o->program_start_ns,
	                (int64_t)(((uint64_t)rav_record_epoch() + 1) << RAVT_SEQ_EPOCH_SHIFT) + 1};
	ravt_session_record(RAVT_SESSION_ATTACHED, v, 8, NULL);
	/* The memory map now, before any snapshot or event: a client resolves
	 * a breakpoint's FILE:LINE or function on it (sitespec.c) while the
	 * program may be held before its first call site is written (the
	 * writer's sites hook would list the map only before the first SITES
	 * chunk).  The session thread lists it again when objects are loaded
	 * or unloaded (session-thread.c). */
	if (depth && ravt_session_writer_ok())
		ravt_selfmaps_write(S.w, &S.maps);
	if (!ravt_session_writer_ok()) {
		snprintf(err, errlen, "the client closed the connection");
		ravt_writer_free(S.w);
		S.w = NULL;
		S.fd = -1;
		return -1;
	}
	pthread_mutex_lock(&S.lock);
	S.max_bufs = (size_t)kib * 1024 / BUF_BYTES;
	if (S.max_bufs < 4)
		S.max_bufs = 4;
	S.lossless = (o->mode & RAVT_MODE_LOSSLESS) != 0;
	S.stats_only = (o->mode & RAVT_MODE_STATS_ONLY) != 0;
	S.losing = false;
	S.stop = false;
	S.sealed = false;
	S.finished = false;
	S.end_how = RAVT_END_CLOSED;
	S.end_value = 0;
	S.end_text[0] = 0;
	S.nreplies = 0;
	S.nposted = 0;
	S.want_stats = false;
	S.client_pid = o->client_pid;
	if (!S.stats_only)
		ravt_debugger_start();
	S.live = true;
	S.began = false;
	S.running = true;
	__atomic_store_n(&S.running_flag, 1, __ATOMIC_RELEASE);
	/* Buffers of earlier sessions are fine to reuse; drop the count of
	 * those over the new budget as they come back. */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&S.thread, &attr, ravt_session_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		S.live = false;
		S.running = false;
		ravt_debugger_stop();
		pthread_mutex_unlock(&S.lock);
		snprintf(err, errlen, "cannot start the session thread: %s", strerror(rc));
		ravt_writer_free(S.w);
		S.w = NULL;
		S.fd = -1;
		return -1;
	}
	pthread_mutex_unlock(&S.lock);
	return 0;
}

bool ravt_session_live(pid_t *client)
{
	pthread_mutex_lock(&S.lock);
	bool live = S.running && !S.finished;
	if (client)
		*client = S.client_pid;
	pthread_mutex_unlock(&S.lock);
	return live;
}

bool ravt_session_recording(void)
{
	pthread_mutex_lock(&S.lock);
	bool rec = S.running && !S.finished && S.began;
	pthread_mutex_unlock(&S.lock);
	return rec;
}

void ravt_session_stop(int how, int64_t value, const char *text, int wait_ms)
{
	pthread_mutex_lock(&S.lock);
	if (!S.running) {
		pthread_mutex_unlock(&S.lock);
		return;
	}
	pthread_mutex_unlock(&S.lock);
	/* Before anything waits: held threads run again. */
	ravt_debugger_stop();
	pthread_mutex_lock(&S.lock);
	if (!S.running) {
		pthread_mutex_unlock(&S.lock);
		return;
	}
	if (!S.stop) {
		S.stop = true;
		/* what threads drop from now on is not lost: the session ends */
		S.stop_seen = true;
		S.dropped_at_stop = rav_record_dropped();
		S.end_how = how;
		S.end_value = value;
		snprintf(S.end_text, sizeof S.end_text, "%s", text ? text : "");
		S.stop_deadline = ravt_mono_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : FINAL_WAIT_MS);
		pthread_cond_broadcast(&S.freed);
	}
	pthread_mutex_unlock(&S.lock);
	wake_session();
	if (wait_ms <= 0 || ravt_session_on_thread)
		return;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&S.lock);
	while (S.running && !S.finished)
		if (pthread_cond_timedwait(&S.done, &S.lock, &until) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&S.lock);
}

void ravt_session_client_gone(void)
{
	pthread_mutex_lock(&S.lock);
	bool run = S.running;
	pthread_mutex_unlock(&S.lock);
	if (!run)
		return;
	/* Its socket is closed: writes to it fail at once, nothing waits. */
	ravt_session_stop(RAVT_END_CLOSED, 0, "the client went away", 0);
}

/* Several threads may die at the same moment (a fault each, or one
 * faulting while another aborts): the first one's signal is the END
 * record's, and every one of them waits, bounded, for the session's end.
 * One that returned at once (as the others did) had its signal take its
 * course and ended the process while the session thread was still
 * draining: the client got no END record, and lost the events still in
 * the buffers (attach-crash-threads).  A thread's second fatal signal
 * while it handles its first (a fault in the handler) does not wait. */
static _Thread_local bool crash_handling;

void ravt_session_crash(int sig, int wait_ms)
{
	if (ravt_session_on_thread || crash_handling || !__atomic_load_n(&S.running_flag, __ATOMIC_ACQUIRE))
		return;
	crash_handling = true;
	int expected = 0;
	if (__atomic_compare_exchange_n(&S.crash_sig, &expected, sig, false, __ATOMIC_SEQ_CST,
	                                __ATOMIC_RELAXED))
		wake_session();
	for (int waited = 0; waited < wait_ms; waited += 5) {
		if (__atomic_load_n(&S.finished_flag, __ATOMIC_ACQUIRE))
			return;
		struct timespec d = {0, 5 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
}

void ravt_session_request_stats(void)
{
	pthread_mutex_lock(&S.lock);
	S.want_stats = true;
	pthread_mutex_unlock(&S.lock);
	wake_session();
}

void ravt_session_post(uint16_t type, const int64_t *v, unsigned nv, const char *text)
{
	pthread_mutex_lock(&S.lock);
	if (S.running && !S.stop && S.nposted < 32) {
		struct posted *p = &S.posted[S.nposted++];
		p->type = type;
		p->nv = nv < 16 ? nv : 16;
		memcpy(p->v, v, p->nv * sizeof v[0]);
		snprintf(p->text, sizeof p->text, "%s", text ? text : "");
	} else if (S.running) {
		S.posted_dropped++;
	}
	pthread_mutex_unlock(&S.lock);
	wake_session();
}

void ravt_session_reply_error(int code, const char *text)
{
	pthread_mutex_lock(&S.lock);
	if (S.running && S.nreplies < 8) {
		S.replies[S.nreplies].code = code;
		snprintf(S.replies[S.nreplies].text, sizeof S.replies[0].text, "%s", text);
		S.nreplies++;
	}
	pthread_mutex_unlock(&S.lock);
	wake_session();
}

bool ravt_session_reap(void)
{
	pthread_mutex_lock(&S.lock);
	bool done = S.running && S.finished;
	pthread_mutex_unlock(&S.lock);
	if (!done)
		return false;
	pthread_join(S.thread, NULL);
	pthread_mutex_lock(&S.lock);
	S.running = false;
	/* Free buffers over the budget of an idle program. */
	while (S.free_list) {
		rav_evbuf *b = S.free_list;
		S.free_list = b->next;
		free(b);
		S.nbufs--;
	}
	pthread_mutex_unlock(&S.lock);
	return true;
}

void ravt_session_atfork_child(void)
{
	pthread_mutex_init(&S.lock, NULL);
	pthread_cond_init(&S.freed, NULL);
	pthread_cond_init(&S.done, NULL);
	if (S.running) {
		rav_record_session_end();
		S.live = false;
		S.running = false;
		S.stop = true;
		ravt_fd_drop(&S.fd_id);
		S.fd = -1;
	}
	S.head = S.tail = NULL;
}
