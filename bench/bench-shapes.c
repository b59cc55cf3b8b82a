/* bench-shapes.c - program shapes the other rows do not have (eng16),
 * written as a new user would write them against ravioli.h, each next to
 * the same work with malloc, all implementations interleaved round by
 * round, the pool settled after every run (as the churn rows do).
 *
 * hash:      a chained hash table (one root per bucket; malloc: an array of
 *            heads) growing from 16 buckets by doubling, then a sliding
 *            window of lookups, deletes and inserts, then every key deleted
 *            while it shrinks by halving.
 * graph:     a long-lived DAG: a rav_vec of references holds every node
 *            ("ravioli-roots": one root per node), each node refers to
 *            two older ones (cells with several referrers: reference
 *            ravioli); random edges re-pointed and nodes replaced
 *            (malloc: reference counts).
 * fifo:      a queue (a list with head and tail roots: the tail node has
 *            two referrers), enqueue at the tail, dequeue at the head: the
 *            frees are at the bottom of the heap, not at its top.
 * requests:  many short-lived small structures, each built in a heap of
 *            its own (a message: rav_msg_new ... rav_msg_free), walked and
 *            dropped; "ravioli-root": the same built under a root of the
 *            thread's heap and cleared.
 * larson:    two threads each build small lists and send them to the
 *            other, which keeps them in a window of slots, a received list
 *            replacing a random slot's (so lists die in the middle of a
 *            heap, and malloc frees memory another thread allocated).
 * deep-list: a 1M-node list pushed at its head, with a later object above
 *            it, freed from its head (the drop of a long chain that is not
 *            at the top).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-common.h"

/* ---- shared driver ---- */

typedef struct shape_ctx {
	const bench_alloc *a; /* NULL: ravioli */
	int variant;          /* ravioli rows: which way (0: the default) */
	size_t n, steps, aux;
	uint64_t seed;
	uint64_t check; /* compared across implementations */
	double m[4];    /* workload's own metrics, of the last run */
} shape_ctx;

/* Like bench-churn.c's settle_pool: the pool's purge thread must have
 * nothing left to do when the next implementation's timed run starts. */
static void shape_settle(void)
{
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	double give_up = bench_now() + 10 * (double)ps.purge_delay_ms * 1e-3;
	while ((ps.due_pages || ps.purging_pages) && bench_now() < give_up) {
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
		rav_pool_stats_get(&ps);
	}
}

typedef struct shape_call {
	double (*fn)(shape_ctx *c);
	shape_ctx *c;
} shape_call;

static double shape_once(void *arg)
{
	shape_call *k = arg;
	double t = k->fn(k->c);
	shape_settle();
	return t;
}

/* Run fn for every ravioli variant named in rav_rows (NULL-terminated)
 * and every allocator, interleaved; metric 0 is ns per op (ops per run),
 * metrics 1.. the ctx's m[0..]. */
static void shape_run(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r,
		      double (*fn)(shape_ctx *), const shape_ctx *proto, double ops, const char *const *rav_rows)
{
	shape_ctx ctx[BENCH_MAX_RESULTS];
	shape_call calls[BENCH_MAX_RESULTS];
	const char *names[BENCH_MAX_RESULTS];
	unsigned n = 0;
	if (p->ravioli)
		for (int v = 0; rav_rows[v] && n < BENCH_MAX_RESULTS; v++) {
			ctx[n] = *proto;
			ctx[n].a = NULL;
			ctx[n].variant = v;
			names[n++] = rav_rows[v];
		}
	for (unsigned i = 0; i < nallocs && n < BENCH_MAX_RESULTS; i++) {
		ctx[n] = *proto;
		ctx[n].a = &allocs[i];
		names[n++] = allocs[i].name;
	}
	double (*fns[BENCH_MAX_RESULTS])(void *) = { 0 };
	void *ctxs[BENCH_MAX_RESULTS] = { 0 };
	double best[BENCH_MAX_RESULTS];
	for (unsigned i = 0; i < n; i++) {
		calls[i] = (shape_call){ fn, &ctx[i] };
		fns[i] = shape_once;
		ctxs[i] = &calls[i];
	}
	bench_best_interleaved(p, n, fns, ctxs, best);
	for (unsigned i = 0; i < n; i++) {
		bench_result *res = bench_add(r, names[i], best[i]);
		res->metric[0] = best[i] * 1e9 / ops;
		for (int k = 0; k < 4 && r->metric_names[k + 1]; k++)
			res->metric[k + 1] = ctx[i].m[k];
		if (ctx[i].check != ctx[0].check)
			snprintf(res->note, sizeof res->note, "WRONG RESULT: check %" PRIu64 ", %s says %" PRIu64,
				 ctx[i].check, names[0], ctx[0].check);
	}
}

static const char *const rav_only[] = { "ravioli", NULL };

/* A key from its index: splitmix64 is a bijection, so distinct indices
 * give distinct keys. */
static uint64_t key_of(uint64_t i)
{
	uint64_t s = i;
	return bench_rand(&s);
}

/* ---- hash ---- */

typedef struct rhash {
	rav_root *b, tmp;
	size_t nb, count;
} rhash;

static void rhash_resize(rav_heap *h, rhash *ht, size_t nb2)
{
	rav_root *nbk = malloc(nb2 * sizeof *nbk);
	if (!nbk)
		bench_die("malloc");
	for (size_t i = 0; i < nb2; i++)
		if (!(nbk[i] = rav_root_new(h)))
			bench_die("rav_root_new");
	for (size_t i = 0; i < ht->nb; i++) {
		for (;;) {
			/* unlink the chain's head and push it onto its new chain:
			 * four moves into empty slots, nothing freed, n stays valid */
			rav_ref n = rav_root_get(h, ht->b[i]);
			if (rav_ref_is_null(n))
				break;
			rav_root d = nbk[rav_load(h, n, 0) & (nb2 - 1)];
			OK(rav_move(h, rav_root_slot(ht->tmp), rav_root_slot(ht->b[i])));
			OK(rav_move(h, rav_root_slot(ht->b[i]), rav_field_slot(n, 1)));
			OK(rav_move(h, rav_field_slot(n, 1), rav_root_slot(d)));
			OK(rav_move(h, rav_root_slot(d), rav_root_slot(ht->tmp)));
		}
		rav_root_free(h, ht->b[i]);
	}
	free(ht->b);
	ht->b = nbk;
	ht->nb = nb2;
}

static void rhash_insert(rav_heap *h, rav_type t, rhash *ht, uint64_t k)
{
	rav_ref n;
	OK(rav_new_before(h, t, rav_root_slot(ht->b[k & (ht->nb - 1)]), 1, &n));
	rav_store(h, n, 0, k);
	if (++ht->count > ht->nb)
		rhash_resize(h, ht, 2 * ht->nb);
}

static bool rhash_find(rav_heap *h, const rhash *ht, uint64_t k)
{
	for (rav_ref n = rav_root_get(h, ht->b[k & (ht->nb - 1)]); !rav_ref_is_null(n); n = rav_load_ref(h, n, 1))
		if (rav_load(h, n, 0) == k)
			return true;
	return false;
}

static bool rhash_delete(rav_heap *h, rhash *ht, uint64_t k)
{
	rav_root b = ht->b[k & (ht->nb - 1)];
	rav_slot s = rav_root_slot(b);
	for (rav_ref n = rav_root_get(h, b); !rav_ref_is_null(n); n = rav_load_ref(h, n, 1)) {
		if (rav_load(h, n, 0) == k) {
			OK(rav_move(h, s, rav_field_slot(n, 1))); /* frees n */
			if (--ht->count < ht->nb / 4 && ht->nb > 16)
				rhash_resize(h, ht, ht->nb / 2);
			return true;
		}
		s = rav_field_slot(n, 1);
	}
	return false;
}

typedef struct mhash {
	mnode **b;
	size_t nb, count;
} mhash;

static void mhash_resize(const bench_alloc *a, mhash *ht, size_t nb2)
{
	mnode **nbk = a->malloc_fn(nb2 * sizeof *nbk);
	memset(nbk, 0, nb2 * sizeof *nbk);
	for (size_t i = 0; i < ht->nb; i++)
		while (ht->b[i]) {
			mnode *n = ht->b[i];
			ht->b[i] = n->next;
			mnode **d = &nbk[n->value & (nb2 - 1)];
			n->next = *d;
			*d = n;
		}
	a->free_fn(ht->b);
	ht->b = nbk;
	ht->nb = nb2;
}

static void mhash_insert(const bench_alloc *a, mhash *ht, uint64_t k)
{
	mnode *n = a->malloc_fn(sizeof *n);
	mnode **b = &ht->b[k & (ht->nb - 1)];
	n->value = k;
	n->next = *b;
	*b = n;
	if (++ht->count > ht->nb)
		mhash_resize(a, ht, 2 * ht->nb);
}

static bool mhash_find(const mhash *ht, uint64_t k)
{
	for (const mnode *n = ht->b[k & (ht->nb - 1)]; n; n = n->next)
		if (n->value == k)
			return true;
	return false;
}

static bool mhash_delete(const bench_alloc *a, mhash *ht, uint64_t k)
{
	for (mnode **l = &ht->b[k & (ht->nb - 1)]; *l; l = &(*l)->next)
		if ((*l)->value == k) {
			mnode *n = *l;
			*l = n->next;
			a->free_fn(n);
			if (--ht->count < ht->nb / 4 && ht->nb > 16)
				mhash_resize(a, ht, ht->nb / 2);
			return true;
		}
	return false;
}

/* n inserts, then `steps` of (lookup a random key present, delete the
 * oldest, insert a new one), then delete every key oldest first. */
static double hash_once(shape_ctx *c)
{
	uint64_t rng = c->seed, found = 0;
	size_t lo = 0, hi = 0;
	double t0 = bench_now();
	if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().list;
		rhash ht = { NULL, rav_root_new(h), 0, 0 };
		ht.b = malloc(16 * sizeof *ht.b);
		for (size_t i = 0; i < 16; i++)
			ht.b[ht.nb++] = rav_root_new(h);
		while (hi < c->n)
			rhash_insert(h, t, &ht, key_of(hi++));
		c->m[0] = (double)ht.nb;
		for (size_t s = 0; s < c->steps; s++) {
			found += rhash_find(h, &ht, key_of(lo + bench_rand(&rng) % (hi - lo)));
			found += rhash_delete(h, &ht, key_of(lo++));
			rhash_insert(h, t, &ht, key_of(hi++));
		}
		while (lo < hi)
			found += rhash_delete(h, &ht, key_of(lo++));
		c->m[1] = (double)ht.nb;
		for (size_t i = 0; i < ht.nb; i++)
			rav_root_free(h, ht.b[i]);
		free(ht.b);
		rav_root_free(h, ht.tmp);
	} else {
		mhash ht = { c->a->malloc_fn(16 * sizeof(mnode *)), 16, 0 };
		memset(ht.b, 0, 16 * sizeof(mnode *));
		while (hi < c->n)
			mhash_insert(c->a, &ht, key_of(hi++));
		c->m[0] = (double)ht.nb;
		for (size_t s = 0; s < c->steps; s++) {
			found += mhash_find(&ht, key_of(lo + bench_rand(&rng) % (hi - lo)));
			found += mhash_delete(c->a, &ht, key_of(lo++));
			mhash_insert(c->a, &ht, key_of(hi++));
		}
		while (lo < hi)
			found += mhash_delete(c->a, &ht, key_of(lo++));
		c->m[1] = (double)ht.nb;
		c->a->free_fn(ht.b);
	}
	c->check = found;
	return bench_now() - t0;
}

static void run_hash(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	shape_ctx c = { .n = bench_size(p, 1000000, 20000), .steps = bench_size(p, 1000000, 20000), .seed = p->seed };
	snprintf(r->params, sizeof r->params, "\"keys\": %zu, \"window_steps\": %zu, \"node_bytes\": 32", c.n, c.steps);
	r->metric_names[0] = "ns_per_op";
	r->metric_names[1] = "buckets_max";
	r->metric_names[2] = "buckets_end";
	shape_run(p, allocs, nallocs, r, hash_once, &c, (double)(2 * c.n + 3 * c.steps), rav_only);
}

static const bench_workload hash = {
	.name = "hash",
	.description = "chained hash table (a root per bucket) growing by doubling to 1M keys, 1M steps of lookup + "
		       "delete oldest + insert, then every key deleted while it shrinks; interleaved",
	.order = 70,
	.run = run_hash,
};
BENCH_WORKLOAD(hash)

/* ---- graph ---- */

/* Ravioli: a new node for index i (value ++*made) in the empty root s,
 * referring to two random nodes below i through the vector in root V. */
static void rgraph_node(rav_heap *h, rav_type t, rav_root V, rav_root s, size_t i, uint64_t *rng, uint64_t *made)
{
	rav_ref n;
	OK(rav_new_root(h, t, s, &n));
	rav_set_scalar(h, n, ++*made);
	for (int f = 0; f < 2 && i > 0; f++) {
		rav_ref target = rav_vec_get_ref(h, rav_root_get(h, V), bench_rand(rng) % i);
		OK(rav_store_ref(h, rav_root_get(h, s), f, target));
	}
}

static uint64_t rgraph_value(rav_heap *h, rav_ref n)
{
	return rav_ref_is_null(n) ? 0 : rav_scalar(h, n);
}

/* Malloc: next and right are the two edges, value the node's value, pad
 * its reference count. */
static void mgraph_release(const bench_alloc *a, mnode *n, mnode ***stack, size_t *cap)
{
	size_t sp = 0;
	(*stack)[sp++] = n;
	while (sp) {
		mnode *x = (*stack)[--sp];
		if (!x || --x->pad != 0)
			continue;
		if (sp + 2 > *cap) {
			*cap *= 2;
			*stack = realloc(*stack, *cap * sizeof **stack);
			if (!*stack)
				bench_die("realloc");
		}
		(*stack)[sp++] = x->next;
		(*stack)[sp++] = x->right;
		a->free_fn(x);
	}
}

static mnode *mgraph_node(const bench_alloc *a, mnode **V, size_t i, uint64_t *rng, uint64_t *made)
{
	mnode *n = a->malloc_fn(sizeof *n);
	n->value = ++*made;
	n->pad = 1;
	n->next = n->right = NULL;
	for (int f = 0; f < 2 && i > 0; f++) {
		mnode *target = V[bench_rand(rng) % i];
		target->pad++;
		if (f == 0)
			n->next = target;
		else
			n->right = target;
	}
	return n;
}

/* n nodes; then `steps` mutations: every 8th replaces a random node (the
 * vector's reference to the old one is dropped), the others re-point a
 * random node's random edge to a random older node; then the sum of every
 * node's value and its two targets' values; then everything dropped. */
static double graph_once(shape_ctx *c)
{
	uint64_t rng = c->seed, made = 0, sum = 0;
	double t0 = bench_now();
	if (!c->a && c->variant == 1) {
		/* one root per node (R[i]); a new node is built in s and moved
		 * into its root (rav_move: it keeps a single referrer) */
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().tree;
		rav_root *R = malloc(c->n * sizeof *R), s = rav_root_new(h);
		if (!R)
			bench_die("malloc");
		for (size_t i = 0; i < c->n; i++)
			if (!(R[i] = rav_root_new(h)))
				bench_die("rav_root_new");
		for (size_t i = 0; i < c->n + c->steps; i++) {
			size_t k = i - c->n, at = i < c->n ? i : 1 + bench_rand(&rng) % (c->n - 1);
			if (i >= c->n && k % 8 != 7) {
				size_t j = bench_rand(&rng) % at;
				int f = (int)(bench_rand(&rng) & 1);
				OK(rav_store_ref(h, rav_root_get(h, R[at]), f, rav_root_get(h, R[j])));
				continue;
			}
			rav_ref n;
			OK(rav_new_root(h, t, s, &n));
			rav_set_scalar(h, n, ++made);
			for (int f = 0; f < 2 && at > 0; f++)
				OK(rav_store_ref(h, rav_root_get(h, s), f, rav_root_get(h, R[bench_rand(&rng) % at])));
			OK(rav_move(h, rav_root_slot(R[at]), rav_root_slot(s)));
		}
		for (size_t i = 0; i < c->n; i++) {
			rav_ref n = rav_root_get(h, R[i]);
			sum += rav_scalar(h, n) + rgraph_value(h, rav_load_ref(h, n, 0)) +
			       rgraph_value(h, rav_load_ref(h, n, 1));
		}
		rav_stats st;
		rav_heap_stats(h, &st);
		c->m[0] = (double)st.ref_cells;
		for (size_t i = 0; i < c->n; i++)
			rav_root_free(h, R[i]);
		rav_root_free(h, s);
		free(R);
	} else if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().tree;
		rav_root V = rav_root_new(h), s = rav_root_new(h);
		OK(rav_vec_new_root(h, V, true));
		for (size_t i = 0; i < c->n; i++) {
			rgraph_node(h, t, V, s, i, &rng, &made);
			OK(rav_vec_push_ref(h, rav_root_get(h, V), rav_root_get(h, s)));
			OK(rav_root_clear(h, s));
		}
		for (size_t k = 0; k < c->steps; k++) {
			size_t i = 1 + bench_rand(&rng) % (c->n - 1);
			if (k % 8 == 7) {
				rgraph_node(h, t, V, s, i, &rng, &made);
				OK(rav_vec_set_ref(h, rav_root_get(h, V), i, rav_root_get(h, s)));
				OK(rav_root_clear(h, s));
			} else {
				size_t j = bench_rand(&rng) % i;
				int f = (int)(bench_rand(&rng) & 1);
				rav_ref v = rav_root_get(h, V);
				OK(rav_store_ref(h, rav_vec_get_ref(h, v, i), f, rav_vec_get_ref(h, v, j)));
			}
		}
		rav_ref v = rav_root_get(h, V);
		for (size_t i = 0; i < c->n; i++) {
			rav_ref n = rav_vec_get_ref(h, v, i);
			sum += rav_scalar(h, n) + rgraph_value(h, rav_load_ref(h, n, 0)) +
			       rgraph_value(h, rav_load_ref(h, n, 1));
		}
		rav_stats st;
		rav_heap_stats(h, &st);
		c->m[0] = (double)st.ref_cells;
		OK(rav_root_clear(h, V));
		rav_root_free(h, V);
		rav_root_free(h, s);
	} else {
		size_t cap = 1024;
		mnode **stack = malloc(cap * sizeof *stack);
		mnode **V = c->a->malloc_fn(c->n * sizeof *V);
		for (size_t i = 0; i < c->n; i++)
			V[i] = mgraph_node(c->a, V, i, &rng, &made);
		for (size_t k = 0; k < c->steps; k++) {
			size_t i = 1 + bench_rand(&rng) % (c->n - 1);
			if (k % 8 == 7) {
				mnode *n = mgraph_node(c->a, V, i, &rng, &made);
				mgraph_release(c->a, V[i], &stack, &cap);
				V[i] = n;
			} else {
				size_t j = bench_rand(&rng) % i;
				int f = (int)(bench_rand(&rng) & 1);
				mnode **e = f == 0 ? &V[i]->next : &V[i]->right, *old = *e;
				V[j]->pad++;
				*e = V[j];
				if (old)
					mgraph_release(c->a, old, &stack, &cap);
			}
		}
		for (size_t i = 0; i < c->n; i++)
			sum += V[i]->value + (V[i]->next ? V[i]->next->value : 0) + (V[i]->right ? V[i]->right->value : 0);
		c->m[0] = 0;
		for (size_t i = 0; i < c->n; i++)
			mgraph_release(c->a, V[i], &stack, &cap);
		c->a->free_fn(V);
		free(stack);
	}
	c->check = sum;
	return bench_now() - t0;
}

static void run_graph(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	shape_ctx c = { .n = bench_size(p, 200000, 5000), .steps = bench_size(p, 1000000, 20000), .seed = p->seed };
	snprintf(r->params, sizeof r->params, "\"nodes\": %zu, \"mutations\": %zu, \"edges_per_node\": 2", c.n, c.steps);
	r->metric_names[0] = "ns_per_op";
	r->metric_names[1] = "ref_cells";
	static const char *const rows[] = { "ravioli", "ravioli-roots", NULL };
	shape_run(p, allocs, nallocs, r, graph_once, &c, (double)(2 * c.n + c.steps), rows);
}

static const bench_workload graph = {
	.name = "graph",
	.description = "long-lived DAG of 200k nodes in a vector of references (ravioli-roots: a root each), two edges "
		       "each to older nodes; 1M random edge re-points and node replacements (malloc: reference counts); "
		       "interleaved",
	.order = 71,
	.run = run_graph,
};
BENCH_WORKLOAD(graph)

/* ---- fifo ---- */

/* Ravioli queue: root head holds the list, root tail refers to its last
 * node too (so that node has two referrers: a reference raviolo). */
static void rfifo_put(rav_heap *h, rav_type t, rav_root head, rav_root tail, uint64_t v)
{
	rav_ref n;
	if (!rav_root_is_set(h, head)) {
		OK(rav_new_root(h, t, head, &n));
	} else {
		OK(rav_new_field(h, t, rav_root_get(h, tail), 1, &n));
	}
	rav_store(h, n, 0, v);
	OK(rav_root_set(h, tail, n));
}

static uint64_t rfifo_take(rav_heap *h, rav_root head, rav_root tail)
{
	rav_ref n = rav_root_get(h, head);
	uint64_t v = rav_load(h, n, 0);
	if (rav_ref_is_null(rav_load_ref(h, n, 1))) {
		OK(rav_root_clear(h, tail));
		OK(rav_root_clear(h, head));
	} else {
		OK(rav_move(h, rav_root_slot(head), rav_field_slot(n, 1)));
	}
	return v;
}

/* Fill to n, `steps` of (dequeue, enqueue), drain. */
static double fifo_once(shape_ctx *c)
{
	uint64_t sum = 0, next = 0;
	double t0 = bench_now();
	if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().list;
		rav_root head = rav_root_new(h), tail = rav_root_new(h);
		for (size_t i = 0; i < c->n; i++)
			rfifo_put(h, t, head, tail, next++);
		for (size_t s = 0; s < c->steps; s++) {
			sum += rfifo_take(h, head, tail);
			rfifo_put(h, t, head, tail, next++);
		}
		while (rav_root_is_set(h, head))
			sum += rfifo_take(h, head, tail);
		rav_root_free(h, head);
		rav_root_free(h, tail);
	} else {
		mnode *head = NULL, *tail = NULL;
		for (size_t i = 0; i < c->n + c->steps; i++) {
			if (i >= c->n) {
				mnode *x = head;
				head = x->next;
				if (!head)
					tail = NULL;
				sum += x->value;
				c->a->free_fn(x);
			}
			mnode *n = c->a->malloc_fn(sizeof *n);
			n->value = next++;
			n->next = NULL;
			if (tail)
				tail->next = n;
			else
				head = n;
			tail = n;
		}
		while (head) {
			mnode *x = head;
			head = x->next;
			sum += x->value;
			c->a->free_fn(x);
		}
	}
	c->check = sum;
	return bench_now() - t0;
}

static void run_fifo(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	shape_ctx c = { .n = bench_size(p, 100000, 5000), .steps = bench_size(p, 2000000, 20000), .seed = p->seed };
	snprintf(r->params, sizeof r->params, "\"queue_length\": %zu, \"steps\": %zu, \"node_bytes\": 32", c.n, c.steps);
	r->metric_names[0] = "ns_per_op";
	shape_run(p, allocs, nallocs, r, fifo_once, &c, (double)(2 * (c.n + c.steps)), rav_only);
}

static const bench_workload fifo = {
	.name = "fifo",
	.description = "a queue of 100k nodes (head and tail roots), 2M dequeue + enqueue steps, then drained: frees at "
		       "the bottom of the heap; interleaved",
	.order = 72,
	.run = run_fifo,
};
BENCH_WORKLOAD(fifo)

/* ---- requests ---- */

/* `n` requests, each a list of 1..aux nodes built, summed and dropped:
 * variant 0 in a message of its own (rav_msg_new, rav_msg_free), variant
 * 1 under a root of the thread's heap (rav_root_clear). */
static double requests_once(shape_ctx *c)
{
	uint64_t rng = c->seed, sum = 0;
	double t0 = bench_now();
	if (!c->a) {
		rav_type t = bench_types_get().list;
		rav_heap *th = rav_heap_self();
		rav_root r = rav_root_new(th);
		for (size_t q = 0; q < c->n; q++) {
			size_t k = 1 + bench_rand(&rng) % c->aux;
			rav_msg *m = NULL;
			rav_heap *h = th;
			rav_root root = r;
			if (c->variant == 0) {
				if (!(m = rav_msg_new()))
					bench_die("rav_msg_new");
				h = rav_msg_heap(m);
				root = rav_msg_root(m);
			}
			rav_ref cur;
			OK(rav_new_root(h, t, root, &cur));
			rav_store(h, cur, 0, q);
			for (size_t i = 1; i < k; i++) {
				OK(rav_new_field(h, t, cur, 1, &cur));
				rav_store(h, cur, 0, q + i);
			}
			for (rav_ref x = rav_root_get(h, root); !rav_ref_is_null(x); x = rav_load_ref(h, x, 1))
				sum += rav_load(h, x, 0);
			if (m)
				rav_msg_free(m);
			else
				OK(rav_root_clear(h, root));
		}
		rav_root_free(th, r);
	} else {
		for (size_t q = 0; q < c->n; q++) {
			size_t k = 1 + bench_rand(&rng) % c->aux;
			mnode *head = c->a->malloc_fn(sizeof *head), *cur = head;
			head->value = q;
			for (size_t i = 1; i < k; i++) {
				cur->next = c->a->malloc_fn(sizeof *cur);
				cur = cur->next;
				cur->value = q + i;
			}
			cur->next = NULL;
			for (mnode *x = head; x; x = x->next)
				sum += x->value;
			while (head) {
				mnode *x = head;
				head = x->next;
				c->a->free_fn(x);
			}
		}
	}
	c->check = sum;
	return bench_now() - t0;
}

static void run_requests(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	shape_ctx c = { .n = bench_size(p, 200000, 5000), .aux = 64, .seed = p->seed };
	snprintf(r->params, sizeof r->params, "\"requests\": %zu, \"nodes_per_request\": \"1..%zu\"", c.n, c.aux);
	r->metric_names[0] = "ns_per_request";
	static const char *const rows[] = { "ravioli", "ravioli-root", NULL };
	shape_run(p, allocs, nallocs, r, requests_once, &c, (double)c.n, rows);
}

static const bench_workload requests = {
	.name = "requests",
	.description = "200k requests, each a list of 1..64 nodes built in a heap of its own (a message), walked and "
		       "dropped (ravioli-root: under a root of the thread's heap); interleaved",
	.order = 73,
	.run = run_requests,
};
BENCH_WORKLOAD(requests)

/* ---- larson ---- */

enum { LARSON_AHEAD = 64 };

typedef struct larson_run {
	shape_ctx *c;
	rav_channel *ch[2];
	/* malloc: a queue of lists (through the head node's right) per thread */
	pthread_mutex_t lock[2];
	pthread_cond_t cond[2];
	mnode *qhead[2], *qtail[2];
	uint64_t sum[2];
	double moves[2], pages[2]; /* ravioli: cells moved and pages received by each thread's heap */
} larson_run;

typedef struct larson_arg {
	larson_run *run;
	int me;
} larson_arg;

static void larson_mput(larson_run *run, int to, mnode *list)
{
	pthread_mutex_lock(&run->lock[to]);
	list->right = NULL;
	if (run->qtail[to])
		run->qtail[to]->right = list;
	else
		run->qhead[to] = list;
	run->qtail[to] = list;
	pthread_cond_signal(&run->cond[to]);
	pthread_mutex_unlock(&run->lock[to]);
}

static mnode *larson_mget(larson_run *run, int me, bool wait)
{
	pthread_mutex_lock(&run->lock[me]);
	while (wait && !run->qhead[me])
		pthread_cond_wait(&run->cond[me], &run->lock[me]);
	mnode *l = run->qhead[me];
	if (l) {
		run->qhead[me] = l->right;
		if (!run->qhead[me])
			run->qtail[me] = NULL;
	}
	pthread_mutex_unlock(&run->lock[me]);
	return l;
}

static void larson_mfree(const bench_alloc *a, mnode *l)
{
	while (l) {
		mnode *x = l;
		l = l->next;
		a->free_fn(x);
	}
}

/* Each thread: n objects (lists of 1..aux nodes) built and sent to the
 * other, never more than LARSON_AHEAD ahead of what it received; each
 * received list goes into a random slot of its window of `steps` slots,
 * dropping the list there. */
static void *larson_thread(void *arg)
{
	larson_arg *la = arg;
	larson_run *run = la->run;
	shape_ctx *c = run->c;
	int me = la->me, peer = 1 - me;
	uint64_t rng = c->seed * 31 + (uint64_t)me, sum = 0;
	size_t sent = 0, got = 0, W = c->steps;
	if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().list;
		rav_root *win = malloc(W * sizeof *win);
		for (size_t i = 0; i < W; i++)
			if (!(win[i] = rav_root_new(h)))
				bench_die("rav_root_new");
		rav_stats s0, s1;
		rav_heap_stats(h, &s0);
		while (got < c->n) {
			if (sent < c->n && sent < got + LARSON_AHEAD) {
				size_t k = 1 + bench_rand(&rng) % c->aux;
				rav_msg *m = rav_msg_new();
				if (!m)
					bench_die("rav_msg_new");
				rav_heap *mh = rav_msg_heap(m);
				rav_ref cur;
				OK(rav_new_root(mh, t, rav_msg_root(m), &cur));
				rav_store(mh, cur, 0, sent);
				for (size_t i = 1; i < k; i++) {
					OK(rav_new_field(mh, t, cur, 1, &cur));
					rav_store(mh, cur, 0, sent + i);
				}
				OK(rav_send(run->ch[peer], m));
				sent++;
			}
			bool block = sent == c->n || sent >= got + LARSON_AHEAD;
			rav_root slot = win[bench_rand(&rng) % W];
			rav_status st = block ? rav_recv(run->ch[me], h, slot) : rav_try_recv(run->ch[me], h, slot);
			if (st == RAV_EAGAIN)
				continue;
			if (st != RAV_OK)
				bench_die("rav_recv");
			got++;
			for (rav_ref x = rav_root_get(h, slot); !rav_ref_is_null(x); x = rav_load_ref(h, x, 1))
				sum += rav_load(h, x, 0);
		}
		rav_heap_stats(h, &s1);
		run->moves[me] = (double)(s1.moves - s0.moves);
		run->pages[me] = (double)(s1.pages_received - s0.pages_received);
		for (size_t i = 0; i < W; i++)
			rav_root_free(h, win[i]);
		free(win);
		rav_thread_exit();
	} else {
		mnode **win = calloc(W, sizeof *win);
		while (got < c->n) {
			if (sent < c->n && sent < got + LARSON_AHEAD) {
				size_t k = 1 + bench_rand(&rng) % c->aux;
				mnode *head = c->a->malloc_fn(sizeof *head), *cur = head;
				head->value = sent;
				for (size_t i = 1; i < k; i++) {
					cur->next = c->a->malloc_fn(sizeof *cur);
					cur = cur->next;
					cur->value = sent + i;
				}
				cur->next = NULL;
				larson_mput(run, peer, head);
				sent++;
			}
			bool block = sent == c->n || sent >= got + LARSON_AHEAD;
			size_t slot = bench_rand(&rng) % W;
			mnode *l = larson_mget(run, me, block);
			if (!l)
				continue;
			got++;
			larson_mfree(c->a, win[slot]);
			win[slot] = l;
			for (mnode *x = l; x; x = x->next)
				sum += x->value;
		}
		for (size_t i = 0; i < W; i++)
			larson_mfree(c->a, win[i]);
		free(win);
	}
	run->sum[me] = sum;
	return NULL;
}

static double larson_once(shape_ctx *c)
{
	larson_run run;
	memset(&run, 0, sizeof run);
	run.c = c;
	for (int k = 0; k < 2; k++) {
		pthread_mutex_init(&run.lock[k], NULL);
		pthread_cond_init(&run.cond[k], NULL);
		if (!c->a && !(run.ch[k] = rav_channel_new()))
			bench_die("rav_channel_new");
	}
	larson_arg args[2] = { { &run, 0 }, { &run, 1 } };
	pthread_t th[2];
	double t0 = bench_now();
	for (int k = 0; k < 2; k++)
		if (pthread_create(&th[k], NULL, larson_thread, &args[k]) != 0)
			bench_die("pthread_create");
	for (int k = 0; k < 2; k++)
		pthread_join(th[k], NULL);
	double t = bench_now() - t0;
	for (int k = 0; k < 2; k++) {
		pthread_mutex_destroy(&run.lock[k]);
		pthread_cond_destroy(&run.cond[k]);
		if (run.ch[k])
			rav_channel_free(run.ch[k]);
	}
	c->check = run.sum[0] + run.sum[1];
	c->m[0] = (run.moves[0] + run.moves[1]) / (double)(2 * c->n);
	c->m[1] = (run.pages[0] + run.pages[1]) / (double)(2 * c->n);
	return t;
}

static void run_larson(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	shape_ctx c = { .n = bench_size(p, 100000, 2000), .steps = bench_size(p, 5000, 200), .aux = 16, .seed = p->seed };
	snprintf(r->params, sizeof r->params,
		 "\"threads\": 2, \"objects_per_thread\": %zu, \"window_slots\": %zu, \"nodes_per_object\": \"1..%zu\"",
		 c.n, c.steps, c.aux);
	r->metric_names[0] = "ns_per_object";
	r->metric_names[1] = "moves_per_object";
	r->metric_names[2] = "pages_per_object";
	shape_run(p, allocs, nallocs, r, larson_once, &c, (double)(2 * c.n), rav_only);
}

static const bench_workload larson = {
	.name = "larson",
	.description = "two threads each send 100k small lists (1..16 nodes) to the other, which keeps them in 5000 slots, "
		       "a new one replacing a random slot's (malloc: freed on the other thread); interleaved",
	.order = 74,
	.run = run_larson,
};
BENCH_WORKLOAD(larson)

/* ---- deep-list ---- */

/* A list of n nodes pushed at its head, one later object above it, then
 * the list dropped from its head and the object after it.  m[0]: build
 * ms, m[1]: drop ms. */
static double deep_once(shape_ctx *c)
{
	uint64_t sum = 0;
	double t0 = bench_now(), t1, t2;
	if (!c->a) {
		rav_heap *h = rav_heap_self();
		rav_type t = bench_types_get().list;
		rav_root list = rav_root_new(h), later = rav_root_new(h);
		rav_stats st0, st;
		rav_heap_stats(h, &st0);
		for (size_t i = 0; i < c->n; i++) {
			rav_ref n;
			OK(rav_new_before(h, t, rav_root_slot(list), 1, &n));
			rav_store(h, n, 0, i);
		}
		OK(rav_new_root(h, t, later, NULL));
		t1 = bench_now();
		OK(rav_root_clear(h, list));
		t2 = bench_now();
		rav_heap_stats(h, &st);
		sum = st.live_cells != st0.live_cells + 1; /* (0: the list is gone, the later object not) */
		OK(rav_root_clear(h, later));
		rav_root_free(h, list);
		rav_root_free(h, later);
	} else {
		mnode *list = NULL;
		for (size_t i = 0; i < c->n; i++) {
			mnode *n = c->a->malloc_fn(sizeof *n);
			n->value = i;
			n->next = list;
			list = n;
		}
		mnode *later = c->a->malloc_fn(sizeof *later);
		t1 = bench_now();
		while (list) {
			mnode *x = list;
			list = x->next;
			c->a->free_fn(x);
		}
		t2 = bench_now();
		c->a->free_fn(later);
		sum = 0;
	}
	c->m[0] = (t1 - t0) * 1e3;
	c->m[1] = (t2 - t1) * 1e3;
	c->check = sum;
	return bench_now() - t0;
}

static void run_deep(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	shape_ctx c = { .n = bench_size(p, 1000000, 20000), .seed = p->seed };
	snprintf(r->params, sizeof r->params, "\"nodes\": %zu, \"node_bytes\": 32", c.n);
	r->metric_names[0] = "ns_per_node";
	r->metric_names[1] = "build_ms";
	r->metric_names[2] = "drop_ms";
	shape_run(p, allocs, nallocs, r, deep_once, &c, (double)c.n, rav_only);
}

static const bench_workload deep_list = {
	.name = "deep-list",
	.description = "a 1M-node list pushed at its head with one object allocated after it, then dropped from its "
		       "head; interleaved",
	.order = 75,
	.run = run_deep,
};
BENCH_WORKLOAD(deep_list)
