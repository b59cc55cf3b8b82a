/* ravscope-window-live-bar.c - the live bar of a window with a live
 * session: its widgets (state, the status line, Pause/Continue, Step,
 * Follow, Save As, Detach, and the line under it saying why the program
 * stopped), which of the live actions are enabled, and the status text
 * (running, paused, ended and how; events per second, received, dropped
 * or lossless, how far behind the view follows).  The session itself is
 * ravscope-window-live.c; the actions the buttons name are installed by
 * ravscope-window-live-debug.c and ravscope-window-live-start.c.
 */
#include "ravscope-window-private.h"

#include <sys/wait.h>

#define BEHIND_SHOWN_S 0.1 /* the bar says "behind" from here on */

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
				     "Step: run the stopped thread for one event, inside its current engine call (F11)",
				     "win.live-step");
	GtkWidget *over = bar_button(
		self, "go-last-symbolic", NULL,
		"Step over: finish the stopped thread's current engine call and hold it at its next one, or at a "
		"breakpoint met on the way (F10)",
		"win.live-step-over");
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

static gboolean live_held(RavscopeWindow *self)
{
	return self->live && !self->live_ended && self->live_status.held > 0;
}

gboolean ravscope__window_live_can_continue(RavscopeWindow *self)
{
	return live_held(self) || (self->live && !self->live_ended && self->live_pausing);
}

gboolean ravscope__window_live_can_step(RavscopeWindow *self)
{
	return live_held(self) && self->live_stop_heap;
}

void ravscope__window_live_enable(RavscopeWindow *self)
{
	gboolean attached = self->live && !self->live_ended;
	gboolean held = live_held(self);
	set_enabled(self, "win.live-pause", attached && !held && !self->live_pausing);
	set_enabled(self, "win.live-continue", ravscope__window_live_can_continue(self));
	set_enabled(self, "win.live-step", ravscope__window_live_can_step(self));
	set_enabled(self, "win.live-step-over", ravscope__window_live_can_step(self));
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

void ravscope__window_live_update_bar(RavscopeWindow *self)
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
		else if (ravscope_live_program_runs(self->live))
			state_text = g_strdup("Disconnected"); /* and why, in the line */
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
	/* Most important first, as a narrow window cuts the end of the line
	 * (the state is a label of its own, never cut; the whole line is the
	 * tooltip): whether events were lost, then how far behind the view
	 * follows, then the counts (at 900 px "73718 received · …" hid
	 * lossless / dropped). */
	if (st->lost || !ravscope_live_is_lossless(self->live))
		g_string_append_printf(s, "%llu dropped", (unsigned long long)st->lost);
	else
		g_string_append(s, "lossless");
	if (st->nlosses) {
		const rav_live_lost *l = &st->losses[MIN(st->nlosses, G_N_ELEMENTS(st->losses)) - 1];
		g_string_append_printf(s, " (resynchronised %u×, last %.2f–%.2f s)", st->nlosses, l->from_s, l->to_s);
	}
	if (self->live_following && !self->live_ended && self->live_behind >= BEHIND_SHOWN_S)
		g_string_append_printf(s, " · following, %.1f s behind", self->live_behind);
	/* (threads that are not held run on: the rate is what arrives) */
	g_string_append_printf(s, " · %s events/s · %s received", self->live_ended ? "0" : rate, recv);
	if (!self->live_following && self->doc) {
		guint64 n = ravscope_document_get_event_count(self->doc), pos = ravscope_document_get_position(self->doc);
		g_string_append_printf(s, " · viewing %llu events back", (unsigned long long)(n > pos ? n - pos : 0));
	}
	if (st->message[0])
		g_string_append_printf(s, " · %s", st->message);
	/* (a daemon closing every descriptor at its start, started by Run
	 * Program: the session was cut before main() had run long) */
	if (self->live_ended && !st->end_known && ravscope_live_program_runs(self->live))
		g_string_prepend(s, "The program closed the connection itself and runs on: attach again "
				    "(File → Attach to Program…) · ");
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
