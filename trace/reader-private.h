/* reader-private.h - the reader's own structures, shared by its files:
 *
 *   reader.c          lifetime: open (file, memory, stream spool), poll, close, info, texts
 *   reader-framing.c  header and chunk frames: validation, the chunk table, the trailer
 *   reader-decode.c   one thread's events out of its chunks (reader-decode.h)
 *   reader-merge.c    the global order, incrementally, delivered to sinks
 *   reader-access.c   runs, random access through a decoded-window cache, filtered scans
 *   reader-cursor.c   sequential cursors
 *   reader-guard.c    surviving a mapped file that shrinks under us (SIGBUS)
 *
 * Locking: `lock` guards the chunk and stream tables (appended to while a
 * stream is polled), the runs, the random-access cache and what
 * ravt_reader_get_info reports.  The thread that polls and merges is their
 * only writer, so it reads them without the lock; other threads take it.
 * The mapped bytes never move.
 */
#ifndef RAVT_READER_PRIVATE_H
#define RAVT_READER_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "budget.h"
#include "format.h"
#include "reader.h"

#ifdef RAVT_FUZZING
/* The fuzz targets' copy of the reader accepts wrong checksums, so that
 * mutated inputs reach the decoder instead of stopping at the CRC. */
#define RAVT_VERIFY_CRC 0
#else
#define RAVT_VERIFY_CRC 1
#endif

#define RAVT_LRU_SLOTS 8
#define RAVT_LRU_WINDOW 4096

typedef struct ravt_chunk {
	uint64_t offset; /* frame offset */
	uint64_t first;  /* ordinal of its first event in its thread's stream */
	uint32_t stored, raw, count;
	uint32_t stream; /* index into rd->streams */
	uint32_t no;     /* position among all chunks of the file (error messages) */
	uint32_t crc;    /* payload checksum from the frame */
	uint16_t flags;
	bool verified; /* payload checksum checked (before the first decode) */
} ravt_chunk;

typedef struct ravt_stream {
	uint32_t id;      /* heap id of the recording thread */
	uint32_t *chunks; /* indices into rd->chunks, in stream order */
	size_t nchunks, cap;
	uint64_t events;
} ravt_stream;

typedef struct ravt_run {
	uint64_t gstart;  /* global index of the run's first event */
	uint64_t ordinal; /* stream ordinal of that event */
	uint32_t stream, len;
} ravt_run;

typedef struct ravt_lru_slot {
	int64_t chunk; /* index into rd->chunks; -1 empty */
	uint64_t stamp;
	uint64_t w0;   /* stream ordinal of ev[0] */
	rav_event *ev; /* RAVT_LRU_WINDOW entries */
	uint32_t n;    /* events decoded: fewer at a chunk's end or damage */
} ravt_lru_slot;

typedef struct ravt_block {
	struct ravt_block *next;
} ravt_block;

typedef struct ravt_dec ravt_dec;
typedef struct ravt_merge ravt_merge;

struct ravt_reader {
	const uint8_t *data; /* the trace bytes: mapped file, caller's memory, or stream spool */
	size_t size;         /* bytes present (a stream: received so far) */
	bool mapped;         /* data is our mapping of `map_len` bytes */
	size_t map_len;
	bool guard_map;            /* a file others may change: read it under a guard (reader-guard.c) */
	int file_fd;               /* that file (to say what it became), -1 */
	int64_t file_mtime_ns;     /* its modification time when opened */
	_Atomic bool changed_flag; /* a guard caught SIGBUS: the mapping is no longer read */
	int fd;                    /* stream being read, -1 */
	int spool_fd;              /* stream: the unlinked file the bytes are kept in, -1 */
	bool is_stream, stream_eof;
	uint64_t parse_pos; /* first byte not framed yet */

	ravt_header hdr;
	unsigned word_shift, wpp_shift;
	uint64_t wpp_mask;
	double ns_per_tick;
	rav_trace_info info; /* header part of rav_trace_info */

	pthread_mutex_t lock;
	ravt_chunk *chunks;
	size_t nchunks, cap_chunks;
	ravt_stream *streams;
	size_t nstreams, cap_streams;
	uint32_t *smap; /* open addressing: thread id -> stream index + 1 */
	size_t smap_cap;
	uint64_t total_events;
	uint64_t skipped_chunks;
	bool complete; /* trailer seen */
	bool truncated;
	/* what the reader and the trace's consumers hold, against the trace's
	 * memory limit (budget.h); decoder buffers are part of it */
	ravt_budget budget;
	_Atomic uint64_t buf_bytes;

	ravt_run *runs;
	size_t nruns, cap_runs;
	_Atomic uint64_t merged; /* events in published runs */
	_Atomic bool merge_final;
	size_t hint_run;
	const ravt_lru_slot *hint_slot; /* window of the last random access */
	uint32_t hint_stream;
	ravt_dec *lru_dec;
	ravt_lru_slot lru[RAVT_LRU_SLOTS];
	uint64_t lru_clock;

	ravt_merge *merge; /* merge state kept between calls (reader-merge.c) */
	ravt_reader_work work;
	bool merge_failed; /* and merge_err: the merge's copy for other threads */
	rav_trace_error merge_err;

	/* Snapshot pieces and live session records (reader-snapshot.c) */
	struct ravt_piece_entry **pieces; /* each allocated once: pieces handed out stay put */
	size_t npieces, cap_pieces;
	uint32_t *pmap; /* open addressing: piece id -> index + 1 */
	size_t pmap_cap;
	uint64_t seq_floor; /* sequence numbers below it that have not come never will (live streams) */
	rav_trace_session session;

	pthread_mutex_t intern_lock;
	char **itab; /* open addressing */
	size_t icap, icount;
	char *iblock;
	size_t ileft;
	ravt_block *iblocks;
};

/* reader.c */
/* A stable NUL-terminated copy of text bytes (cut at an embedded NUL),
 * shared by content, valid until close. */
const char *ravt_reader_intern(ravt_reader *rd, const uint8_t *p, size_t n);

/* reader-snapshot.c (lock held) */
typedef struct ravt_piece_entry {
	ravt_piece piece; /* chunk is set once every part is framed */
	uint32_t have;    /* parts framed */
	uint64_t *off;    /* frame offset of each part, 0 until framed */
	const uint8_t **chunk;
} ravt_piece_entry;
/* A SNAPSHOT or SESSION chunk (checksum checked): NULL, "" for out of
 * memory, "limit" past the memory limit, or why it is invalid. */
const char *ravt_note_snapshot(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, uint64_t off);
const char *ravt_note_session(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload);
void ravt_pieces_free(ravt_reader *rd);
/* The piece with this id if every part is framed (lock held). */
const ravt_piece *ravt_piece_find(const ravt_reader *rd, uint64_t id);
/* The same for the merge delivering snapshot event `event`: the first
 * event to name a piece is recorded in it (lock held). */
const ravt_piece *ravt_piece_claim(ravt_reader *rd, uint64_t id, uint64_t event);

/* reader-framing.c */
int ravt_parse_header(ravt_reader *rd, rav_trace_error *err);
/* Frame the complete chunks from parse_pos on.  Returns the events added,
 * or -1.  A partial chunk at the end sets *partial (not an error: a crashed
 * program, or a stream with more to come). */
int64_t ravt_walk_chunks(ravt_reader *rd, rav_trace_error *err, bool *partial);

/* reader-access.c (lock held) */
bool ravt_find_run_locked(ravt_reader *rd, uint64_t i, ravt_run *out);
void ravt_lru_free(ravt_reader *rd);

/* reader-merge.c */
void ravt_merge_free(ravt_reader *rd);

/* reader-guard.c: fn(arg) reads mapped bytes of the trace; run it so that
 * SIGBUS (the file shrank) becomes RAV_TRACE_ECHANGED in *err (false) and
 * the reader never reads the mapping again.  fn must not take locks. */
void ravt_guard_install(void);
bool ravt_guarded(ravt_reader *rd, bool (*fn)(void *arg), void *arg, rav_trace_error *err);
void ravt_changed_error(ravt_reader *rd, rav_trace_error *err);
/* Has the file been truncated or rewritten since it was opened (its size or
 * modification time differ)?  Asked when its bytes fail a check: past a
 * cut inside the last page a mapping reads zeros, not SIGBUS. */
bool ravt_file_changed(ravt_reader *rd);

#endif /* RAVT_READER_PRIVATE_H */
