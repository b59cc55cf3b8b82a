/* ravscope-graph-panel.h - the Graph panel: the selected cell's neighbourhood
 * (referrers above, the cells it refers to below, two levels each) as boxes
 * and arrows; clicking a box selects that cell.  A RavscopePanel. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-graph.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_GRAPH_PANEL (ravscope_graph_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeGraphPanel, ravscope_graph_panel, RAVSCOPE, GRAPH_PANEL, GtkWidget)

GtkWidget *ravscope_graph_panel_new(void);
void ravscope_graph_panel_set_large_text(RavscopeGraphPanel *self, gboolean large);
/* The graph as last laid out (NULL when no live cell is selected), and a
 * click at a point of it (tests). */
const RavscopeGraph *ravscope_graph_panel_get_graph(RavscopeGraphPanel *self);
void ravscope_graph_panel_click(RavscopeGraphPanel *self, double x, double y);

G_END_DECLS
