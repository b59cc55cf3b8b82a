/* writer-private.h - the writer's structures, shared by its files:
 *
 *   writer.c         the writer object, what it is fed (ravt_writer_add), chunks out (framing,
 *                    compression, the trailer)
 *   writer-encode.c  the general encoder: any event, segments, texts, the escape form
 *   writer-fast.c    the fast path for runs of plain heap writes and TIME events
 *   writer-sites.c   call sites (1.3): the site table, runs of events per site, SITES and MAPS chunks
 *   writer-maps.c    the recording process's memory map for MAPS chunks (dl_iterate_phdr)
 *
 * The two encoders write exactly the same bytes for the events the fast
 * path takes (tests/trace/encode-paths.c compares them); FORMAT.md is the
 * specification of both.
 */
#ifndef RAVT_WRITER_PRIVATE_H
#define RAVT_WRITER_PRIVATE_H

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "format.h"

typedef struct ravt_buf {
	uint8_t *p;
	size_t len, cap;
} ravt_buf;

static inline bool ravt_buf_reserve(ravt_buf *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

/* The writer's address cache (EVENTS_AC, FORMAT.md 5.3): the same
 * move-to-front list of 16 cells as format.h's ravt_acache, kept another
 * way: cells stay in fixed slots, and each slot has its place in the list,
 * its rank (0 the most recent), 16 bytes that SSE2 updates at once.  Moving
 * the entry of rank r to the front adds one to every rank below r; a new
 * cell takes a free slot or the one of rank 15, and adds one to every rank.
 * ravt_acache moved the entries themselves: a loop of r moves with an
 * unpredictable exit per hit, and the whole array per miss (38% of the
 * writer's instructions per event on rav-bench trace-record's workload).
 * The writer finds a cell's slot by its tag (the cell's low byte) among the
 * 16 at once, as ravt_acache did.  tests/trace/acache-order.c drives it
 * beside the reader's and ravt_acache.
 *
 * Slots 0 .. n - 1 are the ones in use; the others have rank
 * RAVT_WAC_FREE_RANK (above any rank, and still after 16 pushes added
 * one each), so no hit moves them, and cell RAVT_WAC_NO_CELL, which no
 * pool cell is (a pool holds at most 2^47 bytes), so a lookup needs no
 * mask of the slots in use: a free slot's tag may match, its cell never
 * (the mask was 4-5 of the writer's ~212 instructions per lookup's event,
 * ~2 lookups an event: callgrind, rav-bench trace-record's child). */
#define RAVT_WAC_FREE_RANK 0x40
#define RAVT_WAC_NO_CELL UINT64_MAX
typedef struct ravt_wcache {
	uint8_t tag[RAVT_ACACHE_SIZE] __attribute__((aligned(16)));  /* slot s: cell[s]'s low byte */
	uint8_t rank[RAVT_ACACHE_SIZE] __attribute__((aligned(16))); /* slot s: its place in the list */
	uint64_t cell[RAVT_ACACHE_SIZE];                             /* slot s: a pool cell (word index / 4) */
	unsigned n;                                                  /* entries held (slots 0 .. n - 1) */
} ravt_wcache;

static inline void ravt_wcache_reset(ravt_wcache *c)
{
	memset(c->rank, RAVT_WAC_FREE_RANK, sizeof c->rank);
	memset(c->tag, 0, sizeof c->tag);
	for (unsigned s = 0; s < RAVT_ACACHE_SIZE; s++)
		c->cell[s] = RAVT_WAC_NO_CELL;
	c->n = 0;
}

/* The slot holding `cell`, or -1. */
static inline int ravt_wcache_slot(const ravt_wcache *c, uint64_t cell)
{
#if defined(__SSE2__)
	__m128i tags = _mm_load_si128((const __m128i *)(const void *)c->tag);
	unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(tags, _mm_set1_epi8((char)(uint8_t)cell)));
	for (; m; m &= m - 1) {
		unsigned s = (unsigned)__builtin_ctz(m);
		if (c->cell[s] == cell)
			return (int)s;
	}
	return -1;
#else
	for (unsigned s = 0; s < c->n; s++)
		if (c->cell[s] == cell)
			return (int)s;
	return -1;
#endif
}

/* Slot s (held) to the front; returns the place it had, the entry number
 * the format writes. */
static inline unsigned ravt_wcache_take(ravt_wcache *c, unsigned s)
{
	unsigned r = c->rank[s];
#if defined(__SSE2__)
	__m128i rk = _mm_load_si128((const __m128i *)(const void *)c->rank);
	/* rank < r: one more (subtracting the all-ones mask) */
	rk = _mm_sub_epi8(rk, _mm_cmpgt_epi8(_mm_set1_epi8((char)r), rk));
	_mm_store_si128((__m128i *)(void *)c->rank, rk);
#else
	for (unsigned k = 0; k < RAVT_ACACHE_SIZE; k++)
		c->rank[k] += c->rank[k] < r;
#endif
	c->rank[s] = 0;
	return r;
}

/* A new cell in front (the least recent drops out when 16 are held). */
static inline void ravt_wcache_push(ravt_wcache *c, uint64_t cell)
{
	unsigned s = c->n;
#if defined(__SSE2__)
	__m128i rk = _mm_load_si128((const __m128i *)(const void *)c->rank);
	if (__builtin_expect(s == RAVT_ACACHE_SIZE, 1))
		s = (unsigned)__builtin_ctz(
		    (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(rk, _mm_set1_epi8(RAVT_ACACHE_SIZE - 1))));
	else
		c->n++;
	_mm_store_si128((__m128i *)(void *)c->rank, _mm_add_epi8(rk, _mm_set1_epi8(1)));
#else
	if (s == RAVT_ACACHE_SIZE) {
		for (s = 0; c->rank[s] != RAVT_ACACHE_SIZE - 1; s++)
			;
	} else {
		c->n++;
	}
	for (unsigned k = 0; k < RAVT_ACACHE_SIZE; k++)
		c->rank[k]++;
#endif
	c->rank[s] = 0;
	c->cell[s] = cell;
	c->tag[s] = (uint8_t)cell;
}

/* The slot of entry i (< n) of the list, for tests. */
static inline unsigned ravt_wcache_slot_at(const ravt_wcache *c, unsigned i)
{
	unsigned s = 0;
	while (s < RAVT_ACACHE_SIZE - 1 && c->rank[s] != i)
		s++;
	return s;
}

/* Entry i (< n) of the list, for tests. */
static inline uint64_t ravt_wcache_entry(const ravt_wcache *c, unsigned i)
{
	return c->cell[ravt_wcache_slot_at(c, i)];
}

/* writer.fast[] value of kinds the fast path does not take. */
#define RAVT_FAST_NO 0xffu

typedef struct ravt_wthread {
	uint32_t id;
	uint64_t ordinal; /* stream ordinal of the first event of the open chunk */
	uint32_t count;   /* events in the open chunk */
	uint64_t cur_tsc; /* last TIME seen on this thread (persists over chunks) */
	bool seen_time;

	/* Chunk-local registers (FORMAT.md "Registers"), reset per chunk. */
	uint64_t ra, rext, tsc_reg, hz_reg, seq_reg;
	uint32_t last_aux[RAVT_KIND_MAX + 1];
	ravt_wcache acache; /* 1.5: the address cache (writer.acache) */

	/* Segment table of the open chunk. */
	ravt_buf seg;
	ravt_buf ev;
	bool seg_open, seg_time_only, seg_has_seq;
	uint32_t seg_n;
	uint64_t seg_tsc, seg_seq, seg_prev_tsc, seg_prev_seq;

	/* Call sites (writer-sites.c): the site the thread's engine calls
	 * are in (writer site id, 0 none), the site of the open chunk's last
	 * run (UINT32_MAX before its first event), and where each run starts
	 * (pairs of uint32: event index in the chunk, site). */
	uint32_t site_cur, site_run;
	bool site_any; /* a run of the open chunk has a site */
	ravt_buf site_marks;
	size_t site_bytes; /* bound on the open chunk's SITES payload (ravt_writer_site) */
	/* A SITE record whose frame records have not all arrived yet. */
	unsigned site_want, site_have;
	uint64_t site_pend[RAV_SITE_FRAMES_MAX];

	/* A text event whose text records have not all arrived yet. */
	bool pending;
	rav_raw_event pend;
	uint64_t text_len;  /* bytes announced */
	uint64_t text_recs; /* records still to come */
	ravt_buf text;
} ravt_wthread;

struct ravt_writer {
	ravt_writer_params p;
	ravt_output_fn sink;
	void *user;
	unsigned word_shift;
	uint64_t offset; /* bytes written so far */
	uint64_t events, chunks, last_tsc, last_tsc_any;
	bool failed;
	bool compress_now;
	bool acache; /* 1.5 and later: EVENTS_AC chunks, addresses through the cache */
	char error[256];

	ravt_wthread **threads;
	size_t nthreads, cap_threads;
	ravt_wthread **tmap; /* open addressing by thread id: a recording with many threads */
	size_t tmap_cap;
	ravt_wthread *last;
	uint32_t current; /* thread the last add() ended on */

	ravt_index_entry *index;
	size_t nindex, cap_index;

	ZSTD_CCtx *cctx;
	int level_now;            /* zstd level set in cctx */
	uint8_t used[256];        /* shape_fields() of every kind byte value */
	uint8_t fast[256];        /* shape of kinds the fast path takes, else RAVT_FAST_NO */
	uint64_t fast_pool_bytes; /* pool_bytes, or 0 while the pool base is unknown */
	size_t ev_head;           /* room kept in front of a thread's events (flush_chunk) */
	size_t ev_full;           /* ev.len at which a chunk is full: ev_head + chunk_bytes */
	int8_t text_field[256];   /* where a kind's text length is: 0 none, 1 aux, 2 a */
	ravt_buf payload;         /* raw chunk payload */

	/* Call sites (writer-sites.c): every distinct stack seen, interned. */
	struct ravt_wsite *sites; /* id - 1 */
	uint32_t nsites, cap_sites;
	uint64_t *sframes;        /* frames of all sites */
	size_t nsframes, cap_sframes;
	uint32_t *shash;          /* open addressing: site ids */
	uint32_t shcap;
	uint32_t sstamp;          /* SITES chunks written (numbers the local dictionaries) */
	uint32_t *slocal;         /* the dictionary of the SITES chunk being built */
	uint32_t cap_slocal;
	uint64_t *snew;           /* frame addresses not announced to sites_hook yet */
	size_t nsnew, cap_snew;
	uint64_t maps_written;
	ravt_buf sbuf;            /* SITES / MAPS payload */
	ravt_buf out;             /* frame + stored payload + padding */
};

/* Largest event the fast path writes: kind byte, aux varint, three 10-byte
 * operands, plus the 4-byte store of its varint writer. */
#define RAVT_FAST_SLACK 64

/* writer.c */
int ravt_writer_fail(ravt_writer *w, const char *fmt, const char *detail);
ravt_wthread *ravt_writer_thread(ravt_writer *w, uint32_t id);
int ravt_writer_flush_chunk(ravt_writer *w, ravt_wthread *th);

/* writer-encode.c */
/* Which raw fields each shape carries: bit 0 x, 1 a, 2 b, 3 c. */
unsigned ravt_shape_fields(unsigned shape);
/* Text length announced by a raw event, or -1 if the kind has no text. */
int64_t ravt_text_len_of(const rav_raw_event *e);
bool ravt_writer_seg_close(ravt_wthread *th);
void ravt_writer_chunk_reset(const ravt_writer *w, ravt_wthread *th);
/* One event (with its text) by the general encoder. */
int ravt_writer_encode(ravt_writer *w, ravt_wthread *th, const rav_raw_event *e, const uint8_t *text,
                       size_t tlen);
/* A text event: its length field is clamped to what is stored. */
int ravt_writer_encode_text(ravt_writer *w, ravt_wthread *th, const rav_raw_event *e, const uint8_t *text,
                            uint64_t len);
/* Null, unaligned-pool and external addresses (and pool ones) as FORMAT.md 5.3 says. */
uint8_t *ravt_writer_put_addr(const ravt_writer *w, ravt_wthread *th, uint8_t *p, uint64_t addr, uint64_t *r);

/* writer-sites.c */
typedef struct ravt_wsite {
	uint32_t at;        /* first frame in sframes */
	uint8_t n;          /* frames (>= 1) */
	bool announced;     /* its addresses were given to sites_hook */
	uint32_t stamp;     /* sstamp of the dictionary it is in (local valid) */
	uint32_t local;     /* its number in that dictionary */
} ravt_wsite;
/* The SITES payload a chunk may grow to before it is cut early: half the
 * limit, so the last stack added cannot pass it. */
#define RAVT_SITES_SOFT_MAX (RAVT_PAYLOAD_MAX / 2)
/* A SITE record: make its stack the thread's current site (and cut the
 * chunk if its SITES payload could pass RAVT_SITES_SOFT_MAX).  0 or -1. */
int ravt_writer_site(ravt_writer *w, ravt_wthread *th, const uint64_t *frames, unsigned n);
/* Before an event is encoded: start a run if the site changed. */
bool ravt_writer_site_mark_slow(ravt_wthread *th);
static inline bool ravt_writer_site_mark(ravt_wthread *th)
{
	if (__builtin_expect(th->site_cur == th->site_run, 1))
		return true;
	return ravt_writer_site_mark_slow(th);
}
/* Write the SITES chunk of the thread's open chunk (before its EVENTS
 * chunk), if any of its events has a site.  0 or -1. */
int ravt_writer_sites_flush(ravt_writer *w, ravt_wthread *th);
void ravt_writer_sites_reset(ravt_wthread *th);
void ravt_writer_sites_free(ravt_writer *w);
/* Frames are in records after a RAV_RAW_SITE one: how many. */
static inline unsigned ravt_site_extra_records(const rav_raw_event *e)
{
	unsigned n = RAV_EV_AUX(e);
	if (n > RAV_SITE_FRAMES_MAX)
		n = RAV_SITE_FRAMES_MAX;
	return RAV_SITE_RECORDS(n) - 1;
}
/* Chunk framing shared with writer.c. */
int ravt_writer_chunk(ravt_writer *w, uint16_t kind, uint8_t *raw, size_t raw_len, bool compress,
                      uint32_t thread, uint32_t count, uint64_t first);

/* writer-fast.c */
/* Encodes ev[0..n) from the start while the events are plain and the chunk
 * has room; returns how many it took. */
size_t ravt_writer_encode_run(ravt_writer *w, ravt_wthread *th, const rav_raw_event *ev, size_t n);

#endif /* RAVT_WRITER_PRIVATE_H */
