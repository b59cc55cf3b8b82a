/* bench-common.h - what the allocator workloads share: the malloc node,
 * the ravioli types, error handling and the list push of a ravioli list.
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

#endif /* BENCH_COMMON_H */
