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
 */
#ifndef RAV_RECORD_H
#define RAV_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
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
	RAV_EV_TYPE_DEF = 7,      /* aux = type id; x = field kinds (bit0 f0 is ref, bit1 f1 is ref); a = text length; text follows */
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

typedef enum rav_heap_kind { RAV_HEAP_THREAD = 0, RAV_HEAP_MESSAGE = 1 } rav_heap_kind;
typedef enum rav_page_kind { RAV_PAGE_HEAP = 0, RAV_PAGE_BUFFER = 1, RAV_PAGE_ROOT = 2 } rav_page_kind;

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
_Static_assert(sizeof(rav_raw_event) == 32, "raw event is 32 bytes");

#define RAV_EV_KIND(e) ((e)->kind & 0xffu)
#define RAV_EV_AUX(e) ((e)->kind >> 8)
#define RAV_TIME_EVERY 16

typedef struct rav_evbuf {
	struct rav_evbuf *next; /* free for the recorder's queues */
	uint32_t thread;        /* heap id of the recording thread's heap */
	uint32_t count;         /* events (records) used */
	uint32_t cap;           /* records available in ev[] */
	uint32_t flags;
	uint64_t reserved;      /* keeps ev[] 16-byte aligned in a malloc'd buffer */
	rav_raw_event ev[];
} rav_evbuf;
_Static_assert(__builtin_offsetof(rav_evbuf, ev) % 16 == 0, "event records must be 16-byte aligned");

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
} rav_recorder;

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

#ifdef __cplusplus
}
#endif
#endif /* RAV_RECORD_H */
