/* snapshot-follow.c - snapshot pieces stay usable while a followed trace
 * grows (TSan watches this: suite 'threads').
 *
 * A seek that replays a snapshot event asks the reader for the piece it
 * names (ravt_reader_piece) and installs it after the reader's lock is
 * released; meanwhile a poll on the indexing thread frames more SNAPSHOT
 * chunks, which grows the reader's table of pieces and its hash (the table
 * is reallocated several times here: hundreds of pieces, the table starts
 * at 64).  A piece handed out must therefore never live inside storage a
 * poll moves or frees: each one is allocated once and stays put.  If it
 * did move, the seeker would read freed memory (ASan, TSan and memcheck
 * report it) or a stale piece (the types it installs would be wrong).
 *
 * The trace: one thread that, again and again, takes a types snapshot (a
 * piece defining one new type), names it by a snapshot event, and does some
 * ordinary work (a cell of the new type allocated and written).  It is fed
 * to a trace opened on a socket in small slices with a poll after each,
 * while another thread seeks states at random indexed positions and checks
 * that each one sees the type the last snapshot before it installed.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"
#include "trace-private.h"
#include "trace-test.h"

enum { TYPE0 = 100, WORK = 40 };

typedef struct gen {
	ravt_writer *w;
	uint64_t tsc, seq;
	bool failed;
} gen;

static void add(gen *g, rav_raw_event e)
{
	if (!g->failed && ravt_writer_add(g->w, 1, &e, 1) != 0) {
		fprintf(stderr, "writer: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
}

/* An ordering event: TIME with the next sequence number, then the event. */
static void sync_ev(gen *g, unsigned kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b)
{
	g->tsc += 5;
	g->seq++;
	add(g, tt_ev(RAV_EV_TIME, 0, 0, g->tsc, 1000000000ull, g->seq));
	add(g, tt_ev(kind, aux, x, a, b, g->seq));
}

/* The trace of `pieces` snapshots (small chunks: a slice of the stream
 * frames a few of them at a time). */
static bool make_trace(tt_mem *mem, unsigned pieces)
{
	gen g = {.w = tt_writer(mem, 2048, false), .tsc = 2000};
	if (!g.w)
		return false;
	sync_ev(&g, RAV_EV_THREAD_START, 0, 1, 1001, 0);
	sync_ev(&g, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, 1, 0, 0);
	sync_ev(&g, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, 1, tt_addr(0, 0, 0), 0);
	for (unsigned k = 0; k < pieces && !g.failed; k++) {
		char name[32];
		int len = snprintf(name, sizeof name, "snapped-%u", k);
		ravt_snap_body b = {0};
		ravt_snap_head h = {.piece = RAV_SNAP_TYPES,
		                    .part = 0,
		                    .parts = 1,
		                    .items = 1,
		                    .piece_id = 1000 + k,
		                    .tsc = g.tsc,
		                    .heap_id = 0};
		if (!ravt_snap_put_type(&b, (uint16_t)(TYPE0 + k), 1, name, (size_t)len) ||
		    ravt_snap_write(g.w, &h, NULL, &b) != 0) {
			fprintf(stderr, "snapshot piece %u: %s\n", k, ravt_writer_error(g.w));
			g.failed = true;
		}
		ravt_snap_body_free(&b);
		sync_ev(&g, RAV_EV_SNAPSHOT, RAV_SNAP_TYPES, 0, 1000 + k, RAV_SNAP_OWNER);
		/* ordinary work: a cell of the new type whose field 0 names
		 * another cell (a reference only because the snapshot said so) */
		uint64_t holder = tt_addr(0, 1, 0), target = tt_addr(0, 2, 0);
		add(&g, tt_ev(RAV_EV_ALLOC, TYPE0 + k, 0, holder, 0, 0));
		add(&g, tt_ev(RAV_EV_ALLOC, TYPE0 + k, 0, target, 0, 0));
		add(&g, tt_ev(RAV_EV_REF_STORE, 0, 0, holder + 8, 0, target));
		for (unsigned i = 0; i < WORK; i++)
			add(&g, tt_ev(RAV_EV_DATA_STORE, 0, 0, target + 16, i, i + 1));
		add(&g, tt_ev(RAV_EV_REF_CLEAR, 0, 0, holder + 8, target, 0));
		add(&g, tt_ev(RAV_EV_FREE, TYPE0 + k, 0, target, 0, 0));
		add(&g, tt_ev(RAV_EV_TRIM, 0, 0, target, 0, 0));
		add(&g, tt_ev(RAV_EV_FREE, TYPE0 + k, 0, holder, 0, 0));
		add(&g, tt_ev(RAV_EV_TRIM, 0, 0, holder, 0, 0));
	}
	bool ok = !g.failed && ravt_writer_finish(g.w, 0) == 0;
	ravt_writer_free(g.w);
	return ok;
}

typedef struct seeker {
	rav_trace *t;
	const uint64_t *snap_at; /* index of each snapshot event, ascending */
	unsigned pieces;
	atomic_bool stop;
	unsigned seeks, checked, failures;
} seeker;

/* Seeks at random indexed positions; where a piece's holder cell is live
 * and names its target, the state must see that field as a reference: the
 * type installed by the last snapshot before the position says it is. */
static void *seek_loop(void *arg)
{
	seeker *s = arg;
	rav_state *st = rav_state_new(s->t);
	uint64_t x = 99;
	while (!atomic_load(&s->stop)) {
		uint64_t n = rav_trace_indexed_events(s->t);
		if (n == 0) {
			usleep(100);
			continue;
		}
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t at = n ? (x >> 11) % (n + 1) : 0;
		rav_trace_error err;
		if (rav_state_seek(st, at, &err) != 0) {
			/* only "not indexed that far yet" (replay may lag the merge) */
			if (err.code != RAV_TRACE_EREPLAY || !strstr(err.message, "indexed")) {
				fprintf(stderr, "seek to %llu: %s\n", (unsigned long long)at, err.message);
				s->failures++;
			}
			continue;
		}
		__atomic_fetch_add(&s->seeks, 1, __ATOMIC_RELAXED);
		/* inside a piece's work, the holder's field 0 is a reference
		 * (the type the last snapshot installed says so) */
		rav_state_cell c;
		if (rav_state_cell_at(st, 0, 1, &c) && c.state == RAV_CELL_LIVE && c.word[1] != 0) {
			unsigned before = 0;
			while (before < s->pieces && s->snap_at[before] < at)
				before++;
			if (before == 0 || c.type != TYPE0 + before - 1 || c.field_target[0] != c.word[1]) {
				fprintf(stderr,
				        "state at %llu (%u snapshots before it): holder of type %u, field 0 "
				        "0x%llx, its target 0x%llx\n",
				        (unsigned long long)at, before, c.type, (unsigned long long)c.word[1],
				        (unsigned long long)c.field_target[0]);
				s->failures++;
			}
			__atomic_fetch_add(&s->checked, 1, __ATOMIC_RELAXED);
		}
	}
	rav_state_free(st);
	return NULL;
}

int main(void)
{
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	unsigned pieces = small ? 300 : 1200;
	tt_mem mem = {0};
	REQUIRE(make_trace(&mem, pieces));

	/* where each snapshot event is: from the whole trace, opened as bytes */
	rav_trace_error err;
	rav_trace *whole = rav_trace_open_memory(mem.buf.p, mem.buf.len, &err);
	REQUIRE(whole);
	REQUIRE(rav_trace_index(whole, NULL, NULL, &err) == 0);
	CHECK(!ravt_trace_replay_error(whole, &err));
	uint64_t total = rav_trace_indexed_events(whole);
	uint64_t *snap_at = calloc(pieces, sizeof *snap_at);
	REQUIRE(snap_at);
	unsigned found = 0;
	rav_event_filter f = {.thread = -1};
	rav_event_iter it;
	rav_event_iter_init(&it, whole, &f);
	rav_event e;
	while (rav_event_iter_next(&it, &e))
		if (e.kind == RAV_EV_SNAPSHOT && found < pieces)
			snap_at[found++] = e.index;
	rav_event_iter_fini(&it);
	CHECK_EQ(found, pieces);

	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ravt_header h;
	memcpy(&h, mem.buf.p, sizeof h);
	size_t off = h.header_size;
	REQUIRE(write(sv[1], mem.buf.p, off) == (ssize_t)off);
	rav_trace *t = rav_trace_open_fd(sv[0], &err);
	if (!t)
		fprintf(stderr, "open_fd: %s\n", err.message);
	REQUIRE(t);
	seeker s = {.t = t, .snap_at = snap_at, .pieces = pieces};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, seek_loop, &s) == 0);

	/* slices of a few chunks, a poll after each: pieces are framed (and
	 * the table grows) while the seeker installs the ones before */
	REQUIRE(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	size_t slice = 1000;
	unsigned polls = 0;
	while (off < mem.buf.len) {
		size_t end = mem.buf.len - off < slice ? mem.buf.len : off + slice;
		while (off < end) {
			ssize_t wr = write(sv[1], mem.buf.p + off, end - off);
			if (wr > 0)
				off += (size_t)wr;
			CHECK(rav_trace_poll(t, &err) >= 0);
		}
		CHECK(rav_trace_poll(t, &err) >= 0);
		polls++;
		usleep(1000); /* the seeker's turn */
	}
	shutdown(sv[1], SHUT_WR);
	for (int k = 0; k < 1000 && !rav_trace_stream_ended(t); k++)
		rav_trace_poll(t, &err);
	CHECK(rav_trace_stream_ended(t));
	/* a few seeks on the whole trace too, and at least one checked: waited
	 * for (up to 60 s), not given 20 ms that a loaded machine (or TSan)
	 * may spend elsewhere */
	unsigned seeks_then = __atomic_load_n(&s.seeks, __ATOMIC_RELAXED);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (__atomic_load_n(&s.seeks, __ATOMIC_RELAXED) >= seeks_then + 20 &&
		    __atomic_load_n(&s.checked, __ATOMIC_RELAXED) > 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 60)
			break;
		usleep(1000);
	}
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	tt_failures += (int)s.failures;
	CHECK(s.seeks > 0);

	CHECK_EQ(rav_trace_indexed_events(t), total);
	CHECK(!ravt_trace_replay_error(t, &err));
	CHECK(s.checked > 0);
	/* the stream's states are the file's */
	rav_state *a = rav_state_new(whole), *b = rav_state_new(t);
	uint64_t y = 5;
	for (int i = 0; i < 40; i++) {
		y = y * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t at = (y >> 11) % (total + 1);
		CHECK(rav_state_seek(a, at, &err) == 0 && rav_state_seek(b, at, &err) == 0);
		rav_state_cell ca, cb;
		rav_state_cell_at(a, 0, 1, &ca);
		rav_state_cell_at(b, 0, 1, &cb);
		CHECK(memcmp(&ca, &cb, sizeof ca) == 0);
	}
	rav_state_free(a);
	rav_state_free(b);
	fprintf(stderr, "%u pieces, %llu events, %zu bytes in %u polls; %u seeks meanwhile (%u checked)\n",
	        pieces, (unsigned long long)total, mem.buf.len, polls, s.seeks, s.checked);
	rav_trace_close(t);
	close(sv[1]);
	rav_trace_close(whole);
	free(snap_at);
	tt_mem_free(&mem);
	return tt_failures ? 1 : 0;
}
