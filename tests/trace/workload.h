/* workload.h - the pieces of the random heap workload that the exactness
 * tests (replay-exact.c, attach-exact.c) share: a random object reachable
 * from a random root, a random reference field, a random one of three
 * types, each drawn from the caller's xorshift64 stream.  The operations
 * and their odds are each test's own. */
#ifndef RAV_TEST_WORKLOAD_H
#define RAV_TEST_WORKLOAD_H

#include "ravioli.h"
#include "xorshift.h"

/* A random root of roots[0..nroots) (its index in *root_out if not NULL),
 * and a walk of 0 to max_steps steps down reference fields of user-typed
 * cells from its object (RAV_REF null where the root holds nothing). */
static inline rav_ref wl_pick(uint64_t *s, rav_heap *h, const rav_root *roots, unsigned nroots,
                              unsigned max_steps, int *root_out)
{
	int r = (int)(xorshift64(s) % nroots);
	if (root_out)
		*root_out = r;
	rav_ref o = rav_root_get(h, roots[r]);
	for (int d = (int)(xorshift64(s) % (max_steps + 1)); d > 0 && !rav_ref_is_null(o); d--) {
		rav_type t = rav_type_of(h, o);
		if (t < RAV_TYPE_FIRST_USER)
			break;
		int f = (int)(xorshift64(s) % 2);
		if (rav_type_field_kind(t, f) != RAV_REF)
			f ^= 1;
		if (rav_type_field_kind(t, f) != RAV_REF)
			break;
		rav_ref c = rav_load_ref(h, o, f);
		if (rav_ref_is_null(c))
			break;
		o = c;
	}
	return o;
}

/* A reference field of type t, either if both are, or -1. */
static inline int wl_ref_field(uint64_t *s, rav_type t)
{
	if (t < RAV_TYPE_FIRST_USER)
		return -1;
	int f = (int)(xorshift64(s) % 2);
	if (rav_type_field_kind(t, f) == RAV_REF)
		return f;
	if (rav_type_field_kind(t, f ^ 1) == RAV_REF)
		return f ^ 1;
	return -1;
}

/* One of the three types, each a third of the time. */
static inline rav_type wl_type(uint64_t *s, rav_type a, rav_type b, rav_type c)
{
	switch (xorshift64(s) % 3) {
	case 0:
		return a;
	case 1:
		return b;
	default:
		return c;
	}
}

#endif
