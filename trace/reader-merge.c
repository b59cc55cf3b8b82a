/* reader-merge.c - the global order (FORMAT.md section 9), built
 * incrementally and delivered to the sinks.
 *
 * Each chunk's segment table says where its thread's events were cut by
 * TIME and ordering events, with the TSC and sequence number of each cut.
 * The merge takes whole segments: among the threads whose next segment may
 * go (a "ready" heap keyed by TSC) the earliest, but never an ordering event
 * before the ordering events with smaller sequence numbers (a "waiting" heap
 * keyed by sequence number): those were taken under the engine's lock, so
 * they are the truth.  Each event is decoded once, in this order, and handed
 * to the sinks in batches; the order itself is kept as runs
 * (reader-private.h), published under the reader's lock.
 *
 * The merge state (a decoder per thread, both heaps, the next expected
 * sequence number) lives between calls, so a stream that grows costs, per
 * poll, the new events only, and a cancelled index continues where it
 * stopped.  A thread whose framed chunks are all merged is idle until a poll
 * brings its next chunk; in a file, or a stream that ended, it is finished.
 */
#include <stdlib.h>
#include <string.h>

#include "reader-decode.h"

/* Events go to the sinks in batches: one call per batch keeps the hand-over
 * off the per-event path. */
#define SINK_BATCH 128
/* A batch's spans (sink.h): at most one per event, so a batch holds no
 * more events than this (the pipeline's room is 256 at most) */
#define SPAN_MAX 256
#define PENDING_RUNS 256

typedef struct hentry {
	uint64_t key; /* tsc (ready heap) or seq (waiting heap) */
	uint32_t s;   /* stream */
} hentry;

typedef struct heap {
	hentry *e;
	size_t n;
} heap;

enum { S_IDLE = 0, S_QUEUED = 1 };

struct ravt_merge {
	ZSTD_DCtx *dctx;
	ravt_dec **dec; /* per stream */
	uint8_t *state; /* per stream: S_IDLE (no head segment) or S_QUEUED (in a heap) */
	size_t ns, cap;
	heap ready, waiting;
	uint64_t expected; /* next sequence number the order may take */
	bool started;
	uint64_t g; /* events delivered to the sinks */
	ravt_run pending[PENDING_RUNS];
	size_t npending;
	bool failed, final_sent;
	rav_trace_error err;
	ravt_reader_work work;
	bool ssse3; /* EVENTS_AC chunks through ravt_dec_batch_merge_ac_ssse3 */
	uint64_t released_to; /* the decoders' ravt_dec.released_to */
	/* this call's sinks */
	ravt_sink *const *sinks;
	size_t nsinks;
	bool begun;
	/* the batch being decoded into: `batch`, or room the last sink gave
	 * when it reserves (the pipeline; the sinks before it read the events
	 * there), so that events are written once */
	rav_event *bat;
	size_t nbatch, bcap;
	rav_event batch[SINK_BATCH];
	/* what is known of the batch's events (sink.h), in order */
	ravt_span spans[SPAN_MAX];
	size_t nspans;
};

static inline bool hless(hentry a, hentry b)
{
	return a.key < b.key || (a.key == b.key && a.s < b.s);
}

static void heap_push(heap *h, hentry v)
{
	size_t i = h->n++;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!hless(v, h->e[p]))
			break;
		h->e[i] = h->e[p];
		i = p;
	}
	h->e[i] = v;
}

static hentry heap_pop(heap *h)
{
	hentry top = h->e[0], v = h->e[--h->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		hentry best = v;
		if (l < h->n && hless(h->e[l], best))
			m = l, best = h->e[l];
		if (l + 1 < h->n && hless(h->e[l + 1], best))
			m = l + 1, best = h->e[l + 1];
		if (m == i)
			break;
		h->e[i] = h->e[m];
		i = m;
	}
	if (h->n)
		h->e[i] = v;
	return top;
}

/* Room for every stream framed so far (the merge thread is the tables'
 * writer, so it reads them without the lock). */
static bool grow(ravt_reader *rd, ravt_merge *m)
{
	size_t ns = rd->nstreams;
	if (ns > m->cap) {
		size_t cap = m->cap ? m->cap : 8;
		while (cap < ns)
			cap *= 2;
		ravt_dec **dec = realloc(m->dec, cap * sizeof *dec);
		if (!dec)
			return false;
		m->dec = dec;
		uint8_t *st = realloc(m->state, cap);
		if (!st)
			return false;
		m->state = st;
		hentry *r = realloc(m->ready.e, cap * sizeof *r);
		if (!r)
			return false;
		m->ready.e = r;
		hentry *w = realloc(m->waiting.e, cap * sizeof *w);
		if (!w)
			return false;
		m->waiting.e = w;
		m->cap = cap;
	}
	for (; m->ns < ns; m->ns++) {
		m->dec[m->ns] = ravt_dec_new(rd, m->dctx);
		if (!m->dec[m->ns])
			return false;
		m->dec[m->ns]->for_merge = true;
		m->dec[m->ns]->released_to = &m->released_to;
		ravt_dec_set_stream(m->dec[m->ns], (uint32_t)m->ns, rd->streams[m->ns].id);
		m->state[m->ns] = S_IDLE;
	}
	return true;
}

static bool load(ravt_merge *m, ravt_dec *d, int64_t ci)
{
	m->work.merge_chunk_loads++;
	return ravt_dec_load(d, ci, false);
}

/* After a snapshot event was delivered: the piece it names, to the sinks
 * that take pieces. */
static void deliver_snapshot(ravt_reader *rd, ravt_merge *m, const rav_event *ev)
{
	pthread_mutex_lock(&rd->lock);
	const ravt_piece *p = ravt_piece_claim(rd, ev->a, ev->index);
	pthread_mutex_unlock(&rd->lock);
	for (size_t i = 0; i < m->nsinks; i++)
		if (m->sinks[i]->ops->snapshot)
			m->sinks[i]->ops->snapshot(m->sinks[i], ev, p);
}

static void deliver_batch(ravt_merge *m)
{
	if (!m->nbatch)
		return;
	for (size_t i = 0; i < m->nsinks; i++) {
		ravt_sink *k = m->sinks[i];
		if (k->ops->events_spans)
			k->ops->events_spans(k, m->bat, m->nbatch, m->spans, m->nspans);
		else
			k->ops->events(k, m->bat, m->nbatch);
	}
	m->nbatch = 0;
	m->nspans = 0;
}

/* The decoder just gave bat[nb .. nb + got) (got >= 1): their span, or
 * more of the last one when it is the same thread's.  A batch's events
 * are one segment's, whose times never decrease (ravt_dec_next_segment's
 * step takes the segment's events at most to the next one's time), so
 * the last is the latest. */
static inline void add_span(ravt_merge *m, ravt_dec *d, size_t nb, uint32_t got)
{
	uint64_t t = m->bat[nb + got - 1].time_ns;
	bool naming = d->naming;
	d->naming = false;
	if (m->nspans && m->spans[m->nspans - 1].thread == d->tid) {
		ravt_span *sp = &m->spans[m->nspans - 1];
		sp->n += got;
		sp->naming |= naming;
		if (t > sp->latest_ns)
			sp->latest_ns = t;
		return;
	}
	m->spans[m->nspans++] = (ravt_span){(uint32_t)nb, got, d->tid, naming, t};
}

/* Before the first event of a batch: the sinks' begin (once per call),
 * then where the batch goes. */
static void start_batch(ravt_merge *m)
{
	if (!m->begun) {
		for (size_t i = 0; i < m->nsinks; i++)
			m->sinks[i]->ops->begin(m->sinks[i], m->g);
		m->begun = true;
	}
	ravt_sink *last = m->nsinks ? m->sinks[m->nsinks - 1] : NULL;
	if (last && last->ops->reserve) {
		m->bat = last->ops->reserve(last, &m->bcap);
	} else {
		m->bat = m->batch;
		m->bcap = SINK_BATCH;
	}
	if (m->bcap > SPAN_MAX)
		m->bcap = SPAN_MAX;
}

/* Deliver what is batched, then make the runs and the merged count visible. */
static bool publish(ravt_reader *rd, ravt_merge *m)
{
	deliver_batch(m);
	pthread_mutex_lock(&rd->lock);
	rd->work = m->work;
	if (rd->nruns + m->npending > rd->cap_runs) {
		size_t cap = rd->cap_runs ? rd->cap_runs * 2 : 1024;
		while (cap < rd->nruns + m->npending)
			cap *= 2;
		/* a run per switch between threads: the one structure of the
		 * reader that grows with the events.  Past the limit, the runs
		 * of events the sinks already have still get room (a few
		 * hundred at most), then the merge stops. */
		if (!ravt_budget_charge(&rd->budget, (cap - rd->cap_runs) * sizeof(ravt_run),
		                        "the merged order (one entry per switch between threads)")) {
			cap = rd->nruns + m->npending;
			ravt_budget_force(&rd->budget, (cap - rd->cap_runs) * sizeof(ravt_run));
		}
		ravt_run *r = realloc(rd->runs, cap * sizeof *r);
		if (!r) {
			pthread_mutex_unlock(&rd->lock);
			return false;
		}
		rd->runs = r;
		rd->cap_runs = cap;
	}
	size_t start = 0;
	/* Join with the last published run when it continues it. */
	if (m->npending && rd->nruns) {
		ravt_run *last = &rd->runs[rd->nruns - 1];
		ravt_run *p = &m->pending[0];
		if (last->stream == p->stream && last->gstart + last->len == p->gstart &&
		    last->ordinal + last->len == p->ordinal && (uint64_t)last->len + p->len <= UINT32_MAX) {
			last->len += p->len;
			start = 1;
		}
	}
	if (m->npending > start) /* both pointers may be NULL when nothing is pending (UBSan) */
		memcpy(rd->runs + rd->nruns, m->pending + start, (m->npending - start) * sizeof(ravt_run));
	rd->nruns += m->npending - start;
	atomic_store_explicit(&rd->merged, m->g, memory_order_release);
	pthread_mutex_unlock(&rd->lock);
	m->npending = 0;
	return true;
}

static bool add_run(ravt_reader *rd, ravt_merge *m, uint32_t s, uint64_t ordinal, uint32_t len)
{
	if (m->npending) {
		ravt_run *last = &m->pending[m->npending - 1];
		if (last->stream == s && last->ordinal + last->len == ordinal &&
		    (uint64_t)last->len + len <= UINT32_MAX) {
			last->len += len;
			return true;
		}
	}
	if (m->npending == PENDING_RUNS && !publish(rd, m))
		return false;
	m->pending[m->npending++] = (ravt_run){m->g, ordinal, s, len};
	return true;
}

static ravt_merge *merge_new(void)
{
	ravt_merge *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->ssse3 = ravt_dec_have_ssse3();
	m->dctx = ZSTD_createDCtx();
	if (!m->dctx) {
		free(m);
		return NULL;
	}
	return m;
}

/* The decoders and heaps are of no use once the order is final. */
static void release_decoders(ravt_merge *m)
{
	for (size_t i = 0; i < m->ns; i++)
		ravt_dec_free(m->dec[i]);
	free(m->dec);
	free(m->state);
	free(m->ready.e);
	free(m->waiting.e);
	m->dec = NULL;
	m->state = NULL;
	m->ready = m->waiting = (heap){NULL, 0};
	m->ns = m->cap = 0;
	ZSTD_freeDCtx(m->dctx);
	m->dctx = NULL;
}

void ravt_merge_free(ravt_reader *rd)
{
	ravt_merge *m = rd->merge;
	if (!m)
		return;
	release_decoders(m);
	free(m);
	rd->merge = NULL;
}

static void fail(ravt_merge *m, const rav_trace_error *err)
{
	m->failed = true;
	m->err = *err;
}

static void fail_nomem(ravt_reader *rd, ravt_merge *m)
{
	rav_trace_error e;
	if (!ravt_budget_error(&rd->budget, &e))
		ravt_set_error(&e, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
	fail(m, &e);
}

/* Streams with a framed chunk beyond where their decoder stands get their
 * head segment queued. */
static bool activate(ravt_reader *rd, ravt_merge *m)
{
	for (size_t s = 0; s < m->ns; s++) {
		ravt_dec *d = m->dec[s];
		if (m->state[s] != S_IDLE || (size_t)(d->ci + 1) >= rd->streams[s].nchunks)
			continue;
		if (d->ci >= 0 && d->left > 0)
			continue; /* (cannot happen: an idle decoder used up its chunk) */
		if (!load(m, d, d->ci + 1)) {
			rav_trace_error e;
			ravt_dec_error(d, &e);
			fail(m, &e);
			return false;
		}
		m->state[s] = S_QUEUED;
		heap_push(&m->ready, (hentry){d->seg_tsc, (uint32_t)s});
	}
	return true;
}

/* The first sequence number.  In a file: the smallest in the threads'
 * first chunks (the decoders stand on them on the first call).  A live
 * stream cannot know the chunks still in flight: a thread whose first
 * chunk comes later may hold smaller numbers than every chunk seen so far
 * (a producer that fills its chunk slowly, a consumer that fills its own
 * and sends it first), and merging from the smallest number seen would put
 * the consumer's receive before the producer's send.  So a live merge
 * expects the first number a recording has: 1 from the program's start
 * (the engine's counter, FORMAT.md section 8), and a session's numbers
 * start above the floor its ATTACHED record sets, which releases the
 * segments waiting for them (ravt_reader_merge). */
static void start(ravt_merge *m, bool live)
{
	uint64_t expected = UINT64_MAX;
	if (live) {
		expected = RAVT_SEQ_FIRST;
	} else {
		for (size_t s = 0; s < m->ns; s++) {
			uint64_t v;
			if (m->dec[s]->ci >= 0 && ravt_dec_min_seq(m->dec[s], &v) && v < expected)
				expected = v;
		}
		if (expected == UINT64_MAX)
			expected = 0;
	}
	m->expected = expected;
	m->started = true;
}

/* Merge one segment run of stream s and the ones of s that follow while s
 * stays the earliest.  Returns 1 to go on, 0 to stop the call (event budget
 * used up), -1 on failure. */
static int take(ravt_reader *rd, ravt_merge *m, uint32_t s, uint64_t stop_at)
{
	ravt_dec *d = m->dec[s];
	for (;;) {
		if (d->seg_has_seq) {
			if (d->seg_seq > m->expected) {
				heap_push(&m->waiting, (hentry){d->seg_seq, s});
				return 1;
			}
			if (d->seg_seq + 1 > m->expected)
				m->expected = d->seg_seq + 1;
			while (m->waiting.n && m->waiting.e[0].key <= m->expected) {
				hentry w = heap_pop(&m->waiting);
				heap_push(&m->ready, (hentry){m->dec[w.s]->seg_tsc, w.s});
			}
		}
		uint32_t n = d->seg_left;
		if (!add_run(rd, m, s, d->ordinal, n)) {
			fail_nomem(rd, m);
			return -1;
		}
		/* The segment decoded in batches straight into the sinks' batch
		 * (g and nb in locals: stores into the batch, inside *m, would
		 * otherwise make them reload). */
		uint64_t g = m->g;
		size_t nb = m->nbatch;
		uint32_t done = 0;
		while (done < n) {
			if (nb == 0) {
				m->g = g;
				start_batch(m);
			}
			uint32_t want = n - done;
			if (want > m->bcap - nb)
				want = (uint32_t)(m->bcap - nb);
			uint32_t got = m->ssse3 && d->acache
			                   ? ravt_dec_batch_merge_ac_ssse3(d, &m->bat[nb], want, g)
			                   : ravt_dec_batch(d, &m->bat[nb], want, g, true, true);
			if (__builtin_expect(got > 0, 1))
				add_span(m, d, nb, got);
			g += got;
			nb += got;
			done += got;
			if (__builtin_expect(got < want && d->failed, 0)) {
				m->g = g;
				m->nbatch = nb;
				/* Keep the runs consistent with what was delivered. */
				m->pending[m->npending - 1].len -= n - done;
				if (m->pending[m->npending - 1].len == 0)
					m->npending--;
				m->work.merge_events += done;
				rav_trace_error e;
				ravt_dec_error(d, &e);
				fail(m, &e);
				return -1;
			}
			if (__builtin_expect(m->bat[nb - 1].kind == RAV_EV_SNAPSHOT, 0)) {
				/* the events up to it first, then the state it names */
				rav_event snap = m->bat[nb - 1];
				m->g = g;
				m->nbatch = nb;
				deliver_batch(m);
				deliver_snapshot(rd, m, &snap);
				nb = 0;
				continue;
			}
			if (nb == m->bcap) {
				m->g = g;
				m->nbatch = nb;
				deliver_batch(m);
				nb = 0;
			}
		}
		m->g = g;
		m->nbatch = nb;
		m->work.merge_events += n;
		/* A consumer that passed the trace's memory limit stopped
		 * growing: stop here, at the end of a segment. */
		if (__builtin_expect(ravt_budget_is_exceeded(&rd->budget), 0)) {
			fail_nomem(rd, m);
			return -1;
		}
		/* Next segment: in this chunk, or the first of the next chunk. */
		bool more;
		if (d->left == 0) {
			more = (size_t)(d->ci + 1) < rd->streams[s].nchunks;
			if (more && !load(m, d, d->ci + 1)) {
				rav_trace_error e;
				ravt_dec_error(d, &e);
				fail(m, &e);
				return -1;
			}
		} else if (!ravt_dec_next_segment(d)) {
			rav_trace_error e;
			ravt_dec_error(d, &e);
			fail(m, &e);
			return -1;
		} else {
			more = true;
		}
		if (!more) {
			m->state[s] = S_IDLE;
			ravt_dec_drop_buffer(d);
			return m->g >= stop_at ? 0 : 1;
		}
		if (m->g >= stop_at) {
			heap_push(&m->ready, (hentry){d->seg_tsc, s});
			return 0;
		}
		if (m->ready.n && hless(m->ready.e[0], (hentry){d->seg_tsc, s})) {
			heap_push(&m->ready, (hentry){d->seg_tsc, s});
			return 1;
		}
	}
}

int ravt_reader_merge(ravt_reader *rd, ravt_sink *const *sinks, size_t nsinks, uint64_t max_events,
                      rav_trace_error *err)
{
	ravt_clear_error(err);
	if (!rd->merge && !(rd->merge = merge_new())) {
		ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
		return -1;
	}
	ravt_merge *m = rd->merge;
	m->sinks = sinks;
	m->nsinks = nsinks;
	m->begun = false;
	bool live = rd->is_stream && !rd->stream_eof;
	int rc = 0;
	bool stopped = false;
	if (!m->failed && !m->final_sent) {
		if (!grow(rd, m))
			fail_nomem(rd, m);
		else if (activate(rd, m)) {
			if (!m->started && m->ready.n)
				start(m, live);
			uint64_t stop_at = max_events ? m->g + max_events : UINT64_MAX;
			for (;;) {
				if (m->ready.n == 0) {
					/* Every thread left waits for a sequence number.  In a
					 * file the number is lost (a thread's last chunk): go on
					 * with the smallest; a live stream waits for it, unless
					 * its session said no number below its floor is still
					 * to come (the first number, a loss). */
					if (m->waiting.n == 0 ||
					    (live && m->waiting.e[0].key > rd->seq_floor))
						break;
					hentry w = heap_pop(&m->waiting);
					m->expected = w.key;
					heap_push(&m->ready, (hentry){m->dec[w.s]->seg_tsc, w.s});
				}
				hentry h = heap_pop(&m->ready);
				int r = take(rd, m, h.s, stop_at);
				if (r < 0)
					break;
				if (r == 0) {
					stopped = true;
					break;
				}
			}
		}
	}
	if (!publish(rd, m) && !m->failed)
		fail_nomem(rd, m);
	bool final = m->failed || (!live && !stopped && m->ready.n == 0 && m->waiting.n == 0);
	if (m->begun || (final && !m->final_sent)) {
		for (size_t i = 0; i < nsinks; i++) {
			if (!m->begun)
				sinks[i]->ops->begin(sinks[i], m->g);
			sinks[i]->ops->end(sinks[i], m->g, final);
		}
		m->work.deliveries++;
		m->final_sent = final;
	}
	pthread_mutex_lock(&rd->lock);
	rd->work = m->work;
	rd->merge_failed = m->failed;
	rd->merge_err = m->err;
	pthread_mutex_unlock(&rd->lock);
	atomic_store(&rd->merge_final, final);
	m->sinks = NULL;
	m->nsinks = 0;
	if (m->failed) {
		if (err)
			*err = m->err;
		rc = -1;
	} else {
		rc = stopped ? 1 : 0;
	}
	if (final && m->dec)
		release_decoders(m);
	/* the pages behind the merge went while it read (ravt_dec_load), the
	 * rest now (and those the kernel maps around each one read) */
	if (final) {
		pthread_mutex_lock(&rd->lock);
		uint64_t size = rd->size;
		pthread_mutex_unlock(&rd->lock);
		ravt_reader_release_bytes(rd, 0, size);
	}
	return rc;
}

uint64_t ravt_reader_merged(const ravt_reader *rd)
{
	return atomic_load_explicit(&rd->merged, memory_order_acquire);
}

bool ravt_reader_merge_failed(const ravt_reader *rd, rav_trace_error *err)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	bool f = rd->merge_failed;
	if (f && err)
		*err = rd->merge_err;
	pthread_mutex_unlock(&w->lock);
	return f;
}

bool ravt_reader_merge_final(const ravt_reader *rd)
{
	return atomic_load(&((ravt_reader *)rd)->merge_final);
}
