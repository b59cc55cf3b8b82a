/* ravscope-document-private.h - the fields of RavscopeDocument, shared by
 * the files of the document: ravscope-document.c (opening, indexing, the
 * playhead), ravscope-document-queries.c (questions about the whole trace:
 * where to open it, the busiest moment, the last event) and
 * ravscope-document-names.c (places, types and events in plain words).
 */
#pragma once

#include "ravscope-document.h"

struct _RavscopeDocument {
	GObject parent_instance;
	char *path;
	char *basename;
	rav_trace *trace;
	rav_state *state;
	rav_trace_info info;
	unsigned page_cols, page_rows;
	gboolean indexed;
	gboolean indexing;
	gboolean stream; /* a live session's growing trace (ravscope_document_open_stream) */
	double progress;
	guint64 progress_done, progress_total; /* written by the worker (atomics) */
	guint progress_source;
	GHashTable *max_pages; /* heap id -> max pages (filled once indexed) */
	gint64 headline;       /* the event the last step was about; -1: none (a seek) */
	RavscopeDocument *owner; /* a view: the document whose trace it reads (which closes it) */
	GCancellable *cancellable; /* of the indexing, and of the map of operations after it */
	gboolean operations_running;
	GHashTable *shown_names; /* type id -> its name made valid UTF-8, for names that are not */
	/* ravscope_document_replay_stop's answer, found once indexed. */
	gboolean stop_known, stops;
	guint64 stop_at;
	char *stop_message;
};
