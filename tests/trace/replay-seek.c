/* replay-seek.c - keyframes and seeking give exactly the state that plain
 * stepping from the start gives.
 *
 * A synthetic two-thread workload (replay-gen.c: allocs, frees with moves
 * and fix-ups, data stores, page acquire/release, accesses) is written to a
 * temporary trace, indexed, then replayed twice: one state steps through
 * every event, another seeks (forward, backward, far, near) to the same
 * points through keyframes; the two are compared page by page and cell by
 * cell.  Also checks the summary series and cell histories against the
 * stepped state, and that the contention model runs over the file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rav-record.h"
#include "ravtrace.h"
#include "replay-gen.h"
#include "replay-pack.h"
#include "trace-test.h"
#include "trace-private.h"

/* Resident bytes of this process's mapping of `path` (the Rss line of its
 * entry in /proc/self/smaps), or -1 when that cannot be read. */
static long long mapped_resident(const char *path)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	char line[4096];
	bool in = false;
	long long rss = -1;
	size_t plen = strlen(path);
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = 0;
		if (strncmp(line, "Rss:", 4) == 0) {
			if (in) {
				rss = (rss < 0 ? 0 : rss) + strtoll(line + 4, NULL, 10) * 1024;
				in = false;
			}
		} else if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
			/* a mapping's first line (its address range, in lower-case
			 * hex; the fields that follow start with a capital): its
			 * pathname comes last */
			in = len >= plen && strcmp(line + len - plen, path) == 0;
		}
	}
	fclose(f);
	return rss;
}

/* First difference between two states, or 0 if equal. */
static int compare(const rav_state *a, const rav_state *b, char *why, size_t len)
{
	rav_state_totals ta, tb;
	rav_state_get_totals(a, &ta);
	rav_state_get_totals(b, &tb);
	if (memcmp(&ta, &tb, sizeof ta) != 0) {
		snprintf(why, len, "totals differ: live %llu vs %llu, pages %llu vs %llu, moves %llu vs %llu",
		         (unsigned long long)ta.live_cells, (unsigned long long)tb.live_cells,
		         (unsigned long long)ta.pages, (unsigned long long)tb.pages,
		         (unsigned long long)ta.moves, (unsigned long long)tb.moves);
		return 1;
	}
	if (rav_state_heap_count(a) != rav_state_heap_count(b)) {
		snprintf(why, len, "heap count %u vs %u", rav_state_heap_count(a), rav_state_heap_count(b));
		return 1;
	}
	for (unsigned i = 0; i < rav_state_heap_count(a); i++) {
		rav_state_heap ha, hb;
		rav_state_heap_at(a, i, &ha);
		rav_state_heap_at(b, i, &hb);
		if (ha.id != hb.id || ha.page_count != hb.page_count || ha.live_cells != hb.live_cells ||
		    ha.dead_cells != hb.dead_cells || ha.ref_cells != hb.ref_cells ||
		    (ha.page_count && memcmp(ha.pages, hb.pages, sizeof *ha.pages * ha.page_count) != 0)) {
			snprintf(why, len, "heap %u differs (pages %u vs %u, live %llu vs %llu)", ha.id,
			         ha.page_count, hb.page_count, (unsigned long long)ha.live_cells,
			         (unsigned long long)hb.live_cells);
			return 1;
		}
	}
	uint32_t span =
	    rav_state_page_span(a) > rav_state_page_span(b) ? rav_state_page_span(a) : rav_state_page_span(b);
	for (uint32_t p = 0; p < span; p++) {
		struct rav_state_page pa, pb;
		rav_state_page(a, p, &pa);
		rav_state_page(b, p, &pb);
		if (pa.kind != pb.kind || pa.owner != pb.owner || pa.fill != pb.fill || pa.live != pb.live ||
		    pa.dead != pb.dead) {
			snprintf(why, len, "page %u differs: kind %u/%u owner %u/%u fill %u/%u", p, pa.kind,
			         pb.kind, pa.owner, pb.owner, pa.fill, pb.fill);
			return 1;
		}
		if (pa.kind == RAV_SPAGE_UNUSED || pa.kind == RAV_SPAGE_POOL)
			continue;
		for (uint32_t c = 0; c < 128; c++) {
			rav_state_cell ca, cb;
			rav_state_cell_at(a, p, c, &ca);
			rav_state_cell_at(b, p, c, &cb);
			if (ca.state != cb.state || ca.type != cb.type ||
			    memcmp(ca.word, cb.word, sizeof ca.word) != 0 ||
			    memcmp(ca.field_target, cb.field_target, sizeof ca.field_target) != 0) {
				snprintf(why, len, "page %u cell %u differs: state %u/%u type %u/%u", p, c,
				         ca.state, cb.state, ca.type, cb.type);
				return 1;
			}
		}
	}
	return 0;
}

/* Index the trace with the given keyframe budget (NULL: default) and
 * check seeking against stepping. */
static int run(const char *path, const char *budget_mb)
{
	if (budget_mb)
		setenv("RAVTRACE_KEYFRAME_MB", budget_mb, 1);
	else
		unsetenv("RAVTRACE_KEYFRAME_MB");
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	if (rav_trace_index(t, NULL, NULL, &err) < 0) {
		fprintf(stderr, "index: %s\n", err.message);
		return 1;
	}
	if (ravt_trace_replay_error(t, &err)) {
		fprintf(stderr, "replay error while indexing: %s\n", err.message);
		return 1;
	}
	/* Indexing read the whole file, but an open trace does not keep it
	 * resident (reader.c): each payload's pages go once decompressed, all
	 * of them once indexing is done.  (Where smaps cannot be read, or the
	 * mapping is not listed, nothing is checked.) */
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	long long resident = mapped_resident(path);
	if (resident >= 0 && info.file_size > (1u << 20)) {
		CHECK(resident <= (long long)(info.file_size / 8));
		if (resident > (long long)(info.file_size / 8))
			fprintf(stderr, "%lld of the file's %llu bytes still resident after indexing\n",
			        resident, (unsigned long long)info.file_size);
	}
	uint64_t n = rav_trace_indexed_events(t);
	uint64_t kfs;
	ravt_trace_keyframe_stats(t, &kfs, NULL, NULL);
	CHECK(kfs >= 2);
	CHECK(budget_mb == NULL || kfs < n / (1u << 18));

	/* checkpoints: spread over the trace, visited by the seeker in a
	 * scrambled order (backward and forward jumps, near and far) */
	enum { NCP = 24 };
	uint64_t cps[NCP];
	for (int i = 0; i < NCP; i++)
		cps[i] = (uint64_t)i * (n / (NCP - 1));
	cps[NCP - 1] = n;
	cps[1] = 1;
	cps[2] = (1u << 18) - 1; /* around the first keyframes */
	cps[3] = 1u << 18;
	cps[4] = (1u << 18) + 1;

	rav_state *stepper = rav_state_new(t), *seeker = rav_state_new(t);
	char why[256];
	/* sort the checkpoints for the stepper */
	for (int i = 0; i < NCP; i++)
		for (int j = i + 1; j < NCP; j++)
			if (cps[j] < cps[i]) {
				uint64_t x = cps[i];
				cps[i] = cps[j];
				cps[j] = x;
			}
	rav_state_totals *tot_at = calloc(NCP, sizeof *tot_at);
	for (int i = 0; i < NCP && !tt_failures; i++) {
		rav_event ev;
		while (rav_state_position(stepper) < cps[i])
			if (!rav_state_step(stepper, &ev, &err)) {
				fprintf(stderr, "step failed at %llu: %s\n",
				        (unsigned long long)rav_state_position(stepper), err.message);
				return 1;
			}
		rav_state_get_totals(stepper, &tot_at[i]);
		/* seeker: come from far away each time (alternately from the end and the start) */
		uint64_t from = (i & 1) ? n : 0;
		if (rav_state_seek(seeker, from, &err) < 0 || rav_state_seek(seeker, cps[i], &err) < 0) {
			fprintf(stderr, "seek to %llu failed: %s\n", (unsigned long long)cps[i], err.message);
			return 1;
		}
		CHECK(rav_state_position(seeker) == cps[i]);
		if (compare(stepper, seeker, why, sizeof why)) {
			fprintf(stderr, "at event %llu, seek and step disagree: %s\n",
			        (unsigned long long)cps[i], why);
			tt_failures++;
		}
		/* step back = seek(pos - 1), then forward again */
		if (cps[i] > 0) {
			rav_state_seek(seeker, cps[i] - 1, &err);
			CHECK(rav_state_step(seeker, NULL, &err));
			if (compare(stepper, seeker, why, sizeof why)) {
				fprintf(stderr, "at event %llu, step back and forward: %s\n",
				        (unsigned long long)cps[i], why);
				tt_failures++;
			}
		}
	}

	/* seeking past the end is a precise error, not a crash */
	CHECK(rav_state_seek(seeker, n + 10, &err) < 0 && err.code != RAV_TRACE_OK);

	/* series agree with the stepped state */
	double bins[100];
	CHECK(rav_trace_series(t, RAV_SERIES_EVENTS, -1, 0, 0, 100, bins));
	double sum = 0;
	for (int i = 0; i < 100; i++)
		sum += bins[i];
	CHECK(sum > (double)n - 0.5 && sum < (double)n + 0.5);
	CHECK(rav_trace_series(t, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 100, bins));
	CHECK((uint64_t)bins[99] == tot_at[NCP - 1].live_cells);
	CHECK(rav_trace_series(t, RAV_SERIES_PAGES, 1, 0, 0, 100, bins));
	CHECK(bins[99] > 0);
	CHECK(rav_trace_series(t, RAV_SERIES_MOVES, -1, 0, n / 2, 10, bins));
	sum = 0;
	for (int i = 0; i < 10; i++)
		sum += bins[i];
	CHECK(sum > 0);

	/* history of a live cell in the middle: starts with its ALLOC, and every
	 * move's destination is where the next event finds it */
	rav_state_seek(seeker, n / 2, &err);
	rav_state_heap h;
	rav_state_heap_at(seeker, 0, &h);
	CHECK(h.page_count > 0);
	if (h.page_count > 0) {
		uint32_t pg = h.pages[0];
		rav_loc cell = rav_loc_make(pg, 7, 0);
		rav_state_cell c;
		rav_state_cell_at(seeker, pg, 7, &c);
		CHECK(c.state == RAV_CELL_LIVE);
		rav_cell_event he[4096];
		unsigned total = 0;
		unsigned got = rav_trace_cell_history(t, cell, n / 2, he, 4096, &total);
		CHECK(got > 0 && got == total);
		if (got > 0) {
			CHECK(he[0].kind == RAV_EV_ALLOC);
			bool seen_at = false;
			for (unsigned i = 0; i < got; i++) {
				if (he[i].event >= n / 2 && !seen_at) {
					seen_at = true;
					CHECK(i == 0 || he[i - 1].where == cell);
				}
				if (i > 0)
					CHECK(he[i].event > he[i - 1].event);
				/* check the where of every event against a seek just after it */
				if (i % 8 == 0 || i + 1 == got) {
					rav_state_seek(seeker, he[i].event + 1, &err);
					rav_state_cell hc;
					rav_state_cell_at(seeker, rav_loc_page(he[i].where),
					                  rav_loc_cell(he[i].where), &hc);
					CHECK(hc.state == RAV_CELL_LIVE || he[i].kind == RAV_EV_FREE ||
					      he[i].kind == RAV_EV_TRIM);
				}
			}
		}
	}

	/* contention over the file */
	rav_contention_config cc = {.line_size = 64, .windows = 8};
	rav_contention *con = rav_contention_run(t, &cc, NULL, NULL, &err);
	CHECK(con != NULL);
	if (con) {
		rav_contention_totals ct;
		rav_contention_get_totals(con, &ct);
		CHECK(ct.accesses > 0);
		CHECK(ct.transfers > 0); /* both threads write the shared external line */
		const rav_contention_line *l = rav_contention_line_at(con, 0);
		CHECK(l && l->external && l->thread_mask == 3);
		rav_contention_free(con);
	}

	free(tot_at);
	rav_state_free(stepper);
	rav_state_free(seeker);
	rav_trace_close(t);
	printf("budget %s MB: %llu events, %llu keyframes\n", budget_mb ? budget_mb : "default",
	       (unsigned long long)n, (unsigned long long)kfs);
	return 0;
}

int main(void)
{
	char path[] = "/tmp/replay-seek-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	/* RAV_TEST_SMALL (valgrind runs): fewer events, still several keyframes */
	unsetenv("RAVTRACE_KEYFRAME_COST");
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	gen_params gp = {.path = path,
	                 .events = small ? 400000 : 3000000,
	                 .live_target = 20000,
	                 .threads = 2,
	                 .seed = 7,
	                 .access = true};
	uint64_t written = 0;
	if (gen_trace(&gp, &written) < 0) {
		unlink(path);
		return 1;
	}
	/* default budget: a keyframe per 2^18 events or fewer (by replay
	 * cost: this trace copies few blocks, so its keyframes are the cheap
	 * ones of replay-index.c, 2^18 events apart); 1 MB: the budget forces
	 * thinning (the cheapest adjacent pair of intervals merged, again and
	 * again; 2 MB held all 12 keyframes once packs had their states and
	 * control words coded, replay-pack.c).  The small run (valgrind) does
	 * the first only. */
	int rc = run(path, NULL);
	if (rc == 0 && !small)
		rc = run(path, "1");
	/* frees and stores anywhere in the heap: every keyframe holds nearly
	 * all of it alone, packed (replay-pack.h), and seeks unpack it */
	gp.uniform = true;
	gp.events = small ? 300000 : 1500000;
	/* (copies everywhere: keyframes at the goal's cost, 2^20 by
	 * default, would be one or two here; 2^18 as before the goal, so that
	 * seeks cross several) */
	setenv("RAVTRACE_KEYFRAME_COST", "262144", 1);
	if (rc == 0 && gen_trace(&gp, &written) < 0)
		rc = 1;
	if (rc == 0)
		rc = run(path, NULL);
	/* again with every pack in a mapping of its own (as a large heap's
	 * packs are: huge pages, replay-pack.c) */
	ravt_kfpack_map_always(true);
	if (rc == 0)
		rc = run(path, NULL);
	ravt_kfpack_map_always(false);
	unlink(path);
	if (rc)
		return rc;
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("replay-seek: all checks passed\n");
	return 0;
}
