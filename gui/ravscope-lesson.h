/* ravscope-lesson.h - a lesson: a recorded trace and the narration steps
 * that walk a class through it (docs/lessons.md describes the file).
 *
 * Loading parses and checks the file on its own (errors name FILE:LINE);
 * resolving finds each step's place in its trace (the marks and events
 * its anchor names) and checks that the steps go forward and that the
 * threads and types they highlight exist.  Plain GLib and libravtrace: the
 * test of the shipped lessons and `ravscope --check-lesson` need no
 * display.
 */
#pragma once

#include <glib.h>

#include "ravtrace.h"

G_BEGIN_DECLS

#define RAVSCOPE_LESSON_ERROR (ravscope_lesson_error_quark())
GQuark ravscope_lesson_error_quark(void);
typedef enum {
	RAVSCOPE_LESSON_ERROR_READ,    /* the file cannot be read */
	RAVSCOPE_LESSON_ERROR_SYNTAX,  /* a line is not what the format allows */
	RAVSCOPE_LESSON_ERROR_MISSING, /* a required key or section is absent */
	RAVSCOPE_LESSON_ERROR_TRACE,   /* the trace is not found or cannot be read */
	RAVSCOPE_LESSON_ERROR_ANCHOR,  /* a step's place or highlight is not in the trace */
} RavscopeLessonErrorCode;

typedef enum {
	RAVSCOPE_AT_START,
	RAVSCOPE_AT_END,
	RAVSCOPE_AT_MARK,
	RAVSCOPE_AT_EVENT,
} RavscopeAnchorKind;

typedef enum {
	RAVSCOPE_SHOW_OPERATION, /* the cells the step's operation touched */
	RAVSCOPE_SHOW_CELL,      /* one cell, PAGE.CELL */
	RAVSCOPE_SHOW_TYPE,      /* every live cell of a type */
	RAVSCOPE_SHOW_THREAD,    /* a thread's lane */
	RAVSCOPE_SHOW_PAGES,     /* every page a thread owns */
} RavscopeShowKind;

typedef struct {
	RavscopeShowKind kind;
	char *arg; /* type or thread name; unused for operation */
	rav_loc cell;
	char *label; /* optional */
} RavscopeLessonShow;

typedef enum {
	RAVSCOPE_ZOOM_KEEP,
	RAVSCOPE_ZOOM_FIT,
	RAVSCOPE_ZOOM_OPERATION,
} RavscopeZoom;

typedef struct {
	guint line; /* of its [step] header */
	char *title;
	char *text;
	/* where: at, then, thread */
	RavscopeAnchorKind at;
	guint at_line;
	char *mark;
	guint mark_nth; /* 1-based */
	guint64 event;
	int then_kind; /* rav_ev_kind, -1: none */
	guint then_nth;
	guint then_line;
	char *thread;
	guint thread_line;
	GArray *show; /* RavscopeLessonShow; NULL: the default (operation when there is one) */
	guint show_line;
	RavscopeZoom zoom;
	int contention; /* -1 leave, 0 off, 1 on */
	gboolean links;  /* draw the references out of the cells it shows */
	guint links_line;
	/* Resolved against the trace. */
	guint64 target;  /* playhead position of the step: the events before it are applied */
	gboolean has_op; /* the step is about an operation */
	rav_operation op;
} RavscopeLessonStep;

typedef struct {
	char *path;
	char *title, *summary;
	char *trace; /* as written */
	guint trace_line;
	char *trace_path; /* found (ravscope_lesson_find_trace) */
	int order;
	GPtrArray *steps; /* RavscopeLessonStep */
} RavscopeLesson;

RavscopeLesson *ravscope_lesson_load(const char *path, GError **error);
/* Parse text as if read from `path` (which names it in errors). */
RavscopeLesson *ravscope_lesson_parse(const char *path, const char *text, gsize len, GError **error);
void ravscope_lesson_free(RavscopeLesson *lesson);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RavscopeLesson, ravscope_lesson_free)

/* The trace file: the lesson's own directory first, then `dirs` (the
 * demo and lesson directories; NULL-terminated, may be NULL). */
gboolean ravscope_lesson_find_trace(RavscopeLesson *lesson, const char *const *dirs, GError **error);
/* Place every step in the (indexed) trace. */
gboolean ravscope_lesson_resolve(RavscopeLesson *lesson, rav_trace *trace, GError **error);

/* Find, open, index and resolve in one go (for checks without a window). */
gboolean ravscope_lesson_check(RavscopeLesson *lesson, const char *const *dirs, GError **error);

G_END_DECLS
