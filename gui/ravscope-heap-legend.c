/* ravscope-heap-legend.c - the legend: which types have cells now, and how
 * many; with the contention overlay on, its heat scale instead.
 *
 * The legend is a strip under the heap area, so it never hides a page at
 * any zoom.  Counting every cell is the costliest part of a frame on a big
 * heap, so while playing the count is spread over frames (a slice of pages
 * each) and published when a pass is complete.
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

static void draw_strip(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp, GArray *counts);

void ravscope__heap_draw_legend(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc, const RavscopeHeapLayout *L,
			const RavscopeViewport *vp)
{
	/* Counting every cell is the costliest part of a frame on a big heap.
	 * Stopped: recount when the playhead moved.  Playing: count a slice of
	 * the pages per frame into a pending table and publish it when a pass
	 * is complete, so no single frame pays for the whole heap.  The slice
	 * is a number of cells (reading a cell's type is the cost, whatever
	 * the page size): a heap of 2M cells is counted in 64 frames. */
	enum { SLICE_CELLS = 32768 };
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
		guint end = MIN(L->pages->len, P->legend_next_page + MAX(SLICE_CELLS / MAX(cpp, 1), 1));
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
	draw_strip(cr, doc, vp, P->legend_counts);
}

double ravscope_heap_legend_height(const RavscopeViewport *vp)
{
	return vp->legend ? (vp->large_text ? 36 : 28) : 0;
}

static int cmp_count_desc(gconstpointer a, gconstpointer b)
{
	const RavscopeTypeCount *x = a, *y = b;
	return x->cells < y->cells ? 1 : x->cells > y->cells ? -1 : (int)x->type - (int)y->type;
}

/* Types: a swatch and "name count" each, the live types first (most cells
 * first), whose counts add up to the live count the lanes, the title and
 * the charts give; then, after a gap, the cells that are not counted as
 * live: root cells, page headers, empty cells.  What does not fit is
 * counted. */
static void draw_types(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp, GArray *counts, double x,
		       double y, double right, double h, double fs, const double tc[3])
{
	GArray *rows = g_array_new(FALSE, FALSE, sizeof(RavscopeTypeCount));
	guint64 roots = 0;
	for (guint i = 0; counts && i < counts->len; i++) {
		RavscopeTypeCount c = g_array_index(counts, RavscopeTypeCount, i);
		if (c.type == RAVSCOPE_TYPE_ROOT)
			roots = c.cells;
		else if (c.type != RAVSCOPE_TYPE_EMPTY && c.type != RAVSCOPE_TYPE_HEADER)
			g_array_append_val(rows, c);
	}
	g_array_sort(rows, cmp_count_desc);
	guint structural = rows->len; /* the first of the cells not counted as live */
	RavscopeTypeCount fixed[3] = { { RAVSCOPE_TYPE_ROOT, roots }, { RAVSCOPE_TYPE_HEADER, 0 }, { RAVSCOPE_TYPE_EMPTY, 0 } };
	g_array_append_vals(rows, roots ? fixed : fixed + 1, roots ? 3 : 2);
	double sw = fs * 1.05, gap = fs * 1.4;
	char buf[160];
	for (guint i = 0; i < rows->len; i++) {
		RavscopeTypeCount c = g_array_index(rows, RavscopeTypeCount, i);
		if (i == structural && i > 0) {
			/* A thin rule between live cells and the others. */
			cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.25);
			cairo_rectangle(cr, floor(x - gap / 2), y + h * 0.2, 1, h * 0.6);
			cairo_fill(cr);
		}
		if (c.cells)
			g_snprintf(buf, sizeof buf, "%s %" G_GUINT64_FORMAT, ravscope_document_type_name(doc, c.type), c.cells);
		else
			g_snprintf(buf, sizeof buf, "%s", ravscope_document_type_name(doc, c.type));
		double tw = MIN(ravscope__text_width(cr, buf, fs, FALSE), fs * 16);
		double more_w = i + 1 < rows->len ? fs * 7 : 0;
		if (x + sw + fs * 0.4 + tw + more_w > right) {
			g_snprintf(buf, sizeof buf, "+%u more", rows->len - i);
			ravscope__draw_text_alpha(cr, x, y + (h - fs * 1.25) / 2, buf, fs, FALSE, tc, 0.7, right - x);
			break;
		}
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
		ravscope__fill_cell(cr, &(RavscopeViewport){ .scale = 12, .dark = vp->dark, .large_text = vp->large_text }, floor(x), floor(y + (h - sw) / 2), sw,
				    sw, c.type);
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		ravscope__draw_text(cr, x + sw + fs * 0.4, y + (h - fs * 1.25) / 2, buf, fs, FALSE, tc, fs * 16);
		x += sw + fs * 0.4 + tw + gap;
	}
	g_array_unref(rows);
}

/* The contention overlay's scale: from one transfer to the hottest line's,
 * the colours the overlay heats cache lines with. */
static void draw_heat(cairo_t *cr, const RavscopeViewport *vp, double x, double y, double right, double h, double fs,
		      const double tc[3])
{
	rav_contention_totals tot;
	rav_contention_get_totals(vp->contention, &tot);
	char range[96];
	if (vp->contention_to > vp->contention_from)
		g_snprintf(range, sizeof range, "events %" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT, vp->contention_from,
			   vp->contention_to);
	else
		g_snprintf(range, sizeof range, "the whole trace");
	char buf[256];
	double ty = y + (h - fs * 1.25) / 2;
	if (!ravscope_contention_heats_pool(vp->contention)) {
		guint64 outside = 0;
		for (unsigned i = 0; i < rav_contention_line_count(vp->contention); i++) {
			const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
			if (ln->external)
				outside += ln->transfers;
		}
		if (outside)
			g_snprintf(buf, sizeof buf, "Cache lines: %" G_GUINT64_FORMAT " transfers outside the pool (box above), "
				   "none in the heap's pages; %s", outside, range);
		else
			g_snprintf(buf, sizeof buf, "Cache lines: no transfers between threads in the heap's pages in %s",
				   range);
		ravscope__draw_text(cr, x, ty, buf, fs, FALSE, tc, right - x);
		return;
	}
	guint64 hottest = 1;
	for (unsigned i = 0; i < rav_contention_line_count(vp->contention); i++) {
		const rav_contention_line *ln = rav_contention_line_at(vp->contention, i);
		if (!ln->external) {
			hottest = MAX(hottest, ln->transfers);
			break;
		}
	}
	const char *title = "Line transfers between threads:";
	ravscope__draw_text(cr, x, ty, title, fs, TRUE, tc, right - x);
	x += ravscope__text_width(cr, title, fs, TRUE) + fs * 0.6;
	ravscope__draw_text(cr, x, ty, "1", fs, FALSE, tc, 0);
	x += ravscope__text_width(cr, "1", fs, FALSE) + fs * 0.4;
	double bw = fs * 10, bh = fs * 0.9;
	for (int i = 0; i < (int)bw; i++) {
		double rgb[3];
		/* the overlay's log scale: 1 transfer .. the hottest line */
		ravscope__heat_rgb(i / MAX(bw - 1, 1), rgb);
		cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
		cairo_rectangle(cr, x + i, y + (h - bh) / 2, 1, bh);
		cairo_fill(cr);
	}
	x += bw + fs * 0.4;
	g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT " per line (log scale) · %" G_GUINT64_FORMAT " transfers in %"
		   G_GUINT64_FORMAT " line%s, %s", hottest, tot.transfers, tot.lines_contended,
		   tot.lines_contended == 1 ? "" : "s", range);
	ravscope__draw_text(cr, x, ty, buf, fs, FALSE, tc, right - x);
}

static void draw_strip(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp, GArray *counts)
{
	double h = ravscope_heap_legend_height(vp);
	double x0 = vp->x0 - vp->gutter, y = vp->y0 + vp->height, w = vp->gutter + vp->width;
	double fs = vp->large_text ? 17 : 12;
	double tc[3], bg[3];
	ravscope__text_rgb(vp->dark, tc);
	ravscope_heap_background(vp->dark, bg);
	cairo_save(cr);
	cairo_rectangle(cr, x0, y, w, h);
	cairo_clip(cr);
	cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
	cairo_paint(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.04);
	cairo_paint(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.18);
	cairo_rectangle(cr, x0, y, w, 1);
	cairo_fill(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	double x = x0 + 10, right = x0 + w - 10;
	if (vp->contention)
		draw_heat(cr, vp, x, y + 1, right, h - 1, fs, tc);
	else if (counts && counts->len)
		draw_types(cr, doc, vp, counts, x, y + 1, right, h - 1, fs, tc);
	cairo_restore(cr);
}
