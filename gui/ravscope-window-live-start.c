/* ravscope-window-live-start.c - how a live session begins and what a
 * user does with one besides debugging: File > Attach to Program
 * (Ctrl+Shift+A, the attach dialog), File > Run Program (Ctrl+Shift+R, a
 * command line to start attached from its first event), Detach (the
 * program runs on, what was received stays open), Save As
 * (Ctrl+Shift+S: what was received, as a trace), and Show Errors.  The
 * dialogs end in ravscope_window_attach_full or ravscope_window_run
 * (ravscope-window-live.c), which start the session.
 */
#include "ravscope-window-private.h"

#include "ravscope-attach-dialog.h"

static void on_dialog_attach(RavscopeAttachDialog *d, int pid, RavscopeWindow *self)
{
	gboolean accesses = ravscope_attach_dialog_get_accesses(d);
	gtk_window_destroy(GTK_WINDOW(d));
	ravscope_window_attach_full(self, pid, accesses);
	if (accesses)
		ravscope_contention_set_active(self->contention, TRUE);
}

static void act_attach(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	RavscopeAttachDialog *d = ravscope_attach_dialog_new(GTK_WINDOW(self));
	g_signal_connect(d, "attach", G_CALLBACK(on_dialog_attach), self);
	gtk_window_present(GTK_WINDOW(d));
	self->attach_dialog = d;
	g_object_add_weak_pointer(G_OBJECT(d), (gpointer *)&self->attach_dialog);
}

static void on_run_response(GtkWidget *button, RavscopeWindow *self)
{
	GtkWindow *dlg = GTK_WINDOW(gtk_widget_get_root(button));
	GtkEditable *entry = g_object_get_data(G_OBJECT(dlg), "entry");
	GError *error = NULL;
	char **argv = NULL;
	if (!g_shell_parse_argv(gtk_editable_get_text(entry), NULL, &argv, &error)) {
		GtkLabel *err = g_object_get_data(G_OBJECT(dlg), "error");
		gtk_label_set_text(err, error->message);
		gtk_widget_set_visible(GTK_WIDGET(err), TRUE);
		g_error_free(error);
		return;
	}
	gtk_window_destroy(dlg);
	ravscope_window_run(self, (const char *const *)argv);
	g_strfreev(argv);
}

static void act_run_program(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	GtkWidget *dlg = adw_window_new();
	gtk_window_set_title(GTK_WINDOW(dlg), "Run Program");
	gtk_window_set_transient_for(GTK_WINDOW(dlg), GTK_WINDOW(self));
	gtk_window_set_modal(GTK_WINDOW(dlg), TRUE);
	gtk_window_set_default_size(GTK_WINDOW(dlg), 560, -1);
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_box_append(GTK_BOX(box), adw_header_bar_new());
	GtkWidget *inner = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_margin_start(inner, 18);
	gtk_widget_set_margin_end(inner, 18);
	gtk_widget_set_margin_bottom(inner, 18);
	GtkWidget *intro = gtk_label_new("A program linked with libravioli, and its arguments. ravscope starts it "
					 "attached from its first event; its output appears in the Output panel.");
	gtk_label_set_wrap(GTK_LABEL(intro), TRUE);
	gtk_label_set_xalign(GTK_LABEL(intro), 0);
	gtk_box_append(GTK_BOX(inner), intro);
	GtkWidget *entry = gtk_entry_new();
	g_autofree char *sample = ravscope_application_find_sample("tree");
	g_autofree char *placeholder = g_strdup_printf("e.g. %s 100000", sample ? sample : "rav-sample-tree");
	gtk_entry_set_placeholder_text(GTK_ENTRY(entry), placeholder);
	gtk_box_append(GTK_BOX(inner), entry);
	GtkWidget *err = gtk_label_new("");
	gtk_widget_add_css_class(err, "error");
	gtk_widget_set_visible(err, FALSE);
	gtk_box_append(GTK_BOX(inner), err);
	GtkWidget *run = gtk_button_new_with_mnemonic("_Run");
	gtk_widget_add_css_class(run, "suggested-action");
	gtk_widget_set_halign(run, GTK_ALIGN_END);
	g_signal_connect(run, "clicked", G_CALLBACK(on_run_response), self);
	g_signal_connect_swapped(entry, "activate", G_CALLBACK(gtk_widget_activate), run);
	gtk_box_append(GTK_BOX(inner), run);
	gtk_box_append(GTK_BOX(box), inner);
	adw_window_set_content(ADW_WINDOW(dlg), box);
	g_object_set_data(G_OBJECT(dlg), "entry", entry);
	g_object_set_data(G_OBJECT(dlg), "error", err);
	gtk_window_present(GTK_WINDOW(dlg));
}

static void act_live_detach(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->live) {
		ravscope_live_detach(self->live);
		ravscope__window_toast(self, "Detached: the program runs on. What was received stays open.");
	}
}

static void on_save_response(GtkNativeDialog *dialog, int response, RavscopeWindow *self)
{
	if (response == GTK_RESPONSE_ACCEPT && self->doc) {
		GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
		g_autofree char *path = f ? g_file_get_path(f) : NULL;
		rav_trace_error err = { 0 };
		if (path && rav_trace_save(ravscope_document_get_trace(self->doc), path, &err) == 0) {
			g_autofree char *msg = g_strdup_printf("Saved %s", path);
			ravscope__window_toast(self, msg);
		} else {
			g_autofree char *msg = g_strdup_printf("Cannot save: %s", path ? err.message : "not a local file");
			ravscope__window_toast(self, msg);
		}
		g_clear_object(&f);
	}
	g_object_unref(dialog);
}

static void act_save_as(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (!self->doc)
		return;
	GtkFileChooserNative *dlg = gtk_file_chooser_native_new("Save the Trace", GTK_WINDOW(self),
		GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
	g_autofree char *suggested = g_strdup_printf("live-%d.ravtrace", self->live ? ravscope_live_get_pid(self->live) : 0);
	gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dlg), self->live ? suggested : ravscope_document_get_basename(self->doc));
	g_signal_connect(dlg, "response", G_CALLBACK(on_save_response), self);
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(dlg));
}

static void act_show_errors(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope__window_show_panel(RAVSCOPE_WINDOW(w), "errors");
}

void ravscope__window_live_start_class_init(GtkWidgetClass *wc)
{
	gtk_widget_class_install_action(wc, "win.attach", NULL, act_attach);
	gtk_widget_class_install_action(wc, "win.run-program", NULL, act_run_program);
	gtk_widget_class_install_action(wc, "win.live-detach", NULL, act_live_detach);
	gtk_widget_class_install_action(wc, "win.save-as", NULL, act_save_as);
	gtk_widget_class_install_action(wc, "win.show-errors", NULL, act_show_errors);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.attach", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_r, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.run-program", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_s, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.save-as", NULL);
}
