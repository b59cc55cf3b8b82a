/* rav-private.h - internals shared by the engine's source files.
 *
 * Layout of a heap (thread heap or message heap):
 *   - a doubly linked list of data pages (links in each page's header cell);
 *     every page before `top_page` is full, `top_page` holds the top of the
 *     heap, and at most one empty "spare" page may follow it (hysteresis);
 *   - thread heaps: live ravioli are packed with no gaps, except for dead
 *     cells waiting for compaction (deferred mode) which sit on `dead`;
 *   - message heaps: bump allocation into buffer pages that are never
 *     compacted; a freed cell stays a dead hole until the message arrives;
 *   - a separate list of root pages whose cells (RAV_TYPE_ROOT) hold root
 *     slots.  Root cells never move.
 *
 * Page header cell: w[0] type word (RAV_TYPE_HEADER, scalar = fill | kind << 32),
 * w[1] next page, w[2] previous page, w[3] owning heap (NULL in the pool).
 *
 * Words that hold references contain plain cell addresses (cells are aligned
 * to their size, so the low 5 bits are zero).  Back-links contain slot
 * addresses (8-aligned): cell_of(slot) finds the cell, word_of(slot) the field.
 * A free root slot is on its heap's free-slot stack and flagged in its root
 * cell's type word (RAV_FLAG_ROOT_FREE), so a root freed twice is caught.
 *
 * Over 800 lines because it is the one definition of the heap's layout
 * (struct rav_heap, the page header, the type word) together with the
 * inline helpers every engine file compiles against it; the hot paths' own
 * inline steps are in heap-inline.h already.
 */
#ifndef RAV_PRIVATE_H
#define RAV_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "ravioli.h"
#include "rav-record.h"
#include "pool-decay.h"

#if RAV_VALGRIND
#include <valgrind/helgrind.h>
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#endif

#define RAV_LIKELY(x) __builtin_expect(!!(x), 1)
#define RAV_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The engine's own variables that nothing outside the library reads (the
 * version script keeps them local to libravioli.so anyway): declared
 * hidden, the engine's code reads them straight by address instead of
 * through the GOT (one load, not a load of the address and a load; in
 * the static library, which the linker relaxes to an lea, one instruction
 * fewer a read: callgrind, rav-bench trace-record, 0.3 per event on the
 * recording paths, which read rav__debugger, the site and epoch
 * variables and the recorder).  Not for the variables ravioli.h's inline
 * paths read: those stay exported. */
#define RAV_INTERNAL __attribute__((visibility("hidden")))

#define CELLS ((unsigned)RAV_PAGE_CELLS)
#define PAGE_MASK ((uintptr_t)RAV_PAGE_SIZE - 1)

_Static_assert((RAV_PAGE_SIZE & (RAV_PAGE_SIZE - 1)) == 0, "page size must be a power of two");
_Static_assert(sizeof(rav_cell) == RAV_CELL_SIZE, "cell size");
_Static_assert(RAV_PAGE_CELLS >= 8, "pages must hold at least 8 cells");
/* The cascade and the debug checks tell every cell that is not a raviolo
 * of a program's (or the engine's vectors) by one compare. */
_Static_assert(RAV_TYPE_EMPTY < RAV_TYPE_DEAD && RAV_TYPE_HEADER < RAV_TYPE_DEAD && RAV_TYPE_REF < RAV_TYPE_DEAD &&
		       RAV_TYPE_ROOT < RAV_TYPE_DEAD && RAV_TYPE_VEC > RAV_TYPE_DEAD,
	       "engine cell types come first");

/* ---- cell helpers ---- */

static inline rav_cell *cell_of(const void *addr)
{
	return (rav_cell *)((uintptr_t)addr & ~(uintptr_t)(RAV_CELL_SIZE - 1));
}
static inline unsigned word_of(const void *addr)
{
	return (unsigned)(((uintptr_t)addr & (RAV_CELL_SIZE - 1)) / sizeof(uintptr_t));
}
static inline rav_cell *page_of(const void *addr)
{
	return (rav_cell *)((uintptr_t)addr & ~PAGE_MASK);
}
static inline unsigned slot_in_page(const void *addr)
{
	return (unsigned)(((uintptr_t)addr & PAGE_MASK) / RAV_CELL_SIZE);
}
static inline rav_type cell_type(const rav_cell *c) { return (rav_type)(c->w[0] & RAV_TYPE_MASK); }
static inline uintptr_t cell_scalar(const rav_cell *c) { return c->w[0] >> RAV_SCALAR_SHIFT; }
static inline uintptr_t make_tw(rav_type t, uintptr_t flags, uintptr_t scalar)
{
	return (uintptr_t)t | flags | (scalar << RAV_SCALAR_SHIFT);
}

/* Bit f set in the mask = payload field f (word f+1) is a reference.
 * Reference ravioli report their forward link (word 1) as reference. */
extern uint8_t rav__refmask[RAV_TYPE_MAX];
static inline unsigned type_refmask(rav_type t) { return rav__refmask[t]; }

/* In cell p (what a slot points at), the back-link word naming `slot`. */
static inline uintptr_t *backlink_slot_of(rav_cell *p, const uintptr_t *slot)
{
	if (cell_type(p) == RAV_TYPE_REF)
		return p->w[RAV_W_BACK1] == (uintptr_t)slot ? &p->w[RAV_W_BACK1] : &p->w[RAV_W_BACK2];
	return &p->w[RAV_W_BACK];
}

/* ---- page header ---- */

enum { PH_NEXT = RAV_HEADER_W_NEXT, PH_PREV = RAV_HEADER_W_PREV, PH_OWNER = RAV_HEADER_W_OWNER };

static inline unsigned page_fill(const rav_cell *p) { return (unsigned)(cell_scalar(p) & 0xffffffffu); }
static inline unsigned page_kind(const rav_cell *p) { return (unsigned)(cell_scalar(p) >> RAV_HEADER_KIND_SHIFT); }
static inline void page_set(rav_cell *p, unsigned fill, unsigned kind)
{
	p->w[0] = make_tw(RAV_TYPE_HEADER, 0, (uintptr_t)fill | ((uintptr_t)kind << RAV_HEADER_KIND_SHIFT));
}
/* A dirty page: empty (fill 1), but its cells still hold what they held
 * when the whole page was trimmed at once (compact.c, trim_run): zeroing a
 * page nobody will read again would be a pass over cold memory.  It is
 * zeroed when it is used again (rav__page_acquire, or grow taking the
 * spare), where the allocations about to write it bring it into cache
 * anyway.  A dirty page is the spare page after the top, a free page in
 * the pool (the flag survives there; a page given back to the OS comes
 * back zero, flag included), or a thread heap's top page: grow() takes a
 * dirty page as the top page without zeroing it, since every allocation
 * writes all four words of its cell (rav__alloc_init_t, ravioli.h's
 * rav__fast_bump and its caller), so the cells above the top of a dirty
 * top page hold old contents instead of zeros.  Nothing reads them; what
 * relies on empty cells above the top (a message's hand-off and arrival)
 * zeroes them first with rav__top_clean.  A zeroing pass before the bump
 * writes the same lines was ~20% of a tree's build (tree-probe, CPU time,
 * best of 30: build 5.98 -> 4.76 ms per 1M nodes).  The flag goes when the
 * page fills up (grow) or is zeroed. */
#define PAGE_DIRTY RAV_FLAG_DYING /* a page header's type word has no other use for it */
/* The fill changes, the dirty flag stays (a compaction's PAGE_DOOMED mark goes). */
static inline void page_set_fill(rav_cell *p, unsigned fill)
{
	uintptr_t dirty = p->w[0] & PAGE_DIRTY;
	page_set(p, fill, page_kind(p));
	p->w[0] |= dirty;
}
static inline bool page_dirty(const rav_cell *p) { return (p->w[0] & PAGE_DIRTY) != 0; }
static inline rav_heap *page_owner(const rav_cell *p) { return (rav_heap *)p->w[PH_OWNER]; }

/* ---- assertions, in tiers (as mimalloc's) ----
 *
 * rav_assert: cheap O(1) checks of the invariants the comments state, in
 * every debug-checks build (RAV_DEBUG >= 1, -Ddebug_checks=true).
 * rav_assert_internal: O(log n) walks (reference trees, page lists), with
 * -Ddebug_level=2.  rav_assert_expensive: O(heap) checks (rav_heap_check
 * after every compaction), with -Ddebug_level=3.  Release builds compile all
 * of them out.  A failed assertion is a bug in the engine, not misuse: it
 * prints where and what and aborts. */
void rav__assert_fail(const char *cond, const char *file, int line, const char *func) __attribute__((noreturn));
#define RAV_ASSERT_TIER(tier, cond)                                                                      \
	do {                                                                                             \
		if (RAV_DEBUG >= (tier) && RAV_UNLIKELY(!(cond)))                                        \
			rav__assert_fail(#cond, __FILE__, __LINE__, __func__);                           \
	} while (0)
#define rav_assert(cond) RAV_ASSERT_TIER(1, cond)
#define rav_assert_internal(cond) RAV_ASSERT_TIER(2, cond)
#define rav_assert_expensive(cond) RAV_ASSERT_TIER(3, cond)

static inline void rav_prefetch(const void *p)
{
	__builtin_prefetch(p, 1, 3);
}

/* ---- heap ---- */

struct rav_root_s; /* a root handle is the address of its slot word */

/* Cells the kill cascade made dead one after the other at adjacent
 * addresses (one page, ascending or descending): `first` died first, `last`
 * last, n in all.  They are a run of the hole list too (pushed one after
 * the other: last nearest its head), so compaction can trim the run when
 * it reaches the top without reading its cells (compact.c, trim_run). */
typedef struct rav_dead_run {
	rav_cell *first, *last;
	unsigned n;
} rav_dead_run;

/* A child whose referrer died, waiting for its turn in the cascade.  The
 * dead parent's field that held it is not kept: a normal child has no
 * other referrer, and a reference raviolo's dead referrers are the ones of
 * its two back-links whose cells are dead (cascade.c, pending_ref_lost). */
typedef struct rav_pending {
	rav_cell *cell;
} rav_pending;

/* A cell's states, in the order a free takes it through (free.c, "the
 * life of a free"): live -> dying (RAV_FLAG_DYING, queued on h->dying,
 * fields intact, back-link word = queue link) -> dead (RAV_TYPE_DEAD, a
 * hole on h->dead) -> empty (above the top, all words zero). */
struct rav_heap {
	/* The head: what the inline fast paths of ravioli.h read and write, in
	 * the order of struct rav__heap_head there (checked below). */
	rav_cell *top_page;      /* page holding the top of the heap (NULL: no page yet) */
	rav_cell *dead;          /* dead cells (holes), doubly linked through w[1] (next) / w[2] (prev) */
	unsigned top;            /* index of the next free cell in top_page (CELLS when there is no page, so
				  * the allocation fast path needs one compare) */
	uint32_t gen;            /* bumped by every free and move: borrows older than this are stale */
	rav_stats st;
	/* The bump pointer and its limit (the allocation fast paths test
	 * bump < limit, one compare for "room on the top page and no hole"):
	 * bump is &top_page[top] (NULL without a page), limit the top page's
	 * end while no hole waits, else NULL.  top and top_page change only
	 * through heap_set_top (below), which keeps bump and limit in step;
	 * a hole queued on `dead` sets limit to NULL (heap_bump_stop); limit
	 * comes back with the next heap_set_top or rav__alloc_slow.  Checked
	 * by rav_heap_check. */
	rav_cell *bump;
	rav_cell *limit;
	rav_cell *dead_tail;     /* the last hole of `dead` (NULL: none) */
	unsigned nruns;          /* runs of holes recorded (below: runs): the inline allocation takes a hole
				  * itself only while it is 0 */
	/* The rest is the engine's alone. */
	unsigned id;
	rav_heap_kind kind;
	rav_cell *first, *last;  /* data pages (headers) */
	rav_cell *root_first;    /* root pages (thread heaps) */
	unsigned root_bump;      /* next unused cell in root_first */
	uintptr_t **root_stack;  /* free root slots */
	size_t root_n, root_cap;
	uintptr_t *scratch;      /* engine-internal root slot for overwrites */
	rav_free_mode mode;
	rav_cell *dying;         /* dying cells (kill queue), linked through their back-link word w[3] */
	bool cascading;          /* inside rav__cascade: rav__queue_dying only queues */
	struct rav_pending *pending; /* the cascade's stack of children (empty between calls) */
	size_t pending_cap;
	/* A whole kill's holes as cell indices in the pool, in the order they
	 * died (bulk-kill.c: empty between calls; kept up to a bound for the
	 * next kill). */
	uint32_t *holes;
	size_t holes_cap;
	bool tearing_down;       /* rav__heap_destroy: skip compaction */
	/* Runs of holes the cascade made (thread heaps), oldest at runs_head;
	 * valid while holes only join the list: every other change to the
	 * list forgets them (runs_forget), and so does the end of a compaction. */
	rav_dead_run *runs;
	unsigned runs_head, runs_cap; /* (and nruns, in the head) */
	/* The pin: the one cell whose address an API call returns after it
	 * compacted (rav_new_root / rav_new_field hand out the new cell).  A move
	 * of the pinned cell updates it.  NULL outside such a call. */
	rav_cell *pinned;
	unsigned builder;        /* id of the thread heap whose thread owns this heap (its own id for thread
				  * heaps, the building thread's for messages), or RAV_BUILDER_*; debug
				  * builds check every call */
	unsigned extra_roots;    /* message heaps: root slots handed out besides the message root */
	unsigned root_cells;     /* message heaps: root cells in the buffer pages (0: unknown, search) */
	struct rav_msg *msg;     /* message heaps: their message */
	struct rav_heap *grave_next; /* ended thread heaps, kept a while (roots.c) */
	/* Live sessions (record-live.c): the epoch this heap was last snapshotted in
	 * (atomic: a sweep reads it under a channel's lock), and what a
	 * snapshot reports about it. */
	uint32_t snap_epoch;
	uint32_t parent;         /* message heaps: the building thread's heap id */
	uint64_t tid;            /* thread heaps: OS thread id */
	char name[64];           /* thread heaps: rav_thread_name */
};

/* rav_heap.builder of a heap no thread may use: no heap has these ids.
 * Allocation (rav__alloc_slow: such a heap has no room at its top) and
 * rav_root_new report them in every build, debug builds on every call. */
#define RAV_BUILDER_SENT 0xffffffffu  /* a message handed to a channel */
#define RAV_BUILDER_ENDED 0xfffffffeu /* a thread heap after its thread's end */
void rav__heap_gone(const rav_heap *h, const char *what);
bool rav__root_free_refused(const rav_heap *h, rav_root r);

/* The inline fast paths of ravioli.h see a heap as its head. */
_Static_assert(offsetof(struct rav_heap, top_page) == offsetof(struct rav__heap_head, top_page) &&
		       offsetof(struct rav_heap, dead) == offsetof(struct rav__heap_head, dead) &&
		       offsetof(struct rav_heap, top) == offsetof(struct rav__heap_head, top) &&
		       offsetof(struct rav_heap, gen) == offsetof(struct rav__heap_head, gen) &&
		       offsetof(struct rav_heap, st) == offsetof(struct rav__heap_head, st) &&
		       offsetof(struct rav_heap, bump) == offsetof(struct rav__heap_head, bump) &&
		       offsetof(struct rav_heap, limit) == offsetof(struct rav__heap_head, limit) &&
		       offsetof(struct rav_heap, dead_tail) == offsetof(struct rav__heap_head, dead_tail) &&
		       offsetof(struct rav_heap, nruns) == offsetof(struct rav__heap_head, nruns),
	       "struct rav_heap begins with struct rav__heap_head (ravioli.h)");
_Static_assert(RAV_PAGE_CELLS <= UINT32_MAX, "a page's cells fit the head's top");

struct rav_msg {
	rav_heap heap;
	uintptr_t *root;         /* the message root slot (in a root cell of a buffer page) */
	bool sent;
	struct rav_msg *next;    /* channel queue */
	uint64_t chan_seq;       /* its number among its channel's sends (channel.c's sweep) */
	unsigned channel;
	uint32_t live;           /* RAV_MSG_LIVE from rav_msg_new until freed or received (misuse check) */
	/* While queued, the heap shows no room (no top page, no holes), so that
	 * no allocation of its builder's lands in it; the receiver puts these
	 * back (msg.c). */
	rav_cell *sent_top_page, *sent_dead, *sent_dead_tail;
	unsigned sent_top;
};
#define RAV_MSG_LIVE 0x2147534du /* "MSG!" */
/* msg.c: is m a message the program may still use?  Reports a freed or
 * foreign one (cheap: one word, in every build).  RAV_EINVAL or RAV_OK. */
rav_status rav__msg_check(const struct rav_msg *m, const char *what);
/* msg.c: tear down a message the engine holds (unsent, or queued in a channel). */
void rav__msg_destroy(struct rav_msg *m);

/* How a received message's cells are laid out (msg.c, rav__arrive). */
typedef enum rav_arrive_policy {
	RAV_ARRIVE_CHEAPER = 0,   /* fewer moves of the two below (default) */
	RAV_ARRIVE_FILL_TAIL = 1, /* arrived cells fill the tail of the receiver's top page */
	RAV_ARRIVE_EVACUATE = 2,  /* the receiver's cells on its top page move after the arrived ones */
} rav_arrive_policy;
extern rav_arrive_policy rav__arrive_policy; /* set once from RAVIOLI_ARRIVAL at start (pool.c) */

/* ---- process-wide state ---- */

/* The shared page pool (pool.c).  Free pages are in one of four places:
 * a thread's page cache (no lock), the shared warm list (committed, youngest
 * first, each stamped with the time it was freed), the cold stack (given back
 * to the OS, address space kept), or in flight between the last two while a
 * madvise runs outside the lock. */
typedef struct rav_pool {
	pthread_mutex_t lock;
	char *base;
	size_t reserved;         /* pages reserved */
	size_t bump;             /* pages never used yet start here */
	size_t limit;            /* pages that may be out of the shared pool at once */
	size_t out;              /* pages out of the shared pool: held by heaps, messages or thread caches */
	rav_cell *warm, *warm_tail; /* committed free pages, youngest first, linked through PH_NEXT / PH_PREV */
	size_t nwarm;
	rav_cell **cold;         /* pages returned to the OS (a stack outside the pages: writing a link would
				  * commit them again), youngest on top */
	size_t ncold, cold_cap;
	size_t purging, committing; /* pages in flight outside the lock */
	size_t reserve;          /* warm pages kept however old: the floor (rav_config.pool_hot_pages) */
	size_t cache_max;        /* pages a thread's cache holds at most */
	uint64_t delay_ns;       /* a warm page unused this long goes back to the OS */
	rav_pool_mark mark;      /* recent peak use, decaying: what the pool keeps warm (pool-decay.h) */
	uint64_t acquires, releases;       /* page operations of heaps (merged from the thread caches) */
	uint64_t purged_pages, recommitted_pages;
	uint64_t shared_locks;   /* times a page operation took the shared lock */
	uint64_t t0_ns;          /* monotonic time at start */
	struct rav_page_cache *caches; /* every thread's cache (for stats), under lock */
	pthread_cond_t purger_wake;
	pthread_cond_t purge_done; /* a purge round's pages are cold: an acquire waiting for them retries */
	bool purger_running, purger_idle, purger_off;
	bool ready;
	bool populate_ok;
} rav_pool;

extern RAV_INTERNAL rav_pool rav__pool;
/* When a warm page came back: pool.c stamps it in ms since the start, in
 * its header's scalar (40 bits: 34 years). */
static inline uint64_t rav__warm_time_ns(const rav_cell *p)
{
	return rav__pool.t0_ns + (uint64_t)cell_scalar(p) * 1000000u;
}
extern atomic_uint rav__next_heap_id;
extern RAV_INTERNAL atomic_ullong rav__seq;

/* ---- internal functions ----
 * Functions shared between the engine's files are prefixed rav__. */

/* error.c */
rav_status rav__fail(rav_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A status the caller expects as a normal outcome (rav_recv's RAV_ECLOSED:
 * the end of a receive loop), not an error: the message for rav_last_error
 * only, no ERROR event in the trace. */
rav_status rav__outcome(rav_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rav__misuse(rav_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
rav_status rav__misuse_status(void); /* status of the calling thread's last misuse report */

/* types.c */
void rav__types_init(void);
/* A type name rav_type_register takes: 1 to 63 bytes, no control
 * characters, no spaces at its ends (types.c). */
bool rav__type_name_ok(const char *name);
void rav__types_record_all(void);
/* 1 for the types a program may allocate (registered user types and the
 * vector/bytes types), indexed by type id below RAV_TYPE_MAX. */
extern uint8_t rav__allocatable[RAV_TYPE_MAX];
/* rav__alloc_gate (ravioli.h) follows rav__tracing_flag: called after every
 * store to the flag. */
void rav__alloc_gate_sync(void);

/* pool.c */
rav_status rav__pool_ensure(void);
/* pool-purge.c (under the pool lock: *_locked) */
uint64_t rav__pool_now_ns(void);                           /* monotonic, + what tests advanced */
bool rav__advise_runs(rav_cell **pages, size_t n, int advice); /* one madvise per run of adjacent pages */
size_t rav__pool_keep_locked(uint64_t now);                /* warm pages kept now (pool-decay.h) */
bool rav__purger_notify_locked(void);                      /* true: the caller starts the thread */
void rav__purger_start(void);
void rav__purge_inline_locked(void);                       /* without the thread: purge what is due */
rav_cell *rav__page_acquire(rav_heap *h, unsigned kind);  /* NULL + error on ENOMEM */
rav_cell *rav__page_acquire_dirty(rav_heap *h, unsigned kind); /* the same, PAGE_DIRTY kept (not zeroed) */
void rav__page_release(rav_heap *h, rav_cell *page);
void rav__page_clean(rav_cell *page);                          /* zero a dirty page's cells */
void rav__page_cache_flush(void);                          /* the calling thread is leaving */
uint64_t rav__seq_next_locked(void);
/* The next sequence number for an ordering event of the calling thread, or
 * 0 if its stream is not in the current epoch (then it records nothing).
 * Bits 40-63 of a number are the epoch (0 when recording from the start),
 * so each session epoch's numbers run 1, 2, 3 ... without gaps: a live
 * reader waits for every number it has not seen (record-live.c). */
#define RAV_SEQ_EPOCH_SHIFT 40
uint64_t rav__seq_take(void);

/* The life of a free (in order, see the top of free.c; its steps are in
 * cascade.c, compact.c, truncate.c and bulk-kill.c) */
void rav__drop(rav_heap *h, uintptr_t *slot, unsigned evkind);  /* empty a slot; its target may die */
void rav__drop_whole(rav_heap *h, uintptr_t *slot); /* the same, last in its call (then settle) */
void rav__drop_no_cascade(rav_heap *h, uintptr_t *slot);      /* same, never queues (collector) */
void rav__queue_dying(rav_heap *h, rav_cell *c);               /* c has no referrer left */
size_t rav__cascade(rav_heap *h, size_t budget);               /* dying -> dead, children follow */
void rav__make_dead(rav_heap *h, rav_cell *c);                 /* live/dying -> dead hole (FREE) */
void rav__settle(rav_heap *h);                                  /* end of a call: compact if immediate */
size_t rav__compact(rav_heap *h, size_t max_moves, enum rav_compact_reason reason);
void rav__move(rav_heap *h, rav_cell *from, rav_cell *to);
void rav__shrink(rav_heap *h);
/* truncate.c: the last n cells of a heap, where a whole compaction's top will
 * end or a structure allocated last lies.  Its pages above its lowest one
 * carry PAGE_DOOMED in their header while it is marked. */
#define PAGE_DOOMED RAV_FLAG_MARK /* a page header's type word has no other use for it */
typedef struct rav_top_region {
	rav_cell *page; /* the page holding its lowest cell, or where a bounded walk stopped short */
	unsigned index; /* cells from this index of `page` up are in it (CELLS: none of `page`) */
} rav_top_region;
static inline bool rav__in_top_region(rav_top_region r, const rav_cell *c)
{
	rav_cell *pg = page_of(c);
	if (pg == r.page)
		return slot_in_page(c) >= r.index;
	return (pg->w[0] & PAGE_DOOMED) != 0;
}
bool rav__top_region_mark(rav_heap *h, size_t n, rav_top_region *r); /* false: not n live cells */
void rav__top_region_unmark(rav_heap *h);
/* heap.c: allocation, holes; access.c: reference trees; msg.c: arrival */
rav_cell *rav__alloc_slow(rav_heap *h);                         /* a hole or a cell on a new page */
void rav__top_clean(rav_heap *h);                               /* zero the cells above the top of a dirty top page */
rav_cell *rav__top_cell(rav_heap *h);
rav_cell *rav__dead_pop(rav_heap *h);
void rav__dead_push(rav_heap *h, rav_cell *c);
void rav__dead_unlink(rav_heap *h, rav_cell *c);
void rav__transfer(rav_heap *h, uintptr_t *from, uintptr_t *to, unsigned evkind);
rav_cell *rav__deref_slot(uintptr_t v);                         /* walk reference ravioli */
rav_status rav__arrive(rav_heap *h, struct rav_msg *m, uintptr_t *dst);
/* roots.c: heap lifetime, page lists, roots, checks */
void rav__heap_init(rav_heap *h, rav_heap_kind kind);
void rav__heap_destroy(rav_heap *h);
void rav__page_append(rav_heap *h, rav_cell *page);
void rav__page_unlink(rav_heap *h, rav_cell *page);
uintptr_t *rav__root_slot_new(rav_heap *h);
void rav__root_slot_free(rav_heap *h, uintptr_t *slot);
uintptr_t *rav__scratch_slot(rav_heap *h);
bool rav__check_ref(rav_heap *h, rav_ref r, const char *what);
bool rav__check_owner(const rav_heap *h, const char *what);
/* addr lies in the pool's reserved range: a debug check's test before it
 * reads a word a program handed in as a cell or slot address. */
static inline bool rav__in_pool(const void *addr)
{
	return (const char *)addr >= rav__pool.base &&
	       (const char *)addr < rav__pool.base + rav__pool.reserved * (size_t)RAV_PAGE_SIZE;
}
bool rav__check_root(rav_heap *h, rav_root r, const char *what);

/* record.c, record-live.c */
/* The tracing switch is flipped by the listener's session while other
 * threads read it (live sessions).  Any value a thread reads is acceptable
 * at any moment: a thread that still sees the switch off has not reached
 * its next safe point (its snapshot waits there), one that still sees it
 * on emits into its own buffer events the epoch numbers mark as stale, and
 * everything the threads share is handed over with atomics (record.c).  So
 * it is read as a plain int, which the compiler keeps in a register across
 * one engine call's several tests, as before live sessions: a relaxed
 * atomic load is reloaded at every test (callgrind, rav-bench --quick
 * engine workloads: rav__move and rav__transfer 9-10% more instructions).
 * Under ThreadSanitizer it is a relaxed atomic load, so the race stays
 * declared.  rav__tracing and rav__recorder name these loads so that every
 * `if (rav__tracing)` stays as it was. */
extern int rav__tracing_flag;
extern RAV_INTERNAL const rav_recorder *rav__recorder_ptr;
#if defined(__SANITIZE_THREAD__)
#define RAV_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RAV_TSAN 1
#endif
#endif
/* rav__hooks: what tracing work an engine call has besides its events
 * (RAV_HOOK_*: reads record their accesses; a live session runs, so calls
 * take safe points); read the same way, only once rav__tracing said yes.
 * Set with the recorder and by sessions (record.c, record-live.c). */
enum { RAV_HOOK_ACCESS = 1, RAV_HOOK_SAFEPOINT = 2 };
extern int rav__hooks_flag;
#ifdef RAV_TSAN
#define rav__tracing (__atomic_load_n(&rav__tracing_flag, __ATOMIC_RELAXED))
#define rav__hooks (__atomic_load_n(&rav__hooks_flag, __ATOMIC_RELAXED))
#else
#define rav__tracing (rav__tracing_flag + 0)
#define rav__hooks (rav__hooks_flag + 0)
#endif
#define rav__recorder (__atomic_load_n(&rav__recorder_ptr, __ATOMIC_ACQUIRE))
void rav__emit_slow(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t c);
void rav__emit_text(rav_ev_kind kind, uint32_t aux, uint32_t x, uint64_t a, const char *text, size_t len);
void rav__emit_sync(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t seq, uint64_t tsc);
/* The calling thread's next event takes the slow path, which looks again
 * at what it must do besides recording (debug.c: a thread released for a
 * one-event step). */
void rav__record_recheck(void);
void rav__record_thread_start(rav_heap *h);
void rav__record_thread_end(rav_heap *h);
void rav__census_add(rav_heap *h);
void rav__census_remove(rav_heap *h);
uint64_t rav__tsc(void);

/* ---- live sessions: safe points ----
 *
 * Every public engine function that works on a heap starts with a safe
 * point: RAV_SAFEPOINT(h), which when nothing records is the same one
 * predictable branch as the event hooks, or, in access.c's hot entry
 * points, RAV_SAFEPOINT_TRACED(h) in their traced copy (the untraced copy
 * has none).  During a session, a thread whose stream is not yet in the
 * current epoch (or a heap not yet snapshotted in it, such as a message
 * built before the session began) is snapshotted here, where no engine
 * operation on the heap is half done.  A debugger's holds belong here too. */
extern RAV_INTERNAL uint32_t rav__epoch; /* atomic */
extern RAV_INTERNAL _Thread_local uint32_t rav__tl_epoch; /* epoch the calling thread's stream is in */
/* Whether the calling thread has a snapshot to take: its stream is not in
 * the current epoch yet, or h was not snapshotted in it (a message built
 * before the session).  Epoch 0 (no session ever) matches everything. */
/* debug.c: a live debugger's state the hot paths test (see rav-record.h,
 * "Live debugging"). */
extern RAV_INTERNAL const rav_debugger *rav__debugger; /* atomic: the installed debugger, NULL none */
extern RAV_INTERNAL int rav__debug_filter; /* atomic: every event goes to the debugger */
extern RAV_INTERNAL int rav__debug_safepoints; /* atomic: safe points have debugger work */
extern RAV_INTERNAL _Thread_local int rav__debug_tl_step; /* rav_debug_step_mode of the calling thread, 0 none */
void rav__debug_event(const rav_raw_event *e, const char *text, size_t len);
void rav__debug_safepoint(rav_heap *h);
void rav__debug_apply_watches(void); /* the calling thread's watch requests only (no stop) */
/* A watched cell (RAV_FLAG_WATCH) took part in event kind (a, b, c as
 * recorded); cold, out of line. */
__attribute__((cold, noinline)) void rav__watch_hit(uint32_t kind, rav_cell *cell, uintptr_t a, uintptr_t b,
						      uintptr_t c);
/* One flag test where the type word is at hand. */
#if RAV_TRACING
#define RAV_WATCH_TEST(tr, tw, kind, cell, a, b, c)                                                      \
	do {                                                                                             \
		if (RAV_UNLIKELY((tw) & RAV_FLAG_WATCH) && (tr))                                         \
			rav__watch_hit((kind), (rav_cell *)(cell), (uintptr_t)(a), (uintptr_t)(b),       \
				       (uintptr_t)(c));                                                  \
	} while (0)
#else
#define RAV_WATCH_TEST(tr, tw, kind, cell, a, b, c) ((void)(tr))
#endif

static inline bool rav__safepoint_due(const rav_heap *h)
{
	uint32_t e = __atomic_load_n(&rav__epoch, __ATOMIC_RELAXED);
	return rav__tl_epoch != e || (h && __atomic_load_n(&h->snap_epoch, __ATOMIC_RELAXED) != e) ||
	       __atomic_load_n(&rav__debug_safepoints, __ATOMIC_RELAXED);
}
/* The snapshot itself (record-live.c, out of line). */
void rav__safepoint_slow(rav_heap *h);
/* Out of line and cold (record-live.c): the session and due tests, then the
 * slow part.  The inline fast path is only the tracing test, so a call site
 * keeps its leaf shape (no registers saved for the slow path's sake beyond
 * a call's). */
__attribute__((cold)) void rav__safepoint(rav_heap *h);

#if RAV_TRACING
/* (the hooks' test inline too: recording to a file, with no session, calls
 * nothing; callgrind, rav-bench trace-record: 0.18 instructions per event,
 * the call and the test out of line at three of its four calls a store) */
#define RAV_SAFEPOINT(h)                                                                                 \
	do {                                                                                             \
		if (RAV_UNLIKELY(rav__tracing) && RAV_UNLIKELY(rav__hooks & RAV_HOOK_SAFEPOINT))         \
			rav__safepoint(h);                                                               \
	} while (0)
/* Where recording is known to be on (a traced copy): inline, one test
 * when no session runs. */
#define RAV_SAFEPOINT_TRACED(h)                                                                          \
	do {                                                                                             \
		if (RAV_UNLIKELY(rav__hooks & RAV_HOOK_SAFEPOINT) && RAV_UNLIKELY(rav__safepoint_due(h))) \
			rav__safepoint_slow(h);                                                          \
	} while (0)
#else
#define RAV_SAFEPOINT(h) ((void)(h))
#define RAV_SAFEPOINT_TRACED(h) ((void)(h))
#endif

/* A thread blocked in rav_recv, on its channel's list (msg.c) so that a
 * sweep can snapshot its heap on its behalf; lives on the thread's stack. */
typedef struct rav_parked {
	struct rav_parked *next;
	rav_heap *heap;
	void *rec;               /* the thread's record (record-private.h) */
	rav_evbuf *adopt;        /* set by a sweep: the buffer the thread continues in */
	uint32_t epoch;          /* epoch of adopt */
} rav_parked;
/* Before blocking (channel lock held): publish what the thread recorded and
 * fill in pk.  After waking (lock held): take over a buffer a sweep left. */
void rav__park(rav_parked *pk, rav_heap *h);
void rav__unpark(rav_parked *pk);
/* Under a channel's lock (msg.c's sweep, and a receiver taking a message
 * that was queued before the session began). */
void rav__snapshot_parked(rav_parked *pk, unsigned channel);
void rav__snapshot_in_flight(rav_heap *mh, unsigned channel, bool taker); /* taker: the receiver, at rav_recv */
unsigned rav__channels_sweep(unsigned budget, unsigned *taken); /* channel.c: channels left for later */
void rav__types_snapshot(void (*fn)(uint16_t id, unsigned refmask, const char *text, size_t len, void *user), uint64_t *seq,
			 uint64_t *tsc, void *user); /* types.c */

/* The per-event fast path (Tracy's producer side: the recording thread
 * writes raw, fixed-width records and never encodes): the thread's buffer
 * and one bound, both thread-local.  rav__tlimit says how far events may
 * go straight into the buffer: below the room left (one record is kept
 * free for a clock reading), the next periodic clock reading
 * (RAV_TIME_EVERY events after the last), and 0 whenever every event must
 * take the slow path (no buffer, a live debugger watching each event, a
 * stream not in the current epoch).  So an event is one compare, four
 * stores and the count's publication (a plain store on x86); the slow path
 * (record.c) takes the clock, exchanges full buffers and sets the bound
 * again.  rav__tbuf is never NULL: a thread without a buffer points at
 * rav__nobuf (count 0, bound 0), so the fast path tests nothing else. */
#define rav__tbuf (rav__rtl.buf) /* (the fields of one thread-local variable: rav-record.h) */
#define rav__tlimit (rav__rtl.limit)
/* The count at which the next event needs a clock reading first (text
 * records and call sites recorded on the slow path move it along; a call
 * site recorded below the bound, site.c, does not). */
#define rav__tclock (rav__rtl.clock)
extern rav_evbuf rav__nobuf;

/* A record's first two words (kind, x) as one 8-byte store where the
 * layout allows: gcc stores them apart otherwise, and stores are most of
 * what an event costs (4 instead of 5 per record, and one instruction
 * fewer when x is a constant). */
static inline __attribute__((always_inline)) void rav__put_kind_x(rav_raw_event *e, uint32_t kindaux, uint32_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(rav_raw_event, x) == offsetof(rav_raw_event, kind) + 4, "kind and x adjacent");
	uint64_t kx = (uint64_t)kindaux | ((uint64_t)x << 32);
	memcpy(&((unsigned char *)e)[offsetof(rav_raw_event, kind)], &kx, sizeof kx);
#else
	e->kind = kindaux;
	e->x = x;
#endif
}

static inline __attribute__((always_inline)) void rav__emit(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b,
							     uint64_t c)
{
	rav_evbuf *buf = rav__tbuf;
	uint32_t n = buf->count;
	if (RAV_UNLIKELY(n >= rav__tlimit)) {
		rav__emit_slow(kindaux, x, a, b, c);
		return;
	}
	rav_raw_event *e = &buf->ev[n];
	/* Plain stores: streaming (non-temporal) stores cost 3x more recording
	 * time per event in rav-bench trace-record (recording thread CPU about
	 * 35 against 12 ns/event): the buffer is handed to the writer thread
	 * soon after, and cycles through a few buffers that stay in cache. */
	rav__put_kind_x(e, kindaux, x);
	e->a = a;
	e->b = b;
	e->c = c;
	/* Published after the record: a live reader may read up to count while
	 * this thread appends (a plain store on x86). */
	__atomic_store_n(&buf->count, n + 1, __ATOMIC_RELEASE);
}

/* The compound does not pass the bound: when only the periodic clock
 * reading is due (record.c, as rav__emit_slow's first case), the reading
 * is written and published in front of the compound, which then goes on
 * (true); otherwise false, and the operation records its events one by
 * one.  The reading comes before the compound's first event, as it would
 * one by one when due there, or a few records sooner when it fell due
 * inside the compound (the countdown starts again after it, as always). */
bool rav__compound_clock(unsigned recs);

/* A compound record (rav-record.h: the events of one operation in one or
 * two records) on the fast path: room for `recs` records under the bound,
 * or NULL, and then the operation records its events one by one
 * (rav__emit, each before its write: the slow path's clock reading, buffer
 * exchange and debugger see them as before).  The records pass together
 * exactly when each would have passed alone.  rav__compound_put fills a
 * record, rav__compound_done publishes the count `next`. */
static inline __attribute__((always_inline)) rav_raw_event *rav__compound_room(unsigned recs, uint32_t *next)
{
	rav_evbuf *buf = rav__tbuf;
	uint32_t n = buf->count;
	if (RAV_UNLIKELY(n + recs > rav__tlimit))
		return NULL;
	*next = n + recs;
	return &buf->ev[n];
}

/* rav__compound_room that takes a due clock reading first (and so records
 * the compound where rav__compound_room would fall back to one event at a
 * time), for code that runs only while recording, such as the out-of-line
 * fallbacks that try the compound again: in a function shared with the
 * untraced path, the call costs that path a saved register and a frame
 * too (callgrind, rav-bench trace-record without recording: rav__drop and
 * rav__compact +4-5 instructions a call). */
static inline __attribute__((always_inline)) rav_raw_event *rav__compound_room_clk(unsigned recs, uint32_t *next)
{
	rav_evbuf *buf = rav__tbuf;
	uint32_t n = buf->count;
	if (RAV_UNLIKELY(n + recs > rav__tlimit)) {
		if (!rav__compound_clock(recs))
			return NULL;
		buf = rav__tbuf;
		n = buf->count;
	}
	*next = n + recs;
	return &buf->ev[n];
}

/* In an operation written for both (a `tr` argument): the clock's
 * variant where the compiler knows tr is true (a traced copy of its own,
 * or the branch that tested it), the plain one otherwise (-O0).  Used
 * where callgrind shows the untraced path no longer for it: a traced copy
 * apart (rav__attach, store_slot, drop) or a branch that costs the shared
 * prologue nothing (settle_t's one move); not in compact.c's sweep. */
#define rav__compound_room_t(tr, recs, next)                                                             \
	((__builtin_constant_p(tr) && (tr)) ? rav__compound_room_clk((recs), (next))                     \
					    : rav__compound_room((recs), (next)))

static inline __attribute__((always_inline)) void rav__compound_done(uint32_t next)
{
	__atomic_store_n(&rav__tbuf->count, next, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) void rav__compound_put(rav_raw_event *e, uint32_t kindaux, uint64_t a,
								     uint64_t b, uint64_t c)
{
	rav__put_kind_x(e, kindaux, 0);
	e->a = a;
	e->b = b;
	e->c = c;
}

/* A compound's second record: two words (kind and x hold the first). */
static inline __attribute__((always_inline)) void rav__compound_words(rav_raw_event *e, uint64_t w0, uint64_t w1)
{
	memcpy(e, &w0, sizeof w0);
	e->a = w1;
}

/* A run of plain events one operation records in a row (a chain's weights,
 * a splice's links and FREE, a cascade's FREEs): the buffer, its count and
 * the bound stay in registers, and the count is published once at the end
 * (rav__em_done) instead of after each record.  Each event still passes
 * the bound alone, in order, before the write it describes; one that does
 * not publishes the records so far and takes rav__emit_slow, as rav__emit
 * would (the clock reading, a buffer exchange, a debugger that sees each
 * event), and the run goes on from the thread's buffer as it is then.
 * Nothing else may record on the thread between rav__em_begin and
 * rav__em_done (no call that records, no watch test that could reach a
 * debugger): rav__em_done first.  Plain events, so nothing downstream
 * changes; a put saves rav__emit's loads of the buffer, count and bound
 * and its store of the count (callgrind, rav-bench trace-record: -1.15
 * instructions per event over the splice, the weights and the cascade). */
typedef struct rav_emitter {
	rav_evbuf *buf;
	uint32_t n, lim;
} rav_emitter;

static inline __attribute__((always_inline)) void rav__em_begin(rav_emitter *m)
{
	m->buf = rav__tbuf;
	m->n = m->buf->count;
	m->lim = rav__tlimit;
}

/* Nothing to publish while the bound is 0: no put went straight into the
 * buffer since rav__em_begin (the bound changes only there), and the
 * buffer may be rav__nobuf, shared by every thread without one (a store
 * there, even of its 0, is a race: TSan, attach-exact). */
static inline __attribute__((always_inline)) void rav__em_done(const rav_emitter *m)
{
	if (RAV_LIKELY(m->lim != 0))
		__atomic_store_n(&m->buf->count, m->n, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) void rav__em_put(rav_emitter *m, uint32_t kindaux, uint32_t x,
							       uint64_t a, uint64_t b, uint64_t c)
{
	if (RAV_UNLIKELY(m->n >= m->lim)) {
		rav__em_done(m);
		rav__emit_slow(kindaux, x, a, b, c);
		rav__em_begin(m);
		return;
	}
	rav_raw_event *e = &m->buf->ev[m->n++];
	rav__put_kind_x(e, kindaux, x);
	e->a = a;
	e->b = b;
	e->c = c;
}

/* REC records an event when recording is on.  RECT takes the condition
 * as an argument: the hot entry points of heap.c are compiled twice, with
 * `tr` the constant false (no event code at all: fewer branches and fewer
 * registers to save) and true, and pick one by rav__tracing on entry. */
#if RAV_TRACING
#define RECT(tr, kind, aux, x, a, b, c)                                                                  \
	do {                                                                                             \
		if (RAV_UNLIKELY(tr))                                                                    \
			rav__emit((uint32_t)(kind) | ((uint32_t)(aux) << 8), (uint32_t)(x),              \
				  (uint64_t)(uintptr_t)(a), (uint64_t)(uintptr_t)(b),                    \
				  (uint64_t)(uintptr_t)(c));                                             \
	} while (0)
#else
#define RECT(tr, kind, aux, x, a, b, c) ((void)(tr))
#endif
#define REC(kind, aux, x, a, b, c) RECT(rav__tracing, kind, aux, x, a, b, c)

/* The order stamp of an event that coordinates threads: a process-wide
 * sequence number and a clock reading, taken under the lock that orders
 * the event; zero when not recording. */
typedef struct rav_stamp {
	uint64_t seq, tsc;
} rav_stamp;

static inline rav_stamp rav__stamp(void)
{
#if RAV_TRACING
	if (RAV_UNLIKELY(rav__tracing)) {
		uint64_t seq = rav__seq_take();
		return (rav_stamp){ seq, seq ? rav__tsc() : 0 };
	}
#endif
	return (rav_stamp){ 0, 0 };
}

/* Record an ordering event with its stamp (compiled out without tracing). */
#if RAV_TRACING
#define REC_SYNC(kindaux, x, a, b, stamp)                                                                \
	do {                                                                                             \
		if (RAV_UNLIKELY(rav__tracing)) {                                                        \
			rav_stamp st_ = (stamp);                                                         \
			if (st_.seq)                                                                     \
				rav__emit_sync((kindaux), (x), (a), (b), st_.seq, st_.tsc);              \
		}                                                                                        \
	} while (0)
#else
#define REC_SYNC(kindaux, x, a, b, stamp) ((void)(stamp))
#endif

/* Word write with its event. */
#define WRITE_WORD_T(tr, kind, slotp, val)                                                               \
	do {                                                                                             \
		uintptr_t *_s = (slotp);                                                                 \
		uintptr_t _v = (uintptr_t)(val);                                                         \
		RECT(tr, kind, 0, 0, _s, *_s, _v);                                                       \
		*_s = _v;                                                                                \
	} while (0)
#define WRITE_WORD(kind, slotp, val) WRITE_WORD_T(rav__tracing, kind, slotp, val)

/* ---- call sites (site.c) ----
 *
 * Each public engine call that can record an event starts with
 * RAV_SITE_ENTER(): when tracing, its return address (the program's call
 * site) is compared with the thread's current one and recorded only when
 * it changes (a RAV_RAW_SITE record).  Public calls built on other public
 * calls bracket their work with RAV_SITE_BEGIN / RAV_SITE_END so the inner
 * calls keep the program's site.  __builtin_return_address must be taken
 * in the public function itself: these are macros for that reason. */
typedef struct rav__site_state rav_site_state; /* (rav-record.h: read by ravioli.h's inline allocation) */
/* Counts the times recording was switched on (live sessions begin with
 * recording off): a site recorded under an earlier count may no longer be
 * the thread's, since calls made while nothing recorded did not update it. */
extern RAV_INTERNAL uint32_t rav__site_gen;
#define rav__site (rav__rtl.site) /* (rav-record.h, struct rav__rec_tls) */
extern RAV_INTERNAL unsigned rav__site_depth; /* 0 no sites, 1 return address, N backtrace frames */
void rav__site_change(uintptr_t pc);
/* No call of the program: the thread's heap torn down at its exit. */
void rav__site_clear(void);
void rav__site_prepare(unsigned depth);
/* error.c, before a misuse's ERROR event: the program's call that made it
 * when that call took no site (a read while a file records without
 * accesses), found from the stack (site.c). */
void rav__site_misuse(void);
/* access.c: while a read's out-of-line debug check runs (rav_load_checked,
 * rav_load_ref_checked), the address it returns to: the program's when the
 * public function tail-called it (optimized builds).  0 otherwise. */
extern RAV_INTERNAL _Thread_local uintptr_t rav__read_check_ra;
/* The thread's stream starts over (record-live.c: it joined a live session's
 * epoch, or adopted the buffer a sweep started for it): readers of the new
 * stream have not seen its current site, so record it again there. */
void rav__site_restream(void);
/* record.c: n raw records in the thread's buffer, not events (no clock
 * reading, no countdown); commit after filling them.  NULL: no buffer. */
rav_raw_event *rav__reserve_raw(unsigned n);
void rav__commit_raw(void);

#if RAV_TRACING
#define RAV_CALLER ((uintptr_t)__builtin_return_address(0))
/* With tracing known to be on. */
static inline void rav__site_enter_traced(uintptr_t pc)
{
	if (rav__site.hold == 0 && pc != rav__site.pc)
		rav__site_change(pc);
}
static inline void rav__site_enter(uintptr_t pc)
{
	if (RAV_UNLIKELY(rav__tracing))
		rav__site_enter_traced(pc);
}
/* Reads record events (and need a site) only when accesses are recorded. */
static inline bool rav__site_reads(void)
{
	return (rav__hooks & RAV_HOOK_ACCESS) != 0;
}
static inline bool rav__site_begin(uintptr_t pc)
{
	if (RAV_LIKELY(!rav__tracing))
		return false;
	if (rav__site.hold == 0 && pc != rav__site.pc)
		rav__site_change(pc);
	rav__site.hold++;
	return true;
}
#define RAV_SITE_ENTER() rav__site_enter(RAV_CALLER)
/* rav_recv may wait for as long as it takes a live session to begin: its
 * call site is noted even while nothing records (a load and two stores
 * next to a blocking receive), for the next session only (gen + 1), so a
 * session that starts during the wait gives the receive's events their
 * site (rav__site_restream).  Dropped when the call returns with nothing
 * recording, so no later call can inherit it. */
static inline bool rav__site_enter_blocking(uintptr_t pc)
{
	uint32_t gen = __atomic_load_n(&rav__site_gen, __ATOMIC_RELAXED);
	if (RAV_UNLIKELY(rav__tracing)) {
		rav__site_enter_traced(pc);
		return false;
	}
	if (rav__site.hold)
		return false;
	rav__site.pc = pc;
	rav__site.gen = gen + 1;
	return true;
}
static inline void rav__site_leave_blocking(bool noted)
{
	if (noted && !rav__tracing)
		rav__site.pc = 0;
}
/* In the recording copy a public hot function tail-calls (access.c,
 * HOT_ENTRY): the program's call site.  With a tail call (a jump: -O2 and
 * up) the copy returns where the public function would have, into the
 * program.  Some builds make a real call instead (-O0, -O1, sanitizers,
 * -fno-optimize-sibling-calls); the return address then lies in the public
 * function.  The public hot functions are kept together in .text between
 * two markers (RAV_API_ENTRY, access.c), so that case is told exactly, by
 * address, and the program's call site is then found by unwinding one
 * frame further (rav__site_caller_of: ~100 ns, paid only by such builds).
 * rav__api_entries_unsure: the linker did not keep them between the
 * markers (checked when a recorder is installed); every return address is
 * then looked up in the unwind tables. */
#define RAV_API_ENTRY __attribute__((section(".text.sorted.ravioli_api.1")))
__attribute__((visibility("hidden"))) int rav__api_entries_begin(void);
__attribute__((visibility("hidden"))) int rav__api_entries_end(void);
extern RAV_INTERNAL bool rav__api_entries_unsure;
bool rav__api_entries_verify(void);
bool rav__api_entries_contain(uintptr_t pc);
uintptr_t rav__site_caller_of(uintptr_t ra);
static inline uintptr_t rav__tail_caller(uintptr_t ra)
{
	uintptr_t begin = (uintptr_t)rav__api_entries_begin;
	if (RAV_LIKELY(ra - begin >= (uintptr_t)rav__api_entries_end - begin &&
	               !__atomic_load_n(&rav__api_entries_unsure, __ATOMIC_RELAXED)))
		return ra;
	return rav__site_caller_of(ra);
}
#define RAV_TAIL_CALLER() rav__tail_caller((uintptr_t)__builtin_return_address(0))
/* The recording copy's site: the return address is first compared as it
 * is with the current site, so a call from the same place as the last one
 * costs that one compare (a current site is a program address, never one
 * inside the public functions, so an equal address needs no closer look). */
/* rav__site_change's common case inline (one frame, room under the bound):
 * the same record, written as it writes it. */
static inline __attribute__((always_inline)) void rav__site_change_inline(uintptr_t pc)
{
	rav_evbuf *buf = rav__tbuf;
	uint32_t n = buf->count;
	if (RAV_LIKELY(n < rav__tlimit) && RAV_LIKELY(__atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED) == 1)) {
		rav__site.pc = pc;
		rav__site.gen = __atomic_load_n(&rav__site_gen, __ATOMIC_RELAXED);
		rav_raw_event *e = &buf->ev[n];
		rav__put_kind_x(e, RAV_RAW_SITE | (1u << 8), 0);
		e->a = pc;
		__atomic_store_n(&buf->count, n + 1, __ATOMIC_RELEASE);
		return;
	}
	rav__site_change(pc);
}

static inline __attribute__((always_inline)) void rav__tail_site_enter(uintptr_t ra)
{
	if (ra == rav__site.pc || rav__site.hold != 0)
		return;
	/* rav__tail_caller and rav__site_enter_traced in one: the return
	 * address in the program (the common case) is a changed site already
	 * tested, where the two in a row loaded and tested the hold and the
	 * site again (the unsure flag's atomic load between them: -5
	 * instructions a site change, callgrind, rav-bench trace-record) */
	uintptr_t begin = (uintptr_t)rav__api_entries_begin;
	if (RAV_LIKELY(ra - begin >= (uintptr_t)rav__api_entries_end - begin &&
	               !__atomic_load_n(&rav__api_entries_unsure, __ATOMIC_RELAXED))) {
		rav__site_change_inline(ra);
		return;
	}
	uintptr_t pc = rav__site_caller_of(ra);
	if (pc != rav__site.pc)
		rav__site_change(pc);
}
#define RAV_TAIL_SITE_ENTER() rav__tail_site_enter((uintptr_t)__builtin_return_address(0))
#define RAV_SITE_BEGIN() const bool rav_site_held_ = rav__site_begin(RAV_CALLER)
#define RAV_SITE_END()                                                                                   \
	do {                                                                                             \
		if (rav_site_held_)                                                                      \
			rav__site.hold--;                                                                \
	} while (0)
#else
#define RAV_CALLER ((uintptr_t)0)
static inline void rav__site_enter(uintptr_t pc)
{
	(void)pc;
}
#define RAV_SITE_ENTER() ((void)0)
static inline bool rav__site_enter_blocking(uintptr_t pc)
{
	(void)pc;
	return false;
}
static inline void rav__site_leave_blocking(bool noted)
{
	(void)noted;
}
#define RAV_SITE_BEGIN() ((void)0)
#define RAV_SITE_END() ((void)0)
#endif

/* ---- Valgrind ---- */
#if RAV_VALGRIND
#define VG_CELL_ALLOC(c) VALGRIND_MEMPOOL_ALLOC(rav__pool.base, (c), RAV_CELL_SIZE)
#define VG_CELL_FREE(c) VALGRIND_MEMPOOL_FREE(rav__pool.base, (c))
/* The engine itself may touch free cells (zeroing a page it gives back,
 * checking that cells above the top are empty): open them for that. */
#define VG_OPEN(a, n) VALGRIND_MAKE_MEM_DEFINED((a), (n))
#define VG_CLOSE(a, n) VALGRIND_MAKE_MEM_NOACCESS((a), (n))
#else
#define VG_CELL_ALLOC(c) ((void)0)
#define VG_CELL_FREE(c) ((void)0)
#define VG_OPEN(a, n) ((void)0)
#define VG_CLOSE(a, n) ((void)0)
#endif

/* ---- debug checks ---- */
#if RAV_DEBUG
/* The common case is tested inline (check_ref_passes, owner_is_self
 * below); anything else takes the full check, which reports. */
#define CHECK_REF(h, r, what) (RAV_LIKELY(check_ref_passes((h), (r))) || rav__check_ref((h), (r), (what)))
/* A heap is used only by the thread that owns it (reported like a
 * cross-heap store). */
#define CHECK_OWNER(h, what) (RAV_LIKELY(owner_is_self(h)) || rav__check_owner((h), (what)))
#else
#define CHECK_REF(h, r, what) ((r).cell != NULL)
#define CHECK_OWNER(h, what) true
#endif

extern _Thread_local rav_heap *rav__self_heap;
static inline rav_heap *rav__self(void)
{
	return rav__self_heap;
}

#if RAV_DEBUG
/* What rav__check_owner and rav__check_ref (roots.c) accept in the common
 * case, tested inline: the calling thread builds h, and r names a live
 * raviolo of h at h's current generation.  False sends the call to the
 * full check, which accepts the rarer legal cases or reports misuse. */
static inline bool owner_is_self(const rav_heap *h)
{
	const rav_heap *self = rav__self_heap;
	return self != NULL && h != NULL && h->builder == self->id;
}

static inline bool check_ref_passes(const rav_heap *h, rav_ref r)
{
	const rav_cell *c = r.cell;
	if (!c || !owner_is_self(h) || r.gen != h->gen || ((uintptr_t)c & (RAV_CELL_SIZE - 1)) != 0 ||
	    (const char *)c < rav__pool.base ||
	    (const char *)c >= rav__pool.base + rav__pool.reserved * (size_t)RAV_PAGE_SIZE)
		return false;
	/* (types up to RAV_TYPE_DEAD are empty cells, headers, reference
	 * ravioli, root cells and holes) */
	return page_owner(page_of(c)) == h && cell_type(c) > RAV_TYPE_DEAD;
}
#endif

/* Cell c, taken by an allocation (a bump or a hole), becomes a live cell of
 * type t: fields zero, its ALLOC recorded, counted. */
static inline __attribute__((always_inline)) void rav__alloc_init_t(rav_heap *h, rav_cell *c, rav_type t, bool tr)
{
	c->w[0] = t;
	c->w[1] = 0;
	c->w[2] = 0;
	c->w[3] = 0;
	RECT(tr, RAV_EV_ALLOC, t, 0, c, 0, 0);
	h->st.allocs++;
	h->st.live_cells++;
	if (t == RAV_TYPE_REF)
		h->st.ref_cells++;
}

/* ---- the top of a heap ----
 * The one way to move the top (h->top, h->top_page): bump and limit follow
 * (struct rav_heap).  A heap whose holes wait keeps limit NULL. */
static inline __attribute__((always_inline)) void heap_set_top(rav_heap *h, rav_cell *page, unsigned top)
{
	h->top_page = page;
	h->top = top;
	h->bump = page ? &page[top] : NULL;
	h->limit = page && !h->dead ? &page[CELLS] : NULL;
}

/* The top moves on the same page (a bump, a shrink, a truncation). */
static inline __attribute__((always_inline)) void heap_set_top_index(rav_heap *h, unsigned top)
{
	heap_set_top(h, h->top_page, top);
}

/* A hole joined h->dead: allocations stop bumping (they take holes first). */
static inline __attribute__((always_inline)) void heap_bump_stop(rav_heap *h)
{
	h->limit = NULL;
}

/* ---- allocation fast path ----
 * The top of the heap is a bump pointer; holes (deferred mode, or during an
 * operation that freed) are reused first.  Everything else (a new page, a
 * hole) is rav__alloc_slow. */
static inline __attribute__((always_inline)) rav_cell *rav__alloc_t(rav_heap *h, rav_type t, bool tr)
{
	rav_cell *c;
	c = h->bump;
	if (RAV_LIKELY((uintptr_t)c < (uintptr_t)h->limit)) {
		rav_assert(h->dead == NULL && c == &h->top_page[h->top] && h->top < CELLS);
		h->bump = c + 1;
		h->top++;
		VG_CELL_ALLOC(c);
		/* cells above the top are empty (or old contents on a dirty top page) */
		rav_assert(page_dirty(h->top_page) || (c->w[0] == 0 && c->w[RAV_W_BACK] == 0));
	} else {
		c = rav__alloc_slow(h);
		if (!c)
			return NULL;
	}
	rav__alloc_init_t(h, c, t, tr);
	return c;
}

static inline rav_cell *rav__alloc(rav_heap *h, rav_type t)
{
	return rav__alloc_t(h, t, rav__tracing);
}

#endif /* RAV_PRIVATE_H */
