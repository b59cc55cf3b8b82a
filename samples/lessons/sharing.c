/* sharing.c - lesson "Many referrers: reference ravioli"
 * (samples/lessons/sharing.lesson).
 *
 * A target raviolo is referred to by one holder, then by four: each extra
 * referrer costs a reference raviolo, and they form a small balanced tree
 * above the target (a raviolo has room for one back-link).  Then the
 * referrers go one by one; the last one frees the target.
 */
#include "sample.h"

int main(int argc, char **argv)
{
	size_t holders = sample_size_arg(argc, argv, 4, 64, "referrers of the target",
	                                 "Lesson sample: several referrers of one raviolo.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	rav_type holder = rav_type_register("holder", RAV_REF, RAV_DATA);
	rav_type target = rav_type_register("target", RAV_DATA, RAV_DATA);
	if (!h || !holder || !target)
		sample_check(RAV_ENOMEM, "set up");
	if (holders < 2) {
		fprintf(stderr, "rav-lesson-sharing: the lesson needs at least 2 referrers\n");
		return 2;
	}
	rav_root roots[64] = {0};
	for (size_t i = 0; i < holders; i++) {
		if (!(roots[i] = rav_root_new(h)))
			sample_check(RAV_ENOMEM, "roots");
		rav_ref x;
		sample_check(rav_new_root(h, holder, roots[i], &x), "allocate a holder");
		rav_store(h, x, 1, i + 1);
	}

	rav_mark("one referrer");
	rav_ref t;
	sample_check(rav_new_field(h, target, rav_root_get(h, roots[0]), 0, &t), "allocate the target");
	rav_store(h, t, 0, 42);

	rav_mark("a second referrer");
	t = rav_load_ref(h, rav_root_get(h, roots[0]), 0);
	sample_check(rav_store_ref(h, rav_root_get(h, roots[1]), 0, t), "refer from holder 2");

	rav_mark("more referrers");
	for (size_t i = 2; i < holders; i++) {
		t = rav_load_ref(h, rav_root_get(h, roots[0]), 0);
		sample_check(rav_store_ref(h, rav_root_get(h, roots[i]), 0, t), "refer from another holder");
	}
	sample_check_heap("with every referrer", h);

	rav_mark("referrers go");
	for (size_t i = 1; i < holders; i++)
		sample_check(rav_clear_ref(h, rav_root_get(h, roots[i]), 0), "drop a referrer");

	rav_mark("the last referrer goes");
	sample_check(rav_clear_ref(h, rav_root_get(h, roots[0]), 0), "drop the last referrer");
	sample_check_heap("at the end", h);
	sample_print_stats("sharing", h);
	return 0;
}
