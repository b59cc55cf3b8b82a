/* ravscope-events-panel.h - the Events panel: every event of the trace in a
 * list, searchable and filtered by kind and thread.  A RavscopePanel. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_EVENTS_PANEL (ravscope_events_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeEventsPanel, ravscope_events_panel, RAVSCOPE, EVENTS_PANEL, GtkWidget)

GtkWidget *ravscope_events_panel_new(void);
/* Put the keyboard focus in the search entry (Ctrl+F). */
void ravscope_events_panel_focus_search(RavscopeEventsPanel *self);

G_END_DECLS
