/* ravtrace.h - libravtrace: read, index and replay ravioli traces; model
 * cache-line contention.  Plain C11, no GLib: the CLI, the tests and the
 * GUI all use this one header.  (The recorder that writes traces lives in
 * trace/ too but programs never call it directly: it starts when
 * RAVIOLI_TRACE=path is set, or through rav_trace_start().)
 *
 * Naming of places in a trace: a cell is (page, cell) where page is the
 * global page index in the engine's pool and cell its index in the page
 * (0 = header); a word is (page, cell, word).  rav_loc packs them.
 *
 * One header on purpose, though longer than the ~800 lines files are kept
 * to: it is the installed contract of libravtrace, included as one by
 * every user (the CLI, the viewer, programs built against the installed
 * library), as mimalloc's and Sysprof's users include theirs.  Its
 * sections (---- headings) follow the parts of trace/ that HACKING.md
 * lists, so an area is found by its heading; split, it would become
 * several installed headers whose order users would have to learn.
 */
#ifndef RAVTRACE_H
#define RAVTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Recording (programs) ------------------------------------------------ */

/* Start recording to `path` (what RAVIOLI_TRACE=path does).  access: also
 * record memory accesses (RAVIOLI_TRACE_ACCESS=1).  Must be called before
 * the first heap exists.  Returns 0 or -1 with a message in errbuf. */
int rav_trace_start(const char *path, bool access, char *errbuf, size_t errlen);
/* Flush every buffer and close the file (also done at exit). */
void rav_trace_stop(void);

/* ---- Errors --------------------------------------------------------------- */

typedef enum rav_trace_errcode {
	RAV_TRACE_OK = 0,
	RAV_TRACE_EIO,        /* open/read/mmap failed (errno text in message) */
	RAV_TRACE_EEMPTY,     /* zero-length file */
	RAV_TRACE_EMAGIC,     /* not a ravtrace file */
	RAV_TRACE_EVERSION,   /* newer major version than this reader */
	RAV_TRACE_EHEADER,    /* header fields invalid */
	RAV_TRACE_ECHUNK,     /* chunk length/kind/checksum invalid */
	RAV_TRACE_EDECODE,    /* chunk payload failed to decompress or decode */
	RAV_TRACE_EREPLAY,    /* events inconsistent with the heap model */
	RAV_TRACE_ETRUNCATED, /* file ends inside a chunk (what came before is usable) */
	RAV_TRACE_ECANCELLED,
	RAV_TRACE_ENOMEM,
	RAV_TRACE_ELIMIT,   /* the trace needs more memory than an open trace may take
	                     * (the message names the limit and RAVTRACE_MEMORY_MB) */
	RAV_TRACE_ECHANGED, /* the file was truncated or rewritten while open */
} rav_trace_errcode;

typedef struct rav_trace_error {
	rav_trace_errcode code;
	uint64_t offset; /* byte offset in the file where the problem is */
	int64_t chunk;   /* chunk number, -1 if not in a chunk */
	char message[512]; /* "what, where, why" in plain words */
} rav_trace_error;

/* ---- Opening and indexing ------------------------------------------------- */

typedef struct rav_trace rav_trace;

/* Open (mmap) a trace and check its header and chunk framing (fast: reads
 * only frame headers; a chunk's payload checksum is verified before it is
 * first decoded, so rav_trace_index checks them all).  NULL on error with
 * *err filled.  A truncated file
 * opens: see rav_trace_info.truncated; *err then describes the truncation
 * (code RAV_TRACE_ETRUNCATED: where it ends and how much is usable), and is
 * RAV_TRACE_OK otherwise. */
rav_trace *rav_trace_open(const char *path, rav_trace_error *err);
/* Same over bytes in memory; they must stay valid until rav_trace_close. */
rav_trace *rav_trace_open_memory(const void *data, size_t size, rav_trace_error *err);
/* Same over a byte stream (pipe, Unix socket): waits for the header, then
 * reads and indexes what has arrived.  The bytes received are kept in an
 * unlinked temporary file under $TMPDIR (else /tmp), so a long session costs
 * what an open file costs.  The descriptor stays the caller's. */
rav_trace *rav_trace_open_fd(int fd, rav_trace_error *err);
/* For streams: read what is available now (never waits for more) and index
 * it: the new events are merged into the global order after those indexed
 * before (indices never change), replay, keyframes and series continue, so
 * a poll costs in proportion to what it brought.  Returns the number of new
 * events, 0 if none (always 0 for files), -1 on error.
 *
 * A live stream's order: a thread whose chunk is still in flight is not
 * waited for, and an ordering event waits until the ones numbered before it
 * arrived (FORMAT.md section 8).  A call takes at most 16 MiB of input, so
 * a writer faster than the reader cannot hold it; call again while it
 * returns more than 0.  Call it from a GUI main loop when the descriptor is
 * readable, or in a loop on a worker thread; other threads may meanwhile
 * use everything below that reads (states, events, series, tables).  It
 * waits for a rav_trace_index running on another thread. */
int64_t rav_trace_poll(rav_trace *t, rav_trace_error *err);
/* For streams: true once the writer closed its end (after the trailer, or
 * early: then rav_trace_info.truncated is set). */
bool rav_trace_stream_ended(const rav_trace *t);
/* Write the trace's bytes to path: a stream's whole chunks received so
 * far (a live session: a trace that reopens with the same events), a file
 * copied.  0, or -1 with *err; a failure leaves no file at path. */
int rav_trace_save(rav_trace *t, const char *path, rav_trace_error *err);
void rav_trace_close(rav_trace *t);

/* Progress callback: done/total in events; return false to cancel. */
typedef bool (*rav_trace_progress)(uint64_t done, uint64_t total, void *user);
/* Decode every chunk not indexed yet, merge the events into the global
 * order and build the event index, keyframes and summary series.  Safe to
 * run on a worker thread; until it finishes, the functions below see the
 * prefix indexed so far (rav_trace_indexed_events).  A cancelled index
 * keeps what it did: the next call continues from there. */
int rav_trace_index(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err);
uint64_t rav_trace_indexed_events(const rav_trace *t);
/* Of those, the events replay has applied too: what a rav_state can seek
 * to (rav_state_seek past it fails).  Below rav_trace_indexed_events while
 * indexing runs on another thread (replay follows the merge there), and
 * after a replay error (rav_trace_consistent). */
uint64_t rav_trace_replayed_events(const rav_trace *t);

/* Is what indexing built consistent?  false, with the first problem in
 * *err, when an event did not fit the replayed heap (RAV_TRACE_EREPLAY:
 * heap states, live-cell and page series stop there), or a chunk failed to
 * decode, or the memory limit stopped indexing (rav_trace_index returned
 * that error too).  Figures taken from such a trace are partial: tools
 * must say so.  A truncated file is not inconsistent by itself (see
 * rav_trace_info.truncated). */
bool rav_trace_consistent(const rav_trace *t, rav_trace_error *err);

/* The memory an open trace may take for its index and replayed heap
 * (FORMAT.md section 13): by default the larger of 256 MiB and 64 times the
 * file's size; the environment variable RAVTRACE_MEMORY_MB sets it in MiB.
 * bytes = 0 restores the default.  Set it before rav_trace_index; past it,
 * indexing stops with RAV_TRACE_ELIMIT (what was indexed stays usable). */
void rav_trace_set_memory_limit(rav_trace *t, uint64_t bytes);
uint64_t rav_trace_memory_limit(const rav_trace *t);

typedef struct rav_trace_info {
	uint16_t version_major, version_minor;
	uint8_t word_size;     /* bytes */
	uint16_t cell_size;    /* bytes */
	uint32_t page_size;    /* bytes */
	uint32_t cells_per_page;
	uint64_t file_size;
	uint64_t chunks;
	uint64_t events;       /* total events (after index; estimate before) */
	uint64_t start_ns, end_ns; /* wall clock span (0 if unknown; end: the last event indexed,
	                            * UINT64_MAX if that passes the clock's range) */
	uint64_t keyframes;    /* replay keyframes held (seek points) */
	bool truncated;        /* file ended inside a chunk */
	uint64_t recovered_bytes; /* bytes usable when truncated */
	char program[256];     /* command line of the recorded program (arguments separated by
	                        * spaces, control bytes as '?', cut at a character boundary) */
	uint64_t duration_ns;  /* from the start of the trace to its last event indexed: known
	                        * whether or not the wall-clock start was recorded */
	bool clock_known;      /* the header gives the TSC rate (else 1 tick is taken as 1 ns) */
} rav_trace_info;
void rav_trace_get_info(const rav_trace *t, rav_trace_info *out);

/* A trace recorded by attaching to a running program (FORMAT.md §12): what
 * its session said. */
typedef struct rav_trace_session {
	int pid;               /* the program */
	int client_pid;
	uint64_t program_start_ns; /* CLOCK_REALTIME */
	bool lossless;
	bool end_known;        /* the stream ended with an end record */
	int end_how;           /* 1 detached, 2 exited, 3 killed by a signal, 4 error, 5 closed */
	int64_t end_value;     /* exit status or signal */
	char end_text[256];
	uint64_t lost;         /* events lost (end or statistics records) */
	unsigned losses;       /* resynchronisations */
	uint64_t last_lost_events; /* of the last loss */
	bool synced_known;         /* the session said how many heaps its first snapshot covered */
	uint32_t synced_heaps;     /* thread heaps snapshotted when the session began */
	uint32_t pending_heaps;    /* ... and not yet (their threads had made no engine call;
	                            * each heap appears from its thread's next engine call) */
} rav_trace_session;
/* false if the trace is not one recorded by attaching. */
bool rav_trace_get_session(const rav_trace *t, rav_trace_session *out);

/* Threads and heaps, types and marks named by the trace.  The tables grow
 * while indexing runs, so entries are copied out: the *_at and *_by_id
 * functions fill *out and return false when there is no such entry. */
typedef struct rav_trace_thread {
	uint32_t heap_id;
	uint8_t kind;     /* rav_heap_kind: 0 thread heap, 1 message */
	uint32_t parent;  /* for messages: heap id of the building thread */
	uint64_t first_event, last_event;
	char name[64];
} rav_trace_thread;
unsigned rav_trace_thread_count(const rav_trace *t);
bool rav_trace_thread_at(const rav_trace *t, unsigned i, rav_trace_thread *out);
bool rav_trace_thread_by_id(const rav_trace *t, uint32_t heap_id, rav_trace_thread *out);

typedef struct rav_trace_type {
	uint16_t id;
	bool field_is_ref[2];
	char name[64];
} rav_trace_type;
unsigned rav_trace_type_count(const rav_trace *t);
bool rav_trace_type_at(const rav_trace *t, unsigned i, rav_trace_type *out);
bool rav_trace_type_by_id(const rav_trace *t, uint16_t id, rav_trace_type *out);
/* The type's name as recorded (not cut to 63 bytes), valid until close;
 * NULL if the trace defines no such type. */
const char *rav_trace_type_name(const rav_trace *t, uint16_t id);
/* The name the program gave field 0 or 1 of a type (format 1.4,
 * rav_type_register_named), valid until close; NULL if unnamed. */
const char *rav_trace_type_field_name(const rav_trace *t, uint16_t id, int field);

typedef struct rav_trace_mark {
	uint64_t event;
	uint32_t thread;
	const char *text; /* valid until close */
} rav_trace_mark;
unsigned rav_trace_mark_count(const rav_trace *t);
bool rav_trace_mark_at(const rav_trace *t, unsigned i, rav_trace_mark *out);

/* ---- Events ------------------------------------------------------------- */

/* Locations: page << 16 | cell << 2 | word.  Addresses outside the pool
 * (accesses recorded by "chatty" programs) have RAV_LOC_EXTERNAL set and
 * carry the raw address in the low bits. */
typedef uint64_t rav_loc;
#define RAV_LOC_EXTERNAL ((uint64_t)1 << 63)
#define RAV_LOC_NONE ((uint64_t)0)
static inline rav_loc rav_loc_make(uint32_t page, uint32_t cell, uint32_t word)
{
	return ((uint64_t)page << 16) | ((uint64_t)cell << 2) | word;
}
static inline uint32_t rav_loc_page(rav_loc l) { return (uint32_t)(l >> 16); }
static inline uint32_t rav_loc_cell(rav_loc l) { return (uint32_t)((l >> 2) & 0x3fff); }
static inline uint32_t rav_loc_word(rav_loc l) { return (uint32_t)(l & 3); }

typedef struct rav_event {
	uint64_t index;  /* position in the merged global order */
	uint64_t time_ns; /* since trace start */
	uint32_t thread; /* heap id of the recording thread */
	uint16_t kind;   /* rav_ev_kind (rav-record.h) */
	uint32_t aux;
	uint32_t x;
	/* Arguments as in rav-record.h, with every heap address turned into a
	 * rav_loc and every pointer value stored in a slot turned into the
	 * rav_loc of the cell it names (0 for null). */
	uint64_t a, b, c;
	const char *text; /* names, marks, errors (NUL-terminated; valid while the trace is open) */
	/* Call site (format 1.3): the engine call that did this event or caused
	 * it (a compaction's moves and fix-ups carry the site of the free that
	 * ran it).  0: unknown (older traces, events no program call made). */
	uint32_t site;
} rav_event;

const char *rav_event_kind_name(unsigned kind); /* "move", "fixup", ... */
int rav_event_kind_from_name(const char *name); /* -1 if unknown */
/* Which of an event's a, b, c hold locations (rav_loc) rather than plain
 * numbers for this kind: bit 0 a, bit 1 b, bit 2 c (0 for unknown kinds). */
unsigned rav_event_kind_loc_mask(unsigned kind);
bool rav_trace_event_at(rav_trace *t, uint64_t index, rav_event *out);
/* A type-def event's field names (format 1.4; NULL where unnamed), pointing
 * into its text; returns how many are named (0 for other kinds). */
unsigned rav_event_type_field_names(const rav_event *ev, const char *names[2]);

typedef struct rav_event_filter {
	uint64_t kinds;     /* bit mask of 1 << kind; 0 = all */
	int64_t thread;     /* heap id, -1 = all */
	uint64_t from, to;  /* event index range [from, to); to = 0: until the end */
	rav_loc cell;       /* only events touching this cell (any word); 0 = all */
	/* Only events whose call site is one of these (sorted ascending; 0 is
	 * "no site"); NULL = all.  The array must outlive the filter's use. */
	const uint32_t *sites;
	size_t nsites;
} rav_event_filter;

typedef struct rav_event_iter {
	rav_trace *trace;
	rav_event_filter filter;
	uint64_t next;
	void *priv;
} rav_event_iter;
/* Events in order from filter->from, at decode speed whatever the number
 * of threads.  The iterator holds decoders while it runs: when it is left
 * before next returned false, rav_event_iter_fini frees them (next does so
 * itself at the end; calling fini again is harmless).  On a growing trace,
 * next may return true again after returning false. */
void rav_event_iter_init(rav_event_iter *it, rav_trace *t, const rav_event_filter *filter);
bool rav_event_iter_next(rav_event_iter *it, rav_event *out);
void rav_event_iter_fini(rav_event_iter *it);
/* Next/previous event at or after / before `from` matching `filter`; -1 if none. */
int64_t rav_trace_find_next(rav_trace *t, uint64_t from, const rav_event_filter *filter);
int64_t rav_trace_find_prev(rav_trace *t, uint64_t from, const rav_event_filter *filter);
/* Event number `ordinal` (0-based, in program order) of the thread whose
 * heap id is `thread`, by its index in the global order: -1 while it is not
 * indexed (a live stream may merge it later) or if there is no such thread.
 * A live session's STOPPED record names its event this way
 * (rav_live_status.last_stop.thread_events). */
int64_t rav_trace_thread_event(rav_trace *t, uint32_t thread, uint64_t ordinal);

/* ---- Replay: heap state at any event ----------------------------------- *
 * Every event is checked against the model as it is applied; an event that
 * does not fit (a write to a page no heap owns, a move into a live cell, a
 * store whose old value is not what the slot holds, ...) is a
 * RAV_TRACE_EREPLAY error naming the event index.  Page header cells are
 * rebuilt (scalar fill | kind << 32, words next page, previous page, owner
 * heap id) since the engine does not record its header writes; the words of
 * dead cells other than the type are unspecified (the engine keeps its hole
 * list there unrecorded).  Live counts of heaps and totals leave root cells
 * out, as rav_stats does; page counts include them.  A rav_state belongs to
 * one thread at a time; any number may exist, also while rav_trace_index
 * runs on another thread (they see the prefix indexed so far). */

typedef struct rav_state rav_state;

typedef enum rav_state_page_kind {
	RAV_SPAGE_UNUSED = 0, /* never acquired or back in the pool */
	RAV_SPAGE_HEAP = 1,
	RAV_SPAGE_BUFFER = 2, /* message buffer page (in a message heap) */
	RAV_SPAGE_ROOT = 3,
	RAV_SPAGE_POOL = 4,   /* released to the pool */
} rav_state_page_kind;

typedef enum rav_cell_state { RAV_CELL_EMPTY = 0, RAV_CELL_LIVE = 1, RAV_CELL_DEAD = 2, RAV_CELL_HEADER = 3 } rav_cell_state;

typedef struct rav_state_cell {
	uint8_t state;     /* rav_cell_state */
	uint16_t type;
	uint64_t scalar;   /* type-word scalar bits */
	uint64_t flags;
	uint64_t word[4];  /* raw words; reference words as rav_loc of the slot/cell they name */
	rav_loc field_target[2]; /* for reference fields: the final target cell after walking reference ravioli (0 if none) */
} rav_state_cell;

/* A plain struct tag (no typedef): rav_state_page is also the function
 * below, so C needs the two names in different namespaces. */
struct rav_state_page {
	uint32_t index;    /* global page index */
	uint8_t kind;      /* rav_state_page_kind */
	uint32_t owner;    /* heap id (0 for pool/unused) */
	uint32_t fill;     /* cells used incl. header */
	uint32_t live, dead;
};

typedef struct rav_state_heap {
	uint32_t id;
	uint8_t kind;      /* rav_heap_kind */
	bool alive;
	bool in_flight;    /* message sent, not yet received */
	uint32_t page_count;
	const uint32_t *pages; /* page indices in list order (valid until the next seek/step) */
	uint64_t live_cells, ref_cells, dead_cells;
	/* each page's rav_state_page_kind, in the order of pages (valid as
	 * long as pages): a page's kind is set as it joins a list */
	const uint8_t *page_kinds;
} rav_state_heap;

rav_state *rav_state_new(rav_trace *t);
void rav_state_free(rav_state *s);
/* Make the state the one just before event `index` is applied (index =
 * event count: the final state).  Uses the nearest keyframe. */
int rav_state_seek(rav_state *s, uint64_t index, rav_trace_error *err);
/* Make the state the one after every event indexed so far (a viewer
 * following a stream), by copying the indexer's own newest heap instead of
 * replaying from a keyframe: it costs in proportion to the pages, not to
 * the events since the state's position or since the last keyframe.  Only
 * where no rav_trace_poll or rav_trace_index runs at the same time (on the
 * thread that polls, between polls).  0, or -1 with *err. */
int rav_state_seek_head(rav_state *s, rav_trace_error *err);
/* Apply the next event; false at the end or on error. */
bool rav_state_step(rav_state *s, rav_event *applied, rav_trace_error *err);
uint64_t rav_state_position(const rav_state *s);

unsigned rav_state_heap_count(const rav_state *s);
bool rav_state_heap_at(const rav_state *s, unsigned i, rav_state_heap *out);
uint32_t rav_state_page_span(const rav_state *s); /* 1 + highest page index ever used */
bool rav_state_page(const rav_state *s, uint32_t page, struct rav_state_page *out);
/* The pages in the pool (released, not owned by any heap), in index order:
 * writes up to max, returns how many there are.  Costs a byte per page of
 * the span, not a look at every page (the viewer asks every frame). */
uint32_t rav_state_pool_pages(const rav_state *s, uint32_t *out, uint32_t max);
bool rav_state_cell_at(const rav_state *s, uint32_t page, uint32_t cell, rav_state_cell *out);
/* Fast path for drawing: the type id of every cell of a page (cells_per_page
 * entries; 0 empty, 1 header, 4 dead, 2 reference raviolo, ...). */
bool rav_state_page_types(const rav_state *s, uint32_t page, uint16_t *types_out);
/* Leaf slots referring to a cell, through reference ravioli. */
unsigned rav_state_referrers(const rav_state *s, rav_loc cell, rav_loc *out, unsigned max);
/* Counters of the state (allocs ... handoffs count events applied so far). */
typedef struct rav_state_totals {
	uint64_t live_cells, ref_cells, dead_cells, pages, pool_pages;
	uint64_t allocs, frees, moves, fixups, handoffs;
} rav_state_totals;
void rav_state_get_totals(const rav_state *s, rav_state_totals *out);

/* ---- History of one cell (follows it across moves) ---------------------- */

typedef struct rav_cell_event {
	uint64_t event;
	uint16_t kind;
	rav_loc where;     /* the cell's location after this event */
} rav_cell_event;
/* Events in the life of the raviolo that is at `cell` just before event
 * `at`: its allocation, moves, fix-ups of its slots, stores, its free.
 * Returns the number written (up to max); *total gets the full count. */
unsigned rav_trace_cell_history(rav_trace *t, rav_loc cell, uint64_t at, rav_cell_event *out, unsigned max, unsigned *total);

/* ---- Call sites (format 1.3) ------------------------------------------------ *
 * A program records where each engine call came from (RAVIOLI_TRACE_SITES,
 * on by default): the call's return address into the program, or a short
 * backtrace with RAVIOLI_TRACE_STACK=N.  A *site* is one such stack (frame 0
 * is the call site); rav_event.site names it.  The program's loaded
 * objects (main program and shared libraries, with build ids and load
 * addresses) are recorded too, so frames resolve to an object and an
 * offset in it after the program is gone, and to functions and lines with
 * rav_trace_site_resolve (libdw; the objects must still be on disk).
 * Tables grow while a stream is indexed: entries are copied out. */

/* The first minor version of format 1 that can record call sites: a trace
 * of an older version without sites is not one recorded with sites off. */
#define RAV_TRACE_SITES_MINOR 3

typedef struct rav_trace_object {
	uint64_t base;          /* load bias when first listed: runtime address = ELF address + base */
	uint64_t start, end;    /* runtime addresses its segments spanned at that base */
	uint8_t build_id[64];   /* GNU build id of the object that was loaded */
	unsigned build_id_len;  /* 0: none recorded */
	const char *path;       /* as recorded (valid until close) */
} rav_trace_object;
unsigned rav_trace_object_count(const rav_trace *t);
bool rav_trace_object_at(const rav_trace *t, unsigned i, rav_trace_object *out);

typedef struct rav_trace_frame {
	uint64_t address;       /* as recorded: a return address (the call ends just before it) */
	int32_t object;         /* index for rav_trace_object_at; -1: in no recorded object */
	uint64_t offset;        /* ELF virtual address in the object (address - base); the address if object is -1 */
} rav_trace_frame;
#define RAV_TRACE_SITE_FRAMES_MAX 64
/* Sites are numbered 1 ... rav_trace_site_count. */
uint32_t rav_trace_site_count(const rav_trace *t);
/* The frames of a site, call site first: fills up to max, returns how many
 * it has (0 for site 0 or an unknown one). */
unsigned rav_trace_site_frames(const rav_trace *t, uint32_t site, rav_trace_frame *out, unsigned max);
/* The sites whose call site (frame 0) is this frame's (same object and
 * offset): sorted into out (up to max); returns how many there are. */
size_t rav_trace_sites_with_call(const rav_trace *t, const rav_trace_frame *call, uint32_t *out, size_t max);

/* Symbols: what a frame's code is, from the object's debug information
 * (elfutils libdw, as Sysprof and gdb read it), resolved by the reader
 * (never in the recorded program) and cached per trace.  The object must be
 * on disk at its recorded path (or under a directory given to
 * rav_trace_set_object_path) and be the very file the program ran: a
 * rebuilt binary (another build id) gives no line rather than a wrong one. */
typedef enum rav_symbol_status {
	RAV_SYMBOL_OK = 0,        /* function, file and line from debug info */
	RAV_SYMBOL_NO_DEBUG_INFO, /* no debug info: function from the symbol table if it has one, no line */
	RAV_SYMBOL_CHANGED,       /* the file on disk is not the one the program ran (build id differs) */
	RAV_SYMBOL_NO_OBJECT,     /* the object is not on disk, not readable, or not ELF */
	RAV_SYMBOL_UNMAPPED,      /* the address is in no recorded object (no memory map, generated code) */
} rav_symbol_status;

typedef struct rav_trace_symbol {
	rav_symbol_status status;
	const char *object;       /* the object's recorded path (NULL if unmapped) */
	uint64_t offset;          /* the frame's offset in it (its address if unmapped) */
	const char *function;     /* NULL if unknown */
	uint64_t function_offset; /* bytes from the function's start (symbol table; 0 if unknown) */
	const char *file;         /* source file, absolute when the debug info says where it was built; NULL */
	unsigned line, column;    /* 0 if unknown */
	bool inlined;             /* this function's code was inlined into the next symbol's function */
	unsigned frame;           /* the site's frame it comes from (0: the call site) */
	const char *message;      /* what status means here, in words (NULL for OK) */
} rav_trace_symbol;
/* Strings stay valid until the trace is closed. */

/* The frames of a site as symbols, innermost first, an inlined function
 * before the one it was inlined into; frames of the engine's own inline
 * API (ravioli.h) are left out, so the first symbol is the program's line
 * that made the engine call.  Fills up to max, returns how many there are
 * (0 for site 0 or an unknown site).  May read object files: call it off a
 * GUI's main thread for the first resolution of a trace. */
unsigned rav_trace_site_resolve(rav_trace *t, uint32_t site, rav_trace_symbol *out, unsigned max);
/* The call of a site: its first symbol.  false for site 0 / unknown. */
bool rav_trace_site_call(rav_trace *t, uint32_t site, rav_trace_symbol *out);
/* One frame, with the functions inlined at it (innermost first). */
unsigned rav_trace_frame_resolve(rav_trace *t, const rav_trace_frame *frame, rav_trace_symbol *out,
                                 unsigned max);
/* Also look for objects in these directories (separated by ':'), by file
 * name, when they are not at their recorded path (a program copied from
 * another machine).  Resolutions made before are forgotten. */
void rav_trace_set_object_path(rav_trace *t, const char *dirs);
/* Sites whose call matches spec: "FUNCTION", "FILE:LINE" or "FILE" (a
 * file matches its whole path or trailing components of it: "list.c",
 * "samples/list.c").  Sorted into out (up to max); returns how many match.
 * For breakpoints on a site and for filters by function or file. */
size_t rav_trace_sites_find(rav_trace *t, const char *spec, uint32_t *out, size_t max);

/* Breakpoints on a call site take what gdb users type: "FUNCTION" (calls
 * made by its code, inlined copies of it included), "FILE:LINE" (calls made
 * by that line, also where it calls an inline function), or "*ADDRESS" (a
 * site's address as ravscope and ravtrace show it: its return address; an
 * ELF address of a position-independent object, e.g. from objdump, is
 * moved to where the trace's memory map loaded it).  The spec is resolved
 * once, with the objects' debug information, into ranges of the program's
 * code at its run-time addresses; an event matches when its call site's
 * call instruction (return address - 1) lies in one.  Matching plain
 * ranges is what a running program can do without symbols (FORMAT.md
 * §12.5), and what a trace does for Run to Breakpoint. */
typedef struct rav_site_range {
	uint64_t lo, hi; /* [lo, hi), run-time addresses */
} rav_site_range;
/* Resolve spec against the trace's memory map: the number of ranges
 * (sorted, merged; the first max stored), or -1 with a message in err
 * (a spec that names no code of the trace's objects is an error). */
long rav_trace_site_spec_resolve(rav_trace *t, const char *spec, rav_site_range *out, size_t max, char *err,
                                 size_t errlen);
/* Whether a call site (its return address) is in one of the ranges. */
bool rav_site_ranges_match(const rav_site_range *r, size_t n, uint64_t return_address);
/* The trace's sites whose call site (frame 0) is in the ranges, sorted
 * ascending into out (up to max); returns how many there are. */
size_t rav_trace_sites_in_ranges(const rav_trace *t, const rav_site_range *r, size_t n, uint32_t *out,
                                 size_t max);

/* ---- Operations: what one step of the program did -------------------------- *
 * The events of one thread grouped into the operations a person thinks in:
 * an allocation (with the page it took and the reference it stored), a free
 * (the slot cleared, the cascade of cells that died with it, and the
 * compaction that filled the holes: moves and fix-ups), a reference store
 * (with the reference ravioli it inserted or removed), a data store, a
 * send, a receive (pages handed over and the arrival compaction), a
 * collection, a compaction step, a run of memory accesses...  The trace
 * does not record call boundaries, so the grouping is read from the shape
 * of the event sequence; it follows the engine's operations exactly for
 * immediate-mode heaps, and in deferred mode several slot clears queued
 * without a compaction in between may form one operation.
 *
 * An operation's events are consecutive among its thread's events; other
 * threads' events may lie between its first and last in the global order.
 * The map of operations is built by one pass over the events, on first
 * use up to the event asked about (rav_trace_operations_prepare does the
 * whole trace, e.g. on a worker thread, with progress).  Thread-safe. */

typedef enum rav_op_kind {
	RAV_OP_OTHER = 0,    /* bookkeeping: type definitions, a stray event */
	RAV_OP_ALLOC,        /* a new raviolo stored into a slot */
	RAV_OP_FREE,         /* a slot cleared: what it held (and its subtree) freed, the heap compacted */
	RAV_OP_STORE_REF,    /* a reference stored (maybe through reference ravioli; maybe freeing the old value) */
	RAV_OP_STORE,        /* a data field written */
	RAV_OP_SCALAR,       /* a type word's scalar set */
	RAV_OP_COMPACT,      /* a compaction (or a cascade step) on its own: deferred mode */
	RAV_OP_ROOT,         /* a root slot created or released */
	RAV_OP_MSG_NEW,      /* a message created (its buffer heap) */
	RAV_OP_SEND,         /* a message sent: its pages leave the thread */
	RAV_OP_RECEIVE,      /* a message received: pages handed over, arrival compaction */
	RAV_OP_COLLECT,      /* a collection (mark from the roots, free the rest) */
	RAV_OP_SERIALIZE,    /* a message's pages written out */
	RAV_OP_DESERIALIZE,  /* pages read back into a heap */
	RAV_OP_ACCESS,       /* a run of recorded memory accesses (at most 32) */
	RAV_OP_PAGES,        /* pages acquired or released on their own (a heap torn down) */
	RAV_OP_THREAD,       /* a thread starting, ending or naming itself */
	RAV_OP_MARK,         /* a mark the program made (rav_mark) */
	RAV_OP_ERROR,        /* an error the engine reported */
	RAV_OP_SNAPSHOT,     /* a live session's snapshot of a heap, the types or the pool */
	RAV_OP_LOST,         /* a live session lost events: every heap is forgotten */
	RAV_OP_ADOPT,        /* format 1.6: a structure at the top of a heap goes to a message as its pages */
	RAV_OP_KIND_COUNT
} rav_op_kind;

typedef struct rav_operation {
	uint64_t first, last;  /* global indices of its first and last event */
	uint32_t events;       /* its own events */
	uint32_t thread;       /* heap id of the recording thread */
	uint16_t kind;         /* rav_op_kind */
	bool complete;         /* false while the thread's next operation has not been indexed */
	uint8_t compact_reason; /* rav_compact_reason of its compaction (when compactions > 0) */
	/* The main cell: allocated, freed (the slot's old value), stored into;
	 * its type id (0 if unknown); the slot written or cleared (a word
	 * location: page, cell, word); the reference stored (its final target,
	 * past any reference raviolo inserted for it). */
	rav_loc cell;
	uint16_t type;
	rav_loc slot;
	rav_loc target;
	uint64_t value;        /* data stored; a collection's count freed */
	uint32_t heap;         /* message heap (send, receive, new message), or the heap compacted */
	uint32_t channel;      /* send/receive */
	uint32_t allocs, frees, moves, fixups, trims;
	uint32_t refs_inserted, refs_removed; /* reference ravioli */
	uint32_t pages_acquired, pages_released, pages_handed;
	uint32_t reads, writes;      /* recorded memory accesses */
	uint32_t compactions;
	uint32_t evacuated;          /* receive: the receiver's cells that moved up after the arrived ones
				      * (their page then went back to the pool) instead of the arrived
				      * cells filling that page's tail; counted in moves too */
	rav_loc move_from, move_to;  /* its first compaction move: top cell -> hole */
	uint32_t move_fixups;        /* fix-ups of that first move */
	uint64_t mark_event;         /* RAV_OP_MARK / RAV_OP_ERROR: the event holding the text; RAV_OP_THREAD,
				      * RAV_OP_SNAPSHOT, RAV_OP_LOST: the event saying what happened */
} rav_operation;

const char *rav_op_kind_name(unsigned kind); /* "alloc", "free", "store-ref", ... */
/* The operation event `index` belongs to; false if there is no such event
 * (not indexed yet) or the map could not be built (out of memory). */
bool rav_trace_operation_at(rav_trace *t, uint64_t index, rav_operation *out);
/* Build the map of operations for every event indexed so far (on a worker
 * thread for a big trace: the pass costs about what indexing does; it
 * works a million events at a time, so rav_trace_operation_at from another
 * thread waits for a piece, not for the whole pass). */
int rav_trace_operations_prepare(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err);
/* Events the map covers so far (any thread, never waits): asking about an
 * event far beyond it first extends the map up to there. */
uint64_t rav_trace_operations_known(rav_trace *t);
/* One line saying what the operation did, in the model's words, e.g.
 * "3.32 (node) freed → top cell 3.47 moves into the hole → 2 pointers
 * fixed" (UTF-8 arrows).  s, when given, names the cells' types where the
 * operation does not (a state at or after the operation).  Returns the
 * length it wanted (as snprintf). */
size_t rav_operation_describe(rav_trace *t, const rav_state *s, const rav_operation *op, char *buf, size_t len);

/* ---- Explanations and glossary -------------------------------------------- */

/* A sentence or two saying what the event did and why, in the model's
 * words ("Compaction: the top cell 3.47 moves into the hole at 3.32 so the
 * heap keeps no gaps; the slots that referred to it are fixed next.").
 * s, when given, is the state just after the event (it names types and
 * which word of a cell a slot is).  Returns the length it wanted. */
size_t rav_event_explain(rav_trace *t, const rav_state *s, const rav_event *ev, char *buf, size_t len);

/* The model's vocabulary.  `forms` lists the words that name the term in
 * running text, '|'-separated, longest first ("reference ravioli|reference
 * raviolo"), so a viewer can turn them into links to the entry. */
typedef struct rav_glossary_entry {
	const char *id;         /* "hole", "back-link", ... */
	const char *term;       /* "Hole" */
	const char *forms;
	const char *definition; /* a short paragraph, plain text */
} rav_glossary_entry;
unsigned rav_glossary_count(void);
const rav_glossary_entry *rav_glossary_at(unsigned i);
const rav_glossary_entry *rav_glossary_find(const char *id); /* NULL if none */

/* ---- Summary series (for timelines and charts) --------------------------- */

typedef enum rav_series_kind {
	RAV_SERIES_EVENTS = 0,   /* events per bin of a given kind (arg = kind, -1 all) */
	RAV_SERIES_LIVE_CELLS,   /* live cells at bin end (arg = heap id, -1 all) */
	RAV_SERIES_PAGES,        /* pages owned at bin end (arg = heap id, -1 all) */
	RAV_SERIES_MOVES,
	RAV_SERIES_FIXUPS,
	RAV_SERIES_HANDOFFS,
	RAV_SERIES_FREES,          /* cells freed per bin: FREE events less the arrival holes (arg unused) */
	RAV_SERIES_ARRIVAL_HOLES,  /* holes left by the empty cells of pages arriving in a message
	                            * (FREE events with aux 0; RAV_SERIES_EVENTS of FREE counts both) */
} rav_series_kind;
/* Fill out[nbins] over event range [from, to) (to = 0: all).  Returns false
 * if not indexed that far yet. */
bool rav_trace_series(rav_trace *t, rav_series_kind kind, int64_t arg, uint64_t from, uint64_t to, unsigned nbins, double *out);

/* ---- Contention model ------------------------------------------------------ *
 * Recorded accesses and the engine's own writes (alloc, move, fix-up,
 * stores, links) replayed through a MESI model with one cache per recording
 * thread.  Caches have infinite capacity: only coherence traffic is counted.
 * A transfer is a miss served by another thread's cache; an invalidation is
 * one other copy removed by a write.  Page hand-offs are not accesses: the
 * receiver pays when it touches the lines.  `accesses` counts memory
 * accesses (an ACCESS event or an engine write is one, a move is a read and
 * a write); an access spanning several lines touches each of them. */

typedef struct rav_contention_config {
	uint32_t line_size;        /* bytes, power of two; default 64 */
	uint64_t from, to;         /* event range; to = 0: all */
	unsigned windows;          /* time windows for the series (default 64) */
} rav_contention_config;

typedef struct rav_contention rav_contention;

typedef struct rav_contention_line {
	uint64_t line;             /* line number: byte address / line size (pool-relative for pool lines) */
	bool external;             /* outside the ravioli pool (chatty programs) */
	rav_loc first_cell;        /* first cell in the line (pool lines) */
	uint64_t transfers;        /* cross-thread line transfers */
	uint64_t invalidations;
	uint64_t reads, writes;
	uint64_t thread_mask;      /* bit per thread index (rav_trace_thread_at order, whose table lists message
				    * heaps too): the first 64 indices only; rav_contention_line_threads has all */
} rav_contention_line;

typedef struct rav_contention_totals {
	uint64_t accesses, transfers, invalidations, lines_touched, lines_contended;
} rav_contention_totals;

rav_contention *rav_contention_run(rav_trace *t, const rav_contention_config *cfg,
				   rav_trace_progress progress, void *user, rav_trace_error *err);
void rav_contention_free(rav_contention *c);
void rav_contention_get_totals(const rav_contention *c, rav_contention_totals *out);
unsigned rav_contention_line_count(const rav_contention *c); /* lines with transfers, hottest first */
const rav_contention_line *rav_contention_line_at(const rav_contention *c, unsigned i);
/* Transfers per page (pool pages), per thread (by rav_trace_thread_at index)
 * and per time window. */
uint64_t rav_contention_page(const rav_contention *c, uint32_t page);
uint64_t rav_contention_thread(const rav_contention *c, unsigned thread_index);
unsigned rav_contention_window_count(const rav_contention *c);
uint64_t rav_contention_window(const rav_contention *c, unsigned w, uint64_t *first_event, uint64_t *last_event);
/* Heat of each line of a page, for the overlay: out[page_size / line_size]. */
void rav_contention_page_lines(const rav_contention *c, uint32_t page, uint64_t *out);
/* Call sites (format 1.3): transfers that accesses of a site's events
 * caused (the access that missed), and for hot line i (rav_contention_line_at
 * order) the sites whose accesses made it move, most transfers first:
 * fills up to max entries of sites / transfers (either may be NULL) and
 * returns how many sites there are.  Site 0 collects accesses of unknown
 * site. */
uint64_t rav_contention_site(const rav_contention *c, uint32_t site);
unsigned rav_contention_line_sites(const rav_contention *c, unsigned line_index, uint32_t *sites,
                                   uint64_t *transfers, unsigned max);
/* The threads that touched line `line_index`, as rav_trace_thread_at
 * indices in ascending order, whatever the index: returns how many (at most
 * 64) and writes at most max of them.  The model has 64 caches, one per
 * thread in the order threads first touch memory; *more (optional) is set
 * when threads past the 64th, which share the last cache, touched the line:
 * only the first of them is in the list. */
unsigned rav_contention_line_threads(const rav_contention *c, unsigned line_index, unsigned *threads,
                                     unsigned max, bool *more);

/* ---- Call sites ranked --------------------------------------------------- *
 * As heaptrack's top lists: what each site's calls did and caused, over an
 * event range, one row per line of the program (or per call site, or per
 * stack).  Grouping by line reads debug info (rav_trace_site_call). */
typedef struct rav_site_row {
	uint32_t site;            /* the row's site (merged rows: the one with most events) */
	uint32_t stacks;          /* sites merged into the row */
	uint64_t events;
	uint64_t allocs, frees;   /* cells allocated / freed (holes left on a message's arrival are not frees) */
	uint64_t moves, fixups;   /* compaction moves and pointer fix-ups its calls caused */
	uint64_t pages_sent;      /* pages of the messages its sends handed to other threads */
	uint64_t pages_received;  /* pages its receives took over */
	uint64_t transfers;       /* cache-line transfers its accesses caused (given a contention model) */
} rav_site_row;

typedef enum rav_site_order {
	RAV_SITES_BY_ALLOCS = 0,
	RAV_SITES_BY_FREES,
	RAV_SITES_BY_MOVES,
	RAV_SITES_BY_FIXUPS,
	RAV_SITES_BY_HANDOFFS, /* pages sent + received */
	RAV_SITES_BY_TRANSFERS,
	RAV_SITES_BY_EVENTS,
} rav_site_order;

/* What a row is: a line of the program (the call sites that resolve to the
 * same function, file and line: copies of an inlined function, calls on
 * one line; unresolved ones by address), a call site (one address), or a
 * site (one recorded stack). */
typedef enum rav_site_grouping { RAV_SITES_BY_LINE = 0, RAV_SITES_BY_CALL, RAV_SITES_BY_STACK } rav_site_grouping;

typedef struct rav_site_stats_config {
	uint64_t from, to;                /* event range; to = 0: everything indexed */
	rav_site_grouping group;
	const rav_contention *contention; /* transfers per site from it (NULL: none) */
} rav_site_stats_config;

typedef struct rav_site_stats rav_site_stats;
rav_site_stats *rav_site_stats_run(rav_trace *t, const rav_site_stats_config *cfg, rav_trace_progress progress,
                                   void *user, rav_trace_error *err);
void rav_site_stats_free(rav_site_stats *s);
/* Rows with events (site 0 left out), in the last order sorted by (first:
 * allocations). */
unsigned rav_site_stats_count(const rav_site_stats *s);
const rav_site_row *rav_site_stats_row(const rav_site_stats *s, unsigned i);
void rav_site_stats_sort(rav_site_stats *s, rav_site_order by);
/* The row's figure that `by` sorts on (pages sent + received for HANDOFFS). */
uint64_t rav_site_row_metric(const rav_site_row *r, rav_site_order by);
/* Events of no known site (site 0), and the whole range. */
void rav_site_stats_totals(const rav_site_stats *s, rav_site_row *unknown, rav_site_row *all);
/* The row a site is counted in (-1: none in the range). */
int64_t rav_site_stats_find(const rav_site_stats *s, uint32_t site);
/* The sites counted in row i (sorted ascending): fills up to max, returns
 * how many there are. */
size_t rav_site_stats_sites_of(const rav_site_stats *s, unsigned i, uint32_t *out, size_t max);

/* The cells a set of call sites allocated, followed across their moves:
 * which of them are live at an event (the viewer highlights them).  Built
 * by replaying allocations, frees, moves and page traffic up to the event;
 * moving forward continues from where it was, backward starts over. */
typedef struct rav_site_cells rav_site_cells;
/* sites: sorted ascending (copied). */
rav_site_cells *rav_site_cells_new(rav_trace *t, const uint32_t *sites, size_t nsites);
void rav_site_cells_free(rav_site_cells *c);
/* Just before event `at` (at = event count: the end).  The number of live
 * cells, or -1 with *err (cancelled by progress, damage, out of memory). */
int64_t rav_site_cells_seek(rav_site_cells *c, uint64_t at, rav_trace_progress progress, void *user,
                            rav_trace_error *err);
uint64_t rav_site_cells_position(const rav_site_cells *c);
bool rav_site_cells_contains(const rav_site_cells *c, rav_loc cell);
/* The live cells in page and cell order: fills up to max, returns how many. */
size_t rav_site_cells_list(const rav_site_cells *c, rav_loc *out, size_t max);

/* ---- Live attach (client side) ----------------------------------------------
 * Programs linked with the recorder listen on a Unix socket (FORMAT.md §12).
 * A session sends a trace stream: header, snapshot chunks, events, and
 * SESSION records saying what happens (statistics, losses, the end).  These
 * functions find programs, attach, and read the stream into a file or a
 * pipe while following what it says. */

typedef struct rav_live_program {
	int pid;
	unsigned uid;
	char command[256];      /* its command line, arguments separated by spaces */
	uint32_t threads;       /* thread heaps */
	uint64_t live_cells;    /* approximate while it runs */
	uint64_t pool_pages;    /* pages in use */
	uint64_t start_ns;      /* CLOCK_REALTIME when it started */
	int attached_by;        /* pid of the attached client, 0 if none */
	bool records_to_file;   /* RAVIOLI_TRACE: cannot be attached to */
	char socket[108];
} rav_live_program;

/* Programs of this user that can be attached to, sorted by pid (*out is
 * malloc'd).  Sockets left by processes that died are removed (*removed
 * counts them).  0, or -1 with *err. */
int rav_live_list(rav_live_program **out, size_t *n, unsigned *removed, rav_trace_error *err);

typedef struct rav_live_options {
	bool lossless;          /* the program waits for the client instead of losing events */
	bool stats_only;        /* no snapshot or events: statistics records only */
	bool access;            /* also record memory accesses */
	uint32_t queue_kib;     /* memory for events waiting in the program (0: its default) */
	uint32_t stats_ms;      /* statistics every so many ms (0: none) */
} rav_live_options;

typedef struct rav_live_session rav_live_session;

/* Connect to program `pid` and attach: NULL with *err ("already attached by
 * PID N", "refused: ...", "no program with PID N is listening ...") if the
 * program did not accept. */
rav_live_session *rav_live_attach(int pid, const rav_live_options *o, rav_trace_error *err);

typedef struct rav_live_lost {
	uint64_t events;
	double from_s, to_s;    /* seconds since the session's trace start */
} rav_live_lost;

/* What the stream said so far. */
typedef struct rav_live_status {
	uint64_t bytes, chunks, events, snapshots; /* received */
	double seconds;         /* since the session began */
	bool ended;             /* the program closed the stream */
	bool end_known;         /* ... and said why */
	int end_how;            /* 1 detached, 2 exited (end_value = status), 3 signal (end_value), 4 error, 5 closed */
	int64_t end_value;
	char end_text[256];
	uint64_t lost;          /* events lost in total (statistics and end records) */
	rav_live_lost losses[16];
	unsigned nlosses;       /* episodes (the first 16 kept) */
	bool have_stats;
	int64_t stats[16];      /* the last statistics record (FORMAT.md §12.4) */
	uint64_t stats_records; /* statistics records received (a new one: this changed) */
	uint32_t synced, pending; /* heaps snapshotted / still waiting (first report of the session) */
	char message[512];      /* the last error record from the program */
	/* The live debugger (FORMAT.md §12.5): what the program last said. */
	uint32_t held;          /* threads held now */
	uint64_t stops, resumes; /* STOPPED / RESUMED records so far */
	struct rav_live_stop {
		uint32_t heap_id;   /* the thread that stopped */
		int why;            /* 1 breakpoint, 2 pause, 3 step */
		uint32_t break_id;  /* why 1: which breakpoint, and its hit count */
		uint64_t hits;
		uint32_t kind;      /* why 1: the event's kind | aux << 8 */
		int64_t a, b, c;    /* why 1: the event's operands as rav_loc (-1: not an address in the pool) */
		int64_t cell_page, cell_index; /* a cell breakpoint: where the cell is now (-1 otherwise) */
		char text[256];
		/* The thread's events in the stream before the STOPPED record: the
		 * thread stopped after its event number thread_events - 1 (for a
		 * cell breakpoint on a move, after the move's fix-ups), which
		 * rav_trace_thread_event finds; 0: it has none in this session. */
		uint64_t thread_events;
	} last_stop;
	struct rav_live_break_state {
		uint32_t id;
		int state;          /* RAV_LIVE_BREAK_STATE_* */
		int64_t page, cell; /* a cell breakpoint's cell (-1 otherwise) */
		char text[160];
	} breaks[64];
	unsigned nbreaks;
} rav_live_status;

/* Read what arrives within timeout_ms (every byte is also written to
 * out_fd if it is >= 0), and update *st.  Returns the bytes read (0: none
 * in time), or -1 with *err (the stream is damaged, out_fd failed). */
int64_t rav_live_pump(rav_live_session *s, int timeout_ms, int out_fd, rav_live_status *st, rav_trace_error *err);
int rav_live_fd(const rav_live_session *s);
int rav_live_pid(const rav_live_session *s);
/* Control requests (0 or -1): end the session (the program then sends the
 * rest, an end record and the trailer), ask for statistics now. */
int rav_live_detach(rav_live_session *s);
int rav_live_request_stats(rav_live_session *s);
void rav_live_close(rav_live_session *s);
/* Process pid still runs: it exists and is neither a zombie nor dead
 * (/proc/PID/stat; false if it cannot be read).  A program whose stream
 * ended may take a moment to be gone. */
bool rav_live_process_runs(int pid);

/* ---- Live debugging (FORMAT.md §12.5) ----
 * Breakpoints on heap events hold the thread that hit inside the engine
 * call; the stream then carries a STOPPED record (rav_live_status.last_stop,
 * .held) after the event.  Requests are answered through the status
 * (breaks[], message); closing the session releases every held thread. */
enum {
	RAV_LIVE_BREAK_CELL = 1,  /* arg: page << 32 | cell; flags: RAV_LIVE_ON_* (0: all) */
	RAV_LIVE_BREAK_ALLOC = 2, /* arg: type id (0: any) */
	RAV_LIVE_BREAK_FREE = 3,  /* arg: type id (0: any) */
	RAV_LIVE_BREAK_KIND = 4,  /* arg: event kind (RAV_EV_*); RAV_LIVE_MATCH_AUX: and aux == arg2 */
	RAV_LIVE_BREAK_MARK = 5,  /* text: a mark containing it ("" any) */
	RAV_LIVE_BREAK_ERROR = 6, /* arg: rav_status (0: any engine error) */
	RAV_LIVE_BREAK_ANY = 7,   /* every event (with thread: that thread's next event) */
};
#define RAV_LIVE_ON_MOVE 1u
#define RAV_LIVE_ON_FIXUP 2u
#define RAV_LIVE_ON_FREE 4u
#define RAV_LIVE_ON_REFERRER 8u
#define RAV_LIVE_MATCH_AUX 16u
#define RAV_LIVE_STOP_ALL 32u  /* hold every thread, not only the one that hit */
#define RAV_LIVE_AT_SITE 64u   /* set by rav_live_break_set_at_site */
#define RAV_LIVE_SITE_RANGES_MAX 16u
enum {
	RAV_LIVE_BREAK_STATE_SET = 1,
	RAV_LIVE_BREAK_STATE_PENDING = 2, /* a cell: waiting for its thread's next engine call */
	RAV_LIVE_BREAK_STATE_REFUSED = 3,
	RAV_LIVE_BREAK_STATE_CLEARED = 4,
	RAV_LIVE_BREAK_STATE_GONE = 5,    /* its cell was freed */
};
typedef struct rav_live_break {
	uint32_t id;            /* not 0; the same id again replaces it */
	unsigned what;          /* RAV_LIVE_BREAK_* */
	unsigned flags;
	uint32_t thread;        /* only this thread heap (0: any) */
	uint32_t count;         /* stop at this hit only (0: every hit) */
	uint64_t arg, arg2;
	const char *text;       /* MARK (at most 256 bytes) */
} rav_live_break;
int rav_live_pause(rav_live_session *s);
int rav_live_continue(rav_live_session *s);
/* mode 1: one event of that thread; 2: until its next engine call. */
int rav_live_step(rav_live_session *s, uint32_t heap_id, int mode);
int rav_live_break_set(rav_live_session *s, const rav_live_break *b);
/* The same, also requiring the event's call site to be in one of the n
 * ranges (1 to RAV_LIVE_SITE_RANGES_MAX, from rav_trace_site_spec_resolve
 * on the session's trace); for ALLOC, FREE, KIND, ERROR and ANY.  Programs
 * built before call-site breakpoints refuse it (unknown flag). */
int rav_live_break_set_at_site(rav_live_session *s, const rav_live_break *b, const rav_site_range *r, size_t n);
int rav_live_break_clear(rav_live_session *s, uint32_t id); /* 0: all */
/* The state of breakpoint id as last reported (NULL if never). */
const struct rav_live_break_state *rav_live_break_state(const rav_live_status *st, uint32_t id);

#ifdef __cplusplus
}
#endif
#endif /* RAVTRACE_H */
