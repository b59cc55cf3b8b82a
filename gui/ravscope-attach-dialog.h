/* ravscope-attach-dialog.h - the Attach to Program dialog: a refreshing list
 * of the user's running programs that link libravioli; "attach" (int pid)
 * when one is chosen. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_ATTACH_DIALOG (ravscope_attach_dialog_get_type())
G_DECLARE_FINAL_TYPE(RavscopeAttachDialog, ravscope_attach_dialog, RAVSCOPE, ATTACH_DIALOG, AdwWindow)

RavscopeAttachDialog *ravscope_attach_dialog_new(GtkWindow *parent);
/* For tests: fetch the list now; whether the empty state shows; rows. */
void ravscope_attach_dialog_refresh(RavscopeAttachDialog *self);
gboolean ravscope_attach_dialog_shows_empty(RavscopeAttachDialog *self);
guint ravscope_attach_dialog_count(RavscopeAttachDialog *self);
/* For tests: whether a row offers the program with this pid (the list also
 * has every other program of the user's that listens in /tmp/ravioli-UID). */
gboolean ravscope_attach_dialog_lists(RavscopeAttachDialog *self, int pid);
/* The "record memory accesses" choice. */
gboolean ravscope_attach_dialog_get_accesses(RavscopeAttachDialog *self);

G_END_DECLS
