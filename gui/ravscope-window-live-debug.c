/* ravscope-window-live-debug.c - the debugger of a live session: a
 * STOPPED record (a breakpoint hit, a pause, a step) moves the view to the
 * event the thread stopped at once that event has been received: the last
 * event of the held thread (for a cell breakpoint on a move, the move
 * before its fix-ups), selects the cell, and says why in the live bar.
 * And the actions that hold and release the program: Pause (F6), Continue
 * (F5), Step (F11), Step Over (F10), Run to the next or previous
 * breakpoint (F8, Shift+F8).  The breakpoints themselves are
 * ravscope-breakpoints-panel.c's; the session's tick, which calls
 * ravscope__window_live_show_stop, is ravscope-window-live.c.
 */
#include "ravscope-window-private.h"

/* The event the thread stopped at, by its identity: the STOPPED record
 * says how many events of the thread came before it (its last is the
 * stop's; for a cell breakpoint on a move, held after the move's fix-ups,
 * the move).  Its index in the live order, once it is merged and replay
 * has applied it (the view shows the state just after it); -1 until then,
 * STOP_NO_EVENT if the thread has no event in this session.  Found by
 * identity, not as "the thread's last event so far": under load that was
 * an older event while the stop's was still on its way, and an event the
 * merge has but replay has not applied yet cannot be shown (the seek
 * failed and the view stayed where it was, under a text naming the
 * stop's event). */
#define STOP_NO_EVENT (-2)
static gint64 find_stop_event(RavscopeWindow *self, const struct rav_live_stop *stop)
{
	if (stop->thread_events == 0)
		return STOP_NO_EVENT;
	rav_trace *t = ravscope_document_get_trace(self->doc);
	guint64 ord = stop->thread_events - 1;
	gint64 at = rav_trace_thread_event(t, stop->heap_id, ord);
	/* back over a time stamp (not an event of the program's), and for a
	 * move held after its fix-ups, over those */
	gboolean move = stop->why == 1 && (stop->kind & 0xff) == RAV_EV_MOVE;
	rav_event ev;
	while (at >= 0 && ord > 0 && rav_trace_event_at(t, (guint64)at, &ev) &&
	       (ev.kind == RAV_EV_TIME || (move && ev.kind == RAV_EV_FIXUP)))
		at = rav_trace_thread_event(t, stop->heap_id, --ord);
	if (at < 0 || (guint64)at + 1 > rav_trace_replayed_events(t))
		return -1;
	return at;
}

void ravscope__window_live_show_stop(RavscopeWindow *self)
{
	const struct rav_live_stop *stop = &self->live_status.last_stop;
	gint64 at = find_stop_event(self, stop);
	if (at >= 0) {
		self->live_moving = TRUE;
		if (!ravscope_document_seek(self->doc, (guint64)at + 1, NULL)) /* the state just after it */
			at = -1; /* (replay stopped before it: see below) */
		self->live_moving = FALSE;
	}
	gint64 waited = g_get_monotonic_time() - self->live_stop_since;
	if (at == -1 && waited < 2 * G_USEC_PER_SEC)
		return; /* the event is still on its way: next tick */
	/* After 2 s the stop is shown without its event, which is looked for
	 * again at every tick for 30 s more while the thread is held: a loaded
	 * machine may index it later still, and the view then goes to it
	 * (once shown without it, it was never shown). */
	self->live_stop_pending = at == -1 && waited < 32 * G_USEC_PER_SEC;
	self->live_stop_heap = stop->heap_id;
	self->live_following = FALSE;
	ravscope_playback_stop(self->playback);
	rav_loc cell = RAV_LOC_NONE;
	rav_event ev;
	gboolean have = at >= 0 && rav_trace_event_at(ravscope_document_get_trace(self->doc), (guint64)at, &ev);
	if (have) {
		if (stop->cell_page >= 0)
			cell = rav_loc_make((uint32_t)stop->cell_page, (uint32_t)stop->cell_index, 0);
		else if (rav_event_kind_loc_mask(ev.kind) & 1)
			cell = rav_loc_make(rav_loc_page(ev.a), rav_loc_cell(ev.a), 0);
	}
	g_free(self->live_stop_text);
	self->live_stop_text = ravscope_document_stop_text(self->doc, stop->why, stop->heap_id, stop->break_id,
							   stop->hits, have ? &ev : NULL);
	if (cell) {
		ravscope_heap_view_set_selected(self->heap_view, cell);
		ravscope_heap_view_focus_cell(self->heap_view, cell);
		ravscope__window_show_panel(self, "inspector");
	}
	ravscope_breakpoints_panel_set_hit(self->breakpoints_panel, stop->why == 1 ? stop->break_id : 0, stop->hits);
}

static void act_live_pause(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->live && ravscope_live_pause(self->live)) {
		self->live_pausing = TRUE;
		ravscope__window_live_update_bar(self);
	}
}

static void act_live_continue(GtkWidget *w, const char *name, GVariant *p)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	if (self->live && ravscope_live_continue(self->live)) {
		self->live_pausing = FALSE;
		self->live_following = TRUE;
		ravscope__window_live_update_bar(self);
	}
}

static void live_step(RavscopeWindow *self, int mode)
{
	if (self->live && self->live_stop_heap)
		ravscope_live_step(self->live, self->live_stop_heap, mode);
}

static void act_live_step(GtkWidget *w, const char *name, GVariant *p) { live_step(RAVSCOPE_WINDOW(w), 1); }
static void act_live_step_over(GtkWidget *w, const char *name, GVariant *p) { live_step(RAVSCOPE_WINDOW(w), 2); }

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

/* F10 is also GtkWindow's key for the primary menu, whose class binding
 * comes before this class's: pressed on a stopped program it opened the
 * main menu instead of stepping over.  Taken first (capture phase) while
 * Step Over can run; otherwise it goes on to the menu. */
static gboolean on_f10(GtkWidget *w, GVariant *args, gpointer data)
{
	RavscopeWindow *self = RAVSCOPE_WINDOW(w);
	gboolean held = self->live && !self->live_ended && self->live_status.held > 0;
	if (!held || !self->live_stop_heap)
		return FALSE;
	return gtk_widget_activate_action(w, "win.live-step-over", NULL);
}

void ravscope__window_live_debug_init(RavscopeWindow *self)
{
	GtkEventController *c = gtk_shortcut_controller_new();
	gtk_event_controller_set_propagation_phase(c, GTK_PHASE_CAPTURE);
	gtk_shortcut_controller_add_shortcut(GTK_SHORTCUT_CONTROLLER(c),
					     gtk_shortcut_new(gtk_keyval_trigger_new(GDK_KEY_F10, 0),
							      gtk_callback_action_new(on_f10, NULL, NULL)));
	gtk_widget_add_controller(GTK_WIDGET(self), c);
}

void ravscope__window_live_debug_class_init(GtkWidgetClass *wc)
{
	gtk_widget_class_install_action(wc, "win.live-pause", NULL, act_live_pause);
	gtk_widget_class_install_action(wc, "win.live-continue", NULL, act_live_continue);
	gtk_widget_class_install_action(wc, "win.live-step", NULL, act_live_step);
	gtk_widget_class_install_action(wc, "win.live-step-over", NULL, act_live_step_over);
	gtk_widget_class_install_action(wc, "win.break-next", NULL, act_break_next);
	gtk_widget_class_install_action(wc, "win.break-prev", NULL, act_break_prev);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F8, 0, "win.break-next", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F8, GDK_SHIFT_MASK, "win.break-prev", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F5, 0, "win.live-continue", NULL);
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F6, 0, "win.live-pause", NULL);
	/* F10: ravscope__window_live_debug_init */
	gtk_widget_class_add_binding_action(wc, GDK_KEY_F11, 0, "win.live-step", NULL);
}
