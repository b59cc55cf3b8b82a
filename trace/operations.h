/* operations.h - grouping a thread's events into the operations a person
 * thinks in (ravtrace.h: rav_trace_operation_at), for the rest of trace/.
 *
 * The segmentation is a small state machine per recording thread that sees
 * the thread's events in order and says which one starts an operation; it
 * is exposed so the unit test can drive it with hand-made event sequences,
 * without a trace file.
 */
#ifndef RAVT_OPERATIONS_H
#define RAVT_OPERATIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "ravtrace.h"

typedef struct ravt_opseg {
	uint8_t cls;        /* what the open operation is (operations.c) */
	uint8_t phase;      /* how far it got */
	bool closed;        /* complete: the next event that is not a clock reading starts another */
	bool dropped;       /* it cleared a slot */
	uint16_t prev_kind; /* the thread's previous event */
	uint32_t bracket;   /* message heap whose end closes a receive or a deserialization */
	uint32_t run;       /* length of a run of accesses or type definitions */
	rav_loc alloc_cell; /* the (non-reference) cell it allocated */
	rav_loc drop_slot;  /* the slot its first drop cleared */
} ravt_opseg;

/* Feed the thread's next event; true when it starts a new operation.
 * A zeroed ravt_opseg is a thread before its first event. */
bool ravt_opseg_feed(ravt_opseg *s, const rav_event *ev);

/* Free what rav_trace_operation_at built for a trace (trace.c's extension
 * slot destructor). */
void ravt_ops_free(void *ops);

#endif /* RAVT_OPERATIONS_H */
