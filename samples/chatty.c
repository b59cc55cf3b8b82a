/* chatty.c - rav-sample-chatty: the producer/consumer work of
 * rav-sample-messages done with shared memory, for comparison.
 *
 * The work is the same: the producer makes lists of 8 to 257 numbered
 * items, the consumer sums each list and hands the sum back, and the
 * producer checks every sum.  The way is the usual one when threads share
 * memory: one structure in ordinary malloc'd memory guarded by a mutex,
 * and the threads work on it at the same time.  The producer publishes a
 * request, then appends its items one by one as it makes them; the
 * consumer takes the request at once and sums the items as they appear,
 * waiting when it catches up; the producer waits when it is AHEAD_MAX
 * items ahead.  Every load and store of shared memory is
 * reported with rav_trace_access(), so with RAVIOLI_TRACE_ACCESS=1 the
 * trace holds the same kind of access stream as the ravioli version, and
 * the contention model (`ravtrace stats`, the viewer's overlay and its
 * Chatty Threads vs. Messages window) counts the cache lines moving
 * between the two cores: the lock, the list ends and the items move at
 * every item.  With ravioli the list is built in the message's own pages
 * and handed over whole, so lines move at the hand-off.
 *
 * Handing over whole lists through shared pointers (build privately,
 * publish once) is message passing in disguise: an earlier version of
 * this sample did that, and the model then counted about as many
 * transfers as for the ravioli messages.  What the essays call chatty is
 * threads meeting on shared data as they go, as here.
 *
 * The program uses no ravioli cells at all; its heap summary shows that.
 */
#include "sample.h"

#include <pthread.h>
#include <stdlib.h>

/* Record an access, then do it. */
#define LOAD(lv) (rav_trace_access(&(lv), false), (lv))
#define STORE(lv, v) (rav_trace_access(&(lv), true), (lv) = (v))

typedef struct item {
	uint64_t value;
	struct item *next;
} item;

/* Items the producer may be ahead of the consumer, at most: a bounded
 * buffer, as pipelines have, so the threads work at the same time even
 * when the machine gives them one core between them. */
#define AHEAD_MAX 8

typedef struct request {
	item *first, *last; /* items not consumed yet: the producer appends, the consumer takes */
	size_t pending;     /* how many */
	int complete;       /* the producer appended the last item */
	uint64_t result;    /* the consumer's sum */
	int done;
	struct request *next;     /* queue link */
	struct request *all_next; /* the producer's list of everything it sent */
} request;

typedef struct board {
	pthread_mutex_t lock;
	pthread_cond_t ready; /* a request or an item appeared, or a sum is back */
	request *head, *tail;
	int closed;
	uint64_t produced, consumed; /* shared counters both threads update */
	size_t messages;
	uint64_t checksum_sent, checksum_done;
} board;

static void lock(board *b)
{
	pthread_mutex_lock(&b->lock);
	rav_trace_access(&b->lock, true); /* the lock word moves to this core */
}

static void unlock(board *b)
{
	rav_trace_access(&b->lock, true);
	pthread_mutex_unlock(&b->lock);
}

static void wait_ready(board *b)
{
	rav_trace_access(&b->lock, true);
	pthread_cond_wait(&b->ready, &b->lock);
	rav_trace_access(&b->lock, true);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p) {
		fprintf(stderr, "rav-sample-chatty: out of memory\n");
		exit(1);
	}
	return p;
}

static void *producer(void *arg)
{
	board *b = arg;
	rav_thread_name("producer");
	sample_rng rng = {0x853c49e6748fea9bULL};
	request *all = NULL;

	rav_mark("producer: sending");
	for (size_t i = 0; i < b->messages; i++) {
		size_t len = 8 + (size_t)sample_below(&rng, 250);
		request *r = xmalloc(sizeof *r);
		r->all_next = all;
		all = r;
		/* Publish the request first: the consumer may start on it while
		 * its items are still being made. */
		lock(b);
		if (LOAD(b->tail))
			STORE(b->tail->next, r);
		else
			STORE(b->head, r);
		STORE(b->tail, r);
		STORE(b->produced, LOAD(b->produced) + 1);
		pthread_cond_broadcast(&b->ready);
		unlock(b);
		for (size_t k = 0; k < len; k++) {
			item *it = xmalloc(sizeof *it);
			STORE(it->value, i * 1000 + k);
			STORE(it->next, NULL);
			b->checksum_sent += i * 1000 + k;
			lock(b);
			while (LOAD(r->pending) >= AHEAD_MAX)
				wait_ready(b);
			if (LOAD(r->last))
				STORE(r->last->next, it);
			else
				STORE(r->first, it);
			STORE(r->last, it);
			STORE(r->pending, LOAD(r->pending) + 1);
			pthread_cond_broadcast(&b->ready);
			unlock(b);
		}
		lock(b);
		STORE(r->complete, 1);
		pthread_cond_broadcast(&b->ready);
		unlock(b);
		if (i % 16 == 15)
			rav_mark("producer: 16 more messages sent");
	}
	lock(b);
	STORE(b->closed, 1);
	pthread_cond_broadcast(&b->ready);
	unlock(b);

	/* Collect the sums the consumer wrote into the shared requests. */
	lock(b);
	while (LOAD(b->consumed) < b->messages)
		wait_ready(b);
	unlock(b);
	while (all) {
		request *next = all->all_next;
		b->checksum_done += LOAD(all->result);
		free(all);
		all = next;
	}
	rav_mark("producer: results collected");
	return NULL;
}

static void *consumer(void *arg)
{
	board *b = arg;
	rav_thread_name("consumer");
	rav_mark("consumer: receiving");
	for (;;) {
		lock(b);
		while (!LOAD(b->head) && !LOAD(b->closed))
			wait_ready(b);
		request *r = LOAD(b->head);
		if (!r) {
			unlock(b);
			break;
		}
		STORE(b->head, LOAD(r->next));
		if (!LOAD(b->head))
			STORE(b->tail, NULL);
		unlock(b);

		/* Sum the items as they appear. */
		uint64_t sum = 0;
		for (;;) {
			lock(b);
			while (!LOAD(r->first) && !LOAD(r->complete))
				wait_ready(b);
			item *it = LOAD(r->first);
			if (!it) {
				unlock(b);
				break;
			}
			STORE(r->first, LOAD(it->next));
			if (!LOAD(r->first))
				STORE(r->last, NULL);
			STORE(r->pending, LOAD(r->pending) - 1);
			pthread_cond_broadcast(&b->ready);
			unlock(b);
			sum += LOAD(it->value);
			free(it);
		}

		lock(b);
		STORE(r->result, sum);
		STORE(r->done, 1);
		STORE(b->consumed, LOAD(b->consumed) + 1);
		pthread_cond_broadcast(&b->ready);
		unlock(b);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	board b = {.lock = PTHREAD_MUTEX_INITIALIZER, .ready = PTHREAD_COND_INITIALIZER};
	b.messages = sample_size_arg(argc, argv, 48, 1000000, "messages sent",
	                             "Producer/consumer threads sharing one mutex-guarded malloc'd structure "
	                             "(the \"chatty\"\ncounterpart of rav-sample-messages).");
	rav_thread_name("main");

	pthread_t p, c;
	if (pthread_create(&c, NULL, consumer, &b) != 0 || pthread_create(&p, NULL, producer, &b) != 0) {
		fprintf(stderr, "rav-sample-chatty: cannot start threads\n");
		return 1;
	}
	pthread_join(p, NULL);
	pthread_join(c, NULL);

	if (b.checksum_sent != b.checksum_done) {
		fprintf(stderr, "rav-sample-chatty: sent values sum to %llu but the consumer saw %llu\n",
		        (unsigned long long)b.checksum_sent, (unsigned long long)b.checksum_done);
		return 1;
	}
	printf("rav-sample-chatty: %zu messages delivered through shared memory, checksums agree (%llu)\n",
	       b.messages, (unsigned long long)b.checksum_done);
	sample_print_stats("main thread (no ravioli used: all data lived in malloc'd memory)",
	                   rav_heap_self());
	return 0;
}
