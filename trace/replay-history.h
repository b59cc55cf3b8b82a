/* replay-history.h - the history of one raviolo (rav_trace_cell_history)
 * and the filter that makes it fast on long traces.
 *
 * While replay applies events it marks, per block of RAVT_HISTORY_BLOCK
 * events, which pages the block's heap writes touched (a 4096-bit filter;
 * a page index is hashed by its low bits).  A history query then decodes
 * only the blocks whose filter has the cell's current page.
 */
#ifndef RAVT_REPLAY_HISTORY_H
#define RAVT_REPLAY_HISTORY_H

#include <pthread.h>

#include "rav-record.h"
#include "reader.h"

#define RAVT_HISTORY_BLOCK ((uint64_t)1 << 14)
#define RAVT_HISTORY_BITS 4096u

typedef struct ravt_history {
	pthread_mutex_t lock; /* the index thread writes blocks; queries copy them under it */
	ravt_budget *budget;  /* a filter per block of events */
	uint8_t (*bloom)[RAVT_HISTORY_BITS / 8];
	size_t nblocks, cap;
	/* the filter could not grow: it covers the first nblocks blocks, and
	 * queries scan every later block whole (slower, still exact) */
	bool stopped;
	/* the block being filled: a byte per filter bit, so that a mark is one
	 * store (replay marks up to three pages per event); folded into bits
	 * when the block ends or is published.  The last byte takes the marks
	 * of locations that name no page. */
	uint8_t hit[RAVT_HISTORY_BITS + 1];
	/* the block being filled as last published: its index and the events it covers */
	bool pub_valid;
	size_t pub_block;
	uint64_t pub_end;
	uint8_t pub[RAVT_HISTORY_BITS / 8];
} ravt_history;

ravt_history *ravt_history_new(ravt_budget *budget);
void ravt_history_free(ravt_history *h);
/* A block ends (at an event index that is a multiple of the block size):
 * how many of its filter's bits are set (the pages its writes touched, as
 * far as the 4096-bit hash tells them apart; RAVT_HISTORY_BITS when the
 * filter stopped). */
unsigned ravt_history_block_end(ravt_history *h);
/* Make the block being filled, covering events up to `end`, visible. */
void ravt_history_publish(ravt_history *h, uint64_t end);

static inline void ravt_history_mark(uint8_t *hit, rav_loc l)
{
	/* (no branch on the location: null and external ones mark the spare byte) */
	uint32_t p = rav_loc_page(l) % RAVT_HISTORY_BITS;
	hit[l && !(l & RAV_LOC_EXTERNAL) ? p : RAVT_HISTORY_BITS] = 1;
}
/* The same for a location known to name a cell of page pg (replay has
 * found the page in use): no test of the location.  (Location 0 names
 * page 0's header cell: marking page 0 for it, where ravt_history_mark
 * marks the spare byte, only costs a query of that page a block's scan.) */
static inline void ravt_history_mark_page(uint8_t *hit, uint32_t pg)
{
	hit[pg % RAVT_HISTORY_BITS] = 1;
}

/* Which locations of an event are marked (a for cell and slot events, b
 * too for a move, a, b and c for reference writes): ravt_apply_marked
 * (replay-apply.h) marks them as it applies the event. */

/* rav_trace_cell_history over the first `available` events (merged and
 * applied), reading them through a cursor on rd. */
unsigned ravt_history_query(ravt_history *h, ravt_reader *rd, uint64_t available, rav_loc cell, uint64_t at,
                            rav_cell_event *out, unsigned max, unsigned *total);

#endif /* RAVT_REPLAY_HISTORY_H */
