/* ravscope-explain-panel.c - the Explain panel.
 *
 * At the playhead: the operation the last applied event belongs to
 * (rav_trace_operation_at) in one line, where it lies (events, thread,
 * whether the playhead is inside it), the event itself and the sentence
 * saying what it did and why (rav_event_explain, from the state just after
 * it, which is the playhead's state).  Terms link to the Glossary window.
 */
#include "ravscope-explain-panel.h"

#include "ravscope-explain.h"
#include "ravscope-panel.h"

struct _RavscopeExplainPanel {
	GtkWidget parent_instance;
	GtkLabel *op_label; /* template */
	GtkLabel *op_detail;
	GtkLabel *event_label;
	GtkLabel *why_label;
	RavscopeDocument *doc;
	char *op_text, *why_text; /* plain, for tests */
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeExplainPanel, ravscope_explain_panel, GTK_TYPE_WIDGET,
                              G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

static gboolean on_activate_link(GtkLabel *label, const char *uri, RavscopeExplainPanel *self)
{
	return ravscope_activate_link(label, uri, NULL);
}

static void set_texts(RavscopeExplainPanel *self, const char *op, const char *detail, const char *event,
                      const char *why)
{
	g_autofree char *op_markup = ravscope_text_markup(op, FALSE, NULL);
	g_autofree char *why_markup = ravscope_text_markup(why, FALSE, NULL);
	gtk_label_set_markup(self->op_label, op_markup);
	gtk_label_set_text(self->op_detail, detail);
	gtk_widget_set_visible(GTK_WIDGET(self->op_detail), detail && *detail);
	gtk_label_set_text(self->event_label, event);
	gtk_label_set_markup(self->why_label, why_markup);
	g_free(self->op_text);
	g_free(self->why_text);
	self->op_text = g_strdup(op);
	self->why_text = g_strdup(why);
}

static void refresh(RavscopePanel *panel)
{
	RavscopeExplainPanel *self = RAVSCOPE_EXPLAIN_PANEL(panel);
	if (!self->doc) {
		set_texts(self, "", NULL, "", "");
		return;
	}
	rav_event ev;
	if (ravscope_document_get_position(self->doc) == 0 || !ravscope_document_last_event(self->doc, &ev)) {
		set_texts(self, "Nothing has happened yet: this is the start of the trace.", NULL, "",
		          "Step forward one operation (Right) to see the first thing the program asked of "
		          "the engine, "
		          "or one change at a time (Shift+Right).");
		return;
	}
	rav_trace *t = ravscope_document_get_trace(self->doc);
	rav_state *s = ravscope_document_get_state(self->doc);
	rav_operation op;
	g_autofree char *op_text = NULL, *detail = NULL;
	if (!ravscope_document_operations_ready(self->doc, ev.index)) {
		op_text = g_strdup("(working out the operations of this trace…)");
	} else if (rav_trace_operation_at(t, ev.index, &op)) {
		op_text = ravscope_operation_describe(self->doc, &op);
		g_autofree char *who = ravscope_document_heap_name(self->doc, op.thread);
		guint64 pos = ravscope_document_get_position(self->doc);
		detail =
		    g_strdup_printf("%s, %u event%s (%" G_GUINT64_FORMAT "–%" G_GUINT64_FORMAT ")%s", who,
		                    op.events, op.events == 1 ? "" : "s", op.first, op.last,
		                    pos <= op.last ? "; the playhead is inside it (Right finishes it)" : "");
	} else {
		op_text = g_strdup("(the operations of this part of the trace are not known)");
	}
	g_autofree char *event = ravscope_document_describe_event(self->doc, &ev);
	g_autofree char *event_line = g_strdup_printf("%" G_GUINT64_FORMAT " · %s", ev.index, event);
	size_t need = rav_event_explain(t, s, &ev, NULL, 0);
	g_autofree char *why = g_malloc(need + 1);
	rav_event_explain(t, s, &ev, why, need + 1);
	set_texts(self, op_text, detail, event_line, why);
}

static void on_operations_ready(RavscopeDocument *doc, GParamSpec *pspec, RavscopeExplainPanel *self)
{
	refresh(RAVSCOPE_PANEL(self));
}

static void set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeExplainPanel *self = RAVSCOPE_EXPLAIN_PANEL(panel);
	if (self->doc)
		g_signal_handlers_disconnect_by_data(self->doc, self);
	g_set_object(&self->doc, doc);
	if (doc)
		g_signal_connect(doc, "notify::operations-ready", G_CALLBACK(on_operations_ready), self);
	refresh(panel);
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = set_document;
	iface->refresh = refresh;
}

char *ravscope_explain_panel_dup_text(RavscopeExplainPanel *self)
{
	return g_strdup_printf("%s\n%s\n%s", self->op_text ? self->op_text : "",
	                       gtk_label_get_text(self->event_label), self->why_text ? self->why_text : "");
}

static void ravscope_explain_panel_dispose(GObject *o)
{
	RavscopeExplainPanel *self = RAVSCOPE_EXPLAIN_PANEL(o);
	if (self->doc)
		g_signal_handlers_disconnect_by_data(self->doc, self);
	g_clear_object(&self->doc);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_EXPLAIN_PANEL);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(o))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_explain_panel_parent_class)->dispose(o);
}

static void ravscope_explain_panel_finalize(GObject *o)
{
	RavscopeExplainPanel *self = RAVSCOPE_EXPLAIN_PANEL(o);
	g_free(self->op_text);
	g_free(self->why_text);
	G_OBJECT_CLASS(ravscope_explain_panel_parent_class)->finalize(o);
}

static void ravscope_explain_panel_class_init(RavscopeExplainPanelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_explain_panel_dispose;
	oc->finalize = ravscope_explain_panel_finalize;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-explain-panel.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeExplainPanel, op_label);
	gtk_widget_class_bind_template_child(wc, RavscopeExplainPanel, op_detail);
	gtk_widget_class_bind_template_child(wc, RavscopeExplainPanel, event_label);
	gtk_widget_class_bind_template_child(wc, RavscopeExplainPanel, why_label);
	gtk_widget_class_bind_template_callback(wc, on_activate_link);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_explain_panel_init(RavscopeExplainPanel *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
}
