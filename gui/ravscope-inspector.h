/* ravscope-inspector.h - the Cell panel: one cell's type, words, referrers
 * and history, and its page.  A RavscopePanel. */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_INSPECTOR (ravscope_inspector_get_type())
G_DECLARE_FINAL_TYPE(RavscopeInspector, ravscope_inspector, RAVSCOPE, INSPECTOR, GtkWidget)

GtkWidget *ravscope_inspector_new(void);
void ravscope_inspector_set_document(RavscopeInspector *self, RavscopeDocument *doc);
void ravscope_inspector_set_cell(RavscopeInspector *self, rav_loc cell);
rav_loc ravscope_inspector_get_cell(RavscopeInspector *self);
void ravscope_inspector_refresh(RavscopeInspector *self); /* the playhead moved */
/* "follow": keep the selection on its raviolo when compaction moves it
 * (the switch in the panel; the window binds it to the heap view). */
gboolean ravscope_inspector_get_follow(RavscopeInspector *self);
void ravscope_inspector_set_follow(RavscopeInspector *self, gboolean follow);
/* Everything shown, as plain text (tests, copy). */
char *ravscope_inspector_dup_text(RavscopeInspector *self);

G_END_DECLS
