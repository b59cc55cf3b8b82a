/* ravscope-charts.h - cairo drawing of the timeline and the small statistics
 * charts, shared by the widgets and the headless renderer.
 *
 * All numbers come from libravtrace's summary series; this file only bins
 * event kinds into a few families people recognise and draws them.
 */
#pragma once

#include <cairo.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

/* Event families drawn in the timeline, in stacking order. */
typedef enum {
	RAVSCOPE_FAMILY_ALLOC,
	RAVSCOPE_FAMILY_FREE,
	RAVSCOPE_FAMILY_MOVE,
	RAVSCOPE_FAMILY_FIXUP,
	RAVSCOPE_FAMILY_REF,
	RAVSCOPE_FAMILY_PAGE,
	RAVSCOPE_FAMILY_MESSAGE,
	RAVSCOPE_FAMILY_ACCESS,
	RAVSCOPE_FAMILY_OTHER,
	RAVSCOPE_N_FAMILIES
} RavscopeFamily;

RavscopeFamily ravscope_event_family(unsigned kind);
const char *ravscope_family_name(RavscopeFamily f);
void ravscope_family_color(RavscopeFamily f, double rgb[3]);
/* Bit mask of event kinds in a family (for rav_event_filter.kinds). */
guint64 ravscope_family_kinds(RavscopeFamily f);

typedef struct _RavscopeTimelineCache RavscopeTimelineCache;
RavscopeTimelineCache *ravscope_timeline_cache_new(void);
void ravscope_timeline_cache_free(RavscopeTimelineCache *cache);
void ravscope_timeline_cache_invalidate(RavscopeTimelineCache *cache);

typedef struct {
	gboolean dark, large_text;
	double accent[3];
	guint64 hover_event;   /* G_MAXUINT64: none */
	guint64 window_from, window_to; /* highlighted range (contention window); equal: none */
} RavscopeTimelineStyle;

/* Density strip, marks, playhead.  x/y/w/h: the area on the surface. */
void ravscope_timeline_draw(cairo_t *cr, RavscopeTimelineCache *cache, RavscopeDocument *doc,
			    double x, double y, double w, double h, const RavscopeTimelineStyle *style);
/* Where the timeline drawn in x/y/w/h puts its mark labels: rows above the
 * strip, no label over another, each shortened (ellipsized) at most down to
 * a few characters; marks left without a label are counted in *hidden (the
 * tooltip names them).  Returns the labels written (up to max). */
typedef struct {
	guint mark; /* index for rav_trace_mark_at */
	double x, y, w, h;
} RavscopeMarkLabel;
guint ravscope_timeline_mark_labels(cairo_t *cr, RavscopeDocument *doc, double x, double y, double w, double h,
				    const RavscopeTimelineStyle *style, RavscopeMarkLabel *out, guint max, guint *hidden);
/* Horizontal pixel -> event index, and back, for the same area. */
guint64 ravscope_timeline_event_at(RavscopeDocument *doc, double x0, double w, double x);
double ravscope_timeline_x_of(RavscopeDocument *doc, double x0, double w, guint64 event);

/* A small line chart of one series over the whole trace, with its value
 * axis (0 and the largest value), the event axis, the playhead, and the
 * value under style->hover_event (the pointer's read-out). */
typedef struct {
	const char *title;    /* "Live cells" */
	const char *unit;     /* what a value counts, after the title: "pages owned by all heaps" */
	const char *readout;  /* the same in a word or two, for the pointer's read-out: "pages" */
	rav_series_kind kind; /* the series (when values is NULL) */
	gint64 arg;
	gboolean rate;        /* counts per bin shown per 1,000 events */
	const double *values; /* given values, spread evenly over the events; NULL: the series */
	guint n_values;
} RavscopeChartSpec;
/* Returns FALSE if the series is not available yet (not indexed). */
gboolean ravscope_chart_draw(cairo_t *cr, RavscopeDocument *doc, const RavscopeChartSpec *spec, double x, double y,
			     double w, double h, const RavscopeTimelineStyle *style);
/* The event under a pointer in a chart drawn at x/y/w/h (FALSE: not over
 * its plot). */
gboolean ravscope_chart_event_at(RavscopeDocument *doc, double x, double y, double w, double h,
				 const RavscopeTimelineStyle *style, double pointer_x, double pointer_y, guint64 *event);

G_END_DECLS
