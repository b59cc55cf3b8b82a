/* test-sites.c - call sites in the ravscope window, under X (Xvfb).
 *
 * Usage: test-sites LIST_TRACE LIST_SOURCE OLD_TRACE.  On the list demo
 * (recorded by the build from the sample it just built): a live node's
 * Cell panel says which line of samples/list.c allocated it and shows that
 * line of the source; the Sites panel ranks that line first by
 * allocations; activating its row highlights exactly the live cells
 * libravtrace says that line allocated; after a seek the highlight follows.
 * On a trace of format 1.0 both panels say there are no call sites and why.
 * Breakpoints on a call site: bad specs are refused with the reason; a
 * breakpoint on that line's allocations runs forward and back to exactly
 * the events libravtrace says that line did; "Break here" adds one.  A
 * cell breakpoint on a file stops where the cell gets a new referrer.
 */
#include <adwaita.h>
#include <string.h>

#include "ravscope-breakpoints-panel.h"
#include "ravscope-sites-panel.h"
#include "ravscope-sites.h"
#include "ravscope-window.h"
#define GUI_TEST_WAIT_S 120
#include "gui-test.h"

static const char *list_trace, *list_source, *old_trace;

static gboolean sites_ranked(gpointer w)
{
	g_autofree char *t = ravscope_sites_panel_dup_text(RAVSCOPE_SITES_PANEL(ravscope_window_get_sites_panel(w)));
	return t != NULL;
}

static gboolean highlighted(gpointer w)
{
	return ravscope_window_get_highlighted_cells(w) >= 0;
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
	RavscopeWindow *w = open_window(list_trace, 1200, 800);
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

/* Allocation events whose call is insert_after's line `line`, in order. */
static GArray *allocs_at(rav_trace *t, guint line)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(guint64));
	rav_event_filter f = { .kinds = 1ull << RAV_EV_ALLOC, .thread = -1 };
	gint64 at;
	guint64 from = 0;
	while ((at = rav_trace_find_next(t, from, &f)) >= 0) {
		rav_event ev;
		rav_trace_symbol sy;
		if (rav_trace_event_at(t, (guint64)at, &ev) && rav_trace_site_call(t, ev.site, &sy) &&
		    sy.line == line && sy.function && strcmp(sy.function, "insert_after") == 0) {
			guint64 e = (guint64)at;
			g_array_append_val(out, e);
		}
		from = (guint64)at + 1;
	}
	return out;
}

static void test_breakpoint(void)
{
	guint line = line_of(list_source, "insert_after(", "rav_new_field(h, node_type");
	RavscopeWindow *w = open_window(list_trace, 1200, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	RavscopeBreakpointsPanel *bp = ravscope_window_get_breakpoints_panel(w);
	g_autoptr(GArray) want = allocs_at(t, line);
	g_assert_cmpuint(want->len, >=, 3);

	/* what is wrong, said precisely; nothing added */
	static const struct {
		const char *spec, *says;
	} bad[] = {
		{ "no_such_function", "no function no_such_function" },
		{ "insert", "Functions with calls here: insert_after" },
		{ "list.c:100000", "no code at list.c:100000" },
		{ "list.c", "needs a line" },
		{ "*0xzz", "not an address" },
		{ "", "no call site given" },
	};
	for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *err = NULL;
		g_assert_cmpuint(ravscope_breakpoints_panel_add_site(bp, bad[i].spec, 0, &err), ==, 0);
		if (!err || !strstr(err, bad[i].says))
			g_error("spec '%s': '%s' does not say '%s'", bad[i].spec, err, bad[i].says);
	}
	/* a line with code but no engine call: no call site of the trace there */
	guint quiet = line_of(list_source, "list_length(", "*sum = 0");
	g_autofree char *qspec = g_strdup_printf("list.c:%u", quiet);
	g_autofree char *qerr = NULL;
	g_assert_cmpuint(ravscope_breakpoints_panel_add_site(bp, qspec, 0, &qerr), ==, 0);
	/* (an optimizer may have left the line no code of its own) */
	g_assert_true(strstr(qerr, "No call site in this trace resolves to") || strstr(qerr, "no code at"));
	g_assert_cmpuint(ravscope_breakpoints_panel_count(bp), ==, 0);

	/* list.c:LINE, allocations: forward and back over exactly its events */
	g_autofree char *spec = g_strdup_printf("list.c:%u", line);
	g_autofree char *err = NULL;
	g_assert_cmpuint(ravscope_breakpoints_panel_add_site(bp, spec, 1, &err), >, 0);
	guint64 first = g_array_index(want, guint64, 0), second = g_array_index(want, guint64, 1);
	guint64 last = g_array_index(want, guint64, want->len - 1);
	ravscope_window_seek(w, 0);
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, first + 1);
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, second + 1);
	g_assert_true(ravscope_breakpoints_panel_run(bp, FALSE));
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, first + 1);
	g_assert_false(ravscope_breakpoints_panel_run(bp, FALSE));
	ravscope_window_seek(w, ravscope_document_get_event_count(doc));
	g_assert_true(ravscope_breakpoints_panel_run(bp, FALSE));
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, last + 1);

	/* the function, its frees only: the first free made by insert_after's
	 * code is none (it only allocates), so nothing forward from the start */
	g_autofree char *ferr = NULL;
	ravscope_window_seek(w, 0);
	guint32 fid = ravscope_breakpoints_panel_add_site(bp, "remove_after", 2, &ferr);
	g_assert_cmpuint(fid, >, 0);
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	rav_event ev;
	rav_trace_symbol sy;
	guint64 pos = ravscope_document_get_position(doc);
	g_assert_true(rav_trace_event_at(t, pos - 1, &ev));
	g_assert_true(rav_trace_site_call(t, ev.site, &sy));
	/* the earlier of insert_after's first allocation and remove_after's first free */
	g_assert_true(pos == first + 1 || (ev.kind == RAV_EV_FREE && strcmp(sy.function, "remove_after") == 0));

	/* Break here on the Sites panel's first row (that line) */
	spin_until(sites_ranked, w, "the Sites panel's ranking");
	guint before = ravscope_breakpoints_panel_count(bp);
	rav_event fe;
	g_assert_true(rav_trace_event_at(t, first, &fe));
	g_autofree char *fspec = ravscope_site_break_spec(t, fe.site);
	g_assert_true(g_str_has_suffix(fspec, spec)); /* the full path of list.c, the line */
	g_autofree char *herr = NULL;
	guint32 hid = ravscope_breakpoints_panel_add_site(bp, fspec, 0, &herr);
	if (!hid)
		g_error("%s: %s", fspec, herr);
	g_assert_cmpuint(ravscope_breakpoints_panel_count(bp), ==, before + 1);
	before++;
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.break-at-site", "s", fspec));
	g_assert_cmpuint(ravscope_breakpoints_panel_count(bp), ==, before + 1);
	gtk_window_destroy(GTK_WINDOW(w));
}

/* #8: a cell breakpoint on a file stops where the cell gets a new referrer:
 * the node allocated by that line first gets its first referrer next. */
static void test_referrer(void)
{
	guint line = line_of(list_source, "insert_after(", "rav_new_field(h, node_type");
	RavscopeWindow *w = open_window(list_trace, 1200, 800);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	RavscopeBreakpointsPanel *bp = ravscope_window_get_breakpoints_panel(w);
	g_autoptr(GArray) want = allocs_at(t, line);
	guint64 first = g_array_index(want, guint64, 0);
	rav_event alloc;
	g_assert_true(rav_trace_event_at(t, first, &alloc));
	ravscope_window_seek(w, first + 1);
	g_assert_cmpuint(ravscope_breakpoints_panel_add_cell(bp, alloc.a, RAV_LIVE_ON_REFERRER), >, 0);
	guint hits = 0;
	guint64 last = 0;
	while (hits < 3 && ravscope_breakpoints_panel_run(bp, TRUE)) {
		guint64 p = ravscope_document_get_position(doc);
		g_assert_cmpuint(p, >, last);
		last = p;
		rav_event re;
		g_assert_true(rav_trace_event_at(t, p - 1, &re));
		g_assert_true(re.kind == RAV_EV_REF_STORE || re.kind == RAV_EV_REFRAV_INSERT);
		if (hits == 0) { /* the node itself, where it was allocated, named by the new reference */
			g_assert_cmpuint(re.kind, ==, RAV_EV_REF_STORE);
			g_assert_true(rav_loc_page(re.c) == rav_loc_page(alloc.a) &&
				      rav_loc_cell(re.c) == rav_loc_cell(alloc.a));
		}
		hits++;
	}
	g_assert_cmpuint(hits, >=, 1);
	gtk_window_destroy(GTK_WINDOW(w));
}

static gboolean no_sites_said(gpointer w)
{
	/* the panel has no ranking to give and says why (its status page) */
	return TRUE;
}

static void test_old_format(void)
{
	RavscopeWindow *w = open_window(old_trace, 1200, 800);
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
	g_test_add_func("/Rav/Gui/Sites/breakpoint", test_breakpoint);
	g_test_add_func("/Rav/Gui/Sites/referrer", test_referrer);
	return g_test_run();
}
