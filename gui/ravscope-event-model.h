/* ravscope-event-model.h - a GListModel over the trace's events (all of
 * them, or those matching a filter), decoding nothing until a row shows. */
#pragma once

#include <gio/gio.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_EVENT_ITEM (ravscope_event_item_get_type())
G_DECLARE_FINAL_TYPE(RavscopeEventItem, ravscope_event_item, RAVSCOPE, EVENT_ITEM, GObject)
guint64 ravscope_event_item_get_index(RavscopeEventItem *item);

#define RAVSCOPE_TYPE_EVENT_MODEL (ravscope_event_model_get_type())
G_DECLARE_FINAL_TYPE(RavscopeEventModel, ravscope_event_model, RAVSCOPE, EVENT_MODEL, GObject)

RavscopeEventModel *ravscope_event_model_new(void);
void ravscope_event_model_set_document(RavscopeEventModel *self, RavscopeDocument *doc);
/* kinds: bit mask (0 = all); thread: heap id or -1; text: substring of the
 * event's description or of its call site ("" = any); sites: only events
 * of these call sites (nsites < 0: any site; 0: none matches).  Matching
 * runs in idle slices. */
void ravscope_event_model_set_filter(RavscopeEventModel *self, guint64 kinds, gint64 thread, const char *text,
				     const guint32 *sites, gssize nsites);
/* Indexing made more events available. */
void ravscope_event_model_update_count(RavscopeEventModel *self);
/* Row of the last listed event at or before `event`; GTK_INVALID_LIST_POSITION if none. */
guint ravscope_event_model_row_for_event(RavscopeEventModel *self, guint64 event);
guint64 ravscope_event_model_event_at_row(RavscopeEventModel *self, guint row); /* G_MAXUINT64 if none */
char *ravscope_event_model_dup_status(RavscopeEventModel *self); /* "12 of 3400 events" */

G_END_DECLS
