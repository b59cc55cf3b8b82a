/* ravscope-live-follow.h - a live document indexed on a worker thread,
 * which also makes the heap state at the newest event for the view to
 * take, so that however fast a program sends events, the thread that
 * draws only draws.
 */
#pragma once

#include "ravscope-document.h"

G_BEGIN_DECLS

typedef struct _RavscopeLiveFollow RavscopeLiveFollow;

/* Start polling doc's stream (fd: its descriptor, doc from
 * ravscope_document_open_stream) on a worker.  From now on only the worker
 * polls: the main thread calls ravscope_document_sync_stream, and
 * ravscope_document_poll once ravscope_live_follow_done says the worker is
 * done.  NULL (error set) if a state cannot be made. */
RavscopeLiveFollow *ravscope_live_follow_new(RavscopeDocument *doc, int fd, GError **error);
/* Stops the worker (at once: it never blocks on the stream) and joins it. */
void ravscope_live_follow_free(RavscopeLiveFollow *f);

/* Whether the view wants the newest state (asked each frame it does): the
 * worker then copies its heap into a state after its current slice of
 * indexing (at most SLICE_US of work, or one poll's), once per request -
 * each copy makes the indexer copy on write the blocks it writes next. */
void ravscope_live_follow_set_wanted(RavscopeLiveFollow *f, gboolean wanted);
/* Move the document's playhead to the newest state the worker made, if it
 * is past the playhead; TRUE if it moved.  Main thread. */
gboolean ravscope_live_follow_take(RavscopeLiveFollow *f, RavscopeDocument *doc);
/* The worker ended: the stream ended (FALSE) or broke (TRUE, *error set). */
gboolean ravscope_live_follow_done(RavscopeLiveFollow *f, gboolean *broke, GError **error);
/* How far (seconds) the document's playhead is behind the program: the
 * time between the event shown and the newest event indexed, and while
 * the worker has not caught up with the stream, the time since that
 * newest event happened.  0 at the newest event of an idle program. */
double ravscope_live_follow_behind(RavscopeLiveFollow *f, RavscopeDocument *doc);

/* Work figures (benchmarks): states made, events indexed in total and in
 * the largest slice, the worker's CPU time (s). */
typedef struct RavscopeLiveFollowStats {
	guint64 published, events, slice_events_max;
	double cpu_s;
} RavscopeLiveFollowStats;
void ravscope_live_follow_get_stats(RavscopeLiveFollow *f, RavscopeLiveFollowStats *out);

G_END_DECLS
