/* ravscope-attach-dialog.c - File > Attach to Program: the user's running
 * programs that link libravioli, refreshed while the dialog is open.
 *
 * rav_live_list asks each program's socket for its INFO, which may take a
 * moment when a program is busy, so the list is fetched in a GTask thread
 * once a second and the rows are rebuilt only when what they show changed
 * (a selection or keyboard focus survives a refresh).  With no program,
 * the dialog says what to do instead of showing an empty list.
 */
#include "ravscope-attach-dialog.h"

#include <string.h>

#include "ravscope-application.h"
#include "ravtrace.h"

struct _RavscopeAttachDialog {
	AdwWindow parent_instance;
	GtkStack *stack;
	GtkListBox *list;
	AdwStatusPage *empty;
	GtkLabel *error_label;
	GtkCheckButton *accesses;
	guint timer;
	gboolean fetching;
	char *shown; /* what the rows show now (to skip identical refreshes) */
	GCancellable *cancel;
};

G_DEFINE_FINAL_TYPE(RavscopeAttachDialog, ravscope_attach_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_ATTACH, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef struct {
	rav_live_program *progs;
	size_t n;
	char error[256];
} ListResult;

static void list_result_free(gpointer p)
{
	ListResult *r = p;
	free(r->progs);
	g_free(r);
}

static void list_thread(GTask *task, gpointer source, gpointer data, GCancellable *c)
{
	ListResult *r = g_new0(ListResult, 1);
	rav_trace_error err = { 0 };
	unsigned removed = 0;
	if (rav_live_list(&r->progs, &r->n, &removed, &err) != 0)
		g_strlcpy(r->error, err.message, sizeof r->error);
	g_task_return_pointer(task, r, list_result_free);
}

static char *format_uptime(guint64 start_ns)
{
	gint64 now = g_get_real_time() * 1000;
	guint64 s = start_ns && (guint64)now > start_ns ? ((guint64)now - start_ns) / 1000000000u : 0;
	if (s < 60)
		return g_strdup_printf("%llu s", (unsigned long long)s);
	if (s < 3600)
		return g_strdup_printf("%llu min %llu s", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
	return g_strdup_printf("%llu h %llu min", (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60));
}

static void on_row_activated(GtkListBox *box, GtkListBoxRow *row, RavscopeAttachDialog *self)
{
	int pid = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(row), "pid"));
	if (pid > 0 && gtk_widget_get_sensitive(GTK_WIDGET(row)))
		g_signal_emit(self, signals[SIGNAL_ATTACH], 0, pid);
}

static void on_attach_clicked(GtkButton *b, RavscopeAttachDialog *self)
{
	int pid = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(b), "pid"));
	if (pid > 0)
		g_signal_emit(self, signals[SIGNAL_ATTACH], 0, pid);
}

static void show_programs(RavscopeAttachDialog *self, const ListResult *r)
{
	GString *key = g_string_new(r->error);
	int me = getpid();
	for (size_t i = 0; i < r->n; i++) {
		const rav_live_program *p = &r->progs[i];
		g_string_append_printf(key, "|%d %s %u %llu %d %d", p->pid, p->command, p->threads,
				       (unsigned long long)(p->live_cells / 1000), p->attached_by, p->records_to_file);
	}
	/* uptime changes every second: part of what is shown */
	g_string_append_printf(key, "|%lld", (long long)(g_get_real_time() / 1000000));
	if (self->shown && !strcmp(self->shown, key->str)) {
		g_string_free(key, TRUE);
		return;
	}
	g_free(self->shown);
	self->shown = g_string_free(key, FALSE);
	gtk_label_set_text(self->error_label, r->error);
	gtk_widget_set_visible(GTK_WIDGET(self->error_label), r->error[0] != 0);
	if (r->n == 0) {
		gtk_stack_set_visible_child_name(self->stack, "empty");
		return;
	}
	gtk_stack_set_visible_child_name(self->stack, "list");
	GtkListBoxRow *sel = gtk_list_box_get_selected_row(self->list);
	int sel_pid = sel ? GPOINTER_TO_INT(g_object_get_data(G_OBJECT(sel), "pid")) : 0;
	GtkWidget *child;
	while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->list))))
		gtk_list_box_remove(self->list, child);
	for (size_t i = 0; i < r->n; i++) {
		const rav_live_program *p = &r->progs[i];
		GtkWidget *row = adw_action_row_new();
		g_autofree char *title = g_markup_escape_text(p->command[0] ? p->command : "(unknown)", -1);
		adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
		adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), TRUE);
		g_autofree char *up = format_uptime(p->start_ns);
		g_autofree char *state = NULL;
		if (p->records_to_file)
			state = g_strdup(" · records to a file (RAVIOLI_TRACE): cannot attach");
		else if (p->attached_by == me)
			state = g_strdup(" · attached by this ravscope");
		else if (p->attached_by)
			state = g_strdup_printf(" · attached by PID %d", p->attached_by);
		else
			state = g_strdup("");
		g_autofree char *sub = g_strdup_printf("PID %d · %u thread heap%s · %'llu live cells · %llu pages · up %s%s",
						       p->pid, p->threads, p->threads == 1 ? "" : "s",
						       (unsigned long long)p->live_cells,
						       (unsigned long long)p->pool_pages, up, state);
		adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
		gboolean can = !p->records_to_file && !p->attached_by;
		GtkWidget *b = gtk_button_new_with_label("Attach");
		gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
		gtk_widget_set_sensitive(b, can);
		g_object_set_data(G_OBJECT(b), "pid", GINT_TO_POINTER(p->pid));
		g_signal_connect(b, "clicked", G_CALLBACK(on_attach_clicked), self);
		adw_action_row_add_suffix(ADW_ACTION_ROW(row), b);
		gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), can);
		g_object_set_data(G_OBJECT(row), "pid", GINT_TO_POINTER(p->pid));
		gtk_list_box_append(self->list, row);
		if (p->pid == sel_pid)
			gtk_list_box_select_row(self->list, GTK_LIST_BOX_ROW(row));
	}
}

static void list_done(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeAttachDialog *self = user;
	ListResult *r = g_task_propagate_pointer(G_TASK(res), NULL);
	if (r && !g_cancellable_is_cancelled(self->cancel)) {
		self->fetching = FALSE;
		show_programs(self, r);
	}
	if (r)
		list_result_free(r);
	g_object_unref(self);
}

static gboolean refresh(gpointer user)
{
	RavscopeAttachDialog *self = user;
	if (self->fetching)
		return G_SOURCE_CONTINUE;
	self->fetching = TRUE;
	GTask *task = g_task_new(NULL, self->cancel, list_done, g_object_ref(self));
	g_task_run_in_thread(task, list_thread);
	g_object_unref(task);
	return G_SOURCE_CONTINUE;
}

void ravscope_attach_dialog_refresh(RavscopeAttachDialog *self)
{
	refresh(self);
}

gboolean ravscope_attach_dialog_get_accesses(RavscopeAttachDialog *self)
{
	return gtk_check_button_get_active(self->accesses);
}

gboolean ravscope_attach_dialog_shows_empty(RavscopeAttachDialog *self)
{
	return !g_strcmp0(gtk_stack_get_visible_child_name(self->stack), "empty");
}

guint ravscope_attach_dialog_count(RavscopeAttachDialog *self)
{
	guint n = 0;
	for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self->list)); c; c = gtk_widget_get_next_sibling(c))
		n++;
	return n;
}

gboolean ravscope_attach_dialog_lists(RavscopeAttachDialog *self, int pid)
{
	for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self->list)); c; c = gtk_widget_get_next_sibling(c))
		if (GPOINTER_TO_INT(g_object_get_data(G_OBJECT(c), "pid")) == pid)
			return TRUE;
	return FALSE;
}

static void ravscope_attach_dialog_dispose(GObject *o)
{
	RavscopeAttachDialog *self = RAVSCOPE_ATTACH_DIALOG(o);
	g_clear_handle_id(&self->timer, g_source_remove);
	if (self->cancel)
		g_cancellable_cancel(self->cancel);
	g_clear_object(&self->cancel);
	g_clear_pointer(&self->shown, g_free);
	G_OBJECT_CLASS(ravscope_attach_dialog_parent_class)->dispose(o);
}

static void ravscope_attach_dialog_class_init(RavscopeAttachDialogClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = ravscope_attach_dialog_dispose;
	/* attach (int pid) */
	signals[SIGNAL_ATTACH] = g_signal_new("attach", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
					      NULL, G_TYPE_NONE, 1, G_TYPE_INT);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void ravscope_attach_dialog_init(RavscopeAttachDialog *self)
{
	self->cancel = g_cancellable_new();
	gtk_window_set_title(GTK_WINDOW(self), "Attach to Program");
	gtk_window_set_default_size(GTK_WINDOW(self), 640, 420);
	gtk_window_set_modal(GTK_WINDOW(self), TRUE);
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
	GtkWidget *header = adw_header_bar_new();
	gtk_box_append(GTK_BOX(box), header);

	self->stack = GTK_STACK(gtk_stack_new());
	gtk_widget_set_vexpand(GTK_WIDGET(self->stack), TRUE);
	/* the list */
	GtkWidget *page = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_margin_start(page, 18);
	gtk_widget_set_margin_end(page, 18);
	gtk_widget_set_margin_top(page, 12);
	gtk_widget_set_margin_bottom(page, 18);
	GtkWidget *intro = gtk_label_new("Running programs of yours that link libravioli. Attaching shows the heap "
					 "live; detaching leaves the program running.");
	gtk_label_set_wrap(GTK_LABEL(intro), TRUE);
	gtk_label_set_xalign(GTK_LABEL(intro), 0);
	gtk_widget_add_css_class(intro, "dim-label");
	gtk_box_append(GTK_BOX(page), intro);
	GtkWidget *scroll = gtk_scrolled_window_new();
	gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
	gtk_widget_set_vexpand(scroll, TRUE);
	self->list = GTK_LIST_BOX(gtk_list_box_new());
	gtk_widget_add_css_class(GTK_WIDGET(self->list), "boxed-list");
	gtk_widget_set_valign(GTK_WIDGET(self->list), GTK_ALIGN_START);
	g_signal_connect(self->list, "row-activated", G_CALLBACK(on_row_activated), self);
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), GTK_WIDGET(self->list));
	gtk_box_append(GTK_BOX(page), scroll);
	self->accesses = GTK_CHECK_BUTTON(gtk_check_button_new_with_label(
		"Also record memory accesses (cache contention overlay; the program runs slower)"));
	gtk_box_append(GTK_BOX(page), GTK_WIDGET(self->accesses));
	gtk_stack_add_named(self->stack, page, "list");
	/* nothing to attach to */
	self->empty = ADW_STATUS_PAGE(adw_status_page_new());
	adw_status_page_set_icon_name(self->empty, "system-search-symbolic");
	adw_status_page_set_title(self->empty, "No Running Program Links libravioli");
	/* the sample program by the path it has here (it is not in PATH) */
	g_autofree char *sample = ravscope_application_find_sample("tree");
	g_autofree char *sample_markup = g_markup_escape_text(sample ? sample : "rav-sample-tree", -1);
	g_autofree char *empty_text = g_strdup_printf(
		"Programs linked with libravioli listen for ravscope while they run (unless RAVIOLI_LISTEN=0 "
		"is set). Start one, for example <tt>%s 1000000 &amp;</tt>, and it appears here "
		"within a second. Or use <b>Run Program…</b> to start a program with ravscope attached from "
		"its first event.",
		sample_markup);
	adw_status_page_set_description(self->empty, empty_text);
	gtk_stack_add_named(self->stack, GTK_WIDGET(self->empty), "empty");
	gtk_stack_add_named(self->stack, gtk_spinner_new(), "loading");
	gtk_stack_set_visible_child_name(self->stack, "loading");
	gtk_box_append(GTK_BOX(box), GTK_WIDGET(self->stack));
	self->error_label = GTK_LABEL(gtk_label_new(""));
	gtk_label_set_wrap(GTK_LABEL(self->error_label), TRUE);
	gtk_widget_add_css_class(GTK_WIDGET(self->error_label), "error");
	gtk_widget_set_visible(GTK_WIDGET(self->error_label), FALSE);
	gtk_box_append(GTK_BOX(box), GTK_WIDGET(self->error_label));
	adw_window_set_content(ADW_WINDOW(self), box);
	refresh(self);
	self->timer = g_timeout_add(1000, refresh, self);
}

RavscopeAttachDialog *ravscope_attach_dialog_new(GtkWindow *parent)
{
	return g_object_new(RAVSCOPE_TYPE_ATTACH_DIALOG, "transient-for", parent, NULL);
}
