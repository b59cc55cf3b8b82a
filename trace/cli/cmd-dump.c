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
    "  INDEX  TIME(us)  THREAD  KIND  ARGUMENTS  [@ CALL SITE]\n"
    "Cells are written PAGE.CELL and words PAGE.CELL.WORD (cell 0 is the page header).\n"
    "The call site (traces of format 1.2 and later) is the program's call that did\n"
    "the event or caused it: FUNCTION (FILE:LINE) when the program's debug info is\n"
    "on disk, else OBJECT+OFFSET.\n"
    "\n"
    "  --kind=K[,K...]   only these kinds (e.g. move,fixup; see --list-kinds)\n"
    "  --thread=ID       only events recorded by this thread (heap id, see info)\n"
    "  --from=N          start at event index N\n"
    "  --to=N            stop before event index N\n"
    "  --cell=PAGE.CELL  only events touching this cell (PAGE:CELL works too)\n"
    "  --limit=N         print at most N events\n"
    "  --site=WHERE      only events of call sites in FUNCTION, FILE or at FILE:LINE\n"
    "  --object-path=DIRS  also look for the program and its libraries in these\n"
    "                    directories (':'-separated), by file name\n"
    "  --no-symbols      call sites as objects and offsets (no debug info read)\n"
    "  --list-kinds      print the event kind names and exit\n"
    "  -h, --help        this help\n";

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(
	    argc, argv, help, "kind thread from to cell limit list-kinds site object-path no-symbols", &o);
	if (o.list_kinds) {
		for (unsigned k = 1; k < RAV_EV_KIND_COUNT; k++)
			printf("%s\n", cli_kind_name(k));
		return cli_finish_output(stdout, "the output");
	}
	cli_trace tr;
	cli_open_trace(&tr, path, false);
	rav_trace_thread th;
	if (o.thread >= 0 && !rav_trace_thread_by_id(tr.t, (uint32_t)o.thread, &th)) {
		fprintf(stderr, "%s dump: %s has no heap with id %" PRId64 " (see 'ravtrace info')\n",
		        cli_prog, path, o.thread);
		rav_trace_close(tr.t);
		return EXIT_USAGE;
	}
	cli_sites_setup(tr.t, &o);
	rav_event_filter f = {
	    .kinds = o.kinds, .thread = o.thread, .from = o.from, .to = o.to, .cell = o.cell};
	uint32_t *sites = NULL;
	if (o.site_spec) {
		size_t n = rav_trace_sites_find(tr.t, o.site_spec, NULL, 0);
		if (!n) {
			fprintf(stderr,
			        "%s dump: no call site of %s is in %s (a function name, a source file, or "
			        "FILE:LINE; see 'ravtrace stats --sites')\n",
			        cli_prog, path, o.site_spec);
			rav_trace_close(tr.t);
			return EXIT_USAGE;
		}
		sites = cli_xcalloc(n, sizeof *sites);
		rav_trace_sites_find(tr.t, o.site_spec, sites, n);
		f.sites = sites;
		f.nsites = n;
	}
	rav_event_iter it;
	rav_event ev;
	uint64_t n = 0;
	rav_event_iter_init(&it, tr.t, &f);
	while ((!o.limit || n < o.limit) && rav_event_iter_next(&it, &ev)) {
		char nb[64];
		const char *tn = cli_thread_name(tr.t, ev.thread, nb, sizeof nb);
		char who[40];
		if (tn)
			snprintf(who, sizeof who, "%u:%.24s", ev.thread, tn);
		else
			snprintf(who, sizeof who, "%u", ev.thread);
		printf("%10" PRIu64 " %12.3f %-14s %-14s ", ev.index, (double)ev.time_ns / 1e3, who,
		       cli_kind_name(ev.kind));
		cli_format_args(stdout, tr.t, &ev);
		if (ev.site) {
			char sb[1024];
			printf("  @ %s", cli_site_text(tr.t, ev.site, false, o.no_symbols, sb, sizeof sb));
		}
		putchar('\n');
		n++;
		if (ferror(stdout))
			break;
	}
	int rc = cli_finish_output(stdout, "the output");
	free(sites);
	rav_trace_close(tr.t);
	return rc;
}

const cli_command cli_cmd_dump = {"dump", "list events, with filters", help, run};
