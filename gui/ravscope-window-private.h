/* ravscope-window-private.h - the window's state, shared by the files that
 * make up RavscopeWindow: ravscope-window.c (assembly, the document's life,
 * refreshing panels) and ravscope-window-actions.c (actions, shortcuts,
 * opening files, the demo and recent menus). */
#pragma once

#include "ravscope-window.h"

#include "ravscope-application.h"
#include "ravscope-charts-panel.h"
#include "ravscope-contention-panel.h"
#include "ravscope-contention.h"
#include "ravscope-events-panel.h"
#include "ravscope-heap-view.h"
#include "ravscope-inspector.h"
#include "ravscope-panel.h"
#include "ravscope-playback.h"
#include "ravscope-site-highlight.h"
#include "ravscope-sites-panel.h"
#include "ravscope-timeline.h"
#include "ravscope-transport-bar.h"

G_BEGIN_DECLS

struct _RavscopeWindow {
	AdwApplicationWindow parent_instance;
	/* template */
	AdwToastOverlay *toast_overlay;
	AdwWindowTitle *window_title;
	GtkMenuButton *demo_button;
	GtkToggleButton *sidebar_button;
	GtkRevealer *notice_revealer;
	GtkLabel *notice_label;
	GtkStack *stack;
	AdwStatusPage *error_page;
	GtkBox *welcome_demos;
	GtkPaned *paned;
	RavscopeHeapView *heap_view;
	RavscopeTransportBar *transport_bar;
	RavscopeTimeline *timeline;
	AdwViewStack *side_stack;
	RavscopeInspector *inspector;
	RavscopeEventsPanel *events_panel;
	RavscopeChartsPanel *charts_panel;
	RavscopeSitesPanel *sites_panel;
	RavscopeSiteHighlight *highlight; /* the cells of a call site on the heap view */
	RavscopePlayback *playback;
	RavscopeContention *contention;
	GMenu *demo_submenu, *recent_submenu; /* in the main menu */

	GSettings *settings;
	GMenu *demo_menu; /* shared by the Demos button and the main menu */
	GMenu *recent_menu;
	GPtrArray *panels; /* the RavscopePanel pages of side_stack */
	RavscopeDocument *doc;
	GCancellable *cancellable; /* indexing of this document */
	guint refresh_source;
	gboolean disposed;
	/* What the command line asked to show once the trace is indexed
	 * (ravscope --event=N --select=PAGE.CELL --panel=NAME FILE). */
	gint64 start_event;
	rav_loc start_select;
	char *start_panel;
};

/* ravscope-window-actions.c */
void ravscope__window_class_add_actions(GtkWidgetClass *widget_class);
void ravscope__window_init_actions(RavscopeWindow *self);
void ravscope__window_enable_trace_actions(RavscopeWindow *self, gboolean enabled);
void ravscope__window_show_panel(RavscopeWindow *self, const char *name);

/* ravscope-window.c */
void ravscope__window_toast(RavscopeWindow *self, const char *text);

G_END_DECLS
