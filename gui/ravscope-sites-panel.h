/* ravscope-sites-panel.h - the Sites panel: the program's lines ranked by
 * what their engine calls did (allocations, frees, moves and fix-ups they
 * caused, pages handed off, cache-line transfers), as heaptrack's top
 * lists; a row highlights the cells it allocated on the heap view. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_SITES_PANEL (ravscope_sites_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeSitesPanel, ravscope_sites_panel, RAVSCOPE, SITES_PANEL, GtkWidget)

GtkWidget *ravscope_sites_panel_new(void);
/* For tests: the rows as text, one per line ("VALUE  LABEL  DETAIL"), once
 * computed (NULL before). */
char *ravscope_sites_panel_dup_text(RavscopeSitesPanel *self);
/* Highlight the cells of row i as a click does (tests, scripting). */
gboolean ravscope_sites_panel_activate_row(RavscopeSitesPanel *self, guint i);

G_END_DECLS
