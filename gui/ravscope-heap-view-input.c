/* ravscope-heap-view-input.c - how a person moves around the heap view.
 *
 * Zoom is smooth (a frame-clock animation towards a target scale, anchored
 * at the pointer or the selection) and snaps to whole pixels per cell when
 * close, for crisp cells.  Dragging pans; a click selects the cell under
 * the pointer, a double click zooms onto its page.  When a trace has more
 * threads than lanes fit in the view (RavscopeHeapLayout.scrolls), the
 * lanes scroll like a list: the scroll bar, the wheel over the lane names,
 * Page Up and Page Down.  Tooltips name the cell, or the lane, under the
 * pointer.
 */
#include "ravscope-heap-view-private.h"

#include <math.h>
#include <string.h>

/* ---- smooth zoom ----------------------------------------------------------- */

static gboolean zoom_tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user)
{
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(widget);
	double ls = log(self->vp.scale), lt = log(self->target_scale);
	double k = 0.28;
	ls += (lt - ls) * k;
	self->vp.scale = exp(ls);
	if (self->anchored) {
		self->vp.ox = self->anchor_wx - (self->anchor_sx - self->vp.x0) / self->vp.scale;
		self->vp.oy = self->anchor_wy - (self->anchor_sy - self->vp.y0) / self->vp.scale;
	} else {
		self->vp.ox += (self->target_ox - self->vp.ox) * k;
		self->vp.oy += (self->target_oy - self->vp.oy) * k;
	}
	gboolean done = fabs(lt - ls) < 0.002 && (self->anchored ||
		(fabs(self->target_ox - self->vp.ox) * self->vp.scale < 0.5 && fabs(self->target_oy - self->vp.oy) * self->vp.scale < 0.5));
	if (done) {
		self->vp.scale = self->target_scale;
		if (!self->anchored) {
			self->vp.ox = self->target_ox;
			self->vp.oy = self->target_oy;
		} else {
			self->vp.ox = self->anchor_wx - (self->anchor_sx - self->vp.x0) / self->vp.scale;
			self->vp.oy = self->anchor_wy - (self->anchor_sy - self->vp.y0) / self->vp.scale;
		}
		self->zoom_tick = 0;
		gtk_widget_queue_draw(widget);
		return G_SOURCE_REMOVE;
	}
	gtk_widget_queue_draw(widget);
	return G_SOURCE_CONTINUE;
}

void ravscope__heap_view_start_zoom(RavscopeHeapView *self)
{
	if (!self->zoom_tick)
		self->zoom_tick = gtk_widget_add_tick_callback(GTK_WIDGET(self), zoom_tick_cb, NULL, NULL);
}

static double min_scale(RavscopeHeapView *self)
{
	if (!self->layout)
		return 0.05;
	double fit = MIN(self->vp.width / MAX(self->layout->world_w, 1), self->vp.height / MAX(self->layout->world_h, 1));
	return MAX(0.02, MIN(fit * 0.5, 1.0));
}

static void zoom_at(RavscopeHeapView *self, double factor, double sx, double sy)
{
	if (!self->doc)
		return;
	ravscope__heap_view_ensure_layout(self);
	double base = self->zoom_tick ? self->target_scale : self->vp.scale;
	double ns = CLAMP(base * factor, min_scale(self), MAX_SCALE);
	/* Snap to whole pixels per cell when close: crisp cells. */
	if (ns > 1.5 && fabs(ns - round(ns)) < 0.08 * ns)
		ns = round(ns);
	self->anchored = TRUE;
	self->anchor_sx = sx;
	self->anchor_sy = sy;
	self->anchor_wx = self->vp.ox + (sx - self->vp.x0) / self->vp.scale;
	self->anchor_wy = self->vp.oy + (sy - self->vp.y0) / self->vp.scale;
	self->target_scale = ns;
	self->fitted = FALSE;
	self->framed_n = 0;
	ravscope__heap_view_start_zoom(self);
}

void ravscope_heap_view_zoom(RavscopeHeapView *self, double factor)
{
	double cx = self->vp.x0 + self->vp.width / 2, cy = self->vp.y0 + self->vp.height / 2;
	double wx, wy;
	/* Zoom towards the selection, or else where the last event happened,
	 * when it is on screen: that is what the person is looking at. */
	rav_loc target = self->selected ? self->selected : self->last_touched;
	if (target && self->layout && ravscope_heap_layout_cell_pos(self->layout, target, &wx, &wy)) {
		double sx = self->vp.x0 + (wx + 0.5 - self->vp.ox) * self->vp.scale;
		double sy = self->vp.y0 + (wy + 0.5 - self->vp.oy) * self->vp.scale;
		if (sx >= self->vp.x0 && sx < self->vp.x0 + self->vp.width && sy >= 0 && sy < self->vp.height) {
			cx = sx;
			cy = sy;
		}
	}
	zoom_at(self, factor, cx, cy);
}

/* Presentation mode: cells this big at least, or the view starts close up
 * where things happen (a class reads cells, not a texture of pixels). */
#define PRESENT_MIN_CELL 12.0

/* The cell to look at closely: the selection, where the last step
 * happened, or the first page of the lane with the most pages. */
static gboolean close_up_point(RavscopeHeapView *self, double *wx, double *wy)
{
	rav_loc at = self->selected ? self->selected : self->last_touched;
	if (at && ravscope_heap_layout_cell_pos(self->layout, at, wx, wy))
		return TRUE;
	GArray *pages = self->layout->pages;
	guint *per_lane = g_new0(guint, self->layout->lanes->len + 1);
	guint best = G_MAXUINT;
	for (guint i = 0; i < pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL || lp->lane >= self->layout->lanes->len)
			continue;
		if (++per_lane[lp->lane] > (best == G_MAXUINT ? 0 : per_lane[best]))
			best = lp->lane;
	}
	gboolean found = FALSE;
	for (guint i = 0; i < pages->len && best != G_MAXUINT && !found; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(pages, RavscopeLayoutPage, i);
		if (lp->lane == best && lp->kind != RAV_SPAGE_POOL) {
			/* the middle of the lane's first row, so neighbours show too */
			*wx = lp->x + self->layout->cols;
			*wy = lp->y + self->layout->rows / 2.0;
			found = TRUE;
		}
	}
	g_free(per_lane);
	return found;
}

static void zoom_fit(RavscopeHeapView *self, gboolean whole)
{
	if (!self->doc)
		return;
	self->fit_whole = whole;
	self->framed_n = 0;
	/* Asked before the view has its size (a lesson that starts as its
	 * trace opens): the first draw does it.  Presentation mode's close-up
	 * computed now would centre on a point at the left edge of a view 0
	 * px wide, and keep that place when the view gets its size. */
	if (gtk_widget_get_width(GTK_WIDGET(self)) <= 0 || gtk_widget_get_height(GTK_WIDGET(self)) <= 0) {
		self->pending_fit = whole ? 2 : 1;
		self->pending_focus = RAV_LOC_NONE;
		self->fitted = TRUE;
		self->layout_dirty = TRUE;
		return;
	}
	self->pending_fit = 0;
	self->page_cols = 0;
	self->layout_dirty = TRUE;
	self->fitted = TRUE;
	ravscope__heap_view_ensure_layout(self);
	RavscopeViewport v = self->vp;
	ravscope_viewport_fit(&v, self->layout);
	double wx, wy;
	/* In presentation mode a heap too big to show whole with readable
	 * cells is first shown close up (the camera then follows the action);
	 * asked again, it is shown whole. */
	if (!whole && self->large_text && v.scale < PRESENT_MIN_CELL && !self->present_close &&
	    close_up_point(self, &wx, &wy)) {
		double s = MIN(PRESENT_MIN_CELL * 2, MAX_SCALE);
		self->target_scale = s;
		self->target_ox = MAX(0, wx + 0.5 - v.width / s / 2);
		self->target_oy = MAX(0, wy + 0.5 - v.height / s / 2);
		self->anchored = FALSE;
		self->present_close = TRUE;
		self->fitted = FALSE;
		ravscope__heap_view_start_zoom(self);
		return;
	}
	self->present_close = FALSE;
	self->target_scale = v.scale;
	self->target_ox = v.ox;
	self->target_oy = v.oy;
	self->anchored = FALSE;
	ravscope__heap_view_start_zoom(self);
	self->fitted = TRUE;
}

void ravscope_heap_view_zoom_fit(RavscopeHeapView *self)
{
	zoom_fit(self, FALSE);
}

void ravscope_heap_view_zoom_whole(RavscopeHeapView *self)
{
	zoom_fit(self, TRUE);
}

void ravscope_heap_view_focus_cell(RavscopeHeapView *self, rav_loc cell)
{
	ravscope_heap_view_focus_cells(self, &cell, 1);
}

void ravscope_heap_view_focus_cells(RavscopeHeapView *self, const rav_loc *cells, guint n)
{
	if (!self->doc || n == 0)
		return;
	n = MIN(n, RAVSCOPE_FOCUS_CELLS_MAX);
	rav_loc cell = cells[0];
	/* Asked before the first allocation (ravscope --select at startup):
	 * the zoom needs the view's size, so the first draw does it. */
	if (gtk_widget_get_width(GTK_WIDGET(self)) <= 0 || gtk_widget_get_height(GTK_WIDGET(self)) <= 0) {
		self->pending_focus = cell;
		for (guint i = 0; i + 1 < RAVSCOPE_FOCUS_CELLS_MAX; i++)
			self->pending_also[i] = i + 1 < n ? cells[i + 1] : RAV_LOC_NONE;
		self->pending_n = n;
		self->pending_fit = 0;
		return;
	}
	self->pending_focus = RAV_LOC_NONE;
	self->pending_n = 0;
	self->pending_fit = 0;
	if (cells != self->framed)
		memcpy(self->framed, cells, n * sizeof *cells);
	self->framed_n = n;
	ravscope__heap_view_ensure_layout(self);
	const RavscopeHeapLayout *L = self->layout;
	const RavscopeLayoutPage *lp = ravscope_heap_layout_find(L, rav_loc_page(cell));
	if (!lp)
		return;
	/* The box of the pages, with a margin for their titles above them:
	 * the first cell's page, and each other one that still leaves the
	 * cells readable (a page too far away is left out, the others still
	 * go in). */
	double min_scale = self->large_text ? PRESENT_MIN_CELL : 4;
	double x0 = lp->x, y0 = lp->y, x1 = lp->x + L->cols, y1 = lp->y + L->rows;
	double s = MIN(self->vp.width / (L->cols + 3), self->vp.height / (L->rows + 3));
	for (guint i = 1; i < n; i++) {
		if (cells[i] == RAV_LOC_NONE || (cells[i] & RAV_LOC_EXTERNAL))
			continue;
		const RavscopeLayoutPage *o = ravscope_heap_layout_find(L, rav_loc_page(cells[i]));
		if (!o || o->kind == RAV_SPAGE_POOL)
			continue;
		double nx0 = MIN(x0, o->x), ny0 = MIN(y0, o->y);
		double nx1 = MAX(x1, o->x + L->cols), ny1 = MAX(y1, o->y + L->rows);
		double ns = MIN(self->vp.width / (nx1 - nx0 + 3), self->vp.height / (ny1 - ny0 + 3));
		if (floor(ns) < min_scale && floor(ns) < floor(s))
			continue;
		x0 = nx0, y0 = ny0, x1 = nx1, y1 = ny1, s = ns;
	}
	/* Framing several cells' pages (an operation): a page the view would
	 * show cut at its edge (lesson 10's roots page beside page 0) goes in
	 * whole too, when the cells stay readable and at least 60% as big.
	 * (One cell's page fills the view, its neighbours cut, as asked.) */
	double s_need = s;
	for (int pass = 0; pass < 3 && n > 1; pass++) {
		gboolean grew = FALSE;
		for (guint i = 0; i < L->pages->len; i++) {
			const RavscopeLayoutPage *o = &g_array_index(L->pages, RavscopeLayoutPage, i);
			if (o->kind == RAV_SPAGE_POOL)
				continue;
			double fs = floor(s), vw = self->vp.width / fs, vh = self->vp.height / fs;
			double vx0 = (x0 + x1 - vw) / 2, vy0 = (y0 + y1 - vh) / 2;
			double px1 = o->x + L->cols, py1 = o->y + L->rows;
			gboolean seen = o->x < vx0 + vw && px1 > vx0 && o->y < vy0 + vh && py1 > vy0;
			gboolean whole = o->x >= vx0 && px1 <= vx0 + vw && o->y >= vy0 && py1 <= vy0 + vh;
			if (!seen || whole)
				continue;
			double nx0 = MIN(x0, o->x), ny0 = MIN(y0, o->y), nx1 = MAX(x1, px1), ny1 = MAX(y1, py1);
			double ns = MIN(self->vp.width / (nx1 - nx0 + 3), self->vp.height / (ny1 - ny0 + 3));
			if (floor(ns) < min_scale || ns < 0.6 * s_need)
				continue;
			x0 = nx0, y0 = ny0, x1 = nx1, y1 = ny1, s = ns;
			grew = TRUE;
		}
		if (!grew)
			break;
	}
	s = CLAMP(floor(s), 4, MAX_SCALE);
	self->target_scale = s;
	self->target_ox = (x0 + x1) / 2 - self->vp.width / s / 2;
	self->target_oy = (y0 + y1) / 2 - self->vp.height / s / 2;
	self->anchored = FALSE;
	self->fitted = FALSE;
	ravscope__heap_view_start_zoom(self);
}

double ravscope_heap_view_get_scale(RavscopeHeapView *self)
{
	return self->vp.scale;
}

/* ---- lanes that scroll -------------------------------------------------------- */

/* Too many lanes to show at once: the view scrolls through them (the scroll
 * bar, the wheel over the lane names, Page Up and Page Down); scrolling
 * keeps the whole-heap fit. */
static void scroll_to(RavscopeHeapView *self, double oy)
{
	if (!self->layout)
		return;
	self->vp.oy = ravscope_heap_layout_clamp_oy(self->layout, oy, self->vp.height, self->vp.scale);
	self->target_oy = self->vp.oy;
	if (self->zoom_tick && self->anchored) {
		gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->zoom_tick);
		self->zoom_tick = 0;
		self->target_scale = self->vp.scale;
	}
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static gboolean lanes_scroll(RavscopeHeapView *self)
{
	return self->doc && self->layout && self->layout->scrolls;
}

static double page_height_world(RavscopeHeapView *self)
{
	return self->vp.height * 0.9 / MAX(self->vp.scale, 1e-6);
}

void ravscope_heap_view_scroll_lanes(RavscopeHeapView *self, double pages)
{
	ravscope__heap_view_ensure_layout(self);
	if (lanes_scroll(self))
		scroll_to(self, self->vp.oy + pages * page_height_world(self));
}

void ravscope_heap_view_get_lanes_shown(RavscopeHeapView *self, RavscopeLanesShown *out, gboolean *scrolls)
{
	memset(out, 0, sizeof *out);
	*scrolls = FALSE;
	ravscope__heap_view_ensure_layout(self);
	if (!self->layout)
		return;
	ravscope_heap_layout_lanes_shown(self->layout, &self->vp, out);
	*scrolls = self->layout->scrolls;
}

static gboolean on_key(GtkEventControllerKey *c, guint key, guint code, GdkModifierType mods, RavscopeHeapView *self)
{
	if (!lanes_scroll(self) || (key != GDK_KEY_Page_Up && key != GDK_KEY_Page_Down))
		return FALSE;
	ravscope_heap_view_scroll_lanes(self, key == GDK_KEY_Page_Down ? 1 : -1);
	return TRUE;
}

/* The pointer is over the scroll bar: where it is along the track. */
static gboolean bar_hit(RavscopeHeapView *self, double x, double y, double *thumb_y, double *thumb_h)
{
	double bx, by, bh;
	return lanes_scroll(self) && ravscope_heap_scroll_bar(self->layout, &self->vp, &bx, &by, &bh, thumb_y, thumb_h) &&
	       x >= bx && x < self->vp.x0 + self->vp.width && y >= self->vp.y0 && y < self->vp.y0 + self->vp.height;
}

static gboolean on_scroll(GtkEventControllerScroll *c, double dx, double dy, RavscopeHeapView *self)
{
	if (lanes_scroll(self) && self->pointer_inside && dx == 0 &&
	    (self->pointer_x < self->vp.x0 || self->pointer_x >= self->vp.x0 + self->vp.width - RAVSCOPE_SCROLL_BAR_W)) {
		/* Over the lane names or the scroll bar: scroll, as a list does. */
		scroll_to(self, self->vp.oy + dy * 60 / MAX(self->vp.scale, 1e-6));
		return TRUE;
	}
	/* The scroll event has no position of its own: zoom around the
	 * pointer as last seen by the motion controller. */
	GdkModifierType mods = gtk_event_controller_get_current_event_state(GTK_EVENT_CONTROLLER(c));
	if (dx != 0 || (mods & GDK_SHIFT_MASK)) {
		/* Sideways scrolling (or Shift) pans instead of zooming. */
		double step = 40 / MAX(self->vp.scale, 1e-3);
		self->vp.ox += (dx != 0 ? dx : dy) * step;
		if (dx != 0)
			self->vp.oy += dy * step;
		self->target_ox = self->vp.ox;
		self->target_oy = self->vp.oy;
		self->fitted = FALSE;
		self->framed_n = 0;
		gtk_widget_queue_draw(GTK_WIDGET(self));
		return TRUE;
	}
	double x = self->pointer_x, y = self->pointer_y;
	if (!self->pointer_inside) {
		x = self->vp.x0 + self->vp.width / 2;
		y = self->vp.y0 + self->vp.height / 2;
	}
	zoom_at(self, pow(1.25, -dy), x, y);
	return TRUE;
}

static void on_drag_begin(GtkGestureDrag *g, double x, double y, RavscopeHeapView *self)
{
	double ty, th;
	self->bar_drag = bar_hit(self, x, y, &ty, &th);
	if (self->bar_drag && (y < ty || y >= ty + th)) /* on the track: a page up or down */
		scroll_to(self, self->vp.oy + (y < ty ? -1 : 1) * page_height_world(self));
	self->drag_ox = self->vp.ox;
	self->drag_oy = self->vp.oy;
	self->dragged = FALSE;
}

static void on_drag_update(GtkGestureDrag *g, double dx, double dy, RavscopeHeapView *self)
{
	if (self->bar_drag) {
		double bx, by, bh, ty, th;
		self->dragged = TRUE;
		if (!ravscope_heap_scroll_bar(self->layout, &self->vp, &bx, &by, &bh, &ty, &th) || bh <= th)
			return;
		double room = self->layout->world_h - self->vp.height / MAX(self->vp.scale, 1e-6);
		scroll_to(self, self->drag_oy + dy * room / (bh - th));
		return;
	}
	if (!self->dragged && fabs(dx) + fabs(dy) < 4)
		return;
	self->dragged = TRUE;
	if (self->zoom_tick) {
		gtk_widget_remove_tick_callback(GTK_WIDGET(self), self->zoom_tick);
		self->zoom_tick = 0;
		self->target_scale = self->vp.scale;
	}
	self->vp.ox = self->drag_ox - dx / self->vp.scale;
	self->vp.oy = self->drag_oy - dy / self->vp.scale;
	self->fitted = FALSE;
	self->framed_n = 0;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_pinch_begin(GtkGesture *g, GdkEventSequence *seq, RavscopeHeapView *self)
{
	self->pinch_scale = self->vp.scale;
}

static void on_pinch(GtkGestureZoom *g, double delta, RavscopeHeapView *self)
{
	double cx, cy;
	if (!gtk_gesture_get_bounding_box_center(GTK_GESTURE(g), &cx, &cy))
		return;
	double target = self->pinch_scale * delta;
	zoom_at(self, target / MAX(self->zoom_tick ? self->target_scale : self->vp.scale, 1e-6), cx, cy);
}

static void on_click_released(GtkGestureClick *g, int n, double x, double y, RavscopeHeapView *self)
{
	double ty, th;
	if (self->dragged || bar_hit(self, x, y, &ty, &th))
		return;
	gtk_widget_grab_focus(GTK_WIDGET(self));
	rav_loc hit = ravscope_heap_hit(self->layout, &self->vp, x, y);
	if (n == 2 && hit != RAV_LOC_NONE) {
		ravscope_heap_view_focus_cell(self, hit);
		return;
	}
	ravscope_heap_view_set_selected(self, hit);
}

static void on_motion(GtkEventControllerMotion *c, double x, double y, RavscopeHeapView *self)
{
	self->pointer_x = x;
	self->pointer_y = y;
	self->pointer_inside = TRUE;
	rav_loc hit = ravscope_heap_hit(self->layout, &self->vp, x, y);
	if (hit != self->hover) {
		self->hover = hit;
		gtk_widget_queue_draw(GTK_WIDGET(self));
	}
}

static void on_leave(GtkEventControllerMotion *c, RavscopeHeapView *self)
{
	self->pointer_inside = FALSE;
	if (self->hover) {
		self->hover = RAV_LOC_NONE;
		gtk_widget_queue_draw(GTK_WIDGET(self));
	}
}

/* Room a cell tooltip takes under the pointer (a few lines of text). */
#define TOOLTIP_ROOM 160.0

static gboolean on_query_tooltip(GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer user)
{
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(widget);
	if (!self->doc || !self->layout)
		return FALSE;
	if (x < self->vp.x0) {
		/* A lane's name: all of it and its detail (one-line lanes
		 * shorten both). */
		for (guint i = 0; i < self->layout->lanes->len; i++) {
			const RavscopeLane *lane = &g_array_index(self->layout->lanes, RavscopeLane, i);
			double top = self->vp.y0 + (lane->y - self->vp.oy) * self->vp.scale;
			if (y >= top && y < top + lane->h * self->vp.scale) {
				g_autofree char *t = g_markup_printf_escaped("<b>%s</b>\n%s", lane->label, lane->detail);
				gtk_tooltip_set_markup(tooltip, t);
				return TRUE;
			}
		}
		return FALSE;
	}
	rav_loc hit = ravscope_heap_hit(self->layout, &self->vp, x, y);
	if (hit == RAV_LOC_NONE)
		return FALSE;
	/* A lesson step's caption is what the class reads: no cell tooltip
	 * over it, nor from a pointer resting close above it (the tooltip
	 * opens under the pointer, over the caption). */
	double cap[4];
	RavscopeViewport vp = self->vp;
	vp.spotlight = self->spotlight; /* self->vp's is the last drawn one's, maybe freed since */
	if (ravscope_heap_spotlight_caption(self->layout, &vp, cap) && x >= cap[0] && x < cap[0] + cap[2] &&
	    y >= cap[1] - TOOLTIP_ROOM && y < cap[1] + cap[3])
		return FALSE;
	rav_state_cell c;
	if (!rav_state_cell_at(ravscope_document_get_state(self->doc), rav_loc_page(hit), rav_loc_cell(hit), &c))
		return FALSE;
	g_autofree char *loc = ravscope_format_loc(hit);
	GString *s = g_string_new(NULL);
	g_autofree char *tname = g_markup_escape_text(ravscope_document_type_name(self->doc, c.type), -1);
	g_string_append_printf(s, "<b>%s</b>  %s", loc, tname);
	if (c.state == RAV_CELL_LIVE && c.type != RAVSCOPE_TYPE_HEADER) {
		for (int f = 0; f < 2; f++) {
			if (c.type == RAVSCOPE_TYPE_REF && f == 1)
				break;
			if (ravscope_document_type_field_is_ref(self->doc, c.type, f)) {
				g_autofree char *t = ravscope_format_loc(c.field_target[f] ? c.field_target[f] : c.word[1 + f]);
				g_autofree char *fe = g_markup_escape_text(ravscope_document_field_name(self->doc, c.type, f), -1);
				g_string_append_printf(s, "\n%s → %s", fe, t);
			} else {
				g_autofree char *fe = g_markup_escape_text(ravscope_document_field_name(self->doc, c.type, f), -1);
				g_string_append_printf(s, "\n%s = %" G_GUINT64_FORMAT, fe, (guint64)c.word[1 + f]);
			}
		}
	}
	g_string_append(s, "\n<small>click to inspect · double-click to zoom onto its page</small>");
	gtk_tooltip_set_markup(tooltip, s->str);
	g_string_free(s, TRUE);
	return TRUE;
}


void ravscope__heap_view_init_input(RavscopeHeapView *self)
{
	GtkWidget *w = GTK_WIDGET(self);
	GtkEventController *scroll = gtk_event_controller_scroll_new(GTK_EVENT_CONTROLLER_SCROLL_BOTH_AXES);
	g_signal_connect(scroll, "scroll", G_CALLBACK(on_scroll), self);
	gtk_widget_add_controller(w, scroll);

	GtkGesture *drag = gtk_gesture_drag_new();
	g_signal_connect(drag, "drag-begin", G_CALLBACK(on_drag_begin), self);
	g_signal_connect(drag, "drag-update", G_CALLBACK(on_drag_update), self);
	gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(drag));

	GtkEventController *keys = gtk_event_controller_key_new();
	g_signal_connect(keys, "key-pressed", G_CALLBACK(on_key), self);
	gtk_widget_add_controller(w, keys);

	GtkGesture *click = gtk_gesture_click_new();
	g_signal_connect(click, "released", G_CALLBACK(on_click_released), self);
	gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(click));

	GtkGesture *pinch = gtk_gesture_zoom_new();
	g_signal_connect(pinch, "begin", G_CALLBACK(on_pinch_begin), self);
	g_signal_connect(pinch, "scale-changed", G_CALLBACK(on_pinch), self);
	gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(pinch));

	GtkEventController *motion = gtk_event_controller_motion_new();
	g_signal_connect(motion, "motion", G_CALLBACK(on_motion), self);
	g_signal_connect(motion, "leave", G_CALLBACK(on_leave), self);
	gtk_widget_add_controller(w, motion);

	gtk_widget_set_has_tooltip(w, TRUE);
	g_signal_connect(w, "query-tooltip", G_CALLBACK(on_query_tooltip), NULL);
}
