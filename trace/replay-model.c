/* replay-model.c - the heap image replay rebuilds (replay-model.h):
 * copy-on-write page blocks and cell blocks, the heap table, copying a
 * model (what a keyframe and a seek do), and the wording of replay errors.
 *
 * Blocks are shared between the live model, keyframes and states on other
 * threads: their reference counts are atomic, and a block with more than
 * one reference is copied before it is written.  Blocks freed go to the
 * model's block cache (when it has one) and copies come from there first
 * (replay-model.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h" /* ravt_hash32 */
#include "replay-model.h"

/* Their counts are so high that they are never freed, nor copied in
 * place (a count of 1 says "ours alone"), and are not counted: every model,
 * keyframe and state of every thread points at them (a fresh page has a
 * header block and seven zero blocks, a packed keyframe tens of thousands
 * of packed slots), and counting them made one cache line that all of
 * those threads wrote to (unpacking a keyframe on two threads passed the
 * packed block's count back and forth 55k times). */
#define IMMORTAL (1u << 30)
ravt_cellblock ravt_zero_block = {.refs = IMMORTAL};
ravt_cellblock ravt_header_block = {.refs = IMMORTAL, .st = {RAV_CELL_HEADER}};
ravt_cellblock ravt_packed_block = {.refs = IMMORTAL};

static inline bool is_immortal(const ravt_cellblock *k)
{
	return k == &ravt_zero_block || k == &ravt_header_block || k == &ravt_packed_block;
}

static inline void block_ref(ravt_cellblock *c)
{
	if (!is_immortal(c))
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

/* ---- the block cache ---------------------------------------------------------- */

typedef struct free_link {
	struct free_link *next;
} free_link;

static void *cache_pop(void **list, size_t *n)
{
	free_link *f = *list;
	if (!f)
		return NULL;
	*list = f->next;
	(*n)--;
	return f;
}

/* A cached block was freed long ago and is in no cache any more: the copy
 * into it would wait for each of its lines.  So each pop asks for the
 * whole of a block CELL_PF_AHEAD pops later, for writing (the page cache,
 * a list, for the next one: its link is in the block).  (Always inlined,
 * as the prefetches of replay-apply.h: GCC deleted calls of the plain
 * inline function.) */
static inline __attribute__((always_inline)) void prefetch_next(const void *next, size_t bytes)
{
	if (next)
		for (size_t off = 0; off < bytes; off += 64)
			__builtin_prefetch((const char *)next + off, 1);
}

#define CELL_PF_AHEAD 4u

/* A cache that runs dry takes this many blocks from the arena at once (one
 * lock for all: blocks released on another thread, such as the keyframe
 * packer's, go back to the arena, not to this cache). */
#define CACHE_REFILL 32u

/* Room for one more cell block pointer; false when it cannot grow. */
static bool cells_room(ravt_blockcache *c, size_t need)
{
	if (need <= c->cells_cap)
		return true;
	size_t ncap = c->cells_cap ? c->cells_cap * 2 : 256;
	while (ncap < need)
		ncap *= 2;
	void **n = realloc(c->cells, sizeof *n * ncap);
	if (!n)
		return false;
	c->cells = n;
	c->cells_cap = ncap;
	return true;
}

static ravt_cellblock *cell_alloc(const ravt_model *m)
{
	ravt_blockcache *c = m->cache;
	if (!c)
		return ravt_arena_alloc();
	if (!c->ncells) {
		if (!cells_room(c, CACHE_REFILL))
			return ravt_arena_alloc();
		c->ncells = ravt_arena_alloc_batch(c->cells, CACHE_REFILL);
		if (!c->ncells)
			return NULL;
	}
	ravt_cellblock *k = c->cells[--c->ncells];
	if (c->ncells >= CELL_PF_AHEAD)
		prefetch_next(c->cells[c->ncells - CELL_PF_AHEAD], sizeof(ravt_cellblock));
	return k;
}

static void cell_release(const ravt_model *m, ravt_cellblock *k)
{
	ravt_blockcache *c = m->cache;
	if (c && (c->ncells + 1) * sizeof(ravt_cellblock) + c->npages * c->page_bytes <= RAVT_CACHE_MAX_BYTES &&
	    cells_room(c, c->ncells + 1)) {
		c->cells[c->ncells++] = k;
		return;
	}
	ravt_arena_free(k);
}

static ravt_mpage *page_alloc(const ravt_model *m)
{
	ravt_blockcache *c = m->cache;
	ravt_mpage *p = c && c->page_bytes == m->block_size ? cache_pop(&c->pages, &c->npages) : NULL;
	if (!p)
		return malloc(m->block_size);
	prefetch_next(c->pages, m->block_size);
	return p;
}

static void page_release(const ravt_model *m, ravt_mpage *p)
{
	ravt_blockcache *c = m->cache;
	if (c && (!c->npages || c->page_bytes == m->block_size) &&
	    c->ncells * sizeof(ravt_cellblock) + (c->npages + 1) * m->block_size <= RAVT_CACHE_MAX_BYTES) {
		c->page_bytes = m->block_size;
		free_link *f = (free_link *)p;
		f->next = c->pages;
		c->pages = f;
		c->npages++;
		return;
	}
	free(p);
}

ravt_cellblock *ravt_cell_new(const ravt_model *m)
{
	ravt_cellblock *k = cell_alloc(m);
	if (k)
		atomic_init(&k->refs, 1);
	return k;
}

void ravt_cell_release(const ravt_model *m, ravt_cellblock *k)
{
	cell_release(m, k);
}

void ravt_blockcache_clear(ravt_blockcache *c)
{
	/* deferred decrements first (their blocks straight to the arena) */
	for (uint32_t i = 0; i < c->nunref; i++) {
		ravt_cellblock *k = c->unref[i];
		if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
			ravt_arena_free(k);
	}
	c->nunref = 0;
	ravt_arena_free_batch(c->cells, c->ncells);
	free(c->cells);
	c->cells = NULL;
	c->ncells = c->cells_cap = 0;
	void *b;
	while ((b = cache_pop(&c->pages, &c->npages)))
		free(b);
}

/* Reference counts are only raised by a holder of a reference, so a count
 * of 1 read here is ours alone: the block goes without the locked
 * read-modify-write, which on x86 also keeps later loads (the next blocks'
 * misses) from starting until it completes. */
static inline void block_unref(const ravt_model *m, ravt_cellblock *c)
{
	if (!c || is_immortal(c))
		return;
	if (atomic_load_explicit(&c->refs, memory_order_acquire) == 1 ||
	    atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		cell_release(m, c);
}

void ravt_model_unref_flush(const ravt_model *m)
{
	ravt_blockcache *c = m->cache;
	if (!c || !c->nunref)
		return;
	uint32_t n = c->nunref;
	c->nunref = 0;
	for (uint32_t i = 0; i < n; i++) {
		ravt_cellblock *k = c->unref[i];
		if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
			cell_release(m, k);
	}
}

/* block_unref for a block a copy on write dropped: deferred when the cache
 * says so and others hold it too (see ravt_blockcache). */
static inline void block_drop(const ravt_model *m, ravt_cellblock *k)
{
	ravt_blockcache *c = m->cache;
	if (c && c->defer && !is_immortal(k) && atomic_load_explicit(&k->refs, memory_order_relaxed) != 1) {
		if (c->nunref == RAVT_UNREF_MAX)
			ravt_model_unref_flush(m);
		c->unref[c->nunref++] = k;
		return;
	}
	block_unref(m, k);
}

/* The counts of a page's cell blocks are on as many lines, in a model of
 * tens of megabytes mostly out of cache: ask for all of them (for writing)
 * before the atomic operations on them, which would otherwise wait for
 * each line in turn. */
static inline __attribute__((always_inline)) void prefetch_block_counts(const ravt_model *m, const ravt_mpage *p)
{
	for (uint32_t i = 0; i < m->ncb; i++)
		__builtin_prefetch(p->cb[i], 1);
}

#define is_static ravt_block_static

#define CB_WHAT "the replayed heap (its written cell blocks)"

void ravt_page_clear_cells(ravt_model *m, ravt_mpage *p)
{
	for (uint32_t i = 0; i < m->ncb; i++) {
		ravt_cellblock *z = i == 0 ? &ravt_header_block : &ravt_zero_block;
		if (p->cb[i] == z)
			continue;
		if (p->cb[i] && !is_static(p->cb[i]))
			ravt_budget_release(m->budget, sizeof(ravt_cellblock));
		block_unref(m, p->cb[i]);
		block_ref(z);
		p->cb[i] = z;
	}
	atomic_store_explicit(&p->priv, 0, memory_order_relaxed);
}

ravt_mpage *ravt_page_new(ravt_model *m)
{
	if (!ravt_budget_charge(m->budget, m->block_size, "the replayed heap (its pages)"))
		return NULL;
	ravt_mpage *p = page_alloc(m);
	if (!p) {
		ravt_budget_release(m->budget, m->block_size);
		return NULL;
	}
	memset(p, 0, m->block_size);
	atomic_init(&p->refs, 1);
	p->next = p->prev = p->nnext = p->nprev = RAVT_NO_PAGE;
	ravt_page_clear_cells(m, p);
	return p;
}

void ravt_page_unref(const ravt_model *m, ravt_mpage *p)
{
	if (!p)
		return;
	/* (a count of 1 is ours alone: see block_unref) */
	if (atomic_load_explicit(&p->refs, memory_order_acquire) == 1 ||
	    atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
		prefetch_block_counts(m, p);
		for (uint32_t i = 0; i < m->ncb; i++)
			block_unref(m, p->cb[i]);
		page_release(m, p);
	}
}

void ravt_page_ref(ravt_mpage *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

static void kinds_unref(ravt_typekinds *k)
{
	if (k && atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
		free(k);
}

void ravt_model_init(ravt_model *m, uint32_t page_size, uint32_t cell_size, uint8_t word_size,
                     ravt_budget *budget)
{
	memset(m, 0, sizeof *m);
	m->page_size = page_size;
	m->cell_size = cell_size ? cell_size : 32;
	m->word_size = word_size ? word_size : 8;
	m->cpp = page_size / m->cell_size;
	m->ncb = (m->cpp + RAVT_CB_CELLS - 1) / RAVT_CB_CELLS;
	m->block_size = sizeof(ravt_mpage) + (size_t)m->ncb * sizeof(ravt_cellblock *);
	m->budget = budget;
	m->tkinds = calloc(1, sizeof *m->tkinds);
	if (m->tkinds)
		atomic_init(&m->tkinds->refs, 1);
}

void ravt_model_clear(ravt_model *m)
{
	ravt_pages_clear(m);
	free(m->known);
	free(m->heaps);
	free(m->hmap);
	free(m->dirty);
	kinds_unref(m->tkinds);
	m->known = NULL;
	m->nknown = m->known_cap = 0;
	m->heaps = NULL;
	m->hmap = NULL;
	m->dirty = NULL;
	m->ndirty = m->dirty_cap = 0;
	m->tkinds = NULL;
	m->nheaps = m->heap_cap = m->hmap_cap = 0;
}

bool ravt_model_copy(ravt_model *dst, const ravt_model *src)
{
	ravt_model_clear(dst);
	ravt_blockcache *cache = dst->cache;
	*dst = *src;
	dst->budget = NULL;
	dst->cache = cache;
	dst->top = NULL;
	dst->span = dst->cap = 0;
	dst->heaps = NULL;
	dst->hmap = NULL;
	dst->known = NULL;
	dst->dirty = NULL;
	dst->dirty_cap = src->ndirty;
	dst->heap_cap = src->nheaps;
	dst->known_cap = src->nknown;
	if (src->nknown)
		dst->known = malloc(sizeof *dst->known * src->nknown);
	if (src->nheaps)
		dst->heaps = malloc(sizeof *dst->heaps * src->nheaps);
	if (src->hmap_cap)
		dst->hmap = malloc(sizeof *dst->hmap * src->hmap_cap);
	if (src->ndirty)
		dst->dirty = malloc(sizeof *dst->dirty * src->ndirty);
	if (!ravt_pages_copy(dst, src) || (src->nheaps && !dst->heaps) ||
	    (src->hmap_cap && !dst->hmap) || (src->nknown && !dst->known) || (src->ndirty && !dst->dirty)) {
		ravt_pages_clear(dst);
		free(dst->known);
		free(dst->heaps);
		free(dst->hmap);
		free(dst->dirty);
		memset(dst, 0, sizeof *dst);
		dst->cache = cache;
		return false;
	}
	atomic_fetch_add_explicit(&src->tkinds->refs, 1, memory_order_relaxed);
	if (src->nknown)
		memcpy(dst->known, src->known, sizeof *dst->known * src->nknown);
	if (src->hmap_cap)
		memcpy(dst->hmap, src->hmap, sizeof *dst->hmap * src->hmap_cap);
	if (src->nheaps)
		memcpy(dst->heaps, src->heaps, sizeof *dst->heaps * src->nheaps);
	if (src->ndirty)
		memcpy(dst->dirty, src->dirty, sizeof *dst->dirty * src->ndirty);
	return true;
}

bool ravt_model_define_type(ravt_model *m, uint32_t id, uint8_t fields)
{
	if (id >= RAVT_MAX_TYPES)
		return true;
	if (m->tkinds->k[id] == fields)
		return true;
	if (atomic_load_explicit(&m->tkinds->refs, memory_order_acquire) != 1) {
		ravt_typekinds *k = malloc(sizeof *k);
		if (!k)
			return false;
		memcpy(k->k, m->tkinds->k, sizeof k->k);
		atomic_init(&k->refs, 1);
		kinds_unref(m->tkinds);
		m->tkinds = k;
		m->copied += sizeof *k;
	}
	m->tkinds->k[id] = fields;
	return true;
}

ravt_mpage *ravt_page_w_copy(ravt_model *m, uint32_t page)
{
	/* the leaf first: a copy of it takes a reference on each of its page
	 * blocks (so p is shared then, unless the other holders of the leaf
	 * let it go meanwhile) */
	ravt_pleaf *l = ravt_leaf_w(m, page);
	if (!l)
		return NULL;
	ravt_mpage *p = l->pg[RAVT_LEAF_INDEX(page)];
	if (!p || atomic_load_explicit(&p->refs, memory_order_acquire) == 1)
		return p;
	prefetch_block_counts(m, p);
	ravt_mpage *q = page_alloc(m);
	if (!q)
		return NULL;
	/* everything but the reference count, which other threads may be
	 * changing (a seek copying a keyframe that shares this block) */
	size_t skip = offsetof(ravt_mpage, kind);
	memcpy((char *)q + skip, (const char *)p + skip, m->block_size - skip);
	atomic_init(&q->refs, 1);
	/* the two share every cell block now: neither holds one alone (p's
	 * holders see its count at 1 again only after our release below) */
	atomic_store_explicit(&q->priv, 0, memory_order_relaxed);
	atomic_store_explicit(&p->priv, 0, memory_order_relaxed);
	for (uint32_t i = 0; i < m->ncb; i++)
		block_ref(q->cb[i]);
	ravt_page_unref(m, p);
	l->pg[RAVT_LEAF_INDEX(page)] = q;
	m->copied += m->block_size;
	return q;
}

ravt_cellblock *ravt_block_w_copy(ravt_model *m, ravt_mpage *p, uint32_t c)
{
	ravt_cellblock **slot = &p->cb[c >> RAVT_CB_SHIFT], *k = *slot;
	/* a first write into a block of empty cells makes the model bigger; a
	 * copy of a block a keyframe shares is the keyframe's cost */
	bool fresh = is_static(k);
	if (fresh && !ravt_budget_charge(m->budget, sizeof *k, CB_WHAT))
		return NULL;
	ravt_cellblock *q = cell_alloc(m);
	if (!q) {
		if (fresh)
			ravt_budget_release(m->budget, sizeof *k);
		return NULL;
	}
	memcpy(q->st, k->st, sizeof q->st);
	memcpy(q->w, k->w, sizeof q->w);
	atomic_init(&q->refs, 1);
	block_drop(m, k);
	*slot = q;
	if (m->ncb <= RAVT_PRIV_BITS)
		atomic_store_explicit(&p->priv,
		                      atomic_load_explicit(&p->priv, memory_order_relaxed) |
		                          1u << (c >> RAVT_CB_SHIFT),
		                      memory_order_relaxed);
	/* (a block of empty cells written first is no keyframe's: it costs a
	 * seek no read of a shared block, and the keyframe before holds
	 * nothing for it) */
	if (!fresh)
		m->copied += sizeof *q;
	return q;
}

/* ---- heaps ------------------------------------------------------------------ */

ravt_mheap *ravt_heap_find(const ravt_model *m, uint32_t id)
{
	if (!m->hmap_cap)
		return NULL;
	uint32_t mask = m->hmap_cap - 1;
	for (uint32_t i = ravt_hash32(id) & mask;; i = (i + 1) & mask) {
		uint32_t v = m->hmap[i];
		if (!v)
			return NULL;
		if (m->heaps[v - 1].id == id)
			return &m->heaps[v - 1];
	}
}

#define HEAP_WHAT "the replayed heap (its heap table)"

/* Heap h may hold something a loss resets from now on: in the dirty list. */
static bool heap_touch(ravt_model *m, ravt_mheap *h)
{
	if (h->dirty)
		return true;
	if (m->ndirty == m->dirty_cap) {
		uint32_t ncap = m->dirty_cap ? m->dirty_cap * 2 : 16;
		if (!ravt_budget_charge(m->budget, (uint64_t)(ncap - m->dirty_cap) * sizeof *m->dirty, HEAP_WHAT))
			return false;
		uint32_t *nd = realloc(m->dirty, sizeof *nd * ncap);
		if (!nd)
			return false;
		m->dirty = nd;
		m->dirty_cap = ncap;
	}
	m->dirty[m->ndirty++] = (uint32_t)(h - m->heaps);
	h->dirty = true;
	return true;
}

ravt_mheap *ravt_heap_get(ravt_model *m, uint32_t id, uint8_t kind)
{
	ravt_mheap *h = ravt_heap_find(m, id);
	if (h)
		return heap_touch(m, h) ? h : NULL;
	if (m->nheaps == m->heap_cap) {
		uint32_t ncap = m->heap_cap ? m->heap_cap * 2 : 16;
		if (!ravt_budget_charge(m->budget, (uint64_t)(ncap - m->heap_cap) * sizeof *h, HEAP_WHAT))
			return NULL;
		ravt_mheap *nh = realloc(m->heaps, sizeof *nh * ncap);
		if (!nh)
			return NULL;
		m->heaps = nh;
		m->heap_cap = ncap;
	}
	if ((m->nheaps + 1) * 2 > m->hmap_cap) {
		uint32_t ncap = m->hmap_cap ? m->hmap_cap * 2 : 32;
		if (!ravt_budget_charge(m->budget, (uint64_t)(ncap - m->hmap_cap) * sizeof(uint32_t),
		                        HEAP_WHAT))
			return NULL;
		uint32_t *nm = calloc(ncap, sizeof *nm);
		if (!nm)
			return NULL;
		for (uint32_t k = 0; k < m->nheaps; k++) {
			uint32_t i = ravt_hash32(m->heaps[k].id) & (ncap - 1);
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
	h->anchor = RAVT_NO_PAGE;
	h->head = h->tail = h->nhead = h->ntail = RAVT_NO_PAGE;
	uint32_t i = ravt_hash32(id) & (m->hmap_cap - 1);
	while (m->hmap[i])
		i = (i + 1) & (m->hmap_cap - 1);
	m->hmap[i] = ++m->nheaps;
	return heap_touch(m, h) ? h : NULL;
}

/* ---- a heap's page lists ------------------------------------------------------
 * Links live in the page blocks, so changing a neighbour's link makes its
 * block writable (a copy when a keyframe shares it). */

static bool set_next(ravt_model *m, uint32_t pg, uint32_t v, bool sub)
{
	ravt_mpage *p = ravt_page_w(m, pg);
	if (!p)
		return false;
	*(sub ? &p->nnext : &p->next) = v;
	return true;
}

static bool set_prev(ravt_model *m, uint32_t pg, uint32_t v, bool sub)
{
	ravt_mpage *p = ravt_page_w(m, pg);
	if (!p)
		return false;
	*(sub ? &p->nprev : &p->prev) = v;
	return true;
}

/* Link pg into one of h's lists before `before` (RAVT_NO_PAGE: at the end). */
static bool link_in(ravt_model *m, ravt_mheap *h, uint32_t pg, uint32_t before, bool sub)
{
	uint32_t *head = sub ? &h->nhead : &h->head, *tail = sub ? &h->ntail : &h->tail;
	uint32_t prev =
	    before == RAVT_NO_PAGE ? *tail : (sub ? ravt_page_at(m, before)->nprev : ravt_page_at(m, before)->prev);
	ravt_mpage *p = ravt_page_at(m, pg);
	*(sub ? &p->nprev : &p->prev) = prev;
	*(sub ? &p->nnext : &p->next) = before;
	if (prev == RAVT_NO_PAGE)
		*head = pg;
	else if (!set_next(m, prev, pg, sub))
		return false;
	if (before == RAVT_NO_PAGE)
		*tail = pg;
	else if (!set_prev(m, before, pg, sub))
		return false;
	return true;
}

static bool link_out(ravt_model *m, ravt_mheap *h, uint32_t pg, bool sub)
{
	const ravt_mpage *p = ravt_page_at(m, pg);
	uint32_t prev = sub ? p->nprev : p->prev, next = sub ? p->nnext : p->next;
	if (prev == RAVT_NO_PAGE)
		*(sub ? &h->nhead : &h->head) = next;
	else if (!set_next(m, prev, next, sub))
		return false;
	if (next == RAVT_NO_PAGE)
		*(sub ? &h->ntail : &h->tail) = prev;
	else if (!set_prev(m, next, prev, sub))
		return false;
	return true;
}

bool ravt_heap_insert(ravt_model *m, ravt_mheap *h, uint32_t pg, uint32_t before)
{
	if (!heap_touch(m, h))
		return false;
	h->list_changes++;
	if (!link_in(m, h, pg, before, false))
		return false;
	h->npages++;
	if (ravt_page_at(m, pg)->kind != RAV_SPAGE_ROOT)
		return link_in(m, h, pg, before, true);
	ravt_page_at(m, pg)->nnext = ravt_page_at(m, pg)->nprev = RAVT_NO_PAGE;
	return true;
}

ravt_mpage *ravt_page_regive(ravt_model *m, uint32_t pg, ravt_mheap *to, ravt_mheap **from_out)
{
	ravt_mpage *p = ravt_page_w(m, pg);
	if (!p || !heap_touch(m, to))
		return NULL;
	ravt_mheap *from = ravt_owner_of(m, p);
	*from_out = from;
	if (from) {
		if (!ravt_heap_remove(m, from, pg))
			return NULL;
		p = ravt_page_at(m, pg);
		from->live -= p->live - p->rootc;
		from->dead -= p->dead;
		from->refc -= p->refc;
	}
	to->live += p->live - p->rootc;
	to->dead += p->dead;
	to->refc += p->refc;
	return p;
}

bool ravt_heap_remove(ravt_model *m, ravt_mheap *h, uint32_t pg)
{
	h->list_changes++;
	if (!ravt_page_w(m, pg) || !link_out(m, h, pg, false))
		return false;
	h->npages--;
	if (h->anchor == pg)
		h->anchor = RAVT_NO_PAGE;
	if (ravt_page_at(m, pg)->kind != RAV_SPAGE_ROOT && !link_out(m, h, pg, true))
		return false;
	ravt_mpage *p = ravt_page_at(m, pg);
	p->next = p->prev = p->nnext = p->nprev = RAVT_NO_PAGE;
	return true;
}

/* ---- errors ----------------------------------------------------------------- */

int ravt_model_oom(ravt_model *m, const rav_event *ev)
{
	if (ravt_budget_error(m->budget, &m->err))
		return -1;
	return ravt_model_fail(m, ev, "out of memory");
}

int ravt_model_fail(ravt_model *m, const rav_event *ev, const char *fmt, ...)
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

const char *ravt_cell_state_name(uint8_t st)
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

ravt_mpage *ravt_model_fail_place(ravt_model *m, const rav_event *ev, rav_loc l, const char *what)
{
	uint32_t pg = rav_loc_page(l), c = rav_loc_cell(l);
	const ravt_mpage *p = !(l & RAV_LOC_EXTERNAL) ? ravt_page_r(m, pg) : NULL;
	char b[80];
	fmt_loc(b, sizeof b, l);
	if (l & RAV_LOC_EXTERNAL)
		ravt_model_fail(m, ev, "%s is %s, outside the ravioli pool", what, b);
	else if (c >= m->cpp)
		ravt_model_fail(m, ev, "%s (%s) is past the last cell of a page (%u cells per page)", what, b,
		                m->cpp);
	else
		ravt_model_fail(m, ev, "%s (%s) is in page %u, which no heap owns (%s)", what, b, pg,
		                p ? "released to the pool" : "never acquired");
	return NULL;
}

/* ---- pages handed to a message (format 1.6) --------------------------------- */

int ravt_model_page_to_msg(ravt_model *m, const rav_event *ev, ravt_mheap **from_out, ravt_mheap **to_out)
{
	/* Plain numbers in the generic shape: a the page, b the giver, c the
	 * page it goes before + 1 (0: at the end), aux the page's fill. */
	uint64_t pg64 = ev->a;
	uint32_t fill = ev->aux;
	const ravt_mpage *pr = pg64 < m->span ? ravt_page_at(m, (uint32_t)pg64) : NULL;
	if (!pr || pr->kind == RAV_SPAGE_POOL)
		return ravt_model_fail(m, ev, "page %llu is handed from heap %llu to message %u but no heap owns it",
		                       (unsigned long long)pg64, (unsigned long long)ev->b, ev->x);
	uint32_t pg = (uint32_t)pg64;
	if (pr->owner != ev->b)
		return ravt_model_fail(m, ev, "page %u is handed from heap %llu to message %u but heap %u owns it",
		                       pg, (unsigned long long)ev->b, ev->x, pr->owner);
	if (pr->kind == RAV_SPAGE_ROOT)
		return ravt_model_fail(m, ev, "page %u handed to message %u is a root page", pg, ev->x);
	ravt_mheap *to = ravt_heap_find(m, ev->x);
	if (!to || to->kind != RAV_HEAP_MESSAGE || !to->alive || to->in_flight)
		return ravt_model_fail(m, ev, "page %u is handed to heap %u, which is %s", pg, ev->x,
		                       !to             ? "not known"
		                       : to->kind != RAV_HEAP_MESSAGE ? "not a message"
		                       : !to->alive    ? "gone"
		                                       : "a message already sent");
	if (ev->x == ev->b)
		return ravt_model_fail(m, ev, "message %u hands page %u to itself", ev->x, pg);
	if (fill < 1 || fill > m->cpp || fill != pr->fill)
		return ravt_model_fail(m, ev,
		                       "page %u goes to message %u with its cells below %u, but its cells in use "
		                       "end at %u (of %u)",
		                       pg, ev->x, fill, pr->fill, m->cpp);
	uint32_t hidx_to = (uint32_t)(to - m->heaps) + 1, before = RAVT_NO_PAGE;
	if (ev->c) {
		const ravt_mpage *b = ev->c - 1 < m->span ? ravt_page_at(m, (uint32_t)(ev->c - 1)) : NULL;
		if (!b || b->kind == RAV_SPAGE_POOL || b->hidx != hidx_to || ev->c - 1 == pg)
			return ravt_model_fail(m, ev,
			                       "page %u goes to message %u before page %llu, which is not one of "
			                       "that message's pages",
			                       pg, ev->x, (unsigned long long)(ev->c - 1));
		before = (uint32_t)(ev->c - 1);
	}
	ravt_mheap *from;
	ravt_mpage *p = ravt_page_regive(m, pg, to, &from);
	if (!p)
		return ravt_model_oom(m, ev);
	p->kind = RAV_SPAGE_BUFFER;
	p->ekind = RAV_PAGE_BUFFER;
	if (!ravt_heap_insert(m, to, pg, before))
		return ravt_model_oom(m, ev);
	p = ravt_page_at(m, pg);
	p->owner = ev->x;
	p->hidx = hidx_to;
	*from_out = from;
	*to_out = to;
	return 0;
}
