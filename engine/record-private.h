/* record-private.h - what the two halves of the engine's recording side
 * share: record.c (per-thread buffers, the recording paths, the registry
 * of recording threads) and record-live.c (live sessions: epochs, safe
 * points, snapshots, parked threads, the census).  Nothing outside them
 * includes it; the rest of the engine sees rav-private.h only.
 */
#ifndef RAV_RECORD_PRIVATE_H
#define RAV_RECORD_PRIVATE_H

#include "rav-private.h"

/* A thread that records: its entry in the registry live readers walk. */
typedef struct rav_thread_rec {
	struct rav_thread_rec *next, *prev;
	rav_evbuf *active; /* atomic: the buffer the thread appends to */
	uint32_t id;       /* rav_evbuf.owner */
	uint32_t serial;   /* serial of the thread's next buffer in its epoch */
	uint64_t dropped;  /* atomic: events lost for want of a buffer */
	uint32_t left;     /* the epoch the thread left for good (record-live.c, leave_epoch) */
} rav_thread_rec;

extern pthread_mutex_t rav__recs_lock;
extern rav_thread_rec *rav__recs;
extern _Thread_local rav_thread_rec *rav__tl_rec;
extern uint64_t rav__dropped_gone; /* atomic: `dropped` of threads that ended */
/* Events refused while a thread has no buffer before it asks again. */
extern _Thread_local unsigned rav__tl_backoff;

/* The calling thread's record, registered on first use (NULL on ENOMEM:
 * the thread then records without being read live). */
rav_thread_rec *rav__thread_rec(void);
void rav__set_active(rav_thread_rec *rec, rav_evbuf *b);
/* Hand the thread's buffer to the recorder and take a fresh one in the
 * thread's epoch; NULL if refused (the thread then has none). */
rav_evbuf *rav__exchange(void);
/* Continue in b (a buffer a sweep started for the thread while it slept);
 * the one the thread held goes back to the recorder. */
void rav__adopt_buffer(rav_evbuf *b);

#endif
