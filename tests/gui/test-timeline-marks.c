/* test-timeline-marks.c - the timeline drawn with dense marks, at every width.
 *
 * Usage: test-timeline-marks.  Writes a synthetic trace (format library, no
 * engine run) whose marks come as a live session's do: "round N" every few
 * events, some in bursts, so labels are pushed right of their flags and the
 * hairlines of later marks pass where earlier labels are written.  Then
 * draws the timeline (ravscope_timeline_draw, as the window, --render and
 * export do) every 13 px of width from 120 to 1400 px, with one and two
 * rows of labels, in normal and large text, the way GTK draws a cairo node:
 * recorded, then painted through the frame's clip (a region of whole-pixel
 * rectangles; here also thin bands at every height of the label rows).
 *
 * The hairlines used to be clipped out of the label boxes with an even-odd
 * clip.  cairo 1.16 aborts on such a clip ("get_clip_surface: Assertion
 * `clip->path' failed") when a stroke cut by it comes out in whole pixels;
 * the live test hit it within seconds of attaching to rav-sample-live.  This
 * test aborted the same way before the fix.  It also checks that where a
 * hairline passes another label, none of its ink is inside that label's box.
 * No display needed (suite 'headless' as well: runs under ASan/UBSan).
 */
#include <cairo.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>

#include "ravscope-charts.h"
#include "trace-test.h"

enum { SURFACE_W = 1420, SURFACE_H = 140, WIDTH_STEP = 13 };

static void add(ravt_writer *w, rav_raw_event e)
{
	REQUIRE(ravt_writer_add(w, 1, &e, 1) == 0);
}

static void add_text(ravt_writer *w, rav_raw_event e, const char *text)
{
	rav_raw_event r[4];
	memset(r, 0, sizeof r);
	r[0] = e;
	size_t len = strlen(text);
	REQUIRE(len <= 3 * sizeof(rav_raw_event));
	memcpy(&r[1], text, len);
	REQUIRE(ravt_writer_add(w, 1, r, 1 + (len + 31) / 32) == 0);
}

/* One thread, one cell written over and over, a mark every few events. */
static char *write_trace(const char *dir)
{
	tt_mem m = { 0 };
	ravt_writer *w = tt_writer(&m, 1 << 16, false);
	REQUIRE(w);
	uint64_t tsc = 1000, seq = 1;
	add(w, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
	add(w, tt_ev(RAV_EV_THREAD_START, 0, 1, 101, 0, seq++));
	add(w, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
	add(w, tt_ev(RAV_EV_HEAP_NEW, 0, 1, 1, 0, seq++));
	add_text(w, tt_ev(RAV_EV_THREAD_NAME, 4, 1, 0, 0, 0), "main");
	add_text(w, tt_ev(RAV_EV_TYPE_DEF, 16, 0, 4, 0, 0), "node");
	add(w, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
	add(w, tt_ev(RAV_EV_PAGE_ACQUIRE, 0, 1, tt_addr(0, 0, 0), 0, seq++));
	add(w, tt_ev(RAV_EV_ALLOC, 16, 0, tt_addr(0, 1, 0), 0, 0));
	guint32 rng = 12345;
	uint64_t value = 0;
	for (unsigned round = 0; round < 400; round++) {
		rng = rng * 1103515245u + 12345u;
		/* mostly evenly spaced, as a sample's rounds; now and then a burst */
		unsigned gap = (rng >> 16) % 8 == 0 ? 1 : 20 + (rng >> 16) % 40;
		for (unsigned i = 0; i < gap; i++) {
			if (i % 16 == 0)
				add(w, tt_ev(RAV_EV_TIME, 0, 0, tsc += 100, 0, 0));
			add(w, tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(0, 1, 1), value, value + 1)); /* old, new */
			value++;
		}
		char text[32];
		g_snprintf(text, sizeof text, "round %u", round * 256);
		add_text(w, tt_ev(RAV_EV_MARK, 0, 0, strlen(text), 0, 0), text);
	}
	REQUIRE(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	char *path = g_build_filename(dir, "marks.ravtrace", NULL);
	REQUIRE(g_file_set_contents(path, (const char *)m.buf.p, (gssize)m.buf.len, NULL));
	tt_mem_free(&m);
	return path;
}

/* The hairline's colour (0.9, 0.65, 0.04 at 0.8, premultiplied): far more
 * red than blue, which the grey label text never is. */
static gboolean hairline_ink(cairo_surface_t *s, int x, int y)
{
	const unsigned char *data = cairo_image_surface_get_data(s);
	guint32 p = *(const guint32 *)(data + (size_t)y * cairo_image_surface_get_stride(s) + (size_t)x * 4);
	int r = (p >> 16) & 0xff, b = p & 0xff;
	return r - b > 60;
}

int main(int argc, char **argv)
{
	g_autofree char *dir = g_dir_make_tmp("ravscope-marks-XXXXXX", NULL);
	REQUIRE(dir);
	g_autofree char *path = write_trace(dir);
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(path, &error);
	if (!doc || !ravscope_document_index_sync(doc, &error)) {
		fprintf(stderr, "cannot open %s: %s\n", path, error ? error->message : "?");
		return 1;
	}
	rav_trace *t = ravscope_document_get_trace(doc);
	REQUIRE(rav_trace_mark_count(t) == 400);
	if (!ravscope_document_seek(doc, ravscope_document_get_event_count(doc) / 2, &error)) {
		fprintf(stderr, "cannot seek: %s\n", error ? error->message : "?");
		return 1;
	}

	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, SURFACE_W, SURFACE_H);
	cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, SURFACE_W, SURFACE_H);
	RavscopeTimelineCache *cache = ravscope_timeline_cache_new();
	unsigned draws = 0, crossings = 0;
	for (int large = 0; large < 2; large++)
		for (int two_rows = 0; two_rows < 2; two_rows++)
			for (int width = 120; width <= 1400; width += WIDTH_STEP) {
				RavscopeTimelineStyle st = { .large_text = large, .hover_event = G_MAXUINT64 };
				double x = 8, y = 2, w = width, h = two_rows ? (large ? 130 : 100) : 44;
				/* Drawn as the window draws it: recorded (a GTK cairo
				 * node), then painted through a clip of several whole-pixel
				 * rectangles (the damaged region of a frame). */
				cairo_surface_t *rec = cairo_recording_surface_create(
					CAIRO_CONTENT_COLOR_ALPHA, &(cairo_rectangle_t){ 0, 0, SURFACE_W, SURFACE_H });
				cairo_t *rc = cairo_create(rec);
				ravscope_timeline_draw(rc, cache, doc, x, y, w, h, &st);
				RavscopeMarkLabel lab[256];
				guint n = ravscope_timeline_mark_labels(rc, doc, x, y, w, h, &st, lab, G_N_ELEMENTS(lab), NULL);
				cairo_destroy(rc);
				cairo_t *cr = cairo_create(s);
				cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
				cairo_paint(cr);
				cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
				/* overlapping rectangles whose union is the whole surface */
				cairo_rectangle(cr, 0, 0, width / 2 + 11, SURFACE_H);
				cairo_rectangle(cr, width / 3, 0, SURFACE_W - width / 3, SURFACE_H / 2 + 3);
				cairo_rectangle(cr, 0, SURFACE_H / 3, SURFACE_W, SURFACE_H - SURFACE_H / 3);
				cairo_clip(cr);
				cairo_set_source_surface(cr, rec, 0, 0);
				cairo_paint(cr);
				cairo_destroy(cr);
				/* and through thin bands across the label rows at every
				 * height: what used to abort was a hairline whose visible
				 * part came out in whole pixels once the frame's clip had
				 * taken the rest */
				for (int top = 0; top < y + h / 2; top++) {
					cr = cairo_create(scratch);
					cairo_rectangle(cr, 0, top, SURFACE_W, 3);
					cairo_clip(cr);
					cairo_set_source_surface(cr, rec, 0, 0);
					cairo_paint(cr);
					cairo_destroy(cr);
				}
				cairo_surface_destroy(rec);
				cairo_surface_flush(s);
				draws++;
				/* Where a label's hairline passes another label (one
				 * pushed right of its flag by the one before), none of
				 * its ink is inside that label's box. */
				for (guint i = 0; i < n; i++) {
					rav_trace_mark mk;
					REQUIRE(rav_trace_mark_at(t, lab[i].mark, &mk));
					int px = (int)floor(ravscope_timeline_x_of(doc, x, w, mk.event));
					for (guint j = 0; j < n; j++) {
						const RavscopeMarkLabel *b = &lab[j];
						if (j == i || px + 1 <= b->x - 2 || px >= b->x + b->w + 2 ||
						    b->y + b->h <= lab[i].y + lab[i].h * 0.5)
							continue;
						crossings++;
						for (int py = (int)ceil(b->y); py < (int)floor(b->y + b->h); py++)
							if (hairline_ink(s, px, py)) {
								fprintf(stderr, "width %d%s%s: the hairline of mark %u strikes "
									"through the label of mark %u at (%d, %d)\n", width,
									large ? ", large text" : "", two_rows ? ", two rows" : "",
									lab[i].mark, b->mark, px, py);
								return 1;
							}
					}
				}
			}
	ravscope_timeline_cache_free(cache);
	cairo_surface_destroy(s);
	cairo_surface_destroy(scratch);
	g_object_unref(doc);
	g_unlink(path);
	g_rmdir(dir);
	printf("%u timelines drawn; %u hairlines passed another label, none through it\n", draws, crossings);
	REQUIRE(crossings > 0); /* the layouts that used to abort were drawn */
	return 0;
}
