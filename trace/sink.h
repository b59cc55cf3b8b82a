/* sink.h - how decoded events reach the consumers that index them.
 *
 * The reader decodes every event once, in the merged global order, and hands
 * the events to each consumer (thread and type tables, replay with its
 * keyframes, series and history filter; later a live stream) through this
 * interface.  The reader knows nothing of its consumers beyond it, and the
 * consumers never call back into the reader while they are being fed, so
 * reader and consumers do not depend on each other's internals.
 *
 * Indexing is incremental: a consumer sees a sequence of deliveries, each
 *
 *	begin(from)  events(evs, n) ... events(evs, n)  end(upto, final)
 *
 * where `from` is the number of events delivered before (0 the first time)
 * and the events carry the global indices from, from + 1, ... without gaps.
 * A file is indexed in one delivery or a few (rav_trace_index reports
 * progress between them; a cancelled index continues with the next one); a
 * stream gets one delivery per poll that brought new events.  After end() a
 * consumer makes what it has built visible to other threads; `final` says
 * no event will follow (the file is indexed to its end, the stream ended,
 * or a chunk failed to decode).  Texts (ev->text) stay valid until the
 * trace is closed.
 *
 * Snapshots (FORMAT.md §11: the state of a heap, of the types or of the
 * pool, when a client attached to a running program) come as one more
 * operation: the `snapshot` event is delivered (it ends a call to events),
 * then snapshot(ev, piece) with the piece it names (NULL if the trace does
 * not hold it whole), before any later event.  Replay installs the state,
 * the tables take the names it carries; consumers that do not need it leave
 * the operation NULL.
 */
#ifndef RAVT_SINK_H
#define RAVT_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rav-record.h"
#include "ravtrace.h"
#include "snapshot.h"

typedef struct ravt_sink ravt_sink;

/* The kinds that name threads, heaps, types and marks (HEAP_NEW and
 * THREAD_START, THREAD_NAME, HEAP_END and THREAD_END, TYPE_DEF, the
 * messages' BUILD, SEND and RECV, MARK and ERROR): few in any trace, and
 * what the tables look for among the events. */
#define RAVT_SPAN_NAMING_KINDS                                                                               \
	((1ull << RAV_EV_HEAP_NEW) | (1ull << RAV_EV_THREAD_START) | (1ull << RAV_EV_THREAD_NAME) |          \
	 (1ull << RAV_EV_HEAP_END) | (1ull << RAV_EV_THREAD_END) | (1ull << RAV_EV_TYPE_DEF) |               \
	 (1ull << RAV_EV_MSG_BUILD) | (1ull << RAV_EV_MSG_SEND) | (1ull << RAV_EV_MSG_RECV) |                \
	 (1ull << RAV_EV_MARK) | (1ull << RAV_EV_ERROR))

/* What the reader knows, without reading them, of a run of the events it
 * delivers (events_spans): the decoder gave them in one piece or a few,
 * from one thread's chunk. */
typedef struct ravt_span {
	uint32_t at, n;     /* evs[at .. at + n) of the call */
	uint32_t thread;    /* every one's ev->thread */
	bool naming;        /* false: none has a kind of RAVT_SPAN_NAMING_KINDS (true: some may) */
	uint64_t latest_ns; /* the largest ev->time_ns among them */
} ravt_span;

typedef struct ravt_sink_ops {
	void (*begin)(ravt_sink *sink, uint64_t from);
	/* n >= 1 events; evs[0].index is the next index after those delivered. */
	void (*events)(ravt_sink *sink, const rav_event *evs, size_t n);
	void (*end)(ravt_sink *sink, uint64_t upto, bool final);
	/* optional: the piece a snapshot event (just delivered) names */
	void (*snapshot)(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece);
	/* optional, for the last of the sinks fed (the pipeline): room for up
	 * to *room (>= 1) events in the sink's own memory, where the reader
	 * decodes the next events in place of its batch and then passes that
	 * pointer to every sink's events() as usual (those before it read the
	 * events there; its own then copies nothing).  Valid until the next
	 * call on the sink; after begin(). */
	rav_event *(*reserve)(ravt_sink *sink, size_t *room);
	/* optional: events() with the spans that cover evs[0 .. n) in order
	 * (nspans >= 1; two in a row may have the same thread), called instead
	 * of events() by the reader's merge, so that a sink that wants to
	 * know which threads recorded the events, their latest time or
	 * whether any names something need not test every event (the tables:
	 * 16 instructions an event on the decoding thread).  Other callers
	 * (tests, the pipeline's worker) call events(). */
	void (*events_spans)(ravt_sink *sink, const rav_event *evs, size_t n, const ravt_span *spans,
	                     size_t nspans);
} ravt_sink_ops;

/* Consumers embed this as their first member. */
struct ravt_sink {
	const ravt_sink_ops *ops;
};

#endif /* RAVT_SINK_H */
