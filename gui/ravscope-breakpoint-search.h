/* ravscope-breakpoint-search.h - Run to Breakpoint on a trace
 * (ravscope-breakpoint-search.c). */
#pragma once

#include <glib.h>

#include "ravtrace.h"

G_BEGIN_DECLS

/* The event breakpoint b (a rav_live_break as the panel sends it; MARK's
 * text in b->text) stops at next (forward, from event pos on) or last
 * (before the playhead at pos), -1 if none.  A cell breakpoint names the
 * raviolo at cell just before event cell_at; sites (nsites, sorted), when
 * not NULL, keep only events of those call sites.  n: events indexed;
 * *gave_up when the search stopped before the end. */
gint64 ravscope_breakpoint_search(rav_trace *t, const rav_live_break *b, rav_loc cell, guint64 cell_at,
				  const guint32 *sites, gsize nsites, guint64 pos, guint64 n, gboolean forward,
				  gboolean *gave_up);

G_END_DECLS
