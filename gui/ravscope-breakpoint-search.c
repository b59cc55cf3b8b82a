/* ravscope-breakpoint-search.c - Run to Breakpoint on a trace: the next or
 * previous event a breakpoint of the Breakpoints panel stops at, with
 * libravtrace's searches (ravscope-breakpoints-panel.c keeps the panel).
 *
 * rav_trace_find_next/prev over the kinds a breakpoint can match, then its
 * aux, text and thread checked on each candidate; a call site is a filter
 * of the trace's sites in its code.  A cell breakpoint uses the cell's
 * history (rav_trace_cell_history, which follows it across moves); a new
 * referrer is a reference stored naming it or a reference raviolo inserted
 * in front of it, searched where the cell was between its moves.
 */
#include "ravscope-breakpoint-search.h"

#include <string.h>

#include "rav-record.h"

#define SEARCH_MAX 4000000 /* candidates one search looks at before giving up */

static guint64 kind_mask(const rav_live_break *b)
{
	switch (b->what) {
	case RAV_LIVE_BREAK_ALLOC: return 1ull << RAV_EV_ALLOC;
	case RAV_LIVE_BREAK_FREE: return 1ull << RAV_EV_FREE;
	case RAV_LIVE_BREAK_KIND: return 1ull << b->arg;
	case RAV_LIVE_BREAK_MARK: return 1ull << RAV_EV_MARK;
	case RAV_LIVE_BREAK_ERROR: return 1ull << RAV_EV_ERROR;
	default: return ~(1ull << RAV_EV_TIME);
	}
}

static gboolean candidate_matches(const rav_live_break *b, const rav_event *ev)
{
	switch (b->what) {
	case RAV_LIVE_BREAK_ALLOC: return b->arg == 0 || ev->aux == b->arg;
	case RAV_LIVE_BREAK_FREE: return ev->aux != 0 && (b->arg == 0 || ev->aux == b->arg);
	case RAV_LIVE_BREAK_KIND: return !(b->flags & RAV_LIVE_MATCH_AUX) || ev->aux == b->arg2;
	case RAV_LIVE_BREAK_MARK: return !b->text || !b->text[0] || (ev->text && strstr(ev->text, b->text));
	case RAV_LIVE_BREAK_ERROR: return b->arg == 0 || ev->aux == b->arg;
	default: return TRUE;
	}
}

static gint cmp_u64(gconstpointer a, gconstpointer b)
{
	guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
	return x < y ? -1 : x > y;
}

static gboolean same_cell(rav_loc a, rav_loc b)
{
	return rav_loc_page(a) == rav_loc_page(b) && rav_loc_cell(a) == rav_loc_cell(b);
}

/* The events giving the raviolo a new referrer, as a live program stops on
 * them: a reference stored naming it directly (ref-store, new value c),
 * or a reference raviolo inserted in front of it (refrav-insert, target b),
 * wherever it was at the time (the history's moves say where). */
static void new_referrers(rav_trace *t, const rav_cell_event *hist, unsigned n, GArray *out)
{
	for (unsigned i = 0; i < n; i++) {
		if (hist[i].kind == RAV_EV_FREE)
			break;
		/* the cell stays at hist[i].where until the next move */
		guint64 to = 0;
		for (unsigned j = i + 1; j < n && !to; j++)
			if (hist[j].kind == RAV_EV_MOVE || hist[j].kind == RAV_EV_FREE)
				to = hist[j].event;
		rav_loc here = hist[i].where;
		rav_event_filter f = { .kinds = 1ull << RAV_EV_REF_STORE | 1ull << RAV_EV_REFRAV_INSERT,
				       .thread = -1,
				       .to = to,
				       .cell = rav_loc_make(rav_loc_page(here), rav_loc_cell(here), 0) };
		guint64 from = hist[i].event;
		gint64 e;
		for (guint looked = 0; looked < SEARCH_MAX && (e = rav_trace_find_next(t, from, &f)) >= 0; looked++) {
			rav_event ev;
			if (rav_trace_event_at(t, (guint64)e, &ev) &&
			    ((ev.kind == RAV_EV_REF_STORE && same_cell(ev.c, here)) ||
			     (ev.kind == RAV_EV_REFRAV_INSERT && same_cell(ev.b, here)))) {
				guint64 u = (guint64)e;
				g_array_append_val(out, u);
			}
			from = (guint64)e + 1;
		}
		/* the next interval starts at the next move */
		while (i + 1 < n && hist[i + 1].kind != RAV_EV_MOVE && hist[i + 1].kind != RAV_EV_FREE)
			i++;
	}
}

gint64 ravscope_breakpoint_search(rav_trace *t, const rav_live_break *b, rav_loc cell, guint64 cell_at,
				  const guint32 *sites, gsize nsites, guint64 pos, guint64 n, gboolean forward,
				  gboolean *gave_up)
{
	if (b->what == RAV_LIVE_BREAK_CELL) {
		rav_cell_event hist[4096];
		unsigned total = 0;
		unsigned got = rav_trace_cell_history(t, cell, cell_at, hist, G_N_ELEMENTS(hist), &total);
		unsigned want = b->flags & 15u;
		if (!want)
			want = 15u;
		GArray *at = g_array_new(FALSE, FALSE, sizeof(guint64));
		for (unsigned i = 0; i < got; i++) {
			unsigned k = hist[i].kind;
			unsigned cond = k == RAV_EV_MOVE ? 1u : k == RAV_EV_FIXUP ? 2u : k == RAV_EV_FREE ? 4u : 0u;
			if (cond & want)
				g_array_append_val(at, hist[i].event);
		}
		if (want & RAV_LIVE_ON_REFERRER)
			new_referrers(t, hist, got, at);
		g_array_sort(at, cmp_u64);
		gint64 best = -1;
		guint64 hits = 0;
		for (guint i = 0; i < at->len; i++) {
			guint64 e = g_array_index(at, guint64, i);
			if (i && e == g_array_index(at, guint64, i - 1))
				continue;
			if (b->thread) {
				rav_event ev;
				if (!rav_trace_event_at(t, e, &ev) || ev.thread != b->thread)
					continue;
			}
			hits++;
			if (b->count && hits != b->count)
				continue;
			if (forward && e >= pos && best < 0)
				best = (gint64)e;
			if (!forward && e + 1 < pos)
				best = (gint64)e;
		}
		g_array_unref(at);
		*gave_up = got < total;
		return best;
	}
	rav_event_filter f = { .kinds = kind_mask(b), .thread = b->thread ? (gint64)b->thread : -1 };
	if (sites) {
		if (nsites == 0)
			return -1;
		f.sites = sites;
		f.nsites = nsites;
	}
	if (b->count) {
		/* the Nth hit from the start of the trace */
		guint64 hits = 0, from = 0;
		for (guint looked = 0; looked < SEARCH_MAX; looked++) {
			gint64 at = rav_trace_find_next(t, from, &f);
			if (at < 0)
				return -1;
			rav_event ev;
			if (rav_trace_event_at(t, (guint64)at, &ev) && candidate_matches(b, &ev) && ++hits == b->count)
				return (forward ? (guint64)at >= pos : (guint64)at + 1 < pos) ? at : -1;
			from = (guint64)at + 1;
		}
		*gave_up = TRUE;
		return -1;
	}
	guint64 from = forward ? pos : (pos ? pos - 1 : 0);
	if (!forward && pos == 0)
		return -1;
	for (guint looked = 0; looked < SEARCH_MAX; looked++) {
		gint64 at = forward ? rav_trace_find_next(t, from, &f) : rav_trace_find_prev(t, from, &f);
		if (at < 0 || (guint64)at >= n)
			return -1;
		rav_event ev;
		if (rav_trace_event_at(t, (guint64)at, &ev) && candidate_matches(b, &ev))
			return at;
		if (forward)
			from = (guint64)at + 1;
		else if (at == 0)
			return -1;
		else
			from = (guint64)at;
	}
	*gave_up = TRUE;
	return -1;
}

