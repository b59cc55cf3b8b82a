/* export-sqlite-cells.c - the cells table of the SQLite export: one row per
 * life of a cell, followed across its moves (export-sqlite.c says how, and
 * why memory stays bounded by the recorded heap).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export-sqlite-private.h"

/* ---- Cell lives ------------------------------------------------------------ */

/* The entry of a page index, if its chunk exists (page 0 is a page like
 * any other: page events name it with location 0, which for cells means
 * "none"). */
static page_entry *entry_of(const exporter *x, uint32_t page)
{
	if (page >= MAX_PAGE_INDEX || !x->dir || !x->dir[page >> DIR_SHIFT])
		return NULL;
	return &x->dir[page >> DIR_SHIFT][page & (DIR_PAGES - 1)];
}

/* The entry of a page index, made if `create`; listed as used. */
static page_entry *page_at(exporter *x, uint32_t page, bool create)
{
	page_entry *p = entry_of(x, page);
	if (!p) {
		if (!create)
			return NULL;
		if (page >= MAX_PAGE_INDEX) {
			cli_sqlite_failf(x, "page index %u is beyond any ravioli pool", page);
			return NULL;
		}
		if (!x->dir && !(x->dir = calloc(DIR_CHUNKS, sizeof *x->dir))) {
			cli_sqlite_failf(x, "out of memory for the page directory");
			return NULL;
		}
		page_entry **chunk = &x->dir[page >> DIR_SHIFT];
		if (!(*chunk = calloc(DIR_PAGES, sizeof **chunk))) {
			cli_sqlite_failf(x, "out of memory for a table of %u pages", DIR_PAGES);
			return NULL;
		}
		p = &(*chunk)[page & (DIR_PAGES - 1)];
	}
	if (!p->listed) {
		if (x->nused == x->used_cap) {
			size_t cap = x->used_cap ? x->used_cap * 2 : 256;
			uint32_t *grown = realloc(x->used, cap * sizeof *grown);
			if (!grown) {
				cli_sqlite_failf(x, "out of memory for the list of pages in use");
				return NULL;
			}
			x->used = grown;
			x->used_cap = cap;
		}
		x->used[x->nused++] = page;
		p->listed = true;
	}
	return p;
}

/* The life in the slot of `loc`, or NULL (no page, cell out of range). */
static life *slot_at(exporter *x, rav_loc loc, bool create)
{
	if (loc == RAV_LOC_NONE || (loc & RAV_LOC_EXTERNAL))
		return NULL;
	page_entry *p = page_at(x, rav_loc_page(loc), create);
	uint32_t cell = rav_loc_cell(loc);
	if (!p || cell >= x->cells_per_page)
		return NULL;
	if (!p->groups) {
		if (!create)
			return NULL;
		p->groups = calloc(x->groups_per_page, sizeof *p->groups);
		if (!p->groups) {
			cli_sqlite_failf(x, "out of memory for the cells of a page");
			return NULL;
		}
	}
	life **group = &p->groups[cell / GROUP_CELLS];
	if (!*group) {
		if (!create)
			return NULL;
		*group = calloc(GROUP_CELLS, sizeof **group);
		if (!*group) {
			cli_sqlite_failf(x, "out of memory for the cells of a page");
			return NULL;
		}
	}
	return &(*group)[cell % GROUP_CELLS];
}

static void end_life(exporter *x, life *l, rav_loc where, const rav_event *ev, const char *how)
{
	bind_i64(x, ST_CELL, 1, l->id);
	bind_i64(x, ST_CELL, 2, l->type);
	x->types_used[l->type / 64] |= (uint64_t)1 << (l->type % 64);
	bind_i64(x, ST_CELL, 3, l->heap);
	bind_i64(x, ST_CELL, 4, l->thread);
	bind_u64(x, ST_CELL, 5, l->alloc_event);
	if (ev)
		bind_u64(x, ST_CELL, 6, ev->index);
	else
		sqlite3_bind_null(x->st[ST_CELL], 6);
	bind_text(x, ST_CELL, 7, how);
	bind_i64(x, ST_CELL, 8, l->moves);
	bind_i64(x, ST_CELL, 9, rav_loc_page(l->first));
	bind_i64(x, ST_CELL, 10, rav_loc_cell(l->first));
	bind_i64(x, ST_CELL, 11, rav_loc_page(where));
	bind_i64(x, ST_CELL, 12, rav_loc_cell(where));
	bind_site(x, ST_CELL, 13, l->alloc_site);
	bind_site(x, ST_CELL, 14, ev ? ev->site : 0);
	cli_sqlite_insert(x, ST_CELL);
	x->cells_written++;
	l->id = 0;
}

/* Vacate a slot; its life ends here unless how is NULL (it lives on
 * elsewhere: a move).  The page's records stay until release_if_empty. */
static void clear_slot(exporter *x, page_entry *p, life *l, rav_loc where, const rav_event *ev,
                       const char *how)
{
	if (!l->id)
		return;
	if (how)
		end_life(x, l, where, ev, how);
	l->id = 0;
	p->live--;
}

static void release_if_empty(exporter *x, page_entry *p)
{
	if (p && p->groups && p->live == 0) {
		for (uint32_t g = 0; g < x->groups_per_page; g++)
			free(p->groups[g]);
		free(p->groups);
		p->groups = NULL;
	}
}

/* Every cell of a page ends (the page went back to the pool, or was taken
 * anew, which a consistent trace only does with no cell in it). */
static void end_page(exporter *x, uint32_t page, const rav_event *ev, const char *how)
{
	page_entry *p = page_at(x, page, false);
	if (!p || !p->groups)
		return;
	for (uint32_t c = 0; c < x->cells_per_page; c++) {
		life *l = p->groups[c / GROUP_CELLS];
		if (l)
			clear_slot(x, p, &l[c % GROUP_CELLS], rav_loc_make(page, c, 0), ev, how);
	}
	release_if_empty(x, p);
}

/* Replay steps forward to a snapshot rather than seeking when it is this
 * close (a seek replays from the nearest keyframe anyway). */
#define SNAP_STEP_MAX 1000000u

/* The replay to a snapshot failed.  Where the trace is inconsistent (a
 * snapshot the heap model refuses: a page listed twice, a page another
 * heap owns), the export goes on as for any inconsistent trace, without
 * the cells of this and later snapshots (the state cannot go past the
 * problem), and meta.error says why; anything else stops it. */
static void snapshot_failed(exporter *x, const rav_event *ev, const rav_trace_error *err)
{
	rav_trace_error bad;
	if (err->code == RAV_TRACE_EREPLAY && !rav_trace_consistent(x->t, &bad)) {
		x->snap_broken = true;
		return;
	}
	cli_sqlite_failf(x, "replaying to the snapshot at event %" PRIu64 ": %s", ev->index,
	                 err->message[0] ? err->message : "the trace ends first");
}

/* A SNAPSHOT event of a heap: a life for each cell the heap holds after
 * it.  The cells take the event's index as alloc_event. */
static void snapshot_heap(exporter *x, const rav_event *ev)
{
	rav_trace_error err = {0};
	if (x->snap_broken)
		return;
	if (!x->snap && !(x->snap = rav_state_new(x->t))) {
		cli_sqlite_failf(x, "out of memory for the replay state of a snapshot");
		return;
	}
	uint64_t want = ev->index + 1, pos = rav_state_position(x->snap);
	if (pos > want || want - pos > SNAP_STEP_MAX) {
		if (rav_state_seek(x->snap, want, &err) != 0) {
			snapshot_failed(x, ev, &err);
			return;
		}
	}
	while (rav_state_position(x->snap) < want) {
		if (!rav_state_step(x->snap, NULL, &err)) {
			snapshot_failed(x, ev, &err);
			return;
		}
	}
	rav_state_heap h = {0};
	bool found = false;
	for (unsigned i = 0, n = rav_state_heap_count(x->snap); i < n && !found; i++)
		found = rav_state_heap_at(x->snap, i, &h) && h.id == ev->x;
	if (!found)
		return;
	for (uint32_t i = 0; i < h.page_count && !x->failed; i++) {
		uint32_t page = h.pages[i];
		end_page(x, page, ev, "overwritten"); /* not in a consistent trace */
		page_entry *p = page_at(x, page, true);
		if (!p)
			return;
		p->owner = ev->x;
		for (uint32_t c = 1; c < x->cells_per_page; c++) {
			rav_state_cell cell;
			if (!rav_state_cell_at(x->snap, page, c, &cell) || cell.state != RAV_CELL_LIVE ||
			    cell.type == RAV_TYPE_REF)
				continue;
			rav_loc at = rav_loc_make(page, c, 0);
			life *l = slot_at(x, at, true);
			if (!l)
				return;
			*l = (life){.id = x->next_cell_id++,
			            .alloc_event = ev->index,
			            .first = at,
			            .heap = ev->x,
			            .thread = ev->thread,
			            .type = cell.type};
			p->live++;
		}
	}
}

void cli_sqlite_track_cells(exporter *x, const rav_event *ev)
{
	if (ev->kind == RAV_EV_SNAPSHOT) {
		if (ev->aux == RAV_SNAP_HEAP)
			snapshot_heap(x, ev);
		return;
	}
	if (ev->kind == RAV_EV_LOST) {
		for (size_t i = 0; i < x->nused; i++) {
			page_entry *p = entry_of(x, x->used[i]);
			end_page(x, x->used[i], ev, "lost");
			p->owner = 0;
			p->listed = false;
		}
		x->nused = 0;
		return;
	}
	bool page_event = ev->kind == RAV_EV_PAGE_ACQUIRE || ev->kind == RAV_EV_PAGE_HANDOFF ||
	                  ev->kind == RAV_EV_PAGE_RELEASE;
	if (page_event && (ev->a & RAV_LOC_EXTERNAL))
		return; /* not a page of the pool: replay rejects it */
	uint32_t page = rav_loc_page(ev->a);
	switch (ev->kind) {
	case RAV_EV_PAGE_ACQUIRE: {
		end_page(x, page, ev, "page-acquire");
		page_entry *p = page_at(x, page, true);
		if (p)
			p->owner = ev->x;
		break;
	}
	case RAV_EV_PAGE_HANDOFF: {
		page_entry *p = page_at(x, page, true);
		if (p)
			p->owner = ev->x;
		break;
	}
	case RAV_EV_PAGE_TO_MSG: {
		/* 1.6: a is the page's index (a plain number), bounded like
		 * replay's page indices */
		page_entry *p = ev->a < ((uint64_t)1 << 24) ? page_at(x, (uint32_t)ev->a, false) : NULL;
		if (p)
			p->owner = ev->x;
		break;
	}
	case RAV_EV_PAGE_RELEASE: {
		end_page(x, page, ev, "page-release");
		page_entry *p = page_at(x, page, false);
		if (p)
			p->owner = 0;
		break;
	}
	case RAV_EV_ALLOC: {
		life *l = slot_at(x, ev->a, true);
		if (!l)
			break;
		page_entry *p = page_at(x, rav_loc_page(ev->a), false);
		clear_slot(x, p, l, ev->a, ev, "overwritten"); /* not in a consistent trace */
		*l = (life){.id = x->next_cell_id++,
		            .alloc_event = ev->index,
		            .first = ev->a,
		            .heap = p->owner,
		            .thread = ev->thread,
		            .alloc_site = ev->site,
		            .type = (uint16_t)ev->aux};
		p->live++;
		break;
	}
	case RAV_EV_FREE: {
		/* a FREE of an empty slot makes a hole for an arriving message:
		 * no life ends */
		life *l = slot_at(x, ev->a, false);
		if (l && l->id) {
			page_entry *p = page_at(x, rav_loc_page(ev->a), false);
			clear_slot(x, p, l, ev->a, ev, "free");
			release_if_empty(x, p);
		}
		break;
	}
	case RAV_EV_MOVE: {
		life *from = slot_at(x, ev->a, false);
		if (!from || !from->id)
			break;
		life moving = *from;
		page_entry *fp = page_at(x, rav_loc_page(ev->a), false);
		clear_slot(x, fp, from, ev->a, ev, NULL);
		release_if_empty(x, fp);
		life *to = slot_at(x, ev->b, true);
		if (!to) {
			moving.moves++;
			end_life(x, &moving, ev->a, ev, "moved-out"); /* to no known page */
			break;
		}
		page_entry *tp = page_at(x, rav_loc_page(ev->b), false);
		clear_slot(x, tp, to, ev->b, ev, "overwritten");
		moving.moves++;
		*to = moving;
		tp->live++;
		bind_u64(x, ST_MOVE, 1, ev->index);
		bind_i64(x, ST_MOVE, 2, moving.id);
		bind_i64(x, ST_MOVE, 3, ev->thread);
		bind_i64(x, ST_MOVE, 4, rav_loc_page(ev->a));
		bind_i64(x, ST_MOVE, 5, rav_loc_cell(ev->a));
		bind_i64(x, ST_MOVE, 6, rav_loc_page(ev->b));
		bind_i64(x, ST_MOVE, 7, rav_loc_cell(ev->b));
		bind_site(x, ST_MOVE, 8, ev->site);
		cli_sqlite_insert(x, ST_MOVE);
		break;
	}
	default:
		break;
	}
}

void cli_sqlite_cells_end_all(exporter *x)
{
	/* cells still live at the end of the trace: no end_event */
	for (uint32_t d = 0; x->dir && d < DIR_CHUNKS && !x->failed; d++)
		for (uint32_t i = 0; x->dir[d] && i < DIR_PAGES && !x->failed; i++) {
			page_entry *p = &x->dir[d][i];
			uint32_t page = d << DIR_SHIFT | i;
			for (uint32_t c = 0; p->groups && c < x->cells_per_page; c++) {
				life *l = p->groups[c / GROUP_CELLS];
				if (l && l[c % GROUP_CELLS].id)
					end_life(x, &l[c % GROUP_CELLS], rav_loc_make(page, c, 0), NULL, NULL);
			}
		}
}

void cli_sqlite_cells_free(exporter *x)
{
	for (uint32_t d = 0; x->dir && d < DIR_CHUNKS; d++) {
		for (uint32_t i = 0; x->dir[d] && i < DIR_PAGES; i++) {
			x->dir[d][i].live = 0;
			release_if_empty(x, &x->dir[d][i]);
		}
		free(x->dir[d]);
	}
	free(x->dir);
	x->dir = NULL;
	free(x->used);
	x->used = NULL;
	x->nused = x->used_cap = 0;
	if (x->snap)
		rav_state_free(x->snap);
}
