/* ravscope-heap-view-private.h - the heap view's state, shared by
 * ravscope-heap-view.c (the widget: layout, drawing, animation, selection)
 * and ravscope-heap-view-input.c (zoom, pan, scrolling lanes, clicks,
 * tooltips). */
#pragma once

#include "ravscope-heap-view.h"
#include "ravscope-heapdraw.h"

G_BEGIN_DECLS

#define MAX_SCALE 200.0

struct _RavscopeHeapView {
	GtkWidget parent_instance;
	RavscopeDocument *doc;
	gulong position_handler;
	RavscopeHeapLayout *layout;
	const RavscopeHeapLayout *keep_hint; /* the layout being replaced, during a rebuild */
	gboolean layout_dirty;
	unsigned page_cols;
	double layout_aspect;
	double min_lane_h;
	RavscopeHeapPainter *painter;
	RavscopeViewport vp;
	gboolean fitted;     /* still showing "fit": refit on resize */
	gboolean present_close; /* presentation mode's close-up view, shown by the last zoom_fit */
	/* smooth zoom */
	double target_scale, target_ox, target_oy;
	gboolean anchored;
	double anchor_wx, anchor_wy, anchor_sx, anchor_sy;
	guint zoom_tick;
	/* pan / pinch */
	double drag_ox, drag_oy, pinch_scale;
	gboolean dragged;
	gboolean bar_drag; /* dragging the scroll bar of lanes that scroll */
	double pointer_x, pointer_y;
	gboolean pointer_inside;
	/* selection */
	rav_loc selected, hover;
	rav_loc pending_focus; /* focus asked before the view had a size: done at its first draw */
	rav_loc pending_also[RAVSCOPE_FOCUS_CELLS_MAX - 1]; /* ... with the other cells whose pages it shows */
	guint pending_n;       /* 1 + how many of pending_also (ravscope_heap_view_focus_cells) */
	/* What the view was last asked to frame, kept while nobody moves it
	 * (zoom, pan, the camera following): a new size or presentation mode
	 * frames the same again, as `fitted` keeps a fit.  fit_whole: the
	 * last fit was zoom_whole (a lesson's "zoom = fit"); framed: the cells
	 * of the last focus_cells (0: none). */
	gboolean fit_whole;
	rav_loc framed[RAVSCOPE_FOCUS_CELLS_MAX];
	guint framed_n;
	int alloc_w, alloc_h; /* the last size allocated */
	guint pending_fit;     /* the same for a fit: 1 zoom_fit, 2 zoom_whole */
	rav_loc last_touched; /* the cell the last applied step is about (its headline event's) */
	/* The camera while playing zoomed in: it glides to where things happen
	 * only when they stayed out of view for a while, not on every step. */
	gboolean playing;
	gint64 last_glide_us;
	guint offscreen_steps;
	gboolean follow;
	/* animation */
	GArray *anims;
	gint64 anim_start;
	guint anim_duration_ms;
	guint anim_tick;
	rav_contention *contention;
	unsigned line_size;
	guint64 contention_from, contention_to;
	const rav_site_cells *highlight; /* borrowed (the window owns it) */
	char *highlight_label;
	gboolean large_text, legend, animate;
	gboolean show_empty_threads; /* a lane for every thread heap (no folded lane) */
	RavscopeSpotlight *spotlight;
	guint64 spotlight_position; /* the playhead it is about: moving away removes it */
};

/* ravscope-heap-view.c */
void ravscope__heap_view_ensure_layout(RavscopeHeapView *self);
/* ravscope-heap-view-input.c */
void ravscope__heap_view_init_input(RavscopeHeapView *self);
void ravscope__heap_view_start_zoom(RavscopeHeapView *self);

G_END_DECLS
