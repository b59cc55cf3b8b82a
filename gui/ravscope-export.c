/* ravscope-export.c - pictures and animations of the heap (see the header).
 *
 * A picture is composed here for both the window's Export dialog and
 * `ravscope --render`: a title strip (trace, event, what just happened,
 * totals), the lane labels, the heap area with its legend strip, and the
 * timeline.  A range of events is played the way the window plays it
 * slowly: one change per step (ravscope_document_step_visible), each step
 * drawn as a few frames of its animation (fps x step_ms), the layout
 * rebuilt only when pages move between lanes.  Single pictures go to a
 * cairo PNG, SVG or PDF surface; a range to one PDF page per frame, an
 * animated GIF or PNG (ravscope-image-encode.c) or numbered PNG files.
 */
#include "ravscope-export.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

#include "ravscope-image-encode.h"

char *ravscope_export_write_error(const char *path, cairo_status_t st)
{
	/* cairo says only "error while writing to output stream" whether the
	 * folder is missing, the file not allowed or the disk full: opening the
	 * file the same way tells which. */
	if (st == CAIRO_STATUS_WRITE_ERROR) {
		FILE *f = g_fopen(path, "ab");
		if (!f)
			return g_strdup(g_strerror(errno));
		fclose(f);
	}
	return g_strdup(cairo_status_to_string(st));
}

#define TITLE_H 56
#define TIMELINE_H 96
#define GUTTER_W 170

static const double accent_rgb[3] = { 0.21, 0.52, 0.89 }; /* libadwaita blue */

/* ---- formats ---------------------------------------------------------------------- */

const char *ravscope_export_format_name(RavscopeExportFormat f)
{
	static const char *const names[] = { "PNG", "SVG", "PDF", "animated GIF", "animated PNG", "numbered PNG frames" };
	return f <= RAVSCOPE_EXPORT_FRAMES ? names[f] : "?";
}

gboolean ravscope_export_format_is_animated(RavscopeExportFormat f)
{
	return f == RAVSCOPE_EXPORT_GIF || f == RAVSCOPE_EXPORT_APNG || f == RAVSCOPE_EXPORT_FRAMES;
}

/* A file name with one %d (or %0Nd) for numbered frames: the printf
 * pattern to use, NULL if there is none; *bad when it has other
 * conversions. */
static char *frame_pattern(const char *path, gboolean *bad)
{
	*bad = FALSE;
	guint found = 0;
	for (const char *p = strchr(path, '%'); p; p = strchr(p + 1, '%')) {
		const char *q = p + 1;
		if (*q == '%') {
			p = q;
			continue;
		}
		if (*q == '0')
			q++;
		while (g_ascii_isdigit(*q))
			q++;
		if (*q != 'd' || q - p > 4) {
			*bad = TRUE;
			return NULL;
		}
		found++;
		p = q;
	}
	if (found > 1)
		*bad = TRUE;
	return found == 1 && !*bad ? g_strdup(path) : NULL;
}

gboolean ravscope_export_format_for_path(const char *path, gboolean range, RavscopeExportFormat *format,
					 GError **error)
{
	gboolean bad;
	g_autofree char *pattern = frame_pattern(path, &bad);
	if (bad) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: a name for numbered frames has one %%d (or %%04d) and no other %% conversion", path);
		return FALSE;
	}
	if (pattern || g_file_test(path, G_FILE_TEST_IS_DIR) || g_str_has_suffix(path, "/")) {
		*format = RAVSCOPE_EXPORT_FRAMES;
		return TRUE;
	}
	g_autofree char *lower = g_ascii_strdown(path, -1);
	if (g_str_has_suffix(lower, ".png"))
		*format = range ? RAVSCOPE_EXPORT_APNG : RAVSCOPE_EXPORT_PNG;
	else if (g_str_has_suffix(lower, ".apng"))
		*format = RAVSCOPE_EXPORT_APNG;
	else if (g_str_has_suffix(lower, ".gif"))
		*format = RAVSCOPE_EXPORT_GIF;
	else if (g_str_has_suffix(lower, ".pdf"))
		*format = RAVSCOPE_EXPORT_PDF;
	else if (g_str_has_suffix(lower, ".svg"))
		*format = RAVSCOPE_EXPORT_SVG;
	else {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: cannot tell the format from the name: end it with .png, .svg, .pdf or .gif, or give a "
			    "name with %%d (numbered frames) or a directory",
			    path);
		return FALSE;
	}
	if (range && *format == RAVSCOPE_EXPORT_SVG) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%s: an SVG holds one picture; for a range of events use .pdf (a page per frame), .gif, "
			    ".png (animated) or a name with %%d (numbered frames)",
			    path);
		return FALSE;
	}
	return TRUE;
}

/* ---- one picture -------------------------------------------------------------------- */

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
	g_autofree char *line2 = NULL;
	if (what)
		line2 = g_strdup_printf("last: %s   ·   %" G_GUINT64_FORMAT " live cells, %" G_GUINT64_FORMAT " pages, %"
					G_GUINT64_FORMAT " moves, %" G_GUINT64_FORMAT " fix-ups so far",
					what, tot.live_cells, tot.pages, tot.moves, tot.fixups);
	else
		line2 = g_strdup_printf("%" G_GUINT64_FORMAT " live cells · %" G_GUINT64_FORMAT " reference ravioli · %"
					G_GUINT64_FORMAT " pages · %" G_GUINT64_FORMAT " moves · %" G_GUINT64_FORMAT " fix-ups",
					tot.live_cells, tot.ref_cells, tot.pages, tot.moves, tot.fixups);
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

static void picture_geometry(const RavscopePictureStyle *st, RavscopeViewport *vp)
{
	vp->gutter = st->chrome ? (st->large_text ? GUTTER_W + 50 : GUTTER_W) : 0;
	vp->x0 = vp->gutter;
	vp->y0 = st->chrome ? TITLE_H : 0;
	vp->width = MAX(1, st->width - vp->x0);
	vp->dark = st->dark;
	vp->large_text = st->large_text;
	vp->legend = st->legend;
	vp->height = MAX(1, st->height - vp->y0 - (st->chrome ? TIMELINE_H : 0) - ravscope_heap_legend_height(vp));
	vp->selected = st->selected;
	vp->hover = RAV_LOC_NONE;
	vp->contention = st->contention;
	vp->line_size = st->line_size;
	vp->contention_from = st->contention_from;
	vp->contention_to = st->contention_to;
	memcpy(vp->accent, accent_rgb, sizeof vp->accent);
}

void ravscope_picture_style_resize(RavscopePictureStyle *style, int width, int height)
{
	style->width = width;
	style->height = height;
	if (style->scale > 0 && style->view_width > 0 && style->view_height > 0) {
		double aw, ah;
		ravscope_picture_heap_area(style, &aw, &ah);
		style->scale = MIN(aw / style->view_width, ah / style->view_height);
	}
}

void ravscope_picture_heap_area(const RavscopePictureStyle *style, double *width, double *height)
{
	RavscopeViewport vp = { 0 };
	picture_geometry(style, &vp);
	*width = vp.width;
	*height = vp.height;
}

RavscopeHeapLayout *ravscope_picture_layout(RavscopeDocument *doc, const RavscopeHeapLayout *keep, unsigned page_cols,
					    const RavscopePictureStyle *st, RavscopeViewport *vp)
{
	picture_geometry(st, vp);
	double label_px = st->large_text ? 52 : 40;
	RavscopeHeapLayout *L;
	if (st->scale > 0 && st->page_cols) {
		/* The window's own layout, to show what it shows. */
		L = ravscope_heap_layout_build(doc, keep, st->page_cols, vp->width / vp->height, st->min_lane_h);
	} else {
		L = ravscope_heap_layout_build_fit(doc, keep, page_cols, vp, label_px);
	}
	if (st->scale > 0) {
		vp->scale = st->scale;
		vp->ox = st->center_x - vp->width / st->scale / 2;
		vp->oy = st->center_y - vp->height / st->scale / 2;
	}
	return L;
}

void ravscope_picture_draw(cairo_t *cr, RavscopeDocument *doc, RavscopeHeapPainter *painter,
			   const RavscopeHeapLayout *layout, const RavscopeViewport *vp, const RavscopePictureStyle *st,
			   RavscopeTimelineCache *timeline)
{
	double bg[3];
	ravscope_heap_background(st->dark, bg);
	cairo_save(cr);
	cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
	cairo_paint(cr);
	ravscope_heap_draw(cr, painter, doc, layout, vp);
	if (st->chrome) {
		draw_title(cr, doc, st->width, st->dark, st->large_text);
		RavscopeTimelineStyle ts = { .dark = st->dark, .large_text = st->large_text, .hover_event = G_MAXUINT64,
					     .window_from = st->contention ? st->contention_from : 0,
					     .window_to = st->contention ? st->contention_to : 0 };
		memcpy(ts.accent, accent_rgb, sizeof ts.accent);
		double ty = st->height - TIMELINE_H;
		cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
		cairo_rectangle(cr, 0, ty, st->width, TIMELINE_H);
		cairo_fill(cr);
		ravscope_timeline_draw(cr, timeline, doc, 12, ty + 4, st->width - 24, TIMELINE_H - 8, &ts);
	}
	cairo_restore(cr);
}

/* ---- the export ----------------------------------------------------------------------- */

struct _RavscopeExport {
	RavscopeDocument *doc;
	RavscopeExportOptions o;
	char *path;
	char *pattern;          /* numbered frames: printf pattern */
	GPtrArray *written;     /* numbered frame files written (removed on cancel) */
	RavscopeHeapPainter *painter;
	RavscopeTimelineCache *timeline;
	RavscopeHeapLayout *layout;
	RavscopeViewport vp;
	GArray *applied, *anims;
	guint per_step;         /* frames per change */
	guint sub;              /* frame of the current change drawn next (0: take the next change) */
	guint frames;
	gboolean started, done;
	cairo_surface_t *image;  /* raster formats */
	cairo_surface_t *vector; /* SVG, PDF */
	RavscopeAnimWriter *anim;
};

static guint64 estimate_changes(RavscopeDocument *doc, guint64 from, guint64 to)
{
	/* Every event a step stops after, but the fix-ups (nearly all follow
	 * a move, in the same step). */
	guint64 kinds = ravscope_step_stop_kinds() & ~((guint64)1 << RAV_EV_FIXUP), n = 0;
	for (unsigned k = 0; k < 64; k++) {
		double v = 0;
		if ((kinds >> k & 1) &&
		    rav_trace_series(ravscope_document_get_trace(doc), RAV_SERIES_EVENTS, k, from, to, 1, &v))
			n += (guint64)v;
	}
	return n;
}

/* Colours the heap picture is drawn with: a GIF's palette must hold them. */
static guint hint_colours(const RavscopePictureStyle *st, guint32 *out)
{
	guint n = 0;
	double bg[3];
	ravscope_heap_background(st->dark, bg);
	out[n++] = (guint32)(bg[0] * 255 + 0.5) << 16 | (guint32)(bg[1] * 255 + 0.5) << 8 | (guint32)(bg[2] * 255 + 0.5);
	for (guint16 t = 0; t < 10; t++)
		out[n++] = ravscope_type_argb(t, st->dark) & 0xffffff;
	for (guint16 t = RAVSCOPE_TYPE_FIRST_USER; t < RAVSCOPE_TYPE_FIRST_USER + 10; t++)
		out[n++] = ravscope_type_argb(t, st->dark) & 0xffffff;
	out[n++] = (guint32)(accent_rgb[0] * 255) << 16 | (guint32)(accent_rgb[1] * 255) << 8 | (guint32)(accent_rgb[2] * 255);
	out[n++] = st->dark ? 0xf0f0f0 : 0x242424; /* text */
	out[n++] = 0xe66100;                       /* back-links */
	return n;
}

guint64 ravscope_export_estimate_frames(RavscopeDocument *doc, const RavscopeExportOptions *o)
{
	if (!o->range)
		return 1;
	double fps = o->fps > 0 ? o->fps : 10;
	guint step_ms = o->step_ms ? o->step_ms : 500;
	guint per_step = MAX(1, (guint)lround(fps * step_ms / 1000.0));
	return 1 + estimate_changes(doc, o->from, o->to) * per_step;
}

RavscopeExport *ravscope_export_new(RavscopeDocument *doc, const RavscopeExportOptions *o, GError **error)
{
	const RavscopePictureStyle *st = &o->style;
	if (st->width < 200 || st->height < 150 || st->width > 16384 || st->height > 16384) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "a picture of %dx%d pixels: choose 200x150 to 16384x16384", st->width, st->height);
		return NULL;
	}
	guint64 n = ravscope_document_get_event_count(doc);
	if (o->range && (o->from >= o->to || o->to > n)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "events %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ": the range must run forward within the "
			    "trace's %" G_GUINT64_FORMAT " events",
			    o->from, o->to, n);
		return NULL;
	}
	if (o->range && (o->format == RAVSCOPE_EXPORT_SVG || o->format == RAVSCOPE_EXPORT_PNG)) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s holds one picture, not a range of events",
			    ravscope_export_format_name(o->format));
		return NULL;
	}
	double fps = o->fps > 0 ? o->fps : 10;
	guint step_ms = o->step_ms ? o->step_ms : 500;
	if (fps > 100 || step_ms > 60000) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "%.3g frames per second and %u ms per change: at most 100 frames per second and 60 s per change",
			    fps, step_ms);
		return NULL;
	}
	guint per_step = MAX(1, (guint)lround(fps * step_ms / 1000.0));
	if (o->range) {
		guint64 frames = ravscope_export_estimate_frames(doc, o);
		if (frames > RAVSCOPE_EXPORT_MAX_FRAMES) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "events %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT " make about %" G_GUINT64_FORMAT
				    " frames (%u per change); at most %d: choose a shorter range, fewer frames per second "
				    "or shorter changes",
				    o->from, o->to, frames, per_step, RAVSCOPE_EXPORT_MAX_FRAMES);
			return NULL;
		}
	}
	RavscopeExport *e = g_new0(RavscopeExport, 1);
	e->doc = g_object_ref(doc);
	e->o = *o;
	e->o.fps = fps;
	e->o.step_ms = step_ms;
	e->path = g_strdup(o->path);
	e->o.path = e->path;
	e->per_step = o->range ? per_step : 1;
	e->written = g_ptr_array_new_with_free_func(g_free);
	e->applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
	e->anims = g_array_new(FALSE, TRUE, sizeof(RavscopeAnim));
	e->painter = ravscope_heap_painter_new();
	e->timeline = ravscope_timeline_cache_new();
	int w = st->width, h = st->height;
	switch (o->format) {
	case RAVSCOPE_EXPORT_SVG:
		e->vector = cairo_svg_surface_create(e->path, w, h);
		break;
	case RAVSCOPE_EXPORT_PDF:
		e->vector = cairo_pdf_surface_create(e->path, w, h);
		break;
	case RAVSCOPE_EXPORT_FRAMES: {
		gboolean bad;
		e->pattern = frame_pattern(e->path, &bad);
		if (!e->pattern) {
			if (g_mkdir_with_parents(e->path, 0755) != 0) {
				g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "cannot make the directory %s: %s",
					    e->path, g_strerror(errno));
				ravscope_export_cancel(e);
				return NULL;
			}
			e->pattern = g_build_filename(e->path, "frame-%05d.png", NULL);
		}
		break;
	}
	case RAVSCOPE_EXPORT_GIF:
	case RAVSCOPE_EXPORT_APNG: {
		guint32 hint[40];
		guint nh = hint_colours(st, hint);
		e->anim = ravscope_anim_writer_new(o->format == RAVSCOPE_EXPORT_GIF ? RAVSCOPE_ANIM_GIF : RAVSCOPE_ANIM_APNG,
						   e->path, w, h, (guint)lround(1000.0 / fps), hint, nh, error);
		if (!e->anim) {
			ravscope_export_cancel(e);
			return NULL;
		}
		break;
	}
	default:
		break;
	}
	if (e->vector && cairo_surface_status(e->vector) != CAIRO_STATUS_SUCCESS) {
		g_autofree char *why = ravscope_export_write_error(e->path, cairo_surface_status(e->vector));
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create %s: %s", e->path, why);
		ravscope_export_cancel(e);
		return NULL;
	}
	if (!e->vector) {
		e->image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
		if (cairo_surface_status(e->image) != CAIRO_STATUS_SUCCESS) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "cannot make a %dx%d image: %s", w, h,
				    cairo_status_to_string(cairo_surface_status(e->image)));
			ravscope_export_cancel(e);
			return NULL;
		}
	}
	if (o->range) {
		GError *seek_error = NULL;
		if (!ravscope_document_seek(doc, o->from, &seek_error)) {
			g_propagate_error(error, seek_error);
			ravscope_export_cancel(e);
			return NULL;
		}
	}
	e->layout = ravscope_picture_layout(doc, NULL, 0, st, &e->vp);
	return e;
}

/* Play the next change: the layout follows pages that moved between lanes,
 * and the change's animation items are built between the two layouts. */
static gboolean take_change(RavscopeExport *e, GError **error)
{
	g_array_set_size(e->applied, 0);
	g_array_set_size(e->anims, 0);
	GError *step_error = NULL;
	ravscope_document_step_visible(e->doc, e->applied, &step_error);
	if (step_error) {
		g_propagate_error(error, step_error);
		return FALSE;
	}
	if (!e->applied->len)
		return FALSE;
	const rav_event *ev = (const rav_event *)e->applied->data;
	ravscope_heap_painter_note_events(e->painter, ev, e->applied->len);
	RavscopeHeapLayout *old = e->layout;
	if (ravscope_events_change_layout(ev, e->applied->len)) {
		RavscopeViewport keep = e->vp;
		e->layout = ravscope_picture_layout(e->doc, old, old->page_cols, &e->o.style, &e->vp);
		if (e->o.style.scale > 0) {
			e->vp.scale = keep.scale;
			e->vp.ox = keep.ox;
			e->vp.oy = keep.oy;
		}
	} else {
		e->layout = NULL;
		ravscope_heap_layout_refresh(old, e->doc);
	}
	if (e->per_step > 1)
		ravscope_anims_build(e->anims, e->doc, old, e->layout ? e->layout : old, ev, e->applied->len);
	if (e->layout)
		ravscope_heap_layout_free(old);
	else
		e->layout = old;
	return TRUE;
}

static gboolean write_frame(RavscopeExport *e, GError **error)
{
	e->vp.anims = e->anims->len ? (const RavscopeAnim *)e->anims->data : NULL;
	e->vp.n_anims = e->anims->len;
	e->vp.anim_t = e->sub ? (double)e->sub / e->per_step : 1;
	cairo_t *cr = cairo_create(e->vector ? e->vector : e->image);
	ravscope_picture_draw(cr, e->doc, e->painter, e->layout, &e->vp, &e->o.style, e->timeline);
	if (e->o.format == RAVSCOPE_EXPORT_PDF)
		cairo_show_page(cr);
	cairo_status_t st = cairo_status(cr);
	cairo_destroy(cr);
	if (st != CAIRO_STATUS_SUCCESS) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot draw frame %u of %s: %s", e->frames + 1, e->path,
			    cairo_status_to_string(st));
		return FALSE;
	}
	switch (e->o.format) {
	case RAVSCOPE_EXPORT_PNG:
	case RAVSCOPE_EXPORT_FRAMES: {
		char *file = e->o.format == RAVSCOPE_EXPORT_PNG ? g_strdup(e->path) : g_strdup_printf(e->pattern, e->frames);
		cairo_status_t ws = cairo_surface_write_to_png(e->image, file);
		if (ws != CAIRO_STATUS_SUCCESS) {
			g_autofree char *why = ravscope_export_write_error(file, ws);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s: %s", file, why);
			g_free(file);
			return FALSE;
		}
		g_ptr_array_add(e->written, file);
		break;
	}
	case RAVSCOPE_EXPORT_GIF:
	case RAVSCOPE_EXPORT_APNG:
		if (!ravscope_anim_writer_add(e->anim, e->image, error))
			return FALSE;
		break;
	default:
		break;
	}
	e->frames++;
	return TRUE;
}

gboolean ravscope_export_next(RavscopeExport *e, GError **error)
{
	if (e->done)
		return FALSE;
	if (!e->started) {
		/* The first frame: the state where the range starts. */
		e->started = TRUE;
		if (!write_frame(e, error))
			return FALSE;
		if (!e->o.range) {
			e->done = TRUE;
			return FALSE;
		}
		return TRUE;
	}
	if (e->sub == 0) {
		if (ravscope_document_get_position(e->doc) >= e->o.to) {
			e->done = TRUE;
			return FALSE;
		}
		if (!take_change(e, error)) {
			e->done = error == NULL || *error == NULL;
			return FALSE;
		}
		e->sub = e->per_step > 1 ? 1 : 0;
	} else if (++e->sub > e->per_step) {
		e->sub = 0;
		return ravscope_export_next(e, error);
	}
	if (e->frames >= RAVSCOPE_EXPORT_MAX_FRAMES) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "more than %d frames: choose a shorter range, fewer frames per second or shorter changes",
			    RAVSCOPE_EXPORT_MAX_FRAMES);
		return FALSE;
	}
	if (!write_frame(e, error))
		return FALSE;
	if (e->sub == e->per_step)
		e->sub = 0; /* the change's last frame is its final picture */
	return TRUE;
}

double ravscope_export_progress(RavscopeExport *e)
{
	if (e->done)
		return 1;
	if (!e->o.range)
		return 0;
	guint64 pos = ravscope_document_get_position(e->doc);
	return CLAMP((double)(pos - MIN(pos, e->o.from)) / (double)(e->o.to - e->o.from), 0, 1);
}

guint ravscope_export_frames(RavscopeExport *e)
{
	return e->frames;
}

static void export_free(RavscopeExport *e)
{
	if (e->vector)
		cairo_surface_destroy(e->vector);
	if (e->image)
		cairo_surface_destroy(e->image);
	ravscope_heap_layout_free(e->layout);
	ravscope_heap_painter_free(e->painter);
	ravscope_timeline_cache_free(e->timeline);
	g_array_unref(e->applied);
	g_array_unref(e->anims);
	g_ptr_array_unref(e->written);
	g_object_unref(e->doc);
	g_free(e->pattern);
	g_free(e->path);
	g_free(e);
}

void ravscope_export_cancel(RavscopeExport *e)
{
	if (!e)
		return;
	if (e->anim)
		ravscope_anim_writer_abort(e->anim);
	e->anim = NULL;
	if (e->vector) {
		cairo_surface_finish(e->vector);
		g_unlink(e->path);
	}
	if (e->o.format == RAVSCOPE_EXPORT_PNG && e->frames)
		g_unlink(e->path);
	for (guint i = 0; i < e->written->len && e->o.format == RAVSCOPE_EXPORT_FRAMES; i++)
		g_unlink(g_ptr_array_index(e->written, i));
	export_free(e);
}

gboolean ravscope_export_finish(RavscopeExport *e, GError **error)
{
	gboolean ok = TRUE;
	if (e->anim) {
		ok = ravscope_anim_writer_finish(e->anim, error);
		e->anim = NULL;
	}
	if (ok && e->vector) {
		cairo_surface_finish(e->vector);
		cairo_status_t st = cairo_surface_status(e->vector);
		if (st != CAIRO_STATUS_SUCCESS) {
			g_autofree char *why = ravscope_export_write_error(e->path, st);
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s: %s", e->path, why);
			ok = FALSE;
		}
	}
	if (ok && !e->frames) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: nothing was drawn", e->path);
		ok = FALSE;
	}
	if (!ok) {
		ravscope_export_cancel(e);
		return FALSE;
	}
	export_free(e);
	return TRUE;
}
