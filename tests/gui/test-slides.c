/* test-slides.c - pictures for slides in the window, under X (Xvfb): the
 * Export dialog, presentation mode, the neighbourhood graph.
 *
 * Usage: test-slides TRACE...  (the demo traces; tests pick them by name).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "ravscope-application.h"
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

/* ---- presentation mode ------------------------------------------------------------ */

static GtkWidget *find_with_tooltip(GtkWidget *w, GType type, const char *tip_start)
{
	if (G_TYPE_CHECK_INSTANCE_TYPE(w, type) && gtk_widget_get_tooltip_text(w) &&
	    g_str_has_prefix(gtk_widget_get_tooltip_text(w), tip_start))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_with_tooltip(c, type, tip_start);
		if (found)
			return found;
	}
	return NULL;
}

static void settle(void)
{
	for (int i = 0; i < 40; i++)
		spin_a_bit();
}

/* Accent-coloured pixels of the selection's arrows at a zoom where cells
 * show their fields. */
static guint64 arrow_pixels(RavscopeDocument *doc, gboolean large)
{
	RavscopeViewport vp = { .gutter = 0, .width = 900, .height = 700, .large_text = large };
	vp.accent[0] = 1;
	RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40);
	rav_state *st = ravscope_document_get_state(doc);
	/* A cell with a reference, and its page in view. */
	for (guint i = 0; i < L->pages->len && !vp.selected; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		for (guint32 c = 1; c < 128 && !vp.selected; c++) {
			rav_state_cell sc;
			if (rav_state_cell_at(st, lp->page, c, &sc) && sc.state == RAV_CELL_LIVE && sc.type >= 16 &&
			    ravscope_document_type_field_is_ref(doc, sc.type, 1) && sc.word[2] &&
			    rav_loc_page(sc.word[2]) == lp->page && rav_loc_cell(sc.word[2]) != c) {
				vp.selected = rav_loc_make(lp->page, c, 0);
				vp.scale = 60;
				vp.ox = lp->x - 1;
				vp.oy = lp->y - 1;
			}
		}
	}
	g_assert_true(vp.selected != 0);
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 900, 700);
	cairo_t *cr = cairo_create(s);
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, P, doc, L, &vp);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	guint64 n = 0;
	const guint8 *d = cairo_image_surface_get_data(s);
	for (int y = 0; y < 700; y++)
		for (int x = 0; x < 900; x++)
			n += (((const guint32 *)(d + (gsize)y * cairo_image_surface_get_stride(s)))[x] & 0xffffff) == 0xff0000;
	cairo_surface_destroy(s);
	ravscope_heap_painter_free(P);
	ravscope_heap_layout_free(L);
	return n;
}

static void test_presentation(void)
{
	RavscopeWindow *w = open_window(demo("messages"), 1300, 800);
	RavscopeHeapView *hv = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	GtkWidget *play = find_with_tooltip(GTK_WIDGET(w), GTK_TYPE_BUTTON, "Play or pause");
	g_assert_nonnull(play);
	settle();
	int normal_h = gtk_widget_get_height(play);
	double normal_scale = ravscope_heap_view_get_scale(hv);
	GSettings *settings = ravscope_settings_new();
	g_assert_nonnull(settings);
	g_settings_set_boolean(settings, "large-text", TRUE);
	settle();
	/* Controls grow, not only text. */
	g_test_message("play button %d -> %d px; cells %.1f -> %.1f px", normal_h, gtk_widget_get_height(play), normal_scale,
		       ravscope_heap_view_get_scale(hv));
	g_assert_cmpint(gtk_widget_get_height(play), >=, normal_h * 1.25);
	/* Cells: a heap too big to read whole starts close up ... */
	g_assert_cmpfloat(normal_scale, <, 12);
	g_assert_cmpfloat(ravscope_heap_view_get_scale(hv), >=, 12);
	/* ... and "whole heap" asked again shows it whole. */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.zoom-fit", NULL));
	settle();
	g_assert_cmpfloat(ravscope_heap_view_get_scale(hv), <, 12);
	/* Arrows and outlines heavier. */
	RavscopeDocument *doc = ravscope_window_get_document(w);
	guint64 thin = arrow_pixels(doc, FALSE), thick = arrow_pixels(doc, TRUE);
	g_test_message("selection arrows: %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT " px", thin, thick);
	g_assert_cmpuint(thin, >, 0);
	g_assert_cmpuint(thick, >=, thin * 3 / 2);
	g_settings_set_boolean(settings, "large-text", FALSE);
	g_object_unref(settings);
	settle();
	close_window(w);
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
	g_test_add_func("/Rav/Gui/Slides/presentation", test_presentation);
	return g_test_run();
}
