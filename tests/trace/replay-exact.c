/* replay-exact.c - replay is exact (issue #3 item 7).
 *
 * Runs a random workload on the real engine with recording on: allocations
 * at roots and in fields, a list's push and pop at a root, reference stores that share cells (reference
 * ravioli), overwrites and clears that free subtrees, data and scalar
 * stores, deferred frees with bounded compaction steps, mark-from-roots
 * collections of cycles, vectors, and messages sent and received through a
 * channel (buffer pages, hand-offs, arrival compaction).  At many points it
 * records the engine's own view (rav_heap_walk: every page of the heap with
 * its fill, every cell's type, scalar, fields and back-links; the counters)
 * and places a mark "checkpoint N".  A second phase adds a worker thread
 * with its own heap: messages go both ways, and checkpoints compare both
 * heaps at moments when the worker is quiet.  Then it opens the trace, seeks to each
 * mark and compares the replayed state with the engine's view cell by cell.
 * Any difference fails with the checkpoint, the page, the cell and the
 * values.
 *
 * Dead cells (deferred mode) are compared by state only: the engine keeps
 * its hole list in their words without recording those writes, so their
 * contents are unspecified by design.  Likewise the back-link word of a
 * cell queued for the deferred kill cascade (RAV_FLAG_DYING) holds the
 * queue link, not a back-link; its other words are compared.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ravioli.h"
#include "ravtrace.h"
#include "engine-view.h"
#include "trace-test.h"
#include "workload.h"
#include "trace-private.h"

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	tt_failures++;
}

#define NROOTS 400

/* One thread's side of the workload. */
typedef struct ctx {
	rav_heap *h;
	rav_root roots[NROOTS];
	uint64_t rng;
} ctx;

static _Thread_local ctx *cur;

static uint64_t rnd(void)
{
	return xorshift64(&cur->rng);
}

/* ---- the workload ------------------------------------------------------ */

static rav_type T_NODE, T_PAIR, T_LEAF;
static rav_channel *chan;

static void on_error(rav_status st, const char *message, void *user)
{
	failf("engine reported %s: %s", rav_status_name(st), message);
	exit(1);
}

/* A random object reachable from a random root (walks user-typed cells). */
static rav_ref pick(rav_heap *h, int *root_out)
{
	return wl_pick(&cur->rng, h, cur->roots, NROOTS, 5, root_out);
}

static rav_type random_type(void)
{
	return wl_type(&cur->rng, T_NODE, T_PAIR, T_LEAF);
}

static int ref_field(rav_type t)
{
	return wl_ref_field(&cur->rng, t);
}

/* A message: a fresh little tree, or a subtree adopted from a root. */
static rav_msg *build_msg(rav_heap *h)
{
	rav_root *roots = cur->roots;
	int r;
	rav_msg *m = rav_msg_new();
	if (!m)
		return NULL;
	if (rnd() & 1) {
		rav_heap *mh = rav_msg_heap(m);
		rav_ref top;
		if (rav_new_root(mh, T_NODE, rav_msg_root(m), &top) == RAV_OK) {
			rav_new_field(mh, T_LEAF, top, 0, NULL);
			top = rav_root_get(mh, rav_msg_root(m));
			rav_new_field(mh, T_PAIR, top, 1, NULL);
		}
	} else {
		r = (int)(rnd() % NROOTS);
		if ((rnd() & 3) == 0) {
			/* a list built last, at the top of the heap (up to three
			 * pages): adopting it hands its pages to the message
			 * (page-to-msg events, format 1.6) */
			rav_ref c;
			unsigned len = 1 + (unsigned)(rnd() % 400);
			if (rav_new_root(h, T_PAIR, roots[r], &c) == RAV_OK)
				for (unsigned i = 1; i < len && rav_new_field(h, T_PAIR, c, 0, &c) == RAV_OK; i++)
					rav_store(h, c, 1, i);
		}
		/* adopt only works for a subtree held by that root alone */
		rav_ref o = rav_root_get(h, roots[r]);
		if (rav_ref_is_null(o) || rav_msg_adopt(m, h, roots[r]) != RAV_OK) {
			rav_heap *mh = rav_msg_heap(m);
			rav_new_root(mh, T_LEAF, rav_msg_root(m), NULL);
		}
	}
	return m;
}

static void op(rav_heap *h)
{
	rav_root *roots = cur->roots;
	unsigned k = (unsigned)(rnd() % 100);
	int r;
	if (k < 10) {
		rav_new_root(h, random_type(), roots[rnd() % NROOTS], NULL);
	} else if (k < 14) {
		/* a list's push at a root (rav_new_before) or pop (the head's
		 * reference field moved into the root: the head dies), recorded
		 * as RAV_RAW_NEW_BEFORE / RAV_RAW_POP records where they apply */
		rav_root rt = roots[rnd() % NROOTS];
		if (rnd() & 1) {
			rav_type t = random_type();
			int f = ref_field(t);
			if (f >= 0)
				rav_new_before(h, t, rav_root_slot(rt), f, NULL);
		} else {
			rav_ref head = rav_root_get(h, rt);
			int f = rav_ref_is_null(head) ? -1 : ref_field(rav_type_of(h, head));
			if (f >= 0)
				rav_move(h, rav_root_slot(rt), rav_field_slot(head, f));
		}
	} else if (k < 40) {
		rav_ref p = pick(h, NULL);
		if (rav_ref_is_null(p))
			return;
		int f = ref_field(rav_type_of(h, p));
		if (f >= 0)
			rav_new_field(h, random_type(), p, f, NULL);
	} else if (k < 52) {
		/* share: a second (third, ...) referrer makes reference ravioli */
		rav_ref p = pick(h, NULL);
		if (rav_ref_is_null(p))
			return;
		int f = ref_field(rav_type_of(h, p));
		if (f < 0)
			return;
		rav_ref tg = pick(h, NULL);
		/* loads never move cells: p is still a valid borrow */
		rav_store_ref(h, p, f, tg);
	} else if (k < 58) {
		rav_ref p = pick(h, NULL);
		if (rav_ref_is_null(p))
			return;
		int f = ref_field(rav_type_of(h, p));
		if (f >= 0)
			rav_clear_ref(h, p, f);
	} else if (k < 62) {
		rav_root_clear(h, roots[rnd() % NROOTS]);
	} else if (k < 66) {
		rav_ref tg = pick(h, NULL);
		rav_root_set(h, roots[rnd() % NROOTS], tg);
	} else if (k < 76) {
		rav_ref p = pick(h, NULL);
		if (rav_ref_is_null(p))
			return;
		rav_type t = rav_type_of(h, p);
		if (t < RAV_TYPE_FIRST_USER)
			return;
		for (int f = 0; f < 2; f++)
			if (rav_type_field_kind(t, f) == RAV_DATA)
				rav_store(h, p, f, rnd() & 0xffffff);
	} else if (k < 80) {
		rav_ref p = pick(h, NULL);
		if (!rav_ref_is_null(p) && rav_type_of(h, p) >= RAV_TYPE_FIRST_USER)
			rav_set_scalar(h, p, rnd() & 0xfff);
	} else if (k < 84) {
		rav_set_free_mode(h, (rnd() & 1) ? RAV_FREE_DEFERRED : RAV_FREE_IMMEDIATE);
	} else if (k < 88) {
		rav_compact(h, 1 + rnd() % 8);
	} else if (k < 89) {
		rav_collect(h);
	} else if (k < 91) {
		r = (int)(rnd() % NROOTS);
		if (rav_vec_new_root(h, roots[r], false) == RAV_OK) {
			unsigned n = (unsigned)(rnd() % 12);
			for (unsigned i = 0; i < n; i++)
				rav_vec_push(h, rav_root_get(h, roots[r]), i * 3);
		}
	} else if (k < 95) {
		/* a message built here, sent, and received back into another root */
		rav_msg *m = build_msg(h);
		if (!m)
			return;
		if (rav_send(chan, m) != RAV_OK) {
			failf("rav_send failed: %s", rav_last_error());
			return;
		}
		if (rav_try_recv(chan, h, roots[rnd() % NROOTS]) != RAV_OK)
			failf("rav_try_recv failed: %s", rav_last_error());
	} else {
		/* free a root and make a new one (root slots are reused) */
		r = (int)(rnd() % NROOTS);
		rav_root_free(h, roots[r]);
		roots[r] = rav_root_new(h);
	}
}

/* ---- two threads: messages between two heaps -------------------------- */

static rav_channel *to_worker, *to_main;
static rav_heap *worker_heap;

/* The worker receives a message into one of its roots, works on its own
 * heap, and answers with a message as its last engine action of the round,
 * so that once the main thread has received the answer, the worker's heap
 * is quiet (it waits in rav_recv) and every one of its events is ordered
 * before the main thread's next ones (the answer's send/receive sequence
 * numbers order them in the trace). */
static void *worker(void *arg)
{
	ctx *c = arg;
	cur = c;
	rav_thread_name("worker");
	c->h = rav_heap_self();
	for (int i = 0; i < NROOTS; i++)
		c->roots[i] = rav_root_new(c->h);
	worker_heap = c->h;
	for (;;) {
		int r = (int)(rnd() % NROOTS);
		if (rav_recv(to_worker, c->h, c->roots[r]) != RAV_OK) {
			failf("worker: receive failed: %s", rav_last_error());
			break;
		}
		/* an empty message says stop: its receive (an ordering event) puts
		 * the teardown after the main thread's last checkpoint in the trace */
		if (!rav_root_is_set(c->h, c->roots[r]))
			break;
		for (int k = (int)(rnd() % 20); k > 0; k--)
			op(c->h);
		rav_msg *m = build_msg(c->h);
		if (!m || rav_send(to_main, m) != RAV_OK) {
			failf("worker: cannot answer: %s", rav_last_error());
			break;
		}
	}
	for (int i = 0; i < NROOTS; i++)
		rav_root_free(c->h, c->roots[i]);
	rav_thread_exit();
	return NULL;
}

#define MAXVIEWS 2

int main(int argc, char **argv)
{
	/* RAV_TEST_SMALL (valgrind runs): a fifth of the work */
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	unsigned ops = argc > 1 ? (unsigned)atoi(argv[1]) : small ? 6000 : 30000;
	unsigned every = argc > 2 ? (unsigned)atoi(argv[2]) : small ? 200 : 300;
	unsigned rounds = argc > 3 ? (unsigned)atoi(argv[3]) : small ? 300 : 1500;
	char path[] = "/tmp/replay-exact-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	char eb[256];
	if (rav_trace_start(path, false, eb, sizeof eb) != 0) {
		fprintf(stderr, "rav_trace_start: %s\n", eb);
		unlink(path);
		return 1;
	}
	rav_set_error_handler(on_error, NULL);
	T_NODE = rav_type_register("x-node", RAV_REF, RAV_REF);
	T_PAIR = rav_type_register("x-pair", RAV_REF, RAV_DATA);
	T_LEAF = rav_type_register("x-leaf", RAV_DATA, RAV_DATA);
	static ctx mainc = {.rng = 0x9e3779b97f4a7c15ull}, workc = {.rng = 0x2545f4914f6cdd1dull};
	cur = &mainc;
	rav_heap *h = rav_heap_self();
	if (!h || !T_NODE || !T_PAIR || !T_LEAF) {
		fprintf(stderr, "engine setup failed: %s\n", rav_last_error());
		return 1;
	}
	mainc.h = h;
	chan = rav_channel_new();
	for (int i = 0; i < NROOTS; i++)
		mainc.roots[i] = rav_root_new(h);

	unsigned ncp = ops / every + rounds / 10 + 2;
	engine_view(*views)[MAXVIEWS] = calloc(ncp, sizeof *views);
	unsigned *nviews = calloc(ncp, sizeof *nviews);
	unsigned cp = 0;
	char text[32];
	/* phase 1: one thread, messages to itself */
	for (unsigned i = 1; i <= ops; i++) {
		op(h);
		if (i % every == 0 && cp < ncp) {
			/* every other checkpoint also catches a message being built
			 * (its own heap of buffer pages), sent and received after */
			rav_msg *m = (cp & 1) ? build_msg(h) : NULL;
			engine_view_take(h, &views[cp][0]);
			nviews[cp] = 1;
			if (m) {
				engine_view_take(rav_msg_heap(m), &views[cp][1]);
				nviews[cp] = 2;
			}
			snprintf(text, sizeof text, "checkpoint %u", cp);
			rav_mark(text);
			cp++;
			if (m && (rav_send(chan, m) != RAV_OK ||
			          rav_try_recv(chan, h, mainc.roots[rnd() % NROOTS]) != RAV_OK))
				failf("message after a checkpoint: %s", rav_last_error());
		}
	}
	/* phase 2: a second thread; messages go both ways */
	to_worker = rav_channel_new();
	to_main = rav_channel_new();
	pthread_t th;
	if (rounds && pthread_create(&th, NULL, worker, &workc) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	for (unsigned i = 1; i <= rounds; i++) {
		rav_msg *m = build_msg(h);
		if (!m || rav_send(to_worker, m) != RAV_OK) {
			failf("main: send failed: %s", rav_last_error());
			break;
		}
		if (rav_recv(to_main, h, mainc.roots[rnd() % NROOTS]) != RAV_OK) {
			failf("main: receive failed: %s", rav_last_error());
			break;
		}
		if (i % 10 == 0 && cp < ncp) {
			engine_view_take(h, &views[cp][0]);
			engine_view_take(worker_heap, &views[cp][1]);
			nviews[cp] = 2;
			snprintf(text, sizeof text, "checkpoint %u", cp);
			rav_mark(text);
			cp++;
		}
		for (int k = (int)(rnd() % 20); k > 0; k--)
			op(h);
	}
	if (rounds) {
		rav_msg *stop = rav_msg_new();
		if (!stop || rav_send(to_worker, stop) != RAV_OK) {
			failf("main: cannot stop the worker: %s", rav_last_error());
			rav_channel_close(to_worker);
		}
		pthread_join(th, NULL);
	}
	rav_channel_free(to_worker);
	rav_channel_free(to_main);
	rav_channel_free(chan);
	rav_trace_stop();

	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	if (getenv("REPLAY_EXACT_KEEP"))
		fprintf(stderr, "trace kept: %s\n", path);
	else
		unlink(path);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	if (rav_trace_index(t, NULL, NULL, &err) < 0) {
		fprintf(stderr, "index: %s\n", err.message);
		return 1;
	}
	if (ravt_trace_replay_error(t, &err))
		failf("the trace does not replay: %s", err.message);
	/* the pages way of rav_msg_adopt was taken, and checked at checkpoints */
	rav_event_filter pages_f = {.kinds = (uint64_t)1 << RAV_EV_PAGE_TO_MSG, .thread = -1};
	unsigned npages_to_msg = 0;
	for (int64_t e = rav_trace_find_next(t, 0, &pages_f); e >= 0 && npages_to_msg < 1000000;
	     e = rav_trace_find_next(t, (uint64_t)e + 1, &pages_f))
		npages_to_msg++;
	if (npages_to_msg == 0)
		failf("no page-to-msg event: rav_msg_adopt never handed pages to a message");
	rav_state *s = rav_state_new(t);
	uint64_t nevents = rav_trace_indexed_events(t);
	size_t compared = 0;
	unsigned seen = 0;
	for (unsigned i = 0; i < rav_trace_mark_count(t) && tt_failures < 20; i++) {
		rav_trace_mark mark;
		const rav_trace_mark *mk = rav_trace_mark_at(t, i, &mark) ? &mark : NULL;
		unsigned n;
		if (!mk || sscanf(mk->text, "checkpoint %u", &n) != 1 || n >= cp)
			continue;
		/* the views were taken just before the mark: the state before the mark event */
		if (rav_state_seek(s, mk->event, &err) < 0) {
			failf("checkpoint %u: seek to event %llu failed: %s", n,
			      (unsigned long long)mk->event, err.message);
			break;
		}
		for (unsigned v = 0; v < nviews[n]; v++) {
			if (!engine_view_compare((int)n, &views[n][v], s, &tt_failures))
				failf("checkpoint %u: heap %u is not in the replayed state", n, views[n][v].heap_id);
			compared += views[n][v].ncells;
		}
		seen++;
	}
	if (seen != cp && tt_failures == 0)
		failf("found %u of %u checkpoint marks in the trace", seen, cp);
	for (unsigned i = 0; i < cp; i++)
		for (unsigned v = 0; v < nviews[i]; v++) {
			engine_view_free(&views[i][v]);
		}
	free(views);
	free(nviews);
	rav_state_free(s);
	rav_trace_close(t);
	if (compared == 0)
		failf("no cell was compared");
	if (tt_failures) {
		fprintf(stderr, "%d failure(s)\n", tt_failures);
		return 1;
	}
	printf("replay-exact: %u operations, %u message rounds with a second thread, %llu events (%u "
	       "pages handed to messages), %u checkpoints, "
	       "%zu cells compared: replay matches the engine\n",
	       ops, rounds, (unsigned long long)nevents, npages_to_msg, cp, compared);
	return 0;
}
