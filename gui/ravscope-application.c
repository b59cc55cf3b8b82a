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
 */
#include "ravscope-application.h"

#include <stdlib.h>
#include <string.h>

#include "ravscope-window.h"

struct _RavscopeApplication {
	AdwApplication parent_instance;
	GSettings *settings;
	int startup_pid;       /* --attach */
	char **startup_argv;   /* -- PROG ARGS */
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
	GSettings *s = g_settings_new_full(schema, NULL, NULL);
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

static void add_demos_from(GPtrArray *out, GHashTable *seen, const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	if (!d)
		return;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		if (!g_str_has_suffix(name, ".ravtrace") || g_hash_table_contains(seen, name))
			continue;
		g_hash_table_add(seen, g_strdup(name));
		g_ptr_array_add(out, g_build_filename(dir, name, NULL));
	}
	g_dir_close(d);
}

GPtrArray *ravscope_application_list_demos(void)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *env = g_getenv("RAVSCOPE_DEMO_DIR");
	if (env && *env)
		add_demos_from(out, seen, env);
	if (running_uninstalled()) {
		add_demos_from(out, seen, RAVSCOPE_DEMO_BUILD_DIR);
	} else {
		g_autofree char *near = data_path_from_executable("ravscope/demos");
		if (near)
			add_demos_from(out, seen, near);
		add_demos_from(out, seen, RAVSCOPE_DEMO_INSTALL_DIR);
		for (const char *const *d = g_get_system_data_dirs(); *d; d++) {
			g_autofree char *dir = g_build_filename(*d, "ravscope", "demos", NULL);
			add_demos_from(out, seen, dir);
		}
	}
	g_hash_table_unref(seen);
	g_ptr_array_sort(out, compare_basenames);
	return out;
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
	if (self->startup_pid > 0)
		ravscope_window_attach(w, self->startup_pid);
	else if (self->startup_argv)
		ravscope_window_run(w, (const char *const *)self->startup_argv);
	self->startup_pid = 0;
	g_clear_pointer(&self->startup_argv, g_strfreev);
}

void ravscope_application_set_startup_live(RavscopeApplication *app, int pid, const char *const *argv)
{
	app->startup_pid = pid;
	g_strfreev(app->startup_argv);
	app->startup_argv = argv ? g_strdupv((char **)argv) : NULL;
}

static void ravscope_application_open(GApplication *app, GFile **files, int n, const char *hint)
{
	for (int i = 0; i < n; i++) {
		/* First file in the current window, the others in new windows. */
		RavscopeWindow *w = i == 0 ? active_or_new(RAVSCOPE_APPLICATION(app)) : ravscope_window_new(GTK_APPLICATION(app));
		if (i == 0 && ravscope_window_get_document(w))
			w = ravscope_window_new(GTK_APPLICATION(app));
		gtk_window_present(GTK_WINDOW(w));
		ravscope_window_open(w, files[i]);
	}
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
		const char *keys[] = { "color-scheme", "large-text", "show-legend", "animate" };
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
		{ "win.show-help-overlay", { "<Control>question", "F1", NULL } },
		{ "win.toggle-sidebar", { "F9", NULL } },
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
	G_APPLICATION_CLASS(ravscope_application_parent_class)->shutdown(app);
}

static void ravscope_application_class_init(RavscopeApplicationClass *klass)
{
	GApplicationClass *app_class = G_APPLICATION_CLASS(klass);
	app_class->activate = ravscope_application_activate;
	app_class->open = ravscope_application_open;
	app_class->startup = ravscope_application_startup;
	app_class->shutdown = ravscope_application_shutdown;
}

static void ravscope_application_init(RavscopeApplication *self)
{
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
