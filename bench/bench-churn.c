/* bench-churn.c - random frees and allocations over a steady live set.
 *
 * churn: 1M live 32-byte list nodes in 1000 lists; a step frees the head
 * of a random list and pushes a new node on another.  For malloc a step is
 * one free and one malloc; for ravioli the free moves the top cell into
 * the hole (immediate mode), or leaves the hole for the next allocation
 * (deferred mode, the "ravioli-deferred" row, rav_compact every
 * BENCH_DEFERRED_EVERY steps).  The push is rav_new_before + rav_store; the
 * "ravioli-moves" row pushes the way a program without rav_new_before
 * would (rav_new_root into a scratch root, rav_store, two rav_move).
 *
 * threads: the same churn, smaller, run by one thread and then by two
 * threads at once, each on its own heap (malloc: its own lists); the
 * scaling is 2 x (one thread's time) / (two threads' time), 2.0 when the
 * threads do not slow each other down.  Every implementation is run
 * interleaved with the others, round by round.  cpu_scaling, one thread's
 * CPU time over the mean of the two threads' CPU times (1.0 when neither
 * slows the other), tells a host that did not give both threads a core at
 * once (wall scaling low, cpu_scaling near 1) from threads slowing each
 * other down (both low: shared cache lines, or cache and memory
 * bandwidth).  The same for every implementation: the threads build their
 * lists, then start their steps together at a barrier (theirs only: the
 * main thread waits in pthread_join); the time is from the first one's
 * start to the last one's end; neither tears its lists down before both
 * finished their steps (a second barrier); the threads are not pinned
 * (the host's scheduler places them, as it would a program's).  Between
 * runs, the process settles (settle_pool): the engine's pool gives
 * memory a run freed back to the OS from a thread of its own after a
 * delay, and that thread's madvise calls (and the TLB shootdowns they
 * send to the process's other cores) landed inside whichever timed run
 * came next, the next implementation's included (rav-bench under load:
 * 700-1800 pages purged inside mimalloc's one-thread runs).  The churn
 * itself frees no page: bench/threads-probe counts it.
 */
#include <time.h>
#include <pthread.h>
#include <string.h>

#include "bench-common.h"

/* One thread's churn: its lists, its random sequence. */
typedef struct churn_state {
	const bench_alloc *a; /* NULL: ravioli */
	bool deferred;
	bool push_moves;      /* push with rav_new_root + two rav_move instead of rav_new_before */
	size_t live, steps, buckets;
	uint64_t rng;
	/* malloc */
	mnode **heads;
	/* ravioli */
	rav_heap *h;
	rav_type t;
	rav_root *roots, scratch;
} churn_state;

static void churn_setup(churn_state *s)
{
	if (!s->a) {
		s->h = rav_heap_self();
		if (!s->h)
			bench_die("rav_heap_self");
		s->t = bench_types_get().list;
		s->roots = malloc(s->buckets * sizeof *s->roots);
		s->scratch = rav_root_new(s->h);
		if (!s->roots || !s->scratch)
			bench_die("churn: out of memory");
		for (size_t b = 0; b < s->buckets; b++)
			if (!(s->roots[b] = rav_root_new(s->h)))
				bench_die("rav_root_new");
		for (size_t i = 0; i < s->live; i++)
			bench_list_push(s->h, s->t, s->roots[bench_rand(&s->rng) % s->buckets], s->scratch, i);
		return;
	}
	s->heads = calloc(s->buckets, sizeof *s->heads);
	if (!s->heads)
		bench_die("churn: out of memory");
	for (size_t i = 0; i < s->live; i++) {
		size_t b = bench_rand(&s->rng) % s->buckets;
		mnode *n = s->a->malloc_fn(sizeof *n);
		n->value = i;
		n->next = s->heads[b];
		s->heads[b] = n;
	}
}

static void churn_steps(churn_state *s)
{
	if (!s->a)
		bench_churn_rav_steps(s->h, s->t, s->roots, s->scratch, s->buckets, s->steps, &s->rng, s->deferred,
				      s->push_moves);
	else
		bench_churn_malloc_steps(s->heads, s->buckets, s->steps, &s->rng, s->a->malloc_fn, s->a->free_fn);
}

static void churn_teardown(churn_state *s)
{
	if (!s->a) {
		for (size_t b = 0; b < s->buckets; b++)
			rav_root_free(s->h, s->roots[b]);
		rav_root_free(s->h, s->scratch);
		free(s->roots);
		return;
	}
	for (size_t b = 0; b < s->buckets; b++)
		while (s->heads[b]) {
			mnode *n = s->heads[b];
			s->heads[b] = n->next;
			s->a->free_fn(n);
		}
	free(s->heads);
}

/* ---- churn ---- */

typedef struct churn_ctx {
	churn_state proto; /* sizes, implementation, mode, seed */
} churn_ctx;

static double churn_once(void *arg)
{
	churn_ctx *c = arg;
	churn_state s = c->proto;
	churn_setup(&s);
	double t0 = bench_now();
	churn_steps(&s);
	double t = bench_now() - t0;
	churn_teardown(&s);
	return t;
}

static void run_churn(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	size_t live = bench_size(p, 1000000, 20000), steps = bench_size(p, 2000000, 40000);
	size_t buckets = bench_churn_lists(live);
	snprintf(r->params, sizeof r->params,
		 "\"live_nodes\": %zu, \"steps\": %zu, \"lists\": %zu, \"node_bytes\": 32, \"deferred_compact_every\": %d",
		 live, steps, buckets, BENCH_DEFERRED_EVERY);
	r->metric_names[0] = "ns_per_step";
	churn_ctx ctx[3 + 3];
	const char *names[3 + 3];
	unsigned n = 0;
	if (p->ravioli) {
		for (int d = 0; d < 3; d++) {
			ctx[n].proto = (churn_state){ .a = NULL, .deferred = d == 1, .push_moves = d == 2, .live = live,
						      .steps = steps, .buckets = buckets, .rng = p->seed };
			names[n++] = d == 0 ? "ravioli" : d == 1 ? "ravioli-deferred" : "ravioli-moves";
		}
	}
	for (unsigned i = 0; i < nallocs && n < 6; i++) {
		ctx[n].proto = (churn_state){ .a = &allocs[i], .live = live, .steps = steps, .buckets = buckets,
					      .rng = p->seed };
		names[n++] = allocs[i].name;
	}
	double (*fns[6])(void *);
	void *ctxs[6];
	double best[6];
	for (unsigned i = 0; i < n; i++) {
		fns[i] = churn_once;
		ctxs[i] = &ctx[i];
	}
	bench_best_interleaved(p, n, fns, ctxs, best);
	for (unsigned i = 0; i < n; i++) {
		bench_result *res = bench_add(r, names[i], best[i]);
		res->metric[0] = best[i] * 1e9 / (double)steps;
		if (strcmp(names[i], "ravioli-deferred") == 0)
			snprintf(res->note, sizeof res->note, "rav_compact every %d steps", BENCH_DEFERRED_EVERY);
		if (strcmp(names[i], "ravioli-moves") == 0)
			snprintf(res->note, sizeof res->note, "push = rav_new_root + rav_store + 2 rav_move");
	}
}

static const bench_workload churn = {
	.name = "churn",
	.description = "random free + alloc of 32-byte nodes in linked lists holding a steady live set (one step = "
		       "one free + one alloc); implementations interleaved",
	.order = 10,
	.run = run_churn,
};
BENCH_WORKLOAD(churn)

/* ---- threads ---- */

/* One thread's run; each in its own 128-byte pair of cache lines (the
 * steps read their thread's churn_state, the other thread writes its
 * times when it starts and ends). */
typedef struct thread_run {
	_Alignas(128) churn_state s;
	pthread_barrier_t *start, *done;
	double begin, end, cpu;
} thread_run;

static double thread_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *churn_thread(void *arg)
{
	thread_run *t = arg;
	churn_setup(&t->s);
	pthread_barrier_wait(t->start);
	double cpu0 = thread_cpu_now();
	t->begin = bench_now();
	churn_steps(&t->s);
	t->end = bench_now();
	t->cpu = thread_cpu_now() - cpu0;
	/* No thread tears down while another still runs its steps: a teardown
	 * frees the whole live set (every allocator's free path, and the pages
	 * going back to its pool) and would land in the other's timed steps. */
	pthread_barrier_wait(t->done);
	churn_teardown(&t->s);
	if (!t->s.a)
		rav_thread_exit();
	return NULL;
}

typedef struct threads_ctx {
	churn_state proto;
	unsigned threads;
	double best_cpu; /* least CPU time of the threads added, over the runs (0: none yet) */
	bool settle;     /* the engine is in use in this process: settle_pool after every run */
} threads_ctx;

/* Wait (untimed, after a run of any implementation) until the engine's
 * pool has no free page waiting to go back to the OS and none on its way,
 * at most ten purge delays: its purge thread then has nothing to do in
 * the next timed run. */
static void settle_pool(void)
{
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	double give_up = bench_now() + 10 * (double)ps.purge_delay_ms * 1e-3;
	while ((ps.due_pages || ps.purging_pages) && bench_now() < give_up) {
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
		rav_pool_stats_get(&ps);
	}
}

/* Wall time from the first thread's start (once every thread has built
 * its lists) until the last one finished its steps. */
static double threads_once(void *arg)
{
	threads_ctx *c = arg;
	thread_run runs[2];
	pthread_t th[2];
	pthread_barrier_t start, done;
	/* (the workers only: a main thread woken at the start would be a third
	 * runnable thread on a two-core host just when both workers start) */
	pthread_barrier_init(&start, NULL, c->threads);
	pthread_barrier_init(&done, NULL, c->threads);
	for (unsigned k = 0; k < c->threads; k++) {
		runs[k].s = c->proto;
		runs[k].s.rng += 7919 * (k + 1);
		runs[k].start = &start;
		runs[k].done = &done;
		if (pthread_create(&th[k], NULL, churn_thread, &runs[k]) != 0)
			bench_die("pthread_create");
	}
	double begin = 0, end = 0, cpu = 0;
	for (unsigned k = 0; k < c->threads; k++) {
		pthread_join(th[k], NULL);
		if (k == 0 || runs[k].begin < begin)
			begin = runs[k].begin;
		if (runs[k].end > end)
			end = runs[k].end;
		cpu += runs[k].cpu;
	}
	if (c->best_cpu == 0 || cpu < c->best_cpu)
		c->best_cpu = cpu;
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	if (c->settle)
		settle_pool();
	return end - begin;
}

static void run_threads(const bench_params *p, const bench_alloc *allocs, unsigned nallocs, bench_report *r)
{
	size_t live = bench_size(p, 250000, 10000), steps = bench_size(p, 1000000, 20000);
	size_t buckets = bench_churn_lists(live);
	snprintf(r->params, sizeof r->params,
		 "\"live_nodes_per_thread\": %zu, \"steps_per_thread\": %zu, \"lists_per_thread\": %zu, \"threads\": 2",
		 live, steps, buckets);
	r->metric_names[0] = "one_thread_ms";
	r->metric_names[1] = "two_threads_ms";
	r->metric_names[2] = "scaling";
	r->metric_names[3] = "cpu_scaling";
	threads_ctx ctx[8];
	const char *names[4];
	unsigned n = 0;
	if (p->ravioli)
		names[n++] = "ravioli";
	for (unsigned i = 0; i < nallocs && n < 4; i++)
		names[n++] = allocs[i].name;
	double (*fns[8])(void *);
	void *ctxs[8];
	double best[8];
	for (unsigned i = 0; i < n; i++) {
		const bench_alloc *a = (p->ravioli && i == 0) ? NULL : &allocs[i - (p->ravioli ? 1 : 0)];
		for (unsigned k = 0; k < 2; k++) {
			ctx[2 * i + k] = (threads_ctx){ { .a = a, .live = live, .steps = steps, .buckets = buckets,
							  .rng = p->seed },
							k + 1, 0, p->ravioli };
			fns[2 * i + k] = threads_once;
			ctxs[2 * i + k] = &ctx[2 * i + k];
		}
	}
	bench_best_interleaved(p, 2 * n, fns, ctxs, best);
	for (unsigned i = 0; i < n; i++) {
		bench_result *res = bench_add(r, names[i], best[2 * i + 1]);
		res->metric[0] = best[2 * i] * 1e3;
		res->metric[1] = best[2 * i + 1] * 1e3;
		res->metric[2] = best[2 * i + 1] > 0 ? 2 * best[2 * i] / best[2 * i + 1] : 0;
		/* one thread's CPU time / the mean of the two threads' */
		res->metric[3] = ctx[2 * i + 1].best_cpu > 0 ? 2 * ctx[2 * i].best_cpu / ctx[2 * i + 1].best_cpu : 0;
	}
}

static const bench_workload threads = {
	.name = "threads",
	.description = "churn by one thread, then by two threads at once on their own heaps (time = two threads; "
		       "scaling = 2 x one / two, 2.0 is perfect; cpu_scaling = one thread's CPU time / the two "
		       "threads' mean, 1.0 is perfect)",
	.order = 15,
	.run = run_threads,
};
BENCH_WORKLOAD(threads)
