/* attach.c - `ravtrace list` and `ravtrace attach`: the running programs of
 * this user that can be attached to, and a recording (or live counters) of
 * one of them.  Thin clients of libravtrace's live API (ravtrace.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli-attach.h"
#include "ravtrace.h"

enum { EXIT_OK = 0, EXIT_BAD = 1, EXIT_USAGE = 2 };

static void usage(const char *prog, const char *sub, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
static void usage(const char *prog, const char *sub, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s %s: ", prog, sub);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help' for more information.\n", prog, sub);
	exit(EXIT_USAGE);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void human_duration(char *buf, size_t cap, double s)
{
	if (s < 60)
		snprintf(buf, cap, "%.0fs", s);
	else if (s < 3600)
		snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)s % 60);
	else if (s < 86400)
		snprintf(buf, cap, "%dh%02dm", (int)(s / 3600), (int)s / 60 % 60);
	else
		snprintf(buf, cap, "%dd%02dh", (int)(s / 86400), (int)s / 3600 % 24);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int _ravtrace_cmd_list(const char *prog, int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	bool json = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			printf("Usage: %s list [--json]\n\n"
			       "Running programs of this user that can be attached to (linked with libravioli's\n"
			       "recorder): PID, user, thread heaps, live cells, uptime, who is attached, command.\n"
			       "Sockets left behind by programs that ended are removed.\n",
			       prog);
			return EXIT_OK;
		} else
			usage(prog, "list", "unknown option");
	}
	if (optind < argc)
		usage(prog, "list", "unexpected argument '%s'", argv[optind]);
	rav_live_program *v;
	size_t n;
	unsigned removed;
	rav_trace_error err;
	if (rav_live_list(&v, &n, &removed, &err) != 0) {
		fprintf(stderr, "%s list: %s\n", prog, err.message);
		return EXIT_BAD;
	}
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	double now = (double)rt.tv_sec + (double)rt.tv_nsec * 1e-9;
	if (json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			printf("%s\n  {\"pid\": %d, \"uid\": %u, \"threads\": %u, \"live_cells\": %" PRIu64
			       ", \"pool_pages\": %" PRIu64 ", \"uptime_s\": %.1f, \"attached_by\": %d, "
			       "\"records_to_file\": %s, \"command\": ",
			       i ? "," : "", v[i].pid, v[i].uid, v[i].threads, v[i].live_cells, v[i].pool_pages,
			       v[i].start_ns ? now - (double)v[i].start_ns * 1e-9 : 0.0, v[i].attached_by,
			       v[i].records_to_file ? "true" : "false");
			json_str(stdout, v[i].command);
			printf("}");
		}
		printf("%s]\n", n ? "\n" : "");
	} else if (n == 0) {
		printf("No program of this user is listening for attach.\n"
		       "Programs linked with libravioli's recorder (meson: ravioli_dep) listen unless run with\n"
		       "RAVIOLI_LISTEN=0; RAVIOLI_LISTEN=1 makes one say why it cannot.\n");
	} else {
		printf("%7s  %-10s %5s %12s %8s  %-9s %s\n", "PID", "USER", "HEAPS", "LIVE CELLS", "UPTIME", "ATTACHED",
		       "COMMAND");
		for (size_t i = 0; i < n; i++) {
			struct passwd *pw = getpwuid(v[i].uid);
			char user[32], up[32], att[32];
			snprintf(user, sizeof user, "%s", pw ? pw->pw_name : "?");
			human_duration(up, sizeof up, v[i].start_ns ? now - (double)v[i].start_ns * 1e-9 : 0);
			if (v[i].records_to_file)
				snprintf(att, sizeof att, "(records)");
			else if (v[i].attached_by)
				snprintf(att, sizeof att, "by %d", v[i].attached_by);
			else
				snprintf(att, sizeof att, "-");
			printf("%7d  %-10s %5u %12" PRIu64 " %8s  %-9s %s\n", v[i].pid, user, v[i].threads, v[i].live_cells,
			       up, att, v[i].command);
		}
	}
	if (removed && !json)
		printf("(removed %u socket%s left by programs that ended)\n", removed, removed == 1 ? "" : "s");
	free(v);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_BAD;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void say_end(const char *prog, const rav_live_status *st, int pid)
{
	if (!st->ended)
		fprintf(stderr, "%s: gave up waiting for process %d to finish the stream\n", prog, pid);
	else if (!st->end_known)
		fprintf(stderr,
			"%s: process %d closed the stream without an end record: it was killed (SIGKILL?) or left "
			"through _exit(); what arrived is kept\n",
			prog, pid);
	else if (st->end_how == 1)
		fprintf(stderr, "%s: detached from process %d; it keeps running\n", prog, pid);
	else if (st->end_how == 2)
		fprintf(stderr, "%s: process %d exited with status %" PRId64 "\n", prog, pid, st->end_value);
	else if (st->end_how == 3)
		fprintf(stderr, "%s: process %d was killed by signal %" PRId64 " (%s)\n", prog, pid, st->end_value,
			strsignal((int)st->end_value));
	else
		fprintf(stderr, "%s: process %d ended the session: %s\n", prog, pid, st->end_text);
	if (st->message[0] && st->end_how != 1)
		fprintf(stderr, "%s: the program said: %s\n", prog, st->message);
}

static void print_stats_header(void)
{
	fprintf(stdout, "%8s %12s %11s %11s %11s %11s %10s %9s %12s %10s\n", "TIME", "EVENTS/S", "ALLOCS/S", "FREES/S",
		"MOVES/S", "FIXUPS/S", "HANDOFFS/S", "PAGES", "LIVE CELLS", "LOST");
}

int _ravtrace_cmd_attach(const char *prog, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "seconds", required_argument, NULL, 's' },
		{ "stats", no_argument, NULL, 'S' },         { "lossless", no_argument, NULL, 'L' },
		{ "queue", required_argument, NULL, 'q' },   { "access", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'Q' },         { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	double seconds = 0;
	bool stats = false, quiet = false;
	rav_live_options lo = { 0 };
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 's':
			seconds = strtod(optarg, &end);
			if (*end || !(seconds > 0) || seconds > 1e7)
				usage(prog, "attach", "--seconds needs a positive number, not '%s'", optarg);
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
				usage(prog, "attach", "--queue needs KiB between 256 and 4194304, not '%s'", optarg);
			lo.queue_kib = (uint32_t)v;
			break;
		}
		case 'h':
			printf("Usage: %s attach PID -o FILE [--seconds N] [--lossless] [--queue KIB] [--access]\n"
			       "       %s attach PID --stats [-o FILE]\n\n"
			       "Attach to a running program (see '%s list') without stopping it:\n"
			       "  -o FILE       record into FILE: a snapshot of every heap, then every event; the\n"
			       "                file opens in ravscope and ravtrace like any trace\n"
			       "  --seconds N   detach after N seconds (default: until Ctrl-C or the program ends)\n"
			       "  --stats       print live counters every second (events/s, frees, moves, pages,\n"
			       "                lost events); alone it records nothing\n"
			       "  --lossless    make the program wait for this client instead of losing events when\n"
			       "                it falls behind (the program then runs at the client's pace)\n"
			       "  --queue KIB   memory the program may use for events waiting for this client\n"
			       "                (default: the program's, 16 MiB unless RAVIOLI_LISTEN_QUEUE_KIB says)\n"
			       "  --access      also record the engine's loads and stores (contention model)\n"
			       "  --quiet       no progress messages\n\n"
			       "Detaching leaves the program running as before.  When the client falls behind, the\n"
			       "program drops events, counts them and resynchronises with a fresh snapshot; the\n"
			       "summary says how many were lost and when.\n",
			       prog, prog, prog);
			return EXIT_OK;
		default:
			usage(prog, "attach", "unknown option");
		}
	}
	if (optind >= argc)
		usage(prog, "attach", "which process? (a PID from '%s list')", prog);
	char *end;
	long pid = strtol(argv[optind], &end, 10);
	if (*end || pid <= 0 || pid > 0x7fffffff)
		usage(prog, "attach", "'%s' is not a process id", argv[optind]);
	if (optind + 1 < argc)
		usage(prog, "attach", "unexpected argument '%s'", argv[optind + 1]);
	if (!out && !stats)
		usage(prog, "attach", "say where to record (-o FILE) or ask for --stats");
	if (stats) {
		lo.stats_ms = 1000;
		lo.stats_only = out == NULL;
	}
	int ofd = -1;
	if (out) {
		ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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
			unlink(out);
		}
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
		fprintf(stderr, "%s: attached to process %ld%s%s; %s\n", prog, pid, out ? ", recording into " : "",
			out ? out : "", seconds > 0 ? "detaching after the given time" : "Ctrl-C detaches");
	rav_live_status st = { 0 };
	double t0 = now_s(), detach_at = seconds > 0 ? t0 + seconds : 0, gave_up_at = 0;
	bool detached = false;
	int rc = EXIT_OK;
	int64_t prev[16] = { 0 };
	double prev_t = t0;
	bool header = false;
	uint64_t stats_seen = 0;
	while (!st.ended) {
		if (!detached && (interrupted || (detach_at && now_s() >= detach_at))) {
			rav_live_detach(s);
			detached = true;
			gave_up_at = now_s() + 15;
		}
		if (detached && now_s() >= gave_up_at)
			break;
		if (rav_live_pump(s, 200, ofd, &st, &err) < 0) {
			fprintf(stderr, "%s attach: %s\n", prog, err.message);
			rc = EXIT_BAD;
			break;
		}
		if (stats && st.have_stats && (uint64_t)st.stats[0] + 1 != stats_seen + 1) {
			/* a new statistics record (cumulative counters) */
			double t = now_s(), dt = t - prev_t;
			if (dt > 0.2 && memcmp(prev, st.stats, sizeof prev) != 0) {
				if (!header) {
					print_stats_header();
					header = true;
				}
				printf("%7.1fs %12.0f %11.0f %11.0f %11.0f %11.0f %10.0f %9" PRId64 " %12" PRId64 " %10" PRId64
				       "\n",
				       t - t0, (double)(st.stats[0] - prev[0]) / dt, (double)(st.stats[7] - prev[7]) / dt,
				       (double)(st.stats[8] - prev[8]) / dt, (double)(st.stats[9] - prev[9]) / dt,
				       (double)(st.stats[10] - prev[10]) / dt, (double)(st.stats[11] - prev[11]) / dt,
				       st.stats[6], st.stats[5], st.stats[1]);
				fflush(stdout);
				memcpy(prev, st.stats, sizeof prev);
				prev_t = t;
			}
			stats_seen = (uint64_t)st.stats[0];
		}
	}
	if (ofd >= 0 && close(ofd) != 0) {
		fprintf(stderr, "%s attach: cannot write %s: %s\n", prog, out, strerror(errno));
		rc = EXIT_BAD;
	}
	if (!quiet) {
		double dur = now_s() - t0;
		fprintf(stderr, "%s: %" PRIu64 " events, %" PRIu64 " heap snapshots, %.1f MB in %.1f s", prog, st.events,
			st.snapshots, (double)st.bytes / 1e6, dur);
		if (st.lost)
			fprintf(stderr, "; %" PRIu64 " events lost", st.lost);
		fputc('\n', stderr);
		for (unsigned i = 0; i < st.nlosses && i < 16; i++)
			fprintf(stderr,
				"%s:   %" PRIu64 " events lost between %.3f s and %.3f s (the client fell behind; "
				"resynchronised with fresh snapshots)\n",
				prog, st.losses[i].events, st.losses[i].from_s, st.losses[i].to_s);
		if (st.nlosses > 16)
			fprintf(stderr, "%s:   ... and %u more losses\n", prog, st.nlosses - 16);
		if (st.pending)
			fprintf(stderr,
				"%s: %u heap(s) were not snapshotted yet when the session began (their threads made no "
				"engine call); they appear once they do\n",
				prog, st.pending);
		say_end(prog, &st, (int)pid);
	}
	rav_live_close(s);
	return rc;
}
