/* ravscope-panel.c - the side-panel interface (see ravscope-panel.h). */
#include "ravscope-panel.h"

G_DEFINE_INTERFACE(RavscopePanel, ravscope_panel, GTK_TYPE_WIDGET)

static void ravscope_panel_default_init(RavscopePanelInterface *iface)
{
}

void ravscope_panel_set_document(RavscopePanel *self, RavscopeDocument *doc)
{
	g_return_if_fail(RAVSCOPE_IS_PANEL(self));
	RAVSCOPE_PANEL_GET_IFACE(self)->set_document(self, doc);
}

void ravscope_panel_refresh(RavscopePanel *self)
{
	g_return_if_fail(RAVSCOPE_IS_PANEL(self));
	RavscopePanelInterface *iface = RAVSCOPE_PANEL_GET_IFACE(self);
	if (iface->refresh)
		iface->refresh(self);
}

void ravscope_panel_select_cell(RavscopePanel *self, rav_loc cell)
{
	g_return_if_fail(RAVSCOPE_IS_PANEL(self));
	RavscopePanelInterface *iface = RAVSCOPE_PANEL_GET_IFACE(self);
	if (iface->select_cell)
		iface->select_cell(self, cell);
}
