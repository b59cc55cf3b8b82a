/* ravscope-heap-spotlight.c - pointing at things on the heap picture: the
 * cells an operation touched, the pages or the thread a lesson talks
 * about, each outlined with a short label, and a caption sentence over the
 * heap.  What is pointed at stays bright and the rest dims a little, so a
 * class sees at once where to look.
 *
 * Labels are placed above their target, else below it, else further out
 * on either side, inside the heap area and off each other, the highlighted
 * targets and the caption, which sits at the bottom of the heap area; a
 * thin line ties each label to its target.  A label that finds no place
 * off the other words is left out (as a map does), the earlier spots'
 * first: words never print over words.  Targets not on screen (zoomed
 * elsewhere) keep their labels out: the caption still says what happened.  During an animation the
 * spotlight fades in with it, so the motion is seen first.
 */
#include "ravscope-heapdraw-private.h"

#include <math.h>
#include <pango/pangocairo.h>

RavscopeSpotlight *ravscope_spotlight_new(void)
{
	RavscopeSpotlight *sp = g_new0(RavscopeSpotlight, 1);
	sp->spots = g_array_new(FALSE, TRUE, sizeof(RavscopeSpot));
	sp->dim = TRUE;
	return sp;
}

void ravscope_spotlight_free(RavscopeSpotlight *sp)
{
	if (!sp)
		return;
	for (guint i = 0; i < sp->spots->len; i++)
		g_free(g_array_index(sp->spots, RavscopeSpot, i).label);
	g_array_unref(sp->spots);
	g_free(sp->caption);
	g_free(sp);
}

static void add(RavscopeSpotlight *sp, RavscopeSpotKind kind, rav_loc cell, guint32 page, guint32 heap_id,
                const char *label)
{
	for (guint i = 0; i < sp->spots->len; i++) {
		RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, i);
		if (s->kind == kind && s->cell == cell && s->page == page && s->heap_id == heap_id) {
			/* One target, one label: the later one says more. */
			if (label) {
				g_free(s->label);
				s->label = g_strdup(label);
			}
			return;
		}
	}
	RavscopeSpot s = {
	    .kind = kind, .cell = cell, .page = page, .heap_id = heap_id, .label = g_strdup(label)};
	g_array_append_val(sp->spots, s);
}

void ravscope_spotlight_add_cell(RavscopeSpotlight *sp, rav_loc cell, const char *label)
{
	if (cell && !(cell & RAV_LOC_EXTERNAL))
		add(sp, RAVSCOPE_SPOT_CELL, rav_loc_make(rav_loc_page(cell), rav_loc_cell(cell), 0), 0, 0,
		    label);
}

void ravscope_spotlight_add_page(RavscopeSpotlight *sp, guint32 page, const char *label)
{
	add(sp, RAVSCOPE_SPOT_PAGE, 0, page, 0, label);
}

void ravscope_spotlight_add_lane(RavscopeSpotlight *sp, guint32 heap_id, const char *label)
{
	add(sp, RAVSCOPE_SPOT_LANE, 0, 0, heap_id, label);
}

void ravscope_spotlight_set_caption(RavscopeSpotlight *sp, const char *caption)
{
	g_free(sp->caption);
	sp->caption = g_strdup(caption);
}

typedef struct {
	double x, y, w, h;
} Box;

/* The target's rectangle on the surface; FALSE if it is not laid out. */
static gboolean spot_rect(const RavscopeHeapLayout *L, const RavscopeViewport *vp, const RavscopeSpot *s,
                          double *x, double *y, double *w, double *h)
{
	switch (s->kind) {
	case RAVSCOPE_SPOT_CELL: {
		double wx, wy;
		if (!ravscope_heap_layout_cell_pos(L, s->cell, &wx, &wy))
			return FALSE;
		ravscope__cell_rect(vp, wx, wy, x, y, w, h);
		/* Zoomed out, a cell is a pixel: mark a point big enough to see. */
		if (*w < 10) {
			double cx = *x + *w / 2, cy = *y + *h / 2;
			*x = cx - 5, *y = cy - 5, *w = 10, *h = 10;
		}
		return TRUE;
	}
	case RAVSCOPE_SPOT_PAGE: {
		const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, s->page);
		if (!lp)
			return FALSE;
		*x = sx_of(vp, lp->x) - 3;
		*y = sy_of(vp, lp->y) - 3;
		*w = lp->w * vp->scale + 6;
		*h = lp->h * vp->scale + 6;
		return TRUE;
	}
	case RAVSCOPE_SPOT_LANE: {
		gpointer v = L->lane_of_heap
		                 ? g_hash_table_lookup(L->lane_of_heap, GUINT_TO_POINTER(s->heap_id))
		                 : NULL;
		if (!v)
			return FALSE;
		const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, GPOINTER_TO_UINT(v) - 1);
		*x = vp->x0 + 2;
		*y = sy_of(vp, lane->y) + 2;
		*w = MIN(vp->width - 4, MAX(sx_of(vp, lane->content_w) - vp->x0, 40));
		*h = lane->h * vp->scale - 4;
		return TRUE;
	}
	}
	return FALSE;
}

/* The caption's layout and box.  It sits at the bottom of the heap area,
 * where the labels (above their targets) rarely go, or at the top when
 * the bottom would cover more of the targets (the cells a step is about,
 * drawn at the bottom of a short heap area).  It takes at most a third of
 * the area's height: on a short one (a lesson at 900 x 600, presentation
 * mode) its type shrinks and then it keeps to the lines that fit, the end
 * elided (the Explain panel has the whole sentence). */
#define CAPTION_SHARE 0.34 /* of the heap area's height, at most */

static double overlap_area(const Box *a, const Box *b)
{
	double w = MIN(a->x + a->w, b->x + b->w) - MAX(a->x, b->x);
	double h = MIN(a->y + a->h, b->y + b->h) - MAX(a->y, b->y);
	return w > 0 && h > 0 ? w * h : 0;
}

static PangoLayout *caption_layout(cairo_t *cr, const RavscopeViewport *vp, const char *caption,
                                   const Box *targets, guint n, Box *box, double *pad_out)
{
	double base = vp->large_text ? 22 : 16, px = base;
	double room = vp->width, maxw = MAX(room * 0.9, 200), maxh = MAX(vp->height * CAPTION_SHARE, 1);
	PangoLayout *pl = pango_cairo_create_layout(cr);
	pango_layout_set_width(pl, (int)(maxw * PANGO_SCALE));
	pango_layout_set_wrap(pl, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_text(pl, caption, -1);
	int tw = 0, th = 0;
	for (;;) {
		PangoFontDescription *fd = pango_font_description_from_string("Sans");
		pango_font_description_set_absolute_size(fd, px * PANGO_SCALE);
		pango_font_description_set_weight(fd, PANGO_WEIGHT_SEMIBOLD);
		pango_layout_set_font_description(pl, fd);
		pango_font_description_free(fd);
		pango_layout_get_pixel_size(pl, &tw, &th);
		if (th + 1.2 * px <= maxh || px <= 13)
			break;
		px = MAX(13, px - 2);
	}
	double pad = px * 0.6;
	if (th + 2 * pad > maxh) {
		/* still too tall at the smallest type: the lines that fit */
		int lines = pango_layout_get_line_count(pl);
		int keep = MAX(1, (int)((maxh - 2 * pad) / MAX((double)th / MAX(lines, 1), 1)));
		pango_layout_set_ellipsize(pl, PANGO_ELLIPSIZE_END);
		pango_layout_set_height(pl, -keep);
		pango_layout_get_pixel_size(pl, &tw, &th);
	}
	double bw = tw + 2 * pad, bh = th + 2 * pad;
	double bx = vp->x0 + MAX(8, (room - bw) / 2);
	Box bottom = {bx, vp->y0 + vp->height - bh - 12, bw, bh};
	Box top = {bx, vp->y0 + 12, bw, bh};
	double cover_bottom = 0, cover_top = 0;
	for (guint i = 0; i < n; i++) {
		cover_bottom += overlap_area(&bottom, &targets[i]);
		cover_top += overlap_area(&top, &targets[i]);
	}
	*box = cover_top < cover_bottom ? top : bottom;
	*pad_out = pad;
	return pl;
}

void ravscope__spotlight_caption_box(cairo_t *cr, const RavscopeViewport *vp, const char *caption,
                                     const double *targets, guint n, double out[4])
{
	Box *t = g_new0(Box, MAX(n, 1)), box;
	for (guint i = 0; i < n; i++)
		t[i] = (Box){targets[4 * i], targets[4 * i + 1], targets[4 * i + 2], targets[4 * i + 3]};
	double pad;
	g_object_unref(caption_layout(cr, vp, caption, t, n, &box, &pad));
	g_free(t);
	out[0] = box.x, out[1] = box.y, out[2] = box.w, out[3] = box.h;
}

static void draw_caption(cairo_t *cr, const RavscopeViewport *vp, const char *caption, double alpha,
                         const Box *targets, guint n, Box *box)
{
	double pad;
	PangoLayout *pl = caption_layout(cr, vp, caption, targets, n, box, &pad);
	double bx = box->x, by = box->y, bw = box->w, bh = box->h;
	if (alpha <= 0) {
		g_object_unref(pl);
		return;
	}
	double bg[3], tc[3];
	ravscope_heap_background(vp->dark, bg);
	ravscope__text_rgb(vp->dark, tc);
	cairo_set_source_rgba(cr, 0, 0, 0, 0.18 * alpha);
	ravscope__rounded_rect(cr, bx + 2, by + 3, bw, bh, 8);
	cairo_fill(cr);
	cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.94 * alpha);
	ravscope__rounded_rect(cr, bx, by, bw, bh, 8);
	cairo_fill_preserve(cr);
	cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], alpha);
	cairo_set_line_width(cr, 2);
	cairo_stroke(cr);
	cairo_set_source_rgba(cr, tc[0], tc[1], tc[2], alpha);
	cairo_move_to(cr, bx + pad, by + pad);
	pango_cairo_show_layout(cr, pl);
	g_object_unref(pl);
}

/* How much of box b covers words: the labels placed so far, the caption
 * and the page titles (`placed`).  A label never goes there. */
static double words_clash(const Box *b, const GArray *placed)
{
	double a = 0;
	for (guint j = 0; j < placed->len; j++)
		a += overlap_area(b, &g_array_index(placed, Box, j));
	return a;
}

/* How much of box b covers the highlighted targets (a lane is the label's
 * backdrop): allowed where nothing better is free. */
static double target_clash(const Box *b, const Box *rects, const gboolean *shown, guint n,
                           const RavscopeSpotlight *sp)
{
	double a = 0;
	for (guint j = 0; j < n; j++)
		if (shown[j] && g_array_index(sp->spots, RavscopeSpot, j).kind != RAVSCOPE_SPOT_LANE)
			a += overlap_area(b, &rects[j]);
	return a;
}

/* Where target i's label goes: just above it, else just below, else one
 * label's height further out on either side, and so on, staying inside
 * the heap area and off the other labels, the caption, the page titles
 * and the highlighted targets.  Neighbouring cells' labels then alternate
 * above and below instead of climbing out of sight over a cell on the top
 * row.  Where no place is free of targets (a short heap area, cells side
 * by side on one row), the label goes where it covers the fewest of them,
 * beside its target if need be; where every place inside the area would
 * print over other words (four or more labelled cells side by side, or
 * zoomed out, where they are a pixel apart), the label is left out, as a
 * map leaves out the names that do not fit: FALSE.  Spots come in the
 * order of what matters (an operation's cell before the words it fixed),
 * so the first labels stay. */
static gboolean place_label(const RavscopeViewport *vp, const Box *rects, const gboolean *shown, guint n, guint i,
                            const GArray *placed, Box *b, gboolean *above)
{
	const RavscopeSpotlight *sp = vp->spotlight;
	double top = vp->y0 + 2, bottom = vp->y0 + vp->height - 2;
	double left = vp->x0 + 2, right = vp->x0 + vp->width - 2;
	double cx = rects[i].x + rects[i].w / 2;
	Box best = {0};
	gboolean have_best = FALSE, best_above = TRUE;
	double best_area = 0, best_dist = 0;
	for (int k = 0; k < 12; k++) {
		for (int side = 0; side < 2; side++) {
			gboolean up = side == 0;
			Box c = *b;
			c.y = up ? rects[i].y - 8 - c.h - k * (c.h + 4)
			         : rects[i].y + rects[i].h + 8 + k * (c.h + 4);
			if (c.y < top || c.y + c.h > bottom)
				continue;
			/* Centred over the target, else nudged to either side,
			 * else (crowded) clear of it on either side, or beside a
			 * label placed before. */
			double xs[5] = {cx - c.w / 2, rects[i].x + rects[i].w - c.w, rects[i].x,
			                rects[i].x - c.w - 4, rects[i].x + rects[i].w + 4};
			for (guint t = 0; t < 5 + 2 * placed->len; t++) {
				const Box *pb = t >= 5 ? &g_array_index(placed, Box, (t - 5) / 2) : NULL;
				double x = !pb ? xs[t] : (t - 5) % 2 ? pb->x - c.w - 4 : pb->x + pb->w + 4;
				c.x = CLAMP(x, left, MAX(left, right - c.w));
				if (c.x + c.w > right + 0.5 || words_clash(&c, placed) > 0)
					continue; /* over other words, or wider than the area */
				double area = target_clash(&c, rects, shown, n, sp);
				if (t < 3 && area <= 0) {
					*b = c;
					*above = up;
					return TRUE;
				}
				/* (the far sides only as the least bad place) */
				/* the least covered, then the nearest to the target */
				double dist = fabs(c.x + c.w / 2 - cx) + fabs(c.y + c.h / 2 - (rects[i].y + rects[i].h / 2));
				if (!have_best || area < best_area - 0.5 || (area <= best_area + 0.5 && dist < best_dist))
					best = c, best_above = up, best_area = area, best_dist = dist, have_best = TRUE;
			}
		}
	}
	if (!have_best)
		return FALSE; /* no room off other words: left out */
	*b = best; /* crowded: over a target a little beats out of sight */
	*above = best_above;
	return TRUE;
}

/* Target i's label box, placed off those placed so far (`placed`); FALSE
 * when it has no room there (see place_label). */
static gboolean label_box(cairo_t *cr, const RavscopeViewport *vp, const Box *rects, const gboolean *shown, guint n,
                          guint i, const GArray *placed, double px, gboolean *above, Box *out)
{
	const RavscopeSpot *s = &g_array_index(vp->spotlight->spots, RavscopeSpot, i);
	double tw = ravscope__text_width(cr, s->label, px, TRUE);
	double pad = px * 0.45;
	Box b = {.w = tw + 2 * pad, .h = px * 1.25 + 2 * pad};
	b.x = CLAMP(rects[i].x + rects[i].w / 2 - b.w / 2, vp->x0 + 2, vp->x0 + vp->width - b.w - 2);
	*above = TRUE;
	if (s->kind == RAVSCOPE_SPOT_LANE) {
		/* A tab on the lane's outline, at its right end: over the
		 * margin between lanes rather than over the lane's cells. */
		b.x = MAX(rects[i].x + 6, rects[i].x + rects[i].w - b.w - 12);
		b.y = MAX(vp->y0 + 2, rects[i].y - b.h / 2);
		*above = FALSE;
		/* Over a page title or another label there (a lane of one
		 * narrow page): on its bottom outline instead, where no title is. */
		double a = 0;
		for (guint j = 0; j < placed->len; j++)
			a += overlap_area(&b, &g_array_index(placed, Box, j));
		if (a > 0) {
			Box low = b;
			low.y = MIN(rects[i].y + rects[i].h - b.h / 2, vp->y0 + vp->height - b.h - 2);
			double a2 = 0;
			for (guint j = 0; j < placed->len; j++)
				a2 += overlap_area(&low, &g_array_index(placed, Box, j));
			if (a2 < a)
				b = low;
		}
		*out = b;
		return TRUE;
	}
	gboolean ok = place_label(vp, rects, shown, n, i, placed, &b, above);
	*out = b;
	return ok;
}

void ravscope__spotlight_label_boxes(cairo_t *cr, const RavscopeViewport *vp, const double *targets,
                                     const double *caption, double *out)
{
	guint n = vp->spotlight->spots->len;
	Box *rects = g_new0(Box, MAX(n, 1));
	gboolean *shown = g_new0(gboolean, MAX(n, 1));
	GArray *placed = g_array_new(FALSE, FALSE, sizeof(Box));
	if (caption) {
		Box c = {caption[0], caption[1], caption[2], caption[3]};
		g_array_append_val(placed, c);
	}
	for (guint i = 0; i < n; i++) {
		rects[i] = (Box){targets[4 * i], targets[4 * i + 1], targets[4 * i + 2], targets[4 * i + 3]};
		shown[i] = TRUE;
	}
	double px = vp->large_text ? 17 : 13;
	for (guint i = 0; i < n; i++) {
		const RavscopeSpot *s = &g_array_index(vp->spotlight->spots, RavscopeSpot, i);
		gboolean above;
		Box b = {0};
		if (!s->label || !*s->label || !label_box(cr, vp, rects, shown, n, i, placed, px, &above, &b))
			b = (Box){0};
		else
			g_array_append_val(placed, b);
		out[4 * i] = b.x, out[4 * i + 1] = b.y, out[4 * i + 2] = b.w, out[4 * i + 3] = b.h;
	}
	g_array_unref(placed);
	g_free(rects);
	g_free(shown);
}

/* The page titles on screen (drawn over each page once zoomed in,
 * ravscope-heap-cells.c): labels keep off them as off each other, so
 * "alpha's heap" does not hide which page it is. */
static void add_page_titles(cairo_t *cr, const RavscopeHeapLayout *L, const RavscopeViewport *vp, GArray *placed)
{
	if (vp->scale < 10)
		return;
	double fs = CLAMP(vp->scale * 0.55, 10.5, 14) * (vp->large_text ? 1.3 : 1);
	double m = MAX(2, vp->scale * 0.25);
	for (guint i = 0; i < L->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(L->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL)
			continue;
		double px = sx_of(vp, lp->x), py = sy_of(vp, lp->y), pw = L->cols * vp->scale;
		Box t = { px, py - m - fs * 1.35, 0, fs * 1.35 };
		if (px + pw < vp->x0 || px > vp->x0 + vp->width || t.y + t.h < vp->y0 || t.y > vp->y0 + vp->height)
			continue;
		g_autofree char *lbl = g_strdup_printf("page %u%s%s", lp->page,
			lp->kind == RAV_SPAGE_BUFFER ? " · message buffer" : "", lp->kind == RAV_SPAGE_ROOT ? " · roots" : "");
		t.w = MIN(ravscope__text_width(cr, lbl, fs, FALSE), pw);
		g_array_append_val(placed, t);
	}
}

/* Where the spots are on screen (rects) and which are shown; returns how
 * many are. */
static guint place_spots(const RavscopeHeapLayout *L, const RavscopeViewport *vp, const RavscopeSpotlight *sp,
                         Box *rects, gboolean *shown)
{
	guint nshown = 0;
	for (guint i = 0; i < sp->spots->len; i++) {
		const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, i);
		shown[i] = spot_rect(L, vp, s, &rects[i].x, &rects[i].y, &rects[i].w, &rects[i].h);
		/* Off screen (zoomed elsewhere, or a cell of a page cut by the
		 * edge): no outline, and no label pointing out of the area. */
		double cx = rects[i].x + rects[i].w / 2, cy = rects[i].y + rects[i].h / 2;
		if (shown[i] && s->kind != RAVSCOPE_SPOT_LANE &&
		    (cx < vp->x0 || cx > vp->x0 + vp->width || cy < vp->y0 || cy > vp->y0 + vp->height))
			shown[i] = FALSE;
		nshown += shown[i];
	}
	return nshown;
}

/* What the caption should not cover: the targets it is about (a lane is
 * everything in it, so only cells and pages count).  Returns how many. */
static guint caption_cover(const RavscopeSpotlight *sp, const Box *rects, const gboolean *shown, Box *cover)
{
	guint ncover = 0;
	for (guint i = 0; i < sp->spots->len; i++)
		if (shown[i] && g_array_index(sp->spots, RavscopeSpot, i).kind != RAVSCOPE_SPOT_LANE)
			cover[ncover++] = rects[i];
	return ncover;
}

gboolean ravscope_heap_spotlight_caption(const RavscopeHeapLayout *L, const RavscopeViewport *vp, double out[4])
{
	const RavscopeSpotlight *sp = vp->spotlight;
	if (!sp || !sp->caption || !*sp->caption)
		return FALSE;
	guint n = sp->spots->len;
	Box *rects = g_new0(Box, MAX(n, 1)), *cover = g_new0(Box, MAX(n, 1));
	gboolean *shown = g_new0(gboolean, MAX(n, 1));
	place_spots(L, vp, sp, rects, shown);
	guint ncover = caption_cover(sp, rects, shown, cover);
	/* Text is measured on a scratch surface: the same fonts and layout as
	 * the drawing's. */
	cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
	cairo_t *cr = cairo_create(scratch);
	ravscope__spotlight_caption_box(cr, vp, sp->caption, (const double *)cover, ncover, out);
	cairo_destroy(cr);
	cairo_surface_destroy(scratch);
	g_free(rects);
	g_free(cover);
	g_free(shown);
	return TRUE;
}

void ravscope__heap_draw_spotlight(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L,
                                   const RavscopeViewport *vp)
{
	const RavscopeSpotlight *sp = vp->spotlight;
	if (!sp)
		return;
	/* Fade in over the second half of an animation. */
	double alpha = vp->n_anims ? CLAMP(vp->anim_t * 2 - 1, 0, 1) : 1;
	if (alpha <= 0)
		return;
	guint n = sp->spots->len;
	Box *rects = g_new0(Box, MAX(n, 1));
	gboolean *shown = g_new0(gboolean, MAX(n, 1));
	guint nshown = place_spots(L, vp, sp, rects, shown);
	cairo_save(cr);
	cairo_rectangle(cr, vp->x0, vp->y0, vp->width, vp->height);
	cairo_clip(cr);
	if (sp->dim && nshown) {
		/* The rest of the heap steps back. */
		double bg[3];
		ravscope_heap_background(vp->dark, bg);
		cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
		cairo_rectangle(cr, vp->x0, vp->y0, vp->width, vp->height);
		for (guint i = 0; i < n; i++)
			if (shown[i])
				cairo_rectangle(cr, rects[i].x - 2, rects[i].y - 2, rects[i].w + 4,
				                rects[i].h + 4);
		cairo_set_source_rgba(cr, bg[0], bg[1], bg[2], 0.5 * alpha);
		cairo_fill(cr);
		cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
	}
	double lw = vp->large_text ? 4 : 3;
	for (guint i = 0; i < n; i++) {
		if (!shown[i])
			continue;
		cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], alpha);
		cairo_set_line_width(cr, lw);
		ravscope__rounded_rect(cr, rects[i].x - lw / 2, rects[i].y - lw / 2, rects[i].w + lw,
		                       rects[i].h + lw, MIN(6, rects[i].w / 4));
		cairo_stroke(cr);
	}
	if (sp->links) {
		/* The references out of the cells pointed at (shown or not: an
		 * arrow from a cell off screen still enters the view), in the
		 * text's colour: in the accent they melted into the outlines. */
		double ink[3];
		ravscope__text_rgb(vp->dark, ink);
		for (guint i = 0; i < n; i++) {
			const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, i);
			if (s->kind == RAVSCOPE_SPOT_CELL)
				ravscope__heap_draw_cell_refs(cr, doc, L, vp, s->cell, stroke_of(vp, 1.6), ink,
							      0.85 * alpha);
		}
	}
	/* The caption first (drawn last, over everything), then the labels,
	 * pushed apart and away from it. */
	GArray *placed = g_array_new(FALSE, FALSE, sizeof(Box));
	Box caption_box = {0};
	/* what the caption should not cover: the targets it is about (a
	 * lane is everything in it, so only cells and pages count) */
	Box *cover = g_new0(Box, MAX(n, 1));
	guint ncover = caption_cover(sp, rects, shown, cover);
	if (sp->caption && *sp->caption) {
		draw_caption(cr, vp, sp->caption, 0, cover, ncover, &caption_box);
		g_array_append_val(placed, caption_box);
	}
	add_page_titles(cr, L, vp, placed);
	double px = vp->large_text ? 17 : 13;
	for (guint i = 0; i < n; i++) {
		const RavscopeSpot *s = &g_array_index(sp->spots, RavscopeSpot, i);
		if (!shown[i] || !s->label || !*s->label)
			continue;
		double pad = px * 0.45;
		gboolean above = TRUE;
		Box b;
		if (!label_box(cr, vp, rects, shown, n, i, placed, px, &above, &b))
			continue; /* no room off the other words */
		g_array_append_val(placed, b);
		double ax = rects[i].x + rects[i].w / 2, ay = above ? rects[i].y : rects[i].y + rects[i].h;
		if (s->kind != RAVSCOPE_SPOT_LANE) {
			cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], alpha);
			cairo_set_line_width(cr, 1.5);
			cairo_move_to(cr, ax, ay);
			cairo_line_to(cr, CLAMP(ax, b.x + 4, b.x + b.w - 4), above ? b.y + b.h : b.y);
			cairo_stroke(cr);
		}
		cairo_set_source_rgba(cr, vp->accent[0], vp->accent[1], vp->accent[2], alpha);
		ravscope__rounded_rect(cr, b.x, b.y, b.w, b.h, b.h / 2);
		cairo_fill(cr);
		double white[3] = {1, 1, 1};
		ravscope__draw_text_alpha(cr, b.x + pad, b.y + pad, s->label, px, TRUE, white, alpha, 0);
	}
	g_array_unref(placed);
	if (sp->caption && *sp->caption)
		draw_caption(cr, vp, sp->caption, alpha, cover, ncover, &caption_box);
	g_free(cover);
	cairo_restore(cr);
	g_free(rects);
	g_free(shown);
}
