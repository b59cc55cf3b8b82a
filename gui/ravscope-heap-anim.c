/* ravscope-heap-anim.c - the animation of events the playhead just applied.
 *
 * Building turns applied events into a few animation items (a cell
 * sliding into a hole, a reference changing target, a page travelling to
 * another lane); drawing plays them at a time t in 0..1 over the picture.
 * Visual events play one after another within the period, each
 * overlapping the next a little, so a compaction reads as one motion.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>

static double ease(double t)
{
	t = CLAMP(t, 0, 1);
	return t * t * (3 - 2 * t);
}

static double anim_local_t(const RavscopeViewport *vp, const RavscopeAnim *a)
{
	double span = MAX(a->end - a->start, 1e-6);
	return CLAMP((vp->anim_t - a->start) / span, 0, 1);
}


void ravscope__heap_draw_anims(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L, const RavscopeViewport *vp)
{
	double dead[3], grey[3];
	ravscope__cell_rgb(vp, RAVSCOPE_TYPE_DEAD, dead);
	ravscope__hex_rgb(0x9a9996, grey);
	cairo_save(cr);
	cairo_set_antialias(cr, CAIRO_ANTIALIAS_DEFAULT);
	double lw = stroke_of(vp, 2);
	for (guint i = 0; i < vp->n_anims; i++) {
		const RavscopeAnim *a = &vp->anims[i];
		double lt = anim_local_t(vp, a);
		if (vp->anim_t < a->start)
			lt = 0;
		switch (a->kind) {
		case RAVSCOPE_ANIM_MOVE: {
			double xa, ya, xb, yb;
			if (!ravscope__cell_center(L, vp, a->a, &xa, &ya) || !ravscope__cell_center(L, vp, a->b, &xb, &yb) || lt >= 1)
				break;
			double e = ease(lt);
			double size = MAX(vp->scale * 0.92, 10);
			double x = xa + (xb - xa) * e, y = ya + (yb - ya) * e;
			double wx, wy;
			/* The hole the cell is sliding into. */
			if (vp->scale >= RECT_SCALE && ravscope_heap_layout_cell_pos(L, a->b, &wx, &wy)) {
				double cx, cy, cw, ch;
				ravscope__cell_rect(vp, wx, wy, &cx, &cy, &cw, &ch);
				cairo_set_source_rgba(cr, dead[0], dead[1], dead[2], 0.55 * (1 - e));
				cairo_rectangle(cr, cx, cy, cw, ch);
				cairo_fill(cr);
			}
			ravscope__draw_arrow(cr, xa, ya, xb, yb, lw, vp->accent, 0.8 * (1 - e * 0.7), TRUE);
			double rgb[3];
			ravscope__cell_rgb(vp, a->type, rgb);
			cairo_set_source_rgba(cr, 0, 0, 0, 0.25);
			ravscope__rounded_rect(cr, x - size / 2 + 3, y - size / 2 + 4, size, size, size * 0.12);
			cairo_fill(cr);
			cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
			ravscope__rounded_rect(cr, x - size / 2, y - size / 2, size, size, size * 0.12);
			cairo_fill_preserve(cr);
			cairo_set_source_rgb(cr, vp->accent[0], vp->accent[1], vp->accent[2]);
			cairo_set_line_width(cr, lw);
			cairo_stroke(cr);
			if (vp->scale >= TEXT_SCALE) {
				/* The sliding cell keeps its name, so the eye can follow it. */
				double ink[3];
				ravscope__hex_rgb(ravscope__rgb_is_light(rgb) ? 0x1a1a1a : 0xffffff, ink);
				double px = CLAMP(vp->scale * 0.165, 8, 15) * (vp->large_text ? 1.2 : 1.0);
				ravscope__draw_text(cr, x - size / 2 + 4, y - size / 2 + 4, ravscope_document_type_name(doc, a->type), px, TRUE, ink,
					  size - 8);
			}
			break;
		}
		case RAVSCOPE_ANIM_FIXUP: {
			double x1, y1, x2, y2;
			if (vp->anim_t < a->start || !ravscope__word_point(L, vp, a->a, &x1, &y1))
				break;
			double alpha = sin(G_PI * MIN(1, lt * 0.8 + 0.2));
			if (a->b && ravscope__cell_center(L, vp, a->b, &x2, &y2))
				ravscope__draw_arrow(cr, x1, y1, x2, y2, lw * 0.7, grey, 0.7 * (1 - lt), TRUE);
			if (a->c && ravscope__cell_center(L, vp, a->c, &x2, &y2))
				ravscope__draw_arrow(cr, x1, y1, x2, y2, lw * 1.2, vp->accent, MAX(alpha, 0.35), FALSE);
			break;
		}
		case RAVSCOPE_ANIM_ALLOC:
		case RAVSCOPE_ANIM_FREE: {
			double x, y;
			if (vp->anim_t < a->start || lt >= 1 || !ravscope__cell_center(L, vp, a->a, &x, &y))
				break;
			double r = MAX(vp->scale * 0.5, 5) * (1 + 1.5 * (1 - ease(lt)));
			const double *rgb = a->kind == RAVSCOPE_ANIM_FREE ? dead : vp->accent;
			cairo_set_source_rgba(cr, rgb[0], rgb[1], rgb[2], 1 - lt);
			cairo_set_line_width(cr, lw * 1.5);
			cairo_arc(cr, x, y, r, 0, 2 * G_PI);
			cairo_stroke(cr);
			break;
		}
		case RAVSCOPE_ANIM_PAGE_ACQUIRE: {
			const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, a->page);
			if (!lp || lt >= 1)
				break;
			double m = vp->scale * 0.6 + 4 * (1 - lt);
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], 1 - lt);
			cairo_set_line_width(cr, lw * 1.5);
			ravscope__rounded_rect(cr, sx_of(vp, lp->x) - m, sy_of(vp, lp->y) - m, lp->w * vp->scale + 2 * m,
				     lp->h * vp->scale + 2 * m, 6);
			cairo_stroke(cr);
			break;
		}
		case RAVSCOPE_ANIM_PAGE_TRAVEL: {
			const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, a->page);
			if (!lp || lt >= 1)
				break;
			double e = ease(lt);
			double wx = a->from_x + (lp->x - a->from_x) * e, wy = a->from_y + (lp->y - a->from_y) * e;
			double x = sx_of(vp, wx), y = sy_of(vp, wy);
			double w = MAX(L->cols * vp->scale, 24), h = MAX(L->rows * vp->scale, 12);
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], 0.25);
			ravscope__rounded_rect(cr, x, y, w, h, 6);
			cairo_fill_preserve(cr);
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], 0.95);
			cairo_set_line_width(cr, lw * 1.5);
			cairo_stroke(cr);
			ravscope__draw_arrow(cr, sx_of(vp, a->from_x + L->cols / 2.0), sy_of(vp, a->from_y + L->rows / 2.0),
				   x + w / 2, y + h / 2, lw, vp->accent, 0.6 * (1 - e), TRUE);
			break;
		}
		}
	}
	cairo_restore(cr);
}

void ravscope_anims_build(GArray *anims, RavscopeDocument *doc, const RavscopeHeapLayout *old,
			  const RavscopeHeapLayout *now, const rav_event *events, guint n)
{
	/* Visual events play one after another within the period, each
	 * overlapping the next a little so a compaction reads as one motion. */
	guint visual = 0;
	for (guint i = 0; i < n; i++)
		visual += ravscope_event_kind_is_visual(events[i].kind) && events[i].kind != RAV_EV_LINK;
	guint k = 0;
	rav_state *s = ravscope_document_get_state(doc);
	for (guint i = 0; i < n; i++) {
		const rav_event *e = &events[i];
		if (!ravscope_event_kind_is_visual(e->kind) || e->kind == RAV_EV_LINK)
			continue;
		RavscopeAnim a = { 0 };
		a.start = visual > 1 ? (double)k / visual * 0.6 : 0;
		a.end = visual > 1 ? a.start + 0.4 + 0.6 / visual : 1;
		k++;
		switch (e->kind) {
		case RAV_EV_MOVE: {
			a.kind = RAVSCOPE_ANIM_MOVE;
			a.a = e->a;
			a.b = e->b;
			rav_state_cell c;
			if (rav_state_cell_at(s, rav_loc_page(e->b), rav_loc_cell(e->b), &c))
				a.type = c.type;
			break;
		}
		case RAV_EV_FIXUP:
		case RAV_EV_REF_STORE:
			a.kind = RAVSCOPE_ANIM_FIXUP;
			a.a = e->a;
			a.b = e->b;
			a.c = e->c;
			break;
		case RAV_EV_ALLOC:
			a.kind = RAVSCOPE_ANIM_ALLOC;
			a.a = e->a;
			break;
		case RAV_EV_FREE:
			a.kind = RAVSCOPE_ANIM_FREE;
			a.a = e->a;
			break;
		case RAV_EV_PAGE_ACQUIRE:
			a.kind = RAVSCOPE_ANIM_PAGE_ACQUIRE;
			a.page = rav_loc_page(e->a);
			break;
		case RAV_EV_PAGE_HANDOFF: {
			const RavscopeLayoutPage *from = ravscope_heap_layout_find(old, rav_loc_page(e->a));
			if (!from)
				continue;
			a.kind = RAVSCOPE_ANIM_PAGE_TRAVEL;
			a.page = rav_loc_page(e->a);
			a.from_x = from->x;
			a.from_y = from->y;
			break;
		}
		case RAV_EV_PAGE_TO_MSG: { /* format 1.6: a is the page's index */
			const RavscopeLayoutPage *from =
			    e->a < G_MAXUINT32 ? ravscope_heap_layout_find(old, (guint32)e->a) : NULL;
			if (!from)
				continue;
			a.kind = RAVSCOPE_ANIM_PAGE_TRAVEL;
			a.page = (guint32)e->a;
			a.from_x = from->x;
			a.from_y = from->y;
			break;
		}
		default:
			continue;
		}
		g_array_append_val(anims, a);
	}
	if (!old || !now)
		return;
	/* Message send/receive: every page that changed lane travels. */
	for (guint i = 0; i < now->pages->len; i++) {
		const RavscopeLayoutPage *np = &g_array_index(now->pages, RavscopeLayoutPage, i);
		const RavscopeLayoutPage *op = ravscope_heap_layout_find(old, np->page);
		if (!op || op->lane == np->lane || np->kind == RAV_SPAGE_POOL)
			continue;
		gboolean have = FALSE;
		for (guint j = 0; j < anims->len && !have; j++) {
			const RavscopeAnim *x = &g_array_index(anims, RavscopeAnim, j);
			have = x->kind == RAVSCOPE_ANIM_PAGE_TRAVEL && x->page == np->page;
		}
		if (have)
			continue;
		RavscopeAnim a = { .kind = RAVSCOPE_ANIM_PAGE_TRAVEL, .page = np->page, .from_x = op->x,
				   .from_y = op->y, .start = 0, .end = 1 };
		g_array_append_val(anims, a);
	}
}
