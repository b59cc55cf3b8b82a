/* sites.c - call sites through the writer and the reader (format 1.3).
 *
 * Raw records with RAV_RAW_SITE records between them are written as the
 * recorder writes them (several threads, chunks cut small so runs of sites
 * cross chunk boundaries, stacks of 1 to 64 frames, a stack's records cut
 * across two buffers, "no site" records, a library "loaded" half way so a
 * second MAPS chunk is needed, the same library at another address), then
 * read back: every event must carry the stack that was current on its
 * thread, every frame placed in the right object at the right offset.
 * Then the reader must refuse damaged SITES and MAPS chunks with a precise
 * error, and traces without sites read as before (site 0).  Seeds fixed.
 */
#include "trace-test.h"

static uint64_t rng;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

/* Three objects: a program, a library, and the library again elsewhere. */
#define PROG_BASE 0x555500000000ull
#define LIB_BASE 0x7f3300000000ull
#define LIB2_BASE 0x7f4400000000ull
#define SPAN 0x100000ull

static const ravt_map_segment prog_segs[] = {{0, 0x1000, RAVT_SEG_R}, {0x1000, SPAN - 0x1000, RAVT_SEG_R | RAVT_SEG_X}};
static const ravt_map_segment lib_segs[] = {{0, SPAN, RAVT_SEG_R | RAVT_SEG_X}};
static const uint8_t prog_bid[20] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
static const uint8_t lib_bid[8] = {0xaa, 0xbb, 0xcc, 0xdd, 1, 2, 3, 4};

typedef struct hook_state {
	int phase;      /* 0: nothing loaded yet, 1: program + lib, 2: + lib again elsewhere */
	bool want_lib2; /* the generator started using lib2 addresses */
	unsigned calls, maps;
} hook_state;

static int hook(ravt_writer *w, const uint64_t *addrs, size_t n, void *user)
{
	hook_state *h = user;
	h->calls++;
	bool need = h->phase == 0;
	for (size_t i = 0; i < n; i++)
		if (addrs[i] >= LIB2_BASE && addrs[i] < LIB2_BASE + SPAN && h->phase < 2)
			need = true;
	if (!need)
		return 0;
	ravt_map_object objs[3] = {
	    {PROG_BASE, prog_segs, 2, prog_bid, sizeof prog_bid, "/usr/bin/prog", 13},
	    {LIB_BASE, lib_segs, 1, lib_bid, sizeof lib_bid, "/usr/lib/libfoo.so.1", 20},
	    {LIB2_BASE, lib_segs, 1, lib_bid, sizeof lib_bid, "/usr/lib/libfoo.so.1", 20},
	};
	h->phase = h->want_lib2 ? 2 : 1;
	h->maps++;
	return ravt_writer_maps(w, objs, h->phase == 2 ? 3 : 2);
}

#define NTHREADS 3
#define MAXEV 60000

typedef struct expect {
	uint8_t n;
	uint64_t f[RAV_SITE_FRAMES_MAX];
} expect;

/* Expected stack per event, per thread in stream order. */
static expect *want[NTHREADS];
static size_t nwant[NTHREADS];

static uint64_t addr_in(int obj)
{
	uint64_t base = obj == 0 ? PROG_BASE : obj == 1 ? LIB_BASE : LIB2_BASE;
	return base + 0x1000 + (rnd() % (SPAN - 0x1000));
}

/* A random stack: reused from a small set most of the time, as programs do. */
static void random_stack(expect *e, bool lib2)
{
	static expect pool[32];
	static bool init;
	if (!init) {
		for (int i = 0; i < 32; i++) {
			unsigned n = 1 + (unsigned)(rnd() % 6);
			if (i == 7)
				n = RAV_SITE_FRAMES_MAX;
			if (i == 8)
				n = 5; /* spans two records */
			pool[i].n = (uint8_t)n;
			for (unsigned k = 0; k < n; k++)
				pool[i].f[k] = addr_in(k == 0 ? 0 : (int)(rnd() % 2));
		}
		pool[9].n = 1;
		pool[9].f[0] = 0x1234; /* in no object */
		init = true;
	}
	*e = pool[rnd() % 32];
	if (lib2 && rnd() % 4 == 0) {
		/* the same code in the library mapped at its second address */
		for (unsigned k = 0; k < e->n; k++)
			if (e->f[k] >= LIB_BASE && e->f[k] < LIB_BASE + SPAN)
				e->f[k] = e->f[k] - LIB_BASE + LIB2_BASE;
	}
}

static size_t put_site(rav_raw_event *out, const expect *e)
{
	size_t recs = RAV_SITE_RECORDS(e->n);
	memset(out, 0, recs * sizeof *out);
	out[0].kind = RAV_RAW_SITE | ((uint32_t)e->n << 8);
	out[0].a = e->n > 0 ? e->f[0] : 0;
	out[0].b = e->n > 1 ? e->f[1] : 0;
	out[0].c = e->n > 2 ? e->f[2] : 0;
	for (unsigned k = 3; k < e->n; k++) {
		uint64_t *w = (uint64_t *)(void *)&out[1 + (k - 3) / 4];
		w[(k - 3) % 4] = e->f[k];
	}
	return recs;
}

static bool frames_equal(rav_trace *t, uint32_t site, const expect *e)
{
	rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
	unsigned n = rav_trace_site_frames(t, site, fr, RAV_TRACE_SITE_FRAMES_MAX);
	if (e->n == 0)
		return site == 0 && n == 0;
	if (n != e->n)
		return false;
	for (unsigned k = 0; k < n; k++) {
		uint64_t a = e->f[k];
		int obj = a >= PROG_BASE && a < PROG_BASE + SPAN ? 0 : a >= LIB_BASE && a < LIB2_BASE + SPAN ? 1 : -1;
		uint64_t off = obj == 0 ? a - PROG_BASE : a >= LIB2_BASE ? a - LIB2_BASE : obj == 1 ? a - LIB_BASE : a;
		/* the address recorded is the first one seen for that (object, offset) */
		if (fr[k].object != obj || fr[k].offset != off)
			return false;
	}
	return true;
}

static void roundtrip(uint64_t seed, bool compress)
{
	rng = seed;
	fprintf(stderr, "roundtrip seed %llu compress %d\n", (unsigned long long)seed, compress);
	tt_mem m = {0};
	hook_state hs = {0};
	ravt_writer_params p = tt_params("sites");
	p.chunk_bytes = 300;
	p.no_compress = !compress;
	p.sites_hook = hook;
	p.sites_user = &hs;
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, &m, err, sizeof err);
	REQUIRE(w);
	expect cur[NTHREADS];
	memset(cur, 0, sizeof cur);
	uint64_t last[NTHREADS], tsc = 2000, seq = 0;
	for (int t = 0; t < NTHREADS; t++) {
		want[t] = calloc(MAXEV, sizeof *want[t]);
		nwant[t] = 0;
		last[t] = tt_addr(1 + t, 1, 0);
	}
	rav_raw_event buf[200];
	for (int round = 0; round < 400; round++) {
		int t = (int)(rnd() % NTHREADS);
		uint32_t tid = 1 + (uint32_t)t;
		if (round == 200)
			hs.want_lib2 = true;
		size_t n = 0;
		if (nwant[t] == 0) {
			buf[n++] = tt_ev(RAV_EV_TIME, 0, 0, tsc, 0, ++seq);
			buf[n++] = tt_ev(RAV_EV_THREAD_START, 0, tid, 100 + tid, 0, seq);
			want[t][nwant[t]++] = cur[t];
			want[t][nwant[t]++] = cur[t];
		}
		while (n < 150) {
			uint64_t r = rnd() % 100;
			if (r < 15) {
				random_stack(&cur[t], hs.want_lib2);
				n += put_site(buf + n, &cur[t]);
			} else if (r < 17) {
				cur[t].n = 0;
				buf[n++] = tt_ev(RAV_RAW_SITE, 0, 0, 0, 0, 0);
			} else if (r < 20) {
				tsc += 50;
				buf[n++] = tt_ev(RAV_EV_TIME, 0, 0, tsc, 0, 0);
				want[t][nwant[t]++] = cur[t];
			} else {
				uint64_t a = last[t] + (rnd() % 8) * 32;
				buf[n++] = tt_ev(RAV_EV_DATA_STORE, 0, 0, a, rnd() % 1000, rnd() % 1000);
				want[t][nwant[t]++] = cur[t];
			}
		}
		/* hand the records over in two pieces, cut anywhere (also inside
		 * a stack's records) */
		size_t cut = (size_t)(rnd() % n);
		REQUIRE(ravt_writer_add(w, tid, buf, cut) == 0);
		REQUIRE(ravt_writer_add(w, tid, buf + cut, n - cut) == 0);
		REQUIRE(nwant[t] < MAXEV - 200);
	}
	REQUIRE(ravt_writer_finish(w, 0) == 0);
	CHECK(hs.maps == 2);
	CHECK(hs.calls > 10);
	ravt_writer_free(w);

	rav_trace_error e;
	rav_trace *tr = rav_trace_open_memory(m.buf.p, m.buf.len, &e);
	REQUIRE(tr);
	REQUIRE(rav_trace_index(tr, NULL, NULL, &e) == 0);
	CHECK_EQ(rav_trace_object_count(tr), 2); /* the library's second load is the same object */
	rav_trace_object o;
	CHECK(rav_trace_object_at(tr, 0, &o) && strcmp(o.path, "/usr/bin/prog") == 0 && o.build_id_len == 20 &&
	      o.base == PROG_BASE && o.start == PROG_BASE && o.end == PROG_BASE + SPAN);
	CHECK(rav_trace_object_at(tr, 1, &o) && strcmp(o.path, "/usr/lib/libfoo.so.1") == 0 && o.build_id[0] == 0xaa);
	CHECK(!rav_trace_object_at(tr, 2, &o));
	CHECK(rav_trace_site_count(tr) >= 10 && rav_trace_site_count(tr) <= 32);
	size_t seen[NTHREADS] = {0};
	rav_event_iter it;
	rav_event_iter_init(&it, tr, NULL);
	rav_event ev;
	uint64_t bad = 0, total = 0;
	uint32_t a_site = 0;
	while (rav_event_iter_next(&it, &ev)) {
		int t = (int)ev.thread - 1;
		REQUIRE(t >= 0 && t < NTHREADS && seen[t] < nwant[t]);
		const expect *x = &want[t][seen[t]++];
		if (!frames_equal(tr, ev.site, x)) {
			if (bad++ < 5)
				fprintf(stderr, "event %llu (thread %d #%zu): site %u, expected %u frames\n",
				        (unsigned long long)ev.index, t + 1, seen[t] - 1, ev.site, x->n);
		}
		if (ev.site && !a_site && ev.kind == RAV_EV_DATA_STORE)
			a_site = ev.site;
		total++;
	}
	CHECK_EQ(bad, 0);
	for (int t = 0; t < NTHREADS; t++)
		CHECK_EQ(seen[t], nwant[t]);
	/* random access gives the same site as the sequential order */
	for (int k = 0; k < 200; k++) {
		uint64_t i = rnd() % total;
		rav_event a;
		CHECK(rav_trace_event_at(tr, i, &a));
		rav_event_iter_init(&it, tr, &(rav_event_filter){.thread = -1, .from = i, .to = i + 1});
		CHECK(rav_event_iter_next(&it, &ev) && ev.site == a.site);
		rav_event_iter_fini(&it); /* stopped before its end */
	}
	/* filter by site: exactly the events that carry it */
	REQUIRE(a_site);
	uint32_t list[1] = {a_site};
	rav_event_iter_init(&it, tr, &(rav_event_filter){.thread = -1, .sites = list, .nsites = 1});
	uint64_t hits = 0;
	while (rav_event_iter_next(&it, &ev)) {
		CHECK(ev.site == a_site);
		hits++;
	}
	uint64_t direct = 0;
	rav_event_iter_init(&it, tr, NULL);
	while (rav_event_iter_next(&it, &ev))
		direct += ev.site == a_site;
	CHECK(hits > 0 && hits == direct);
	/* sites sharing a call site */
	rav_trace_frame call[RAV_TRACE_SITE_FRAMES_MAX];
	REQUIRE(rav_trace_site_frames(tr, a_site, call, RAV_TRACE_SITE_FRAMES_MAX) >= 1);
	uint32_t same[64];
	size_t ns = rav_trace_sites_with_call(tr, &call[0], same, 64);
	CHECK(ns >= 1 && ns <= 64);
	bool found = false;
	for (size_t i = 0; i < ns && i < 64; i++)
		found |= same[i] == a_site;
	CHECK(found);
	rav_trace_close(tr);
	for (int t = 0; t < NTHREADS; t++)
		free(want[t]);
	tt_mem_free(&m);
}

/* A trace without site records: no SITES or MAPS chunks, every event site 0. */
static void no_sites(void)
{
	tt_mem m = {0};
	ravt_writer *w = tt_writer(&m, 0, false);
	REQUIRE(w);
	rav_raw_event ev[3] = {tt_ev(RAV_EV_TIME, 0, 0, 2000, 0, 1), tt_ev(RAV_EV_THREAD_START, 0, 1, 7, 0, 1),
	                       tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(1, 1, 1), 0, 5)};
	REQUIRE(ravt_writer_add(w, 1, ev, 3) == 0);
	REQUIRE(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	rav_trace_error e;
	rav_trace *tr = rav_trace_open_memory(m.buf.p, m.buf.len, &e);
	REQUIRE(tr);
	REQUIRE(rav_trace_index(tr, NULL, NULL, &e) == 0);
	CHECK_EQ(rav_trace_site_count(tr), 0);
	CHECK_EQ(rav_trace_object_count(tr), 0);
	rav_event x;
	for (uint64_t i = 0; i < 3; i++)
		CHECK(rav_trace_event_at(tr, i, &x) && x.site == 0);
	rav_trace_frame f;
	CHECK(rav_trace_site_frames(tr, 0, &f, 1) == 0 && rav_trace_site_frames(tr, 99, &f, 1) == 0);
	rav_trace_close(tr);
	tt_mem_free(&m);
}

/* Every event under a stack of its own, 64 frames deep, addresses in no
 * object (7-byte deltas): with the largest chunks the writer allows, the
 * stacks of one chunk's events pass the 16 MiB payload limit long before
 * its events fill it.  The writer must cut the chunk early (it failed the
 * recording with "chunk payload too large"), and every event read back
 * must carry its own stack. */
static uint64_t deep_frame(uint32_t site, unsigned k)
{
	uint64_t x = ((uint64_t)site << 6 | k) * 0x9e3779b97f4a7c15ull;
	return 0x100000000000ull | ((x ^ x >> 29) & 0x3ffffffffff8ull);
}

static void many_deep_sites(void)
{
	enum { NSITES = 45000 };
	tt_mem m = {0};
	ravt_writer_params p = tt_params("deep");
	p.chunk_bytes = RAVT_EVENTS_RAW_MAX / 4;
	p.no_compress = true;
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, &m, err, sizeof err);
	REQUIRE(w);
	rav_raw_event head[2] = {tt_ev(RAV_EV_TIME, 0, 0, 2000, 0, 1), tt_ev(RAV_EV_THREAD_START, 0, 1, 7, 0, 1)};
	REQUIRE(ravt_writer_add(w, 1, head, 2) == 0);
	rav_raw_event buf[RAV_SITE_RECORDS(RAV_SITE_FRAMES_MAX) + 1];
	expect e = {.n = RAV_SITE_FRAMES_MAX};
	int rc = 0;
	for (uint32_t s = 0; s < NSITES && rc == 0; s++) {
		for (unsigned k = 0; k < e.n; k++)
			e.f[k] = deep_frame(s, k);
		size_t n = put_site(buf, &e);
		buf[n++] = tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(1, 1, 1), 0, s & 7);
		rc = ravt_writer_add(w, 1, buf, n);
	}
	if (rc == 0)
		rc = ravt_writer_finish(w, 0);
	if (rc != 0)
		fprintf(stderr, "many deep sites: %s\n", ravt_writer_error(w));
	CHECK(rc == 0);
	ravt_writer_free(w);
	if (rc != 0) {
		tt_mem_free(&m);
		return;
	}
	rav_trace_error te;
	rav_trace *tr = rav_trace_open_memory(m.buf.p, m.buf.len, &te);
	REQUIRE(tr);
	REQUIRE(rav_trace_index(tr, NULL, NULL, &te) == 0);
	CHECK_EQ(rav_trace_site_count(tr), NSITES);
	rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
	int bad = 0;
	for (uint32_t s = 0; s < NSITES; s++) {
		rav_event x;
		unsigned n = 0;
		if (rav_trace_event_at(tr, 2 + s, &x))
			n = rav_trace_site_frames(tr, x.site, fr, RAV_TRACE_SITE_FRAMES_MAX);
		bool ok = n == RAV_SITE_FRAMES_MAX;
		for (unsigned k = 0; ok && k < n; k++)
			ok = fr[k].object == -1 && fr[k].offset == deep_frame(s, k);
		bad += !ok;
	}
	CHECK_EQ(bad, 0);
	rav_trace_close(tr);
	tt_mem_free(&m);
}

/* Builds: header, [MAPS], SITES payload `sp` for thread 1's first chunk,
 * then that chunk (3 events), then more chunks as asked. */
typedef struct damage {
	const char *name;
	const uint8_t *sites;
	size_t sites_len;
	uint32_t sites_count;   /* frame count of the SITES chunk */
	uint32_t sites_thread;
	bool maps, maps_twice, maps_skip;
	const uint8_t *maps_payload;
	size_t maps_len;
	bool extra_chunk_between; /* a MAPS chunk between SITES and EVENTS */
	const char *expect;       /* in the error message; NULL: opens */
} damage;

static void damaged(const damage *d)
{
	tt_mem m = {0};
	ravt_writer *w = tt_writer(&m, 0, true);
	REQUIRE(w);
	const uint8_t *mp = d->maps_payload;
	size_t ml = d->maps_len;
	if (d->maps)
		REQUIRE(ravt_writer_raw_chunk(w, RAVT_CHUNK_MAPS, 0, mp, (uint32_t)ml, 0, 1, d->maps_skip ? 2 : 1) == 0);
	if (d->maps_twice)
		REQUIRE(ravt_writer_raw_chunk(w, RAVT_CHUNK_MAPS, 0, mp, (uint32_t)ml, 0, 1, 1) == 0);
	if (d->sites)
		REQUIRE(ravt_writer_raw_chunk(w, RAVT_CHUNK_SITES, 0, d->sites, (uint32_t)d->sites_len,
		                              d->sites_thread ? d->sites_thread : 1, d->sites_count, 0) == 0);
	if (d->extra_chunk_between)
		REQUIRE(ravt_writer_raw_chunk(w, 77, 0, "x", 1, 0, 0, 0) == 0);
	rav_raw_event ev[3] = {tt_ev(RAV_EV_TIME, 0, 0, 2000, 0, 1), tt_ev(RAV_EV_THREAD_START, 0, 1, 7, 0, 1),
	                       tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(1, 1, 1), 0, 5)};
	REQUIRE(ravt_writer_add(w, 1, ev, 3) == 0);
	REQUIRE(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	rav_trace_error e;
	rav_trace *tr = rav_trace_open_memory(m.buf.p, m.buf.len, &e);
	if (!d->expect) {
		if (!tr)
			fprintf(stderr, "%s: %s\n", d->name, e.message);
		CHECK(tr != NULL);
		if (tr) {
			CHECK(rav_trace_index(tr, NULL, NULL, &e) == 0);
			rav_event x;
			CHECK(rav_trace_event_at(tr, 2, &x));
			CHECK(x.site == 1);
			rav_trace_frame f[2];
			CHECK(rav_trace_site_frames(tr, 1, f, 2) == 1);
			CHECK(f[0].object == 0 && f[0].offset == 0x1234);
			rav_trace_close(tr);
		}
	} else {
		CHECK(tr == NULL);
		if (tr)
			rav_trace_close(tr);
		else {
			if (!strstr(e.message, d->expect))
				fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", d->name, e.message, d->expect);
			CHECK(strstr(e.message, d->expect) != NULL);
			CHECK(e.code == RAV_TRACE_ECHUNK);
			CHECK(e.chunk >= 0);
		}
	}
	tt_mem_free(&m);
}

static void damage_cases(void)
{
	/* one site of one frame at 0x1234 in the one object, mapped at 0x2a8000000000 */
	uint8_t site_addr[10];
	uint8_t *q = ravt_put_varint(site_addr, ravt_zigzag((int64_t)(0x2a8000000000ull + 0x1234)));
	size_t al = (size_t)(q - site_addr);
	uint8_t good[32], *p = good;
	*p++ = 1;          /* one site */
	*p++ = 1;          /* one frame */
	memcpy(p, site_addr, al);
	p += al;
	*p++ = 2;          /* two runs */
	*p++ = 2, *p++ = 0; /* 2 events without site */
	*p++ = 1, *p++ = 1; /* 1 event with site 1 */
	size_t gl = (size_t)(p - good);
	uint8_t maps[40], *mq = maps;
	mq = ravt_put_varint(mq, 0x2a8000000000ull);
	*mq++ = 1, *mq++ = 0;
	mq = ravt_put_varint(mq, 0x10000);
	*mq++ = 5, *mq++ = 2, *mq++ = 0xab, *mq++ = 0xcd, *mq++ = 4;
	memcpy(mq, "prog", 4);
	mq += 4;
	size_t ml = (size_t)(mq - maps);

	damaged(&(damage){"good", good, gl, 3, 0, true, false, false, maps, ml, false, NULL});
	uint8_t runs_short[32];
	memcpy(runs_short, good, gl);
	runs_short[gl - 4] = 1; /* 1 + 1 events of 3 */
	damaged(&(damage){"runs short", runs_short, gl, 3, 0, true, false, false, maps, ml, false, "fewer events"});
	uint8_t runs_long[32];
	memcpy(runs_long, good, gl);
	runs_long[gl - 4] = 3;
	damaged(&(damage){"runs long", runs_long, gl, 3, 0, true, false, false, maps, ml, false, "more events"});
	uint8_t bad_idx[32];
	memcpy(bad_idx, good, gl);
	bad_idx[gl - 1] = 2;
	damaged(&(damage){"bad index", bad_idx, gl, 3, 0, true, false, false, maps, ml, false, "does not have"});
	damaged(&(damage){"count differs", runs_long, gl, 4, 0, true, false, false, maps, ml, false, "describes other"});
	damaged(&(damage){"thread differs", good, gl, 3, 9, true, false, false, maps, ml, false, "describes other"});
	damaged(&(damage){"not followed", good, gl, 3, 0, true, false, false, maps, ml, true, "not followed"});
	damaged(&(damage){"truncated", good, gl - 2, 3, 0, true, false, false, maps, ml, false, "run"});
	damaged(&(damage){"maps twice", good, gl, 3, 0, true, true, false, maps, ml, false, "out of sequence"});
	damaged(&(damage){"maps skip", good, gl, 3, 0, true, false, true, maps, ml, false, "out of sequence"});
	uint8_t zero_frames[32];
	memcpy(zero_frames, good, gl);
	zero_frames[1] = 0;
	damaged(&(damage){"zero frames", zero_frames, gl, 3, 0, true, false, false, maps, ml, false, "frame count"});
	uint8_t big_dict[32];
	memcpy(big_dict, good, gl);
	big_dict[0] = 9;
	damaged(&(damage){"big dictionary", big_dict, gl, 3, 0, true, false, false, maps, ml, false, "dictionary"});
	uint8_t bad_maps[40];
	memcpy(bad_maps, maps, ml);
	bad_maps[ml - 8] = 200; /* build id length past the end */
	damaged(&(damage){"bad maps", good, gl, 3, 0, true, false, false, bad_maps, ml, false, "build id"});
	uint8_t maps_left[41];
	memcpy(maps_left, maps, ml);
	maps_left[ml] = 0;
	damaged(&(damage){"maps left over", good, gl, 3, 0, true, false, false, maps_left, ml + 1, false, "left over"});
}

int main(void)
{
	roundtrip(0x5eed0001ull, true);
	roundtrip(0x5eed0002ull, false);
	roundtrip(0x5eed0003ull, true);
	no_sites();
	many_deep_sites();
	damage_cases();
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
