/* replay-pages.c - the replayed heap's page table (replay-model.h): a top
 * array sized by the highest page index named, of pointers to leaves of
 * RAVT_LEAF_PAGES page block pointers that exist only where pages do, the
 * leaves shared copy-on-write between the live model, keyframes and
 * states; the known pages and what a loss drops; and what a keyframe
 * holds alone.
 *
 * A table sized by the highest page index, one pointer and a pool flag per
 * index, made a trace naming page 2^24-1 cost 144 MiB in the live model
 * and as much again in each keyframe and state that copied it (hostile-gen
 * page-index-high, pages-spread).  Now the top costs 8 bytes per 64
 * indices (2 MiB at most), a leaf 528 bytes where a page exists, and a
 * copy of a model the top alone: the leaves' counts go up, and a leaf is
 * copied when a holder first writes one of its pages (ravt_page_w).
 */
#include <stdlib.h>
#include <string.h>

#include "replay-model.h"

/* Never freed, never written: its count is never 1 (see replay-model.c's
 * shared cell blocks). */
ravt_pleaf ravt_empty_leaf = {.refs = 1u << 30};

#define LEAF_WHAT "the replayed heap's page table (its leaves)"

/* Leaves this far ahead are asked for while walking a table (clearing a
 * model, a seek's first step: each leaf a miss). */
#define LEAF_PF_AHEAD 4u

static void leaf_unref(const ravt_model *m, ravt_pleaf *l)
{
	if (l == &ravt_empty_leaf)
		return;
	/* (a count of 1 is ours alone: see page blocks) */
	if (atomic_load_explicit(&l->refs, memory_order_acquire) == 1 ||
	    atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1) {
		for (uint32_t i = 0; i < RAVT_LEAF_PAGES; i++)
			if (l->pg[i])
				ravt_page_unref(m, l->pg[i]);
		free(l);
	}
}

bool ravt_model_ensure_span(ravt_model *m, uint32_t page)
{
	if (page < m->span)
		return true;
	uint32_t need = (page >> RAVT_LEAF_SHIFT) + 1, have = ravt_model_nleaves(m);
	if (need > m->cap) {
		uint32_t ncap = m->cap ? m->cap : 16;
		while (ncap < need)
			ncap *= 2;
		/* the top is sized by the highest page named: a few bytes of a
		 * file may name a page far up (2 MiB at the format's largest) */
		if (!ravt_budget_charge(m->budget, (uint64_t)(ncap - m->cap) * sizeof *m->top,
		                        "the replayed heap's page table (sized by the highest page index)"))
			return false;
		ravt_pleaf **nt = realloc(m->top, sizeof *nt * ncap);
		if (!nt) {
			ravt_budget_release(m->budget, (uint64_t)(ncap - m->cap) * sizeof *m->top);
			return false;
		}
		m->top = nt;
		m->cap = ncap;
	}
	for (uint32_t i = have; i < need; i++)
		m->top[i] = &ravt_empty_leaf;
	m->span = page + 1;
	return true;
}

void ravt_pages_clear(ravt_model *m)
{
	uint32_t n = ravt_model_nleaves(m);
	for (uint32_t i = 0; i < n; i++) {
		if (i + LEAF_PF_AHEAD < n)
			__builtin_prefetch(m->top[i + LEAF_PF_AHEAD], 1);
		leaf_unref(m, m->top[i]);
	}
	free(m->top);
	m->top = NULL;
	m->span = m->cap = 0;
}

bool ravt_pages_copy(ravt_model *dst, const ravt_model *src)
{
	uint32_t n = ravt_model_nleaves(src);
	dst->top = NULL;
	dst->span = dst->cap = 0;
	if (!n)
		return true;
	dst->top = malloc(sizeof *dst->top * n);
	if (!dst->top)
		return false;
	memcpy(dst->top, src->top, sizeof *dst->top * n);
	for (uint32_t i = 0; i < n; i++)
		if (src->top[i] != &ravt_empty_leaf)
			atomic_fetch_add_explicit(&src->top[i]->refs, 1, memory_order_relaxed);
	dst->span = src->span;
	dst->cap = n;
	return true;
}

ravt_pleaf *ravt_leaf_w_copy(ravt_model *m, uint32_t pg)
{
	ravt_pleaf **slot = &m->top[pg >> RAVT_LEAF_SHIFT], *l = *slot;
	bool fresh = l == &ravt_empty_leaf;
	/* the live model's table: a leaf made where there was none is
	 * charged; a copy of one shared with a keyframe replaces the one
	 * charged (the keyframe's own accounting counts the old one) */
	if (fresh && !ravt_budget_charge(m->budget, sizeof *l, LEAF_WHAT))
		return NULL;
	ravt_pleaf *n = malloc(sizeof *n);
	if (!n) {
		if (fresh)
			ravt_budget_release(m->budget, sizeof *l);
		return NULL;
	}
	if (fresh) {
		memset(n, 0, sizeof *n);
	} else {
		n->pool = l->pool;
		memcpy(n->pg, l->pg, sizeof n->pg);
		for (uint32_t i = 0; i < RAVT_LEAF_PAGES; i++)
			if (n->pg[i])
				ravt_page_ref(n->pg[i]);
		m->copied += sizeof *n;
	}
	atomic_init(&n->refs, 1);
	leaf_unref(m, l);
	*slot = n;
	return n;
}

ravt_mpage *ravt_model_new_page_at(ravt_model *m, uint32_t pg)
{
	if (m->nknown == m->known_cap) {
		uint32_t ncap = m->known_cap ? m->known_cap * 2 : 64;
		if (!ravt_budget_charge(m->budget, (uint64_t)(ncap - m->known_cap) * sizeof *m->known,
		                        "the replayed heap (its list of known pages)"))
			return NULL;
		uint32_t *nk = realloc(m->known, sizeof *nk * ncap);
		if (!nk)
			return NULL;
		m->known = nk;
		m->known_cap = ncap;
	}
	ravt_pleaf *l = ravt_leaf_w(m, pg);
	if (!l)
		return NULL;
	ravt_mpage *p = ravt_page_new(m);
	if (!p)
		return NULL;
	l->pg[RAVT_LEAF_INDEX(pg)] = p;
	m->known[m->nknown++] = pg;
	return p;
}

void ravt_model_drop_pages(ravt_model *m)
{
	/* every page goes: a leaf holding a known page is let go whole (no
	 * copy of one shared with a keyframe), the pages charged to the live
	 * model given back first */
	for (uint32_t k = 0; k < m->nknown; k++) {
		ravt_pleaf **slot = &m->top[m->known[k] >> RAVT_LEAF_SHIFT], *l = *slot;
		if (l == &ravt_empty_leaf)
			continue; /* (another known page's leaf, gone already) */
		for (uint32_t j = 0; j < RAVT_LEAF_PAGES; j++) {
			const ravt_mpage *p = l->pg[j];
			if (!p)
				continue;
			/* what the live model charged for this page goes back (a
			 * keyframe sharing the blocks keeps them, on its own budget) */
			for (uint32_t i = 0; i < m->ncb; i++)
				if (p->cb[i] && !ravt_block_static(p->cb[i]))
					ravt_budget_release(m->budget, sizeof(ravt_cellblock));
			ravt_budget_release(m->budget, m->block_size);
		}
		ravt_budget_release(m->budget, sizeof *l);
		leaf_unref(m, l);
		*slot = &ravt_empty_leaf;
	}
	m->nknown = 0;
	/* the heaps touched since the last loss; the others own nothing */
	for (uint32_t k = 0; k < m->ndirty; k++) {
		ravt_mheap *h = &m->heaps[m->dirty[k]];
		h->npages = 0;
		h->head = h->tail = h->nhead = h->ntail = RAVT_NO_PAGE;
		h->anchor = RAVT_NO_PAGE;
		h->list_changes++;
	}
}

/* ---- accounting ------------------------------------------------------------- */

uint64_t ravt_model_table_bytes(const ravt_model *m)
{
	return (uint64_t)ravt_model_nleaves(m) * sizeof(void *) + (uint64_t)m->nheaps * sizeof(ravt_mheap) +
	       (uint64_t)(m->hmap_cap + m->ndirty) * sizeof(uint32_t);
}

uint64_t ravt_model_own_bytes(const ravt_model *k, const ravt_model *next)
{
	uint64_t b = ravt_model_table_bytes(k);
	uint32_t n = ravt_model_nleaves(k), nn = ravt_model_nleaves(next);
	for (uint32_t li = 0; li < n; li++) {
		const ravt_pleaf *la = k->top[li], *ln = li < nn ? next->top[li] : &ravt_empty_leaf;
		if (la == ln || la == &ravt_empty_leaf)
			continue; /* (shared: every page block in it too) */
		b += sizeof *la;
		for (uint32_t j = 0; j < RAVT_LEAF_PAGES; j++) {
			const ravt_mpage *a = la->pg[j], *nb = ln->pg[j];
			if (!a || a == nb)
				continue;
			b += k->block_size;
			for (uint32_t i = 0; i < k->ncb; i++)
				if (a->cb[i] != &ravt_zero_block && a->cb[i] != &ravt_header_block &&
				    a->cb[i] != &ravt_packed_block && (!nb || nb->cb[i] != a->cb[i]))
					b += sizeof(ravt_cellblock);
		}
	}
	return b;
}
