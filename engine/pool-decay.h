/* pool-decay.h - how many free pages the page pool keeps warm (pool.c).
 *
 * The pool keeps committed, beyond the pages in use, what the program used
 * at its recent peak: the mark.  A program that drops its working set and
 * builds it again (a request's data, a frame, the next round of a
 * benchmark) then finds its pages committed; one that freed memory for
 * good gets it back within a stated time.
 *
 * The mark is the number of pages out of the shared pool (held by heaps,
 * messages and threads' caches) at the last moment that use stood at or
 * above the mark as it then was.  From that moment the mark is held whole
 * for hold_ns, then falls linearly to zero over fall_ns (purge_decay_ms is
 * hold + fall, half each).  Use rising to the mark, decayed or not, puts
 * it back up to the use and starts it again, so a program rebuilding
 * within the hold recommits nothing, and one rebuilding a little later
 * recommits only what the fall took.  Warm pages kept:
 *
 *     keep(t) = max(floor, mark(t) - out(t))     floor = pool_hot_pages
 *
 * and a warm page beyond keep(t) goes back to the OS once unused for the
 * purge delay (the oldest first).  After the last fall from a peak,
 * resident memory is back to what is in use + floor + the caches within
 * hold + fall (plus a tick of the purge thread, fall/8).
 *
 * Why not jemalloc's decay or mimalloc's delay (studied, not copied):
 *  - jemalloc ("dirty_decay_ms", 10 s): the pages freed in each of 200
 *    epochs of the decay time may stay dirty in the proportion of a
 *    smoothstep curve of their age, 1 -> 0 over the decay time; every
 *    purge brings the dirty count down to that sum.  Smooth, but a rebuild
 *    is never free: 300 ms into a 1 s decay, 22 % of the pages are gone.
 *  - mimalloc ("purge_delay", 10 ms in v2): each freed page is purged a
 *    delay after it was freed (the age rule the pool had: 100 ms); a longer
 *    delay lengthens the time to give memory back by as much.
 *  - a mark that halves every period: the time to come down grows with the
 *    log of the amount freed (250k pages to 64: 12 periods).
 * A held-then-falling mark gives both a whole window for rebuilds and one
 * stated time for the return, whatever the size.
 *
 * Pure functions of (mark, time): tested with made-up times in
 * tests/engine/test-engine-pool-decay.c.
 */
#ifndef RAV_POOL_DECAY_H
#define RAV_POOL_DECAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct rav_pool_mark {
	size_t peak;      /* pages out at the recent peak */
	uint64_t peak_ns; /* when use last stood at or above the mark */
	uint64_t hold_ns; /* the mark stays whole this long after peak_ns, */
	uint64_t fall_ns; /* then falls linearly to 0 over this */
} rav_pool_mark;

/* The mark at time now (pages). */
static inline size_t rav_mark_at(const rav_pool_mark *m, uint64_t now)
{
	uint64_t age = now > m->peak_ns ? now - m->peak_ns : 0;
	if (age <= m->hold_ns)
		return m->peak;
	age -= m->hold_ns;
	if (age >= m->fall_ns)
		return 0;
	/* (in double: pages x ns overflows 64 bits for long falls) */
	size_t gone = (size_t)((double)m->peak * (double)age / (double)m->fall_ns);
	return gone < m->peak ? m->peak - gone : 0;
}

/* Use is `out` pages at time now: at or above the mark, the mark follows
 * it and starts again. */
static inline void rav_mark_note(rav_pool_mark *m, size_t out, uint64_t now)
{
	if (out >= m->peak || out >= rav_mark_at(m, now)) {
		m->peak = out;
		if (now > m->peak_ns) /* (callers read the clock before the lock) */
			m->peak_ns = now;
	}
}

/* Warm pages the pool keeps at time now, with `out` pages in use. */
static inline size_t rav_mark_keep(const rav_pool_mark *m, size_t out, size_t floor, uint64_t now)
{
	size_t held = rav_mark_at(m, now);
	size_t above = held > out ? held - out : 0;
	return above > floor ? above : floor;
}

/* When the mark next falls (lowering keep), if it still can: the end of
 * the hold, then steps of tick through the fall, then its end.  0: it is
 * at zero for good. */
static inline uint64_t rav_mark_next_ns(const rav_pool_mark *m, uint64_t now, uint64_t tick)
{
	uint64_t hold_end = m->peak_ns + m->hold_ns, end = hold_end + m->fall_ns;
	if (m->peak == 0 || now >= end)
		return 0;
	if (now < hold_end)
		return hold_end + (tick < m->fall_ns ? tick : m->fall_ns);
	return now + tick < end ? now + tick : end;
}

/* Tests only: move the pool's clock forward by ns (pool.c) and wake its
 * purge thread, so a test sees the decay without waiting for it. */
void rav__pool_clock_advance(uint64_t ns);

#endif
