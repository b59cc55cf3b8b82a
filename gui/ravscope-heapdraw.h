/* ravscope-heapdraw.h - layout and cairo drawing of the heap picture.
 *
 * One drawing path serves both the RavscopeHeapView widget (through
 * gtk_snapshot_append_cairo) and the headless `ravscope --render` / `--bench`
 * modes (a cairo image surface), so what tests measure in a PNG is exactly
 * what people see in the window.
 *
 * World coordinates are in cells: a page is a grid of cols x rows cells
 * plus a gap; lanes stack vertically (one per thread heap, then "in
 * flight" message pages, then the pool).  The viewport maps world to
 * pixels with one scale (pixels per cell).
 *
 * The implementation is one file per feature: ravscope-heap-layout.c,
 * -painter.c (one frame), -image.c (zoomed out), -cells.c (zoomed in),
 * -overlays.c, -legend.c, -anim.c and -style.c (colours, text, shapes);
 * ravscope-heapdraw-private.h says what they share.
 */
#pragma once

#include <cairo.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

typedef enum {
	RAVSCOPE_LANE_THREAD,
	RAVSCOPE_LANE_FLIGHT,
	RAVSCOPE_LANE_POOL,
	/* The thread heaps folded away: ended or not started, and holding no
	 * page at the playhead (one lane after the thread lanes; heap_id 0). */
	RAVSCOPE_LANE_FOLDED,
} RavscopeLaneKind;

typedef struct {
	RavscopeLaneKind kind;
	guint32 heap_id;
	char *label;
	char *detail;
	char *brief; /* the detail in a few words, for one-line lanes */
	double y, h; /* world units */
	gboolean alive;
	/* Where its pages can be: x 0..content_w, y content_y..+content_h
	 * (world units; room for the most pages the lane ever holds). */
	double content_y, content_w, content_h;
} RavscopeLane;

typedef struct {
	guint32 page;
	guint32 lane;
	guint32 heap_id;
	guint8 kind; /* rav_state_page_kind */
	double x, y; /* world units, top-left of the cell grid */
	double w, h; /* world units of the drawn block (pool pages are small) */
	guint32 slot; /* position in its lane (row-major) */
} RavscopeLayoutPage;

typedef struct {
	unsigned cols, rows;   /* cell grid of a page */
	unsigned page_cols;    /* pages per lane row */
	double page_w, page_h; /* pitch of pages incl. gap */
	double world_w, world_h;
	GArray *lanes;         /* RavscopeLane */
	GArray *pages;         /* RavscopeLayoutPage */
	guint32 *page_slot;    /* page index -> index in pages, G_MAXUINT32 if absent (below page_slot_len) */
	guint32 page_slot_len;
	GHashTable *page_slot_high; /* page index (from page_slot_len) -> index in pages + 1 */
	guint32 page_span;
	guint64 position;      /* playhead position it was built at */
	GHashTable *lane_of_heap; /* thread heap id -> index in lanes + 1 */
	double min_lane_h;     /* the lanes' minimum height it was built with (world units) */
	double natural_h;      /* world_h had it been built with no minimum lane height */
	/* Set by ravscope_heap_layout_build_fit when there are too many lanes
	 * for each to be label-tall in the view: lanes are then one text line
	 * tall at fit_scale (pixels per cell), and when even that is taller
	 * than the view, `scrolls`: the whole-heap view shows the top lanes
	 * and scrolls vertically instead of shrinking lanes past reading. */
	double fit_scale;      /* 0: fit the whole world (few lanes) */
	gboolean scrolls;
	/* Thread heaps that hold no page at the playhead and are not running
	 * (ended, or not started yet) have no lane of their own unless
	 * show_empty: two or more fold into one RAVSCOPE_LANE_FOLDED lane after the
	 * thread lanes, so a program that ran a thousand short threads shows
	 * the heaps that hold something first (as Tracy and Sysprof fold idle
	 * threads).  The rule depends only on the state at the playhead, so
	 * lanes change only on the events that rebuild the layout (a thread's
	 * start or end, page traffic), and the lanes shown keep the trace's
	 * order.  lane_of_heap maps a folded heap to the folded lane.  A build
	 * with `keep` takes keep's show_empty (default: fold). */
	gboolean show_empty;
	guint folded;          /* thread heaps in the folded lane */
} RavscopeHeapLayout;

/* page_cols = 0 chooses pages per row so the world's aspect ratio is close
 * to `aspect` (width / height of the heap area).  Lanes are at least
 * min_lane_h world units tall.  keep (may be NULL): an earlier layout whose
 * pages keep their places in their thread's lane, so pages do not shuffle
 * when another page of the heap is released; new pages take free places. */
RavscopeHeapLayout *ravscope_heap_layout_build(RavscopeDocument *doc, const RavscopeHeapLayout *keep, unsigned page_cols,
					       double aspect, double min_lane_h);
void ravscope_heap_layout_free(RavscopeHeapLayout *layout);
/* Events that move pages between lanes (or add lanes) need a new layout;
 * others only change cells, and ravscope_heap_layout_refresh() updates the
 * lanes' texts in place. */
gboolean ravscope_events_change_layout(const rav_event *events, guint n);
void ravscope_heap_layout_refresh(RavscopeHeapLayout *layout, RavscopeDocument *doc);
const RavscopeLayoutPage *ravscope_heap_layout_find(const RavscopeHeapLayout *layout, guint32 page);
/* A layout rebuilt with ravscope_heap_layout_build from a fitted one (same
 * page_cols and min_lane_h, as while a trace plays) keeps its fit: its
 * fit_scale, and whether it scrolls in a view `height` pixels tall. */
void ravscope_heap_layout_keep_fit(RavscopeHeapLayout *layout, const RavscopeHeapLayout *fitted, double height);
/* The lanes' minimum height to rebuild a fitted layout with, for a view
 * at `scale` after a fit that asked lanes to be label_px tall. */
double ravscope_heap_layout_refit_min_h(const RavscopeHeapLayout *fitted, double scale, double label_px);
/* The vertical origin clamped to the world (a scrolling layout). */
double ravscope_heap_layout_clamp_oy(const RavscopeHeapLayout *layout, double oy, double height, double scale);
/* World position of a cell's top-left corner; FALSE if its page is not shown. */
gboolean ravscope_heap_layout_cell_pos(const RavscopeHeapLayout *layout, rav_loc cell, double *wx, double *wy);

typedef enum {
	RAVSCOPE_ANIM_MOVE,          /* a -> b */
	RAVSCOPE_ANIM_FIXUP,         /* slot a now names c (was b) */
	RAVSCOPE_ANIM_ALLOC,         /* cell a */
	RAVSCOPE_ANIM_FREE,          /* cell a */
	RAVSCOPE_ANIM_PAGE_ACQUIRE,  /* page */
	RAVSCOPE_ANIM_PAGE_TRAVEL,   /* page slides from (from_x, from_y) to its place */
} RavscopeAnimKind;

typedef struct {
	RavscopeAnimKind kind;
	rav_loc a, b, c;
	guint16 type;
	guint32 page;
	double from_x, from_y; /* world, for PAGE_TRAVEL */
	double start, end;     /* part of the animation period this item plays in (0..1) */
} RavscopeAnim;

/* Animation items for events just applied (old: the layout before them,
 * now: after).  Appends RavscopeAnim to anims. */
void ravscope_anims_build(GArray *anims, RavscopeDocument *doc, const RavscopeHeapLayout *old,
			  const RavscopeHeapLayout *now, const rav_event *events, guint n);

/* Things pointed at on the picture (an operation's cells, what a lesson
 * step talks about): a cell, a whole page or a thread's lane, each with an
 * optional short label, and a caption sentence over the heap.  What is
 * pointed at is outlined and, with `dim`, the rest dims. */
typedef enum {
	RAVSCOPE_SPOT_CELL,
	RAVSCOPE_SPOT_PAGE,
	RAVSCOPE_SPOT_LANE,
} RavscopeSpotKind;

typedef struct {
	RavscopeSpotKind kind;
	rav_loc cell;     /* RAVSCOPE_SPOT_CELL */
	guint32 page;     /* RAVSCOPE_SPOT_PAGE */
	guint32 heap_id;  /* RAVSCOPE_SPOT_LANE */
	char *label;      /* owned; may be NULL */
} RavscopeSpot;

typedef struct {
	GArray *spots;    /* RavscopeSpot */
	char *caption;    /* owned; may be NULL */
	gboolean dim;
	/* Draw the references out of the cells pointed at (a tree's shape:
	 * header to nodes to leaves), as for a selected cell. */
	gboolean links;
} RavscopeSpotlight;

RavscopeSpotlight *ravscope_spotlight_new(void);
void ravscope_spotlight_free(RavscopeSpotlight *sp);
void ravscope_spotlight_add_cell(RavscopeSpotlight *sp, rav_loc cell, const char *label);
void ravscope_spotlight_add_page(RavscopeSpotlight *sp, guint32 page, const char *label);
void ravscope_spotlight_add_lane(RavscopeSpotlight *sp, guint32 heap_id, const char *label);
void ravscope_spotlight_set_caption(RavscopeSpotlight *sp, const char *caption);

typedef struct {
	double scale;          /* pixels per cell */
	double ox, oy;         /* world point shown at the heap area's top-left */
	double x0, y0;         /* heap area origin on the surface (pixels) */
	double width, height;  /* heap area size (pixels) */
	double gutter;         /* label column left of the heap area (pixels) */
	rav_loc selected, hover;
	/* legend: a strip of ravscope_heap_legend_height() pixels under the heap
	 * area (and its gutter), never over pages: the caller leaves it out of
	 * height. */
	gboolean dark, large_text, legend;
	const RavscopeAnim *anims;
	guint n_anims;
	double anim_t;         /* 0..1 */
	rav_contention *contention; /* overlay when not NULL */
	unsigned line_size;    /* the contention model's line size (0: 64) */
	guint64 contention_from, contention_to; /* the events it covers (equal: the whole trace) */
	/* The cells a call site allocated, highlighted when not NULL, with
	 * what they are ("cells allocated at list_push (list.c:42)"). */
	const rav_site_cells *highlight;
	const char *highlight_label;
	double accent[3];
	const RavscopeSpotlight *spotlight; /* drawn over everything when not NULL */
} RavscopeViewport;

typedef struct _RavscopeHeapPainter RavscopeHeapPainter;
RavscopeHeapPainter *ravscope_heap_painter_new(void);
void ravscope_heap_painter_free(RavscopeHeapPainter *painter);
/* Forget cached cell images (after a seek, a step, a new layout). */
void ravscope_heap_painter_invalidate(RavscopeHeapPainter *painter);
/* Only these pages changed since the last draw (incremental update of the
 * zoomed-out image). */
void ravscope_heap_painter_invalidate_pages(RavscopeHeapPainter *painter, const guint32 *pages, guint n);

/* While playing, secondary figures (legend counts) refresh at a few Hz. */
void ravscope_heap_painter_set_playing(RavscopeHeapPainter *painter, gboolean playing);
/* Mark what the applied events changed (pages, or everything when pages
 * moved between lanes). */
void ravscope_heap_painter_note_events(RavscopeHeapPainter *painter, const rav_event *events, guint n);

/* Draw background, lanes, pages, cells, links, animation, selection for the
 * viewport area (plus its gutter), and the legend strip under it. */
void ravscope_heap_draw(cairo_t *cr, RavscopeHeapPainter *painter, RavscopeDocument *doc,
			const RavscopeHeapLayout *layout, const RavscopeViewport *vp);
/* Scale and origin that show the whole world in the viewport's area (the
 * top of it at the layout's fit_scale when it has one). */
void ravscope_viewport_fit(RavscopeViewport *vp, const RavscopeHeapLayout *layout);
/* Build a layout and fit the viewport to it.  Few lanes: the whole world
 * in view, every lane about label_px pixels tall or more.  Many lanes:
 * lanes one line of text tall (label_px / 2), fitting the view if they
 * can, else the layout `scrolls` (see RavscopeHeapLayout). */
RavscopeHeapLayout *ravscope_heap_layout_build_fit(RavscopeDocument *doc, const RavscopeHeapLayout *keep,
						   unsigned page_cols, RavscopeViewport *vp, double label_px);
/* Lanes on screen in the viewport: how many (even partly), the first and
 * last of them (G_MAXUINT if none), and the smallest height in pixels
 * among them (for tests: readable lanes). */
typedef struct {
	guint shown, first, last;
	double min_px;
} RavscopeLanesShown;
void ravscope_heap_layout_lanes_shown(const RavscopeHeapLayout *layout, const RavscopeViewport *vp,
				      RavscopeLanesShown *out);
/* The scroll bar of a layout that scrolls: its track and thumb in surface
 * pixels (FALSE if the layout does not scroll). */
gboolean ravscope_heap_scroll_bar(const RavscopeHeapLayout *layout, const RavscopeViewport *vp, double *track_x,
				  double *track_y, double *track_h, double *thumb_y, double *thumb_h);
#define RAVSCOPE_SCROLL_BAR_W 14.0 /* the bar's width, from the heap area's right edge */
/* Where the arrow of a reference from a word to a cell starts (when cells
 * show their fields: beside the word's text on the edge of its cell that
 * faces the target, never across the cell's text) and the centre of its
 * target; it ends on the target's border.  FALSE if either is not laid
 * out. */
gboolean ravscope_heap_link_geometry(const RavscopeHeapLayout *layout, const RavscopeViewport *vp, rav_loc from_word,
				     rav_loc to_cell, double *x1, double *y1, double *x2, double *y2);
/* Screen point (surface pixels) -> cell under it (RAV_LOC_NONE if none). */
rav_loc ravscope_heap_hit(const RavscopeHeapLayout *layout, const RavscopeViewport *vp, double x, double y);
/* The box (x, y, w, h, surface pixels) vp->spotlight's caption is drawn
 * in over the heap area; FALSE when there is no caption. */
gboolean ravscope_heap_spotlight_caption(const RavscopeHeapLayout *layout, const RavscopeViewport *vp, double out[4]);

/* The cell image's size (for tests and --print-counts): tiles, pixels, and
 * lanes drawn flat for want of a place in it. */
void ravscope_heap_painter_image_stats(const RavscopeHeapPainter *painter, guint *tiles, guint64 *pixels,
				       guint *flat_lanes);

/* The legend strip's height for a viewport (0 without a legend). */
double ravscope_heap_legend_height(const RavscopeViewport *vp);
/* Is there anything to heat: transfers between threads in pool lines?
 * Without any, the overlay leaves the cells as they are and the legend
 * says so. */
gboolean ravscope_contention_heats_pool(const rav_contention *c);

/* Colours (the screen palette). */
void ravscope_type_color(guint16 type, gboolean dark, double rgb[3]);
guint32 ravscope_type_argb(guint16 type, gboolean dark);
/* The same in the screen palette or, `present`, in presentation mode's
 * projector-safe one (stronger empty cells and page frames). */
guint32 ravscope_type_argb_palette(guint16 type, gboolean dark, gboolean present);
void ravscope_heap_background(gboolean dark, double rgb[3]);

/* Which types have cells now, with counts (for the legend and for tests). */
typedef struct {
	guint16 type;
	guint64 cells;
} RavscopeTypeCount;
GArray *ravscope_heap_type_counts(RavscopeDocument *doc, const RavscopeHeapLayout *layout);

G_END_DECLS
