/* ravscope-breakpoints-private.h - what the files of the Breakpoints
 * panel share: its breakpoint records (Bp) and the widget's state.
 *   ravscope-breakpoints-panel.c  the widget, the list's rows, Run to
 *                                 Breakpoint, a live program's states and hits
 *   ravscope-breakpoints-form.c   the form that makes a breakpoint (its
 *                                 widgets, choices, and the public add_*)
 *   ravscope-breakpoints-sites.c  call sites: resolving a spec into code
 *                                 ranges, and the form's check as one types
 * The trace search is ravscope-breakpoint-search.c. */
#pragma once

#include "ravscope-breakpoints-panel.h"

#define WHAT_SITE 7 /* "Call site" in the form's "Stop on" list */

typedef struct {
	rav_live_break b;
	char *text;      /* b.text points here */
	char *label;
	rav_loc cell;    /* CELL: where it was when set, before event cell_at */
	guint64 cell_at;
	int state;       /* RAV_LIVE_BREAK_STATE_* from the program, 0 none */
	guint64 hits;
	GtkWidget *row;
	/* a call site (AT_SITE): the spec, its code in the document's trace and
	 * that trace's sites in it (sorted), redone when sites or the trace change */
	char *site_spec;
	rav_site_range *ranges;
	gsize nranges;
	guint32 *sites;
	gsize nsites;
	guint32 sites_of;      /* rav_trace_site_count when sites was taken */
	gpointer resolved_for; /* the document the ranges belong to (compared only) */
	gboolean sent;         /* given to the live program */
	gboolean waiting_map;  /* a live program's memory map has not come yet */
	char *note;            /* why a call site is not in force here (NULL: it is) */
} Bp;

struct _RavscopeBreakpointsPanel {
	GtkBox parent_instance;
	GtkDropDown *what;
	GtkBox *cell_box;
	GtkCheckButton *on_move, *on_fixup, *on_free, *on_referrer;
	GtkDropDown *type_dd, *kind_dd, *thread_dd;
	GtkEntry *mark_entry;
	GtkBox *site_box;
	GtkEntry *site_entry;
	GtkDropDown *site_kind_dd;
	guint validate_source;
	guint validate_gen; /* the latest check's number (older answers are dropped) */
	GtkSpinButton *count;
	GtkCheckButton *stop_all;
	GtkButton *add;
	GtkLabel *hint;
	GtkListBox *list;
	GtkLabel *result;

	RavscopeDocument *doc;
	RavscopeLive *live;
	rav_loc selected;
	GPtrArray *bps; /* Bp */
	guint32 next_id;
	guint32 hit_id;
	GArray *type_ids, *thread_ids;
};


/* ravscope-breakpoints-panel.c */
void ravscope__bp_free(gpointer p);
void ravscope__bp_set_text(GtkLabel *label, const char *text);
/* A new row for bp (which the panel then owns), sent to a live program. */
void ravscope__bp_add(RavscopeBreakpointsPanel *self, Bp *bp);

/* ravscope-breakpoints-form.c */
void ravscope__bp_build_form(RavscopeBreakpointsPanel *self);
void ravscope__bp_update_form(RavscopeBreakpointsPanel *self);
void ravscope__bp_fill_choices(RavscopeBreakpointsPanel *self);

/* ravscope-breakpoints-sites.c */
void ravscope__bp_update_sites(RavscopeBreakpointsPanel *self, Bp *bp);
gboolean ravscope__bp_site_message(RavscopeBreakpointsPanel *self, const char *spec, const Bp *bp,
				   const char *error, char **msg);
gboolean ravscope__bp_check_site(RavscopeBreakpointsPanel *self, const char *spec, Bp *into, char **msg);
gboolean ravscope__bp_ensure_site(RavscopeBreakpointsPanel *self, Bp *bp);
void ravscope__bp_show_check(RavscopeBreakpointsPanel *self, gboolean ok, const char *msg);
/* A GSourceFunc (data: the panel): check the call site typed so far. */
gboolean ravscope__bp_validate_site(gpointer data);
