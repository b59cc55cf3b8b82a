/* test-markup.c - names from a trace are text, not Pango markup, under X
 * (Xvfb).
 *
 * Usage: test-markup MARKUP_TRACE (hostile-gen's class "markup": thread,
 * type and field names, marks, error texts and a call site's object path
 * of `<b>`, `&`, `a<b>c`, `</span>`, one not UTF-8).  The window shows
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

#include "ravscope-window.h"
#define GUI_TEST_WAIT_S 120
#include "gui-test.h"

static const char *markup_trace;

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
	g_test_add_func("/Rav/Gui/Markup/panels", test_panels);
	g_test_add_func("/Rav/Gui/Markup/error-page", test_error_page);
	return g_test_run();
}
