/* reader-decode.c - loading a thread's chunks for the decoder: checksum,
 * decompression, segment table, seeking within a stream; and the batch
 * decoder's out-of-line instances.  The per-event decoding is in
 * reader-decode-batch.h.
 *
 * A decoder copies the chunk-table entry it works on while holding the
 * reader's lock (a stream being polled appends to the table meanwhile) and
 * then only touches its own buffer and the mapped bytes, which never move.
 */
#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "reader-decode.h"

/* The batch decoder's out-of-line instances (reader-decode-batch.h) */
#define RAVT_DB_INTERN true
#define RAVT_DB_SIMD false
#define RAVT_DB_STOP true
#define RAVT_DB_ACACHE false
#define RAVT_DB_NAME ravt_dec_batch_merge_plain
#include "reader-decode-batch.h"
#undef RAVT_DB_NAME
#undef RAVT_DB_ACACHE
#define RAVT_DB_ACACHE true
#define RAVT_DB_NAME ravt_dec_batch_merge_ac
#include "reader-decode-batch.h"
#undef RAVT_DB_NAME
#undef RAVT_DB_ACACHE
#undef RAVT_DB_STOP
#define RAVT_DB_STOP false
#define RAVT_DB_ACACHE false
#define RAVT_DB_NAME ravt_dec_batch_cursor_plain
#include "reader-decode-batch.h"
#undef RAVT_DB_NAME
#undef RAVT_DB_ACACHE
#define RAVT_DB_ACACHE true
#define RAVT_DB_NAME ravt_dec_batch_cursor_ac
#include "reader-decode-batch.h"
#undef RAVT_DB_NAME
#undef RAVT_DB_ACACHE
#undef RAVT_DB_STOP
#undef RAVT_DB_SIMD
#undef RAVT_DB_INTERN

ravt_dec_kbtab ravt_dec_kb;
static pthread_once_t kb_once = PTHREAD_ONCE_INIT;

static void kb_fill(void)
{
	_Static_assert(RAVT_AUX_ZERO == 0 && RAVT_AUX_SAME == 1 && RAVT_AUX_VAR == 2 && RAVT_AUX_ONE == 3,
	               "the aux modes as the decoder's tables are indexed");
	for (unsigned kb = 0; kb < (4u << RAVT_KIND_BITS); kb++) {
		unsigned kind = kb & RAVT_KIND_MAX, mode = kb >> RAVT_KIND_BITS;
		ravt_dec_kb.shape[kb] = kind == RAVT_KIND_MAX  ? RAVT_DSH_ESC
		                        : mode == RAVT_AUX_VAR ? RAVT_DSH_VARAUX
		                                               : (uint8_t)ravt_shape_of(kind);
		ravt_dec_kb.aux_at[kb] = mode == RAVT_AUX_SAME  ? (uint8_t)kind
		                         : mode == RAVT_AUX_ONE ? RAVT_DAUX_ONE
		                                                : RAVT_DAUX_ZERO;
	}
	/* every naming kind's case sets ravt_dec.naming (the debug builds
	 * the tests run check it) */
	for (unsigned kind = 0; kind < 64; kind++)
		assert(!((RAVT_SPAN_NAMING_KINDS >> kind) & 1) || ((RAVT_DEC_NAMING_SHAPES >> ravt_shape_of(kind)) & 1));
}

ravt_dec *ravt_dec_new(ravt_reader *rd, ZSTD_DCtx *dctx)
{
	ravt_dec *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	d->rd = rd;
	d->word_shift = rd->word_shift;
	d->wpp_shift = rd->wpp_shift;
	d->wpp_mask = rd->wpp_mask;
	d->dctx = dctx;
	if (!dctx) {
		d->dctx = ZSTD_createDCtx();
		d->own_dctx = true;
		if (!d->dctx) {
			free(d);
			return NULL;
		}
	}
	pthread_once(&kb_once, kb_fill);
	d->aux[RAVT_DAUX_ONE] = 1; /* (the kinds' and RAVT_DAUX_ZERO's: 0) */
	d->ci = -1;
	d->last_ci = -1;
	return d;
}

void ravt_dec_say(ravt_dec *d, const char *fmt, ...)
{
	if (!d->why && !(d->why = malloc(RAVT_DEC_WHY))) {
		d->why_lost = true;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->why, RAVT_DEC_WHY, fmt, ap);
	va_end(ap);
}

void ravt_dec_set_stream(ravt_dec *d, uint32_t stream, uint32_t tid)
{
	d->stream = stream;
	d->tid = tid;
	d->ci = -1;
	d->last_ci = -1;
}

void ravt_dec_free(ravt_dec *d)
{
	if (!d)
		return;
	if (d->own_dctx)
		ZSTD_freeDCtx(d->dctx);
	size_t bytes = d->cap + d->scap + (size_t)d->runs_cap * 2 * sizeof *d->runs;
	atomic_fetch_sub(&d->rd->buf_bytes, bytes);
	ravt_budget_release(&d->rd->budget, bytes);
	free(d->buf);
	free(d->runs);
	free(d->sbuf);
	free(d->why);
	free(d);
}

void ravt_dec_drop_buffer(ravt_dec *d)
{
	if (!d->cap)
		return;
	atomic_fetch_sub(&d->rd->buf_bytes, d->cap);
	ravt_budget_release(&d->rd->budget, d->cap);
	free(d->buf);
	d->buf = NULL;
	d->cap = 0;
	/* (the position in the stream stays: the next chunk loads as before) */
	d->left = 0;
	d->seg_left = 0;
	d->sp = d->send = d->ep = d->eend = d->seg_start = NULL;
}

size_t ravt_dec_stream_chunks(const ravt_dec *d, bool lock_held)
{
	ravt_reader *rd = d->rd;
	if (!lock_held)
		pthread_mutex_lock(&rd->lock);
	size_t n = rd->streams[d->stream].nchunks;
	if (!lock_held)
		pthread_mutex_unlock(&rd->lock);
	return n;
}

static uint64_t tsc_to_fp(const ravt_reader *rd, uint64_t tsc)
{
	if (tsc <= rd->hdr.tsc_start)
		return 0;
	double ns = (double)(tsc - rd->hdr.tsc_start) * rd->ns_per_tick;
	if (ns > 1e14)
		ns = 1e14; /* more than a day: clamp garbage instead of overflowing */
	return (uint64_t)(ns * 65536.0);
}

static bool seg_read(ravt_dec *d, uint32_t *n, uint64_t *tsc, bool *has_seq, uint64_t *seq)
{
	uint64_t v, z, sc;
	if (d->sp >= d->send)
		return false;
	if (!ravt_get_varint(&d->sp, d->send, &v) || !ravt_get_varint(&d->sp, d->send, &z) ||
	    !ravt_get_varint(&d->sp, d->send, &sc) || v == 0 || v > UINT32_MAX) {
		ravt_dec_say(d, "segment table entry is malformed");
		d->sp = d->send;
		return false;
	}
	*n = (uint32_t)v;
	d->seg_prev_tsc += (uint64_t)ravt_unzigzag(z);
	*tsc = d->seg_prev_tsc;
	*has_seq = sc != 0;
	if (sc) {
		d->seg_prev_seq += (uint64_t)ravt_unzigzag(sc - 1);
		*seq = d->seg_prev_seq;
	} else {
		*seq = 0;
	}
	return true;
}

bool ravt_dec_next_segment(ravt_dec *d)
{
	uint32_t n;
	uint64_t fp;
	if (d->next_valid) {
		n = d->next_n;
		d->seg_tsc = d->next_tsc;
		d->seg_has_seq = d->next_has_seq;
		d->seg_seq = d->next_seq;
		fp = d->next_fp; /* (converted when it was read ahead) */
		d->next_valid = false;
	} else {
		ravt_dec_unsay(d);
		if (!seg_read(d, &n, &d->seg_tsc, &d->seg_has_seq, &d->seg_seq)) {
			if (!ravt_dec_why(d)[0])
				ravt_dec_say(d,
				         "segment table covers fewer events than the chunk holds");
			return false;
		}
		fp = tsc_to_fp(d->rd, d->seg_tsc);
	}
	if (n > d->count - d->segs_total) {
		ravt_dec_say(d, "segment table covers more events than the chunk holds");
		return false;
	}
	d->segs_total += n;
	d->seg_left = n;
	d->t_fp = fp;
	d->t_step = 0;
	uint32_t nn;
	uint64_t nt, ns;
	bool nh;
	if (seg_read(d, &nn, &nt, &nh, &ns)) {
		d->next_valid = true;
		d->next_n = nn;
		d->next_tsc = nt;
		d->next_has_seq = nh;
		d->next_seq = ns;
		uint64_t nfp = tsc_to_fp(d->rd, nt);
		d->next_fp = nfp;
		if (nfp > d->t_fp)
			d->t_step = (nfp - d->t_fp) / n;
	} else if (ravt_dec_why(d)[0]) {
		return false;
	}
	return true;
}

bool ravt_dec_min_seq(const ravt_dec *d, uint64_t *out)
{
	const uint8_t *p = d->seg_start, *end = d->send;
	uint64_t seq = 0, best = UINT64_MAX, n, z, sc;
	while (p < end && ravt_get_varint(&p, end, &n) && ravt_get_varint(&p, end, &z) &&
	       ravt_get_varint(&p, end, &sc)) {
		if (sc) {
			seq += (uint64_t)ravt_unzigzag(sc - 1);
			if (seq < best)
				best = seq;
		}
	}
	*out = best;
	return best != UINT64_MAX;
}

/* Buffer room for chunk c; false with d->why. */
static bool reserve(ravt_dec *d, const ravt_chunk *c)
{
	ravt_reader *rd = d->rd;
	if (d->cap < (size_t)c->raw + RAVT_DEC_PAD) {
		/* the chunk's size (a trace of many threads has many small
		 * chunks, all loaded at once while merging), or twice what the
		 * decoder had: a thread's chunks are mostly alike */
		size_t cap = ((size_t)c->raw + RAVT_DEC_PAD + 63) & ~(size_t)63;
		if (cap < d->cap * 2 && d->cap * 2 <= RAVT_EVENTS_RAW_MAX + RAVT_DEC_PAD + 63)
			cap = d->cap * 2;
		/* Every thread's decoder holds a chunk while merging: a damaged
		 * or hostile file with many threads must not make that unbounded. */
		if (!d->for_merge) {
			/* a cursor or the random-access cache reads what the
			 * merge held within the limit (working sets of the same
			 * chunks): it goes on after the merge stopped there */
			ravt_budget_force(&rd->budget, cap - d->cap);
		} else if (!ravt_budget_charge(&rd->budget, cap - d->cap,
		                               "the chunk buffers of its threads")) {
			ravt_dec_say(d, "%s", "the trace's memory limit is reached");
			d->limit = true;
			return false;
		}
		atomic_fetch_add(&rd->buf_bytes, cap - d->cap);
		uint8_t *b = realloc(d->buf, cap);
		if (!b) {
			atomic_fetch_sub(&rd->buf_bytes, cap - d->cap);
			ravt_budget_release(&rd->budget, cap - d->cap);
			ravt_dec_say(d, "out of memory for a %u-byte chunk", c->raw);
			return false;
		}
		d->buf = b;
		d->cap = cap;
	}
	return true;
}

/* The part of a chunk load that reads the mapped bytes: checksum (the first
 * time) and decompression into the decoder's buffer.  It runs under the
 * guard of reader-guard.c, so it takes no lock. */
static bool load_payload(void *arg)
{
	ravt_dec *d = arg;
	const ravt_chunk *c = &d->chunk;
	const uint8_t *stored = d->rd->data + c->offset + sizeof(ravt_frame);
	if (RAVT_VERIFY_CRC && !c->verified) {
		uint32_t crc = ravt_crc32c(0, stored, c->stored);
		if (crc != c->crc) {
			ravt_dec_say(d, "payload checksum mismatch (stored %08x, computed %08x)", c->crc, crc);
			d->bad_crc = true;
			return false;
		}
	}
	if (c->flags & RAVT_CF_ZSTD) {
		size_t r = ZSTD_decompressDCtx(d->dctx, d->buf, c->raw, stored, c->stored);
		if (ZSTD_isError(r)) {
			ravt_dec_say(d, "zstd: %s", ZSTD_getErrorName(r));
			return false;
		}
		if (r != c->raw) {
			ravt_dec_say(d, "decompressed to %zu bytes, frame says %u", r,
			         c->raw);
			return false;
		}
	} else {
		memcpy(d->buf, stored, c->raw);
	}
	return true;
}

/* The runs of call sites of chunk c: from its SITES chunk, or one run of
 * site 0 covering it.  false with d->why. */
/* Grow the decoder's sites buffers to `want_s` payload bytes and `want_runs`
 * runs, counted against the decoders' memory bound like the events buffer.
 * false with d->why. */
static bool sites_room(ravt_dec *d, size_t want_s, size_t want_runs)
{
	ravt_reader *rd = d->rd;
	size_t want_r = want_runs * 2 * sizeof *d->runs;
	size_t have_s = d->scap, have_r = (size_t)d->runs_cap * 2 * sizeof *d->runs;
	size_t grow = (want_s > have_s ? want_s - have_s : 0) + (want_r > have_r ? want_r - have_r : 0);
	if (!grow)
		return true;
	/* charged like the events buffer (reserve): the merge stops at the
	 * limit, a cursor or the random-access cache goes on past it */
	if (!d->for_merge) {
		ravt_budget_force(&rd->budget, grow);
	} else if (!ravt_budget_charge(&rd->budget, grow, "the call-site buffers of its threads")) {
		ravt_dec_say(d, "%s", "the trace's memory limit is reached");
		d->limit = true;
		return false;
	}
	atomic_fetch_add(&rd->buf_bytes, grow);
	if (want_s > have_s) {
		uint8_t *b = realloc(d->sbuf, want_s);
		if (!b) {
			atomic_fetch_sub(&rd->buf_bytes, grow);
			ravt_budget_release(&rd->budget, grow);
			ravt_dec_say(d, "out of memory for a sites chunk");
			return false;
		}
		d->sbuf = b;
		d->scap = want_s;
		grow -= want_s - have_s;
	}
	if (want_r > have_r) {
		uint32_t *r = realloc(d->runs, want_r);
		if (!r) {
			atomic_fetch_sub(&rd->buf_bytes, grow);
			ravt_budget_release(&rd->budget, grow);
			ravt_dec_say(d, "out of memory for a sites chunk");
			return false;
		}
		d->runs = r;
		d->runs_cap = (uint32_t)want_runs;
	}
	return true;
}

/* The runs of call sites of chunk c: from its SITES chunk, or one run of
 * site 0 covering it.  false with d->why. */
static bool load_sites(ravt_dec *d, const ravt_chunk *c, bool lock_held)
{
	d->run_i = 0;
	d->site = 0;
	if (!c->sites) {
		if (!sites_room(d, 0, 1))
			return false;
		d->runs[0] = c->count;
		d->runs[1] = 0;
		d->run_left = c->count;
		return true;
	}
	ravt_reader *rd = d->rd;
	if (!lock_held)
		pthread_mutex_lock(&rd->lock);
	ravt_sitechunk sc = rd->sitechunks[c->sites - 1];
	if (!lock_held)
		pthread_mutex_unlock(&rd->lock);
	if (!sites_room(d, (size_t)sc.raw + 1, sc.count))
		return false;
	char why[RAVT_DEC_WHY];
	if (!ravt_sites_runs(rd, &sc, d->dctx, &d->sbuf, &d->scap, &d->runs, &d->runs_cap, why, sizeof why)) {
		ravt_dec_say(d, "%s", why);
		return false;
	}
	d->run_left = d->runs[0];
	d->site = d->runs[1];
	return true;
}

#define RELEASE_BATCH (8u << 20)

bool ravt_dec_load(ravt_dec *d, int64_t ci, bool lock_held)
{
	ravt_reader *rd = d->rd;
	if (!lock_held)
		pthread_mutex_lock(&rd->lock);
	uint32_t cidx = rd->streams[d->stream].chunks[ci];
	d->chunk = rd->chunks[cidx];
	if (!lock_held)
		pthread_mutex_unlock(&rd->lock);
	const ravt_chunk *c = &d->chunk;
	d->ci = -1;
	d->last_ci = ci;
	d->bad_crc = false;
	d->limit = false;
	d->changed = false;
	if (!reserve(d, c))
		return false;
	rav_trace_error gerr = {.code = RAV_TRACE_OK};
	if (!ravt_guarded(rd, load_payload, d, &gerr)) {
		/* (ravt_dec_error words it) */
		d->changed = gerr.code == RAV_TRACE_ECHANGED;
		return false;
	}
	/* The payload is in d->buf now: its mapped pages are not needed.  A
	 * madvise per chunk took as much CPU as the decoding (TLB flushes,
	 * dear in a VM: merge-bench 20M events 0.84 -> 0.43 s without them),
	 * so an owner that reads the file in order gives the pages behind
	 * it back RELEASE_BATCH bytes at a time.  A page of another thread's
	 * chunk not read yet may go with them: read later, it is mapped again
	 * (one fault); the watermark only rises, so that happens once. */
	if (!d->released_to) {
		ravt_reader_release_bytes(rd, c->offset + sizeof(ravt_frame), c->stored);
	} else if (*d->released_to == UINT64_MAX) {
		*d->released_to = c->offset; /* (a cursor's first chunk) */
	} else if (c->offset >= *d->released_to + RELEASE_BATCH) {
		ravt_reader_release_bytes(rd, *d->released_to, c->offset - *d->released_to);
		*d->released_to = c->offset;
	}
	if (RAVT_VERIFY_CRC && !c->verified) {
		if (!lock_held)
			pthread_mutex_lock(&rd->lock);
		rd->chunks[cidx].verified = true;
		if (!lock_held)
			pthread_mutex_unlock(&rd->lock);
	}
	memset(d->buf + c->raw, 0, RAVT_DEC_PAD);
	const uint8_t *p = d->buf, *end = d->buf + c->raw;
	uint64_t seglen;
	if (!ravt_get_varint(&p, end, &seglen) || seglen > (uint64_t)(end - p)) {
		ravt_dec_say(d, "segment table length is invalid");
		return false;
	}
	d->sp = d->seg_start = p;
	d->send = p + seglen;
	d->ep = d->send;
	d->eend = end;
	d->ordinal = c->first;
	d->left = c->count;
	d->count = c->count;
	d->segs_total = 0;
	d->seg_prev_tsc = d->seg_prev_seq = 0;
	d->next_valid = false;
	d->ra = d->rext = d->tsc_reg = d->hz_reg = d->seq_reg = 0;
	/* no kind has a last aux yet */
	memset(d->aux, 0, sizeof d->aux[0] << RAVT_KIND_BITS);
	d->acache = c->acache;
	d->ac_order = RAVT_DAC_ORDER_INIT;
	for (unsigned i = 0; i < RAVT_ACACHE_SIZE; i++)
		d->ac[i].cell = RAVT_DAC_FREE;
	d->failed = false;
	ravt_dec_unsay(d);
	if (!load_sites(d, c, lock_held))
		return false;
	d->ci = ci;
	if (!ravt_dec_next_segment(d)) {
		d->ci = -1;
		return false;
	}
	return true;
}

bool ravt_dec_seek(ravt_dec *d, uint64_t ord)
{
	ravt_reader *rd = d->rd;
	if (d->ci >= 0 && d->ordinal == ord && d->left > 0)
		return true;
	pthread_mutex_lock(&rd->lock);
	const ravt_stream *s = &rd->streams[d->stream];
	size_t lo = 0, hi = s->nchunks;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rd->chunks[s->chunks[mid]].first <= ord)
			lo = mid;
		else
			hi = mid;
	}
	bool none = s->nchunks == 0;
	pthread_mutex_unlock(&rd->lock);
	if (none) {
		ravt_dec_say(d, "thread %u has no chunks", d->tid);
		return false;
	}
	if (d->ci != (int64_t)lo || d->ordinal > ord) {
		if (!ravt_dec_load(d, (int64_t)lo, false))
			return false;
	}
	rav_event tmp;
	while (d->ordinal < ord) {
		if (!ravt_dec_event(d, &tmp, false))
			return false;
	}
	return true;
}

bool ravt_dec_stream_event(ravt_dec *d, rav_event *ev)
{
	if (d->ci < 0 || d->left == 0) {
		int64_t next = d->ci + 1;
		if ((size_t)next >= ravt_dec_stream_chunks(d, false)) {
			ravt_dec_say(d, "thread %u has no more events", d->tid);
			return false;
		}
		if (!ravt_dec_load(d, next, false))
			return false;
	}
	return ravt_dec_event(d, ev, true);
}

void ravt_dec_error(const ravt_dec *d, rav_trace_error *err)
{
	if (d->limit && ravt_budget_error(&d->rd->budget, err))
		return;
	if (d->changed || ravt_file_changed(d->rd)) {
		ravt_changed_error(d->rd, err);
		return;
	}
	uint64_t off = 0;
	int64_t chunkno = -1;
	if (d->last_ci >= 0) {
		chunkno = d->chunk.no;
		off = d->chunk.offset;
	}
	ravt_set_error(err, d->bad_crc ? RAV_TRACE_ECHUNK : RAV_TRACE_EDECODE, off, chunkno,
	               "chunk %lld at offset %llu (thread %u): %s", (long long)chunkno,
	               (unsigned long long)off, d->tid, ravt_dec_why(d)[0] ? ravt_dec_why(d) : "cannot be decoded");
}
