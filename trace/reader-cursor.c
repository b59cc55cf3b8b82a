/* reader-cursor.c - sequential reading of the merged order from any event
 * (what replay seeks, cell histories and the contention model use).
 *
 * The cursor keeps one decoder per recording thread and copies the runs it
 * needs a batch at a time under the reader's lock; between run boundaries
 * an event costs one decode and no lock.  Threads that appear while a
 * stream is being merged get their decoder when the cursor first meets
 * them.
 */
#include <stdlib.h>
#include <string.h>

#include "reader-decode.h"

#define RUN_BATCH 64
/* Events decoded ahead in one batch (ravt_dec_batch) and handed out one
 * by one: decoding them one call at a time loads and stores the decoder's
 * registers for each. */
#define EV_AHEAD 32

typedef struct cursor_priv {
	ZSTD_DCtx *dctx;
	ravt_dec **dec;
	size_t ndec;
	ravt_run batch[RUN_BATCH];
	size_t nbatch, bi;
	uint64_t run_pos; /* events of batch[bi] already delivered */
	/* Fast path: the decoder serving the current run, how many more events
	 * it may give without looking at runs, and the merged count seen. */
	ravt_dec *fast;
	uint64_t fast_left, limit;
	/* ahead[ia .. na): events of `fast` decoded ahead, within its run,
	 * its segment and the merged count (so none is ever thrown away) */
	uint32_t ia, na;
	rav_event ahead[EV_AHEAD];
	/* The file's pages behind its decoders go back in batches
	 * (ravt_dec_load): a madvise per chunk cost a seek 40-400 us per
	 * chunk on a VM (TLB flushes).  What a cursor read last, up to a
	 * batch, stays mapped until a later reader's release or the close. */
	uint64_t released_to;
} cursor_priv;

void ravt_cursor_init(ravt_cursor *cur, ravt_reader *rd, uint64_t from)
{
	memset(cur, 0, sizeof *cur);
	cur->reader = rd;
	cur->next = from;
	cur->error.chunk = -1;
	cursor_priv *p = calloc(1, sizeof *p);
	if (p) {
		p->released_to = UINT64_MAX;
		p->dctx = ZSTD_createDCtx();
		if (!p->dctx) {
			free(p);
			p = NULL;
		}
	}
	if (!p) {
		cur->failed = true;
		ravt_set_error(&cur->error, RAV_TRACE_ENOMEM, 0, -1, "out of memory for a trace cursor");
	}
	cur->priv = p;
}

/* Copy the runs from the one holding cur->next on into the batch. */
static bool refill(ravt_cursor *cur, cursor_priv *p)
{
	ravt_reader *rd = cur->reader;
	pthread_mutex_lock(&rd->lock);
	ravt_run r;
	bool ok = ravt_find_run_locked(rd, cur->next, &r);
	if (ok) {
		size_t k = rd->hint_run, n = 0;
		while (k < rd->nruns && n < RUN_BATCH)
			p->batch[n++] = rd->runs[k++];
		p->nbatch = n;
		p->bi = 0;
		p->run_pos = cur->next - p->batch[0].gstart;
	}
	pthread_mutex_unlock(&rd->lock);
	return ok;
}

/* The cursor's decoder for a stream, created on first use. */
static ravt_dec *decoder_for(ravt_cursor *cur, cursor_priv *p, uint32_t stream)
{
	ravt_reader *rd = cur->reader;
	if (stream >= p->ndec) {
		size_t n = p->ndec ? p->ndec : 4;
		while (n <= stream)
			n *= 2;
		ravt_dec **dec = realloc(p->dec, n * sizeof *dec);
		if (!dec)
			return NULL;
		memset(dec + p->ndec, 0, (n - p->ndec) * sizeof *dec);
		p->dec = dec;
		p->ndec = n;
	}
	if (!p->dec[stream]) {
		ravt_dec *d = ravt_dec_new(rd, p->dctx);
		if (!d)
			return NULL;
		d->released_to = &p->released_to;
		pthread_mutex_lock(&rd->lock);
		ravt_dec_set_stream(d, stream, rd->streams[stream].id);
		pthread_mutex_unlock(&rd->lock);
		p->dec[stream] = d;
	}
	return p->dec[stream];
}

bool ravt_cursor_next(ravt_cursor *cur, rav_event *ev)
{
	cursor_priv *p = cur->priv;
	if (__builtin_expect(p && p->ia < p->na, 1)) {
		*ev = p->ahead[p->ia++];
		cur->next++;
		p->run_pos++;
		p->fast_left--;
		return true;
	}
	if (__builtin_expect(p && p->fast_left && p->fast->left && cur->next < p->limit, 1)) {
		ravt_dec *d = p->fast;
		if (d->seg_left == 0 && !ravt_dec_next_segment(d)) {
			cur->failed = true;
			p->fast_left = 0;
			ravt_dec_error(d, &cur->error);
			return false;
		}
		uint64_t want = EV_AHEAD;
		if (want > p->fast_left)
			want = p->fast_left;
		if (want > p->limit - cur->next)
			want = p->limit - cur->next;
		if (want > d->seg_left)
			want = d->seg_left;
		uint32_t got = d->acache && ravt_dec_have_ssse3()
		                   ? ravt_dec_batch_cursor_ac_ssse3(d, p->ahead, (uint32_t)want, cur->next)
		                   : ravt_dec_batch(d, p->ahead, (uint32_t)want, cur->next, true, false);
		if (got == 0) {
			/* (a batch that failed later gave the good events before:
			 * they go out, and the slow path below meets the failure
			 * again, the decoder having to be loaded again) */
			cur->failed = true;
			p->fast_left = 0;
			ravt_dec_error(d, &cur->error);
			return false;
		}
		p->na = got;
		p->ia = 1;
		*ev = p->ahead[0];
		cur->next++;
		p->run_pos++;
		p->fast_left--;
		return true;
	}
	if (!p || cur->failed)
		return false;
	ravt_reader *rd = cur->reader;
	p->fast_left = 0;
	p->limit = atomic_load_explicit(&rd->merged, memory_order_acquire);
	if (cur->next >= p->limit)
		return false;
	if (p->bi >= p->nbatch || p->run_pos >= p->batch[p->bi].len) {
		if (p->bi < p->nbatch)
			p->bi++;
		p->run_pos = 0;
		if (p->bi >= p->nbatch || p->batch[p->bi].gstart != cur->next) {
			if (!refill(cur, p))
				return false;
		}
	}
	const ravt_run *r = &p->batch[p->bi];
	ravt_dec *d = decoder_for(cur, p, r->stream);
	/* a thread whose chunk is used up gives its buffer back: a cursor
	 * over many threads holds the chunks it is in, not one per thread */
	if (p->fast && p->fast != d && p->fast->left == 0)
		ravt_dec_drop_buffer(p->fast);
	if (!d) {
		cur->failed = true;
		ravt_set_error(&cur->error, RAV_TRACE_ENOMEM, 0, -1, "out of memory for a trace cursor");
		return false;
	}
	uint64_t ord = r->ordinal + p->run_pos;
	if (d->ci < 0 || d->ordinal != ord) {
		if (!ravt_dec_seek(d, ord)) {
			cur->failed = true;
			ravt_dec_error(d, &cur->error);
			return false;
		}
	}
	if (!ravt_dec_stream_event(d, ev)) {
		cur->failed = true;
		ravt_dec_error(d, &cur->error);
		return false;
	}
	ev->index = cur->next++;
	p->run_pos++;
	p->fast = d;
	p->fast_left = r->len - p->run_pos;
	return true;
}

void ravt_cursor_fini(ravt_cursor *cur)
{
	cursor_priv *p = cur->priv;
	if (p) {
		for (size_t i = 0; i < p->ndec; i++)
			ravt_dec_free(p->dec[i]);
		free(p->dec);
		ZSTD_freeDCtx(p->dctx);
		free(p);
	}
	cur->priv = NULL;
}
