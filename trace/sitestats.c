/* sitestats.c - call sites ranked (heaptrack's "top" lists for ravioli):
 * allocations, frees, the moves and fix-ups each site's calls caused,
 * pages its sends and receives handed over, and cache-line transfers of
 * its accesses (from a contention model run over the same range).
 *
 * One pass over the range with a cursor; every event carries the site of
 * the call that did or caused it, so the counting is a table lookup per
 * event.  Rows are lines of the program by default: the sites that
 * resolve to one function, file and line count together (copies of an
 * inlined function, stacks that differ in their callers), or call sites
 * (addresses), or stacks.  The CLI and the viewer both show these rows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "trace-private.h"

/* Rows stay where they were made; the order is an index over them. */
struct rav_site_stats {
	rav_site_row *rows;
	unsigned nrows;
	uint32_t *order;  /* position -> row */
	uint32_t *pos;    /* row -> position */
	uint32_t *row_of; /* site -> row + 1 (0: no row) */
	uint32_t nsites;
	rav_site_row unknown, all;
};

static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *msg)
{
	ravt_error_set(err, code, "call sites", msg);
}

static inline void count(rav_site_row *r, const rav_event *ev)
{
	r->events++;
	switch (ev->kind) {
	case RAV_EV_ALLOC:
		r->allocs++;
		break;
	case RAV_EV_FREE:
		r->frees += ev->aux != 0;
		break;
	case RAV_EV_MOVE:
		r->moves++;
		break;
	case RAV_EV_FIXUP:
		r->fixups++;
		break;
	case RAV_EV_MSG_SEND:
		r->pages_sent += ev->b;
		break;
	case RAV_EV_PAGE_HANDOFF:
		r->pages_received++;
		break;
	default:
		break;
	}
}

static void add_row(rav_site_row *to, const rav_site_row *r)
{
	to->events += r->events;
	to->allocs += r->allocs;
	to->frees += r->frees;
	to->moves += r->moves;
	to->fixups += r->fixups;
	to->pages_sent += r->pages_sent;
	to->pages_received += r->pages_received;
	to->transfers += r->transfers;
}

/* Rows: one per site, per call site (same object and offset of frame 0),
 * or per line (same function, file and line of the call's symbol: the
 * symbolizer's strings are interned, so pointers compare; unresolved
 * calls by object and offset). */
typedef struct callkey {
	const void *a, *b;
	uint64_t c, d;
	uint32_t row;
} callkey;

static int cmp_callkey(const void *pa, const void *pb)
{
	const callkey *x = pa, *y = pb;
	if (x->a != y->a)
		return (uintptr_t)x->a < (uintptr_t)y->a ? -1 : 1;
	if (x->b != y->b)
		return (uintptr_t)x->b < (uintptr_t)y->b ? -1 : 1;
	if (x->c != y->c)
		return x->c < y->c ? -1 : 1;
	return x->d < y->d ? -1 : x->d > y->d;
}

/* The same, then by site (kept in row while the keys are sorted). */
static int cmp_callkey_site(const void *pa, const void *pb)
{
	int c = cmp_callkey(pa, pb);
	if (c)
		return c;
	const callkey *x = pa, *y = pb;
	return (x->row > y->row) - (x->row < y->row);
}

static bool key_of(rav_trace *t, uint32_t site, rav_site_grouping g, callkey *k)
{
	memset(k, 0, sizeof *k);
	rav_trace_frame f;
	if (rav_trace_site_frames(t, site, &f, 1) < 1)
		return false;
	rav_trace_symbol sy;
	if (g == RAV_SITES_BY_LINE && rav_trace_site_call(t, site, &sy) && sy.file) {
		k->a = sy.function;
		k->b = sy.file;
		k->c = sy.line;
		k->d = 1;
		return true;
	}
	k->c = (uint64_t)(int64_t)f.object;
	k->d = f.offset << 1;
	return true;
}

rav_site_stats *rav_site_stats_run(rav_trace *t, const rav_site_stats_config *cfg, rav_trace_progress progress,
                                   void *user, rav_trace_error *err)
{
	uint64_t avail = rav_trace_indexed_events(t);
	uint64_t from = cfg ? cfg->from : 0, to = cfg && cfg->to ? cfg->to : avail;
	if (to > avail)
		to = avail;
	if (from > to)
		from = to;
	rav_site_stats *s = calloc(1, sizeof *s);
	uint32_t nsites = rav_trace_site_count(t);
	if (s) {
		s->nsites = nsites;
		s->row_of = calloc((size_t)nsites + 1, sizeof *s->row_of);
	}
	/* per-site counters first; rows are made from them afterwards */
	rav_site_row *per = calloc((size_t)nsites + 1, sizeof *per);
	if (!s || !s->row_of || !per) {
		free(per);
		rav_site_stats_free(s);
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return NULL;
	}
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(t), from);
	uint64_t done = 0, span = to - from;
	rav_event ev;
	bool ok = true;
	while (from + done < to) {
		if (!ravt_cursor_next(&cur, &ev)) {
			if (cur.failed) {
				if (err)
					*err = cur.error;
				ok = false;
			}
			break;
		}
		done++;
		/* a stream may have named more sites since the count was taken */
		count(&per[ev.site <= nsites ? ev.site : 0], &ev);
		if (progress && (done & 0xfffff) == 0 && !progress(done, span, user)) {
			set_err(err, RAV_TRACE_ECANCELLED, "cancelled");
			ok = false;
			break;
		}
	}
	ravt_cursor_fini(&cur);
	if (!ok) {
		free(per);
		rav_site_stats_free(s);
		return NULL;
	}
	const rav_contention *con = cfg ? cfg->contention : NULL;
	for (uint32_t i = 0; con && i <= nsites; i++)
		per[i].transfers = rav_contention_site(con, i);
	s->unknown = per[0];
	s->unknown.site = 0;
	s->all = per[0];
	unsigned used = 0;
	for (uint32_t i = 1; i <= nsites; i++) {
		add_row(&s->all, &per[i]);
		used += per[i].events || per[i].transfers;
	}
	s->rows = calloc(used ? used : 1, sizeof *s->rows);
	s->order = calloc(used ? used : 1, sizeof *s->order);
	s->pos = calloc(used ? used : 1, sizeof *s->pos);
	rav_site_grouping group = cfg ? cfg->group : RAV_SITES_BY_LINE;
	callkey *keys = group == RAV_SITES_BY_STACK ? NULL : calloc(used ? used : 1, sizeof *keys);
	if (!s->rows || !s->order || !s->pos || (!keys && group != RAV_SITES_BY_STACK)) {
		free(per);
		free(keys);
		rav_site_stats_free(s);
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return NULL;
	}
	/* The sites that share a key: sorted once (a program, or a file, may
	 * name hundreds of thousands of sites, so no insertion into a sorted
	 * array per site), each group led by its smallest site, so that rows
	 * are made in site order as the sites are visited below. */
	unsigned nkeys = 0;
	uint32_t *leader = keys ? calloc((size_t)nsites + 1, sizeof *leader) : NULL;
	if (keys && !leader) {
		free(per);
		free(keys);
		rav_site_stats_free(s);
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return NULL;
	}
	for (uint32_t i = 1; keys && i <= nsites; i++) {
		callkey k;
		if ((per[i].events || per[i].transfers) && key_of(t, i, group, &k)) {
			k.row = i; /* the site, until the groups are known */
			keys[nkeys++] = k;
		}
	}
	if (nkeys)
		qsort(keys, nkeys, sizeof *keys, cmp_callkey_site);
	for (unsigned j = 0; j < nkeys; j++)
		leader[keys[j].row] = j > 0 && cmp_callkey(&keys[j - 1], &keys[j]) == 0 ? leader[keys[j - 1].row]
		                                                                       : keys[j].row;
	for (uint32_t i = 1; i <= nsites; i++) {
		if (!per[i].events && !per[i].transfers)
			continue;
		if (leader && leader[i] && leader[i] != i) {
			/* the leader's row was made when it was visited */
			rav_site_row *r = &s->rows[s->row_of[leader[i]] - 1];
			if (per[i].events > per[r->site].events)
				r->site = i;
			add_row(r, &per[i]);
			r->stacks++;
			s->row_of[i] = s->row_of[leader[i]];
			continue;
		}
		rav_site_row *r = &s->rows[s->nrows];
		*r = per[i];
		r->site = i;
		r->stacks = 1;
		s->row_of[i] = ++s->nrows;
	}
	free(leader);
	free(keys);
	free(per);
	for (unsigned i = 0; i < s->nrows; i++)
		s->order[i] = s->pos[i] = i;
	rav_site_stats_sort(s, RAV_SITES_BY_ALLOCS);
	if (progress)
		progress(done, span, user);
	return s;
}

uint64_t rav_site_row_metric(const rav_site_row *r, rav_site_order by)
{
	switch (by) {
	case RAV_SITES_BY_FREES:
		return r->frees;
	case RAV_SITES_BY_MOVES:
		return r->moves;
	case RAV_SITES_BY_FIXUPS:
		return r->fixups;
	case RAV_SITES_BY_HANDOFFS:
		return r->pages_sent + r->pages_received;
	case RAV_SITES_BY_TRANSFERS:
		return r->transfers;
	case RAV_SITES_BY_EVENTS:
		return r->events;
	default:
		return r->allocs;
	}
}

static int cmp_rows(const rav_site_row *a, const rav_site_row *b, rav_site_order by)
{
	uint64_t ma = rav_site_row_metric(a, by), mb = rav_site_row_metric(b, by);
	if (ma != mb)
		return ma < mb ? 1 : -1;
	if (a->events != b->events)
		return a->events < b->events ? 1 : -1;
	return a->site < b->site ? -1 : a->site > b->site;
}

/* Merge sort of the order (qsort has no context argument in C11). */
static void sort_order(const rav_site_row *rows, uint32_t *o, uint32_t *tmp, unsigned n, rav_site_order by)
{
	if (n < 2)
		return;
	unsigned h = n / 2;
	sort_order(rows, o, tmp, h, by);
	sort_order(rows, o + h, tmp, n - h, by);
	unsigned i = 0, j = h, k = 0;
	while (i < h && j < n)
		tmp[k++] = cmp_rows(&rows[o[j]], &rows[o[i]], by) < 0 ? o[j++] : o[i++];
	while (i < h)
		tmp[k++] = o[i++];
	while (j < n)
		tmp[k++] = o[j++];
	memcpy(o, tmp, n * sizeof *o);
}

void rav_site_stats_sort(rav_site_stats *s, rav_site_order by)
{
	uint32_t *tmp = malloc((s->nrows ? s->nrows : 1) * sizeof *tmp);
	if (!tmp)
		return; /* out of memory: the previous order stays */
	sort_order(s->rows, s->order, tmp, s->nrows, by);
	free(tmp);
	for (unsigned i = 0; i < s->nrows; i++)
		s->pos[s->order[i]] = i;
}

void rav_site_stats_free(rav_site_stats *s)
{
	if (!s)
		return;
	free(s->rows);
	free(s->order);
	free(s->pos);
	free(s->row_of);
	free(s);
}

unsigned rav_site_stats_count(const rav_site_stats *s)
{
	return s->nrows;
}

const rav_site_row *rav_site_stats_row(const rav_site_stats *s, unsigned i)
{
	return i < s->nrows ? &s->rows[s->order[i]] : NULL;
}

void rav_site_stats_totals(const rav_site_stats *s, rav_site_row *unknown, rav_site_row *all)
{
	if (unknown)
		*unknown = s->unknown;
	if (all)
		*all = s->all;
}

int64_t rav_site_stats_find(const rav_site_stats *s, uint32_t site)
{
	if (site == 0 || site > s->nsites || !s->row_of[site])
		return -1;
	return s->pos[s->row_of[site] - 1];
}

size_t rav_site_stats_sites_of(const rav_site_stats *s, unsigned i, uint32_t *out, size_t max)
{
	if (i >= s->nrows)
		return 0;
	uint32_t row = s->order[i] + 1;
	size_t n = 0;
	for (uint32_t site = 1; site <= s->nsites; site++) {
		if (s->row_of[site] != row)
			continue;
		if (n < max)
			out[n] = site;
		n++;
	}
	return n;
}
