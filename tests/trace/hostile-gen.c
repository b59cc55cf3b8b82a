/* hostile-gen.c - correctly framed traces whose content is hostile or just
 * large: what a program with many threads, a long run or a malicious file
 * produces.  Every byte of framing, every checksum and every varint is
 * right (they are written by the format library's writer, fed raw records
 * as the recorder feeds it); what is wrong, or big, is what the events say.
 *
 *	hostile-gen [--small | --seeds] [--list] DIR [CLASS...]
 *
 * writes DIR/CLASS.ravtrace for each class (all by default) and prints one
 * line per class: "CLASS EXPECT DESCRIPTION", where EXPECT is what every
 * tool must make of it (tests/trace/hostile.py checks it):
 *
 *	ok            consistent: every command succeeds
 *	inconsistent  an event does not fit the heap: every command says so
 *	              and exits 1 (validate: INVALID)
 *	limit         past the memory limit the driver sets (RAVTRACE_MEMORY_MB):
 *	              every command stops with an error naming the limit
 *	damaged       a chunk breaks a rule of the format (SITES, address cache,
 *	              snapshot parts): every command says what and where, exit 1
 *
 * --small makes each class small enough for a memory checker.  --seeds
 * writes the small ones as DIR/hostile-CLASS.ravtrace, leaving out those
 * over the fuzzers' 64 KiB input limit: the fuzz seed corpus's hostile
 * part (`hostile-gen --seeds tests/trace/corpus`).  The classes follow
 * issue #14, "Traces at the limits"; the snap-* ones are the same for the
 * SNAPSHOT chunks and lost events of live sessions (format 1.1); those
 * after them (a second red-team pass) are impossible combinations (moves
 * and hand-offs between pages and heaps that never existed, sequence
 * numbers and clocks that jump and wrap, references anywhere) and the call
 * sites and memory maps of format 1.3 in bulk; round three the newer
 * features one rule at a time (SITES chunks and MAPS paths of 1.3, the
 * address cache of 1.5, page-to-msg of 1.6, snapshots the events
 * contradict, heap ids 0 and 2^32-1), some of them chunks written by hand
 * (raw_chunk_of, zstd_chunk) with the trailer rewritten to index them
 * (retrailer): framing and checksums stay right.  One file
 * past 800 lines on purpose: each class is a short generator, and the
 * table at the end is the list hostile.py and the fuzz corpus follow.
 */
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "format.h"
#include "live.h"
#include "snapshot.h"

#define PAGE 4096u
#define CELLS (PAGE / 32u)
#define BASE 0x7f3000000000ull
#define POOL_BYTES (1ull << 37) /* 2^25 pages: room above the reader's 2^24 page limit */

static bool small;
static const char *prefix = "";

/* ---- a writer with a buffer per thread -------------------------------------- */

typedef struct hbuf {
	uint32_t thread;
	rav_raw_event ev[512];
	size_t n;
} hbuf;

typedef struct hgen {
	FILE *f;
	ravt_writer *w;
	uint64_t seq, tsc;
	hbuf buf[8]; /* the threads written most recently */
	unsigned next_victim;
	bool failed;
	uint64_t events;
	/* events the file holds so far for a few threads (raw_events: the
	 * `first` of a chunk written by hand); set track[] before writing */
	uint32_t track[4];
	uint64_t tracked[4];
	unsigned ntrack;
} hgen;

static int sink(const void *data, size_t len, void *user)
{
	hgen *g = user;
	ravt_frame f;
	if (len >= sizeof f) {
		memcpy(&f, data, sizeof f);
		if (f.sync == RAVT_CHUNK_SYNC && ravt_chunk_is_events(f.kind))
			for (unsigned i = 0; i < g->ntrack; i++)
				if (g->track[i] == f.thread)
					g->tracked[i] += f.count;
	}
	return fwrite(data, 1, len, g->f) == len ? 0 : -1;
}

typedef struct hparams {
	uint64_t tsc_hz, tsc_start, start_realtime_ns;
	const char *cmdline;
	size_t cmdline_len;
	bool no_compress;
	uint32_t chunk_bytes;
	uint32_t flags; /* RAVT_HF_* */
} hparams;

static bool hopen(hgen *g, const char *dir, const char *name, const hparams *hp)
{
	memset(g, 0, sizeof *g);
	char path[4096];
	snprintf(path, sizeof path, "%s/%s%s.ravtrace", dir, prefix, name);
	g->f = fopen(path, "wb");
	if (!g->f) {
		fprintf(stderr, "hostile-gen: %s: %s\n", path, strerror(errno));
		return false;
	}
	static const char cmd[] = "hostile-gen\0synthetic";
	ravt_writer_params p = {
	    .word_size = 8,
	    .cell_size = 32,
	    .page_size = PAGE,
	    .pool_base = BASE,
	    .pool_bytes = POOL_BYTES,
	    .tsc_hz = 1000000000ull,
	    .tsc_start = 1000,
	    .start_realtime_ns = 1700000000000000000ull,
	    .cmdline = cmd,
	    .cmdline_len = sizeof cmd - 1,
	};
	if (hp) {
		p.tsc_hz = hp->tsc_hz;
		p.tsc_start = hp->tsc_start;
		p.start_realtime_ns = hp->start_realtime_ns;
		if (hp->cmdline) {
			p.cmdline = hp->cmdline;
			p.cmdline_len = hp->cmdline_len;
		}
		p.no_compress = hp->no_compress;
		p.chunk_bytes = hp->chunk_bytes;
		p.flags = hp->flags;
	}
	char err[256];
	g->w = ravt_writer_new(&p, sink, g, err, sizeof err);
	if (!g->w) {
		fprintf(stderr, "hostile-gen: %s: %s\n", path, err);
		fclose(g->f);
		return false;
	}
	g->tsc = 2000;
	return true;
}

static void flush_buf(hgen *g, hbuf *b)
{
	if (b->n && !g->failed && ravt_writer_add(g->w, b->thread, b->ev, b->n) != 0) {
		fprintf(stderr, "hostile-gen: writer: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
	b->n = 0;
}

static hbuf *buf_for(hgen *g, uint32_t th)
{
	for (unsigned i = 0; i < 8; i++)
		if (g->buf[i].n && g->buf[i].thread == th)
			return &g->buf[i];
	for (unsigned i = 0; i < 8; i++)
		if (!g->buf[i].n) {
			g->buf[i].thread = th;
			return &g->buf[i];
		}
	hbuf *b = &g->buf[g->next_victim++ % 8];
	flush_buf(g, b);
	b->thread = th;
	return b;
}

static void raw(hgen *g, uint32_t th, rav_raw_event e)
{
	hbuf *b = buf_for(g, th);
	if (b->n == sizeof b->ev / sizeof b->ev[0])
		flush_buf(g, b);
	b->ev[b->n++] = e;
	g->events++;
}

static void ev(hgen *g, uint32_t th, unsigned kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b,
               uint64_t c)
{
	raw(g, th, (rav_raw_event){(uint32_t)kind | (aux << 8), x, a, b, c});
}

/* A TIME event (the thread's clock moves on by dt). */
static void tick(hgen *g, uint32_t th, uint64_t dt)
{
	g->tsc += dt;
	ev(g, th, RAV_EV_TIME, 0, 0, g->tsc, 1000000000ull, 0);
}

/* An ordering event: TIME, then the event with the next sequence number. */
static void sync_ev(hgen *g, uint32_t th, unsigned kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b)
{
	g->tsc += 5;
	g->seq++;
	ev(g, th, RAV_EV_TIME, 0, 0, g->tsc, 1000000000ull, g->seq);
	ev(g, th, kind, aux, x, a, b, g->seq);
}

/* An event with a text (thread name: length in aux; type-def, mark,
 * error: length in a). */
static void text_ev(hgen *g, uint32_t th, unsigned kind, uint32_t aux, uint32_t x, const void *text,
                    size_t len)
{
	rav_raw_event e = {(uint32_t)kind | (aux << 8), x, kind == RAV_EV_THREAD_NAME ? 0 : len, 0, 0};
	if (kind == RAV_EV_THREAD_NAME)
		e.kind = (uint32_t)kind | ((uint32_t)len << 8);
	raw(g, th, e);
	for (size_t off = 0; off < len; off += 32) {
		rav_raw_event r;
		memset(&r, 0, sizeof r);
		memcpy(&r, (const char *)text + off, len - off < 32 ? len - off : 32);
		raw(g, th, r);
	}
}

static uint64_t addr(uint32_t page, uint32_t cell, uint32_t word)
{
	return BASE + (uint64_t)page * PAGE + (uint64_t)cell * 32 + (uint64_t)word * 8;
}

static void thread_start(hgen *g, uint32_t th, const char *name)
{
	sync_ev(g, th, RAV_EV_THREAD_START, 0, th, 1000 + th, 0);
	sync_ev(g, th, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, th, 0, 0);
	if (name)
		text_ev(g, th, RAV_EV_THREAD_NAME, 0, th, name, strlen(name));
}

static bool hclose(hgen *g)
{
	for (unsigned i = 0; i < 8; i++)
		flush_buf(g, &g->buf[i]);
	bool ok = !g->failed && ravt_writer_finish(g->w, 0) == 0;
	if (!ok && !g->failed)
		fprintf(stderr, "hostile-gen: finish: %s\n", ravt_writer_error(g->w));
	ravt_writer_free(g->w);
	ok = fclose(g->f) == 0 && ok;
	return ok;
}

/* ---- the classes ------------------------------------------------------------- */

typedef bool (*gen_fn)(const char *dir, const char *name);

/* About 200 threads, each heap owning one page (a 624-byte file once). */
static bool gen_many_heaps(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	unsigned n = small ? 40 : 200;
	for (uint32_t th = 1; th <= n; th++) {
		thread_start(&g, th, NULL);
		sync_ev(&g, th, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, th, addr(th, 0, 0), 0);
		ev(&g, th, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(th, 1, 0), 0, 0);
	}
	return hclose(&g);
}

/* Heaps that never own a page, beside one that does. */
static bool gen_empty_heaps(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	for (uint32_t th = 2; th <= 30; th++)
		thread_start(&g, th, NULL);
	return hclose(&g);
}

/* One page acquired at the highest index the format allows: the replayed
 * heap's page table is sized by it. */
static bool gen_page_index_high(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t pg = small ? (1u << 16) : RAVT_MAX_PAGES - 1;
	thread_start(&g, 1, "far");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(pg, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(pg, 1, 0), 0, 0);
	ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(pg, 1, 1), 0, 42);
	return hclose(&g);
}

/* A page at every 64th page index up to the format's largest: a leaf of
 * the page table each (262,144 leaves and page blocks, about 170 MiB),
 * which a memory limit of 64 MiB must stop with an error naming it. */
static bool gen_page_index_limit(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t step = small ? 1024 : 64;
	thread_start(&g, 1, "far");
	for (uint32_t pg = step - 1; pg < RAVT_MAX_PAGES; pg += step)
		sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(pg, 0, 0), 0);
	return hclose(&g);
}

/* Few pages at page indices spread over the whole pool, each in a leaf
 * of the replayed heap's page table of its own (64 slots a leaf), owned by
 * many heaps; then one heap writes its first page long enough for many
 * keyframes.  Every keyframe and every state copies the page table: the
 * copies share its leaves and copy only those written (FORMAT.md section
 * 13), so they cost the top table (8 bytes per 64 page indices) and a leaf
 * or two, not 16,384 leaves each.  A whole page table sized by the highest
 * page index was 144 MiB a copy. */
static bool gen_pages_spread(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t heaps = small ? 40 : 4096, per = 4, n = heaps * per;
	uint32_t stride = RAVT_MAX_PAGES / n; /* 1,024 (64 or more: a leaf each) */
	for (uint32_t th = 1; th <= heaps; th++) {
		thread_start(&g, th, NULL);
		for (uint32_t j = 0; j < per; j++) {
			uint32_t pg = ((th - 1) * per + j) * stride + (th & 63);
			sync_ev(&g, th, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, th, addr(pg, 0, 0), 0);
			ev(&g, th, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(pg, 1, 0), 0, 0);
		}
	}
	uint32_t hot = 1; /* heap 1's first page: index 1 */
	ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(hot, 1, 1), 0, 42);
	uint64_t rounds = small ? 50000 : 1000000;
	for (uint64_t i = 0; i < rounds; i++) /* (2^18 to 2^20 events a keyframe) */
		ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(hot, 1, 1), 42, 42);
	return hclose(&g);
}

/* Many pages in one heap, handed to another one by one (before the pages
 * the receiver's empty top page, as after a message arrives) and released
 * from the middle: every removal from a heap's page list, every hand-off
 * and every arrival must cost O(1), not the list's length. */
static bool gen_many_pages(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t n = small ? 300 : 200000;
	thread_start(&g, 1, "giver");
	thread_start(&g, 2, "taker");
	/* the taker: many root pages at its end, then an empty top page */
	uint32_t roots = small ? 20 : 200000;
	for (uint32_t i = 0; i < roots; i++)
		sync_ev(&g, 2, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_ROOT, 2, addr(n + 10 + i, 0, 0), 0);
	sync_ev(&g, 2, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, addr(n + 5, 0, 0), 0);
	for (uint32_t p = 0; p < n; p++) {
		sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(p, 0, 0), 0);
		ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(p, 1, 0), 0, 0);
	}
	/* the root pages stay at the taker's end; each arrival finds the empty
	 * page before them */
	for (uint32_t p = 0; p < n; p += 2) {
		sync_ev(&g, 1, RAV_EV_MSG_SEND, 0, 100000 + p, 1, 1);
		sync_ev(&g, 2, RAV_EV_MSG_RECV, 0, 100000 + p, 1, 2);
		sync_ev(&g, 2, RAV_EV_PAGE_HANDOFF, 0, 2, addr(p, 0, 0), 1);
	}
	/* release every page, from the middle of both lists (7919 is prime
	 * and does not divide n: k * 7919 mod n visits every page once) */
	for (uint64_t k = 0; k < n; k++) {
		uint32_t p = (uint32_t)(k * 7919u % n);
		uint32_t owner = p % 2 == 0 ? 2 : 1;
		sync_ev(&g, owner, RAV_EV_PAGE_RELEASE, 0, owner, addr(p, 0, 0), 0);
	}
	return hclose(&g);
}

static void end_thread(hgen *g, uint32_t th)
{
	for (unsigned i = 0; i < 8; i++)
		if (g->buf[i].n && g->buf[i].thread == th)
			flush_buf(g, &g->buf[i]);
	if (!g->failed && ravt_writer_flush_thread(g->w, th) != 0) {
		fprintf(stderr, "hostile-gen: writer: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
}

/* Distinct mark texts of 64 KiB each: a few dozen bytes apiece once
 * compressed, all kept (interned) by the reader. */
static bool gen_marks_huge(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	unsigned n = small ? 120 : 6000;
	static char text[RAVT_TEXT_MAX];
	memset(text, 'm', sizeof text);
	thread_start(&g, 1, "marker");
	for (unsigned i = 0; i < n; i++) {
		snprintf(text, 12, "%010u", i);
		text[10] = ' ';
		text_ev(&g, 1, RAV_EV_MARK, 0, 0, text, sizeof text);
	}
	return hclose(&g);
}

/* Two threads whose events alternate one by one: the merged order switches
 * thread at every event. */
static bool gen_switches(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint64_t n = small ? 60000 : 15000000;
	thread_start(&g, 1, "ping");
	thread_start(&g, 2, "pong");
	for (uint64_t i = 0; i < n; i++)
		tick(&g, 1 + (uint32_t)(i & 1), 3);
	return hclose(&g);
}

/* 400,000 type definitions whose ids need more than 16 bits (the type
 * word holds 16): not types.  Replay says so; the type table neither lists
 * them nor takes the time of a search per definition. */
static bool gen_types_wide(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, NULL);
	text_ev(&g, 1, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER, 0, "node", 4);
	unsigned n = small ? 2000 : 400000;
	char nm[32];
	for (unsigned i = 0; i < n; i++) {
		int len = snprintf(nm, sizeof nm, "wide%u", i);
		text_ev(&g, 1, RAV_EV_TYPE_DEF, 0x10000u + i, 2, nm, (size_t)len);
	}
	return hclose(&g);
}

/* Every user type id defined, four times over, and cells allocated with
 * ids far above 4096. */
static bool gen_types_many(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, NULL);
	uint32_t last = small ? 5200 : RAV_TYPE_MASK;
	char nm[32];
	for (int round = 0; round < (small ? 1 : 4); round++)
		for (uint32_t id = RAV_TYPE_FIRST_USER; id <= last; id++) {
			int len = snprintf(nm, sizeof nm, "t%u.%d", id, round);
			text_ev(&g, 1, RAV_EV_TYPE_DEF, id, id & 3, nm, (size_t)len);
		}
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	static const uint32_t types[] = {17, 4095, 4096, 5000, 5000, 5200};
	for (uint32_t c = 1; c < CELLS; c++) {
		uint32_t t = c <= 6 ? types[c - 1] : last;
		ev(&g, 1, RAV_EV_ALLOC, t, 0, addr(0, c, 0), 0, 0);
	}
	return hclose(&g);
}

/* Type 5 defined, then an id that is type 5 in its low 16 bits: the
 * second is no type, and type 5 keeps its name. */
static bool gen_type_alias(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, NULL);
	text_ev(&g, 1, RAV_EV_TYPE_DEF, 5, 2, "vector", 6);
	text_ev(&g, 1, RAV_EV_TYPE_DEF, 0x10005, 0, "alias", 5);
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, 5, 0, addr(0, 1, 0), 0, 0);
	return hclose(&g);
}

/* 100,000 recording threads, one after the other, each a chunk of its own
 * (what a program that runs through short-lived threads records).  Every
 * 7th thread allocates and frees (th % 3) + 1 cells more, so that the
 * threads `stats` and `info` list first (--threads) are known. */
static bool gen_threads_many(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t n = small ? 300 : 100000;
	for (uint32_t th = 1; th <= n; th++) {
		thread_start(&g, th, NULL);
		sync_ev(&g, th, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, th, addr(th, 0, 0), 0);
		for (uint32_t i = 0, more = th % 7 ? 0 : th % 3 + 1; i < more; i++) {
			ev(&g, th, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(th, 1, 0), 0, 0);
			ev(&g, th, RAV_EV_FREE, RAV_TYPE_FIRST_USER, 0, addr(th, 1, 0), 0, 0);
		}
		ev(&g, th, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(th, 1, 0), 0, 0);
		ev(&g, th, RAV_EV_FREE, RAV_TYPE_FIRST_USER, 0, addr(th, 1, 0), 0, 0);
		ev(&g, th, RAV_EV_TRIM, 0, 0, addr(th, 1, 0), 0, 0);
		sync_ev(&g, th, RAV_EV_PAGE_RELEASE, 0, th, addr(th, 0, 0), 0);
		sync_ev(&g, th, RAV_EV_THREAD_END, 0, th, 0, 0);
		end_thread(&g, th);
	}
	return hclose(&g);
}

/* Pages handed between every ordered pair of K threads: K(K-1) distinct
 * hand-off pairs for `stats` to count and bound (--pairs).  One page a
 * pair, but a thread hands its next one (from -> from+1) 1 to 5 pages,
 * (from % 5) + 1, so that the pairs listed first are known. */
static bool gen_handoff_pairs(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t k = small ? 12 : 560, page = 0;
	for (uint32_t th = 1; th <= k; th++)
		thread_start(&g, th, NULL);
	for (uint32_t from = 1; from <= k; from++)
		for (uint32_t to = 1; to <= k; to++) {
			if (from == to)
				continue;
			uint32_t n = to == from % k + 1 ? from % 5 + 1 : 1;
			for (uint32_t i = 0; i < n; i++, page++) {
				sync_ev(&g, from, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, from, addr(page, 0, 0), 0);
				sync_ev(&g, to, RAV_EV_PAGE_HANDOFF, 0, to, addr(page, 0, 0), from);
			}
		}
	return hclose(&g);
}

/* A consistent start, then at about event 102 an allocation of a cell
 * that is live: every figure past it is partial. */
static bool gen_inconsistent(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "main");
	text_ev(&g, 1, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER, 0, "node", 4);
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	for (uint32_t c = 1; g.events < 100; c++) {
		ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, c, 0), 0, 0);
		ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(0, c, 1), 0, c);
	}
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0); /* cell 1 is live */
	for (uint32_t c = 60; c < 100; c++)
		ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, c, 0), 0, 0);
	return hclose(&g);
}

/* Format 1.6, page-to-msg: heap 1 builds on n pages (a cell each) and
 * hands them all to message 100 before the message's root page, then the
 * message goes to heap 2, page by page.  `bad` 1: one page handed is heap
 * 2's; 2: one page is handed with a fill it does not have; 3: pages go to
 * the message after it was sent; 4: a page handed twice; 5: pages go to
 * the message after it ended; 6: to heap 2, a thread's heap; 7: before a
 * page of heap 2's; 8: a page index of 2^64 - 1; 9: a fill of 0; 10: to
 * heap 2^32 - 1, which never existed; 11: the message received before it
 * is sent (sequence numbers that put the receive first); 12: no fault,
 * every id at the top (sender 2^32-1, receiver 2^32-2, message 2^32-3,
 * channel 2^64-1); 13: the message is heap 0 (an id no heap has).  Each
 * insertion is O(1) in the lists. */
static bool gen_msg_pages_as(const char *dir, const char *name, int bad)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t n = small || bad ? 300 : 50000, mroot = n + 1;
	uint32_t snd = bad == 12 ? UINT32_MAX : 1, rcv = bad == 12 ? UINT32_MAX - 1 : 2,
	         msg = bad == 12 ? UINT32_MAX - 2 : bad == 13 ? 0 : 100;
	uint64_t chan = bad == 12 ? UINT64_MAX : 1;
	thread_start(&g, snd, "sender");
	thread_start(&g, rcv, "receiver");
	sync_ev(&g, rcv, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, rcv, addr(n + 2, 0, 0), 0);
	ev(&g, rcv, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(n + 2, 1, 0), 0, 0);
	for (uint32_t p = 0; p < n; p++) {
		sync_ev(&g, snd, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, snd, addr(p, 0, 0), 0);
		ev(&g, snd, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(p, 1, 0), 0, 0);
	}
	sync_ev(&g, snd, RAV_EV_HEAP_NEW, RAV_HEAP_MESSAGE, msg, snd, 0);
	sync_ev(&g, snd, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_BUFFER, msg, addr(mroot, 0, 0), 0);
	ev(&g, snd, RAV_EV_ALLOC, RAV_TYPE_ROOT, 0, addr(mroot, 1, 0), 0, 0);
	if (bad == 3)
		sync_ev(&g, snd, RAV_EV_MSG_SEND, 0, msg, chan, 1);
	if (bad == 5)
		sync_ev(&g, snd, RAV_EV_HEAP_END, 0, msg, 0, 0);
	for (uint32_t p = 0; p < n; p++) {
		bool mid = p == n / 2;
		uint64_t page = mid && bad == 1 ? n + 2 : mid && bad == 8 ? UINT64_MAX : p;
		uint32_t fill = mid && bad == 2 ? 9 : mid && bad == 9 ? 0 : 2;
		uint32_t to = mid && bad == 6 ? rcv : mid && bad == 10 ? UINT32_MAX : msg;
		uint64_t before = mid && bad == 7 ? n + 2 + 1 : mroot + 1;
		ev(&g, snd, RAV_EV_PAGE_TO_MSG, fill, to, page, snd, before);
		if (mid && bad == 4)
			ev(&g, snd, RAV_EV_PAGE_TO_MSG, fill, to, page, snd, before);
	}
	if (bad == 11)
		sync_ev(&g, rcv, RAV_EV_MSG_RECV, 0, msg, chan, rcv);
	if (bad != 3)
		sync_ev(&g, snd, RAV_EV_MSG_SEND, 0, msg, chan, n + 1);
	if (bad != 11)
		sync_ev(&g, rcv, RAV_EV_MSG_RECV, 0, msg, chan, rcv);
	for (uint32_t p = 0; p < n; p++)
		sync_ev(&g, rcv, RAV_EV_PAGE_HANDOFF, 0, rcv, addr(p, 0, 0), msg);
	sync_ev(&g, rcv, RAV_EV_PAGE_HANDOFF, 0, rcv, addr(mroot, 0, 0), msg);
	return hclose(&g);
}

#define MSG_PAGES(fn, bad) \
	static bool fn(const char *dir, const char *name) { return gen_msg_pages_as(dir, name, bad); }
MSG_PAGES(gen_msg_pages_twice, 4)
MSG_PAGES(gen_msg_pages_dead, 5)
MSG_PAGES(gen_msg_pages_thread_heap, 6)
MSG_PAGES(gen_msg_pages_before_foreign, 7)
MSG_PAGES(gen_msg_pages_index_max, 8)
MSG_PAGES(gen_msg_pages_fill_zero, 9)
MSG_PAGES(gen_msg_pages_ghost_heap, 10)
MSG_PAGES(gen_msg_pages_recv_first, 11)
MSG_PAGES(gen_msg_pages_ids_max, 12)
MSG_PAGES(gen_msg_pages_heap_zero, 13)

static bool gen_msg_pages(const char *dir, const char *name)
{
	return gen_msg_pages_as(dir, name, 0);
}

static bool gen_msg_pages_foreign(const char *dir, const char *name)
{
	return gen_msg_pages_as(dir, name, 1);
}

static bool gen_msg_pages_fill(const char *dir, const char *name)
{
	return gen_msg_pages_as(dir, name, 2);
}

static bool gen_msg_pages_sent(const char *dir, const char *name)
{
	return gen_msg_pages_as(dir, name, 3);
}

/* Names and texts that are not clean: a newline (which must not fake a
 * line of `dump`), quotes and backslashes, control bytes, bytes that are
 * not UTF-8, and UTF-8 characters across the 63-byte cut of the tables;
 * a command line that is not UTF-8. */
static bool gen_names(const char *dir, const char *name)
{
	static const char cmd[] = "prog\xff\xfe\0--name=caf\xc3\xa9\0\x01\x7f\0";
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .cmdline = cmd,
	              .cmdline_len = sizeof cmd - 1};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	char euro[80]; /* 62 ASCII bytes then a 3-byte character across byte 63 */
	memset(euro, 'e', 62);
	memcpy(euro + 62, "\xe2\x82\xac tail", 9);
	const char *names[] = {"line\n         1 fake line", "quote\" back\\slash \ttab",
	                       "bad \xff\xc0\x80 utf8", euro, "ctl \x01\x1b[31m red"};
	for (uint32_t th = 1; th <= 5; th++) {
		thread_start(&g, th, names[th - 1]);
		sync_ev(&g, th, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, th, addr(th, 0, 0), 0);
		ev(&g, th, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER + th, 0, addr(th, 1, 0), 0, 0);
		text_ev(&g, th, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER + th, 0, names[th - 1],
		        strlen(names[th - 1]));
		text_ev(&g, th, RAV_EV_MARK, 0, 0, names[th - 1], strlen(names[th - 1]));
	}
	return hclose(&g);
}

/* Names that are Pango markup, or break it: thread, type and field
 * names, marks and error texts of `<b>`, `&`, `a<b>c`, `</span>` (a C++
 * program's `std::vector<int>`, `operator<`), one not UTF-8, and call
 * sites in an object at a path of the same, in a directory whose name is
 * not UTF-8 (the viewer shows its base name, and the whole path where it
 * says why the program's code cannot be read; nothing is there to read):
 * a viewer must show them as text.
 * Three threads share a line outside the pool (the contention model's
 * rows name them and the sites); each allocates cells of both types. */
static void site_at(hgen *g, uint32_t th, const uint64_t *frames, unsigned n);

static bool gen_markup(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .flags = RAVT_HF_SITES | (2u << 8)};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	static const char obj[] = "/nonexistent/</span>\xff/lib<b>a&b.so"; /* a directory not UTF-8 */
	ravt_map_segment seg = {0x1000, 0x10000, RAVT_SEG_X | RAVT_SEG_R};
	ravt_map_object o = {
	    .base = 1ull << 28, .segs = &seg, .nsegs = 1, .path = obj, .path_len = sizeof obj - 1};
	if (ravt_writer_maps(g.w, &o, 1) != 0) {
		fprintf(stderr, "hostile-gen: maps: %s\n", ravt_writer_error(g.w));
		g.failed = true;
	}
	const char *threads[] = {"<b>bold", "a<b>c & d", "</span> \xff<i>"};
	static const char t1[] = "std::vector<int>\0a<b>c\0</span>", t2[] = "Foo<Bar&> &amp;";
	for (uint32_t th = 1; th <= 3; th++)
		thread_start(&g, th, threads[th - 1]);
	text_ev(&g, 1, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER, 0, t1, sizeof t1 - 1);
	text_ev(&g, 1, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER + 1, 0, t2, sizeof t2 - 1);
	uint64_t fr[2] = {o.base + 0x1234, o.base + 0x2345};
	for (uint32_t th = 1; th <= 3; th++) {
		sync_ev(&g, th, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, th, addr(th, 0, 0), 0);
		for (uint32_t c = 1; c <= 2; c++) {
			site_at(&g, th, fr, 2);
			ev(&g, th, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER + c - 1, 0, addr(th, c, 0), 0, 0);
		}
	}
	static const char *texts[] = {"<b>", "a<b>c & </span>", "operator<(a<b>, &c)"};
	for (unsigned i = 0; i < 3; i++) {
		text_ev(&g, i + 1, RAV_EV_MARK, 0, 0, texts[i], strlen(texts[i]));
		char err[128];
		int n = snprintf(err, sizeof err, "rav_borrow: %s \xfe</span>", texts[i]);
		site_at(&g, i + 1, fr + 1, 1);
		text_ev(&g, i + 1, RAV_EV_ERROR, 5 /* stale borrow */, 0, err, (size_t)n);
	}
	for (unsigned i = 0; i < 60; i++) { /* a line bounced between the threads */
		uint32_t th = 1 + i % 3;
		tick(&g, th, 10);
		site_at(&g, th, fr + (i & 1), 1);
		ev(&g, th, RAV_EV_ACCESS, i & 1, 0, 0x20000040ull + 8 * (i % 4), 8, 0);
	}
	return hclose(&g);
}

/* A heap whose id is 2^32-1 sharing a cache line with heap 1: the
 * contention model must count their traffic like any other pair's. */
static bool gen_heap_max_id(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	const uint32_t big = UINT32_MAX;
	thread_start(&g, 1, "one");
	thread_start(&g, big, "max");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	sync_ev(&g, big, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, big, addr(1, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	ev(&g, big, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(1, 1, 0), 0, 0);
	for (unsigned i = 0; i < 200; i++) {
		uint32_t th = i % 2 ? big : 1;
		tick(&g, th, 10);
		ev(&g, th, RAV_EV_ACCESS, 1, 0, 0x600000, 8, 0); /* the same external line */
	}
	return hclose(&g);
}

/* The wall-clock start so late that start + duration passes 2^64 ns. */
static bool gen_clock_overflow(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull, .tsc_start = 1000, .start_realtime_ns = UINT64_MAX - 1000};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	thread_start(&g, 1, "late");
	for (int i = 0; i < 50; i++)
		tick(&g, 1, 1000000); /* 50 ms in all */
	return hclose(&g);
}

/* No wall-clock start and no TSC rate (a synthetic trace): durations are in
 * ticks, and must not read as 0. */
static bool gen_clock_unknown(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 0, .tsc_start = 0, .start_realtime_ns = 0};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	thread_start(&g, 1, "synthetic");
	for (int i = 0; i < 50; i++)
		tick(&g, 1, 1000);
	return hclose(&g);
}

/* More chunks than a 16 MiB trailer indexes (24 bytes each): format 1.2
 * and later write a larger trailer, and the file reads back complete. */
static bool gen_trailer_big(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .no_compress = true};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	uint32_t n = small ? 2000 : 720000;
	thread_start(&g, 1, "chunky");
	for (uint32_t i = 0; i < n; i++) {
		tick(&g, 1, 1);
		end_thread(&g, 1); /* a chunk per event */
	}
	return hclose(&g);
}

/* Tens of millions of events in a few kilobytes: the same store again and
 * again, a few dozen bytes per compressed chunk.  Time and memory follow the events, so
 * they must stay linear and bounded. */
static bool gen_zstd_bomb(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .chunk_bytes = RAVT_EVENTS_RAW_MAX / 4};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	uint64_t n = small ? 200000 : 1000000;
	thread_start(&g, 1, "bomb");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(0, 1, 1), 0, 42);
	for (uint64_t i = 0; i < n; i++) /* replay checks and applies each */
		ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(0, 1, 1), 42, 42);
	return hclose(&g);
}

/* ---- snapshot pieces (format 1.1) -------------------------------------------- */

/* One SNAPSHOT chunk: part `part` of `parts` of piece `id`, with a body of
 * `len` bytes (compressed by the writer when that is smaller). */
static void snap_chunk(hgen *g, uint16_t piece, uint64_t id, uint32_t part, uint32_t parts, uint32_t heap,
                       uint32_t items, const uint8_t *body, size_t len)
{
	ravt_snap_head h = {.piece = piece,
	                    .part = part,
	                    .parts = parts,
	                    .items = items,
	                    .piece_id = id,
	                    .seq = 0,
	                    .tsc = g->tsc,
	                    .heap_id = heap};
	ravt_snap_body b = {(uint8_t *)body, len, len};
	if (!g->failed && ravt_snap_write(g->w, &h, heap ? "snapshotted" : NULL, &b) != 0) {
		fprintf(stderr, "hostile-gen: snapshot chunk: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
}

/* A heap body of pages without cells (fill 1: the header only). */
static size_t heap_body(uint8_t *out, const uint32_t *pages, size_t n)
{
	uint8_t *p = out;
	for (size_t i = 0; i < n; i++) {
		p = ravt_put_varint(p, pages[i]);
		*p++ = RAV_PAGE_HEAP;
		p = ravt_put_varint(p, 1);
	}
	return (size_t)(p - out);
}

static void snap_event(hgen *g, uint32_t th, uint16_t piece, uint32_t heap, uint64_t id)
{
	sync_ev(g, th, RAV_EV_SNAPSHOT, piece, heap, id, RAV_SNAP_OWNER);
}

/* Thousands of pieces that each say they have thousands of parts, none of
 * which come: the reader's table of parts grows with parts x pieces. */
static bool gen_snap_parts(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	uint32_t pieces = small ? 300 : 4000, parts = small ? 290 : 3900;
	for (uint32_t k = 0; k < pieces; k++)
		snap_chunk(&g, RAV_SNAP_TYPES, 1000 + k, 0, parts, 0, 0, NULL, 0);
	return hclose(&g);
}

/* A heap's snapshot that lists one page twice. */
static bool gen_snap_dup_page(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	uint32_t pages[] = {3, 4, 3};
	uint8_t body[64];
	snap_chunk(&g, RAV_SNAP_HEAP, 7, 0, 1, 1, 3, body, heap_body(body, pages, 3));
	snap_event(&g, 1, RAV_SNAP_HEAP, 1, 7);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(3, 1, 0), 0, 0);
	return hclose(&g);
}

/* A heap's snapshot with a page another heap, alive, owns. */
static bool gen_snap_owned_page(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(5, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(5, 1, 0), 0, 0);
	uint32_t pages[] = {5};
	uint8_t body[16];
	snap_chunk(&g, RAV_SNAP_HEAP, 9, 0, 1, 2, 1, body, heap_body(body, pages, 1));
	snap_event(&g, 2, RAV_SNAP_HEAP, 2, 9);
	return hclose(&g);
}

/* One piece of 50,000 pages named by 100,000 snapshot events: installed
 * each time, it would cost 5e9 page installs; a piece is named once. */
static bool gen_snap_renamed(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	uint32_t n = small ? 500 : 50000, times = small ? 200 : 100000;
	uint32_t *pages = malloc(n * sizeof *pages);
	uint8_t *body = malloc((size_t)n * 12);
	if (!pages || !body) {
		free(pages);
		free(body);
		hclose(&g);
		return false;
	}
	for (uint32_t i = 0; i < n; i++)
		pages[i] = 10 + i;
	snap_chunk(&g, RAV_SNAP_HEAP, 11, 0, 1, 1, n, body, heap_body(body, pages, n));
	free(pages);
	free(body);
	for (uint32_t k = 0; k < times; k++)
		snap_event(&g, 1, RAV_SNAP_HEAP, 1, 11);
	return hclose(&g);
}

/* Many snapshots, each a heap piece of one page, 2,000 writes apart (one
 * to each page of a heap of 2,000 pages): a snapshot forces a keyframe
 * soon after it (so that seeks start from the installed state), and each
 * keyframe holds alone the blocks written before the next one.  Forced
 * keyframes closer than the normal rules allow must stay within the
 * keyframe budget, not make one copy per snapshot. */
static bool gen_snap_keyframes(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t npages = small ? 200 : 2000, snaps = small ? 100 : 500;
	thread_start(&g, 1, "writer");
	for (uint32_t p = 0; p < npages; p++) {
		sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(p, 0, 0), 0);
		ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(p, 1, 0), 0, 0);
		ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(p, 1, 1), 0, 42);
	}
	uint8_t body[64];
	for (uint32_t k = 0; k < snaps; k++) {
		uint32_t heap = 1000 + k, page = npages + 10 + k;
		snap_chunk(&g, RAV_SNAP_HEAP, 5000 + k, 0, 1, heap, 1, body, heap_body(body, &page, 1));
		snap_event(&g, 1, RAV_SNAP_HEAP, heap, 5000 + k);
		for (uint32_t p = 0; p < npages; p++)
			ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(p, 1, 1), 42, 42);
	}
	return hclose(&g);
}

/* A page at the top of the page table, then 100,000 lost events: each
 * forgets every page, and must cost the pages known, not the table. */
static bool gen_snap_lost_many(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t pg = small ? (1u << 16) : RAVT_MAX_PAGES - 1, times = small ? 2000 : 100000;
	thread_start(&g, 1, "far");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(pg, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(pg, 1, 0), 0, 0);
	for (uint32_t k = 0; k < times; k++)
		sync_ev(&g, 1, RAV_EV_LOST, 0, k + 1, 1, g.tsc);
	return hclose(&g);
}

/* A types piece that defines one type id 300,000 times (7 MB of body in
 * a few kilobytes); renamed: named by 100,000 snapshot events. */
static bool gen_snap_types(const char *dir, const char *name, bool renamed)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	uint32_t n = small ? 5000 : 300000;
	static const char tname[] = "again-and-again-type";
	size_t each = 3 + sizeof tname - 1;
	uint8_t *body = malloc((size_t)n * each), *p = body;
	if (!body) {
		hclose(&g);
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		*p++ = RAV_TYPE_FIRST_USER;
		*p++ = 1;
		*p++ = sizeof tname - 1;
		memcpy(p, tname, sizeof tname - 1);
		p += sizeof tname - 1;
	}
	snap_chunk(&g, RAV_SNAP_TYPES, 13, 0, 1, 0, n, body, (size_t)(p - body));
	free(body);
	snap_event(&g, 1, RAV_SNAP_TYPES, 0, 13);
	if (renamed) /* and named again and again */
		for (uint32_t k = 0; k < (small ? 200u : 100000u); k++)
			snap_event(&g, 1, RAV_SNAP_TYPES, 0, 13);
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	return hclose(&g);
}

/* ---- round two: impossible but well-framed combinations -------------------------- */

/* A move from a live cell into a page no heap ever acquired. */
static bool gen_move_ghost(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "mover");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 2, 0), 0, 0);
	ev(&g, 1, RAV_EV_FREE, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	ev(&g, 1, RAV_EV_MOVE, 0, 0, addr(0, 2, 0), addr(9, 3, 0), 0);
	return hclose(&g);
}

/* A page handed from a heap that never existed to one that never existed. */
static bool gen_handoff_ghost(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "one");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	sync_ev(&g, 1, RAV_EV_PAGE_HANDOFF, 0, 88, addr(3, 0, 0), 77);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(3, 1, 0), 0, 0);
	return hclose(&g);
}

/* Sequence numbers that skip by 2^63 and then go backwards. */
static bool gen_seq_jump(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "a");
	thread_start(&g, 2, "b");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	g.seq += 1ull << 63;
	sync_ev(&g, 2, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, addr(1, 0, 0), 0);
	g.seq = UINT64_MAX - 2;
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(2, 0, 0), 0);
	sync_ev(&g, 2, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, addr(3, 0, 0), 0);
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(4, 0, 0), 0); /* wraps to 0 */
	g.seq = 3;
	for (int i = 0; i < 40; i++)
		sync_ev(&g, 1 + (i & 1), RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1 + (i & 1),
		        addr(10 + i, 0, 0), 0);
	return hclose(&g);
}

/* Time stamps that wrap: the TSC runs to 2^64 - 1 and back to 0, with a
 * rate of 1 Hz (each tick a second: products overflow). */
static bool gen_tsc_wrap(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1, .tsc_start = UINT64_MAX - 100, .start_realtime_ns = 1700000000000000000ull};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	g.tsc = UINT64_MAX - 50;
	thread_start(&g, 1, "wrap");
	thread_start(&g, 2, "back");
	for (int i = 0; i < 60; i++) {
		tick(&g, 1 + (i & 1), (1ull << 62) + 7);
		ev(&g, 1 + (i & 1), RAV_EV_MARK, 0, 0, 0, 0, 0);
	}
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	return hclose(&g);
}

/* Every generic and escape kind with extreme operands. */
static bool gen_kinds_odd(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "odd");
	for (unsigned k = 40; k < 64; k++)
		ev(&g, 1, k, 0xFFFFFF, UINT32_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX);
	for (unsigned k = 64; k < RAV_RAW_SITE; k += 7)
		ev(&g, 1, k, 0xFFFFFF, UINT32_MAX, UINT64_MAX, 1, UINT64_MAX);
	for (unsigned k = RAV_EV_MSG_BUILD; k <= RAV_EV_GC_END; k++)
		ev(&g, 1, k, 0xFFFFFF, UINT32_MAX - 1, UINT64_MAX, UINT64_MAX, 0);
	ev(&g, 1, RAV_EV_COMPACT_END, 0, 1, UINT64_MAX, 0, 0);
	ev(&g, 1, RAV_EV_ACCESS, 1, 0, UINT64_MAX, UINT64_MAX, 0);
	ev(&g, 1, RAV_EV_ACCESS, 0, 0, BASE + 5, UINT64_MAX, 0);
	return hclose(&g);
}

/* A call site record: `frames` frames, frame i = f(i). */
static void site(hgen *g, uint32_t th, unsigned frames, uint64_t seed)
{
	rav_raw_event r[RAV_SITE_RECORDS(RAV_SITE_FRAMES_MAX)];
	memset(r, 0, sizeof r);
	uint64_t f[RAV_SITE_FRAMES_MAX + 3] = {0};
	for (unsigned i = 0; i < frames; i++)
		f[i] = seed * 0x9E3779B97F4A7C15ull + i * 0x1000193ull; /* far apart: no deltas to share */
	r[0].kind = RAV_RAW_SITE | (frames << 8);
	r[0].a = f[0], r[0].b = f[1], r[0].c = f[2];
	unsigned n = RAV_SITE_RECORDS(frames);
	for (unsigned k = 1; k < n; k++)
		memcpy(&r[k], &f[3 + (k - 1) * 4], 32);
	for (unsigned k = 0; k < n; k++)
		raw(g, th, r[k]);
	g->events -= n;
}

/* Distinct 64-frame call sites, one per event, far apart in the address
 * space: every frame costs the reader, little of the file. */
static bool gen_sites_deep(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .chunk_bytes = 4096,
	              .flags = RAVT_HF_SITES | (64u << 8)};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	thread_start(&g, 1, "deep");
	uint32_t n = small ? 2000 : 60000;
	for (uint32_t i = 0; i < n; i++) {
		site(&g, 1, RAV_SITE_FRAMES_MAX, i + 1);
		ev(&g, 1, RAV_EV_GC_BEGIN, 0, 1, 0, 0, 0);
	}
	return hclose(&g);
}

/* MAPS chunks (1.3) of 65,536 objects each, every object a path of its
 * own, then the last map again and again: the reader looks an object up
 * per object listed, so that lookup must not scan the objects known. */
static bool gen_maps_many(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .flags = RAVT_HF_SITES | (1u << 8)};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	thread_start(&g, 1, "mapper");
	unsigned per = small ? 2000 : RAVT_MAP_OBJECTS_MAX, distinct = 2, again = 2;
	ravt_map_object *objs = calloc(per, sizeof *objs);
	char *paths = malloc((size_t)per * 24);
	ravt_map_segment seg = {0x1000, 0x1000, RAVT_SEG_X | RAVT_SEG_R};
	bool ok = objs && paths;
	for (unsigned round = 0; ok && round < distinct + again; round++) {
		unsigned r = round < distinct ? round : distinct - 1;
		for (unsigned i = 0; i < per; i++) {
			char *pth = paths + (size_t)i * 24;
			int len = snprintf(pth, 24, "/lib/o%u-%u.so", r, i);
			objs[i] = (ravt_map_object){.base = ((uint64_t)r * per + i) << 16,
			                            .segs = &seg,
			                            .nsegs = 1,
			                            .path = pth,
			                            .path_len = (size_t)len};
		}
		if (ravt_writer_maps(g.w, objs, per) != 0) {
			fprintf(stderr, "hostile-gen: maps: %s\n", ravt_writer_error(g.w));
			ok = false;
		}
	}
	free(objs);
	free(paths);
	ev(&g, 1, RAV_EV_GC_BEGIN, 0, 1, 0, 0, 0);
	return hclose(&g) && ok;
}

/* A heap's snapshot whose cells' references point anywhere in the pool:
 * its last page, its first word, themselves, an empty and a dead cell; then the program goes on with those cells.  What the
 * tools follow (links, referrers, a cell's history) must stay in the pool
 * and say what it found. */
static bool gen_snap_wild_refs(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "wild");
	text_ev(&g, 1, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER, 3, "node", 4);
	const uint64_t pg = 3, fill = 6;
	uint8_t body[256], *p = body;
	p = ravt_put_varint(p, pg);
	*p++ = RAV_PAGE_HEAP;
	p = ravt_put_varint(p, fill);
	uint64_t w0 = (pg * CELLS + 1) * 4; /* word index of cell 1's word 0 */
	/* cell 1: every word an address: the last page a pool may have (nobody
	 * owns it), the pool's first word, itself */
	*p++ = 7;
	p = ravt_put_varint(p, RAV_TYPE_FIRST_USER);
	p = ravt_put_varint(p, ravt_zigzag((int64_t)((uint64_t)(RAVT_MAX_PAGES - 1) * CELLS * 4 + 5 - (w0 + 1))));
	p = ravt_put_varint(p, ravt_zigzag(-(int64_t)(w0 + 2)));
	p = ravt_put_varint(p, ravt_zigzag(-3));
	/* cell 2: its fields at the empty cell 5 and the dead cell 4 */
	*p++ = 3;
	p = ravt_put_varint(p, RAV_TYPE_FIRST_USER);
	p = ravt_put_varint(p, ravt_zigzag((int64_t)((pg * CELLS + 5) * 4 - (w0 + 4 + 1))));
	p = ravt_put_varint(p, ravt_zigzag((int64_t)((pg * CELLS + 4) * 4 - (w0 + 4 + 2))));
	p = ravt_put_varint(p, 0);
	/* cell 3: a type id nobody defined, huge data words */
	*p++ = 0;
	p = ravt_put_varint(p, 0xfff0);
	for (int k = 0; k < 3; k++)
		p = ravt_put_varint(p, UINT64_MAX);
	*p++ = RAVT_CELL_DEAD; /* cell 4 */
	*p++ = RAVT_CELL_EMPTY; /* cell 5 */
	snap_chunk(&g, RAV_SNAP_HEAP, 21, 0, 1, 1, 1, body, (size_t)(p - body));
	snap_event(&g, 1, RAV_SNAP_HEAP, 1, 21);
	ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(pg, 3, 1), UINT64_MAX, 1);
	ev(&g, 1, RAV_EV_REF_STORE, 0, 0, addr(pg, 2, 2), addr(pg, 4, 0), addr(pg, 1, 0));
	ev(&g, 1, RAV_EV_TYPE_WORD, 0, 0, addr(pg, 3, 0), 0xfff0, RAV_TYPE_FIRST_USER);
	return hclose(&g);
}

/* ---- round three: the newer format features (issue #14, 1.3 to 1.6) ------------- */

/* Rewrites the trailer of a finished file so that its index lists every
 * EVENTS chunk in it, those written by hand (raw_events) too: the file is
 * complete and right in its framing, whatever its chunks say. */
static bool retrailer(const char *dir, const char *name)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s%s.ravtrace", dir, prefix, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = size > 0 ? malloc((size_t)size) : NULL;
	bool ok = b && fread(b, 1, (size_t)size, f) == (size_t)size;
	fclose(f);
	ravt_header h;
	if (!ok || (size_t)size < sizeof h) {
		free(b);
		return false;
	}
	memcpy(&h, b, sizeof h);
	size_t off = h.header_size, nidx = 0, cap = 0;
	ravt_index_entry *idx = NULL;
	ravt_trailer tr = {0};
	uint64_t trailer_at = 0;
	while (ok && off + sizeof(ravt_frame) <= (size_t)size) {
		ravt_frame fr;
		memcpy(&fr, b + off, sizeof fr);
		if (fr.kind == RAVT_CHUNK_TRAILER) {
			memcpy(&tr, b + off + sizeof fr, sizeof tr);
			trailer_at = off;
			break;
		}
		if (ravt_chunk_is_events(fr.kind)) {
			if (nidx == cap) {
				cap = cap ? 2 * cap : 64;
				ravt_index_entry *n = realloc(idx, cap * sizeof *idx);
				if (!n) {
					ok = false;
					break;
				}
				idx = n;
			}
			idx[nidx++] = (ravt_index_entry){off, fr.first, fr.thread, fr.count};
		}
		off += sizeof fr + (((size_t)fr.stored_len + 7) & ~(size_t)7);
	}
	ok = ok && trailer_at;
	size_t len = sizeof tr + nidx * sizeof *idx + 8, padded = (len + 7) & ~(size_t)7;
	uint8_t *t = ok ? calloc(1, sizeof(ravt_frame) + padded) : NULL;
	if (t) {
		tr.events = tr.chunks = 0;
		uint32_t threads[64];
		unsigned nth = 0;
		for (size_t i = 0; i < nidx; i++) {
			tr.events += idx[i].count;
			unsigned k = 0;
			while (k < nth && threads[k] != idx[i].thread)
				k++;
			if (k == nth && nth < 64)
				threads[nth++] = idx[i].thread;
		}
		tr.chunks = nidx;
		tr.threads = nth;
		uint8_t *pl = t + sizeof(ravt_frame);
		memcpy(pl, &tr, sizeof tr);
		if (nidx)
			memcpy(pl + sizeof tr, idx, nidx * sizeof *idx);
		memcpy(pl + sizeof tr + nidx * sizeof *idx, &trailer_at, 8);
		ravt_frame fr = {.sync = RAVT_CHUNK_SYNC,
		                 .kind = RAVT_CHUNK_TRAILER,
		                 .stored_len = (uint32_t)len,
		                 .raw_len = (uint32_t)len,
		                 .payload_crc = ravt_crc32c(0, pl, len)};
		fr.frame_crc = ravt_frame_crc(&fr);
		memcpy(t, &fr, sizeof fr);
		f = fopen(path, "wb");
		ok = f && fwrite(b, 1, trailer_at, f) == trailer_at &&
		     fwrite(t, 1, sizeof fr + padded, f) == sizeof fr + padded;
		ok = f && fclose(f) == 0 && ok;
	} else {
		ok = false;
	}
	free(t);
	free(idx);
	free(b);
	if (!ok)
		fprintf(stderr, "hostile-gen: %s: could not rewrite the trailer\n", path);
	return ok;
}

static unsigned track(hgen *g, uint32_t th)
{
	g->track[g->ntrack] = th;
	return g->ntrack++;
}

/* A chunk of `kind` (EVENTS, EVENTS_AC or SITES) written by hand for a
 * tracked thread: the thread's events so far are flushed first, and none
 * may follow through the writer (its `first` would not know of these). */
static void raw_chunk_of(hgen *g, unsigned t, uint16_t kind, const uint8_t *pl, size_t len, uint32_t count)
{
	end_thread(g, g->track[t]);
	if (!g->failed && ravt_writer_raw_chunk(g->w, kind, 0, pl, (uint32_t)len, g->track[t], count,
	                                        g->tracked[t]) != 0) {
		fprintf(stderr, "hostile-gen: raw chunk: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
}

/* An events payload: one segment of `count` events at tsc, then `ev`. */
static size_t events_payload(uint8_t *out, uint64_t tsc, uint32_t count, const uint8_t *ev, size_t len)
{
	uint8_t seg[32], *s = seg;
	s = ravt_put_varint(s, count);
	s = ravt_put_varint(s, ravt_zigzag((int64_t)tsc));
	s = ravt_put_varint(s, 0);
	uint8_t *p = ravt_put_varint(out, (uint64_t)(s - seg));
	memcpy(p, seg, (size_t)(s - seg));
	p += s - seg;
	memcpy(p, ev, len);
	return (size_t)(p - out) + len;
}

/* Address-cache operands (EVENTS_AC, 1.5) naming entries never filled:
 * `escape` 0 a hit on entry 3 of a cache of one entry in a data-store's
 * shape; 1 a hit on entry 15 of an empty cache in the escape form; 2 a
 * hit past the 16 entries a cache can hold, after 16 misses filled it. */
static bool gen_acache_as(const char *dir, const char *name, int how)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	unsigned t = track(&g, 1);
	thread_start(&g, 1, "cached");
	sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	uint8_t ev[512], *p = ev, pl[600];
	uint32_t n = 0;
	/* misses: alloc cells 1 ... k of page 0 (odd operands, tag 1: a pool
	 * word, zigzag delta from the previous one) */
	unsigned k = how == 2 ? 16 : 1;
	for (unsigned c = 1; c <= k; c++, n++) {
		*p++ = (uint8_t)(RAV_EV_ALLOC | 2u << 6);
		p = ravt_put_varint(p, RAV_TYPE_FIRST_USER);
		uint64_t inner = ravt_zigzag(4) << 2 | 1; /* word 4c: 4 on from the last */
		p = ravt_put_varint(p, inner << 1 | 1);
	}
	/* a hit that names a real entry, then one that does not */
	*p++ = RAV_EV_DATA_STORE;
	p = ravt_put_varint(p, 0u << 3 | 1u << 1);
	p = ravt_put_varint(p, 0);
	p = ravt_put_varint(p, 7);
	n++;
	if (how == 1) {
		*p++ = 63; /* escape: ref-store, a = a hit on entry 15 */
		p = ravt_put_varint(p, RAV_EV_REF_STORE);
		p = ravt_put_varint(p, 0);
		p = ravt_put_varint(p, 0);
		p = ravt_put_varint(p, 15u << 3);
		p = ravt_put_varint(p, 0u << 3);
		p = ravt_put_varint(p, 0u << 3);
	} else {
		*p++ = RAV_EV_DATA_STORE;
		p = ravt_put_varint(p, (how == 2 ? 16u : 3u) << 3 | 1u << 1);
		p = ravt_put_varint(p, 0);
		p = ravt_put_varint(p, 7);
	}
	n++;
	size_t len = events_payload(pl, g.tsc + 10, n, ev, (size_t)(p - ev));
	raw_chunk_of(&g, t, RAVT_CHUNK_EVENTS_AC, pl, len, n);
	thread_start(&g, 2, "after"); /* a thread after the bad chunk, read through the writer */
	sync_ev(&g, 2, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, addr(1, 0, 0), 0);
	return hclose(&g) && retrailer(dir, name);
}

static bool gen_acache_unfilled(const char *dir, const char *name)
{
	return gen_acache_as(dir, name, 0);
}

static bool gen_acache_escape(const char *dir, const char *name)
{
	return gen_acache_as(dir, name, 1);
}

static bool gen_acache_past(const char *dir, const char *name)
{
	return gen_acache_as(dir, name, 2);
}

/* SITES chunks (1.3) written by hand before an EVENTS_AC chunk of three
 * marks: `how` 0 a run naming entry 2 of a dictionary of 1; 1 an entry of
 * 0 frames; 2 an entry of 65 frames; 3 runs covering 2 of the 3 events;
 * 4 a dictionary of 4 entries for 3 events; 5 the chunk after it is
 * another thread's; 6 a count of 2^20 + 1; 7 the sites of a chunk that
 * never comes (the file's last chunk before the trailer). */
static bool gen_sites_bad_as(const char *dir, const char *name, int how)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .flags = RAVT_HF_SITES | (64u << 8)};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	unsigned t = track(&g, 1), t2 = track(&g, 2);
	thread_start(&g, 1, "sited");
	thread_start(&g, 2, "other");
	end_thread(&g, 2);
	uint8_t s[1024], *p = s;
	uint32_t count = 3;
	unsigned nsites = how == 4 ? 4 : 1, frames = how == 1 ? 0 : how == 2 ? 65 : 2;
	p = ravt_put_varint(p, nsites);
	for (unsigned i = 0; i < nsites; i++) {
		p = ravt_put_varint(p, frames);
		for (unsigned f = 0; f < frames; f++)
			p = ravt_put_varint(p, ravt_zigzag(f ? 64 : (int64_t)(0x400000 + 16 * i)));
	}
	if (how == 3) {
		p = ravt_put_varint(p, 1);
		p = ravt_put_varint(p, 2), p = ravt_put_varint(p, 1);
	} else {
		p = ravt_put_varint(p, 2);
		p = ravt_put_varint(p, 1), p = ravt_put_varint(p, 0);
		p = ravt_put_varint(p, 2), p = ravt_put_varint(p, how == 0 ? 2 : 1);
	}
	end_thread(&g, 1);
	if (!g.failed &&
	    ravt_writer_raw_chunk(g.w, RAVT_CHUNK_SITES, 0, s, (uint32_t)(p - s), 1, how == 6 ? (1u << 20) + 1 : count,
	                          g.tracked[t]) != 0)
		g.failed = true;
	if (how != 7) {
		uint8_t ev[16], pl[64];
		for (unsigned i = 0; i < count; i++)
			ev[2 * i] = RAV_EV_MARK, ev[2 * i + 1] = 0;
		size_t len = events_payload(pl, g.tsc + 10, count, ev, 2 * count);
		raw_chunk_of(&g, how == 5 ? t2 : t, RAVT_CHUNK_EVENTS_AC, pl, len, count);
	}
	return hclose(&g) && retrailer(dir, name);
}

#define SITES_BAD(fn, how) \
	static bool fn(const char *dir, const char *name) { return gen_sites_bad_as(dir, name, how); }
SITES_BAD(gen_sites_run_range, 0)
SITES_BAD(gen_sites_frames_zero, 1)
SITES_BAD(gen_sites_frames_65, 2)
SITES_BAD(gen_sites_runs_short, 3)
SITES_BAD(gen_sites_dict_big, 4)
SITES_BAD(gen_sites_orphan, 5)
SITES_BAD(gen_sites_count_huge, 6)
SITES_BAD(gen_sites_dangling, 7)

/* A chunk written straight to the file, its payload compressed: the
 * writer's own raw chunks are stored as they are.  (The trailer is
 * rewritten after, so the writer's offsets need not know of it.) */
static void zstd_chunk(hgen *g, uint16_t kind, const uint8_t *raw_pl, size_t raw_len, uint32_t thread,
                       uint32_t count, uint64_t first)
{
	size_t cap = ZSTD_compressBound(raw_len);
	uint8_t *buf = calloc(1, sizeof(ravt_frame) + cap + 8);
	size_t n = buf ? ZSTD_compress(buf + sizeof(ravt_frame), cap, raw_pl, raw_len, 3) : 0;
	if (!buf || ZSTD_isError(n)) {
		fprintf(stderr, "hostile-gen: compressing a chunk failed\n");
		g->failed = true;
		free(buf);
		return;
	}
	ravt_frame f = {.sync = RAVT_CHUNK_SYNC,
	                .kind = kind,
	                .flags = 1,
	                .stored_len = (uint32_t)n,
	                .raw_len = (uint32_t)raw_len,
	                .thread = thread,
	                .count = count,
	                .first = first,
	                .payload_crc = ravt_crc32c(0, buf + sizeof f, n)};
	f.frame_crc = ravt_frame_crc(&f);
	memcpy(buf, &f, sizeof f);
	size_t len = sizeof f + ((n + 7) & ~(size_t)7);
	if (fwrite(buf, 1, len, g->f) != len)
		g->failed = true;
	free(buf);
}

/* SITES chunks whose dictionaries name more frames than a reader keeps
 * for a file of this size (16 M, or one per byte): two chunks of 2^18
 * distinct sites of 60 frames each (31 M frames, 16 MB of dictionary
 * each, a few kilobytes once compressed), every entry a frame apart.
 * Their tables pass the open trace's memory limit first (384 MiB for 16 M
 * frames); small (the fuzz seed: 2^14 sites a chunk), the driver's limit
 * of 16 MiB. */
static bool gen_sites_frames_bound(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .flags = RAVT_HF_SITES | (64u << 8)};
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	unsigned t = track(&g, 1);
	thread_start(&g, 1, "bound");
	end_thread(&g, 1);
	const uint32_t count = small ? 1u << 14 : 1u << 18, depth = 60; /* (small: 2 M frames, 47 MiB) */
	/* a byte per frame, but the first entry's frames are full varints */
	size_t cap = (size_t)count * (depth + 1) + (size_t)depth * 10 + 64; /* 10: a 64-bit varint at most */
	uint8_t *s = malloc(cap), *ev = malloc(2 * (size_t)count), *pl = malloc(2 * (size_t)count + 64);
	bool ok = s && ev && pl;
	for (unsigned chunk = 0; ok && chunk < 2; chunk++) {
		uint8_t *p = ravt_put_varint(s, count);
		for (uint32_t k = 0; k < count; k++) {
			*p++ = (uint8_t)depth;
			for (uint32_t d = 0; d < depth; d++) /* the first entry anywhere, then frame 0 one on */
				p = k == 0 ? ravt_put_varint(p, ravt_zigzag((int64_t)(0x500000 + chunk * 0x10000000ull + d * 64)))
				           : ravt_put_varint(p, d == 0 ? ravt_zigzag(1) : 0);
		}
		p = ravt_put_varint(p, 1); /* one run: every event at site 1 */
		p = ravt_put_varint(p, count);
		p = ravt_put_varint(p, 1);
		zstd_chunk(&g, RAVT_CHUNK_SITES, s, (size_t)(p - s), 1, count, g.tracked[t]);
		for (uint32_t i = 0; i < count; i++)
			ev[2 * i] = RAV_EV_MARK, ev[2 * i + 1] = 0;
		size_t len = events_payload(pl, g.tsc + 10, count, ev, 2 * (size_t)count);
		zstd_chunk(&g, RAVT_CHUNK_EVENTS_AC, pl, len, 1, count, g.tracked[t]);
		g.tracked[t] += count;
	}
	free(s);
	free(ev);
	free(pl);
	return hclose(&g) && ok && retrailer(dir, name);
}

/* A call site record of the frames given. */
static void site_at(hgen *g, uint32_t th, const uint64_t *frames, unsigned n)
{
	rav_raw_event r[RAV_SITE_RECORDS(RAV_SITE_FRAMES_MAX)];
	memset(r, 0, sizeof r);
	uint64_t f[RAV_SITE_FRAMES_MAX + 3] = {0};
	memcpy(f, frames, n * sizeof *f);
	r[0].kind = RAV_RAW_SITE | (n << 8);
	r[0].a = f[0], r[0].b = f[1], r[0].c = f[2];
	unsigned k = RAV_SITE_RECORDS(n);
	for (unsigned i = 1; i < k; i++)
		memcpy(&r[i], &f[3 + (i - 1) * 4], 32);
	for (unsigned i = 0; i < k; i++)
		raw(g, th, r[i]);
	g->events -= k;
}

/* The load bias of the main program (dl_iterate_phdr lists it first). */
static int main_bias(struct dl_phdr_info *info, size_t size, void *user)
{
	(void)size;
	*(uintptr_t *)user = info->dlpi_addr;
	return 1;
}

/* The objects of a MAPS chunk are files a symbolizer opens: a FIFO nobody
 * writes (opening it waits for a writer), /dev/zero (endless), a
 * directory, the reader itself (/proc/self/exe: debug information that is
 * not the recorded program's, no build id to tell), a path of control
 * bytes, a newline and bytes that are not UTF-8, a segment at the top of
 * the address space; call sites in each, a recursion of 64 frames between
 * two of them, frames at 0 and 2^64 - 1. */
static bool gen_sites_paths(const char *dir, const char *name)
{
	hparams hp = {.tsc_hz = 1000000000ull,
	              .tsc_start = 1000,
	              .start_realtime_ns = 1700000000000000000ull,
	              .flags = RAVT_HF_SITES | (64u << 8)};
	char fifo[4096];
	snprintf(fifo, sizeof fifo, "%s/%s%s.fifo", dir, prefix, name);
	char *abs = realpath(dir, NULL);
	if (abs) {
		snprintf(fifo, sizeof fifo, "%s/%s%s.fifo", abs, prefix, name);
		free(abs);
	}
	remove(fifo);
	if (*prefix) /* a fuzz seed: no FIFO beside it in the corpus (the path is all a fuzzer reads) */
		snprintf(fifo, sizeof fifo, "/nonexistent/%s.fifo", name);
	else if (mkfifo(fifo, 0600) != 0)
		fprintf(stderr, "hostile-gen: %s: %s (the class goes on without it)\n", fifo, strerror(errno));
	hgen g;
	if (!hopen(&g, dir, name, &hp))
		return false;
	thread_start(&g, 1, "paths");
	static const char weird[] = "/tmp/\x1b[31mred\n\x01\xff\xfe\xc0\x80.so";
	/* this generator, recorded without its build id, a frame in this
	 * function: a reader that does not see that it is another file names
	 * gen_sites_paths and a line of hostile-gen.c */
	char self[4096] = "/proc/self/exe";
	ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
	self[sl > 0 ? sl : 14] = 0;
	if (*prefix) /* (a seed names no file of this machine) */
		snprintf(self, sizeof self, "/nonexistent/hostile-gen");
	uintptr_t bias = 0;
	dl_iterate_phdr(main_bias, &bias);
	const char *paths[] = {fifo, "/dev/zero", "/", "/proc/self/exe", weird, "/dev/stdin", "", self};
	size_t lens[] = {strlen(fifo), 9, 1, 14, sizeof weird - 1, 10, 0, strlen(self)};
	enum { NOBJ = 8 };
	ravt_map_segment segs[NOBJ], top = {UINT64_MAX - 0xffff, 0xffff, RAVT_SEG_X | RAVT_SEG_R};
	ravt_map_object objs[NOBJ + 1];
	static const uint8_t bid[20] = {0xde, 0xad, 0xbe, 0xef};
	for (unsigned i = 0; i < NOBJ; i++) {
		segs[i] = i == 7 ? (ravt_map_segment){0, 1ull << 32, RAVT_SEG_X | RAVT_SEG_R}
		                 : (ravt_map_segment){0x1000, 0x10000, RAVT_SEG_X | RAVT_SEG_R};
		objs[i] = (ravt_map_object){.base = (uint64_t)(i + 1) << 28,
		                            .segs = &segs[i],
		                            .nsegs = 1,
		                            .build_id = i == 3 || i == 7 ? NULL : bid,
		                            .build_id_len = i == 3 || i == 7 ? 0 : sizeof bid,
		                            .path = paths[i],
		                            .path_len = lens[i]};
	}
	objs[NOBJ] = (ravt_map_object){.base = 0, .segs = &top, .nsegs = 1, .path = "/top", .path_len = 4};
	if (ravt_writer_maps(g.w, objs, NOBJ + 1) != 0) {
		fprintf(stderr, "hostile-gen: maps: %s\n", ravt_writer_error(g.w));
		g.failed = true;
	}
	uint64_t fr[RAV_SITE_FRAMES_MAX];
	for (unsigned i = 0; i <= NOBJ; i++) { /* a frame in each object */
		fr[0] = i < NOBJ ? objs[i].base + 0x1234 : UINT64_MAX - 0x10;
		if (i == 7) /* (a return address: the call is just before it) */
			fr[0] = objs[i].base + ((uintptr_t)gen_sites_paths - bias) + 16;
		site_at(&g, 1, fr, 1);
		ev(&g, 1, RAV_EV_GC_BEGIN, 0, 1, 0, 0, 0);
	}
	for (unsigned i = 0; i < RAV_SITE_FRAMES_MAX; i++) /* the FIFO's code and /dev/zero's calling each other */
		fr[i] = objs[i & 1].base + 0x2000 + (i & 1) * 8;
	site_at(&g, 1, fr, RAV_SITE_FRAMES_MAX);
	ev(&g, 1, RAV_EV_GC_BEGIN, 0, 1, 0, 0, 0);
	fr[0] = 0, fr[1] = UINT64_MAX, fr[2] = 1;
	site_at(&g, 1, fr, 3);
	ev(&g, 1, RAV_EV_GC_END, 0, 1, 0, 0, 0);
	return hclose(&g);
}

/* A heap's snapshot (1.1) that the events after it contradict: `how` 0
 * an alloc of a cell the snapshot has live; 1 a snapshot event naming a
 * piece no chunk holds; 2 a snapshot event naming heap 2^32-1 for a piece
 * of heap 1; 3 a piece whose chunk says it holds 2^32-1 pages (its body
 * one); 4 a piece of part 2^32-2 of 2^32-1 parts; 5 a page of the
 * snapshot released by a heap that is not its owner. */
static bool gen_snap_contra_as(const char *dir, const char *name, int how)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	thread_start(&g, 1, "owner");
	thread_start(&g, 2, "other");
	const uint64_t pg = 3;
	uint8_t body[64], *p = body;
	p = ravt_put_varint(p, pg);
	*p++ = RAV_PAGE_HEAP;
	p = ravt_put_varint(p, 3); /* header, cells 1 and 2 */
	for (int c = 0; c < 2; c++) {
		*p++ = 0;
		p = ravt_put_varint(p, RAV_TYPE_FIRST_USER);
		for (int w = 0; w < 3; w++)
			p = ravt_put_varint(p, 0);
	}
	uint32_t items = how == 3 ? UINT32_MAX : 1, part = how == 4 ? UINT32_MAX - 1 : 0,
	         parts = how == 4 ? UINT32_MAX : 1;
	snap_chunk(&g, RAV_SNAP_HEAP, 21, part, parts, 1, items, body, (size_t)(p - body));
	snap_event(&g, 1, RAV_SNAP_HEAP, how == 2 ? UINT32_MAX : 1, how == 1 ? 99 : 21);
	if (how == 5)
		sync_ev(&g, 2, RAV_EV_PAGE_RELEASE, 0, 2, addr(pg, 0, 0), 0);
	ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(pg, how == 0 ? 2 : 3, 0), 0, 0);
	ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(pg, 1, 1), 0, 5);
	return hclose(&g);
}

#define SNAP_CONTRA(fn, how) \
	static bool fn(const char *dir, const char *name) { return gen_snap_contra_as(dir, name, how); }
SNAP_CONTRA(gen_snap_then_alloc, 0)
SNAP_CONTRA(gen_snap_missing_piece, 1)
SNAP_CONTRA(gen_snap_other_heap, 2)
SNAP_CONTRA(gen_snap_items_huge, 3)
SNAP_CONTRA(gen_snap_parts_max, 4)
SNAP_CONTRA(gen_snap_release_foreign, 5)

/* Heap 0, which names no heap (events of a thread before it had one),
 * given a page: the events of stream 0 acquire a page for heap 0 and fill
 * it; thread 1 then takes it over from heap 0.  `to_zero`: thread 1
 * acquires the page and hands it to heap 0, which then sends itself. */
static bool gen_heap_zero_as(const char *dir, const char *name, bool to_zero)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	if (to_zero) {
		thread_start(&g, 1, "giver");
		sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
		ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
		sync_ev(&g, 1, RAV_EV_PAGE_HANDOFF, 0, 0, addr(0, 0, 0), 1);
		sync_ev(&g, 1, RAV_EV_MSG_SEND, 0, 0, 1, 1);
		return hclose(&g);
	}
	text_ev(&g, 0, RAV_EV_TYPE_DEF, RAV_TYPE_FIRST_USER, 0, "node", 4);
	sync_ev(&g, 0, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 0, addr(0, 0, 0), 0);
	ev(&g, 0, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	end_thread(&g, 0);
	thread_start(&g, 1, "taker");
	sync_ev(&g, 1, RAV_EV_PAGE_HANDOFF, 0, 1, addr(0, 0, 0), 0);
	ev(&g, 1, RAV_EV_FREE, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
	return hclose(&g);
}

static bool gen_heap_zero_page(const char *dir, const char *name)
{
	return gen_heap_zero_as(dir, name, false);
}

static bool gen_heap_zero_handoff(const char *dir, const char *name)
{
	return gen_heap_zero_as(dir, name, true);
}

/* ---- round four: the records of live sessions (issue #14, SESSION chunks) ---- */

/* A SESSION record (FORMAT.md §12.4) after everything written so far. */
static void session_rec(hgen *g, uint16_t type, const int64_t *v, unsigned nv, const void *text, size_t tlen)
{
	end_thread(g, 1);
	size_t len = sizeof(ravt_session) + tlen;
	uint8_t *b = calloc(1, len);
	if (!b) {
		g->failed = true;
		return;
	}
	ravt_session r = {.type = type, .text_len = (uint32_t)tlen, .realtime_ns = 1700000000000000000ull};
	for (unsigned i = 0; i < nv && i < 16; i++)
		r.v[i] = v[i];
	memcpy(b, &r, sizeof r);
	if (tlen)
		memcpy(b + sizeof r, text, tlen);
	if (!g->failed && ravt_writer_raw_chunk(g->w, RAVT_CHUNK_SESSION, 0, b, (uint32_t)len, 0, 0, 0) != 0) {
		fprintf(stderr, "hostile-gen: session record: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
	free(b);
}

#define EPOCH(e) ((int64_t)(e) << 40)

/* ATTACHED as a program writes it: pid 4242, uid 1000, client 4243,
 * lossless, 1 MiB of queue, protocol 1, its start, the first number of
 * epoch `epoch`; and `pid` instead of 4242. */
static void attached(hgen *g, int64_t pid, int64_t epoch)
{
	int64_t v[8] = {pid, 1000, 4243, 1, 1 << 20, 1, 1690000000000000000ll, EPOCH(epoch) + 1};
	session_rec(g, RAVT_SESSION_ATTACHED, v, 8, NULL, 0);
}

static void end_rec(hgen *g, int64_t how, int64_t value, int64_t lost, const char *text)
{
	int64_t v[4] = {how, value, (int64_t)g->events, lost};
	session_rec(g, RAVT_SESSION_END, v, 4, text, text ? strlen(text) : 0);
}

/* A heap with a cell, numbered in the session's epoch. */
static void session_events(hgen *g, int64_t epoch)
{
	g->seq = (uint64_t)EPOCH(epoch);
	thread_start(g, 1, "attached");
	sync_ev(g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(0, 0, 0), 0);
	ev(g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(0, 1, 0), 0, 0);
}

enum {
	SE_TEXT, SE_DEBUGGER, SE_MANY, SE_SEQ, SE_PID, SE_ATTACHED_TWICE, SE_ATTACHED_LATE,
	SE_NO_ATTACHED, SE_END_HOW, SE_END_SIGNAL, SE_END_NEGATIVE, SE_AFTER_END, SE_EPOCH_BACK,
	SE_SYNCED_HUGE, SE_STATS_NEGATIVE,
};

static bool gen_session(const char *dir, const char *name, int how)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	int64_t x = INT64_MAX, n = INT64_MIN;
	switch (how) {
	case SE_TEXT: {
		/* an END text that fakes lines, clears the screen, is no UTF-8,
		 * and has a two-byte character across the 255-byte cut */
		char t[320];
		memset(t, 'e', sizeof t);
		static const char head[] = "bye\nlifetime 1 fake line\n\x1b[2J\xff\xfe\xc3(";
		memcpy(t, head, sizeof head - 1);
		t[254] = (char)0xc3, t[255] = (char)0xa9;
		t[sizeof t - 1] = 0;
		attached(&g, 4242, 1);
		session_events(&g, 1);
		int64_t code = 3;
		session_rec(&g, RAVT_SESSION_ERROR, &code, 1, t, sizeof t - 1);
		session_rec(&g, 0x7fff, NULL, 0, t, sizeof t - 1); /* a type from the future */
		end_rec(&g, RAVT_END_ERROR, 0, 0, t);
		break;
	}
	case SE_DEBUGGER: {
		/* stops, resumptions and breakpoints (read by no file tool) with
		 * every value at its extreme, among the events */
		attached(&g, 4242, 1);
		session_events(&g, 1);
		unsigned k = small ? 100 : 5000;
		static const char why[] = "stopped\n\x1b]0;title\x07 at \xff\xfe";
		for (unsigned i = 0; i < k; i++) {
			int64_t v[16] = {x, n, x, n, x, n, x, n, x, n, x, n, x, n, x, n};
			v[0] = i % 2 ? -1 : 1;
			session_rec(&g, RAVT_SESSION_STOPPED + i % 3, v, 16, why, sizeof why - 1);
			ev(&g, 1, RAV_EV_DATA_STORE, 0, 0, addr(0, 1, 1), i, i + 1);
		}
		end_rec(&g, RAVT_END_DETACHED, 0, 0, NULL);
		break;
	}
	case SE_MANY: {
		/* statistics at the largest counts, losses at every epoch up to
		 * the largest (no lost event follows them: a file's reader cannot
		 * tell, and must not keep anything per record) */
		attached(&g, 4242, 1);
		session_events(&g, 1);
		unsigned k = small ? 300 : 5000;
		for (unsigned i = 0; i < k; i++) {
			int64_t v[14] = {x, x, x, x, x, x, x, x, x, x, x, x, x, x};
			session_rec(&g, RAVT_SESSION_STATS, v, 14, NULL, 0);
			int64_t l[4] = {x, 0, x, i + 1 < k ? (int64_t)i + 2 : (1 << 24) - 1};
			session_rec(&g, RAVT_SESSION_LOST, l, 4, NULL, 0);
		}
		int64_t sy[3] = {1, UINT32_MAX / 2, UINT32_MAX / 2 + 1};
		session_rec(&g, RAVT_SESSION_SYNCED, sy, 3, NULL, 0);
		end_rec(&g, RAVT_END_SIGNAL, 64, x, "killed");
		break;
	}
	case SE_SEQ:
		/* the session says its numbers start in epoch 1, its events are
		 * numbered in epoch 3 with every other number missing: a live
		 * reader waits for them until the stream ends */
		attached(&g, 4242, 1);
		g.seq = (uint64_t)EPOCH(3);
		thread_start(&g, 1, "attached");
		for (uint32_t p = 0; p < (small ? 20u : 2000u); p++) {
			g.seq++;
			sync_ev(&g, 1, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, addr(p, 0, 0), 0);
			ev(&g, 1, RAV_EV_ALLOC, RAV_TYPE_FIRST_USER, 0, addr(p, 1, 0), 0, 0);
		}
		end_rec(&g, RAVT_END_EXITED, 0, 0, "exit");
		break;
	case SE_PID:
		attached(&g, EPOCH(1) + 5, 1);
		session_events(&g, 1);
		break;
	case SE_ATTACHED_TWICE:
		attached(&g, 4242, 1);
		attached(&g, 4343, 1);
		session_events(&g, 1);
		break;
	case SE_ATTACHED_LATE:
		session_events(&g, 1);
		attached(&g, 4242, 1);
		break;
	case SE_NO_ATTACHED:
		session_events(&g, 1);
		end_rec(&g, RAVT_END_EXITED, 0, 0, "exit");
		break;
	case SE_END_HOW:
		attached(&g, 4242, 1);
		session_events(&g, 1);
		end_rec(&g, 99, 0, 0, "how?");
		break;
	case SE_END_SIGNAL:
		attached(&g, 4242, 1);
		session_events(&g, 1);
		end_rec(&g, RAVT_END_SIGNAL, EPOCH(1) + 9, 0, "killed");
		break;
	case SE_END_NEGATIVE:
		attached(&g, 4242, 1);
		session_events(&g, 1);
		end_rec(&g, RAVT_END_DETACHED, 0, -1, NULL);
		break;
	case SE_AFTER_END: {
		attached(&g, 4242, 1);
		end_rec(&g, RAVT_END_DETACHED, 0, 0, NULL);
		session_events(&g, 1);
		end_rec(&g, RAVT_END_EXITED, 3, 0, NULL);
		break;
	}
	case SE_EPOCH_BACK: {
		attached(&g, 4242, 5);
		session_events(&g, 5);
		int64_t l[4] = {10, 0, 0, 5};
		session_rec(&g, RAVT_SESSION_LOST, l, 4, NULL, 0);
		break;
	}
	case SE_SYNCED_HUGE: {
		attached(&g, 4242, 1);
		int64_t sy[3] = {1, UINT32_MAX, UINT32_MAX};
		session_rec(&g, RAVT_SESSION_SYNCED, sy, 3, NULL, 0);
		session_events(&g, 1);
		break;
	}
	case SE_STATS_NEGATIVE: {
		attached(&g, 4242, 1);
		session_events(&g, 1);
		int64_t v[14] = {10, -1};
		session_rec(&g, RAVT_SESSION_STATS, v, 14, NULL, 0);
		break;
	}
	}
	return hclose(&g);
}

/* Replay costs the keyframes are placed by (replay-index.c: an event
 * counts 1, a cell block copied 8) fooled: 100,000 message heaps, then
 * 100,000 lost events, each of which forgets every heap (one event of the
 * cost model, a pass over every heap the trace ever had). */
static bool gen_kf_lost_heaps(const char *dir, const char *name)
{
	hgen g;
	if (!hopen(&g, dir, name, NULL))
		return false;
	uint32_t heaps = small ? 2000 : 100000, times = small ? 2000 : 100000;
	thread_start(&g, 1, "many");
	for (uint32_t k = 0; k < heaps; k++)
		sync_ev(&g, 1, RAV_EV_HEAP_NEW, RAV_HEAP_MESSAGE, 100 + k, 1, 0);
	for (uint32_t k = 0; k < times; k++)
		sync_ev(&g, 1, RAV_EV_LOST, 0, k + 1, 1, g.tsc);
	return hclose(&g);
}

#define SESSION_CLASS(fn, how) \
	static bool fn(const char *dir, const char *name) { return gen_session(dir, name, how); }
SESSION_CLASS(gen_session_text, SE_TEXT)
SESSION_CLASS(gen_session_debugger, SE_DEBUGGER)
SESSION_CLASS(gen_session_many, SE_MANY)
SESSION_CLASS(gen_session_seq, SE_SEQ)
SESSION_CLASS(gen_session_pid, SE_PID)
SESSION_CLASS(gen_session_attached_twice, SE_ATTACHED_TWICE)
SESSION_CLASS(gen_session_attached_late, SE_ATTACHED_LATE)
SESSION_CLASS(gen_session_no_attached, SE_NO_ATTACHED)
SESSION_CLASS(gen_session_end_how, SE_END_HOW)
SESSION_CLASS(gen_session_end_signal, SE_END_SIGNAL)
SESSION_CLASS(gen_session_end_negative, SE_END_NEGATIVE)
SESSION_CLASS(gen_session_after_end, SE_AFTER_END)
SESSION_CLASS(gen_session_epoch_back, SE_EPOCH_BACK)
SESSION_CLASS(gen_session_synced_huge, SE_SYNCED_HUGE)
SESSION_CLASS(gen_session_stats_negative, SE_STATS_NEGATIVE)

/* ---- the table --------------------------------------------------------------- */

typedef struct hclass {
	const char *name;
	const char *expect; /* ok, inconsistent, limit */
	unsigned limit_mb;  /* RAVTRACE_MEMORY_MB the driver sets for "limit" (full, small) */
	unsigned limit_small;
	gen_fn gen;
	const char *what;
} hclass;

static bool gen_snap_types_dup(const char *dir, const char *name)
{
	return gen_snap_types(dir, name, false);
}

static bool gen_snap_types_renamed(const char *dir, const char *name)
{
	return gen_snap_types(dir, name, true);
}

static const hclass classes[] = {
    {"many-heaps", "ok", 0, 0, gen_many_heaps, "about 200 threads, each heap owning one page"},
    {"empty-heaps", "ok", 0, 0, gen_empty_heaps, "heaps that own no page"},
    {"page-index-high", "ok", 0, 0, gen_page_index_high, "a page at the highest index the format allows"},
    {"page-index-limit", "limit", 64, 1, gen_page_index_limit,
     "a page at every 64th index (262,144 leaves of the page table), under a memory limit below them"},
    {"pages-spread", "ok", 0, 0, gen_pages_spread,
     "16,384 pages of 4,096 heaps at indices 1,024 apart, then 1M writes to one of them"},
    {"many-pages", "ok", 0, 0, gen_many_pages,
     "200,000 pages handed over before 200,000 root pages and released from the middle"},
    {"marks-huge", "limit", 64, 4, gen_marks_huge, "6,000 distinct 64 KiB mark texts (390 MB) in 600 KB"},
    {"switches", "limit", 64, 1, gen_switches,
     "two threads alternating at every event (15M events, 360 MB of merged order)"},
    {"types-wide", "inconsistent", 0, 0, gen_types_wide, "400,000 type ids above 16 bits"},
    {"types-many", "ok", 0, 0, gen_types_many, "every 16-bit type id defined, cells of types >= 4096"},
    {"type-alias", "inconsistent", 0, 0, gen_type_alias, "type 0x10005 after type 5"},
    {"threads-many", "ok", 0, 0, gen_threads_many, "100,000 short-lived recording threads"},
    {"handoff-pairs", "ok", 0, 0, gen_handoff_pairs, "313,040 distinct hand-off pairs between 560 threads"},
    {"inconsistent-102", "inconsistent", 0, 0, gen_inconsistent, "replay fails at event 102"},
    {"msg-pages", "ok", 0, 0, gen_msg_pages,
     "50,000 pages handed to a message one by one before its root page (1.6), then received"},
    {"msg-pages-foreign", "inconsistent", 0, 0, gen_msg_pages_foreign,
     "a page handed to a message by a heap that does not own it"},
    {"msg-pages-fill", "inconsistent", 0, 0, gen_msg_pages_fill,
     "a page handed to a message with a fill it does not have"},
    {"msg-pages-sent", "inconsistent", 0, 0, gen_msg_pages_sent, "pages handed to a message already sent"},
    {"names", "ok", 0, 0, gen_names, "names with newlines, quotes, control bytes, bytes that are not UTF-8"},
    {"markup", "ok", 0, 0, gen_markup, "names, marks, errors and an object path that are Pango markup"},
    {"heap-max-id", "ok", 0, 0, gen_heap_max_id, "heap id 2^32-1 contending with heap 1"},
    {"clock-overflow", "ok", 0, 0, gen_clock_overflow, "wall-clock end past 2^64 ns"},
    {"clock-unknown", "ok", 0, 0, gen_clock_unknown, "no wall-clock start, no TSC rate"},
    {"trailer-big", "ok", 0, 0, gen_trailer_big, "720,000 chunks: a trailer larger than 16 MiB"},
    {"zstd-bomb", "ok", 0, 0, gen_zstd_bomb, "a million heap writes in 4 KB"},
    {"snap-parts", "limit", 64, 1, gen_snap_parts,
     "4,000 snapshot pieces of 3,900 parts each, none complete"},
    {"snap-dup-page", "inconsistent", 0, 0, gen_snap_dup_page, "a heap's snapshot lists a page twice"},
    {"snap-owned-page", "inconsistent", 0, 0, gen_snap_owned_page,
     "a heap's snapshot takes a page a live heap owns"},
    {"snap-renamed", "inconsistent", 0, 0, gen_snap_renamed,
     "one snapshot piece of 50,000 pages named by 100,000 snapshot events"},
    {"snap-keyframes", "ok", 0, 0, gen_snap_keyframes,
     "500 snapshots 2,000 writes apart, each forcing a keyframe"},
    {"snap-lost-many", "ok", 0, 0, gen_snap_lost_many, "a page at index 2^24-1, then 100,000 lost events"},
    {"snap-types-dup", "ok", 0, 0, gen_snap_types_dup, "a types piece defining one type 300,000 times"},
    {"snap-types-renamed", "inconsistent", 0, 0, gen_snap_types_renamed,
     "the same piece named by 100,001 snapshot events"},
    {"move-ghost", "inconsistent", 0, 0, gen_move_ghost, "a move into a page no heap acquired"},
    {"handoff-ghost", "inconsistent", 0, 0, gen_handoff_ghost, "a page handed between heaps that never existed"},
    {"seq-jump", "ok", 0, 0, gen_seq_jump, "sequence numbers that skip by 2^63, wrap and go backwards"},
    {"tsc-wrap", "ok", 0, 0, gen_tsc_wrap, "a TSC that wraps past 2^64 at 1 Hz"},
    {"kinds-odd", "ok", 0, 0, gen_kinds_odd, "generic and escape kinds with extreme operands"},
    {"snap-wild-refs", "ok", 0, 0, gen_snap_wild_refs,
     "a heap snapshot whose references point at pages nobody owns, the pool's first word, themselves, empty cells"},
    {"maps-many", "ok", 0, 0, gen_maps_many,
     "MAPS chunks of 65,536 objects each: 131,072 distinct objects, then the map again twice"},
    {"sites-deep", "ok", 0, 0, gen_sites_deep, "60,000 distinct 64-frame call sites at addresses in no object (3.8M frames)"},
    {"acache-unfilled", "damaged", 0, 0, gen_acache_unfilled, "an address-cache hit on entry 3 of a cache of one (1.5)"},
    {"acache-escape", "damaged", 0, 0, gen_acache_escape, "an escape-form hit on entry 15 of a cache of one"},
    {"acache-past", "damaged", 0, 0, gen_acache_past, "a hit on entry 16 of a full cache (16 entries)"},
    {"sites-run-range", "damaged", 0, 0, gen_sites_run_range, "a SITES run naming entry 2 of a dictionary of 1 (1.3)"},
    {"sites-frames-zero", "damaged", 0, 0, gen_sites_frames_zero, "a call site of 0 frames"},
    {"sites-frames-65", "damaged", 0, 0, gen_sites_frames_65, "a call site of 65 frames"},
    {"sites-runs-short", "damaged", 0, 0, gen_sites_runs_short, "SITES runs covering 2 of 3 events"},
    {"sites-dict-big", "damaged", 0, 0, gen_sites_dict_big, "a dictionary of 4 sites for 3 events"},
    {"sites-orphan", "damaged", 0, 0, gen_sites_orphan, "a SITES chunk followed by another thread's events"},
    {"sites-count-huge", "damaged", 0, 0, gen_sites_count_huge, "a SITES chunk for 2^20+1 events before a chunk of 3"},
    {"sites-dangling", "damaged", 0, 0, gen_sites_dangling, "a SITES chunk whose events never come"},
    {"sites-paths", "ok", 0, 0, gen_sites_paths,
     "objects at a FIFO, /dev/zero, /, /proc/self/exe, /dev/stdin, control bytes; a 64-frame recursion"},
    {"snap-then-alloc", "inconsistent", 0, 0, gen_snap_then_alloc, "an alloc of a cell a heap's snapshot has live"},
    {"snap-missing-piece", "inconsistent", 0, 0, gen_snap_missing_piece, "a snapshot event naming a piece no chunk holds"},
    {"snap-other-heap", "inconsistent", 0, 0, gen_snap_other_heap, "a snapshot event of heap 2^32-1 naming heap 1's piece"},
    {"snap-items-huge", "inconsistent", 0, 0, gen_snap_items_huge, "a snapshot chunk declaring 2^32-1 pages, holding one"},
    {"snap-parts-max", "damaged", 0, 0, gen_snap_parts_max, "part 2^32-2 of a piece of 2^32-1 parts"},
    {"snap-release-foreign", "inconsistent", 0, 0, gen_snap_release_foreign,
     "a page of heap 1's snapshot released by heap 2"},
    {"msg-pages-twice", "inconsistent", 0, 0, gen_msg_pages_twice, "a page handed to a message twice (1.6)"},
    {"msg-pages-dead", "inconsistent", 0, 0, gen_msg_pages_dead, "pages handed to a message that ended"},
    {"msg-pages-thread-heap", "inconsistent", 0, 0, gen_msg_pages_thread_heap, "a page handed to a thread's heap"},
    {"msg-pages-before-foreign", "inconsistent", 0, 0, gen_msg_pages_before_foreign,
     "a page handed before a page of another heap"},
    {"msg-pages-index-max", "inconsistent", 0, 0, gen_msg_pages_index_max, "a page index of 2^64-1 handed"},
    {"msg-pages-fill-zero", "inconsistent", 0, 0, gen_msg_pages_fill_zero, "a page handed with a fill of 0"},
    {"msg-pages-ghost-heap", "inconsistent", 0, 0, gen_msg_pages_ghost_heap, "a page handed to heap 2^32-1, which never existed"},
    {"msg-pages-recv-first", "inconsistent", 0, 0, gen_msg_pages_recv_first,
     "a message received before it is sent (by sequence number)"},
    {"msg-pages-ids-max", "ok", 0, 0, gen_msg_pages_ids_max,
     "pages to a message with every id at the top: threads 2^32-1, 2^32-2, message 2^32-3, channel 2^64-1"},
    {"msg-pages-heap-zero", "inconsistent", 0, 0, gen_msg_pages_heap_zero, "pages handed to a message heap of id 0"},
    {"sites-frames-bound", "limit", 64, 16, gen_sites_frames_bound,
     "two SITES chunks of 2^18 distinct 60-frame sites each: 31 M frames in a small file"},
    {"heap-zero-page", "inconsistent", 0, 0, gen_heap_zero_page,
     "a page acquired by heap 0 (no heap) and handed from it"},
    {"heap-zero-handoff", "inconsistent", 0, 0, gen_heap_zero_handoff, "a page handed to heap 0, which is then sent"},
    {"kf-lost-heaps", "ok", 0, 0, gen_kf_lost_heaps,
     "100,000 message heaps, then 100,000 lost events that each forget every heap"},
    {"session-text", "ok", 0, 0, gen_session_text,
     "END, ERROR and a future record's texts with newlines, escapes, bytes that are not UTF-8 (1.1)"},
    {"session-debugger", "ok", 0, 0, gen_session_debugger,
     "5,000 STOPPED, RESUMED and BREAK records of extreme values among the events"},
    {"session-many", "ok", 0, 0, gen_session_many,
     "5,000 statistics at 2^63-1 and losses up to epoch 2^24-1, with no lost event"},
    {"session-seq", "ok", 0, 0, gen_session_seq, "ATTACHED says epoch 1, the events are numbered in epoch 3 with gaps"},
    {"session-pid", "damaged", 0, 0, gen_session_pid, "ATTACHED to process 2^40+5"},
    {"session-attached-twice", "damaged", 0, 0, gen_session_attached_twice, "two ATTACHED records"},
    {"session-attached-late", "damaged", 0, 0, gen_session_attached_late, "ATTACHED after the events"},
    {"session-no-attached", "damaged", 0, 0, gen_session_no_attached, "an END record with no ATTACHED"},
    {"session-end-how", "damaged", 0, 0, gen_session_end_how, "a session that ended in way 99"},
    {"session-end-signal", "damaged", 0, 0, gen_session_end_signal, "killed by signal 2^40+9"},
    {"session-end-negative", "damaged", 0, 0, gen_session_end_negative, "an END record with -1 events lost"},
    {"session-after-end", "damaged", 0, 0, gen_session_after_end, "events and a second END after the END"},
    {"session-epoch-back", "damaged", 0, 0, gen_session_epoch_back, "a loss that begins epoch 5 in epoch 5"},
    {"session-synced-huge", "damaged", 0, 0, gen_session_synced_huge, "2^32-1 heaps snapshotted and 2^32-1 pending"},
    {"session-stats-negative", "damaged", 0, 0, gen_session_stats_negative, "statistics of -1 events lost"},
};
#define NCLASSES (sizeof classes / sizeof classes[0])

int main(int argc, char **argv)
{
	int i = 1;
	bool list = false;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--small"))
			small = true;
		else if (!strcmp(argv[i], "--seeds"))
			small = true, prefix = "hostile-";
		else if (!strcmp(argv[i], "--list"))
			list = true;
		else {
			fprintf(stderr, "usage: hostile-gen [--small | --seeds] [--list] DIR [CLASS...]\n");
			return 2;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: hostile-gen [--small | --seeds] [--list] DIR [CLASS...]\n");
		return 2;
	}
	const char *dir = argv[i++];
	int rc = 0;
	for (size_t c = 0; c < NCLASSES; c++) {
		const hclass *h = &classes[c];
		bool want = i >= argc;
		for (int k = i; k < argc; k++)
			want |= !strcmp(argv[k], h->name);
		if (!want)
			continue;
		if (!list && !h->gen(dir, h->name)) {
			fprintf(stderr, "hostile-gen: %s failed\n", h->name);
			rc = 1;
			continue;
		}
		if (*prefix) {
			/* seeds: one file per generator, each within the fuzzers' input limit */
			char path[4096];
			snprintf(path, sizeof path, "%s/%s%s.ravtrace", dir, prefix, h->name);
			FILE *f = fopen(path, "rb");
			long size = f && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
			if (f)
				fclose(f);
			bool dup = c > 0 && classes[c - 1].gen == h->gen;
			if (size > 65536 || dup) {
				remove(path);
				continue;
			}
		}
		printf("%s %s %u %s\n", h->name, h->expect, small ? h->limit_small : h->limit_mb, h->what);
	}
	return rc;
}
