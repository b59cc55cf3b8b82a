/* ravscope-events-panel.h - the Events panel: every event of the trace in a
 * list, searchable and filtered by kind, thread and call site.  A
 * RavscopePanel. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_EVENTS_PANEL (ravscope_events_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeEventsPanel, ravscope_events_panel, RAVSCOPE, EVENTS_PANEL, GtkWidget)

GtkWidget *ravscope_events_panel_new(void);
/* Put the keyboard focus in the search entry (Ctrl+F). */
void ravscope_events_panel_focus_search(RavscopeEventsPanel *self);
/* List only the events of these call sites (n = 0: any), named by label in
 * the call-site entry. */
void ravscope_events_panel_show_sites(RavscopeEventsPanel *self, const char *label, const guint32 *sites, gsize n);

G_END_DECLS
