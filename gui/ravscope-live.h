/* ravscope-live.h - a live session with a running program, as the window
 * uses it: the attach (or start) of the program, a worker thread that
 * receives the stream, what the program said so far, and its controls.
 */
#pragma once

#include <gio/gio.h>

#include "ravtrace.h"

G_BEGIN_DECLS

#define RAVSCOPE_TYPE_LIVE (ravscope_live_get_type())
G_DECLARE_FINAL_TYPE(RavscopeLive, ravscope_live, RAVSCOPE, LIVE, GObject)

/* Attach to program pid (accesses: also record the engine's loads and
 * stores, for the cache contention model).  The stream starts flowing at once (a worker
 * thread writes it into a pipe whose read end ravscope_live_get_stream_fd
 * gives, for ravscope_document_open_stream). */
RavscopeLive *ravscope_live_attach(int pid, gboolean accesses, GError **error);
/* Start argv (a program linked with the recorder) attached from its first
 * event: it waits for this client before main() runs (RAVIOLI_LISTEN_WAIT).
 * Its standard output and error are read by the session ("output"). */
RavscopeLive *ravscope_live_spawn(const char *const *argv, GError **error);
/* paused: the program starts held (RAVIOLI_LISTEN_PAUSED), for breakpoints set before it runs */
RavscopeLive *ravscope_live_spawn_full(const char *const *argv, gboolean paused, GError **error);
int ravscope_live_get_stream_fd(RavscopeLive *self);
int ravscope_live_get_pid(RavscopeLive *self);
const char *ravscope_live_get_command(RavscopeLive *self);
/* What the stream said so far (copied out under a lock). */
void ravscope_live_get_status(RavscopeLive *self, rav_live_status *out);
/* Bytes received per second over the last second or so (events/s). */
double ravscope_live_get_rate(RavscopeLive *self);
/* The program waits for this client rather than losing events (Run Program). */
gboolean ravscope_live_is_lossless(RavscopeLive *self);
/* Output of a spawned program since the last call (NULL if none new); and
 * its exit status once reaped (-1 while it runs or when attached). */
char *ravscope_live_take_output(RavscopeLive *self);
int ravscope_live_get_wait_status(RavscopeLive *self);
/* The program still runs (not ended, not a zombie): after a stream that
 * ended without saying why, the program closed the connection itself. */
gboolean ravscope_live_program_runs(RavscopeLive *self);

gboolean ravscope_live_pause(RavscopeLive *self);
gboolean ravscope_live_continue(RavscopeLive *self);
gboolean ravscope_live_step(RavscopeLive *self, guint32 heap_id, int mode);
gboolean ravscope_live_break_set(RavscopeLive *self, const rav_live_break *b);
gboolean ravscope_live_break_set_at_site(RavscopeLive *self, const rav_live_break *b, const rav_site_range *r,
				       gsize n);
gboolean ravscope_live_break_clear(RavscopeLive *self, guint32 id);
/* Ask the program to end the session (it goes on running); the stream
 * then ends.  ravscope_live_close drops the connection at once (a program
 * paused by this client is released by that too). */
void ravscope_live_detach(RavscopeLive *self);
void ravscope_live_close(RavscopeLive *self);
/* A program this session started (ravscope_live_spawn) and was not
 * detached from ends with it, as a debugger's quit ends the program it
 * started: released, sent SIGTERM (reaped by ravscope_live_close, SIGKILL
 * after 2 s).  An attached program, or one detached from, runs on.
 * Returns whether a signal was sent. */
gboolean ravscope_live_end_program(RavscopeLive *self);
gboolean ravscope_live_is_attached(RavscopeLive *self);

G_END_DECLS
