/* replay-apply.h - one event applied to the model, and checked against it.
 *
 * The engine records every write it makes to heap memory, so replay is
 * "apply events to a heap image".  Every event is validated as it is
 * applied (the cell an ALLOC takes must be empty or a queued hole, a MOVE
 * goes from a live cell into a hole, a word write names the old value the
 * slot really holds, pages change hands only from their owner, ...).  A
 * mismatch is a RAV_TRACE_EREPLAY error in m->err that names the event
 * index, the place and both values: replay never guesses.
 *
 * Page header cells are not replayed word by word (the engine keeps fill
 * and list links there without recording those writes); the state rebuilds
 * them from the model (replay-state.c).
 *
 * Inline and always inlined: the indexing batch loop (replay-index.c) and
 * the seek loop (replay-state.c) are the two hot callers; a call and its
 * register saves per event would cost them several percent.
 */
#ifndef RAVT_REPLAY_APPLY_H
#define RAVT_REPLAY_APPLY_H

#include <stddef.h>
#include <string.h>

#include "replay-history.h"
#include "replay-model.h"
#include "series.h"
#include "snapshot.h"

/* GCC's SLP vectorizer joins the counters' updates (ravt_count: a page's,
 * the heap's, the totals') into 16-byte loads and stores; a 16-byte load
 * of two fields the event before stored one by one cannot be forwarded
 * from the store buffer and waits for those stores to reach the cache,
 * behind the event's cell writes that miss (perf: 4-6% of replay_events'
 * samples on the heap's counts in the uniform trace).  Off in the two
 * loops that inline ravt_apply (replay-index.c, replay-state.c). */
#if defined(__GNUC__) && !defined(__clang__)
#define RAVT_APPLY_ATTR __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define RAVT_APPLY_ATTR
#endif

/* Page indices replay accepts: the page table is sized by the highest
 * page, so a damaged index must not make it huge (the engine's pool stays
 * far below this). */
#define RAVT_MAX_PAGE_INDEX (1u << 24)

/* Replaying an event mostly waits for memory when the program touches
 * cells all over its heap: the page block, then the cell block holding the
 * cell, both at random places in a model of tens of megabytes.  The batch
 * lets the loop ask for them ahead: the page block of the event RAVT_PF_FAR
 * ahead (its counters and the slot pointing at the cell block: two lines
 * when the block straddles one), then (that block having arrived) the cell
 * block of the event RAVT_PF_NEAR ahead.  A batch's last events ask for
 * the next batch's first when the caller knows them (ravt_pf_ahead: the
 * pipeline's worker does when its next slot is filled).  Prefetches never fault; the loads
 * that compute their addresses are bounds-checked like apply's own.
 *
 * Always inlined: GCC 12 at -O3 found the plain static inline
 * ravt_prefetch_cell free of side effects (it only loads and prefetches)
 * and deleted its calls before inlining them, so no cell block was ever
 * prefetched (objdump of the indexing loop showed one prefetch per event,
 * not three; a sampled profile put 44% of the apply thread on the load of
 * a cell's state). */
#define RAVT_PF_FAR 24u
#define RAVT_PF_NEAR 12u

static inline __attribute__((always_inline)) void ravt_prefetch_page(const ravt_model *m, rav_loc l)
{
	uint32_t pg = rav_loc_page(l);
	if (!(l & RAV_LOC_EXTERNAL) && pg < m->span) {
		const ravt_mpage *p = ravt_page_at(m, pg);
		if (p) {
			/* refs .. rootc: what apply reads and counts */
			__builtin_prefetch(p);
			__builtin_prefetch((const char *)p + offsetof(ravt_mpage, rootc));
			__builtin_prefetch(&p->cb[rav_loc_cell(l) >> RAVT_CB_SHIFT]);
		}
	}
}

/* The cell block of an event (its page block asked for RAVT_PF_FAR events
 * before).  With `copy` (the loop saw copies on write lately), a cell block
 * the write will copy is asked for whole: a copy of a block shared with a
 * keyframe reads all of it from memory no cache holds (in a heap churned
 * uniformly one event in ten copies a block, and those copies were 70% of
 * the apply thread's misses in the last level, callgrind).  Which blocks
 * those are, the page block says (ravt_mpage.priv, and its count: a shared
 * page block is copied, and then all its cell blocks are shared), so this
 * is asked for here, RAVT_PF_NEAR events ahead, and not at a third stage
 * that waited for the cell block's count (4 events ahead, too late for
 * most of the block: perf put two thirds of ravt_block_w_copy's samples on
 * the copy's loads). */
static inline __attribute__((always_inline)) void ravt_prefetch_cell(const ravt_model *m, rav_loc l,
                                                                     bool copy)
{
	uint32_t pg = rav_loc_page(l), c = rav_loc_cell(l);
	if (!(l & RAV_LOC_EXTERNAL) && pg < m->span && c < m->cpp) {
		const ravt_mpage *p = ravt_page_at(m, pg);
		if (p) {
			uint32_t i = c >> RAVT_CB_SHIFT;
			const ravt_cellblock *k = p->cb[i];
			/* (the page block's count alone: a leaf shared with a
			 * keyframe is copied at the first write to any of its
			 * pages, and the copy takes a reference on each of its
			 * page blocks, so only the first write of a leaf after
			 * a keyframe is not seen here: its leaf's count was 2.6
			 * instructions an event) */
			bool shared = atomic_load_explicit(&p->refs, memory_order_relaxed) != 1;
			if (copy &&
			    (shared ||
			     !ravt_priv_has(atomic_load_explicit(&p->priv, memory_order_relaxed), i))) {
				for (size_t off = 0; off < sizeof *k; off += 64)
					__builtin_prefetch((const char *)k + off);
			} else {
				__builtin_prefetch(k->st);
				__builtin_prefetch(&k->w[RAVT_CB_INDEX(c) * 4]);
			}
			/* a page block shared with a keyframe is copied before it is
			 * written, and the copy takes a reference on each of its cell
			 * blocks: their counts' lines, for writing (the page block's
			 * count is on the line the far prefetch asked for) */
			if (shared)
				for (uint32_t j = 0; j < m->ncb; j++)
					__builtin_prefetch(p->cb[j], 1);
		}
	}
}

/* The locations of the first events of the next delivery (sink.h's
 * events_ahead), where a batch's last events find the events their
 * prefetches are for: RAVT_PF_FAR of them, RAV_LOC_EXTERNAL (nothing to
 * ask for) past those known.  `near` and `copy` say how many of the next
 * batch's first events had their cell block and copy asked for already. */
typedef struct ravt_pf_ahead {
	rav_loc a[RAVT_PF_FAR];
	const rav_event *next; /* the batch they belong to (NULL: none) */
	size_t far, near;      /* its first events whose page block / cell block were asked for */
} ravt_pf_ahead;

static inline void ravt_pf_ahead_set(ravt_pf_ahead *w, const rav_event *next, size_t nnext)
{
	for (size_t j = 0; j < RAVT_PF_FAR; j++)
		w->a[j] = j < nnext ? next[j].a : RAV_LOC_EXTERNAL;
	w->next = nnext ? next : NULL;
	w->far = nnext < RAVT_PF_FAR ? nnext : RAVT_PF_FAR;
	w->near = nnext < RAVT_PF_NEAR ? nnext : RAVT_PF_NEAR;
}

/* Which heaps' numbers an event changed (for the series). */
typedef struct ravt_touch {
	ravt_mheap *h[2];
} ravt_touch;

/* Resolve a cell location to its page block (which must be in use), and
 * its leaf (*lf: for ravt_page_w_have, which then looks neither up again:
 * each lookup is two dependent loads and the top's pointer reloaded, as
 * the stores between them may alias it as far as the compiler knows). */
static inline __attribute__((always_inline)) ravt_mpage *ravt_cell_page(ravt_model *m, const rav_event *ev,
                                                                     rav_loc l, const char *what,
                                                                     const ravt_pleaf **lf)
{
	uint32_t pg = rav_loc_page(l), c = rav_loc_cell(l);
	if (__builtin_expect(!(l & RAV_LOC_EXTERNAL) && pg < m->span, 1)) {
		const ravt_pleaf *leaf = ravt_leaf_at(m, pg);
		ravt_mpage *p = leaf->pg[RAVT_LEAF_INDEX(pg)];
		*lf = leaf;
		if (__builtin_expect(p && c < m->cpp && p->kind != RAV_SPAGE_POOL, 1))
			return p;
	}
	return ravt_model_fail_place(m, ev, l, what);
}

static inline void ravt_fill_shrink(ravt_mpage *p)
{
	while (p->fill > 1 && ravt_cell_st(p, p->fill - 1) == RAV_CELL_EMPTY)
		p->fill--;
}

/* Cell counters of page p (owned by heap h, may be NULL) change by dl live
 * cells (dr0 of them root cells), dd dead and dr reference ravioli.  Pages
 * count every live cell; heaps and totals leave root cells out, as the
 * engine's rav_stats do. */
static inline void ravt_count(ravt_model *m, ravt_mpage *p, ravt_mheap *h, int dl, int dd, int dr, int dr0)
{
	p->live += (uint32_t)dl;
	p->dead += (uint32_t)dd;
	p->refc += (uint32_t)dr;
	p->rootc += (uint32_t)dr0;
	int64_t cl = (int64_t)dl - dr0;
	m->tot.live_cells += (uint64_t)cl;
	m->tot.dead_cells += (uint64_t)(int64_t)dd;
	m->tot.ref_cells += (uint64_t)(int64_t)dr;
	if (h) {
		h->live += (uint64_t)cl;
		h->dead += (uint64_t)(int64_t)dd;
		h->refc += (uint64_t)(int64_t)dr;
	}
}

static inline uint8_t ravt_spage_kind(uint32_t engine_kind)
{
	switch (engine_kind) {
	case RAV_PAGE_BUFFER:
		return RAV_SPAGE_BUFFER;
	case RAV_PAGE_ROOT:
		return RAV_SPAGE_ROOT;
	default:
		return RAV_SPAGE_HEAP;
	}
}

/* (hit: ravt_apply_marked's, the slot's page marked there) */
static inline __attribute__((always_inline)) int ravt_apply_word(ravt_model *m, const rav_event *ev,
                                                                 ravt_touch *tc, uint64_t oldv, uint64_t newv,
                                                                 uint8_t *hit)
{
	const ravt_pleaf *lf;
	ravt_mpage *p = ravt_cell_page(m, ev, ev->a, "the slot written", &lf);
	if (!p)
		return -1;
	uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a), w = rav_loc_word(ev->a);
	if (hit)
		ravt_history_mark_page(hit, pg);
	uint8_t st = ravt_cell_st(p, c);
	if (st == RAV_CELL_HEADER)
		return 0; /* header words are rebuilt from the model, see the top comment */
	if (st == RAV_CELL_EMPTY)
		return ravt_model_fail(
		    m, ev, "writes word %u of page %u cell %u, which is empty (above the heap top)", w, pg,
		    c);
	uint64_t cur = ravt_cell_words(p, c)[w];
	if (st == RAV_CELL_LIVE && cur != oldv)
		return ravt_model_fail(
		    m, ev, "page %u cell %u word %u holds 0x%llx but the event says its old value is 0x%llx",
		    pg, c, w, (unsigned long long)cur, (unsigned long long)oldv);
	ravt_cellblock *k;
	if (!(p = ravt_page_w_have(m, pg, lf, p)) || !(k = ravt_block_w(m, p, c)))
		return ravt_model_oom(m, ev);
	k->w[RAVT_CB_INDEX(c) * 4 + w] = newv;
	if (w == RAV_W_TYPE && st == RAV_CELL_LIVE) {
		int was = RAVT_TYPE_ID(cur) == RAV_TYPE_REF, is = RAVT_TYPE_ID(newv) == RAV_TYPE_REF;
		int wasr = RAVT_TYPE_ID(cur) == RAV_TYPE_ROOT, isr = RAVT_TYPE_ID(newv) == RAV_TYPE_ROOT;
		if (was != is || wasr != isr) {
			ravt_mheap *h = ravt_owner_of(m, p);
			ravt_count(m, p, h, 0, 0, is - was, isr - wasr);
			tc->h[0] = h;
		}
	}
	return 0;
}

/* replay-install.c: a snapshot event's piece installed (piece NULL: the
 * trace does not hold it, an error), and a lost event: every heap
 * forgotten.  0, or -1 with m->err. */
int ravt_model_install(ravt_model *m, const rav_event *ev, const ravt_piece *piece, ravt_touch *tc);
int ravt_model_forget(ravt_model *m, const rav_event *ev);

/* The locations an event writes to, marked in the cell-history filter's
 * block being filled (replay-history.h) when hit is not NULL: the
 * indexing loop marks them in the same switch that applies the event (a
 * second dispatch on the kind cost 8 instructions an event, and a branch
 * predicted no better than the kinds follow each other); a seek passes
 * NULL and the marks compile away.  A cell or slot the event names is
 * marked by its page once replay found the page in use (RAVT_MARK_PAGE,
 * no test of the location: 4.7 of the uniform trace's instructions an
 * event, callgrind); the values of reference writes and the reference ravioli's
 * locations, which nothing checks, with RAVT_MARK.  (An event that fails
 * leaves marks or not: the index stops before it.) */
#define RAVT_MARK(l)                                                                                         \
	do {                                                                                                 \
		if (hit)                                                                                     \
			ravt_history_mark(hit, (l));                                                         \
	} while (0)
#define RAVT_MARK_PAGE(pg)                                                                                   \
	do {                                                                                                 \
		if (hit)                                                                                     \
			ravt_history_mark_page(hit, (pg));                                                   \
	} while (0)

/* An event applied, counted in the series' open bin `acc` (its kind's
 * slot, series.h) when acc is not NULL: the hot kinds' cases count with
 * their slot known (ravt_series_count after the switch tested and
 * selected it again: 4.2 of the uniform trace's instructions an event
 * more, callgrind), the others after the switch; only events applied without
 * error are counted.  A seek passes NULL and the counts compile away. */
#define RAVT_COUNT(slot)                                                                                     \
	do {                                                                                                 \
		if (acc)                                                                                     \
			acc[(slot)]++;                                                                       \
	} while (0)

/* Apply ev at m->pos (the caller advances pos), marking the history filter
 * `hit` and counting it in the series' `acc` (NULL: none).  0, or -1 with
 * m->err.  A snapshot event changes nothing here: its caller installs the
 * piece. */
static inline __attribute__((always_inline)) int ravt_apply_marked(ravt_model *m, const rav_event *ev,
                                                                   ravt_touch *tc, uint8_t *hit,
                                                                   uint64_t *acc)
{
	uint64_t newv;
	unsigned wk; /* the series slot of a word write (RAVT_COUNT) */
	tc->h[0] = tc->h[1] = NULL;
	switch (ev->kind) {
	case RAV_EV_THREAD_START: {
		if (!ev->x) /* (0 is "no heap": a thread's events before it had one) */
			return ravt_model_fail(m, ev, "starts a thread of heap 0, but heap ids start at 1");
		ravt_mheap *h = ravt_heap_get(m, ev->x, RAV_HEAP_THREAD);
		if (!h)
			return ravt_model_oom(m, ev);
		h->alive = true;
		break;
	}
	case RAV_EV_HEAP_NEW: {
		if (!ev->x)
			return ravt_model_fail(m, ev, "creates heap 0, but heap ids start at 1");
		ravt_mheap *h = ravt_heap_get(m, ev->x, (uint8_t)ev->aux);
		if (!h)
			return ravt_model_oom(m, ev);
		h->kind = (uint8_t)ev->aux;
		h->parent = (uint32_t)ev->a;
		h->alive = true;
		h->in_flight = false;
		break;
	}
	case RAV_EV_HEAP_END: {
		ravt_mheap *h = ravt_heap_find(m, ev->x);
		if (h) {
			h->alive = false;
			h->in_flight = false;
		}
		break;
	}
	case RAV_EV_LOST:
		if (ravt_model_forget(m, ev) < 0)
			return -1;
		break;
	case RAV_EV_TYPE_DEF:
		if (ev->aux >= RAVT_MAX_TYPES)
			return ravt_model_fail(
			    m, ev,
			    "defines type id %u, but type ids have %u bits (the type word's "
			    "low bits)",
			    ev->aux, RAV_TYPE_BITS);
		if (!ravt_model_define_type(m, ev->aux, (uint8_t)(0x80u | (ev->x & 3u))))
			return ravt_model_oom(m, ev);
		break;
	case RAV_EV_MSG_SEND: {
		if (!ev->x)
			return ravt_model_fail(m, ev, "sends heap 0, but heap ids start at 1");
		ravt_mheap *h = ravt_heap_get(m, ev->x, RAV_HEAP_MESSAGE);
		if (!h)
			return ravt_model_oom(m, ev);
		if (h->in_flight)
			return ravt_model_fail(m, ev, "message heap %u is sent twice", ev->x);
		h->in_flight = true;
		break;
	}
	case RAV_EV_MSG_RECV: {
		ravt_mheap *h = ravt_heap_find(m, ev->x);
		/* a message that is known and alive arrives only once it is sent
		 * (sequence numbers that put a receive first, or a second receive,
		 * make every later figure of the receiver wrong) */
		if (h && h->kind == RAV_HEAP_MESSAGE && h->alive && !h->in_flight)
			return ravt_model_fail(m, ev, "heap %llu receives message %u, which is not in flight "
			                       "(not sent yet, or received already)",
			                       (unsigned long long)ev->b, ev->x);
		if (h)
			h->in_flight = false;
		/* The engine links arriving pages in before the receiver's trailing
		 * empty page (its spare, or an empty top page), else at the end. */
		ravt_mheap *r = ravt_heap_find(m, (uint32_t)ev->b);
		if (r) {
			const ravt_mpage *p = r->ntail != RAVT_NO_PAGE ? ravt_page_r(m, r->ntail) : NULL;
			r->anchor =
			    p && p->fill <= 1 && p->live == 0 && p->dead == 0 ? r->ntail : RAVT_NO_PAGE;
		}
		break;
	}
	case RAV_EV_PAGE_ACQUIRE: {
		if (ev->a & RAV_LOC_EXTERNAL)
			return ravt_model_fail(m, ev,
			                       "the page acquired is outside the ravioli pool (0x%llx)",
			                       (unsigned long long)(ev->a & ~RAV_LOC_EXTERNAL));
		uint32_t pg = rav_loc_page(ev->a);
		if (pg >= RAVT_MAX_PAGE_INDEX)
			return ravt_model_fail(
			    m, ev, "page index %u is beyond the largest pool replay accepts (%u pages)", pg,
			    RAVT_MAX_PAGE_INDEX);
		if (!ravt_model_ensure_span(m, pg))
			return ravt_model_oom(m, ev);
		if (!ev->x)
			return ravt_model_fail(m, ev, "page %u is acquired for heap 0, but heap ids start at 1", pg);
		ravt_mpage *p = ravt_page_at(m, pg);
		if (p && p->kind != RAV_SPAGE_POOL)
			return ravt_model_fail(m, ev, "heap %u acquires page %u, which heap %u already owns",
			                       ev->x, pg, p->owner);
		ravt_mheap *h = ravt_heap_get(m, ev->x, RAV_HEAP_THREAD);
		if (!h)
			return ravt_model_oom(m, ev);
		if (p) {
			if (!(p = ravt_page_w(m, pg)))
				return ravt_model_oom(m, ev);
		} else {
			if (!(p = ravt_model_new_page_at(m, pg)))
				return ravt_model_oom(m, ev);
		}
		if (ravt_pool_at(m, pg)) {
			ravt_pool_set(m, pg, false);
			m->tot.pool_pages--;
		}
		p->kind = ravt_spage_kind(ev->aux);
		p->ekind = (uint8_t)ev->aux;
		p->owner = ev->x;
		p->hidx = (uint32_t)(h - m->heaps) + 1;
		p->fill = 1;
		p->live = p->dead = p->refc = p->rootc = 0;
		ravt_page_clear_cells(m, p);
		if (!ravt_heap_insert(m, h, pg, RAVT_NO_PAGE))
			return ravt_model_oom(m, ev);
		h->anchor = RAVT_NO_PAGE;
		m->tot.pages++;
		tc->h[0] = h;
		break;
	}
	case RAV_EV_PAGE_RELEASE: {
		uint32_t pg = rav_loc_page(ev->a);
		ravt_mpage *p = (ev->a & RAV_LOC_EXTERNAL) ? NULL : (ravt_mpage *)ravt_page_r(m, pg);
		if (!p || p->kind == RAV_SPAGE_POOL)
			return ravt_model_fail(m, ev, "heap %u releases page %u, which no heap owns", ev->x,
			                       pg);
		if (p->owner != ev->x)
			return ravt_model_fail(m, ev, "heap %u releases page %u, which heap %u owns", ev->x,
			                       pg, p->owner);
		ravt_mheap *h = ravt_owner_of(m, p);
		if (!(p = ravt_page_w(m, pg)))
			return ravt_model_oom(m, ev);
		ravt_count(m, p, h, -(int)p->live, -(int)p->dead, -(int)p->refc, -(int)p->rootc);
		if (h && !ravt_heap_remove(m, h, pg))
			return ravt_model_oom(m, ev);
		p = ravt_page_at(m, pg);
		p->kind = RAV_SPAGE_POOL;
		p->owner = 0;
		p->hidx = 0;
		p->fill = 1;
		ravt_page_clear_cells(m, p);
		ravt_pool_set(m, pg, true);
		m->tot.pool_pages++;
		m->tot.pages--;
		tc->h[0] = h;
		break;
	}
	case RAV_EV_PAGE_HANDOFF: {
		uint32_t pg = rav_loc_page(ev->a);
		ravt_mpage *p = (ev->a & RAV_LOC_EXTERNAL) ? NULL : (ravt_mpage *)ravt_page_r(m, pg);
		if (!p || p->kind == RAV_SPAGE_POOL)
			return ravt_model_fail(
			    m, ev, "page %u is handed from heap %llu to heap %u but no heap owns it", pg,
			    (unsigned long long)ev->b, ev->x);
		if (p->owner != ev->b)
			return ravt_model_fail(
			    m, ev, "page %u is handed from heap %llu to heap %u but heap %u owns it", pg,
			    (unsigned long long)ev->b, ev->x, p->owner);
		if (!ev->x)
			return ravt_model_fail(m, ev, "page %u is handed to heap 0, but heap ids start at 1", pg);
		ravt_mheap *to = ravt_heap_get(m, ev->x, RAV_HEAP_THREAD);
		/* (the owner looked up after heap_get, which may move the array) */
		ravt_mheap *from;
		if (!to || !(p = ravt_page_regive(m, pg, to, &from)))
			return ravt_model_oom(m, ev);
		/* the page joins the receiver's list at the end, or before its
		 * trailing empty page (the anchor MSG_RECV found) */
		uint32_t before = RAVT_NO_PAGE;
		if (to->anchor != RAVT_NO_PAGE && to->anchor != pg) {
			const ravt_mpage *a = ravt_page_r(m, to->anchor);
			if (a && a->hidx == (uint32_t)(to - m->heaps) + 1 && a->kind != RAV_SPAGE_POOL)
				before = to->anchor;
		}
		if (p->kind != RAV_SPAGE_ROOT) {
			p->kind = to->kind == RAV_HEAP_MESSAGE ? RAV_SPAGE_BUFFER : RAV_SPAGE_HEAP;
			p->ekind = to->kind == RAV_HEAP_MESSAGE ? RAV_PAGE_BUFFER : RAV_PAGE_HEAP;
		}
		if (!ravt_heap_insert(m, to, pg, before))
			return ravt_model_oom(m, ev);
		p = ravt_page_at(m, pg);
		p->owner = ev->x;
		p->hidx = (uint32_t)(to - m->heaps) + 1;
		m->tot.handoffs++;
		tc->h[0] = from;
		tc->h[1] = to;
		break;
	}
	case RAV_EV_PAGE_TO_MSG: /* 1.6: rare (a message built at the sender's top), so not inline */
		if (ravt_model_page_to_msg(m, ev, &tc->h[0], &tc->h[1]) < 0)
			return -1;
		break;
	case RAV_EV_ALLOC: {
		const ravt_pleaf *lf;
		ravt_mpage *p = ravt_cell_page(m, ev, ev->a, "the allocated cell", &lf);
		if (!p)
			return -1;
		uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a);
		RAVT_MARK_PAGE(pg);
		uint8_t st = ravt_cell_st(p, c);
		/* the top cell, or a queued hole the engine reuses */
		if (st != RAV_CELL_EMPTY && st != RAV_CELL_DEAD)
			return ravt_model_fail(m, ev, "allocates page %u cell %u, which is %s", pg, c,
			                       ravt_cell_state_name(st));
		ravt_cellblock *k;
		if (!(p = ravt_page_w_have(m, pg, lf, p)) || !(k = ravt_block_w(m, p, c)))
			return ravt_model_oom(m, ev);
		uint64_t *w = k->w + RAVT_CB_INDEX(c) * 4;
		w[0] = ev->aux;
		w[1] = w[2] = w[3] = 0;
		k->st[RAVT_CB_INDEX(c)] = RAV_CELL_LIVE;
		if (c + 1 > p->fill)
			p->fill = c + 1;
		ravt_mheap *h = ravt_owner_of(m, p);
		ravt_count(m, p, h, 1, st == RAV_CELL_DEAD ? -1 : 0, RAVT_TYPE_ID(ev->aux) == RAV_TYPE_REF,
		           RAVT_TYPE_ID(ev->aux) == RAV_TYPE_ROOT);
		m->tot.allocs++;
		tc->h[0] = h;
		RAVT_COUNT(RAV_EV_ALLOC);
		return 0;
	}
	case RAV_EV_FREE: {
		const ravt_pleaf *lf;
		ravt_mpage *p = ravt_cell_page(m, ev, ev->a, "the freed cell", &lf);
		if (!p)
			return -1;
		uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a);
		RAVT_MARK_PAGE(pg);
		uint8_t st = ravt_cell_st(p, c);
		/* a live cell dies, or (arrival of a message) an empty cell below
		 * the new top becomes a hole to fill */
		if (st != RAV_CELL_LIVE && st != RAV_CELL_EMPTY)
			return ravt_model_fail(m, ev, "frees page %u cell %u, which is %s", pg, c,
			                       ravt_cell_state_name(st));
		ravt_cellblock *k;
		if (!(p = ravt_page_w_have(m, pg, lf, p)) || !(k = ravt_block_w(m, p, c)))
			return ravt_model_oom(m, ev);
		uint64_t *w = k->w + RAVT_CB_INDEX(c) * 4;
		ravt_mheap *h = ravt_owner_of(m, p);
		if (st == RAV_CELL_LIVE) {
			ravt_count(m, p, h, -1, 1, -(int)(RAVT_TYPE_ID(w[0]) == RAV_TYPE_REF),
			           -(int)(RAVT_TYPE_ID(w[0]) == RAV_TYPE_ROOT));
			m->tot.frees++;
		} else {
			ravt_count(m, p, h, 0, 1, 0, 0);
			w[1] = w[2] = w[3] = 0;
			if (c + 1 > p->fill)
				p->fill = c + 1;
		}
		/* the engine's dead cells carry the DEAD type; their other words
		 * (hole-list links) are not recorded and are unspecified here */
		w[0] = RAV_TYPE_DEAD;
		k->st[RAVT_CB_INDEX(c)] = RAV_CELL_DEAD;
		tc->h[0] = h;
		RAVT_COUNT(ev->aux == 0 ? RAVT_SERIES_HOLES : RAV_EV_FREE);
		return 0;
	}
	case RAV_EV_MOVE: {
		const ravt_pleaf *lf; /* (not used: the first write may copy the second's leaf) */
		ravt_mpage *pf = ravt_cell_page(m, ev, ev->a, "the cell moved", &lf);
		if (!pf)
			return -1;
		ravt_mpage *pt = ravt_cell_page(m, ev, ev->b, "the destination of the move", &lf);
		if (!pt)
			return -1;
		uint32_t fpg = rav_loc_page(ev->a), fc = rav_loc_cell(ev->a);
		uint32_t tpg = rav_loc_page(ev->b), tcell = rav_loc_cell(ev->b);
		RAVT_MARK_PAGE(tpg);
		RAVT_MARK_PAGE(fpg);
		uint8_t fst = ravt_cell_st(pf, fc), tst = ravt_cell_st(pt, tcell);
		if (fst != RAV_CELL_LIVE)
			return ravt_model_fail(m, ev, "moves page %u cell %u, which is %s", fpg, fc,
			                       ravt_cell_state_name(fst));
		if (tst != RAV_CELL_DEAD && tst != RAV_CELL_EMPTY)
			return ravt_model_fail(
			    m, ev, "moves page %u cell %u into page %u cell %u, which is %s (not a hole)",
			    fpg, fc, tpg, tcell, ravt_cell_state_name(tst));
		if (fpg == tpg && fc == tcell)
			return ravt_model_fail(m, ev, "moves page %u cell %u onto itself", fpg, fc);
		/* (the two cells may share a page, even a cell block: the second
		 * page_w / block_w then finds the first one's private copy) */
		ravt_cellblock *kt, *kf;
		if (!(pf = ravt_page_w(m, fpg)) || !(pt = ravt_page_w(m, tpg)) ||
		    !(kt = ravt_block_w(m, pt, tcell)) || !(kf = ravt_block_w(m, pf, fc)))
			return ravt_model_oom(m, ev);
		uint64_t *src = kf->w + RAVT_CB_INDEX(fc) * 4, *dst = kt->w + RAVT_CB_INDEX(tcell) * 4;
		memcpy(dst, src, 4 * sizeof(uint64_t));
		memset(src, 0, 4 * sizeof(uint64_t));
		int isref = RAVT_TYPE_ID(dst[0]) == RAV_TYPE_REF,
		    isroot = RAVT_TYPE_ID(dst[0]) == RAV_TYPE_ROOT;
		ravt_mheap *hf = ravt_owner_of(m, pf), *ht = ravt_owner_of(m, pt);
		kt->st[RAVT_CB_INDEX(tcell)] = RAV_CELL_LIVE;
		kf->st[RAVT_CB_INDEX(fc)] = RAV_CELL_EMPTY;
		ravt_count(m, pt, ht, 1, tst == RAV_CELL_DEAD ? -1 : 0, isref, isroot);
		ravt_count(m, pf, hf, -1, 0, -isref, -isroot);
		if (tcell + 1 > pt->fill)
			pt->fill = tcell + 1;
		ravt_fill_shrink(pf);
		m->tot.moves++;
		tc->h[0] = hf;
		tc->h[1] = ht;
		RAVT_COUNT(RAV_EV_MOVE);
		return 0;
	}
	case RAV_EV_TRIM: {
		const ravt_pleaf *lf;
		ravt_mpage *p = ravt_cell_page(m, ev, ev->a, "the trimmed cell", &lf);
		if (!p)
			return -1;
		uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a);
		RAVT_MARK_PAGE(pg);
		uint8_t st = ravt_cell_st(p, c);
		if (st != RAV_CELL_DEAD)
			return ravt_model_fail(m, ev, "trims page %u cell %u, which is %s (not dead)", pg, c,
			                       ravt_cell_state_name(st));
		ravt_cellblock *k;
		if (!(p = ravt_page_w_have(m, pg, lf, p)) || !(k = ravt_block_w(m, p, c)))
			return ravt_model_oom(m, ev);
		k->st[RAVT_CB_INDEX(c)] = RAV_CELL_EMPTY;
		memset(k->w + RAVT_CB_INDEX(c) * 4, 0, 4 * sizeof(uint64_t));
		ravt_mheap *h = ravt_owner_of(m, p);
		ravt_count(m, p, h, 0, -1, 0, 0);
		ravt_fill_shrink(p);
		tc->h[0] = h;
		RAVT_COUNT(RAV_EV_TRIM);
		return 0;
	}
	/* the word writes share one (inlined) copy of ravt_apply_word */
	case RAV_EV_FIXUP:
		RAVT_MARK(ev->b);
		RAVT_MARK(ev->c);
		m->tot.fixups++;
		newv = ev->c;
		wk = RAV_EV_FIXUP;
		goto word;
	case RAV_EV_REF_STORE:
		RAVT_MARK(ev->b);
		RAVT_MARK(ev->c);
		newv = ev->c;
		wk = RAV_EV_REF_STORE;
		goto word;
	case RAV_EV_LINK:
		RAVT_MARK(ev->b);
		RAVT_MARK(ev->c);
		newv = ev->c;
		wk = RAV_EV_LINK;
		goto word;
	case RAV_EV_DATA_STORE:
		newv = ev->c;
		wk = RAV_EV_DATA_STORE;
		goto word;
	case RAV_EV_REF_CLEAR:
		RAVT_MARK(ev->b);
		RAVT_MARK(ev->c);
		newv = 0;
		wk = RAV_EV_REF_CLEAR;
		goto word;
	case RAV_EV_REFRAV_INSERT: /* (annotations: only marked) */
		RAVT_MARK(ev->a);
		RAVT_MARK(ev->b);
		RAVT_MARK(ev->c);
		break;
	case RAV_EV_REFRAV_REMOVE:
		RAVT_MARK(ev->a);
		break;
	case RAV_EV_TYPE_WORD: {
		if (rav_loc_word(ev->a) != RAV_W_TYPE)
			return ravt_model_fail(m, ev, "type word event names word %u, not word 0",
			                       rav_loc_word(ev->a));
		newv = ev->c;
		wk = RAV_EV_TYPE_WORD;
		goto word;
	}
	case RAV_EV_ROOT_NEW:
	case RAV_EV_ROOT_FREE: {
		const ravt_pleaf *lf;
		ravt_mpage *p = ravt_cell_page(m, ev, ev->a, "the root slot", &lf);
		if (!p)
			return -1;
		RAVT_MARK_PAGE(rav_loc_page(ev->a));
		uint8_t st = ravt_cell_st(p, rav_loc_cell(ev->a));
		if (st != RAV_CELL_LIVE)
			return ravt_model_fail(m, ev,
			                       "root slot page %u cell %u word %u is in a cell that is %s",
			                       rav_loc_page(ev->a), rav_loc_cell(ev->a), rav_loc_word(ev->a),
			                       ravt_cell_state_name(st));
		break;
	}
	default:
		break;
	}
	/* the other kinds (a FREE does not come here: its slot is not its kind) */
	RAVT_COUNT(ev->kind < RAVT_SERIES_KINDS ? ev->kind : 0);
	return 0;
word:
	if (ravt_apply_word(m, ev, tc, ev->b, newv, hit) < 0)
		return -1;
	RAVT_COUNT(wk);
	return 0;
}
#undef RAVT_MARK
#undef RAVT_MARK_PAGE
#undef RAVT_COUNT

/* Apply ev without marking a history filter or counting it (seeks). */
static inline __attribute__((always_inline)) int ravt_apply(ravt_model *m, const rav_event *ev,
                                                            ravt_touch *tc)
{
	return ravt_apply_marked(m, ev, tc, NULL, NULL);
}

#endif /* RAVT_REPLAY_APPLY_H */
