/* trees.c - lesson "Big objects are trees of ravioli"
 * (samples/lessons/trees.lesson).
 *
 * A raviolo has two fields, so anything bigger is a tree: a vector of
 * numbers grows leaves of two values and interior nodes above them as it
 * is pushed to; a byte string is a header over a tree of leaves of 16
 * bytes.  Indexed access walks O(log n) hops down the tree.
 */
#include "sample.h"

#include <string.h>

int main(int argc, char **argv)
{
	size_t count = sample_size_arg(argc, argv, 16, 100000, "numbers pushed to the vector",
	                               "Lesson sample: vectors and byte strings as trees of ravioli.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	rav_root vec = rav_root_new(h), str = rav_root_new(h);
	if (!h || !vec || !str)
		sample_check(RAV_ENOMEM, "set up");

	rav_mark("an empty vector");
	sample_check(rav_vec_new_root(h, vec, false), "create a vector");
	rav_mark("push 1 and 2");
	for (size_t i = 1; i <= count; i++) {
		if (i == 3)
			rav_mark("push 3 and 4");
		if (i == 5)
			rav_mark("push 5 to 16");
		sample_check(rav_vec_push(h, rav_root_get(h, vec), i * 10), "push");
	}
	uintptr_t v;
	sample_check(rav_vec_get(h, rav_root_get(h, vec), count / 2, &v), "read one");
	if (v != (count / 2 + 1) * 10) {
		fprintf(stderr, "rav-lesson-trees: element %zu is %lu\n", count / 2, (unsigned long)v);
		return 1;
	}

	rav_mark("a string");
	const char *text = "ravioli: every object is a tree of cells";
	sample_check(rav_bytes_new_root(h, str, text, strlen(text)), "make a string");
	rav_mark("done");
	sample_check_heap("at the end", h);
	sample_print_stats("trees", h);
	return 0;
}
