/* ravscope-window-private.h - the window's state, shared by the files that
 * make up RavscopeWindow: ravscope-window.c (assembly, the document's life,
 * refreshing panels), ravscope-window-actions.c (actions, shortcuts,
 * opening files, the demo and recent menus) and ravscope-window-teach.c
 * (operation steps, lessons, the glossary, the chatty comparison). */
#pragma once

#include "ravscope-window.h"

#include "ravscope-application.h"
#include "ravscope-attach-dialog.h"
#include "ravscope-breakpoints-panel.h"
#include "ravscope-charts-panel.h"
#include "ravscope-contention-panel.h"
#include "ravscope-contention.h"
#include "ravscope-errors-panel.h"
#include "ravscope-events-panel.h"
#include "ravscope-export-dialog.h"
#include "ravscope-graph-panel.h"
#include "ravscope-explain-panel.h"
#include "ravscope-heap-view.h"
#include "ravscope-inspector.h"
#include "ravscope-live.h"
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
	AdwHeaderBar *header_bar;
	GtkButton *header_errors; /* made in code */
	GtkMenuButton *demo_button;
	GtkToggleButton *sidebar_button;
	GtkRevealer *notice_revealer;
	GtkLabel *notice_label;
	GtkStack *stack;
	AdwStatusPage *error_page;
	char *error_text; /* its description as text (the page's is markup) */
	GtkBox *welcome_demos;
	AdwFlap *flap;
	GtkWidget *heap_column;
	RavscopeHeapView *heap_view;
	RavscopeTransportBar *transport_bar;
	RavscopeTimeline *timeline;
	AdwViewStack *side_stack;
	GtkScrolledWindow *switcher_scroll; /* the side switcher scrolls sideways */
	GtkWidget *side_switcher;
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
	guint lesson_fit_idle;                              /* fit_lesson_layout, after the next layout */
	gboolean presenting, present_was_large; /* win.present is on; presentation mode before it */

	GSettings *settings;
	GMenu *demo_menu; /* shared by the Demos button and the main menu */
	GMenu *recent_menu;
	GPtrArray *panels; /* the RavscopePanel pages of side_stack */
	RavscopeDocument *doc;
	GCancellable *cancellable; /* indexing of this document */
	guint refresh_source;
	gboolean disposed;

	/* panels made in code (ravscope-window.c) */
	RavscopeErrorsPanel *errors_panel;
	RavscopeBreakpointsPanel *breakpoints_panel;
	AdwViewStackPage *errors_page;
	AdwViewStackPage *output_page; /* a spawned program's stdout/stderr (shown only then) */
	GtkTextView *output_view;

	/* a live session (ravscope-window-live*.c) */
	RavscopeLive *live;
	struct _RavscopeLiveFollow *live_follower; /* indexes the stream and makes the newest state (a worker) */
	double live_behind;                        /* seconds the view is behind the program, as of the last tick */
	rav_live_status live_status; /* as of the last tick */
	GtkRevealer *live_bar;
	GtkLabel *live_state, *live_label, *live_why;
	GtkWidget *live_pause, *live_continue, *live_follow;
	RavscopeAttachDialog *attach_dialog; /* weak */
	guint live_tick;
	gboolean live_following, live_moving, live_ended, live_pausing, live_spawned;
	gboolean live_stop_pending, live_shown_pending;
	gint64 live_stop_since, live_bar_updated, live_started, live_contention_at;
	guint64 live_fit_pages;
	guint32 live_stop_heap; /* the thread stopped at (0: none) */
	char *live_stop_text;
	guint64 live_frames;
	gint64 live_tick_us_total;
	gboolean playhead_actions_enabled;
	gboolean notice_is_settings; /* the notice strip says settings are not saved */
	gboolean panel_through_fold; /* a panel was asked for before the flap's first layout: keep it open if it folds */
	guint flap_fold_tick;        /* on_flap_folded's tick: the first fold applied once the flap has a width */
	guint flap_reveal_tick;      /* on_sidebar_toggled's tick: the button's state applied once the flap has a width */
	RavscopeExportDialog *export_dialog; /* weak: the one open, if any */
	/* What the command line asked to show once the trace is indexed
	 * (ravscope --event=N --select=PAGE.CELL --panel=NAME FILE). */
	gint64 start_event;
	rav_loc start_select;
	char *start_panel;
	char *start_break; /* --break=WHERE: a call-site breakpoint, run to its first hit */
	gboolean start_break_hold; /* the program paused until that breakpoint is set in it */
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
/* Escape with nothing selected: leave full screen (and Present).  TRUE:
 * it did. */
gboolean ravscope__window_teach_escape(RavscopeWindow *self);

/* ravscope-window.c */
void ravscope__window_toast(RavscopeWindow *self, const char *text);
void ravscope__window_show_error(RavscopeWindow *self, const char *title, const char *message);
/* Show a live session's document (takes a reference); title: the command. */
void ravscope__window_set_live_document(RavscopeWindow *self, RavscopeDocument *doc, const char *command);

/* ravscope-window-live.c: the session (start, tick, follow, end) */
void ravscope__window_live_class_init(GtkWidgetClass *wc); /* every live action, the others' too */
void ravscope__window_live_stop(RavscopeWindow *self);
void ravscope__window_live_position_changed(RavscopeWindow *self);

/* ravscope-window-live-bar.c: the live bar */
void ravscope__window_live_build(RavscopeWindow *self);
/* Enable the live actions as the session's state allows. */
void ravscope__window_live_enable(RavscopeWindow *self);
/* Whether the debugger's Continue (F5) and Step (F11) can run now: else
 * those keys are the projector's (ravscope-window-teach.c). */
gboolean ravscope__window_live_can_continue(RavscopeWindow *self);
gboolean ravscope__window_live_can_step(RavscopeWindow *self);
/* The bar's state, status line and stop line, from live_status. */
void ravscope__window_live_update_bar(RavscopeWindow *self);

/* ravscope-window-live-debug.c: stops, and Pause/Continue/Step/Run to Break */
void ravscope__window_live_debug_class_init(GtkWidgetClass *wc);
void ravscope__window_live_debug_init(RavscopeWindow *self); /* F10 before the primary menu's */
/* A stop is pending and a thread held: show where (or wait for its event). */
void ravscope__window_live_show_stop(RavscopeWindow *self);

/* ravscope-window-live-start.c: Attach and Run Program dialogs, Detach, Save As */
void ravscope__window_live_start_class_init(GtkWidgetClass *wc);

G_END_DECLS
