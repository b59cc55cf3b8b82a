/* replay-pages.c - the replayed heap's page table (trace/replay-pages.c),
 * on a detached model: pages at widely spread indices, copies sharing its
 * leaves, writes copying one leaf, pool flags, a loss, and what each of
 * those charges to the budget.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "budget.h"
#include "replay-model.h"
#include "trace-test.h"

#define PAGE 4096u

/* The page table (replay-pages.c): pages at widely spread indices cost a
 * leaf each, not a table sized by the highest index; a copy shares every
 * leaf, and a write to one page copies its leaf and its page block only
 * (the copy sees none of it); pool flags live in the leaves; a loss drops
 * the leaves of the known pages and gives back what they were charged. */
static void test_page_table(void)
{
	ravt_budget b;
	ravt_budget_init(&b);
	ravt_budget_set_limit(&b, (uint64_t)1 << 30);
	ravt_model m, c;
	ravt_model_init(&m, PAGE, 32, 8, &b);
	ravt_model_init(&c, PAGE, 32, 8, NULL);
	REQUIRE(m.tkinds && c.tkinds);
	static const uint32_t pgs[] = {3, 70, 71, 1u << 20, (1u << 24) - 1};
	enum { NP = sizeof pgs / sizeof *pgs };
	for (unsigned i = 0; i < NP; i++) {
		REQUIRE(ravt_model_ensure_span(&m, pgs[i]));
		ravt_mpage *p = ravt_model_new_page_at(&m, pgs[i]);
		REQUIRE(p);
		p->fill = 10 + i;
	}
	CHECK_EQ(m.span, 1u << 24);
	CHECK_EQ(ravt_model_nleaves(&m), (1u << 24) / RAVT_LEAF_PAGES);
	/* four leaves (70 and 71 share one), the top, five page blocks: not
	 * 2^24 slots of 9 bytes (151 MB) */
	uint64_t used = ravt_budget_used(&b);
	CHECK(used <= (uint64_t)(1u << 24) / RAVT_LEAF_PAGES * 8 * 2 + 4 * sizeof(ravt_pleaf) + NP * m.block_size + 4096);
	unsigned leaves = 0;
	for (uint32_t i = 0; i < ravt_model_nleaves(&m); i++)
		leaves += m.top[i] != &ravt_empty_leaf;
	CHECK_EQ(leaves, 4);
	for (unsigned i = 0; i < NP; i++) {
		const ravt_mpage *p = ravt_page_r(&m, pgs[i]);
		CHECK(p && p->fill == 10 + i);
	}
	CHECK(!ravt_page_r(&m, 4) && !ravt_page_r(&m, 72) && !ravt_page_r(&m, (1u << 24) - 2));
	CHECK(!ravt_page_r(&m, 1u << 24) && !ravt_page_r(&m, UINT32_MAX));

	/* a copy shares every leaf and costs the live model nothing */
	uint64_t copied = m.copied;
	REQUIRE(ravt_model_copy(&c, &m));
	CHECK_EQ(c.span, m.span);
	for (uint32_t i = 0; i < ravt_model_nleaves(&m); i++)
		if (c.top[i] != m.top[i]) {
			CHECK(c.top[i] == m.top[i]);
			break;
		}
	CHECK_EQ(ravt_budget_used(&b), used);
	CHECK_EQ(m.copied, copied);

	/* a write to page 70: its leaf and block copied, the others shared */
	const ravt_pleaf *shared70 = ravt_leaf_at(&m, 70);
	const ravt_mpage *old70 = ravt_page_r(&m, 70);
	ravt_mpage *w = ravt_page_w(&m, 70);
	REQUIRE(w);
	CHECK(w != old70 && ravt_leaf_at(&m, 70) != shared70);
	CHECK(ravt_leaf_at(&c, 70) == shared70 && ravt_page_r(&c, 70) == old70);
	CHECK(ravt_page_r(&m, 71) == ravt_page_r(&c, 71)); /* same leaf, block not written */
	CHECK(ravt_leaf_at(&m, 3) == ravt_leaf_at(&c, 3));
	CHECK(ravt_leaf_at(&m, 1u << 20) == ravt_leaf_at(&c, 1u << 20));
	CHECK_EQ(m.copied, copied + sizeof(ravt_pleaf) + m.block_size);
	w->fill = 99;
	ravt_pool_set(&m, 71, true);
	CHECK(ravt_page_r(&c, 70)->fill == 11);
	CHECK(ravt_pool_at(&m, 71) && !ravt_pool_at(&c, 71) && !ravt_pool_at(&m, 70));
	/* written again: in place now */
	CHECK(ravt_page_w(&m, 70) == w);
	CHECK_EQ(ravt_budget_used(&b), used); /* (copies replace what was charged) */

	/* a new page in a leaf the copy shares, and in an empty one */
	REQUIRE(ravt_model_new_page_at(&m, 4));
	CHECK(!ravt_page_r(&c, 4) && ravt_page_r(&m, 4));
	REQUIRE(ravt_model_new_page_at(&m, 5000));
	CHECK(ravt_leaf_at(&c, 5000) == &ravt_empty_leaf);
	CHECK(ravt_budget_used(&b) == used + 2 * m.block_size + sizeof(ravt_pleaf));

	/* a loss: every page gone from the live model, the copy keeps its own,
	 * and the charges go back to the top table's */
	ravt_model_drop_pages(&m);
	m.ndirty = 0;
	for (unsigned i = 0; i < NP; i++) {
		CHECK(!ravt_page_r(&m, pgs[i]));
		const ravt_mpage *p = ravt_page_r(&c, pgs[i]);
		CHECK(p && p->fill == 10 + i);
	}
	CHECK(!ravt_page_r(&m, 4) && !ravt_page_r(&m, 5000) && !ravt_pool_at(&m, 71));
	CHECK_EQ(ravt_budget_used(&b), (uint64_t)m.cap * sizeof(void *) + (uint64_t)m.known_cap * sizeof(uint32_t));
	for (uint32_t i = 0; i < ravt_model_nleaves(&m); i++)
		if (m.top[i] != &ravt_empty_leaf) {
			CHECK(m.top[i] == &ravt_empty_leaf);
			break;
		}
	/* pages again after the loss, then the copy goes first */
	REQUIRE(ravt_model_new_page_at(&m, 70));
	ravt_model_clear(&c);
	CHECK(ravt_page_r(&m, 70) && ravt_page_r(&m, 70)->fill == 0);
	/* a copy of a copy-less model, cleared, and the model cleared */
	REQUIRE(ravt_model_copy(&c, &m));
	CHECK(ravt_page_r(&c, 70) == ravt_page_r(&m, 70));
	ravt_model_clear(&m);
	CHECK(ravt_page_r(&c, 70) != NULL);
	ravt_model_clear(&c);
	ravt_budget_destroy(&b);
}

int main(void)
{
	test_page_table();
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("replay-pages: all checks passed\n");
	return 0;
}
