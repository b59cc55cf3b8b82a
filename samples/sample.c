/* sample.c - the plumbing of the sample programs (see sample.h). */
#include "sample.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

unsigned long sample_size_arg(int argc, char **argv, unsigned long dflt, unsigned long max, const char *what,
                              const char *about)
{
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		const char *slash = strrchr(argv[0], '/');
		printf("%s %s\n", slash ? slash + 1 : argv[0], RAV_VERSION);
		exit(0);
	}
	if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
		FILE *out = argc == 2 ? stdout : stderr;
		fprintf(out,
		        "usage: %s [SIZE]\n\n%s\n\nSIZE: %s (default %lu, at most %lu).\n"
		        "Record a trace with RAVIOLI_TRACE=out.ravtrace (add RAVIOLI_TRACE_ACCESS=1\n"
		        "to record every field load and store).\n",
		        argv[0], about, what, dflt, max);
		exit(argc == 2 ? 0 : 2);
	}
	if (argc < 2)
		return dflt;
	char *end;
	errno = 0;
	unsigned long v = strtoul(argv[1], &end, 10);
	if (argv[1][0] == '\0' || argv[1][0] == '-' || *end != '\0' || errno != 0 || v == 0 || v > max) {
		fprintf(stderr, "%s: SIZE must be a whole number from 1 to %lu, not '%s' (see --help)\n",
		        argv[0], max, argv[1]);
		exit(2);
	}
	return v;
}

void sample_check(rav_status st, const char *what)
{
	if (st == RAV_OK)
		return;
	fprintf(stderr, "sample: %s failed: %s: %s\n", what, rav_status_name(st), rav_last_error());
	exit(1);
}

void sample_print_stats(const char *title, rav_heap *h)
{
	rav_stats s;
	rav_heap_stats(h, &s);
	printf("%s (heap %u)\n", title, rav_heap_id(h));
	printf("  live cells %8" PRIu64 "   (reference ravioli %" PRIu64 ", dead %" PRIu64 ")\n",
	       s.live_cells, s.ref_cells, s.dead_cells);
	printf("  pages      %8" PRIu64 "   (acquired %" PRIu64 ", released %" PRIu64 ", received %" PRIu64
	       ", sent %" PRIu64 ")\n",
	       s.pages, s.pages_acquired, s.pages_released, s.pages_received, s.pages_sent);
	printf("  allocs     %8" PRIu64 "   frees %" PRIu64 "\n", s.allocs, s.frees);
	printf("  moves      %8" PRIu64 "   fix-ups %" PRIu64, s.moves, s.fixups);
	if (s.frees)
		printf("   (%.2f moves and %.2f fix-ups per free)", (double)s.moves / (double)s.frees,
		       (double)s.fixups / (double)s.frees);
	printf("\n");
}

void sample_check_heap(const char *when, rav_heap *h)
{
	if (rav_heap_check(h) != RAV_OK) {
		fprintf(stderr, "sample: heap invariants broken %s: %s\n", when, rav_last_error());
		exit(1);
	}
}
