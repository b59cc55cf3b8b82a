/* test-render.c - `ravscope --render` on a real trace, checked pixel by pixel.
 *
 * Usage: test-render RAVSCOPE TRACE.  Renders the heap alone (--no-chrome)
 * at a whole number of pixels per cell and checks that every cell type
 * covers exactly cells x px^2 pixels of its colour, and that all cells of
 * all pages are accounted for; then checks the full picture (title,
 * legend, timeline), the dark style, and that bad input gives a precise
 * error and a non-zero exit.  With --accesses (traces recorded with
 * RAVIOLI_TRACE_ACCESS=1) the contention overlay must heat something.
 */
#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *ravscope, *trace;
static char *tmpdir;

static int run(const char *const *argv, char **out, char **err)
{
	int status = 0;
	GError *error = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error))
		g_error("cannot run %s: %s", argv[0], error->message);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128;
}

typedef struct {
	guint type;
	guint32 rgb;
	guint64 cells;
} Count;

static GHashTable *count_colours(const char *png, int *w, int *h)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	*w = cairo_image_surface_get_width(s);
	*h = cairo_image_surface_get_height(s);
	int stride = cairo_image_surface_get_stride(s);
	const guint8 *data = cairo_image_surface_get_data(s);
	GHashTable *hist = g_hash_table_new(NULL, NULL);
	for (int y = 0; y < *h; y++) {
		const guint32 *row = (const guint32 *)(data + (size_t)y * stride);
		for (int x = 0; x < *w; x++) {
			gpointer key = GUINT_TO_POINTER(row[x] & 0xffffff);
			g_hash_table_insert(hist, key, GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(hist, key)) + 1));
		}
	}
	cairo_surface_destroy(s);
	return hist;
}

static void test_exact_cells(void)
{
	const int px = 3;
	int size = 1200;
	char *out = NULL, *err = NULL;
	g_autofree char *png = g_build_filename(tmpdir, "cells.png", NULL);
	for (;;) {
		g_autofree char *sz = g_strdup_printf("%dx%d", size, size);
		g_autofree char *cp = g_strdup_printf("%d", px);
		const char *argv[] = { ravscope, "--render", png, "--no-chrome", "--cell-px", cp, "--size", sz,
				       "--print-counts", trace, NULL };
		g_free(out);
		g_free(err);
		int rc = run(argv, &out, &err);
		if (rc != 0)
			g_error("ravscope --render failed (%d): %s%s", rc, out, err);
		double ww = 0, wh = 0;
		const char *wl = strstr(out, "\nworld ");
		g_assert_nonnull(wl);
		g_assert_cmpint(sscanf(wl, "\nworld %lfx%lf", &ww, &wh), ==, 2);
		if (ww <= size && wh <= size)
			break;
		g_assert_cmpint(size, <, 8000);
		size *= 2;
	}
	g_assert_nonnull(strstr(out, "ravscope: wrote "));
	guint pages = 0, cpp = 0;
	const char *pl = strstr(out, "\npages ");
	g_assert_nonnull(pl);
	g_assert_cmpint(sscanf(pl, "\npages %u of %u cells", &pages, &cpp), ==, 2);
	g_assert_cmpuint(cpp, >, 0);

	int w, h;
	GHashTable *hist = count_colours(png, &w, &h);
	g_assert_cmpint(w, ==, size);
	guint64 total = 0, live = 0;
	guint types = 0;
	gchar **lines = g_strsplit(out, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		guint type, rgb;
		guint64 cells;
		if (sscanf(lines[i], "cells %u %x %" G_GUINT64_FORMAT, &type, &rgb, &cells) != 3)
			continue;
		guint64 pixels = GPOINTER_TO_UINT(g_hash_table_lookup(hist, GUINT_TO_POINTER(rgb)));
		if (pixels != cells * px * px)
			g_error("type %u (colour %06x): %" G_GUINT64_FORMAT " cells should cover %" G_GUINT64_FORMAT
				" pixels, the PNG has %" G_GUINT64_FORMAT, type, rgb, cells, cells * px * px, pixels);
		total += cells;
		if (type != 0 && type != 1 && type != 4)
			live += cells;
		types++;
	}
	g_strfreev(lines);
	/* Every cell of every page shown is drawn exactly once.  (A program
	 * that shares malloc'd memory, like the chatty sample, owns no pages.) */
	g_assert_cmpuint(total, ==, (guint64)pages * cpp);
	if (pages > 0) {
		g_assert_cmpuint(types, >=, 2);
		g_assert_cmpuint(live, >, 0);
	}
	g_hash_table_unref(hist);
	g_free(out);
	g_free(err);
}

static void test_full_picture(void)
{
	g_autofree char *png = g_build_filename(tmpdir, "full.png", NULL);
	g_autofree char *dark = g_build_filename(tmpdir, "dark.png", NULL);
	char *out = NULL, *err = NULL;
	const char *argv[] = { ravscope, "--render", png, "--size", "1024x700", trace, NULL };
	g_assert_cmpint(run(argv, &out, &err), ==, 0);
	g_assert_nonnull(strstr(out, png));
	int w, h;
	GHashTable *hist = count_colours(png, &w, &h);
	g_assert_cmpint(w, ==, 1024);
	g_assert_cmpint(h, ==, 700);
	/* Title, labels, legend and timeline: a picture, not a flat fill. */
	g_assert_cmpuint(g_hash_table_size(hist), >, 20);
	/* Light style: the background dominates. */
	guint bg = GPOINTER_TO_UINT(g_hash_table_lookup(hist, GUINT_TO_POINTER(0xfafafa)));
	g_assert_cmpuint(bg, >, 0);
	g_hash_table_unref(hist);
	g_free(out);
	g_free(err);

	const char *argv2[] = { ravscope, "--render", dark, "--dark", "--large-text", "--size", "800x600", trace, NULL };
	g_assert_cmpint(run(argv2, &out, &err), ==, 0);
	hist = count_colours(dark, &w, &h);
	g_assert_cmpuint(GPOINTER_TO_UINT(g_hash_table_lookup(hist, GUINT_TO_POINTER(0x1e1e20))), >, 0);
	g_assert_cmpuint(GPOINTER_TO_UINT(g_hash_table_lookup(hist, GUINT_TO_POINTER(0xfafafa))), ==, 0);
	g_hash_table_unref(hist);
	g_free(out);
	g_free(err);
}

static guint64 heat_pixels(const char *png)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	int stride = cairo_image_surface_get_stride(s);
	const guint8 *d = cairo_image_surface_get_data(s);
	guint64 n = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			guint32 p = ((const guint32 *)(d + (size_t)y * stride))[x];
			guint r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
			/* warm hues: the overlay's amber to red, pale or strong */
			n += r >= 120 && r >= g + 20 && r >= b + 60;
		}
	cairo_surface_destroy(s);
	return n;
}

static guint64 accent_pixels(const char *png)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
	int stride = cairo_image_surface_get_stride(s);
	const guint8 *d = cairo_image_surface_get_data(s);
	guint64 n = 0;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			guint32 p = ((const guint32 *)(d + (size_t)y * stride))[x];
			int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
			/* the selection/animation blue, antialiased edges included */
			n += b >= 180 && b > r + 90 && b > g + 30;
		}
	cairo_surface_destroy(s);
	return n;
}

/* --anim draws the next visible event's motion over the state after it:
 * the same moment without the animation has less of the accent colour. */
static void test_animation_frame(void)
{
	g_autofree char *anim = g_build_filename(tmpdir, "anim.png", NULL);
	g_autofree char *still = g_build_filename(tmpdir, "still.png", NULL);
	char *out = NULL, *err = NULL;
	const char *a1[] = { ravscope, "--render", anim, "--no-chrome", "--event", "0", "--anim", "0.3", trace, NULL };
	g_assert_cmpint(run(a1, &out, &err), ==, 0);
	guint64 at = 0, n = 0;
	const char *p = strstr(out, "event ");
	g_assert_nonnull(p);
	g_assert_cmpint(sscanf(p, "event %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT, &at, &n), ==, 2);
	unsigned items = 0;
	const char *ap = strstr(out, "animation: ");
	g_assert_nonnull(ap);
	g_assert_cmpint(sscanf(ap, "animation: %u items", &items), ==, 1);
	g_free(out);
	g_free(err);
	if (items == 0) {
		/* The first visible event was a mark, say: nothing moves. */
		g_test_message("the first visible event of this trace has no motion");
		return;
	}
	g_autofree char *ev = g_strdup_printf("%" G_GUINT64_FORMAT, at);
	const char *a2[] = { ravscope, "--render", still, "--no-chrome", "--event", ev, trace, NULL };
	g_assert_cmpint(run(a2, &out, &err), ==, 0);
	g_free(out);
	g_free(err);
	guint64 with = accent_pixels(anim), without = accent_pixels(still);
	if (with <= without)
		g_error("animation frame at event %" G_GUINT64_FORMAT " drew no motion (%" G_GUINT64_FORMAT
			" accent pixels, %" G_GUINT64_FORMAT " without it)", at, with, without);
}

/* Traces that recorded memory accesses: the overlay heats lines. */
static void test_contention(void)
{
	g_autofree char *plain = g_build_filename(tmpdir, "plain.png", NULL);
	g_autofree char *heat = g_build_filename(tmpdir, "heat.png", NULL);
	char *out = NULL, *err = NULL;
	const char *a1[] = { ravscope, "--render", plain, "--no-chrome", trace, NULL };
	g_assert_cmpint(run(a1, &out, &err), ==, 0);
	g_free(out);
	g_free(err);
	const char *a2[] = { ravscope, "--render", heat, "--no-chrome", "--contention", trace, NULL };
	g_assert_cmpint(run(a2, &out, &err), ==, 0);
	g_assert_null(strstr(err, "failed"));
	g_free(out);
	g_free(err);
	guint64 before = heat_pixels(plain), after = heat_pixels(heat);
	if (after <= 2 * before + 100)
		g_error("the contention overlay drew no heat: %" G_GUINT64_FORMAT " heat pixels with it, %" G_GUINT64_FORMAT
			" without", after, before);
}

/* --contention-window N: the model over the N events up to the drawn one,
 * as the Lines panel's "Only around the playhead"; refused without
 * --contention or outside 1..1e9. */
static void test_contention_window(void)
{
	g_autofree char *png = g_build_filename(tmpdir, "heat.png", NULL);
	char *out = NULL, *err = NULL;
	const char *a1[] = { ravscope, "--render", png, "--contention", "--contention-window", "500", "--event", "3000",
			     trace, NULL };
	g_assert_cmpint(run(a1, &out, &err), ==, 0);
	if (!strstr(out, "contention over events 2500 to 3000:"))
		g_error("--contention-window 500 at event 3000 said: %s%s", out, err);
	g_free(out);
	g_free(err);
	const char *a2[] = { ravscope, "--render", png, "--contention", "--event", "3000", trace, NULL };
	g_assert_cmpint(run(a2, &out, &err), ==, 0);
	g_assert_nonnull(strstr(out, "contention over the whole trace:"));
	g_free(out);
	g_free(err);
	const char *bad[][9] = {
		{ ravscope, "--render", png, "--contention-window", "500", trace, NULL },
		{ ravscope, "--render", png, "--contention", "--contention-window", "0", trace, NULL },
		{ ravscope, "--render", png, "--contention", "--contention-window", "-7", trace, NULL },
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(run(bad[i], &out, &err), ==, 2);
		g_assert_nonnull(strstr(err, "--contention-window takes 1 to"));
		g_free(out);
		g_free(err);
	}
}

static void test_events_and_errors(void)
{
	g_autofree char *png = g_build_filename(tmpdir, "start.png", NULL);
	char *out = NULL, *err = NULL;
	/* Event 0: nothing has happened yet, still a valid picture. */
	const char *a0[] = { ravscope, "--render", png, "--event", "0", trace, NULL };
	g_assert_cmpint(run(a0, &out, &err), ==, 0);
	g_assert_nonnull(strstr(out, "event 0 of"));
	g_free(out);
	g_free(err);
	/* Past the end: precise complaint, exit 2. */
	const char *a1[] = { ravscope, "--render", png, "--event", "99999999999", trace, NULL };
	g_assert_cmpint(run(a1, &out, &err), ==, 2);
	g_assert_nonnull(strstr(err, "--event"));
	g_free(out);
	g_free(err);
	const char *a2[] = { ravscope, "--render", png, "--size", "huge", trace, NULL };
	g_assert_cmpint(run(a2, &out, &err), ==, 2);
	g_assert_nonnull(strstr(err, "WIDTHxHEIGHT"));
	g_free(out);
	g_free(err);
	/* Not a trace. */
	g_autofree char *bogus = g_build_filename(tmpdir, "bogus.ravtrace", NULL);
	g_assert_true(g_file_set_contents(bogus, "this is not a trace, just some text\n", -1, NULL));
	const char *a3[] = { ravscope, "--render", png, bogus, NULL };
	g_assert_cmpint(run(a3, &out, &err), ==, 1);
	/* Says which file, and why (more than the file's name). */
	g_assert_nonnull(strstr(err, bogus));
	g_assert_cmpuint(strlen(err), >, strlen(bogus) + 20);
	g_free(out);
	g_free(err);
	/* "--render FILE" takes FILE for the picture: said so (it said
	 * "needs exactly one trace FILE (got 0)"), and the trace untouched. */
	const char *ar[] = { ravscope, "--render", trace, NULL };
	g_assert_cmpint(run(ar, &out, &err), ==, 2);
	if (!strstr(err, "the trace FILE comes after it"))
		g_error("ravscope --render TRACE said: %s", err);
	g_free(out);
	g_free(err);
	/* --select of a cell on no page: drawn, and said (it was silent) */
	const char *as[] = { ravscope, "--render", png, "--select", "99999.3", trace, NULL };
	g_assert_cmpint(run(as, &out, &err), ==, 0);
	if (!strstr(err, "--select 99999.3: that page is not in any heap"))
		g_error("ravscope --render --select 99999.3 said: %s", err);
	g_free(out);
	g_free(err);
	/* a window's option with --render: named as such (GOption said
	 * "Unknown option --attach") */
	const char *aa[] = { ravscope, "--render", png, "--attach", "5", trace, NULL };
	g_assert_cmpint(run(aa, &out, &err), ==, 2);
	if (!strstr(err, "--attach opens a window; it does not go with --render"))
		g_error("ravscope --render --attach said: %s", err);
	g_free(out);
	g_free(err);
	/* a side panel asked of a picture: refused (it was ignored) */
	const char *ap[] = { ravscope, "--render", png, "--panel=cell", trace, NULL };
	g_assert_cmpint(run(ap, &out, &err), ==, 2);
	if (!strstr(err, "--panel is the window's; --render draws the heap alone"))
		g_error("ravscope --render --panel said: %s", err);
	g_free(out);
	g_free(err);
	/* --help names every way to start ravscope, not only the headless
	 * options: a lesson, attaching, running a program, the comparison
	 * (it said none of them). */
	const char *ah[] = { ravscope, "--help", NULL };
	g_assert_cmpint(run(ah, &out, &err), ==, 0);
	const char *ways[] = { ".lesson", "--attach PID", "-- PROG", "--compare", "--render" };
	for (guint i = 0; i < G_N_ELEMENTS(ways); i++)
		if (!strstr(out, ways[i]))
			g_error("ravscope --help does not mention %s:\n%s", ways[i], out);
	g_free(out);
	g_free(err);
	/* Empty file. */
	g_autofree char *empty = g_build_filename(tmpdir, "empty.ravtrace", NULL);
	g_assert_true(g_file_set_contents(empty, "", 0, NULL));
	const char *a4[] = { ravscope, "--render", png, empty, NULL };
	g_assert_cmpint(run(a4, &out, &err), ==, 1);
	g_assert_nonnull(strstr(err, empty));
	g_assert_cmpuint(strlen(err), >, strlen(empty) + 10);
	g_free(out);
	g_free(err);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc != 3 && !(argc == 4 && !strcmp(argv[3], "--accesses"))) {
		g_printerr("usage: %s RAVSCOPE TRACE [--accesses]\n", argv[0]);
		return 2;
	}
	ravscope = argv[1];
	trace = argv[2];
	tmpdir = g_dir_make_tmp("ravscope-test-XXXXXX", NULL);
	g_test_add_func("/Rav/Gui/Render/exact-cells", test_exact_cells);
	g_test_add_func("/Rav/Gui/Render/full-picture", test_full_picture);
	g_test_add_func("/Rav/Gui/Render/events-and-errors", test_events_and_errors);
	g_test_add_func("/Rav/Gui/Render/animation-frame", test_animation_frame);
	if (argc == 4) {
		g_test_add_func("/Rav/Gui/Render/contention", test_contention);
		g_test_add_func("/Rav/Gui/Render/contention-window", test_contention_window);
	}
	int rc = g_test_run();
	const char *files[] = { "cells.png", "full.png", "dark.png", "start.png", "bogus.ravtrace", "empty.ravtrace",
				"plain.png", "heat.png", "anim.png", "still.png" };
	for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
		g_autofree char *p = g_build_filename(tmpdir, files[i], NULL);
		g_unlink(p);
	}
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return rc;
}
