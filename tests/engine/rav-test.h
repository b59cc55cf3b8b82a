/* rav-test.h - the small harness shared by the engine tests.
 *
 * Engine tests are plain C (no GLib) so they run unchanged under memcheck,
 * helgrind and TSan without library noise.  A failed check prints where and
 * why and exits non-zero immediately: later checks would only report
 * consequences of the first failure.  Test programs list their cases in a
 * table; an optional argument selects one case by name.
 */
#ifndef RAV_TEST_H
#define RAV_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ravioli.h"

#define RAV_TEST_SKIP 77 /* meson: the test was skipped */

#define CHECK(cond)                                                                                      \
	do {                                                                                             \
		if (!(cond)) {                                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);        \
			exit(1);                                                                         \
		}                                                                                        \
	} while (0)

#define CHECK_EQ(a, b)                                                                                   \
	do {                                                                                             \
		uintmax_t _a = (uintmax_t)(a), _b = (uintmax_t)(b);                                      \
		if (_a != _b) {                                                                          \
			fprintf(stderr, "%s:%d: check failed: %s == %s (%ju != %ju)\n", __FILE__, __LINE__, \
				#a, #b, _a, _b);                                                         \
			exit(1);                                                                         \
		}                                                                                        \
	} while (0)

#define CHECK_OK(expr)                                                                                   \
	do {                                                                                             \
		rav_status _s = (expr);                                                                  \
		if (_s != RAV_OK) {                                                                      \
			fprintf(stderr, "%s:%d: %s returned %s (%s)\n", __FILE__, __LINE__, #expr,      \
				rav_status_name(_s), rav_last_error());                                  \
			exit(1);                                                                         \
		}                                                                                        \
	} while (0)

#define CHECK_STATUS(expr, want)                                                                         \
	do {                                                                                             \
		rav_status _s = (expr);                                                                  \
		if (_s != (want)) {                                                                      \
			fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__, \
				#expr, rav_status_name(_s), rav_status_name(want), rav_last_error());    \
			exit(1);                                                                         \
		}                                                                                        \
	} while (0)

/* Full invariant check of a heap. */
#define CHECK_HEAP(h) CHECK_OK(rav_heap_check(h))

typedef struct rav_test_case {
	const char *name;
	void (*fn)(void);
} rav_test_case;

/* Run every case (or the one named by argv[1]); prints one line per case. */
static inline int rav_test_run(const rav_test_case *cases, size_t n, int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	size_t ran = 0;
	for (size_t i = 0; i < n; i++) {
		if (only && strcmp(only, cases[i].name) != 0)
			continue;
		printf("# %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
		printf("ok %zu %s\n", i + 1, cases[i].name);
		fflush(stdout);
		ran++;
	}
	if (only && ran == 0) {
		fprintf(stderr, "no test case named '%s'\n", only);
		return 2;
	}
	return 0;
}

/* RAV_TEST_SMALL=1 (valgrind/helgrind setups) asks for smaller sizes. */
static inline int rav_test_small(void)
{
	const char *s = getenv("RAV_TEST_SMALL");
	return s && *s && strcmp(s, "0") != 0;
}

/* Deterministic generator (splitmix64) so failures reproduce from a seed. */
typedef struct rav_rng {
	uint64_t s;
} rav_rng;

static inline uint64_t rav_rng_next(rav_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n) for n > 0. */
static inline uint64_t rav_rng_below(rav_rng *r, uint64_t n)
{
	return rav_rng_next(r) % n;
}

#endif /* RAV_TEST_H */
