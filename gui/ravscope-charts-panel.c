/* ravscope-charts-panel.c - the Charts panel.
 *
 * One GtkDrawingArea draws every chart with ravscope_chart_draw() (the
 * same drawing as the timeline's); it grows to the height the charts need
 * and the panel scrolls.  The pointer over a chart reads its value and
 * event out; a click goes to that event ("win.seek-event").  Per-thread
 * page charts are limited to the first 16 threads that ever own a page.
 */
#include "ravscope-charts-panel.h"

#include <adwaita.h>

#include "ravscope-charts.h"
#include "ravscope-panel.h"

#define THREAD_CHARTS_MAX 16

typedef struct {
	RavscopeChartSpec spec;
	char *title;    /* owned (spec.title points here) */
	double *values; /* owned (contention windows) */
	double y, h;
} Chart;

struct _RavscopeChartsPanel {
	GtkWidget parent_instance;
	GtkDrawingArea *area; /* template */
	RavscopeDocument *doc;
	RavscopeContention *contention;
	gboolean large_text;
	GArray *charts; /* Chart, as last drawn */
	guint64 hover_event;
	double hover_y;
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeChartsPanel, ravscope_charts_panel, GTK_TYPE_WIDGET,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

enum { PROP_0, PROP_CONTENTION, PROP_LARGE_TEXT, N_PROPS };
static GParamSpec *props[N_PROPS];

static void chart_clear(gpointer p)
{
	Chart *c = p;
	g_free(c->title);
	g_free(c->values);
}

static void add_chart(RavscopeChartsPanel *self, const char *title, const char *unit, const char *readout,
		      rav_series_kind kind, gint64 arg, gboolean rate, double *values, guint n_values, double *y, double h)
{
	Chart c = { .title = g_strdup(title), .values = values, .y = *y, .h = h };
	c.spec = (RavscopeChartSpec){ c.title, unit, readout, kind, arg, rate, values, n_values };
	g_array_append_val(self->charts, c);
	*y += h + 10;
}

/* The charts and where they go, for the panel's width. */
static void layout_charts(RavscopeChartsPanel *self)
{
	g_array_set_size(self->charts, 0);
	if (!self->doc)
		return;
	double ch = self->large_text ? 120 : 96, y = 8;
	add_chart(self, "Live cells", "cells (roots not counted)", "cells", RAV_SERIES_LIVE_CELLS, -1, FALSE, NULL, 0, &y, ch);
	add_chart(self, "Pages", "pages owned by all heaps", "pages", RAV_SERIES_PAGES, -1, FALSE, NULL, 0, &y, ch);
	add_chart(self, "Moves", "per 1,000 events", "per 1,000", RAV_SERIES_MOVES, -1, TRUE, NULL, 0, &y, ch);
	add_chart(self, "Fix-ups", "per 1,000 events", "per 1,000", RAV_SERIES_FIXUPS, -1, TRUE, NULL, 0, &y, ch);
	add_chart(self, "Page hand-offs", "per 1,000 events", "per 1,000", RAV_SERIES_HANDOFFS, -1, TRUE, NULL, 0, &y, ch);
	rav_contention *c = self->contention ? ravscope_contention_get_result(self->contention) : NULL;
	if (c) {
		unsigned nw = rav_contention_window_count(c);
		double *v = g_new0(double, MAX(nw, 1));
		for (unsigned i = 0; i < nw; i++)
			v[i] = (double)rav_contention_window(c, i, NULL, NULL);
		add_chart(self, "Line transfers", "between threads, per window of the model", "transfers", RAV_SERIES_EVENTS, -1,
			  FALSE, v, nw, &y, ch);
	}
	rav_trace *t = ravscope_document_get_trace(self->doc);
	for (unsigned i = 0, shown = 0; i < rav_trace_thread_count(t) && shown < THREAD_CHARTS_MAX; i++) {
		rav_trace_thread th;
		if (!rav_trace_thread_at(t, i, &th) || th.kind != RAV_HEAP_THREAD ||
		    ravscope_document_max_pages(self->doc, th.heap_id) == 0)
			continue;
		g_autofree char *nm = ravscope_document_heap_name(self->doc, th.heap_id);
		g_autofree char *title = g_strdup_printf("Pages of %s", nm);
		add_chart(self, title, "pages", "pages", RAV_SERIES_PAGES, th.heap_id, FALSE, NULL, 0, &y, ch * 0.8);
		shown++;
	}
}

static void style_for(RavscopeChartsPanel *self, RavscopeTimelineStyle *st)
{
	gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
	*st = (RavscopeTimelineStyle){ .dark = dark, .large_text = self->large_text, .hover_event = G_MAXUINT64 };
	st->accent[0] = dark ? 0x78 / 255.0 : 0x1c / 255.0;
	st->accent[1] = dark ? 0xae / 255.0 : 0x71 / 255.0;
	st->accent[2] = dark ? 0xed / 255.0 : 0xd8 / 255.0;
}

static void draw(GtkDrawingArea *area, cairo_t *cr, int w, int h, gpointer user)
{
	RavscopeChartsPanel *self = user;
	if (!self->doc)
		return;
	RavscopeTimelineStyle st;
	style_for(self, &st);
	layout_charts(self);
	double y = 0;
	for (guint i = 0; i < self->charts->len; i++) {
		const Chart *c = &g_array_index(self->charts, Chart, i);
		gboolean hovered = self->hover_event != G_MAXUINT64 && self->hover_y >= c->y && self->hover_y < c->y + c->h;
		st.hover_event = hovered ? self->hover_event : G_MAXUINT64;
		ravscope_chart_draw(cr, self->doc, &c->spec, 12, c->y, w - 24, c->h, &st);
		y = c->y + c->h;
	}
	int want = (int)y + 16;
	if (gtk_drawing_area_get_content_height(area) != want)
		gtk_drawing_area_set_content_height(area, want);
}

/* The event under the pointer in the chart it is over (FALSE: none). */
gboolean ravscope_charts_panel_event_at(RavscopeChartsPanel *self, double x, double y, guint64 *event)
{
	if (!self->doc)
		return FALSE;
	RavscopeTimelineStyle st;
	style_for(self, &st);
	if (!self->charts->len)
		layout_charts(self);
	int w = gtk_widget_get_width(GTK_WIDGET(self->area));
	for (guint i = 0; i < self->charts->len; i++) {
		const Chart *c = &g_array_index(self->charts, Chart, i);
		if (ravscope_chart_event_at(self->doc, 12, c->y, w - 24, c->h, &st, x, y, event))
			return TRUE;
	}
	return FALSE;
}

static void on_motion(GtkEventControllerMotion *m, double x, double y, RavscopeChartsPanel *self)
{
	guint64 e;
	guint64 was = self->hover_event;
	self->hover_event = ravscope_charts_panel_event_at(self, x, y, &e) ? e : G_MAXUINT64;
	self->hover_y = y;
	if (was != self->hover_event || self->hover_event != G_MAXUINT64)
		gtk_widget_queue_draw(GTK_WIDGET(self->area));
}

static void on_leave(GtkEventControllerMotion *m, RavscopeChartsPanel *self)
{
	self->hover_event = G_MAXUINT64;
	gtk_widget_queue_draw(GTK_WIDGET(self->area));
}

void ravscope_charts_panel_click(RavscopeChartsPanel *self, double x, double y)
{
	guint64 e;
	if (ravscope_charts_panel_event_at(self, x, y, &e))
		gtk_widget_activate_action(GTK_WIDGET(self), "win.seek-event", "t", e);
}

static void on_click(GtkGestureClick *g, int n, double x, double y, RavscopeChartsPanel *self)
{
	ravscope_charts_panel_click(self, x, y);
}

static void redraw(RavscopeChartsPanel *self)
{
	gtk_widget_queue_draw(GTK_WIDGET(self->area));
}

static void on_contention_changed(RavscopeContention *c, RavscopeChartsPanel *self) { redraw(self); }

void ravscope_charts_panel_set_contention(RavscopeChartsPanel *self, RavscopeContention *contention)
{
	if (self->contention == contention)
		return;
	if (self->contention) {
		g_signal_handlers_disconnect_by_data(self->contention, self);
		g_clear_object(&self->contention);
	}
	if (contention) {
		self->contention = g_object_ref(contention);
		g_signal_connect(contention, "changed", G_CALLBACK(on_contention_changed), self);
	}
	redraw(self);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CONTENTION]);
}

void ravscope_charts_panel_set_large_text(RavscopeChartsPanel *self, gboolean large)
{
	if (self->large_text == large)
		return;
	self->large_text = large;
	redraw(self);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LARGE_TEXT]);
}

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeChartsPanel *self = RAVSCOPE_CHARTS_PANEL(panel);
	g_set_object(&self->doc, doc);
	redraw(self);
}

static void panel_refresh(RavscopePanel *panel)
{
	redraw(RAVSCOPE_CHARTS_PANEL(panel));
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
	iface->refresh = panel_refresh;
}

static void ravscope_charts_panel_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	RavscopeChartsPanel *self = RAVSCOPE_CHARTS_PANEL(o);
	switch (id) {
	case PROP_CONTENTION: g_value_set_object(v, self->contention); break;
	case PROP_LARGE_TEXT: g_value_set_boolean(v, self->large_text); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
	}
}

static void ravscope_charts_panel_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	RavscopeChartsPanel *self = RAVSCOPE_CHARTS_PANEL(o);
	switch (id) {
	case PROP_CONTENTION: ravscope_charts_panel_set_contention(self, g_value_get_object(v)); break;
	case PROP_LARGE_TEXT: ravscope_charts_panel_set_large_text(self, g_value_get_boolean(v)); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
	}
}

static void ravscope_charts_panel_dispose(GObject *object)
{
	RavscopeChartsPanel *self = RAVSCOPE_CHARTS_PANEL(object);
	ravscope_charts_panel_set_contention(self, NULL);
	g_clear_pointer(&self->charts, g_array_unref);
	g_clear_object(&self->doc);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_CHARTS_PANEL);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_charts_panel_parent_class)->dispose(object);
}

static void ravscope_charts_panel_class_init(RavscopeChartsPanelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_charts_panel_dispose;
	oc->get_property = ravscope_charts_panel_get_property;
	oc->set_property = ravscope_charts_panel_set_property;
	props[PROP_CONTENTION] = g_param_spec_object("contention", NULL, NULL, RAVSCOPE_TYPE_CONTENTION,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_LARGE_TEXT] = g_param_spec_boolean("large-text", NULL, NULL, FALSE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-charts-panel.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeChartsPanel, area);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_charts_panel_init(RavscopeChartsPanel *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	gtk_drawing_area_set_draw_func(self->area, draw, self, NULL);
	gtk_drawing_area_set_content_height(self->area, 600);
	self->charts = g_array_new(FALSE, TRUE, sizeof(Chart));
	g_array_set_clear_func(self->charts, chart_clear);
	self->hover_event = G_MAXUINT64;
	GtkEventController *motion = gtk_event_controller_motion_new();
	g_signal_connect(motion, "motion", G_CALLBACK(on_motion), self);
	g_signal_connect(motion, "leave", G_CALLBACK(on_leave), self);
	gtk_widget_add_controller(GTK_WIDGET(self->area), motion);
	GtkGesture *click = gtk_gesture_click_new();
	g_signal_connect(click, "released", G_CALLBACK(on_click), self);
	gtk_widget_add_controller(GTK_WIDGET(self->area), GTK_EVENT_CONTROLLER(click));
	gtk_widget_set_cursor_from_name(GTK_WIDGET(self->area), "crosshair");
}

GtkWidget *ravscope_charts_panel_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_CHARTS_PANEL, NULL);
}
