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
 *  - default: losing starts at TSC T.  Threads record nothing more (their
 *    events are counted).  The session thread still writes every event
 *    older than T - each thread's stream is cut at its first clock reading
 *    at or after T, which is a consistent cut because every event that
 *    orders threads carries its own reading - then a LOST event, then a new
 *    epoch: every heap is snapshotted again and the stream goes on.  The
 *    client says "N events lost between A and B".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "session.h"
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

static struct {
	pthread_mutex_t lock;
	pthread_cond_t freed, done;
	int notify_fd;
	int wake[2];

	/* lock */
	bool live;    /* taking data: from start until the final drain is done */
	bool running; /* a session thread exists, not reaped yet */
	bool finished;
	bool stop;
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
	uint64_t crash_deadline; /* ms: a dying program gives the client this long */
	uint64_t last_resync_ms, resync_backoff, resync_not_before;
	unsigned sweep_left; /* channels the epoch's sweep could not lock yet */
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
} S = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .freed = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .notify_fd = -1,
    .wake = {-1, -1},
    .fd = -1,
};

static _Thread_local bool tl_session_thread;

static uint64_t tsc_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void wake_session(void)
{
	if (S.wake[1] >= 0) {
		char c = 1;
		ssize_t n = write(S.wake[1], &c, 1);
		(void)n;
	}
}

/* ---- recorder callbacks (program threads) ---- */

/* Lock held. */
static void enqueue_locked(rav_evbuf *b)
{
	b->next = NULL;
	if (S.tail)
		S.tail->next = b;
	else
		S.head = b;
	S.tail = b;
	if (!(b->flags & F_PIECE))
		S.queued_bytes += (size_t)b->count * sizeof(rav_raw_event);
	/* Busy producers wake the session thread long before the queue is
	 * full (once per round: one pipe write). */
	if (++S.queued_items >= S.max_bufs / 8 && !S.woken) {
		S.woken = true;
		wake_session();
	}
}

static rav_evbuf *s_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	pthread_mutex_lock(&S.lock);
	if (full) {
		full->flags = 0;
		if (S.live) {
			enqueue_locked(full);
		} else {
			full->next = S.free_list;
			S.free_list = full;
		}
	}
	rav_evbuf *b = NULL;
	/* The session thread records its own snapshot events: it never waits
	 * for, or loses to, itself. */
	bool self = tl_session_thread;
	while (S.live && (self || (!S.stop && !S.losing))) {
		if (S.free_list) {
			b = S.free_list;
			S.free_list = b->next;
			break;
		}
		/* A thread's first buffer is always granted: it holds nothing the
		 * session could free by waiting. */
		if (!full || self || S.nbufs < S.max_bufs) {
			b = malloc(BUF_BYTES);
			if (b) {
				S.nbufs++;
			} else if (!self) {
				/* out of memory: even lossless sessions must lose */
				S.losing = true;
				S.losing_tsc = tsc_now();
			}
			break;
		}
		if (S.lossless) {
			pthread_cond_wait(&S.freed, &S.lock);
			continue;
		}
		/* The client cannot keep up: lose from now on, resynchronise once
		 * the session thread has caught up. */
		S.losing = true;
		S.losing_tsc = tsc_now();
		break;
	}
	pthread_mutex_unlock(&S.lock);
	if (b) {
		b->next = NULL;
		b->flags = 0;
		b->cap = BUF_RECORDS;
		b->consumed = 0;
	}
	return b;
}

static void s_release(rav_evbuf *last, void *user)
{
	(void)user;
	if (!last)
		return;
	pthread_mutex_lock(&S.lock);
	last->flags = 0;
	if (S.live) {
		last->flags = F_RELEASED;
		enqueue_locked(last);
	} else {
		last->next = S.free_list;
		S.free_list = last;
	}
	pthread_mutex_unlock(&S.lock);
}

static bool copy_page(rav_heap *h, size_t page_index, unsigned fill, bool is_root, void *user)
{
	piece *p = user;
	(void)h;
	if (p->npages == p->pcap) {
		uint32_t cap = p->pcap ? p->pcap * 2 : 16;
		ppage *g = realloc(p->pages, cap * sizeof *g);
		if (!g) {
			p->failed = true;
			return false;
		}
		p->pages = g;
		p->pcap = cap;
	}
	if (p->nwords + (size_t)fill * 4 > p->wcap) {
		size_t cap = p->wcap ? p->wcap : 4096;
		while (cap < p->nwords + (size_t)fill * 4)
			cap *= 2;
		uint64_t *w = realloc(p->words, cap * sizeof *w);
		if (!w) {
			p->failed = true;
			return false;
		}
		p->words = w;
		p->wcap = cap;
	}
	ppage *g = &p->pages[p->npages++];
	g->index = (uint32_t)page_index;
	g->fill = fill;
	g->kind = is_root                            ? RAV_PAGE_ROOT
	          : p->info.kind == RAV_HEAP_MESSAGE ? RAV_PAGE_BUFFER
	                                             : RAV_PAGE_HEAP;
	g->at = p->nwords;
	/* The heap stands still during the callback: its cells are read in
	 * place (the page header, cell 0, is rebuilt by readers). */
	const uintptr_t *src =
	    (const uintptr_t *)((const char *)rav_pool_base() + page_index * (size_t)RAV_PAGE_SIZE);
	uint64_t *dst = p->words + p->nwords;
	memset(dst, 0, 4 * sizeof *dst);
	for (size_t i = 4; i < (size_t)fill * 4; i++)
		dst[i] = src[i];
	for (unsigned c = 1; c < fill; c++) {
		uint64_t *w0 = &dst[(size_t)c * 4];
		if ((*w0 & RAV_TYPE_MASK) != RAV_TYPE_DEAD)
			*w0 &= ~(uint64_t)RAV_FLAG_TRANSIENT; /* transient, never in traces */
	}
	p->nwords += (size_t)fill * 4;
	return true;
}

static uint64_t s_snapshot(const rav_snap_heap *s, void *user)
{
	(void)user;
	pthread_mutex_lock(&S.lock);
	if (!S.live || S.stop) {
		pthread_mutex_unlock(&S.lock);
		return 0;
	}
	uint64_t id = ++S.next_piece;
	bool stats_only = S.stats_only;
	pthread_mutex_unlock(&S.lock);
	if (stats_only)
		return id; /* counted, not sent */
	piece *p = calloc(1, sizeof *p);
	rav_evbuf *node = calloc(1, sizeof *node);
	if (p) {
		p->id = id;
		p->info = *s;
		snprintf(p->name, sizeof p->name, "%s", s->name ? s->name : "");
		p->info.name = p->name;
		p->info.heap = NULL;
		rav_heap_walk(s->heap, copy_page, NULL, p);
	}
	pthread_mutex_lock(&S.lock);
	if (!p || !node || p->failed || !S.live) {
		/* No memory for the copy: this heap cannot be described, so what
		 * follows would not replay.  Treat it as a loss. */
		if (S.live && !S.losing) {
			S.losing = true;
			S.losing_tsc = tsc_now();
		}
		pthread_mutex_unlock(&S.lock);
		if (p) {
			free(p->pages);
			free(p->words);
		}
		free(p);
		free(node);
		return 0;
	}
	node->flags = F_PIECE;
	node->reserved = (uint64_t)(uintptr_t)p;
	enqueue_locked(node);
	S.queued_bytes += p->nwords * sizeof(uint64_t);
	pthread_mutex_unlock(&S.lock);
	return id;
}

/* ---- the session thread: writing ---- */

static int sink(const void *data, size_t len, void *user)
{
	(void)user;
	const char *p = data;
	while (len) {
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
					S.crash_deadline = mono_ms() + 1500;
				stopping = true;
				deadline = S.crash_deadline;
			}
			if (stopping) {
				uint64_t now = mono_ms();
				if (now >= deadline)
					return -1;
				timeout = (int)(deadline - now);
			}
			struct pollfd pf[2] = {{S.fd, POLLOUT, 0}, {S.wake[0], POLLIN, 0}};
			int r = poll(pf, 2, timeout);
			if (r > 0 && (pf[1].revents & POLLIN)) {
				char junk[64];
				while (read(S.wake[0], junk, sizeof junk) > 0)
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

static bool writer_ok(void)
{
	return S.w && !S.client_gone;
}

static void session_record(uint16_t type, const int64_t *v, unsigned nv, const char *text)
{
	if (!writer_ok())
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

static owner_state *owner_get(uint32_t owner)
{
	for (;;) {
		if (S.owners_cap) {
			size_t mask = S.owners_cap - 1;
			for (size_t i = (owner * 2654435761u) & mask;; i = (i + 1) & mask) {
				owner_state *o = &S.owners[i];
				if (o->used && o->owner == owner)
					return o;
				if (!o->used)
					break;
			}
		}
		/* not found: insert (grow at half full) */
		size_t used = 0;
		for (size_t i = 0; i < S.owners_cap; i++)
			used += S.owners[i].used;
		if (used * 2 + 2 > S.owners_cap) {
			size_t cap = S.owners_cap ? S.owners_cap * 2 : 64;
			owner_state *n = calloc(cap, sizeof *n);
			if (!n)
				return NULL;
			for (size_t i = 0; i < S.owners_cap; i++) {
				if (!S.owners[i].used)
					continue;
				for (size_t j = (S.owners[i].owner * 2654435761u) & (cap - 1);;
				     j = (j + 1) & (cap - 1))
					if (!n[j].used) {
						n[j] = S.owners[i];
						break;
					}
			}
			free(S.owners);
			S.owners = n;
			S.owners_cap = cap;
		}
		size_t mask = S.owners_cap - 1;
		for (size_t i = (owner * 2654435761u) & mask;; i = (i + 1) & mask)
			if (!S.owners[i].used) {
				S.owners[i] = (owner_state){owner, 0, true, false};
				return &S.owners[i];
			}
	}
}

static void owners_reset(void)
{
	if (S.owners)
		memset(S.owners, 0, S.owners_cap * sizeof *S.owners);
}

/* Records a text event occupies after its own (FORMAT.md: text events). */
static uint32_t text_records(const rav_raw_event *e)
{
	uint64_t len;
	switch (RAV_EV_KIND(e)) {
	case RAV_EV_THREAD_NAME:
		len = RAV_EV_AUX(e);
		break;
	case RAV_EV_TYPE_DEF:
	case RAV_EV_ERROR:
	case RAV_EV_MARK:
		len = e->a;
		break;
	default:
		return 0;
	}
	if (len > 4096)
		len = 4096;
	return (uint32_t)((len + sizeof(rav_raw_event) - 1) / sizeof(rav_raw_event));
}

/* Events in records [from, to), counted by kind when statistics are wanted. */
static uint64_t count_events(const rav_raw_event *ev, uint32_t from, uint32_t to, bool by_kind)
{
	uint64_t n = 0;
	for (uint32_t i = from; i < to; i++) {
		unsigned k = RAV_EV_KIND(&ev[i]);
		if (by_kind && k < RAV_EV_KIND_COUNT)
			S.kinds[k]++;
		n++;
		i += text_records(&ev[i]);
	}
	return n;
}

static void mark_dirty(uint32_t thread)
{
	for (size_t i = 0; i < S.ndirty; i++)
		if (S.dirty[i] == thread)
			return;
	if (S.ndirty == S.dirty_cap) {
		size_t cap = S.dirty_cap ? S.dirty_cap * 2 : 32;
		uint32_t *d = realloc(S.dirty, cap * sizeof *d);
		if (!d)
			return;
		S.dirty = d;
		S.dirty_cap = cap;
	}
	S.dirty[S.ndirty++] = thread;
}

static void flush_dirty(void)
{
	for (size_t i = 0; i < S.ndirty && writer_ok(); i++)
		ravt_writer_flush_thread(S.w, S.dirty[i]);
	S.ndirty = 0;
}

static void learn_pool(void)
{
	if (S.pool_known || !S.w)
		return;
	size_t bytes;
	void *base = rav_record_pool_base(&bytes);
	if (base) {
		ravt_writer_set_pool(S.w, (uint64_t)(uintptr_t)base, bytes);
		S.pool_known = true;
	}
}

/* Encode records [b->consumed, upto) of a buffer of the current epoch. */
static void consume(rav_evbuf *b, uint32_t upto)
{
	uint32_t from = b->consumed;
	if (upto <= from)
		return;
	uint32_t owner = __atomic_load_n(&b->owner, __ATOMIC_RELAXED);
	owner_state *o = owner_get(owner);
	bool losing;
	uint64_t cut_tsc;
	pthread_mutex_lock(&S.lock);
	losing = S.losing;
	cut_tsc = S.losing_tsc;
	pthread_mutex_unlock(&S.lock);
	uint32_t keep = upto;
	if (o && o->cut) {
		keep = from;
	} else if (losing && owner != S.self_owner) {
		/* The stream of this thread ends at its first clock reading at or
		 * after the moment losing began. */
		for (uint32_t i = from; i < upto; i++) {
			const rav_raw_event *e = &b->ev[i];
			if (RAV_EV_KIND(e) == RAV_EV_TIME && e->a >= cut_tsc) {
				keep = i;
				if (o)
					o->cut = true;
				break;
			}
			i += text_records(e);
		}
	}
	bool by_kind = S.stats_ms || S.stats_only;
	if (keep > from) {
		uint64_t n = count_events(b->ev, from, keep, by_kind);
		S.events += n;
		if (!S.stats_only && writer_ok()) {
			learn_pool();
			uint32_t thread = __atomic_load_n(&b->thread, __ATOMIC_RELAXED);
			ravt_writer_add(S.w, thread, b->ev + from, keep - from);
			mark_dirty(thread);
		}
	}
	if (upto > keep)
		S.lost += count_events(b->ev, keep, upto, false);
	b->consumed = upto;
}

/* Buffers done with in this round go back at its end: one of them may
 * still be on the round's list of active buffers (collected before it was
 * handed over), and must not be refilled by another thread before that
 * list is done. */
static rav_evbuf *done_head;

static void recycle(rav_evbuf *b)
{
	b->next = done_head;
	done_head = b;
}

static void recycle_done(void)
{
	if (!done_head)
		return;
	rav_evbuf *last = done_head;
	while (last->next)
		last = last->next;
	pthread_mutex_lock(&S.lock);
	last->next = S.free_list;
	S.free_list = done_head;
	pthread_cond_broadcast(&S.freed);
	pthread_mutex_unlock(&S.lock);
	done_head = NULL;
}

static void refresh_types(void)
{
	unsigned n = rav_type_count();
	for (unsigned t = S.known_types; t < n && t < RAV_TYPE_MAX; t++)
		S.refmask[t] = (uint8_t)((rav_type_field_kind((rav_type)t, 0) == RAV_REF ? 1 : 0) |
		                         (rav_type_field_kind((rav_type)t, 1) == RAV_REF ? 2 : 0));
	if (n > S.known_types)
		S.known_types = n;
}

static ravt_snap_geom geom(void)
{
	size_t bytes = 0;
	void *base = rav_record_pool_base(&bytes);
	return (ravt_snap_geom){(uint64_t)(uintptr_t)base, bytes, (uint8_t)sizeof(uintptr_t), RAV_PAGE_SIZE,
	                        (uint32_t)RAV_PAGE_CELLS};
}

static void write_heap_piece(piece *p)
{
	if (!writer_ok())
		return;
	refresh_types();
	ravt_snap_geom g = geom();
	/* Cut into parts of about RAVT_SNAP_PART_BYTES of body each. */
	size_t nb = 1, bcap = 4;
	ravt_snap_body *bodies = calloc(bcap, sizeof *bodies);
	uint32_t *items = calloc(bcap, sizeof *items);
	if (!bodies || !items) {
		free(bodies);
		free(items);
		return;
	}
	bool ok = true;
	for (uint32_t i = 0; i < p->npages && ok; i++) {
		if (bodies[nb - 1].len >= RAVT_SNAP_PART_BYTES) {
			if (nb == bcap) {
				bcap *= 2;
				ravt_snap_body *nbod = realloc(bodies, bcap * sizeof *nbod);
				uint32_t *nit = nbod ? realloc(items, bcap * sizeof *nit) : NULL;
				if (nbod)
					bodies = nbod;
				if (!nbod || !nit) {
					ok = false;
					break;
				}
				items = nit;
			}
			bodies[nb] = (ravt_snap_body){0};
			items[nb] = 0;
			nb++;
		}
		const ppage *pg = &p->pages[i];
		ok = ravt_snap_put_page(&bodies[nb - 1], &g, S.refmask, pg->index, pg->kind, pg->fill,
		                        p->words + pg->at);
		items[nb - 1]++;
	}
	for (size_t k = 0; k < nb && ok && writer_ok(); k++) {
		ravt_snap_head h = {
		    .piece = RAV_SNAP_HEAP,
		    .part = (uint32_t)k,
		    .parts = (uint32_t)nb,
		    .items = items[k],
		    .piece_id = p->id,
		    .seq = p->info.seq,
		    .tsc = p->info.tsc,
		    .heap_id = p->info.id,
		    .parent = p->info.parent,
		    .channel = p->info.channel,
		    .heap_kind = p->info.kind,
		    .where = p->info.where,
		    .free_mode = p->info.free_mode,
		    .os_tid = p->info.os_tid,
		    .epoch = p->info.epoch,
		};
		ravt_snap_write(S.w, &h, p->name, &bodies[k]);
	}
	for (size_t k = 0; k < nb; k++)
		ravt_snap_body_free(&bodies[k]);
	free(bodies);
	free(items);
	S.snapshots++;
}

static void free_piece(piece *p)
{
	free(p->pages);
	free(p->words);
	free(p);
}

/* A queued item: a snapshot piece or a buffer handed over. */
static void process(rav_evbuf *b)
{
	if (b->flags & F_PIECE) {
		piece *p = (piece *)(uintptr_t)b->reserved;
		pthread_mutex_lock(&S.lock);
		S.queued_bytes -= p->nwords * sizeof(uint64_t);
		pthread_mutex_unlock(&S.lock);
		if (p->info.epoch == S.epoch)
			write_heap_piece(p);
		free_piece(p);
		free(b);
		return;
	}
	pthread_mutex_lock(&S.lock);
	S.queued_bytes -= (size_t)b->count * sizeof(rav_raw_event);
	pthread_mutex_unlock(&S.lock);
	uint32_t e = __atomic_load_n(&b->epoch, __ATOMIC_ACQUIRE);
	uint32_t count = __atomic_load_n(&b->count, __ATOMIC_ACQUIRE);
	if (e == S.epoch) {
		owner_state *o = owner_get(__atomic_load_n(&b->owner, __ATOMIC_RELAXED));
		uint32_t serial = __atomic_load_n(&b->serial, __ATOMIC_RELAXED);
		if (o && serial == o->expected) {
			consume(b, count);
			o->expected++;
		} else if (o && serial > o->expected) {
			/* Cannot happen (a thread's buffers arrive in order); if it
			 * did, the stream would have a hole: count it as lost. */
			S.lost += count_events(b->ev, b->consumed, count, false);
			o->cut = true;
		}
		if ((b->flags & F_RELEASED) && writer_ok() && !S.stats_only)
			ravt_writer_flush_thread(S.w, __atomic_load_n(&b->thread, __ATOMIC_RELAXED));
	} else if (e >= S.first_epoch && e < S.epoch && count > b->consumed) {
		/* Written in an epoch a resynchronisation left behind. */
		S.lost += count_events(b->ev, b->consumed, count, false);
	}
	recycle(b);
}

static void collect_active(rav_evbuf *b, void *user)
{
	(void)user;
	if (__atomic_load_n(&b->epoch, __ATOMIC_ACQUIRE) != S.epoch)
		return;
	if (S.nact == S.act_cap) {
		size_t cap = S.act_cap ? S.act_cap * 2 : 64;
		void *n = realloc(S.act, cap * sizeof *S.act);
		if (!n)
			return;
		S.act = n;
		S.act_cap = cap;
	}
	S.act[S.nact].b = b;
	S.act[S.nact].count = __atomic_load_n(&b->count, __ATOMIC_ACQUIRE);
	S.nact++;
}

/* One round: committed counts of active buffers, then the queue, then the
 * active buffers up to those counts.  Returns true if the queue was empty. */
static bool drain(void)
{
	S.nact = 0;
	rav_record_foreach_buffer(collect_active, NULL);
	pthread_mutex_lock(&S.lock);
	rav_evbuf *q = S.head;
	S.head = S.tail = NULL;
	S.queued_items = 0;
	S.woken = false;
	pthread_mutex_unlock(&S.lock);
	bool empty = q == NULL;
	while (q) {
		rav_evbuf *next = q->next;
		process(q);
		q = next;
	}
	for (size_t i = 0; i < S.nact; i++) {
		rav_evbuf *b = S.act[i].b;
		owner_state *o = owner_get(__atomic_load_n(&b->owner, __ATOMIC_RELAXED));
		if (o && __atomic_load_n(&b->serial, __ATOMIC_RELAXED) == o->expected)
			consume(b, S.act[i].count);
	}
	recycle_done();
	return empty;
}

/* ---- epochs ---- */

static void types_cb(uint16_t id, unsigned refmask, const char *text, size_t len, void *user)
{
	ravt_snap_body *b = user;
	ravt_snap_put_type(b, id, refmask, text, len);
}

typedef struct pool_copy {
	uint32_t *pages;
	size_t n;
	uint64_t carved, seq, tsc;
} pool_copy;

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static void pool_cb(const uint32_t *pages, size_t n, uint64_t carved, uint64_t seq, uint64_t tsc, void *user)
{
	pool_copy *pc = user;
	pc->seq = seq;
	pc->tsc = tsc;
	pc->carved = carved;
	pc->pages = n ? malloc(n * sizeof *pc->pages) : NULL;
	if (pc->pages) {
		memcpy(pc->pages, pages, n * sizeof *pages);
		pc->n = n;
	}
}

static uint64_t new_piece_id(void)
{
	pthread_mutex_lock(&S.lock);
	uint64_t id = ++S.next_piece;
	pthread_mutex_unlock(&S.lock);
	return id;
}

static void write_types_piece(void)
{
	ravt_snap_body body = {0};
	uint64_t seq, tsc;
	rav_record_types(types_cb, &seq, &tsc, &body);
	uint64_t id = new_piece_id();
	uint32_t n = rav_type_count();
	ravt_snap_head h = {.piece = RAV_SNAP_TYPES,
	                    .parts = 1,
	                    .items = n,
	                    .piece_id = id,
	                    .seq = seq,
	                    .tsc = tsc,
	                    .epoch = S.epoch};
	if (writer_ok())
		ravt_snap_write(S.w, &h, NULL, &body);
	ravt_snap_body_free(&body);
	rav_record_event_ordered(RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_TYPES << 8), 0, id, 0, seq, tsc);
}

static void write_pool_piece(void)
{
	pool_copy pc = {0};
	rav_record_pool_free(pool_cb, &pc);
	if (pc.n)
		qsort(pc.pages, pc.n, sizeof *pc.pages, cmp_u32);
	ravt_snap_body body = {0};
	uint32_t prev = 0;
	for (size_t i = 0; i < pc.n; i++)
		ravt_snap_put_free_page(&body, pc.pages[i], &prev);
	uint64_t id = new_piece_id();
	ravt_snap_head h = {.piece = RAV_SNAP_POOL,
	                    .parts = 1,
	                    .items = (uint32_t)pc.n,
	                    .piece_id = id,
	                    .seq = pc.seq,
	                    .tsc = pc.tsc,
	                    .epoch = S.epoch,
	                    .carved = pc.carved};
	if (writer_ok())
		ravt_snap_write(S.w, &h, NULL, &body);
	ravt_snap_body_free(&body);
	free(pc.pages);
	rav_record_event_ordered(RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_POOL << 8), 0, id, 0, pc.seq, pc.tsc);
}

static void begin_epoch(bool first)
{
	owners_reset();
	S.epoch = rav_record_session_begin();
	if (first)
		S.first_epoch = S.epoch;
	if (!S.stats_only) {
		if (first)
			write_types_piece();
		write_pool_piece();
	}
	S.sweep_left = rav_record_sweep();
	S.self_owner = rav_record_self_owner();
	S.synced_reported = false;
	S.sync_report_at = mono_ms() + SYNC_REPORT_MS;
}

/* Losing, and caught up: end the old epoch with a LOST event, start a new one. */
static void resync(void)
{
	pthread_mutex_lock(&S.lock);
	uint64_t since = S.losing_tsc;
	pthread_mutex_unlock(&S.lock);
	uint64_t dropped = rav_record_dropped();
	S.lost += dropped - S.dropped_at_start;
	S.dropped_at_start = dropped;
	uint64_t tsc;
	uint64_t seq = rav_record_stamp(&tsc);
	uint64_t lost = S.lost - S.lost_reported;
	S.lost_reported = S.lost;
	/* The record first: it tells a live reader that the numbers it has
	 * not seen below the next epoch's first one will not come (FORMAT.md
	 * 12.3), before the LOST event that waits for them. */
	int64_t v[4] = {(int64_t)lost, (int64_t)since, (int64_t)tsc, S.epoch + 1};
	session_record(RAVT_SESSION_LOST, v, 4, NULL);
	/* x: the epoch that follows (its numbers start at x << 40 | 1) */
	if (!S.stats_only)
		rav_record_event_ordered(RAV_EV_LOST, S.epoch + 1, lost, since, seq, tsc);
	/* The LOST event is the last of the old epoch on this thread's stream. */
	drain();
	flush_dirty();
	pthread_mutex_lock(&S.lock);
	S.losing = false;
	pthread_mutex_unlock(&S.lock);
	S.resyncs++;
	begin_epoch(false);
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
	session_record(RAVT_SESSION_STATS, v, 14, NULL);
}

static void sync_report(bool force)
{
	if (S.synced_reported || S.stats_only)
		return;
	uint32_t pending[64];
	rav_census c;
	size_t np = rav_record_census(&c, pending, 64);
	if (np && !force && mono_ms() < S.sync_report_at)
		return;
	char text[64 * 12] = "";
	size_t at = 0;
	for (size_t i = 0; i < np && at + 12 < sizeof text; i++)
		at += (size_t)snprintf(text + at, sizeof text - at, "%s%u", i ? " " : "", pending[i]);
	int64_t v[3] = {S.epoch, c.synced, (int64_t)(c.threads - c.synced)};
	session_record(RAVT_SESSION_SYNCED, v, 3, text);
	S.synced_reported = true;
}

static void wait_for_work(int ms)
{
	struct pollfd pf = {S.wake[0], POLLIN, 0};
	if (poll(&pf, 1, ms) > 0) {
		char junk[64];
		while (read(S.wake[0], junk, sizeof junk) > 0)
			;
	}
}

static void finish(void)
{
	drain();
	drain();
	flush_dirty();
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
	if (writer_ok()) {
		stats_record();
		int64_t v[4] = {how, value, (int64_t)S.events, (int64_t)lost};
		session_record(RAVT_SESSION_END, v, 4, text);
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
			free_piece((piece *)(uintptr_t)q->reserved);
			free(q);
		} else {
			recycle(q);
		}
		q = next;
	}
	recycle_done();
	shutdown(S.fd, SHUT_RDWR);
	close(S.fd);
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

static void *session_main(void *arg)
{
	(void)arg;
	tl_session_thread = true;
	begin_epoch(true);
	uint64_t next_flush = mono_ms() + FLUSH_MS,
	         next_stats = S.stats_ms ? mono_ms() + S.stats_ms : UINT64_MAX;
	for (;;) {
		uint64_t now = mono_ms();
		uint64_t until = next_flush < next_stats ? next_flush : next_stats;
		wait_for_work(until > now ? (int)(until - now) : 0);
		pthread_mutex_lock(&S.lock);
		bool stop = S.stop;
		bool want_stats = S.want_stats;
		S.want_stats = false;
		unsigned nrep = S.nreplies;
		struct reply reps[8];
		memcpy(reps, S.replies, nrep * sizeof reps[0]);
		S.nreplies = 0;
		/* Taken before drain() reads the buffers' counts: the events a
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
		bool empty = drain();
		if (S.sweep_left)
			S.sweep_left = rav_record_sweep();
		now = mono_ms();
		if (now >= next_flush || stop || npost) {
			flush_dirty();
			next_flush = now + FLUSH_MS;
		}
		for (unsigned i = 0; i < npost; i++)
			session_record(posts[i].type, posts[i].v, posts[i].nv, posts[i].text[0] ? posts[i].text : NULL);
		ravt_debugger_poll();
		for (unsigned i = 0; i < nrep; i++) {
			int64_t v = reps[i].code;
			session_record(RAVT_SESSION_ERROR, &v, 1, reps[i].text);
		}
		if (want_stats || now >= next_stats) {
			stats_record();
			if (S.stats_ms)
				next_stats = now + S.stats_ms;
		}
		sync_report(false);
		if (stop || !writer_ok())
			break;
		/* Resynchronise once caught up; after losses in quick succession,
		 * wait longer each time (each resync snapshots every heap again,
		 * which a client that cannot keep up can least afford). */
		if (losing && empty && now >= S.resync_not_before) {
			uint64_t since_last = now - S.last_resync_ms;
			S.resync_backoff =
			    since_last < 1000 ? (S.resync_backoff ? S.resync_backoff * 2 : 50) : 0;
			if (S.resync_backoff > 2000)
				S.resync_backoff = 2000;
			resync();
			S.last_resync_ms = mono_ms();
		} else if (losing && empty && !S.resync_not_before) {
			S.resync_not_before = now + S.resync_backoff;
		}
		if (!losing)
			S.resync_not_before = 0;
	}
	ravt_debugger_stop();
	finish();
	pthread_mutex_lock(&S.lock);
	S.finished = true;
	__atomic_store_n(&S.finished_flag, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&S.running_flag, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&S.done);
	pthread_mutex_unlock(&S.lock);
	if (S.notify_fd >= 0) {
		char c = 1;
		ssize_t n = write(S.notify_fd, &c, 1);
		(void)n;
	}
	return NULL;
}

/* ---- control (listener thread, exit handlers, signal handlers) ---- */

void ravt_session_init(int notify_fd)
{
	S.notify_fd = notify_fd;
	if (S.wake[0] < 0 && pipe2(S.wake, O_CLOEXEC | O_NONBLOCK) != 0)
		S.wake[0] = S.wake[1] = -1;
	S.rec.exchange = s_exchange;
	S.rec.release = s_release;
	S.rec.snapshot = s_snapshot;
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
	uint64_t c0 = tsc_now();
	while (nanosleep(&d, &d) != 0 && errno == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t c1 = tsc_now();
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
	if (S.wake[0] < 0) {
		snprintf(err, errlen, "cannot create the session's wake-up pipe");
		return -1;
	}
	if (!rav_record_install_live(&S.rec)) {
		snprintf(err, errlen, "another recorder is installed in this program");
		return -1;
	}
	S.fd = o->fd;
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
	p.tsc_start = tsc_now();
	p.start_realtime_ns = realtime_ns();
	p.cmdline_len = ravt_read_cmdline(cmdline, sizeof cmdline);
	size_t pool_bytes;
	void *base = rav_record_pool_base(&pool_bytes);
	p.pool_base = (uint64_t)(uintptr_t)base;
	/* tools lower the level as the queue fills; live streams start at 1 */
	S.w = ravt_writer_new(&p, sink, NULL, err, errlen);
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
	session_record(RAVT_SESSION_ATTACHED, v, 8, NULL);
	if (!writer_ok()) {
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
	int rc = pthread_create(&S.thread, &attr, session_main, NULL);
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
		S.stop_deadline = mono_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : FINAL_WAIT_MS);
		pthread_cond_broadcast(&S.freed);
	}
	pthread_mutex_unlock(&S.lock);
	wake_session();
	if (wait_ms <= 0 || tl_session_thread)
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

void ravt_session_crash(int sig, int wait_ms)
{
	if (tl_session_thread || !__atomic_load_n(&S.running_flag, __ATOMIC_ACQUIRE))
		return;
	int expected = 0;
	if (!__atomic_compare_exchange_n(&S.crash_sig, &expected, sig, false, __ATOMIC_SEQ_CST,
	                                 __ATOMIC_RELAXED))
		return;
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
		if (S.fd >= 0)
			close(S.fd);
		S.fd = -1;
	}
	S.head = S.tail = NULL;
}
