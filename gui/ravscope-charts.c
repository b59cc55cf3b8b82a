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
	case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF: return RAVSCOPE_FAMILY_PAGE;
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
		if (!rav_trace_series(t, RAV_SERIES_EVENTS, k, 0, events, used, tmp))
			continue;
		double *dst = c->bins[ravscope_event_family(k)];
		for (guint b = 0; b < used; b++)
			dst[b] += tmp[b];
	}
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

void ravscope_timeline_draw(cairo_t *cr, RavscopeTimelineCache *cache, RavscopeDocument *doc,
			    double x, double y, double w, double h, const RavscopeTimelineStyle *st)
{
	double fg[3];
	ink(st->dark, fg);
	double fs = st->large_text ? 15 : 11;
	double marks_h = fs * 1.6;          /* row of mark labels on top */
	double strip_y = y + marks_h, strip_h = MAX(10, h - marks_h - fs * 1.5);
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

	/* User marks: labelled ticks. */
	rav_trace *t = ravscope_document_get_trace(doc);
	unsigned nm = rav_trace_mark_count(t);
	double last_label_end = -1e9;
	for (unsigned i = 0; i < nm; i++) {
		rav_trace_mark m_entry;
		const rav_trace_mark *m = rav_trace_mark_at(t, i, &m_entry) ? &m_entry : NULL;
		if (!m)
			continue;
		double mx = floor(ravscope_timeline_x_of(doc, x, w, m->event)) + 0.5;
		cairo_set_source_rgb(cr, 0.9, 0.65, 0.04);
		cairo_set_line_width(cr, st->large_text ? 2.5 : 1.5);
		cairo_move_to(cr, mx, y + marks_h * 0.75);
		cairo_line_to(cr, mx, strip_y + strip_h);
		cairo_stroke(cr);
		cairo_move_to(cr, mx - 4, y + marks_h * 0.45);
		cairo_line_to(cr, mx + 4, y + marks_h * 0.45);
		cairo_line_to(cr, mx, y + marks_h * 0.85);
		cairo_close_path(cr);
		cairo_fill(cr);
		if (mx + 6 > last_label_end && m->text) {
			cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.9);
			double maxw = MIN(220, x + w - mx - 8);
			if (maxw > 30) {
				g_autofree char *label = ravscope_display_text(m->text); /* a trace's bytes */
				text_at(cr, mx + 6, y + 1, label ? label : m->text, fs, FALSE, maxw);
				last_label_end = mx + 6 + maxw;
			}
		}
	}

	/* Axis labels. */
	guint64 n = axis_events(doc);
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

gboolean ravscope_chart_draw(cairo_t *cr, RavscopeDocument *doc, const char *title,
			     rav_series_kind kind, gint64 arg, const double *values, guint n_values,
			     double x, double y, double w, double h, const RavscopeTimelineStyle *st)
{
	double fg[3];
	ink(st->dark, fg);
	double fs = st->large_text ? 15 : 11;
	guint n = values ? n_values : MAX(8, (guint)(w / 2));
	double *v = values ? (double *)values : g_new0(double, n);
	gboolean ok = values != NULL;
	guint64 events = ravscope_document_get_event_count(doc);
	if (!values && events > 0)
		ok = rav_trace_series(ravscope_document_get_trace(doc), kind, arg, 0, events, n, v);
	cairo_save(cr);
	cairo_rectangle(cr, x, y, w, h);
	cairo_clip(cr);
	double vmax = 0, last = 0;
	for (guint i = 0; ok && i < n; i++)
		vmax = MAX(vmax, v[i]);
	if (ok && n)
		last = v[n - 1];
	char buf[160];
	if (ok)
		g_snprintf(buf, sizeof buf, "%s   max %.0f", title, vmax);
	else
		g_snprintf(buf, sizeof buf, "%s   (available when indexing ends)", title);
	(void)last;
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.85);
	text_at(cr, x + 2, y, buf, fs, TRUE, w - 4);
	double cy = y + fs * 1.7, ch = h - fs * 1.7 - 2;
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.05);
	cairo_rectangle(cr, x, cy, w, ch);
	cairo_fill(cr);
	if (ok && vmax > 0) {
		cairo_move_to(cr, x, cy + ch);
		for (guint i = 0; i < n; i++)
			cairo_line_to(cr, x + w * (i + 0.5) / n, cy + ch - ch * v[i] / vmax);
		cairo_line_to(cr, x + w, cy + ch);
		cairo_close_path(cr);
		cairo_set_source_rgba(cr, st->accent[0], st->accent[1], st->accent[2], 0.25);
		cairo_fill_preserve(cr);
		cairo_new_path(cr);
		for (guint i = 0; i < n; i++)
			cairo_line_to(cr, x + w * (i + 0.5) / n, cy + ch - ch * v[i] / vmax);
		cairo_set_source_rgb(cr, st->accent[0], st->accent[1], st->accent[2]);
		cairo_set_line_width(cr, st->large_text ? 2.5 : 1.5);
		cairo_stroke(cr);
	}
	double px = floor(ravscope_timeline_x_of(doc, x, w, ravscope_document_get_position(doc))) + 0.5;
	cairo_set_source_rgba(cr, fg[0], fg[1], fg[2], 0.6);
	cairo_set_line_width(cr, 1);
	cairo_move_to(cr, px, cy);
	cairo_line_to(cr, px, cy + ch);
	cairo_stroke(cr);
	cairo_restore(cr);
	if (!values)
		g_free(v);
	return ok;
}
