/* pipeline.h - a sink that feeds other sinks on a worker thread, so that
 * indexing decodes and merges on one core while the consumers (tables,
 * replay with its keyframes, series and history) work on another.
 *
 * The reader delivers to the pipeline's sink exactly as it would to the
 * consumers (sink.h); the pipeline copies what it gets into a ring of
 * fixed slots (RAVT_PIPE_SLOTS of RAVT_PIPE_EVENTS events: its memory is
 * bounded) and the worker hands the slots to the consumers in the same
 * order, with the same operations.  The producer waits when the ring is
 * full, the worker when it is empty.
 *
 * ravt_pipeline_drain returns once the consumers have been given
 * everything: an index or poll call drains before it returns, so what
 * callers see afterwards is what the same call on one thread would have
 * left (rav_trace_index returns with replay done; a snapshot piece, which
 * points into the reader's tables, is used before the next poll can grow
 * them).  Between drains, replay runs behind the merge: readers already use
 * the events both merged and applied (trace.c, replay-state.c).
 */
#ifndef RAVT_PIPELINE_H
#define RAVT_PIPELINE_H

#include "sink.h"

#define RAVT_PIPE_SLOTS 16
#define RAVT_PIPE_EVENTS 256

typedef struct ravt_pipeline ravt_pipeline;

/* A pipeline in front of sinks[0..n) (not owned; n <= 4).  NULL when there
 * is only one CPU, when RAVTRACE_THREADS=1 asks for indexing on the
 * caller's thread alone, or when the worker cannot be started: the caller
 * then delivers to the sinks itself. */
ravt_pipeline *ravt_pipeline_new(ravt_sink *const *sinks, size_t n);
ravt_sink *ravt_pipeline_sink(ravt_pipeline *p);
/* Consumer i asks for memory some events ahead of the one it handles
 * (replay: replay-apply.h): the worker then calls `ahead` instead of its
 * events() when the slot after the one it runs is already filled, with
 * that slot's events (next[0..nnext): the next call's, unchanged until
 * then), so that the lead carries over the slot's end.  Before the first
 * delivery. */
typedef void (*ravt_events_ahead)(ravt_sink *sink, const rav_event *evs, size_t n, const rav_event *next,
                                  size_t nnext);
void ravt_pipeline_set_ahead(ravt_pipeline *p, size_t i, ravt_events_ahead ahead);
/* Wait until everything delivered to the pipeline's sink has reached the
 * consumers. */
void ravt_pipeline_drain(ravt_pipeline *p);
/* Drains, stops the worker and frees the pipeline (NULL: nothing). */
void ravt_pipeline_free(ravt_pipeline *p);

#endif /* RAVT_PIPELINE_H */
