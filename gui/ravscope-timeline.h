/* ravscope-timeline.h - event density over the whole trace with the
 * playhead and user marks; click or drag to seek. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_TIMELINE (ravscope_timeline_get_type())
G_DECLARE_FINAL_TYPE(RavscopeTimeline, ravscope_timeline, RAVSCOPE, TIMELINE, GtkWidget)

GtkWidget *ravscope_timeline_new(void);
void ravscope_timeline_set_document(RavscopeTimeline *self, RavscopeDocument *doc);
void ravscope_timeline_set_large_text(RavscopeTimeline *self, gboolean large);
/* Highlight an event range (the contention window); from == to: none. */
void ravscope_timeline_set_window(RavscopeTimeline *self, guint64 from, guint64 to);
void ravscope_timeline_refresh(RavscopeTimeline *self); /* series changed (indexing progressed) */

G_END_DECLS
