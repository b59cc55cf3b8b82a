/* replay-index.c - the replay consumer: a live model every event is
 * applied to as the reader delivers it, keyframes of it, and the series and
 * history filter fed on the way (replay.h).
 *
 * Keyframes are placed by replay cost, not by event count: a seek copies
 * the keyframe before its target and replays from there, and what that
 * costs is the events replayed plus the cell blocks they copy on write
 * (every block a seek writes is shared with the keyframe, so it is copied
 * once, usually from memory that is not in any cache).  The live model
 * counts the same copies since the last keyframe (live.copied), so the
 * cost of the interval since the last keyframe is known while indexing:
 * events + KF_COPY_WEIGHT per block copied.  A program churning its whole
 * heap costs several times more per event to replay than one working near
 * its heap top, and gets keyframes that much closer.
 *
 * What a keyframe costs is the blocks it holds alone (those live copied
 * away before the next one), kept packed (replay-pack.h): about a third
 * of their size, so three times as many keyframes fit the budget.  The
 * packing runs on a third thread while the next interval is replayed
 * (the packer, below).
 *
 * The budget: KF_BUDGET_PER_BYTE times the trace's size, at least
 * KF_BUDGET_FLOOR and at most KF_BUDGET_FIXED plus the size, and no more
 * than the trace's memory limit (budget.h); the env variable
 * RAVTRACE_KEYFRAME_MB overrides it.  Scaled to the file, a small trace
 * does not pay for (and wait while indexing for) keyframes by the
 * hundreds of megabytes, and an open trace holds a stated multiple of its
 * size.  The target cost of an interval is the one a worst seek is
 * aimed at (KF_COST_GOAL: keyframes closer than a seek needs cost the
 * index copies on write and the budget memory for nothing), or more where
 * the budget holds fewer: when the length of the trace is known (a
 * file's, from the framing walk), the cost so far projected to the end,
 * over as many keyframes as the budget holds (projected_target), so that
 * the keyframes spread evenly over the whole trace.  When they pass the
 * budget all the same, keyframes are dropped:
 * first those whose merged interval stays within the target (the one that
 * holds most alone first), else the one whose two intervals together cost
 * least; without a known length the target then rises to that merged
 * cost.  Indexing continues across deliveries, so a growing stream keeps
 * its keyframes and series and pays only for what it adds.
 *
 * In a heap that grows while it is churned everywhere (the bench's uniform
 * trace) the budget's projection rose with the heap: keyframes were 125k
 * events apart at the start and 434k at the end (30M events, 101
 * keyframes, 902 MB), the late intervals costing about 880k.  Every
 * interval now costs the goal but the first few cheap ones; at 2^20 (49
 * keyframes, 451 MB; the early intervals up to 1M events, the late ones
 * ~420k) the copies on write of the index fell from 0.125 to 0.074
 * an event (in 10M events of it, where the budget had given 585k: 56 ->
 * 16 keyframes, 309 -> 62 MB, 0.118 -> 0.037 copies an event, the apply
 * thread's CPU halved); at 1.25 * 2^20 (kf12) 37 keyframes, 315 MB,
 * 0.055 copies an event, but the worst seek went past 50 ms on a slow
 * host, so the goal stays 2^20.
 */
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay-pack.h"
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

/* Writes spread over this much cell memory in a history block (the pages
 * its filter marks, each counted whole): prefetch page and cell blocks
 * (see pf_cells).  A history block of the young trace (16,384 events)
 * writes to 74-100 pages (p10-max; 0.4 MB of cell blocks at most), one of
 * the uniform trace's to 900-2,800 (4-13 MB): an L2 of 1 MB between them. */
#define PF_SPREAD_BYTES ((uint64_t)1 << 20)

/* The replay cost of an interval the keyframes aim at (KF_COST_GOAL, in
 * events replayed with no block copied; RAVTRACE_KEYFRAME_COST overrides
 * it), the weight of a cell block copied, and the fewest events between
 * two checks of the cost.  The goal is a worst seek, not a count of
 * keyframes: on the build machine (2 cores) a seek replays about 40-55
 * ns of its two threads' CPU per unit of cost under load, young or
 * uniform trace alike (seek-cost just before each keyframe: 1M events of
 * the young trace 40-44 ms, 860k of uniform churn 30-43 ms at load 20;
 * at 2^20, 54-56 ms at load 9), and a quiet machine's wall time is about
 * 0.6-0.65 of that (README's 21.6-24.9 ms max at 2^20, then 32.9-38.4 ms
 * of CPU).  Keyframes closer than a seek needs cost the index more than
 * they give: in a heap churned everywhere nearly every block written in an
 * interval is copied once in it, so the copies per event fall as the
 * interval grows (uniform 10M events: 0.118 at the 585k the budget gave,
 * 0.050 at 1.6M), and each copy is also a block the keyframe holds.  The
 * goal is 2^20.  kf12 tried 1.25 * 2^20 (HACKING.md "Keyframe goal
 * against indexing": on the 30M uniform trace 49 -> 37 keyframes, 451 ->
 * 315 MB, index CPU about -10%, for a worst seek 28% longer); measured
 * beside 2^20 in one session on a slow host (rav-bench trace-replay,
 * 2026-12-03 14:15, load 1.4-1.7) its uniform seek max was 39.7, 65.9,
 * 77.9, 68.5, 36.3 ms wall against 30.2 and 39.9 at 2^20: past the 50 ms
 * allowed, so the goal stays.  The budget still decides where it holds
 * fewer (projected_target). */
#define KF_COST_GOAL ((uint64_t)1 << 20)
/* ... but where keyframes cost little, seeks need not wait that long: an
 * interval that replayed KF_CHEAP_EVENTS events (a KF_CHEAP_DIV-th of the
 * goal's when that is less) and copied at most one block in KF_CHEAP_RATE
 * events gets its keyframe then (the young trace, 0.002 copies an event:
 * a keyframe every 2^18 events, as before the goal, instead of every 2^20
 * (seek-cost, 10M events, random points: CPU median 24.7 ms against
 * 4.2)).  A fixed count, not a share of the goal: a goal raised for the
 * uniform trace's sake leaves young seeks as they are.  Not when the
 * budget holds fewer keyframes than the goal would take. */
#define KF_CHEAP_EVENTS ((uint64_t)1 << 18)
#define KF_CHEAP_DIV 4u
#define KF_CHEAP_RATE 64u
#define KF_COPY_WEIGHT 8u
#define KF_CHECK_MIN 1024u
#define KF_COST_MAX ((uint64_t)1e18)
#define KF_BUDGET_FIXED ((uint64_t)768 << 20)
#define KF_BUDGET_FLOOR ((uint64_t)64 << 20)
#define KF_BUDGET_PER_BYTE 10u

typedef struct keyframe {
	uint64_t pos;
	uint64_t cost; /* replay cost from here to the next keyframe (the last: unused) */
	uint64_t own;  /* bytes held by this keyframe alone (the last: estimated while live moves on) */
	ravt_kfpack *packs; /* the blocks it held alone, packed (replay-pack.h) */
	ravt_model m;
} keyframe;

struct ravt_replay {
	ravt_sink sink;
	pthread_mutex_t lock; /* keyframe list, error, budget */
	ravt_model live;
	ravt_blockcache cache; /* of the live model and the keyframes (the indexing thread's) */
	bool failed;
	rav_trace_error err;
	_Atomic uint64_t applied; /* events applied to `live` (and seen by series and history) */
	keyframe **kf;
	size_t nkf, kf_cap;
	uint64_t kf_cost;   /* target replay cost between two keyframes */
	uint64_t kf_goal;   /* the least target: KF_COST_GOAL or RAVTRACE_KEYFRAME_COST */
	uint64_t kf_cheap;  /* events after which a cheap interval gets its keyframe */
	uint64_t next_kf;   /* next index where the cost since the last keyframe is looked at */
	/* take one at this position whatever it cost (after a snapshot);
	 * 0: none (a keyframe is never due at 0 after the first) */
	uint64_t kf_forced_at;
	uint64_t last_pos;  /* position of the last keyframe (valid when nkf > 0) */
	uint64_t kf_bytes, kf_budget;
	bool budget_fixed;      /* set by RAVTRACE_KEYFRAME_MB */
	uint64_t expect_events; /* events the trace holds (a file's, known at open; 0: unknown) */
	uint64_t cost_done;     /* replay cost of the intervals up to the last keyframe */
	uint64_t copied_done;   /* bytes live copied on write before the last keyframe */
	uint64_t next_due; /* first event index where index_boundary has work */
	/* the last batch copied a block in at least one event in PF_COPY_RATE:
	 * the next one prefetches the blocks it will copy whole (ravt_prefetch_cell,
	 * whose instructions buy nothing in a heap that copies rarely) */
	bool pf_copy;
	/* the last history block's writes were spread over more cell memory
	 * than PF_SPREAD_BYTES (or none ended yet): the loop asks for each
	 * event's page and cell blocks ahead (ravt_prefetch_page / _cell);
	 * below that they are in cache and the prefetches' instructions (39
	 * of the apply thread's 190 an event on the young trace) buy nothing */
	bool pf_cells;
	/* the next batch's first locations, when the pipeline showed them
	 * (ravt_replay_events_ahead); `next` is NULL otherwise */
	ravt_pf_ahead ahead;
	ravt_series *series;
	ravt_history *history;
	_Atomic uint64_t work;
	/* the packer: a thread that packs one keyframe at a time (below) */
	pthread_t packer;
	bool packer_started, packer_quit;
	pthread_cond_t pack_cv; /* a job posted, a job done, quit (with `lock`) */
	keyframe *pack_job;     /* posted and not yet packed */
	bool pack_pending;      /* posted and not yet settled by this thread */
	uint64_t pack_budget;   /* the budget when it was posted */
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
static const ravt_sink_ops replay_ops = {
    .begin = sink_begin, .events = sink_events, .end = sink_end, .snapshot = sink_snapshot};

/* After a snapshot, a keyframe this many events later (snapshots come in
 * bursts when a session starts: one keyframe after the burst, not one per
 * heap), so that seeks after it start from the installed state. */
#define KF_AFTER_SNAPSHOT 64u
/* ... but no closer to the keyframe before than this: snapshots 2,000
 * events apart forced as many keyframes (each holding alone what the next
 * interval wrote), which kept the keyframe budget thinning them: 1,500
 * snapshots took 16 s to index where the same writes take 0.5 s
 * (hostile-gen snap-keyframes).  A seek soon after such a snapshot
 * replays it from the keyframe before. */
#define KF_SNAPSHOT_GAP ((uint64_t)1 << 16)

ravt_replay *ravt_replay_new(uint32_t page_size, uint32_t cell_size, uint8_t word_size, ravt_series *series,
                             ravt_history *history, ravt_budget *budget)
{
	ravt_replay *rp = calloc(1, sizeof *rp);
	if (!rp)
		return NULL;
	rp->sink.ops = &replay_ops;
	pthread_mutex_init(&rp->lock, NULL);
	pthread_cond_init(&rp->pack_cv, NULL);
	rp->series = series;
	rp->history = history;
	ravt_model_init(&rp->live, page_size, cell_size, word_size, budget);
	rp->live.cache = &rp->cache;
	rp->cache.defer = true; /* (flushed at the end of every delivery and before keyframes) */
	rp->kf_goal = KF_COST_GOAL;
	rp->kf_budget = KF_BUDGET_FLOOR; /* until the trace's size is known */
	rp->pf_cells = true;             /* until a history block says how spread writes are */
	const char *env = getenv("RAVTRACE_KEYFRAME_MB");
	if (env && *env) {
		char *end;
		unsigned long long mb = strtoull(env, &end, 10);
		if (*end == 0 && mb > 0) {
			rp->kf_budget = (uint64_t)mb << 20;
			rp->budget_fixed = true;
		}
	}
	env = getenv("RAVTRACE_KEYFRAME_COST");
	if (env && *env) {
		char *end;
		unsigned long long c = strtoull(env, &end, 10);
		if (*end == 0 && c >= KF_CHECK_MIN && c <= KF_COST_MAX)
			rp->kf_goal = c;
	}
	rp->kf_cost = rp->kf_goal;
	rp->kf_cheap = rp->kf_goal / KF_CHEAP_DIV < KF_CHEAP_EVENTS ? rp->kf_goal / KF_CHEAP_DIV : KF_CHEAP_EVENTS;
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

static void packer_stop(ravt_replay *rp);

void ravt_replay_free(ravt_replay *rp)
{
	if (!rp)
		return;
	packer_stop(rp);
	ravt_model_unref_flush(&rp->live);
	ravt_model_clear(&rp->live);
	for (size_t i = 0; i < rp->nkf; i++) {
		ravt_model_clear(&rp->kf[i]->m);
		ravt_kfpack_free(rp->kf[i]->packs);
		free(rp->kf[i]);
	}
	free(rp->kf);
	ravt_blockcache_clear(&rp->cache);
	pthread_cond_destroy(&rp->pack_cv);
	pthread_mutex_destroy(&rp->lock);
	free(rp);
}

ravt_sink *ravt_replay_sink(ravt_replay *rp)
{
	return &rp->sink;
}

void ravt_replay_set_trace_size(ravt_replay *rp, uint64_t bytes, uint64_t events)
{
	pthread_mutex_lock(&rp->lock);
	rp->expect_events = events;
	if (!rp->budget_fixed) {
		/* no more than the trace's own memory limit either: a file of a
		 * few kilobytes does not get the fixed part whole */
		uint64_t b = bytes > UINT64_MAX / KF_BUDGET_PER_BYTE ? UINT64_MAX : bytes * KF_BUDGET_PER_BYTE;
		if (b < KF_BUDGET_FLOOR)
			b = KF_BUDGET_FLOOR;
		if (b > KF_BUDGET_FIXED + bytes)
			b = KF_BUDGET_FIXED + bytes;
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
	k->m.cache = &rp->cache;
	if (!ravt_model_copy(&k->m, &rp->live)) {
		ravt_model_clear(&k->m);
		free(k);
		return;
	}
	k->pos = rp->live.pos;
	k->cost = 0;
	k->packs = NULL;
	k->own = ravt_model_table_bytes(&k->m);
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
	rp->kf_bytes += k->own;
	pthread_mutex_unlock(&rp->lock);
	rp->last_pos = k->pos;
}

/* Replay cost of the interval since the last keyframe (the seek that
 * starts there replays these events and copies these blocks). */
static uint64_t cost_since_last(const ravt_replay *rp)
{
	uint64_t events = rp->nkf ? rp->live.pos - rp->last_pos : rp->live.pos;
	return events + KF_COPY_WEIGHT * (rp->live.copied / sizeof(ravt_cellblock));
}

/* Pack what keyframe k holds alone now (replay-pack.h), the lock held
 * (restores take it too). */
static void pack_locked(ravt_replay *rp, keyframe *k)
{
	uint64_t freed;
	uint64_t packed = ravt_kfpack_add(&k->m, &k->packs, &freed);
	uint64_t own = k->own + packed > freed ? k->own + packed - freed : 0;
	rp->kf_bytes = rp->kf_bytes - k->own + own;
	k->own = own;
}

static void pack_keyframe(ravt_replay *rp, keyframe *k)
{
	pthread_mutex_lock(&rp->lock);
	pack_locked(rp, k);
	pthread_mutex_unlock(&rp->lock);
}

/* ---- the packer ---------------------------------------------------------------
 *
 * Packing the keyframe before the one just taken was a fifth of the
 * indexing thread's time in a heap churned uniformly (tens of thousands of
 * blocks read from memory, each XORed and sized), while the decoding
 * thread waited for it most of the time.  A third thread packs it instead,
 * while the next interval is replayed: on two cores it runs when the
 * decoding thread waits.  Packing still holds `lock` throughout (a count
 * of 1 cannot rise there: see replay-pack.h); the live model never writes
 * a keyframe's own blocks, and the indexing thread touches the keyframe
 * list only under the lock or once the job is done.
 *
 * What the budget makes of a pack (the target interval projected from
 * what the keyframe holds, thinning) is settled by the indexing thread
 * when it takes the next keyframe, waiting for the job if it is not done:
 * the same decisions as packing in line, one interval later, and at the
 * same events in every run.  The blocks the packer frees go to the arena
 * (the job's model has no block cache meanwhile: the live model's cache
 * is the indexing thread's alone). */

static void *packer_main(void *arg)
{
	ravt_replay *rp = arg;
	pthread_mutex_lock(&rp->lock);
	for (;;) {
		while (!rp->pack_job && !rp->packer_quit)
			pthread_cond_wait(&rp->pack_cv, &rp->lock);
		if (!rp->pack_job)
			break;
		keyframe *k = rp->pack_job;
		ravt_blockcache *cache = k->m.cache;
		k->m.cache = NULL;
		pack_locked(rp, k);
		k->m.cache = cache;
		rp->pack_job = NULL;
		pthread_cond_broadcast(&rp->pack_cv);
	}
	pthread_mutex_unlock(&rp->lock);
	return NULL;
}

/* Wait until the posted job is done (the lock held). */
static void pack_wait_locked(ravt_replay *rp)
{
	while (rp->pack_job)
		pthread_cond_wait(&rp->pack_cv, &rp->lock);
}

/* Pack k on the packer (started on first use); in line when the thread
 * cannot be started. */
static void pack_post(ravt_replay *rp, keyframe *k, uint64_t budget)
{
	pthread_mutex_lock(&rp->lock);
	pack_wait_locked(rp);
	if (!rp->packer_started && pthread_create(&rp->packer, NULL, packer_main, rp) == 0)
		rp->packer_started = true;
	if (rp->packer_started) {
		rp->pack_job = k;
		pthread_cond_broadcast(&rp->pack_cv);
	} else {
		pack_locked(rp, k);
	}
	rp->pack_pending = true;
	rp->pack_budget = budget;
	pthread_mutex_unlock(&rp->lock);
}

static void packer_stop(ravt_replay *rp)
{
	pthread_mutex_lock(&rp->lock);
	rp->packer_quit = true;
	pthread_cond_broadcast(&rp->pack_cv);
	bool started = rp->packer_started;
	rp->packer_started = false;
	pthread_mutex_unlock(&rp->lock);
	if (started)
		pthread_join(rp->packer, NULL);
}

/* Drop keyframes (never the first: it is where every seek can start)
 * until the keyframes fit the budget: one whose merged interval does not
 * make the slowest seek slower if there is one, else the one whose two
 * intervals together cost least.  The one before it is packed again (it
 * may now hold alone blocks it shared with the dropped one). */
static void thin_keyframes(ravt_replay *rp, uint64_t budget)
{
	bool dropped = false;
	while (rp->kf_bytes > budget && rp->nkf > 2) {
		/* a merge up to `limit` leaves the slowest seek as it is: among
		 * those, the keyframe that holds most alone goes (early keyframes
		 * of a heap that grew are small: dropping them frees little);
		 * without one, the merge that costs least */
		uint64_t limit = rp->kf_cost;
		for (size_t i = 0; i + 1 < rp->nkf; i++)
			if (rp->kf[i]->cost > limit)
				limit = rp->kf[i]->cost;
		size_t best = 0, fit = 0;
		uint64_t best_cost = UINT64_MAX, fit_own = 0;
		for (size_t i = 1; i + 1 < rp->nkf; i++) {
			uint64_t c = rp->kf[i - 1]->cost + rp->kf[i]->cost;
			if (c < best_cost) {
				best_cost = c;
				best = i;
			}
			if (c <= limit && rp->kf[i]->own > fit_own) {
				fit_own = rp->kf[i]->own;
				fit = i;
			}
		}
		if (fit) {
			best = fit;
			best_cost = rp->kf[fit - 1]->cost + rp->kf[fit]->cost;
		}
		if (!best)
			break;
		keyframe *gone = rp->kf[best];
		pthread_mutex_lock(&rp->lock);
		memmove(rp->kf + best, rp->kf + best + 1, sizeof *rp->kf * (rp->nkf - best - 1));
		rp->nkf--;
		pthread_mutex_unlock(&rp->lock);
		keyframe *prev = rp->kf[best - 1];
		prev->cost = best_cost;
		ravt_model_clear(&gone->m);
		ravt_kfpack_free(gone->packs);
		uint64_t freed = gone->own;
		free(gone);
		/* what the one before now holds alone (some blocks were shared
		 * with the dropped one only), packed */
		uint64_t own = ravt_model_own_bytes(&prev->m, &rp->kf[best]->m) + ravt_kfpack_bytes(prev->packs);
		pthread_mutex_lock(&rp->lock);
		rp->kf_bytes = rp->kf_bytes - freed - prev->own + own;
		pthread_mutex_unlock(&rp->lock);
		prev->own = own;
		pack_keyframe(rp, prev);
		/* without a projection (the length is unknown, or a stream passed
		 * what was known of it), the target rises to the merged interval's;
		 * with one, it follows the projection */
		if (best_cost > rp->kf_cost && rp->expect_events <= rp->live.pos)
			rp->kf_cost = best_cost;
		dropped = true;
	}
#ifdef __GLIBC__
	/* the dropped keyframes were many small blocks: give the pages back */
	if (dropped)
		malloc_trim(0);
#endif
}

/* When the trace's length is known, the target cost of an interval that
 * spreads the keyframes over the whole trace within the budget: the cost
 * so far, projected to the end, over as many keyframes as the budget holds
 * at what the last one held alone.  Taking the last keyframe's size for
 * all of them (a heap that grew held less before) and the cost per event
 * so far for the rest (one that grows costs more later) err in opposite
 * directions; the target is looked at again at every keyframe, and
 * keyframes that do not fit are thinned.  0 when the length is unknown. */
static uint64_t projected_target(const ravt_replay *rp, uint64_t budget, uint64_t last_own)
{
	uint64_t pos = rp->live.pos;
	if (!rp->expect_events || rp->expect_events <= pos || !pos || !last_own || !budget)
		return 0;
	double total = (double)rp->cost_done * ((double)rp->expect_events / (double)pos);
	double fit = (double)budget / (double)last_own;
	double t = total / (fit < 2 ? 2 : fit);
	return t < (double)rp->kf_goal ? rp->kf_goal : t > (double)KF_COST_MAX ? KF_COST_MAX : (uint64_t)t;
}

/* What the budget makes of the keyframe the packer packed (pack_post): the
 * target interval projected from what it holds alone, and thinning.  On
 * this thread, before the next keyframe is taken or when the trace ends.
 * (Once the job is done, this thread is the only writer of what it reads
 * here unlocked.) */
static void pack_settle(ravt_replay *rp)
{
	pthread_mutex_lock(&rp->lock);
	pack_wait_locked(rp);
	rp->pack_pending = false;
	uint64_t budget = rp->pack_budget;
	/* the packed one was the last but one then; nothing was dropped since */
	uint64_t last_own = rp->nkf >= 2 ? rp->kf[rp->nkf - 2]->own : 0;
	pthread_mutex_unlock(&rp->lock);
	uint64_t target = projected_target(rp, budget, last_own);
	if (target)
		rp->kf_cost = target;
	if (rp->kf_bytes > budget)
		thin_keyframes(rp, budget);
}

/* At next_kf: a keyframe if the interval since the last one costs enough
 * (or one is forced), then when to look again: the cost grows by at most
 * 1 + KF_COPY_WEIGHT per event. */
static void keyframe_check(ravt_replay *rp, uint64_t i)
{
	uint64_t cost = cost_since_last(rp);
	/* a cheap keyframe (KF_CHEAP_EVENTS): the budget leaves the goal as
	 * it is, the interval replayed kf_cheap events and copied few blocks */
	uint64_t events = rp->nkf ? rp->live.pos - rp->last_pos : rp->live.pos;
	uint64_t copies = rp->live.copied / sizeof(ravt_cellblock);
	uint64_t cheap_at = rp->kf_cost <= rp->kf_goal ? rp->kf_cheap : UINT64_MAX;
	bool cheap = events >= cheap_at && copies * KF_CHEAP_RATE <= events;
	bool forced = rp->kf_forced_at && rp->live.pos >= rp->kf_forced_at;
	if (cost >= rp->kf_cost || cheap || forced || rp->nkf == 0) {
		/* the counts as they are (packing and thinning read them) */
		ravt_model_unref_flush(&rp->live);
		/* the previous pack first (thinning needs the keyframes as they
		 * will stay), with the cost so far for the projection, but not
		 * yet the blocks copied away from the last keyframe (to be packed) */
		if (rp->nkf)
			rp->cost_done += cost;
		if (rp->pack_pending)
			pack_settle(rp);
		if (rp->nkf) {
			keyframe *last = rp->kf[rp->nkf - 1];
			last->cost = cost;
			/* the blocks live copied away from the last keyframe are its own */
			last->own += rp->live.copied;
		}
		pthread_mutex_lock(&rp->lock);
		rp->kf_bytes += rp->live.copied;
		uint64_t budget = rp->kf_budget;
		pthread_mutex_unlock(&rp->lock);
		rp->copied_done += rp->live.copied;
		rp->live.copied = 0;
		take_keyframe(rp);
		rp->kf_forced_at = 0;
		/* the one before holds alone what live copied away since: packed
		 * while the next interval is replayed */
		if (rp->nkf >= 2)
			pack_post(rp, rp->kf[rp->nkf - 2], budget);
		cost = 0;
		events = 0;
		cheap_at = rp->kf_cost <= rp->kf_goal ? rp->kf_cheap : UINT64_MAX;
	}
	uint64_t step = (rp->kf_cost - (cost < rp->kf_cost ? cost : 0)) / (1 + KF_COPY_WEIGHT);
	if (events < cheap_at && cheap_at - events < step)
		step = cheap_at - events;
	rp->next_kf = i + (step > KF_CHECK_MIN ? step : KF_CHECK_MIN);
	if (rp->kf_forced_at > i && rp->kf_forced_at < rp->next_kf)
		rp->next_kf = rp->kf_forced_at;
}

/* The work due at event index i before it is applied: a keyframe, closing
 * a series bin, closing a history block.  Rare (at most one event in
 * RAVT_HISTORY_BLOCK), so the per-event loop only compares with next_due. */
static void index_boundary(ravt_replay *rp, uint64_t i)
{
	if (i >= rp->next_kf)
		keyframe_check(rp, i);
	uint64_t bin_w = rp->series->bin_w;
	if (i && (i & (bin_w - 1)) == 0) /* bin_w is a power of two */
		ravt_series_close_bin(rp->series, &rp->live);
	if (i && i % RAVT_HISTORY_BLOCK == 0) {
		uint64_t pages = ravt_history_block_end(rp->history);
		rp->pf_cells = pages * rp->live.ncb * sizeof(ravt_cellblock) >= PF_SPREAD_BYTES;
	}
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
		if (ravt_model_copy(m, &k->m) && (!k->packs || ravt_kfpack_restore(m, k->packs)))
			m->pos = k->pos;
		else
			rc = -1;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* ---- the consumer ----------------------------------------------------------- */

/* One copy on write in this many events or more: prefetch shared blocks
 * whole (see pf_copy). */
#define PF_COPY_RATE 32u

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

/* One event of replay_events: due work first, then the event applied,
 * counted in the series (ravt_apply_marked) and its heaps touched.  0, or
 * -1 with m->err. */
static inline __attribute__((always_inline)) int apply_one(ravt_replay *rp, ravt_model *m, ravt_series *series,
                                                           uint8_t *hit, const rav_event *ev)
{
	uint64_t i = m->pos;
	if (__builtin_expect(i >= rp->next_due, 0))
		index_boundary(rp, i);
	ravt_touch tc;
	if (__builtin_expect(ravt_apply_marked(m, ev, &tc, hit, series->acc) < 0, 0))
		return -1;
	m->pos = i + 1;
	ravt_series_touch(series, m, tc.h[0]);
	ravt_series_touch(series, m, tc.h[1]);
	return 0;
}

/* Apply evs[0..n); next[0..nnext): the events of the next call, whose
 * memory the batch's last events ask for (nnext 0: unknown). */
static RAVT_APPLY_ATTR void replay_events(ravt_replay *rp, const rav_event *evs, size_t n, const rav_event *next, size_t nnext)
{
	if (rp->failed)
		return;
	/* in locals: the model's stores could alias the struct's fields as far
	 * as the compiler knows */
	ravt_series *const series = rp->series;
	uint8_t *const hit = rp->history->hit; /* the history filter's marks (ravt_apply_marked) */
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
	/* The batch's first events had no prefetch unless the call before
	 * saw them coming (ravt_replay_events_ahead): their page blocks all at once, then
	 * (the loads overlapping) the cell blocks of those the loop's near
	 * prefetch does not reach.  The batch's last events ask for the next
	 * batch's first (rp->ahead, RAV_LOC_EXTERNAL when not known). */
	ravt_pf_ahead *const ah = &rp->ahead;
	const bool pf = rp->pf_cells, pf_copy = rp->pf_copy;
	if (pf) {
		size_t done_far = ah->next == evs ? ah->far : 0, done_near = ah->next == evs ? ah->near : 0;
		for (size_t k = done_far; k < n && k < RAVT_PF_FAR; k++)
			ravt_prefetch_page(m, evs[k].a);
		for (size_t k = done_near; k < n && k < RAVT_PF_NEAR; k++)
			ravt_prefetch_cell(m, evs[k].a, pf_copy);
		ravt_pf_ahead_set(ah, next, nnext);
	} else {
		ah->next = NULL; /* (the next batch's first events were not asked for) */
	}
	const uint64_t copied0 = m->copied;
	size_t k = 0;
	/* The events whose prefetches are for events of this batch, RAVT_PF_FAR
	 * ahead or more, in a loop of their own: their addresses need no test
	 * of where they come from (the test and the selects were 8.3 of the
	 * uniform trace's 200.8 instructions an event, callgrind).  The last
	 * RAVT_PF_FAR events (and every one without prefetches) in the general
	 * loop below. */
	if (pf) {
		const size_t direct = n > RAVT_PF_FAR ? n - RAVT_PF_FAR : 0;
		for (; k < direct; k++) {
			ravt_prefetch_page(m, evs[k + RAVT_PF_FAR].a);
			ravt_prefetch_cell(m, evs[k + RAVT_PF_NEAR].a, pf_copy);
			if (__builtin_expect(apply_one(rp, m, series, hit, &evs[k]) < 0, 0))
				goto failed;
		}
	}
	for (; k < n; k++) {
		if (pf) {
			ravt_prefetch_page(m, k + RAVT_PF_FAR < n ? evs[k + RAVT_PF_FAR].a
			                                          : ah->a[k + RAVT_PF_FAR - n]);
			ravt_prefetch_cell(m,
			                   k + RAVT_PF_NEAR < n ? evs[k + RAVT_PF_NEAR].a : ah->a[k + RAVT_PF_NEAR - n],
			                   pf_copy);
		}
		if (__builtin_expect(apply_one(rp, m, series, hit, &evs[k]) < 0, 0))
			goto failed;
	}
	goto applied;
failed:
	index_fail(rp, &m->err);
applied:
	ravt_model_unref_flush(m);
	/* (copied restarts from 0 at a keyframe) */
	uint64_t copies = (m->copied >= copied0 ? m->copied - copied0 : m->copied) / sizeof(ravt_cellblock);
	rp->pf_copy = copies * PF_COPY_RATE >= k;
	atomic_fetch_add_explicit(&rp->work, k, memory_order_relaxed);
	/* once per batch: readers on other threads see the prefix applied */
	atomic_store_explicit(&rp->applied, m->pos, memory_order_release);
}

static void sink_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	replay_events((ravt_replay *)sink, evs, n, NULL, 0);
}

void ravt_replay_events_ahead(ravt_sink *sink, const rav_event *evs, size_t n, const rav_event *next,
                              size_t nnext)
{
	replay_events((ravt_replay *)sink, evs, n, next, nnext);
}

/* The piece of the snapshot event just applied (sink.h). */
static void sink_snapshot(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece)
{
	ravt_replay *rp = (ravt_replay *)sink;
	if (rp->failed)
		return;
	ravt_touch tc;
	int rc = ravt_model_install(&rp->live, ev, piece, &tc);
	ravt_model_unref_flush(&rp->live);
	if (rc < 0) {
		index_fail(rp, &rp->live.err);
		return;
	}
	ravt_series_touch(rp->series, &rp->live, tc.h[0]);
	/* (a snapshot before that keyframe postpones it: one per burst; and
	 * one at most every KF_SNAPSHOT_GAP events) */
	uint64_t at = rp->live.pos + KF_AFTER_SNAPSHOT;
	if (rp->nkf && at < rp->last_pos + KF_SNAPSHOT_GAP)
		at = rp->last_pos + KF_SNAPSHOT_GAP;
	rp->kf_forced_at = at;
	if (at < rp->next_kf)
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
	if (final) {
		if (rp->pack_pending)
			pack_settle(rp);
		/* No event follows: the blocks kept for the live model's next
		 * copies (up to RAVT_CACHE_MAX_BYTES, full after keyframes were
		 * thinned) would be held for nothing while the trace stays open. */
		ravt_blockcache_clear(&rp->cache);
#ifdef __GLIBC__
		malloc_trim(0);
#endif
	}
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
	uint64_t n = rp->nkf, b = rp->kf_bytes, e = rp->kf_cost;
	pthread_mutex_unlock(&w->lock);
	if (keyframes)
		*keyframes = n;
	if (keyframe_bytes)
		*keyframe_bytes = b;
	if (spacing)
		*spacing = e;
}

uint64_t ravt_replay_keyframe_pos(const ravt_replay *rp, uint64_t i)
{
	ravt_replay *w = (ravt_replay *)rp;
	pthread_mutex_lock(&w->lock);
	uint64_t pos = i < rp->nkf ? rp->kf[i]->pos : UINT64_MAX;
	pthread_mutex_unlock(&w->lock);
	return pos;
}

uint64_t ravt_replay_copies(const ravt_replay *rp)
{
	ravt_replay *w = (ravt_replay *)rp;
	pthread_mutex_lock(&w->lock);
	uint64_t b = rp->copied_done + rp->live.copied;
	pthread_mutex_unlock(&w->lock);
	return b / sizeof(ravt_cellblock);
}

uint64_t ravt_replay_work(const ravt_replay *rp)
{
	return atomic_load_explicit(&((ravt_replay *)rp)->work, memory_order_relaxed);
}

/* ---- the newest heap, for a viewer following a stream ----------------------- */

int ravt_replay_copy_live(const ravt_replay *rp, ravt_model *m)
{
	ravt_replay *w = (ravt_replay *)rp;
	pthread_mutex_lock(&w->lock);
	int rc = rp->failed ? 0 : ravt_model_copy(m, &rp->live) ? 1 : -1;
	pthread_mutex_unlock(&w->lock);
	return rc;
}
