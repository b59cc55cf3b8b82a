/* sample.h - helpers shared by the rav-sample-* programs.
 *
 * The samples are teaching material first: each one should read as a short
 * walk through one feature of ravioli memory.  Everything that is not about
 * that feature (argument parsing, error exits, a deterministic random
 * source, the heap summary) lives here so the programs stay on topic.
 */
#ifndef RAV_SAMPLE_H
#define RAV_SAMPLE_H

#include <stdint.h>
#include <stdio.h>

#include "ravioli.h"

/* Parse the optional size argument (argv[1]); print usage and exit 2 on
 * anything else.  `what` says what the size counts, for --help. */
unsigned long sample_size_arg(int argc, char **argv, unsigned long dflt, unsigned long max, const char *what,
                              const char *about);

/* Exit with a precise message when an engine call fails. */
void sample_check(rav_status st, const char *what);

/* Print the heap summary of `h` (rav_heap_stats) under a title. */
void sample_print_stats(const char *title, rav_heap *h);

/* Verify every heap invariant; exit 1 with the engine's reason if broken. */
void sample_check_heap(const char *when, rav_heap *h);

/* A small deterministic generator (xorshift64*): the same seed records the
 * same trace, which the golden tests rely on. */
typedef struct sample_rng {
	uint64_t s;
} sample_rng;
static inline uint64_t sample_rand(sample_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}
static inline uint64_t sample_below(sample_rng *r, uint64_t n)
{
	return n ? sample_rand(r) % n : 0;
}

#endif /* RAV_SAMPLE_H */
