/* threads-probe.c - rav-bench's `threads` workload with N threads, for
 * callgrind and for counting what the threads share.
 *
 * Each of N threads builds its own lists on its own heap (the sizes and
 * seeds of bench-churn.c's threads workload), waits at a barrier with the
 * others, runs the churn steps (bench_list_pop then bench_list_push, as
 * bench-churn.c) in probe_thread_steps, a function of its own, and waits
 * again.  If the threads share nothing, every thread's steps cost the same
 * instructions whatever N is; so
 *
 *   valgrind --tool=callgrind --separate-threads=yes \
 *       --toggle-collect=probe_thread_steps build-rel/bench/threads-probe 2
 *
 * gives the instructions of each thread's steps (one output file per
 * thread: divide by the steps), to compare with N = 1.  The probe prints
 * what the engine counts of the pool traffic during the steps: each
 * thread's pages acquired and released (rav_heap_stats) and the page
 * operations that took the shared pool's lock (rav_pool_stats, all threads
 * together); a churn in steady state takes none.  And what the kernel did
 * to each thread during its steps (getrusage RUSAGE_THREAD): page faults
 * (none in steady state: the pool committed the pages when the lists were
 * built) and context switches (voluntary: none, the steps make no system
 * call; involuntary: the host's other work).  It also prints each
 * thread's wall and CPU time per step, and the scaling of one run against
 * the same run with one thread is the same ratio as rav-bench's (for
 * timing, use rav-bench: this is for counting).  `mi` runs bench-churn.c's
 * malloc step with mimalloc instead (libmimalloc.so.2, dlopen as rav-bench
 * does; --toggle-collect=probe_thread_malloc_steps).
 *
 * Arguments: THREADS (1-16, default 2), imm|def|mi (default imm), LIVE
 * nodes per thread (default 250000), STEPS per thread (default 1000000).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench-common.h"

enum { MAX_THREADS = 16 };

/* The steps of bench-common.h, in functions of their own for callgrind. */
__attribute__((noinline)) static void probe_thread_steps(rav_heap *h, rav_type t, rav_root *roots, size_t lists,
							 size_t steps, uint64_t *rngp, bool deferred)
{
	bench_churn_rav_steps(h, t, roots, roots[0], lists, steps, rngp, deferred, false);
}

__attribute__((noinline)) static void probe_thread_malloc_steps(mnode **heads, size_t lists, size_t steps,
								uint64_t *rngp, void *(*malloc_fn)(size_t),
								void (*free_fn)(void *))
{
	bench_churn_malloc_steps(heads, lists, steps, rngp, malloc_fn, free_fn);
}

typedef struct probe_run {
	unsigned k;
	const char *mode;
	size_t live, steps, lists;
	void *(*malloc_fn)(size_t);
	void (*free_fn)(void *);
	pthread_barrier_t *start, *done;
	/* results */
	double wall_ns, cpu_ns;
	uint64_t pages_acquired, pages_released, pages;
	long minflt, majflt, nvcsw, nivcsw; /* the thread's, during its steps (getrusage RUSAGE_THREAD) */
} probe_run;

static double now_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* What the kernel did to the calling thread during its steps: page
 * faults taken (a step that touches a page for the first time, or a page
 * the pool gave back to the OS), and the times it gave up its core
 * (voluntary: it waited; involuntary: preempted by another thread). */
static void usage_start(probe_run *r)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	r->minflt = -ru.ru_minflt;
	r->majflt = -ru.ru_majflt;
	r->nvcsw = -ru.ru_nvcsw;
	r->nivcsw = -ru.ru_nivcsw;
}

static void usage_end(probe_run *r)
{
	struct rusage ru;
	getrusage(RUSAGE_THREAD, &ru);
	r->minflt += ru.ru_minflt;
	r->majflt += ru.ru_majflt;
	r->nvcsw += ru.ru_nvcsw;
	r->nivcsw += ru.ru_nivcsw;
}

static void *probe_thread(void *arg)
{
	probe_run *r = arg;
	uint64_t rng = 1 + 7919 * (uint64_t)(r->k + 1); /* bench-churn.c's seeds (rav-bench's default seed 1) */
	if (strcmp(r->mode, "mi") == 0) {
		mnode **heads = calloc(r->lists, sizeof *heads);
		if (!heads)
			bench_die("out of memory");
		for (size_t i = 0; i < r->live; i++) {
			size_t b = bench_rand(&rng) % r->lists;
			mnode *n = r->malloc_fn(sizeof *n);
			if (!n)
				bench_die("out of memory");
			n->value = i;
			n->next = heads[b];
			heads[b] = n;
		}
		pthread_barrier_wait(r->start);
		usage_start(r);
		double w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
		probe_thread_malloc_steps(heads, r->lists, r->steps, &rng, r->malloc_fn, r->free_fn);
		r->cpu_ns = (now_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)r->steps;
		r->wall_ns = (now_ns(CLOCK_MONOTONIC) - w0) / (double)r->steps;
		usage_end(r);
		pthread_barrier_wait(r->done);
		for (size_t i = 0; i < r->lists; i++)
			while (heads[i]) {
				mnode *n = heads[i];
				heads[i] = n->next;
				r->free_fn(n);
			}
		free(heads);
		return NULL;
	}
	rav_heap *h = rav_heap_self();
	if (!h)
		bench_die("rav_heap_self");
	rav_type t = bench_types_get().list;
	rav_root *roots = malloc(r->lists * sizeof *roots);
	if (!roots)
		bench_die("out of memory");
	for (size_t b = 0; b < r->lists; b++)
		if (!(roots[b] = rav_root_new(h)))
			bench_die("rav_root_new");
	for (size_t i = 0; i < r->live; i++)
		bench_list_push(h, t, roots[bench_rand(&rng) % r->lists], roots[0], i);
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	pthread_barrier_wait(r->start);
	usage_start(r);
	double w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	probe_thread_steps(h, t, roots, r->lists, r->steps, &rng, strcmp(r->mode, "def") == 0);
	r->cpu_ns = (now_ns(CLOCK_THREAD_CPUTIME_ID) - c0) / (double)r->steps;
	r->wall_ns = (now_ns(CLOCK_MONOTONIC) - w0) / (double)r->steps;
	usage_end(r);
	rav_heap_stats(h, &s1);
	pthread_barrier_wait(r->done);
	r->pages_acquired = s1.pages_acquired - s0.pages_acquired;
	r->pages_released = s1.pages_released - s0.pages_released;
	r->pages = s1.pages;
	if (rav_heap_check(h) != RAV_OK)
		bench_die("rav_heap_check");
	for (size_t b = 0; b < r->lists; b++)
		rav_root_free(h, roots[b]);
	free(roots);
	rav_thread_exit();
	return NULL;
}

static size_t arg_size(const char *s, const char *what, unsigned long long max)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v == 0 || v > max) {
		fprintf(stderr, "threads-probe: %s must be a number from 1 to %llu, not '%s'\n", what, max, s);
		exit(2);
	}
	return (size_t)v;
}

int main(int argc, char **argv)
{
	if (argc > 5 || (argc > 2 && strcmp(argv[2], "imm") != 0 && strcmp(argv[2], "def") != 0 &&
			 strcmp(argv[2], "mi") != 0)) {
		fprintf(stderr, "usage: threads-probe [THREADS] [imm|def|mi] [LIVE_NODES] [STEPS]\n");
		return 2;
	}
	unsigned n = argc > 1 ? (unsigned)arg_size(argv[1], "THREADS", MAX_THREADS) : 2;
	const char *mode = argc > 2 ? argv[2] : "imm";
	size_t live = argc > 3 ? arg_size(argv[3], "LIVE_NODES", 1ull << 32) : 250000;
	size_t steps = argc > 4 ? arg_size(argv[4], "STEPS", 1ull << 32) : 1000000;
	size_t lists = bench_churn_lists(live);
	void *(*malloc_fn)(size_t) = NULL;
	void (*free_fn)(void *) = NULL;
	if (strcmp(mode, "mi") == 0) {
		void *lib = dlopen("libmimalloc.so.2", RTLD_LOCAL | RTLD_NOW);
		void *m = lib ? dlsym(lib, "mi_malloc") : NULL, *f = lib ? dlsym(lib, "mi_free") : NULL;
		if (!m || !f) {
			fprintf(stderr, "threads-probe: mimalloc not loaded: %s\n", lib ? "no mi_malloc/mi_free" : dlerror());
			return 1;
		}
		memcpy(&malloc_fn, &m, sizeof m);
		memcpy(&free_fn, &f, sizeof f);
	}
	probe_run runs[MAX_THREADS];
	pthread_t th[MAX_THREADS];
	pthread_barrier_t start, done;
	pthread_barrier_init(&start, NULL, n + 1);
	pthread_barrier_init(&done, NULL, n + 1);
	for (unsigned k = 0; k < n; k++) {
		runs[k] = (probe_run){ .k = k, .mode = mode, .live = live, .steps = steps, .lists = lists,
				       .malloc_fn = malloc_fn, .free_fn = free_fn, .start = &start, .done = &done };
		if (pthread_create(&th[k], NULL, probe_thread, &runs[k]) != 0)
			bench_die("pthread_create");
	}
	rav_pool_stats p0, p1;
	pthread_barrier_wait(&start); /* every thread built its lists */
	rav_pool_stats_get(&p0);
	pthread_barrier_wait(&done); /* every thread finished its steps */
	rav_pool_stats_get(&p1);
	for (unsigned k = 0; k < n; k++)
		pthread_join(th[k], NULL);
	pthread_barrier_destroy(&start);
	pthread_barrier_destroy(&done);
	printf("%u thread%s, %s, %zu live nodes in %zu lists and %zu steps per thread\n", n, n == 1 ? "" : "s", mode,
	       live, lists, steps);
	for (unsigned k = 0; k < n; k++) {
		printf("thread %u: %.1f ns/step (%.1f ns/step of CPU time); during the steps %ld page faults (%ld major), "
		       "%ld voluntary and %ld involuntary context switches",
		       k, runs[k].wall_ns, runs[k].cpu_ns, runs[k].minflt + runs[k].majflt, runs[k].majflt, runs[k].nvcsw,
		       runs[k].nivcsw);
		if (strcmp(mode, "mi") != 0)
			printf(", %llu pages acquired, %llu released; %llu pages at the end",
			       (unsigned long long)runs[k].pages_acquired, (unsigned long long)runs[k].pages_released,
			       (unsigned long long)runs[k].pages);
		printf("\n");
	}
	if (strcmp(mode, "mi") != 0)
		printf("during the steps: %llu page operations took the shared pool's lock (all threads)\n",
		       (unsigned long long)(p1.shared_locks - p0.shared_locks));
	return 0;
}
