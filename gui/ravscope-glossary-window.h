/* ravscope-glossary-window.h - the Glossary window: every term of the
 * model (rav_glossary_*) with its definition, searchable, each definition
 * linking the other terms it uses.  One window per application; links
 * "glossary:ID" anywhere in the viewer open it at that term. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_GLOSSARY_WINDOW (ravscope_glossary_window_get_type())
G_DECLARE_FINAL_TYPE(RavscopeGlossaryWindow, ravscope_glossary_window, RAVSCOPE, GLOSSARY_WINDOW, AdwWindow)

/* Show the glossary (created on first use), scrolled to term `id` (NULL:
 * as it was), next to `parent`.  Returns the window (owned by GTK). */
RavscopeGlossaryWindow *ravscope_glossary_show(GtkWindow *parent, const char *id);
/* The term shown highlighted (for tests), or NULL. */
const char *ravscope_glossary_window_get_current(RavscopeGlossaryWindow *self);

G_END_DECLS
