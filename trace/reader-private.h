/* reader-private.h - the reader's own structures, shared by its files:
 *
 *   reader.c          lifetime: open (file, memory, stream spool), poll, close, info, texts
 *   reader-framing.c  header and chunk frames: validation, the chunk table, the trailer
 *   reader-decode.c   one thread's events out of its chunks (reader-decode.h)
 *   reader-merge.c    the global order, incrementally, delivered to sinks
 *   reader-access.c   runs, random access through a decoded-window cache, filtered scans
 *   reader-cursor.c   sequential cursors
 *   reader-guard.c    surviving a mapped file that shrinks under us (SIGBUS)
 *   reader-sites.c    call sites (1.3): SITES and MAPS chunks, the site and object tables
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
	bool acache;   /* EVENTS_AC (1.5): address operands through the address cache */
	uint32_t sites; /* its SITES chunk: index + 1 into rd->sitechunks; 0: its events have no site */
} ravt_chunk;

/* A SITES chunk, checked when framed (reader-sites.c). */
typedef struct ravt_sitechunk {
	uint64_t offset;     /* frame offset */
	uint32_t thread;
	uint64_t first;      /* = its EVENTS chunk's thread, first and count */
	uint32_t count;
	uint32_t stored, raw;
	uint16_t flags;
	uint32_t runs_at;    /* byte offset of the runs in the raw payload */
	uint32_t nlocal;     /* dictionary entries */
	const uint32_t *map; /* dictionary entry k (1-based) is site map[k - 1]; never moves */
} ravt_sitechunk;

/* A loaded object named by MAPS chunks, once per (path, build id). */
typedef struct ravt_object {
	uint64_t base, start, end;
	const char *path; /* interned */
	uint8_t build_id[RAVT_BUILD_ID_MAX];
	uint8_t build_id_len;
} ravt_object;

/* The current memory map: runtime ranges of segments, sorted by lo. */
typedef struct ravt_mapseg {
	uint64_t lo, hi, base;
	uint32_t object;
} ravt_mapseg;

typedef struct ravt_site_frame {
	uint64_t address, offset;
	int32_t object; /* -1: in no object */
} ravt_site_frame;

typedef struct ravt_site {
	uint32_t at; /* first frame in rd->sframes */
	uint8_t n;
} ravt_site;

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

	/* Call sites (reader-sites.c); lock: appended while framing, read by
	 * any thread.  Site ids are 1-based indices into sites. */
	ravt_sitechunk *sitechunks;
	size_t nsitechunks, cap_sitechunks;
	uint32_t pending_sites; /* the last chunk framed was this SITES chunk (index + 1) */
	ravt_object *objects;
	size_t nobjects, cap_objects;
	uint32_t *object_hash; /* open addressing: object index + 1, by path and build id */
	size_t object_hcap;
	ravt_mapseg *mapsegs; /* the last MAPS chunk's */
	size_t nmapsegs, cap_mapsegs;
	uint64_t maps_seen;
	ravt_site_frame *sframes;
	size_t nsframes, cap_sframes;
	ravt_site *sites;
	uint32_t nsites, cap_sites;
	uint32_t *shash; /* open addressing: site ids */
	uint32_t shcap;
	uint8_t *site_buf; /* decompressed SITES / MAPS payload while framing */
	size_t site_buf_cap;
	void *site_dctx;   /* ZSTD_DCtx for them */
	/* Snapshot pieces and live session records (reader-snapshot.c) */
	struct ravt_piece_entry **pieces; /* each allocated once: pieces handed out stay put */
	size_t npieces, cap_pieces;
	uint32_t *pmap; /* open addressing: piece id -> index + 1 */
	size_t pmap_cap;
	uint64_t seq_floor; /* sequence numbers below it that have not come never will (live streams) */
	rav_trace_session session;
	/* what the session's records said so far (checked against the next) */
	bool session_ended;     /* an END record came */
	uint64_t session_epoch; /* the epoch of the first number, then of the last loss */

	pthread_mutex_t intern_lock;
	char **itab; /* open addressing */
	size_t icap, icount;
	char *iblock;
	size_t ileft;
	ravt_block *iblocks;
};

/* reader.c */
/* A stable NUL-terminated copy of text bytes, shared by content, valid
 * until close: cut at an embedded NUL, or with keep_nuls all n bytes (a
 * type definition's name and field names). */
const char *ravt_reader_intern(ravt_reader *rd, const uint8_t *p, size_t n, bool keep_nuls);

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

/* reader-sites.c: framing of SITES and MAPS chunks (payload checksum
 * checked); NULL or why the chunk is invalid (ENOMEM sets *nomem). */
const char *ravt_add_sites_chunk(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, uint64_t off,
                                 bool *nomem);
const char *ravt_add_maps_chunk(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, bool *nomem);
/* A chunk was framed after a SITES chunk: an EVENTS chunk takes it into
 * *c (c may be NULL for other kinds).  NULL or why they do not match. */
const char *ravt_claim_sites(ravt_reader *rd, const ravt_frame *f, ravt_chunk *c);
void ravt_sites_free(ravt_reader *rd);
/* Decode the runs of SITES chunk `sc` (copied out under the lock) into
 * runs[2k] = events, runs[2k + 1] = site, covering `count` events.  The
 * caller's buffers grow as needed.  Returns the number of runs, 0 with
 * *why on a bad payload. */
uint32_t ravt_sites_runs(ravt_reader *rd, const ravt_sitechunk *sc, void *dctx, uint8_t **buf, size_t *cap,
                         uint32_t **runs, uint32_t *runs_cap, char *why, size_t whylen);

/* reader-access.c (lock held) */
bool ravt_find_run_locked(ravt_reader *rd, uint64_t i, ravt_run *out);
void ravt_lru_free(ravt_reader *rd);

/* reader-merge.c */
void ravt_merge_free(ravt_reader *rd);

/* reader.c: the mapped bytes [off, off + len) are not needed in memory any
 * more (a chunk's payload decompressed into a decoder's buffer, the framing
 * walk done): the whole pages among them (four at least) leave the
 * process's resident set.
 * They stay in the page cache and come back on the next read; nothing for
 * bytes that are not our mapping. */
void ravt_reader_release_bytes(const ravt_reader *rd, uint64_t off, uint64_t len);

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
