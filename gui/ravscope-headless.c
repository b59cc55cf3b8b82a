/* ravscope-headless.c - `ravscope --render` and `ravscope --bench`.
 *
 * Both run without a display (GTK is never initialised): they draw with the
 * same cairo code as the window's widgets into an image surface.  --render
 * writes what a person would see (title strip, lanes, legend, timeline) to
 * a PNG for tests, README pictures and machines without a display; --bench
 * plays a trace and prints frame-time percentiles at several zoom levels.
 */
#include "ravscope-headless.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ravscope-charts.h"
#include "ravscope-heapdraw.h"

#define TITLE_H 56
#define TIMELINE_H 96
#define GUTTER_W 170

static const double accent_rgb[3] = { 0.21, 0.52, 0.89 }; /* libadwaita blue */

/* Library messages usually name the file already; add it when not. */
static void print_open_error(const char *file, const char *what, const GError *error)
{
	if (strstr(error->message, file))
		g_printerr("ravscope: %s\n", error->message);
	else
		g_printerr("ravscope: %s %s: %s\n", what, file, error->message);
}

static gboolean parse_size(const char *s, int *w, int *h)
{
	char *end = NULL;
	long a = strtol(s, &end, 10);
	if (!end || (*end != 'x' && *end != 'X'))
		return FALSE;
	long b = strtol(end + 1, &end, 10);
	if (*end || a < 200 || b < 150 || a > 16384 || b > 16384)
		return FALSE;
	*w = (int)a;
	*h = (int)b;
	return TRUE;
}

gboolean ravscope_parse_loc(const char *s, rav_loc *out)
{
	unsigned page, cell;
	char sep, tail;
	if (!s)
		return FALSE;
	if (s[0] == 'p')
		s++;
	/* PAGE.CELL as ravtrace prints it; PAGE:CELL accepted too. */
	if (sscanf(s, "%u%c%u%c", &page, &sep, &cell, &tail) != 3 || (sep != '.' && sep != ':') || cell > 0x3fff)
		return FALSE;
	*out = rav_loc_make(page, cell, 0);
	return TRUE;
}

static void draw_title(cairo_t *cr, RavscopeDocument *doc, double w, gboolean dark, gboolean large)
{
	double fg = dark ? 0.94 : 0.14;
	cairo_set_source_rgb(cr, dark ? 0.17 : 0.92, dark ? 0.17 : 0.92, dark ? 0.18 : 0.93);
	cairo_rectangle(cr, 0, 0, w, TITLE_H);
	cairo_fill(cr);
	guint64 pos = ravscope_document_get_position(doc), n = ravscope_document_get_event_count(doc);
	g_autofree char *what = NULL;
	if (pos > 0) {
		rav_event ev;
		if (ravscope_document_last_event(doc, &ev))
			what = ravscope_document_describe_event(doc, &ev);
	}
	rav_state_totals tot = { 0 };
	rav_state_get_totals(ravscope_document_get_state(doc), &tot);
	g_autofree char *line1 = g_strdup_printf("%s — event %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT,
						 ravscope_document_get_basename(doc), pos, n);
	g_autofree char *line2 = g_strdup_printf("%s%s%" G_GUINT64_FORMAT " live cells · %" G_GUINT64_FORMAT
						 " reference ravioli · %" G_GUINT64_FORMAT " pages · %" G_GUINT64_FORMAT " moves · %"
						 G_GUINT64_FORMAT " fix-ups",
						 what ? "last: " : "", what ? what : "", tot.live_cells, tot.ref_cells, tot.pages,
						 tot.moves, tot.fixups);
	if (what) {
		g_free(line2);
		line2 = g_strdup_printf("last: %s   ·   %" G_GUINT64_FORMAT " live cells, %" G_GUINT64_FORMAT " pages, %"
					G_GUINT64_FORMAT " moves, %" G_GUINT64_FORMAT " fix-ups so far",
					what, tot.live_cells, tot.pages, tot.moves, tot.fixups);
	}
	PangoLayout *pl = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string("Sans Bold");
	pango_font_description_set_absolute_size(fd, (large ? 19 : 15) * PANGO_SCALE);
	pango_layout_set_font_description(pl, fd);
	pango_layout_set_text(pl, line1, -1);
	pango_layout_set_width(pl, (int)((w - 24) * PANGO_SCALE));
	pango_layout_set_ellipsize(pl, PANGO_ELLIPSIZE_END);
	cairo_set_source_rgb(cr, fg, fg, fg);
	cairo_move_to(cr, 12, 7);
	pango_cairo_show_layout(cr, pl);
	pango_font_description_set_weight(fd, PANGO_WEIGHT_NORMAL);
	pango_font_description_set_absolute_size(fd, (large ? 15 : 12) * PANGO_SCALE);
	pango_layout_set_font_description(pl, fd);
	pango_layout_set_text(pl, line2, -1);
	cairo_set_source_rgba(cr, fg, fg, fg, 0.75);
	cairo_move_to(cr, 12, large ? 31 : 30);
	pango_cairo_show_layout(cr, pl);
	pango_font_description_free(fd);
	g_object_unref(pl);
}

int ravscope_headless_render(const RavscopeRenderOptions *o)
{
	int w = 1280, h = 800;
	if (o->size && !parse_size(o->size, &w, &h)) {
		g_printerr("ravscope: --size %s: expected WIDTHxHEIGHT, e.g. 1280x800 (200x150 to 16384x16384)\n", o->size);
		return 2;
	}
	rav_loc sel = RAV_LOC_NONE, focus = RAV_LOC_NONE;
	if (o->select && !ravscope_parse_loc(o->select, &sel)) {
		g_printerr("ravscope: --select %s: expected PAGE.CELL, e.g. 3.17\n", o->select);
		return 2;
	}
	if (o->focus && !ravscope_parse_loc(o->focus, &focus)) {
		g_printerr("ravscope: --focus %s: expected PAGE.CELL, e.g. 3.17\n", o->focus);
		return 2;
	}
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(o->file, &error);
	if (!doc) {
		print_open_error(o->file, "cannot open", error);
		g_error_free(error);
		return 1;
	}
	const rav_trace_info *info = ravscope_document_get_info(doc);
	if (info->truncated)
		g_printerr("ravscope: %s is truncated; using the first %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes\n",
			   o->file, info->recovered_bytes, info->file_size);
	if (!ravscope_document_index_sync(doc, &error)) {
		print_open_error(o->file, "cannot index", error);
		g_error_free(error);
		g_object_unref(doc);
		return 1;
	}
	guint64 n = ravscope_document_get_event_count(doc);
	guint64 at = o->event >= 0 ? (guint64)o->event : ravscope_document_busiest_event(doc);
	if (o->event >= 0 && (guint64)o->event > n) {
		g_printerr("ravscope: --event %" G_GINT64_FORMAT ": the trace has %" G_GUINT64_FORMAT " events (0..%" G_GUINT64_FORMAT ")\n",
			   o->event, n, n);
		g_object_unref(doc);
		return 2;
	}
	if (!ravscope_document_seek(doc, at, &error)) {
		g_printerr("ravscope: cannot replay %s up to event %" G_GUINT64_FORMAT ": %s\n", o->file, at, error->message);
		g_error_free(error);
		g_object_unref(doc);
		return 1;
	}

	rav_contention *cont = NULL;
	if (o->contention) {
		rav_contention_config cfg = { .line_size = 64, .windows = 64 };
		rav_trace_error err = { 0 };
		cont = rav_contention_run(ravscope_document_get_trace(doc), &cfg, NULL, NULL, &err);
		if (!cont)
			g_printerr("ravscope: contention model failed: %s\n", err.message);
	}

	gboolean chrome = !o->no_chrome;
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		g_printerr("ravscope: cannot make a %dx%d image: %s\n", w, h, cairo_status_to_string(cairo_surface_status(surf)));
		cairo_surface_destroy(surf);
		if (cont)
			rav_contention_free(cont);
		g_object_unref(doc);
		return 1;
	}
	cairo_t *cr = cairo_create(surf);
	double bg[3];
	ravscope_heap_background(o->dark, bg);
	cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
	cairo_paint(cr);

	RavscopeViewport vp = { 0 };
	vp.gutter = chrome ? (o->large_text ? GUTTER_W + 50 : GUTTER_W) : 0;
	vp.x0 = vp.gutter;
	vp.y0 = chrome ? TITLE_H : 0;
	vp.width = w - vp.x0;
	vp.height = h - vp.y0 - (chrome ? TIMELINE_H : 0);
	vp.dark = o->dark;
	vp.large_text = o->large_text;
	vp.legend = chrome && !o->no_legend;
	vp.reserve_right = vp.legend ? (o->large_text ? 240 : 190) : 0;
	vp.selected = sel;
	vp.hover = RAV_LOC_NONE;
	vp.contention = cont;
	memcpy(vp.accent, accent_rgb, sizeof vp.accent);
	RavscopeHeapLayout *layout = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, o->large_text ? 52 : 40);
	GArray *anims = g_array_new(FALSE, TRUE, sizeof(RavscopeAnim));
	if (o->anim >= 0) {
		/* Apply the next event that changes the picture and draw its
		 * animation frozen at time o->anim, as the window would. */
		GArray *applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
		ravscope_document_step_visible(doc, applied, NULL);
		RavscopeHeapLayout *now = ravscope_heap_layout_build(doc, layout, layout->page_cols, vp.width / MAX(vp.height, 1),
								     ravscope_heap_layout_refit_min_h(layout, vp.scale,
												      o->large_text ? 52 : 40));
		ravscope_heap_layout_keep_fit(now, layout, vp.height);
		ravscope_anims_build(anims, doc, layout, now, (rav_event *)applied->data, applied->len);
		ravscope_heap_layout_free(layout);
		layout = now;
		at = ravscope_document_get_position(doc);
		vp.anims = (const RavscopeAnim *)anims->data;
		vp.n_anims = anims->len;
		vp.anim_t = CLAMP(o->anim, 0, 1);
		g_array_unref(applied);
	}
	if (o->cell_px > 0)
		vp.scale = o->cell_px;
	if (focus != RAV_LOC_NONE) {
		double wx, wy;
		if (!ravscope_heap_layout_cell_pos(layout, focus, &wx, &wy)) {
			g_printerr("ravscope: --focus %s: that page is not in any heap at event %" G_GUINT64_FORMAT "\n", o->focus, at);
		} else {
			if (o->cell_px <= 0)
				vp.scale = CLAMP(floor(MIN(vp.width / (layout->cols + 3), vp.height / (layout->rows + 3))), 4, 160);
			/* Show the focused cell's whole page, centred. */
			const RavscopeLayoutPage *lp = ravscope_heap_layout_find(layout, rav_loc_page(focus));
			double cx = lp->x + layout->cols / 2.0, cy = lp->y + layout->rows / 2.0;
			vp.ox = cx - vp.width / vp.scale / 2;
			vp.oy = cy - vp.height / vp.scale / 2;
		}
	}
	RavscopeHeapPainter *painter = ravscope_heap_painter_new();
	ravscope_heap_draw(cr, painter, doc, layout, &vp);

	if (chrome) {
		draw_title(cr, doc, w, o->dark, o->large_text);
		RavscopeTimelineCache *tc = ravscope_timeline_cache_new();
		RavscopeTimelineStyle st = { .dark = o->dark, .large_text = o->large_text, .hover_event = G_MAXUINT64 };
		memcpy(st.accent, accent_rgb, sizeof st.accent);
		double ty = h - TIMELINE_H;
		cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
		cairo_rectangle(cr, 0, ty, w, TIMELINE_H);
		cairo_fill(cr);
		ravscope_timeline_draw(cr, tc, doc, 12, ty + 4, w - 24, TIMELINE_H - 8, &st);
		ravscope_timeline_cache_free(tc);
	}
	/* Drawing errors stick to the context: say so rather than write a
	 * half-drawn picture. */
	cairo_status_t ds = cairo_status(cr);
	cairo_destroy(cr);
	cairo_status_t cs = ds ? ds : cairo_surface_write_to_png(surf, o->output);
	int rc = 0;
	if (ds != CAIRO_STATUS_SUCCESS) {
		g_printerr("ravscope: cannot draw %s: %s\n", o->file, cairo_status_to_string(ds));
		rc = 1;
	} else if (cs != CAIRO_STATUS_SUCCESS) {
		g_printerr("ravscope: cannot write %s: %s\n", o->output, cairo_status_to_string(cs));
		rc = 1;
	} else {
		rav_state_totals tot = { 0 };
		rav_state_get_totals(ravscope_document_get_state(doc), &tot);
		g_print("ravscope: wrote %s (%dx%d, event %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT ", %.2f px per cell, %"
			G_GUINT64_FORMAT " live cells)\n", o->output, w, h, at, n, vp.scale, tot.live_cells);
		if (o->anim >= 0)
			g_print("animation: %u items at t=%.2f\n", anims->len, CLAMP(o->anim, 0, 1));
		if (o->print_counts) {
			guint shown = 0;
			for (guint i = 0; i < layout->pages->len; i++)
				shown += g_array_index(layout->pages, RavscopeLayoutPage, i).kind != RAV_SPAGE_POOL;
			g_print("world %.0fx%.0f px at %.0f,%.0f\n", ceil(layout->world_w * vp.scale), ceil(layout->world_h * vp.scale),
				vp.x0, vp.y0);
			g_print("pages %u of %u cells\n", shown, info->cells_per_page);
			RavscopeLanesShown ls;
			ravscope_heap_layout_lanes_shown(layout, &vp, &ls);
			g_print("lanes %u shown %u min %.1f px%s\n", layout->lanes->len, ls.shown, ls.min_px,
				layout->scrolls ? " (scrolls)" : "");
			guint tiles, flat;
			guint64 image_px;
			ravscope_heap_painter_image_stats(painter, &tiles, &image_px, &flat);
			g_print("image %u tiles %" G_GUINT64_FORMAT " px, %u lanes flat\n", tiles, image_px, flat);
			GArray *counts = ravscope_heap_type_counts(doc, layout);
			for (guint i = 0; i < counts->len; i++) {
				RavscopeTypeCount c = g_array_index(counts, RavscopeTypeCount, i);
				g_print("cells %u %06x %" G_GUINT64_FORMAT " %s\n", c.type,
					ravscope_type_argb(c.type, o->dark) & 0xffffff, c.cells,
					ravscope_document_type_name(doc, c.type));
			}
			g_array_unref(counts);
		}
	}
	cairo_surface_destroy(surf);
	ravscope_heap_painter_free(painter);
	ravscope_heap_layout_free(layout);
	g_array_unref(anims);
	if (cont)
		rav_contention_free(cont);
	g_object_unref(doc);
	return rc;
}

/* ---- bench ----------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(GArray *v, double p)
{
	if (v->len == 0)
		return 0;
	guint i = (guint)MIN(v->len - 1, floor(p / 100.0 * v->len));
	return g_array_index(v, double, i);
}

typedef struct {
	RavscopeDocument *doc;
	GError *error;
	gboolean ok;
} BenchIndex;

static gpointer bench_index_thread(gpointer p)
{
	BenchIndex *bi = p;
	rav_trace_error err = { 0 };
	bi->ok = rav_trace_index(ravscope_document_get_trace(bi->doc), NULL, NULL, &err) == 0;
	if (!bi->ok)
		bi->error = g_error_new_literal(RAVSCOPE_ERROR, err.code, err.message);
	return NULL;
}

int ravscope_headless_bench(const RavscopeRenderOptions *o)
{
	int w = 1280, h = 800;
	if (o->size && !parse_size(o->size, &w, &h)) {
		g_printerr("ravscope: --size %s: expected WIDTHxHEIGHT\n", o->size);
		return 2;
	}
	gint64 t0 = g_get_monotonic_time();
	GError *error = NULL;
	RavscopeDocument *doc = ravscope_document_open(o->file, &error);
	if (!doc) {
		print_open_error(o->file, "cannot open", error);
		g_error_free(error);
		return 1;
	}
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		g_printerr("ravscope: cannot make a %dx%d image: %s\n", w, h, cairo_status_to_string(cairo_surface_status(surf)));
		cairo_surface_destroy(surf);
		g_object_unref(doc);
		return 1;
	}
	cairo_t *cr = cairo_create(surf);
	RavscopeViewport vp = { .gutter = GUTTER_W, .x0 = GUTTER_W, .y0 = 0, .width = w - GUTTER_W, .height = h,
				.legend = TRUE, .selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE };
	memcpy(vp.accent, accent_rgb, sizeof vp.accent);
	RavscopeHeapPainter *painter = ravscope_heap_painter_new();

	/* First frame while indexing runs, as the window does it. */
	BenchIndex bi = { .doc = doc };
	GThread *th = g_thread_new("ravscope-index", bench_index_thread, &bi);
	RavscopeHeapLayout *layout = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40);
	ravscope_heap_draw(cr, painter, doc, layout, &vp);
	cairo_surface_flush(surf);
	gint64 t_first = g_get_monotonic_time();
	ravscope_heap_layout_free(layout);
	g_thread_join(th);
	gint64 t_indexed = g_get_monotonic_time();
	if (!bi.ok) {
		g_printerr("ravscope: cannot index %s: %s\n", o->file, bi.error->message);
		g_error_free(bi.error);
		return 1;
	}
	/* Let the document see the finished index (series, max pages). */
	ravscope_document_index_sync(doc, NULL);
	const rav_trace_info *info = ravscope_document_get_info(doc);
	guint64 n = ravscope_document_get_event_count(doc);
	g_print("ravscope bench: %s\n", o->file);
	g_print("  events %" G_GUINT64_FORMAT ", file %.1f MB, %ux%u px\n", n, info->file_size / 1e6, w, h);
	g_print("  time to first frame  %8.1f ms (open + layout + draw while indexing)\n", (t_first - t0) / 1000.0);
	g_print("  indexing done after  %8.1f ms\n", (t_indexed - t0) / 1000.0);

	guint frames = o->frames > 0 ? (guint)o->frames : 240;
	/* Play at a fixed rate (events per frame) from just before the moment
	 * with the most live cells, the heaviest picture of the trace. */
	guint64 per_frame = o->events_per_frame > 0 ? (guint64)o->events_per_frame : 2000;
	guint64 busiest = ravscope_document_busiest_event(doc);
	guint64 start = busiest > per_frame * frames / 2 ? busiest - per_frame * frames / 2 : 0;
	ravscope_heap_painter_set_playing(painter, TRUE);
	const double zooms[] = { 0, 2, 8, 24, 80 }; /* 0 = fit the whole heap */
	GArray *applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
	g_print("  playing %" G_GUINT64_FORMAT " events per frame (%.0fk events/s at 60 frames/s) from event %" G_GUINT64_FORMAT "\n",
		per_frame, per_frame * 60 / 1000.0, start);
	g_print("  frame = apply the frame's events + layout + draw; draw = layout + draw only\n");
	g_print("  first = the frame right after the seek, which draws every cell (not in the percentiles)\n");
	g_print("  %-11s %8s %8s %8s %8s %9s %9s %10s %9s\n", "zoom", "p50 ms", "p95 ms", "p99 ms", "max ms", "draw p50", "draw p99",
		"events/fr", "first ms");
	for (guint z = 0; z < G_N_ELEMENTS(zooms); z++) {
		ravscope_document_seek(doc, start, NULL);
		ravscope_heap_painter_invalidate(painter);
		GArray *times = g_array_new(FALSE, FALSE, sizeof(double));
		GArray *draws = g_array_new(FALSE, FALSE, sizeof(double));
		double first_ms = 0;
		layout = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40);
		unsigned pc = layout->page_cols;
		for (guint f = 0; f < frames && ravscope_document_get_position(doc) < n; f++) {
			gint64 a = g_get_monotonic_time();
			g_array_set_size(applied, 0);
			ravscope_document_step_many(doc, (guint)MIN(per_frame, G_MAXUINT), applied, NULL);
			ravscope_heap_painter_note_events(painter, (rav_event *)applied->data, applied->len);
			gint64 b = g_get_monotonic_time();
			if (ravscope_events_change_layout((rav_event *)applied->data, applied->len)) {
				RavscopeHeapLayout *next = ravscope_heap_layout_build_fit(doc, layout, pc, &vp, 40);
				ravscope_heap_layout_free(layout);
				layout = next;
			} else {
				ravscope_heap_layout_refresh(layout, doc);
				ravscope_viewport_fit(&vp, layout);
			}
			if (zooms[z] > 0) {
				vp.scale = zooms[z];
				/* Follow the busiest spot: the top-left of the first lane. */
				vp.ox = 0;
				vp.oy = 0;
			}
			ravscope_heap_draw(cr, painter, doc, layout, &vp);
			cairo_surface_flush(surf);
			gint64 e = g_get_monotonic_time();
			double ms = (e - a) / 1000.0, dms = (e - b) / 1000.0;
			/* The first frame after the seek redraws every cell: report it
			 * apart from the steady state. */
			if (f == 0) {
				first_ms = ms;
				continue;
			}
			g_array_append_val(times, ms);
			g_array_append_val(draws, dms);
		}
		ravscope_heap_layout_free(layout);
		g_array_sort(times, cmp_double);
		g_array_sort(draws, cmp_double);
		char label[32];
		if (zooms[z] == 0)
			g_snprintf(label, sizeof label, "fit");
		else
			g_snprintf(label, sizeof label, "%.0f px/cell", zooms[z]);
		g_print("  %-11s %8.2f %8.2f %8.2f %8.2f %9.2f %9.2f %10" G_GUINT64_FORMAT " %9.1f\n", label, pct(times, 50),
			pct(times, 95), pct(times, 99), times->len ? g_array_index(times, double, times->len - 1) : 0.0,
			pct(draws, 50), pct(draws, 99), per_frame, first_ms);
		g_array_unref(times);
		g_array_unref(draws);
	}
	g_array_unref(applied);
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
	ravscope_heap_painter_free(painter);
	g_object_unref(doc);
	return 0;
}
