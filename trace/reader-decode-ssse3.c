/* reader-decode-ssse3.c - the merge's and the cursors' batch decoder for EVENTS_AC chunks
 * with the address cache's order in a vector register (reader-decode.h,
 * RAVT_DAC_SIMD): a hit moves entry i to the front with one byte shuffle
 * instead of a dozen shifts and masks of the order word (callgrind: about
 * 10 instructions fewer per cache hit, a hit or more per event on real
 * traces).
 *
 * The baseline x86-64 has no SSSE3 (pshufb, palignr), so only this file's
 * functions are compiled for it (a target pragma, not a build flag: the
 * rest of the reader runs anywhere) and the reader calls them only when
 * the CPU has it (ravt_dec_have_ssse3).  Elsewhere (other CPUs, other
 * compilers) the functions exist and say no.  RAVTRACE_SIMD=0 in the
 * environment turns them off, so that the tests can run the portable
 * loop of the merge too.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RAVT_DAC_SIMD 1
#include <tmmintrin.h>
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("ssse3"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("ssse3")
#endif
#endif

#include "reader-decode.h"

#ifdef RAVT_DAC_SIMD
/* (reader-decode-batch.h: out of line, a dispatch per case) */
#define RAVT_DB_INTERN true
#define RAVT_DB_SIMD true
#define RAVT_DB_ACACHE true
#define RAVT_DB_STOP true
#define RAVT_DB_NAME ravt_dec_batch_merge_ac_ssse3
#include "reader-decode-batch.h"
#undef RAVT_DB_NAME
#undef RAVT_DB_STOP
#define RAVT_DB_STOP false
#define RAVT_DB_NAME ravt_dec_batch_cursor_ac_ssse3
#include "reader-decode-batch.h"
#undef RAVT_DB_NAME
#undef RAVT_DB_STOP
#undef RAVT_DB_ACACHE
#undef RAVT_DB_SIMD
#undef RAVT_DB_INTERN
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static bool have_ssse3;
static pthread_once_t have_once = PTHREAD_ONCE_INIT;

static void find_ssse3(void)
{
	const char *env = getenv("RAVTRACE_SIMD");
	__builtin_cpu_init();
	have_ssse3 = !(env && strcmp(env, "0") == 0) && __builtin_cpu_supports("ssse3");
}

bool ravt_dec_have_ssse3(void)
{
	pthread_once(&have_once, find_ssse3);
	return have_ssse3;
}
#else
uint32_t ravt_dec_batch_merge_ac_ssse3(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g)
{
	return ravt_dec_batch(d, out, n, g, true, true);
}

uint32_t ravt_dec_batch_cursor_ac_ssse3(ravt_dec *d, rav_event *out, uint32_t n, uint64_t g)
{
	return ravt_dec_batch(d, out, n, g, true, false);
}

bool ravt_dec_have_ssse3(void)
{
	return false;
}
#endif
