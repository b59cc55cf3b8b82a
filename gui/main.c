/* main.c - ravscope entry point.
 *
 * The headless modes (--render, --bench, --list-demos, --list-lessons,
 * --check-lesson) are decided before
 * GTK starts, because GTK cannot initialise without a display and those
 * modes exist precisely for machines that have none.  Everything else goes to the
 * AdwApplication, which opens FILE arguments in a window.
 */
#include <locale.h>
#include <glib-unix.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ravscope-application.h"
#include "ravscope-headless.h"
#include "ravscope-lesson.h"
#include "ravscope-window.h"

/* Where each step stops and what it shows, so a teacher writing a lesson
 * sees what an anchor picked. */
static void print_steps(RavscopeLesson *l)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open(l->trace_path, &err);
	if (!t || rav_trace_index(t, NULL, NULL, &err) != 0) {
		rav_trace_close(t);
		return;
	}
	rav_state *s = rav_state_new(t);
	for (guint k = 0; k < l->steps->len; k++) {
		RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
		char what[512] = "";
		if (st->has_op && s && rav_state_seek(s, st->target, &err) == 0)
			rav_operation_describe(t, s, &st->op, what, sizeof what);
		g_print("  step %u (line %u): at event %" G_GUINT64_FORMAT "%s%s\n", k + 1, st->line, st->target,
			what[0] ? ", after: " : "", what);
	}
	rav_state_free(s);
	rav_trace_close(t);
}

/* --check-lesson FILE...: each lesson read, its trace found and indexed,
 * every step placed; "FILE: OK, N steps" and where each step stops, or the
 * error with FILE:LINE. */
static int check_lessons(int argc, char **argv)
{
	if (argc < 2) {
		g_printerr("ravscope: --check-lesson needs one or more lesson files\n");
		return 2;
	}
	char **dirs = ravscope_application_trace_dirs();
	int bad = 0;
	for (int i = 1; i < argc; i++) {
		GError *error = NULL;
		RavscopeLesson *l = ravscope_lesson_load(argv[i], &error);
		if (l && ravscope_lesson_check(l, (const char *const *)dirs, &error)) {
			g_print("%s: OK, \"%s\", %u steps on %s\n", argv[i], l->title, l->steps->len, l->trace_path);
			print_steps(l);
		} else {
			g_printerr("%s\n", error->message);
			g_error_free(error);
			bad = 1;
		}
		ravscope_lesson_free(l);
	}
	g_strfreev(dirs);
	return bad;
}

static char *render_out;

/* --render OUT, or --render with -o OUT. */
static gboolean on_render(const char *name, const char *value, gpointer data, GError **error)
{
	if (value) {
		g_free(render_out);
		render_out = g_strdup(value);
	}
	return TRUE;
}

#define NOT_GIVEN G_MININT64

/* SIGTERM, SIGINT or SIGHUP (a session ending, kill, Ctrl-C in the
 * terminal): every window closes, as when the user closes them, so a
 * program ravscope started (Run Program, `ravscope -- PROG`) ends with it
 * (SIGTERM after release, SIGKILL 2 s later; one it attached to, or
 * detached from, runs on).  A signal ignored when ravscope starts (nohup)
 * stays ignored.  Killed outright, ravscope left the program it
 * started running on its own, as gdb's quit does not.  A second signal
 * while closing ends ravscope at once. */
static gboolean on_quit_signal(gpointer data)
{
	static int signals;
	if (signals++) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		return G_SOURCE_REMOVE;
	}
	GtkApplication *app = data;
	GList *windows = g_list_copy(gtk_application_get_windows(app));
	for (GList *l = windows; l; l = l->next) {
		/* at once (the window's dispose may come after the quit) */
		if (RAVSCOPE_IS_WINDOW(l->data))
			ravscope_window_end_live(RAVSCOPE_WINDOW(l->data));
		gtk_window_destroy(GTK_WINDOW(l->data));
	}
	g_list_free(windows);
	g_application_quit(G_APPLICATION(app));
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	/* The option parser allocates the strings it stores. */
	g_autofree char *output = NULL, *size = NULL, *select = NULL, *focus = NULL, *panel = NULL, *brk = NULL;
	/* NOT_GIVEN / NAN: the option was not given (a value the user can
	 * type, such as -1 or 0, is checked, not taken for the default) */
	gint64 from = NOT_GIVEN, to = NOT_GIVEN;
	double fps = NAN;
	int step_ms = 0;
	gint64 event = NOT_GIVEN, contention_window = NOT_GIVEN;
	double cell_px = NAN;
	gboolean bench = FALSE, dark = FALSE, large = FALSE, no_legend = FALSE, no_chrome = FALSE;
	gboolean contention = FALSE, counts = FALSE, version = FALSE, list_demos = FALSE;
	gboolean list_lessons = FALSE, check_lesson = FALSE;
	int frames = 0;
	gboolean live = FALSE;
	gint64 per_frame = 0;
	double anim = NAN;
	GOptionEntry entries[] = {
		{ "render", 0, G_OPTION_FLAG_OPTIONAL_ARG | G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, on_render,
		  "Draw FILE's heap without a display: to OUT, or to -o's file", "OUT.png" },
		{ "output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
		  "With --render: the file, its format from its name: .png, .svg, .pdf, .gif (animated), "
		  "a name with %d or a directory (numbered PNG frames); .png of a range is an animated PNG", "OUT" },
		{ "event", 0, 0, G_OPTION_ARG_INT64, &event, "The state just before event N (default: when most cells are live)", "N" },
		{ "from", 0, 0, G_OPTION_ARG_INT64, &from, "With --render: play events from N, change by change (an animation, PDF pages or frames)", "N" },
		{ "to", 0, 0, G_OPTION_ARG_INT64, &to, "With --render: ... up to event N (default: the end)", "N" },
		{ "fps", 0, 0, G_OPTION_ARG_DOUBLE, &fps, "With --from/--to: frames per second (default 10)", "F" },
		{ "step-ms", 0, 0, G_OPTION_ARG_INT, &step_ms, "With --from/--to: how long each change lasts, its animation drawn over it (default 500)", "MS" },
		{ "size", 0, 0, G_OPTION_ARG_STRING, &size, "With --render/--bench: image size (default 1280x800)", "WxH" },
		{ "select", 0, 0, G_OPTION_ARG_STRING, &select, "Select a cell and show its links", "PAGE.CELL" },
		{ "panel", 0, 0, G_OPTION_ARG_STRING, &panel, "In the window: show this side panel (its tab: cell, graph, events, sites, explain, lines, charts, breaks, errors)", "NAME" },
		{ "break", 0, 0, G_OPTION_ARG_STRING, &brk, "In the window: a breakpoint on a call site (FUNCTION, FILE:LINE, *ADDRESS), the playhead at its first hit", "WHERE" },
		{ "focus", 0, 0, G_OPTION_ARG_STRING, &focus, "With --render: zoom onto the page of this cell", "PAGE.CELL" },
		{ "cell-px", 0, 0, G_OPTION_ARG_DOUBLE, &cell_px, "With --render: pixels per cell (default: fit the heap)", "N" },
		{ "dark", 0, 0, G_OPTION_ARG_NONE, &dark, "With --render: dark style", NULL },
		{ "large-text", 0, 0, G_OPTION_ARG_NONE, &large, "With --render: presentation (large text) style", NULL },
		{ "no-legend", 0, 0, G_OPTION_ARG_NONE, &no_legend, "With --render: leave out the type legend", NULL },
		{ "no-chrome", 0, 0, G_OPTION_ARG_NONE, &no_chrome, "With --render: only the heap (no title, labels, timeline)", NULL },
		{ "contention", 0, 0, G_OPTION_ARG_NONE, &contention, "With --render: compute and overlay cache contention", NULL },
		{ "contention-window", 0, 0, G_OPTION_ARG_INT64, &contention_window, "With --contention: only the N events before the drawn one (what the Lines panel's \"Only around the playhead\" shows; default: the whole trace)", "N" },
		{ "print-counts", 0, 0, G_OPTION_ARG_NONE, &counts, "With --render: print cells per type and their colours", NULL },
		{ "anim", 0, 0, G_OPTION_ARG_DOUBLE, &anim, "With --render: apply the next visible event and draw its animation at time T (0..1)", "T" },
		{ "bench", 0, 0, G_OPTION_ARG_NONE, &bench, "Play FILE headless and print frame-time percentiles", NULL },
		{ "frames", 0, 0, G_OPTION_ARG_INT, &frames, "With --bench: frames per zoom level (default 240; --live: 300, 5 s)", "N" },
		{ "live", 0, 0, G_OPTION_ARG_NONE, &live, "With --bench: attach to a running program ([-- PROG ARGS...], default rav-sample-live --flat-out) and time the live view", NULL },
		{ "events-per-frame", 0, 0, G_OPTION_ARG_INT64, &per_frame, "With --bench: events applied per frame (default 2000)", "N" },
		{ "list-demos", 0, 0, G_OPTION_ARG_NONE, &list_demos, "Print the demo traces the Open Demo menu offers", NULL },
		{ "list-lessons", 0, 0, G_OPTION_ARG_NONE, &list_lessons, "Print the lesson files the Lessons menu offers", NULL },
		{ "check-lesson", 0, 0, G_OPTION_ARG_NONE, &check_lesson, "Check lesson FILEs against their traces (errors name FILE:LINE)", NULL },
		{ "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version", NULL },
		{ NULL },
	};
	/* Only consume our own options when a headless mode is asked for;
	 * otherwise GApplication parses the command line (files, --help). */
	gboolean headless = FALSE;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--bench") || !strncmp(argv[i], "--render", 8) || !strcmp(argv[i], "--version") ||
		    !strcmp(argv[i], "-o") || !strncmp(argv[i], "--output", 8) ||
		    !strcmp(argv[i], "--list-demos") || !strcmp(argv[i], "--list-lessons") ||
		    !strcmp(argv[i], "--check-lesson") ||
		    !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			headless = TRUE;
	if (headless) {
		/* the window's own options, which this parser does not know
		 * (GOption said "Unknown option --attach") */
		for (int i = 1; i < argc; i++) {
			if (!strcmp(argv[i], "--"))
				break; /* --bench --live -- PROG ARGS */
			if (!strcmp(argv[i], "--attach") || !strncmp(argv[i], "--attach=", 9) || !strcmp(argv[i], "--compare")) {
				g_printerr("ravscope: %s opens a window; it does not go with --render, --bench, --list-*, "
					   "--check-lesson, --help or --version\n", argv[i]);
				return 2;
			}
		}
		GOptionContext *ctx = g_option_context_new("[FILE] - replay and explore ravioli heap traces");
		g_option_context_set_summary(ctx,
			"Without options, opens FILE (a .ravtrace) in a window.\n"
			"--render and --bench work without a display.");
		/* What the window takes besides FILE: the options above are
		 * the headless ones (and the window's --event, --select, --panel,
		 * --break); these are parsed before GTK starts, out of this
		 * context, so the help says them here. */
		g_option_context_set_description(ctx,
			"Also:\n"
			"  ravscope LESSON.lesson      play a lesson (--list-lessons lists them)\n"
			"  ravscope --attach PID       watch a running program ('ravtrace list' shows them)\n"
			"  ravscope -- PROG [ARGS...]  run PROG, attached from its first event\n"
			"  ravscope --compare          chatty threads against messages, side by side\n"
			"'man ravscope' describes them and the keys.");
		g_option_context_add_main_entries(ctx, entries, NULL);
		GError *error = NULL;
		if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
			g_printerr("ravscope: %s\n", error->message);
			g_error_free(error);
			g_option_context_free(ctx);
			return 2;
		}
		g_option_context_free(ctx);
		if (version) {
			g_print("ravscope %s\n", RAV_VERSION);
			return 0;
		}
		if (list_demos) {
			GPtrArray *demos = ravscope_application_list_demos();
			for (guint i = 0; i < demos->len; i++)
				g_print("%s\n", (const char *)g_ptr_array_index(demos, i));
			g_ptr_array_unref(demos);
			return 0;
		}
		if (bench && live) {
			RavscopeRenderOptions lo = { .size = size, .frames = frames };
			/* what follows `--` (GOptionContext leaves it, or drops the "--") */
			int at = 1;
			if (at < argc && !strcmp(argv[at], "--"))
				at++;
			return ravscope_headless_bench_live(&lo, at < argc ? argv + at : NULL);
		}
		if (list_lessons) {
			GPtrArray *lessons = ravscope_application_list_lessons();
			for (guint i = 0; i < lessons->len; i++)
				g_print("%s\n", (const char *)g_ptr_array_index(lessons, i));
			g_ptr_array_unref(lessons);
			return 0;
		}
		if (check_lesson)
			return check_lessons(argc, argv);
		if (panel || brk) {
			/* accepted and ignored before */
			g_printerr("ravscope: --%s is the window's; %s draws the heap alone\n", panel ? "panel" : "break",
				   bench ? "--bench" : "--render");
			return 2;
		}
		if (argc == 1 && !bench && render_out && !output && g_str_has_suffix(render_out, ".ravtrace")) {
			/* "--render FILE": GOption takes the word after --render as
			 * its OUT (it said "needs exactly one trace FILE (got 0)") */
			g_printerr("ravscope: --render %s: that is the picture to write; the trace FILE comes after it: "
				   "ravscope --render OUT.png %s (or --render -o OUT.png %s)\n",
				   render_out, render_out, render_out);
			return 2;
		}
		if (argc != 2) {
			g_printerr("ravscope: %s needs exactly one trace FILE (got %d)\n", bench ? "--bench" : "--render", argc - 1);
			return 2;
		}
		if (render_out && output) {
			g_printerr("ravscope: give the output once: --render OUT or --render -o OUT\n");
			return 2;
		}
		const struct { const char *name; gint64 v; } counts_given[] = {
			{ "--event", event }, { "--from", from }, { "--to", to },
		};
		for (guint i = 0; i < G_N_ELEMENTS(counts_given); i++)
			if (counts_given[i].v != NOT_GIVEN && counts_given[i].v < 0) {
				g_printerr("ravscope: %s needs an event index or count (0 or more), not %" G_GINT64_FORMAT "\n",
					   counts_given[i].name, counts_given[i].v);
				return 2;
			}
		if (!isnan(fps) && !(fps > 0 && fps <= 100)) {
			g_printerr("ravscope: --fps takes more than 0 and at most 100 frames per second, not %g\n", fps);
			return 2;
		}
		if (!isnan(cell_px) && !(cell_px > 0 && cell_px <= 4096)) {
			g_printerr("ravscope: --cell-px takes more than 0 and at most 4096 pixels, not %g\n", cell_px);
			return 2;
		}
		if (!isnan(anim) && !(anim >= 0 && anim <= 1)) {
			g_printerr("ravscope: --anim takes a time from 0 to 1, not %g\n", anim);
			return 2;
		}
		/* back to the values that mean "not given" below */
		from = from == NOT_GIVEN ? -1 : from;
		to = to == NOT_GIVEN ? -1 : to;
		event = event == NOT_GIVEN ? -1 : event;
		/* (a negative window given is 0: the render's own check names the range) */
		contention_window = contention_window == NOT_GIVEN ? -1 : MAX(contention_window, 0);
		fps = isnan(fps) ? 0 : fps;
		cell_px = isnan(cell_px) ? 0 : cell_px;
		anim = isnan(anim) ? -1 : anim;
		RavscopeRenderOptions o = {
			.file = argv[1], .output = output ? output : render_out, .event = event, .size = size, .select = select,
			.focus = focus, .cell_px = cell_px, .dark = dark, .large_text = large, .no_legend = no_legend,
			.no_chrome = no_chrome, .contention = contention, .contention_window = contention_window,
			.print_counts = counts, .frames = frames, .anim = anim,
			.events_per_frame = per_frame, .from = from, .to = to, .fps = fps, .step_ms = step_ms,
		};
		int rc = bench ? ravscope_headless_bench(&o) : ravscope_headless_render(&o);
		g_free(render_out);
		return rc;
	}
	/* Without any display GTK can only fail; point at the headless mode. */
	if (!g_getenv("DISPLAY") && !g_getenv("WAYLAND_DISPLAY") && !g_getenv("BROADWAY_DISPLAY")) {
		g_printerr("ravscope: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset).\n"
			   "To draw a trace without a display: ravscope --render OUT.png FILE\n");
		return 1;
	}
	/* Live sessions: `--attach PID` and `-- PROG ARGS...` are taken out
	 * here; the rest (files, GTK options) goes to GApplication. */
	int attach_pid = 0;
	char **run_argv = NULL;
	int kept = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			if (i + 1 >= argc) {
				g_printerr("ravscope: -- needs a program to run: ravscope -- PROG [ARGS...]\n");
				return 2;
			}
			run_argv = g_new0(char *, argc - i);
			for (int k = i + 1; k < argc; k++)
				run_argv[k - i - 1] = argv[k];
			break;
		}
		const char *v = NULL;
		if (!strcmp(argv[i], "--attach") && i + 1 < argc)
			v = argv[++i];
		else if (!strncmp(argv[i], "--attach=", 9))
			v = argv[i] + 9;
		else if (!strcmp(argv[i], "--attach")) {
			g_printerr("ravscope: --attach needs a PID (ravtrace list shows them)\n");
			return 2;
		}
		if (v) {
			char *end;
			long pid = strtol(v, &end, 10);
			if (*end || pid <= 0 || pid > 0x7fffffff) {
				g_printerr("ravscope: --attach %s: not a process id\n", v);
				return 2;
			}
			attach_pid = (int)pid;
			continue;
		}
		argv[kept++] = argv[i];
	}
	argc = kept;
	argv[argc] = NULL;
	RavscopeApplication *app = ravscope_application_new();
	ravscope_application_set_startup_live(app, attach_pid, (const char *const *)run_argv);
	g_free(run_argv);
	/* --compare (with or without files): also the chatty-vs-messages window. */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--compare")) {
			ravscope_application_set_open_compare(app, TRUE);
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i) * sizeof *argv);
			argc--;
			break;
		}
	guint quit_sources[3];
	const int quit_signals[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		/* one ignored from the start stays so (nohup, a shell's
		 * background job and SIGINT) */
		struct sigaction cur;
		quit_sources[i] = 0;
		if (sigaction(quit_signals[i], NULL, &cur) == 0 && cur.sa_handler != SIG_IGN)
			quit_sources[i] = g_unix_signal_add(quit_signals[i], on_quit_signal, app);
	}
	int status = g_application_run(G_APPLICATION(app), argc, argv);
	for (int i = 0; i < 3; i++)
		if (quit_sources[i])
			g_source_remove(quit_sources[i]);
	g_object_unref(app);
	return status;
}
