/* ravscope-charts.c - timeline density strip and small statistics charts.
 *
 * The timeline asks libravtrace for one series per event kind at the
 * strip's pixel resolution and caches the sums per family until the
 * indexed event count or the width changes, so drawing it at 60 frames per
 * second costs a few hundred rectangles.
 */
#include "ravscope-charts.h"

#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>

struct _RavscopeTimelineCache {
	guint nbins;
	guint64 events;
	double *bins[RAVSCOPE_N_FAMILIES];
	double max_total;
};

RavscopeFamily ravscope_event_family(unsigned kind)
{
	switch (kind) {
	case RAV_EV_ALLOC: return RAVSCOPE_FAMILY_ALLOC;
	case RAV_EV_FREE: case RAV_EV_TRIM: case RAV_EV_GC_END: return RAVSCOPE_FAMILY_FREE;
	case RAV_EV_MOVE: case RAV_EV_COMPACT_BEGIN: case RAV_EV_COMPACT_END: return RAVSCOPE_FAMILY_MOVE;
	case RAV_EV_FIXUP: return RAVSCOPE_FAMILY_FIXUP;
	case RAV_EV_REF_STORE: case RAV_EV_REF_CLEAR: case RAV_EV_REFRAV_INSERT: case RAV_EV_REFRAV_REMOVE:
	case RAV_EV_LINK: case RAV_EV_DATA_STORE: case RAV_EV_TYPE_WORD: case RAV_EV_ROOT_NEW: case RAV_EV_ROOT_FREE:
		return RAVSCOPE_FAMILY_REF;
	case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF: case RAV_EV_PAGE_TO_MSG:
		return RAVSCOPE_FAMILY_PAGE;
	case RAV_EV_MSG_BUILD: case RAV_EV_MSG_SEND: case RAV_EV_MSG_RECV: case RAV_EV_SERIALIZE: case RAV_EV_DESERIALIZE:
		return RAVSCOPE_FAMILY_MESSAGE;
	case RAV_EV_ACCESS: return RAVSCOPE_FAMILY_ACCESS;
	default: return RAVSCOPE_FAMILY_OTHER;
	}
}

const char *ravscope_family_name(RavscopeFamily f)
{
	static const char *names[] = { "allocations", "frees", "moves", "fix-ups", "references",
				       "pages", "messages", "accesses", "other" };
	return f < RAVSCOPE_N_FAMILIES ? names[f] : "?";
}

void ravscope_family_color(RavscopeFamily f, double rgb[3])
{
	static const guint32 hex[] = { 0x2ec27e, 0xe01b24, 0x3584e4, 0x9141ac, 0x26a1a1,
				       0xff7800, 0xe5a50a, 0x9a9996, 0x77767b };
	guint32 c = hex[MIN(f, RAVSCOPE_N_FAMILIES - 1)];
	rgb[0] = ((c >> 16) & 0xff) / 255.0;
	rgb[1] = ((c >> 8) & 0xff) / 255.0;
	rgb[2] = (c & 0xff) / 255.0;
}

guint64 ravscope_family_kinds(RavscopeFamily f)
{
	guint64 mask = 0;
	for (unsigned k = 1; k < RAV_EV_KIND_COUNT; k++)
		if (k != RAV_EV_TIME && ravscope_event_family(k) == f)
			mask |= (guint64)1 << k;
	return mask;
}

RavscopeTimelineCache *ravscope_timeline_cache_new(void)
{
	return g_new0(RavscopeTimelineCache, 1);
}

void ravscope_timeline_cache_invalidate(RavscopeTimelineCache *c)
{
	for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++)
		g_clear_pointer(&c->bins[f], g_free);
	c->nbins = 0;
	c->events = 0;
}

void ravscope_timeline_cache_free(RavscopeTimelineCache *c)
{
	if (!c)
		return;
	ravscope_timeline_cache_invalidate(c);
	g_free(c);
}

static guint64 axis_events(RavscopeDocument *doc);

static void cache_fill(RavscopeTimelineCache *c, RavscopeDocument *doc, guint nbins)
{
	guint64 events = ravscope_document_get_event_count(doc);
	guint64 axis = axis_events(doc);
	/* Bins keep their width on the axis: fewer of them while indexing. */
	guint used = axis ? (guint)MAX(1, (double)nbins * events / axis) : nbins;
	if (c->nbins == nbins && c->events == events && c->bins[0])
		return;
	ravscope_timeline_cache_invalidate(c);
	c->nbins = nbins;
	c->events = events;
	double *tmp = g_new0(double, nbins);
	for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++)
		c->bins[f] = g_new0(double, nbins);
	rav_trace *t = ravscope_document_get_trace(doc);
	for (unsigned k = 1; k < RAV_EV_KIND_COUNT && events > 0; k++) {
		if (k == RAV_EV_TIME)
			continue;
		/* A FREE is a cell freed; the holes that a message's empty cells
		 * leave on arrival (FREE events too) belong to the message. */
		if (!rav_trace_series(t, k == RAV_EV_FREE ? RAV_SERIES_FREES : RAV_SERIES_EVENTS, k, 0, events, used, tmp))
			continue;
		double *dst = c->bins[ravscope_event_family(k)];
		for (guint b = 0; b < used; b++)
			dst[b] += tmp[b];
	}
	if (events > 0 && rav_trace_series(t, RAV_SERIES_ARRIVAL_HOLES, -1, 0, events, used, tmp))
		for (guint b = 0; b < used; b++)
			c->bins[RAVSCOPE_FAMILY_MESSAGE][b] += tmp[b];
	c->max_total = 0;
	for (guint b = 0; b < nbins; b++) {
		double tot = 0;
		for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++)
			tot += c->bins[f][b];
		c->max_total = MAX(c->max_total, tot);
	}
	g_free(tmp);
}

/* While indexing, the axis spans the whole trace as estimated from its
 * chunk index, and the indexed part grows from the left. */
static guint64 axis_events(RavscopeDocument *doc)
{
	guint64 n = ravscope_document_get_event_count(doc);
	if (ravscope_document_is_indexed(doc))
		return n;
	return MAX(n, ravscope_document_get_info(doc)->events);
}

guint64 ravscope_timeline_event_at(RavscopeDocument *doc, double x0, double w, double x)
{
	guint64 n = axis_events(doc);
	guint64 avail = ravscope_document_get_event_count(doc);
	if (w <= 0 || n == 0)
		return 0;
	double f = CLAMP((x - x0) / w, 0, 1);
	return MIN(avail, (guint64)llround(f * (double)n));
}

double ravscope_timeline_x_of(RavscopeDocument *doc, double x0, double w, guint64 event)
{
	guint64 n = axis_events(doc);
	if (n == 0)
		return x0;
	return x0 + w * ((double)MIN(event, n) / (double)n);
}

static void ink(gboolean dark, double rgb[3])
{
	double v = dark ? 0.94 : 0.14;
	rgb[0] = rgb[1] = rgb[2] = v;
}

static void text_at(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold, double max_w)
{
	PangoLayout *pl = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string("Sans");
	pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
	if (bold)
		pango_font_description_set_weight(fd, PANGO_WEIGHT_BOLD);
	pango_layout_set_font_description(pl, fd);
	pango_font_description_free(fd);
	pango_layout_set_text(pl, text, -1);
	if (max_w > 0) {
		pango_layout_set_width(pl, (int)(max_w * PANGO_SCALE));
		pango_layout_set_ellipsize(pl, PANGO_ELLIPSIZE_END);
	}
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, pl);
	g_object_unref(pl);
}

/* Where the parts of the timeline go: rows of mark labels on top, a row
 * of mark flags, the density strip, the axis labels. */
typedef struct {
	double rows_y, row_h;
	guint rows;
	double flag_y;
	double strip_y, strip_h;
} TimelineGeometry;

static void timeline_geometry(double x, double y, double w, double h, const RavscopeTimelineStyle *st,
			      TimelineGeometry *g)
{
	double fs = st->large_text ? 15 : 11;
	g->row_h = ceil(fs * 1.35);
	/* Two rows of labels when there is room for a strip under them. */
	g->rows = h >= g->row_h * 2 + fs * 2.4 + 24 ? 2 : 1;
	g->rows_y = y;
	g->flag_y = y + g->rows * g->row_h + 1;
	g->strip_y = g->flag_y + fs * 0.8;
	g->strip_h = MAX(10, y + h - fs * 1.5 - g->strip_y);
}

static double label_width(cairo_t *cr, const char *text, double px)
{
	g_autofree char *shown = ravscope_display_text(text); /* a trace's bytes */
	if (shown)
		text = shown;
	PangoLayout *pl = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string("Sans");
	pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
	pango_layout_set_font_description(pl, fd);
	pango_font_description_free(fd);
	pango_layout_set_text(pl, text, -1);
	int tw, th;
	pango_layout_get_pixel_size(pl, &tw, &th);
	g_object_unref(pl);
	return tw;
}

guint ravscope_timeline_mark_labels(cairo_t *cr, RavscopeDocument *doc, double x, double y, double w, double h,
				    const RavscopeTimelineStyle *st, RavscopeMarkLabel *out, guint max, guint *hidden)
{
	TimelineGeometry g;
	timeline_geometry(x, y, w, h, st, &g);
	double fs = st->large_text ? 15 : 11, gap = fs * 0.8, min_w = fs * 4;
	double row_end[2] = { -1e9, -1e9 }; /* right end of the last label of each row */
	rav_trace *t = ravscope_document_get_trace(doc);
	unsigned nm = rav_trace_mark_count(t);
	guint n = 0, lost = 0;
	for (unsigned i = 0; i < nm; i++) {
		rav_trace_mark m;
		if (!rav_trace_mark_at(t, i, &m) || !m.text || !m.text[0])
			continue;
		double mx = floor(ravscope_timeline_x_of(doc, x, w, m.event)) + 0.5;
		/* Right of its flag in the first row with room; failing that, left
		 * of it (ending at the flag: the last marks of a trace); the
		 * label is shortened (ellipsized) down to min_w to fit.  Text is
		 * measured only for a mark that has room, so a trace with
		 * thousands of marks costs a few measures per frame. */
		double want = -1;
		gboolean placed = FALSE;
		for (guint r = 0; r < g.rows && !placed; r++) {
			double lx = MAX(mx + 4, row_end[r] + gap);
			if (lx > mx + fs * 3 || x + w - lx < MIN(min_w, w / 4))
				continue; /* too far from its flag to read as its label */
			if (want < 0)
				want = MIN(label_width(cr, m.text, fs), fs * 24);
			double lw = MIN(want, x + w - lx);
			if (lw < MIN(want, min_w))
				continue;
			if (n < max)
				out[n++] = (RavscopeMarkLabel){ i, lx, g.rows_y + r * g.row_h, lw, g.row_h };
			row_end[r] = lx + lw;
			placed = TRUE;
		}
		for (guint r = 0; r < g.rows && !placed; r++) {
			double room = mx - 4 - MAX(x, row_end[r] + gap);
			if (room < min_w)
				continue;
			if (want < 0)
				want = MIN(label_width(cr, m.text, fs), fs * 24);
			double lw = MIN(want, room);
			if (n < max)
				out[n++] = (RavscopeMarkLabel){ i, mx - 4 - lw, g.rows_y + r * g.row_h, lw, g.row_h };
			row_end[r] = mx - 4;
			placed = TRUE;
		}
		lost += !placed;
	}
	if (hidden)
		*hidden = lost;
	return n;
}

/* A vertical hairline at mx from y0 down to y1, left out where it crosses a
 * label's box (the label plus 2 px each side).
 *
 * The gaps are worked out here rather than by clipping the boxes out with
 * an even-odd clip (the area minus the boxes), which is what this did until
 * cairo 1.16 (Debian 12) was seen aborting on it: "cairo-spans-compositor.c:96:
 * get_clip_surface: Assertion `clip->path' failed".  A clip made of
 * rectangles is kept as boxes without a path; when some box edges are
 * fractional (text widths) and a stroke through the clip comes out in whole
 * pixels, cairo's aligned-boxes path wants a mask made from the clip's path
 * and asserts.  In the window the timeline is a recorded cairo node,
 * replayed under the frame's clip (the damaged region): a hairline whose
 * fractional end that clip took away became whole pixels.  Dense marks (a
 * live session's rounds) met it within seconds of attaching: 7 aborts in 9
 * runs of the live test, none in 6 since.  tests/gui/test-timeline-marks.c
 * replays such frames.  A clip of one rectangle (the other clips here) did
 * not abort in 200,000 random paints through such regions. */
static void hairline_around_labels(cairo_t *cr, double mx, double y0, double y1, const RavscopeMarkLabel *labels,
				   guint nl)
{
	double at = y0;
	while (at < y1) {
		/* the label box over the hairline at `at`, else the next one below */
		double skip_to = at, next_top = y1;
		for (guint j = 0; j < nl; j++) {
			const RavscopeMarkLabel *l = &labels[j];
			if (mx + 0.5 <= l->x - 2 || mx - 0.5 >= l->x + l->w + 2)
				continue; /* not in this column */
			if (l->y <= at && l->y + l->h > at)
				skip_to = MAX(skip_to, l->y + l->h);
			else if (l->y > at)
				next_top = MIN(next_top, l->y);
		}
		if (skip_to > at) {
			at = skip_to;
			continue;
		}
		cairo_move_to(cr, mx, at);
		cairo_line_to(cr, mx, next_top);
		at = next_top;
	}
}

void ravscope_timeline_draw(cairo_t *cr, RavscopeTimelineCache *cache, RavscopeDocument *doc,
			    double x, double y, double w, double h, const RavscopeTimelineStyle *st)
{
	double fg[3];
	ink(st->dark, fg);
	double fs = st->large_text ? 15 : 11;
	TimelineGeometry g;
	timeline_geometry(x, y, w, h, st, &g);
	double strip_y = g.strip_y, strip_h = g.strip_h;
	guint nbins = MAX(1, (guint)(w / 3));
	cache_fill(cache, doc, nbins);

	cairo_save(cr);
	cairo_rectangle(cr, x, y, w, h);
	cairo_clip(cr);
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.05);
	cairo_rectangle(cr, x, strip_y, w, strip_h);
	cairo_fill(cr);

	if (st->window_to > st->window_from) {
		double wx0 = ravscope_timeline_x_of(doc, x, w, st->window_from);
		double wx1 = ravscope_timeline_x_of(doc, x, w, st->window_to);
		cairo_set_source_rgba(cr, 1.0, 0.47, 0.0, 0.18);
		cairo_rectangle(cr, wx0, strip_y, MAX(2, wx1 - wx0), strip_h);
		cairo_fill(cr);
	}

	/* Density: stacked bars, square-root height so quiet phases still show. */
	double bw = w / nbins;
	for (guint b = 0; b < nbins && cache->max_total > 0; b++) {
		double tot = 0;
		for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++)
			tot += cache->bins[f][b];
		if (tot <= 0)
			continue;
		double hh = strip_h * sqrt(tot / cache->max_total);
		double yy = strip_y + strip_h;
		for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++) {
			double v = cache->bins[f][b];
			if (v <= 0)
				continue;
			double seg = hh * v / tot;
			double rgb[3];
			ravscope_family_color(f, rgb);
			cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
			cairo_rectangle(cr, x + b * bw, yy - seg, MAX(bw - 0.5, 1), seg);
			cairo_fill(cr);
			yy -= seg;
		}
	}

	/* Indexing still running: the part not yet indexed is hatched. */
	if (!ravscope_document_is_indexed(doc)) {
		double hx = ravscope_timeline_x_of(doc, x, w, ravscope_document_get_event_count(doc));
		cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.08);
		cairo_rectangle(cr, hx, strip_y, x + w - hx, strip_h);
		cairo_fill(cr);
		cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.7);
		text_at(cr, hx + 6, strip_y + 4, "indexing…", fs, FALSE, 0);
	}

	/* User marks: a tick through the strip under a small flag, and labels
	 * in the rows above, placed so that none overlaps another. */
	rav_trace *t = ravscope_document_get_trace(doc);
	unsigned nm = rav_trace_mark_count(t);
	double fr = st->large_text ? 5 : 4;
	for (unsigned i = 0; i < nm; i++) {
		rav_trace_mark m;
		if (!rav_trace_mark_at(t, i, &m))
			continue;
		double mx = floor(ravscope_timeline_x_of(doc, x, w, m.event)) + 0.5;
		cairo_set_source_rgb(cr, 0.9, 0.65, 0.04);
		cairo_set_line_width(cr, st->large_text ? 2.5 : 1.5);
		cairo_move_to(cr, mx, g.flag_y + fr);
		cairo_line_to(cr, mx, strip_y + strip_h);
		cairo_stroke(cr);
		cairo_move_to(cr, mx - fr, g.flag_y);
		cairo_line_to(cr, mx + fr, g.flag_y);
		cairo_line_to(cr, mx, g.flag_y + fr * 1.6);
		cairo_close_path(cr);
		cairo_fill(cr);
	}
	RavscopeMarkLabel labels[256];
	guint nl = ravscope_timeline_mark_labels(cr, doc, x, y, w, h, st, labels, G_N_ELEMENTS(labels), NULL);
	/* A hairline from each label down to its flag.  A label pushed right
	 * of its flag by the one before it has its hairline pass where that
	 * one is written: the hairline is broken around every label's box, so
	 * no text is struck through. */
	cairo_save(cr);
	cairo_rectangle(cr, x, y, w, h);
	cairo_clip(cr);
	cairo_set_source_rgba(cr, 0.9, 0.65, 0.04, 0.8);
	cairo_set_line_width(cr, 1);
	for (guint i = 0; i < nl; i++) {
		rav_trace_mark m;
		if (!rav_trace_mark_at(t, labels[i].mark, &m))
			continue;
		double mx = floor(ravscope_timeline_x_of(doc, x, w, m.event)) + 0.5;
		hairline_around_labels(cr, mx, labels[i].y + labels[i].h * 0.5, g.flag_y, labels, nl);
	}
	cairo_stroke(cr);
	cairo_restore(cr);
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.9);
	for (guint i = 0; i < nl; i++) {
		rav_trace_mark m;
		if (rav_trace_mark_at(t, labels[i].mark, &m) && m.text) {
			g_autofree char *shown = ravscope_display_text(m.text); /* a trace's bytes */
			text_at(cr, labels[i].x, labels[i].y, shown ? shown : m.text, fs, FALSE, labels[i].w);
		}
	}

	/* Axis labels. */
	guint64 n = axis_events(doc);
	(void)fs;
	char buf[96];
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.65);
	text_at(cr, x + 2, strip_y + strip_h + 2, "0", fs * 0.9, FALSE, 0);
	g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT " events", n);
	PangoLayout *pl = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string("Sans");
	pango_font_description_set_absolute_size(fd, fs * 0.9 * PANGO_SCALE);
	pango_layout_set_font_description(pl, fd);
	pango_font_description_free(fd);
	pango_layout_set_text(pl, buf, -1);
	int tw, th;
	pango_layout_get_pixel_size(pl, &tw, &th);
	cairo_move_to(cr, x + w - tw - 2, strip_y + strip_h + 2);
	pango_cairo_show_layout(cr, pl);
	g_object_unref(pl);

	/* Hover and playhead. */
	if (st->hover_event != G_MAXUINT64) {
		double hx = floor(ravscope_timeline_x_of(doc, x, w, st->hover_event)) + 0.5;
		cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.35);
		cairo_set_line_width(cr, 1);
		cairo_move_to(cr, hx, strip_y);
		cairo_line_to(cr, hx, strip_y + strip_h);
		cairo_stroke(cr);
	}
	guint64 pos = ravscope_document_get_position(doc);
	double px = floor(ravscope_timeline_x_of(doc, x, w, pos)) + 0.5;
	cairo_set_source_rgb(cr, st->accent[0], st->accent[1], st->accent[2]);
	cairo_set_line_width(cr, st->large_text ? 3 : 2);
	cairo_move_to(cr, px, strip_y - 2);
	cairo_line_to(cr, px, strip_y + strip_h);
	cairo_stroke(cr);
	double r = st->large_text ? 7 : 5;
	cairo_arc(cr, px, strip_y - 2, r, 0, 2 * G_PI);
	cairo_fill(cr);
	cairo_restore(cr);
}

/* Where a chart puts its parts inside x/y/w/h: the title row, the value
 * axis on the left, the plot, the event axis under it. */
static void chart_geometry(double x, double y, double w, double h, const RavscopeTimelineStyle *st, double *px,
			   double *py, double *pw, double *ph)
{
	double fs = st->large_text ? 15 : 11;
	double axis_w = fs * 4.2, title_h = fs * 1.7, xaxis_h = fs * 1.3;
	*px = x + axis_w;
	*py = y + title_h;
	*pw = MAX(10, w - axis_w);
	*ph = MAX(10, h - title_h - xaxis_h);
}

static char *format_value(double v)
{
	if (v >= 1e6)
		return g_strdup_printf("%.1fM", v / 1e6);
	if (v >= 1e4)
		return g_strdup_printf("%.0fk", v / 1e3);
	if (v >= 100 || v == floor(v))
		return g_strdup_printf("%.0f", v);
	return g_strdup_printf("%.1f", v);
}

static void text_right(cairo_t *cr, double right, double y, const char *text, double px)
{
	double tw = label_width(cr, text, px);
	text_at(cr, right - tw, y, text, px, FALSE, 0);
}

gboolean ravscope_chart_event_at(RavscopeDocument *doc, double x, double y, double w, double h,
				 const RavscopeTimelineStyle *st, double pointer_x, double pointer_y, guint64 *event)
{
	double px, py, pw, ph;
	chart_geometry(x, y, w, h, st, &px, &py, &pw, &ph);
	if (pointer_x < px || pointer_x > px + pw || pointer_y < y || pointer_y > y + h)
		return FALSE;
	*event = ravscope_timeline_event_at(doc, px, pw, pointer_x);
	return TRUE;
}

gboolean ravscope_chart_draw(cairo_t *cr, RavscopeDocument *doc, const RavscopeChartSpec *spec, double x, double y,
			     double w, double h, const RavscopeTimelineStyle *st)
{
	double fg[3];
	ink(st->dark, fg);
	double fs = st->large_text ? 15 : 11;
	double px, py, pw, ph;
	chart_geometry(x, y, w, h, st, &px, &py, &pw, &ph);
	guint64 events = ravscope_document_get_event_count(doc);
	guint64 axis = axis_events(doc);
	guint n = spec->values ? spec->n_values : MAX(8, (guint)(pw / 2));
	double *v = g_new0(double, MAX(n, 1));
	gboolean ok = FALSE;
	if (spec->values) {
		memcpy(v, spec->values, sizeof(double) * n);
		ok = n > 0;
	} else if (events > 0) {
		ok = rav_trace_series(ravscope_document_get_trace(doc), spec->kind, spec->arg, 0, events, n, v);
	}
	/* Counts per bin read as a rate: per 1,000 events, whatever the width. */
	double bin_events = events > 0 ? (double)events / n : 1;
	if (ok && spec->rate)
		for (guint i = 0; i < n; i++)
			v[i] = v[i] * 1000.0 / MAX(bin_events, 1e-9);
	cairo_save(cr);
	cairo_rectangle(cr, x, y, w, h);
	cairo_clip(cr);
	double vmax = 0;
	for (guint i = 0; ok && i < n; i++)
		vmax = MAX(vmax, v[i]);
	/* Title and unit. */
	char buf[200];
	if (ok)
		g_snprintf(buf, sizeof buf, "%s", spec->title);
	else
		g_snprintf(buf, sizeof buf, "%s   (available when indexing ends)", spec->title);
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.85);
	text_at(cr, x + 2, y, buf, fs, TRUE, w * 0.6);
	double tw = MIN(label_width(cr, buf, fs) * 1.1, w * 0.6);
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.6);
	text_at(cr, x + 2 + tw + fs, y + fs * 0.1, spec->unit, fs * 0.9, FALSE, w - tw - fs - 4);
	/* Plot and value axis: 0 and the largest value. */
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.05);
	cairo_rectangle(cr, px, py, pw, ph);
	cairo_fill(cr);
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.3);
	cairo_set_line_width(cr, 1);
	cairo_move_to(cr, px - 0.5, py);
	cairo_line_to(cr, px - 0.5, py + ph + 0.5);
	cairo_line_to(cr, px + pw, py + ph + 0.5);
	cairo_stroke(cr);
	double vtop = vmax > 0 ? vmax : 1;
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.65);
	g_autofree char *top = format_value(ok ? vtop : 0);
	text_right(cr, px - fs * 0.4, py - fs * 0.1, top, fs * 0.85);
	text_right(cr, px - fs * 0.4, py + ph - fs * 1.1, "0", fs * 0.85);
	/* Event axis: 0 and the last event. */
	text_at(cr, px, py + ph + 1, "0", fs * 0.8, FALSE, 0);
	g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT " events", axis);
	text_right(cr, px + pw, py + ph + 1, buf, fs * 0.8);
	if (ok && vmax > 0) {
		double used = axis ? pw * (double)events / axis : pw;
		cairo_move_to(cr, px, py + ph);
		for (guint i = 0; i < n; i++)
			cairo_line_to(cr, px + used * (i + 0.5) / n, py + ph - ph * v[i] / vtop);
		cairo_line_to(cr, px + used, py + ph);
		cairo_close_path(cr);
		cairo_set_source_rgba(cr, st->accent[0], st->accent[1], st->accent[2], 0.25);
		cairo_fill_preserve(cr);
		cairo_new_path(cr);
		for (guint i = 0; i < n; i++)
			cairo_line_to(cr, px + used * (i + 0.5) / n, py + ph - ph * v[i] / vtop);
		cairo_set_source_rgb(cr, st->accent[0], st->accent[1], st->accent[2]);
		cairo_set_line_width(cr, st->large_text ? 2.5 : 1.5);
		cairo_stroke(cr);
	}
	/* The playhead. */
	double phx = floor(ravscope_timeline_x_of(doc, px, pw, ravscope_document_get_position(doc))) + 0.5;
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.6);
	cairo_set_line_width(cr, 1);
	cairo_move_to(cr, phx, py);
	cairo_line_to(cr, phx, py + ph);
	cairo_stroke(cr);
	/* The pointer's read-out: the event under it and the value there. */
	if (ok && st->hover_event != G_MAXUINT64 && st->hover_event <= axis && events > 0) {
		guint64 e = MIN(st->hover_event, events - 1);
		guint bin = (guint)MIN((double)n - 1, (double)e * n / events);
		double hx = floor(ravscope_timeline_x_of(doc, px, pw, e)) + 0.5;
		cairo_set_source_rgba(cr, st->accent[0], st->accent[1], st->accent[2], 0.9);
		cairo_move_to(cr, hx, py);
		cairo_line_to(cr, hx, py + ph);
		cairo_stroke(cr);
		double hy = py + ph - ph * v[bin] / vtop;
		cairo_arc(cr, hx, hy, st->large_text ? 4 : 3, 0, 2 * G_PI);
		cairo_fill(cr);
		g_autofree char *val = format_value(v[bin]);
		g_snprintf(buf, sizeof buf, "%s %s · event %" G_GUINT64_FORMAT, val, spec->readout ? spec->readout : "", e);
		double bw = label_width(cr, buf, fs * 0.9) + fs;
		double bx = hx + 6 + bw > px + pw ? hx - 6 - bw : hx + 6, by = py + 2;
		bx = CLAMP(bx, x, x + w - bw);
		double bg = st->dark ? 0.12 : 0.98;
		cairo_set_source_rgba(cr, bg, bg, bg, 0.92);
		cairo_rectangle(cr, bx, by, bw, fs * 1.4);
		cairo_fill(cr);
		cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.95);
		text_at(cr, bx + fs * 0.5, by + fs * 0.15, buf, fs * 0.9, FALSE, 0);
	}
	cairo_restore(cr);
	g_free(v);
	return ok;
}
