/* rough-edges-newcomer.c - what got in the way of a developer's first hour
 * with a program of their own (qadev12): the side panels --panel names,
 * the panel in a small window, the Errors panel's call sites.
 */
#include <adwaita.h>
#include <string.h>

#include "rough-edges.h"
#include "ravscope-sites.h"

/* A window opened on path with --panel's start panel set, as the
 * application sets it from the command line. */
static RavscopeWindow *open_with_panel(const char *path, const char *panel, int width, int height)
{
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), width, height);
	ravscope_window_set_start(w, -1, RAV_LOC_NONE, ravscope_window_panel_name(panel));
	gtk_window_present(GTK_WINDOW(w));
	GFile *f = g_file_new_for_path(path);
	ravscope_window_open(w, f);
	g_object_unref(f);
	gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
	for (;;) {
		RavscopeDocument *doc = ravscope_window_get_document(w);
		if (doc && ravscope_document_is_indexed(doc))
			break;
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for indexing");
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
	spin_a_bit();
	return w;
}

/* --panel took five of the side stack's names only (inspector, events,
 * sites, contention, charts): "--panel=breaks", errors, graph, explain,
 * and Cell or Lines as their tabs say, were refused.  Every tab a trace
 * has is now taken by its title, in any case, and by the panel's name; the
 * names the message lists are those; and a window started with one shows
 * that panel. */
void test_panel_names(void)
{
	const char *path = demo("list");
	g_assert_nonnull(path);
	RavscopeWindow *w = open_window(path, 1400, 900);
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	g_assert_nonnull(stack);
	GtkSelectionModel *pages = adw_view_stack_get_pages(stack);
	guint n = g_list_model_get_n_items(G_LIST_MODEL(pages)), tabs = 0;
	g_auto(GStrv) listed = g_strsplit(ravscope_window_panel_names(), ", ", -1);
	for (guint i = 0; i < n; i++) {
		AdwViewStackPage *p = g_list_model_get_item(G_LIST_MODEL(pages), i);
		const char *title = adw_view_stack_page_get_title(p), *name = adw_view_stack_page_get_name(p);
		if (adw_view_stack_page_get_visible(p) && title && name) {
			tabs++;
			g_autofree char *lower = g_ascii_strdown(title, -1), *upper = g_ascii_strup(title, -1);
			g_assert_cmpstr(ravscope_window_panel_name(title), ==, name);
			g_assert_cmpstr(ravscope_window_panel_name(lower), ==, name);
			g_assert_cmpstr(ravscope_window_panel_name(upper), ==, name);
			g_assert_cmpstr(ravscope_window_panel_name(name), ==, name);
			g_assert_true(g_strv_contains((const char *const *)listed, lower));
		}
		g_object_unref(p);
	}
	g_object_unref(pages);
	g_assert_cmpuint(tabs, ==, g_strv_length(listed));
	g_assert_null(ravscope_window_panel_name("breakpoint"));
	g_assert_null(ravscope_window_panel_name(""));
	close_window(w);

	const char *tries[][2] = {{"breaks", "breakpoints"}, {"Errors", "errors"}, {"lines", "contention"}, {"CELL", "inspector"}};
	for (guint i = 0; i < G_N_ELEMENTS(tries); i++) {
		w = open_with_panel(path, tries[i][0], 1400, 900);
		stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
		g_assert_cmpstr(adw_view_stack_get_visible_child_name(stack), ==, tries[i][1]);
		AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
		g_assert_true(adw_flap_get_reveal_flap(flap));
		close_window(w);
	}
}

/* Below about 1000 pixels the side panel folds over the heap; a window
 * started with --panel there showed no panel at all (the tab chosen, the
 * flap closed: it folded after the panel was asked for, and a flap that
 * folds closes). */
void test_panel_small_window(void)
{
	const char *path = demo("list");
	g_assert_nonnull(path);
	RavscopeWindow *w = open_with_panel(path, "events", 900, 600);
	AdwFlap *flap = ADW_FLAP(find_by_type(GTK_WIDGET(w), "AdwFlap"));
	g_assert_nonnull(flap);
	g_assert_true(adw_flap_get_folded(flap));
	g_assert_true(adw_flap_get_reveal_flap(flap));
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	g_assert_cmpstr(adw_view_stack_get_visible_child_name(stack), ==, "events");
	/* and it closes as before, with the sidebar button */
	gtk_widget_activate_action(GTK_WIDGET(w), "win.toggle-sidebar", NULL);
	spin_a_bit();
	g_assert_false(adw_flap_get_reveal_flap(flap));
	close_window(w);
}

/* The Errors panel said what went wrong, in which thread and at which
 * event, but not where in the program: the line (the Events panel names
 * it) was one search away.  Each row's subtitle now has the error's call
 * site: rav-sample-live --errors misuses rav_new_root in live.c. */
void test_errors_site(void)
{
	const char *path = demo("live-errors");
	if (!path) {
		g_test_skip("no live-errors.ravtrace (a build without tracing)");
		return;
	}
	RavscopeWindow *w = open_window(path, 1400, 900);
	GtkWidget *panel = show_panel(w, "errors");
	g_assert_nonnull(panel);
	gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
	GtkWidget *row;
	while (!(row = find_by_type(panel, "AdwActionRow"))) {
		if (g_get_monotonic_time() > deadline)
			g_error("no error row in the Errors panel after 30 s");
		spin_a_bit();
	}
	const char *sub = adw_action_row_get_subtitle(ADW_ACTION_ROW(row));
	g_test_message("error row: %s", sub);
	g_assert_nonnull(sub);
	g_assert_nonnull(strstr(sub, "type mismatch"));
	g_assert_nonnull(strstr(sub, "live.c:"));
	g_assert_nonnull(strstr(sub, " · event "));
	close_window(w);
}

/* The Breaks panel's "Hit no." showed 0, which means every hit (its
 * tooltip said so, the field did not): it now reads "every hit", a number
 * reads as one, and "every hit" typed back is 0. */
void test_hit_count_words(void)
{
	RavscopeWindow *w = open_window(demo("list"), 1400, 900);
	GtkWidget *panel = show_panel(w, "breakpoints");
	GtkSpinButton *spin = GTK_SPIN_BUTTON(find_by_type(panel, "GtkSpinButton"));
	g_assert_nonnull(spin);
	g_assert_cmpint(gtk_spin_button_get_value_as_int(spin), ==, 0);
	g_assert_cmpstr(gtk_editable_get_text(GTK_EDITABLE(spin)), ==, "every hit");
	gtk_spin_button_set_value(spin, 1000);
	spin_a_bit();
	g_assert_cmpstr(gtk_editable_get_text(GTK_EDITABLE(spin)), ==, "1000");
	gtk_editable_set_text(GTK_EDITABLE(spin), "every hit");
	gtk_spin_button_update(spin);
	g_assert_cmpint(gtk_spin_button_get_value_as_int(spin), ==, 0);
	g_assert_cmpstr(gtk_editable_get_text(GTK_EDITABLE(spin)), ==, "every hit");
	gtk_editable_set_text(GTK_EDITABLE(spin), "7");
	gtk_spin_button_update(spin);
	g_assert_cmpint(gtk_spin_button_get_value_as_int(spin), ==, 7);
	/* which conditions count calls and which events (dbg13) */
	const char *tip = gtk_widget_get_tooltip_text(GTK_WIDGET(spin));
	g_assert_nonnull(tip);
	g_assert_nonnull(strstr(tip, "one hit per call"));
	g_assert_nonnull(strstr(tip, "count events"));
	close_window(w);
}

/* "main paused after main compaction done: 0 moves" (qadev12): the live
 * bar's stop texts, for every event kind and every reason, are sentences:
 * the thread and what it did, then the event after a label, ending with a
 * full stop (the head is checked whole: never "paused after" a clause
 * whose subject is not the thread). */
void test_stop_texts(void)
{
	RavscopeWindow *w = open_window(demo("list"), 1400, 900);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_trace_thread th;
	g_assert_true(rav_trace_thread_at(t, 0, &th));
	g_autofree char *name = ravscope_document_heap_name(doc, th.heap_id);
	static const char *const opening[] = {NULL, " stopped at breakpoint 4 (hit 2).", " paused.", " stepped."};
	static const char *const label[] = {NULL, " Its event: ", " Its last event: ", " Its event: "};
	unsigned checked = 0;
	for (unsigned kind = 1; kind < RAV_EV_KIND_COUNT; kind++) {
		if (kind == RAV_EV_TIME)
			continue;
		rav_event ev = {.kind = (uint16_t)kind, .thread = th.heap_id, .x = th.heap_id, .b = th.heap_id,
				.text = "some text"};
		for (int why = 1; why <= 3; why++) {
			g_autofree char *s = ravscope_document_stop_text(doc, why, th.heap_id, 4, 2, &ev);
			g_autofree char *what = ravscope_document_describe_event(doc, &ev);
			g_autofree char *head = g_strconcat(name, opening[why], label[why], NULL);
			if (!g_str_has_prefix(s, head) || !strstr(s, what) || !g_str_has_suffix(s, ".") ||
			    g_str_has_suffix(s, ".."))
				g_error("%s (%s, why %d): \"%s\"", rav_event_kind_name(kind), what, why, s);
			checked++;
		}
	}
	g_assert_cmpuint(checked, >=, 3 * 30);
	/* no event received: the first sentence alone */
	g_autofree char *bare = ravscope_document_stop_text(doc, 2, th.heap_id, 0, 0, NULL);
	g_autofree char *want = g_strconcat(name, " paused.", NULL);
	g_assert_cmpstr(bare, ==, want);
	/* "which line of my code did this?": an event with a call site names
	 * it (the live bar said only what the event was, new18) */
	rav_event sited;
	guint64 n = rav_trace_indexed_events(t), i = 0;
	while (i < n && rav_trace_event_at(t, i, &sited) && !sited.site)
		i++;
	g_assert_cmpuint(i, <, n);
	g_autofree char *where = ravscope_site_label(t, sited.site);
	g_assert_nonnull(strstr(where, "list.c:"));
	g_autofree char *with_site = ravscope_document_stop_text(doc, 1, sited.thread, 1, 1, &sited);
	g_autofree char *tail = g_strconcat(", called from ", where, ".", NULL);
	if (!g_str_has_suffix(with_site, tail))
		g_error("the stop text does not end with the call site \"%s\": \"%s\"", tail, with_site);
	rav_event compact = {.kind = RAV_EV_COMPACT_END, .thread = th.heap_id, .x = th.heap_id};
	g_autofree char *s = ravscope_document_stop_text(doc, 2, th.heap_id, 0, 0, &compact);
	g_printerr("%s\n", s);
	close_window(w);
}
