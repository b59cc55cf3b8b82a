/* replay-index.c - the replay consumer: a live model every event is
 * applied to as the reader delivers it, keyframes of it, and the series and
 * history filter fed on the way (replay.h).
 *
 * Keyframes sit on a uniform grid of KF_EVERY_MIN events.  When their
 * memory passes the budget (KF_BUDGET_FIXED plus the trace's size, but no
 * more than the trace's memory limit, budget.h; the env variable
 * RAVTRACE_KEYFRAME_MB overrides it), every other one is dropped
 * and the spacing doubles: memory stays bounded and seek time stays uniform
 * over the whole trace.  Indexing continues across deliveries, so a
 * growing stream keeps its keyframes and series and pays only for what it
 * adds.
 */
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay-apply.h"
#include "replay.h"

/* Helgrind does not model C11 atomics: the applied count, published with
 * release/acquire, is described to it when its header is around.  No cost
 * outside Valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define HG_ATOMIC(a) ANNOTATE_BENIGN_RACE_SIZED((a), sizeof *(a), "C11 atomic, release/acquire")
#endif
#endif
#ifndef HG_ATOMIC
#define HG_ATOMIC(a) ((void)0)
#endif

#define KF_EVERY_MIN ((uint64_t)1 << 18)
#define KF_BUDGET_FIXED ((uint64_t)768 << 20)

typedef struct keyframe {
	uint64_t pos;
	ravt_model m;
} keyframe;

struct ravt_replay {
	ravt_sink sink;
	pthread_mutex_t lock; /* keyframe list, error, budget */
	ravt_model live;
	bool failed;
	rav_trace_error err;
	_Atomic uint64_t applied; /* events applied to `live` (and seen by series and history) */
	keyframe **kf;
	size_t nkf, kf_cap;
	uint64_t kf_every, next_kf, kf_bytes, kf_budget;
	bool budget_fixed; /* set by RAVTRACE_KEYFRAME_MB */
	uint64_t next_due; /* first event index where index_boundary has work */
	ravt_series *series;
	ravt_history *history;
	_Atomic uint64_t work;
};

static void index_fail(ravt_replay *rp, const rav_trace_error *err)
{
	pthread_mutex_lock(&rp->lock);
	if (!rp->failed) {
		rp->failed = true;
		rp->err = *err;
	}
	pthread_mutex_unlock(&rp->lock);
}

static void sink_begin(ravt_sink *sink, uint64_t from);
static void sink_events(ravt_sink *sink, const rav_event *evs, size_t n);
static void sink_end(ravt_sink *sink, uint64_t upto, bool final);
static void sink_snapshot(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece);
static const ravt_sink_ops replay_ops = {sink_begin, sink_events, sink_end, sink_snapshot};

/* After a snapshot, a keyframe this many events later (snapshots come in
 * bursts when a session starts: one keyframe after the burst, not one per
 * heap), so that seeks after it start from the installed state. */
#define KF_AFTER_SNAPSHOT 64u

ravt_replay *ravt_replay_new(uint32_t page_size, uint32_t cell_size, uint8_t word_size, ravt_series *series,
                             ravt_history *history, ravt_budget *budget)
{
	ravt_replay *rp = calloc(1, sizeof *rp);
	if (!rp)
		return NULL;
	rp->sink.ops = &replay_ops;
	pthread_mutex_init(&rp->lock, NULL);
	rp->series = series;
	rp->history = history;
	ravt_model_init(&rp->live, page_size, cell_size, word_size, budget);
	rp->kf_every = KF_EVERY_MIN;
	rp->kf_budget = KF_BUDGET_FIXED;
	const char *env = getenv("RAVTRACE_KEYFRAME_MB");
	if (env && *env) {
		char *end;
		unsigned long long mb = strtoull(env, &end, 10);
		if (*end == 0 && mb > 0) {
			rp->kf_budget = (uint64_t)mb << 20;
			rp->budget_fixed = true;
		}
	}
	if (!rp->live.tkinds || rp->live.cpp == 0) {
		rav_trace_error e = {.code = rp->live.cpp ? RAV_TRACE_ENOMEM : RAV_TRACE_EHEADER,
		                     .chunk = -1};
		snprintf(e.message, sizeof e.message, "replay: %s",
		         rp->live.cpp ? "out of memory setting up the replay index"
		                      : "trace header gives no usable page and cell size");
		rp->failed = true;
		rp->err = e;
	}
	HG_ATOMIC(&rp->applied);
	return rp;
}

void ravt_replay_free(ravt_replay *rp)
{
	if (!rp)
		return;
	ravt_model_clear(&rp->live);
	for (size_t i = 0; i < rp->nkf; i++) {
		ravt_model_clear(&rp->kf[i]->m);
		free(rp->kf[i]);
	}
	free(rp->kf);
	pthread_mutex_destroy(&rp->lock);
	free(rp);
}

ravt_sink *ravt_replay_sink(ravt_replay *rp)
{
	return &rp->sink;
}

void ravt_replay_set_trace_bytes(ravt_replay *rp, uint64_t bytes)
{
	pthread_mutex_lock(&rp->lock);
	if (!rp->budget_fixed) {
		/* no more than the trace's own memory limit either: a file of a
		 * few kilobytes does not get the fixed part whole */
		uint64_t b = KF_BUDGET_FIXED + bytes;
		uint64_t cap = rp->live.budget ? ravt_budget_limit(rp->live.budget) : b;
		rp->kf_budget = b < cap ? b : cap;
	}
	pthread_mutex_unlock(&rp->lock);
}

/* ---- keyframes -------------------------------------------------------------- */

static void take_keyframe(ravt_replay *rp)
{
	keyframe *k = malloc(sizeof *k);
	if (!k)
		return;
	memset(&k->m, 0, sizeof k->m);
	if (!ravt_model_copy(&k->m, &rp->live)) {
		ravt_model_clear(&k->m);
		free(k);
		return;
	}
	k->pos = rp->live.pos;
	pthread_mutex_lock(&rp->lock);
	if (rp->nkf == rp->kf_cap) {
		size_t ncap = rp->kf_cap ? rp->kf_cap * 2 : 64;
		keyframe **n = realloc(rp->kf, sizeof *n * ncap);
		if (!n) {
			pthread_mutex_unlock(&rp->lock);
			ravt_model_clear(&k->m);
			free(k);
			return;
		}
		rp->kf = n;
		rp->kf_cap = ncap;
	}
	rp->kf[rp->nkf++] = k;
	/* memory of this keyframe: its tables now, plus the page blocks and
	 * cell blocks the live model copies away from it later (counted as
	 * they happen, through live.copied) */
	rp->kf_bytes += ravt_model_table_bytes(&k->m);
	pthread_mutex_unlock(&rp->lock);
}

/* Drop every other keyframe and double the spacing. */
static void thin_keyframes(ravt_replay *rp)
{
	uint64_t every = rp->kf_every * 2;
	keyframe **drop = malloc(sizeof *drop * rp->nkf);
	size_t ndrop = 0, w = 0;
	pthread_mutex_lock(&rp->lock);
	for (size_t i = 0; i < rp->nkf; i++) {
		if (rp->kf[i]->pos % every == 0 || !drop)
			rp->kf[w++] = rp->kf[i];
		else
			drop[ndrop++] = rp->kf[i];
	}
	rp->nkf = w;
	rp->kf_every = every;
	pthread_mutex_unlock(&rp->lock);
	for (size_t i = 0; i < ndrop; i++) {
		ravt_model_clear(&drop[i]->m);
		free(drop[i]);
	}
	free(drop);
#ifdef __GLIBC__
	/* the dropped keyframes were many small blocks: give the pages back */
	malloc_trim(0);
#endif
	uint64_t b = 0;
	for (size_t i = 0; i < rp->nkf; i++)
		b += ravt_model_own_bytes(&rp->kf[i]->m, i + 1 < rp->nkf ? &rp->kf[i + 1]->m : &rp->live);
	pthread_mutex_lock(&rp->lock);
	rp->kf_bytes = b;
	pthread_mutex_unlock(&rp->lock);
}

/* The work due at event index i before it is applied: a keyframe, closing
 * a series bin, closing a history block.  Rare (at most one event in
 * RAVT_HISTORY_BLOCK), so the per-event loop only compares with next_due. */
static void index_boundary(ravt_replay *rp, uint64_t i)
{
	if (i == rp->next_kf) {
		pthread_mutex_lock(&rp->lock);
		rp->kf_bytes += rp->live.copied;
		pthread_mutex_unlock(&rp->lock);
		rp->live.copied = 0;
		take_keyframe(rp);
		/* (this thread is the only writer of what it reads here unlocked) */
		pthread_mutex_lock(&rp->lock);
		uint64_t budget = rp->kf_budget;
		pthread_mutex_unlock(&rp->lock);
		while (rp->kf_bytes > budget && rp->nkf > 2)
			thin_keyframes(rp);
		rp->next_kf = (i / rp->kf_every + 1) * rp->kf_every;
	}
	uint64_t bin_w = rp->series->bin_w;
	if (i && (i & (bin_w - 1)) == 0) /* bin_w is a power of two */
		ravt_series_close_bin(rp->series, &rp->live);
	if (i && i % RAVT_HISTORY_BLOCK == 0)
		ravt_history_block_end(rp->history);
	/* the next index where one of the three is due (bin_w may have
	 * doubled above, so it is read again) */
	bin_w = rp->series->bin_w;
	uint64_t due = rp->next_kf;
	uint64_t bin = (i / bin_w + 1) * bin_w, blk = (i / RAVT_HISTORY_BLOCK + 1) * RAVT_HISTORY_BLOCK;
	if (bin < due)
		due = bin;
	if (blk < due)
		due = blk;
	rp->next_due = due;
}

int ravt_replay_restore(const ravt_replay *rp, uint64_t index, ravt_model *m, bool restart, bool *used)
{
	ravt_replay *w = (ravt_replay *)rp;
	*used = false;
	pthread_mutex_lock(&w->lock);
	size_t lo = 0, hi = rp->nkf;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rp->kf[mid]->pos <= index)
			lo = mid;
		else
			hi = mid;
	}
	const keyframe *k = rp->nkf && rp->kf[lo]->pos <= index ? rp->kf[lo] : NULL;
	int rc = k ? 1 : 0;
	if (k && (restart || m->pos > index || k->pos > m->pos)) {
		*used = true;
		if (ravt_model_copy(m, &k->m))
			m->pos = k->pos;
		else
			rc = -1;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* ---- the consumer ----------------------------------------------------------- */

static void sink_begin(ravt_sink *sink, uint64_t from)
{
	ravt_replay *rp = (ravt_replay *)sink;
	if (from != rp->live.pos && !rp->failed) {
		rav_trace_error e = {.code = RAV_TRACE_EREPLAY, .chunk = -1};
		snprintf(e.message, sizeof e.message,
		         "replay: indexing resumed at event %llu while event %llu was expected",
		         (unsigned long long)from, (unsigned long long)rp->live.pos);
		index_fail(rp, &e);
	}
}

/* Replaying an event mostly waits for memory when the program touches
 * cells all over its heap: the page block, then the cell block holding the
 * cell, both at random places in a model of tens of megabytes.  The batch
 * lets the loop ask for them ahead: the page block of the event PF_FAR
 * ahead, then (that block having arrived) the cell block of the event
 * PF_NEAR ahead.  Prefetches never fault; the loads that compute their
 * addresses are bounds-checked like apply's own. */
#define PF_FAR 16u
#define PF_NEAR 8u

static inline void prefetch_page(const ravt_model *m, rav_loc l)
{
	uint32_t pg = rav_loc_page(l);
	if (!(l & RAV_LOC_EXTERNAL) && pg < m->span) {
		const ravt_mpage *p = m->pages[pg];
		if (p)
			__builtin_prefetch(&p->cb[rav_loc_cell(l) >> RAVT_CB_SHIFT]);
	}
}

static inline void prefetch_cell(const ravt_model *m, rav_loc l)
{
	uint32_t pg = rav_loc_page(l), c = rav_loc_cell(l);
	if (!(l & RAV_LOC_EXTERNAL) && pg < m->span && c < m->cpp) {
		const ravt_mpage *p = m->pages[pg];
		if (p) {
			const ravt_cellblock *k = p->cb[c >> RAVT_CB_SHIFT];
			__builtin_prefetch(k->st);
			__builtin_prefetch(&k->w[RAVT_CB_INDEX(c) * 4]);
		}
	}
}

static void sink_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	ravt_replay *rp = (ravt_replay *)sink;
	if (rp->failed)
		return;
	/* in locals: the model's stores could alias the struct's fields as far
	 * as the compiler knows */
	ravt_series *const series = rp->series;
	ravt_history *const history = rp->history;
	ravt_model *const m = &rp->live;
	/* The reader delivers consecutive indices (sink.h): checking the
	 * batch's ends keeps the check off the per-event path. */
	if (__builtin_expect(evs[0].index != m->pos || evs[n - 1].index != m->pos + n - 1, 0)) {
		rav_trace_error e = {.code = RAV_TRACE_EREPLAY, .chunk = -1};
		snprintf(
		    e.message, sizeof e.message,
		    "replay: events %llu to %llu arrived while event %llu was expected (events must come in "
		    "order, without gaps)",
		    (unsigned long long)evs[0].index, (unsigned long long)evs[n - 1].index,
		    (unsigned long long)m->pos);
		index_fail(rp, &e);
		return;
	}
	for (size_t k = 0; k < n && k < PF_FAR; k++)
		prefetch_page(m, evs[k].a);
	size_t k = 0;
	for (; k < n; k++) {
		const rav_event *ev = &evs[k];
		if (k + PF_FAR < n)
			prefetch_page(m, evs[k + PF_FAR].a);
		if (k + PF_NEAR < n)
			prefetch_cell(m, evs[k + PF_NEAR].a);
		uint64_t i = m->pos;
		if (__builtin_expect(i >= rp->next_due, 0))
			index_boundary(rp, i);
		ravt_touch tc;
		if (__builtin_expect(ravt_apply(m, ev, &tc) < 0, 0)) {
			index_fail(rp, &m->err);
			break;
		}
		m->pos = i + 1;
		ravt_series_count(series, ev->kind);
		ravt_series_touch(series, m, tc.h[0]);
		ravt_series_touch(series, m, tc.h[1]);
		ravt_history_event(history, ev);
	}
	atomic_fetch_add_explicit(&rp->work, k, memory_order_relaxed);
	/* once per batch: readers on other threads see the prefix applied */
	atomic_store_explicit(&rp->applied, m->pos, memory_order_release);
}

/* The piece of the snapshot event just applied (sink.h). */
static void sink_snapshot(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece)
{
	ravt_replay *rp = (ravt_replay *)sink;
	if (rp->failed)
		return;
	ravt_touch tc;
	if (ravt_model_install(&rp->live, ev, piece, &tc) < 0) {
		index_fail(rp, &rp->live.err);
		return;
	}
	ravt_series_touch(rp->series, &rp->live, tc.h[0]);
	/* (a snapshot before that keyframe postpones it: one per burst) */
	uint64_t at = rp->live.pos + KF_AFTER_SNAPSHOT;
	rp->next_kf = at;
	if (at < rp->next_due)
		rp->next_due = at;
}

static void sink_end(ravt_sink *sink, uint64_t upto, bool final)
{
	(void)upto;
	ravt_replay *rp = (ravt_replay *)sink;
	ravt_series_publish(rp->series, &rp->live, final);
	ravt_history_publish(rp->history, rp->live.pos);
}

/* ---- what others ask -------------------------------------------------------- */

uint64_t ravt_replay_applied(const ravt_replay *rp)
{
	return atomic_load_explicit(&((ravt_replay *)rp)->applied, memory_order_acquire);
}

bool ravt_replay_error(const ravt_replay *rp, rav_trace_error *err)
{
	ravt_replay *w = (ravt_replay *)rp;
	pthread_mutex_lock(&w->lock);
	bool f = rp->failed;
	if (f && err)
		*err = rp->err;
	pthread_mutex_unlock(&w->lock);
	return f;
}

void ravt_replay_stats(const ravt_replay *rp, uint64_t *keyframes, uint64_t *keyframe_bytes,
                       uint64_t *spacing)
{
	ravt_replay *w = (ravt_replay *)rp;
	pthread_mutex_lock(&w->lock);
	uint64_t n = rp->nkf, b = rp->kf_bytes, e = rp->kf_every;
	pthread_mutex_unlock(&w->lock);
	if (keyframes)
		*keyframes = n;
	if (keyframe_bytes)
		*keyframe_bytes = b;
	if (spacing)
		*spacing = e;
}

uint64_t ravt_replay_work(const ravt_replay *rp)
{
	return atomic_load_explicit(&((ravt_replay *)rp)->work, memory_order_relaxed);
}
