/* ravscope-compare-window.h - chatty threads against ravioli messages on
 * one screen: the two recordings of the same producer/consumer work side
 * by side, each with its cache-line transfers heated, their totals from
 * the contention model, and their running time measured on this machine. */
#pragma once

#include <adwaita.h>

#include "ravtrace.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_COMPARE_WINDOW (ravscope_compare_window_get_type())
G_DECLARE_FINAL_TYPE(RavscopeCompareWindow, ravscope_compare_window, RAVSCOPE, COMPARE_WINDOW, AdwWindow)

/* The two traces (the demos chatty.ravtrace and messages.ravtrace when
 * NULL).  The window opens them, indexes them and runs the cache model on
 * each in the background. */
RavscopeCompareWindow *ravscope_compare_window_new(GtkWindow *parent, const char *chatty,
                                                   const char *messages);
/* Side 0: chatty, 1: messages.  FALSE until that side's model is done. */
gboolean ravscope_compare_window_get_totals(RavscopeCompareWindow *self, guint side,
                                            rav_contention_totals *out);
/* The summary line shown (tests). */
const char *ravscope_compare_window_get_summary(RavscopeCompareWindow *self);
/* Run both sample programs `runs` times each, interleaved, without
 * recording, and show the best wall time of each ("measured on this
 * machine"); messages is the size argument given to both. */
void ravscope_compare_window_measure(RavscopeCompareWindow *self, guint runs, guint messages);

G_END_DECLS
