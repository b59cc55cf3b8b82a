/* ravscope-export-dialog.c - the Export dialog: pictures for slides.
 *
 * Choices (this moment or a range of events; as shown or the whole heap;
 * size; title and timeline; format) make a RavscopeExportOptions; Export…
 * asks for the file (a folder for numbered frames) and runs the export job
 * (ravscope-export.c) from an idle handler, one frame per call, on a view
 * of the document, so the window's playhead stays where it is and the
 * window stays responsive.  "done" says how it ended; the window shows it.
 */
#include "ravscope-export-dialog.h"

#include <math.h>
#include <string.h>

struct _RavscopeExportDialog {
	AdwWindow parent_instance;
	/* template */
	GtkWidget *cancel_button, *export_button;
	AdwComboRow *what_row, *view_row, *size_row, *format_row;
	GtkWidget *range_group;
	GtkSpinButton *from_spin, *to_spin, *fps_spin, *step_spin;
	GtkSwitch *chrome_switch;
	GtkLabel *estimate_label;
	GtkProgressBar *progress;

	RavscopeDocument *doc;
	RavscopePictureStyle view; /* what the window shows */
	RavscopeExport *job;
	guint job_source;
	char *path;
	GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE(RavscopeExportDialog, ravscope_export_dialog, ADW_TYPE_WINDOW)

enum { SIGNAL_DONE, N_SIGNALS };
static guint signals[N_SIGNALS];

static const int sizes[][2] = { { 0, 0 }, { 1280, 720 }, { 1920, 1080 }, { 2560, 1440 }, { 3840, 2160 } };
static const RavscopeExportFormat moment_formats[] = { RAVSCOPE_EXPORT_PNG, RAVSCOPE_EXPORT_SVG, RAVSCOPE_EXPORT_PDF };
static const RavscopeExportFormat range_formats[] = { RAVSCOPE_EXPORT_GIF, RAVSCOPE_EXPORT_APNG, RAVSCOPE_EXPORT_PDF,
						      RAVSCOPE_EXPORT_FRAMES };

static gboolean is_range(RavscopeExportDialog *self)
{
	return adw_combo_row_get_selected(self->what_row) == 1;
}

static RavscopeExportFormat chosen_format(RavscopeExportDialog *self)
{
	guint i = adw_combo_row_get_selected(self->format_row);
	if (is_range(self))
		return range_formats[MIN(i, G_N_ELEMENTS(range_formats) - 1)];
	return moment_formats[MIN(i, G_N_ELEMENTS(moment_formats) - 1)];
}

static void set_formats(RavscopeExportDialog *self)
{
	GtkStringList *l = gtk_string_list_new(NULL);
	if (is_range(self)) {
		gtk_string_list_append(l, "Animated GIF (plays in any slide program)");
		gtk_string_list_append(l, "Animated PNG (every colour kept)");
		gtk_string_list_append(l, "PDF, a page per frame");
		gtk_string_list_append(l, "Numbered PNG frames in a folder");
	} else {
		gtk_string_list_append(l, "PNG");
		gtk_string_list_append(l, "SVG (vector)");
		gtk_string_list_append(l, "PDF (vector)");
	}
	adw_combo_row_set_model(self->format_row, G_LIST_MODEL(l));
	g_object_unref(l);
}

/* The options the choices make (path not set). */
static void options(RavscopeExportDialog *self, RavscopeExportOptions *o)
{
	memset(o, 0, sizeof *o);
	o->style = self->view;
	o->style.chrome = gtk_switch_get_active(self->chrome_switch);
	if (adw_combo_row_get_selected(self->view_row) == 1) {
		o->style.scale = 0; /* the whole heap, fitted */
		o->style.page_cols = 0;
	}
	guint si = MIN(adw_combo_row_get_selected(self->size_row), G_N_ELEMENTS(sizes) - 1);
	if (si > 0)
		ravscope_picture_style_resize(&o->style, sizes[si][0], sizes[si][1]);
	o->format = chosen_format(self);
	o->range = is_range(self);
	o->from = (guint64)gtk_spin_button_get_value(self->from_spin);
	o->to = (guint64)gtk_spin_button_get_value(self->to_spin);
	o->fps = gtk_spin_button_get_value(self->fps_spin);
	o->step_ms = (guint)gtk_spin_button_get_value(self->step_spin);
}

static void update_estimate(RavscopeExportDialog *self)
{
	if (self->job)
		return;
	RavscopeExportOptions o;
	options(self, &o);
	gtk_widget_set_visible(self->range_group, o.range);
	if (!o.range) {
		guint64 pos = ravscope_document_get_position(self->doc);
		g_autofree char *t = g_strdup_printf("The heap just before event %" G_GUINT64_FORMAT ", %d × %d pixels.", pos,
						     o.style.width, o.style.height);
		gtk_label_set_text(self->estimate_label, t);
		gtk_widget_set_sensitive(self->export_button, TRUE);
		return;
	}
	if (o.from >= o.to) {
		gtk_label_set_text(self->estimate_label, "The range must end after it starts.");
		gtk_widget_set_sensitive(self->export_button, FALSE);
		return;
	}
	guint64 frames = ravscope_export_estimate_frames(self->doc, &o);
	g_autofree char *t = g_strdup_printf("About %" G_GUINT64_FORMAT " frames, %.0f s at %.0f frames per second, %d × %d "
					     "pixels%s.",
					     frames, frames / MAX(o.fps, 1), o.fps, o.style.width, o.style.height,
					     frames > RAVSCOPE_EXPORT_MAX_FRAMES ? ": too many, choose a shorter range" : "");
	gtk_label_set_text(self->estimate_label, t);
	gtk_widget_set_sensitive(self->export_button, frames <= RAVSCOPE_EXPORT_MAX_FRAMES);
}

static void on_what_changed(GObject *o, GParamSpec *pspec, RavscopeExportDialog *self)
{
	set_formats(self);
	update_estimate(self);
}

static void on_range_changed(GObject *o, RavscopeExportDialog *self)
{
	update_estimate(self);
}

static void on_format_changed(GObject *o, GParamSpec *pspec, RavscopeExportDialog *self)
{
	update_estimate(self);
}

/* ---- running --------------------------------------------------------------------- */

static void set_running(RavscopeExportDialog *self, gboolean running)
{
	gtk_widget_set_visible(GTK_WIDGET(self->progress), running);
	gtk_widget_set_sensitive(self->export_button, !running);
	gtk_widget_set_sensitive(GTK_WIDGET(self->what_row), !running);
	gtk_widget_set_sensitive(self->range_group, !running);
	gtk_widget_set_sensitive(GTK_WIDGET(self->view_row), !running);
	gtk_widget_set_sensitive(GTK_WIDGET(self->size_row), !running);
	gtk_widget_set_sensitive(GTK_WIDGET(self->format_row), !running);
	gtk_widget_set_sensitive(GTK_WIDGET(self->chrome_switch), !running);
}

static void finish(RavscopeExportDialog *self, gboolean ok, const char *message)
{
	g_clear_handle_id(&self->job_source, g_source_remove);
	set_running(self, FALSE);
	if (!ok)
		gtk_label_set_text(self->estimate_label, message);
	g_signal_emit(self, signals[SIGNAL_DONE], 0, ok, message);
}

/* One frame per call: the window stays responsive. */
static gboolean job_step(gpointer user)
{
	RavscopeExportDialog *self = user;
	GError *error = NULL;
	if (ravscope_export_next(self->job, &error)) {
		guint frames = ravscope_export_frames(self->job);
		g_autofree char *t = g_strdup_printf("%u frame%s", frames, frames == 1 ? "" : "s");
		gtk_progress_bar_set_text(self->progress, t);
		gtk_progress_bar_set_fraction(self->progress, ravscope_export_progress(self->job));
		return G_SOURCE_CONTINUE;
	}
	self->job_source = 0;
	RavscopeExport *job = g_steal_pointer(&self->job);
	guint frames = ravscope_export_frames(job);
	if (error) {
		ravscope_export_cancel(job);
	} else if (!ravscope_export_finish(job, &error)) {
		job = NULL;
	}
	if (error) {
		g_autofree char *msg = g_strdup_printf("Export failed: %s", error->message);
		g_error_free(error);
		finish(self, FALSE, msg);
		return G_SOURCE_REMOVE;
	}
	g_autofree char *base = g_path_get_basename(self->path);
	g_autofree char *msg = frames > 1 ? g_strdup_printf("Exported %u frames to %s", frames, base)
					  : g_strdup_printf("Exported %s", base);
	finish(self, TRUE, msg);
	gtk_window_close(GTK_WINDOW(self));
	return G_SOURCE_REMOVE;
}

gboolean ravscope_export_dialog_export_to(RavscopeExportDialog *self, const char *path, GError **error)
{
	if (self->job) {
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "an export is running");
		return FALSE;
	}
	RavscopeExportOptions o;
	options(self, &o);
	g_free(self->path);
	self->path = g_strdup(path);
	o.path = self->path;
	/* The format chosen, checked against the name (a frames folder may be
	 * any name; others get the right ending). */
	if (o.format != RAVSCOPE_EXPORT_FRAMES) {
		RavscopeExportFormat by_name;
		if (!ravscope_export_format_for_path(path, o.range, &by_name, NULL) ||
		    (by_name != o.format && !(by_name == RAVSCOPE_EXPORT_PNG && o.format == RAVSCOPE_EXPORT_APNG))) {
			static const char *const ext[] = { ".png", ".svg", ".pdf", ".gif", ".png", "" };
			g_autofree char *fixed = g_strconcat(path, ext[o.format], NULL);
			g_free(self->path);
			self->path = g_steal_pointer(&fixed);
			o.path = self->path;
		}
	}
	RavscopeDocument *view = ravscope_document_new_view(self->doc, error);
	if (!view)
		return FALSE;
	self->job = ravscope_export_new(view, &o, error);
	g_object_unref(view); /* the job holds it */
	if (!self->job)
		return FALSE;
	set_running(self, TRUE);
	gtk_progress_bar_set_fraction(self->progress, 0);
	self->job_source = g_idle_add(job_step, self);
	return TRUE;
}

gboolean ravscope_export_dialog_is_running(RavscopeExportDialog *self)
{
	return self->job != NULL;
}

static void on_chosen(GtkNativeDialog *chooser, int response, RavscopeExportDialog *self)
{
	if (response == GTK_RESPONSE_ACCEPT) {
		g_autoptr(GFile) f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(chooser));
		g_autofree char *path = f ? g_file_get_path(f) : NULL;
		GError *error = NULL;
		if (!path)
			gtk_label_set_text(self->estimate_label, "Export failed: only local files can be written.");
		else if (!ravscope_export_dialog_export_to(self, path, &error)) {
			g_autofree char *msg = g_strdup_printf("Export failed: %s", error->message);
			gtk_label_set_text(self->estimate_label, msg);
			g_error_free(error);
		}
	}
	g_clear_object(&self->chooser);
}

static void on_export(GtkButton *b, RavscopeExportDialog *self)
{
	RavscopeExportOptions o;
	options(self, &o);
	gboolean folder = o.format == RAVSCOPE_EXPORT_FRAMES;
	self->chooser = gtk_file_chooser_native_new(folder ? "Export Frames Into" : "Export Picture", GTK_WINDOW(self),
						    folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER : GTK_FILE_CHOOSER_ACTION_SAVE,
						    "_Export", "_Cancel");
	if (!folder) {
		g_autofree char *stem = g_strdup(ravscope_document_get_basename(self->doc));
		char *dot = strrchr(stem, '.');
		if (dot)
			*dot = 0;
		static const char *const ext[] = { "png", "svg", "pdf", "gif", "png", "" };
		g_autofree char *name = o.range ? g_strdup_printf("%s-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ".%s", stem,
								  o.from, o.to, ext[o.format])
						: g_strdup_printf("%s-%" G_GUINT64_FORMAT ".%s", stem,
								  ravscope_document_get_position(self->doc), ext[o.format]);
		gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->chooser), name);
	}
	g_signal_connect(self->chooser, "response", G_CALLBACK(on_chosen), self);
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void on_cancel(GtkButton *b, RavscopeExportDialog *self)
{
	gtk_window_close(GTK_WINDOW(self));
}

/* ---- class ------------------------------------------------------------------------ */

static gboolean on_close_request(GtkWindow *w, gpointer user)
{
	RavscopeExportDialog *self = RAVSCOPE_EXPORT_DIALOG(w);
	if (self->job) {
		/* Closed while running: remove what was written. */
		g_clear_handle_id(&self->job_source, g_source_remove);
		ravscope_export_cancel(g_steal_pointer(&self->job));
		g_signal_emit(self, signals[SIGNAL_DONE], 0, FALSE, "Export cancelled");
	}
	return FALSE;
}

static void ravscope_export_dialog_dispose(GObject *object)
{
	RavscopeExportDialog *self = RAVSCOPE_EXPORT_DIALOG(object);
	g_clear_handle_id(&self->job_source, g_source_remove);
	if (self->job)
		ravscope_export_cancel(g_steal_pointer(&self->job));
	if (self->chooser) {
		gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
		g_clear_object(&self->chooser);
	}
	g_clear_object(&self->doc);
	g_clear_pointer(&self->path, g_free);
	gtk_widget_dispose_template(GTK_WIDGET(self), RAVSCOPE_TYPE_EXPORT_DIALOG);
	G_OBJECT_CLASS(ravscope_export_dialog_parent_class)->dispose(object);
}

static void ravscope_export_dialog_class_init(RavscopeExportDialogClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
	oc->dispose = ravscope_export_dialog_dispose;
	gtk_widget_class_set_template_from_resource(wc, "/org/ravscope/Ravscope/ravscope-export-dialog.ui");
#define BIND(name) gtk_widget_class_bind_template_child(wc, RavscopeExportDialog, name)
	BIND(cancel_button); BIND(export_button); BIND(what_row); BIND(view_row); BIND(size_row); BIND(format_row);
	BIND(range_group); BIND(from_spin); BIND(to_spin); BIND(fps_spin); BIND(step_spin); BIND(chrome_switch);
	BIND(estimate_label); BIND(progress);
#undef BIND
	gtk_widget_class_bind_template_callback(wc, on_what_changed);
	gtk_widget_class_bind_template_callback(wc, on_range_changed);
	gtk_widget_class_bind_template_callback(wc, on_format_changed);
	gtk_widget_class_bind_template_callback(wc, on_export);
	gtk_widget_class_bind_template_callback(wc, on_cancel);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "window.close", NULL);
	/* done (gboolean ok, const char *message) */
	signals[SIGNAL_DONE] = g_signal_new("done", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
					    G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void ravscope_export_dialog_init(RavscopeExportDialog *self)
{
	gtk_widget_init_template(GTK_WIDGET(self));
	g_signal_connect(self, "close-request", G_CALLBACK(on_close_request), NULL);
}

RavscopeExportDialog *ravscope_export_dialog_new(GtkWindow *parent, RavscopeDocument *doc, const RavscopePictureStyle *view)
{
	RavscopeExportDialog *self = g_object_new(RAVSCOPE_TYPE_EXPORT_DIALOG, "transient-for", parent, NULL);
	self->doc = g_object_ref(doc);
	self->view = *view;
	guint64 pos = ravscope_document_get_position(doc), n = ravscope_document_get_event_count(doc);
	GtkStringList *what = gtk_string_list_new(NULL);
	g_autofree char *now = g_strdup_printf("Now (event %" G_GUINT64_FORMAT ")", pos);
	gtk_string_list_append(what, now);
	gtk_string_list_append(what, "A range of events");
	adw_combo_row_set_model(self->what_row, G_LIST_MODEL(what));
	g_object_unref(what);
	GtkStringList *views = gtk_string_list_new((const char *const[]){ "As shown", "The whole heap", NULL });
	adw_combo_row_set_model(self->view_row, G_LIST_MODEL(views));
	g_object_unref(views);
	GtkStringList *sz = gtk_string_list_new(NULL);
	g_autofree char *shown = g_strdup_printf("As shown (%d × %d)", view->width, view->height);
	gtk_string_list_append(sz, shown);
	for (guint i = 1; i < G_N_ELEMENTS(sizes); i++) {
		g_autofree char *t = g_strdup_printf("%d × %d", sizes[i][0], sizes[i][1]);
		gtk_string_list_append(sz, t);
	}
	adw_combo_row_set_model(self->size_row, G_LIST_MODEL(sz));
	g_object_unref(sz);
	/* A range from the playhead: a few hundred events, about a slide's worth. */
	gtk_spin_button_set_range(self->from_spin, 0, MAX(n, 1) - 1);
	gtk_spin_button_set_increments(self->from_spin, 1, 100);
	gtk_spin_button_set_range(self->to_spin, 1, MAX(n, 1));
	gtk_spin_button_set_increments(self->to_spin, 1, 100);
	gtk_spin_button_set_value(self->from_spin, (double)MIN(pos, n ? n - 1 : 0));
	gtk_spin_button_set_value(self->to_spin, (double)MIN(n, MAX(pos, 0) + 200));
	set_formats(self);
	update_estimate(self);
	return self;
}

void ravscope_export_dialog_choose(RavscopeExportDialog *self, gboolean range, guint64 from, guint64 to, guint size_index,
				   guint format_index)
{
	adw_combo_row_set_selected(self->what_row, range ? 1 : 0);
	gtk_spin_button_set_value(self->from_spin, (double)from);
	gtk_spin_button_set_value(self->to_spin, (double)to);
	adw_combo_row_set_selected(self->size_row, size_index);
	adw_combo_row_set_selected(self->format_row, format_index);
	update_estimate(self);
}
