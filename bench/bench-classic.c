/* bench-classic.c - two classic allocation workloads (issue #9), written
 * as a new user would write them against ravioli.h, next to the same work
 * with malloc.
 *
 * binary-trees: the benchmarks-game program.  A stretch tree of depth
 * max+1 is built, checked and dropped; a long-lived tree of depth max stays
 * while, for every even depth d from 4 to max, 2^(max-d+4) trees of depth d
 * are built bottom-up, checked (nodes counted) and dropped.  Ravioli: the
 * trees are built into empty fields (no cell moves while building) and
 * dropped by clearing their root: they were allocated last, above the
 * long-lived tree, so the drop truncates the heap.
 *
 * handoff: a producer thread builds lists of nodes and hands each to a
 * consumer thread, which walks it (summing the values) and frees it.
 * Ravioli: each list is built in a message (buffer pages) and sent through
 * a channel; the consumer receives it (the pages join its heap), walks it
 * and clears its root.  Malloc: the list's head goes through a queue under a
 * mutex and the consumer frees the nodes the producer allocated.  Time is
 * wall time from the producer's start to the consumer's last free.  Two
 * more ravioli rows, each in a fresh process, measure the two layouts a
 * received message can take (RAVIOLI_ARRIVAL, see rav__arrive) with a
 * consumer that keeps a few live nodes, so its top page is partly filled
 * when a message arrives.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-common.h"

/* ---- binary-trees ---- */

typedef struct bt_ctx {
	const bench_alloc *a; /* NULL: ravioli */
	int min_depth, max_depth;
	uint64_t checks; /* of the last run, compared across implementations */
	uint64_t nodes;
} bt_ctx;

static mnode *mbt_build(const bench_alloc *a, int depth)
{
	mnode *n = a->malloc_fn(sizeof *n);
	if (depth > 0) {
		n->next = mbt_build(a, depth - 1);
		n->right = mbt_build(a, depth - 1);
	} else {
		n->next = n->right = NULL;
	}
	return n;
}

static uint64_t mbt_check(const mnode *n)
{
	if (!n->next)
		return 1;
	return 1 + mbt_check(n->next) + mbt_check(n->right);
}

static void mbt_free(const bench_alloc *a, mnode *n)
{
	if (n->next) {
		mbt_free(a, n->next);
		mbt_free(a, n->right);
	}
	a->free_fn(n);
}

static double bt_once(void *arg)
{
	bt_ctx *c = arg;
	uint64_t checks = 0;
	int max = c->max_depth, min = c->min_depth;
	double t0 = bench_now();
	if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().tree;
		rav_root tmp = rav_root_new(h), longlived = rav_root_new(h);
		if (!tmp || !longlived)
			bench_die("rav_root_new");
		bench_bt_build(h, t, tmp, max + 1);
		checks += bench_bt_check(h, rav_root_get(h, tmp));
		OK(rav_root_clear(h, tmp));
		bench_bt_build(h, t, longlived, max);
		for (int d = min; d <= max; d += 2) {
			uint64_t iters = (uint64_t)1 << (max - d + min);
			for (uint64_t i = 0; i < iters; i++) {
				bench_bt_build(h, t, tmp, d);
				checks += bench_bt_check(h, rav_root_get(h, tmp));
				OK(rav_root_clear(h, tmp));
			}
		}
		checks += bench_bt_check(h, rav_root_get(h, longlived));
		rav_root_free(h, longlived);
		rav_root_free(h, tmp);
	} else {
		mnode *s = mbt_build(c->a, max + 1);
		checks += mbt_check(s);
		mbt_free(c->a, s);
		mnode *longlived = mbt_build(c->a, max);
		for (int d = min; d <= max; d += 2) {
			uint64_t iters = (uint64_t)1 << (max - d + min);
			for (uint64_t i = 0; i < iters; i++) {
				mnode *x = mbt_build(c->a, d);
				checks += mbt_check(x);
				mbt_free(c->a, x);
			}
		}
		checks += mbt_check(longlived);
		mbt_free(c->a, longlived);
	}
	c->checks = checks;
	return bench_now() - t0;
}

static void run_binary_trees(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	int max = p->quick ? 10 : 16;
	if (!p->quick && p->scale != 1) {
		/* each step of 2 in depth is about 2x the work */
		while (p->scale < 1 && max > 8 && (1 << (16 - max)) < 1 / p->scale)
			max--;
		while (p->scale > 1 && max < 22 && (1 << (max - 16)) < p->scale)
			max++;
	}
	uint64_t nodes = 0;
	for (int d = 4; d <= max; d += 2)
		nodes += ((uint64_t)1 << (max - d + 4)) * (((uint64_t)2 << d) - 1);
	nodes += ((uint64_t)2 << (max + 1)) - 1 + ((uint64_t)2 << max) - 1;
	snprintf(r->params, sizeof r->params, "\"min_depth\": 4, \"max_depth\": %d, \"nodes_allocated\": %" PRIu64
					      ", \"node_bytes\": 32",
		 max, nodes);
	r->metric_names[0] = "ns_per_node";
	r->metric_names[1] = "checks";
	bt_ctx ctx[4];
	const char *names[4];
	unsigned n = 0;
	if (p->ravioli) {
		ctx[n] = (bt_ctx){ .a = NULL, .min_depth = 4, .max_depth = max };
		names[n++] = "ravioli";
	}
	for (unsigned i = 0; i < nallocs && n < 4; i++) {
		ctx[n] = (bt_ctx){ .a = &allocs[i], .min_depth = 4, .max_depth = max };
		names[n++] = allocs[i].name;
	}
	double (*fns[4])(void *);
	void *ctxs[4];
	double best[4];
	for (unsigned i = 0; i < n; i++) {
		fns[i] = bt_once;
		ctxs[i] = &ctx[i];
	}
	bench_best_interleaved(p, n, fns, ctxs, best);
	for (unsigned i = 0; i < n; i++) {
		bench_result *res = bench_add(r, names[i], best[i]);
		res->metric[0] = best[i] * 1e9 / (double)nodes;
		res->metric[1] = (double)ctx[i].checks;
		if (ctx[i].checks != ctx[0].checks)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: checks %" PRIu64 ", %s says %" PRIu64,
				 ctx[i].checks, names[0], ctx[0].checks);
	}
}

static const bench_workload binary_trees = {
	.name = "binary-trees",
	.description = "the benchmarks-game binary-trees: trees of depth 4..max built, checked and dropped beside "
		       "one long-lived tree; implementations interleaved",
	.order = 25,
	.run = run_binary_trees,
};
BENCH_WORKLOAD(binary_trees)

/* ---- handoff ---- */

typedef struct ho_ctx {
	const bench_alloc *a; /* NULL: ravioli */
	size_t lists, nodes, keep;
	/* malloc: lists queued through head->right, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	mnode *head, *tail;
	bool done;
	/* ravioli */
	rav_channel *ch;
	/* results of the last run */
	uint64_t sum;
	double moves_per_list, pages_per_list;
} ho_ctx;

static void *ho_producer(void *arg)
{
	ho_ctx *c = arg;
	if (!c->a) {
		rav_type t = bench_types_get().list;
		for (size_t l = 0; l < c->lists; l++) {
			rav_msg *m = rav_msg_new();
			if (!m)
				bench_die("rav_msg_new");
			rav_heap *mh = rav_msg_heap(m);
			rav_ref cur;
			OK(rav_new_root(mh, t, rav_msg_root(m), &cur));
			rav_store(mh, cur, 0, l * c->nodes);
			for (size_t i = 1; i < c->nodes; i++) {
				OK(rav_new_field(mh, t, cur, 1, &cur));
				rav_store(mh, cur, 0, l * c->nodes + i);
			}
			OK(rav_send(c->ch, m));
		}
		rav_channel_close(c->ch);
		rav_thread_exit();
		return NULL;
	}
	for (size_t l = 0; l < c->lists; l++) {
		mnode *head = NULL;
		for (size_t i = c->nodes; i-- > 0;) {
			mnode *n = c->a->malloc_fn(sizeof *n);
			n->value = l * c->nodes + i;
			n->next = head;
			n->right = NULL;
			head = n;
		}
		pthread_mutex_lock(&c->lock);
		if (c->tail)
			c->tail->right = head;
		else
			c->head = head;
		c->tail = head;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

static void *ho_consumer(void *arg)
{
	ho_ctx *c = arg;
	uint64_t sum = 0;
	if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().list;
		rav_root dst = rav_root_new(h), kept = rav_root_new(h), scratch = rav_root_new(h);
		if (!dst || !kept || !scratch)
			bench_die("rav_root_new");
		for (size_t i = 0; i < c->keep; i++)
			bench_list_push(h, t, kept, scratch, i);
		rav_stats s0, s1;
		rav_heap_stats(h, &s0);
		while (rav_recv(c->ch, h, dst) == RAV_OK) {
			for (rav_ref n = rav_root_get(h, dst); !rav_ref_is_null(n); n = rav_load_ref(h, n, 1))
				sum += rav_load(h, n, 0);
			OK(rav_root_clear(h, dst));
		}
		rav_heap_stats(h, &s1);
		c->moves_per_list = (double)(s1.moves - s0.moves) / (double)c->lists;
		c->pages_per_list = (double)(s1.pages_received - s0.pages_received) / (double)c->lists;
		rav_root_free(h, kept);
		rav_root_free(h, dst);
		rav_root_free(h, scratch);
		rav_thread_exit();
	} else {
		for (;;) {
			pthread_mutex_lock(&c->lock);
			while (!c->head && !c->done)
				pthread_cond_wait(&c->cond, &c->lock);
			mnode *head = c->head;
			if (!head) {
				pthread_mutex_unlock(&c->lock);
				break;
			}
			c->head = head->right;
			if (!c->head)
				c->tail = NULL;
			pthread_mutex_unlock(&c->lock);
			while (head) {
				mnode *next = head->next;
				sum += head->value;
				c->a->free_fn(head);
				head = next;
			}
		}
	}
	c->sum = sum;
	return NULL;
}

static double ho_once(void *arg)
{
	ho_ctx *c = arg;
	c->head = c->tail = NULL;
	c->done = false;
	if (!c->a && !(c->ch = rav_channel_new()))
		bench_die("rav_channel_new");
	pthread_t prod, cons;
	double t0 = bench_now();
	if (pthread_create(&cons, NULL, ho_consumer, c) != 0 || pthread_create(&prod, NULL, ho_producer, c) != 0)
		bench_die("pthread_create");
	pthread_join(prod, NULL);
	pthread_join(cons, NULL);
	double t = bench_now() - t0;
	if (!c->a)
		rav_channel_free(c->ch);
	return t;
}

static const bench_workload handoff;

typedef struct ho_child_out {
	double seconds, moves_per_list, pages_per_list;
	uint64_t sum;
} ho_child_out;

/* In a fresh process (RAVIOLI_ARRIVAL set by the parent): argv = LISTS
 * NODES KEEP REPEAT. */
static int ho_child(const bench_alloc *allocs, unsigned nallocs, int argc, char **argv)
{
	(void)allocs, (void)nallocs;
	if (argc != 4)
		return 2;
	ho_ctx c;
	memset(&c, 0, sizeof c);
	c.lists = strtoul(argv[0], NULL, 10);
	c.nodes = strtoul(argv[1], NULL, 10);
	c.keep = strtoul(argv[2], NULL, 10);
	unsigned repeat = (unsigned)strtoul(argv[3], NULL, 10);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	ho_child_out o = { -1, 0, 0, 0 };
	(void)ho_once(&c); /* warm-up */
	for (unsigned k = 0; k < repeat; k++) {
		double t = ho_once(&c);
		if (o.seconds < 0 || t < o.seconds)
			o.seconds = t;
	}
	o.moves_per_list = c.moves_per_list;
	o.pages_per_list = c.pages_per_list;
	o.sum = c.sum;
	return write(1, &o, sizeof o) == (ssize_t)sizeof o ? 0 : 1;
}

static void run_handoff(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	size_t lists = bench_size(p, 2000, 100), nodes = p->quick ? 1000 : 1000;
	/* Few enough that they fit in the room the message's last page has left
 * (1001 cells fill 7 pages and 112 cells of the 8th), so both layouts are
 * possible. */
	enum { KEEP = 10 };
	snprintf(r->params, sizeof r->params,
		 "\"lists\": %zu, \"nodes_per_list\": %zu, \"node_bytes\": 32, \"threads\": 2, \"policy_rows_keep\": %d",
		 lists, nodes, KEEP);
	r->metric_names[0] = "ns_per_node";
	r->metric_names[1] = "moves_per_list";
	r->metric_names[2] = "pages_per_list";
	uint64_t want = (uint64_t)lists * nodes * (lists * nodes - 1) / 2;
	ho_ctx ctx[4];
	const char *names[4];
	unsigned n = 0;
	memset(ctx, 0, sizeof ctx);
	if (p->ravioli)
		names[n++] = "ravioli";
	for (unsigned i = 0; i < nallocs && n < 4; i++) {
		ctx[n].a = &allocs[i];
		names[n++] = allocs[i].name;
	}
	double (*fns[4])(void *);
	void *ctxs[4];
	double best[4];
	for (unsigned i = 0; i < n; i++) {
		ctx[i].lists = lists;
		ctx[i].nodes = nodes;
		pthread_mutex_init(&ctx[i].lock, NULL);
		pthread_cond_init(&ctx[i].cond, NULL);
		fns[i] = ho_once;
		ctxs[i] = &ctx[i];
	}
	bench_best_interleaved(p, n, fns, ctxs, best);
	for (unsigned i = 0; i < n; i++) {
		bench_result *res = bench_add(r, names[i], best[i]);
		res->metric[0] = best[i] * 1e9 / (double)(lists * nodes);
		if (!ctx[i].a) {
			res->metric[1] = ctx[i].moves_per_list;
			res->metric[2] = ctx[i].pages_per_list;
		} else {
			snprintf(res->note, sizeof res->note, "list head through a mutex queue");
		}
		if (ctx[i].sum != want)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: sum %" PRIu64 ", expected %" PRIu64,
				 ctx[i].sum, want);
		pthread_mutex_destroy(&ctx[i].lock);
		pthread_cond_destroy(&ctx[i].cond);
	}
	if (!p->ravioli)
		return;
	/* The two arrival layouts, with a consumer keeping KEEP live nodes. */
	static const char *const policies[] = { "fill-tail", "evacuate" };
	for (int k = 0; k < 2; k++) {
		char a1[32], a2[32], a3[32], a4[32], name[40];
		snprintf(a1, sizeof a1, "%zu", lists);
		snprintf(a2, sizeof a2, "%zu", nodes);
		snprintf(a3, sizeof a3, "%d", KEEP);
		snprintf(a4, sizeof a4, "%u", p->repeat);
		char *args[] = { a1, a2, a3, a4, NULL };
		snprintf(name, sizeof name, "ravioli-%s", policies[k]);
		setenv("RAVIOLI_ARRIVAL", policies[k], 1);
		ho_child_out o;
		bool ok = bench_run_child(&handoff, args, &o, sizeof o);
		unsetenv("RAVIOLI_ARRIVAL");
		bench_result *res = bench_add(r, name, ok ? o.seconds : -1);
		if (!ok) {
			snprintf(res->note, sizeof res->note, "child process failed");
			continue;
		}
		res->metric[0] = o.seconds * 1e9 / (double)(lists * nodes);
		res->metric[1] = o.moves_per_list;
		res->metric[2] = o.pages_per_list;
		snprintf(res->note, sizeof res->note, "consumer keeps %d live nodes; fresh process", KEEP);
		if (o.sum != want)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: sum %" PRIu64, o.sum);
	}
}

static const bench_workload handoff = {
	.name = "handoff",
	.description = "producer thread builds lists of nodes, consumer thread walks and frees each: ravioli messages "
		       "through a channel vs the head through a mutex queue; implementations interleaved",
	.order = 45,
	.run = run_handoff,
	.child = ho_child,
};
BENCH_WORKLOAD(handoff)
