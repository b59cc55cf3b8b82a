/* replay-state.c - rav_state: the heap at one event.
 *
 * A state owns a model.  Seeking copies the nearest keyframe at or before
 * the target (pointer copies: blocks are shared, copy-on-write) and
 * replays forward through a reader cursor; stepping applies one event.
 * A state may be used while indexing continues on another thread: it sees
 * the events both merged by the reader and applied by replay.
 *
 * A long replay (a seek far from its keyframe) runs on two threads as
 * indexing does (pipeline.h): the calling thread decodes through the
 * cursor (decompressing and decoding cost about as much as applying) and a
 * worker applies the events to the state's model; the call returns once
 * the worker is done, so callers see one thread's result.
 *
 * What a state shows is read from its model; page header cells, which
 * replay does not rebuild word by word, are made up from the model here:
 * type word with scalar fill | page kind << RAV_HEADER_KIND_SHIFT, next
 * page, previous page, owner heap id (rav-record.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "replay-apply.h"
#include "replay.h"

#define MAX_WALK 64u /* reference ravioli followed in a chain before giving up */

/* A heap's page list written out for rav_state_heap_at, rebuilt when the
 * list has changed since: the heap's list_changes moved, or the state
 * seeked (a restored model's counters come from another history). */
typedef struct heap_pages {
	uint32_t *p;
	uint8_t *k; /* the pages' kinds */
	uint32_t cap;
	uint32_t changes; /* the heap's list_changes it shows */
	uint64_t epoch;   /* the state's seek epoch it shows + 1; 0: never */
} heap_pages;

struct rav_state {
	ravt_replay *rp; /* NULL: detached */
	ravt_reader *rd;
	ravt_model m;
	ravt_blockcache cache; /* the blocks of positions left, for the next seek */
	uint64_t epoch;   /* changes whenever the model is replaced (seek) */
	heap_pages *hp;
	uint32_t nhp;
	ravt_cursor cur;
	bool cur_ok; /* cur yields event m.pos next */
	bool failed; /* the model met an error at m.pos: it cannot go forward */
	rav_trace_error err;
	uint64_t replayed; /* events the last seek replayed */
};

static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *fmt, ...)
{
	if (!err)
		return;
	memset(err, 0, sizeof *err);
	err->code = code;
	err->chunk = -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

rav_state *ravt_state_new(ravt_replay *rp, ravt_reader *rd)
{
	rav_state *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->rp = rp;
	s->rd = rd;
	rav_trace_info in;
	ravt_reader_get_info(rd, &in);
	ravt_model_init(&s->m, in.page_size, in.cell_size, in.word_size, NULL);
	s->m.cache = &s->cache;
	if (!s->m.tkinds) {
		free(s);
		return NULL;
	}
	return s;
}

rav_state *ravt_state_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size)
{
	rav_state *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	ravt_model_init(&s->m, page_size, cell_size, word_size, NULL);
	s->m.cache = &s->cache;
	if (!s->m.tkinds || !s->m.cpp) {
		ravt_model_clear(&s->m);
		free(s);
		return NULL;
	}
	return s;
}

void rav_state_free(rav_state *s)
{
	if (!s)
		return;
	if (s->cur_ok)
		ravt_cursor_fini(&s->cur);
	ravt_model_clear(&s->m);
	for (uint32_t i = 0; i < s->nhp; i++) {
		free(s->hp[i].p);
		free(s->hp[i].k);
	}
	free(s->hp);
	ravt_blockcache_clear(&s->cache);
	free(s);
}

int ravt_state_apply(rav_state *s, const rav_event *ev, rav_trace_error *err)
{
	if (s->failed) {
		if (err)
			*err = s->err;
		return -1;
	}
	rav_event e = *ev;
	e.index = s->m.pos;
	ravt_touch tc;
	if (ravt_apply(&s->m, &e, &tc) < 0 ||
	    (e.kind == RAV_EV_SNAPSHOT && ravt_model_install(&s->m, &e, s->rd ? ravt_reader_piece(s->rd, e.a) : NULL, &tc) < 0)) {
		s->failed = true;
		s->err = s->m.err;
		if (err)
			*err = s->err;
		return -1;
	}
	s->m.pos++;
	return 0;
}

/* Events both applied by replay and merged by the reader (the cursor sees
 * only the latter). */
static uint64_t available(const rav_state *s)
{
	uint64_t mine = ravt_replay_applied(s->rp);
	uint64_t theirs = ravt_reader_merged(s->rd);
	return mine < theirs ? mine : theirs;
}

/* Events a seek reads ahead of the one it applies: the cell blocks they
 * touch are prefetched while earlier ones are applied (replay-apply.h). */
#define SEEK_BATCH 64u
/* Replays of at least this many events decode and apply on two threads
 * (starting the worker costs tens of microseconds). */
#define SEEK_PIPE_MIN 32768u

/* Apply evs[0..n) (their index fields set) to the state's model, asking
 * for the memory of later events' cells ahead, into the next batch's
 * first events when `ah` knows them (the pipeline's worker: ravt_pipeline_set_ahead;
 * NULL: not known).  0, or -1 with s->err. */
static RAVT_APPLY_ATTR int apply_batch(rav_state *s, const rav_event *evs, size_t n, ravt_pf_ahead *ah, const rav_event *next,
                       size_t nnext)
{
	ravt_model *const m = &s->m;
	ravt_pf_ahead none;
	bool seen = ah && ah->next == evs;
	if (!ah)
		ah = &none;
	for (size_t k = seen ? ah->far : 0; k < n && k < RAVT_PF_FAR; k++)
		ravt_prefetch_page(m, evs[k].a);
	for (size_t k = seen ? ah->near : 0; k < n && k < RAVT_PF_NEAR; k++)
		ravt_prefetch_cell(m, evs[k].a, true);
	ravt_pf_ahead_set(ah, next, nnext);
	/* (a seek copies every block it writes first from the keyframe: the
	 * cell prefetch asks for those whole; seek-cost on the 10M uniform
	 * trace, 5 interleaved runs of 30 random points each: CPU median
	 * 6.6-6.9 -> 6.2-6.5 ms, max 13.5-14.1 -> 12.2-13.1 ms) */
	for (size_t k = 0; k < n; k++) {
		ravt_prefetch_page(m, k + RAVT_PF_FAR < n ? evs[k + RAVT_PF_FAR].a : ah->a[k + RAVT_PF_FAR - n]);
		ravt_prefetch_cell(m, k + RAVT_PF_NEAR < n ? evs[k + RAVT_PF_NEAR].a : ah->a[k + RAVT_PF_NEAR - n],
		                   true);
		const rav_event *ev = &evs[k];
		ravt_touch tc;
		if (__builtin_expect(ravt_apply(m, ev, &tc) < 0, 0) ||
		    (__builtin_expect(ev->kind == RAV_EV_SNAPSHOT, 0) &&
		     ravt_model_install(m, ev, ravt_reader_piece(s->rd, ev->a), &tc) < 0)) {
			s->failed = true;
			s->err = m->err;
			return -1;
		}
		m->pos++;
	}
	return 0;
}

/* The worker's side of a two-thread replay: a sink that applies. */
typedef struct apply_sink {
	ravt_sink sink;
	rav_state *s;
	atomic_bool failed; /* the worker met an error: the decoder stops */
	ravt_pf_ahead ahead; /* the worker's: the next slot's first locations */
} apply_sink;

static void apply_begin(ravt_sink *sink, uint64_t from)
{
	(void)sink, (void)from;
}

static void apply_events_ahead(ravt_sink *sink, const rav_event *evs, size_t n, const rav_event *next,
                               size_t nnext)
{
	apply_sink *as = (apply_sink *)sink;
	if (!atomic_load_explicit(&as->failed, memory_order_relaxed) &&
	    apply_batch(as->s, evs, n, &as->ahead, next, nnext) < 0)
		atomic_store_explicit(&as->failed, true, memory_order_relaxed);
}

static void apply_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	apply_events_ahead(sink, evs, n, NULL, 0);
}

static void apply_end(ravt_sink *sink, uint64_t upto, bool final)
{
	(void)sink, (void)upto, (void)final;
}

static const ravt_sink_ops apply_ops = {.begin = apply_begin, .events = apply_events, .end = apply_end};

/* The cursor ended before `target` (a chunk that does not decode). */
static int cursor_ended(rav_state *s, uint64_t at, uint64_t target, rav_trace_error *err)
{
	if (s->cur.failed && err)
		*err = s->cur.error;
	else
		set_err(err, RAV_TRACE_EDECODE, "replay: the trace ended at event %llu, before event %llu",
		        (unsigned long long)at, (unsigned long long)target);
	ravt_cursor_fini(&s->cur);
	s->cur_ok = false;
	return -1;
}

/* Decode events up to `target` here and apply them on a worker.  1: the
 * worker could not start (nothing done); else as replay_to.  Until the
 * pipeline is freed (which waits for the worker) only the worker touches
 * the model, the block cache and s->failed / s->err. */
static int replay_two_threads(rav_state *s, uint64_t target, rav_trace_error *err)
{
	apply_sink as = {.sink.ops = &apply_ops, .s = s, .ahead.next = NULL};
	atomic_init(&as.failed, false);
	ravt_sink *sinks[1] = {&as.sink};
	ravt_pipeline *p = ravt_pipeline_new(sinks, 1);
	if (!p)
		return 1;
	ravt_pipeline_set_ahead(p, 0, apply_events_ahead);
	ravt_sink *ps = ravt_pipeline_sink(p);
	rav_event evs[SEEK_BATCH];
	uint64_t next = s->m.pos;
	bool ended = false;
	while (next < target && !atomic_load_explicit(&as.failed, memory_order_relaxed)) {
		uint64_t want = target - next;
		size_t n = 0, lim = want < SEEK_BATCH ? (size_t)want : SEEK_BATCH;
		while (n < lim && ravt_cursor_next(&s->cur, &evs[n])) {
			evs[n].index = next + n;
			n++;
		}
		if (n)
			ps->ops->events(ps, evs, n);
		next += n;
		if (n < lim) {
			ended = true;
			break;
		}
	}
	ravt_pipeline_free(p); /* waits until the worker has applied everything */
	if (s->failed) {
		if (err)
			*err = s->err;
		return -1;
	}
	return ended ? cursor_ended(s, next, target, err) : 0;
}

/* Apply events from the cursor until the model is at `target`.  A seek
 * spends its time here: in batches, so that the memory of the next events'
 * cells is asked for ahead (a program churning its whole heap touches a
 * random cell block per event). */
static int replay_to(rav_state *s, uint64_t target, rav_trace_error *err)
{
	if (!s->cur_ok) {
		ravt_cursor_init(&s->cur, s->rd, s->m.pos);
		s->cur_ok = true;
	}
	if (s->failed && s->m.pos < target) {
		if (err)
			*err = s->err;
		return -1;
	}
	if (target - s->m.pos >= SEEK_PIPE_MIN) {
		int rc = replay_two_threads(s, target, err);
		if (rc <= 0)
			return rc;
	}
	rav_event evs[SEEK_BATCH];
	ravt_model *const m = &s->m;
	while (m->pos < target) {
		uint64_t want = target - m->pos;
		size_t n = 0, lim = want < SEEK_BATCH ? (size_t)want : SEEK_BATCH;
		while (n < lim && ravt_cursor_next(&s->cur, &evs[n])) {
			evs[n].index = m->pos + n;
			n++;
		}
		if (apply_batch(s, evs, n, NULL, NULL, 0) < 0) {
			if (err)
				*err = s->err;
			return -1;
		}
		if (n < lim)
			return cursor_ended(s, m->pos, target, err);
	}
	return 0;
}

int rav_state_seek(rav_state *s, uint64_t index, rav_trace_error *err)
{
	if (!s->rp) {
		if (index == s->m.pos)
			return 0;
		set_err(err, RAV_TRACE_EREPLAY,
		        "replay: a detached state cannot seek (at event %llu, asked for %llu)",
		        (unsigned long long)s->m.pos, (unsigned long long)index);
		return -1;
	}
	s->replayed = 0;
	uint64_t avail = available(s);
	rav_trace_error ierr;
	bool failed = ravt_replay_error(s->rp, &ierr);
	if (failed && index > avail) {
		/* the index stopped at a replay error: report it */
		if (err)
			*err = ierr;
		return -1;
	}
	if (index > avail) {
		set_err(err, RAV_TRACE_EREPLAY, "replay: event %llu is past the %llu events indexed so far",
		        (unsigned long long)index, (unsigned long long)avail);
		return -1;
	}
	if (index == s->m.pos && !s->failed)
		return 0;
	s->epoch++;
	bool used;
	int k = ravt_replay_restore(s->rp, index, &s->m, s->failed, &used);
	bool ok = k >= 0;
	if (used || (k == 0 && (s->failed || s->m.pos > index))) {
		if (s->cur_ok)
			ravt_cursor_fini(&s->cur);
		s->cur_ok = false;
		s->failed = false;
		if (k == 0) {
			uint32_t ps = s->m.page_size, cs = s->m.cell_size;
			uint8_t ws = s->m.word_size;
			ravt_model_clear(&s->m);
			ravt_model_init(&s->m, ps, cs, ws, NULL);
			s->m.cache = &s->cache;
			ok = s->m.tkinds != NULL;
		}
	}
	if (!ok) {
		set_err(err, RAV_TRACE_ENOMEM,
		        "replay: out of memory restoring the keyframe before event %llu",
		        (unsigned long long)index);
		s->failed = true;
		if (err)
			s->err = *err;
		return -1;
	}
	s->replayed = index - s->m.pos;
	return replay_to(s, index, err);
}

uint64_t ravt_state_seek_replayed(const rav_state *s)
{
	return s->replayed;
}

bool rav_state_step(rav_state *s, rav_event *applied, rav_trace_error *err)
{
	if (!s->rp || s->failed)
		return false;
	if (s->m.pos >= available(s)) {
		/* at the end of what is indexed; if indexing stopped at a replay
		 * error, this is the event that did not fit: say so */
		ravt_replay_error(s->rp, err);
		return false;
	}
	if (!s->cur_ok) {
		ravt_cursor_init(&s->cur, s->rd, s->m.pos);
		s->cur_ok = true;
	}
	rav_event ev;
	if (!ravt_cursor_next(&s->cur, &ev)) {
		if (s->cur.failed && err)
			*err = s->cur.error;
		ravt_cursor_fini(&s->cur);
		s->cur_ok = false;
		return false;
	}
	if (ravt_state_apply(s, &ev, err) < 0)
		return false;
	if (applied)
		*applied = ev;
	return true;
}

uint64_t rav_state_position(const rav_state *s)
{
	return s->m.pos;
}

/* ---- what a state shows ------------------------------------------------------ */

unsigned rav_state_heap_count(const rav_state *s)
{
	return s->m.nheaps;
}

/* Heap i's page list as an array (the state is its caller's alone, so the
 * const function may fill its cache). */
static const uint32_t *heap_page_array(rav_state *s, unsigned i)
{
	const ravt_mheap *h = &s->m.heaps[i];
	if (i >= s->nhp) {
		uint32_t n = s->nhp ? s->nhp : 8;
		while (n <= i)
			n *= 2;
		heap_pages *hp = realloc(s->hp, sizeof *hp * n);
		if (!hp)
			return NULL;
		memset(hp + s->nhp, 0, sizeof *hp * (n - s->nhp));
		s->hp = hp;
		s->nhp = n;
	}
	heap_pages *c = &s->hp[i];
	if (c->epoch == s->epoch + 1 && c->changes == h->list_changes)
		return c->p;
	if (h->npages > c->cap) {
		uint32_t *p = realloc(c->p, sizeof *p * h->npages);
		if (!p)
			return NULL;
		c->p = p;
		uint8_t *k = realloc(c->k, h->npages);
		if (!k)
			return NULL;
		c->k = k;
		c->cap = h->npages;
	}
	/* The kinds come with the walk, which reads every page's block anyway;
	 * a page's kind is set before it joins a list (replay-apply.h,
	 * replay-install.c), so they stay right as long as the list does. */
	uint32_t n = 0;
	for (uint32_t pg = h->head; pg != RAVT_NO_PAGE && n < h->npages; n++) {
		c->p[n] = pg;
		const ravt_mpage *p = ravt_page_r(&s->m, pg);
		c->k[n] = p ? p->kind : 0;
		pg = p ? p->next : RAVT_NO_PAGE;
	}
	c->epoch = s->epoch + 1;
	c->changes = h->list_changes;
	return c->p;
}

bool rav_state_heap_at(const rav_state *s, unsigned i, rav_state_heap *out)
{
	if (i >= s->m.nheaps)
		return false;
	const ravt_mheap *h = &s->m.heaps[i];
	memset(out, 0, sizeof *out);
	out->id = h->id;
	out->kind = h->kind;
	out->alive = h->alive;
	out->in_flight = h->in_flight;
	out->page_count = h->npages;
	out->pages = h->npages ? heap_page_array((rav_state *)s, i) : NULL;
	if (h->npages && !out->pages)
		return false;
	out->page_kinds = h->npages ? s->hp[i].k : NULL;
	out->live_cells = h->live;
	out->ref_cells = h->refc;
	out->dead_cells = h->dead;
	return true;
}

uint32_t rav_state_page_span(const rav_state *s)
{
	return s->m.span;
}

bool rav_state_page(const rav_state *s, uint32_t page, struct rav_state_page *out)
{
	memset(out, 0, sizeof *out);
	out->index = page;
	const ravt_mpage *p = ravt_page_r(&s->m, page);
	if (!p)
		return page < s->m.span;
	out->kind = p->kind;
	out->owner = p->owner;
	out->fill = p->kind == RAV_SPAGE_POOL ? 0 : p->fill;
	out->live = p->live;
	out->dead = p->dead;
	return true;
}

uint32_t rav_state_pool_pages(const rav_state *s, uint32_t *out, uint32_t max)
{
	/* m.pool marks the pages released to the pool; the page's kind says
	 * so too (checked: only the few pool pages are looked at). */
	uint32_t n = 0;
	for (uint32_t pg = 0; pg < s->m.span; pg++) {
		if (!ravt_leaf_at(&s->m, pg)->pool) {
			pg |= RAVT_LEAF_PAGES - 1; /* (a leaf without pool pages) */
			continue;
		}
		if (!ravt_pool_at(&s->m, pg))
			continue;
		const ravt_mpage *p = ravt_page_r(&s->m, pg);
		if (!p || p->kind != RAV_SPAGE_POOL)
			continue;
		if (n < max)
			out[n] = pg;
		n++;
	}
	return n;
}

static bool live_cell(const ravt_model *m, rav_loc l, const uint64_t **words)
{
	if (l & RAV_LOC_EXTERNAL)
		return false;
	const ravt_mpage *p = ravt_page_r(m, rav_loc_page(l));
	uint32_t c = rav_loc_cell(l);
	if (!p || c >= m->cpp || ravt_cell_st(p, c) != RAV_CELL_LIVE)
		return false;
	*words = ravt_cell_words(p, c);
	return true;
}

/* Final target of a reference value (walks reference ravioli). */
static rav_loc final_target(const ravt_model *m, rav_loc v)
{
	v &= ~(rav_loc)3;
	for (unsigned i = 0; i < MAX_WALK && v; i++) {
		const uint64_t *w;
		if (!live_cell(m, v, &w) || RAVT_TYPE_ID(w[RAV_W_TYPE]) != RAV_TYPE_REF)
			return v;
		v = w[RAV_W_FWD] & ~(rav_loc)3;
	}
	return v;
}

/* Which payload fields of a type hold references (bit f: field f).  The
 * trace defines every type it uses (TYPE_DEF); the built-in layouts below
 * serve traces that lack a definition. */
static unsigned refmask(const ravt_model *m, uint16_t type)
{
	uint8_t k = ravt_type_kinds(m, type);
	if (k & 0x80u)
		return k & 3u;
	switch (type) {
	case RAV_TYPE_REF:
		return 1;
	case RAV_TYPE_VEC:   /* f1 tree */
	case RAV_TYPE_BYTES: /* f1 tree */
		return 2;
	case RAV_TYPE_VEC_NODE:
	case RAV_TYPE_VEC_RLEAF:
		return 3;
	default:
		return 0;
	}
}

static void cell_fill(const ravt_model *m, uint32_t page, uint32_t cell, const ravt_mpage *p,
                      rav_state_cell *out)
{
	memset(out, 0, sizeof *out);
	uint8_t st = ravt_cell_st(p, cell);
	out->state = st;
	if (st == RAV_CELL_HEADER) {
		out->type = RAV_TYPE_HEADER;
		out->scalar = (uint64_t)p->fill | ((uint64_t)p->ekind << RAV_HEADER_KIND_SHIFT);
		out->word[RAV_W_TYPE] = RAV_TYPE_HEADER | (out->scalar << RAV_SCALAR_SHIFT);
		/* the links of the owner's list (a page in the pool has none) */
		if (p->hidx) {
			if (p->next != RAVT_NO_PAGE)
				out->word[RAV_HEADER_W_NEXT] = rav_loc_make(p->next, 0, 0);
			if (p->prev != RAVT_NO_PAGE)
				out->word[RAV_HEADER_W_PREV] = rav_loc_make(p->prev, 0, 0);
		}
		out->word[RAV_HEADER_W_OWNER] = p->owner;
		return;
	}
	memcpy(out->word, ravt_cell_words(p, cell), sizeof out->word);
	if (st == RAV_CELL_EMPTY)
		return;
	out->type = st == RAV_CELL_DEAD ? RAV_TYPE_DEAD : RAVT_TYPE_ID(out->word[RAV_W_TYPE]);
	out->flags = out->word[RAV_W_TYPE] & RAV_FLAG_MASK;
	out->scalar = out->word[RAV_W_TYPE] >> RAV_SCALAR_SHIFT;
	if (st != RAV_CELL_LIVE)
		return;
	unsigned mask = refmask(m, RAVT_TYPE_ID(out->word[RAV_W_TYPE]));
	for (int f = 0; f < 2; f++)
		if ((mask & (1u << f)) && out->word[RAV_W_F0 + f])
			out->field_target[f] = final_target(m, out->word[RAV_W_F0 + f]);
}

bool rav_state_cell_at(const rav_state *s, uint32_t page, uint32_t cell, rav_state_cell *out)
{
	const ravt_mpage *p = ravt_page_r(&s->m, page);
	if (!p || cell >= s->m.cpp) {
		memset(out, 0, sizeof *out);
		return false;
	}
	cell_fill(&s->m, page, cell, p, out);
	return true;
}

bool rav_state_page_types(const rav_state *s, uint32_t page, uint16_t *types_out)
{
	const ravt_mpage *p = ravt_page_r(&s->m, page);
	uint32_t n = s->m.cpp;
	if (!p) {
		memset(types_out, 0, sizeof *types_out * n);
		return page < s->m.span;
	}
	/* by cell state: empty, live (its type), dead, header */
	static const uint16_t fixed[4] = {RAV_TYPE_EMPTY, RAV_TYPE_EMPTY, RAV_TYPE_DEAD, RAV_TYPE_HEADER};
	for (uint32_t c0 = 0; c0 < n; c0 += RAVT_CB_CELLS) {
		const ravt_cellblock *k = p->cb[c0 >> RAVT_CB_SHIFT];
		uint32_t m = n - c0 < RAVT_CB_CELLS ? n - c0 : RAVT_CB_CELLS;
		for (uint32_t i = 0; i < m; i++)
			types_out[c0 + i] =
			    k->st[i] == RAV_CELL_LIVE ? RAVT_TYPE_ID(k->w[i * 4]) : fixed[k->st[i] & 3];
	}
	return true;
}

/* Leaf slots referring to `cell` (through reference ravioli): the cell's
 * back-link, or a reference raviolo's two back-links followed up. */
unsigned rav_state_referrers(const rav_state *s, rav_loc cell, rav_loc *out, unsigned max)
{
	const ravt_model *m = &s->m;
	rav_loc stack[2 * MAX_WALK + 4];
	unsigned sp = 0, n = 0, steps = 0;
	const uint64_t *w;
	cell &= ~(rav_loc)3;
	if (!live_cell(m, cell, &w))
		return 0;
	if (RAVT_TYPE_ID(w[RAV_W_TYPE]) == RAV_TYPE_REF) {
		if (w[RAV_W_BACK1])
			stack[sp++] = w[RAV_W_BACK1];
		if (w[RAV_W_BACK2])
			stack[sp++] = w[RAV_W_BACK2];
	} else if (RAVT_TYPE_ID(w[RAV_W_TYPE]) != RAV_TYPE_ROOT && w[RAV_W_BACK]) {
		stack[sp++] = w[RAV_W_BACK];
	}
	while (sp && steps++ < 1u << 20) {
		rav_loc slot = stack[--sp];
		const uint64_t *sw;
		if (live_cell(m, slot & ~(rav_loc)3, &sw) && RAVT_TYPE_ID(sw[RAV_W_TYPE]) == RAV_TYPE_REF &&
		    rav_loc_word(slot) == RAV_W_FWD && sp + 2 <= sizeof stack / sizeof stack[0]) {
			if (sw[RAV_W_BACK1])
				stack[sp++] = sw[RAV_W_BACK1];
			if (sw[RAV_W_BACK2])
				stack[sp++] = sw[RAV_W_BACK2];
			continue;
		}
		if (n < max)
			out[n] = slot;
		n++;
	}
	return n;
}

void rav_state_get_totals(const rav_state *s, rav_state_totals *out)
{
	*out = s->m.tot;
}

/* ---- following a stream ------------------------------------------------------- */

int rav_state_seek_head(rav_state *s, rav_trace_error *err)
{
	if (!s->rp)
		return rav_state_seek(s, s->m.pos, err); /* the detached state's answer */
	uint64_t head = available(s);
	if (s->m.pos == head && !s->failed)
		return 0;
	s->replayed = 0;
	s->epoch++;
	if (s->cur_ok)
		ravt_cursor_fini(&s->cur);
	s->cur_ok = false;
	int k = ravt_replay_copy_live(s->rp, &s->m);
	if (k < 0) {
		set_err(err, RAV_TRACE_ENOMEM, "replay: out of memory copying the heap at event %llu",
		        (unsigned long long)head);
		s->failed = true;
		if (err)
			s->err = *err;
		return -1;
	}
	s->failed = false;
	/* indexing stopped at a replay error, or the reader merged less than
	 * replay applied: the ordinary seek says why or gets there */
	if (k == 0 || s->m.pos != head)
		return rav_state_seek(s, head, err);
	return 0;
}
