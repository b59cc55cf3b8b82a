/* free.c - the life of a free, told once and in order: dropping a
 * reference, the kill cascade, compaction (trims and moves) and the release
 * of emptied pages.  The steps are in the files named at the end; this one
 * has step 5 and the free-mode entry points.
 *
 * Invariants (checked in full by rav_heap_check, cheaply by rav_assert):
 *  1. No gaps: the live cells of a thread heap fill its data pages in list
 *     order up to the top, except dead cells (holes) queued on h->dead,
 *     which exist only inside an API call in immediate mode, and between
 *     rav_compact steps in deferred mode.
 *  2. Every reference is known in both directions: a normal raviolo's
 *     back-link names the one slot that refers to it; with several referrers
 *     the slot refers to a reference raviolo whose two back-links name its
 *     two referring slots and whose forward link leads on towards the target.
 *     A reference raviolo's scalar counts the leaf slots above it, so a new
 *     referrer is inserted on the lighter side: the tree stays balanced and a
 *     dereference costs O(log k) hops for k referrers.
 *  3. Moving a cell touches O(1) words: the slot(s) naming it and the
 *     back-links of its children.
 *  4. Nothing moves while a cell is dying (its back-link word is a queue
 *     link, so a move could not fix it), and cells above the top are empty.
 *
 * The life of a free, in order.  Every way of letting go of a reference
 * (rav_root_clear, rav_clear_ref, an overwrite by rav_store_ref /
 * rav_root_set / rav_new_*, the value rav_move drops, rav_vec_pop, ...)
 * takes the same path, one name per step.  A cell goes live -> dying ->
 * dead -> empty:
 *
 *   1. rav__drop(slot)         The slot lets go of its target.  A reference
 *                              raviolo in between is spliced out (its other
 *                              referrer takes its target) and made dead at
 *                              once; a normal raviolo left with no referrer
 *   2. rav__queue_dying(c)     becomes dying: RAV_FLAG_DYING, pushed on
 *                              h->dying through its back-link word, fields
 *                              intact so its children stay consistent.
 *                              Immediate mode (and message heaps) run the
 *                              cascade now; deferred mode leaves it to
 *                              rav_compact, so dropping a huge structure is
 *                              O(1) in the dropping call.  (A cell without
 *                              children skips the queue: its cascade is
 *                              step 4 alone, O(1) in either mode.)
 *   3. rav__cascade(budget)    Takes dying cells one at a time and drops
 *                              their reference fields: a child held only
 *                              there is queued in turn (without clearing
 *                              words that are about to die), a shared child
 *                              loses one referrer.  Then
 *   4. rav__make_dead(c)       the cell becomes a dead hole on h->dead
 *                              (RAV_EV_FREE).  Frees never recurse.
 *   5. rav__settle(h)          At the end of the API call, immediate mode
 *                              compacts (RAV_COMPACT_FREE):
 *   6. rav__compact(budget, reason)  until no hole is left, from the top
 *                              down.  Dead cells at the top are trimmed
 *                              (RAV_EV_TRIM each); runs of them the cascade
 *                              killed at adjacent addresses leave the hole
 *                              list as one segment, unread, and a page such a
 *                              run empties is left dirty, zeroed when used
 *                              again (trim_run): freeing the structure
 *                              allocated last truncates the heap, moves
 *                              nothing and reads its cells once.  A live
 *                              top cell
 *   7. rav__move(top, hole)    moves into the most recent hole: 4 words
 *                              copied, the slot(s) naming it and its
 *                              children's back-links fixed (RAV_EV_FIXUP).
 *                              Runs of moves are batched so their cache
 *                              misses overlap: the cells a few moves ahead
 *                              are prefetched (bounded steps: and their
 *                              neighbours).
 *                              A whole compaction (no budget) does 6-8 in
 *                              one pass over the cells above where the
 *                              top will end (sweep): holes above it are
 *                              never unlinked one by one, and the pages it
 *                              empties are marked dirty at once.  Bounded
 *                              steps (deferred mode) go cell by cell.
 *   8. rav__shrink(h)          Each trim or move takes the top down one cell;
 *                              when the top page empties the top goes to the
 *                              page before, and
 *   9. release_empty_pages(h)  every empty page past one spare goes back to
 *                              the pool (hysteresis: a heap hovering at a
 *                              page boundary does not hammer the pool).
 *
 * Shortcuts:
 *  - a structure allocated last and let go of whole at the end of a call
 *    (rav_root_clear, rav_root_free, a slot set to null; rav_compact and
 *    any cascade run by itself) is read once by the top cascade and the
 *    heap truncated below it: steps 4-8 are skipped, nothing is written
 *    into its cells (cascade_top; recording off only);
 *  - a structure let go of whole that way but lying among survivors (a
 *    list whose cells alternate with another's) kills into an array
 *    instead of the hole list, then fills the holes from the top in one
 *    walk that knows every hole's address in advance (kill_whole: steps
 *    3-8 with no list or run words written; recording off only);
 *  - rav_msg_adopt hands the pages of a subtree that is exactly the heap's
 *    top cells to the message (msg.c, rav__top_region_mark);
 *  - rav_move dropping a cell without children (a list pop) in an
 *    immediate-mode heap without holes moves the top cell straight into it
 *    (free_alone_t in heap-inline.h; untraced, the list pop's one-pass
 *    copy pop_fast in access.c): its hole never joins the hole list, the
 *    events are those of steps 4-8;
 *  - in a heap without reference ravioli (st.ref_cells 0), the back-link
 *    a pop or a push rewrites in a cold cell is written without reading
 *    the cell's type word (backlink_slot_in in heap-inline.h);
 *  - in deferred mode rav_new_before fills the newest hole inline
 *    (alloc_hole_t): a pop and a push then move nothing.
 *
 * The pin: rav_new_root and rav_new_field return the new cell after
 * compacting; h->pinned holds it across the compaction and rav__move keeps
 * it up to date.  No other cell address survives a compaction.
 *
 * Files: the steps above are in four files, each opening with its part
 * of this story: steps 1-4 (drop, queue, the cascades) in cascade.c, steps
 * 6-8 (trims, moves, the one-pass sweep) in compact.c, the boundary, the
 * truncation and step 9 in truncate.c, the bulk kill among survivors in
 * bulk-kill.c; what they share is free-private.h.  This file keeps the
 * story, step 5 and the free-mode entry points (rav_set_free_mode,
 * rav_compact).  The steps that run in every API call are inline functions
 * in heap-inline.h; allocation and the hole list's out-of-line functions
 * are heap.c; the public entry points that use them (roots, fields,
 * rav_move, ...) and the reference trees (attach, transfer) are access.c;
 * heap lifetime, page lists, roots and the debug checks are roots.c.
 */
#include "heap-inline.h"

void rav__settle(rav_heap *h)
{
	settle(h);
}

void rav_set_free_mode(rav_heap *h, rav_free_mode mode)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_set_free_mode: null heap");
		return;
	}
	if (!CHECK_OWNER(h, "rav_set_free_mode"))
		return;
	RAV_SAFEPOINT(h);
	if (mode != RAV_FREE_IMMEDIATE && mode != RAV_FREE_DEFERRED) {
		rav__misuse(RAV_EINVAL, "rav_set_free_mode: %d is not a free mode", (int)mode);
		return;
	}
	h->mode = mode;
	if (mode == RAV_FREE_IMMEDIATE) {
		rav__cascade(h, 0);
		rav__settle(h);
	}
}

/* One bounded step of deferred work: first the kill cascade, then moves. */
size_t rav_compact(rav_heap *h, size_t max_moves)
{
	RAV_SITE_ENTER();
	if (!h) {
		rav__misuse(RAV_EINVAL, "rav_compact: null heap");
		return 0;
	}
	if (!CHECK_OWNER(h, "rav_compact"))
		return 0;
	RAV_SAFEPOINT(h);
	size_t done = 0;
	if (h->dying) {
		done = rav__cascade(h, max_moves);
		if (h->dying)
			return h->st.dead_cells + h->st.dying_cells;
	}
	if (max_moves && done >= max_moves)
		return h->st.dead_cells;
	return rav__compact(h, max_moves ? max_moves - done : 0, RAV_COMPACT_DEFERRED);
}
