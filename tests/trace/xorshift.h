/* xorshift.h - the tests' pseudo-random numbers: Marsaglia's xorshift64
 * (13, 7, 17), a stream per state word (which must not be 0).  Fixed
 * seeds make a test's random choices the same on every run. */
#ifndef RAV_TEST_XORSHIFT_H
#define RAV_TEST_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
