/* ravscope-playback.h - the playhead's controller: how it moves.
 *
 * Playing applies a number of events per frame proportional to the speed
 * (slow speeds animate each visible event, fast ones only redraw); stepping
 * skips events that change nothing visible; jumping uses the trace's
 * filtered search.  What was applied is announced with "applied" so the
 * heap view can animate it; playback itself draws nothing.
 */
#pragma once

#include <gtk/gtk.h>

#include "ravscope-document.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_PLAYBACK (ravscope_playback_get_type())
G_DECLARE_FINAL_TYPE(RavscopePlayback, ravscope_playback, RAVSCOPE, PLAYBACK, GObject)

RavscopePlayback *ravscope_playback_new(void);
void ravscope_playback_set_document(RavscopePlayback *self, RavscopeDocument *doc);
/* The widget whose frame clock paces playing ("ticker"; not referenced). */
void ravscope_playback_set_ticker(RavscopePlayback *self, GtkWidget *ticker);

/* "playing" (read-only), and whether the person moved the playhead since
 * the document was set ("user-moved"; the window then leaves it there
 * when indexing ends). */
gboolean ravscope_playback_get_playing(RavscopePlayback *self);
gboolean ravscope_playback_get_user_moved(RavscopePlayback *self);
void ravscope_playback_toggle(RavscopePlayback *self);
void ravscope_playback_stop(RavscopePlayback *self);

/* Seek as the person asked (the selection follows its raviolo: "jumped"). */
void ravscope_playback_seek(RavscopePlayback *self, guint64 event);
/* Stop, seek to just before `event` and play it (animated): "show me this
 * event happen", from the event list, a cell's history, a jump. */
void ravscope_playback_go_to(RavscopePlayback *self, guint64 event);
/* Stop, then one visible step forward or back (animated when "animate"). */
void ravscope_playback_step_forward(RavscopePlayback *self);
void ravscope_playback_step_back(RavscopePlayback *self);
/* Stop, then one operation forward or back (rav_trace_operation_at: an
 * allocation, a free with its compaction, a send...): all its events,
 * animated as one motion slow enough to follow, then "operation". */
void ravscope_playback_step_operation(RavscopePlayback *self, gboolean forward);
/* Stop and go to the next/previous event of the kind chosen by "jump-kind";
 * "message" says so when there is none. */
void ravscope_playback_jump(RavscopePlayback *self, gboolean forward);
void ravscope_playback_home(RavscopePlayback *self);
void ravscope_playback_end(RavscopePlayback *self);

/* "speed": per second, one of the ladder below (others snap to the
 * nearest): changes (steps) per second for the slow speeds, events per
 * second for the others (ravscope_playback_speed_counts_changes says which;
 * the names say so too).  "jump-kind": index into the jump kinds.
 * "animate": animate steps and slow playing. */
gboolean ravscope_playback_speed_counts_changes(double speed);
double ravscope_playback_get_speed(RavscopePlayback *self);
void ravscope_playback_set_speed(RavscopePlayback *self, double events_per_second);
const double *ravscope_playback_speeds(guint *n);
const char *const *ravscope_playback_speed_names(void);
const char *const *ravscope_playback_jump_kind_names(void);

/* Signals:
 *   "applied" (const rav_event *events, guint n, guint duration_ms): events
 *       just applied, to animate over duration_ms (0: only redraw);
 *   "jumped" (guint64 from, guint64 to): a seek the person asked for;
 *   "operation" (const rav_operation *op, gboolean forward, guint duration_ms):
 *       an operation step just applied (forward) or undid it (back);
 *   "message" (const char *text): something to tell the person (a toast). */

G_END_DECLS
