/* ravscope-heapdraw-private.h - what the heap-* drawing files share.
 *
 * The heap picture is drawn by several files, one per feature (see
 * ravscope-heapdraw.h for the public side):
 *   heap-layout    where lanes and pages go; viewport fit; hit testing
 *   heap-painter   one frame: composes the parts below, lane labels
 *   heap-image     zoomed out: the one-pixel-per-cell image
 *   heap-cells     zoomed in: cells, their text, reference arrows
 *   heap-overlays  selection and its links, hover, cache contention
 *   heap-legend    the type legend and its counts
 *   heap-anim      animation of the events just applied
 *   heap-spotlight what an operation or a lesson step points at
 *   heap-style     colours, text, arrows and rounded shapes
 * Functions here are ravscope__* (two underscores): shared between those files,
 * not part of the viewer's interface.
 */
#pragma once

#include "ravscope-heapdraw.h"

G_BEGIN_DECLS

#define RECT_SCALE 5.0   /* from here on cells are drawn as rectangles */
#define GAP_SCALE 8.0    /* from here on cells have a one-pixel gap */
#define TEXT_SCALE 36.0  /* type names inside cells */
#define FIELD_SCALE 50.0 /* field values and reference arrows */
/* type ids the legend counts apart: all of them (a type id has RAV_TYPE_BITS bits) */
#define LEGEND_MAX_TYPES ((unsigned)RAV_TYPE_MASK + 1)

typedef struct DrawnPage DrawnPage;
typedef struct ImageBlock ImageBlock;

struct _RavscopeHeapPainter {
	/* the cell image (heap-image.c): lanes' page areas packed into tiles */
	DrawnPage *drawn; /* by page index: where it is in the image (below drawn_len <= 2^20) */
	guint32 drawn_len;
	GHashTable *drawn_high; /* page index (from 2^20) -> DrawnPage (owned) */
	GPtrArray *tiles;         /* cairo_surface_t (NULL: cairo could not make it) */
	GArray *blocks;           /* ImageBlock, one per lane with pages */
	GHashTable *block_index;  /* lane key -> index in blocks + 1 */
	guint64 image_px;         /* pixels of all tiles */
	guint flat_blocks;        /* lanes drawn flat (no place in the image) */
	gboolean image_dark, image_present; /* the style and palette the image was drawn in */
	gboolean valid;
	GHashTable *dirty; /* pages to redraw in the image; NULL = all */
	guint16 *types;
	unsigned types_len;
	GArray *legend_counts; /* RavscopeTypeCount at legend_position */
	gboolean legend_throttle;
	guint64 *legend_pending; /* counts of the pass in progress while playing */
	guint legend_next_page;
	guint64 legend_position;
	gconstpointer legend_doc;
};

/* Presentation mode draws every stroke (arrows, outlines, frames, the
 * animation's rings) this much heavier, so they read from the back of a
 * room, not only the text. */
#define PRESENT_STROKE 1.8
static inline double stroke_of(const RavscopeViewport *vp, double width)
{
	return vp->large_text ? width * PRESENT_STROKE : width;
}

/* World to surface pixels. */
static inline double sx_of(const RavscopeViewport *vp, double wx) { return vp->x0 + (wx - vp->ox) * vp->scale; }
static inline double sy_of(const RavscopeViewport *vp, double wy) { return vp->y0 + (wy - vp->oy) * vp->scale; }

/* heap-style */
void ravscope__hex_rgb(guint32 hex, double rgb[3]);
void ravscope__text_rgb(gboolean dark, double rgb[3]);
/* A cell's colour in vp's style and palette (presentation mode, vp->large_text,
 * draws with the projector-safe palette: see heap-style.c). */
void ravscope__cell_rgb(const RavscopeViewport *vp, guint16 type, double rgb[3]);
/* A page's frame, and a pool page's block (0xrrggbb), in a style and palette. */
guint32 ravscope__page_frame_hex(gboolean dark, gboolean present);
guint32 ravscope__pool_page_hex(gboolean dark, gboolean present);
gboolean ravscope__rgb_is_light(const double rgb[3]);
void ravscope__draw_text(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
			 const double rgb[3], double max_w);
/* Translucent text without a group (a group per label is costly when a
 * frame has hundreds of them). */
void ravscope__draw_text_alpha(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
			       const double rgb[3], double alpha, double max_w);
double ravscope__text_width(cairo_t *cr, const char *text, double px, gboolean bold);
/* A sentence wrapped at words within max_w (centred in it, or from x),
 * never cut: returns its height.  The first measures it only. */
double ravscope__draw_text_wrapped(cairo_t *cr, double x, double y, const char *text, double px, gboolean bold,
				   const double rgb[3], double alpha, double max_w, gboolean centre);
double ravscope__wrapped_height(cairo_t *cr, const char *text, double px, gboolean bold, double max_w);
/* Texts drawn shortened with an ellipsis so far (for tests). */
extern guint ravscope__texts_cut;
void ravscope__draw_arrow(cairo_t *cr, double x1, double y1, double x2, double y2, double width,
			  const double rgb[3], double alpha, gboolean dashed);
/* The same ending on the border of a box of half-size `half` around x2, y2
 * (a cell), so the head stays off the cell's text. */
void ravscope__draw_arrow_to_box(cairo_t *cr, double x1, double y1, double x2, double y2, double half,
				 double width, const double rgb[3], double alpha, gboolean dashed);
void ravscope__rounded_rect(cairo_t *cr, double x, double y, double w, double h, double r);

/* heap-painter: the page's cell types at the playhead, in a buffer the
 * painter owns (valid until the next call). */
guint16 *ravscope__painter_page_types(RavscopeHeapPainter *painter, RavscopeDocument *doc, guint32 page);

/* heap-image */
void ravscope__heap_image_update(RavscopeHeapPainter *painter, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
				 const RavscopeViewport *vp);
void ravscope__heap_image_draw(cairo_t *cr, RavscopeHeapPainter *painter, RavscopeDocument *doc,
			       const RavscopeHeapLayout *layout, const RavscopeViewport *vp);
void ravscope__heap_image_free(RavscopeHeapPainter *painter);

/* heap-cells */
void ravscope__cell_rect(const RavscopeViewport *vp, double wx, double wy, double *x, double *y, double *w, double *h);
void ravscope__fill_cell(cairo_t *cr, const RavscopeViewport *vp, double x, double y, double w, double h, guint16 type);
gboolean ravscope__cell_center(const RavscopeHeapLayout *layout, const RavscopeViewport *vp, rav_loc loc, double *x,
			       double *y);
gboolean ravscope__word_point(const RavscopeHeapLayout *layout, const RavscopeViewport *vp, rav_loc loc, double *x,
			      double *y);
gboolean ravscope__page_visible(const RavscopeViewport *vp, const RavscopeLayoutPage *lp);
void ravscope__heap_draw_cells(cairo_t *cr, RavscopeHeapPainter *painter, RavscopeDocument *doc,
			       const RavscopeHeapLayout *layout, const RavscopeViewport *vp);
void ravscope__heap_draw_links(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
			       const RavscopeViewport *vp);
/* A reference from a word (a field) to a cell: from the field's line at the
 * right edge of its cell to the border of the target cell. */
void ravscope__draw_link(cairo_t *cr, const RavscopeHeapLayout *layout, const RavscopeViewport *vp, rav_loc from_word,
			 rav_loc to_cell, double width, const double rgb[3], double alpha, gboolean dashed);

/* heap-overlays */
void ravscope__heat_rgb(double v, double rgb[3]); /* 0..1: the overlay's colour scale */
/* The references out of a live cell's fields, as arrows to their targets
 * (and, dashed, through reference ravioli to the final one); returns how
 * many fields refer somewhere. */
guint ravscope__heap_draw_cell_refs(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
				    const RavscopeViewport *vp, rav_loc cell, double width, const double rgb[3],
				    double alpha);
void ravscope__heap_draw_selection_links(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
					 const RavscopeViewport *vp);
void ravscope__heap_outline_cell(cairo_t *cr, const RavscopeHeapLayout *layout, const RavscopeViewport *vp, rav_loc loc,
				 const double rgb[3], double alpha, double width);
void ravscope__heap_draw_contention(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
				    const RavscopeViewport *vp);
void ravscope__heap_draw_highlight(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *L,
				   const RavscopeViewport *vp);
void ravscope__heap_draw_external_lines(cairo_t *cr, const RavscopeViewport *vp);
void ravscope__heap_draw_no_cells(cairo_t *cr, RavscopeDocument *doc, const RavscopeViewport *vp);

/* heap-legend */
void ravscope__heap_draw_legend(cairo_t *cr, RavscopeHeapPainter *painter, RavscopeDocument *doc,
				const RavscopeHeapLayout *layout, const RavscopeViewport *vp);

/* heap-spotlight */
/* The caption's box (x, y, w, h) in a heap area whose targets are the
 * rectangles (x, y, w, h) in `targets`: at most a third of the area high,
 * at the bottom or, if that covers more of the targets, at the top. */
void ravscope__spotlight_caption_box(cairo_t *cr, const RavscopeViewport *vp, const char *caption,
                                     const double *targets, guint n, double out[4]);
/* The label boxes (x, y, w, h each) vp->spotlight's labelled spots get
 * when its targets are the rectangles in `targets` and the caption has
 * the box `caption` (or NULL) (tests); (0, 0, 0, 0) for a spot without
 * a label or whose label is left out for want of room. */
void ravscope__spotlight_label_boxes(cairo_t *cr, const RavscopeViewport *vp, const double *targets,
                                     const double *caption, double *out);
void ravscope__heap_draw_spotlight(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
				   const RavscopeViewport *vp);

/* heap-anim */
void ravscope__heap_draw_anims(cairo_t *cr, RavscopeDocument *doc, const RavscopeHeapLayout *layout,
			       const RavscopeViewport *vp);

G_END_DECLS
