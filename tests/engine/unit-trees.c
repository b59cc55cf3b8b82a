/* unit-trees.c - test-engine-unit's cases for reference trees: sharing
 * through reference ravioli, overwrites, free cascades, deferred and
 * collected frees, compaction hysteresis.
 */
#include <signal.h>
#include <unistd.h>

#include "unit.h"

/* ---- reference trees ---- */

/* Reference ravioli between a slot and its target. */
static unsigned hops_from_field(rav_heap *h, rav_ref holder, int field)
{
	rav_cell_info info;
	rav_cell_inspect(h, holder.cell, &info);
	uintptr_t addr = info.field[field];
	unsigned hops = 0;
	while (addr) {
		rav_cell_inspect(h, (const rav_cell *)addr, &info);
		if (info.type != RAV_TYPE_REF)
			break;
		hops++;
		addr = info.field[0];
		CHECK(hops < 1000);
	}
	return hops;
}

static unsigned log2_ceil(size_t n)
{
	unsigned l = 0;
	while (((size_t)1 << l) < n)
		l++;
	return l;
}

void t_ref_tree(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	enum { K = 1000 };
	rav_root tr = rav_root_new(h);
	rav_root hr = rav_root_new(h);
	rav_ref t, holders;
	CHECK_OK(rav_new_root(h, T_DATA, tr, &t));
	rav_store(h, t, 0, 777);
	/* K holder cells in a vector of references; each holder's f1 -> t. */
	CHECK_OK(rav_vec_new_root(h, hr, true));
	holders = rav_root_get(h, hr);
	rav_root tmp = rav_root_new(h);
	for (size_t i = 0; i < K; i++) {
		rav_ref n;
		CHECK_OK(rav_new_root(h, T_NODE, tmp, &n));
		rav_store(h, n, 0, i);
		CHECK_OK(rav_vec_push_ref(h, holders, n));
		/* tmp's reference goes: the holder keeps only the vector's. */
		CHECK_OK(rav_root_clear(h, tmp));
		holders = rav_root_get(h, hr);
		t = rav_root_get(h, tr);
		n = rav_vec_get_ref(h, holders, i);
		CHECK_OK(rav_store_ref(h, n, 1, t));
	}
	rav_root_free(h, tmp);
	CHECK_EQ(stats(h).ref_cells, K); /* K + 1 referrers */
	t = rav_root_get(h, tr);
	CHECK_EQ(referrers(h, t), K + 1);
	unsigned bound = 2 * log2_ceil(K + 1) + 2;
	holders = rav_root_get(h, hr);
	unsigned worst = 0;
	for (size_t i = 0; i < K; i++) {
		rav_ref n = rav_vec_get_ref(h, holders, i);
		CHECK(rav_load_ref(h, n, 1).cell == t.cell);
		unsigned d = hops_from_field(h, n, 1);
		if (d > worst)
			worst = d;
	}
	printf("# %d referrers: deepest path %u reference ravioli (bound %u)\n", K + 1, worst, bound);
	CHECK(worst <= bound);
	CHECK_HEAP(h);

	/* Drop referrers in a scattered order; the tree must stay shallow. */
	rav_rng rng = { 42 };
	bool cleared[K] = { false };
	size_t left = K;
	while (left > K / 4) {
		size_t i = rav_rng_below(&rng, K);
		if (cleared[i])
			continue;
		holders = rav_root_get(h, hr);
		CHECK_OK(rav_clear_ref(h, rav_vec_get_ref(h, holders, i), 1));
		cleared[i] = true;
		left--;
		if (left % 50 == 0) {
			CHECK_HEAP(h);
			CHECK_EQ(stats(h).ref_cells, left);
			t = rav_root_get(h, tr);
			CHECK_EQ(referrers(h, t), left + 1);
			holders = rav_root_get(h, hr);
			worst = 0;
			for (size_t j = 0; j < K; j++) {
				if (cleared[j])
					continue;
				unsigned d = hops_from_field(h, rav_vec_get_ref(h, holders, j), 1);
				worst = d > worst ? d : worst;
			}
			CHECK(worst <= 2 * log2_ceil(left + 1) + 2);
		}
	}
	/* The target survives its root as long as a holder refers to it. */
	CHECK_OK(rav_root_clear(h, tr));
	CHECK_EQ(stats(h).ref_cells, left - 1);
	holders = rav_root_get(h, hr);
	for (size_t j = 0; j < K; j++) {
		if (cleared[j])
			continue;
		rav_ref tt = rav_load_ref(h, rav_vec_get_ref(h, holders, j), 1);
		CHECK_EQ(rav_load(h, tt, 0), 777);
	}
	uint64_t before = live(h);
	for (size_t j = 0; j < K; j++) {
		if (cleared[j])
			continue;
		holders = rav_root_get(h, hr);
		CHECK_OK(rav_clear_ref(h, rav_vec_get_ref(h, holders, j), 1));
	}
	/* left - 1 reference ravioli and the target itself are gone. */
	CHECK_EQ(live(h), before - (left - 1) - 1);
	CHECK_EQ(stats(h).ref_cells, 0);
	rav_root_free(h, hr);
	rav_root_free(h, tr);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

void t_overwrite(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root ra = rav_root_new(h), rc = rav_root_new(h);
	rav_ref a, b, c;
	CHECK_OK(rav_new_root(h, T_PAIR, ra, &a));
	CHECK_OK(rav_new_field(h, T_NODE, a, 1, &b));
	CHECK_OK(rav_new_field(h, T_NODE, b, 1, NULL)); /* b's child goes with b */
	CHECK_OK(rav_new_root(h, T_DATA, rc, &c));
	rav_store(h, c, 0, 5);
	CHECK_EQ(live(h), base + 4);
	uint64_t frees = stats(h).frees;
	/* a.f1 = c: b and its child are freed, c gains a referrer. */
	CHECK_OK(rav_store_ref(h, a, 1, c));
	CHECK_EQ(stats(h).frees - frees, 2);
	CHECK_EQ(stats(h).ref_cells, 1);
	CHECK_EQ(live(h), base + 3); /* a, c, one reference raviolo */
	a = rav_root_get(h, ra);
	CHECK_EQ(rav_load(h, rav_load_ref(h, a, 1), 0), 5);
	/* Storing the same target again changes nothing visible. */
	CHECK_OK(rav_store_ref(h, a, 1, rav_root_get(h, rc)));
	a = rav_root_get(h, ra);
	CHECK_EQ(live(h), base + 3);
	CHECK(rav_load_ref(h, a, 1).cell == rav_root_get(h, rc).cell);
	/* Self-reference, then clear it. */
	CHECK_OK(rav_store_ref(h, a, 0, a));
	a = rav_root_get(h, ra);
	CHECK(rav_load_ref(h, a, 0).cell == a.cell);
	CHECK_OK(rav_clear_ref(h, a, 0));
	CHECK_EQ(live(h), base + 3);
	CHECK_HEAP(h);
	/* Clearing a's field leaves c with its root only. */
	a = rav_root_get(h, ra);
	CHECK_OK(rav_clear_ref(h, a, 1));
	CHECK_EQ(live(h), base + 2);
	CHECK_EQ(stats(h).ref_cells, 0);
	CHECK_OK(rav_clear_ref(h, rav_root_get(h, ra), 1)); /* clearing an empty field is fine */
	rav_root_free(h, ra);
	rav_root_free(h, rc);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}


void t_free_cascade(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	size_t n = rav_test_small() ? 100000 : 1000000;
	rav_root r = rav_root_new(h);
	build_list(h, r, n);
	CHECK_EQ(live(h), base + n);
	/* Spot-check the list order. */
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < 1000; i++) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK_HEAP(h);
	/* One clear frees the whole list without recursion. */
	CHECK_OK(rav_root_clear(h, r));
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);

	/* A complete binary tree of pairs goes the same way. */
	rav_ref t;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &t));
	size_t made = 1;
	rav_root q = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, q, true)); /* breadth-first frontier */
	rav_ref frontier = rav_root_get(h, q);
	CHECK_OK(rav_vec_push_ref(h, frontier, t));
	for (size_t i = 0; made < 65535; i++) {
		rav_ref p = rav_vec_get_ref(h, frontier, i);
		rav_ref c0, c1;
		CHECK_OK(rav_new_field(h, T_PAIR, p, 0, &c0));
		CHECK_OK(rav_new_field(h, T_PAIR, p, 1, &c1));
		CHECK_OK(rav_vec_push_ref(h, frontier, c0));
		CHECK_OK(rav_vec_push_ref(h, frontier, c1));
		made += 2;
	}
	rav_stats before = stats(h);
	rav_root_free(h, q); /* drops a second referrer of every node: many moves */
	rav_stats after = stats(h);
	printf("# freeing the frontier: %" PRIu64 " moves, %" PRIu64 " fix-ups\n", after.moves - before.moves,
	       after.fixups - before.fixups);
	CHECK(after.moves > before.moves);
	CHECK(after.fixups - before.fixups <= 3 * (after.moves - before.moves)); /* O(1) per move */
	CHECK_HEAP(h);
	CHECK_EQ(live(h), base + made);
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

void t_deferred(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h), keep = rav_root_new(h);
	build_list(h, keep, 300);
	build_list(h, r, 10000);
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	uint64_t moves = stats(h).moves;
	CHECK_OK(rav_root_clear(h, r));
	rav_stats s = stats(h);
	printf("# deferred: %" PRIu64 " dying, %" PRIu64 " dead after the clear, %" PRIu64 " moves\n", s.dying_cells,
	       s.dead_cells, s.moves - moves);
	/* The clear only queues the list's head: the cascade is deferred too. */
	CHECK(s.dead_cells + s.dying_cells > 0);
	CHECK_EQ(s.moves, moves);
	CHECK_HEAP(h);
	size_t queued = s.dead_cells + s.dying_cells, steps = 0;
	while (queued > 0) {
		size_t now = rav_compact(h, 100);
		queued = now;
		CHECK_EQ(stats(h).dead_cells + stats(h).dying_cells, queued);
		if (++steps % 10 == 0)
			CHECK_HEAP(h);
		CHECK(steps < 100000);
	}
	CHECK_EQ(live(h), base + 300);
	CHECK_HEAP(h);
	/* The surviving list moved but kept its contents. */
	rav_ref cur = rav_root_get(h, keep);
	for (size_t i = 0; i < 300; i++) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	/* Allocation while dead cells are queued, then compact all at once. */
	build_list(h, r, 5000);
	CHECK_OK(rav_root_clear(h, keep));
	CHECK_OK(rav_new_root(h, T_DATA, keep, NULL));
	CHECK_EQ(rav_compact(h, 0), 0);
	CHECK_HEAP(h);
	CHECK_EQ(live(h), base + 5001);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	rav_root_free(h, r);
	rav_root_free(h, keep);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

void t_collect(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root ra = rav_root_new(h), rk = rav_root_new(h);
	rav_ref a, b;
	build_list(h, rk, 100);
	CHECK_OK(rav_new_root(h, T_PAIR, ra, &a));
	CHECK_OK(rav_new_field(h, T_PAIR, a, 0, &b));
	CHECK_OK(rav_store_ref(h, b, 0, a)); /* a <-> b */
	a = rav_root_get(h, ra);
	CHECK_OK(rav_store_ref(h, a, 1, a)); /* and a self loop */
	CHECK_OK(rav_root_clear(h, ra));
	/* Reference counting cannot free the cycle. */
	CHECK(live(h) > base + 100);
	size_t freed = rav_collect(h);
	printf("# collect freed %zu ravioli\n", freed);
	CHECK(freed >= 2);
	CHECK_EQ(live(h), base + 100);
	CHECK_HEAP(h);
	rav_ref cur = rav_root_get(h, rk);
	for (size_t i = 0; i < 100; i++) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK_EQ(rav_collect(h), 0);
	rav_root_free(h, ra);
	rav_root_free(h, rk);
	CHECK_EQ(live(h), base);
}

void t_hysteresis(void)
{
	rav_heap *h = rav_heap_self();
	rav_stats s0 = stats(h);
	rav_root r = rav_root_new(h);
	build_list(h, r, 20 * RAV_PAGE_CELLS);
	CHECK(stats(h).pages >= s0.pages + 19);
	CHECK_OK(rav_root_clear(h, r));
	rav_stats s1 = stats(h);
	printf("# pages: %" PRIu64 " before, %" PRIu64 " after freeing 20 pages' worth\n", s0.pages, s1.pages);
	CHECK(s1.pages <= s0.pages + 1);
	CHECK(s1.pages_released > s0.pages_released);

	/* Fill exactly up to a page boundary, then hover across it. */
	rav_root cells[RAV_PAGE_CELLS];
	size_t n = 0;
	uint64_t pages = stats(h).pages;
	while (stats(h).pages == pages && n < RAV_PAGE_CELLS) {
		cells[n] = rav_root_new(h);
		CHECK_OK(rav_new_root(h, T_DATA, cells[n], NULL));
		n++;
	}
	rav_stats s2 = stats(h);
	for (int i = 0; i < 1000; i++) {
		CHECK_OK(rav_root_clear(h, cells[n - 1]));
		CHECK_OK(rav_new_root(h, T_DATA, cells[n - 1], NULL));
	}
	rav_stats s3 = stats(h);
	CHECK(s3.pages_acquired - s2.pages_acquired <= 1);
	CHECK(s3.pages_released - s2.pages_released <= 1);
	for (size_t i = 0; i < n; i++)
		rav_root_free(h, cells[i]);
	rav_root_free(h, r);
	CHECK(stats(h).pages <= s0.pages + 1);
	CHECK_HEAP(h);
}
