/* ravscope-timeline.c - the timeline widget.
 *
 * Drawing is ravscope_timeline_draw() (shared with --render).  Scrubbing
 * emits "seek" with the event index under the pointer on every motion: the
 * trace library seeks through keyframes, so following the pointer live is
 * cheap, and the window decides what seeking means (stop playing, follow
 * the selection).
 */
#include "ravscope-timeline.h"

#include <adwaita.h>

#include <math.h>

#include "ravscope-charts.h"

#define PAD_X 12.0

struct _RavscopeTimeline {
	GtkWidget parent_instance;
	RavscopeDocument *doc;
	gulong position_handler, progress_handler;
	RavscopeTimelineCache *cache;
	guint64 hover;
	guint64 window_from, window_to;
	gboolean large_text;
};

G_DEFINE_FINAL_TYPE(RavscopeTimeline, ravscope_timeline, GTK_TYPE_WIDGET)

enum { SIGNAL_SEEK, N_SIGNALS };
static guint signals[N_SIGNALS];

static void ravscope_timeline_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
	RavscopeTimeline *self = RAVSCOPE_TIMELINE(widget);
	int w = gtk_widget_get_width(widget), h = gtk_widget_get_height(widget);
	if (!self->doc || w <= 0 || h <= 0)
		return;
	cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, w, h));
	gboolean dark = adw_style_manager_get_dark(adw_style_manager_get_default());
	RavscopeTimelineStyle st = { .dark = dark, .large_text = self->large_text, .hover_event = self->hover,
				     .window_from = self->window_from, .window_to = self->window_to };
	st.accent[0] = dark ? 0x78 / 255.0 : 0x1c / 255.0;
	st.accent[1] = dark ? 0xae / 255.0 : 0x71 / 255.0;
	st.accent[2] = dark ? 0xed / 255.0 : 0xd8 / 255.0;
	ravscope_timeline_draw(cr, self->cache, self->doc, PAD_X, 2, w - 2 * PAD_X, h - 4, &st);
	cairo_destroy(cr);
}

static void ravscope_timeline_measure(GtkWidget *widget, GtkOrientation o, int for_size, int *min, int *nat,
				      int *min_baseline, int *nat_baseline)
{
	RavscopeTimeline *self = RAVSCOPE_TIMELINE(widget);
	if (o == GTK_ORIENTATION_HORIZONTAL) {
		*min = 200;
		*nat = 800;
	} else {
		*min = *nat = self->large_text ? 120 : 92;
	}
}

static guint64 event_at(RavscopeTimeline *self, double x)
{
	return ravscope_timeline_event_at(self->doc, PAD_X, gtk_widget_get_width(GTK_WIDGET(self)) - 2 * PAD_X, x);
}

static void on_pressed(GtkGestureClick *g, int n, double x, double y, RavscopeTimeline *self)
{
	if (self->doc)
		g_signal_emit(self, signals[SIGNAL_SEEK], 0, event_at(self, x));
}

static void on_drag_update(GtkGestureDrag *g, double dx, double dy, RavscopeTimeline *self)
{
	double sx, sy;
	if (!self->doc || !gtk_gesture_drag_get_start_point(g, &sx, &sy))
		return;
	g_signal_emit(self, signals[SIGNAL_SEEK], 0, event_at(self, sx + dx));
}

static void on_motion(GtkEventControllerMotion *c, double x, double y, RavscopeTimeline *self)
{
	if (!self->doc)
		return;
	self->hover = event_at(self, x);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_leave(GtkEventControllerMotion *c, RavscopeTimeline *self)
{
	self->hover = G_MAXUINT64;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static gboolean on_query_tooltip(GtkWidget *widget, int x, int y, gboolean kb, GtkTooltip *tooltip, gpointer user)
{
	RavscopeTimeline *self = RAVSCOPE_TIMELINE(widget);
	if (!self->doc)
		return FALSE;
	guint64 e = event_at(self, x);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "event %" G_GUINT64_FORMAT, e);
	rav_event ev;
	if (e < ravscope_document_get_event_count(self->doc) && rav_trace_event_at(t, e, &ev)) {
		g_autofree char *d = ravscope_document_describe_event(self->doc, &ev);
		g_string_append_printf(s, ": %s", d);
	}
	/* Name the nearest mark within a few pixels. */
	double w = gtk_widget_get_width(widget) - 2 * PAD_X;
	for (unsigned i = 0; i < rav_trace_mark_count(t); i++) {
		rav_trace_mark m_entry;
		const rav_trace_mark *m = rav_trace_mark_at(t, i, &m_entry) ? &m_entry : NULL;
		if (m && fabs(ravscope_timeline_x_of(self->doc, PAD_X, w, m->event) - x) < 5) {
			g_autofree char *text = ravscope_display_dup(m->text ? m->text : ""); /* the program's bytes */
			g_string_append_printf(s, "\nmark: %s", text);
		}
	}
	g_string_append(s, "\nclick or drag to seek");
	gtk_tooltip_set_text(tooltip, s->str);
	g_string_free(s, TRUE);
	return TRUE;
}


static void on_position(RavscopeDocument *doc, guint64 pos, gboolean stepped, RavscopeTimeline *self)
{
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void on_progress(RavscopeDocument *doc, GParamSpec *pspec, RavscopeTimeline *self)
{
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_timeline_refresh(RavscopeTimeline *self)
{
	ravscope_timeline_cache_invalidate(self->cache);
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_timeline_set_document(RavscopeTimeline *self, RavscopeDocument *doc)
{
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_signal_handler(&self->progress_handler, self->doc);
		g_clear_object(&self->doc);
	}
	ravscope_timeline_cache_invalidate(self->cache);
	self->window_from = self->window_to = 0;
	if (doc) {
		self->doc = g_object_ref(doc);
		self->position_handler = g_signal_connect(doc, "position-changed", G_CALLBACK(on_position), self);
		self->progress_handler = g_signal_connect(doc, "notify::index-progress", G_CALLBACK(on_progress), self);
	}
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

void ravscope_timeline_set_large_text(RavscopeTimeline *self, gboolean large)
{
	self->large_text = large;
	gtk_widget_queue_resize(GTK_WIDGET(self));
}

void ravscope_timeline_set_window(RavscopeTimeline *self, guint64 from, guint64 to)
{
	self->window_from = from;
	self->window_to = to;
	gtk_widget_queue_draw(GTK_WIDGET(self));
}

static void ravscope_timeline_dispose(GObject *object)
{
	ravscope_timeline_set_document(RAVSCOPE_TIMELINE(object), NULL);
	G_OBJECT_CLASS(ravscope_timeline_parent_class)->dispose(object);
}

static void ravscope_timeline_finalize(GObject *object)
{
	ravscope_timeline_cache_free(RAVSCOPE_TIMELINE(object)->cache);
	G_OBJECT_CLASS(ravscope_timeline_parent_class)->finalize(object);
}

static void ravscope_timeline_class_init(RavscopeTimelineClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
	object_class->dispose = ravscope_timeline_dispose;
	object_class->finalize = ravscope_timeline_finalize;
	widget_class->snapshot = ravscope_timeline_snapshot;
	widget_class->measure = ravscope_timeline_measure;
	/* seek (guint64 event index) */
	signals[SIGNAL_SEEK] = g_signal_new("seek", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
					    G_TYPE_NONE, 1, G_TYPE_UINT64);
	gtk_widget_class_set_css_name(widget_class, "timeline");
	gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_SLIDER);
}

static void ravscope_timeline_init(RavscopeTimeline *self)
{
	GtkWidget *w = GTK_WIDGET(self);
	self->cache = ravscope_timeline_cache_new();
	self->hover = G_MAXUINT64;
	gtk_widget_set_hexpand(w, TRUE);
	gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
				       "Timeline: events over the whole trace; click or drag to seek", -1);
	GtkGesture *click = gtk_gesture_click_new();
	g_signal_connect(click, "pressed", G_CALLBACK(on_pressed), self);
	gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(click));
	GtkGesture *drag = gtk_gesture_drag_new();
	g_signal_connect(drag, "drag-update", G_CALLBACK(on_drag_update), self);
	gtk_widget_add_controller(w, GTK_EVENT_CONTROLLER(drag));
	GtkEventController *motion = gtk_event_controller_motion_new();
	g_signal_connect(motion, "motion", G_CALLBACK(on_motion), self);
	g_signal_connect(motion, "leave", G_CALLBACK(on_leave), self);
	gtk_widget_add_controller(w, motion);
	gtk_widget_set_has_tooltip(w, TRUE);
	g_signal_connect(w, "query-tooltip", G_CALLBACK(on_query_tooltip), NULL);
}

GtkWidget *ravscope_timeline_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_TIMELINE, NULL);
}
