/* ravscope-heap-painter.c - draws one frame of the heap picture.
 *
 * ravscope_heap_draw() composes the frame from the other heap-* files:
 * lane bands, then the cells (the one-pixel-per-cell image when zoomed out,
 * cells one by one when zoomed in), the contention overlay, the animation,
 * hover and selection, the legend, and the lane labels in the gutter.  The
 * painter keeps what is worth keeping between frames: the cell image and
 * which pages changed since it was drawn, and the legend's counts.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <string.h>

RavscopeHeapPainter *ravscope_heap_painter_new(void)
{
	return g_new0(RavscopeHeapPainter, 1);
}

void ravscope_heap_painter_free(RavscopeHeapPainter *P)
{
	if (!P)
		return;
	ravscope__heap_image_free(P);
	g_clear_pointer(&P->dirty, g_hash_table_unref);
	g_clear_pointer(&P->legend_counts, g_array_unref);
	g_free(P->legend_pending);
	g_free(P->types);
	g_free(P);
}

void ravscope_heap_painter_invalidate(RavscopeHeapPainter *P)
{
	P->valid = FALSE;
	g_clear_pointer(&P->legend_counts, g_array_unref);
	g_clear_pointer(&P->dirty, g_hash_table_unref);
}

void ravscope_heap_painter_set_playing(RavscopeHeapPainter *P, gboolean playing)
{
	P->legend_throttle = playing;
	P->legend_next_page = 0;
	if (P->legend_pending)
		memset(P->legend_pending, 0, sizeof(guint64) * LEGEND_MAX_TYPES);
}

void ravscope_heap_painter_invalidate_pages(RavscopeHeapPainter *P, const guint32 *pages, guint n)
{
	if (!P->valid)
		return;
	if (!P->dirty)
		P->dirty = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < n; i++)
		g_hash_table_add(P->dirty, GUINT_TO_POINTER(pages[i]));
}

guint16 *ravscope__painter_page_types(RavscopeHeapPainter *P, RavscopeDocument *doc, guint32 page)
{
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	if (P->types_len < cpp) {
		g_free(P->types);
		P->types = g_new(guint16, cpp);
		P->types_len = cpp;
	}
	if (!rav_state_page_types(ravscope_document_get_state(doc), page, P->types))
		memset(P->types, 0, sizeof(guint16) * cpp);
	return P->types;
}

void ravscope_heap_painter_note_events(RavscopeHeapPainter *P, const rav_event *events, guint n)
{
	for (guint i = 0; i < n && P->valid; i++) {
		const rav_event *e = &events[i];
		guint32 pages[2];
		guint np = 0;
		switch (e->kind) {
		case RAV_EV_MOVE:
			pages[np++] = rav_loc_page(e->b);
			/* fall through */
		case RAV_EV_ALLOC: case RAV_EV_FREE: case RAV_EV_TRIM: case RAV_EV_FIXUP:
		case RAV_EV_REF_STORE: case RAV_EV_REF_CLEAR: case RAV_EV_DATA_STORE: case RAV_EV_LINK:
		case RAV_EV_TYPE_WORD: case RAV_EV_REFRAV_INSERT: case RAV_EV_REFRAV_REMOVE:
		case RAV_EV_ROOT_NEW: case RAV_EV_ROOT_FREE:
			if (!(e->a & RAV_LOC_EXTERNAL))
				pages[np++] = rav_loc_page(e->a);
			ravscope_heap_painter_invalidate_pages(P, pages, np);
			break;
		case RAV_EV_PAGE_ACQUIRE: case RAV_EV_PAGE_RELEASE: case RAV_EV_PAGE_HANDOFF:
			/* Pages that change place are found by comparing layouts;
			 * the page itself may change kind or contents. */
			pages[np++] = rav_loc_page(e->a);
			ravscope_heap_painter_invalidate_pages(P, pages, np);
			break;
		case RAV_EV_PAGE_TO_MSG: /* format 1.6: a is the page's index, not a location */
			if (e->a < G_MAXUINT32) {
				pages[np++] = (guint32)e->a;
				ravscope_heap_painter_invalidate_pages(P, pages, np);
			}
			break;
		default:
			break;
		}
	}
}

/* Lanes scroll (too many to show at once): say how many are out of view
 * above and below, at the top and bottom of the label column. */
static void draw_more_lanes(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp, double fs,
			    const double bg[3], const double tc[3])
{
	RavscopeLanesShown ls;
	ravscope_heap_layout_lanes_shown(L, vp, &ls);
	guint above = ls.shown ? ls.first : 0, below = ls.shown ? L->lanes->len - 1 - ls.last : L->lanes->len;
	double gx = vp->x0 - vp->gutter, bh = fs * 1.6;
	char buf[64];
	for (int end = 0; end < 2; end++) {
		guint n = end ? below : above;
		if (!n)
			continue;
		double y = end ? vp->y0 + vp->height - bh : vp->y0;
		cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
		cairo_rectangle(cr, gx, y, vp->gutter, bh);
		cairo_fill(cr);
		g_snprintf(buf, sizeof buf, "%s %u more lane%s", end ? "↓" : "↑", n, n == 1 ? "" : "s");
		ravscope__draw_text(cr, gx + 10, y + (bh - fs * 1.2) / 2, buf, fs * 0.9, FALSE, tc, vp->gutter - 16);
	}
}

static void draw_gutter(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	ravscope__text_rgb(vp->dark, tc);
	double gx = vp->x0 - vp->gutter;
	cairo_save(cr);
	cairo_rectangle(cr, gx, vp->y0, vp->gutter, vp->height);
	cairo_clip(cr);
	cairo_set_source_rgb(cr, bg[0] * 0.97, bg[1] * 0.97, bg[2] * 0.97);
	if (vp->dark)
		cairo_set_source_rgb(cr, bg[0] + 0.04, bg[1] + 0.04, bg[2] + 0.04);
	cairo_paint(cr);
	double fs = vp->large_text ? 18 : 13;
	/* Labels stay whole inside the column: between its top and bottom
	 * edges, or the "more lanes" bars of a layout that scrolls (a lane
	 * whose top only is in view had its name cut at the bottom edge). */
	double col_top = vp->y0, col_bottom = vp->y0 + vp->height;
	if (L->scrolls) {
		RavscopeLanesShown ls;
		ravscope_heap_layout_lanes_shown(L, vp, &ls);
		if (ls.shown && ls.first > 0)
			col_top += fs * 1.6;
		if (!ls.shown || ls.last + 1 < L->lanes->len)
			col_bottom -= fs * 1.6;
	}
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		double top = sy_of(vp, lane->y), bottom = sy_of(vp, lane->y + lane->h);
		if (bottom < vp->y0 || top > vp->y0 + vp->height)
			continue;
		cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.15);
		cairo_rectangle(cr, gx, floor(bottom), vp->gutter, 1);
		cairo_fill(cr);
		double vis_top = MAX(top, col_top), vis_bottom = MIN(bottom, col_bottom);
		double avail = vis_bottom - vis_top;
		gboolean one_line = L->fit_scale > 0 && bottom - top < fs * 2.6;
		/* A one-line lane needs the name's height only: the last lane
		 * above a "more lanes" bar is often a pixel or two short of a
		 * full line and was left without a name though its row shows
		 * (the bar, drawn after, covers what a descender overruns). */
		double need = one_line ? fs * 1.05 : fs * 1.25;
		if (avail < need)
			continue;
		if (one_line) {
			/* A one-line lane (many threads): name, then the detail
			 * in a few words. */
			double c[3] = { tc[0], tc[1], tc[2] };
			double y = CLAMP(top + (bottom - top - fs * 1.25) / 2, vis_top, vis_bottom - need);
			double max_w = vp->gutter - 16;
			double lw = MIN(ravscope__text_width(cr, lane->label, fs, TRUE), max_w);
			ravscope__draw_text(cr, gx + 10, y, lane->label, fs, TRUE, c, max_w);
			double dx = lw + fs * 0.5;
			if (max_w - dx >= fs * 2.5)
				ravscope__draw_text_alpha(cr, gx + 10 + dx, y + fs * 0.12, lane->brief ? lane->brief : lane->detail,
							  fs * 0.85, FALSE, c, 0.7, max_w - dx);
			continue;
		}
		double y = vis_top + 6;
		if (y + fs * 2.8 > vis_bottom)
			y = MAX(vis_top, vis_bottom - fs * 2.8);
		double c[3] = { tc[0], tc[1], tc[2] };
		ravscope__draw_text(cr, gx + 10, y, lane->label, fs, TRUE, c, vp->gutter - 16);
		/* Dimmed by the text's own alpha, not a group painted with alpha:
		 * cairo 1.16's SVG surface leaks such groups (ASan, --render -o
		 * x.svg), and a group costs an offscreen surface per lane. */
		if (y + fs * 2.6 <= vis_bottom)
			ravscope__draw_text_alpha(cr, gx + 10, y + fs * 1.35, lane->detail, fs * 0.85, FALSE, c, 0.7,
						  vp->gutter - 16);
	}
	if (L->scrolls)
		draw_more_lanes(cr, L, vp, fs, bg, tc);
	cairo_restore(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.2);
	cairo_rectangle(cr, vp->x0 - 1, vp->y0, 1, vp->height);
	cairo_fill(cr);
}

void ravscope_heap_draw(cairo_t *cr, RavscopeHeapPainter *P, RavscopeDocument *doc,
			const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	ravscope__text_rgb(vp->dark, tc);
	cairo_save(cr);
	cairo_rectangle(cr, vp->x0, vp->y0, vp->width, vp->height);
	cairo_clip(cr);
	cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
	cairo_paint(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);

	/* Lane bands: alternate shades, so lanes read apart at any zoom. */
	for (guint i = 0; i < L->lanes->len; i++) {
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
		double top = sy_of(vp, lane->y), bottom = sy_of(vp, lane->y + lane->h);
		if (bottom < vp->y0 || top > vp->y0 + vp->height)
			continue;
		if (i % 2) {
			cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.035);
			cairo_rectangle(cr, vp->x0, top, vp->width, bottom - top);
			cairo_fill(cr);
		}
		cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.15);
		cairo_rectangle(cr, vp->x0, floor(bottom), vp->width, 1);
		cairo_fill(cr);
	}

	if (vp->scale < RECT_SCALE) {
		ravscope__heap_image_draw(cr, P, doc, L, vp);
	} else {
		ravscope__heap_draw_cells(cr, P, doc, L, vp);
	}
	if (vp->contention && ravscope_contention_heats_pool(vp->contention))
		ravscope__heap_draw_contention(cr, doc, L, vp);
	if (vp->highlight)
		ravscope__heap_draw_highlight(cr, doc, L, vp);
	if (vp->contention) {
		cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
		ravscope__heap_draw_external_lines(cr, vp);
	}
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	if (L->pages->len == 0 && ravscope_document_is_indexed(doc) && !ravscope_document_ever_had_cells(doc))
		ravscope__heap_draw_no_cells(cr, doc, vp);
	if (vp->n_anims)
		ravscope__heap_draw_anims(cr, doc, L, vp);
	if (vp->hover != RAV_LOC_NONE && vp->hover != vp->selected)
		ravscope__heap_outline_cell(cr, L, vp, vp->hover, tc, 0.6, stroke_of(vp, 2));
	if (vp->selected != RAV_LOC_NONE) {
		ravscope__heap_draw_selection_links(cr, doc, L, vp);
		ravscope__heap_outline_cell(cr, L, vp, vp->selected, vp->accent, 1, stroke_of(vp, 3));
	}
	if (vp->spotlight)
		ravscope__heap_draw_spotlight(cr, doc, L, vp);
	double bx, by, bh, ty, th;
	if (ravscope_heap_scroll_bar(L, vp, &bx, &by, &bh, &ty, &th)) {
		/* Where the view is among lanes that scroll (an overlay bar, as
		 * GTK's scrolled windows have). */
		cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.08);
		ravscope__rounded_rect(cr, bx + 4, by, 6, bh, 3);
		cairo_fill(cr);
		cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], 0.4);
		ravscope__rounded_rect(cr, bx + 4, ty, 6, th, 3);
		cairo_fill(cr);
	}
	cairo_restore(cr);
	if (vp->gutter > 0)
		draw_gutter(cr, L, vp);
	if (vp->legend)
		ravscope__heap_draw_legend(cr, P, doc, L, vp);
}
