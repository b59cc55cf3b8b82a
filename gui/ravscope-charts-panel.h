/* ravscope-charts-panel.h - the Charts panel: small charts of the trace's
 * summary series (live cells, pages, moves, fix-ups, hand-offs, line
 * transfers, pages per thread) with the playhead.  A RavscopePanel. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-contention.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_CHARTS_PANEL (ravscope_charts_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeChartsPanel, ravscope_charts_panel, RAVSCOPE, CHARTS_PANEL, GtkWidget)

GtkWidget *ravscope_charts_panel_new(void);
/* "contention": adds the line-transfers chart once the model is computed. */
void ravscope_charts_panel_set_contention(RavscopeChartsPanel *self, RavscopeContention *contention);
/* "large-text": presentation mode (taller charts, bigger titles). */
void ravscope_charts_panel_set_large_text(RavscopeChartsPanel *self, gboolean large);
/* The event under a point of the panel's drawing (FALSE: not over a plot),
 * and a click there: go to that event (win.seek-event), as the pointer does. */
gboolean ravscope_charts_panel_event_at(RavscopeChartsPanel *self, double x, double y, guint64 *event);
void ravscope_charts_panel_click(RavscopeChartsPanel *self, double x, double y);

G_END_DECLS
