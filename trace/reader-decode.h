/* reader-decode.h - the event decoder: one recording thread's events out of
 * its chunks (FORMAT.md section 5).
 *
 * A decoder follows one stream: it loads a chunk (checks the payload
 * checksum the first time, decompresses, reads the segment table) and then
 * gives one event per call.  The per-event function is here, inline,
 * because the merge, the cursor and the random-access cache each run it in
 * their own loop and it is most of what reading a trace costs.
 *
 * Trust: every varint and operand is bounds-checked.  The event area of a
 * decoded buffer is followed by RAVT_DEC_PAD zero bytes, which lets the
 * varint reader skip its per-byte bounds checks (see vget).
 */
#ifndef RAVT_READER_DECODE_H
#define RAVT_READER_DECODE_H

#include <stdio.h>
#include <zstd.h>

#include "reader-private.h"

#define RAVT_DEC_PAD 16

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
	uint64_t next_tsc, next_seq;
	uint64_t seg_prev_tsc, seg_prev_seq;
	uint64_t t_fp, t_step; /* time in 1/65536 ns */

	uint64_t ra, rext, tsc_reg, hz_reg, seq_reg;
	uint32_t last_aux[RAVT_KIND_MAX + 1];
	bool acache;     /* the loaded chunk is EVENTS_AC (1.5) */
	ravt_acache ac;  /* its address cache */
	/* Call sites of the loaded chunk: runs[2k] events carry site
	 * runs[2k + 1]; run_left events of the current run remain. */
	uint32_t *runs;
	uint32_t runs_cap, run_i, run_left, site;
	uint8_t *sbuf; /* its SITES payload, decompressed */
	size_t scap;
	ZSTD_DCtx *dctx;
	bool own_dctx;
	bool bad_crc; /* the last load failed its checksum */
	bool limit;   /* the last load passed the trace's memory limit */
	bool changed; /* the last load found the file changed under us */
	bool for_merge; /* its buffers are refused past the memory limit (others' are not) */
	char why[256];
};

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

/* Varint without per-byte bounds checks: the event area of a decoded
 * buffer is followed by RAVT_DEC_PAD zero bytes, so a varint that starts
 * inside it stops within the padding at the latest (an event reads at most
 * 6 varints, each ending at most one byte further into the zeros); callers
 * check p <= end once per event.  NULL for a varint longer than 10 bytes. */
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

static inline __attribute__((always_inline)) const uint8_t *ravt_dec_addr(ravt_dec *d, const uint8_t *p,
                                                                          uint64_t *r, uint64_t *loc)
{
	uint64_t u;
	p = ravt_vget(p, &u);
	if (!p)
		return NULL;
	if (d->acache) {
		/* 1.5 (FORMAT.md 5.3): even, a cell of the address cache (whose
		 * page was checked when it went in); odd, the operand below */
		if (!(u & 1)) {
			if ((u >> 3) >= d->ac.n)
				return NULL;
			uint64_t w = ravt_acache_take(&d->ac, (unsigned)(u >> 3)) << 2 | ((u >> 1) & 3);
			*r = w;
			*loc = (w >> d->wpp_shift) << 16 | (w & d->wpp_mask);
			return p;
		}
		u >>= 1;
	}
	switch (u & 3) {
	case RAVT_ADDR_POOL: {
		uint64_t w = *r + (uint64_t)ravt_unzigzag(u >> 2);
		*r = w;
		uint64_t page = w >> d->wpp_shift;
		if (page >= RAVT_MAX_PAGES)
			return NULL;
		if (d->acache)
			ravt_acache_push(&d->ac, w >> 2);
		*loc = (page << 16) | (w & d->wpp_mask);
		return p;
	}
	case RAVT_ADDR_EXT: {
		uint64_t x = d->rext + (uint64_t)ravt_unzigzag(u >> 2);
		d->rext = x;
		*loc = RAV_LOC_EXTERNAL | (x & ~RAV_LOC_EXTERNAL);
		return p;
	}
	case RAVT_ADDR_BYTE: {
		uint64_t w = (u >> 2) >> d->word_shift;
		uint64_t page = w >> d->wpp_shift;
		if (page >= RAVT_MAX_PAGES)
			return NULL;
		*loc = (page << 16) | (w & d->wpp_mask);
		return p;
	}
	default:
		if (u == 0) {
			*loc = 0;
			return p;
		}
		if (u == 4 && d->eend - p >= 8) {
			uint64_t x = ravt_le64(p);
			d->rext = x;
			*loc = RAV_LOC_EXTERNAL | (x & ~RAV_LOC_EXTERNAL);
			return p + 8;
		}
		return NULL;
	}
}

#define RAVT_GETV(dst)                                                                                       \
	do {                                                                                                 \
		if (!(p = ravt_vget(p, &(dst))))                                                             \
			goto bad;                                                                            \
	} while (0)
#define RAVT_GETA(dst)                                                                                       \
	do {                                                                                                 \
		if (!(p = ravt_dec_addr(d, p, &r, &(dst))))                                                  \
			goto bad;                                                                            \
	} while (0)

/* Decode the next event of the loaded chunk.  intern_text: give text
 * events their stable text (skipping events for a seek does not need it).
 * ev->index is left to the caller. */
static inline __attribute__((always_inline)) bool ravt_dec_event(ravt_dec *d, rav_event *ev, bool intern_text)
{
	if (__builtin_expect(d->left == 0, 0))
		return false;
	if (__builtin_expect(d->seg_left == 0, 0) && !ravt_dec_next_segment(d))
		return false;
	const uint8_t *p = d->ep, *end = d->eend;
	if (__builtin_expect(p >= end, 0)) {
		snprintf(d->why, sizeof d->why, "events end before the chunk's event count");
		return false;
	}
	uint8_t kb = *p++;
	unsigned kind = kb & RAVT_KIND_MAX;
	uint64_t aux, x = 0, a = 0, b = 0, c = 0, r = d->ra;
	unsigned shape;
	const uint32_t tid = d->tid;
	if (__builtin_expect(kind == RAVT_KIND_MAX, 0)) {
		uint64_t k;
		RAVT_GETV(k);
		RAVT_GETV(aux);
		RAVT_GETV(x);
		if (k > 0xffff || aux > 0xffffff)
			goto bad;
		kind = (unsigned)k;
		shape = ravt_shape_of(kind);
		unsigned amask = ravt_shape_addr_mask(shape);
		uint64_t *v[3] = {&a, &b, &c};
		for (int i = 0; i < 3; i++) {
			if (amask & (1u << i)) {
				RAVT_GETA(*v[i]);
				if (i == 0)
					d->ra = r;
			} else {
				RAVT_GETV(*v[i]);
			}
		}
		x ^= tid;
	} else {
		switch (kb >> RAVT_KIND_BITS) {
		case RAVT_AUX_ZERO:
			aux = 0;
			break;
		case RAVT_AUX_ONE:
			aux = 1;
			break;
		case RAVT_AUX_SAME:
			aux = d->last_aux[kind];
			break;
		default:
			RAVT_GETV(aux);
			if (aux > 0xffffff)
				goto bad;
			break;
		}
		d->last_aux[kind] = (uint32_t)aux;
		shape = ravt_shape_of(kind);
		switch (shape) {
		case RAVT_SHAPE_NONE:
			break;
		case RAVT_SHAPE_TIME: {
			uint64_t za, zb, zc;
			RAVT_GETV(za);
			RAVT_GETV(zb);
			RAVT_GETV(zc);
			a = d->tsc_reg += (uint64_t)ravt_unzigzag(za);
			b = d->hz_reg += (uint64_t)ravt_unzigzag(zb);
			if (zc)
				c = d->seq_reg += (uint64_t)ravt_unzigzag(zc - 1);
			break;
		}
		case RAVT_SHAPE_X:
		case RAVT_SHAPE_XTEXT:
			RAVT_GETV(x);
			x ^= tid;
			break;
		case RAVT_SHAPE_XA:
		case RAVT_SHAPE_TYPEDEF:
			RAVT_GETV(x);
			x ^= tid;
			RAVT_GETV(a);
			break;
		case RAVT_SHAPE_XAB:
			RAVT_GETV(x);
			x ^= tid;
			RAVT_GETV(a);
			RAVT_GETV(b);
			break;
		case RAVT_SHAPE_HEAPNEW:
		case RAVT_SHAPE_XSEQ: {
			uint64_t z;
			RAVT_GETV(x);
			x ^= tid;
			if (shape == RAVT_SHAPE_HEAPNEW)
				RAVT_GETV(a);
			RAVT_GETV(z);
			c = d->seq_reg += (uint64_t)ravt_unzigzag(z);
			break;
		}
		case RAVT_SHAPE_PAGE:
		case RAVT_SHAPE_HANDOFF: {
			uint64_t z;
			RAVT_GETA(a);
			d->ra = r;
			if (shape == RAVT_SHAPE_HANDOFF)
				RAVT_GETV(b);
			RAVT_GETV(x);
			x ^= tid;
			RAVT_GETV(z);
			c = d->seq_reg += (uint64_t)ravt_unzigzag(z);
			break;
		}
		case RAVT_SHAPE_MSG: {
			uint64_t z;
			RAVT_GETV(x);
			x ^= tid;
			RAVT_GETV(a);
			RAVT_GETV(b);
			RAVT_GETV(z);
			c = d->seq_reg += (uint64_t)ravt_unzigzag(z);
			break;
		}
		case RAVT_SHAPE_A:
			RAVT_GETA(a);
			d->ra = r;
			break;
		case RAVT_SHAPE_AB:
			RAVT_GETA(a);
			d->ra = r;
			RAVT_GETA(b);
			break;
		case RAVT_SHAPE_ABC:
			RAVT_GETA(a);
			d->ra = r;
			RAVT_GETA(b);
			RAVT_GETA(c);
			break;
		case RAVT_SHAPE_AVV:
			RAVT_GETA(a);
			d->ra = r;
			RAVT_GETV(b);
			RAVT_GETV(c);
			break;
		case RAVT_SHAPE_TEXT:
			RAVT_GETV(a);
			break;
		case RAVT_SHAPE_ACCESS:
			RAVT_GETA(a);
			d->ra = r;
			RAVT_GETV(b);
			break;
		default:
			RAVT_GETV(x);
			x ^= tid;
			RAVT_GETV(a);
			RAVT_GETV(b);
			RAVT_GETV(c);
			break;
		}
	}
	if (__builtin_expect(p > end || x > UINT32_MAX, 0))
		goto bad;
	const char *text = NULL;
	if (__builtin_expect(
	        shape == RAVT_SHAPE_XTEXT || shape == RAVT_SHAPE_TYPEDEF || shape == RAVT_SHAPE_TEXT, 0)) {
		uint64_t tlen = shape == RAVT_SHAPE_XTEXT ? aux : a;
		if (tlen > RAVT_TEXT_MAX || tlen > (uint64_t)(end - p))
			goto bad;
		text = intern_text ? ravt_reader_intern(d->rd, p, (size_t)tlen, shape == RAVT_SHAPE_TYPEDEF)
		                   : NULL;
		p += tlen;
	}
	if (__builtin_expect(d->left == 1, 0) && (p != end || d->sp != d->send || d->next_valid)) {
		snprintf(d->why, sizeof d->why, "bytes left over after the chunk's last event");
		return false;
	}
	/* the decoder's registers first: stores through ev could alias them
	 * as far as the compiler knows.  Runs of sites cover the chunk's
	 * events exactly (checked at load), so a next run exists here. */
	if (__builtin_expect(d->run_left == 0, 0)) {
		d->run_i++;
		d->run_left = d->runs[2 * d->run_i];
		d->site = d->runs[2 * d->run_i + 1];
	}
	d->run_left--;
	const uint32_t site = d->site;
	uint64_t t_fp = d->t_fp;
	d->t_fp = t_fp + d->t_step;
	d->ep = p;
	d->seg_left--;
	d->left--;
	d->ordinal++;
	ev->kind = (uint16_t)kind;
	ev->aux = (uint32_t)aux;
	ev->x = (uint32_t)x;
	ev->a = a;
	ev->b = b;
	ev->c = c;
	ev->thread = tid;
	ev->time_ns = t_fp >> 16;
	ev->text = text;
	ev->site = site;
	return true;
bad:
	snprintf(d->why, sizeof d->why,
	         "event %llu of thread %u (kind %u) is malformed or runs past the chunk",
	         (unsigned long long)d->ordinal, d->tid, kind);
	return false;
}
#undef RAVT_GETV
#undef RAVT_GETA

#endif /* RAVT_READER_DECODE_H */
