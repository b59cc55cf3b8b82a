/* engine-view.h - the engine's own view of a heap at a checkpoint, and its
 * comparison with a replayed state, cell by cell: what the exactness tests
 * (replay-exact.c for a recording made from the start, attach-exact.c for
 * one made by attaching) both check.
 *
 * The view is taken with rav_heap_walk (every page with its fill, every
 * cell's type, scalar, fields and back-links as rav_loc) and rav_heap_stats.
 * Dead cells (deferred mode) are compared by state only: the engine keeps
 * its hole list in their words without recording those writes.  Likewise
 * the back-link word of a cell queued for the deferred kill cascade
 * (RAV_FLAG_DYING) holds the queue link, not a back-link; its other words
 * are compared.
 */
#ifndef RAV_TEST_ENGINE_VIEW_H
#define RAV_TEST_ENGINE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ravioli.h"
#include "ravtrace.h"

typedef struct engine_view_cell {
	uint32_t page, slot;
	bool dying;
	uint16_t type;
	uint64_t scalar;
	uint64_t field[2], back[2];
} engine_view_cell;

typedef struct engine_view_page {
	uint32_t page, fill;
	bool root;
} engine_view_page;

typedef struct engine_view {
	unsigned heap_id;
	engine_view_page *pages;
	size_t npages, pcap;
	engine_view_cell *cells;
	size_t ncells, ccap;
	rav_stats st;
} engine_view;

/* The heap must stand still (its owner, or a thread it is quiet for). */
void engine_view_take(rav_heap *h, engine_view *v);
void engine_view_free(engine_view *v);

/* Compare the heap of v with the same heap in the replayed state s at
 * checkpoint cp.  Returns false, without reporting anything, if the heap is
 * not alive in s (after a loss, a heap is back only once its owner was
 * snapshotted again: the caller decides whether that is a failure).  Every
 * difference is printed on stderr and counted in *failures (the first ten
 * cells that differ, then it stops looking at cells). */
bool engine_view_compare(int cp, const engine_view *v, const rav_state *s, int *failures);

#endif /* RAV_TEST_ENGINE_VIEW_H */
