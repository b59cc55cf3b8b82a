/* ravscope-heap-view.h - the heap picture as a widget: lanes, pages, cells,
 * zoom and pan, selection, animation of applied events. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"
#include "ravscope-export.h"
#include "ravscope-heapdraw.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_HEAP_VIEW (ravscope_heap_view_get_type())
G_DECLARE_FINAL_TYPE(RavscopeHeapView, ravscope_heap_view, RAVSCOPE, HEAP_VIEW, GtkWidget)

GtkWidget *ravscope_heap_view_new(void);
void ravscope_heap_view_set_document(RavscopeHeapView *self, RavscopeDocument *doc);
void ravscope_heap_view_zoom(RavscopeHeapView *self, double factor); /* around the centre, animated */
/* The whole heap; in presentation mode, when its cells would be too small
 * to read, first a close-up where things happen (asked again: whole). */
void ravscope_heap_view_zoom_fit(RavscopeHeapView *self);
/* The whole heap, also in presentation mode (whose zoom_fit first shows a
 * big heap close up): a lesson step's "zoom = fit". */
void ravscope_heap_view_zoom_whole(RavscopeHeapView *self);
/* Centre a cell and zoom so its page fills the view. */
void ravscope_heap_view_focus_cell(RavscopeHeapView *self, rav_loc cell);
/* Zoom onto the pages of cells[0] and of the other cells (RAV_LOC_NONE
 * and slots outside the heap are skipped), whole: cells[0]'s page always,
 * each other one in the order given when all so far still fit at a
 * readable zoom (cells 4 px, in presentation mode 12).  A lesson step's
 * operation: its cell, where it moved, the slot naming it, the words its
 * fix-ups rewrote (a root page).  At most RAVSCOPE_FOCUS_CELLS_MAX. */
#define RAVSCOPE_FOCUS_CELLS_MAX 12
void ravscope_heap_view_focus_cells(RavscopeHeapView *self, const rav_loc *cells, guint n);
/* Is the whole block of the page inside the heap area (once a zoom or
 * glide ends)? */
gboolean ravscope_heap_view_page_in_view(RavscopeHeapView *self, guint32 page);
/* How many pages (not the pool's) the heap area shows cut at its edge,
 * part in and part out (once a zoom or glide ends), for tests. */
guint ravscope_heap_view_pages_cut(RavscopeHeapView *self);
double ravscope_heap_view_get_scale(RavscopeHeapView *self);
/* Where the view is going (the end of a zoom or glide in progress): pixels
 * per cell and the world point at the heap area's top-left. */
void ravscope_heap_view_get_target_view(RavscopeHeapView *self, double *scale, double *ox, double *oy);
/* Is the whole cell inside the heap area (once a zoom or glide ends)? */
gboolean ravscope_heap_view_cell_in_view(RavscopeHeapView *self, rav_loc cell);
/* Is a zoom or glide in progress (it ends after a number of frames)? */
gboolean ravscope_heap_view_is_gliding(RavscopeHeapView *self);
rav_loc ravscope_heap_view_get_selected(RavscopeHeapView *self);
void ravscope_heap_view_set_selected(RavscopeHeapView *self, rav_loc cell); /* emits cell-selected */
/* "follow": the selection moves with its raviolo (moves, seeks). */
void ravscope_heap_view_set_follow(RavscopeHeapView *self, gboolean follow);
gboolean ravscope_heap_view_get_follow(RavscopeHeapView *self);
/* After a seek from `from` to `to`: move the selection with its raviolo. */
void ravscope_heap_view_follow_seek(RavscopeHeapView *self, guint64 from, guint64 to);
void ravscope_heap_view_set_playing(RavscopeHeapView *self, gboolean playing);
/* contention: borrowed; line_size: the model's line size in bytes; from,
 * to: the events it covers (equal: the whole trace). */
void ravscope_heap_view_set_contention(RavscopeHeapView *self, rav_contention *contention, unsigned line_size,
				       guint64 from, guint64 to);
/* The cells of a call site to highlight (borrowed: NULL clears), and what
 * they are, for the label drawn with them. */
void ravscope_heap_view_set_highlight(RavscopeHeapView *self, const rav_site_cells *cells, const char *label);
void ravscope_heap_view_set_style(RavscopeHeapView *self, gboolean large_text, gboolean legend, gboolean animate);
/* Whether thread heaps that hold nothing and are not running get lanes of
 * their own (default: they fold into one lane; RavscopeHeapLayout.show_empty). */
void ravscope_heap_view_set_show_empty_threads(RavscopeHeapView *self, gboolean show);
/* Events just applied by the playhead: animate them over `duration_ms`
 * (0: no animation, only update). */
void ravscope_heap_view_animate(RavscopeHeapView *self, const rav_event *events, guint n, guint duration_ms);
/* Lanes that scroll (more threads than fit): move by `pages` screens
 * (negative: up), as Page Up/Down do; and which lanes are on screen. */
void ravscope_heap_view_scroll_lanes(RavscopeHeapView *self, double pages);
void ravscope_heap_view_get_lanes_shown(RavscopeHeapView *self, RavscopeLanesShown *out, gboolean *scrolls);
/* A picture of what the view shows (the same world rectangle, selection,
 * overlay and style) at the view's size, for an export. */
void ravscope_heap_view_get_picture_style(RavscopeHeapView *self, RavscopePictureStyle *style);
/* Point at cells, pages or lanes with labels and a caption, about the
 * playhead's position now: it goes when the playhead moves (takes
 * ownership; NULL removes it). */
void ravscope_heap_view_set_spotlight(RavscopeHeapView *self, RavscopeSpotlight *spotlight);
const RavscopeSpotlight *ravscope_heap_view_get_spotlight(RavscopeHeapView *self);
/* Draw the current frame into a cairo context of the widget's size (tests). */
void ravscope_heap_view_draw_to(RavscopeHeapView *self, cairo_t *cr, int width, int height);

G_END_DECLS
