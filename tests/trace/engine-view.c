/* engine-view.c - the engine's view of a heap and its comparison with a
 * replayed state (engine-view.h says what is compared and why some words
 * are not).
 */
#include "engine-view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void failf(int *failures, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(int *failures, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(*failures)++;
}

/* Engine address -> the rav_loc replay uses. */
static rav_loc loc_of(uintptr_t v)
{
	if (!v)
		return 0;
	uintptr_t off = v - (uintptr_t)rav_pool_base();
	return rav_loc_make((uint32_t)(off / RAV_PAGE_SIZE), (uint32_t)(off % RAV_PAGE_SIZE / RAV_CELL_SIZE),
	                    (uint32_t)(off % RAV_CELL_SIZE / sizeof(uintptr_t)));
}

static bool field_is_ref(rav_type t, int f)
{
	if (t == RAV_TYPE_ROOT)
		return true;
	if (t == RAV_TYPE_REF)
		return f == 0;
	return rav_type_field_kind(t, f) == RAV_REF;
}

static bool on_page(rav_heap *h, size_t page, unsigned fill, bool root, void *user)
{
	(void)h;
	engine_view *v = user;
	if (v->npages == v->pcap) {
		v->pcap = v->pcap ? v->pcap * 2 : 64;
		v->pages = realloc(v->pages, sizeof *v->pages * v->pcap);
	}
	v->pages[v->npages++] = (engine_view_page){(uint32_t)page, fill, root};
	return true;
}

static bool on_cell(rav_heap *h, const rav_cell_info *ci, void *user)
{
	(void)h;
	engine_view *v = user;
	if (v->ncells == v->ccap) {
		v->ccap = v->ccap ? v->ccap * 2 : 1024;
		v->cells = realloc(v->cells, sizeof *v->cells * v->ccap);
	}
	engine_view_cell *c = &v->cells[v->ncells++];
	memset(c, 0, sizeof *c);
	c->page = (uint32_t)ci->page;
	c->slot = ci->slot;
	c->dying = (ci->cell->w[0] & RAV_FLAG_DYING) != 0;
	c->type = ci->type;
	c->scalar = ci->scalar;
	for (int f = 0; f < 2; f++)
		c->field[f] = field_is_ref(ci->type, f) ? loc_of(ci->field[f]) : ci->field[f];
	/* a root cell's third slot is in back[0]; normal cells: the back-link */
	c->back[0] = loc_of(ci->back[0]);
	c->back[1] = ci->type == RAV_TYPE_REF ? loc_of(ci->back[1]) : 0;
	return true;
}

void engine_view_take(rav_heap *h, engine_view *v)
{
	memset(v, 0, sizeof *v);
	v->heap_id = rav_heap_id(h);
	rav_heap_walk(h, on_page, on_cell, v);
	rav_heap_stats(h, &v->st);
}

void engine_view_free(engine_view *v)
{
	free(v->pages);
	free(v->cells);
	memset(v, 0, sizeof *v);
}

bool engine_view_compare(int cp, const engine_view *v, const rav_state *s, int *failures)
{
	rav_state_heap sh;
	bool found = false;
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		rav_state_heap_at(s, i, &sh);
		if (sh.id == v->heap_id && sh.alive) {
			found = true;
			break;
		}
	}
	if (!found)
		return false;
	int before = *failures;
	/* the heap's data pages in list order, its root pages as a set */
	size_t di = 0;
	uint64_t dead_in_replay = 0;
	for (uint32_t i = 0; i < sh.page_count; i++) {
		struct rav_state_page sp;
		rav_state_page(s, sh.pages[i], &sp);
		if (sp.kind == RAV_SPAGE_ROOT)
			continue;
		while (di < v->npages && v->pages[di].root)
			di++;
		if (di >= v->npages) {
			failf(failures,
			      "checkpoint %d: replay has data page %u in heap %u's list, the engine has no "
			      "more pages",
			      cp, sh.pages[i], v->heap_id);
			return true;
		}
		if (v->pages[di].page != sh.pages[i]) {
			failf(failures,
			      "checkpoint %d: heap %u's data page %zu is page %u in the engine but page %u "
			      "in replay",
			      cp, v->heap_id, di, v->pages[di].page, sh.pages[i]);
			return true;
		}
		dead_in_replay += sp.dead;
		di++;
	}
	for (; di < v->npages; di++)
		if (!v->pages[di].root) {
			failf(failures,
			      "checkpoint %d: engine page %u (heap %u) is missing from replay's list", cp,
			      v->pages[di].page, v->heap_id);
			return true;
		}
	for (size_t i = 0; i < v->npages; i++) {
		struct rav_state_page sp;
		rav_state_page(s, v->pages[i].page, &sp);
		if (sp.owner != v->heap_id || v->pages[i].root != (sp.kind == RAV_SPAGE_ROOT))
			failf(failures,
			      "checkpoint %d: page %u: engine says heap %u %s page, replay says owner %u "
			      "kind %u",
			      cp, v->pages[i].page, v->heap_id, v->pages[i].root ? "root" : "data", sp.owner,
			      sp.kind);
		else if (sp.fill != v->pages[i].fill)
			failf(failures, "checkpoint %d: page %u: fill %u in the engine, %u in replay", cp,
			      v->pages[i].page, v->pages[i].fill, sp.fill);
		/* cells above the fill must be empty in replay */
		for (uint32_t c = v->pages[i].fill; c < RAV_PAGE_CELLS && c < sp.fill + 1; c++) {
			rav_state_cell rc;
			rav_state_cell_at(s, v->pages[i].page, c, &rc);
			if (rc.state != RAV_CELL_EMPTY)
				failf(failures,
				      "checkpoint %d: page %u cell %u is above the engine's fill but replay "
				      "has it %u",
				      cp, v->pages[i].page, c, rc.state);
		}
	}
	uint64_t live = 0, dead = 0, refs = 0;
	for (size_t i = 0; i < v->ncells && *failures - before < 10; i++) {
		const engine_view_cell *e = &v->cells[i];
		rav_state_cell rc;
		rav_state_cell_at(s, e->page, e->slot, &rc);
		if (e->slot == 0) {
			if (rc.state != RAV_CELL_HEADER)
				failf(failures, "checkpoint %d: page %u cell 0 is not a header in replay", cp,
				      e->page);
			continue;
		}
		if (e->type == RAV_TYPE_DEAD) {
			dead++;
			if (rc.state != RAV_CELL_DEAD)
				failf(failures,
				      "checkpoint %d: page %u cell %u is dead in the engine, state %u in "
				      "replay",
				      cp, e->page, e->slot, rc.state);
			continue;
		}
		if (rc.state != RAV_CELL_LIVE) {
			failf(failures,
			      "checkpoint %d: page %u cell %u is live (type %u) in the engine, state %u in "
			      "replay",
			      cp, e->page, e->slot, e->type, rc.state);
			continue;
		}
		if (e->type == RAV_TYPE_REF)
			refs++;
		if (e->type != RAV_TYPE_ROOT)
			live++; /* root cells are not counted live (rav_stats) */
		uint64_t rf[2] = {rc.word[1], rc.word[2]}, rb[2] = {rc.word[3], 0};
		if (e->type == RAV_TYPE_REF) {
			rf[1] = 0;
			rb[0] = rc.word[2];
			rb[1] = rc.word[3];
		}
		uint64_t ef1 = e->type == RAV_TYPE_REF ? 0 : e->field[1];
		if (e->dying) {
			/* queued for the deferred kill cascade: the engine links the
			 * queue through the back-link word without recording it */
			rb[0] = e->back[0];
			rb[1] = e->back[1];
		}
		if (rc.type != e->type || rc.scalar != e->scalar || rf[0] != e->field[0] || rf[1] != ef1 ||
		    rb[0] != e->back[0] || rb[1] != e->back[1])
			failf(failures,
			      "checkpoint %d: heap %u page %u cell %u differs:\n"
			      "  engine: type %u scalar %llu fields %#llx %#llx back %#llx %#llx\n"
			      "  replay: type %u scalar %llu fields %#llx %#llx back %#llx %#llx",
			      cp, v->heap_id, e->page, e->slot, e->type, (unsigned long long)e->scalar,
			      (unsigned long long)e->field[0], (unsigned long long)ef1,
			      (unsigned long long)e->back[0], (unsigned long long)e->back[1], rc.type,
			      (unsigned long long)rc.scalar, (unsigned long long)rf[0],
			      (unsigned long long)rf[1], (unsigned long long)rb[0],
			      (unsigned long long)rb[1]);
	}
	/* counters: the engine's, replay's, and the same counted in the cells */
	if (sh.live_cells != v->st.live_cells || live != v->st.live_cells ||
	    sh.dead_cells != v->st.dead_cells || dead != v->st.dead_cells ||
	    dead_in_replay != v->st.dead_cells || sh.ref_cells != v->st.ref_cells || refs != v->st.ref_cells)
		failf(failures,
		      "checkpoint %d: counters of heap %u: engine live %llu dead %llu refs %llu; replay live "
		      "%llu dead %llu refs %llu (dead in replay's pages %llu; counted in the engine's "
		      "cells: live %llu dead %llu refs %llu)",
		      cp, v->heap_id, (unsigned long long)v->st.live_cells,
		      (unsigned long long)v->st.dead_cells, (unsigned long long)v->st.ref_cells,
		      (unsigned long long)sh.live_cells, (unsigned long long)sh.dead_cells,
		      (unsigned long long)sh.ref_cells, (unsigned long long)dead_in_replay,
		      (unsigned long long)live, (unsigned long long)dead, (unsigned long long)refs);
	return true;
}
