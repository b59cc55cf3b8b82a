/* ravscope-window.h - the main window: one open trace and its views. */
#pragma once

#include <adwaita.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_WINDOW (ravscope_window_get_type())
G_DECLARE_FINAL_TYPE(RavscopeWindow, ravscope_window, RAVSCOPE, WINDOW, AdwApplicationWindow)

RavscopeWindow *ravscope_window_new(GtkApplication *app);
void ravscope_window_open(RavscopeWindow *self, GFile *file);
/* For tests and scripting: the open document (NULL if none), and the
 * page of the main stack that is showing ("welcome", "error", "trace"). */
RavscopeDocument *ravscope_window_get_document(RavscopeWindow *self);
const char *ravscope_window_get_page(RavscopeWindow *self);
const char *ravscope_window_get_error_text(RavscopeWindow *self);
/* Select a cell as a click would; returns the inspector's text. */
void ravscope_window_select_cell(RavscopeWindow *self, rav_loc cell);
char *ravscope_window_dup_inspector_text(RavscopeWindow *self);
void ravscope_window_seek(RavscopeWindow *self, guint64 event);
gboolean ravscope_window_is_playing(RavscopeWindow *self);
/* Are play, step and jump enabled (a trace with events)? */
gboolean ravscope_window_can_play(RavscopeWindow *self);
GtkWidget *ravscope_window_get_heap_view(RavscopeWindow *self);
/* Live sessions (ravscope-window-live*.c): attach to a running program, or
 * start one attached from its first event; errors show in the window. */
void ravscope_window_attach(RavscopeWindow *self, int pid);
/* accesses: also record memory accesses (the contention overlay slides
 * over the newest of them). */
void ravscope_window_attach_full(RavscopeWindow *self, int pid, gboolean accesses);
void ravscope_window_run(RavscopeWindow *self, const char *const *argv);
/* The session ends as when the window closes: a program the window started
 * ends (unless detached), one it attached to runs on. */
void ravscope_window_end_live(RavscopeWindow *self);
/* For tests: the session (NULL if none), whether the view follows the
 * newest event, the last status, the live bar's text, frames drawn. */
struct _RavscopeLive *ravscope_window_get_live(RavscopeWindow *self);
gboolean ravscope_window_is_following(RavscopeWindow *self);
const rav_live_status *ravscope_window_get_live_status(RavscopeWindow *self);
const char *ravscope_window_get_live_text(RavscopeWindow *self);
guint64 ravscope_window_get_live_frames(RavscopeWindow *self);
/* Seconds the followed view is behind the program (0 when not following,
 * at the newest event, or once the session ended). */
double ravscope_window_get_live_behind(RavscopeWindow *self);
const char *ravscope_window_get_live_stop_text(RavscopeWindow *self); /* why it stopped, NULL if running */
struct _RavscopeBreakpointsPanel *ravscope_window_get_breakpoints_panel(RavscopeWindow *self);
guint ravscope_window_get_error_count(RavscopeWindow *self);
/* The Export dialog win.export opened (a RavscopeExportDialog), NULL if none. */
GtkWindow *ravscope_window_get_export_dialog(RavscopeWindow *self);
/* What to show once the trace opened next is indexed: the playhead at
 * `event` (-1: the busiest moment), a selected cell (RAV_LOC_NONE: none),
 * a side panel by name ("inspector", "events", "sites", "contention",
 * "charts"; NULL: as it is). */
void ravscope_window_set_start(RavscopeWindow *self, gint64 event, rav_loc select, const char *panel);
/* The side panel `--panel NAME` shows (the name set_start takes): NAME is
 * the title on its tab (Cell, Lines, Breaks, ...; any case) or the
 * panel's own name (inspector, contention, breakpoints).  NULL if none. */
const char *ravscope_window_panel_name(const char *name);
/* The tab titles it takes, lower case, for messages: "cell, graph, ..." */
const char *ravscope_window_panel_names(void);
/* ravscope --break=WHERE FILE: once indexed, a breakpoint on that call site
 * (FUNCTION, FILE:LINE, *ADDRESS) and the playhead at its first hit. */
void ravscope_window_set_start_break(RavscopeWindow *self, const char *spec);
/* The Sites panel (tests). */
GtkWidget *ravscope_window_get_sites_panel(RavscopeWindow *self);
/* Live cells highlighted for a call site now (-1: none asked for, or
 * being computed), for tests. */
gint64 ravscope_window_get_highlighted_cells(RavscopeWindow *self);
/* Rebuild the demo and recent menus (the application's lists changed). */
void ravscope_window_refresh_menus(RavscopeWindow *self);

/* Teaching (ravscope-window-teach.c): start the lesson in `path` (its
 * trace opens here; errors are shown with the file's line); the lesson
 * player and the narration shown, for tests. */
void ravscope_window_start_lesson(RavscopeWindow *self, const char *path);
struct _RavscopeLessonPlayer *ravscope_window_get_lesson_player(RavscopeWindow *self);
const char *ravscope_window_get_narration(RavscopeWindow *self);
/* The action a projector key runs in this window now ("win.fullscreen",
 * "win.present"), or NULL: the key goes on (F11 and F5 are the debugger's
 * Step and Continue while a live program is held), for tests. */
const char *ravscope_window_projector_key(RavscopeWindow *self, guint keyval, GdkModifierType mods);

G_END_DECLS
