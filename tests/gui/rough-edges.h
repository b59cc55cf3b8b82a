/* rough-edges.h - what the files of test-rough-edges share: the demo traces
 * given on the command line, the helpers that drive a window, and the test
 * paths each file registers (one file per part of the window the rough
 * edges of issue #12 were in: rough-edges-*.c).
 */
#pragma once

#include <adwaita.h>

#include "ravscope-charts-panel.h"
#include "ravscope-charts.h"
#include "ravscope-heap-view.h"
#include "ravscope-heapdraw.h"
#include "ravscope-playback.h"
#include "ravscope-window.h"
#include "format.h"
#include "ravscope-application.h"
#include "gui-test.h"

/* The demo trace whose file name starts with name, or NULL. */
const char *demo(const char *name);
/* spin_a_bit, open_window, close_window, find_by_type, find_with_tooltip,
 * find_with_class: gui-test.h */
GtkWidget *show_panel(RavscopeWindow *w, const char *name);
GtkPopover *popover_of(GtkWidget *w);
RavscopeDocument *open_doc(const char *path);
cairo_surface_t *draw_heap(RavscopeDocument *doc, RavscopeViewport *vp, int w, int h, double zoom,
				  RavscopeHeapLayout **layout_out);
gboolean same_rows(cairo_surface_t *a, cairo_surface_t *b, int y0, int y1);

/* rough-edges-controls.c */
void test_small_window(void);
void test_events_panel_scrolls(void);
void test_speed_unit(void);
void test_space_after_choice(void);
/* rough-edges-heap.c */
void test_camera(void);
void test_status_and_times(void);
void test_legend(void);
/* rough-edges-timeline.c */
void test_mark_labels(void);
void test_tabs_and_charts(void);
/* rough-edges-first-minutes.c */
void test_opening(void);
void test_empty_trace(void);
void test_filter_items(void);
void test_placeholders(void);
void test_counts_agree(void);
void test_palette(void);
void test_cell_text(void);
void test_no_dbus(void);
/* rough-edges-newcomer.c */
void test_panel_names(void);
void test_panel_small_window(void);
void test_errors_site(void);
void test_hit_count_words(void);
void test_stop_texts(void);
