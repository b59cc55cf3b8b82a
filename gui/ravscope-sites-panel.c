/* ravscope-sites-panel.c - the Sites panel.
 *
 * The ranking comes from libravtrace (rav_site_stats_run: one pass over the
 * events, rows per line of the program), computed on a worker thread once
 * the trace is indexed: first without the contention model, so the list
 * shows at once, then again with it for the cache-line transfers.  Changing
 * the order re-sorts the rows in place.  A row shows the line, its file and
 * the ranked figure with the others below; activating it asks the window
 * to highlight the cells those calls allocated ("win.highlight-sites"),
 * its list button shows their events ("win.show-site-events"), and its
 * breakpoint button adds a breakpoint on that line ("win.break-at-site").
 */
#include "ravscope-sites-panel.h"

#include <adwaita.h>

#include "ravscope-panel.h"
#include "ravscope-sites.h"

#define ROWS_SHOWN 300

struct _RavscopeSitesPanel {
	GtkWidget parent_instance;
	/* template */
	GtkDropDown *order;
	GtkWidget *clear_button;
	GtkLabel *status;
	GtkStack *stack;
	GtkListBox *list;
	AdwStatusPage *empty_page;

	RavscopeDocument *doc;
	gulong indexed_handler;
	rav_site_stats *stats;
	gboolean with_transfers;
	GCancellable *cancellable;
	GPtrArray *rows;   /* GtkListBoxRow in list, row i = stats row i */
	GString *text;     /* for tests */
	gint highlighted;  /* stats row highlighted, -1 none */
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeSitesPanel, ravscope_sites_panel, GTK_TYPE_WIDGET,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

static const char *const metric_unit[] = {"allocs", "frees", "moves", "fix-ups", "pages", "transfers", "events"};


/* ---- computing --------------------------------------------------------------- */

typedef struct {
	rav_trace *trace;
	gboolean transfers;
	rav_site_stats *result;
	GCancellable *cancellable;
} Job;

static void job_free(gpointer p)
{
	Job *j = p;
	if (j->result)
		rav_site_stats_free(j->result);
	g_clear_object(&j->cancellable);
	g_free(j);
}

static bool job_progress(uint64_t done, uint64_t total, void *user)
{
	return !g_cancellable_is_cancelled(((Job *)user)->cancellable);
}

static void job_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	Job *j = data;
	rav_trace_error err;
	rav_contention *con = NULL;
	if (j->transfers) {
		rav_contention_config cc = {.line_size = 64};
		con = rav_contention_run(j->trace, &cc, job_progress, j, &err);
		if (!con) {
			g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
			return;
		}
	}
	rav_site_stats_config sc = {.group = RAV_SITES_BY_LINE, .contention = con};
	j->result = rav_site_stats_run(j->trace, &sc, job_progress, j, &err);
	if (con)
		rav_contention_free(con);
	if (!j->result)
		g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
	else
		g_task_return_boolean(task, TRUE);
}

static void start(RavscopeSitesPanel *self, gboolean transfers);
static void fill(RavscopeSitesPanel *self);

static void job_done(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeSitesPanel *self = user;
	Job *j = g_task_get_task_data(G_TASK(res));
	g_autoptr(GError) error = NULL;
	gboolean ok = g_task_propagate_boolean(G_TASK(res), &error);
	if (g_cancellable_is_cancelled(j->cancellable)) {
		g_object_unref(self);
		return;
	}
	if (!ok) {
		g_autofree char *msg = g_strdup_printf("Ranking the call sites failed: %s", error->message);
		gtk_label_set_text(self->status, msg);
		gtk_stack_set_visible_child_name(self->stack, "empty");
		g_object_unref(self);
		return;
	}
	if (self->stats)
		rav_site_stats_free(self->stats);
	self->stats = j->result;
	j->result = NULL;
	self->with_transfers = j->transfers;
	fill(self);
	/* then the transfers, which need the contention model's pass */
	if (!j->transfers)
		start(self, TRUE);
	g_object_unref(self);
}

static void start(RavscopeSitesPanel *self, gboolean transfers)
{
	Job *j = g_new0(Job, 1);
	j->trace = ravscope_document_get_trace(self->doc);
	j->transfers = transfers;
	j->cancellable = g_object_ref(self->cancellable);
	GTask *task = g_task_new(NULL, self->cancellable, job_done, g_object_ref(self));
	g_task_set_task_data(task, j, job_free);
	g_object_set_data_full(G_OBJECT(task), "doc", g_object_ref(self->doc), g_object_unref);
	g_task_run_in_thread(task, job_thread);
	g_object_unref(task);
}

/* ---- rows -------------------------------------------------------------------- */

static void on_show_events(GtkButton *b, RavscopeSitesPanel *self);

static GVariant *sites_variant(RavscopeSitesPanel *self, guint i, char **label)
{
	const rav_site_row *r = rav_site_stats_row(self->stats, i);
	size_t n = rav_site_stats_sites_of(self->stats, i, NULL, 0);
	guint32 *sites = g_new(guint32, n ? n : 1);
	n = rav_site_stats_sites_of(self->stats, i, sites, n);
	GVariantBuilder b;
	g_variant_builder_init(&b, G_VARIANT_TYPE("au"));
	for (size_t k = 0; k < n; k++)
		g_variant_builder_add(&b, "u", sites[k]);
	g_free(sites);
	*label = ravscope_site_label(ravscope_document_get_trace(self->doc), r->site);
	return g_variant_builder_end(&b);
}

static GtkWidget *make_row(RavscopeSitesPanel *self, guint i, rav_site_order by, guint64 top)
{
	rav_trace *t = ravscope_document_get_trace(self->doc);
	const rav_site_row *r = rav_site_stats_row(self->stats, i);
	rav_trace_symbol sy;
	gboolean resolved = ravscope_site_call(t, r->site, &sy);
	g_autofree char *title = NULL, *where = NULL;
	if (resolved && sy.status == RAV_SYMBOL_OK && sy.file) {
		const char *b = strrchr(sy.file, '/');
		title = ravscope_display_dup(sy.function ? sy.function : "?");
		g_autofree char *file = ravscope_display_dup(b ? b + 1 : sy.file);
		where = g_strdup_printf("%s:%u", file, sy.line);
	} else {
		title = ravscope_site_label(t, r->site);
		where = ravscope_display_dup(resolved && sy.message ? sy.message : "no line known");
	}
	GString *others = g_string_new(NULL);
	for (int k = 0; k < 7; k++) {
		if (k == (int)by || k == RAV_SITES_BY_EVENTS || (k == RAV_SITES_BY_TRANSFERS && !self->with_transfers))
			continue;
		guint64 v = rav_site_row_metric(r, (rav_site_order)k);
		if (v)
			g_string_append_printf(others, "%s%" G_GUINT64_FORMAT " %s", others->len ? " · " : "", v,
					       metric_unit[k]);
	}
	if (r->stacks > 1)
		g_string_append_printf(others, "%s%u call sites", others->len ? " · " : "", r->stacks);
	g_autofree char *sub = others->len ? g_strdup_printf("%s\n%s", where, others->str) : g_strdup(where);
	GtkWidget *row = adw_action_row_new();
	/* plain text, set before the title (parsed when set) */
	adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
	adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
	adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
	adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 2);
	gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), TRUE);
	if (resolved && sy.file) {
		g_autofree char *file = ravscope_display_dup(sy.file);
		gtk_widget_set_tooltip_text(row, file);
	}
	/* the figure ranked by, with its share of the top row's as a bar */
	guint64 v = rav_site_row_metric(r, by);
	GtkWidget *fig = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
	gtk_widget_set_valign(fig, GTK_ALIGN_CENTER);
	char num[32];
	g_snprintf(num, sizeof num, "%" G_GUINT64_FORMAT, v);
	GtkWidget *nl = gtk_label_new(num);
	gtk_widget_add_css_class(nl, "numeric");
	gtk_widget_add_css_class(nl, "heading");
	gtk_label_set_xalign(GTK_LABEL(nl), 1);
	GtkWidget *bar = gtk_level_bar_new_for_interval(0, 1);
	/* one colour for every share (the default offsets colour low values) */
	gtk_level_bar_remove_offset_value(GTK_LEVEL_BAR(bar), GTK_LEVEL_BAR_OFFSET_LOW);
	gtk_level_bar_remove_offset_value(GTK_LEVEL_BAR(bar), GTK_LEVEL_BAR_OFFSET_HIGH);
	gtk_level_bar_remove_offset_value(GTK_LEVEL_BAR(bar), GTK_LEVEL_BAR_OFFSET_FULL);
	gtk_level_bar_set_value(GTK_LEVEL_BAR(bar), top ? (double)v / (double)top : 0);
	gtk_widget_set_size_request(bar, 64, 4);
	gtk_box_append(GTK_BOX(fig), nl);
	gtk_box_append(GTK_BOX(fig), bar);
	adw_action_row_add_suffix(ADW_ACTION_ROW(row), fig);
	GtkWidget *ev = gtk_button_new_from_icon_name("view-list-symbolic");
	gtk_widget_set_valign(ev, GTK_ALIGN_CENTER);
	gtk_widget_add_css_class(ev, "flat");
	gtk_widget_set_tooltip_text(ev, "List these calls' events");
	g_object_set_data(G_OBJECT(ev), "row", GUINT_TO_POINTER(i));
	g_signal_connect(ev, "clicked", G_CALLBACK(on_show_events), self);
	adw_action_row_add_suffix(ADW_ACTION_ROW(row), ev);
	g_autofree char *spec = ravscope_site_break_spec(t, r->site);
	if (spec) {
		GtkWidget *brk = gtk_button_new_from_icon_name("media-record-symbolic");
		gtk_widget_set_valign(brk, GTK_ALIGN_CENTER);
		gtk_widget_add_css_class(brk, "flat");
		gtk_widget_add_css_class(brk, "breakpoint-dot");
		g_autofree char *tip = g_strdup_printf("Break here: a breakpoint on the events of the calls at %s", spec);
		gtk_widget_set_tooltip_text(brk, tip);
		gtk_actionable_set_action_name(GTK_ACTIONABLE(brk), "win.break-at-site");
		gtk_actionable_set_action_target(GTK_ACTIONABLE(brk), "s", spec);
		adw_action_row_add_suffix(ADW_ACTION_ROW(row), brk);
	}
	g_string_append_printf(self->text, "%" G_GUINT64_FORMAT " %s  %s  %s  %s\n", v, metric_unit[by], title, where,
			       others->str);
	g_string_free(others, TRUE);
	return row;
}

static void clear_rows(RavscopeSitesPanel *self)
{
	for (guint i = 0; i < self->rows->len; i++)
		gtk_list_box_remove(self->list, g_ptr_array_index(self->rows, i));
	g_ptr_array_set_size(self->rows, 0);
}

/* Notes on what could not be resolved, once per reason. */
static void add_notes(RavscopeSitesPanel *self, GString *status)
{
	rav_trace *t = ravscope_document_get_trace(self->doc);
	const char *said[2] = {NULL, NULL};
	guint n = 0;
	for (guint i = 0; i < rav_site_stats_count(self->stats) && i < ROWS_SHOWN && n < 2; i++) {
		rav_trace_symbol sy;
		if (!ravscope_site_call(t, rav_site_stats_row(self->stats, i)->site, &sy) || sy.status == RAV_SYMBOL_OK ||
		    !sy.message || sy.message == said[0])
			continue;
		said[n++] = sy.message;
		g_autofree char *msg = ravscope_display_dup(sy.message); /* a path's bytes */
		g_string_append_printf(status, "\n%s.", msg);
	}
}

static void fill(RavscopeSitesPanel *self)
{
	clear_rows(self);
	g_string_truncate(self->text, 0);
	self->highlighted = -1;
	gtk_widget_set_sensitive(self->clear_button, FALSE);
	if (!self->stats)
		return;
	rav_site_order by = (rav_site_order)gtk_drop_down_get_selected(self->order);
	if (by > RAV_SITES_BY_EVENTS)
		by = RAV_SITES_BY_ALLOCS;
	rav_site_stats_sort(self->stats, by);
	unsigned n = rav_site_stats_count(self->stats);
	rav_site_row unknown, all;
	rav_site_stats_totals(self->stats, &unknown, &all);
	guint64 top = n ? rav_site_row_metric(rav_site_stats_row(self->stats, 0), by) : 0;
	/* lines with none of what is ranked are left out (sorted last) */
	unsigned with = 0;
	while (with < n && rav_site_row_metric(rav_site_stats_row(self->stats, with), by))
		with++;
	for (unsigned i = 0; i < with && i < ROWS_SHOWN; i++) {
		GtkWidget *row = make_row(self, i, by, top);
		gtk_list_box_append(self->list, row);
		g_ptr_array_add(self->rows, row);
	}
	GString *st = g_string_new(NULL);
	g_string_append_printf(st, "%u of %u line%s of the program · %" G_GUINT64_FORMAT " %s in all", with, n,
			       n == 1 ? "" : "s", rav_site_row_metric(&all, by), metric_unit[by]);
	if (with > ROWS_SHOWN)
		g_string_append_printf(st, " · the first %u shown", ROWS_SHOWN);
	if (!with && n)
		g_string_append_printf(st, "%s",
				       by == RAV_SITES_BY_TRANSFERS && self->with_transfers
					       ? " · no call caused a cache-line transfer (accesses are recorded with "
						 "RAVIOLI_TRACE_ACCESS=1)"
				       : by == RAV_SITES_BY_HANDOFFS ? " · no call handed pages to another thread"
								     : "");
	if (rav_site_row_metric(&unknown, by))
		g_string_append_printf(st, " · %" G_GUINT64_FORMAT " with no call site", rav_site_row_metric(&unknown, by));
	if (by == RAV_SITES_BY_TRANSFERS && !self->with_transfers)
		g_string_append(st, " · running the contention model…");
	add_notes(self, st);
	gtk_label_set_text(self->status, st->str);
	g_string_free(st, TRUE);
	gtk_stack_set_visible_child_name(self->stack, n ? "list" : "empty");
	if (!n)
		adw_status_page_set_description(self->empty_page, "No call of the program recorded an event.");
}

static void on_order_changed(GObject *o, GParamSpec *pspec, RavscopeSitesPanel *self)
{
	fill(self);
}

static void on_row_activated(GtkListBox *box, GtkListBoxRow *row, RavscopeSitesPanel *self)
{
	guint i;
	if (!g_ptr_array_find(self->rows, row, &i))
		return;
	ravscope_sites_panel_activate_row(self, i);
}

gboolean ravscope_sites_panel_activate_row(RavscopeSitesPanel *self, guint i)
{
	if (!self->stats || i >= rav_site_stats_count(self->stats) || i >= self->rows->len)
		return FALSE;
	if (self->highlighted == (gint)i) {
		gtk_widget_activate_action(GTK_WIDGET(self), "win.highlight-sites", "(s@au)", "",
					   g_variant_new_array(G_VARIANT_TYPE_UINT32, NULL, 0));
		gtk_list_box_unselect_all(self->list);
		self->highlighted = -1;
		gtk_widget_set_sensitive(self->clear_button, FALSE);
		return TRUE;
	}
	g_autofree char *label = NULL;
	GVariant *sites = sites_variant(self, i, &label);
	gtk_widget_activate_action(GTK_WIDGET(self), "win.highlight-sites", "(s@au)", label, sites);
	gtk_list_box_select_row(self->list, g_ptr_array_index(self->rows, i));
	self->highlighted = (gint)i;
	gtk_widget_set_sensitive(self->clear_button, TRUE);
	return TRUE;
}

static void on_clear(GtkButton *b, RavscopeSitesPanel *self)
{
	if (self->highlighted >= 0)
		ravscope_sites_panel_activate_row(self, (guint)self->highlighted);
}

static void on_show_events(GtkButton *b, RavscopeSitesPanel *self)
{
	guint i = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(b), "row"));
	if (!self->stats || i >= rav_site_stats_count(self->stats))
		return;
	g_autofree char *label = NULL;
	GVariant *sites = sites_variant(self, i, &label);
	gtk_widget_activate_action(GTK_WIDGET(self), "win.show-site-events", "(s@au)", label, sites);
}

char *ravscope_sites_panel_dup_text(RavscopeSitesPanel *self)
{
	return self->stats ? g_strdup(self->text->str) : NULL;
}

/* ---- RavscopePanel ----------------------------------------------------------- */

static void begin(RavscopeSitesPanel *self)
{
	rav_trace *t = ravscope_document_get_trace(self->doc);
	if (!rav_trace_site_count(t)) {
		const rav_trace_info *in = ravscope_document_get_info(self->doc);
		g_autofree char *why =
			in->version_major == 1 && in->version_minor < RAV_TRACE_SITES_MINOR
				? g_strdup_printf("This trace (format %u.%u) is from before programs recorded where "
						  "their engine calls came from. Record it again with this ravioli.",
						  in->version_major, in->version_minor)
				: g_strdup("The program was recorded without call sites (RAVIOLI_TRACE_SITES=0).");
		adw_status_page_set_description(self->empty_page, why);
		gtk_stack_set_visible_child_name(self->stack, "empty");
		gtk_label_set_text(self->status, "");
		return;
	}
	gtk_stack_set_visible_child_name(self->stack, "running");
	gtk_label_set_text(self->status, "Ranking the program's call sites…");
	start(self, FALSE);
}

static void on_indexed(RavscopeDocument *doc, GParamSpec *pspec, RavscopeSitesPanel *self)
{
	if (ravscope_document_is_indexed(doc) && !self->stats)
		begin(self);
}

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeSitesPanel *self = RAVSCOPE_SITES_PANEL(panel);
	if (self->cancellable)
		g_cancellable_cancel(self->cancellable);
	g_clear_object(&self->cancellable);
	if (self->doc) {
		g_clear_signal_handler(&self->indexed_handler, self->doc);
		g_clear_object(&self->doc);
	}
	clear_rows(self);
	if (self->stats)
		rav_site_stats_free(self->stats);
	self->stats = NULL;
	self->with_transfers = FALSE;
	gtk_label_set_text(self->status, "");
	if (!doc)
		return;
	self->doc = g_object_ref(doc);
	self->cancellable = g_cancellable_new();
	self->indexed_handler = g_signal_connect(doc, "notify::indexed", G_CALLBACK(on_indexed), self);
	if (ravscope_document_is_indexed(doc)) {
		begin(self);
	} else {
		gtk_stack_set_visible_child_name(self->stack, "running");
		gtk_label_set_text(self->status, "Waiting for the trace to be indexed…");
	}
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
}

/* ---- class -------------------------------------------------------------------- */

static void ravscope_sites_panel_dispose(GObject *o)
{
	RavscopeSitesPanel *self = RAVSCOPE_SITES_PANEL(o);
	if (self->rows)
		panel_set_document(RAVSCOPE_PANEL(self), NULL);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_SITES_PANEL);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_sites_panel_parent_class)->dispose(o);
}

static void ravscope_sites_panel_finalize(GObject *o)
{
	RavscopeSitesPanel *self = RAVSCOPE_SITES_PANEL(o);
	g_ptr_array_unref(self->rows);
	g_string_free(self->text, TRUE);
	G_OBJECT_CLASS(ravscope_sites_panel_parent_class)->finalize(o);
}

static void ravscope_sites_panel_class_init(RavscopeSitesPanelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_sites_panel_dispose;
	oc->finalize = ravscope_sites_panel_finalize;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-sites-panel.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeSitesPanel, order);
	gtk_widget_class_bind_template_child(wc, RavscopeSitesPanel, clear_button);
	gtk_widget_class_bind_template_child(wc, RavscopeSitesPanel, status);
	gtk_widget_class_bind_template_child(wc, RavscopeSitesPanel, stack);
	gtk_widget_class_bind_template_child(wc, RavscopeSitesPanel, list);
	gtk_widget_class_bind_template_child(wc, RavscopeSitesPanel, empty_page);
	gtk_widget_class_bind_template_callback(wc, on_order_changed);
	gtk_widget_class_bind_template_callback(wc, on_row_activated);
	gtk_widget_class_bind_template_callback(wc, on_clear);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_sites_panel_init(RavscopeSitesPanel *self)
{
	self->rows = g_ptr_array_new();
	self->text = g_string_new(NULL);
	self->highlighted = -1;
	gtk_widget_init_template(GTK_WIDGET(self));
}

GtkWidget *ravscope_sites_panel_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_SITES_PANEL, NULL);
}
