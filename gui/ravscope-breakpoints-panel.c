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
 * A call site is resolved here, once, into ranges of the program's code
 * (rav_trace_site_spec_resolve: libdw over the trace's memory map): a
 * live program gets the ranges and compares words (it never symbolizes),
 * and on a trace the search takes the sites whose address is in them
 * (rav_trace_sites_in_ranges) as an event filter.  Ranges are run-time
 * addresses of one run: a breakpoint is resolved again for each trace the
 * panel is given (a live session's once its memory map has arrived).
 *
 * On a trace, Run to Breakpoint searches with libravtrace
 * (ravscope-breakpoint-search.c).
 *
 * Over 800 lines: one widget's form, rows, live states and call-site checks,
 * which share the Bp records; the trace search is the part that stands alone.
 */
#include "ravscope-breakpoints-panel.h"

#include <string.h>

#include "ravscope-breakpoint-search.h"
#include "ravscope-panel.h"
#include "ravscope-sites.h"


typedef struct {
	rav_live_break b;
	char *text;      /* b.text points here */
	char *label;
	rav_loc cell;    /* CELL: where it was when set, before event cell_at */
	guint64 cell_at;
	int state;       /* RAV_LIVE_BREAK_STATE_* from the program, 0 none */
	guint64 hits;
	GtkWidget *row;
	/* a call site (AT_SITE): the spec, its code in the document's trace and
	 * that trace's sites in it (sorted), redone when sites or the trace change */
	char *site_spec;
	rav_site_range *ranges;
	gsize nranges;
	guint32 *sites;
	gsize nsites;
	guint32 sites_of;      /* rav_trace_site_count when sites was taken */
	gpointer resolved_for; /* the document the ranges belong to (compared only) */
	gboolean sent;         /* given to the live program */
	gboolean waiting_map;  /* a live program's memory map has not come yet */
	char *note;            /* why a call site is not in force here (NULL: it is) */
} Bp;

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
#define WHAT_SITE 7 /* "Call site" in what_labels */

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

struct _RavscopeBreakpointsPanel {
	GtkBox parent_instance;
	GtkDropDown *what;
	GtkBox *cell_box;
	GtkCheckButton *on_move, *on_fixup, *on_free, *on_referrer;
	GtkDropDown *type_dd, *kind_dd, *thread_dd;
	GtkEntry *mark_entry;
	GtkBox *site_box;
	GtkEntry *site_entry;
	GtkDropDown *site_kind_dd;
	guint validate_source;
	guint validate_gen; /* the latest check's number (older answers are dropped) */
	GtkSpinButton *count;
	GtkCheckButton *stop_all;
	GtkButton *add;
	GtkLabel *hint;
	GtkListBox *list;
	GtkLabel *result;

	RavscopeDocument *doc;
	RavscopeLive *live;
	rav_loc selected;
	GPtrArray *bps; /* Bp */
	guint32 next_id;
	guint32 hit_id;
	GArray *type_ids, *thread_ids;
};

static void panel_iface_init(RavscopePanelInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE(RavscopeBreakpointsPanel, ravscope_breakpoints_panel, GTK_TYPE_BOX,
			      G_IMPLEMENT_INTERFACE(RAVSCOPE_TYPE_PANEL, panel_iface_init))

static void bp_free(gpointer p)
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
static void set_text(GtkLabel *label, const char *text)
{
	g_autofree char *shown = text ? ravscope_display_text(text) : NULL;
	gtk_label_set_text(label, shown ? shown : text ? text : "");
}

/* ---- call sites ------------------------------------------------------------------ */

/* The trace's sites in bp's ranges, taken again when the trace has more. */
static void update_sites(RavscopeBreakpointsPanel *self, Bp *bp)
{
	rav_trace *t = ravscope_document_get_trace(self->doc);
	guint32 count = rav_trace_site_count(t);
	if (bp->sites && bp->sites_of == count)
		return;
	gsize n = rav_trace_sites_in_ranges(t, bp->ranges, bp->nranges, NULL, 0);
	g_free(bp->sites);
	bp->sites = g_new(guint32, n ? n : 1);
	bp->nsites = rav_trace_sites_in_ranges(t, bp->ranges, bp->nranges, bp->sites, n);
	bp->sites_of = count;
}

/* Resolve spec on the document's trace into bp's ranges and sites; FALSE
 * with *error (what is wrong, in words). */
/* The function of the trace's call sites whose name, as the viewer shows
 * it (ravscope_display_text: bytes that are not UTF-8 made U+FFFD, control
 * characters made symbols), is spec, when that differs from its bytes: the
 * name as it was typed or pasted from a panel, or taken from the hint's
 * suggestions (similar_functions).  NULL if none. */
static char *function_shown_as(rav_trace *t, const char *spec)
{
	if (!spec[0] || strpbrk(spec, ":*/"))
		return NULL;
	guint32 n = rav_trace_site_count(t);
	for (guint32 id = 1; id <= n && id <= 20000; id++) {
		rav_trace_symbol sy;
		if (!rav_trace_site_call(t, id, &sy) || !sy.function)
			continue;
		g_autofree char *shown = ravscope_display_text(sy.function);
		if (shown && !strcmp(shown, spec))
			return g_strdup(sy.function);
	}
	return NULL;
}

static long resolve_ranges(rav_trace *t, const char *spec, rav_site_range **r, gsize *cap, char *err, gsize errlen)
{
	long n = rav_trace_site_spec_resolve(t, spec, *r, *cap, err, errlen);
	if (n > (long)*cap) {
		*cap = (gsize)n;
		*r = g_renew(rav_site_range, *r, *cap);
		n = rav_trace_site_spec_resolve(t, spec, *r, *cap, err, errlen);
	}
	return n;
}

static gboolean resolve_site(RavscopeBreakpointsPanel *self, Bp *bp, const char *spec, char **error)
{
	rav_trace *t = ravscope_document_get_trace(self->doc);
	char err[512];
	gsize cap = 64;
	rav_site_range *r = g_new(rav_site_range, cap);
	long n = resolve_ranges(t, spec, &r, &cap, err, sizeof err);
	if (n <= 0) {
		/* a function's name as shown rather than its bytes */
		g_autofree char *raw = function_shown_as(t, spec);
		char err2[512];
		long n2 = raw ? resolve_ranges(t, raw, &r, &cap, err2, sizeof err2) : 0;
		if (n2 > 0)
			n = n2;
	}
	if (n <= 0) {
		g_free(r);
		*error = g_strdup(n < 0 ? err : "no code");
		return FALSE;
	}
	g_free(bp->ranges);
	bp->ranges = r;
	bp->nranges = (gsize)n;
	bp->resolved_for = self->doc;
	g_clear_pointer(&bp->sites, g_free);
	update_sites(self, bp);
	return TRUE;
}

/* Functions of the trace's call sites whose name contains spec (for a
 * name that matched nothing): ", e.g. a, b, c", or "". */
static char *similar_functions(RavscopeBreakpointsPanel *self, const char *spec)
{
	if (strpbrk(spec, ":*./") || !spec[0])
		return g_strdup("");
	rav_trace *t = ravscope_document_get_trace(self->doc);
	g_autofree char *want = g_utf8_casefold(spec, -1);
	GString *out = g_string_new(NULL);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	guint32 n = rav_trace_site_count(t);
	for (guint32 id = 1; id <= n && id <= 20000 && g_hash_table_size(seen) < 4; id++) {
		rav_trace_symbol sy;
		if (!rav_trace_site_call(t, id, &sy) || !sy.function || g_hash_table_contains(seen, sy.function))
			continue;
		/* a program's bytes: made valid UTF-8 to compare and show */
		g_autofree char *shown = ravscope_display_text(sy.function);
		g_autofree char *f = g_utf8_casefold(shown ? shown : sy.function, -1);
		if (!strstr(f, want))
			continue;
		g_hash_table_add(seen, (gpointer)sy.function);
		g_string_append_printf(out, "%s%s", out->len ? ", " : " Functions with calls here: ",
				       shown ? shown : sy.function);
	}
	if (out->len)
		g_string_append(out, ".");
	return g_string_free(out, FALSE);
}

/* What the form says of spec: how many call sites of the trace it holds
 * (the first named), or what is wrong.  FALSE: it cannot be added.  With
 * into, the resolution is kept there. */
static gboolean site_message(RavscopeBreakpointsPanel *self, const char *spec, const Bp *bp, const char *error,
			     char **msg)
{
	gboolean ok = FALSE;
	rav_trace *t = ravscope_document_get_trace(self->doc);
	if (error) {
		g_autofree char *like = similar_functions(self, spec);
		*msg = g_strdup_printf("%s.%s", error, like);
	} else if (self->live && bp->nranges > RAV_LIVE_SITE_RANGES_MAX) {
		*msg = g_strdup_printf("%s is %" G_GSIZE_FORMAT " separate pieces of code; a running program takes at "
				       "most %u: name one line (FILE:LINE) instead.",
				       spec, bp->nranges, RAV_LIVE_SITE_RANGES_MAX);
	} else if (bp->nsites == 0 && !self->live) {
		g_autofree char *like = similar_functions(self, spec);
		*msg = g_strdup_printf("No call site in this trace resolves to %s: its code made no engine call "
				       "here.%s",
				       spec, like);
	} else if (bp->nsites == 0) {
		*msg = g_strdup_printf("No call of %s seen yet: the program stops when one happens.", spec);
		ok = TRUE;
	} else {
		GString *m = g_string_new(NULL);
		g_string_append_printf(m, "%" G_GSIZE_FORMAT " call site%s in this trace: ", bp->nsites,
				       bp->nsites == 1 ? "" : "s");
		for (gsize i = 0; i < bp->nsites && i < 2; i++) {
			g_autofree char *l = ravscope_site_label(t, bp->sites[i]);
			g_string_append_printf(m, "%s%s", i ? ", " : "", l);
		}
		if (bp->nsites > 2)
			g_string_append(m, ", …");
		*msg = g_string_free(m, FALSE);
		ok = TRUE;
	}
	return ok;
}

static gboolean check_site(RavscopeBreakpointsPanel *self, const char *spec, Bp *into, char **msg)
{
	Bp tmp = { 0 };
	Bp *bp = into ? into : &tmp;
	g_autofree char *error = NULL;
	gboolean resolved = resolve_site(self, bp, spec, &error);
	gboolean ok = site_message(self, spec, bp, resolved ? NULL : error, msg);
	if (bp == &tmp) {
		g_free(tmp.ranges);
		g_free(tmp.sites);
	}
	return ok;
}

/* A call-site breakpoint resolved for the current document (again after
 * the document changed: another run, other addresses).  FALSE: not in
 * force here, bp->note says why. */
static gboolean ensure_site(RavscopeBreakpointsPanel *self, Bp *bp)
{
	if (!bp->site_spec)
		return TRUE;
	if (!self->doc)
		return FALSE;
	if (bp->resolved_for == self->doc && bp->ranges) {
		update_sites(self, bp);
		return TRUE;
	}
	char *error = NULL;
	g_clear_pointer(&bp->note, g_free);
	if (!resolve_site(self, bp, bp->site_spec, &error)) {
		bp->waiting_map = self->live && rav_trace_object_count(ravscope_document_get_trace(self->doc)) == 0;
		bp->note = bp->waiting_map ? g_strdup("waiting for the program's memory map") : error;
		if (bp->note != error)
			g_free(error);
		return FALSE;
	}
	return TRUE;
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
	if (!ensure_site(self, bp))
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

static void add_bp(RavscopeBreakpointsPanel *self, Bp *bp)
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

/* ---- the form ------------------------------------------------------------------- */

static void update_form(RavscopeBreakpointsPanel *self)
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
		set_text(self->hint, "Select a cell in the heap view first.");
	else if (w == 0 && self->live)
		set_text(self->hint, "In a running program, pause first: the cell is where the view shows it.");
	else if (w == WHAT_SITE)
		; /* the call site's check says what it matches (validate_site) */
	else
		set_text(self->hint, "");
}

/* The call site typed so far, checked against the trace a moment after
 * the last key, on a worker thread: a check reads debug information (a
 * few hundred ms for a small program) and the window must not wait. */
typedef struct {
	RavscopeDocument *doc;
	char *spec;
	guint gen;
	rav_site_range *r;
	long n;
	char err[512];
} SiteCheck;

static void site_check_free(gpointer p)
{
	SiteCheck *c = p;
	g_clear_object(&c->doc);
	g_free(c->spec);
	g_free(c->r);
	g_free(c);
}

static void site_check_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
	SiteCheck *c = data;
	rav_trace *t = ravscope_document_get_trace(c->doc);
	long cap = 64;
	c->r = g_new(rav_site_range, cap);
	c->n = rav_trace_site_spec_resolve(t, c->spec, c->r, (size_t)cap, c->err, sizeof c->err);
	if (c->n > cap) {
		c->r = g_renew(rav_site_range, c->r, (gsize)c->n);
		c->n = rav_trace_site_spec_resolve(t, c->spec, c->r, (size_t)c->n, c->err, sizeof c->err);
	}
	g_task_return_boolean(task, TRUE);
}

static void show_check(RavscopeBreakpointsPanel *self, gboolean ok, const char *msg)
{
	set_text(self->hint, msg);
	if (ok)
		gtk_widget_remove_css_class(GTK_WIDGET(self->site_entry), "error");
	else
		gtk_widget_add_css_class(GTK_WIDGET(self->site_entry), "error");
}

static void site_check_done(GObject *source, GAsyncResult *res, gpointer user)
{
	RavscopeBreakpointsPanel *self = user;
	SiteCheck *c = g_task_get_task_data(G_TASK(res));
	/* only the latest check, for the document it was made on */
	if (self->bps && c->gen == self->validate_gen && c->doc == self->doc &&
	    gtk_drop_down_get_selected(self->what) == WHAT_SITE) {
		Bp tmp = { 0 };
		if (c->n > 0) {
			tmp.ranges = c->r;
			tmp.nranges = (gsize)c->n;
			c->r = NULL;
			update_sites(self, &tmp);
		}
		g_autofree char *msg = NULL;
		gboolean ok = site_message(self, c->spec, &tmp, c->n > 0 ? NULL : c->n < 0 ? c->err : "no code", &msg);
		show_check(self, ok, msg);
		g_free(tmp.ranges);
		g_free(tmp.sites);
	}
	g_object_unref(self);
}

static gboolean validate_site(gpointer data)
{
	RavscopeBreakpointsPanel *self = data;
	self->validate_source = 0;
	self->validate_gen++;
	if (!self->doc || gtk_drop_down_get_selected(self->what) != WHAT_SITE)
		return G_SOURCE_REMOVE;
	const char *spec = gtk_editable_get_text(GTK_EDITABLE(self->site_entry));
	if (!spec[0]) {
		show_check(self, TRUE, "A function (list_push), a line (list.c:42) or an address (*0x4011d6).");
		return G_SOURCE_REMOVE;
	}
	set_text(self->hint, "Looking it up in the program's debug information…");
	SiteCheck *c = g_new0(SiteCheck, 1);
	c->doc = g_object_ref(self->doc);
	c->spec = g_strstrip(g_strdup(spec));
	c->gen = self->validate_gen;
	GTask *task = g_task_new(NULL, NULL, site_check_done, g_object_ref(self));
	g_task_set_task_data(task, c, site_check_free);
	g_task_run_in_thread(task, site_check_thread);
	g_object_unref(task);
	return G_SOURCE_REMOVE;
}

static void on_site_changed(GtkEditable *e, RavscopeBreakpointsPanel *self)
{
	if (self->validate_source)
		g_source_remove(self->validate_source);
	self->validate_source = g_timeout_add(300, validate_site, self);
}

static void on_what_changed(GObject *o, GParamSpec *pspec, RavscopeBreakpointsPanel *self)
{
	update_form(self);
	if (gtk_drop_down_get_selected(self->what) == WHAT_SITE)
		validate_site(self);
}

static void fill_choices(RavscopeBreakpointsPanel *self)
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
		} else if (!check_site(self, spec, bp, &msg)) {
			*error = msg;
			bp_free(bp);
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
	add_bp(self, bp);
	if (bp->site_spec)
		gtk_widget_set_tooltip_text(bp->row, bp->site_spec);
	return bp->b.id;
}

static void on_add(GtkButton *button, RavscopeBreakpointsPanel *self)
{
	g_autofree char *error = NULL;
	if (!add_from_form(self, &error) && error)
		set_text(self->hint, error);
}

static void on_site_activate(GtkEntry *e, RavscopeBreakpointsPanel *self)
{
	on_add(self->add, self);
}

static void on_site_kind_changed(GObject *o, GParamSpec *pspec, RavscopeBreakpointsPanel *self)
{
	update_form(self);
}

/* ---- run to breakpoint (any trace: ravscope-breakpoint-search.c) ---------------- */

static gint64 search_one(RavscopeBreakpointsPanel *self, Bp *bp, gboolean forward, gboolean *gave_up)
{
	if (bp->site_spec && !ensure_site(self, bp))
		return -1;
	return ravscope_breakpoint_search(ravscope_document_get_trace(self->doc), &bp->b, bp->cell, bp->cell_at,
					  bp->site_spec ? bp->sites : NULL, bp->nsites,
					  ravscope_document_get_position(self->doc),
					  ravscope_document_get_event_count(self->doc), forward, gave_up);
}

gboolean ravscope_breakpoints_panel_run(RavscopeBreakpointsPanel *self, gboolean forward)
{
	if (!self->doc || self->bps->len == 0) {
		set_text(self->result, self->doc ? "No breakpoints: add one above." : "");
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
		set_text(self->result, gave_up ? "Not found within the part of the trace searched."
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
	set_text(self->result, msg);
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
	update_form(self);
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
		update_sites(self, bp);
	g_autofree char *sites = NULL;
	if (bp->nsites)
		site_message(self, spec, bp, NULL, &sites);
	g_autofree char *msg = g_strdup_printf("Hit %llu time%s in this run%s%s", (unsigned long long)bp->hits,
					       bp->hits == 1 ? "" : "s", sites ? ": " : ".", sites ? sites : "");
	show_check(self, TRUE, msg);
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
	set_text(self->hint, id ? "" : err);
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
			ensure_site(self, bp);
			update_row(self, bp);
		}
	}
	self->selected = RAV_LOC_NONE;
	self->hit_id = 0;
	set_text(self->result, "");
	fill_choices(self);
	update_form(self);
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
			fill_choices(self);
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
	update_form(self);
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

static void ravscope_breakpoints_panel_init(RavscopeBreakpointsPanel *self)
{
	self->bps = g_ptr_array_new_with_free_func(bp_free);
	self->type_ids = g_array_new(FALSE, FALSE, sizeof(guint16));
	self->thread_ids = g_array_new(FALSE, FALSE, sizeof(guint32));
	gtk_orientable_set_orientation(GTK_ORIENTABLE(self), GTK_ORIENTATION_VERTICAL);
	gtk_box_set_spacing(GTK_BOX(self), 6);
	gtk_widget_set_margin_start(GTK_WIDGET(self), 8);
	gtk_widget_set_margin_end(GTK_WIDGET(self), 8);
	gtk_widget_set_margin_top(GTK_WIDGET(self), 8);
	gtk_widget_set_margin_bottom(GTK_WIDGET(self), 8);

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
	update_form(self);
}
