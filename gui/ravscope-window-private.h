/* ravscope-window-private.h - the window's state, shared by the files that
 * make up RavscopeWindow: ravscope-window.c (assembly, the document's life,
 * refreshing panels), ravscope-window-actions.c (actions, shortcuts,
 * opening files, the demo and recent menus) and ravscope-window-teach.c
 * (operation steps, lessons, the glossary, the chatty comparison). */
#pragma once

#include "ravscope-window.h"

#include "ravscope-application.h"
#include "ravscope-charts-panel.h"
#include "ravscope-contention-panel.h"
#include "ravscope-contention.h"
#include "ravscope-events-panel.h"
#include "ravscope-export-dialog.h"
#include "ravscope-graph-panel.h"
#include "ravscope-explain-panel.h"
#include "ravscope-heap-view.h"
#include "ravscope-inspector.h"
#include "ravscope-lesson-player.h"
#include "ravscope-narration.h"
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
	AdwFlap *flap;
	GtkWidget *heap_column;
	RavscopeHeapView *heap_view;
	RavscopeTransportBar *transport_bar;
	RavscopeTimeline *timeline;
	AdwViewStack *side_stack;
	RavscopeInspector *inspector;
	RavscopeEventsPanel *events_panel;
	RavscopeChartsPanel *charts_panel;
	RavscopeGraphPanel *graph_panel;
	RavscopeSitesPanel *sites_panel;
	RavscopeSiteHighlight *highlight; /* the cells of a call site on the heap view */
	RavscopePlayback *playback;
	RavscopeContention *contention;
	GMenu *demo_submenu, *recent_submenu; /* in the main menu */
	GtkMenuButton *lesson_button;
	GtkRevealer *narration_revealer;
	RavscopeNarration *narration;

	/* teaching (ravscope-window-teach.c) */
	GMenu *lesson_menu;
	RavscopeLessonPlayer *lesson_player;
	RavscopeLesson *pending_lesson; /* its trace is being opened */
	gboolean lesson_sidebar_saved, lesson_sidebar_was; /* the side panel before the lesson */

	GSettings *settings;
	GMenu *demo_menu; /* shared by the Demos button and the main menu */
	GMenu *recent_menu;
	GPtrArray *panels; /* the RavscopePanel pages of side_stack */
	RavscopeDocument *doc;
	GCancellable *cancellable; /* indexing of this document */
	guint refresh_source;
	gboolean disposed;
	gboolean playhead_actions_enabled;
	gboolean notice_is_settings; /* the notice strip says settings are not saved */
	RavscopeExportDialog *export_dialog; /* weak: the one open, if any */
	/* What the command line asked to show once the trace is indexed
	 * (ravscope --event=N --select=PAGE.CELL --panel=NAME FILE). */
	gint64 start_event;
	rav_loc start_select;
	char *start_panel;
};

/* ravscope-window-actions.c */
void ravscope__window_class_add_actions(GtkWidgetClass *widget_class);
void ravscope__window_init_actions(RavscopeWindow *self);
/* Enable the actions that need a trace, and those that move the playhead
 * when it has events (again as indexing finds them). */
void ravscope__window_update_actions(RavscopeWindow *self);
void ravscope__window_show_panel(RavscopeWindow *self, const char *name);

/* ravscope-window-teach.c: operation steps, explanations, lessons, the
 * comparison of chatty threads with messages */
void ravscope__window_teach_class_init(GtkWidgetClass *widget_class);
void ravscope__window_teach_init(RavscopeWindow *self);
void ravscope__window_teach_dispose(RavscopeWindow *self);
/* The document's indexing finished: a lesson waiting for it starts (TRUE:
 * the lesson places the playhead). */
gboolean ravscope__window_teach_indexed(RavscopeWindow *self);
/* Another document replaces the one a lesson runs on. */
void ravscope__window_teach_document_changed(RavscopeWindow *self);

/* ravscope-window.c */
void ravscope__window_toast(RavscopeWindow *self, const char *text);

G_END_DECLS
