/* encode.c - the trace writer: raw engine records in, framed chunks out.
 *
 * One writer serves all threads of a recording.  Each recording thread has
 * its own stream of events, encoded into its own chunk buffer; a chunk holds
 * events of one thread only, so a thread's events stay in program order and
 * can be decoded without looking at other threads.  Delta registers are
 * reset at every chunk start, which is what makes each chunk decodable on
 * its own (seeking, and recovering a truncated file).
 *
 * Alongside the events, each chunk carries a small segment table: the
 * thread's events cut at every TIME and every ordering event, with the TSC
 * and sequence number of each cut.  The reader merges threads into one
 * global order from those tables alone, so the merge never decodes an event
 * twice.  FORMAT.md is the specification of everything written here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "format.h"

typedef struct buf {
	uint8_t *p;
	size_t len, cap;
} buf;

static bool buf_reserve(buf *b, size_t extra)
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

/* writer.fast[] value of kinds the fast path does not take. */
#define FAST_NO 0xffu

typedef struct wthread {
	uint32_t id;
	uint64_t ordinal;       /* stream ordinal of the first event of the open chunk */
	uint32_t count;         /* events in the open chunk */
	uint64_t cur_tsc;       /* last TIME seen on this thread (persists over chunks) */
	bool seen_time;

	/* Chunk-local registers (FORMAT.md "Registers"), reset per chunk. */
	uint64_t ra, rext, tsc_reg, hz_reg, seq_reg;
	uint32_t last_aux[RAVT_KIND_MAX + 1];

	/* Segment table of the open chunk. */
	buf seg;
	buf ev;
	bool seg_open, seg_time_only, seg_has_seq;
	uint32_t seg_n;
	uint64_t seg_tsc, seg_seq, seg_prev_tsc, seg_prev_seq;

	/* A text event whose text records have not all arrived yet. */
	bool pending;
	rav_raw_event pend;
	uint64_t text_len;      /* bytes announced */
	uint64_t text_recs;     /* records still to come */
	buf text;
} wthread;

struct ravt_writer {
	ravt_writer_params p;
	ravt_sink sink;
	void *user;
	unsigned word_shift;
	uint64_t offset;        /* bytes written so far */
	uint64_t events, chunks, last_tsc, last_tsc_any;
	bool failed;
	bool compress_now;
	char error[256];

	wthread **threads;
	size_t nthreads, cap_threads;
	wthread *last;
	uint32_t current;       /* thread the last add() ended on */

	ravt_index_entry *index;
	size_t nindex, cap_index;

	ZSTD_CCtx *cctx;
	int level_now;          /* zstd level set in cctx */
	uint8_t used[256];      /* shape_fields() of every kind byte value */
	uint8_t fast[256];      /* shape of kinds encode_run() takes, else FAST_NO */
	uint64_t fast_pool_bytes; /* pool_bytes, or 0 while the pool base is unknown */
	size_t ev_head;         /* room kept in front of a thread's events (flush_chunk) */
	size_t ev_full;         /* ev.len at which a chunk is full: ev_head + chunk_bytes */
	int8_t text_field[256]; /* where a kind's text length is: 0 none, 1 aux, 2 a */
	buf payload;            /* raw chunk payload */
	buf out;                /* frame + stored payload + padding */
};

/* The context is reused for every chunk; only a level change touches its
 * parameters.  At level 1 a hash table of 2^12 entries (default 2^13 for
 * 64 KiB inputs) compresses event chunks 10-20% faster for under 2% more
 * bytes: most of what zstd gains on them is entropy coding, not matches. */
static void set_level(ravt_writer *w, int level)
{
	if (level == w->level_now)
		return;
	w->level_now = level;
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_hashLog, level == 1 ? 12 : 0);
}

static int fail(ravt_writer *w, const char *fmt, const char *detail)
{
	if (!w->failed) {
		w->failed = true;
		snprintf(w->error, sizeof w->error, fmt, detail);
	}
	return -1;
}

static int emit(ravt_writer *w, const void *data, size_t len)
{
	if (w->failed)
		return -1;
	if (w->sink(data, len, w->user) != 0)
		return fail(w, "writing the trace failed: %s", strerror(errno));
	w->offset += len;
	return 0;
}

static unsigned shape_fields(unsigned shape);

/* The pool range the fast path tests with one compare (address - base <
 * bytes): 0 while the base is unknown (a null address would pass for pool
 * word 0), and never reaching past the top of the address space (an
 * address below the base would pass). */
static uint64_t fast_pool_bytes(uint64_t base, uint64_t bytes)
{
	if (!base)
		return 0;
	return bytes > 0 - base ? 0 - base : bytes;
}

ravt_writer *_ravt_writer_new(const ravt_writer_params *p, ravt_sink sink, void *user,
			      char *errbuf, size_t errlen)
{
	const char *why = NULL;
	if (p->word_size != 4 && p->word_size != 8)
		why = "word size must be 4 or 8 bytes";
	else if (p->cell_size != 4u * p->word_size)
		why = "a raviolo must be 4 words";
	else if (p->page_size < 256 || (p->page_size & (p->page_size - 1)) ||
		 p->page_size / p->cell_size > 16384)
		why = "page size must be a power of two of at most 16384 cells";
	else if (p->cmdline_len > RAVT_HEADER_MAX - sizeof(ravt_header) - 8)
		why = "command line too long";
	if (why) {
		snprintf(errbuf, errlen, "bad trace geometry: %s", why);
		return NULL;
	}
	ravt_writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	w->p = *p;
	w->fast_pool_bytes = fast_pool_bytes(p->pool_base, p->pool_bytes);
	if (!w->p.chunk_bytes)
		w->p.chunk_bytes = 64 * 1024;
	/* A chunk holds chunk_bytes of events plus one last event (its text
	 * is at most 64 KiB) and the segment table: keep it under the
	 * reader's limit. */
	if (w->p.chunk_bytes > RAVT_EVENTS_RAW_MAX / 4)
		w->p.chunk_bytes = RAVT_EVENTS_RAW_MAX / 4;
	/* Events are encoded after room for the frame, the segment table and
	 * its length, so that a chunk is usually written from where its
	 * events are, without assembling a copy (a typical segment table is a
	 * few percent of the events). */
	w->ev_head = (sizeof(ravt_frame) + 10 + w->p.chunk_bytes / 4 + 7) & ~(size_t)7;
	w->ev_full = w->ev_head + w->p.chunk_bytes;
	if (!w->p.zstd_level)
		w->p.zstd_level = 1;
	w->sink = sink;
	w->user = user;
	w->compress_now = !p->no_compress;
	w->word_shift = p->word_size == 8 ? 3 : 2;
	for (unsigned k = 0; k < 256; k++) {
		unsigned shape = ravt_shape_of(k);
		w->used[k] = (uint8_t)shape_fields(shape);
		w->text_field[k] = shape == RAVT_SHAPE_XTEXT ? 1
				   : shape == RAVT_SHAPE_TYPEDEF || shape == RAVT_SHAPE_TEXT ? 2
											  : 0;
		bool plain = shape == RAVT_SHAPE_TIME || shape == RAVT_SHAPE_X || shape == RAVT_SHAPE_XA ||
			     shape == RAVT_SHAPE_A || shape == RAVT_SHAPE_AB || shape == RAVT_SHAPE_ABC ||
			     shape == RAVT_SHAPE_AVV || shape == RAVT_SHAPE_ACCESS;
		w->fast[k] = k < RAVT_KIND_MAX && plain ? (uint8_t)shape : FAST_NO;
	}
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		free(w);
		snprintf(errbuf, errlen, "out of memory (zstd)");
		return NULL;
	}
	w->level_now = 0;
	set_level(w, w->p.zstd_level);

	size_t hsize = (sizeof(ravt_header) + p->cmdline_len + 7) & ~(size_t)7;
	uint8_t *h = calloc(1, hsize);
	if (!h) {
		_ravt_writer_free(w);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	ravt_header *hd = (ravt_header *)h;
	memcpy(hd->magic, RAVT_MAGIC, 8);
	hd->version_major = p->version_major ? p->version_major : RAVT_VERSION_MAJOR;
	hd->version_minor = p->version_major ? p->version_minor : RAVT_VERSION_MINOR;
	hd->endian = RAVT_ENDIAN_LITTLE;
	hd->word_size = p->word_size;
	hd->cell_size = p->cell_size;
	hd->page_size = p->page_size;
	hd->cells_per_page = p->page_size / p->cell_size;
	hd->header_size = (uint32_t)hsize;
	hd->flags = p->flags;
	hd->tsc_hz = p->tsc_hz;
	hd->tsc_start = p->tsc_start;
	hd->start_realtime_ns = p->start_realtime_ns;
	hd->pool_base = p->pool_base;
	hd->cmdline_len = (uint32_t)p->cmdline_len;
	if (p->cmdline_len)
		memcpy(h + sizeof *hd, p->cmdline, p->cmdline_len);
	hd->header_crc = _ravt_header_crc(h, hsize);
	int rc = emit(w, h, hsize);
	free(h);
	if (rc) {
		snprintf(errbuf, errlen, "%s", w->error);
		_ravt_writer_free(w);
		return NULL;
	}
	return w;
}

static wthread *get_thread(ravt_writer *w, uint32_t id)
{
	if (w->last && w->last->id == id)
		return w->last;
	for (size_t i = 0; i < w->nthreads; i++) {
		if (w->threads[i]->id == id)
			return w->last = w->threads[i];
	}
	if (w->nthreads == w->cap_threads) {
		size_t cap = w->cap_threads ? w->cap_threads * 2 : 16;
		wthread **t = realloc(w->threads, cap * sizeof *t);
		if (!t)
			return NULL;
		w->threads = t;
		w->cap_threads = cap;
	}
	wthread *th = calloc(1, sizeof *th);
	if (!th)
		return NULL;
	th->id = id;
	th->cur_tsc = w->last_tsc_any;
	th->ev.len = w->ev_head;
	w->threads[w->nthreads++] = th;
	return w->last = th;
}

/* ---- Segments ----------------------------------------------------------- */

static bool seg_close(wthread *th)
{
	if (!th->seg_open)
		return true;
	th->seg_open = false;
	if (!buf_reserve(&th->seg, 30))
		return false;
	uint8_t *p = th->seg.p + th->seg.len;
	p = ravt_put_varint(p, th->seg_n);
	p = ravt_put_varint(p, ravt_zigzag((int64_t)(th->seg_tsc - th->seg_prev_tsc)));
	th->seg_prev_tsc = th->seg_tsc;
	if (th->seg_has_seq) {
		p = ravt_put_varint(p, ravt_zigzag((int64_t)(th->seg_seq - th->seg_prev_seq)) + 1);
		th->seg_prev_seq = th->seg_seq;
	} else {
		*p++ = 0;
	}
	th->seg.len = (size_t)(p - th->seg.p);
	return true;
}

static bool seg_open(wthread *th, uint64_t tsc)
{
	if (!seg_close(th))
		return false;
	th->seg_open = true;
	th->seg_time_only = false;
	th->seg_has_seq = false;
	th->seg_n = 0;
	th->seg_tsc = tsc;
	return true;
}

/* ---- Events ------------------------------------------------------------- */

/* Which raw fields each shape carries: bit 0 x, 1 a, 2 b, 3 c. */
static unsigned shape_fields(unsigned shape)
{
	switch (shape) {
	case RAVT_SHAPE_NONE: return 0;
	case RAVT_SHAPE_TIME: return 2 | 4 | 8;
	case RAVT_SHAPE_X: return 1;
	case RAVT_SHAPE_XA: return 1 | 2;
	case RAVT_SHAPE_XAB: return 1 | 2 | 4;
	case RAVT_SHAPE_XTEXT: return 1;
	case RAVT_SHAPE_HEAPNEW: return 1 | 2 | 8;
	case RAVT_SHAPE_XSEQ: return 1 | 8;
	case RAVT_SHAPE_TYPEDEF: return 1 | 2;
	case RAVT_SHAPE_PAGE: return 1 | 2 | 8;
	case RAVT_SHAPE_HANDOFF: return 1 | 2 | 4 | 8;
	case RAVT_SHAPE_MSG: return 1 | 2 | 4 | 8;
	case RAVT_SHAPE_A: return 2;
	case RAVT_SHAPE_AB: return 2 | 4;
	case RAVT_SHAPE_ABC: return 2 | 4 | 8;
	case RAVT_SHAPE_AVV: return 2 | 4 | 8;
	case RAVT_SHAPE_TEXT: return 2;
	case RAVT_SHAPE_ACCESS: return 2 | 4;
	default: return 15;
	}
}

/* Text length announced by a raw event, or -1 if the kind has no text. */
static int64_t text_len_of(const rav_raw_event *e)
{
	switch (ravt_shape_of(RAV_EV_KIND(e))) {
	case RAVT_SHAPE_XTEXT: return RAV_EV_AUX(e);
	case RAVT_SHAPE_TYPEDEF:
	case RAVT_SHAPE_TEXT: return (int64_t)(e->a > (1u << 30) ? (1u << 30) : e->a);
	default: return -1;
	}
}

static inline __attribute__((always_inline)) uint8_t *put_addr(const ravt_writer *w, wthread *th, uint8_t *p,
								 uint64_t addr, uint64_t *r)
{
	if (addr == 0) {
		*p++ = 0;
		return p;
	}
	uint64_t off = addr - w->p.pool_base;
	if (addr >= w->p.pool_base && off < w->p.pool_bytes) {
		if ((off & ((1u << w->word_shift) - 1)) == 0) {
			uint64_t wi = off >> w->word_shift;
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(wi - *r)) << 2 | RAVT_ADDR_POOL);
			*r = wi;
		} else {
			p = ravt_put_varint(p, off << 2 | RAVT_ADDR_BYTE);
		}
		return p;
	}
	uint64_t z = ravt_zigzag((int64_t)(addr - th->rext));
	if (z < ((uint64_t)1 << 62)) {
		p = ravt_put_varint(p, z << 2 | RAVT_ADDR_EXT);
	} else {
		*p++ = 4;
		memcpy(p, &addr, 8);
		p += 8;
	}
	th->rext = addr;
	return p;
}

static void chunk_reset(const ravt_writer *w, wthread *th)
{
	th->ra = th->rext = th->tsc_reg = th->hz_reg = th->seq_reg = 0;
	memset(th->last_aux, 0, sizeof th->last_aux);
	th->seg.len = 0;
	th->ev.len = w->ev_head;
	th->seg_open = false;
	th->seg_prev_tsc = th->seg_prev_seq = 0;
	th->count = 0;
}

static int flush_chunk(ravt_writer *w, wthread *th);

static int encode_event(ravt_writer *w, wthread *th, const rav_raw_event *e, const uint8_t *text, size_t tlen)
{
	unsigned kind = RAV_EV_KIND(e);
	uint32_t aux = RAV_EV_AUX(e);
	unsigned shape = ravt_shape_of(kind);
	unsigned used = w->used[kind];
	bool escape = kind > RAVT_KIND_MAX - 1 ||
		      (__builtin_expect(used != 15, 1) && (((used & 1) == 0 && e->x) || ((used & 2) == 0 && e->a) ||
							 ((used & 4) == 0 && e->b) || ((used & 8) == 0 && e->c)));

	/* Segment bookkeeping (reader merges threads by these). */
	if (kind == RAV_EV_TIME) {
		if (!seg_open(th, e->a))
			return fail(w, "%s", "out of memory");
		th->seg_time_only = true;
		th->cur_tsc = e->a;
		th->seen_time = true;
		w->last_tsc_any = e->a;
		if (e->a > w->last_tsc)
			w->last_tsc = e->a;
	} else if (ravt_kind_is_ordering(kind)) {
		if (!(th->seg_open && th->seg_time_only && !th->seg_has_seq)) {
			if (!seg_open(th, th->seen_time ? th->cur_tsc : w->last_tsc_any))
				return fail(w, "%s", "out of memory");
		}
		th->seg_has_seq = true;
		th->seg_seq = e->c;
		th->seg_time_only = false;
	} else {
		if (!th->seg_open && !seg_open(th, th->seen_time ? th->cur_tsc : w->last_tsc_any))
			return fail(w, "%s", "out of memory");
		th->seg_time_only = false;
	}
	th->seg_n++;

	if (!buf_reserve(&th->ev, 64 + tlen))
		return fail(w, "%s", "out of memory");
	uint8_t *p = th->ev.p + th->ev.len;
	uint64_t r = th->ra;

	if (escape) {
		*p++ = RAVT_KIND_MAX;
		p = ravt_put_varint(p, kind);
		p = ravt_put_varint(p, aux);
		p = ravt_put_varint(p, e->x ^ th->id);
		unsigned amask = ravt_shape_addr_mask(shape);
		const uint64_t v[3] = { e->a, e->b, e->c };
		for (int i = 0; i < 3; i++) {
			if (amask & (1u << i)) {
				p = put_addr(w, th, p, v[i], &r);
				if (i == 0)
					th->ra = r;
			} else {
				p = ravt_put_varint(p, v[i]);
			}
		}
	} else {
		uint8_t kb = (uint8_t)kind;
		bool aux_var = false;
		if (aux == 0)
			kb |= RAVT_AUX_ZERO << RAVT_KIND_BITS;
		else if (aux == 1)
			kb |= RAVT_AUX_ONE << RAVT_KIND_BITS;
		else if (aux == th->last_aux[kind])
			kb |= RAVT_AUX_SAME << RAVT_KIND_BITS;
		else {
			kb |= RAVT_AUX_VAR << RAVT_KIND_BITS;
			aux_var = true;
		}
		th->last_aux[kind] = aux;
		*p++ = kb;
		if (aux_var)
			p = ravt_put_varint(p, aux);
		switch (shape) {
		case RAVT_SHAPE_NONE:
			break;
		case RAVT_SHAPE_TIME:
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->a - th->tsc_reg)));
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->b - th->hz_reg)));
			th->tsc_reg = e->a;
			th->hz_reg = e->b;
			/* The engine puts the sequence number of the ordering
			 * event that follows into its TIME event too. */
			if (e->c) {
				p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->c - th->seq_reg)) + 1);
				th->seq_reg = e->c;
			} else {
				*p++ = 0;
			}
			break;
		case RAVT_SHAPE_X:
		case RAVT_SHAPE_XTEXT:
			p = ravt_put_varint(p, e->x ^ th->id);
			break;
		case RAVT_SHAPE_XA:
		case RAVT_SHAPE_TYPEDEF:
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, e->a);
			break;
		case RAVT_SHAPE_XAB:
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, e->a);
			p = ravt_put_varint(p, e->b);
			break;
		case RAVT_SHAPE_HEAPNEW:
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, e->a);
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->c - th->seq_reg)));
			th->seq_reg = e->c;
			break;
		case RAVT_SHAPE_XSEQ:
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->c - th->seq_reg)));
			th->seq_reg = e->c;
			break;
		case RAVT_SHAPE_PAGE:
		case RAVT_SHAPE_HANDOFF:
			p = put_addr(w, th, p, e->a, &r);
			th->ra = r;
			if (shape == RAVT_SHAPE_HANDOFF)
				p = ravt_put_varint(p, e->b);
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->c - th->seq_reg)));
			th->seq_reg = e->c;
			break;
		case RAVT_SHAPE_MSG:
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, e->a);
			p = ravt_put_varint(p, e->b);
			p = ravt_put_varint(p, ravt_zigzag((int64_t)(e->c - th->seq_reg)));
			th->seq_reg = e->c;
			break;
		case RAVT_SHAPE_A:
			p = put_addr(w, th, p, e->a, &r);
			th->ra = r;
			break;
		case RAVT_SHAPE_AB:
		case RAVT_SHAPE_ABC:
			p = put_addr(w, th, p, e->a, &r);
			th->ra = r;
			p = put_addr(w, th, p, e->b, &r);
			if (shape == RAVT_SHAPE_ABC)
				p = put_addr(w, th, p, e->c, &r);
			break;
		case RAVT_SHAPE_AVV:
			p = put_addr(w, th, p, e->a, &r);
			th->ra = r;
			p = ravt_put_varint(p, e->b);
			p = ravt_put_varint(p, e->c);
			break;
		case RAVT_SHAPE_TEXT:
			p = ravt_put_varint(p, e->a);
			break;
		case RAVT_SHAPE_ACCESS:
			p = put_addr(w, th, p, e->a, &r);
			th->ra = r;
			p = ravt_put_varint(p, e->b);
			break;
		default: /* GENERIC */
			p = ravt_put_varint(p, e->x ^ th->id);
			p = ravt_put_varint(p, e->a);
			p = ravt_put_varint(p, e->b);
			p = ravt_put_varint(p, e->c);
			break;
		}
	}
	if (tlen) {
		memcpy(p, text, tlen);
		p += tlen;
	}
	th->ev.len = (size_t)(p - th->ev.p);
	th->count++;
	w->events++;
	if (th->ev.len >= w->ev_full)
		return flush_chunk(w, th);
	return 0;
}

/* A text event: its length field is clamped to what is stored. */
static int encode_text_event(ravt_writer *w, wthread *th, const rav_raw_event *e, const uint8_t *text, uint64_t len)
{
	rav_raw_event c = *e;
	if (len > RAVT_TEXT_MAX) {
		len = RAVT_TEXT_MAX;
		if (ravt_shape_of(RAV_EV_KIND(e)) == RAVT_SHAPE_XTEXT)
			c.kind = (c.kind & 0xffu) | (uint32_t)(len << 8);
		else
			c.a = len;
	}
	return encode_event(w, th, &c, text, (size_t)len);
}

/* ---- Fast path ---------------------------------------------------------
 * Almost every event is a heap write (one to three pool addresses) or the
 * periodic TIME reading.  encode_run() takes a run of those with the
 * registers in locals: no per-event buffer check (the chunk buffer has
 * FAST_SLACK bytes past chunk_bytes), no per-event counters in memory, one
 * table lookup for the kind.  Anything else - ordering events, texts,
 * escapes, null or external addresses - ends the run or goes through the
 * general code above, which writes exactly the same bytes. */

/* Largest event encode_run() writes: kind byte, aux varint, three 10-byte
 * operands, plus the 4-byte store of put_vu. */
#define FAST_SLACK 64

/* A varint; values below 2^28 (nearly all) without a loop or branches on
 * their length (address deltas have unpredictable lengths): the four 7-bit
 * groups are spread into a 32-bit word, stored whole, and the length and
 * continuation bits come from tables indexed by the count of leading zero
 * bits (4 ... 31 for a value below 2^28; entries 0-3 are never used). */
static const uint32_t vu_cont[33] = {
	0x808080, 0x808080, 0x808080, 0x808080, 0x808080, 0x808080, 0x808080, 0x808080, 0x808080,
	0x808080, 0x808080, 0x8080,   0x8080,   0x8080,   0x8080,   0x8080,   0x8080,   0x8080,
	0x80,     0x80,     0x80,     0x80,     0x80,     0x80,     0x80,     0,        0,
	0,        0,        0,        0,        0,        0,
};
static const uint8_t vu_len[33] = {
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1,
};
static inline __attribute__((always_inline)) uint8_t *put_vu(uint8_t *p, uint64_t v)
{
	if (__builtin_expect(v < (1u << 28), 1)) {
		uint32_t x = (uint32_t)v;
		unsigned z = (unsigned)__builtin_clz(x | 1);
		uint32_t spread = (x & 0x7fu) | ((x << 1) & 0x7f00u) | ((x << 2) & 0x7f0000u) | ((x << 3) & 0x7f000000u);
		spread |= vu_cont[z];
		memcpy(p, &spread, 4);
		return p + vu_len[z];
	}
	return ravt_put_varint(p, v);
}

/* Null, unaligned-pool and external addresses (rare). */
static __attribute__((noinline)) uint8_t *put_addr_other(const ravt_writer *w, wthread *th, uint8_t *p, uint64_t addr,
							 uint64_t *r)
{
	return put_addr(w, th, p, addr, r);
}

#define FAST_ADDR(p, addr, r)                                                                               \
	do {                                                                                                \
		uint64_t _off = (addr) - base;                                                              \
		if (__builtin_expect(_off < pbytes && !(_off & amask), 1)) {                                \
			uint64_t _wi = _off >> ws;                                                          \
			p = put_vu(p, ravt_zigzag((int64_t)(_wi - r)) << 2 | RAVT_ADDR_POOL);               \
			r = _wi;                                                                            \
		} else {                                                                                    \
			p = put_addr_other(w, th, p, (addr), &r);                                           \
		}                                                                                           \
	} while (0)

/* Kind byte and aux (FORMAT.md 5.2), as encode_event() writes them. */
#define PUT_KIND()                                                                                          \
	do {                                                                                                \
		if (aux == 0)                                                                               \
			*p++ = (uint8_t)kind;                                                               \
		else if (aux == 1)                                                                          \
			*p++ = (uint8_t)(kind | RAVT_AUX_ONE << RAVT_KIND_BITS);                            \
		else if (aux == last_aux[kind])                                                             \
			*p++ = (uint8_t)(kind | RAVT_AUX_SAME << RAVT_KIND_BITS);                           \
		else {                                                                                      \
			*p++ = (uint8_t)(kind | RAVT_AUX_VAR << RAVT_KIND_BITS);                            \
			p = put_vu(p, aux);                                                                 \
		}                                                                                           \
		last_aux[kind] = aux;                                                                       \
	} while (0)

/* Encodes ev[0..n) from the start while the events are plain and the chunk
 * has room; returns how many it took.  The thread's segment is open, its
 * event buffer has chunk_bytes + FAST_SLACK bytes and is below chunk_bytes. */
static size_t encode_run(ravt_writer *w, wthread *th, const rav_raw_event *ev, size_t n)
{
	uint8_t *p = th->ev.p + th->ev.len;
	uint8_t *const limit = th->ev.p + w->ev_full;
	const uint64_t base = w->p.pool_base, pbytes = w->fast_pool_bytes;
	const unsigned ws = w->word_shift;
	const uint64_t amask = ((uint64_t)1 << ws) - 1;
	const uint32_t tid = th->id;
	uint32_t *const last_aux = th->last_aux;
	uint64_t ra = th->ra;
	uint32_t seg_n = th->seg_n;
	bool time_only = th->seg_time_only;
	size_t i = 0;
	for (; i < n; i++) {
		const rav_raw_event *e = &ev[i];
		const uint32_t kw = e->kind;
		const unsigned kind = kw & 0xffu;
		const unsigned shape = w->fast[kind];
		const uint32_t aux = kw >> 8;
		uint64_t r = ra;
		/* Each case first checks that the fields its shape does not carry
		 * are 0 (else the event needs the escape form). */
		switch (shape) {
		case RAVT_SHAPE_A:
			if (e->x | e->b | e->c)
				goto out;
			PUT_KIND();
			FAST_ADDR(p, e->a, r);
			ra = r;
			time_only = false;
			break;
		case RAVT_SHAPE_AB:
			if (e->x | e->c)
				goto out;
			PUT_KIND();
			FAST_ADDR(p, e->a, r);
			ra = r;
			FAST_ADDR(p, e->b, r);
			time_only = false;
			break;
		case RAVT_SHAPE_ABC:
			if (e->x)
				goto out;
			PUT_KIND();
			FAST_ADDR(p, e->a, r);
			ra = r;
			FAST_ADDR(p, e->b, r);
			FAST_ADDR(p, e->c, r);
			time_only = false;
			break;
		case RAVT_SHAPE_AVV:
			if (e->x)
				goto out;
			PUT_KIND();
			FAST_ADDR(p, e->a, r);
			ra = r;
			p = put_vu(p, e->b);
			p = put_vu(p, e->c);
			time_only = false;
			break;
		case RAVT_SHAPE_ACCESS:
			if (e->x | e->c)
				goto out;
			PUT_KIND();
			FAST_ADDR(p, e->a, r);
			ra = r;
			p = put_vu(p, e->b);
			time_only = false;
			break;
		case RAVT_SHAPE_X:
			if (e->a | e->b | e->c)
				goto out;
			PUT_KIND();
			p = put_vu(p, e->x ^ tid);
			time_only = false;
			break;
		case RAVT_SHAPE_XA:
			if (e->b | e->c)
				goto out;
			PUT_KIND();
			p = put_vu(p, e->x ^ tid);
			p = put_vu(p, e->a);
			time_only = false;
			break;
		case RAVT_SHAPE_TIME: { /* closes the open segment, starts one at its tsc */
			if (e->x || th->seg.len + 30 > th->seg.cap)
				goto out;
			PUT_KIND();
			uint8_t *s = th->seg.p + th->seg.len;
			s = put_vu(s, seg_n);
			s = put_vu(s, ravt_zigzag((int64_t)(th->seg_tsc - th->seg_prev_tsc)));
			th->seg_prev_tsc = th->seg_tsc;
			if (th->seg_has_seq) {
				s = put_vu(s, ravt_zigzag((int64_t)(th->seg_seq - th->seg_prev_seq)) + 1);
				th->seg_prev_seq = th->seg_seq;
				th->seg_has_seq = false;
			} else {
				*s++ = 0;
			}
			th->seg.len = (size_t)(s - th->seg.p);
			seg_n = 0;
			th->seg_tsc = e->a;
			th->cur_tsc = e->a;
			th->seen_time = true;
			w->last_tsc_any = e->a;
			if (e->a > w->last_tsc)
				w->last_tsc = e->a;
			time_only = true;
			p = put_vu(p, ravt_zigzag((int64_t)(e->a - th->tsc_reg)));
			p = put_vu(p, ravt_zigzag((int64_t)(e->b - th->hz_reg)));
			th->tsc_reg = e->a;
			th->hz_reg = e->b;
			if (e->c) {
				p = put_vu(p, ravt_zigzag((int64_t)(e->c - th->seq_reg)) + 1);
				th->seq_reg = e->c;
			} else {
				*p++ = 0;
			}
			break;
		}
		default:
			goto out;
		}
		seg_n++;
		if (__builtin_expect(p >= limit, 0)) {
			i++;
			break;
		}
	}
out:
	th->ev.len = (size_t)(p - th->ev.p);
	th->ra = ra;
	th->seg_n = seg_n;
	th->seg_time_only = time_only;
	th->count += (uint32_t)i;
	w->events += i;
	return i;
}
#undef FAST_ADDR
#undef PUT_KIND

int _ravt_writer_add(ravt_writer *w, uint32_t thread, const rav_raw_event *ev, size_t n)
{
	if (w->failed)
		return -1;
	/* The engine tags a buffer with its thread's heap id when it hands the
	 * buffer out, so a thread's first buffer, taken before its heap
	 * existed, says thread 0.  If the buffer holds the thread's own
	 * THREAD_START, all of it is that heap's thread's (splitting it would
	 * put the two halves in different streams, whose order the reader
	 * could then only guess from equal timestamps). */
	if (thread == 0) {
		for (size_t k = 0; k < n; k++) {
			const rav_raw_event *e = &ev[k];
			if (RAV_EV_KIND(e) == RAV_EV_THREAD_START && e->x != 0) {
				thread = e->x;
				break;
			}
			int8_t tf = w->text_field[RAV_EV_KIND(e)];
			if (tf)
				k += ((tf == 1 ? RAV_EV_AUX(e) : e->a > (1u << 30) ? (1u << 30) : e->a) + 31) / 32;
		}
	}
	wthread *th = get_thread(w, thread);
	if (!th)
		return fail(w, "%s", "out of memory");
	w->current = thread;
	size_t i = 0;
	if (th->pending) {
		while (i < n && th->text_recs) {
			size_t have = th->text.len;
			if (have < th->text_len && have < RAVT_TEXT_MAX) {
				size_t take = 32;
				if (take > th->text_len - have)
					take = (size_t)(th->text_len - have);
				if (!buf_reserve(&th->text, take))
					return fail(w, "%s", "out of memory");
				memcpy(th->text.p + have, &ev[i], take);
				th->text.len += take;
			}
			th->text_recs--;
			i++;
		}
		if (th->text_recs)
			return 0;
		th->pending = false;
		if (encode_text_event(w, th, &th->pend, th->text.p, th->text.len) != 0)
			return -1;
	}
	while (i < n) {
		if (th->seg_open && th->ev.len < w->ev_full) {
			if (!buf_reserve(&th->ev, w->ev_full - th->ev.len + FAST_SLACK))
				return fail(w, "%s", "out of memory");
			i += encode_run(w, th, ev + i, n - i);
			if (th->ev.len >= w->ev_full && flush_chunk(w, th) != 0)
				return -1;
			if (i >= n)
				break;
		}
		const rav_raw_event *e = &ev[i];
		if (__builtin_expect(!w->text_field[RAV_EV_KIND(e)], 1)) {
			if (encode_event(w, th, e, NULL, 0) != 0)
				return -1;
			i++;
			continue;
		}
		int64_t tl = text_len_of(e);
		if (tl < 0) {
			if (encode_event(w, th, e, NULL, 0) != 0)
				return -1;
			i++;
			continue;
		}
		uint64_t recs = ((uint64_t)tl + 31) / 32;
		if (recs <= n - i - 1) {
			if (encode_text_event(w, th, e, (const uint8_t *)&ev[i + 1], (uint64_t)tl) != 0)
				return -1;
			i += 1 + recs;
			continue;
		}
		/* The text continues in this thread's next buffer. */
		th->pending = true;
		th->pend = *e;
		th->text_len = (uint64_t)tl;
		th->text_recs = recs;
		th->text.len = 0;
		i++;
		while (i < n) {
			size_t have = th->text.len;
			size_t take = 32;
			if (take > th->text_len - have)
				take = (size_t)(th->text_len - have);
			if (have < RAVT_TEXT_MAX) {
				if (!buf_reserve(&th->text, take))
					return fail(w, "%s", "out of memory");
				memcpy(th->text.p + have, &ev[i], take);
				th->text.len += take;
			}
			th->text_recs--;
			i++;
		}
	}
	return 0;
}

static bool index_add(ravt_writer *w, uint64_t offset, const wthread *th)
{
	if (w->nindex == w->cap_index) {
		size_t cap = w->cap_index ? w->cap_index * 2 : 256;
		ravt_index_entry *e = realloc(w->index, cap * sizeof *e);
		if (!e)
			return false;
		w->index = e;
		w->cap_index = cap;
	}
	w->index[w->nindex++] = (ravt_index_entry){ offset, th->ordinal, th->id, th->count };
	return true;
}

/* Frames and writes one chunk.  With `in_place`, raw has sizeof(ravt_frame)
 * writable bytes before it and 8 after it, so a chunk stored raw is framed
 * and written where it is instead of being copied. */
static int write_chunk(ravt_writer *w, uint16_t kind, uint8_t *raw, size_t raw_len, bool compress, bool in_place,
		       uint32_t thread, uint32_t count, uint64_t first)
{
	if (raw_len > RAVT_PAYLOAD_MAX)
		return fail(w, "%s", "chunk payload too large");
	uint8_t *payload = raw;
	size_t stored = raw_len;
	uint16_t flags = 0;
	if (compress) {
		size_t bound = ZSTD_compressBound(raw_len);
		w->out.len = 0;
		if (!buf_reserve(&w->out, sizeof(ravt_frame) + bound + 8))
			return fail(w, "%s", "out of memory");
		size_t z = ZSTD_compress2(w->cctx, w->out.p + sizeof(ravt_frame), bound, raw, raw_len);
		if (ZSTD_isError(z))
			return fail(w, "zstd compression failed: %s", ZSTD_getErrorName(z));
		if (z < raw_len) {
			payload = w->out.p + sizeof(ravt_frame);
			stored = z;
			flags = RAVT_CF_ZSTD;
		}
	}
	if (!flags && !in_place) {
		w->out.len = 0;
		if (!buf_reserve(&w->out, sizeof(ravt_frame) + raw_len + 8))
			return fail(w, "%s", "out of memory");
		payload = w->out.p + sizeof(ravt_frame);
		memcpy(payload, raw, raw_len);
	}
	size_t padded = (stored + 7) & ~(size_t)7;
	memset(payload + stored, 0, padded - stored);
	ravt_frame f = {
		.sync = RAVT_CHUNK_SYNC,
		.kind = kind,
		.flags = flags,
		.stored_len = (uint32_t)stored,
		.raw_len = (uint32_t)raw_len,
		.thread = thread,
		.count = count,
		.first = first,
		.payload_crc = _ravt_crc32c(0, payload, stored),
	};
	f.frame_crc = _ravt_frame_crc(&f);
	memcpy(payload - sizeof f, &f, sizeof f);
	w->chunks++;
	return emit(w, payload - sizeof f, sizeof f + padded);
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static int flush_chunk(ravt_writer *w, wthread *th)
{
	if (w->failed)
		return -1;
	if (th->count == 0)
		return 0;
	if (!seg_close(th))
		return fail(w, "%s", "out of memory");
	/* Padding (and put_vu's 4-byte stores) after the events. */
	if (!buf_reserve(&th->ev, 8))
		return fail(w, "%s", "out of memory");
	size_t evlen = th->ev.len - w->ev_head;
	size_t pre = varint_len(th->seg.len) + th->seg.len;
	uint8_t *payload;
	bool in_place = pre + sizeof(ravt_frame) <= w->ev_head;
	if (in_place) {
		/* The usual case: the segment table goes in front of the events. */
		payload = th->ev.p + w->ev_head - pre;
	} else {
		w->payload.len = 0;
		if (!buf_reserve(&w->payload, pre + evlen))
			return fail(w, "%s", "out of memory");
		payload = w->payload.p;
		memcpy(payload + pre, th->ev.p + w->ev_head, evlen);
	}
	uint8_t *p = ravt_put_varint(payload, th->seg.len);
	memcpy(p, th->seg.p, th->seg.len);
	uint64_t off = w->offset;
	if (!index_add(w, off, th))
		return fail(w, "%s", "out of memory");
	if (write_chunk(w, RAVT_CHUNK_EVENTS, payload, pre + evlen, w->compress_now, in_place, th->id, th->count,
			th->ordinal) != 0)
		return -1;
	th->ordinal += th->count;
	chunk_reset(w, th);
	return 0;
}

int _ravt_writer_flush_thread(ravt_writer *w, uint32_t thread)
{
	if (w->failed)
		return -1;
	for (size_t i = 0; i < w->nthreads; i++) {
		if (w->threads[i]->id == thread)
			return flush_chunk(w, w->threads[i]);
	}
	return 0;
}

int _ravt_writer_finish(ravt_writer *w, uint64_t dropped)
{
	for (size_t i = 0; i < w->nthreads; i++) {
		if (flush_chunk(w, w->threads[i]) != 0)
			return -1;
	}
	if (w->failed)
		return -1;
	size_t len = sizeof(ravt_trailer) + w->nindex * sizeof(ravt_index_entry) + 8;
	uint8_t *t = calloc(1, len);
	if (!t)
		return fail(w, "%s", "out of memory");
	ravt_trailer tr = {
		.events = w->events,
		.chunks = w->nindex,
		.threads = (uint32_t)w->nthreads,
		.last_tsc = w->last_tsc,
		.dropped = dropped,
	};
	memcpy(t, &tr, sizeof tr);
	if (w->nindex)
		memcpy(t + sizeof tr, w->index, w->nindex * sizeof(ravt_index_entry));
	uint64_t self = w->offset;
	memcpy(t + len - 8, &self, 8);
	int rc = write_chunk(w, RAVT_CHUNK_TRAILER, t, len, false, false, 0, 0, 0);
	free(t);
	return rc;
}

int _ravt_writer_raw_chunk(ravt_writer *w, uint16_t kind, uint16_t flags, const void *payload, uint32_t len,
			   uint32_t thread, uint32_t count, uint64_t first)
{
	if (w->failed)
		return -1;
	w->out.len = 0;
	size_t padded = ((size_t)len + 7) & ~(size_t)7;
	if (!buf_reserve(&w->out, sizeof(ravt_frame) + padded))
		return fail(w, "%s", "out of memory");
	memset(w->out.p, 0, sizeof(ravt_frame) + padded);
	if (len)
		memcpy(w->out.p + sizeof(ravt_frame), payload, len);
	ravt_frame f = {
		.sync = RAVT_CHUNK_SYNC,
		.kind = kind,
		.flags = flags,
		.stored_len = len,
		.raw_len = len,
		.thread = thread,
		.count = count,
		.first = first,
		.payload_crc = _ravt_crc32c(0, w->out.p + sizeof(ravt_frame), len),
	};
	f.frame_crc = _ravt_frame_crc(&f);
	memcpy(w->out.p, &f, sizeof f);
	return emit(w, w->out.p, sizeof f + padded);
}

void _ravt_writer_set_compress(ravt_writer *w, bool compress)
{
	w->compress_now = compress;
	if (compress)
		set_level(w, w->p.zstd_level);
}

void _ravt_writer_set_level(ravt_writer *w, int level)
{
	w->compress_now = level != 0;
	if (level)
		set_level(w, level);
}

void _ravt_writer_set_pool(ravt_writer *w, uint64_t base, uint64_t bytes)
{
	w->p.pool_base = base;
	w->p.pool_bytes = bytes;
	/* With base 0 the fast path would take a null address for a pool one. */
	w->fast_pool_bytes = fast_pool_bytes(base, bytes);
}

const char *_ravt_writer_error(const ravt_writer *w)
{
	return w->failed ? w->error : NULL;
}

uint32_t _ravt_writer_current_thread(const ravt_writer *w)
{
	return w->current;
}

uint64_t _ravt_writer_events(const ravt_writer *w)
{
	return w->events;
}

uint64_t _ravt_writer_bytes(const ravt_writer *w)
{
	return w->offset;
}

void _ravt_writer_free(ravt_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nthreads; i++) {
		wthread *th = w->threads[i];
		free(th->seg.p);
		free(th->ev.p);
		free(th->text.p);
		free(th);
	}
	free(w->threads);
	free(w->index);
	free(w->payload.p);
	free(w->out.p);
	ZSTD_freeCCtx(w->cctx);
	free(w);
}
