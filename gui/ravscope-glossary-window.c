/* ravscope-glossary-window.c - the Glossary window.
 *
 * One row per entry of libravtrace's glossary (term in bold, definition
 * below with the other terms as links); a link to another term scrolls to
 * it and highlights it, so a student can follow a definition's words.
 * The search filters by term and definition.  The window hides on close
 * and is reused: links from any window of the application open this one.
 */
#include "ravscope-glossary-window.h"

#include "ravscope-explain.h"
#include "ravtrace.h"

struct _RavscopeGlossaryWindow {
	AdwWindow parent_instance;
	GtkSearchEntry *search; /* template */
	GtkScrolledWindow *scroller;
	GtkListBox *list;
	const char *current; /* interned id of the highlighted term */
	guint scroll_source;
};

G_DEFINE_FINAL_TYPE(RavscopeGlossaryWindow, ravscope_glossary_window, ADW_TYPE_WINDOW)

static RavscopeGlossaryWindow *the_window;

static GtkWidget *row_of(RavscopeGlossaryWindow *self, const char *id)
{
	for (GtkWidget *r = gtk_widget_get_first_child(GTK_WIDGET(self->list)); r;
	     r = gtk_widget_get_next_sibling(r))
		if (g_strcmp0(g_object_get_data(G_OBJECT(r), "term-id"), id) == 0)
			return r;
	return NULL;
}

static gboolean scroll_cb(gpointer user)
{
	RavscopeGlossaryWindow *self = user;
	self->scroll_source = 0;
	GtkWidget *row = self->current ? row_of(self, self->current) : NULL;
	if (!row)
		return G_SOURCE_REMOVE;
	double x, y;
	if (gtk_widget_translate_coordinates(row, GTK_WIDGET(self->list), 0, 0, &x, &y)) {
		GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(self->scroller);
		gtk_adjustment_set_value(adj, MAX(0, y - 12));
	}
	return G_SOURCE_REMOVE;
}

static void show_term(RavscopeGlossaryWindow *self, const char *id)
{
	const rav_glossary_entry *e = rav_glossary_find(id);
	if (!e)
		return;
	if (self->current) {
		GtkWidget *old = row_of(self, self->current);
		if (old)
			gtk_widget_remove_css_class(old, "ravscope-current-term");
	}
	self->current = g_intern_string(e->id);
	GtkWidget *row = row_of(self, self->current);
	if (!row)
		return;
	/* A search that hides the term would hide what was asked for. */
	if (!gtk_widget_get_child_visible(row))
		gtk_editable_set_text(GTK_EDITABLE(self->search), "");
	gtk_widget_add_css_class(row, "ravscope-current-term");
	/* Scroll once the rows have their sizes. */
	if (!self->scroll_source)
		self->scroll_source = g_timeout_add(30, scroll_cb, self);
}

static gboolean on_link(GtkLabel *label, const char *uri, RavscopeGlossaryWindow *self)
{
	if (g_str_has_prefix(uri, "glossary:")) {
		show_term(self, uri + 9);
		return TRUE;
	}
	return ravscope_activate_link(label, uri, NULL);
}

static gboolean filter_row(GtkListBoxRow *row, gpointer user)
{
	RavscopeGlossaryWindow *self = user;
	const char *q = gtk_editable_get_text(GTK_EDITABLE(self->search));
	if (!q || !*q)
		return TRUE;
	const rav_glossary_entry *e = rav_glossary_find(g_object_get_data(G_OBJECT(row), "term-id"));
	if (!e)
		return FALSE;
	g_autofree char *needle = g_utf8_casefold(q, -1);
	g_autofree char *term = g_utf8_casefold(e->term, -1);
	g_autofree char *forms = g_utf8_casefold(e->forms, -1);
	g_autofree char *def = g_utf8_casefold(e->definition, -1);
	return strstr(term, needle) || strstr(forms, needle) || strstr(def, needle);
}

static void on_search_changed(GtkSearchEntry *entry, RavscopeGlossaryWindow *self)
{
	gtk_list_box_invalidate_filter(self->list);
}

static void build_rows(RavscopeGlossaryWindow *self)
{
	for (unsigned i = 0; i < rav_glossary_count(); i++) {
		const rav_glossary_entry *e = rav_glossary_at(i);
		GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
		gtk_widget_set_margin_start(box, 12);
		gtk_widget_set_margin_end(box, 12);
		gtk_widget_set_margin_top(box, 10);
		gtk_widget_set_margin_bottom(box, 10);
		GtkWidget *term = gtk_label_new(e->term);
		gtk_label_set_xalign(GTK_LABEL(term), 0);
		gtk_widget_add_css_class(term, "heading");
		gtk_box_append(GTK_BOX(box), term);
		g_autofree char *markup = ravscope_text_markup(e->definition, FALSE, e->id);
		GtkWidget *def = gtk_label_new(NULL);
		gtk_label_set_markup(GTK_LABEL(def), markup);
		gtk_label_set_wrap(GTK_LABEL(def), TRUE);
		gtk_label_set_xalign(GTK_LABEL(def), 0);
		gtk_label_set_selectable(GTK_LABEL(def), FALSE);
		g_signal_connect(def, "activate-link", G_CALLBACK(on_link), self);
		gtk_box_append(GTK_BOX(box), def);
		GtkWidget *row = gtk_list_box_row_new();
		gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
		gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
		g_object_set_data(G_OBJECT(row), "term-id", (gpointer)g_intern_string(e->id));
		gtk_list_box_append(self->list, row);
	}
	gtk_list_box_set_filter_func(self->list, filter_row, self, NULL);
}

RavscopeGlossaryWindow *ravscope_glossary_show(GtkWindow *parent, const char *id)
{
	if (!the_window) {
		the_window = g_object_new(RAVSCOPE_TYPE_GLOSSARY_WINDOW, NULL);
		g_object_add_weak_pointer(G_OBJECT(the_window), (gpointer *)&the_window);
		if (parent)
			gtk_window_set_application(GTK_WINDOW(the_window),
			                           gtk_window_get_application(parent));
	}
	if (parent && parent != GTK_WINDOW(the_window))
		gtk_window_set_transient_for(GTK_WINDOW(the_window), parent);
	if (id)
		show_term(the_window, id);
	gtk_window_present(GTK_WINDOW(the_window));
	return the_window;
}

const char *ravscope_glossary_window_get_current(RavscopeGlossaryWindow *self)
{
	return self->current;
}

static void ravscope_glossary_window_dispose(GObject *o)
{
	RavscopeGlossaryWindow *self = RAVSCOPE_GLOSSARY_WINDOW(o);
	g_clear_handle_id(&self->scroll_source, g_source_remove);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_GLOSSARY_WINDOW);
	G_OBJECT_CLASS(ravscope_glossary_window_parent_class)->dispose(o);
}

static void ravscope_glossary_window_class_init(RavscopeGlossaryWindowClass *klass)
{
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	G_OBJECT_CLASS(klass)->dispose = ravscope_glossary_window_dispose;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-glossary-window.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeGlossaryWindow, search);
	gtk_widget_class_bind_template_child(wc, RavscopeGlossaryWindow, scroller);
	gtk_widget_class_bind_template_child(wc, RavscopeGlossaryWindow, list);
	gtk_widget_class_bind_template_callback(wc, on_search_changed);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void ravscope_glossary_window_init(RavscopeGlossaryWindow *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	build_rows(self);
}
