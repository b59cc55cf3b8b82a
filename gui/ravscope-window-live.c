/* ravscope-window-live.c - the window with a live session: attaching
 * (dialog, --attach), running a program (dialog, `ravscope -- PROG`),
 * following the newest event, the live bar (state, rates, controls), and
 * stops at breakpoints.
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
 *
 * A STOPPED record (a breakpoint hit, a pause, a step) moves the view to
 * the event the thread stopped at once that event has been received: the
 * last event of the held thread (for a cell breakpoint on a move, the move
 * before its fix-ups), selects the cell, and says why in the live bar.
 */
#include "ravscope-window-private.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "ravscope-attach-dialog.h"
#include "ravscope-live-follow.h"

#define TICK_MS 16
#define POLL_EVENTS_PER_TICK 400000 /* indexing budget of one frame (once the worker is done) */
#define FOLLOW_STEP_MAX 4000        /* beyond this gap, take the worker's state instead of stepping */
#define BEHIND_SHOWN_S 0.1          /* the bar says "behind" from here on */

static void live_update_bar(RavscopeWindow *self);

/* ---- the live bar ------------------------------------------------------------ */

static GtkWidget *bar_button(RavscopeWindow *self, const char *icon, const char *label, const char *tip,
			     const char *action)
{
	GtkWidget *b = gtk_button_new();
	if (label) {
		GtkWidget *content = adw_button_content_new();
		adw_button_content_set_icon_name(ADW_BUTTON_CONTENT(content), icon);
		adw_button_content_set_label(ADW_BUTTON_CONTENT(content), label);
		gtk_button_set_child(GTK_BUTTON(b), content);
	} else {
		/* icon only: the bar fits a narrow window; the tooltip names it */
		gtk_button_set_icon_name(GTK_BUTTON(b), icon);
	}
	gtk_widget_set_tooltip_text(b, tip);
	gtk_actionable_set_action_name(GTK_ACTIONABLE(b), action);
	gtk_widget_add_css_class(b, "flat");
	return b;
}

void ravscope__window_live_build(RavscopeWindow *self)
{
	GtkWidget *bar = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	gtk_widget_add_css_class(bar, "toolbar");
	gtk_widget_add_css_class(bar, "live-bar");
	self->live_state = GTK_LABEL(gtk_label_new(""));
	gtk_widget_add_css_class(GTK_WIDGET(self->live_state), "live-state");
	gtk_box_append(GTK_BOX(bar), GTK_WIDGET(self->live_state));
	self->live_label = GTK_LABEL(gtk_label_new(""));
	gtk_label_set_ellipsize(self->live_label, PANGO_ELLIPSIZE_END);
	gtk_label_set_xalign(self->live_label, 0);
	gtk_widget_set_hexpand(GTK_WIDGET(self->live_label), TRUE);
	gtk_widget_add_css_class(GTK_WIDGET(self->live_label), "numeric");
	gtk_box_append(GTK_BOX(bar), GTK_WIDGET(self->live_label));
	self->live_pause = bar_button(self, "media-playback-pause-symbolic", "Pause",
				      "Hold every thread at its next engine call (F6)", "win.live-pause");
	self->live_continue = bar_button(self, "media-playback-start-symbolic", "Continue",
					 "Let every held thread run (F5)", "win.live-continue");
	gtk_widget_add_css_class(self->live_continue, "suggested-action");
	gtk_widget_remove_css_class(self->live_continue, "flat");
	GtkWidget *step = bar_button(self, "go-next-symbolic", NULL,
				     "Step: run the stopped thread for one event (F11)", "win.live-step");
	GtkWidget *over = bar_button(self, "go-last-symbolic", NULL,
				     "Step over: run the stopped thread to its next engine call (F10)", "win.live-step-over");
	self->live_follow = bar_button(self, "go-bottom-symbolic", "Follow",
				       "Follow the newest event (End)", "win.live-follow");
	GtkWidget *save = bar_button(self, "document-save-as-symbolic", NULL,
				     "Save As: what was received, as a trace (Ctrl+Shift+S)", "win.save-as");
	GtkWidget *detach = bar_button(self, "process-stop-symbolic", "Detach",
				       "Stop watching; the program runs on", "win.live-detach");
	gtk_box_append(GTK_BOX(bar), self->live_pause);
	gtk_box_append(GTK_BOX(bar), self->live_continue);
	gtk_box_append(GTK_BOX(bar), step);
	gtk_box_append(GTK_BOX(bar), over);
	gtk_box_append(GTK_BOX(bar), self->live_follow);
	gtk_box_append(GTK_BOX(bar), save);
	gtk_box_append(GTK_BOX(bar), detach);
	GtkWidget *both = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
	gtk_box_append(GTK_BOX(both), bar);
	self->live_why = GTK_LABEL(gtk_label_new(""));
	gtk_label_set_xalign(self->live_why, 0);
	gtk_label_set_wrap(self->live_why, TRUE);
	gtk_widget_add_css_class(GTK_WIDGET(self->live_why), "live-why");
	gtk_widget_set_visible(GTK_WIDGET(self->live_why), FALSE);
	gtk_box_append(GTK_BOX(both), GTK_WIDGET(self->live_why));
	self->live_bar = GTK_REVEALER(gtk_revealer_new());
	gtk_revealer_set_child(self->live_bar, both);
	gtk_revealer_set_reveal_child(self->live_bar, FALSE);
	GtkWidget *parent = gtk_widget_get_parent(GTK_WIDGET(self->notice_revealer));
	gtk_widget_insert_after(GTK_WIDGET(self->live_bar), parent, GTK_WIDGET(self->notice_revealer));
	ravscope__window_live_enable(self);
}

static void set_enabled(RavscopeWindow *self, const char *action, gboolean on)
{
	gtk_widget_action_set_enabled(GTK_WIDGET(self), action, on);
}

void ravscope__window_live_enable(RavscopeWindow *self)
{
	gboolean attached = self->live && !self->live_ended;
	gboolean held = attached && self->live_status.held > 0;
	set_enabled(self, "win.live-pause", attached && !held && !self->live_pausing);
	set_enabled(self, "win.live-continue", held || (attached && self->live_pausing));
	set_enabled(self, "win.live-step", held && self->live_stop_heap);
	set_enabled(self, "win.live-step-over", held && self->live_stop_heap);
	set_enabled(self, "win.live-detach", attached);
	set_enabled(self, "win.live-follow", self->live != NULL);
	set_enabled(self, "win.save-as", self->doc != NULL);
	if (self->live_pause) {
		gtk_widget_set_visible(self->live_pause, !held);
		gtk_widget_set_visible(self->live_continue, held || self->live_pausing);
	}
}

static char *human_count(guint64 n)
{
	if (n >= 10000000)
		return g_strdup_printf("%.1f M", n / 1e6);
	if (n >= 100000)
		return g_strdup_printf("%.0f k", n / 1e3);
	return g_strdup_printf("%llu", (unsigned long long)n);
}

static void live_update_bar(RavscopeWindow *self)
{
	if (!self->live)
		return;
	const rav_live_status *st = &self->live_status;
	const char *state, *css;
	g_autofree char *state_text = NULL;
	if (self->live_ended) {
		if (st->end_known && st->end_how == 2)
			state_text = g_strdup_printf("Exited (status %lld)", (long long)st->end_value);
		else if (st->end_known && st->end_how == 3)
			state_text = g_strdup_printf("Killed (signal %lld, %s)", (long long)st->end_value,
						     g_strsignal((int)st->end_value));
		else if (st->end_known && st->end_how == 1)
			state_text = g_strdup("Detached");
		else if (st->end_known)
			state_text = g_strdup_printf("Ended: %s", st->end_text);
		else
			state_text = g_strdup("Connection lost");
		int ws = ravscope_live_get_wait_status(self->live);
		if (ws >= 0 && !(st->end_known && st->end_how >= 2)) {
			g_free(state_text);
			state_text = WIFEXITED(ws) ? g_strdup_printf("Exited (status %d)", WEXITSTATUS(ws))
						   : g_strdup_printf("Killed (signal %d, %s)", WTERMSIG(ws),
								     g_strsignal(WTERMSIG(ws)));
		}
		state = state_text;
		css = "ended";
	} else if (st->held > 0) {
		state_text = g_strdup_printf("Paused · %u thread%s held", st->held, st->held == 1 ? "" : "s");
		state = state_text;
		css = "paused";
	} else if (self->live_pausing) {
		state = "Pausing…";
		css = "paused";
	} else {
		state = "Running";
		css = "running";
	}
	gtk_label_set_text(self->live_state, state);
	gtk_widget_remove_css_class(GTK_WIDGET(self->live_state), "running");
	gtk_widget_remove_css_class(GTK_WIDGET(self->live_state), "paused");
	gtk_widget_remove_css_class(GTK_WIDGET(self->live_state), "ended");
	gtk_widget_add_css_class(GTK_WIDGET(self->live_state), css);
	g_autofree char *recv = human_count(st->events);
	g_autofree char *rate = human_count((guint64)ravscope_live_get_rate(self->live));
	GString *s = g_string_new(NULL);
	/* first, as a narrow window cuts the end of the line */
	if (self->live_following && !self->live_ended && self->live_behind >= BEHIND_SHOWN_S)
		g_string_append_printf(s, "Following, %.1f s behind · ", self->live_behind);
	/* (threads that are not held run on: the rate is what arrives) */
	g_string_append_printf(s, "%s events/s · %s received", self->live_ended ? "0" : rate, recv);
	if (st->lost || !ravscope_live_is_lossless(self->live))
		g_string_append_printf(s, " · %llu dropped", (unsigned long long)st->lost);
	else
		g_string_append(s, " · lossless");
	if (st->nlosses) {
		const rav_live_lost *l = &st->losses[MIN(st->nlosses, G_N_ELEMENTS(st->losses)) - 1];
		g_string_append_printf(s, " (resynchronised %u×, last %.2f–%.2f s)", st->nlosses, l->from_s, l->to_s);
	}
	if (!self->live_following && self->doc) {
		guint64 n = ravscope_document_get_event_count(self->doc), pos = ravscope_document_get_position(self->doc);
		g_string_append_printf(s, " · viewing %llu events back", (unsigned long long)(n > pos ? n - pos : 0));
	}
	if (st->message[0])
		g_string_append_printf(s, " · %s", st->message);
	gtk_label_set_text(self->live_label, s->str);
	/* why it stopped: a line of its own under the bar */
	gtk_label_set_text(self->live_why, self->live_stop_text ? self->live_stop_text : "");
	gtk_widget_set_visible(GTK_WIDGET(self->live_why), self->live_stop_text != NULL);
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->live_label), s->str);
	g_string_free(s, TRUE);
	if (self->live_follow) {
		if (self->live_following)
			gtk_widget_add_css_class(self->live_follow, "following");
		else
			gtk_widget_remove_css_class(self->live_follow, "following");
	}
	ravscope__window_live_enable(self);
}

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
		/* no worker (the stream ended): once, from the nearest keyframe */
		ravscope_document_seek(self->doc, n, NULL);
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
		live_update_bar(self);
	}
}

/* The event thread `heap` stopped at: its last event, or for a move held
 * after its fix-ups, the move.  -1 while it has not arrived.  The STOPPED
 * record gives the event's first operand as a location, or -1 when it is
 * not an address in the pool (a mark's text length, a channel id, a
 * count): then the kind alone identifies it, the thread's last event. */
static gint64 find_stop_event(RavscopeWindow *self, const struct rav_live_stop *stop)
{
	rav_trace *t = ravscope_document_get_trace(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	rav_event_filter f = { .kinds = ~(1ull << RAV_EV_TIME), .thread = stop->heap_id };
	gint64 at = rav_trace_find_prev(t, n, &f);
	if (at < 0 || stop->why != 1)
		return at;
	unsigned kind = stop->kind & 0xff;
	for (int back = 0; at >= 0 && back < 8; back++) {
		rav_event ev;
		if (!rav_trace_event_at(t, (guint64)at, &ev))
			return -1;
		if (ev.kind == kind && (stop->a < 0 || (gint64)ev.a == stop->a))
			return at;
		if (!(kind == RAV_EV_MOVE && ev.kind == RAV_EV_FIXUP))
			return -1; /* not here yet */
		at = rav_trace_find_prev(t, (guint64)at, &f);
	}
	return -1;
}

static void show_stop(RavscopeWindow *self)
{
	const struct rav_live_stop *stop = &self->live_status.last_stop;
	gint64 at = find_stop_event(self, stop);
	gint64 waited = g_get_monotonic_time() - self->live_stop_since;
	if (at < 0 && waited < 2 * G_USEC_PER_SEC)
		return; /* the event is still on its way: next tick */
	self->live_stop_pending = FALSE;
	self->live_stop_heap = stop->heap_id;
	self->live_following = FALSE;
	ravscope_playback_stop(self->playback);
	g_autofree char *thread = ravscope_document_heap_name(self->doc, stop->heap_id);
	g_autofree char *what = NULL;
	rav_loc cell = RAV_LOC_NONE;
	if (at >= 0) {
		rav_event ev;
		rav_trace_event_at(ravscope_document_get_trace(self->doc), (guint64)at, &ev);
		what = ravscope_document_describe_event(self->doc, &ev);
		self->live_moving = TRUE;
		ravscope_document_seek(self->doc, (guint64)at + 1, NULL); /* the state just after it */
		self->live_moving = FALSE;
		if (stop->cell_page >= 0)
			cell = rav_loc_make((uint32_t)stop->cell_page, (uint32_t)stop->cell_index, 0);
		else if (rav_event_kind_loc_mask(ev.kind) & 1)
			cell = rav_loc_make(rav_loc_page(ev.a), rav_loc_cell(ev.a), 0);
	}
	g_free(self->live_stop_text);
	if (stop->why == 1)
		self->live_stop_text = g_strdup_printf("%s stopped at breakpoint %u (hit %llu)%s%s", thread,
						       stop->break_id, (unsigned long long)stop->hits,
						       what ? ": " : "", what ? what : "");
	else if (stop->why == 3)
		self->live_stop_text = g_strdup_printf("%s stepped%s%s", thread, what ? ": " : "", what ? what : "");
	else
		self->live_stop_text = g_strdup_printf("%s paused%s%s", thread, what ? " after " : "", what ? what : "");
	if (cell) {
		ravscope_heap_view_set_selected(self->heap_view, cell);
		ravscope_heap_view_focus_cell(self->heap_view, cell);
		ravscope__window_show_panel(self, "inspector");
	}
	ravscope_breakpoints_panel_set_hit(self->breakpoints_panel, stop->why == 1 ? stop->break_id : 0, stop->hits);
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
		show_stop(self);
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
		live_update_bar(self);
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
		live_update_bar(self);
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
		if (!ravscope_breakpoints_panel_add_site(self->breakpoints_panel, self->start_break, 0, &why))
			g_printerr("ravscope: --break=%s: %s\n", self->start_break, why);
		/* as gdb sets breakpoints before the program runs: hold it until
		 * the map has come and the breakpoint is in the program */
		else if (ravscope_breakpoints_panel_waiting(self->breakpoints_panel))
			self->start_break_hold = ravscope_live_pause(live);
		g_clear_pointer(&self->start_break, g_free);
	}
	if (spawned) {
		adw_view_stack_page_set_visible(self->output_page, TRUE);
		gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->output_view), "", -1);
	}
	self->live_tick = g_timeout_add(TICK_MS, live_tick, self);
	live_update_bar(self);
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
	RavscopeLive *live = ravscope_live_spawn(argv, &error);
	if (!live) {
		ravscope__window_show_error(self, "Cannot Run the Program", error->message);
		g_error_free(error);
		return;
	}
	live_begin(self, live, TRUE);
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

/* ---- actions -------------------------------------------------------------------- */

static void on_dialog_attach(RavscopeAttachDialog *d, int pid, RavscopeWindow *self)
{
	gboolean accesses = ravscope_attach_dialog_get_accesses(d);
	gtk_window_destroy(GTK_WINDOW(d));
	ravscope_window_attach_full(self, pid, accesses);
	if (accesses)
		ravscope_contention_set_active(self->contention, TRUE);
}

static void act_attach(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	RavscopeAttachDialog *d = ravscope_attach_dialog_new(GTK_WINDOW(self));
	g_signal_connect(d, "attach", G_CALLBACK(on_dialog_attach), self);
	gtk_window_present(GTK_WINDOW(d));
	self->attach_dialog = d;
	g_object_add_weak_pointer(G_OBJECT(d), (gpointer *)&self->attach_dialog);
}

static void on_run_response(GtkWidget *button, RavscopeWindow *self)
{
	GtkWindow *dlg = GTK_WINDOW(gtk_widget_get_root(button));
	GtkEditable *entry = g_object_get_data(G_OBJECT(dlg), "entry");
	GError *error = NULL;
	char **argv = NULL;
	if (!g_shell_parse_argv(gtk_editable_get_text(entry), NULL, &argv, &error)) {
		GtkLabel *err = g_object_get_data(G_OBJECT(dlg), "error");
		gtk_label_set_text(err, error->message);
		gtk_widget_set_visible(GTK_WIDGET(err), TRUE);
		g_error_free(error);
		return;
	}
	gtk_window_destroy(dlg);
	ravscope_window_run(self, (const char *const *)argv);
	g_strfreev(argv);
}

static void act_run_program(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	GtkWidget *dlg = adw_window_new();
	gtk_window_set_title(GTK_WINDOW(dlg), "Run Program");
	gtk_window_set_transient_for(GTK_WINDOW(dlg), GTK_WINDOW(self));
	gtk_window_set_modal(GTK_WINDOW(dlg), TRUE);
	gtk_window_set_default_size(GTK_WINDOW(dlg), 560, -1);
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_box_append(GTK_BOX(box), adw_header_bar_new());
	GtkWidget *inner = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
	gtk_widget_set_margin_start(inner, 18);
	gtk_widget_set_margin_end(inner, 18);
	gtk_widget_set_margin_bottom(inner, 18);
	GtkWidget *intro = gtk_label_new("A program linked with libravioli, and its arguments. ravscope starts it "
					 "attached from its first event; its output appears in the Output panel.");
	gtk_label_set_wrap(GTK_LABEL(intro), TRUE);
	gtk_label_set_xalign(GTK_LABEL(intro), 0);
	gtk_box_append(GTK_BOX(inner), intro);
	GtkWidget *entry = gtk_entry_new();
	g_autofree char *sample = ravscope_application_find_sample("tree");
	g_autofree char *placeholder = g_strdup_printf("e.g. %s 100000", sample ? sample : "rav-sample-tree");
	gtk_entry_set_placeholder_text(GTK_ENTRY(entry), placeholder);
	gtk_box_append(GTK_BOX(inner), entry);
	GtkWidget *err = gtk_label_new("");
	gtk_widget_add_css_class(err, "error");
	gtk_widget_set_visible(err, FALSE);
	gtk_box_append(GTK_BOX(inner), err);
	GtkWidget *run = gtk_button_new_with_mnemonic("_Run");
	gtk_widget_add_css_class(run, "suggested-action");
	gtk_widget_set_halign(run, GTK_ALIGN_END);
	g_signal_connect(run, "clicked", G_CALLBACK(on_run_response), self);
	g_signal_connect_swapped(entry, "activate", G_CALLBACK(gtk_widget_activate), run);
	gtk_box_append(GTK_BOX(inner), run);
	gtk_box_append(GTK_BOX(box), inner);
	adw_window_set_content(ADW_WINDOW(dlg), box);
	g_object_set_data(G_OBJECT(dlg), "entry", entry);
	g_object_set_data(G_OBJECT(dlg), "error", err);
	gtk_window_present(GTK_WINDOW(dlg));
}

static void act_live_pause(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->live && ravscope_live_pause(self->live)) {
		self->live_pausing = TRUE;
		live_update_bar(self);
	}
}

static void act_live_continue(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->live && ravscope_live_continue(self->live)) {
		self->live_pausing = FALSE;
		self->live_following = TRUE;
		live_update_bar(self);
	}
}

static void live_step(RavscopeWindow *self, int mode)
{
	if (self->live && self->live_stop_heap)
		ravscope_live_step(self->live, self->live_stop_heap, mode);
}

static void act_live_step(GtkWidget *w, const char *name, GVariant *p) { live_step(RAVSCOPE_WINDOW(w), 1); }
static void act_live_step_over(GtkWidget *w, const char *name, GVariant *p) { live_step(RAVSCOPE_WINDOW(w), 2); }

static void act_live_follow(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	self->live_following = TRUE;
	if (self->doc)
		follow_to_end(self);
	live_update_bar(self);
}

static void act_live_detach(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->live) {
		ravscope_live_detach(self->live);
		ravscope__window_toast(self, "Detached: the program runs on. What was received stays open.");
	}
}

static void on_save_response(GtkNativeDialog *dialog, int response, RavscopeWindow *self)
{
	if (response == GTK_RESPONSE_ACCEPT && self->doc) {
		GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
		g_autofree char *path = f ? g_file_get_path(f) : NULL;
		rav_trace_error err = { 0 };
		if (path && rav_trace_save(ravscope_document_get_trace(self->doc), path, &err) == 0) {
			g_autofree char *msg = g_strdup_printf("Saved %s", path);
			ravscope__window_toast(self, msg);
		} else {
			g_autofree char *msg = g_strdup_printf("Cannot save: %s", path ? err.message : "not a local file");
			ravscope__window_toast(self, msg);
		}
		g_clear_object(&f);
	}
	g_object_unref(dialog);
}

static void act_save_as(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (!self->doc)
		return;
	GtkFileChooserNative *dlg = gtk_file_chooser_native_new("Save the Trace", GTK_WINDOW(self),
		GTK_FILE_CHOOSER_ACTION_SAVE, "_Save", "_Cancel");
	g_autofree char *suggested = g_strdup_printf("live-%d.ravtrace", self->live ? ravscope_live_get_pid(self->live) : 0);
	gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dlg), self->live ? suggested : ravscope_document_get_basename(self->doc));
	g_signal_connect(dlg, "response", G_CALLBACK(on_save_response), self);
	gtk_native_dialog_show(GTK_NATIVE_DIALOG(dlg));
}

static void act_break_next(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope__window_show_panel(self, "breakpoints");
	ravscope_breakpoints_panel_run(self->breakpoints_panel, TRUE);
}

static void act_break_prev(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	ravscope__window_show_panel(self, "breakpoints");
	ravscope_breakpoints_panel_run(self->breakpoints_panel, FALSE);
}

static void act_show_errors(GtkWidget *w, const char *name, GVariant *p)
{
	ravscope__window_show_panel(RAVSCOPE_WINDOW(w), "errors");
}

void ravscope__window_live_class_init(GtkWidgetClass *wc)
{
	gtk_widget_class_install_action(wc, "win.attach", NULL, act_attach);
	gtk_widget_class_install_action(wc, "win.run-program", NULL, act_run_program);
	gtk_widget_class_install_action(wc, "win.live-pause", NULL, act_live_pause);
	gtk_widget_class_install_action(wc, "win.live-continue", NULL, act_live_continue);
	gtk_widget_class_install_action(wc, "win.live-step", NULL, act_live_step);
	gtk_widget_class_install_action(wc, "win.live-step-over", NULL, act_live_step_over);
	gtk_widget_class_install_action(wc, "win.live-follow", NULL, act_live_follow);
	gtk_widget_class_install_action(wc, "win.live-detach", NULL, act_live_detach);
	gtk_widget_class_install_action(wc, "win.save-as", NULL, act_save_as);
	gtk_widget_class_install_action(wc, "win.show-errors", NULL, act_show_errors);
	gtk_widget_class_install_action(wc, "win.break-next", NULL, act_break_next);
	gtk_widget_class_install_action(wc, "win.break-prev", NULL, act_break_prev);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F8, 0, "win.break-next", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F8, GDK_SHIFT_MASK, "win.break-prev", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F5, 0, "win.live-continue", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F6, 0, "win.live-pause", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F10, 0, "win.live-step-over", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F11, 0, "win.live-step", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_a, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.attach", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_r, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.run-program", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_s, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.save-as", NULL);
}
