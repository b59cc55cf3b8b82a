/* ravscope-document.h - one open trace as the GUI sees it.
 *
 * Wraps libravtrace (rav_trace + the playhead's rav_state) in a GObject so
 * widgets can watch the playhead and the background indexing through
 * signals and properties.  Every fact about the heap comes from
 * libravtrace: this layer only adds threading, GError conversion and a few
 * presentation helpers (names of places and events in plain words).
 */
#pragma once

#include <gio/gio.h>

#include "ravtrace.h"
#include "rav-record.h"

G_BEGIN_DECLS

#define RAVSCOPE_ERROR (ravscope_error_quark())
GQuark ravscope_error_quark(void);

#define RAVSCOPE_TYPE_DOCUMENT (ravscope_document_get_type())
G_DECLARE_FINAL_TYPE(RavscopeDocument, ravscope_document, RAVSCOPE, DOCUMENT, GObject)

/* Built-in type ids: the engine -> trace contract's (rav-record.h, a
 * header of facts the viewer includes without linking the engine), under
 * the viewer's names. */
enum {
	RAVSCOPE_TYPE_EMPTY = RAV_TYPE_EMPTY,
	RAVSCOPE_TYPE_HEADER = RAV_TYPE_HEADER,
	RAVSCOPE_TYPE_REF = RAV_TYPE_REF,
	RAVSCOPE_TYPE_ROOT = RAV_TYPE_ROOT,
	RAVSCOPE_TYPE_DEAD = RAV_TYPE_DEAD,
	RAVSCOPE_TYPE_FIRST_USER = RAV_TYPE_FIRST_USER,
};

RavscopeDocument *ravscope_document_open(const char *path, GError **error);
/* A live session's stream (fd: what the session writes; it stays the
 * caller's): reads the header and what has arrived.  Grows with
 * ravscope_document_poll, which indexes what came (cost in proportion to
 * it; at most about max_events or 6 ms per call) and returns the number of new
 * events (-1 on error).  Once the stream ended, the document is final
 * ("indexed"). */
RavscopeDocument *ravscope_document_open_stream(int fd, const char *title, GError **error);
gint64 ravscope_document_poll(RavscopeDocument *doc, guint64 max_events, GError **error);
gboolean ravscope_document_is_stream(RavscopeDocument *doc);
/* A stream polled by a worker instead (ravscope-live-follow.h): the main
 * thread refreshes the counts it shows, and takes the heap states the
 * worker made - the document's playhead becomes `state` (emitting
 * "position-changed", stepped = FALSE) and the one it had is returned, for
 * the worker to reuse.  ravscope_document_poll only once the worker is done
 * (it finishes the document when the stream has ended). */
void ravscope_document_sync_stream(RavscopeDocument *doc);
rav_state *ravscope_document_exchange_state(RavscopeDocument *doc, rav_state *state);

const char *ravscope_document_get_path(RavscopeDocument *doc); /* NULL for a stream */
/* A second playhead on the same trace (an export moving through events
 * while the window stays where it is), at the document's position; same
 * thread as the document's.  It keeps the document alive. */
RavscopeDocument *ravscope_document_new_view(RavscopeDocument *doc, GError **error);
const char *ravscope_document_get_basename(RavscopeDocument *doc);
rav_trace *ravscope_document_get_trace(RavscopeDocument *doc);
rav_state *ravscope_document_get_state(RavscopeDocument *doc);
const rav_trace_info *ravscope_document_get_info(RavscopeDocument *doc);
/* Grid of a page: columns x rows of cells (columns * rows >= cells_per_page). */
unsigned ravscope_document_page_columns(RavscopeDocument *doc);
unsigned ravscope_document_page_rows(RavscopeDocument *doc);

/* Indexing on a worker thread.  Progress is published as the
 * "index-progress" property (0..1) from the main loop; the document is
 * usable (seek, draw) for the prefix indexed so far. */
void ravscope_document_index_async(RavscopeDocument *doc, GCancellable *cancellable,
				   GAsyncReadyCallback callback, gpointer user_data);
gboolean ravscope_document_index_finish(RavscopeDocument *doc, GAsyncResult *result, GError **error);
gboolean ravscope_document_index_sync(RavscopeDocument *doc, GError **error);
gboolean ravscope_document_is_indexed(RavscopeDocument *doc);
double ravscope_document_get_index_progress(RavscopeDocument *doc);

/* Whether the operation of event `index` can be asked for now without
 * waiting for the map of operations, which a worker builds after indexing
 * ("operations-ready" once it is done). */
gboolean ravscope_document_operations_ready(RavscopeDocument *doc, guint64 index);

/* Events usable now (all of them once indexed). */
guint64 ravscope_document_get_event_count(RavscopeDocument *doc);
guint64 ravscope_document_get_position(RavscopeDocument *doc);
/* Seek the playhead to "just before event index" (index = count: the end).
 * Emits "position-changed" with stepped = FALSE. */
gboolean ravscope_document_seek(RavscopeDocument *doc, guint64 index, GError **error);
/* An inconsistent trace (an event that does not fit the replayed heap,
 * RAV_TRACE_EREPLAY): TRUE, with *last the number of events that replay
 * (the heap after event *last - 1 is the last consistent one, and the
 * event at index *last is the impossible one) and *message (may be NULL;
 * the document keeps it) the trace's error.  FALSE for a consistent trace,
 * one not indexed yet, and a live session's growing trace.  Costs a copy
 * of the heap once; the answer is kept. */
gboolean ravscope_document_replay_stop(RavscopeDocument *doc, guint64 *last, const char **message);
/* Apply the next event; emits "position-changed" with stepped = TRUE.
 * FALSE at the end (no error) or on error. */
gboolean ravscope_document_step(RavscopeDocument *doc, rav_event *applied, GError **error);
/* Apply up to max events quietly and emit one "position-changed"
 * (stepped = TRUE).  The applied events are appended to `applied` (a GArray
 * of rav_event) if it is not NULL; their text pointers stay valid while the
 * document is open.  Returns the number applied. */
guint ravscope_document_step_many(RavscopeDocument *doc, guint max, GArray *applied, GError **error);

/* Apply events up to and including the next one a person would see
 * happen (an allocation, a move with its fix-ups, a page hand-off, a mark),
 * appending them to `applied` (GArray of rav_event).  Returns how many. */
guint ravscope_document_step_visible(RavscopeDocument *doc, GArray *applied, GError **error);
/* Apply the next event, and for a move the fix-ups that go with it: "show
 * me this event happen" (it is then the one the status line names). */
guint ravscope_document_step_event(RavscopeDocument *doc, GArray *applied, GError **error);
/* The kinds a visible step stops after (bit mask for rav_event_filter). */
guint64 ravscope_step_stop_kinds(void);

/* The most telling moment to show first: the end of the stretch where the
 * most cells are live (from the live-cells series; the end of the trace if
 * that is not available yet). */
guint64 ravscope_document_busiest_event(RavscopeDocument *doc);

/* Did any heap ever own a page (a trace of a program that shares only
 * malloc'd memory has none)?  Did the recording keep memory accesses? */
gboolean ravscope_document_ever_had_cells(RavscopeDocument *doc);
gboolean ravscope_document_has_accesses(RavscopeDocument *doc);
/* Where to open an indexed trace, and the sentence that says why: the
 * moment the most cells are live, or the start of a trace without cells. */
char *ravscope_document_opening(RavscopeDocument *doc, guint64 *event);

/* Most pages the heap ever owned (from the summary series once indexed;
 * the current count before). */
guint ravscope_document_max_pages(RavscopeDocument *doc, guint32 heap_id);

/* The page record at the playhead (wraps libravtrace's page query). */
gboolean ravscope_state_page(rav_state *s, guint32 page, struct rav_state_page *out);

/* Presentation helpers. */
const char *ravscope_document_type_name(RavscopeDocument *doc, guint16 type); /* never NULL */
gboolean ravscope_document_type_field_is_ref(RavscopeDocument *doc, guint16 type, int field);
/* A field's name: the one the program gave it (format 1.4), a built-in
 * layout's, else "f0" / "f1".  Never NULL. */
const char *ravscope_document_field_name(RavscopeDocument *doc, guint16 type, int field);
char *ravscope_document_heap_name(RavscopeDocument *doc, guint32 heap_id);
/* The same for a thread already looked up (th may be NULL: unlisted). */
char *ravscope_thread_label(const rav_trace_thread *th, guint32 heap_id);
/* Cells as PAGE.CELL ("3.17"), words as PAGE.CELL.NAME ("3.17.f0"), the
 * notation `ravtrace dump` uses. */
char *ravscope_format_loc(rav_loc loc);
/* A text from the trace (a name, a mark) as the widgets can show it on one
 * line: valid UTF-8, a newline as ↵, a tab as →, other control characters
 * as U+FFFD.  NULL when s can be shown as it is. */
char *ravscope_display_text(const char *s);
/* The same, always a new string (s itself copied when it can be shown). */
char *ravscope_display_dup(const char *s);
char *ravscope_format_word_loc(RavscopeDocument *doc, rav_loc loc); /* names the word in the cell's type */
char *ravscope_document_describe_event(RavscopeDocument *doc, const rav_event *ev);
/* What the live bar says of a stop of thread heap_id (why: 1 a breakpoint,
 * 2 a pause, 3 a step; RAV_DEBUG_*), in sentences whatever the kind of its
 * event ev (NULL: not received or none): "main paused. Its last event:
 * main compaction done: 0 moves." */
char *ravscope_document_stop_text(RavscopeDocument *doc, int why, guint32 heap_id, guint32 break_id, guint64 hits,
				  const rav_event *ev);
/* The event the last step was about (a move, not the fix-ups after it),
 * else the last event applied before the playhead that is not a clock
 * reading. */
gboolean ravscope_document_last_event(RavscopeDocument *doc, rav_event *out);
/* The time shown for an event (ns since the start): the last clock
 * reading at or before it; along the merged order of the threads it steps
 * back only by the skew between cores' clocks (ns, never a microsecond). */
guint64 ravscope_document_event_time_ns(RavscopeDocument *doc, guint64 index);
char *ravscope_format_time(guint64 ns); /* "812.4 µs", "18.390 ms", "2.501 s" */
/* Which event kinds touch the heap picture (worth animating / marking dirty). */
gboolean ravscope_event_kind_is_visual(unsigned kind);

G_END_DECLS
