/* free.c - lesson "A free moves the top cell" (samples/lessons/free.lesson).
 *
 * A list of eight nodes pushed at the front, so the newest node (8) is at
 * the top of the heap.  Unlinking the node holding 4 frees it, and the top
 * cell moves into the hole with two pointer fix-ups (the root naming it
 * and its child's back-link).  Then the cell now at the top (node 7) is
 * unlinked: no move, the top just shrinks.  Then the rest is dropped at
 * once (a cascade).
 */
#include "sample.h"

static rav_type node;

/* list = new node(value) -> old list.  The new node is the top cell. */
static void push(rav_heap *h, rav_root list, rav_root tmp, uintptr_t value)
{
	rav_ref n;
	sample_check(rav_new_root(h, node, tmp, &n), "allocate a node");
	rav_store(h, n, 0, value);
	sample_check(rav_move(h, rav_field_slot(n, 1), rav_root_slot(list)), "link the old list");
	sample_check(rav_move(h, rav_root_slot(list), rav_root_slot(tmp)), "make it the head");
}

int main(int argc, char **argv)
{
	size_t count = sample_size_arg(argc, argv, 8, 100000, "nodes in the list",
	                               "Lesson sample: a free moves the top cell into the hole.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	node = rav_type_register("node", RAV_DATA, RAV_REF);
	rav_root list = rav_root_new(h), tmp = rav_root_new(h);
	if (!h || !node || !list || !tmp)
		sample_check(RAV_ENOMEM, "set up");

	for (size_t i = 1; i <= count; i++)
		push(h, list, tmp, i);
	rav_mark("eight ravioli in a row");

	/* Walk to the node before the one holding 4 (values count down). */
	rav_mark("remove the node holding 4");
	rav_ref prev = rav_root_get(h, list);
	while (rav_load(h, rav_load_ref(h, prev, 1), 0) != 4)
		prev = rav_load_ref(h, prev, 1);
	rav_ref victim = rav_load_ref(h, prev, 1);
	/* prev.next = victim.next: victim has no referrer left and is freed. */
	sample_check(rav_move(h, rav_field_slot(prev, 1), rav_field_slot(victim, 1)), "unlink 4");
	sample_check_heap("after the free", h);

	/* Node 8 moved down into the hole; the top cell is now node 7, the
	 * second in the list.  Unlinking it frees the top cell itself. */
	rav_mark("free the top cell");
	rav_ref head = rav_root_get(h, list);
	rav_ref seven = rav_load_ref(h, head, 1);
	sample_check(rav_move(h, rav_field_slot(head, 1), rav_field_slot(seven, 1)), "unlink 7");

	rav_mark("drop the whole list");
	sample_check(rav_root_clear(h, list), "drop the list");
	rav_mark("empty again");
	sample_check_heap("at the end", h);
	sample_print_stats("free", h);
	return 0;
}
