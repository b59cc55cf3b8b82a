/* ravscope-panel.h - what a side panel of the window is.
 *
 * The window's side panel is a stack of panels (the cell inspector, the
 * event list, cache lines, charts; later breakpoints, errors, sites...).
 * Each is a widget with its own template that implements this interface;
 * the window finds them in its side stack and gives each the open document,
 * a rate-limited refresh when the playhead moves, and the selected cell.
 * A panel talks back through the window's actions ("win.select-cell",
 * "win.seek-event", ...), never through the window's internals, so adding
 * a panel is a new widget and one page in ravscope-window.ui.
 */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_PANEL (ravscope_panel_get_type())
G_DECLARE_INTERFACE(RavscopePanel, ravscope_panel, RAVSCOPE, PANEL, GtkWidget)

struct _RavscopePanelInterface {
	GTypeInterface parent_iface;
	/* A new document (or NULL): forget everything about the old one. */
	void (*set_document)(RavscopePanel *self, RavscopeDocument *doc);
	/* Optional.  The playhead moved (called at most every ~100 ms while
	 * playing, soon after a step or seek otherwise). */
	void (*refresh)(RavscopePanel *self);
	/* Optional.  The selected cell changed (RAV_LOC_NONE: none). */
	void (*select_cell)(RavscopePanel *self, rav_loc cell);
};

void ravscope_panel_set_document(RavscopePanel *self, RavscopeDocument *doc);
void ravscope_panel_refresh(RavscopePanel *self);
void ravscope_panel_select_cell(RavscopePanel *self, rav_loc cell);

G_END_DECLS
