/* rough-edges-heap.c - rough edges of the heap view: the camera zoomed in
 * (5), the status line and times (6), the legend (7).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "rough-edges.h"

/* ---- 5: the camera, zoomed in ------------------------------------------------------ */

static void wait_camera(GtkWidget *hv)
{
	/* Glides and zooms run on the frame clock: let them end (some 30
	 * frames; a fixed 30 x 0.1 s was most of this test's time, and a bet
	 * on the frame rate under load). */
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	while (ravscope_heap_view_is_gliding(RAVSCOPE_HEAP_VIEW(hv))) {
		if (g_get_monotonic_time() > deadline)
			g_error("the heap view still gliding after 60 s (scale %.2f)",
				ravscope_heap_view_get_scale(RAVSCOPE_HEAP_VIEW(hv)));
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	spin_a_bit();
}

/* A move whose referrer's fix-up is on another page than the hole it fills. */
static int64_t move_fixed_elsewhere(rav_trace *t, rav_event *move)
{
	rav_event_filter f = { .kinds = (guint64)1 << RAV_EV_MOVE, .thread = -1 };
	for (int64_t mv = rav_trace_find_next(t, 0, &f); mv >= 0; mv = rav_trace_find_next(t, (guint64)mv + 1, &f)) {
		rav_event ev, fx;
		g_assert_true(rav_trace_event_at(t, (guint64)mv, &ev));
		for (guint64 i = (guint64)mv + 1; rav_trace_event_at(t, i, &fx) && (fx.kind == RAV_EV_FIXUP || fx.kind == RAV_EV_TIME); i++) {
			if (fx.kind == RAV_EV_FIXUP && rav_loc_page(fx.a) != rav_loc_page(ev.b)) {
				*move = ev;
				return mv;
			}
		}
	}
	return -1;
}

void test_camera(void)
{
	RavscopeWindow *w = open_window(demo("tree"), 1400, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	RavscopeHeapView *hv = RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w));
	rav_event move = { 0 };
	int64_t mv = move_fixed_elsewhere(t, &move);
	g_assert_cmpint(mv, >=, 0);
	rav_loc dest = rav_loc_make(rav_loc_page(move.b), rav_loc_cell(move.b), 0);

	/* A jump to that move, zoomed onto another page: the view frames the
	 * moved cell (it used to frame the page of the last fix-up). */
	ravscope_window_seek(w, (guint64)mv);
	/* Another page of the same heap, far from the hole. */
	guint32 other = G_MAXUINT32;
	rav_state *state = ravscope_document_get_state(doc);
	for (unsigned i = 0; i < rav_state_heap_count(state) && other == G_MAXUINT32; i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(state, i, &h) || h.kind != RAV_HEAP_THREAD)
			continue;
		for (unsigned p = 0; p < h.page_count; p++)
			if (h.pages[p] != rav_loc_page(dest) && (other == G_MAXUINT32 || p == h.page_count - 1))
				other = h.pages[p];
	}
	g_assert_cmpuint(other, !=, G_MAXUINT32);
	ravscope_heap_view_focus_cell(hv, rav_loc_make(other, 5, 0));
	wait_camera(GTK_WIDGET(hv));
	g_assert_false(ravscope_heap_view_cell_in_view(hv, dest));
	ravscope_window_seek(w, (guint64)mv - 1 > 0 ? (guint64)mv - 1 : 0);
	gtk_widget_activate_action(GTK_WIDGET(w), "win.seek-event", "t", (guint64)mv);
	wait_camera(GTK_WIDGET(hv));
	if (!ravscope_heap_view_cell_in_view(hv, dest))
		g_error("after going to the move at %" G_GINT64_FORMAT " the moved cell %u.%u is not in view", mv,
			rav_loc_page(dest), rav_loc_cell(dest));

	/* Playing zoomed in: the camera follows the action without jumping
	 * between pages on every step (at most once here: the steps below take
	 * far less than the camera's hold time). */
	ravscope_window_seek(w, ravscope_document_get_event_count(doc) / 2);
	ravscope_heap_view_focus_cell(hv, rav_loc_make(other, 5, 0));
	wait_camera(GTK_WIDGET(hv));
	ravscope_heap_view_set_playing(hv, TRUE);
	double s0, x0, y0;
	ravscope_heap_view_get_target_view(hv, &s0, &x0, &y0);
	guint moves = 0, offpage = 0;
	gint64 t0 = g_get_monotonic_time();
	GArray *ev = g_array_new(FALSE, FALSE, sizeof(rav_event));
	for (int k = 0; k < 60; k++) {
		g_array_set_size(ev, 0);
		ravscope_document_step_visible(doc, ev, NULL);
		ravscope_heap_view_animate(hv, (rav_event *)ev->data, ev->len, 45);
		double s, x, y;
		ravscope_heap_view_get_target_view(hv, &s, &x, &y);
		if (fabs(x - x0) > 1e-6 || fabs(y - y0) > 1e-6)
			moves++;
		x0 = x;
		y0 = y;
		for (guint i = 0; i < ev->len; i++)
			if (g_array_index(ev, rav_event, i).kind == RAV_EV_MOVE)
				offpage += !ravscope_heap_view_cell_in_view(hv, g_array_index(ev, rav_event, i).b);
		while (g_main_context_iteration(NULL, FALSE))
			;
	}
	g_array_unref(ev);
	ravscope_heap_view_set_playing(hv, FALSE);
	double seconds = (g_get_monotonic_time() - t0) / 1e6;
	g_test_message("60 steps in %.2f s: %u camera moves, %u moves out of view", seconds, moves, offpage);
	g_assert_cmpuint(offpage, >, 0); /* the action was on more than one page */
	/* At most one glide per 1.5 s (the steps run as fast as the machine
	 * lets them; it is not a timing threshold, only the camera's rule). */
	g_assert_cmpuint(moves, <=, 1 + (guint)(seconds / 1.5));
	close_window(w);
}

/* ---- 6: the status line names the event gone to; times go forward --------------- */

void test_status_and_times(void)
{
	const char *names[] = { "messages", "chatty" };
	guint64 seen = 0;
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		RavscopeWindow *w = open_window(demo(names[k]), 1400, 800);
		RavscopeDocument *doc = ravscope_window_get_document(w);
		rav_trace *t = ravscope_document_get_trace(doc);
		guint64 n = ravscope_document_get_event_count(doc);
		GtkLabel *status = GTK_LABEL(find_with_class(GTK_WIDGET(w), "ravscope-event"));
		g_assert_nonnull(status);
		/* Going to an event (a history row, a list row, a jump): the status
		 * line describes that event, whatever kind it is and whatever the
		 * other thread does right after it. */
		guint checked = 0, kinds = 0;
		for (guint64 e = 1; e < n; e += n / 157 + 1) {
			rav_event ev;
			g_assert_true(rav_trace_event_at(t, e, &ev));
			if (ev.kind == RAV_EV_TIME)
				continue;
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.seek-event", "t", e));
			while (g_main_context_iteration(NULL, FALSE))
				;
			g_autofree char *want = ravscope_document_describe_event(doc, &ev);
			const char *got = gtk_label_get_text(status);
			if (!g_str_has_suffix(got, want))
				g_error("%s: after going to event %" G_GUINT64_FORMAT " (%s) the status line says \"%s\"", names[k], e,
					want, got);
			checked++;
			if (!(seen >> ev.kind & 1))
				kinds++;
			seen |= (guint64)1 << ev.kind;
		}
		g_test_message("%s: status line right after going to %u events of %u new kinds", names[k], checked, kinds);
		/* Times shown never go backwards along the list, by more than the
		 * clocks of two cores differ: an ordering event (a receive after
		 * its send) is merged after the event it follows by sequence
		 * number, and its clock reading, taken on the other core, may
		 * be some nanoseconds earlier (seen: 15 ns in a messages
		 * recording).  The list shows tenths of a microsecond. */
		guint64 last = 0;
		for (guint64 e = 0; e < n; e++) {
			guint64 tn = ravscope_document_event_time_ns(doc, e);
			if (tn + 1000 < last)
				g_error("%s: event %" G_GUINT64_FORMAT " is shown at %" G_GUINT64_FORMAT " ns, before event %"
					G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " ns)", names[k], e, tn, e - 1, last);
			last = MAX(last, tn);
		}
		g_assert_cmpuint(last, >, 0);
		close_window(w);
	}
	g_assert_cmpuint(__builtin_popcountll(seen), >=, 6);
}

/* ---- 7: the legend hides no page; the overlay's own legend --------------------- */

static guint64 count_in_rows(cairo_surface_t *s, int y0, int y1, guint32 rgb)
{
	int w = cairo_image_surface_get_width(s), stride = cairo_image_surface_get_stride(s);
	const guint8 *d = cairo_image_surface_get_data(s);
	guint64 n = 0;
	for (int y = MAX(y0, 0); y < y1 && y < cairo_image_surface_get_height(s); y++)
		for (int x = 0; x < w; x++)
			n += (((const guint32 *)(d + (size_t)y * stride))[x] & 0xffffff) == rgb;
	return n;
}

void test_legend(void)
{
	RavscopeDocument *doc = open_doc(demo("tree"));
	const int W = 900, H = 600;
	const double zooms[] = { 0, 12, 40 };
	for (guint z = 0; z < G_N_ELEMENTS(zooms); z++) {
		/* The heap area is the same picture with and without the legend:
		 * the legend is a strip under it, over no page at any zoom. */
		RavscopeViewport with = { .legend = TRUE }, without = { .legend = FALSE };
		cairo_surface_t *a = draw_heap(doc, &with, W, H, zooms[z], NULL);
		without.height = with.height;
		cairo_surface_t *b = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
		cairo_t *cr = cairo_create(b);
		without.gutter = without.x0 = 170;
		without.width = W - 170;
		without.selected = without.hover = RAV_LOC_NONE;
		RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &without, 40);
		if (zooms[z] > 0) {
			without.scale = zooms[z];
			without.ox = 3;
			without.oy = 1;
		}
		RavscopeHeapPainter *P = ravscope_heap_painter_new();
		ravscope_heap_draw(cr, P, doc, L, &without);
		cairo_destroy(cr);
		cairo_surface_flush(b);
		g_assert_cmpfloat(with.scale, ==, without.scale);
		int strip = (int)(with.y0 + with.height);
		g_assert_cmpint(strip, <, H);
		if (!same_rows(a, b, 0, strip))
			g_error("at zoom %.0f the legend changes the heap area", zooms[z]);
		/* ... and the strip shows the types. */
		guint32 node = ravscope_type_argb(RAVSCOPE_TYPE_FIRST_USER, FALSE) & 0xffffff;
		g_assert_cmpuint(count_in_rows(a, strip, H, node), >, 20);
		ravscope_heap_painter_free(P);
		ravscope_heap_layout_free(L);
		cairo_surface_destroy(a);
		cairo_surface_destroy(b);
	}
	g_object_unref(doc);

	/* The contention overlay: its legend is the heat scale, not the types;
	 * a model without transfers in the heap's pages leaves the cells as they
	 * are (it washed out the whole heap). */
	const char *names[] = { "messages", "list" };
	for (guint k = 0; k < G_N_ELEMENTS(names); k++) {
		doc = open_doc(demo(names[k]));
		rav_contention_config cfg = { .line_size = 64, .windows = 16 };
		rav_trace_error err = { 0 };
		rav_contention *c = rav_contention_run(ravscope_document_get_trace(doc), &cfg, NULL, NULL, &err);
		g_assert_nonnull(c);
		RavscopeViewport off = { .legend = TRUE }, on = { .legend = TRUE, .contention = c };
		cairo_surface_t *a = draw_heap(doc, &off, W, H, 0, NULL);
		cairo_surface_t *b = draw_heap(doc, &on, W, H, 0, NULL);
		int strip = (int)(on.y0 + on.height);
		guint32 node = ravscope_type_argb(RAVSCOPE_TYPE_FIRST_USER, FALSE) & 0xffffff;
		g_assert_cmpuint(count_in_rows(a, strip, H, node), >, 20);
		g_assert_cmpuint(count_in_rows(b, strip, H, node), ==, 0);
		gboolean heats = ravscope_contention_heats_pool(c);
		g_test_message("%s: heats %d", names[k], heats);
		if (heats)
			g_assert_false(same_rows(a, b, 0, strip));
		else
			g_assert_true(same_rows(a, b, 0, strip));
		g_assert_true(k == 0 ? heats : !heats);
		rav_contention_free(c);
		cairo_surface_destroy(a);
		cairo_surface_destroy(b);
		g_object_unref(doc);
	}
}
