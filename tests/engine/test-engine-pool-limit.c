/* test-engine-pool-limit.c - a full page pool is an error code, never an abort.
 *
 * rav_init is process-wide and must come before any heap exists, so this
 * test is its own executable: it configures a pool of a few pages, fills it
 * through every path that takes pages (heap growth, roots, messages,
 * vectors), checks each reports RAV_ENOMEM with a message and leaves the
 * heap consistent, then frees and checks the pages come back for reuse.
 */
#include <pthread.h>

#include "rav-test.h"

enum { LIMIT = 32 };

static rav_type T_NODE;

/* Receiving into a root that holds something, with the pool exhausted and
 * no root slot left: the arrival needs no slot of its own (it used to need
 * a scratch root, and when that could not be had it overwrote the
 * destination and lost what it held, returning RAV_OK).  A fresh thread,
 * so its heap has no scratch root yet. */
static void *receive_when_full(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	CHECK(h != NULL);
	rav_channel *ch = rav_channel_new();
	rav_msg *m = rav_msg_new();
	CHECK(ch && m);
	rav_heap *mh = rav_msg_heap(m);
	rav_ref cur;
	CHECK_OK(rav_new_root(mh, T_NODE, rav_msg_root(m), &cur));
	for (uintptr_t i = 0; i < 300; i++) {
		rav_store(mh, cur, 0, i);
		if (i < 299)
			CHECK_OK(rav_new_field(mh, T_NODE, cur, 1, &cur));
	}
	CHECK_OK(rav_send(ch, m));
	rav_root dst = rav_root_new(h), filler = rav_root_new(h);
	CHECK(dst && filler);
	CHECK_OK(rav_new_root(h, T_NODE, dst, NULL));
	/* Fill the pool, then take every root slot there is. */
	rav_status st = rav_new_root(h, T_NODE, filler, &cur);
	size_t filled = 1;
	while (st == RAV_OK && (st = rav_new_field(h, T_NODE, cur, 1, &cur)) == RAV_OK)
		filled++;
	CHECK_STATUS(st, RAV_ENOMEM);
	rav_root slots[3 * RAV_PAGE_CELLS];
	size_t nslots = 0;
	while (nslots < sizeof slots / sizeof slots[0] && (slots[nslots] = rav_root_new(h)) != NULL)
		nslots++;
	CHECK(nslots < sizeof slots / sizeof slots[0]); /* ran out */
	rav_stats s0;
	rav_heap_stats(h, &s0);
	printf("# full pool: %zu filler cells, %zu more roots, then a receive into a set root\n", filled, nslots);
	CHECK_OK(rav_recv(ch, h, dst));
	CHECK_HEAP(h);
	rav_stats s1;
	rav_heap_stats(h, &s1);
	CHECK_EQ(s1.live_cells, s0.live_cells - 1 + 300); /* the old value went, the list came */
	cur = rav_root_get(h, dst);
	for (uintptr_t i = 0; i < 300; i++) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
	for (size_t i = 0; i < nslots; i++)
		rav_root_free(h, slots[i]);
	rav_root_free(h, filler);
	rav_root_free(h, dst);
	CHECK_HEAP(h);
	rav_channel_free(ch);
	rav_thread_exit();
	return NULL;
}

/* A list of n nodes (values first, first + 1, ...) at root r of heap h. */
static void list_at(rav_heap *h, rav_root r, size_t n, uintptr_t first)
{
	rav_ref cur;
	CHECK_OK(rav_new_root(h, T_NODE, r, &cur));
	rav_store(h, cur, 0, first);
	for (size_t i = 1; i < n; i++) {
		CHECK_OK(rav_new_field(h, T_NODE, cur, 1, &cur));
		rav_store(h, cur, 0, first + i);
	}
}

static void list_check(rav_heap *h, rav_ref cur, size_t n, uintptr_t first)
{
	for (size_t i = 0; i < n; i++) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_load(h, cur, 0), first + i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
}

/* rav_msg_adopt of a structure at the top of the heap whose lowest page's
 * part (125 cells) must move into the message one by one, with the pool
 * exhausted and the message holding room for fewer (the tail of its
 * page, and its holes if it has any): RAV_ENOMEM, both heaps as they were, the cells it had taken
 * given back (un-bumped, or back on the message's hole list); recorded,
 * the trace still replays (engine-pool-limit-traced).  Once pages come
 * back the same adoption hands the pages and the message arrives whole. */
static void *adopt_when_full(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	CHECK(h != NULL);
	rav_root keep = rav_root_new(h), sub = rav_root_new(h), dst = rav_root_new(h);
	CHECK(keep && sub && dst);
	list_at(h, keep, 2, 1000);
	list_at(h, sub, 300, 0); /* cells 3..127 of the first page, then two more pages */
	rav_msg *m = rav_msg_new(), *filler = rav_msg_new();
	CHECK(m && filler);
	rav_heap *mh = rav_msg_heap(m);
	list_at(mh, rav_msg_root(m), 50, 5000);
	list_at(mh, rav_msg_root(m), 50, 6000); /* (the first list is dropped) */
	rav_heap *fh = rav_msg_heap(filler);
	rav_ref x;
	rav_status st = rav_new_root(fh, T_NODE, rav_msg_root(filler), &x);
	while (st == RAV_OK)
		st = rav_new_field(fh, T_NODE, x, 1, &x);
	CHECK_STATUS(st, RAV_ENOMEM);
	rav_stats hs0, ms0, hs1, ms1;
	rav_heap_stats(h, &hs0);
	rav_heap_stats(mh, &ms0);
	CHECK_STATUS(rav_msg_adopt(m, h, sub), RAV_ENOMEM);
	CHECK(strstr(rav_last_error(), "no page for the message") != NULL); /* the pages way's room */
	printf("# adopt with a full pool: RAV_ENOMEM, the message had %llu holes\n",
	       (unsigned long long)ms0.dead_cells);
	rav_heap_stats(h, &hs1);
	rav_heap_stats(mh, &ms1);
	CHECK_EQ(hs1.live_cells, hs0.live_cells);
	CHECK_EQ(hs1.pages, hs0.pages);
	CHECK_EQ(ms1.live_cells, ms0.live_cells);
	CHECK_HEAP(h);
	CHECK_OK(rav_heap_check(mh));
	list_check(h, rav_root_get(h, sub), 300, 0);
	list_check(h, rav_root_get(h, keep), 2, 1000);
	list_check(mh, rav_root_get(mh, rav_msg_root(m)), 50, 6000);
	rav_msg_free(filler);
	CHECK_OK(rav_msg_adopt(m, h, sub));
	CHECK(rav_ref_is_null(rav_root_get(h, sub)));
	CHECK_HEAP(h);
	CHECK_OK(rav_heap_check(mh));
	rav_channel *ch = rav_channel_new();
	CHECK(ch != NULL);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst));
	list_check(h, rav_root_get(h, dst), 300, 0);
	list_check(h, rav_root_get(h, keep), 2, 1000);
	CHECK_HEAP(h);
	rav_channel_free(ch);
	rav_root_free(h, dst);
	rav_root_free(h, sub);
	rav_root_free(h, keep);
	rav_thread_exit();
	return NULL;
}

int main(void)
{
	rav_config cfg = { .pool_limit_pages = LIMIT, .pool_hot_pages = 2 };
	CHECK_OK(rav_init(&cfg));
	T_NODE = rav_type_register("limit.node", RAV_DATA, RAV_REF);
	CHECK(T_NODE != 0);

	rav_heap *h = rav_heap_self();
	CHECK(h != NULL);
	CHECK_STATUS(rav_init(&cfg), RAV_ESTATE); /* too late now */
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	CHECK_EQ(ps.limit_pages, LIMIT);

	/* Grow a list until the pool runs dry. */
	rav_root r = rav_root_new(h);
	CHECK(r != NULL);
	rav_ref cur;
	CHECK_OK(rav_new_root(h, T_NODE, r, &cur));
	size_t n = 1;
	rav_status st;
	for (;;) {
		st = rav_new_field(h, T_NODE, cur, 1, &cur);
		if (st != RAV_OK)
			break;
		n++;
		CHECK(n < (size_t)LIMIT * RAV_PAGE_CELLS);
	}
	CHECK_STATUS(st, RAV_ENOMEM);
	CHECK(strstr(rav_last_error(), "RAV_ENOMEM") != NULL || strlen(rav_last_error()) > 0);
	printf("# %zu cells before RAV_ENOMEM: %s\n", n, rav_last_error());
	CHECK(n >= (size_t)(LIMIT - 4) * (RAV_PAGE_CELLS - 1) / 2);
	CHECK_HEAP(h);
	rav_stats s;
	rav_heap_stats(h, &s);
	CHECK_EQ(s.live_cells, n);

	/* Other allocation paths fail the same way (or succeed from slack). */
	rav_root more = rav_root_new(h);
	if (more != NULL) {
		st = rav_vec_new_root(h, more, false);
		if (st == RAV_OK) {
			rav_ref v = rav_root_get(h, more);
			for (int i = 0; i < 100000 && st == RAV_OK; i++)
				st = rav_vec_push(h, v, (uintptr_t)i);
			CHECK_STATUS(st, RAV_ENOMEM);
			CHECK_HEAP(h);
		} else {
			CHECK_STATUS(st, RAV_ENOMEM);
		}
		rav_msg *m = rav_msg_new();
		if (m != NULL) {
			rav_ref x;
			rav_heap *mh = rav_msg_heap(m);
			st = rav_new_root(mh, T_NODE, rav_msg_root(m), &x);
			while (st == RAV_OK)
				st = rav_new_field(mh, T_NODE, x, 1, &x);
			CHECK_STATUS(st, RAV_ENOMEM);
			rav_msg_free(m);
		}
		rav_root_free(h, more);
	}

	/* A reference vector filled until the pool runs dry stays consistent
	 * whichever allocation fails (tree path, new root, reference raviolo):
	 * a filler list shifts the failure point one cell at a time, across
	 * the push that grows the tree from 1024 to 1025 elements (each element
	 * costs about two cells: its share of the tree and a reference raviolo). */
	CHECK_OK(rav_root_clear(h, r));
	rav_root target = rav_root_new(h), rv = rav_root_new(h), filler = rav_root_new(h);
	CHECK(target != NULL && rv != NULL && filler != NULL);
	size_t around = n > 2 * 1024 + 64 ? n - 2 * 1024 - 32 : 1;
	for (size_t shift = 0; shift < 80; shift++) {
		size_t fill = shift == 0 ? 0 : around + shift;
		if (fill > 0) {
			rav_ref f;
			CHECK_OK(rav_new_root(h, T_NODE, filler, &f));
			for (size_t i = 1; i < fill; i++)
				CHECK_OK(rav_new_field(h, T_NODE, f, 1, &f));
		}
		CHECK_OK(rav_new_root(h, T_NODE, target, NULL));
		CHECK_OK(rav_vec_new_root(h, rv, true));
		size_t pushed = 0;
		for (;;) {
			st = rav_vec_push_ref(h, rav_root_get(h, rv), rav_root_get(h, target));
			if (st != RAV_OK)
				break;
			pushed++;
		}
		CHECK_STATUS(st, RAV_ENOMEM);
		CHECK_HEAP(h);
		rav_ref vec = rav_root_get(h, rv);
		CHECK_EQ(rav_vec_len(h, vec), pushed);
		for (size_t i = 0; i < pushed; i++)
			CHECK(rav_vec_get_ref(h, vec, i).cell == rav_root_get(h, target).cell);
		/* Popping all of it back works too. */
		for (size_t i = 0; i < pushed; i++)
			CHECK_OK(rav_vec_pop(h, rav_root_get(h, rv), NULL));
		CHECK_HEAP(h);
		CHECK_OK(rav_root_clear(h, rv));
		CHECK_OK(rav_root_clear(h, target));
		CHECK_OK(rav_root_clear(h, filler));
		if (shift == 0)
			printf("# %zu references pushed before RAV_ENOMEM\n", pushed);
	}
	rav_root_free(h, rv);
	rav_root_free(h, target);
	rav_root_free(h, filler);
	CHECK_HEAP(h);

	/* Freeing gives the pages back; the same work then succeeds again. */
	CHECK_OK(rav_root_clear(h, r));
	CHECK_HEAP(h);
	CHECK_OK(rav_new_root(h, T_NODE, r, &cur));
	for (size_t i = 1; i < n / 2; i++)
		CHECK_OK(rav_new_field(h, T_NODE, cur, 1, &cur));
	CHECK_HEAP(h);
	rav_root_free(h, r);
	CHECK_HEAP(h);

	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, receive_when_full, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(pthread_create(&th, NULL, adopt_when_full, NULL), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	rav_thread_exit();
	printf("ok pool-limit\n");
	return 0;
}
