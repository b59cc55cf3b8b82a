/* count-events.c - a tool of a user's own on the installed libravtrace:
 * built by test-install.sh with `cc $(pkg-config --cflags --libs ravtrace)`
 * from outside the source tree.  Prints "EVENTS THREADS" of a trace, which
 * the test compares with what the installed ravtrace says. */
#include <stdio.h>

#include <rav-record.h>
#include <ravtrace.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: count-events FILE\n");
		return 2;
	}
	rav_trace_error err = {0};
	rav_trace *t = rav_trace_open(argv[1], &err);
	if (!t || rav_trace_index(t, NULL, NULL, &err) != 0) {
		fprintf(stderr, "count-events: %s: %s\n", argv[1], err.message);
		if (t)
			rav_trace_close(t);
		return 1;
	}
	uint64_t events = 0, allocs = 0;
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		events++;
		allocs += ev.kind == RAV_EV_ALLOC;
	}
	printf("%llu %llu\n", (unsigned long long)events, (unsigned long long)allocs);
	rav_trace_close(t);
	return 0;
}
