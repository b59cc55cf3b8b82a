/* contention-unit.c - the MESI contention model on synthetic access
 * patterns whose answers are known by hand.
 *
 * Geometry: 4 KiB pages, 32-byte cells, 8-byte words; so a 64-byte line
 * holds two cells and a 32-byte line one.  Threads are heap ids 1, 2, 3
 * (thread indices 0, 1, 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "ravtrace.h"
#include "trace-test.h"
#include "contention.h"

static const uint32_t threads[] = {1, 2, 3};

typedef struct run {
	rav_contention *c;
	uint64_t next;
} run;

static run start(uint32_t line_size, uint64_t events)
{
	rav_contention_config cfg = {.line_size = line_size, .from = 0, .to = events, .windows = 4};
	rav_trace_error err;
	run r = {ravt_contention_new_detached(4096, 32, 8, &cfg, threads, 3, &err), 0};
	if (!r.c) {
		fprintf(stderr, "cannot create the model: %s\n", err.message);
		exit(1);
	}
	return r;
}

static void acc(run *r, uint32_t thread, rav_loc where, bool write)
{
	rav_event e;
	memset(&e, 0, sizeof e);
	e.index = r->next++;
	e.thread = thread;
	e.kind = RAV_EV_ACCESS;
	e.aux = write;
	e.a = where;
	e.b = 8;
	if (!ravt_contention_feed(r->c, &e)) {
		fprintf(stderr, "feed failed\n");
		exit(1);
	}
}

static void finish(run *r)
{
	rav_trace_error err;
	if (!ravt_contention_finish(r->c, &err)) {
		fprintf(stderr, "finish failed: %s\n", err.message);
		exit(1);
	}
}

/* Two threads take turns writing one word: every write after the first
 * misses on a line the other thread holds Modified. */
static void test_ping_pong(void)
{
	enum { N = 1000 };
	run r = start(64, N);
	for (int i = 0; i < N; i++)
		acc(&r, 1 + (i & 1), rav_loc_make(3, 4, 1), true);
	finish(&r);
	rav_contention_totals t;
	rav_contention_get_totals(r.c, &t);
	CHECK_EQ(t.accesses, N);
	CHECK_EQ(t.transfers, N - 1); /* the first write is a cold miss */
	CHECK_EQ(t.invalidations, N - 1);
	CHECK_EQ(t.lines_touched, 1);
	CHECK_EQ(t.lines_contended, 1);
	CHECK_EQ(rav_contention_line_count(r.c), 1);
	const rav_contention_line *l = rav_contention_line_at(r.c, 0);
	CHECK(l && !l->external);
	CHECK_EQ(l->transfers, N - 1);
	CHECK_EQ(l->writes, N);
	CHECK_EQ(l->thread_mask, 3);
	CHECK_EQ(l->first_cell, rav_loc_make(3, 4, 0)); /* cells 4 and 5 share the line */
	CHECK_EQ(l->line, (3 * 4096 + 4 * 32) / 64);
	CHECK_EQ(rav_contention_page(r.c, 3), N - 1);
	CHECK_EQ(rav_contention_page(r.c, 2), 0);
	CHECK_EQ(rav_contention_thread(r.c, 0), N / 2 - 1); /* thread 1 wrote first */
	CHECK_EQ(rav_contention_thread(r.c, 1), N / 2);
	uint64_t lines[64];
	rav_contention_page_lines(r.c, 3, lines);
	CHECK_EQ(lines[2], N - 1);
	CHECK_EQ(lines[0], 0);
	uint64_t sum = 0, first, last;
	CHECK_EQ(rav_contention_window_count(r.c), 4);
	for (unsigned w = 0; w < 4; w++)
		sum += rav_contention_window(r.c, w, &first, &last);
	CHECK_EQ(sum, N - 1);
	CHECK_EQ(rav_contention_window(r.c, 0, &first, &last), N / 4 - 1);
	CHECK_EQ(first, 0);
	CHECK_EQ(last, N / 4 - 1);
	rav_contention_window(r.c, 3, &first, &last);
	CHECK_EQ(first, 3 * N / 4);
	CHECK_EQ(last, N - 1);
	rav_contention_free(r.c);
}

/* Each thread writes its own cell; cells 2 and 3 (bytes 64..127 of the
 * page) share a 64-byte line but not a 32-byte line. */
static void false_sharing(uint32_t line_size, uint64_t *transfers)
{
	enum { N = 500 };
	run r = start(line_size, 2 * N);
	for (int i = 0; i < N; i++) {
		acc(&r, 1, rav_loc_make(0, 2, 1), true);
		acc(&r, 2, rav_loc_make(0, 3, 1), true);
	}
	finish(&r);
	rav_contention_totals t;
	rav_contention_get_totals(r.c, &t);
	*transfers = t.transfers;
	rav_contention_free(r.c);
}

static void test_false_sharing(void)
{
	uint64_t t64, t32;
	false_sharing(64, &t64);
	false_sharing(32, &t32);
	CHECK_EQ(t64, 2 * 500 - 1);
	CHECK_EQ(t32, 0);
}

static void test_disjoint(void)
{
	run r = start(64, 4000);
	for (int i = 0; i < 1000; i++) {
		acc(&r, 1, rav_loc_make(1, 1, 1), true);
		acc(&r, 2, rav_loc_make(1, 3, 1), true);
		acc(&r, 3, rav_loc_make(2, 1, 1), false);
		acc(&r, 1, RAV_LOC_EXTERNAL | 0x7000, true);
	}
	finish(&r);
	rav_contention_totals t;
	rav_contention_get_totals(r.c, &t);
	CHECK_EQ(t.transfers, 0);
	CHECK_EQ(t.invalidations, 0);
	CHECK_EQ(t.lines_touched, 4);
	CHECK_EQ(rav_contention_line_count(r.c), 0);
	rav_contention_free(r.c);
}

/* Readers share a line (each read miss is served by a cache holding it);
 * a write then invalidates the other copies without a transfer when the
 * writer already holds the line. */
static void test_readers_then_writer(void)
{
	run r = start(64, 10);
	acc(&r, 1, rav_loc_make(0, 1, 1), true);  /* cold: M in thread 1 */
	acc(&r, 2, rav_loc_make(0, 1, 2), false); /* transfer: 1 -> 2, both S */
	acc(&r, 3, rav_loc_make(0, 1, 3), false); /* transfer */
	acc(&r, 3, rav_loc_make(0, 1, 3), false); /* hit */
	acc(&r, 1, rav_loc_make(0, 1, 1), true);  /* upgrade: 2 invalidations, no transfer */
	acc(&r, 1, rav_loc_make(0, 1, 1), true);  /* hit in M */
	finish(&r);
	rav_contention_totals t;
	rav_contention_get_totals(r.c, &t);
	CHECK_EQ(t.transfers, 2);
	CHECK_EQ(t.invalidations, 2);
	const rav_contention_line *l = rav_contention_line_at(r.c, 0);
	CHECK(l != NULL);
	if (l) {
		CHECK_EQ(l->reads, 3);
		CHECK_EQ(l->writes, 3);
		CHECK_EQ(l->thread_mask, 7);
	}
	CHECK_EQ(rav_contention_thread(r.c, 0), 0);
	CHECK_EQ(rav_contention_thread(r.c, 1), 1);
	CHECK_EQ(rav_contention_thread(r.c, 2), 1);
	rav_contention_free(r.c);
}

/* Lines outside the pool (chatty programs' malloc'd memory), the hottest
 * list order, and engine writes (a MOVE reads one cell and writes another). */
static void test_external_and_engine_writes(void)
{
	run r = start(64, 100);
	for (int i = 0; i < 10; i++) {
		acc(&r, 1, RAV_LOC_EXTERNAL | 0x10008, true);
		acc(&r, 2, RAV_LOC_EXTERNAL | 0x10010, true);
	}
	for (int i = 0; i < 3; i++) {
		acc(&r, 1, rav_loc_make(5, 9, 0), true);
		acc(&r, 2, rav_loc_make(5, 9, 0), false);
	}
	/* thread 2 moves cell (5,8) (same line as (5,9)) into (6,1) */
	rav_event e;
	memset(&e, 0, sizeof e);
	e.index = r.next++;
	e.thread = 1;
	e.kind = RAV_EV_MOVE;
	e.a = rav_loc_make(5, 8, 0);
	e.b = rav_loc_make(6, 1, 0);
	CHECK(ravt_contention_feed(r.c, &e));
	finish(&r);
	CHECK_EQ(rav_contention_line_count(r.c), 2);
	const rav_contention_line *l0 = rav_contention_line_at(r.c, 0), *l1 = rav_contention_line_at(r.c, 1);
	CHECK(l0 && l0->external);
	CHECK(l1 && !l1->external);
	if (l0 && l1) {
		CHECK_EQ(l0->line, 0x10000 / 64);
		CHECK_EQ(l0->transfers, 19);
		/* w r w r w r: each read is a transfer; each later write is an
		 * upgrade from S (invalidation, no data): 3 transfers; then the
		 * move's read by thread 1 (holding S) is a hit */
		CHECK_EQ(l1->transfers, 3);
		CHECK_EQ(l1->invalidations, 2);
		CHECK_EQ(l1->first_cell, rav_loc_make(5, 8, 0));
	}
	rav_contention_totals t;
	rav_contention_get_totals(r.c, &t);
	CHECK_EQ(t.lines_touched, 3);
	rav_contention_free(r.c);
}

/* An access straddling two lines touches both; windows follow the event
 * range given in the configuration. */
static void test_span_and_windows(void)
{
	rav_contention_config cfg = {.line_size = 64, .from = 100, .to = 200, .windows = 4};
	rav_trace_error err;
	rav_contention *c = ravt_contention_new_detached(4096, 32, 8, &cfg, threads, 3, &err);
	CHECK(c != NULL);
	if (!c)
		return;
	rav_event e;
	memset(&e, 0, sizeof e);
	e.kind = RAV_EV_ACCESS;
	e.aux = 1;
	for (uint64_t i = 100; i < 200; i++) {
		e.index = i;
		e.thread = 1 + (uint32_t)(i & 1);
		e.a = rav_loc_make(0, 1, 3); /* bytes 56..71: lines 0 and 1 */
		e.b = 16;
		CHECK(ravt_contention_feed(c, &e));
	}
	CHECK(ravt_contention_finish(c, &err));
	rav_contention_totals t;
	rav_contention_get_totals(c, &t);
	CHECK_EQ(t.lines_touched, 2);
	CHECK_EQ(t.accesses, 100);
	CHECK_EQ(t.transfers, 2 * 99); /* both lines bounce on every access after the first */
	uint64_t first, last, sum = 0;
	for (unsigned w = 0; w < 4; w++)
		sum += rav_contention_window(c, w, &first, &last);
	CHECK_EQ(sum, 2 * 99);
	CHECK_EQ(rav_contention_window(c, 1, &first, &last), 50);
	CHECK_EQ(first, 125);
	CHECK_EQ(last, 149);
	CHECK_EQ(rav_contention_window(c, 0, &first, &last), 48); /* the first access is cold */
	CHECK_EQ(first, 100);
	rav_contention_free(c);
}

static void test_bad_line_size(void)
{
	rav_contention_config cfg = {.line_size = 48};
	rav_trace_error err;
	rav_contention *c = ravt_contention_new_detached(4096, 32, 8, &cfg, threads, 3, &err);
	CHECK(c == NULL);
	CHECK(c == NULL && strstr(err.message, "48") != NULL);
	rav_contention_free(c);
}

/* A thread table longer than 64 (message heaps are in it too): a line's
 * threads are named whatever their index, and threads past the model's
 * 64 caches are said to be there, not dropped silently. */
static void test_many_threads(void)
{
	enum { NT = 100 };
	uint32_t ids[NT];
	for (unsigned i = 0; i < NT; i++)
		ids[i] = 1 + i;
	rav_contention_config cfg = {.line_size = 64, .from = 0, .to = 1000, .windows = 4};
	rav_trace_error err;
	run r = {ravt_contention_new_detached(4096, 32, 8, &cfg, ids, NT, &err), 0};
	CHECK(r.c != NULL);
	if (!r.c)
		return;
	/* thread indices 80 and 90 ping-pong on page 3's line 0 */
	for (int i = 0; i < 10; i++)
		acc(&r, ids[i & 1 ? 90 : 80], rav_loc_make(3, 0, 1), true);
	/* then 70 threads (indices 10..79) each write page 4's line 0 once:
	 * the 66th to touch memory and later share the last cache */
	for (unsigned i = 10; i < 80; i++)
		acc(&r, ids[i], rav_loc_make(4, 0, 1), true);
	finish(&r);
	CHECK_EQ(rav_contention_line_count(r.c), 2);
	for (unsigned li = 0; li < 2; li++) {
		const rav_contention_line *l = rav_contention_line_at(r.c, li);
		unsigned th[64];
		bool more = true;
		unsigned n = rav_contention_line_threads(r.c, li, th, 64, &more);
		if (l->line == 3 * 4096 / 64) {
			CHECK_EQ(n, 2);
			CHECK_EQ(th[0], 80);
			CHECK_EQ(th[1], 90);
			CHECK(!more);
			CHECK_EQ(l->thread_mask, 0); /* indices past 63 */
		} else {
			CHECK_EQ(l->line, 4 * 4096 / 64);
			CHECK_EQ(n, 62); /* caches 2..63: indices 10..71 */
			CHECK_EQ(th[0], 10);
			CHECK_EQ(th[61], 71);
			CHECK(more);
			CHECK_EQ(l->thread_mask, ((uint64_t)1 << 63) - ((uint64_t)1 << 10) + ((uint64_t)1 << 63));
		}
		CHECK_EQ(rav_contention_line_threads(r.c, li, NULL, 0, NULL), n);
	}
	CHECK_EQ(rav_contention_line_threads(r.c, 2, NULL, 0, NULL), 0);
	rav_contention_free(r.c);
}

/* Message heaps are in the thread table and name themselves in the events
 * that make them and hand them pages (heap-new, page-to-msg) but touch no
 * memory: 100 of them before three threads ping-pong must not take the 64
 * caches (the threads would share the last one and move nothing). */
static void test_messages_take_no_cache(void)
{
	enum { NM = 100 };
	uint32_t ids[3 + NM];
	for (unsigned i = 0; i < 3 + NM; i++)
		ids[i] = 1 + i; /* 1..3 threads, 4..103 message heaps */
	rav_contention_config cfg = {.line_size = 64, .from = 0, .to = 1000, .windows = 4};
	rav_trace_error err;
	run r = {ravt_contention_new_detached(4096, 32, 8, &cfg, ids, 3 + NM, &err), 0};
	CHECK(r.c != NULL);
	if (!r.c)
		return;
	for (unsigned m = 0; m < NM; m++) {
		rav_event e;
		memset(&e, 0, sizeof e);
		e.index = r.next++;
		e.thread = ids[3 + m];
		e.kind = RAV_EV_HEAP_NEW;
		e.a = 1; /* the thread that builds it */
		CHECK(ravt_contention_feed(r.c, &e));
		e.index = r.next++;
		e.kind = RAV_EV_PAGE_TO_MSG;
		e.a = 10 + m;
		e.b = 1;
		CHECK(ravt_contention_feed(r.c, &e));
	}
	for (int i = 0; i < 30; i++)
		acc(&r, threads[i % 3], rav_loc_make(3, 0, 1), true);
	finish(&r);
	rav_contention_totals t;
	rav_contention_get_totals(r.c, &t);
	CHECK_EQ(t.transfers, 29);
	CHECK_EQ(t.invalidations, 29);
	CHECK_EQ(rav_contention_line_count(r.c), 1);
	const rav_contention_line *l = rav_contention_line_at(r.c, 0);
	CHECK_EQ(l->thread_mask, 7);
	unsigned th[64];
	bool more = true;
	CHECK_EQ(rav_contention_line_threads(r.c, 0, th, 64, &more), 3);
	CHECK(!more);
	CHECK_EQ(th[0], 0);
	CHECK_EQ(th[2], 2);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(rav_contention_thread(r.c, i), i ? 10 : 9);
	for (unsigned m = 0; m < NM; m++)
		CHECK_EQ(rav_contention_thread(r.c, 3 + m), 0);
	rav_contention_free(r.c);
}

int main(void)
{
	test_ping_pong();
	test_false_sharing();
	test_disjoint();
	test_readers_then_writer();
	test_external_and_engine_writes();
	test_span_and_windows();
	test_bad_line_size();
	test_many_threads();
	test_messages_take_no_cache();
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("contention-unit: all checks passed\n");
	return 0;
}
