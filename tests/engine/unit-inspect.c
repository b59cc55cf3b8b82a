/* unit-inspect.c - test-engine-unit's cases for inspection: heap walks, cell
 * details, referrers, pool statistics.
 */
#include <signal.h>

#include "unit.h"

/* ---- inspection ---- */

typedef struct walk_count {
	uint64_t pages, root_pages, cells, headers, refs, user_nodes, fill_sum;
} walk_count;

static bool count_page(rav_heap *h, size_t page_index, unsigned fill, bool is_root_page, void *user)
{
	walk_count *w = user;
	w->pages++;
	w->root_pages += is_root_page;
	if (!is_root_page)
		w->fill_sum += fill;
	return true;
}

static bool count_cell(rav_heap *h, const rav_cell_info *info, void *user)
{
	walk_count *w = user;
	CHECK_EQ(rav_page_index(info->cell), info->page);
	if (info->type == RAV_TYPE_HEADER) {
		w->headers++;
		CHECK_EQ(info->slot, 0);
		return true;
	}
	if (info->type == RAV_TYPE_ROOT || info->type == RAV_TYPE_EMPTY)
		return true;
	w->cells++;
	w->refs += info->type == RAV_TYPE_REF;
	w->user_nodes += info->type == T_NODE;
	return true;
}

static bool stop_at_first(rav_heap *h, const rav_cell_info *info, void *user)
{
	(*(int *)user)++;
	return false;
}

void t_inspect(void)
{
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h), r2 = rav_root_new(h);
	build_list(h, r, 1000);
	CHECK_OK(rav_root_set(h, r2, rav_root_get(h, r))); /* one reference raviolo */
	rav_stats s = stats(h);
	walk_count w = { 0 };
	rav_heap_walk(h, count_page, count_cell, &w);
	printf("# walk: %" PRIu64 " pages (%" PRIu64 " root), %" PRIu64 " cells; stats: %" PRIu64 " live, %" PRIu64
	       " pages\n",
	       w.pages, w.root_pages, w.cells, s.live_cells, s.pages);
	CHECK_EQ(w.cells, s.live_cells);
	CHECK_EQ(w.refs, s.ref_cells);
	CHECK_EQ(w.refs, 1);
	CHECK(w.user_nodes >= 1000);
	CHECK_EQ(w.pages - w.root_pages, s.pages);
	CHECK_EQ(w.root_pages, s.root_pages);
	int seen = 0;
	rav_heap_walk(h, NULL, stop_at_first, &seen);
	CHECK_EQ(seen, 1);

	/* One cell in detail: its back-link names the parent's field. */
	rav_ref head = rav_root_get(h, r);
	rav_ref second = rav_load_ref(h, head, 1);
	rav_cell_info info;
	rav_cell_inspect(h, second.cell, &info);
	CHECK(info.cell == second.cell);
	CHECK_EQ(info.type, T_NODE);
	CHECK_EQ(info.field[0], 1);
	CHECK_EQ(info.field[1], (uintptr_t)rav_load_ref(h, second, 1).cell);
	CHECK_EQ(info.back[0], (uintptr_t)&head.cell->w[RAV_W_F1]);
	CHECK_EQ(info.page, rav_page_index(second.cell));
	CHECK(info.slot > 0 && info.slot < RAV_PAGE_CELLS);
	CHECK((char *)second.cell >= (char *)rav_pool_base());

	/* The head has two referrers: the two roots, through one reference raviolo. */
	CHECK_EQ(referrers(h, head), 2);
	CHECK_EQ(referrers(h, second), 1);

	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	CHECK(ps.used_pages >= s.pages);
	CHECK(ps.reserved_pages >= ps.used_pages + ps.free_pages);
	CHECK(ps.limit_pages > 0);

	uint64_t allocs = stats(h).allocs, frees = stats(h).frees;
	rav_root_free(h, r2);
	CHECK_OK(rav_new_field(h, T_DATA, rav_root_get(h, r), 1, NULL)); /* replaces 999 nodes */
	s = stats(h);
	CHECK_EQ(s.allocs - allocs, 1);
	CHECK_EQ(s.frees - frees, 999 + 1); /* the list tail and the reference raviolo */
	CHECK(s.moves > 0 && s.fixups > 0);
	rav_root_free(h, r);
	CHECK_HEAP(h);
}
