/* ravscope-heap-legend.c - the legend: which types have cells now, and how
 * many.
 *
 * Counting every cell is the costliest part of a frame on a big heap, so
 * while playing the count is spread over frames (a slice of pages each)
 * and published when a pass is complete.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <string.h>

GArray *ravscope_heap_type_counts(RavscopeDocument *doc, const RavscopeHeapLayout *L)
{
	guint64 *counts = g_new0(guint64, LEGEND_MAX_TYPES);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	guint16 *types = g_new(guint16, MAX(cpp, 1));
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL)
			continue;
		if (!rav_state_page_types(ravscope_document_get_state(doc), lp->page, types))
			continue;
		for (unsigned c = 0; c < cpp; c++)
			counts[types[c]]++; /* (a guint16 always fits) */
	}
	GArray *out = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
	for (unsigned t = 0; t < LEGEND_MAX_TYPES; t++) {
		if (counts[t]) {
			RavscopeTypeCount tc = { (guint16)t, counts[t] };
			g_array_append_val(out, tc);
		}
	}
	g_free(types);
	g_free(counts);
	return out;
}

void ravscope__heap_draw_legend(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
			const RavscopeViewport *vp)
{
	/* Counting every cell is the costliest part of a frame on a big heap.
	 * Stopped: recount when the playhead moved.  Playing: count a slice of
	 * the pages per frame into a pending table and publish it when a pass
	 * is complete, so no single frame pays for the whole heap. */
	enum { SLICE_PAGES = 512 };
	guint64 pos = ravscope_document_get_position(doc);
	if (!P->legend_counts || P->legend_doc != doc || (!P->legend_throttle && P->legend_position != pos)) {
		g_clear_pointer(&P->legend_counts, g_array_unref);
		P->legend_counts = ravscope_heap_type_counts(doc, L);
		P->legend_position = pos;
		P->legend_doc = doc;
		P->legend_next_page = 0;
	} else if (P->legend_throttle && P->legend_position != pos) {
		if (!P->legend_pending)
			P->legend_pending = g_new0(guint64, LEGEND_MAX_TYPES);
		unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
		guint end = MIN(L->pages->len, P->legend_next_page + SLICE_PAGES);
		for (guint i = P->legend_next_page; i < end; i++) {
			const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
			if (lp->kind == RAV_SPAGE_POOL)
				continue;
			guint16 *types = ravscope__painter_page_types(P, doc, lp->page);
			for (unsigned c = 0; c < cpp; c++)
				P->legend_pending[types[c]]++;
		}
		P->legend_next_page = end;
		if (end >= L->pages->len) {
			GArray *out = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
			for (unsigned t = 0; t < LEGEND_MAX_TYPES; t++) {
				if (P->legend_pending[t]) {
					RavscopeTypeCount tc = { (guint16)t, P->legend_pending[t] };
					g_array_append_val(out, tc);
				}
			}
			g_clear_pointer(&P->legend_counts, g_array_unref);
			P->legend_counts = out;
			P->legend_position = pos;
			P->legend_next_page = 0;
			memset(P->legend_pending, 0, sizeof(guint64) * LEGEND_MAX_TYPES);
		}
	}
	if (L->pages->len == 0)
		return; /* no cells: nothing to explain */
	GArray *counts = g_array_ref(P->legend_counts);
	double fs = vp->large_text ? 17 : 12;
	double row = fs * 1.6, sw = fs * 1.1;
	double tc[3], bg[3];
	ravscope__text_rgb(vp->dark, tc);
	ravscope_heap_background(vp->dark, bg);
	/* Live types first (most cells first), then the fixed kinds. */
	GArray *rows = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
	for (guint i = 0; i < counts->len; i++) {
		RavscopeTypeCount c = g_array_index(counts, RavscopeTypeCount, i);
		if (c.type != RAVSCOPE_TYPE_EMPTY && c.type != RAVSCOPE_TYPE_HEADER)
			g_array_append_val(rows, c);
	}
	for (guint i = 1; i < rows->len; i++)
		for (guint j = i; j > 0 && g_array_index(rows, RavscopeTypeCount, j).cells >
					  g_array_index(rows, RavscopeTypeCount, j - 1).cells; j--) {
			RavscopeTypeCount tmp = g_array_index(rows, RavscopeTypeCount, j);
			g_array_index(rows, RavscopeTypeCount, j) = g_array_index(rows, RavscopeTypeCount, j - 1);
			g_array_index(rows, RavscopeTypeCount, j - 1) = tmp;
		}
	guint max_rows = MAX(2, (guint)((vp->height - 20) / row) - 3);
	if (rows->len > max_rows)
		g_array_set_size(rows, max_rows);
	RavscopeTypeCount fixed[2] = { { RAVSCOPE_TYPE_HEADER, 0 }, { RAVSCOPE_TYPE_EMPTY, 0 } };
	g_array_append_vals(rows, fixed, 2);
	double w = 0;
	char buf[160];
	for (guint i = 0; i < rows->len; i++) {
		RavscopeTypeCount c = g_array_index(rows, RavscopeTypeCount, i);
		if (c.cells)
			g_snprintf(buf, sizeof buf, "%s  %" G_GUINT64_FORMAT, ravscope_document_type_name(doc, c.type), c.cells);
		else
			g_snprintf(buf, sizeof buf, "%s", ravscope_document_type_name(doc, c.type));
		w = MAX(w, ravscope__text_width(cr, buf, fs, FALSE));
	}
	double bw = w + sw + fs * 2, bh = rows->len * row + fs;
	double bx = vp->x0 + vp->width - bw - 12, by = vp->y0 + vp->height - bh - 12;
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	ravscope__rounded_rect(cr, bx, by, bw, bh, 8);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.92);
	cairo_fill_preserve(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.18);
	cairo_set_line_width(cr, 1);
	cairo_stroke(cr);
	for (guint i = 0; i < rows->len; i++) {
		RavscopeTypeCount c = g_array_index(rows, RavscopeTypeCount, i);
		double y = by + fs / 2 + i * row;
		double x = bx + fs / 2;
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
		ravscope__fill_cell(cr, &(RavscopeViewport){ .scale = 12, .dark = vp->dark }, floor(x), floor(y + (row - sw) / 2), sw, sw, c.type);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		if (c.cells)
			g_snprintf(buf, sizeof buf, "%s  %" G_GUINT64_FORMAT, ravscope_document_type_name(doc, c.type), c.cells);
		else
			g_snprintf(buf, sizeof buf, "%s", ravscope_document_type_name(doc, c.type));
		ravscope__draw_text(cr, x + sw + fs * 0.6, y + (row - fs * 1.25) / 2, buf, fs, FALSE, tc, 0);
	}
	cairo_restore(cr);
	g_array_unref(rows);
	g_array_unref(counts);
}
