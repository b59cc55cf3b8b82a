/* study-q4.c - question 4: the best page size.
 *
 * The page size is a compile-time constant of the engine (meson option
 * page_size: RAV_PAGE_SIZE sizes the page header's fill count, the page
 * index arithmetic of every address and the recorder's format header), so
 * it cannot be a run-time parameter without slowing every engine call.
 * The study therefore configures and builds rav-bench once per page size,
 * in BUILD/study-pages/pN (meson setup -Dpage_size=N --buildtype=release
 * -Ddebug_checks=false; later runs only rebuild), and runs the
 * measurement below in each, interleaved round by round (best of N per
 * figure).  With --pages self (and in --quick) only this build's page size
 * is measured.
 *
 * The measurement (one child process per build and round):
 *  - speed: a binary-search-tree churn (ns per insert or delete) and a
 *    tree built and dropped whole (ns per cell);
 *  - per-thread overhead: the bytes of pages held by a thread with one live
 *    cell, and by a thread hovering at a page boundary (one cell allocated
 *    and freed 10,000 times), with the pool operations that cost
 *    (hysteresis keeps one empty page so that this is ~0);
 *  - hand-off: ping-pong of a 16-cell and a 1024-cell message between two
 *    threads: microseconds per round trip, bytes of pages handed per
 *    message;
 *  - fragmentation: pages held per live byte after freeing a random 90%
 *    of 2^18 cells, and for 16 threads holding 100 cells each.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ravioli.h"
#include "study.h"

enum { Q4_MAGIC = 0x51340003 }; /* changes with q4_result's meaning: another build's answer is refused */

typedef struct q4_result {
	uint32_t magic, page_size;
	double churn_ns, build_ns;
	double idle_bytes, hover_bytes, hover_pool_ops;
	double small_rt_us, small_bytes, large_rt_us, large_bytes;
	double frag_ratio, threads_ratio;
} q4_result;

static void q4_die(const char *what)
{
	fprintf(stderr, "rav-bench --study q4: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define Q4_OK(expr)                                                                                          \
	do {                                                                                                 \
		if ((expr) != RAV_OK)                                                                        \
			q4_die(#expr);                                                                       \
	} while (0)

static rav_type T_NODE, T_ITEM;

/* Every page the heap holds: data pages (with the kept empty one) and root pages. */
static uint64_t heap_bytes(rav_heap *h)
{
	rav_stats s;
	rav_heap_stats(h, &s);
	return (s.pages + s.root_pages) * RAV_PAGE_SIZE;
}

/* ---- speed ---- */

static rav_ref bst_slot_get(rav_heap *h, rav_root root, rav_ref parent, int f)
{
	return rav_ref_is_null(parent) ? rav_root_get(h, root) : rav_load_ref(h, parent, f);
}

static void bst_step(rav_heap *h, rav_root root, uintptr_t key, bool insert)
{
	rav_ref parent = RAV_NULL_REF, cur;
	int f = 0;
	while (!rav_ref_is_null(cur = bst_slot_get(h, root, parent, f))) {
		uintptr_t k = rav_scalar(h, cur);
		if (k == key)
			break;
		parent = cur;
		f = key < k ? 0 : 1;
	}
	if (insert) {
		if (!rav_ref_is_null(cur))
			return;
		rav_ref n;
		if (rav_ref_is_null(parent))
			Q4_OK(rav_new_root(h, T_NODE, root, &n));
		else
			Q4_OK(rav_new_field(h, T_NODE, parent, f, &n));
		rav_set_scalar(h, n, key);
		return;
	}
	if (rav_ref_is_null(cur))
		return;
	rav_ref l = rav_load_ref(h, cur, 0), r = rav_load_ref(h, cur, 1);
	if (!rav_ref_is_null(l) && !rav_ref_is_null(r)) {
		rav_ref sp = cur, s = r;
		int sf = 1;
		for (rav_ref x = rav_load_ref(h, s, 0); !rav_ref_is_null(x); x = rav_load_ref(h, s, 0)) {
			sp = s;
			sf = 0;
			s = x;
		}
		rav_set_scalar(h, cur, rav_scalar(h, s));
		Q4_OK(rav_store_ref(h, sp, sf, rav_load_ref(h, s, 1)));
		return;
	}
	rav_ref child = rav_ref_is_null(l) ? r : l;
	Q4_OK(rav_ref_is_null(parent) ? rav_root_set(h, root, child) : rav_store_ref(h, parent, f, child));
}

static void tree_build(rav_heap *h, rav_ref parent, int field, size_t n)
{
	if (!n)
		return;
	rav_ref c;
	Q4_OK(rav_new_field(h, T_NODE, parent, field, &c));
	tree_build(h, c, 0, (n - 1) / 2);
	tree_build(h, c, 1, n - 1 - (n - 1) / 2);
}

static void speed(bool small, q4_result *r)
{
	rav_heap *h = rav_heap_self();
	rav_root root = rav_root_new(h);
	size_t live = small ? 500 : 65536, steps = small ? 1000 : 200000;
	uint64_t rng = 5;
	for (size_t i = 0; i < live; i++)
		bst_step(h, root, 1 + bench_rand(&rng) % (2 * live), true);
	double t0 = study_now();
	for (size_t i = 0; i < steps; i++) {
		uint64_t x = bench_rand(&rng);
		bst_step(h, root, 1 + (x >> 1) % (2 * live), x & 1);
	}
	r->churn_ns = (study_now() - t0) / (double)steps * 1e9;
	Q4_OK(rav_root_clear(h, root));
	size_t n = small ? 1000 : (size_t)1 << 18;
	t0 = study_now();
	rav_ref top;
	Q4_OK(rav_new_root(h, T_NODE, root, &top));
	tree_build(h, top, 0, (n - 1) / 2);
	tree_build(h, top, 1, n - 1 - (n - 1) / 2);
	Q4_OK(rav_root_clear(h, root));
	r->build_ns = (study_now() - t0) / (double)n * 1e9;
	rav_root_free(h, root);
}

/* ---- per-thread overhead ---- */

static void *idle_thread(void *arg)
{
	q4_result *r = arg;
	rav_heap *h = rav_heap_self();
	rav_root root = rav_root_new(h);
	Q4_OK(rav_new_root(h, T_ITEM, root, NULL));
	r->idle_bytes = (double)heap_bytes(h);
	/* Fill the data page(s) up to a page boundary, then hover across it. */
	rav_root fill = rav_root_new(h), hover = rav_root_new(h);
	size_t per_page = RAV_PAGE_CELLS - 1;
	rav_stats s;
	rav_heap_stats(h, &s);
	size_t to_fill = per_page - (size_t)(s.live_cells % per_page);
	for (size_t i = 0; i < to_fill; i++)
		Q4_OK(rav_new_before(h, T_ITEM, rav_root_slot(fill), 1, NULL));
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	double peak = 0;
	for (int i = 0; i < 10000; i++) {
		Q4_OK(rav_new_root(h, T_ITEM, hover, NULL));
		double b = (double)heap_bytes(h);
		if (b > peak)
			peak = b;
		Q4_OK(rav_root_clear(h, hover));
	}
	rav_heap_stats(h, &s1);
	r->hover_bytes = peak;
	r->hover_pool_ops =
	    (double)(s1.pages_acquired - s0.pages_acquired + s1.pages_released - s0.pages_released);
	rav_root_free(h, root);
	rav_root_free(h, fill);
	rav_root_free(h, hover);
	rav_thread_exit();
	return NULL;
}

/* ---- hand-off ---- */

typedef struct pingpong {
	rav_channel *to, *back;
	size_t cells, rounds;
} pingpong;

static void *pong(void *arg)
{
	pingpong *p = arg;
	rav_thread_name("pong");
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	for (size_t i = 0; i < p->rounds; i++) {
		Q4_OK(rav_recv(p->to, h, r));
		Q4_OK(rav_root_clear(h, r));
		rav_msg *m = rav_msg_new();
		if (!m)
			q4_die("rav_msg_new");
		Q4_OK(rav_new_root(rav_msg_heap(m), T_ITEM, rav_msg_root(m), NULL));
		Q4_OK(rav_send(p->back, m));
	}
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

static void handoff(size_t cells, size_t rounds, double *rt_us, double *bytes)
{
	pingpong p = {rav_channel_new(), rav_channel_new(), cells, rounds};
	if (!p.to || !p.back)
		q4_die("rav_channel_new");
	pthread_t t;
	if (pthread_create(&t, NULL, pong, &p) != 0)
		q4_die("pthread_create");
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	double t0 = study_now();
	uint64_t sent = 0;
	for (size_t i = 0; i < rounds; i++) {
		rav_msg *m = rav_msg_new();
		if (!m)
			q4_die("rav_msg_new");
		rav_heap *mh = rav_msg_heap(m);
		rav_ref cur;
		Q4_OK(rav_new_root(mh, T_ITEM, rav_msg_root(m), &cur));
		for (size_t j = 1; j < cells; j++)
			Q4_OK(rav_new_field(mh, T_ITEM, cur, 1, &cur));
		rav_stats ms;
		rav_heap_stats(mh, &ms);
		sent += ms.pages;
		Q4_OK(rav_send(p.to, m));
		Q4_OK(rav_recv(p.back, h, r));
		Q4_OK(rav_root_clear(h, r));
	}
	*rt_us = (study_now() - t0) / (double)rounds * 1e6;
	rav_heap_stats(h, &s1);
	*bytes = (double)sent * RAV_PAGE_SIZE / (double)rounds;
	pthread_join(t, NULL);
	rav_root_free(h, r);
	rav_channel_free(p.to);
	rav_channel_free(p.back);
}

/* ---- fragmentation ---- */

static double frag(size_t n)
{
	rav_heap *h = rav_heap_self();
	rav_root *roots = malloc(64 * sizeof *roots);
	if (!roots)
		q4_die("out of memory");
	for (int i = 0; i < 64; i++)
		roots[i] = rav_root_new(h);
	uint64_t rng = 11;
	for (size_t i = 0; i < n; i++)
		Q4_OK(rav_new_before(h, T_ITEM, rav_root_slot(roots[bench_rand(&rng) % 64]), 1, NULL));
	/* free a random 90%: drop list heads at random until a tenth is left */
	size_t live = n;
	while (live > n / 10) {
		rav_root r = roots[bench_rand(&rng) % 64];
		rav_ref head = rav_root_get(h, r);
		if (rav_ref_is_null(head))
			continue;
		Q4_OK(rav_move(h, rav_root_slot(r), rav_field_slot(head, 1)));
		live--;
	}
	rav_stats s;
	rav_heap_stats(h, &s);
	double ratio =
	    (double)((s.pages + s.root_pages) * RAV_PAGE_SIZE) / (double)(s.live_cells * RAV_CELL_SIZE);
	for (int i = 0; i < 64; i++)
		rav_root_free(h, roots[i]);
	free(roots);
	return ratio;
}

typedef struct holder_thread {
	pthread_barrier_t *ready, *done;
	uint64_t bytes, live;
} holder_thread;

static void *holder(void *arg)
{
	holder_thread *t = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	for (int i = 0; i < 100; i++)
		Q4_OK(rav_new_before(h, T_ITEM, rav_root_slot(r), 1, NULL));
	rav_stats s;
	rav_heap_stats(h, &s);
	t->bytes = (s.pages + s.root_pages) * RAV_PAGE_SIZE;
	t->live = s.live_cells;
	pthread_barrier_wait(t->ready);
	pthread_barrier_wait(t->done);
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

static double threads_ratio(void)
{
	enum { N = 16 };
	pthread_barrier_t ready, done;
	pthread_barrier_init(&ready, NULL, N + 1);
	pthread_barrier_init(&done, NULL, N + 1);
	pthread_t t[N];
	holder_thread ht[N];
	for (int i = 0; i < N; i++) {
		ht[i] = (holder_thread){&ready, &done, 0, 0};
		if (pthread_create(&t[i], NULL, holder, &ht[i]) != 0)
			q4_die("pthread_create");
	}
	pthread_barrier_wait(&ready);
	uint64_t bytes = 0, live = 0;
	for (int i = 0; i < N; i++) {
		bytes += ht[i].bytes;
		live += ht[i].live;
	}
	pthread_barrier_wait(&done);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&ready);
	pthread_barrier_destroy(&done);
	return (double)bytes / (double)(live * RAV_CELL_SIZE);
}

/* --study-child q4 full|small: everything above, once, in this build. */
static int q4_child(int argc, char **argv)
{
	if (argc != 2 || (strcmp(argv[1], "full") != 0 && strcmp(argv[1], "small") != 0))
		return 2;
	bool small = strcmp(argv[1], "small") == 0;
	T_NODE = rav_type_register("q4.node", RAV_REF, RAV_REF);
	T_ITEM = rav_type_register("q4.item", RAV_DATA, RAV_REF);
	rav_thread_name("main");
	q4_result r = {Q4_MAGIC, RAV_PAGE_SIZE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	rav_mark("speed: bst churn, tree build and drop");
	speed(small, &r);
	rav_mark("a thread with one cell, then hovering at a page boundary");
	pthread_t t;
	if (pthread_create(&t, NULL, idle_thread, &r) != 0)
		q4_die("pthread_create");
	pthread_join(t, NULL);
	rav_mark("ping-pong: 16-cell messages");
	handoff(16, small ? 20 : 2000, &r.small_rt_us, &r.small_bytes);
	rav_mark("ping-pong: 1024-cell messages");
	handoff(1024, small ? 5 : 300, &r.large_rt_us, &r.large_bytes);
	rav_mark("fragmentation: free a random 90%");
	r.frag_ratio = frag(small ? 4000 : (size_t)1 << 18);
	rav_mark("16 threads holding 100 cells each");
	r.threads_ratio = threads_ratio();
	return study_child_reply(&r, sizeof r);
}

/* ---- the study ---- */

static const unsigned sizes[] = {1024, 2048, 4096, 8192, 16384};
enum { NSIZES = 5 };

/* The rav-bench of page size p: this one, or one built for the study. */
static bool build_for(study_ctx *c, unsigned p, char *exe, size_t len)
{
	char dir[4096], cmd[12288], log[4200];
	snprintf(dir, sizeof dir, "%s/study-pages/p%u", c->build_root, p);
	snprintf(log, sizeof log, "%s/study-pages/p%u.log", c->build_root, p);
	snprintf(exe, len, "%s/bench/rav-bench", dir);
	char ninja[4200];
	snprintf(ninja, sizeof ninja, "%s/build.ninja", dir);
	struct stat st;
	char parent[4200];
	snprintf(parent, sizeof parent, "%s/study-pages", c->build_root);
	mkdir(parent, 0777);
	if (stat(ninja, &st) != 0) {
		study_log(c, "configuring %s (page size %u)", dir, p);
		snprintf(cmd, sizeof cmd,
		         "meson setup '%s' '%s' --buildtype=release -Ddebug_checks=false -Dpage_size=%u "
		         "-Dgui=disabled "
		         "-Dman=disabled -Dvalgrind=disabled > '%s' 2>&1",
		         dir, RAV_SOURCE_ROOT, p, log);
		if (system(cmd) != 0)
			return study_fail(c, "configuring page size %u failed: see %s", p, log);
	}
	study_log(c, "building %s", exe);
	snprintf(cmd, sizeof cmd, "ninja -C '%s' -j2 bench/rav-bench >> '%s' 2>&1", dir, log);
	if (system(cmd) != 0)
		return study_fail(c, "building page size %u failed: see %s", p, log);
	return true;
}

static bool q4_run(study_ctx *c)
{
	char exes[NSIZES][4200];
	bool have[NSIZES] = {false};
	bool self = strcmp(c->pages, "self") == 0;
	for (unsigned i = 0; i < NSIZES; i++) {
		if (self) {
			if (sizes[i] == RAV_PAGE_SIZE) {
				snprintf(exes[i], sizeof exes[i], "%s", c->exe);
				have[i] = true;
			}
		} else {
			have[i] = build_for(c, sizes[i], exes[i], sizeof exes[i]);
		}
	}
	q4_result best[NSIZES];
	memset(best, 0, sizeof best);
	char *args[] = {c->quick ? "small" : "full", NULL};
	unsigned rounds = c->repeat;
	for (unsigned r = 0; r < rounds; r++)
		for (unsigned i = 0; i < NSIZES; i++) {
			if (!have[i])
				continue;
			q4_result x;
			if (!study_spawn(c, exes[i], "q4", args, NULL, &x, sizeof x) || x.magic != Q4_MAGIC ||
			    x.page_size != sizes[i]) {
				if (have[i])
					study_fail(c, "page size %u: no usable result from %s", sizes[i],
					           exes[i]);
				have[i] = false;
				continue;
			}
			q4_result *b = &best[i];
			if (r == 0) {
				*b = x;
				continue;
			}
			/* Times: best round; sizes and counts are deterministic. */
			b->churn_ns = fmin(b->churn_ns, x.churn_ns);
			b->build_ns = fmin(b->build_ns, x.build_ns);
			b->small_rt_us = fmin(b->small_rt_us, x.small_rt_us);
			b->large_rt_us = fmin(b->large_rt_us, x.large_rt_us);
		}
	unsigned measured = 0;
	for (unsigned i = 0; i < NSIZES; i++)
		measured += have[i];
	if (!measured)
		return study_fail(c, "q4: no page size could be measured");
	for (unsigned i = 0; i < NSIZES; i++)
		if (have[i])
			study_log(
			    c,
			    "%5u B pages: churn %.0f ns, build %.1f ns/cell, idle thread %.0f B, hover %.0f "
			    "B "
			    "(%.0f pool ops), 16-cell rt %.1f us (%.0f B), 1024-cell rt %.1f us (%.0f B), "
			    "frag %.3f, 16 threads %.2f",
			    sizes[i], best[i].churn_ns, best[i].build_ns, best[i].idle_bytes,
			    best[i].hover_bytes, best[i].hover_pool_ops, best[i].small_rt_us,
			    best[i].small_bytes, best[i].large_rt_us, best[i].large_bytes, best[i].frag_ratio,
			    best[i].threads_ratio);

	/* Traces: the same measurement at its small size, smallest and largest page built. */
	int lo = -1, hi = -1;
	for (int i = 0; i < NSIZES; i++)
		if (have[i]) {
			if (lo < 0)
				lo = i;
			hi = i;
		}
	for (int j = 0; j < 2; j++) {
		int i = j ? hi : lo;
		if (j && hi == lo)
			break;
		char name[64], env[4300];
		snprintf(name, sizeof name, "q4-pages-%u.ravtrace", sizes[i]);
		char *p = study_path(c, c->trace_dir, name);
		snprintf(env, sizeof env, "RAVIOLI_TRACE=%s", p);
		free(p);
		char *a[] = {"small", NULL}, *e[] = {env, NULL};
		q4_result x;
		if (!study_spawn(c, exes[i], "q4", a, e, &x, sizeof x))
			return false;
	}

	FILE *f = study_open(c, "q4.md");
	if (!f)
		return false;
	fprintf(
	    f,
	    "%s\n\n| page | bst churn ns / step | tree build+drop ns / cell | thread with 1 cell: bytes | "
	    "hovering: bytes | pool ops / 10k hover steps | 16-cell msg: us / round trip | bytes handed | "
	    "1024-cell msg: us | bytes handed | pages / live after 90%% freed | 16 threads x 100 cells: "
	    "pages "
	    "/ live |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
	    self ? "Only this build's page size (--pages self): the other rows need --pages build."
	         : "Each page size is its own release build (meson -Dpage_size=N, in BUILD/study-pages/); "
	           "every "
	           "round runs each build once, times are the best round.");
	for (unsigned i = 0; i < NSIZES; i++) {
		if (!have[i]) {
			fprintf(f, "| %u KB | not measured |||||||||||\n", sizes[i] / 1024);
			continue;
		}
		q4_result *b = &best[i];
		fprintf(f,
		        "| %u KB | %.0f | %.1f | %.0f | %.0f | %.0f | %.1f | %.0f | %.1f | %.0f | %.3f | "
		        "%.2f |\n",
		        sizes[i] / 1024, b->churn_ns, b->build_ns, b->idle_bytes, b->hover_bytes,
		        b->hover_pool_ops, b->small_rt_us, b->small_bytes, b->large_rt_us, b->large_bytes,
		        b->frag_ratio, b->threads_ratio);
	}
	if (lo >= 0 && hi > lo)
		fprintf(f,
		        "\nIn one line: going from %u KB to %u KB pages changes the churn time %.2fx, the "
		        "16-cell round "
		        "trip %.2fx and the 1024-cell one %.2fx, while a thread's minimum footprint grows "
		        "%.0fx (%.0f to "
		        "%.0f bytes) and 16 small threads hold %.1fx their live data instead of %.1fx.\n",
		        sizes[lo] / 1024, sizes[hi] / 1024, best[hi].churn_ns / best[lo].churn_ns,
		        best[hi].small_rt_us / best[lo].small_rt_us,
		        best[hi].large_rt_us / best[lo].large_rt_us,
		        best[hi].idle_bytes / best[lo].idle_bytes, best[lo].idle_bytes, best[hi].idle_bytes,
		        best[hi].threads_ratio, best[lo].threads_ratio);
	fprintf(f, "\n![page size trade-off](study/q4-pages.svg)\n");
	if (!study_close(c, f, "q4.md"))
		return false;
	plot p = {.title = "Q4: page size against speed and overhead (relative to 4 KB)",
	          .xlabel = "page size (bytes)",
	          .ylabel = "relative to the 4 KB build",
	          .xlog = true,
	          .ylog = true,
	          .note = "speed: lower is faster; memory: bytes held per live byte"};
	int ref = have[2] ? 2 : lo;
	plot_series *s[5] = {plot_add(&p, "churn time"), plot_add(&p, "16-cell round trip"),
	                     plot_add(&p, "1024-cell round trip"), plot_add(&p, "bytes of a 1-cell thread"),
	                     plot_add(&p, "16 threads: bytes / live")};
	s[3]->dashed = s[4]->dashed = true;
	for (unsigned i = 0; i < NSIZES; i++) {
		if (!have[i])
			continue;
		double x = sizes[i];
		plot_point(s[0], x, best[i].churn_ns / best[ref].churn_ns);
		plot_point(s[1], x, best[i].small_rt_us / best[ref].small_rt_us);
		plot_point(s[2], x, best[i].large_rt_us / best[ref].large_rt_us);
		plot_point(s[3], x, best[i].idle_bytes / best[ref].idle_bytes);
		plot_point(s[4], x, best[i].threads_ratio / best[ref].threads_ratio);
	}
	return plot_write(c, &p, "q4-pages.svg");
}

const study_def study_q4 = {"q4", "the best page size", q4_run, q4_child};
