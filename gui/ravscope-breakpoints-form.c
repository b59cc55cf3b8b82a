/* ravscope-breakpoints-form.c - the Breakpoints panel's form: "Stop on"
 * (a condition), its arguments, thread, hit count and "stop all threads",
 * and the breakpoint it makes (also for tests and scripting: the panel's
 * add_cell, add_kind and add_site).
 */
#include "ravscope-breakpoints-private.h"

#include <string.h>

#include "ravscope-sites.h"

/* What a call-site breakpoint stops on there ("Stop on: Call site", then
 * this); allocations and frees may name a type. */
static const struct {
	const char *label;
	unsigned what; /* RAV_LIVE_BREAK_* */
	unsigned kind; /* KIND: the event kind */
} site_kinds[] = {
	{ "any event", RAV_LIVE_BREAK_ANY, 0 },
	{ "allocations", RAV_LIVE_BREAK_ALLOC, 0 },
	{ "frees", RAV_LIVE_BREAK_FREE, 0 },
	{ "reference stores", RAV_LIVE_BREAK_KIND, RAV_EV_REF_STORE },
	{ "data stores", RAV_LIVE_BREAK_KIND, RAV_EV_DATA_STORE },
	{ "message sends", RAV_LIVE_BREAK_KIND, RAV_EV_MSG_SEND },
	{ "message receives", RAV_LIVE_BREAK_KIND, RAV_EV_MSG_RECV },
	{ "moves", RAV_LIVE_BREAK_KIND, RAV_EV_MOVE },
	{ "engine errors", RAV_LIVE_BREAK_ERROR, 0 },
};

static const struct {
	const char *label;
	unsigned kind;
	int aux; /* -1: any */
} kinds[] = {
	{ "Page hand-off", RAV_EV_PAGE_HANDOFF, -1 },
	{ "Page to a message", RAV_EV_PAGE_TO_MSG, -1 }, /* format 1.6 (older programs refuse it) */
	{ "Message send", RAV_EV_MSG_SEND, -1 },
	{ "Message receive", RAV_EV_MSG_RECV, -1 },
	{ "Collection", RAV_EV_GC_BEGIN, -1 },
	{ "Arrival compaction", RAV_EV_COMPACT_BEGIN, RAV_COMPACT_ARRIVAL },
	{ "Any compaction", RAV_EV_COMPACT_BEGIN, -1 },
	{ "Move", RAV_EV_MOVE, -1 },
	{ "Heap created", RAV_EV_HEAP_NEW, -1 },
	{ "Page acquired", RAV_EV_PAGE_ACQUIRE, -1 },
	{ "Page released", RAV_EV_PAGE_RELEASE, -1 },
	{ "Serialize", RAV_EV_SERIALIZE, -1 },
};

static const char *const what_labels[] = {
	"Selected cell", "Allocation of a type", "Free of a type", "Event kind", "Mark text", "Engine errors",
	"Any event", "Call site", NULL,
};

/* ---- the form ------------------------------------------------------------------- */

void ravscope__bp_update_form(RavscopeBreakpointsPanel *self)
{
	guint w = gtk_drop_down_get_selected(self->what);
	gtk_widget_set_visible(GTK_WIDGET(self->cell_box), w == 0);
	guint sk = gtk_drop_down_get_selected(self->site_kind_dd);
	gboolean site_typed = sk < G_N_ELEMENTS(site_kinds) && (site_kinds[sk].what == RAV_LIVE_BREAK_ALLOC ||
								 site_kinds[sk].what == RAV_LIVE_BREAK_FREE);
	gtk_widget_set_visible(GTK_WIDGET(self->type_dd), w == 1 || w == 2 || (w == WHAT_SITE && site_typed));
	gtk_widget_set_visible(GTK_WIDGET(self->site_box), w == WHAT_SITE);
	gtk_widget_set_visible(GTK_WIDGET(self->kind_dd), w == 3);
	gtk_widget_set_visible(GTK_WIDGET(self->mark_entry), w == 4);
	gboolean ok = self->doc != NULL && (w != 0 || self->selected != RAV_LOC_NONE);
	gtk_widget_set_sensitive(GTK_WIDGET(self->add), ok);
	if (w == 0 && self->selected == RAV_LOC_NONE)
		ravscope__bp_set_text(self->hint, "Select a cell in the heap view first.");
	else if (w == 0 && self->live)
		ravscope__bp_set_text(self->hint, "In a running program, pause first: the cell is where the view shows it.");
	else if (w == WHAT_SITE)
		; /* the call site's check says what it matches (ravscope__bp_validate_site) */
	else
		ravscope__bp_set_text(self->hint, "");
}

static void on_site_changed(GtkEditable *e, RavscopeBreakpointsPanel *self)
{
	if (self->validate_source)
		g_source_remove(self->validate_source);
	self->validate_source = g_timeout_add(300, ravscope__bp_validate_site, self);
}

static void on_what_changed(GObject *o, GParamSpec *pspec, RavscopeBreakpointsPanel *self)
{
	ravscope__bp_update_form(self);
	if (gtk_drop_down_get_selected(self->what) == WHAT_SITE)
		ravscope__bp_validate_site(self);
}

void ravscope__bp_fill_choices(RavscopeBreakpointsPanel *self)
{
	GtkStringList *types = gtk_string_list_new(NULL);
	GtkStringList *threads = gtk_string_list_new(NULL);
	g_array_set_size(self->type_ids, 0);
	g_array_set_size(self->thread_ids, 0);
	gtk_string_list_append(types, "any type");
	guint16 zero = 0;
	g_array_append_val(self->type_ids, zero);
	gtk_string_list_append(threads, "any thread");
	guint32 zero32 = 0;
	g_array_append_val(self->thread_ids, zero32);
	if (self->doc) {
		rav_trace *t = ravscope_document_get_trace(self->doc);
		for (unsigned i = 0; i < rav_trace_type_count(t); i++) {
			rav_trace_type ty;
			if (rav_trace_type_at(t, i, &ty) && ty.id >= RAVSCOPE_TYPE_FIRST_USER) {
				gtk_string_list_append(types, ty.name);
				g_array_append_val(self->type_ids, ty.id);
			}
		}
		for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
			rav_trace_thread th;
			if (rav_trace_thread_at(t, i, &th) && th.kind == 0) {
				g_autofree char *nm = ravscope_document_heap_name(self->doc, th.heap_id);
				gtk_string_list_append(threads, nm);
				g_array_append_val(self->thread_ids, th.heap_id);
			}
		}
	}
	gtk_drop_down_set_model(self->type_dd, G_LIST_MODEL(types));
	gtk_drop_down_set_model(self->thread_dd, G_LIST_MODEL(threads));
	g_object_unref(types);
	g_object_unref(threads);
}

/* A breakpoint as the form says: its id, or 0 with *error (a call site
 * that resolves to nothing). */
static guint32 add_from_form(RavscopeBreakpointsPanel *self, char **error)
{
	if (!self->doc) {
		*error = g_strdup("Open a trace first.");
		return 0;
	}
	Bp *bp = g_new0(Bp, 1);
	guint w = gtk_drop_down_get_selected(self->what);
	GString *label = g_string_new(NULL);
	switch (w) {
	case WHAT_SITE: {
		g_autofree char *spec = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->site_entry))));
		char *msg = NULL;
		if (self->live && spec[0] && rav_trace_object_count(ravscope_document_get_trace(self->doc)) == 0) {
			/* attached a moment ago: resolved once the program's memory map has come */
			bp->note = g_strdup("waiting for the program's memory map");
			bp->waiting_map = TRUE;
		} else if (!ravscope__bp_check_site(self, spec, bp, &msg)) {
			*error = msg;
			ravscope__bp_free(bp);
			g_string_free(label, TRUE);
			return 0;
		}
		g_free(msg);
		bp->site_spec = g_strdup(spec);
		guint k = gtk_drop_down_get_selected(self->site_kind_dd);
		if (k >= G_N_ELEMENTS(site_kinds))
			k = 0;
		bp->b.what = site_kinds[k].what;
		bp->b.arg = site_kinds[k].kind;
		/* a file by its name: the full path is in the tooltip */
		const char *colon = strrchr(spec, ':'), *slash = strrchr(spec, '/');
		const char *shown = spec[0] != '*' && colon && slash && slash < colon ? slash + 1 : spec;
		g_string_append_printf(label, "At %s", shown);
		if (bp->b.what == RAV_LIVE_BREAK_ALLOC || bp->b.what == RAV_LIVE_BREAK_FREE) {
			guint i = gtk_drop_down_get_selected(self->type_dd);
			guint16 id = i < self->type_ids->len ? g_array_index(self->type_ids, guint16, i) : 0;
			bp->b.arg = id;
			g_string_append_printf(label, ": %s of %s", bp->b.what == RAV_LIVE_BREAK_ALLOC ? "allocations" : "frees",
					       id ? ravscope_document_type_name(self->doc, id) : "any type");
		} else if (k) {
			g_string_append_printf(label, ": %s", site_kinds[k].label);
		}
		break;
	}
	case 0: {
		bp->b.what = RAV_LIVE_BREAK_CELL;
		bp->cell = rav_loc_make(rav_loc_page(self->selected), rav_loc_cell(self->selected), 0);
		bp->cell_at = ravscope_document_get_position(self->doc);
		bp->b.arg = (guint64)rav_loc_page(bp->cell) << 32 | rav_loc_cell(bp->cell);
		unsigned f = 0;
		const char *names[4] = { "moves", "fix-ups", "free", "new referrer" };
		GtkCheckButton *checks[4] = { self->on_move, self->on_fixup, self->on_free, self->on_referrer };
		g_autofree char *loc = ravscope_format_loc(bp->cell);
		g_string_append_printf(label, "Cell %s:", loc);
		for (int i = 0; i < 4; i++)
			if (gtk_check_button_get_active(checks[i])) {
				f |= 1u << i;
				g_string_append_printf(label, " %s", names[i]);
			}
		if (!f)
			g_string_append(label, " any change");
		bp->b.flags = f;
		break;
	}
	case 1:
	case 2: {
		guint i = gtk_drop_down_get_selected(self->type_dd);
		guint16 id = i < self->type_ids->len ? g_array_index(self->type_ids, guint16, i) : 0;
		bp->b.what = w == 1 ? RAV_LIVE_BREAK_ALLOC : RAV_LIVE_BREAK_FREE;
		bp->b.arg = id;
		g_string_append_printf(label, "%s of %s", w == 1 ? "Allocation" : "Free",
				       id ? ravscope_document_type_name(self->doc, id) : "any type");
		break;
	}
	case 3: {
		guint i = gtk_drop_down_get_selected(self->kind_dd);
		if (i >= G_N_ELEMENTS(kinds))
			i = 0;
		bp->b.what = RAV_LIVE_BREAK_KIND;
		bp->b.arg = kinds[i].kind;
		if (kinds[i].aux >= 0) {
			bp->b.flags |= RAV_LIVE_MATCH_AUX;
			bp->b.arg2 = (guint64)kinds[i].aux;
		}
		g_string_append(label, kinds[i].label);
		break;
	}
	case 4: {
		const char *txt = gtk_editable_get_text(GTK_EDITABLE(self->mark_entry));
		bp->text = g_utf8_substring(txt, 0, MIN(g_utf8_strlen(txt, -1), 200));
		bp->b.what = RAV_LIVE_BREAK_MARK;
		bp->b.text = bp->text;
		if (bp->text[0])
			g_string_append_printf(label, "Mark containing “%s”", bp->text);
		else
			g_string_append(label, "Any mark");
		break;
	}
	case 5:
		bp->b.what = RAV_LIVE_BREAK_ERROR;
		g_string_append(label, "Engine errors");
		break;
	default:
		bp->b.what = RAV_LIVE_BREAK_ANY;
		g_string_append(label, "Any event");
	}
	guint ti = gtk_drop_down_get_selected(self->thread_dd);
	bp->b.thread = ti < self->thread_ids->len ? g_array_index(self->thread_ids, guint32, ti) : 0;
	if (bp->b.thread) {
		g_autofree char *nm = ravscope_document_heap_name(self->doc, bp->b.thread);
		g_string_append_printf(label, " in %s", nm);
	}
	bp->b.count = (guint32)gtk_spin_button_get_value_as_int(self->count);
	if (bp->b.count)
		g_string_append_printf(label, ", hit %u only", bp->b.count);
	if (gtk_check_button_get_active(self->stop_all)) {
		bp->b.flags |= RAV_LIVE_STOP_ALL;
		g_string_append(label, ", stops all threads");
	}
	bp->label = g_string_free(label, FALSE);
	ravscope__bp_add(self, bp);
	if (bp->site_spec)
		gtk_widget_set_tooltip_text(bp->row, bp->site_spec);
	return bp->b.id;
}

static void on_add(GtkButton *button, RavscopeBreakpointsPanel *self)
{
	g_autofree char *error = NULL;
	if (!add_from_form(self, &error) && error)
		ravscope__bp_set_text(self->hint, error);
}

static void on_site_activate(GtkEntry *e, RavscopeBreakpointsPanel *self)
{
	on_add(self->add, self);
}

static void on_site_kind_changed(GObject *o, GParamSpec *pspec, RavscopeBreakpointsPanel *self)
{
	ravscope__bp_update_form(self);
}

guint32 ravscope_breakpoints_panel_add_cell(RavscopeBreakpointsPanel *self, rav_loc cell, unsigned flags)
{
	self->selected = cell;
	gtk_drop_down_set_selected(self->what, 0);
	gtk_check_button_set_active(self->on_move, flags & RAV_LIVE_ON_MOVE);
	gtk_check_button_set_active(self->on_fixup, flags & RAV_LIVE_ON_FIXUP);
	gtk_check_button_set_active(self->on_free, flags & RAV_LIVE_ON_FREE);
	gtk_check_button_set_active(self->on_referrer, flags & RAV_LIVE_ON_REFERRER);
	on_add(self->add, self);
	return self->next_id;
}

guint32 ravscope_breakpoints_panel_add_site(RavscopeBreakpointsPanel *self, const char *spec, unsigned kind_index,
					    char **error)
{
	gtk_drop_down_set_selected(self->what, WHAT_SITE);
	gtk_drop_down_set_selected(self->site_kind_dd, kind_index < G_N_ELEMENTS(site_kinds) ? kind_index : 0);
	/* as the entry can show it (a function's name that is not UTF-8
	 * resolves as shown: resolve_site) */
	g_autofree char *shown = ravscope_display_dup(spec ? spec : "");
	gtk_editable_set_text(GTK_EDITABLE(self->site_entry), shown);
	char *err = NULL;
	guint32 id = add_from_form(self, &err);
	ravscope__bp_set_text(self->hint, id ? "" : err);
	if (error)
		*error = err;
	else
		g_free(err);
	return id;
}

guint32 ravscope_breakpoints_panel_add_kind(RavscopeBreakpointsPanel *self, unsigned what_index)
{
	gtk_drop_down_set_selected(self->what, what_index);
	on_add(self->add, self);
	return self->next_id;
}

/* "Hit no." 0 stops at every hit: the field says so ("0" read as "never"
 * or "the first" to a newcomer; the tooltip was the only place it said). */
static gboolean count_output(GtkSpinButton *spin, gpointer user)
{
	(void)user;
	if (gtk_spin_button_get_value_as_int(spin) != 0)
		return FALSE;
	if (g_strcmp0(gtk_editable_get_text(GTK_EDITABLE(spin)), "every hit") != 0)
		gtk_editable_set_text(GTK_EDITABLE(spin), "every hit");
	return TRUE;
}

static gint count_input(GtkSpinButton *spin, double *value, gpointer user)
{
	(void)user;
	const char *text = gtk_editable_get_text(GTK_EDITABLE(spin));
	if (g_ascii_strncasecmp(text, "every", 5) != 0)
		return FALSE; /* a number: the spin button reads it */
	*value = 0;
	return TRUE;
}

static GtkWidget *labelled(const char *text, GtkWidget *w)
{
	GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	GtkWidget *l = gtk_label_new(text);
	gtk_label_set_xalign(GTK_LABEL(l), 0);
	gtk_widget_set_size_request(l, 64, -1);
	gtk_box_append(GTK_BOX(box), l);
	gtk_widget_set_hexpand(w, TRUE);
	gtk_box_append(GTK_BOX(box), w);
	return box;
}

/* The form's widgets, at the top of the panel. */
void ravscope__bp_build_form(RavscopeBreakpointsPanel *self)
{
	self->what = GTK_DROP_DOWN(gtk_drop_down_new_from_strings(what_labels));
	g_signal_connect(self->what, "notify::selected", G_CALLBACK(on_what_changed), self);
	gtk_box_append(GTK_BOX(self), labelled("Stop on", GTK_WIDGET(self->what)));

	self->cell_box = GTK_BOX(gtk_box_new(GTK_ORIENTATION_VERTICAL, 0));
	GtkWidget *row1 = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 2), *row2 = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 2);
	self->on_move = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("moves"));
	self->on_fixup = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("fix-ups"));
	self->on_free = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("freed"));
	self->on_referrer = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("new referrer"));
	gtk_check_button_set_active(self->on_move, TRUE);
	gtk_check_button_set_active(self->on_free, TRUE);
	/* two rows: the side panel stays narrow */
	gtk_box_append(GTK_BOX(row1), GTK_WIDGET(self->on_move));
	gtk_box_append(GTK_BOX(row1), GTK_WIDGET(self->on_fixup));
	gtk_box_append(GTK_BOX(row2), GTK_WIDGET(self->on_free));
	gtk_box_append(GTK_BOX(row2), GTK_WIDGET(self->on_referrer));
	gtk_box_append(self->cell_box, row1);
	gtk_box_append(self->cell_box, row2);
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->cell_box));

	self->type_dd = GTK_DROP_DOWN(gtk_drop_down_new(NULL, NULL));
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->type_dd));
	GtkStringList *kl = gtk_string_list_new(NULL);
	for (guint i = 0; i < G_N_ELEMENTS(kinds); i++)
		gtk_string_list_append(kl, kinds[i].label);
	self->kind_dd = GTK_DROP_DOWN(gtk_drop_down_new(G_LIST_MODEL(kl), NULL));
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->kind_dd));
	self->mark_entry = GTK_ENTRY(gtk_entry_new());
	gtk_entry_set_placeholder_text(self->mark_entry, "text the mark contains (empty: any mark)");
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->mark_entry));
	self->site_box = GTK_BOX(gtk_box_new(GTK_ORIENTATION_VERTICAL, 6));
	self->site_entry = GTK_ENTRY(gtk_entry_new());
	gtk_entry_set_placeholder_text(self->site_entry, "function, file.c:LINE or *0xADDRESS");
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->site_entry),
				    "Stop at events of the program's calls made there, as gdb's break takes it: "
				    "a function (its code, inlined copies too), a source line, or a call site's "
				    "address as the Sites panel and the inspector show it");
	g_signal_connect(self->site_entry, "changed", G_CALLBACK(on_site_changed), self);
	g_signal_connect(self->site_entry, "activate", G_CALLBACK(on_site_activate), self);
	gtk_box_append(self->site_box, GTK_WIDGET(self->site_entry));
	GtkStringList *skl = gtk_string_list_new(NULL);
	for (guint i = 0; i < G_N_ELEMENTS(site_kinds); i++)
		gtk_string_list_append(skl, site_kinds[i].label);
	self->site_kind_dd = GTK_DROP_DOWN(gtk_drop_down_new(G_LIST_MODEL(skl), NULL));
	g_signal_connect(self->site_kind_dd, "notify::selected", G_CALLBACK(on_site_kind_changed), self);
	gtk_box_append(self->site_box, labelled("Events", GTK_WIDGET(self->site_kind_dd)));
	gtk_box_insert_child_after(GTK_BOX(self), GTK_WIDGET(self->site_box), GTK_WIDGET(self->cell_box));

	self->thread_dd = GTK_DROP_DOWN(gtk_drop_down_new(NULL, NULL));
	gtk_box_append(GTK_BOX(self), labelled("Thread", GTK_WIDGET(self->thread_dd)));
	self->count = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(0, 1e9, 1));
	gtk_widget_set_tooltip_text(GTK_WIDGET(self->count),
				    "Stop at this hit only (0: at every hit). On a live program a call site "
				    "counts one hit per call, as gdb does, however many events the call makes; "
				    "the other conditions (and a call site searched in a trace file) count events.");
	gtk_spin_button_set_numeric(self->count, FALSE); /* (numeric takes digits only: no "every hit") */
	g_signal_connect(self->count, "output", G_CALLBACK(count_output), NULL);
	g_signal_connect(self->count, "input", G_CALLBACK(count_input), NULL);
	count_output(self->count, NULL); /* (output runs when the value changes) */
	gtk_box_append(GTK_BOX(self), labelled("Hit no.", GTK_WIDGET(self->count)));
	GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
	self->stop_all = GTK_CHECK_BUTTON(gtk_check_button_new_with_label("Stop all threads"));
	gtk_widget_set_hexpand(GTK_WIDGET(self->stop_all), TRUE);
	gtk_box_append(GTK_BOX(row), GTK_WIDGET(self->stop_all));
	self->add = GTK_BUTTON(gtk_button_new_with_mnemonic("_Add Breakpoint"));
	gtk_widget_add_css_class(GTK_WIDGET(self->add), "suggested-action");
	g_signal_connect(self->add, "clicked", G_CALLBACK(on_add), self);
	gtk_box_append(GTK_BOX(row), GTK_WIDGET(self->add));
	gtk_box_append(GTK_BOX(self), row);
	self->hint = GTK_LABEL(gtk_label_new(""));
	gtk_label_set_wrap(self->hint, TRUE);
	gtk_label_set_xalign(self->hint, 0);
	gtk_widget_add_css_class(GTK_WIDGET(self->hint), "dim-label");
	gtk_box_append(GTK_BOX(self), GTK_WIDGET(self->hint));
}
