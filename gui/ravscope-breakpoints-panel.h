/* ravscope-breakpoints-panel.h - the Breakpoints panel (a RavscopePanel):
 * conditions on heap events, sent to a live program, and searched in any
 * trace (Run to Breakpoint forward / backward). */
#pragma once

#include <adwaita.h>

#include "ravscope-document.h"
#include "ravscope-live.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_BREAKPOINTS_PANEL (ravscope_breakpoints_panel_get_type())
G_DECLARE_FINAL_TYPE(RavscopeBreakpointsPanel, ravscope_breakpoints_panel, RAVSCOPE, BREAKPOINTS_PANEL, GtkBox)

/* The live session breakpoints go to (NULL: none; they are then searched
 * in the trace only).  Every breakpoint is sent when a session starts. */
void ravscope_breakpoints_panel_set_live(RavscopeBreakpointsPanel *self, RavscopeLive *live);
void ravscope_breakpoints_panel_update_states(RavscopeBreakpointsPanel *self, const rav_live_status *st);
/* The program stopped at breakpoint id (0: none) at its hits-th hit. */
void ravscope_breakpoints_panel_set_hit(RavscopeBreakpointsPanel *self, guint32 id, guint64 hits);
/* Go to the next (forward) or previous breakpoint hit in the trace. */
gboolean ravscope_breakpoints_panel_run(RavscopeBreakpointsPanel *self, gboolean forward);
guint ravscope_breakpoints_panel_count(RavscopeBreakpointsPanel *self);
/* What the form says under the call-site entry (for tests). */
const char *ravscope_breakpoints_panel_get_hint(RavscopeBreakpointsPanel *self);
/* A call-site breakpoint waits for the live program's memory map. */
gboolean ravscope_breakpoints_panel_waiting(RavscopeBreakpointsPanel *self);
/* For tests and scripting, as the form would: a breakpoint on a cell
 * (flags RAV_LIVE_ON_*), or on the condition at index what (the form's
 * "Stop on" list: 1 allocation, 2 free, 3 kind, 4 mark, 5 errors, 6 any).
 * Returns its id. */
guint32 ravscope_breakpoints_panel_add_cell(RavscopeBreakpointsPanel *self, rav_loc cell, unsigned flags);
guint32 ravscope_breakpoints_panel_add_kind(RavscopeBreakpointsPanel *self, unsigned what_index);
/* A breakpoint on a call site (spec: FUNCTION, FILE:LINE or *ADDRESS), on
 * the events of kind_index in the form's "Events" list (0 any event, 1
 * allocations, 2 frees, ...): its id, or 0 with *error (may be NULL) in
 * words, as the form shows it (e.g. no call site of the trace there). */
guint32 ravscope_breakpoints_panel_add_site(RavscopeBreakpointsPanel *self, const char *spec, unsigned kind_index,
					    char **error);

G_END_DECLS
