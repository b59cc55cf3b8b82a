/* ravscope-export-dialog.h - the Export dialog: the view now or a range of
 * events, as PNG, SVG, PDF, an animated GIF or PNG, or numbered frames. */
#pragma once

#include <adwaita.h>

#include "ravscope-export.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_EXPORT_DIALOG (ravscope_export_dialog_get_type())
G_DECLARE_FINAL_TYPE(RavscopeExportDialog, ravscope_export_dialog, RAVSCOPE, EXPORT_DIALOG, AdwWindow)

/* view: what the window shows (ravscope_heap_view_get_picture_style). */
RavscopeExportDialog *ravscope_export_dialog_new(GtkWindow *parent, RavscopeDocument *doc, const RavscopePictureStyle *view);
/* Start exporting to path, as Export… does once a file is chosen (tests;
 * a name without the format's ending gets it).  "done" (gboolean ok, const
 * char *message) tells how it ended; the dialog closes after a success. */
gboolean ravscope_export_dialog_export_to(RavscopeExportDialog *self, const char *path, GError **error);
gboolean ravscope_export_dialog_is_running(RavscopeExportDialog *self);
/* Set the choices as a person would (tests): a range or this moment, the
 * size (0: as shown, then 1280x720, 1920x1080, 2560x1440, 3840x2160) and
 * the format (this moment: PNG, SVG, PDF; a range: GIF, animated PNG, PDF
 * pages, numbered frames). */
void ravscope_export_dialog_choose(RavscopeExportDialog *self, gboolean range, guint64 from, guint64 to, guint size_index,
				   guint format_index);

G_END_DECLS
