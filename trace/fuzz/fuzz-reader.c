/* fuzz-reader.c - libFuzzer target for the trace reader.
 *
 * Any byte string is opened as a trace from memory, indexed, iterated,
 * randomly accessed, filtered and replayed to a few points, exactly as the
 * CLI and the viewer use a trace.  This copy of the reader is built with
 * RAVT_FUZZING, which skips checksum verification so mutations reach the
 * frame, segment and event decoders.  Seeds: tests/trace/corpus/. */
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

	rav_event ev;
	rav_event_iter it;
	rav_event_iter_init(&it, t, NULL);
	for (unsigned k = 0; k < 200000 && rav_event_iter_next(&it, &ev); k++)
		;
	uint64_t x = size * 2654435761u;
	for (int i = 0; i < 16 && n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		rav_trace_event_at(t, (x >> 11) % n, &ev);
	}
	rav_event_filter f = { .kinds = 1ull << RAV_EV_FIXUP, .thread = -1, .cell = rav_loc_make(1, 1, 0) };
	if (n) {
		rav_trace_find_next(t, n / 3, &f);
		rav_trace_find_prev(t, n - 1, &f);
	}
	rav_trace_cursor cur;
	_rav_trace_cursor_init(t, n / 2, &cur);
	for (unsigned k = 0; k < 200000 && _rav_trace_cursor_next(&cur, &ev); k++)
		;
	_rav_trace_cursor_fini(&cur);
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++)
		rav_trace_thread_at(t, i);
	rav_state *s = rav_state_new(t);
	if (s) {
		rav_state_seek(s, n / 2, &err);
		rav_state_seek(s, n, &err);
		rav_state_free(s);
	}
	rav_trace_close(t);
	return 0;
}
