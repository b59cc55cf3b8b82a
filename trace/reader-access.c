/* reader-access.c - events by global index, and filtered scans.
 *
 * The merged order is a table of runs (reader-private.h): a global index
 * maps to a run by binary search (with a hint: most accesses are near the
 * last one), then to an ordinal in one thread's stream, then to a chunk.
 * Decoded events come from a small LRU cache of windows of
 * RAVT_LRU_WINDOW events; the cache's decoder stays where it stopped, so
 * walking a chunk window by window decodes it once.
 */
#include <stdlib.h>
#include <string.h>

#include "reader-decode.h"

bool ravt_find_run_locked(ravt_reader *rd, uint64_t i, ravt_run *out)
{
	if (i >= atomic_load_explicit(&rd->merged, memory_order_acquire) || rd->nruns == 0)
		return false;
	size_t h = rd->hint_run;
	if (h < rd->nruns && rd->runs[h].gstart <= i && i < rd->runs[h].gstart + rd->runs[h].len) {
		*out = rd->runs[h];
		return true;
	}
	if (h + 1 < rd->nruns && rd->runs[h + 1].gstart <= i &&
	    i < rd->runs[h + 1].gstart + rd->runs[h + 1].len) {
		rd->hint_run = h + 1;
		*out = rd->runs[h + 1];
		return true;
	}
	size_t lo = 0, hi = rd->nruns;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rd->runs[mid].gstart <= i)
			lo = mid;
		else
			hi = mid;
	}
	if (i >= rd->runs[lo].gstart + rd->runs[lo].len)
		return false;
	rd->hint_run = lo;
	*out = rd->runs[lo];
	return true;
}

static size_t chunk_of(const ravt_reader *rd, const ravt_stream *s, uint64_t ord)
{
	size_t lo = 0, hi = s->nchunks;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rd->chunks[s->chunks[mid]].first <= ord)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The window holding stream ordinal `ord` of chunk `ci` of stream `si`
 * (lock held).  A damaged chunk keeps the events before the damage: the
 * merge delivered those, so random access must serve them too. */
static const ravt_lru_slot *lru_get(ravt_reader *rd, uint32_t si, size_t ci, uint64_t ord)
{
	int64_t cno = rd->streams[si].chunks[ci];
	const ravt_chunk *c = &rd->chunks[cno];
	uint64_t w0 = c->first + (ord - c->first) / RAVT_LRU_WINDOW * RAVT_LRU_WINDOW;
	ravt_lru_slot *victim = &rd->lru[0];
	for (int i = 0; i < RAVT_LRU_SLOTS; i++) {
		if (rd->lru[i].chunk == cno && rd->lru[i].w0 == w0) {
			rd->lru[i].stamp = ++rd->lru_clock;
			return &rd->lru[i];
		}
		if (rd->lru[i].stamp < victim->stamp)
			victim = &rd->lru[i];
	}
	if (!victim->ev) {
		victim->ev = malloc(RAVT_LRU_WINDOW * sizeof *victim->ev);
		if (!victim->ev)
			return NULL;
	}
	ravt_dec *d = rd->lru_dec;
	if (!d) {
		d = rd->lru_dec = ravt_dec_new(rd, NULL);
		if (!d)
			return NULL;
		ravt_dec_set_stream(d, si, rd->streams[si].id);
	}
	victim->chunk = -1;
	if (rd->hint_slot == victim)
		rd->hint_slot = NULL;
	if (d->stream != si || d->ci != (int64_t)ci || d->ordinal > w0) {
		if (d->stream != si)
			ravt_dec_set_stream(d, si, rd->streams[si].id);
		if (!ravt_dec_load(d, (int64_t)ci, true))
			d->ci = -1;
	}
	victim->n = 0;
	rav_event skip;
	while (d->ci >= 0 && d->ordinal < w0) {
		if (!ravt_dec_event(d, &skip, false)) {
			d->ci = -1;
			break;
		}
	}
	while (d->ci >= 0 && victim->n < RAVT_LRU_WINDOW && d->left > 0) {
		if (!ravt_dec_event(d, &victim->ev[victim->n], true)) {
			d->ci = -1;
			break;
		}
		victim->n++;
	}
	victim->chunk = cno;
	victim->w0 = w0;
	victim->stamp = ++rd->lru_clock;
	return victim;
}

void ravt_lru_free(ravt_reader *rd)
{
	ravt_dec_free(rd->lru_dec);
	rd->lru_dec = NULL;
	for (int i = 0; i < RAVT_LRU_SLOTS; i++) {
		free(rd->lru[i].ev);
		rd->lru[i].ev = NULL;
	}
}

static bool fetch_locked(ravt_reader *rd, uint64_t index, rav_event *out, ravt_run *r)
{
	if (!ravt_find_run_locked(rd, index, r))
		return false;
	uint64_t ord = r->ordinal + (index - r->gstart);
	const ravt_lru_slot *slot = rd->hint_slot;
	if (!(slot && slot->chunk >= 0 && rd->hint_stream == r->stream && ord >= slot->w0 &&
	      ord - slot->w0 < slot->n)) {
		const ravt_stream *s = &rd->streams[r->stream];
		slot = lru_get(rd, r->stream, chunk_of(rd, s, ord), ord);
		rd->hint_slot = slot;
		rd->hint_stream = r->stream;
		if (!slot || ord - slot->w0 >= slot->n)
			return false;
	}
	*out = slot->ev[ord - slot->w0];
	out->index = index;
	return true;
}

/* The global index of event `ordinal` of thread `thread`'s stream, -1 if
 * it is not merged yet (or the thread has no stream).  The runs are in
 * global order and a stream's runs in its own order too: scanning back
 * from the newest run, the first run of that stream settles it (an event
 * asked for is usually recent). */
int64_t ravt_reader_thread_event(ravt_reader *rd, uint32_t thread, uint64_t ordinal)
{
	int64_t found = -1;
	pthread_mutex_lock(&rd->lock);
	uint32_t idx = UINT32_MAX;
	if (rd->smap_cap) {
		size_t mask = rd->smap_cap - 1;
		for (size_t i = ravt_hash32(thread) & mask; rd->smap[i]; i = (i + 1) & mask)
			if (rd->streams[rd->smap[i] - 1].id == thread) {
				idx = rd->smap[i] - 1;
				break;
			}
	}
	uint64_t merged = atomic_load_explicit(&rd->merged, memory_order_acquire);
	for (size_t k = rd->nruns; idx != UINT32_MAX && k-- > 0;) {
		const ravt_run *r = &rd->runs[k];
		if (r->stream != idx)
			continue;
		if (ordinal >= r->ordinal + r->len)
			break; /* past the stream's newest merged event */
		if (ordinal >= r->ordinal) {
			uint64_t g = r->gstart + (ordinal - r->ordinal);
			if (g < merged)
				found = (int64_t)g;
			break;
		}
	}
	pthread_mutex_unlock(&rd->lock);
	return found;
}

size_t ravt_reader_thread_spans(ravt_reader *rd, uint64_t from, bool forward, ravt_gspan *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&rd->lock);
	ravt_run r;
	if (max == 0 || !ravt_find_run_locked(rd, from, &r))
		goto done;
	size_t k = rd->hint_run; /* (ravt_find_run_locked leaves it at r) */
	uint64_t merged = atomic_load_explicit(&rd->merged, memory_order_acquire);
	uint64_t end = r.gstart + r.len < merged ? r.gstart + r.len : merged;
	if (forward) {
		if (from + 1 < end)
			out[n++] = (ravt_gspan){from + 1, end - 1};
		for (size_t j = k + 1; j < rd->nruns && n < max; j++) {
			const ravt_run *q = &rd->runs[j];
			if (q->stream != r.stream || q->len == 0)
				continue;
			if (q->gstart >= merged)
				break;
			uint64_t qe = q->gstart + q->len < merged ? q->gstart + q->len : merged;
			out[n++] = (ravt_gspan){q->gstart, qe - 1};
		}
	} else {
		if (from > r.gstart)
			out[n++] = (ravt_gspan){r.gstart, from - 1};
		for (size_t j = k; j-- > 0 && n < max;)
			if (rd->runs[j].stream == r.stream && rd->runs[j].len)
				out[n++] = (ravt_gspan){rd->runs[j].gstart, rd->runs[j].gstart + rd->runs[j].len - 1};
	}
done:
	pthread_mutex_unlock(&rd->lock);
	return n;
}

bool ravt_reader_event_at(ravt_reader *rd, uint64_t index, rav_event *out)
{
	ravt_run r;
	pthread_mutex_lock(&rd->lock);
	bool ok = fetch_locked(rd, index, out, &r);
	pthread_mutex_unlock(&rd->lock);
	return ok;
}

bool ravt_filter_match(const rav_event_filter *f, const rav_event *ev)
{
	if (f->kinds && (ev->kind >= 64 || !(f->kinds & ((uint64_t)1 << ev->kind))))
		return false;
	if (f->thread >= 0 && ev->thread != (uint64_t)f->thread)
		return false;
	if (f->cell) {
		uint64_t want = f->cell & ~(uint64_t)3;
		unsigned m = ravt_shape_addr_mask(ravt_shape_of(ev->kind));
		bool hit = ((m & 1) && !(ev->a & RAV_LOC_EXTERNAL) && (ev->a & ~(uint64_t)3) == want) ||
		           ((m & 2) && !(ev->b & RAV_LOC_EXTERNAL) && (ev->b & ~(uint64_t)3) == want) ||
		           ((m & 4) && !(ev->c & RAV_LOC_EXTERNAL) && (ev->c & ~(uint64_t)3) == want);
		if (!hit)
			return false;
	}
	if (f->sites) {
		size_t lo = 0, hi = f->nsites;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (f->sites[mid] < ev->site)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == f->nsites || f->sites[lo] != ev->site)
			return false;
	}
	return true;
}

int64_t ravt_reader_scan(ravt_reader *rd, uint64_t from, uint64_t to, int dir, const rav_event_filter *f,
                         rav_event *out)
{
	rav_event ev;
	ravt_run r;
	uint64_t i = from;
	pthread_mutex_lock(&rd->lock);
	int64_t found = -1;
	unsigned budget = 0;
	while (dir > 0 ? i < to : i > to) {
		uint64_t idx = dir > 0 ? i : i - 1;
		if (!fetch_locked(rd, idx, &ev, &r))
			break;
		if (f->thread >= 0 && rd->streams[r.stream].id != (uint64_t)f->thread) {
			/* Skip the rest of this run: none of it can match. */
			i = dir > 0 ? r.gstart + r.len : r.gstart;
			continue;
		}
		if (ravt_filter_match(f, &ev)) {
			found = (int64_t)idx;
			if (out)
				*out = ev;
			break;
		}
		i = dir > 0 ? i + 1 : i - 1;
		if (++budget == 4096) {
			/* Let other users of the trace in now and then. */
			budget = 0;
			pthread_mutex_unlock(&rd->lock);
			pthread_mutex_lock(&rd->lock);
		}
	}
	pthread_mutex_unlock(&rd->lock);
	return found;
}
