/* attach-exact.c - a recording made by attaching to a running program
 * replays exactly (issue #7), as replay-exact.c checks it for a recording
 * made from the start.
 *
 *	test-attach-exact [lossless|slow|access]
 *
 * The program runs before anyone attaches: a main thread and a worker pass
 * messages both ways and churn their heaps (allocations, shared references,
 * frees that compact, deferred frees, collections); a third thread sits
 * blocked in rav_recv (its heap can only be snapshotted on its behalf); a
 * message waits in a channel (it belongs to the channel).  Then a client
 * thread of the same process attaches through the socket, exactly as
 * `ravtrace attach -o` does, while both threads keep running.  At
 * checkpoints the program takes the engine's own view of every heap
 * (rav_heap_walk: pages, fills, cells, back-links, counters) and places a
 * mark.  After detaching, the file is opened, indexed and replayed; at each
 * checkpoint mark the replayed state must equal the engine's view cell by
 * cell.  The blocked thread and the waiting message are woken and received
 * halfway, so their snapshots are used.
 *
 * "slow": the client reads with pauses from a small queue, so events are
 * lost and the stream resynchronises: every checkpoint that arrived must
 * still match, for each heap snapshotted again since the last loss.
 * "lossless": the same slow client, in lossless mode: nothing is lost.
 * "access": the session also records memory accesses (reads then take their
 * safe points on the access-recording path): there must be ACCESS events.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "rav-record.h"
#include "ravioli.h"
#include "ravtrace.h"

#include "engine-view.h"
#include "workload.h"

static int failures;
static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

/* ---- the workload (each thread its own random stream) ------------------ */

#define NROOTS 200

typedef struct ctx {
	rav_heap *h;
	rav_root roots[NROOTS];
	uint64_t rng;
} ctx;

static _Thread_local ctx *cur;
static rav_type T_NODE, T_PAIR, T_LEAF;

static uint64_t rnd(void)
{
	return xorshift64(&cur->rng);
}

static rav_ref pick(rav_heap *h)
{
	return wl_pick(&cur->rng, h, cur->roots, NROOTS, 4, NULL);
}

static int ref_field(rav_type t)
{
	return wl_ref_field(&cur->rng, t);
}

static rav_type random_type(void)
{
	return wl_type(&cur->rng, T_NODE, T_PAIR, T_LEAF);
}

static void op(rav_heap *h)
{
	unsigned k = (unsigned)(rnd() % 100);
	if (k < 20) {
		rav_new_root(h, random_type(), cur->roots[rnd() % NROOTS], NULL);
	} else if (k < 45) {
		rav_ref p = pick(h);
		int f = rav_ref_is_null(p) ? -1 : ref_field(rav_type_of(h, p));
		if (f >= 0)
			rav_new_field(h, random_type(), p, f, NULL);
	} else if (k < 55) {
		rav_ref p = pick(h);
		int f = rav_ref_is_null(p) ? -1 : ref_field(rav_type_of(h, p));
		if (f >= 0)
			rav_store_ref(h, p, f, pick(h));
	} else if (k < 62) {
		rav_ref p = pick(h);
		int f = rav_ref_is_null(p) ? -1 : ref_field(rav_type_of(h, p));
		if (f >= 0)
			rav_clear_ref(h, p, f);
	} else if (k < 68) {
		rav_root_clear(h, cur->roots[rnd() % NROOTS]);
	} else if (k < 80) {
		rav_ref p = pick(h);
		if (!rav_ref_is_null(p) && rav_type_of(h, p) >= RAV_TYPE_FIRST_USER) {
			rav_type t = rav_type_of(h, p);
			for (int f = 0; f < 2; f++)
				if (rav_type_field_kind(t, f) == RAV_DATA)
					rav_store(h, p, f, rnd() & 0xffffff);
			rav_set_scalar(h, p, rnd() & 0xfff);
		}
	} else if (k < 86) {
		rav_set_free_mode(h, (rnd() & 1) ? RAV_FREE_DEFERRED : RAV_FREE_IMMEDIATE);
	} else if (k < 92) {
		rav_compact(h, 1 + rnd() % 8);
	} else if (k < 93) {
		rav_collect(h);
	} else {
		int r = (int)(rnd() % NROOTS);
		rav_root_free(h, cur->roots[r]);
		cur->roots[r] = rav_root_new(h);
	}
}

static rav_msg *build_msg(void)
{
	rav_msg *m = rav_msg_new();
	if (!m)
		return NULL;
	rav_heap *mh = rav_msg_heap(m);
	rav_ref top;
	if (rav_new_root(mh, T_NODE, rav_msg_root(m), &top) == RAV_OK) {
		rav_new_field(mh, T_LEAF, top, 0, NULL);
		top = rav_root_get(mh, rav_msg_root(m));
		rav_new_field(mh, T_PAIR, top, 1, NULL);
	}
	return m;
}

static rav_channel *to_worker, *to_main, *to_sleeper, *waiting;
static rav_heap *worker_heap, *sleeper_heap;

/* Like replay-exact: the worker answers as its last engine action of the
 * round, so once the main thread has the answer, the worker is quiet
 * (blocked in rav_recv) and every event of it is ordered before the main
 * thread's next ones. */
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
		if (rav_recv(to_worker, c->h, c->roots[r]) != RAV_OK)
			break;
		if (!rav_root_is_set(c->h, c->roots[r]))
			break; /* an empty message: stop */
		for (int k = (int)(rnd() % 30); k > 0; k--)
			op(c->h);
		rav_msg *m = build_msg();
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

/* Blocked in rav_recv from before the attach until woken halfway; then it
 * answers and blocks again until the end. */
static void *sleeper(void *arg)
{
	ctx *c = arg;
	cur = c;
	rav_thread_name("sleeper");
	c->h = rav_heap_self();
	for (int i = 0; i < NROOTS; i++)
		c->roots[i] = rav_root_new(c->h);
	for (int k = 0; k < 300; k++)
		op(c->h);
	__atomic_store_n(&sleeper_heap, c->h, __ATOMIC_RELEASE);
	rav_recv(to_sleeper, c->h, c->roots[0]);
	for (int k = 0; k < 50; k++)
		op(c->h);
	rav_msg *m = build_msg();
	if (m)
		rav_send(to_main, m);
	rav_recv(to_sleeper, c->h, c->roots[1]); /* the end */
	for (int i = 0; i < NROOTS; i++)
		rav_root_free(c->h, c->roots[i]);
	rav_thread_exit();
	return NULL;
}

/* ---- the client ---------------------------------------------------------- */

typedef struct client {
	rav_live_options opts;
	const char *path;
	bool slow;
	volatile int stop; /* set by main: detach */
	rav_live_status st;
	bool ok;
	pthread_t th;
	pthread_mutex_t lock;
	/* main asks (stats_asked++) for a statistics record; the client
	 * requests one and, once it has arrived, answers with what it says
	 * (stats_answered = stats_asked): events lost so far and bytes queued
	 * in the program.  Periodic statistics are off (opts.stats_ms 0), so
	 * the record that arrives after the request is its answer, written
	 * after every event main recorded before asking. */
	unsigned stats_asked, stats_answered;
	int64_t stats_lost, stats_queued;
} client;

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *client_main(void *arg)
{
	client *cl = arg;
	rav_trace_error err;
	rav_live_session *s = rav_live_attach(getpid(), &cl->opts, &err);
	if (!s) {
		failf("attach: %s", err.message);
		return NULL;
	}
	int fd = open(cl->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	bool detached = false, stats_pending = false;
	unsigned stats_requested = 0;
	uint64_t stats_base = 0;
	while (!cl->st.ended) {
		pthread_mutex_lock(&cl->lock);
		bool stop = cl->stop;
		unsigned asked = cl->stats_asked;
		pthread_mutex_unlock(&cl->lock);
		if (stop && !detached) {
			rav_live_detach(s);
			detached = true;
		}
		if (!detached && !stats_pending && asked != stats_requested) {
			stats_base = cl->st.stats_records;
			stats_requested = asked;
			stats_pending = rav_live_request_stats(s) == 0;
			if (!stats_pending)
				failf("client: cannot request statistics");
		}
		if (rav_live_pump(s, 50, fd, &cl->st, &err) < 0) {
			failf("client: %s", err.message);
			break;
		}
		if (stats_pending && cl->st.stats_records > stats_base) {
			stats_pending = false;
			pthread_mutex_lock(&cl->lock);
			cl->stats_lost = cl->st.stats[1];
			cl->stats_queued = cl->st.stats[3];
			cl->stats_answered = stats_requested;
			pthread_mutex_unlock(&cl->lock);
		}
		if (cl->slow && !detached)
			usleep(3000);
	}
	close(fd);
	rav_live_close(s);
	cl->ok = cl->st.ended && cl->st.end_known && cl->st.end_how == 1;
	return NULL;
}

/* Wait until the program has sent everything recorded so far (its queue
 * empty in a statistics record asked for now) and say how many events the
 * session has lost; false if that does not come within `seconds`. */
static bool client_caught_up(client *cl, double seconds, int64_t *lost)
{
	double t0 = mono_s();
	while (mono_s() - t0 < seconds) {
		pthread_mutex_lock(&cl->lock);
		unsigned ask = ++cl->stats_asked;
		pthread_mutex_unlock(&cl->lock);
		for (;;) {
			pthread_mutex_lock(&cl->lock);
			bool answered = cl->stats_answered == ask;
			int64_t queued = cl->stats_queued;
			*lost = cl->stats_lost;
			pthread_mutex_unlock(&cl->lock);
			if (answered) {
				if (queued == 0)
					return true;
				break;
			}
			if (mono_s() - t0 >= seconds)
				return false;
			usleep(1000);
		}
		usleep(2000);
	}
	return false;
}

static void client_stop(client *cl)
{
	pthread_mutex_lock(&cl->lock);
	cl->stop = 1;
	pthread_mutex_unlock(&cl->lock);
	pthread_join(cl->th, NULL);
}

#define MAXVIEWS 3

/* One message to the worker and its answer (once the main thread has it,
 * the worker is quiet: see worker()); false if that failed. */
static bool exchange(rav_heap *h)
{
	rav_msg *m = build_msg();
	if (!m || rav_send(to_worker, m) != RAV_OK) {
		failf("main: send failed: %s", rav_last_error());
		return false;
	}
	if (rav_recv(to_main, h, cur->roots[rnd() % NROOTS]) != RAV_OK) {
		failf("main: receive failed: %s", rav_last_error());
		return false;
	}
	return true;
}

/* The engine's view of every heap, and the mark that names it. */
static void checkpoint(rav_heap *h, engine_view *views, unsigned *nviews, unsigned cp)
{
	char text[32];
	engine_view_take(h, &views[0]);
	engine_view_take(worker_heap, &views[1]);
	engine_view_take(sleeper_heap, &views[2]); /* blocked in rav_recv: quiet */
	*nviews = 3;
	snprintf(text, sizeof text, "checkpoint %u", cp);
	rav_mark(text);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	bool slow = !strcmp(mode, "slow") || !strcmp(mode, "lossless");
	unsigned rounds = small ? 300 : 1500, before = small ? 60 : 300, every = 10;
	char path[] = "/tmp/attach-exact-XXXXXX";
	int tfd = mkstemp(path);
	if (tfd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(tfd);
	/* Named fields reach an attached client through the types piece
	 * (format 1.4): both, one, none. */
	T_NODE = rav_type_register_named("x-node", RAV_REF, "left", RAV_REF, "right");
	T_PAIR = rav_type_register_named("x-pair", RAV_REF, NULL, RAV_DATA, "count");
	T_LEAF = rav_type_register("x-leaf", RAV_DATA, RAV_DATA);
	static ctx mainc = {.rng = 0x9e3779b97f4a7c15ull}, workc = {.rng = 0x2545f4914f6cdd1dull},
	           sleepc = {.rng = 0x853c49e6748fea9bull};
	cur = &mainc;
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	mainc.h = h;
	for (int i = 0; i < NROOTS; i++)
		mainc.roots[i] = rav_root_new(h);
	to_worker = rav_channel_new();
	to_main = rav_channel_new();
	to_sleeper = rav_channel_new();
	waiting = rav_channel_new();
	pthread_t tw, ts;
	pthread_create(&tw, NULL, worker, &workc);
	pthread_create(&ts, NULL, sleeper, &sleepc);
	/* a message that waits in a channel from before the attach */
	rav_msg *pending = build_msg();
	rav_send(waiting, pending);

	client cl = {.path = path, .slow = slow, .lock = PTHREAD_MUTEX_INITIALIZER};
	if (!strcmp(mode, "lossless"))
		cl.opts.lossless = true;
	if (!strcmp(mode, "access"))
		cl.opts.access = true;
	if (slow)
		cl.opts.queue_kib = 256;

	/* (slow: the rounds after the lossy ones, see below) */
	enum { TAIL_TRIES = 20 };
	unsigned ncp = rounds / every + 2 + TAIL_TRIES, cp = 0;
	engine_view(*views)[MAXVIEWS] = calloc(ncp, sizeof *views);
	unsigned *nviews = calloc(ncp, sizeof *nviews);
	bool attached = false;
	bool ok = true;
	for (unsigned i = 1; i <= rounds && ok; i++) {
		if (i == before) {
			/* attach now, while the worker runs its round and the
			 * sleeper is blocked */
			while (!__atomic_load_n(&sleeper_heap, __ATOMIC_ACQUIRE))
				usleep(1000);
			pthread_create(&cl.th, NULL, client_main, &cl);
			while (!rav_record_active())
				usleep(1000);
			/* the sleeper is blocked in rav_recv: the session's sweep
			 * snapshots it on its behalf (wait for that, so that every
			 * checkpoint can compare it: a condition, with a deadline
			 * far beyond what a loaded machine takes) */
			double t0 = mono_s();
			bool swept = false;
			while (!swept && mono_s() - t0 < 120) {
				uint32_t waiting_ids[16];
				rav_census c;
				size_t np = rav_record_census(&c, waiting_ids, 16);
				swept = true;
				for (size_t k = 0; k < np; k++)
					swept &= waiting_ids[k] != rav_heap_id(sleeper_heap);
				if (!swept)
					usleep(1000);
			}
			if (!swept)
				failf("the session did not snapshot the blocked sleeper within 120 s");
			attached = true;
		}
		ok = exchange(h);
		if (ok && i == before + (rounds - before) / 2) {
			/* take the waiting message; wake the sleeper and take its answer */
			rav_recv(waiting, h, mainc.roots[rnd() % NROOTS]);
			rav_msg *w = build_msg();
			rav_send(to_sleeper, w);
			rav_recv(to_main, h, mainc.roots[rnd() % NROOTS]);
		}
		/* a checkpoint once the worker has had a round in the session (its
		 * heap is snapshotted by then) */
		if (attached && i > before + 1 && i % every == 0 && cp < ncp - TAIL_TRIES) {
			checkpoint(h, views[cp], &nviews[cp], cp);
			cp++;
		}
		for (int k = (int)(rnd() % 30); k > 0; k--)
			op(h);
	}
	/* slow: how many checkpoints arrive after the client's losses depends
	 * on how fast each side runs (small, on a loaded machine, one loss
	 * took every checkpoint: "no checkpoint could be compared").  So the
	 * rounds end with checkpoints that must arrive: each one made with the
	 * program's queue empty (a round is far less than the queue) and
	 * followed by a statistics record that counts no new loss, retried
	 * while a loss of the lossy rounds is still being resynchronised. */
	int clean_cp = -1;
	if (!strcmp(mode, "slow") && ok) {
		int64_t lost0 = 0, lost1 = 0;
		for (int k = 0; k < TAIL_TRIES && clean_cp < 0; k++) {
			if (!client_caught_up(&cl, 120, &lost0)) {
				failf("slow: the program's queue did not empty within 120 s");
				break;
			}
			if (!exchange(h))
				break;
			checkpoint(h, views[cp], &nviews[cp], cp);
			cp++;
			if (!client_caught_up(&cl, 120, &lost1)) {
				failf("slow: the program's queue did not empty within 120 s");
				break;
			}
			if (lost1 == lost0)
				clean_cp = (int)cp - 1;
		}
		if (clean_cp < 0)
			failf("slow: no checkpoint after the lossy rounds was sent without a loss (%d tries)",
			      TAIL_TRIES);
		else
			fprintf(stderr, "slow: checkpoint %d sent without a loss after the lossy rounds\n", clean_cp);
	}
	client_stop(&cl);
	if (!cl.ok)
		failf("the client did not end with a clean detach (how %d: %s)", cl.st.end_how,
		      cl.st.end_text);
	/* the end of the program */
	rav_msg *stop = rav_msg_new();
	rav_send(to_worker, stop);
	rav_msg *stop2 = rav_msg_new();
	rav_send(to_sleeper, stop2);
	pthread_join(tw, NULL);
	pthread_join(ts, NULL);
	fprintf(stderr, "%s: %llu events, %llu snapshots, %llu lost in %u losses, %u checkpoints\n",
	        mode[0] ? mode : "default", (unsigned long long)cl.st.events,
	        (unsigned long long)cl.st.snapshots, (unsigned long long)cl.st.lost, cl.st.nlosses, cp);
	if (!strcmp(mode, "lossless") && cl.st.lost)
		failf("lossless mode lost %llu events", (unsigned long long)cl.st.lost);
	if (!strcmp(mode, "slow") && !cl.st.nlosses)
		fprintf(stderr, "note: the slow client lost nothing this time (the machine kept up)\n");

	/* replay and compare */
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	if (!t) {
		failf("open: %s", err.message);
		goto out;
	}
	if (rav_trace_index(t, NULL, NULL, &err) != 0)
		failf("index: %s", err.message);
	static const struct {
		rav_type *type;
		const char *field[2];
	} named[] = {{&T_NODE, {"left", "right"}}, {&T_PAIR, {NULL, "count"}}, {&T_LEAF, {NULL, NULL}}};
	for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
		for (int f = 0; f < 2; f++) {
			const char *got = rav_trace_type_field_name(t, *named[i].type, f);
			const char *want = named[i].field[f];
			if (want ? !got || strcmp(got, want) != 0 : got != NULL)
				failf("type %s field %d: named \"%s\" in the trace, \"%s\" by the program",
				      rav_trace_type_name(t, *named[i].type), f, got ? got : "(none)",
				      want ? want : "(none)");
		}
	}
	rav_state *s = rav_state_new(t);
	unsigned checked = 0, skipped = 0;
	bool clean_seen = false;
	for (unsigned i = 0; i < rav_trace_mark_count(t); i++) {
		rav_trace_mark mk;
		if (!rav_trace_mark_at(t, i, &mk))
			continue;
		unsigned n;
		if (sscanf(mk.text, "checkpoint %u", &n) != 1 || n >= cp)
			continue;
		if (rav_state_seek(s, mk.event, &err) != 0) {
			failf("checkpoint %u: seek to event %llu: %s", n, (unsigned long long)mk.event,
			      err.message);
			break;
		}
		bool main_there = false;
		for (unsigned k = 0; k < nviews[n]; k++) {
			bool there = engine_view_compare((int)n, &views[n][k], s, &failures);
			if (k == 0)
				main_there = there;
			if (there)
				checked++;
			else
				skipped++;
		}
		/* The main thread makes engine calls all the time: it is always
		 * snapshotted by the time of its own mark.  The others may be
		 * missing only after a loss. */
		if (!main_there)
			failf("checkpoint %u: the main heap is not in the replayed state", n);
		if ((int)n == clean_cp)
			clean_seen = true;
		if (!cl.st.nlosses && nviews[n] && skipped)
			failf("checkpoint %u: a heap is missing from the replayed state although nothing was "
			      "lost",
			      n);
	}
	if (checked == 0)
		failf("no checkpoint could be compared");
	if (clean_cp >= 0 && !clean_seen)
		failf("checkpoint %d, sent without a loss after the lossy rounds, is not in the trace", clean_cp);
	uint64_t accesses = 0;
	rav_event_filter only = {.thread = -1, .kinds = (uint64_t)1 << RAV_EV_ACCESS};
	rav_event_iter it;
	rav_event ev;
	rav_event_iter_init(&it, t, &only);
	while (rav_event_iter_next(&it, &ev))
		accesses += ev.kind == RAV_EV_ACCESS;
	if (!strcmp(mode, "access") && !accesses)
		failf("access mode: no ACCESS event recorded");
	if (strcmp(mode, "access") && accesses)
		failf("%llu ACCESS events recorded although the session did not ask for them",
		      (unsigned long long)accesses);
	fprintf(stderr, "%u heap views compared, %u skipped (heaps not snapshotted again yet after a loss)\n",
	        checked, skipped);
	rav_state_free(s);
	rav_trace_close(t);
out:
	for (unsigned i = 0; i < cp; i++)
		for (unsigned k = 0; k < nviews[i]; k++)
			engine_view_free(&views[i][k]);
	free(views);
	free(nviews);
	rav_channel_free(to_worker);
	rav_channel_free(to_main);
	rav_channel_free(to_sleeper);
	rav_channel_free(waiting);
	for (int i = 0; i < NROOTS; i++)
		rav_root_free(h, mainc.roots[i]);
	if (failures) {
		fprintf(stderr, "%d failure(s); the trace is kept in %s\n", failures, path);
		return 1;
	}
	unlink(path);
	return 0;
}
