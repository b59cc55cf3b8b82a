/* cmd-validate.c - `ravtrace validate`: is this trace sound?  Every chunk
 * framed and checksummed, every event decoded, the whole trace replayed
 * through the heap model.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const help =
    "usage: ravtrace validate [--follow] FILE\n"
    "\n"
    "Check the header, every chunk's framing and checksum, decode every event,\n"
    "and replay the whole trace through the heap model.  Prints one line\n"
    "starting with OK and exits 0 when the file is sound; otherwise prints\n"
    "what is wrong, where (byte offset, chunk) and why, and exits 1.  A\n"
    "truncated file is reported with how much of it is usable; one whose chunks\n"
    "are all whole but which lacks the trailer a finished recording ends with\n"
    "(the program was killed, or left through _exit()) is all readable, and\n"
    "said so.  FILE - reads standard input.\n"
    "\n"
    "  --follow          read FILE as a stream (a FIFO, a socket) until its writer\n"
    "                    ends it\n"
    "  -h, --help        this help\n";

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

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(argc, argv, help, "", &o);
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_trace *t = NULL;
	cli_trace tr = {.fd = -1};
	bool truncated_index = false;
	if (o.follow || strcmp(path, "-") == 0) {
		cli_open_trace(&tr, path, &o, true, false);
		t = tr.t;
		path = tr.name;
	} else {
		t = rav_trace_open(path, &err);
		if (!t && err.code == RAV_TRACE_EIO)
			cli_trace_error(path, &err); /* no file to judge (missing, a directory): as the other commands say it */
		if (!t)
			invalid(path, &err);
		if (rav_trace_index(t, NULL, NULL, &err) != 0) {
			if (err.code != RAV_TRACE_ETRUNCATED)
				invalid(path, &err);
			truncated_index = true;
		}
		tr.t = t;
		tr.name = path;
	}
	rav_trace_info info;
	rav_trace_get_info(t, &info);

	/* Indexing decoded every event and replayed it through the heap
	 * model (every move into a hole, every fix-up of a slot that named
	 * the moved cell, ...): what it found is the verdict. */
	rav_trace_error replay_err;
	memset(&replay_err, 0, sizeof replay_err);
	bool replay_ok = rav_trace_consistent(t, &replay_err);

	/* Truncation is reported first: it explains a replay failure of the
	 * recovered part (a thread's last chunk may be missing). */
	if (info.truncated || truncated_index) {
		if (info.recovered_bytes == info.file_size)
			/* every chunk whole: only the trailer a finished
			 * recording ends with is missing (SIGKILL, _exit) */
			printf("INVALID: %s: truncated: the %s ends at byte offset %" PRIu64 " after its %" PRIu64
			       " chunks, without the trailer a finished recording ends with (the program was "
			       "killed, or left through _exit()); all of it (%" PRIu64 " events) is readable",
			       path, tr.fd >= 0 ? "stream" : "file", info.file_size, info.chunks, info.events);
		else
			printf("INVALID: %s: truncated: the %s ends at byte offset %" PRIu64 ", inside chunk %" PRIu64
			       "; the first %" PRIu64 " bytes (%" PRIu64 " chunks, %" PRIu64 " events) are readable",
			       path, tr.fd >= 0 ? "stream" : "file", info.file_size, info.chunks,
			       info.recovered_bytes, info.chunks, info.events);
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
	return cli_finish_output(stdout, "the output");
}

const cli_command cli_cmd_validate = {"validate", "check every chunk and event; exit 1 on any corruption",
                                      help, run};
