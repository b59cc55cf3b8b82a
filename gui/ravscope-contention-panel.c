/* ravscope-contention-panel.c - the Lines panel.
 *
 * Three states, all in the template: nothing computed yet (an explanation
 * and a Compute button bound to "win.contention"), computing (progress and
 * Cancel), and a result (the "only around the playhead" switch and the
 * window's length in events, totals and
 * the 40 hottest lines, each with a button that selects its first cell
 * through "win.select-cell", and the lines of the program whose accesses
 * bounce it when the trace has call sites).  Only the rows of hot lines
 * are built in code.
 */
#include "ravscope-contention-panel.h"

#include <adwaita.h>

#include "ravscope-panel.h"
#include "ravscope-sites.h"

#define HOT_LINES_SHOWN 40
#define LINE_SITES_SHOWN 3

struct _RavscopeContentionPanel {
	GtkWidget parent_instance;
	/* template */
	GtkWidget *windowed_list;
	AdwActionRow *windowed_row;
	GtkSwitch *windowed_switch;
	AdwActionRow *window_row;
	GtkSpinButton *window_spin;
	GtkLabel *intro_label;
	GtkLabel *summary_label;
	GtkProgressBar *progress;
	GtkWidget *cancel_button;
	GtkWidget *compute_button;
	GtkWidget *heading;
	GtkListBox *lines_list;

	RavscopeContention *contention;
	GBinding *windowed_binding, *window_binding;
	GPtrArray *rows; /* hot-line rows in lines_list */
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeContentionPanel, ravscope_contention_panel, GTK_TYPE_WIDGET,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

enum { PROP_0, PROP_CONTENTION, N_PROPS };
static GParamSpec *props[N_PROPS];

static void on_hot_line_clicked(GtkButton *b, RavscopeContentionPanel *self)
{
	guint64 loc = *(guint64 *)g_object_get_data(G_OBJECT(b), "loc");
	gtk_widget_activate_action(GTK_WIDGET(self), "win.select-cell", "t", loc);
}

/* 0 is "automatic": say so, with the length it stands for. */
static gboolean on_window_output(GtkSpinButton *spin, RavscopeContentionPanel *self)
{
	guint64 v = (guint64)gtk_adjustment_get_value(gtk_spin_button_get_adjustment(spin));
	g_autofree char *text = v ? g_strdup_printf("%" G_GUINT64_FORMAT, v) : g_strdup("auto");
	if (g_strcmp0(gtk_editable_get_text(GTK_EDITABLE(spin)), text) != 0)
		gtk_editable_set_text(GTK_EDITABLE(spin), text);
	return TRUE;
}

/* What a user types: a count of events, or "auto" (or nothing) for 0. */
static int on_window_input(GtkSpinButton *spin, double *value, RavscopeContentionPanel *self)
{
	const char *text = gtk_editable_get_text(GTK_EDITABLE(spin));
	while (g_ascii_isspace(*text))
		text++;
	if (!*text || g_ascii_strncasecmp(text, "auto", 4) == 0) {
		*value = 0;
		return TRUE;
	}
	char *end = NULL;
	guint64 v = g_ascii_strtoull(text, &end, 10);
	while (end && g_ascii_isspace(*end))
		end++;
	if (end == text || (end && *end))
		return GTK_INPUT_ERROR;
	*value = (double)MIN(v, (guint64)RAVSCOPE_CONTENTION_WINDOW_MAX);
	return TRUE;
}

static void on_cancel(GtkButton *b, RavscopeContentionPanel *self)
{
	if (self->contention)
		ravscope_contention_set_active(self->contention, FALSE);
}

static void clear_rows(RavscopeContentionPanel *self)
{
	for (guint i = 0; i < self->rows->len; i++)
		gtk_list_box_remove(self->lines_list, g_ptr_array_index(self->rows, i));
	g_ptr_array_set_size(self->rows, 0);
}

static void add_row(RavscopeContentionPanel *self, GtkWidget *row)
{
	gtk_list_box_append(self->lines_list, row);
	g_ptr_array_add(self->rows, row);
}

static void show_result(RavscopeContentionPanel *self, RavscopeDocument *doc, rav_contention *c)
{
	g_autofree char *sub = g_strdup_printf("the last %" G_GUINT64_FORMAT " events before the playhead, recomputed when it rests",
					       ravscope_contention_window_events(self->contention));
	adw_action_row_set_subtitle(self->windowed_row, sub);
	gtk_widget_set_visible(GTK_WIDGET(self->window_row), ravscope_contention_get_windowed(self->contention));
	rav_contention_totals tot;
	rav_contention_get_totals(c, &tot);
	guint64 from, to;
	ravscope_contention_get_range(self->contention, &from, &to);
	g_autofree char *range = to > from ? g_strdup_printf("Events %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ": ", from, to)
					   : g_strdup("Whole trace: ");
	g_autofree char *summary = g_strdup_printf(
		"%s%" G_GUINT64_FORMAT " accesses · %" G_GUINT64_FORMAT " line transfers between threads · %" G_GUINT64_FORMAT
		" invalidations · %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " lines contended",
		range, tot.accesses, tot.transfers, tot.invalidations, tot.lines_contended, tot.lines_touched);
	gtk_label_set_text(self->summary_label, summary);
	unsigned n = rav_contention_line_count(c);
	rav_trace *t = ravscope_document_get_trace(doc);
	for (unsigned i = 0; i < n && i < HOT_LINES_SHOWN; i++) {
		const rav_contention_line *ln = rav_contention_line_at(c, i);
		GString *threads = g_string_new(NULL);
		unsigned lt[64];
		bool more = false;
		unsigned nlt = rav_contention_line_threads(c, i, lt, 64, &more);
		for (unsigned k = 0; k < nlt && k < 64; k++) {
			rav_trace_thread th_entry;
			const rav_trace_thread *th = rav_trace_thread_at(t, lt[k], &th_entry) ? &th_entry : NULL;
			if (!th)
				continue;
			g_autofree char *nm = ravscope_document_heap_name(doc, th->heap_id);
			g_string_append_printf(threads, "%s%s", threads->len ? ", " : "", nm);
		}
		if (more) /* the model's 64 caches: later threads share the last */
			g_string_append(threads, " and threads past the 64th");
		g_autofree char *where = ln->external ? g_strdup_printf("outside the pool (0x%" G_GINT64_MODIFIER "x)", ln->line * 64)
						     : ravscope_format_loc(ln->first_cell);
		g_autofree char *titletext = g_strdup_printf("%" G_GUINT64_FORMAT " transfers · %s", ln->transfers, where);
		/* who bounces it: the sites of the accesses that missed */
		guint32 sites[LINE_SITES_SHOWN];
		guint64 tr[LINE_SITES_SHOWN];
		unsigned ns = rav_contention_line_sites(c, i, sites, tr, LINE_SITES_SHOWN);
		GString *by = g_string_new(NULL);
		for (unsigned k = 0; k < ns && k < LINE_SITES_SHOWN; k++) {
			if (!sites[k])
				continue;
			g_autofree char *sl = ravscope_site_label(t, sites[k]);
			g_string_append_printf(by, "%s%s ×%" G_GUINT64_FORMAT, by->len ? ", " : "\nbounced by ", sl, tr[k]);
		}
		if (ns > LINE_SITES_SHOWN)
			g_string_append_printf(by, " and %u more", ns - LINE_SITES_SHOWN);
		g_autofree char *rsub = g_strdup_printf("%" G_GUINT64_FORMAT " reads, %" G_GUINT64_FORMAT " writes · %s%s",
							ln->reads, ln->writes, threads->str, by->str);
		g_string_free(by, TRUE);
		g_string_free(threads, TRUE);
		GtkWidget *row = adw_action_row_new();
		/* thread names and call sites are the program's text, not markup */
		adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), titletext);
		adw_action_row_set_subtitle(ADW_ACTION_ROW(row), rsub);
		if (!ln->external) {
			GtkWidget *go = gtk_button_new_from_icon_name("find-location-symbolic");
			gtk_widget_set_valign(go, GTK_ALIGN_CENTER);
			gtk_widget_add_css_class(go, "flat");
			gtk_widget_set_tooltip_text(go, "Show this line's first cell");
			guint64 *loc = g_new(guint64, 1);
			*loc = ln->first_cell;
			g_object_set_data_full(G_OBJECT(go), "loc", loc, g_free);
			g_signal_connect(go, "clicked", G_CALLBACK(on_hot_line_clicked), self);
			adw_action_row_add_suffix(ADW_ACTION_ROW(row), go);
		}
		add_row(self, row);
	}
	if (n == 0) {
		GtkWidget *row = adw_action_row_new();
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), "No line moved between threads");
		add_row(self, row);
	}
}

/* Show the controller's state: which children are visible, and their text. */
static void update(RavscopeContentionPanel *self)
{
	RavscopeDocument *doc = self->contention ? ravscope_contention_get_document(self->contention) : NULL;
	rav_contention *c = doc ? ravscope_contention_get_result(self->contention) : NULL;
	gboolean running = doc && ravscope_contention_is_running(self->contention);
	gboolean idle = doc && !running && !c;
	gboolean result = doc && !running && c;
	clear_rows(self);
	gtk_widget_set_visible(GTK_WIDGET(self->intro_label), running || idle);
	gtk_widget_set_visible(GTK_WIDGET(self->progress), running);
	gtk_widget_set_visible(self->cancel_button, running);
	gtk_widget_set_visible(self->compute_button, idle);
	gtk_widget_set_visible(self->windowed_list, result);
	gtk_widget_set_visible(GTK_WIDGET(self->summary_label), result);
	gtk_widget_set_visible(self->heading, result);
	gtk_widget_set_visible(GTK_WIDGET(self->lines_list), result);
	if (running) {
		gtk_label_set_text(self->intro_label, "Replaying memory accesses through a model of per-thread caches…");
		gtk_progress_bar_set_fraction(self->progress, ravscope_contention_get_progress(self->contention));
	} else if (idle) {
		gtk_label_set_text(self->intro_label,
			"Cache contention: replay the recorded loads and stores through a model of each thread's cache "
			"(64-byte lines) and count lines moving between threads. Traces record accesses when the program ran "
			"with RAVIOLI_TRACE_ACCESS=1.");
	} else if (result) {
		show_result(self, doc, c);
	}
}

static void on_changed(RavscopeContention *c, RavscopeContentionPanel *self) { update(self); }
static void on_running(RavscopeContention *c, GParamSpec *pspec, RavscopeContentionPanel *self) { update(self); }

static void on_progress(RavscopeContention *c, GParamSpec *pspec, RavscopeContentionPanel *self)
{
	gtk_progress_bar_set_fraction(self->progress, ravscope_contention_get_progress(c));
}

void ravscope_contention_panel_set_contention(RavscopeContentionPanel *self, RavscopeContention *contention)
{
	if (self->contention == contention)
		return;
	if (self->contention) {
		g_signal_handlers_disconnect_by_data(self->contention, self);
		g_clear_pointer(&self->windowed_binding, g_binding_unbind);
		g_clear_pointer(&self->window_binding, g_binding_unbind);
		g_clear_object(&self->contention);
	}
	if (contention) {
		self->contention = g_object_ref(contention);
		g_signal_connect(contention, "changed", G_CALLBACK(on_changed), self);
		g_signal_connect(contention, "notify::running", G_CALLBACK(on_running), self);
		g_signal_connect(contention, "notify::progress", G_CALLBACK(on_progress), self);
		self->windowed_binding = g_object_bind_property(contention, "windowed", self->windowed_switch, "active",
								G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
		self->window_binding =
		    g_object_bind_property(contention, "window-length", gtk_spin_button_get_adjustment(self->window_spin),
		                           "value", G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
	}
	update(self);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_CONTENTION]);
}

/* The document comes through the contention model it shows. */
static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	update(RAVSCOPE_CONTENTION_PANEL(panel));
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
}

static void ravscope_contention_panel_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	if (id == PROP_CONTENTION)
		g_value_set_object(v, RAVSCOPE_CONTENTION_PANEL(o)->contention);
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_contention_panel_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	if (id == PROP_CONTENTION)
		ravscope_contention_panel_set_contention(RAVSCOPE_CONTENTION_PANEL(o), g_value_get_object(v));
	else
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
}

static void ravscope_contention_panel_dispose(GObject *object)
{
	RavscopeContentionPanel *self = RAVSCOPE_CONTENTION_PANEL(object);
	ravscope_contention_panel_set_contention(self, NULL);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_CONTENTION_PANEL);
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self))))
		gtk_widget_unparent(child);
	G_OBJECT_CLASS(ravscope_contention_panel_parent_class)->dispose(object);
}

static void ravscope_contention_panel_finalize(GObject *object)
{
	g_ptr_array_unref(RAVSCOPE_CONTENTION_PANEL(object)->rows);
	G_OBJECT_CLASS(ravscope_contention_panel_parent_class)->finalize(object);
}

static void ravscope_contention_panel_class_init(RavscopeContentionPanelClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_contention_panel_dispose;
	oc->finalize = ravscope_contention_panel_finalize;
	oc->get_property = ravscope_contention_panel_get_property;
	oc->set_property = ravscope_contention_panel_set_property;
	props[PROP_CONTENTION] = g_param_spec_object("contention", NULL, NULL, RAVSCOPE_TYPE_CONTENTION,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-contention-panel.ui");
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, windowed_list);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, windowed_row);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, windowed_switch);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, window_row);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, window_spin);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, intro_label);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, summary_label);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, progress);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, cancel_button);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, compute_button);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, heading);
	gtk_widget_class_bind_template_child(wc, RavscopeContentionPanel, lines_list);
	gtk_widget_class_bind_template_callback(wc, on_cancel);
	gtk_widget_class_bind_template_callback(wc, on_window_output);
	gtk_widget_class_bind_template_callback(wc, on_window_input);
	gtk_widget_class_set_layout_manager_type(wc, GTK_TYPE_BIN_LAYOUT);
}

static void ravscope_contention_panel_init(RavscopeContentionPanel *self)
{
	self->rows = g_ptr_array_new();
	gtk_widget_init_template(GTK_WIDGET(self));
	update(self);
}

GtkWidget *ravscope_contention_panel_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_CONTENTION_PANEL, NULL);
}
