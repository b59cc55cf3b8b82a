/* sitecells.c - the cells a set of call sites allocated, live at an event:
 * "which of the cells on the heap now did this line of my program make?".
 *
 * Cells move (a free compacts the heap), so the answer is found by
 * following them: one pass over the events up to the playhead, keeping a
 * bit per cell slot of the pages that hold such cells.  An allocation by
 * one of the sites sets its slot's bit, any other allocation, a free or a
 * trim clears it, a move carries the bit from its source to its target,
 * and a page taken from or given back to the pool loses its bits.  Moving
 * the position forward continues the pass (playback costs what it
 * plays); backward starts over.  Memory: a bitmap per page with such
 * cells, kept in a hash table by page index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "trace-private.h"

typedef struct pagebits {
	uint32_t page; /* + 1; 0: free slot */
	uint32_t live;
	uint64_t *bits;
} pagebits;

struct rav_site_cells {
	rav_trace *t;
	uint32_t *sites;
	size_t nsites;
	uint32_t cells_per_page, words;
	pagebits *tab;
	size_t cap, used;
	uint64_t pos, live;
};

static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *msg)
{
	ravt_error_set(err, code, "cells of call sites", msg);
}

rav_site_cells *rav_site_cells_new(rav_trace *t, const uint32_t *sites, size_t nsites)
{
	rav_site_cells *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->t = t;
	c->sites = malloc((nsites ? nsites : 1) * sizeof *c->sites);
	if (!c->sites) {
		free(c);
		return NULL;
	}
	if (nsites)
		memcpy(c->sites, sites, nsites * sizeof *sites);
	c->nsites = nsites;
	rav_trace_info in;
	rav_trace_get_info(t, &in);
	c->cells_per_page = in.cells_per_page ? in.cells_per_page : 128;
	c->words = (c->cells_per_page + 63) / 64;
	return c;
}

static void clear_all(rav_site_cells *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->tab[i].bits);
	free(c->tab);
	c->tab = NULL;
	c->cap = c->used = 0;
	c->live = 0;
	c->pos = 0;
}

void rav_site_cells_free(rav_site_cells *c)
{
	if (!c)
		return;
	clear_all(c);
	free(c->sites);
	free(c);
}

static size_t home(uint32_t page, size_t cap)
{
	return (size_t)((page * 2654435761u) & (cap - 1));
}

static pagebits *find(const rav_site_cells *c, uint32_t page)
{
	if (!c->cap)
		return NULL;
	for (size_t i = home(page, c->cap);; i = (i + 1) & (c->cap - 1)) {
		if (c->tab[i].page == page + 1)
			return &c->tab[i];
		if (!c->tab[i].page)
			return NULL;
	}
}

static bool grow(rav_site_cells *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 64;
	pagebits *n = calloc(ncap, sizeof *n);
	if (!n)
		return false;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->tab[i].page)
			continue;
		size_t j = home(c->tab[i].page - 1, ncap);
		while (n[j].page)
			j = (j + 1) & (ncap - 1);
		n[j] = c->tab[i];
	}
	free(c->tab);
	c->tab = n;
	c->cap = ncap;
	return true;
}

static pagebits *get(rav_site_cells *c, uint32_t page)
{
	pagebits *p = find(c, page);
	if (p)
		return p;
	if ((c->used + 1) * 2 > c->cap && !grow(c))
		return NULL;
	size_t i = home(page, c->cap);
	while (c->tab[i].page)
		i = (i + 1) & (c->cap - 1);
	p = &c->tab[i];
	p->bits = calloc(c->words, sizeof *p->bits);
	if (!p->bits)
		return NULL;
	p->page = page + 1;
	p->live = 0;
	c->used++;
	return p;
}

static bool has_site(const rav_site_cells *c, uint32_t site)
{
	size_t lo = 0, hi = c->nsites;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->sites[mid] < site)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nsites && c->sites[lo] == site;
}

static bool is_pool(rav_loc l)
{
	return l != RAV_LOC_NONE && !(l & RAV_LOC_EXTERNAL);
}

static void clear_cell(rav_site_cells *c, rav_loc l)
{
	if (!is_pool(l))
		return;
	uint32_t cell = rav_loc_cell(l);
	pagebits *p = find(c, rav_loc_page(l));
	if (!p || cell >= c->cells_per_page)
		return;
	uint64_t m = (uint64_t)1 << (cell & 63);
	if (p->bits[cell >> 6] & m) {
		p->bits[cell >> 6] &= ~m;
		p->live--;
		c->live--;
	}
}

/* false: out of memory */
static bool set_cell(rav_site_cells *c, rav_loc l)
{
	if (!is_pool(l))
		return true;
	uint32_t cell = rav_loc_cell(l);
	if (cell >= c->cells_per_page)
		return true;
	pagebits *p = get(c, rav_loc_page(l));
	if (!p)
		return false;
	uint64_t m = (uint64_t)1 << (cell & 63);
	if (!(p->bits[cell >> 6] & m)) {
		p->bits[cell >> 6] |= m;
		p->live++;
		c->live++;
	}
	return true;
}

static void clear_page(rav_site_cells *c, uint32_t page)
{
	pagebits *p = find(c, page);
	if (!p)
		return;
	c->live -= p->live;
	p->live = 0;
	memset(p->bits, 0, c->words * sizeof *p->bits);
}

static bool apply(rav_site_cells *c, const rav_event *ev)
{
	switch (ev->kind) {
	case RAV_EV_ALLOC:
		if (has_site(c, ev->site))
			return set_cell(c, ev->a);
		clear_cell(c, ev->a);
		return true;
	case RAV_EV_FREE:
	case RAV_EV_TRIM:
		clear_cell(c, ev->a);
		return true;
	case RAV_EV_MOVE: {
		bool ours = rav_site_cells_contains(c, ev->a);
		clear_cell(c, ev->a);
		clear_cell(c, ev->b);
		return !ours || set_cell(c, ev->b);
	}
	case RAV_EV_PAGE_ACQUIRE:
	case RAV_EV_PAGE_RELEASE:
		if (!(ev->a & RAV_LOC_EXTERNAL))
			clear_page(c, rav_loc_page(ev->a));
		return true;
	default:
		return true;
	}
}

int64_t rav_site_cells_seek(rav_site_cells *c, uint64_t at, rav_trace_progress progress, void *user,
                            rav_trace_error *err)
{
	uint64_t avail = rav_trace_indexed_events(c->t);
	if (at > avail)
		at = avail;
	if (at < c->pos)
		clear_all(c);
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(c->t), c->pos);
	uint64_t from = c->pos, done = 0;
	rav_event ev;
	int64_t rc = 0;
	while (c->pos < at) {
		if (!ravt_cursor_next(&cur, &ev)) {
			if (cur.failed) {
				if (err)
					*err = cur.error;
				rc = -1;
			}
			break;
		}
		if (!apply(c, &ev)) {
			set_err(err, RAV_TRACE_ENOMEM, "out of memory");
			rc = -1;
			break;
		}
		c->pos++;
		if (progress && (++done & 0xfffff) == 0 && !progress(done, at - from, user)) {
			set_err(err, RAV_TRACE_ECANCELLED, "cancelled");
			rc = -1;
			break;
		}
	}
	ravt_cursor_fini(&cur);
	if (rc < 0) {
		clear_all(c); /* half a pass would answer wrongly: start over next time */
		return -1;
	}
	return (int64_t)c->live;
}

uint64_t rav_site_cells_position(const rav_site_cells *c)
{
	return c->pos;
}

bool rav_site_cells_contains(const rav_site_cells *c, rav_loc cell)
{
	if (!is_pool(cell))
		return false;
	uint32_t n = rav_loc_cell(cell);
	const pagebits *p = find(c, rav_loc_page(cell));
	return p && n < c->cells_per_page && (p->bits[n >> 6] >> (n & 63) & 1);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

size_t rav_site_cells_list(const rav_site_cells *c, rav_loc *out, size_t max)
{
	uint32_t *pages = malloc((c->used ? c->used : 1) * sizeof *pages);
	size_t np = 0, n = 0;
	if (!pages)
		return 0;
	for (size_t i = 0; i < c->cap; i++)
		if (c->tab[i].page && c->tab[i].live)
			pages[np++] = c->tab[i].page - 1;
	qsort(pages, np, sizeof *pages, cmp_u32);
	for (size_t k = 0; k < np; k++) {
		const pagebits *p = find(c, pages[k]);
		for (uint32_t cell = 0; cell < c->cells_per_page; cell++) {
			if (!(p->bits[cell >> 6] >> (cell & 63) & 1))
				continue;
			if (n < max)
				out[n] = rav_loc_make(pages[k], cell, 0);
			n++;
		}
	}
	free(pages);
	return n;
}
