/* fuzz-lesson.c - libFuzzer target for lesson files (docs/lessons.md), the
 * text teachers write and `ravscope --check-lesson` and the Lessons menu
 * read.  The input is a lesson file's bytes, parsed by the real
 * ravscope_lesson_parse; a lesson that parses is resolved against a trace
 * opened and indexed once at start-up (the trace corpus's sample-list
 * recording, which has threads, types, marks and operations), whatever
 * trace it names, so that its anchors (at, then, thread, show) are looked
 * up as in a real check.  Either is a lesson or an error naming FILE:LINE,
 * never a crash, a hang or a leak.  Plain GLib and libravtrace: no GTK.
 * Seeds: gui/fuzz/corpus-lesson/ (some of samples/lessons/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ravscope-lesson.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rav_trace *trace;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *path = FUZZ_LESSON_TRACE;
	rav_trace_error e;
	trace = rav_trace_open(path, &e);
	if (!trace || rav_trace_index(trace, NULL, NULL, &e) != 0) {
		fprintf(stderr, "fuzz-lesson: %s: %s\n", path, e.message);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	GError *error = NULL;
	RavscopeLesson *l = ravscope_lesson_parse("fuzz.lesson", (const char *)data, size, &error);
	if (!l) {
		if (!error || !g_str_has_prefix(error->message, "fuzz.lesson"))
			abort(); /* an error names the file (and the line) */
		g_error_free(error);
		return 0;
	}
	if (!ravscope_lesson_resolve(l, trace, &error)) {
		if (!error)
			abort();
		g_error_free(error);
	}
	ravscope_lesson_free(l);
	return 0;
}
