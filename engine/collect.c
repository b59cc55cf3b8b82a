/* collect.c - mark-from-roots collection, for cycles.
 *
 * Reference trees free everything except cycles: a cycle keeps its own
 * members referred to.  rav_collect marks what is reachable from the heap's
 * roots (walking through reference ravioli, marking them too), then
 *  1. cuts every reference held by an unmarked cell, splicing reference
 *     ravioli out of marked targets' trees, without cascading (everything
 *     unmarked is garbage anyway);
 *  2. turns every unmarked cell into a dead hole;
 *  3. compacts.
 * Marking uses an explicit stack: no recursion, whatever the shape. */
#include <stdlib.h>

#include "rav-private.h"

typedef struct mark_stack {
	rav_cell **v;
	size_t n, cap;
	bool failed;
} mark_stack;

static void push(mark_stack *s, rav_cell *c)
{
	if (!c || (c->w[0] & RAV_FLAG_MARK))
		return;
	c->w[0] |= RAV_FLAG_MARK;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 1024;
		rav_cell **grown = realloc(s->v, cap * sizeof *grown);
		if (!grown) {
			s->failed = true;
			return;
		}
		s->v = grown;
		s->cap = cap;
	}
	s->v[s->n++] = c;
}

static void mark_from(mark_stack *s)
{
	while (s->n) {
		rav_cell *c = s->v[--s->n];
		unsigned mask = type_refmask(cell_type(c));
		if (mask & 1)
			push(s, (rav_cell *)c->w[1]);
		if (mask & 2)
			push(s, (rav_cell *)c->w[2]);
	}
}

/* Visit every cell of h's data pages below the top. */
#define FOR_EACH_CELL(h, c)                                                                              \
	for (rav_cell *pg_ = (h)->first; pg_; pg_ = pg_ == (h)->top_page ? NULL : (rav_cell *)pg_->w[PH_NEXT]) \
		for (rav_cell *c = pg_ + 1, *end_ = pg_ + (pg_ == (h)->top_page ? (h)->top : CELLS); c < end_; c++)

static void mark_roots(rav_heap *h, mark_stack *s)
{
	if (h->kind == RAV_HEAP_THREAD) {
		for (rav_cell *p = h->root_first; p; p = (rav_cell *)p->w[PH_NEXT]) {
			unsigned fill = p == h->root_first ? h->root_bump : CELLS;
			for (unsigned i = 1; i < fill; i++)
				for (int w = 1; w < 4; w++) {
					push(s, (rav_cell *)p[i].w[w]);
					mark_from(s);
				}
		}
	} else {
		FOR_EACH_CELL(h, c)
		{
			if (cell_type(c) != RAV_TYPE_ROOT)
				continue;
			for (int w = 1; w < 4; w++) {
				push(s, (rav_cell *)c->w[w]);
				mark_from(s);
			}
		}
	}
}

size_t rav_collect(rav_heap *h)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_collect: null heap");
		return 0;
	}
	if (!CHECK_OWNER(h, "rav_collect"))
		return 0;
	RAV_SAFEPOINT(h);
	rav__cascade(h, 0); /* dying cells first: their back-link words are queue links */
	REC(RAV_EV_GC_BEGIN, 0, h->id, 0, 0, 0);
	mark_stack s = { 0 };
	mark_roots(h, &s);
	free(s.v);
	if (s.failed) {
		/* Could not mark everything: freeing now would free live cells. */
		FOR_EACH_CELL(h, c) c->w[0] &= ~RAV_FLAG_MARK;
		rav__fail(RAV_ENOMEM, "rav_collect: out of memory for the mark stack; nothing was freed");
		REC(RAV_EV_GC_END, 0, h->id, 0, 0, 0);
		return 0;
	}
	size_t freed = 0;
	/* 1: cut references held by garbage. */
	FOR_EACH_CELL(h, c)
	{
		rav_type t = cell_type(c);
		if ((c->w[0] & RAV_FLAG_MARK) || t == RAV_TYPE_DEAD || t == RAV_TYPE_REF || t == RAV_TYPE_ROOT)
			continue;
		unsigned mask = type_refmask(t);
		if ((mask & 1) && c->w[1])
			rav__drop_no_cascade(h, &c->w[1]);
		if ((mask & 2) && c->w[2])
			rav__drop_no_cascade(h, &c->w[2]);
	}
	/* 2: free garbage, unmark the living. */
	FOR_EACH_CELL(h, c)
	{
		rav_type t = cell_type(c);
		if (t == RAV_TYPE_DEAD || t == RAV_TYPE_ROOT)
			continue;
		if (c->w[0] & RAV_FLAG_MARK) {
			c->w[0] &= ~RAV_FLAG_MARK;
			continue;
		}
		c->w[RAV_W_BACK] = 0;
		rav__make_dead(h, c);
		freed++;
	}
	REC(RAV_EV_GC_END, 0, h->id, freed, 0, 0);
	if (h->kind == RAV_HEAP_THREAD)
		rav__compact(h, 0, RAV_COMPACT_COLLECT);
	return freed;
}
