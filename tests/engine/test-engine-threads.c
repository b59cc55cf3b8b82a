/* test-engine-threads.c - four threads pass trees around a ring of channels,
 * then three producers feed one consumer through one channel.
 *
 * Usage: test-engine-threads [NODES [HOPS [TREES]]]
 * (defaults 255 nodes, 40 hops, 8 trees; RAV_TEST_SMALL=1 halves them).
 *
 * Each thread owns one inbound channel and sends to the next thread's.  A
 * tree is a header (tree id and hop count) over a complete binary tree whose
 * nodes carry their heap-order index in the scalar bits; every thread checks
 * the whole tree on arrival, so a page handed over with a wrong fix-up, a
 * lost cell or a torn write shows up at once.  Threads use different paths
 * on purpose: adopt-and-send from the heap, rebuild in a fresh message heap,
 * blocking recv and polling try_recv, and the receiving heaps change free
 * mode, compact partly, collect and serialize between arrivals.  The test is small by default so it
 * runs quickly under helgrind and TSan, which are the real judges here.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "rav-test.h"

enum { THREADS = 4 };

static rav_type T_HDR;  /* f0 data: tree id << 32 | hops, f1 ref: tree */
static rav_type T_TREE; /* f0, f1 refs: children; scalar: heap-order index */

static size_t nodes = 255, hops_total = 40, trees = 8;
static rav_channel *chans[THREADS];
static atomic_size_t trees_done;

/* Build the complete tree of `nodes` nodes under field 1 of hdr, in heap mh. */
static void build_tree(rav_heap *mh, rav_ref hdr)
{
	/* Nodes are created parent-first; the borrow of each parent is found
	 * by walking from the header along the bits of its index. */
	rav_ref root;
	CHECK_OK(rav_new_field(mh, T_TREE, hdr, 1, &root));
	rav_set_scalar(mh, root, 1);
	for (size_t i = 2; i <= nodes; i++) {
		size_t parent = i / 2;
		unsigned depth = 0;
		while ((parent >> depth) > 1)
			depth++;
		rav_ref p = root;
		for (unsigned d = depth; d-- > 0;)
			p = rav_load_ref(mh, p, (int)((parent >> d) & 1));
		rav_ref c;
		CHECK_OK(rav_new_field(mh, T_TREE, p, (int)(i & 1), &c));
		rav_set_scalar(mh, c, i);
	}
}

/* Check the tree under hdr: every index present once, in place. */
static void check_tree(rav_heap *h, rav_ref hdr)
{
	CHECK_EQ(rav_type_of(h, hdr), T_HDR);
	rav_ref stack[64];
	size_t idx[64], sp = 0, seen = 0;
	stack[sp] = rav_load_ref(h, hdr, 1);
	idx[sp++] = 1;
	while (sp) {
		rav_ref n = stack[--sp];
		size_t i = idx[sp];
		CHECK(!rav_ref_is_null(n));
		CHECK_EQ(rav_type_of(h, n), T_TREE);
		CHECK_EQ(rav_scalar(h, n), i);
		seen++;
		for (int f = 0; f < 2; f++) {
			size_t ci = 2 * i + (size_t)f;
			rav_ref c = rav_load_ref(h, n, f);
			CHECK(rav_ref_is_null(c) == (ci > nodes));
			if (ci <= nodes) {
				CHECK(sp < 64);
				stack[sp] = c;
				idx[sp++] = ci;
			}
		}
	}
	CHECK_EQ(seen, nodes);
}

static void send_new_tree(rav_channel *ch, uintptr_t tag)
{
	rav_msg *m = rav_msg_new();
	CHECK(m != NULL);
	rav_heap *mh = rav_msg_heap(m);
	rav_ref hdr;
	CHECK_OK(rav_new_root(mh, T_HDR, rav_msg_root(m), &hdr));
	rav_store(mh, hdr, 0, tag);
	build_tree(mh, hdr);
	CHECK_OK(rav_send(ch, m));
}

typedef struct worker {
	int index;
	pthread_t thread;
	size_t received;
} worker;

static void *run_worker(void *arg)
{
	worker *w = arg;
	char name[32];
	snprintf(name, sizeof name, "ring-%d", w->index);
	rav_thread_name(name);
	rav_heap *h = rav_heap_self();
	CHECK(h != NULL);
	rav_root in = rav_root_new(h);
	rav_channel *inbox = chans[w->index], *next = chans[(w->index + 1) % THREADS];
	bool polling = w->index % 2 == 1;

	if (w->index == 0)
		for (size_t t = 0; t < trees; t++)
			send_new_tree(next, (uintptr_t)t << 32);

	for (;;) {
		rav_status st;
		if (polling) {
			while ((st = rav_try_recv(inbox, h, in)) == RAV_EAGAIN)
				sched_yield();
		} else {
			st = rav_recv(inbox, h, in);
		}
		if (st == RAV_ECLOSED)
			break;
		CHECK_OK(st);
		w->received++;
		rav_ref hdr = rav_root_get(h, in);
		check_tree(h, hdr);
		uintptr_t tag = rav_load(h, hdr, 0) + 1;
		CHECK_OK(rav_heap_check(h));
		/* Vary the receiving heap's state between arrivals: free mode,
		 * partial compaction, collection, a serialization round trip. */
		switch ((w->received + (size_t)w->index) % 5) {
		case 0:
			rav_set_free_mode(h, RAV_FREE_DEFERRED);
			break;
		case 1:
			(void)rav_compact(h, 7);
			break;
		case 2:
			rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
			CHECK_EQ(rav_collect(h), 0);
			break;
		case 3:
			if (w->index == 3) {
				char path[] = "/tmp/rav-ring-XXXXXX";
				int fd = mkstemp(path);
				CHECK(fd >= 0);
				unlink(path);
				CHECK_OK(rav_serialize(h, in, fd, (w->received & 1) ? RAV_SER_COMPRESS : 0));
				CHECK(lseek(fd, 0, SEEK_SET) == 0);
				CHECK_OK(rav_deserialize(h, fd, in)); /* replaces the original */
				close(fd);
				hdr = rav_root_get(h, in);
				check_tree(h, hdr);
			}
			break;
		default:
			break;
		}
		CHECK_OK(rav_heap_check(h));
		if ((tag & 0xffffffffu) >= hops_total) {
			CHECK_OK(rav_root_clear(h, in));
			if (atomic_fetch_add(&trees_done, 1) + 1 == trees)
				for (int k = 0; k < THREADS; k++)
					rav_channel_close(chans[k]);
			continue;
		}
		if (w->index == 2) {
			/* Rebuild from scratch in a message heap; drop the old one. */
			CHECK_OK(rav_root_clear(h, in));
			send_new_tree(next, tag);
		} else {
			rav_store(h, hdr, 0, tag);
			rav_msg *m = rav_msg_new();
			CHECK(m != NULL);
			CHECK_OK(rav_msg_adopt(m, h, in));
			CHECK_OK(rav_send(next, m));
		}
	}
	rav_root_free(h, in);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	rav_stats s;
	rav_heap_stats(h, &s);
	CHECK_EQ(s.live_cells, 0);
	CHECK_OK(rav_heap_check(h));
	rav_thread_exit();
	return NULL;
}

/* ---- fan-in: several producers, one channel, one consumer ---- */

enum { PRODUCERS = 3 };

typedef struct producer {
	int index;
	size_t count;
	rav_channel *ch;
	pthread_t thread;
} producer;

static void *run_producer(void *arg)
{
	producer *p = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	for (size_t i = 0; i < p->count; i++) {
		rav_msg *m = rav_msg_new();
		CHECK(m != NULL);
		if (i % 2) {
			/* Built in the message heap... */
			rav_ref hdr;
			CHECK_OK(rav_new_root(rav_msg_heap(m), T_HDR, rav_msg_root(m), &hdr));
			rav_store(rav_msg_heap(m), hdr, 0, ((uintptr_t)p->index << 32) | i);
		} else {
			/* ...or in the producer's heap and adopted. */
			rav_ref hdr;
			CHECK_OK(rav_new_root(h, T_HDR, r, &hdr));
			rav_store(h, hdr, 0, ((uintptr_t)p->index << 32) | i);
			CHECK_OK(rav_msg_adopt(m, h, r));
		}
		CHECK_OK(rav_send(p->ch, m));
	}
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

static void fan_in(size_t per_producer)
{
	rav_channel *ch = rav_channel_new();
	producer p[PRODUCERS];
	for (int k = 0; k < PRODUCERS; k++) {
		p[k] = (producer){ .index = k, .count = per_producer, .ch = ch };
		CHECK_EQ(pthread_create(&p[k].thread, NULL, run_producer, &p[k]), 0);
	}
	rav_heap *h = rav_heap_self();
	rav_root in = rav_root_new(h);
	size_t next[PRODUCERS] = { 0 };
	for (size_t got = 0; got < PRODUCERS * per_producer; got++) {
		CHECK_OK(rav_recv(ch, h, in));
		uintptr_t tag = rav_load(h, rav_root_get(h, in), 0);
		size_t k = (size_t)(tag >> 32), i = (size_t)(tag & 0xffffffffu);
		CHECK(k < PRODUCERS);
		CHECK_EQ(i, next[k]); /* each producer's messages arrive in order, once */
		next[k]++;
	}
	CHECK_STATUS(rav_try_recv(ch, h, in), RAV_EAGAIN);
	for (int k = 0; k < PRODUCERS; k++)
		CHECK_EQ(pthread_join(p[k].thread, NULL), 0);
	CHECK_OK(rav_heap_check(h));
	rav_root_free(h, in);
	rav_channel_free(ch);
	rav_thread_exit();
	printf("# fan-in: %d producers x %zu messages arrived once each, in order\n", PRODUCERS, per_producer);
}

int main(int argc, char **argv)
{
	if (rav_test_small()) {
		nodes = 127;
		hops_total = 20;
		trees = 4;
	}
	if (argc > 1)
		nodes = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		hops_total = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		trees = strtoul(argv[3], NULL, 0);
	CHECK(nodes >= 1 && nodes < ((size_t)1 << 40) && hops_total >= 1 && trees >= 1);
	printf("# ring of %d threads: %zu trees of %zu nodes, %zu hops each\n", THREADS, trees, nodes, hops_total);
	T_HDR = rav_type_register("ring.header", RAV_DATA, RAV_REF);
	T_TREE = rav_type_register("ring.tree", RAV_REF, RAV_REF);
	CHECK(T_HDR && T_TREE);
	for (int k = 0; k < THREADS; k++)
		CHECK((chans[k] = rav_channel_new()) != NULL);
	/* No engine call from main before the workers start: their first
	 * calls race to initialize the pool and the per-thread key, which
	 * TSan and helgrind (annotated in the engine) must find clean. */
	worker w[THREADS];
	for (int k = 0; k < THREADS; k++) {
		w[k] = (worker){ .index = k };
		CHECK_EQ(pthread_create(&w[k].thread, NULL, run_worker, &w[k]), 0);
	}
	size_t total = 0;
	for (int k = 0; k < THREADS; k++) {
		CHECK_EQ(pthread_join(w[k].thread, NULL), 0);
		printf("# thread %d received %zu trees\n", k, w[k].received);
		total += w[k].received;
	}
	CHECK_EQ(total, trees * hops_total);
	CHECK_EQ(atomic_load(&trees_done), trees);
	for (int k = 0; k < THREADS; k++)
		rav_channel_free(chans[k]);
	fan_in(trees * hops_total);
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	printf("# pool after: %" PRIu64 " used pages, %" PRIu64 " free\n", ps.used_pages, ps.free_pages);
	CHECK_EQ(ps.used_pages, 0);
	printf("ok threads\n");
	return 0;
}
