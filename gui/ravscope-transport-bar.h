/* ravscope-transport-bar.h - the controls under the heap: previous/next of
 * a kind, step, play, speed, the playhead's position and the sentence
 * saying what just happened, indexing progress, and zoom. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-playback.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_TRANSPORT_BAR (ravscope_transport_bar_get_type())
G_DECLARE_FINAL_TYPE(RavscopeTransportBar, ravscope_transport_bar, RAVSCOPE, TRANSPORT_BAR, GtkWidget)

GtkWidget *ravscope_transport_bar_new(void);
/* "playback": the controller the buttons and choices drive (set once). */
void ravscope_transport_bar_set_playback(RavscopeTransportBar *self, RavscopePlayback *playback);
void ravscope_transport_bar_set_document(RavscopeTransportBar *self, RavscopeDocument *doc);
/* Show indexing progress (the document's "index-progress") while TRUE. */
void ravscope_transport_bar_set_indexing(RavscopeTransportBar *self, gboolean indexing);
/* A sentence for the status line (where the trace opened and why) until
 * the playhead moves; and what the status line says now (tests). */
/* The position label again: the event count grew while the playhead stayed. */
void ravscope_transport_bar_refresh(RavscopeTransportBar *self);
void ravscope_transport_bar_set_hint(RavscopeTransportBar *self, const char *hint);
const char *ravscope_transport_bar_get_status(RavscopeTransportBar *self);
/* Show the line of what the last event did (default); a lesson on a short
 * window gives its height to the heap (the caption says what happened). */
void ravscope_transport_bar_set_show_event(RavscopeTransportBar *self, gboolean show);
gboolean ravscope_transport_bar_get_show_event(RavscopeTransportBar *self);

G_END_DECLS
