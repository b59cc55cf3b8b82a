/* unit-messages.c - test-engine-unit's cases for messages: building,
 * sending, receiving, adopting.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"

/* ---- messages ---- */


typedef struct walk_count_t {
	uint64_t live, other;
} walk_count_t;

/* Cells that are objects (not headers, roots, holes). */
static bool count_live(rav_heap *hh, const rav_cell_info *info, void *user)
{
	walk_count_t *w = user;
	switch (info->type) {
	case RAV_TYPE_HEADER:
	case RAV_TYPE_ROOT:
	case RAV_TYPE_EMPTY:
	case RAV_TYPE_DEAD:
		w->other++;
		break;
	default:
		w->live++;
	}
	return true;
}

void t_messages(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_channel *ch = rav_channel_new();
	CHECK(ch != NULL);
	rav_root dst = rav_root_new(h);
	CHECK_STATUS(rav_try_recv(ch, h, dst), RAV_EAGAIN);

	/* Built directly in the message heap. */
	rav_msg *m = rav_msg_new();
	CHECK(m != NULL);
	rav_heap *mh = rav_msg_heap(m);
	CHECK(mh != NULL && mh != h);
	build_salted_list(mh, rav_msg_root(m), 500, 1000);
	CHECK_HEAP(mh);
	walk_count_t mw = { 0, 0 };
	rav_heap_walk(mh, NULL, count_live, &mw);
	CHECK_EQ(mw.live, stats(mh).live_cells);
	uint64_t received = stats(h).pages_received;
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_try_recv(ch, h, dst));
	CHECK(stats(h).pages_received > received);
	check_list(h, dst, 500, 1000);
	CHECK_EQ(live(h), base + 500);
	CHECK_HEAP(h);
	CHECK_STATUS(rav_try_recv(ch, h, dst), RAV_EAGAIN);
	CHECK(rav_root_is_set(h, dst)); /* a failed receive leaves dst alone */

	/* Built in the heap and adopted, then received over the old content. */
	rav_root src = rav_root_new(h);
	build_salted_list(h, src, 800, 5);
	m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, src));
	CHECK(!rav_root_is_set(h, src));
	CHECK_EQ(live(h), base + 500);
	CHECK_HEAP(h);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst)); /* drops the 500-list */
	check_list(h, dst, 800, 5);
	CHECK_EQ(live(h), base + 800);
	CHECK_HEAP(h);

	/* Several queued messages arrive in order. */
	for (int k = 0; k < 5; k++) {
		m = rav_msg_new();
		build_salted_list(rav_msg_heap(m), rav_msg_root(m), 10, (uintptr_t)k * 100);
		CHECK_OK(rav_send(ch, m));
	}
	for (int k = 0; k < 5; k++) {
		CHECK_OK(rav_recv(ch, h, dst));
		check_list(h, dst, 10, (uintptr_t)k * 100);
	}
	/* Buffer pages are never compacted while a message is built: a free
	 * there leaves a hole instead of moving the top cell into it. */
	m = rav_msg_new();
	mh = rav_msg_heap(m);
	rav_ref first, last;
	CHECK_OK(rav_new_root(mh, T_PAIR, rav_msg_root(m), &first));
	CHECK_OK(rav_new_field(mh, T_DATA, first, 0, NULL));
	CHECK_OK(rav_new_field(mh, T_DATA, first, 1, &last));
	rav_cell *where = last.cell;
	CHECK_OK(rav_clear_ref(mh, rav_root_get(mh, rav_msg_root(m)), 0));
	CHECK(rav_load_ref(mh, rav_root_get(mh, rav_msg_root(m)), 1).cell == where);
	CHECK(stats(mh).dead_cells >= 1);
	CHECK_HEAP(mh);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst)); /* the hole is compacted away on arrival */
	CHECK_EQ(stats(h).dead_cells, 0);
	CHECK_EQ(rav_type_of(h, rav_load_ref(h, rav_root_get(h, dst), 1)), T_DATA);
	CHECK_HEAP(h);

	/* Unsent messages are discarded whole. */
	m = rav_msg_new();
	build_salted_list(rav_msg_heap(m), rav_msg_root(m), 300, 0);
	rav_msg_free(m);

	rav_channel_close(ch);
	CHECK_STATUS(rav_recv(ch, h, dst), RAV_ECLOSED);
	rav_status st = rav_try_recv(ch, h, dst);
	CHECK(st == RAV_ECLOSED || st == RAV_EAGAIN);
	rav_channel_free(ch);
	rav_root_free(h, dst);
	rav_root_free(h, src);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

/* ---- adopting: pages change hands, or cells are copied ---- */

/* A tree of T_PAIR under `slot` built from its top down (the top cell is
 * the lowest), leaves T_DATA with f0 = salt + a running number. */
static void build_pair_tree(rav_heap *h, rav_ref parent, int field, int depth, uintptr_t *next)
{
	rav_ref n;
	if (depth == 0) {
		CHECK_OK(rav_new_field(h, T_DATA, parent, field, &n));
		rav_store(h, n, 0, (*next)++);
		return;
	}
	CHECK_OK(rav_new_field(h, T_PAIR, parent, field, &n));
	build_pair_tree(h, n, 0, depth - 1, next);
	build_pair_tree(h, n, 1, depth - 1, next);
}

static void build_pair_root(rav_heap *h, rav_root r, int depth, uintptr_t salt)
{
	rav_ref top;
	uintptr_t next = salt;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &top));
	build_pair_tree(h, top, 0, depth - 1, &next);
	build_pair_tree(h, top, 1, depth - 1, &next);
}

/* The leaves in order must be salt, salt + 1, ...; returns the cells. */
static uint64_t check_pair_tree(rav_heap *h, rav_ref n, uintptr_t *next)
{
	if (rav_type_of(h, n) == T_DATA) {
		CHECK_EQ(rav_load(h, n, 0), *next);
		(*next)++;
		return 1;
	}
	CHECK_EQ(rav_type_of(h, n), T_PAIR);
	return 1 + check_pair_tree(h, rav_load_ref(h, n, 0), next) + check_pair_tree(h, rav_load_ref(h, n, 1), next);
}

static void check_pair_root(rav_heap *h, rav_root r, int depth, uintptr_t salt)
{
	uintptr_t next = salt;
	CHECK_EQ(check_pair_tree(h, rav_root_get(h, r), &next), ((uint64_t)2 << (depth - 1)) * 2 - 1);
}

typedef struct adopt_peer {
	rav_channel *ch;
	int depth;
} adopt_peer;

/* A thread whose heap holds nothing but what it sends: every page goes,
 * the first one included, and the heap is used again afterwards. */
static void *adopt_sender(void *arg)
{
	adopt_peer *p = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	for (int round = 0; round < 3; round++) {
		build_pair_root(h, r, p->depth, (uintptr_t)round * 1000000);
		uint64_t pages = stats(h).pages;
		rav_msg *m = rav_msg_new();
		CHECK(m != NULL);
		CHECK_OK(rav_msg_adopt(m, h, r));
		CHECK(!rav_root_is_set(h, r));
		CHECK_EQ(stats(h).live_cells, 0);
		CHECK(stats(h).pages <= 1 && stats(h).pages < pages);
		CHECK_HEAP(h);
		CHECK_EQ(rav_heap_check(rav_msg_heap(m)), RAV_OK);
		CHECK_OK(rav_send(p->ch, m));
	}
	/* A list pushed at its head: its top cell is the highest, and it is
	 * still the top of the heap. */
	for (int i = 0; i < 1000; i++) {
		rav_ref n;
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(r), 1, &n));
		rav_store(h, n, 0, 999 - (uintptr_t)i);
	}
	uint64_t moves = stats(h).moves;
	rav_msg *m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, r));
	CHECK(stats(h).moves - moves < RAV_PAGE_CELLS);
	CHECK_EQ(stats(h).live_cells, 0);
	CHECK_HEAP(h);
	CHECK_OK(rav_send(p->ch, m));
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

void t_adopt_pages(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_channel *ch = rav_channel_new();
	CHECK(ch != NULL);
	rav_root dst = rav_root_new(h), keep = rav_root_new(h), src = rav_root_new(h), other = rav_root_new(h);

	adopt_peer peer = { ch, 11 };
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, adopt_sender, &peer), 0);
	for (int round = 0; round < 3; round++) {
		CHECK_OK(rav_recv(ch, h, dst));
		check_pair_root(h, dst, 11, (uintptr_t)round * 1000000);
		CHECK_HEAP(h);
	}
	CHECK_OK(rav_recv(ch, h, dst));
	check_list(h, dst, 1000, 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_OK(rav_root_clear(h, dst));
	CHECK_EQ(live(h), base);

	/* Partly on a page with other cells below: those stay; what arrived
	 * is at the top and goes on again. */
	build_salted_list(h, keep, 50, 7);
	build_pair_root(h, src, 9, 100);
	uint64_t before = live(h);
	rav_msg *m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, src));
	CHECK_EQ(live(h), before - 1023);
	CHECK_HEAP(h);
	/* Such a message's image reads back (its pages but the top one are
	 * full: the last handed page's tail is holes). */
	char path[] = "/tmp/rav-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	CHECK_OK(rav_serialize_msg(m, fd, 0));
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK_OK(rav_deserialize(h, fd, other));
	close(fd);
	check_pair_root(h, other, 9, 100);
	CHECK_OK(rav_root_clear(h, other));
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, src));
	check_pair_root(h, src, 9, 100);
	m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, src));
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, src));
	check_pair_root(h, src, 9, 100);
	check_list(h, keep, 50, 7);
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, src));

	/* A cell of another root among the structure's cells: the top region
	 * of the structure's size is not the structure, so it is copied. */
	rav_ref top, n;
	CHECK_OK(rav_new_root(h, T_NODE, src, &top));
	rav_store(h, top, 0, 0);
	CHECK_OK(rav_new_root(h, T_DATA, other, &n));
	rav_store(h, n, 0, 4242);
	rav_ref cur = top;
	for (uintptr_t i = 1; i < 300; i++) {
		CHECK_OK(rav_new_field(h, T_NODE, cur, 1, &cur));
		rav_store(h, cur, 0, i);
	}
	m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, src));
	CHECK_EQ(rav_load(h, rav_root_get(h, other), 0), 4242);
	CHECK_HEAP(h);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, src));
	check_list(h, src, 300, 0);
	CHECK_OK(rav_root_clear(h, src));
	CHECK_OK(rav_root_clear(h, other));

	/* A garbage cycle (two cells referring to each other, no root) among
	 * the structure's cells stays in the heap: only the structure goes. */
	rav_root cyc = rav_root_new(h);
	CHECK_OK(rav_new_root(h, T_NODE, src, &top));
	rav_store(h, top, 0, 0);
	rav_ref a, b;
	CHECK_OK(rav_new_root(h, T_PAIR, cyc, &a));
	CHECK_OK(rav_new_field(h, T_PAIR, a, 0, &b));
	CHECK_OK(rav_store_ref(h, b, 0, a));
	CHECK_OK(rav_root_clear(h, cyc)); /* a and b now only refer to each other */
	rav_root_free(h, cyc);
	uint64_t with_cycle = live(h);
	cur = rav_root_get(h, src);
	for (uintptr_t i = 1; i < 200; i++) {
		CHECK_OK(rav_new_field(h, T_NODE, cur, 1, &cur));
		rav_store(h, cur, 0, i);
	}
	m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, src));
	CHECK_EQ(live(h), with_cycle - 1);
	CHECK_HEAP(h);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, src));
	check_list(h, src, 200, 0);
	CHECK_OK(rav_root_clear(h, src));
	CHECK(rav_collect(h) >= 2);

	/* A deep left spine with a leaf on every right: the copy's walk goes
	 * as deep as the first pass's (its stack grows in the first pass),
	 * not at the top (a cell after it) and at the top. */
	for (int at_top = 0; at_top < 2; at_top++) {
		CHECK_OK(rav_new_root(h, T_PAIR, src, &cur));
		for (uintptr_t i = 0; i < 3000; i++) {
			CHECK_OK(rav_new_field(h, T_DATA, cur, 1, &n));
			rav_store(h, n, 0, i);
			CHECK_OK(rav_new_field(h, T_PAIR, cur, 0, &cur));
		}
		if (!at_top)
			CHECK_OK(rav_new_root(h, T_DATA, other, NULL));
		m = rav_msg_new();
		CHECK_OK(rav_msg_adopt(m, h, src));
		CHECK_HEAP(h);
		CHECK_OK(rav_send(ch, m));
		CHECK_OK(rav_recv(ch, h, src));
		cur = rav_root_get(h, src);
		for (uintptr_t i = 0; i < 3000; i++) {
			CHECK_EQ(rav_load(h, rav_load_ref(h, cur, 1), 0), i);
			cur = rav_load_ref(h, cur, 0);
		}
		CHECK_OK(rav_root_clear(h, src));
		CHECK_OK(rav_root_clear(h, other));
	}

	rav_root_free(h, other);
	rav_root_free(h, src);
	rav_root_free(h, keep);
	rav_root_free(h, dst);
	rav_channel_free(ch);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

/* A thread heap's top page may be dirty (PAGE_DIRTY, engine/rav-private.h):
 * a page that came back from a dropped structure is taken as the top page
 * without zeroing it, and its cells above the top keep old contents until
 * allocations overwrite them.  The heap check, a message's hand-off
 * (rav_msg_adopt) and arrival (rav_recv) must see the heap as before, at
 * every fill of such a page: old contents never show up as cells. */
void t_dirty_top(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_channel *ch = rav_channel_new();
	CHECK(ch != NULL);
	rav_root junk = rav_root_new(h), keep = rav_root_new(h), src = rav_root_new(h), dst = rav_root_new(h);
	for (int round = 0; round < 6; round++) {
		/* Pages full of old cells (a pair tree: every word non-zero), back
		 * in the thread's cache and as the spare, dirty. */
		build_pair_root(h, junk, 12, 77);
		CHECK_OK(rav_root_clear(h, junk));
		CHECK_HEAP(h);
		/* Fill the next pages to a different point each round: the top
		 * page is one of those pages, partly filled. */
		size_t n = (size_t)round * 37 + 3 * RAV_PAGE_CELLS / 2;
		build_salted_list(h, keep, n, (uintptr_t)round);
		CHECK_HEAP(h);
		/* Hand a structure at the top to a message and back. */
		build_pair_root(h, src, 5 + round, (uintptr_t)round * 1000);
		CHECK_HEAP(h);
		rav_msg *m = rav_msg_new();
		CHECK(m != NULL);
		CHECK_OK(rav_msg_adopt(m, h, src));
		CHECK_HEAP(h);
		CHECK_OK(rav_send(ch, m));
		/* Arrival into a heap whose top page is dirty again. */
		build_pair_root(h, junk, 11, 5);
		CHECK_OK(rav_root_clear(h, junk));
		build_salted_list(h, dst, (size_t)round * 11 + 5, 99);
		CHECK_OK(rav_recv(ch, h, src));
		CHECK_HEAP(h);
		check_pair_root(h, src, 5 + round, (uintptr_t)round * 1000);
		check_list(h, dst, (size_t)round * 11 + 5, 99);
		check_list(h, keep, n, (uintptr_t)round);
		/* Deferred mode on such a page: holes, then allocations and a
		 * compaction. */
		rav_set_free_mode(h, RAV_FREE_DEFERRED);
		CHECK_OK(rav_root_clear(h, keep));
		build_salted_list(h, keep, 40, 3);
		(void)rav_compact(h, 0);
		rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
		CHECK_HEAP(h);
		check_list(h, keep, 40, 3);
		CHECK_OK(rav_root_clear(h, keep));
		CHECK_OK(rav_root_clear(h, src));
		CHECK_OK(rav_root_clear(h, dst));
		CHECK_HEAP(h);
	}
	rav_root_free(h, junk);
	rav_root_free(h, keep);
	rav_root_free(h, src);
	rav_root_free(h, dst);
	rav_channel_free(ch);
	CHECK_EQ(live(h), base);
}

/* A small message arriving into a heap whose top page is partly filled
 * (eng16): the arrival takes whichever layout moves fewer cells, and for
 * a message of a few cells that is its own cells filling the top page's
 * tail, not the receiver's cells on that page moving after them.  (The
 * choice compared the receiver's cells with the tail's size, as if the
 * tail were filled whole: a 3-cell message into a top page of 60 cells
 * moved 60.)  In a thread of its own, so the heap's layout is known. */
typedef struct arrive_peer {
	rav_channel *ch;
	size_t keep, sizes[3];
} arrive_peer;

static void *arrive_receiver(void *arg)
{
	arrive_peer *p = arg;
	rav_heap *h = rav_heap_self();
	rav_root keep = rav_root_new(h), dst = rav_root_new(h);
	build_salted_list(h, keep, p->keep, 3);
	CHECK_EQ(stats(h).pages, 1);
	for (int k = 0; k < 3; k++) {
		size_t n = p->sizes[k];
		uint64_t moves = stats(h).moves;
		CHECK_OK(rav_recv(p->ch, h, dst));
		uint64_t moved = stats(h).moves - moves;
		/* the cheaper layout: the message's cells into the tail, or the
		 * receiver's (keep) after them; one move more at most for the
		 * message's root cell, which becomes a hole */
		uint64_t mine = live(h) - n;
		uint64_t cheaper = n < mine ? n : mine;
		CHECK(moved <= cheaper + 1);
		if (n < 128) {
			/* one page, fewer cells than the tail and than the
			 * receiver's: they move in, and the arrived page goes
			 * back (filling the tail linked it, made every empty
			 * cell of the tail a hole and kept the emptied page as
			 * the spare: 2 pages) */
			CHECK_EQ(stats(h).pages, 1);
		}
		check_list(h, dst, n, 100 * (uintptr_t)k);
		check_list(h, keep, p->keep, 3);
		CHECK_HEAP(h);
	}
	CHECK_OK(rav_root_clear(h, dst));
	rav_root_free(h, keep);
	rav_root_free(h, dst);
	rav_thread_exit();
	return NULL;
}

void t_arrive_small(void)
{
	/* 60 kept cells on the receiver's only page (tail: 67 cells); then 3
	 * cells (fill the tail: 3 moves, not 60), 2 more (the dropped list's
	 * holes are filled first), and 540 (evacuating the page is cheaper: 60 moves against 67) */
	arrive_peer p = { rav_channel_new(), 60, { 3, 2, 540 } };
	CHECK(p.ch != NULL);
	for (int k = 0; k < 3; k++) {
		rav_msg *m = rav_msg_new();
		CHECK(m != NULL);
		build_salted_list(rav_msg_heap(m), rav_msg_root(m), p.sizes[k], 100 * (uintptr_t)k);
		CHECK_OK(rav_send(p.ch, m));
	}
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, arrive_receiver, &p), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	rav_channel_free(p.ch);
}

/* A small subtree alone on the sender's top page is moved into the message
 * cell by cell, not handed with its page: handing the page made each of
 * its empty cells a hole of the message (126 for one cell), each stored,
 * recorded, and trimmed again at arrival.  A subtree filling more than two
 * thirds of the page still goes with it.  In a thread of its own, so the heap's
 * layout is known (its cells start at the top page's first slot). */
static void *adopt_small_sender(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	rav_root src = rav_root_new(h);
	/* moved while the page would be at most two thirds full */
	const size_t most = 2 * (RAV_PAGE_CELLS - 1) / 3, sizes[] = { 1, most, most + 1, 2 };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		build_salted_list(h, src, n, 7 + k);
		rav_stats before = stats(h);
		rav_msg *m = rav_msg_new();
		CHECK(m != NULL);
		CHECK_OK(rav_msg_adopt(m, h, src));
		rav_stats after = stats(h), ms = stats(rav_msg_heap(m));
		if (n <= most) {
			CHECK_EQ(after.moves - before.moves, n);
			CHECK_EQ(ms.pages, 1);
			CHECK_EQ(ms.dead_cells, 0);
		} else {
			CHECK_EQ(after.moves, before.moves);
			CHECK_EQ(ms.pages, 2);
		}
		CHECK_EQ(after.live_cells, before.live_cells - n);
		CHECK_HEAP(h);
		CHECK_HEAP(rav_msg_heap(m));
		check_list(rav_msg_heap(m), rav_msg_root(m), n, 7 + k);
		rav_msg_free(m);
	}
	rav_root_free(h, src);
	rav_thread_exit();
	return NULL;
}

void t_adopt_small(void)
{
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, adopt_small_sender, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
}
