/* ravscope-contention-panel.h - the Lines panel: what the cache-contention
 * model found (totals and the hottest lines), or how to compute it.  A
 * RavscopePanel that shows a RavscopeContention. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-contention.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_CONTENTION_PANEL (ravscope_contention_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeContentionPanel, ravscope_contention_panel, RAVSCOPE, CONTENTION_PANEL, GtkWidget)

GtkWidget *ravscope_contention_panel_new(void);
/* "contention": the model it shows (set once, from the window's template). */
void ravscope_contention_panel_set_contention(RavscopeContentionPanel *self, RavscopeContention *contention);

G_END_DECLS
