/* trace-test.h - the harness every test of the trace layer shares: check
 * macros that report file and line and count failures (a test goes on
 * after a failed check and exits 1 at the end), and a writer that collects
 * a synthetic trace in memory (the encoder is fed raw engine records
 * exactly as the recorder feeds it, without the engine).  The engine's
 * tests have theirs in tests/engine/rav-test.h. */
#ifndef TRACE_TEST_H
#define TRACE_TEST_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "format.h"
#include "membuf.h"
#include "ravtrace.h"
#include "xorshift.h"

static int tt_failures __attribute__((unused));

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			tt_failures++;                                                \
		}                                                                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                \
	do {                                                                          \
		uint64_t va_ = (uint64_t)(a), vb_ = (uint64_t)(b);                    \
		if (va_ != vb_) {                                                     \
			fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n", __FILE__, \
				__LINE__, #a, #b, va_, vb_);                          \
			tt_failures++;                                                \
		}                                                                     \
	} while (0)

#define REQUIRE(cond)                                                                 \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: required: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define TT_BASE 0x7f1200000000ull /* pool base of synthetic traces */
#define TT_PAGE 4096u
#define TT_POOL_BYTES (1ull << 32)

/* A whole file in memory (the tests that feed a stream piece by piece). */
static inline uint8_t *tt_slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0);
	struct stat st;
	REQUIRE(fstat(fd, &st) == 0);
	uint8_t *p = malloc((size_t)st.st_size);
	REQUIRE(p);
	size_t off = 0;
	while (off < (size_t)st.st_size) {
		ssize_t r = read(fd, p + off, (size_t)st.st_size - off);
		REQUIRE(r > 0);
		off += (size_t)r;
	}
	close(fd);
	*len = off;
	return p;
}

static inline uint64_t tt_addr(uint32_t page, uint32_t cell, uint32_t word)
{
	return TT_BASE + (uint64_t)page * TT_PAGE + (uint64_t)cell * 32 + (uint64_t)word * 8;
}

/* A synthetic trace in memory: its bytes, and where each of the writer's
 * writes to its sink ended. */
typedef struct tt_mem {
	ravt_membuf buf; /* the bytes (trace/membuf.h) */
	size_t *bounds;  /* offset after the header and after every chunk */
	size_t nbounds, bcap;
} tt_mem;

static inline int tt_sink(const void *data, size_t len, void *user)
{
	tt_mem *m = user;
	if (ravt_membuf_sink(data, len, &m->buf) != 0)
		return -1;
	if (m->nbounds == m->bcap) {
		size_t cap = m->bcap ? m->bcap * 2 : 64;
		size_t *b = realloc(m->bounds, cap * sizeof *b);
		if (!b)
			return -1;
		m->bounds = b;
		m->bcap = cap;
	}
	m->bounds[m->nbounds++] = m->buf.len;
	return 0;
}

static inline void tt_mem_free(tt_mem *m)
{
	free(m->buf.p);
	free(m->bounds);
	memset(m, 0, sizeof *m);
}

/* A synthetic trace's writer parameters: 8-byte words, 32-byte cells,
 * TT_PAGE pages in a pool at TT_BASE, a 1 GHz clock (1 tick = 1 ns keeps
 * expected times simple) from tick 1000, the program `cmdline`.  A test
 * sets what else it needs (chunk size, compression, version, hooks). */
static inline ravt_writer_params tt_params(const char *cmdline)
{
	ravt_writer_params p = {
		.word_size = 8,
		.cell_size = 32,
		.page_size = TT_PAGE,
		.pool_base = TT_BASE,
		.pool_bytes = TT_POOL_BYTES,
		.tsc_hz = 1000000000ull,
		.tsc_start = 1000,
		.cmdline = cmdline,
		.cmdline_len = strlen(cmdline),
	};
	return p;
}

static inline ravt_writer *tt_writer(tt_mem *m, uint32_t chunk_bytes, bool no_compress)
{
	ravt_writer_params p = tt_params("synthetic");
	p.start_realtime_ns = 1700000000000000000ull;
	p.cmdline = "synthetic\0--test";
	p.cmdline_len = 16;
	p.chunk_bytes = chunk_bytes;
	p.no_compress = no_compress;
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, m, err, sizeof err);
	if (!w)
		fprintf(stderr, "writer: %s\n", err);
	return w;
}

static inline rav_raw_event tt_ev(unsigned kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b, uint64_t c)
{
	rav_raw_event e = { (uint32_t)kind | (aux << 8), x, a, b, c };
	return e;
}

#endif
