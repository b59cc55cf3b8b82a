/* test-engine-unit.c - one test case per engine operation, through ravioli.h.
 *
 * Each case checks the visible result of an operation (field contents,
 * counters, the shape of reference trees) and ends with rav_heap_check so an
 * invariant broken on the way is caught at the case that broke it.  Cases
 * leave the thread's heap as they found it (same live cell count), which is
 * itself a check that frees, cascades and compaction account for every cell.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "rav-test.h"

static rav_type T_NODE; /* f0 data, f1 ref */
static rav_type T_PAIR; /* f0 ref, f1 ref */
static rav_type T_DATA; /* f0 data, f1 data */

static void register_types(void)
{
	T_NODE = rav_type_register("test.node", RAV_DATA, RAV_REF);
	T_PAIR = rav_type_register("test.pair", RAV_REF, RAV_REF);
	T_DATA = rav_type_register("test.data", RAV_DATA, RAV_DATA);
	CHECK(T_NODE >= RAV_TYPE_FIRST_USER && T_PAIR >= RAV_TYPE_FIRST_USER && T_DATA >= RAV_TYPE_FIRST_USER);
}

static rav_stats stats(rav_heap *h)
{
	rav_stats s;
	rav_heap_stats(h, &s);
	return s;
}

static uint64_t live(rav_heap *h)
{
	return stats(h).live_cells;
}

/* ---- types ---- */

static void t_types(void)
{
	CHECK(T_NODE != T_PAIR && T_PAIR != T_DATA);
	CHECK_EQ(rav_type_register("test.node", RAV_DATA, RAV_REF), T_NODE);
	CHECK_EQ(rav_type_lookup("test.pair"), T_PAIR);
	CHECK_EQ(rav_type_lookup("no.such.type"), 0);
	CHECK(strcmp(rav_type_name(T_DATA), "test.data") == 0);
	CHECK_EQ(rav_type_field_kind(T_NODE, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(T_NODE, 1), RAV_REF);
	CHECK(rav_type_count() > T_DATA);
	CHECK(rav_type_name((rav_type)(RAV_TYPE_MAX - 1)) == NULL);
	/* Same name, other kinds: refused with a message. */
	CHECK_EQ(rav_type_register("test.node", RAV_REF, RAV_REF), 0);
	CHECK(strlen(rav_last_error()) > 0);
	CHECK_EQ(rav_type_register(NULL, RAV_DATA, RAV_DATA), 0);

	/* Named fields: kept, NULL where none; the old call leaves them unnamed. */
	CHECK(rav_type_field_name(T_NODE, 0) == NULL && rav_type_field_name(T_NODE, 1) == NULL);
	rav_type named = rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, "next");
	CHECK(named != 0);
	CHECK(strcmp(rav_type_field_name(named, 0), "value") == 0);
	CHECK(strcmp(rav_type_field_name(named, 1), "next") == 0);
	CHECK(rav_type_field_name(named, 2) == NULL && rav_type_field_name((rav_type)(RAV_TYPE_MAX - 1), 0) == NULL);
	/* Again: the same id, with the same names or none given (a
	 * deserialization knows only kinds); other names are refused. */
	CHECK_EQ(rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, "next"), named);
	CHECK_EQ(rav_type_register("test.named", RAV_DATA, RAV_REF), named);
	CHECK_EQ(rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, NULL), named);
	CHECK_EQ(rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, "tail"), 0);
	CHECK(strstr(rav_last_error(), "next") != NULL);
	/* A type registered without names takes them when first given. */
	rav_type later = rav_type_register("test.later", RAV_REF, RAV_REF);
	CHECK_EQ(rav_type_register_named("test.later", RAV_REF, "left", RAV_REF, "right"), later);
	CHECK(strcmp(rav_type_field_name(later, 1), "right") == 0);
	/* Bad names: empty, too long, control characters, spaces at the ends. */
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, "", RAV_DATA, NULL), 0);
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, "a name longer than thirty-one bytes", RAV_DATA, NULL), 0);
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, "new\nline", RAV_DATA, NULL), 0);
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, " left", RAV_DATA, NULL), 0);
	CHECK(strlen(rav_last_error()) > 0);
	CHECK_EQ(rav_type_lookup("test.bad"), 0);
	/* The built-in tree types name their fields. */
	CHECK(strcmp(rav_type_field_name(RAV_TYPE_VEC_NODE, 0), "left") == 0);
	CHECK(strcmp(rav_type_field_name(RAV_TYPE_VEC, 0), "length") == 0);

	/* Built-in tree types carry the field kinds vec.c relies on. */
	CHECK(rav_type_name(RAV_TYPE_VEC) != NULL && rav_type_name(RAV_TYPE_BYTES) != NULL);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC, 1), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_BYTES, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_BYTES, 1), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_NODE, 0), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_NODE, 1), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_LEAF, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_LEAF, 1), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_RLEAF, 0), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_RLEAF, 1), RAV_REF);
	CHECK(strcmp(rav_status_name(RAV_ENOMEM), "RAV_ENOMEM") == 0);
}

/* ---- roots, fields, scalars ---- */

static void t_roots(void)
{
	rav_heap *h = rav_heap_self();
	CHECK(h != NULL);
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	CHECK(r != NULL);
	CHECK(!rav_root_is_set(h, r));
	CHECK(rav_ref_is_null(rav_root_get(h, r)));

	rav_ref a;
	CHECK_OK(rav_new_root(h, T_NODE, r, &a));
	CHECK(rav_root_is_set(h, r));
	CHECK(rav_root_get(h, r).cell == a.cell);
	CHECK_EQ(live(h), base + 1);

	/* A second root on the same cell: two referrers, one reference raviolo. */
	rav_root r2 = rav_root_new(h);
	CHECK_OK(rav_root_set(h, r2, a));
	CHECK_EQ(stats(h).ref_cells, 1);
	CHECK(rav_root_get(h, r2).cell == rav_root_get(h, r).cell);
	CHECK_OK(rav_root_clear(h, r));
	CHECK(!rav_root_is_set(h, r));
	CHECK_EQ(stats(h).ref_cells, 0);
	CHECK_EQ(live(h), base + 1);
	CHECK_HEAP(h);

	/* Replacing the only reference frees the old target. */
	rav_ref b;
	CHECK_OK(rav_new_root(h, T_DATA, r2, &b));
	CHECK_EQ(live(h), base + 1);
	CHECK_EQ(rav_type_of(h, rav_root_get(h, r2)), T_DATA);
	CHECK_OK(rav_root_set(h, r2, RAV_NULL_REF));
	CHECK_EQ(live(h), base);
	rav_root_free(h, r);
	rav_root_free(h, r2);
	CHECK_HEAP(h);
}

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
	CHECK(message != NULL && strlen(message) > 0);
}
#endif

static void t_fields(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	rav_ref a, b;
	CHECK_OK(rav_new_root(h, T_NODE, r, &a));
	CHECK_EQ(rav_type_of(h, a), T_NODE);
	CHECK_EQ(rav_load(h, a, 0), 0);
	CHECK(rav_ref_is_null(rav_load_ref(h, a, 1)));
	rav_store(h, a, 0, 0xdeadbeef);
	CHECK_EQ(rav_load(h, a, 0), 0xdeadbeef);
	rav_set_scalar(h, a, RAV_SCALAR_MAX);
	CHECK_EQ(rav_scalar(h, a), RAV_SCALAR_MAX);
	CHECK_EQ(rav_type_of(h, a), T_NODE); /* the scalar leaves the type alone */
	rav_set_scalar(h, a, 12345);
	CHECK_EQ(rav_scalar(h, a), 12345);

	CHECK_OK(rav_new_field(h, T_DATA, a, 1, &b));
	rav_store(h, b, 0, 1);
	rav_store(h, b, 1, UINTPTR_MAX);
	CHECK(rav_load_ref(h, a, 1).cell == b.cell);
	CHECK_EQ(rav_load(h, rav_load_ref(h, a, 1), 1), UINTPTR_MAX);
	CHECK_EQ(live(h), base + 2);

#if RAV_DEBUG
	/* Wrong kinds and indexes are misuse, caught by debug builds only
	 * (without the checks they are undefined behaviour, as documented). */
	misuse_log log = { 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	CHECK(rav_new_field(h, T_DATA, a, 0, NULL) != RAV_OK);
	CHECK(rav_new_field(h, T_DATA, a, 2, NULL) != RAV_OK);
	rav_set_error_handler(NULL, NULL);
	CHECK_EQ(log.count, 2);
	CHECK(log.last == RAV_ETYPE || log.last == RAV_EINVAL);
#endif
	CHECK(rav_new_root(h, (rav_type)(RAV_TYPE_MAX - 1), r, NULL) != RAV_OK);
	CHECK_EQ(live(h), base + 2);
	CHECK_HEAP(h);

	/* Clearing the field frees the child. */
	a = rav_root_get(h, r);
	CHECK_OK(rav_clear_ref(h, a, 1));
	CHECK_EQ(live(h), base + 1);
	a = rav_root_get(h, r);
	CHECK_EQ(rav_load(h, a, 0), 0xdeadbeef);
	CHECK_EQ(rav_scalar(h, a), 12345);
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

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

static bool count_slot(uintptr_t *slot, void *user)
{
	(void)slot;
	(*(size_t *)user)++;
	return true;
}

static size_t referrers(rav_heap *h, rav_ref obj)
{
	size_t n = 0;
	rav_referrers(h, obj, count_slot, &n);
	return n;
}

static unsigned log2_ceil(size_t n)
{
	unsigned l = 0;
	while (((size_t)1 << l) < n)
		l++;
	return l;
}

static void t_ref_tree(void)
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

static void t_overwrite(void)
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

/* A list of n nodes under root r, f0 = index. */
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

static void t_free_cascade(void)
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

static void t_deferred(void)
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

static void t_collect(void)
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

static void t_hysteresis(void)
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

/* ---- debug checks ---- */

static void t_stale_borrow(void)
{
#if RAV_DEBUG
	rav_heap *h = rav_heap_self();
	rav_root ra = rav_root_new(h), rb = rav_root_new(h);
	rav_ref a, b;
	CHECK_OK(rav_new_root(h, T_DATA, ra, &a));
	CHECK_OK(rav_new_root(h, T_DATA, rb, &b));
	rav_store(h, b, 0, 99);
	uint32_t gen = rav_heap_gen(h);
	CHECK_OK(rav_root_clear(h, ra)); /* frees a: b moves into its place */
	CHECK(rav_heap_gen(h) != gen);
	misuse_log log = { 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	(void)rav_load(h, b, 0);
	rav_set_error_handler(NULL, NULL);
	CHECK_EQ(log.count, 1);
	CHECK_EQ(log.last, RAV_ESTALE);
	/* A fresh borrow works. */
	CHECK_EQ(rav_load(h, rav_root_get(h, rb), 0), 99);
	rav_root_free(h, ra);
	rav_root_free(h, rb);
	CHECK_HEAP(h);
#else
	printf("# debug checks are off in this build: nothing to detect\n");
#endif
}

#if RAV_DEBUG
typedef struct cross_ctx {
	pthread_barrier_t ready, done;
	rav_ref foreign;
} cross_ctx;

static void *cross_thread(void *arg)
{
	cross_ctx *ctx = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_new_root(h, T_DATA, r, &ctx->foreign));
	pthread_barrier_wait(&ctx->ready);
	pthread_barrier_wait(&ctx->done);
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

#endif

static void t_cross_heap(void)
{
#if RAV_DEBUG
	rav_heap *h = rav_heap_self();
	cross_ctx ctx;
	pthread_t th;
	pthread_barrier_init(&ctx.ready, NULL, 2);
	pthread_barrier_init(&ctx.done, NULL, 2);
	CHECK_EQ(pthread_create(&th, NULL, cross_thread, &ctx), 0);
	pthread_barrier_wait(&ctx.ready);

	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	rav_ref mine;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &mine));
	misuse_log log = { 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	rav_status st = rav_store_ref(h, mine, 0, ctx.foreign);
	rav_set_error_handler(NULL, NULL);
	printf("# cross-heap store: returned %s, misuse handler called %d time(s), last %s\n", rav_status_name(st),
	       log.count, rav_status_name(log.last));
	CHECK(st == RAV_ECROSS || (log.count >= 1 && log.last == RAV_ECROSS));
	CHECK(log.count == 0 || log.last == RAV_ECROSS);
	mine = rav_root_get(h, r);
	CHECK(rav_ref_is_null(rav_load_ref(h, mine, 0)));
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);

	/* A refused push into a full reference vector leaves it as it was
	 * (the push would have grown the tree first). */
	rav_root vr = rav_root_new(h), t = rav_root_new(h);
	rav_ref x;
	CHECK_OK(rav_new_root(h, T_DATA, t, &x));
	CHECK_OK(rav_vec_new_root(h, vr, true));
	CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, vr), rav_root_get(h, t)));
	CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, vr), rav_root_get(h, t)));
	uint64_t before = live(h);
	log = (misuse_log){ 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	st = rav_vec_push_ref(h, rav_root_get(h, vr), ctx.foreign);
	rav_set_error_handler(NULL, NULL);
	CHECK(st != RAV_OK);
	CHECK_EQ(log.last, RAV_ECROSS);
	CHECK_EQ(live(h), before);
	CHECK_EQ(rav_vec_len(h, rav_root_get(h, vr)), 2);
	CHECK(rav_vec_get_ref(h, rav_root_get(h, vr), 1).cell == rav_root_get(h, t).cell);
	CHECK_HEAP(h);
	rav_root_free(h, vr);
	rav_root_free(h, t);
	CHECK_EQ(live(h), base);

	pthread_barrier_wait(&ctx.done);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&ctx.ready);
	pthread_barrier_destroy(&ctx.done);
#else
	printf("# debug checks are off in this build: nothing to detect\n");
#endif
}

/* ---- vectors and byte strings ---- */

static void t_vec_data(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, r, false));
	rav_ref v = rav_root_get(h, r);
	CHECK_EQ(rav_vec_len(h, v), 0);
	enum { N = 10000 };
	for (size_t i = 0; i < N; i++)
		CHECK_OK(rav_vec_push(h, v, i * 7 + 1)); /* push keeps borrows valid */
	CHECK_EQ(rav_vec_len(h, v), N);
	for (size_t i = 0; i < N; i++) {
		uintptr_t x;
		CHECK_OK(rav_vec_get(h, v, i, &x));
		CHECK_EQ(x, i * 7 + 1);
	}
	for (size_t i = 0; i < N; i += 3)
		CHECK_OK(rav_vec_set(h, v, i, ~(uintptr_t)i));
	CHECK_HEAP(h);
	uintptr_t x;
	CHECK_STATUS(rav_vec_get(h, v, N, &x), RAV_ERANGE);
	CHECK_STATUS(rav_vec_set(h, v, N + 5, 1), RAV_ERANGE);
	CHECK_STATUS(rav_vec_push_ref(h, v, v), RAV_ETYPE);
	CHECK(rav_ref_is_null(rav_vec_get_ref(h, v, 0)));
	/* Pop everything back: every tree cell is freed along the way. */
	for (size_t i = N; i-- > 0;) {
		CHECK_OK(rav_vec_pop(h, rav_root_get(h, r), &x));
		CHECK_EQ(x, i % 3 == 0 ? ~(uintptr_t)i : i * 7 + 1);
		if (i % 1000 == 0)
			CHECK_HEAP(h);
	}
	CHECK_EQ(live(h), base + 1);
	v = rav_root_get(h, r);
	CHECK_STATUS(rav_vec_pop(h, v, &x), RAV_ERANGE);

	/* Random pushes and pops against an array. */
	rav_rng rng = { 7 };
	uintptr_t *model = malloc(sizeof(uintptr_t) * 4096);
	size_t len = 0;
	for (int op = 0; op < 20000; op++) {
		v = rav_root_get(h, r);
		unsigned k = (unsigned)rav_rng_below(&rng, 10);
		if (k < 5 && len < 4096) {
			model[len] = rav_rng_next(&rng);
			CHECK_OK(rav_vec_push(h, v, model[len]));
			len++;
		} else if (k < 8 && len > 0) {
			CHECK_OK(rav_vec_pop(h, v, &x));
			CHECK_EQ(x, model[--len]);
		} else if (len > 0) {
			size_t i = rav_rng_below(&rng, len);
			CHECK_OK(rav_vec_get(h, v, i, &x));
			CHECK_EQ(x, model[i]);
			model[i] ^= 0x5555;
			CHECK_OK(rav_vec_set(h, v, i, model[i]));
		}
		if (op % 2000 == 0)
			CHECK_HEAP(h);
	}
	v = rav_root_get(h, r);
	CHECK_EQ(rav_vec_len(h, v), len);
	for (size_t i = 0; i < len; i++) {
		CHECK_OK(rav_vec_get(h, v, i, &x));
		CHECK_EQ(x, model[i]);
	}
	free(model);
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);

	/* A vector made in a field is a data vector. */
	rav_root p = rav_root_new(h);
	rav_ref holder, fv;
	CHECK_OK(rav_new_root(h, T_NODE, p, &holder));
	CHECK_OK(rav_new_field(h, RAV_TYPE_VEC, holder, 1, &fv));
	CHECK_OK(rav_vec_push(h, fv, 3));
	CHECK_OK(rav_vec_get(h, rav_load_ref(h, rav_root_get(h, p), 1), 0, &x));
	CHECK_EQ(x, 3);
	CHECK_STATUS(rav_vec_push(h, holder, 1), RAV_ETYPE);
	rav_root_free(h, p);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

static void t_vec_refs(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	enum { T = 8, N = 3000 };
	rav_root targets[T];
	for (int t = 0; t < T; t++) {
		rav_ref x;
		targets[t] = rav_root_new(h);
		CHECK_OK(rav_new_root(h, T_DATA, targets[t], &x));
		rav_store(h, x, 0, (uintptr_t)t);
	}
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, r, true));
	int which[N];
	for (int i = 0; i < N; i++) {
		which[i] = i % T;
		CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, r), rav_root_get(h, targets[which[i]])));
	}
	CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, r), RAV_NULL_REF)); /* a null element */
	rav_ref v = rav_root_get(h, r);
	CHECK_EQ(rav_vec_len(h, v), N + 1);
	CHECK(rav_ref_is_null(rav_vec_get_ref(h, v, N)));
	for (int t = 0; t < T; t++)
		CHECK_EQ(referrers(h, rav_root_get(h, targets[t])), N / T + 1);
	uintptr_t x;
	CHECK_STATUS(rav_vec_get(h, v, 0, &x), RAV_ETYPE);
	CHECK_STATUS(rav_vec_push(h, v, 1), RAV_ETYPE);
	CHECK_HEAP(h);
	/* Retarget every fifth element (moves cells). */
	for (int i = 0; i < N; i += 5) {
		which[i] = (which[i] + 1) % T;
		CHECK_OK(rav_vec_set_ref(h, rav_root_get(h, r), (size_t)i, rav_root_get(h, targets[which[i]])));
	}
	CHECK_HEAP(h);
	v = rav_root_get(h, r);
	for (int i = 0; i < N; i++)
		CHECK_EQ(rav_load(h, rav_vec_get_ref(h, v, (size_t)i), 0), which[i]);
	/* The vector alone keeps targets alive. */
	for (int t = 0; t < T; t++)
		CHECK_OK(rav_root_clear(h, targets[t]));
	v = rav_root_get(h, r);
	for (int i = 0; i < N; i += 7)
		CHECK_EQ(rav_load(h, rav_vec_get_ref(h, v, (size_t)i), 0), which[i]);
	CHECK_OK(rav_vec_set_ref(h, v, 1, RAV_NULL_REF));
	CHECK_OK(rav_vec_pop(h, rav_root_get(h, r), NULL));
	for (int i = N; i-- > 1;) {
		CHECK_OK(rav_vec_pop(h, rav_root_get(h, r), &x));
		if (i % 500 == 0)
			CHECK_HEAP(h);
	}
	/* One element left (index 0): header, one leaf and its target remain. */
	CHECK_EQ(live(h), base + 3);
	rav_root_free(h, r);
	for (int t = 0; t < T; t++)
		rav_root_free(h, targets[t]);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

static void t_bytes(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	enum { N = 10000 };
	unsigned char *data = malloc(N), *back = malloc(N + 16);
	rav_rng rng = { 99 };
	for (size_t i = 0; i < N; i++)
		data[i] = (unsigned char)rav_rng_next(&rng);
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_bytes_new_root(h, r, data, 3));
	rav_ref b = rav_root_get(h, r);
	size_t len = 3;
	while (len < N) {
		size_t chunk = rav_rng_below(&rng, 38);
		if (chunk > N - len)
			chunk = N - len;
		CHECK_OK(rav_bytes_append(h, b, data + len, chunk));
		len += chunk;
		CHECK_EQ(rav_bytes_len(h, b), len);
	}
	CHECK_EQ(rav_bytes_read(h, b, 0, back, N + 16), N);
	CHECK(memcmp(back, data, N) == 0);
	for (int k = 0; k < 2000; k++) {
		size_t off = rav_rng_below(&rng, N), n = rav_rng_below(&rng, 50);
		size_t want = n < N - off ? n : N - off;
		CHECK_EQ(rav_bytes_read(h, b, off, back, n), want);
		CHECK(memcmp(back, data + off, want) == 0);
		CHECK_EQ(rav_bytes_at(h, b, off), data[off]);
	}
	CHECK_EQ(rav_bytes_at(h, b, N), -1);
	CHECK_EQ(rav_bytes_read(h, b, N, back, 10), 0);
	CHECK_STATUS(rav_bytes_append(h, b, NULL, 5), RAV_EINVAL);
	CHECK_OK(rav_bytes_append(h, b, NULL, 0));
	CHECK_STATUS(rav_vec_push(h, b, 1), RAV_ETYPE);
	/* 16 bytes per leaf, so about N/16 leaves plus the tree above them. */
	uint64_t cells = live(h) - base;
	printf("# %d bytes in %" PRIu64 " ravioli\n", N, cells);
	CHECK(cells >= N / 16 && cells <= N / 16 * 2 + 64);
	CHECK_HEAP(h);
	/* Empty string. */
	rav_root e = rav_root_new(h);
	CHECK_OK(rav_bytes_new_root(h, e, NULL, 0));
	CHECK_EQ(rav_bytes_len(h, rav_root_get(h, e)), 0);
	CHECK_EQ(rav_bytes_at(h, rav_root_get(h, e), 0), -1);
	rav_root_free(h, e);
	rav_root_free(h, r);
	free(data);
	free(back);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

/* ---- messages ---- */

/* Checks that root r holds a list of n nodes with f0 = salt + index. */
static void check_list(rav_heap *h, rav_root r, size_t n, uintptr_t salt)
{
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_type_of(h, cur), T_NODE);
		CHECK_EQ(rav_load(h, cur, 0), salt + i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
}

static void build_salted_list(rav_heap *h, rav_root r, size_t n, uintptr_t salt)
{
	build_list(h, r, n);
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		rav_store(h, cur, 0, salt + i);
		cur = rav_load_ref(h, cur, 1);
	}
}

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

static void t_messages(void)
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

/* ---- serialization ---- */

/* A mixed structure: pair(list, pair(data vector, bytes)) plus sharing. */
static void build_mixed(rav_heap *h, rav_root r, bool shared)
{
	rav_ref top, inner, x;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &top));
	CHECK_OK(rav_new_field(h, T_NODE, top, 0, &x));
	for (int i = 0; i < 300; i++) {
		rav_store(h, x, 0, (uintptr_t)i * 3);
		rav_set_scalar(h, x, (uintptr_t)i);
		CHECK_OK(rav_new_field(h, T_NODE, x, 1, &x));
	}
	CHECK_OK(rav_new_field(h, T_PAIR, top, 1, &inner));
	CHECK_OK(rav_new_field(h, RAV_TYPE_VEC, inner, 0, &x));
	for (uintptr_t i = 0; i < 500; i++)
		CHECK_OK(rav_vec_push(h, x, i * i));
	CHECK_OK(rav_new_field(h, RAV_TYPE_BYTES, inner, 1, &x));
	CHECK_OK(rav_bytes_append(h, x, "serialized ravioli keep their bytes", 35));
	if (!shared)
		return;
	/* The list's last node refers back to its head: a shared cell. */
	top = rav_root_get(h, r);
	rav_ref head = rav_load_ref(h, top, 0);
	rav_ref last = head;
	while (!rav_ref_is_null(rav_load_ref(h, last, 1)))
		last = rav_load_ref(h, last, 1);
	CHECK_OK(rav_store_ref(h, last, 1, head)); /* cycle back to the head */
}

static void check_mixed(rav_heap *h, rav_root r, bool shared)
{
	rav_ref top = rav_root_get(h, r);
	CHECK_EQ(rav_type_of(h, top), T_PAIR);
	rav_ref head = rav_load_ref(h, top, 0), x = head;
	for (int i = 0; i < 300; i++) {
		CHECK_EQ(rav_type_of(h, x), T_NODE);
		CHECK_EQ(rav_load(h, x, 0), (uintptr_t)i * 3);
		CHECK_EQ(rav_scalar(h, x), (uintptr_t)i);
		x = rav_load_ref(h, x, 1);
	}
	CHECK_EQ(rav_load(h, x, 0), 0);
	CHECK(rav_load_ref(h, x, 1).cell == (shared ? head.cell : NULL));
	CHECK_EQ(referrers(h, head), shared ? 2 : 1);
	rav_ref inner = rav_load_ref(h, top, 1);
	rav_ref v = rav_load_ref(h, inner, 0);
	CHECK_EQ(rav_vec_len(h, v), 500);
	for (size_t i = 0; i < 500; i++) {
		uintptr_t e;
		CHECK_OK(rav_vec_get(h, v, i, &e));
		CHECK_EQ(e, i * i);
	}
	rav_ref b = rav_load_ref(h, inner, 1);
	char buf[64];
	CHECK_EQ(rav_bytes_read(h, b, 0, buf, sizeof buf), 35);
	CHECK(memcmp(buf, "serialized ravioli keep their bytes", 35) == 0);
}

static int temp_fd(void)
{
	char path[] = "/tmp/rav-test-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	return fd;
}

static size_t fd_size(int fd)
{
	off_t end = lseek(fd, 0, SEEK_END);
	CHECK(end >= 0);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	return (size_t)end;
}

static void t_serialize(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root src = rav_root_new(h), dst = rav_root_new(h);
	build_mixed(h, src, false);
	check_mixed(h, src, false);
	uint64_t one = live(h) - base;

	for (unsigned flags = 0; flags <= RAV_SER_COMPRESS; flags += RAV_SER_COMPRESS) {
		/* Through a file. */
		int fd = temp_fd();
		CHECK_OK(rav_serialize(h, src, fd, flags));
		size_t size = fd_size(fd);
		printf("# serialized %" PRIu64 " ravioli into %zu bytes (flags %u)\n", one, size, flags);
		CHECK_OK(rav_deserialize(h, fd, dst));
		close(fd);
		check_mixed(h, dst, false);
		check_mixed(h, src, false); /* serializing consumes nothing */
		CHECK_EQ(live(h), base + 2 * one);
		CHECK_HEAP(h);
		CHECK_OK(rav_root_clear(h, dst));

		/* Through a pipe large enough to hold it all. */
		int p[2];
		CHECK(pipe(p) == 0);
		CHECK(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) > 0);
		CHECK_OK(rav_serialize(h, src, p[1], flags));
		close(p[1]);
		CHECK_OK(rav_deserialize(h, p[0], dst));
		close(p[0]);
		check_mixed(h, dst, false);
		CHECK_HEAP(h);
		CHECK_OK(rav_root_clear(h, dst));
		CHECK_EQ(live(h), base + one);
	}

	/* A subtree with a shared cell is refused by rav_serialize (documented
	 * choice: sharing travels as a message)... */
	rav_root shared = rav_root_new(h);
	build_mixed(h, shared, true);
	uint64_t with_shared = live(h);
	int fd = temp_fd();
	CHECK_STATUS(rav_serialize(h, shared, fd, 0), RAV_EINVAL);
	close(fd);
	rav_root_free(h, shared);
	CHECK(rav_collect(h) >= 301); /* the list is a cycle through its head */
	/* ...and a message serializes with its sharing, and stays sendable. */
	rav_msg *m = rav_msg_new();
	build_mixed(rav_msg_heap(m), rav_msg_root(m), true);
	fd = temp_fd();
	CHECK_OK(rav_serialize_msg(m, fd, RAV_SER_COMPRESS));
	fd_size(fd);
	CHECK_OK(rav_deserialize(h, fd, dst));
	close(fd);
	check_mixed(h, dst, true);
	CHECK_EQ(live(h), with_shared);
	rav_channel *ch = rav_channel_new();
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst));
	check_mixed(h, dst, true);
	rav_channel_free(ch);
	CHECK_OK(rav_root_clear(h, dst));
	CHECK(rav_collect(h) >= 2 * 301);
	CHECK_EQ(live(h), base + one);
	CHECK_HEAP(h);
	rav_root_free(h, src);
	rav_root_free(h, dst);
	CHECK_EQ(live(h), base);
}

/* Deserializing `len` bytes of `buf`: returns the status, checks the heap. */
static rav_status load_bytes(rav_heap *h, const unsigned char *buf, size_t len, rav_root dst)
{
	int fd = temp_fd();
	CHECK(write(fd, buf, len) == (ssize_t)len);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	rav_status st = rav_deserialize(h, fd, dst);
	close(fd);
	CHECK_HEAP(h);
	return st;
}

static void t_serialize_corrupt(void)
{
	rav_heap *h = rav_heap_self();
	rav_root src = rav_root_new(h), dst = rav_root_new(h);
	build_mixed(h, src, false);
	uint64_t base = live(h);
	for (unsigned flags = 0; flags <= RAV_SER_COMPRESS; flags += RAV_SER_COMPRESS) {
		int fd = temp_fd();
		CHECK_OK(rav_serialize(h, src, fd, flags));
		size_t size = fd_size(fd);
		unsigned char *img = malloc(size);
		CHECK(read(fd, img, size) == (ssize_t)size);
		close(fd);
		CHECK_OK(load_bytes(h, img, size, dst)); /* the pristine image loads */
		CHECK_OK(rav_root_clear(h, dst));

		/* Truncated anywhere: a precise error, nothing added to the heap. */
		size_t cuts[] = { 0, 1, 4, 8, 16, 31, 64, size / 3, size / 2, size - 8, size - 1 };
		for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
			if (cuts[i] >= size)
				continue;
			CHECK_STATUS(load_bytes(h, img, cuts[i], dst), RAV_EFORMAT);
			CHECK(!rav_root_is_set(h, dst));
			CHECK_EQ(live(h), base);
		}
		/* A wrong magic. */
		img[0] ^= 0xff;
		CHECK_STATUS(load_bytes(h, img, size, dst), RAV_EFORMAT);
		img[0] ^= 0xff;
		CHECK_EQ(live(h), base);
		/* Garbage. */
		unsigned char junk[4096];
		rav_rng rng = { 5 };
		for (size_t i = 0; i < sizeof junk; i++)
			junk[i] = (unsigned char)rav_rng_next(&rng);
		CHECK_STATUS(load_bytes(h, junk, sizeof junk, dst), RAV_EFORMAT);
		/* Single flipped bytes: rejected, or loaded into a consistent heap. */
		size_t rejected = 0, loaded = 0;
		for (int k = 0; k < 300; k++) {
			size_t at = rav_rng_below(&rng, size);
			unsigned char bit = (unsigned char)(1u << rav_rng_below(&rng, 8));
			img[at] ^= bit;
			rav_status st = load_bytes(h, img, size, dst);
			img[at] ^= bit;
			CHECK(st == RAV_OK || st == RAV_EFORMAT);
			if (st == RAV_OK) {
				loaded++;
				CHECK_OK(rav_root_clear(h, dst));
				rav_collect(h);
			} else {
				rejected++;
			}
			CHECK_EQ(live(h), base);
		}
		printf("# flags %u: %zu-byte image, of 300 single-bit flips %zu rejected, %zu loaded\n", flags, size,
		       rejected, loaded);
		free(img);
	}
	/* Bad descriptor. */
	CHECK_STATUS(rav_deserialize(h, -1, dst), RAV_EIO);
	CHECK_STATUS(rav_serialize(h, src, -1, 0), RAV_EIO);
	rav_root_free(h, src);
	rav_root_free(h, dst);
	CHECK_HEAP(h);
}

/* A big subtree streamed through a plain pipe (64 KiB buffer) to another
 * thread that deserializes into its own heap: both sides must cope with
 * partial reads and writes. */
typedef struct stream_ctx {
	int fd;
	size_t n;
	rav_status st;
} stream_ctx;

static void *stream_reader(void *arg)
{
	stream_ctx *c = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	c->st = rav_deserialize(h, c->fd, r);
	if (c->st == RAV_OK) {
		rav_ref cur = rav_root_get(h, r);
		for (size_t i = 0; i < c->n; i++) {
			CHECK_EQ(rav_load(h, cur, 0), i);
			cur = rav_load_ref(h, cur, 1);
		}
		CHECK(rav_ref_is_null(cur));
		CHECK_HEAP(h);
	}
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

static void t_serialize_stream(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root src = rav_root_new(h);
	size_t n = rav_test_small() ? 20000 : 200000;
	build_list(h, src, n);
	for (unsigned flags = 0; flags <= RAV_SER_COMPRESS; flags += RAV_SER_COMPRESS) {
		int p[2];
		CHECK(pipe(p) == 0);
		stream_ctx c = { p[0], n, RAV_EIO };
		pthread_t th;
		CHECK_EQ(pthread_create(&th, NULL, stream_reader, &c), 0);
		CHECK_OK(rav_serialize(h, src, p[1], flags));
		close(p[1]);
		pthread_join(th, NULL);
		close(p[0]);
		CHECK_OK(c.st);
	}
	/* A reader that goes away: the writer gets an error, not a signal death. */
	int p[2];
	CHECK(pipe(p) == 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_STATUS(rav_serialize(h, src, p[1], 0), RAV_EIO);
	close(p[1]);
	rav_root_free(h, src);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

static void t_channel_leftovers(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	/* Messages still queued when the channel goes are freed with it. */
	rav_channel *ch = rav_channel_new();
	for (int k = 0; k < 3; k++) {
		rav_msg *m = rav_msg_new();
		build_salted_list(rav_msg_heap(m), rav_msg_root(m), 200, 0);
		CHECK_OK(rav_send(ch, m));
	}
	rav_channel_close(ch);
	rav_root dst = rav_root_new(h);
	CHECK_OK(rav_recv(ch, h, dst)); /* closed but not empty: still delivers */
	check_list(h, dst, 200, 0);
	rav_channel_free(ch);

	/* Vectors and byte strings travel like any subtree. */
	rav_root v = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, v, false));
	for (uintptr_t i = 0; i < 1000; i++)
		CHECK_OK(rav_vec_push(h, rav_root_get(h, v), i * 3));
	ch = rav_channel_new();
	rav_msg *m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, v));
	CHECK_OK(rav_send(ch, m));
	m = rav_msg_new();
	CHECK_OK(rav_bytes_new_root(rav_msg_heap(m), rav_msg_root(m), "hello, ravioli", 14));
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, v));
	rav_ref vec = rav_root_get(h, v);
	CHECK_EQ(rav_vec_len(h, vec), 1000);
	for (size_t i = 0; i < 1000; i += 37) {
		uintptr_t x;
		CHECK_OK(rav_vec_get(h, vec, i, &x));
		CHECK_EQ(x, i * 3);
	}
	CHECK_OK(rav_vec_pop(h, vec, NULL)); /* received vectors stay usable */
	CHECK_OK(rav_recv(ch, h, dst));
	char buf[16];
	CHECK_EQ(rav_bytes_read(h, rav_root_get(h, dst), 0, buf, sizeof buf), 14);
	CHECK(memcmp(buf, "hello, ravioli", 14) == 0);
	/* A vector grown inside a message heap (its growth uses scratch
	 * roots, which are cells there) arrives intact. */
	m = rav_msg_new();
	rav_heap *mh = rav_msg_heap(m);
	CHECK_OK(rav_vec_new_root(mh, rav_msg_root(m), false));
	for (uintptr_t i = 0; i < 3000; i++)
		CHECK_OK(rav_vec_push(mh, rav_root_get(mh, rav_msg_root(m)), i ^ 0xabc));
	CHECK_HEAP(mh);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst));
	CHECK_HEAP(h);
	vec = rav_root_get(h, dst);
	CHECK_EQ(rav_vec_len(h, vec), 3000);
	for (size_t i = 0; i < 3000; i++) {
		uintptr_t x;
		CHECK_OK(rav_vec_get(h, vec, i, &x));
		CHECK_EQ(x, i ^ 0xabc);
	}
	m = rav_msg_new();
	CHECK_OK(rav_bytes_new_root(rav_msg_heap(m), rav_msg_root(m), "hello, ravioli", 14));
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst));
	CHECK_EQ(rav_bytes_read(h, rav_root_get(h, dst), 0, buf, sizeof buf), 14);
	CHECK(memcmp(buf, "hello, ravioli", 14) == 0);
	CHECK_HEAP(h);
	/* An empty message arrives as an empty root (dropping what dst held). */
	m = rav_msg_new();
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_try_recv(ch, h, dst));
	CHECK(!rav_root_is_set(h, dst));
	rav_channel_free(ch);
	rav_root_free(h, v);
	rav_root_free(h, dst);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

/* A thread that ends with live cells, roots, a message in flight and queued
 * deferred work: its pages go back to the pool by themselves (the
 * thread-exit destructor). */
static void *leave_things_behind(void *arg)
{
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	build_list(h, r, 10000);
	rav_root shared = rav_root_new(h);
	CHECK_OK(rav_root_set(h, shared, rav_root_get(h, r)));
	rav_msg *m = rav_msg_new();
	build_salted_list(rav_msg_heap(m), rav_msg_root(m), 100, 0);
	CHECK_OK(rav_send((rav_channel *)arg, m)); /* in flight when the thread ends */
	/* And deferred work still queued: a big list's kill cascade. */
	rav_root big = rav_root_new(h);
	build_list(h, big, 5000);
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	CHECK_OK(rav_root_clear(h, big));
	CHECK(rav_compact(h, 10) > 0);
	return NULL;
}

static void t_thread_exit(void)
{
	rav_heap *h = rav_heap_self();
	rav_pool_stats before, after;
	rav_pool_stats_get(&before);
	rav_channel *ch = rav_channel_new();
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, leave_things_behind, ch), 0);
	CHECK_EQ(pthread_join(th, NULL), 0);
	/* The message outlives its sender. */
	rav_root dst = rav_root_new(h);
	CHECK_OK(rav_recv(ch, h, dst));
	check_list(h, dst, 100, 0);
	rav_root_free(h, dst);
	rav_channel_free(ch);
	rav_pool_stats_get(&after);
	printf("# pool used pages: %" PRIu64 " before, %" PRIu64 " after the thread ended\n", before.used_pages,
	       after.used_pages);
	/* Only this thread's heap holds pages now. */
	rav_stats s = stats(h);
	CHECK_EQ(after.used_pages, s.pages + s.root_pages);
	CHECK_HEAP(h);
}

/* ---- inspection ---- */

typedef struct walk_count {
	uint64_t pages, root_pages, cells, headers, refs, user_nodes, fill_sum;
} walk_count;

static bool count_page(rav_heap *h, size_t page_index, unsigned fill, bool is_root_page, void *user)
{
	walk_count *w = user;
	w->pages++;
	w->root_pages += is_root_page;
	if (!is_root_page)
		w->fill_sum += fill;
	return true;
}

static bool count_cell(rav_heap *h, const rav_cell_info *info, void *user)
{
	walk_count *w = user;
	CHECK_EQ(rav_page_index(info->cell), info->page);
	if (info->type == RAV_TYPE_HEADER) {
		w->headers++;
		CHECK_EQ(info->slot, 0);
		return true;
	}
	if (info->type == RAV_TYPE_ROOT || info->type == RAV_TYPE_EMPTY)
		return true;
	w->cells++;
	w->refs += info->type == RAV_TYPE_REF;
	w->user_nodes += info->type == T_NODE;
	return true;
}

static bool stop_at_first(rav_heap *h, const rav_cell_info *info, void *user)
{
	(*(int *)user)++;
	return false;
}

static void t_inspect(void)
{
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h), r2 = rav_root_new(h);
	build_list(h, r, 1000);
	CHECK_OK(rav_root_set(h, r2, rav_root_get(h, r))); /* one reference raviolo */
	rav_stats s = stats(h);
	walk_count w = { 0 };
	rav_heap_walk(h, count_page, count_cell, &w);
	printf("# walk: %" PRIu64 " pages (%" PRIu64 " root), %" PRIu64 " cells; stats: %" PRIu64 " live, %" PRIu64
	       " pages\n",
	       w.pages, w.root_pages, w.cells, s.live_cells, s.pages);
	CHECK_EQ(w.cells, s.live_cells);
	CHECK_EQ(w.refs, s.ref_cells);
	CHECK_EQ(w.refs, 1);
	CHECK(w.user_nodes >= 1000);
	CHECK_EQ(w.pages - w.root_pages, s.pages);
	CHECK_EQ(w.root_pages, s.root_pages);
	int seen = 0;
	rav_heap_walk(h, NULL, stop_at_first, &seen);
	CHECK_EQ(seen, 1);

	/* One cell in detail: its back-link names the parent's field. */
	rav_ref head = rav_root_get(h, r);
	rav_ref second = rav_load_ref(h, head, 1);
	rav_cell_info info;
	rav_cell_inspect(h, second.cell, &info);
	CHECK(info.cell == second.cell);
	CHECK_EQ(info.type, T_NODE);
	CHECK_EQ(info.field[0], 1);
	CHECK_EQ(info.field[1], (uintptr_t)rav_load_ref(h, second, 1).cell);
	CHECK_EQ(info.back[0], (uintptr_t)&head.cell->w[RAV_W_F1]);
	CHECK_EQ(info.page, rav_page_index(second.cell));
	CHECK(info.slot > 0 && info.slot < RAV_PAGE_CELLS);
	CHECK((char *)second.cell >= (char *)rav_pool_base());

	/* The head has two referrers: the two roots, through one reference raviolo. */
	CHECK_EQ(referrers(h, head), 2);
	CHECK_EQ(referrers(h, second), 1);

	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	CHECK(ps.used_pages >= s.pages);
	CHECK(ps.reserved_pages >= ps.used_pages + ps.free_pages);
	CHECK(ps.limit_pages > 0);

	uint64_t allocs = stats(h).allocs, frees = stats(h).frees;
	rav_root_free(h, r2);
	CHECK_OK(rav_new_field(h, T_DATA, rav_root_get(h, r), 1, NULL)); /* replaces 999 nodes */
	s = stats(h);
	CHECK_EQ(s.allocs - allocs, 1);
	CHECK_EQ(s.frees - frees, 999 + 1); /* the list tail and the reference raviolo */
	CHECK(s.moves > 0 && s.fixups > 0);
	rav_root_free(h, r);
	CHECK_HEAP(h);
}

static const rav_test_case cases[] = {
	{ "types", t_types },
	{ "roots", t_roots },
	{ "fields", t_fields },
	{ "ref-tree", t_ref_tree },
	{ "overwrite", t_overwrite },
	{ "free-cascade", t_free_cascade },
	{ "deferred", t_deferred },
	{ "collect", t_collect },
	{ "hysteresis", t_hysteresis },
	{ "stale-borrow", t_stale_borrow },
	{ "cross-heap", t_cross_heap },
	{ "vec-data", t_vec_data },
	{ "vec-refs", t_vec_refs },
	{ "bytes", t_bytes },
	{ "messages", t_messages },
	{ "serialize", t_serialize },
	{ "serialize-corrupt", t_serialize_corrupt },
	{ "serialize-stream", t_serialize_stream },
	{ "channel-leftovers", t_channel_leftovers },
	{ "thread-exit", t_thread_exit },
	{ "inspect", t_inspect },
};

int main(int argc, char **argv)
{
	register_types();
	int rc = rav_test_run(cases, sizeof cases / sizeof cases[0], argc, argv);
	rav_thread_exit();
	return rc;
}
