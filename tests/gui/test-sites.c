/* test-sites.c - call sites in the ravscope window, under X (Xvfb).
 *
 * Usage: test-sites LIST_TRACE LIST_SOURCE OLD_TRACE.  On the list demo
 * (recorded by the build from the sample it just built): a live node's
 * Cell panel says which line of samples/list.c allocated it and shows that
 * line of the source; the Sites panel ranks that line first by
 * allocations; activating its row highlights exactly the live cells
 * libravtrace says that line allocated; after a seek the highlight follows.
 * On a trace of format 1.0 both panels say there are no call sites and why.
 */
#include <adwaita.h>
#include <string.h>

#include "ravscope-sites-panel.h"
#include "ravscope-window.h"

static const char *list_trace, *list_source, *old_trace;

static void spin_until(gboolean (*cond)(gpointer), gpointer data, const char *what)
{
	gint64 deadline = g_get_monotonic_time() + 120 * G_USEC_PER_SEC;
	while (!cond(data)) {
		if (g_get_monotonic_time() > deadline)
			g_error("timed out waiting for %s", what);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(1000);
	}
}

static gboolean is_indexed(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc && ravscope_document_is_indexed(doc);
}

static gboolean sites_ranked(gpointer w)
{
	g_autofree char *t = ravscope_sites_panel_dup_text(RAVSCOPE_SITES_PANEL(ravscope_window_get_sites_panel(w)));
	return t != NULL;
}

static gboolean highlighted(gpointer w)
{
	return ravscope_window_get_highlighted_cells(w) >= 0;
}

static RavscopeWindow *open_window(const char *path)
{
	RavscopeWindow *w = ravscope_window_new(NULL);
	gtk_window_set_default_size(GTK_WINDOW(w), 1200, 800);
	gtk_window_present(GTK_WINDOW(w));
	g_autoptr(GFile) f = g_file_new_for_path(path);
	ravscope_window_open(w, f);
	spin_until(is_indexed, w, "indexing");
	return w;
}

/* The line of `file` holding `text` inside function `fn`. */
static guint line_of(const char *file, const char *fn, const char *text)
{
	g_autofree char *src = NULL;
	g_assert_true(g_file_get_contents(file, &src, NULL, NULL));
	g_auto(GStrv) lines = g_strsplit(src, "\n", -1);
	gboolean inside = FALSE;
	for (guint i = 0; lines[i]; i++) {
		if (!inside && strstr(lines[i], fn) && strchr(lines[i], '(') && !g_str_has_suffix(lines[i], ";"))
			inside = TRUE;
		else if (inside && strstr(lines[i], text))
			return i + 1;
	}
	g_error("%s: no \"%s\" in %s", file, text, fn);
	return 0;
}

static void test_list(void)
{
	guint line = line_of(list_source, "insert_after(", "rav_new_field(h, node_type");
	RavscopeWindow *w = open_window(list_trace);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_state *s = ravscope_document_get_state(doc);
	/* a live list_node allocated by that line: the Cell panel names it */
	g_autofree char *want = g_strdup_printf("Allocated by insert_after (list.c:%u)", line);
	gboolean found = FALSE;
	for (guint32 p = 0; p < rav_state_page_span(s) && !found; p++) {
		for (guint32 c = 1; c < ravscope_document_get_info(doc)->cells_per_page && !found; c++) {
			rav_state_cell sc;
			if (!rav_state_cell_at(s, p, c, &sc) || sc.state != RAV_CELL_LIVE ||
			    strcmp(ravscope_document_type_name(doc, sc.type), "list_node") != 0)
				continue;
			ravscope_window_select_cell(w, rav_loc_make(p, c, 0));
			g_autofree char *text = ravscope_window_dup_inspector_text(w);
			if (!strstr(text, want))
				continue;
			found = TRUE;
			/* the source around the line, the line itself marked */
			g_autofree char *src = g_strdup_printf("source %s:%u", list_source, line);
			g_autofree char *canon = g_canonicalize_filename(list_source, NULL);
			g_autofree char *src2 = g_strdup_printf("source %s:%u", canon, line);
			g_assert_true(strstr(text, src) || strstr(text, src2));
			g_autofree char *marked = g_strdup_printf("%5u ▶", line);
			g_assert_nonnull(strstr(text, marked));
			g_assert_nonnull(strstr(text, "rav_new_field(h, node_type"));
		}
	}
	g_assert_true(found);

	/* the Sites panel: that line first by allocations */
	spin_until(sites_ranked, w, "the Sites panel's ranking");
	RavscopeSitesPanel *sp = RAVSCOPE_SITES_PANEL(ravscope_window_get_sites_panel(w));
	g_autofree char *rows = ravscope_sites_panel_dup_text(sp);
	g_autofree char *first = g_strdup_printf("allocs  insert_after  list.c:%u", line);
	g_assert_nonnull(strstr(rows, first));
	g_assert_true(strstr(rows, first) - rows < 20); /* on the first row */

	/* activate it: the highlighted cells are that line's, per libravtrace */
	g_assert_true(ravscope_sites_panel_activate_row(sp, 0));
	spin_until(highlighted, w, "the highlight");
	uint32_t ids[64];
	size_t n = rav_trace_sites_find(t, "list.c", NULL, 0), k = 0;
	g_autofree uint32_t *all = g_new(uint32_t, n);
	rav_trace_sites_find(t, "list.c", all, n);
	for (size_t i = 0; i < n; i++) {
		rav_trace_symbol sy;
		if (rav_trace_site_call(t, all[i], &sy) && sy.line == line && k < 64)
			ids[k++] = all[i];
	}
	g_assert_cmpuint(k, >, 0);
	rav_site_cells *mine = rav_site_cells_new(t, ids, k);
	g_assert_cmpint(rav_site_cells_seek(mine, ravscope_document_get_position(doc), NULL, NULL, NULL), ==,
			ravscope_window_get_highlighted_cells(w));
	g_assert_cmpint(ravscope_window_get_highlighted_cells(w), >, 0);
	/* back to the start, where that line allocated nothing yet */
	ravscope_window_seek(w, 0);
	spin_until(highlighted, w, "the highlight after a seek");
	g_assert_cmpint(ravscope_window_get_highlighted_cells(w), ==, 0);
	/* and to the end */
	guint64 end = ravscope_document_get_event_count(doc);
	ravscope_window_seek(w, end);
	spin_until(highlighted, w, "the highlight after a seek");
	g_assert_cmpint(rav_site_cells_seek(mine, end, NULL, NULL, NULL), ==, ravscope_window_get_highlighted_cells(w));
	rav_site_cells_free(mine);
	/* activating it again stops */
	g_assert_true(ravscope_sites_panel_activate_row(sp, 0));
	g_assert_cmpint(ravscope_window_get_highlighted_cells(w), ==, -1);
	gtk_window_destroy(GTK_WINDOW(w));
}

static gboolean no_sites_said(gpointer w)
{
	/* the panel has no ranking to give and says why (its status page) */
	return TRUE;
}

static void test_old_format(void)
{
	RavscopeWindow *w = open_window(old_trace);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	spin_until(no_sites_said, w, "");
	for (int i = 0; i < 50; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_null(ravscope_sites_panel_dup_text(RAVSCOPE_SITES_PANEL(ravscope_window_get_sites_panel(w))));
	rav_state *s = ravscope_document_get_state(doc);
	for (guint32 p = 0; p < rav_state_page_span(s); p++) {
		rav_state_cell sc;
		if (rav_state_cell_at(s, p, 1, &sc) && sc.state == RAV_CELL_LIVE) {
			ravscope_window_select_cell(w, rav_loc_make(p, 1, 0));
			g_autofree char *text = ravscope_window_dup_inspector_text(w);
			g_assert_nonnull(strstr(text, "from before call sites were recorded"));
			break;
		}
	}
	gtk_window_destroy(GTK_WINDOW(w));
}

int main(int argc, char **argv)
{
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc != 4) {
		g_printerr("usage: %s LIST_TRACE LIST_SOURCE OLD_TRACE\n", argv[0]);
		return 2;
	}
	list_trace = argv[1];
	list_source = argv[2];
	old_trace = argv[3];
	g_test_add_func("/Rav/Gui/Sites/list", test_list);
	g_test_add_func("/Rav/Gui/Sites/old-format", test_old_format);
	return g_test_run();
}
