/* study-q1.c - question 1: message passing by page hand-off against chatty
 * shared memory.
 *
 * The work: a pipeline of T threads.  Stage 0 makes messages (lists of S
 * cells holding numbers), every middle stage adds one to each number and
 * passes the message on, the last stage sums and drops it.  Every stage
 * runs at the same time as the others (real overlap), and the same cells
 * cross T-1 thread boundaries either way:
 *
 *  - ravioli: each message is built in buffer pages (rav_msg_new) and sent
 *    through a channel; a middle stage receives it into its heap (the pages
 *    are handed over, then arrival compaction), updates it, and forwards
 *    it with rav_msg_adopt (the cells move into new buffer pages) and
 *    rav_send.  Nothing is shared but the pages in transit and the channel.
 *  - chatty: the conventional program: malloc'd nodes {value, next}, a
 *    mutex + condition-variable queue between stages carrying pointers;
 *    every stage updates the nodes in place.
 *
 * Two measurements.  Wall time per cell per stage hop on this machine
 * (interleaved best-of-N, no recording).  Cache-line transfers from the
 * contention model (trace/contention.c) over traces recorded with
 * RAVIOLI_TRACE_ACCESS=1 in fresh processes: the engine's own writes and
 * accesses for ravioli, rav_trace_access() for every shared load and store
 * of the chatty version, and on both sides one write of the queue's lock
 * line per send and per receive (the engine's channel is not traced, so the
 * bench reports it like the chatty queue's).  The model gives every thread
 * its own cache, so 4, 8 and 16 threads are "modelled": the threads run on
 * this machine's 2 cores and the model replays their accesses in the order
 * they happened.  That order is coarser than on 16 real cores (a thread
 * keeps its core for a time slice), which undercounts the ping-pong of
 * lines touched by several threads at once: the queue lines for chatty,
 * the channel line for ravioli.  The data's own path (each cell's lines
 * move once per hop, in both versions) does not depend on it.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ravioli.h"
#include "ravtrace.h"
#include "study.h"
#include "study-q1.h"

/* ---- the two pipelines ---- */

typedef struct q1_work {
	unsigned threads;
	size_t msg_cells, messages;
} q1_work;

static void q1_die(const char *what)
{
	fprintf(stderr, "rav-bench --study q1: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define Q1_OK(expr)                                                                                          \
	do {                                                                                                 \
		if ((expr) != RAV_OK)                                                                        \
			q1_die(#expr);                                                                       \
	} while (0)

typedef struct rstage {
	const q1_work *w;
	unsigned index;
	rav_channel *in, *out;
	rav_type item;
	uint64_t sum;
} rstage;

static void *rav_stage(void *arg)
{
	rstage *s = arg;
	const q1_work *w = s->w;
	char name[32];
	snprintf(name, sizeof name, "stage %u", s->index);
	rav_thread_name(name);
	rav_heap *h = rav_heap_self();
	if (s->index == 0) {
		for (size_t m = 0; m < w->messages; m++) {
			rav_msg *msg = rav_msg_new();
			if (!msg)
				q1_die("rav_msg_new");
			rav_heap *mh = rav_msg_heap(msg);
			rav_ref cur;
			Q1_OK(rav_new_root(mh, s->item, rav_msg_root(msg), &cur));
			rav_store(mh, cur, 0, m * w->msg_cells);
			for (size_t i = 1; i < w->msg_cells; i++) {
				Q1_OK(rav_new_field(mh, s->item, cur, 1, &cur));
				rav_store(mh, cur, 0, m * w->msg_cells + i);
			}
			rav_trace_access(s->out, true); /* the channel's lock line */
			Q1_OK(rav_send(s->out, msg));
		}
		rav_channel_close(s->out);
		rav_thread_exit();
		return NULL;
	}
	rav_root r = rav_root_new(h);
	if (!r)
		q1_die("rav_root_new");
	rav_status st;
	while ((st = rav_recv(s->in, h, r)) == RAV_OK) {
		rav_trace_access(s->in, true);
		bool last = s->out == NULL;
		for (rav_ref cur = rav_root_get(h, r); !rav_ref_is_null(cur); cur = rav_load_ref(h, cur, 1)) {
			uintptr_t v = rav_load(h, cur, 0);
			if (last)
				s->sum += v;
			else
				rav_store(h, cur, 0, v + 1);
		}
		if (last) {
			Q1_OK(rav_root_clear(h, r));
			continue;
		}
		rav_msg *msg = rav_msg_new();
		if (!msg)
			q1_die("rav_msg_new");
		Q1_OK(rav_msg_adopt(msg, h, r));
		rav_trace_access(s->out, true);
		Q1_OK(rav_send(s->out, msg));
	}
	if (st != RAV_ECLOSED)
		q1_die("rav_recv");
	if (s->out)
		rav_channel_close(s->out);
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

/* Record an access to shared memory, then make it. */
#define LOAD(lv) (rav_trace_access(&(lv), false), (lv))
#define STORE(lv, v) (rav_trace_access(&(lv), true), (lv) = (v))

typedef struct cnode {
	uint64_t value;
	struct cnode *next;
} cnode;

typedef struct citem {
	cnode *head;
	struct citem *next;
} citem;

typedef struct cqueue {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	citem *head, *tail;
	int closed;
} cqueue;

typedef struct cstage {
	const q1_work *w;
	unsigned index;
	cqueue *in, *out;
	uint64_t sum;
} cstage;

static void cq_lock(cqueue *q)
{
	pthread_mutex_lock(&q->lock);
	rav_trace_access(&q->lock, true);
}

static void cq_unlock(cqueue *q)
{
	rav_trace_access(&q->lock, true);
	pthread_mutex_unlock(&q->lock);
}

static void cq_push(cqueue *q, citem *it)
{
	STORE(it->next, NULL);
	cq_lock(q);
	if (LOAD(q->tail))
		STORE(q->tail->next, it);
	else
		STORE(q->head, it);
	STORE(q->tail, it);
	cq_unlock(q);
	pthread_cond_signal(&q->ready);
}

static void cq_close(cqueue *q)
{
	cq_lock(q);
	STORE(q->closed, 1);
	cq_unlock(q);
	pthread_cond_broadcast(&q->ready);
}

static citem *cq_pop(cqueue *q)
{
	cq_lock(q);
	while (!LOAD(q->head) && !LOAD(q->closed))
		pthread_cond_wait(&q->ready, &q->lock);
	citem *it = LOAD(q->head);
	if (it) {
		STORE(q->head, LOAD(it->next));
		if (!q->head)
			STORE(q->tail, NULL);
	}
	cq_unlock(q);
	return it;
}

static void *chatty_stage(void *arg)
{
	cstage *s = arg;
	const q1_work *w = s->w;
	char name[32];
	snprintf(name, sizeof name, "stage %u", s->index);
	rav_thread_name(name); /* names the thread's accesses in the trace */
	if (s->index == 0) {
		for (size_t m = 0; m < w->messages; m++) {
			citem *it = malloc(sizeof *it);
			if (!it)
				q1_die("malloc");
			cnode **tail = &it->head;
			for (size_t i = 0; i < w->msg_cells; i++) {
				cnode *n = malloc(sizeof *n);
				if (!n)
					q1_die("malloc");
				STORE(n->value, m * w->msg_cells + i);
				STORE(*tail, n);
				tail = &n->next;
			}
			STORE(*tail, NULL);
			cq_push(s->out, it);
		}
		cq_close(s->out);
		return NULL;
	}
	for (citem *it; (it = cq_pop(s->in));) {
		bool last = s->out == NULL;
		for (cnode *n = LOAD(it->head), *next; n; n = next) {
			uint64_t v = LOAD(n->value);
			next = LOAD(n->next);
			if (last) {
				s->sum += v;
				free(n);
			} else {
				STORE(n->value, v + 1);
			}
		}
		if (last)
			free(it);
		else
			cq_push(s->out, it);
	}
	if (s->out)
		cq_close(s->out);
	return NULL;
}

static q1_result run_pipeline(const q1_work *w, bool ravioli)
{
	unsigned t = w->threads;
	pthread_t *tid = calloc(t, sizeof *tid);
	rstage *rs = calloc(t, sizeof *rs);
	cstage *cs = calloc(t, sizeof *cs);
	rav_channel **ch = calloc(t, sizeof *ch);
	cqueue *q = calloc(t, sizeof *q);
	if (!tid || !rs || !cs || !ch || !q)
		q1_die("out of memory");
	rav_type item = rav_type_register("q1.item", RAV_DATA, RAV_REF);
	for (unsigned i = 0; i + 1 < t; i++) {
		if (ravioli) {
			ch[i] = rav_channel_new();
			if (!ch[i])
				q1_die("rav_channel_new");
		} else {
			pthread_mutex_init(&q[i].lock, NULL);
			pthread_cond_init(&q[i].ready, NULL);
		}
	}
	double t0 = study_now();
	for (unsigned i = 0; i < t; i++) {
		int e;
		if (ravioli) {
			rs[i] = (rstage){w, i, i ? ch[i - 1] : NULL, i + 1 < t ? ch[i] : NULL, item, 0};
			e = pthread_create(&tid[i], NULL, rav_stage, &rs[i]);
		} else {
			cs[i] = (cstage){w, i, i ? &q[i - 1] : NULL, i + 1 < t ? &q[i] : NULL, 0};
			e = pthread_create(&tid[i], NULL, chatty_stage, &cs[i]);
		}
		if (e != 0)
			q1_die("pthread_create");
	}
	for (unsigned i = 0; i < t; i++)
		pthread_join(tid[i], NULL);
	q1_result r = {study_now() - t0, ravioli ? rs[t - 1].sum : cs[t - 1].sum};
	for (unsigned i = 0; i + 1 < t; i++) {
		if (ravioli) {
			rav_channel_free(ch[i]);
		} else {
			pthread_mutex_destroy(&q[i].lock);
			pthread_cond_destroy(&q[i].ready);
		}
	}
	free(tid);
	free(rs);
	free(cs);
	free(ch);
	free(q);
	return r;
}

/* The sum the last stage must see: every number, plus one per middle stage. */
static uint64_t expected_sum(const q1_work *w)
{
	uint64_t n = (uint64_t)w->messages * w->msg_cells;
	return n * (n - 1) / 2 + n * (uint64_t)(w->threads - 2);
}

/* --study-child q1 ravioli|chatty THREADS MSG_CELLS MESSAGES */
static int q1_child(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "table") == 0)
		return q1b_child(argc, argv);
	if (argc != 5)
		return 2;
	q1_work w = {(unsigned)strtoul(argv[2], NULL, 10), strtoull(argv[3], NULL, 10),
	             strtoull(argv[4], NULL, 10)};
	if (w.threads < 2 || w.threads > 64 || !w.msg_cells || !w.messages)
		return 2;
	rav_mark(strcmp(argv[1], "ravioli") == 0 ? "pipeline: ravioli messages"
	                                         : "pipeline: chatty shared memory");
	q1_result r = run_pipeline(&w, strcmp(argv[1], "ravioli") == 0);
	if (r.checksum != expected_sum(&w)) {
		fprintf(stderr, "rav-bench --study q1: checksum %llu, expected %llu\n",
		        (unsigned long long)r.checksum, (unsigned long long)expected_sum(&w));
		return 1;
	}
	return study_child_reply(&r, sizeof r);
}

/* ---- the study ---- */

typedef struct q1_traffic {
	double transfers, invalidations, accesses; /* per cell per hop */
} q1_traffic;

bool q1_record_traffic(study_ctx *c, char *const args[], const char *path, rav_contention_totals *out)
{
	char envt[4200];
	snprintf(envt, sizeof envt, "RAVIOLI_TRACE=%s", path);
	char *env[] = {envt, "RAVIOLI_TRACE_ACCESS=1", NULL};
	q1_result r;
	if (!study_spawn(c, c->exe, "q1", args, env, &r, sizeof r))
		return false;
	rav_trace_error err = {0};
	rav_trace *t = rav_trace_open(path, &err);
	if (!t)
		return study_fail(c, "%s: %s", path, err.message);
	bool ok = rav_trace_index(t, NULL, NULL, &err) == 0;
	rav_contention *con =
	    ok ? rav_contention_run(t, &(rav_contention_config){.line_size = 64}, NULL, NULL, &err) : NULL;
	if (!con) {
		rav_trace_close(t);
		return study_fail(c, "%s: contention model: %s", path, err.message);
	}
	rav_contention_get_totals(con, out);
	rav_contention_free(con);
	rav_trace_close(t);
	return true;
}

static bool record(study_ctx *c, const char *variant, const q1_work *w, const char *path, q1_traffic *out)
{
	char a1[16], a2[32], a3[32];
	snprintf(a1, sizeof a1, "%u", w->threads);
	snprintf(a2, sizeof a2, "%zu", w->msg_cells);
	snprintf(a3, sizeof a3, "%zu", w->messages);
	char *args[] = {(char *)variant, a1, a2, a3, NULL};
	rav_contention_totals tot;
	if (!q1_record_traffic(c, args, path, &tot))
		return false;
	if (!out)
		return true;
	double hops = (double)w->messages * (double)w->msg_cells * (w->threads - 1);
	out->transfers = (double)tot.transfers / hops;
	out->invalidations = (double)tot.invalidations / hops;
	out->accesses = (double)tot.accesses / hops;
	return true;
}

typedef struct timing_ctx {
	q1_work w;
	bool ravioli;
	bool ok;
} timing_ctx;

static double timed(void *arg)
{
	timing_ctx *t = arg;
	q1_result r = run_pipeline(&t->w, t->ravioli);
	if (r.checksum != expected_sum(&t->w))
		t->ok = false;
	return r.seconds;
}

static size_t msgs_for(size_t total_cells, size_t msg_cells)
{
	size_t m = total_cells / msg_cells;
	return m ? m : 1;
}

static bool q1_run(study_ctx *c)
{
	static const unsigned full_threads[] = {2, 4, 8, 16}, quick_threads[] = {2, 4};
	static const size_t full_sizes[] = {1, 8, 64, 512, 4096}, quick_sizes[] = {1, 64};
	const unsigned *threads = c->quick ? quick_threads : full_threads;
	unsigned nthreads = c->quick ? 2 : 4;
	const size_t *sizes = c->quick ? quick_sizes : full_sizes;
	unsigned nsizes = c->quick ? 2 : 5;
	/* Timing moves ~2^17 cell-hops per run (2^10 quick); traces ~2^13 cells. */
	size_t time_hops = c->quick ? 1024 : (size_t)1 << 17, trace_cells = c->quick ? 256 : 8192;

	double ns[4][5][2]; /* [threads][size][ravioli, chatty] */
	q1_traffic tr[4][5][2];
	char *tmp = study_path(c, c->trace_dir, "q1-tmp.ravtrace");
	for (unsigned ti = 0; ti < nthreads; ti++)
		for (unsigned si = 0; si < nsizes; si++) {
			size_t per_thread = time_hops / (threads[ti] - 1);
			timing_ctx tc[2] = {
			    {{threads[ti], sizes[si], msgs_for(per_thread, sizes[si])}, true, true},
			    {{threads[ti], sizes[si], msgs_for(per_thread, sizes[si])}, false, true}};
			double (*fns[2])(void *) = {timed, timed};
			void *ctxs[2] = {&tc[0], &tc[1]};
			double best[2];
			bench_params bp = {.repeat = c->repeat, .warmup = c->quick ? 0 : 1};
			bench_best_interleaved(&bp, 2, fns, ctxs, best);
			if (!tc[0].ok || !tc[1].ok) {
				free(tmp);
				return study_fail(c, "q1: a pipeline computed a wrong sum");
			}
			double hops = (double)tc[0].w.messages * sizes[si] * (threads[ti] - 1);
			for (int v = 0; v < 2; v++)
				ns[ti][si][v] = best[v] / hops * 1e9;
			q1_work tw = {threads[ti], sizes[si], msgs_for(trace_cells, sizes[si])};
			for (int v = 0; v < 2; v++)
				if (!record(c, v ? "chatty" : "ravioli", &tw, tmp, &tr[ti][si][v])) {
					free(tmp);
					return false;
				}
			study_log(
			    c,
			    "%u threads, %zu-cell messages: ravioli %.1f ns, %.3f transfers; chatty %.1f ns, "
			    "%.3f transfers (per cell per hop)",
			    threads[ti], sizes[si], ns[ti][si][0], tr[ti][si][0].transfers, ns[ti][si][1],
			    tr[ti][si][1].transfers);
		}
	unlink(tmp);
	free(tmp);

	/* The traces to look at: 4 threads, 64-cell messages, small. */
	q1_work show = {c->quick ? 2 : 4, 64, c->quick ? 4 : 32};
	char *p1 = study_path(c, c->trace_dir, "q1-ravioli.ravtrace"),
	     *p2 = study_path(c, c->trace_dir, "q1-chatty.ravtrace");
	bool ok = record(c, "ravioli", &show, p1, NULL) && record(c, "chatty", &show, p2, NULL);
	free(p1);
	free(p2);
	if (!ok)
		return false;

	FILE *f = study_open(c, "q1.md");
	if (!f)
		return false;
	fprintf(f,
	        "Cache-line transfers per cell per stage hop (contention model, 64-byte lines, traces of %zu "
	        "cells per run; lower is better):\n\n| threads | message | ravioli | chatty | ravioli / "
	        "chatty |\n"
	        "|---|---|---|---|---|\n",
	        trace_cells);
	for (unsigned ti = 0; ti < nthreads; ti++)
		for (unsigned si = 0; si < nsizes; si++) {
			double a = tr[ti][si][0].transfers, b = tr[ti][si][1].transfers;
			fprintf(f, "| %u%s | %zu cells (%zu B) | %.3f | %.3f | %.2fx |\n", threads[ti],
			        threads[ti] > 2 ? " (modelled)" : "", sizes[si], sizes[si] * 32, a, b,
			        b > 0 ? a / b : NAN);
		}
	fprintf(f,
	        "\nWall time per cell per stage hop on this machine (ns, best of %u interleaved runs, %zu "
	        "cell-hops per run, no recording; runs with more than 2 threads share 2 cores):\n\n"
	        "| threads | message | ravioli | chatty | ravioli / chatty |\n|---|---|---|---|---|\n",
	        c->repeat, time_hops);
	for (unsigned ti = 0; ti < nthreads; ti++)
		for (unsigned si = 0; si < nsizes; si++)
			fprintf(f, "| %u | %zu cells | %.1f | %.1f | %.2fx |\n", threads[ti], sizes[si],
			        ns[ti][si][0], ns[ti][si][1], ns[ti][si][0] / ns[ti][si][1]);
	/* Headline figures, recomputed each run. */
	unsigned big = nsizes - 1;
	fprintf(f,
	        "\nIn one line: with %zu-cell messages and 2 threads ravioli makes %.2fx the transfers of "
	        "the chatty "
	        "version and takes %.2fx its time; with 1-cell messages %.2fx the transfers and %.2fx the "
	        "time. At "
	        "%u modelled threads: %.2fx (%zu-cell) and %.2fx (1-cell) the transfers.\n",
	        sizes[big], tr[0][big][0].transfers / tr[0][big][1].transfers, ns[0][big][0] / ns[0][big][1],
	        tr[0][0][0].transfers / tr[0][0][1].transfers, ns[0][0][0] / ns[0][0][1],
	        threads[nthreads - 1],
	        tr[nthreads - 1][big][0].transfers / tr[nthreads - 1][big][1].transfers, sizes[big],
	        tr[nthreads - 1][0][0].transfers / tr[nthreads - 1][0][1].transfers);
	fprintf(f, "\n![transfers per cell per hop](study/q1-transfers.svg)\n![time per cell per "
	           "hop](study/q1-time.svg)\n");
	if (!q1b_run(c, f)) {
		fclose(f);
		return false;
	}
	if (!study_close(c, f, "q1.md"))
		return false;

	plot p = {.title = "Q1: cache-line transfers per cell per hop",
	          .xlabel = "message size (cells of 32 B)",
	          .ylabel = "transfers per cell per hop",
	          .xlog = true,
	          .ylog = true,
	          .note = "contention model, 64-byte lines; solid: ravioli page hand-off, dashed: chatty "
	                  "shared memory"};
	static const char *const rnames[] = {"ravioli, 2 thr", "ravioli, 4 thr", "ravioli, 8 thr",
	                                     "ravioli, 16 thr"};
	static const char *const cnames[] = {"chatty, 2 thr", "chatty, 4 thr", "chatty, 8 thr",
	                                     "chatty, 16 thr"};
	for (int v = 0; v < 2; v++)
		for (unsigned ti = 0; ti < nthreads; ti++) {
			plot_series *s = plot_add(&p, v ? cnames[ti] : rnames[ti]);
			s->dashed = v;
			for (unsigned si = 0; si < nsizes; si++)
				plot_point(s, (double)sizes[si], tr[ti][si][v].transfers);
		}
	if (!plot_write(c, &p, "q1-transfers.svg"))
		return false;
	plot q = {.title = "Q1: wall time per cell per hop (this machine)",
	          .xlabel = "message size (cells of 32 B)",
	          .ylabel = "ns per cell per hop",
	          .xlog = true,
	          .ylog = true,
	          .note = "2 shared cores; best of N interleaved runs; solid: ravioli, dashed: chatty"};
	for (int v = 0; v < 2; v++)
		for (unsigned ti = 0; ti < nthreads; ti += (c->quick ? 1 : 2)) {
			plot_series *s = plot_add(&q, v ? cnames[ti] : rnames[ti]);
			s->dashed = v;
			for (unsigned si = 0; si < nsizes; si++)
				plot_point(s, (double)sizes[si], ns[ti][si][v]);
		}
	return plot_write(c, &q, "q1-time.svg");
}

const study_def study_q1 = {"q1", "message passing by page hand-off against chatty shared memory", q1_run,
                            q1_child};
