/* ravscope-transport-bar.c - the transport bar under the heap view.
 *
 * Buttons name window actions in the template (win.play, win.jump-next,
 * win.zoom-in...), so the keyboard and the buttons do the same thing; the
 * two drop-downs are views of the playback's "jump-kind" and "speed".  The
 * position line says where the playhead is and, on its own line, what the
 * last applied event did in plain words: the sentence a class reads.
 *
 * The bar shares the heap column with the heap view, which can be narrow
 * (a small window, the side panel beside it).  Rather than forcing its
 * full width on the column, the controls row drops its spare groups when
 * it does not fit, most dispensable first: the step-by-change buttons
 * (Shift+Left/Right still do it), then the jump-to-kind group
 * (Ctrl+Left/Right).  Play, step by operation, speed, the position and zoom
 * always stay; the position label ellipsizes last.
 */
#include "ravscope-transport-bar.h"

enum { N_SPARE_GROUPS = 2, SPARE_GROUP_MAX = 3 };

struct _RavscopeTransportBar {
	GtkWidget parent_instance;
	/* template */
	GtkButton *play_button;
	GtkWidget *controls_row;
	GtkWidget *jump_prev_button, *step_back_button, *step_forward_button, *jump_next_button;
	GtkDropDown *jump_kind;
	GtkDropDown *speed;
	GtkLabel *position_label;
	GtkLabel *event_label;
	GtkProgressBar *index_progress;

	RavscopePlayback *playback;
	RavscopeDocument *doc;
	gulong position_handler, progress_handler;
	char *hint;        /* shown instead of the last event until the playhead moves */
	guint64 hint_at;   /* the position it was given at */
	/* spare groups, most dispensable first, and their widths (with the
	 * row spacing) measured while shown, as hidden widgets measure 0 */
	GtkWidget *spare[N_SPARE_GROUPS][SPARE_GROUP_MAX];
	int spare_width[N_SPARE_GROUPS];
};

G_DEFINE_FINAL_TYPE(RavscopeTransportBar, ravscope_transport_bar, GTK_TYPE_WIDGET)

enum { PROP_0, PROP_PLAYBACK, N_PROPS };
static GParamSpec *props[N_PROPS];

static void update_position(RavscopeTransportBar *self)
{
	if (!self->doc)
		return;
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	g_autofree char *what = NULL;
	if (pos > 0) {
		rav_event ev;
		if (ravscope_document_last_event(self->doc, &ev)) {
			g_autofree char *d = ravscope_document_describe_event(self->doc, &ev);
			/* Time since the start of the recording, in the unit that reads best. */
			g_autofree char *t = ravscope_format_time(ravscope_document_event_time_ns(self->doc, ev.index));
			what = g_strdup_printf("%s · %s", t, d);
		}
	}
	g_autofree char *text = g_strdup_printf("<b>%" G_GUINT64_FORMAT "</b> / %" G_GUINT64_FORMAT, pos, n);
	if (self->hint && pos != self->hint_at)
		g_clear_pointer(&self->hint, g_free);
	if (self->hint) {
		g_free(what);
		what = g_strdup(self->hint);
	}
	gtk_label_set_text(self->event_label, what ? what : (pos == 0 ? "start of the trace" : ""));
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->event_label), what);
	gtk_label_set_markup(self->position_label, text);
}

static void on_position_changed(RavscopeDocument *doc, guint64 pos, gboolean stepped, RavscopeTransportBar *self)
{
	update_position(self);
}

static void on_index_progress(RavscopeDocument *doc, GParamSpec *pspec, RavscopeTransportBar *self)
{
	gtk_progress_bar_set_fraction(self->index_progress, ravscope_document_get_index_progress(doc));
	update_position(self);
}

void ravscope_transport_bar_set_document(RavscopeTransportBar *self, RavscopeDocument *doc)
{
	if (self->doc) {
		g_clear_signal_handler(&self->position_handler, self->doc);
		g_clear_signal_handler(&self->progress_handler, self->doc);
		g_clear_object(&self->doc);
	}
	g_clear_pointer(&self->hint, g_free);
	if (doc) {
		self->doc = g_object_ref(doc);
		self->position_handler = g_signal_connect(doc, "position-changed", G_CALLBACK(on_position_changed), self);
		self->progress_handler = g_signal_connect(doc, "notify::index-progress", G_CALLBACK(on_index_progress), self);
		update_position(self);
	}
}

void ravscope_transport_bar_refresh(RavscopeTransportBar *self)
{
	update_position(self);
}

void ravscope_transport_bar_set_hint(RavscopeTransportBar *self, const char *hint)
{
	g_free(self->hint);
	self->hint = g_strdup(hint);
	self->hint_at = self->doc ? ravscope_document_get_position(self->doc) : 0;
	update_position(self);
}

void ravscope_transport_bar_set_show_event(RavscopeTransportBar *self, gboolean show)
{
	g_return_if_fail(RAVSCOPE_IS_TRANSPORT_BAR(self));
	gtk_widget_set_visible(GTK_WIDGET(self->event_label), show);
}

gboolean ravscope_transport_bar_get_show_event(RavscopeTransportBar *self)
{
	g_return_val_if_fail(RAVSCOPE_IS_TRANSPORT_BAR(self), TRUE);
	return gtk_widget_get_visible(GTK_WIDGET(self->event_label));
}

const char *ravscope_transport_bar_get_status(RavscopeTransportBar *self)
{
	return gtk_label_get_text(self->event_label);
}

void ravscope_transport_bar_set_indexing(RavscopeTransportBar *self, gboolean indexing)
{
	gtk_widget_set_visible(GTK_WIDGET(self->index_progress), indexing);
	if (indexing)
		gtk_progress_bar_set_fraction(self->index_progress, 0);
}

/* ---- the playback's state ------------------------------------------------------- */

static void on_playing(RavscopePlayback *p, GParamSpec *pspec, RavscopeTransportBar *self)
{
	gtk_button_set_icon_name(self->play_button, ravscope_playback_get_playing(p) ? "media-playback-pause-symbolic"
										      : "media-playback-start-symbolic");
}

static void on_speed(RavscopePlayback *p, GParamSpec *pspec, RavscopeTransportBar *self)
{
	guint n;
	const double *sp = ravscope_playback_speeds(&n);
	for (guint i = 0; i < n; i++)
		if (sp[i] == ravscope_playback_get_speed(p) && gtk_drop_down_get_selected(self->speed) != i)
			gtk_drop_down_set_selected(self->speed, i);
}

static void on_speed_chosen(GtkDropDown *dd, GParamSpec *pspec, RavscopeTransportBar *self)
{
	guint n, i = gtk_drop_down_get_selected(dd);
	const double *sp = ravscope_playback_speeds(&n);
	if (self->playback && i < n)
		ravscope_playback_set_speed(self->playback, sp[i]);
}

void ravscope_transport_bar_set_playback(RavscopeTransportBar *self, RavscopePlayback *playback)
{
	if (self->playback == playback)
		return;
	if (self->playback) {
		g_signal_handlers_disconnect_by_data(self->playback, self);
		g_clear_object(&self->playback);
	}
	if (playback) {
		self->playback = g_object_ref(playback);
		g_signal_connect(playback, "notify::playing", G_CALLBACK(on_playing), self);
		g_signal_connect(playback, "notify::speed", G_CALLBACK(on_speed), self);
		g_object_bind_property(playback, "jump-kind", self->jump_kind, "selected",
				       G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
		on_playing(playback, NULL, self);
		on_speed(playback, NULL, self);
	}
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLAYBACK]);
}

/* ---- focus after a choice -------------------------------------------------------- */

/* A drop-down keeps the focus after its list closes, so Space would open it
 * again instead of playing: once a choice is made, the keys go back to the
 * heap view ("win.focus-heap"). */
static gboolean focus_heap_cb(gpointer user)
{
	RavscopeTransportBar *self = user;
	if (gtk_widget_get_root(GTK_WIDGET(self)))
		gtk_widget_activate_action(GTK_WIDGET(self), "win.focus-heap", NULL);
	g_object_unref(self);
	return G_SOURCE_REMOVE;
}

static void on_choice_closed(GtkPopover *popover, RavscopeTransportBar *self)
{
	g_idle_add(focus_heap_cb, g_object_ref(self));
}

static void return_focus_after_choice(RavscopeTransportBar *self, GtkDropDown *dd)
{
	for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(dd)); c; c = gtk_widget_get_next_sibling(c))
		if (GTK_IS_POPOVER(c))
			g_signal_connect(c, "closed", G_CALLBACK(on_choice_closed), self);
}

/* ---- class ------------------------------------------------------------------------ */

static void ravscope_transport_bar_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_PLAYBACK)
		g_value_set_object(v, RAVSCOPE_TRANSPORT_BAR(o)->playback);
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_transport_bar_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	if (id == PROP_PLAYBACK)
		ravscope_transport_bar_set_playback(RAVSCOPE_TRANSPORT_BAR(o), g_value_get_object(v));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_transport_bar_dispose(GObject *object)
{
	RavscopeTransportBar *self = RAVSCOPE_TRANSPORT_BAR(object);
	ravscope_transport_bar_set_document(self, NULL);
	g_clear_pointer(&self->hint, g_free);
	ravscope_transport_bar_set_playback(self, NULL);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_TRANSPORT_BAR);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_transport_bar_parent_class)->dispose(object);
}

/* The width a spare group takes in the row; remembered from when it was
 * last shown. */
static int spare_group_width(RavscopeTransportBar *self, int g)
{
	int spacing = gtk_box_get_spacing(GTK_BOX(self->controls_row));
	int w = 0;
	gboolean shown = FALSE;
	for (int i = 0; i < SPARE_GROUP_MAX && self->spare[g][i]; i++) {
		GtkWidget *c = self->spare[g][i];
		if (!gtk_widget_get_visible(c))
			continue;
		shown = TRUE;
		int nat;
		gtk_widget_measure(c, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
		w += nat + spacing;
	}
	if (shown)
		self->spare_width[g] = w;
	return self->spare_width[g];
}

static gboolean spare_group_shown(RavscopeTransportBar *self, int g)
{
	return gtk_widget_get_visible(self->spare[g][0]);
}

static void ravscope_transport_bar_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *min,
					   int *nat, int *min_baseline, int *nat_baseline)
{
	RavscopeTransportBar *self = RAVSCOPE_TRANSPORT_BAR(widget);
	GtkWidget *child = gtk_widget_get_first_child(widget);
	gtk_widget_measure(child, orientation, for_size, min, nat, min_baseline, nat_baseline);
	if (orientation != GTK_ORIENTATION_HORIZONTAL)
		return;
	/* minimum: every spare group hidden; natural: every one shown */
	for (int g = 0; g < N_SPARE_GROUPS; g++) {
		int w = spare_group_width(self, g);
		if (spare_group_shown(self, g))
			*min -= w;
		else
			*nat += w;
	}
	*min = MAX(*min, 0);
	*nat = MAX(*nat, *min);
}

static void ravscope_transport_bar_size_allocate(GtkWidget *widget, int width, int height, int baseline)
{
	RavscopeTransportBar *self = RAVSCOPE_TRANSPORT_BAR(widget);
	GtkWidget *child = gtk_widget_get_first_child(widget);
	/* what the child needs with every spare group shown */
	int need, w[N_SPARE_GROUPS];
	gtk_widget_measure(child, GTK_ORIENTATION_HORIZONTAL, -1, &need, NULL, NULL, NULL);
	for (int g = 0; g < N_SPARE_GROUPS; g++) {
		w[g] = spare_group_width(self, g);
		if (!spare_group_shown(self, g))
			need += w[g];
	}
	int first_shown = 0;
	while (first_shown < N_SPARE_GROUPS && width < need)
		need -= w[first_shown++];
	for (int g = 0; g < N_SPARE_GROUPS; g++) {
		gboolean show = g >= first_shown;
		if (show != spare_group_shown(self, g))
			for (int i = 0; i < SPARE_GROUP_MAX && self->spare[g][i]; i++)
				gtk_widget_set_visible(self->spare[g][i], show);
	}
	gtk_widget_allocate(child, width, height, baseline, NULL);
}

static void ravscope_transport_bar_class_init(RavscopeTransportBarClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_transport_bar_dispose;
	oc->get_property = ravscope_transport_bar_get_property;
	oc->set_property = ravscope_transport_bar_set_property;
	props[PROP_PLAYBACK] = g_param_spec_object("playback", NULL, NULL, RAVSCOPE_TYPE_PLAYBACK,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-transport-bar.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, play_button);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, jump_kind);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, speed);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, position_label);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, event_label);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, index_progress);
	gtk_widget_class_bind_template_callback(wc, on_speed_chosen);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, controls_row);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, jump_prev_button);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, step_back_button);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, step_forward_button);
	gtk_widget_class_bind_template_child(wc, RavscopeTransportBar, jump_next_button);
	wc->measure = ravscope_transport_bar_measure;
	wc->size_allocate = ravscope_transport_bar_size_allocate;
}

static void ravscope_transport_bar_init(RavscopeTransportBar *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->spare[0][0] = self->step_back_button;
	self->spare[0][1] = self->step_forward_button;
	self->spare[1][0] = self->jump_prev_button;
	self->spare[1][1] = GTK_WIDGET(self->jump_kind);
	self->spare[1][2] = self->jump_next_button;
	GtkStringList *sp = gtk_string_list_new(ravscope_playback_speed_names());
	gtk_drop_down_set_model(self->speed, G_LIST_MODEL(sp));
	g_object_unref(sp);
	GtkStringList *jk = gtk_string_list_new(ravscope_playback_jump_kind_names());
	gtk_drop_down_set_model(self->jump_kind, G_LIST_MODEL(jk));
	g_object_unref(jk);
	return_focus_after_choice(self, self->speed);
	return_focus_after_choice(self, self->jump_kind);
}

GtkWidget *ravscope_transport_bar_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_TRANSPORT_BAR, NULL);
}
