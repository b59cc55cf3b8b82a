/* replay-model.h - the heap image replay rebuilds, shared by the replay
 * files:
 *
 *   replay-model.c    the image: copy-on-write page blocks, heaps, copying a model
 *   replay-pages.c    the page table: two levels, leaves shared copy-on-write
 *   replay-arena.c    where cell blocks live: 2 MB slabs, huge pages where allowed
 *   replay-apply.h    one event applied and checked (inline: two hot loops use it)
 *   replay-index.c    the replay consumer: live model, keyframes, feeding series and history
 *   replay-state.c    rav_state: seek, step, and what a state shows
 *   replay-history.c  the history of one cell, with a per-block page filter
 *
 * The model keeps, per page in use, a small block with the page's meta
 * data (kind, owner, fill, live/dead counts) and pointers to its cell blocks
 * of RAVT_CB_CELLS cells (words and cell states).  Page blocks and cell
 * blocks are reference counted and copied on write: a keyframe is a copy of
 * the page table's top level plus small per-heap data, and costs memory
 * only for the cell blocks that change before the next one (about half a
 * kilobyte per touched block, not a whole page).
 *
 * The page table has two levels: a top array of pointers to leaves of
 * RAVT_LEAF_PAGES page block pointers (and the pool flags of those pages),
 * the top sized by the highest page index named (8 bytes per 64 indices:
 * 2 MiB at the format's largest, 2^24 pages), leaves only where pages
 * exist (the others point at the shared empty leaf).  Leaves are reference
 * counted and copied on write like the blocks: a copy of a model shares
 * them all, and a page block's count counts the leaves that point at it,
 * so a page block may be written in place only when its leaf's count and
 * its own are both 1 (ravt_page_w).
 *
 * A heap's pages are a doubly linked list through the page blocks, in the
 * engine's list order, with a second list through its pages that are not
 * root pages (the engine links arriving message pages before the last of
 * those when it is empty): taking a page out, handing it over and finding
 * where an arriving page goes are O(1) however many pages a heap has.
 * rav_state_heap_at writes a heap's list out as an array when asked.
 *
 * The live model charges what it holds to the trace's memory budget
 * (budget.h): its page table, page blocks, the cell blocks it writes and
 * its heaps.  Copies (keyframes, states) carry no budget; keyframes have
 * their own.
 */
#ifndef RAVT_REPLAY_MODEL_H
#define RAVT_REPLAY_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "rav-record.h"
#include "ravtrace.h"

#define RAVT_NO_PAGE UINT32_MAX
/* Type ids have RAV_TYPE_BITS bits: the field kinds of every one. */
#define RAVT_MAX_TYPES ((uint32_t)RAV_TYPE_MASK + 1)
#define RAVT_TYPE_ID(w) ((uint16_t)((w)&RAV_TYPE_MASK))

/* A cell block: the words and states of RAVT_CB_CELLS consecutive cells,
 * the unit of copy-on-write. */
#ifndef RAVT_CB_SHIFT
#define RAVT_CB_SHIFT 4u
#endif
#define RAVT_CB_CELLS (1u << RAVT_CB_SHIFT)
#define RAVT_CB_INDEX(c) ((c) & (RAVT_CB_CELLS - 1))

/* Line-aligned (576 bytes): a cell's four words are half a cache line, and
 * the states and count share the first line (2 lines read per event, not 3
 * when a cell straddles two). */
typedef struct ravt_cellblock {
	atomic_uint refs;
	uint8_t st[RAVT_CB_CELLS]; /* rav_cell_state */
	_Alignas(64) uint64_t w[RAVT_CB_CELLS * 4];
} ravt_cellblock;

/* Cell blocks come from 2 MB slabs that may be backed by huge pages
 * (replay-arena.c); any thread may give one back.  NULL: out of memory. */
ravt_cellblock *ravt_arena_alloc(void);
void ravt_arena_free(ravt_cellblock *k);
/* Up to n blocks into out[] under one lock; how many.  And n blocks
 * given back under one lock. */
size_t ravt_arena_alloc_batch(void **out, size_t n);
void ravt_arena_free_batch(void *const *blocks, size_t n);
/* Whether memory of its own is best advised huge pages here, as the
 * arena's slabs are (the packs: replay-pack.c); false under ASan. */
bool ravt_arena_huge(void);

typedef struct ravt_mpage {
	atomic_uint refs;
	uint8_t kind;   /* rav_state_page_kind */
	uint8_t ekind;  /* engine page kind (rav_page_kind) as acquired */
	uint32_t owner; /* heap id */
	uint32_t hidx;  /* owner's index in the model's heap array + 1 (0: none); heaps are never removed */
	uint32_t fill, live, dead, refc;
	uint32_t rootc;        /* root cells among the live (the engine does not count them as live) */
	uint32_t next, prev;   /* the owner's page list (RAVT_NO_PAGE at its ends) */
	uint32_t nnext, nprev; /* its list of pages that are not root pages (this page is not one) */
	/* Bit i set: cb[i] is this block's alone (count
	 * 1, no other page block points at it), so a holder of this page
	 * block that may write it (its count 1) writes cb[i] without reading
	 * cb[i]'s count, and the indexing loop knows which cell blocks a
	 * write will copy from the page block alone (ravt_prefetch_cell).  A
	 * clear bit says nothing (the count decides).  Set only where a block
	 * was made or its count seen at 1 by the page's only holder; cleared
	 * in both page blocks when one is copied from the other (the copy
	 * shares the cell blocks) and where a slot gets a shared block. */
	atomic_uint priv;
	ravt_cellblock *cb[]; /* ceil(cells per page / RAVT_CB_CELLS) */
} ravt_mpage;
/* Bits are set only in models of at most RAVT_PRIV_BITS cell blocks a
 * page (the usual geometry has 8; a page of more has none set), so the
 * test needs no bound: i & 31 costs nothing (x86 shifts mask their count),
 * a compare and a select per write did (callgrind, young trace). */
#define RAVT_PRIV_BITS 32u
static inline bool ravt_priv_has(uint32_t priv, uint32_t i)
{
	return (priv >> (i & (RAVT_PRIV_BITS - 1))) & 1u;
}

/* A leaf of the page table: the page blocks of RAVT_LEAF_PAGES consecutive
 * page indices (NULL: no page block) and which of them went back to the
 * pool (bit i: page i of the leaf). */
#define RAVT_LEAF_SHIFT 6u
#define RAVT_LEAF_PAGES (1u << RAVT_LEAF_SHIFT)
#define RAVT_LEAF_INDEX(pg) ((pg) & (RAVT_LEAF_PAGES - 1))
typedef struct ravt_pleaf {
	atomic_uint refs;
	uint64_t pool;
	ravt_mpage *pg[RAVT_LEAF_PAGES];
} ravt_pleaf;
/* Every slot of the top level without a leaf points here (immortal: its
 * count is never 1, so writing through it makes a leaf first). */
extern ravt_pleaf ravt_empty_leaf;

/* The field kinds of every type id (bit 0 f0 ref, bit 1 f1 ref, bit 7
 * defined), shared by copies of a model until a type is defined. */
typedef struct ravt_typekinds {
	atomic_uint refs;
	uint8_t k[RAVT_MAX_TYPES];
} ravt_typekinds;

typedef struct ravt_mheap {
	uint32_t id;
	uint32_t parent;
	uint8_t kind;
	bool alive, in_flight;
	bool dirty; /* in the model's dirty list (touched since the last loss) */
	uint32_t npages;
	uint32_t head, tail;   /* its page list (RAVT_NO_PAGE: empty) */
	uint32_t nhead, ntail; /* its list of pages that are not root pages */
	uint64_t live, refc, dead;
	uint32_t anchor; /* arriving message pages go before this page (RAVT_NO_PAGE: append) */
	/* bumped whenever a page joins or leaves the list: lets a state keep
	 * the list written out as an array until it changes (a walk of the
	 * list costs a cache miss per page; the viewer asks every frame) */
	uint32_t list_changes;
} ravt_mheap;

/* Freed page and cell blocks kept for reuse by one thread's models: a seek
 * drops the blocks of the state's previous position and copies as many
 * again, and indexing drops a thinned keyframe's while the live model
 * copies more; through malloc and free that was a quarter of a seek in a
 * heap churned uniformly (glibc coalesces and splits them each time).  A
 * cache is used by one thread at a time (the owner of the models that
 * point at it) and holds at most RAVT_CACHE_MAX_BYTES (not charged to the
 * memory budget: a fixed amount per state and one for indexing). */
typedef struct ravt_blockcache {
	/* cell blocks: a stack of pointers, so that a pop does not wait for
	 * the memory of the block popped (as a list linked through the blocks
	 * did) and the blocks a few pops ahead can be asked for */
	void **cells;
	size_t ncells, cells_cap;
	void *pages; /* page blocks: a free list linked through their first bytes */
	size_t npages;
	size_t page_bytes; /* size of the page blocks kept (one trace's geometry) */
	/* Cell blocks a copy on write dropped that others still held (the
	 * count above 1), their counts not yet decremented: when `defer` is
	 * set (the indexing thread's cache), up to RAVT_UNREF_MAX wait for
	 * ravt_model_unref_flush.  The decrement is a locked instruction, which
	 * waited for the copy's stores to reach the cache (perf: a quarter of
	 * ravt_block_w_copy's samples in a heap churned uniformly); a batch of
	 * them waits once.  A count too high for a while only delays a
	 * release: the live model never holds a block it dropped again, and
	 * the indexing thread flushes before a keyframe is taken, packed or
	 * thinned (the packer reads the counts). */
	bool defer;
	uint32_t nunref;
	void *unref[64];
} ravt_blockcache;
#define RAVT_UNREF_MAX 64u
#define RAVT_CACHE_MAX_BYTES ((size_t)32 << 20)
void ravt_blockcache_clear(ravt_blockcache *c);

typedef struct ravt_model {
	uint32_t cpp, page_size, cell_size;
	uint8_t word_size;
	uint32_t ncb;       /* cell blocks per page */
	size_t block_size;  /* bytes of a page block (meta data and cell block pointers) */
	/* page table: 1 + highest page seen; top slots allocated (at least
	 * ravt_model_nleaves: the others are not initialised) */
	uint32_t span, cap;
	ravt_pleaf **top;
	/* the indices whose page block is not NULL, so that forgetting every
	 * page (a lost event) costs the pages known, not the page table */
	uint32_t *known;
	uint32_t nknown, known_cap;
	ravt_mheap *heaps;
	uint32_t nheaps, heap_cap;
	uint32_t *hmap; /* open addressing: heap id -> index + 1 */
	uint32_t hmap_cap;
	/* the heaps touched since the last loss (ravt_model_drop_pages): a
	 * loss resets those, not every heap the trace ever had (100,000 heaps
	 * and as many lost events made 10^10 resets: hostile-gen kf-lost-heaps) */
	uint32_t *dirty;
	uint32_t ndirty, dirty_cap;
	ravt_typekinds *tkinds;
	rav_state_totals tot;
	uint64_t pos;        /* index of the next event to apply */
	uint64_t copied;     /* bytes copied on write from shared blocks (keyframe accounting) */
	ravt_budget *budget; /* the live model's; NULL for copies */
	ravt_blockcache *cache; /* where freed blocks go and copies come from (NULL: malloc) */
	rav_trace_error err;
} ravt_model;

/* Shared all-empty cell blocks: a fresh page points at them until written. */
extern ravt_cellblock ravt_zero_block, ravt_header_block;
/* Where a keyframe's block was packed (replay-pack.h): only keyframes
 * point at it, and a copy of one is unpacked before it is used. */
extern ravt_cellblock ravt_packed_block;

/* ---- replay-model.c ---- */

/* tkinds is NULL afterwards when out of memory; cpp is 0 for unusable
 * sizes.  budget: the live model's (may be NULL). */
void ravt_model_init(ravt_model *m, uint32_t page_size, uint32_t cell_size, uint8_t word_size,
                     ravt_budget *budget);
void ravt_model_clear(ravt_model *m);
/* Copy src into dst (dst cleared first), sharing the page table's leaves
 * and the type table; the copy carries no budget, and dst keeps its block
 * cache. */
bool ravt_model_copy(ravt_model *dst, const ravt_model *src);
ravt_mpage *ravt_page_new(ravt_model *m);
void ravt_page_clear_cells(ravt_model *m, ravt_mpage *p);
/* Page block p's count up, and down (released when it reaches 0). */
void ravt_page_ref(ravt_mpage *p);
void ravt_page_unref(const ravt_model *m, ravt_mpage *p);
/* Cell block k is one of the shared all-empty ones (not counted, not charged). */
static inline bool ravt_block_static(const ravt_cellblock *k)
{
	return k == &ravt_zero_block || k == &ravt_header_block;
}
ravt_mpage *ravt_page_w_copy(ravt_model *m, uint32_t page);
ravt_cellblock *ravt_block_w_copy(ravt_model *m, ravt_mpage *p, uint32_t c);
/* A cell block of the model's cache or malloc, counted once, contents
 * undefined; and giving one back (its count at 1, ours alone). */
ravt_cellblock *ravt_cell_new(const ravt_model *m);
void ravt_cell_release(const ravt_model *m, ravt_cellblock *k);
/* The deferred decrements of m's cache done (blocks whose count reaches 0
 * go to the cache).  Nothing when there is no cache or none waits. */
void ravt_model_unref_flush(const ravt_model *m);
/* Define type id's field kinds (copying the shared table first). */
bool ravt_model_define_type(ravt_model *m, uint32_t id, uint8_t fields);
static inline uint8_t ravt_type_kinds(const ravt_model *m, uint32_t id)
{
	return id < RAVT_MAX_TYPES ? m->tkinds->k[id] : 0;
}
ravt_mheap *ravt_heap_find(const ravt_model *m, uint32_t id);
ravt_mheap *ravt_heap_get(ravt_model *m, uint32_t id, uint8_t kind);
/* The heap's list: add page pg (owned by h now, its block writable) at
 * the end, or before page `before` (RAVT_NO_PAGE: at the end); take it
 * out.  false when out of memory (a neighbour's block is copied on write). */
bool ravt_heap_insert(ravt_model *m, ravt_mheap *h, uint32_t pg, uint32_t before);
bool ravt_heap_remove(ravt_model *m, ravt_mheap *h, uint32_t pg);
/* Page pg changes hands: out of its owner's list (if any), its cell counts
 * from the owner (*from_out, NULL if none) to `to` (the caller links it into
 * to's list).  The page,
 * which may have moved; NULL when out of memory. */
ravt_mpage *ravt_page_regive(ravt_model *m, uint32_t pg, ravt_mheap *to, ravt_mheap **from_out);
/* A page-to-msg event (format 1.6): the page leaves its heap's list for
 * the message's, checked first.  0 with the two heaps, or -1 with m->err. */
int ravt_model_page_to_msg(ravt_model *m, const rav_event *ev, ravt_mheap **from, ravt_mheap **to);
/* Records a RAV_TRACE_EREPLAY error naming the event in m->err; returns -1. */
int ravt_model_fail(ravt_model *m, const rav_event *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An allocation failed: the trace's memory limit (RAV_TRACE_ELIMIT) when
 * the budget refused it, else out of memory.  Returns -1. */
int ravt_model_oom(ravt_model *m, const rav_event *ev);
/* The error for a cell location that names no usable cell (returns NULL). */
ravt_mpage *ravt_model_fail_place(ravt_model *m, const rav_event *ev, rav_loc l, const char *what);
const char *ravt_cell_state_name(uint8_t st);

/* ---- replay-pages.c: the page table ---- */

/* Top slots in use: one per RAVT_LEAF_PAGES pages of the span. */
static inline uint32_t ravt_model_nleaves(const ravt_model *m)
{
	return (uint32_t)(((uint64_t)m->span + RAVT_LEAF_PAGES - 1) >> RAVT_LEAF_SHIFT);
}
/* The span grown to hold page `page` (the top level charged to the
 * budget); false when out of memory or over the budget. */
bool ravt_model_ensure_span(ravt_model *m, uint32_t page);
/* The table's leaves released and its top freed (span 0). */
void ravt_pages_clear(ravt_model *m);
/* dst's table (empty) made a copy of src's, sharing its leaves. */
bool ravt_pages_copy(ravt_model *dst, const ravt_model *src);
/* The leaf of page pg (within the span) made the model's own: copied if
 * shared, made if empty (charged).  NULL when out of memory. */
ravt_pleaf *ravt_leaf_w_copy(ravt_model *m, uint32_t pg);
/* A new page block at page pg (whose slot is NULL, within the span),
 * recorded among the known pages.  NULL when out of memory. */
ravt_mpage *ravt_model_new_page_at(ravt_model *m, uint32_t pg);
/* No page is known any more (what a loss does): every page block goes,
 * heaps keep their ids but own nothing.  Costs the pages known and the
 * heaps touched since the last loss (the dirty list, which the caller
 * then empties). */
void ravt_model_drop_pages(ravt_model *m);
/* Memory a keyframe holds alone: its tables, and the leaves and blocks
 * that differ from the next model's at the same index (packed ones not
 * counted). */
uint64_t ravt_model_own_bytes(const ravt_model *k, const ravt_model *next);
/* Bytes of a model's tables (the page table's top level, heaps, types). */
uint64_t ravt_model_table_bytes(const ravt_model *m);

/* ---- access ---- */

static inline uint8_t ravt_cell_st(const ravt_mpage *p, uint32_t c)
{
	return p->cb[c >> RAVT_CB_SHIFT]->st[RAVT_CB_INDEX(c)];
}

static inline const uint64_t *ravt_cell_words(const ravt_mpage *p, uint32_t c)
{
	return p->cb[c >> RAVT_CB_SHIFT]->w + (size_t)RAVT_CB_INDEX(c) * 4;
}

static inline ravt_pleaf *ravt_leaf_at(const ravt_model *m, uint32_t page)
{
	return m->top[page >> RAVT_LEAF_SHIFT];
}

/* The page block at page (within the span; NULL: none). */
static inline ravt_mpage *ravt_page_at(const ravt_model *m, uint32_t page)
{
	return ravt_leaf_at(m, page)->pg[RAVT_LEAF_INDEX(page)];
}

static inline const ravt_mpage *ravt_page_r(const ravt_model *m, uint32_t page)
{
	return page < m->span ? ravt_page_at(m, page) : NULL;
}

/* Whether page (within the span) went back to the pool. */
static inline bool ravt_pool_at(const ravt_model *m, uint32_t page)
{
	return (ravt_leaf_at(m, page)->pool >> RAVT_LEAF_INDEX(page)) & 1u;
}

/* The leaf of page (within the span) made the model's own (NULL: out of memory). */
static inline ravt_pleaf *ravt_leaf_w(ravt_model *m, uint32_t page)
{
	ravt_pleaf *l = ravt_leaf_at(m, page);
	if (__builtin_expect(atomic_load_explicit(&l->refs, memory_order_acquire) == 1, 1))
		return l;
	return ravt_leaf_w_copy(m, page);
}

/* Set page's pool flag; its leaf must be the model's own (ravt_page_w,
 * ravt_model_new_page_at or ravt_leaf_w made it so). */
static inline void ravt_pool_set(ravt_model *m, uint32_t page, bool pool)
{
	ravt_pleaf *l = ravt_leaf_at(m, page);
	uint64_t bit = (uint64_t)1 << RAVT_LEAF_INDEX(page);
	l->pool = pool ? l->pool | bit : l->pool & ~bit;
}

/* Writable block of page `page` (within the span; its leaf and the block
 * copied first if shared).  NULL when there is none or out of memory. */
static inline ravt_mpage *ravt_page_w(ravt_model *m, uint32_t page)
{
	ravt_pleaf *l = ravt_leaf_at(m, page);
	ravt_mpage *p = l->pg[RAVT_LEAF_INDEX(page)];
	if (__builtin_expect(!p || (atomic_load_explicit(&l->refs, memory_order_acquire) == 1 &&
	                            atomic_load_explicit(&p->refs, memory_order_acquire) == 1),
	                     1))
		return p;
	return ravt_page_w_copy(m, page);
}

/* The same for the page block p found at `page` (not NULL) in leaf l,
 * nothing written since: neither the top nor the slot is looked up again
 * (the writes of the apply loop, which found the page to check the event
 * first: ravt_cell_page).  The slot was m->top's and the page block its
 * leaf's then; apply's stores in between (the history marks, the series'
 * counts) are to memory of neither. */
static inline ravt_mpage *ravt_page_w_have(ravt_model *m, uint32_t page, const ravt_pleaf *l, ravt_mpage *p)
{
	if (__builtin_expect(atomic_load_explicit(&l->refs, memory_order_acquire) == 1 &&
	                         atomic_load_explicit(&p->refs, memory_order_acquire) == 1,
	                     1))
		return p;
	return ravt_page_w_copy(m, page);
}

/* Writable cell block holding cell c of the writable page p (copied if shared). */
static inline ravt_cellblock *ravt_block_w(ravt_model *m, ravt_mpage *p, uint32_t c)
{
	uint32_t i = c >> RAVT_CB_SHIFT;
	ravt_cellblock *k = p->cb[i];
	uint32_t priv = atomic_load_explicit(&p->priv, memory_order_relaxed);
	if (__builtin_expect(ravt_priv_has(priv, i), 1))
		return k;
	if (atomic_load_explicit(&k->refs, memory_order_acquire) == 1) {
		if (m->ncb <= RAVT_PRIV_BITS)
			atomic_store_explicit(&p->priv, priv | 1u << i, memory_order_relaxed);
		return k;
	}
	return ravt_block_w_copy(m, p, c);
}

static inline ravt_mheap *ravt_owner_of(ravt_model *m, const ravt_mpage *p)
{
	return p->hidx ? &m->heaps[p->hidx - 1] : NULL;
}

#endif /* RAVT_REPLAY_MODEL_H */
