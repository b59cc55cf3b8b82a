/* handoff.c - lesson "Messages hand pages over; arrival compaction"
 * (samples/lessons/handoff.lesson).
 *
 * The consumer has a heap of its own with a partly filled page.  The
 * producer builds a list of items in a message (buffer pages of its own,
 * apart from its heap) and sends it: the pages are handed over whole.  On
 * arrival the tail of the consumer's old top page would be a gap, so it
 * becomes holes, and cells from the new top move into them.  The threads
 * take turns so the lesson's marks come in its order.
 */
#include "sample.h"

#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int consumer_ready;

typedef struct work {
	rav_channel *ch;
	rav_type item, own;
	size_t items;
	uint64_t sent, received;
} work;

static void *producer(void *arg)
{
	work *w = arg;
	rav_thread_name("producer");
	pthread_mutex_lock(&lock);
	while (!consumer_ready)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	rav_mark("producer: building a message");
	rav_msg *m = rav_msg_new();
	if (!m)
		sample_check(RAV_ENOMEM, "message");
	rav_heap *mh = rav_msg_heap(m);
	rav_ref cur;
	sample_check(rav_new_root(mh, w->item, rav_msg_root(m), &cur), "first item");
	rav_store(mh, cur, 0, 1);
	w->sent = 1;
	for (size_t i = 2; i <= w->items; i++) {
		sample_check(rav_new_field(mh, w->item, cur, 1, &cur), "item");
		rav_store(mh, cur, 0, i);
		w->sent += i;
	}
	rav_mark("producer: sending");
	sample_check(rav_send(w->ch, m), "send");
	rav_channel_close(w->ch);
	return NULL;
}

static void *consumer(void *arg)
{
	work *w = arg;
	rav_thread_name("consumer");
	rav_heap *h = rav_heap_self();
	rav_root own = rav_root_new(h), inbox = rav_root_new(h);
	if (!h || !own || !inbox)
		sample_check(RAV_ENOMEM, "consumer");
	rav_ref n;
	sample_check(rav_new_root(h, w->own, own, &n), "own cells");
	for (int i = 1; i < 40; i++)
		sample_check(rav_new_field(h, w->own, n, 1, &n), "own cells");
	rav_mark("consumer: a heap of its own");
	pthread_mutex_lock(&lock);
	consumer_ready = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	sample_check(rav_recv(w->ch, h, inbox), "receive");
	rav_mark("consumer: the message is part of its heap");
	for (rav_ref c = rav_root_get(h, inbox); !rav_ref_is_null(c); c = rav_load_ref(h, c, 1))
		w->received += rav_load(h, c, 0);
	sample_check_heap("consumer", h);
	return NULL;
}

int main(int argc, char **argv)
{
	work w = {0};
	w.items = sample_size_arg(argc, argv, 150, 100000, "items in the message",
	                          "Lesson sample: a message's pages handed over, then arrival compaction.");
	rav_thread_name("main");
	w.item = rav_type_register("msg_item", RAV_DATA, RAV_REF);
	w.own = rav_type_register("own", RAV_DATA, RAV_REF);
	w.ch = rav_channel_new();
	if (!w.item || !w.own || !w.ch)
		sample_check(RAV_ENOMEM, "set up");
	pthread_t p, c;
	if (pthread_create(&c, NULL, consumer, &w) != 0 || pthread_create(&p, NULL, producer, &w) != 0) {
		fprintf(stderr, "rav-lesson-handoff: cannot start threads\n");
		return 1;
	}
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	rav_channel_free(w.ch);
	if (w.sent != w.received) {
		fprintf(stderr, "rav-lesson-handoff: sent %llu, received %llu\n", (unsigned long long)w.sent,
		        (unsigned long long)w.received);
		return 1;
	}
	printf("rav-lesson-handoff: %zu items arrived intact\n", w.items);
	return 0;
}
