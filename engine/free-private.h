/* free-private.h - what the files of a free share (free.c tells the whole
 * story; cascade.c, compact.c, truncate.c and bulk-kill.c hold its steps):
 * the boundary of a compaction and the few functions one step calls in
 * another file.  Engine-internal: included by those files only.
 */
#ifndef RAV_FREE_PRIVATE_H
#define RAV_FREE_PRIVATE_H

#include "heap-inline.h"

/* Where the top will be once every hole is gone: D cells below the top,
 * D the number of holes.  A hole at or above that boundary is never
 * filled: it is about to be trimmed, and moving a cell into it would only
 * move that cell again (a structure freed below a few cells allocated after
 * it would cost a move per freed cell).  Pages wholly above the boundary
 * carry PAGE_DOOMED in their header while the compaction runs. */
typedef rav_top_region boundary; /* (rav-private.h: PAGE_DOOMED, rav__in_top_region) */

static inline bool doomed(boundary b, const rav_cell *c)
{
	return rav__in_top_region(b, c);
}

/* The next cell of the dying list (cells whose last reference went while
 * a cascade ran), taken off it; the list must not be empty. */
static inline __attribute__((always_inline)) rav_cell *dying_pop(rav_heap *h)
{
	rav_cell *d = h->dying;
	rav_assert(d && (d->w[0] & RAV_FLAG_DYING));
	h->dying = (rav_cell *)d->w[RAV_W_BACK];
	h->st.dying_cells--;
	return d;
}

/* How many cells ahead a compaction prefetches (compact.c, bulk-kill.c). */
enum { AHEAD = 4 };

/* cascade.c: the cascade's stack of pending children, and the rest of a
 * whole cascade, untraced (bulk-kill.c's way back when out of memory). */
bool rav__pending_room(rav_heap *h, size_t sp);
void rav__pending_ref_lost(rav_heap *h, rav_cell *p, size_t *sp);
bool rav__cascade_push_slow(rav_heap *h, rav_cell *d, int f, size_t sp);
size_t rav__cascade_rest(rav_heap *h, size_t sp, rav_cell *nx);
/* truncate.c: the boundary, marked and cleared, and the truncation. */
boundary rav__mark_top(rav_heap *h, uint64_t left, size_t max_pages);
void rav__clear_boundary(rav_heap *h);
void rav__truncate_to(rav_heap *h, rav_top_region b, bool trimmed);
/* bulk-kill.c: after the top cascade gave up (cascade.c, cascade_whole). */
size_t rav__kill_whole(rav_heap *h, size_t sp, rav_cell *nx, bool finished);

#endif /* RAV_FREE_PRIVATE_H */
