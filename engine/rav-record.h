/* rav-record.h - the engine's recorder interface (engine -> trace layer).
 *
 * The engine knows nothing of files.  When tracing is compiled in
 * (-Dtracing=true) and a recorder is installed, every engine operation
 * appends fixed-size raw events to a per-thread buffer (no lock, no call per
 * event).  A full buffer is handed to the recorder through `exchange`, which
 * returns an empty one; the recorder (trace/, libravtrace) encodes,
 * compresses and writes chunks on its own thread.
 *
 * Replay contract: the raw event stream describes EVERY write the engine
 * makes to heap memory (cells in pages), so replaying it rebuilds the exact
 * heap image.  Addresses are raw; the recorder turns them into
 * (page index, cell, word) with rav_pool_base() and RAV_PAGE_SIZE.
 *
 * Ordering: events of one thread are in program order.  Events that
 * coordinate threads (page acquire/release/hand-off, heap creation, message
 * send/receive) carry a process-wide sequence number in `c`, taken under the
 * lock that orders them (a page release takes it before the page can leave
 * the thread's page cache, an acquire after the page came to the thread);
 * a merge of per-thread streams that respects those numbers is a valid
 * global order.  RAV_EV_TIME events carry a TSC reading
 * every RAV_TIME_EVERY events (and before every ordering event), for
 * interleaving memory accesses between threads and for wall-clock display.
 *
 * Events recorded by a thread before it has a heap (type definitions made
 * at start-up) carry thread id 0 in their buffer.  Dead cells' words are
 * unspecified (the engine links them into its free queue).
 *
 * Live sessions (attach to a running program, trace/listen.c): a recorder
 * may also be installed while heaps exist, with recording off.  A session
 * starts an *epoch*: recording goes on, and each heap is snapshotted by its
 * owner at its next engine call (a safe point: every public engine function
 * starts with one), a thread blocked in rav_recv is snapshotted on its
 * behalf under the channel's lock, and messages in flight are snapshotted
 * under their channel's lock.  A thread records nothing in an epoch until
 * its own heap was snapshotted in it, so each heap's events continue exactly
 * from its snapshot.  Buffers can be read while they fill (count is
 * published with release order after the records), so a live reader sees
 * every thread's events without waiting for a buffer to fill.
 */
#ifndef RAV_RECORD_H
#define RAV_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The installed headers are also C++ (tests/install compiles a C++17
 * program against them with -pedantic): C11's _Static_assert is C++'s
 * static_assert. */
#ifdef __cplusplus
#define RAV__STATIC_ASSERT(cond, why) static_assert(cond, why)
#else
#define RAV__STATIC_ASSERT(cond, why) _Static_assert(cond, why)
#endif

/* Event kinds.  "slot" = address of a word (a field, a back-link, a forward
 * link or a root slot); "cell" = address of a raviolo.  `aux` is the 24-bit
 * small argument stored in the high bits of rav_raw_event.kind. */
typedef enum rav_ev_kind {
	RAV_EV_NONE = 0,
	RAV_EV_TIME = 1,          /* a = tsc; c = seq of the ordering event that follows (0 for periodic readings) */
	RAV_EV_THREAD_START = 2,  /* x = heap id of the thread's heap; a = OS thread id */
	RAV_EV_THREAD_NAME = 3,   /* x = heap id; aux = text length; text follows */
	RAV_EV_THREAD_END = 4,    /* x = heap id */
	RAV_EV_HEAP_NEW = 5,      /* x = heap id; aux = rav_heap_kind; a = creating thread's heap id; c = seq */
	RAV_EV_HEAP_END = 6,      /* x = heap id; c = seq */
	RAV_EV_TYPE_DEF = 7,      /* aux = type id; x = field kinds (bit0 f0 is ref, bit1 f1 is ref); a = text length; text
				   * follows: the type's name, then (format 1.4) if its fields are named a NUL, field 0's
				   * name, a NUL, field 1's name (empty when unnamed) */
	RAV_EV_PAGE_ACQUIRE = 8,  /* a = page; x = heap id; aux = rav_page_kind; c = seq.  Data pages are appended
				   * to the heap's list; root pages form a separate list. */
	RAV_EV_PAGE_RELEASE = 9,  /* a = page; x = heap id; c = seq.  The page may still hold cells (a heap torn
				   * down at thread exit, a discarded message): they vanish with it. */
	RAV_EV_PAGE_HANDOFF = 10, /* a = page; b = from heap id; x = to heap id; c = seq.  The page joins the
				   * receiver's list as a heap page, before its trailing empty page if it has one. */
	RAV_EV_ALLOC = 11,        /* a = cell; aux = type.  Cell words become {type, 0, 0, 0}.  The cell is
				   * either the empty cell at the top (bump) or a dead hole waiting for
				   * compaction, which the allocation reuses (then no move fills it). */
	RAV_EV_FREE = 12,         /* a = cell; aux = its type before.  Cell becomes a hole (dead; its words are
				   * unspecified, and writes to them are not recorded: a cascade splicing a reference
				   * raviolo out of a dead parent's field records no clear of that field).  aux = 0: an
				   * empty cell becomes a hole (message arrival: the tail of a partly filled page that
				   * is no longer at the top). */
	RAV_EV_MOVE = 13,         /* a = from cell; b = to cell (a hole).  4 words copied; `from` becomes empty (top shrinks).
				   * On arrival the receiver's cells of its partly filled top page may instead move up,
				   * highest first, into the empty cells after the arrived cells (b above the top: the top
				   * grows); that page, emptied, is then released (RAV_EV_PAGE_RELEASE). */
	RAV_EV_TRIM = 14,         /* a = cell: a dead cell at the top becomes empty (top shrinks); freeing the structure
				   * allocated last trims it cell by cell, from the top down.  Also a dead cell of the page
				   * emptied on arrival (above). */
	RAV_EV_FIXUP = 15,        /* a = slot; b = old value; c = new value (pointer fix-up after a move) */
	RAV_EV_REF_STORE = 16,    /* a = slot; b = old value; c = new value (program stores a reference) */
	RAV_EV_REF_CLEAR = 17,    /* a = slot; b = old value (slot becomes 0) */
	RAV_EV_DATA_STORE = 18,   /* a = slot; b = old value; c = new value (data field) */
	RAV_EV_LINK = 19,         /* a = slot; b = old; c = new: engine-internal link write (back-link, fwd) */
	RAV_EV_TYPE_WORD = 20,    /* a = cell; b = old type word; c = new type word (scalar/flags) */
	RAV_EV_REFRAV_INSERT = 21, /* a = reference raviolo; b = its target; annotation (its words come as ALLOC/LINK) */
	RAV_EV_REFRAV_REMOVE = 22, /* a = reference raviolo; annotation (a FREE follows) */
	RAV_EV_ROOT_NEW = 23,     /* a = root slot */
	RAV_EV_ROOT_FREE = 24,    /* a = root slot */
	RAV_EV_MSG_BUILD = 25,    /* x = message heap id */
	RAV_EV_MSG_SEND = 26,     /* x = message heap id; a = channel id; b = pages; c = seq */
	RAV_EV_MSG_RECV = 27,     /* x = message heap id; a = channel id; b = receiving heap id; c = seq */
	RAV_EV_COMPACT_BEGIN = 28, /* x = heap id; aux = rav_compact_reason */
	RAV_EV_COMPACT_END = 29,  /* x = heap id; a = moves */
	RAV_EV_SERIALIZE = 30,    /* x = heap id; a = cells; b = bytes written */
	RAV_EV_DESERIALIZE = 31,  /* x = heap id; a = cells; b = bytes read */
	RAV_EV_GC_BEGIN = 32,     /* x = heap id */
	RAV_EV_GC_END = 33,       /* x = heap id; a = ravioli freed */
	RAV_EV_ERROR = 34,        /* aux = rav_status; text follows (length in a) */
	RAV_EV_MARK = 35,         /* user mark; a = text length; text follows */
	RAV_EV_ACCESS = 36,       /* a = address; aux = 1 write / 0 read; b = size in bytes */
	RAV_EV_SNAPSHOT = 37,     /* aux = rav_snap_piece; x = heap id (0 for types and pool); a = piece id;
				   * b = rav_snap_where; c = seq.  The piece's state (trace chunk SNAPSHOT)
				   * replaces what a reader knew of that heap (or of the types / the pool). */
	RAV_EV_LOST = 38,         /* a = events lost; b = TSC when losing began; c = seq.  A reader forgets
				   * every heap: the snapshots that follow rebuild them (resynchronisation). */
	RAV_EV_PAGE_TO_MSG = 39,  /* format 1.6, generic shape: x = message heap id; a = page index (not an address);
				   * b = the heap giving it; c = 0, or 1 + the index of the message's page it goes
				   * before (0: at the end of its list); aux = the page's fill (its cells below it,
				   * header included, go with it).  rav_msg_adopt handing pages at the sender's top. */
	RAV_EV_KIND_COUNT
} rav_ev_kind;

/* Raw records that are not events (kind values above any event kind): the
 * recorder consumes them and they never count as events.
 *
 * RAV_RAW_SITE: the call site of the engine calls that follow on this
 * thread, recorded at a public engine call's entry when it differs from the
 * thread's current one.  Every event up to the next RAV_RAW_SITE carries it:
 * the events the call records itself and those it causes (moves, fix-ups,
 * page traffic of a compaction).  aux = frames (0: no site, e.g. the heap
 * torn down at thread exit); a, b, c = frames 0-2, then frames 3 ... in
 * ceil((frames - 3) / 4) more records of 4 words.  Frame 0 is the return
 * address of the engine call into the program, the others its callers'. */
#define RAV_RAW_SITE 0xc0u
#define RAV_SITE_FRAMES_MAX 64
/* Records a RAV_RAW_SITE record of `frames` frames takes, itself included. */
#define RAV_SITE_RECORDS(frames) (1u + ((frames) > 3 ? ((frames) - 3 + 3) / 4 : 0))

/* Compound raw records: the events of one engine operation in one record
 * (or two), written by the recording thread with the few fields that vary;
 * the consumer expands them (rav_raw_expand, below) into exactly the events
 * the operation would have recorded one by one, in the same order.  They
 * exist for the recording thread's sake (one test of the bound, one
 * publication and a quarter of the stores and bytes for three or more
 * events); nothing downstream of the expansion sees them, and they change
 * nothing in the trace format.  The recording thread writes one only on its
 * fast path (when a debugger sees every event, the operation records its
 * events one by one, each before its write).  Layouts (k: a word index in
 * a cell, the back-link word a link goes to):
 *
 * RAV_RAW_ALLOC_INTO: aux = type; a = cell; b = an empty slot.  ALLOC(cell),
 *   REF_STORE(slot, 0 -> cell), LINK(cell.w[BACK], 0 -> slot).
 * RAV_RAW_ATTACH: aux = event kind K (REF_STORE or LINK); a = an empty slot;
 *   b = a normal raviolo without referrer.  K(slot, 0 -> target),
 *   LINK(target.w[BACK], 0 -> slot).
 * RAV_RAW_DETACH: aux = event kind K (REF_CLEAR or LINK); a = slot; b = the
 *   normal raviolo it referred to.  K(slot, target -> 0, new value 0 in c),
 *   LINK(target.w[BACK], slot -> 0).
 * RAV_RAW_TRANSFER: aux = K | k << 8; a = from; b = to (empty); c = p, the
 *   cell from refers to.  K(to, 0 -> p), LINK(p.w[k], from -> to),
 *   LINK(from, p -> 0).
 * RAV_RAW_MOVE: aux = n | k0 << 2 | k1 << 4 | k2 << 6, n <= 3 fix-ups,
 *   | RAV_RAW_MOVE_BEGIN, _END, _FREE (a one-move compaction, below);
 *   a = t (from); b = d (to); c = slot 0; for n >= 2 one more record holds
 *   slots 1 and 2 (words 0 and 1).  MOVE(t, d), then for each i < n
 *   FIXUP(slot i, t.w[ki] -> d.w[ki]).  A free whose hole the top cell
 *   fills at once (heap-inline.h: settle_t, free_alone_t) records it whole:
 *   with RAV_RAW_MOVE_FREE, FREE(d, aux >> RAV_RAW_MOVE_TYPE_SHIFT) first;
 *   with RAV_RAW_MOVE_BEGIN, COMPACT_BEGIN(x, reason free) before the MOVE;
 *   with RAV_RAW_MOVE_END, COMPACT_END(x, 1 move) after the fix-ups
 *   (x: the heap id).
 * RAV_RAW_REFRAV_DROP: aux = K (REF_CLEAR or LINK); a = p, a reference
 *   raviolo whose target q is a normal raviolo; b = slot, one of its two
 *   referrers, which lets go of it; c = other, its other referrer; one
 *   more record holds q (word 0).  REFRAV_REMOVE(p), K(slot, p -> 0),
 *   LINK(other, p -> q), LINK(q.w[BACK], p.w[FWD] -> other), FREE(p,
 *   reference) (cascade.c's drop: p spliced out of the tree).
 * RAV_RAW_TRIM_RUN: aux = m (2 .. RAV_RAW_EXPAND_MAX); a = the highest of m
 *   consecutive cells trimmed from the top down.  TRIM(a), TRIM(a - one
 *   cell), ... TRIM(a - (m - 1) cells).  Words b and c are not written.
 * RAV_RAW_REFRAV_NEW: aux = K | k << 8; a = n, a new reference raviolo;
 *   b = its target; c = leaf, the slot it splits; one more record holds
 *   slot (word 0, the empty slot that gets the reference) and p (word 1,
 *   what leaf referred to).  ALLOC(n, reference), REFRAV_INSERT(n, target,
 *   leaf), TYPE_WORD(n, REF -> REF | 2 << scalar), LINK(n.w[1], 0 -> p),
 *   LINK(n.w[2], 0 -> leaf), LINK(n.w[3], 0 -> slot), LINK(p.w[k], leaf ->
 *   n.w[1]), LINK(leaf, p -> n), K(slot, 0 -> n).
 * RAV_RAW_POP: aux = ks | kb << 2; a = d, a slot holding the normal raviolo
 *   b = old; c = moved, what old's reference field ks (word 1 or 2) held,
 *   whose back-link is its word kb (1-3).  REF_STORE(d, old -> moved),
 *   LINK(moved.w[kb], old.w[ks] -> d), LINK(old.w[ks], moved -> 0),
 *   LINK(old.w[BACK], d -> 0): rav_move(d, old's field), a list pop, up to
 *   old's death (whose FREE and compaction follow as their own records).
 * RAV_RAW_NEW_BEFORE: aux = type | f << 12 | kb << 13; a = c, a new cell
 *   (a bump); b = slot; c = p, what slot held (0: nothing, and kb 0), whose
 *   back-link is its word kb (1-3).  ALLOC(c, type), then if p:
 *   REF_STORE(c.w[1 + f], 0 -> p), LINK(p.w[kb], slot -> c.w[1 + f]),
 *   LINK(slot, p -> 0); then REF_STORE(slot, 0 -> c), LINK(c.w[BACK], 0 ->
 *   slot) (rav_new_before). */
#define RAV_RAW_ALLOC_INTO 0xc1u
#define RAV_RAW_ATTACH 0xc2u
#define RAV_RAW_DETACH 0xc3u
#define RAV_RAW_TRANSFER 0xc4u
#define RAV_RAW_MOVE 0xc5u
#define RAV_RAW_REFRAV_NEW 0xc6u
#define RAV_RAW_TRIM_RUN 0xc7u
#define RAV_RAW_REFRAV_DROP 0xc8u
#define RAV_RAW_POP 0xc9u
#define RAV_RAW_NEW_BEFORE 0xcau
#define RAV_RAW_NEW_BEFORE_FIELD_SHIFT 12 /* (the type: < RAV_TYPE_MAX, 12 bits) */
#define RAV_RAW_NEW_BEFORE_KB_SHIFT 13
/* RAV_RAW_MOVE's aux bits around its move (the low 8 bits). */
#define RAV_RAW_MOVE_BEGIN (1u << 8)
#define RAV_RAW_MOVE_END (1u << 9)
#define RAV_RAW_MOVE_FREE (1u << 10)
#define RAV_RAW_MOVE_TYPE_SHIFT 12 /* the freed cell's type (< RAV_TYPE_MAX: 12 bits) */
/* The most events one compound record expands to. */
#define RAV_RAW_EXPAND_MAX 32

typedef enum rav_heap_kind { RAV_HEAP_THREAD = 0, RAV_HEAP_MESSAGE = 1 } rav_heap_kind;
typedef enum rav_page_kind { RAV_PAGE_HEAP = 0, RAV_PAGE_BUFFER = 1, RAV_PAGE_ROOT = 2 } rav_page_kind;
typedef enum rav_snap_piece { RAV_SNAP_TYPES = 1, RAV_SNAP_POOL = 2, RAV_SNAP_HEAP = 3 } rav_snap_piece;
typedef enum rav_snap_where {
	RAV_SNAP_OWNER = 0,     /* taken by the heap's owner at a safe point */
	RAV_SNAP_PARKED = 1,    /* its owner is blocked in rav_recv: taken under the channel's lock */
	RAV_SNAP_IN_FLIGHT = 2, /* a sent message in a channel's queue: taken under the channel's lock */
} rav_snap_where;

/* Why a compaction ran (RAV_EV_COMPACT_BEGIN's aux). */
enum rav_compact_reason { RAV_COMPACT_FREE = 0, RAV_COMPACT_ARRIVAL = 1, RAV_COMPACT_DEFERRED = 2, RAV_COMPACT_COLLECT = 3 };

/* ---- What the words of a cell mean ---------------------------------------
 * Replay rebuilds cells from the words the events write, so the layout of a
 * cell is part of this contract (trace/FORMAT.md, section 5.4, says the
 * same); ravioli.h gives it to programs from here. */

#define RAV_CELL_WORDS 4

/* Word indices inside a normal raviolo. */
#define RAV_W_TYPE 0 /* type word: type id | flags | small scalar */
#define RAV_W_F0 1   /* payload field 0 */
#define RAV_W_F1 2   /* payload field 1 */
#define RAV_W_BACK 3 /* back-link: address of the one slot referring here */

/* Word indices inside a reference raviolo (type RAV_TYPE_REF). */
#define RAV_W_FWD 1   /* forward link: target (normal or reference raviolo) */
#define RAV_W_BACK1 2 /* back-link to the first referring slot */
#define RAV_W_BACK2 3 /* back-link to the second referring slot */

/* Type word layout: bits 0-15 type id, 16-23 flags, 24 up scalar. */
#define RAV_TYPE_BITS 16
#define RAV_TYPE_MASK ((uintptr_t)0xffff)
#define RAV_FLAG_SHIFT 16
#define RAV_FLAG_MASK ((uintptr_t)0xff << RAV_FLAG_SHIFT)
#define RAV_FLAG_MARK ((uintptr_t)1 << 16)   /* reached by rav_collect's mark */
#define RAV_FLAG_BUFFER ((uintptr_t)1 << 17) /* lives in a message buffer page */
#define RAV_FLAG_DYING ((uintptr_t)1 << 18)  /* unreachable, queued for the deferred kill cascade */
#define RAV_FLAG_WATCH ((uintptr_t)1 << 19)  /* a live debugger watches this cell (rav_debug_watch) */
/* Root cells only: bit 19 + w set = root slot w (1-3) is free (on the
 * heap's free-slot stack), so a root freed twice is told from a live one. */
#define RAV_FLAG_ROOT_FREE(w) ((uintptr_t)1 << (19 + (w)))
#define RAV_FLAG_ROOT_FREE_ALL (RAV_FLAG_ROOT_FREE(1) | RAV_FLAG_ROOT_FREE(2) | RAV_FLAG_ROOT_FREE(3))
/* Flags of the engine's own bookkeeping: never recorded, never in a trace. */
#define RAV_FLAG_TRANSIENT (RAV_FLAG_MARK | RAV_FLAG_DYING | RAV_FLAG_WATCH | RAV_FLAG_ROOT_FREE_ALL)
#define RAV_SCALAR_SHIFT 24

/* Page header cell (cell 0 of every page): type RAV_TYPE_HEADER whose
 * scalar is fill | page kind << RAV_HEADER_KIND_SHIFT (fill: cells in use,
 * the header included), then these words.  The engine does not record its
 * writes to header cells: replay rebuilds them. */
#define RAV_HEADER_KIND_SHIFT 32
#define RAV_HEADER_W_NEXT 1  /* next page of the owner's list */
#define RAV_HEADER_W_PREV 2  /* previous page */
#define RAV_HEADER_W_OWNER 3 /* owning heap (NULL in the pool) */

/* Built-in types (ids below RAV_TYPE_FIRST_USER are reserved). */
enum {
	RAV_TYPE_EMPTY = 0,     /* an unused cell above the heap top */
	RAV_TYPE_HEADER = 1,    /* first cell of every page */
	RAV_TYPE_REF = 2,       /* reference raviolo: fwd + two back-links */
	RAV_TYPE_ROOT = 3,      /* a root cell: words 1..3 are root slots */
	RAV_TYPE_DEAD = 4,      /* freed, waiting for deferred compaction */
	RAV_TYPE_VEC = 5,       /* vector header: f0 length (data), f1 tree (ref) */
	RAV_TYPE_VEC_NODE = 6,  /* vector interior node: two refs */
	RAV_TYPE_VEC_LEAF = 7,  /* vector leaf of two data words */
	RAV_TYPE_VEC_RLEAF = 8, /* vector leaf of two references */
	RAV_TYPE_BYTES = 9,     /* byte string header: f0 length, f1 tree (ref) */
	RAV_TYPE_FIRST_USER = 16,
	RAV_TYPE_MAX = 4096,
};

/* 32 bytes.  Text payloads (names, marks, errors) follow their event as
 * ceil(len / 32) raw records of bytes (not NUL-terminated). */
typedef struct rav_raw_event {
	uint32_t kind; /* rav_ev_kind in bits 0-7, aux in bits 8-31 */
	uint32_t x;
	uint64_t a, b, c;
} rav_raw_event;
RAV__STATIC_ASSERT(sizeof(rav_raw_event) == 32, "raw event is 32 bytes");

/* Records a compound raw record (RAV_RAW_ALLOC_INTO ...) takes, itself
 * included; 0 for any other record. */
static inline unsigned rav_raw_compound_records(const rav_raw_event *e)
{
	switch (e->kind & 0xffu) {
	case RAV_RAW_ALLOC_INTO:
	case RAV_RAW_ATTACH:
	case RAV_RAW_DETACH:
	case RAV_RAW_TRANSFER:
	case RAV_RAW_TRIM_RUN:
	case RAV_RAW_POP:
	case RAV_RAW_NEW_BEFORE:
		return 1;
	case RAV_RAW_MOVE:
		return (e->kind >> 8 & 3u) >= 2 ? 2 : 1;
	case RAV_RAW_REFRAV_NEW:
	case RAV_RAW_REFRAV_DROP:
		return 2;
	default:
		return 0;
	}
}

static inline void rav__raw_put(rav_raw_event *o, uint32_t kindaux, uint64_t a, uint64_t b, uint64_t c)
{
	o->kind = kindaux;
	o->x = 0;
	o->a = a;
	o->b = b;
	o->c = c;
}

/* The events of compound record e (rav_raw_compound_records(e) records, all
 * present) into out[RAV_RAW_EXPAND_MAX]; returns how many, 0 if e is not a
 * compound record or is malformed. */
static inline unsigned rav_raw_expand(const rav_raw_event *e, rav_raw_event *out)
{
	const uint32_t aux = e->kind >> 8;
	const uint64_t w = 8; /* bytes per cell word */
	switch (e->kind & 0xffu) {
	case RAV_RAW_ALLOC_INTO:
		rav__raw_put(&out[0], RAV_EV_ALLOC | aux << 8, e->a, 0, 0);
		rav__raw_put(&out[1], RAV_EV_REF_STORE, e->b, 0, e->a);
		rav__raw_put(&out[2], RAV_EV_LINK, e->a + RAV_W_BACK * w, 0, e->b);
		return 3;
	case RAV_RAW_ATTACH:
		rav__raw_put(&out[0], aux & 0xffu, e->a, 0, e->b);
		rav__raw_put(&out[1], RAV_EV_LINK, e->b + RAV_W_BACK * w, 0, e->a);
		return 2;
	case RAV_RAW_DETACH:
		rav__raw_put(&out[0], aux & 0xffu, e->a, e->b, 0);
		rav__raw_put(&out[1], RAV_EV_LINK, e->b + RAV_W_BACK * w, e->a, 0);
		return 2;
	case RAV_RAW_TRANSFER:
		rav__raw_put(&out[0], aux & 0xffu, e->b, 0, e->c);
		rav__raw_put(&out[1], RAV_EV_LINK, e->c + (aux >> 8 & 3u) * w, e->a, e->b);
		rav__raw_put(&out[2], RAV_EV_LINK, e->a, e->c, 0);
		return 3;
	case RAV_RAW_MOVE: {
		unsigned n = aux & 3u, o = 0;
		if ((aux & 0x800u) || (!(aux & RAV_RAW_MOVE_FREE) && aux >> RAV_RAW_MOVE_TYPE_SHIFT))
			return 0;
		uint64_t slots[3] = { e->c, 0, 0 };
		if (n >= 2) {
			slots[1] = e[1].kind | (uint64_t)e[1].x << 32;
			slots[2] = e[1].a;
		}
		if (aux & RAV_RAW_MOVE_FREE)
			rav__raw_put(&out[o++], RAV_EV_FREE | (aux >> RAV_RAW_MOVE_TYPE_SHIFT) << 8, e->b, 0, 0);
		if (aux & RAV_RAW_MOVE_BEGIN) {
			rav__raw_put(&out[o], RAV_EV_COMPACT_BEGIN | (uint32_t)RAV_COMPACT_FREE << 8, 0, 0, 0);
			out[o++].x = e->x;
		}
		rav__raw_put(&out[o++], RAV_EV_MOVE, e->a, e->b, 0);
		for (unsigned i = 0; i < n; i++) {
			uint64_t k = aux >> (2 + 2 * i) & 3u;
			rav__raw_put(&out[o++], RAV_EV_FIXUP, slots[i], e->a + k * w, e->b + k * w);
		}
		if (aux & RAV_RAW_MOVE_END) {
			rav__raw_put(&out[o], RAV_EV_COMPACT_END, 1, 0, 0);
			out[o++].x = e->x;
		}
		return o;
	}
	case RAV_RAW_REFRAV_DROP: {
		uint64_t p = e->a, slot = e->b, other = e->c, q = e[1].kind | (uint64_t)e[1].x << 32;
		if (aux > 0xffu)
			return 0;
		rav__raw_put(&out[0], RAV_EV_REFRAV_REMOVE, p, 0, 0);
		rav__raw_put(&out[1], aux, slot, p, 0);
		rav__raw_put(&out[2], RAV_EV_LINK, other, p, q);
		rav__raw_put(&out[3], RAV_EV_LINK, q + RAV_W_BACK * w, p + RAV_W_FWD * w, other);
		rav__raw_put(&out[4], RAV_EV_FREE | (uint32_t)RAV_TYPE_REF << 8, p, 0, 0);
		return 5;
	}
	case RAV_RAW_TRIM_RUN: {
		unsigned m = aux;
		if (m < 2 || m > RAV_RAW_EXPAND_MAX)
			return 0;
		for (unsigned i = 0; i < m; i++)
			rav__raw_put(&out[i], RAV_EV_TRIM, e->a - (uint64_t)i * RAV_CELL_WORDS * w, 0, 0);
		return m;
	}
	case RAV_RAW_REFRAV_NEW: {
		uint64_t n = e->a, target = e->b, leaf = e->c;
		uint64_t slot = e[1].kind | (uint64_t)e[1].x << 32, p = e[1].a;
		rav__raw_put(&out[0], RAV_EV_ALLOC | (uint32_t)RAV_TYPE_REF << 8, n, 0, 0);
		rav__raw_put(&out[1], RAV_EV_REFRAV_INSERT, n, target, leaf);
		rav__raw_put(&out[2], RAV_EV_TYPE_WORD, n, RAV_TYPE_REF,
			     RAV_TYPE_REF | (uint64_t)2 << RAV_SCALAR_SHIFT);
		rav__raw_put(&out[3], RAV_EV_LINK, n + RAV_W_FWD * w, 0, p);
		rav__raw_put(&out[4], RAV_EV_LINK, n + RAV_W_BACK1 * w, 0, leaf);
		rav__raw_put(&out[5], RAV_EV_LINK, n + RAV_W_BACK2 * w, 0, slot);
		rav__raw_put(&out[6], RAV_EV_LINK, p + (aux >> 8 & 3u) * w, leaf, n + RAV_W_FWD * w);
		rav__raw_put(&out[7], RAV_EV_LINK, leaf, p, n);
		rav__raw_put(&out[8], aux & 0xffu, slot, 0, n);
		return 9;
	}
	case RAV_RAW_POP: {
		uint64_t d = e->a, old = e->b, moved = e->c, ks = aux & 3u, kb = aux >> 2 & 3u;
		if (aux >> 4 || ks == 0 || ks == 3 || kb == 0)
			return 0;
		rav__raw_put(&out[0], RAV_EV_REF_STORE, d, old, moved);
		rav__raw_put(&out[1], RAV_EV_LINK, moved + kb * w, old + ks * w, d);
		rav__raw_put(&out[2], RAV_EV_LINK, old + ks * w, moved, 0);
		rav__raw_put(&out[3], RAV_EV_LINK, old + RAV_W_BACK * w, d, 0);
		return 4;
	}
	case RAV_RAW_NEW_BEFORE: {
		uint64_t c = e->a, slot = e->b, p = e->c;
		uint32_t type = aux & (RAV_TYPE_MAX - 1u), kb = aux >> RAV_RAW_NEW_BEFORE_KB_SHIFT;
		uint64_t f = c + (1 + (aux >> RAV_RAW_NEW_BEFORE_FIELD_SHIFT & 1u)) * w;
		unsigned o = 0;
		if (kb > 3 || (kb == 0) != (p == 0))
			return 0;
		rav__raw_put(&out[o++], RAV_EV_ALLOC | type << 8, c, 0, 0);
		if (p) {
			rav__raw_put(&out[o++], RAV_EV_REF_STORE, f, 0, p);
			rav__raw_put(&out[o++], RAV_EV_LINK, p + kb * w, slot, f);
			rav__raw_put(&out[o++], RAV_EV_LINK, slot, p, 0);
		}
		rav__raw_put(&out[o++], RAV_EV_REF_STORE, slot, 0, c);
		rav__raw_put(&out[o++], RAV_EV_LINK, c + RAV_W_BACK * w, 0, slot);
		return o;
	}
	default:
		return 0;
	}
}

#define RAV_EV_KIND(e) ((e)->kind & 0xffu)
#define RAV_EV_AUX(e) ((e)->kind >> 8)
/* Records between periodic clock readings (events between them are
 * interpolated; ordering events bring their own reading).  64 (rec14; 32
 * before, 16 before that): the reading and the slow path it takes were 2.4
 * of the recording thread's 24 instructions per event at 16 (callgrind,
 * rav-bench trace-record's workload, with rdtsc's ~40 cycles on top), ~0.76
 * of 15.1 at 32; a compound record counts as one record for three or more
 * events, so readings come about every 100 events: a microsecond or two
 * apart at the bench's pace, which is how finely threads' plain events
 * interleave by time (HACKING.md, rec14). */
#define RAV_TIME_EVERY 64

/* The header fields up to `owner` are set by the engine when it takes the
 * buffer; a live reader reads them (and count) with atomic loads. */
typedef struct rav_evbuf {
	struct rav_evbuf *next; /* free for the recorder's queues */
	uint32_t thread;        /* heap id of the recording thread's heap */
	uint32_t count;         /* records committed (stored with release order after them) */
	uint32_t cap;           /* records available in ev[] */
	uint32_t flags;         /* the recorder's */
	uint32_t epoch;         /* session epoch of the events (0: recording since start) */
	uint32_t serial;        /* buffers of this thread before it in the epoch */
	uint32_t owner;         /* the recording thread (unique per thread, unlike `thread`) */
	uint32_t consumed;      /* records a live reader has taken (the recorder's; engine never reads it) */
	uint64_t reserved;      /* keeps ev[] 16-byte aligned in a malloc'd buffer */
	/* A flexible array member: C99, an extension of g++ (taken silently
	 * after __extension__) and of clang++ (which wants its warning off). */
#if defined(__cplusplus) && defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc99-extensions"
#endif
#ifdef __cplusplus
	__extension__
#endif
	rav_raw_event ev[];
#if defined(__cplusplus) && defined(__clang__)
#pragma clang diagnostic pop
#endif
} rav_evbuf;
RAV__STATIC_ASSERT(__builtin_offsetof(rav_evbuf, ev) % 16 == 0, "event records must be 16-byte aligned");

/* The recording thread's state, one thread-local variable (rav__rtl,
 * exported): the engine's emits (rav-private.h) and ravioli.h's inline
 * traced allocation read it, so its first fields (buf, limit, site.pc,
 * site.hold) are part of libravioli's ABI; not API.  One variable rather
 * than four: a program that reaches it from libravioli.so (initial-exec
 * TLS) loads its offset once for all its fields. */
struct rav__site_state {
	uintptr_t pc;  /* the call site last recorded (1 in stack mode: always look) */
	uint32_t hold; /* > 0: inside a public call whose site its inner calls keep (sites off: always) */
	uint32_t hash; /* stack mode: hash of the last stack recorded (0: none) */
	uint32_t gen;  /* rav__site_gen when pc was recorded */
	uintptr_t top; /* stack mode: frame 0 of the last stack taken (the live debugger asks) */
};
struct rav__rec_tls {
	rav_evbuf *buf;  /* the thread's buffer; never NULL (a static empty one when none) */
	uint32_t limit;  /* records may go straight into buf while its count is below this */
	uint32_t clock;  /* the count at which the next event needs a clock reading first */
	struct rav__site_state site;
};
#if defined(__GNUC__)
extern __thread struct rav__rec_tls rav__rtl;
#endif

struct rav_snap_heap;

typedef struct rav_recorder {
	/* Hand over a full (or, at first use, NULL) buffer; return an empty one
	 * with cap >= 64.  Called on the recording thread; may block briefly. */
	rav_evbuf *(*exchange)(rav_evbuf *full, void *user);
	/* The thread is ending (or rav_record_flush was called): take `last`,
	 * which may be partially filled.  The engine will not touch it again. */
	void (*release)(rav_evbuf *last, void *user);
	void *user;
	bool record_access; /* RAVIOLI_TRACE_ACCESS: record engine accessor loads/stores */
	/* Call sites (RAVIOLI_TRACE_SITES, RAVIOLI_TRACE_STACK): 0 none, 1 the
	 * call's return address, N > 1 a backtrace of up to N frames (at most
	 * RAV_SITE_FRAMES_MAX); RAV_RAW_SITE records go into the buffers. */
	uint8_t site_depth;
	/* Live sessions only (NULL for a recording from the start): take the
	 * state of one heap, which stays still during the call (walk it with
	 * rav_heap_walk).  Returns the piece id the engine puts in the
	 * RAV_EV_SNAPSHOT event, or 0 if it could not be taken (no event then,
	 * so heap->seq is never written; and the thread that needed the
	 * snapshot records nothing more in the epoch).
	 * Called on the owner thread, or under a channel's lock (parked owner,
	 * message in flight). */
	uint64_t (*snapshot)(const struct rav_snap_heap *heap, void *user);
} rav_recorder;

/* One heap at a safe point, as rav_recorder.snapshot sees it. */
typedef struct rav_snap_heap {
	struct rav_heap *heap;  /* valid during the call */
	uint32_t id;
	uint32_t parent;        /* message heaps: heap id of the thread that built it */
	uint32_t channel;       /* in flight: the channel's id */
	uint8_t kind;           /* rav_heap_kind */
	uint8_t where;          /* rav_snap_where */
	uint8_t free_mode;      /* rav_free_mode */
	uint32_t epoch;
	uint64_t os_tid;        /* thread heaps: the owner's OS thread id */
	const char *name;       /* thread heaps: rav_thread_name ("" if none) */
	uint64_t seq, tsc;      /* the snapshot's order stamp (as ordering events have) */
} rav_snap_heap;

/* Install (or, with NULL, remove) the recorder.  Installing emits
 * RAV_EV_TYPE_DEF for every registered type and RAV_EV_HEAP_NEW / page
 * events describing heaps that already exist are NOT replayed: install
 * before the first heap is created (the trace layer does it from a
 * constructor).  Returns false if heaps already exist. */
bool rav_record_install(const rav_recorder *r);
/* Hand the calling thread's partial buffer to the recorder's `release`. */
void rav_record_flush(void);
/* True while a recorder is installed. */
bool rav_record_active(void);
/* Called once, on the failing thread, just before the engine aborts the
 * process (the default misuse handler, a broken invariant), so that a
 * recording to a file keeps what was buffered, the error event included
 * (the trace layer passes its crash flush: every thread's buffer).  NULL
 * removes it. */
void rav_record_set_abort_hook(void (*fn)(void));

/* ---- Live sessions (used by trace/listen.c) ---------------------------- */

/* Install a live recorder (needs .snapshot) while heaps may exist; nothing
 * is recorded until rav_record_session_begin.  False if another recorder is
 * installed.  Installing the same one again is a no-op. */
bool rav_record_install_live(const rav_recorder *r);
/* Start a session (or, during one, a resynchronisation): a new epoch in
 * which every thread snapshots its heap at its next safe point before it
 * records anything.  Returns the epoch (>= 1). */
uint32_t rav_record_session_begin(void);
/* The end of a session, first step: no more sequence numbers in the
 * current epoch (a thread that needs one stops recording there), so that
 * the streams end in a consistent cut.  Returns the numbers handed out in
 * the epoch (its last is epoch << 40 | that); the session waits for their
 * events, then ends (record.c says why). */
uint64_t rav_record_seq_close(void);
/* The last sequence number handed out (epoch << 40 | n): the cut of a loss
 * (every number up to it is written, rav__seq_take says why). */
uint64_t rav_record_seq_last(void);
/* Recording off (threads keep their buffers; the next epoch discards them). */
void rav_record_session_end(void);
uint32_t rav_record_epoch(void);
/* Snapshot, on their owners' behalf, the heaps of threads blocked in
 * rav_recv and the messages queued in channels, each under its channel's
 * lock.  A parked thread's snapshot event goes into a buffer it takes over
 * when it wakes (and which is already published to live readers); those of
 * messages into the calling thread's stream.  A call snapshots at most
 * `budget` messages (*taken: how many it did; the next call goes on where
 * this one stopped), and a channel whose lock is busy is left for the next
 * call (its holder may be waiting for the caller to free a buffer): returns
 * how many channels were left (0: the epoch's sweep is done). */
unsigned rav_record_sweep(unsigned budget, unsigned *taken);
/* A process-wide order stamp (sequence number and TSC), as ordering events
 * carry. */
uint64_t rav_record_stamp(uint64_t *tsc);
/* Record an ordering event on the calling thread (which, if needed, first
 * joins the current epoch: a thread without a heap snapshots nothing). */
void rav_record_event_ordered(uint32_t kindaux, uint32_t x, uint64_t a, uint64_t b, uint64_t seq, uint64_t tsc);
/* Call fn(pages, n, bump) with the pool's free pages (indices) and the
 * number of pages ever carved (bump), under the pool lock, with the order
 * stamp taken there. */
void rav_record_pool_free(void (*fn)(const uint32_t *pages, size_t n, uint64_t carved, uint64_t seq,
				     uint64_t tsc, void *user),
			  void *user);
/* Call fn for every registered type (id order) under the registry lock,
 * with an order stamp taken there.  text is the type's TYPE_DEF text (its
 * name, then its field names after NULs when it has any: format 1.4), len
 * bytes without a final NUL. */
void rav_record_types(void (*fn)(uint16_t id, unsigned refmask, const char *text, size_t len, void *user), uint64_t *seq,
		      uint64_t *tsc, void *user);
/* Live reading: call fn with every thread's current buffer (the records
 * [0, count) are final).  One caller at a time; buffers are never reused
 * by the engine while fn runs, only the recorder recycles them. */
void rav_record_foreach_buffer(void (*fn)(rav_evbuf *b, void *user), void *user);
/* Events dropped by threads that had no buffer (the recorder refused one). */
uint64_t rav_record_dropped(void);
/* The pool's address and size, or NULL if the engine has not set it up yet
 * (asking does not set it up: rav_init may still come). */
void *rav_record_pool_base(size_t *bytes);
/* rav_evbuf.owner of the calling thread's buffers (0 if it has none yet). */
uint32_t rav_record_self_owner(void);

/* ---- A program that dies of a signal (trace/recorder.c's handler) ------ */

/* Take the calling thread's buffer from it, with the records published so
 * far (count; an event being written when the signal came is not among
 * them), and nothing more will be recorded in it: NULL if it has none.
 * *heap gets the thread's heap id (0 if it has no heap).  Async-signal-safe
 * (thread-local state only, no lock). */
rav_evbuf *rav_record_detach(uint32_t *heap);
/* Append a clock reading and a text event (RAV_EV_ERROR, RAV_EV_MARK)
 * to b after its published records and publish them; false if b has no
 * room for them.  An empty b (a spare buffer of the recorder) is first
 * labelled as the calling thread's, heap `heap`.  Async-signal-safe. */
bool rav_record_put_text(rav_evbuf *b, uint32_t heap, rav_ev_kind kind, uint32_t aux, const char *text,
			 size_t len);
/* Like rav_record_foreach_buffer, but gives up (false, fn not called)
 * when the registry's lock is busy after a few tries instead of waiting:
 * a thread that died holding it must not hang the one that reports it.
 * fn gets each buffer and its count as published then. */
bool rav_record_foreach_buffer_try(void (*fn)(rav_evbuf *b, uint32_t count, void *user), void *user);

/* What `ravtrace list` shows, read without stopping anyone (counters are
 * approximate while threads run). */
typedef struct rav_census {
	uint32_t threads;       /* live thread heaps */
	uint32_t synced;        /* of them, snapshotted in the current epoch */
	uint64_t live_cells;    /* sum over thread heaps */
	uint64_t pool_used_pages;
} rav_census;
/* pending (optional, max entries): heap ids not snapshotted in the current epoch. */
size_t rav_record_census(rav_census *out, uint32_t *pending, size_t max);

/* ---- Live debugging (driven by trace/session.c) ------------------------
 *
 * The engine can hold a thread inside an engine call, where it stands
 * still until released; it knows nothing of who asks.  A debugger is a set
 * of callbacks, installed during a live session:
 *  - with event filtering on, every event a thread records is shown to
 *    `event` right after it is recorded, on that thread; true holds the
 *    thread there (its events so far are in its buffer, which live readers
 *    see);
 *  - a watched cell (RAV_FLAG_WATCH in its type word: one bit the move,
 *    free, fix-up and attach paths test) is shown to `event` with
 *    `watched` = its address before the event, whatever the filter says,
 *    when it moves (RAV_EV_MOVE, after its fix-ups), is freed (RAV_EV_FREE),
 *    has one of its words fixed up (RAV_EV_FIXUP) or gets a new referrer
 *    (RAV_EV_REF_STORE or RAV_EV_REFRAV_INSERT naming it);
 *  - threads can be held at their next safe point (pause), released all
 *    at once (continue) or one of them for one event or one engine call
 *    (step).
 * Removing the debugger releases every thread.  Nothing here runs unless a
 * debugger is installed; without one a watched cell's flag is dropped the
 * next time it is seen. */

typedef enum rav_debug_why {
	RAV_DEBUG_BREAK = 1, /* `event` returned true */
	RAV_DEBUG_PAUSE = 2, /* rav_debug_pause: held at its next safe point */
	RAV_DEBUG_STEP = 3,  /* a step ended */
} rav_debug_why;

typedef enum rav_debug_step_mode {
	RAV_DEBUG_STEP_EVENT = 1, /* hold again after the thread's next event */
	RAV_DEBUG_STEP_CALL = 2,  /* hold again at the thread's next engine call (the current one returned) */
} rav_debug_step_mode;

typedef struct rav_debugger {
	/* On the recording thread, after e was recorded (text: a MARK's or
	 * ERROR's text, else NULL).  heap_id: the thread's heap (0 if none).
	 * Must not call the engine.  True: hold the thread. */
	bool (*event)(const rav_raw_event *e, const char *text, size_t len, uint32_t heap_id, uintptr_t watched,
		      void *user);
	/* On the held thread, before it blocks / after it is released. */
	void (*stopped)(uint32_t heap_id, rav_debug_why why, void *user);
	void (*resumed)(uint32_t heap_id, void *user);
	void *user;
} rav_debugger;

/* Install (or with NULL remove, releasing every held thread) the debugger. */
void rav_debug_install(const rav_debugger *d);
/* Show every event to the debugger (on), or only watched cells (off). */
void rav_debug_filter(bool on);
/* on: every thread holds at its next safe point (why PAUSE); off: no more do. */
void rav_debug_pause(bool on);
/* Release every held thread (and end a pause).  Returns how many were held. */
unsigned rav_debug_continue(void);
/* Release the held thread of heap heap_id for one step (the others stay
 * held).  False if no such thread is held. */
bool rav_debug_step(uint32_t heap_id, rav_debug_step_mode mode);
/* The calling thread is never held (by a pause, a step or a breakpoint):
 * the recorder's own thread, which calls the engine (a live session's
 * sweeps and LOST events) and must go on writing the stream that reports
 * the holds. */
void rav_debug_never_hold(void);
/* Heap ids of the held threads (up to max); returns how many are held. */
unsigned rav_debug_held(uint32_t *heap_ids, unsigned max);
/* Watch (on) or stop watching the cell at `cell`.  The owner of its page
 * applies the request at its next safe point, or at once if it is held;
 * the request is dropped if the address is not a live normal or reference
 * raviolo then.  Returns a request number; rav_debug_watch_status says
 * 0 pending, 1 applied, -1 refused (not a live cell), -2 unknown. */
int rav_debug_watch(uintptr_t cell, bool on);
int rav_debug_watch_status(int request);
/* For `event`: the calling thread's call site, the return address into
 * the program of the engine call it is in (in stack mode, the backtrace's
 * first frame); 0 if not known (call sites off).  A plain word: breakpoints
 * on a call site compare it with address ranges resolved by the client. */
uintptr_t rav_debug_site(void);
/* For `event`: a number naming the engine call of the program the event
 * comes from (all the events of one call have the same; no two calls, of
 * any threads, share one); 0 if call sites are off.  Asked on any of a
 * call's events, it tells that call from the next even from the same call
 * site (a breakpoint on a call site counts calls, not events); once asked,
 * the thread's next call records its site again. */
uint64_t rav_debug_call(void);

#ifdef __cplusplus
}
#endif
#endif /* RAV_RECORD_H */
