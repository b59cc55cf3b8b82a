/* ravscope-explain-panel.h - the Explain panel: what the operation and the
 * event at the playhead did, and why, with the glossary's terms as links. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_EXPLAIN_PANEL (ravscope_explain_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeExplainPanel, ravscope_explain_panel, RAVSCOPE, EXPLAIN_PANEL, GtkWidget)

/* The panel's text as shown, without markup (tests). */
char *ravscope_explain_panel_dup_text(RavscopeExplainPanel *self);

G_END_DECLS
