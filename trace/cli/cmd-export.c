/* cmd-export.c - `ravtrace export`: the trace in another tool's format
 * (Chrome trace-event JSON for Perfetto UI and chrome://tracing; an SQLite
 * database, written by export-sqlite.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    "Some 100 to 150 bytes per event: a browser opens about 1 GiB of it, hence\n"
    "--max-size, --from/--to and --kind.\n"
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
    "  --from=E, --to=E  chrome: only the events with index in [from, to), as dump\n"
    "                    numbers them (a compaction cut by the range is left open)\n"
    "  --line-size=B     sqlite: cache line of the contention tables (default 64)\n"
    "  --follow          read FILE as a stream (a FIFO, a socket) until its\n"
    "                    writer ends it (FILE - reads standard input)\n"
    "  --object-path=DIRS  sqlite: also look for the program and its libraries in these\n"
    "                    directories (':'-separated), by file name, for the sites table\n"
    "  --no-symbols      sqlite: sites as objects and offsets (no debug info read)\n"
    "  --max-size=SIZE   stop with an error (and no file) rather than write more\n"
    "                    than SIZE (500M, 2G, unlimited); default: chrome 1G (what\n"
    "                    Perfetto UI opens in a browser), sqlite the larger of 1G and\n"
    "                    256 times the trace's size.  Chrome to standard output: refused\n"
    "                    before writing when the events alone exceed it, else the\n"
    "                    output stops there (incomplete JSON) with the error\n"
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

/* --max-size's default for the chrome export.  Perfetto UI parses the JSON
 * in the browser, where a page gets about 2 GB of memory ("Visualising
 * large traces", perfetto.dev) and the parsed trace takes more than its
 * file: 1 GiB is about the most it opens (a 24M-event trace made 3.4 GB,
 * at some 140 bytes an event, with no warning). */
#define CHROME_SIZE_DEFAULT ((uint64_t)1 << 30)
/* The chrome output goes through a stream of its own (fopencookie) that
 * counts what reaches the destination and drops what would go past the
 * bound: the records are written with stdio at full speed (a stream per
 * record to measure each cost 9% more instructions), the bound is exact,
 * and the event loop stops soon after (one buffer) it is reached. */
typedef struct chrome_out {
	FILE *dest;
	uint64_t written, limit;
	bool over;
} chrome_out;

static ssize_t chrome_write(void *cookie, const char *buf, size_t n)
{
	chrome_out *c = cookie;
	size_t keep = n;
	if (c->over)
		return (ssize_t)n;
	if (c->limit - c->written < n) {
		keep = (size_t)(c->limit - c->written);
		c->over = true;
	}
	if (keep && fwrite(buf, 1, keep, c->dest) != keep)
		return -1;
	c->written += keep;
	return (ssize_t)n; /* what is past the bound is dropped, not an error */
}

static void chrome_common(FILE *out, const char *ph, const char *name, uint64_t time_ns, uint32_t tid)
{
	fprintf(out, ",\n{\"ph\":\"%s\",\"name\":", ph);
	cli_json_string(out, name);
	fprintf(out, ",\"pid\":1,\"tid\":%u,\"ts\":%" PRIu64 ".%03u", tid, time_ns / 1000,
	        (unsigned)(time_ns % 1000));
}

static void size_text(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (uint64_t)1 << 30)
		snprintf(buf, len, "%.1f GiB", (double)bytes / (double)((uint64_t)1 << 30));
	else if (bytes >= (uint64_t)1 << 20)
		snprintf(buf, len, "%.1f MiB", (double)bytes / (double)(1 << 20));
	else if (bytes >= (uint64_t)1 << 10)
		snprintf(buf, len, "%.1f KiB", (double)bytes / (double)(1 << 10));
	else
		snprintf(buf, len, "%" PRIu64 " bytes", bytes);
}

/* An export larger than the bound: what happened (`what`), and what to do
 * about it. */
static void chrome_too_big(const cli_opts *o, uint64_t limit, const char *what)
{
	char l[32];
	size_text(limit, l, sizeof l);
	fprintf(stderr,
	        "%s export: the JSON would be larger than %s (%s): %s.  Pass --max-size=SIZE (or unlimited) "
	        "to write it anyway (Perfetto's trace_processor --httpd opens larger files), or export "
	        "less: --from=N --to=N for a range of event indices (as dump and the viewer number them), "
	        "--kind=K,... for fewer kinds of events; --format=sqlite keeps everything\n",
	        cli_prog, l,
	        o->max_size ? "--max-size" : "the default bound, about the most Perfetto UI opens in a browser",
	        what);
}

/* The fewest bytes an instant event and a slice's end take. */
static const char least_instant[] = ",\n{\"ph\":\"i\",\"name\":\"\",\"pid\":1,\"tid\":0,\"ts\":0.000,"
                                    "\"s\":\"t\",\"cat\":\"\",\"args\":{\"event\":0,\"detail\":\"\"}}";
static const char least_slice[] = ",\n{\"ph\":\"E\",\"name\":\"compact\",\"pid\":1,\"tid\":0,\"ts\":0.000,"
                                  "\"args\":{\"moves\":0}}";

/* The fewest bytes the events the chrome export writes in [from, to) take
 * (the count from the index's: exact for the whole trace, a range's ends
 * counted by its bins); *count gets the events. */
static uint64_t chrome_least_bytes(rav_trace *t, uint64_t kinds, uint64_t from, uint64_t to, uint64_t *count)
{
	uint64_t bytes = 0;
	*count = 0;
	for (unsigned k = 0; k < RAV_EV_KIND_COUNT && k < 64; k++) {
		bool slice = k == RAV_EV_COMPACT_BEGIN || k == RAV_EV_COMPACT_END || k == RAV_EV_GC_BEGIN ||
		             k == RAV_EV_GC_END;
		double c = 0;
		if (!(slice || (kinds & ((uint64_t)1 << k))) ||
		    !rav_trace_series(t, RAV_SERIES_EVENTS, (int64_t)k, from, to, 1, &c) || !(c > 0))
			continue;
		*count += (uint64_t)c;
		bytes += (uint64_t)c * (slice ? sizeof least_slice - 1 : sizeof least_instant - 1);
	}
	return bytes;
}

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(
	    argc, argv, help, "format output kind counters line-size object-path no-symbols max-size from to", &o);
	if (!o.format)
		cli_usage_error("--format is required (--format=chrome or --format=sqlite)");
	if (strcmp(o.format, "sqlite") == 0) {
		if (o.from || o.to)
			cli_usage_error("--from and --to apply to --format=chrome only (the database holds the "
			                "whole trace: select a range with SQL)");
		return export_sqlite_command(path, &o);
	}
	if (strcmp(o.format, "chrome") != 0)
		cli_usage_error("unknown format '%s' (the formats are: chrome, sqlite)", o.format);
	if (o.line_size_given)
		cli_usage_error("--line-size applies to --format=sqlite only");
	cli_trace tr;
	cli_open_trace(&tr, path, &o, false, false);
	rav_trace *t = tr.t;
	rav_trace_error bad;
	bool inconsistent = cli_inconsistent(&tr, &bad);
	uint64_t kinds = o.kinds ? o.kinds : ~(((uint64_t)1 << RAV_EV_ACCESS) | ((uint64_t)1 << RAV_EV_TIME));
	uint64_t total = rav_trace_indexed_events(t);
	uint64_t from = o.from < total ? o.from : total;
	uint64_t to = o.to && o.to < total ? o.to : total;
	uint64_t limit = o.max_size ? o.max_size : CHROME_SIZE_DEFAULT;
	char whole[32];

	/* Refused before anything is written when the events alone, at the
	 * fewest bytes each takes, are more than the bound. */
	uint64_t sfrom = from, sto = from == 0 && to == total ? 0 : to; /* the series' range (0: all) */
	uint64_t count = 0, least = from < to ? chrome_least_bytes(t, kinds, sfrom, sto, &count) : 0;
	if (limit != UINT64_MAX && least > limit) {
		size_text(least, whole, sizeof whole);
		char what[160];
		snprintf(what, sizeof what, "its %" PRIu64 " events take %s at least; nothing written", count,
		         whole);
		chrome_too_big(&o, limit, what);
		return cli_close_trace(&tr, EXIT_BAD);
	}

	/* A file is written under a temporary name, renamed into place when
	 * complete: an export stopped by the bound leaves no file.  Something
	 * else that exists (a FIFO, /dev/null, a terminal) is written as
	 * standard output is. */
	chrome_out c = {.dest = stdout, .limit = limit};
	char *tmp = NULL;
	bool to_file = false;
	if (o.output && strcmp(o.output, "-") != 0) {
		struct stat st;
		bool exists = stat(o.output, &st) == 0;
		if (exists && S_ISDIR(st.st_mode)) {
			fprintf(stderr, "%s export: %s is a directory: -o names the file to write\n", cli_prog,
			        o.output);
			return cli_close_trace(&tr, EXIT_BAD);
		}
		to_file = !exists || S_ISREG(st.st_mode);
		if (to_file) {
			size_t len = strlen(o.output) + 32;
			tmp = cli_xcalloc(len, 1);
			snprintf(tmp, len, "%s.tmp-%ld", o.output, (long)getpid());
		}
		c.dest = fopen(to_file ? tmp : o.output, "w");
		if (!c.dest) {
			fprintf(stderr, "%s export: cannot create %s: %s\n", cli_prog, o.output, strerror(errno));
			free(tmp);
			return cli_close_trace(&tr, EXIT_BAD);
		}
	}
	bool to_other = c.dest != stdout && !to_file; /* a FIFO, a device */
	FILE *out = fopencookie(&c, "w", (cookie_io_functions_t){.write = chrome_write});
	if (out)
		setvbuf(out, NULL, _IOFBF, (size_t)1 << 16);
	char *detail = NULL;
	size_t dlen = 0;
	FILE *mem = open_memstream(&detail, &dlen);
	if (!out || !mem) {
		fprintf(stderr, "%s export: out of memory\n", cli_prog);
		exit(EXIT_BAD);
	}

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
	for (unsigned i = 0; i < nheaps && !c.over; i++) {
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
	rav_event_filter all = {.thread = -1, .from = from, .to = to};
	rav_event_iter it;
	rav_event ev;
	uint64_t stopped_at = from;
	rav_event_iter_init(&it, t, &all);
	while (!c.over && from < to && rav_event_iter_next(&it, &ev)) {
		stopped_at = ev.index;
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
		rewind(mem);
		cli_format_args(mem, t, &ev);
		fputc(0, mem);
		fflush(mem);
		cli_json_string(out, detail ? detail : "");
		fputs("}}", out);
	}
	fclose(mem);
	free(detail);

	/* Counters: live cells and pages per thread, sampled at even steps of
	 * the event index, stamped with the time of the sample's last event. */
	uint64_t events = to - from;
	unsigned bins = (unsigned)(o.counters < events ? o.counters : events);
	bool counters_begun = !c.over;
	if (c.over)
		bins = 0;
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
			known[b] = rav_trace_event_at(t, from + (events * (b + 1)) / bins - 1, &at);
			when[b] = known[b] ? at.time_ns : 0;
		}
		for (unsigned i = 0; i < nheaps && !c.over; i++) {
			const rav_trace_thread th = cli_thread_at(t, i);
			if (th.kind == RAV_HEAP_MESSAGE)
				continue;
			if (!rav_trace_series(t, RAV_SERIES_LIVE_CELLS, th.heap_id, sfrom, sto, bins, live) ||
			    !rav_trace_series(t, RAV_SERIES_PAGES, th.heap_id, sfrom, sto, bins, pages))
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
			for (unsigned b = 0; b < bins && !c.over; b++) {
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
	if (!c.over)
		fputs("\n]}\n", out);
	/* what is left in the buffer reaches the destination (or the bound) */
	bool out_failed = fclose(out) != 0;
	int rc = EXIT_OK;
	if (c.over) {
		bool in_events = stopped_at > from && stopped_at < to && !counters_begun;
		char what[384], where[256];
		if (in_events) {
			size_text((uint64_t)((double)c.written / (double)(stopped_at - from) * (double)(to - from)),
			          whole, sizeof whole);
			snprintf(where, sizeof where,
			         "it reached that at event %" PRIu64 " (of events %" PRIu64 " to %" PRIu64
			         "), so the whole would be about %s",
			         stopped_at, from, to - 1, whole);
		} else
			snprintf(where, sizeof where, "it reached that with %s",
			         counters_begun ? "the counters (--counters)" : "the threads' names");
		if (to_file)
			snprintf(what, sizeof what, "%s; no file written", where);
		else
			snprintf(what, sizeof what, "%s; %s got the first %" PRIu64 " bytes (incomplete JSON)", where,
			         to_other ? o.output : "standard output", c.written);
		chrome_too_big(&o, limit, what);
		rc = EXIT_BAD;
	} else {
		rc = cli_finish_output(c.dest, c.dest != stdout ? o.output : "the output");
		if (out_failed && rc == EXIT_OK) {
			fprintf(stderr, "%s export: cannot write %s: %s\n", cli_prog,
			        c.dest != stdout ? o.output : "the output", strerror(errno));
			rc = EXIT_BAD;
		}
	}
	if (to_file) {
		if (fclose(c.dest) != 0 && rc == EXIT_OK) {
			fprintf(stderr, "%s export: cannot write %s: %s\n", cli_prog, o.output, strerror(errno));
			rc = EXIT_BAD;
		}
		if (!c.over && rc == EXIT_OK && rename(tmp, o.output) != 0) {
			fprintf(stderr, "%s export: cannot create %s: %s\n", cli_prog, o.output, strerror(errno));
			rc = EXIT_BAD;
		}
		if (c.over || rc != EXIT_OK)
			unlink(tmp);
		free(tmp);
	} else if (to_other) {
		if (fclose(c.dest) != 0 && rc == EXIT_OK) {
			fprintf(stderr, "%s export: cannot write %s: %s\n", cli_prog, o.output, strerror(errno));
			rc = EXIT_BAD;
		}
	} else if (c.over)
		fflush(stdout);
	return cli_close_trace(&tr, rc);
}

const cli_command cli_cmd_export = {"export",
                                    "convert to another format (--format=chrome: trace-event JSON\n          "
                                    "  for Perfetto UI and chrome://tracing; --format=sqlite: an\n          "
                                    "  SQLite database)",
                                    help, run};
