/* ravscope-breakpoints-panel.c - the Breakpoints panel: conditions on heap
 * events, for a live program (sent to it: the program holds the thread that
 * hits) and for any trace (Run to Breakpoint forward and backward from the
 * playhead).
 *
 * Conditions: the selected cell (followed across moves: moves, fix-ups of
 * its words, its free, a new referrer), a type's allocations or frees, an
 * event kind (page hand-off, message send / receive, collection, arrival
 * compaction, ...), a mark's text, engine errors, any event, and a call
 * site (what gdb users type: FUNCTION, FILE:LINE, *ADDRESS; with the kind
 * of event wanted there); each limited to a thread if wanted, with a hit
 * count ("the 1000th free") and "stop all threads".
 *
 * This file: the widget, the list of breakpoints (rows), Run to Breakpoint
 * on a trace (searched with libravtrace, ravscope-breakpoint-search.c) and
 * a live program's states and hits.  The form that makes a breakpoint is
 * ravscope-breakpoints-form.c, call sites ravscope-breakpoints-sites.c
 * (ravscope-breakpoints-private.h lists what they share).
 */
#include "ravscope-breakpoints-private.h"

#include <string.h>

#include "ravscope-breakpoint-search.h"
#include "ravscope-panel.h"
#include "ravscope-sites.h"

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeBreakpointsPanel, ravscope_breakpoints_panel, GTK_TYPE_BOX,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

void ravscope__bp_free(gpointer p)
{
	Bp *bp = p;
	g_free(bp->text);
	g_free(bp->label);
	g_free(bp->site_spec);
	g_free(bp->ranges);
	g_free(bp->sites);
	g_free(bp->note);
	g_free(bp);
}

/* The form's texts quote a trace's bytes (function names and object paths
 * from its debug information, a resolver's message cut at 512 bytes): shown
 * as one line of valid UTF-8 (ravscope_display_text), never raw. */
void ravscope__bp_set_text(GtkLabel *label, const char *text)
{
	g_autofree char *shown = text ? ravscope_display_text(text) : NULL;
	gtk_label_set_text(label, shown ? shown : text ? text : "");
}

/* ---- rows -------------------------------------------------------------------- */

static char *state_text(const Bp *bp, gboolean live)
{
	const char *st = "";
	switch (bp->state) {
	case RAV_LIVE_BREAK_STATE_SET: st = "set in the program"; break;
	case RAV_LIVE_BREAK_STATE_PENDING: st = "waiting for the cell's thread"; break;
	case RAV_LIVE_BREAK_STATE_REFUSED: st = "refused by the program"; break;
	case RAV_LIVE_BREAK_STATE_GONE: st = "its cell was freed"; break;
	case RAV_LIVE_BREAK_STATE_CLEARED: st = "cleared"; break;
	default: st = live ? "sending…" : "for Run to Breakpoint"; break;
	}
	if (bp->note)
		st = bp->note;
	if (bp->hits)
		return g_strdup_printf("%s · hit %llu", st, (unsigned long long)bp->hits);
	return g_strdup(st);
}

static void update_row(RavscopeBreakpointsPanel *self, Bp *bp)
{
	g_autofree char *sub = state_text(bp, self->live != NULL);
	g_autofree char *shown = ravscope_display_text(sub);
	adw_action_row_set_subtitle(ADW_ACTION_ROW(bp->row), shown ? shown : sub);
	if (bp->b.id == self->hit_id)
		gtk_widget_add_css_class(bp->row, "breakpoint-hit");
	else
		gtk_widget_remove_css_class(bp->row, "breakpoint-hit");
}

static void send_bp(RavscopeBreakpointsPanel *self, Bp *bp)
{
	if (!self->live)
		return;
	if (!bp->site_spec) {
		bp->sent = ravscope_live_break_set(self->live, &bp->b);
		return;
	}
	bp->waiting_map = FALSE;
	if (!ravscope__bp_ensure_site(self, bp))
		return; /* again at the next refresh */
	if (bp->nranges > RAV_LIVE_SITE_RANGES_MAX) {
		g_free(bp->note);
		bp->note = g_strdup_printf("%" G_GSIZE_FORMAT " pieces of code: a running program takes at most %u",
					   bp->nranges, RAV_LIVE_SITE_RANGES_MAX);
		return;
	}
	bp->sent = ravscope_live_break_set_at_site(self->live, &bp->b, bp->ranges, bp->nranges);
}

static void on_remove(GtkButton *b, RavscopeBreakpointsPanel *self)
{
	Bp *bp = g_object_get_data(G_OBJECT(b), "bp");
	if (self->live)
		ravscope_live_break_clear(self->live, bp->b.id);
	gtk_list_box_remove(self->list, bp->row);
	g_ptr_array_remove(self->bps, bp);
}

void ravscope__bp_add(RavscopeBreakpointsPanel *self, Bp *bp)
{
	bp->b.id = ++self->next_id;
	GtkWidget *row = adw_action_row_new();
	/* the label and the state (a lookup's error names the spec and the
	 * functions found) are plain text, not markup */
	adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
	g_autofree char *title = ravscope_display_text(bp->label);
	adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title ? title : bp->label);
	GtkWidget *icon = gtk_image_new_from_icon_name("media-record-symbolic");
	gtk_widget_add_css_class(icon, "breakpoint-dot");
	adw_action_row_add_prefix(ADW_ACTION_ROW(row), icon);
	GtkWidget *rm = gtk_button_new_from_icon_name("user-trash-symbolic");
	gtk_widget_set_valign(rm, GTK_ALIGN_CENTER);
	gtk_widget_add_css_class(rm, "flat");
	gtk_widget_set_tooltip_text(rm, "Remove this breakpoint");
	g_object_set_data(G_OBJECT(rm), "bp", bp);
	g_signal_connect(rm, "clicked", G_CALLBACK(on_remove), self);
	adw_action_row_add_suffix(ADW_ACTION_ROW(row), rm);
	bp->row = row;
	g_ptr_array_add(self->bps, bp);
	gtk_list_box_append(self->list, row);
	update_row(self, bp);
	send_bp(self, bp);
}

/* ---- run to breakpoint (any trace: ravscope-breakpoint-search.c) ---------------- */

static gint64 search_one(RavscopeBreakpointsPanel *self, Bp *bp, gboolean forward, gboolean *gave_up)
{
	if (bp->site_spec && !ravscope__bp_ensure_site(self, bp))
		return -1;
	return ravscope_breakpoint_search(ravscope_document_get_trace(self->doc), &bp->b, bp->cell, bp->cell_at,
					  bp->site_spec ? bp->sites : NULL, bp->nsites,
					  ravscope_document_get_position(self->doc),
					  ravscope_document_get_event_count(self->doc), forward, gave_up);
}

gboolean ravscope_breakpoints_panel_run(RavscopeBreakpointsPanel *self, gboolean forward)
{
	if (!self->doc || self->bps->len == 0) {
		ravscope__bp_set_text(self->result, self->doc ? "No breakpoints: add one above." : "");
		return FALSE;
	}
	gint64 best = -1;
	Bp *which = NULL;
	gboolean gave_up = FALSE;
	for (guint i = 0; i < self->bps->len; i++) {
		Bp *bp = g_ptr_array_index(self->bps, i);
		gint64 at = search_one(self, bp, forward, &gave_up);
		if (at >= 0 && (best < 0 || (forward ? at < best : at > best))) {
			best = at;
			which = bp;
		}
	}
	if (best < 0) {
		ravscope__bp_set_text(self->result, gave_up ? "Not found within the part of the trace searched."
						       : forward ? "No breakpoint hit after the playhead."
								 : "No breakpoint hit before the playhead.");
		return FALSE;
	}
	/* what hit, and from where in the program */
	rav_trace *t = ravscope_document_get_trace(self->doc);
	rav_event ev;
	gboolean have = rav_trace_event_at(t, (guint64)best, &ev);
	g_autofree char *where = have && ev.site ? ravscope_site_label(t, ev.site) : NULL;
	g_autofree char *msg = g_strdup_printf("Breakpoint “%s” at event %lld%s%s%s%s.", which->label, (long long)best,
					       have ? ": " : "", have ? rav_event_kind_name(ev.kind) : "",
					       where ? " by " : "", where ? where : "");
	ravscope__bp_set_text(self->result, msg);
	self->hit_id = which->b.id;
	for (guint i = 0; i < self->bps->len; i++)
		update_row(self, g_ptr_array_index(self->bps, i));
	gtk_widget_activate_action(GTK_WIDGET(self), "win.seek-event", "t", (guint64)best);
	return TRUE;
}

static void on_run_next(GtkButton *b, RavscopeBreakpointsPanel *self) { ravscope_breakpoints_panel_run(self, TRUE); }
static void on_run_prev(GtkButton *b, RavscopeBreakpointsPanel *self) { ravscope_breakpoints_panel_run(self, FALSE); }

/* ---- live -------------------------------------------------------------------------- */

void ravscope_breakpoints_panel_set_live(RavscopeBreakpointsPanel *self, RavscopeLive *live)
{
	if (live == self->live)
		return;
	g_set_object(&self->live, live);
	for (guint i = 0; i < self->bps->len; i++) {
		Bp *bp = g_ptr_array_index(self->bps, i);
		bp->state = 0;
		bp->sent = FALSE;
		/* a cell names a place of the old trace; types and threads stay meaningful by id only
		 * for the same program: keep them, the program refuses what does not fit */
		send_bp(self, bp);
		update_row(self, bp);
	}
	ravscope__bp_update_form(self);
}

void ravscope_breakpoints_panel_update_states(RavscopeBreakpointsPanel *self, const rav_live_status *st)
{
	for (guint i = 0; i < self->bps->len; i++) {
		Bp *bp = g_ptr_array_index(self->bps, i);
		const struct rav_live_break_state *s = rav_live_break_state(st, bp->b.id);
		int state = s ? s->state : 0;
		if (state != bp->state) {
			bp->state = state;
			update_row(self, bp);
		}
	}
}

/* The form's word on a call site the program has now hit: checked before
 * the first call it said "No call of X seen yet", and kept saying so
 * (qadev14).  Only while the form still names that breakpoint's spec. */
static void hint_hits(RavscopeBreakpointsPanel *self, Bp *bp)
{
	if (!bp->site_spec || !bp->hits || !self->doc || gtk_drop_down_get_selected(self->what) != WHAT_SITE)
		return;
	g_autofree char *spec = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->site_entry))));
	if (strcmp(spec, bp->site_spec))
		return;
	if (self->validate_source) { /* a check of the same text would say it again */
		g_source_remove(self->validate_source);
		self->validate_source = 0;
	}
	self->validate_gen++; /* nor may one under way */
	if (bp->resolved_for == self->doc && bp->ranges)
		ravscope__bp_update_sites(self, bp);
	g_autofree char *sites = NULL;
	if (bp->nsites)
		ravscope__bp_site_message(self, spec, bp, NULL, &sites);
	g_autofree char *msg = g_strdup_printf("Hit %llu time%s in this run%s%s", (unsigned long long)bp->hits,
					       bp->hits == 1 ? "" : "s", sites ? ": " : ".", sites ? sites : "");
	ravscope__bp_show_check(self, TRUE, msg);
}

void ravscope_breakpoints_panel_set_hit(RavscopeBreakpointsPanel *self, guint32 id, guint64 hits)
{
	self->hit_id = id;
	for (guint i = 0; i < self->bps->len; i++) {
		Bp *bp = g_ptr_array_index(self->bps, i);
		if (bp->b.id == id) {
			bp->hits = hits;
			hint_hits(self, bp);
		}
		update_row(self, bp);
	}
}

guint ravscope_breakpoints_panel_count(RavscopeBreakpointsPanel *self) { return self->bps->len; }

const char *ravscope_breakpoints_panel_get_hint(RavscopeBreakpointsPanel *self)
{
	return gtk_label_get_text(self->hint);
}

gboolean ravscope_breakpoints_panel_waiting(RavscopeBreakpointsPanel *self)
{
	for (guint i = 0; self->live && i < self->bps->len; i++)
		if (((Bp *)g_ptr_array_index(self->bps, i))->waiting_map)
			return TRUE;
	return FALSE;
}

/* ---- panel ---------------------------------------------------------------------------- */

static void panel_set_document(RavscopePanel *panel, RavscopeDocument *doc)
{
	RavscopeBreakpointsPanel *self = RAVSCOPE_BREAKPOINTS_PANEL(panel);
	/* A cell named by another trace means nothing in this one. */
	if (doc != self->doc)
		for (guint i = self->bps->len; i-- > 0;) {
			Bp *bp = g_ptr_array_index(self->bps, i);
			if (bp->b.what == RAV_LIVE_BREAK_CELL) {
				gtk_list_box_remove(self->list, bp->row);
				g_ptr_array_remove_index(self->bps, i);
			}
		}
	g_set_object(&self->doc, doc);
	/* call sites: resolved again on this trace (another run, other addresses) */
	for (guint i = 0; doc && i < self->bps->len; i++) {
		Bp *bp = g_ptr_array_index(self->bps, i);
		if (bp->site_spec && bp->resolved_for != doc) {
			ravscope__bp_ensure_site(self, bp);
			update_row(self, bp);
		}
	}
	self->selected = RAV_LOC_NONE;
	self->hit_id = 0;
	ravscope__bp_set_text(self->result, "");
	ravscope__bp_fill_choices(self);
	ravscope__bp_update_form(self);
}

static void panel_refresh(RavscopePanel *panel)
{
	RavscopeBreakpointsPanel *self = RAVSCOPE_BREAKPOINTS_PANEL(panel);
	/* types and threads appear while a live trace grows */
	if (self->doc) {
		rav_trace *t = ravscope_document_get_trace(self->doc);
		guint ntypes = 1, nthreads = 1;
		for (unsigned i = 0; i < rav_trace_type_count(t); i++) {
			rav_trace_type ty;
			if (rav_trace_type_at(t, i, &ty) && ty.id >= RAVSCOPE_TYPE_FIRST_USER)
				ntypes++;
		}
		for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
			rav_trace_thread th;
			if (rav_trace_thread_at(t, i, &th) && th.kind == 0)
				nthreads++;
		}
		if (ntypes != self->type_ids->len || nthreads != self->thread_ids->len)
			ravscope__bp_fill_choices(self);
	}
	/* call sites waiting for a live program's memory map */
	for (guint i = 0; self->live && i < self->bps->len; i++) {
		Bp *bp = g_ptr_array_index(self->bps, i);
		if (bp->site_spec && !bp->sent) {
			g_autofree char *was = g_strdup(bp->note);
			send_bp(self, bp);
			if (bp->sent)
				g_clear_pointer(&bp->note, g_free);
			if (g_strcmp0(was, bp->note) != 0 || bp->sent)
				update_row(self, bp);
		}
	}
}

static void panel_select_cell(RavscopePanel *panel, rav_loc cell)
{
	RavscopeBreakpointsPanel *self = RAVSCOPE_BREAKPOINTS_PANEL(panel);
	self->selected = cell;
	ravscope__bp_update_form(self);
}

static void panel_iface_init(RavscopePanelInterface *iface)
{
	iface->set_document = panel_set_document;
	iface->refresh = panel_refresh;
	iface->select_cell = panel_select_cell;
}

static void dispose(GObject *o)
{
	RavscopeBreakpointsPanel *self = RAVSCOPE_BREAKPOINTS_PANEL(o);
	if (self->validate_source) {
		g_source_remove(self->validate_source);
		self->validate_source = 0;
	}
	g_clear_object(&self->doc);
	g_clear_object(&self->live);
	g_clear_pointer(&self->bps, g_ptr_array_unref);
	g_clear_pointer(&self->type_ids, g_array_unref);
	g_clear_pointer(&self->thread_ids, g_array_unref);
	G_OBJECT_CLASS(ravscope_breakpoints_panel_parent_class)->dispose(o);
}

static void ravscope_breakpoints_panel_class_init(RavscopeBreakpointsPanelClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = dispose;
}

static void ravscope_breakpoints_panel_init(RavscopeBreakpointsPanel *self)
{
	self->bps = g_ptr_array_new_with_free_func(ravscope__bp_free);
	self->type_ids = g_array_new(FALSE, FALSE, sizeof(guint16));
	self->thread_ids = g_array_new(FALSE, FALSE, sizeof(guint32));
	gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
	gtk_box_set_spacing(GTK_BOX(self), 6);
	gtk_widget_set_margin_start(GTK_WIDGET(self), 8);
	gtk_widget_set_margin_end(GTK_WIDGET(self), 8);
	gtk_widget_set_margin_top(GTK_WIDGET(self), 8);
	gtk_widget_set_margin_bottom(GTK_WIDGET(self), 8);

	ravscope__bp_build_form(self);

	GtkWidget *scroll = gtk_scrolled_window_new();
	gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
	gtk_widget_set_vexpand(scroll, TRUE);
	self->list = GTK_LIST_BOX(gtk_list_box_new());
	gtk_list_box_set_selection_mode(self->list, GTK_SELECTION_NONE);
	gtk_widget_add_css_class(GTK_WIDGET(self->list), "boxed-list");
	gtk_widget_set_valign(GTK_WIDGET(self->list), GTK_ALIGN_START);
	gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroll), GTK_WIDGET(self->list));
	gtk_box_append(GTK_BOX(self), scroll);

	GtkWidget *runs = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	gtk_widget_add_css_class(runs, "linked");
	gtk_widget_set_halign(runs, GTK_ALIGN_CENTER);
	GtkWidget *prev = gtk_button_new_with_label("◀ Run Back");
	gtk_widget_set_tooltip_text(prev, "The last breakpoint hit before the playhead (Shift+F8)");
	g_signal_connect(prev, "clicked", G_CALLBACK(on_run_prev), self);
	GtkWidget *next = gtk_button_new_with_label("Run to Break ▶");
	gtk_widget_set_tooltip_text(next, "The next breakpoint hit after the playhead (F8)");
	g_signal_connect(next, "clicked", G_CALLBACK(on_run_next), self);
	gtk_box_append(GTK_BOX(runs), prev);
	gtk_box_append(GTK_BOX(runs), next);
	gtk_box_append(GTK_BOX(self), runs);
	self->result = GTK_LABEL(gtk_label_new(""));
	gtk_label_set_wrap(self->result, TRUE);
	gtk_label_set_xalign(self->result, 0);
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->result));
	ravscope__bp_update_form(self);
}
