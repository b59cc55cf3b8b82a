/* format.h - the on-disk layout of .ravtrace files, shared by the writer
 * (writer*.c, used by the recorder and by tests) and the reader.
 *
 * trace/FORMAT.md is the specification; this header is its C mirror.  Every
 * on-disk struct has a static size assert, every multi-byte field is
 * little-endian, and every struct is 8-byte aligned in the file, so a reader
 * on a little-endian machine can look at mapped bytes directly once it has
 * checked lengths and checksums.  Event payloads are byte streams of
 * varints, decoded with the helpers below.
 */
#ifndef RAV_TRACE_FORMAT_H
#define RAV_TRACE_FORMAT_H

#include <stdbool.h>
#include <string.h>
#include <stddef.h>
#include <stdint.h>

#include "rav-record.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "libravtrace reads and writes little-endian data in place: port the field accessors first"
#endif

#define RAVT_MAGIC "RAVTRACE"
#define RAVT_VERSION_MAJOR 1
/* 1.1: live attach (SNAPSHOT and SESSION chunks); 1.2: large trailers; 1.3:
 * call sites (SITES and MAPS chunks); 1.4: type definitions name their
 * fields; 1.5: events in EVENTS_AC chunks (the address cache); 1.6: event
 * kind page-to-msg (pages handed from a heap to a message being built).
 * See FORMAT.md's version history. */
#define RAVT_VERSION_MINOR 6
/* The first minor version whose events are in EVENTS_AC chunks. */
#define RAVT_MINOR_ACACHE 5
#define RAVT_ENDIAN_LITTLE 1

/* ---- File header (offset 0) ----------------------------------------------- */

typedef struct ravt_header {
	char magic[8];          /* "RAVTRACE" */
	uint16_t version_major;
	uint16_t version_minor;
	uint8_t endian;         /* 1 = little-endian */
	uint8_t word_size;      /* bytes per machine word (4 or 8) */
	uint16_t cell_size;     /* bytes per raviolo = 4 words */
	uint32_t page_size;     /* bytes, power of two */
	uint32_t cells_per_page;
	uint32_t header_size;   /* bytes from offset 0 to the first chunk (multiple of 8) */
	uint32_t flags;         /* RAVT_HF_* */
	uint64_t tsc_hz;        /* TSC ticks per second (0: unknown) */
	uint64_t tsc_start;     /* TSC when recording started */
	uint64_t start_realtime_ns; /* CLOCK_REALTIME when recording started */
	uint64_t pool_base;     /* the recorded process's pool address (informational) */
	uint32_t cmdline_len;   /* bytes of command line after the fixed header */
	uint32_t header_crc;    /* crc32c of header_size bytes with this field zero */
	uint8_t reserved[56];   /* zero */
} ravt_header;
_Static_assert(sizeof(ravt_header) == 128, "ravtrace header is 128 bytes");

#define RAVT_HF_ACCESS 1u    /* memory accesses were recorded */
#define RAVT_HF_SITES 2u     /* 1.3: call sites were recorded (SITES and MAPS chunks) */
/* 1.3: bits 8-15 of flags: frames of backtrace per call site (0 or 1: the
 * caller's return address only). */
#define RAVT_HF_STACK_SHIFT 8
#define RAVT_HF_STACK_MASK (0xffu << RAVT_HF_STACK_SHIFT)
#define RAVT_HEADER_MAX 65536u

/* ---- Chunk frames --------------------------------------------------------- */

#define RAVT_CHUNK_SYNC 0x4b484352u /* "RCHK" */

typedef struct ravt_frame {
	uint32_t sync;          /* RAVT_CHUNK_SYNC */
	uint16_t kind;          /* RAVT_CHUNK_* */
	uint16_t flags;         /* RAVT_CF_* */
	uint32_t stored_len;    /* payload bytes in the file after this frame (before padding) */
	uint32_t raw_len;       /* payload bytes once decompressed */
	uint32_t thread;        /* EVENTS: heap id of the recording thread */
	uint32_t count;         /* EVENTS: events in the chunk */
	uint64_t first;         /* EVENTS: ordinal of the first event in its thread's stream */
	uint32_t payload_crc;   /* crc32c of the stored payload bytes */
	uint32_t frame_crc;     /* crc32c of the 36 bytes above */
} ravt_frame;
_Static_assert(sizeof(ravt_frame) == 40, "chunk frame is 40 bytes");

enum {
	RAVT_CHUNK_EVENTS = 1,
	RAVT_CHUNK_TRAILER = 2,
	RAVT_CHUNK_SNAPSHOT = 3, /* 1.1: state of a heap / the types / the pool (snapshot.c) */
	RAVT_CHUNK_SESSION = 4,  /* 1.1: what a live session says (attached, stats, end, errors) */
	RAVT_CHUNK_SITES = 5,    /* 1.3: call sites of the events of the EVENTS chunk that follows */
	RAVT_CHUNK_MAPS = 6,     /* 1.3: the program's loaded objects (main program, shared libraries) */
	RAVT_CHUNK_EVENTS_AC = 7, /* 1.5: EVENTS whose address operands go through the address cache */
};

static inline bool ravt_chunk_is_events(uint16_t kind)
{
	return kind == RAVT_CHUNK_EVENTS || kind == RAVT_CHUNK_EVENTS_AC;
}

/* ---- Call sites (1.3, FORMAT.md section "Call sites") ---------------------
 * A SITES chunk has the thread, count and first of the EVENTS chunk it
 * describes and comes before it.  Payload (zstd or raw): a dictionary of
 * the chunk's sites, each a stack of frames (return addresses, the call
 * site first), then runs of events sharing a site.  A MAPS chunk lists the
 * loaded objects; a site's addresses resolve against the last MAPS chunk
 * before its SITES chunk. */
#define RAVT_SITE_FRAMES_MAX 64      /* frames of one site */
#define RAVT_MAP_SEGS_MAX 64         /* loadable segments of one object */
#define RAVT_MAP_OBJECTS_MAX 65536   /* objects in one MAPS chunk */
#define RAVT_BUILD_ID_MAX 64         /* bytes of a build id */
#define RAVT_MAP_PATH_MAX 4096       /* bytes of an object's path */
/* MAPS segment flags (ELF p_flags) */
#define RAVT_SEG_X 1u
#define RAVT_SEG_W 2u
#define RAVT_SEG_R 4u

#define RAVT_CF_ZSTD 1u
#define RAVT_PAYLOAD_MAX (16u << 20) /* stored or raw payload bytes in one chunk */
/* A TRAILER (never compressed, checked in place) may be larger from format
 * 1.2 on: its index has 24 bytes per chunk. */
#define RAVT_TRAILER_MAX ((uint32_t)UINT32_MAX - 7)
#define RAVT_EVENTS_RAW_MAX (1u << 20) /* raw payload bytes of one EVENTS chunk */

/* Trailer payload (never compressed): this fixed part, then `chunks`
 * ravt_index_entry, then the u64 file offset of the trailer's own frame. */
typedef struct ravt_trailer {
	uint64_t events;        /* events in all EVENTS chunks */
	uint64_t chunks;        /* EVENTS chunks */
	uint32_t threads;       /* recording threads (distinct frame.thread values) */
	uint32_t flags;         /* zero */
	uint64_t last_tsc;      /* highest TSC seen in TIME events */
	uint64_t dropped;       /* events handed to the recorder after it stopped */
} ravt_trailer;
_Static_assert(sizeof(ravt_trailer) == 40, "trailer fixed part is 40 bytes");

/* ---- SNAPSHOT chunks (1.1) --------------------------------------------------
 * Frame: thread = heap id of the piece (0 for types and pool), count = items
 * in this part, first = piece id; flags 0 (raw_len = stored_len).  Payload:
 * this head, the name, zero padding to head_size, then the body, which is
 * one zstd frame of body_raw bytes if body_flags bit 0 is set, else
 * body_raw bytes as they are.  A heap too big for one chunk is cut into
 * parts by pages. */
typedef struct ravt_snap_head {
	uint16_t piece;         /* rav_snap_piece: 1 types, 2 pool, 3 heap */
	uint16_t head_size;     /* bytes: this struct + name, rounded up to 8 */
	uint32_t part, parts;   /* this chunk's part (0-based) of `parts` */
	uint32_t items;         /* pages (heap), types, or free pages (pool) in this part */
	uint64_t piece_id;
	uint64_t seq, tsc;      /* the order stamp (also in the snapshot event) */
	uint32_t heap_id, parent;
	uint32_t channel;       /* message in flight: its channel */
	uint8_t heap_kind;      /* rav_heap_kind */
	uint8_t where;          /* rav_snap_where */
	uint8_t free_mode;
	uint8_t name_len;
	uint64_t os_tid;
	uint32_t epoch;
	uint32_t body_flags;    /* RAVT_SBF_* */
	uint64_t carved;        /* pool: pages ever carved from the pool's range */
	uint64_t body_raw;      /* body bytes once decompressed */
} ravt_snap_head;
_Static_assert(sizeof(ravt_snap_head) == 88, "snapshot head is 88 bytes");

#define RAVT_SBF_ZSTD 1u
#define RAVT_SNAP_BODY_MAX (64u << 20) /* a reader decompresses at most this much per part */
/* Cell tag byte in a heap body: bits 0-2 say which of words 1-3 are pool
 * addresses (coded relative to the word's own address). */
#define RAVT_CELL_ADDR_MASK 7u
#define RAVT_CELL_EMPTY 0x40u
#define RAVT_CELL_DEAD 0x80u

/* ---- SESSION chunks (1.1) ----------------------------------------------------
 * Never compressed; this struct, then text_len bytes of UTF-8 text. */
typedef struct ravt_session {
	uint16_t type;          /* RAVT_SESSION_* */
	uint16_t flags;         /* zero */
	uint32_t text_len;
	uint64_t realtime_ns;   /* when it was said */
	int64_t v[16];          /* meaning per type (FORMAT.md §12) */
} ravt_session;
_Static_assert(sizeof(ravt_session) == 144, "session record is 144 bytes");

enum {
	RAVT_SESSION_ATTACHED = 1, /* v: pid, uid, client pid, mode, queue bytes, protocol, program start ns */
	RAVT_SESSION_STATS = 2,    /* v: events, lost, bytes, queued bytes, threads, live cells, pool pages,
				    *    allocs, frees, moves, fixups, handoffs, snapshots, resyncs */
	RAVT_SESSION_END = 3,      /* v: how (RAVT_END_*), status or signal, events, lost; text: in words */
	RAVT_SESSION_ERROR = 4,    /* v: code (RAVT_LIVE_E*); text: the message */
	RAVT_SESSION_INFO = 5,     /* v: pid, uid, program start ns, threads, live cells, pool pages,
				    *    attached by (pid or 0), busy (1: records to a file) */
	RAVT_SESSION_SYNCED = 6,   /* v: epoch, heaps snapshotted, heaps pending; text: pending heap ids */
	/* 7: LOST (live.h).  The live debugger's (FORMAT.md §12.5): */
	RAVT_SESSION_STOPPED = 8,  /* v: heap id, why (RAV_DEBUG_*), breakpoint id, its hits, event kind | aux << 8,
				    *    a, b, c (as rav_loc, -1: not in the pool), cell page, cell index,
				    *    threads held; text: in words */
	RAVT_SESSION_RESUMED = 9,  /* v: heap id, threads still held */
	RAVT_SESSION_BREAK = 10,   /* v: breakpoint id, state (RAVT_BREAK_STATE_*), page, cell; text: why */
};
enum {
	RAVT_END_DETACHED = 1,  /* the client asked to detach */
	RAVT_END_EXITED = 2,    /* the program called exit() (v[1] = status) */
	RAVT_END_SIGNAL = 3,    /* the program was killed by a signal (v[1]) */
	RAVT_END_ERROR = 4,     /* the recorder failed (text) */
	RAVT_END_CLOSED = 5,    /* the program closed the session otherwise (exec, listening switched off) */
};

typedef struct ravt_index_entry {
	uint64_t offset;        /* file offset of the chunk frame */
	uint64_t first;
	uint32_t thread;
	uint32_t count;
} ravt_index_entry;
_Static_assert(sizeof(ravt_index_entry) == 24, "index entry is 24 bytes");

/* ---- Event shapes ----------------------------------------------------------
 * Each kind has a fixed list of operands; the shape says which and how they
 * are encoded (FORMAT.md, "Events").  Kinds this reader does not know
 * (>= RAV_EV_KIND_COUNT) use RAVT_SHAPE_GENERIC, which later minor versions
 * must keep for any kind they add. */
typedef enum ravt_shape {
	RAVT_SHAPE_NONE,    /* kind byte (+ aux) only */
	RAVT_SHAPE_TIME,    /* a = tsc delta, b = hz delta, c = 0 or seq */
	RAVT_SHAPE_X,       /* x */
	RAVT_SHAPE_XA,      /* x, a */
	RAVT_SHAPE_XAB,     /* x, a, b */
	RAVT_SHAPE_XTEXT,   /* x, text (length = aux) */
	RAVT_SHAPE_HEAPNEW, /* x, a, seq */
	RAVT_SHAPE_XSEQ,    /* x, seq */
	RAVT_SHAPE_TYPEDEF, /* x (raw), text (length = a) */
	RAVT_SHAPE_PAGE,    /* @a, x, seq */
	RAVT_SHAPE_HANDOFF, /* @a, b, x, seq */
	RAVT_SHAPE_MSG,     /* x, a, b, seq */
	RAVT_SHAPE_A,       /* @a */
	RAVT_SHAPE_AB,      /* @a, @b */
	RAVT_SHAPE_ABC,     /* @a, @b, @c */
	RAVT_SHAPE_AVV,     /* @a, b, c (values) */
	RAVT_SHAPE_TEXT,    /* text (length = a) */
	RAVT_SHAPE_ACCESS,  /* @a, b */
	RAVT_SHAPE_GENERIC, /* x, a, b, c (all raw varints) */
} ravt_shape;

/* Which of a, b, c are heap addresses (bit 0 a, bit 1 b, bit 2 c). */
static inline unsigned ravt_shape_addr_mask(unsigned shape)
{
	switch (shape) {
	case RAVT_SHAPE_PAGE: case RAVT_SHAPE_HANDOFF: case RAVT_SHAPE_A:
	case RAVT_SHAPE_AVV: case RAVT_SHAPE_ACCESS:
		return 1;
	case RAVT_SHAPE_AB:
		return 3;
	case RAVT_SHAPE_ABC:
		return 7;
	default:
		return 0;
	}
}

/* A type's text (a TYPE_DEF event's, or a types piece's in a live session):
 * the name, then each field's name after a NUL (format 1.4; an empty one is
 * unnamed).  Points names[] into text (len bytes, NUL after them) or sets
 * them NULL; returns how many fields are named. */
unsigned ravt_type_text_field_names(const char *text, size_t len, const char *names[2]);

extern const uint8_t ravt_kind_shape[RAV_EV_KIND_COUNT];
static inline unsigned ravt_shape_of(unsigned kind)
{
	return kind < RAV_EV_KIND_COUNT ? ravt_kind_shape[kind] : RAVT_SHAPE_GENERIC;
}
/* Ordering events (carry a process-wide sequence number in c).  The 1.1
 * kinds snapshot and lost have the generic shape (c is a plain varint) but
 * order like the others: the segment table carries their sequence number. */
static inline bool ravt_kind_is_ordering(unsigned kind)
{
	unsigned s = ravt_shape_of(kind);
	return s == RAVT_SHAPE_HEAPNEW || s == RAVT_SHAPE_XSEQ || s == RAVT_SHAPE_PAGE ||
	       s == RAVT_SHAPE_HANDOFF || s == RAVT_SHAPE_MSG || kind == RAV_EV_SNAPSHOT || kind == RAV_EV_LOST;
}

/* The first sequence number of a recording from the program's start; the
 * numbers that follow have no gaps (FORMAT.md 5.2; a session's start at
 * its epoch's first, 12.3).  A live reader waits for it (section 8). */
#define RAVT_SEQ_FIRST 1

/* Kind byte: bits 0-5 kind, bits 6-7 how aux is given. */
#define RAVT_KIND_BITS 6
#define RAVT_KIND_MAX 63
enum {
	RAVT_AUX_ZERO = 0,  /* aux = 0 */
	RAVT_AUX_SAME = 1,  /* aux = the previous aux of this kind in the chunk */
	RAVT_AUX_VAR = 2,   /* aux = varint that follows */
	RAVT_AUX_ONE = 3,   /* aux = 1 */
};

/* Address operands (FORMAT.md, "Addresses"): varint u, tag = u & 3. */
enum {
	RAVT_ADDR_SPECIAL = 0, /* u == 0: null; u == 4: absolute external address, 8 bytes follow */
	RAVT_ADDR_POOL = 1,    /* pool word index = register + unzigzag(u >> 2) */
	RAVT_ADDR_EXT = 2,     /* external byte address = ext register + unzigzag(u >> 2) */
	RAVT_ADDR_BYTE = 3,    /* unaligned pool byte offset = u >> 2 */
};

/* The address cache of EVENTS_AC chunks (FORMAT.md 5.3): the pool cells
 * the chunk's address operands named last, most recent first.  An operand
 * is a varint u: even, a hit, u >> 1 = entry << 2 | word (the entry moves
 * to the front); odd, u >> 1 is an operand of the table above, and a pool
 * word address among them puts its cell at the front (the last entry
 * drops out when the cache is full).  Writer and reader share this code so
 * that the two sides cannot drift. */
#define RAVT_ACACHE_SIZE 16u
/* tag[i] is the low byte of cell[i]: the writer looks a cell up among
 * the tags first, sixteen at once (SSE2), and compares the full cells of
 * the few that match, where a loop over the cells took up to 16 compares
 * and a mispredicted exit per address (callgrind, rav-bench trace-record
 * at depth 18: the writer's encoding loop 727.0M -> 701.1M instructions,
 * -3.6%, and fewer unpredictable branches).  Entries from n up are
 * unused. */
typedef struct ravt_acache {
	uint64_t cell[RAVT_ACACHE_SIZE];
	uint8_t tag[RAVT_ACACHE_SIZE];
	unsigned n;
} ravt_acache;

/* The entry holding `cell`, or -1 (a cell is never in the cache twice). */
static inline int ravt_acache_find(const ravt_acache *c, uint64_t cell)
{
#if defined(__SSE2__)
	__m128i tags = _mm_loadu_si128((const __m128i *)(const void *)c->tag);
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(tags, _mm_set1_epi8((char)(uint8_t)cell)));
	m &= (1u << c->n) - 1u;
	for (; m; m &= m - 1) {
		unsigned i = (unsigned)__builtin_ctz(m);
		if (c->cell[i] == cell)
			return (int)i;
	}
	return -1;
#else
	for (unsigned i = 0; i < c->n; i++)
		if (c->cell[i] == cell)
			return (int)i;
	return -1;
#endif
}

/* Entry i (< n) moves to the front; returns its cell.  Usually a recent
 * entry (a few moves); the empty asm keeps compilers from turning the
 * loop into a call to memmove. */
static inline uint64_t ravt_acache_take(ravt_acache *c, unsigned i)
{
	uint64_t v = c->cell[i];
	uint8_t t = c->tag[i];
	for (unsigned k = i; k > 0; k--) {
		__asm__("" : "+r"(k));
		c->cell[k] = c->cell[k - 1];
		c->tag[k] = c->tag[k - 1];
	}
	c->cell[0] = v;
	c->tag[0] = t;
	return v;
}

/* A cell not in the cache goes to the front.  The whole array moves, in
 * 16-byte pieces, all loaded before any is stored (a fixed size: no loop,
 * no call; entries past n are unused); the tags as two 8-byte words. */
typedef uint64_t ravt_u64x2 __attribute__((vector_size(16), aligned(8), may_alias));
static inline void ravt_acache_push(ravt_acache *c, uint64_t cell)
{
	_Static_assert(RAVT_ACACHE_SIZE == 16, "the shift below moves 15 entries");
	ravt_u64x2 *v = (ravt_u64x2 *)c->cell, *d = (ravt_u64x2 *)(c->cell + 1);
	ravt_u64x2 a0 = v[0], a1 = v[1], a2 = v[2], a3 = v[3], a4 = v[4], a5 = v[5], a6 = v[6];
	uint64_t last = c->cell[14];
	d[0] = a0, d[1] = a1, d[2] = a2, d[3] = a3, d[4] = a4, d[5] = a5, d[6] = a6;
	c->cell[15] = last;
	c->cell[0] = cell;
	uint64_t lo, hi;
	memcpy(&lo, c->tag, 8);
	memcpy(&hi, c->tag + 8, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	hi = hi << 8 | lo >> 56;
	lo = lo << 8 | (uint8_t)cell;
#else
	hi = hi >> 8 | lo << 56;
	lo = lo >> 8 | (uint64_t)(uint8_t)cell << 56;
#endif
	memcpy(c->tag, &lo, 8);
	memcpy(c->tag + 8, &hi, 8);
	c->n += c->n < RAVT_ACACHE_SIZE;
}

#define RAVT_TEXT_MAX 65535u
/* Page indexes a trace may name: 2^24 pages is 64 GiB of 4 KiB pages, far
 * beyond the engine's pool; a larger index is damage, and refusing it keeps
 * per-page tables of readers bounded. */
#define RAVT_MAX_PAGES (1u << 24)

/* ---- Varints ------------------------------------------------------------- */

static inline uint64_t ravt_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static inline int64_t ravt_unzigzag(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static inline uint8_t *ravt_put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Reads a varint of at most 10 bytes from [*pp, end).  false if it runs
 * past end or is longer than 10 bytes. */
static inline bool ravt_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
	const uint8_t *p = *pp;
	if (p < end && *p < 0x80) {
		*out = *p;
		*pp = p + 1;
		return true;
	}
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 70; shift += 7) {
		if (p >= end)
			return false;
		uint8_t byte = *p++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (byte < 0x80) {
			*out = v;
			*pp = p;
			return true;
		}
	}
	return false;
}

static inline uint64_t ravt_le64(const void *p)
{
	uint64_t v;
	__builtin_memcpy(&v, p, 8);
	return v;
}

/* Texts are UTF-8 (names, marks, errors): a copy cut to at most `max` of
 * its `n` bytes ends before a character its cut would split.  Returns the
 * number of bytes to keep. */
static inline size_t ravt_utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t cut = max;
	for (int k = 0; k < 3 && cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80; k++)
		cut--;
	return cut;
}

/* ---- Shared helpers (format.c) ------------------------------------------- */

uint32_t ravt_crc32c(uint32_t crc, const void *data, size_t len);
/* A message that vsnprintf cut short (it held more than fitted) ends at a
 * UTF-8 character, not inside one: drops a last character left incomplete.
 * For messages that quote a program's or a user's text (attach.c,
 * sitespec.c), which terminals and GTK labels show. */
void ravt_text_end_at_char(char *s);

/* A 32-bit integer hash (an avalanche of xor-shifts and multiplies) for the
 * open-addressing tables keyed by thread, heap and piece ids in the writer,
 * the reader, the tables and the replay model: ids are small and dense, so
 * their low bits alone would cluster. */
static inline uint32_t ravt_hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}
/* Frame checksum: crc32c of its first 36 bytes. */
uint32_t ravt_frame_crc(const ravt_frame *f);
uint32_t ravt_header_crc(const void *header, size_t header_size);

/* ---- Writer (writer.c) ----------------------------------------------------
 * Turns raw per-thread event records into chunks.  Not thread-safe: the
 * recorder calls it from its one writer thread.  The output function gets
 * each header and chunk whole, in file order; it returns 0 or -1 (the
 * writer then stops and reports the error from every later call). */
typedef int (*ravt_output_fn)(const void *data, size_t len, void *user);

struct ravt_writer;

typedef struct ravt_writer_params {
	uint8_t word_size;
	uint16_t cell_size;
	uint32_t page_size;
	uint64_t pool_base;     /* addresses in [pool_base, pool_base + pool_bytes) are heap words */
	uint64_t pool_bytes;
	uint64_t tsc_hz, tsc_start, start_realtime_ns;
	const char *cmdline;    /* may contain NULs (argv separators) */
	size_t cmdline_len;
	uint32_t flags;         /* RAVT_HF_* */
	uint32_t chunk_bytes;   /* encoded bytes per chunk before compression (0: 64 KiB) */
	int zstd_level;         /* 0: 1 */
	/* Call sites (1.3): called before each SITES chunk with the frame
	 * addresses no earlier call was given (n may be 0), so that the caller
	 * can write a MAPS chunk (ravt_writer_maps) naming the objects they
	 * lie in before the chunk that uses them.  0, or -1 to fail the writer. */
	int (*sites_hook)(struct ravt_writer *w, const uint64_t *addrs, size_t n, void *user);
	void *sites_user;
	/* Test hooks: write a different version / skip compression / encode
	 * every event with the general encoder. */
	uint16_t version_major, version_minor; /* 0: current */
	bool no_compress;
	bool no_fast_path;
} ravt_writer_params;

typedef struct ravt_writer ravt_writer;

/* One loaded object of the program, for a MAPS chunk (1.3). */
typedef struct ravt_map_segment {
	uint64_t vaddr, memsz; /* the object's ELF virtual address and size of a loadable segment */
	uint32_t flags;        /* RAVT_SEG_* */
} ravt_map_segment;
typedef struct ravt_map_object {
	uint64_t base;         /* load bias: runtime address = vaddr + base */
	const ravt_map_segment *segs;
	unsigned nsegs;        /* 1 ... RAVT_MAP_SEGS_MAX */
	const uint8_t *build_id;
	unsigned build_id_len; /* 0 ... RAVT_BUILD_ID_MAX */
	const char *path;      /* as the loader names it; the main program's absolute path */
	size_t path_len;       /* at most RAVT_MAP_PATH_MAX */
} ravt_map_object;

/* Writes the header through `out`.  NULL with errbuf filled on failure. */
ravt_writer *ravt_writer_new(const ravt_writer_params *p, ravt_output_fn out, void *user,
			      char *errbuf, size_t errlen);
/* Compress chunks or store them raw from now on (the recorder stores raw
 * while its queue backs up, trading file size for keeping up). */
void ravt_writer_set_compress(ravt_writer *w, bool compress);
/* Compress chunks with this zstd level from now on (negative: zstd's fast
 * levels), or store them raw with 0.  The recorder lowers the level step by
 * step while its queue backs up. */
void ravt_writer_set_level(ravt_writer *w, int level);
/* Set the pool range once it is known (before any pool address is
 * encoded; the header's pool_base is informational and may stay 0). */
void ravt_writer_set_pool(ravt_writer *w, uint64_t base, uint64_t bytes);
/* Append n raw records of one thread (text records included; a text may
 * continue in the next call for the same thread).  0 or -1. */
int ravt_writer_add(ravt_writer *w, uint32_t thread, const rav_raw_event *ev, size_t n);
/* Close the thread's current chunk now (thread ended, or to bound latency). */
int ravt_writer_flush_thread(ravt_writer *w, uint32_t thread);
/* Flush every thread and write the trailer. */
int ravt_writer_finish(ravt_writer *w, uint64_t dropped);
/* Write a MAPS chunk listing every object loaded now (1.3).  0 or -1. */
int ravt_writer_maps(ravt_writer *w, const ravt_map_object *objs, size_t n);
/* The calling process's memory map (writer-maps.c): what the recorder
 * passes as sites_hook (user: a zeroed ravt_selfmaps) writes a MAPS chunk
 * before the first SITES chunk and again when objects were loaded or
 * unloaded, or an address lies outside the objects listed. */
typedef struct ravt_range {
	uint64_t lo, hi;
} ravt_range;
typedef struct ravt_selfmaps {
	unsigned long long adds, subs; /* the loader's counters when listed */
	ravt_range *ranges;            /* executable segments listed, sorted */
	size_t nranges;
	uint64_t written;              /* MAPS chunks written */
} ravt_selfmaps;
int ravt_selfmaps_hook(ravt_writer *w, const uint64_t *addrs, size_t n, void *user);
/* List the objects now and write a MAPS chunk.  0 or -1. */
int ravt_selfmaps_write(ravt_writer *w, ravt_selfmaps *m);
void ravt_selfmaps_free(ravt_selfmaps *m);
/* Frames per call site the environment asks for (RAVIOLI_TRACE_SITES,
 * RAVIOLI_TRACE_STACK): 0 none, 1 the return address, N a backtrace; -1
 * with a message for a value that is not a number of frames. */
int ravt_site_depth_from_env(char *err, size_t errlen);
/* Sites interned so far (distinct stacks). */
uint32_t ravt_writer_sites(const ravt_writer *w);
/* Write an arbitrary chunk (tests: unknown kinds, corrupt frames). */
int ravt_writer_raw_chunk(ravt_writer *w, uint16_t kind, uint16_t flags, const void *payload,
			   uint32_t len, uint32_t thread, uint32_t count, uint64_t first);
const char *ravt_writer_error(const ravt_writer *w);
/* The thread the last ravt_writer_add's records went to: a buffer given
 * as thread 0 that holds a THREAD_START goes to the heap it names. */
uint32_t ravt_writer_current_thread(const ravt_writer *w);
uint64_t ravt_writer_events(const ravt_writer *w);
uint64_t ravt_writer_bytes(const ravt_writer *w);
void ravt_writer_free(ravt_writer *w);

#endif /* RAV_TRACE_FORMAT_H */
