/* cmd-sites.c - `ravtrace sites`: the program's call sites ranked, the
 * heaptrack-style top list.  The same table as `ravtrace stats --sites`
 * (cli-sites.c does the work for both); a command of its own because
 * "where in my code?" is the first question, and the name is what a
 * newcomer types.
 */
#include "cli.h"

static const char *const help =
    "usage: ravtrace sites [OPTIONS] FILE\n"
    "\n"
    "Rank the program's call sites (traces of format 1.3 and later): for each line\n"
    "of the program that called the engine, the allocations, frees, moves and fix-ups\n"
    "its calls caused, pages its sends and receives handed off, and cache-line\n"
    "transfers of its accesses.  The same as 'ravtrace stats --sites'.\n"
    "\n"
    "  --by=WHAT         order: allocs (default), frees, moves, fixups, handoffs,\n"
    "                    transfers, events\n"
    "  --top=N           rows to list (default 10; 0: all)\n"
    "  --group=line|call|stack  a row per line of the program (default), per call\n"
    "                    site (address: copies of an inlined function apart), or per\n"
    "                    stack (as --stacks)\n"
    "  --stacks          a row per recorded backtrace (RAVIOLI_TRACE_STACK=N), with its frames\n"
    "  --from=N, --to=M  only events in [N, M)\n"
    "  --object-path=DIRS  also look for the program and its libraries in these\n"
    "                    directories (':'-separated), by file name\n"
    "  --no-symbols      objects and offsets only (no debug info read)\n"
    "  --json            machine-readable output (one JSON object)\n"
    "  -h, --help        this help\n";

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path =
	    cli_parse_opts(argc, argv, help, "json top by group stacks from to object-path no-symbols", &o);
	o.sites = true;
	if (o.group == 2)
		o.stacks = true;
	cli_trace tr;
	cli_open_trace(&tr, path, &o, false, false);
	return cli_close_trace(&tr, cli_stats_sites(&tr, &o));
}

const cli_command cli_cmd_sites = {"sites", "the program's call sites ranked by what their calls did (= stats --sites)",
                                   help, run};
