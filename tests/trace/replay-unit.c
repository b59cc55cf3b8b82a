/* replay-unit.c - the replay model on hand-built event sequences.
 *
 * Events go through ravt_state_apply (the same validation the indexer uses)
 * on a detached state, then the public rav_state_* queries are checked.
 * Error cases check that an event inconsistent with the model is refused
 * with RAV_TRACE_EREPLAY and a message naming the event index.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rav-record.h"
#include "ravtrace.h"
#include "trace-test.h"
#include "budget.h"
#include "replay-history.h"
#include "replay-model.h"
#include "replay.h"
#include "series.h"

#define PAGE 4096u
#define CPP 128u

static rav_loc L(uint32_t page, uint32_t cell, uint32_t word)
{
	return rav_loc_make(page, cell, word);
}

static rav_event E(unsigned kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b, uint64_t c)
{
	rav_event e;
	memset(&e, 0, sizeof e);
	e.kind = (uint16_t)kind;
	e.aux = aux;
	e.x = x;
	e.a = a;
	e.b = b;
	e.c = c;
	e.thread = 1;
	return e;
}

/* Apply one event that must succeed. */
static void ok(rav_state *s, rav_event e, int line)
{
	rav_trace_error err;
	if (ravt_state_apply(s, &e, &err) != 0) {
		fprintf(stderr, "%s:%d: event refused: %s\n", __FILE__, line, err.message);
		tt_failures++;
	}
}
#define OK(s, ...) ok((s), E(__VA_ARGS__), __LINE__)

/* Apply one event that must be refused with EREPLAY naming the event index. */
static void bad(rav_state *s, rav_event e, const char *needle, int line)
{
	rav_trace_error err;
	uint64_t pos = rav_state_position(s);
	if (ravt_state_apply(s, &e, &err) == 0) {
		fprintf(stderr, "%s:%d: inconsistent event accepted\n", __FILE__, line);
		tt_failures++;
		return;
	}
	char want[64];
	snprintf(want, sizeof want, "event %llu", (unsigned long long)pos);
	if (err.code != RAV_TRACE_EREPLAY || !strstr(err.message, want) || !strstr(err.message, needle)) {
		fprintf(stderr, "%s:%d: wrong error (code %d): %s (wanted \"%s\" and \"%s\")\n", __FILE__,
		        line, err.code, err.message, want, needle);
		tt_failures++;
	}
}
#define BAD(s, needle, ...) bad((s), E(__VA_ARGS__), (needle), __LINE__)

static rav_state *fresh(void)
{
	rav_state *s = ravt_state_new_detached(PAGE, 32, 8);
	if (!s) {
		fprintf(stderr, "cannot create a detached state\n");
		exit(1);
	}
	/* heap 1 (thread), a user type 16 with f0 a reference, type 17 data only */
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 1, 0, 0, 1);
	OK(s, RAV_EV_TYPE_DEF, 16, 1, 0, 0, 0);
	OK(s, RAV_EV_TYPE_DEF, 17, 0, 0, 0, 0);
	return s;
}

static void test_alloc_store(void)
{
	rav_state *s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(5, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 17, 0, L(5, 1, 0), 0, 0);
	OK(s, RAV_EV_ALLOC, 16, 0, L(5, 2, 0), 0, 0);
	OK(s, RAV_EV_DATA_STORE, 0, 0, L(5, 1, 1), 0, 1234);
	OK(s, RAV_EV_REF_STORE, 0, 0, L(5, 2, 1), 0, L(5, 1, 0));
	OK(s, RAV_EV_LINK, 0, 0, L(5, 1, 3), 0, L(5, 2, 1));
	OK(s, RAV_EV_TYPE_WORD, 0, 0, L(5, 1, 0), 17, 17 | ((uint64_t)9 << 24));

	rav_state_cell c;
	CHECK(rav_state_cell_at(s, 5, 1, &c));
	CHECK_EQ(c.state, RAV_CELL_LIVE);
	CHECK_EQ(c.type, 17);
	CHECK_EQ(c.scalar, 9);
	CHECK_EQ(c.word[1], 1234);
	CHECK_EQ(c.word[3], L(5, 2, 1));
	CHECK_EQ(c.field_target[0], 0); /* data field */
	CHECK(rav_state_cell_at(s, 5, 2, &c));
	CHECK_EQ(c.field_target[0], L(5, 1, 0));
	CHECK(rav_state_cell_at(s, 5, 0, &c));
	CHECK_EQ(c.state, RAV_CELL_HEADER);
	CHECK_EQ(c.scalar & 0xffffffffu, 3); /* fill incl. header */

	struct rav_state_page p;
	CHECK(rav_state_page(s, 5, &p));
	CHECK_EQ(p.kind, RAV_SPAGE_HEAP);
	CHECK_EQ(p.owner, 1);
	CHECK_EQ(p.fill, 3);
	CHECK_EQ(p.live, 2);
	CHECK_EQ(rav_state_page_span(s), 6);
	CHECK(rav_state_page(s, 2, &p));
	CHECK_EQ(p.kind, RAV_SPAGE_UNUSED);

	uint16_t types[CPP];
	CHECK(rav_state_page_types(s, 5, types));
	CHECK_EQ(types[0], 1);
	CHECK_EQ(types[1], 17);
	CHECK_EQ(types[2], 16);
	CHECK_EQ(types[3], 0);

	rav_loc refs[4];
	CHECK_EQ(rav_state_referrers(s, L(5, 1, 0), refs, 4), 1);
	CHECK_EQ(refs[0], L(5, 2, 1));

	rav_state_totals t;
	rav_state_get_totals(s, &t);
	CHECK_EQ(t.live_cells, 2);
	CHECK_EQ(t.pages, 1);
	CHECK_EQ(t.allocs, 2);
	rav_state_heap h;
	CHECK_EQ(rav_state_heap_count(s), 1);
	CHECK(rav_state_heap_at(s, 0, &h));
	CHECK_EQ(h.id, 1);
	CHECK_EQ(h.page_count, 1);
	CHECK_EQ(h.pages[0], 5);
	CHECK_EQ(h.live_cells, 2);
	rav_state_free(s);
}

/* Free cell 1, move the top cell (3) into the hole, fix its referrer. */
static void test_free_move_fixup(void)
{
	rav_state *s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(0, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 16, 0, L(0, 1, 0), 0, 0);
	OK(s, RAV_EV_ALLOC, 17, 0, L(0, 2, 0), 0, 0);
	OK(s, RAV_EV_ALLOC, 17, 0, L(0, 3, 0), 0, 0);
	OK(s, RAV_EV_REF_STORE, 0, 0, L(0, 1, 1), 0, L(0, 3, 0));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 3, 3), 0, L(0, 1, 1));
	OK(s, RAV_EV_DATA_STORE, 0, 0, L(0, 3, 2), 0, 77);
	OK(s, RAV_EV_FREE, 17, 0, L(0, 2, 0), 0, 0);
	rav_state_totals t;
	rav_state_get_totals(s, &t);
	CHECK_EQ(t.dead_cells, 1);
	CHECK_EQ(t.live_cells, 2);
	OK(s, RAV_EV_MOVE, 0, 0, L(0, 3, 0), L(0, 2, 0), 0);
	OK(s, RAV_EV_FIXUP, 0, 0, L(0, 1, 1), L(0, 3, 0), L(0, 2, 0));
	rav_state_cell c;
	CHECK(rav_state_cell_at(s, 0, 2, &c));
	CHECK_EQ(c.state, RAV_CELL_LIVE);
	CHECK_EQ(c.word[2], 77);
	CHECK_EQ(c.word[3], L(0, 1, 1));
	CHECK(rav_state_cell_at(s, 0, 3, &c));
	CHECK_EQ(c.state, RAV_CELL_EMPTY);
	CHECK(rav_state_cell_at(s, 0, 1, &c));
	CHECK_EQ(c.field_target[0], L(0, 2, 0));
	struct rav_state_page p;
	rav_state_page(s, 0, &p);
	CHECK_EQ(p.fill, 3);
	CHECK_EQ(p.dead, 0);
	rav_state_get_totals(s, &t);
	CHECK_EQ(t.dead_cells, 0);
	CHECK_EQ(t.moves, 1);
	CHECK_EQ(t.fixups, 1);
	CHECK_EQ(t.frees, 1);
	/* deferred mode: a dead top cell is trimmed */
	OK(s, RAV_EV_FREE, 17, 0, L(0, 2, 0), 0, 0);
	OK(s, RAV_EV_TRIM, 0, 0, L(0, 2, 0), 0, 0);
	rav_state_page(s, 0, &p);
	CHECK_EQ(p.fill, 2);
	CHECK_EQ(p.live, 1);
	rav_state_free(s);
}

/* Two slots refer to T through reference raviolo R. */
static void test_reference_ravioli(void)
{
	rav_state *s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(0, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 16, 0, L(0, 1, 0), 0, 0); /* A */
	OK(s, RAV_EV_ALLOC, 16, 0, L(0, 2, 0), 0, 0); /* B */
	OK(s, RAV_EV_ALLOC, 17, 0, L(0, 3, 0), 0, 0); /* T */
	OK(s, RAV_EV_ALLOC, 2, 0, L(0, 4, 0), 0, 0);  /* R */
	OK(s, RAV_EV_LINK, 0, 0, L(0, 4, 1), 0, L(0, 3, 0));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 4, 2), 0, L(0, 1, 1));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 4, 3), 0, L(0, 2, 1));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 3, 3), 0, L(0, 4, 1));
	OK(s, RAV_EV_REF_STORE, 0, 0, L(0, 1, 1), 0, L(0, 4, 0));
	OK(s, RAV_EV_REF_STORE, 0, 0, L(0, 2, 1), 0, L(0, 4, 0));
	rav_state_cell c;
	rav_state_cell_at(s, 0, 1, &c);
	CHECK_EQ(c.word[1], L(0, 4, 0));
	CHECK_EQ(c.field_target[0], L(0, 3, 0));
	rav_state_cell_at(s, 0, 4, &c);
	CHECK_EQ(c.type, 2);
	CHECK_EQ(c.field_target[0], L(0, 3, 0));
	rav_loc refs[4] = {0};
	unsigned n = rav_state_referrers(s, L(0, 3, 0), refs, 4);
	CHECK_EQ(n, 2);
	CHECK((refs[0] == L(0, 1, 1) && refs[1] == L(0, 2, 1)) ||
	      (refs[0] == L(0, 2, 1) && refs[1] == L(0, 1, 1)));
	rav_state_totals t;
	rav_state_get_totals(s, &t);
	CHECK_EQ(t.ref_cells, 1);
	/* a cycle of reference ravioli (corrupt data) must not hang the walk */
	OK(s, RAV_EV_ALLOC, 2, 0, L(0, 5, 0), 0, 0);
	OK(s, RAV_EV_ALLOC, 2, 0, L(0, 6, 0), 0, 0);
	OK(s, RAV_EV_LINK, 0, 0, L(0, 5, 1), 0, L(0, 6, 0));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 6, 1), 0, L(0, 5, 0));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 5, 2), 0, L(0, 6, 1));
	OK(s, RAV_EV_LINK, 0, 0, L(0, 6, 2), 0, L(0, 5, 1));
	OK(s, RAV_EV_ALLOC, 16, 0, L(0, 7, 0), 0, 0);
	OK(s, RAV_EV_REF_STORE, 0, 0, L(0, 7, 1), 0, L(0, 5, 0));
	rav_state_cell_at(s, 0, 7, &c);
	CHECK(c.field_target[0] == L(0, 5, 0) || c.field_target[0] == L(0, 6, 0));
	n = rav_state_referrers(s, L(0, 5, 0), refs, 4);
	CHECK_EQ(n, 0); /* no leaf slot in a pure cycle; what matters is that it returns */
	rav_state_free(s);
}

static void test_pages_and_messages(void)
{
	rav_state *s = fresh();
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 2, 0, 0, 2);
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_MESSAGE, 9, 1, 0, 3);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(3, 0, 0), 0, 4);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(4, 0, 0), 0, 5);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, L(7, 0, 0), 0, 6);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_BUFFER, 9, L(8, 0, 0), 0, 7);
	OK(s, RAV_EV_ALLOC, 17, 0, L(8, 1, 0), 0, 0);
	OK(s, RAV_EV_ALLOC, 2, 0, L(8, 2, 0), 0, 0);
	struct rav_state_page p;
	rav_state_page(s, 8, &p);
	CHECK_EQ(p.kind, RAV_SPAGE_BUFFER);
	OK(s, RAV_EV_MSG_SEND, 0, 9, 1, 1, 8);
	rav_state_heap h;
	CHECK(rav_state_heap_at(s, 2, &h));
	CHECK_EQ(h.id, 9);
	CHECK(h.in_flight);
	CHECK_EQ(h.live_cells, 2);
	CHECK_EQ(h.ref_cells, 1);
	OK(s, RAV_EV_MSG_RECV, 0, 9, 1, 2, 9);
	OK(s, RAV_EV_PAGE_HANDOFF, 0, 2, L(8, 0, 0), 9, 10);
	OK(s, RAV_EV_HEAP_END, 0, 9, 0, 0, 11);
	CHECK(rav_state_heap_at(s, 2, &h));
	CHECK(!h.in_flight);
	CHECK(!h.alive);
	CHECK_EQ(h.page_count, 0);
	CHECK_EQ(h.live_cells, 0);
	/* heap 2's only page (7) was empty: arriving pages go before it */
	CHECK(rav_state_heap_at(s, 1, &h));
	CHECK_EQ(h.page_count, 2);
	CHECK_EQ(h.pages[0], 8);
	CHECK_EQ(h.pages[1], 7);
	CHECK_EQ(h.live_cells, 2);
	rav_state_page(s, 8, &p);
	CHECK_EQ(p.kind, RAV_SPAGE_HEAP);
	CHECK_EQ(p.owner, 2);
	/* release the middle of three: list order kept */
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(10, 0, 0), 0, 12);
	OK(s, RAV_EV_PAGE_RELEASE, 0, 1, L(4, 0, 0), 0, 13);
	CHECK(rav_state_heap_at(s, 0, &h));
	CHECK_EQ(h.page_count, 2);
	CHECK_EQ(h.pages[0], 3);
	CHECK_EQ(h.pages[1], 10);
	rav_state_page(s, 4, &p);
	CHECK_EQ(p.kind, RAV_SPAGE_POOL);
	CHECK_EQ(p.owner, 0);
	rav_state_totals t;
	rav_state_get_totals(s, &t);
	CHECK_EQ(t.pool_pages, 1);
	CHECK_EQ(t.pages, 4);
	CHECK_EQ(t.handoffs, 1);
	/* a pool page can be acquired again, by anyone */
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_ROOT, 2, L(4, 0, 0), 0, 14);
	rav_state_page(s, 4, &p);
	CHECK_EQ(p.kind, RAV_SPAGE_ROOT);
	rav_state_get_totals(s, &t);
	CHECK_EQ(t.pool_pages, 0);
	OK(s, RAV_EV_ALLOC, 3, 0, L(4, 1, 0), 0, 0);
	OK(s, RAV_EV_ROOT_NEW, 0, 0, L(4, 1, 1), 0, 0);
	OK(s, RAV_EV_REF_STORE, 0, 0, L(4, 1, 1), 0, L(8, 1, 0));
	OK(s, RAV_EV_LINK, 0, 0, L(8, 1, 3), 0, L(4, 1, 1));
	rav_loc refs[2];
	CHECK_EQ(rav_state_referrers(s, L(8, 1, 0), refs, 2), 1);
	CHECK_EQ(refs[0], L(4, 1, 1));
	rav_state_free(s);
}

static void test_errors(void)
{
	rav_state *s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 17, 0, L(2, 1, 0), 0, 0);
	BAD(s, "page 2 cell 1, which is live", RAV_EV_ALLOC, 17, 0, L(2, 1, 0), 0, 0);
	rav_state_free(s);

	s = fresh();
	BAD(s, "never acquired", RAV_EV_ALLOC, 17, 0, L(3, 1, 0), 0, 0);
	/* once failed, the state refuses everything */
	rav_trace_error err;
	rav_event e = E(RAV_EV_HEAP_END, 0, 1, 0, 0, 0);
	CHECK(ravt_state_apply(s, &e, &err) != 0);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 17, 0, L(2, 1, 0), 0, 0);
	OK(s, RAV_EV_ALLOC, 17, 0, L(2, 2, 0), 0, 0);
	BAD(s, "not a hole", RAV_EV_MOVE, 0, 0, L(2, 2, 0), L(2, 1, 0), 0);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 17, 0, L(2, 1, 0), 0, 0);
	OK(s, RAV_EV_DATA_STORE, 0, 0, L(2, 1, 1), 0, 5);
	BAD(s, "holds 0x5 but the event says its old value is 0x6", RAV_EV_DATA_STORE, 0, 0, L(2, 1, 1), 6,
	    7);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "which is empty", RAV_EV_FIXUP, 0, 0, L(2, 5, 1), 0, L(2, 1, 0));
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 2, 0, 0, 2);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "which heap 1 already owns", RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, L(2, 0, 0), 0, 3);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 2, 0, 0, 2);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "which heap 1 owns", RAV_EV_PAGE_RELEASE, 0, 2, L(2, 0, 0), 0, 3);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 2, 0, 0, 2);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "but heap 1 owns it", RAV_EV_PAGE_HANDOFF, 0, 1, L(2, 0, 0), 2, 3);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	OK(s, RAV_EV_ALLOC, 17, 0, L(2, 1, 0), 0, 0);
	BAD(s, "which is live (not dead)", RAV_EV_TRIM, 0, 0, L(2, 1, 0), 0, 0);
	BAD(s, "", RAV_EV_FREE, 17, 0, L(2, 1, 0), 0, 0);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	OK(s, RAV_EV_FREE, 0, 0, L(2, 3, 0), 0, 0); /* an empty cell made a hole (message arrival) */
	BAD(s, "which is dead", RAV_EV_FREE, 17, 0, L(2, 3, 0), 0, 0);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "past the last cell", RAV_EV_ALLOC, 17, 0, L(2, CPP, 0), 0, 0);
	BAD(s, "", RAV_EV_ALLOC, 17, 0, L(2, 1, 0), 0, 0);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "outside the ravioli pool", RAV_EV_ALLOC, 17, 0, RAV_LOC_EXTERNAL | 0x1000, 0, 0);
	rav_state_free(s);

	s = fresh();
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(2, 0, 0), 0, 1);
	BAD(s, "page 2 cell 0, which is a page header", RAV_EV_ALLOC, 17, 0, L(2, 0, 0), 0, 0);
	rav_state_free(s);

	s = fresh();
	BAD(s, "beyond the largest pool", RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, (uint64_t)0xfffffff0u << 16,
	    0, 1);
	rav_state_free(s);
}

/* The cell-history filter keeps entry i for block i even when it cannot
 * grow for a while: a block whose filter found no room must not let the
 * next block's filter take its place (a query would then skip blocks
 * that hold the cell's events and return a short history, no error).
 * Block b marks page 100 + b; the budget refuses the filter's second
 * growth, then is raised again. */
static void test_history_filter_room(void)
{
	ravt_budget budget;
	ravt_budget_init(&budget);
	ravt_budget_set_limit(&budget, 40000); /* 64 entries of 512 bytes fit, 128 do not */
	ravt_history *h = ravt_history_new(&budget);
	REQUIRE(h);
	for (uint32_t b = 0; b < 80; b++) {
		if (b == 70)
			ravt_budget_set_limit(&budget, (uint64_t)1 << 30);
		ravt_history_mark(h->hit, L(100 + b, 1, 0));
		ravt_history_block_end(h);
	}
	CHECK(h->nblocks >= 64 && h->nblocks <= 80);
	for (size_t i = 0; i < h->nblocks; i++) {
		uint32_t p = (uint32_t)(100 + i) % RAVT_HISTORY_BITS;
		if (!(h->bloom[i][p >> 3] & (1u << (p & 7)))) {
			fprintf(stderr, "history filter entry %zu lacks block %zu's page\n", i, i);
			tt_failures++;
			break;
		}
	}
	ravt_history_free(h);
	ravt_budget_destroy(&budget);
}

/* A history block's end says how many pages its writes touched, as the
 * filter tells them apart (indexing asks for cell memory ahead only when
 * that is more than the cache holds: replay-index.c, pf_cells): pages
 * marked twice or aliased by the 4096-bit hash count once, locations that
 * name no page not at all, and the next block starts from none. */
static void test_history_block_spread(void)
{
	ravt_budget budget;
	ravt_budget_init(&budget);
	ravt_history *h = ravt_history_new(&budget);
	REQUIRE(h);
	ravt_history_mark(h->hit, L(1, 0, 0));
	ravt_history_mark(h->hit, L(1, 5, 2));
	ravt_history_mark(h->hit, L(2, 3, 0));
	ravt_history_mark(h->hit, L(3 + RAVT_HISTORY_BITS, 1, 0)); /* hashes with page 3 */
	ravt_history_mark(h->hit, L(3, 1, 0));
	ravt_history_mark(h->hit, L(4000, 9, 1));
	ravt_history_mark(h->hit, 0);
	ravt_history_mark(h->hit, RAV_LOC_EXTERNAL | 0x1234);
	CHECK(ravt_history_block_end(h) == 4);
	CHECK(ravt_history_block_end(h) == 0);
	for (uint32_t p = 1; p <= 3000; p++) /* (page 0 cell 0 word 0 is the null location) */
		ravt_history_mark(h->hit, L(p, 0, 0));
	CHECK(ravt_history_block_end(h) == 3000);
	ravt_history_free(h);
	ravt_budget_destroy(&budget);
}

/* Indexing marks, in the cell-history filter, the page of every location
 * an event writes or names (the slot, the old and new references, both
 * ends of a move, reference ravioli): a page left unmarked makes a
 * history query skip the block and return a short history, no error.
 * The marks are made by the apply switch itself (ravt_apply_marked);
 * every kind that marks is fed here with its locations on pages of their
 * own, and each of those pages must be marked. */
static void test_history_marks(void)
{
	ravt_budget budget;
	ravt_budget_init(&budget);
	ravt_series *series = ravt_series_new(&budget);
	ravt_history *h = ravt_history_new(&budget);
	REQUIRE(series && h);
	ravt_replay *rp = ravt_replay_new(PAGE, 32, 8, series, h, &budget);
	REQUIRE(rp);
	ravt_sink *sink = ravt_replay_sink(rp);
	rav_event evs[] = {
	    E(RAV_EV_THREAD_START, 0, 1, 77, 0, 0),
	    E(RAV_EV_TYPE_DEF, 16, 1, 0, 0, 0),
	    E(RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(3, 0, 0), 0, 1),
	    E(RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(5, 0, 0), 0, 2),
	    E(RAV_EV_ALLOC, 16, 0, L(3, 1, 0), 0, 0),
	    E(RAV_EV_ALLOC, 16, 0, L(3, 2, 0), 0, 0),
	    /* slot page 3; new value on page 11 */
	    E(RAV_EV_REF_STORE, 0, 0, L(3, 1, 1), 0, L(11, 4, 0)),
	    /* old value page 11, new page 12 */
	    E(RAV_EV_FIXUP, 0, 0, L(3, 1, 1), L(11, 4, 0), L(12, 4, 0)),
	    E(RAV_EV_LINK, 0, 0, L(3, 1, 2), 0, L(13, 4, 0)),
	    E(RAV_EV_REF_CLEAR, 0, 0, L(3, 1, 2), L(13, 4, 0), 0),
	    E(RAV_EV_DATA_STORE, 0, 0, L(3, 1, 3), 0, 42),
	    E(RAV_EV_REFRAV_INSERT, 0, 0, L(20, 1, 0), L(21, 1, 0), L(22, 1, 0)),
	    E(RAV_EV_REFRAV_REMOVE, 0, 0, L(23, 1, 0), 0, 0),
	    /* the move's destination on a page of its own */
	    E(RAV_EV_MOVE, 0, 0, L(3, 2, 0), L(5, 1, 0), 0),
	    E(RAV_EV_ALLOC, 16, 0, L(5, 2, 0), 0, 0),
	    E(RAV_EV_FREE, 16, 0, L(5, 2, 0), 0, 0),
	    E(RAV_EV_TRIM, 0, 0, L(5, 2, 0), 0, 0),
	};
	size_t n = sizeof evs / sizeof evs[0];
	for (size_t i = 0; i < n; i++)
		evs[i].index = i;
	/* pages 3, 5 (cells, slots, the move's ends), 11-13 (old and new
	 * references), 20-23 (reference ravioli) */
	memset(h->hit, 0, sizeof h->hit);
	sink->ops->begin(sink, 0);
	sink->ops->events(sink, evs, n);
	rav_trace_error err;
	if (ravt_replay_error(rp, &err)) {
		fprintf(stderr, "history marks: replay failed: %s\n", err.message);
		tt_failures++;
	}
	static const uint32_t want[] = {3, 5, 11, 12, 13, 20, 21, 22, 23};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		if (!h->hit[want[i]]) {
			fprintf(stderr, "history filter: page %u not marked\n", want[i]);
			tt_failures++;
		}
	/* (and nothing else but the spare byte of null locations) */
	for (uint32_t p = 0; p < RAVT_HISTORY_BITS; p++) {
		bool wanted = false;
		for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
			wanted |= want[i] == p;
		if (h->hit[p] && !wanted) {
			fprintf(stderr, "history filter: page %u marked\n", p);
			tt_failures++;
		}
	}
	sink->ops->end(sink, n, true);
	ravt_replay_free(rp);
	ravt_history_free(h);
	ravt_series_free(series);
	ravt_budget_destroy(&budget);
}

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_IS_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_IS_MALLOC 1
#endif
#endif

static uint64_t lcg(uint64_t *x)
{
	*x = *x * 6364136223846793005ull + 1442695040888963407ull;
	return *x >> 33;
}

static void fill_block(ravt_cellblock *k, uint64_t tag)
{
	for (unsigned i = 0; i < RAVT_CB_CELLS * 4; i++)
		k->w[i] = tag * 131 + i;
}

static bool block_holds(const ravt_cellblock *k, uint64_t tag)
{
	for (unsigned i = 0; i < RAVT_CB_CELLS * 4; i++)
		if (k->w[i] != tag * 131 + i)
			return false;
	return true;
}

/* The arena (replay-arena.c) and a block cache in front of it, churned:
 * blocks handed out are aligned and never overlap (each keeps what was
 * written into it while others come and go), blocks given back singly, in
 * batches and through a cache are handed out again, so that churning
 * the same number of blocks does not take more slabs than the first fill
 * did (a free map that lost or never found a released block would grow). */
static void test_arena_churn(void)
{
	enum { N = 9000, ROUNDS = 12 }; /* ~2.5 slabs of 2 MB */
	ravt_cellblock **b = calloc(N, sizeof *b);
	uint64_t *tag = calloc(N, sizeof *tag);
	void **batch = calloc(N, sizeof *batch);
	REQUIRE(b && tag && batch);
	ravt_model m;
	ravt_model_init(&m, PAGE, 32, 8, NULL);
	ravt_blockcache cache = {0};
	m.cache = &cache;
	uint64_t rng = 7, next_tag = 1;
	for (unsigned i = 0; i < N; i++) {
		REQUIRE((b[i] = ravt_arena_alloc()));
		CHECK((uintptr_t)b[i] % 64 == 0);
		fill_block(b[i], tag[i] = next_tag++);
	}
	/* the slabs the first fill took (slabs are 2 MB-aligned) */
	size_t slabs0 = 0;
	{
		uintptr_t *sl = calloc(N, sizeof *sl);
		REQUIRE(sl);
		for (unsigned i = 0; i < N; i++)
			sl[i] = (uintptr_t)b[i] >> 21;
		for (unsigned i = 0; i < N; i++) {
			bool seen = false;
			for (unsigned j = 0; j < i && !seen; j++)
				seen = sl[j] == sl[i];
			slabs0 += !seen;
		}
		free(sl);
	}
	for (unsigned r = 0; r < ROUNDS; r++) {
		/* give back about half: singly, in one batch, or to the cache */
		size_t nb = 0;
		for (unsigned i = 0; i < N; i++) {
			if (lcg(&rng) % 2)
				continue;
			CHECK(block_holds(b[i], tag[i]));
			switch (r % 3) {
			case 0:
				ravt_arena_free(b[i]);
				break;
			case 1:
				batch[nb++] = b[i];
				break;
			default:
				atomic_init(&b[i]->refs, 1);
				ravt_cell_release(&m, b[i]);
				break;
			}
			b[i] = NULL;
		}
		ravt_arena_free_batch(batch, nb);
		if (r % 3 == 2)
			ravt_blockcache_clear(&cache);
		for (unsigned i = 0; i < N; i++) {
			if (b[i])
				continue;
			REQUIRE((b[i] = r % 2 ? ravt_cell_new(&m) : ravt_arena_alloc()));
			CHECK((uintptr_t)b[i] % 64 == 0);
			fill_block(b[i], tag[i] = next_tag++);
		}
		for (unsigned i = 0; i < N; i++)
			CHECK(block_holds(b[i], tag[i]));
	}
#ifndef ARENA_IS_MALLOC
	size_t slabs = 0;
	{
		uintptr_t *sl = calloc(N, sizeof *sl);
		REQUIRE(sl);
		for (unsigned i = 0; i < N; i++)
			sl[i] = (uintptr_t)b[i] >> 21;
		for (unsigned i = 0; i < N; i++) {
			bool seen = false;
			for (unsigned j = 0; j < i && !seen; j++)
				seen = sl[j] == sl[i];
			slabs += !seen;
		}
		free(sl);
	}
	/* (one more: a cache refill may take a fresh slab's blocks) */
	CHECK(slabs <= slabs0 + 1);
#endif
	ravt_blockcache_clear(&cache);
	for (unsigned i = 0; i < N; i++)
		batch[i] = b[i];
	ravt_arena_free_batch(batch, N);
	m.cache = NULL;
	ravt_model_clear(&m);
	free(b);
	free(tag);
	free(batch);
}

/* More slabs than are mapped in line before the arena's filler starts
 * (replay-arena.c): the filler writes slabs ahead, timing each to choose
 * between huge pages and small ones (its first two are one of each), and
 * blocks from slabs of every kind hold what is written into them, also
 * after a round of releases hands the same slabs out again. */
static void test_arena_filler(void)
{
	enum { N = 8 * 3640, ROUNDS = 2 }; /* ~8 slabs of 2 MB */
	ravt_cellblock **b = calloc(N, sizeof *b);
	REQUIRE(b);
	for (unsigned r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < N; i++) {
			REQUIRE((b[i] = ravt_arena_alloc()));
			CHECK((uintptr_t)b[i] % 64 == 0);
			fill_block(b[i], (uint64_t)r * N + i);
			if (i == N / 2 && r == 0) {
				/* (the filler's timed slabs, written meanwhile) */
				struct timespec ts = {0, 100 * 1000 * 1000};
				nanosleep(&ts, NULL);
			}
		}
		for (unsigned i = 0; i < N; i++)
			CHECK(block_holds(b[i], (uint64_t)r * N + i));
		ravt_arena_free_batch((void *const *)b, N);
	}
	free(b);
}

/* Every heap is reset by each loss, also those touched only between two
 * losses and those untouched since the first (a loss resets the heaps
 * touched since the last one: the model's dirty list, hostile-gen
 * kf-lost-heaps), and a heap touched through a hand-off of a page. */
static void heaps_reset(rav_state *s, unsigned line)
{
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		rav_state_heap h;
		CHECK(rav_state_heap_at(s, i, &h));
		if (h.alive || h.in_flight || h.page_count || h.live_cells || h.ref_cells || h.dead_cells) {
			fprintf(stderr, "%s:%u: heap %u not reset by the loss (alive %d, in flight %d, %u pages, "
			        "%llu live)\n", __FILE__, line, h.id, h.alive, h.in_flight, h.page_count,
			        (unsigned long long)h.live_cells);
			tt_failures++;
		}
	}
}

static void test_losses(void)
{
	rav_state *s = fresh();
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 2, 0, 0, 2);
	OK(s, RAV_EV_HEAP_NEW, RAV_HEAP_MESSAGE, 9, 1, 0, 3);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, L(3, 0, 0), 0, 4);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_BUFFER, 9, L(8, 0, 0), 0, 5);
	OK(s, RAV_EV_ALLOC, 17, 0, L(3, 1, 0), 0, 0);
	OK(s, RAV_EV_MSG_SEND, 0, 9, 1, 1, 6);
	OK(s, RAV_EV_LOST, 0, 2, 10, 0, 7);
	CHECK_EQ(rav_state_heap_count(s), 3);
	heaps_reset(s, __LINE__);
	/* after the loss: heap 2 again with a page, handed to heap 1 (found,
	 * not created); message 9 sent again; then a second loss */
	OK(s, RAV_EV_THREAD_START, 0, 2, 0, 0, (2ull << 40) + 1);
	OK(s, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 2, L(5, 0, 0), 0, (2ull << 40) + 2);
	OK(s, RAV_EV_ALLOC, 17, 0, L(5, 1, 0), 0, 0);
	OK(s, RAV_EV_PAGE_HANDOFF, 0, 1, L(5, 0, 0), 2, (2ull << 40) + 3);
	OK(s, RAV_EV_MSG_SEND, 0, 9, 1, 1, (2ull << 40) + 4);
	rav_state_heap h;
	CHECK(rav_state_heap_at(s, 0, &h));
	CHECK_EQ(h.page_count, 1);
	CHECK_EQ(h.live_cells, 1);
	OK(s, RAV_EV_LOST, 0, 3, 20, 0, (2ull << 40) + 5);
	heaps_reset(s, __LINE__);
	/* a loss with nothing touched since the last, then one after only
	 * heap 9 was */
	OK(s, RAV_EV_LOST, 0, 4, 30, 0, (3ull << 40) + 1);
	heaps_reset(s, __LINE__);
	OK(s, RAV_EV_MSG_SEND, 0, 9, 1, 1, (4ull << 40) + 1);
	CHECK(rav_state_heap_at(s, 2, &h));
	CHECK(h.in_flight);
	OK(s, RAV_EV_LOST, 0, 5, 40, 0, (4ull << 40) + 2);
	heaps_reset(s, __LINE__);
	rav_state_free(s);
}

int main(void)
{
	test_arena_churn();
	test_arena_filler();
	test_alloc_store();
	test_free_move_fixup();
	test_reference_ravioli();
	test_pages_and_messages();
	test_losses();
	test_errors();
	test_history_filter_room();
	test_history_block_spread();
	test_history_marks();
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("replay-unit: all checks passed\n");
	return 0;
}
