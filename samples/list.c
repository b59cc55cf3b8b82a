/* list.c - rav-sample-list: a linked list under churn.
 *
 * What to watch in the trace: every allocation takes the cell at the top of
 * the heap (a bump), and every free moves the top cell down into the hole,
 * followed by the pointer fix-ups that keep references to the moved cell
 * right.  A singly linked list is the simplest structure where both happen
 * constantly.  Inserting in the middle briefly gives a node two referrers,
 * so reference ravioli appear and vanish too.  The final teardown uses
 * deferred compaction: the frees are queued and compacted in bounded steps,
 * which is how a program avoids one long pause when it drops a big
 * structure.
 *
 * Layout: root -> sentinel -> node -> node -> ... ; field 0 of a node is its
 * value (data), field 1 the next node (reference).
 */
#include "sample.h"

#include <stdlib.h>

static rav_type node_type;

/* Walk to the node before position `pos` (the sentinel for 0). */
static rav_ref nth_parent(rav_heap *h, rav_root list, size_t pos)
{
	rav_ref cur = rav_root_get(h, list);
	for (size_t i = 0; i < pos; i++)
		cur = rav_load_ref(h, cur, 1);
	return cur;
}

/* Insert a node with `value` after `parent`.  The rest of the list must
 * never be left without a referrer (it would be freed), so it is parked in
 * a root while the new node is linked in. */
static void insert_after(rav_heap *h, rav_root parent_root, rav_root park, uintptr_t value)
{
	rav_ref parent = rav_root_get(h, parent_root);
	sample_check(rav_root_set(h, park, rav_load_ref(h, parent, 1)), "park the tail");
	rav_ref node;
	/* Replacing parent.next drops its reference to the tail; the parked root
	 * keeps the tail alive.  Nothing moves: allocation never moves cells. */
	sample_check(rav_new_field(h, node_type, rav_root_get(h, parent_root), 1, &node), "allocate a node");
	rav_store(h, node, 0, value);
	sample_check(rav_store_ref(h, node, 1, rav_root_get(h, park)), "link the tail");
	sample_check(rav_root_clear(h, park), "unpark the tail");
}

/* Unlink the node after `parent`: parent.next = node.next.  The node loses
 * its only referrer and is freed; the top cell moves into its place. */
static uintptr_t remove_after(rav_heap *h, rav_ref parent)
{
	rav_ref victim = rav_load_ref(h, parent, 1);
	uintptr_t value = rav_load(h, victim, 0);
	sample_check(rav_store_ref(h, parent, 1, rav_load_ref(h, victim, 1)), "unlink a node");
	return value;
}

static size_t list_length(rav_heap *h, rav_root list, uintptr_t *sum)
{
	size_t n = 0;
	*sum = 0;
	for (rav_ref cur = rav_load_ref(h, rav_root_get(h, list), 1); !rav_ref_is_null(cur);
	     cur = rav_load_ref(h, cur, 1)) {
		*sum += rav_load(h, cur, 0);
		n++;
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t size = sample_size_arg(argc, argv, 300, 1000000, "nodes kept live during the churn",
	                              "Linked-list churn: random inserts and deletes in a ravioli list.");
	sample_rng rng = {0x9e3779b97f4a7c15ULL};

	rav_thread_name("list");
	rav_heap *h = rav_heap_self();
	if (!h)
		sample_check(RAV_ENOMEM, "create the heap");
	node_type = rav_type_register_named("list_node", RAV_DATA, "value", RAV_REF, "next");
	rav_type sentinel_type = rav_type_register_named("list_head", RAV_DATA, NULL, RAV_REF, "first");
	if (!node_type || !sentinel_type)
		sample_check(RAV_ETYPE, "register the node types");

	rav_root list = rav_root_new(h);
	rav_root cursor = rav_root_new(h);
	rav_root park = rav_root_new(h);
	if (!list || !cursor || !park)
		sample_check(RAV_ENOMEM, "create roots");
	sample_check(rav_new_root(h, sentinel_type, list, NULL), "allocate the sentinel");

	rav_mark("build: push nodes at the front");
	uintptr_t expect_sum = 0;
	for (size_t i = 0; i < size; i++) {
		insert_after(h, list, park, i);
		expect_sum += i;
	}
	size_t live = size;
	sample_check_heap("after build", h);

	rav_mark("churn: insert and delete at random positions");
	for (size_t op = 0; op < 4 * size; op++) {
		size_t pos = (size_t)sample_below(&rng, live + (op & 1));
		if ((op & 1) || live == 0) {
			/* Hold the parent in a root: insert_after allocates, and the
			 * parent borrow must be refreshed after each engine call. */
			sample_check(rav_root_set(h, cursor, nth_parent(h, list, pos)), "hold the parent");
			uintptr_t v = 1000000 + op;
			insert_after(h, cursor, park, v);
			sample_check(rav_root_clear(h, cursor), "release the parent");
			expect_sum += v;
			live++;
		} else {
			expect_sum -= remove_after(h, nth_parent(h, list, pos));
			live--;
		}
	}
	sample_check_heap("after churn", h);

	uintptr_t sum;
	size_t n = list_length(h, list, &sum);
	if (n != live || sum != expect_sum) {
		fprintf(stderr,
		        "rav-sample-list: list has %zu nodes summing to %lu, expected %zu summing to %lu\n",
		        n, (unsigned long)sum, live, (unsigned long)expect_sum);
		return 1;
	}
	printf("rav-sample-list: %zu nodes after %zu churn operations, values intact\n", n, 4 * size);
	sample_print_stats("after churn", rav_heap_self());

	/* Teardown in two halves.  The first half is dropped in deferred mode:
	 * its cells are only marked dead, and rav_compact() then moves the
	 * surviving second half's cells (scattered through the heap by the
	 * churn) down into the holes, at most 64 moves per step. */
	rav_mark("teardown: drop the first half, deferred compaction in steps of 64 moves");
	sample_check(rav_root_set(h, cursor, rav_load_ref(h, nth_parent(h, list, live / 2), 1)),
	             "hold the second half");
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	sample_check(rav_root_clear(h, list), "drop the first half");
	size_t steps = 1;
	while (rav_compact(h, 64) > 0)
		steps++;
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	sample_check_heap("after the deferred teardown", h);
	printf("rav-sample-list: first half dropped, compacted in %zu bounded steps\n", steps);
	sample_print_stats("after dropping the first half", h);

	rav_mark("teardown: drop the second half at once");
	sample_check(rav_root_clear(h, cursor), "drop the second half");
	sample_check_heap("after teardown", h);
	sample_print_stats("after teardown", h);

	rav_root_free(h, park);
	rav_root_free(h, cursor);
	rav_root_free(h, list);
	return 0;
}
