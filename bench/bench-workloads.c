/* bench-workloads.c - the allocator workloads of issue #2 (tree,
 * fragmentation, messages, bulk free) and the vector: each as a ravioli
 * version and a malloc version that do the same work on the same random
 * sequence (see bench-common.h).  Churn is in bench-churn.c, the classic
 * benchmarks of issue #9 in bench-classic.c.  One file though just over
 * 800 lines: the messages workload hops the tree workload's trees
 * (mtree_*, rtree_*), and they all share the types set up at the top.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench-common.h"

static rav_type t_list; /* f0 data: payload, f1 ref: next */
static rav_type t_tree; /* f0, f1 refs: children; scalar: value */

static void types(void)
{
	if (!t_list) {
		bench_types t = bench_types_get();
		t_list = t.list;
		t_tree = t.tree;
	}
}

static void rav_list_push(rav_heap *h, rav_root b, rav_root scratch, uintptr_t payload)
{
	bench_list_push(h, t_list, b, scratch, payload);
}

static void die(const char *what)
{
	bench_die(what);
}

/* ---- tree ---- */

typedef struct tree_ctx {
	const bench_alloc *a;
	size_t nodes;
	double build, teardown; /* of the last run */
} tree_ctx;

static mnode *mtree_build(const bench_alloc *a, size_t lo, size_t hi)
{
	if (lo >= hi)
		return NULL;
	size_t mid = lo + (hi - lo) / 2;
	mnode *n = a->malloc_fn(sizeof *n);
	n->value = mid;
	n->next = mtree_build(a, lo, mid);
	n->right = mtree_build(a, mid + 1, hi);
	return n;
}

static void mtree_free(const bench_alloc *a, mnode *n)
{
	if (!n)
		return;
	mtree_free(a, n->next);
	mtree_free(a, n->right);
	a->free_fn(n);
}

static double tree_malloc(void *arg)
{
	tree_ctx *c = arg;
	double t0 = bench_now();
	mnode *root = mtree_build(c->a, 0, c->nodes);
	double t1 = bench_now();
	mtree_free(c->a, root);
	double t2 = bench_now();
	c->build = t1 - t0;
	c->teardown = t2 - t1;
	return t2 - t0;
}

/* Nodes are allocated into empty fields only, so borrows stay valid. */
static void rtree_build(rav_heap *h, rav_ref parent, int field, size_t lo, size_t hi)
{
	if (lo >= hi)
		return;
	size_t mid = lo + (hi - lo) / 2;
	rav_ref n;
	OK(rav_new_field(h, t_tree, parent, field, &n));
	rav_set_scalar(h, n, mid);
	rtree_build(h, n, 0, lo, mid);
	rtree_build(h, n, 1, mid + 1, hi);
}

static double tree_ravioli(void *arg)
{
	tree_ctx *c = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	double t0 = bench_now();
	size_t mid = c->nodes / 2;
	rav_ref top;
	OK(rav_new_root(h, t_tree, r, &top));
	rav_set_scalar(h, top, mid);
	rtree_build(h, top, 0, 0, mid);
	rtree_build(h, top, 1, mid + 1, c->nodes);
	double t1 = bench_now();
	OK(rav_root_clear(h, r)); /* iterative cascade + compaction */
	double t2 = bench_now();
	rav_root_free(h, r);
	c->build = t1 - t0;
	c->teardown = t2 - t1;
	return t2 - t0;
}

static void run_tree(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	types();
	tree_ctx c = { NULL, bench_size(p, 1000000, 20000), 0, 0 };
	snprintf(r->params, sizeof r->params, "\"nodes\": %zu, \"node_bytes\": 32", c.nodes);
	r->metric_names[0] = "build_ms";
	r->metric_names[1] = "teardown_ms";
	bench_result *res;
	if (p->ravioli) {
		res = bench_add(r, "ravioli", bench_best(p, tree_ravioli, &c));
		res->metric[0] = c.build * 1e3;
		res->metric[1] = c.teardown * 1e3;
	}
	for (unsigned i = 0; i < nallocs; i++) {
		c.a = &allocs[i];
		res = bench_add(r, allocs[i].name, bench_best(p, tree_malloc, &c));
		res->metric[0] = c.build * 1e3;
		res->metric[1] = c.teardown * 1e3;
	}
}

static const bench_workload tree = {
	.name = "tree",
	.description = "build a balanced binary tree of 32-byte nodes, then tear it down (time = both; last run's split "
		       "shown)",
	.order = 20,
	.run = run_tree,
};
BENCH_WORKLOAD(tree)

/* ---- fragmentation ---- */

enum { FRAG_LIST = 16 };

typedef struct frag_out {
	double seconds;        /* allocate + free phases */
	double resident_bytes; /* growth over the baseline once settled (see frag_settle) */
	double at_free_bytes;  /* the same right after the frees */
	double settle_ms;      /* how long resident took to come down to live + FRAG_RESERVE; -1: not within FRAG_WAIT_MS */
	double live_bytes;
	double peak_bytes;     /* growth over the baseline with everything allocated */
} frag_out;

/* An allocator may keep freed memory for a while before it gives it back
 * (the ravioli pool keeps its recent peak for up to purge_decay_ms, 1 s by
 * default, ravioli.h): watch resident memory for up to FRAG_WAIT_MS after
 * the frees, without calling the allocator, until it is within
 * FRAG_RESERVE of the live bytes. */
#define FRAG_WAIT_MS 1500.0
#define FRAG_RESERVE (1.0 * 1048576) /* pool reserve (64 pages) + a thread cache (32) + a spare page, rounded up */

static void frag_settle(uint64_t base, double t_free, frag_out *o)
{
	o->at_free_bytes = (double)(bench_resident_bytes() - base);
	o->settle_ms = -1;
	for (;;) {
		double grown = (double)(bench_resident_bytes() - base), waited = (bench_now() - t_free) * 1e3;
		o->resident_bytes = grown;
		if (grown <= o->live_bytes + FRAG_RESERVE) {
			o->settle_ms = waited;
			return;
		}
		if (waited >= FRAG_WAIT_MS)
			return;
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
}

/* Keep each node with probability 1/10, deciding from the shared sequence. */
static bool frag_keep(uint64_t *rng)
{
	return bench_rand(rng) % 10 == 0;
}

static void frag_malloc(const bench_alloc *a, size_t nodes, uint64_t seed, frag_out *o)
{
	size_t lists = nodes / FRAG_LIST;
	mnode **heads = calloc(lists, sizeof *heads);
	uint64_t base = bench_resident_bytes(), rng = seed;
	double t0 = bench_now();
	for (size_t i = 0; i < lists * FRAG_LIST; i++) {
		mnode *n = a->malloc_fn(sizeof *n);
		n->value = i;
		n->next = heads[i % lists];
		heads[i % lists] = n;
	}
	o->peak_bytes = (double)(bench_resident_bytes() - base);
	size_t kept = 0;
	for (size_t l = 0; l < lists; l++) {
		mnode **link = &heads[l];
		while (*link) {
			mnode *n = *link;
			if (frag_keep(&rng)) {
				kept++;
				link = &n->next;
			} else {
				*link = n->next;
				a->free_fn(n);
			}
		}
	}
	double t1 = bench_now();
	o->seconds = t1 - t0;
	o->live_bytes = (double)kept * 32;
	frag_settle(base, t1, o);
}

static void frag_ravioli(size_t nodes, uint64_t seed, frag_out *o)
{
	rav_heap *h = rav_heap_self();
	size_t lists = nodes / FRAG_LIST;
	rav_root *heads = malloc(lists * sizeof *heads);
	for (size_t l = 0; l < lists; l++)
		heads[l] = rav_root_new(h);
	rav_root scratch = rav_root_new(h);
	uint64_t base = bench_resident_bytes(), rng = seed;
	double t0 = bench_now();
	for (size_t i = 0; i < lists * FRAG_LIST; i++)
		rav_list_push(h, heads[i % lists], scratch, i);
	o->peak_bytes = (double)(bench_resident_bytes() - base);
	/* Walk each list from its head: a kept node moves onto a second list,
	 * a dropped one is freed.  Everything happens at list heads held by
	 * roots, so no borrow has to survive a free (which moves cells). */
	size_t kept = 0;
	rav_root keep = rav_root_new(h);
	for (size_t l = 0; l < lists; l++) {
		for (;;) {
			rav_ref head = rav_root_get(h, heads[l]);
			if (rav_ref_is_null(head))
				break;
			if (!frag_keep(&rng)) {
				OK(rav_move(h, rav_root_slot(heads[l]), rav_field_slot(head, 1)));
				continue;
			}
			kept++;
			OK(rav_move(h, rav_root_slot(scratch), rav_root_slot(heads[l])));
			OK(rav_move(h, rav_root_slot(heads[l]), rav_field_slot(head, 1)));
			OK(rav_move(h, rav_field_slot(head, 1), rav_root_slot(keep)));
			OK(rav_move(h, rav_root_slot(keep), rav_root_slot(scratch)));
		}
		OK(rav_move(h, rav_root_slot(heads[l]), rav_root_slot(keep)));
	}
	double t1 = bench_now();
	o->seconds = t1 - t0;
	o->live_bytes = (double)kept * 32;
	frag_settle(base, t1, o);
	rav_stats s;
	rav_heap_stats(h, &s);
	if (s.live_cells != kept)
		die("fragmentation: live cell count disagrees with the kept nodes");
}

static const bench_workload fragmentation;

/* Each implementation runs in a fresh process (not a fork of this one,
 * whose allocators and pool already hold resident memory that a child's
 * allocations would reuse without growing its resident set). */
static bool frag_in_child(const bench_alloc *a, size_t nodes, uint64_t seed, frag_out *o)
{
	char n[32], sd[32];
	snprintf(n, sizeof n, "%zu", nodes);
	snprintf(sd, sizeof sd, "%" PRIu64, seed);
	char *args[] = { (char *)(a ? a->name : "ravioli"), n, sd, NULL };
	return bench_run_child(&fragmentation, args, o, sizeof *o);
}

/* In the fresh process: argv = IMPL NODES SEED. */
static int frag_child(const bench_alloc *allocs, unsigned nallocs, int argc, char **argv)
{
	if (argc != 3)
		return 2;
	size_t nodes = strtoul(argv[1], NULL, 10);
	uint64_t seed = strtoull(argv[2], NULL, 10);
	frag_out res;
	if (strcmp(argv[0], "ravioli") == 0) {
		types();
		frag_ravioli(nodes, seed, &res);
	} else {
		const bench_alloc *a = NULL;
		for (unsigned i = 0; i < nallocs; i++)
			if (strcmp(allocs[i].name, argv[0]) == 0)
				a = &allocs[i];
		if (!a)
			return 3;
		frag_malloc(a, nodes, seed, &res);
	}
	return write(1, &res, sizeof res) == (ssize_t)sizeof res ? 0 : 1;
}

static void frag_report(bench_report *r, const bench_params *p, const bench_alloc *a, size_t nodes)
{
	frag_out best = { .seconds = -1 };
	for (unsigned k = 0; k < p->repeat; k++) {
		frag_out o;
		if (!frag_in_child(a, nodes, p->seed, &o)) {
			bench_result *res = bench_add(r, a ? a->name : "ravioli", -1);
			snprintf(res->note, sizeof res->note, "child process failed");
			return;
		}
		if (best.seconds < 0 || o.seconds < best.seconds)
			best = o;
	}
	bench_result *res = bench_add(r, a ? a->name : "ravioli", best.seconds);
	res->metric[0] = best.resident_bytes / 1048576.0;
	res->metric[1] = best.live_bytes / 1048576.0;
	res->metric[2] = best.live_bytes > 0 ? best.resident_bytes / best.live_bytes : 0;
	res->metric[3] = best.peak_bytes / 1048576.0;
	res->metric[4] = best.at_free_bytes / 1048576.0;
	res->metric[5] = best.settle_ms;
}

static void run_frag(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	types();
	size_t nodes = bench_size(p, 4000000, 40000) / FRAG_LIST * FRAG_LIST;
	snprintf(r->params, sizeof r->params,
		 "\"nodes\": %zu, \"freed_fraction\": 0.9, \"node_bytes\": 32, \"list_length\": %d", nodes, FRAG_LIST);
	r->metric_names[0] = "resident_mib";
	r->metric_names[1] = "live_mib";
	r->metric_names[2] = "resident_per_live";
	r->metric_names[3] = "peak_mib";
	r->metric_names[4] = "at_free_mib";
	r->metric_names[5] = "settle_ms";
	if (p->ravioli)
		frag_report(r, p, NULL, nodes);
	for (unsigned i = 0; i < nallocs; i++)
		frag_report(r, p, &allocs[i], nodes);
}

static const bench_workload fragmentation = {
	.name = "fragmentation",
	.description = "allocate nodes, free a random 90%, then resident memory growth vs live bytes, right after the "
		       "frees and once within 1 MiB of live (settle_ms; -1: not within 1.5 s) (fresh process per impl)",
	.order = 30,
	.run = run_frag,
	.child = frag_child,
};
BENCH_WORKLOAD(fragmentation)

/* ---- messages ---- */

/* Two threads pass one tree back and forth; each hop the receiver walks it
 * and adds 1 to every node's value.  Ravioli: the tree travels as a message
 * (adopt into buffer pages, send, arrival compaction in the receiver's
 * heap).  Malloc: the tree stays where it is and a pointer changes hands
 * under a mutex and condition variable, the chatty shared-memory way. */

typedef struct msg_ctx {
	const bench_alloc *a;
	size_t nodes, round_trips;
	/* shared-pointer version */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	mnode *tree;
	int turn;      /* thread allowed to touch the tree */
	bool done;
	/* ravioli version */
	rav_channel *to_b, *to_a;
	uint64_t sum;  /* checked: every node gained one per hop */
	double pages_per_message;
} msg_ctx;

static uint64_t mtree_bump(mnode *n)
{
	uint64_t s = 0;
	mnode *stack[128];
	size_t sp = 0;
	if (n)
		stack[sp++] = n;
	while (sp) {
		mnode *x = stack[--sp];
		s += ++x->value;
		if (x->next)
			stack[sp++] = x->next;
		if (x->right)
			stack[sp++] = x->right;
	}
	return s;
}

static void *msg_malloc_peer(void *arg)
{
	msg_ctx *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->turn != 1 && !c->done)
			pthread_cond_wait(&c->cond, &c->lock);
		if (c->done) {
			pthread_mutex_unlock(&c->lock);
			return NULL;
		}
		mnode *t = c->tree;
		pthread_mutex_unlock(&c->lock);
		mtree_bump(t);
		pthread_mutex_lock(&c->lock);
		c->turn = 0;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

static double msg_malloc(void *arg)
{
	msg_ctx *c = arg;
	pthread_t peer;
	c->turn = 0;
	c->done = false;
	c->tree = mtree_build(c->a, 0, c->nodes);
	pthread_create(&peer, NULL, msg_malloc_peer, c);
	double t0 = bench_now();
	for (size_t i = 0; i < c->round_trips; i++) {
		pthread_mutex_lock(&c->lock);
		c->turn = 1;
		pthread_cond_broadcast(&c->cond);
		while (c->turn != 0)
			pthread_cond_wait(&c->cond, &c->lock);
		mnode *t = c->tree;
		pthread_mutex_unlock(&c->lock);
		c->sum = mtree_bump(t);
	}
	double t = bench_now() - t0;
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	pthread_join(peer, NULL);
	mtree_free(c->a, c->tree);
	return t;
}

static uint64_t rtree_bump(rav_heap *h, rav_ref top)
{
	uint64_t s = 0;
	rav_ref stack[128];
	size_t sp = 0;
	stack[sp++] = top;
	while (sp) {
		rav_ref x = stack[--sp];
		uintptr_t v = rav_scalar(h, x) + 1;
		rav_set_scalar(h, x, v);
		s += v;
		for (int f = 0; f < 2; f++) {
			rav_ref ch = rav_load_ref(h, x, f);
			if (!rav_ref_is_null(ch))
				stack[sp++] = ch;
		}
	}
	return s;
}

static void rav_pass(rav_heap *h, rav_root r, rav_channel *to)
{
	rav_msg *m = rav_msg_new();
	if (!m)
		die("rav_msg_new");
	OK(rav_msg_adopt(m, h, r));
	OK(rav_send(to, m));
}

static void *msg_ravioli_peer(void *arg)
{
	msg_ctx *c = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	while (rav_recv(c->to_b, h, r) == RAV_OK) {
		rtree_bump(h, rav_root_get(h, r));
		rav_pass(h, r, c->to_a);
	}
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

static double msg_ravioli(void *arg)
{
	msg_ctx *c = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	size_t mid = c->nodes / 2;
	rav_ref top;
	OK(rav_new_root(h, t_tree, r, &top));
	rav_set_scalar(h, top, mid);
	rtree_build(h, top, 0, 0, mid);
	rtree_build(h, top, 1, mid + 1, c->nodes);
	c->to_b = rav_channel_new();
	c->to_a = rav_channel_new();
	pthread_t peer;
	pthread_create(&peer, NULL, msg_ravioli_peer, c);
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	double t0 = bench_now();
	for (size_t i = 0; i < c->round_trips; i++) {
		rav_pass(h, r, c->to_b);
		OK(rav_recv(c->to_a, h, r));
		c->sum = rtree_bump(h, rav_root_get(h, r));
	}
	double t = bench_now() - t0;
	rav_heap_stats(h, &s1);
	c->pages_per_message = (double)(s1.pages_received - s0.pages_received) / (double)c->round_trips;
	rav_channel_close(c->to_b);
	pthread_join(peer, NULL);
	rav_channel_free(c->to_b);
	rav_channel_free(c->to_a);
	rav_root_free(h, r);
	return t;
}

static void run_messages(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	types();
	msg_ctx c;
	memset(&c, 0, sizeof c);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	c.nodes = bench_size(p, 10000, 1000);
	c.round_trips = bench_size(p, 200, 20);
	snprintf(r->params, sizeof r->params, "\"tree_nodes\": %zu, \"round_trips\": %zu, \"threads\": 2", c.nodes,
		 c.round_trips);
	r->metric_names[0] = "us_per_hop";
	r->metric_names[1] = "pages_per_message";
	/* Each run starts from values 0..n-1; after 2k hops each node gained 2k. */
	uint64_t want = (uint64_t)c.nodes * (c.nodes - 1) / 2 + (uint64_t)c.nodes * 2 * c.round_trips;
	bench_result *res;
	if (p->ravioli) {
		res = bench_add(r, "ravioli", bench_best(p, msg_ravioli, &c));
		res->metric[0] = res->seconds * 1e6 / (double)(2 * c.round_trips);
		res->metric[1] = c.pages_per_message;
		if (c.sum != want)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: sum %" PRIu64 ", expected %" PRIu64, c.sum,
				 want);
	}
	for (unsigned i = 0; i < nallocs; i++) {
		c.a = &allocs[i];
		res = bench_add(r, allocs[i].name, bench_best(p, msg_malloc, &c));
		res->metric[0] = res->seconds * 1e6 / (double)(2 * c.round_trips);
		if (c.sum != want)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: sum %" PRIu64, c.sum);
		else
			snprintf(res->note, sizeof res->note, "shared pointer + mutex");
	}
	pthread_mutex_destroy(&c.lock);
	pthread_cond_destroy(&c.cond);
}

static const bench_workload messages = {
	.name = "messages",
	.description = "two threads pass a tree back and forth, each hop adds 1 to every node: ravioli page hand-off vs a "
		       "malloc'd tree shared by pointer under a mutex",
	.order = 40,
	.run = run_messages,
};
BENCH_WORKLOAD(messages)

/* ---- bulk free ---- */

/* Claim 2 of the design notes: what a bulk delete costs, and whether
 * deferred compaction bounds the pause.  Two lists are built interleaved
 * (their cells alternate in memory), then one is freed whole, so every
 * freed cell below the top needs a move.  Immediate mode frees in one
 * call; deferred mode queues the dead cells and compacts in steps of
 * BULK_STEP moves, and the longest step is the pause a program would see. */

enum { BULK_STEP = 4096 };

typedef struct bulk_ctx {
	const bench_alloc *a;
	size_t nodes;
	bool deferred;
	double free_call;         /* the rav_root_clear (or free loop) itself */
	double max_step;          /* longest rav_compact step (deferred), in this thread's CPU time: a step the
				   * scheduler preempts on a busy machine is not a longer pause of the engine */
	double moves_per_free, fixups_per_free;
} bulk_ctx;

static double thread_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double bulk_malloc(void *arg)
{
	bulk_ctx *c = arg;
	mnode *a = NULL, *b = NULL;
	for (size_t i = 0; i < c->nodes; i++) {
		mnode *x = c->a->malloc_fn(sizeof *x), *y = c->a->malloc_fn(sizeof *y);
		x->next = a;
		a = x;
		y->next = b;
		b = y;
	}
	double t0 = bench_now();
	while (a) {
		mnode *x = a;
		a = a->next;
		c->a->free_fn(x);
	}
	double t = bench_now() - t0;
	while (b) {
		mnode *y = b;
		b = b->next;
		c->a->free_fn(y);
	}
	return t;
}

static double bulk_ravioli(void *arg)
{
	bulk_ctx *c = arg;
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h), scratch = rav_root_new(h);
	for (size_t i = 0; i < c->nodes; i++) {
		rav_list_push(h, a, scratch, i);
		rav_list_push(h, b, scratch, i);
	}
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	c->max_step = 0;
	double t0 = bench_now();
	if (c->deferred)
		rav_set_free_mode(h, RAV_FREE_DEFERRED);
	OK(rav_root_clear(h, a));
	c->free_call = bench_now() - t0;
	while (c->deferred) {
		double ts = thread_cpu_now();
		size_t left = rav_compact(h, BULK_STEP);
		double step = thread_cpu_now() - ts;
		if (step > c->max_step)
			c->max_step = step;
		if (left == 0)
			break;
	}
	double t = bench_now() - t0;
	rav_heap_stats(h, &s1);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	double frees = (double)(s1.frees - s0.frees);
	c->moves_per_free = frees > 0 ? (double)(s1.moves - s0.moves) / frees : 0;
	c->fixups_per_free = frees > 0 ? (double)(s1.fixups - s0.fixups) / frees : 0;
	rav_root_free(h, a);
	rav_root_free(h, b);
	rav_root_free(h, scratch);
	return t;
}

static void run_bulk(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	types();
	bulk_ctx c = { .a = NULL, .nodes = bench_size(p, 1000000, 20000), .deferred = false };
	snprintf(r->params, sizeof r->params, "\"freed_nodes\": %zu, \"surviving_nodes\": %zu, \"compact_step_moves\": %d",
		 c.nodes, c.nodes, BULK_STEP);
	r->metric_names[0] = "free_call_ms";
	r->metric_names[1] = "max_step_ms";
	r->metric_names[2] = "moves_per_free";
	r->metric_names[3] = "fixups_per_free";
	if (p->ravioli) {
		bench_result *res = bench_add(r, "ravioli", bench_best(p, bulk_ravioli, &c));
		res->metric[0] = c.free_call * 1e3;
		res->metric[2] = c.moves_per_free;
		res->metric[3] = c.fixups_per_free;
		c.deferred = true;
		res = bench_add(r, "ravioli-deferred", bench_best(p, bulk_ravioli, &c));
		res->metric[0] = c.free_call * 1e3;
		res->metric[1] = c.max_step * 1e3;
		res->metric[2] = c.moves_per_free;
		res->metric[3] = c.fixups_per_free;
		snprintf(res->note, sizeof res->note, "then rav_compact in steps of %d moves", BULK_STEP);
	}
	for (unsigned i = 0; i < nallocs; i++) {
		c.a = &allocs[i];
		bench_result *res = bench_add(r, allocs[i].name, bench_best(p, bulk_malloc, &c));
		res->metric[0] = res->seconds * 1e3; /* one uninterrupted loop */
	}
}

static const bench_workload bulk_free = {
	.name = "bulk-free",
	.description = "free a whole list whose cells alternate with a surviving list's: immediate vs deferred compaction (the "
		       "freeing call, then the longest compaction step in thread CPU time), vs free() per node",
	.order = 50,
	.run = run_bulk,
};
BENCH_WORKLOAD(bulk_free)

/* ---- vector ---- */

/* Claim 5 of the design notes: what "everything bigger than a cell is a
 * tree" costs.  A vector of words grows by push, is read at random
 * indices, then shrinks by pop: rav_vec_* (O(log n) hops; leaves of two
 * words plus the nodes above them, reported as bytes_per_element) against
 * a flat array that doubles through the allocator (malloc + memcpy + free,
 * as realloc would). */

typedef struct vec_ctx {
	const bench_alloc *a;
	size_t n, reads;
	uint64_t seed, sum;
	double bytes_per_element;
	double phase[3]; /* push, random get, pop: seconds of the last run */
} vec_ctx;

static double vec_malloc(void *arg)
{
	vec_ctx *c = arg;
	uint64_t rng = c->seed, sum = 0;
	double t0 = bench_now();
	size_t cap = 16, len = 0;
	uint64_t *v = c->a->malloc_fn(cap * sizeof *v);
	for (size_t i = 0; i < c->n; i++) {
		if (len == cap) {
			uint64_t *w = c->a->malloc_fn(2 * cap * sizeof *w);
			memcpy(w, v, len * sizeof *v);
			c->a->free_fn(v);
			v = w;
			cap *= 2;
		}
		v[len++] = i;
	}
	double t1 = bench_now();
	for (size_t k = 0; k < c->reads; k++)
		sum += v[bench_rand(&rng) % len];
	double t2 = bench_now();
	while (len > 0)
		sum += v[--len];
	c->a->free_fn(v);
	double t3 = bench_now();
	c->phase[0] = t1 - t0;
	c->phase[1] = t2 - t1;
	c->phase[2] = t3 - t2;
	c->bytes_per_element = (double)(cap * sizeof *v) / (double)c->n;
	c->sum = sum;
	return bench_now() - t0;
}

static double vec_ravioli(void *arg)
{
	vec_ctx *c = arg;
	uint64_t rng = c->seed, sum = 0;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	double t0 = bench_now();
	OK(rav_vec_new_root(h, r, false));
	rav_ref v = rav_root_get(h, r);
	for (size_t i = 0; i < c->n; i++)
		OK(rav_vec_push(h, v, i)); /* push never moves cells: v stays valid */
	double t1 = bench_now();
	rav_heap_stats(h, &s1);
	for (size_t k = 0; k < c->reads; k++) {
		uintptr_t x;
		OK(rav_vec_get(h, v, bench_rand(&rng) % c->n, &x));
		sum += x;
	}
	double t2 = bench_now();
	for (size_t i = c->n; i > 0; i--) {
		uintptr_t x;
		OK(rav_vec_pop(h, rav_root_get(h, r), &x)); /* pop may move cells: re-read the root */
		sum += x;
	}
	double t3 = bench_now(), t = t3 - t0;
	c->phase[0] = t1 - t0;
	c->phase[1] = t2 - t1;
	c->phase[2] = t3 - t2;
	rav_root_free(h, r);
	c->bytes_per_element = (double)(s1.live_cells - s0.live_cells) * 32.0 / (double)c->n;
	c->sum = sum;
	return t;
}

static void run_vector(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	vec_ctx c = { .n = bench_size(p, 1000000, 20000), .seed = p->seed };
	c.reads = c.n;
	snprintf(r->params, sizeof r->params, "\"elements\": %zu, \"random_reads\": %zu, \"element_bytes\": 8", c.n,
		 c.reads);
	r->metric_names[0] = "push_ns";
	r->metric_names[1] = "random_get_ns";
	r->metric_names[2] = "pop_ns";
	r->metric_names[3] = "bytes_per_element";
	uint64_t want = 0;
	if (p->ravioli) {
		bench_result *res = bench_add(r, "ravioli", bench_best(p, vec_ravioli, &c));
		res->metric[0] = c.phase[0] * 1e9 / (double)c.n;
		res->metric[1] = c.phase[1] * 1e9 / (double)c.reads;
		res->metric[2] = c.phase[2] * 1e9 / (double)c.n;
		res->metric[3] = c.bytes_per_element;
		want = c.sum;
		snprintf(res->note, sizeof res->note, "rav_vec_push/get/pop");
	}
	for (unsigned i = 0; i < nallocs; i++) {
		c.a = &allocs[i];
		bench_result *res = bench_add(r, allocs[i].name, bench_best(p, vec_malloc, &c));
		res->metric[0] = c.phase[0] * 1e9 / (double)c.n;
		res->metric[1] = c.phase[1] * 1e9 / (double)c.reads;
		res->metric[2] = c.phase[2] * 1e9 / (double)c.n;
		res->metric[3] = c.bytes_per_element;
		if (p->ravioli && c.sum != want)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: sum %" PRIu64 ", ravioli %" PRIu64, c.sum,
				 want);
		else
			snprintf(res->note, sizeof res->note, "flat array, doubling");
	}
}

static const bench_workload vector = {
	.name = "vector",
	.description = "push 1M words, read 1M at random, pop them all: rav_vec (a tree of cells) vs a flat doubling "
		       "array",
	.order = 60,
	.run = run_vector,
};
BENCH_WORKLOAD(vector)
