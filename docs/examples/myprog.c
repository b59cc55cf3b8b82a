/* myprog.c - a program of your own on the installed libravioli.
 *
 * The README's "Record your own program" builds exactly this file, outside
 * the source tree, against the installed library only:
 *
 *     cc myprog.c -o myprog $(pkg-config --cflags --libs ravioli)
 *     RAVIOLI_TRACE=myprog.ravtrace ./myprog
 *     ravscope myprog.ravtrace
 *
 * (the install tests in tests/install/ do the same).  It builds a linked
 * list, drops every other node (each free moves the heap's top cell into the
 * hole), and hands the rest to a worker thread in a message, whose pages
 * change owner.  Every engine call is checked: a failure prints the
 * engine's own explanation.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <ravioli.h>

static rav_type node_type; /* field 0: value (data), field 1: next (reference) */

static void check(rav_status status, const char *what)
{
	if (status != RAV_OK) {
		fprintf(stderr, "myprog: cannot %s: %s (%s)\n", what, rav_last_error(),
		        rav_status_name(status));
		exit(1);
	}
}

static void *worker(void *arg)
{
	rav_channel *ch = arg;
	rav_thread_name("worker");
	rav_heap *h = rav_heap_self();
	rav_root list = rav_root_new(h);
	check(rav_recv(ch, h, list), "receive the list"); /* its pages join this heap */
	uintptr_t sum = 0;
	for (rav_ref n = rav_root_get(h, list); !rav_ref_is_null(n); n = rav_load_ref(h, n, 1))
		sum += rav_load(h, n, 0);
	printf("myprog: worker received nodes summing to %lu\n", (unsigned long)sum);
	rav_root_free(h, list);
	return NULL;
}

int main(int argc, char **argv)
{
	long count = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
	if (count < 1 || count > 10000000) {
		fprintf(stderr, "usage: myprog [NODES]  (1 to 10000000, default 1000)\n");
		return 2;
	}
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	node_type = rav_type_register_named("node", RAV_DATA, "value", RAV_REF, "next");
	rav_root head = rav_root_new(h);
	if (!h || !node_type || !head) {
		fprintf(stderr, "myprog: cannot set up the heap: %s\n", rav_last_error());
		return 1;
	}

	/* Push nodes at the front: head -> n(count-1) -> ... -> n(0).  A new
	 * node takes over the old list before head is pointed at it. */
	rav_root old = rav_root_new(h);
	for (long i = 0; i < count; i++) {
		check(rav_root_set(h, old, rav_root_get(h, head)), "hold the list");
		rav_ref node;
		check(rav_new_root(h, node_type, head, &node), "allocate a node");
		rav_store(h, node, 0, (uintptr_t)i);
		check(rav_store_ref(h, node, 1, rav_root_get(h, old)), "link a node");
	}
	check(rav_root_clear(h, old), "release the old head");
	rav_mark("list built");

	/* Unlink every other node.  Each unlinked node is freed at once and the
	 * heap's top cell moves into its place, so a borrow (rav_ref) is stale
	 * after every rav_store_ref: the walk keeps its position in a root,
	 * which the engine fixes up when the cell it names moves. */
	long kept = 0;
	rav_root cur = rav_root_new(h);
	check(rav_root_set(h, cur, rav_root_get(h, head)), "start the walk");
	while (rav_root_is_set(h, cur)) {
		rav_ref n = rav_root_get(h, cur);
		rav_ref next = rav_load_ref(h, n, 1);
		kept++;
		if (rav_ref_is_null(next))
			break;
		check(rav_store_ref(h, n, 1, rav_load_ref(h, next, 1)), "unlink a node");
		n = rav_root_get(h, cur); /* a fresh borrow: n may have moved */
		check(rav_root_set(h, cur, rav_load_ref(h, n, 1)), "step to the next node");
	}
	rav_root_free(h, cur);
	rav_mark("every other node dropped");

	rav_stats st;
	rav_heap_stats(h, &st);
	printf("myprog: %ld nodes kept; %llu frees caused %llu moves and %llu fix-ups\n", kept,
	       (unsigned long long)st.frees, (unsigned long long)st.moves, (unsigned long long)st.fixups);

	/* Hand the list to a worker: its cells go into a message's pages, and
	 * the pages (not the cells) travel. */
	rav_channel *ch = rav_channel_new();
	rav_msg *msg = rav_msg_new();
	pthread_t thread;
	if (!ch || !msg || pthread_create(&thread, NULL, worker, ch) != 0) {
		fprintf(stderr, "myprog: cannot start the worker\n");
		return 1;
	}
	check(rav_msg_adopt(msg, h, head), "move the list into a message");
	check(rav_send(ch, msg), "send the message");
	pthread_join(thread, NULL);
	rav_channel_free(ch);
	rav_root_free(h, old);
	rav_root_free(h, head);
	return 0;
}
