/* writer-encode.c - the general event encoder (FORMAT.md section 5): any
 * kind, the segment table the reader merges threads by, texts, and the
 * escape form for events with values their kind's shape does not carry.
 *
 * Almost every event of a real trace goes through the fast path
 * (writer-fast.c) instead; everything else - ordering events, texts,
 * escapes, null or external addresses - comes here.
 */
#include "writer-private.h"

/* ---- Segments ----------------------------------------------------------- */

bool ravt_writer_seg_close(ravt_wthread *th)
{
	if (!th->seg_open)
		return true;
	th->seg_open = false;
	if (!ravt_buf_reserve(&th->seg, 30))
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

static bool seg_open(ravt_wthread *th, uint64_t tsc)
{
	if (!ravt_writer_seg_close(th))
		return false;
	th->seg_open = true;
	th->seg_time_only = false;
	th->seg_has_seq = false;
	th->seg_n = 0;
	th->seg_tsc = tsc;
	return true;
}

/* ---- Events ------------------------------------------------------------- */

unsigned ravt_shape_fields(unsigned shape)
{
	switch (shape) {
	case RAVT_SHAPE_NONE:
		return 0;
	case RAVT_SHAPE_TIME:
		return 2 | 4 | 8;
	case RAVT_SHAPE_X:
		return 1;
	case RAVT_SHAPE_XA:
		return 1 | 2;
	case RAVT_SHAPE_XAB:
		return 1 | 2 | 4;
	case RAVT_SHAPE_XTEXT:
		return 1;
	case RAVT_SHAPE_HEAPNEW:
		return 1 | 2 | 8;
	case RAVT_SHAPE_XSEQ:
		return 1 | 8;
	case RAVT_SHAPE_TYPEDEF:
		return 1 | 2;
	case RAVT_SHAPE_PAGE:
		return 1 | 2 | 8;
	case RAVT_SHAPE_HANDOFF:
		return 1 | 2 | 4 | 8;
	case RAVT_SHAPE_MSG:
		return 1 | 2 | 4 | 8;
	case RAVT_SHAPE_A:
		return 2;
	case RAVT_SHAPE_AB:
		return 2 | 4;
	case RAVT_SHAPE_ABC:
		return 2 | 4 | 8;
	case RAVT_SHAPE_AVV:
		return 2 | 4 | 8;
	case RAVT_SHAPE_TEXT:
		return 2;
	case RAVT_SHAPE_ACCESS:
		return 2 | 4;
	default:
		return 15;
	}
}

int64_t ravt_text_len_of(const rav_raw_event *e)
{
	switch (ravt_shape_of(RAV_EV_KIND(e))) {
	case RAVT_SHAPE_XTEXT:
		return RAV_EV_AUX(e);
	case RAVT_SHAPE_TYPEDEF:
	case RAVT_SHAPE_TEXT:
		return (int64_t)(e->a > (1u << 30) ? (1u << 30) : e->a);
	default:
		return -1;
	}
}

/* FORMAT.md 5.3 without the address cache (chunk kind EVENTS). */
static inline __attribute__((always_inline)) uint8_t *put_addr_plain(const ravt_writer *w, ravt_wthread *th,
                                                                     uint8_t *p, uint64_t addr, uint64_t *r)
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

/* With the address cache (EVENTS_AC, 1.5): a pool word of a cached cell is
 * one byte; anything else is the plain operand, shifted left by one with
 * bit 0 set (so external deltas take one bit less: z < 2^61). */
static inline __attribute__((always_inline)) uint8_t *put_addr_cached(const ravt_writer *w, ravt_wthread *th,
                                                                      uint8_t *p, uint64_t addr, uint64_t *r)
{
	uint64_t off = addr - w->p.pool_base;
	if (addr && addr >= w->p.pool_base && off < w->p.pool_bytes &&
	    (off & ((1u << w->word_shift) - 1)) == 0) {
		uint64_t wi = off >> w->word_shift;
		int s = ravt_wcache_slot(&th->acache, wi >> 2);
		if (s >= 0) {
			unsigned i = ravt_wcache_take(&th->acache, (unsigned)s);
			*p++ = (uint8_t)((i << 2 | (unsigned)(wi & 3)) << 1);
		} else {
			ravt_wcache_push(&th->acache, wi >> 2);
			p = ravt_put_varint(p, (ravt_zigzag((int64_t)(wi - *r)) << 2 | RAVT_ADDR_POOL) << 1 | 1);
		}
		*r = wi;
		return p;
	}
	if (addr == 0) {
		*p++ = 1;
		return p;
	}
	if (addr >= w->p.pool_base && off < w->p.pool_bytes)
		return ravt_put_varint(p, (off << 2 | RAVT_ADDR_BYTE) << 1 | 1);
	uint64_t z = ravt_zigzag((int64_t)(addr - th->rext));
	if (z < ((uint64_t)1 << 61)) {
		p = ravt_put_varint(p, (z << 2 | RAVT_ADDR_EXT) << 1 | 1);
	} else {
		*p++ = 4 << 1 | 1;
		memcpy(p, &addr, 8);
		p += 8;
	}
	th->rext = addr;
	return p;
}

static inline __attribute__((always_inline)) uint8_t *put_addr(const ravt_writer *w, ravt_wthread *th,
                                                               uint8_t *p, uint64_t addr, uint64_t *r)
{
	return w->acache ? put_addr_cached(w, th, p, addr, r) : put_addr_plain(w, th, p, addr, r);
}

/* The fast path's way to the same encoding for the addresses it does not
 * take itself (null, unaligned, external: rare). */
__attribute__((noinline)) uint8_t *ravt_writer_put_addr(const ravt_writer *w, ravt_wthread *th, uint8_t *p,
                                                        uint64_t addr, uint64_t *r)
{
	return put_addr(w, th, p, addr, r);
}

void ravt_writer_chunk_reset(const ravt_writer *w, ravt_wthread *th)
{
	th->ra = th->rext = th->tsc_reg = th->hz_reg = th->seq_reg = 0;
	memset(th->last_aux, 0, sizeof th->last_aux);
	ravt_wcache_reset(&th->acache);
	th->seg.len = 0;
	th->ev.len = w->ev_head;
	th->seg_open = false;
	th->seg_prev_tsc = th->seg_prev_seq = 0;
	th->count = 0;
	ravt_writer_sites_reset(th);
}

int ravt_writer_encode(ravt_writer *w, ravt_wthread *th, const rav_raw_event *e, const uint8_t *text,
                       size_t tlen)
{
	unsigned kind = RAV_EV_KIND(e);
	uint32_t aux = RAV_EV_AUX(e);
	unsigned shape = ravt_shape_of(kind);
	unsigned used = w->used[kind];
	bool escape = kind > RAVT_KIND_MAX - 1 || (__builtin_expect(used != 15, 1) &&
	                                           (((used & 1) == 0 && e->x) || ((used & 2) == 0 && e->a) ||
	                                            ((used & 4) == 0 && e->b) || ((used & 8) == 0 && e->c)));

	if (!ravt_writer_site_mark(th))
		return ravt_writer_fail(w, "%s", "out of memory");
	/* Segment bookkeeping (reader merges threads by these). */
	if (kind == RAV_EV_TIME) {
		if (!seg_open(th, e->a))
			return ravt_writer_fail(w, "%s", "out of memory");
		th->seg_time_only = true;
		th->cur_tsc = e->a;
		th->seen_time = true;
		w->last_tsc_any = e->a;
		if (e->a > w->last_tsc)
			w->last_tsc = e->a;
	} else if (ravt_kind_is_ordering(kind)) {
		if (!(th->seg_open && th->seg_time_only && !th->seg_has_seq)) {
			if (!seg_open(th, th->seen_time ? th->cur_tsc : w->last_tsc_any))
				return ravt_writer_fail(w, "%s", "out of memory");
		}
		th->seg_has_seq = true;
		th->seg_seq = e->c;
		th->seg_time_only = false;
	} else {
		if (!th->seg_open && !seg_open(th, th->seen_time ? th->cur_tsc : w->last_tsc_any))
			return ravt_writer_fail(w, "%s", "out of memory");
		th->seg_time_only = false;
	}
	th->seg_n++;

	if (!ravt_buf_reserve(&th->ev, 64 + tlen))
		return ravt_writer_fail(w, "%s", "out of memory");
	uint8_t *p = th->ev.p + th->ev.len;
	uint64_t r = th->ra;

	if (escape) {
		*p++ = RAVT_KIND_MAX;
		p = ravt_put_varint(p, kind);
		p = ravt_put_varint(p, aux);
		p = ravt_put_varint(p, e->x ^ th->id);
		unsigned amask = ravt_shape_addr_mask(shape);
		const uint64_t v[3] = {e->a, e->b, e->c};
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
		return ravt_writer_flush_chunk(w, th);
	return 0;
}

int ravt_writer_encode_text(ravt_writer *w, ravt_wthread *th, const rav_raw_event *e, const uint8_t *text,
                            uint64_t len)
{
	rav_raw_event c = *e;
	if (len > RAVT_TEXT_MAX) {
		len = RAVT_TEXT_MAX;
		if (ravt_shape_of(RAV_EV_KIND(e)) == RAVT_SHAPE_XTEXT)
			c.kind = (c.kind & 0xffu) | (uint32_t)(len << 8);
		else
			c.a = len;
	}
	return ravt_writer_encode(w, th, &c, text, (size_t)len);
}
