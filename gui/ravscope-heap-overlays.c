/* ravscope-heap-overlays.c - what is drawn over the cells: the selection
 * with its links, the hover outline, cache contention, and the cells of a
 * call site (the Sites panel's highlight).
 *
 * The contention overlay washes the cells out and heats each cache line by
 * the transfers the model counted; memory outside the ravioli pool, which
 * has no cells, gets a strip of its hottest lines instead.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>

guint ravscope__heap_draw_cell_refs(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L,
				    const RavscopeViewport *vp, rav_loc cell, double lw, const double rgb[3], double alpha)
{
	rav_state_cell sc;
	if (!rav_state_cell_at(ravscope_document_get_state(doc), rav_loc_page(cell), rav_loc_cell(cell), &sc) ||
	    sc.state != RAV_CELL_LIVE)
		return 0;
	guint n = 0;
	for (int f = 0; f < 2; f++) {
		if (!ravscope_document_type_field_is_ref(doc, sc.type, f) || !sc.word[1 + f])
			continue;
		if (sc.type == RAVSCOPE_TYPE_REF && f == 1)
			continue;
		rav_loc from = rav_loc_make(rav_loc_page(cell), rav_loc_cell(cell), 1 + f);
		rav_loc next = sc.word[1 + f];
		ravscope__draw_link(cr, L, vp, from, next, lw, rgb, alpha, FALSE);
		n++;
		/* Through reference ravioli to the final target. */
		if (sc.field_target[f] && sc.field_target[f] != next)
			ravscope__draw_link(cr, L, vp, from, sc.field_target[f], lw * 0.6, rgb, alpha * 0.63, TRUE);
	}
	return n;
}

void ravscope__heap_draw_selection_links(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	rav_state_cell sc;
	rav_loc sel = vp->selected;
	if (!rav_state_cell_at(ravscope_document_get_state(doc), rav_loc_page(sel), rav_loc_cell(sel), &sc) ||
	    sc.state != RAV_CELL_LIVE)
		return;
	double lw = stroke_of(vp, 2.0);
	double back[3];
	ravscope__hex_rgb(0xe66100, back);
	ravscope__heap_draw_cell_refs(cr, doc, L, vp, sel, lw, vp->accent, 0.95);
	/* Back-links name the slots that refer here. */
	int nback = sc.type == RAVSCOPE_TYPE_REF ? 2 : 1;
	for (int k = 0; k < nback; k++) {
		rav_loc slot = sc.type == RAVSCOPE_TYPE_REF ? sc.word[2 + k] : sc.word[3];
		double x1, y1, x2, y2;
		if (!slot || !ravscope__cell_center(L, vp, sel, &x1, &y1) || !ravscope__word_point(L, vp, slot, &x2, &y2))
			continue;
		if (vp->scale >= FIELD_SCALE) {
			/* Leave from the cell's border, not across its text. */
			double dx = x2 - x1, dy = y2 - y1, half = vp->scale * 0.5;
			double t = MIN(fabs(dx) > 1e-9 ? half / fabs(dx) : 1e9, fabs(dy) > 1e-9 ? half / fabs(dy) : 1e9);
			if (t < 1) {
				x1 += dx * t;
				y1 += dy * t;
			}
		}
		ravscope__draw_arrow(cr, x1, y1, x2, y2, lw * 0.8, back, 0.9, TRUE);
	}
}

void ravscope__heap_outline_cell(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp, rav_loc loc,
			 const double rgb[3], double alpha, double width)
{
	double wx, wy;
	if (!ravscope_heap_layout_cell_pos(L, loc, &wx, &wy))
		return;
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], alpha);
	cairo_set_line_width(cr, width);
	if (vp->scale >= RECT_SCALE) {
		double x, y, w, h;
		ravscope__cell_rect(vp, wx, wy, &x, &y, &w, &h);
		ravscope__rounded_rect(cr, x - width / 2, y - width / 2, w + width, h + width, MIN(6, vp->scale * 0.1));
	} else {
		cairo_arc(cr, sx_of(vp, wx + 0.5), sy_of(vp, wy + 0.5), 9, 0, 2 * G_PI);
	}
	cairo_stroke(cr);
	cairo_restore(cr);
}

gboolean ravscope_contention_heats_pool(const rav_contention *c)
{
	/* Lines come hottest first: the first pool line says it. */
	for (unsigned i = 0; c && i < rav_contention_line_count(c); i++) {
		const rav_contention_line *ln = rav_contention_line_at(c, i);
		if (!ln->external)
			return ln->transfers > 0;
	}
	return FALSE;
}

void ravscope__heat_rgb(double v, double rgb[3])
{
	/* amber -> red -> dark red */
	v = CLAMP(v, 0, 1);
	rgb[0] = 1.0 - 0.25 * v;
	rgb[1] = 0.72 * (1 - v);
	rgb[2] = 0.15 * (1 - v);
}

void ravscope__heap_draw_contention(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	const rav_trace_info *info = ravscope_document_get_info(doc);
	unsigned line_size = vp->line_size ? vp->line_size : 64;
	unsigned lines = info->page_size / line_size;
	unsigned cells_per_line = MAX(1u, line_size / MAX(info->cell_size, 1));
	if (!lines || lines > 4096)
		return;
	guint64 *heat = g_new0(guint64, lines);
	guint64 hottest = 1;
	/* Lines come hottest first: the first pool line sets the scale. */
	for (unsigned i = 0; i < rav_contention_line_count(vp->contention); i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external) {
			hottest = MAX(hottest, ln->transfers);
			break;
		}
	}
	cairo_save(cr);
	/* Wash the cells out so the heat reads on top of any type colour. */
	double bg[3];
	ravscope_heap_background(vp->dark, bg);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.85);
	cairo_paint(cr);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL || !ravscope__page_visible(vp, lp) || !rav_contention_page(vp->contention, lp->page))
			continue;
		rav_contention_page_lines(vp->contention, lp->page, heat);
		for (unsigned ln = 0; ln < lines; ln++) {
			if (!heat[ln])
				continue;
			double v = log1p((double)heat[ln]) / log1p((double)hottest);
			double rgb[3];
			ravscope__heat_rgb(v, rgb);
			cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 0.35 + 0.6 * v);
			for (unsigned k = 0; k < cells_per_line; k++) {
				unsigned c = ln * cells_per_line + k;
				double wx = lp->x + (c % L->cols), wy = lp->y + (c / L->cols);
				cairo_rectangle(cr, sx_of(vp, wx), sy_of(vp, wy), MAX(vp->scale, 1), MAX(vp->scale, 1));
			}
			cairo_fill(cr);
		}
	}
	cairo_restore(cr);
	g_free(heat);
}

/* Memory outside the ravioli pool (a "chatty" program's malloc'd
 * structure) has no cells to heat: show its hottest lines as a strip of
 * heated squares with the totals, so the two designs compare at a glance. */
void ravscope__heap_draw_external_lines(cairo_t *cr, const RavscopeViewport *vp)
{
	unsigned n = rav_contention_line_count(vp->contention);
	guint64 lines = 0, transfers = 0, hottest = 1;
	for (unsigned i = 0; i < n; i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external)
			continue;
		lines++;
		transfers += ln->transfers;
		hottest = MAX(hottest, ln->transfers);
	}
	if (!lines)
		return;
	double fs = vp->large_text ? 16 : 12, sq = vp->large_text ? 18 : 14;
	/* Two lines, each as wide as its text (the box used to cut its title
	 * at a fixed width), then a row of the hottest lines' squares. */
	char title[] = "Memory outside the ravioli pool";
	char stats[160];
	g_snprintf(stats, sizeof stats, "%" G_GUINT64_FORMAT " contended line%s, %" G_GUINT64_FORMAT
		   " transfers between threads", lines, lines == 1 ? "" : "s", transfers);
	double avail = vp->width - 24;
	double text_w = MAX(ravscope__text_width(cr, title, fs, TRUE), ravscope__text_width(cr, stats, fs, FALSE));
	unsigned fit = (unsigned)MAX(4, (avail - fs * 1.2) / (sq + 3));
	unsigned shown = (unsigned)MIN(MIN(lines, 48), fit);
	double bw = MIN(MAX(shown * (sq + 3), text_w) + fs * 1.2, avail);
	/* a narrow view (the comparison window side by side) wraps the two
	 * lines rather than cut them ("79 contended lines, 9030 transfe...") */
	double tw = bw - fs * 1.2;
	double th = ravscope__wrapped_height(cr, title, fs, TRUE, tw), sh = ravscope__wrapped_height(cr, stats, fs, FALSE, tw);
	double bh = fs * 0.5 + th + fs * 0.05 + sh + fs * 0.1 + sq + fs * 0.1 + 10;
	double bx = vp->x0 + 12, by = vp->y0 + vp->height - bh - 12;
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	ravscope__text_rgb(vp->dark, tc);
	cairo_save(cr);
	ravscope__rounded_rect(cr, bx, by, bw, bh, 8);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.94);
	cairo_fill_preserve(cr);
	cairo_set_source_rgb(cr, 0.9, 0.38, 0.0);
	cairo_set_line_width(cr, 1.5);
	cairo_stroke(cr);
	double ty = by + fs * 0.5, sy = ty + th + fs * 0.05, qy = sy + sh + fs * 0.1;
	ravscope__draw_text_wrapped(cr, bx + fs * 0.6, ty, title, fs, TRUE, tc, 1.0, tw, FALSE);
	ravscope__draw_text_wrapped(cr, bx + fs * 0.6, sy, stats, fs, FALSE, tc, 1.0, tw, FALSE);
	unsigned k = 0;
	for (unsigned i = 0; i < n && k < shown; i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external)
			continue;
		double v = log1p((double)ln->transfers) / log1p((double)hottest), rgb[3];
		ravscope__heat_rgb(v, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		ravscope__rounded_rect(cr, bx + fs * 0.6 + k * (sq + 3), qy, sq, sq, 3);
		cairo_fill(cr);
		k++;
	}
	cairo_restore(cr);
}

/* A trace whose heaps never owned a page (a program that shares malloc'd
 * memory): say so in the middle of the empty heap area. */
void ravscope__heap_draw_no_cells(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp)
{
	double fs = vp->large_text ? 20 : 15, tc[3];
	ravscope__text_rgb(vp->dark, tc);
	const char *l1 = "No ravioli cells in this trace";
	const char *l2 = "its threads keep their data outside the pool";
	const char *l3 = !vp->contention && ravscope_document_has_accesses(doc)
				 ? "Contention (C) shows the cache lines they pass back and forth"
				 : NULL;
	double y = vp->y0 + vp->height * 0.3;
	const char *lines[] = { l1, l2, l3 };
	for (int i = 0; i < 3; i++) {
		if (!lines[i])
			continue;
		double px = i ? fs * 0.85 : fs;
		/* wrapped, not cut, in a narrow view */
		y += ravscope__draw_text_wrapped(cr, vp->x0 + 10, y, lines[i], px, i == 0, tc, i ? 0.7 : 0.9,
						 vp->width - 20, TRUE);
		y += px * 0.4;
	}
}

/* The cells one call site allocated (still live, wherever compaction moved
 * them): everything else washed out, these in their type's colour with an
 * accent frame when zoomed in, and a box that says what they are. */
void ravscope__heap_draw_highlight(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L,
				   const RavscopeViewport *vp)
{
	size_t n = rav_site_cells_list(vp->highlight, NULL, 0);
	rav_loc *cells = g_new(rav_loc, n ? n : 1);
	n = rav_site_cells_list(vp->highlight, cells, n);
	rav_state *s = ravscope_document_get_state(doc);
	cairo_save(cr);
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	ravscope__text_rgb(vp->dark, tc);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.8);
	cairo_paint(cr);
	double px = MAX(vp->scale, 1.5);
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		double wx, wy;
		if (!ravscope_heap_layout_cell_pos(L, cells[i], &wx, &wy))
			continue;
		double x = sx_of(vp, wx), y = sy_of(vp, wy);
		if (x + px < vp->x0 || y + px < vp->y0 || x > vp->x0 + vp->width || y > vp->y0 + vp->height)
			continue;
		rav_state_cell sc;
		guint16 type = rav_state_cell_at(s, rav_loc_page(cells[i]), rav_loc_cell(cells[i]), &sc) ? sc.type : 0;
		double rgb[3];
		ravscope__cell_rgb(vp, type, rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		if (vp->scale >= RECT_SCALE) {
			double cx, cy, cw, ch;
			ravscope__cell_rect(vp, wx, wy, &cx, &cy, &cw, &ch);
			ravscope__rounded_rect(cr, cx, cy, cw, ch, MIN(6, vp->scale * 0.1));
			cairo_fill_preserve(cr);
			cairo_set_source_rgb(cr, vp->accent[0], vp->accent[1], vp->accent[2]);
			cairo_set_line_width(cr, vp->large_text ? 3 : 2);
			cairo_stroke(cr);
		} else {
			cairo_rectangle(cr, x, y, px, px);
			cairo_fill(cr);
		}
		shown++;
	}
	/* what they are */
	double fs = vp->large_text ? 16 : 12;
	char buf[512];
	g_snprintf(buf, sizeof buf, "%zu live cell%s allocated at %s%s", n, n == 1 ? "" : "s",
		   vp->highlight_label ? vp->highlight_label : "the selected call site",
		   n && !shown ? " (none in view)" : "");
	double bw = MIN(vp->width - 24, fs * 0.62 * (double)strlen(buf) + fs * 1.4), bh = fs * 2;
	/* bottom left: the legend has the bottom right, page labels the top
	 * (the contention overlay's strip of outside lines the bottom left) */
	double bx = vp->x0 + 12, by = vp->contention ? vp->y0 + 12 : vp->y0 + vp->height - bh - 12;
	ravscope__rounded_rect(cr, bx, by, bw, bh, 8);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.94);
	cairo_fill_preserve(cr);
	cairo_set_source_rgb(cr, vp->accent[0], vp->accent[1], vp->accent[2]);
	cairo_set_line_width(cr, 1.5);
	cairo_stroke(cr);
	ravscope__draw_text(cr, bx + fs * 0.6, by + fs * 0.45, buf, fs, TRUE, tc, bw - fs);
	cairo_restore(cr);
	g_free(cells);
}
