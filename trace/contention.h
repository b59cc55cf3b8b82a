/* contention.h - the contention model fed by hand, for tests: the model of
 * contention.c without a trace behind it (rav_contention_run feeds it
 * from a trace's cursor).
 */
#ifndef RAVT_CONTENTION_H
#define RAVT_CONTENTION_H

#include "ravtrace.h"

/* thread_ids[i] is the heap id of thread index i.  With cfg->to == 0 every
 * event falls in window 0 unless cfg->to gives the event range the windows
 * cover.  Feed events in order, then finish before reading results with the
 * public rav_contention_*. */
rav_contention *ravt_contention_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size,
                                             const rav_contention_config *cfg, const uint32_t *thread_ids,
                                             unsigned nthreads, rav_trace_error *err);
bool ravt_contention_feed(rav_contention *c, const rav_event *ev); /* false: out of memory */
bool ravt_contention_finish(rav_contention *c, rav_trace_error *err);

#endif /* RAVT_CONTENTION_H */
