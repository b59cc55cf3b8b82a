/* ravscope-export.h - pictures for slides: the heap at the playhead, or a
 * range of events played change by change, as PNG, SVG, PDF, an animated
 * GIF or PNG, or numbered PNG frames.
 *
 * One composition (title strip, lane labels, heap, legend, timeline) drawn
 * with the same cairo code as the window, so an export looks like what is
 * on screen.  The export moves the playhead of the document it is given:
 * the window gives it a view of its document (ravscope_document_new_view),
 * `ravscope --render` its own.  Drawing happens on the calling thread, one
 * frame per ravscope_export_next(), so the window runs an export from an
 * idle handler and stays responsive.
 */
#pragma once

#include <cairo.h>

#include "ravscope-charts.h"
#include "ravscope-document.h"
#include "ravscope-heapdraw.h"

G_BEGIN_DECLS

typedef enum {
	RAVSCOPE_EXPORT_PNG,    /* one picture */
	RAVSCOPE_EXPORT_SVG,    /* one picture, vector */
	RAVSCOPE_EXPORT_PDF,    /* one picture, or one page per frame of a range */
	RAVSCOPE_EXPORT_GIF,    /* an animation of a range */
	RAVSCOPE_EXPORT_APNG,   /* an animation of a range, every colour kept */
	RAVSCOPE_EXPORT_FRAMES, /* a range as numbered PNG files (a pattern with %d, or a directory) */
} RavscopeExportFormat;

/* What a picture shows besides the heap at the playhead. */
typedef struct {
	int width, height;
	gboolean chrome;  /* title strip, lane labels and timeline */
	gboolean legend, dark, large_text;
	rav_loc selected;
	rav_contention *contention; /* borrowed; NULL: no overlay */
	unsigned line_size;
	guint64 contention_from, contention_to;
	/* The view: scale 0 shows the whole heap; otherwise pixels per cell,
	 * with world point (center_x, center_y) at the heap area's centre, in
	 * a layout of page_cols pages per row and lanes at least min_lane_h
	 * tall (a window's, to export what it shows; 0: chosen to fit). */
	double scale, center_x, center_y;
	unsigned page_cols;
	double min_lane_h;
	/* The world rectangle of the view (cells): scale_to_size() fits it in
	 * another size.  0: not known. */
	double view_width, view_height;
} RavscopePictureStyle;

typedef struct {
	const char *path;
	RavscopeExportFormat format;
	RavscopePictureStyle style;
	gboolean range;  /* events from..to played change by change, else one picture at the playhead */
	guint64 from, to;
	double fps;      /* frames per second of an animation (default 10) */
	guint step_ms;   /* how long each change lasts, its animation included (default 500) */
} RavscopeExportOptions;

#define RAVSCOPE_EXPORT_MAX_FRAMES 10000

/* The format a file name asks for: .png (an animated PNG for a range),
 * .svg, .pdf, .gif, a name with %d (numbered frames), a directory
 * (numbered frames in it).  An error says which names work. */
gboolean ravscope_export_format_for_path(const char *path, gboolean range, RavscopeExportFormat *format,
					 GError **error);
const char *ravscope_export_format_name(RavscopeExportFormat format);
gboolean ravscope_export_format_is_animated(RavscopeExportFormat format);

/* About how many frames the options make (1 for one picture). */
guint64 ravscope_export_estimate_frames(RavscopeDocument *doc, const RavscopeExportOptions *options);

typedef struct _RavscopeExport RavscopeExport;
/* Checks the options (a range of events that exist; an animated format for
 * a range; a frame count within RAVSCOPE_EXPORT_MAX_FRAMES) and opens the
 * output.  Moves doc's playhead. */
RavscopeExport *ravscope_export_new(RavscopeDocument *doc, const RavscopeExportOptions *options, GError **error);
/* Draw and write the next frame: TRUE while there are more, FALSE when done
 * (error not set) or on an error. */
gboolean ravscope_export_next(RavscopeExport *e, GError **error);
double ravscope_export_progress(RavscopeExport *e); /* 0..1 */
guint ravscope_export_frames(RavscopeExport *e);   /* written so far */
/* Complete the output; frees e.  On an error the partial output is removed. */
gboolean ravscope_export_finish(RavscopeExport *e, GError **error);
/* Give up: remove the partial output, free e. */
void ravscope_export_cancel(RavscopeExport *e);

/* Why writing path failed with st, in words (the system's reason when cairo
 * only says it could not write); free with g_free. */
char *ravscope_export_write_error(const char *path, cairo_status_t st);

/* One picture of doc at its playhead into cr (style->width x height), with
 * the layout and viewport it was drawn with (vp->anims etc. as given). */
void ravscope_picture_draw(cairo_t *cr, RavscopeDocument *doc, RavscopeHeapPainter *painter,
			   const RavscopeHeapLayout *layout, const RavscopeViewport *vp, const RavscopePictureStyle *style,
			   RavscopeTimelineCache *timeline);
/* The style at another picture size: the same world rectangle (view_width
 * x view_height cells) fitted into the new heap area. */
void ravscope_picture_style_resize(RavscopePictureStyle *style, int width, int height);
/* The heap area a picture of this style has (its size in pixels). */
void ravscope_picture_heap_area(const RavscopePictureStyle *style, double *width, double *height);
/* The viewport of a picture: the heap area inside the chrome, fitted to
 * the whole heap or placed as style asks; returns the layout to draw. */
RavscopeHeapLayout *ravscope_picture_layout(RavscopeDocument *doc, const RavscopeHeapLayout *keep, unsigned page_cols,
					    const RavscopePictureStyle *style, RavscopeViewport *vp);

G_END_DECLS
