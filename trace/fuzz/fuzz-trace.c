/* fuzz-trace.c - libFuzzer target for everything a tool does with a trace.
 *
 * Any byte string is opened as a trace from memory, indexed, iterated,
 * randomly accessed, filtered, replayed to a few points, and asked for its
 * tables, series, a cell history, operations and the sentences about them,
 * and the contention model, exactly as the CLI and the viewer use a trace.
 * This copy of libravtrace is built with RAVT_FUZZING, which skips checksum
 * verification so mutations reach the frame, segment and event decoders.
 * Seeds: trace/fuzz/corpus/.  The reader alone has its own target
 * (fuzz-reader.c). */
#include <stdint.h>
#include <stdlib.h>

#include "rav-record.h"
#include "trace-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open_memory(data, size, &err);
	if (!t)
		return 0;
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	rav_trace_index(t, NULL, NULL, &err);
	uint64_t n = rav_trace_indexed_events(t);
	rav_trace_get_info(t, &info);

	rav_event ev;
	rav_event_iter it;
	rav_event_iter_init(&it, t, NULL);
	for (unsigned k = 0; k < 200000 && rav_event_iter_next(&it, &ev); k++)
		;
	rav_event_iter_fini(&it);
	uint64_t x = size * 2654435761u;
	for (int i = 0; i < 16 && n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		rav_trace_event_at(t, (x >> 11) % n, &ev);
	}
	rav_event_filter f = {.kinds = 1ull << RAV_EV_FIXUP, .thread = -1, .cell = rav_loc_make(1, 1, 0)};
	if (n) {
		rav_trace_find_next(t, n / 3, &f);
		rav_trace_find_prev(t, n - 1, &f);
	}
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(t), n / 2);
	for (unsigned k = 0; k < 200000 && ravt_cursor_next(&cur, &ev); k++)
		;
	ravt_cursor_fini(&cur);
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread th;
		rav_trace_thread_at(t, i, &th);
	}
	for (unsigned i = 0; i < rav_trace_type_count(t); i++) {
		rav_trace_type ty;
		if (rav_trace_type_at(t, i, &ty))
			rav_trace_type_name(t, ty.id);
	}
	for (unsigned i = 0; i < rav_trace_mark_count(t); i++) {
		rav_trace_mark mk;
		rav_trace_mark_at(t, i, &mk);
	}
	double bins[16];
	rav_trace_series(t, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 16, bins);
	rav_trace_series(t, RAV_SERIES_EVENTS, -1, 0, 0, 16, bins);
	rav_cell_event hist[8];
	unsigned total;
	rav_trace_cell_history(t, rav_loc_make(1, 1, 0), n / 2, hist, 8, &total);
	rav_state *s = rav_state_new(t);
	if (s) {
		rav_state_seek(s, n / 2, &err);
		rav_state_seek(s, n, &err);
		for (int k = 0; k < 16 && rav_state_step(s, NULL, &err); k++)
			;
	}
	/* Operations and the sentences about them and about events, at a few
	 * places, described from a state (when there is one) and without. */
	char text[1024];
	for (unsigned k = 0; k < 24 && n; k++) {
		uint64_t at = k < 8 ? k : k < 16 ? n - 1 - (k - 8) % n : (n / 16) * (k - 16);
		rav_operation op;
		if (at < n && rav_trace_operation_at(t, at, &op)) {
			rav_operation_describe(t, k % 2 ? s : NULL, &op, text, sizeof text);
			rav_operation_describe(t, NULL, &op, text, 8); /* cut short */
		}
		if (at < n && rav_trace_event_at(t, at, &ev))
			rav_event_explain(t, k % 2 ? s : NULL, &ev, text, sizeof text);
	}
	rav_trace_operations_prepare(t, NULL, NULL, &err);
	if (s)
		rav_state_free(s);
	rav_contention_config cc = {.line_size = 64, .windows = 4};
	rav_contention *c = n <= 200000 ? rav_contention_run(t, &cc, NULL, NULL, &err) : NULL;
	/* call sites: tables, ranking with the model's transfers, the cells of
	 * a site, and resolving frames (objects named by the input are opened
	 * read-only if they are regular files) */
	for (unsigned i = 0; i < rav_trace_object_count(t) && i < 64; i++) {
		rav_trace_object ob;
		rav_trace_object_at(t, i, &ob);
	}
	uint32_t nsites = rav_trace_site_count(t);
	for (uint32_t id = 1; id <= nsites && id <= 64; id++) {
		rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
		rav_trace_site_frames(t, id, fr, RAV_TRACE_SITE_FRAMES_MAX);
		rav_trace_symbol sy[8];
		rav_trace_site_resolve(t, id, sy, 8);
	}
	if (n <= 200000) {
		rav_site_stats_config sc = {.group = RAV_SITES_BY_CALL, .contention = c};
		rav_site_stats *st = rav_site_stats_run(t, &sc, NULL, NULL, &err);
		if (st) {
			rav_site_stats_sort(st, RAV_SITES_BY_MOVES);
			uint32_t ids[8];
			size_t k = rav_site_stats_count(st) ? rav_site_stats_sites_of(st, 0, ids, 8) : 0;
			rav_site_cells *cells = rav_site_cells_new(t, ids, k < 8 ? k : 8);
			if (cells) {
				rav_site_cells_seek(cells, n, NULL, NULL, &err);
				rav_site_cells_seek(cells, n / 2, NULL, NULL, &err);
				rav_loc some[4];
				rav_site_cells_list(cells, some, 4);
				rav_site_cells_free(cells);
			}
			rav_site_stats_free(st);
		}
		uint32_t found[4];
		rav_trace_sites_find(t, "main", found, 4);
	}
	rav_contention_free(c);
	rav_trace_close(t);
	return 0;
}
