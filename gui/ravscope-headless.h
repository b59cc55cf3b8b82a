/* ravscope-headless.h - drawing without a display: --render and --bench. */
#pragma once

#include "ravscope-document.h"

G_BEGIN_DECLS

typedef struct {
	const char *file;
	const char *output;   /* --render OUT / -o OUT: .png, .svg, .pdf, .gif, a %d pattern or a directory */
	gint64 event;         /* -1: the moment with the most live cells */
	const char *size;     /* "WxH" or NULL */
	const char *select;   /* "p3:17" or NULL */
	const char *focus;    /* zoom onto this cell's page */
	double cell_px;       /* fixed pixels per cell, 0 = fit */
	gboolean dark, large_text, no_legend, no_chrome, contention, print_counts;
	gint64 contention_window; /* > 0: the contention model over the events before the drawn one only */
	int frames;           /* --bench frames per zoom level */
	gint64 events_per_frame; /* --bench: events applied per frame (default 2000) */
	double anim;          /* >= 0: apply the next visible event, draw its animation at this time (0..1) */
	gint64 from, to;      /* >= 0: a range of events (--from, --to) */
	double fps;           /* frames per second of a range (0: default) */
	int step_ms;          /* ms per change of a range (0: default) */
} RavscopeRenderOptions;

int ravscope_headless_render(const RavscopeRenderOptions *options);
int ravscope_headless_bench(const RavscopeRenderOptions *options);
/* --bench --live: argv is the program to run attached (NULL: rav-sample-live --flat-out). */
int ravscope_headless_bench_live(const RavscopeRenderOptions *options, char **argv);
gboolean ravscope_parse_loc(const char *text, rav_loc *out);

G_END_DECLS
