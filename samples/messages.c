/* messages.c - rav-sample-messages: producer and consumer threads passing
 * messages through channels.
 *
 * What to watch in the trace: no thread ever points into another thread's
 * heap.  The producer builds each message in detached buffer pages, then
 * sends it: the pages themselves are handed to the consumer (a page
 * hand-off, no copying).  On arrival the consumer's heap absorbs the pages
 * and compacts, restoring "no gaps".  The consumer answers with a small
 * result message on a second channel, so pages travel both ways.
 *
 * Two ways to build a message are shown: directly inside the message's own
 * heap, and in the producer's heap followed by rav_msg_adopt (which moves
 * the subtree into buffer pages).  Messages vary in length so some span
 * several pages.
 *
 * The "chatty" sample does the same work with ordinary shared memory; run
 * both with RAVIOLI_TRACE_ACCESS=1 and compare their cache-line traffic
 * with `ravtrace stats`.
 */
#include "sample.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct work {
	rav_channel *requests, *replies;
	size_t messages;
	rav_type item, result;
	uint64_t checksum_sent, checksum_done;
} work;

/* A message is a list of items: field 0 a value, field 1 the next item.
 * Built front to back so the list order is the building order. */
static void build_list(rav_heap *h, rav_root head, rav_type item, size_t len, uint64_t first, uint64_t *sum)
{
	rav_ref cur;
	sample_check(rav_new_root(h, item, head, &cur), "allocate the first item");
	rav_store(h, cur, 0, first);
	*sum += first;
	for (size_t i = 1; i < len; i++) {
		sample_check(rav_new_field(h, item, cur, 1, &cur), "allocate an item");
		rav_store(h, cur, 0, first + i);
		*sum += first + i;
	}
}

static void *producer(void *arg)
{
	work *w = arg;
	rav_thread_name("producer");
	rav_heap *h = rav_heap_self();
	rav_root scratch = rav_root_new(h), reply = rav_root_new(h);
	sample_rng rng = {0x853c49e6748fea9bULL};
	if (!h || !scratch || !reply)
		sample_check(RAV_ENOMEM, "producer setup");

	rav_mark("producer: sending");
	for (size_t i = 0; i < w->messages; i++) {
		size_t len = 8 + (size_t)sample_below(&rng, 250);
		rav_msg *m = rav_msg_new();
		if (!m)
			sample_check(RAV_ENOMEM, "create a message");
		if (i % 2 == 0) {
			/* Built in place: the message's heap lives in buffer pages. */
			build_list(rav_msg_heap(m), rav_msg_root(m), w->item, len, i * 1000,
			           &w->checksum_sent);
		} else {
			/* Built at home, then moved into the buffer pages. */
			build_list(h, scratch, w->item, len, i * 1000, &w->checksum_sent);
			sample_check(rav_msg_adopt(m, h, scratch), "adopt a subtree into a message");
		}
		sample_check(rav_send(w->requests, m), "send a request");
		if (i % 16 == 15)
			rav_mark("producer: 16 more messages sent");
	}
	rav_channel_close(w->requests);

	/* Collect one reply per message; each carries the consumer's sum. */
	for (size_t i = 0; i < w->messages; i++) {
		sample_check(rav_recv(w->replies, h, reply), "receive a reply");
		w->checksum_done += rav_load(h, rav_root_get(h, reply), 0);
	}
	sample_check_heap("in the producer", h);
	sample_print_stats("producer", h);
	rav_root_free(h, reply);
	rav_root_free(h, scratch);
	rav_thread_exit();
	return NULL;
}

static void *consumer(void *arg)
{
	work *w = arg;
	rav_thread_name("consumer");
	rav_heap *h = rav_heap_self();
	/* Keep the last few messages alive for a while, so arrivals land in a
	 * heap that also frees: both kinds of compaction show. */
	enum { KEEP = 4 };
	rav_root inbox[KEEP];
	for (int k = 0; k < KEEP; k++)
		if (!(inbox[k] = rav_root_new(h)))
			sample_check(RAV_ENOMEM, "consumer setup");

	rav_mark("consumer: receiving");
	size_t received = 0;
	rav_status st;
	while ((st = rav_recv(w->requests, h, inbox[received % KEEP])) == RAV_OK) {
		uint64_t sum = 0;
		for (rav_ref cur = rav_root_get(h, inbox[received % KEEP]); !rav_ref_is_null(cur);
		     cur = rav_load_ref(h, cur, 1))
			sum += rav_load(h, cur, 0);
		rav_msg *m = rav_msg_new();
		if (!m)
			sample_check(RAV_ENOMEM, "create a reply");
		rav_ref r;
		sample_check(rav_new_root(rav_msg_heap(m), w->result, rav_msg_root(m), &r),
		             "allocate a reply");
		rav_store(rav_msg_heap(m), r, 0, sum);
		sample_check(rav_send(w->replies, m), "send a reply");
		received++;
	}
	if (st != RAV_ECLOSED)
		sample_check(st, "receive a request");
	rav_channel_close(w->replies);
	sample_check_heap("in the consumer", h);
	sample_print_stats("consumer", h);
	for (int k = 0; k < KEEP; k++)
		rav_root_free(h, inbox[k]);
	rav_thread_exit();
	return NULL;
}

int main(int argc, char **argv)
{
	work w = {0};
	w.messages = sample_size_arg(argc, argv, 48, 1000000, "messages sent",
	                             "Producer/consumer threads passing ravioli messages by page hand-off.");
	rav_thread_name("main");
	w.item = rav_type_register_named("msg_item", RAV_DATA, "value", RAV_REF, "next");
	w.result = rav_type_register_named("msg_result", RAV_DATA, "sum", RAV_DATA, NULL);
	w.requests = rav_channel_new();
	w.replies = rav_channel_new();
	if (!w.item || !w.result || !w.requests || !w.replies)
		sample_check(RAV_ENOMEM, "set up types and channels");

	pthread_t p, c;
	if (pthread_create(&c, NULL, consumer, &w) != 0 || pthread_create(&p, NULL, producer, &w) != 0) {
		fprintf(stderr, "rav-sample-messages: cannot start threads\n");
		return 1;
	}
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	rav_channel_free(w.requests);
	rav_channel_free(w.replies);

	if (w.checksum_sent != w.checksum_done) {
		fprintf(stderr, "rav-sample-messages: sent values sum to %llu but the consumer saw %llu\n",
		        (unsigned long long)w.checksum_sent, (unsigned long long)w.checksum_done);
		return 1;
	}
	printf("rav-sample-messages: %zu messages delivered, checksums agree (%llu)\n", w.messages,
	       (unsigned long long)w.checksum_done);
	return 0;
}
