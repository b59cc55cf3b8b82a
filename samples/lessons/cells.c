/* cells.c - lesson "Cells and the top of the heap" (samples/lessons/cells.lesson).
 *
 * One thread allocates: a point (two data fields), then a chain of nodes,
 * one after the other, until the first page is full and the heap takes a
 * second page from the pool.  Every allocation takes the cell at the top
 * of the heap.  Marks separate the parts the lesson's steps name.
 */
#include "sample.h"

int main(int argc, char **argv)
{
	size_t nodes = sample_size_arg(argc, argv, 140, 100000, "nodes in the chain",
	                               "Lesson sample: ravioli allocated at the top of a heap.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	rav_type point = rav_type_register("point", RAV_DATA, RAV_DATA);
	rav_type node = rav_type_register("node", RAV_DATA, RAV_REF);
	rav_root p = rav_root_new(h), list = rav_root_new(h);
	if (!h || !point || !node || !p || !list)
		sample_check(RAV_ENOMEM, "set up");

	rav_mark("an empty heap");
	rav_ref pt;
	sample_check(rav_new_root(h, point, p, &pt), "allocate a point");
	rav_store(h, pt, 0, 3);
	rav_store(h, pt, 1, 4);

	rav_mark("a chain of nodes");
	rav_ref n;
	sample_check(rav_new_root(h, node, list, &n), "allocate the first node");
	rav_store(h, n, 0, 1);
	for (size_t i = 2; i <= nodes; i++) {
		if (i == 6)
			rav_mark("filling the page");
		sample_check(rav_new_field(h, node, n, 1, &n), "allocate a node");
		rav_store(h, n, 0, i);
	}
	rav_mark("two pages");
	sample_check_heap("at the end", h);
	sample_print_stats("cells", h);
	return 0;
}
