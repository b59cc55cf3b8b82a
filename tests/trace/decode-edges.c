/* decode-edges.c - the event decoder at the edges of its fast paths.
 *
 * The decoder reads varints without per-byte bounds checks (the zero
 * padding after a chunk's events stops them) and reads varints of five
 * bytes and more as one 64-bit word.  Here: operands of every varint
 * length (1 to 10 bytes, both ends of each length), near and far pool
 * addresses, external addresses, in small chunks so that many events sit
 * at a chunk's end, compressed and not, decode to exactly what was written;
 * and a varint made longer than 10 bytes behind a recomputed checksum is a
 * precise decode error, not a value; so is a hit on an address-cache
 * entry the chunk never filled (the decoder keeps no count of entries: a
 * free slot's cell refuses it); and a chunk whose events end before its
 * count says so, after the events it holds (the decoder tells an event
 * that starts at the end by its kind byte, a padding zero). */
#include "trace-private.h"
#include "trace-test.h"

typedef struct grab {
	ravt_sink sink;
	rav_event *ev;
	size_t n, cap;
} grab;

static void g_begin(ravt_sink *s, uint64_t from)
{
	(void)s;
	(void)from;
}

static void g_events(ravt_sink *s, const rav_event *evs, size_t n)
{
	grab *g = (grab *)s;
	if (g->n + n > g->cap) {
		g->cap = (g->n + n) * 2;
		g->ev = realloc(g->ev, g->cap * sizeof *g->ev);
		REQUIRE(g->ev);
	}
	memcpy(g->ev + g->n, evs, n * sizeof *evs);
	g->n += n;
}

static void g_end(ravt_sink *s, uint64_t upto, bool final)
{
	(void)s;
	(void)upto;
	(void)final;
}

static const ravt_sink_ops g_ops = {g_begin, g_events, g_end, NULL, NULL, NULL};

/* Every boundary value of every varint length. */
static size_t values(uint64_t *out)
{
	size_t n = 0;
	out[n++] = 0;
	for (unsigned bits = 7; bits < 64; bits += 7) {
		out[n++] = ((uint64_t)1 << bits) - 1; /* the longest of a length */
		out[n++] = (uint64_t)1 << bits;       /* the shortest of the next */
	}
	out[n++] = UINT64_MAX;
	out[n++] = 0x8000000000000000ull;
	return n;
}

static uint8_t *write_trace(size_t *len, bool compress, uint32_t chunk_bytes, rav_raw_event *evs, size_t *nev)
{
	uint64_t v[32];
	size_t nv = values(v), n = 0;
	uint64_t tsc = 2000;
	evs[n++] = tt_ev(RAV_EV_TIME, 0, 0, tsc, 0, 0);
	for (size_t i = 0; i < nv; i++) {
		for (size_t j = 0; j < nv; j += 3) {
			/* values as data; pool addresses near and far (page i * 37) */
			evs[n++] = tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr((uint32_t)(i * 37 % 1000), (uint32_t)j % 128, 1),
			                 v[i], v[j]);
			evs[n++] = tt_ev(RAV_EV_ACCESS, 1, 0, tt_addr((uint32_t)(j * 101 % 60000), 5, 2), v[i] & 0xffff, 0);
			evs[n++] = tt_ev(RAV_EV_ACCESS, 1, 0, 0x5000 + (v[j] & 0xffffffffffull), 8, 0);
		}
	}
	*nev = n;
	tt_mem m = {0};
	ravt_writer *w = tt_writer(&m, chunk_bytes, !compress);
	REQUIRE(w);
	CHECK(ravt_writer_add(w, 1, evs, n) == 0);
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	free(m.bounds);
	*len = m.buf.len;
	return m.buf.p;
}

/* Merge the whole trace; the events, or NULL with *err. */
static rav_event *read_all(const uint8_t *p, size_t len, size_t *n, rav_trace_error *err)
{
	ravt_reader *rd = ravt_reader_open_memory(p, len, err);
	if (!rd)
		return NULL;
	grab g = {.sink = {&g_ops}};
	ravt_sink *sinks[1] = {&g.sink};
	int rc = ravt_reader_merge(rd, sinks, 1, 0, err);
	ravt_reader_close(rd);
	*n = g.n;
	if (rc < 0) {
		free(g.ev);
		return NULL;
	}
	return g.ev;
}

static void roundtrip(bool compress, uint32_t chunk_bytes)
{
	rav_raw_event evs[2048];
	size_t nev, len, n = 0;
	uint8_t *p = write_trace(&len, compress, chunk_bytes, evs, &nev);
	rav_trace_error err;
	rav_event *got = read_all(p, len, &n, &err);
	if (!got)
		fprintf(stderr, "read: %s\n", err.message);
	REQUIRE(got);
	CHECK_EQ(n, nev);
	uint64_t pool_end = TT_BASE + TT_POOL_BYTES;
	for (size_t i = 0; i < n && i < nev; i++) {
		CHECK_EQ(got[i].kind, evs[i].kind & 0xff);
		if (evs[i].kind == RAV_EV_DATA_STORE) {
			CHECK_EQ(got[i].b, evs[i].b);
			CHECK_EQ(got[i].c, evs[i].c);
			CHECK(got[i].a != 0);
		} else if (evs[i].kind == RAV_EV_ACCESS && evs[i].a >= TT_BASE && evs[i].a < pool_end) {
			CHECK_EQ(got[i].b, evs[i].b);
			/* the word's place: page, then word within the page */
			uint64_t off = (evs[i].a - TT_BASE) / 8, wpp = TT_PAGE / 8;
			CHECK_EQ(got[i].a, (off / wpp) << 16 | (off % wpp));
		} else if (evs[i].kind == RAV_EV_ACCESS) {
			CHECK_EQ(got[i].a, RAV_LOC_EXTERNAL | evs[i].a);
		}
	}
	free(got);
	free(p);
}

/* The uncompressed chunk holding byte `at` of a trace in memory gets its
 * checksums back after a test changed that byte: the decoder sees it. */
static void refix_chunk(uint8_t *p, size_t len, size_t at)
{
	ravt_header h;
	memcpy(&h, p, sizeof h);
	size_t off = h.header_size;
	bool fixed = false;
	while (off + sizeof(ravt_frame) <= len) {
		ravt_frame f;
		memcpy(&f, p + off, sizeof f);
		size_t body = off + sizeof f;
		if (at >= body && at < body + f.stored_len) {
			CHECK_EQ(f.flags & RAVT_CF_ZSTD, 0);
			f.payload_crc = ravt_crc32c(0, p + body, f.stored_len);
			f.frame_crc = ravt_frame_crc(&f);
			memcpy(p + off, &f, sizeof f);
			fixed = true;
			break;
		}
		off = body + ((f.stored_len + 7u) & ~7u);
	}
	REQUIRE(fixed);
}

/* The first 10-byte varint of UINT64_MAX (nine 0xff, then 0x01) in an
 * uncompressed chunk made to continue: a varint of 11 bytes or more. */
static void overlong(void)
{
	rav_raw_event evs[2048];
	size_t nev, len, n = 0;
	uint8_t *p = write_trace(&len, false, 100000, evs, &nev);
	static const uint8_t max10[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	size_t at = 0;
	for (size_t i = 0; i + 11 < len && !at; i++)
		if (!memcmp(p + i, max10, 10))
			at = i + 9;
	REQUIRE(at);
	p[at] = 0x81;
	p[at + 1] |= 0x80; /* (the byte after may be a 0: make it continue too) */
	refix_chunk(p, len, at);
	rav_trace_error err;
	rav_event *got = read_all(p, len, &n, &err);
	CHECK(got == NULL);
	if (!got) {
		CHECK_EQ(err.code, RAV_TRACE_EDECODE);
		CHECK(strstr(err.message, "is malformed") != NULL);
		printf("overlong varint: %s (%zu events before it)\n", err.message, n);
	}
	free(got);
	free(p);
}

/* An uncompressed trace of a TIME and two writes to the pool: the second's
 * address is a cache hit on entry 0 of the chunk's cache, word `word2`. */
static uint8_t *two_writes(size_t *len, uint32_t word2)
{
	rav_raw_event evs[3];
	evs[0] = tt_ev(RAV_EV_TIME, 0, 0, 2000, 0, 0);
	evs[1] = tt_ev(RAV_EV_ACCESS, 1, 0, tt_addr(3, 7, 0), 8, 0);
	evs[2] = tt_ev(RAV_EV_ACCESS, 1, 0, tt_addr(3, 7, word2), 8, 0);
	tt_mem m = {0};
	ravt_writer *w = tt_writer(&m, 100000, true);
	REQUIRE(w);
	CHECK(ravt_writer_add(w, 1, evs, 3) == 0);
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	free(m.bounds);
	*len = m.buf.len;
	return m.buf.p;
}

/* The same hit made one on entry 5 while the chunk's cache holds one
 * entry (operand 5 << 3: even, one byte), behind a recomputed checksum:
 * a precise decode error, never the cell a free slot held before. */
static void unheld_hit(void)
{
	size_t la, lb, n = 0;
	uint8_t *a = two_writes(&la, 0), *b = two_writes(&lb, 1);
	REQUIRE(la == lb);
	/* the two traces differ in the hit's byte only: 0 (entry 0, word 0)
	 * against 2 (entry 0, word 1) */
	size_t at = 0, diffs = 0;
	for (size_t i = 0; i < la; i++)
		if (a[i] != b[i] && a[i] == 0 && b[i] == 2) {
			at = i;
			diffs++;
		}
	REQUIRE(diffs == 1);
	rav_trace_error err;
	rav_event *got = read_all(a, la, &n, &err);
	REQUIRE(got); /* as written, it reads */
	CHECK_EQ(n, 3);
	free(got);
	a[at] = 5 << 3;
	refix_chunk(a, la, at);
	n = 0;
	got = read_all(a, la, &n, &err);
	CHECK(got == NULL);
	if (!got) {
		CHECK_EQ(err.code, RAV_TRACE_EDECODE);
		printf("hit on an entry not held: %s (%zu events before it)\n", err.message, n);
	}
	free(got);
	free(a);
	free(b);
}

/* The trace of two_writes without its trailer, its chunk and segment
 * counting one event more than its bytes hold (3 -> 4). */
static void ends_early(void)
{
	size_t len, n = 0;
	uint8_t *p = two_writes(&len, 1);
	ravt_header h;
	memcpy(&h, p, sizeof h);
	size_t off = h.header_size, events_at = 0;
	bool patched = false;
	while (off + sizeof(ravt_frame) <= len) {
		ravt_frame f;
		memcpy(&f, p + off, sizeof f);
		size_t body = off + sizeof f;
		if (f.kind == RAVT_CHUNK_TRAILER) {
			len = off; /* (a file without one opens: an unfinished recording) */
			break;
		}
		if (ravt_chunk_is_events(f.kind)) {
			REQUIRE(f.count == 3 && (f.flags & RAVT_CF_ZSTD) == 0);
			/* the payload: varint seg_bytes, then the one segment's n (3) */
			REQUIRE(p[body] < 0x80 && p[body + 1] == 3);
			p[body + 1] = 4;
			f.count = 4;
			memcpy(p + off, &f, sizeof f);
			events_at = body + 1;
			patched = true;
		}
		off = body + ((f.stored_len + 7u) & ~7u);
	}
	REQUIRE(patched);
	refix_chunk(p, len, events_at);
	rav_trace_error err;
	rav_event *got = read_all(p, len, &n, &err);
	CHECK(got == NULL);
	CHECK_EQ(n, 3);
	if (!got) {
		CHECK_EQ(err.code, RAV_TRACE_EDECODE);
		CHECK(strstr(err.message, "events end before the chunk's event count") != NULL);
		printf("events end early: %s (%zu events before)\n", err.message, n);
	}
	free(got);
	free(p);
}

int main(void)
{
	roundtrip(false, 100000);
	roundtrip(true, 100000);
	roundtrip(false, 300); /* many chunk ends */
	roundtrip(true, 300);
	overlong();
	unheld_hit();
	ends_early();
	return tt_failures ? 1 : 0;
}
