/* test-engine-pop.c - rav_move's list pop (access.c, pop_fast) in every
 * shape it takes or hands on to the general path (issue #9).
 *
 * A pop is rav_move(h, slot, field of the cell in slot): the popped cell
 * dies and, in an immediate-mode heap, the top cell moves into its place.
 * The fast path does that in one pass with the checks folded in, so each
 * case here places the top cell where a one-pass move can go wrong: it is
 * the popped cell's successor, it holds the slot being popped from, it
 * refers to itself, it is a reference raviolo, it is the popped cell.  The
 * shapes the fast path must refuse (a second child, a shared successor, a
 * message heap, deferred mode, a data field as a slot) must end as the
 * general path ends them.  Every case checks the counters a pop must move
 * (one free, one move) and ends with the full invariant check.
 */
#include "rav-test.h"

static rav_type T_NODE; /* f0 data, f1 ref */
static rav_type T_PAIR; /* f0 ref, f1 ref */

static int misuses;
static void count_misuse(rav_status st, const char *message, void *user)
{
	(void)st, (void)message, (void)user;
	misuses++;
}

static rav_stats stats(rav_heap *h)
{
	rav_stats s;
	rav_heap_stats(h, &s);
	return s;
}

/* Push value v at the head of the list in slot `at`. */
static rav_ref push(rav_heap *h, rav_slot at, uintptr_t v)
{
	rav_ref n;
	CHECK_OK(rav_new_before(h, T_NODE, at, 1, &n));
	rav_store(h, n, 0, v);
	return n;
}

/* Pop the head of the list in root r (which must hold one). */
static void pop(rav_heap *h, rav_root r)
{
	rav_ref head = rav_root_get(h, r);
	CHECK(!rav_ref_is_null(head));
	CHECK_OK(rav_move(h, rav_root_slot(r), rav_field_slot(head, 1)));
}

/* Pop the second cell of the list in root r, from the head's field. */
static void pop_second(rav_heap *h, rav_root r)
{
	rav_ref head = rav_root_get(h, r), second = rav_load_ref(h, head, 1);
	CHECK(!rav_ref_is_null(second));
	CHECK_OK(rav_move(h, rav_field_slot(head, 1), rav_field_slot(second, 1)));
}

/* The list in root r holds exactly want[0..n). */
static void check_list(rav_heap *h, rav_root r, const uintptr_t *want, size_t n)
{
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_load(h, cur, 0), want[i]);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
}

/* A pop in immediate mode: one free, one move (or a trim when the popped
 * cell was the top one), nothing left dead. */
#define check_pop_cost(h, before, moves) check_pop_cost_at(__LINE__, h, before, moves)
static void check_pop_cost_at(int line, rav_heap *h, rav_stats before, uint64_t moves)
{
	rav_stats after = stats(h);
	if (after.moves - before.moves != moves)
		fprintf(stderr, "pop at line %d: %llu moves\n", line, (unsigned long long)(after.moves - before.moves));
	CHECK_EQ(after.frees - before.frees, 1);
	CHECK_EQ(after.moves - before.moves, moves);
	CHECK_EQ(after.live_cells, before.live_cells - 1);
	CHECK_EQ(after.dead_cells, 0);
	CHECK_HEAP(h);
}

/* The top cell is an unrelated cell, the popped cell's successor, the
 * cell holding the popped-from slot, and the popped cell itself. */
static void t_top_shapes(void)
{
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h);
	CHECK(a && b);
	for (uintptr_t v = 5; v >= 1; v--)
		push(h, rav_root_slot(a), v); /* a: 1 2 3 4 5 */
	push(h, rav_root_slot(b), 9);        /* top: b's node */
	rav_stats s = stats(h);
	pop(h, a); /* an unrelated top cell moves */
	check_pop_cost(h, s, 1);
	check_list(h, a, (const uintptr_t[]){ 2, 3, 4, 5 }, 4);
	check_list(h, b, (const uintptr_t[]){ 9 }, 1);

	/* the successor is the top cell: it moves into its predecessor's
	 * place and the root names it there */
	CHECK_OK(rav_root_clear(h, b));
	rav_ref x = push(h, rav_root_slot(b), 20);
	CHECK_OK(rav_new_field(h, T_NODE, x, 1, NULL));
	rav_store(h, rav_load_ref(h, rav_root_get(h, b), 1), 0, 21); /* b: 20 21, 21 on top */
	s = stats(h);
	pop(h, b);
	check_pop_cost(h, s, 1);
	check_list(h, b, (const uintptr_t[]){ 21 }, 1);

	/* the top cell holds the slot popped from: b: 30 21 with 30 on top,
	 * popping 21 from 30's field */
	push(h, rav_root_slot(b), 30);
	s = stats(h);
	pop_second(h, b);
	check_pop_cost(h, s, 1);
	check_list(h, b, (const uintptr_t[]){ 30 }, 1);

	/* the popped cell is the top cell: trimmed, nothing moves */
	push(h, rav_root_slot(b), 31);
	s = stats(h);
	pop(h, b);
	check_pop_cost(h, s, 0);
	check_list(h, b, (const uintptr_t[]){ 30 }, 1);

	/* the last cell of a list (a's new head on top): the slot ends empty */
	push(h, rav_root_slot(a), 1);
	s = stats(h);
	pop(h, b);
	check_pop_cost(h, s, 1);
	CHECK(rav_ref_is_null(rav_root_get(h, b)));
	check_list(h, a, (const uintptr_t[]){ 1, 2, 3, 4, 5 }, 5);
	rav_root_free(h, a);
	rav_root_free(h, b);
	CHECK_HEAP(h);
}

/* The top cell refers to itself (its only referrer is its own field 1):
 * its self-reference must name its new place.  Then a pair referring to
 * itself through field 0 while its field 1 holds a list: the list's cells
 * move first (their referrers are the pair and each other), then the
 * pair. */
static void t_top_self(void)
{
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), r = rav_root_new(h);
	for (uintptr_t v = 6; v >= 1; v--)
		push(h, rav_root_slot(a), v);
	rav_ref c;
	CHECK_OK(rav_new_root(h, T_NODE, r, &c));
	rav_store(h, c, 0, 77);
	/* c's own field takes the root's reference: c refers to itself only */
	CHECK_OK(rav_move(h, rav_field_slot(c, 1), rav_root_slot(r)));
	CHECK_HEAP(h);
	rav_stats s = stats(h);
	pop(h, a); /* c moves */
	check_pop_cost(h, s, 1);
	check_list(h, a, (const uintptr_t[]){ 2, 3, 4, 5, 6 }, 5);

	rav_ref p;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &p));
	push(h, rav_field_slot(p, 1), 40);
	push(h, rav_field_slot(p, 1), 41);
	CHECK_OK(rav_move(h, rav_field_slot(p, 0), rav_root_slot(r))); /* p: itself in f0 */
	CHECK_HEAP(h);
	for (int k = 0; k < 3; k++) { /* 41 moves, then 40, then p */
		s = stats(h);
		pop(h, a);
		check_pop_cost(h, s, 1);
	}
	check_list(h, a, (const uintptr_t[]){ 5, 6 }, 2);
	CHECK_EQ(rav_collect(h), 4); /* c; p and its list */
	CHECK_HEAP(h);
	check_list(h, a, (const uintptr_t[]){ 5, 6 }, 2);
	rav_root_free(h, a);
	rav_root_free(h, r);
	CHECK_HEAP(h);
}

/* Reference ravioli on either side: the top cell is one (it moves with
 * its two back-links), the successor is shared (dst takes the reference
 * raviolo, whose back-link naming src now names dst). */
static void t_shared(void)
{
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h), other = rav_root_new(h);
	for (uintptr_t v = 4; v >= 1; v--)
		push(h, rav_root_slot(a), v);
	rav_ref y;
	CHECK_OK(rav_new_root(h, T_NODE, b, &y));
	rav_store(h, y, 0, 50);
	/* other's node shares y: a reference raviolo is allocated, on top */
	rav_ref o;
	CHECK_OK(rav_new_root(h, T_NODE, other, &o));
	CHECK_OK(rav_store_ref(h, o, 1, y));
	rav_stats s0 = stats(h);
	CHECK_EQ(s0.ref_cells, 1);
	rav_stats s = stats(h);
	pop(h, a); /* the top cell is the reference raviolo */
	check_pop_cost(h, s, 1);
	check_list(h, a, (const uintptr_t[]){ 2, 3, 4 }, 3);
	CHECK_EQ(rav_load(h, rav_load_ref(h, rav_root_get(h, other), 1), 0), 50);

	/* a's successor shared: a: 60 -> y (y also in b, through the
	 * reference raviolo) */
	CHECK_OK(rav_root_clear(h, a));
	rav_ref n;
	CHECK_OK(rav_new_root(h, T_NODE, a, &n));
	rav_store(h, n, 0, 60);
	CHECK_OK(rav_store_ref(h, n, 1, rav_root_get(h, b)));
	s = stats(h);
	pop(h, a);
	CHECK_EQ(stats(h).frees - s.frees, 1);
	CHECK_HEAP(h);
	CHECK_EQ(rav_load(h, rav_root_get(h, a), 0), 50);
	CHECK_EQ(rav_load(h, rav_root_get(h, b), 0), 50);
	rav_root_free(h, a);
	rav_root_free(h, b);
	rav_root_free(h, other);
	CHECK_HEAP(h);
}

/* A heap without reference ravioli writes a moved or pushed-onto cell's
 * back-link without reading its type word (backlink_slot_in): each mode
 * pops a shared successor and pushes onto a shared head (the reference
 * raviolo's back-link, not word 3, must change), then, the sharing gone
 * (ref_cells back to 0), pops and pushes again. */
static void t_shared_modes(void)
{
	rav_heap *h = rav_heap_self();
	for (int mode = 0; mode < 2; mode++) {
		rav_set_free_mode(h, mode ? RAV_FREE_DEFERRED : RAV_FREE_IMMEDIATE);
		rav_root a = rav_root_new(h), b = rav_root_new(h);
		rav_ref y, n;
		CHECK_OK(rav_new_root(h, T_NODE, b, &y));
		rav_store(h, y, 0, 50);
		CHECK_OK(rav_new_root(h, T_NODE, a, &n));
		rav_store(h, n, 0, 60);
		CHECK_OK(rav_store_ref(h, n, 1, y)); /* y: in b and after 60 in a */
		CHECK_EQ(stats(h).ref_cells, 1);
		pop(h, a); /* a takes the reference raviolo */
		CHECK_HEAP(h);
		push(h, rav_root_slot(b), 70); /* onto b, whose slot holds the reference raviolo */
		push(h, rav_root_slot(a), 80);
		CHECK_HEAP(h);
		check_list(h, b, (const uintptr_t[]){ 70, 50 }, 2);
		check_list(h, a, (const uintptr_t[]){ 80, 50 }, 2);
		pop(h, a);
		pop(h, a); /* the reference raviolo goes: y is b's alone */
		rav_compact(h, 0);
		CHECK_EQ(stats(h).ref_cells, 0);
		for (uintptr_t v = 1; v <= 3; v++)
			push(h, rav_root_slot(a), v);
		pop(h, b);
		push(h, rav_root_slot(b), 90);
		pop(h, a);
		CHECK_HEAP(h);
		check_list(h, a, (const uintptr_t[]){ 2, 1 }, 2);
		check_list(h, b, (const uintptr_t[]){ 90, 50 }, 2);
		rav_root_free(h, a);
		rav_root_free(h, b);
		rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
		CHECK_HEAP(h);
	}
}

/* Shapes the fast path hands on: the popped cell has a second child (it
 * dies with it), a data field named as a slot (refused, nothing changes),
 * deferred mode (a hole, no move), a message heap. */
static void t_other_shapes(void)
{
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h), a = rav_root_new(h);
	rav_ref p;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &p));
	CHECK_OK(rav_new_field(h, T_NODE, p, 0, NULL));
	CHECK_OK(rav_new_field(h, T_NODE, p, 1, NULL));
	rav_stats s = stats(h);
	CHECK_OK(rav_move(h, rav_root_slot(r), rav_field_slot(rav_root_get(h, r), 1)));
	CHECK_EQ(stats(h).frees - s.frees, 2); /* p and its field-0 child */
	CHECK_EQ(stats(h).live_cells, s.live_cells - 2);
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, r));

	for (uintptr_t v = 3; v >= 1; v--)
		push(h, rav_root_slot(a), v);
	rav_ref head = rav_root_get(h, a);
	s = stats(h);
	rav_set_error_handler(count_misuse, NULL);
	/* field 0 of a node is data (here 1: not even an address) */
	CHECK_STATUS(rav_move(h, rav_field_slot(head, 0), rav_field_slot(head, 1)), RAV_ETYPE);
	CHECK_STATUS(rav_move(h, (rav_slot){ NULL, 0 }, rav_field_slot(head, 1)), RAV_EINVAL);
	CHECK_STATUS(rav_move(h, rav_root_slot(a), (rav_slot){ NULL, 0 }), RAV_EINVAL);
	/* a data field holding the address of the cell it is in: the shape
	 * of a pop but for dst's kind */
	rav_store(h, head, 0, (uintptr_t)head.cell);
	CHECK_STATUS(rav_move(h, rav_field_slot(head, 0), rav_field_slot(head, 1)), RAV_ETYPE);
	rav_store(h, head, 0, 1);
	rav_set_error_handler(NULL, NULL);
	CHECK_EQ(misuses, 4);
	CHECK_EQ(stats(h).frees, s.frees);
	check_list(h, a, (const uintptr_t[]){ 1, 2, 3 }, 3);
	CHECK_HEAP(h);

	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	push(h, rav_root_slot(r), 99); /* the top cell */
	s = stats(h);
	pop(h, a);
	pop(h, a);
	rav_stats d = stats(h);
	CHECK_EQ(d.frees - s.frees, 2);
	CHECK_EQ(d.moves, s.moves);
	CHECK_EQ(d.dead_cells, 2);
	CHECK_HEAP(h);
	check_list(h, a, (const uintptr_t[]){ 3 }, 1);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	CHECK_EQ(stats(h).dead_cells, 0);
	check_list(h, a, (const uintptr_t[]){ 3 }, 1);
	check_list(h, r, (const uintptr_t[]){ 99 }, 1);
	CHECK_HEAP(h);

	rav_msg *m = rav_msg_new();
	CHECK(m);
	rav_heap *mh = rav_msg_heap(m);
	rav_root mr = rav_msg_root(m);
	for (uintptr_t v = 3; v >= 1; v--)
		push(mh, rav_root_slot(mr), v);
	pop(mh, mr);
	check_list(mh, mr, (const uintptr_t[]){ 2, 3 }, 2);
	CHECK_HEAP(mh);
	rav_msg_free(m);
	rav_root_free(h, a);
	rav_root_free(h, r);
	CHECK_HEAP(h);
}

/* Random pops and pushes over a few lists, other structures on top now
 * and then, in both modes, against a model of the lists. */
static void t_random(void)
{
	rav_heap *h = rav_heap_self();
	enum { LISTS = 8, MAX = 64 };
	size_t steps = rav_test_small() ? 4000 : 40000;
	rav_root roots[LISTS], extra = rav_root_new(h);
	uintptr_t model[LISTS][MAX];
	size_t len[LISTS] = { 0 };
	for (int i = 0; i < LISTS; i++)
		roots[i] = rav_root_new(h);
	rav_rng rng = { 9 };
	for (size_t step = 0; step < steps; step++) {
		if (step % 5000 == 2500)
			rav_set_free_mode(h, RAV_FREE_DEFERRED);
		else if (step % 5000 == 0)
			rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
		int l = (int)rav_rng_below(&rng, LISTS);
		uint64_t op = rav_rng_below(&rng, 16);
		if (op < 7 && len[l] > 0) {
			pop(h, roots[l]);
			memmove(model[l], model[l] + 1, --len[l] * sizeof model[l][0]);
		} else if (op < 14 && len[l] < MAX) {
			push(h, rav_root_slot(roots[l]), step);
			memmove(model[l] + 1, model[l], len[l]++ * sizeof model[l][0]);
			model[l][0] = step;
		} else if (op == 14) {
			/* something else on top: a pair, or a share of a list head */
			rav_ref e;
			CHECK_OK(rav_root_clear(h, extra));
			CHECK_OK(rav_new_root(h, T_PAIR, extra, &e));
			if (len[l] > 0)
				CHECK_OK(rav_store_ref(h, e, 0, rav_root_get(h, roots[l])));
		} else if (len[l] > 1) {
			/* pop the second cell, from the first cell's field */
			pop_second(h, roots[l]);
			memmove(model[l] + 1, model[l] + 2, (len[l] - 2) * sizeof model[l][0]);
			len[l]--;
		}
		if (step % 997 == 0) {
			CHECK_HEAP(h);
			for (int i = 0; i < LISTS; i++)
				check_list(h, roots[i], model[i], len[i]);
		}
	}
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	for (int i = 0; i < LISTS; i++) {
		check_list(h, roots[i], model[i], len[i]);
		rav_root_free(h, roots[i]);
	}
	rav_root_free(h, extra);
	CHECK_HEAP(h);
}

static const rav_test_case cases[] = {
	{ "top-shapes", t_top_shapes },
	{ "top-self", t_top_self },
	{ "shared", t_shared },
	{ "shared-modes", t_shared_modes },
	{ "other-shapes", t_other_shapes },
	{ "random", t_random },
};

int main(int argc, char **argv)
{
	T_NODE = rav_type_register("pop.node", RAV_DATA, RAV_REF);
	T_PAIR = rav_type_register("pop.pair", RAV_REF, RAV_REF);
	CHECK(T_NODE && T_PAIR);
	int rc = rav_test_run(cases, sizeof cases / sizeof cases[0], argc, argv);
	rav_thread_exit();
	return rc;
}
