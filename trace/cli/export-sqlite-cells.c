/* export-sqlite-cells.c - the cells table of the SQLite export: one row per
 * life of a cell, followed across its moves (export-sqlite.c says how, and
 * why memory stays bounded by the recorded heap).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "export-sqlite-private.h"

/* ---- Cell lives ------------------------------------------------------------ */

/* Take `bytes` more for the cell lives, or fail the export with an error
 * naming the limit and the setting that raises it. */
static bool charge(exporter *x, uint64_t bytes)
{
	if (x->cell_bytes + bytes > x->cell_limit) {
		cli_sqlite_failf(x,
		                 "following the cells needs more than the trace's memory limit of %" PRIu64
		                 " MiB (%" PRIu64 " cells live, at event %" PRIu64
		                 "); set RAVTRACE_MEMORY_MB to a larger number of MiB",
		                 x->cell_limit >> 20, x->cells_live, x->event_pos);
		return false;
	}
	x->cell_bytes += bytes;
	return true;
}

/* The entry of a page index, or NULL (page 0 is a page like any other:
 * page events name it with location 0, which for cells means "none"). */
static page_entry *page_find(const exporter *x, uint32_t page)
{
	if (!x->pages_cap)
		return NULL;
	size_t mask = x->pages_cap - 1;
	for (size_t i = (size_t)cli_mix(page) & mask;; i = (i + 1) & mask) {
		if (!x->pages[i].taken)
			return NULL;
		if (x->pages[i].page == page)
			return &x->pages[i];
	}
}

static page_entry *page_insert(page_entry *table, size_t cap, uint32_t page)
{
	size_t mask = cap - 1, i = (size_t)cli_mix(page) & mask;
	while (table[i].taken)
		i = (i + 1) & mask;
	table[i].taken = true;
	table[i].page = page;
	return &table[i];
}

/* The entry of a page index, made if `create`; listed as used.  (Making
 * one may move the others: a page_entry pointer is good until the next
 * page_at or slot_at that creates.) */
static page_entry *page_at(exporter *x, uint32_t page, bool create)
{
	page_entry *p = page_find(x, page);
	if (!p) {
		if (!create)
			return NULL;
		if (page >= MAX_PAGE_INDEX) {
			cli_sqlite_failf(x, "page index %u is beyond any ravioli pool", page);
			return NULL;
		}
		if ((x->npages + 1) * 2 > x->pages_cap) {
			size_t cap = x->pages_cap ? x->pages_cap * 2 : 1024;
			if (!charge(x, cap * sizeof(page_entry)))
				return NULL;
			page_entry *grown = calloc(cap, sizeof *grown);
			if (!grown) {
				cli_sqlite_failf(x, "out of memory for a table of %zu pages", cap);
				return NULL;
			}
			for (size_t i = 0; i < x->pages_cap; i++)
				if (x->pages[i].taken)
					*page_insert(grown, cap, x->pages[i].page) = x->pages[i];
			free(x->pages);
			x->cell_bytes -= x->pages_cap * sizeof(page_entry);
			x->pages = grown;
			x->pages_cap = cap;
		}
		p = page_insert(x->pages, x->pages_cap, page);
		x->npages++;
	}
	if (!p->listed) {
		if (x->nused == x->used_cap) {
			size_t cap = x->used_cap ? x->used_cap * 2 : 256;
			if (!charge(x, (cap - x->used_cap) * sizeof(uint32_t)))
				return NULL;
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

static inline uint64_t group_key(uint32_t page, uint32_t cell)
{
	return (uint64_t)page << 32 | cell / GROUP_CELLS;
}

/* The slot of the groups' table holding `key`, or the empty one where it
 * would go. */
static size_t group_slot_of(const group_slot *table, size_t cap, uint64_t key)
{
	size_t mask = cap - 1, i = (size_t)cli_mix(key) & mask;
	while (table[i].g && table[i].key != key)
		i = (i + 1) & mask;
	return i;
}

static life_group *group_find(const exporter *x, uint64_t key)
{
	return x->groups_cap ? x->groups[group_slot_of(x->groups, x->groups_cap, key)].g : NULL;
}

static life_group *group_make(exporter *x, uint64_t key)
{
	if ((x->ngroups + 1) * 2 > x->groups_cap) {
		size_t cap = x->groups_cap ? x->groups_cap * 2 : 1024;
		if (!charge(x, cap * sizeof(group_slot)))
			return NULL;
		group_slot *grown = calloc(cap, sizeof *grown);
		if (!grown) {
			cli_sqlite_failf(x, "out of memory for a table of %zu groups of cells", cap);
			return NULL;
		}
		for (size_t i = 0; i < x->groups_cap; i++)
			if (x->groups[i].g)
				grown[group_slot_of(grown, cap, x->groups[i].key)] = x->groups[i];
		free(x->groups);
		x->cell_bytes -= x->groups_cap * sizeof(group_slot);
		x->groups = grown;
		x->groups_cap = cap;
	}
	if (!charge(x, sizeof(life_group)))
		return NULL;
	life_group *g = calloc(1, sizeof *g);
	if (!g) {
		cli_sqlite_failf(x, "out of memory for the cells of a page");
		return NULL;
	}
	x->groups[group_slot_of(x->groups, x->groups_cap, key)] = (group_slot){key, g};
	x->ngroups++;
	return g;
}

/* Free the group of `key` if no life is left in it (linear probing:
 * the entries after it that belong before the hole move back). */
static void group_drop_if_empty(exporter *x, uint64_t key)
{
	if (!x->groups_cap)
		return;
	size_t mask = x->groups_cap - 1, i = group_slot_of(x->groups, x->groups_cap, key);
	life_group *g = x->groups[i].g;
	if (!g || g->live)
		return;
	free(g);
	x->cell_bytes -= sizeof(life_group);
	x->ngroups--;
	for (size_t j = (i + 1) & mask; x->groups[j].g; j = (j + 1) & mask) {
		size_t home = (size_t)cli_mix(x->groups[j].key) & mask;
		/* j's entry may fill the hole at i if its home is not in (i, j] */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			x->groups[i] = x->groups[j];
			i = j;
		}
	}
	x->groups[i] = (group_slot){0, NULL};
}

/* The group holding a life (lives are the cells of their group). */
static inline life_group *group_of(life *l, uint32_t cell)
{
	return (life_group *)((char *)(l - cell % GROUP_CELLS) - offsetof(life_group, cell));
}

/* The life in the slot of `loc`, or NULL (no page, cell out of range). */
static life *slot_at(exporter *x, rav_loc loc, bool create)
{
	if (loc == RAV_LOC_NONE || (loc & RAV_LOC_EXTERNAL))
		return NULL;
	uint32_t page = rav_loc_page(loc), cell = rav_loc_cell(loc);
	page_entry *p = page_at(x, page, create);
	if (!p || cell >= x->cells_per_page)
		return NULL;
	life_group *g = group_find(x, group_key(page, cell));
	if (!g && (!create || !(g = group_make(x, group_key(page, cell)))))
		return NULL;
	return &g->cell[cell % GROUP_CELLS];
}

/* A life begins in slot l of `loc` (which slot_at gave, and which is empty). */
static void occupy(exporter *x, life *l, rav_loc loc, life v)
{
	*l = v;
	group_of(l, rav_loc_cell(loc))->live++;
	page_find(x, rav_loc_page(loc))->live++;
	x->cells_live++;
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
	bind_i64(x, ST_CELL, 9, l->first_page);
	bind_i64(x, ST_CELL, 10, l->first_cell);
	bind_i64(x, ST_CELL, 11, rav_loc_page(where));
	bind_i64(x, ST_CELL, 12, rav_loc_cell(where));
	bind_site(x, ST_CELL, 13, l->alloc_site);
	bind_site(x, ST_CELL, 14, ev ? ev->site : 0);
	cli_sqlite_insert(x, ST_CELL);
	x->cells_written++;
	l->id = 0;
}

/* Vacate slot l of `where`; its life ends here unless how is NULL (it
 * lives on elsewhere: a move).  The group stays until
 * group_drop_if_empty: l stays good for a new life. */
static void clear_slot(exporter *x, life *l, rav_loc where, const rav_event *ev, const char *how)
{
	if (!l->id)
		return;
	if (how)
		end_life(x, l, where, ev, how);
	l->id = 0;
	group_of(l, rav_loc_cell(where))->live--;
	page_find(x, rav_loc_page(where))->live--;
	x->cells_live--;
}

/* Every cell of a page ends (the page went back to the pool, or was taken
 * anew, which a consistent trace only does with no cell in it). */
static void end_page(exporter *x, uint32_t page, const rav_event *ev, const char *how)
{
	page_entry *p = page_find(x, page);
	for (uint32_t g = 0; p && p->live && g < x->groups_per_page; g++) {
		uint64_t key = (uint64_t)page << 32 | g;
		life_group *lg = group_find(x, key);
		if (!lg)
			continue;
		for (uint32_t i = 0; i < GROUP_CELLS; i++)
			clear_slot(x, &lg->cell[i], rav_loc_make(page, g * GROUP_CELLS + i, 0), ev, how);
		group_drop_if_empty(x, key);
	}
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
		/* (slot_at below makes no page: this one exists) */
		for (uint32_t c = 1; c < x->cells_per_page; c++) {
			rav_state_cell cell;
			if (!rav_state_cell_at(x->snap, page, c, &cell) || cell.state != RAV_CELL_LIVE ||
			    cell.type == RAV_TYPE_REF)
				continue;
			rav_loc at = rav_loc_make(page, c, 0);
			life *l = slot_at(x, at, true);
			if (!l)
				return;
			occupy(x, l, at,
			       (life){.id = x->next_cell_id++,
			              .alloc_event = ev->index,
			              .first_page = page,
			              .first_cell = (uint16_t)c,
			              .heap = ev->x,
			              .thread = ev->thread,
			              .type = cell.type});
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
			end_page(x, x->used[i], ev, "lost");
			page_entry *p = page_find(x, x->used[i]);
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
		clear_slot(x, l, ev->a, ev, "overwritten"); /* not in a consistent trace */
		occupy(x, l, ev->a,
		       (life){.id = x->next_cell_id++,
		              .alloc_event = ev->index,
		              .first_page = rav_loc_page(ev->a),
		              .first_cell = (uint16_t)rav_loc_cell(ev->a),
		              .heap = page_find(x, rav_loc_page(ev->a))->owner,
		              .thread = ev->thread,
		              .alloc_site = ev->site,
		              .type = (uint16_t)ev->aux});
		break;
	}
	case RAV_EV_FREE: {
		/* a FREE of an empty slot makes a hole for an arriving message:
		 * no life ends */
		life *l = slot_at(x, ev->a, false);
		if (l && l->id) {
			clear_slot(x, l, ev->a, ev, "free");
			group_drop_if_empty(x, group_key(rav_loc_page(ev->a), rav_loc_cell(ev->a)));
		}
		break;
	}
	case RAV_EV_MOVE: {
		life *from = slot_at(x, ev->a, false);
		if (!from || !from->id)
			break;
		life moving = *from;
		clear_slot(x, from, ev->a, ev, NULL);
		group_drop_if_empty(x, group_key(rav_loc_page(ev->a), rav_loc_cell(ev->a)));
		life *to = slot_at(x, ev->b, true);
		if (!to) {
			moving.moves++;
			end_life(x, &moving, ev->a, ev, "moved-out"); /* to no known page */
			break;
		}
		clear_slot(x, to, ev->b, ev, "overwritten");
		moving.moves++;
		occupy(x, to, ev->b, moving);
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

static int key_order(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void cli_sqlite_cells_end_all(exporter *x)
{
	/* cells still live at the end of the trace: no end_event; in the
	 * order of their places, page by page */
	if (x->failed || !x->ngroups || !charge(x, x->ngroups * sizeof(uint64_t)))
		return;
	uint64_t *keys = malloc(x->ngroups * sizeof *keys);
	if (!keys) {
		cli_sqlite_failf(x, "out of memory for the list of %zu groups of cells", x->ngroups);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < x->groups_cap; i++)
		if (x->groups[i].g)
			keys[n++] = x->groups[i].key;
	qsort(keys, n, sizeof *keys, key_order);
	for (size_t k = 0; k < n && !x->failed; k++) {
		life_group *g = group_find(x, keys[k]);
		uint32_t page = (uint32_t)(keys[k] >> 32), first = (uint32_t)keys[k] * GROUP_CELLS;
		for (uint32_t i = 0; i < GROUP_CELLS && !x->failed; i++)
			if (g->cell[i].id)
				end_life(x, &g->cell[i], rav_loc_make(page, first + i, 0), NULL, NULL);
	}
	free(keys);
	x->cell_bytes -= x->ngroups * sizeof(uint64_t);
}

void cli_sqlite_cells_free(exporter *x)
{
	for (size_t i = 0; i < x->groups_cap; i++)
		free(x->groups[i].g);
	free(x->groups);
	x->groups = NULL;
	x->groups_cap = x->ngroups = 0;
	free(x->pages);
	x->pages = NULL;
	x->pages_cap = x->npages = 0;
	free(x->used);
	x->used = NULL;
	x->nused = x->used_cap = 0;
	x->cell_bytes = 0;
	if (x->snap)
		rav_state_free(x->snap);
}
