/* chatty.c - rav-sample-chatty: the producer/consumer work of
 * rav-sample-messages done the conventional way, for comparison.
 *
 * Both threads share one structure in ordinary malloc'd memory guarded by
 * a mutex: a queue of requests, each pointing at a list of items the
 * producer wrote and the consumer reads, plus shared counters and a result
 * slot the consumer writes back.  Every load and store of shared memory is
 * reported with rav_trace_access(), so with RAVIOLI_TRACE_ACCESS=1 the trace
 * holds the same kind of access stream as the ravioli version, and the
 * contention model (`ravtrace stats`, the viewer's overlay) can count the
 * cache lines bouncing between the two cores.  The essays predict this
 * traffic appears everywhere here, and only at hand-offs with ravioli.
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

typedef struct request {
	item *items;
	uint64_t result;
	int done;
	struct request *next;     /* queue link */
	struct request *all_next; /* the producer's list of everything it sent */
} request;

typedef struct board {
	pthread_mutex_t lock;
	pthread_cond_t ready;
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

static void *producer(void *arg)
{
	board *b = arg;
	rav_thread_name("producer");
	sample_rng rng = {0x853c49e6748fea9bULL};
	request *all = NULL;

	rav_mark("producer: sending");
	for (size_t i = 0; i < b->messages; i++) {
		size_t len = 8 + (size_t)sample_below(&rng, 250);
		request *r = calloc(1, sizeof *r);
		item *last = NULL;
		if (!r) {
			fprintf(stderr, "rav-sample-chatty: out of memory\n");
			exit(1);
		}
		for (size_t k = 0; k < len; k++) {
			item *it = malloc(sizeof *it);
			if (!it) {
				fprintf(stderr, "rav-sample-chatty: out of memory\n");
				exit(1);
			}
			STORE(it->value, i * 1000 + k);
			STORE(it->next, NULL);
			if (last)
				STORE(last->next, it);
			else
				STORE(r->items, it);
			last = it;
			b->checksum_sent += i * 1000 + k;
		}
		r->all_next = all;
		all = r;
		lock(b);
		if (LOAD(b->tail))
			STORE(b->tail->next, r);
		else
			STORE(b->head, r);
		STORE(b->tail, r);
		STORE(b->produced, LOAD(b->produced) + 1);
		pthread_cond_signal(&b->ready);
		unlock(b);
		if (i % 16 == 15)
			rav_mark("producer: 16 more messages sent");
	}
	lock(b);
	STORE(b->closed, 1);
	pthread_cond_signal(&b->ready);
	unlock(b);

	/* Collect the results the consumer wrote into the shared requests. */
	lock(b);
	while (LOAD(b->consumed) < b->messages) {
		rav_trace_access(&b->lock, true);
		pthread_cond_wait(&b->ready, &b->lock);
		rav_trace_access(&b->lock, true);
	}
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
		while (!LOAD(b->head) && !LOAD(b->closed)) {
			rav_trace_access(&b->lock, true);
			pthread_cond_wait(&b->ready, &b->lock);
			rav_trace_access(&b->lock, true);
		}
		request *r = LOAD(b->head);
		if (!r) {
			unlock(b);
			break;
		}
		STORE(b->head, LOAD(r->next));
		if (!LOAD(b->head))
			STORE(b->tail, NULL);
		unlock(b);

		uint64_t sum = 0;
		for (item *it = LOAD(r->items); it;) {
			item *next = LOAD(it->next);
			sum += LOAD(it->value);
			free(it);
			it = next;
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
