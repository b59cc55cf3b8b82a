/* pipeline.c - the consumers of the merged events on a worker thread
 * (pipeline.h).
 *
 * A ring of RAVT_PIPE_SLOTS slots between one producer (the thread that
 * indexes: it merges and decodes) and one worker (it runs the consumers).
 * The producer fills the slot after the published ones and publishes it
 * when it is full or when an operation other than events comes (begin,
 * end, snapshot: each takes a slot of its own, so order is kept); the
 * worker runs the oldest published slot and then frees it.  The slots'
 * contents are handed over under the mutex, so a slot is written by one
 * thread at a time.
 *
 * A consumer that asks for memory ahead of the event it handles
 * (replay: replay-apply.h) is shown the next slot too when it is already
 * published (ravt_pipeline_set_ahead), so that the first events of each
 * slot have been asked for as early as the others.
 *
 * Sleeping and waking cost microseconds, as much as a slot's work: a
 * waiting side is woken only when half the ring is ready for it (or when
 * the producer flushes: an operation other than events, or a drain), so
 * the two threads hand over work in bursts of several slots.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"

enum { OP_EVENTS, OP_BEGIN, OP_END, OP_SNAPSHOT };

typedef struct slot {
	uint8_t op;
	bool final;          /* OP_END */
	uint32_t n;          /* OP_EVENTS: events in ev */
	uint64_t arg;        /* OP_BEGIN: from; OP_END: upto */
	const ravt_piece *piece; /* OP_SNAPSHOT (ev[0] is its event) */
	rav_event ev[RAVT_PIPE_EVENTS];
} slot;

#define MAX_SINKS 4

struct ravt_pipeline {
	ravt_sink sink;
	ravt_sink *sinks[MAX_SINKS];
	ravt_events_ahead ahead[MAX_SINKS]; /* (NULL: events()) */
	size_t nsinks;
	pthread_t worker;
	pthread_mutex_t lock;
	pthread_cond_t work, room, idle;
	/* under lock */
	unsigned head;  /* oldest published slot */
	unsigned count; /* slots published and not yet run to the end */
	bool stop, worker_waits, producer_waits;
	/* the producer's own */
	slot *cur; /* the slot being filled, or NULL */
	slot slots[RAVT_PIPE_SLOTS];
};

/* ---- the worker ------------------------------------------------------------------ */

/* Run slot s; nx: the slot after it when it is published and holds
 * events (NULL otherwise), shown to consumers that look ahead. */
static void run_slot(ravt_pipeline *p, const slot *s, const slot *nx)
{
	for (size_t i = 0; i < p->nsinks; i++) {
		ravt_sink *k = p->sinks[i];
		switch (s->op) {
		case OP_EVENTS:
			if (nx && p->ahead[i])
				p->ahead[i](k, s->ev, s->n, nx->ev, nx->n);
			else
				k->ops->events(k, s->ev, s->n);
			break;
		case OP_BEGIN:
			k->ops->begin(k, s->arg);
			break;
		case OP_END:
			k->ops->end(k, s->arg, s->final);
			break;
		default:
			if (k->ops->snapshot)
				k->ops->snapshot(k, &s->ev[0], s->piece);
			break;
		}
	}
}

static void *worker_main(void *arg)
{
	ravt_pipeline *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->count == 0 && !p->stop) {
			p->worker_waits = true;
			pthread_cond_wait(&p->work, &p->lock);
		}
		p->worker_waits = false;
		if (p->count == 0)
			break; /* stop, and nothing left */
		const slot *s = &p->slots[p->head];
		/* a published slot stays as it is until the worker frees it, and
		 * this one is freed after s */
		const slot *nx = p->count >= 2 ? &p->slots[(p->head + 1) % RAVT_PIPE_SLOTS] : NULL;
		if (nx && (nx->op != OP_EVENTS || nx->n == 0))
			nx = NULL;
		pthread_mutex_unlock(&p->lock);
		run_slot(p, s, nx);
		pthread_mutex_lock(&p->lock);
		p->head = (p->head + 1) % RAVT_PIPE_SLOTS;
		p->count--;
		if (p->producer_waits && p->count <= RAVT_PIPE_SLOTS / 2)
			pthread_cond_signal(&p->room);
		if (p->count == 0)
			pthread_cond_broadcast(&p->idle);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* ---- the producer ---------------------------------------------------------------- */

/* The slot after the published ones, once the ring has room for it. */
static slot *acquire(ravt_pipeline *p, uint8_t op)
{
	pthread_mutex_lock(&p->lock);
	while (p->count == RAVT_PIPE_SLOTS) {
		p->producer_waits = true;
		if (p->worker_waits) /* (cannot be: a full ring is work) */
			pthread_cond_signal(&p->work);
		pthread_cond_wait(&p->room, &p->lock);
	}
	p->producer_waits = false;
	slot *s = &p->slots[(p->head + p->count) % RAVT_PIPE_SLOTS];
	pthread_mutex_unlock(&p->lock);
	s->op = op;
	s->n = 0;
	return s;
}

/* Publish the slot being filled; `urgent` wakes the worker whatever is ready. */
static void publish(ravt_pipeline *p, bool urgent)
{
	if (!p->cur)
		return;
	bool empty = p->cur->op == OP_EVENTS && p->cur->n == 0; /* reserved, never filled */
	p->cur = NULL;
	if (empty)
		return; /* (acquire took nothing: the slot stays free) */
	pthread_mutex_lock(&p->lock);
	p->count++;
	if (p->worker_waits && (urgent || p->count >= RAVT_PIPE_SLOTS / 2))
		pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

static void put_op(ravt_pipeline *p, uint8_t op, uint64_t arg, bool final, const rav_event *ev,
                   const ravt_piece *piece)
{
	publish(p, false);
	slot *s = p->cur = acquire(p, op);
	s->arg = arg;
	s->final = final;
	s->piece = piece;
	if (ev)
		s->ev[0] = *ev;
	publish(p, true);
}

static void pipe_begin(ravt_sink *sink, uint64_t from)
{
	put_op((ravt_pipeline *)sink, OP_BEGIN, from, false, NULL, NULL);
}

/* The reader decodes straight into the slot being filled (sink.h). */
static rav_event *pipe_reserve(ravt_sink *sink, size_t *room)
{
	ravt_pipeline *p = (ravt_pipeline *)sink;
	if (p->cur && p->cur->n == RAVT_PIPE_EVENTS)
		publish(p, false);
	if (!p->cur)
		p->cur = acquire(p, OP_EVENTS);
	*room = RAVT_PIPE_EVENTS - p->cur->n;
	return p->cur->ev + p->cur->n;
}

static void pipe_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	ravt_pipeline *p = (ravt_pipeline *)sink;
	if (p->cur && evs == p->cur->ev + p->cur->n && n <= RAVT_PIPE_EVENTS - p->cur->n) {
		p->cur->n += (uint32_t)n; /* decoded in place (pipe_reserve) */
		return;
	}
	while (n) {
		if (p->cur && p->cur->n == RAVT_PIPE_EVENTS)
			publish(p, false);
		if (!p->cur)
			p->cur = acquire(p, OP_EVENTS);
		slot *s = p->cur;
		size_t take = RAVT_PIPE_EVENTS - s->n;
		if (take > n)
			take = n;
		memcpy(s->ev + s->n, evs, take * sizeof *evs);
		s->n += (uint32_t)take;
		evs += take;
		n -= take;
	}
}

static void pipe_end(ravt_sink *sink, uint64_t upto, bool final)
{
	put_op((ravt_pipeline *)sink, OP_END, upto, final, NULL, NULL);
}

static void pipe_snapshot(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece)
{
	put_op((ravt_pipeline *)sink, OP_SNAPSHOT, 0, false, ev, piece);
}

static const ravt_sink_ops pipe_ops = {pipe_begin, pipe_events, pipe_end, pipe_snapshot, pipe_reserve, NULL};

void ravt_pipeline_drain(ravt_pipeline *p)
{
	if (!p)
		return;
	publish(p, true);
	pthread_mutex_lock(&p->lock);
	if (p->count && p->worker_waits)
		pthread_cond_signal(&p->work);
	while (p->count)
		pthread_cond_wait(&p->idle, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static bool wanted(void)
{
	const char *env = getenv("RAVTRACE_THREADS");
	if (env && strcmp(env, "1") == 0)
		return false;
	return sysconf(_SC_NPROCESSORS_ONLN) > 1;
}

ravt_pipeline *ravt_pipeline_new(ravt_sink *const *sinks, size_t n)
{
	if (n == 0 || n > MAX_SINKS || !wanted())
		return NULL;
	ravt_pipeline *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->sink.ops = &pipe_ops;
	memcpy(p->sinks, sinks, n * sizeof *sinks);
	p->nsinks = n;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->room, NULL);
	pthread_cond_init(&p->idle, NULL);
	if (pthread_create(&p->worker, NULL, worker_main, p) != 0) {
		pthread_cond_destroy(&p->work);
		pthread_cond_destroy(&p->room);
		pthread_cond_destroy(&p->idle);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return NULL;
	}
	return p;
}

ravt_sink *ravt_pipeline_sink(ravt_pipeline *p)
{
	return &p->sink;
}

void ravt_pipeline_set_ahead(ravt_pipeline *p, size_t i, ravt_events_ahead ahead)
{
	if (i < p->nsinks)
		p->ahead[i] = ahead;
}

void ravt_pipeline_free(ravt_pipeline *p)
{
	if (!p)
		return;
	ravt_pipeline_drain(p);
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->worker, NULL);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->room);
	pthread_cond_destroy(&p->idle);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
