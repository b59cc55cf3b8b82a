/* reader.c - open, validate, index and decode .ravtrace files and streams.
 *
 * Memory rule: an open trace never holds one decoded struct per event.  It
 * keeps the chunk table (one entry per chunk), per-thread chunk lists and
 * the merged global order as "runs" (a run = consecutive global indices
 * served by one thread's stream).  Events are decoded on demand: a small
 * LRU of decoded chunks serves random access, and the cursor decodes
 * sequentially with one decoder per thread.
 *
 * Trust rule: nothing read from the file is used before it is checked.
 * Frames are validated (sync word, frame checksum, lengths against caps and
 * against the bytes present) while walking; payload checksums are verified
 * at open, before any payload byte is decoded; decompressed sizes are capped
 * and must match the frame; every varint read is bounds-checked.
 *
 * Global order: each chunk's segment table says where the thread's events
 * were cut by TIME and ordering events, with the TSC and sequence number of
 * each cut.  Indexing merges the threads' segments by TSC, but never lets
 * an ordering event pass before the ordering events with smaller sequence
 * numbers (they were taken under the engine's lock, so they are the truth).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "format.h"
#include "replay-private.h"
#include "trace-private.h"

#ifdef RAVT_FUZZING
/* The fuzz target's copy of the reader accepts wrong checksums, so that
 * mutated inputs reach the decoder instead of stopping at the CRC. */
#define VERIFY_CRC 0
#else
#define VERIFY_CRC 1
#endif
#define LRU_SLOTS 8
#define LRU_WINDOW 4096
#define PAD 16 /* zero bytes after every decoded chunk (see vget) */
#define RUN_BATCH 64

typedef struct chunk {
	uint64_t offset;  /* frame offset */
	uint64_t first;   /* ordinal in its thread's stream */
	uint32_t stored, raw, count;
	uint32_t stream;  /* index into rd->streams */
	uint32_t no;      /* position among all chunks of the file (error messages) */
	uint32_t crc;     /* payload checksum from the frame */
	uint16_t flags;
	_Atomic bool verified; /* payload checksum checked (done before first decode) */
} chunk;

typedef struct stream {
	uint32_t id;      /* heap id of the recording thread */
	uint32_t *chunks; /* indices into rd->chunks, in stream order */
	size_t nchunks, cap;
	uint64_t events;
	uint64_t first_event, last_event; /* global, while indexing */
	bool seen, dirty;
	int64_t tix;      /* its entry in the thread table, -1 not yet */
} stream;

typedef struct run {
	uint64_t gstart;  /* global index of the run's first event */
	uint64_t ordinal; /* stream ordinal of that event */
	uint32_t stream, len;
} run;

typedef struct lru_slot {
	int64_t chunk;    /* -1 empty */
	uint64_t stamp;
	uint64_t w0;      /* stream ordinal of ev[0] */
	rav_event *ev;    /* LRU_WINDOW entries */
	uint32_t n;       /* events decoded: fewer at a chunk's end or damage */
} lru_slot;

/* Arrays handed out by pointer (threads, types, marks) grow by copying and
 * keep their old copies until close, so a pointer a caller holds stays
 * valid while indexing continues on another thread. */
typedef struct retired {
	struct retired *next;
} retired;

typedef struct tdec tdec;

struct rav_trace_reader {
	const uint8_t *data;
	size_t size;
	bool mapped;
	int fd;
	bool is_stream, stream_eof;
	uint8_t *sbuf;
	size_t scap;
	uint64_t parse_pos;

	ravt_header hdr;
	unsigned word_shift, wpp_shift;
	uint64_t wpp_mask;
	double ns_per_tick;

	chunk *chunks;
	size_t nchunks, cap_chunks;
	stream *streams;
	size_t nstreams, cap_streams;
	uint64_t total_events;
	uint64_t skipped_chunks;
	_Atomic uint64_t buf_bytes; /* decoder buffers allocated now: at most
				     * max(256 MiB, 4 x the trace's size) */
	bool complete;   /* trailer seen */

	pthread_mutex_t lock; /* runs, LRU, hint, published tables */
	run *runs;
	size_t nruns, cap_runs;
	_Atomic uint64_t indexed;
	bool index_done;
	bool indexing;
	size_t hint_run;
	const lru_slot *hint_slot; /* window of the last random access */
	uint32_t hint_stream;
	tdec *lru_dec;
	lru_slot lru[LRU_SLOTS];
	uint64_t lru_clock;

	rav_trace_thread *threads;
	_Atomic unsigned nthreads;
	size_t cap_threads;
	rav_trace_type *types;
	_Atomic unsigned ntypes;
	size_t cap_types;
	rav_trace_mark *marks;
	_Atomic unsigned nmarks;
	size_t cap_marks;
	retired *retired;

	pthread_mutex_t intern_lock;
	char **itab;      /* open addressing */
	size_t icap, icount;
	char *iblock;
	size_t ileft;
	retired *iblocks;
};

/* ---- Errors ---------------------------------------------------------------- */

static void set_err(rav_trace_error *err, rav_trace_errcode code, uint64_t offset, int64_t chunkno,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void set_err(rav_trace_error *err, rav_trace_errcode code, uint64_t offset, int64_t chunkno,
		    const char *fmt, ...)
{
	if (!err)
		return;
	err->code = code;
	err->offset = offset;
	err->chunk = chunkno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

static void clear_err(rav_trace_error *err)
{
	if (err) {
		err->code = RAV_TRACE_OK;
		err->offset = 0;
		err->chunk = -1;
		err->message[0] = 0;
	}
}

/* ---- Text interning --------------------------------------------------------
 * Event texts are copied once into arena blocks, NUL-terminated and shared
 * by content, so an event's text pointer stays valid until close whatever
 * chunk buffers come and go. */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h ^ n;
}

static const char *intern_locked(struct rav_trace_reader *rd, const uint8_t *p, size_t n)
{
	if (rd->icount * 2 >= rd->icap) {
		size_t cap = rd->icap ? rd->icap * 2 : 256;
		char **tab = calloc(cap, sizeof *tab);
		if (!tab)
			return NULL;
		for (size_t i = 0; i < rd->icap; i++) {
			char *s = rd->itab[i];
			if (!s)
				continue;
			size_t j = hash_bytes((const uint8_t *)s, strlen(s)) & (cap - 1);
			while (tab[j])
				j = (j + 1) & (cap - 1);
			tab[j] = s;
		}
		free(rd->itab);
		rd->itab = tab;
		rd->icap = cap;
	}
	/* Texts are cut at an embedded NUL: they are C strings for callers. */
	size_t len = strnlen((const char *)p, n);
	size_t j = hash_bytes(p, len) & (rd->icap - 1);
	while (rd->itab[j]) {
		if (strlen(rd->itab[j]) == len && memcmp(rd->itab[j], p, len) == 0)
			return rd->itab[j];
		j = (j + 1) & (rd->icap - 1);
	}
	if (rd->ileft < len + 1) {
		size_t bs = len + 1 > 60000 ? len + 1 + sizeof(retired) : 65536;
		retired *b = malloc(bs);
		if (!b)
			return NULL;
		b->next = rd->iblocks;
		rd->iblocks = b;
		rd->iblock = (char *)(b + 1);
		rd->ileft = bs - sizeof(retired);
	}
	char *s = rd->iblock;
	memcpy(s, p, len);
	s[len] = 0;
	rd->iblock += len + 1;
	rd->ileft -= len + 1;
	rd->itab[j] = s;
	rd->icount++;
	return s;
}

static const char *intern(struct rav_trace_reader *rd, const uint8_t *p, size_t n)
{
	pthread_mutex_lock(&rd->intern_lock);
	const char *s = intern_locked(rd, p, n);
	pthread_mutex_unlock(&rd->intern_lock);
	return s ? s : "";
}

/* ---- Header and chunk walk ----------------------------------------------- */

static int parse_header(struct rav_trace_reader *rd, rav_trace *t, rav_trace_error *err)
{
	const uint8_t *d = rd->data;
	size_t size = rd->size;
	if (size == 0) {
		set_err(err, RAV_TRACE_EEMPTY, 0, -1, "the file is empty (0 bytes): the recording never started");
		return -1;
	}
	size_t m = size < 8 ? size : 8;
	if (memcmp(d, RAVT_MAGIC, m) != 0) {
		set_err(err, RAV_TRACE_EMAGIC, 0, -1,
			"not a ravtrace file: it does not start with the magic \"RAVTRACE\"");
		return -1;
	}
	if (size < sizeof(ravt_header)) {
		set_err(err, RAV_TRACE_ETRUNCATED, size, -1,
			"the file ends inside the header (%zu of %zu bytes): nothing was recorded", size,
			sizeof(ravt_header));
		return -1;
	}
	memcpy(&rd->hdr, d, sizeof rd->hdr);
	ravt_header *h = &rd->hdr;
	if (h->version_major > RAVT_VERSION_MAJOR) {
		set_err(err, RAV_TRACE_EVERSION, 8, -1,
			"trace format version %u.%u is newer than this reader (%u.%u): update ravscope to read it",
			h->version_major, h->version_minor, RAVT_VERSION_MAJOR, RAVT_VERSION_MINOR);
		return -1;
	}
	if (h->version_major < RAVT_VERSION_MAJOR) {
		set_err(err, RAV_TRACE_EVERSION, 8, -1, "trace format version %u.%u is older than any supported (%u.x)",
			h->version_major, h->version_minor, RAVT_VERSION_MAJOR);
		return -1;
	}
	const char *why = NULL;
	uint64_t where = 0;
	if (h->endian != RAVT_ENDIAN_LITTLE)
		why = "byte order is not little-endian", where = 12;
	else if (h->word_size != 4 && h->word_size != 8)
		why = "word size is not 4 or 8 bytes", where = 13;
	else if (h->cell_size != 4u * h->word_size)
		why = "raviolo size is not 4 words", where = 14;
	else if (h->page_size < 256 || h->page_size > (1u << 20) || (h->page_size & (h->page_size - 1)))
		why = "page size is not a power of two between 256 bytes and 1 MiB", where = 16;
	else if (h->cells_per_page != h->page_size / h->cell_size || h->cells_per_page > 16384)
		why = "cells per page does not match page and raviolo sizes", where = 20;
	else if (h->header_size < sizeof(ravt_header) || h->header_size > RAVT_HEADER_MAX || (h->header_size & 7))
		why = "header size is not a multiple of 8 between 128 and 65536", where = 24;
	else if (h->cmdline_len > h->header_size - sizeof(ravt_header))
		why = "command line length runs past the header", where = 64;
	if (why) {
		set_err(err, RAV_TRACE_EHEADER, where, -1, "invalid header: %s", why);
		return -1;
	}
	if (h->header_size > size) {
		set_err(err, RAV_TRACE_ETRUNCATED, size, -1, "the file ends inside the header (%zu of %u bytes)", size,
			h->header_size);
		return -1;
	}
	uint32_t crc = _ravt_header_crc(d, h->header_size);
	if (VERIFY_CRC && crc != h->header_crc) {
		set_err(err, RAV_TRACE_EHEADER, 68, -1,
			"header checksum mismatch (stored %08x, computed %08x): the header is damaged", h->header_crc,
			crc);
		return -1;
	}
	rd->word_shift = h->word_size == 8 ? 3 : 2;
	unsigned wpp = h->page_size >> rd->word_shift;
	rd->wpp_shift = (unsigned)__builtin_ctz(wpp);
	rd->wpp_mask = wpp - 1;
	rd->ns_per_tick = h->tsc_hz ? 1e9 / (double)h->tsc_hz : 1.0;

	rav_trace_info *in = &t->info;
	in->version_major = h->version_major;
	in->version_minor = h->version_minor;
	in->word_size = h->word_size;
	in->cell_size = h->cell_size;
	in->page_size = h->page_size;
	in->cells_per_page = h->cells_per_page;
	in->start_ns = h->start_realtime_ns;
	size_t n = h->cmdline_len < sizeof in->program - 1 ? h->cmdline_len : sizeof in->program - 1;
	for (size_t i = 0; i < n; i++) {
		char c = (char)d[sizeof(ravt_header) + i];
		in->program[i] = c == 0 ? ' ' : (c < 32 ? '?' : c);
	}
	while (n && in->program[n - 1] == ' ')
		n--;
	in->program[n] = 0;
	rd->parse_pos = h->header_size;
	return 0;
}

static stream *stream_for(struct rav_trace_reader *rd, uint32_t id, uint32_t *idx)
{
	for (size_t i = rd->nstreams; i-- > 0;) {
		if (rd->streams[i].id == id) {
			*idx = (uint32_t)i;
			return &rd->streams[i];
		}
	}
	if (rd->nstreams == rd->cap_streams) {
		size_t cap = rd->cap_streams ? rd->cap_streams * 2 : 8;
		stream *s = realloc(rd->streams, cap * sizeof *s);
		if (!s)
			return NULL;
		rd->streams = s;
		rd->cap_streams = cap;
	}
	stream *s = &rd->streams[rd->nstreams];
	memset(s, 0, sizeof *s);
	s->id = id;
	*idx = (uint32_t)rd->nstreams++;
	return s;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Check the trailer against what the walk found. */
static int check_trailer(struct rav_trace_reader *rd, const ravt_frame *f, const uint8_t *payload, uint64_t off,
			 int64_t chunkno, rav_trace_error *err)
{
	if (f->flags || f->stored_len != f->raw_len || f->stored_len < sizeof(ravt_trailer) + 8 ||
	    (f->stored_len - sizeof(ravt_trailer) - 8) % sizeof(ravt_index_entry)) {
		set_err(err, RAV_TRACE_ECHUNK, off, chunkno, "chunk %lld at offset %llu: trailer has an invalid length (%u)",
			(long long)chunkno, (unsigned long long)off, f->stored_len);
		return -1;
	}
	ravt_trailer tr;
	memcpy(&tr, payload, sizeof tr);
	uint64_t entries = (f->stored_len - sizeof(ravt_trailer) - 8) / sizeof(ravt_index_entry);
	uint64_t self = ravt_le64(payload + f->stored_len - 8);
	const char *why = NULL;
	if (self != off)
		why = "its own offset is wrong";
	else if (tr.chunks != entries || tr.chunks != rd->nchunks)
		why = "its chunk count disagrees with the chunks in the file";
	else if (tr.events != rd->total_events)
		why = "its event count disagrees with the chunks in the file";
	for (uint64_t i = 0; !why && i < entries; i++) {
		ravt_index_entry e;
		memcpy(&e, payload + sizeof tr + i * sizeof e, sizeof e);
		const chunk *c = &rd->chunks[i];
		if (e.offset != c->offset || e.first != c->first || e.count != c->count ||
		    e.thread != rd->streams[c->stream].id)
			why = "its chunk index disagrees with the chunks in the file";
	}
	if (why) {
		set_err(err, RAV_TRACE_ECHUNK, off, chunkno, "chunk %lld at offset %llu: invalid trailer: %s",
			(long long)chunkno, (unsigned long long)off, why);
		return -1;
	}
	rd->complete = true;
	return 0;
}

/* Walk complete chunks from parse_pos.  Returns events added, or -1.  On a
 * partial chunk at the end sets *partial (not an error: a crashed program
 * or a stream that has more to come). */
static int64_t walk_chunks(struct rav_trace_reader *rd, rav_trace_error *err, bool *partial)
{
	const uint8_t *d = rd->data;
	uint64_t size = rd->size;
	uint64_t off = rd->parse_pos;
	int64_t added = 0;
	*partial = false;
	while (off < size) {
		int64_t chunkno = (int64_t)(rd->nchunks + rd->skipped_chunks + (rd->complete ? 1 : 0));
		if (rd->complete) {
			set_err(err, RAV_TRACE_ECHUNK, off, chunkno,
				"%llu bytes follow the trailer at offset %llu: the file was appended to or damaged",
				(unsigned long long)(size - off), (unsigned long long)off);
			return -1;
		}
		if (size - off < sizeof(ravt_frame)) {
			if (all_zero(d + off, size - off)) {
				*partial = true;
				break;
			}
			*partial = true;
			break;
		}
		ravt_frame f;
		memcpy(&f, d + off, sizeof f);
		if (f.sync != RAVT_CHUNK_SYNC) {
			if (!rd->is_stream && all_zero(d + off, size - off)) {
				*partial = true; /* a crash left a zero-filled tail */
				break;
			}
			set_err(err, RAV_TRACE_ECHUNK, off, chunkno,
				"chunk %lld at offset %llu: no chunk starts here (sync word %08x, expected %08x)",
				(long long)chunkno, (unsigned long long)off, f.sync, RAVT_CHUNK_SYNC);
			return -1;
		}
		uint32_t fcrc = _ravt_frame_crc(&f);
		if (VERIFY_CRC && fcrc != f.frame_crc) {
			set_err(err, RAV_TRACE_ECHUNK, off, chunkno,
				"chunk %lld at offset %llu: frame checksum mismatch (stored %08x, computed %08x)",
				(long long)chunkno, (unsigned long long)off, f.frame_crc, fcrc);
			return -1;
		}
		if (f.stored_len > RAVT_PAYLOAD_MAX || f.raw_len > RAVT_PAYLOAD_MAX) {
			set_err(err, RAV_TRACE_ECHUNK, off, chunkno,
				"chunk %lld at offset %llu: payload length %u (raw %u) exceeds the %u-byte limit",
				(long long)chunkno, (unsigned long long)off, f.stored_len, f.raw_len, RAVT_PAYLOAD_MAX);
			return -1;
		}
		uint64_t padded = ((uint64_t)f.stored_len + 7) & ~(uint64_t)7;
		if (size - off - sizeof f < padded) {
			*partial = true;
			if (err && !rd->is_stream)
				set_err(err, RAV_TRACE_ETRUNCATED, off, chunkno,
					"the file ends inside chunk %lld at offset %llu (%llu of %llu bytes present); "
					"the %llu bytes before it are usable",
					(long long)chunkno, (unsigned long long)off,
					(unsigned long long)(size - off), (unsigned long long)(sizeof f + padded),
					(unsigned long long)off);
			break;
		}
		const uint8_t *payload = d + off + sizeof f;
		/* EVENTS payloads are checked when first decoded (opening a big
		 * trace then reads only frame headers); others now. */
		uint32_t pcrc = f.kind == RAVT_CHUNK_EVENTS ? f.payload_crc : _ravt_crc32c(0, payload, f.stored_len);
		if (VERIFY_CRC && pcrc != f.payload_crc) {
			set_err(err, RAV_TRACE_ECHUNK, off, chunkno,
				"chunk %lld at offset %llu: payload checksum mismatch (stored %08x, computed %08x)",
				(long long)chunkno, (unsigned long long)off, f.payload_crc, pcrc);
			return -1;
		}
		if (f.kind == RAVT_CHUNK_EVENTS) {
			const char *why = NULL;
			if (f.flags & ~RAVT_CF_ZSTD)
				why = "unknown flags";
			else if (!(f.flags & RAVT_CF_ZSTD) && f.raw_len != f.stored_len)
				why = "uncompressed but raw and stored lengths differ";
			else if (f.raw_len > RAVT_EVENTS_RAW_MAX)
				why = "raw payload is larger than 1 MiB";
			else if (f.count == 0 || f.count > f.raw_len)
				why = "event count is 0 or larger than its payload";
			if (why) {
				set_err(err, RAV_TRACE_ECHUNK, off, chunkno, "chunk %lld at offset %llu: events chunk: %s",
					(long long)chunkno, (unsigned long long)off, why);
				return -1;
			}
			uint32_t si;
			stream *s = stream_for(rd, f.thread, &si);
			if (!s) {
				set_err(err, RAV_TRACE_ENOMEM, off, chunkno, "out of memory");
				return -1;
			}
			if (f.first != s->events) {
				set_err(err, RAV_TRACE_ECHUNK, off, chunkno,
					"chunk %lld at offset %llu: thread %u's chunk starts at its event %llu, but %llu "
					"events of it came before (a chunk is missing or repeated)",
					(long long)chunkno, (unsigned long long)off, f.thread,
					(unsigned long long)f.first, (unsigned long long)s->events);
				return -1;
			}
			if (rd->nchunks == rd->cap_chunks) {
				size_t cap = rd->cap_chunks ? rd->cap_chunks * 2 : 256;
				chunk *c = realloc(rd->chunks, cap * sizeof *c);
				if (!c) {
					set_err(err, RAV_TRACE_ENOMEM, off, chunkno, "out of memory");
					return -1;
				}
				rd->chunks = c;
				rd->cap_chunks = cap;
			}
			if (s->nchunks == s->cap) {
				size_t cap = s->cap ? s->cap * 2 : 64;
				uint32_t *c = realloc(s->chunks, cap * sizeof *c);
				if (!c) {
					set_err(err, RAV_TRACE_ENOMEM, off, chunkno, "out of memory");
					return -1;
				}
				s->chunks = c;
				s->cap = cap;
			}
			s->chunks[s->nchunks++] = (uint32_t)rd->nchunks;
			rd->chunks[rd->nchunks++] = (chunk){ off, f.first, f.stored_len, f.raw_len, f.count, si,
							     (uint32_t)chunkno, f.payload_crc, f.flags, false };
			s->events += f.count;
			rd->total_events += f.count;
			added += f.count;
		} else if (f.kind == RAVT_CHUNK_TRAILER) {
			if (check_trailer(rd, &f, payload, off, chunkno, err) != 0)
				return -1;
		} else {
			rd->skipped_chunks++; /* a kind from a newer minor version */
		}
		off += sizeof f + padded;
		rd->parse_pos = off;
	}
	return added;
}

/* ---- Decoder ------------------------------------------------------------- */

struct tdec {
	struct rav_trace_reader *rd;
	uint32_t stream;
	uint32_t tid;            /* the stream's thread (heap id) */
	unsigned word_shift, wpp_shift;
	uint64_t wpp_mask;
	int64_t ci;              /* position in the stream's chunk list; -1 none */
	int64_t last_ci;         /* the chunk loaded or being loaded (for errors) */
	uint8_t *buf;
	size_t cap;
	const uint8_t *sp, *send, *ep, *eend;
	const uint8_t *seg_start;
	uint64_t ordinal;        /* of the next event */
	uint32_t left;           /* events left in the chunk */
	uint32_t count;          /* events in the chunk */
	uint32_t segs_total;     /* events covered by segments read so far */

	uint32_t seg_left;
	uint64_t seg_tsc, seg_seq;
	bool seg_has_seq;
	bool next_valid, next_has_seq;
	uint32_t next_n;
	uint64_t next_tsc, next_seq;
	uint64_t seg_prev_tsc, seg_prev_seq;
	uint64_t t_fp, t_step;   /* time in 1/65536 ns */

	uint64_t ra, rext, tsc_reg, hz_reg, seq_reg;
	uint32_t last_aux[RAVT_KIND_MAX + 1];
	ZSTD_DCtx *dctx;
	bool own_dctx;
	bool bad_crc;            /* the last load failed its checksum */
	char why[160];
};

/* dctx: shared by the decoders of one owner (indexer, cursor), which never
 * decompress concurrently; NULL: the decoder gets its own. */
static tdec *tdec_new(struct rav_trace_reader *rd, uint32_t stream_idx, ZSTD_DCtx *dctx)
{
	tdec *td = calloc(1, sizeof *td);
	if (!td)
		return NULL;
	td->rd = rd;
	td->stream = stream_idx;
	td->tid = rd->streams[stream_idx].id;
	td->word_shift = rd->word_shift;
	td->wpp_shift = rd->wpp_shift;
	td->wpp_mask = rd->wpp_mask;
	td->ci = -1;
	td->last_ci = -1;
	td->dctx = dctx;
	if (!dctx) {
		td->dctx = ZSTD_createDCtx();
		td->own_dctx = true;
		if (!td->dctx) {
			free(td);
			return NULL;
		}
	}
	return td;
}

static void tdec_free(tdec *td)
{
	if (!td)
		return;
	if (td->own_dctx)
		ZSTD_freeDCtx(td->dctx);
	atomic_fetch_sub(&td->rd->buf_bytes, td->cap);
	free(td->buf);
	free(td);
}

static uint64_t tsc_to_fp(const struct rav_trace_reader *rd, uint64_t tsc)
{
	if (tsc <= rd->hdr.tsc_start)
		return 0;
	double ns = (double)(tsc - rd->hdr.tsc_start) * rd->ns_per_tick;
	if (ns > 1e14)
		ns = 1e14; /* more than a day: clamp garbage instead of overflowing */
	return (uint64_t)(ns * 65536.0);
}

static bool seg_read(tdec *td, uint32_t *n, uint64_t *tsc, bool *has_seq, uint64_t *seq)
{
	uint64_t v, z, sc;
	if (td->sp >= td->send)
		return false;
	if (!ravt_get_varint(&td->sp, td->send, &v) || !ravt_get_varint(&td->sp, td->send, &z) ||
	    !ravt_get_varint(&td->sp, td->send, &sc) || v == 0 || v > UINT32_MAX) {
		snprintf(td->why, sizeof td->why, "segment table entry is malformed");
		td->sp = td->send;
		return false;
	}
	*n = (uint32_t)v;
	td->seg_prev_tsc += (uint64_t)ravt_unzigzag(z);
	*tsc = td->seg_prev_tsc;
	*has_seq = sc != 0;
	if (sc) {
		td->seg_prev_seq += (uint64_t)ravt_unzigzag(sc - 1);
		*seq = td->seg_prev_seq;
	} else {
		*seq = 0;
	}
	return true;
}

/* Make the next segment current.  false at the chunk's end or on error. */
static bool tdec_next_segment(tdec *td)
{
	uint32_t n;
	if (td->next_valid) {
		n = td->next_n;
		td->seg_tsc = td->next_tsc;
		td->seg_has_seq = td->next_has_seq;
		td->seg_seq = td->next_seq;
		td->next_valid = false;
	} else {
		td->why[0] = 0;
		if (!seg_read(td, &n, &td->seg_tsc, &td->seg_has_seq, &td->seg_seq)) {
			if (!td->why[0])
				snprintf(td->why, sizeof td->why, "segment table covers fewer events than the chunk holds");
			return false;
		}
	}
	if (n > td->count - td->segs_total) {
		snprintf(td->why, sizeof td->why, "segment table covers more events than the chunk holds");
		return false;
	}
	td->segs_total += n;
	td->seg_left = n;
	td->t_fp = tsc_to_fp(td->rd, td->seg_tsc);
	td->t_step = 0;
	uint32_t nn;
	uint64_t nt, ns;
	bool nh;
	if (seg_read(td, &nn, &nt, &nh, &ns)) {
		td->next_valid = true;
		td->next_n = nn;
		td->next_tsc = nt;
		td->next_has_seq = nh;
		td->next_seq = ns;
		uint64_t nfp = tsc_to_fp(td->rd, nt);
		if (nfp > td->t_fp)
			td->t_step = (nfp - td->t_fp) / n;
	} else if (td->why[0]) {
		return false;
	}
	return true;
}

/* Smallest sequence number in the loaded chunk's segment table. */
static bool tdec_min_seq(const tdec *td, uint64_t *out)
{
	const uint8_t *p = td->seg_start, *end = td->send;
	uint64_t seq = 0, best = UINT64_MAX, n, z, sc;
	while (p < end && ravt_get_varint(&p, end, &n) && ravt_get_varint(&p, end, &z) &&
	       ravt_get_varint(&p, end, &sc)) {
		if (sc) {
			seq += (uint64_t)ravt_unzigzag(sc - 1);
			if (seq < best)
				best = seq;
		}
	}
	*out = best;
	return best != UINT64_MAX;
}

/* Load chunk `ci` of the stream: decompress, set up cursors, read the first
 * segment.  false with td->why on a bad payload. */
static bool tdec_load(tdec *td, int64_t ci)
{
	struct rav_trace_reader *rd = td->rd;
	const stream *s = &rd->streams[td->stream];
	const chunk *c = &rd->chunks[s->chunks[ci]];
	const uint8_t *stored = rd->data + c->offset + sizeof(ravt_frame);
	td->ci = -1;
	td->last_ci = ci;
	td->bad_crc = false;
	chunk *cw = &rd->chunks[s->chunks[ci]];
	if (VERIFY_CRC && !atomic_load_explicit(&cw->verified, memory_order_acquire)) {
		uint32_t crc = _ravt_crc32c(0, stored, c->stored);
		if (crc != c->crc) {
			snprintf(td->why, sizeof td->why, "payload checksum mismatch (stored %08x, computed %08x)", c->crc,
				 crc);
			td->bad_crc = true;
			return false;
		}
		atomic_store_explicit(&cw->verified, true, memory_order_release);
	}
	if (td->cap < (size_t)c->raw + PAD) {
		size_t cap = c->raw + PAD < 65536 ? 65536 : c->raw + PAD;
		/* Every thread's decoder holds a chunk while indexing: a damaged
		 * or hostile file with many threads must not make that unbounded. */
		uint64_t limit = (uint64_t)rd->size * 4 > (256u << 20) ? (uint64_t)rd->size * 4 : (256u << 20);
		uint64_t now = atomic_fetch_add(&rd->buf_bytes, cap - td->cap) + (cap - td->cap);
		if (now > limit) {
			atomic_fetch_sub(&rd->buf_bytes, cap - td->cap);
			snprintf(td->why, sizeof td->why,
				 "decoding needs more than %llu MiB of chunk buffers (too many threads, or damage)",
				 (unsigned long long)(limit >> 20));
			return false;
		}
		uint8_t *b = realloc(td->buf, cap);
		if (!b) {
			atomic_fetch_sub(&rd->buf_bytes, cap - td->cap);
			snprintf(td->why, sizeof td->why, "out of memory for a %u-byte chunk", c->raw);
			return false;
		}
		td->buf = b;
		td->cap = cap;
	}
	if (c->flags & RAVT_CF_ZSTD) {
		size_t r = ZSTD_decompressDCtx(td->dctx, td->buf, c->raw, stored, c->stored);
		if (ZSTD_isError(r)) {
			snprintf(td->why, sizeof td->why, "zstd: %s", ZSTD_getErrorName(r));
			return false;
		}
		if (r != c->raw) {
			snprintf(td->why, sizeof td->why, "decompressed to %zu bytes, frame says %u", r, c->raw);
			return false;
		}
	} else {
		memcpy(td->buf, stored, c->raw);
	}
	memset(td->buf + c->raw, 0, PAD);
	const uint8_t *p = td->buf, *end = td->buf + c->raw;
	uint64_t seglen;
	if (!ravt_get_varint(&p, end, &seglen) || seglen > (uint64_t)(end - p)) {
		snprintf(td->why, sizeof td->why, "segment table length is invalid");
		return false;
	}
	td->sp = td->seg_start = p;
	td->send = p + seglen;
	td->ep = td->send;
	td->eend = end;
	td->ordinal = c->first;
	td->left = c->count;
	td->count = c->count;
	td->segs_total = 0;
	td->seg_prev_tsc = td->seg_prev_seq = 0;
	td->next_valid = false;
	td->ra = td->rext = td->tsc_reg = td->hz_reg = td->seq_reg = 0;
	memset(td->last_aux, 0, sizeof td->last_aux);
	td->ci = ci;
	td->why[0] = 0;
	if (!tdec_next_segment(td)) {
		td->ci = -1;
		return false;
	}
	return true;
}

/* Varint without per-byte bounds checks: the event area of a decoded
 * buffer is followed by PAD zero bytes, so a varint that starts inside it
 * stops within the padding at the latest (an event reads at most 6 varints,
 * each ending at most one byte further into the zeros); callers check
 * p <= end once per event.  NULL for a varint longer than 10 bytes. */
static inline __attribute__((always_inline)) const uint8_t *vget(const uint8_t *p, uint64_t *out)
{
	uint64_t b = *p++;
	if (__builtin_expect(b < 0x80, 1)) {
		*out = b;
		return p;
	}
	/* two bytes: most pool address deltas */
	uint64_t b1 = *p;
	if (__builtin_expect(b1 < 0x80, 1)) {
		*out = (b & 0x7f) | b1 << 7;
		return p + 1;
	}
	p++;
	uint64_t v = (b & 0x7f) | (b1 & 0x7f) << 7;
	for (unsigned shift = 14; shift < 70; shift += 7) {
		b = *p++;
		v |= (b & 0x7f) << shift;
		if (b < 0x80) {
			*out = v;
			return p;
		}
	}
	return NULL;
}

static inline __attribute__((always_inline)) const uint8_t *get_addr(tdec *td, const uint8_t *p, uint64_t *r,
								     uint64_t *loc)
{
	uint64_t u;
	p = vget(p, &u);
	if (!p)
		return NULL;
	switch (u & 3) {
	case RAVT_ADDR_POOL: {
		uint64_t w = *r + (uint64_t)ravt_unzigzag(u >> 2);
		*r = w;
		uint64_t page = w >> td->wpp_shift;
		if (page >= RAVT_MAX_PAGES)
			return NULL;
		*loc = (page << 16) | (w & td->wpp_mask);
		return p;
	}
	case RAVT_ADDR_EXT: {
		uint64_t x = td->rext + (uint64_t)ravt_unzigzag(u >> 2);
		td->rext = x;
		*loc = RAV_LOC_EXTERNAL | (x & ~RAV_LOC_EXTERNAL);
		return p;
	}
	case RAVT_ADDR_BYTE: {
		uint64_t w = (u >> 2) >> td->word_shift;
		uint64_t page = w >> td->wpp_shift;
		if (page >= RAVT_MAX_PAGES)
			return NULL;
		*loc = (page << 16) | (w & td->wpp_mask);
		return p;
	}
	default:
		if (u == 0) {
			*loc = 0;
			return p;
		}
		if (u == 4 && td->eend - p >= 8) {
			uint64_t x = ravt_le64(p);
			td->rext = x;
			*loc = RAV_LOC_EXTERNAL | (x & ~RAV_LOC_EXTERNAL);
			return p + 8;
		}
		return NULL;
	}
}

#define GETV(dst)                               \
	do {                                    \
		if (!(p = vget(p, &(dst))))     \
			goto bad;               \
	} while (0)
#define GETA(dst)                                       \
	do {                                            \
		if (!(p = get_addr(td, p, &r, &(dst)))) \
			goto bad;                       \
	} while (0)

/* Decode the next event of the chunk.  intern_text: give text events their
 * stable text (skipping events for a seek does not need it). */
static inline __attribute__((always_inline)) bool tdec_event(tdec *td, rav_event *ev, bool intern_text)
{
	if (__builtin_expect(td->left == 0, 0))
		return false;
	if (__builtin_expect(td->seg_left == 0, 0) && !tdec_next_segment(td))
		return false;
	const uint8_t *p = td->ep, *end = td->eend;
	if (__builtin_expect(p >= end, 0)) {
		snprintf(td->why, sizeof td->why, "events end before the chunk's event count");
		return false;
	}
	uint8_t kb = *p++;
	unsigned kind = kb & RAVT_KIND_MAX;
	uint64_t aux, x = 0, a = 0, b = 0, c = 0, r = td->ra;
	unsigned shape;
	const uint32_t tid = td->tid;
	if (__builtin_expect(kind == RAVT_KIND_MAX, 0)) {
		uint64_t k;
		GETV(k);
		GETV(aux);
		GETV(x);
		if (k > 0xffff || aux > 0xffffff)
			goto bad;
		kind = (unsigned)k;
		shape = ravt_shape_of(kind);
		unsigned amask = ravt_shape_addr_mask(shape);
		uint64_t *v[3] = { &a, &b, &c };
		for (int i = 0; i < 3; i++) {
			if (amask & (1u << i)) {
				GETA(*v[i]);
				if (i == 0)
					td->ra = r;
			} else {
				GETV(*v[i]);
			}
		}
		x ^= tid;
	} else {
		switch (kb >> RAVT_KIND_BITS) {
		case RAVT_AUX_ZERO: aux = 0; break;
		case RAVT_AUX_ONE: aux = 1; break;
		case RAVT_AUX_SAME: aux = td->last_aux[kind]; break;
		default:
			GETV(aux);
			if (aux > 0xffffff)
				goto bad;
			break;
		}
		td->last_aux[kind] = (uint32_t)aux;
		shape = ravt_shape_of(kind);
		switch (shape) {
		case RAVT_SHAPE_NONE:
			break;
		case RAVT_SHAPE_TIME: {
			uint64_t za, zb, zc;
			GETV(za);
			GETV(zb);
			GETV(zc);
			a = td->tsc_reg += (uint64_t)ravt_unzigzag(za);
			b = td->hz_reg += (uint64_t)ravt_unzigzag(zb);
			if (zc)
				c = td->seq_reg += (uint64_t)ravt_unzigzag(zc - 1);
			break;
		}
		case RAVT_SHAPE_X:
		case RAVT_SHAPE_XTEXT:
			GETV(x);
			x ^= tid;
			break;
		case RAVT_SHAPE_XA:
		case RAVT_SHAPE_TYPEDEF:
			GETV(x);
			x ^= tid;
			GETV(a);
			break;
		case RAVT_SHAPE_XAB:
			GETV(x);
			x ^= tid;
			GETV(a);
			GETV(b);
			break;
		case RAVT_SHAPE_HEAPNEW:
		case RAVT_SHAPE_XSEQ: {
			uint64_t z;
			GETV(x);
			x ^= tid;
			if (shape == RAVT_SHAPE_HEAPNEW)
				GETV(a);
			GETV(z);
			c = td->seq_reg += (uint64_t)ravt_unzigzag(z);
			break;
		}
		case RAVT_SHAPE_PAGE:
		case RAVT_SHAPE_HANDOFF: {
			uint64_t z;
			GETA(a);
			td->ra = r;
			if (shape == RAVT_SHAPE_HANDOFF)
				GETV(b);
			GETV(x);
			x ^= tid;
			GETV(z);
			c = td->seq_reg += (uint64_t)ravt_unzigzag(z);
			break;
		}
		case RAVT_SHAPE_MSG: {
			uint64_t z;
			GETV(x);
			x ^= tid;
			GETV(a);
			GETV(b);
			GETV(z);
			c = td->seq_reg += (uint64_t)ravt_unzigzag(z);
			break;
		}
		case RAVT_SHAPE_A:
			GETA(a);
			td->ra = r;
			break;
		case RAVT_SHAPE_AB:
			GETA(a);
			td->ra = r;
			GETA(b);
			break;
		case RAVT_SHAPE_ABC:
			GETA(a);
			td->ra = r;
			GETA(b);
			GETA(c);
			break;
		case RAVT_SHAPE_AVV:
			GETA(a);
			td->ra = r;
			GETV(b);
			GETV(c);
			break;
		case RAVT_SHAPE_TEXT:
			GETV(a);
			break;
		case RAVT_SHAPE_ACCESS:
			GETA(a);
			td->ra = r;
			GETV(b);
			break;
		default:
			GETV(x);
			x ^= tid;
			GETV(a);
			GETV(b);
			GETV(c);
			break;
		}
	}
	if (__builtin_expect(p > end || x > UINT32_MAX, 0))
		goto bad;
	const char *text = NULL;
	if (__builtin_expect(shape == RAVT_SHAPE_XTEXT || shape == RAVT_SHAPE_TYPEDEF || shape == RAVT_SHAPE_TEXT, 0)) {
		uint64_t tlen = shape == RAVT_SHAPE_XTEXT ? aux : a;
		if (tlen > RAVT_TEXT_MAX || tlen > (uint64_t)(end - p))
			goto bad;
		text = intern_text ? intern(td->rd, p, (size_t)tlen) : NULL;
		p += tlen;
	}
	if (__builtin_expect(td->left == 1, 0) && (p != end || td->sp != td->send || td->next_valid)) {
		snprintf(td->why, sizeof td->why, "bytes left over after the chunk's last event");
		return false;
	}
	/* the decoder's registers first: stores through ev could alias them
	 * as far as the compiler knows */
	uint64_t t_fp = td->t_fp;
	td->t_fp = t_fp + td->t_step;
	td->ep = p;
	td->seg_left--;
	td->left--;
	td->ordinal++;
	ev->kind = (uint16_t)kind;
	ev->aux = (uint32_t)aux;
	ev->x = (uint32_t)x;
	ev->a = a;
	ev->b = b;
	ev->c = c;
	ev->thread = tid;
	ev->time_ns = t_fp >> 16;
	ev->text = text;
	return true;
bad:
	snprintf(td->why, sizeof td->why, "event %llu of thread %u (kind %u) is malformed or runs past the chunk",
		 (unsigned long long)td->ordinal, td->tid, kind);
	return false;
}
#undef GETV
#undef GETA

/* Position the decoder so its next event is stream ordinal `ord`. */
static bool tdec_seek(tdec *td, uint64_t ord)
{
	const struct rav_trace_reader *rd = td->rd;
	const stream *s = &rd->streams[td->stream];
	if (td->ci >= 0 && td->ordinal == ord && td->left > 0)
		return true;
	size_t lo = 0, hi = s->nchunks;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rd->chunks[s->chunks[mid]].first <= ord)
			lo = mid;
		else
			hi = mid;
	}
	if (td->ci != (int64_t)lo || td->ordinal > ord) {
		if (!tdec_load(td, (int64_t)lo))
			return false;
	}
	rav_event tmp;
	while (td->ordinal < ord) {
		if (!tdec_event(td, &tmp, false))
			return false;
	}
	return true;
}

/* Next event of the stream, loading the next chunk when one is used up. */
static bool tdec_stream_event(tdec *td, rav_event *ev)
{
	if (td->ci < 0 || td->left == 0) {
		int64_t next = td->ci + 1;
		if ((size_t)next >= td->rd->streams[td->stream].nchunks) {
			snprintf(td->why, sizeof td->why, "thread %u has no more events", td->rd->streams[td->stream].id);
			return false;
		}
		if (!tdec_load(td, next))
			return false;
	}
	return tdec_event(td, ev, true);
}

static void decode_error(const struct rav_trace_reader *rd, const tdec *td, rav_trace_error *err)
{
	int64_t ci = td->ci >= 0 ? td->ci : td->last_ci;
	uint64_t off = 0;
	int64_t chunkno = -1;
	if (ci >= 0) {
		const chunk *c = &rd->chunks[rd->streams[td->stream].chunks[ci]];
		chunkno = c->no;
		off = c->offset;
	}
	set_err(err, td->bad_crc ? RAV_TRACE_ECHUNK : RAV_TRACE_EDECODE, off, chunkno,
		"chunk %lld at offset %llu (thread %u): %s", (long long)chunkno,
		(unsigned long long)off, rd->streams[td->stream].id, td->why[0] ? td->why : "cannot be decoded");
}

/* ---- Opening ------------------------------------------------------------- */

static rav_trace *trace_alloc(void)
{
	rav_trace *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->rd = calloc(1, sizeof *t->rd);
	if (!t->rd) {
		free(t);
		return NULL;
	}
	t->rd->fd = -1;
	pthread_mutex_init(&t->rd->lock, NULL);
	pthread_mutex_init(&t->rd->intern_lock, NULL);
	for (int i = 0; i < LRU_SLOTS; i++)
		t->rd->lru[i].chunk = -1;
	return t;
}

static void update_info(rav_trace *t)
{
	struct rav_trace_reader *rd = t->rd;
	t->info.file_size = rd->size;
	t->info.chunks = rd->nchunks;
	if (!rd->index_done)
		t->info.events = rd->total_events;
}

static rav_trace *open_bytes(rav_trace *t, rav_trace_error *err)
{
	struct rav_trace_reader *rd = t->rd;
	if (parse_header(rd, t, err) != 0) {
		rav_trace_close(t);
		return NULL;
	}
	rav_trace_error terr;
	clear_err(&terr);
	bool partial;
	if (walk_chunks(rd, &terr, &partial) < 0) {
		if (err)
			*err = terr;
		rav_trace_close(t);
		return NULL;
	}
	update_info(t);
	if (!rd->complete || partial) {
		t->info.truncated = true;
		t->info.recovered_bytes = rd->parse_pos;
		if (err) {
			if (terr.code == RAV_TRACE_ETRUNCATED)
				*err = terr;
			else
				set_err(err, RAV_TRACE_ETRUNCATED, rd->parse_pos, (int64_t)rd->nchunks,
					"the trace has no trailer (the program did not finish recording): "
					"%llu bytes in %zu complete chunks are usable",
					(unsigned long long)rd->parse_pos, rd->nchunks);
		}
	}
	return t;
}

rav_trace *rav_trace_open(const char *path, rav_trace_error *err)
{
	clear_err(err);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, RAV_TRACE_EIO, 0, -1, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		set_err(err, RAV_TRACE_EIO, 0, -1, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		set_err(err, RAV_TRACE_EIO, 0, -1, "%s is not a regular file (use rav_trace_open_fd for streams)", path);
		return NULL;
	}
	rav_trace *t = trace_alloc();
	if (!t) {
		close(fd);
		set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return NULL;
	}
	struct rav_trace_reader *rd = t->rd;
	rd->size = (size_t)st.st_size;
	if (rd->size) {
		void *m = mmap(NULL, rd->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			set_err(err, RAV_TRACE_EIO, 0, -1, "cannot map %s: %s", path, strerror(errno));
			close(fd);
			rav_trace_close(t);
			return NULL;
		}
		madvise(m, rd->size, MADV_SEQUENTIAL);
		rd->data = m;
		rd->mapped = true;
	} else {
		rd->data = (const uint8_t *)"";
	}
	close(fd);
	return open_bytes(t, err);
}

rav_trace *rav_trace_open_memory(const void *data, size_t size, rav_trace_error *err)
{
	clear_err(err);
	rav_trace *t = trace_alloc();
	if (!t) {
		set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return NULL;
	}
	t->rd->data = size ? data : (const uint8_t *)"";
	t->rd->size = size;
	return open_bytes(t, err);
}

/* Read what the stream has now into sbuf; block only if `wait` until at
 * least `want` bytes are buffered. */
static int stream_read(struct rav_trace_reader *rd, bool wait, size_t want, rav_trace_error *err)
{
	for (;;) {
		if (rd->stream_eof)
			return 0;
		if (!wait) {
			struct pollfd pf = { .fd = rd->fd, .events = POLLIN };
			int n = poll(&pf, 1, 0);
			if (n == 0)
				return 0;
			if (n < 0) {
				if (errno == EINTR)
					continue;
				set_err(err, RAV_TRACE_EIO, rd->size, -1, "poll on the trace stream failed: %s",
					strerror(errno));
				return -1;
			}
		}
		if (rd->scap - rd->size < 65536) {
			size_t cap = rd->scap ? rd->scap * 2 : 1 << 20;
			uint8_t *b = realloc(rd->sbuf, cap);
			if (!b) {
				set_err(err, RAV_TRACE_ENOMEM, rd->size, -1, "out of memory buffering the stream");
				return -1;
			}
			rd->sbuf = b;
			rd->scap = cap;
			rd->data = b;
		}
		ssize_t got = read(rd->fd, rd->sbuf + rd->size, rd->scap - rd->size);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!wait)
					return 0;
				struct pollfd pf = { .fd = rd->fd, .events = POLLIN };
				poll(&pf, 1, -1);
				continue;
			}
			set_err(err, RAV_TRACE_EIO, rd->size, -1, "reading the trace stream failed: %s", strerror(errno));
			return -1;
		}
		if (got == 0) {
			rd->stream_eof = true;
			return 0;
		}
		rd->size += (size_t)got;
		if (wait && rd->size >= want)
			return 0;
	}
}

rav_trace *rav_trace_open_fd(int fd, rav_trace_error *err)
{
	clear_err(err);
	rav_trace *t = trace_alloc();
	if (!t) {
		set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return NULL;
	}
	struct rav_trace_reader *rd = t->rd;
	rd->fd = fd;
	rd->is_stream = true;
	rd->data = (const uint8_t *)"";
	/* The writer sends its header at once: wait for it. */
	if (stream_read(rd, true, sizeof(ravt_header), err) != 0)
		goto fail;
	if (rd->size >= sizeof(ravt_header) && memcmp(rd->data, RAVT_MAGIC, 8) == 0) {
		ravt_header h;
		memcpy(&h, rd->data, sizeof h);
		if (h.header_size <= RAVT_HEADER_MAX && stream_read(rd, true, h.header_size, err) != 0)
			goto fail;
	}
	if (parse_header(rd, t, err) != 0) {
		rd->fd = -1;
		rav_trace_close(t);
		return NULL;
	}
	if (rav_trace_poll(t, err) < 0)
		goto fail;
	return t;
fail:
	rd->fd = -1;
	rav_trace_close(t);
	return NULL;
}

int64_t rav_trace_poll(rav_trace *t, rav_trace_error *err)
{
	struct rav_trace_reader *rd = t->rd;
	clear_err(err);
	if (!rd->is_stream)
		return 0;
	if (stream_read(rd, false, 0, err) != 0)
		return -1;
	bool partial;
	int64_t added = walk_chunks(rd, err, &partial);
	if (added < 0)
		return -1;
	update_info(t);
	if (rd->stream_eof && (!rd->complete || rd->parse_pos < rd->size)) {
		t->info.truncated = true;
		t->info.recovered_bytes = rd->parse_pos;
	}
	return added;
}

size_t _rav_trace_reader_memory(const rav_trace *t)
{
	const struct rav_trace_reader *rd = t->rd;
	size_t n = sizeof *rd + rd->cap_chunks * sizeof(chunk) + rd->cap_streams * sizeof(stream) + rd->scap +
		   rd->cap_runs * sizeof(run) + rd->icap * sizeof(char *) +
		   (size_t)atomic_load(&((struct rav_trace_reader *)rd)->buf_bytes);
	for (size_t i = 0; i < rd->nstreams; i++)
		n += rd->streams[i].cap * sizeof(uint32_t);
	for (int i = 0; i < LRU_SLOTS; i++)
		n += rd->lru[i].ev ? LRU_WINDOW * sizeof(rav_event) : 0;
	for (const retired *r = rd->retired; r; r = r->next)
		n += sizeof *r; /* published tables: small, counted by their headers */
	for (const retired *r = rd->iblocks; r; r = r->next)
		n += 65536;
	return n;
}

bool rav_trace_stream_ended(const rav_trace *t)
{
	return t->rd->is_stream && t->rd->stream_eof;
}

static void free_retired(retired *r)
{
	while (r) {
		retired *n = r->next;
		free(r);
		r = n;
	}
}

void rav_trace_close(rav_trace *t)
{
	if (!t)
		return;
	struct rav_trace_reader *rd = t->rd;
	if (t->replay)
		_rav_replay_free(t);
	if (rd) {
		if (rd->mapped)
			munmap((void *)rd->data, rd->size);
		free(rd->sbuf);
		for (size_t i = 0; i < rd->nstreams; i++)
			free(rd->streams[i].chunks);
		free(rd->streams);
		free(rd->chunks);
		free(rd->runs);
		tdec_free(rd->lru_dec);
		for (int i = 0; i < LRU_SLOTS; i++)
			free(rd->lru[i].ev);
		free_retired(rd->retired);
		free(rd->itab);
		free_retired(rd->iblocks);
		pthread_mutex_destroy(&rd->lock);
		pthread_mutex_destroy(&rd->intern_lock);
		free(rd);
	}
	free(t);
}

void rav_trace_get_info(const rav_trace *t, rav_trace_info *out)
{
	/* The indexer may be finishing on another thread. */
	struct rav_trace_reader *rd = t->rd;
	pthread_mutex_lock(&rd->lock);
	*out = t->info;
	out->file_size = rd->size;
	out->chunks = rd->nchunks;
	out->events = rd->index_done ? atomic_load(&rd->indexed) : rd->total_events;
	pthread_mutex_unlock(&rd->lock);
}

uint64_t rav_trace_indexed_events(const rav_trace *t)
{
	return atomic_load_explicit(&t->rd->indexed, memory_order_acquire);
}

/* ---- Published tables ------------------------------------------------------ */

/* Grow a published array: copy into a larger block, keep the old one. */
static void *grow_published(struct rav_trace_reader *rd, void *old, size_t *cap, size_t elem, size_t used)
{
	size_t ncap = *cap ? *cap * 2 : 16;
	retired *blk = malloc(sizeof(retired) + ncap * elem);
	if (!blk)
		return NULL;
	void *arr = blk + 1;
	if (used)
		memcpy(arr, old, used * elem);
	blk->next = rd->retired;
	rd->retired = blk;
	*cap = ncap;
	return arr;
}

static rav_trace_thread *thread_entry(struct rav_trace_reader *rd, uint32_t id, bool create)
{
	unsigned n = atomic_load_explicit(&rd->nthreads, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		if (rd->threads[i].heap_id == id)
			return &rd->threads[i];
	}
	if (!create)
		return NULL;
	if (n == rd->cap_threads) {
		void *arr = grow_published(rd, rd->threads, &rd->cap_threads, sizeof *rd->threads, n);
		if (!arr)
			return NULL;
		rd->threads = arr;
	}
	rav_trace_thread *th = &rd->threads[n];
	memset(th, 0, sizeof *th);
	th->heap_id = id;
	th->first_event = UINT64_MAX;
	atomic_store_explicit(&rd->nthreads, n + 1, memory_order_release);
	return th;
}

/* The kinds note_event looks at (threads, types, marks). */
#define NOTED_KINDS                                                                                         \
	((1ull << RAV_EV_HEAP_NEW) | (1ull << RAV_EV_THREAD_NAME) | (1ull << RAV_EV_HEAP_END) |             \
	 (1ull << RAV_EV_MSG_SEND) | (1ull << RAV_EV_MSG_RECV) | (1ull << RAV_EV_MSG_BUILD) |                \
	 (1ull << RAV_EV_TYPE_DEF) | (1ull << RAV_EV_MARK))

static void note_event(struct rav_trace_reader *rd, const rav_event *ev)
{
	rav_trace_thread *th;
	switch (ev->kind) {
	case RAV_EV_HEAP_NEW:
		pthread_mutex_lock(&rd->lock);
		th = thread_entry(rd, ev->x, true);
		if (th) {
			th->kind = (uint8_t)ev->aux;
			th->parent = (uint32_t)ev->a;
			if (th->first_event == UINT64_MAX || ev->index < th->first_event)
				th->first_event = ev->index;
			if (ev->index > th->last_event)
				th->last_event = ev->index;
		}
		pthread_mutex_unlock(&rd->lock);
		break;
	case RAV_EV_THREAD_NAME:
		pthread_mutex_lock(&rd->lock);
		th = thread_entry(rd, ev->x, true);
		if (th && ev->text)
			snprintf(th->name, sizeof th->name, "%s", ev->text);
		pthread_mutex_unlock(&rd->lock);
		break;
	case RAV_EV_HEAP_END:
	case RAV_EV_MSG_SEND:
	case RAV_EV_MSG_RECV:
	case RAV_EV_MSG_BUILD:
		pthread_mutex_lock(&rd->lock);
		th = thread_entry(rd, ev->x, false);
		if (th && th->kind == RAV_HEAP_MESSAGE && ev->index > th->last_event)
			th->last_event = ev->index;
		pthread_mutex_unlock(&rd->lock);
		break;
	case RAV_EV_TYPE_DEF: {
		pthread_mutex_lock(&rd->lock);
		unsigned n = atomic_load_explicit(&rd->ntypes, memory_order_relaxed);
		rav_trace_type *ty = NULL;
		for (unsigned i = 0; i < n; i++) {
			if (rd->types[i].id == ev->aux)
				ty = &rd->types[i];
		}
		if (!ty) {
			if (n == rd->cap_types) {
				void *arr = grow_published(rd, rd->types, &rd->cap_types, sizeof *rd->types, n);
				if (arr)
					rd->types = arr;
			}
			if (n < rd->cap_types) {
				ty = &rd->types[n];
				memset(ty, 0, sizeof *ty);
				ty->id = (uint16_t)ev->aux;
				atomic_store_explicit(&rd->ntypes, n + 1, memory_order_release);
			}
		}
		if (ty) {
			ty->field_is_ref[0] = ev->x & 1;
			ty->field_is_ref[1] = (ev->x >> 1) & 1;
			snprintf(ty->name, sizeof ty->name, "%s", ev->text ? ev->text : "");
		}
		pthread_mutex_unlock(&rd->lock);
		break;
	}
	case RAV_EV_MARK: {
		pthread_mutex_lock(&rd->lock);
		unsigned n = atomic_load_explicit(&rd->nmarks, memory_order_relaxed);
		if (n == rd->cap_marks) {
			void *arr = grow_published(rd, rd->marks, &rd->cap_marks, sizeof *rd->marks, n);
			if (arr)
				rd->marks = arr;
		}
		if (n < rd->cap_marks) {
			rd->marks[n] = (rav_trace_mark){ ev->index, ev->thread, ev->text ? ev->text : "" };
			atomic_store_explicit(&rd->nmarks, n + 1, memory_order_release);
		}
		pthread_mutex_unlock(&rd->lock);
		break;
	}
	default:
		break;
	}
}

unsigned rav_trace_thread_count(const rav_trace *t)
{
	return atomic_load_explicit(&t->rd->nthreads, memory_order_acquire);
}

const rav_trace_thread *rav_trace_thread_at(const rav_trace *t, unsigned i)
{
	if (i >= rav_trace_thread_count(t))
		return NULL;
	pthread_mutex_lock(&t->rd->lock);
	const rav_trace_thread *th = &t->rd->threads[i];
	pthread_mutex_unlock(&t->rd->lock);
	return th;
}

const rav_trace_thread *rav_trace_thread_by_id(const rav_trace *t, uint32_t heap_id)
{
	pthread_mutex_lock(&t->rd->lock);
	const rav_trace_thread *th = thread_entry(t->rd, heap_id, false);
	pthread_mutex_unlock(&t->rd->lock);
	return th;
}

unsigned rav_trace_type_count(const rav_trace *t)
{
	return atomic_load_explicit(&t->rd->ntypes, memory_order_acquire);
}

const rav_trace_type *rav_trace_type_at(const rav_trace *t, unsigned i)
{
	if (i >= rav_trace_type_count(t))
		return NULL;
	pthread_mutex_lock(&t->rd->lock);
	const rav_trace_type *ty = &t->rd->types[i];
	pthread_mutex_unlock(&t->rd->lock);
	return ty;
}

const rav_trace_type *rav_trace_type_by_id(const rav_trace *t, uint16_t id)
{
	const rav_trace_type *found = NULL;
	pthread_mutex_lock(&t->rd->lock);
	unsigned n = atomic_load_explicit(&t->rd->ntypes, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		if (t->rd->types[i].id == id)
			found = &t->rd->types[i];
	}
	pthread_mutex_unlock(&t->rd->lock);
	return found;
}

unsigned rav_trace_mark_count(const rav_trace *t)
{
	return atomic_load_explicit(&t->rd->nmarks, memory_order_acquire);
}

const rav_trace_mark *rav_trace_mark_at(const rav_trace *t, unsigned i)
{
	if (i >= rav_trace_mark_count(t))
		return NULL;
	pthread_mutex_lock(&t->rd->lock);
	const rav_trace_mark *m = &t->rd->marks[i];
	pthread_mutex_unlock(&t->rd->lock);
	return m;
}

/* ---- Indexing: merge threads into one order ------------------------------ */

typedef struct hentry {
	uint64_t key;   /* tsc (ready heap) or seq (waiting heap) */
	uint32_t s;     /* stream */
} hentry;

typedef struct heap {
	hentry *e;
	size_t n;
} heap;

static inline bool hless(hentry a, hentry b)
{
	return a.key < b.key || (a.key == b.key && a.s < b.s);
}

static void heap_push(heap *h, hentry v)
{
	size_t i = h->n++;
	while (i) {
		size_t p = (i - 1) / 2;
		if (!hless(v, h->e[p]))
			break;
		h->e[i] = h->e[p];
		i = p;
	}
	h->e[i] = v;
}

static hentry heap_pop(heap *h)
{
	hentry top = h->e[0], v = h->e[--h->n];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		hentry best = v;
		if (l < h->n && hless(h->e[l], best))
			m = l, best = h->e[l];
		if (l + 1 < h->n && hless(h->e[l + 1], best))
			m = l + 1, best = h->e[l + 1];
		if (m == i)
			break;
		h->e[i] = h->e[m];
		i = m;
	}
	if (h->n)
		h->e[i] = v;
	return top;
}

/* Events go to the replay model in batches: one call per batch keeps the
 * hand-over cost off the per-event path. */
#define INDEX_BATCH 128

typedef struct indexer {
	rav_trace *t;
	struct rav_trace_reader *rd;
	run pending[256];
	size_t npending;
	uint64_t g;           /* next global index */
	size_t nbatch;
	rav_event batch[INDEX_BATCH];
} indexer;

static void flush_batch(indexer *ix)
{
	if (ix->nbatch) {
		_rav_replay_index_events(ix->t, ix->batch, ix->nbatch);
		ix->nbatch = 0;
	}
}

static bool publish(indexer *ix)
{
	struct rav_trace_reader *rd = ix->rd;
	pthread_mutex_lock(&rd->lock);
	if (rd->nruns + ix->npending > rd->cap_runs) {
		size_t cap = rd->cap_runs ? rd->cap_runs * 2 : 1024;
		while (cap < rd->nruns + ix->npending)
			cap *= 2;
		run *r = realloc(rd->runs, cap * sizeof *r);
		if (!r) {
			pthread_mutex_unlock(&rd->lock);
			return false;
		}
		rd->runs = r;
		rd->cap_runs = cap;
	}
	size_t start = 0;
	/* Join with the last published run when it continues it. */
	if (ix->npending && rd->nruns) {
		run *last = &rd->runs[rd->nruns - 1];
		run *p = &ix->pending[0];
		if (last->stream == p->stream && last->gstart + last->len == p->gstart &&
		    last->ordinal + last->len == p->ordinal && (uint64_t)last->len + p->len <= UINT32_MAX) {
			last->len += p->len;
			start = 1;
		}
	}
	if (ix->npending > start) /* both pointers may be NULL when nothing is pending (UBSan) */
		memcpy(rd->runs + rd->nruns, ix->pending + start, (ix->npending - start) * sizeof(run));
	rd->nruns += ix->npending - start;
	for (size_t i = 0; i < rd->nstreams; i++) {
		stream *s = &rd->streams[i];
		if (!s->dirty)
			continue;
		s->dirty = false;
		rav_trace_thread *th = s->tix >= 0 ? &rd->threads[s->tix] : thread_entry(rd, s->id, true);
		if (th) {
			s->tix = th - rd->threads;
			if (s->first_event < th->first_event)
				th->first_event = s->first_event;
			if (s->last_event > th->last_event)
				th->last_event = s->last_event;
		}
	}
	atomic_store_explicit(&rd->indexed, ix->g, memory_order_release);
	pthread_mutex_unlock(&rd->lock);
	ix->npending = 0;
	return true;
}

static bool add_run(indexer *ix, uint32_t s, uint64_t ordinal, uint32_t len)
{
	if (ix->npending) {
		run *last = &ix->pending[ix->npending - 1];
		if (last->stream == s && last->ordinal + last->len == ordinal && (uint64_t)last->len + len <= UINT32_MAX) {
			last->len += len;
			return true;
		}
	}
	if (ix->npending == sizeof ix->pending / sizeof ix->pending[0] && !publish(ix))
		return false;
	ix->pending[ix->npending++] = (run){ ix->g, ordinal, s, len };
	return true;
}

static void reset_index(struct rav_trace_reader *rd)
{
	pthread_mutex_lock(&rd->lock);
	rd->nruns = 0;
	rd->hint_run = 0;
	atomic_store(&rd->indexed, 0);
	rd->index_done = false;
	atomic_store(&rd->nthreads, 0);
	atomic_store(&rd->ntypes, 0);
	atomic_store(&rd->nmarks, 0);
	for (size_t i = 0; i < rd->nstreams; i++) {
		rd->streams[i].seen = false;
		rd->streams[i].dirty = false;
		rd->streams[i].tix = -1;
		rd->streams[i].first_event = UINT64_MAX;
		rd->streams[i].last_event = 0;
	}
	pthread_mutex_unlock(&rd->lock);
}

int rav_trace_index(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err)
{
	struct rav_trace_reader *rd = t->rd;
	clear_err(err);
	if (rd->index_done && atomic_load(&rd->indexed) == rd->total_events)
		return 0;
	reset_index(rd);
	rd->indexing = true;
	_rav_replay_index_begin(t);

	size_t ns = rd->nstreams;
	tdec **td = calloc(ns ? ns : 1, sizeof *td);
	heap ready = { calloc(ns ? ns : 1, sizeof(hentry)), 0 };
	heap waiting = { calloc(ns ? ns : 1, sizeof(hentry)), 0 };
	indexer *ix = calloc(1, sizeof *ix);
	ZSTD_DCtx *dctx = NULL;
	int rc = -1;
	if (!td || !ready.e || !waiting.e || !ix) {
		set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
		goto out;
	}
	ix->t = t;
	ix->rd = rd;
	dctx = ZSTD_createDCtx();
	if (!dctx) {
		set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
		goto out;
	}

	/* Every stream starts with its first segment of its first chunk. */
	for (size_t i = 0; i < ns; i++) {
		td[i] = tdec_new(rd, (uint32_t)i, dctx);
		if (!td[i]) {
			set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
			goto out;
		}
		if (rd->streams[i].nchunks == 0)
			continue;
		if (!tdec_load(td[i], 0)) {
			decode_error(rd, td[i], err);
			goto out;
		}
		heap_push(&ready, (hentry){ td[i]->seg_tsc, (uint32_t)i });
	}
	/* Ready: streams whose head segment may go now, keyed by TSC.  Waiting:
	 * streams whose head is an ordering event with a sequence number not
	 * reached yet, keyed by that number. */
	/* Sequence numbers start wherever the engine's counter was; begin at
	 * the smallest one in the streams' first chunks. */
	uint64_t expected = UINT64_MAX;
	for (size_t i = 0; i < ns; i++) {
		uint64_t m;
		if (td[i]->ci >= 0 && tdec_min_seq(td[i], &m) && m < expected)
			expected = m;
	}
	if (expected == UINT64_MAX)
		expected = 0;
	uint64_t next_progress = 1u << 20;
	for (;;) {
		if (ready.n == 0) {
			if (waiting.n == 0)
				break;
			hentry w = heap_pop(&waiting);
			/* A gap in the numbers (lost events): continue with the smallest. */
			expected = w.key;
			heap_push(&ready, (hentry){ td[w.s]->seg_tsc, w.s });
		}
		hentry h = heap_pop(&ready);
		uint32_t s = h.s;
		tdec *d = td[s];
		stream *st = &rd->streams[s];
		for (;;) {
			if (d->seg_has_seq) {
				if (d->seg_seq > expected) {
					heap_push(&waiting, (hentry){ d->seg_seq, s });
					break;
				}
				if (d->seg_seq + 1 > expected)
					expected = d->seg_seq + 1;
				while (waiting.n && waiting.e[0].key <= expected) {
					hentry w = heap_pop(&waiting);
					heap_push(&ready, (hentry){ td[w.s]->seg_tsc, w.s });
				}
			}
			uint32_t n = d->seg_left;
			if (!add_run(ix, s, d->ordinal, n)) {
				set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
				goto out;
			}
			if (!st->seen) {
				st->seen = true;
				st->first_event = ix->g;
			}
			/* g and nb in locals: the decoder's stores into the batch
			 * (inside *ix) would otherwise make them reload each event */
			uint64_t g = ix->g;
			size_t nb = ix->nbatch;
			for (uint32_t k = 0; k < n; k++) {
				rav_event *ev = &ix->batch[nb];
				if (!tdec_event(d, ev, true)) {
					ix->g = g;
					ix->nbatch = nb;
					/* Keep the runs consistent with what was delivered. */
					ix->pending[ix->npending - 1].len -= n - k;
					if (ix->pending[ix->npending - 1].len == 0)
						ix->npending--;
					publish(ix);
					decode_error(rd, d, err);
					goto out;
				}
				ev->index = g++;
				if (ev->kind < 64 && (NOTED_KINDS >> ev->kind) & 1)
					note_event(rd, ev);
				if (++nb == INDEX_BATCH) {
					ix->nbatch = nb;
					flush_batch(ix);
					nb = 0;
				}
			}
			ix->g = g;
			ix->nbatch = nb;
			st->last_event = ix->g - 1;
			st->dirty = true;
			/* Next segment: in this chunk, or the first of the next chunk. */
			bool more;
			if (d->left == 0) {
				if ((size_t)(d->ci + 1) < st->nchunks) {
					if (!tdec_load(d, d->ci + 1)) {
						publish(ix);
						decode_error(rd, d, err);
						goto out;
					}
					more = true;
				} else {
					more = false;
				}
			} else {
				more = tdec_next_segment(d);
				if (!more) {
					publish(ix);
					decode_error(rd, d, err);
					goto out;
				}
			}
			if (ix->g >= next_progress) {
				next_progress = ix->g + (1u << 20);
				flush_batch(ix);
				if (!publish(ix)) {
					set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
					goto out;
				}
				if (progress && !progress(ix->g, rd->total_events, user)) {
					set_err(err, RAV_TRACE_ECANCELLED, 0, -1, "indexing cancelled after %llu events",
						(unsigned long long)ix->g);
					goto out;
				}
			}
			if (!more)
				break;
			if (ready.n && hless(ready.e[0], (hentry){ d->seg_tsc, s })) {
				heap_push(&ready, (hentry){ d->seg_tsc, s });
				break;
			}
		}
	}
	if (!publish(ix)) {
		set_err(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory while indexing");
		goto out;
	}
	rc = 0;
out:
	if (ix)
		flush_batch(ix);
	_rav_replay_index_end(t);
	if (rc == 0) {
		pthread_mutex_lock(&rd->lock);
		rd->index_done = true;
		t->info.events = ix->g;
		pthread_mutex_unlock(&rd->lock);
		/* The wall-clock end: the last event's time. */
		rav_event last;
		if (ix->g && rav_trace_event_at(t, ix->g - 1, &last) && t->info.start_ns) {
			pthread_mutex_lock(&rd->lock);
			t->info.end_ns = t->info.start_ns + last.time_ns;
			pthread_mutex_unlock(&rd->lock);
		}
		if (progress)
			progress(ix->g, ix->g, user);
	}
	rd->indexing = false;
	if (td) {
		for (size_t i = 0; i < ns; i++)
			tdec_free(td[i]);
	}
	free(td);
	free(ready.e);
	free(waiting.e);
	free(ix);
	ZSTD_freeDCtx(dctx);
	return rc;
}

/* ---- Random access ------------------------------------------------------- */

/* Run holding global index i (lock held). */
static bool find_run_locked(struct rav_trace_reader *rd, uint64_t i, run *out)
{
	if (i >= atomic_load_explicit(&rd->indexed, memory_order_acquire) || rd->nruns == 0)
		return false;
	size_t h = rd->hint_run;
	if (h < rd->nruns && rd->runs[h].gstart <= i && i < rd->runs[h].gstart + rd->runs[h].len) {
		*out = rd->runs[h];
		return true;
	}
	if (h + 1 < rd->nruns && rd->runs[h + 1].gstart <= i && i < rd->runs[h + 1].gstart + rd->runs[h + 1].len) {
		rd->hint_run = h + 1;
		*out = rd->runs[h + 1];
		return true;
	}
	size_t lo = 0, hi = rd->nruns;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rd->runs[mid].gstart <= i)
			lo = mid;
		else
			hi = mid;
	}
	if (i >= rd->runs[lo].gstart + rd->runs[lo].len)
		return false;
	rd->hint_run = lo;
	*out = rd->runs[lo];
	return true;
}

static size_t chunk_of(const struct rav_trace_reader *rd, const stream *s, uint64_t ord)
{
	size_t lo = 0, hi = s->nchunks;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (rd->chunks[s->chunks[mid]].first <= ord)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Decoded events through the LRU (lock held).  A slot holds a window of
 * LRU_WINDOW events of one chunk, so its size does not depend on what a
 * chunk claims to hold; the LRU's decoder stays where it stopped, so
 * consecutive windows of a chunk decode it once. */
static const lru_slot *lru_get(struct rav_trace_reader *rd, uint32_t si, size_t ci, uint64_t ord)
{
	int64_t cno = rd->streams[si].chunks[ci];
	const chunk *c = &rd->chunks[cno];
	uint64_t w0 = c->first + (ord - c->first) / LRU_WINDOW * LRU_WINDOW;
	lru_slot *victim = &rd->lru[0];
	for (int i = 0; i < LRU_SLOTS; i++) {
		if (rd->lru[i].chunk == cno && rd->lru[i].w0 == w0) {
			rd->lru[i].stamp = ++rd->lru_clock;
			return &rd->lru[i];
		}
		if (rd->lru[i].stamp < victim->stamp)
			victim = &rd->lru[i];
	}
	if (!victim->ev) {
		victim->ev = malloc(LRU_WINDOW * sizeof *victim->ev);
		if (!victim->ev)
			return NULL;
	}
	tdec *d = rd->lru_dec;
	if (!d) {
		d = rd->lru_dec = tdec_new(rd, si, NULL);
		if (!d)
			return NULL;
	}
	victim->chunk = -1;
	if (rd->hint_slot == victim)
		rd->hint_slot = NULL;
	if (d->stream != si || d->ci != (int64_t)ci || d->ordinal > w0) {
		d->stream = si;
		d->tid = rd->streams[si].id;
		if (!tdec_load(d, (int64_t)ci))
			d->ci = -1;
	}
	/* A damaged chunk keeps the events before the damage: indexing
	 * delivered those, so random access must serve them too. */
	victim->n = 0;
	rav_event skip;
	while (d->ci >= 0 && d->ordinal < w0) {
		if (!tdec_event(d, &skip, false)) {
			d->ci = -1;
			break;
		}
	}
	while (d->ci >= 0 && victim->n < LRU_WINDOW && d->left > 0) {
		if (!tdec_event(d, &victim->ev[victim->n], true)) {
			d->ci = -1;
			break;
		}
		victim->n++;
	}
	victim->chunk = cno;
	victim->w0 = w0;
	victim->stamp = ++rd->lru_clock;
	return victim;
}

static bool fetch_locked(struct rav_trace_reader *rd, uint64_t index, rav_event *out, run *r)
{
	if (!find_run_locked(rd, index, r))
		return false;
	uint64_t ord = r->ordinal + (index - r->gstart);
	const lru_slot *slot = rd->hint_slot;
	if (!(slot && slot->chunk >= 0 && rd->hint_stream == r->stream && ord >= slot->w0 && ord - slot->w0 < slot->n)) {
		const stream *s = &rd->streams[r->stream];
		slot = lru_get(rd, r->stream, chunk_of(rd, s, ord), ord);
		rd->hint_slot = slot;
		rd->hint_stream = r->stream;
		if (!slot || ord - slot->w0 >= slot->n)
			return false;
	}
	*out = slot->ev[ord - slot->w0];
	out->index = index;
	return true;
}

bool rav_trace_event_at(rav_trace *t, uint64_t index, rav_event *out)
{
	struct rav_trace_reader *rd = t->rd;
	run r;
	pthread_mutex_lock(&rd->lock);
	bool ok = fetch_locked(rd, index, out, &r);
	pthread_mutex_unlock(&rd->lock);
	return ok;
}

/* ---- Filters and iteration ----------------------------------------------- */

static bool filter_match(const rav_event_filter *f, const rav_event *ev)
{
	if (f->kinds && (ev->kind >= 64 || !(f->kinds & ((uint64_t)1 << ev->kind))))
		return false;
	if (f->thread >= 0 && ev->thread != (uint64_t)f->thread)
		return false;
	if (f->cell) {
		uint64_t want = f->cell & ~(uint64_t)3;
		unsigned m = ravt_shape_addr_mask(ravt_shape_of(ev->kind));
		bool hit = ((m & 1) && !(ev->a & RAV_LOC_EXTERNAL) && (ev->a & ~(uint64_t)3) == want) ||
			   ((m & 2) && !(ev->b & RAV_LOC_EXTERNAL) && (ev->b & ~(uint64_t)3) == want) ||
			   ((m & 4) && !(ev->c & RAV_LOC_EXTERNAL) && (ev->c & ~(uint64_t)3) == want);
		if (!hit)
			return false;
	}
	return true;
}

void rav_event_iter_init(rav_event_iter *it, rav_trace *t, const rav_event_filter *filter)
{
	memset(it, 0, sizeof *it);
	it->trace = t;
	if (filter) {
		it->filter = *filter;
	} else {
		it->filter.thread = -1;
	}
	it->next = it->filter.from;
}

/* Scan [from, to) forward (step 1) or (to, from] backward (step -1) for
 * the first match; -1 if none. */
static int64_t scan(rav_trace *t, uint64_t from, uint64_t to, int dir, const rav_event_filter *f, rav_event *out)
{
	struct rav_trace_reader *rd = t->rd;
	rav_event ev;
	run r;
	uint64_t i = from;
	pthread_mutex_lock(&rd->lock);
	int64_t found = -1;
	unsigned budget = 0;
	while (dir > 0 ? i < to : i > to) {
		uint64_t idx = dir > 0 ? i : i - 1;
		if (!fetch_locked(rd, idx, &ev, &r))
			break;
		if (f->thread >= 0 && rd->streams[r.stream].id != (uint64_t)f->thread) {
			/* Skip the rest of this run: none of it can match. */
			i = dir > 0 ? r.gstart + r.len : r.gstart;
			continue;
		}
		if (filter_match(f, &ev)) {
			found = (int64_t)idx;
			if (out)
				*out = ev;
			break;
		}
		i = dir > 0 ? i + 1 : i - 1;
		if (++budget == 4096) {
			/* Let other users of the trace in now and then. */
			budget = 0;
			pthread_mutex_unlock(&rd->lock);
			pthread_mutex_lock(&rd->lock);
		}
	}
	pthread_mutex_unlock(&rd->lock);
	return found;
}

static uint64_t range_end(rav_trace *t, const rav_event_filter *f)
{
	uint64_t n = rav_trace_indexed_events(t);
	return f->to && f->to < n ? f->to : n;
}

bool rav_event_iter_next(rav_event_iter *it, rav_event *out)
{
	uint64_t end = range_end(it->trace, &it->filter);
	if (it->next >= end)
		return false;
	int64_t i = scan(it->trace, it->next, end, 1, &it->filter, out);
	if (i < 0) {
		it->next = end;
		return false;
	}
	it->next = (uint64_t)i + 1;
	return true;
}

int64_t rav_trace_find_next(rav_trace *t, uint64_t from, const rav_event_filter *filter)
{
	rav_event_filter all = { .thread = -1 };
	const rav_event_filter *f = filter ? filter : &all;
	uint64_t end = range_end(t, f);
	if (from < f->from)
		from = f->from;
	if (from >= end)
		return -1;
	return scan(t, from, end, 1, f, NULL);
}

int64_t rav_trace_find_prev(rav_trace *t, uint64_t from, const rav_event_filter *filter)
{
	rav_event_filter all = { .thread = -1 };
	const rav_event_filter *f = filter ? filter : &all;
	uint64_t end = range_end(t, f);
	if (from > end)
		from = end;
	if (from <= f->from)
		return -1;
	return scan(t, from, f->from, -1, f, NULL);
}

/* ---- Cursor ---------------------------------------------------------------- */

typedef struct cursor_priv {
	ZSTD_DCtx *dctx;
	tdec **td;
	size_t ntd;
	run batch[RUN_BATCH];
	size_t nbatch, bi;
	uint64_t run_pos;   /* events of batch[bi] already delivered */
	/* Fast path: the decoder serving the current run, how many more events
	 * it may give without looking at runs, and the indexed count seen. */
	tdec *fast;
	uint64_t fast_left, limit;
} cursor_priv;

void _rav_trace_cursor_init(rav_trace *t, uint64_t from, rav_trace_cursor *cur)
{
	memset(cur, 0, sizeof *cur);
	cur->trace = t;
	cur->next = from;
	cur->error.chunk = -1;
	cursor_priv *p = calloc(1, sizeof *p);
	if (p) {
		p->ntd = t->rd->nstreams;
		p->td = calloc(p->ntd ? p->ntd : 1, sizeof *p->td);
		p->dctx = ZSTD_createDCtx();
		if (!p->td || !p->dctx) {
			free(p->td);
			ZSTD_freeDCtx(p->dctx);
			free(p);
			p = NULL;
		}
	}
	if (!p) {
		cur->failed = true;
		set_err(&cur->error, RAV_TRACE_ENOMEM, 0, -1, "out of memory for a trace cursor");
	}
	cur->priv = p;
}

/* Copy the runs from the one holding cur->next on into the batch. */
static bool cursor_refill(rav_trace_cursor *cur, cursor_priv *p)
{
	struct rav_trace_reader *rd = cur->trace->rd;
	pthread_mutex_lock(&rd->lock);
	run r;
	bool ok = find_run_locked(rd, cur->next, &r);
	if (ok) {
		size_t k = rd->hint_run, n = 0;
		while (k < rd->nruns && n < RUN_BATCH)
			p->batch[n++] = rd->runs[k++];
		p->nbatch = n;
		p->bi = 0;
		p->run_pos = cur->next - p->batch[0].gstart;
	}
	pthread_mutex_unlock(&rd->lock);
	return ok;
}

bool _rav_trace_cursor_next(rav_trace_cursor *cur, rav_event *ev)
{
	cursor_priv *p = cur->priv;
	if (__builtin_expect(p && p->fast_left && p->fast->left && cur->next < p->limit, 1)) {
		if (tdec_event(p->fast, ev, true)) {
			ev->index = cur->next++;
			p->run_pos++;
			p->fast_left--;
			return true;
		}
		cur->failed = true;
		p->fast_left = 0;
		decode_error(cur->trace->rd, p->fast, &cur->error);
		return false;
	}
	if (!p || cur->failed)
		return false;
	struct rav_trace_reader *rd = cur->trace->rd;
	p->fast_left = 0;
	p->limit = atomic_load_explicit(&rd->indexed, memory_order_acquire);
	if (cur->next >= p->limit)
		return false;
	if (p->bi >= p->nbatch || p->run_pos >= p->batch[p->bi].len) {
		if (p->bi < p->nbatch)
			p->bi++;
		p->run_pos = 0;
		if (p->bi >= p->nbatch || p->batch[p->bi].gstart != cur->next) {
			if (!cursor_refill(cur, p))
				return false;
		}
	}
	const run *r = &p->batch[p->bi];
	if (r->stream >= p->ntd)
		return false;
	tdec *d = p->td[r->stream];
	if (!d) {
		d = p->td[r->stream] = tdec_new(rd, r->stream, p->dctx);
		if (!d) {
			cur->failed = true;
			set_err(&cur->error, RAV_TRACE_ENOMEM, 0, -1, "out of memory for a trace cursor");
			return false;
		}
	}
	uint64_t ord = r->ordinal + p->run_pos;
	if (d->ci < 0 || d->ordinal != ord) {
		if (!tdec_seek(d, ord)) {
			cur->failed = true;
			decode_error(rd, d, &cur->error);
			return false;
		}
	}
	if (!tdec_stream_event(d, ev)) {
		cur->failed = true;
		decode_error(rd, d, &cur->error);
		return false;
	}
	ev->index = cur->next++;
	p->run_pos++;
	p->fast = d;
	p->fast_left = r->len - p->run_pos;
	return true;
}

void _rav_trace_cursor_fini(rav_trace_cursor *cur)
{
	cursor_priv *p = cur->priv;
	if (p) {
		for (size_t i = 0; i < p->ntd; i++)
			tdec_free(p->td[i]);
		free(p->td);
		ZSTD_freeDCtx(p->dctx);
		free(p);
	}
	cur->priv = NULL;
}
