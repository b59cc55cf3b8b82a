/* session-private.h - what the files of the live session share: one state,
 * S (a single session per process; session.c says who touches which part
 * under which lock), the snapshot piece a program thread copies, and the
 * functions one file of the session calls in another.
 *
 * S names ravt_session_state in these files only, so that the code reads as
 * it did when the session was one file (session.c's comment says why it is
 * now four).
 */
#ifndef RAV_TRACE_SESSION_PRIVATE_H
#define RAV_TRACE_SESSION_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "live.h" /* ravt_mono_ms */
#include "rav-record.h"
#include "rav-tsc.h" /* rav__tsc_now: the clock of the engine's time stamps */
#include "ravioli.h"
#include "snapshot.h"

#define BUF_RECORDS 2048 /* 64 KiB per buffer */
#define BUF_BYTES (sizeof(rav_evbuf) + BUF_RECORDS * sizeof(rav_raw_event))
#define F_RELEASED 1u
#define F_PIECE 2u
#define FLUSH_MS 5          /* open chunks are written at least this often */
#define SYNC_REPORT_MS 250  /* SYNCED record at the latest this long after an epoch starts */
#define FINAL_WAIT_MS 10000 /* a detaching client gets this long to take the rest */

typedef struct ppage {
	uint32_t index, fill;
	uint8_t kind;
	size_t at; /* first word in piece.words */
} ppage;

/* A heap as its snapshot callback copied it. */
typedef struct piece {
	uint64_t id;
	rav_snap_heap info;
	char name[64];
	ppage *pages;
	uint32_t npages, pcap;
	uint64_t *words;
	size_t nwords, wcap;
	bool failed;
} piece;

typedef struct owner_state {
	uint32_t owner, expected;
	bool used, cut;
} owner_state;

struct ravt_session_state {
	pthread_mutex_t lock;
	pthread_cond_t freed, done;
	ravt_fdid notify; /* lock: the listener's wake-up socket pair (send end) */
	/* the session thread's wake-up socket pair (wake[i] == wake_id[i].fd): made
	 * anew by a session that finds the program closed it */
	int wake[2];
	ravt_fdid wake_id[2];

	/* lock */
	bool live;    /* taking data: from start until the final drain is done */
	bool running; /* a session thread exists, not reaped yet */
	bool finished;
	bool began; /* the session thread has begun its first epoch: recording */
	bool stop;
	bool sealed; /* the end's cut is made: threads get no more buffers */
	int end_how;
	int64_t end_value;
	char end_text[256];
	bool client_gone;
	uint64_t stop_deadline; /* ms, monotonic */
	rav_evbuf *head, *tail;
	size_t queued_bytes, nbufs, max_bufs, queued_items;
	bool woken;
	rav_evbuf *free_list;
	bool lossless, stats_only;
	bool losing;
	uint64_t losing_tsc;
	/* The cut of a loss (FORMAT.md 12.3): events numbered from here on are
	 * not sent (UINT64_MAX: no loss).  Every number below it reaches the
	 * stream (rav__seq_take hands none to a thread without room for its
	 * event) unless its snapshot was refused: those are counted here, for
	 * the epoch void_epoch, so that nobody waits for them. */
	uint64_t cut_seq;
	uint64_t seqs_void;
	uint32_t void_epoch;
	uint64_t next_piece;
	bool want_stats;
	struct reply {
		int code;
		char text[240];
	} replies[8];
	unsigned nreplies;
	/* ravt_session_post's queue */
	struct posted {
		uint16_t type;
		unsigned nv;
		int64_t v[16];
		char text[256];
	} posted[32];
	unsigned nposted, posted_dropped;
	pid_t client_pid;
	rav_recorder rec;
	pthread_t thread;

	int crash_sig;     /* atomic: set by a signal handler */
	int running_flag;  /* atomic: a session thread runs (for the signal handler) */
	int finished_flag; /* atomic: for the signal handler's wait */

	/* session thread only */
	int fd;
	ravt_fdid fd_id; /* fd, as accepted: closed only while it is still ours */
	ravt_writer *w;
	ravt_selfmaps maps; /* the program's memory map, for call sites (MAPS chunks) */
	uint32_t mode, stats_ms;
	uint32_t epoch, first_epoch;
	owner_state *owners;
	size_t owners_cap;
	uint32_t self_owner;
	bool pool_known;
	uint8_t refmask[RAV_TYPE_MAX];
	unsigned known_types;
	uint32_t *dirty;
	size_t ndirty, dirty_cap;
	uint64_t events, lost, lost_reported, bytes, snapshots, resyncs;
	uint64_t seqs_written; /* sequence numbers of the epoch below cut_seq written so far */
	uint64_t crash_deadline; /* ms: a dying program gives the client this long */
	uint64_t last_resync_ms, resync_backoff, resync_not_before;
	uint64_t cut_wait_until; /* ms: a loss's cut waits this long for its numbers */
	bool cut_complete;       /* ... and they are all written */
	unsigned sweep_left; /* channels the epoch's sweep has not finished (ravt_session_sweep) */
	uint64_t dropped_at_start;
	uint64_t dropped_at_stop; /* engine drops once the session is ending are not losses */
	bool stop_seen;
	uint64_t kinds[RAV_EV_KIND_COUNT];
	bool synced_reported;
	uint64_t sync_report_at;
	struct {
		rav_evbuf *b;
		uint32_t count;
	} * act;
	size_t nact, act_cap;
};

extern struct ravt_session_state ravt_session_state;
#define S ravt_session_state

/* True on the session's own thread: it never waits for, or loses to, itself. */
extern _Thread_local bool ravt_session_on_thread;

static inline uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void wake_session(void)
{
	/* (never into a pipe or file of the program's that took the number) */
	if (S.wake[1] >= 0 && ravt_fd_ours(&S.wake_id[1])) {
		char c = 1;
		ssize_t n = send(S.wake[1], &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)n;
	}
}

/* session-buffers.c: the recorder's buffer callbacks (program threads) and
 * the session thread's rounds over the buffers. */
void ravt_session_enqueue_locked(rav_evbuf *b); /* lock held */
void ravt_session_lose_locked(void);            /* lock held: losing starts now */
/* Whether every number of the epoch below `cut` (epoch << 40 | n) was written
 * or will never come (a refused snapshot's). */
bool ravt_session_seqs_complete(uint64_t cut);
rav_evbuf *ravt_session_exchange(rav_evbuf *full, void *user);
void ravt_session_release(rav_evbuf *last, void *user);
void ravt_session_owners_reset(void);
void ravt_session_flush_dirty(void);
void ravt_session_recycle(rav_evbuf *b);
void ravt_session_recycle_done(void);
/* One round: committed counts of active buffers, then the queue, then the
 * active buffers up to those counts.  Returns true if the queue was empty. */
bool ravt_session_drain(void);

/* session-snapshot.c: heap snapshots and epochs. */
uint64_t ravt_session_snapshot(const rav_snap_heap *s, void *user);
void ravt_session_write_heap_piece(piece *p);
void ravt_session_free_piece(piece *p);
void ravt_session_begin_epoch(bool first);
/* A part of the epoch's sweep (S.sweep_left: channels still to sweep).
 * True if it made progress and more is left (the next round comes at once). */
bool ravt_session_sweep(void);
/* Losing, and caught up: end the old epoch with a LOST event, start a new one. */
void ravt_session_resync(void);

/* session-thread.c: the session thread and what it writes. */
int ravt_session_sink(const void *data, size_t len, void *user);
bool ravt_session_writer_ok(void);
void ravt_session_record(uint16_t type, const int64_t *v, unsigned nv, const char *text);
void *ravt_session_main(void *arg);

#endif /* RAV_TRACE_SESSION_PRIVATE_H */
