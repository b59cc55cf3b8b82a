/* site-cells.c TRACE - the cells a call site allocated, followed across
 * moves (rav_site_cells), agree with the cells' own histories.
 *
 * At several points of a real trace (a demo recorded by the build), every
 * live cell of the replayed heap is asked for its history
 * (rav_trace_cell_history, which replay builds on its own): the site of its
 * allocation event says whether it belongs to a site's cells.  For a few
 * sites that allocate, rav_site_cells at that point must contain exactly
 * those cells, whether it got there moving forward or starting over.
 */
#include "trace-test.h"

#define HIST 4096

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The allocation site of the cell at `cell` just before `at`: 0 if unknown. */
static uint32_t alloc_site(rav_trace *t, rav_loc cell, uint64_t at)
{
	static rav_cell_event h[HIST];
	unsigned total = 0;
	unsigned n = rav_trace_cell_history(t, cell, at, h, HIST, &total);
	for (unsigned i = 0; i < n; i++) {
		if (h[i].kind == RAV_EV_ALLOC && h[i].event < at) {
			rav_event ev;
			if (rav_trace_event_at(t, h[i].event, &ev))
				return ev.site;
		}
	}
	return 0;
}

/* every: check every cell (and the count) or one in `every` of them. */
static void check_at(rav_trace *t, rav_state *s, rav_site_cells *fw, const uint32_t *sites, size_t nsites,
                     uint64_t at, unsigned every)
{
	rav_trace_error e;
	REQUIRE(rav_state_seek(s, at, &e) == 0);
	int64_t live = rav_site_cells_seek(fw, at, NULL, NULL, &e);
	REQUIRE(live >= 0);
	CHECK_EQ(rav_site_cells_position(fw), at);
	rav_site_cells *fresh = rav_site_cells_new(t, sites, nsites);
	REQUIRE(fresh && rav_site_cells_seek(fresh, at, NULL, NULL, &e) == live);
	uint64_t expect = 0, wrong = 0, seen = 0;
	uint32_t span = rav_state_page_span(s);
	rav_trace_info in;
	rav_trace_get_info(t, &in);
	for (uint32_t p = 0; p < span; p++) {
		struct rav_state_page sp;
		if (!rav_state_page(s, p, &sp) || (sp.kind != RAV_SPAGE_HEAP && sp.kind != RAV_SPAGE_BUFFER))
			continue;
		for (uint32_t c = 1; c < in.cells_per_page; c++) {
			rav_state_cell sc;
			if (!rav_state_cell_at(s, p, c, &sc) || sc.state != RAV_CELL_LIVE || seen++ % every)
				continue;
			rav_loc l = rav_loc_make(p, c, 0);
			uint32_t site = alloc_site(t, l, at);
			bool ours = site && bsearch(&site, sites, nsites, sizeof *sites, cmp_u32);
			expect += ours;
			if (ours != rav_site_cells_contains(fw, l) || ours != rav_site_cells_contains(fresh, l)) {
				if (wrong++ < 5)
					fprintf(stderr, "at %llu cell %u.%u: allocated by site %u, %s in the set\n",
					        (unsigned long long)at, p, c, site,
					        rav_site_cells_contains(fw, l) ? "but" : "not");
			}
		}
	}
	CHECK_EQ(wrong, 0);
	if (every == 1)
		CHECK_EQ(expect, (uint64_t)live);
	rav_loc *list = malloc(((size_t)live + 1) * sizeof *list);
	REQUIRE(list);
	CHECK_EQ(rav_site_cells_list(fw, list, (size_t)live), (uint64_t)live);
	for (int64_t i = 1; i < live; i++)
		CHECK(list[i - 1] < list[i]);
	free(list);
	rav_site_cells_free(fresh);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	rav_trace_error e;
	rav_trace *t = rav_trace_open(argv[1], &e);
	REQUIRE(t);
	REQUIRE(rav_trace_index(t, NULL, NULL, &e) == 0);
	uint64_t n = rav_trace_indexed_events(t);
	rav_site_stats *st = rav_site_stats_run(t, &(rav_site_stats_config){.group = RAV_SITES_BY_STACK}, NULL, NULL, &e);
	REQUIRE(st);
	unsigned checked = 0;
	rav_state *s = rav_state_new(t);
	REQUIRE(s);
	/* the two sites that allocate most, and the two of them together */
	uint32_t top[2] = {0, 0};
	for (unsigned i = 0; i < rav_site_stats_count(st) && i < 2; i++)
		top[i] = rav_site_stats_row(st, i)->site;
	REQUIRE(top[0]);
	uint32_t both[2] = {top[0] < top[1] ? top[0] : top[1], top[0] < top[1] ? top[1] : top[0]};
	const uint32_t *sets[3] = {&top[0], &top[1], both};
	size_t sizes[3] = {1, 1, 2};
	for (int k = 0; k < 3; k++) {
		if (!sets[k][0] || (k == 2 && !top[1]))
			continue;
		rav_site_cells *fw = rav_site_cells_new(t, sets[k], sizes[k]);
		REQUIRE(fw);
		/* histories cost a search each: every cell at one point, one in
		 * 23 at the others */
		bool small = getenv("RAV_TEST_SMALL") != NULL; /* memcheck: a sample only */
		for (int step = 1; step <= 3; step++)
			check_at(t, s, fw, sets[k], sizes[k], n * (uint64_t)step / 3,
			         small ? 97 : step == 2 && k == 0 ? 1 : 23);
		/* backward starts over (under memcheck too a sample: the same
		 * seek back, fewer histories) */
		check_at(t, s, fw, sets[k], sizes[k], n / 4, small ? 97 : 23);
		rav_site_cells_free(fw);
		checked++;
	}
	CHECK(checked >= 1);
	rav_state_free(s);
	rav_site_stats_free(st);
	rav_trace_close(t);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
