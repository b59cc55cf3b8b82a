/* ravscope-window-live.c - the life of a window's live session: starting
 * it (attach to a PID, run a program), its tick, following the newest
 * event, the program's output, and ending it.  The live bar is
 * ravscope-window-live-bar.c, stops and the debugger's actions
 * ravscope-window-live-debug.c, the Attach and Run Program dialogs, Detach
 * and Save As ravscope-window-live-start.c.
 *
 * Drawing never queues, and the thread that draws does not index: a
 * worker (ravscope-live-follow.c) polls the stream and, while the view
 * follows far behind, makes the heap state at the newest event.  A 16 ms
 * timer (display rate) refreshes the counts and, while following, moves
 * the playhead once to the newest event: a gap of at most FOLLOW_STEP_MAX
 * events is stepped here (the heap view redraws the pages they touched and
 * animates them), a larger one takes the worker's newest state (O(1)), so
 * the work of a tick is bounded however fast events come, and the live bar
 * says how far behind the program the view is when that is noticeable.
 * If the worker cannot keep up, the pipe fills and the program's own
 * bounded queue drops and resynchronises (the bar counts what was lost).
 * Scrubbing (timeline, arrows, a panel's jump) stops following without
 * stopping reception; End (or the Follow button) follows again.
 */
#include "ravscope-window-private.h"

#include <string.h>

#include "ravscope-live-follow.h"

#define TICK_MS 16
#define POLL_EVENTS_PER_TICK 400000 /* indexing budget of one frame (once the worker is done) */
#define FOLLOW_STEP_MAX 4000        /* beyond this gap, take the worker's state instead of stepping */

/* ---- following ----------------------------------------------------------------- */

static void follow_to_end(RavscopeWindow *self)
{
	guint64 n = ravscope_document_get_event_count(self->doc);
	guint64 pos = ravscope_document_get_position(self->doc);
	gboolean far = n - pos > FOLLOW_STEP_MAX;
	if (self->live_follower) {
		/* the worker makes states only while they are wanted: a copy of
		 * the heap each slice is not free for the indexer (copy on write) */
		ravscope_live_follow_set_wanted(self->live_follower, far);
		if (far) {
			self->live_moving = TRUE;
			gboolean took = ravscope_live_follow_take(self->live_follower, self->doc);
			self->live_moving = FALSE;
			if (took) {
				self->live_frames++;
				return;
			}
			/* its state is on the way: meanwhile a step's worth */
		}
	}
	if (pos >= n)
		return;
	self->live_moving = TRUE;
	if (!far || self->live_follower) {
		/* The heap view redraws the pages these events touched (its cell
		 * image keeps the others), as when a trace plays. */
		guint k = (guint)MIN(n - pos, FOLLOW_STEP_MAX);
		GArray *applied = g_array_sized_new(FALSE, FALSE, sizeof(rav_event), k);
		ravscope_document_step_many(self->doc, k, applied, NULL);
		ravscope_heap_view_animate(self->heap_view, (const rav_event *)applied->data, applied->len, 0);
		g_array_unref(applied);
	} else {
		/* no worker (the stream ended): once, from the nearest keyframe,
		 * as far as replay goes (past a replay error a seek fails, and
		 * the view stayed where it was) */
		guint64 to = MIN(n, rav_trace_replayed_events(ravscope_document_get_trace(self->doc)));
		if (to > pos)
			ravscope_document_seek(self->doc, to, NULL);
	}
	self->live_moving = FALSE;
	self->live_frames++;
}

void ravscope__window_live_position_changed(RavscopeWindow *self)
{
	/* Someone else moved the playhead: the user scrubs; to the end (End),
	 * and the view follows again. */
	if (!self->live || self->live_moving || !self->doc)
		return;
	gboolean at_end = ravscope_document_get_position(self->doc) >= ravscope_document_get_event_count(self->doc);
	if (at_end != self->live_following) {
		self->live_following = at_end;
		ravscope__window_live_update_bar(self);
	}
}

static void on_output(RavscopeWindow *self)
{
	g_autofree char *out = ravscope_live_take_output(self->live);
	if (!out || !self->output_view)
		return;
	GtkTextBuffer *b = gtk_text_view_get_buffer(self->output_view);
	GtkTextIter end;
	gtk_text_buffer_get_end_iter(b, &end);
	g_autofree char *valid = g_utf8_make_valid(out, -1);
	gtk_text_buffer_insert(b, &end, valid, -1);
	/* bounded like the session's copy */
	if (gtk_text_buffer_get_char_count(b) > 400000) {
		GtkTextIter a, z;
		gtk_text_buffer_get_start_iter(b, &a);
		gtk_text_buffer_get_iter_at_offset(b, &z, 200000);
		gtk_text_buffer_delete(b, &a, &z);
	}
	gtk_text_buffer_get_end_iter(b, &end);
	gtk_text_view_scroll_to_iter(self->output_view, &end, 0, FALSE, 0, 0);
}

/* In the first seconds of a session, whenever the pages in use grew by a
 * quarter since the last fit. */
static gboolean now_fit_due(RavscopeWindow *self)
{
	if (g_get_monotonic_time() - self->live_started > 5 * G_USEC_PER_SEC)
		return FALSE;
	rav_state_totals t;
	rav_state_get_totals(ravscope_document_get_state(self->doc), &t);
	if (t.pages <= self->live_fit_pages + self->live_fit_pages / 4)
		return FALSE;
	self->live_fit_pages = t.pages;
	return TRUE;
}

static gboolean live_tick(gpointer user)
{
	RavscopeWindow *self = user;
	if (!self->live || !self->doc) {
		self->live_tick = 0;
		return G_SOURCE_REMOVE;
	}
	gint64 t0 = g_get_monotonic_time();
	GError *error = NULL;
	if (!ravscope_document_is_indexed(self->doc)) {
		guint64 before = ravscope_document_get_event_count(self->doc);
		gint64 n = 0;
		gboolean broke = FALSE;
		if (self->live_follower) {
			ravscope_document_sync_stream(self->doc);
			if (ravscope_live_follow_done(self->live_follower, &broke, &error)) {
				/* the stream ended (or broke): the document finishes here */
				ravscope_live_follow_free(self->live_follower);
				self->live_follower = NULL;
			}
		}
		if (!broke && !self->live_follower)
			n = ravscope_document_poll(self->doc, POLL_EVENTS_PER_TICK, &error);
		if (broke || n < 0) {
			g_autofree char *msg = g_strdup_printf("The live stream is damaged: %s. What was received stays open.",
							       error->message);
			ravscope__window_toast(self, msg);
			g_clear_error(&error);
			ravscope_live_close(self->live);
			self->live_ended = TRUE;
		}
		if (ravscope_document_get_event_count(self->doc) > before) {
			ravscope_timeline_refresh(self->timeline);
			/* the count grows while the view stays (a stop, scrubbing) */
			if (!self->live_following)
				ravscope_transport_bar_refresh(self->transport_bar);
		}
	}
	rav_live_status prev_stops = { .stops = self->live_status.stops };
	ravscope_live_get_status(self->live, &self->live_status);
	if (self->live_status.stops != prev_stops.stops) {
		self->live_stop_pending = TRUE;
		self->live_pausing = FALSE;
		self->live_stop_since = g_get_monotonic_time();
	}
	if (self->live_status.held == 0 && self->live_stop_heap) {
		self->live_stop_heap = 0;
		g_clear_pointer(&self->live_stop_text, g_free);
		ravscope_breakpoints_panel_set_hit(self->breakpoints_panel, 0, 0);
	}
	/* The heap grows from nothing at attach: fit it while it is young. */
	if (self->live_following && now_fit_due(self))
		ravscope_heap_view_zoom_fit(self->heap_view);
	if (self->start_break_hold &&
	    (!ravscope_breakpoints_panel_waiting(self->breakpoints_panel) ||
	     g_get_monotonic_time() - self->live_started > 10 * G_USEC_PER_SEC)) {
		/* set (or no memory map in 10 s: a program recording no call sites) */
		self->start_break_hold = FALSE;
		ravscope_live_continue(self->live);
	}
	if (self->live_stop_pending && self->live_status.held > 0)
		ravscope__window_live_show_stop(self);
	else if (self->live_following)
		follow_to_end(self);
	if (self->live_follower && !self->live_following)
		ravscope_live_follow_set_wanted(self->live_follower, FALSE);
	self->live_behind = self->live_follower && self->live_following
				    ? ravscope_live_follow_behind(self->live_follower, self->doc)
				    : 0;
	if (!self->live_ended && self->live_status.ended && ravscope_document_is_indexed(self->doc)) {
		self->live_ended = TRUE;
		self->live_pausing = FALSE;
		if (self->live_following)
			follow_to_end(self);
	}
	on_output(self);
	gint64 now = g_get_monotonic_time();
	/* the contention overlay and hottest lines slide with the newest events */
	if (self->live_following && now - self->live_contention_at > 500000) {
		ravscope_contention_refresh_live(self->contention);
		self->live_contention_at = now;
	}
	if (now - self->live_bar_updated > 250000 || self->live_stop_pending != self->live_shown_pending) {
		ravscope__window_live_update_bar(self);
		ravscope_breakpoints_panel_update_states(self->breakpoints_panel, &self->live_status);
		self->live_bar_updated = now;
		self->live_shown_pending = self->live_stop_pending;
	}
	self->live_tick_us_total += now - t0;
	/* An ended session whose program's output is all in keeps the trace open
	 * for inspection: no more ticks needed. */
	if (self->live_ended && ravscope_document_is_indexed(self->doc) &&
	    (ravscope_live_get_wait_status(self->live) >= 0 || !self->live_spawned)) {
		on_output(self);
		ravscope__window_live_update_bar(self);
		self->live_tick = 0;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ---- starting and ending ------------------------------------------------------- */

void ravscope__window_live_stop(RavscopeWindow *self)
{
	g_clear_handle_id(&self->live_tick, g_source_remove);
	g_clear_pointer(&self->live_follower, ravscope_live_follow_free);
	self->live_behind = 0;
	if (self->live) {
		ravscope_live_end_program(self->live);
		ravscope_live_close(self->live);
		g_clear_object(&self->live);
	}
	self->live_ended = FALSE;
	self->live_pausing = FALSE;
	self->live_stop_pending = FALSE;
	self->live_stop_heap = 0;
	g_clear_pointer(&self->live_stop_text, g_free);
	memset(&self->live_status, 0, sizeof self->live_status);
	if (self->live_bar)
		gtk_revealer_set_reveal_child(self->live_bar, FALSE);
	ravscope_breakpoints_panel_set_live(self->breakpoints_panel, NULL);
	ravscope__window_live_enable(self);
}

static void live_begin(RavscopeWindow *self, RavscopeLive *live, gboolean spawned)
{
	GError *error = NULL;
	/* As gdb sets breakpoints before the program runs: with --break, hold
	 * the program from the start (every thread at its next engine call)
	 * until the breakpoint is in it (live_tick continues it).  Paused only
	 * once the document was open, a program started here ran on for the
	 * 0.1-0.2 s that takes (67 hits of a line missed). */
	gboolean hold = self->start_break && ravscope_live_pause(live);
	/* (a program started here with --break starts paused itself:
	 * RAVIOLI_LISTEN_PAUSED; this pause is for one attached to) */
	g_autofree char *title = g_strdup_printf("PID %d (live)", ravscope_live_get_pid(live));
	/* The header arrives within moments; the document reads it (the pipe
	 * is non-blocking for polls, so wait for it here, bounded). */
	RavscopeDocument *doc = NULL;
	for (int i = 0; i < 500 && !doc; i++) {
		rav_live_status st;
		ravscope_live_get_status(live, &st);
		if (st.bytes > 0 || st.ended) {
			doc = ravscope_document_open_stream(ravscope_live_get_stream_fd(live), title, &error);
			break;
		}
		g_usleep(10000);
	}
	if (!doc) {
		rav_live_status st;
		ravscope_live_get_status(live, &st);
		g_autofree char *msg = g_strdup_printf("%s", error ? error->message
								   : st.message[0] ? st.message
								   : "the program sent nothing within 5 seconds");
		g_clear_error(&error);
		ravscope_live_close(live);
		g_object_unref(live);
		ravscope__window_show_error(self, "Cannot Attach", msg);
		return;
	}
	ravscope__window_set_live_document(self, doc, ravscope_live_get_command(live));
	g_object_unref(doc);
	self->live_follower = ravscope_live_follow_new(self->doc, ravscope_live_get_stream_fd(live), &error);
	if (!self->live_follower) {
		/* (out of memory for one state) the main loop polls, as a file indexes */
		g_printerr("ravscope: %s\n", error->message);
		g_clear_error(&error);
	}
	self->live = live;
	self->live_spawned = spawned;
	self->live_following = TRUE;
	self->live_ended = FALSE;
	self->live_frames = 0;
	self->live_tick_us_total = 0;
	self->live_started = g_get_monotonic_time();
	self->live_fit_pages = 0;
	gtk_revealer_set_reveal_child(self->live_bar, TRUE);
	ravscope_breakpoints_panel_set_live(self->breakpoints_panel, live);
	if (self->start_break) {
		g_autofree char *why = NULL;
		ravscope__window_show_panel(self, "breakpoints");
		if (!ravscope_breakpoints_panel_add_site(self->breakpoints_panel, self->start_break, 0, &why)) {
			g_printerr("ravscope: --break=%s: %s\n", self->start_break, why);
			if (hold)
				ravscope_live_continue(live);
			hold = FALSE;
		}
		/* held until the map has come and the breakpoint is in the
		 * program (at once when the map is there: the breakpoint goes
		 * before the continue on the same socket) */
		self->start_break_hold = hold;
		g_clear_pointer(&self->start_break, g_free);
	}
	if (spawned) {
		adw_view_stack_page_set_visible(self->output_page, TRUE);
		gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->output_view), "", -1);
	}
	self->live_tick = g_timeout_add(TICK_MS, live_tick, self);
	ravscope__window_live_update_bar(self);
}

void ravscope_window_attach(RavscopeWindow *self, int pid)
{
	ravscope_window_attach_full(self, pid, FALSE);
}

void ravscope_window_attach_full(RavscopeWindow *self, int pid, gboolean accesses)
{
	GError *error = NULL;
	ravscope__window_live_stop(self); /* one session per window: the old program runs on */
	RavscopeLive *live = ravscope_live_attach(pid, accesses, &error);
	if (!live) {
		g_autofree char *title = g_strdup_printf("Cannot Attach to PID %d", pid);
		ravscope__window_show_error(self, title, error->message);
		g_error_free(error);
		return;
	}
	live_begin(self, live, FALSE);
}

void ravscope_window_run(RavscopeWindow *self, const char *const *argv)
{
	GError *error = NULL;
	ravscope__window_live_stop(self);
	RavscopeLive *live = ravscope_live_spawn_full(argv, self->start_break != NULL, &error);
	if (!live) {
		ravscope__window_show_error(self, "Cannot Run the Program", error->message);
		g_error_free(error);
		return;
	}
	live_begin(self, live, TRUE);
}

void ravscope_window_end_live(RavscopeWindow *self)
{
	ravscope__window_live_stop(self);
}

RavscopeLive *ravscope_window_get_live(RavscopeWindow *self) { return self->live; }
gboolean ravscope_window_is_following(RavscopeWindow *self) { return self->live_following; }
const rav_live_status *ravscope_window_get_live_status(RavscopeWindow *self) { return &self->live_status; }
const char *ravscope_window_get_live_text(RavscopeWindow *self)
{
	return self->live_label ? gtk_label_get_text(self->live_label) : "";
}
guint64 ravscope_window_get_live_frames(RavscopeWindow *self) { return self->live_frames; }
double ravscope_window_get_live_behind(RavscopeWindow *self) { return self->live_behind; }
const char *ravscope_window_get_live_stop_text(RavscopeWindow *self) { return self->live_stop_text; }

static void act_live_follow(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	self->live_following = TRUE;
	if (self->doc)
		follow_to_end(self);
	ravscope__window_live_update_bar(self);
}

void ravscope__window_live_class_init(GtkWidgetClass *wc)
{
	ravscope__window_live_start_class_init(wc);
	ravscope__window_live_debug_class_init(wc);
	gtk_widget_class_install_action(wc, "win.live-follow", NULL, act_live_follow);
}
