/* test-export.c - pictures for slides: `ravscope --render -o` in every format.
 *
 * Usage: test-export RAVSCOPE TRACE.  One picture as PNG, SVG and PDF; a
 * range of events as numbered PNG frames, an animated PNG, an animated GIF
 * and PDF pages.  The animations are decoded independently (the animated
 * PNG by this file, with zlib; the GIF by gdk-pixbuf) and compared frame by
 * frame with the numbered frames of the same range: the APNG must match
 * them exactly, the GIF (256 colours) closely.  Bad requests end with a
 * precise message and exit 2.  No display needed.
 */
#include <cairo.h>
#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <zlib.h>

static const char *ravscope, *trace;
static char *tmpdir;

static int run(const char *const *argv, char **out, char **err)
{
	int status = 0;
	GError *error = NULL;
	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error))
		g_error("cannot run %s: %s", argv[0], error->message);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void render_ok(const char *const *args)
{
	const char *argv[32] = { ravscope, "--render" };
	int n = 2;
	for (const char *const *a = args; *a; a++)
		argv[n++] = *a;
	argv[n++] = trace;
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = run(argv, &out, &err);
	if (rc != 0)
		g_error("ravscope --render failed (%d): %s%s", rc, out, err);
	g_assert_nonnull(strstr(out, "ravscope: wrote "));
	g_free(out);
	g_free(err);
}

static char *tmp(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

static guint count_occurrences(const char *hay, gsize len, const char *needle)
{
	guint n = 0;
	gsize nl = strlen(needle);
	for (gsize i = 0; i + nl <= len; i++)
		n += memcmp(hay + i, needle, nl) == 0;
	return n;
}

/* ---- one picture ---------------------------------------------------------------- */

static void test_one_picture(void)
{
	g_autofree char *png = tmp("one.png"), *svg = tmp("one.svg"), *pdf = tmp("one.pdf");
	const char *a1[] = { "-o", png, "--size", "900x600", NULL };
	render_ok(a1);
	cairo_surface_t *s = cairo_image_surface_create_from_png(png);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	g_assert_cmpint(cairo_image_surface_get_width(s), ==, 900);
	g_assert_cmpint(cairo_image_surface_get_height(s), ==, 600);
	cairo_surface_destroy(s);

	const char *a2[] = { "-o", svg, "--size", "900x600", NULL };
	render_ok(a2);
	gchar *text = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(svg, &text, &len, NULL));
	g_assert_true(g_str_has_prefix(text, "<?xml"));
	g_assert_nonnull(strstr(text, "<svg"));
	g_assert_nonnull(strstr(text, "width=\"900\""));
	/* Vector cells and text, not one embedded bitmap. */
	g_assert_cmpuint(count_occurrences(text, len, "<path"), >, 20);
	g_free(text);

	const char *a3[] = { "--render", pdf, "--size", "900x600", NULL };
	const char *argv[] = { ravscope, a3[0], a3[1], a3[2], a3[3], trace, NULL };
	char *out = NULL, *err = NULL;
	g_assert_cmpint(run(argv, &out, &err), ==, 0);
	g_free(out);
	g_free(err);
	g_assert_true(g_file_get_contents(pdf, &text, &len, NULL));
	g_assert_true(g_str_has_prefix(text, "%PDF-"));
	g_assert_cmpuint(count_occurrences(text, len, "/Type /Page\n") + count_occurrences(text, len, "/Type /Page "), ==, 1);
	g_free(text);
}

/* ---- a range -------------------------------------------------------------------- */

typedef struct {
	int w, h;
	guint32 *px; /* 0xRRGGBB */
} Frame;

static Frame frame_from_png(const char *path)
{
	cairo_surface_t *s = cairo_image_surface_create_from_png(path);
	g_assert_cmpint(cairo_surface_status(s), ==, CAIRO_STATUS_SUCCESS);
	Frame f = { cairo_image_surface_get_width(s), cairo_image_surface_get_height(s), NULL };
	f.px = g_new(guint32, (gsize)f.w * f.h);
	int stride = cairo_image_surface_get_stride(s);
	const guint8 *d = cairo_image_surface_get_data(s);
	for (int y = 0; y < f.h; y++)
		for (int x = 0; x < f.w; x++)
			f.px[(gsize)y * f.w + x] = ((const guint32 *)(d + (gsize)y * stride))[x] & 0xffffff;
	cairo_surface_destroy(s);
	return f;
}

static guint32 be32(const guint8 *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 | p[3];
}

/* An animated PNG of 8-bit RGB frames (what ravscope writes), decoded
 * chunk by chunk: every CRC, the sequence numbers and the frame regions
 * checked, each frame composed over the previous one. */
static GArray *decode_apng(const char *path)
{
	gchar *d = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(path, &d, &len, NULL));
	static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	g_assert_true(len > 8 && memcmp(d, sig, 8) == 0);
	GArray *frames = g_array_new(FALSE, FALSE, sizeof(Frame));
	guint32 w = 0, h = 0, nframes = 0, seq = 0;
	guint32 fx = 0, fy = 0, fw = 0, fh = 0;
	GByteArray *z = g_byte_array_new();
	guint32 *canvas = NULL;
	gboolean in_frame = FALSE;
	gsize p = 8;
	for (;;) {
		g_assert_cmpuint(p + 12, <=, len);
		guint32 clen = be32((guint8 *)d + p);
		const char *type = d + p + 4;
		const guint8 *data = (guint8 *)d + p + 8;
		g_assert_cmpuint(p + 12 + clen, <=, len);
		g_assert_cmpuint(crc32(crc32(0, (const Bytef *)type, 4), data, clen), ==, be32(data + clen));
		gboolean end = memcmp(type, "IEND", 4) == 0;
		if (in_frame && (memcmp(type, "fcTL", 4) == 0 || end)) {
			/* The frame before is complete: inflate and compose it. */
			gsize raw_len = (gsize)fh * (1 + 3 * fw);
			guint8 *raw = g_malloc(raw_len);
			uLongf got = raw_len;
			g_assert_cmpint(uncompress(raw, &got, z->data, z->len), ==, Z_OK);
			g_assert_cmpuint(got, ==, raw_len);
			for (guint32 y = 0; y < fh; y++) {
				const guint8 *row = raw + (gsize)y * (1 + 3 * fw);
				g_assert_cmpuint(row[0], ==, 0); /* filter: none */
				for (guint32 x = 0; x < fw; x++)
					canvas[(gsize)(fy + y) * w + fx + x] =
						(guint32)row[1 + 3 * x] << 16 | (guint32)row[2 + 3 * x] << 8 | row[3 + 3 * x];
			}
			g_free(raw);
			Frame f = { (int)w, (int)h, g_memdup2(canvas, sizeof(guint32) * w * h) };
			g_array_append_val(frames, f);
			g_byte_array_set_size(z, 0);
			in_frame = FALSE;
		}
		if (memcmp(type, "IHDR", 4) == 0) {
			w = be32(data);
			h = be32(data + 4);
			g_assert_cmpuint(data[8], ==, 8);
			g_assert_cmpuint(data[9], ==, 2);
			canvas = g_new0(guint32, (gsize)w * h);
		} else if (memcmp(type, "acTL", 4) == 0) {
			nframes = be32(data);
			g_assert_cmpuint(be32(data + 4), ==, 0); /* loops */
		} else if (memcmp(type, "fcTL", 4) == 0) {
			g_assert_cmpuint(be32(data), ==, seq++);
			fw = be32(data + 4);
			fh = be32(data + 8);
			fx = be32(data + 12);
			fy = be32(data + 16);
			g_assert_cmpuint(fx + fw, <=, w);
			g_assert_cmpuint(fy + fh, <=, h);
			g_assert_cmpuint(data[24], ==, 0);
			g_assert_cmpuint(data[25], ==, 0);
			if (frames->len == 0)
				g_assert_true(fx == 0 && fy == 0 && fw == w && fh == h);
			in_frame = TRUE;
		} else if (memcmp(type, "IDAT", 4) == 0) {
			g_assert_true(in_frame && frames->len == 0);
			g_byte_array_append(z, data, clen);
		} else if (memcmp(type, "fdAT", 4) == 0) {
			g_assert_true(in_frame);
			g_assert_cmpuint(be32(data), ==, seq++);
			g_byte_array_append(z, data + 4, clen - 4);
		}
		p += 12 + clen;
		if (end)
			break;
	}
	g_assert_cmpuint(p, ==, len);
	g_assert_cmpuint(frames->len, ==, nframes);
	g_byte_array_unref(z);
	g_free(canvas);
	g_free(d);
	return frames;
}

/* The GIF's frames as gdk-pixbuf composes them, one per frame delay. */
static GArray *decode_gif(const char *path, guint frame_ms, guint expected)
{
	GError *error = NULL;
	GdkPixbufAnimation *anim = gdk_pixbuf_animation_new_from_file(path, &error);
	g_assert_no_error(error);
	g_assert_false(gdk_pixbuf_animation_is_static_image(anim));
	/* gdk-pixbuf's iterator takes GTimeVal, which GLib deprecates. */
	G_GNUC_BEGIN_IGNORE_DEPRECATIONS
	GTimeVal t = { 0, 0 };
	GdkPixbufAnimationIter *it = gdk_pixbuf_animation_get_iter(anim, &t);
	G_GNUC_END_IGNORE_DEPRECATIONS
	GArray *frames = g_array_new(FALSE, FALSE, sizeof(Frame));
	for (guint i = 0; i < expected; i++) {
		GdkPixbuf *pb = gdk_pixbuf_animation_iter_get_pixbuf(it);
		Frame f = { gdk_pixbuf_get_width(pb), gdk_pixbuf_get_height(pb), NULL };
		f.px = g_new(guint32, (gsize)f.w * f.h);
		int nc = gdk_pixbuf_get_n_channels(pb), rs = gdk_pixbuf_get_rowstride(pb);
		const guint8 *d = gdk_pixbuf_read_pixels(pb);
		for (int y = 0; y < f.h; y++)
			for (int x = 0; x < f.w; x++) {
				const guint8 *q = d + (gsize)y * rs + (gsize)x * nc;
				f.px[(gsize)y * f.w + x] = (guint32)q[0] << 16 | (guint32)q[1] << 8 | q[2];
			}
		g_array_append_val(frames, f);
		int delay = gdk_pixbuf_animation_iter_get_delay_time(it);
		g_assert_cmpint(delay, ==, (int)((frame_ms + 5) / 10 * 10));
		G_GNUC_BEGIN_IGNORE_DEPRECATIONS
		g_time_val_add(&t, (glong)delay * 1000);
		gdk_pixbuf_animation_iter_advance(it, &t);
		G_GNUC_END_IGNORE_DEPRECATIONS
	}
	g_object_unref(it);
	g_object_unref(anim);
	return frames;
}

static void free_frames(GArray *frames)
{
	for (guint i = 0; i < frames->len; i++)
		g_free(g_array_index(frames, Frame, i).px);
	g_array_unref(frames);
}

static int distance(guint32 a, guint32 b)
{
	int dr = (int)(a >> 16 & 255) - (int)(b >> 16 & 255), dg = (int)(a >> 8 & 255) - (int)(b >> 8 & 255),
	    db = (int)(a & 255) - (int)(b & 255);
	return ABS(dr) + ABS(dg) + ABS(db);
}

static void test_range(void)
{
	/* A short stretch of the trace with moves: the numbered frames are the
	 * reference the animations are compared with. */
	const char *from = "200", *to = "230", *fps = "8", *step = "250";
	guint frame_ms = 125;
	g_autofree char *dir = tmp("frames");
	g_autofree char *pattern = tmp("frames/f-%04d.png");
	g_mkdir_with_parents(dir, 0755);
	const char *common[] = { "--size", "640x400", "--from", from, "--to", to, "--fps", fps, "--step-ms", step };
#define ARGS(out) { "-o", out, common[0], common[1], common[2], common[3], common[4], common[5], common[6], common[7], \
		    common[8], common[9], NULL }
	const char *af[] = ARGS(pattern);
	render_ok(af);
	GArray *ref = g_array_new(FALSE, FALSE, sizeof(Frame));
	for (guint i = 0;; i++) {
		g_autofree char *name = g_strdup_printf("f-%04u.png", i);
		g_autofree char *file = g_build_filename(dir, name, NULL);
		if (!g_file_test(file, G_FILE_TEST_EXISTS))
			break;
		Frame f = frame_from_png(file);
		g_assert_cmpint(f.w, ==, 640);
		g_array_append_val(ref, f);
	}
	g_test_message("%u frames", ref->len);
	g_assert_cmpuint(ref->len, >, 4);
	/* Frames differ: the range plays. */
	const Frame *first = &g_array_index(ref, Frame, 0), *last = &g_array_index(ref, Frame, ref->len - 1);
	g_assert_true(memcmp(first->px, last->px, sizeof(guint32) * 640 * 400) != 0);

	g_autofree char *apng = tmp("range.png");
	const char *aa[] = ARGS(apng);
	render_ok(aa);
	GArray *af2 = decode_apng(apng);
	g_assert_cmpuint(af2->len, ==, ref->len);
	for (guint i = 0; i < ref->len; i++)
		if (memcmp(g_array_index(af2, Frame, i).px, g_array_index(ref, Frame, i).px, sizeof(guint32) * 640 * 400))
			g_error("animated PNG frame %u differs from numbered frame %u", i, i);
	free_frames(af2);

	g_autofree char *gif = tmp("range.gif");
	const char *ag[] = ARGS(gif);
	render_ok(ag);
	GArray *gf = decode_gif(gif, frame_ms, ref->len);
	for (guint i = 0; i < ref->len; i++) {
		const Frame *a = &g_array_index(gf, Frame, i), *b = &g_array_index(ref, Frame, i);
		g_assert_cmpint(a->w, ==, b->w);
		guint64 exact = 0, close = 0, n = (guint64)a->w * a->h;
		for (guint64 k = 0; k < n; k++) {
			int d = distance(a->px[k], b->px[k]);
			exact += d == 0;
			close += d <= 48;
		}
		/* 256 colours: the flat colours of cells and background exact,
		 * antialiased edges near. */
		if (exact < n * 0.9 || close < n * 0.995)
			g_error("GIF frame %u: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " pixels exact, %" G_GUINT64_FORMAT
				" close", i, exact, n, close);
	}
	free_frames(gf);

	g_autofree char *pdf = tmp("range.pdf");
	const char *ap[] = ARGS(pdf);
	render_ok(ap);
	gchar *text = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(pdf, &text, &len, NULL));
	guint pages = count_occurrences(text, len, "/Type /Page\n") + count_occurrences(text, len, "/Type /Page ");
	g_assert_cmpuint(pages, ==, ref->len);
	g_free(text);
	free_frames(ref);
#undef ARGS
}

/* ---- bad requests ---------------------------------------------------------------- */

static void expect_usage_error(const char *const *args, const char *mention)
{
	const char *argv[32] = { ravscope, "--render" };
	int n = 2;
	for (const char *const *a = args; *a; a++)
		argv[n++] = *a;
	argv[n++] = trace;
	argv[n] = NULL;
	char *out = NULL, *err = NULL;
	int rc = run(argv, &out, &err);
	if (rc != 2 || !strstr(err, mention))
		g_error("expected exit 2 mentioning \"%s\", got %d: %s%s", mention, rc, out, err);
	g_free(out);
	g_free(err);
}

static void test_bad_requests(void)
{
	g_autofree char *doc = tmp("out.docx"), *svg = tmp("r.svg"), *gif = tmp("r.gif"), *pat = tmp("f-%d-%d.png");
	const char *a1[] = { "-o", doc, NULL };
	expect_usage_error(a1, ".png, .svg, .pdf or .gif");
	const char *a2[] = { "-o", svg, "--from", "10", "--to", "20", NULL };
	expect_usage_error(a2, "one picture");
	const char *a3[] = { "-o", gif, "--from", "30", "--to", "20", NULL };
	expect_usage_error(a3, "run forward");
	const char *a4[] = { "-o", gif, "--from", "0", "--fps", "100", "--step-ms", "60000", NULL };
	expect_usage_error(a4, "frames");
	const char *a5[] = { "-o", pat, "--from", "0", "--to", "10", NULL };
	expect_usage_error(a5, "%d");
	const char *a6[] = { "-o", gif, "--from", "0", "--to", "10", "--event", "5", NULL };
	expect_usage_error(a6, "--event");
	/* values the user typed are checked, not mistaken for "not given" */
	const char *a7[] = { "-o", svg, "--event", "-5", NULL };
	expect_usage_error(a7, "--event needs");
	const char *a8[] = { "-o", gif, "--from", "0", "--to", "10", "--fps", "0", NULL };
	expect_usage_error(a8, "--fps");
	const char *a9[] = { "-o", svg, "--anim", "2", NULL };
	expect_usage_error(a9, "--anim");
	const char *a10[] = { "-o", svg, "--cell-px", "-1", NULL };
	expect_usage_error(a10, "--cell-px");
	/* A file that cannot be written: exit 1, nothing left behind. */
	const char *argv[] = { ravscope, "--render", "-o", "/nonexistent-dir/x.gif", "--from", "0", "--to", "50", trace, NULL };
	char *out = NULL, *err = NULL;
	g_assert_cmpint(run(argv, &out, &err), ==, 1);
	g_assert_nonnull(strstr(err, "/nonexistent-dir/x.gif"));
	g_assert_nonnull(strstr(err, g_strerror(ENOENT)));
	g_free(out);
	g_free(err);
	/* The system's reason, not cairo's "error while writing to output
	 * stream", for each way a picture is written. */
	const char *outs[] = { "/nonexistent-dir/x.png", "/nonexistent-dir/x.svg", "/nonexistent-dir/x.pdf" };
	for (guint i = 0; i < G_N_ELEMENTS(outs); i++) {
		const char *av[] = { ravscope, "--render", "-o", outs[i], "--event", "100", trace, NULL };
		g_assert_cmpint(run(av, &out, &err), ==, 1);
		g_assert_nonnull(strstr(err, outs[i]));
		g_assert_nonnull(strstr(err, g_strerror(ENOENT)));
		g_free(out);
		g_free(err);
	}
	const char *pv[] = { ravscope, "--render", "-o", "/nonexistent-dir/f%d.png", "--from", "0", "--to", "3", trace, NULL };
	g_assert_cmpint(run(pv, &out, &err), ==, 1);
	g_assert_nonnull(strstr(err, g_strerror(ENOENT)));
	g_free(out);
	g_free(err);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	if (argc != 3) {
		g_printerr("usage: %s RAVSCOPE TRACE\n", argv[0]);
		return 2;
	}
	ravscope = argv[1];
	trace = argv[2];
	tmpdir = g_dir_make_tmp("ravscope-export-XXXXXX", NULL);
	g_test_add_func("/Rav/Gui/Export/one-picture", test_one_picture);
	g_test_add_func("/Rav/Gui/Export/range", test_range);
	g_test_add_func("/Rav/Gui/Export/bad-requests", test_bad_requests);
	int rc = g_test_run();
	g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		g_printerr("could not remove %s\n", tmpdir);
	return rc;
}
