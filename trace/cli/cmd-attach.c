/* cmd-attach.c - `ravtrace attach`: record a running program, or show its
 * live counters, without stopping it (a thin client of libravtrace's live
 * API, ravtrace.h).  Detaching leaves the program as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char *const help =
    "usage: ravtrace attach PID -o FILE [--seconds=N] [--lossless] [--queue=KIB] [--access]\n"
    "       ravtrace attach PID --stats [-o FILE]\n"
    "\n"
    "Attach to a running program (see 'ravtrace list') without stopping it.\n"
    "\n"
    "  -o, --output=FILE  record into FILE: a snapshot of every heap, then every event;\n"
    "                     the file opens in ravscope and ravtrace like any trace\n"
    "      --seconds=N    detach after N seconds (default: until Ctrl-C or the program ends)\n"
    "      --stats        print live counters every second (events/s, allocations, frees,\n"
    "                     moves, fix-ups, hand-offs, pages, live cells, lost events); alone\n"
    "                     it records nothing\n"
    "      --lossless     make the program wait for this client instead of losing events\n"
    "                     when it falls behind (the program then runs at the client's pace)\n"
    "      --queue=KIB    memory the program may use for events waiting for this client\n"
    "                     (default: the program's, 32 MiB unless RAVIOLI_LISTEN_QUEUE_KIB says)\n"
    "      --access       also record the engine's loads and stores (contention model)\n"
    "      --quiet        no progress messages\n"
    "  -h, --help         this help\n"
    "\n"
    "Detaching leaves the program running as before.  When the client falls behind, the\n"
    "program drops events, counts them and resynchronises with a fresh snapshot; the\n"
    "summary says how many were lost and when.  Exit status: 0 when the session ended\n"
    "(detached, or the program ended: the summary says how), 1 when attaching failed or\n"
    "the stream was damaged, 2 usage error.\n";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* After DETACH, how long the program gets to finish its stream before the
 * client gives up on it: 15 s, or RAV_TEST_ATTACH_WAIT_MS (the same test
 * override as the library's waits, trace/attach.c: for tests posing as a
 * program that ignores DETACH; users get the default). */
static double give_up_seconds(void)
{
	const char *env = getenv("RAV_TEST_ATTACH_WAIT_MS");
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (*end == 0 && v > 0 && v <= 600000)
			return (double)v / 1000.0;
	}
	return 15.0;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The process still runs (not gone, not a zombie) a moment after its
 * stream ended: a process being killed closes its sockets before it is
 * gone, so it has 0.5 s to go. */
static bool still_running(int pid)
{
	for (int i = 0; i < 25; i++) {
		if (!rav_live_process_runs(pid))
			return false;
		struct timespec d = {0, 20 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
	return true;
}

static void say_end(const char *prog, const rav_live_status *st, int pid)
{
	if (!st->ended)
		fprintf(stderr, "%s: gave up waiting for process %d to finish the stream\n", prog, pid);
	else if (!st->end_known && still_running(pid))
		fprintf(stderr,
		        "%s: process %d closed the stream without an end record and still runs: it closed "
		        "the connection itself (as a program that closes every descriptor at its start "
		        "does); attach again; what arrived is kept\n",
		        prog, pid);
	else if (!st->end_known)
		fprintf(stderr,
		        "%s: process %d closed the stream without an end record: it was killed (SIGKILL?), "
		        "died of a signal it handles itself (its handler, not ravioli's, runs: the end "
		        "is not reported) or left through _exit(); what arrived is kept\n",
		        prog, pid);
	else if (st->end_how == 1)
		fprintf(stderr, "%s: detached from process %d; it keeps running\n", prog, pid);
	else if (st->end_how == 2)
		fprintf(stderr, "%s: process %d exited with status %" PRId64 "\n", prog, pid, st->end_value);
	else if (st->end_how == 3)
		fprintf(stderr, "%s: process %d was killed by signal %" PRId64 " (%s)\n", prog, pid,
		        st->end_value, strsignal((int)st->end_value));
	else
		fprintf(stderr, "%s: process %d ended the session: %s\n", prog, pid, st->end_text);
	if (st->message[0] && st->end_how != 1)
		fprintf(stderr, "%s: the program said: %s\n", prog, st->message);
}

static void print_stats_header(void)
{
	fprintf(stdout, "%8s %12s %11s %11s %11s %11s %10s %9s %12s %10s\n", "TIME", "EVENTS/S", "ALLOCS/S",
	        "FREES/S", "MOVES/S", "FIXUPS/S", "HANDOFFS/S", "PAGES", "LIVE CELLS", "LOST");
}

static int run(int argc, char **argv)
{
	const char *prog = cli_prog;
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"seconds", required_argument, NULL, 's'},
	    {"stats", no_argument, NULL, 'S'},
	    {"lossless", no_argument, NULL, 'L'},
	    {"queue", required_argument, NULL, 'q'},
	    {"access", no_argument, NULL, 'a'},
	    {"quiet", no_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	double seconds = 0;
	bool stats = false, quiet = false;
	rav_live_options lo = {0};
	optind = 1;
	opterr = 0; /* (cli_getopt_error says it) */
	int c;
	while ((c = getopt_long(argc, argv, ":o:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0) || seconds > 1e7)
				cli_usage_error("--seconds needs a positive number, not '%s'", optarg);
			break;
		case 'S':
			stats = true;
			break;
		case 'L':
			lo.lossless = true;
			break;
		case 'a':
			lo.access = true;
			break;
		case 'Q':
			quiet = true;
			break;
		case 'q': {
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || v < 256 || v > (4ul << 20))
				cli_usage_error("--queue needs KiB between 256 and 4194304, not '%s'",
				                optarg);
			lo.queue_kib = (uint32_t)v;
			break;
		}
		case 'h':
			fputs(help, stdout);
			return cli_finish_output(stdout, "the help");
		default:
			cli_getopt_error(c, argv);
		}
	}
	if (optind >= argc)
		cli_usage_error("which process? (a PID from '%s list')", prog);
	char *end;
	long pid = strtol(argv[optind], &end, 10);
	if (*end || pid <= 0 || pid > 0x7fffffff)
		cli_usage_error("'%s' is not a process id", argv[optind]);
	if (optind + 1 < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!out && !stats)
		cli_usage_error("say where to record (-o FILE) or ask for --stats");
	if (stats) {
		lo.stats_ms = 1000;
		lo.stats_only = out == NULL;
	}
	/* The output is opened before attaching (a path that cannot be written
	 * is said before the program is disturbed) but emptied only once the
	 * program has accepted: a refused attach ("already attached by PID N")
	 * leaves a file that was there as it was, and removes one it created. */
	int ofd = -1;
	bool created = false;
	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		created = ofd >= 0;
		if (ofd < 0 && errno == EEXIST)
			ofd = open(out, O_WRONLY | O_CLOEXEC);
		if (ofd < 0) {
			fprintf(stderr, "%s attach: cannot create %s: %s\n", prog, out, strerror(errno));
			return EXIT_BAD;
		}
	}
	rav_trace_error err;
	rav_live_session *s = rav_live_attach((int)pid, &lo, &err);
	if (!s) {
		fprintf(stderr, "%s attach: %s\n", prog, err.message);
		if (ofd >= 0) {
			close(ofd);
			if (created)
				unlink(out);
		}
		return EXIT_BAD;
	}
	if (ofd >= 0 && ftruncate(ofd, 0) != 0) {
		fprintf(stderr, "%s attach: cannot write %s: %s\n", prog, out, strerror(errno));
		close(ofd);
		rav_live_close(s);
		return EXIT_BAD;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!quiet)
		fprintf(stderr, "%s: attached to process %ld%s%s; %s\n", prog, pid,
		        out ? ", recording into " : "", out ? out : "",
		        seconds > 0 ? "detaching after the given time" : "Ctrl-C detaches");
	rav_live_status st = {0};
	double t0 = now_s(), detach_at = seconds > 0 ? t0 + seconds : 0, gave_up_at = 0;
	bool detached = false;
	int rc = EXIT_OK;
	int64_t prev[16] = {0};
	double prev_t = t0;
	/* One row per statistics record, also when nothing changed: a quiet
	 * program shows zero rates rather than no output at all. */
	uint64_t stats_seen = 0;
	if (stats) {
		print_stats_header();
		fflush(stdout);
	}
	while (!st.ended) {
		if (!detached && (interrupted || (detach_at && now_s() >= detach_at))) {
			rav_live_detach(s);
			detached = true;
			gave_up_at = now_s() + give_up_seconds();
		}
		if (detached && now_s() >= gave_up_at)
			break;
		if (rav_live_pump(s, 200, ofd, &st, &err) < 0) {
			fprintf(stderr, "%s attach: %s\n", prog, err.message);
			rc = EXIT_BAD;
			break;
		}
		if (stats && st.stats_records != stats_seen) {
			/* a new statistics record (cumulative counters) */
			double t = now_s(), dt = t - prev_t;
			if (dt > 0.2) {
				printf("%7.1fs %12.0f %11.0f %11.0f %11.0f %11.0f %10.0f %9" PRId64
				       " %12" PRId64 " %10" PRId64 "\n",
				       t - t0, (double)(st.stats[0] - prev[0]) / dt,
				       (double)(st.stats[7] - prev[7]) / dt,
				       (double)(st.stats[8] - prev[8]) / dt,
				       (double)(st.stats[9] - prev[9]) / dt,
				       (double)(st.stats[10] - prev[10]) / dt,
				       (double)(st.stats[11] - prev[11]) / dt, st.stats[6], st.stats[5],
				       st.stats[1]);
				fflush(stdout);
				memcpy(prev, st.stats, sizeof prev);
				prev_t = t;
			}
			stats_seen = st.stats_records;
		}
	}
	if (ofd >= 0 && close(ofd) != 0) {
		fprintf(stderr, "%s attach: cannot write %s: %s\n", prog, out, strerror(errno));
		rc = EXIT_BAD;
	}
	if (!quiet) {
		double dur = now_s() - t0;
		if (out)
			fprintf(stderr,
			        "%s: %" PRIu64 " events, %" PRIu64 " heap snapshots, %.1f MB in %.1f s", prog,
			        st.events, st.snapshots, (double)st.bytes / 1e6, dur);
		else /* --stats alone: the program counted, nothing was sent */
			fprintf(stderr, "%s: %" PRId64 " events counted in %.1f s", prog,
			        st.have_stats ? st.stats[0] : 0, dur);
		if (st.lost)
			fprintf(stderr, "; %" PRIu64 " events lost", st.lost);
		fputc('\n', stderr);
		for (unsigned i = 0; i < st.nlosses && i < 16; i++)
			fprintf(stderr,
			        "%s:   %" PRIu64
			        " events lost between %.3f s and %.3f s (the client fell behind; "
			        "resynchronised with fresh snapshots)\n",
			        prog, st.losses[i].events, st.losses[i].from_s, st.losses[i].to_s);
		if (st.nlosses > 16)
			fprintf(stderr, "%s:   ... and %u more losses\n", prog, st.nlosses - 16);
		/* Events dropped in a loss the session ended in (before the
		 * program resynchronised) have no range of their own. */
		unsigned kept = sizeof st.losses / sizeof st.losses[0];
		if (st.nlosses <= kept) {
			uint64_t ranged = 0;
			double after = 0;
			for (unsigned i = 0; i < st.nlosses; i++) {
				ranged += st.losses[i].events;
				after = st.losses[i].to_s;
			}
			if (st.lost > ranged)
				fprintf(stderr,
				        "%s:   %" PRIu64
				        " events lost after %.3f s, until the end (the session "
				        "ended before the program had resynchronised)\n",
				        prog, st.lost - ranged, after);
		}
		if (st.pending)
			fprintf(stderr,
			        "%s: %u heap(s) were not snapshotted yet when the session began (their "
			        "threads made no "
			        "engine call); they appear once they do\n",
			        prog, st.pending);
		say_end(prog, &st, (int)pid);
	}
	rav_live_close(s);
	return rc;
}

const cli_command cli_cmd_attach = {
    "attach", "record a running program (-o FILE) or show its live counters (--stats)", help, run};
