/* ravscope-site-highlight.h - the cells of a call site, kept up with the
 * playhead, for the heap view's highlight (ravscope-site-highlight.c). */
#pragma once

#include <gio/gio.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_SITE_HIGHLIGHT (ravscope_site_highlight_get_type())
G_DECLARE_FINAL_TYPE(RavscopeSiteHighlight, ravscope_site_highlight, RAVSCOPE, SITE_HIGHLIGHT, GObject)

RavscopeSiteHighlight *ravscope_site_highlight_new(void);
void ravscope_site_highlight_set_document(RavscopeSiteHighlight *self, RavscopeDocument *doc);
/* Highlight the cells these sites allocated (n = 0: nothing), described
 * by label ("list_push (list.c:42)").  "changed" is emitted when the cells
 * for the playhead are known. */
void ravscope_site_highlight_set(RavscopeSiteHighlight *self, const guint32 *sites, gsize n, const char *label);
/* The cells at the playhead; NULL while none are asked for or while they
 * are being computed. */
const rav_site_cells *ravscope_site_highlight_get_cells(RavscopeSiteHighlight *self);
const char *ravscope_site_highlight_get_label(RavscopeSiteHighlight *self);
gboolean ravscope_site_highlight_is_active(RavscopeSiteHighlight *self);

G_END_DECLS
