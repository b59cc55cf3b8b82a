/* cmd-export.c - `ravtrace export`: the trace in another tool's format
 * (Chrome trace-event JSON for Perfetto UI and chrome://tracing; an SQLite
 * database, written by export-sqlite.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#if RAV_HAVE_SQLITE
#include "export-sqlite.h"
#endif

static const char *const help =
    "usage: ravtrace export --format=chrome|sqlite [-o OUT] [--follow] FILE\n"
    "\n"
    "--format=chrome: Chrome trace-event JSON, which Perfetto UI\n"
    "(ui.perfetto.dev: Open trace file) and chrome://tracing open: thread\n"
    "names, one instant event per engine event, compactions and collections\n"
    "as slices, and counters for live cells and pages per thread.\n"
    "Memory accesses and clock events are left out unless --kind asks for them.\n"
    "\n"
    "--format=sqlite: an SQLite database (-o required) with tables events,\n"
    "threads, types, kinds, marks, cells (each cell's life: type, allocated,\n"
    "freed, moves, the call sites that allocated and freed it), moves, handoffs,\n"
    "contention_lines, sites (each call site's function, file and line) and meta,\n"
    "indexed, for queries with sqlite3; the schema is in docs/sql.md.  A progress line is\n"
    "shown on a terminal.\n"
    "\n"
    "  --format=FORMAT   chrome or sqlite\n"
    "  -o, --output=OUT  write to OUT (chrome: default standard output)\n"
    "  --kind=K[,K...]   chrome: only these kinds of instant events;\n"
    "                    sqlite: only these kinds in the events table\n"
    "  --counters=N      chrome: counter samples over the trace (default 200; a\n"
    "                    thread's samples are written where its numbers change)\n"
    "  --line-size=B     sqlite: cache line of the contention tables (default 64)\n"
    "  --follow          read FILE as a stream (a FIFO, a socket) until its\n"
    "                    writer ends it (FILE - reads standard input)\n"
    "  --object-path=DIRS  sqlite: also look for the program and its libraries in these\n"
    "                    directories (':'-separated), by file name, for the sites table\n"
    "  --no-symbols      sqlite: sites as objects and offsets (no debug info read)\n"
    "  --max-size=SIZE   sqlite: stop with an error (and no file) rather than write a\n"
    "                    database larger than SIZE (500M, 2G, unlimited; default: the\n"
    "                    larger of 1G and 256 times the trace's size)\n"
    "  -h, --help        this help\n"
    "\n"
    "Exit status 1 also when the trace is inconsistent: the output is then\n"
    "written, with the problem in it (chrome: otherData.error; sqlite: meta.error).\n";

/* The SQLite export lives in export-sqlite.c (it needs libsqlite3). */
static int export_sqlite_command(const char *path, const cli_opts *o)
{
	if (o->counters_given)
		cli_usage_error("--counters applies to --format=chrome only");
	if (!o->output || strcmp(o->output, "-") == 0)
		cli_usage_error("--format=sqlite needs -o OUT.db (a database cannot go to standard output)");
#if RAV_HAVE_SQLITE
	cli_export_sqlite_options so = {.kinds = o->kinds,
	                                .line_size = (uint32_t)o->line_size,
	                                .progress = true,
	                                .no_symbols = o->no_symbols,
	                                .max_size = o->max_size,
	                                .prog = cli_prog,
	                                .version = RAV_VERSION};
	cli_trace tr;
	cli_open_trace_progress(&tr, path, o, false, cli_export_sqlite_index_progress, &so);
	cli_sites_setup(tr.t, o);
	int rc = cli_export_sqlite(tr.t, o->output, &so);
	return cli_close_trace(&tr, rc == 0 ? EXIT_OK : EXIT_BAD);
#else
	(void)path;
	fprintf(stderr, "%s export: this ravtrace was built without SQLite (libsqlite3-dev was missing)\n",
	        cli_prog);
	return EXIT_BAD;
#endif
}

/* The most counter samples (threads times steps) the chrome export looks
 * up: a few seconds. */
#define COUNTER_LOOKUPS ((uint64_t)1 << 26)

/* Parse "move,fixup" into a kind mask. */

static void chrome_common(FILE *out, const char *ph, const char *name, uint64_t time_ns, uint32_t tid)
{
	fprintf(out, ",\n{\"ph\":\"%s\",\"name\":", ph);
	cli_json_string(out, name);
	fprintf(out, ",\"pid\":1,\"tid\":%u,\"ts\":%" PRIu64 ".%03u", tid, time_ns / 1000,
	        (unsigned)(time_ns % 1000));
}

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(argc, argv, help,
	                                  "format output kind counters line-size object-path no-symbols max-size", &o);
	if (!o.format)
		cli_usage_error("--format is required (--format=chrome or --format=sqlite)");
	if (strcmp(o.format, "sqlite") == 0)
		return export_sqlite_command(path, &o);
	if (strcmp(o.format, "chrome") != 0)
		cli_usage_error("unknown format '%s' (the formats are: chrome, sqlite)", o.format);
	if (o.line_size_given)
		cli_usage_error("--line-size applies to --format=sqlite only");
	if (o.max_size)
		cli_usage_error("--max-size applies to --format=sqlite only");
	cli_trace tr;
	cli_open_trace(&tr, path, &o, false, false);
	rav_trace *t = tr.t;
	rav_trace_error bad;
	bool inconsistent = cli_inconsistent(&tr, &bad);

	FILE *out = stdout;
	if (o.output && strcmp(o.output, "-") != 0) {
		out = fopen(o.output, "w");
		if (!out) {
			fprintf(stderr, "%s export: cannot create %s: %s\n", cli_prog, o.output,
			        strerror(errno));
			cli_close_trace(&tr, EXIT_BAD);
			return EXIT_BAD;
		}
	}
	uint64_t kinds = o.kinds ? o.kinds : ~(((uint64_t)1 << RAV_EV_ACCESS) | ((uint64_t)1 << RAV_EV_TIME));

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"program\":", out);
	cli_json_string(out, tr.info.program);
	if (inconsistent) {
		fputs(",\"error\":", out);
		cli_json_string(out, bad.message);
	}
	fputs("},\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":",
	      out);
	char pname[300];
	snprintf(pname, sizeof pname, "ravioli: %s",
	         tr.info.program[0] ? tr.info.program : "recorded program");
	pname[cli_utf8_prefix(pname, sizeof pname - 1)] = 0;
	cli_json_string(out, pname);
	fputs("}}", out);
	unsigned nheaps = rav_trace_thread_count(t);
	for (unsigned i = 0; i < nheaps; i++) {
		const rav_trace_thread th = cli_thread_at(t, i);
		if (th.kind == RAV_HEAP_MESSAGE)
			continue;
		char buf[64];
		fprintf(out,
		        ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":",
		        th.heap_id);
		cli_json_string(out, cli_name_or_id(t, th.heap_id, buf, sizeof buf));
		fputs("}}", out);
	}

	/* Instant events, and slices for compactions and collections. */
	char *detail = NULL;
	size_t dlen = 0;
	FILE *mem = open_memstream(&detail, &dlen);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		switch (ev.kind) {
		case RAV_EV_COMPACT_BEGIN:
		case RAV_EV_GC_BEGIN:
			chrome_common(out, "B", ev.kind == RAV_EV_GC_BEGIN ? "collect" : "compact",
			              ev.time_ns, ev.thread);
			if (ev.kind == RAV_EV_COMPACT_BEGIN)
				fprintf(out, ",\"args\":{\"reason\":\"%s\"}", cli_compact_reason(ev.aux));
			fputs("}", out);
			continue;
		case RAV_EV_COMPACT_END:
		case RAV_EV_GC_END:
			chrome_common(out, "E", ev.kind == RAV_EV_GC_END ? "collect" : "compact", ev.time_ns,
			              ev.thread);
			fprintf(out, ",\"args\":{\"%s\":%" PRIu64 "}}",
			        ev.kind == RAV_EV_GC_END ? "freed" : "moves", ev.a);
			continue;
		default:
			break;
		}
		if (ev.kind >= 64 || !(kinds & ((uint64_t)1 << ev.kind)))
			continue;
		const char *name = cli_kind_name(ev.kind);
		char label[96];
		if (ev.kind == RAV_EV_MARK && ev.text) {
			snprintf(label, sizeof label, "mark: %s", ev.text);
			label[cli_utf8_prefix(label, sizeof label - 1)] = 0;
			name = label;
		}
		chrome_common(out, "i", name, ev.time_ns, ev.thread);
		fprintf(out, ",\"s\":\"%s\",\"cat\":", ev.kind == RAV_EV_MARK ? "p" : "t");
		cli_json_string(out, cli_kind_name(ev.kind));
		fprintf(out, ",\"args\":{\"event\":%" PRIu64 ",\"detail\":", ev.index);
		/* one stream for every event's words: the detail is written,
		 * ended with a NUL, and read back from the start */
		if (mem) {
			rewind(mem);
			cli_format_args(mem, t, &ev);
			fputc(0, mem);
			fflush(mem);
		}
		cli_json_string(out, mem && detail ? detail : "");
		fputs("}}", out);
	}
	if (mem)
		fclose(mem);
	free(detail);

	/* Counters: live cells and pages per thread, sampled at even steps of
	 * the event index, stamped with the time of the sample's last event. */
	uint64_t events = rav_trace_indexed_events(t);
	unsigned bins = (unsigned)(o.counters < events ? o.counters : events);
	/* Each thread's samples are looked up at every step (about 35 ns
	 * each): 100,000 threads at 100,000 steps took 6 minutes.  Past
	 * COUNTER_LOOKUPS in all, fewer steps, and a note saying so. */
	unsigned nthreads = 0;
	for (unsigned i = 0; i < nheaps; i++)
		nthreads += cli_thread_at(t, i).kind != RAV_HEAP_MESSAGE;
	if (nthreads && (uint64_t)bins * nthreads > COUNTER_LOOKUPS) {
		unsigned fit = (unsigned)(COUNTER_LOOKUPS / nthreads);
		fit = fit ? fit : 1;
		fprintf(stderr,
		        "%s export: %u counter samples for each of %u threads would be more than %llu to look up: "
		        "%u samples instead (--counters)\n",
		        cli_prog, bins, nthreads, (unsigned long long)COUNTER_LOOKUPS, fit);
		bins = fit;
	}
	if (bins) {
		double *live = cli_xcalloc(bins, sizeof(double)), *pages = cli_xcalloc(bins, sizeof(double));
		/* the samples' times, the same for every thread: looked up once */
		uint64_t *when = cli_xcalloc(bins, sizeof(uint64_t));
		bool *known = cli_xcalloc(bins, sizeof(bool));
		for (unsigned b = 0; b < bins; b++) {
			rav_event at;
			known[b] = rav_trace_event_at(t, (events * (b + 1)) / bins - 1, &at);
			when[b] = known[b] ? at.time_ns : 0;
		}
		for (unsigned i = 0; i < nheaps; i++) {
			const rav_trace_thread th = cli_thread_at(t, i);
			if (th.kind == RAV_HEAP_MESSAGE)
				continue;
			if (!rav_trace_series(t, RAV_SERIES_LIVE_CELLS, th.heap_id, 0, 0, bins, live) ||
			    !rav_trace_series(t, RAV_SERIES_PAGES, th.heap_id, 0, 0, bins, pages))
				continue;
			bool any = false;
			for (unsigned b = 0; b < bins; b++)
				any |= live[b] != 0 || pages[b] != 0;
			if (!any)
				continue; /* a thread that never owned a page (main, chatty threads) */
			char cname[96], buf[64];
			snprintf(cname, sizeof cname, "heap of %s",
			         cli_name_or_id(t, th.heap_id, buf, sizeof buf));
			cname[cli_utf8_prefix(cname, sizeof cname - 1)] = 0;
			/* A counter holds its value until its next sample: only
			 * the samples that change it are written, so the output
			 * follows what happened, not threads times --counters
			 * (100,000 short-lived threads at 100,000 samples each
			 * wrote gigabytes of the same samples). */
			bool first = true;
			double was_live = 0, was_pages = 0;
			for (unsigned b = 0; b < bins; b++) {
				if (!known[b])
					continue;
				if (!first && live[b] == was_live && pages[b] == was_pages)
					continue;
				first = false;
				was_live = live[b];
				was_pages = pages[b];
				chrome_common(out, "C", cname, when[b], th.heap_id);
				fprintf(out, ",\"args\":{\"live cells\":%.0f,\"pages\":%.0f}}", live[b],
				        pages[b]);
			}
		}
		free(live);
		free(pages);
		free(when);
		free(known);
	}
	fputs("\n]}\n", out);
	int rc = cli_finish_output(out, o.output ? o.output : "the output");
	if (out != stdout && fclose(out) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "%s export: cannot write %s: %s\n", cli_prog, o.output, strerror(errno));
		rc = EXIT_BAD;
	}
	return cli_close_trace(&tr, rc);
}

const cli_command cli_cmd_export = {"export",
                                    "convert to another format (--format=chrome: trace-event JSON\n          "
                                    "  for Perfetto UI and chrome://tracing; --format=sqlite: an\n          "
                                    "  SQLite database)",
                                    help, run};
