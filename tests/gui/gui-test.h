/* gui-test.h - what the tests that drive a window (under X, Xvfb) share:
 * running the main loop until something holds, with a deadline that fails
 * the test; a window of a size, presented, with a trace opened (and
 * indexed); finding a widget in a window's tree.  A test that needs a
 * longer wait defines GUI_TEST_WAIT_S before including this (a machine
 * under load draws late); one that spins less between steps,
 * GUI_TEST_SPIN_ROUNDS.
 */
#pragma once

#include <adwaita.h>

#include "ravscope-window.h"

#ifndef GUI_TEST_WAIT_S
#define GUI_TEST_WAIT_S 60 /* spin_until's deadline, seconds */
#endif
#ifndef GUI_TEST_SPIN_ROUNDS
#define GUI_TEST_SPIN_ROUNDS 50 /* spin_a_bit: rounds of what is pending, 2 ms apart */
#endif

/* Run the main loop until cond(data) holds (TRUE) or `seconds` pass (FALSE). */
static inline gboolean spin_until_for(gboolean (*cond)(gpointer), gpointer data, double seconds)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)(seconds * G_USEC_PER_SEC);
	while (!cond(data)) {
		if (g_get_monotonic_time() > deadline)
			return FALSE;
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	return TRUE;
}

/* The same within GUI_TEST_WAIT_S, or the test fails naming `what`. */
static inline void spin_until(gboolean (*cond)(gpointer), gpointer data, const char *what)
{
	if (!spin_until_for(cond, data, GUI_TEST_WAIT_S))
		g_error("timed out waiting for %s", what);
}

/* Let what a change set off (layout, frames, idle work) run. */
static inline void spin_a_bit(void)
{
	for (int i = 0; i < GUI_TEST_SPIN_ROUNDS; i++) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(2000);
	}
}

static inline gboolean is_indexed(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc && ravscope_document_is_indexed(doc);
}

/* A window of that size, presented, nothing opened. */
static inline RavscopeWindow *present_window(int width, int height)
{
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	gtk_window_present(GTK_WINDOW(w));
	return w;
}

/* Open the trace at path in w (it is read and indexed in the background). */
static inline void open_path(RavscopeWindow *w, const char *path)
{
	GFile *f = g_file_new_for_path(path);
	ravscope_window_open(w, f);
	g_object_unref(f);
}

/* A window of that size with path opened and indexed (path may be NULL),
 * and what that set off run. */
static inline RavscopeWindow *open_window(const char *path, int width, int height)
{
	RavscopeWindow *w = present_window(width, height);
	if (path) {
		open_path(w, path);
		spin_until(is_indexed, w, "indexing");
		spin_a_bit();
	}
	spin_a_bit();
	return w;
}

static inline void close_window(RavscopeWindow *w)
{
	gtk_window_destroy(GTK_WINDOW(w));
	spin_a_bit();
}

/* The first widget of a type under w, popovers left out (drop-downs hold
 * list views of their own). */
static inline GtkWidget *find_by_type(GtkWidget *w, const char *type_name)
{
	if (g_strcmp0(G_OBJECT_TYPE_NAME(w), type_name) == 0)
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_by_type(c, type_name);
		if (found)
			return found;
	}
	return NULL;
}

/* The first widget of that type whose tooltip starts with tip_start, popovers
 * left out. */
static inline GtkWidget *find_with_tooltip(GtkWidget *w, GType type, const char *tip_start)
{
	if (G_TYPE_CHECK_INSTANCE_TYPE(w, type) && gtk_widget_get_tooltip_text(w) &&
	    g_str_has_prefix(gtk_widget_get_tooltip_text(w), tip_start))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_with_tooltip(c, type, tip_start);
		if (found)
			return found;
	}
	return NULL;
}

/* The first widget with that CSS class, popovers left out. */
static inline GtkWidget *find_with_class(GtkWidget *w, const char *css_class)
{
	if (gtk_widget_has_css_class(w, css_class))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		if (GTK_IS_POPOVER(c))
			continue;
		GtkWidget *found = find_with_class(c, css_class);
		if (found)
			return found;
	}
	return NULL;
}
