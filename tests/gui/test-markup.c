/* test-markup.c - names from a trace are text, not Pango markup, under X
 * (Xvfb).
 *
 * Usage: test-markup MARKUP_TRACE [ODD_TRACE] (hostile-gen's class
 * "markup": thread, type and field names, marks, error texts and a call
 * site's object path of `<b>`, `&`, `a<b>c`, `</span>`, one not UTF-8;
 * ODD_TRACE: odd-function.c's recording, whose call sites are in a function
 * of the program named "odd\xff<b>&fn", resolved from its symbol table).  The window shows
 * each side panel in turn with a cell selected and steps through the
 * trace: a label, row or group given such a name as markup makes GTK warn
 * ("Failed to set text ... from markup"), which g_test_init makes fatal,
 * and shows nothing.  Where it is cheap the panels' visible texts are
 * checked to hold the names literally.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <stdarg.h>
#include <string.h>

#include "ravscope-window-private.h" /* ravscope__window_toast */
#define GUI_TEST_WAIT_S 120
#include "gui-test.h"

static const char *markup_trace, *odd_trace;

static GtkWidget *show_panel(RavscopeWindow *w, const char *name)
{
	AdwViewStack *stack = ADW_VIEW_STACK(find_by_type(GTK_WIDGET(w), "AdwViewStack"));
	g_assert_nonnull(stack);
	adw_view_stack_set_visible_child_name(stack, name);
	spin_a_bit();
	return adw_view_stack_get_visible_child(stack);
}

/* What the labels under w show (their text, markup taken out), one a line. */
static void collect(GtkWidget *w, GString *out)
{
	if (GTK_IS_LABEL(w)) {
		g_string_append(out, gtk_label_get_text(GTK_LABEL(w)));
		g_string_append_c(out, '\n');
	}
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
		collect(c, out);
}

static char *shown_text(GtkWidget *w)
{
	GString *s = g_string_new(NULL);
	collect(w, s);
	return g_string_free(s, FALSE);
}

/* The button under w labelled `label`. */
static GtkWidget *find_button(GtkWidget *w, const char *label)
{
	if (GTK_IS_BUTTON(w) && !g_strcmp0(gtk_button_get_label(GTK_BUTTON(w)), label))
		return w;
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
		GtkWidget *b = find_button(c, label);
		if (b)
			return b;
	}
	return NULL;
}

typedef struct {
	GtkWidget *panel;
	const char *want;
} Wait;

static gboolean panel_shows(gpointer data)
{
	Wait *wt = data;
	g_autofree char *t = shown_text(wt->panel);
	return strstr(t, wt->want) != NULL;
}

/* Wait until panel's labels show `want`, then check they hold each of
 * the NULL-ended names too. */
static void expect_shown(GtkWidget *panel, const char *what, const char *want, ...)
{
	Wait wt = { panel, want };
	if (!spin_until_for(panel_shows, &wt, GUI_TEST_WAIT_S)) {
		g_autofree char *t = shown_text(panel);
		g_error("%s does not show \"%s\"; it shows:\n%s", what, want, t);
	}
	g_autofree char *t = shown_text(panel);
	va_list ap;
	va_start(ap, want);
	for (const char *s; (s = va_arg(ap, const char *));)
		if (!strstr(t, s))
			g_error("%s does not show \"%s\"; it shows:\n%s", what, s, t);
	va_end(ap);
}

static void step_through(RavscopeWindow *w, guint64 n)
{
	guint64 at[] = { 1, n / 3, n / 2, n - 1, n };
	for (guint i = 0; i < G_N_ELEMENTS(at); i++) {
		ravscope_window_seek(w, at[i]);
		spin_a_bit();
	}
}

static void test_panels(void)
{
	RavscopeWindow *w = open_window(markup_trace, 1400, 900);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	g_assert_nonnull(doc);
	guint64 n = ravscope_document_get_event_count(doc);
	g_assert_cmpuint(n, >, 10);
	ravscope_window_seek(w, n);
	spin_a_bit();
	/* thread 1's first cell: a std::vector<int> whose fields are a<b>c and </span> */
	ravscope_window_select_cell(w, rav_loc_make(1, 1, 0));
	spin_a_bit();
	static const char *const panels[] = { "inspector", "errors", "events", "sites", "contention",
					      "breakpoints", "explain", "graph", "charts" };
	for (guint p = 0; p < G_N_ELEMENTS(panels); p++) {
		g_test_message("panel %s", panels[p]);
		GtkWidget *panel = show_panel(w, panels[p]);
		g_assert_nonnull(panel);
		if (!strcmp(panels[p], "inspector")) {
			expect_shown(panel, "the Cell panel", "std::vector<int>", "a<b>c", "</span>", NULL);
			g_autofree char *t = ravscope_window_dup_inspector_text(w);
			g_assert_nonnull(strstr(t, "std::vector<int>"));
		} else if (!strcmp(panels[p], "errors")) {
			/* the message after "rav_borrow: ", the thread, the site's object */
			expect_shown(panel, "the Errors panel", "a<b>c & </span>", "operator<(a<b>, &c)", "<b>bold",
				     "a<b>c & d", "lib<b>a&b.so", NULL);
		} else if (!strcmp(panels[p], "sites")) {
			expect_shown(panel, "the Sites panel", "lib<b>a&b.so", NULL);
		} else if (!strcmp(panels[p], "contention")) {
			GtkWidget *compute = find_button(panel, "Compute Contention");
			g_assert_nonnull(compute);
			g_signal_emit_by_name(compute, "clicked");
			expect_shown(panel, "the Lines panel", " transfers · ", "<b>bold", "a<b>c & d",
				     "lib<b>a&b.so", NULL);
		}
		step_through(w, n);
		ravscope_window_seek(w, n);
		ravscope_window_select_cell(w, rav_loc_make(2, 2, 0)); /* a Foo<Bar&> &amp; */
		spin_a_bit();
	}
	close_window(w);
}

/* Select in every drop-down under w that offers it the item shown as
 * `item`; how many offered it. */
static guint select_item(GtkWidget *w, const char *item)
{
	guint n = 0;
	if (GTK_IS_DROP_DOWN(w)) {
		GListModel *m = gtk_drop_down_get_model(GTK_DROP_DOWN(w));
		for (guint i = 0; m && i < g_list_model_get_n_items(m); i++) {
			g_autoptr(GObject) o = g_list_model_get_item(m, i);
			if (GTK_IS_STRING_OBJECT(o) && !g_strcmp0(gtk_string_object_get_string(GTK_STRING_OBJECT(o)), item)) {
				gtk_drop_down_set_selected(GTK_DROP_DOWN(w), i);
				n++;
			}
		}
	}
	for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
		n += select_item(c, item);
	return n;
}

static gboolean hint_has(gpointer data)
{
	Wait *wt = data;
	const char *h = ravscope_breakpoints_panel_get_hint(RAVSCOPE_BREAKPOINTS_PANEL(wt->panel));
	return h && strstr(h, wt->want);
}

/* The Breaks panel with names that are markup or not UTF-8: a breakpoint's
 * row (its type and thread by name), Run to Breakpoint's result (the call
 * site's object), and the form's hint for a call site that resolves to
 * nothing, whose message quotes the program's path (a directory not
 * UTF-8), made as typed and when Add is pressed; a toast quoting a file
 * name that is markup and not UTF-8.  Each is shown literally, made valid
 * UTF-8, without a warning (fatal here).  (Before: the hint and the toast
 * passed the bytes on and Pango refused them.) */
static void test_breaks(void)
{
	RavscopeWindow *w = open_window(markup_trace, 1400, 900);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	ravscope_window_seek(w, 1);
	spin_a_bit();
	GtkWidget *panel = show_panel(w, "breakpoints");
	RavscopeBreakpointsPanel *bp = ravscope_window_get_breakpoints_panel(w);
	g_assert_true(GTK_WIDGET(bp) == panel || gtk_widget_is_ancestor(GTK_WIDGET(bp), panel));
	/* an allocation of std::vector<int> in thread "</span> \xff<i>" */
	g_assert_cmpuint(select_item(panel, "std::vector<int>"), >=, 1);
	g_assert_cmpuint(select_item(panel, "</span> \xef\xbf\xbd<i>"), >=, 1);
	g_assert_cmpuint(ravscope_breakpoints_panel_add_kind(bp, 1), >, 0);
	g_assert_cmpuint(ravscope_breakpoints_panel_count(bp), ==, 1);
	expect_shown(panel, "the Breaks panel's row", "Allocation of std::vector<int> in </span> \xef\xbf\xbd<i>", NULL);
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	expect_shown(panel, "Run to Breakpoint's result", "at event ", "std::vector<int>", "lib<b>a&b.so", NULL);
	g_assert_cmpuint(ravscope_document_get_position(doc), >, 1);
	/* a call site in no code: the resolver's message says why, with the
	 * program's path */
	GString *spec = g_string_new("a<b>&c");
	for (int i = 0; i < 20; i++)
		g_string_append(spec, "\xc3\xa9");
	g_autofree char *err = NULL;
	g_assert_cmpuint(ravscope_breakpoints_panel_add_site(bp, spec->str, 0, &err), ==, 0);
	g_assert_nonnull(err);
	g_test_message("the resolver says (%zu bytes, %s UTF-8): %.60s...", strlen(err),
		       g_utf8_validate(err, -1, NULL) ? "valid" : "not", err);
	g_autofree char *err_shown = ravscope_display_text(err);
	g_assert_nonnull(err_shown); /* the path's byte: not UTF-8 */
	Wait path = { GTK_WIDGET(bp), "/nonexistent/</span>\xef\xbf\xbd/lib<b>a&b.so" };
	Wait wt = { GTK_WIDGET(bp), "no function a<b>&c\xc3\xa9" };
	if (!spin_until_for(hint_has, &wt, GUI_TEST_WAIT_S))
		g_error("the form's hint does not name the function: %s", ravscope_breakpoints_panel_get_hint(bp));
	if (!hint_has(&path))
		g_error("the form's hint does not name the program: %s", ravscope_breakpoints_panel_get_hint(bp));
	/* the check made as typed (on a worker thread, 300 ms after the last key) */
	GtkWidget *entry = find_with_tooltip(panel, GTK_TYPE_ENTRY, "Stop at events of the program's calls");
	g_assert_nonnull(entry);
	spec->str[0] = 'x';
	gtk_editable_set_text(GTK_EDITABLE(entry), spec->str);
	wt.want = "no function x<b>&c\xc3\xa9";
	if (!spin_until_for(hint_has, &wt, GUI_TEST_WAIT_S))
		g_error("the check's hint does not name the function: %s", ravscope_breakpoints_panel_get_hint(bp));
	if (!hint_has(&path))
		g_error("the check's hint does not name the program: %s", ravscope_breakpoints_panel_get_hint(bp));
	g_string_free(spec, TRUE);
	/* a toast (Save As, Export) quoting a file name */
	ravscope__window_toast(w, "Saved /tmp/a<b>c & \xff</span>.ravtrace");
	expect_shown(GTK_WIDGET(w), "the toast", "Saved /tmp/a<b>c & \xef\xbf\xbd</span>.ravtrace", NULL);
	close_window(w);
}

/* The odd function's name as shown: made valid UTF-8, markup as text. */
#define ODD_SHOWN "odd\xef\xbf\xbd<b>&fn"
#define ODD_RAW "odd\xff<b>&fn"

/* A call site in a function of the program whose name is not UTF-8 and is
 * markup (odd-function.c, named from the symbol table): every panel shows
 * it as text, made valid, without a warning (fatal here); the Breaks panel
 * takes the name as shown (what its hint suggests, what a user types or
 * pastes) as well as its bytes. */
static void test_breaks_function(void)
{
	if (!odd_trace) {
		g_test_skip("no odd-function recording (built without tracing)");
		return;
	}
	RavscopeWindow *w = open_window(odd_trace, 1400, 900);
	RavscopeDocument *doc = ravscope_window_get_document(w);
	g_assert_nonnull(doc);
	rav_trace *t = ravscope_document_get_trace(doc);
	guint64 n = ravscope_document_get_event_count(doc);
	g_assert_cmpuint(n, >, 10);
	/* the first list's mark, and a cell of that list (allocated just before) */
	rav_event ev;
	guint64 mark = 0;
	for (guint64 i = 0; i < n && !mark; i++)
		if (rav_trace_event_at(t, i, &ev) && ev.kind == RAV_EV_MARK && ev.text && g_str_has_prefix(ev.text, ODD_RAW))
			mark = i;
	g_assert_cmpuint(mark, >, 0);
	rav_loc cell = RAV_LOC_NONE;
	for (guint64 i = mark; i-- > 0 && cell == RAV_LOC_NONE;)
		if (rav_trace_event_at(t, i, &ev) && ev.kind == RAV_EV_ALLOC)
			cell = (rav_loc)ev.a;
	g_assert_true(cell != RAV_LOC_NONE);
	ravscope_window_seek(w, mark + 1);
	spin_a_bit();
	ravscope_window_select_cell(w, cell);
	spin_a_bit();
	static const char *const panels[] = { "inspector",   "errors",  "events", "sites", "contention",
					      "breakpoints", "explain", "graph",  "charts" };
	for (guint p = 0; p < G_N_ELEMENTS(panels); p++) {
		g_test_message("panel %s", panels[p]);
		GtkWidget *panel = show_panel(w, panels[p]);
		g_assert_nonnull(panel);
		if (!strcmp(panels[p], "inspector"))
			expect_shown(panel, "the Cell panel", ODD_SHOWN, NULL);
		else if (!strcmp(panels[p], "errors"))
			expect_shown(panel, "the Errors panel", ODD_SHOWN, NULL);
		else if (!strcmp(panels[p], "sites"))
			expect_shown(panel, "the Sites panel", ODD_SHOWN, NULL);
		step_through(w, n);
		ravscope_window_seek(w, mark + 1);
		ravscope_window_select_cell(w, cell);
		spin_a_bit();
	}
	/* a breakpoint on the function, by its bytes and by its name as shown */
	show_panel(w, "breakpoints");
	RavscopeBreakpointsPanel *bp = ravscope_window_get_breakpoints_panel(w);
	static const char *const specs[] = { ODD_RAW, ODD_SHOWN };
	for (guint i = 0; i < G_N_ELEMENTS(specs); i++) {
		g_autofree char *err = NULL;
		guint32 id = ravscope_breakpoints_panel_add_site(bp, specs[i], 0, &err);
		if (!id)
			g_error("no breakpoint on %s: %s", i ? "the shown name" : "the name's bytes", err ? err : "?");
		g_assert_cmpuint(ravscope_breakpoints_panel_count(bp), ==, i + 1);
	}
	expect_shown(GTK_WIDGET(bp), "the Breaks panel's rows", ODD_SHOWN, NULL);
	ravscope_window_seek(w, 1);
	spin_a_bit();
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	expect_shown(GTK_WIDGET(bp), "Run to Breakpoint's result", "at event ", ODD_SHOWN, NULL);
	/* a name that is not there: the hint suggests the function as shown */
	g_autofree char *err = NULL;
	g_assert_cmpuint(ravscope_breakpoints_panel_add_site(bp, "b>&f", 0, &err), ==, 0);
	Wait wt = { GTK_WIDGET(bp), ODD_SHOWN };
	if (!spin_until_for(hint_has, &wt, GUI_TEST_WAIT_S))
		g_error("the form's hint does not suggest the function: %s", ravscope_breakpoints_panel_get_hint(bp));
	close_window(w);
}

static gboolean shows_error(gpointer w)
{
	return !g_strcmp0(ravscope_window_get_page(w), "error");
}

/* A file whose name is markup that cannot be opened: the error page's
 * title names it and its description (markup) says why, with the path. */
static void test_error_page(void)
{
	g_autofree char *dir = g_dir_make_tmp("ravscope-markup-XXXXXX", NULL);
	g_assert_nonnull(dir);
	g_autofree char *missing = g_build_filename(dir, "a<b>c & 'd' <i>.ravtrace", NULL);
	RavscopeWindow *w = present_window(900, 600);
	open_path(w, missing);
	spin_until(shows_error, w, "the error page");
	spin_a_bit();
	const char *msg = ravscope_window_get_error_text(w);
	g_assert_nonnull(msg);
	if (!strstr(msg, "a<b>c & 'd' <i>.ravtrace"))
		g_error("the error does not name the file: \"%s\"", msg);
	g_autofree char *t = shown_text(GTK_WIDGET(w));
	if (!strstr(t, msg))
		g_error("the error page does not show \"%s\"; it shows:\n%s", msg, t);
	close_window(w);
	g_rmdir(dir);
}

int main(int argc, char **argv)
{
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc < 2) {
		g_printerr("usage: test-markup MARKUP_TRACE\n");
		return 2;
	}
	markup_trace = argv[1];
	odd_trace = argc > 2 ? argv[2] : NULL;
	g_test_add_func("/Rav/Gui/Markup/panels", test_panels);
	g_test_add_func("/Rav/Gui/Markup/error-page", test_error_page);
	g_test_add_func("/Rav/Gui/Markup/breaks", test_breaks);
	g_test_add_func("/Rav/Gui/Markup/breaks-function", test_breaks_function);
	return g_test_run();
}
