/* ravscope-heap-style.c - colours, text and shapes of the heap picture.
 *
 * Every part of the picture (cells, overlays, legend, animation, the lane
 * labels) takes its colours and its text from here, so the palette and the
 * font are decided in one place.  One PangoLayout is reused for every
 * label: creating one per cell label dominated the zoomed-in frame time.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <pango/pangocairo.h>

/* ---- colours ------------------------------------------------------------- */

void ravscope__hex_rgb(guint32 hex, double rgb[3])
{
	rgb[0] = ((hex >> 16) & 0xff) / 255.0;
	rgb[1] = ((hex >> 8) & 0xff) / 255.0;
	rgb[2] = (hex & 0xff) / 255.0;
}

/* Every pair of colours below differs by a CIE76 Delta E of 20 or more in
 * both styles and both palettes (tests/gui checks it), so types that share
 * a screen read apart: the four vector types and byte strings of a
 * serialized catalog used to be four close blues.
 *
 * The presentation palette (presentation mode, for a projector) differs
 * only in what a projector washes out: empty cells, page frames and pool
 * pages, nearly the background's colour on a screen (#e6e6e9 on #fafafa),
 * are darker (lighter in the dark style), so that empty cells stand
 * apart from the background by a luminance ratio of 1.5 and page frames
 * by 3 (WCAG's bound for non-text contrast; tests/gui checks both on a
 * render).  The background and the other cell colours stay. */
static guint32 type_hex(guint16 type, gboolean dark, gboolean present)
{
	static const guint32 user[] = { 0x2ec27e, 0xff7800, 0xdc8add, 0xb5c900, 0x865e3c,
					0xc64600, 0x98c379, 0xf66151, 0x5e7a1e, 0xe9b3a0 };
	switch (type) {
	case RAVSCOPE_TYPE_EMPTY:
		if (present)
			return dark ? 0x4e4e56 : 0xbcbcc4;
		return dark ? 0x38383c : 0xe6e6e9;
	case RAVSCOPE_TYPE_HEADER: return dark ? 0x8a8990 : 0x5e5c64;
	case RAVSCOPE_TYPE_REF: return dark ? 0xdeddda : 0x2b2536;
	case RAVSCOPE_TYPE_ROOT: return 0xe5a50a;
	case RAVSCOPE_TYPE_DEAD: return 0xe01b24;
	case 5: return 0x1a5fb4;  /* vector: deep blue */
	case 6: return 0x62a0ea;  /* vector node: sky blue */
	case 7: return 0x2ec2c2;  /* vector leaf: cyan */
	case 8: return 0xa48fe0;  /* vector leaf of references: lavender */
	case 9: return 0x813d9c;  /* byte string: purple */
	default:
		if (type < RAVSCOPE_TYPE_FIRST_USER)
			return 0x9a9996;
		return user[(type - RAVSCOPE_TYPE_FIRST_USER) % G_N_ELEMENTS(user)];
	}
}

void ravscope_type_color(guint16 type, gboolean dark, double rgb[3])
{
	ravscope__hex_rgb(type_hex(type, dark, FALSE), rgb);
}

guint32 ravscope_type_argb(guint16 type, gboolean dark)
{
	return 0xff000000u | type_hex(type, dark, FALSE);
}

guint32 ravscope_type_argb_palette(guint16 type, gboolean dark, gboolean present)
{
	return 0xff000000u | type_hex(type, dark, present);
}

void ravscope__cell_rgb(const RavscopeViewport *vp, guint16 type, double rgb[3])
{
	ravscope__hex_rgb(type_hex(type, vp->dark, vp->large_text), rgb);
}

guint32 ravscope__page_frame_hex(gboolean dark, gboolean present)
{
	if (present)
		return dark ? 0x9a9aa2 : 0x6a6a74;
	return dark ? 0x5a5a60 : 0xb8b8bd;
}

guint32 ravscope__pool_page_hex(gboolean dark, gboolean present)
{
	if (present)
		return dark ? 0x5c5c64 : 0xa8a8b0;
	return dark ? 0x45454a : 0xd4d4d8;
}

void ravscope_heap_background(gboolean dark, double rgb[3])
{
	ravscope__hex_rgb(dark ? 0x1e1e20 : 0xfafafa, rgb);
}

void ravscope__text_rgb(gboolean dark, double rgb[3])
{
	ravscope__hex_rgb(dark ? 0xf0f0f0 : 0x242424, rgb);
}

gboolean ravscope__rgb_is_light(const double rgb[3])
{
	return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.55;
}

/* ---- text ---------------------------------------------------------------- */

/* One layout reused for every label: creating a PangoLayout per cell
 * label dominated the zoomed-in frame time.  Drawing happens on one thread
 * (the GTK main thread, or the headless renderer's only thread). */
static PangoLayout *make_text(cairo_t *cr, const char *text, double px, gboolean bold)
{
	static PangoLayout *layout;
	static PangoFontDescription *fd;
	if (!layout) {
		PangoContext *ctx = pango_font_map_create_context(pango_cairo_font_map_get_default());
		layout = pango_layout_new(ctx);
		g_object_unref(ctx);
		fd = pango_font_description_from_string("Sans");
	}
	pango_cairo_update_layout(cr, layout);
	pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
	pango_font_description_set_weight(fd, bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(layout, fd);
	pango_layout_set_width(layout, -1);
	pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_NONE);
	pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT);
	pango_layout_set_text(layout, text, -1);
	return g_object_ref(layout);
}

void ravscope__draw_text_alpha(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
			       const double rgb[3], double alpha, double max_w)
{
	PangoLayout *pl = make_text(cr, text, px, bold);
	if (max_w > 0) {
		pango_layout_set_width(pl, (int)(max_w * PANGO_SCALE));
		pango_layout_set_ellipsize(pl, PANGO_ELLIPSIZE_END);
		if (pango_layout_is_ellipsized(pl))
			ravscope__texts_cut++;
	}
	cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, pl);
	g_object_unref(pl);
}

guint ravscope__texts_cut;

/* Sentences (not labels): wrapped at words within max_w, never cut. */
static PangoLayout *wrapped(cairo_t *cr, const char *text, double px, gboolean bold, double max_w, gboolean centre)
{
	PangoLayout *pl = make_text(cr, text, px, bold);
	pango_layout_set_width(pl, (int)(MAX(max_w, px) * PANGO_SCALE));
	pango_layout_set_wrap(pl, PANGO_WRAP_WORD_CHAR);
	if (centre)
		pango_layout_set_alignment(pl, PANGO_ALIGN_CENTER);
	return pl;
}

double ravscope__wrapped_height(cairo_t *cr, const char *text, double px, gboolean bold, double max_w)
{
	PangoLayout *pl = wrapped(cr, text, px, bold, max_w, FALSE);
	int w, h;
	pango_layout_get_pixel_size(pl, &w, &h);
	g_object_unref(pl);
	return h;
}

double ravscope__draw_text_wrapped(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
				   const double rgb[3], double alpha, double max_w, gboolean centre)
{
	PangoLayout *pl = wrapped(cr, text, px, bold, max_w, centre);
	int w, h;
	pango_layout_get_pixel_size(pl, &w, &h);
	cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, pl);
	g_object_unref(pl);
	return h;
}

void ravscope__draw_text(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
		      const double rgb[3], double max_w)
{
	ravscope__draw_text_alpha(cr, x, y, text, px, bold, rgb, 1.0, max_w);
}

double ravscope__text_width(cairo_t *cr, const char *text, double px, gboolean bold)
{
	PangoLayout *pl = make_text(cr, text, px, bold);
	int w, h;
	pango_layout_get_pixel_size(pl, &w, &h);
	g_object_unref(pl);
	return w;
}

/* ---- arrows -------------------------------------------------------------- */

void ravscope__draw_arrow_to_box(cairo_t *cr, double x1, double y1, double x2, double y2, double half,
				 double width, const double rgb[3], double alpha, gboolean dashed)
{
	double dx = x2 - x1, dy = y2 - y1;
	double len = sqrt(dx * dx + dy * dy);
	if (len < 2)
		return;
	/* Bend sideways so arrows along a row do not run through the cells. */
	double bend = MIN(len * 0.25, 60);
	double mx = (x1 + x2) / 2 - dy / len * bend, my = (y1 + y2) / 2 + dx / len * bend;
	/* A target box: end on its border, coming from the bend, so the head
	 * does not cover the text in the middle of the target cell. */
	if (half > 0) {
		double ex = x2 - mx, ey = y2 - my;
		double t = MIN(fabs(ex) > 1e-9 ? half / fabs(ex) : 1e9, fabs(ey) > 1e-9 ? half / fabs(ey) : 1e9);
		if (t < 1) {
			x2 -= ex * t;
			y2 -= ey * t;
		}
	}
	cairo_save(cr);
	cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
	cairo_set_line_width(cr, width);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
	if (dashed) {
		double d[2] = { width * 3, width * 2 };
		cairo_set_dash(cr, d, 2, 0);
	}
	cairo_move_to(cr, x1, y1);
	cairo_curve_to(cr, mx, my, mx, my, x2, y2);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
	double ax = x2 - mx, ay = y2 - my, al = sqrt(ax * ax + ay * ay);
	if (al > 0) {
		ax /= al;
		ay /= al;
		double hs = width * 4 + 3;
		cairo_move_to(cr, x2, y2);
		cairo_line_to(cr, x2 - ax * hs - ay * hs * 0.5, y2 - ay * hs + ax * hs * 0.5);
		cairo_line_to(cr, x2 - ax * hs + ay * hs * 0.5, y2 - ay * hs - ax * hs * 0.5);
		cairo_close_path(cr);
		cairo_fill(cr);
	}
	cairo_restore(cr);
}

void ravscope__draw_arrow(cairo_t *cr, double x1, double y1, double x2, double y2, double width,
			  const double rgb[3], double alpha, gboolean dashed)
{
	ravscope__draw_arrow_to_box(cr, x1, y1, x2, y2, 0, width, rgb, alpha, dashed);
}

void ravscope__rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r)
{
	r = MIN(r, MIN(w, h) / 2);
	cairo_new_sub_path(cr);
	cairo_arc(cr, x + w - r, y + r, r, -G_PI / 2, 0);
	cairo_arc(cr, x + w - r, y + h - r, r, 0, G_PI / 2);
	cairo_arc(cr, x + r, y + h - r, r, G_PI / 2, G_PI);
	cairo_arc(cr, x + r, y + r, r, G_PI, 3 * G_PI / 2);
	cairo_close_path(cr);
}
