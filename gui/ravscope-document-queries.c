/* ravscope-document-queries.c - questions a view asks about the whole open
 * trace rather than about the playhead's state: the most telling moment to
 * open at and the sentence that says why, whether the trace has cells or
 * memory accesses at all, how many pages a heap ever owned, which event the
 * last step was about and when an event happened.  Every answer comes from
 * libravtrace (series, filters); the window, the headless renderer and the
 * lessons ask here instead of working it out again.
 */
#include "ravscope-document-private.h"

#include <math.h>

guint64 ravscope_document_busiest_event(RavscopeDocument *doc)
{
	enum { BINS = 256 };
	guint64 n = ravscope_document_get_event_count(doc);
	double v[BINS];
	if (n == 0 || !rav_trace_series(doc->trace, RAV_SERIES_LIVE_CELLS, -1, 0, n, BINS, v))
		return n;
	guint best = BINS - 1;
	for (guint i = 0; i < BINS; i++)
		if (v[i] > v[best])
			best = i;
	return MIN(n, (guint64)ceil((double)n * (best + 1) / BINS));
}

gboolean ravscope_document_ever_had_cells(RavscopeDocument *doc)
{
	enum { BINS = 64 };
	guint64 n = ravscope_document_get_event_count(doc);
	double v[BINS];
	if (n == 0)
		return FALSE;
	if (!rav_trace_series(doc->trace, RAV_SERIES_PAGES, -1, 0, n, BINS, v))
		return TRUE; /* not known yet: assume so */
	for (guint i = 0; i < BINS; i++)
		if (v[i] > 0)
			return TRUE;
	return FALSE;
}

gboolean ravscope_document_has_accesses(RavscopeDocument *doc)
{
	double v = 0;
	guint64 n = ravscope_document_get_event_count(doc);
	return n > 0 && rav_trace_series(doc->trace, RAV_SERIES_EVENTS, RAV_EV_ACCESS, 0, n, 1, &v) && v > 0;
}

gboolean ravscope_document_replay_stop(RavscopeDocument *doc, guint64 *last, const char **message)
{
	if (!doc->indexed || doc->stream)
		return FALSE;
	if (!doc->stop_known) {
		doc->stop_known = TRUE;
		rav_trace_error err = { 0 };
		if (!rav_trace_consistent(doc->trace, &err) && err.code == RAV_TRACE_EREPLAY) {
			/* The state after every event that replayed: the index's
			 * own head stops just before the one that did not fit. */
			rav_state *s = rav_state_new(doc->trace);
			rav_trace_error serr = { 0 };
			if (s && rav_state_seek_head(s, &serr) == 0) {
				doc->stops = TRUE;
				doc->stop_at = rav_state_position(s);
				doc->stop_message = g_strdup(err.message);
			}
			if (s)
				rav_state_free(s);
		}
	}
	if (doc->stops) {
		if (last)
			*last = doc->stop_at;
		if (message)
			*message = doc->stop_message;
	}
	return doc->stops;
}

char *ravscope_document_opening(RavscopeDocument *doc, guint64 *event)
{
	guint64 n = ravscope_document_get_event_count(doc);
	guint64 stop;
	const char *why;
	if (ravscope_document_replay_stop(doc, &stop, &why)) {
		/* The heap as it was just before the impossible event. */
		*event = stop;
		return g_strdup_printf("The heap just before event %" G_GUINT64_FORMAT ", where replay stops: %s", stop, why);
	}
	if (n == 0) {
		*event = 0;
		return g_strdup("This trace holds no events: the program stopped before recording anything.");
	}
	if (!ravscope_document_ever_had_cells(doc)) {
		*event = 0;
		if (ravscope_document_has_accesses(doc))
			return g_strdup("No ravioli cells in this trace: its threads share memory outside the pool. "
					"Contention (C) shows the cache lines they pass back and forth.");
		return g_strdup("No ravioli cells in this trace. Space plays its events.");
	}
	*event = ravscope_document_busiest_event(doc);
	return g_strdup_printf("Opened at event %" G_GUINT64_FORMAT ", when the most cells are live. "
			       "Home goes to the start, Space plays.", *event);
}

guint ravscope_document_max_pages(RavscopeDocument *doc, guint32 heap_id)
{
	gpointer v;
	if (g_hash_table_lookup_extended(doc->max_pages, GUINT_TO_POINTER(heap_id), NULL, &v))
		return GPOINTER_TO_UINT(v);
	return 0;
}

gboolean ravscope_state_page(rav_state *s, guint32 page, struct rav_state_page *out)
{
	return rav_state_page(s, page, out);
}

gboolean ravscope_document_last_event(RavscopeDocument *doc, rav_event *out)
{
	guint64 pos = rav_state_position(doc->state);
	if (pos == 0)
		return FALSE;
	/* A step names the event it was about (a move, not its last fix-up). */
	if (doc->headline >= 0 && (guint64)doc->headline < pos && rav_trace_event_at(doc->trace, (guint64)doc->headline, out))
		return TRUE;
	/* Clock readings are bookkeeping: name the last thing that happened. */
	rav_event_filter f = { .kinds = ~((guint64)1 << RAV_EV_TIME) & (((guint64)1 << RAV_EV_KIND_COUNT) - 1), .thread = -1 };
	int64_t idx = rav_trace_find_prev(doc->trace, pos, &f);
	if (idx < 0)
		idx = (int64_t)pos - 1;
	return rav_trace_event_at(doc->trace, (guint64)idx, out);
}

guint64 ravscope_document_event_time_ns(RavscopeDocument *doc, guint64 index)
{
	/* The clock reading at or before the event in the merged order: the
	 * engine reads the clock every 16 events and before each ordering
	 * event, and the merge takes segments in clock order, so these times
	 * go backwards from one event to the next only by the skew between two
	 * cores' clocks (an ordering event merged by sequence number after an
	 * event of another core whose clock read some ns later: 15 ns seen;
	 * the rough-edges test allows under a microsecond), where times
	 * interpolated inside a thread's segment would jump across threads. */
	rav_event_filter f = { .kinds = (guint64)1 << RAV_EV_TIME, .thread = -1 };
	int64_t at = rav_trace_find_prev(doc->trace, index + 1, &f);
	rav_event ev;
	if (at < 0 || !rav_trace_event_at(doc->trace, (guint64)at, &ev))
		return 0;
	return ev.time_ns;
}
