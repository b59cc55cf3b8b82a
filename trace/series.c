/* series.c - summary series (series.h): bins filled by the replay
 * consumer, queried by rav_trace_series.
 *
 * Per-heap levels are kept sparsely: a heap's series gets an entry only for
 * the bins in which its numbers changed, and a query takes the last entry
 * at or before a bin.  Counts are spread evenly over a bin's width when a
 * query's bins do not line up with the stored ones.
 */
#include <stdlib.h>
#include <string.h>

#include "format.h" /* ravt_hash32 */
#include "series.h"

ravt_series *ravt_series_new(ravt_budget *budget)
{
	ravt_series *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->budget = budget;
	s->bin_w = RAVT_SERIES_W0;
	s->counts = calloc(RAVT_SERIES_BINS, sizeof *s->counts);
	s->live_tot = calloc(RAVT_SERIES_BINS, sizeof *s->live_tot);
	s->pages_tot = calloc(RAVT_SERIES_BINS, sizeof *s->pages_tot);
	if (!s->counts || !s->live_tot || !s->pages_tot) {
		ravt_series_free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void ravt_series_free(ravt_series *s)
{
	if (!s)
		return;
	free(s->counts);
	free(s->live_tot);
	free(s->pages_tot);
	for (uint32_t i = 0; i < s->nhs; i++) {
		free(s->hs[i].bin);
		free(s->hs[i].live);
		free(s->hs[i].pages);
	}
	free(s->hs);
	free(s->hmap);
	free(s->dirty);
	if (s->counts)
		pthread_mutex_destroy(&s->lock);
	free(s);
}

#define SERIES_WHAT "the per-heap series"

static void hs_push(ravt_series *s, ravt_heap_series *h, uint32_t bin, uint64_t live, uint32_t pages)
{
	if (h->n && h->bin[h->n - 1] == bin) {
		h->live[h->n - 1] = live;
		h->pages[h->n - 1] = pages;
		return;
	}
	if (h->n == h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 8;
		if (!ravt_budget_charge(s->budget, (uint64_t)(ncap - h->cap) * 16, SERIES_WHAT))
			return;
		uint32_t *nb = realloc(h->bin, sizeof *nb * ncap);
		if (nb)
			h->bin = nb;
		uint64_t *nl = realloc(h->live, sizeof *nl * ncap);
		if (nl)
			h->live = nl;
		uint32_t *np = realloc(h->pages, sizeof *np * ncap);
		if (np)
			h->pages = np;
		if (!nb || !nl || !np)
			return;
		h->cap = ncap;
	}
	h->bin[h->n] = bin;
	h->live[h->n] = live;
	h->pages[h->n] = pages;
	h->n++;
}

/* Index the heaps [from, nhs) by id (lock held); false when out of room. */
static bool map_heaps(ravt_series *s, uint32_t from)
{
	if ((uint64_t)s->nhs * 2 > s->hmap_cap) {
		uint32_t cap = s->hmap_cap ? s->hmap_cap : 64;
		while ((uint64_t)s->nhs * 2 > cap)
			cap *= 2;
		if (!ravt_budget_charge(s->budget, (uint64_t)(cap - s->hmap_cap) * sizeof(uint32_t),
		                        SERIES_WHAT))
			return false;
		uint32_t *m = calloc(cap, sizeof *m);
		if (!m)
			return false;
		free(s->hmap);
		s->hmap = m;
		s->hmap_cap = cap;
		from = 0;
	}
	for (uint32_t k = from; k < s->nhs; k++) {
		uint32_t i = ravt_hash32(s->hs[k].id) & (s->hmap_cap - 1);
		while (s->hmap[i])
			i = (i + 1) & (s->hmap_cap - 1);
		s->hmap[i] = k + 1;
	}
	return true;
}

static const ravt_heap_series *series_of(const ravt_series *s, uint32_t id)
{
	if (!s->hmap_cap)
		return NULL;
	uint32_t mask = s->hmap_cap - 1;
	for (uint32_t i = ravt_hash32(id) & mask; s->hmap[i]; i = (i + 1) & mask)
		if (s->hs[s->hmap[i] - 1].id == id)
			return &s->hs[s->hmap[i] - 1];
	return NULL;
}

void ravt_series_touch_slow(ravt_series *s, const ravt_model *m, const ravt_mheap *h)
{
	uint32_t hi = (uint32_t)(h - m->heaps);
	if (hi >= m->nheaps)
		return;
	if (s->nhs <= hi) {
		pthread_mutex_lock(&s->lock); /* queries read hs */
		uint32_t had = s->nhs;
		while (s->nhs <= hi) {
			if (s->nhs == s->hs_cap) {
				uint32_t ncap = s->hs_cap ? s->hs_cap * 2 : 16;
				if (!ravt_budget_charge(
				        s->budget, (uint64_t)(ncap - s->hs_cap) * sizeof *s->hs, SERIES_WHAT))
					break;
				ravt_heap_series *n = realloc(s->hs, sizeof *n * ncap);
				if (!n)
					break;
				s->hs = n;
				s->hs_cap = ncap;
			}
			memset(&s->hs[s->nhs], 0, sizeof s->hs[0]);
			s->hs[s->nhs].id = m->heaps[s->nhs].id;
			s->nhs++;
		}
		if (!map_heaps(s, had))
			s->nhs = had; /* (out of room: those heaps get no series) */
		pthread_mutex_unlock(&s->lock);
		if (s->nhs <= hi)
			return;
	}
	ravt_heap_series *hs = &s->hs[hi];
	if (hs->touched == s->nbins + 1)
		return;
	if (s->ndirty == s->dirty_cap) {
		uint32_t ncap = s->dirty_cap ? s->dirty_cap * 2 : 16;
		if (!ravt_budget_charge(s->budget, (uint64_t)(ncap - s->dirty_cap) * sizeof *s->dirty,
		                        SERIES_WHAT))
			return;
		uint32_t *n = realloc(s->dirty, sizeof *n * ncap);
		if (!n)
			return;
		s->dirty = n;
		s->dirty_cap = ncap;
	}
	s->dirty[s->ndirty++] = hi;
	hs->touched = s->nbins + 1;
}

/* (lock held) */
static void close_locked(ravt_series *s, const ravt_model *m)
{
	if (s->nbins == RAVT_SERIES_BINS) {
		/* halve the resolution: merge pairs of bins */
		for (uint32_t i = 0; i < RAVT_SERIES_BINS / 2; i++) {
			for (unsigned k = 0; k < RAVT_SERIES_KINDS; k++)
				s->counts[i][k] = s->counts[2 * i][k] + s->counts[2 * i + 1][k];
			s->live_tot[i] = s->live_tot[2 * i + 1];
			s->pages_tot[i] = s->pages_tot[2 * i + 1];
		}
		memset(s->counts + RAVT_SERIES_BINS / 2, 0, sizeof *s->counts * (RAVT_SERIES_BINS / 2));
		for (uint32_t h = 0; h < s->nhs; h++) {
			ravt_heap_series *hs = &s->hs[h];
			uint32_t n = 0;
			for (uint32_t i = 0; i < hs->n; i++) {
				uint32_t b = hs->bin[i] / 2;
				if (n && hs->bin[n - 1] == b)
					n--;
				hs->bin[n] = b;
				hs->live[n] = hs->live[i];
				hs->pages[n] = hs->pages[i];
				n++;
			}
			hs->n = n;
			hs->touched = 0;
		}
		s->nbins = RAVT_SERIES_BINS / 2;
		s->bin_w *= 2;
		/* the open bin keeps accumulating at the new width */
		return;
	}
	uint32_t b = s->nbins;
	memcpy(s->counts[b], s->acc, sizeof s->acc);
	memset(s->acc, 0, sizeof s->acc);
	s->live_tot[b] = m->tot.live_cells;
	s->pages_tot[b] = m->tot.pages;
	for (uint32_t i = 0; i < s->ndirty; i++) {
		uint32_t h = s->dirty[i];
		if (h < s->nhs && h < m->nheaps)
			hs_push(s, &s->hs[h], b, m->heaps[h].live, m->heaps[h].npages);
	}
	s->ndirty = 0;
	s->nbins++;
}

void ravt_series_close_bin(ravt_series *s, const ravt_model *m)
{
	pthread_mutex_lock(&s->lock);
	close_locked(s, m);
	pthread_mutex_unlock(&s->lock);
}

void ravt_series_publish(ravt_series *s, const ravt_model *m, bool final)
{
	pthread_mutex_lock(&s->lock);
	s->pub_valid = true;
	s->final = final;
	s->pub_bin = s->nbins;
	s->pub_w = s->bin_w;
	s->pub_end = m->pos;
	memcpy(s->pub_acc, s->acc, sizeof s->acc);
	s->pub_live = m->tot.live_cells;
	s->pub_pages = m->tot.pages;
	/* the heaps changed in the open bin get their level at its bin (a later
	 * close of the bin writes over these entries) */
	for (uint32_t i = 0; i < s->ndirty; i++) {
		uint32_t h = s->dirty[i];
		if (h < s->nhs && h < m->nheaps)
			hs_push(s, &s->hs[h], s->nbins, m->heaps[h].live, m->heaps[h].npages);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- queries ---------------------------------------------------------------- */

static uint64_t hs_level(const ravt_heap_series *h, uint32_t bin, bool pages)
{
	/* last entry at or before bin */
	uint32_t lo = 0, hi = h->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (h->bin[mid] <= bin)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	return pages ? h->pages[lo - 1] : h->live[lo - 1];
}

static uint64_t bin_count(const uint64_t *c, rav_series_kind kind, int64_t arg)
{
	switch (kind) {
	case RAV_SERIES_EVENTS:
		if (arg == RAV_EV_FREE)
			return c[RAV_EV_FREE] + c[RAVT_SERIES_HOLES];
		if (arg >= 0)
			return arg < (int64_t)RAV_EV_KIND_COUNT ? c[arg] : 0;
		else {
			uint64_t n = 0;
			for (unsigned k = 0; k < RAVT_SERIES_KINDS; k++)
				n += c[k];
			return n;
		}
	case RAV_SERIES_MOVES:
		return c[RAV_EV_MOVE];
	case RAV_SERIES_FIXUPS:
		return c[RAV_EV_FIXUP];
	case RAV_SERIES_HANDOFFS:
		return c[RAV_EV_PAGE_HANDOFF];
	case RAV_SERIES_FREES:
		return c[RAV_EV_FREE];
	case RAV_SERIES_ARRIVAL_HOLES:
		return c[RAVT_SERIES_HOLES];
	default:
		return 0;
	}
}

bool ravt_series_query(ravt_series *s, rav_series_kind kind, int64_t arg, uint64_t from, uint64_t to,
                       unsigned nbins, double *out, uint64_t applied)
{
	if (!nbins || !out)
		return false;
	pthread_mutex_lock(&s->lock);
	uint64_t closed = (uint64_t)s->nbins * s->bin_w;
	bool part = s->pub_valid && s->pub_bin == s->nbins && s->pub_w == s->bin_w && s->pub_end > closed;
	uint64_t covered = part ? s->pub_end : closed;
	uint32_t nb = s->nbins + (part ? 1 : 0);
	/* Until the last delivery, the bin being filled since the last
	 * publication is not visible: a range may reach up to the events
	 * applied, the unpublished tail reads as no events and the last
	 * published level. */
	uint64_t limit = s->final ? covered : applied;
	if (to == 0)
		to = limit;
	if (to > limit || from >= to || nb == 0) {
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	const ravt_heap_series *hs = NULL;
	bool level = kind == RAV_SERIES_LIVE_CELLS || kind == RAV_SERIES_PAGES;
	if (level && arg >= 0) {
		hs = arg <= UINT32_MAX ? series_of(s, (uint32_t)arg) : NULL;
		if (!hs) {
			for (unsigned j = 0; j < nbins; j++)
				out[j] = 0;
			pthread_mutex_unlock(&s->lock);
			return true;
		}
	}
	double span = (double)(to - from);
	for (unsigned j = 0; j < nbins; j++) {
		uint64_t lo = from + (uint64_t)(span * j / nbins);
		uint64_t hi = from + (uint64_t)(span * (j + 1) / nbins);
		if (hi <= lo)
			hi = lo + 1;
		if (level) {
			uint64_t last = hi - 1 < covered ? hi - 1 : covered - 1;
			uint32_t b = (uint32_t)(last / s->bin_w);
			if (b >= nb)
				b = nb - 1;
			if (hs)
				out[j] = (double)hs_level(hs, b, kind == RAV_SERIES_PAGES);
			else if (b < s->nbins)
				out[j] =
				    (double)(kind == RAV_SERIES_PAGES ? s->pages_tot[b] : s->live_tot[b]);
			else
				out[j] = (double)(kind == RAV_SERIES_PAGES ? s->pub_pages : s->pub_live);
			continue;
		}
		/* counts: each stored bin spread evenly over its width */
		double sum = 0;
		for (uint64_t b = lo / s->bin_w; b * s->bin_w < hi && b < nb; b++) {
			uint64_t b0 = b * s->bin_w, b1 = b0 + s->bin_w;
			if (b1 > covered)
				b1 = covered; /* the last bin may be partial */
			uint64_t o0 = b0 > lo ? b0 : lo, o1 = b1 < hi ? b1 : hi;
			uint64_t n = bin_count(b < s->nbins ? s->counts[b] : s->pub_acc, kind, arg);
			if (n && o1 > o0)
				sum += (double)n * (double)(o1 - o0) / (double)(b1 - b0);
		}
		out[j] = sum;
	}
	pthread_mutex_unlock(&s->lock);
	return true;
}
