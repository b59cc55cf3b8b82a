/* encode-paths.c - the writer's fast path and its general encoder write the
 * same bytes.
 *
 * The writer takes runs of plain heap writes and TIME events on a fast path
 * (trace/writer-fast.c) and everything else through the general encoder
 * (trace/writer-encode.c); FORMAT.md allows one encoding only, so for the
 * same input the two must agree byte for byte.  The same raw records are
 * written twice, once as the recorder does and once with the fast path
 * switched off (a writer test hook), uncompressed, and the outputs are
 * compared.  The records mix everything the fast path has to hand over or
 * handle at its edges: every kind, null, external and unaligned addresses,
 * address deltas of every length, aux values that repeat or not, values in
 * fields a kind does not carry (escapes), texts cut across buffers, chunks
 * filling up in the middle of a run, several threads, a pool base that is
 * set late, and call-site records (format 1.3) of up to 11 frames, some cut
 * across buffers, between any two events; with the address cache of format
 * 1.5 (cells named again at every depth of the cache) and with the plain
 * encoding of 1.1, which writers asked for an older version use.  Seeds are
 * fixed and printed.
 */
#include "trace-test.h"

static uint64_t rng;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

/* Pool addresses named lately (any thread), for the address cache of 1.5:
 * a word of one of them again is a hit at any depth, or just fallen out. */
static uint64_t recent[24];

/* A pool address: a word of a cell named lately, near the last one, or
 * anywhere. */
static uint64_t pool_addr(uint64_t *last)
{
	uint64_t r = rnd() % 100;
	uint64_t a;
	if (r < 30 && recent[0])
		a = (recent[rnd() % 24] & ~(uint64_t)31) + (rnd() % 4) * 8;
	else if (r < 60)
		a = *last + ((rnd() % 64) - 32) * 8;
	else if (r < 90)
		a = TT_BASE + (rnd() % (1u << 20)) * 8;
	else if (r < 97)
		a = TT_BASE + (rnd() % (1ull << 29)) * 8; /* long deltas */
	else
		a = TT_BASE + rnd() % (1u << 16); /* unaligned */
	if (a < TT_BASE || a >= TT_BASE + TT_POOL_BYTES)
		a = TT_BASE + 64;
	*last = a;
	memmove(recent + 1, recent, sizeof recent - sizeof recent[0]);
	recent[0] = a;
	return a;
}

static uint64_t any_addr(uint64_t *last)
{
	uint64_t r = rnd() % 100;
	if (r < 85)
		return pool_addr(last);
	if (r < 90)
		return 0;
	if (r < 97)
		return 0x5500000000ull + rnd() % 100000; /* external, near */
	return rnd() | (1ull << 62);                     /* external, far */
}

/* A RAV_RAW_SITE record: a stack from a small set (so sites repeat), a
 * few "no site" ones. */
static size_t gen_site(rav_raw_event *out)
{
	unsigned frames = rnd() % 16 == 0 ? 0 : 1 + (unsigned)(rnd() % 3 ? 0 : rnd() % 11);
	uint64_t pick = rnd() % 24;
	uint64_t f[12] = {0};
	for (unsigned k = 0; k < frames; k++)
		f[k] = 0x400000 + pick * 0x40 + k * 0x1000 + (rnd() % 8 == 0 ? 8 : 0);
	out[0] = tt_ev(RAV_RAW_SITE, frames, 0, f[0], f[1], f[2]);
	size_t n = 1;
	for (unsigned k = 3; k < frames; k += 4, n++) {
		uint64_t *wds = (uint64_t *)(void *)&out[n];
		for (unsigned j = 0; j < 4; j++)
			wds[j] = k + j < frames ? f[k + j] : 0;
	}
	REQUIRE(n == RAV_SITE_RECORDS(frames));
	return n;
}

/* One random record set; texts take extra records. */
static size_t gen(rav_raw_event *out, size_t max, uint64_t *last, uint64_t *tsc, uint64_t *seq)
{
	if (max < 8)
		return 0;
	if (rnd() % 40 == 0)
		return gen_site(out);
	uint64_t r = rnd() % 1000;
	unsigned kind;
	if (r < 300)
		kind = RAV_EV_DATA_STORE;
	else if (r < 420)
		kind = RAV_EV_FIXUP;
	else if (r < 500)
		kind = RAV_EV_MOVE;
	else if (r < 560)
		kind = RAV_EV_ALLOC;
	else if (r < 620)
		kind = RAV_EV_FREE;
	else if (r < 700)
		kind = RAV_EV_TIME;
	else if (r < 760)
		kind = RAV_EV_ACCESS;
	else if (r < 800)
		kind = RAV_EV_LINK;
	else if (r < 830)
		kind = RAV_EV_TYPE_WORD;
	else if (r < 850)
		kind = RAV_EV_COMPACT_BEGIN;
	else if (r < 870)
		kind = RAV_EV_COMPACT_END;
	else if (r < 890)
		kind = RAV_EV_PAGE_ACQUIRE;
	else if (r < 905)
		kind = RAV_EV_MSG_SEND;
	else if (r < 915)
		kind = RAV_EV_MARK;
	else if (r < 925)
		kind = RAV_EV_THREAD_NAME;
	else if (r < 935)
		kind = RAV_EV_TYPE_DEF;
	else if (r < 945)
		kind = 40 + (unsigned)(rnd() % 20); /* future kinds: the generic shape */
	else
		kind = 1 + (unsigned)(rnd() % (RAV_EV_KIND_COUNT - 1));
	uint32_t aux = rnd() % 4 == 0 ? (uint32_t)(rnd() % 0x1000000) : (uint32_t)(rnd() % 3);
	uint32_t x = 0;
	uint64_t a = 0, b = 0, c = 0;
	unsigned shape = ravt_shape_of(kind);
	unsigned amask = ravt_shape_addr_mask(shape);
	a = amask & 1 ? any_addr(last) : rnd() % 1000;
	b = amask & 2 ? any_addr(last) : rnd() % (rnd() % 2 ? 100 : 1ull << 40);
	c = amask & 4 ? any_addr(last) : rnd() % 100000;
	x = (uint32_t)(rnd() % 8);
	if (kind == RAV_EV_TIME) {
		*tsc += rnd() % 5000;
		a = *tsc;
		b = 1000000000ull;
		c = rnd() % 3 == 0 ? ++*seq : 0;
		x = 0;
	}
	if (ravt_kind_is_ordering(kind))
		c = ++*seq;
	/* most events carry only the fields of their shape; a few do not
	 * (escapes) */
	if (rnd() % 10) {
		switch (shape) {
		case RAVT_SHAPE_A:
			x = 0, b = 0, c = 0;
			break;
		case RAVT_SHAPE_AB:
			x = 0, c = 0;
			break;
		case RAVT_SHAPE_ABC:
			x = 0;
			break;
		case RAVT_SHAPE_AVV:
			x = 0;
			break;
		case RAVT_SHAPE_ACCESS:
			x = 0, c = 0;
			break;
		case RAVT_SHAPE_X:
			a = b = c = 0;
			break;
		case RAVT_SHAPE_XA:
			b = c = 0;
			break;
		default:
			break;
		}
	}
	size_t n = 1;
	size_t tlen = 0;
	if (shape == RAVT_SHAPE_XTEXT || shape == RAVT_SHAPE_TYPEDEF || shape == RAVT_SHAPE_TEXT) {
		tlen = rnd() % 100;
		if ((tlen + 31) / 32 + 1 > max)
			tlen = 0;
		if (shape == RAVT_SHAPE_XTEXT)
			aux = (uint32_t)tlen;
		else
			a = tlen;
		if (shape != RAVT_SHAPE_TYPEDEF)
			b = c = 0;
	}
	out[0] = tt_ev(kind, aux & 0xffffff, x, a, b, c);
	size_t recs = (tlen + 31) / 32;
	for (size_t i = 0; i < recs; i++) {
		memset(&out[n], 0, sizeof out[n]);
		for (size_t k = 0; k < 32 && i * 32 + k < tlen; k++)
			((uint8_t *)&out[n])[k] = (uint8_t)('a' + (i * 32 + k) % 26);
		n++;
	}
	return n;
}

/* minor 0: the current version (1.5 and later: the address cache);
 * otherwise that 1.x version's encoding. */
static ravt_writer *writer(tt_mem *m, bool fast, uint32_t chunk_bytes, bool late_pool, uint16_t minor)
{
	ravt_writer_params p = tt_params("encode-paths");
	if (late_pool)
		p.pool_base = p.pool_bytes = 0;
	p.chunk_bytes = chunk_bytes;
	p.no_compress = true;
	p.no_fast_path = !fast;
	p.version_major = minor ? 1 : 0;
	p.version_minor = minor;
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, m, err, sizeof err);
	if (!w)
		fprintf(stderr, "writer: %s\n", err);
	return w;
}

/* The same records through both writers, in the same buffer cuts. */
/* A digest of each thread's events as the reader decodes them (0: unreadable). */
static uint64_t digest(const tt_mem *m)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(m->buf.p, m->buf.len, &err);
	if (!t || rav_trace_index(t, NULL, NULL, &err) != 0) {
		rav_trace_close(t);
		return 0;
	}
	/* per thread: where chunks end differs between encodings, and with it
	 * how threads with equal times interleave (FORMAT.md 9) */
	uint64_t h[4] = {1469598103934665603ull, 1469598103934665603ull, 1469598103934665603ull,
	                 1469598103934665603ull},
	         n = 0;
	rav_event_iter it;
	rav_event_iter_init(&it, t, NULL);
	rav_event ev;
	while (rav_event_iter_next(&it, &ev)) {
		uint64_t f[7] = {ev.kind, ev.aux, ev.x, ev.thread, ev.a, ev.b, ev.c};
		for (int i = 0; i < 7; i++)
			h[ev.thread & 3] = (h[ev.thread & 3] ^ f[i]) * 1099511628211ull;
		n++;
	}
	rav_trace_close(t);
	return (h[0] ^ h[1] * 3 ^ h[2] * 5 ^ h[3] * 7) ^ n;
}

/* Returns the digest of the events read back. */
static uint64_t run(uint64_t seed, size_t nrec, uint32_t chunk_bytes, bool late_pool, uint16_t minor)
{
	rng = seed;
	memset(recent, 0, sizeof recent);
	rav_raw_event *rec = malloc(nrec * sizeof *rec);
	REQUIRE(rec);
	uint64_t last[4] = {TT_BASE + 4096, TT_BASE + 8192, TT_BASE, TT_BASE},
	         tsc[4] = {2000, 2000, 2000, 2000}, seq = 0;
	/* thread of each record range: runs of one thread's records */
	uint32_t *thread_of = malloc(nrec * sizeof *thread_of);
	REQUIRE(thread_of);
	size_t n = 0;
	while (n < nrec) {
		uint32_t th = 1 + (uint32_t)(rnd() % 3);
		size_t run_len = 1 + rnd() % 200;
		for (size_t k = 0; k < run_len && n < nrec; k++) {
			size_t got = gen(rec + n, nrec - n, &last[th], &tsc[th], &seq);
			if (!got) {
				nrec = n;
				break;
			}
			for (size_t i = 0; i < got; i++)
				thread_of[n + i] = th;
			n += got;
		}
	}
	tt_mem out[2] = {0};
	for (int pass = 0; pass < 2; pass++) {
		ravt_writer *w = writer(&out[pass], pass == 0, chunk_bytes, late_pool, minor);
		REQUIRE(w);
		uint64_t cut_rng = seed ^ 0x9e3779b97f4a7c15ull;
		size_t i = 0;
		bool pool_set = !late_pool;
		while (i < n) {
			/* a buffer: some records of one thread (texts may be cut) */
			uint32_t th = thread_of[i];
			size_t j = i;
			xorshift64(&cut_rng);
			size_t len = 1 + cut_rng % 300;
			while (j < n && j - i < len && thread_of[j] == th)
				j++;
			if (!pool_set && i > n / 10) {
				ravt_writer_set_pool(w, TT_BASE, TT_POOL_BYTES);
				pool_set = true;
			}
			CHECK(ravt_writer_add(w, th, rec + i, j - i) == 0);
			if (cut_rng % 97 == 0)
				CHECK(ravt_writer_flush_thread(w, th) == 0);
			i = j;
		}
		CHECK(ravt_writer_finish(w, 0) == 0);
		ravt_writer_free(w);
	}
	bool same = out[0].buf.len == out[1].buf.len && memcmp(out[0].buf.p, out[1].buf.p, out[0].buf.len) == 0;
	if (!same) {
		size_t k = 0;
		while (k < out[0].buf.len && k < out[1].buf.len && out[0].buf.p[k] == out[1].buf.p[k])
			k++;
		fprintf(stderr,
		        "seed %llu (%zu records, chunks of %u bytes%s, version 1.%u): the fast path wrote %zu "
		        "bytes, the general encoder %zu; first difference at byte %zu\n",
		        (unsigned long long)seed, n, chunk_bytes, late_pool ? ", pool set late" : "",
		        minor ? minor : RAVT_VERSION_MINOR,
		        out[0].buf.len, out[1].buf.len, k);
		tt_failures++;
	}
	/* and the bytes are a trace the reader takes */
	uint64_t h = digest(&out[0]);
	CHECK(h != 0);
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(out[0].buf.p, out[0].buf.len, &err);
	CHECK(t != NULL);
	if (t) {
		CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
		/* the site records made it: a few dozen distinct stacks (a writer
		 * of 1.1 writes none) */
		CHECK(minor == 1 || rav_trace_site_count(t) > 10);
		rav_trace_close(t);
	}
	tt_mem_free(&out[0]);
	tt_mem_free(&out[1]);
	free(rec);
	free(thread_of);
	return h;
}

int main(void)
{
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	size_t nrec = small ? 20000 : 200000;
	static const uint32_t chunk_sizes[] = {0, 200, 4096};
	unsigned runs = 0;
	for (uint64_t seed = 1; seed <= (small ? 4u : 12u); seed++) {
		uint32_t cb = chunk_sizes[seed % 3];
		/* the current encoding (address cache), and that of 1.1 (plain
		 * address deltas), which writers of older versions still use */
		uint64_t now = run(seed * 0x100000001b3ull, nrec, cb, seed % 4 == 3, 0);
		uint64_t old = run(seed * 0x100000001b3ull, nrec, cb, seed % 4 == 3, 1);
		/* the two encodings of the same records read back the same */
		if (now != old) {
			fprintf(stderr, "seed %llu: the 1.%u and 1.1 encodings read back different events\n",
			        (unsigned long long)(seed * 0x100000001b3ull), RAVT_VERSION_MINOR);
			tt_failures++;
		}
		runs += 2;
		if (tt_failures)
			break;
	}
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	fprintf(stderr, "encode-paths: %u runs of %zu records, identical bytes\n", runs, nrec);
	return 0;
}
