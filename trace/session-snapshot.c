/* session-snapshot.c - heap snapshots and epochs of a live session
 * (session.c).
 *
 * A program thread taking a snapshot of its heap (the engine calls the
 * recorder's snapshot callback at a safe point) copies the heap's pages
 * into a piece and queues it; the session thread writes the piece as
 * SNAPSHOT chunks before the event that refers to it.  An epoch starts with
 * the type table and the free page pool, and every heap snapshotted again
 * (FORMAT.md 12.3); a resynchronisation after losses ends one epoch with a
 * LOST event and starts the next.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "session.h"
#include "snapshot.h"

/* last: it defines S */
#include "session-private.h"

/* ---- copying a heap (program threads) ---- */

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

/* Lock held: the snapshot numbered seq is refused, its number will not
 * come (the engine writes no event for it). */
static void void_seq_locked(uint64_t seq)
{
	if (seq && seq >> RAVT_SEQ_EPOCH_SHIFT == S.void_epoch && seq < S.cut_seq)
		S.seqs_void++;
}

uint64_t ravt_session_snapshot(const rav_snap_heap *s, void *user)
{
	(void)user;
	pthread_mutex_lock(&S.lock);
	/* Until the end's cut is made a snapshot is taken as any event is
	 * recorded: a thread refused one stops recording in the epoch. */
	if (!S.live || S.sealed) {
		void_seq_locked(s->seq);
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
		if (S.live)
			ravt_session_lose_locked();
		void_seq_locked(s->seq);
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
	ravt_session_enqueue_locked(node);
	S.queued_bytes += p->nwords * sizeof(uint64_t);
	pthread_mutex_unlock(&S.lock);
	return id;
}

/* ---- writing a piece (the session thread) ---- */

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

void ravt_session_write_heap_piece(piece *p)
{
	if (!ravt_session_writer_ok())
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
	for (size_t k = 0; k < nb && ok && ravt_session_writer_ok(); k++) {
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

void ravt_session_free_piece(piece *p)
{
	free(p->pages);
	free(p->words);
	free(p);
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
	if (ravt_session_writer_ok())
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
	if (ravt_session_writer_ok())
		ravt_snap_write(S.w, &h, NULL, &body);
	ravt_snap_body_free(&body);
	free(pc.pages);
	rav_record_event_ordered(RAV_EV_SNAPSHOT | ((uint32_t)RAV_SNAP_POOL << 8), 0, id, 0, pc.seq, pc.tsc);
}

void ravt_session_begin_epoch(bool first)
{
	ravt_session_owners_reset();
	/* before the epoch begins: a snapshot refused at once is counted */
	pthread_mutex_lock(&S.lock);
	S.void_epoch = rav_record_epoch() + 1;
	S.seqs_void = 0;
	S.seqs_written = 0;
	/* losing again already (since the resynchronisation said it was over):
	 * nothing of the new epoch is sent but its end (no thread joins it
	 * while losing anyway) */
	S.cut_seq = S.losing ? ((uint64_t)S.void_epoch << RAVT_SEQ_EPOCH_SHIFT) + 1 : UINT64_MAX;
	pthread_mutex_unlock(&S.lock);
	S.epoch = rav_record_session_begin();
	if (first)
		S.first_epoch = S.epoch;
	if (!S.stats_only) {
		if (first)
			write_types_piece();
		write_pool_piece();
	}
	S.sweep_left = 1; /* (all of it: ravt_session_sweep) */
	ravt_session_sweep();
	S.self_owner = rav_record_self_owner();
	S.synced_reported = false;
	S.sync_report_at = ravt_mono_ms() + SYNC_REPORT_MS;
}

/* The epoch's sweep (the messages queued in channels and the threads
 * blocked in a receive, rav_record_sweep), a part of it per round of the
 * session thread: SWEEP_STEP messages a call, for at most SWEEP_ROUND_NS,
 * and only while the queue has room (the copies are queued as pieces the
 * round after writes).  Done all at once, a program with 60000 messages in
 * flight held the session thread for seconds (~80 us a message) while no
 * buffer was read: with a lossy client the program's buffers overflowed,
 * the loss ended in a resynchronisation, which swept again, and so on for
 * ever.  A message its receiver takes before the sweep reached it is
 * snapshotted by the receiver. */
#define SWEEP_STEP 16
#define SWEEP_ROUND_NS 3000000u

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool ravt_session_sweep(void)
{
	bool progress = false;
	uint64_t t0 = mono_ns();
	while (S.sweep_left) {
		pthread_mutex_lock(&S.lock);
		bool room = S.queued_bytes < S.max_bufs * BUF_BYTES / 2;
		pthread_mutex_unlock(&S.lock);
		if (!room)
			break;
		unsigned taken = 0;
		S.sweep_left = rav_record_sweep(SWEEP_STEP, &taken);
		if (!taken)
			break; /* done, or the channels left are busy: the next round */
		progress = true;
		if (mono_ns() - t0 >= SWEEP_ROUND_NS)
			break;
	}
	return progress && S.sweep_left;
}

/* Losing, and caught up: end the old epoch with a LOST event, start a new one. */
void ravt_session_resync(void)
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
	ravt_session_record(RAVT_SESSION_LOST, v, 4, NULL);
	/* x: the epoch that follows (its numbers start at x << 40 | 1) */
	if (!S.stats_only)
		rav_record_event_ordered(RAV_EV_LOST, S.epoch + 1, lost, since, seq, tsc);
	/* The LOST event is the last of the old epoch on this thread's stream. */
	ravt_session_drain();
	ravt_session_flush_dirty();
	pthread_mutex_lock(&S.lock);
	S.losing = false;
	pthread_mutex_unlock(&S.lock);
	S.resyncs++;
	ravt_session_begin_epoch(false);
}
