/* replay-pack.c - packing the cell blocks a keyframe holds alone, and
 * unpacking them into a copy of it (replay-pack.h).
 *
 * A pack is a list of pages.  Each page's entry is a bitmap of its packed
 * cell blocks, then per block its cell states (a byte: put_states), a
 * nibble per cell coding its control word (four 4-bit byte counts: see
 * ctl_table), and per cell its control word if the nibble says it is a new
 * one, followed by its four words, each XORed with the same word of the
 * cell before it in the page's entry (0 before the first), in the fewest
 * low-order bytes that hold it.  Type words repeat, zero words cost
 * nothing, and references into a compact heap differ from the previous
 * cell's in their low bytes: a block of 528 bytes takes about 146 in a
 * heap churned uniformly (183 with a byte per state and 2 bytes of
 * control a cell: HACKING.md, idx17).  XOR
 * rather than a zigzagged difference: as small for the words a heap holds
 * (the uniform bench trace: 101 keyframes in 901.6 MB against 100 in
 * 899.0 MB) and fewer instructions, and on x86-64 the byte counts of a
 * cell's words come from two SSE2 compares without a branch (packing runs
 * on the indexing thread for every block a keyframe holds alone: a third
 * of its work in a heap churned uniformly; 1273 -> 1091 instructions per
 * block, callgrind).  RAVT_PACK_SCALAR builds the portable loop instead
 * (the same bytes).  The format is this process's memory only (never a
 * file): words are stored in little-endian order, the loads and stores
 * are unaligned 8-byte ones, and the buffer ends with 8 bytes of slack.
 *
 * Fast enough both ways to be cheaper than what it saves: a seek unpacks
 * a heap of tens of megabytes in a few milliseconds, about what the
 * copies on write it replaces took.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__SSE2__) && defined(__x86_64__) && !defined(RAVT_PACK_SCALAR)
#include <emmintrin.h>
#endif

#include "replay-pack.h"

struct ravt_kfpack {
	ravt_kfpack *next;
	uint32_t npages;
	uint32_t *page; /* page index of each entry */
	size_t *off;    /* where each entry starts in data */
	uint8_t *data;
	size_t len;    /* bytes used (data holds 8 more) */
	size_t mapped; /* data is a mapping of this many bytes (0: malloc's) */
};

static inline uint64_t to_le(uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap64(v);
#else
	return v;
#endif
}

typedef struct packbuf {
	uint8_t *data;
	size_t len, cap;
	uint32_t *page;
	size_t *off;
	uint32_t n, ncap;
	bool oom;
	bool mapped;       /* data is a mapping of its own (cap: a multiple of HUGE_BYTES) */
	size_t small_from; /* mapped: huge pages below, small ones from here (2 MB-aligned) */
	size_t ready;      /* mapped: small pages committed up to here */
} packbuf;

/* Large packs are written to huge pages.  Every byte a pack keeps is
 * memory the process never had, and on the VMs this runs on a 4 KB page
 * costs its first write a fault of 12-16 us (the packs were 72% of the
 * uniform bench trace's 110-130k faults); a 2 MB page one fault, 6-9 us
 * per 4 KB of it (HACKING.md, idx15).  So a pack expected to be large (the last one made
 * was at least PACK_HUGE_MIN) is written to its own 2 MB-aligned mapping
 * (when the arena finds huge pages cheap: ravt_arena_huge): huge pages
 * (MADV_HUGEPAGE) up to the last whole 2 MB of the last pack's size
 * (packs of one heap grow slowly from one keyframe to the next), small
 * pages past it, committed PACK_AHEAD at a time with MADV_POPULATE_WRITE
 * (one call, half the cost of their faults here), so that the pack's
 * last bytes do not take a huge page (2 MB zeroed, mostly given back).
 * It grows by mremap (in place, or its pages moved, never copied), and
 * is trimmed when done; a pack that ends inside a huge page (smaller than
 * the last) has the bytes past its last whole 2 MB copied to small pages
 * mapped over it, so that the huge page is given back whole (a huge page
 * partly unmapped stays allocated until the kernel splits it under memory
 * pressure).  Smaller packs (young heaps: ~0.5 MB) come from malloc. */
#define HUGE_BYTES ((size_t)2 << 20)
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PACK_HUGE_MIN HUGE_BYTES
#define PACK_AHEAD ((size_t)128 << 10)
static _Atomic size_t pack_hint;    /* bytes of the last pack made, by any indexer (a hint) */
static atomic_bool pack_map_always; /* tests: every pack mapped, its first 2 MB huge */

void ravt_kfpack_map_always(bool on)
{
	atomic_store(&pack_map_always, on);
}

static size_t round_up(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

/* n bytes (a multiple of HUGE_BYTES) at a 2 MB boundary, the first huge
 * of them advised huge pages and the rest not; NULL when the kernel says
 * no. */
static uint8_t *map_huge(size_t n, size_t huge)
{
	char *raw = mmap(NULL, n + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	char *s = (char *)round_up((uintptr_t)raw, HUGE_BYTES);
	if (s > raw)
		munmap(raw, (size_t)(s - raw));
	if (s + n < raw + n + HUGE_BYTES)
		munmap(s + n, (size_t)(raw + n + HUGE_BYTES - (s + n)));
#ifdef MADV_HUGEPAGE
	/* advice: refused is fine */
	if (huge)
		(void)madvise(s, huge, MADV_HUGEPAGE);
	if (huge < n)
		(void)madvise(s + huge, n - huge, MADV_NOHUGEPAGE); /* (THP "always") */
#else
	(void)huge;
#endif
	return (uint8_t *)s;
}

static bool grow_mapped(packbuf *b, size_t ncap)
{
	void *n = mremap(b->data, b->cap, ncap, 0); /* in place */
	if (n != MAP_FAILED) {
#ifdef MADV_NOHUGEPAGE
		/* (the new part took the advice of the mapping's last part) */
		(void)madvise(b->data + b->cap, ncap - b->cap, MADV_NOHUGEPAGE);
#endif
	} else {
		/* the pages move to a new aligned mapping (page tables, not bytes) */
		uint8_t *to = map_huge(ncap, 0); /* (the part past the old pages: small) */
		if (!to)
			return false;
		n = mremap(b->data, b->cap, b->cap, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (n == MAP_FAILED) {
			munmap(to, ncap);
			return false;
		}
	}
	b->data = n;
	b->cap = ncap;
	return true;
}

/* Room for more bytes; for a mapped buffer, its small pages up to there
 * committed (ready: the bytes that need nothing more, cap for malloc's). */
static bool reserve(packbuf *b, size_t more)
{
	size_t need = b->len + more + 8;
	if (need <= b->ready)
		return true;
	if (!b->cap) {
		size_t hint = atomic_load_explicit(&pack_hint, memory_order_relaxed);
		bool always = atomic_load_explicit(&pack_map_always, memory_order_relaxed);
		if (always)
			hint = HUGE_BYTES;
		else if (hint < PACK_HUGE_MIN || !ravt_arena_huge())
			hint = 0;
		if (hint) {
			/* a quarter more than the last pack: most packs never grow
			 * (always: the smallest mapping, which grows) */
			size_t cap = always ? round_up(need, HUGE_BYTES)
			                    : round_up((hint > need ? hint : need) + hint / 4, HUGE_BYTES);
			size_t huge = hint & ~(HUGE_BYTES - 1);
			if ((b->data = map_huge(cap, huge))) {
				b->cap = cap;
				b->mapped = true;
				b->small_from = b->ready = huge;
			}
		}
	}
	size_t ncap = b->cap ? b->cap : (size_t)1 << 16;
	while (ncap < need)
		ncap *= 2;
	if (b->mapped) {
		if (ncap > b->cap && !grow_mapped(b, ncap))
			return false;
		if (need > b->ready) {
			/* the small pages ahead committed in one call */
			size_t to = round_up(need + PACK_AHEAD, HUGE_BYTES / 512);
			if (to > b->cap)
				to = b->cap;
			(void)madvise(b->data + b->ready, to - b->ready,
			              MADV_POPULATE_WRITE); /* (refused: faults) */
			b->ready = to;
		}
		return true;
	}
	uint8_t *n = realloc(b->data, ncap);
	if (!n)
		return false;
	b->data = n;
	b->cap = b->ready = ncap;
	return true;
}

/* The bytes of a mapped buffer past len + 8 given back (see above);
 * returns the bytes still mapped. */
static size_t trim_mapped(packbuf *b)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t keep = round_up(b->len + 8, pg > 0 ? (size_t)pg : 4096), whole = keep & ~(HUGE_BYTES - 1);
	if (keep >= b->cap)
		return b->cap;
	if (keep > whole && whole < b->small_from) {
		/* (the pack ends in a huge page) */
		size_t tail = keep - whole;
		void *t = mmap(NULL, tail, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (t != MAP_FAILED) {
			/* its pages committed in one call, not a fault each (half
			 * the cost per page here; refused is fine) */
			(void)madvise(t, tail, MADV_POPULATE_WRITE);
			memcpy(t, b->data + whole, tail);
			/* over the huge page's first bytes, in one step (the range
			 * stays this buffer's: no other thread can map into it) */
			if (mremap(t, tail, tail, MREMAP_MAYMOVE | MREMAP_FIXED, b->data + whole) ==
			    MAP_FAILED)
				munmap(t, tail); /* (the huge page stays until split) */
		}
	}
	munmap(b->data + keep, b->cap - keep);
	return keep;
}

static void buf_free(uint8_t *data, size_t mapped)
{
	if (mapped)
		munmap(data, mapped);
	else
		free(data);
}

static bool add_entry(packbuf *b, uint32_t pg)
{
	if (b->n == b->ncap) {
		uint32_t ncap = b->ncap ? b->ncap * 2 : 256;
		uint32_t *np = realloc(b->page, sizeof *np * ncap);
		if (!np)
			return false;
		b->page = np;
		size_t *no = realloc(b->off, sizeof *no * ncap);
		if (!no)
			return false;
		b->off = no;
		b->ncap = ncap;
	}
	b->page[b->n] = pg;
	b->off[b->n] = b->len;
	b->n++;
	return true;
}

#if !(defined(__SSE2__) && defined(__x86_64__) && !defined(RAVT_PACK_SCALAR))
/* The significant low-order bytes of z (0 for 0): the scalar packer's
 * sizing (the SSE2 one sizes four words with two compares). */
static inline unsigned sig_bytes(uint64_t z)
{
	return z ? (unsigned)(71 - __builtin_clzll(z)) >> 3 : 0;
}
#endif

#if defined(__SSE2__) && defined(__x86_64__) && !defined(RAVT_PACK_SCALAR)
/* sig_len[m]: the index + 1 of the highest set bit of m, 0 for 0: the
 * bytes a word takes whose nonzero bytes are the bits of m, without a
 * branch (a word's length is as random as the heap's contents: a branch
 * on it would be mispredicted about as often as not).  A load per word,
 * where the highest bit of (m << 1 | 1) by clz took a shift, a mask, an
 * or, the clz and an xor (callgrind, the packer's thread: 69.4 -> 59.7
 * instructions a cell packed, 1110 -> 955 a block). */
#define SL2(n) n, n
#define SL4(n) SL2(n), SL2(n)
#define SL8(n) SL4(n), SL4(n)
#define SL16(n) SL8(n), SL8(n)
#define SL32(n) SL16(n), SL16(n)
#define SL64(n) SL32(n), SL32(n)
#define SL128(n) SL64(n), SL64(n)
static const uint8_t sig_len[256] = {0, 1, SL2(2), SL4(3), SL8(4), SL16(5), SL32(6), SL64(7), SL128(8)};
#undef SL2
#undef SL4
#undef SL8
#undef SL16
#undef SL32
#undef SL64
#undef SL128
#endif

/* A page entry's control words are coded, a nibble per cell, by their
 * place in a table of the last 15 different ones the entry used (15: not
 * there, the word follows the code, and replaces the table's oldest).  A
 * heap's cells have few shapes (the uniform bench trace: 10 control words
 * are 97.5% of its cells, 106 in all), so a cell's 2 bytes become half of
 * one, and a block's 32 bytes 8 and a few escapes.  Both sides start each
 * page entry with the table empty (a second thread unpacks from an entry
 * of its own). */
#define CTL_NONE 0xffffu /* in no slot (a control word's nibbles are at most 8) */
#define CTL_ESC 15u

typedef struct ctl_table {
	uint16_t v[16]; /* v[15]: always CTL_NONE */
	uint32_t next;  /* the slot the next new word takes */
} ctl_table;

static void ctl_reset(ctl_table *t)
{
	for (unsigned i = 0; i < 16; i++)
		t->v[i] = CTL_NONE;
	t->next = 0;
}

static inline void ctl_learn(ctl_table *t, unsigned ctlv)
{
	t->v[t->next] = (uint16_t)ctlv;
	t->next = t->next == CTL_ESC - 1 ? 0 : t->next + 1;
}

/* The slot of ctlv, or CTL_ESC (the word then learned): the portable
 * packer's search (the SSE2 one compares the 16 slots at once, the table
 * in two registers). */
static inline unsigned ctl_code(ctl_table *t, unsigned ctlv)
{
	for (unsigned i = 0; i < CTL_ESC; i++)
		if (t->v[i] == ctlv)
			return i;
	ctl_learn(t, ctlv);
	return CTL_ESC;
}

/* A block's cell states lead it in one byte when they are all one state
 * (or all one but a page header in cell 0: a page's first block), else
 * in a byte and two bits a cell (or, never in practice, a byte a cell). */
#define ST_HEADER0 0x40u /* | state: cell 0 a header, the rest state */
#define ST_BITS 0x80u
#define ST_RAW 0x81u
_Static_assert(RAVT_CB_CELLS % 8 == 0 && RAVT_CB_CELLS <= 16,
               "a block's control nibbles are one 64-bit word, its states whole words");
_Static_assert(RAV_CELL_HEADER <= 3, "cell states take two bits");
/* the most a block takes: states, the nibbles, and per cell a control word
 * and four whole words */
#define BLOCK_MAX (1 + RAVT_CB_CELLS + RAVT_CB_CELLS / 2 + RAVT_CB_CELLS * (2 + 4 * 8))

static uint8_t *put_states(uint8_t *p, const uint8_t *st)
{
	uint64_t w[RAVT_CB_CELLS / 8];
	memcpy(w, st, RAVT_CB_CELLS);
	uint64_t pat = st[1] * 0x0101010101010101ull, rest = (to_le(w[0]) ^ pat) >> 8, any = w[0];
	for (unsigned i = 1; i < RAVT_CB_CELLS / 8; i++) {
		rest |= w[i] ^ pat;
		any |= w[i];
	}
	if (any & ~(0x0303030303030303ull)) {
		/* (a state of more than two bits) */
		*p++ = ST_RAW;
		memcpy(p, st, RAVT_CB_CELLS);
		return p + RAVT_CB_CELLS;
	}
	if (!rest && st[0] == st[1]) {
		*p++ = st[0];
		return p;
	}
	if (!rest && st[0] == RAV_CELL_HEADER) {
		*p++ = (uint8_t)(ST_HEADER0 | st[1]);
		return p;
	}
	*p++ = ST_BITS;
	for (unsigned c = 0; c < RAVT_CB_CELLS; c += 4)
		*p++ = (uint8_t)(st[c] | st[c + 1] << 2 | st[c + 2] << 4 | st[c + 3] << 6);
	return p;
}

static const uint8_t *get_states(const uint8_t *p, uint8_t *st)
{
	unsigned tag = *p++;
	if (tag < ST_HEADER0) {
		memset(st, (int)tag, RAVT_CB_CELLS);
	} else if (tag < ST_BITS) {
		memset(st, (int)(tag & 3), RAVT_CB_CELLS);
		st[0] = RAV_CELL_HEADER;
	} else if (tag == ST_BITS) {
		for (unsigned c = 0; c < RAVT_CB_CELLS; c += 4, p++)
			for (unsigned j = 0; j < 4; j++)
				st[c + j] = (uint8_t)((*p >> (2 * j)) & 3);
	} else {
		memcpy(st, p, RAVT_CB_CELLS);
		p += RAVT_CB_CELLS;
	}
	return p;
}

/* The block's cells, after the page's earlier packed cells (prev: the
 * words of the last cell packed, updated; tab: the entry's control words).
 * Each cell is XORed with the cell before it (prev for the block's first). */
static void put_block(packbuf *b, const ravt_cellblock *k, uint64_t prev[4], ctl_table *tab)
{
	uint8_t *p = put_states(b->data + b->len, k->st);
	uint8_t *codes_at = p;
	p += RAVT_CB_CELLS / 2;
	uint64_t codes = 0;
	const uint64_t *w = k->w;
#if defined(__SSE2__) && defined(__x86_64__) && !defined(RAVT_PACK_SCALAR)
	const __m128i zero = _mm_setzero_si128();
	__m128i tlo = _mm_loadu_si128((const __m128i *)tab->v);
	__m128i thi = _mm_loadu_si128((const __m128i *)(tab->v + 8));
	for (uint32_t c = 0; c < RAVT_CB_CELLS; c++, w += 4) {
		const uint64_t *ref = c ? w - 4 : prev;
		__m128i x0 =
		    _mm_xor_si128(_mm_loadu_si128((const __m128i *)w), _mm_loadu_si128((const __m128i *)ref));
		__m128i x1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(w + 2)),
		                           _mm_loadu_si128((const __m128i *)(ref + 2)));
		/* bit i: byte i of the cell's XORed words is not zero */
		unsigned nz = ~((unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x0, zero)) |
		                (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x1, zero)) << 16);
		unsigned n0 = sig_len[nz & 0xffu], n1 = sig_len[(nz >> 8) & 0xffu];
		unsigned n2 = sig_len[(nz >> 16) & 0xffu], n3 = sig_len[nz >> 24];
		unsigned ctlv = n0 | n1 << 4 | n2 << 8 | n3 << 12;
		/* the table's slots stay in two registers (reloaded after a
		 * new word) */
		__m128i key = _mm_set1_epi16((short)ctlv);
		unsigned hit = (unsigned)_mm_movemask_epi8(
		    _mm_packs_epi16(_mm_cmpeq_epi16(tlo, key), _mm_cmpeq_epi16(thi, key)));
		unsigned code = hit ? (unsigned)__builtin_ctz(hit) : CTL_ESC;
		codes = codes >> 4 | (uint64_t)code << 60;
		if (!hit) {
			ctl_learn(tab, ctlv);
			tlo = _mm_loadu_si128((const __m128i *)tab->v);
			thi = _mm_loadu_si128((const __m128i *)(tab->v + 8));
			memcpy(p, &(uint16_t){(uint16_t)ctlv}, 2);
			p += 2;
		}
		uint64_t v;
		v = (uint64_t)_mm_cvtsi128_si64(x0);
		memcpy(p, &v, 8);
		p += n0;
		v = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(x0, x0));
		memcpy(p, &v, 8);
		p += n1;
		v = (uint64_t)_mm_cvtsi128_si64(x1);
		memcpy(p, &v, 8);
		p += n2;
		v = (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(x1, x1));
		memcpy(p, &v, 8);
		p += n3;
	}
	w -= 4;
#else
	uint64_t p0 = prev[0], p1 = prev[1], p2 = prev[2], p3 = prev[3];
	for (uint32_t c = 0; c < RAVT_CB_CELLS; c++, w += 4) {
		uint64_t z0 = w[0] ^ p0, z1 = w[1] ^ p1, z2 = w[2] ^ p2, z3 = w[3] ^ p3;
		p0 = w[0], p1 = w[1], p2 = w[2], p3 = w[3];
		unsigned n0 = sig_bytes(z0), n1 = sig_bytes(z1), n2 = sig_bytes(z2), n3 = sig_bytes(z3);
		unsigned ctlv = n0 | n1 << 4 | n2 << 8 | n3 << 12;
		unsigned code = ctl_code(tab, ctlv);
		codes = codes >> 4 | (uint64_t)code << 60;
		if (code == CTL_ESC) {
			p[0] = (uint8_t)ctlv;
			p[1] = (uint8_t)(ctlv >> 8);
			p += 2;
		}
		uint64_t le;
		le = to_le(z0);
		memcpy(p, &le, 8);
		p += n0;
		le = to_le(z1);
		memcpy(p, &le, 8);
		p += n1;
		le = to_le(z2);
		memcpy(p, &le, 8);
		p += n2;
		le = to_le(z3);
		memcpy(p, &le, 8);
		p += n3;
	}
	w -= 4;
#endif
	codes = to_le(codes >> (64 - 4 * RAVT_CB_CELLS)); /* (cell 0's nibble lowest) */
	memcpy(codes_at, &codes, RAVT_CB_CELLS / 2);
	memcpy(prev, w, 4 * sizeof *prev);
	b->len = (size_t)(p - b->data);
}

static uint64_t pack_bytes(const ravt_kfpack *pk)
{
	return sizeof *pk + pk->len + 8 + (uint64_t)pk->npages * (sizeof *pk->page + sizeof *pk->off);
}

static inline bool packable(const ravt_cellblock *k)
{
	return k && k != &ravt_zero_block && k != &ravt_header_block && k != &ravt_packed_block &&
	       atomic_load_explicit(&k->refs, memory_order_acquire) == 1;
}

#define PACK_FREE_BATCH 64u

uint64_t ravt_kfpack_add(ravt_model *k, ravt_kfpack **packs, uint64_t *freed)
{
	*freed = 0;
	ravt_kfpack *pk = malloc(sizeof *pk);
	if (!pk)
		return 0;
	packbuf b = {0};
	size_t map_bytes = (k->ncb + 7) / 8;
	/* Without a block cache (the packer's thread: replay-index.c), the
	 * blocks packed go back to the arena PACK_FREE_BATCH at a time: one
	 * take of its lock each, not one per block (the lock the indexing
	 * thread's block cache refills take too). */
	void *gone[PACK_FREE_BATCH];
	size_t ngone = 0;
	for (uint32_t pg = 0; pg < k->span && !b.oom; pg++) {
		/* only the leaves the keyframe holds alone (the pages of a leaf
		 * it shares are the other holders' too, whatever their counts) */
		const ravt_pleaf *lf = ravt_leaf_at(k, pg);
		if (atomic_load_explicit(&lf->refs, memory_order_acquire) != 1) {
			pg |= RAVT_LEAF_PAGES - 1;
			continue;
		}
		/* blocks are out of cache (written long ago, by live): ask for the
		 * next page's blocks while this one's are packed, and for the page
		 * block after that (in this leaf) */
		uint32_t j = RAVT_LEAF_INDEX(pg);
		if (j + 2 < RAVT_LEAF_PAGES && lf->pg[j + 2])
			__builtin_prefetch(lf->pg[j + 2]);
		const ravt_mpage *np = j + 1 < RAVT_LEAF_PAGES ? lf->pg[j + 1] : NULL;
		if (np && atomic_load_explicit(&np->refs, memory_order_relaxed) == 1)
			for (uint32_t i = 0; i < k->ncb; i++)
				for (size_t off = 0; off < sizeof(ravt_cellblock); off += 64)
					__builtin_prefetch((const char *)np->cb[i] + off);
		ravt_mpage *p = lf->pg[j];
		if (!p || atomic_load_explicit(&p->refs, memory_order_acquire) != 1)
			continue;
		uint32_t count = 0;
		for (uint32_t i = 0; i < k->ncb; i++)
			count += packable(p->cb[i]);
		if (!count)
			continue;
		if (!reserve(&b, map_bytes + (size_t)count * BLOCK_MAX) || !add_entry(&b, pg)) {
			b.oom = true;
			break;
		}
		uint8_t *map = b.data + b.len;
		memset(map, 0, map_bytes);
		b.len += map_bytes;
		uint64_t prev[4] = {0, 0, 0, 0};
		ctl_table tab;
		ctl_reset(&tab);
		for (uint32_t i = 0; i < k->ncb; i++) {
			ravt_cellblock *cb = p->cb[i];
			if (!packable(cb))
				continue;
			map[i >> 3] |= (uint8_t)(1u << (i & 7));
			put_block(&b, cb, prev, &tab);
			/* the slot now says "packed" (the packed block is not
			 * counted: replay-model.c); the block was the page's alone */
			p->cb[i] = &ravt_packed_block;
			if (i < RAVT_PRIV_BITS)
				atomic_store_explicit(&p->priv,
				                      atomic_load_explicit(&p->priv, memory_order_relaxed) &
				                          ~(1u << i),
				                      memory_order_relaxed);
			if (k->cache) {
				ravt_cell_release(k, cb);
			} else {
				gone[ngone++] = cb;
				if (ngone == PACK_FREE_BATCH) {
					ravt_arena_free_batch(gone, ngone);
					ngone = 0;
				}
			}
			*freed += sizeof(ravt_cellblock);
		}
	}
	if (ngone)
		ravt_arena_free_batch(gone, ngone);
	if (!b.n) {
		buf_free(b.data, b.mapped ? b.cap : 0);
		free(b.page);
		free(b.off);
		free(pk);
		return 0;
	}
	memset(b.data + b.len, 0, 8);
	atomic_store_explicit(&pack_hint, b.len, memory_order_relaxed);
	if (b.mapped) {
		pk->mapped = trim_mapped(&b);
	} else {
		pk->mapped = 0;
		uint8_t *data = realloc(b.data, b.len + 8); /* shrinking: the old block stays if it fails */
		if (data)
			b.data = data;
	}
	pk->next = *packs;
	pk->npages = b.n;
	pk->page = b.page;
	pk->off = b.off;
	pk->data = b.data;
	pk->len = b.len;
	*packs = pk;
	return pack_bytes(pk);
}

static void get_block(const uint8_t **pp, ravt_cellblock *k, uint64_t prev[4], ctl_table *tab)
{
	const uint8_t *p = get_states(*pp, k->st);
	uint64_t codes = 0;
	memcpy(&codes, p, RAVT_CB_CELLS / 2);
	codes = to_le(codes);
	p += RAVT_CB_CELLS / 2;
	for (uint32_t c = 0; c < RAVT_CB_CELLS; c++, codes >>= 4) {
		unsigned code = (unsigned)codes & 15, ctlv;
		if (code == CTL_ESC) {
			ctlv = p[0] | (unsigned)p[1] << 8;
			p += 2;
			ctl_learn(tab, ctlv);
		} else {
			ctlv = tab->v[code];
		}
		for (unsigned j = 0; j < 4; j++) {
			unsigned n = (ctlv >> (4 * j)) & 15;
			uint64_t z;
			memcpy(&z, p, 8);
			z = to_le(z);
			z &= n ? ~(uint64_t)0 >> (64 - 8 * n) : 0;
			p += n;
			prev[j] ^= z;
			k->w[c * 4 + j] = prev[j];
		}
	}
	*pp = p;
}

/* Unpacking a large pack runs on two threads (a seek waits for it), each
 * on its own pages: the page blocks are made the copy's own first, on the
 * calling thread (they come from the copy's block cache), and the second
 * thread takes its cell blocks from the arena (replay-arena.c). */
#define UNPACK_PAR_MIN ((size_t)1 << 20)

typedef struct unpack_job {
	ravt_model alloc; /* only its cache is read (by ravt_cell_new) */
	const ravt_kfpack *pk;
	ravt_mpage **pages; /* the entries' page blocks, writable */
	uint32_t ncb, from, to;
	bool ok;
} unpack_job;

static void unpack_range(unpack_job *j)
{
	const ravt_kfpack *pk = j->pk;
	for (uint32_t e = j->from; e < j->to; e++) {
		ravt_mpage *p = j->pages[e];
		const uint8_t *map = pk->data + pk->off[e];
		const uint8_t *d = map + (j->ncb + 7) / 8;
		uint64_t prev[4] = {0, 0, 0, 0};
		ctl_table tab;
		ctl_reset(&tab);
		for (uint32_t i = 0; i < j->ncb; i++) {
			if (!(map[i >> 3] & (1u << (i & 7))))
				continue;
			ravt_cellblock *k;
			if (p->cb[i] != &ravt_packed_block || !(k = ravt_cell_new(&j->alloc))) {
				j->ok =
				    false; /* (not the keyframe the pack was made from, or out of memory) */
				return;
			}
			get_block(&d, k, prev, &tab);
			p->cb[i] = k;
		}
	}
}

static void *unpack_thread(void *arg)
{
	unpack_range(arg);
	return NULL;
}

bool ravt_kfpack_restore(ravt_model *m, const ravt_kfpack *packs)
{
	for (const ravt_kfpack *pk = packs; pk; pk = pk->next) {
		ravt_mpage **pages = malloc(sizeof *pages * pk->npages);
		if (!pages)
			return false;
		for (uint32_t e = 0; e < pk->npages; e++) {
			uint32_t pg = pk->page[e];
			/* (a pack belongs to the keyframe m was copied from) */
			if (pg >= m->span || !ravt_page_at(m, pg) || !(pages[e] = ravt_page_w(m, pg))) {
				free(pages);
				return false;
			}
		}
		unpack_job mine = {
		    .alloc = *m, .pk = pk, .pages = pages, .ncb = m->ncb, .to = pk->npages, .ok = true};
		unpack_job other = mine;
		/* the other thread's blocks come from the arena a batch at a
		 * time (one lock per block was 55k locks for a large pack) */
		ravt_blockcache other_cache = {0};
		other.alloc.cache = &other_cache;
		pthread_t th;
		bool two = false;
		if (pk->len >= UNPACK_PAR_MIN) {
			/* the second half of the bytes to the other thread */
			uint32_t mid = 0;
			while (mid < pk->npages && pk->off[mid] < pk->len / 2)
				mid++;
			mine.to = other.from = mid;
			two = pthread_create(&th, NULL, unpack_thread, &other) == 0;
			if (!two)
				mine.to = pk->npages;
		}
		unpack_range(&mine);
		if (two)
			pthread_join(th, NULL);
		ravt_blockcache_clear(&other_cache);
		free(pages);
		if (!mine.ok || (two && !other.ok))
			return false;
	}
	return true;
}

uint64_t ravt_kfpack_bytes(const ravt_kfpack *packs)
{
	uint64_t b = 0;
	for (const ravt_kfpack *pk = packs; pk; pk = pk->next)
		b += pack_bytes(pk);
	return b;
}

void ravt_kfpack_free(ravt_kfpack *packs)
{
	while (packs) {
		ravt_kfpack *n = packs->next;
		buf_free(packs->data, packs->mapped);
		free(packs->page);
		free(packs->off);
		free(packs);
		packs = n;
	}
}
