/* corrupt.c - damaged traces never crash, hang or allocate without bound:
 * they open with a precise error (what, where, why), or open as a
 * truncated prefix, or open and fail to decode with a precise error.
 *
 * Inputs: the traces named on the command line (the samples' demo traces)
 * plus synthetic ones (compressed, uncompressed, several threads).  Each is
 * damaged in every way a crash, a disk or a hostile file can: cut at every
 * chunk boundary and inside chunks, bits flipped anywhere, frames with
 * valid checksums but absurd lengths and counts, zero-length and unknown
 * chunks, payloads altered behind a recomputed checksum (so the decoder
 * itself sees garbage), empty files, wrong magic, a newer major version.
 * Everything that opens is indexed, iterated, randomly accessed and
 * replayed to a few points. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace-private.h"
#include "trace-test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

/* Under memcheck (RAV_TEST_SMALL=1) every kind of damage is still applied,
 * at fewer places. */
static bool small;

typedef struct stats {
	unsigned opened, rejected, truncated, index_failed;
} stats;
static stats st;

static void check_error(const rav_trace_error *err, size_t size, const char *what)
{
	if (err->code == RAV_TRACE_OK || err->message[0] == 0) {
		fprintf(stderr, "%s: failure without a code or message (code %d)\n", what, err->code);
		tt_failures++;
	}
	if ((err->code == RAV_TRACE_ECHUNK || err->code == RAV_TRACE_EDECODE) && (err->chunk < 0 || err->offset > size)) {
		fprintf(stderr, "%s: chunk error without a place: chunk %lld offset %llu: %s\n", what,
			(long long)err->chunk, (unsigned long long)err->offset, err->message);
		tt_failures++;
	}
}

/* Use an opened trace every way the tools do. */
static void exercise(rav_trace *t, size_t size, bool deep, const char *what)
{
	rav_trace_error err;
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	if (rav_trace_index(t, NULL, NULL, &err) != 0) {
		st.index_failed++;
		check_error(&err, size, what);
	}
	uint64_t n = rav_trace_indexed_events(t);
	rav_event ev;
	rav_event_iter it;
	rav_event_iter_init(&it, t, NULL);
	uint64_t k = 0;
	while (rav_event_iter_next(&it, &ev)) {
		if (ev.index != k) {
			fprintf(stderr, "%s: iterator skipped from %llu to %llu\n", what, (unsigned long long)k,
				(unsigned long long)ev.index);
			tt_failures++;
			break;
		}
		k++;
	}
	rav_event_iter_fini(&it);

	if (k != n) {
		fprintf(stderr, "%s: iterated %llu of %llu indexed events\n", what, (unsigned long long)k,
			(unsigned long long)n);
		tt_failures++;
	}
	/* Each random access decodes a window of its chunk from the chunk's
	 * start: 20 of them cost several times the whole index.  The deep
	 * tries (a few dozen per input) make 20; the others 4, still at random
	 * places of every trace that opens. */
	for (int i = 0; i < (deep ? 20 : 4) && n; i++)
		rav_trace_event_at(t, rnd() % n, &ev);
	rav_event_filter f = { .kinds = 1ull << RAV_EV_MOVE, .thread = -1 };
	if (n) {
		rav_trace_find_next(t, rnd() % n, &f);
		rav_trace_find_prev(t, rnd() % n, &f);
	}
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread th;
		CHECK(rav_trace_thread_at(t, i, &th));
	}
	for (unsigned i = 0; i < rav_trace_mark_count(t); i++) {
		rav_trace_mark mk;
		CHECK(rav_trace_mark_at(t, i, &mk) && mk.text != NULL);
	}
	if (!deep)
		return;
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(t), n / 3);
	while (ravt_cursor_next(&cur, &ev))
		;
	ravt_cursor_fini(&cur);
	rav_state *s = rav_state_new(t);
	if (s) {
		rav_state_seek(s, n / 2, &err);
		rav_state_seek(s, n, &err);
		rav_state_seek(s, 0, &err);
		for (int i = 0; i < 50 && rav_state_step(s, &ev, &err); i++)
			;
		rav_state_free(s);
	}
}

/* Whether the caller's environment asks for indexing on one thread. */
static bool one_thread;

/* Open damaged bytes; everything must end in a precise error or a usable trace.
 * A deep try indexes as the tools do, the consumers on a worker thread
 * (trace/pipeline.c) when there are several CPUs; the others index on this
 * thread (RAVTRACE_THREADS=1): the damage meets the same reader either
 * way, and a worker started and joined per try, thousands of times, was
 * a third of this test's CPU and most of its wall time on a loaded
 * machine (threads handing over on two busy cores). */
static void try_bytes(const uint8_t *p, size_t len, bool deep, const char *what)
{
	if (!one_thread) {
		if (deep)
			unsetenv("RAVTRACE_THREADS");
		else
			setenv("RAVTRACE_THREADS", "1", 1);
	}
	rav_trace_error err;
	memset(&err, 0x55, sizeof err);
	rav_trace *t = rav_trace_open_memory(p, len, &err);
	if (!t) {
		st.rejected++;
		check_error(&err, len, what);
		return;
	}
	st.opened++;
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	if (info.truncated) {
		st.truncated++;
		if (info.recovered_bytes > len) {
			fprintf(stderr, "%s: recovered %llu bytes of %zu\n", what, (unsigned long long)info.recovered_bytes,
				len);
			tt_failures++;
		}
		if (err.code != RAV_TRACE_ETRUNCATED || !err.message[0]) {
			fprintf(stderr, "%s: truncated without a message\n", what);
			tt_failures++;
		}
	} else if (err.code != RAV_TRACE_OK) {
		fprintf(stderr, "%s: opened with error code %d\n", what, err.code);
		tt_failures++;
	}
	exercise(t, len, deep, what);
	rav_trace_close(t);
}

/* Frame offsets of a well-formed trace. */
static size_t frames(const uint8_t *p, size_t len, size_t *out, size_t max)
{
	ravt_header h;
	memcpy(&h, p, sizeof h);
	size_t off = h.header_size, n = 0;
	while (off + sizeof(ravt_frame) <= len && n < max) {
		ravt_frame f;
		memcpy(&f, p + off, sizeof f);
		out[n++] = off;
		off += sizeof f + ((f.stored_len + 7u) & ~7u);
	}
	return n;
}

static void refresh_frame(uint8_t *p, size_t off)
{
	ravt_frame f;
	memcpy(&f, p + off, sizeof f);
	f.frame_crc = ravt_frame_crc(&f);
	memcpy(p + off, &f, sizeof f);
}

static void damage(const char *name, const uint8_t *orig, size_t len)
{
	char what[256];
	uint8_t *p = malloc(len + 64);
	REQUIRE(p);
	static size_t fr[4096];
	size_t nf = frames(orig, len, fr, 4096);
	ravt_header h;
	memcpy(&h, orig, sizeof h);

	/* Intact. */
	snprintf(what, sizeof what, "%s intact", name);
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(orig, len, &err);
	if (!t) {
		fprintf(stderr, "%s: %s\n", what, err.message);
		tt_failures++;
		free(p);
		return;
	}
	CHECK_EQ(rav_trace_index(t, NULL, NULL, &err), 0);
	rav_trace_close(t);

	/* Empty, wrong magic, newer major (checksum fixed so only the version is wrong). */
	t = rav_trace_open_memory(orig, 0, &err);
	CHECK(!t && err.code == RAV_TRACE_EEMPTY);
	memcpy(p, orig, len);
	p[0] ^= 0x20;
	t = rav_trace_open_memory(p, len, &err);
	CHECK(!t && err.code == RAV_TRACE_EMAGIC);
	memcpy(p, orig, len);
	((ravt_header *)p)->version_major = 2;
	((ravt_header *)p)->header_crc = ravt_header_crc(p, h.header_size);
	t = rav_trace_open_memory(p, len, &err);
	CHECK(!t && err.code == RAV_TRACE_EVERSION && strstr(err.message, "newer"));

	/* Cut at every chunk boundary and inside every chunk. */
	for (size_t i = 0; i < nf; i += small ? 1 + nf / 6 : 1) {
		ravt_frame f;
		memcpy(&f, orig + fr[i], sizeof f);
		size_t cuts[] = { fr[i], fr[i] + 1, fr[i] + 39, fr[i] + 40, fr[i] + 41,
				  fr[i] + 40 + f.stored_len / 2, fr[i] + 40 + f.stored_len };
		for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
			if (cuts[c] > len)
				continue;
			snprintf(what, sizeof what, "%s cut at %zu", name, cuts[c]);
			try_bytes(orig, cuts[c], c == 0 && i % 8 == 0, what);
		}
	}
	for (size_t cut = 1; cut < h.header_size + 8 && cut < len; cut += 13) {
		snprintf(what, sizeof what, "%s cut in header at %zu", name, cut);
		try_bytes(orig, cut, false, what);
	}

	/* Flipped bits: every header byte, every byte of the first frames, and
	 * random places. */
	for (size_t i = 0; i < h.header_size + 3 * sizeof(ravt_frame) && i < len; i += small ? 7 : 1) {
		memcpy(p, orig, len);
		p[i] ^= (uint8_t)(1u << (rnd() % 8));
		snprintf(what, sizeof what, "%s bit flip at %zu", name, i);
		try_bytes(p, len, false, what);
	}
	for (int i = 0; i < (small ? 20 : 150); i++) {
		memcpy(p, orig, len);
		size_t at = rnd() % len;
		p[at] ^= (uint8_t)(1 + rnd() % 255);
		snprintf(what, sizeof what, "%s byte change at %zu", name, at);
		try_bytes(p, len, false, what);
	}

	/* Frames with valid checksums and absurd fields. */
	for (size_t i = 0; i < nf; i += 1 + nf / (small ? 3 : 12)) {
		for (int m = 0; m < 9; m++) {
			memcpy(p, orig, len);
			ravt_frame *f = (ravt_frame *)(p + fr[i]);
			switch (m) {
			case 0: f->stored_len = 0xffffffffu; break;
			case 1: f->stored_len = 0; break;
			case 2: f->raw_len = 0xfffffff0u; break;
			case 3: f->raw_len = RAVT_PAYLOAD_MAX; break;
			case 4: f->count = 0; break;
			case 5: f->count = 0xffffffffu; break;
			case 6: f->first += 1; break;
			case 7: f->kind = 1000; break;
			case 8: f->flags ^= RAVT_CF_ZSTD; break;
			}
			refresh_frame(p, fr[i]);
			snprintf(what, sizeof what, "%s chunk %zu field %d", name, i, m);
			try_bytes(p, len, m >= 6, what);
		}
	}

	/* Payload bytes changed behind a recomputed checksum: the decoder
	 * (and zstd) see garbage. */
	for (int i = 0; i < (small ? 12 : 60) && nf > 0; i++) {
		memcpy(p, orig, len);
		size_t c = rnd() % nf;
		ravt_frame f;
		memcpy(&f, p + fr[c], sizeof f);
		if (f.stored_len == 0)
			continue;
		size_t at = fr[c] + sizeof f + rnd() % f.stored_len;
		int changes = 1 + (int)(rnd() % 4);
		for (int k = 0; k < changes; k++)
			p[at + (k * 3) % (fr[c] + sizeof f + f.stored_len - at)] ^= (uint8_t)(1 + rnd() % 255);
		f.payload_crc = ravt_crc32c(0, p + fr[c] + sizeof f, f.stored_len);
		f.frame_crc = ravt_frame_crc(&f);
		memcpy(p + fr[c], &f, sizeof f);
		snprintf(what, sizeof what, "%s payload of chunk %zu changed at %zu", name, c, at);
		try_bytes(p, len, i % 4 == 0, what);
	}

	/* A zero-length EVENTS chunk and a zero-length unknown chunk spliced
	 * in after the first chunk. */
	if (nf > 1) {
		for (int m = 0; m < 2; m++) {
			uint8_t *q = malloc(len + sizeof(ravt_frame));
			REQUIRE(q);
			memcpy(q, orig, fr[1]);
			ravt_frame z = { .sync = RAVT_CHUNK_SYNC, .kind = m ? 99 : RAVT_CHUNK_EVENTS, .thread = 1 };
			z.payload_crc = ravt_crc32c(0, "", 0);
			z.frame_crc = ravt_frame_crc(&z);
			memcpy(q + fr[1], &z, sizeof z);
			memcpy(q + fr[1] + sizeof z, orig + fr[1], len - fr[1]);
			snprintf(what, sizeof what, "%s zero-length %s chunk", name, m ? "unknown" : "events");
			rav_trace *tz = rav_trace_open_memory(q, len + sizeof z, &err);
			if (m == 0) {
				CHECK(!tz && err.code == RAV_TRACE_ECHUNK);
			} else if (tz) {
				rav_trace_close(tz);
			} else {
				/* Skipped, but the trailer's chunk index then disagrees. */
				CHECK(err.code == RAV_TRACE_ECHUNK);
			}
			try_bytes(q, len + sizeof z, false, what);
			free(q);
		}
	}
	free(p);
}

static uint8_t *synthetic(size_t *len, bool compress, int threads)
{
	tt_mem m = { 0 };
	ravt_writer *w = tt_writer(&m, 700, !compress);
	REQUIRE(w);
	uint64_t seq = 1, tsc = 5000;
	for (int step = 0; step < 3000; step++) {
		uint32_t th = 1 + (uint32_t)(rnd() % (uint64_t)threads);
		rav_raw_event e[6];
		int n = 0;
		tsc += rnd() % 100;
		bool ord = rnd() % 5 == 0;
		e[n++] = tt_ev(RAV_EV_TIME, 0, 0, tsc, 0, ord ? seq : 0);
		if (ord)
			e[n++] = tt_ev(RAV_EV_PAGE_ACQUIRE, 0, th, tt_addr(th, 0, 0), 0, seq++);
		e[n++] = tt_ev(RAV_EV_ALLOC, 17, 0, tt_addr(th, 1 + (uint32_t)(rnd() % 100), 0), 0, 0);
		e[n++] = tt_ev(RAV_EV_LINK, 0, 0, tt_addr(th, 3, 3), tt_addr(th, 5, 0), tt_addr(th, 6, 1));
		e[n++] = tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(th, 3, 1), rnd(), rnd() % 1000);
		e[n++] = tt_ev(RAV_EV_ACCESS, 1, 0, 0x5000 + rnd() % 4096, 8, 0);
		CHECK(ravt_writer_add(w, th, e, (size_t)n) == 0);
		if (step % 500 == 0) {
			char text[] = "mark!";
			rav_raw_event mk[2] = { tt_ev(RAV_EV_MARK, 0, 0, 5, 0, 0) };
			memset(&mk[1], 0, sizeof mk[1]);
			memcpy(&mk[1], text, 5);
			CHECK(ravt_writer_add(w, th, mk, 2) == 0);
		}
	}
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	free(m.bounds);
	*len = m.buf.len;
	return m.buf.p;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct stat sb;
	fstat(fd, &sb);
	uint8_t *p = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (p && got < (size_t)sb.st_size) {
		ssize_t r = read(fd, p + got, (size_t)sb.st_size - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	*len = got;
	return p;
}

int main(int argc, char **argv)
{
	small = getenv("RAV_TEST_SMALL") != NULL;
	const char *threads = getenv("RAVTRACE_THREADS");
	one_thread = threads && strcmp(threads, "1") == 0;
	for (int i = 1; i < argc; i++) {
		/* Under memcheck two real traces are enough: one thread, several. */
		if (small && !strstr(argv[i], "list") && !strstr(argv[i], "messages"))
			continue;
		size_t len;
		uint8_t *p = read_file(argv[i], &len);
		if (!p) {
			fprintf(stderr, "cannot read %s\n", argv[i]);
			return 1;
		}
		damage(argv[i], p, len);
		free(p);
		fprintf(stderr, "%s: done\n", argv[i]);
	}
	struct {
		const char *name;
		bool compress;
		int threads;
	} syn[] = { { "synthetic/zstd/3 threads", true, 3 }, { "synthetic/raw/4 threads", false, 4 },
		    { "synthetic/raw/1 thread", false, 1 } };
	for (size_t i = 0; i < sizeof syn / sizeof syn[0] - (small ? 1 : 0); i++) {
		size_t len;
		uint8_t *p = synthetic(&len, syn[i].compress, syn[i].threads);
		damage(syn[i].name, p, len);
		free(p);
		fprintf(stderr, "%s: done\n", syn[i].name);
	}
	fprintf(stderr, "opened %u (truncated %u, index failed %u), rejected %u\n", st.opened, st.truncated,
		st.index_failed, st.rejected);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
