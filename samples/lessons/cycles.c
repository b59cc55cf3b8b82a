/* cycles.c - lesson "Garbage and cycles" (samples/lessons/cycles.lesson).
 *
 * A chain dropped by the program is freed at once: each raviolo's one
 * referrer goes, so it goes.  A ring of three ravioli dropped the same way
 * is not: each still has its referrer, the previous one in the ring.
 * rav_collect marks what the roots reach and frees the rest.
 */
#include "sample.h"

int main(int argc, char **argv)
{
	size_t ring = sample_size_arg(argc, argv, 3, 1000, "ravioli in the ring",
	                              "Lesson sample: a cycle is freed only by a collection.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	rav_type link = rav_type_register("link", RAV_DATA, RAV_REF);
	rav_root chain = rav_root_new(h), cycle = rav_root_new(h);
	if (!h || !link || !chain || !cycle || ring < 2)
		sample_check(RAV_ENOMEM, "set up");

	rav_mark("a chain and a ring");
	rav_ref n;
	sample_check(rav_new_root(h, link, chain, &n), "chain");
	for (size_t i = 1; i < ring; i++)
		sample_check(rav_new_field(h, link, n, 1, &n), "chain");
	sample_check(rav_new_root(h, link, cycle, &n), "ring");
	rav_store(h, n, 0, 1);
	for (size_t i = 1; i < ring; i++) {
		sample_check(rav_new_field(h, link, n, 1, &n), "ring");
		rav_store(h, n, 0, i + 1);
	}
	/* Close the ring: the last link refers to the first. */
	sample_check(rav_store_ref(h, n, 1, rav_root_get(h, cycle)), "close the ring");

	rav_mark("drop the chain");
	sample_check(rav_root_clear(h, chain), "drop the chain");
	rav_mark("drop the ring");
	sample_check(rav_root_clear(h, cycle), "drop the ring");
	rav_mark("collect");
	size_t freed = rav_collect(h);
	if (freed != ring) {
		fprintf(stderr, "rav-lesson-cycles: the collection freed %zu ravioli, not %zu\n", freed,
		        ring);
		return 1;
	}
	rav_mark("done");
	sample_check_heap("at the end", h);
	sample_print_stats("cycles", h);
	return 0;
}
