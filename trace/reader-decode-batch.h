/* reader-decode-batch.h - the batch decoder's loop (reader-decode.h), a
 * template: no include guard, included once per instance.
 *
 * reader-decode.h includes it as ravt_dec_batch_as, inline, its flags as
 * arguments (constants where it is inlined), with one dispatch per event
 * through a switch: the one-event decoding of ravt_dec_event (a seek's,
 * the random-access cache's) and compilers without computed gotos.
 *
 * With RAVT_DB_NAME defined it is that out-of-line function instead
 * (reader-decode.c, reader-decode-ssse3.c: the merge's and the cursors'
 * batches), its flags the constants RAVT_DB_INTERN, RAVT_DB_STOP,
 * RAVT_DB_ACACHE and RAVT_DB_SIMD, and where the compiler has labels as
 * values (GCC, clang) each case ends by reading the next event's kind byte
 * and jumping to its case itself: one indirect jump per case instead of
 * the one shared jump, which the kinds' irregular order made mispredict
 * (perf: 12-15% of the loop's samples on the first instruction of the
 * commonest cases; a jump per case predicts from the case before).  A
 * function with a computed goto cannot be inlined, hence the instances. */

#if defined(RAVT_DB_NAME) && (defined(__GNUC__) || defined(__clang__)) && !defined(RAVT_DB_NO_GOTO)
#define RAVT_DB_GOTO 1
#endif

/* GCC's cross-jumping merges the cases' ends, which are the same code,
 * back into one: one shared indirect jump again (9 in the merge's loop
 * instead of 20).  Off for these functions. */
#if defined(RAVT_DB_GOTO) && defined(__GNUC__) && !defined(__clang__)
#define RAVT_DB_ATTR __attribute__((optimize("no-crossjumping")))
#else
#define RAVT_DB_ATTR
#endif

/* An event of a shape of RAVT_DEC_NAMING_SHAPES (its case only: a store
 * in a few events, none on the pool's) */
#define RAVT_DB_NAMING() (d->naming = true)
#define RAVT_GETV(dst)                                                                                       \
	do {                                                                                                 \
		if (!(p = ravt_vget(p, &(dst))))                                                             \
			goto bad;                                                                            \
	} while (0)
#define RAVT_GETA(dst)                                                                                       \
	do {                                                                                                 \
		if (!(p = ravt_dec_addr(&R, p, &(dst), acache, simd)))                                                     \
			goto bad;                                                                            \
	} while (0)
/* x' (a heap id XOR the thread's): 32 bits */
#define RAVT_GETX()                                                                                          \
	do {                                                                                                 \
		RAVT_GETV(x);                                                                                \
		if (x > UINT32_MAX)                                                                          \
			goto bad;                                                                            \
		x ^= d->tid;                                                                                 \
	} while (0)
/* The text of `len` bytes after the operands (only text events have one:
 * the check is in their cases, not on every event's path) */
#define RAVT_GETTEXT(len)                                                                                    \
	do {                                                                                                 \
		uint64_t tl_ = (len);                                                                        \
		if (p > end || tl_ > RAVT_TEXT_MAX || tl_ > (uint64_t)(end - p))                             \
			goto bad;                                                                            \
		text = intern_text ? ravt_reader_intern(d->rd, p, (size_t)tl_, shape == RAVT_SHAPE_TYPEDEF) \
		                   : NULL;                                                                   \
		p += tl_;                                                                                    \
	} while (0)

/* Decode up to n events of the current segment (1 <= n <= d->seg_left)
 * into out[0 .. n), with indices g, g + 1, ...  intern_text: give text
 * events their stable text (skipping events for a seek does not need it).
 * Returns how many were decoded: n; or fewer when stop_snapshot is set and
 * a snapshot event came (it is the last one given: its piece must reach the
 * sinks before the events after it); or fewer with d->failed and d->why
 * when an event is malformed (the events before it are good; the decoder
 * must be loaded again before it is used).
 *
 * One tight loop per batch: the position, the address register, the
 * address cache's order, the time and the call-site run live in locals
 * and go back to *d at the end; the registers few events use (rext, tsc,
 * hz, seq) are read and written in *d (see ravt_dregs). */
#ifdef RAVT_DB_NAME
RAVT_DB_ATTR uint32_t RAVT_DB_NAME(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g)
{
	const bool intern_text = RAVT_DB_INTERN, stop_snapshot = RAVT_DB_STOP, acache = RAVT_DB_ACACHE;
	const bool simd = RAVT_DB_SIMD;
	(void)simd; /* (read only where RAVT_DAC_SIMD) */
#else
static inline __attribute__((always_inline)) uint32_t ravt_dec_batch_as(ravt_dec *d, rav_event *out, uint32_t n,
                                                                        uint64_t g, bool intern_text,
                                                                        bool stop_snapshot, bool acache,
                                                                        bool simd)
{
#endif
	ravt_dregs R = {.d = d, .r = 0, .ac_order = d->ac_order};
#ifdef RAVT_DAC_SIMD
	if (simd)
		R.ac_vorder = ravt_dacv_from_word(R.ac_order);
#endif
	const uint8_t *p = d->ep;
	const uint8_t *const end = d->eend;
	uint64_t ra = d->ra;
	/* (d->aux through d itself: read per event either way, as a memory
	 * operand) */
	unsigned kind = 0;
	/* An event that starts at the end (no earlier: each event ends by
	 * checking p <= end) reads a padding zero byte, kind 0 with no
	 * operands (RAVT_SHAPE_NONE), and fails the p > end check below: no
	 * check of its own.  The failure says so: in the switch, from where
	 * the event started; with a case per shape, its case none jumps to
	 * at_end instead (keeping the start was a store to the stack on every
	 * event). */
	bool ended;
#ifndef RAVT_DB_GOTO
	const uint8_t *start = p;
#endif
	/* (the loop counts with the event pointer alone: a counter beside it
	 * was one register too many, kept on the stack) */
	rav_event *ev = out, *const ev_end = out + n;
	uint32_t k; /* (events decoded: ev - out, once the loop is left) */
	/* the event being decoded (declared out here: in RAVT_DB_GOTO, the
	 * end of one event's case starts the next one) */
	size_t kb, shape;
	uint32_t aux;
	uint64_t x, a, b, c;
	const char *text;
#ifdef RAVT_DB_GOTO
#define RAVT_DB_START() ((void)0)
#else
#define RAVT_DB_START() (start = p)
#endif
	/* The start of an event: its kind byte, and what it says */
#define RAVT_DB_HEAD()                                                                                       \
	do {                                                                                                 \
		RAVT_DB_START();                                                                             \
		kb = *p++;                                                                                   \
		kind = (unsigned)(kb & RAVT_KIND_MAX);                                                       \
		aux = d->aux[ravt_dec_kb.aux_at[kb]];                                                        \
		x = a = b = c = 0;                                                                           \
		text = NULL;                                                                                 \
		shape = ravt_dec_kb.shape[kb];                                                               \
		R.r = ra;                                                                                    \
		/* (mode SAME's aux for the next event of the kind; an escape's                              \
		 * byte is kind 63's, whose entry no kind byte reads) */                                     \
		d->aux[kind] = aux;                                                                          \
		/* (stored now: two registers fewer while the operands are read) */                          \
		ev->kind = (uint16_t)kind;                                                                   \
		ev->aux = aux;                                                                               \
	} while (0)
	/* The end of an event: its operands (kind and aux: RAVT_DB_HEAD;
	 * index, time, thread and site: ravt_dec_fill, after the loop) */
#define RAVT_DB_STORE()                                                                                      \
	do {                                                                                                 \
		if (__builtin_expect(p > end, 0))                                                            \
			goto bad;                                                                            \
		ev->x = (uint32_t)x;                                                                         \
		ev->a = a;                                                                                   \
		ev->b = b;                                                                                   \
		ev->c = c;                                                                                   \
		ev->text = text;                                                                             \
	} while (0)
#ifdef RAVT_DB_GOTO
	/* by shape, its case (the two values that are not shapes last) */
	static const void *const case_at[RAVT_DSH_VARAUX + 1] = {
	    [RAVT_SHAPE_NONE] = &&c_none,       [RAVT_SHAPE_TIME] = &&c_time,       [RAVT_SHAPE_X] = &&c_x,
	    [RAVT_SHAPE_XA] = &&c_xa,           [RAVT_SHAPE_XAB] = &&c_xab,         [RAVT_SHAPE_XTEXT] = &&c_xtext,
	    [RAVT_SHAPE_HEAPNEW] = &&c_heapnew, [RAVT_SHAPE_XSEQ] = &&c_xseq,       [RAVT_SHAPE_TYPEDEF] = &&c_typedef,
	    [RAVT_SHAPE_PAGE] = &&c_page,       [RAVT_SHAPE_HANDOFF] = &&c_handoff, [RAVT_SHAPE_MSG] = &&c_msg,
	    [RAVT_SHAPE_A] = &&c_a,             [RAVT_SHAPE_AB] = &&c_ab,           [RAVT_SHAPE_ABC] = &&c_abc,
	    [RAVT_SHAPE_AVV] = &&c_avv,         [RAVT_SHAPE_TEXT] = &&c_text,       [RAVT_SHAPE_ACCESS] = &&c_access,
	    [RAVT_SHAPE_GENERIC] = &&c_generic, [RAVT_DSH_ESC] = &&c_esc,           [RAVT_DSH_VARAUX] = &&c_varaux};
	_Static_assert(RAVT_SHAPE_GENERIC == 18 && RAVT_DSH_VARAUX == 20, "a case for every shape");
	/* a case's label, beside its `case` */
#define RAVT_DB_CASE(lbl) lbl:
	/* a case's end: store the event, start the next one and jump to its
	 * case, or leave the loop after the batch's last */
#define RAVT_DB_NEXT()                                                                                       \
	do {                                                                                                 \
		RAVT_DB_STORE();                                                                             \
		if (++ev == ev_end)                                                                          \
			goto done;                                                                           \
		RAVT_DB_HEAD();                                                                              \
		goto *case_at[shape];                                                                        \
	} while (0)
	/* the case of a shape found within a case (a varint aux's) */
#define RAVT_DB_REDISPATCH() goto *case_at[shape]
#else
#define RAVT_DB_CASE(lbl)
#define RAVT_DB_NEXT() break
#define RAVT_DB_REDISPATCH() goto dispatch
#endif
	for (; ev < ev_end; ev++) {
		RAVT_DB_HEAD();
#ifdef RAVT_DB_GOTO
		goto *case_at[shape];
#else
		/* One dispatch for every byte: the two values that are not
		 * shapes are the switch's last cases (no test before it). */
	dispatch:
#endif
		switch (shape) {
		case RAVT_SHAPE_NONE:
			RAVT_DB_CASE(c_none)
#ifdef RAVT_DB_GOTO
			/* (p is the start + 1: past the end only when it started there) */
			if (__builtin_expect(p > end, 0))
				goto at_end;
#endif
			RAVT_DB_NEXT();
		case RAVT_SHAPE_TIME:
		RAVT_DB_CASE(c_time) {
			uint64_t za, zb, zc;
			RAVT_GETV(za);
			RAVT_GETV(zb);
			RAVT_GETV(zc);
			a = d->tsc_reg += (uint64_t)ravt_unzigzag(za);
			b = d->hz_reg += (uint64_t)ravt_unzigzag(zb);
			if (zc)
				c = d->seq_reg += (uint64_t)ravt_unzigzag(zc - 1);
			RAVT_DB_NEXT();
		}
		case RAVT_SHAPE_X:
			RAVT_DB_CASE(c_x)
			RAVT_DB_NAMING();
			RAVT_GETX();
			RAVT_DB_NEXT();
		case RAVT_SHAPE_XTEXT:
			RAVT_DB_CASE(c_xtext)
			RAVT_DB_NAMING();
			RAVT_GETX();
			RAVT_GETTEXT(aux);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_XA:
			RAVT_DB_CASE(c_xa)
			RAVT_GETX();
			RAVT_GETV(a);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_TYPEDEF:
			RAVT_DB_CASE(c_typedef)
			RAVT_DB_NAMING();
			RAVT_GETX();
			RAVT_GETV(a);
			RAVT_GETTEXT(a);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_XAB:
			RAVT_DB_CASE(c_xab)
			RAVT_GETX();
			RAVT_GETV(a);
			RAVT_GETV(b);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_HEAPNEW:
			RAVT_DB_CASE(c_heapnew)
		case RAVT_SHAPE_XSEQ:
		RAVT_DB_CASE(c_xseq) {
			uint64_t z;
			RAVT_DB_NAMING(); /* (and HEAPNEW's) */
			RAVT_GETX();
			if (shape == RAVT_SHAPE_HEAPNEW)
				RAVT_GETV(a);
			RAVT_GETV(z);
			c = d->seq_reg += (uint64_t)ravt_unzigzag(z);
			RAVT_DB_NEXT();
		}
		case RAVT_SHAPE_PAGE:
			RAVT_DB_CASE(c_page)
		case RAVT_SHAPE_HANDOFF:
		RAVT_DB_CASE(c_handoff) {
			uint64_t z;
			RAVT_GETA(a);
			ra = R.r;
			if (shape == RAVT_SHAPE_HANDOFF)
				RAVT_GETV(b);
			RAVT_GETX();
			RAVT_GETV(z);
			c = d->seq_reg += (uint64_t)ravt_unzigzag(z);
			RAVT_DB_NEXT();
		}
		case RAVT_SHAPE_MSG:
		RAVT_DB_CASE(c_msg) {
			uint64_t z;
			RAVT_DB_NAMING();
			RAVT_GETX();
			RAVT_GETV(a);
			RAVT_GETV(b);
			RAVT_GETV(z);
			c = d->seq_reg += (uint64_t)ravt_unzigzag(z);
			RAVT_DB_NEXT();
		}
		case RAVT_SHAPE_A:
			RAVT_DB_CASE(c_a)
			RAVT_GETA(a);
			ra = R.r;
			RAVT_DB_NEXT();
		case RAVT_SHAPE_AB:
			RAVT_DB_CASE(c_ab)
			RAVT_GETA(a);
			ra = R.r;
			RAVT_GETA(b);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_ABC:
			RAVT_DB_CASE(c_abc)
			RAVT_GETA(a);
			ra = R.r;
			RAVT_GETA(b);
			RAVT_GETA(c);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_AVV:
			RAVT_DB_CASE(c_avv)
			RAVT_GETA(a);
			ra = R.r;
			RAVT_GETV(b);
			RAVT_GETV(c);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_TEXT:
			RAVT_DB_CASE(c_text)
			RAVT_DB_NAMING();
			RAVT_GETV(a);
			RAVT_GETTEXT(a);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_ACCESS:
			RAVT_DB_CASE(c_access)
			RAVT_GETA(a);
			ra = R.r;
			RAVT_GETV(b);
			RAVT_DB_NEXT();
		case RAVT_SHAPE_GENERIC:
			RAVT_DB_CASE(c_generic)
			RAVT_GETX();
			RAVT_GETV(a);
			RAVT_GETV(b);
			RAVT_GETV(c);
			/* (a snapshot has this shape, or comes escaped) */
			if (stop_snapshot && __builtin_expect(ev->kind == RAV_EV_SNAPSHOT, 0))
				goto snapshot;
			RAVT_DB_NEXT();
		case RAVT_DSH_VARAUX:
		RAVT_DB_CASE(c_varaux) {
			uint64_t va;
			RAVT_GETV(va);
			if (va > 0xffffff)
				goto bad;
			aux = (uint32_t)va;
			ev->aux = aux;
			d->aux[kind] = aux;
			shape = ravt_dec_kb.shape[kind]; /* (mode ZERO's byte: a shape) */
			RAVT_DB_REDISPATCH();
		}
		case RAVT_DSH_ESC:
		RAVT_DB_CASE(c_esc) {
			uint64_t kk, va;
			RAVT_DB_NAMING(); /* (any kind may come escaped) */
			RAVT_GETV(kk);
			RAVT_GETV(va);
			RAVT_GETX();
			if (kk > 0xffff || va > 0xffffff)
				goto bad;
			kind = (unsigned)kk;
			aux = (uint32_t)va;
			ev->kind = (uint16_t)kind;
			ev->aux = aux;
			shape = ravt_shape_of(kind);
			/* (each operand by name: an array of pointers to a, b
			 * and c would keep them in memory for every event) */
			unsigned amask = ravt_shape_addr_mask(shape);
			if (amask & 1) {
				RAVT_GETA(a);
				ra = R.r;
			} else {
				RAVT_GETV(a);
			}
			if (amask & 2)
				RAVT_GETA(b);
			else
				RAVT_GETV(b);
			if (amask & 4)
				RAVT_GETA(c);
			else
				RAVT_GETV(c);
			if (shape == RAVT_SHAPE_XTEXT)
				RAVT_GETTEXT(aux);
			else if (shape == RAVT_SHAPE_TYPEDEF || shape == RAVT_SHAPE_TEXT)
				RAVT_GETTEXT(a);
			if (stop_snapshot && __builtin_expect(ev->kind == RAV_EV_SNAPSHOT, 0))
				goto snapshot;
			RAVT_DB_NEXT();
		}
		default:
			/* (the table holds shapes and the two values above: no
			 * range check) */
			__builtin_unreachable();
		}
		/* (RAVT_DB_NEXT's break) */
		RAVT_DB_STORE();
		continue;
	snapshot:
		/* (a snapshot event: the batch's last) */
		RAVT_DB_STORE();
		ev++;
		break;
	}
#ifdef RAVT_DB_GOTO
done:
#endif
	k = (uint32_t)(ev - out);
	ravt_dec_fill(d, out, k, g);
	d->ep = p;
	d->ra = ra;
#ifdef RAVT_DAC_SIMD
	if (simd)
		R.ac_order = ravt_dacv_to_word(R.ac_vorder);
#endif
	d->ac_order = R.ac_order;
	d->seg_left -= k;
	d->left -= k;
	d->ordinal += k;
	if (__builtin_expect(d->left == 0, 0) && (p != end || d->sp != d->send || d->next_valid)) {
		d->ordinal--;
		ravt_dec_say(d, "bytes left over after the chunk's last event");
		d->failed = true;
		d->ci = -1;
		return k - 1;
	}
	return k;
bad:
#ifdef RAVT_DB_GOTO
	ended = false;
	goto failed;
at_end:
	ended = true;
failed:
#else
	ended = start >= end;
#endif
	k = (uint32_t)(ev - out);
	if (ended)
		ravt_dec_say(d, "events end before the chunk's event count");
	else
		ravt_dec_say(d,
		         "event %llu of thread %u (kind %u) is malformed or runs past the chunk",
		         (unsigned long long)(d->ordinal + k), d->tid, (unsigned)ev->kind);
	/* the events before are good; the decoder's place is not kept */
	ravt_dec_fill(d, out, k, g);
	d->ordinal += k;
	d->failed = true;
	d->ci = -1;
	d->left = d->seg_left = 0;
	return k;
}
#undef RAVT_DB_NAMING
#undef RAVT_GETV
#undef RAVT_GETA
#undef RAVT_GETX
#undef RAVT_GETTEXT
#undef RAVT_DB_HEAD
#undef RAVT_DB_START
#undef RAVT_DB_STORE
#undef RAVT_DB_CASE
#undef RAVT_DB_NEXT
#undef RAVT_DB_REDISPATCH
#undef RAVT_DB_ATTR
#ifdef RAVT_DB_GOTO
#undef RAVT_DB_GOTO
#endif
