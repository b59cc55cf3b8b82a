/* ravscope-application.c - the AdwApplication: settings, style, demos.
 *
 * ravscope runs both from the build tree and installed, and finds its
 * settings schema and demo traces accordingly.  Run from the build tree
 * (its executable is under the build root), it uses the schema compiled
 * into <build>/data and the demos recorded into <build>/samples, so it
 * works without GSETTINGS_SCHEMA_DIR or an install.  Installed, it never
 * looks into a build tree (which may be gone or newer): the schema comes
 * from the standard places (XDG_DATA_DIRS) or next to the executable
 * (<prefix>/share, for an install into a prefix the desktop does not
 * search), and the demos from <prefix>/share/ravscope/demos found the same
 * ways.  RAVSCOPE_DEMO_DIR, when set, is searched first in both cases.
 * Lessons (*.lesson, with their traces) are found the same ways under
 * ravscope/lessons (RAVSCOPE_LESSON_DIR first), plus the person's own in
 * $XDG_DATA_HOME/ravscope/lessons; the sample programs (for measuring on
 * this machine) in the build tree or next to the ravscope executable.
 *
 * Settings are written through dconf, which needs a D-Bus session bus;
 * without one (a bare X server, a container, ssh -X) every write fails
 * quietly and the style and menu toggles would do nothing.  Then the
 * settings live in memory for this run (one backend shared by the
 * application and its windows) and the first window says so once.
 */
#include "ravscope-application.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <stdlib.h>
#include <string.h>

#include "ravscope-window.h"

struct _RavscopeApplication {
	AdwApplication parent_instance;
	GSettings *settings;
	int startup_pid;       /* --attach */
	char **startup_argv;   /* -- PROG ARGS */
	/* --event, --select, --panel: where the first window opened looks */
	gint64 start_event;
	rav_loc start_select;
	char *start_panel;
	char *start_break;
	gboolean open_compare; /* --compare: the chatty-vs-messages window at start */
};

G_DEFINE_FINAL_TYPE(RavscopeApplication, ravscope_application, ADW_TYPE_APPLICATION)

/* Is this process an executable of the build tree (ravscope or a test)? */
static gboolean running_uninstalled(void)
{
	static gsize once;
	static gboolean uninstalled;
	if (g_once_init_enter(&once)) {
		g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
		char *root = realpath(RAVSCOPE_BUILD_ROOT, NULL);
		uninstalled = exe && root && g_str_has_prefix(exe, root) && exe[strlen(root)] == '/';
		free(root);
		g_once_init_leave(&once, 1);
	}
	return uninstalled;
}

/* <dir of the executable>/<datadir relative to bindir>/<sub>, or NULL when
 * bindir or datadir was configured as an absolute path. */
static char *data_path_from_executable(const char *sub)
{
	if (!RAVSCOPE_DATADIR_FROM_BINDIR[0])
		return NULL;
	g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
	if (!exe)
		return NULL;
	g_autofree char *bindir = g_path_get_dirname(exe);
	g_autofree char *path = g_build_filename(bindir, RAVSCOPE_DATADIR_FROM_BINDIR, sub, NULL);
	char *canon = g_canonicalize_filename(path, NULL);
	return canon;
}

static GSettingsSchema *schema_from_directory(const char *dir, GSettingsSchemaSource *parent)
{
	GSettingsSchemaSource *src = g_settings_schema_source_new_from_directory(dir, parent, FALSE, NULL);
	if (!src)
		return NULL;
	GSettingsSchema *schema = g_settings_schema_source_lookup(src, RAVSCOPE_APP_ID, FALSE);
	g_settings_schema_source_unref(src);
	return schema;
}

/* Can dconf reach a session bus?  Without an address GIO would try to
 * start one with dbus-launch (X11 autolaunch): an address must be set or
 * the per-user bus socket be there. */
static gboolean session_bus_reachable(void)
{
	const char *address = g_getenv("DBUS_SESSION_BUS_ADDRESS");
	if (!address || !*address) {
		g_autofree char *sock = g_build_filename(g_get_user_runtime_dir(), "bus", NULL);
		return g_file_test(sock, G_FILE_TEST_EXISTS);
	}
	GError *error = NULL;
	GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	if (!bus) {
		g_error_free(error);
		return FALSE;
	}
	g_object_unref(bus);
	return TRUE;
}

static gboolean settings_in_memory;

/* The backend every GSettings of ravscope uses: the default one, unless it
 * is dconf without a session bus; then one in memory (NULL: the default). */
static GSettingsBackend *settings_backend(void)
{
	static gsize once;
	static GSettingsBackend *backend;
	if (g_once_init_enter(&once)) {
		GSettingsBackend *def = g_settings_backend_get_default();
		if (g_str_equal(G_OBJECT_TYPE_NAME(def), "DConfSettingsBackend") && !session_bus_reachable()) {
			backend = g_memory_settings_backend_new();
			settings_in_memory = TRUE;
			g_printerr("ravscope: no D-Bus session bus, so preferences cannot be saved: they last until "
				   "ravscope quits\n");
		}
		g_object_unref(def);
		g_once_init_leave(&once, 1);
	}
	return backend;
}

const char *ravscope_settings_notice(void)
{
	settings_backend();
	return settings_in_memory ? "No D-Bus session: style, presentation mode and the other preferences work "
				    "until ravscope quits but are not saved"
				  : NULL;
}

GSettings *ravscope_settings_new(void)
{
	GSettingsSchemaSource *def = g_settings_schema_source_get_default();
	GSettingsSchema *schema = NULL;
	if (running_uninstalled()) {
		/* the build tree's copy first: an installed older one must not win */
		schema = schema_from_directory(RAVSCOPE_SCHEMA_BUILD_DIR, def);
		if (!schema && def)
			schema = g_settings_schema_source_lookup(def, RAVSCOPE_APP_ID, TRUE);
	} else {
		if (def)
			schema = g_settings_schema_source_lookup(def, RAVSCOPE_APP_ID, TRUE);
		if (!schema) {
			g_autofree char *dir = data_path_from_executable("glib-2.0/schemas");
			if (dir)
				schema = schema_from_directory(dir, def);
		}
	}
	if (!schema) {
		g_printerr("ravscope: settings schema %s not found (is XDG_DATA_DIRS missing ravscope's "
			   "share directory, or glib-compile-schemas not run there?); preferences will not "
			   "be saved\n",
			   RAVSCOPE_APP_ID);
		return NULL;
	}
	GSettings *s = g_settings_new_full(schema, settings_backend(), NULL);
	g_settings_schema_unref(schema);
	return s;
}

GSettings *ravscope_application_get_settings(RavscopeApplication *app)
{
	return app->settings;
}

static int compare_basenames(gconstpointer a, gconstpointer b)
{
	g_autofree char *x = g_path_get_basename(*(const char *const *)a);
	g_autofree char *y = g_path_get_basename(*(const char *const *)b);
	return g_strcmp0(x, y);
}

static void add_files_from(GPtrArray *out, GHashTable *seen, const char *dir, const char *suffix)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		if (!g_str_has_suffix(name, suffix) || g_hash_table_contains(seen, name))
			continue;
		g_hash_table_add(seen, g_strdup(name));
		g_ptr_array_add(out, g_build_filename(dir, name, NULL));
	}
	g_dir_close(d);
}

/* The directories a kind of data file is searched in, in order: the
 * environment's, then the build tree's (uninstalled) or the installed
 * ones (next to the executable, the configured prefix, XDG_DATA_DIRS),
 * then, with `user`, the person's own (XDG_DATA_HOME/ravscope/SUB). */
static GPtrArray *data_dirs(const char *env_name, const char *build_dir, const char *install_dir, const char *sub,
			    gboolean user)
{
	GPtrArray *dirs = g_ptr_array_new_with_free_func(g_free);
	const char *env = g_getenv(env_name);
	if (env && *env)
		g_ptr_array_add(dirs, g_strdup(env));
	if (running_uninstalled()) {
		g_ptr_array_add(dirs, g_strdup(build_dir));
	} else {
		g_autofree char *rel = g_build_filename("ravscope", sub, NULL);
		char *near = data_path_from_executable(rel);
		if (near)
			g_ptr_array_add(dirs, near);
		g_ptr_array_add(dirs, g_strdup(install_dir));
		for (const char *const *d = g_get_system_data_dirs(); *d; d++)
			g_ptr_array_add(dirs, g_build_filename(*d, "ravscope", sub, NULL));
	}
	if (user)
		g_ptr_array_add(dirs, g_build_filename(g_get_user_data_dir(), "ravscope", sub, NULL));
	return dirs;
}

static GPtrArray *list_files(GPtrArray *dirs, const char *suffix)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < dirs->len; i++)
		add_files_from(out, seen, g_ptr_array_index(dirs, i), suffix);
	g_hash_table_unref(seen);
	g_ptr_array_sort(out, compare_basenames);
	return out;
}

GPtrArray *ravscope_application_list_demos(void)
{
	g_autoptr(GPtrArray) dirs = data_dirs("RAVSCOPE_DEMO_DIR", RAVSCOPE_DEMO_BUILD_DIR, RAVSCOPE_DEMO_INSTALL_DIR,
					      "demos", FALSE);
	return list_files(dirs, ".ravtrace");
}

GPtrArray *ravscope_application_list_lessons(void)
{
	g_autoptr(GPtrArray) dirs = data_dirs("RAVSCOPE_LESSON_DIR", RAVSCOPE_LESSON_BUILD_DIR,
					      RAVSCOPE_LESSON_INSTALL_DIR, "lessons", TRUE);
	return list_files(dirs, ".lesson");
}

char **ravscope_application_trace_dirs(void)
{
	g_autoptr(GPtrArray) demos = data_dirs("RAVSCOPE_DEMO_DIR", RAVSCOPE_DEMO_BUILD_DIR, RAVSCOPE_DEMO_INSTALL_DIR,
					       "demos", FALSE);
	g_autoptr(GPtrArray) lessons = data_dirs("RAVSCOPE_LESSON_DIR", RAVSCOPE_LESSON_BUILD_DIR,
						 RAVSCOPE_LESSON_INSTALL_DIR, "lessons", TRUE);
	GStrvBuilder *b = g_strv_builder_new();
	for (guint i = 0; i < demos->len; i++)
		g_strv_builder_add(b, g_ptr_array_index(demos, i));
	for (guint i = 0; i < lessons->len; i++)
		g_strv_builder_add(b, g_ptr_array_index(lessons, i));
	char **out = g_strv_builder_end(b);
	g_strv_builder_unref(b);
	return out;
}

/* The sample programs are installed out of PATH (libexecdir/ravscope,
 * samples/meson.build): next to this executable as the prefix laid them
 * out (a moved prefix, a --destdir stage), else where it was configured. */
char *ravscope_application_find_sample(const char *name)
{
	g_autofree char *exe_name = g_strdup_printf("rav-sample-%s", name);
	char *path = NULL;
	if (running_uninstalled()) {
		path = g_build_filename(RAVSCOPE_SAMPLE_BUILD_DIR, exe_name, NULL);
	} else {
		g_autofree char *exe = g_file_read_link("/proc/self/exe", NULL);
		g_autofree char *bindir = exe ? g_path_get_dirname(exe) : NULL;
		if (bindir && RAVSCOPE_SAMPLES_FROM_BINDIR[0]) {
			g_autofree char *p = g_build_filename(bindir, RAVSCOPE_SAMPLES_FROM_BINDIR, exe_name, NULL);
			path = g_canonicalize_filename(p, NULL);
		}
		if (!path || !g_file_test(path, G_FILE_TEST_IS_EXECUTABLE)) {
			g_free(path);
			path = g_build_filename(RAVSCOPE_SAMPLE_INSTALL_DIR, exe_name, NULL);
		}
	}
	if (path && !g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
		g_clear_pointer(&path, g_free);
	return path;
}

static void apply_color_scheme(RavscopeApplication *self)
{
	int scheme = g_settings_get_enum(self->settings, "color-scheme");
	AdwColorScheme cs = scheme == 1 ? ADW_COLOR_SCHEME_FORCE_LIGHT
		: scheme == 2 ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_DEFAULT;
	adw_style_manager_set_color_scheme(adw_style_manager_get_default(), cs);
}

static void on_scheme_changed(GSettings *settings, const char *key, RavscopeApplication *self)
{
	apply_color_scheme(self);
}

static RavscopeWindow *active_or_new(RavscopeApplication *self)
{
	GtkWindow *w = gtk_application_get_active_window(GTK_APPLICATION(self));
	if (w && RAVSCOPE_IS_WINDOW(w))
		return RAVSCOPE_WINDOW(w);
	return ravscope_window_new(GTK_APPLICATION(self));
}

static void ravscope_application_activate(GApplication *app)
{
	RavscopeApplication *self = RAVSCOPE_APPLICATION(app);
	RavscopeWindow *w = active_or_new(self);
	gtk_window_present(GTK_WINDOW(w));
	if (self->open_compare) {
		self->open_compare = FALSE;
		gtk_widget_activate_action(GTK_WIDGET(w), "win.compare", NULL);
	}
	if (self->start_break && (self->startup_pid > 0 || self->startup_argv)) {
		/* set in the program as soon as its memory map has come */
		ravscope_window_set_start_break(w, self->start_break);
		g_clear_pointer(&self->start_break, g_free);
	}
	if (self->startup_pid > 0)
		ravscope_window_attach(w, self->startup_pid);
	else if (self->startup_argv)
		ravscope_window_run(w, (const char *const *)self->startup_argv);
	self->startup_pid = 0;
	g_clear_pointer(&self->startup_argv, g_strfreev);
}

void ravscope_application_set_open_compare(RavscopeApplication *app, gboolean open)
{
	app->open_compare = open;
}

void ravscope_application_set_startup_live(RavscopeApplication *app, int pid, const char *const *argv)
{
	app->startup_pid = pid;
	g_strfreev(app->startup_argv);
	app->startup_argv = argv ? g_strdupv((char **)argv) : NULL;
}

static void ravscope_application_open(GApplication *app, GFile **files, int n, const char *hint)
{
	RavscopeApplication *self = RAVSCOPE_APPLICATION(app);
	for (int i = 0; i < n; i++) {
		/* First file in the current window, the others in new windows. */
		RavscopeWindow *w = i == 0 ? active_or_new(RAVSCOPE_APPLICATION(app)) : ravscope_window_new(GTK_APPLICATION(app));
		if (i == 0 && ravscope_window_get_document(w))
			w = ravscope_window_new(GTK_APPLICATION(app));
		gtk_window_present(GTK_WINDOW(w));
		if (i == 0 && self->start_break) {
			ravscope_window_set_start_break(w, self->start_break);
			g_clear_pointer(&self->start_break, g_free);
		}
		if (i == 0 && (self->start_event >= 0 || self->start_select || self->start_panel)) {
			ravscope_window_set_start(w, self->start_event, self->start_select, self->start_panel);
			self->start_event = -1;
			self->start_select = RAV_LOC_NONE;
			g_clear_pointer(&self->start_panel, g_free);
		}
		g_autofree char *path = g_file_get_path(files[i]);
		if (path && g_str_has_suffix(path, ".lesson"))
			ravscope_window_start_lesson(w, path); /* a lesson file: play the lesson */
		else
			ravscope_window_open(w, files[i]);
	}
}

/* --event=N --select=PAGE.CELL --panel=NAME --break=WHERE: checked here, applied by the
 * window that opens the first file once it is indexed. */
static int ravscope_application_handle_local_options(GApplication *app, GVariantDict *options)
{
	RavscopeApplication *self = RAVSCOPE_APPLICATION(app);
	gint64 event;
	const char *select = NULL, *panel = NULL;
	if (g_variant_dict_lookup(options, "event", "x", &event)) {
		if (event < 0) {
			g_printerr("ravscope: --event needs an event index (0 or more)\n");
			return 2;
		}
		self->start_event = event;
	}
	if (g_variant_dict_lookup(options, "select", "&s", &select)) {
		char *end;
		unsigned long page = strtoul(select, &end, 10);
		unsigned long cell = (*end == '.' || *end == ':') ? strtoul(end + 1, &end, 10) : 0;
		if (*end || !cell || cell > 0x3fff || page > G_MAXUINT32) {
			g_printerr("ravscope: --select needs PAGE.CELL (e.g. 3.17), not '%s'\n", select);
			return 2;
		}
		self->start_select = rav_loc_make((guint32)page, (guint32)cell, 0);
	}
	const char *brk = NULL;
	if (g_variant_dict_lookup(options, "break", "&s", &brk)) {
		if (!*brk) {
			g_printerr("ravscope: --break needs a call site: FUNCTION, FILE:LINE or *ADDRESS\n");
			return 2;
		}
		self->start_break = g_strdup(brk);
	}
	if (g_variant_dict_lookup(options, "panel", "&s", &panel)) {
		const char *name = ravscope_window_panel_name(panel);
		if (!name) {
			g_printerr("ravscope: --panel is a side panel's tab: %s (not '%s')\n",
				   ravscope_window_panel_names(), panel);
			return 2;
		}
		self->start_panel = g_strdup(name);
	}
	return -1;
}

static void about_action(GSimpleAction *a, GVariant *p, gpointer user)
{
	GtkApplication *app = user;
	const char *developers[] = { "The ravscope developers", NULL };
	GtkWidget *about = adw_about_window_new();
	g_object_set(about,
		     "application-name", "ravscope",
		     "application-icon", RAVSCOPE_APP_ID,
		     "version", RAV_VERSION,
		     "comments", "Replay and explore recorded ravioli memory heaps: cells, compaction moves, fix-ups, page hand-offs and cache contention.",
		     "developers", developers,
		     "license-type", GTK_LICENSE_MIT_X11,
		     "transient-for", gtk_application_get_active_window(app),
		     NULL);
	gtk_window_present(GTK_WINDOW(about));
}

static void quit_action(GSimpleAction *a, GVariant *p, gpointer user)
{
	GList *windows = gtk_application_get_windows(GTK_APPLICATION(user));
	for (GList *l = g_list_copy(windows), *it = l; it; it = it->next) {
		gtk_window_close(GTK_WINDOW(it->data));
		if (!it->next)
			g_list_free(l);
	}
}

static void open_demo_action(GSimpleAction *a, GVariant *p, gpointer user)
{
	RavscopeApplication *self = user;
	GFile *f = g_file_new_for_path(g_variant_get_string(p, NULL));
	g_application_open(G_APPLICATION(self), &f, 1, "");
	g_object_unref(f);
}

static void ravscope_application_startup(GApplication *app)
{
	RavscopeApplication *self = RAVSCOPE_APPLICATION(app);
	G_APPLICATION_CLASS(ravscope_application_parent_class)->startup(app);
	self->settings = ravscope_settings_new();
	if (self->settings) {
		g_signal_connect(self->settings, "changed::color-scheme", G_CALLBACK(on_scheme_changed), self);
		apply_color_scheme(self);
		const char *keys[] = { "color-scheme", "large-text", "show-legend", "animate", "show-empty-threads" };
		for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
			GAction *act = g_settings_create_action(self->settings, keys[i]);
			g_action_map_add_action(G_ACTION_MAP(app), act);
			g_object_unref(act);
		}
	}
	GActionEntry entries[] = {
		{ "about", about_action, NULL, NULL, NULL, { 0 } },
		{ "quit", quit_action, NULL, NULL, NULL, { 0 } },
		{ "open-demo", open_demo_action, "s", NULL, NULL, { 0 } },
	};
	g_action_map_add_action_entries(G_ACTION_MAP(app), entries, G_N_ELEMENTS(entries), app);
	struct { const char *action; const char *accels[4]; } accels[] = {
		{ "app.quit", { "<Control>q", NULL } },
		{ "app.large-text", { "<Control>l", NULL } },
		{ "win.open", { "<Control>o", NULL } },
		{ "win.find", { "<Control>f", NULL } },
		{ "win.export", { "<Control>e", NULL } },
		{ "win.show-help-overlay", { "<Control>question", "F1", NULL } },
		{ "win.toggle-sidebar", { "F9", NULL } },
		/* shown in the menus; the window's projector keys take them
		 * (and F11, F5 when the debugger does not): ravscope-window-teach.c */
		{ "win.fullscreen", { "<Shift>F11", NULL } },
		{ "win.present", { "<Shift>F5", NULL } },
		{ "window.close", { "<Control>w", NULL } },
	};
	for (guint i = 0; i < G_N_ELEMENTS(accels); i++)
		gtk_application_set_accels_for_action(GTK_APPLICATION(app), accels[i].action, accels[i].accels);
	/* AdwApplication loads style.css and gtk/help-overlay.ui from the
	 * resource base path by itself. */
}

static void ravscope_application_shutdown(GApplication *app)
{
	RavscopeApplication *self = RAVSCOPE_APPLICATION(app);
	g_clear_object(&self->settings);
	g_clear_pointer(&self->start_panel, g_free);
	g_clear_pointer(&self->start_break, g_free);
	G_APPLICATION_CLASS(ravscope_application_parent_class)->shutdown(app);
}

static void ravscope_application_class_init(RavscopeApplicationClass *klass)
{
	GApplicationClass *app_class = G_APPLICATION_CLASS(klass);
	app_class->activate = ravscope_application_activate;
	app_class->open = ravscope_application_open;
	app_class->handle_local_options = ravscope_application_handle_local_options;
	app_class->startup = ravscope_application_startup;
	app_class->shutdown = ravscope_application_shutdown;
}

static void ravscope_application_init(RavscopeApplication *self)
{
	/* main.c lists them in --help with the headless options */
	static const GOptionEntry window_options[] = {
		{ "event", 0, 0, G_OPTION_ARG_INT64, NULL, "Show the state just before event N", "N" },
		{ "select", 0, 0, G_OPTION_ARG_STRING, NULL, "Select a cell", "PAGE.CELL" },
		{ "panel", 0, 0, G_OPTION_ARG_STRING, NULL, "Show a side panel (its tab: cell, graph, events, sites, explain, lines, charts, breaks, errors)", "NAME" },
		{ "break", 0, 0, G_OPTION_ARG_STRING, NULL, "Break at a call site and go to its first hit", "WHERE" },
		{ NULL },
	};
	g_application_add_main_option_entries(G_APPLICATION(self), window_options);
	self->start_event = -1;
}

RavscopeApplication *ravscope_application_new(void)
{
	/* NON_UNIQUE: each invocation opens its own window, which is what
	 * tests and teaching sessions with several traces want; it also works
	 * without a session bus (Xvfb). */
	return g_object_new(RAVSCOPE_TYPE_APPLICATION,
			    "application-id", RAVSCOPE_APP_ID,
			    "flags", G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE,
			    "resource-base-path", "/org/ravscope/Ravscope",
			    NULL);
}
