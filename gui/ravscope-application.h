/* ravscope-application.h - application object: settings, app-wide actions,
 * the list of bundled demos, recent files. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_APPLICATION (ravscope_application_get_type())
G_DECLARE_FINAL_TYPE(RavscopeApplication, ravscope_application, RAVSCOPE, APPLICATION, AdwApplication)

RavscopeApplication *ravscope_application_new(void);
/* Open the Chatty Threads vs. Messages window when the application starts
 * (ravscope --compare). */
void ravscope_application_set_open_compare(RavscopeApplication *app, gboolean open);
GSettings *ravscope_application_get_settings(RavscopeApplication *app);
/* Bundled demo traces: absolute paths, sorted by name (build tree first
 * when running uninstalled, then the installed demos). */
GPtrArray *ravscope_application_list_demos(void);
/* What the first window does when no file is given: attach to pid (> 0),
 * or run argv (NULL-terminated) attached from its first event. */
void ravscope_application_set_startup_live(RavscopeApplication *app, int pid, const char *const *argv);
/* Lesson files (*.lesson), absolute paths, sorted by name: the build
 * tree's or the installed ones, then the person's own
 * ($XDG_DATA_HOME/ravscope/lessons). */
GPtrArray *ravscope_application_list_lessons(void);
/* Where a lesson's trace may be besides its own directory: the demo and
 * lesson directories (a NULL-terminated array; g_strfreev). */
char **ravscope_application_trace_dirs(void);
/* The sample program rav-sample-NAME of this build or install, or NULL. */
char *ravscope_application_find_sample(const char *name);
/* The settings schema, found installed or in the build tree; in memory
 * when they could not be saved (dconf without a D-Bus session).  The
 * notice says so (NULL when they are saved). */
GSettings *ravscope_settings_new(void);
const char *ravscope_settings_notice(void);

G_END_DECLS
