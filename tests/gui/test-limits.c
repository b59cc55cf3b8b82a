/* test-limits.c - `ravscope --render` on traces at the limits of the layout.
 *
 * Usage: test-limits RAVSCOPE.  Writes traces with the format library (no
 * engine run) into a temporary directory and renders each:
 *  - 200 heaps that each own one page (a trace of under 1 KB that once
 *    made the whole-heap layout taller than cairo's 32767-pixel surface
 *    limit, and the drawing wrote through the NULL data of the failed
 *    surface);
 *  - 200 named threads without any page (no cell image at all);
 *  - 8, 64 and 1000 threads of the synthetic workload (replay-gen).
 * Each render must succeed within a CPU-time limit, write a PNG of the
 * asked size, and report (--print-counts) every lane laid out, with the
 * lanes on screen at least as tall as a line of text: readable, not a
 * smear of 1-pixel lanes.  One render starves the cell image of pixels
 * (RAVSCOPE_IMAGE_BUDGET_PX) so lanes are drawn flat.  Run under ASan/UBSan by tools/run-tests.sh
 * (suite 'headless'), where a write through a NULL surface or a
 * memset(NULL, 0, 0) fails the test.
 */
#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "format.h"
#include "replay-gen.h"

#define CPU_LIMIT_S 120 /* per render; generous for ASan on a loaded 2-core machine */
#define READABLE_LANE_PX 16

static const char *ravscope;
static char *tmpdir;

/* ---- writing traces -------------------------------------------------------------- */

typedef struct {
	ravt_writer *w;
	FILE *f;
	uint64_t seq, tsc;
} Writer;

static int sink(const void *data, size_t len, void *user)
{
	return fwrite(data, 1, len, (FILE *)user) == len ? 0 : -1;
}

static void writer_open(Writer *wr, const char *path)
{
	memset(wr, 0, sizeof *wr);
	wr->f = fopen(path, "wb");
	g_assert_nonnull(wr->f);
	ravt_writer_params wp;
	memset(&wp, 0, sizeof wp);
	wp.word_size = 8;
	wp.cell_size = 32;
	wp.page_size = 4096;
	wp.pool_base = 0x7f0000000000ull;
	wp.pool_bytes = (uint64_t)1 << 40;
	wp.tsc_hz = 1000000000ull;
	wp.cmdline = "test-limits";
	wp.cmdline_len = strlen(wp.cmdline);
	char eb[256];
	wr->w = ravt_writer_new(&wp, sink, wr->f, eb, sizeof eb);
	if (!wr->w)
		g_error("writer: %s", eb);
}

static void add(Writer *wr, uint32_t heap, const rav_raw_event *e, size_t n)
{
	if (ravt_writer_add(wr->w, heap, e, n) < 0)
		g_error("writer: %s", ravt_writer_error(wr->w));
}

/* An event that orders threads: a clock reading, then the event with the
 * next sequence number. */
static void add_sync(Writer *wr, uint32_t heap, uint32_t kind, uint32_t aux, uint32_t x, uint64_t a)
{
	wr->tsc += 10;
	rav_raw_event ev[2] = { { RAV_EV_TIME, 0, wr->tsc, 1000000000ull, 0 },
				{ kind | (aux << 8), x, a, 0, ++wr->seq } };
	add(wr, heap, ev, 2);
}

static void writer_close(Writer *wr)
{
	if (ravt_writer_finish(wr->w, 0) < 0)
		g_error("writer: %s", ravt_writer_error(wr->w));
	ravt_writer_free(wr->w);
	g_assert_cmpint(fclose(wr->f), ==, 0);
}

/* n thread heaps, each named "worker-N" when named, each owning
 * pages_each pages of its own. */
static char *write_heaps(const char *name, unsigned n, unsigned pages_each, gboolean named)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	Writer wr;
	writer_open(&wr, path);
	uint32_t next_page = 0;
	for (uint32_t h = 1; h <= n; h++) {
		add_sync(&wr, h, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, h, 0);
		rav_raw_event start = { RAV_EV_THREAD_START, h, 1000 + h, 0, 0 };
		add(&wr, h, &start, 1);
		if (named) {
			rav_raw_event nm[2];
			memset(nm, 0, sizeof nm);
			int len = g_snprintf((char *)&nm[1], sizeof nm[1], "worker-%u", h);
			nm[0].kind = RAV_EV_THREAD_NAME | ((uint32_t)len << 8);
			nm[0].x = h;
			add(&wr, h, nm, 2);
		}
		for (unsigned p = 0; p < pages_each; p++)
			add_sync(&wr, h, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, h, 0x7f0000000000ull + (uint64_t)next_page++ * 4096);
	}
	writer_close(&wr);
	return path;
}

static char *write_workload(const char *name, unsigned threads, uint64_t events, uint64_t live)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	gen_params gp = { .path = path, .events = events, .live_target = live, .threads = threads, .seed = 7 };
	g_assert_cmpint(gen_trace(&gp, NULL), ==, 0);
	return path;
}

/* ---- rendering ------------------------------------------------------------------------ */

static void limit_cpu(gpointer user)
{
	struct rlimit rl = { CPU_LIMIT_S, CPU_LIMIT_S + 5 };
	setrlimit(RLIMIT_CPU, &rl);
}

typedef struct {
	unsigned lanes, shown, flat;
	double min_px;
	int width, height;
} Rendered;

/* Run ravscope --render with --print-counts and the extra arguments; check
 * it succeeded and wrote a PNG of w x h; parse the lane report. */
static Rendered render(const char *trace, int w, int h, const char *const *extra)
{
	g_autofree char *png = g_build_filename(tmpdir, "out.png", NULL);
	g_autofree char *size = g_strdup_printf("%dx%d", w, h);
	GPtrArray *argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)ravscope);
	g_ptr_array_add(argv, (char *)"--render");
	g_ptr_array_add(argv, png);
	g_ptr_array_add(argv, (char *)"--size");
	g_ptr_array_add(argv, size);
	g_ptr_array_add(argv, (char *)"--print-counts");
	for (; extra && *extra; extra++)
		g_ptr_array_add(argv, (char *)*extra);
	g_ptr_array_add(argv, (char *)trace);
	g_ptr_array_add(argv, NULL);
	g_autofree char *out = NULL, *err = NULL;
	int status = 0;
	GError *error = NULL;
	g_unlink(png);
	gint64 t0 = g_get_monotonic_time();
	if (!g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, limit_cpu, NULL, &out, &err, &status, &error))
		g_error("cannot run %s: %s", ravscope, error->message);
	g_ptr_array_unref(argv);
	g_test_message("%s %s: %.1f s", trace, size, (g_get_monotonic_time() - t0) / 1e6);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		g_error("ravscope --render %s (%s) failed (status %d):\n%s%s", trace, size, status, out, err);
	if (err && *err)
		g_error("ravscope --render %s wrote to stderr:\n%s", trace, err);
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	Rendered r = { .width = cairo_image_surface_get_width(s), .height = cairo_image_surface_get_height(s) };
	cairo_surface_destroy(s);
	g_assert_cmpint(r.width, ==, w);
	g_assert_cmpint(r.height, ==, h);
	const char *l = strstr(out, "\nlanes ");
	if (!l || sscanf(l, "\nlanes %u shown %u min %lf px", &r.lanes, &r.shown, &r.min_px) != 3)
		g_error("no lane report in:\n%s", out);
	const char *im = strstr(out, "\nimage ");
	guint64 px;
	unsigned tiles;
	if (!im || sscanf(im, "\nimage %u tiles %" G_GUINT64_FORMAT " px, %u lanes flat", &tiles, &px, &r.flat) != 3)
		g_error("no image report in:\n%s", out);
	/* Bounded: no more than a few tiles' worth for these small heaps. */
	g_assert_cmpuint(px, <=, (guint64)32000 * 16384);
	return r;
}

static void check_readable(const Rendered *r, unsigned want_lanes)
{
	g_assert_cmpuint(r->lanes, ==, want_lanes);
	g_assert_cmpuint(r->shown, >=, 1);
	g_assert_cmpuint(r->shown, <=, r->lanes);
	g_assert_cmpfloat(r->min_px, >=, READABLE_LANE_PX);
}

/* Lanes: one per thread heap, then "messages" and "pool". */
#define LANES(threads) ((threads) + 2)

static void test_heaps_one_page(void)
{
	g_autofree char *t = write_heaps("heaps-one-page.ravtrace", 200, 1, FALSE);
	Rendered r = render(t, 1280, 800, NULL);
	check_readable(&r, LANES(200));
	r = render(t, 900, 600, (const char *const[]){ "--large-text", NULL });
	check_readable(&r, LANES(200));
	r = render(t, 16384, 1200, (const char *const[]){ "--event", "0", NULL });
	g_assert_cmpuint(r.shown, >=, 1);
	/* No room in the cell image: lanes drawn as plain page blocks. */
	g_setenv("RAVSCOPE_IMAGE_BUDGET_PX", "1000", TRUE);
	r = render(t, 1280, 800, NULL);
	g_unsetenv("RAVSCOPE_IMAGE_BUDGET_PX");
	check_readable(&r, LANES(200));
	g_assert_cmpuint(r.flat, >, 0);
}

static void test_heaps_no_pages(void)
{
	g_autofree char *t = write_heaps("heaps-no-pages.ravtrace", 200, 0, TRUE);
	Rendered r = render(t, 1280, 800, NULL);
	check_readable(&r, LANES(200));
	r = render(t, 1280, 800, (const char *const[]){ "--no-chrome", "--cell-px", "3", NULL });
	g_assert_cmpuint(r.lanes, ==, LANES(200));
}

static void test_threads(gconstpointer data)
{
	unsigned n = GPOINTER_TO_UINT(data);
	g_autofree char *name = g_strdup_printf("threads-%u.ravtrace", n);
	/* Enough events that every thread gets pages (threads take turns at
	 * random, about every 64 events), a few pages each. */
	guint64 events = MAX(50000, (guint64)n * 600);
	g_autofree char *t = write_workload(name, n, events, 300);
	Rendered r = render(t, 1280, 800, NULL);
	check_readable(&r, LANES(n));
	r = render(t, 900, 600, NULL);
	check_readable(&r, LANES(n));
	/* Zoomed in on a cell of the last thread's heap: still bounded. */
	r = render(t, 1280, 800, (const char *const[]){ "--cell-px", "24", NULL });
	g_assert_cmpuint(r.lanes, ==, LANES(n));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc != 2) {
		g_printerr("usage: %s RAVSCOPE\n", argv[0]);
		return 2;
	}
	ravscope = argv[1];
	tmpdir = g_dir_make_tmp("ravscope-limits-XXXXXX", NULL);
	g_assert_nonnull(tmpdir);
	g_test_add_func("/Rav/Gui/Limits/heaps-one-page", test_heaps_one_page);
	g_test_add_func("/Rav/Gui/Limits/heaps-no-pages", test_heaps_no_pages);
	g_test_add_data_func("/Rav/Gui/Limits/threads-8", GUINT_TO_POINTER(8), test_threads);
	g_test_add_data_func("/Rav/Gui/Limits/threads-64", GUINT_TO_POINTER(64), test_threads);
	g_test_add_data_func("/Rav/Gui/Limits/threads-1000", GUINT_TO_POINTER(1000), test_threads);
	int rc = g_test_run();
	GDir *d = g_dir_open(tmpdir, 0, NULL);
	const char *f;
	while (d && (f = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(tmpdir, f, NULL);
		g_unlink(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(tmpdir);
	return rc;
}
