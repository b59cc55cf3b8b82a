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
	ravscope__cell_rgb(vp, type, rgb);
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

/* Where a word's arrows start: in the near regime on the right edge of its
 * cell at the height of the word's line of text (words 0-3 top to bottom),
 * so an arrow leaves beside its field's text rather than through it. */
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
	*x = sx_of(vp, wx + 1) - MAX(2, vp->scale * 0.04);
	*y = sy_of(vp, wy + 0.12 + 0.22 * (rav_loc_word(loc) + 0.5));
	return TRUE;
}

/* Where an arrow from a word to a cell starts: beside the word's line of
 * text on the side of its cell that faces the target (left or right), or
 * on the top or bottom edge when the target is mostly above or below, so
 * it never crosses its own cell's text. */
static gboolean link_start(const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc from_word, double tx,
			   double ty, double *x, double *y)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, from_word, &wx, &wy))
		return FALSE;
	if (vp->scale < FIELD_SCALE)
		return ravscope__word_point(L, vp, from_word, x, y);
	double cx = sx_of(vp, wx + 0.5), cy = sy_of(vp, wy + 0.5), inset = MAX(2, vp->scale * 0.04);
	double dx = tx - cx, dy = ty - cy;
	if (fabs(dx) >= fabs(dy)) {
		*x = dx < 0 ? sx_of(vp, wx) + inset : sx_of(vp, wx + 1) - inset;
		*y = sy_of(vp, wy + 0.12 + 0.22 * (rav_loc_word(from_word) + 0.5));
	} else {
		*x = sx_of(vp, wx + 0.5 + 0.3 * (rav_loc_word(from_word) - 1.5));
		*y = dy < 0 ? sy_of(vp, wy) + inset : sy_of(vp, wy + 1) - inset;
	}
	return TRUE;
}

void ravscope__draw_link(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc from_word,
			 rav_loc to_cell, double width, const double rgb[3], double alpha, gboolean dashed)
{
	double x1, y1, x2, y2;
	if (!ravscope_heap_link_geometry(L, vp, from_word, to_cell, &x1, &y1, &x2, &y2))
		return;
	double half = vp->scale >= FIELD_SCALE ? vp->scale * 0.5 : 0;
	ravscope__draw_arrow_to_box(cr, x1, y1, x2, y2, half, width, rgb, alpha, dashed);
}

gboolean ravscope_heap_link_geometry(const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc from_word,
				     rav_loc to_cell, double *x1, double *y1, double *x2, double *y2)
{
	if (!ravscope__cell_center(L, vp, to_cell, x2, y2))
		return FALSE;
	return link_start(L, vp, from_word, *x2, *y2, x1, y1);
}

gboolean ravscope__page_visible(const RavscopeViewport *vp, const RavscopeLayoutPage *lp)
{
	double wx1 = vp->ox + vp->width / vp->scale, wy1 = vp->oy + vp->height / vp->scale;
	return lp->x + lp->w >= vp->ox - 1 && lp->x <= wx1 + 1 && lp->y + lp->h >= vp->oy - 1 && lp->y <= wy1 + 1;
}

/* Text of a cell: its type's name, and from FIELD_SCALE on its fields.
 * Between TEXT_SCALE and FIELD_SCALE a name is written only where it fits
 * whole, once per run of cells of the same type in a row (every cell
 * repeated a cut name, "bst_n…", before): run is the run's length for its
 * first visible cell, 0 for the others. */
static void draw_cell_text(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp, const rav_state_cell *c,
			   guint16 type, guint run, double x, double y, double w, double h)
{
	double bg[3], ink[3];
	ravscope__cell_rgb(vp, type, bg);
	gboolean light = ravscope__rgb_is_light(bg);
	ravscope__hex_rgb(light ? 0x1a1a1a : 0xffffff, ink);
	double px = CLAMP(vp->scale * 0.165, 8, 15) * (vp->large_text ? 1.2 : 1.0);
	double pad = MAX(2, vp->scale * 0.06);
	const char *name = ravscope_document_type_name(doc, type);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	if (vp->scale >= FIELD_SCALE) {
		/* A little smaller rather than cut, down to two thirds. */
		double npx = px, tw = ravscope__text_width(cr, name, px, TRUE);
		if (tw > w - 2 * pad)
			npx *= MAX(0.65, 0.94 * (w - 2 * pad) / tw); /* hinting widens a little */
		ravscope__draw_text(cr, x + pad, y + pad, name, npx, TRUE, ink, w - 2 * pad);
	}
	else if (run && ravscope__text_width(cr, name, px, TRUE) <= run * vp->scale - 2 * pad)
		ravscope__draw_text(cr, x + pad, y + pad, name, px, TRUE, ink, 0); /* across its run of cells */
	if (vp->scale >= FIELD_SCALE && c && type != RAVSCOPE_TYPE_EMPTY && type != RAVSCOPE_TYPE_HEADER) {
		double line = px * 1.35;
		double yy = y + pad + line * 1.15;
		for (int f = 0; f < 2 && yy + line <= y + h; f++) {
			g_autofree char *v = format_field(doc, c, f);
			if (!v)
				continue;
			g_autofree char *txt = g_strdup_printf("%s %s", ravscope_document_field_name(doc, c->type, f), v);
			/* A little smaller rather than cut, down to two thirds. */
			double fpx = px * 0.92, tw = ravscope__text_width(cr, txt, fpx, FALSE);
			if (tw > w - 2 * pad)
				fpx *= MAX(0.65, 0.94 * (w - 2 * pad) / tw);
			ravscope__draw_text(cr, x + pad, yy, txt, fpx, FALSE, ink, w - 2 * pad);
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
		ravscope__cell_rgb(vp, t, rgb);
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
	ravscope__hex_rgb(ravscope__page_frame_hex(vp->dark, vp->large_text), frame);
	double wx1 = vp->ox + vp->width / vp->scale, wy1 = vp->oy + vp->height / vp->scale;
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (!ravscope__page_visible(vp, lp))
			continue;
		double px = sx_of(vp, lp->x), py = sy_of(vp, lp->y);
		double pw = lp->w * vp->scale, ph = lp->h * vp->scale;
		if (lp->kind == RAV_SPAGE_POOL) {
			double c[3];
			ravscope__hex_rgb(ravscope__pool_page_hex(vp->dark, vp->large_text), c);
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
		cairo_set_line_width(cr, stroke_of(vp, 1));
		cairo_stroke(cr);
		cairo_restore(cr);
		if (vp->scale >= 10) {
			double tc[3];
			ravscope__text_rgb(vp->dark, tc);
			g_autofree char *lbl = g_strdup_printf("page %u%s%s", lp->page,
				lp->kind == RAV_SPAGE_BUFFER ? " · message buffer" : "",
				lp->kind == RAV_SPAGE_ROOT ? " · roots" : "");
			double fs = CLAMP(vp->scale * 0.55, 10.5, 14) * (vp->large_text ? 1.3 : 1);
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
		}
	}
	flush_batch(cr, vp, batch);
	g_array_unref(batch);
	if (vp->scale < TEXT_SCALE)
		return;
	/* Arrows under the text, so the text stays readable where they cross. */
	if (vp->scale >= FIELD_SCALE)
		ravscope__heap_draw_links(cr, doc, L, vp);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL || !ravscope__page_visible(vp, lp))
			continue;
		guint16 *types = ravscope__painter_page_types(P, doc, lp->page);
		for (unsigned c = 0; c < cpp && c < L->cols * L->rows; c++) {
			double wx = lp->x + (c % L->cols), wy = lp->y + (c / L->cols);
			if (wx + 1 < vp->ox || wx > wx1 || wy + 1 < vp->oy || wy > wy1 || types[c] == RAVSCOPE_TYPE_EMPTY)
				continue;
			double x, y, w, h;
			ravscope__cell_rect(vp, wx, wy, &x, &y, &w, &h);
			/* Between TEXT_SCALE and FIELD_SCALE a name is written by the
			 * first visible cell of a run of cells of one type in a row,
			 * across the run: run = its length, 0 for the others. */
			guint run = 0;
			gboolean continues = c % L->cols != 0 && types[c - 1] == types[c] && wx - 1 >= vp->ox - 0.5;
			if (!continues)
				for (unsigned k = c; k < cpp && (k == c || k % L->cols != 0) && types[k] == types[c]; k++)
					run++;
			rav_state_cell sc;
			gboolean have = vp->scale >= FIELD_SCALE && rav_state_cell_at(s, lp->page, c, &sc);
			draw_cell_text(cr, doc, vp, have ? &sc : NULL, types[c], run, x, y, w, h);
		}
	}
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
				rav_loc from = rav_loc_make(lp->page, c, 1 + f);
				if (!ravscope_heap_link_geometry(L, vp, from, target, &x1, &y1, &x2, &y2))
					continue;
				/* Links leaving the view would only cross it: the
				 * field's text names their target instead. */
				if (x2 < vp->x0 || x2 > vp->x0 + vp->width || y2 < vp->y0 || y2 > vp->y0 + vp->height ||
				    x1 < vp->x0 || x1 > vp->x0 + vp->width || y1 < vp->y0 || y1 > vp->y0 + vp->height)
					continue;
				ravscope__draw_link(cr, L, vp, from, target, stroke_of(vp, 1.3), ink,
						    vp->n_anims ? 0.15 : 0.4, FALSE);
			}
		}
	}
}
