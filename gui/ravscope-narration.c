/* ravscope-narration.c - the narration strip of a lesson.
 *
 * A view only: the lesson player sets the texts and listens to "next",
 * "back" and "close".  The text is lesson markup turned into Pango markup
 * by ravscope_text_markup, so glossary terms are links; links go through
 * ravscope_activate_link (the Glossary window, window actions).  Its
 * type grows in presentation mode (style.css).
 */
#include "ravscope-narration.h"

#include "ravscope-explain.h"

struct _RavscopeNarration {
	GtkWidget parent_instance;
	GtkLabel *lesson_label; /* template */
	GtkLabel *count_label;
	GtkLabel *title_label;
	GtkLabel *text_label;
	GtkButton *back_button;
	GtkButton *next_button;
	guint k, n;
	gboolean busy;
	char *plain;
};

G_DEFINE_FINAL_TYPE(RavscopeNarration, ravscope_narration, GTK_TYPE_WIDGET)

enum { SIGNAL_NEXT, SIGNAL_BACK, SIGNAL_CLOSE, N_SIGNALS };
static guint signals[N_SIGNALS];

static void on_next(GtkButton *b, RavscopeNarration *self)
{
	g_signal_emit(self, signals[SIGNAL_NEXT], 0);
}
static void on_back(GtkButton *b, RavscopeNarration *self)
{
	g_signal_emit(self, signals[SIGNAL_BACK], 0);
}
static void on_close(GtkButton *b, RavscopeNarration *self)
{
	g_signal_emit(self, signals[SIGNAL_CLOSE], 0);
}

static gboolean on_activate_link(GtkLabel *label, const char *uri, RavscopeNarration *self)
{
	return ravscope_activate_link(label, uri, NULL);
}

static void update_buttons(RavscopeNarration *self)
{
	gtk_widget_set_sensitive(GTK_WIDGET(self->back_button), self->k > 0);
	gboolean last = self->n && self->k + 1 >= self->n;
	gtk_button_set_label(self->next_button, self->busy ? "_Skip Ahead" : last ? "_Finish" : "_Next");
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->next_button),
	                            self->busy ? "Go straight to this step"
	                            : last     ? "End the lesson (the trace stays open)"
	                                       : "Play on to the next step (Page Down)");
	if (self->busy)
		gtk_widget_add_css_class(GTK_WIDGET(self->text_label), "dim-label");
	else
		gtk_widget_remove_css_class(GTK_WIDGET(self->text_label), "dim-label");
}

void ravscope_narration_set_lesson_title(RavscopeNarration *self, const char *title)
{
	gtk_label_set_text(self->lesson_label, title);
}

void ravscope_narration_set_step(RavscopeNarration *self, guint k, guint n, const char *title,
                                 const char *text)
{
	self->k = k;
	self->n = n;
	g_autofree char *count = g_strdup_printf("Step %u of %u", k + 1, n);
	gtk_label_set_text(self->count_label, count);
	gtk_label_set_text(self->title_label, title ? title : "");
	gtk_widget_set_visible(GTK_WIDGET(self->title_label), title && *title);
	g_autofree char *markup = ravscope_text_markup(text, TRUE, NULL);
	gtk_label_set_markup(self->text_label, markup);
	g_free(self->plain);
	self->plain = g_strdup(gtk_label_get_text(self->text_label));
	update_buttons(self);
}

void ravscope_narration_set_max_lines(RavscopeNarration *self, int lines)
{
	g_return_if_fail(RAVSCOPE_IS_NARRATION(self));
	gtk_label_set_lines(self->text_label, lines);
	gtk_label_set_ellipsize(self->text_label, lines > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
}

gboolean ravscope_narration_is_cut(RavscopeNarration *self)
{
	g_return_val_if_fail(RAVSCOPE_IS_NARRATION(self), FALSE);
	return gtk_label_get_lines(self->text_label) > 0 &&
	       pango_layout_is_ellipsized(gtk_label_get_layout(self->text_label));
}

/* A text cut short shows whole in its tooltip. */
static gboolean on_text_tooltip(GtkWidget *w, int x, int y, gboolean keyboard, GtkTooltip *tooltip,
                                RavscopeNarration *self)
{
	if (!ravscope_narration_is_cut(self) || !self->plain)
		return FALSE;
	gtk_tooltip_set_text(tooltip, self->plain);
	return TRUE;
}

void ravscope_narration_set_busy(RavscopeNarration *self, gboolean busy)
{
	self->busy = busy;
	update_buttons(self);
}

const char *ravscope_narration_get_text(RavscopeNarration *self)
{
	return self->plain ? self->plain : "";
}

static void ravscope_narration_dispose(GObject *o)
{
	gtk_widget_dispose_template(GTK_WIDGET(o), RAVSCOPE_TYPE_NARRATION);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(o))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_narration_parent_class)->dispose(o);
}

static void ravscope_narration_finalize(GObject *o)
{
	g_free(RAVSCOPE_NARRATION(o)->plain);
	G_OBJECT_CLASS(ravscope_narration_parent_class)->finalize(o);
}

static void ravscope_narration_class_init(RavscopeNarrationClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_narration_dispose;
	oc->finalize = ravscope_narration_finalize;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-narration.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeNarration, lesson_label);
	gtk_widget_class_bind_template_child(wc, RavscopeNarration, count_label);
	gtk_widget_class_bind_template_child(wc, RavscopeNarration, title_label);
	gtk_widget_class_bind_template_child(wc, RavscopeNarration, text_label);
	gtk_widget_class_bind_template_child(wc, RavscopeNarration, back_button);
	gtk_widget_class_bind_template_child(wc, RavscopeNarration, next_button);
	gtk_widget_class_bind_template_callback(wc, on_next);
	gtk_widget_class_bind_template_callback(wc, on_back);
	gtk_widget_class_bind_template_callback(wc, on_close);
	gtk_widget_class_bind_template_callback(wc, on_activate_link);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
	gtk_widget_class_set_css_name(wc, "narration");
	signals[SIGNAL_NEXT] = g_signal_new("next", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                                    NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_BACK] = g_signal_new("back", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                                    NULL, NULL, G_TYPE_NONE, 0);
	signals[SIGNAL_CLOSE] = g_signal_new("close", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
	                                     NULL, NULL, G_TYPE_NONE, 0);
}

static void ravscope_narration_init(RavscopeNarration *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	gtk_widget_set_has_tooltip(GTK_WIDGET(self->text_label), TRUE);
	g_signal_connect(self->text_label, "query-tooltip", G_CALLBACK(on_text_tooltip), self);
	update_buttons(self);
}
