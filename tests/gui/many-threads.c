/* many-threads.c - a program that runs many short-lived threads (argv[1],
 * default 1000), recorded for test-lanes.  Each thread allocates a few
 * cells in its own heap; one in ten hands one cell to main as a message,
 * the others free theirs; then it exits (its heap ends).  Main keeps the
 * 100 cells it received live to the end.  Threads run a few at a time. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <ravioli.h>

static rav_type item;
static rav_channel *to_main;

static void check(rav_status st, const char *what)
{
	if (st != RAV_OK) {
		fprintf(stderr, "many-threads: %s failed (%d)\n", what, (int)st);
		exit(1);
	}
}

static void *worker(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;
	char name[32];
	snprintf(name, sizeof name, "worker %zu", i);
	rav_thread_name(name);
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	if (!h || !r)
		check(RAV_ENOMEM, "worker setup");
	rav_ref cur;
	check(rav_new_root(h, item, r, &cur), "allocate");
	for (int k = 0; k < 4; k++)
		check(rav_new_field(h, item, cur, 1, &cur), "allocate a field");
	if (i % 10 == 0) {
		rav_msg *m = rav_msg_new();
		if (!m)
			check(RAV_ENOMEM, "message");
		check(rav_new_root(rav_msg_heap(m), item, rav_msg_root(m), NULL), "allocate in a message");
		check(rav_send(to_main, m), "send");
	}
	check(rav_root_clear(h, r), "free");
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	item = rav_type_register_named("item", RAV_DATA, "value", RAV_REF, "next");
	to_main = rav_channel_new();
	if (!h || !to_main)
		check(RAV_ENOMEM, "setup");
	rav_root *keep = calloc(n / 10 + 1, sizeof *keep);
	size_t kept = 0;
	for (size_t i = 0; i < n; i += 8) {
		pthread_t t[8];
		size_t j;
		for (j = 0; j < 8 && i + j < n; j++)
			if (pthread_create(&t[j], NULL, worker, (void *)(uintptr_t)(i + j)))
				check(RAV_ENOMEM, "pthread_create");
		for (size_t k = 0; k < j; k++)
			pthread_join(t[k], NULL);
		/* What they sent, received now: main's heap grows as they go. */
		for (;;) {
			rav_root r = rav_root_new(h);
			if (!r)
				check(RAV_ENOMEM, "root");
			if (rav_try_recv(to_main, h, r) != RAV_OK) {
				rav_root_free(h, r);
				break;
			}
			keep[kept++] = r;
		}
	}
	rav_mark("all threads ended");
	printf("%zu threads, %zu cells kept\n", n, kept);
	/* The cells stay live to the end (main's heap ends at exit). */
	free(keep);
	return 0;
}
