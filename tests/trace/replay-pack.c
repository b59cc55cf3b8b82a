/* replay-pack.c - packing a keyframe's own cell blocks and unpacking them
 * into a copy gives back every word and cell state, whatever the words
 * hold (the extremes of 64 bits, differences that change sign, zeros),
 * packs only what the keyframe holds alone, and packs again after a
 * neighbour that shared blocks with it went away; cells of one shape (a
 * heap's usual blocks) take a byte of states a block and half a byte of
 * control a cell, and every coding of states and control words (one
 * state, a page header and one state, two bits a cell, a byte a cell; a
 * page of more different control words than the table holds) gives them
 * back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay-pack.h"
#include "trace-test.h"

#define PAGES 720u /* a pack of over 2 MiB: unpacked on two threads, a mapping grown */

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
	return xorshift64(&rng);
}

/* The value of word w of cell c of page pg in round `round`. */
static uint64_t pattern(uint32_t pg, uint32_t c, unsigned w, unsigned round)
{
	static const uint64_t edge[] = {0, 1, ~0ull, 0x8000000000000000ull, 0x7fffffffffffffffull, 0x7f0000001000ull};
	switch ((pg + c + round) % 4) {
	case 0:
		return edge[(c * 4 + w + round) % 6];
	case 1:
		return next();
	case 2:
		return (c & 1) ? 0x7f0000000000ull + c * 32 + w * 8 : 0x7f00ffff0000ull - c; /* addresses */
	default:
		return w == 0 ? 17 | (uint64_t)c << 24 : 0; /* a type word, zeros */
	}
}

static void fill(ravt_model *m, unsigned round, uint32_t first_block)
{
	for (uint32_t pg = 0; pg < PAGES; pg++) {
		ravt_mpage *p = ravt_page_w(m, pg);
		for (uint32_t c = first_block * RAVT_CB_CELLS; c < m->cpp; c++) {
			ravt_cellblock *k = ravt_block_w(m, p, c);
			k->st[RAVT_CB_INDEX(c)] = (uint8_t)(1 + (c + round) % 3);
			for (unsigned w = 0; w < 4; w++)
				k->w[RAVT_CB_INDEX(c) * 4 + w] = pattern(pg, c, w, round);
		}
	}
}

/* Every cell of a equals b's. */
static bool same(const ravt_model *a, const ravt_model *b)
{
	for (uint32_t pg = 0; pg < PAGES; pg++)
		for (uint32_t c = 0; c < a->cpp; c++) {
			const ravt_mpage *p = ravt_page_r(a, pg), *q = ravt_page_r(b, pg);
			if (ravt_cell_st(p, c) != ravt_cell_st(q, c) ||
			    memcmp(ravt_cell_words(p, c), ravt_cell_words(q, c), 4 * sizeof(uint64_t)) != 0) {
				fprintf(stderr, "page %u cell %u differs\n", pg, c);
				return false;
			}
		}
	return true;
}

static unsigned packed_slots(const ravt_model *m)
{
	unsigned n = 0;
	for (uint32_t pg = 0; pg < m->span; pg++)
		for (uint32_t i = 0; i < m->ncb; i++)
			n += ravt_page_at(m, pg)->cb[i] == &ravt_packed_block;
	return n;
}

/* The whole sequence, the packs from malloc or (mapped) each in a mapping
 * of its own that starts at 2 MB: the first pack grows past it (mremap)
 * and both are trimmed, their last bytes moved to small pages. */
static void run(bool mapped)
{
	ravt_kfpack_map_always(mapped);
	rng = 0x9E3779B97F4A7C15ull;
	ravt_blockcache cache = {0};
	ravt_model live, kf, kf2, copy, expect;
	ravt_model_init(&live, 4096, 32, 8, NULL);
	live.cache = &cache;
	ravt_model_init(&kf, 4096, 32, 8, NULL);
	ravt_model_init(&kf2, 4096, 32, 8, NULL);
	ravt_model_init(&copy, 4096, 32, 8, NULL);
	ravt_model_init(&expect, 4096, 32, 8, NULL);
	CHECK(ravt_model_ensure_span(&live, PAGES - 1));
	for (uint32_t pg = 0; pg < PAGES; pg++)
		CHECK(ravt_model_new_page_at(&live, pg) != NULL);
	fill(&live, 0, 0);

	/* a keyframe, then live writes everything but the first block of
	 * each page: the keyframe holds those blocks alone, the first ones it
	 * shares (and the page blocks are its own after live's copies) */
	CHECK(ravt_model_copy(&kf, &live));
	fill(&live, 1, 1);
	/* the truth, in blocks of its own: a copy of kf, written through */
	CHECK(ravt_model_copy(&expect, &kf));
	for (uint32_t pg = 0; pg < PAGES; pg++) {
		ravt_mpage *p = ravt_page_w(&expect, pg);
		for (uint32_t c = 0; c < expect.cpp; c += RAVT_CB_CELLS)
			CHECK(ravt_block_w(&expect, p, c) != NULL);
	}

	ravt_kfpack *packs = NULL;
	uint64_t freed = 0;
	uint64_t bytes = ravt_kfpack_add(&kf, &packs, &freed);
	unsigned want = PAGES * (kf.ncb - 1);
	CHECK(packed_slots(&kf) == want);
	CHECK(freed == (uint64_t)want * sizeof(ravt_cellblock));
	CHECK(bytes > 0 && bytes < freed);
	printf("packed %u blocks%s: %llu bytes for %llu\n", want, mapped ? " (mapped)" : "",
	       (unsigned long long)bytes, (unsigned long long)freed);
	/* (mapped: it grew past its first 2 MB) */
	CHECK(!mapped || bytes > ((uint64_t)2 << 20));

	CHECK(ravt_model_copy(&copy, &kf));
	CHECK(ravt_kfpack_restore(&copy, packs));
	CHECK(packed_slots(&copy) == 0);
	CHECK(same(&copy, &expect));
	/* the keyframe keeps its packed slots: a second restore gives the same */
	CHECK(packed_slots(&kf) == want);
	ravt_model_clear(&copy);
	ravt_model_init(&copy, 4096, 32, 8, NULL);
	CHECK(ravt_model_copy(&copy, &kf));
	CHECK(ravt_kfpack_restore(&copy, packs));
	CHECK(same(&copy, &expect));

	/* while the copy shares the first blocks, they stay; once it and live
	 * let go, the keyframe holds them alone, and a second pack takes them */
	ravt_model_clear(&live);
	uint64_t bytes2 = ravt_kfpack_add(&kf, &packs, &freed);
	CHECK(bytes2 == 0 && freed == 0);
	ravt_model_clear(&copy);
	ravt_model_init(&copy, 4096, 32, 8, NULL);
	bytes2 = ravt_kfpack_add(&kf, &packs, &freed);
	CHECK(bytes2 > 0);
	CHECK(packed_slots(&kf) == PAGES * kf.ncb);
	CHECK(ravt_model_copy(&copy, &kf));
	CHECK(ravt_kfpack_restore(&copy, packs));
	CHECK(packed_slots(&copy) == 0);
	CHECK(same(&copy, &expect));
	CHECK(ravt_kfpack_bytes(packs) == bytes + bytes2);

	/* a keyframe a state still shares a page with keeps that page raw */
	CHECK(ravt_model_copy(&kf2, &copy));
	ravt_kfpack *packs2 = NULL;
	CHECK(ravt_kfpack_add(&kf2, &packs2, &freed) == 0 && freed == 0 && packs2 == NULL);

	ravt_kfpack_free(packs);
	ravt_model_clear(&kf);
	ravt_model_clear(&kf2);
	ravt_model_clear(&copy);
	ravt_model_clear(&expect);
	ravt_blockcache_clear(&cache);
	ravt_kfpack_map_always(false);
}

/* Cells of shape `shape` (page pg, cell c): the state and words each
 * coding of replay-pack.c meets. */
static void shape_cell(unsigned shape, uint32_t pg, uint32_t c, uint8_t *st, uint64_t w[4])
{
	w[0] = 17; /* a type word */
	w[1] = w[2] = w[3] = 0;
	*st = RAV_CELL_LIVE;
	switch (shape) {
	case 0: /* one shape: the usual block */
		w[1] = 0x10000 + c;
		break;
	case 1: /* a page header, then dead cells */
		*st = c == 0 ? RAV_CELL_HEADER : RAV_CELL_DEAD;
		w[0] = c == 0 ? 0 : RAV_TYPE_DEAD;
		break;
	default: { /* mixed states; words of 0-8 bytes: over 15 control words a page */
		*st = (c + pg) % 3 == 0 ? RAV_CELL_EMPTY : RAV_CELL_LIVE;
		if (pg == 5 && c == 40)
			*st = 7; /* (not a state: the byte-a-cell coding) */
		unsigned h = (c * 7 + pg * 3) % 81;
		uint64_t ones = ~0ull;
		for (unsigned j = 0; j < 4; j++) {
			unsigned n = j < 2 ? (j ? h / 9 : h % 9) : (c + j) % 9;
			w[j] = n ? (ones >> (64 - 8 * n)) ^ ((uint64_t)c << 3) : 0;
		}
		break;
	}
	}
}

/* npages pages of one shape, packed and restored; returns the pack's
 * bytes. */
static uint64_t shapes(unsigned shape, uint32_t npages)
{
	ravt_model kf, copy;
	ravt_model_init(&kf, 4096, 32, 8, NULL);
	ravt_model_init(&copy, 4096, 32, 8, NULL);
	CHECK(ravt_model_ensure_span(&kf, npages - 1));
	for (uint32_t pg = 0; pg < npages; pg++) {
		ravt_mpage *p = ravt_model_new_page_at(&kf, pg);
		CHECK(p != NULL);
		for (uint32_t c = 0; p && c < kf.cpp; c++) {
			ravt_cellblock *k = ravt_block_w(&kf, p, c);
			shape_cell(shape, pg, c, &k->st[RAVT_CB_INDEX(c)], k->w + RAVT_CB_INDEX(c) * 4);
		}
	}
	ravt_kfpack *packs = NULL;
	uint64_t freed = 0, bytes = ravt_kfpack_add(&kf, &packs, &freed);
	CHECK(packed_slots(&kf) == npages * kf.ncb);
	CHECK(ravt_model_copy(&copy, &kf));
	CHECK(ravt_kfpack_restore(&copy, packs));
	CHECK(packed_slots(&copy) == 0);
	unsigned bad = 0;
	for (uint32_t pg = 0; pg < npages; pg++)
		for (uint32_t c = 0; c < copy.cpp; c++) {
			uint8_t st;
			uint64_t w[4];
			shape_cell(shape, pg, c, &st, w);
			const ravt_mpage *p = ravt_page_r(&copy, pg);
			if (ravt_cell_st(p, c) != st || memcmp(ravt_cell_words(p, c), w, sizeof w) != 0)
				bad++;
		}
	CHECK(bad == 0);
	if (bad)
		fprintf(stderr, "shape %u: %u cells differ\n", shape, bad);
	printf("shape %u: %u blocks packed in %llu bytes\n", shape, npages * kf.ncb,
	       (unsigned long long)bytes);
	ravt_kfpack_free(packs);
	ravt_model_clear(&kf);
	ravt_model_clear(&copy);
	return bytes;
}

int main(void)
{
	run(false);
	run(true);
	/* one shape: a byte of states, 8 of nibbles and the words (2 bytes a
	 * cell here) a block, a pack's and its pages' own bytes besides (it
	 * was 16 + 32 + 32 a block) */
	enum { NP = 64 };
	uint64_t one = shapes(0, NP);
	CHECK(one <= (uint64_t)NP * 8 * (1 + 8 + 2 * RAVT_CB_CELLS) + 16 * NP + 256);
	shapes(1, NP);
	shapes(2, NP);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("replay-pack: all checks passed\n");
	return 0;
}
