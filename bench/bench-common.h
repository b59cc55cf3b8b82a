/* bench-common.h - what the allocator workloads and their probes share:
 * the malloc node, the ravioli types, error handling, the push and pop of
 * a ravioli list, the churn step (rav-bench's churn and threads rows,
 * churn-probe, threads-probe) and binary-trees' ravioli build and check
 * (rav-bench, tree-probe).
 *
 * The malloc versions use 32-byte nodes (the raviolo size) so both sides
 * allocate the same bytes.  Ravioli programs cannot hold raw pointers
 * across frees, so the ravioli versions keep their structures in roots and
 * fields and relink with rav_move; that is the real cost of the model and
 * is measured, not avoided.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "ravioli.h"
#include "rav-bench.h"

typedef struct mnode {
	struct mnode *next; /* lists; left child in trees */
	struct mnode *right;
	uint64_t value;
	uint64_t pad;
} mnode;
_Static_assert(sizeof(mnode) == 32, "malloc nodes are raviolo-sized");

static inline void bench_die(const char *what)
{
	fprintf(stderr, "rav-bench: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define OK(expr)                                                                                         \
	do {                                                                                             \
		if ((expr) != RAV_OK)                                                                    \
			bench_die(#expr);                                                                \
	} while (0)

/* bench.list: f0 data (payload), f1 ref (next).  bench.tree: f0, f1 refs
 * (children), the scalar holds a value. */
typedef struct bench_types {
	rav_type list, tree;
} bench_types;

static inline bench_types bench_types_get(void)
{
	bench_types t = { rav_type_register("bench.list", RAV_DATA, RAV_REF),
			  rav_type_register("bench.tree", RAV_REF, RAV_REF) };
	if (!t.list || !t.tree)
		bench_die("rav_type_register");
	return t;
}

/* Push a new list node with `payload` at the head of the list in root b:
 * the new node takes b's place and b's old head goes into its field 1
 * (rav_new_before; nothing freed, nothing moves).  `scratch` (an empty
 * root) is for the three-call way a program would write it without
 * rav_new_before, kept for comparison (bench_list_push_moves). */
static inline void bench_list_push(rav_heap *h, rav_type t, rav_root b, rav_root scratch, uintptr_t payload)
{
	(void)scratch;
	rav_ref n;
	OK(rav_new_before(h, t, rav_root_slot(b), 1, &n));
	rav_store(h, n, 0, payload);
}

static inline void bench_list_push_moves(rav_heap *h, rav_type t, rav_root b, rav_root scratch, uintptr_t payload)
{
	rav_ref n;
	OK(rav_new_root(h, t, scratch, &n));
	rav_store(h, n, 0, payload);
	OK(rav_move(h, rav_field_slot(n, 1), rav_root_slot(b)));
	OK(rav_move(h, rav_root_slot(b), rav_root_slot(scratch)));
}

/* Drop the head of the list in root b (frees it; cells move). */
static inline void bench_list_pop(rav_heap *h, rav_root b)
{
	rav_ref head = rav_root_get(h, b);
	if (!rav_ref_is_null(head))
		OK(rav_move(h, rav_root_slot(b), rav_field_slot(head, 1)));
}

/* ---- the churn step (bench-churn.c's churn and threads, churn-probe.c,
 * threads-probe.c): one definition, so the probes count what rav-bench
 * times.  A step frees the head of a random list and pushes a new node on
 * another; the deferred mode compacts every BENCH_DEFERRED_EVERY steps.
 * The probes wrap these in noinline functions of their own (callgrind's
 * --toggle-collect needs a function to toggle on). ---- */

enum { BENCH_DEFERRED_EVERY = 256 };

/* `steps` ravioli churn steps on lists roots[0..lists) of heap h; step i
 * pushes payload i.  push_moves: push with bench_list_push_moves (through
 * the empty root `scratch`).  Leaves h in immediate mode. */
static inline void bench_churn_rav_steps(rav_heap *h, rav_type t, rav_root *roots, rav_root scratch, size_t lists,
					 size_t steps, uint64_t *rngp, bool deferred, bool push_moves)
{
	uint64_t rng = *rngp;
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_DEFERRED);
	for (size_t i = 0; i < steps; i++) {
		bench_list_pop(h, roots[bench_rand(&rng) % lists]);
		if (push_moves)
			bench_list_push_moves(h, t, roots[bench_rand(&rng) % lists], scratch, i);
		else
			bench_list_push(h, t, roots[bench_rand(&rng) % lists], scratch, i);
		if (deferred && i % BENCH_DEFERRED_EVERY == BENCH_DEFERRED_EVERY - 1)
			rav_compact(h, 0);
	}
	if (deferred)
		rav_set_free_mode(h, RAV_FREE_IMMEDIATE); /* compacts what is left */
	*rngp = rng;
}

/* The same steps with malloc: free the head of a random list (if any),
 * push a new node (value i) on another; through function pointers, as
 * rav-bench calls every allocator. */
static inline void bench_churn_malloc_steps(mnode **heads, size_t lists, size_t steps, uint64_t *rngp,
					    void *(*malloc_fn)(size_t), void (*free_fn)(void *))
{
	uint64_t rng = *rngp;
	for (size_t i = 0; i < steps; i++) {
		size_t b = bench_rand(&rng) % lists;
		mnode *n = heads[b];
		if (n) {
			heads[b] = n->next;
			free_fn(n);
		}
		b = bench_rand(&rng) % lists;
		n = malloc_fn(sizeof *n);
		n->value = i;
		n->next = heads[b];
		heads[b] = n;
	}
	*rngp = rng;
}

/* The lists' count for `live` nodes (1000 nodes a list, at least 16). */
static inline size_t bench_churn_lists(size_t live)
{
	return live / 1000 < 16 ? 16 : live / 1000;
}

/* ---- binary-trees' ravioli side (bench-classic.c's bt_once, tree-probe.c):
 * a tree of depth d built depth first into empty fields (no cell moves
 * while building), and the check that counts its nodes.  Plain static
 * functions (unused where a file does not call them), not inline: gcc
 * inlines an inline function's recursion into itself, which would change
 * the code rav-bench times. ---- */

/* The children of parent, each a tree of depth `depth`. */
static __attribute__((unused)) void bench_bt_children(rav_heap *h, rav_type t, rav_ref parent, int depth)
{
	for (int f = 0; f < 2; f++) {
		rav_ref n;
		OK(rav_new_field(h, t, parent, f, &n));
		if (depth > 0)
			bench_bt_children(h, t, n, depth - 1);
	}
}

/* A tree of depth `depth` into the empty root r. */
static __attribute__((unused)) void bench_bt_build(rav_heap *h, rav_type t, rav_root r, int depth)
{
	rav_ref n;
	OK(rav_new_root(h, t, r, &n));
	if (depth > 0)
		bench_bt_children(h, t, n, depth - 1);
}

/* The nodes of the tree at n. */
static __attribute__((unused)) uint64_t bench_bt_check(rav_heap *h, rav_ref n)
{
	rav_ref l = rav_load_ref(h, n, 0);
	if (rav_ref_is_null(l))
		return 1;
	return 1 + bench_bt_check(h, l) + bench_bt_check(h, rav_load_ref(h, n, 1));
}

#endif /* BENCH_COMMON_H */
