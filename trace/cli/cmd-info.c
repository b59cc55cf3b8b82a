/* cmd-info.c - `ravtrace info`: what a trace is (format, geometry, the
 * recorded program), what it holds (threads, types, counts) and how long it
 * ran.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const help =
    "usage: ravtrace info [--json] [--threads=N] [--types=N] [--follow] FILE\n"
    "\n"
    "Print the trace header (format version, geometry), the recorded program,\n"
    "its threads and types, event, chunk and keyframe counts, and the duration.\n"
    "FILE - reads the trace from standard input.\n"
    "\n"
    "  --json        machine-readable output (one JSON object)\n"
    "  --threads=N   threads to list, in the trace's order (default 20; 0: all);\n"
    "                the others are counted\n"
    "  --types=N     types to list, in id order (default 100; 0: all); the others\n"
    "                are counted\n"
    "  --follow      read FILE as a stream (a FIFO, a socket) until its writer ends it\n"
    "  -h, --help    this help\n"
    "\n"
    "Exit status: 0 success, 1 invalid or unreadable trace (also when the trace is\n"
    "inconsistent: what was printed is then partial), 2 usage error.  An open trace\n"
    "may take the larger of 256 MiB and 64 times its size for its index and replayed\n"
    "heap; RAVTRACE_MEMORY_MB=N raises the limit (see ravtrace(1), ENVIRONMENT).\n";

static int run(int argc, char **argv)
{
	cli_opts o;
	const char *path = cli_parse_opts(argc, argv, help, "json threads types", &o);
	cli_trace tr;
	cli_open_trace(&tr, path, &o, false, false);
	const rav_trace_info *in = &tr.info;
	rav_trace_error bad;
	bool inconsistent = cli_inconsistent(&tr, &bad);
	unsigned nthreads = rav_trace_thread_count(tr.t), ntypes = rav_trace_type_count(tr.t);
	unsigned nmarks = rav_trace_mark_count(tr.t), nmsg = 0;
	for (unsigned i = 0; i < nthreads; i++)
		nmsg += cli_thread_at(tr.t, i).kind == RAV_HEAP_MESSAGE;
	/* The first --threads threads are listed, the others counted: a
	 * program that runs through 100,000 short-lived threads printed a
	 * line for each. */
	unsigned nprog = nthreads - nmsg;
	unsigned shown = o.threads && o.threads < nprog ? (unsigned)o.threads : nprog;
	/* Types likewise, the first --types in id order: a type id is 16 bits,
	 * a trace may define 65,535 of them. */
	unsigned types_shown = o.types && o.types < ntypes ? (unsigned)o.types : ntypes;
	uint64_t duration = in->duration_ns;
	char tb[1100];
	/* A program that died of a signal: the recorder's ERROR event with
	 * status 0, the crashing thread's last event, says which (FORMAT.md,
	 * error).  Only each thread's last event is looked at (iterating over
	 * every error decoded the whole trace: twice info's instructions). */
	char died[512] = "", cause[600] = "";
	uint64_t cause_event = 0;
	for (unsigned i = 0; i < nthreads && !died[0]; i++) {
		const rav_trace_thread th = cli_thread_at(tr.t, i);
		rav_event ev;
		if (th.kind != RAV_HEAP_MESSAGE && th.last_event >= th.first_event &&
		    rav_trace_event_at(tr.t, th.last_event, &ev) && ev.kind == RAV_EV_ERROR && ev.aux == 0 && ev.text) {
			snprintf(died, sizeof died, "%s", ev.text);
			/* The engine's misuse handler aborts right after the
			 * error it reports ("died of SIGABRT ... (abort())" alone
			 * hid why): that error, among the thread's last few
			 * events (a clock reading may come between). */
			for (uint64_t k = th.last_event, n = 0; k > th.first_event && n < 64; n++) {
				k--;
				if (!rav_trace_event_at(tr.t, k, &ev) || ev.thread != th.heap_id || ev.kind == RAV_EV_TIME)
					continue;
				if (ev.kind == RAV_EV_ERROR && ev.aux != 0 && ev.text) {
					snprintf(cause, sizeof cause, "%s", ev.text);
					cause_event = k;
				}
				break;
			}
		}
	}

	if (o.json) {
		printf("{\n  \"format\": \"%u.%u\",\n", in->version_major, in->version_minor);
		printf("  \"word_size\": %u,\n  \"cell_size\": %u,\n  \"page_size\": %u,\n  "
		       "\"cells_per_page\": %u,\n",
		       in->word_size, in->cell_size, in->page_size, in->cells_per_page);
		printf("  \"file_size\": %" PRIu64 ",\n  \"truncated\": %s,\n  \"recovered_bytes\": %" PRIu64
		       ",\n",
		       in->file_size, in->truncated ? "true" : "false", in->recovered_bytes);
		printf("  \"program\": ");
		cli_json_string(stdout, in->program);
		printf(",\n  \"chunks\": %" PRIu64 ",\n  \"events\": %" PRIu64 ",\n  \"keyframes\": %" PRIu64
		       ",\n  \"duration_ns\": %" PRIu64 ",\n",
		       in->chunks, in->events, in->keyframes, duration);
		printf("  \"clock_known\": %s,\n", in->clock_known ? "true" : "false");
		if (inconsistent) {
			printf("  \"error\": ");
			cli_json_string(stdout, bad.message);
			printf(",\n");
		}
		rav_trace_session ss;
		if (rav_trace_get_session(tr.t, &ss)) {
			printf("  \"session\": {\"pid\": %d, \"lossless\": %s, \"end\": \"%s\", "
			       "\"end_value\": %" PRId64 ", \"lost\": %" PRIu64
			       ", \"resynchronisations\": %u",
			       ss.pid, ss.lossless ? "true" : "false",
			       !ss.end_known     ? "unknown"
			       : ss.end_how == 1 ? "detached"
			       : ss.end_how == 2 ? "exited"
			       : ss.end_how == 3 ? "signal"
			       : ss.end_how == 4 ? "error"
			                         : "closed",
			       ss.end_value, ss.lost, ss.losses);
			if (ss.synced_known)
				printf(", \"heaps_snapshotted\": %u, \"heaps_pending\": %u", ss.synced_heaps,
				       ss.pending_heaps);
			printf("},\n");
		}
		if (died[0]) {
			printf("  \"died\": ");
			cli_json_string(stdout, died);
			printf(",\n");
		}
		if (cause[0]) {
			printf("  \"died_after_error\": {\"event\": %" PRIu64 ", \"message\": ", cause_event);
			cli_json_string(stdout, cause);
			printf("},\n");
		}
		printf("  \"marks\": %u,\n  \"message_heaps\": %u,\n  \"threads\": [", nmarks, nmsg);
		bool first = true;
		for (unsigned i = 0, k = 0; i < nthreads && k < shown; i++) {
			const rav_trace_thread th = cli_thread_at(tr.t, i);
			if (th.kind == RAV_HEAP_MESSAGE)
				continue;
			k++;
			printf("%s\n    {\"id\": %u, \"name\": ", first ? "" : ",", th.heap_id);
			cli_json_string(stdout, th.name);
			printf(", \"first_event\": %" PRIu64 ", \"last_event\": %" PRIu64 "}", th.first_event,
			       th.last_event);
			first = false;
		}
		printf("%s],\n  \"more_threads\": %u,\n  \"types\": [", first ? "" : "\n  ", nprog - shown);
		for (unsigned i = 0; i < types_shown; i++) {
			const rav_trace_type ty = cli_type_at(tr.t, i);
			printf("%s\n    {\"id\": %u, \"name\": ", i ? "," : "", ty.id);
			cli_json_string(stdout, ty.name);
			printf(", \"fields\": [\"%s\", \"%s\"], \"field_names\": [",
			       ty.field_is_ref[0] ? "ref" : "data", ty.field_is_ref[1] ? "ref" : "data");
			for (int f = 0; f < 2; f++) {
				const char *fn = rav_trace_type_field_name(tr.t, ty.id, f);
				if (f)
					printf(", ");
				if (fn)
					cli_json_string(stdout, fn);
				else
					printf("null");
			}
			printf("]}");
		}
		printf("%s],\n  \"more_types\": %u\n}\n", types_shown ? "\n  " : "", ntypes - types_shown);
	} else {
		printf("file        %s\n", cli_text(tb, sizeof tb, tr.name));
		printf("format      %u.%u, %u-byte words, %u-byte cells, %u-byte pages (%u cells)\n",
		       in->version_major, in->version_minor, in->word_size, in->cell_size, in->page_size,
		       in->cells_per_page);
		printf("program     %s\n",
		       in->program[0] ? cli_text(tb, sizeof tb, in->program) : "(not recorded)");
		printf("size        %" PRIu64 " bytes in %" PRIu64 " chunks%s\n", in->file_size, in->chunks,
		       in->truncated ? " (TRUNCATED)" : "");
		printf("events      %" PRIu64 " (%.2f bytes per event), %" PRIu64 " keyframe%s, %u mark%s\n",
		       in->events, in->events ? (double)in->file_size / (double)in->events : 0.0,
		       in->keyframes, in->keyframes == 1 ? "" : "s", nmarks, nmarks == 1 ? "" : "s");
		if (died[0])
			printf("died        %s\n", cli_text(tb, sizeof tb, died));
		if (cause[0])
			printf("            after the engine's error at event %" PRIu64 ": %s\n", cause_event,
			       cli_text(tb, sizeof tb, cause));
		if (in->clock_known)
			printf("duration    %.3f ms\n", (double)duration / 1e6);
		else
			printf("duration    %" PRIu64 " ticks (the clock rate was not recorded)\n", duration);
		rav_trace_session ss;
		if (rav_trace_get_session(tr.t, &ss)) {
			/* recorded by attaching to a running program */
			printf("session     attached to process %d%s", ss.pid, ss.lossless ? " (lossless)" : "");
			if (!ss.end_known)
				printf("; no end record: the program was killed or left through _exit()\n");
			else if (ss.end_how == 1)
				printf("; the client detached\n");
			else if (ss.end_how == 2)
				printf("; the program exited with status %" PRId64 "\n", ss.end_value);
			else if (ss.end_how == 3)
				printf("; the program was killed by signal %" PRId64 " (%s)\n", ss.end_value,
				       strsignal((int)ss.end_value));
			else
				printf("; ended: %s\n", cli_text(tb, sizeof tb, ss.end_text));
			if (ss.lost)
				printf("lost        %" PRIu64 " events (%u resynchronisation%s)\n", ss.lost, ss.losses,
				       ss.losses == 1 ? "" : "s");
			if (ss.synced_known && ss.pending_heaps)
				printf("snapshot    %u of %" PRIu64 " thread heaps; %u not yet (their threads had "
				       "made no "
				       "engine call): each appears from its thread's next engine call\n",
				       ss.synced_heaps, (uint64_t)ss.synced_heaps + ss.pending_heaps,
				       ss.pending_heaps);
		}
		printf("threads     %u, plus %u message heaps\n", nprog, nmsg);
		for (unsigned i = 0, k = 0; i < nthreads && k < shown; i++) {
			const rav_trace_thread th = cli_thread_at(tr.t, i);
			if (th.kind == RAV_HEAP_MESSAGE)
				continue;
			k++;
			char nb[64];
			const char *n = cli_thread_name(tr.t, th.heap_id, nb, sizeof nb);
			printf("  heap %-4u %-16s events %" PRIu64 "..%" PRIu64 "\n", th.heap_id,
			       n ? cli_text(tb, sizeof tb, n) : "(unnamed)", th.first_event, th.last_event);
		}
		if (shown < nprog)
			printf("  and %u more threads (--threads=0 lists all)\n", nprog - shown);
		/* the ids listed: the program's and the engine's built-in ones,
		 * not the reserved ids (a program with 3 types read "types 19"
		 * above a list of 13) */
		unsigned listed = 0, program = 0;
		for (unsigned i = 0; i < ntypes; i++) {
			const rav_trace_type ty = cli_type_at(tr.t, i);
			if (strcmp(ty.name, "reserved") != 0) {
				listed++;
				program += ty.id >= RAV_TYPE_FIRST_USER;
			}
		}
		printf("types       %u (%u the program's, %u built in)\n", listed, program, listed - program);
		unsigned more_types = listed;
		for (unsigned i = 0, k = 0; i < ntypes && k < types_shown; i++) {
			const rav_trace_type ty = cli_type_at(tr.t, i);
			if (strcmp(ty.name, "reserved") == 0)
				continue;
			k++;
			more_types--;
			/* Named fields (format 1.4) read "ref left, ref right". */
			printf("  %-5u %-20s", ty.id, cli_text(tb, sizeof tb, ty.name));
			for (int f = 0; f < 2; f++) {
				const char *fn = rav_trace_type_field_name(tr.t, ty.id, f);
				printf("%s%s", f ? ", " : " ", ty.field_is_ref[f] ? "ref" : "data");
				if (fn)
					printf(" %s", cli_text(tb, sizeof tb, fn));
			}
			putchar('\n');
		}
		if (more_types)
			printf("  and %u more types (--types=0 lists all)\n", more_types);
	}
	int rc = cli_finish_output(stdout, "the output");
	return cli_close_trace(&tr, rc);
}

const cli_command cli_cmd_info = {"info", "header, threads, types, counts and duration", help, run};
