/* writer-fast.c - the writer's fast path.
 *
 * Almost every event is a heap write (one to three pool addresses) or the
 * periodic TIME reading.  ravt_writer_encode_run() takes a run of those
 * with the registers in locals: no per-event buffer check (the chunk buffer
 * has RAVT_FAST_SLACK bytes past chunk_bytes), no per-event counters in
 * memory, one table lookup for the kind.  Anything else - ordering events,
 * texts, escapes, null or external addresses - ends the run or goes through
 * the general encoder (writer-encode.c), which writes exactly the same
 * bytes.
 */
#include "writer-private.h"

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
		uint32_t spread =
		    (x & 0x7fu) | ((x << 1) & 0x7f00u) | ((x << 2) & 0x7f0000u) | ((x << 3) & 0x7f000000u);
		spread |= vu_cont[z];
		memcpy(p, &spread, 4);
		return p + vu_len[z];
	}
	return ravt_put_varint(p, v);
}

/* A pool word address: with the address cache (1.5, acache a constant of
 * the inlined copy), one byte for a cell among the last 16 named, else the
 * delta with the cache's marker bit (FORMAT.md 5.3). */
static inline __attribute__((always_inline)) uint8_t *put_pool(uint8_t *p, ravt_wcache *c, uint64_t wi,
                                                               uint64_t r, const bool acache)
{
	if (!acache)
		return put_vu(p, ravt_zigzag((int64_t)(wi - r)) << 2 | RAVT_ADDR_POOL);
	int s = ravt_wcache_slot(c, wi >> 2);
	if (s >= 0) {
		unsigned i = ravt_wcache_take(c, (unsigned)s);
		*p = (uint8_t)((i << 2 | (unsigned)(wi & 3)) << 1);
		return p + 1;
	}
	ravt_wcache_push(c, wi >> 2);
	return put_vu(p, (ravt_zigzag((int64_t)(wi - r)) << 2 | RAVT_ADDR_POOL) << 1 | 1);
}

#define FAST_ADDR(p, addr, r)                                                                                \
	do {                                                                                                 \
		uint64_t _off = (addr)-base;                                                                 \
		if (__builtin_expect(_off < pbytes && !(_off & amask), 1)) {                                 \
			uint64_t _wi = _off >> ws;                                                           \
			p = put_pool(p, cache, _wi, r, acache);                                              \
			r = _wi;                                                                             \
		} else if ((addr) == 0) { /* null: the old value of a slot written first (FORMAT.md 5.3) */  \
			*p++ = acache ? 1 : 0;                                                               \
		} else {                                                                                     \
			p = ravt_writer_put_addr(w, th, p, (addr), &r);                                      \
		}                                                                                            \
	} while (0)

/* Kind byte and aux (FORMAT.md 5.2), as encode_event() writes them. */
#define PUT_KIND()                                                                                           \
	do {                                                                                                 \
		if (aux == 0)                                                                                \
			*p++ = (uint8_t)kind;                                                                \
		else if (aux == 1)                                                                           \
			*p++ = (uint8_t)(kind | RAVT_AUX_ONE << RAVT_KIND_BITS);                             \
		else if (aux == last_aux[kind])                                                              \
			*p++ = (uint8_t)(kind | RAVT_AUX_SAME << RAVT_KIND_BITS);                            \
		else {                                                                                       \
			*p++ = (uint8_t)(kind | RAVT_AUX_VAR << RAVT_KIND_BITS);                             \
			p = put_vu(p, aux);                                                                  \
		}                                                                                            \
		last_aux[kind] = aux;                                                                        \
	} while (0)

/* The thread's segment is open, its event buffer has chunk_bytes +
 * RAVT_FAST_SLACK bytes and is below chunk_bytes. */
static inline __attribute__((always_inline)) size_t encode_run(ravt_writer *w, ravt_wthread *th,
                                                               const rav_raw_event *ev, size_t n,
                                                               const bool acache)
{
	ravt_wcache *const cache = &th->acache;
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
/* Two copies of the loop: with the address cache (1.5) and without (a
 * writer asked for an older version). */
size_t ravt_writer_encode_run(ravt_writer *w, ravt_wthread *th, const rav_raw_event *ev, size_t n)
{
	return w->acache ? encode_run(w, th, ev, n, true) : encode_run(w, th, ev, n, false);
}
#undef FAST_ADDR
#undef PUT_KIND
