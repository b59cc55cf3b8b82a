/* cmd-list.c - `ravtrace list`: the running programs of this user that can
 * be attached to (a thin client of libravtrace's live API, ravtrace.h).
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

#include "cli.h"

static const char *const help =
    "usage: ravtrace list [--json]\n"
    "\n"
    "Running programs of this user that can be attached to (linked with libravioli's\n"
    "recorder): PID, user, thread heaps, live cells, uptime, who is attached, command.\n"
    "Sockets left behind by programs that ended are removed.\n"
    "\n"
    "      --json        a JSON array, one object per program\n"
    "  -h, --help        this help\n";

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

static int run(int argc, char **argv)
{
	const char *prog = cli_prog;
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool json = false;
	optind = 1;
	opterr = 0; /* (cli_getopt_error says it) */
	int c;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			fputs(help, stdout);
			return cli_finish_output(stdout, "the help");
		} else
			cli_getopt_error(c, argv);
	}
	if (optind < argc)
		cli_usage_error("unexpected argument '%s'", argv[optind]);
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
			       i ? "," : "", v[i].pid, v[i].uid, v[i].threads, v[i].live_cells,
			       v[i].pool_pages, v[i].start_ns ? now - (double)v[i].start_ns * 1e-9 : 0.0,
			       v[i].attached_by, v[i].records_to_file ? "true" : "false");
			json_str(stdout, v[i].command);
			printf("}");
		}
		printf("%s]\n", n ? "\n" : "");
	} else if (n == 0) {
		printf(
		    "No program of this user is listening for attach.\n"
		    "Programs linked with libravioli's recorder (meson: ravioli_dep) listen unless run with\n"
		    "RAVIOLI_LISTEN=0; RAVIOLI_LISTEN=1 makes one say why it cannot.\n");
	} else {
		printf("%7s  %-10s %5s %12s %8s  %-9s %s\n", "PID", "USER", "HEAPS", "LIVE CELLS", "UPTIME",
		       "ATTACHED", "COMMAND");
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
			printf("%7d  %-10s %5u %12" PRIu64 " %8s  %-9s %s\n", v[i].pid, user, v[i].threads,
			       v[i].live_cells, up, att, v[i].command);
		}
	}
	if (removed && !json)
		printf("(removed %u socket%s left by programs that ended)\n", removed,
		       removed == 1 ? "" : "s");
	free(v);
	return cli_finish_output(stdout, "the list");
}

const cli_command cli_cmd_list = {
    "list", "running programs that can be attached to (PID, heaps, live cells, uptime)", help, run};
