/* cli.h - what the `ravtrace` subcommands share: the command table entry,
 * errors and exit codes, option parsing, opening a trace, and the wording
 * of events, places and names.
 *
 * Files: ravtrace.c (main: the command table), cli-common.c (errors,
 * options, opening), cli-format.c (how events and places are written), and
 * one cmd-NAME.c per subcommand.  A new subcommand is a new cmd-NAME.c that
 * defines a cli_command, plus one line in the table in ravtrace.c (and its
 * file in meson.build).
 *
 * The tool is a thin client of libravtrace's public API (ravtrace.h; event
 * kind numbers and the cell layout from rav-record.h): what it prints is
 * what the viewer shows.  Output meant for machines (--json, export) is
 * deterministic for a given file: no paths, no clock readings of its own,
 * so golden tests can compare it byte for byte.
 */
#ifndef RAVTRACE_CLI_H
#define RAVTRACE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "rav-record.h"
#include "ravtrace.h"

/* Exit codes: 0 success, 1 the trace is invalid or could not be read (or
 * the output could not be written), 2 usage error. */
enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

typedef struct cli_command {
	const char *name;
	/* One line for `ravtrace --help` (continuation lines start with 12 spaces). */
	const char *summary;
	/* The full `ravtrace NAME --help` text. */
	const char *help;
	/* argv[0] is the command name; returns the exit code. */
	int (*run)(int argc, char **argv);
} cli_command;

/* ---- errors and output (cli-common.c) ---- */

extern const char *cli_prog;   /* "ravtrace" */
extern const char *cli_subcmd; /* the running subcommand, or NULL */

void cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* An unreadable trace: the message and its place on stderr, exit 1. */
void cli_trace_error(const char *path, const rav_trace_error *err) __attribute__((noreturn));
/* getopt_long returned '?' (an unknown option) or ':' (an option without
 * its value: optstring begun with ':', opterr 0): the usage error that
 * names the option, as cli_parse_opts says it. */
void cli_getopt_error(int c, char **argv) __attribute__((noreturn));
/* Flush `out` and report a failed write (full disk, closed pipe). */
int cli_finish_output(FILE *out, const char *what);
void *cli_xcalloc(size_t n, size_t size);

/* ---- options (cli-common.c) ---- */

typedef struct cli_opts {
	bool json, list_kinds, follow;
	bool ops, explain; /* dump: operations instead of events; a sentence per event */
	uint64_t kinds;
	int64_t thread;
	uint64_t from, to, limit;
	rav_loc cell;
	uint64_t top, line_size, bins, counters;
	uint64_t pairs; /* stats: hand-off pairs to list (0: all) */
	bool pairs_given;
	uint64_t threads; /* stats, info: thread rows to list, most events first (0: all) */
	bool threads_given;
	uint64_t types; /* info: types to list, in id order (0: all) */
	bool line_size_given, counters_given; /* set on the command line, not defaults */
	uint64_t max_size;                    /* --max-size in bytes (0: not given; UINT64_MAX: unlimited) */
	const char *format, *output;
	/* call sites */
	bool sites, stacks, no_symbols;
	int by;                   /* rav_site_order */
	int group;                /* rav_site_grouping (--group) */
	const char *object_path;  /* --object-path=DIRS */
	const char *site_spec;    /* --site=FUNCTION|FILE|FILE:LINE */
} cli_opts;

/* getopt_long over a subcommand's arguments with the options named in
 * `allowed` (space-separated long names; the others are refused as not
 * applying; --follow applies to every command); prints `help` for --help.
 * Returns the FILE operand (NULL with --list-kinds); "-" is standard
 * input. */
const char *cli_parse_opts(int argc, char **argv, const char *help, const char *allowed, cli_opts *o);

/* ---- opening (cli-common.c) ---- */

typedef struct cli_trace {
	rav_trace *t;
	rav_trace_info info;
	const char *path; /* as given ("-": standard input) */
	const char *name; /* for messages */
	int fd;           /* a stream's descriptor, -1 for a file */
} cli_trace;

/* Open and index a trace; a truncated one is used with a warning (validate
 * treats truncation as an error itself).  FILE "-" is standard input and,
 * with --follow, any path (a FIFO, a socket, /dev/stdin) is read as a
 * stream: it is read to its end unless `incremental` (then the caller
 * polls with cli_stream_more).  Exits on an unreadable trace. */
void cli_open_trace(cli_trace *o, const char *path, const cli_opts *opts, bool quiet_truncation,
                    bool incremental);
/* The same (read to its end), with `progress` (may be NULL) following the
 * indexing of a file. */
void cli_open_trace_progress(cli_trace *o, const char *path, const cli_opts *opts, bool quiet_truncation,
                             rav_trace_progress progress, void *user);
/* For a stream opened incrementally: wait for more of it and index it.
 * false once the stream has ended (everything is indexed then). */
bool cli_stream_more(cli_trace *o);
/* Is the trace inconsistent (an event that does not fit the replayed heap,
 * a chunk that does not decode)?  false if not, else fills *err. */
bool cli_inconsistent(const cli_trace *o, rav_trace_error *err);
/* The end of a command: say on standard error when its figures come from an
 * inconsistent trace (exit 1 then), close the trace, and return the exit
 * code (rc if consistent). */
int cli_close_trace(cli_trace *o, int rc);

/* ---- names and wording (cli-format.c) ---- */

/* Table entries by value (zeroed when out of range). */
rav_trace_thread cli_thread_at(const rav_trace *t, unsigned i);
rav_trace_type cli_type_at(const rav_trace *t, unsigned i);
/* A heap's name: its thread's name, "(process)" for heap 0, NULL if unnamed. */
const char *cli_thread_name(const rav_trace *t, uint32_t id, char *buf, size_t len);
/* The name, or "heap ID". */
const char *cli_name_or_id(const rav_trace *t, uint32_t id, char *buf, size_t len);
/* A message heap's pages are attributed to the thread that built it. */
uint32_t cli_owner_thread(const rav_trace *t, uint32_t id, bool *was_msg);
const char *cli_kind_name(unsigned k);
const char *cli_compact_reason(unsigned reason);
/* A JSON string: always valid JSON, bytes that are not UTF-8 as U+FFFD. */
void cli_json_string(FILE *out, const char *s);
/* Text for a line of human-readable output: control characters, bytes
 * that are not UTF-8 and backslashes escaped (\n, \xHH, \\), so that a
 * name can never fake a line or a column; cut to fit `len` bytes at a
 * character boundary.  Returns buf. */
const char *cli_text(char *buf, size_t len, const char *s);
/* Whether s is valid UTF-8 (what SQLite and most readers take TEXT to be). */
bool cli_utf8_valid(const char *s);
/* A copy of s (malloc'd; NULL when out of memory) with every byte that is
 * not part of a UTF-8 character replaced by U+FFFD, as cli_json_string
 * writes it. */
char *cli_utf8_repaired(const char *s);
/* How many bytes of s to keep to cut it to at most max without splitting
 * a UTF-8 character (after snprintf cut it at a byte). */
size_t cli_utf8_prefix(const char *s, size_t max);
/* "page.cell" or "page.cell.word", "-" for none, "ext:0xADDR" outside the pool. */
const char *cli_loc_text(char *buf, size_t len, rav_loc l, bool with_word);
/* The arguments of one event, spelled out by kind (see rav-record.h). */
void cli_format_args(FILE *out, const rav_trace *t, const rav_event *ev);

/* ---- call sites (cli-sites.c) ---- */

/* Apply --object-path to an open trace. */
void cli_sites_setup(rav_trace *t, const cli_opts *o);
/* A site's call in words: "list_push (list.c:42)" (full_path: the whole
 * path), "list_push+0x1c in /bin/prog", "/bin/prog+0x1234", "-" for site 0;
 * with no_symbols always object+offset. */
const char *cli_site_text(rav_trace *t, uint32_t site, bool full_path, bool no_symbols, char *buf, size_t len);
/* A site as a JSON object: its id, call (object, offset, status and, when
 * resolved, function, file, line) and with `frames` every symbol. */
void cli_json_site(FILE *out, rav_trace *t, uint32_t site, bool frames, bool no_symbols);
/* Why some frames could not be resolved, once per reason, on stderr. */
void cli_sites_notes(rav_trace *t, const uint32_t *sites, size_t n);
/* `stats --sites`: the call sites ranked. */
int cli_stats_sites(cli_trace *tr, const cli_opts *o);

/* MurmurHash3's 64-bit finaliser, for the commands' open-addressing tables
 * keyed by ids the file chose (trace/hash.h's ravt_mix; the CLI includes
 * only the public headers). */
static inline uint64_t cli_mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

#endif /* RAVTRACE_CLI_H */
