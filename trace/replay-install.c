/* replay-install.c - snapshots and losses in the replay model (format 1.1).
 *
 * A recording made by attaching to a running program starts from
 * snapshots (FORMAT.md §11): at a snapshot event the piece it names
 * replaces what the model knew of that heap (or of the types, or of the
 * pool), and every later event of the heap applies on top of it, checked
 * as usual.  A lost event (§12.3) makes the model forget every heap: the
 * snapshots that follow it bring them back.
 *
 * Installing a heap: the pages it had in the model go back to the pool (the
 * engine gave them away while nothing was recorded), then the piece's pages
 * are taken - from the pool, from nowhere, or from a heap that is no longer
 * alive; a page a live heap owns is a replay error, as any event taking it
 * would be.  Cells come with their words (pool addresses already turned
 * into locations by the decoder), dead cells as holes.
 */
#include <stdio.h>
#include <string.h>

#include "replay-apply.h"

typedef struct install {
	ravt_model *m;
	const rav_event *ev;
	uint32_t heap_id;
	uint8_t heap_kind;
	ravt_touch *tc;
	int rc;
	char why[200];
} install;

static ravt_mheap *heap_of(install *in)
{
	return ravt_heap_find(in->m, in->heap_id);
}

/* A page the model knew goes back to the pool (its cells with it). */
static bool to_pool(ravt_model *m, uint32_t pg)
{
	ravt_mpage *p = ravt_page_w(m, pg);
	if (!p)
		return false;
	if (p->kind != RAV_SPAGE_POOL) {
		ravt_mheap *o = ravt_owner_of(m, p);
		ravt_count(m, p, o, -(int)p->live, -(int)p->dead, -(int)p->refc, -(int)p->rootc);
		if (o && !ravt_heap_remove(m, o, pg))
			return false;
		m->tot.pages--;
	}
	p->kind = RAV_SPAGE_POOL;
	p->owner = 0;
	p->hidx = 0;
	p->fill = 1;
	p->live = p->dead = p->refc = p->rootc = 0;
	ravt_page_clear_cells(m, p);
	if (!ravt_pool_at(m, pg)) {
		ravt_pool_set(m, pg, true);
		m->tot.pool_pages++;
	}
	return true;
}

static bool on_page(void *user, uint32_t pg, uint8_t kind, uint32_t fill)
{
	install *in = user;
	ravt_model *m = in->m;
	if (pg >= RAVT_MAX_PAGE_INDEX || !ravt_model_ensure_span(m, pg)) {
		snprintf(in->why, sizeof in->why, "page %u is beyond the largest pool replay accepts", pg);
		return false;
	}
	ravt_mpage *p = ravt_page_at(m, pg);
	if (p && p->kind != RAV_SPAGE_POOL) {
		ravt_mheap *o = ravt_owner_of(m, p);
		/* the heap's own pages went to the pool before its piece: one it
		 * owns now came earlier in this piece */
		if (o && o->id == in->heap_id) {
			snprintf(in->why, sizeof in->why, "page %u comes twice in heap %u's snapshot", pg,
			         in->heap_id);
			return false;
		}
		if (o && o->alive) {
			snprintf(in->why, sizeof in->why,
			         "page %u of heap %u's snapshot belongs to heap %u, which is alive", pg,
			         in->heap_id, o->id);
			return false;
		}
	}
	if (p) {
		if (!to_pool(m, pg))
			return false;
		p = ravt_page_at(m, pg);
	} else if (!(p = ravt_model_new_page_at(m, pg))) {
		return false;
	}
	if (ravt_pool_at(m, pg)) {
		ravt_pool_set(m, pg, false);
		m->tot.pool_pages--;
	}
	ravt_mheap *h = heap_of(in);
	if (!h)
		return false;
	p->kind = ravt_spage_kind(kind);
	p->ekind = kind;
	p->owner = in->heap_id;
	p->hidx = (uint32_t)(h - m->heaps) + 1;
	p->fill = fill;
	if (!ravt_heap_insert(m, h, pg, RAVT_NO_PAGE))
		return false;
	m->tot.pages++;
	return true;
}

static bool on_cell(void *user, uint32_t pg, uint32_t c, uint8_t state, const uint64_t w[4])
{
	install *in = user;
	ravt_model *m = in->m;
	if (c >= m->cpp) {
		snprintf(in->why, sizeof in->why, "cell %u of page %u is beyond the page", c, pg);
		return false;
	}
	ravt_mpage *p = ravt_page_w(m, pg);
	ravt_cellblock *k;
	if (!p || !(k = ravt_block_w(m, p, c)))
		return false;
	k->st[RAVT_CB_INDEX(c)] = state;
	memcpy(k->w + RAVT_CB_INDEX(c) * 4, w, 4 * sizeof(uint64_t));
	ravt_mheap *h = heap_of(in);
	if (state == RAV_CELL_LIVE)
		ravt_count(m, p, h, 1, 0, RAVT_TYPE_ID(w[0]) == RAV_TYPE_REF,
		           RAVT_TYPE_ID(w[0]) == RAV_TYPE_ROOT);
	else if (state == RAV_CELL_DEAD)
		ravt_count(m, p, h, 0, 1, 0, 0);
	return true;
}

static bool on_type(void *user, uint16_t id, unsigned refmask, const char *name, size_t len)
{
	install *in = user;
	(void)name, (void)len;
	return ravt_model_define_type(in->m, id, (uint8_t)(0x80u | (refmask & 3u)));
}

static bool on_free_page(void *user, uint32_t pg)
{
	install *in = user;
	ravt_model *m = in->m;
	if (pg >= RAVT_MAX_PAGE_INDEX || !ravt_model_ensure_span(m, pg)) {
		snprintf(in->why, sizeof in->why, "free page %u is beyond the largest pool replay accepts",
		         pg);
		return false;
	}
	ravt_mpage *p = ravt_page_at(m, pg);
	if (p && p->kind != RAV_SPAGE_POOL) {
		ravt_mheap *o = ravt_owner_of(m, p);
		if (o && o->alive) {
			snprintf(in->why, sizeof in->why,
			         "the pool's snapshot says page %u is free, but heap %u owns it", pg, o->id);
			return false;
		}
	}
	if (!p) {
		if (!(p = ravt_model_new_page_at(m, pg)))
			return false;
		p->kind = RAV_SPAGE_POOL;
		p->fill = 1;
		ravt_pool_set(m, pg, true);
		m->tot.pool_pages++;
		return true;
	}
	return to_pool(m, pg);
}

int ravt_model_install(ravt_model *m, const rav_event *ev, const ravt_piece *piece, ravt_touch *tc)
{
	tc->h[0] = tc->h[1] = NULL;
	if (!piece)
		return ravt_model_fail(
		    m, ev,
		    "the snapshot event names piece %llu, which the trace does not hold whole "
		    "(its chunks are missing, incomplete or came too late)",
		    (unsigned long long)ev->a);
	if (piece->named_by && piece->named_by != ev->index + 1)
		return ravt_model_fail(m, ev,
		                       "the snapshot event names piece %llu, which event %llu named already "
		                       "(a piece is installed once)",
		                       (unsigned long long)ev->a, (unsigned long long)(piece->named_by - 1));
	const ravt_snap_head *hd = &piece->head;
	if (hd->piece != ev->aux || (hd->piece == RAV_SNAP_HEAP && hd->heap_id != ev->x))
		return ravt_model_fail(
		    m, ev, "the snapshot event and its piece %llu disagree (kind %u/%u, heap %u/%u)",
		    (unsigned long long)ev->a, ev->aux, hd->piece, ev->x, hd->heap_id);
	install in = {.m = m, .ev = ev, .heap_id = hd->heap_id, .heap_kind = hd->heap_kind, .tc = tc};
	if (hd->piece == RAV_SNAP_HEAP) {
		ravt_mheap *h = ravt_heap_get(m, hd->heap_id, hd->heap_kind);
		if (!h)
			return ravt_model_oom(m, ev);
		/* what the model knew of this heap goes: its pages to the pool */
		while (h->tail != RAVT_NO_PAGE) {
			uint32_t pg = h->tail;
			if (!to_pool(m, pg))
				return ravt_model_oom(m, ev);
			h = ravt_heap_find(m, hd->heap_id);
			if (h->tail == pg) /* a pool page left in the list: never, but no endless loop */
				return ravt_model_fail(m, ev, "page %u of heap %u is in its list but free",
				                       pg, hd->heap_id);
		}
		h->kind = hd->heap_kind;
		h->parent = hd->parent;
		h->alive = true;
		h->in_flight = hd->where == RAV_SNAP_IN_FLIGHT;
		h->anchor = RAVT_NO_PAGE;
		h->live = h->dead = h->refc = 0;
	}
	ravt_snap_geom g = {0, 0, m->word_size, m->page_size, m->cpp};
	ravt_snap_visitor v = {on_page, on_cell, on_type, on_free_page, &in};
	char err[300];
	if (ravt_snap_decode_piece(piece, &g, &v, err, sizeof err) != 0) {
		if (!in.why[0] && ravt_budget_is_exceeded(m->budget))
			return ravt_model_oom(m, ev); /* the memory limit's error */
		return ravt_model_fail(m, ev, "snapshot piece %llu: %s", (unsigned long long)ev->a,
		                       in.why[0] ? in.why : err);
	}
	if (hd->piece == RAV_SNAP_HEAP)
		tc->h[0] = ravt_heap_find(m, hd->heap_id);
	return 0;
}

int ravt_model_forget(ravt_model *m, const rav_event *ev)
{
	(void)ev;
	/* the pages known, not the page table: a trace of many lost events
	 * after naming a page far up costs no more than one */
	ravt_model_drop_pages(m);
	/* (and the heaps touched since the last loss, not every heap) */
	for (uint32_t k = 0; k < m->ndirty; k++) {
		ravt_mheap *h = &m->heaps[m->dirty[k]];
		h->alive = h->in_flight = h->dirty = false;
		h->live = h->refc = h->dead = 0;
	}
	m->ndirty = 0;
	m->tot.live_cells = m->tot.ref_cells = m->tot.dead_cells = m->tot.pages = m->tot.pool_pages = 0;
	return 0;
}
