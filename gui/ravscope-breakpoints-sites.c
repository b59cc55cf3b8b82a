/* ravscope-breakpoints-sites.c - the Breakpoints panel's call sites.
 *
 * A call site is resolved here, once, into ranges of the program's code
 * (rav_trace_site_spec_resolve: libdw over the trace's memory map): a
 * live program gets the ranges and compares words (it never symbolizes),
 * and on a trace the search takes the sites whose address is in them
 * (rav_trace_sites_in_ranges) as an event filter.  Ranges are run-time
 * addresses of one run: a breakpoint is resolved again for each trace the
 * panel is given (a live session's once its memory map has arrived).
 * The form's entry is checked as one types, on a worker thread.
 */
#include "ravscope-breakpoints-private.h"

#include <string.h>

#include "ravscope-sites.h"

/* ---- call sites ------------------------------------------------------------------ */

/* The trace's sites in bp's ranges, taken again when the trace has more. */
void ravscope__bp_update_sites(RavscopeBreakpointsPanel *self, Bp *bp)
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
	ravscope__bp_update_sites(self, bp);
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
gboolean ravscope__bp_site_message(RavscopeBreakpointsPanel *self, const char *spec, const Bp *bp,
				   const char *error, char **msg)
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

gboolean ravscope__bp_check_site(RavscopeBreakpointsPanel *self, const char *spec, Bp *into, char **msg)
{
	Bp tmp = { 0 };
	Bp *bp = into ? into : &tmp;
	g_autofree char *error = NULL;
	gboolean resolved = resolve_site(self, bp, spec, &error);
	gboolean ok = ravscope__bp_site_message(self, spec, bp, resolved ? NULL : error, msg);
	if (bp == &tmp) {
		g_free(tmp.ranges);
		g_free(tmp.sites);
	}
	return ok;
}

/* A call-site breakpoint resolved for the current document (again after
 * the document changed: another run, other addresses).  FALSE: not in
 * force here, bp->note says why. */
gboolean ravscope__bp_ensure_site(RavscopeBreakpointsPanel *self, Bp *bp)
{
	if (!bp->site_spec)
		return TRUE;
	if (!self->doc)
		return FALSE;
	if (bp->resolved_for == self->doc && bp->ranges) {
		ravscope__bp_update_sites(self, bp);
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

void ravscope__bp_show_check(RavscopeBreakpointsPanel *self, gboolean ok, const char *msg)
{
	ravscope__bp_set_text(self->hint, msg);
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
			ravscope__bp_update_sites(self, &tmp);
		}
		g_autofree char *msg = NULL;
		gboolean ok = ravscope__bp_site_message(self, c->spec, &tmp, c->n > 0 ? NULL : c->n < 0 ? c->err : "no code", &msg);
		ravscope__bp_show_check(self, ok, msg);
		g_free(tmp.ranges);
		g_free(tmp.sites);
	}
	g_object_unref(self);
}

gboolean ravscope__bp_validate_site(gpointer data)
{
	RavscopeBreakpointsPanel *self = data;
	self->validate_source = 0;
	self->validate_gen++;
	if (!self->doc || gtk_drop_down_get_selected(self->what) != WHAT_SITE)
		return G_SOURCE_REMOVE;
	const char *spec = gtk_editable_get_text(GTK_EDITABLE(self->site_entry));
	if (!spec[0]) {
		ravscope__bp_show_check(self, TRUE, "A function (list_push), a line (list.c:42) or an address (*0x4011d6).");
		return G_SOURCE_REMOVE;
	}
	ravscope__bp_set_text(self->hint, "Looking it up in the program's debug information…");
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
