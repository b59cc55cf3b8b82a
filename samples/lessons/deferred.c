/* deferred.c - lesson "Deferred compaction" (samples/lessons/10-deferred.lesson).
 *
 * The same list of eight nodes as free.c, but the heap is switched to
 * deferred mode first: unlinking the nodes holding 4 and 6 frees them,
 * and the freeing call only queues their cells as holes (dead cells) and
 * returns; nothing moves, so the program's borrows stay valid.  The next
 * allocation fills a queued hole instead of bumping the top.  rav_compact
 * then does the queued work in bounded steps: one unit, then the rest.
 * Dropping the whole list queues its cells as dying (the kill cascade is
 * deferred too) until a last rav_compact kills and trims them.
 */
#include <stdlib.h>

#include "sample.h"

static rav_type node;

/* list = new node(value) -> old list (as in free.c). */
static void push(rav_heap *h, rav_root list, rav_root tmp, uintptr_t value)
{
	rav_ref n;
	sample_check(rav_new_root(h, node, tmp, &n), "allocate a node");
	rav_store(h, n, 0, value);
	sample_check(rav_move(h, rav_field_slot(n, 1), rav_root_slot(list)), "link the old list");
	sample_check(rav_move(h, rav_root_slot(list), rav_root_slot(tmp)), "make it the head");
}

/* Unlink the node holding `value` (not the head): its predecessor now
 * refers past it, so nothing refers to it and it is freed. */
static void unlink_value(rav_heap *h, rav_root list, uintptr_t value)
{
	rav_ref prev = rav_root_get(h, list);
	while (rav_load(h, rav_load_ref(h, prev, 1), 0) != value)
		prev = rav_load_ref(h, prev, 1);
	rav_ref victim = rav_load_ref(h, prev, 1);
	sample_check(rav_move(h, rav_field_slot(prev, 1), rav_field_slot(victim, 1)), "unlink");
}

static void check_queued(rav_heap *h, uint64_t dead, const char *when)
{
	rav_stats st;
	rav_heap_stats(h, &st);
	if (st.dead_cells != dead) {
		fprintf(stderr, "deferred: %s: %llu holes queued, expected %llu\n", when,
		        (unsigned long long)st.dead_cells, (unsigned long long)dead);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	size_t count = sample_size_arg(argc, argv, 8, 100000, "nodes in the list",
	                               "Lesson sample: deferred compaction queues holes for rav_compact.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	node = rav_type_register("node", RAV_DATA, RAV_REF);
	rav_root list = rav_root_new(h), tmp = rav_root_new(h);
	if (!h || !node || !list || !tmp || count < 6)
		sample_check(RAV_ENOMEM, "set up");

	for (size_t i = 1; i <= count; i++)
		push(h, list, tmp, i);
	rav_mark("eight nodes, deferred mode");
	rav_set_free_mode(h, RAV_FREE_DEFERRED);

	rav_mark("free two nodes");
	unlink_value(h, list, 4);
	unlink_value(h, list, 6);
	check_queued(h, 2, "after two frees");

	rav_mark("a new node takes a hole");
	push(h, list, tmp, 9);
	check_queued(h, 1, "after an allocation");

	rav_mark("compact");
	size_t left = rav_compact(h, 0);
	check_queued(h, 0, "after rav_compact");
	if (left) {
		fprintf(stderr, "deferred: %zu units of work left after rav_compact(h, 0)\n", left);
		exit(1);
	}
	sample_check_heap("after compacting", h);

	rav_mark("drop the list");
	sample_check(rav_root_clear(h, list), "drop the list");
	rav_mark("compact the dying cells");
	rav_compact(h, 0);
	rav_mark("empty again");
	sample_check_heap("at the end", h);
	sample_print_stats("deferred", h);
	return 0;
}
