/* study-q1b.c - question 1, second workload: threads updating one table.
 *
 * The pipeline of study-q1.c passes data along, which shared memory with a
 * queue already does without sharing anything else; the essay's "chatty"
 * threads are the other case: several threads touching the *same* data.
 * Here W threads make random updates (increments) to one table of 4096
 * counters:
 *
 *  - chatty: the table is shared malloc'd memory; an update is an atomic
 *    fetch-and-add on the counter, the cheapest way shared memory has;
 *  - ravioli: each thread owns a slice of the table (a rav_vec in its own
 *    heap); an update to another thread's slice is appended to a message
 *    for that owner (one cell per update) and sent when B updates are
 *    waiting; owners apply what they receive.  B is the message size.
 *
 * Cache-line transfers come from the contention model over recorded traces
 * as in study-q1.c, with one difference: the recorded runs take turns
 * (lockstep): the threads pass a token round-robin and make one update
 * (ravioli: one update, then what their inbox holds) per turn.  Left to
 * the scheduler on 2 cores, a thread would make thousands of updates in its
 * time slice and find the table's lines in its cache, which no 16-core
 * machine would; turn by turn, the interleaving is what threads running at
 * once would make.  The token's own memory (semaphores) is the harness, not
 * the program, and is not recorded.  The free-running order's transfer
 * count is reported next to it to show how much the scheduler hides.
 * Wall time is free-running, interleaved best-of-N, no recording.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ravioli.h"
#include "ravtrace.h"
#include "study.h"
#include "study-q1.h"

enum { TABLE = 4096, MAXW = 16 };

typedef struct table_work {
	unsigned threads;
	size_t batch, updates; /* updates per thread */
	bool lockstep;
} table_work;

typedef struct ring {
	sem_t go[MAXW];
	bool active[MAXW];
	unsigned n;
} ring;

static void q1b_die(const char *what)
{
	fprintf(stderr, "rav-bench --study q1 table: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define B_OK(expr)                                                                                           \
	do {                                                                                                 \
		if ((expr) != RAV_OK)                                                                        \
			q1b_die(#expr);                                                                      \
	} while (0)

static void ring_wait(ring *r, unsigned me)
{
	while (sem_wait(&r->go[me]) != 0 && errno == EINTR)
		;
}

/* Pass the token to the next active thread (me may leave the ring). */
static void ring_pass(ring *r, unsigned me, bool leave)
{
	if (leave)
		r->active[me] = false;
	for (unsigned i = 1; i <= r->n; i++) {
		unsigned next = (me + i) % r->n;
		if (r->active[next]) {
			sem_post(&r->go[next]);
			return;
		}
	}
}

typedef struct shared {
	const table_work *w;
	ring *ring;
	/* chatty */
	_Atomic uint64_t *table;
	/* ravioli */
	rav_channel *inbox[MAXW];
	rav_type upd;
	uint64_t applied[MAXW];
} shared;

typedef struct worker {
	shared *s;
	unsigned me;
} worker;

static void *chatty_worker(void *arg)
{
	worker *wk = arg;
	shared *s = wk->s;
	const table_work *w = s->w;
	char name[32];
	snprintf(name, sizeof name, "updater %u", wk->me);
	rav_thread_name(name);
	uint64_t rng = 1000 + wk->me;
	for (size_t i = 0; i < w->updates; i++) {
		if (w->lockstep)
			ring_wait(s->ring, wk->me);
		size_t k = bench_rand(&rng) % TABLE;
		rav_trace_access(&s->table[k], true); /* a read-modify-write: the line comes here exclusive */
		atomic_fetch_add_explicit(&s->table[k], 1, memory_order_relaxed);
		if (w->lockstep)
			ring_pass(s->ring, wk->me, i + 1 == w->updates);
	}
	return NULL;
}

/* A message is a list of update cells (field 0: counter index + 1; 0 in
 * a single cell: "done"). */
static void apply(rav_heap *h, rav_root r, rav_root vec, unsigned me, unsigned owners, uint64_t *applied,
                  unsigned *dones)
{
	rav_ref v = rav_root_get(h, vec);
	rav_ref cur = rav_root_get(h, r);
	if (!rav_ref_is_null(cur) && rav_load(h, cur, 0) == 0) {
		(*dones)++;
		B_OK(rav_root_clear(h, r));
		return;
	}
	size_t per = TABLE / owners;
	for (; !rav_ref_is_null(cur); cur = rav_load_ref(h, cur, 1)) {
		size_t k = rav_load(h, cur, 0) - 1;
		uintptr_t x;
		B_OK(rav_vec_get(h, v, k - me * per, &x));
		B_OK(rav_vec_set(h, v, k - me * per, x + 1));
		(*applied)++;
	}
	B_OK(rav_root_clear(h, r));
}

static void *rav_worker(void *arg)
{
	worker *wk = arg;
	shared *s = wk->s;
	const table_work *w = s->w;
	unsigned W = w->threads, me = wk->me, dones = 0;
	char name[32];
	snprintf(name, sizeof name, "owner %u", me);
	rav_thread_name(name);
	rav_heap *h = rav_heap_self();
	rav_root vec = rav_root_new(h), in = rav_root_new(h);
	B_OK(rav_vec_new_root(h, vec, false));
	size_t per = TABLE / W;
	for (size_t i = 0; i < per; i++)
		B_OK(rav_vec_push(h, rav_root_get(h, vec), 0));
	rav_msg *out[MAXW] = {NULL};
	size_t fill[MAXW] = {0};
	uint64_t rng = 1000 + me, applied = 0;
	if (w->lockstep)
		ring_wait(s->ring, me);
	for (size_t i = 0; i <= w->updates; i++) {
		if (i < w->updates) {
			size_t k = bench_rand(&rng) % TABLE, owner = k / per;
			if (owner == me) {
				uintptr_t x;
				B_OK(rav_vec_get(h, rav_root_get(h, vec), k - me * per, &x));
				B_OK(rav_vec_set(h, rav_root_get(h, vec), k - me * per, x + 1));
				applied++;
			} else {
				if (!out[owner] && !(out[owner] = rav_msg_new()))
					q1b_die("rav_msg_new");
				rav_ref c;
				B_OK(rav_new_before(rav_msg_heap(out[owner]), s->upd,
				                    rav_root_slot(rav_msg_root(out[owner])), 1, &c));
				rav_store(rav_msg_heap(out[owner]), c, 0, k + 1);
				if (++fill[owner] == w->batch) {
					rav_trace_access(s->inbox[owner], true);
					B_OK(rav_send(s->inbox[owner], out[owner]));
					out[owner] = NULL;
					fill[owner] = 0;
				}
			}
		} else {
			/* Flush what is waiting and tell every owner this thread is done. */
			for (unsigned o = 0; o < W; o++) {
				if (o == me)
					continue;
				if (out[o]) {
					rav_trace_access(s->inbox[o], true);
					B_OK(rav_send(s->inbox[o], out[o]));
				}
				rav_msg *d = rav_msg_new();
				if (!d)
					q1b_die("rav_msg_new");
				B_OK(rav_new_root(rav_msg_heap(d), s->upd, rav_msg_root(d), NULL));
				rav_trace_access(s->inbox[o], true);
				B_OK(rav_send(s->inbox[o], d));
			}
		}
		/* What has arrived. */
		while (rav_try_recv(s->inbox[me], h, in) == RAV_OK) {
			rav_trace_access(s->inbox[me], true);
			apply(h, in, vec, me, W, &applied, &dones);
		}
		if (w->lockstep && i < w->updates) {
			ring_pass(s->ring, me, false);
			ring_wait(s->ring, me);
		}
	}
	/* The others' last updates. */
	while (dones < W - 1) {
		if (w->lockstep) {
			ring_pass(s->ring, me, false);
			ring_wait(s->ring, me);
			while (rav_try_recv(s->inbox[me], h, in) == RAV_OK) {
				rav_trace_access(s->inbox[me], true);
				apply(h, in, vec, me, W, &applied, &dones);
			}
			continue;
		}
		B_OK(rav_recv(s->inbox[me], h, in));
		rav_trace_access(s->inbox[me], true);
		apply(h, in, vec, me, W, &applied, &dones);
	}
	if (w->lockstep)
		ring_pass(s->ring, me, true);
	s->applied[me] = applied;
	rav_root_free(h, vec);
	rav_root_free(h, in);
	rav_thread_exit();
	return NULL;
}

/* Returns the seconds; false in *ok if an update was lost. */
static double run_table(const table_work *w, bool ravioli, bool *ok)
{
	shared s;
	memset(&s, 0, sizeof s);
	s.w = w;
	ring rg;
	memset(&rg, 0, sizeof rg);
	rg.n = w->threads;
	for (unsigned i = 0; i < w->threads; i++) {
		sem_init(&rg.go[i], 0, 0);
		rg.active[i] = true;
	}
	s.ring = &rg;
	s.upd = rav_type_register("q1.update", RAV_DATA, RAV_REF);
	if (ravioli) {
		for (unsigned i = 0; i < w->threads; i++)
			if (!(s.inbox[i] = rav_channel_new()))
				q1b_die("rav_channel_new");
	} else {
		s.table = aligned_alloc(64, TABLE * sizeof *s.table);
		if (!s.table)
			q1b_die("out of memory");
		for (size_t i = 0; i < TABLE; i++)
			atomic_init(&s.table[i], 0);
	}
	pthread_t t[MAXW];
	worker wk[MAXW];
	double t0 = study_now();
	for (unsigned i = 0; i < w->threads; i++) {
		wk[i] = (worker){&s, i};
		if (pthread_create(&t[i], NULL, ravioli ? rav_worker : chatty_worker, &wk[i]) != 0)
			q1b_die("pthread_create");
	}
	if (w->lockstep)
		sem_post(&rg.go[0]);
	for (unsigned i = 0; i < w->threads; i++)
		pthread_join(t[i], NULL);
	double secs = study_now() - t0;
	uint64_t total = 0;
	if (ravioli) {
		for (unsigned i = 0; i < w->threads; i++) {
			total += s.applied[i];
			rav_channel_free(s.inbox[i]);
		}
	} else {
		for (size_t i = 0; i < TABLE; i++)
			total += atomic_load(&s.table[i]);
		free((void *)s.table);
	}
	for (unsigned i = 0; i < w->threads; i++)
		sem_destroy(&rg.go[i]);
	*ok = total == (uint64_t)w->threads * w->updates;
	return secs;
}

/* --study-child q1 table ravioli|chatty THREADS BATCH UPDATES lockstep|free */
int q1b_child(int argc, char **argv)
{
	if (argc != 7)
		return 2;
	table_work w = {(unsigned)strtoul(argv[3], NULL, 10), strtoull(argv[4], NULL, 10),
	                strtoull(argv[5], NULL, 10), strcmp(argv[6], "lockstep") == 0};
	if (w.threads < 2 || w.threads > MAXW || TABLE % w.threads || !w.batch || !w.updates)
		return 2;
	bool ok;
	q1_result r = {run_table(&w, strcmp(argv[2], "ravioli") == 0, &ok), 0};
	if (!ok) {
		fprintf(stderr, "rav-bench --study q1 table: an update was lost\n");
		return 1;
	}
	return study_child_reply(&r, sizeof r);
}

typedef struct table_timing {
	table_work w;
	bool ravioli, ok;
} table_timing;

static double table_timed(void *arg)
{
	table_timing *t = arg;
	bool ok;
	double s = run_table(&t->w, t->ravioli, &ok);
	t->ok &= ok;
	return s;
}

static bool traffic(study_ctx *c, const char *variant, const table_work *w, const char *path,
                    double *per_update)
{
	char a1[16], a2[32], a3[32];
	snprintf(a1, sizeof a1, "%u", w->threads);
	snprintf(a2, sizeof a2, "%zu", w->batch);
	snprintf(a3, sizeof a3, "%zu", w->updates);
	char *args[] = {"table", (char *)variant, a1, a2, a3, w->lockstep ? "lockstep" : "free", NULL};
	rav_contention_totals tot;
	if (!q1_record_traffic(c, args, path, &tot))
		return false;
	*per_update = (double)tot.transfers / ((double)w->threads * (double)w->updates);
	return true;
}

bool q1b_run(study_ctx *c, FILE *f)
{
	static const unsigned full_threads[] = {2, 4, 8, 16}, quick_threads[] = {2, 4};
	static const size_t full_batch[] = {1, 8, 64, 512}, quick_batch[] = {1, 64};
	const unsigned *threads = c->quick ? quick_threads : full_threads;
	const size_t *batch = c->quick ? quick_batch : full_batch;
	unsigned nt = c->quick ? 2 : 4, nb = c->quick ? 2 : 4;
	size_t time_updates = c->quick ? 2048 : (size_t)1 << 18, trace_updates = c->quick ? 512 : 8192;
	double ns[4][4][2], tr[4][4][2], tr_free[4][4][2];
	char *tmp = study_path(c, c->trace_dir, "q1b-tmp.ravtrace");
	for (unsigned ti = 0; ti < nt; ti++)
		for (unsigned bi = 0; bi < nb; bi++) {
			unsigned W = threads[ti];
			table_timing tt[2] = {{{W, batch[bi], time_updates / W, false}, true, true},
			                      {{W, batch[bi], time_updates / W, false}, false, true}};
			double (*fns[2])(void *) = {table_timed, table_timed};
			void *ctxs[2] = {&tt[0], &tt[1]};
			double best[2];
			bench_params bp = {.repeat = c->repeat, .warmup = c->quick ? 0 : 1};
			bench_best_interleaved(&bp, 2, fns, ctxs, best);
			if (!tt[0].ok || !tt[1].ok) {
				free(tmp);
				return study_fail(c, "q1 table: an update was lost");
			}
			for (int v = 0; v < 2; v++) {
				ns[ti][bi][v] = best[v] / (double)time_updates * 1e9;
				table_work lw = {W, batch[bi], trace_updates / W, true}, fw = lw;
				fw.lockstep = false;
				/* chatty does not batch: one trace per thread count serves every B */
				if (v == 1 && bi > 0) {
					tr[ti][bi][1] = tr[ti][0][1];
					tr_free[ti][bi][1] = tr_free[ti][0][1];
					continue;
				}
				if (!traffic(c, v ? "chatty" : "ravioli", &lw, tmp, &tr[ti][bi][v]) ||
				    !traffic(c, v ? "chatty" : "ravioli", &fw, tmp, &tr_free[ti][bi][v])) {
					free(tmp);
					return false;
				}
			}
			study_log(c,
			          "table, %u threads, %zu updates per message: ravioli %.1f ns, %.3f "
			          "transfers (%.3f "
			          "free-running); chatty %.1f ns, %.3f (%.3f) per update",
			          W, batch[bi], ns[ti][bi][0], tr[ti][bi][0], tr_free[ti][bi][0],
			          ns[ti][bi][1], tr[ti][bi][1], tr_free[ti][bi][1]);
		}
	unlink(tmp);
	free(tmp);
	table_work show = {c->quick ? 2 : 4, 64, c->quick ? 128 : 1024, true};
	char *p1 = study_path(c, c->trace_dir, "q1-table-ravioli.ravtrace"),
	     *p2 = study_path(c, c->trace_dir, "q1-table-chatty.ravtrace");
	double dummy;
	bool ok = traffic(c, "ravioli", &show, p1, &dummy) && traffic(c, "chatty", &show, p2, &dummy);
	free(p1);
	free(p2);
	if (!ok)
		return false;

	fprintf(
	    f,
	    "\n### Threads updating one table\n\nCache-line transfers per update (contention model over "
	    "lockstep runs of %zu updates; in brackets the same run left to the scheduler, which hides most "
	    "of the sharing; lower is better):\n\n| threads | updates per message | ravioli | chatty (atomic "
	    "add) | ravioli / chatty |\n|---|---|---|---|---|\n",
	    trace_updates);
	for (unsigned ti = 0; ti < nt; ti++)
		for (unsigned bi = 0; bi < nb; bi++)
			fprintf(f, "| %u%s | %zu | %.3f (%.3f) | %.3f (%.3f) | %.2fx |\n", threads[ti],
			        threads[ti] > 2 ? " (modelled)" : "", batch[bi], tr[ti][bi][0],
			        tr_free[ti][bi][0], tr[ti][bi][1], tr_free[ti][bi][1],
			        tr[ti][bi][0] / tr[ti][bi][1]);
	fprintf(f,
	        "\nWall time per update on this machine (ns, free-running, best of %u interleaved runs, %zu "
	        "updates "
	        "per run):\n\n| threads | updates per message | ravioli | chatty | ravioli / chatty |\n"
	        "|---|---|---|---|---|\n",
	        c->repeat, time_updates);
	for (unsigned ti = 0; ti < nt; ti++)
		for (unsigned bi = 0; bi < nb; bi++)
			fprintf(f, "| %u | %zu | %.1f | %.1f | %.2fx |\n", threads[ti], batch[bi],
			        ns[ti][bi][0], ns[ti][bi][1], ns[ti][bi][0] / ns[ti][bi][1]);
	unsigned lt = nt - 1, lb = nb - 1;
	fprintf(f,
	        "\nIn one line: at %u modelled threads, batching %zu updates per message, ravioli makes "
	        "%.2fx the "
	        "transfers of the shared table (%.2fx with one update per message) and takes %.2fx its time "
	        "on this "
	        "machine.\n\n![table transfers](study/q1-table.svg)\n",
	        threads[lt], batch[lb], tr[lt][lb][0] / tr[lt][lb][1], tr[lt][0][0] / tr[lt][0][1],
	        ns[lt][lb][0] / ns[lt][lb][1]);
	plot p = {.title = "Q1: one table updated by every thread",
	          .xlabel = "updates per message (ravioli)",
	          .ylabel = "transfers per update",
	          .xlog = true,
	          .ylog = true,
	          .note = "contention model over lockstep runs; solid: ravioli owners + messages, dashed: "
	                  "chatty atomic "
	                  "adds"};
	static const char *const rn[] = {"ravioli, 2 thr", "ravioli, 4 thr", "ravioli, 8 thr",
	                                 "ravioli, 16 thr"};
	static const char *const cn[] = {"chatty, 2 thr", "chatty, 4 thr", "chatty, 8 thr", "chatty, 16 thr"};
	for (int v = 0; v < 2; v++)
		for (unsigned ti = 0; ti < nt; ti++) {
			plot_series *s = plot_add(&p, v ? cn[ti] : rn[ti]);
			s->dashed = v;
			for (unsigned bi = 0; bi < nb; bi++)
				plot_point(s, (double)batch[bi], tr[ti][bi][v]);
		}
	return plot_write(c, &p, "q1-table.svg");
}
