/* test-frames.c - the heap picture while a trace plays equals the picture
 * drawn from scratch, and the one-build layout fit equals the two-build one.
 *
 * Playing keeps work between frames: the cell image is updated for the
 * pages the frame's events touched (and grows its page table when the heap
 * names a new highest page, without a full redraw), the layout is built
 * once per frame with the previous fit's lane height, and rav_state keeps
 * each heap's page list until it changes.  Each shortcut must give what
 * the slow path gives.  A synthetic trace (replay-gen, several threads,
 * heaps that grow from nothing and shrink) is played frame by frame as
 * `ravscope --bench` and the window do; on every frame the layout is
 * compared with the one the earlier two-build fit made, and every few
 * frames the incrementally painted picture is compared pixel for pixel
 * with a fresh painter's, and every heap's page list and page kinds with a
 * fresh state's.  No display needed.
 */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "ravscope-document.h"
#include "ravscope-heapdraw.h"
#include "replay-gen.h"

#define W 900
#define H 600
#define GUTTER 170
#define LABEL_PX 40.0
#define EMPTY_LANE_H 3.0 /* ravscope-heap-layout.c: the fit's smallest lane */

typedef struct {
	char *dir, *path;
	unsigned threads;
} Fixture;

static void make_trace(Fixture *f, unsigned threads, guint64 events, guint64 live)
{
	GError *error = NULL;
	f->dir = g_dir_make_tmp("ravscope-frames-XXXXXX", &error);
	g_assert_no_error(error);
	f->path = g_build_filename(f->dir, "t.rav", NULL);
	gen_params p = { .path = f->path, .events = events, .live_target = live, .threads = threads, .seed = 7 };
	guint64 written = 0;
	g_assert_cmpint(gen_trace(&p, &written), ==, 0);
	g_assert_cmpuint(written, >, 0);
	f->threads = threads;
}

static void drop_trace(Fixture *f)
{
	g_unlink(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
}

/* The fit as ravscope_heap_layout_build_fit made it before it built once:
 * a build without a minimum lane height, its fit, then builds with the
 * minimum that fit gives until the lanes are label-tall at their own fit
 * (the case of lanes that all fit label-tall). */
static void check_fit_matches_two_builds(RavscopeDocument *doc, const RavscopeHeapLayout *keep,
					 const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	if (L->fit_scale > 0)
		return; /* the many-lanes fit: computed from the census alone */
	double aspect = vp->width / MAX(vp->height, 1);
	RavscopeHeapLayout *a = ravscope_heap_layout_build(doc, keep, L->page_cols, aspect, 0);
	RavscopeViewport v = *vp;
	ravscope_viewport_fit(&v, a);
	double min_h = LABEL_PX / MAX(v.scale, 1e-3);
	RavscopeHeapLayout *b = min_h > EMPTY_LANE_H * 1.05 ? ravscope_heap_layout_build(doc, keep, L->page_cols, aspect, min_h) : NULL;
	/* ... and again with the minimum its fit gives, while that fit would
	 * make lanes shorter than the label. */
	for (int round = 0; round < 8; round++) {
		const RavscopeHeapLayout *cur = b ? b : a;
		RavscopeViewport w = *vp;
		ravscope_viewport_fit(&w, cur);
		if (w.scale * cur->min_lane_h >= LABEL_PX - 1e-6)
			break;
		ravscope_heap_layout_free(b);
		b = ravscope_heap_layout_build(doc, keep, L->page_cols, aspect, LABEL_PX / MAX(w.scale, 1e-3));
	}
	const RavscopeHeapLayout *want = b ? b : a;
	g_assert_cmpfloat(want->world_w, ==, L->world_w);
	g_assert_cmpfloat(want->world_h, ==, L->world_h);
	g_assert_cmpfloat(want->min_lane_h, ==, L->min_lane_h);
	g_assert_cmpuint(want->lanes->len, ==, L->lanes->len);
	g_assert_cmpuint(want->pages->len, ==, L->pages->len);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *x = &g_array_index(L->pages, RavscopeLayoutPage, i);
		const RavscopeLayoutPage *y = &g_array_index(want->pages, RavscopeLayoutPage, i);
		g_assert_cmpuint(x->page, ==, y->page);
		g_assert_cmpfloat(x->x, ==, y->x);
		g_assert_cmpfloat(x->y, ==, y->y);
	}
	ravscope_heap_layout_free(a);
	ravscope_heap_layout_free(b);
}

/* Every heap's page list as rav_state_heap_at gives it equals a fresh
 * state's at the same event (the lists a state keeps between calls). */
static void check_page_lists(RavscopeDocument *doc)
{
	rav_state *s = ravscope_document_get_state(doc);
	rav_state *fresh = rav_state_new(ravscope_document_get_trace(doc));
	rav_trace_error err = { 0 };
	g_assert_nonnull(fresh);
	g_assert_cmpint(rav_state_seek(fresh, rav_state_position(s), &err), ==, 0);
	g_assert_cmpuint(rav_state_heap_count(s), ==, rav_state_heap_count(fresh));
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		rav_state_heap a, b;
		g_assert_true(rav_state_heap_at(s, i, &a));
		g_assert_true(rav_state_heap_at(fresh, i, &b));
		g_assert_cmpuint(a.id, ==, b.id);
		g_assert_cmpuint(a.page_count, ==, b.page_count);
		if (a.page_count)
			g_assert_cmpmem(a.pages, a.page_count * sizeof(guint32), b.pages, b.page_count * sizeof(guint32));
		for (unsigned k = 0; k < a.page_count; k++) {
			struct rav_state_page sp;
			g_assert_true(rav_state_page(s, a.pages[k], &sp));
			g_assert_cmpuint(a.page_kinds[k], ==, sp.kind);
		}
	}
	rav_state_free(fresh);
}

static cairo_surface_t *draw_fresh(RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
	cairo_t *cr = cairo_create(s);
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, P, doc, L, vp);
	cairo_destroy(cr);
	cairo_surface_flush(s);
	ravscope_heap_painter_free(P);
	return s;
}

static void play(gconstpointer data)
{
	const double *zoom = data; /* 0: fit */
	Fixture f;
	make_trace(&f, 6, 240000, 3000);
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(f.path, &error);
	g_assert_no_error(error);
	g_assert_true(ravscope_document_index_sync(doc, &error));
	guint64 n = ravscope_document_get_event_count(doc);

	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
	cairo_t *cr = cairo_create(surf);
	/* No legend: while playing it is counted over several frames (by
	 * design behind a fresh painter's count). */
	RavscopeViewport vp = { .gutter = GUTTER, .x0 = GUTTER, .width = W - GUTTER, .height = H,
				.selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE };
	RavscopeHeapPainter *P = ravscope_heap_painter_new();
	ravscope_heap_painter_set_playing(P, TRUE);
	GArray *applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
	RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, LABEL_PX);
	unsigned pc = L->page_cols;
	guint frames = 0, compared = 0, relaid = 0;
	/* Big frames early (the heaps grow: new highest pages), then small. */
	while (ravscope_document_get_position(doc) < n) {
		guint per_frame = frames < 40 ? 2000 : 700;
		g_array_set_size(applied, 0);
		ravscope_document_step_many(doc, per_frame, applied, NULL);
		ravscope_heap_painter_note_events(P, (rav_event *)applied->data, applied->len);
		if (ravscope_events_change_layout((rav_event *)applied->data, applied->len)) {
			RavscopeHeapLayout *next = ravscope_heap_layout_build_fit(doc, L, pc, &vp, LABEL_PX);
			check_fit_matches_two_builds(doc, L, next, &vp);
			ravscope_heap_layout_free(L);
			L = next;
			relaid++;
		} else {
			ravscope_heap_layout_refresh(L, doc);
			ravscope_viewport_fit(&vp, L);
		}
		if (*zoom > 0) {
			vp.scale = *zoom;
			vp.ox = vp.oy = 0;
		}
		ravscope_heap_draw(cr, P, doc, L, &vp);
		cairo_surface_flush(surf);
		if (frames++ % 7 == 3) {
			cairo_surface_t *fresh = draw_fresh(doc, L, &vp);
			int stride = cairo_image_surface_get_stride(surf);
			g_assert_cmpint(stride, ==, cairo_image_surface_get_stride(fresh));
			const guint8 *a = cairo_image_surface_get_data(surf), *b = cairo_image_surface_get_data(fresh);
			for (int y = 0; y < H; y++) {
				if (memcmp(a + (size_t)y * stride, b + (size_t)y * stride, (size_t)W * 4) != 0) {
					g_autofree char *pa = g_build_filename(f.dir, "incremental.png", NULL);
					g_autofree char *pb = g_build_filename(f.dir, "fresh.png", NULL);
					cairo_surface_write_to_png(surf, pa);
					cairo_surface_write_to_png(fresh, pb);
					g_error("frame %u (event %" G_GUINT64_FORMAT ", zoom %g): row %d differs from a fresh "
						"painter's; pictures in %s", frames, ravscope_document_get_position(doc), *zoom, y, f.dir);
				}
			}
			cairo_surface_destroy(fresh);
			check_page_lists(doc);
			compared++;
		}
	}
	g_test_message("%u frames, %u relaid out, %u compared", frames, relaid, compared);
	g_assert_cmpuint(compared, >, 10);
	g_assert_cmpuint(relaid, >, 10);

	/* Back to the start and forward again: the seek replaces the model
	 * (rav_state's page-list cache must not outlive it). */
	g_assert_true(ravscope_document_seek(doc, n / 3, &error));
	check_page_lists(doc);
	ravscope_heap_painter_invalidate(P);
	RavscopeHeapLayout *again = ravscope_heap_layout_build_fit(doc, L, pc, &vp, LABEL_PX);
	check_fit_matches_two_builds(doc, L, again, &vp);
	RavscopeHeapLayout *cold = ravscope_heap_layout_build_fit(doc, NULL, pc, &vp, LABEL_PX);
	g_assert_cmpuint(again->pages->len, ==, cold->pages->len);
	ravscope_heap_layout_free(cold);
	ravscope_heap_layout_free(again);

	g_array_unref(applied);
	ravscope_heap_layout_free(L);
	ravscope_heap_painter_free(P);
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
	g_object_unref(doc);
	drop_trace(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	static const double fit = 0, cells = 2, big = 24;
	g_test_add_data_func("/Rav/Gui/Frames/fit", &fit, play);
	g_test_add_data_func("/Rav/Gui/Frames/2-px", &cells, play);
	g_test_add_data_func("/Rav/Gui/Frames/24-px", &big, play);
	return g_test_run();
}
