/* replay.c - heap state at any event: the replay model, keyframes, summary
 * series and cell histories.
 *
 * The engine records every write it makes to heap memory, so replay is
 * "apply events to a heap image".  The model keeps, per page in use, a small
 * block with the page's meta data (kind, owner, fill, live/dead counts) and
 * pointers to its chunks of 16 cells (words and cell states).  Blocks and
 * chunks are reference counted and copied on write: a keyframe is a copy of
 * the page pointer table plus small per-heap data, and costs memory only
 * for the chunks that change before the next one (about half a kilobyte per
 * touched chunk, not a whole page).  A rav_state seeks by restoring the
 * nearest keyframe at or before the target (pointer copies) and replaying
 * forward with the reader's cursor.
 *
 * Every event is validated against the model as it is applied (the cell an
 * ALLOC takes must be empty or a queued hole, a MOVE goes from a live cell into a hole, a
 * word write names the old value the slot really holds, pages change hands
 * only from their owner, ...).  A mismatch is a RAV_TRACE_EREPLAY error that
 * names the event index, the place and both values: replay never guesses.
 *
 * Page header cells are not replayed word by word (the engine keeps fill and
 * list links there without recording those writes); rav_state_cell_at
 * rebuilds them from the model: type word with fill | kind << 32 as scalar,
 * next page, previous page, owner heap id.
 */
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "replay-private.h"
#include "trace-private.h"

/* Helgrind does not model C11 atomics: the two words published with
 * release/acquire (t->replay and the indexed-event count) are described to
 * it when its header is around.  No cost outside Valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/helgrind.h>)
#include <valgrind/helgrind.h>
#define HG_BEFORE(a) ANNOTATE_HAPPENS_BEFORE(a)
#define HG_AFTER(a) ANNOTATE_HAPPENS_AFTER(a)
#define HG_ATOMIC(a) ANNOTATE_BENIGN_RACE_SIZED((a), sizeof *(a), "C11 atomic, release/acquire")
#endif
#endif
#ifndef HG_BEFORE
#define HG_BEFORE(a) ((void)0)
#define HG_AFTER(a) ((void)0)
#define HG_ATOMIC(a) ((void)0)
#endif

#define NO_PAGE UINT32_MAX
#define TYPE_ID(w) ((uint16_t)((w)&0xffffu))
#define T_HEADER 1u
#define T_REF 2u
#define T_ROOT 3u
#define T_DEAD 4u
#define MAX_TYPES 4096u
#define MAX_WALK 64u
#define MAX_PAGE_INDEX (1u << 24)

/* ---- page blocks -------------------------------------------------------- */

/* A chunk: the words and states of CH_CELLS consecutive cells.  Chunks are
 * the unit of copy-on-write, so a keyframe pays about half a kilobyte for
 * a page where one cell changed, not the whole page. */
#define CH_SHIFT 4u
#define CH_CELLS (1u << CH_SHIFT)

typedef struct rp_chunk {
	atomic_uint refs;
	uint8_t st[CH_CELLS]; /* rav_cell_state */
	uint64_t w[CH_CELLS * 4];
} rp_chunk;

typedef struct rp_page {
	atomic_uint refs;
	uint8_t kind;   /* rav_state_page_kind */
	uint8_t ekind;  /* engine page kind (rav_page_kind) as acquired */
	uint32_t owner; /* heap id */
	uint32_t hidx;  /* owner's index in the model's heap array + 1 (0: none); heaps are never removed */
	uint32_t fill, live, dead, refc;
	uint32_t rootc; /* root cells among the live (the engine does not count them as live) */
	rp_chunk *ch[]; /* ceil(cpp / CH_CELLS) */
} rp_page;

typedef struct rp_heap {
	uint32_t id;
	uint32_t parent;
	uint8_t kind;
	bool alive, in_flight;
	uint32_t npages, cap;
	uint32_t *pages; /* list order */
	uint64_t live, refc, dead;
	uint32_t anchor; /* arriving message pages go before this page (NO_PAGE: append) */
} rp_heap;

typedef struct rp_model {
	uint32_t cpp, page_size, cell_size;
	uint8_t word_size;
	uint32_t nch;       /* chunks per page */
	size_t block_size;  /* bytes of a page block (meta data and chunk pointers) */
	uint32_t span, cap; /* page table: 1 + highest page seen; capacity */
	rp_page **pages;
	uint8_t *pool; /* 1 if the page went back to the pool */
	rp_heap *heaps;
	uint32_t nheaps, heap_cap;
	uint32_t *hmap; /* open addressing: heap id -> index + 1 */
	uint32_t hmap_cap;
	uint8_t *tkinds; /* MAX_TYPES: bit0 f0 ref, bit1 f1 ref, bit7 defined */
	rav_state_totals tot;
	uint64_t pos;    /* index of the next event to apply */
	uint64_t copied; /* bytes copied on write (keyframe accounting) */
	rav_trace_error err;
} rp_model;

/* Shared all-empty chunks (a fresh page points at them until written);
 * their counts start so high that they are never freed. */
#define IMMORTAL (1u << 30)
static rp_chunk zero_chunk = {.refs = IMMORTAL};
static rp_chunk header_chunk = {.refs = IMMORTAL, .st = {RAV_CELL_HEADER}};

static inline void chunk_ref(rp_chunk *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

static inline void chunk_unref(rp_chunk *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		free(c);
}

/* Read access to cell c of a page. */
static inline uint8_t cst(const rp_page *p, uint32_t c)
{
	return p->ch[c >> CH_SHIFT]->st[c & (CH_CELLS - 1)];
}

static inline const uint64_t *cw(const rp_page *p, uint32_t c)
{
	return p->ch[c >> CH_SHIFT]->w + (size_t)(c & (CH_CELLS - 1)) * 4;
}

/* Point every chunk of p at the shared empty chunks (cell 0 a header). */
static void page_clear_cells(const rp_model *m, rp_page *p)
{
	for (uint32_t i = 0; i < m->nch; i++) {
		rp_chunk *z = i == 0 ? &header_chunk : &zero_chunk;
		if (p->ch[i] == z)
			continue;
		chunk_unref(p->ch[i]);
		chunk_ref(z);
		p->ch[i] = z;
	}
}

static rp_page *page_new(const rp_model *m)
{
	rp_page *p = calloc(1, m->block_size);
	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	page_clear_cells(m, p);
	return p;
}

static void page_unref_n(rp_page *p, uint32_t nch)
{
	if (p && atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
		for (uint32_t i = 0; i < nch; i++)
			chunk_unref(p->ch[i]);
		free(p);
	}
}
#define page_unref(m, p) page_unref_n((p), (m)->nch)

static void page_ref(rp_page *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

/* ---- model basics ------------------------------------------------------- */

static int fail(rp_model *m, const rav_event *ev, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(rp_model *m, const rav_event *ev, const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	m->err.code = RAV_TRACE_EREPLAY;
	m->err.offset = 0;
	m->err.chunk = -1;
	snprintf(m->err.message, sizeof m->err.message, "replay: event %llu (%s, thread %u): %s",
	         (unsigned long long)ev->index, rav_event_kind_name(ev->kind), ev->thread, what);
	return -1;
}

static void model_init(rp_model *m, uint32_t page_size, uint32_t cell_size, uint8_t word_size)
{
	memset(m, 0, sizeof *m);
	m->page_size = page_size;
	m->cell_size = cell_size ? cell_size : 32;
	m->word_size = word_size ? word_size : 8;
	m->cpp = page_size / m->cell_size;
	m->nch = (m->cpp + CH_CELLS - 1) / CH_CELLS;
	m->block_size = sizeof(rp_page) + (size_t)m->nch * sizeof(rp_chunk *);
	m->tkinds = calloc(MAX_TYPES, 1);
}

static void model_clear(rp_model *m)
{
	for (uint32_t i = 0; i < m->span; i++)
		page_unref(m, m->pages[i]);
	for (uint32_t i = 0; i < m->nheaps; i++)
		free(m->heaps[i].pages);
	free(m->pages);
	free(m->pool);
	free(m->heaps);
	free(m->hmap);
	free(m->tkinds);
	m->pages = NULL;
	m->pool = NULL;
	m->heaps = NULL;
	m->hmap = NULL;
	m->tkinds = NULL;
	m->span = m->cap = m->nheaps = m->heap_cap = m->hmap_cap = 0;
}

/* Copy src into dst (dst cleared first), sharing page blocks. */
static bool model_copy(rp_model *dst, const rp_model *src)
{
	model_clear(dst);
	*dst = *src;
	dst->pages = NULL;
	dst->pool = NULL;
	dst->heaps = NULL;
	dst->hmap = NULL;
	dst->tkinds = malloc(MAX_TYPES);
	dst->cap = src->span;
	dst->heap_cap = src->nheaps;
	if (src->span) {
		dst->pages = malloc(sizeof *dst->pages * src->span);
		dst->pool = malloc(src->span);
	}
	if (src->nheaps)
		dst->heaps = malloc(sizeof *dst->heaps * src->nheaps);
	if (src->hmap_cap)
		dst->hmap = malloc(sizeof *dst->hmap * src->hmap_cap);
	if (!dst->tkinds || (src->span && (!dst->pages || !dst->pool)) || (src->nheaps && !dst->heaps) ||
	    (src->hmap_cap && !dst->hmap)) {
		free(dst->pages);
		free(dst->pool);
		free(dst->heaps);
		free(dst->hmap);
		free(dst->tkinds);
		memset(dst, 0, sizeof *dst);
		return false;
	}
	memcpy(dst->tkinds, src->tkinds, MAX_TYPES);
	if (src->span) {
		memcpy(dst->pages, src->pages, sizeof *dst->pages * src->span);
		memcpy(dst->pool, src->pool, src->span);
		for (uint32_t i = 0; i < src->span; i++)
			page_ref(src->pages[i]);
	}
	if (src->hmap_cap)
		memcpy(dst->hmap, src->hmap, sizeof *dst->hmap * src->hmap_cap);
	bool ok = true;
	for (uint32_t i = 0; i < src->nheaps; i++) {
		dst->heaps[i] = src->heaps[i];
		dst->heaps[i].pages = NULL;
		dst->heaps[i].cap = src->heaps[i].npages;
		if (src->heaps[i].npages) {
			dst->heaps[i].pages = malloc(sizeof(uint32_t) * src->heaps[i].npages);
			if (!dst->heaps[i].pages) {
				dst->heaps[i].npages = dst->heaps[i].cap = 0;
				ok = false;
				continue;
			}
			memcpy(dst->heaps[i].pages, src->heaps[i].pages,
			       sizeof(uint32_t) * src->heaps[i].npages);
		}
	}
	return ok;
}

static bool ensure_span(rp_model *m, uint32_t page)
{
	if (page < m->span)
		return true;
	if (page >= m->cap) {
		uint32_t ncap = m->cap ? m->cap : 64;
		while (ncap <= page)
			ncap *= 2;
		rp_page **np = realloc(m->pages, sizeof *np * ncap);
		if (!np)
			return false;
		m->pages = np;
		uint8_t *pool = realloc(m->pool, ncap);
		if (!pool)
			return false;
		m->pool = pool;
		m->cap = ncap;
	}
	for (uint32_t i = m->span; i <= page; i++) {
		m->pages[i] = NULL;
		m->pool[i] = 0;
	}
	m->span = page + 1;
	return true;
}

/* Writable block of page `page` (copied first if shared). */
static rp_page *page_w_copy(rp_model *m, uint32_t page);
static inline rp_page *page_w(rp_model *m, uint32_t page)
{
	rp_page *p = m->pages[page];
	if (__builtin_expect(!p || atomic_load_explicit(&p->refs, memory_order_acquire) == 1, 1))
		return p;
	return page_w_copy(m, page);
}

static rp_page *page_w_copy(rp_model *m, uint32_t page)
{
	rp_page *p = m->pages[page];
	rp_page *q = malloc(m->block_size);
	if (!q)
		return NULL;
	/* everything but the reference count, which other threads may be
	 * changing (a seek copying a keyframe that shares this block) */
	size_t skip = offsetof(rp_page, kind);
	memcpy((char *)q + skip, (const char *)p + skip, m->block_size - skip);
	atomic_init(&q->refs, 1);
	for (uint32_t i = 0; i < m->nch; i++)
		chunk_ref(q->ch[i]);
	page_unref(m, p);
	m->pages[page] = q;
	m->copied += m->block_size;
	return q;
}

/* Writable chunk holding cell c of the writable page p (copied if shared). */
static rp_chunk *chunk_w_copy(rp_model *m, rp_page *p, uint32_t c);
static inline rp_chunk *chunk_w(rp_model *m, rp_page *p, uint32_t c)
{
	rp_chunk *k = p->ch[c >> CH_SHIFT];
	if (__builtin_expect(atomic_load_explicit(&k->refs, memory_order_acquire) == 1, 1))
		return k;
	return chunk_w_copy(m, p, c);
}

static rp_chunk *chunk_w_copy(rp_model *m, rp_page *p, uint32_t c)
{
	rp_chunk **slot = &p->ch[c >> CH_SHIFT], *k = *slot;
	rp_chunk *q = malloc(sizeof *q);
	if (!q)
		return NULL;
	memcpy(q->st, k->st, sizeof q->st);
	memcpy(q->w, k->w, sizeof q->w);
	atomic_init(&q->refs, 1);
	chunk_unref(k);
	*slot = q;
	m->copied += sizeof *q;
	return q;
}
#define CI(c) ((c) & (CH_CELLS - 1))

static inline uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static rp_heap *heap_find(const rp_model *m, uint32_t id)
{
	if (!m->hmap_cap)
		return NULL;
	uint32_t mask = m->hmap_cap - 1;
	for (uint32_t i = hash32(id) & mask;; i = (i + 1) & mask) {
		uint32_t v = m->hmap[i];
		if (!v)
			return NULL;
		if (m->heaps[v - 1].id == id)
			return &m->heaps[v - 1];
	}
}

static rp_heap *heap_get(rp_model *m, uint32_t id, uint8_t kind)
{
	rp_heap *h = heap_find(m, id);
	if (h)
		return h;
	if (m->nheaps == m->heap_cap) {
		uint32_t ncap = m->heap_cap ? m->heap_cap * 2 : 16;
		rp_heap *nh = realloc(m->heaps, sizeof *nh * ncap);
		if (!nh)
			return NULL;
		m->heaps = nh;
		m->heap_cap = ncap;
	}
	if ((m->nheaps + 1) * 2 > m->hmap_cap) {
		uint32_t ncap = m->hmap_cap ? m->hmap_cap * 2 : 32;
		uint32_t *nm = calloc(ncap, sizeof *nm);
		if (!nm)
			return NULL;
		for (uint32_t k = 0; k < m->nheaps; k++) {
			uint32_t i = hash32(m->heaps[k].id) & (ncap - 1);
			while (nm[i])
				i = (i + 1) & (ncap - 1);
			nm[i] = k + 1;
		}
		free(m->hmap);
		m->hmap = nm;
		m->hmap_cap = ncap;
	}
	h = &m->heaps[m->nheaps];
	memset(h, 0, sizeof *h);
	h->id = id;
	h->kind = kind;
	h->alive = true;
	h->anchor = NO_PAGE;
	uint32_t i = hash32(id) & (m->hmap_cap - 1);
	while (m->hmap[i])
		i = (i + 1) & (m->hmap_cap - 1);
	m->hmap[i] = ++m->nheaps;
	return h;
}

static bool heap_append(rp_heap *h, uint32_t page)
{
	if (h->npages == h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 8;
		uint32_t *np = realloc(h->pages, sizeof *np * ncap);
		if (!np)
			return false;
		h->pages = np;
		h->cap = ncap;
	}
	h->pages[h->npages++] = page;
	return true;
}

static void heap_remove(rp_heap *h, uint32_t page)
{
	for (uint32_t i = h->npages; i-- > 0;) {
		if (h->pages[i] == page) {
			memmove(h->pages + i, h->pages + i + 1, sizeof *h->pages * (h->npages - i - 1));
			h->npages--;
			return;
		}
	}
}

/* ---- applying events ---------------------------------------------------- */

static const rp_page *page_r(const rp_model *m, uint32_t page)
{
	return page < m->span ? m->pages[page] : NULL;
}

/* Hook for the series: which heap's numbers changed (set by apply). */
typedef struct rp_touch {
	rp_heap *h[2];
} rp_touch;

static const char *state_name(uint8_t st)
{
	static const char *n[] = {"empty", "live", "dead", "a page header"};
	return st < 4 ? n[st] : "?";
}

static void fmt_loc(char *buf, size_t len, rav_loc l)
{
	if (l & RAV_LOC_EXTERNAL)
		snprintf(buf, len, "external 0x%llx", (unsigned long long)(l & ~RAV_LOC_EXTERNAL));
	else
		snprintf(buf, len, "page %u cell %u word %u", rav_loc_page(l), rav_loc_cell(l),
		         rav_loc_word(l));
}

/* Resolve a cell location to its page block (which must be in use). */
static inline rp_page *cell_page(rp_model *m, const rav_event *ev, rav_loc l, const char *what,
                                 bool allow_pool)
{
	uint32_t pg = rav_loc_page(l), c = rav_loc_cell(l);
	rp_page *p = pg < m->span && !(l & RAV_LOC_EXTERNAL) ? m->pages[pg] : NULL;
	if (__builtin_expect(p && c < m->cpp && (allow_pool || p->kind != RAV_SPAGE_POOL), 1))
		return p;
	char b[80];
	fmt_loc(b, sizeof b, l);
	if (l & RAV_LOC_EXTERNAL)
		fail(m, ev, "%s is %s, outside the ravioli pool", what, b);
	else if (c >= m->cpp)
		fail(m, ev, "%s (%s) is past the last cell of a page (%u cells per page)", what, b, m->cpp);
	else
		fail(m, ev, "%s (%s) is in page %u, which no heap owns (%s)", what, b, pg,
		     p ? "released to the pool" : "never acquired");
	return NULL;
}

static rp_heap *owner_of(rp_model *m, const rp_page *p)
{
	return p->hidx ? &m->heaps[p->hidx - 1] : NULL;
}

static void fill_shrink(rp_model *m, rp_page *p)
{
	while (p->fill > 1 && cst(p, p->fill - 1) == RAV_CELL_EMPTY)
		p->fill--;
}

/* Cell counters of page p (owned by heap h, may be NULL) change by dl live
 * cells (dr0 of them root cells), dd dead and dr reference ravioli.  Pages
 * count every live cell; heaps and totals leave root cells out, as the
 * engine's rav_stats do. */
static void count(rp_model *m, rp_page *p, rp_heap *h, int dl, int dd, int dr, int dr0)
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

static uint8_t spage_kind(uint32_t engine_kind)
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

static inline __attribute__((always_inline)) int apply_word(rp_model *m, const rav_event *ev, rp_touch *tc,
                                                            uint64_t oldv, uint64_t newv, bool check_old)
{
	rp_page *p = cell_page(m, ev, ev->a, "the slot written", false);
	if (!p)
		return -1;
	uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a), w = rav_loc_word(ev->a);
	uint8_t st = cst(p, c);
	if (st == RAV_CELL_HEADER)
		return 0; /* header words are rebuilt from the model, see the top comment */
	if (st == RAV_CELL_EMPTY)
		return fail(m, ev, "writes word %u of page %u cell %u, which is empty (above the heap top)",
		            w, pg, c);
	uint64_t cur = cw(p, c)[w];
	if (check_old && st == RAV_CELL_LIVE && cur != oldv)
		return fail(m, ev,
		            "page %u cell %u word %u holds 0x%llx but the event says its old value is 0x%llx",
		            pg, c, w, (unsigned long long)cur, (unsigned long long)oldv);
	rp_chunk *k;
	if (!(p = page_w(m, pg)) || !(k = chunk_w(m, p, c)))
		return fail(m, ev, "out of memory");
	k->w[CI(c) * 4 + w] = newv;
	if (w == 0 && st == RAV_CELL_LIVE) {
		int was = TYPE_ID(cur) == T_REF, is = TYPE_ID(newv) == T_REF;
		int wasr = TYPE_ID(cur) == T_ROOT, isr = TYPE_ID(newv) == T_ROOT;
		if (was != is || wasr != isr) {
			rp_heap *h = owner_of(m, p);
			count(m, p, h, 0, 0, is - was, isr - wasr);
			tc->h[0] = h;
		}
	}
	return 0;
}

/* Always inlined into the indexing loop (the hottest caller: no call and
 * register save per event); apply() below is the out-of-line copy. */
static inline __attribute__((always_inline)) int apply_inl(rp_model *m, const rav_event *ev, rp_touch *tc)
{
	uint64_t newv;
	tc->h[0] = tc->h[1] = NULL;
	switch (ev->kind) {
	case RAV_EV_THREAD_START: {
		rp_heap *h = heap_get(m, ev->x, RAV_HEAP_THREAD);
		if (!h)
			return fail(m, ev, "out of memory");
		h->alive = true;
		break;
	}
	case RAV_EV_HEAP_NEW: {
		rp_heap *h = heap_get(m, ev->x, (uint8_t)ev->aux);
		if (!h)
			return fail(m, ev, "out of memory");
		h->kind = (uint8_t)ev->aux;
		h->parent = (uint32_t)ev->a;
		h->alive = true;
		h->in_flight = false;
		break;
	}
	case RAV_EV_HEAP_END: {
		rp_heap *h = heap_find(m, ev->x);
		if (h) {
			h->alive = false;
			h->in_flight = false;
		}
		break;
	}
	case RAV_EV_TYPE_DEF:
		if (ev->aux < MAX_TYPES)
			m->tkinds[ev->aux] = (uint8_t)(0x80u | (ev->x & 3u));
		break;
	case RAV_EV_MSG_SEND: {
		rp_heap *h = heap_get(m, ev->x, RAV_HEAP_MESSAGE);
		if (!h)
			return fail(m, ev, "out of memory");
		if (h->in_flight)
			return fail(m, ev, "message heap %u is sent twice", ev->x);
		h->in_flight = true;
		break;
	}
	case RAV_EV_MSG_RECV: {
		rp_heap *h = heap_find(m, ev->x);
		if (h)
			h->in_flight = false;
		/* The engine links arriving pages in before the receiver's trailing
		 * empty page (its spare, or an empty top page), else at the end. */
		rp_heap *r = heap_find(m, (uint32_t)ev->b);
		if (r) {
			r->anchor = NO_PAGE;
			for (uint32_t i = r->npages; i-- > 0;) {
				const rp_page *p = page_r(m, r->pages[i]);
				if (!p || p->kind == RAV_SPAGE_ROOT)
					continue;
				if (p->fill <= 1 && p->live == 0 && p->dead == 0)
					r->anchor = r->pages[i];
				break;
			}
		}
		break;
	}
	case RAV_EV_PAGE_ACQUIRE: {
		if (ev->a & RAV_LOC_EXTERNAL)
			return fail(m, ev, "the page acquired is outside the ravioli pool (0x%llx)",
			            (unsigned long long)(ev->a & ~RAV_LOC_EXTERNAL));
		uint32_t pg = rav_loc_page(ev->a);
		/* the page table is sized by the highest page: a damaged index must
		 * not make it huge (the engine's pool stays far below this) */
		if (pg >= MAX_PAGE_INDEX)
			return fail(m, ev,
			            "page index %u is beyond the largest pool replay accepts (%u pages)", pg,
			            MAX_PAGE_INDEX);
		if (!ensure_span(m, pg))
			return fail(m, ev, "out of memory");
		rp_page *p = m->pages[pg];
		if (p && p->kind != RAV_SPAGE_POOL)
			return fail(m, ev, "heap %u acquires page %u, which heap %u already owns", ev->x, pg,
			            p->owner);
		rp_heap *h = heap_get(m, ev->x, RAV_HEAP_THREAD);
		if (!h)
			return fail(m, ev, "out of memory");
		if (p) {
			if (!(p = page_w(m, pg)))
				return fail(m, ev, "out of memory");
		} else {
			if (!(p = page_new(m)))
				return fail(m, ev, "out of memory");
			m->pages[pg] = p;
		}
		if (m->pool[pg]) {
			m->pool[pg] = 0;
			m->tot.pool_pages--;
		}
		p->kind = spage_kind(ev->aux);
		p->ekind = (uint8_t)ev->aux;
		p->owner = ev->x;
		p->hidx = (uint32_t)(h - m->heaps) + 1;
		p->fill = 1;
		p->live = p->dead = p->refc = p->rootc = 0;
		page_clear_cells(m, p);
		if (!heap_append(h, pg))
			return fail(m, ev, "out of memory");
		h->anchor = NO_PAGE;
		m->tot.pages++;
		tc->h[0] = h;
		break;
	}
	case RAV_EV_PAGE_RELEASE: {
		uint32_t pg = rav_loc_page(ev->a);
		rp_page *p = (ev->a & RAV_LOC_EXTERNAL) ? NULL : (rp_page *)page_r(m, pg);
		if (!p || p->kind == RAV_SPAGE_POOL)
			return fail(m, ev, "heap %u releases page %u, which no heap owns", ev->x, pg);
		if (p->owner != ev->x)
			return fail(m, ev, "heap %u releases page %u, which heap %u owns", ev->x, pg,
			            p->owner);
		rp_heap *h = heap_find(m, ev->x);
		if (!(p = page_w(m, pg)))
			return fail(m, ev, "out of memory");
		count(m, p, h, -(int)p->live, -(int)p->dead, -(int)p->refc, -(int)p->rootc);
		if (h) {
			heap_remove(h, pg);
			if (h->anchor == pg)
				h->anchor = NO_PAGE;
		}
		p->kind = RAV_SPAGE_POOL;
		p->owner = 0;
		p->hidx = 0;
		p->fill = 1;
		page_clear_cells(m, p);
		m->pool[pg] = 1;
		m->tot.pool_pages++;
		m->tot.pages--;
		tc->h[0] = h;
		break;
	}
	case RAV_EV_PAGE_HANDOFF: {
		uint32_t pg = rav_loc_page(ev->a);
		rp_page *p = (ev->a & RAV_LOC_EXTERNAL) ? NULL : (rp_page *)page_r(m, pg);
		if (!p || p->kind == RAV_SPAGE_POOL)
			return fail(m, ev, "page %u is handed from heap %llu to heap %u but no heap owns it",
			            pg, (unsigned long long)ev->b, ev->x);
		if (p->owner != ev->b)
			return fail(m, ev, "page %u is handed from heap %llu to heap %u but heap %u owns it",
			            pg, (unsigned long long)ev->b, ev->x, p->owner);
		rp_heap *from = heap_find(m, p->owner);
		rp_heap *to = heap_get(m, ev->x, RAV_HEAP_THREAD);
		from = heap_find(m, p->owner); /* heap_get may have moved the array */
		if (!to || !(p = page_w(m, pg)))
			return fail(m, ev, "out of memory");
		if (from) {
			heap_remove(from, pg);
			from->live -= p->live - p->rootc;
			from->dead -= p->dead;
			from->refc -= p->refc;
		}
		to->live += p->live - p->rootc;
		to->dead += p->dead;
		to->refc += p->refc;
		if (!heap_append(to, pg))
			return fail(m, ev, "out of memory");
		if (to->anchor != NO_PAGE) {
			/* move it from the end to just before the anchor */
			for (uint32_t i = 0; i + 1 < to->npages; i++) {
				if (to->pages[i] != to->anchor)
					continue;
				memmove(to->pages + i + 1, to->pages + i,
				        sizeof *to->pages * (to->npages - 1 - i));
				to->pages[i] = pg;
				break;
			}
		}
		p->owner = ev->x;
		p->hidx = (uint32_t)(to - m->heaps) + 1;
		if (p->kind != RAV_SPAGE_ROOT) {
			p->kind = to->kind == RAV_HEAP_MESSAGE ? RAV_SPAGE_BUFFER : RAV_SPAGE_HEAP;
			p->ekind = to->kind == RAV_HEAP_MESSAGE ? RAV_PAGE_BUFFER : RAV_PAGE_HEAP;
		}
		m->tot.handoffs++;
		tc->h[0] = from;
		tc->h[1] = to;
		break;
	}
	case RAV_EV_ALLOC: {
		rp_page *p = cell_page(m, ev, ev->a, "the allocated cell", false);
		if (!p)
			return -1;
		uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a);
		uint8_t st = cst(p, c);
		/* the top cell, or a queued hole the engine reuses */
		if (st != RAV_CELL_EMPTY && st != RAV_CELL_DEAD)
			return fail(m, ev, "allocates page %u cell %u, which is %s", pg, c, state_name(st));
		rp_chunk *k;
		if (!(p = page_w(m, pg)) || !(k = chunk_w(m, p, c)))
			return fail(m, ev, "out of memory");
		uint64_t *w = k->w + CI(c) * 4;
		w[0] = ev->aux;
		w[1] = w[2] = w[3] = 0;
		k->st[CI(c)] = RAV_CELL_LIVE;
		if (c + 1 > p->fill)
			p->fill = c + 1;
		rp_heap *h = owner_of(m, p);
		count(m, p, h, 1, st == RAV_CELL_DEAD ? -1 : 0, TYPE_ID(ev->aux) == T_REF,
		      TYPE_ID(ev->aux) == T_ROOT);
		m->tot.allocs++;
		tc->h[0] = h;
		break;
	}
	case RAV_EV_FREE: {
		rp_page *p = cell_page(m, ev, ev->a, "the freed cell", false);
		if (!p)
			return -1;
		uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a);
		uint8_t st = cst(p, c);
		/* a live cell dies, or (arrival of a message) an empty cell below
		 * the new top becomes a hole to fill */
		if (st != RAV_CELL_LIVE && st != RAV_CELL_EMPTY)
			return fail(m, ev, "frees page %u cell %u, which is %s", pg, c, state_name(st));
		rp_chunk *k;
		if (!(p = page_w(m, pg)) || !(k = chunk_w(m, p, c)))
			return fail(m, ev, "out of memory");
		uint64_t *w = k->w + CI(c) * 4;
		rp_heap *h = owner_of(m, p);
		if (st == RAV_CELL_LIVE) {
			count(m, p, h, -1, 1, -(int)(TYPE_ID(w[0]) == T_REF),
			      -(int)(TYPE_ID(w[0]) == T_ROOT));
			m->tot.frees++;
		} else {
			count(m, p, h, 0, 1, 0, 0);
			w[1] = w[2] = w[3] = 0;
			if (c + 1 > p->fill)
				p->fill = c + 1;
		}
		/* the engine's dead cells carry the DEAD type; their other words
		 * (hole-list links) are not recorded and are unspecified here */
		w[0] = T_DEAD;
		k->st[CI(c)] = RAV_CELL_DEAD;
		tc->h[0] = h;
		break;
	}
	case RAV_EV_MOVE: {
		rp_page *pf = cell_page(m, ev, ev->a, "the cell moved", false);
		if (!pf)
			return -1;
		rp_page *pt = cell_page(m, ev, ev->b, "the destination of the move", false);
		if (!pt)
			return -1;
		uint32_t fpg = rav_loc_page(ev->a), fc = rav_loc_cell(ev->a);
		uint32_t tpg = rav_loc_page(ev->b), tcell = rav_loc_cell(ev->b);
		uint8_t fst = cst(pf, fc), tst = cst(pt, tcell);
		if (fst != RAV_CELL_LIVE)
			return fail(m, ev, "moves page %u cell %u, which is %s", fpg, fc, state_name(fst));
		if (tst != RAV_CELL_DEAD && tst != RAV_CELL_EMPTY)
			return fail(m, ev,
			            "moves page %u cell %u into page %u cell %u, which is %s (not a hole)",
			            fpg, fc, tpg, tcell, state_name(tst));
		if (fpg == tpg && fc == tcell)
			return fail(m, ev, "moves page %u cell %u onto itself", fpg, fc);
		/* (the two cells may share a page, even a chunk: the second
		 * page_w / chunk_w then finds the first one's private copy) */
		rp_chunk *kt, *kf;
		if (!(pf = page_w(m, fpg)) || !(pt = page_w(m, tpg)) || !(kt = chunk_w(m, pt, tcell)) ||
		    !(kf = chunk_w(m, pf, fc)))
			return fail(m, ev, "out of memory");
		uint64_t *src = kf->w + CI(fc) * 4, *dst = kt->w + CI(tcell) * 4;
		memcpy(dst, src, 4 * sizeof(uint64_t));
		memset(src, 0, 4 * sizeof(uint64_t));
		int isref = TYPE_ID(dst[0]) == T_REF, isroot = TYPE_ID(dst[0]) == T_ROOT;
		rp_heap *hf = owner_of(m, pf), *ht = owner_of(m, pt);
		kt->st[CI(tcell)] = RAV_CELL_LIVE;
		kf->st[CI(fc)] = RAV_CELL_EMPTY;
		count(m, pt, ht, 1, tst == RAV_CELL_DEAD ? -1 : 0, isref, isroot);
		count(m, pf, hf, -1, 0, -isref, -isroot);
		if (tcell + 1 > pt->fill)
			pt->fill = tcell + 1;
		fill_shrink(m, pf);
		m->tot.moves++;
		tc->h[0] = hf;
		tc->h[1] = ht;
		break;
	}
	case RAV_EV_TRIM: {
		rp_page *p = cell_page(m, ev, ev->a, "the trimmed cell", false);
		if (!p)
			return -1;
		uint32_t pg = rav_loc_page(ev->a), c = rav_loc_cell(ev->a);
		uint8_t st = cst(p, c);
		if (st != RAV_CELL_DEAD)
			return fail(m, ev, "trims page %u cell %u, which is %s (not dead)", pg, c,
			            state_name(st));
		rp_chunk *k;
		if (!(p = page_w(m, pg)) || !(k = chunk_w(m, p, c)))
			return fail(m, ev, "out of memory");
		k->st[CI(c)] = RAV_CELL_EMPTY;
		memset(k->w + CI(c) * 4, 0, 4 * sizeof(uint64_t));
		rp_heap *h = owner_of(m, p);
		count(m, p, h, 0, -1, 0, 0);
		fill_shrink(m, p);
		tc->h[0] = h;
		break;
	}
	/* the word writes share one (inlined) copy of apply_word */
	case RAV_EV_FIXUP:
		m->tot.fixups++;
		newv = ev->c;
		goto word;
	case RAV_EV_REF_STORE:
	case RAV_EV_DATA_STORE:
	case RAV_EV_LINK:
		newv = ev->c;
		goto word;
	case RAV_EV_REF_CLEAR:
		newv = 0;
		goto word;
	case RAV_EV_TYPE_WORD: {
		if (rav_loc_word(ev->a) != 0)
			return fail(m, ev, "type word event names word %u, not word 0", rav_loc_word(ev->a));
		newv = ev->c;
		goto word;
	}
	case RAV_EV_ROOT_NEW:
	case RAV_EV_ROOT_FREE: {
		rp_page *p = cell_page(m, ev, ev->a, "the root slot", false);
		if (!p)
			return -1;
		uint8_t st = cst(p, rav_loc_cell(ev->a));
		if (st != RAV_CELL_LIVE)
			return fail(m, ev, "root slot page %u cell %u word %u is in a cell that is %s",
			            rav_loc_page(ev->a), rav_loc_cell(ev->a), rav_loc_word(ev->a),
			            state_name(st));
		break;
	}
	default:
		break;
	}
	return 0;
word:
	return apply_word(m, ev, tc, ev->b, newv, true);
}

static int apply(rp_model *m, const rav_event *ev, rp_touch *tc)
{
	return apply_inl(m, ev, tc);
}

/* ---- queries on a model ------------------------------------------------- */

static bool live_cell(const rp_model *m, rav_loc l, const uint64_t **words)
{
	if (l & RAV_LOC_EXTERNAL)
		return false;
	const rp_page *p = page_r(m, rav_loc_page(l));
	uint32_t c = rav_loc_cell(l);
	if (!p || c >= m->cpp || cst(p, c) != RAV_CELL_LIVE)
		return false;
	*words = cw(p, c);
	return true;
}

/* Final target of a reference value (walks reference ravioli). */
static rav_loc final_target(const rp_model *m, rav_loc v)
{
	v &= ~(rav_loc)3;
	for (unsigned i = 0; i < MAX_WALK && v; i++) {
		const uint64_t *w;
		if (!live_cell(m, v, &w) || TYPE_ID(w[0]) != T_REF)
			return v;
		v = w[1] & ~(rav_loc)3;
	}
	return v;
}

static unsigned refmask(const rp_model *m, uint16_t type)
{
	if (type < MAX_TYPES && (m->tkinds[type] & 0x80u))
		return m->tkinds[type] & 3u;
	switch (type) {
	case T_REF:
		return 1;
	case 5: /* vector header: f1 tree */
	case 9: /* bytes header: f1 tree */
		return 2;
	case 6: /* vector node */
	case 8: /* vector leaf of references */
		return 3;
	default:
		return 0;
	}
}

static void cell_fill(const rp_model *m, uint32_t page, uint32_t cell, const rp_page *p, rav_state_cell *out)
{
	memset(out, 0, sizeof *out);
	uint8_t st = cst(p, cell);
	out->state = st;
	if (st == RAV_CELL_HEADER) {
		/* rebuilt: fill | kind << 32 as scalar, next, previous, owner */
		out->type = T_HEADER;
		out->scalar = (uint64_t)p->fill | ((uint64_t)p->ekind << 32);
		out->word[0] = T_HEADER | (out->scalar << 24);
		const rp_heap *h = p->owner ? heap_find(m, p->owner) : NULL;
		if (h) {
			for (uint32_t i = 0; i < h->npages; i++) {
				if (h->pages[i] != page)
					continue;
				if (i + 1 < h->npages)
					out->word[1] = rav_loc_make(h->pages[i + 1], 0, 0);
				if (i > 0)
					out->word[2] = rav_loc_make(h->pages[i - 1], 0, 0);
				break;
			}
		}
		out->word[3] = p->owner;
		return;
	}
	memcpy(out->word, cw(p, cell), sizeof out->word);
	if (st == RAV_CELL_EMPTY)
		return;
	out->type = st == RAV_CELL_DEAD ? T_DEAD : TYPE_ID(out->word[0]);
	out->flags = out->word[0] & 0xff0000u;
	out->scalar = out->word[0] >> 24;
	if (st != RAV_CELL_LIVE)
		return;
	unsigned mask = refmask(m, TYPE_ID(out->word[0]));
	for (int f = 0; f < 2; f++)
		if ((mask & (1u << f)) && out->word[1 + f])
			out->field_target[f] = final_target(m, out->word[1 + f]);
}

/* Leaf slots referring to `cell` (through reference ravioli). */
static unsigned referrers(const rp_model *m, rav_loc cell, rav_loc *out, unsigned max)
{
	rav_loc stack[2 * MAX_WALK + 4];
	unsigned sp = 0, n = 0, steps = 0;
	const uint64_t *w;
	cell &= ~(rav_loc)3;
	if (!live_cell(m, cell, &w))
		return 0;
	if (TYPE_ID(w[0]) == T_REF) {
		if (w[2])
			stack[sp++] = w[2];
		if (w[3])
			stack[sp++] = w[3];
	} else if (TYPE_ID(w[0]) != T_ROOT && w[3]) {
		stack[sp++] = w[3];
	}
	while (sp && steps++ < 1u << 20) {
		rav_loc slot = stack[--sp];
		const uint64_t *sw;
		if (live_cell(m, slot & ~(rav_loc)3, &sw) && TYPE_ID(sw[0]) == T_REF &&
		    rav_loc_word(slot) == 1 && sp + 2 <= sizeof stack / sizeof stack[0]) {
			if (sw[2])
				stack[sp++] = sw[2];
			if (sw[3])
				stack[sp++] = sw[3];
			continue;
		}
		if (n < max)
			out[n] = slot;
		n++;
	}
	return n;
}

/* ---- the index: live model, keyframes, series, block filters ------------- */

/* Keyframes sit on a uniform grid of KF_EVERY_MIN events.  When their
 * memory passes the budget (KF_BUDGET_FIXED plus the file size; the env
 * variable RAVTRACE_KEYFRAME_MB overrides it), every other one is dropped
 * and the spacing doubles: memory stays bounded and seek time stays uniform
 * over the whole trace. */
#define KF_EVERY_MIN ((uint64_t)1 << 18)
#define KF_BUDGET_FIXED ((uint64_t)768 << 20)
#define SERIES_BINS 8192u
#define SERIES_W0 ((uint64_t)256)
#define NKINDS 64u
#define BLOCK_EVENTS ((uint64_t)1 << 14)
#define BLOOM_BITS 4096u

typedef struct rp_kf {
	uint64_t pos;
	rp_model m;
} rp_kf;

typedef struct rp_hseries {
	uint32_t id;
	uint32_t touched; /* bin + 1 in which it was last put on the dirty list */
	uint32_t n, cap;
	uint32_t *bin;
	uint64_t *live;
	uint32_t *pages;
} rp_hseries;

typedef struct rp_index {
	pthread_mutex_t lock;
	rp_model live;
	bool failed;
	rav_trace_error err;
	uint64_t indexed; /* events applied to `live` (and seen by the series) */
	bool done;

	rp_kf **kf;
	size_t nkf, kf_cap;
	uint64_t kf_every, next_kf, kf_bytes, kf_budget;
	uint64_t next_due; /* first event index where index_boundary has work */

	/* series: closed bins [0, nbins) of width bin_w events; `acc` is the open one */
	uint64_t bin_w;
	uint32_t nbins;
	uint64_t (*counts)[NKINDS];
	uint64_t *live_tot;
	uint64_t *pages_tot;
	uint64_t acc[NKINDS];
	rp_hseries *hs; /* parallel to live.heaps */
	uint32_t nhs, hs_cap;
	uint32_t *dirty;
	uint32_t ndirty, dirty_cap;

	/* pages touched per block of BLOCK_EVENTS events (history filter) */
	uint8_t (*bloom)[BLOOM_BITS / 8];
	size_t nblocks, bloom_cap;
	uint8_t cur_bloom[BLOOM_BITS / 8];
} rp_index;

/* t->replay is set by the indexing thread while others may look at it. */
static rp_index *idx_of(const rav_trace *t)
{
	rp_index *ix = (rp_index *)__atomic_load_n(&t->replay, __ATOMIC_ACQUIRE);
	HG_AFTER(&t->replay);
	return ix;
}

/* Events both indexed by replay and published by the reader (the cursor
 * sees only the latter). */
static uint64_t available(const rav_trace *t, const rp_index *ix)
{
	uint64_t mine = __atomic_load_n(&ix->indexed, __ATOMIC_ACQUIRE);
	uint64_t theirs = rav_trace_indexed_events(t);
	return mine < theirs ? mine : theirs;
}

static void geometry(rav_trace *t, uint32_t *page_size, uint32_t *cell_size, uint8_t *word_size)
{
	*page_size = t->info.page_size;
	*cell_size = t->info.cell_size;
	*word_size = t->info.word_size;
}

static void index_fail(rp_index *ix, const rav_trace_error *err)
{
	pthread_mutex_lock(&ix->lock);
	if (!ix->failed) {
		ix->failed = true;
		ix->err = *err;
	}
	pthread_mutex_unlock(&ix->lock);
}

/* Forget what an earlier indexing pass built: the reader indexes again from
 * event 0 (after a cancelled pass, or when a stream has grown).  The index
 * object stays, so threads seeking meanwhile never see it freed; they see
 * nothing indexed until the events come again. */
static void index_reset(rav_trace *t, rp_index *ix)
{
	__atomic_store_n(&ix->indexed, 0, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ix->lock);
	rp_kf **kf = ix->kf;
	size_t nkf = ix->nkf;
	ix->kf = NULL;
	ix->nkf = ix->kf_cap = 0;
	ix->failed = false;
	memset(&ix->err, 0, sizeof ix->err);
	ix->done = false;
	ix->bin_w = SERIES_W0;
	ix->nbins = 0;
	memset(ix->counts, 0, sizeof *ix->counts * SERIES_BINS);
	memset(ix->live_tot, 0, sizeof *ix->live_tot * SERIES_BINS);
	memset(ix->pages_tot, 0, sizeof *ix->pages_tot * SERIES_BINS);
	memset(ix->acc, 0, sizeof ix->acc);
	for (uint32_t i = 0; i < ix->nhs; i++) {
		free(ix->hs[i].bin);
		free(ix->hs[i].live);
		free(ix->hs[i].pages);
	}
	ix->nhs = 0;
	ix->ndirty = 0;
	ix->nblocks = 0;
	memset(ix->cur_bloom, 0, sizeof ix->cur_bloom);
	pthread_mutex_unlock(&ix->lock);
	for (size_t i = 0; i < nkf; i++) {
		model_clear(&kf[i]->m);
		free(kf[i]);
	}
	free(kf);
	uint32_t ps, cs;
	uint8_t ws;
	geometry(t, &ps, &cs, &ws);
	model_clear(&ix->live);
	model_init(&ix->live, ps, cs, ws);
	ix->kf_every = KF_EVERY_MIN;
	ix->next_kf = 0;
	ix->next_due = 0;
	ix->kf_bytes = 0;
	if (!ix->live.tkinds) {
		rav_trace_error e = {.code = RAV_TRACE_ENOMEM, .chunk = -1};
		snprintf(e.message, sizeof e.message, "replay: out of memory setting up the replay index");
		index_fail(ix, &e);
	}
}

void _rav_replay_index_begin(rav_trace *t)
{
	rp_index *ix = idx_of(t);
	if (ix) {
		index_reset(t, ix);
		return;
	}
	ix = calloc(1, sizeof *ix);
	if (!ix)
		return;
	pthread_mutex_init(&ix->lock, NULL);
	uint32_t ps, cs;
	uint8_t ws;
	geometry(t, &ps, &cs, &ws);
	model_init(&ix->live, ps, cs, ws);
	ix->kf_every = KF_EVERY_MIN;
	ix->kf_budget = KF_BUDGET_FIXED + t->info.file_size;
	const char *env = getenv("RAVTRACE_KEYFRAME_MB");
	if (env && *env) {
		char *end;
		unsigned long long mb = strtoull(env, &end, 10);
		if (*end == 0 && mb > 0)
			ix->kf_budget = (uint64_t)mb << 20;
	}
	ix->bin_w = SERIES_W0;
	ix->counts = calloc(SERIES_BINS, sizeof *ix->counts);
	ix->live_tot = calloc(SERIES_BINS, sizeof *ix->live_tot);
	ix->pages_tot = calloc(SERIES_BINS, sizeof *ix->pages_tot);
	if (!ix->live.tkinds || !ix->counts || !ix->live_tot || !ix->pages_tot || ix->live.cpp == 0) {
		rav_trace_error e = {.code = ix->live.cpp ? RAV_TRACE_ENOMEM : RAV_TRACE_EHEADER,
		                     .chunk = -1};
		snprintf(e.message, sizeof e.message, "replay: %s",
		         ix->live.cpp ? "out of memory setting up the replay index"
		                      : "trace header gives no usable page and cell size");
		ix->failed = true;
		ix->err = e;
	}
	HG_ATOMIC(&ix->indexed);
	HG_ATOMIC(&t->replay);
	HG_BEFORE(&t->replay);
	__atomic_store_n(&t->replay, ix, __ATOMIC_RELEASE);
}

static void hs_push(rp_hseries *s, uint32_t bin, uint64_t live, uint32_t pages)
{
	if (s->n && s->bin[s->n - 1] == bin) {
		s->live[s->n - 1] = live;
		s->pages[s->n - 1] = pages;
		return;
	}
	if (s->n == s->cap) {
		uint32_t ncap = s->cap ? s->cap * 2 : 8;
		uint32_t *nb = realloc(s->bin, sizeof *nb * ncap);
		if (nb)
			s->bin = nb;
		uint64_t *nl = realloc(s->live, sizeof *nl * ncap);
		if (nl)
			s->live = nl;
		uint32_t *np = realloc(s->pages, sizeof *np * ncap);
		if (np)
			s->pages = np;
		if (!nb || !nl || !np)
			return;
		s->cap = ncap;
	}
	s->bin[s->n] = bin;
	s->live[s->n] = live;
	s->pages[s->n] = pages;
	s->n++;
}

/* Close the open bin (caller holds the lock). */
static void series_close(rp_index *ix)
{
	if (ix->nbins == SERIES_BINS) {
		/* halve the resolution: merge pairs of bins */
		for (uint32_t i = 0; i < SERIES_BINS / 2; i++) {
			for (unsigned k = 0; k < NKINDS; k++)
				ix->counts[i][k] = ix->counts[2 * i][k] + ix->counts[2 * i + 1][k];
			ix->live_tot[i] = ix->live_tot[2 * i + 1];
			ix->pages_tot[i] = ix->pages_tot[2 * i + 1];
		}
		memset(ix->counts + SERIES_BINS / 2, 0, sizeof *ix->counts * (SERIES_BINS / 2));
		for (uint32_t h = 0; h < ix->nhs; h++) {
			rp_hseries *s = &ix->hs[h];
			uint32_t n = 0;
			for (uint32_t i = 0; i < s->n; i++) {
				uint32_t b = s->bin[i] / 2;
				if (n && s->bin[n - 1] == b)
					n--;
				s->bin[n] = b;
				s->live[n] = s->live[i];
				s->pages[n] = s->pages[i];
				n++;
			}
			s->n = n;
			s->touched = 0;
		}
		ix->nbins = SERIES_BINS / 2;
		ix->bin_w *= 2;
		/* the open bin keeps accumulating at the new width */
		return;
	}
	uint32_t b = ix->nbins;
	memcpy(ix->counts[b], ix->acc, sizeof ix->acc);
	memset(ix->acc, 0, sizeof ix->acc);
	ix->live_tot[b] = ix->live.tot.live_cells;
	ix->pages_tot[b] = ix->live.tot.pages;
	for (uint32_t i = 0; i < ix->ndirty; i++) {
		uint32_t h = ix->dirty[i];
		if (h < ix->nhs && h < ix->live.nheaps)
			hs_push(&ix->hs[h], b, ix->live.heaps[h].live, ix->live.heaps[h].npages);
	}
	ix->ndirty = 0;
	ix->nbins++;
}

static void series_touch(rp_index *ix, const rp_heap *h)
{
	if (!h)
		return;
	uint32_t hi = (uint32_t)(h - ix->live.heaps);
	if (hi >= ix->live.nheaps)
		return;
	while (ix->nhs <= hi) {
		if (ix->nhs == ix->hs_cap) {
			uint32_t ncap = ix->hs_cap ? ix->hs_cap * 2 : 16;
			rp_hseries *n = realloc(ix->hs, sizeof *n * ncap);
			if (!n)
				return;
			ix->hs = n;
			ix->hs_cap = ncap;
		}
		memset(&ix->hs[ix->nhs], 0, sizeof ix->hs[0]);
		ix->hs[ix->nhs].id = ix->live.heaps[ix->nhs].id;
		ix->nhs++;
	}
	rp_hseries *s = &ix->hs[hi];
	if (s->touched == ix->nbins + 1)
		return;
	if (ix->ndirty == ix->dirty_cap) {
		uint32_t ncap = ix->dirty_cap ? ix->dirty_cap * 2 : 16;
		uint32_t *n = realloc(ix->dirty, sizeof *n * ncap);
		if (!n)
			return;
		ix->dirty = n;
		ix->dirty_cap = ncap;
	}
	ix->dirty[ix->ndirty++] = hi;
	s->touched = ix->nbins + 1;
}

static inline void bloom_set(uint8_t *bits, rav_loc l)
{
	if (l && !(l & RAV_LOC_EXTERNAL)) {
		uint32_t p = rav_loc_page(l) % BLOOM_BITS;
		bits[p >> 3] |= (uint8_t)(1u << (p & 7));
	}
}

static inline bool bloom_has(const uint8_t *bits, uint32_t page)
{
	uint32_t p = page % BLOOM_BITS;
	return bits[p >> 3] & (1u << (p & 7));
}

static void bloom_event(uint8_t *bits, const rav_event *ev)
{
	switch (ev->kind) {
	case RAV_EV_MOVE:
		bloom_set(bits, ev->b);
		/* fall through */
	case RAV_EV_ALLOC:
	case RAV_EV_FREE:
	case RAV_EV_TRIM:
	case RAV_EV_DATA_STORE:
	case RAV_EV_TYPE_WORD:
	case RAV_EV_ROOT_NEW:
	case RAV_EV_ROOT_FREE:
	case RAV_EV_REFRAV_REMOVE:
		bloom_set(bits, ev->a);
		break;
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_REF_CLEAR:
	case RAV_EV_LINK:
	case RAV_EV_REFRAV_INSERT:
		bloom_set(bits, ev->a);
		bloom_set(bits, ev->b);
		bloom_set(bits, ev->c);
		break;
	default:
		break;
	}
}

static void bloom_flush(rp_index *ix)
{
	if (ix->nblocks == ix->bloom_cap) {
		size_t ncap = ix->bloom_cap ? ix->bloom_cap * 2 : 64;
		void *n = realloc(ix->bloom, sizeof *ix->bloom * ncap);
		if (!n) {
			/* without room, mark the block as touching every page: history stays exact, only
			 * slower */
			memset(ix->cur_bloom, 0xff, sizeof ix->cur_bloom);
			return;
		}
		ix->bloom = n;
		ix->bloom_cap = ncap;
	}
	memcpy(ix->bloom[ix->nblocks], ix->cur_bloom, sizeof ix->cur_bloom);
	memset(ix->cur_bloom, 0, sizeof ix->cur_bloom);
	ix->nblocks++;
}

static void take_keyframe(rp_index *ix)
{
	rp_kf *k = malloc(sizeof *k);
	if (!k)
		return;
	memset(&k->m, 0, sizeof k->m);
	if (!model_copy(&k->m, &ix->live)) {
		model_clear(&k->m);
		free(k);
		return;
	}
	k->pos = ix->live.pos;
	pthread_mutex_lock(&ix->lock);
	if (ix->nkf == ix->kf_cap) {
		size_t ncap = ix->kf_cap ? ix->kf_cap * 2 : 64;
		rp_kf **n = realloc(ix->kf, sizeof *n * ncap);
		if (!n) {
			pthread_mutex_unlock(&ix->lock);
			model_clear(&k->m);
			free(k);
			return;
		}
		ix->kf = n;
		ix->kf_cap = ncap;
	}
	ix->kf[ix->nkf++] = k;
	pthread_mutex_unlock(&ix->lock);
	/* memory of this keyframe: its tables now, plus the page blocks and
	 * chunks the live model copies away from it later (counted as they
	 * happen, through live.copied) */
	ix->kf_bytes +=
	    (uint64_t)k->m.span * (sizeof(void *) + 1) + (uint64_t)k->m.nheaps * sizeof(rp_heap) + MAX_TYPES;
	for (uint32_t i = 0; i < k->m.nheaps; i++)
		ix->kf_bytes += (uint64_t)k->m.heaps[i].npages * 4;
}

/* Memory a keyframe holds alone: its tables, and the pages that differ
 * from the next keyframe's (or the live model's) at the same index. */
static uint64_t kf_own_bytes(const rp_model *k, const rp_model *next)
{
	uint64_t b =
	    (uint64_t)k->span * (sizeof(void *) + 1) + (uint64_t)k->nheaps * sizeof(rp_heap) + MAX_TYPES;
	for (uint32_t i = 0; i < k->nheaps; i++)
		b += (uint64_t)k->heaps[i].npages * 4;
	for (uint32_t p = 0; p < k->span; p++) {
		const rp_page *a = k->pages[p], *n = p < next->span ? next->pages[p] : NULL;
		if (!a || a == n)
			continue;
		b += k->block_size;
		for (uint32_t i = 0; i < k->nch; i++)
			if (a->ch[i] != &zero_chunk && a->ch[i] != &header_chunk &&
			    (!n || n->ch[i] != a->ch[i]))
				b += sizeof(rp_chunk);
	}
	return b;
}

/* Drop every other keyframe and double the spacing. */
static void thin_keyframes(rp_index *ix)
{
	uint64_t every = ix->kf_every * 2;
	rp_kf **drop = malloc(sizeof *drop * ix->nkf);
	size_t ndrop = 0, w = 0;
	pthread_mutex_lock(&ix->lock);
	for (size_t i = 0; i < ix->nkf; i++) {
		if (ix->kf[i]->pos % every == 0 || !drop)
			ix->kf[w++] = ix->kf[i];
		else
			drop[ndrop++] = ix->kf[i];
	}
	ix->nkf = w;
	ix->kf_every = every;
	pthread_mutex_unlock(&ix->lock);
	for (size_t i = 0; i < ndrop; i++) {
		model_clear(&drop[i]->m);
		free(drop[i]);
	}
	free(drop);
#ifdef __GLIBC__
	/* the dropped keyframes were many small chunks: give the pages back */
	malloc_trim(0);
#endif
	uint64_t b = 0;
	for (size_t i = 0; i < ix->nkf; i++)
		b += kf_own_bytes(&ix->kf[i]->m, i + 1 < ix->nkf ? &ix->kf[i + 1]->m : &ix->live);
	ix->kf_bytes = b;
}

/* The work due at event index i before it is applied: a keyframe, closing
 * a series bin, closing a history-filter block.  Rare (at most one event in
 * BLOCK_EVENTS), so the per-event loop only compares with ix->next_due. */
static void index_boundary(rp_index *ix, uint64_t i)
{
	if (i == ix->next_kf) {
		ix->kf_bytes += ix->live.copied;
		ix->live.copied = 0;
		take_keyframe(ix);
		while (ix->kf_bytes > ix->kf_budget && ix->nkf > 2)
			thin_keyframes(ix);
		ix->next_kf = (i / ix->kf_every + 1) * ix->kf_every;
	}
	if (i && (i & (ix->bin_w - 1)) == 0) { /* bin_w is a power of two */
		pthread_mutex_lock(&ix->lock);
		series_close(ix);
		pthread_mutex_unlock(&ix->lock);
	}
	if (i && i % BLOCK_EVENTS == 0) {
		pthread_mutex_lock(&ix->lock);
		bloom_flush(ix);
		pthread_mutex_unlock(&ix->lock);
	}
	/* the next index where one of the three is due (bin_w may have
	 * doubled above, so it is recomputed from the current widths) */
	uint64_t due = ix->next_kf;
	uint64_t bin = (i / ix->bin_w + 1) * ix->bin_w, blk = (i / BLOCK_EVENTS + 1) * BLOCK_EVENTS;
	if (bin < due)
		due = bin;
	if (blk < due)
		due = blk;
	ix->next_due = due;
}

/* Series bookkeeping for a heap whose numbers an event changed: only the
 * first touch in a bin does work. */
static inline void series_touch_fast(rp_index *ix, const rp_heap *h)
{
	if (!h)
		return;
	uint32_t hi = (uint32_t)(h - ix->live.heaps);
	if (__builtin_expect(hi < ix->nhs && ix->hs[hi].touched == ix->nbins + 1, 1))
		return;
	series_touch(ix, h);
}

/* Replaying an event mostly waits for memory when the program touches
 * cells all over its heap: the page block, then the chunk holding the cell,
 * both at random places in a model of tens of megabytes.  The batch lets
 * the loop ask for them ahead: the page block of the event PF_FAR ahead,
 * then (that block having arrived) the chunk of the event PF_NEAR ahead.
 * Prefetches never fault; the loads that compute their addresses are
 * bounds-checked like apply's own. */
#define PF_FAR 16u
#define PF_NEAR 8u

static inline void prefetch_page(const rp_model *m, rav_loc l)
{
	uint32_t pg = rav_loc_page(l);
	if (!(l & RAV_LOC_EXTERNAL) && pg < m->span) {
		const rp_page *p = m->pages[pg];
		if (p)
			__builtin_prefetch(&p->ch[rav_loc_cell(l) >> CH_SHIFT]);
	}
}

static inline void prefetch_cell(const rp_model *m, rav_loc l)
{
	uint32_t pg = rav_loc_page(l), c = rav_loc_cell(l);
	if (!(l & RAV_LOC_EXTERNAL) && pg < m->span && c < m->cpp) {
		const rp_page *p = m->pages[pg];
		if (p) {
			const rp_chunk *k = p->ch[c >> CH_SHIFT];
			__builtin_prefetch(k->st);
			__builtin_prefetch(&k->w[CI(c) * 4]);
		}
	}
}

void _rav_replay_index_events(rav_trace *t, const rav_event *evs, size_t n)
{
	rp_index *ix = idx_of(t);
	if (!ix || ix->failed || n == 0)
		return;
	const rp_model *m = &ix->live;
	for (size_t k = 0; k < n && k < PF_FAR; k++)
		prefetch_page(m, evs[k].a);
	for (size_t k = 0; k < n; k++) {
		const rav_event *ev = &evs[k];
		if (k + PF_FAR < n)
			prefetch_page(m, evs[k + PF_FAR].a);
		if (k + PF_NEAR < n)
			prefetch_cell(m, evs[k + PF_NEAR].a);
		uint64_t i = ev->index;
		if (__builtin_expect(i != ix->live.pos, 0)) {
			rav_trace_error e = {.code = RAV_TRACE_EREPLAY, .chunk = -1};
			snprintf(e.message, sizeof e.message,
			         "replay: event %llu arrived while event %llu was expected (events must come "
			         "in order, without gaps)",
			         (unsigned long long)i, (unsigned long long)ix->live.pos);
			index_fail(ix, &e);
			break;
		}
		if (__builtin_expect(i >= ix->next_due, 0))
			index_boundary(ix, i);
		rp_touch tc;
		if (__builtin_expect(apply_inl(&ix->live, ev, &tc) < 0, 0)) {
			index_fail(ix, &ix->live.err);
			break;
		}
		ix->live.pos = i + 1;
		ix->acc[ev->kind < NKINDS ? ev->kind : 0]++;
		series_touch_fast(ix, tc.h[0]);
		series_touch_fast(ix, tc.h[1]);
		bloom_event(ix->cur_bloom, ev);
	}
	/* once per batch: readers on other threads see the prefix applied */
	__atomic_store_n(&ix->indexed, ix->live.pos, __ATOMIC_RELEASE);
}

void _rav_replay_index_event(rav_trace *t, const rav_event *ev)
{
	_rav_replay_index_events(t, ev, 1);
}

void _rav_replay_index_end(rav_trace *t)
{
	rp_index *ix = idx_of(t);
	if (!ix)
		return;
	pthread_mutex_lock(&ix->lock);
	if (ix->live.pos % ix->bin_w || (ix->live.pos && ix->nbins * ix->bin_w < ix->live.pos)) {
		if (ix->nbins == SERIES_BINS)
			series_close(ix); /* merges; then close the open bin below */
		series_close(ix);
	}
	if (ix->live.pos % BLOCK_EVENTS)
		bloom_flush(ix);
	ix->done = true;
	pthread_mutex_unlock(&ix->lock);
}

bool _rav_replay_index_error(const rav_trace *t, rav_trace_error *err)
{
	rp_index *ix = idx_of(t);
	if (!ix)
		return false;
	pthread_mutex_lock(&ix->lock);
	bool f = ix->failed;
	if (f && err)
		*err = ix->err;
	pthread_mutex_unlock(&ix->lock);
	return f;
}

void _rav_replay_stats(const rav_trace *t, uint64_t *keyframes, uint64_t *keyframe_bytes, uint64_t *spacing)
{
	rp_index *ix = idx_of(t);
	uint64_t n = 0, b = 0, e = 0;
	if (ix) {
		pthread_mutex_lock(&ix->lock);
		n = ix->nkf;
		b = ix->kf_bytes;
		e = ix->kf_every;
		pthread_mutex_unlock(&ix->lock);
	}
	if (keyframes)
		*keyframes = n;
	if (keyframe_bytes)
		*keyframe_bytes = b;
	if (spacing)
		*spacing = e;
}

void _rav_replay_free(rav_trace *t)
{
	rp_index *ix = idx_of(t);
	if (!ix)
		return;
	model_clear(&ix->live);
	for (size_t i = 0; i < ix->nkf; i++) {
		model_clear(&ix->kf[i]->m);
		free(ix->kf[i]);
	}
	free(ix->kf);
	free(ix->counts);
	free(ix->live_tot);
	free(ix->pages_tot);
	for (uint32_t i = 0; i < ix->nhs; i++) {
		free(ix->hs[i].bin);
		free(ix->hs[i].live);
		free(ix->hs[i].pages);
	}
	free(ix->hs);
	free(ix->dirty);
	free(ix->bloom);
	pthread_mutex_destroy(&ix->lock);
	free(ix);
	__atomic_store_n(&t->replay, NULL, __ATOMIC_RELEASE);
}

/* ---- rav_state ---------------------------------------------------------- */

struct rav_state {
	rav_trace *t; /* NULL: detached */
	rp_model m;
	rav_trace_cursor cur;
	bool cur_ok; /* cur yields event m.pos next */
	bool failed; /* the model met an error at m.pos: it cannot go forward */
	rav_trace_error err;
};

rav_state *rav_state_new(rav_trace *t)
{
	rav_state *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->t = t;
	uint32_t ps, cs;
	uint8_t ws;
	geometry(t, &ps, &cs, &ws);
	model_init(&s->m, ps, cs, ws);
	if (!s->m.tkinds) {
		free(s);
		return NULL;
	}
	return s;
}

rav_state *_rav_state_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size)
{
	rav_state *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	model_init(&s->m, page_size, cell_size, word_size);
	if (!s->m.tkinds || !s->m.cpp) {
		free(s->m.tkinds);
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
		_rav_trace_cursor_fini(&s->cur);
	model_clear(&s->m);
	free(s);
}

int _rav_state_apply(rav_state *s, const rav_event *ev, rav_trace_error *err)
{
	if (s->failed) {
		if (err)
			*err = s->err;
		return -1;
	}
	rav_event e = *ev;
	e.index = s->m.pos;
	rp_touch tc;
	if (apply(&s->m, &e, &tc) < 0) {
		s->failed = true;
		s->err = s->m.err;
		if (err)
			*err = s->err;
		return -1;
	}
	s->m.pos++;
	return 0;
}

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

/* Apply events from the cursor until the model is at `target`. */
static int replay_to(rav_state *s, uint64_t target, rav_trace_error *err)
{
	if (!s->cur_ok) {
		_rav_trace_cursor_init(s->t, s->m.pos, &s->cur);
		s->cur_ok = true;
	}
	if (s->failed && s->m.pos < target) {
		if (err)
			*err = s->err;
		return -1;
	}
	rav_event ev;
	while (s->m.pos < target) {
		if (!_rav_trace_cursor_next(&s->cur, &ev)) {
			if (s->cur.failed && err)
				*err = s->cur.error;
			else
				set_err(err, RAV_TRACE_EDECODE,
				        "replay: the trace ended at event %llu, before event %llu",
				        (unsigned long long)s->m.pos, (unsigned long long)target);
			_rav_trace_cursor_fini(&s->cur);
			s->cur_ok = false;
			return -1;
		}
		/* _rav_state_apply with the model step inlined: this loop is
		 * what a seek spends its time in */
		ev.index = s->m.pos;
		rp_touch tc;
		if (__builtin_expect(apply_inl(&s->m, &ev, &tc) < 0, 0)) {
			s->failed = true;
			s->err = s->m.err;
			if (err)
				*err = s->err;
			return -1;
		}
		s->m.pos++;
	}
	return 0;
}

int rav_state_seek(rav_state *s, uint64_t index, rav_trace_error *err)
{
	if (!s->t) {
		if (index == s->m.pos)
			return 0;
		set_err(err, RAV_TRACE_EREPLAY,
		        "replay: a detached state cannot seek (at event %llu, asked for %llu)",
		        (unsigned long long)s->m.pos, (unsigned long long)index);
		return -1;
	}
	rp_index *ix = idx_of(s->t);
	if (!ix) {
		set_err(err, RAV_TRACE_EREPLAY, "replay: the trace is not indexed yet (rav_trace_index)");
		return -1;
	}
	uint64_t avail = available(s->t, ix);
	pthread_mutex_lock(&ix->lock);
	bool failed = ix->failed;
	rav_trace_error ierr = ix->err;
	pthread_mutex_unlock(&ix->lock);
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
	/* nearest keyframe at or before index */
	pthread_mutex_lock(&ix->lock);
	size_t lo = 0, hi = ix->nkf;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (ix->kf[mid]->pos <= index)
			lo = mid;
		else
			hi = mid;
	}
	rp_kf *k = ix->nkf && ix->kf[lo]->pos <= index ? ix->kf[lo] : NULL;
	bool use_kf = k && (s->failed || s->m.pos > index || k->pos > s->m.pos);
	bool ok = true;
	if (use_kf) {
		ok = model_copy(&s->m, &k->m);
		s->m.pos = k->pos;
	}
	pthread_mutex_unlock(&ix->lock);
	if (use_kf || (!k && (s->failed || s->m.pos > index))) {
		if (s->cur_ok)
			_rav_trace_cursor_fini(&s->cur);
		s->cur_ok = false;
		s->failed = false;
		if (!k) {
			uint32_t ps = s->m.page_size, cs = s->m.cell_size;
			uint8_t ws = s->m.word_size;
			model_clear(&s->m);
			model_init(&s->m, ps, cs, ws);
			ok = s->m.tkinds != NULL;
		}
	}
	if (!ok) {
		set_err(err, RAV_TRACE_ENOMEM,
		        "replay: out of memory restoring the keyframe before event %llu",
		        (unsigned long long)index);
		s->failed = true;
		s->err = *err;
		return -1;
	}
	return replay_to(s, index, err);
}

bool rav_state_step(rav_state *s, rav_event *applied, rav_trace_error *err)
{
	if (!s->t || s->failed)
		return false;
	rp_index *ix = idx_of(s->t);
	if (!ix)
		return false;
	if (s->m.pos >= available(s->t, ix)) {
		/* at the end of what is indexed; if indexing stopped at a replay
		 * error, this is the event that did not fit: say so */
		pthread_mutex_lock(&ix->lock);
		if (ix->failed && err)
			*err = ix->err;
		pthread_mutex_unlock(&ix->lock);
		return false;
	}
	if (!s->cur_ok) {
		_rav_trace_cursor_init(s->t, s->m.pos, &s->cur);
		s->cur_ok = true;
	}
	rav_event ev;
	if (!_rav_trace_cursor_next(&s->cur, &ev)) {
		if (s->cur.failed && err)
			*err = s->cur.error;
		_rav_trace_cursor_fini(&s->cur);
		s->cur_ok = false;
		return false;
	}
	if (_rav_state_apply(s, &ev, err) < 0)
		return false;
	if (applied)
		*applied = ev;
	return true;
}

uint64_t rav_state_position(const rav_state *s)
{
	return s->m.pos;
}

unsigned rav_state_heap_count(const rav_state *s)
{
	return s->m.nheaps;
}

bool rav_state_heap_at(const rav_state *s, unsigned i, rav_state_heap *out)
{
	if (i >= s->m.nheaps)
		return false;
	const rp_heap *h = &s->m.heaps[i];
	memset(out, 0, sizeof *out);
	out->id = h->id;
	out->kind = h->kind;
	out->alive = h->alive;
	out->in_flight = h->in_flight;
	out->page_count = h->npages;
	out->pages = h->pages;
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
	const rp_page *p = page_r(&s->m, page);
	if (!p)
		return page < s->m.span;
	out->kind = p->kind;
	out->owner = p->owner;
	out->fill = p->kind == RAV_SPAGE_POOL ? 0 : p->fill;
	out->live = p->live;
	out->dead = p->dead;
	return true;
}

bool rav_state_cell_at(const rav_state *s, uint32_t page, uint32_t cell, rav_state_cell *out)
{
	const rp_page *p = page_r(&s->m, page);
	if (!p || cell >= s->m.cpp) {
		memset(out, 0, sizeof *out);
		return false;
	}
	cell_fill(&s->m, page, cell, p, out);
	return true;
}

bool rav_state_page_types(const rav_state *s, uint32_t page, uint16_t *types_out)
{
	const rp_page *p = page_r(&s->m, page);
	uint32_t n = s->m.cpp;
	if (!p) {
		memset(types_out, 0, sizeof *types_out * n);
		return page < s->m.span;
	}
	static const uint16_t fixed[4] = {0, 0, T_DEAD, T_HEADER};
	for (uint32_t c0 = 0; c0 < n; c0 += CH_CELLS) {
		const rp_chunk *k = p->ch[c0 >> CH_SHIFT];
		uint32_t m = n - c0 < CH_CELLS ? n - c0 : CH_CELLS;
		for (uint32_t i = 0; i < m; i++)
			types_out[c0 + i] =
			    k->st[i] == RAV_CELL_LIVE ? TYPE_ID(k->w[i * 4]) : fixed[k->st[i] & 3];
	}
	return true;
}

unsigned rav_state_referrers(const rav_state *s, rav_loc cell, rav_loc *out, unsigned max)
{
	return referrers(&s->m, cell, out, max);
}

void rav_state_get_totals(const rav_state *s, rav_state_totals *out)
{
	*out = s->m.tot;
}

/* ---- summary series ----------------------------------------------------- */

static uint64_t hs_level(const rp_hseries *s, uint32_t bin, bool pages)
{
	/* last entry at or before bin */
	uint32_t lo = 0, hi = s->n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (s->bin[mid] <= bin)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return 0;
	return pages ? s->pages[lo - 1] : s->live[lo - 1];
}

static uint64_t bin_count(const rp_index *ix, uint32_t b, rav_series_kind kind, int64_t arg)
{
	const uint64_t *c = ix->counts[b];
	switch (kind) {
	case RAV_SERIES_EVENTS:
		if (arg >= 0)
			return arg < (int64_t)NKINDS ? c[arg] : 0;
		else {
			uint64_t n = 0;
			for (unsigned k = 0; k < NKINDS; k++)
				n += c[k];
			return n;
		}
	case RAV_SERIES_MOVES:
		return c[RAV_EV_MOVE];
	case RAV_SERIES_FIXUPS:
		return c[RAV_EV_FIXUP];
	case RAV_SERIES_HANDOFFS:
		return c[RAV_EV_PAGE_HANDOFF];
	default:
		return 0;
	}
}

bool rav_trace_series(rav_trace *t, rav_series_kind kind, int64_t arg, uint64_t from, uint64_t to,
                      unsigned nbins, double *out)
{
	rp_index *ix = idx_of(t);
	if (!ix || !nbins || !out)
		return false;
	pthread_mutex_lock(&ix->lock);
	uint64_t covered = (uint64_t)ix->nbins * ix->bin_w;
	uint64_t indexed = __atomic_load_n(&ix->indexed, __ATOMIC_ACQUIRE);
	if (ix->done && ix->live.pos < covered)
		covered = ix->live.pos; /* the last bin is partial */
	if (to == 0)
		to = ix->done ? covered : indexed;
	/* While indexing, the bin being filled is not published yet: the range
	 * may reach up to the events indexed, the unpublished tail reads as no
	 * events and the last published level. */
	if (to > (ix->done ? covered : indexed) || from >= to || ix->nbins == 0) {
		pthread_mutex_unlock(&ix->lock);
		return false;
	}
	const rp_hseries *hs = NULL;
	bool level = kind == RAV_SERIES_LIVE_CELLS || kind == RAV_SERIES_PAGES;
	if (level && arg >= 0) {
		for (uint32_t i = 0; i < ix->nhs; i++)
			if (ix->hs[i].id == (uint32_t)arg)
				hs = &ix->hs[i];
		if (!hs) {
			for (unsigned j = 0; j < nbins; j++)
				out[j] = 0;
			pthread_mutex_unlock(&ix->lock);
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
			uint32_t b = (uint32_t)(last / ix->bin_w);
			if (b >= ix->nbins)
				b = ix->nbins - 1;
			if (hs)
				out[j] = (double)hs_level(hs, b, kind == RAV_SERIES_PAGES);
			else
				out[j] =
				    (double)(kind == RAV_SERIES_PAGES ? ix->pages_tot[b] : ix->live_tot[b]);
			continue;
		}
		/* counts: each base bin spread evenly over its width */
		double sum = 0;
		for (uint64_t b = lo / ix->bin_w; b * ix->bin_w < hi && b < ix->nbins; b++) {
			uint64_t b0 = b * ix->bin_w, b1 = b0 + ix->bin_w;
			if (b1 > covered)
				b1 = covered; /* the last bin may be partial */
			uint64_t o0 = b0 > lo ? b0 : lo, o1 = b1 < hi ? b1 : hi;
			uint64_t n = bin_count(ix, (uint32_t)b, kind, arg);
			if (n && o1 > o0)
				sum += (double)n * (double)(o1 - o0) / (double)(b1 - b0);
		}
		out[j] = sum;
	}
	pthread_mutex_unlock(&ix->lock);
	return true;
}

/* ---- cell history -------------------------------------------------------- */

typedef struct hist_buf {
	rav_cell_event *v;
	size_t n, cap;
	bool oom;
} hist_buf;

static void hist_push(hist_buf *h, uint64_t ev, uint16_t kind, rav_loc where)
{
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		rav_cell_event *n = realloc(h->v, sizeof *n * ncap);
		if (!n) {
			h->oom = true;
			return;
		}
		h->v = n;
		h->cap = ncap;
	}
	h->v[h->n++] = (rav_cell_event){ev, kind, where};
}

#define CELL_OF(l) ((l) & ~(rav_loc)3)

/* Does a non-structural event concern the cell `cur`?  (stores into its
 * words, slots naming it being fixed or stored) */
static bool concerns(const rav_event *e, rav_loc cur)
{
	switch (e->kind) {
	case RAV_EV_DATA_STORE:
	case RAV_EV_TYPE_WORD:
		return CELL_OF(e->a) == cur;
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_LINK:
		return CELL_OF(e->a) == cur || (e->b && CELL_OF(e->b) == cur) ||
		       (e->c && CELL_OF(e->c) == cur);
	case RAV_EV_REF_CLEAR:
		return CELL_OF(e->a) == cur || (e->b && CELL_OF(e->b) == cur);
	case RAV_EV_REFRAV_INSERT:
		return CELL_OF(e->a) == cur || CELL_OF(e->b) == cur;
	case RAV_EV_REFRAV_REMOVE:
		return CELL_OF(e->a) == cur;
	default:
		return false;
	}
}

static bool history_relevant_kind(unsigned k)
{
	return k == RAV_EV_ALLOC || k == RAV_EV_FREE || k == RAV_EV_MOVE || k == RAV_EV_TRIM ||
	       k == RAV_EV_FIXUP || k == RAV_EV_REF_STORE || k == RAV_EV_REF_CLEAR ||
	       k == RAV_EV_DATA_STORE || k == RAV_EV_LINK || k == RAV_EV_TYPE_WORD ||
	       k == RAV_EV_REFRAV_INSERT || k == RAV_EV_REFRAV_REMOVE;
}

unsigned rav_trace_cell_history(rav_trace *t, rav_loc cell, uint64_t at, rav_cell_event *out, unsigned max,
                                unsigned *total)
{
	rp_index *ix = idx_of(t);
	if (total)
		*total = 0;
	if (!ix || (cell & RAV_LOC_EXTERNAL))
		return 0;
	uint64_t end = available(t, ix);
	if (at > end)
		at = end;
	pthread_mutex_lock(&ix->lock);
	size_t nblocks = ix->nblocks;
	uint8_t(*bloom)[BLOOM_BITS / 8] = NULL;
	if (nblocks && (bloom = malloc(sizeof *bloom * nblocks)))
		memcpy(bloom, ix->bloom, sizeof *bloom * nblocks);
	pthread_mutex_unlock(&ix->lock);
	uint64_t filtered_end = bloom ? (uint64_t)nblocks * BLOCK_EVENTS : 0; /* past it: no filter */

	hist_buf back = {0}, fwd = {0};
	rav_event *buf = malloc(sizeof *buf * BLOCK_EVENTS);
	if (!buf) {
		free(bloom);
		return 0;
	}
	rav_trace_cursor cur;
	bool open = false;

	/* backward from at: blocks in reverse, each decoded forward and walked back */
	rav_loc c = CELL_OF(cell);
	bool stop = false;
	for (uint64_t blk = at ? (at - 1) / BLOCK_EVENTS + 1 : 0; blk-- > 0 && !stop;) {
		uint64_t b0 = blk * BLOCK_EVENTS, b1 = b0 + BLOCK_EVENTS;
		if (b1 > at)
			b1 = at;
		if (b0 < filtered_end && !bloom_has(bloom[blk], rav_loc_page(c)))
			continue;
		if (open)
			_rav_trace_cursor_fini(&cur);
		_rav_trace_cursor_init(t, b0, &cur);
		open = true;
		size_t n = 0;
		rav_event e;
		while (b0 + n < b1 && _rav_trace_cursor_next(&cur, &e))
			buf[n++] = e;
		for (size_t i = n; i-- > 0 && !stop;) {
			const rav_event *ev = &buf[i];
			if (!history_relevant_kind(ev->kind))
				continue;
			switch (ev->kind) {
			case RAV_EV_MOVE:
				if (CELL_OF(ev->b) == c) {
					hist_push(&back, ev->index, ev->kind, c);
					c = CELL_OF(ev->a);
				} else if (CELL_OF(ev->a) == c) {
					stop = true;
				}
				break;
			case RAV_EV_ALLOC:
				if (CELL_OF(ev->a) == c) {
					hist_push(&back, ev->index, ev->kind, c);
					stop = true;
				}
				break;
			case RAV_EV_TRIM:
				if (CELL_OF(ev->a) == c)
					stop = true;
				break;
			case RAV_EV_FREE:
				if (CELL_OF(ev->a) == c)
					hist_push(&back, ev->index, ev->kind, c);
				break;
			default:
				if (concerns(ev, c))
					hist_push(&back, ev->index, ev->kind, c);
				break;
			}
		}
	}

	/* forward from at */
	c = CELL_OF(cell);
	stop = false;
	for (uint64_t blk = at / BLOCK_EVENTS; blk * BLOCK_EVENTS < end && !stop; blk++) {
		uint64_t b0 = blk * BLOCK_EVENTS, b1 = b0 + BLOCK_EVENTS;
		if (b0 < at)
			b0 = at;
		if (b1 > end)
			b1 = end;
		if (blk * BLOCK_EVENTS < filtered_end && !bloom_has(bloom[blk], rav_loc_page(c)))
			continue;
		if (!open || cur.next != b0) {
			if (open)
				_rav_trace_cursor_fini(&cur);
			_rav_trace_cursor_init(t, b0, &cur);
			open = true;
		}
		rav_event e;
		for (uint64_t i = b0; i < b1 && !stop && _rav_trace_cursor_next(&cur, &e); i++) {
			if (!history_relevant_kind(e.kind))
				continue;
			switch (e.kind) {
			case RAV_EV_MOVE:
				if (CELL_OF(e.a) == c) {
					c = CELL_OF(e.b);
					hist_push(&fwd, e.index, e.kind, c);
				} else if (CELL_OF(e.b) == c) {
					stop = true;
				}
				break;
			case RAV_EV_ALLOC:
				if (CELL_OF(e.a) == c)
					stop = true;
				break;
			case RAV_EV_TRIM:
				if (CELL_OF(e.a) == c) {
					hist_push(&fwd, e.index, e.kind, c);
					stop = true;
				}
				break;
			case RAV_EV_FREE:
				if (CELL_OF(e.a) == c)
					hist_push(&fwd, e.index, e.kind, c);
				break;
			default:
				if (concerns(&e, c))
					hist_push(&fwd, e.index, e.kind, c);
				break;
			}
		}
	}
	if (open)
		_rav_trace_cursor_fini(&cur);

	size_t all = back.n + fwd.n, w = 0;
	for (size_t i = back.n; i-- > 0 && w < max;)
		out[w++] = back.v[i];
	for (size_t i = 0; i < fwd.n && w < max; i++)
		out[w++] = fwd.v[i];
	if (total)
		*total = all > UINT32_MAX ? UINT32_MAX : (unsigned)all;
	free(back.v);
	free(fwd.v);
	free(buf);
	free(bloom);
	return (unsigned)w;
}
