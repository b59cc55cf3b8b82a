/* test-engine-free.c - the life of a free (engine/free.c) and what came
 * with making it fast (issue #9), through ravioli.h.
 *
 * Each case checks counters the engine keeps (moves, frees, pages) against
 * what the model says an operation must cost, so a regression to moving
 * cells that are about to be trimmed, or to a lost referrer in the
 * cascade, fails here rather than as a slower benchmark.  Every case ends
 * with the full invariant check and leaves the heap as it found it.
 */
#include <pthread.h>

#include "rav-test.h"

static rav_type T_NODE; /* f0 data, f1 ref */
static rav_type T_PAIR; /* f0 ref, f1 ref */

static rav_stats stats(rav_heap *h)
{
	rav_stats s;
	rav_heap_stats(h, &s);
	return s;
}

static void build_list(rav_heap *h, rav_root r, size_t n)
{
	rav_ref cur;
	CHECK_OK(rav_new_root(h, T_NODE, r, &cur));
	for (size_t i = 1; i < n; i++) {
		rav_store(h, cur, 0, i - 1);
		CHECK_OK(rav_new_field(h, T_NODE, cur, 1, &cur));
	}
	rav_store(h, cur, 0, n - 1);
}

static void build_tree(rav_heap *h, rav_ref parent, int depth)
{
	for (int f = 0; f < 2; f++) {
		rav_ref c;
		CHECK_OK(rav_new_field(h, T_PAIR, parent, f, &c));
		if (depth > 1)
			build_tree(h, c, depth - 1);
	}
}

static void check_list(rav_heap *h, rav_root r, size_t n)
{
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
}

/* Freeing the structure allocated last truncates the heap: no cell moves,
 * and the pages it filled go back (one spare kept). */
static void t_truncate(void)
{
	rav_heap *h = rav_heap_self();
	rav_stats s0 = stats(h);
	rav_root keep = rav_root_new(h), r = rav_root_new(h);
	build_list(h, keep, 100);
	rav_ref t;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 14); /* 32767 cells */
	rav_stats s1 = stats(h);
	CHECK_OK(rav_root_clear(h, r));
	rav_stats s2 = stats(h);
	CHECK_EQ(s2.moves, s1.moves);
	CHECK_EQ(s2.frees - s1.frees, 32767);
	CHECK(s2.pages <= s0.pages + 2); /* the list's page and the spare */
	check_list(h, keep, 100);
	CHECK_HEAP(h);

	/* Below a few cells allocated after it: those few move, once each
	 * (into the lowest holes), and the rest is trimmed. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 12); /* 8191 cells */
	rav_root late = rav_root_new(h);
	build_list(h, late, 10);
	s1 = stats(h);
	CHECK_OK(rav_root_clear(h, r));
	s2 = stats(h);
	printf("# tree of 8191 under 10 later cells: %" PRIu64 " moves\n", s2.moves - s1.moves);
	CHECK_EQ(s2.moves - s1.moves, 10);
	check_list(h, late, 10);
	check_list(h, keep, 100);
	CHECK_HEAP(h);

	/* The same in deferred mode, compacted in bounded steps (a structure
	 * within the 64 pages a bounded step looks at: 4095 cells). */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 11);
	rav_root late2 = rav_root_new(h);
	build_list(h, late2, 10);
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	s1 = stats(h);
	CHECK_OK(rav_root_clear(h, r));
	size_t steps = 0;
	while (rav_compact(h, 3) > 0)
		CHECK(++steps < 100000);
	s2 = stats(h);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	CHECK_EQ(s2.moves - s1.moves, 10);
	check_list(h, late2, 10);
	CHECK_HEAP(h);

	rav_root_free(h, late2);
	rav_root_free(h, late);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, s0.live_cells);
	CHECK_HEAP(h);
}

/* A cell shared through reference ravioli by cells that die together: the
 * cascade must splice each reference raviolo out once, and free the
 * shared cell exactly when its last referrer dies. */
static void t_shared_children(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	for (int survivors = 0; survivors <= 2; survivors++) {
		for (int sharers = 1; sharers <= 9; sharers++) {
			rav_root r = rav_root_new(h), target = rav_root_new(h), extra[2];
			extra[0] = rav_root_new(h);
			extra[1] = rav_root_new(h);
			rav_ref shared;
			CHECK_OK(rav_new_root(h, T_NODE, target, &shared));
			rav_store(h, shared, 0, 4242);
			/* A chain of pairs through field 0; every link's field 1
			 * refers to the shared cell (through reference ravioli). */
			rav_ref link;
			CHECK_OK(rav_new_root(h, T_PAIR, r, &link));
			CHECK_OK(rav_store_ref(h, link, 1, rav_root_get(h, target)));
			for (int k = 1; k < sharers; k++) {
				link = rav_load_ref(h, link, 0); /* nothing freed since: still valid */
				CHECK(rav_ref_is_null(link));
				link = rav_root_get(h, r);
				for (rav_ref next; !rav_ref_is_null(next = rav_load_ref(h, link, 0));)
					link = next;
				CHECK_OK(rav_new_field(h, T_PAIR, link, 0, &link));
				CHECK_OK(rav_store_ref(h, link, 1, rav_root_get(h, target)));
			}
			for (int k = 0; k < survivors; k++)
				CHECK_OK(rav_root_set(h, extra[k], rav_root_get(h, target)));
			CHECK_OK(rav_root_clear(h, target));
			CHECK_HEAP(h);
			CHECK_OK(rav_root_clear(h, r)); /* the chain and, without survivors, the shared cell */
			CHECK_HEAP(h);
			uint64_t left = stats(h).live_cells - base;
			printf("# %d sharers, %d survivors: %" PRIu64 " cells left\n", sharers, survivors, left);
			if (survivors > 0) {
				for (int k = 0; k < survivors; k++)
					CHECK_EQ(rav_load(h, rav_root_get(h, extra[k]), 0), 4242);
				CHECK_EQ(left, (uint64_t)survivors); /* the cell, and a reference raviolo for two */
			} else {
				CHECK_EQ(left, 0);
			}
			rav_root_free(h, extra[0]);
			rav_root_free(h, extra[1]);
			rav_root_free(h, target);
			rav_root_free(h, r);
			CHECK_EQ(stats(h).live_cells, base);
			CHECK_HEAP(h);
		}
	}
	/* Two structures dying in one cascade that both hold the same deep
	 * reference tree: a balanced tree of pairs whose every leaf refers to
	 * one cell. */
	rav_root r = rav_root_new(h), target = rav_root_new(h);
	rav_ref t;
	CHECK_OK(rav_new_root(h, T_NODE, target, NULL));
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 6);
	/* every node's free fields: walk breadth-first with the borrows valid (no frees) */
	rav_ref queue[256];
	size_t qh = 0, qt = 0, shared = 0;
	queue[qt++] = rav_root_get(h, r);
	while (qh < qt) {
		rav_ref c = queue[qh++];
		for (int f = 0; f < 2; f++) {
			rav_ref ch = rav_load_ref(h, c, f);
			if (!rav_ref_is_null(ch) && qt < 256)
				queue[qt++] = ch;
		}
	}
	/* Leaves (depth 6) have two empty fields: fill them all with the target. */
	for (size_t i = 0; i < qt; i++)
		for (int f = 0; f < 2; f++)
			if (rav_ref_is_null(rav_load_ref(h, queue[i], f))) {
				CHECK_OK(rav_store_ref(h, queue[i], f, rav_root_get(h, target)));
				shared++;
			}
	printf("# %zu referrers of one cell inside one tree\n", shared);
	CHECK(shared >= 64);
	CHECK_OK(rav_root_clear(h, target));
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, r));
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
	rav_root_free(h, target);
	rav_root_free(h, r);
}

/* rav_new_before: a push that frees nothing and moves nothing. */
static void t_new_before(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root r = rav_root_new(h);
	rav_ref first;
	CHECK_OK(rav_new_root(h, T_NODE, r, &first));
	rav_store(h, first, 0, 99);
	uint64_t moves = stats(h).moves, frees = stats(h).frees;
	for (uintptr_t i = 100; i-- > 0;) {
		rav_ref n;
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(r), 1, &n));
		rav_store(h, n, 0, i);
		CHECK(rav_heap_gen(h) == n.gen); /* nothing freed: borrows stay valid */
	}
	/* 0..99 pushed in front of the old head (which held 99): 0..99, 99 */
	rav_ref cur = rav_root_get(h, r);
	for (uintptr_t i = 0; i < 100; i++) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK_EQ(rav_load(h, cur, 0), 99);
	CHECK_EQ(stats(h).moves, moves);
	CHECK_EQ(stats(h).frees, frees);
	/* Into a field in the middle of the list, and into an empty slot. */
	rav_ref second = rav_load_ref(h, rav_root_get(h, r), 1);
	rav_ref mid;
	CHECK_OK(rav_new_before(h, T_NODE, rav_field_slot(second, 1), 1, &mid));
	rav_store(h, mid, 0, 1000);
	CHECK_EQ(rav_load(h, rav_load_ref(h, mid, 1), 0), 2);
	rav_root e = rav_root_new(h);
	CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(e), 1, NULL));
	CHECK(rav_ref_is_null(rav_load_ref(h, rav_root_get(h, e), 1)));
	/* Errors: a data field, a reserved type. */
	CHECK_STATUS(rav_new_before(h, T_NODE, rav_root_slot(e), 0, NULL), RAV_ETYPE);
	CHECK_STATUS(rav_new_before(h, RAV_TYPE_REF, rav_root_slot(e), 0, NULL), RAV_ETYPE);
	CHECK_HEAP(h);
	rav_root_free(h, e);
	rav_root_free(h, r);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* Deferred mode: a freed leaf is a hole at once, and the next allocation
 * reuses it (no move); structures with children wait for rav_compact. */
static void t_deferred_leaves(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root lists[16], scratch = rav_root_new(h);
	for (int i = 0; i < 16; i++) {
		lists[i] = rav_root_new(h);
		build_list(h, lists[i], 50);
	}
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	rav_stats s0 = stats(h);
	rav_rng rng = { 7 };
	for (int step = 0; step < 2000; step++) {
		rav_root b = lists[rav_rng_below(&rng, 16)];
		rav_ref head = rav_root_get(h, b);
		if (!rav_ref_is_null(head))
			CHECK_OK(rav_move(h, rav_root_slot(b), rav_field_slot(head, 1)));
		CHECK(stats(h).dead_cells <= 1);
		rav_ref n;
		rav_root to = lists[rav_rng_below(&rng, 16)];
		CHECK_OK(rav_new_root(h, T_NODE, scratch, &n));
		CHECK_OK(rav_move(h, rav_field_slot(n, 1), rav_root_slot(to)));
		CHECK_OK(rav_move(h, rav_root_slot(to), rav_root_slot(scratch)));
		CHECK_EQ(stats(h).dead_cells, 0); /* the hole was reused */
	}
	rav_stats s1 = stats(h);
	CHECK_EQ(s1.moves, s0.moves);
	CHECK_HEAP(h);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	for (int i = 0; i < 16; i++)
		rav_root_free(h, lists[i]);
	rav_root_free(h, scratch);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* A list pop by rav_move (the commonest free): in immediate mode the top
 * cell moves straight into the popped head (one move, or none when the
 * head is the top cell); in deferred mode the head is a hole that
 * rav_new_before fills (no move).  The lists stay intact either way, and
 * with recording on (engine-free-traced) the replay must see each move. */
static void t_pop_push(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	enum { LISTS = 8, LEN = 40 };
	rav_root lists[LISTS];
	size_t len[LISTS];
	for (int i = 0; i < LISTS; i++) {
		lists[i] = rav_root_new(h);
		build_list(h, lists[i], LEN);
		len[i] = LEN;
	}
	rav_rng rng = { 11 };
	uint64_t moved = 0;
	for (int deferred = 0; deferred < 2; deferred++) {
		if (deferred)
			rav_set_free_mode(h, RAV_FREE_DEFERRED);
		for (int step = 0; step < 600; step++) {
			int b = (int)rav_rng_below(&rng, LISTS);
			rav_ref head = rav_root_get(h, lists[b]);
			rav_stats s0 = stats(h);
			if (len[b] > 0) {
				/* the head is the top cell right after a push onto b */
				bool top = step % 7 == 0;
				if (top) {
					rav_ref n;
					CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(lists[b]), 1, &n));
					rav_store(h, n, 0, 0);
					len[b]++;
					head = n;
					s0 = stats(h);
				}
				CHECK_OK(rav_move(h, rav_root_slot(lists[b]), rav_field_slot(head, 1)));
				len[b]--;
				rav_stats s1 = stats(h);
				CHECK_EQ(s1.frees, s0.frees + 1);
				/* (a head pushed last is the top cell: trimmed, not moved) */
				if (deferred || top)
					CHECK_EQ(s1.moves, s0.moves);
				else
					CHECK(s1.moves <= s0.moves + 1);
				moved += s1.moves - s0.moves;
				CHECK_EQ(s1.dead_cells, deferred ? 1 : 0);
			}
			/* push: in deferred mode into the hole the pop left */
			int to = (int)rav_rng_below(&rng, LISTS);
			rav_ref n;
			rav_stats s2 = stats(h);
			CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(lists[to]), 1, &n));
			rav_store(h, n, 0, 0);
			len[to]++;
			CHECK_EQ(stats(h).dead_cells, 0);
			CHECK_EQ(stats(h).moves, s2.moves);
			if (step % 50 == 0)
				CHECK_HEAP(h);
		}
		CHECK_HEAP(h);
		if (!deferred)
			CHECK(moved > 300); /* most heads were below the top */
	}
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	for (int i = 0; i < LISTS; i++) {
		size_t n = 0;
		for (rav_ref c = rav_root_get(h, lists[i]); !rav_ref_is_null(c); c = rav_load_ref(h, c, 1))
			n++;
		CHECK_EQ(n, len[i]);
		rav_root_free(h, lists[i]);
	}
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* ---- a heap used from a thread that does not own it ---- */

#if RAV_DEBUG
typedef struct misuse_log {
	int count;
	rav_status last;
} misuse_log;

static void log_misuse(rav_status s, const char *message, void *user)
{
	misuse_log *log = user;
	log->count++;
	log->last = s;
	printf("# misuse reported: %s\n", message);
}

typedef struct foreign_ctx {
	rav_heap *h;
	rav_root r;
	rav_msg *m;
	misuse_log log;
	int refused;
} foreign_ctx;

static void *use_foreign(void *arg)
{
	foreign_ctx *c = arg;
	rav_set_error_handler(log_misuse, &c->log);
	c->refused += rav_root_new(c->h) == NULL;
	c->refused += rav_new_root(c->h, T_NODE, c->r, NULL) == RAV_ECROSS;
	c->refused += rav_root_clear(c->h, c->r) == RAV_ECROSS;
	c->refused += rav_ref_is_null(rav_root_get(c->h, c->r));
	(void)rav_compact(c->h, 0);
	c->refused += rav_new_root(rav_msg_heap(c->m), T_NODE, rav_msg_root(c->m), NULL) == RAV_ECROSS;
	rav_set_error_handler(NULL, NULL);
	rav_thread_exit();
	return NULL;
}
#endif

static void t_foreign_thread(void)
{
#if RAV_DEBUG
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	foreign_ctx c = { .h = h, .r = rav_root_new(h), .m = rav_msg_new() };
	CHECK(c.r && c.m);
	CHECK_OK(rav_new_root(h, T_NODE, c.r, NULL));
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, use_foreign, &c), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	CHECK_EQ(c.refused, 5);
	CHECK_EQ(c.log.count, 6);
	CHECK_EQ(c.log.last, RAV_ECROSS);
	CHECK(!rav_ref_is_null(rav_root_get(h, c.r))); /* untouched */
	rav_msg_free(c.m);
	rav_root_free(h, c.r);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
#else
	printf("# debug checks are off in this build: nothing to detect\n");
#endif
}

/* What ravioli.h says the pool does by default is what it does (this
 * process never calls rav_init). */
static void t_pool_defaults(void)
{
	rav_heap_self();
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	const char *vg = getenv("RAV_UNDER_VALGRIND");
	bool under_valgrind = vg && *vg && strcmp(vg, "0") != 0;
	printf("# pool: limit %" PRIu64 " pages, reserve %" PRIu64 ", purge delay %" PRIu64 " ms, decay %" PRIu64
	       " ms, cache %u pages\n",
	       ps.limit_pages, ps.reserve_pages, ps.purge_delay_ms, ps.purge_decay_ms, ps.cache_pages_max);
	CHECK(ps.limit_pages == RAV_POOL_DEFAULT_LIMIT_PAGES ||
	      (under_valgrind && ps.limit_pages == RAV_POOL_VALGRIND_LIMIT_PAGES) ||
	      ps.limit_pages == ps.reserved_pages /* the OS gave less address space */);
	CHECK_EQ(ps.reserve_pages, RAV_POOL_DEFAULT_RESERVE_PAGES);
	CHECK_EQ(ps.purge_delay_ms, RAV_POOL_DEFAULT_PURGE_DELAY_MS);
	CHECK_EQ(ps.purge_decay_ms, RAV_POOL_DEFAULT_DECAY_MS);
	CHECK_EQ(ps.cache_pages_max, RAV_POOL_CACHE_PAGES);
	/* Too late to configure; out-of-range values are refused first. */
	rav_config huge = { .pool_limit_pages = SIZE_MAX };
	CHECK_STATUS(rav_init(&huge), RAV_EINVAL);
	CHECK(strstr(rav_last_error(), "pool_limit_pages") != NULL);
	CHECK_STATUS(rav_init(NULL), RAV_ESTATE);
}

static size_t count_tree(rav_heap *h, rav_ref n)
{
	if (rav_ref_is_null(n))
		return 0;
	rav_ref l = rav_load_ref(h, n, 0), r = rav_load_ref(h, n, 1);
	return 1 + count_tree(h, l) + count_tree(h, r);
}

/* Runs of holes (free.c, trim_run): cells the cascade killed at adjacent
 * addresses are trimmed together without being read, and a page they
 * fill is not zeroed until it is used again.  Each way a run can change
 * before it is trimmed (an allocation taking its newest hole, a move into
 * its lowest holes, holes kept across calls in deferred mode) must leave a
 * heap that passes the full check and data that reads back. */
static void t_runs(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), r = rav_root_new(h), r2 = rav_root_new(h), r3 = rav_root_new(h);
	build_list(h, keep, 50);
	rav_ref t;

	/* An overwrite that allocates after dropping a tree at the top: the
	 * new cell takes the newest hole (the end of the newest run). */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 10);
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	CHECK_EQ(count_tree(h, rav_root_get(h, r)), 1);
	CHECK_HEAP(h);

	/* Whole pages trimmed dirty, then built over again (the page cache
	 * hands the same pages back): what is stored reads back, and the cells
	 * above the top are empty again (CHECK_HEAP). */
	for (int round = 0; round < 3; round++) {
		build_list(h, r, 5000);
		check_list(h, r, 5000);
		CHECK_HEAP(h);
		rav_stats s1 = stats(h);
		CHECK_OK(rav_root_clear(h, r));
		CHECK_EQ(stats(h).moves, s1.moves);
		CHECK_HEAP(h);
	}

	/* A list pushed at its head (each cell below the one before: runs in
	 * descending order) under a tree allocated after it: the tree's 127
	 * cells move into the lowest holes, each move taking the end of the
	 * newest run, and the rest is trimmed. */
	for (int i = 0; i < 3000; i++) {
		rav_ref n;
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(r), 1, &n));
		rav_store(h, n, 0, (uintptr_t)(2999 - i));
	}
	CHECK_OK(rav_new_root(h, T_PAIR, r2, &t));
	build_tree(h, t, 6);
	rav_stats s1 = stats(h);
	CHECK_OK(rav_root_clear(h, r));
	CHECK_EQ(stats(h).moves - s1.moves, 127);
	CHECK_EQ(count_tree(h, rav_root_get(h, r2)), 127);
	CHECK_HEAP(h);

	/* Deferred mode: a dropped tree waits in the kill queue until
	 * rav_msg_adopt runs the cascade (dying cells could share the adopted
	 * subtree); its holes (and their runs) wait for compaction.  New cells
	 * take holes, then bounded steps compact. */
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 9);
	CHECK_OK(rav_new_root(h, T_NODE, r3, NULL));
	CHECK_OK(rav_root_clear(h, r));
	rav_msg *m = rav_msg_new();
	CHECK(m);
	CHECK_OK(rav_msg_adopt(m, h, r3));
	rav_msg_free(m);
	CHECK(stats(h).dead_cells >= 511);
	CHECK_HEAP(h);
	build_list(h, r3, 300);
	CHECK_HEAP(h);
	size_t steps = 0;
	while (rav_compact(h, 7) > 0) {
		CHECK_HEAP(h);
		CHECK(++steps < 100000);
	}
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	check_list(h, r3, 300);
	check_list(h, keep, 50);
	CHECK_EQ(count_tree(h, rav_root_get(h, r2)), 127);
	CHECK_HEAP(h);

	rav_root_free(h, r3);
	rav_root_free(h, r2);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* Push n cells at the heads of lists a and b in turn: their cells
 * alternate in memory, and each list reads 0 .. n-1 from its head. */
static void build_interleaved(rav_heap *h, rav_root a, rav_root b, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		rav_ref x;
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(a), 1, &x));
		rav_store(h, x, 0, i);
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(b), 1, &x));
		rav_store(h, x, 0, i);
	}
}

/* A whole compaction in one pass (free.c, sweep): freeing a structure
 * whose cells alternate with survivors' moves only the survivors above
 * the boundary (about half of them), each once, trims the rest and gives
 * the emptied pages back; the same through rav_compact(h, 0) after
 * bounded steps and allocations took some holes in deferred mode; and the
 * cell rav_new_root returns is still the new one when the value it
 * replaced was such a structure. */
static void t_sweep(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	const size_t n = 20000;
	rav_root keep = rav_root_new(h), a = rav_root_new(h), b = rav_root_new(h), c = rav_root_new(h);
	build_list(h, keep, 100);

	/* Immediate mode. */
	build_interleaved(h, a, b, n);
	rav_stats s1 = stats(h);
	CHECK_OK(rav_root_clear(h, a));
	rav_stats s2 = stats(h);
	uint64_t moves = s2.moves - s1.moves;
	printf("# %zu cells among %zu survivors: %" PRIu64 " moves, pages %" PRIu64 " -> %" PRIu64 "\n", n, n, moves,
	       s1.pages, s2.pages);
	CHECK_EQ(s2.frees - s1.frees, n);
	CHECK(moves > n / 2 - n / 10 && moves < n / 2 + n / 10);
	CHECK_EQ(s2.dead_cells, 0);
	CHECK(s2.pages * 10 < s1.pages * 6); /* about half the pages back, one spare kept */
	check_list(h, b, n);
	check_list(h, keep, 100);
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, b));
	CHECK_EQ(stats(h).moves, s2.moves); /* b was allocated last now: trimmed */
	CHECK_HEAP(h);

	/* Deferred mode: bounded steps, allocations that take holes (a list
	 * built in c), then the rest in one pass. */
	build_interleaved(h, a, b, n);
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	CHECK_OK(rav_root_clear(h, a));
	for (int i = 0; i < 5; i++)
		rav_compact(h, 100);
	CHECK_HEAP(h);
	build_list(h, c, 3000);
	CHECK_HEAP(h);
	CHECK_EQ(rav_compact(h, 0), 0);
	CHECK_EQ(stats(h).dead_cells, 0);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	check_list(h, b, n);
	check_list(h, c, 3000);
	check_list(h, keep, 100);
	CHECK_HEAP(h);

	/* rav_new_root over such a structure: the new cell is allocated into a
	 * hole, then the compaction may move it; the returned ref follows. */
	build_interleaved(h, a, b, n);
	rav_ref x;
	CHECK_OK(rav_new_root(h, T_NODE, b, &x));
	rav_store(h, x, 0, 777);
	CHECK_EQ(rav_load(h, rav_root_get(h, b), 0), 777);
	check_list(h, a, n);
	CHECK_HEAP(h);

	rav_root_free(h, c);
	rav_root_free(h, b);
	rav_root_free(h, a);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* The last cell of the list held by r (the one allocated last). */
static rav_cell *list_last(rav_heap *h, rav_root r)
{
	rav_ref cur = rav_root_get(h, r), next;
	while (!rav_ref_is_null(cur) && !rav_ref_is_null(next = rav_load_ref(h, cur, 1)))
		cur = next;
	return cur.cell;
}

/* Sending a structure built last (msg.c, rav_msg_adopt): the pages
 * holding it go to the message as they are (its cells keep their
 * addresses), and only its cells on its lowest page (fewer than a page)
 * move; the same with recording on (engine-free-traced: page-to-msg
 * events, format 1.6, replayed by ravtrace validate).  A structure with a cell
 * above it, or a subtree of a larger one, is copied and takes the kill
 * cascade; all leave heaps that pass the check, and the message reads
 * back on arrival. */
static void t_adopt_top(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), r = rav_root_new(h), r2 = rav_root_new(h);
	rav_channel *ch = rav_channel_new();
	CHECK(ch);
	build_list(h, keep, 100);
	for (int round = 0; round < 3; round++) {
		/* At the top: the whole list, several pages of it. */
		build_list(h, r, 2000);
		rav_stats s1 = stats(h);
		rav_cell *last = list_last(h, r);
		rav_msg *m = rav_msg_new();
		CHECK(m);
		CHECK_OK(rav_msg_adopt(m, h, r));
		CHECK(list_last(rav_msg_heap(m), rav_msg_root(m)) == last); /* handed, not copied */
		rav_stats s2 = stats(h), ms;
		rav_heap_stats(rav_msg_heap(m), &ms);
		CHECK(s2.moves - s1.moves < RAV_PAGE_CELLS);
		CHECK(ms.live_cells >= 2000);
		CHECK(ms.pages > 2000 / RAV_PAGE_CELLS);
		CHECK_EQ(rav_heap_check(rav_msg_heap(m)), RAV_OK);
		CHECK_EQ(s2.frees - s1.frees, 2000);
		CHECK_EQ(s2.live_cells, s1.live_cells - 2000);
		CHECK(rav_ref_is_null(rav_root_get(h, r)));
		CHECK(s2.pages < s1.pages);
		CHECK_HEAP(h);
		CHECK_OK(rav_send(ch, m));
		CHECK_OK(rav_recv(ch, h, r));
		check_list(h, r, 2000);
		CHECK_HEAP(h);
		/* What arrived is at the top again: sent on, and back. */
		m = rav_msg_new();
		CHECK(m);
		CHECK_OK(rav_msg_adopt(m, h, r));
		CHECK_HEAP(h);
		CHECK_OK(rav_send(ch, m));
		CHECK_OK(rav_recv(ch, h, r));
		check_list(h, r, 2000);
		CHECK_HEAP(h);

		/* Not at the top: a list built after it. */
		build_list(h, r2, 10);
		m = rav_msg_new();
		CHECK(m);
		CHECK_OK(rav_msg_adopt(m, h, r));
		CHECK_HEAP(h);
		check_list(h, r2, 10);
		CHECK_OK(rav_send(ch, m));
		CHECK_OK(rav_recv(ch, h, r));
		check_list(h, r, 2000);
		CHECK_HEAP(h);

		/* A subtree (the list from its second cell) of the structure at the
		 * top: its cells are the top ones but one; the first stays. */
		rav_ref first = rav_root_get(h, r);
		rav_root sub = rav_root_new(h);
		CHECK_OK(rav_move(h, rav_root_slot(sub), rav_field_slot(first, 1)));
		m = rav_msg_new();
		CHECK(m);
		CHECK_OK(rav_msg_adopt(m, h, sub));
		CHECK_HEAP(h);
		CHECK_EQ(rav_load(h, rav_root_get(h, r), 0), 0);
		rav_msg_free(m);
		rav_root_free(h, sub);
		CHECK_OK(rav_root_clear(h, r));
		CHECK_OK(rav_root_clear(h, r2));
		CHECK_HEAP(h);
	}
	rav_channel_free(ch);
	check_list(h, keep, 100);
	rav_root_free(h, r2);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* Dropping a structure allocated last: no cell moves and the frees are
 * counted, time after time (the pages come back).  Cells that are not the
 * structure's among or after its cells stay: a garbage cycle (two cells
 * referring to each other, no root) allocated between the structure's
 * root and its children survives until rav_collect (a shortcut that
 * truncated the region from the root up would free it); a child shared
 * with a root outside; a cell allocated after the structure (one move). */
static void t_drop_top(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root r = rav_root_new(h), cyc = rav_root_new(h), other = rav_root_new(h);

	/* Whole, several times over (the pages come back each time). */
	for (int i = 0; i < 3; i++) {
		rav_ref t;
		CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
		build_tree(h, t, 10);
		rav_stats s1 = stats(h);
		CHECK_OK(rav_root_clear(h, r));
		rav_stats s2 = stats(h);
		CHECK_EQ(s2.frees - s1.frees, 2047);
		CHECK_EQ(s2.moves, s1.moves);
		CHECK_EQ(s2.live_cells, base);
		CHECK_HEAP(h);
	}

	/* A garbage cycle among the structure's cells. */
	rav_ref t, a, b;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	CHECK_OK(rav_new_root(h, T_PAIR, cyc, &a));
	CHECK_OK(rav_new_field(h, T_PAIR, a, 0, &b));
	CHECK_OK(rav_store_ref(h, b, 0, a));
	CHECK_OK(rav_root_clear(h, cyc)); /* a <-> b, unreachable */
	CHECK_EQ(stats(h).live_cells, base + 3);
	t = rav_root_get(h, r);
	build_tree(h, t, 6);
	CHECK_OK(rav_root_clear(h, r));
	CHECK_EQ(stats(h).live_cells, base + 2);
	CHECK_HEAP(h);
	CHECK_EQ(rav_collect(h), 2);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);

	/* A child shared with a root outside the structure. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 5);
	t = rav_root_get(h, r);
	rav_ref leaf = rav_load_ref(h, rav_load_ref(h, t, 0), 1);
	CHECK_OK(rav_root_set(h, other, leaf));
	CHECK_OK(rav_root_clear(h, r));
	CHECK_EQ(stats(h).live_cells, base + (uint64_t)count_tree(h, rav_root_get(h, other))); /* (its reference raviolo gone) */
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, other));
	CHECK_EQ(stats(h).live_cells, base);

	/* A cell allocated after the structure. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 5);
	CHECK_OK(rav_new_root(h, T_NODE, other, NULL));
	rav_stats s1 = stats(h);
	CHECK_OK(rav_root_clear(h, r));
	CHECK_EQ(stats(h).moves - s1.moves, 1);
	CHECK_EQ(stats(h).live_cells, base + 1);
	CHECK_HEAP(h);

	rav_root_free(h, other);
	rav_root_free(h, cyc);
	rav_root_free(h, r);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* A tree built children first (as a bottom-up builder does): each node
 * is allocated after its two subtrees, so the root is the heap's top cell
 * and field 1 the cell below it.  roots[] holds the subtrees meanwhile. */
static void build_post(rav_heap *h, rav_root *roots, rav_root dst, int depth)
{
	rav_ref n;
	if (depth > 0) {
		build_post(h, roots + 2, roots[0], depth - 1);
		build_post(h, roots + 2, roots[1], depth - 1);
	}
	CHECK_OK(rav_new_root(h, T_PAIR, dst, &n));
	if (depth > 0) {
		CHECK_OK(rav_move(h, rav_field_slot(n, 0), rav_root_slot(roots[0])));
		n = rav_root_get(h, dst);
		CHECK_OK(rav_move(h, rav_field_slot(n, 1), rav_root_slot(roots[1])));
	}
}

/* A comb: a spine along field 0, each spine cell with a leaf in field 1
 * allocated after the rest of the spine (the top cascade's stack holds
 * every leaf at once: more than its first allocation). */
static void build_comb(rav_heap *h, rav_ref n, int depth)
{
	rav_ref c;
	if (depth == 0)
		return;
	CHECK_OK(rav_new_field(h, T_PAIR, n, 0, &c));
	build_comb(h, c, depth - 1);
	CHECK_OK(rav_new_field(h, T_PAIR, n, 1, NULL));
}

/* Dropping r, which holds `cells` cells, must free them all, move
 * `moves` survivors and leave the heap whole; returns the pages released. */
static uint64_t drop_checked(rav_heap *h, rav_root r, uint64_t cells, uint64_t moves)
{
	rav_stats s1 = stats(h);
	CHECK_OK(rav_root_clear(h, r));
	rav_stats s2 = stats(h);
	CHECK_EQ(s2.frees - s1.frees, cells);
	CHECK_EQ(s1.live_cells - s2.live_cells, cells);
	CHECK_EQ(s2.moves - s1.moves, moves);
	CHECK_EQ(s2.dead_cells, 0);
	CHECK_HEAP(h);
	return s2.pages_released - s1.pages_released;
}

/* The top cascade (free.c, cascade_top): a structure allocated last is
 * read once and the heap truncated below it.  Each shape it recognises
 * (built parent first, children first, a list appended at its tail or
 * pushed at its head, across pages), each way it gives up and hands over
 * to the ordinary cascade (a structure straddling the top with a survivor
 * allocated in its middle, one sharing a survivor from inside, one not in
 * one block, a stack that must grow) and the deferred mode's whole
 * compaction must free exactly the structure, move only survivors and
 * leave a heap that passes the full check. */
static void t_top_cascade(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), r = rav_root_new(h), other = rav_root_new(h);
	rav_root roots[40];
	for (int i = 0; i < 40; i++)
		roots[i] = rav_root_new(h);
	build_list(h, keep, 50);
	rav_ref t;

	/* Exactly at the top: parent first, over many pages (the pages it
	 * filled go back to the pool, one spare kept). */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 13);
	uint64_t pages = stats(h).pages;
	CHECK(drop_checked(h, r, 16383, 0) >= pages - stats(h).pages);
	CHECK(stats(h).pages <= 3);
	check_list(h, keep, 50);

	/* Children first: the cascade goes down from the top cell. */
	build_post(h, roots, r, 10);
	CHECK_EQ(count_tree(h, rav_root_get(h, r)), 2047);
	drop_checked(h, r, 2047, 0);

	/* Lists: appended at the tail (up), pushed at the head (down). */
	build_list(h, r, 1000);
	drop_checked(h, r, 1000, 0);
	for (int i = 0; i < 1000; i++)
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(r), 1, NULL));
	drop_checked(h, r, 1000, 0);

	/* A stack deeper than its first allocation. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_comb(h, t, 1500);
	drop_checked(h, r, 3001, 0);

	/* Straddling the top: a survivor allocated in the middle of the
	 * structure (the block breaks there); it moves once, into the
	 * structure's lowest hole. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	rav_ref left, right;
	CHECK_OK(rav_new_field(h, T_PAIR, t, 0, &left));
	build_tree(h, left, 7);
	CHECK_OK(rav_new_root(h, T_NODE, other, NULL));
	t = rav_root_get(h, r);
	CHECK_OK(rav_new_field(h, T_PAIR, t, 1, &right));
	build_tree(h, right, 7);
	drop_checked(h, r, 1 + 2 * 255, 1);
	CHECK_EQ(stats(h).live_cells, base + 50 + 1);
	CHECK_OK(rav_root_clear(h, other));

	/* The same survivor at the very top, and the structure below it. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	build_tree(h, t, 9);
	CHECK_OK(rav_new_root(h, T_NODE, other, NULL));
	drop_checked(h, r, 1023, 1);
	CHECK_OK(rav_root_clear(h, other));

	/* A survivor referenced from inside: the first child, then a deep
	 * one (a reference raviolo each; the structure's cells die, the
	 * survivor keeps its other referrer). */
	for (int deep = 0; deep < 2; deep++) {
		CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
		build_tree(h, t, 8);
		t = rav_root_get(h, r);
		rav_ref shared = rav_load_ref(h, t, 0);
		if (deep)
			for (int k = 0; k < 6; k++)
				shared = rav_load_ref(h, shared, 1);
		CHECK_OK(rav_root_set(h, other, shared));
		size_t kept = count_tree(h, rav_root_get(h, other));
		rav_stats s1 = stats(h);
		CHECK_OK(rav_root_clear(h, r));
		rav_stats s2 = stats(h);
		/* the structure's 511 cells but the survivor's, and the reference raviolo */
		CHECK_EQ(s2.frees - s1.frees, 511 - kept + 1);
		CHECK_EQ(s2.live_cells, base + 50 + kept);
		CHECK_EQ(count_tree(h, rav_root_get(h, other)), kept);
		CHECK_HEAP(h);
		CHECK_OK(rav_root_clear(h, other));
		CHECK_EQ(stats(h).live_cells, base + 50);
	}

	/* Field 1's subtree allocated before field 0's: field 1 is visited
	 * first, and the two are still one block. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	CHECK_OK(rav_new_field(h, T_PAIR, t, 1, &right));
	build_tree(h, right, 6);
	t = rav_root_get(h, r);
	CHECK_OK(rav_new_field(h, T_PAIR, t, 0, &left));
	build_tree(h, left, 6);
	drop_checked(h, r, 1 + 2 * 127, 0);

	/* At the top but not one block in the cascade's order (built level
	 * by level): the ordinary cascade takes over at the first jump, and
	 * the compaction still moves nothing. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, NULL));
	for (int depth = 0; depth < 4; depth++)
		for (unsigned path = 0; path < 1u << depth; path++) {
			rav_ref n = rav_root_get(h, r);
			for (int k = depth - 1; k >= 0; k--)
				n = rav_load_ref(h, n, (int)(path >> k & 1));
			CHECK_OK(rav_new_field(h, T_PAIR, n, 0, NULL));
			CHECK_OK(rav_new_field(h, T_PAIR, n, 1, NULL));
		}
	CHECK_EQ(count_tree(h, rav_root_get(h, r)), 31);
	drop_checked(h, r, 31, 0);

	/* A field cleared, a root freed: the same path. */
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	CHECK_OK(rav_new_field(h, T_PAIR, t, 0, &left));
	build_tree(h, left, 9);
	rav_stats s1 = stats(h);
	CHECK_OK(rav_clear_ref(h, rav_root_get(h, r), 0));
	CHECK_EQ(s1.live_cells - stats(h).live_cells, 1023);
	CHECK_EQ(stats(h).moves, s1.moves);
	CHECK_HEAP(h);
	rav_root tmp = rav_root_new(h);
	CHECK_OK(rav_new_root(h, T_PAIR, tmp, &t));
	build_tree(h, t, 9);
	s1 = stats(h);
	rav_root_free(h, tmp);
	CHECK_EQ(s1.live_cells - stats(h).live_cells, 1023);
	CHECK_HEAP(h);
	drop_checked(h, r, 1, 0);

	/* Deferred mode: the drop only queues; a whole rav_compact runs the
	 * top cascade, also with holes left below by earlier frees (then the
	 * compaction fills those). */
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	for (int k = 0; k < 2; k++) {
		if (k)
			CHECK_OK(rav_new_root(h, T_NODE, other, NULL));
		CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
		build_tree(h, t, 10);
		if (k) {
			rav_ref n = rav_root_get(h, keep);
			for (int i = 0; i < 10; i++)
				n = rav_load_ref(h, n, 1);
			CHECK_OK(rav_clear_ref(h, n, 1)); /* the list's last 39 cells */
			CHECK_EQ(rav_compact(h, 39), 39); /* their cascade only: holes */
		}
		s1 = stats(h);
		CHECK_OK(rav_root_clear(h, r));
		CHECK_EQ(stats(h).dying_cells, 1);
		CHECK_EQ(rav_compact(h, 0), 0);
		rav_stats s2 = stats(h);
		CHECK_EQ(s2.frees - s1.frees, 2047);
		CHECK_EQ(s1.live_cells - s2.live_cells, 2047);
		CHECK_EQ(s2.dead_cells, 0);
		CHECK_EQ(s2.dying_cells, 0);
		CHECK_HEAP(h);
	}
	/* Two structures queued: the one allocated first dropped last (the
	 * queue's head; the other extends its block), then the other way. */
	for (int k = 0; k < 2; k++) {
		CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
		build_tree(h, t, 8);
		rav_root r2 = rav_root_new(h);
		CHECK_OK(rav_new_root(h, T_PAIR, r2, &t));
		build_tree(h, t, 7);
		s1 = stats(h);
		CHECK_OK(rav_root_clear(h, k ? r : r2));
		CHECK_OK(rav_root_clear(h, k ? r2 : r));
		CHECK_EQ(stats(h).dying_cells, 2);
		CHECK_EQ(rav_compact(h, 0), 0);
		rav_stats s2 = stats(h);
		CHECK_EQ(s2.frees - s1.frees, 511 + 255);
		CHECK_EQ(s2.moves, s1.moves);
		CHECK_EQ(s2.dying_cells, 0);
		CHECK_HEAP(h);
		rav_root_free(h, r2);
	}
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	check_list(h, keep, 11);
	CHECK_OK(rav_root_clear(h, other));

	for (int i = 0; i < 40; i++)
		rav_root_free(h, roots[i]);
	rav_root_free(h, other);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}


/* The top sweep (cascade.c, top_sweep): a structure allocated parent
 * first is read once in address order, each cell's back-link required in
 * a cell of the block before it.  A cell allocated in the middle of the
 * structure whose referrer lies outside it, below first (on an earlier
 * page, or on first's page) or above it, makes the block end there while
 * the children counted still close: the sweep must give up, and the drop
 * free the structure alone, moving that survivor into the structure's
 * hole.  A structure over many pages, whose right subtrees refer across
 * pages, is still freed by the sweep with no move. */
static void t_top_sweep(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), fill = rav_root_new(h), r = rav_root_new(h), late = rav_root_new(h);
	rav_ref f, o, pad;
	for (int where = 0; where < 3; where++) {
		/* o: the survivor's referrer, a page or more below first, just
		 * below first, or a root */
		CHECK_OK(rav_new_root(h, T_NODE, keep, &o));
		if (where == 0) {
			CHECK_OK(rav_new_root(h, T_NODE, fill, &pad));
			for (int i = 0; i < 300; i++)
				CHECK_OK(rav_new_field(h, T_NODE, pad, 1, &pad));
		}
		CHECK_OK(rav_new_root(h, T_PAIR, r, &f));
		if (where < 2)
			CHECK_OK(rav_new_field(h, T_NODE, rav_root_get(h, keep), 1, NULL));
		else
			CHECK_OK(rav_new_root(h, T_NODE, late, NULL));
		CHECK_OK(rav_new_field(h, T_PAIR, rav_root_get(h, r), 0, NULL));
		drop_checked(h, r, 2, 1);
		CHECK_OK(rav_root_clear(h, keep));
		CHECK_OK(rav_root_clear(h, fill));
		CHECK_OK(rav_root_clear(h, late));
		CHECK_EQ(stats(h).live_cells, base);
	}
	/* A child allocated before first, just below it (as a received
	 * message's top cell moved into the old top page's tail): the block
	 * grows down to it; a survivor between them stops it. */
	for (int between = 0; between < 2; between++) {
		CHECK_OK(rav_new_root(h, T_PAIR, fill, NULL));
		if (between)
			CHECK_OK(rav_new_root(h, T_NODE, late, NULL));
		CHECK_OK(rav_new_root(h, T_PAIR, r, &f));
		CHECK_OK(rav_move(h, rav_field_slot(f, 1), rav_root_slot(fill)));
		drop_checked(h, r, 2, (uint64_t)between);
		CHECK_OK(rav_root_clear(h, late));
		CHECK_EQ(stats(h).live_cells, base);
	}
	/* Over many pages, after cells that survive it. */
	build_list(h, keep, 200);
	CHECK_OK(rav_new_root(h, T_PAIR, r, &f));
	build_tree(h, f, 12);
	uint64_t pages = stats(h).pages;
	CHECK(drop_checked(h, r, 8191, 0) >= pages - stats(h).pages);
	check_list(h, keep, 200);
	rav_root_free(h, late);
	rav_root_free(h, r);
	rav_root_free(h, fill);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* A tree of `levels` levels under root r, built level by level (breadth
 * first): the cascade meets its cells out of address order.  After each
 * node, one cell is pushed onto `among` if it is not NULL (the two then
 * alternate in memory).  Returns the nodes. */
static size_t build_levels(rav_heap *h, rav_root r, int levels, const rav_root *among)
{
	size_t n = 1;
	CHECK_OK(rav_new_root(h, T_PAIR, r, NULL));
	if (among)
		CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(*among), 1, NULL));
	for (int depth = 0; depth + 1 < levels; depth++)
		for (unsigned path = 0; path < 1u << depth; path++)
			for (int f = 0; f < 2; f++) {
				rav_ref x = rav_root_get(h, r);
				for (int k = depth - 1; k >= 0; k--)
					x = rav_load_ref(h, x, (int)(path >> k & 1));
				CHECK_OK(rav_new_field(h, T_PAIR, x, f, NULL));
				n++;
				if (among)
					CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(*among), 1, NULL));
			}
	CHECK_EQ(count_tree(h, rav_root_get(h, r)), n);
	return n;
}

/* Freeing a whole structure that is the heap's top cells moves nothing,
 * whatever the order its cells are in (issue #9): the top cascade
 * truncates one built along its links, and the kill among survivors
 * (bulk-kill.c) finds no hole below where the top will end for one it
 * meets out of order (built level by level, or rebuilt in place by the
 * compaction that freed a structure it was interleaved with), and
 * truncates it without a walk.  Every page it filled goes back but the
 * spare.  Among survivors, the survivors above the boundary move, each
 * once: exactly half of them when the two alternate, whatever order the
 * kill meets the holes in (a list from the top down, a tree level by
 * level). */
static void t_top_any_order(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), r = rav_root_new(h), a = rav_root_new(h), b = rav_root_new(h);
	build_list(h, keep, 30);
	const uint64_t pages0 = stats(h).pages;

	/* Level by level, over many pages, at the top. */
	size_t n = build_levels(h, r, 11, NULL);
	CHECK(stats(h).pages > pages0 + 10);
	drop_checked(h, r, n, 0);
	CHECK(stats(h).pages <= pages0 + 1);

	/* A list pushed at its head, then rebuilt in place by a compaction:
	 * its cells are the top ones in no order the cascade follows. */
	const size_t m = 6000;
	build_interleaved(h, a, b, m);
	drop_checked(h, a, m, m / 2);
	check_list(h, b, m);
	CHECK(stats(h).pages > pages0 + 10);
	drop_checked(h, b, m, 0);
	CHECK(stats(h).pages <= pages0 + 1);

	/* The same with one cell allocated after it: that cell moves. */
	build_interleaved(h, a, b, m);
	drop_checked(h, a, m, m / 2);
	CHECK_OK(rav_new_root(h, T_NODE, r, NULL));
	drop_checked(h, b, m, 1);
	CHECK_OK(rav_root_clear(h, r));

	/* Among survivors: a tree level by level, each node followed by a
	 * survivor. */
	n = build_levels(h, r, 11, &b);
	CHECK_EQ(n % 2, 1); /* 2^11 - 1 nodes: the top n cells, a survivor first, hold (n + 1) / 2 survivors */
	drop_checked(h, r, n, (n + 1) / 2);
	size_t left = 0;
	for (rav_ref x = rav_root_get(h, b); !rav_ref_is_null(x); x = rav_load_ref(h, x, 1))
		left++;
	CHECK_EQ(left, n);
	drop_checked(h, b, n, 0);
	CHECK(stats(h).pages <= pages0 + 1);

	check_list(h, keep, 30);
	rav_root_free(h, b);
	rav_root_free(h, a);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* A list among survivors whose cells lie k cells apart (k - 1 survivors
 * between two of its cells), over many pages, met by the kill from the top
 * down (pushed at its head) or from the bottom up (appended at its tail):
 * the kill's prefetch a stride ahead crosses into the next page of the
 * heap's list, stops at the heap's ends, and is not taken from 16 cells
 * apart on (bulk-kill.c, cell_across); the fill meets each page of
 * survivors after prefetching its top.  The same again with a reference
 * raviolo in the heap (the fill's copy that reads a child's type to find
 * its back-link).  Whatever the stride and the direction: every cell of
 * the list freed, the survivors intact and in order, the heap whole. */
static void t_bulk_strides(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), shared = rav_root_new(h), a = rav_root_new(h), b = rav_root_new(h);
	build_list(h, keep, 10);
	static const unsigned strides[] = { 1, 2, 3, 7, 15, 16, 17, 40 };
	const size_t n = 3000;
	for (unsigned refs = 0; refs < 2; refs++) {
		if (refs) {
			CHECK_OK(rav_root_set(h, shared, rav_load_ref(h, rav_root_get(h, keep), 1)));
			CHECK_EQ(stats(h).ref_cells, 1);
		}
		for (unsigned up = 0; up < 2; up++)
			for (size_t si = 0; si < sizeof strides / sizeof strides[0]; si++) {
				const unsigned k = strides[si];
				const size_t nb = n * (k - 1);
				size_t vb = nb;
				rav_ref tail = RAV_NULL_REF, x;
				for (size_t i = 0; i < n; i++) {
					if (!up) {
						CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(a), 1, &x));
						rav_store(h, x, 0, n - 1 - i);
					} else {
						if (i == 0)
							CHECK_OK(rav_new_root(h, T_NODE, a, &x));
						else
							CHECK_OK(rav_new_field(h, T_NODE, tail, 1, &x));
						rav_store(h, x, 0, i);
						tail = x;
					}
					for (unsigned j = 1; j < k; j++) {
						CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(b), 1, &x));
						rav_store(h, x, 0, --vb);
					}
				}
				check_list(h, a, n);
				rav_stats s1 = stats(h);
				CHECK_OK(rav_root_clear(h, a));
				rav_stats s2 = stats(h);
				CHECK_EQ(s2.frees - s1.frees, n);
				CHECK_EQ(s2.live_cells, s1.live_cells - n);
				CHECK_EQ(s2.dead_cells, 0);
				check_list(h, b, nb);
				check_list(h, keep, 10);
				CHECK_HEAP(h);
				CHECK_OK(rav_root_clear(h, b));
				CHECK_EQ(stats(h).live_cells, s1.live_cells - n - nb);
				CHECK_HEAP(h);
			}
	}
	CHECK_EQ(rav_load(h, rav_root_get(h, shared), 0), 1);
	rav_root_free(h, b);
	rav_root_free(h, a);
	rav_root_free(h, shared);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* The list hanging from field f of `pair` holds n values, n - 1 down to 0
 * from its head (pushed with rav_new_before, 0 first). */
static void check_chain(rav_heap *h, rav_ref pair, int f, size_t n)
{
	rav_ref cur = rav_load_ref(h, pair, f);
	for (size_t i = n; i-- > 0;) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
}

/* A bulk kill in pages that arrived in a message (their cells join the
 * heap as the message laid them out): two lists built interleaved in a
 * message under a pair, sent and received, then a list of the heap's own
 * pushed above them; one of the two let go of whole by clearing its field
 * (kill_whole among survivors: below the arrival's survivors, and with the
 * heap's own list at the top, which the fill moves down into the holes),
 * in immediate mode, in deferred mode (rav_compact in small steps) and
 * with a reference raviolo in the heap (the typed fill).  Every cell of
 * the list freed, the survivors intact and in order, the heap whole. */
static void t_bulk_arrived(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_root keep = rav_root_new(h), r = rav_root_new(h), own = rav_root_new(h), shared = rav_root_new(h);
	rav_channel *ch = rav_channel_new();
	CHECK(ch);
	build_list(h, keep, 50);
	const size_t n = 1500, nown = 700;
	for (int variant = 0; variant < 3; variant++) {
		const bool deferred = variant == 1, refs = variant == 2;
		rav_msg *m = rav_msg_new();
		CHECK(m);
		rav_heap *mh = rav_msg_heap(m);
		rav_ref pair, x;
		CHECK_OK(rav_new_root(mh, T_PAIR, rav_msg_root(m), &pair));
		for (size_t i = 0; i < n; i++)
			for (int f = 0; f < 2; f++) {
				CHECK_OK(rav_new_before(mh, T_NODE, rav_field_slot(pair, f), 1, &x));
				rav_store(mh, x, 0, i);
			}
		CHECK_OK(rav_send(ch, m));
		CHECK_OK(rav_recv(ch, h, r));
		CHECK_HEAP(h);
		for (size_t i = 0; i < nown; i++) {
			CHECK_OK(rav_new_before(h, T_NODE, rav_root_slot(own), 1, &x));
			rav_store(h, x, 0, nown - 1 - i);
		}
		if (refs) {
			/* a second referrer of a cell of the surviving list */
			CHECK_OK(rav_root_set(h, shared, rav_load_ref(h, rav_load_ref(h, rav_root_get(h, r), 1), 1)));
			CHECK_EQ(stats(h).ref_cells, 1);
		}
		pair = rav_root_get(h, r);
		check_chain(h, pair, 0, n);
		check_chain(h, pair, 1, n);
		rav_stats s1 = stats(h);
		if (deferred)
			rav_set_free_mode(h, RAV_FREE_DEFERRED);
		CHECK_OK(rav_clear_ref(h, pair, 0));
		if (deferred) {
			while (rav_compact(h, 64) != 0)
				;
			rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
		}
		rav_stats s2 = stats(h);
		CHECK_EQ(s2.frees - s1.frees, n);
		CHECK_EQ(s2.live_cells, s1.live_cells - n);
		CHECK_EQ(s2.dead_cells, 0);
		CHECK(s2.moves > s1.moves); /* the heap's own list came down */
		CHECK_HEAP(h);
		pair = rav_root_get(h, r);
		CHECK(rav_ref_is_null(rav_load_ref(h, pair, 0)));
		check_chain(h, pair, 1, n);
		check_list(h, own, nown);
		check_list(h, keep, 50);
		if (refs) {
			CHECK_EQ(rav_load(h, rav_root_get(h, shared), 0), n - 2);
			CHECK_OK(rav_root_clear(h, shared));
		}
		CHECK_OK(rav_root_clear(h, r));
		CHECK_OK(rav_root_clear(h, own));
		CHECK_EQ(stats(h).live_cells, s1.live_cells - 2 * n - 1 - nown - (refs ? 1 : 0));
		CHECK_HEAP(h);
	}
	rav_channel_free(ch);
	rav_root_free(h, shared);
	rav_root_free(h, own);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

/* ---- random kills against a model (free.c, kill_whole) ----
 *
 * Structures of many shapes, grown a node at a time in random order (so
 * some lie in one block at the top of the heap, some alternate with other
 * structures' cells), with shared cells (a field referring to a cell of
 * the same or another structure: reference ravioli, some of which die
 * with the kill and some of which are spliced out because a survivor still
 * refers), are let go of one at a time: a root cleared, a field cleared,
 * in immediate mode and sometimes in deferred mode.  After each kill the
 * heap passes the full check, and what every root reaches is exactly what
 * the model's graph reaches (same ids, same shape), and the cells freed
 * are exactly the model's unreachable nodes plus the reference ravioli
 * that went with them.  Edges only go from an older node to a newer one,
 * so there are no cycles: reference counting frees everything. */

enum { KW_ROOTS = 8, KW_NODES = 6000 };

typedef struct kw_node {
	uint32_t child[2]; /* node ids, 0: none (ids start at 1) */
	uint32_t refs;     /* referring slots (parents' fields, roots) */
	bool alive;
} kw_node;

typedef struct kw_model {
	kw_node node[KW_NODES + 1];
	uint32_t root[KW_ROOTS];
	uint32_t n;        /* ids used */
	uint32_t seen[KW_NODES + 1], epoch;
} kw_model;

static kw_model KW;
static rav_root kw_roots_engine[KW_ROOTS];

/* The model's drop of a reference to id: a node left without referrer dies
 * and drops its children.  Returns the nodes that died. */
static uint64_t kw_drop(uint32_t id)
{
	uint64_t died = 0;
	uint32_t stack[2 * KW_NODES + KW_ROOTS];
	size_t sp = 0;
	stack[sp++] = id;
	while (sp) {
		kw_node *x = &KW.node[stack[--sp]];
		CHECK(x->alive && x->refs > 0);
		if (--x->refs)
			continue;
		x->alive = false;
		died++;
		for (int f = 0; f < 2; f++)
			if (x->child[f])
				stack[sp++] = x->child[f];
	}
	return died;
}

/* The engine's structure under `ref` is the model's under id: same ids
 * (the scalar), same children.  A node met twice in one walk is compared
 * once. */
static void kw_compare(rav_heap *h, rav_ref ref, uint32_t id)
{
	if (!id) {
		CHECK(rav_ref_is_null(ref));
		return;
	}
	CHECK(!rav_ref_is_null(ref));
	CHECK_EQ(rav_scalar(h, ref), id);
	if (KW.seen[id] == KW.epoch)
		return;
	KW.seen[id] = KW.epoch;
	for (int f = 0; f < 2; f++)
		kw_compare(h, rav_load_ref(h, ref, f), KW.node[id].child[f]);
}

/* A random live node of root r's structure (a walk from the root), and
 * the engine ref to it; false if the root is empty. */
static bool kw_pick(rav_heap *h, rav_rng *g, int r, uint32_t *id, rav_ref *ref)
{
	uint32_t x = KW.root[r];
	if (!x)
		return false;
	rav_ref cur = rav_root_get(h, kw_roots_engine[r]);
	for (;;) {
		int f = (int)rav_rng_below(g, 2);
		uint32_t c = KW.node[x].child[f];
		if (!c || rav_rng_below(g, 4) == 0)
			break;
		x = c;
		cur = rav_load_ref(h, cur, f);
	}
	*id = x;
	*ref = cur;
	return true;
}

static void kw_check_all(rav_heap *h)
{
	KW.epoch++;
	for (int r = 0; r < KW_ROOTS; r++)
		kw_compare(h, rav_root_get(h, kw_roots_engine[r]), KW.root[r]);
	CHECK_HEAP(h);
}

/* One kill: a root cleared (or freed and made again), or a field of a
 * random node cleared (whole: root r's); deferred mode sometimes,
 * compacted in steps. */
static void kw_kill(rav_heap *h, rav_rng *g, int r, bool whole)
{
	uint32_t id;
	rav_ref ref;
	if (!kw_pick(h, g, r, &id, &ref))
		return;
	bool deferred = rav_rng_below(g, 5) == 0;
	rav_stats s1 = stats(h);
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_DEFERRED);
	uint64_t died;
	int f = (int)rav_rng_below(g, 2);
	if (whole || id == KW.root[r] || !KW.node[id].child[f]) {
		died = kw_drop(KW.root[r]);
		KW.root[r] = 0;
		if (rav_rng_below(g, 2)) {
			CHECK_OK(rav_root_clear(h, kw_roots_engine[r]));
		} else {
			rav_root_free(h, kw_roots_engine[r]);
			kw_roots_engine[r] = rav_root_new(h);
		}
	} else {
		died = kw_drop(KW.node[id].child[f]);
		KW.node[id].child[f] = 0;
		CHECK_OK(rav_clear_ref(h, ref, f));
	}
	if (deferred) {
		while (rav_compact(h, 1 + rav_rng_below(g, 300)) > 0)
			;
		rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	}
	rav_stats s2 = stats(h);
	CHECK_EQ(s2.dead_cells, 0);
	/* normal cells freed: the model's dead nodes */
	CHECK_EQ((s1.live_cells - s1.ref_cells) - (s2.live_cells - s2.ref_cells), died);
	CHECK_EQ(s2.frees - s1.frees, died + (s1.ref_cells - s2.ref_cells));
	kw_check_all(h);
}

/* One growth step: a new node under a random node of a random structure
 * (or as a root), or a shared reference from an older node to a newer
 * one.  r: the structure it grows. */
static void kw_grow(rav_heap *h, rav_rng *g, int r)
{
	uint32_t id;
	rav_ref parent;
	if (KW.n >= KW_NODES)
		return;
	if (!kw_pick(h, g, r, &id, &parent)) {
		uint32_t x = ++KW.n;
		rav_ref c;
		CHECK_OK(rav_new_root(h, T_PAIR, kw_roots_engine[r], &c));
		rav_set_scalar(h, c, x);
		KW.node[x] = (kw_node){ { 0, 0 }, 1, true };
		KW.root[r] = x;
		return;
	}
	int f = (int)rav_rng_below(g, 2);
	if (KW.node[id].child[f])
		return;
	if (rav_rng_below(g, 8) == 0) {
		/* share a newer live node reached from any root */
		int r2 = (int)rav_rng_below(g, KW_ROOTS);
		uint32_t id2;
		rav_ref target;
		if (!kw_pick(h, g, r2, &id2, &target) || id2 <= id)
			return;
		CHECK_OK(rav_store_ref(h, parent, f, target));
		KW.node[id].child[f] = id2;
		KW.node[id2].refs++;
		return;
	}
	uint32_t x = ++KW.n;
	rav_ref c;
	CHECK_OK(rav_new_field(h, T_PAIR, parent, f, &c));
	rav_set_scalar(h, c, x);
	KW.node[x] = (kw_node){ { 0, 0 }, 1, true };
	KW.node[id].child[f] = x;
}

/* A chain of n new nodes from empty root r, each under the one before
 * (a random field): built depth-first, it lies in one block in heap order,
 * which the top cascade recognises (truncated, or holes in one block if
 * cells allocated after it survive). */
static void kw_chain(rav_heap *h, rav_rng *g, int r, unsigned n)
{
	CHECK(!KW.root[r]);
	if (KW.n + n >= KW_NODES)
		return;
	rav_ref last;
	uint32_t prev = ++KW.n;
	CHECK_OK(rav_new_root(h, T_PAIR, kw_roots_engine[r], &last));
	rav_set_scalar(h, last, prev);
	KW.node[prev] = (kw_node){ { 0, 0 }, 1, true };
	KW.root[r] = prev;
	for (unsigned i = 1; i < n; i++) {
		int f = (int)rav_rng_below(g, 2);
		uint32_t x = ++KW.n;
		CHECK_OK(rav_new_field(h, T_PAIR, last, f, &last));
		rav_set_scalar(h, last, x);
		KW.node[x] = (kw_node){ { 0, 0 }, 1, true };
		KW.node[prev].child[f] = x;
		prev = x;
	}
}

static void t_kill_random(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = stats(h).live_cells;
	rav_rng g = { 0x6b696c6cu };
	memset(&KW, 0, sizeof KW);
	for (int r = 0; r < KW_ROOTS; r++)
		kw_roots_engine[r] = rav_root_new(h);
	uint64_t kills = 0, held = stats(h).live_cells;
	for (int round = 0; round < 150; round++) {
		/* grow in bursts of one structure (a block at the top, or a
		 * structure allocated after the others' cells) or spread over
		 * all (cells alternating) */
		unsigned steps = 200 + (unsigned)rav_rng_below(&g, 1200);
		int burst = rav_rng_below(&g, 2) == 0 ? (int)rav_rng_below(&g, KW_ROOTS) : -1, chain = -1;
		if (burst >= 0 && rav_rng_below(&g, 2)) {
			kw_kill(h, &g, burst, true); /* a new structure, in one block */
			kills++;
			if (rav_rng_below(&g, 2)) {
				kw_chain(h, &g, burst, steps);
				steps = (unsigned)rav_rng_below(&g, 300); /* maybe survivors above it */
				chain = burst;
				burst = -1;
			}
		}
		for (unsigned i = 0; i < steps; i++)
			kw_grow(h, &g,
				burst >= 0   ? burst
				: chain >= 0 ? (chain + 1 + (int)rav_rng_below(&g, KW_ROOTS - 1)) % KW_ROOTS
					     : (int)rav_rng_below(&g, KW_ROOTS));
		kw_check_all(h);
		if ((burst >= 0 || chain >= 0) && rav_rng_below(&g, 2)) {
			/* the structure grown last, let go of at once */
			kw_kill(h, &g, burst >= 0 ? burst : chain, true);
			kills++;
		}
		unsigned nk = 1 + (unsigned)rav_rng_below(&g, 6);
		for (unsigned k = 0; k < nk; k++, kills++)
			kw_kill(h, &g, (int)rav_rng_below(&g, KW_ROOTS), false);
		if (KW.n >= KW_NODES - 1500) {
			/* ids run out: start over from an empty model */
			for (int r = 0; r < KW_ROOTS; r++)
				CHECK_OK(rav_root_clear(h, kw_roots_engine[r]));
			CHECK_EQ(stats(h).live_cells, held);
			rav_root keep[KW_ROOTS];
			memcpy(keep, kw_roots_engine, sizeof keep);
			memset(&KW, 0, sizeof KW);
			memcpy(kw_roots_engine, keep, sizeof keep);
		}
	}
	printf("# %" PRIu64 " random kills checked\n", kills);
	for (int r = 0; r < KW_ROOTS; r++)
		rav_root_free(h, kw_roots_engine[r]);
	CHECK_EQ(stats(h).live_cells, base);
	CHECK_HEAP(h);
}

static const rav_test_case cases[] = {
	{ "truncate", t_truncate },
	{ "shared-children", t_shared_children },
	{ "new-before", t_new_before },
	{ "deferred-leaves", t_deferred_leaves },
	{ "pop-push", t_pop_push },
	{ "runs", t_runs },
	{ "sweep", t_sweep },
	{ "adopt-top", t_adopt_top },
	{ "drop-top", t_drop_top },
	{ "top-cascade", t_top_cascade },
	{ "top-sweep", t_top_sweep },
	{ "top-any-order", t_top_any_order },
	{ "bulk-strides", t_bulk_strides },
	{ "bulk-arrived", t_bulk_arrived },
	{ "kill-random", t_kill_random },
	{ "foreign-thread", t_foreign_thread },
	{ "pool-defaults", t_pool_defaults },
};

int main(int argc, char **argv)
{
	T_NODE = rav_type_register("free.node", RAV_DATA, RAV_REF);
	T_PAIR = rav_type_register("free.pair", RAV_REF, RAV_REF);
	CHECK(T_NODE && T_PAIR);
	int rc = rav_test_run(cases, sizeof cases / sizeof cases[0], argc, argv);
	rav_thread_exit();
	return rc;
}
