/* ravscope-events-panel.c - the Events panel.
 *
 * The list is a GtkListView over RavscopeEventModel, which decodes rows
 * only when they scroll into view, so a trace of any length lists at once.
 * On refresh the selection follows the playhead (the last applied event);
 * activating a row asks the window to go to that event ("win.seek-event").
 * Times are the clock reading at or before each event, which step back
 * down the list only by the cores' clock skew, some ns
 * (ravscope_document_event_time_ns).
 * Filters: a kind family, marks or errors, one thread, text matched
 * against the row's plain-words description and call site, and a call site
 * (a FUNCTION, FILE or FILE:LINE typed in, or a line of the Sites panel).
 * Each row says under its description which call of the program did it.
 */
#include "ravscope-events-panel.h"

#include "ravscope-charts.h"
#include "ravscope-event-model.h"
#include "ravscope-panel.h"
#include "ravscope-sites.h"

struct _RavscopeEventsPanel {
	GtkWidget parent_instance;
	/* template */
	GtkSearchEntry *search;
	GtkEntry *site_entry;
	GtkDropDown *kind_filter;
	GtkDropDown *thread_filter;
	GtkLabel *count_label;
	GtkListView *list;

	RavscopeDocument *doc;
	gulong progress_handler;
	RavscopeEventModel *model;
	GtkSingleSelection *selection;
	guint want_row;      /* the row of the last applied event */
	guint scroll_source; /* tick callback: scrolling to it once the list has its size */
	/* sites asked for by the Sites panel (shown by label in site_entry) */
	GArray *explicit_sites;
	gboolean setting_entry;
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeEventsPanel, ravscope_events_panel, GTK_TYPE_WIDGET,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

static void setup_filters(RavscopeEventsPanel *self)
{
	GtkStringList *kinds = gtk_string_list_new(NULL);
	gtk_string_list_append(kinds, "All kinds");
	for (int f = 0; f < RAVSCOPE_N_FAMILIES; f++)
		gtk_string_list_append(kinds, ravscope_family_name(f));
	gtk_string_list_append(kinds, "marks");
	gtk_string_list_append(kinds, "errors");
	gtk_drop_down_set_model(self->kind_filter, G_LIST_MODEL(kinds));
	g_object_unref(kinds);
	GtkStringList *threads = gtk_string_list_new(NULL);
	gtk_string_list_append(threads, "All threads");
	if (self->doc) {
		rav_trace *t = ravscope_document_get_trace(self->doc);
		for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
			rav_trace_thread th_entry;
			const rav_trace_thread *th = rav_trace_thread_at(t, i, &th_entry) ? &th_entry : NULL;
			g_autofree char *nm = th ? ravscope_document_heap_name(self->doc, th->heap_id) : g_strdup("?");
			gtk_string_list_append(threads, nm);
		}
	}
	gtk_drop_down_set_model(self->thread_filter, G_LIST_MODEL(threads));
	g_object_unref(threads);
}

static void apply_filter(RavscopeEventsPanel *self)
{
	if (!self->doc)
		return;
	guint k = gtk_drop_down_get_selected(self->kind_filter);
	guint64 kinds = 0;
	if (k >= 1 && k <= RAVSCOPE_N_FAMILIES)
		kinds = ravscope_family_kinds((RavscopeFamily)(k - 1));
	else if (k == RAVSCOPE_N_FAMILIES + 1)
		kinds = (guint64)1 << RAV_EV_MARK;
	else if (k == RAVSCOPE_N_FAMILIES + 2)
		kinds = (guint64)1 << RAV_EV_ERROR;
	guint t = gtk_drop_down_get_selected(self->thread_filter);
	gint64 thread = -1;
	if (t >= 1 && t != GTK_INVALID_LIST_POSITION) {
		rav_trace_thread th_entry;
		const rav_trace_thread *th =
			rav_trace_thread_at(ravscope_document_get_trace(self->doc), t - 1, &th_entry) ? &th_entry : NULL;
		if (th)
			thread = th->heap_id;
	}
	const char *spec = gtk_editable_get_text(GTK_EDITABLE(self->site_entry));
	g_autofree guint32 *found = NULL;
	const guint32 *sites = NULL;
	gssize nsites = -1;
	if (self->explicit_sites) {
		sites = (const guint32 *)self->explicit_sites->data;
		nsites = self->explicit_sites->len;
	} else if (spec && *spec) {
		rav_trace *tr = ravscope_document_get_trace(self->doc);
		gsize n = rav_trace_sites_find(tr, spec, NULL, 0);
		found = g_new(guint32, n ? n : 1);
		nsites = (gssize)rav_trace_sites_find(tr, spec, found, n);
		sites = found;
		gtk_widget_set_tooltip_text(GTK_WIDGET(self->site_entry),
					    n ? NULL : "No call site is in this function, file or line");
		if (n)
			gtk_widget_remove_css_class(GTK_WIDGET(self->site_entry), "error");
		else
			gtk_widget_add_css_class(GTK_WIDGET(self->site_entry), "error");
	} else {
		gtk_widget_remove_css_class(GTK_WIDGET(self->site_entry), "error");
	}
	ravscope_event_model_set_filter(self->model, kinds, thread, gtk_editable_get_text(GTK_EDITABLE(self->search)),
					sites, nsites);
}

static void on_site_changed(GtkEditable *e, RavscopeEventsPanel *self)
{
	if (self->setting_entry)
		return;
	/* typed by the user: the text says which sites */
	g_clear_pointer(&self->explicit_sites, g_array_unref);
	apply_filter(self);
}

static void on_site_icon(GtkEntry *e, GtkEntryIconPosition pos, RavscopeEventsPanel *self)
{
	gtk_editable_set_text(GTK_EDITABLE(e), "");
}

void ravscope_events_panel_show_sites(RavscopeEventsPanel *self, const char *label, const guint32 *sites, gsize n)
{
	g_clear_pointer(&self->explicit_sites, g_array_unref);
	if (n) {
		self->explicit_sites = g_array_sized_new(FALSE, FALSE, sizeof(guint32), (guint)n);
		g_array_append_vals(self->explicit_sites, sites, (guint)n);
	}
	self->setting_entry = TRUE;
	gtk_editable_set_text(GTK_EDITABLE(self->site_entry), n ? label : "");
	self->setting_entry = FALSE;
	apply_filter(self);
}

static void panel_refresh(RavscopePanel *panel);

/* The rows change: find the playhead's row again. */
static void refilter(RavscopeEventsPanel *self)
{
	apply_filter(self);
	self->want_row = GTK_INVALID_LIST_POSITION;
	panel_refresh(RAVSCOPE_PANEL(self));
}

static void on_filter_changed(GObject *o, GParamSpec *pspec, RavscopeEventsPanel *self) { refilter(self); }
static void on_search_changed(GtkSearchEntry *e, RavscopeEventsPanel *self) { refilter(self); }

static void on_model_status(RavscopeEventModel *m, GParamSpec *pspec, RavscopeEventsPanel *self)
{
	g_autofree char *t = ravscope_event_model_dup_status(m);
	gtk_label_set_text(self->count_label, t);
	/* Rows found (a filter's scan) or added (indexing): the playhead's row
	 * may be there now. */
	panel_refresh(RAVSCOPE_PANEL(self));
}

static void on_activate(GtkListView *lv, guint row, RavscopeEventsPanel *self)
{
	guint64 ev = ravscope_event_model_event_at_row(self->model, row);
	if (ev == G_MAXUINT64)
		return;
	gtk_widget_activate_action(GTK_WIDGET(self), "win.seek-event", "t", ev);
}

static void row_setup(GtkSignalListItemFactory *f, GtkListItem *item, gpointer user)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 8);
	GtkWidget *dot = gtk_label_new("●");
	GtkWidget *idx = gtk_label_new("");
	GtkWidget *time = gtk_label_new("");
	GtkWidget *lines = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
	GtkWidget *text = gtk_label_new("");
	GtkWidget *site = gtk_label_new("");
	gtk_widget_add_css_class(site, "dim-label");
	gtk_widget_add_css_class(site, "caption");
	gtk_label_set_xalign(GTK_LABEL(site), 0);
	gtk_label_set_ellipsize(GTK_LABEL(site), PANGO_ELLIPSIZE_MIDDLE);
	gtk_widget_set_valign(dot, GTK_ALIGN_START);
	gtk_widget_set_valign(idx, GTK_ALIGN_START);
	gtk_widget_add_css_class(idx, "dim-label");
	gtk_widget_add_css_class(idx, "numeric");
	gtk_label_set_xalign(GTK_LABEL(idx), 1);
	gtk_label_set_width_chars(GTK_LABEL(idx), 7);
	gtk_widget_set_valign(time, GTK_ALIGN_START);
	gtk_widget_add_css_class(time, "dim-label");
	gtk_widget_add_css_class(time, "numeric");
	gtk_widget_add_css_class(time, "caption");
	gtk_label_set_xalign(GTK_LABEL(time), 1);
	gtk_label_set_width_chars(GTK_LABEL(time), 10);
	gtk_label_set_xalign(GTK_LABEL(text), 0);
	gtk_label_set_ellipsize(GTK_LABEL(text), PANGO_ELLIPSIZE_END);
	gtk_widget_set_hexpand(lines, TRUE);
	gtk_box_append(GTK_BOX(lines), text);
	gtk_box_append(GTK_BOX(lines), site);
	gtk_box_append(GTK_BOX(box), dot);
	gtk_box_append(GTK_BOX(box), idx);
	gtk_box_append(GTK_BOX(box), time);
	gtk_box_append(GTK_BOX(box), lines);
	gtk_list_item_set_child(item, box);
}

static void row_bind(GtkSignalListItemFactory *f, GtkListItem *item, RavscopeEventsPanel *self)
{
	RavscopeEventItem *ei = gtk_list_item_get_item(item);
	GtkWidget *box = gtk_list_item_get_child(item);
	GtkWidget *dot = gtk_widget_get_first_child(box);
	GtkWidget *idx = gtk_widget_get_next_sibling(dot);
	GtkWidget *time = gtk_widget_get_next_sibling(idx);
	GtkWidget *lines = gtk_widget_get_next_sibling(time);
	GtkWidget *text = gtk_widget_get_first_child(lines);
	GtkWidget *site = gtk_widget_get_next_sibling(text);
	guint64 e = ravscope_event_item_get_index(ei);
	char buf[32];
	g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, e);
	gtk_label_set_text(GTK_LABEL(idx), buf);
	rav_event ev;
	if (self->doc && rav_trace_event_at(ravscope_document_get_trace(self->doc), e, &ev)) {
		g_autofree char *d = ravscope_document_describe_event(self->doc, &ev);
		gtk_label_set_text(GTK_LABEL(text), d);
		g_autofree char *tm = ravscope_format_time(ravscope_document_event_time_ns(self->doc, e));
		gtk_label_set_text(GTK_LABEL(time), tm);
		g_autofree char *sl = ev.site ? ravscope_site_label(ravscope_document_get_trace(self->doc), ev.site) : NULL;
		/* rows keep one height (GtkListView estimates unseen rows from
		 * the ones it measured, and scroll_to_row divides by it): an
		 * event without a site shows a dash */
		gtk_label_set_text(GTK_LABEL(site), sl ? sl : "—");
		double rgb[3];
		ravscope_family_color(ravscope_event_family(ev.kind), rgb);
		g_autofree char *markup = g_strdup_printf("<span foreground=\"#%02x%02x%02x\">●</span>", (int)(rgb[0] * 255),
							  (int)(rgb[1] * 255), (int)(rgb[2] * 255));
		gtk_label_set_markup(GTK_LABEL(dot), markup);
	} else {
		gtk_label_set_text(GTK_LABEL(time), "");
		gtk_label_set_text(GTK_LABEL(text), "(not indexed yet)");
		gtk_label_set_text(GTK_LABEL(site), "");
	}
}

static void on_index_progress(RavscopeDocument *doc, GParamSpec *pspec, RavscopeEventsPanel *self)
{
	ravscope_event_model_update_count(self->model);
}

void ravscope_events_panel_focus_search(RavscopeEventsPanel *self)
{
	gtk_widget_grab_focus(GTK_WIDGET(self->search));
}

/* ---- RavscopePanel ---------------------------------------------------------- */

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeEventsPanel *self = RAVSCOPE_EVENTS_PANEL(panel);
	self->want_row = GTK_INVALID_LIST_POSITION;
	if (self->doc) {
		g_clear_signal_handler(&self->progress_handler, self->doc);
		g_clear_object(&self->doc);
	}
	if (doc) {
		self->doc = g_object_ref(doc);
		self->progress_handler = g_signal_connect(doc, "notify::index-progress", G_CALLBACK(on_index_progress), self);
	}
	g_clear_pointer(&self->explicit_sites, g_array_unref);
	self->setting_entry = TRUE;
	gtk_editable_set_text(GTK_EDITABLE(self->site_entry), "");
	self->setting_entry = FALSE;
	ravscope_event_model_set_document(self->model, doc);
	setup_filters(self);
}

/* Bring a row into view.  Played step by step, the list follows the
 * playhead a few rows at a time (the row stays at the bottom, like a log
 * being written); after a jump the row is centred, so what led to it and
 * what follows are both in sight.  Rows all have one height (a
 * description line and a call-site line), so the list's height over its
 * rows is a row's height. */
static void scroll_to_row(RavscopeEventsPanel *self, guint row)
{
	GtkAdjustment *adj = gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(self->list));
	guint n = g_list_model_get_n_items(G_LIST_MODEL(self->model));
	double upper = adj ? gtk_adjustment_get_upper(adj) : 0, page = adj ? gtk_adjustment_get_page_size(adj) : 0;
	double rh = n ? upper / n : 0;
	if (rh <= 0)
		return; /* not laid out yet: scroll_tick comes back to it */
	if (page < rh * 3) {
		gtk_widget_activate_action(GTK_WIDGET(self->list), "list.scroll-to-item", "u", row);
		return;
	}
	/* (list.scroll-to-item would put even a row already on screen at the
	 * top.) */
	double top = row * rh, value = gtk_adjustment_get_value(adj), to = value;
	if (top + rh <= value - 3 * rh || top >= value + page + 3 * rh)
		to = top - (page - rh) / 2; /* a jump */
	else if (top < value)
		to = top;
	else if (top + rh > value + page)
		to = top + rh - page;
	to = CLAMP(to, 0, MAX(0, upper - page));
	if (to != value)
		gtk_adjustment_set_value(adj, to);
}

/* A list view that is not mapped, or not yet allocated, forgets a scroll
 * request: the panel scrolls on the first frame the list has its size and
 * its rows (scroll_to_row does nothing before: a list.scroll-to-item
 * then, as when --panel shows the list as the trace opens, left GTK 4.8's
 * list empty after the adjustment moved). */
static gboolean scroll_tick(GtkWidget *list, GdkFrameClock *clock, gpointer user)
{
	RavscopeEventsPanel *self = user;
	GtkAdjustment *adj = gtk_scrollable_get_vadjustment(GTK_SCROLLABLE(list));
	if (!gtk_widget_get_mapped(list) || gtk_widget_get_height(list) <= 0 || !adj ||
	    (gtk_adjustment_get_upper(adj) <= 0 && g_list_model_get_n_items(G_LIST_MODEL(self->model)) > 0))
		return G_SOURCE_CONTINUE;
	self->scroll_source = 0;
	if (self->want_row != GTK_INVALID_LIST_POSITION && self->want_row < g_list_model_get_n_items(G_LIST_MODEL(self->model)))
		scroll_to_row(self, self->want_row);
	return G_SOURCE_REMOVE;
}

static void scroll_later(RavscopeEventsPanel *self)
{
	if (!self->scroll_source)
		self->scroll_source = gtk_widget_add_tick_callback(GTK_WIDGET(self->list), scroll_tick, self, NULL);
}

static void on_list_map(GtkWidget *list, RavscopeEventsPanel *self)
{
	scroll_later(self);
}

/* Keep the list on the last applied event. */
static void panel_refresh(RavscopePanel *panel)
{
	RavscopeEventsPanel *self = RAVSCOPE_EVENTS_PANEL(panel);
	if (!self->doc)
		return;
	guint64 pos = ravscope_document_get_position(self->doc);
	guint row = ravscope_event_model_row_for_event(self->model, pos > 0 ? pos - 1 : 0);
	if (row == GTK_INVALID_LIST_POSITION || row == self->want_row)
		return;
	self->want_row = row;
	if (gtk_single_selection_get_selected(self->selection) != row)
		gtk_single_selection_set_selected(self->selection, row);
	if (gtk_widget_get_mapped(GTK_WIDGET(self->list)))
		scroll_to_row(self, row);
	scroll_later(self);
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
	iface->refresh = panel_refresh;
}

/* ---- class ------------------------------------------------------------------ */

static void ravscope_events_panel_dispose(GObject *object)
{
	RavscopeEventsPanel *self = RAVSCOPE_EVENTS_PANEL(object);
	if (self->scroll_source)
		gtk_widget_remove_tick_callback(GTK_WIDGET(self->list), self->scroll_source);
	self->scroll_source = 0;
	if (self->model)
		panel_set_document(RAVSCOPE_PANEL(self), NULL);
	g_clear_object(&self->selection);
	g_clear_object(&self->model);
	g_clear_pointer(&self->explicit_sites, g_array_unref);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_EVENTS_PANEL);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_events_panel_parent_class)->dispose(object);
}

static void ravscope_events_panel_class_init(RavscopeEventsPanelClass *klass)
{
	GObjectClass *object_class = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	object_class->dispose = ravscope_events_panel_dispose;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-events-panel.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeEventsPanel, search);
	gtk_widget_class_bind_template_child(wc, RavscopeEventsPanel, site_entry);
	gtk_widget_class_bind_template_child(wc, RavscopeEventsPanel, kind_filter);
	gtk_widget_class_bind_template_child(wc, RavscopeEventsPanel, thread_filter);
	gtk_widget_class_bind_template_child(wc, RavscopeEventsPanel, count_label);
	gtk_widget_class_bind_template_child(wc, RavscopeEventsPanel, list);
	gtk_widget_class_bind_template_callback(wc, on_filter_changed);
	gtk_widget_class_bind_template_callback(wc, on_search_changed);
	gtk_widget_class_bind_template_callback(wc, on_site_changed);
	gtk_widget_class_bind_template_callback(wc, on_site_icon);
	gtk_widget_class_bind_template_callback(wc, on_activate);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_events_panel_init(RavscopeEventsPanel *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	self->model = ravscope_event_model_new();
	self->selection = gtk_single_selection_new(G_LIST_MODEL(g_object_ref(self->model)));
	gtk_single_selection_set_autoselect(self->selection, FALSE);
	gtk_single_selection_set_can_unselect(self->selection, TRUE);
	GtkListItemFactory *factory = gtk_signal_list_item_factory_new();
	g_signal_connect(factory, "setup", G_CALLBACK(row_setup), self);
	g_signal_connect(factory, "bind", G_CALLBACK(row_bind), self);
	gtk_list_view_set_factory(self->list, factory);
	g_object_unref(factory);
	gtk_list_view_set_model(self->list, GTK_SELECTION_MODEL(self->selection));
	g_signal_connect(self->model, "notify::status", G_CALLBACK(on_model_status), self);
	g_signal_connect(self->list, "map", G_CALLBACK(on_list_map), self);
	self->want_row = GTK_INVALID_LIST_POSITION;
	setup_filters(self);
}

GtkWidget *ravscope_events_panel_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_EVENTS_PANEL, NULL);
}
