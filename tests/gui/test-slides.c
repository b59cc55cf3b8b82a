/* test-slides.c - pictures for slides in the window, under X (Xvfb): the
 * Export dialog, presentation mode, the neighbourhood graph.
 *
 * Usage: test-slides TRACE...  (the demo traces; tests pick them by name).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "ravscope-export-dialog.h"
#include "ravscope-heap-view.h"
#include "ravscope-window.h"

static char **traces;
static int n_traces;

static const char *demo(const char *name)
{
	for (int i = 0; i < n_traces; i++) {
		g_autofree char *base = g_path_get_basename(traces[i]);
		if (g_str_has_prefix(base, name) && base[strlen(name)] == '.')
			return traces[i];
	}
	g_error("no demo trace %s", name);
	return NULL;
}

static void spin_a_bit(void)
{
	for (int i = 0; i < 50; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(2000);
	}
}

static RavscopeWindow *open_window(const char *path, int width, int height)
{
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	gtk_window_present(GTK_WINDOW(w));
	GFile *f = g_file_new_for_path(path);
	ravscope_window_open(w, f);
	g_object_unref(f);
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	while (!ravscope_document_is_indexed(ravscope_window_get_document(w))) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for indexing");
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	spin_a_bit();
	return w;
}

static void close_window(RavscopeWindow *w)
{
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* ---- the Export dialog ------------------------------------------------------------- */

typedef struct {
	gboolean done, ok;
	char *message;
} Done;

static void on_done(RavscopeExportDialog *d, gboolean ok, const char *message, Done *r)
{
	r->done = TRUE;
	r->ok = ok;
	g_free(r->message);
	r->message = g_strdup(message);
}

static RavscopeExportDialog *open_dialog(RavscopeWindow *w, Done *r)
{
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.export", NULL));
	spin_a_bit();
	RavscopeExportDialog *d = RAVSCOPE_EXPORT_DIALOG(ravscope_window_get_export_dialog(w));
	g_assert_nonnull(d);
	memset(r, 0, sizeof *r);
	g_signal_connect(d, "done", G_CALLBACK(on_done), r);
	return d;
}

static void wait_done(Done *r)
{
	gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
	while (!r->done) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for the export");
		g_main_context_iteration(NULL, FALSE);
	}
}

static void test_export_dialog(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 1300, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	g_autofree char *dir = g_dir_make_tmp("ravscope-slides-XXXXXX", NULL);
	guint64 pos = ravscope_document_get_position(doc);

	/* This moment, as shown, PNG: the picture and the window's playhead
	 * where it was. */
	Done r;
	RavscopeExportDialog *d = open_dialog(w, &r);
	g_autofree char *png = g_build_filename(dir, "now.png", NULL);
	GError *error = NULL;
	g_assert_true(ravscope_export_dialog_export_to(d, png, &error));
	wait_done(&r);
	g_assert_true(r.ok);
	g_assert_nonnull(strstr(r.message, "now.png"));
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	RavscopePictureStyle view;
	ravscope_heap_view_get_picture_style(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w)), &view);
	g_assert_cmpint(cairo_image_surface_get_width(s), ==, view.width);
	cairo_surface_destroy(s);
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, pos);
	spin_a_bit();
	g_assert_null(ravscope_window_get_export_dialog(w)); /* closed after a success */

	/* A range as SVG-less formats: 1920x1080 GIF; the name gets its ending. */
	d = open_dialog(w, &r);
	ravscope_export_dialog_choose(d, TRUE, pos, pos + 60, 2, 0);
	g_autofree char *gif = g_build_filename(dir, "range", NULL);
	g_assert_true(ravscope_export_dialog_export_to(d, gif, &error));
	g_assert_true(ravscope_export_dialog_is_running(d));
	wait_done(&r);
	g_assert_true(r.ok);
	g_autofree char *gif_file = g_build_filename(dir, "range.gif", NULL);
	gchar *head = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(gif_file, &head, &len, NULL));
	g_assert_true(len > 13 && memcmp(head, "GIF89a", 6) == 0);
	g_assert_cmpint((guint8)head[6] | (guint8)head[7] << 8, ==, 1920);
	g_free(head);
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, pos);
	spin_a_bit();

	/* Closed while running: nothing left behind. */
	d = open_dialog(w, &r);
	ravscope_export_dialog_choose(d, TRUE, 0, ravscope_document_get_event_count(doc), 0, 1);
	g_autofree char *big = g_build_filename(dir, "whole.png", NULL);
	if (ravscope_export_dialog_export_to(d, big, &error)) {
		gtk_window_close(GTK_WINDOW(d));
		spin_a_bit();
		g_assert_true(r.done && !r.ok);
		g_assert_false(g_file_test(big, G_FILE_TEST_EXISTS));
	} else {
		/* Too many frames for the whole trace: said precisely. */
		g_assert_nonnull(strstr(error->message, "frames"));
		g_clear_error(&error);
		gtk_window_close(GTK_WINDOW(d));
		spin_a_bit();
	}
	g_free(r.message);
	close_window(w);
	g_unlink(png);
	g_unlink(gif_file);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc < 2) {
		g_printerr("usage: %s TRACE...\n", argv[0]);
		return 2;
	}
	traces = argv + 1;
	n_traces = argc - 1;
	g_test_add_func("/Rav/Gui/Slides/export-dialog", test_export_dialog);
	return g_test_run();
}
