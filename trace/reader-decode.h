/* reader-decode.h - the event decoder: one recording thread's events out of
 * its chunks (FORMAT.md section 5).
 *
 * A decoder follows one stream: it loads a chunk (checks the payload
 * checksum the first time, decompresses, reads the segment table) and then
 * gives events a batch at a time.  The batch loop (reader-decode-batch.h)
 * is here, inline, for the one-event calls of a seek and the random-access
 * cache, and out of line, one instance per kind of caller and chunk, for
 * the merge's and the cursors' batches (a dispatch per case, which cannot
 * be inlined): it is most of what reading a trace costs.
 *
 * Trust: every varint and operand is bounds-checked.  The event area of a
 * decoded buffer is followed by RAVT_DEC_PAD zero bytes, which lets the
 * varint reader skip its per-byte bounds checks (see vget).
 */
#ifndef RAVT_READER_DECODE_H
#define RAVT_READER_DECODE_H

#include <stddef.h>
#include <stdio.h>
#include <zstd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "reader-private.h"
#include "sink.h"

#define RAVT_DEC_PAD 16

/* The shapes whose cases set ravt_dec.naming: every kind of
 * RAVT_SPAN_NAMING_KINDS has one of them (kb_fill checks), and escaped
 * events set it too.  The others are the pool's, the pages' and the
 * time's: nearly every event. */
#define RAVT_DEC_NAMING_SHAPES                                                                               \
	((1u << RAVT_SHAPE_X) | (1u << RAVT_SHAPE_XTEXT) | (1u << RAVT_SHAPE_HEAPNEW) |                     \
	 (1u << RAVT_SHAPE_XSEQ) | (1u << RAVT_SHAPE_TYPEDEF) | (1u << RAVT_SHAPE_MSG) |                     \
	 (1u << RAVT_SHAPE_TEXT))

/* ravt_dec_kb.shape's two values that are not shapes */
#define RAVT_DSH_ESC (RAVT_SHAPE_GENERIC + 1)
#define RAVT_DSH_VARAUX (RAVT_SHAPE_GENERIC + 2)
_Static_assert(RAVT_SHAPE_GENERIC + 1 == RAVT_DSH_ESC, "shapes below the two special values, next to them (one jump table)");
_Static_assert(RAVT_KIND_BITS == 6 && RAVT_KIND_MAX == 63, "a kind byte: 2 bits of aux mode, 6 of kind");

/* ravt_dec.aux's two entries past the kinds' last aux: 0 and 1 */
#define RAVT_DAUX_ZERO (RAVT_KIND_MAX + 1)
#define RAVT_DAUX_ONE (RAVT_KIND_MAX + 2)

/* By kind byte (aux mode << 6 | kind), what decoding it needs that does not
 * depend on the stream, shared by every decoder (a trace of 100,000 threads
 * has as many): the shape of its kind (ravt_shape_of), or RAVT_DSH_ESC
 * (kind 63) or RAVT_DSH_VARAUX (a varint aux follows: the shape is at the
 * kind byte of mode ZERO); and where the decoder's aux table holds the aux
 * the byte gives (mode SAME: the kind's last aux; ZERO and VAR:
 * RAVT_DAUX_ZERO; ONE: RAVT_DAUX_ONE).  One load each per event, no test of
 * the mode.  Filled once, by the first ravt_dec_new. */
typedef struct ravt_dec_kbtab {
	uint8_t shape[4 << RAVT_KIND_BITS];
	uint8_t aux_at[4 << RAVT_KIND_BITS];
} ravt_dec_kbtab;
extern ravt_dec_kbtab ravt_dec_kb __attribute__((visibility("hidden")));

/* One slot of the decoder's address cache: the cell (word index / 4) and
 * its location (word 0), side by side so that one register addresses both. */
typedef struct ravt_dac_slot {
	uint64_t cell, loc;
} ravt_dac_slot;
_Static_assert(sizeof(ravt_dac_slot) == 16, "the vector order holds slot numbers times 16");
/* The cell of a free slot: no word index / 4 is this large. */
#define RAVT_DAC_FREE UINT64_MAX

struct ravt_dec {
	ravt_reader *rd;
	uint32_t stream;
	uint32_t tid; /* the stream's thread (heap id) */
	unsigned word_shift, wpp_shift;
	uint64_t wpp_mask;
	int64_t ci;       /* position in the stream's chunk list; -1 none */
	int64_t last_ci;  /* the chunk loaded or being loaded (for errors) */
	ravt_chunk chunk; /* copy of the table entry of last_ci */
	uint8_t *buf;
	size_t cap;
	const uint8_t *sp, *send, *ep, *eend;
	const uint8_t *seg_start;
	uint64_t ordinal;    /* of the next event */
	uint32_t left;       /* events left in the chunk */
	uint32_t count;      /* events in the chunk */
	uint32_t segs_total; /* events covered by segments read so far */

	uint32_t seg_left;
	uint64_t seg_tsc, seg_seq;
	bool seg_has_seq;
	bool next_valid, next_has_seq;
	uint32_t next_n;
	uint64_t next_tsc, next_seq, next_fp;
	uint64_t seg_prev_tsc, seg_prev_seq;
	uint64_t t_fp, t_step; /* time in 1/65536 ns */

	uint64_t ra, rext, tsc_reg, hz_reg, seq_reg;
	/* Each kind's last aux in the chunk (for mode SAME), then 0 and 1
	 * (RAVT_DAUX_ZERO, RAVT_DAUX_ONE): indexed by ravt_dec_kb.aux_at */
	uint32_t aux[RAVT_KIND_MAX + 3];
	bool acache; /* the loaded chunk is EVENTS_AC (1.5) */
	/* its address cache (see ravt_dac_take): slot order, and per slot the
	 * cell (word index / 4) and its location (word 0); the cell of a slot
	 * not filled since the chunk was loaded is RAVT_DAC_FREE */
	uint64_t ac_order;
	ravt_dac_slot ac[RAVT_ACACHE_SIZE];
	/* Call sites of the loaded chunk: runs[2k] events carry site
	 * runs[2k + 1]; run_left events of the current run remain. */
	uint32_t *runs;
	uint32_t runs_cap, run_i, run_left, site;
	uint8_t *sbuf; /* its SITES payload, decompressed */
	size_t scap;
	ZSTD_DCtx *dctx;
	bool own_dctx;
	bool bad_crc;   /* the last load failed its checksum */
	bool limit;     /* the last load passed the trace's memory limit */
	bool changed;   /* the last load found the file changed under us */
	bool for_merge; /* its buffers are refused past the memory limit (others' are not) */
	/* Where its owner has given the file's pages back up to (the merge's
	 * and a cursor's, which read the file in about its order: see
	 * ravt_dec_load; UINT64_MAX: from the next chunk loaded on), or NULL:
	 * each chunk's pages go as soon as it is decompressed. */
	uint64_t *released_to;
	bool failed;    /* the last ravt_dec_batch met a bad event (d->why); load again */
	/* Set by a batch that decoded an event whose shape some kind of
	 * RAVT_SPAN_NAMING_KINDS (sink.h) has (RAVT_DEC_NAMING_SHAPES; set in
	 * those shapes' cases, never cleared by the decoder): the merge reads
	 * and clears it after each batch, and its sinks skip looking for those
	 * kinds in the events of batches that did not set it. */
	bool naming;
	/* Why the last call failed (ravt_dec_say), or NULL: allocated on the
	 * first failure, since a trace of many threads has a decoder per
	 * thread and few ever fail (256 bytes each were 25 MB on a trace of
	 * 100,000 threads).  Read it through ravt_dec_why. */
	char *why;
	bool why_lost; /* a failure found no memory for its message */
};

/* Room for a decoder's failure message */
#define RAVT_DEC_WHY 256
/* Say why the decoder failed (printf format): into d->why, allocated now
 * if it is the first time; without memory for it, d->why says so. */
void ravt_dec_say(ravt_dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), cold, visibility("hidden")));
/* The decoder's failure message, "" when none was said */
static inline const char *ravt_dec_why(const ravt_dec *d)
{
	if (d->why && d->why[0])
		return d->why;
	return d->why_lost ? "(no memory for the message)" : "";
}
/* Forget the message (the next failure says its own) */
static inline void ravt_dec_unsay(ravt_dec *d)
{
	d->why_lost = false;
	if (d->why)
		d->why[0] = 0;
}

/* dctx: shared by the decoders of one owner (merge, cursor), which never
 * decompress concurrently; NULL: the decoder gets its own.  A new decoder
 * follows no stream until ravt_dec_set_stream. */
ravt_dec *ravt_dec_new(ravt_reader *rd, ZSTD_DCtx *dctx);
void ravt_dec_free(ravt_dec *d);
/* Follow stream `stream` of thread `tid` (rd->streams[stream].id). */
void ravt_dec_set_stream(ravt_dec *d, uint32_t stream, uint32_t tid);
/* Load chunk `ci` of the stream and read its first segment.  false with
 * d->why on a bad payload.  lock_held: the caller holds rd->lock. */
bool ravt_dec_load(ravt_dec *d, int64_t ci, bool lock_held);
/* Free the decoder's chunk buffer once its chunk is used up (a trace of
 * many threads would otherwise hold one per thread); the decoder keeps its
 * place, and its next load allocates a buffer again. */
void ravt_dec_drop_buffer(ravt_dec *d);
/* Chunks of the decoder's stream framed so far. */
size_t ravt_dec_stream_chunks(const ravt_dec *d, bool lock_held);
/* Make the next segment of the chunk current.  false at its end or on error. */
bool ravt_dec_next_segment(ravt_dec *d);
/* Smallest sequence number in the loaded chunk's segment table. */
bool ravt_dec_min_seq(const ravt_dec *d, uint64_t *out);
/* Position so the next event is stream ordinal `ord` (any chunk). */
bool ravt_dec_seek(ravt_dec *d, uint64_t ord);
/* Next event of the stream, loading the next chunk when one is used up. */
bool ravt_dec_stream_event(ravt_dec *d, rav_event *ev);
/* The decoder's last failure as an error (ECHUNK for a checksum, else EDECODE). */
void ravt_dec_error(const ravt_dec *d, rav_trace_error *err);

/* A batch of an EVENTS_AC chunk with the address cache's order in a
 * vector register: as ravt_dec_batch(d, out, n, g, true, true) (the
 * merge's) and ravt_dec_batch(d, out, n, g, true, false) (a cursor's) when
 * d->acache; only where ravt_dec_have_ssse3() (reader-decode-ssse3.c). */
uint32_t ravt_dec_batch_merge_ac_ssse3(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g);
uint32_t ravt_dec_batch_cursor_ac_ssse3(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g);
bool ravt_dec_have_ssse3(void);

/* Varint without per-byte bounds checks: the event area of a decoded
 * buffer is followed by RAVT_DEC_PAD zero bytes, so a varint that starts
 * inside it stops within the padding at the latest (an event reads at most
 * 6 varints, each ending at most one byte further into the zeros); callers
 * check p <= end once per event.  NULL for a varint longer than 10 bytes.
 *
 * One to four bytes (most operands) take a branch each.  Longer ones
 * (data values) are read without a loop: bytes 4 .. 11 as one 64-bit
 * word, the first byte without a continuation bit found by its bit, and the 7-bit groups packed together in three shift-and-mask steps
 * (SIMD within a register; the baseline x86-64 has no pext).  The word
 * stays within the buffer: bytes 0 .. 3 continue, so they are event bytes
 * (the padding is zeros), byte 4 is at most the first padding byte, and
 * its 8 bytes end within the 16 of padding. */
_Static_assert(RAVT_DEC_PAD >= 8, "the long varint reads 8 bytes from the last event byte + 1");
static inline __attribute__((always_inline)) const uint8_t *ravt_vget(const uint8_t *p, uint64_t *out)
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
	/* three and four bytes: far pool address deltas */
	uint64_t b2 = *p;
	if (__builtin_expect(b2 < 0x80, 1)) {
		*out = (b & 0x7f) | (b1 & 0x7f) << 7 | b2 << 14;
		return p + 1;
	}
	p++;
	uint64_t b3 = *p;
	if (__builtin_expect(b3 < 0x80, 1)) {
		*out = (b & 0x7f) | (b1 & 0x7f) << 7 | (b2 & 0x7f) << 14 | b3 << 21;
		return p + 1;
	}
	p++;
	uint64_t w = ravt_le64(p);
	/* (bytes 4 .. 9 only: a varint has 10 bytes at most) */
	uint64_t stops = ~w & UINT64_C(0x0000808080808080);
	if (__builtin_expect(stops == 0, 0))
		return NULL; /* bytes 0 .. 9 all continue: over 10 bytes */
	/* the bytes up to the first stop, without their continuation bits */
	uint64_t x = w & (stops ^ (stops - 1)) & UINT64_C(0x7f7f7f7f7f7f7f7f);
	x = (x & UINT64_C(0x007f007f007f007f)) | (x & UINT64_C(0x7f007f007f007f00)) >> 1;
	x = (x & UINT64_C(0x00003fff00003fff)) | (x & UINT64_C(0x3fff00003fff0000)) >> 2;
	x = (x & UINT64_C(0x000000000fffffff)) | (x & UINT64_C(0x0fffffff00000000)) >> 4;
	/* (a tenth byte's bits above bit 63 are dropped, as a loop would) */
	*out = (b & 0x7f) | (b1 & 0x7f) << 7 | (b2 & 0x7f) << 14 | (b3 & 0x7f) << 21 | x << 28;
	return p + (__builtin_ctzll(stops) >> 3) + 1;
}

/* The address cache of an EVENTS_AC chunk (FORMAT.md 5.3) as the decoder
 * keeps it: the same cache as format.h's ravt_acache (the writer's), held
 * another way.  Cells stay in the slot they were put in, and one 64-bit
 * word lists the slots most recent first, four bits each: a hit ("entry i
 * to the front") is a few register operations on that word instead of
 * moving i entries, and the word stays in a register while a batch of
 * events is decoded.  A new cell takes a free slot, or the least recent
 * one's when all 16 are used.  tests/trace/acache-order.c checks the two
 * against each other.
 *
 * The word starts as RAVT_DAC_ORDER_INIT: the places past the entries held
 * list the free slots so that the last place is always the slot a new
 * entry takes (the next free one, then the least recent): a push rotates
 * the word by one place, with no test of how many are held.  Nor does the
 * decoder count them: place i holds a filled slot exactly when i is below
 * the entries held, so a hit on an entry not held (a bad operand) finds a
 * free slot, whose cell is RAVT_DAC_FREE, and is refused by that.
 *
 * Where the CPU has SSSE3 the merge decodes with the order as 16 bytes in
 * a vector register (reader-decode-ssse3.c, RAVT_DAC_SIMD): a hit is one
 * byte shuffle from a table of 16, a push one byte rotation.  Each byte
 * holds its slot times 16, the slot's offset in d->ac. */
_Static_assert(RAVT_ACACHE_SIZE == 16, "the order word holds 16 slots of 4 bits");
#define RAVT_DAC_ORDER_INIT UINT64_C(0x0123456789abcdef) /* place j: slot 15 - j */

/* Entry i (< the entries held) to the front; returns its slot. */
static inline unsigned ravt_dac_take(uint64_t *order, unsigned i)
{
	unsigned sh = 4 * i; /* i < 16 */
	uint64_t o = *order;
	uint64_t slot = (o >> sh) & 15;
	uint64_t before = (o & (((uint64_t)1 << sh) - 1)) << 4; /* entries 0 .. i - 1, one place down */
	uint64_t after = o & (~(uint64_t)0 << sh << 4);         /* entries i + 1 .. 15 stay */
	*order = after | before | slot;
	return (unsigned)slot;
}

/* A new entry in front; returns the slot the caller fills. */
static inline unsigned ravt_dac_push(uint64_t *order)
{
	uint64_t slot = *order >> 60; /* (see RAVT_DAC_ORDER_INIT) */
	*order = *order << 4 | slot;
	return (unsigned)slot;
}

#ifdef RAVT_DAC_SIMD
/* (reader-decode-ssse3.c: SSSE3 is on for its functions) */
/* Entry i to the front: byte j of the order from byte mtf[i][j] */
#define RAVT_DAC_M(i)                                                                                        \
	{(i),     0 < (i) ? 0 : 1,   1 < (i) ? 1 : 2,   2 < (i) ? 2 : 3,   3 < (i) ? 3 : 4,   4 < (i) ? 4 : 5,     \
	 5 < (i) ? 5 : 6,   6 < (i) ? 6 : 7,   7 < (i) ? 7 : 8,   8 < (i) ? 8 : 9,   9 < (i) ? 9 : 10,             \
	 10 < (i) ? 10 : 11, 11 < (i) ? 11 : 12, 12 < (i) ? 12 : 13, 13 < (i) ? 13 : 14, 14 < (i) ? 14 : 15}
static const uint8_t ravt_dac_mtf[16][16] __attribute__((aligned(16))) = {
    RAVT_DAC_M(0),  RAVT_DAC_M(1),  RAVT_DAC_M(2),  RAVT_DAC_M(3),  RAVT_DAC_M(4),  RAVT_DAC_M(5),
    RAVT_DAC_M(6),  RAVT_DAC_M(7),  RAVT_DAC_M(8),  RAVT_DAC_M(9),  RAVT_DAC_M(10), RAVT_DAC_M(11),
    RAVT_DAC_M(12), RAVT_DAC_M(13), RAVT_DAC_M(14), RAVT_DAC_M(15)};
#undef RAVT_DAC_M

/* Entry i to the front, for an operand u = 8i + ... (i < 16): returns
 * the offset of its slot in d->ac (16 times the slot) */
static inline __attribute__((always_inline)) unsigned ravt_dacv_take(__m128i *order, uint64_t u)
{
	/* (row i of the table at 16i: the operand's bits 3 .. 6, twice) */
	const uint8_t *row = (const uint8_t *)ravt_dac_mtf + ((u & 0x78) << 1);
	*order = _mm_shuffle_epi8(*order, _mm_load_si128((const __m128i *)row));
	return (uint8_t)_mm_cvtsi128_si32(*order);
}

/* A new entry in front; returns the offset of the slot the caller fills */
static inline __attribute__((always_inline)) unsigned ravt_dacv_push(__m128i *order)
{
	*order = _mm_alignr_epi8(*order, *order, 15); /* byte j from j - 1, byte 0 from 15 */
	return (uint8_t)_mm_cvtsi128_si32(*order);
}

/* The order word as 16 bytes (place j in byte j, 16 times its slot), and back */
static inline __attribute__((always_inline)) __m128i ravt_dacv_from_word(uint64_t w)
{
	__m128i v = _mm_cvtsi64_si128((long long)w), m = _mm_set1_epi8(15);
	v = _mm_unpacklo_epi8(_mm_and_si128(v, m), _mm_and_si128(_mm_srli_epi16(v, 4), m));
	return _mm_slli_epi16(v, 4); /* (bytes below 16: nothing crosses into the next) */
}

static inline __attribute__((always_inline)) uint64_t ravt_dacv_to_word(__m128i v)
{
	v = _mm_srli_epi16(v, 4); /* (the low bits of each byte are zeros) */
	v = _mm_and_si128(v, _mm_set1_epi8(15));
	/* place 2k + 16 * place 2k + 1, in 16 bits, then bytes */
	__m128i w = _mm_maddubs_epi16(v, _mm_set1_epi16(0x1001));
	return (uint64_t)_mm_cvtsi128_si64(_mm_packus_epi16(w, w));
}
#endif

/* What the batch decoder keeps in registers while it runs (a local copy of
 * the decoder's fields, written back once per batch: stores into the
 * events could alias the decoder as far as the compiler knows).  Only what
 * most events use: fields that few events need (the external address
 * register, the page geometry, the time and sequence registers) stay in
 * the decoder and are read through `d`, so that the loop's registers go to
 * the per-event values instead of spills. */
typedef struct ravt_dregs {
	ravt_dec *d;
	uint64_t r;
	uint64_t ac_order;
#ifdef RAVT_DAC_SIMD
	__m128i ac_vorder; /* the order, when the batch loop is the SIMD one */
#endif
} ravt_dregs;

/* acache: the chunk is EVENTS_AC (a constant: the batch loop is compiled
 * once for each kind of chunk, so no operand tests it) */
static inline __attribute__((always_inline)) const uint8_t *ravt_dec_addr(ravt_dregs *g, const uint8_t *p,
                                                                          uint64_t *loc, bool acache, bool simd)
{
	uint64_t u;
	p = ravt_vget(p, &u);
	if (!p)
		return NULL;
	if (acache) {
		/* 1.5 (FORMAT.md 5.3): even, a cell of the address cache (whose
		 * page was checked when it went in); odd, the operand below */
		if (!(u & 1)) {
			if (u >= RAVT_ACACHE_SIZE << 3) /* (a one-byte operand never is) */
				return NULL;
			const ravt_dac_slot *s;
#ifdef RAVT_DAC_SIMD
			if (simd)
				s = (const ravt_dac_slot *)((const char *)g->d->ac +
				                            ravt_dacv_take(&g->ac_vorder, u));
			else
#endif
				s = &g->d->ac[ravt_dac_take(&g->ac_order, (unsigned)(u >> 3))];
			uint64_t cell = s->cell;
			if (cell == RAVT_DAC_FREE)
				return NULL; /* an entry not held */
			g->r = cell << 2 | ((u >> 1) & 3);
			*loc = s->loc | ((u >> 1) & 3);
			return p;
		}
		u >>= 1;
	}
	/* (pool addresses first: most operands that miss the cache) */
	if (__builtin_expect((u & 3) == RAVT_ADDR_POOL, 1)) {
		uint64_t w = g->r + (uint64_t)ravt_unzigzag(u >> 2);
		g->r = w;
		uint64_t page = w >> g->d->wpp_shift;
		if (page >= RAVT_MAX_PAGES)
			return NULL;
		*loc = (page << 16) | (w & g->d->wpp_mask);
		if (acache) {
			ravt_dac_slot *s;
#ifdef RAVT_DAC_SIMD
			if (simd)
				s = (ravt_dac_slot *)((char *)g->d->ac + ravt_dacv_push(&g->ac_vorder));
			else
#endif
				s = &g->d->ac[ravt_dac_push(&g->ac_order)];
			s->cell = w >> 2;
			s->loc = *loc & ~(uint64_t)3; /* word 0 of the cell */
		}
		return p;
	}
	if (u == 0) { /* null (RAVT_ADDR_SPECIAL): the next most common */
		*loc = 0;
		return p;
	}
	switch (u & 3) {
	case RAVT_ADDR_EXT: {
		uint64_t x = g->d->rext + (uint64_t)ravt_unzigzag(u >> 2);
		g->d->rext = x;
		*loc = RAV_LOC_EXTERNAL | (x & ~RAV_LOC_EXTERNAL);
		return p;
	}
	case RAVT_ADDR_BYTE: {
		uint64_t w = (u >> 2) >> g->d->word_shift;
		uint64_t page = w >> g->d->wpp_shift;
		if (page >= RAVT_MAX_PAGES)
			return NULL;
		*loc = (page << 16) | (w & g->d->wpp_mask);
		return p;
	}
	default:
		if (u == 4 && g->d->eend - p >= 8) {
			uint64_t x = ravt_le64(p);
			g->d->rext = x;
			*loc = RAV_LOC_EXTERNAL | (x & ~RAV_LOC_EXTERNAL);
			return p + 8;
		}
		return NULL;
	}
}

/* The fields of out[0 .. k) that do not depend on the events' bytes: the
 * index (g, g + 1, ...), the time (d->t_fp, stepped by d->t_step), the
 * thread and the call site (the runs of d->runs).  A pass of its own after
 * the batch is decoded: the decoding loop keeps its registers for the
 * operands, and here index and time go as one 16-byte store (the index
 * shifted up 16 bits beside the time in 1/65536 ns: one add steps both,
 * one shift makes both).  Runs of sites cover the chunk's events exactly
 * (checked at load) and are never empty, so a next run exists while
 * events remain. */
_Static_assert(offsetof(rav_event, index) == 0 && offsetof(rav_event, time_ns) == 8,
               "index and time are the event's first 16 bytes");
static inline __attribute__((always_inline)) void ravt_dec_fill(ravt_dec *d, rav_event *out, uint32_t k,
                                                                uint64_t g)
{
	uint32_t tid = d->tid, run_left = d->run_left, site = d->site;
	uint64_t t_fp = d->t_fp;
#ifdef __SSE2__
	__m128i it = _mm_set_epi64x((long long)t_fp, (long long)(g << 16));
	const __m128i step = _mm_set_epi64x((long long)d->t_step, 1 << 16);
#endif
	uint32_t i = 0;
	while (i < k) {
		if (run_left == 0) {
			uint32_t r = ++d->run_i;
			run_left = d->runs[2 * r];
			site = d->runs[2 * r + 1];
		}
		uint32_t m = k - i < run_left ? k - i : run_left;
		run_left -= m;
		for (uint32_t e = i + m; i < e; i++) {
			rav_event *ev = &out[i];
#ifdef __SSE2__
			_mm_storeu_si128((__m128i *)ev, _mm_srli_epi64(it, 16));
			it = _mm_add_epi64(it, step);
#else
			ev->index = g + i;
			ev->time_ns = t_fp >> 16;
			t_fp += d->t_step;
#endif
			ev->thread = tid;
			ev->site = site;
		}
	}
#ifdef __SSE2__
	t_fp = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(it, it));
	/* (an index of 2^48 or more lost its top bits in the vector) */
	if (__builtin_expect((g + k) >> 48 != 0, 0))
		for (i = 0; i < k; i++)
			out[i].index = g + i;
#endif
	d->t_fp = t_fp;
	d->run_left = run_left;
	d->site = site;
}

#include "reader-decode-batch.h"

/* The merge's and the cursors' batches, out of line with a dispatch per
 * case (reader-decode-batch.h): as ravt_dec_batch_as(d, out, n, g, true,
 * stop_snapshot, acache, false), merge: stop_snapshot; ac: acache
 * (reader-decode.c) */
uint32_t ravt_dec_batch_merge_plain(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g);
uint32_t ravt_dec_batch_merge_ac(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g);
uint32_t ravt_dec_batch_cursor_plain(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g);
uint32_t ravt_dec_batch_cursor_ac(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g);

static inline __attribute__((always_inline)) uint32_t ravt_dec_batch(ravt_dec *d, rav_event *out, uint32_t n,
                                                                     uint64_t g, bool intern_text,
                                                                     bool stop_snapshot)
{
	if (intern_text && stop_snapshot)
		return d->acache ? ravt_dec_batch_merge_ac(d, out, n, g) : ravt_dec_batch_merge_plain(d, out, n, g);
	if (intern_text)
		return d->acache ? ravt_dec_batch_cursor_ac(d, out, n, g) : ravt_dec_batch_cursor_plain(d, out, n, g);
	if (d->acache)
		return ravt_dec_batch_as(d, out, n, g, intern_text, stop_snapshot, true, false);
	return ravt_dec_batch_as(d, out, n, g, intern_text, stop_snapshot, false, false);
}

/* The next event of the loaded chunk, moving to its next segment when one
 * is used up; false at the chunk's end (d->why unchanged) or on a bad
 * event (d->why).  ev->index is 0: the caller sets it.  (Inline, the
 * switch's dispatch: one event has no next case to jump to.) */
static inline __attribute__((always_inline)) bool ravt_dec_event(ravt_dec *d, rav_event *ev, bool intern_text)
{
	if (__builtin_expect(d->left == 0, 0))
		return false;
	if (__builtin_expect(d->seg_left == 0, 0) && !ravt_dec_next_segment(d))
		return false;
	if (d->acache)
		return ravt_dec_batch_as(d, ev, 1, 0, intern_text, false, true, false) == 1;
	return ravt_dec_batch_as(d, ev, 1, 0, intern_text, false, false, false) == 1;
}

#endif /* RAVT_READER_DECODE_H */
