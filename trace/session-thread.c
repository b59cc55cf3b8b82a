/* session-thread.c - the session thread of a live session (session.c):
 * its loop (rounds over the buffers, flushes, posted records, statistics,
 * resynchronisation), the socket it writes the stream to, the SESSION
 * records it writes, and the end of the stream.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "session.h"
#include "snapshot.h"

/* last: it defines S */
#include "session-private.h"

/* ---- the session thread: writing ---- */

int ravt_session_sink(const void *data, size_t len, void *user)
{
	(void)user;
	const char *p = data;
	while (len) {
		/* A program that closed the socket (a daemon closing every
		 * descriptor above 2 in main(), started by a debugger that
		 * attached before main) may have its own under the number. */
		if (!ravt_fd_ours(&S.fd_id)) {
			S.client_gone = true;
			return -1;
		}
		ssize_t n = send(S.fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			S.bytes += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int timeout = -1;
			pthread_mutex_lock(&S.lock);
			bool stopping = S.stop || __atomic_load_n(&S.crash_sig, __ATOMIC_RELAXED);
			uint64_t deadline = S.stop_deadline;
			pthread_mutex_unlock(&S.lock);
			if (__atomic_load_n(&S.crash_sig, __ATOMIC_RELAXED)) {
				/* a dying program waits only briefly for a client that does not read */
				if (!S.crash_deadline)
					S.crash_deadline = ravt_mono_ms() + 1500;
				stopping = true;
				deadline = S.crash_deadline;
			}
			if (stopping) {
				uint64_t now = ravt_mono_ms();
				if (now >= deadline)
					return -1;
				timeout = (int)(deadline - now);
			}
			bool wake_ok = ravt_fd_ours(&S.wake_id[0]);
			struct pollfd pf[2] = {{S.fd, POLLOUT, 0}, {wake_ok ? S.wake[0] : -1, POLLIN, 0}};
			int r = poll(pf, 2, timeout < 0 && !wake_ok ? 100 : timeout);
			if (r > 0 && (pf[1].revents & POLLIN)) {
				char junk[64];
				while (recv(S.wake[0], junk, sizeof junk, MSG_DONTWAIT) > 0)
					;
			}
			if (r > 0 && (pf[0].revents & (POLLERR | POLLHUP)) && !(pf[0].revents & POLLOUT)) {
				S.client_gone = true;
				return -1;
			}
			continue;
		}
		S.client_gone = true;
		return -1;
	}
	return 0;
}

bool ravt_session_writer_ok(void)
{
	return S.w && !S.client_gone;
}

void ravt_session_record(uint16_t type, const int64_t *v, unsigned nv, const char *text)
{
	if (!ravt_session_writer_ok())
		return;
	size_t tlen = text ? strlen(text) : 0;
	if (tlen > 4000)
		tlen = 4000;
	uint8_t buf[sizeof(ravt_session) + 4000];
	ravt_session r = {.type = type, .text_len = (uint32_t)tlen, .realtime_ns = realtime_ns()};
	for (unsigned i = 0; i < nv && i < 16; i++)
		r.v[i] = v[i];
	memcpy(buf, &r, sizeof r);
	if (tlen)
		memcpy(buf + sizeof r, text, tlen);
	ravt_writer_raw_chunk(S.w, RAVT_CHUNK_SESSION, 0, buf, (uint32_t)(sizeof r + tlen), 0, 0, 0);
}

static void stats_record(void)
{
	rav_census c;
	rav_record_census(&c, NULL, 0);
	pthread_mutex_lock(&S.lock);
	size_t queued = S.queued_bytes;
	pthread_mutex_unlock(&S.lock);
	pthread_mutex_lock(&S.lock);
	uint64_t dropped = S.stop_seen ? S.dropped_at_stop : rav_record_dropped();
	pthread_mutex_unlock(&S.lock);
	uint64_t lost = S.lost + (dropped - S.dropped_at_start);
	int64_t v[14] = {(int64_t)S.events,
	                 (int64_t)lost,
	                 (int64_t)S.bytes,
	                 (int64_t)queued,
	                 c.threads,
	                 (int64_t)c.live_cells,
	                 (int64_t)c.pool_used_pages,
	                 (int64_t)S.kinds[RAV_EV_ALLOC],
	                 (int64_t)S.kinds[RAV_EV_FREE],
	                 (int64_t)S.kinds[RAV_EV_MOVE],
	                 (int64_t)S.kinds[RAV_EV_FIXUP],
	                 (int64_t)S.kinds[RAV_EV_PAGE_HANDOFF],
	                 (int64_t)S.snapshots,
	                 (int64_t)S.resyncs};
	ravt_session_record(RAVT_SESSION_STATS, v, 14, NULL);
}

static void sync_report(bool force)
{
	if (S.synced_reported || S.stats_only)
		return;
	uint32_t pending[64];
	rav_census c;
	size_t np = rav_record_census(&c, pending, 64);
	if (np && !force && ravt_mono_ms() < S.sync_report_at)
		return;
	char text[64 * 12] = "";
	size_t at = 0;
	for (size_t i = 0; i < np && at + 12 < sizeof text; i++)
		at += (size_t)snprintf(text + at, sizeof text - at, "%s%u", i ? " " : "", pending[i]);
	int64_t v[3] = {S.epoch, c.synced, (int64_t)(c.threads - c.synced)};
	ravt_session_record(RAVT_SESSION_SYNCED, v, 3, text);
	S.synced_reported = true;
}

static void wait_for_work(int ms)
{
	if (!ravt_fd_ours(&S.wake_id[0])) {
		/* the program closed the pipe: no wake-ups (never read a pipe
		 * of the program's that took its number) */
		struct timespec d = {0, (long)(ms < 20 ? ms : 20) * 1000000L};
		nanosleep(&d, NULL);
		return;
	}
	struct pollfd pf = {S.wake[0], POLLIN, 0};
	if (poll(&pf, 1, ms) > 0) {
		char junk[64];
		while (recv(S.wake[0], junk, sizeof junk, MSG_DONTWAIT) > 0)
			;
	}
}

/* How long the end, or a resynchronisation, waits for events whose numbers
 * were handed out. */
#define SETTLE_MS 1000

/* The end of the stream is a consistent cut (rav_record_seq_close in
 * engine/record-live.c says why stopping alone is not): close the epoch's
 * numbers, then drain until every number handed out (or, during a loss,
 * every one below the loss's cut) is written.  Only then are threads
 * refused buffers.  A crash has its own cut; a number whose event does not
 * come (a thread stopped for good between taking a number and writing its
 * event) ends the wait at SETTLE_MS. */
static void settle(void)
{
	uint64_t handed = rav_record_seq_close();
	pthread_mutex_lock(&S.lock);
	uint64_t cut = S.cut_seq, end = ((uint64_t)S.epoch << RAVT_SEQ_EPOCH_SHIFT) + handed + 1;
	pthread_mutex_unlock(&S.lock);
	if (cut > end)
		cut = end;
	bool crashing = __atomic_load_n(&S.crash_sig, __ATOMIC_RELAXED) != 0;
	uint64_t deadline = ravt_mono_ms() + SETTLE_MS;
	while (!crashing && ravt_session_writer_ok() && ravt_mono_ms() < deadline) {
		ravt_session_drain();
		if (ravt_session_seqs_complete(cut))
			break;
		wait_for_work(1);
		crashing = __atomic_load_n(&S.crash_sig, __ATOMIC_RELAXED) != 0;
	}
	pthread_mutex_lock(&S.lock);
	S.sealed = true;
	pthread_cond_broadcast(&S.freed);
	pthread_mutex_unlock(&S.lock);
}

static void finish(void)
{
	settle();
	ravt_session_drain();
	ravt_session_drain();
	ravt_session_flush_dirty();
	pthread_mutex_lock(&S.lock);
	int how = S.end_how;
	int64_t value = S.end_value;
	char text[256];
	snprintf(text, sizeof text, "%s", S.end_text);
	pthread_mutex_unlock(&S.lock);
	int sig = __atomic_load_n(&S.crash_sig, __ATOMIC_RELAXED);
	if (sig) {
		how = RAVT_END_SIGNAL;
		value = sig;
		snprintf(text, sizeof text, "killed by signal %d (%s)", sig, strsignal(sig));
	}
	pthread_mutex_lock(&S.lock);
	uint64_t lost = S.lost + (S.dropped_at_stop - S.dropped_at_start);
	pthread_mutex_unlock(&S.lock);
	if (ravt_session_writer_ok()) {
		stats_record();
		int64_t v[4] = {how, value, (int64_t)S.events, (int64_t)lost};
		ravt_session_record(RAVT_SESSION_END, v, 4, text);
		ravt_writer_finish(S.w, lost);
	}
	rav_record_session_end();
	pthread_mutex_lock(&S.lock);
	S.live = false;
	rav_evbuf *q = S.head;
	S.head = S.tail = NULL;
	S.queued_bytes = 0;
	pthread_cond_broadcast(&S.freed);
	pthread_mutex_unlock(&S.lock);
	while (q) {
		rav_evbuf *next = q->next;
		if (q->flags & F_PIECE) {
			ravt_session_free_piece((piece *)(uintptr_t)q->reserved);
			free(q);
		} else {
			ravt_session_recycle(q);
		}
		q = next;
	}
	ravt_session_recycle_done();
	/* (a program that closed it may have a file or socket of its own
	 * under the number now) */
	if (ravt_fd_ours(&S.fd_id))
		shutdown(S.fd, SHUT_RDWR);
	ravt_fd_drop(&S.fd_id);
	S.fd = -1;
	ravt_writer_free(S.w);
	S.w = NULL;
	ravt_selfmaps_free(&S.maps);
	free(S.owners);
	S.owners = NULL;
	S.owners_cap = 0;
	free(S.act);
	S.act = NULL;
	S.act_cap = S.nact = 0;
	free(S.dirty);
	S.dirty = NULL;
	S.dirty_cap = S.ndirty = 0;
}

void *ravt_session_main(void *arg)
{
	(void)arg;
	ravt_session_on_thread = true;
	/* Its sweeps and LOST events pass the engine's safe points: held there
	 * by a PAUSE (which can come before the first sweep), it would write
	 * nothing more, not even the STOPPED record, until a CONTINUE. */
	rav_debug_never_hold();
	ravt_session_begin_epoch(true);
	pthread_mutex_lock(&S.lock);
	S.began = true;
	pthread_mutex_unlock(&S.lock);
	uint64_t next_flush = ravt_mono_ms() + FLUSH_MS,
	         next_stats = S.stats_ms ? ravt_mono_ms() + S.stats_ms : UINT64_MAX;
	/* the epoch's sweep has more to do now: the next round comes at once */
	bool sweep_more = false;
	for (;;) {
		uint64_t now = ravt_mono_ms();
		uint64_t until = next_flush < next_stats ? next_flush : next_stats;
		wait_for_work(until > now && !sweep_more ? (int)(until - now) : 0);
		pthread_mutex_lock(&S.lock);
		bool stop = S.stop;
		bool want_stats = S.want_stats;
		S.want_stats = false;
		unsigned nrep = S.nreplies;
		struct reply reps[8];
		memcpy(reps, S.replies, nrep * sizeof reps[0]);
		S.nreplies = 0;
		/* Taken before ravt_session_drain() reads the buffers' counts: the events a
		 * posted record follows are written before it. */
		unsigned npost = S.nposted;
		struct posted posts[32];
		memcpy(posts, S.posted, npost * sizeof posts[0]);
		S.nposted = 0;
		bool losing = S.losing;
		pthread_mutex_unlock(&S.lock);
		if (__atomic_load_n(&S.crash_sig, __ATOMIC_RELAXED))
			stop = true;
		pthread_mutex_lock(&S.lock);
		if (stop && !S.stop_seen) {
			S.stop_seen = true;
			S.dropped_at_stop = rav_record_dropped();
		}
		pthread_mutex_unlock(&S.lock);
		bool empty = ravt_session_drain();
		/* (during a loss a sweep's snapshots would not be sent: the next
		 * epoch sweeps again)  A part at a time, between the rounds over
		 * the buffers (ravt_session_sweep says why). */
		sweep_more = false;
		if (S.sweep_left && !losing)
			sweep_more = ravt_session_sweep();
		now = ravt_mono_ms();
		if (now >= next_flush || stop || npost) {
			ravt_session_flush_dirty();
			next_flush = now + FLUSH_MS;
			/* Objects loaded or unloaded (dlopen, dlclose) since the map
			 * was listed: list it again now, not only before the next
			 * SITES chunk, so that a client can resolve a breakpoint in a
			 * library the program loaded and has not called yet (one
			 * loader call that stops at the first object).  (The first
			 * map goes with the stream's start: ravt_session_start.) */
			if (S.maps.written && ravt_session_writer_ok())
				ravt_selfmaps_hook(S.w, NULL, 0, &S.maps);
		}
		for (unsigned i = 0; i < npost; i++)
			ravt_session_record(posts[i].type, posts[i].v, posts[i].nv,
			                    posts[i].text[0] ? posts[i].text : NULL);
		ravt_debugger_poll();
		for (unsigned i = 0; i < nrep; i++) {
			int64_t v = reps[i].code;
			ravt_session_record(RAVT_SESSION_ERROR, &v, 1, reps[i].text);
		}
		if (want_stats || now >= next_stats) {
			stats_record();
			if (S.stats_ms)
				next_stats = now + S.stats_ms;
		}
		sync_report(false);
		if (stop || !ravt_session_writer_ok())
			break;
		/* Resynchronise once caught up; after losses in quick succession,
		 * wait longer each time (each resync snapshots every heap again,
		 * which a client that cannot keep up can least afford; the
		 * messages in flight a part per round). */
		/* ... and once every event before the loss's cut is written: the
		 * events of the epoch to come must not be needed by the old one */
		if (losing && empty && !S.cut_complete) {
			pthread_mutex_lock(&S.lock);
			uint64_t cut = S.cut_seq;
			pthread_mutex_unlock(&S.lock);
			if (!S.cut_wait_until)
				S.cut_wait_until = now + SETTLE_MS;
			S.cut_complete = ravt_session_seqs_complete(cut) || now >= S.cut_wait_until;
			if (!S.cut_complete)
				continue;
		}
		if (losing && empty && now >= S.resync_not_before) {
			uint64_t since_last = now - S.last_resync_ms;
			S.resync_backoff =
			    since_last < 1000 ? (S.resync_backoff ? S.resync_backoff * 2 : 50) : 0;
			if (S.resync_backoff > 2000)
				S.resync_backoff = 2000;
			ravt_session_resync();
			S.last_resync_ms = ravt_mono_ms();
			S.cut_wait_until = 0;
			S.cut_complete = false;
		} else if (losing && empty && !S.resync_not_before) {
			S.resync_not_before = now + S.resync_backoff;
		}
		if (!losing) {
			S.resync_not_before = 0;
			S.cut_wait_until = 0;
			S.cut_complete = false;
		}
	}
	ravt_debugger_stop();
	finish();
	pthread_mutex_lock(&S.lock);
	S.finished = true;
	__atomic_store_n(&S.finished_flag, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&S.running_flag, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&S.done);
	pthread_mutex_unlock(&S.lock);
	pthread_mutex_lock(&S.lock);
	ravt_fdid notify = S.notify;
	pthread_mutex_unlock(&S.lock);
	/* The listener listens afresh when the program closed its pipe: a
	 * finished session it did not hear of is reaped at its next round. */
	if (notify.fd >= 0 && ravt_fd_ours(&notify)) {
		char c = 1;
		ssize_t n = send(notify.fd, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
	return NULL;
}
