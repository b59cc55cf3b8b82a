/* ravtrace.c - the `ravtrace` command line tool: look into .ravtrace files
 * without the viewer, from scripts and CI.
 *
 * It is a thin client of libravtrace's public API (ravtrace.h; event kind
 * numbers from rav-record.h): everything it knows about a trace comes from
 * the library, so what it prints is what the viewer shows.  Output meant for
 * machines (--json, export) is deterministic for a given file: no paths, no
 * clock readings of its own, so golden tests can compare it byte for byte.
 *
 * Exit codes: 0 success, 1 the trace is invalid or could not be read (or
 * the output could not be written), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "ravtrace.h"
#if RAV_HAVE_SQLITE
#include "export-sqlite.h"
#endif

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

static const char *prog = "ravtrace";
static const char *subcmd = NULL;

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s%s%s: ", prog, subcmd ? " " : "", subcmd ? subcmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", prog, subcmd ? " " : "",
	        subcmd ? subcmd : "");
	exit(EXIT_USAGE);
}

static void trace_error(const char *path, const rav_trace_error *err) __attribute__((noreturn));
static void trace_error(const char *path, const rav_trace_error *err)
{
	fprintf(stderr, "%s: %s: %s", prog, path, err->message[0] ? err->message : "unreadable trace");
	if (err->chunk >= 0)
		fprintf(stderr, " (chunk %" PRId64 ", offset %" PRIu64 ")", err->chunk, err->offset);
	else if (err->offset)
		fprintf(stderr, " (offset %" PRIu64 ")", err->offset);
	fputc('\n', stderr);
	exit(EXIT_BAD);
}

/* Close stdout and report a failed write (full disk, closed pipe). */
static int finish_output(FILE *out, const char *what)
{
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, what, strerror(errno));
		return EXIT_BAD;
	}
	return EXIT_OK;
}

static uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		usage_error("%s needs a whole number, not '%s'", opt, s ? s : "");
	unsigned long long v = strtoull(s, &end, 0);
	if (*end || errno)
		usage_error("%s needs a whole number, not '%s'", opt, s);
	return v;
}

/* ---- Opening ----------------------------------------------------------------- */

typedef struct opened {
	rav_trace *t;
	rav_trace_info info;
	const char *path;
} opened;

/* Open and index a trace; a truncated one is used with a warning (validate
 * treats truncation as an error itself).  `progress` (may be NULL) follows
 * the indexing. */
static void open_trace_progress(opened *o, const char *path, bool quiet_truncation,
                                rav_trace_progress progress, void *user)
{
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	o->path = path;
	o->t = rav_trace_open(path, &err);
	if (!o->t)
		trace_error(path, &err);
	if (rav_trace_index(o->t, progress, user, &err) != 0 && err.code != RAV_TRACE_ETRUNCATED)
		trace_error(path, &err);
	rav_trace_get_info(o->t, &o->info);
	if (o->info.truncated && !quiet_truncation)
		fprintf(stderr,
		        "%s: warning: %s is truncated (the recording program stopped early?): using the "
		        "first %" PRIu64 " of %" PRIu64 " bytes\n",
		        prog, path, o->info.recovered_bytes, o->info.file_size);
}

static void open_trace(opened *o, const char *path, bool quiet_truncation)
{
	open_trace_progress(o, path, quiet_truncation, NULL, NULL);
}

/* Heap id 0 is no heap: events recorded before the recording thread had
 * one (type definitions when recording starts). */
static const char *thread_name(const rav_trace *t, uint32_t id)
{
	const rav_trace_thread *th = rav_trace_thread_by_id(t, id);
	if (th && th->name[0])
		return th->name;
	return id == 0 ? "(process)" : NULL;
}

/* ---- Small formatting helpers -------------------------------------------------- */

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* A location as text: "page.cell" or "page.cell.word", "-" for none,
 * "ext:0xADDR" outside the pool. */
static const char *loc_text(char *buf, size_t len, rav_loc l, bool with_word)
{
	if (l == RAV_LOC_NONE)
		snprintf(buf, len, "-");
	else if (l & RAV_LOC_EXTERNAL)
		snprintf(buf, len, "ext:0x%" PRIx64, l & ~RAV_LOC_EXTERNAL);
	else if (with_word)
		snprintf(buf, len, "%u.%u.%u", rav_loc_page(l), rav_loc_cell(l), rav_loc_word(l));
	else
		snprintf(buf, len, "%u.%u", rav_loc_page(l), rav_loc_cell(l));
	return buf;
}

static const char *heap_kind_name(unsigned k)
{
	return k == RAV_HEAP_THREAD ? "thread" : k == RAV_HEAP_MESSAGE ? "message" : "unknown";
}

static const char *page_kind_name(unsigned k)
{
	return k == RAV_PAGE_HEAP     ? "heap"
	       : k == RAV_PAGE_BUFFER ? "buffer"
	       : k == RAV_PAGE_ROOT   ? "root"
	                              : "unknown";
}

static const char *compact_reason(unsigned r)
{
	static const char *names[] = {"free", "arrival", "deferred", "collect"};
	return r < 4 ? names[r] : "unknown";
}

static const char *kind_name(unsigned k)
{
	const char *n = rav_event_kind_name(k);
	return n ? n : "unknown";
}

/* The arguments of one event, spelled out by kind (see rav-record.h). */
static void format_args(FILE *out, const rav_trace *t, const rav_event *ev)
{
	char b1[48], b2[48], b3[48];
	const rav_trace_type *ty;
	switch (ev->kind) {
	case RAV_EV_TIME:
		fprintf(out, "tsc=%" PRIu64 " hz=%" PRIu64, ev->a, ev->b);
		break;
	case RAV_EV_THREAD_START:
		fprintf(out, "heap=%u tid=%" PRIu64, ev->x, ev->a);
		break;
	case RAV_EV_THREAD_NAME:
		fprintf(out, "heap=%u name=", ev->x);
		json_string(out, ev->text);
		break;
	case RAV_EV_THREAD_END:
		fprintf(out, "heap=%u", ev->x);
		break;
	case RAV_EV_HEAP_NEW:
		fprintf(out, "heap=%u kind=%s creator=%" PRIu64 " seq=%" PRIu64, ev->x,
		        heap_kind_name(ev->aux), ev->a, ev->c);
		break;
	case RAV_EV_HEAP_END:
		fprintf(out, "heap=%u seq=%" PRIu64, ev->x, ev->c);
		break;
	case RAV_EV_TYPE_DEF:
		fprintf(out, "type=%u fields=%s,%s name=", ev->aux, (ev->x & 1) ? "ref" : "data",
		        (ev->x & 2) ? "ref" : "data");
		json_string(out, ev->text);
		break;
	case RAV_EV_PAGE_ACQUIRE:
		fprintf(out, "page=%" PRIu64 " heap=%u kind=%s seq=%" PRIu64, ev->a, ev->x,
		        page_kind_name(ev->aux), ev->c);
		break;
	case RAV_EV_PAGE_RELEASE:
		fprintf(out, "page=%" PRIu64 " heap=%u seq=%" PRIu64, ev->a, ev->x, ev->c);
		break;
	case RAV_EV_PAGE_HANDOFF:
		fprintf(out, "page=%" PRIu64 " from=%" PRIu64 " to=%u seq=%" PRIu64, ev->a, ev->b, ev->x,
		        ev->c);
		break;
	case RAV_EV_ALLOC:
	case RAV_EV_FREE:
		ty = rav_trace_type_by_id(t, (uint16_t)ev->aux);
		fprintf(out, "cell=%s type=%u", loc_text(b1, sizeof b1, ev->a, false), ev->aux);
		if (ty && ty->name[0])
			fprintf(out, " (%s)", ty->name);
		break;
	case RAV_EV_MOVE:
		fprintf(out, "from=%s to=%s", loc_text(b1, sizeof b1, ev->a, false),
		        loc_text(b2, sizeof b2, ev->b, false));
		break;
	case RAV_EV_TRIM:
		fprintf(out, "cell=%s", loc_text(b1, sizeof b1, ev->a, false));
		break;
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_LINK:
		fprintf(out, "slot=%s old=%s new=%s", loc_text(b1, sizeof b1, ev->a, true),
		        loc_text(b2, sizeof b2, ev->b, true), loc_text(b3, sizeof b3, ev->c, true));
		break;
	case RAV_EV_REF_CLEAR:
		fprintf(out, "slot=%s old=%s", loc_text(b1, sizeof b1, ev->a, true),
		        loc_text(b2, sizeof b2, ev->b, true));
		break;
	case RAV_EV_DATA_STORE:
		fprintf(out, "slot=%s old=%" PRIu64 " new=%" PRIu64, loc_text(b1, sizeof b1, ev->a, true),
		        ev->b, ev->c);
		break;
	case RAV_EV_TYPE_WORD:
		fprintf(out, "cell=%s old=0x%" PRIx64 " new=0x%" PRIx64,
		        loc_text(b1, sizeof b1, ev->a, false), ev->b, ev->c);
		break;
	case RAV_EV_REFRAV_INSERT:
		fprintf(out, "refrav=%s target=%s", loc_text(b1, sizeof b1, ev->a, false),
		        loc_text(b2, sizeof b2, ev->b, false));
		break;
	case RAV_EV_REFRAV_REMOVE:
		fprintf(out, "refrav=%s", loc_text(b1, sizeof b1, ev->a, false));
		break;
	case RAV_EV_ROOT_NEW:
	case RAV_EV_ROOT_FREE:
		fprintf(out, "slot=%s", loc_text(b1, sizeof b1, ev->a, true));
		break;
	case RAV_EV_MSG_BUILD:
		fprintf(out, "msg=%u", ev->x);
		break;
	case RAV_EV_MSG_SEND:
		fprintf(out, "msg=%u channel=%" PRIu64 " pages=%" PRIu64 " seq=%" PRIu64, ev->x, ev->a, ev->b,
		        ev->c);
		break;
	case RAV_EV_MSG_RECV:
		fprintf(out, "msg=%u channel=%" PRIu64 " receiver=%" PRIu64 " seq=%" PRIu64, ev->x, ev->a,
		        ev->b, ev->c);
		break;
	case RAV_EV_COMPACT_BEGIN:
		fprintf(out, "heap=%u reason=%s", ev->x, compact_reason(ev->aux));
		break;
	case RAV_EV_COMPACT_END:
		fprintf(out, "heap=%u moves=%" PRIu64, ev->x, ev->a);
		break;
	case RAV_EV_SERIALIZE:
	case RAV_EV_DESERIALIZE:
		fprintf(out, "heap=%u cells=%" PRIu64 " bytes=%" PRIu64, ev->x, ev->a, ev->b);
		break;
	case RAV_EV_GC_BEGIN:
		fprintf(out, "heap=%u", ev->x);
		break;
	case RAV_EV_GC_END:
		fprintf(out, "heap=%u freed=%" PRIu64, ev->x, ev->a);
		break;
	case RAV_EV_ERROR:
		fprintf(out, "status=%u message=", ev->aux);
		json_string(out, ev->text);
		break;
	case RAV_EV_MARK:
		fputs("text=", out);
		json_string(out, ev->text);
		break;
	case RAV_EV_ACCESS:
		fprintf(out, "%s addr=%s size=%" PRIu64, ev->aux ? "write" : "read",
		        loc_text(b1, sizeof b1, ev->a, true), ev->b);
		break;
	default:
		fprintf(out, "x=%u aux=%u a=%" PRIu64 " b=%" PRIu64 " c=%" PRIu64, ev->x, ev->aux, ev->a,
		        ev->b, ev->c);
		if (ev->text) {
			fputs(" text=", out);
			json_string(out, ev->text);
		}
	}
}

/* ---- Option tables ------------------------------------------------------------ */

static const char *const main_help =
    "usage: ravtrace COMMAND [OPTIONS] FILE\n"
    "\n"
    "Inspect ravioli heap traces (.ravtrace files recorded with RAVIOLI_TRACE=FILE).\n"
    "\n"
    "Commands:\n"
    "  info      header, threads, types, counts and duration\n"
    "  dump      list events, with filters\n"
    "  stats     per-kind counts, moves and fix-ups per free, pages per thread,\n"
    "            hand-offs, hottest contended cache lines\n"
    "  validate  check every chunk and event; exit 1 on any corruption\n"
    "  export    convert to another format (--format=chrome: trace-event JSON\n"
    "            for Perfetto UI and chrome://tracing; --format=sqlite: an\n"
    "            SQLite database)\n"
    "\n"
    "'ravtrace COMMAND --help' describes each command's options.\n"
    "Exit status: 0 success, 1 invalid or unreadable trace, 2 usage error.\n";

static const char *const info_help =
    "usage: ravtrace info [--json] FILE\n"
    "\n"
    "Print the trace header (format version, geometry), the recorded program,\n"
    "its threads and types, event, chunk and keyframe counts, and the duration.\n"
    "\n"
    "  --json     machine-readable output (one JSON object)\n"
    "  -h, --help this help\n";

static const char *const dump_help =
    "usage: ravtrace dump [OPTIONS] FILE\n"
    "\n"
    "List events in global order, one per line:\n"
    "  INDEX  TIME(us)  THREAD  KIND  ARGUMENTS\n"
    "Cells are written PAGE.CELL and words PAGE.CELL.WORD (cell 0 is the page header).\n"
    "\n"
    "  --kind=K[,K...]   only these kinds (e.g. move,fixup; see --list-kinds)\n"
    "  --thread=ID       only events recorded by this thread (heap id, see info)\n"
    "  --from=N          start at event index N\n"
    "  --to=N            stop before event index N\n"
    "  --cell=PAGE.CELL  only events touching this cell (PAGE:CELL works too)\n"
    "  --limit=N         print at most N events\n"
    "  --list-kinds      print the event kind names and exit\n"
    "  -h, --help        this help\n";

static const char *const stats_help =
    "usage: ravtrace stats [OPTIONS] FILE\n"
    "\n"
    "Summarize what the heap did: events per kind; moves and fix-ups per free;\n"
    "allocations, frees, moves and pages per thread, and pages over time; page\n"
    "hand-offs between threads; the cache-contention model's totals and the\n"
    "hottest contended lines (needs a trace recorded with RAVIOLI_TRACE_ACCESS=1\n"
    "for memory accesses; page traffic counts either way).\n"
    "\n"
    "  --json            machine-readable output (one JSON object)\n"
    "  --top=N           hottest lines to list (default 10)\n"
    "  --line-size=B     cache line size in bytes, a power of two (default 64)\n"
    "  --bins=N          time bins for the pages-over-time series (default 8)\n"
    "  -h, --help        this help\n";

static const char *const validate_help =
    "usage: ravtrace validate FILE\n"
    "\n"
    "Check the header, every chunk's framing and checksum, decode every event,\n"
    "and replay the whole trace through the heap model.  Prints one line\n"
    "starting with OK and exits 0 when the file is sound; otherwise prints\n"
    "what is wrong, where (byte offset, chunk) and why, and exits 1.  A\n"
    "truncated file is reported with how much of it is usable.\n"
    "\n"
    "  -h, --help        this help\n";

static const char *const export_help =
    "usage: ravtrace export --format=chrome|sqlite [-o OUT] FILE\n"
    "\n"
    "--format=chrome: Chrome trace-event JSON, which Perfetto UI\n"
    "(ui.perfetto.dev: Open trace file) and chrome://tracing open: thread\n"
    "names, one instant event per engine event, compactions and collections\n"
    "as slices, and counters for live cells and pages per thread.\n"
    "Memory accesses and clock events are left out unless --kind asks for them.\n"
    "\n"
    "--format=sqlite: an SQLite database (-o required) with tables events,\n"
    "threads, types, kinds, marks, cells (each cell's life: type, allocated,\n"
    "freed, moves), moves, handoffs, contention_lines and meta, indexed, for\n"
    "queries with sqlite3; the schema is in docs/sql.md.  A progress line is\n"
    "shown on a terminal.\n"
    "\n"
    "  --format=FORMAT   chrome or sqlite\n"
    "  -o, --output=OUT  write to OUT (chrome: default standard output)\n"
    "  --kind=K[,K...]   chrome: only these kinds of instant events;\n"
    "                    sqlite: only these kinds in the events table\n"
    "  --counters=N      chrome: counter samples over the trace (default 200)\n"
    "  --line-size=B     sqlite: cache line of the contention tables (default 64)\n"
    "  -h, --help        this help\n";

/* Parse "move,fixup" into a kind mask. */
static uint64_t parse_kinds(const char *list)
{
	uint64_t mask = 0;
	char *copy = strdup(list);
	if (!copy) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_BAD);
	}
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = rav_event_kind_from_name(tok);
		if (k < 0 || k >= 64)
			usage_error("unknown event kind '%s' (see 'ravtrace dump --list-kinds')",
			            tok); /* exits */
		mask |= (uint64_t)1 << k;
	}
	free(copy);
	if (!mask)
		usage_error("--kind needs at least one kind name");
	return mask;
}

static rav_loc parse_cell(const char *s)
{
	char *end;
	errno = 0;
	unsigned long page = strtoul(s, &end, 10);
	if (end == s || (*end != '.' && *end != ':') || errno) /* ravscope --select writes PAGE:CELL */
		usage_error("--cell needs PAGE.CELL (e.g. 3.17), not '%s'", s);
	const char *c = end + 1;
	unsigned long cell = strtoul(c, &end, 10);
	if (end == c || *end || errno || page > UINT32_MAX || cell > 0x3fff)
		usage_error("--cell needs PAGE.CELL (e.g. 3.17), not '%s'", s);
	if (page == 0 && cell == 0)
		usage_error("--cell 0.0 names no cell (page 0, header): pick a real cell");
	return rav_loc_make((uint32_t)page, (uint32_t)cell, 0);
}

/* getopt_long over a subcommand's arguments; returns the FILE operand. */
typedef struct cli_opts {
	bool json, list_kinds;
	uint64_t kinds;
	int64_t thread;
	uint64_t from, to, limit;
	rav_loc cell;
	uint64_t top, line_size, bins, counters;
	bool line_size_given, counters_given;
	const char *format, *output;
} cli_opts;

enum {
	OPT_JSON = 256,
	OPT_KIND,
	OPT_THREAD,
	OPT_FROM,
	OPT_TO,
	OPT_CELL,
	OPT_LIMIT,
	OPT_LIST_KINDS,
	OPT_TOP,
	OPT_LINE,
	OPT_BINS,
	OPT_FORMAT,
	OPT_COUNTERS
};

/* Is `word` one of the space-separated words of `list`? */
static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

static const char *parse_opts(int argc, char **argv, const char *help, const char *allowed, cli_opts *o)
{
	static const struct option all[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"kind", required_argument, NULL, OPT_KIND},
	    {"thread", required_argument, NULL, OPT_THREAD},
	    {"from", required_argument, NULL, OPT_FROM},
	    {"to", required_argument, NULL, OPT_TO},
	    {"cell", required_argument, NULL, OPT_CELL},
	    {"limit", required_argument, NULL, OPT_LIMIT},
	    {"list-kinds", no_argument, NULL, OPT_LIST_KINDS},
	    {"top", required_argument, NULL, OPT_TOP},
	    {"line-size", required_argument, NULL, OPT_LINE},
	    {"bins", required_argument, NULL, OPT_BINS},
	    {"format", required_argument, NULL, OPT_FORMAT},
	    {"output", required_argument, NULL, 'o'},
	    {"counters", required_argument, NULL, OPT_COUNTERS},
	    {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof *o);
	o->thread = -1;
	o->top = 10;
	o->line_size = 64;
	o->bins = 8;
	o->counters = 200;
	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":ho:", all, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *p = all; p->name; p++)
			if (p->val == c)
				name = p->name;
		if (c != 'h' && c != '?' && c != ':' && name && !word_in(allowed, name))
			usage_error("--%s does not apply to this command", name);
		switch (c) {
		case 'h':
			fputs(help, stdout);
			exit(finish_output(stdout, "the help"));
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_KIND:
			o->kinds = parse_kinds(optarg);
			break;
		case OPT_THREAD: {
			uint64_t v = parse_u64("--thread", optarg);
			if (v > UINT32_MAX)
				usage_error("--thread: no heap has id %" PRIu64, v);
			o->thread = (int64_t)v;
			break;
		}
		case OPT_FROM:
			o->from = parse_u64("--from", optarg);
			break;
		case OPT_TO:
			o->to = parse_u64("--to", optarg);
			if (o->to == 0)
				usage_error("--to=0 selects nothing (the range is [from, to))");
			break;
		case OPT_CELL:
			o->cell = parse_cell(optarg);
			break;
		case OPT_LIMIT:
			o->limit = parse_u64("--limit", optarg);
			break;
		case OPT_LIST_KINDS:
			o->list_kinds = true;
			break;
		case OPT_TOP:
			o->top = parse_u64("--top", optarg);
			break;
		case OPT_LINE:
			o->line_size = parse_u64("--line-size", optarg);
			o->line_size_given = true;
			if (o->line_size < 8 || o->line_size > 4096 || (o->line_size & (o->line_size - 1)))
				usage_error("--line-size must be a power of two from 8 to 4096, not %" PRIu64,
				            o->line_size);
			break;
		case OPT_BINS:
			o->bins = parse_u64("--bins", optarg);
			if (o->bins < 1 || o->bins > 1000)
				usage_error("--bins must be from 1 to 1000");
			break;
		case OPT_COUNTERS:
			o->counters = parse_u64("--counters", optarg);
			o->counters_given = true;
			if (o->counters > 100000)
				usage_error("--counters must be at most 100000");
			break;
		case OPT_FORMAT:
			o->format = optarg;
			break;
		case 'o':
			o->output = optarg;
			break;
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->list_kinds)
		return NULL;
	if (optind >= argc)
		usage_error("no trace file given");
	if (optind + 1 < argc)
		usage_error("one trace file at a time (got '%s' and '%s')", argv[optind], argv[optind + 1]);
	if (o->to && o->from >= o->to)
		usage_error("--from=%" PRIu64 " is not before --to=%" PRIu64, o->from, o->to);
	return argv[optind];
}

/* ---- info -------------------------------------------------------------------- */

static int cmd_info(int argc, char **argv)
{
	cli_opts o;
	const char *path = parse_opts(argc, argv, info_help, "json", &o);
	opened tr;
	open_trace(&tr, path, false);
	const rav_trace_info *in = &tr.info;
	unsigned nthreads = rav_trace_thread_count(tr.t), ntypes = rav_trace_type_count(tr.t);
	unsigned nmarks = rav_trace_mark_count(tr.t), nmsg = 0;
	for (unsigned i = 0; i < nthreads; i++)
		nmsg += rav_trace_thread_at(tr.t, i)->kind == RAV_HEAP_MESSAGE;
	uint64_t duration = in->end_ns > in->start_ns ? in->end_ns - in->start_ns : 0;

	if (o.json) {
		printf("{\n  \"format\": \"%u.%u\",\n", in->version_major, in->version_minor);
		printf("  \"word_size\": %u,\n  \"cell_size\": %u,\n  \"page_size\": %u,\n  "
		       "\"cells_per_page\": %u,\n",
		       in->word_size, in->cell_size, in->page_size, in->cells_per_page);
		printf("  \"file_size\": %" PRIu64 ",\n  \"truncated\": %s,\n  \"recovered_bytes\": %" PRIu64
		       ",\n",
		       in->file_size, in->truncated ? "true" : "false", in->recovered_bytes);
		printf("  \"program\": ");
		json_string(stdout, in->program);
		printf(",\n  \"chunks\": %" PRIu64 ",\n  \"events\": %" PRIu64 ",\n  \"keyframes\": %" PRIu64
		       ",\n  \"duration_ns\": %" PRIu64 ",\n",
		       in->chunks, in->events, in->keyframes, duration);
		printf("  \"marks\": %u,\n  \"message_heaps\": %u,\n  \"threads\": [", nmarks, nmsg);
		bool first = true;
		for (unsigned i = 0; i < nthreads; i++) {
			const rav_trace_thread *th = rav_trace_thread_at(tr.t, i);
			if (th->kind == RAV_HEAP_MESSAGE)
				continue;
			printf("%s\n    {\"id\": %u, \"name\": ", first ? "" : ",", th->heap_id);
			json_string(stdout, th->name);
			printf(", \"first_event\": %" PRIu64 ", \"last_event\": %" PRIu64 "}",
			       th->first_event, th->last_event);
			first = false;
		}
		printf("%s],\n  \"types\": [", first ? "" : "\n  ");
		for (unsigned i = 0; i < ntypes; i++) {
			const rav_trace_type *ty = rav_trace_type_at(tr.t, i);
			printf("%s\n    {\"id\": %u, \"name\": ", i ? "," : "", ty->id);
			json_string(stdout, ty->name);
			printf(", \"fields\": [\"%s\", \"%s\"]}", ty->field_is_ref[0] ? "ref" : "data",
			       ty->field_is_ref[1] ? "ref" : "data");
		}
		printf("%s]\n}\n", ntypes ? "\n  " : "");
	} else {
		printf("file        %s\n", path);
		printf("format      %u.%u, %u-byte words, %u-byte cells, %u-byte pages (%u cells)\n",
		       in->version_major, in->version_minor, in->word_size, in->cell_size, in->page_size,
		       in->cells_per_page);
		printf("program     %s\n", in->program[0] ? in->program : "(not recorded)");
		printf("size        %" PRIu64 " bytes in %" PRIu64 " chunks%s\n", in->file_size, in->chunks,
		       in->truncated ? " (TRUNCATED)" : "");
		printf("events      %" PRIu64 " (%.2f bytes per event), %" PRIu64 " keyframes, %u marks\n",
		       in->events, in->events ? (double)in->file_size / (double)in->events : 0.0,
		       in->keyframes, nmarks);
		printf("duration    %.3f ms\n", (double)duration / 1e6);
		printf("threads     %u, plus %u message heaps\n", nthreads - nmsg, nmsg);
		for (unsigned i = 0; i < nthreads; i++) {
			const rav_trace_thread *th = rav_trace_thread_at(tr.t, i);
			if (th->kind == RAV_HEAP_MESSAGE)
				continue;
			const char *n = thread_name(tr.t, th->heap_id);
			printf("  heap %-4u %-16s events %" PRIu64 "..%" PRIu64 "\n", th->heap_id,
			       n ? n : "(unnamed)", th->first_event, th->last_event);
		}
		printf("types       %u\n", ntypes);
		for (unsigned i = 0; i < ntypes; i++) {
			const rav_trace_type *ty = rav_trace_type_at(tr.t, i);
			if (strcmp(ty->name, "reserved") == 0)
				continue;
			printf("  %-5u %-20s %s, %s\n", ty->id, ty->name,
			       ty->field_is_ref[0] ? "ref" : "data", ty->field_is_ref[1] ? "ref" : "data");
		}
	}
	int rc = finish_output(stdout, "the output");
	rav_trace_close(tr.t);
	return rc;
}

/* ---- dump -------------------------------------------------------------------- */

static int cmd_dump(int argc, char **argv)
{
	cli_opts o;
	const char *path = parse_opts(argc, argv, dump_help, "kind thread from to cell limit list-kinds", &o);
	if (o.list_kinds) {
		for (unsigned k = 1; k < RAV_EV_KIND_COUNT; k++)
			printf("%s\n", kind_name(k));
		return finish_output(stdout, "the output");
	}
	opened tr;
	open_trace(&tr, path, false);
	if (o.thread >= 0 && !rav_trace_thread_by_id(tr.t, (uint32_t)o.thread)) {
		fprintf(stderr, "%s dump: %s has no heap with id %" PRId64 " (see 'ravtrace info')\n", prog,
		        path, o.thread);
		rav_trace_close(tr.t);
		return EXIT_USAGE;
	}
	rav_event_filter f = {
	    .kinds = o.kinds, .thread = o.thread, .from = o.from, .to = o.to, .cell = o.cell};
	rav_event_iter it;
	rav_event ev;
	uint64_t n = 0;
	rav_event_iter_init(&it, tr.t, &f);
	while ((!o.limit || n < o.limit) && rav_event_iter_next(&it, &ev)) {
		const char *tn = thread_name(tr.t, ev.thread);
		char who[40];
		if (tn)
			snprintf(who, sizeof who, "%u:%.24s", ev.thread, tn);
		else
			snprintf(who, sizeof who, "%u", ev.thread);
		printf("%10" PRIu64 " %12.3f %-14s %-14s ", ev.index, (double)ev.time_ns / 1e3, who,
		       kind_name(ev.kind));
		format_args(stdout, tr.t, &ev);
		putchar('\n');
		n++;
		if (ferror(stdout))
			break;
	}
	int rc = finish_output(stdout, "the output");
	rav_trace_close(tr.t);
	return rc;
}

/* ---- stats ------------------------------------------------------------------- */

typedef struct thread_row {
	uint32_t id;
	uint64_t events, allocs, frees, moves, fixups, pages_max;
	double *series;
} thread_row;

typedef struct handoff_pair {
	uint32_t from, to; /* thread heap ids (message heaps folded into their builder) */
	bool from_msg;
	uint64_t pages;
} handoff_pair;

/* A message heap's pages are attributed to the thread that built it. */
static uint32_t owner_thread(const rav_trace *t, uint32_t id, bool *was_msg)
{
	const rav_trace_thread *th = rav_trace_thread_by_id(t, id);
	*was_msg = th && th->kind == RAV_HEAP_MESSAGE;
	return *was_msg ? th->parent : id;
}

static const char *name_or_id(const rav_trace *t, uint32_t id, char *buf, size_t len)
{
	const char *n = thread_name(t, id);
	if (n)
		return n;
	snprintf(buf, len, "heap %u", id);
	return buf;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_BAD);
	}
	return p;
}

static void print_double(FILE *out, double v)
{
	fprintf(out, "%.4f", v);
}

static int cmd_stats(int argc, char **argv)
{
	cli_opts o;
	const char *path = parse_opts(argc, argv, stats_help, "json top line-size bins", &o);
	opened tr;
	open_trace(&tr, path, false);
	rav_trace *t = tr.t;

	unsigned nheaps = rav_trace_thread_count(t), nrows = 0;
	thread_row *rows = xcalloc(nheaps, sizeof *rows);
	for (unsigned i = 0; i < nheaps; i++) {
		const rav_trace_thread *th = rav_trace_thread_at(t, i);
		if (th->kind != RAV_HEAP_MESSAGE)
			rows[nrows++].id = th->heap_id;
	}

	/* One pass over every event. */
	uint64_t per_kind[RAV_EV_KIND_COUNT + 1] = {0}, total = 0;
	size_t npairs = 0, cap_pairs = 8;
	handoff_pair *pairs = xcalloc(cap_pairs, sizeof *pairs);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		total++;
		per_kind[ev.kind < RAV_EV_KIND_COUNT ? ev.kind : RAV_EV_KIND_COUNT]++;
		thread_row *row = NULL;
		for (unsigned r = 0; r < nrows; r++)
			if (rows[r].id == ev.thread)
				row = &rows[r];
		if (row) {
			row->events++;
			row->allocs += ev.kind == RAV_EV_ALLOC;
			row->frees += ev.kind == RAV_EV_FREE;
			row->moves += ev.kind == RAV_EV_MOVE;
			row->fixups += ev.kind == RAV_EV_FIXUP;
		}
		if (ev.kind == RAV_EV_PAGE_HANDOFF) {
			bool from_msg, to_msg;
			uint32_t from = owner_thread(t, (uint32_t)ev.b, &from_msg);
			uint32_t to = owner_thread(t, ev.x, &to_msg);
			size_t p = 0;
			while (p < npairs &&
			       !(pairs[p].from == from && pairs[p].to == to && pairs[p].from_msg == from_msg))
				p++;
			if (p == npairs) {
				if (npairs == cap_pairs) {
					cap_pairs *= 2;
					handoff_pair *np = realloc(pairs, cap_pairs * sizeof *pairs);
					if (!np) {
						fprintf(stderr, "%s: out of memory\n", prog);
						exit(EXIT_BAD);
					}
					pairs = np;
				}
				pairs[npairs++] = (handoff_pair){from, to, from_msg, 0};
			}
			pairs[p].pages++;
		}
	}

	for (unsigned r = 0; r < nrows; r++) {
		rows[r].series = xcalloc(o.bins, sizeof(double));
		if (total &&
		    rav_trace_series(t, RAV_SERIES_PAGES, rows[r].id, 0, 0, (unsigned)o.bins, rows[r].series))
			for (unsigned b = 0; b < o.bins; b++)
				if (rows[r].series[b] > (double)rows[r].pages_max)
					rows[r].pages_max = (uint64_t)rows[r].series[b];
	}

	rav_contention_config cc = {.line_size = (uint32_t)o.line_size, .windows = 64};
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_contention *con = rav_contention_run(t, &cc, NULL, NULL, &err);
	if (!con)
		trace_error(path, &err);
	rav_contention_totals ct;
	rav_contention_get_totals(con, &ct);
	unsigned nlines = rav_contention_line_count(con);
	unsigned top = o.top < nlines ? (unsigned)o.top : nlines;

	uint64_t frees = per_kind[RAV_EV_FREE], moves = per_kind[RAV_EV_MOVE],
	         fixups = per_kind[RAV_EV_FIXUP];
	double mpf = frees ? (double)moves / (double)frees : 0.0,
	       fpf = frees ? (double)fixups / (double)frees : 0.0;
	uint64_t handoffs = per_kind[RAV_EV_PAGE_HANDOFF];
	char b1[48], b2[48];

	if (o.json) {
		FILE *out = stdout;
		fprintf(out, "{\n  \"events\": %" PRIu64 ",\n  \"kinds\": {", total);
		bool first = true;
		for (unsigned k = 0; k <= RAV_EV_KIND_COUNT; k++) {
			if (!per_kind[k])
				continue;
			fprintf(out, "%s\n    ", first ? "" : ",");
			json_string(out, k < RAV_EV_KIND_COUNT ? kind_name(k) : "unknown");
			fprintf(out, ": %" PRIu64, per_kind[k]);
			first = false;
		}
		fprintf(out, "%s},\n", first ? "" : "\n  ");
		fprintf(out,
		        "  \"frees\": %" PRIu64 ",\n  \"moves\": %" PRIu64 ",\n  \"fixups\": %" PRIu64 ",\n",
		        frees, moves, fixups);
		fprintf(out, "  \"moves_per_free\": ");
		print_double(out, mpf);
		fprintf(out, ",\n  \"fixups_per_free\": ");
		print_double(out, fpf);
		fprintf(out, ",\n  \"threads\": [");
		for (unsigned r = 0; r < nrows; r++) {
			fprintf(out, "%s\n    {\"id\": %u, \"name\": ", r ? "," : "", rows[r].id);
			json_string(out, thread_name(t, rows[r].id));
			fprintf(out,
			        ", \"events\": %" PRIu64 ", \"allocs\": %" PRIu64 ", \"frees\": %" PRIu64
			        ", \"moves\": %" PRIu64 ", \"fixups\": %" PRIu64 ", \"pages_max\": %" PRIu64
			        ", \"pages_over_time\": [",
			        rows[r].events, rows[r].allocs, rows[r].frees, rows[r].moves, rows[r].fixups,
			        rows[r].pages_max);
			for (unsigned b = 0; b < o.bins; b++)
				fprintf(out, "%s%.0f", b ? ", " : "", rows[r].series[b]);
			fprintf(out, "]}");
		}
		fprintf(out, "%s],\n  \"handoffs\": {\"pages\": %" PRIu64 ", \"pairs\": [",
		        nrows ? "\n  " : "", handoffs);
		for (size_t p = 0; p < npairs; p++) {
			fprintf(out, "%s\n    {\"from\": ", p ? "," : "");
			json_string(out, name_or_id(t, pairs[p].from, b1, sizeof b1));
			fprintf(out, ", \"via_message\": %s, \"to\": ", pairs[p].from_msg ? "true" : "false");
			json_string(out, name_or_id(t, pairs[p].to, b2, sizeof b2));
			fprintf(out, ", \"pages\": %" PRIu64 "}", pairs[p].pages);
		}
		fprintf(out, "%s]},\n", npairs ? "\n  " : "");
		fprintf(out,
		        "  \"contention\": {\n    \"line_size\": %" PRIu64 ",\n    \"accesses\": %" PRIu64
		        ",\n    \"transfers\": %" PRIu64 ",\n    \"invalidations\": %" PRIu64
		        ",\n    \"lines_touched\": %" PRIu64 ",\n    \"lines_contended\": %" PRIu64
		        ",\n    \"hottest\": [",
		        o.line_size, ct.accesses, ct.transfers, ct.invalidations, ct.lines_touched,
		        ct.lines_contended);
		for (unsigned i = 0; i < top; i++) {
			const rav_contention_line *l = rav_contention_line_at(con, i);
			fprintf(out, "%s\n      {\"line\": %" PRIu64 ", \"external\": %s, \"first_cell\": ",
			        i ? "," : "", l->line, l->external ? "true" : "false");
			if (l->external)
				fputs("null", out);
			else
				json_string(out, loc_text(b1, sizeof b1, l->first_cell, false));
			fprintf(out,
			        ", \"transfers\": %" PRIu64 ", \"invalidations\": %" PRIu64
			        ", \"reads\": %" PRIu64 ", \"writes\": %" PRIu64 ", \"threads\": [",
			        l->transfers, l->invalidations, l->reads, l->writes);
			bool f1 = true;
			for (unsigned b = 0; b < 64 && b < nheaps; b++) {
				if (!(l->thread_mask & ((uint64_t)1 << b)))
					continue;
				const rav_trace_thread *th = rav_trace_thread_at(t, b);
				fputs(f1 ? "" : ", ", out);
				json_string(out, name_or_id(t, th->heap_id, b2, sizeof b2));
				f1 = false;
			}
			fprintf(out, "]}");
		}
		fprintf(out, "%s]\n  }\n}\n", top ? "\n    " : "");
	} else {
		printf("%s: %" PRIu64 " events\n\nevents per kind\n", path, total);
		for (unsigned k = 0; k <= RAV_EV_KIND_COUNT; k++)
			if (per_kind[k])
				printf("  %-16s %12" PRIu64 "\n",
				       k < RAV_EV_KIND_COUNT ? kind_name(k) : "unknown", per_kind[k]);
		printf("\nfrees %" PRIu64 ": %.2f moves and %.2f fix-ups per free\n", frees, mpf, fpf);
		printf("\nthreads\n  %-5s %-16s %10s %10s %10s %10s %10s  %s\n", "heap", "name", "events",
		       "allocs", "frees", "moves", "fix-ups", "pages over time (max)");
		for (unsigned r = 0; r < nrows; r++) {
			printf("  %-5u %-16.16s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64
			       " %10" PRIu64 "  ",
			       rows[r].id, name_or_id(t, rows[r].id, b1, sizeof b1), rows[r].events,
			       rows[r].allocs, rows[r].frees, rows[r].moves, rows[r].fixups);
			for (unsigned b = 0; b < o.bins; b++)
				printf("%s%.0f", b ? " " : "", rows[r].series[b]);
			printf(" (%" PRIu64 ")\n", rows[r].pages_max);
		}
		printf("\npage hand-offs: %" PRIu64 "\n", handoffs);
		for (size_t p = 0; p < npairs; p++)
			printf("  %s%-16s -> %-16s %10" PRIu64 " pages\n",
			       pairs[p].from_msg ? "messages of " : "",
			       name_or_id(t, pairs[p].from, b1, sizeof b1),
			       name_or_id(t, pairs[p].to, b2, sizeof b2), pairs[p].pages);
		printf("\ncontention (%" PRIu64 "-byte lines): %" PRIu64 " accesses, %" PRIu64
		       " transfers, %" PRIu64 " invalidations; %" PRIu64 " of %" PRIu64 " lines contended\n",
		       o.line_size, ct.accesses, ct.transfers, ct.invalidations, ct.lines_contended,
		       ct.lines_touched);
		if (!ct.accesses)
			printf("  (no memory accesses recorded: record with RAVIOLI_TRACE_ACCESS=1)\n");
		if (top) {
			printf("  %-20s %-10s %10s %10s %10s %10s  %s\n", "line", "first cell", "transfers",
			       "inval.", "reads", "writes", "threads");
			for (unsigned i = 0; i < top; i++) {
				const rav_contention_line *l = rav_contention_line_at(con, i);
				char where[48];
				if (l->external)
					snprintf(where, sizeof where, "0x%" PRIx64, l->line * o.line_size);
				else
					snprintf(where, sizeof where, "%" PRIu64, l->line);
				printf(
				    "  %-20s %-10s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu64 "  ",
				    where,
				    l->external ? "(malloc)" : loc_text(b1, sizeof b1, l->first_cell, false),
				    l->transfers, l->invalidations, l->reads, l->writes);
				bool f1 = true;
				for (unsigned b = 0; b < 64 && b < nheaps; b++)
					if (l->thread_mask & ((uint64_t)1 << b)) {
						const rav_trace_thread *th = rav_trace_thread_at(t, b);
						printf("%s%s", f1 ? "" : ",",
						       name_or_id(t, th->heap_id, b2, sizeof b2));
						f1 = false;
					}
				putchar('\n');
			}
		}
	}
	int rc = finish_output(stdout, "the output");
	for (unsigned r = 0; r < nrows; r++)
		free(rows[r].series);
	free(rows);
	free(pairs);
	rav_contention_free(con);
	rav_trace_close(t);
	return rc;
}

/* ---- validate ---------------------------------------------------------------- */

static void invalid(const char *path, const rav_trace_error *err) __attribute__((noreturn));
static void invalid(const char *path, const rav_trace_error *err)
{
	printf("INVALID: %s: %s", path, err->message[0] ? err->message : "unreadable trace");
	if (err->chunk >= 0)
		printf(" (at byte offset %" PRIu64 ", chunk %" PRId64 ")\n", err->offset, err->chunk);
	else if (err->code != RAV_TRACE_EREPLAY || err->offset)
		printf(" (at byte offset %" PRIu64 ")\n", err->offset);
	else
		putchar('\n'); /* a replay error names its event, not a place in the file */
	fflush(stdout);
	exit(EXIT_BAD);
}

static int cmd_validate(int argc, char **argv)
{
	cli_opts o;
	const char *path = parse_opts(argc, argv, validate_help, "", &o);
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_trace *t = rav_trace_open(path, &err);
	if (!t)
		invalid(path, &err);
	bool truncated_index = false;
	if (rav_trace_index(t, NULL, NULL, &err) != 0) {
		if (err.code != RAV_TRACE_ETRUNCATED)
			invalid(path, &err);
		truncated_index = true;
	}
	rav_trace_info info;
	rav_trace_get_info(t, &info);

	/* Decoding is done; replaying to the end checks that the events agree
	 * with the heap model (every move into a hole, every fix-up of a slot
	 * that named the moved cell, ...). */
	rav_state *s = rav_state_new(t);
	if (!s) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_BAD;
	}
	rav_trace_error replay_err;
	memset(&replay_err, 0, sizeof replay_err);
	bool replay_ok = rav_state_seek(s, info.events, &replay_err) == 0;
	rav_state_free(s);

	/* Truncation is reported first: it explains a replay failure of the
	 * recovered part (a thread's last chunk may be missing). */
	if (info.truncated || truncated_index) {
		printf("INVALID: %s: truncated: the file ends at byte offset %" PRIu64
		       ", inside chunk %" PRIu64 "; the first %" PRIu64 " bytes (%" PRIu64 " chunks, %" PRIu64
		       " events) are readable",
		       path, info.file_size, info.chunks, info.recovered_bytes, info.chunks, info.events);
		if (replay_ok)
			printf(" and replay consistently\n");
		else
			printf(", but replaying them fails: %s\n", replay_err.message);
		rav_trace_close(t);
		fflush(stdout);
		return EXIT_BAD;
	}
	if (!replay_ok)
		invalid(path, &replay_err);
	printf("OK: %s: format %u.%u, %" PRIu64 " chunks, %" PRIu64 " events, %u heaps, replay consistent\n",
	       path, info.version_major, info.version_minor, info.chunks, info.events,
	       rav_trace_thread_count(t));
	rav_trace_close(t);
	return finish_output(stdout, "the output");
}

/* ---- export -------------------------------------------------------------------- */

static void chrome_common(FILE *out, const char *ph, const char *name, uint64_t time_ns, uint32_t tid)
{
	fprintf(out, ",\n{\"ph\":\"%s\",\"name\":", ph);
	json_string(out, name);
	fprintf(out, ",\"pid\":1,\"tid\":%u,\"ts\":%" PRIu64 ".%03u", tid, time_ns / 1000,
	        (unsigned)(time_ns % 1000));
}

/* The SQLite export lives in export-sqlite.c (it needs libsqlite3). */
static int export_sqlite_command(const char *path, const cli_opts *o)
{
	if (o->counters_given)
		usage_error("--counters applies to --format=chrome only");
	if (!o->output || strcmp(o->output, "-") == 0)
		usage_error("--format=sqlite needs -o OUT.db (a database cannot go to standard output)");
#if RAV_HAVE_SQLITE
	export_sqlite_options so = {.kinds = o->kinds,
	                            .line_size = (uint32_t)o->line_size,
	                            .progress = true,
	                            .prog = prog,
	                            .version = RAV_VERSION};
	opened tr;
	open_trace_progress(&tr, path, false, export_sqlite_index_progress, &so);
	int rc = export_sqlite(tr.t, o->output, &so);
	rav_trace_close(tr.t);
	return rc == 0 ? EXIT_OK : EXIT_BAD;
#else
	(void)path;
	fprintf(stderr, "%s export: this ravtrace was built without SQLite (libsqlite3-dev was missing)\n",
	        prog);
	return EXIT_BAD;
#endif
}

static int cmd_export(int argc, char **argv)
{
	cli_opts o;
	const char *path = parse_opts(argc, argv, export_help, "format output kind counters line-size", &o);
	if (!o.format)
		usage_error("--format is required (--format=chrome or --format=sqlite)");
	if (strcmp(o.format, "sqlite") == 0)
		return export_sqlite_command(path, &o);
	if (strcmp(o.format, "chrome") != 0)
		usage_error("unknown format '%s' (the formats are: chrome, sqlite)", o.format);
	if (o.line_size_given)
		usage_error("--line-size applies to --format=sqlite only");
	opened tr;
	open_trace(&tr, path, false);
	rav_trace *t = tr.t;

	FILE *out = stdout;
	if (o.output && strcmp(o.output, "-") != 0) {
		out = fopen(o.output, "w");
		if (!out) {
			fprintf(stderr, "%s export: cannot create %s: %s\n", prog, o.output, strerror(errno));
			rav_trace_close(t);
			return EXIT_BAD;
		}
	}
	uint64_t kinds = o.kinds ? o.kinds : ~(((uint64_t)1 << RAV_EV_ACCESS) | ((uint64_t)1 << RAV_EV_TIME));

	fputs("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"program\":", out);
	json_string(out, tr.info.program);
	fputs("},\"traceEvents\":[\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"args\":{\"name\":",
	      out);
	char pname[300];
	snprintf(pname, sizeof pname, "ravioli: %s",
	         tr.info.program[0] ? tr.info.program : "recorded program");
	json_string(out, pname);
	fputs("}}", out);
	unsigned nheaps = rav_trace_thread_count(t);
	for (unsigned i = 0; i < nheaps; i++) {
		const rav_trace_thread *th = rav_trace_thread_at(t, i);
		if (th->kind == RAV_HEAP_MESSAGE)
			continue;
		char buf[48];
		fprintf(out,
		        ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":",
		        th->heap_id);
		json_string(out, name_or_id(t, th->heap_id, buf, sizeof buf));
		fputs("}}", out);
	}

	/* Instant events, and slices for compactions and collections. */
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
				fprintf(out, ",\"args\":{\"reason\":\"%s\"}", compact_reason(ev.aux));
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
		const char *name = kind_name(ev.kind);
		char label[96];
		if (ev.kind == RAV_EV_MARK && ev.text) {
			snprintf(label, sizeof label, "mark: %s", ev.text);
			name = label;
		}
		chrome_common(out, "i", name, ev.time_ns, ev.thread);
		fprintf(out, ",\"s\":\"%s\",\"cat\":", ev.kind == RAV_EV_MARK ? "p" : "t");
		json_string(out, kind_name(ev.kind));
		fprintf(out, ",\"args\":{\"event\":%" PRIu64 ",\"detail\":", ev.index);
		char *detail = NULL;
		size_t dlen = 0;
		FILE *mem = open_memstream(&detail, &dlen);
		if (mem) {
			format_args(mem, t, &ev);
			fclose(mem);
		}
		json_string(out, detail);
		free(detail);
		fputs("}}", out);
	}

	/* Counters: live cells and pages per thread, sampled at even steps of
	 * the event index, stamped with the time of the sample's last event. */
	uint64_t events = rav_trace_indexed_events(t);
	unsigned bins = (unsigned)(o.counters < events ? o.counters : events);
	if (bins) {
		double *live = xcalloc(bins, sizeof(double)), *pages = xcalloc(bins, sizeof(double));
		for (unsigned i = 0; i < nheaps; i++) {
			const rav_trace_thread *th = rav_trace_thread_at(t, i);
			if (th->kind == RAV_HEAP_MESSAGE)
				continue;
			if (!rav_trace_series(t, RAV_SERIES_LIVE_CELLS, th->heap_id, 0, 0, bins, live) ||
			    !rav_trace_series(t, RAV_SERIES_PAGES, th->heap_id, 0, 0, bins, pages))
				continue;
			bool any = false;
			for (unsigned b = 0; b < bins; b++)
				any |= live[b] != 0 || pages[b] != 0;
			if (!any)
				continue; /* a thread that never owned a page (main, chatty threads) */
			char cname[96], buf[48];
			snprintf(cname, sizeof cname, "heap of %s",
			         name_or_id(t, th->heap_id, buf, sizeof buf));
			for (unsigned b = 0; b < bins; b++) {
				uint64_t last = (events * (b + 1)) / bins - 1;
				rav_event at;
				if (!rav_trace_event_at(t, last, &at))
					continue;
				chrome_common(out, "C", cname, at.time_ns, th->heap_id);
				fprintf(out, ",\"args\":{\"live cells\":%.0f,\"pages\":%.0f}}", live[b],
				        pages[b]);
			}
		}
		free(live);
		free(pages);
	}
	fputs("\n]}\n", out);
	int rc = finish_output(out, o.output ? o.output : "the output");
	if (out != stdout && fclose(out) != 0 && rc == EXIT_OK) {
		fprintf(stderr, "%s export: cannot write %s: %s\n", prog, o.output, strerror(errno));
		rc = EXIT_BAD;
	}
	rav_trace_close(t);
	return rc;
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"info", cmd_info},         {"dump", cmd_dump},     {"stats", cmd_stats},
	    {"validate", cmd_validate}, {"export", cmd_export},
	};
	if (argc < 2)
		usage_error("no command given (info, dump, stats, validate, export)");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		if (strcmp(cmd, "help") == 0 && argc > 2) {
			char *args[] = {argv[2], (char *)"--help", NULL};
			for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
				if (strcmp(argv[2], cmds[i].name) == 0) {
					subcmd = cmds[i].name;
					return cmds[i].fn(2, args);
				}
			usage_error("no command named '%s'", argv[2]);
		}
		fputs(main_help, stdout);
		return finish_output(stdout, "the help");
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("ravtrace %s\n", RAV_VERSION);
		return finish_output(stdout, "the version");
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			subcmd = cmds[i].name;
			return cmds[i].fn(argc - 1, argv + 1);
		}
	usage_error("unknown command '%s' (the commands are info, dump, stats, validate, export)", cmd);
}
