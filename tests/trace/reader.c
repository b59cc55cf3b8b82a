/* reader.c - the trace reader alone (trace/reader.h): no replay, no tables;
 * this test links only the reader and the writer.
 *
 * A synthetic trace of three threads, each with its own clock, sequence
 * numbers on its ordering events and its program order written into its
 * events, is read back:
 *   - merged in one call and in many small steps: the same order, every
 *     event delivered once, in index order, through begin/events/end;
 *   - the order is valid: each thread's events in program order, ordering
 *     events in sequence order;
 *   - random access, filtered scans and cursors from anywhere agree with
 *     what the sinks got;
 *   - fed as a stream through a socket in pieces of random sizes and merged
 *     after every poll: each event is decoded once however many polls it
 *     takes (the work counters show it), the order is valid, and a poll
 *     with nothing new costs nothing;
 *   - a damaged chunk stops the merge with a precise error, for good, and
 *     what came before stays readable.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reader.h"
#include "trace-test.h"

#define THREADS 3
#define KIND_SEQ RAV_EV_PAGE_ACQUIRE /* the ordering event used */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

/* The trace: thread t's i-th data store writes value i to a slot of page
 * 10 + t; its ordering events take the next global sequence number, the
 * first being first_seq.  A recording from the start numbers from 1, and a
 * live merge waits for that (FORMAT.md 8); a file's merge starts from the
 * smallest number in the threads' first chunks, whatever it is. */
static void build(tt_mem *m, unsigned per_thread, uint64_t first_seq, uint64_t *framed)
{
	ravt_writer *w = tt_writer(m, 700, false);
	REQUIRE(w);
	uint64_t clock[THREADS] = {5000, 5000, 5000}, seq = first_seq - 1, count[THREADS] = {0};
	rav_raw_event buf[64];
	*framed = 0;
	for (unsigned round = 0; round < per_thread / 16; round++) {
		for (unsigned t = 0; t < THREADS; t++) {
			size_t n = 0;
			/* thread 1's clock runs ahead: TSC order and sequence order disagree */
			clock[t] += 100 + (t == 1 ? 90 : 0) + rnd() % 50;
			bool ordering = rnd() % 4 == 0;
			buf[n++] = tt_ev(RAV_EV_TIME, 0, 0, clock[t], 0, ordering ? seq + 1 : 0);
			if (ordering)
				buf[n++] = tt_ev(KIND_SEQ, 0, t + 1, tt_addr(10 + t, 0, 0), 0, ++seq);
			while (n < 16) {
				unsigned cell = 1 + (unsigned)(n % 20);
				buf[n++] =
				    tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(10 + t, cell, 1), 0, count[t]++);
			}
			CHECK(ravt_writer_add(w, t + 1, buf, n) == 0);
			*framed += n;
		}
	}
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
}

/* ---- a sink that keeps what it gets and checks the protocol ---------------- */

typedef struct collector {
	ravt_sink sink;
	rav_event *ev;
	size_t n, cap;
	bool begun, final;
	unsigned deliveries, errors;
} collector;

static void c_begin(ravt_sink *sink, uint64_t from)
{
	collector *c = (collector *)sink;
	if (c->begun || c->final || from != c->n) {
		fprintf(stderr, "begin(%llu) after %zu events (begun %d, final %d)\n",
		        (unsigned long long)from, c->n, c->begun, c->final);
		c->errors++;
	}
	c->begun = true;
}

static void c_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	collector *c = (collector *)sink;
	if (!c->begun || n == 0)
		c->errors++;
	if (c->n + n > c->cap) {
		c->cap = (c->n + n) * 2;
		c->ev = realloc(c->ev, c->cap * sizeof *c->ev);
		REQUIRE(c->ev);
	}
	for (size_t i = 0; i < n; i++) {
		if (evs[i].index != c->n) {
			fprintf(stderr, "event %llu delivered as number %zu\n",
			        (unsigned long long)evs[i].index, c->n);
			c->errors++;
		}
		c->ev[c->n++] = evs[i];
	}
}

static void c_end(ravt_sink *sink, uint64_t upto, bool final)
{
	collector *c = (collector *)sink;
	if (!c->begun || upto != c->n)
		c->errors++;
	c->begun = false;
	c->final = final;
	c->deliveries++;
}

static const ravt_sink_ops collector_ops = {.begin = c_begin, .events = c_events, .end = c_end};

static void collector_init(collector *c)
{
	memset(c, 0, sizeof *c);
	c->sink.ops = &collector_ops;
}

/* Per-thread program order and sequence order. */
static void check_order(const collector *c, const char *what)
{
	uint64_t next[THREADS + 1] = {0}, last_seq = 0;
	for (size_t i = 0; i < c->n; i++) {
		const rav_event *e = &c->ev[i];
		if (e->thread < 1 || e->thread > THREADS) {
			fprintf(stderr, "%s: event %zu of unknown thread %u\n", what, i, e->thread);
			tt_failures++;
			return;
		}
		if (e->kind == RAV_EV_DATA_STORE) {
			if (e->c != next[e->thread]) {
				fprintf(stderr,
				        "%s: thread %u's store %llu comes where %llu was due (event %zu)\n",
				        what, e->thread, (unsigned long long)e->c,
				        (unsigned long long)next[e->thread], i);
				tt_failures++;
				return;
			}
			next[e->thread]++;
		} else if (e->kind == KIND_SEQ) {
			if (e->c <= last_seq) {
				fprintf(stderr, "%s: sequence %llu after %llu (event %zu)\n", what,
				        (unsigned long long)e->c, (unsigned long long)last_seq, i);
				tt_failures++;
				return;
			}
			last_seq = e->c;
		}
	}
}

static bool same_event(const rav_event *a, const rav_event *b)
{
	return a->index == b->index && a->kind == b->kind && a->thread == b->thread && a->aux == b->aux &&
	       a->x == b->x && a->a == b->a && a->b == b->b && a->c == b->c && a->time_ns == b->time_ns;
}

/* ---- files ------------------------------------------------------------------ */

static void test_file(const tt_mem *m, uint64_t framed)
{
	rav_trace_error err;
	ravt_reader *rd = ravt_reader_open_memory(m->buf.p, m->buf.len, &err);
	REQUIRE(rd);
	CHECK_EQ(ravt_reader_framed_events(rd), framed);
	CHECK_EQ(ravt_reader_merged(rd), 0);

	collector whole;
	collector_init(&whole);
	ravt_sink *sinks[] = {&whole.sink};
	CHECK_EQ(ravt_reader_merge(rd, sinks, 1, 0, &err), 0);
	CHECK_EQ(whole.n, framed);
	CHECK_EQ(ravt_reader_merged(rd), framed);
	CHECK(whole.final && whole.errors == 0 && whole.deliveries == 1);
	CHECK(ravt_reader_merge_final(rd));
	check_order(&whole, "one pass");
	/* nothing more: a second call delivers nothing and costs nothing */
	ravt_reader_work w0, w1;
	ravt_reader_get_work(rd, &w0);
	CHECK_EQ(ravt_reader_merge(rd, sinks, 1, 0, &err), 0);
	ravt_reader_get_work(rd, &w1);
	CHECK_EQ(w1.merge_events, w0.merge_events);
	CHECK_EQ(whole.deliveries, 1);
	CHECK_EQ(w0.merge_events, framed);

	/* In small steps: the same order, each event decoded once. */
	ravt_reader *rd2 = ravt_reader_open_memory(m->buf.p, m->buf.len, &err);
	REQUIRE(rd2);
	collector steps;
	collector_init(&steps);
	ravt_sink *sinks2[] = {&steps.sink};
	int rc, calls = 0;
	while ((rc = ravt_reader_merge(rd2, sinks2, 1, 777, &err)) == 1)
		calls++;
	CHECK_EQ(rc, 0);
	CHECK(calls > 10);
	CHECK_EQ(steps.n, framed);
	CHECK(steps.final && steps.errors == 0);
	for (size_t i = 0; i < steps.n && i < whole.n; i++) {
		if (!same_event(&steps.ev[i], &whole.ev[i])) {
			fprintf(stderr, "merged in steps, event %zu differs from one pass\n", i);
			tt_failures++;
			break;
		}
	}
	ravt_reader_work ws;
	ravt_reader_get_work(rd2, &ws);
	CHECK_EQ(ws.merge_events, framed);
	ravt_reader_close(rd2);
	free(steps.ev);

	/* Random access and cursors from anywhere. */
	rav_event ev;
	for (int i = 0; i < 300; i++) {
		uint64_t k = rnd() % framed;
		CHECK(ravt_reader_event_at(rd, k, &ev) && same_event(&ev, &whole.ev[k]));
	}
	CHECK(!ravt_reader_event_at(rd, framed, &ev));
	for (int i = 0; i < 20; i++) {
		uint64_t from = i == 0 ? framed : rnd() % framed;
		ravt_cursor cur;
		ravt_cursor_init(&cur, rd, from);
		uint64_t k = from;
		while (k < from + 3000 && ravt_cursor_next(&cur, &ev)) {
			if (!same_event(&ev, &whole.ev[k])) {
				fprintf(stderr, "cursor from %llu: event %llu differs\n",
				        (unsigned long long)from, (unsigned long long)k);
				tt_failures++;
				break;
			}
			k++;
		}
		CHECK(!cur.failed);
		CHECK(k == framed || k == from + 3000);
		ravt_cursor_fini(&cur);
	}

	/* Filtered scans against a plain filter of what the sink got. */
	rav_event_filter f = {.kinds = 1ull << KIND_SEQ, .thread = 2};
	uint64_t from = framed / 3;
	int64_t want = -1;
	for (uint64_t k = from; k < framed && want < 0; k++)
		if (ravt_filter_match(&f, &whole.ev[k]))
			want = (int64_t)k;
	CHECK_EQ(ravt_reader_scan(rd, from, framed, 1, &f, NULL), want);
	want = -1;
	for (uint64_t k = from; k-- > 0 && want < 0;)
		if (ravt_filter_match(&f, &whole.ev[k]))
			want = (int64_t)k;
	CHECK_EQ(ravt_reader_scan(rd, from, 0, -1, &f, NULL), want);
	rav_event_filter cell = {.thread = -1, .cell = rav_loc_make(11, 5, 0)};
	int64_t hit = ravt_reader_scan(rd, 0, framed, 1, &cell, &ev);
	CHECK(hit >= 0 && rav_loc_page(ev.a) == 11 && rav_loc_cell(ev.a) == 5);

	size_t mem = ravt_reader_memory(rd);
	CHECK(mem > 0 && mem < 64u << 20);
	ravt_reader_close(rd);
	free(whole.ev);
}

/* ---- streams ----------------------------------------------------------------- */

static void test_stream(const tt_mem *m, uint64_t framed)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	size_t off = 0;
	/* the header first: open waits for it */
	while (off < m->bounds[0]) {
		ssize_t w = write(sv[1], m->buf.p + off, m->bounds[0] - off);
		REQUIRE(w > 0);
		off += (size_t)w;
	}
	rav_trace_error err;
	ravt_reader *rd = ravt_reader_open_fd(sv[0], &err);
	if (!rd)
		fprintf(stderr, "open_fd: %s\n", err.message);
	REQUIRE(rd);
	CHECK(ravt_reader_is_stream(rd) && !ravt_reader_stream_ended(rd));
	collector c;
	collector_init(&c);
	ravt_sink *sinks[] = {&c.sink};
	unsigned polls = 0, idle_polls = 0;
	uint64_t max_per_poll = 0;
	for (;;) {
		if (off < m->buf.len) {
			/* pieces of random sizes, about 80 of them on average */
			size_t want = 1 + rnd() % (m->buf.len / 40 + 1);
			if (want > m->buf.len - off)
				want = m->buf.len - off;
			ssize_t w = write(sv[1], m->buf.p + off, want);
			if (w > 0)
				off += (size_t)w;
			if (off == m->buf.len)
				shutdown(sv[1], SHUT_WR);
		}
		ravt_reader_work before, after;
		ravt_reader_get_work(rd, &before);
		uint64_t merged0 = ravt_reader_merged(rd);
		int64_t n = ravt_reader_poll(rd, &err);
		CHECK(n >= 0);
		int rc = ravt_reader_merge(rd, sinks, 1, 0, &err);
		CHECK(rc >= 0);
		ravt_reader_get_work(rd, &after);
		uint64_t merged = ravt_reader_merged(rd) - merged0;
		/* what a poll decodes is what it merged: nothing is decoded twice */
		CHECK_EQ(after.merge_events - before.merge_events, merged);
		if (merged > max_per_poll)
			max_per_poll = merged;
		if (n == 0 && merged == 0) {
			idle_polls++;
			CHECK_EQ(after.merge_chunk_loads, before.merge_chunk_loads);
		}
		polls++;
		if (rc < 0 || (ravt_reader_stream_ended(rd) && c.final))
			break;
		if (polls > 1000000) {
			fprintf(stderr, "the stream never ended\n");
			tt_failures++;
			break;
		}
	}
	CHECK_EQ(c.n, framed);
	CHECK_EQ(ravt_reader_merged(rd), framed);
	CHECK(c.final && c.errors == 0);
	CHECK(c.deliveries > 10);
	CHECK(polls > 20);
	check_order(&c, "stream");
	ravt_reader_work w;
	ravt_reader_get_work(rd, &w);
	CHECK_EQ(w.merge_events, framed);
	rav_trace_info info;
	ravt_reader_get_info(rd, &info);
	CHECK(!info.truncated);
	CHECK_EQ(info.file_size, m->buf.len);
	/* random access over the spooled bytes agrees with the sink */
	rav_event ev;
	for (int i = 0; i < 200; i++) {
		uint64_t k = rnd() % framed;
		CHECK(ravt_reader_event_at(rd, k, &ev) && same_event(&ev, &c.ev[k]));
	}
	fprintf(stderr, "stream: %llu events over %u polls (%u idle), at most %llu merged by one poll\n",
	        (unsigned long long)framed, polls, idle_polls, (unsigned long long)max_per_poll);
	ravt_reader_close(rd);
	close(sv[0]);
	close(sv[1]);
	free(c.ev);
}

/* ---- damage ------------------------------------------------------------------ */

static void test_damage(const tt_mem *m, uint64_t framed)
{
	/* garble the payload of a chunk near the middle; the frame stays valid */
	size_t k = m->nbounds / 2;
	size_t at = m->bounds[k - 1];
	uint8_t *p = malloc(m->buf.len);
	REQUIRE(p);
	memcpy(p, m->buf.p, m->buf.len);
	ravt_frame f;
	memcpy(&f, p + at, sizeof f);
	REQUIRE(ravt_chunk_is_events(f.kind) && f.stored_len > 8);
	for (uint32_t i = 0; i < f.stored_len; i++)
		p[at + sizeof f + i] ^= 0x5a;
	rav_trace_error err;
	ravt_reader *rd = ravt_reader_open_memory(p, m->buf.len, &err);
	REQUIRE(rd);
	collector c;
	collector_init(&c);
	ravt_sink *sinks[] = {&c.sink};
	CHECK_EQ(ravt_reader_merge(rd, sinks, 1, 0, &err), -1);
	CHECK(err.code == RAV_TRACE_ECHUNK && err.offset == at && strstr(err.message, "checksum") != NULL);
	CHECK(c.final && c.errors == 0);
	CHECK(c.n > 0 && c.n < framed);
	CHECK_EQ(ravt_reader_merged(rd), c.n);
	CHECK(ravt_reader_merge_final(rd));
	rav_trace_error again;
	CHECK(ravt_reader_merge_failed(rd, &again) && again.offset == at);
	/* the error stays; nothing is delivered twice */
	size_t before = c.n;
	CHECK_EQ(ravt_reader_merge(rd, sinks, 1, 0, &err), -1);
	CHECK(c.n == before && err.offset == at);
	rav_event ev;
	CHECK(ravt_reader_event_at(rd, c.n - 1, &ev) && same_event(&ev, &c.ev[c.n - 1]));
	check_order(&c, "damaged");
	ravt_reader_close(rd);
	free(p);
	free(c.ev);
}

int main(void)
{
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	tt_mem m = {0}, from1 = {0};
	uint64_t framed, framed1;
	build(&m, small ? 4000 : 40000, 41, &framed);
	build(&from1, small ? 4000 : 40000, RAVT_SEQ_FIRST, &framed1);
	fprintf(stderr, "trace: %zu bytes, %llu events, %zu chunks\n", m.buf.len, (unsigned long long)framed,
	        m.nbounds - 1);
	test_file(&m, framed);
	fprintf(stderr, "file: %s\n", tt_failures ? "FAILED" : "ok");
	test_stream(&from1, framed1);
	fprintf(stderr, "stream: %s\n", tt_failures ? "FAILED" : "ok");
	test_damage(&m, framed);
	fprintf(stderr, "damage: %s\n", tt_failures ? "FAILED" : "ok");
	tt_mem_free(&m);
	tt_mem_free(&from1);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
