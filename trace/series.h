/* series.h - the summary series behind timelines and charts
 * (rav_trace_series): events per kind, live cells and pages, overall and
 * per heap, in bins of events.
 *
 * Live cells and pages are replay results, so the replay consumer feeds the
 * series as it applies events (replay-index.c): it counts each event's
 * kind, says which heaps an event changed, and closes a bin at each bin
 * boundary.  At most RAVT_SERIES_BINS bins are kept; when they are full,
 * pairs are merged and the bin width doubles, so memory stays fixed and the
 * resolution stays even over the whole trace.  The bin being filled is
 * published (provisionally) at the end of each delivery, so a growing trace
 * shows its latest events too.
 */
#ifndef RAVT_SERIES_H
#define RAVT_SERIES_H

#include <pthread.h>

#include "replay-model.h"

#define RAVT_SERIES_BINS 8192u
#define RAVT_SERIES_W0 ((uint64_t)256)
#define RAVT_SERIES_KINDS 64u
/* The last slot counts FREE events with aux 0: the holes that the empty
 * cells of a message's pages leave on arrival (rav-record.h), which are no
 * frees of the program.  The FREE slot counts the cells freed. */
#define RAVT_SERIES_HOLES (RAVT_SERIES_KINDS - 1u)
_Static_assert(RAV_EV_KIND_COUNT < RAVT_SERIES_HOLES, "a series slot for every event kind, and the holes'");

typedef struct ravt_heap_series {
	uint32_t id;
	uint32_t touched; /* bin + 1 in which it was last put on the dirty list */
	uint32_t n, cap;
	uint32_t *bin;
	uint64_t *live;
	uint32_t *pages;
} ravt_heap_series;

typedef struct ravt_series {
	pthread_mutex_t lock; /* the index thread writes; queries read under it */
	ravt_budget *budget;  /* per-heap entries grow with heaps and bins */
	/* closed bins [0, nbins) of width bin_w events; acc is the open one */
	uint64_t bin_w;
	uint32_t nbins;
	uint64_t (*counts)[RAVT_SERIES_KINDS];
	uint64_t *live_tot;
	uint64_t *pages_tot;
	uint64_t acc[RAVT_SERIES_KINDS];
	ravt_heap_series *hs; /* parallel to the live model's heaps */
	uint32_t nhs, hs_cap;
	uint32_t *hmap; /* open addressing: heap id -> index in hs + 1 (queries by id) */
	uint32_t hmap_cap;
	uint32_t *dirty; /* heaps changed in the open bin */
	uint32_t ndirty, dirty_cap;
	/* the open bin as published: bin index and width, end, its counts and levels */
	bool pub_valid, final;
	uint32_t pub_bin;
	uint64_t pub_w, pub_end;
	uint64_t pub_acc[RAVT_SERIES_KINDS];
	uint64_t pub_live, pub_pages;
} ravt_series;

ravt_series *ravt_series_new(ravt_budget *budget);
void ravt_series_free(ravt_series *s);

/* (The index thread) */
void ravt_series_touch_slow(ravt_series *s, const ravt_model *m, const ravt_mheap *h);
/* Close the open bin with the model's levels (at an index that is a
 * multiple of the bin width). */
void ravt_series_close_bin(ravt_series *s, const ravt_model *m);
/* Publish the open bin, which covers up to m->pos. */
void ravt_series_publish(ravt_series *s, const ravt_model *m, bool final);

/* Events are counted in `acc` (their kind's slot, RAVT_SERIES_HOLES for
 * a FREE with aux 0) by the switch that applies them: ravt_apply_marked
 * (replay-apply.h). */

/* A heap whose numbers an event changed: only its first change in a bin
 * does work. */
static inline void ravt_series_touch(ravt_series *s, const ravt_model *m, const ravt_mheap *h)
{
	if (!h)
		return;
	uint32_t hi = (uint32_t)(h - m->heaps);
	if (__builtin_expect(hi < s->nhs && s->hs[hi].touched == s->nbins + 1, 1))
		return;
	ravt_series_touch_slow(s, m, h);
}

/* rav_trace_series over the events applied so far (`applied`). */
bool ravt_series_query(ravt_series *s, rav_series_kind kind, int64_t arg, uint64_t from, uint64_t to,
                       unsigned nbins, double *out, uint64_t applied);

#endif /* RAVT_SERIES_H */
