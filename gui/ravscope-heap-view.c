/* ravscope-heap-view.c - GtkWidget that shows the heap at the playhead.
 *
 * Drawing is ravscope_heap_draw() (shared with the headless renderer) into
 * a cairo node.  The widget owns the interaction (in
 * ravscope-heap-view-input.c: smooth zoom around the pointer, drag to pan,
 * scrolling through lanes, click to select, hover tooltips) and, here, the
 * layout, the selection and following it, and the short animation of
 * events the playhead just applied.  The layout is rebuilt lazily after the
 * playhead moves; the previous layout is kept until then so animations
 * know where pages came from.
 */
#include "ravscope-heap-view-private.h"

#include <adwaita.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <string.h>


G_DEFINE_FINAL_TYPE(RavscopeHeapView, ravscope_heap_view, GTK_TYPE_WIDGET)

enum { SIGNAL_CELL_SELECTED, N_SIGNALS };
static guint signals[N_SIGNALS];
enum { PROP_0, PROP_FOLLOW, N_PROPS };
static GParamSpec *props[N_PROPS];

static double gutter_width(RavscopeHeapView *self)
{
	return self->large_text ? 220 : 170;
}

/* The heap area's height: the widget's, less the legend strip under it. */
static double heap_height(RavscopeHeapView *self, int h)
{
	RavscopeViewport v = { .legend = self->legend, .large_text = self->large_text };
	return MAX(1, h - ravscope_heap_legend_height(&v));
}

static gboolean is_dark(void)
{
	return adw_style_manager_get_dark(adw_style_manager_get_default());
}

void ravscope__heap_view_ensure_layout(RavscopeHeapView *self)
{
	if (!self->doc)
		return;
	int w = gtk_widget_get_width(GTK_WIDGET(self));
	double h = heap_height(self, gtk_widget_get_height(GTK_WIDGET(self)));
	double aspect = (w - gutter_width(self)) / MAX(h, 1.0);
	if (self->layout && !self->layout_dirty && fabs(aspect - self->layout_aspect) < 0.01)
		return;
	/* A layout being replaced after a step (keep_hint) keeps the zoom. */
	if (self->layout)
		self->layout->show_empty = self->show_empty_threads; /* a build with keep takes it */
	const RavscopeHeapLayout *keep = self->layout ? self->layout : self->keep_hint;
	gboolean refit = (!keep || self->fitted) && w > 0 && h > 0;
	/* Pages per row and the lanes' minimum height only change on a fit
	 * (or when the view's shape changes while fitted), so lanes keep
	 * their geometry while a trace plays. */
	RavscopeHeapLayout *L;
	if (refit) {
		if (fabs(aspect - self->layout_aspect) >= 0.01)
			self->page_cols = 0;
		RavscopeViewport v = self->vp;
		v.gutter = gutter_width(self);
		v.x0 = v.gutter;
		v.y0 = 0;
		v.width = w - v.gutter;
		v.height = h;
		L = ravscope_heap_layout_build_fit(self->doc, keep, self->page_cols, &v, self->large_text ? 52 : 40);
		if (L->show_empty != self->show_empty_threads) {
			/* No layout to take it from (a new document). */
			L->show_empty = self->show_empty_threads;
			RavscopeHeapLayout *again = ravscope_heap_layout_build_fit(self->doc, L, self->page_cols, &v,
										   self->large_text ? 52 : 40);
			ravscope_heap_layout_free(L);
			L = again;
		}
		self->min_lane_h = ravscope_heap_layout_refit_min_h(L, v.scale, self->large_text ? 52 : 40);
		/* Lanes that scroll keep the place scrolled to across refits. */
		if (L->scrolls && keep && keep->scrolls && v.scale == self->vp.scale)
			v.oy = ravscope_heap_layout_clamp_oy(L, self->vp.oy, v.height, v.scale);
		self->vp = v;
		self->target_scale = v.scale;
		self->target_ox = v.ox;
		self->target_oy = v.oy;
		self->fitted = TRUE;
	} else {
		L = ravscope_heap_layout_build(self->doc, keep, self->page_cols, MAX(aspect, 0.1), self->min_lane_h);
		if (L->show_empty != self->show_empty_threads) {
			L->show_empty = self->show_empty_threads;
			RavscopeHeapLayout *again = ravscope_heap_layout_build(self->doc, L, self->page_cols, MAX(aspect, 0.1),
									       self->min_lane_h);
			ravscope_heap_layout_free(L);
			L = again;
		}
		ravscope_heap_layout_keep_fit(L, keep, h);
	}
	ravscope_heap_layout_free(self->layout);
	self->layout = L;
	self->page_cols = L->page_cols;
	self->layout_aspect = aspect;
	self->layout_dirty = FALSE;
}

static void update_viewport(RavscopeHeapView *self, int w, int h)
{
	self->vp.gutter = gutter_width(self);
	self->vp.x0 = self->vp.gutter;
	self->vp.y0 = 0;
	self->vp.width = MAX(1, w - self->vp.gutter);
	self->vp.height = heap_height(self, h);
	self->vp.dark = is_dark();
	self->vp.large_text = self->large_text;
	self->vp.legend = self->legend;
	self->vp.selected = self->selected;
	self->vp.hover = self->hover;
	self->vp.contention = self->contention;
	self->vp.line_size = self->line_size;
	self->vp.contention_from = self->contention_from;
	self->vp.contention_to = self->contention_to;
	self->vp.highlight = self->highlight;
	self->vp.highlight_label = self->highlight_label;
	self->vp.anims = self->anims->len ? (const RavscopeAnim *)self->anims->data : NULL;
	self->vp.n_anims = self->anims->len;
	self->vp.spotlight = self->spotlight;
	if (self->vp.dark) {
		self->vp.accent[0] = 0x78 / 255.0; self->vp.accent[1] = 0xae / 255.0; self->vp.accent[2] = 0xed / 255.0;
	} else {
		self->vp.accent[0] = 0x1c / 255.0; self->vp.accent[1] = 0x71 / 255.0; self->vp.accent[2] = 0xd8 / 255.0;
	}
}

void ravscope_heap_view_draw_to(RavscopeHeapView *self, cairo_t *cr, int w, int h)
{
	double bg[3];
	ravscope_heap_background(is_dark(), bg);
	if (!self->doc) {
		cairo_set_source_rgb(cr, bg[0], bg[1], bg[2]);
		cairo_paint(cr);
		return;
	}
	ravscope__heap_view_ensure_layout(self);
	update_viewport(self, w, h);
	if (self->pending_focus != RAV_LOC_NONE && gtk_widget_get_width(GTK_WIDGET(self)) > 0) {
		rav_loc cells[RAVSCOPE_FOCUS_CELLS_MAX] = { self->pending_focus };
		memcpy(cells + 1, self->pending_also, sizeof self->pending_also);
		ravscope_heap_view_focus_cells(self, cells, self->pending_n);
	}
	if (self->pending_fit && gtk_widget_get_width(GTK_WIDGET(self)) > 0 &&
	    gtk_widget_get_height(GTK_WIDGET(self)) > 0) {
		if (self->pending_fit == 2)
			ravscope_heap_view_zoom_whole(self);
		else
			ravscope_heap_view_zoom_fit(self);
	}
	if (self->anim_duration_ms && self->anims->len) {
		gint64 now = g_get_monotonic_time();
		self->vp.anim_t = CLAMP((now - self->anim_start) / (self->anim_duration_ms * 1000.0), 0, 1);
	} else {
		self->vp.anim_t = 1;
	}
	ravscope_heap_draw(cr, self->painter, self->doc, self->layout, &self->vp);
	if (!ravscope_document_is_indexed(self->doc) && self->layout->pages->len == 0) {
		/* A big trace: say what is going on while the heap is still empty. */
		PangoLayout *pl = gtk_widget_create_pango_layout(GTK_WIDGET(self), NULL);
		g_autofree char *msg = g_strdup_printf("Reading the trace: %.0f%%\nScrub the timeline, or press Space, to replay the part already read",
						       100 * ravscope_document_get_index_progress(self->doc));
		pango_layout_set_text(pl, msg, -1);
		pango_layout_set_alignment(pl, PANGO_ALIGN_CENTER);
		int tw, th;
		pango_layout_get_pixel_size(pl, &tw, &th);
		double ink = is_dark() ? 0.85 : 0.3;
		cairo_set_source_rgb(cr, ink, ink, ink);
		cairo_move_to(cr, self->vp.x0 + (self->vp.width - tw) / 2, self->vp.y0 + (self->vp.height - th) / 2);
		pango_cairo_show_layout(cr, pl);
		g_object_unref(pl);
	}
}

static void ravscope_heap_view_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(widget);
	int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
	if (w <= 0 || h <= 0)
		return;
	cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, w, h));
	ravscope_heap_view_draw_to(self, cr, w, h);
	cairo_destroy(cr);
}

/* Frame the framed cells again at the next draw (the view's size is
 * known by then). */
static void reframe(RavscopeHeapView *self)
{
	self->pending_focus = self->framed[0];
	for (guint i = 0; i + 1 < RAVSCOPE_FOCUS_CELLS_MAX; i++)
		self->pending_also[i] = i + 1 < self->framed_n ? self->framed[i + 1] : RAV_LOC_NONE;
	self->pending_n = self->framed_n;
	self->pending_fit = 0;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void ravscope_heap_view_size_allocate(GtkWidget *widget, int w, int h, int baseline)
{
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(widget);
	gboolean resized = w != self->alloc_w || h != self->alloc_h;
	self->alloc_w = w;
	self->alloc_h = h;
	if (self->fitted)
		self->layout_dirty = TRUE;
	else if (self->framed_n && resized)
		reframe(self);
}

static void ravscope_heap_view_measure(GtkWidget *widget, GtkOrientation o, int for_size, int *min, int *nat,
				       int *min_baseline, int *nat_baseline)
{
	*min = o == GTK_ORIENTATION_HORIZONTAL ? 320 : 200;
	*nat = o == GTK_ORIENTATION_HORIZONTAL ? 900 : 560;
}

/* ---- selection and following ---------------------------------------------- */

rav_loc ravscope_heap_view_get_selected(RavscopeHeapView *self)
{
	return self->selected;
}

void ravscope_heap_view_set_selected(RavscopeHeapView *self, rav_loc cell)
{
	cell = cell ? rav_loc_make(rav_loc_page(cell), rav_loc_cell(cell), 0) : RAV_LOC_NONE;
	if (cell == self->selected)
		return;
	self->selected = cell;
	gtk_widget_queue_draw(GTK_WIDGET(self));
	g_signal_emit(self, signals[SIGNAL_CELL_SELECTED], 0, (guint64)cell);
}

void ravscope_heap_view_set_follow(RavscopeHeapView *self, gboolean follow)
{
	if (self->follow == follow)
		return;
	self->follow = follow;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_FOLLOW]);
}

gboolean ravscope_heap_view_get_follow(RavscopeHeapView *self)
{
	return self->follow;
}

static void on_position_changed(RavscopeDocument *doc, guint64 position, gboolean stepped, RavscopeHeapView *self)
{
	self->layout_dirty = TRUE;
	if (self->spotlight && position != self->spotlight_position)
		g_clear_pointer(&self->spotlight, ravscope_spotlight_free);
	if (!stepped) {
		ravscope_heap_painter_invalidate(self->painter);
		g_array_set_size(self->anims, 0);
	}
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

/* Where the raviolo that was at `cell` before `from` is just before `to`,
 * through its recorded history (moves); NONE if it was freed. */
static rav_loc follow_through_history(RavscopeDocument *doc, rav_loc cell, guint64 from, guint64 to)
{
	if (to <= from)
		return cell;
	enum { MAXH = 4096 };
	rav_cell_event *h = g_new(rav_cell_event, MAXH);
	unsigned total = 0;
	unsigned n = rav_trace_cell_history(ravscope_document_get_trace(doc), cell, from, h, MAXH, &total);
	rav_loc where = cell;
	for (unsigned i = 0; i < n; i++) {
		if (h[i].event < from)
			continue;
		if (h[i].event >= to)
			break;
		if (h[i].kind == RAV_EV_FREE) {
			where = RAV_LOC_NONE;
			break;
		}
		if (h[i].where)
			where = rav_loc_make(rav_loc_page(h[i].where), rav_loc_cell(h[i].where), 0);
	}
	g_free(h);
	return where;
}

void ravscope_heap_view_follow_seek(RavscopeHeapView *self, guint64 from, guint64 to)
{
	if (!self->follow || !self->selected || !self->doc || to <= from)
		return;
	rav_loc now = follow_through_history(self->doc, self->selected, from, to);
	if (now != RAV_LOC_NONE)
		ravscope_heap_view_set_selected(self, now);
}

/* ---- animation ------------------------------------------------------------- */

static gboolean anim_tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user)
{
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(widget);
	gtk_widget_queue_draw(widget);
	gint64 now = g_get_monotonic_time();
	if (now - self->anim_start >= (gint64)self->anim_duration_ms * 1000) {
		g_array_set_size(self->anims, 0);
		self->anim_tick = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* The cell a batch of applied events is about, for the camera: the cell of
 * the last headline event (one a step stops after: a move's destination,
 * an allocation, a free, a store), not of the fix-ups that follow a move,
 * which may be on other pages. */
static rav_loc headline_cell(const rav_event *events, guint n)
{
	guint64 stops = ravscope_step_stop_kinds();
	rav_loc found = RAV_LOC_NONE;
	gboolean in_move = FALSE;
	for (guint i = 0; i < n; i++) {
		const rav_event *e = &events[i];
		if (in_move && (e->kind == RAV_EV_FIXUP || e->kind == RAV_EV_LINK || e->kind == RAV_EV_TIME))
			continue;
		in_move = FALSE;
		if (e->kind >= 64 || !(stops >> e->kind & 1))
			continue;
		rav_loc l;
		switch (e->kind) {
		case RAV_EV_MOVE:
			l = e->b;
			in_move = TRUE;
			break;
		case RAV_EV_ALLOC: case RAV_EV_FREE: case RAV_EV_TRIM: case RAV_EV_REF_STORE: case RAV_EV_REF_CLEAR:
		case RAV_EV_FIXUP:
			l = e->a;
			break;
		default:
			continue;
		}
		if (l && !(l & RAV_LOC_EXTERNAL))
			found = rav_loc_make(rav_loc_page(l), rav_loc_cell(l), 0);
	}
	return found;
}

/* Zoomed in, the step happened out of view: glide over to it, so a class
 * watching one page does not lose the action.  While playing, only when
 * the action stayed out of view for a few steps and not more than once
 * every CAMERA_HOLD_US, so two busy pages do not make the view jump back
 * and forth several times a second. */
#define CAMERA_HOLD_US (1500 * 1000)
#define CAMERA_PATIENCE 3 /* steps out of view before gliding while playing */

static void follow_action(RavscopeHeapView *self)
{
	double wx, wy;
	if (!self->last_touched || !self->layout ||
	    !ravscope_heap_layout_cell_pos(self->layout, self->last_touched, &wx, &wy))
		return;
	double s = self->target_scale, vw = self->vp.width / s, vh = self->vp.height / s;
	double ox = self->zoom_tick ? self->target_ox : self->vp.ox, oy = self->zoom_tick ? self->target_oy : self->vp.oy;
	if (wx >= ox && wx + 1 <= ox + vw && wy >= oy && wy + 1 <= oy + vh) {
		self->offscreen_steps = 0;
		return;
	}
	gint64 now = g_get_monotonic_time();
	if (self->playing && (++self->offscreen_steps < CAMERA_PATIENCE || now - self->last_glide_us < CAMERA_HOLD_US))
		return;
	self->offscreen_steps = 0;
	self->last_glide_us = now;
	self->framed_n = 0;
	self->target_ox = wx + 0.5 - vw / 2;
	self->target_oy = wy + 0.5 - vh / 2;
	self->anchored = FALSE;
	ravscope__heap_view_start_zoom(self);
}

void ravscope_heap_view_get_target_view(RavscopeHeapView *self, double *scale, double *ox, double *oy)
{
	*scale = self->zoom_tick ? self->target_scale : self->vp.scale;
	*ox = self->zoom_tick ? self->target_ox : self->vp.ox;
	*oy = self->zoom_tick ? self->target_oy : self->vp.oy;
}

gboolean ravscope_heap_view_is_gliding(RavscopeHeapView *self)
{
	return self->zoom_tick != 0;
}

gboolean ravscope_heap_view_page_in_view(RavscopeHeapView *self, guint32 page)
{
	double scale, ox, oy;
	ravscope__heap_view_ensure_layout(self);
	const RavscopeLayoutPage *lp = self->layout ? ravscope_heap_layout_find(self->layout, page) : NULL;
	if (!lp)
		return FALSE;
	ravscope_heap_view_get_target_view(self, &scale, &ox, &oy);
	return lp->x >= ox && lp->x + lp->w <= ox + self->vp.width / scale && lp->y >= oy &&
	       lp->y + lp->h <= oy + self->vp.height / scale;
}

guint ravscope_heap_view_pages_cut(RavscopeHeapView *self)
{
	double scale, ox, oy;
	ravscope__heap_view_ensure_layout(self);
	if (!self->layout)
		return 0;
	ravscope_heap_view_get_target_view(self, &scale, &ox, &oy);
	double vx1 = ox + self->vp.width / scale, vy1 = oy + self->vp.height / scale;
	guint cut = 0;
	for (guint i = 0; i < self->layout->pages->len; i++) {
		const RavscopeLayoutPage *lp = &g_array_index(self->layout->pages, RavscopeLayoutPage, i);
		if (lp->kind == RAV_SPAGE_POOL)
			continue;
		gboolean seen = lp->x < vx1 && lp->x + lp->w > ox && lp->y < vy1 && lp->y + lp->h > oy;
		gboolean whole = lp->x >= ox && lp->x + lp->w <= vx1 && lp->y >= oy && lp->y + lp->h <= vy1;
		cut += seen && !whole;
	}
	return cut;
}

gboolean ravscope_heap_view_cell_in_view(RavscopeHeapView *self, rav_loc cell)
{
	double wx, wy, scale, ox, oy;
	ravscope__heap_view_ensure_layout(self);
	if (!self->layout || !ravscope_heap_layout_cell_pos(self->layout, cell, &wx, &wy))
		return FALSE;
	ravscope_heap_view_get_target_view(self, &scale, &ox, &oy);
	return wx >= ox && wx + 1 <= ox + self->vp.width / scale && wy >= oy && wy + 1 <= oy + self->vp.height / scale;
}

void ravscope_heap_view_animate(RavscopeHeapView *self, const rav_event *events, guint n, guint duration_ms)
{
	if (!self->doc)
		return;
	/* Follow the selected raviolo through moves. */
	for (guint i = 0; i < n && self->follow && self->selected; i++) {
		const rav_event *e = &events[i];
		if (e->kind == RAV_EV_MOVE && rav_loc_make(rav_loc_page(e->a), rav_loc_cell(e->a), 0) == self->selected)
			ravscope_heap_view_set_selected(self, rav_loc_make(rav_loc_page(e->b), rav_loc_cell(e->b), 0));
	}
	ravscope_heap_painter_note_events(self->painter, events, n);
	rav_loc touched = headline_cell(events, n);
	if (touched)
		self->last_touched = touched;
	if (self->layout && !ravscope_events_change_layout(events, n) && !(duration_ms > 0 && self->animate)) {
		/* Cells changed, pages stayed: keep the layout (playing fast). */
		ravscope_heap_layout_refresh(self->layout, self->doc);
		self->layout_dirty = FALSE;
		g_array_set_size(self->anims, 0);
		self->anim_duration_ms = 0;
		gtk_widget_queue_draw(GTK_WIDGET(self));
		return;
	}
	RavscopeHeapLayout *old = self->layout;
	self->layout = NULL;
	self->keep_hint = old;
	self->layout_dirty = TRUE;
	gboolean was_fitted = self->fitted;
	self->fitted = FALSE; /* keep the view where it is while the trace plays */
	ravscope__heap_view_ensure_layout(self);
	self->fitted = was_fitted;
	self->keep_hint = NULL;
	if (!was_fitted && duration_ms > 0)
		follow_action(self);
	/* Showing the whole heap and the heap outgrew the view: zoom out
	 * smoothly so it stays whole (lanes that scroll: as wide as the view). */
	if (was_fitted && self->layout &&
	    (self->layout->world_w * self->target_scale > self->vp.width + 1 ||
	     (!self->layout->scrolls && self->layout->world_h * self->target_scale > self->vp.height + 1)))
		ravscope_heap_view_zoom_fit(self);
	g_array_set_size(self->anims, 0);
	if (duration_ms > 0 && self->animate && n > 0)
		ravscope_anims_build(self->anims, self->doc, old, self->layout, events, n);
	ravscope_heap_layout_free(old);
	self->anim_duration_ms = self->anims->len ? duration_ms : 0;
	self->anim_start = g_get_monotonic_time();
	if (self->anims->len && !self->anim_tick)
		self->anim_tick = gtk_widget_add_tick_callback(GTK_WIDGET(self), anim_tick_cb, NULL, NULL);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

/* ---- export ------------------------------------------------------------------ */

void ravscope_heap_view_get_picture_style(RavscopeHeapView *self, RavscopePictureStyle *st)
{
	memset(st, 0, sizeof *st);
	ravscope__heap_view_ensure_layout(self);
	int w = gtk_widget_get_width(GTK_WIDGET(self)), h = gtk_widget_get_height(GTK_WIDGET(self));
	update_viewport(self, w, h);
	st->width = MAX(w, 200);
	st->height = MAX(h, 150);
	st->chrome = TRUE;
	st->legend = self->legend;
	st->dark = is_dark();
	st->large_text = self->large_text;
	st->selected = self->selected;
	st->contention = self->contention;
	st->line_size = self->line_size;
	st->contention_from = self->contention_from;
	st->contention_to = self->contention_to;
	double scale, ox, oy;
	ravscope_heap_view_get_target_view(self, &scale, &ox, &oy);
	st->scale = scale;
	st->center_x = ox + self->vp.width / scale / 2;
	st->center_y = oy + self->vp.height / scale / 2;
	if (self->layout) {
		st->page_cols = self->layout->page_cols;
		st->min_lane_h = self->layout->min_lane_h;
	}
	/* The view's heap area shown whole in a picture with chrome of the
	 * same size: the same world rectangle, the scale fitted to it. */
	double aw, ah;
	ravscope_picture_heap_area(st, &aw, &ah);
	st->scale *= MIN(aw / MAX(self->vp.width, 1), ah / MAX(self->vp.height, 1));
	st->view_width = self->vp.width / scale;
	st->view_height = self->vp.height / scale;
}

/* ---- spotlight ------------------------------------------------------------- */

void ravscope_heap_view_set_spotlight(RavscopeHeapView *self, RavscopeSpotlight *spotlight)
{
	if (!self->spotlight && !spotlight)
		return;
	ravscope_spotlight_free(self->spotlight);
	self->spotlight = spotlight;
	self->spotlight_position = self->doc ? ravscope_document_get_position(self->doc) : 0;
	gtk_widget_queue_draw(GTK_WIDGET(self));
	/* A tooltip shown under a resting pointer is asked again: a caption
	 * may now be where it is (ravscope-heap-view-input.c). */
	gtk_widget_trigger_tooltip_query(GTK_WIDGET(self));
}

const RavscopeSpotlight *ravscope_heap_view_get_spotlight(RavscopeHeapView *self)
{
	return self->spotlight;
}

/* ---- setup ----------------------------------------------------------------- */

void ravscope_heap_view_set_playing(RavscopeHeapView *self, gboolean playing)
{
	self->playing = playing;
	self->offscreen_steps = 0;
	ravscope_heap_painter_set_playing(self->painter, playing);
	if (!playing)
		gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_heap_view_set_contention(RavscopeHeapView *self, rav_contention *c, unsigned line_size, guint64 from,
				       guint64 to)
{
	self->contention = c;
	self->line_size = line_size;
	self->contention_from = from;
	self->contention_to = to;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_heap_view_set_highlight(RavscopeHeapView *self, const rav_site_cells *cells, const char *label)
{
	self->highlight = cells;
	g_free(self->highlight_label);
	self->highlight_label = g_strdup(label);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_heap_view_set_style(RavscopeHeapView *self, gboolean large_text, gboolean legend, gboolean animate)
{
	gboolean entering = large_text && !self->large_text;
	self->large_text = large_text;
	self->legend = legend;
	self->animate = animate;
	self->layout_dirty = TRUE;
	if (self->framed_n && !self->fitted) {
		/* Framed cells (a lesson step's operation) stay framed in the
		 * new style: the heap area and the lanes change size with it. */
		reframe(self);
	} else if (entering && self->doc && gtk_widget_get_width(GTK_WIDGET(self)) > 0 &&
	           !(self->fitted && self->fit_whole)) {
		/* Presentation mode starts from its close-up view; the whole
		 * heap asked for (a lesson's "zoom = fit") stays whole. */
		self->present_close = FALSE;
		ravscope_heap_view_zoom_fit(self);
	}
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_heap_view_set_show_empty_threads(RavscopeHeapView *self, gboolean show)
{
	if (self->show_empty_threads == !!show)
		return;
	self->show_empty_threads = !!show;
	/* Lanes come and go: fit again, as a new shape would. */
	self->layout_dirty = TRUE;
	self->fitted = TRUE;
	self->page_cols = 0;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_heap_view_set_document(RavscopeHeapView *self, RavscopeDocument *doc)
{
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_object(&self->doc);
	}
	g_clear_pointer(&self->layout, ravscope_heap_layout_free);
	ravscope_heap_painter_invalidate(self->painter);
	g_array_set_size(self->anims, 0);
	g_clear_pointer(&self->spotlight, ravscope_spotlight_free);
	self->selected = self->hover = self->last_touched = self->pending_focus = RAV_LOC_NONE;
	self->pending_n = self->framed_n = 0; /* what was framed belongs to the old trace */
	self->pending_fit = 0;
	self->contention = NULL;
	self->highlight = NULL;
	self->page_cols = 0;
	self->fitted = TRUE;
	if (doc) {
		self->doc = g_object_ref(doc);
		self->position_handler = g_signal_connect(doc, "position-changed", G_CALLBACK(on_position_changed), self);
	}
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_dark_changed(AdwStyleManager *sm, GParamSpec *pspec, RavscopeHeapView *self)
{
	ravscope_heap_painter_invalidate(self->painter);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void ravscope_heap_view_dispose(GObject *object)
{
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(object);
	g_signal_handlers_disconnect_by_data(adw_style_manager_get_default(), self);
	ravscope_heap_view_set_document(self, NULL);
	G_OBJECT_CLASS(ravscope_heap_view_parent_class)->dispose(object);
}

static void ravscope_heap_view_finalize(GObject *object)
{
	g_free(RAVSCOPE_HEAP_VIEW(object)->highlight_label);
	RavscopeHeapView *self = RAVSCOPE_HEAP_VIEW(object);
	ravscope_heap_layout_free(self->layout);
	ravscope_heap_painter_free(self->painter);
	g_array_unref(self->anims);
	G_OBJECT_CLASS(ravscope_heap_view_parent_class)->finalize(object);
}

static void ravscope_heap_view_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_FOLLOW)
		g_value_set_boolean(v, RAVSCOPE_HEAP_VIEW(o)->follow);
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_heap_view_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	if (id == PROP_FOLLOW)
		ravscope_heap_view_set_follow(RAVSCOPE_HEAP_VIEW(o), g_value_get_boolean(v));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_heap_view_class_init(RavscopeHeapViewClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
	object_class->dispose = ravscope_heap_view_dispose;
	object_class->finalize = ravscope_heap_view_finalize;
	object_class->get_property = ravscope_heap_view_get_property;
	object_class->set_property = ravscope_heap_view_set_property;
	/* follow: keep the selection on its raviolo when compaction moves it */
	props[PROP_FOLLOW] = g_param_spec_boolean("follow", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(object_class, N_PROPS, props);
	widget_class->snapshot = ravscope_heap_view_snapshot;
	widget_class->measure = ravscope_heap_view_measure;
	widget_class->size_allocate = ravscope_heap_view_size_allocate;
	/* cell-selected (guint64 rav_loc, 0 = none) */
	signals[SIGNAL_CELL_SELECTED] = g_signal_new("cell-selected", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
		0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT64);
	gtk_widget_class_set_css_name(widget_class, "heapview");
	gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void ravscope_heap_view_init(RavscopeHeapView *self)
{
	GtkWidget *w = GTK_WIDGET(self);
	self->painter = ravscope_heap_painter_new();
	self->anims = g_array_new(FALSE, TRUE, sizeof(RavscopeAnim));
	self->legend = TRUE;
	self->animate = TRUE;
	self->fitted = TRUE;
	self->pending_focus = RAV_LOC_NONE;
	self->vp.scale = 1;
	self->target_scale = 1;
	gtk_widget_set_focusable(w, TRUE);
	gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
				       "Heap: one lane of pages per thread, each page a grid of cells", -1);
	gtk_widget_set_hexpand(w, TRUE);
	gtk_widget_set_vexpand(w, TRUE);
	gtk_widget_set_overflow(w, GTK_OVERFLOW_HIDDEN);

	ravscope__heap_view_init_input(self);
	g_signal_connect(adw_style_manager_get_default(), "notify::dark", G_CALLBACK(on_dark_changed), self);
}

GtkWidget *ravscope_heap_view_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_HEAP_VIEW, NULL);
}
