/* format-roundtrip.c - the trace format end to end without the engine:
 * synthetic raw records go through the writer exactly as the recorder feeds
 * it, and the reader must give back the same events (with addresses turned
 * into locations), in the right global order, through every access path:
 * index + cursor, random access, iterators with filters, find next/prev.
 * Also: version handling, unknown chunk kinds, truncated files, and the same
 * chunk sequence read incrementally from a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "trace-private.h"
#include "trace-test.h"

typedef struct expect {
	uint16_t kind;
	uint32_t aux, x, thread;
	uint64_t a, b, c;
	const char *text;
} expect;

typedef struct script {
	rav_raw_event raw[512];
	size_t nraw;
	expect exp[256];
	size_t nexp;
} script;

static void push(script *s, uint32_t thread, rav_raw_event e, const char *text, uint64_t ea, uint64_t eb, uint64_t ec)
{
	REQUIRE(s->nexp < 256 && s->nraw < 500);
	s->raw[s->nraw++] = e;
	size_t tl = text ? strlen(text) : 0;
	if (text) {
		size_t recs = (tl + 31) / 32;
		REQUIRE(s->nraw + recs < 512);
		memset(&s->raw[s->nraw], 0, recs * sizeof(rav_raw_event));
		memcpy(&s->raw[s->nraw], text, tl);
		s->nraw += recs;
	}
	s->exp[s->nexp++] = (expect){ (uint16_t)(e.kind & 0xff), e.kind >> 8, e.x, thread, ea, eb, ec, text };
}

/* Kinds beyond 0xff do not fit the raw record: only the escape test uses
 * them, through the writer's raw kind byte (kind & 0xff). */
/* The script's ordering events take the numbers q + 1 .. q + 7 (its first
 * TIME carries q). */
#define EVERY_KIND_SEQS 7
static void build_every_kind_from(script *s, uint32_t th, uint64_t q)
{
	memset(s, 0, sizeof *s);
#define P(kind, aux, x, a, b, c, text, ea, eb, ec) push(s, th, tt_ev(kind, aux, x, a, b, c), text, ea, eb, ec)
#define L rav_loc_make
	P(RAV_EV_TIME, 0, 0, 5000, 0, 0, NULL, 5000, 0, 0);
	P(RAV_EV_TIME, 0, 0, 6000, 3000000000ull, q, NULL, 6000, 3000000000ull, q);
	P(RAV_EV_THREAD_START, 0, th, 1234, 0, q + 1, NULL, 1234, 0, q + 1);
	P(RAV_EV_THREAD_NAME, 12, th, 0, 0, 0, "worker-seven", 0, 0, 0);
	P(RAV_EV_HEAP_NEW, 1, 9, th, 0, q + 2, NULL, th, 0, q + 2);
	P(RAV_EV_TYPE_DEF, 17, 2, 4, 0, 0, "node", 4, 0, 0);
	P(RAV_EV_PAGE_ACQUIRE, 1, th, tt_addr(3, 0, 0), 0, q + 3, NULL, L(3, 0, 0), 0, q + 3);
	P(RAV_EV_PAGE_RELEASE, 0, th, tt_addr(3, 0, 0), 0, q + 4, NULL, L(3, 0, 0), 0, q + 4);
	P(RAV_EV_PAGE_HANDOFF, 0, th, tt_addr(4, 0, 0), 9, q + 5, NULL, L(4, 0, 0), 9, q + 5);
	P(RAV_EV_ALLOC, 17, 0, tt_addr(3, 5, 0), 0, 0, NULL, L(3, 5, 0), 0, 0);
	P(RAV_EV_ALLOC, 17, 0, tt_addr(3, 6, 0), 0, 0, NULL, L(3, 6, 0), 0, 0);
	P(RAV_EV_FREE, 17, 0, tt_addr(3, 5, 0), 0, 0, NULL, L(3, 5, 0), 0, 0);
	P(RAV_EV_MOVE, 0, 0, tt_addr(3, 9, 0), tt_addr(3, 5, 0), 0, NULL, L(3, 9, 0), L(3, 5, 0), 0);
	P(RAV_EV_TRIM, 0, 0, tt_addr(3, 9, 0), 0, 0, NULL, L(3, 9, 0), 0, 0);
	P(RAV_EV_FIXUP, 0, 0, tt_addr(3, 2, 1), tt_addr(3, 9, 0), tt_addr(3, 5, 0), NULL, L(3, 2, 1), L(3, 9, 0),
	  L(3, 5, 0));
	P(RAV_EV_REF_STORE, 0, 0, tt_addr(3, 2, 2), 0, tt_addr(5, 1, 0), NULL, L(3, 2, 2), 0, L(5, 1, 0));
	P(RAV_EV_REF_CLEAR, 0, 0, tt_addr(3, 2, 2), tt_addr(5, 1, 0), 0, NULL, L(3, 2, 2), L(5, 1, 0), 0);
	P(RAV_EV_DATA_STORE, 0, 0, tt_addr(3, 2, 1), 0, 0xdeadbeefcafef00dull, NULL, L(3, 2, 1), 0,
	  0xdeadbeefcafef00dull);
	P(RAV_EV_LINK, 0, 0, tt_addr(3, 2, 3), tt_addr(0, 1, 1), tt_addr(200000, 127, 2), NULL, L(3, 2, 3),
	  L(0, 1, 1), L(200000, 127, 2));
	P(RAV_EV_TYPE_WORD, 0, 0, tt_addr(3, 2, 0), 17, 17 | (5ull << 24), NULL, L(3, 2, 0), 17, 17 | (5ull << 24));
	P(RAV_EV_REFRAV_INSERT, 0, 0, tt_addr(3, 7, 0), tt_addr(3, 6, 0), 0, NULL, L(3, 7, 0), L(3, 6, 0), 0);
	P(RAV_EV_REFRAV_REMOVE, 0, 0, tt_addr(3, 7, 0), 0, 0, NULL, L(3, 7, 0), 0, 0);
	P(RAV_EV_ROOT_NEW, 0, 0, tt_addr(0, 1, 1), 0, 0, NULL, L(0, 1, 1), 0, 0);
	P(RAV_EV_ROOT_FREE, 0, 0, tt_addr(0, 1, 1), 0, 0, NULL, L(0, 1, 1), 0, 0);
	P(RAV_EV_MSG_BUILD, 0, 9, 0, 0, 0, NULL, 0, 0, 0);
	P(RAV_EV_MSG_SEND, 0, 9, 1, 2, q + 6, NULL, 1, 2, q + 6);
	P(RAV_EV_MSG_RECV, 0, 9, 1, th, q + 7, NULL, 1, th, q + 7);
	P(RAV_EV_COMPACT_BEGIN, 2, th, 0, 0, 0, NULL, 0, 0, 0);
	P(RAV_EV_COMPACT_END, 0, th, 3, 0, 0, NULL, 3, 0, 0);
	P(RAV_EV_SERIALIZE, 0, th, 10, 400, 0, NULL, 10, 400, 0);
	P(RAV_EV_DESERIALIZE, 0, th, 10, 380, 0, NULL, 10, 380, 0);
	P(RAV_EV_GC_BEGIN, 0, th, 0, 0, 0, NULL, 0, 0, 0);
	P(RAV_EV_GC_END, 0, th, 5, 0, 0, NULL, 5, 0, 0);
	const char *longmsg = "stale borrow of cell 3.5: a message long enough to cross several raw records";
	P(RAV_EV_ERROR, 5, 0, strlen(longmsg), 0, 0, longmsg, strlen(longmsg), 0, 0);
	P(RAV_EV_MARK, 0, 0, 0, 0, 0, "", 0, 0, 0);
	P(RAV_EV_MARK, 0, 0, 32, 0, 0, "exactly thirty-two bytes long!!!", 32, 0, 0);
	P(RAV_EV_ACCESS, 1, 0, tt_addr(3, 2, 1), 8, 0, NULL, L(3, 2, 1), 8, 0);
	P(RAV_EV_ACCESS, 0, 0, 0x55550000ull, 4, 0, NULL, RAV_LOC_EXTERNAL | 0x55550000ull, 4, 0);
	P(RAV_EV_ACCESS, 0, 0, tt_addr(3, 2, 1) + 4, 4, 0, NULL, L(3, 2, 1), 4, 0);
	P(RAV_EV_ACCESS, 1, 0, 0xffff000000000001ull, 1, 0, NULL, RAV_LOC_EXTERNAL | 0x7fff000000000001ull, 1, 0);
	P(RAV_EV_ACCESS, 1, 0, 0x55550008ull, 8, 0, NULL, RAV_LOC_EXTERNAL | 0x55550008ull, 8, 0);
	/* Fields a kind does not normally carry take the escape form. */
	P(RAV_EV_ALLOC, 17, 99, tt_addr(3, 6, 0), 0, 0, NULL, L(3, 6, 0), 0, 0);
	P(RAV_EV_NONE, 3, 1, 2, 3, 4, NULL, 2, 3, 4);
	P(40, 7, 1, 2, 3, 4, NULL, 2, 3, 4);  /* a kind newer than this reader: generic shape */
	P(63, 0x123456, 5, 6, 7, 8, NULL, 6, 7, 8); /* escape kind byte value itself */
	P(RAV_EV_ALLOC, 1, 0, tt_addr(3, 8, 0), 0, 0, NULL, L(3, 8, 0), 0, 0);
	P(RAV_EV_ALLOC, 0x800000, 0, tt_addr(3, 8, 0), 0, 0, NULL, L(3, 8, 0), 0, 0);
	P(RAV_EV_ALLOC, 0x800000, 0, tt_addr(3, 9, 0), 0, 0, NULL, L(3, 9, 0), 0, 0);
	P(RAV_EV_TIME, 0, 0, 7000, 3000000000ull, 0, NULL, 7000, 3000000000ull, 0);
	P(RAV_EV_TIME, 0, 0, 100, 3000000000ull, 0, NULL, 100, 3000000000ull, 0); /* before tsc_start */
	P(RAV_EV_DATA_STORE, 0, 0, tt_addr(3, 2, 1), UINT64_MAX, 1, NULL, L(3, 2, 1), UINT64_MAX, 1);
#undef P
#undef L
}

static void build_every_kind(script *s, uint32_t th)
{
	build_every_kind_from(s, th, 11);
}

static bool same(const rav_event *ev, const expect *e)
{
	bool ok = ev->kind == e->kind && ev->aux == e->aux && ev->a == e->a && ev->b == e->b && ev->c == e->c &&
		  ev->thread == e->thread && ev->x == e->x;
	if (e->text)
		ok = ok && ev->text && strcmp(ev->text, e->text) == 0;
	else
		ok = ok && ev->text == NULL;
	if (!ok)
		fprintf(stderr,
			"event %" PRIu64 ": got kind %u aux %u x %u a %" PRIx64 " b %" PRIx64 " c %" PRIx64
			" thread %u text %s\n  want kind %u aux %u x %u a %" PRIx64 " b %" PRIx64 " c %" PRIx64
			" thread %u text %s\n",
			ev->index, ev->kind, ev->aux, ev->x, ev->a, ev->b, ev->c, ev->thread,
			ev->text ? ev->text : "(null)", e->kind, e->aux, e->x, e->a, e->b, e->c, e->thread,
			e->text ? e->text : "(null)");
	return ok;
}

static rav_trace *open_indexed(const tt_mem *m)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(m->buf.p, m->buf.len, &err);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return NULL;
	}
	if (rav_trace_index(t, NULL, NULL, &err) != 0) {
		fprintf(stderr, "index: %s\n", err.message);
		rav_trace_close(t);
		return NULL;
	}
	return t;
}

static void test_every_kind(void)
{
	static script s;
	build_every_kind(&s, 7);
	/* Every split of the records into two buffers (texts cut included),
	 * with tiny chunks and with default ones, compressed or not. */
	for (size_t split = 0; split <= s.nraw; split++) {
		for (int variant = 0; variant < 3; variant++) {
			if (variant && split % 7)
				continue;
			tt_mem m = { 0 };
			ravt_writer *w = tt_writer(&m, variant == 0 ? 48 : 0, variant == 2);
			REQUIRE(w);
			CHECK(ravt_writer_add(w, 7, s.raw, split) == 0);
			CHECK(ravt_writer_add(w, 7, s.raw + split, s.nraw - split) == 0);
			CHECK(ravt_writer_finish(w, 0) == 0);
			CHECK_EQ(ravt_writer_events(w), s.nexp);
			ravt_writer_free(w);
			rav_trace *t = open_indexed(&m);
			REQUIRE(t);
			rav_trace_info info;
			rav_trace_get_info(t, &info);
			CHECK_EQ(info.events, s.nexp);
			CHECK(!info.truncated);
			CHECK(strcmp(info.program, "synthetic --test") == 0);
			CHECK_EQ(info.start_ns, 1700000000000000000ull);
			/* Sequential cursor. */
			ravt_cursor cur;
			ravt_cursor_init(&cur, ravt_trace_reader(t), 0);
			rav_event ev;
			size_t n = 0;
			while (ravt_cursor_next(&cur, &ev)) {
				CHECK_EQ(ev.index, n);
				if (n < s.nexp && !same(&ev, &s.exp[n]))
					tt_failures++;
				n++;
			}
			CHECK(!cur.failed);
			CHECK_EQ(n, s.nexp);
			ravt_cursor_fini(&cur);
			/* Random access, backwards. */
			for (size_t i = s.nexp; i-- > 0;) {
				CHECK(rav_trace_event_at(t, i, &ev));
				CHECK_EQ(ev.index, i);
				if (!same(&ev, &s.exp[i]))
					tt_failures++;
			}
			CHECK(!rav_trace_event_at(t, s.nexp, &ev));
			/* Segment times: TIME events carry their own time (tick = 1 ns, start 1000). */
			CHECK(rav_trace_event_at(t, 0, &ev));
			CHECK_EQ(ev.time_ns, 4000);
			CHECK(rav_trace_event_at(t, 1, &ev));
			CHECK_EQ(ev.time_ns, 5000);
			/* Tables built while indexing. */
			rav_trace_thread th, msg;
			CHECK(rav_trace_thread_by_id(t, 7, &th) && strcmp(th.name, "worker-seven") == 0);
			CHECK(rav_trace_thread_by_id(t, 9, &msg) && msg.kind == RAV_HEAP_MESSAGE && msg.parent == 7);
			rav_trace_type ty;
			CHECK(rav_trace_type_by_id(t, 17, &ty) && strcmp(ty.name, "node") == 0 && !ty.field_is_ref[0] &&
			      ty.field_is_ref[1]);
			CHECK_EQ(rav_trace_mark_count(t), 2);
			rav_trace_close(t);
			tt_mem_free(&m);
			if (tt_failures)
				return;
		}
	}
}

/* ---- Multi-thread merge -------------------------------------------------- */

typedef struct tl_event {
	uint32_t thread;
	uint64_t id;     /* unique, in global timeline order */
	bool ordering;
	uint64_t seq;
} tl_event;

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	return xorshift64(&rng_state);
}

/* Three threads act on a shared timeline; each action is a TIME event
 * then some data stores whose value names the action (thread order and
 * global order can be checked from the values).  Some actions are ordering
 * events with a global sequence number.  skew: thread 2's clock runs ahead,
 * so TSC order disagrees with sequence order there. */
static void test_merge(uint64_t skew, bool exact)
{
	enum { T = 3, STEPS = 3000 };
	static rav_raw_event buf[T][STEPS * 8];
	size_t n[T] = { 0 };
	static tl_event order[STEPS * 8];
	size_t norder = 0;
	uint64_t clock = 2000, seq = 100;
	for (int step = 0; step < STEPS; step++) {
		uint32_t th = (uint32_t)(rnd() % T);
		clock += 1 + rnd() % 50;
		uint64_t tsc = clock + (th == 2 ? skew : 0);
		bool ordering = rnd() % 4 == 0;
		uint64_t s = ordering ? ++seq : 0;
		buf[th][n[th]++] = tt_ev(RAV_EV_TIME, 0, 0, tsc, 0, s);
		order[norder] = (tl_event){ th + 1, norder, false, 0 };
		norder++;
		if (ordering) {
			buf[th][n[th]++] = tt_ev(RAV_EV_PAGE_ACQUIRE, 0, th + 1, tt_addr(10 + th, 0, 0), 0, s);
			order[norder] = (tl_event){ th + 1, norder, true, s };
			norder++;
		}
		int k = (int)(rnd() % 5);
		for (int i = 0; i < k; i++) {
			buf[th][n[th]++] = tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(10 + th, 1, 1), 0, norder);
			order[norder] = (tl_event){ th + 1, norder, false, 0 };
			norder++;
		}
	}
	/* Hand buffers to the writer in an arbitrary interleaving, like the
	 * recorder's queue does. */
	tt_mem m = { 0 };
	ravt_writer *w = tt_writer(&m, 512, false);
	REQUIRE(w);
	size_t done[T] = { 0 };
	for (;;) {
		int left = 0;
		for (int i = 0; i < T; i++)
			left += done[i] < n[i];
		if (!left)
			break;
		uint32_t th = (uint32_t)(rnd() % T);
		if (done[th] >= n[th])
			continue;
		size_t take = 1 + rnd() % 200;
		if (take > n[th] - done[th])
			take = n[th] - done[th];
		CHECK(ravt_writer_add(w, th + 1, buf[th] + done[th], take) == 0);
		done[th] += take;
		if (rnd() % 5 == 0)
			CHECK(ravt_writer_flush_thread(w, th + 1) == 0);
	}
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	rav_trace *t = open_indexed(&m);
	REQUIRE(t);
	CHECK_EQ(rav_trace_indexed_events(t), norder);

	uint64_t last_seq = 0, last_per_thread[T + 1] = { 0 };
	size_t mismatches = 0;
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(t), 0);
	rav_event ev;
	size_t i = 0;
	while (ravt_cursor_next(&cur, &ev)) {
		/* Identify the timeline action: data stores carry it, the others
		 * are known by their thread's progress. */
		if (ev.kind == RAV_EV_PAGE_ACQUIRE) {
			CHECK(ev.c > last_seq);
			last_seq = ev.c;
		}
		if (ev.kind == RAV_EV_DATA_STORE) {
			CHECK(ev.c > last_per_thread[ev.thread]);
			last_per_thread[ev.thread] = ev.c;
			if (exact && order[ev.c].thread != ev.thread)
				mismatches++;
			if (exact && ev.c != i)
				mismatches++;
		}
		if (exact && order[i].thread != ev.thread)
			mismatches++;
		i++;
	}
	CHECK(!cur.failed);
	ravt_cursor_fini(&cur);
	CHECK_EQ(i, norder);
	CHECK_EQ(mismatches, 0);

	/* Cursors started anywhere agree with random access. */
	for (int r = 0; r < 40; r++) {
		uint64_t from = rnd() % norder;
		ravt_cursor_init(&cur, ravt_trace_reader(t), from);
		for (int k = 0; k < 300 && ravt_cursor_next(&cur, &ev); k++) {
			rav_event ra;
			CHECK(rav_trace_event_at(t, ev.index, &ra));
			CHECK(ra.kind == ev.kind && ra.a == ev.a && ra.c == ev.c && ra.thread == ev.thread &&
			      ra.time_ns == ev.time_ns);
		}
		ravt_cursor_fini(&cur);
	}

	/* Filters against brute force. */
	rav_event_filter f = { .kinds = 1ull << RAV_EV_PAGE_ACQUIRE, .thread = 2 };
	size_t want = 0;
	for (uint64_t k = 0; k < norder; k++) {
		CHECK(rav_trace_event_at(t, k, &ev));
		want += ev.kind == RAV_EV_PAGE_ACQUIRE && ev.thread == 2;
	}
	rav_event_iter it;
	rav_event_iter_init(&it, t, &f);
	size_t got = 0;
	while (rav_event_iter_next(&it, &ev)) {
		CHECK(ev.kind == RAV_EV_PAGE_ACQUIRE && ev.thread == 2);
		got++;
	}
	CHECK_EQ(got, want);
	rav_event_filter fc = { .thread = -1, .cell = rav_loc_make(11, 1, 0) };
	want = 0;
	for (size_t k = 0; k < n[1]; k++)
		want += RAV_EV_KIND(&buf[1][k]) == RAV_EV_DATA_STORE;
	rav_event_iter_init(&it, t, &fc);
	got = 0;
	while (rav_event_iter_next(&it, &ev)) {
		CHECK(ev.kind == RAV_EV_DATA_STORE && ev.thread == 2);
		got++;
	}
	CHECK(want > 0);
	CHECK_EQ(got, want);
	for (int r = 0; r < 50; r++) {
		uint64_t from = rnd() % norder;
		int64_t nx = rav_trace_find_next(t, from, &f), pv = rav_trace_find_prev(t, from, &f);
		int64_t bn = -1, bp = -1;
		for (uint64_t k = from; k < norder && bn < 0; k++) {
			rav_trace_event_at(t, k, &ev);
			if (ev.kind == RAV_EV_PAGE_ACQUIRE && ev.thread == 2)
				bn = (int64_t)k;
		}
		for (uint64_t k = from; k-- > 0 && bp < 0;) {
			rav_trace_event_at(t, k, &ev);
			if (ev.kind == RAV_EV_PAGE_ACQUIRE && ev.thread == 2)
				bp = (int64_t)k;
		}
		CHECK_EQ(nx, bn);
		CHECK_EQ(pv, bp);
	}
	rav_event_filter fr = { .thread = -1, .from = 10, .to = 20 };
	rav_event_iter_init(&it, t, &fr);
	got = 0;
	while (rav_event_iter_next(&it, &ev))
		CHECK(ev.index >= 10 && ev.index < 20 && ++got);
	CHECK_EQ(got, 10);
	rav_trace_close(t);
	tt_mem_free(&m);
}

/* ---- Versions and unknown chunks ------------------------------------------ */

static void write_small(tt_mem *m, uint16_t major, uint16_t minor, bool unknown_chunk)
{
	ravt_writer_params p = {
		.word_size = 8, .cell_size = 32, .page_size = TT_PAGE, .pool_base = TT_BASE,
		.pool_bytes = TT_POOL_BYTES, .tsc_hz = 1000000000ull, .version_major = major,
		.version_minor = minor, .chunk_bytes = 64,
	};
	char err[128];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, m, err, sizeof err);
	REQUIRE(w);
	for (int i = 0; i < 100; i++) {
		rav_raw_event e = tt_ev(RAV_EV_ALLOC, 17, 0, tt_addr(1, 1 + (uint32_t)i % 100, 0), 0, 0);
		CHECK(ravt_writer_add(w, 1, &e, 1) == 0);
		if (unknown_chunk && i == 50)
			CHECK(ravt_writer_raw_chunk(w, 77, 0, "future data!", 12, 0, 0, 0) == 0);
	}
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
}

static void test_versions(void)
{
	rav_trace_error err;
	tt_mem m = { 0 };
	write_small(&m, 2, 0, false);
	rav_trace *t = rav_trace_open_memory(m.buf.p, m.buf.len, &err);
	CHECK(t == NULL);
	CHECK_EQ(err.code, RAV_TRACE_EVERSION);
	CHECK(strstr(err.message, "2.0") != NULL);
	tt_mem_free(&m);

	write_small(&m, 1, 9, true);
	t = rav_trace_open_memory(m.buf.p, m.buf.len, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ(err.code, RAV_TRACE_OK);
		rav_trace_info info;
		rav_trace_get_info(t, &info);
		CHECK_EQ(info.version_minor, 9);
		CHECK_EQ(rav_trace_index(t, NULL, NULL, &err), 0);
		CHECK_EQ(rav_trace_indexed_events(t), 100);
		rav_trace_close(t);
	}
	tt_mem_free(&m);
}

/* ---- Field names (format 1.4) ---------------------------------------------- *
 * A type-def text is the name, then, when fields are named, a NUL and each
 * field's name.  Odd texts a damaged or hostile file may hold read sanely:
 * missing or empty parts are unnamed, extra parts are ignored, and the
 * type's name is always the text up to the first NUL. */

static void add_typedef(ravt_writer *w, uint16_t id, unsigned refmask, const char *text, size_t len)
{
	rav_raw_event raw[4];
	memset(raw, 0, sizeof raw);
	raw[0] = tt_ev(RAV_EV_TYPE_DEF, id, refmask, len, 0, 0);
	REQUIRE(len <= 3 * sizeof(rav_raw_event));
	memcpy(&raw[1], text, len);
	CHECK(ravt_writer_add(w, 0, raw, 1 + (len + sizeof(rav_raw_event) - 1) / sizeof(rav_raw_event)) == 0);
}

static void test_field_names(void)
{
	static const struct {
		uint16_t id;
		const char *text;
		size_t len;
		const char *name, *f0, *f1;
	} cases[] = {
		{ 16, "node\0left\0right", 15, "node", "left", "right" },
		{ 17, "pair\0\0second", 12, "pair", NULL, "second" },
		{ 18, "one\0only", 8, "one", "only", NULL },
		{ 19, "none\0\0", 6, "none", NULL, NULL },
		{ 20, "plain", 5, "plain", NULL, NULL },
		{ 21, "many\0a\0b\0c\0d", 13, "many", "a", "b" },
		{ 22, "\0x\0y", 4, "", NULL, NULL },
		{ 23, "trail\0", 6, "trail", NULL, NULL },
	};
	tt_mem m = { 0 };
	ravt_writer *w = tt_writer(&m, 4096, false);
	REQUIRE(w);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		add_typedef(w, cases[i].id, 1, cases[i].text, cases[i].len);
	/* Redefined later with names: the last definition counts. */
	add_typedef(w, 20, 1, "plain\0v\0w", 9);
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(m.buf.p, m.buf.len, &err);
	REQUIRE(t);
	CHECK_EQ(rav_trace_index(t, NULL, NULL, &err), 0);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint16_t id = cases[i].id;
		const char *name = rav_trace_type_name(t, id), *f0 = rav_trace_type_field_name(t, id, 0),
			   *f1 = rav_trace_type_field_name(t, id, 1);
		CHECK(name && strcmp(name, cases[i].name) == 0);
		if (id == 20) {
			CHECK(f0 && strcmp(f0, "v") == 0 && f1 && strcmp(f1, "w") == 0);
			continue;
		}
		CHECK(cases[i].f0 ? f0 && strcmp(f0, cases[i].f0) == 0 : f0 == NULL);
		CHECK(cases[i].f1 ? f1 && strcmp(f1, cases[i].f1) == 0 : f1 == NULL);
		rav_event ev;
		CHECK(rav_trace_event_at(t, i, &ev));
		const char *fn[2];
		unsigned named = rav_event_type_field_names(&ev, fn);
		CHECK_EQ(named, (unsigned)(cases[i].f0 != NULL) + (cases[i].f1 != NULL));
		CHECK(strcmp(ev.text, cases[i].name) == 0);
	}
	CHECK(rav_trace_type_field_name(t, 16, 2) == NULL && rav_trace_type_field_name(t, 99, 0) == NULL);
	/* Not a type-def: no field names whatever its text. */
	rav_event mark = { .kind = RAV_EV_MARK, .text = "a\0b", .a = 3 };
	const char *fn[2];
	CHECK_EQ(rav_event_type_field_names(&mark, fn), 0u);
	rav_trace_close(t);
	tt_mem_free(&m);
}

/* ---- Truncation ------------------------------------------------------------ */

/* The next length test_truncation cuts the file to: every length in the
 * header and the first 64 bytes after it, every chunk boundary and the
 * length one short of it (and one past it), the whole file, and between
 * those every step-th length.  Under a checker (RAV_TEST_SMALL) every 31st
 * instead of every 5th, every length only in the header's first 16 bytes
 * and from 2 before its end to 16 after it, and not the lengths one past a
 * boundary (a cut in a frame's header, as the stride's): each cut opens and
 * indexes the prefix again, 80% of this test's time under memcheck before
 * (27 of 34 s wall, 1070 lengths; now 228, and 1094 at full size). */
static size_t next_cut(const tt_mem *m, size_t cut, size_t header, size_t step, bool small)
{
	if (small ? cut < 16 || (cut + 2 >= header && cut < header + 16) : cut < header + 64)
		return cut + 1;
	size_t next = cut + step;
	if (cut + 2 < header && header - 2 < next)
		next = header - 2;
	for (size_t i = 0; i < m->nbounds; i++)
		for (size_t b = m->bounds[i] - 1; b <= m->bounds[i] + !small; b++)
			if (b > cut && b < next)
				next = b;
	if (cut < m->buf.len && next > m->buf.len)
		next = m->buf.len;
	return next;
}

static void test_truncation(void)
{
	tt_mem m = { 0 };
	static script s;
	build_every_kind(&s, 3);
	ravt_writer *w = tt_writer(&m, 40, false);
	REQUIRE(w);
	for (int rep = 0; rep < 4; rep++)
		CHECK(ravt_writer_add(w, 3, s.raw, s.nraw) == 0);
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	/* Events in the chunks that end at each boundary. */
	size_t nb = m.nbounds;
	uint64_t *events_at = calloc(nb, sizeof *events_at);
	for (size_t i = 1; i < nb; i++) {
		ravt_frame f;
		memcpy(&f, m.buf.p + m.bounds[i - 1], sizeof f);
		events_at[i] = events_at[i - 1] + (ravt_chunk_is_events(f.kind) ? f.count : 0);
	}
	size_t header = m.bounds[0];
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	size_t step = small ? 31 : 5;
	unsigned cuts = 0;
	for (size_t cut = 0; cut <= m.buf.len; cut = next_cut(&m, cut, header, step, small)) {
		cuts++;
		rav_trace_error err;
		rav_trace *t = rav_trace_open_memory(m.buf.p, cut, &err);
		if (cut < header) {
			CHECK(t == NULL);
			CHECK(err.code == (cut == 0 ? RAV_TRACE_EEMPTY : RAV_TRACE_ETRUNCATED));
			CHECK(err.message[0] != 0);
			continue;
		}
		REQUIRE(t);
		size_t b = 0;
		while (b + 1 < nb && m.bounds[b + 1] <= cut)
			b++;
		rav_trace_info info;
		rav_trace_get_info(t, &info);
		if (cut == m.buf.len) {
			CHECK(!info.truncated);
			CHECK_EQ(err.code, RAV_TRACE_OK);
		} else {
			CHECK(info.truncated);
			CHECK_EQ(err.code, RAV_TRACE_ETRUNCATED);
			CHECK_EQ(info.recovered_bytes, m.bounds[b]);
		}
		CHECK_EQ(rav_trace_index(t, NULL, NULL, &err), 0);
		CHECK_EQ(rav_trace_indexed_events(t), events_at[b]);
		rav_trace_close(t);
	}
	fprintf(stderr, "truncation: %u lengths of %zu bytes (%zu chunk boundaries) tried\n", cuts, m.buf.len, nb);
	free(events_at);
	tt_mem_free(&m);
}

/* ---- Streaming over a pipe ----------------------------------------------- */

typedef struct pipe_job {
	int fd;
	script *s;
	uint64_t seen; /* events the reader has (atomic) */
} pipe_job;

static int sink_pipe(const void *data, size_t len, void *user)
{
	int fd = *(int *)user;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *pipe_writer(void *arg)
{
	pipe_job *job = arg;
	ravt_writer_params p = {
		.word_size = 8, .cell_size = 32, .page_size = TT_PAGE, .pool_base = TT_BASE,
		.pool_bytes = TT_POOL_BYTES, .tsc_hz = 1000000000ull, .chunk_bytes = 64,
	};
	char err[128];
	ravt_writer *w = ravt_writer_new(&p, sink_pipe, &job->fd, err, sizeof err);
	if (w) {
		int waited_ms = 0;
		for (int rep = 0; rep < 20; rep++) {
			/* numbered as a recording from the start is (a live
			 * reader waits for 1, then for each next number) */
			build_every_kind_from(job->s, 4, (uint64_t)rep * EVERY_KIND_SEQS);
			ravt_writer_add(w, 4, job->s->raw, job->s->nraw);
			ravt_writer_flush_thread(w, 4);
			/* the reader has this part before the next is written
			 * (waited for, up to 60 s in all, where a 2 ms pause was:
			 * a reader descheduled for longer took everything in one
			 * poll, and 'polls > 1' failed) */
			uint64_t want = (uint64_t)(rep + 1) * job->s->nexp;
			while (waited_ms < 60000 && __atomic_load_n(&job->seen, __ATOMIC_ACQUIRE) < want) {
				usleep(1000);
				waited_ms++;
			}
		}
		ravt_writer_finish(w, 0);
		ravt_writer_free(w);
	}
	close(job->fd);
	return NULL;
}

static void test_pipe(void)
{
	static script s, mine;
	build_every_kind(&mine, 4); /* (only its size: the writer numbers its copies) */
	int fds[2];
	REQUIRE(pipe(fds) == 0);
	pipe_job job = { fds[1], &s, 0 };
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, pipe_writer, &job) == 0);
	rav_trace_error err;
	rav_trace *t = rav_trace_open_fd(fds[0], &err);
	REQUIRE(t);
	int polls = 0;
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	uint64_t seen = info.events; /* what open already read */
	__atomic_store_n(&job.seen, seen, __ATOMIC_RELEASE);
	while (!rav_trace_stream_ended(t)) {
		int64_t n = rav_trace_poll(t, &err);
		CHECK(n >= 0);
		if (n > 0) {
			seen += (uint64_t)n;
			/* The prefix received so far indexes and reads. */
			CHECK_EQ(rav_trace_index(t, NULL, NULL, &err), 0);
			CHECK_EQ(rav_trace_indexed_events(t), seen);
			polls++;
			__atomic_store_n(&job.seen, seen, __ATOMIC_RELEASE);
		}
		usleep(500);
	}
	rav_trace_poll(t, &err);
	CHECK_EQ(rav_trace_index(t, NULL, NULL, &err), 0);
	pthread_join(th, NULL);
	CHECK_EQ(rav_trace_indexed_events(t), 20 * mine.nexp);
	rav_trace_get_info(t, &info);
	CHECK(!info.truncated);
	CHECK(polls > 1);
	for (uint64_t i = 0; i < 20 * mine.nexp; i++) {
		if (i % mine.nexp == 0)
			build_every_kind_from(&mine, 4, i / mine.nexp * EVERY_KIND_SEQS);
		rav_event ev;
		CHECK(rav_trace_event_at(t, i, &ev));
		if (!same(&ev, &mine.exp[i % mine.nexp]))
			tt_failures++;
		if (tt_failures)
			break;
	}
	rav_trace_close(t);
	close(fds[0]);
}

/* ---- Indexing on a worker thread while readers use the prefix ------------ */

static void *index_worker(void *arg)
{
	rav_trace_error err;
	if (rav_trace_index(arg, NULL, NULL, &err) != 0)
		fprintf(stderr, "index: %s\n", err.message);
	return NULL;
}

static void test_concurrent_index(void)
{
	tt_mem m = { 0 };
	ravt_writer *w = tt_writer(&m, 256, false);
	REQUIRE(w);
	uint64_t tsc = 5000;
	for (int i = 0; i < 60000; i++) {
		uint32_t th = 1 + (uint32_t)(i % 3);
		rav_raw_event e[2] = { tt_ev(RAV_EV_TIME, 0, 0, tsc += 3, 0, 0),
				       tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(th, 1, 1), 0, (uint64_t)i) };
		CHECK(ravt_writer_add(w, th, e, 2) == 0);
		if (i % 5000 == 0) {
			rav_raw_event mk[2] = { tt_ev(RAV_EV_MARK, 0, 0, 4, 0, 0) };
			memset(&mk[1], 0, sizeof mk[1]);
			memcpy(&mk[1], "tick", 4);
			CHECK(ravt_writer_add(w, th, mk, 2) == 0);
		}
	}
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(m.buf.p, m.buf.len, &err);
	REQUIRE(t);
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, index_worker, t) == 0);
	/* Whatever prefix is indexed reads consistently, from another thread. */
	uint64_t seen = 0;
	for (int round = 0; round < 400; round++) {
		uint64_t n = rav_trace_indexed_events(t);
		rav_event ev;
		if (n) {
			uint64_t i = rnd() % n;
			CHECK(rav_trace_event_at(t, i, &ev));
			CHECK_EQ(ev.index, i);
		}
		for (unsigned k = 0; k < rav_trace_mark_count(t); k++) {
			rav_trace_mark mk;
			CHECK(rav_trace_mark_at(t, k, &mk) && strcmp(mk.text, "tick") == 0);
		}
		for (unsigned k = 0; k < rav_trace_thread_count(t); k++) {
			rav_trace_thread entry;
			CHECK(rav_trace_thread_at(t, k, &entry));
		}
		rav_trace_info info;
		rav_trace_get_info(t, &info);
		CHECK(n >= seen);
		seen = n;
	}
	pthread_join(th, NULL);
	CHECK_EQ(rav_trace_indexed_events(t), 60000 * 2 + 12);
	CHECK_EQ(rav_trace_mark_count(t), 12);
	rav_trace_close(t);
	tt_mem_free(&m);
}

/* ---- Progress and cancellation ------------------------------------------- */

static bool cancel_at_first(uint64_t done, uint64_t total, void *user)
{
	unsigned *calls = user;
	(*calls)++;
	return done >= total; /* cancel unless this is the final report */
}

static void test_cancel(void)
{
	tt_mem m = { 0 };
	ravt_writer *w = tt_writer(&m, 0, false);
	REQUIRE(w);
	static rav_raw_event e[4096];
	uint64_t tsc = 5000;
	for (int blk = 0; blk < 300; blk++) {
		for (int i = 0; i < 4096; i++)
			e[i] = i % 16 == 0 ? tt_ev(RAV_EV_TIME, 0, 0, tsc += 50, 0, 0)
					   : tt_ev(RAV_EV_ALLOC, 16, 0, tt_addr(1, 1 + (uint32_t)i % 100, 0), 0, 0);
		CHECK(ravt_writer_add(w, 1, e, 4096) == 0);
	}
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(m.buf.p, m.buf.len, &err);
	REQUIRE(t);
	unsigned calls = 0;
	CHECK(rav_trace_index(t, cancel_at_first, &calls, &err) == -1);
	CHECK_EQ(err.code, RAV_TRACE_ECANCELLED);
	CHECK_EQ(calls, 1);
	uint64_t part = rav_trace_indexed_events(t);
	CHECK(part > 0 && part < 300 * 4096);
	rav_event ev;
	CHECK(rav_trace_event_at(t, part - 1, &ev));
	/* Indexing again starts over and finishes. */
	CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
	CHECK_EQ(rav_trace_indexed_events(t), 300 * 4096);
	rav_trace_close(t);
	tt_mem_free(&m);
}

/* CRC-32C a bit at a time, to check the library's (tables, or three
 * hardware streams joined: format.c) on lengths and alignments around its
 * stripes of 3 x 1024 bytes, whole and in two parts. */
static uint32_t crc_bitwise(uint32_t crc, const uint8_t *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
	}
	return ~crc;
}

static void test_crc_lengths(void)
{
	enum { N = 4 * 3 * 1024 + 64 };
	static uint8_t buf[N];
	uint64_t x = 0x9e3779b97f4a7c15u;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	static const size_t lens[] = {0, 1, 7, 8, 3071, 3072, 3073, 3079, 3080, 6143, 6144, 6151, 9216, N - 8};
	for (size_t a = 0; a < 8; a++) {
		for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
			size_t len = lens[i];
			uint32_t want = crc_bitwise(0, buf + a, len);
			CHECK_EQ(ravt_crc32c(0, buf + a, len), want);
			size_t cut = len / 3;
			CHECK_EQ(ravt_crc32c(ravt_crc32c(0, buf + a, cut), buf + a + cut, len - cut), want);
		}
	}
}

int main(void)
{
	/* The checksum FORMAT.md specifies (CRC-32C check value). */
	CHECK_EQ(ravt_crc32c(0, "123456789", 9), 0xE3069283u);
	CHECK_EQ(ravt_crc32c(ravt_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
	test_crc_lengths();
	fprintf(stderr, "checksum lengths: %s\n", tt_failures ? "FAILED" : "ok");
	test_every_kind();
	fprintf(stderr, "every kind: %s\n", tt_failures ? "FAILED" : "ok");
	test_merge(0, true);
	fprintf(stderr, "merge (consistent clocks): %s\n", tt_failures ? "FAILED" : "ok");
	test_merge(500, false);
	fprintf(stderr, "merge (skewed clock): %s\n", tt_failures ? "FAILED" : "ok");
	test_versions();
	fprintf(stderr, "versions: %s\n", tt_failures ? "FAILED" : "ok");
	test_field_names();
	fprintf(stderr, "field names: %s\n", tt_failures ? "FAILED" : "ok");
	test_truncation();
	fprintf(stderr, "truncation: %s\n", tt_failures ? "FAILED" : "ok");
	test_pipe();
	fprintf(stderr, "pipe stream: %s\n", tt_failures ? "FAILED" : "ok");
	test_concurrent_index();
	fprintf(stderr, "concurrent index: %s\n", tt_failures ? "FAILED" : "ok");
	test_cancel();
	fprintf(stderr, "cancel: %s\n", tt_failures ? "FAILED" : "ok");
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
