/* ravscope-errors-panel.h - the Errors panel (a RavscopePanel): every engine
 * error event, a click away; "count" for the badge. */
#pragma once

#include <adwaita.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_ERRORS_PANEL (ravscope_errors_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeErrorsPanel, ravscope_errors_panel, RAVSCOPE, ERRORS_PANEL, GtkBox)

guint ravscope_errors_panel_get_count(RavscopeErrorsPanel *self);

G_END_DECLS
