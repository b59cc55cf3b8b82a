/* live-order.c - a stream whose threads' chunks arrive out of sequence
 * order merges into a valid order however its bytes are cut into polls.
 *
 * Chunks of different threads arrive in the order the writer finishes them
 * (FORMAT.md section 8), not in the order of the sequence numbers inside: a
 * thread that fills its chunk fast sends numbers 37, 38, ... while the one
 * holding 4 ... 36 is still filling its own.  A live merge that started
 * from the smallest number it had seen merged the fast thread's ordering
 * events at once, before the ones they depend on (format-live under ASan,
 * about 1 run in 10: a consumer's page hand-off came before the producer's
 * acquire of that page).
 *
 * Here a synthetic program of four threads passes pages from one to another
 * (a release, then another thread's acquire: replay checks that order) and
 * its chunks are flushed so that the thread holding the smallest pending
 * number always comes last.  The stream is fed to rav_trace_open_fd cut at
 * every chunk boundary (one cut per run), at a byte inside every chunk,
 * chunk by chunk with a poll after each, and in pieces of random sizes.
 * Every run must replay without error, keep each thread's program order and
 * the sequence order, and end in the state the same bytes read as a file
 * give.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "trace-private.h"
#include "trace-test.h"

#define THREADS 4
#define SHARED 4           /* pages passed between threads: 2 .. 2 + SHARED - 1 */
#define HOME(t) (10 + (t)) /* thread t's heap page */
#define TYPE 17

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

typedef struct prog {
	ravt_writer *w;
	uint64_t seq, tsc;
	uint64_t stores[THREADS + 1];  /* data stores of each thread (their values) */
	uint64_t pending[THREADS + 1]; /* smallest sequence number not flushed, 0: none */
	uint32_t owner[SHARED];        /* heap owning shared page i, 0: the pool */
} prog;

static void add(prog *p, uint32_t t, const rav_raw_event *ev, size_t n)
{
	REQUIRE(ravt_writer_add(p->w, t, ev, n) == 0);
}

/* An ordering event with its TIME, as the engine writes them. */
static void ordered(prog *p, uint32_t t, unsigned kind, uint32_t aux, uint64_t a)
{
	uint64_t s = ++p->seq;
	p->tsc += 7;
	rav_raw_event ev[2] = {tt_ev(RAV_EV_TIME, 0, 0, p->tsc, 0, s), tt_ev(kind, aux, t, a, 0, s)};
	if (kind == RAV_EV_HEAP_NEW)
		ev[1].a = t;
	add(p, t, ev, 2);
	if (!p->pending[t])
		p->pending[t] = s;
}

/* Work in the thread's own page: a cell allocated (the hole cell 1 leaves,
 * after the first time), a value stored, the cell freed. */
static void local(prog *p, uint32_t t)
{
	p->tsc += 5;
	rav_raw_event ev[4] = {
	    tt_ev(RAV_EV_TIME, 0, 0, p->tsc, 0, 0),
	    tt_ev(RAV_EV_ALLOC, TYPE, 0, tt_addr(HOME(t), 1, 0), 0, 0),
	    tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(HOME(t), 1, 2), 0, p->stores[t]++),
	    tt_ev(RAV_EV_FREE, TYPE, 0, tt_addr(HOME(t), 1, 0), 0, 0),
	};
	add(p, t, ev, 4);
}

/* The threads with unflushed events, the one holding the smallest pending
 * number last: the stream then always shows larger numbers first. */
static void flush_adversarially(prog *p)
{
	for (;;) {
		uint32_t pick = 0;
		for (uint32_t t = 1; t <= THREADS; t++)
			if (p->pending[t] && (!pick || p->pending[t] > p->pending[pick]))
				pick = t;
		if (!pick)
			break;
		REQUIRE(ravt_writer_flush_thread(p->w, pick) == 0);
		p->pending[pick] = 0;
	}
	/* threads with plain events only, in any order */
	for (uint32_t t = 1; t <= THREADS; t++)
		REQUIRE(ravt_writer_flush_thread(p->w, t) == 0);
}

static void build(tt_mem *m)
{
	prog p = {.tsc = 2000};
	p.w = tt_writer(m, 1 << 20, false); /* chunks end when flushed, never by size */
	REQUIRE(p.w);
	/* Each thread starts, and shared page 0 goes from one to the next
	 * (the last keeps it): merged out of sequence order, a thread would
	 * acquire it while another owns it. */
	for (uint32_t t = 1; t <= THREADS; t++) {
		ordered(&p, t, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 0);
		ordered(&p, t, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, tt_addr(HOME(t), 0, 0));
		ordered(&p, t, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_ROOT, tt_addr(2, 0, 0));
		if (t < THREADS)
			ordered(&p, t, RAV_EV_PAGE_RELEASE, 0, tt_addr(2, 0, 0));
	}
	p.owner[0] = THREADS;
	for (unsigned step = 0; step < 1500; step++) {
		uint32_t t = 1 + (uint32_t)(rnd() % THREADS);
		unsigned i = (unsigned)(rnd() % SHARED);
		if (rnd() % 4 == 0 && (p.owner[i] == 0 || p.owner[i] == t)) {
			/* a shared page taken from the pool or given back to it
			 * (a root page: the thread's heap top stays in its own) */
			if (p.owner[i] == 0)
				ordered(&p, t, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_ROOT, tt_addr(2 + i, 0, 0));
			else
				ordered(&p, t, RAV_EV_PAGE_RELEASE, 0, tt_addr(2 + i, 0, 0));
			p.owner[i] = p.owner[i] ? 0 : t;
		} else {
			local(&p, t);
		}
		if (step % 50 == 49)
			flush_adversarially(&p);
	}
	flush_adversarially(&p);
	REQUIRE(ravt_writer_finish(p.w, 0) == 0);
	ravt_writer_free(p.w);
}

/* ---- checks ------------------------------------------------------------------ */

typedef struct outcome {
	uint64_t events;
	rav_state_totals totals;
} outcome;

/* Replay, program and sequence order, and the final state of an indexed trace. */
static bool check_trace(rav_trace *t, const char *what, outcome *out)
{
	int before = tt_failures;
	rav_trace_error err;
	if (ravt_trace_replay_error(t, &err)) {
		fprintf(stderr, "%s: %s\n", what, err.message);
		tt_failures++;
	}
	out->events = rav_trace_indexed_events(t);
	uint64_t next[THREADS + 1] = {0}, last_seq = 0;
	for (uint64_t i = 0; i < out->events && tt_failures == before; i++) {
		rav_event e;
		CHECK(rav_trace_event_at(t, i, &e));
		if (e.thread < 1 || e.thread > THREADS) {
			fprintf(stderr, "%s: event %llu of unknown thread %u\n", what, (unsigned long long)i,
			        e.thread);
			tt_failures++;
		} else if (e.kind == RAV_EV_DATA_STORE) {
			if (e.c != next[e.thread]) {
				fprintf(stderr,
				        "%s: thread %u's store %llu at event %llu, where %llu was due\n",
				        what, e.thread, (unsigned long long)e.c, (unsigned long long)i,
				        (unsigned long long)next[e.thread]);
				tt_failures++;
			}
			next[e.thread]++;
		} else if (ravt_kind_is_ordering(e.kind)) {
			if (e.c != last_seq + 1) {
				fprintf(stderr, "%s: sequence number %llu at event %llu, after %llu\n", what,
				        (unsigned long long)e.c, (unsigned long long)i,
				        (unsigned long long)last_seq);
				tt_failures++;
			}
			last_seq = e.c;
		}
	}
	rav_state *s = rav_state_new(t);
	REQUIRE(s);
	if (rav_state_seek(s, out->events, &err) != 0) {
		fprintf(stderr, "%s: seek to the end: %s\n", what, err.message);
		tt_failures++;
	}
	rav_state_get_totals(s, &out->totals);
	rav_state_free(s);
	return tt_failures == before;
}

/* ---- feeding the stream ------------------------------------------------------ */

/* Writes what the socket takes, polling meanwhile, until `end`; then polls
 * until a poll brings nothing. */
static void feed_to(rav_trace *t, int fd, const tt_mem *m, size_t *off, size_t end)
{
	rav_trace_error err;
	for (int k = 0; k < 1000000; k++) {
		if (*off < end) {
			ssize_t w = write(fd, m->buf.p + *off, end - *off);
			if (w > 0)
				*off += (size_t)w;
		}
		int64_t r = rav_trace_poll(t, &err);
		if (r < 0) {
			fprintf(stderr, "poll: %s\n", err.message);
			tt_failures++;
			return;
		}
		if (*off == end && r == 0)
			return;
	}
	REQUIRE(!"the reader never took the piece");
}

/* The stream polled after each of cuts[0 .. n) (byte offsets, increasing)
 * and at its end. */
static void run(const tt_mem *m, const size_t *cuts, size_t n, const char *what, const outcome *file)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	size_t off = 0;
	while (off < m->bounds[0]) { /* the header: open waits for it */
		ssize_t w = write(sv[1], m->buf.p + off, m->bounds[0] - off);
		REQUIRE(w > 0);
		off += (size_t)w;
	}
	rav_trace_error err;
	rav_trace *t = rav_trace_open_fd(sv[0], &err);
	if (!t)
		fprintf(stderr, "open_fd: %s\n", err.message);
	REQUIRE(t);
	for (size_t i = 0; i < n; i++)
		if (cuts[i] > off)
			feed_to(t, sv[1], m, &off, cuts[i]);
	feed_to(t, sv[1], m, &off, m->buf.len);
	shutdown(sv[1], SHUT_WR);
	for (int k = 0; k < 100000 && !rav_trace_stream_ended(t); k++)
		CHECK(rav_trace_poll(t, &err) >= 0);
	CHECK(rav_trace_stream_ended(t));
	CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
	outcome o;
	if (check_trace(t, what, &o)) {
		CHECK_EQ(o.events, file->events);
		if (memcmp(&o.totals, &file->totals, sizeof o.totals) != 0) {
			fprintf(stderr, "%s: the final state differs from the file's\n", what);
			tt_failures++;
		}
	}
	rav_trace_close(t);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	tt_mem m = {0};
	build(&m);
	/* bounds: after the header, after every chunk (the last: the trailer) */
	REQUIRE(m.nbounds > 20);

	rav_trace_error err;
	rav_trace *file = rav_trace_open_memory(m.buf.p, m.buf.len, &err);
	REQUIRE(file);
	REQUIRE(rav_trace_index(file, NULL, NULL, &err) == 0);
	outcome whole;
	REQUIRE(check_trace(file, "file", &whole));
	REQUIRE(whole.events > 5000 && whole.totals.pages > 0);
	rav_trace_close(file);

	char what[64];
	unsigned runs = 0;
	/* one cut at each chunk boundary, and one a byte into each chunk */
	for (size_t i = 1; i + 1 < m.nbounds; i++) {
		size_t cut = m.bounds[i];
		snprintf(what, sizeof what, "cut after chunk %zu", i);
		run(&m, &cut, 1, what, &whole);
		cut = m.bounds[i] + 1;
		snprintf(what, sizeof what, "cut inside chunk %zu", i + 1);
		run(&m, &cut, 1, what, &whole);
		runs += 2;
	}
	/* a poll after every chunk */
	run(&m, m.bounds, m.nbounds, "chunk by chunk", &whole);
	/* pieces of random sizes */
	for (int r = 0; r < 8; r++) {
		size_t cuts[64], n = 0, at = m.bounds[0];
		while (n < 64) {
			at += 1 + rnd() % (m.buf.len / 16);
			if (at >= m.buf.len)
				break;
			cuts[n++] = at;
		}
		snprintf(what, sizeof what, "random pieces %d", r);
		run(&m, cuts, n, what, &whole);
	}
	runs += 9;
	fprintf(stderr, "%llu events, %zu chunks, %zu bytes; %u stream runs\n",
	        (unsigned long long)whole.events, m.nbounds - 1, m.buf.len, runs);
	tt_mem_free(&m);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
