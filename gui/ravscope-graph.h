/* ravscope-graph.h - the neighbourhood of one cell as boxes and arrows: the
 * cells that refer to it above (a couple of levels), the cells it refers to
 * below, each box with its fields by name, for reading lists and trees.
 *
 * Built from the replay state at the playhead (referrers through reference
 * ravioli, fields followed to their final target), laid out in rows, drawn
 * with cairo; shared by the Graph panel and tests.  Plain GLib + cairo.
 */
#pragma once

#include <cairo.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

typedef struct {
	rav_loc cell;
	int level;          /* 0: the centre; < 0 referrers; > 0 what it refers to */
	guint16 type;
	double x, y, w, h;  /* laid out (pixels) */
} RavscopeGraphNode;

typedef struct {
	guint from, to;     /* node indices: from's field (or root slot) refers to `to` */
	int word;           /* the word of `from` holding the reference (1..3) */
	gboolean shared;    /* through reference ravioli (the target has several referrers) */
} RavscopeGraphEdge;

typedef struct {
	GArray *nodes;      /* RavscopeGraphNode; node 0 is the centre */
	GArray *edges;      /* RavscopeGraphEdge */
	int levels_up, levels_down;
	guint hidden;       /* cells left out: more than a level holds */
	double width, height; /* of the layout */
} RavscopeGraph;

/* The neighbourhood of `center` at the playhead: up to `up` levels of
 * referrers and `down` levels of children, at most max_per_level cells per
 * level.  NULL if center is not a live cell. */
RavscopeGraph *ravscope_graph_build(RavscopeDocument *doc, rav_loc center, int up, int down, guint max_per_level);
void ravscope_graph_free(RavscopeGraph *graph);
/* Place the boxes in rows, one per level, inside `width` pixels. */
void ravscope_graph_layout(RavscopeGraph *graph, double width, gboolean large_text);
/* Draw at (0, 0) as laid out. */
void ravscope_graph_draw(cairo_t *cr, RavscopeDocument *doc, const RavscopeGraph *graph, gboolean dark,
			 gboolean large_text, const double accent[3]);
/* The cell whose box is under a point (RAV_LOC_NONE if none). */
rav_loc ravscope_graph_hit(const RavscopeGraph *graph, double x, double y);

G_END_DECLS
