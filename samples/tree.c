/* tree.c - rav-sample-tree: a binary search tree with inserts and deletes.
 *
 * What to watch in the trace: a tree node is referred to by exactly one
 * slot (its parent's left or right field, or the root), and its back-link
 * names that slot.  Deleting a node moves the heap's top cell into the
 * hole; because the moved node's parent slot and its children's back-links
 * are all known, the engine fixes exactly those words: a handful of
 * fix-ups per move, however big the tree.  Deleting a node with one child
 * splices the child up: for an instant the child has two referrers, so a
 * reference raviolo comes and goes.
 *
 * Each node keeps its key in the spare bits of its type word (the scalar),
 * so both payload fields can be references: field 0 left, field 1 right.
 */
#include "sample.h"

#include <stdlib.h>

static rav_type tnode;

/* Where a node hangs: a root, or field `field` of `parent`. */
typedef struct place {
	rav_ref parent; /* null: the tree root */
	int field;
} place;

static rav_ref place_get(rav_heap *h, rav_root root, place p)
{
	return rav_ref_is_null(p.parent) ? rav_root_get(h, root) : rav_load_ref(h, p.parent, p.field);
}

static rav_status place_set(rav_heap *h, rav_root root, place p, rav_ref target)
{
	return rav_ref_is_null(p.parent) ? rav_root_set(h, root, target)
	                                 : rav_store_ref(h, p.parent, p.field, target);
}

/* Find where `key` is or would be. */
static place find(rav_heap *h, rav_root root, uintptr_t key)
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

static bool insert(rav_heap *h, rav_root root, uintptr_t key)
{
	place p = find(h, root, key);
	if (!rav_ref_is_null(place_get(h, root, p)))
		return false;
	rav_ref n;
	if (rav_ref_is_null(p.parent))
		sample_check(rav_new_root(h, tnode, root, &n), "allocate the root node");
	else
		sample_check(rav_new_field(h, tnode, p.parent, p.field, &n), "allocate a node");
	rav_set_scalar(h, n, key);
	return true;
}

static bool delete (rav_heap *h, rav_root root, uintptr_t key)
{
	place p = find(h, root, key);
	rav_ref v = place_get(h, root, p);
	if (rav_ref_is_null(v))
		return false;
	rav_ref left = rav_load_ref(h, v, 0), right = rav_load_ref(h, v, 1);
	if (!rav_ref_is_null(left) && !rav_ref_is_null(right)) {
		/* Two children: take the successor's key, then unlink the
		 * successor, which has no left child. */
		place s = {v, 1};
		rav_ref succ = right;
		for (rav_ref l = rav_load_ref(h, succ, 0); !rav_ref_is_null(l);
		     l = rav_load_ref(h, succ, 0)) {
			s.parent = succ;
			s.field = 0;
			succ = l;
		}
		rav_set_scalar(h, v, rav_scalar(h, succ));
		sample_check(place_set(h, root, s, rav_load_ref(h, succ, 1)), "unlink the successor");
		return true;
	}
	/* Zero or one child: the child (or nothing) takes the node's place and
	 * the node, left without a referrer, is freed. */
	rav_ref child = rav_ref_is_null(left) ? right : left;
	sample_check(place_set(h, root, p, child), "splice out a node");
	return true;
}

/* Check the search order and count the nodes.  Borrows stay valid during
 * the walk because reading never moves cells; recursion depth is the tree
 * height, small for random keys. */
static size_t check_order(rav_heap *h, rav_ref n, uintptr_t lo, uintptr_t hi, bool *ok)
{
	if (rav_ref_is_null(n))
		return 0;
	uintptr_t k = rav_scalar(h, n);
	if (k < lo || k > hi)
		*ok = false;
	return 1 + check_order(h, rav_load_ref(h, n, 0), lo, k ? k - 1 : 0, ok) +
	       check_order(h, rav_load_ref(h, n, 1), k + 1, hi, ok);
}

int main(int argc, char **argv)
{
	size_t size = sample_size_arg(
	    argc, argv, 400, 100000, "keys inserted before the mixed phase",
	    "Binary search tree: inserts and deletes, with the moves and fix-ups they cause.");
	sample_rng rng = {0x2545F4914F6CDD1DULL};

	rav_thread_name("tree");
	rav_heap *h = rav_heap_self();
	tnode = rav_type_register_named("bst_node", RAV_REF, "left", RAV_REF, "right");
	rav_root root = rav_root_new(h);
	if (!h || !tnode || !root)
		sample_check(RAV_ENOMEM, "set up the heap");

	uintptr_t key_space = 4 * size;
	size_t count = 0;
	rav_mark("insert random keys");
	while (count < size)
		count += insert(h, root, 1 + sample_below(&rng, key_space));
	sample_check_heap("after inserts", h);
	sample_print_stats("after inserts", h);

	rav_mark("mixed inserts and deletes");
	size_t inserted = 0, deleted = 0;
	for (size_t op = 0; op < 2 * size; op++) {
		uintptr_t key = 1 + sample_below(&rng, key_space);
		if (sample_below(&rng, 2)) {
			if (insert(h, root, key))
				inserted++, count++;
		} else if (delete (h, root, key)) {
			deleted++, count--;
		}
	}
	sample_check_heap("after mixed phase", h);

	bool ok = true;
	size_t n = check_order(h, rav_root_get(h, root), 0, key_space, &ok);
	if (!ok || n != count) {
		fprintf(stderr, "rav-sample-tree: tree has %zu nodes (expected %zu), order %s\n", n, count,
		        ok ? "intact" : "BROKEN");
		return 1;
	}
	printf("rav-sample-tree: %zu keys after %zu inserts and %zu deletes, search order intact\n", count,
	       size + inserted, deleted);

	rav_mark("delete every key, smallest first");
	while (!rav_ref_is_null(rav_root_get(h, root))) {
		rav_ref m = rav_root_get(h, root);
		for (rav_ref l = rav_load_ref(h, m, 0); !rav_ref_is_null(l); l = rav_load_ref(h, m, 0))
			m = l;
		delete (h, root, rav_scalar(h, m));
	}
	sample_check_heap("after teardown", h);
	sample_print_stats("after teardown", h);
	rav_root_free(h, root);
	return 0;
}
