/* pipeline-ahead.c - the pipeline (trace/pipeline.h) shows a consumer that
 * looks ahead the events of its next call, and only those: every call of
 * the look-ahead function is followed by a call with exactly the events it
 * was shown (same memory, same contents), and every consumer gets every
 * event once, in order, whichever way it is called.
 *
 * The worker's first call waits until the producer has filled most of the
 * ring, so the slots after it are published when the worker takes them
 * and the look-ahead is used (deterministically) at least that often.
 */
#include <pthread.h>
#include <stdbool.h>

#include "pipeline.h"
#include "trace-test.h"

enum { TOTAL = 40000, FILLED_FIRST = 10 };

typedef struct consumer {
	ravt_sink sink;
	uint64_t next_index; /* the index the next event must carry */
	uint64_t calls, ahead_calls;
	/* what the last look-ahead call showed (NULL: none) */
	const rav_event *shown;
	size_t nshown;
	uint64_t shown_first;
	bool hold; /* the first call waits for `go` */
} consumer;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool go;

static void c_begin(ravt_sink *s, uint64_t from)
{
	(void)s, (void)from;
}

static void c_end(ravt_sink *s, uint64_t upto, bool final)
{
	(void)s, (void)upto, (void)final;
}

static void deliver(consumer *c, const rav_event *evs, size_t n)
{
	if (c->hold) {
		c->hold = false;
		pthread_mutex_lock(&mu);
		while (!go)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
	}
	/* a call after a look-ahead gets exactly what it was shown */
	if (c->shown) {
		CHECK(evs == c->shown);
		CHECK_EQ(n, c->nshown);
		CHECK_EQ(evs[0].index, c->shown_first);
		c->shown = NULL;
	}
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(evs[i].index, c->next_index);
		CHECK_EQ(evs[i].a, evs[i].index * 3);
		c->next_index = evs[i].index + 1;
	}
	c->calls++;
}

static void c_events(ravt_sink *s, const rav_event *evs, size_t n)
{
	deliver((consumer *)s, evs, n);
}

static void c_ahead(ravt_sink *s, const rav_event *evs, size_t n, const rav_event *next, size_t nnext)
{
	consumer *c = (consumer *)s;
	deliver(c, evs, n);
	CHECK(nnext > 0);
	CHECK_EQ(next[0].index, evs[n - 1].index + 1);
	c->shown = next;
	c->nshown = nnext;
	c->shown_first = next[0].index;
	c->ahead_calls++;
}

static const ravt_sink_ops c_ops = {.begin = c_begin, .events = c_events, .end = c_end};

int main(void)
{
	consumer plain = {.sink.ops = &c_ops}, looking = {.sink.ops = &c_ops, .hold = true};
	ravt_sink *sinks[2] = {&plain.sink, &looking.sink};
	ravt_pipeline *p = ravt_pipeline_new(sinks, 2);
	if (!p) {
		printf("SKIP: no pipeline (one CPU, or RAVTRACE_THREADS=1)\n");
		return 77;
	}
	ravt_pipeline_set_ahead(p, 1, c_ahead);
	ravt_sink *ps = ravt_pipeline_sink(p);
	ps->ops->begin(ps, 0);
	/* batches of odd sizes, so that slots fill across calls */
	rav_event evs[97];
	uint64_t i = 0;
	bool released = false;
	while (i < TOTAL) {
		size_t n = 1 + (size_t)(i * 7919 % 97);
		if (n > TOTAL - i)
			n = (size_t)(TOTAL - i);
		for (size_t k = 0; k < n; k++) {
			memset(&evs[k], 0, sizeof evs[k]);
			evs[k].index = i + k;
			evs[k].a = (i + k) * 3;
		}
		ps->ops->events(ps, evs, n);
		i += n;
		if (!released && i >= (uint64_t)FILLED_FIRST * RAVT_PIPE_EVENTS + 1) {
			/* slots 0 .. FILLED_FIRST - 1 are published (slot FILLED_FIRST
			 * holds the event after them) */
			pthread_mutex_lock(&mu);
			go = true;
			pthread_cond_broadcast(&cv);
			pthread_mutex_unlock(&mu);
			released = true;
		}
	}
	ps->ops->end(ps, TOTAL, true);
	ravt_pipeline_free(p);
	CHECK_EQ(plain.next_index, TOTAL);
	CHECK_EQ(looking.next_index, TOTAL);
	CHECK(looking.shown == NULL); /* the last call was not a look-ahead one, or was followed */
	/* slots 1 .. FILLED_FIRST - 2 were taken with the next one published */
	CHECK(looking.ahead_calls >= FILLED_FIRST - 2);
	printf("%llu calls, %llu with a look ahead\n", (unsigned long long)looking.calls,
	       (unsigned long long)looking.ahead_calls);
	return tt_failures ? 1 : 0;
}
