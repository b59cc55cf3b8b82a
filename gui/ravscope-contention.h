/* ravscope-contention.h - the cache-contention model of the open document,
 * as the window uses it: computed on demand in a worker thread, kept, shown
 * or hidden, and optionally recomputed for a window of events that ends at
 * the playhead and follows it once it rests. */
#pragma once

#include <gio/gio.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_CONTENTION (ravscope_contention_get_type())
G_DECLARE_FINAL_TYPE(RavscopeContention, ravscope_contention, RAVSCOPE, CONTENTION, GObject)

RavscopeContention *ravscope_contention_new(void);
/* A new document drops the model and switches the overlay off. */
void ravscope_contention_set_document(RavscopeContention *self, RavscopeDocument *doc);
RavscopeDocument *ravscope_contention_get_document(RavscopeContention *self);
/* Where the line size comes from ("line-size"); NULL: 64 bytes. */
void ravscope_contention_set_settings(RavscopeContention *self, GSettings *settings);

/* "active": the overlay is wanted.  Turning it on computes the model once
 * (needs a fully indexed trace; otherwise "message" explains and it stays
 * off), then only shows or hides it; turning it off while computing
 * cancels. */
gboolean ravscope_contention_get_active(RavscopeContention *self);
void ravscope_contention_set_active(RavscopeContention *self, gboolean active);
/* "windowed": only the last events before the playhead, recomputed when the
 * playhead rests (not while "playing"). */
gboolean ravscope_contention_get_windowed(RavscopeContention *self);
void ravscope_contention_set_windowed(RavscopeContention *self, gboolean windowed);
void ravscope_contention_set_playing(RavscopeContention *self, gboolean playing);
/* How many events the window spans for this document: "window-length" if
 * set (the "contention-window" setting), else a fortieth of the trace and
 * at least RAVSCOPE_CONTENTION_WINDOW_MIN_AUTO. */
#define RAVSCOPE_CONTENTION_WINDOW_MIN_AUTO 2000
#define RAVSCOPE_CONTENTION_WINDOW_MAX 1000000000u /* the setting's range */
guint64 ravscope_contention_window_events(RavscopeContention *self);
/* "window-length": events the window spans; 0: automatic.  A change
 * recomputes a shown windowed model once the value rests. */
guint ravscope_contention_get_window_length(RavscopeContention *self);
void ravscope_contention_set_window_length(RavscopeContention *self, guint events);
/* Live sessions: recompute over the window ending at the playhead unless a
 * run is going (windowed mode is switched on). */
void ravscope_contention_refresh_live(RavscopeContention *self);

gboolean ravscope_contention_is_running(RavscopeContention *self);
double ravscope_contention_get_progress(RavscopeContention *self); /* 0..1 while running */
/* The last computed model (NULL if none), its line size in bytes, and the
 * range of events it covers (from == to: the whole trace).  Valid until the
 * next "changed". */
rav_contention *ravscope_contention_get_result(RavscopeContention *self);
unsigned ravscope_contention_get_line_size(RavscopeContention *self);
void ravscope_contention_get_range(RavscopeContention *self, guint64 *from, guint64 *to);
/* The event range to highlight on the timeline (from == to: none). */
void ravscope_contention_get_highlight(RavscopeContention *self, guint64 *from, guint64 *to);

/* Signals: "changed" (the state, result or highlight changed: redraw what
 * shows them), "message" (const char *text for a toast), and notify::active,
 * notify::running, notify::progress. */

G_END_DECLS
