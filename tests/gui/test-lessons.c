/* test-lessons.c - the lesson files: every shipped lesson fits its trace,
 * and broken lessons are refused with the file and line.
 *
 * Usage: test-lessons DEMO_DIR LESSON...  Each lesson is loaded, its
 * trace found (next to it or in DEMO_DIR), indexed, and every step placed:
 * a step with `then` is about the operation holding the N-th event of
 * that kind after its anchor, and its place is the end of that
 * operation; steps go forward.  Then a table of broken lessons, each with
 * the line and words its error must name.  Taken together, the lessons
 * must be the course issue #12 lists, in its order (the syllabus).  No
 * display is needed.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ravscope-lesson.h"

static const char *demo_dir;

static void check_shipped(gconstpointer data)
{
	const char *path = data;
	GError *error = NULL;
	g_autoptr(RavscopeLesson) l = ravscope_lesson_load(path, &error);
	g_assert_no_error(error);
	const char *dirs[] = {demo_dir, NULL};
	ravscope_lesson_check(l, dirs, &error);
	g_assert_no_error(error);
	g_assert_true(l->title && *l->title);
	g_assert_cmpuint(l->steps->len, >=, 3);
	/* Check the places against the trace again, step by step. */
	rav_trace_error err;
	rav_trace *t = rav_trace_open(l->trace_path, &err);
	g_assert_nonnull(t);
	g_assert_cmpint(rav_trace_index(t, NULL, NULL, &err), ==, 0);
	guint64 prev = 0;
	for (guint i = 0; i < l->steps->len; i++) {
		RavscopeLessonStep *st = g_ptr_array_index(l->steps, i);
		g_assert_true(st->text && strlen(st->text) > 20);
		g_assert_cmpuint(st->target, >=, prev);
		g_assert_cmpuint(st->target, <=, rav_trace_indexed_events(t));
		prev = st->target;
		if (st->then_kind < 0)
			continue;
		/* The operation holds an event of the kind the step names... */
		g_assert_true(st->has_op);
		g_assert_cmpuint(st->target, ==, st->op.last + 1);
		gboolean found = FALSE;
		for (guint64 e = st->op.first; e <= st->op.last && !found; e++) {
			rav_event ev;
			g_assert_true(rav_trace_event_at(t, e, &ev));
			found = ev.kind == (unsigned)st->then_kind && ev.thread == st->op.thread;
		}
		if (!found)
			g_error("%s:%u: the step's operation %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
			        " holds no %s event",
			        path, st->line, st->op.first, st->op.last,
			        rav_event_kind_name((unsigned)st->then_kind));
		/* ...and is what operation_at says for its first event. */
		rav_operation op;
		g_assert_true(rav_trace_operation_at(t, st->op.first, &op));
		g_assert_cmpuint(op.last, ==, st->op.last);
	}
	rav_trace_close(t);
}

typedef struct {
	const char *text;
	guint line;          /* the line the error names (0: none) */
	const char *words;   /* in the message */
	gboolean at_resolve; /* found when placing it in the trace, not when reading */
} Broken;

static const Broken broken[] = {
    {"title = x\n", 1, "before any section", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n", 0, "no [step]", FALSE},
    {"[lesson]\ntrace = T\n[step]\nat = start\ntext = hello there\n", 1, "no 'title'", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\ntext = hello there\n", 4, "no 'at'", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\n", 4, "no 'text'", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[stp]\n", 4, "unknown section", FALSE},
    {"[lesson]\ntitle = x\ntitle = y\n", 3, "twice", FALSE},
    {"[lesson]\ntitle = x\ncolour = red\n", 3, "no key 'colour'", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = somewhere\ntext = t\n", 5, "'at' is", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nthen = allok\ntext = t\n", 6, "not an event kind",
     FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nthen = alloc 0\ntext = t\n", 6, "from 1", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = everything\ntext = t\n", 6, "'show' takes",
     FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = cell 1-4\ntext = t\n", 6, "not a cell",
     FALSE},
    /* 2^32 + 1 wrapped to page 1 before */
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = cell 4294967297.1\ntext = t\n", 6,
     "not a cell", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = cell 1.16384\ntext = t\n", 6, "not a cell",
     FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nthread = main\ntext = t\n", 6, "no 'then'", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nlinks = yes\ntext = t\n", 6, "'links' is on or off",
     FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = thread main\nlinks = on\ntext = t\n", 7,
     "names no cells", FALSE},
    {"  indented\n", 1, "none to continue", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\ntext = a\n  b [c](glossary:nope)\n", 7,
     "'nope', which is not a glossary entry", FALSE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = mark no such mark\ntext = t\n", 5,
     "no mark \"no such mark\"", TRUE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nthen = gc-begin\ntext = t\n", 6,
     "only 0 gc-begin events", TRUE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = end\ntext = a\n[step]\nat = start\ntext = b\n", 7,
     "comes before", TRUE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nthen = alloc 3\ntext = a\n[step]\nat = start\nthen = "
     "alloc\ntext = b\n",
     8, "where 'then = alloc 3' on line 6 took it", TRUE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = thread nobody\ntext = t\n", 6,
     "no thread named", TRUE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nshow = type nothing\ntext = t\n", 6, "no type",
     TRUE},
    {"[lesson]\ntitle = x\ntrace = T\n[step]\nat = start\nzoom = operation\ntext = t\n", 4,
     "needs a step about an operation", TRUE},
    {"[lesson]\ntitle = x\ntrace = missing.ravtrace\n[step]\nat = start\ntext = t\n", 3, "neither next to",
     TRUE},
};

static void check_broken(gconstpointer data)
{
	const char *trace = data;
	g_autofree char *dir = g_dir_make_tmp("lessons-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_autofree char *base = g_path_get_basename(trace);
	for (guint i = 0; i < G_N_ELEMENTS(broken); i++) {
		/* "T" stands for the test trace, found through the dirs. */
		g_autofree char *text = NULL;
		{
			g_auto(GStrv) parts = g_strsplit(broken[i].text, "trace = T\n", -1);
			g_autofree char *with = g_strdup_printf("trace = %s\n", base);
			text = g_strjoinv(with, parts);
		}
		g_autofree char *path = g_build_filename(dir, "broken.lesson", NULL);
		g_assert_true(g_file_set_contents(path, text, -1, NULL));
		GError *error = NULL;
		RavscopeLesson *l = ravscope_lesson_load(path, &error);
		if (l) {
			g_autofree char *tdir = g_path_get_dirname(trace);
			const char *dirs[] = {tdir, NULL};
			gboolean ok = ravscope_lesson_check(l, dirs, &error);
			g_assert_false(ok);
			ravscope_lesson_free(l);
			if (!broken[i].at_resolve)
				g_error("case %u: accepted when read, refused only when placed: %s", i,
				        error->message);
		} else if (broken[i].at_resolve) {
			g_error("case %u: refused when read: %s", i, error->message);
		}
		g_assert_nonnull(error);
		g_autofree char *want = broken[i].line ? g_strdup_printf("%s:%u: ", path, broken[i].line)
		                                       : g_strdup_printf("%s: ", path);
		if (!g_str_has_prefix(error->message, want) || !strstr(error->message, broken[i].words))
			g_error("case %u: expected \"%s...%s\", got \"%s\"", i, want, broken[i].words,
			        error->message);
		g_error_free(error);
		g_unlink(path);
	}
	g_rmdir(dir);
}

static void check_text(void)
{
	const char *text = "# a comment\n"
	                   "[lesson]\n"
	                   "title = Joined\n"
	                   "trace = t.ravtrace\n"
	                   "order = 3\n"
	                   "\n"
	                   "[step]\n"
	                   "at = mark a mark with # inside #2\n"
	                   "then = move 3\n"
	                   "thread = main\n"
	                   "show = operation; thread main \"its lane\"; cell 1.4\n"
	                   "zoom = fit\n"
	                   "contention = on\n"
	                   "links = on\n"
	                   "text = first line\n"
	                   "  continues here\n"
	                   "  # a comment inside is skipped\n"
	                   "\n"
	                   "  a new paragraph\n";
	GError *error = NULL;
	g_autoptr(RavscopeLesson) l = ravscope_lesson_parse("inline.lesson", text, strlen(text), &error);
	g_assert_no_error(error);
	g_assert_cmpstr(l->title, ==, "Joined");
	g_assert_cmpint(l->order, ==, 3);
	RavscopeLessonStep *st = g_ptr_array_index(l->steps, 0);
	g_assert_cmpstr(st->text, ==, "first line continues here\n\na new paragraph");
	g_assert_cmpstr(st->mark, ==, "a mark with # inside");
	g_assert_cmpuint(st->mark_nth, ==, 2);
	g_assert_cmpint(st->then_kind, ==, rav_event_kind_from_name("move"));
	g_assert_cmpuint(st->then_nth, ==, 3);
	g_assert_cmpstr(st->thread, ==, "main");
	g_assert_cmpuint(st->show->len, ==, 3);
	RavscopeLessonShow *s1 = &g_array_index(st->show, RavscopeLessonShow, 1);
	g_assert_cmpint(s1->kind, ==, RAVSCOPE_SHOW_THREAD);
	g_assert_cmpstr(s1->label, ==, "its lane");
	RavscopeLessonShow *s2 = &g_array_index(st->show, RavscopeLessonShow, 2);
	g_assert_cmpuint(s2->cell, ==, rav_loc_make(1, 4, 0));
	g_assert_cmpint(st->zoom, ==, RAVSCOPE_ZOOM_FIT);
	g_assert_cmpint(st->contention, ==, 1);
	g_assert_true(st->links);
	/* A trace where the lesson goes: says what it is (it said "the file
	 * is not UTF-8 text") */
	const char tr[] = {'R', 'A', 'V', 'T', 'R', 'A', 'C', 'E', 1, 0, 6, 0, (char)0xff};
	g_assert_null(ravscope_lesson_parse("x.ravtrace", tr, sizeof tr, &error));
	g_assert_error(error, RAVSCOPE_LESSON_ERROR, RAVSCOPE_LESSON_ERROR_READ);
	if (!strstr(error->message, "this is a trace, not a lesson"))
		g_error("a trace as a lesson: %s", error->message);
	g_clear_error(&error);
	/* Not text at all. */
	const char bin[] = {'[', 0, 1, 2};
	g_assert_null(ravscope_lesson_parse("bin.lesson", bin, sizeof bin, &error));
	g_assert_error(error, RAVSCOPE_LESSON_ERROR, RAVSCOPE_LESSON_ERROR_READ);
	g_clear_error(&error);
	g_assert_null(ravscope_lesson_load("/nonexistent/x.lesson", &error));
	g_assert_error(error, RAVSCOPE_LESSON_ERROR, RAVSCOPE_LESSON_ERROR_READ);
	g_clear_error(&error);
}

/* The course issue #12 asks for, in its order: the words each lesson's
 * title or narration must use ('|' between alternatives).  A lesson
 * dropped, renumbered or rewritten away from its subject fails here. */
static const char *const syllabus[][3] = {
    {"cells and the top of the heap", "top", "page header"},
    {"a free moves the top cell", "free", "hole"},
    {"many referrers and reference ravioli", "reference ravioli", "referrer"},
    {"big objects as trees", "vector", "string"},
    {"one heap per thread, pages, the two-empty-page rule", "thread", "two empty pages|two-empty-page"},
    {"messages hand pages over, arrival compaction", "hand", "arrival compaction"},
    {"serialization", "serializ", "page"},
    {"garbage and cycles", "cycle", "rav_collect|collection"},
    {"chatty threads against message passing", "chatty", "message"},
    {"deferred compaction", "deferred", "rav_compact"},
};

static char **shipped_paths;
static int shipped_count;

static gint by_order(gconstpointer a, gconstpointer b)
{
	const RavscopeLesson *x = *(RavscopeLesson *const *)a, *y = *(RavscopeLesson *const *)b;
	return (x->order > y->order) - (x->order < y->order);
}

static void check_syllabus(void)
{
	g_autoptr(GPtrArray) lessons = g_ptr_array_new_with_free_func((GDestroyNotify)ravscope_lesson_free);
	for (int i = 0; i < shipped_count; i++) {
		GError *error = NULL;
		RavscopeLesson *l = ravscope_lesson_load(shipped_paths[i], &error);
		g_assert_no_error(error);
		g_ptr_array_add(lessons, l);
	}
	g_ptr_array_sort(lessons, by_order);
	g_assert_cmpuint(lessons->len, >=, G_N_ELEMENTS(syllabus));
	for (guint i = 0; i < lessons->len; i++) {
		RavscopeLesson *l = g_ptr_array_index(lessons, i);
		/* The Lessons menu numbers them 1, 2, ...: no gap, no tie. */
		g_assert_cmpint(l->order, ==, (int)i + 1);
		if (i >= G_N_ELEMENTS(syllabus))
			continue;
		GString *all = g_string_new(l->title);
		for (guint k = 0; k < l->steps->len; k++) {
			RavscopeLessonStep *st = g_ptr_array_index(l->steps, k);
			g_string_append_printf(all, "\n%s\n%s", st->title ? st->title : "", st->text);
		}
		g_autofree char *low = g_utf8_strdown(all->str, -1);
		g_string_free(all, TRUE);
		for (guint w = 1; w < 3; w++) {
			g_auto(GStrv) alts = g_strsplit(syllabus[i][w], "|", -1);
			gboolean found = FALSE;
			for (guint a = 0; alts[a] && !found; a++)
				found = strstr(low, alts[a]) != NULL;
			if (!found)
				g_error("%s: lesson %u should teach %s but never says \"%s\"", l->path, i + 1,
				        syllabus[i][0], syllabus[i][w]);
		}
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc < 3) {
		g_printerr("usage: test-lessons DEMO_DIR LESSON...\n");
		return 2;
	}
	demo_dir = argv[1];
	g_test_add_func("/Rav/Gui/Lessons/format", check_text);
	const char *any_trace = NULL;
	for (int i = 2; i < argc; i++) {
		g_autofree char *base = g_path_get_basename(argv[i]);
		g_autofree char *name = g_strdup_printf("/Rav/Gui/Lessons/shipped/%s", base);
		g_test_add_data_func(name, argv[i], check_shipped);
		if (!any_trace) {
			g_autoptr(RavscopeLesson) l = ravscope_lesson_load(argv[i], NULL);
			const char *dirs[] = {demo_dir, NULL};
			if (l && ravscope_lesson_find_trace(l, dirs, NULL))
				any_trace = g_intern_string(l->trace_path);
		}
	}
	if (any_trace)
		g_test_add_data_func("/Rav/Gui/Lessons/broken", any_trace, check_broken);
	shipped_paths = argv + 2;
	shipped_count = argc - 2;
	g_test_add_func("/Rav/Gui/Lessons/syllabus", check_syllabus);
	return g_test_run();
}
