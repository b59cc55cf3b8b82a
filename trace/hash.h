/* hash.h - the integer mixers of trace/'s open-addressing tables.
 *
 * Tables keyed by ids the file chose (pieces, pages, lines, pairs) must
 * not put neighbouring keys in one probe run, or a hostile file makes every
 * lookup linear.  ravt_mix_fast is one xor-shift-multiply round (the
 * first half of MurmurHash3's 64-bit finaliser): enough for keys that are
 * already spread, and cheap where the contention model hashes per access.
 * ravt_mix is the whole finaliser, for keys whose low bits are all alike
 * (the CLI, which includes only the public headers, keeps its own copy:
 * cli_mix in trace/cli/cli.h).
 */
#ifndef RAV_HASH_H
#define RAV_HASH_H

#include <stdint.h>

static inline uint64_t ravt_mix_fast(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static inline uint64_t ravt_mix(uint64_t k)
{
	k = ravt_mix_fast(k);
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

#endif
