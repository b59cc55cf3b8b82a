/* cmd-dump.c - `ravtrace dump`: events in global order, one per line,
 * with filters by kind, thread, range and cell.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const help =
    "usage: ravtrace dump [OPTIONS] FILE\n"
    "\n"
    "List events in global order, one per line:\n"
    "  INDEX  TIME(us)  THREAD  KIND  ARGUMENTS\n"
    "Cells are written PAGE.CELL and words PAGE.CELL.WORD (cell 0 is the page header).\n"
    "Names and texts are quoted; in a thread's name, control characters and bytes\n"
    "that are not UTF-8 are escaped (\\n, \\xHH).  FILE - reads standard input as a\n"
    "stream, and events are listed as they arrive.\n"
    "\n"
    "  --kind=K[,K...]   only these kinds (e.g. move,fixup; see --list-kinds)\n"
    "  --thread=ID       only events recorded by this thread (heap id, see info)\n"
    "  --from=N          start at event index N\n"
    "  --to=N            stop before event index N\n"
    "  --cell=PAGE.CELL  only events touching this cell (PAGE:CELL works too)\n"
    "  --limit=N         print at most N events\n"
    "  --list-kinds      print the event kind names and exit\n"
    "  --follow          read FILE as a stream (a FIFO, a socket): list events as\n"
    "                    they arrive, until its writer ends it\n"
    "  -h, --help        this help\n";

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(argc, argv, help, "kind thread from to cell limit list-kinds", &o);
	if (o.list_kinds) {
		for (unsigned k = 1; k < RAV_EV_KIND_COUNT; k++)
			printf("%s\n", cli_kind_name(k));
		return cli_finish_output(stdout, "the output");
	}
	cli_trace tr;
	/* a stream is listed as it arrives */
	cli_open_trace(&tr, path, &o, false, true);
	rav_trace_thread th;
	rav_event_filter f = {
	    .kinds = o.kinds, .thread = o.thread, .from = o.from, .to = o.to, .cell = o.cell};
	rav_event_iter it;
	rav_event ev;
	uint64_t n = 0;
	rav_event_iter_init(&it, tr.t, &f);
	bool more = true, checked_thread = false;
	while (more) {
		/* a heap named by --thread may appear later in a stream */
		if (o.thread >= 0 && !checked_thread && (tr.fd < 0 || rav_trace_stream_ended(tr.t))) {
			checked_thread = true;
			if (!rav_trace_thread_by_id(tr.t, (uint32_t)o.thread, &th)) {
				fprintf(stderr,
				        "%s dump: %s has no heap with id %" PRId64 " (see 'ravtrace info')\n",
				        cli_prog, tr.name, o.thread);
				rav_event_iter_fini(&it);
				cli_close_trace(&tr, EXIT_USAGE);
				return EXIT_USAGE;
			}
		}
		while ((!o.limit || n < o.limit) && rav_event_iter_next(&it, &ev)) {
			char nb[64], tb[32];
			const char *tn = cli_thread_name(tr.t, ev.thread, nb, sizeof nb);
			char who[48];
			if (tn)
				snprintf(who, sizeof who, "%u:%s", ev.thread, cli_text(tb, 25, tn));
			else
				snprintf(who, sizeof who, "%u", ev.thread);
			printf("%10" PRIu64 " %12.3f %-14s %-14s ", ev.index, (double)ev.time_ns / 1e3, who,
			       cli_kind_name(ev.kind));
			cli_format_args(stdout, tr.t, &ev);
			putchar('\n');
			n++;
			if (ferror(stdout))
				break;
		}
		if (ferror(stdout) || (o.limit && n >= o.limit) || (o.to && it.next >= o.to))
			break;
		fflush(stdout);
		more = cli_stream_more(&tr);
	}
	rav_event_iter_fini(&it);
	if (tr.fd >= 0)
		rav_trace_get_info(tr.t, &tr.info);
	if (tr.fd >= 0 && tr.info.truncated && rav_trace_stream_ended(tr.t))
		fprintf(stderr, "%s: warning: the stream from %s ended before the recording finished\n",
		        cli_prog, tr.name);
	int rc = cli_finish_output(stdout, "the output");
	return cli_close_trace(&tr, rc);
}

const cli_command cli_cmd_dump = {"dump", "list events, with filters", help, run};
