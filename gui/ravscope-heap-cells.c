/* ravscope-heap-cells.c - the zoomed-in heap picture: cells one by one.
 *
 * From RECT_SCALE pixels per cell on, visible cells are rectangles (plain
 * ones batched by colour: one fill per type, not one per cell); from
 * TEXT_SCALE on each cell also shows its type and fields, and from
 * FIELD_SCALE on forward references are drawn as faint arrows.
 * Everything is culled to the visible world rectangle first.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>

void ravscope__cell_rect(const RavscopeViewport *vp, double wx, double wy, double *x, double *y, double *w, double *h)
{
	double gap = vp->scale >= GAP_SCALE ? MAX(1.0, floor(vp->scale / 24)) : 0;
	double x1 = floor(sx_of(vp, wx)), y1 = floor(sy_of(vp, wy));
	double x2 = floor(sx_of(vp, wx + 1)), y2 = floor(sy_of(vp, wy + 1));
	*x = x1;
	*y = y1;
	*w = MAX(1, x2 - x1 - gap);
	*h = MAX(1, y2 - y1 - gap);
}

void ravscope__fill_cell(cairo_t *cr, const RavscopeViewport *vp, double x, double y, double w, double h, guint16 type)
{
	double rgb[3];
	ravscope_type_color(type, vp->dark, rgb);
	cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
	if (vp->scale >= TEXT_SCALE) {
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		ravscope__rounded_rect(cr, x, y, w, h, vp->scale * 0.08);
		cairo_fill(cr);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
	} else {
		cairo_rectangle(cr, x, y, w, h);
		cairo_fill(cr);
	}
	if (vp->scale >= 10 && (type == RAVSCOPE_TYPE_REF || type == RAVSCOPE_TYPE_DEAD)) {
		/* Reference ravioli are hatched, dead cells crossed: visible without colour. */
		double ink[3];
		ravscope_heap_background(type == RAVSCOPE_TYPE_REF ? !vp->dark : vp->dark, ink);
		cairo_save(cr);
		cairo_rectangle(cr, x, y, w, h);
		cairo_clip(cr);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		cairo_set_source_rgba(cr, ink[0], ink[1], ink[2], type == RAVSCOPE_TYPE_REF ? 0.35 : 0.8);
		cairo_set_line_width(cr, MAX(1, vp->scale / 20));
		if (type == RAVSCOPE_TYPE_REF) {
			double step = MAX(4, vp->scale / 4);
			for (double d = -h; d < w; d += step) {
				cairo_move_to(cr, x + d, y + h);
				cairo_line_to(cr, x + d + h, y);
			}
		} else {
			double m = w * 0.25;
			cairo_move_to(cr, x + m, y + m);
			cairo_line_to(cr, x + w - m, y + h - m);
			cairo_move_to(cr, x + w - m, y + m);
			cairo_line_to(cr, x + m, y + h - m);
		}
		cairo_stroke(cr);
		cairo_restore(cr);
	}
}

static char *format_field(RavscopeDocument *doc, const rav_state_cell *c, int f)
{
	uint64_t v = c->word[1 + f];
	gboolean is_ref = ravscope_document_type_field_is_ref(doc, c->type, f);
	if (c->type == RAVSCOPE_TYPE_REF && f == 1)
		return NULL; /* a back-link: shown as an arrow, not a value */
	if (is_ref) {
		if (!v)
			return g_strdup("→ null");
		g_autofree char *l = ravscope_format_loc(c->field_target[f] ? c->field_target[f] : v);
		return g_strdup_printf("→ %s", l);
	}
	if (v < 100000)
		return g_strdup_printf("%" G_GUINT64_FORMAT, (guint64)v);
	return g_strdup_printf("0x%" G_GINT64_MODIFIER "x", (guint64)v);
}

gboolean ravscope__cell_center(const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc loc, double *x, double *y)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, loc, &wx, &wy))
		return FALSE;
	*x = sx_of(vp, wx + 0.5);
	*y = sy_of(vp, wy + 0.5);
	return TRUE;
}

/* Where inside its cell a word sits, so arrows start at the field they
 * come from: words 0-3 stacked top to bottom in the near regime. */
gboolean ravscope__word_point(const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc loc, double *x, double *y)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, loc, &wx, &wy))
		return FALSE;
	if (vp->scale < FIELD_SCALE) {
		*x = sx_of(vp, wx + 0.5);
		*y = sy_of(vp, wy + 0.5);
		return TRUE;
	}
	*x = sx_of(vp, wx + 0.85);
	*y = sy_of(vp, wy + 0.12 + 0.22 * (rav_loc_word(loc) + 0.5));
	return TRUE;
}

gboolean ravscope__page_visible(const RavscopeViewport *vp, const RavscopeLayoutPage *lp)
{
	double wx1 = vp->ox + vp->width / vp->scale, wy1 = vp->oy + vp->height / vp->scale;
	return lp->x + lp->w >= vp->ox - 1 && lp->x <= wx1 + 1 && lp->y + lp->h >= vp->oy - 1 && lp->y <= wy1 + 1;
}

static void draw_cell_text(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp,
			   const rav_state_cell *c, guint16 type, double x, double y, double w, double h)
{
	double bg[3], ink[3];
	ravscope_type_color(type, vp->dark, bg);
	gboolean light = ravscope__rgb_is_light(bg);
	ravscope__hex_rgb(light ? 0x1a1a1a : 0xffffff, ink);
	double px = CLAMP(vp->scale * 0.165, 8, 15) * (vp->large_text ? 1.2 : 1.0);
	double pad = MAX(2, vp->scale * 0.06);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	ravscope__draw_text(cr, x + pad, y + pad, ravscope_document_type_name(doc, type), px, TRUE, ink, w - 2 * pad);
	if (vp->scale >= FIELD_SCALE && c && type != RAVSCOPE_TYPE_EMPTY && type != RAVSCOPE_TYPE_HEADER) {
		double line = px * 1.35;
		double yy = y + pad + line * 1.15;
		for (int f = 0; f < 2 && yy + line <= y + h; f++) {
			g_autofree char *v = format_field(doc, c, f);
			if (!v)
				continue;
			g_autofree char *txt = g_strdup_printf("%s %s", c->type == RAVSCOPE_TYPE_REF ? "fwd" : (f ? "f1" : "f0"), v);
			ravscope__draw_text(cr, x + pad, yy, txt, px * 0.92, FALSE, ink, w - 2 * pad);
			yy += line;
		}
		if (c->scalar && yy + line <= y + h) {
			g_autofree char *txt = g_strdup_printf("scalar %" G_GUINT64_FORMAT, (guint64)c->scalar);
			ravscope__draw_text(cr, x + pad, yy, txt, px * 0.85, FALSE, ink, w - 2 * pad);
		}
	} else if (type == RAVSCOPE_TYPE_HEADER && vp->scale >= FIELD_SCALE) {
		ravscope__draw_text(cr, x + pad, y + pad + px * 1.5, "links, owner", px * 0.85, FALSE, ink, w - 2 * pad);
	}
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
}

typedef struct {
	double x, y, w, h;
	guint16 type;
} BatchRect;

static int cmp_batch(gconstpointer a, gconstpointer b)
{
	return (int)((const BatchRect *)a)->type - (int)((const BatchRect *)b)->type;
}

static void flush_batch(cairo_t *cr, const RavscopeViewport *vp, GArray *batch)
{
	g_array_sort(batch, cmp_batch);
	for (guint i = 0; i < batch->len;) {
		guint16 t = g_array_index(batch, BatchRect, i).type;
		double rgb[3];
		ravscope_type_color(t, vp->dark, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		for (; i < batch->len && g_array_index(batch, BatchRect, i).type == t; i++) {
			const BatchRect *r = &g_array_index(batch, BatchRect, i);
			cairo_rectangle(cr, r->x, r->y, r->w, r->h);
		}
		cairo_fill(cr);
	}
}

void ravscope__heap_draw_cells(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc,
			    const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	GArray *batch = g_array_new(FALSE, FALSE, sizeof(BatchRect));
	rav_state *s = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	double frame[3];
	ravscope__hex_rgb(vp->dark ? 0x5a5a60 : 0xb8b8bd, frame);
	double wx1 = vp->ox + vp->width / vp->scale, wy1 = vp->oy + vp->height / vp->scale;
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (!ravscope__page_visible(vp, lp))
			continue;
		double px = sx_of(vp, lp->x), py = sy_of(vp, lp->y);
		double pw = lp->w * vp->scale, ph = lp->h * vp->scale;
		if (lp->kind == RAV_SPAGE_POOL) {
			double c[3];
			ravscope__hex_rgb(vp->dark ? 0x45454a : 0xd4d4d8, c);
			cairo_set_source_rgb(cr, c[0], c[1], c[2]);
			cairo_rectangle(cr, floor(px), floor(py), floor(pw), floor(ph));
			cairo_fill(cr);
			continue;
		}
		/* Page frame: buffer pages get a dashed accent frame. */
		cairo_save(cr);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		double m = MAX(2, vp->scale * 0.25);
		ravscope__rounded_rect(cr, px - m, py - m, pw + 2 * m, ph + 2 * m, m * 1.5);
		if (lp->kind == RAV_SPAGE_BUFFER) {
			double d[2] = { 6, 4 };
			cairo_set_dash(cr, d, 2, 0);
			cairo_set_source_rgb(cr, vp->accent[0], vp->accent[1], vp->accent[2]);
		} else {
			cairo_set_source_rgb(cr, frame[0], frame[1], frame[2]);
		}
		cairo_set_line_width(cr, vp->large_text ? 2 : 1);
		cairo_stroke(cr);
		cairo_restore(cr);
		if (vp->scale >= 10) {
			double tc[3];
			ravscope__text_rgb(vp->dark, tc);
			g_autofree char *lbl = g_strdup_printf("page %u%s%s", lp->page,
				lp->kind == RAV_SPAGE_BUFFER ? " · message buffer" : "",
				lp->kind == RAV_SPAGE_ROOT ? " · roots" : "");
			double fs = CLAMP(vp->scale * 0.55, 9, 14) * (vp->large_text ? 1.3 : 1);
			cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
			ravscope__draw_text(cr, px, py - m - fs * 1.35, lbl, fs, FALSE, tc, pw);
			cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
		}
		guint16 *types = ravscope__painter_page_types(P, doc, lp->page);
		for (unsigned c = 0; c < cpp && c < L->cols * L->rows; c++) {
			double wx = lp->x + (c % L->cols), wy = lp->y + (c / L->cols);
			if (wx + 1 < vp->ox || wx > wx1 || wy + 1 < vp->oy || wy > wy1)
				continue;
			double x, y, w, h;
			ravscope__cell_rect(vp, wx, wy, &x, &y, &w, &h);
			if (vp->scale < TEXT_SCALE && types[c] != RAVSCOPE_TYPE_REF && types[c] != RAVSCOPE_TYPE_DEAD) {
				/* Plain cells are batched by colour below: one fill
				 * per type instead of one per cell. */
				BatchRect br = { x, y, w, h, types[c] };
				g_array_append_val(batch, br);
				continue;
			}
			ravscope__fill_cell(cr, vp, x, y, w, h, types[c]);
			if (vp->scale >= TEXT_SCALE && types[c] != RAVSCOPE_TYPE_EMPTY) {
				rav_state_cell sc;
				gboolean have = rav_state_cell_at(s, lp->page, c, &sc);
				draw_cell_text(cr, doc, vp, have ? &sc : NULL, types[c], x, y, w, h);
			}
		}
	}
	flush_batch(cr, vp, batch);
	g_array_unref(batch);
}

/* Forward references of visible cells, drawn faintly, when zoomed in far
 * enough to read them. */
void ravscope__heap_draw_links(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	rav_state *s = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	double ink[3];
	ravscope__text_rgb(vp->dark, ink);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL || !ravscope__page_visible(vp, lp))
			continue;
		for (unsigned c = 1; c < cpp; c++) {
			rav_state_cell sc;
			if (!rav_state_cell_at(s, lp->page, c, &sc) || sc.state != RAV_CELL_LIVE)
				continue;
			for (int f = 0; f < 2; f++) {
				if (!ravscope_document_type_field_is_ref(doc, sc.type, f) || !sc.word[1 + f])
					continue;
				if (sc.type == RAVSCOPE_TYPE_REF && f == 1)
					continue;
				rav_loc target = sc.type == RAVSCOPE_TYPE_REF ? sc.word[1] : sc.word[1 + f];
				double x1, y1, x2, y2;
				if (!ravscope__word_point(L, vp, rav_loc_make(lp->page, c, 1 + f), &x1, &y1))
					continue;
				if (!ravscope__cell_center(L, vp, target, &x2, &y2))
					continue;
				/* Links leaving the view would only cross it: the
				 * field's text names their target instead. */
				if (x2 < vp->x0 || x2 > vp->x0 + vp->width || y2 < vp->y0 || y2 > vp->y0 + vp->height ||
				    x1 < vp->x0 || x1 > vp->x0 + vp->width || y1 < vp->y0 || y1 > vp->y0 + vp->height)
					continue;
				ravscope__draw_arrow(cr, x1, y1, x2, y2, vp->large_text ? 2.0 : 1.3, ink, vp->n_anims ? 0.15 : 0.4, FALSE);
			}
		}
	}
}
