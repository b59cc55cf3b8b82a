/* study-q2.c - question 2: the amortized cost of a free.
 *
 * A free in ravioli memory moves the heap's top cell into the hole and
 * fixes the words naming it (the slot referring to it, the back-links of
 * its children).  The engine counts both (rav_stats: frees, moves,
 * fixups), so the study reads them around realistic work on one heap:
 *
 *  - list: a 4096-node singly linked list; each step deletes the node at a
 *    random position (splicing it out with rav_move) and pushes a new one
 *    at the head;
 *  - bst: an unbalanced binary search tree of random keys (key in the
 *    type word's scalar, both fields children), random inserts and deletes;
 *  - trie: a binary trie of 16-bit hashed keys (16 levels, one cell per
 *    level on each path), inserts and deletes that prune empty branches;
 *  - mixed: the three on one heap at once, steps drawn at random, plus
 *    every 256 steps a 64-cell temporary list built and dropped whole.
 *
 * Each runs twice: immediate compaction (the freeing call moves) and
 * deferred (the call only queues; the program calls rav_compact(h, 8)
 * after each step, a bounded amount of work).  Time is per step
 * (search included), interleaved best-of-N.
 *
 * Bulk deletes: a list of N cells whose cells alternate in memory with a
 * surviving list's, and a balanced tree of N cells built below N survivors,
 * dropped with one call: immediate (everything in the call) against deferred
 * (an O(1) call, then rav_compact steps of 1024 units), for N growing 4x at
 * a time.  Time per freed cell staying flat as N grows means linear, not
 * quadratic; the longest deferred step (thread CPU time) is the pause.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ravioli.h"
#include "study.h"

static void q2_die(const char *what)
{
	fprintf(stderr, "rav-bench --study q2: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define Q2_OK(expr)                                                                                          \
	do {                                                                                                 \
		if ((expr) != RAV_OK)                                                                        \
			q2_die(#expr);                                                                       \
	} while (0)

static rav_type T_LIST, T_NODE;

static void q2_types(void)
{
	T_LIST = rav_type_register("q2.list", RAV_DATA, RAV_REF);
	T_NODE = rav_type_register("q2.node", RAV_REF, RAV_REF);
	if (!T_LIST || !T_NODE)
		q2_die("rav_type_register");
}

static uint64_t q2_rand(uint64_t *s)
{
	return bench_rand(s);
}

/* ---- list ---- */

static void list_push(rav_heap *h, rav_root r, uintptr_t v)
{
	rav_ref n;
	Q2_OK(rav_new_before(h, T_LIST, rav_root_slot(r), 1, &n));
	rav_store(h, n, 0, v);
}

/* Delete the node at position pos (0 = head) of a list of at least pos+1. */
static void list_delete_at(rav_heap *h, rav_root r, size_t pos)
{
	rav_ref node = rav_root_get(h, r);
	if (pos == 0) {
		Q2_OK(rav_move(h, rav_root_slot(r), rav_field_slot(node, 1)));
		return;
	}
	rav_ref prev = node;
	for (size_t i = 1; i < pos; i++)
		prev = rav_load_ref(h, prev, 1);
	node = rav_load_ref(h, prev, 1);
	Q2_OK(rav_move(h, rav_field_slot(prev, 1), rav_field_slot(node, 1)));
}

/* ---- binary search tree (keys in the scalar) ---- */

typedef struct place {
	rav_ref parent; /* null: the root */
	int field;
} place;

static rav_ref place_get(rav_heap *h, rav_root root, place p)
{
	return rav_ref_is_null(p.parent) ? rav_root_get(h, root) : rav_load_ref(h, p.parent, p.field);
}

static void place_set(rav_heap *h, rav_root root, place p, rav_ref target)
{
	Q2_OK(rav_ref_is_null(p.parent) ? rav_root_set(h, root, target)
	                                : rav_store_ref(h, p.parent, p.field, target));
}

static place bst_find(rav_heap *h, rav_root root, uintptr_t key)
{
	place p = {RAV_NULL_REF, 0};
	for (rav_ref cur = place_get(h, root, p); !rav_ref_is_null(cur); cur = place_get(h, root, p)) {
		uintptr_t k = rav_scalar(h, cur);
		if (k == key)
			break;
		p.parent = cur;
		p.field = key < k ? 0 : 1;
	}
	return p;
}

static bool bst_insert(rav_heap *h, rav_root root, uintptr_t key)
{
	place p = bst_find(h, root, key);
	if (!rav_ref_is_null(place_get(h, root, p)))
		return false;
	rav_ref n;
	if (rav_ref_is_null(p.parent))
		Q2_OK(rav_new_root(h, T_NODE, root, &n));
	else
		Q2_OK(rav_new_field(h, T_NODE, p.parent, p.field, &n));
	rav_set_scalar(h, n, key);
	return true;
}

static bool bst_delete(rav_heap *h, rav_root root, uintptr_t key)
{
	place p = bst_find(h, root, key);
	rav_ref v = place_get(h, root, p);
	if (rav_ref_is_null(v))
		return false;
	rav_ref left = rav_load_ref(h, v, 0), right = rav_load_ref(h, v, 1);
	if (!rav_ref_is_null(left) && !rav_ref_is_null(right)) {
		/* Two children: take the successor's key, unlink the successor. */
		place s = {v, 1};
		rav_ref succ = right;
		for (rav_ref l = rav_load_ref(h, succ, 0); !rav_ref_is_null(l);
		     l = rav_load_ref(h, succ, 0)) {
			s.parent = succ;
			s.field = 0;
			succ = l;
		}
		rav_set_scalar(h, v, rav_scalar(h, succ));
		place_set(h, root, s, rav_load_ref(h, succ, 1));
		return true;
	}
	place_set(h, root, p, rav_ref_is_null(left) ? right : left);
	return true;
}

/* ---- binary trie of 16-bit keys ---- */

enum { TRIE_BITS = 16 };

static bool trie_insert(rav_heap *h, rav_root root, unsigned key)
{
	rav_ref cur = rav_root_get(h, root);
	bool added = false;
	for (int b = TRIE_BITS - 1; b >= 0; b--) {
		int f = (key >> b) & 1;
		rav_ref next = rav_load_ref(h, cur, f);
		if (rav_ref_is_null(next)) {
			Q2_OK(rav_new_field(h, T_NODE, cur, f,
			                    &next)); /* allocation never moves: cur stays valid */
			added = true;
		}
		cur = next;
	}
	return added;
}

static bool trie_delete(rav_heap *h, rav_root root, unsigned key)
{
	/* Find the key's leaf and the highest node whose subtree holds only
	 * it; clearing that one reference frees the whole branch. */
	rav_ref cur = rav_root_get(h, root), cut = cur;
	int cut_field = (key >> (TRIE_BITS - 1)) & 1;
	for (int b = TRIE_BITS - 1; b >= 0; b--) {
		int f = (key >> b) & 1;
		if (!rav_ref_is_null(rav_load_ref(h, cur, !f)) || b == TRIE_BITS - 1) {
			cut = cur;
			cut_field = f;
		}
		cur = rav_load_ref(h, cur, f);
		if (rav_ref_is_null(cur))
			return false;
	}
	Q2_OK(rav_clear_ref(h, cut, cut_field));
	return true;
}

/* ---- the structure workloads ---- */

enum { S_LIST, S_BST, S_TRIE, S_MIXED, NSTRUCT };
static const char *const struct_names[NSTRUCT] = {"list", "bst", "trie", "mixed"};

typedef struct churn {
	int kind;
	bool deferred;
	size_t live, steps;
	size_t list_live; /* the list is walked: kept short */
	uint64_t seed;
	/* out */
	uint64_t frees, moves, fixups;
	uint64_t max_queue;
} churn;

typedef struct structs {
	rav_root list, bst, trie, tmp;
	size_t list_len;
	uint64_t bst_space;
} structs;

static void one_step(rav_heap *h, structs *s, int kind, uint64_t *rng)
{
	uint64_t r = q2_rand(rng);
	switch (kind) {
	case S_LIST:
		list_delete_at(h, s->list, (size_t)(r % s->list_len));
		list_push(h, s->list, r);
		break;
	case S_BST:
		if (r & 1)
			bst_insert(h, s->bst, 1 + (r >> 1) % s->bst_space);
		else
			bst_delete(h, s->bst, 1 + (r >> 1) % s->bst_space);
		break;
	case S_TRIE:
		if (r & 1)
			trie_insert(h, s->trie, (unsigned)(r >> 8) & 0xffff);
		else
			trie_delete(h, s->trie, (unsigned)(r >> 8) & 0xffff);
		break;
	}
}

static double churn_run(void *arg)
{
	churn *c = arg;
	rav_heap *h = rav_heap_self();
	structs s = {rav_root_new(h), rav_root_new(h), rav_root_new(h), rav_root_new(h), 0, 0};
	uint64_t rng = c->seed;
	bool all = c->kind == S_MIXED;
	if (all || c->kind == S_LIST)
		for (s.list_len = 0; s.list_len < c->list_live; s.list_len++)
			list_push(h, s.list, s.list_len);
	s.bst_space = 2 * c->live;
	if (all || c->kind == S_BST)
		for (size_t n = 0; n < c->live;)
			n += bst_insert(h, s.bst, 1 + q2_rand(&rng) % s.bst_space);
	if (all || c->kind == S_TRIE) {
		Q2_OK(rav_new_root(h, T_NODE, s.trie, NULL));
		for (size_t n = 0; n < c->live / 4; n++) /* ~4 new cells per key */
			trie_insert(h, s.trie, (unsigned)q2_rand(&rng) & 0xffff);
	}
	rav_set_free_mode(h, c->deferred ? RAV_FREE_DEFERRED : RAV_FREE_IMMEDIATE);
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	c->max_queue = 0;
	double t0 = study_now();
	for (size_t i = 0; i < c->steps; i++) {
		int kind = all ? (int)(q2_rand(&rng) % 3) : c->kind;
		one_step(h, &s, kind, &rng);
		if (all && i % 256 == 255) {
			for (int k = 0; k < 64; k++)
				list_push(h, s.tmp, (uintptr_t)k);
			Q2_OK(rav_root_clear(h, s.tmp));
		}
		if (c->deferred) {
			rav_stats q;
			rav_heap_stats(h, &q);
			if (q.dead_cells + q.dying_cells > c->max_queue)
				c->max_queue = q.dead_cells + q.dying_cells;
			rav_compact(h, 8);
		}
	}
	if (c->deferred)
		rav_compact(h, 0);
	double t = study_now() - t0;
	rav_heap_stats(h, &s1);
	c->frees = s1.frees - s0.frees;
	c->moves = s1.moves - s0.moves;
	c->fixups = s1.fixups - s0.fixups;
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	if (rav_heap_check(h) != RAV_OK)
		q2_die("rav_heap_check after the churn");
	rav_root_free(h, s.list);
	rav_root_free(h, s.bst);
	rav_root_free(h, s.trie);
	rav_root_free(h, s.tmp);
	return t;
}

/* ---- bulk deletes ---- */

typedef struct bulk {
	bool tree, deferred;
	size_t n;
	double call, total, max_step;
	uint64_t moves, frees;
} bulk;

static void tree_build(rav_heap *h, rav_ref parent, int field, size_t n)
{
	if (n == 0)
		return;
	rav_ref c;
	Q2_OK(rav_new_field(h, T_NODE, parent, field, &c));
	tree_build(h, c, 0, (n - 1) / 2);
	tree_build(h, c, 1, n - 1 - (n - 1) / 2);
}

static double bulk_run(void *arg)
{
	bulk *b = arg;
	rav_heap *h = rav_heap_self();
	rav_root doomed = rav_root_new(h), keep = rav_root_new(h);
	if (b->tree) {
		rav_ref top;
		Q2_OK(rav_new_root(h, T_NODE, doomed, &top));
		tree_build(h, top, 0, (b->n - 1) / 2);
		tree_build(h, top, 1, b->n - 1 - (b->n - 1) / 2);
		for (size_t i = 0; i < b->n; i++) /* survivors above it: every freed cell gets a move */
			list_push(h, keep, i);
	} else {
		for (size_t i = 0; i < b->n; i++) { /* interleaved in memory */
			list_push(h, doomed, i);
			list_push(h, keep, i);
		}
	}
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	rav_set_free_mode(h, b->deferred ? RAV_FREE_DEFERRED : RAV_FREE_IMMEDIATE);
	b->max_step = 0;
	double t0 = study_now();
	Q2_OK(rav_root_clear(h, doomed));
	b->call = study_now() - t0;
	while (b->deferred) {
		double c0 = study_cpu();
		size_t left = rav_compact(h, 1024);
		double step = study_cpu() - c0;
		if (step > b->max_step)
			b->max_step = step;
		if (!left)
			break;
	}
	b->total = study_now() - t0;
	rav_heap_stats(h, &s1);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	b->moves = s1.moves - s0.moves;
	b->frees = s1.frees - s0.frees;
	rav_root_free(h, doomed);
	rav_root_free(h, keep);
	return b->total;
}

/* The same list bulk delete with malloc'd nodes freed one by one: how
 * much of the growth with N is the caches, not the engine. */
typedef struct mnode2 {
	struct mnode2 *next;
	uint64_t value, pad[2];
} mnode2;

static double malloc_bulk(const bench_alloc *a, size_t n)
{
	mnode2 *doomed = NULL, *keep = NULL;
	for (size_t i = 0; i < n; i++) {
		mnode2 *x = a->malloc_fn(sizeof *x), *y = a->malloc_fn(sizeof *y);
		if (!x || !y)
			q2_die("malloc");
		x->next = doomed;
		doomed = x;
		y->next = keep;
		keep = y;
	}
	double t0 = study_now();
	while (doomed) {
		mnode2 *x = doomed;
		doomed = x->next;
		a->free_fn(x);
	}
	double t = study_now() - t0;
	while (keep) {
		mnode2 *y = keep;
		keep = y->next;
		a->free_fn(y);
	}
	return t;
}

/* --study-child q2 churn|bulk: small runs to record for ravscope. */
static int q2_child(int argc, char **argv)
{
	q2_types();
	if (argc == 2 && strcmp(argv[1], "churn") == 0) {
		rav_thread_name("bst churn");
		rav_mark("bst: 300 keys, then 400 random inserts and deletes (immediate compaction)");
		churn c = {S_BST, false, 300, 400, 64, 7, 0, 0, 0, 0};
		churn_run(&c);
		return study_child_reply(&c.frees, sizeof c.frees);
	}
	if (argc == 2 && strcmp(argv[1], "bulk") == 0) {
		rav_thread_name("bulk delete");
		rav_mark("bulk delete of 1500 list cells among 1500 survivors: immediate");
		bulk b = {false, false, 1500, 0, 0, 0, 0, 0};
		bulk_run(&b);
		rav_mark("the same, deferred: one O(1) call, then rav_compact steps of 1024");
		b.deferred = true;
		bulk_run(&b);
		return study_child_reply(&b.frees, sizeof b.frees);
	}
	return 2;
}

static bool q2_run(study_ctx *c)
{
	q2_types();
	size_t live = c->quick ? 512 : 4096, steps = c->quick ? 2000 : 200000;
	churn res[NSTRUCT][2];
	double ns[NSTRUCT][2];
	for (int k = 0; k < NSTRUCT; k++) {
		/* The list is walked to a random position: 4096 nodes; the
		 * others hold 16x that. */
		size_t ll = c->quick ? 256 : 4096, l = k == S_LIST ? ll : live * 16;
		size_t st = k == S_LIST ? steps / 4 : steps;
		res[k][0] = (churn){k, false, l, st, ll, 42, 0, 0, 0, 0};
		res[k][1] = (churn){k, true, l, st, ll, 42, 0, 0, 0, 0};
		double (*fns[2])(void *) = {churn_run, churn_run};
		void *ctxs[2] = {&res[k][0], &res[k][1]};
		double best[2];
		bench_params bp = {.repeat = c->repeat, .warmup = 0};
		bench_best_interleaved(&bp, 2, fns, ctxs, best);
		for (int d = 0; d < 2; d++)
			ns[k][d] = best[d] / (double)st * 1e9;
		study_log(c, "%s: %.3f moves, %.3f fix-ups per free (immediate), %.3f / %.3f (deferred)",
		          struct_names[k], (double)res[k][0].moves / res[k][0].frees,
		          (double)res[k][0].fixups / res[k][0].frees,
		          (double)res[k][1].moves / res[k][1].frees,
		          (double)res[k][1].fixups / res[k][1].frees);
	}

	static const size_t full_n[] = {1 << 14, 1 << 16, 1 << 18, 1 << 20}, quick_n[] = {1 << 10, 1 << 12};
	const size_t *ns_bulk = c->quick ? quick_n : full_n;
	unsigned nb = c->quick ? 2 : 4;
	bulk bk[4][2][2];                  /* [n][list, tree][immediate, deferred] */
	double mref[4] = {-1, -1, -1, -1}; /* glibc free() loop, seconds */
	const bench_alloc *glibc =
	    c->nallocs && strcmp(c->allocs[0].name, "glibc") == 0 ? &c->allocs[0] : NULL;
	for (unsigned i = 0; i < nb; i++)
		for (int tree = 0; tree < 2; tree++) {
			for (int d = 0; d < 2; d++)
				bk[i][tree][d] = (bulk){tree, d, ns_bulk[i], 0, 0, 0, 0, 0};
			/* Keep each variant's best round whole (call, pause, total together). */
			bulk best[2] = {bk[i][tree][0], bk[i][tree][1]};
			unsigned rounds = c->repeat < 3 ? c->repeat : 3;
			for (unsigned r = 0; r < rounds; r++)
				for (int d = 0; d < 2; d++) {
					bulk run = bk[i][tree][d];
					bulk_run(&run);
					if (r == 0 || run.total < best[d].total)
						best[d] = run;
					if (!tree && !d && glibc) {
						double m = malloc_bulk(glibc, ns_bulk[i]);
						if (mref[i] < 0 || m < mref[i])
							mref[i] = m;
					}
				}
			bk[i][tree][0] = best[0];
			bk[i][tree][1] = best[1];
			study_log(
			    c,
			    "bulk %s of %zu: immediate %.2f ms; deferred call %.4f ms, longest step %.3f ms, "
			    "total %.2f ms",
			    tree ? "tree" : "list", ns_bulk[i], best[0].total * 1e3, best[1].call * 1e3,
			    best[1].max_step * 1e3, best[1].total * 1e3);
		}

	char *p1 = study_path(c, c->trace_dir, "q2-bst-churn.ravtrace"),
	     *p2 = study_path(c, c->trace_dir, "q2-bulk.ravtrace");
	char e1[4200], e2[4200];
	snprintf(e1, sizeof e1, "RAVIOLI_TRACE=%s", p1);
	snprintf(e2, sizeof e2, "RAVIOLI_TRACE=%s", p2);
	char *a1[] = {"churn", NULL}, *a2[] = {"bulk", NULL}, *env1[] = {e1, NULL}, *env2[] = {e2, NULL};
	uint64_t dummy;
	bool ok = study_spawn(c, c->exe, "q2", a1, env1, &dummy, sizeof dummy) &&
	          study_spawn(c, c->exe, "q2", a2, env2, &dummy, sizeof dummy);
	free(p1);
	free(p2);
	if (!ok)
		return false;

	FILE *f = study_open(c, "q2.md");
	if (!f)
		return false;
	fprintf(
	    f,
	    "Moves and fix-ups per freed cell, and time per step (search included; best of %u interleaved "
	    "runs; deferred: rav_compact(h, 8) after every step):\n\n"
	    "| structure | live cells | steps | frees | moves / free | fix-ups / free | ns / step | "
	    "deferred: "
	    "moves / free | fix-ups / free | ns / step | longest queue "
	    "|\n|---|---|---|---|---|---|---|---|---|---|---|\n",
	    c->repeat);
	for (int k = 0; k < NSTRUCT; k++) {
		churn *a = &res[k][0], *d = &res[k][1];
		char b1[32], b2[32];
		fprintf(f, "| %s | %s | %zu | %s | %.3f | %.3f | %.0f | %.3f | %.3f | %.0f | %llu |\n",
		        struct_names[k], study_int(b1, sizeof b1, a->live), a->steps,
		        study_int(b2, sizeof b2, a->frees), (double)a->moves / a->frees,
		        (double)a->fixups / a->frees, ns[k][0], (double)d->moves / d->frees,
		        (double)d->fixups / d->frees, ns[k][1], (unsigned long long)d->max_queue);
	}
	fprintf(
	    f,
	    "\nBulk delete with one call (list: freed cells alternate with survivors'; tree: a balanced tree "
	    "below as many survivors, so every freed cell takes a move):\n\n"
	    "| structure | cells freed | immediate: ms | ns / cell | moves / free | deferred: call ms | "
	    "longest "
	    "step ms (CPU) | total ms | ns / cell | glibc free() loop: ns / node |\n"
	    "|---|---|---|---|---|---|---|---|---|---|\n");
	for (int tree = 0; tree < 2; tree++)
		for (unsigned i = 0; i < nb; i++) {
			bulk *a = &bk[i][tree][0], *d = &bk[i][tree][1];
			char b1[32];
			char mcol[32] = "-";
			if (!tree && mref[i] >= 0)
				snprintf(mcol, sizeof mcol, "%.1f", mref[i] / a->n * 1e9);
			fprintf(f, "| %s | %s | %.2f | %.1f | %.3f | %.4f | %.3f | %.2f | %.1f | %s |\n",
			        tree ? "tree" : "list", study_int(b1, sizeof b1, a->n), a->total * 1e3,
			        a->total / a->n * 1e9, a->frees ? (double)a->moves / a->frees : 0,
			        d->call * 1e3, d->max_step * 1e3, d->total * 1e3, d->total / d->n * 1e9,
			        mcol);
		}
	double grow_i = (bk[nb - 1][0][0].total / bk[nb - 1][0][0].n) / (bk[0][0][0].total / bk[0][0][0].n);
	double grow_t = (bk[nb - 1][1][0].total / bk[nb - 1][1][0].n) / (bk[0][1][0].total / bk[0][1][0].n);
	double grow_m =
	    mref[0] > 0 && mref[nb - 1] > 0 ? (mref[nb - 1] / ns_bulk[nb - 1]) / (mref[0] / ns_bulk[0]) : -1;
	double max_moves = 0, max_step = 0;
	for (unsigned i = 0; i < nb; i++)
		for (int tree = 0; tree < 2; tree++) {
			const bulk *a = &bk[i][tree][0];
			if (a->frees && (double)a->moves / a->frees > max_moves)
				max_moves = (double)a->moves / a->frees;
			if (bk[i][tree][1].max_step > max_step)
				max_step = bk[i][tree][1].max_step;
		}
	double lo_m = 1e9, hi_m = 0, lo_f = 1e9, hi_f = 0;
	for (int k = 0; k < 3; k++) {
		double m = (double)res[k][0].moves / res[k][0].frees,
		       x = (double)res[k][0].fixups / res[k][0].frees;
		lo_m = fmin(lo_m, m);
		hi_m = fmax(hi_m, m);
		lo_f = fmin(lo_f, x);
		hi_f = fmax(hi_f, x);
	}
	char mg[64] = "";
	if (grow_m > 0)
		snprintf(mg, sizeof mg, " (glibc freeing the same list: %.2fx)", grow_m);
	fprintf(
	    f,
	    "\nIn one line: a free costs %.2f-%.2f moves and %.2f-%.2f fix-ups across list, bst and trie; a "
	    "bulk "
	    "delete makes at most %.2f moves per freed cell at every size (%s); from %zu to %zu cells its "
	    "time per "
	    "freed cell changes %.2fx (list) and %.2fx (tree)%s, and the longest deferred step is %.3f ms.\n",
	    lo_m, hi_m, lo_f, hi_f, max_moves,
	    max_moves <= 1.0 ? "linear work: nothing goes quadratic"
	                     : "MORE than one: look for superlinear work",
	    ns_bulk[0], ns_bulk[nb - 1], grow_i, grow_t, mg, max_step * 1e3);
	fprintf(
	    f,
	    "\n![moves and fix-ups per free](study/q2-free-cost.svg)\n![bulk delete](study/q2-bulk.svg)\n");
	if (!study_close(c, f, "q2.md"))
		return false;

	plot p = {.title = "Q2: moves and fix-ups per freed cell",
	          .xlabel = "structure",
	          .ylabel = "per freed cell",
	          .bars = true,
	          .note = "engine counters (rav_stats)"};
	for (int k = 0; k < NSTRUCT; k++)
		p.cats[k] = struct_names[k];
	static const char *const sn[4] = {"moves, immediate", "moves, deferred", "fix-ups, immediate",
	                                  "fix-ups, deferred"};
	for (int m = 0; m < 4; m++) {
		plot_series *s = plot_add(&p, sn[m]);
		for (int k = 0; k < NSTRUCT; k++) {
			churn *r = &res[k][m & 1];
			plot_point(s, k, (double)(m < 2 ? r->moves : r->fixups) / (double)r->frees);
		}
	}
	if (!plot_write(c, &p, "q2-free-cost.svg"))
		return false;
	plot q = {.title = "Q2: bulk delete, time per freed cell",
	          .xlabel = "cells freed by one call",
	          .ylabel = "ns per freed cell",
	          .xlog = true,
	          .ylog = true,
	          .note = "flat = linear; dashed: deferred (call + all rav_compact steps)"};
	static const char *const bn[2][2] = {{"list, immediate", "list, deferred"},
	                                     {"tree, immediate", "tree, deferred"}};
	for (int tree = 0; tree < 2; tree++)
		for (int d = 0; d < 2; d++) {
			plot_series *s = plot_add(&q, bn[tree][d]);
			s->dashed = d;
			for (unsigned i = 0; i < nb; i++)
				plot_point(s, (double)ns_bulk[i], bk[i][tree][d].total / ns_bulk[i] * 1e9);
		}
	return plot_write(c, &q, "q2-bulk.svg");
}

const study_def study_q2 = {"q2", "the amortized cost of a free", q2_run, q2_child};
