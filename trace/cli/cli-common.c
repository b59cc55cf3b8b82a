/* cli-common.c - what every ravtrace subcommand needs: error reporting
 * with the tool's exit codes, option parsing, opening a trace (a file, or a
 * stream from standard input or a pipe), and saying when the figures come
 * from an inconsistent trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_prog = "ravtrace";
const char *cli_subcmd = NULL;

void cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s%s%s: ", cli_prog, cli_subcmd ? " " : "", cli_subcmd ? cli_subcmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s%s%s --help' for more information.\n", cli_prog, cli_subcmd ? " " : "",
	        cli_subcmd ? cli_subcmd : "");
	exit(EXIT_USAGE);
}

void cli_getopt_error(int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	if (c == ':')
		cli_usage_error("option '%s' needs a value", arg);
	if (optopt && strncmp(arg, "--", 2) != 0)
		cli_usage_error("unknown option '-%c'", optopt);
	cli_usage_error("unknown option '%s'", arg);
}

void cli_trace_error(const char *path, const rav_trace_error *err)
{
	/* "ravtrace info: cannot open x.ravtrace: No such file or directory":
	 * the command, and the file unless the reason names it already */
	const char *msg = err->message[0] ? err->message : "unreadable trace";
	fprintf(stderr, "%s%s%s: ", cli_prog, cli_subcmd ? " " : "", cli_subcmd ? cli_subcmd : "");
	if (!strstr(msg, path))
		fprintf(stderr, "%s: ", path);
	fputs(msg, stderr);
	if (err->chunk >= 0)
		fprintf(stderr, " (chunk %" PRId64 ", offset %" PRIu64 ")", err->chunk, err->offset);
	else if (err->offset)
		fprintf(stderr, " (offset %" PRIu64 ")", err->offset);
	fputc('\n', stderr);
	exit(EXIT_BAD);
}

int cli_finish_output(FILE *out, const char *what)
{
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "%s: cannot write %s: %s\n", cli_prog, what, strerror(errno));
		return EXIT_BAD;
	}
	return EXIT_OK;
}

static uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	if (!s || !*s || *s == '-')
		cli_usage_error("%s needs a whole number, not '%s'", opt, s ? s : "");
	unsigned long long v = strtoull(s, &end, 0);
	if (*end || errno)
		cli_usage_error("%s needs a whole number, not '%s'", opt, s);
	return v;
}

/* "500M", "2G", "1048576", "unlimited" (UINT64_MAX): K, M, G, T are powers
 * of 1024, an optional "B" or "iB" after them. */
static uint64_t parse_size(const char *opt, const char *s)
{
	if (strcmp(s, "unlimited") == 0)
		return UINT64_MAX;
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		cli_usage_error("%s needs a size (500M, 2G, unlimited), not '%s'", opt, s);
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (shift && end[0] == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || errno || end == s || v > (UINT64_MAX >> shift) || v == 0)
		cli_usage_error("%s needs a size (500M, 2G, unlimited), not '%s'", opt, s);
	return (uint64_t)v << shift;
}

static void warn_truncated(const cli_trace *o)
{
	if (o->fd >= 0)
		fprintf(stderr,
		        "%s: warning: the stream from %s ended before the recording finished (the "
		        "program stopped early?): using the %" PRIu64 " bytes received\n",
		        cli_prog, o->name, o->info.recovered_bytes);
	else
		fprintf(stderr,
		        "%s: warning: %s is truncated (the recording program stopped early?): using the "
		        "first %" PRIu64 " of %" PRIu64 " bytes\n",
		        cli_prog, o->name, o->info.recovered_bytes, o->info.file_size);
}

static void open_trace(cli_trace *o, const char *path, const cli_opts *opts, bool quiet_truncation,
                       bool incremental, rav_trace_progress progress, void *user)
{
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	memset(o, 0, sizeof *o);
	o->path = path;
	o->name = path;
	o->fd = -1;
	bool stdin_stream = strcmp(path, "-") == 0;
	if (stdin_stream || opts->follow) {
		if (stdin_stream) {
			o->fd = STDIN_FILENO;
			o->name = "standard input";
		} else {
			/* O_NONBLOCK: a FIFO opens at once; the reader waits for
			 * its writer's header with poll */
			o->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
			if (o->fd < 0) {
				fprintf(stderr, "%s: cannot open %s: %s\n", cli_prog, path, strerror(errno));
				exit(EXIT_BAD);
			}
		}
		o->t = rav_trace_open_fd(o->fd, &err);
		if (!o->t)
			cli_trace_error(o->name, &err);
		if (!incremental)
			while (cli_stream_more(o))
				;
	} else {
		o->t = rav_trace_open(path, &err);
		if (!o->t)
			cli_trace_error(path, &err);
		if (rav_trace_index(o->t, progress, user, &err) != 0 && err.code != RAV_TRACE_ETRUNCATED)
			cli_trace_error(path, &err);
	}
	rav_trace_get_info(o->t, &o->info);
	if (o->info.truncated && !quiet_truncation && (o->fd < 0 || !incremental))
		warn_truncated(o);
}

void cli_open_trace(cli_trace *o, const char *path, const cli_opts *opts, bool quiet_truncation,
                    bool incremental)
{
	open_trace(o, path, opts, quiet_truncation, incremental, NULL, NULL);
}

void cli_open_trace_progress(cli_trace *o, const char *path, const cli_opts *opts, bool quiet_truncation,
                             rav_trace_progress progress, void *user)
{
	open_trace(o, path, opts, quiet_truncation, false, progress, user);
}

bool cli_stream_more(cli_trace *o)
{
	if (o->fd < 0)
		return false;
	rav_trace_error err;
	for (;;) {
		int64_t n = rav_trace_poll(o->t, &err);
		if (n < 0)
			cli_trace_error(o->name, &err);
		if (n > 0)
			return true;
		if (rav_trace_stream_ended(o->t)) {
			rav_trace_get_info(o->t, &o->info);
			return false;
		}
		/* nothing new: wait for the writer (a FIFO with no writer yet
		 * waits here until one opens it) */
		struct pollfd pf = {.fd = o->fd, .events = POLLIN};
		if (poll(&pf, 1, -1) < 0 && errno != EINTR) {
			fprintf(stderr, "%s: reading %s: %s\n", cli_prog, o->name, strerror(errno));
			exit(EXIT_BAD);
		}
	}
}

bool cli_inconsistent(const cli_trace *o, rav_trace_error *err)
{
	return !rav_trace_consistent(o->t, err);
}

int cli_close_trace(cli_trace *o, int rc)
{
	rav_trace_error err;
	if (o->t && cli_inconsistent(o, &err)) {
		fprintf(stderr,
		        "%s%s%s: %s: the trace is inconsistent, so what was shown is partial or wrong past "
		        "the problem: %s\n",
		        cli_prog, cli_subcmd ? " " : "", cli_subcmd ? cli_subcmd : "", o->name, err.message);
		rc = EXIT_BAD;
	}
	rav_trace_close(o->t);
	o->t = NULL;
	if (o->fd > STDIN_FILENO)
		close(o->fd);
	o->fd = -1;
	return rc;
}

void *cli_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", cli_prog);
		exit(EXIT_BAD);
	}
	return p;
}

static uint64_t parse_kinds(const char *list)
{
	uint64_t mask = 0;
	char *copy = strdup(list);
	if (!copy) {
		fprintf(stderr, "%s: out of memory\n", cli_prog);
		exit(EXIT_BAD);
	}
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = rav_event_kind_from_name(tok);
		size_t len = strlen(tok);
		if ((k < 0 || k >= 64) && len > 1 && (tok[len - 1] == 's' || tok[len - 1] == 'S')) {
			/* "moves": the kinds are singular */
			tok[len - 1] = 0;
			int one = rav_event_kind_from_name(tok);
			if (one >= 0 && one < 64)
				cli_usage_error("unknown event kind '%ss' (did you mean '%s'? see 'ravtrace dump "
				                "--list-kinds')",
				                tok, rav_event_kind_name((unsigned)one));
			tok[len - 1] = 's';
		}
		if (k < 0 || k >= 64)
			cli_usage_error("unknown event kind '%s' (see 'ravtrace dump --list-kinds')",
			                tok); /* exits */
		mask |= (uint64_t)1 << k;
	}
	free(copy);
	if (!mask)
		cli_usage_error("--kind needs at least one kind name");
	return mask;
}

static rav_loc parse_cell(const char *s)
{
	char *end;
	errno = 0;
	unsigned long page = strtoul(s, &end, 10);
	if (end == s || (*end != '.' && *end != ':') || errno) /* ravscope --select writes PAGE:CELL */
		cli_usage_error("--cell needs PAGE.CELL (e.g. 3.17), not '%s'", s);
	const char *c = end + 1;
	unsigned long cell = strtoul(c, &end, 10);
	if (end != c && *end == '.' && !errno) {
		/* a word, as dump writes slots (slot=16.1.2): its cell */
		char *w;
		unsigned long word = strtoul(end + 1, &w, 10);
		if (w != end + 1 && !*w && word < 4)
			cli_usage_error("--cell takes a cell, PAGE.CELL: '%s' is word %lu of cell %lu.%lu "
			                "(--cell=%lu.%lu)",
			                s, word, page, cell, page, cell);
	}
	if (end == c || *end || errno || page > UINT32_MAX || cell > 0x3fff)
		cli_usage_error("--cell needs PAGE.CELL (e.g. 3.17), not '%s'", s);
	if (page == 0 && cell == 0)
		cli_usage_error("--cell 0.0 names no cell (page 0, header): pick a real cell");
	return rav_loc_make((uint32_t)page, (uint32_t)cell, 0);
}

/* getopt_long over a subcommand's arguments; returns the FILE operand. */
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
	OPT_COUNTERS,
	OPT_SITES,
	OPT_STACKS,
	OPT_BY,
	OPT_OBJECT_PATH,
	OPT_NO_SYMBOLS,
	OPT_SITE,
	OPT_GROUP,
	OPT_OPS,
	OPT_EXPLAIN,
	OPT_FOLLOW,
	OPT_MAX_SIZE,
	OPT_PAIRS,
	OPT_THREADS,
	OPT_TYPES
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

const char *cli_parse_opts(int argc, char **argv, const char *help, const char *allowed, cli_opts *o)
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
	    {"sites", no_argument, NULL, OPT_SITES},
	    {"stacks", no_argument, NULL, OPT_STACKS},
	    {"by", required_argument, NULL, OPT_BY},
	    {"object-path", required_argument, NULL, OPT_OBJECT_PATH},
	    {"no-symbols", no_argument, NULL, OPT_NO_SYMBOLS},
	    {"site", required_argument, NULL, OPT_SITE},
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"ops", no_argument, NULL, OPT_OPS},
	    {"explain", no_argument, NULL, OPT_EXPLAIN},
	    {"follow", no_argument, NULL, OPT_FOLLOW},
	    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
	    {"pairs", required_argument, NULL, OPT_PAIRS},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"types", required_argument, NULL, OPT_TYPES},
	    {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof *o);
	o->thread = -1;
	o->top = 10;
	o->pairs = 20;
	o->threads = 20;
	o->types = 100;
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
		if (c != 'h' && c != '?' && c != ':' && c != OPT_FOLLOW && name && !word_in(allowed, name))
			/* -o as typed, not only its long name: "-o/--output" */
			cli_usage_error("%s--%s does not apply to this command", c == 'o' ? "-o/" : "", name);
		switch (c) {
		case 'h':
			fputs(help, stdout);
			exit(cli_finish_output(stdout, "the help"));
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_KIND:
			o->kinds = parse_kinds(optarg);
			break;
		case OPT_THREAD: {
			uint64_t v = parse_u64("--thread", optarg);
			if (v > UINT32_MAX)
				cli_usage_error("--thread: no heap has id %" PRIu64, v);
			o->thread = (int64_t)v;
			break;
		}
		case OPT_FROM:
			o->from = parse_u64("--from", optarg);
			break;
		case OPT_TO:
			o->to = parse_u64("--to", optarg);
			if (o->to == 0)
				cli_usage_error("--to=0 selects nothing (the range is [from, to))");
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
		case OPT_FOLLOW:
			o->follow = true;
			break;
		case OPT_MAX_SIZE:
			o->max_size = parse_size("--max-size", optarg);
			break;
		case OPT_TOP:
			o->top = parse_u64("--top", optarg);
			break;
		case OPT_PAIRS:
			o->pairs = parse_u64("--pairs", optarg);
			o->pairs_given = true;
			break;
		case OPT_THREADS:
			o->threads = parse_u64("--threads", optarg);
			o->threads_given = true;
			break;
		case OPT_TYPES:
			o->types = parse_u64("--types", optarg);
			break;
		case OPT_LINE:
			o->line_size = parse_u64("--line-size", optarg);
			o->line_size_given = true;
			if (o->line_size < 8 || o->line_size > 4096 || (o->line_size & (o->line_size - 1)))
				cli_usage_error(
				    "--line-size must be a power of two from 8 to 4096, not %" PRIu64,
				    o->line_size);
			break;
		case OPT_BINS:
			o->bins = parse_u64("--bins", optarg);
			if (o->bins < 1 || o->bins > 1000)
				cli_usage_error("--bins must be from 1 to 1000");
			break;
		case OPT_COUNTERS:
			o->counters = parse_u64("--counters", optarg);
			o->counters_given = true;
			if (o->counters > 100000)
				cli_usage_error("--counters must be at most 100000");
			break;
		case OPT_FORMAT:
			o->format = optarg;
			break;
		case OPT_SITES:
			o->sites = true;
			break;
		case OPT_STACKS:
			o->stacks = true;
			break;
		case OPT_NO_SYMBOLS:
			o->no_symbols = true;
			break;
		case OPT_OBJECT_PATH:
			o->object_path = optarg;
			break;
		case OPT_SITE:
			if (!*optarg)
				cli_usage_error("--site needs FUNCTION, FILE or FILE:LINE");
			o->site_spec = optarg;
			break;
		case OPT_GROUP:
			if (strcmp(optarg, "line") == 0)
				o->group = 0;
			else if (strcmp(optarg, "call") == 0)
				o->group = 1;
			else if (strcmp(optarg, "stack") == 0)
				o->group = 2;
			else
				cli_usage_error("--group must be line, call or stack, not '%s'", optarg);
			break;
		case OPT_BY: {
			static const char *const names[] = {"allocs",   "frees",     "moves", "fixups",
			                                    "handoffs", "transfers", "events"};
			o->by = -1;
			for (int i = 0; i < 7; i++)
				if (strcmp(optarg, names[i]) == 0)
					o->by = i;
			if (o->by < 0)
				cli_usage_error("--by must be allocs, frees, moves, fixups, handoffs, transfers or "
				                "events, not '%s'",
				                optarg);
			break;
		}
		case OPT_OPS:
			o->ops = true;
			break;
		case OPT_EXPLAIN:
			o->explain = true;
			break;
		case 'o':
			o->output = optarg;
			break;
		case ':':
			cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			cli_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o->list_kinds)
		return NULL;
	if (optind >= argc)
		cli_usage_error("no trace file given");
	if (optind + 1 < argc)
		cli_usage_error("one trace file at a time (got '%s' and '%s')", argv[optind],
		                argv[optind + 1]);
	if (o->to && o->from >= o->to)
		cli_usage_error("--from=%" PRIu64 " is not before --to=%" PRIu64, o->from, o->to);
	return argv[optind];
}
