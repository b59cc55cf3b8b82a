/* ravscope-headless.c - `ravscope --render` and `ravscope --bench`.
 *
 * Both run without a display (GTK is never initialised): they draw with the
 * same cairo code as the window's widgets.  --render writes what a person
 * would see (title strip, lanes, legend, timeline; ravscope-export.c
 * composes it) to a PNG for tests, README pictures and machines without a
 * display, and through the export job to SVG, PDF, an animated GIF or PNG,
 * or numbered frames, for one event or a range (--from/--to/--fps); --bench
 * plays a trace and prints frame-time percentiles at several zoom levels.
 */
#include "ravscope-headless.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ravscope-charts.h"
#include "ravscope-contention.h"
#include "ravscope-export.h"
#include "ravscope-heapdraw.h"

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

/* --from/--to, or an output that is not one PNG: the export job writes it
 * (ravscope-export.c), the same as the window's Export dialog. */
static int render_export(RavscopeDocument *doc, const RavscopeRenderOptions *o, RavscopeExportFormat format,
			 const RavscopePictureStyle *style, guint64 at)
{
	guint64 n = ravscope_document_get_event_count(doc);
	gboolean range = o->from >= 0 || o->to >= 0;
	RavscopeExportOptions eo = { .path = o->output, .format = format, .style = *style, .range = range,
				     .from = o->from >= 0 ? (guint64)o->from : 0,
				     .to = o->to >= 0 ? (guint64)o->to : n, .fps = o->fps, .step_ms = (guint)MAX(o->step_ms, 0) };
	GError *error = NULL;
	if (!range && !ravscope_document_seek(doc, at, &error)) {
		g_printerr("ravscope: cannot replay %s up to event %" G_GUINT64_FORMAT ": %s\n", o->file, at, error->message);
		g_error_free(error);
		return 1;
	}
	RavscopeExport *e = ravscope_export_new(doc, &eo, &error);
	if (!e) {
		g_printerr("ravscope: %s\n", error->message);
		gboolean usage = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
		g_error_free(error);
		return usage ? 2 : 1;
	}
	while (ravscope_export_next(e, &error))
		;
	guint frames = ravscope_export_frames(e);
	if (error)
		ravscope_export_cancel(e);
	if (error || !ravscope_export_finish(e, &error)) {
		g_printerr("ravscope: %s\n", error->message);
		g_error_free(error);
		return 1;
	}
	if (range)
		g_print("ravscope: wrote %s (%s, %dx%d, events %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ", %u frame%s)\n",
			o->output, ravscope_export_format_name(format), style->width, style->height, eo.from, eo.to, frames,
			frames == 1 ? "" : "s");
	else
		g_print("ravscope: wrote %s (%s, %dx%d, event %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT ")\n", o->output,
			ravscope_export_format_name(format), style->width, style->height, at, n);
	return 0;
}

int ravscope_headless_render(const RavscopeRenderOptions *o)
{
	int w = 1280, h = 800;
	if (!o->output || !*o->output) {
		g_printerr("ravscope: --render needs an output file: --render OUT.png, or -o OUT (.png, .svg, .pdf, .gif, "
			   "or a name with %%d for numbered frames)\n");
		return 2;
	}
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
	gboolean range = o->from >= 0 || o->to >= 0;
	RavscopeExportFormat format;
	GError *error = NULL;
	if (!ravscope_export_format_for_path(o->output, range, &format, &error)) {
		g_printerr("ravscope: %s\n", error->message);
		g_error_free(error);
		return 2;
	}
	if (range && (o->event >= 0 || o->anim >= 0)) {
		g_printerr("ravscope: --from/--to play a range of events: leave out --event and --anim\n");
		return 2;
	}
	if (o->contention_window != -1 && (!o->contention || o->contention_window < 1 ||
					   o->contention_window > RAVSCOPE_CONTENTION_WINDOW_MAX)) {
		g_printerr("ravscope: --contention-window takes 1 to %u events, with --contention\n",
			   RAVSCOPE_CONTENTION_WINDOW_MAX);
		return 2;
	}
	if (o->fps < 0 || o->fps > 100 || o->step_ms < 0) {
		g_printerr("ravscope: --fps takes 1 to 100 frames per second, --step-ms a positive duration\n");
		return 2;
	}
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
	guint64 at = o->event >= 0 ? (guint64)o->event : range ? (guint64)MAX(o->from, 0) : ravscope_document_busiest_event(doc);
	if (o->event >= 0 && (guint64)o->event > n) {
		g_printerr("ravscope: --event %" G_GINT64_FORMAT ": the trace has %" G_GUINT64_FORMAT " events (0..%" G_GUINT64_FORMAT ")\n",
			   o->event, n, n);
		g_object_unref(doc);
		return 2;
	}
	if (range && ((o->from >= 0 && (guint64)o->from >= n) || (o->to >= 0 && ((guint64)o->to > n || o->to <= MAX(o->from, 0))))) {
		g_printerr("ravscope: --from %" G_GINT64_FORMAT " --to %" G_GINT64_FORMAT ": the trace has %" G_GUINT64_FORMAT
			   " events; the range must run forward within 0..%" G_GUINT64_FORMAT "\n",
			   o->from, o->to, n, n);
		g_object_unref(doc);
		return 2;
	}
	/* An inconsistent trace: the heap as it was just before the event
	 * that does not fit it, and exit status 1 as ravtrace's commands give
	 * on such a trace (README, "Exit codes"). */
	RavscopeRenderOptions ro = *o;
	guint64 stop = 0;
	const char *stop_why = NULL;
	gboolean stops = ravscope_document_replay_stop(doc, &stop, &stop_why);
	if (stops) {
		g_printerr("ravscope: %s: the trace is inconsistent, its heap replays up to event %" G_GUINT64_FORMAT ": %s\n",
			   o->file, stop, stop_why);
		if (range && (guint64)MAX(o->from, 0) >= stop) {
			g_printerr("ravscope: --from %" G_GINT64_FORMAT ": nothing to play before event %" G_GUINT64_FORMAT "\n",
				   o->from, stop);
			g_object_unref(doc);
			return 1;
		}
		if (range && (o->to < 0 || (guint64)o->to > stop)) {
			ro.to = (gint64)stop;
			g_printerr("ravscope: playing events %" G_GINT64_FORMAT " to %" G_GUINT64_FORMAT
				   ", up to the heap just before it\n", MAX(o->from, 0), stop);
		}
		if (!range && at > stop) {
			at = stop;
			g_printerr("ravscope: drawing the heap just before that event (at event %" G_GUINT64_FORMAT ")\n", at);
		}
	}
	o = &ro;
	if (!ravscope_document_seek(doc, at, &error)) {
		g_printerr("ravscope: cannot replay %s up to event %" G_GUINT64_FORMAT ": %s\n", o->file, at, error->message);
		g_error_free(error);
		g_object_unref(doc);
		return 1;
	}

	rav_contention *cont = NULL;
	if (o->contention) {
		rav_contention_config cfg = { .line_size = 64, .windows = 64 };
		if (o->contention_window > 0) {
			/* as the window's "Only around the playhead": the events up to the drawn one */
			guint64 span = (guint64)o->contention_window;
			cfg.from = at > span ? at - span : 0;
			cfg.to = MAX(at, cfg.from + 1);
		}
		rav_trace_error err = { 0 };
		cont = rav_contention_run(ravscope_document_get_trace(doc), &cfg, NULL, NULL, &err);
		if (!cont) {
			g_printerr("ravscope: contention model failed: %s\n", err.message);
		} else {
			rav_contention_totals tot;
			rav_contention_get_totals(cont, &tot);
			g_autofree char *span_text = cfg.to > cfg.from
				? g_strdup_printf("events %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, cfg.from, cfg.to)
				: g_strdup("the whole trace");
			g_print("contention over %s: %" G_GUINT64_FORMAT " accesses, %" G_GUINT64_FORMAT
				" line transfers between threads\n", span_text, tot.accesses, tot.transfers);
		}
	}

	gboolean chrome = !o->no_chrome;
	RavscopePictureStyle style = { .width = w, .height = h, .chrome = chrome, .legend = chrome && !o->no_legend,
				       .dark = o->dark, .large_text = o->large_text, .selected = sel, .contention = cont,
				       .line_size = 64 };
	RavscopeViewport vp = { 0 };
	RavscopeHeapLayout *layout = ravscope_picture_layout(doc, NULL, 0, &style, &vp);
	double sx, sy;
	if (sel != RAV_LOC_NONE && !ravscope_heap_layout_cell_pos(layout, sel, &sx, &sy))
		/* drawn without a selection: say so (it was silent) */
		g_printerr("ravscope: --select %s: that page is not in any heap at event %" G_GUINT64_FORMAT "\n", o->select, at);
	/* --cell-px and --focus: a view of the fitted layout, kept by exports. */
	if (o->cell_px > 0)
		vp.scale = o->cell_px;
	if (focus != RAV_LOC_NONE) {
		double wx, wy;
		if (!ravscope_heap_layout_cell_pos(layout, focus, &wx, &wy)) {
			g_printerr("ravscope: --focus %s: that page is not in any heap at event %" G_GUINT64_FORMAT "\n", o->focus, at);
		} else {
			if (o->cell_px <= 0)
				vp.scale = CLAMP(floor(MIN(vp.width / (layout->cols + 3), vp.height / (layout->rows + 3))), 4, 160);
			/* Show the focused cell's whole page, centred; with a zoom
			 * of one's own, the cell itself (the page may not fit). */
			const RavscopeLayoutPage *lp = ravscope_heap_layout_find(layout, rav_loc_page(focus));
			double cx = lp->x + layout->cols / 2.0, cy = lp->y + layout->rows / 2.0;
			if (o->cell_px > 0) {
				cx = wx + 0.5;
				cy = wy + 0.5;
			}
			vp.ox = cx - vp.width / vp.scale / 2;
			vp.oy = cy - vp.height / vp.scale / 2;
		}
	}
	if (o->cell_px > 0 || focus != RAV_LOC_NONE) {
		style.scale = vp.scale;
		style.center_x = vp.ox + vp.width / vp.scale / 2;
		style.center_y = vp.oy + vp.height / vp.scale / 2;
		style.page_cols = layout->page_cols;
		style.min_lane_h = layout->min_lane_h;
	}
	if (format != RAVSCOPE_EXPORT_PNG || range) {
		ravscope_heap_layout_free(layout);
		int rc = render_export(doc, o, format, &style, at);
		if (cont)
			rav_contention_free(cont);
		g_object_unref(doc);
		return rc ? rc : stops ? 1 : 0;
	}

	GArray *anims = g_array_new(FALSE, TRUE, sizeof(RavscopeAnim));
	if (o->anim >= 0) {
		/* Apply the next event that changes the picture and draw its
		 * animation frozen at time o->anim, as the window would. */
		RavscopeViewport keep = vp;
		GArray *applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
		ravscope_document_step_visible(doc, applied, NULL);
		RavscopeHeapLayout *now = ravscope_heap_layout_build(doc, layout, layout->page_cols, vp.width / MAX(vp.height, 1),
								     ravscope_heap_layout_refit_min_h(layout, vp.scale,
												      o->large_text ? 52 : 40));
		ravscope_heap_layout_keep_fit(now, layout, vp.height);
		ravscope_anims_build(anims, doc, layout, now, (rav_event *)applied->data, applied->len);
		ravscope_heap_layout_free(layout);
		layout = now;
		vp = keep;
		/* The picture is of the state after the event: fitted to it
		 * (unless --cell-px or --focus chose the view), so that the
		 * motion is on it.  Kept at the view before the event, a page
		 * a thread took first could be below the picture's edge, past
		 * the room the layout keeps for the pages another lane holds
		 * later (messages.ravtrace recorded by an ASan build: the
		 * producer's root page at event 36, nothing drawn). */
		if (o->cell_px <= 0 && focus == RAV_LOC_NONE)
			ravscope_viewport_fit(&vp, layout);
		at = ravscope_document_get_position(doc);
		vp.anims = (const RavscopeAnim *)anims->data;
		vp.n_anims = anims->len;
		vp.anim_t = CLAMP(o->anim, 0, 1);
		g_array_unref(applied);
	}
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
		g_printerr("ravscope: cannot make a %dx%d image: %s\n", w, h, cairo_status_to_string(cairo_surface_status(surf)));
		cairo_surface_destroy(surf);
		ravscope_heap_layout_free(layout);
		g_array_unref(anims);
		if (cont)
			rav_contention_free(cont);
		g_object_unref(doc);
		return 1;
	}
	cairo_t *cr = cairo_create(surf);
	RavscopeHeapPainter *painter = ravscope_heap_painter_new();
	RavscopeTimelineCache *tc = ravscope_timeline_cache_new();
	ravscope_picture_draw(cr, doc, painter, layout, &vp, &style, tc);
	ravscope_timeline_cache_free(tc);
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
		g_autofree char *why = ravscope_export_write_error(o->output, cs);
		g_printerr("ravscope: cannot write %s: %s\n", o->output, why);
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
					ravscope_type_argb_palette(c.type, o->dark, o->large_text) & 0xffffff, c.cells,
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
	return rc ? rc : stops ? 1 : 0;
}

/* ---- bench ----------------------------------------------------------------- */

/* The calling thread's CPU time in microseconds: on a shared machine a
 * frame's wall time includes the time other processes had the core, its
 * CPU time much less so. */
static gint64 thread_cpu_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (gint64)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

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
	vp.height -= ravscope_heap_legend_height(&vp);
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
	g_print("  cpu = the frame's CPU time on this thread (less noisy than wall time on a busy machine)\n");
	g_print("  %-11s %8s %8s %8s %8s %9s %9s %8s %8s %10s %9s\n", "zoom", "p50 ms", "p95 ms", "p99 ms", "max ms", "draw p50",
		"draw p99", "cpu p50", "cpu p99", "events/fr", "first ms");
	for (guint z = 0; z < G_N_ELEMENTS(zooms); z++) {
		ravscope_document_seek(doc, start, NULL);
		ravscope_heap_painter_invalidate(painter);
		GArray *times = g_array_new(FALSE, FALSE, sizeof(double));
		GArray *draws = g_array_new(FALSE, FALSE, sizeof(double));
		GArray *cpus = g_array_new(FALSE, FALSE, sizeof(double));
		double first_ms = 0;
		layout = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40);
		unsigned pc = layout->page_cols;
		for (guint f = 0; f < frames && ravscope_document_get_position(doc) < n; f++) {
			gint64 a = g_get_monotonic_time(), ca = thread_cpu_us();
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
			double ms = (e - a) / 1000.0, dms = (e - b) / 1000.0, cms = (thread_cpu_us() - ca) / 1000.0;
			/* The first frame after the seek redraws every cell: report it
			 * apart from the steady state. */
			if (f == 0) {
				first_ms = ms;
				continue;
			}
			g_array_append_val(times, ms);
			g_array_append_val(draws, dms);
			g_array_append_val(cpus, cms);
		}
		ravscope_heap_layout_free(layout);
		g_array_sort(times, cmp_double);
		g_array_sort(draws, cmp_double);
		g_array_sort(cpus, cmp_double);
		char label[32];
		if (zooms[z] == 0)
			g_snprintf(label, sizeof label, "fit");
		else
			g_snprintf(label, sizeof label, "%.0f px/cell", zooms[z]);
		g_print("  %-11s %8.2f %8.2f %8.2f %8.2f %9.2f %9.2f %8.2f %8.2f %10" G_GUINT64_FORMAT " %9.1f\n", label,
			pct(times, 50), pct(times, 95), pct(times, 99),
			times->len ? g_array_index(times, double, times->len - 1) : 0.0, pct(draws, 50), pct(draws, 99),
			pct(cpus, 50), pct(cpus, 99), per_frame, first_ms);
		g_array_unref(times);
		g_array_unref(cpus);
		g_array_unref(draws);
	}
	g_array_unref(applied);
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
	ravscope_heap_painter_free(painter);
	g_object_unref(doc);
	return 0;
}
