/* series-frees.c - the summary series count the program's frees apart
 * from the holes that a message's empty cells leave on arrival (FREE
 * events with aux 0): RAV_SERIES_FREES and RAV_SERIES_ARRIVAL_HOLES over
 * any range and any bin count add up to what the events say, and
 * RAV_SERIES_EVENTS of FREE still counts both.  Usage: test-series-frees
 * TRACE... (traces with messages, so that both counts are non-zero in at
 * least one of them). */
#include <math.h>

#include "trace-test.h"

static double sum(rav_trace *t, rav_series_kind kind, int64_t arg, uint64_t from, uint64_t to, unsigned nbins)
{
	double *v = calloc(nbins, sizeof *v), s = 0;
	CHECK(v && rav_trace_series(t, kind, arg, from, to, nbins, v));
	for (unsigned i = 0; v && i < nbins; i++)
		s += v[i];
	free(v);
	return s;
}

int main(int argc, char **argv)
{
	uint64_t all_frees = 0, all_holes = 0;
	for (int i = 1; i < argc; i++) {
		rav_trace_error err = {0};
		rav_trace *t = rav_trace_open(argv[i], &err);
		if (!t || rav_trace_index(t, NULL, NULL, &err) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], err.message);
			return 1;
		}
		rav_trace_info info;
		rav_trace_get_info(t, &info);
		uint64_t n = info.events;
		/* whole trace, then from a stored bin's start on (counts inside a
		 * stored bin, RAVT_SERIES_W0 = 256 events, are spread over it), at 1 and 7
		 * bins */
		uint64_t ranges[2][2] = {{0, n}, {n / 2 / 256 * 256, n}};
		for (int r = 0; r < 2; r++) {
			uint64_t from = ranges[r][0], to = ranges[r][1], frees = 0, holes = 0;
			rav_event_iter it;
			rav_event ev;
			rav_event_iter_init(&it, t, &(rav_event_filter){.thread = -1});
			for (uint64_t k = 0; rav_event_iter_next(&it, &ev) && k < to; k++)
				if (k >= from && ev.kind == RAV_EV_FREE)
					*(ev.aux ? &frees : &holes) += 1;
			rav_event_iter_fini(&it);
			for (unsigned nb = 1; nb <= 7; nb += 6) {
				CHECK(fabs(sum(t, RAV_SERIES_FREES, -1, from, to, nb) - (double)frees) < 0.5);
				CHECK(fabs(sum(t, RAV_SERIES_ARRIVAL_HOLES, -1, from, to, nb) - (double)holes) < 0.5);
				CHECK(fabs(sum(t, RAV_SERIES_EVENTS, RAV_EV_FREE, from, to, nb) - (double)(frees + holes)) < 0.5);
			}
			if (r == 0) {
				all_frees += frees;
				all_holes += holes;
			}
		}
		rav_trace_close(t);
	}
	CHECK(all_frees > 0);
	CHECK(all_holes > 0);
	return tt_failures ? 1 : 0;
}
