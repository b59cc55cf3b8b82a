/* ravscope-errors-panel.c - the Errors panel: every engine error event of
 * the trace or live session (stale borrow, cross-heap store, misuse found
 * by debug checks, out of memory...), each a click away.
 *
 * The list is found with the reader's search (rav_trace_find_next over
 * error events), incrementally: each refresh looks only at the events that
 * arrived since the last one, so a live session's growing trace costs in
 * proportion to what came.  The count is the "count" property; the window
 * shows it as the page's badge and in the header.
 */
#include "ravscope-errors-panel.h"

#include "ravscope-panel.h"
#include "ravscope-sites.h"

#define MAX_ROWS 5000       /* rows listed; the count goes on */
#define SCAN_SLICE 1000000u /* events looked at per main-loop turn */

struct _RavscopeErrorsPanel {
	GtkBox parent_instance;
	GtkStack *stack;
	GtkListBox *list;
	GtkLabel *summary;
	RavscopeDocument *doc;
	guint64 scanned; /* events looked at */
	guint idle;      /* scanning the rest */
	guint count;
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeErrorsPanel, ravscope_errors_panel, GTK_TYPE_BOX,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

enum { PROP_0, PROP_COUNT, N_PROPS };
static GParamSpec *props[N_PROPS];

static const char *status_words(unsigned aux)
{
	/* rav_status values (ravioli.h, which the viewer does not include), in
	 * the words a user would look for */
	static const char *const words[] = {
		"recording ended" /* status 0: the recorder's note that the program died (FORMAT.md) */, "out of memory", "invalid argument", "type mismatch", "cross-heap reference",
		"stale borrow", "channel closed", "would block", "I/O error", "malformed data",
		"not allowed now", "index out of range",
	};
	return aux < G_N_ELEMENTS(words) ? words[aux] : "engine error";
}

static void on_row_activated(GtkListBox *box, GtkListBoxRow *row, RavscopeErrorsPanel *self)
{
	guint64 ev = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(row), "event"));
	gtk_widget_activate_action(GTK_WIDGET(self), "win.seek-event", "t", ev);
}

static void add_row(RavscopeErrorsPanel *self, const rav_event *ev)
{
	g_autofree char *who = ravscope_document_heap_name(self->doc, ev->thread);
	const char *text = ev->text ? ev->text : "";
	/* "STATUS: message" as the engine wrote it: the part after the name */
	const char *msg = strstr(text, ": ");
	msg = msg ? msg + 2 : text;
	/* the trace's bytes: valid UTF-8 for GTK, and plain text (a row's
	 * title and subtitle are markup unless told otherwise) */
	g_autofree char *shown = ravscope_display_text(msg);
	if (shown)
		msg = shown;
	GtkWidget *row = adw_action_row_new();
	adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
	adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), msg[0] ? msg : status_words(ev->aux));
	adw_action_row_set_title_lines(ADW_ACTION_ROW(row), 3);
	/* where in the program: the line a developer goes to (the Events
	 * panel names it too, a click away was one search more) */
	g_autofree char *site = ev->site ? ravscope_site_label(ravscope_document_get_trace(self->doc), ev->site) : NULL;
	g_autofree char *sub = g_strdup_printf("%s · %s%s%s · event %llu", status_words(ev->aux), who,
					       site ? " · " : "", site ? site : "", (unsigned long long)ev->index);
	adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
	GtkWidget *icon = gtk_image_new_from_icon_name("dialog-error-symbolic");
	gtk_widget_add_css_class(icon, "error");
	adw_action_row_add_prefix(ADW_ACTION_ROW(row), icon);
	gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), TRUE);
	g_object_set_data(G_OBJECT(row), "event", GSIZE_TO_POINTER((gsize)ev->index));
	gtk_list_box_append(self->list, row);
}

static void scan(RavscopeErrorsPanel *self);

static gboolean scan_more(gpointer user)
{
	RavscopeErrorsPanel *self = user;
	self->idle = 0;
	scan(self);
	return G_SOURCE_REMOVE;
}

static void scan(RavscopeErrorsPanel *self)
{
	if (!self->doc)
		return;
	rav_trace *t = ravscope_document_get_trace(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	if (n <= self->scanned)
		return;
	/* A slice per call, the rest from an idle callback: a large trace
	 * never blocks the main loop for long. */
	guint64 end = MIN(n, self->scanned + SCAN_SLICE);
	rav_event_filter f = { .kinds = 1ull << RAV_EV_ERROR, .thread = -1, .to = end };
	guint before = self->count;
	for (;;) {
		gint64 at = rav_trace_find_next(t, self->scanned, &f);
		if (at < 0 || (guint64)at >= end)
			break;
		rav_event ev;
		if (rav_trace_event_at(t, (guint64)at, &ev)) {
			if (self->count < MAX_ROWS)
				add_row(self, &ev);
			self->count++;
		}
		self->scanned = (guint64)at + 1;
	}
	self->scanned = end;
	if (end < n && !self->idle)
		self->idle = g_idle_add(scan_more, self);
	if (self->count != before) {
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_COUNT]);
		g_autofree char *s = g_strdup_printf("%u error event%s%s", self->count, self->count == 1 ? "" : "s",
						     self->count > MAX_ROWS ? " (the first 5000 listed)" : "");
		gtk_label_set_text(self->summary, s);
	}
	gtk_stack_set_visible_child_name(self->stack, self->count ? "list" : "none");
}

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeErrorsPanel *self = RAVSCOPE_ERRORS_PANEL(panel);
	g_clear_handle_id(&self->idle, g_source_remove);
	g_set_object(&self->doc, doc);
	GtkWidget *c;
	while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
		gtk_list_box_remove(self->list, c);
	self->scanned = 0;
	if (self->count) {
		self->count = 0;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_COUNT]);
	}
	gtk_stack_set_visible_child_name(self->stack, "none");
	scan(self);
}

static void panel_refresh(RavscopePanel *panel)
{
	scan(RAVSCOPE_ERRORS_PANEL(panel));
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
	iface->refresh = panel_refresh;
}

guint ravscope_errors_panel_get_count(RavscopeErrorsPanel *self)
{
	return self->count;
}

static void get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_COUNT)
		g_value_set_uint(v, RAVSCOPE_ERRORS_PANEL(o)->count);
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void dispose(GObject *o)
{
	g_clear_handle_id(&RAVSCOPE_ERRORS_PANEL(o)->idle, g_source_remove);
	g_clear_object(&RAVSCOPE_ERRORS_PANEL(o)->doc);
	G_OBJECT_CLASS(ravscope_errors_panel_parent_class)->dispose(o);
}

static void ravscope_errors_panel_class_init(RavscopeErrorsPanelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	oc->get_property = get_property;
	oc->dispose = dispose;
	props[PROP_COUNT] = g_param_spec_uint("count", NULL, NULL, 0, G_MAXUINT, 0,
					      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
}

static void ravscope_errors_panel_init(RavscopeErrorsPanel *self)
{
	gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
	self->stack = GTK_STACK(gtk_stack_new());
	gtk_widget_set_vexpand(GTK_WIDGET(self->stack), TRUE);
	AdwStatusPage *none = ADW_STATUS_PAGE(adw_status_page_new());
	adw_status_page_set_icon_name(none, "emblem-ok-symbolic");
	adw_status_page_set_title(none, "No Engine Errors");
	adw_status_page_set_description(none, "Misuses the engine reports (stale borrows, references into "
					      "another heap, a heap used from the wrong thread) and failures "
					      "are listed here, each a click away.");
	gtk_widget_add_css_class(GTK_WIDGET(none), "compact");
	gtk_stack_add_named(self->stack, GTK_WIDGET(none), "none");
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
	gtk_widget_set_margin_start(box, 6);
	gtk_widget_set_margin_end(box, 6);
	gtk_widget_set_margin_top(box, 6);
	self->summary = GTK_LABEL(gtk_label_new(""));
	gtk_label_set_xalign(self->summary, 0);
	gtk_widget_add_css_class(GTK_WIDGET(self->summary), "dim-label");
	gtk_box_append(GTK_BOX(box), GTK_WIDGET(self->summary));
	GtkWidget *scroll = gtk_scrolled_window_new();
	gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
	gtk_widget_set_vexpand(scroll, TRUE);
	self->list = GTK_LIST_BOX(gtk_list_box_new());
	gtk_widget_add_css_class(GTK_WIDGET(self->list), "boxed-list");
	gtk_widget_set_valign(GTK_WIDGET(self->list), GTK_ALIGN_START);
	g_signal_connect(self->list, "row-activated", G_CALLBACK(on_row_activated), self);
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), GTK_WIDGET(self->list));
	gtk_box_append(GTK_BOX(box), scroll);
	gtk_stack_add_named(self->stack, box, "list");
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->stack));
}
