/* ravscope-graph-panel.c - the Graph panel (see the header).
 *
 * The graph is rebuilt when the selection changes and, rate-limited by the
 * window, when the playhead moves (a cell's neighbours change as the
 * program runs); it is laid out for the panel's width and drawn by
 * ravscope_graph_draw().  A click on a box asks the window to select that
 * cell ("win.select-cell"), which makes it the centre.
 */
#include "ravscope-graph-panel.h"

#include <adwaita.h>
#include <math.h>

#include "ravscope-panel.h"

#define LEVELS 2          /* up and down */
#define MAX_PER_LEVEL 8

struct _RavscopeGraphPanel {
	GtkWidget parent_instance;
	GtkStack *stack; /* template */
	GtkDrawingArea *area;
	RavscopeDocument *doc;
	rav_loc cell;
	RavscopeGraph *graph;
	gboolean large_text;
	int laid_out_width;
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeGraphPanel, ravscope_graph_panel, GTK_TYPE_WIDGET,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

static void relayout(RavscopeGraphPanel *self)
{
	int w = gtk_widget_get_width(GTK_WIDGET(self->area));
	if (w <= 0)
		w = MAX(gtk_widget_get_width(GTK_WIDGET(self)), 320);
	self->laid_out_width = w;
	if (!self->graph)
		return;
	ravscope_graph_layout(self->graph, w, self->large_text);
	int want = (int)ceil(self->graph->height);
	if (gtk_drawing_area_get_content_height(self->area) != want)
		gtk_drawing_area_set_content_height(self->area, want);
}

static void rebuild(RavscopeGraphPanel *self)
{
	g_clear_pointer(&self->graph, ravscope_graph_free);
	if (self->doc && self->cell)
		self->graph = ravscope_graph_build(self->doc, self->cell, LEVELS, LEVELS, MAX_PER_LEVEL);
	gtk_stack_set_visible_child_name(self->stack, self->graph ? "graph" : "empty");
	relayout(self);
	gtk_widget_queue_draw(GTK_WIDGET(self->area));
}

static void draw(GtkDrawingArea *area, cairo_t *cr, int w, int h, gpointer user)
{
	RavscopeGraphPanel *self = user;
	if (!self->graph || !self->doc)
		return;
	if (w != self->laid_out_width)
		relayout(self);
	gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
	double accent[3] = { dark ? 0x78 / 255.0 : 0x1c / 255.0, dark ? 0xae / 255.0 : 0x71 / 255.0,
			     dark ? 0xed / 255.0 : 0xd8 / 255.0 };
	ravscope_graph_draw(cr, self->doc, self->graph, dark, self->large_text, accent);
}

const RavscopeGraph *ravscope_graph_panel_get_graph(RavscopeGraphPanel *self)
{
	return self->graph;
}

void ravscope_graph_panel_click(RavscopeGraphPanel *self, double x, double y)
{
	rav_loc hit = ravscope_graph_hit(self->graph, x, y);
	if (hit)
		gtk_widget_activate_action(GTK_WIDGET(self), "win.select-cell", "t", (guint64)hit);
}

static void on_click(GtkGestureClick *g, int n, double x, double y, RavscopeGraphPanel *self)
{
	ravscope_graph_panel_click(self, x, y);
}

void ravscope_graph_panel_set_large_text(RavscopeGraphPanel *self, gboolean large)
{
	if (self->large_text == large)
		return;
	self->large_text = large;
	relayout(self);
	gtk_widget_queue_draw(GTK_WIDGET(self->area));
}

/* ---- RavscopePanel ------------------------------------------------------------ */

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeGraphPanel *self = RAVSCOPE_GRAPH_PANEL(panel);
	g_set_object(&self->doc, doc);
	self->cell = RAV_LOC_NONE;
	rebuild(self);
}

static void panel_refresh(RavscopePanel *panel)
{
	RavscopeGraphPanel *self = RAVSCOPE_GRAPH_PANEL(panel);
	if (gtk_widget_get_mapped(GTK_WIDGET(self)) || !self->graph)
		rebuild(self);
}

static void panel_select_cell(RavscopePanel *panel, rav_loc cell)
{
	RavscopeGraphPanel *self = RAVSCOPE_GRAPH_PANEL(panel);
	self->cell = cell;
	rebuild(self);
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
	iface->refresh = panel_refresh;
	iface->select_cell = panel_select_cell;
}

/* ---- class ------------------------------------------------------------------- */

static void on_map(GtkWidget *w, gpointer user)
{
	rebuild(RAVSCOPE_GRAPH_PANEL(w)); /* the playhead may have moved while hidden */
}

static void ravscope_graph_panel_dispose(GObject *object)
{
	RavscopeGraphPanel *self = RAVSCOPE_GRAPH_PANEL(object);
	g_clear_pointer(&self->graph, ravscope_graph_free);
	g_clear_object(&self->doc);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_GRAPH_PANEL);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_graph_panel_parent_class)->dispose(object);
}

static void ravscope_graph_panel_class_init(RavscopeGraphPanelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_graph_panel_dispose;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-graph-panel.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeGraphPanel, stack);
	gtk_widget_class_bind_template_child(wc, RavscopeGraphPanel, area);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_graph_panel_init(RavscopeGraphPanel *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	gtk_drawing_area_set_draw_func(self->area, draw, self, NULL);
	GtkGesture *click = gtk_gesture_click_new();
	g_signal_connect(click, "released", G_CALLBACK(on_click), self);
	gtk_widget_add_controller(GTK_WIDGET(self->area), GTK_EVENT_CONTROLLER(click));
	g_signal_connect(self, "map", G_CALLBACK(on_map), NULL);
}

GtkWidget *ravscope_graph_panel_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_GRAPH_PANEL, NULL);
}
