/* ravioli.h - public interface of libravioli, the ravioli memory engine.
 *
 * Ravioli memory (see docs/ravioli.md in the design notes) in one paragraph:
 * every heap cell is a fixed-size "raviolo" (4 words, 32 bytes on 64-bit);
 * every raviolo is referred to by exactly one slot, whose address it keeps
 * in its back-link word; several referrers go through a balanced tree of
 * "reference ravioli"; a heap never has gaps, because freeing a cell moves
 * the top cell into the hole and fixes the O(1) words that name it; each
 * thread owns its own heap made of pages; threads communicate by handing
 * whole pages to each other.
 *
 * Rules for programs:
 *  - References live only in fields of ravioli and in roots (rav_root).
 *  - A rav_ref is a *borrow*: a raw cell pointer valid only until the next
 *    engine call that may free or move cells on that heap (a free, a
 *    reference overwrite or clear, a receive, a collection, a compaction
 *    step).  Allocation never moves cells.  Debug builds (-Ddebug_checks)
 *    detect the use of a stale borrow and report it.
 *  - A heap belongs to one thread.  Storing a reference to another heap's
 *    raviolo is an error (RAV_ECROSS, reported by debug builds).
 *
 * Errors: functions that can fail return rav_status; rav_last_error() gives
 * a precise message for the calling thread.  API misuse detected by debug
 * checks goes to the error handler (rav_set_error_handler); the default
 * handler prints the message to stderr and aborts.  A null heap, output
 * pointer or callback, or an address that is not the engine's where a root,
 * slot or cell goes, is such misuse; the per-cell calls (fields, roots,
 * rav_move, scalars) test their heap and addresses in builds with debug
 * checks only, to keep their fast paths as they are without them.
 */
#ifndef RAVIOLI_H
#define RAVIOLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rav-config.h" /* generated: RAV_PAGE_SIZE, RAV_DEBUG, RAV_TRACING, RAV_VALGRIND */
#include "rav-record.h" /* cell layout, built-in types */

#ifdef __cplusplus
extern "C" {
#endif

/* C++ programs include this header too (tests/install builds one with
 * -pedantic): its compound literals are T{...} there. */
#ifdef __cplusplus
#define RAV__LITERAL(T) T
#else
#define RAV__LITERAL(T) (T)
#endif

/* ---- Geometry ------------------------------------------------------------ */

#define RAV_CELL_SIZE ((size_t)RAV_CELL_WORDS * sizeof(uintptr_t))
#define RAV_PAGE_CELLS (RAV_PAGE_SIZE / RAV_CELL_SIZE)

/* The cell layout (word indices, type word: type id | flags | scalar,
 * RAV_TYPE_MASK, RAV_FLAG_*, RAV_SCALAR_SHIFT) and the built-in type ids
 * are in rav-record.h, the contract replay reads traces by. */
#define RAV_SCALAR_MAX (((uintptr_t)1 << (sizeof(uintptr_t) * 8 - RAV_SCALAR_SHIFT)) - 1)

typedef struct rav_cell {
	uintptr_t w[RAV_CELL_WORDS];
} __attribute__((aligned(RAV_CELL_WORDS * sizeof(uintptr_t)))) rav_cell;

/* ---- Status -------------------------------------------------------------- */

typedef enum rav_status {
	RAV_OK = 0,
	RAV_ENOMEM,  /* page pool limit reached or the OS refused memory */
	RAV_EINVAL,  /* invalid argument (null, bad field index, wrong kind) */
	RAV_ETYPE,   /* unknown type, or field kind mismatch (data vs reference) */
	RAV_ECROSS,  /* reference between two different heaps */
	RAV_ESTALE,  /* a borrow used after a free/move on its heap */
	RAV_ECLOSED, /* channel closed */
	RAV_EAGAIN,  /* non-blocking receive: nothing there */
	RAV_EIO,     /* read/write on a file descriptor failed */
	RAV_EFORMAT, /* serialized data malformed, truncated or of a newer version */
	RAV_ESTATE,  /* operation not allowed now (message already sent, ...) */
	RAV_ERANGE,  /* index out of range */
} rav_status;

const char *rav_status_name(rav_status s);      /* "RAV_ENOMEM" */
const char *rav_last_error(void);               /* calling thread's last message */
typedef void (*rav_error_handler)(rav_status s, const char *message, void *user);
/* Handler for misuse found by debug checks (stale borrow, cross-heap store,
 * invariant violations).  NULL restores the default (print + abort). */
void rav_set_error_handler(rav_error_handler handler, void *user);

/* ---- Types --------------------------------------------------------------- */

typedef uint16_t rav_type;
typedef enum rav_field_kind { RAV_DATA = 0, RAV_REF = 1 } rav_field_kind;

/* Register a type with two payload fields.  Returns its id, or 0 with
 * rav_last_error() set (registry full; RAV_EINVAL for a name that is NULL,
 * empty, too long, or not printable text: a name is 1 to 63 bytes without
 * control characters (tabs, newlines) or spaces at its ends, as a field
 * name).  Registering the same name with the same kinds again returns the
 * existing id. */
rav_type rav_type_register(const char *name, rav_field_kind f0, rav_field_kind f1);
/* The same, naming the two fields (`"left"`, `"right"`) for tools that show
 * cells (ravscope, `ravtrace dump`).  A name is 1 to 31 bytes of printable
 * text; NULL leaves a field unnamed.  Registering a known type again with
 * other names is RAV_ETYPE; names given for a type registered without any
 * are taken (and recorded again). */
rav_type rav_type_register_named(const char *name, rav_field_kind f0, const char *f0_name, rav_field_kind f1,
				 const char *f1_name);
const char *rav_type_name(rav_type t);           /* NULL if unknown */
rav_field_kind rav_type_field_kind(rav_type t, int field);
const char *rav_type_field_name(rav_type t, int field); /* NULL if unnamed or unknown */
unsigned rav_type_count(void);                   /* ids in use are < this */
rav_type rav_type_lookup(const char *name);      /* 0 if unknown */

/* ---- Process-wide setup -------------------------------------------------- */

/* Defaults of rav_config, and what the page pool does with free pages.
 *
 * A page freed by a heap goes first to its thread's page cache (at most
 * RAV_POOL_CACHE_PAGES; reused by that thread without a lock), then to the
 * shared pool, where it stays committed ("warm") and is reused youngest
 * first.  The pool keeps warm what the program used at its recent peak
 * (the mark: pages in use when use last stood at it) beyond what it uses
 * now, and at least pool_hot_pages:
 *
 *     kept = max(pool_hot_pages, mark - pages in use)
 *
 * The mark stays whole for purge_decay_ms / 2 after use fell from it, then
 * falls linearly to zero over the other half; use rising to it again puts
 * it back.  So a program that drops its working set and builds it again
 * within purge_decay_ms / 2 (500 ms by default) commits nothing again, and
 * one that frees memory for good has resident memory back at what heaps
 * hold plus pool_hot_pages plus the threads' caches within purge_decay_ms
 * (1 s by default; plus a tick of purge_decay_ms / 16): a background
 * thread of the engine does it, whether or not the program calls the
 * engine again.  A warm page beyond what is kept goes back to the OS
 * (MADV_DONTNEED; its address space is kept) once unused for
 * purge_delay_ms, oldest first.  For pages back at once, set both
 * purge_decay_ms and purge_delay_ms to 1.  rav_pool_stats_get reports
 * where every free page is and why it is kept. */
#define RAV_POOL_DEFAULT_LIMIT_PAGES ((size_t)1 << 22)    /* 16 GiB of address space with 4 KiB pages */
#define RAV_POOL_VALGRIND_LIMIT_PAGES ((size_t)1 << 16)   /* default under Valgrind (its shadow memory makes a big
							     reservation slow), when built with -Dvalgrind */
#define RAV_POOL_DEFAULT_RESERVE_PAGES 64                  /* pool_hot_pages */
#define RAV_POOL_DEFAULT_PURGE_DELAY_MS 100
#define RAV_POOL_DEFAULT_DECAY_MS 1000
#define RAV_POOL_MAX_PURGE_DELAY_MS (24u * 3600 * 1000)
#define RAV_POOL_CACHE_PAGES 32                           /* most pages a thread's cache holds */
#if UINTPTR_MAX > 0xffffffffu
#define RAV_POOL_MAX_PAGES (((size_t)1 << 47) / RAV_PAGE_SIZE) /* the largest pool limit rav_init accepts */
#else
#define RAV_POOL_MAX_PAGES (((size_t)1 << 30) / RAV_PAGE_SIZE)
#endif

typedef struct rav_config {
	size_t pool_limit_pages;  /* 0: RAV_POOL_DEFAULT_LIMIT_PAGES; at most RAV_POOL_MAX_PAGES.  Pages out of the
				   * shared pool (held by heaps, messages and threads' caches) never exceed it:
				   * allocation past it fails with RAV_ENOMEM */
	size_t pool_hot_pages;    /* 0: RAV_POOL_DEFAULT_RESERVE_PAGES; free pages kept committed however long
				   * unused (the floor of what is kept); at most RAV_POOL_MAX_PAGES */
	unsigned purge_delay_ms;  /* 0: RAV_POOL_DEFAULT_PURGE_DELAY_MS; a free page beyond what is kept goes
				   * back to the OS once unused this long; at most RAV_POOL_MAX_PURGE_DELAY_MS */
	unsigned purge_decay_ms;  /* 0: RAV_POOL_DEFAULT_DECAY_MS; the recent peak's pages are kept for half of
				   * this after use fell from it, then fewer and fewer, none after all of it
				   * (see above); at most RAV_POOL_MAX_PURGE_DELAY_MS */
	bool no_purge_thread;     /* true: no background thread; free pages go back to the OS only during
				   * page operations of the engine (a program that stops calling keeps them) */
} rav_config;

/* Optional: called before any heap exists.  Without it the engine starts
 * with defaults on first use.  RAV_ESTATE if called after first use,
 * RAV_EINVAL (nothing changed) if a field is out of range.
 * The environment variable RAVIOLI_ARRIVAL=fill-tail|evacuate forces one
 * layout for received messages (for measuring them; see rav__arrive). */
rav_status rav_init(const rav_config *config);

/* ---- Heaps, roots, borrows ----------------------------------------------- */

typedef struct rav_heap rav_heap;

/* A root is an engine-owned slot the program keeps across calls. */
typedef struct rav_root_s *rav_root;

/* A borrow of a raviolo.  `gen` is the heap generation when it was taken. */
typedef struct rav_ref {
	rav_cell *cell; /* NULL for "no reference" */
	uint32_t gen;
} rav_ref;

#define RAV_NULL_REF (RAV__LITERAL(rav_ref){ NULL, 0 })
static inline bool rav_ref_is_null(rav_ref r) { return r.cell == NULL; }

/* The calling thread's heap, created on first use (NULL only on ENOMEM). */
rav_heap *rav_heap_self(void);
/* Give the thread a name (recorded in traces, shown in tools). */
void rav_thread_name(const char *name);
/* Release the calling thread's heap (frees everything in it, returns pages
 * to the pool).  Also done automatically when the thread exits. */
void rav_thread_exit(void);
unsigned rav_heap_id(const rav_heap *h);

rav_root rav_root_new(rav_heap *h);            /* an empty root; NULL on ENOMEM */
void rav_root_free(rav_heap *h, rav_root r);   /* drops its reference, then the root */
rav_ref rav_root_get(rav_heap *h, rav_root r); /* walk to the target (null ref if empty) */
rav_status rav_root_set(rav_heap *h, rav_root r, rav_ref target); /* target may be null: clears */
rav_status rav_root_clear(rav_heap *h, rav_root r);
bool rav_root_is_set(rav_heap *h, rav_root r);

/* Allocate a raviolo of type t (fields zero) and store its only reference
 * into root r (dropping what r referred to before).  *out (optional) is a
 * fresh borrow of the new cell. */
rav_status rav_new_root(rav_heap *h, rav_type t, rav_root r, rav_ref *out);
/* Same, storing into reference field `field` of `parent`. */
rav_status rav_new_field(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out);

/* Field access.  Kinds are checked in debug builds (RAV_ETYPE). */
uintptr_t rav_load(rav_heap *h, rav_ref obj, int field);                  /* data field */
void rav_store(rav_heap *h, rav_ref obj, int field, uintptr_t value);    /* data field */
rav_ref rav_load_ref(rav_heap *h, rav_ref obj, int field);               /* deref a reference field */
/* obj.field = target (target may be null: clears).  Adds a referrer to
 * target (inserting a reference raviolo when it already has one) and drops
 * what the field held before (which may free and move cells: all borrows
 * on h are stale afterwards). */
rav_status rav_store_ref(rav_heap *h, rav_ref obj, int field, rav_ref target);
rav_status rav_clear_ref(rav_heap *h, rav_ref obj, int field);
/* Move a reference from one slot to another without creating a reference
 * raviolo: dst takes what src referred to (dropping what dst held before)
 * and src becomes empty.  Slots are fields of ravioli or roots. */
typedef struct rav_slot {
	uintptr_t *word;
	uint32_t gen; /* generation of the borrow it came from (0 for roots: they never move) */
} rav_slot;
/* Slot constructors (inline: a call each would cost as much as a move). */
static inline rav_slot rav_field_slot(rav_ref obj, int field)
{
	if (!obj.cell || (unsigned)field > 1)
		return RAV__LITERAL(rav_slot){ NULL, 0 };
	return RAV__LITERAL(rav_slot){ &obj.cell->w[1 + field], obj.gen };
}
static inline rav_slot rav_root_slot(rav_root r)
{
	return RAV__LITERAL(rav_slot){ (uintptr_t *)r, 0 };
}
rav_status rav_move(rav_heap *h, rav_slot dst, rav_slot src);
/* Allocate a raviolo of type t into slot `at` (a root or a reference field,
 * which may hold something); what `at` referred to moves into reference
 * field `field` of the new raviolo: a push on a list or a stack, an
 * insertion before a node.  Nothing is freed, so nothing moves and every
 * borrow stays valid.  *out (optional) is a borrow of the new cell. */
rav_status rav_new_before(rav_heap *h, rav_type t, rav_slot at, int field, rav_ref *out);
rav_type rav_type_of(rav_heap *h, rav_ref obj);
uintptr_t rav_scalar(rav_heap *h, rav_ref obj);                 /* spare type-word bits */
void rav_set_scalar(rav_heap *h, rav_ref obj, uintptr_t value); /* value <= RAV_SCALAR_MAX */
/* Current generation of h (bumped by every free or move). */
uint32_t rav_heap_gen(const rav_heap *h);

/* ---- Freeing and collection ---------------------------------------------- */

typedef enum rav_free_mode {
	RAV_FREE_IMMEDIATE = 0, /* compaction happens inside the freeing call (default) */
	RAV_FREE_DEFERRED = 1,  /* the freeing call only queues; rav_compact() runs the cascade and the moves in bounded steps */
} rav_free_mode;

void rav_set_free_mode(rav_heap *h, rav_free_mode mode);
/* Do at most max_moves units of deferred work (cells killed, then cells
 * moved; 0: all).  Returns the work still queued (dead + dying cells). */
size_t rav_compact(rav_heap *h, size_t max_moves);
/* Mark from roots and free everything unreachable (cycles included).
 * Returns the number of ravioli freed. */
size_t rav_collect(rav_heap *h);

/* ---- Vectors and byte strings (trees of ravioli, O(log n) access) --------- */

/* A vector is a RAV_TYPE_VEC raviolo; store it in a root or a field.
 * Element i is found by a walk from the header down a binary tree of
 * cells (two elements a leaf): about log2(n) dependent loads, each a cache
 * miss once the vector outgrows the caches (17 at 200k elements).  For
 * random access to many objects, hold each in a root of its own
 * (rav_root_new) instead: one load.
 * rav_vec_new_root makes data or reference vectors; a vector made with
 * rav_new_field(h, RAV_TYPE_VEC, ...) is a data vector (reference vectors are
 * marked by bit 0 of the header's scalar). */
rav_status rav_vec_new_root(rav_heap *h, rav_root r, bool of_refs);
size_t rav_vec_len(rav_heap *h, rav_ref vec);
rav_status rav_vec_push(rav_heap *h, rav_ref vec, uintptr_t value);      /* data vectors */
rav_status rav_vec_get(rav_heap *h, rav_ref vec, size_t i, uintptr_t *out);
rav_status rav_vec_set(rav_heap *h, rav_ref vec, size_t i, uintptr_t value);
rav_status rav_vec_pop(rav_heap *h, rav_ref vec, uintptr_t *out);      /* may move cells */
rav_status rav_vec_push_ref(rav_heap *h, rav_ref vec, rav_ref target);  /* reference vectors */
rav_ref rav_vec_get_ref(rav_heap *h, rav_ref vec, size_t i);
rav_status rav_vec_set_ref(rav_heap *h, rav_ref vec, size_t i, rav_ref target); /* may move cells */

rav_status rav_bytes_new_root(rav_heap *h, rav_root r, const void *data, size_t len);
size_t rav_bytes_len(rav_heap *h, rav_ref bytes);
rav_status rav_bytes_append(rav_heap *h, rav_ref bytes, const void *data, size_t len);
int rav_bytes_at(rav_heap *h, rav_ref bytes, size_t i);                /* -1 if out of range */
size_t rav_bytes_read(rav_heap *h, rav_ref bytes, size_t off, void *buf, size_t len);

/* ---- Messages, channels, serialization ----------------------------------- */

typedef struct rav_msg rav_msg;
typedef struct rav_channel rav_channel;

/* A message is built in detached buffer pages of the calling thread: it has
 * its own heap (use it with every function above) and one root. */
rav_msg *rav_msg_new(void);
rav_heap *rav_msg_heap(rav_msg *m);
rav_root rav_msg_root(rav_msg *m);
/* Move the subtree held only by root `src` of heap h into the message and
 * store it in the message root (src becomes empty).  When the subtree is
 * the top of h (allocated last, or received and passed on), the pages
 * holding it go to the message as they are and at most a page of its
 * cells moves, recorded or not (a subtree of at most two thirds of a page,
 * alone on h's top page, moves whole: handing its page would give the
 * message a page of holes); otherwise it is copied cell by cell and
 * the originals freed.  Either way borrows on h are stale afterwards. */
rav_status rav_msg_adopt(rav_msg *m, rav_heap *h, rav_root src);
void rav_msg_free(rav_msg *m); /* discard an unsent message */

rav_channel *rav_channel_new(void);
rav_status rav_send(rav_channel *ch, rav_msg *m);                 /* consumes m */
rav_status rav_recv(rav_channel *ch, rav_heap *h, rav_root dst);  /* blocks; RAV_ECLOSED when closed and empty */
rav_status rav_try_recv(rav_channel *ch, rav_heap *h, rav_root dst); /* RAV_EAGAIN if empty */
void rav_channel_close(rav_channel *ch);
void rav_channel_free(rav_channel *ch);

#define RAV_SER_COMPRESS 1u /* zstd-compress page images (needs zstd at build) */
/* Write the message (consumes nothing) or the subtree held by root r. */
rav_status rav_serialize_msg(rav_msg *m, int fd, unsigned flags);
rav_status rav_serialize(rav_heap *h, rav_root r, int fd, unsigned flags);
/* Read a serialized message or subtree into heap h (pages join h, then an
 * arrival compaction) and store its root into dst. */
rav_status rav_deserialize(rav_heap *h, int fd, rav_root dst);

/* ---- Inspection (for tools and tests) ------------------------------------ */

typedef struct rav_stats {
	uint64_t live_cells;  /* ravioli in the heap excluding page headers (incl. reference ravioli) */
	uint64_t ref_cells;   /* reference ravioli among them */
	uint64_t dead_cells;  /* holes queued for deferred compaction */
	uint64_t pages;       /* pages in the heap's list (incl. the kept empty page) */
	uint64_t root_pages;  /* pages holding root cells */
	uint64_t allocs, frees, moves, fixups;
	uint64_t pages_acquired, pages_released; /* pool traffic of this heap */
	uint64_t pages_received, pages_sent;     /* hand-offs */
	uint64_t dying_cells; /* unreachable cells queued for the deferred kill cascade (still counted live) */
} rav_stats;

void rav_heap_stats(rav_heap *h, rav_stats *out);

/* The page pool: what it holds, where, and why (see rav_config). */
typedef struct rav_pool_stats {
	uint64_t reserved_pages;  /* address space reserved */
	uint64_t used_pages;      /* pages held by heaps and messages */
	uint64_t free_pages;      /* every other page taken from the reservation: cached + warm + cold + in flight */
	uint64_t committed_free;  /* free pages still backed by memory: cached + warm + being committed */
	uint64_t acquires, releases; /* page operations of heaps and messages */
	uint64_t limit_pages;
	/* where the free pages are */
	uint64_t cached_pages;    /* in threads' page caches: their thread reuses them without a lock; they go to
				   * the shared pool when a cache overflows or its thread ends */
	uint64_t warm_pages;      /* in the shared pool, committed, reused youngest first */
	uint64_t reserve_pages;   /* the floor: this many stay warm however long unused (pool_hot_pages) */
	uint64_t cold_pages;      /* given back to the OS; reused when no warm page is left (committed again,
				   * youngest first) */
	uint64_t purging_pages;   /* being given back or committed right now (the madvise runs outside the lock) */
	/* why */
	uint64_t peak_pages;      /* the mark: pages in use (used + cached) at the recent peak */
	uint64_t peak_age_ms;     /* since use last stood at the mark (it is whole for purge_decay_ms / 2) */
	uint64_t mark_pages;      /* the mark now, decayed: the pool keeps used + warm up to this */
	uint64_t keep_pages;      /* warm pages kept now: max(reserve_pages, mark_pages - used - cached) */
	uint64_t due_pages;       /* warm pages beyond keep_pages: they go back once unused for purge_delay_ms */
	uint64_t purge_decay_ms;  /* the mark falls to zero this long after use left it */
	uint64_t purge_delay_ms;  /* a warm page beyond keep_pages unused this long goes back to the OS */
	uint64_t oldest_warm_ms;  /* how long the oldest warm page has been unused */
	uint64_t purged_pages;    /* given back to the OS since start */
	uint64_t recommitted_pages; /* cold pages taken back into use since start */
	uint64_t shared_locks;    /* page operations that took the shared pool's lock (the others used a cache) */
	uint32_t threads_caching; /* threads with a page cache */
	uint32_t cache_pages_max; /* pages one cache holds at most */
	bool purge_thread;        /* a background thread gives pages back (else page operations do it) */
} rav_pool_stats;
void rav_pool_stats_get(rav_pool_stats *out);

/* Address <-> (page index, slot) naming used by traces. */
void *rav_pool_base(void);
size_t rav_page_index(const void *addr);

typedef struct rav_cell_info {
	rav_cell *cell;
	size_t page;        /* global page index */
	unsigned slot;      /* cell index in its page (0 = header) */
	rav_type type;
	uintptr_t scalar;
	uintptr_t field[2]; /* raw field words (addresses for references) */
	uintptr_t back[2];  /* back-link(s): slot addresses; back[1] only for RAV_TYPE_REF */
} rav_cell_info;

/* Visit each page of h in list order, then each cell of it in slot order
 * (headers included).  Return false from a callback to stop. */
typedef bool (*rav_page_visitor)(rav_heap *h, size_t page_index, unsigned fill, bool is_root_page, void *user);
typedef bool (*rav_cell_visitor)(rav_heap *h, const rav_cell_info *info, void *user);
void rav_heap_walk(rav_heap *h, rav_page_visitor pv, rav_cell_visitor cv, void *user);
void rav_cell_inspect(rav_heap *h, const rav_cell *c, rav_cell_info *out);
/* Visit every leaf slot that refers to obj (through reference ravioli). */
typedef bool (*rav_slot_visitor)(uintptr_t *slot, void *user);
void rav_referrers(rav_heap *h, rav_ref obj, rav_slot_visitor v, void *user);
/* Full invariant check (no gaps, every forward/back link consistent, page
 * fills, counters).  Returns RAV_OK or an error with rav_last_error() set. */
rav_status rav_heap_check(rav_heap *h);

/* ---- Tracing ------------------------------------------------------------- */

/* Place a user mark (short annotation) in the trace; no-op when not tracing.
 * A text longer than RAV_MARK_MAX bytes is cut there (before a UTF-8
 * character that would straddle the cut). */
#define RAV_MARK_MAX 4096
void rav_mark(const char *text);
/* Record memory accesses made outside the engine (the "chatty" samples). */
void rav_trace_access(const void *addr, bool write);

/* ---- Inline fast paths ----------------------------------------------------
 *
 * The calls a program makes per cell are also defined below as inline
 * functions, which the function-like macros of the same names pick:
 * rav_new_field and rav_new_root (when the slot is empty and the heap's top
 * page has room: a bump allocation, as mimalloc's malloc fast path; or,
 * in deferred mode, a queued hole taken by rav__take_hole),
 * rav_new_before (the same, the slot's old target moving into the new cell),
 * rav_root_get and rav_load_ref (when the slot holds a normal raviolo),
 * rav_load, rav_store, rav_scalar and rav_set_scalar; rav_move only passes
 * its slots to the library as words (rav__move_slots).  Each does the work
 * of the library function's common case in the caller and calls the library
 * function (through the macro-free name, `(rav_new_field)(...)`) for
 * everything else: a new page, holes to reuse, an occupied slot, a
 * reference raviolo to walk, a bad argument, and every call that records
 * (so recordings, live sessions and call sites are exactly as without
 * them) but one: while a recorder records to a file, rav_new_field's and
 * rav_new_root's common case records itself, as the library would (the
 * inline traced allocation, below).  Other calls that write take the
 * library's path whenever tracing is on; reads (rav_root_get, rav_load_ref, rav_load, rav_scalar) record nothing
 * unless accesses are recorded or a live session runs (the library's own
 * test, rav__hooks_flag), so recording to a file keeps them inline: a
 * program's reads cost what they cost untraced (callgrind, rav-bench
 * trace-record: 5.6 instructions per event went to library calls of reads
 * that recorded nothing).  What they check is what the library checks in a
 * build without debug checks (a null borrow, root or field index; a null
 * heap where the library's function checks it).
 *
 * They are compiled in when the engine was configured without debug checks
 * and without Valgrind support (rav-config.h); RAV_INLINE_FAST=0 before
 * including this header turns them off, RAV_INLINE_FAST=1 forces them on
 * (a program's own checks and the engine's tests).  The functions
 * themselves stay exported: their addresses, `(rav_load)(...)` and other
 * languages' bindings reach them as before.
 *
 * They read and write the first words of a heap, struct rav__heap_head (the
 * engine's struct rav_heap begins with it, checked there), and five
 * variables of the engine (rav__tracing_flag, rav__hooks_flag,
 * rav__refmask, rav__alloc_gate, rav__alloc_gate_rec), and the inline
 * traced allocation the calling thread's recording state (rav__rtl,
 * rav-record.h: its buffer, its bound, its call site) and its buffer
 * (rav_evbuf, the RAV_RAW_ALLOC_INTO record): so those layouts are part of
 * the library's ABI (a change to them changes the soname, lib/meson.build),
 * as are rav__move_slots, rav__take_hole, rav__new_root_at,
 * rav__new_field_at and rav__new_field_pc.  rav__allocatable, which programs built before the
 * gate read instead, stays exported and kept. */
#ifndef RAV_INLINE_FAST
#if RAV_DEBUG || RAV_VALGRIND
#define RAV_INLINE_FAST 0
#else
#define RAV_INLINE_FAST 1
#endif
#endif

/* Engine internals the fast paths use; not API (names may change with the
 * soname).  may_alias: the engine writes these words as struct rav_heap. */
struct __attribute__((may_alias)) rav__heap_head {
	rav_cell *top_page; /* page holding the top of the heap (NULL: none yet) */
	rav_cell *dead;     /* holes waiting for compaction (NULL: none) */
	unsigned top;       /* next free cell of top_page (RAV_PAGE_CELLS: full, or no page) */
	uint32_t gen;       /* the heap's generation (rav_heap_gen) */
	rav_stats st;
	/* The bump allocation's pointer and limit: bump is &top_page[top]
	 * (NULL: no page), and bump < limit says the fast path may take it:
	 * limit is the top page's end, or NULL while holes wait or there is no
	 * page.  A bump updates bump and top. */
	rav_cell *bump;
	rav_cell *limit;
	/* The hole list (dead): its holes are linked through word 1 (next, the
	 * older hole) and word 2 (prev); dead_tail is its last hole (NULL: no
	 * hole).  nruns: runs of holes the engine keeps track of (0: none, and
	 * the newest hole may be taken inline: rav__fast_hole). */
	rav_cell *dead_tail;
	unsigned nruns;
};
extern int rav__tracing_flag;                  /* recording is on: take the library's path */
extern int rav__hooks_flag;                    /* reads have tracing work: take the library's path */
/* The allocation gate: 1 at index t when a program may allocate type t and
 * nothing records, in one byte per possible rav_type (65536, so no bound
 * test either).  While recording it points at a table of zeros, so an
 * allocation's whole "may I take the fast path" is one load of the pointer
 * and one byte test instead of the tracing flag, a bound and
 * rav__allocatable (callgrind, rav-bench binary-trees: see engine/types.c,
 * which keeps it in step with both). */
extern const uint8_t *rav__alloc_gate;
/* The same for the inline traced allocation below: 1 at index t when a
 * program may allocate type t, something records and nothing else needs
 * the library's path (rav__hooks_flag 0); a table of zeros otherwise. */
extern const uint8_t *rav__alloc_gate_rec;
/* A cell of type t (fields zero, counted) from h's queued holes (deferred
 * mode); NULL when there is none.  The caller links it as a bump's. */
extern rav_cell *rav__take_hole(rav_heap *h, rav_type t);
/* rav_move with the slots as words: what ravioli.h's rav_move calls (a
 * rav_slot passed by value carries four bytes of padding that gcc merges
 * from the stack at every call site; the generations are 0 where the
 * library has no debug checks, which never reads them). */
extern rav_status rav__move_slots(rav_heap *h, uintptr_t *dst, uintptr_t *src, uint32_t dst_gen, uint32_t src_gen);
/* rav_new_root and rav_new_field whose call site (recorded when call sites
 * are) is pc: where the inline traced allocation below hands a call to the
 * library, with the site it records itself (its return address). */
extern rav_status rav__new_root_at(rav_heap *h, rav_type t, rav_root r, rav_ref *out, uintptr_t pc);
extern rav_status rav__new_field_at(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out, uintptr_t pc);
/* rav__new_field_at with the parent's cell (its generation 0): six
 * arguments, so the inline traced allocation reaches it by a tail call. */
extern rav_status rav__new_field_pc(rav_heap *h, rav_type t, rav_cell *parent, int field, rav_ref *out, uintptr_t pc);
extern uint8_t rav__allocatable[RAV_TYPE_MAX]; /* 1: a program may allocate this type (what programs built
						  before rav__alloc_gate test; kept, part of the ABI) */
extern uint8_t rav__refmask[RAV_TYPE_MAX];     /* bit f: field f of the type is a reference */

#if RAV_INLINE_FAST

#if defined(__has_attribute)
#if __has_attribute(artificial)
#define RAV__FAST static inline __attribute__((always_inline, artificial))
#endif
#endif
#ifndef RAV__FAST
#define RAV__FAST static inline __attribute__((always_inline))
#endif
#define RAV__LIKELY(x) __builtin_expect(!!(x), 1)

#if RAV_VALGRIND
/* Forced on in a build that describes cells to memcheck: tell it too. */
#include <valgrind/memcheck.h>
#define RAV__VG_CELL_ALLOC(c) VALGRIND_MEMPOOL_ALLOC(rav_pool_base(), (c), RAV_CELL_SIZE)
#else
#define RAV__VG_CELL_ALLOC(c) ((void)0)
#endif

/* Whether *flag is 0: one compare with memory on x86-64 (gcc and clang
 * load a relaxed atomic into a register and test it there: one instruction
 * more per read or store; callgrind, rav-bench binary-trees' check: 22.0 ->
 * 20.5 instructions per node, tree 99.5 -> 95.6).  An aligned 4-byte load
 * is atomic there all the same; volatile: read once at this point, never
 * merged with another test or hoisted out of a program's loop (a live
 * session that starts meanwhile must see the loop's next read). */
RAV__FAST bool rav__flag_clear(const int *flag)
{
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
	bool clear;
	__asm__ volatile("cmpl $0, %1" : "=@ccz"(clear) : "m"(*flag));
	return clear;
#else
	return !__atomic_load_n(flag, __ATOMIC_RELAXED);
#endif
}

RAV__FAST bool rav__fast_ok(void)
{
	return RAV__LIKELY(rav__flag_clear(&rav__tracing_flag));
}

/* For reads: the library's HOT_ENTRY_READ takes its untraced copy whenever
 * rav__hooks_flag is 0, whatever rav__tracing_flag says; that copy is what
 * the inline read does. */
RAV__FAST bool rav__fast_read_ok(void)
{
	return RAV__LIKELY(rav__flag_clear(&rav__hooks_flag));
}

/* The bump itself: c, the next cell above h's top (hh->bump, which the
 * caller found below hh->limit: room, and no hole), becomes a cell of type
 * t, fields zero, counted. */
RAV__FAST rav_cell *rav__fast_bump(struct rav__heap_head *hh, rav_cell *c, rav_type t)
{
	hh->bump = c + 1;
	hh->top++;
	RAV__VG_CELL_ALLOC(c);
	c->w[RAV_W_TYPE] = t;
	c->w[RAV_W_F0] = 0;
	c->w[RAV_W_F1] = 0;
	hh->st.allocs++;
	hh->st.live_cells++;
	return c;
}

/* A queued hole (deferred mode: a free left it, this allocation fills it
 * and nothing moves), taken inline where the engine keeps no runs of holes
 * (nruns 0: rav__take_hole otherwise): c, the newest hole (hh->dead, not
 * NULL), leaves the hole list and becomes a cell of type t, fields zero,
 * counted, as a bump's.  (A hole stays allocated for memcheck.) */
RAV__FAST rav_cell *rav__fast_hole(struct rav__heap_head *hh, rav_cell *c, rav_type t)
{
	rav_cell *next = (rav_cell *)c->w[RAV_W_F0];
	hh->dead = next;
	if (next)
		next->w[RAV_W_F1] = 0;
	else
		hh->dead_tail = NULL;
	hh->st.dead_cells--;
	c->w[RAV_W_TYPE] = t;
	c->w[RAV_W_F0] = 0;
	c->w[RAV_W_F1] = 0;
	hh->st.allocs++;
	hh->st.live_cells++;
	return c;
}

/* Whether the gate is open for t: t is allocatable and nothing records. */
RAV__FAST bool rav__gate_open(rav_type t)
{
	return __atomic_load_n(&rav__alloc_gate, __ATOMIC_RELAXED)[t] != 0;
}

/* Allocate a cell of type t into the empty slot, a bump at the top of h;
 * NULL if that is not the case (the library's path then).  The caller
 * found the gate open (rav__gate_open). */
RAV__FAST rav_cell *rav__fast_new(rav_heap *h, rav_type t, uintptr_t *slot)
{
	struct rav__heap_head *hh = (struct rav__heap_head *)h;
	rav_cell *c;
	if (*slot != 0)
		return NULL;
	c = hh->bump;
	if (RAV__LIKELY((uintptr_t)c < (uintptr_t)hh->limit)) {
		c = rav__fast_bump(hh, c, t);
	} else if ((c = hh->dead) != NULL) {
		/* (after the bump's test, so the bump's code is as without it) */
		if (RAV__LIKELY(hh->nruns == 0))
			c = rav__fast_hole(hh, c, t);
		else if (!(c = rav__take_hole(h, t)))
			return NULL;
	} else {
		return NULL;
	}
	c->w[RAV_W_BACK] = (uintptr_t)slot;
	*slot = (uintptr_t)c;
	return c;
}

/* ---- the inline traced allocation ----
 *
 * While a recorder records to a file, the gate is closed for every type,
 * and an allocation's common case (an empty slot, a bump at the top,
 * room in the thread's event buffer below its bound, the call site the
 * thread recorded last) is recorded here, in the program, as the library
 * records it: one RAV_RAW_ALLOC_INTO record (the cell's alloc, the slot's
 * store and the back-link), published by the buffer's count, then the
 * bump.  Everything else goes to the library (rav__new_root_at,
 * rav__new_field_at) with the call site recorded here: reads that record
 * (rav__hooks_flag: accesses recorded, a live session's safe points and
 * debugger), a type the program may not allocate, a new page, holes, a
 * clock reading or a full buffer (the bound), and a changed call site.
 * It reads the thread's recording state (rav__rtl, rav-record.h) and
 * rav__allocatable.  It runs out of line, in the program (below,
 * rav__traced_new_field), and a call site is that function's return
 * address, inside this header's inlined code: the symbolizer drops this
 * header's inlined frames and names the program's line (trace/symbols.c);
 * its calls of the library are tail calls, so a backtrace (stack mode)
 * starts in the program.  Only on x86-64 and AArch64, and not in a shared
 * object's code (-fPIC without -fPIE), which would reach rav__rtl through
 * __tls_get_addr: those record through the library as before. */
#if RAV_TRACING && defined(__GNUC__) && (defined(__x86_64__) || defined(__aarch64__)) &&                  \
	!(defined(__PIC__) && !defined(__PIE__)) && !defined(RAV_NO_TRACED_INLINE)
#define RAV__TRACED_INLINE 1

/* The traced allocation of a cell of type t into the empty slot, from
 * call site pc, when the gate was closed; NULL: the library's path. */
RAV__FAST rav_cell *rav__traced_new(rav_heap *h, rav_type t, uintptr_t *slot, uintptr_t pc)
{
	struct rav__heap_head *hh = (struct rav__heap_head *)h;
	struct rav__rec_tls *tl = &rav__rtl;
	rav_cell *c = hh->bump;
	rav_evbuf *b;
	rav_raw_event *e;
	uint32_t n;
	/* recording, with no reads' or session's work, an allocatable type;
	 * an empty slot, a bump, the thread's call site (or a held one, or
	 * none: call sites off), room under the bound */
	if (!__atomic_load_n(&rav__alloc_gate_rec, __ATOMIC_RELAXED)[t] || *slot != 0 ||
	    (uintptr_t)c >= (uintptr_t)hh->limit || (tl->site.pc != pc && tl->site.hold == 0))
		return NULL;
	b = tl->buf;
	n = b->count;
	if (n >= tl->limit)
		return NULL;
	e = &b->ev[n];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		/* kind and x (0) as one 8-byte store */
		uint64_t kx = (uint64_t)t << 8 | RAV_RAW_ALLOC_INTO;
		__builtin_memcpy(&e->kind, &kx, sizeof kx);
	}
#else
	e->kind = RAV_RAW_ALLOC_INTO | (uint32_t)t << 8;
	e->x = 0;
#endif
	e->a = (uint64_t)(uintptr_t)c;
	e->b = (uint64_t)(uintptr_t)slot;
	e->c = 0;
	/* published after the record (a live reader reads up to count) */
	__atomic_store_n(&b->count, n + 1, __ATOMIC_RELEASE);
	c = rav__fast_bump(hh, c, t);
	c->w[RAV_W_BACK] = (uintptr_t)slot;
	*slot = (uintptr_t)c;
	return c;
}
#else
#define RAV__TRACED_INLINE 0
#endif

/* What a borrow handed to the library's path says about its generation:
 * a build without debug checks never reads it (its check of a borrow is
 * the null test), so the inline functions pass 0 there and the program
 * need not keep the borrow's generation alive across its own calls for a
 * path it rarely takes (callgrind, rav-bench binary-trees' check: the
 * walk's second child becomes a loop instead of a call).  rav-config.h's
 * RAV_DEBUG is the library's own setting. */
#if RAV_DEBUG
#define RAV__SLOW_REF(r) (r)
#else
#define RAV__SLOW_REF(r) (RAV__LITERAL(rav_ref){ (r).cell, 0 })
#endif

/* The library's path writes its borrow into a temporary of the inline
 * function, copied into *out by field: had *out's address gone to the
 * call, the program's borrow (usually a local) would live in memory, and
 * reading it back as one 16-byte value just after the fast path stored its
 * two fields apart stalls the load until those stores, and the new cell's
 * stores before them, reach the cache (a store-forwarding failure: most of
 * a tree build's time, perf). */
RAV__FAST rav_status rav__put_ref(rav_status s, const rav_ref *tmp, rav_ref *out)
{
	/* (only on success: a call that fails leaves *out as it was, in the
	 * library and so here, rather than copying the unset temporary) */
	if (out && s == RAV_OK) {
		out->cell = tmp->cell;
		out->gen = tmp->gen;
	}
	return s;
}

#if RAV__TRACED_INLINE
/* The traced allocation's entry from rav_new_field and rav_new_root, in
 * the program but out of line (one copy per program file): inlined at
 * every call site, its registers were saved and spilled around an
 * untraced program's own fast path (rav-bench binary-trees: +3.9%
 * instructions in the tree builder, 14% more time, objdump and an
 * interleaved A/B).  Its call site is its return address, in the inlined
 * code of this header.  tmp: the borrow, or NULL. */
static __attribute__((noinline, unused)) rav_status rav__traced_new_field(rav_heap *h, rav_type t, rav_ref parent, int field,
									 rav_ref *tmp)
{
	uintptr_t *slot = &parent.cell->w[1 + field];
	__asm__("" : "+r"(slot)); /* (one register for the slot, not parent and field: objdump) */
	rav_cell *c = rav__traced_new(h, t, slot, (uintptr_t)__builtin_return_address(0));
	/* (a tail call: six arguments in registers; rav__new_field_at's
	 * seven, one on the stack, cost the fast path four saved registers,
	 * 7 of its 57 instructions.  A library with debug checks reads the
	 * borrow's generation, which only rav__new_field_at takes: the tests
	 * that force these paths on run them against such a library too.
	 * Without them the parent and field are found again from the slot,
	 * and the call site read again: kept in registers across the fast
	 * path, they cost it two saved registers, 4 of its 53 instructions,
	 * callgrind, rav-bench trace-record.) */
	if (c == NULL)
#if RAV_DEBUG
		return rav__new_field_at(h, t, parent, field, tmp, (uintptr_t)__builtin_return_address(0));
#else
		return rav__new_field_pc(h, t, (rav_cell *)((uintptr_t)slot & ~(uintptr_t)(RAV_CELL_SIZE - 1)),
					 (int)(((uintptr_t)slot & (RAV_CELL_SIZE - 1)) / sizeof(uintptr_t)) - 1, tmp,
					 (uintptr_t)__builtin_return_address(0));
#endif
	if (tmp) {
		tmp->cell = c;
		tmp->gen = ((struct rav__heap_head *)h)->gen;
	}
	return RAV_OK;
}

static __attribute__((noinline, unused)) rav_status rav__traced_new_root(rav_heap *h, rav_type t, rav_root r, rav_ref *tmp)
{
	uintptr_t pc = (uintptr_t)__builtin_return_address(0);
	rav_cell *c = rav__traced_new(h, t, (uintptr_t *)r, pc);
	if (c == NULL)
		return rav__new_root_at(h, t, r, tmp, pc);
	if (tmp) {
		tmp->cell = c;
		tmp->gen = ((struct rav__heap_head *)h)->gen;
	}
	return RAV_OK;
}
#endif

RAV__FAST rav_status rav__new_field_fast(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out)
{
	rav_ref rav__tmp;
	rav_cell *c;
	if (RAV__LIKELY(parent.cell != NULL) && RAV__LIKELY((unsigned)field <= 1)) {
		if (RAV__LIKELY(rav__gate_open(t))) {
			if ((c = rav__fast_new(h, t, &parent.cell->w[1 + field])) != NULL)
				goto done;
		} else if (RAV__TRACED_INLINE) {
#if RAV__TRACED_INLINE
			return rav__put_ref(rav__traced_new_field(h, t, RAV__SLOW_REF(parent), field, out ? &rav__tmp : NULL),
					    &rav__tmp, out);
#endif
		}
	}
	return rav__put_ref((rav_new_field)(h, t, RAV__SLOW_REF(parent), field, out ? &rav__tmp : NULL), &rav__tmp, out);
done:
	if (out) {
		out->cell = c;
		out->gen = ((struct rav__heap_head *)h)->gen;
	}
	return RAV_OK;
}

RAV__FAST rav_status rav__new_root_fast(rav_heap *h, rav_type t, rav_root r, rav_ref *out)
{
	rav_ref rav__tmp;
	rav_cell *c;
	if (RAV__LIKELY(h != NULL) && RAV__LIKELY(r != NULL)) {
		if (RAV__LIKELY(rav__gate_open(t))) {
			if ((c = rav__fast_new(h, t, (uintptr_t *)r)) != NULL)
				goto done;
		} else if (RAV__TRACED_INLINE) {
#if RAV__TRACED_INLINE
			return rav__put_ref(rav__traced_new_root(h, t, r, out ? &rav__tmp : NULL), &rav__tmp, out);
#endif
		}
	}
	return rav__put_ref((rav_new_root)(h, t, r, out ? &rav__tmp : NULL), &rav__tmp, out);
done:
	if (out) {
		out->cell = c;
		out->gen = ((struct rav__heap_head *)h)->gen;
	}
	return RAV_OK;
}

/* rav_new_before's common case: a slot of a root or a reference field
 * (what the library checks without debug checks), a type with reference
 * field `field`, a bump at the top, and what the slot held (if anything) a
 * normal raviolo, whose back-link moves to the new cell's field.  A heap
 * without reference ravioli (st.ref_cells 0, an exact count) is known to
 * hold a normal raviolo there without reading its type word: the
 * back-link is written unread, and the cache miss of a cold cell (the old
 * head of a list pushed onto) waits in the store buffer instead of holding
 * up the instructions after it (engine/heap-inline.h, backlink_slot_in). */
RAV__FAST rav_status rav__new_before_fast(rav_heap *h, rav_type t, rav_slot at, int field, rav_ref *out)
{
	rav_ref rav__tmp;
	struct rav__heap_head *hh = (struct rav__heap_head *)h;
	uintptr_t *slot = at.word;
	if (RAV__LIKELY(h && slot && (unsigned)field <= 1) && __atomic_load_n(&rav__alloc_gate, __ATOMIC_RELAXED)[t]) {
		const rav_cell *owner = (const rav_cell *)((uintptr_t)slot & ~(uintptr_t)(RAV_CELL_SIZE - 1));
		uintptr_t owner_type = owner->w[RAV_W_TYPE] & RAV_TYPE_MASK;
		unsigned word = (unsigned)(((uintptr_t)slot & (RAV_CELL_SIZE - 1)) / sizeof(uintptr_t));
		rav_cell *held = (rav_cell *)*slot;
		if (RAV__LIKELY(owner_type == RAV_TYPE_ROOT ||
				(word - 1 <= 1 && (__atomic_load_n(&rav__refmask[owner_type], __ATOMIC_RELAXED) >> (word - 1) & 1))) &&
		    RAV__LIKELY(__atomic_load_n(&rav__refmask[t], __ATOMIC_RELAXED) >> field & 1) &&
		    RAV__LIKELY(!held || hh->st.ref_cells == 0 ||
				(held->w[RAV_W_TYPE] & RAV_TYPE_MASK) != RAV_TYPE_REF)) {
			/* a bump, or a hole (deferred mode) */
			rav_cell *c = hh->bump;
			if (RAV__LIKELY((uintptr_t)c < (uintptr_t)hh->limit)) {
				c = rav__fast_bump(hh, c, t);
			} else if ((c = hh->dead) != NULL && RAV__LIKELY(hh->nruns == 0)) {
				c = rav__fast_hole(hh, c, t);
			} else if (c == NULL || !(c = rav__take_hole(h, t))) {
				goto slow;
			}
			c->w[1 + field] = (uintptr_t)held;
			c->w[RAV_W_BACK] = (uintptr_t)slot;
			if (held)
				held->w[RAV_W_BACK] = (uintptr_t)&c->w[1 + field];
			*slot = (uintptr_t)c;
			if (out) {
				out->cell = c;
				out->gen = hh->gen;
			}
			return RAV_OK;
		}
	}
slow:
	return rav__put_ref((rav_new_before)(h, t, at, field, out ? &rav__tmp : NULL), &rav__tmp, out);
}

/* The borrow of what slot holds, if that is a normal raviolo or nothing
 * and reads have no tracing work: true with *out set, else false (the
 * library's path).  The flag is tested last: a walk's common case (a null
 * child, a leaf) then decides on the slot it loaded, and the compiler
 * keeps no test of the flag or the borrow across the program's own calls
 * (callgrind, a recursive walk of a binary tree as rav-bench
 * binary-trees' check: 40.5 -> 32.5 instructions per node; a list walk
 * with rav_load: 17 as before).  The result is built whole (a literal):
 * filled field by field, gcc kept the padding after `gen` from an earlier
 * library call's result and merged it in (three more instructions per
 * read in that walk). */
RAV__FAST bool rav__fast_deref(rav_heap *h, const uintptr_t *slot, rav_ref *out)
{
	rav_cell *c = (rav_cell *)*slot;
	if (!c) {
		*out = RAV_NULL_REF;
		return rav__fast_read_ok();
	}
	if ((c->w[RAV_W_TYPE] & RAV_TYPE_MASK) == RAV_TYPE_REF || !rav__fast_read_ok())
		return false;
	*out = RAV__LITERAL(rav_ref){ c, ((struct rav__heap_head *)h)->gen };
	return true;
}

RAV__FAST rav_ref rav__root_get_fast(rav_heap *h, rav_root r)
{
	rav_ref out;
	if (RAV__LIKELY(r != NULL) && rav__fast_deref(h, (const uintptr_t *)r, &out))
		return out;
	return (rav_root_get)(h, r);
}

RAV__FAST rav_ref rav__load_ref_fast(rav_heap *h, rav_ref obj, int field)
{
	rav_ref out;
	if (RAV__LIKELY(obj.cell != NULL) && RAV__LIKELY((unsigned)field <= 1) &&
	    rav__fast_deref(h, &obj.cell->w[1 + field], &out))
		return out;
	out = (rav_load_ref)(h, RAV__SLOW_REF(obj), field);
	return RAV__LITERAL(rav_ref){ out.cell, out.gen };
}

RAV__FAST uintptr_t rav__load_fast(rav_heap *h, rav_ref obj, int field)
{
	if (rav__fast_read_ok() && RAV__LIKELY(obj.cell && (unsigned)field <= 1))
		return obj.cell->w[1 + field];
	return (rav_load)(h, RAV__SLOW_REF(obj), field);
}

RAV__FAST void rav__store_fast(rav_heap *h, rav_ref obj, int field, uintptr_t value)
{
	if (rav__fast_ok() && RAV__LIKELY(obj.cell && (unsigned)field <= 1))
		obj.cell->w[1 + field] = value;
	else
		(rav_store)(h, RAV__SLOW_REF(obj), field, value);
}

RAV__FAST uintptr_t rav__scalar_fast(rav_heap *h, rav_ref obj)
{
	if (rav__fast_read_ok() && RAV__LIKELY(obj.cell != NULL))
		return obj.cell->w[RAV_W_TYPE] >> RAV_SCALAR_SHIFT;
	return (rav_scalar)(h, RAV__SLOW_REF(obj));
}

RAV__FAST void rav__set_scalar_fast(rav_heap *h, rav_ref obj, uintptr_t value)
{
	if (rav__fast_ok() && RAV__LIKELY(obj.cell && value <= RAV_SCALAR_MAX)) {
		uintptr_t low = obj.cell->w[RAV_W_TYPE] & (((uintptr_t)1 << RAV_SCALAR_SHIFT) - 1);
		obj.cell->w[RAV_W_TYPE] = low | (value << RAV_SCALAR_SHIFT);
	} else {
		(rav_set_scalar)(h, RAV__SLOW_REF(obj), value);
	}
}

RAV__FAST rav_status rav__move_fast(rav_heap *h, rav_slot dst, rav_slot src)
{
#if RAV_DEBUG
	return rav__move_slots(h, dst.word, src.word, dst.gen, src.gen);
#else
	return rav__move_slots(h, dst.word, src.word, 0, 0);
#endif
}

#define rav_new_field(h, t, parent, field, out) rav__new_field_fast((h), (t), (parent), (field), (out))
#define rav_new_root(h, t, r, out) rav__new_root_fast((h), (t), (r), (out))
#define rav_new_before(h, t, at, field, out) rav__new_before_fast((h), (t), (at), (field), (out))
#define rav_root_get(h, r) rav__root_get_fast((h), (r))
/* (variadic: a slot written as a compound literal, `(rav_slot){ p, 0 }`,
 * has a comma of its own) */
#define rav_move(h, ...) rav__move_fast((h), __VA_ARGS__)
#define rav_load_ref(h, obj, field) rav__load_ref_fast((h), (obj), (field))
#define rav_load(h, obj, field) rav__load_fast((h), (obj), (field))
#define rav_store(h, obj, field, value) rav__store_fast((h), (obj), (field), (value))
#define rav_scalar(h, obj) rav__scalar_fast((h), (obj))
#define rav_set_scalar(h, obj, value) rav__set_scalar_fast((h), (obj), (value))
#undef RAV__LIKELY
#undef RAV__SLOW_REF
#endif /* RAV_INLINE_FAST */

#ifdef __cplusplus
}
#endif
#endif /* RAVIOLI_H */
