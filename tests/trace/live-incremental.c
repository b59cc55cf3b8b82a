/* live-incremental.c - a growing trace is indexed incrementally
 * (rav_trace_open_fd + rav_trace_poll).
 *
 * A synthetic heap workload (replay-gen.c) is written to a file, then fed
 * to a trace opened on a socket in pieces of equal size, with a poll after
 * each piece, as a viewer following a running program does.  The test
 * counts work, not time:
 *   - every event is decoded once by the merge and applied once by replay,
 *     however many polls it takes: what a poll decodes and applies is what
 *     it brought, so the work per poll does not grow with the trace (the
 *     last polls cost what the first ones did, where re-merging from the
 *     start would cost the whole prefix each time);
 *   - a poll with nothing new does no work and does not block;
 *   - the reader holds the stream's bytes in its spool, not its heap: its
 *     memory stays that of the same trace opened as a file;
 *   - the result is the trace the file gives: the same states at random
 *     events, the same series, keyframes on the same grid;
 *   - meanwhile another thread seeks states, reads tables and series of the
 *     prefix indexed so far (the viewer's side; TSan watches this).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay-gen.h"
#include "trace-private.h"
#include "trace-test.h"

typedef struct watcher {
	rav_trace *t;
	atomic_bool stop;
	unsigned seeks, refused, failures; /* (added to tt_failures after the join) */
} watcher;

/* The viewer's side: whatever prefix is indexed reads consistently. */
static void *watch(void *arg)
{
	watcher *w = arg;
	rav_state *s = rav_state_new(w->t);
	uint64_t x = 77;
	while (!atomic_load(&w->stop)) {
		uint64_t n = rav_trace_indexed_events(w->t);
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t at = n ? (x >> 11) % (n + 1) : 0;
		rav_trace_error err;
		if (rav_state_seek(s, at, &err) == 0) {
			w->seeks++;
			if (rav_state_position(s) != at) {
				fprintf(stderr, "watcher: seek to %llu landed at %llu\n",
				        (unsigned long long)at, (unsigned long long)rav_state_position(s));
				w->failures++;
			}
		} else {
			/* only "not indexed that far yet" (replay may lag the reader by a batch) */
			if (err.code != RAV_TRACE_EREPLAY || !strstr(err.message, "indexed")) {
				fprintf(stderr, "watcher: seek to %llu: %s\n", (unsigned long long)at,
				        err.message);
				w->failures++;
			}
			w->refused++;
		}
		double bins[32];
		rav_trace_series(w->t, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 32, bins);
		rav_trace_thread th;
		for (unsigned i = 0; i < rav_trace_thread_count(w->t); i++)
			rav_trace_thread_at(w->t, i, &th);
		rav_trace_info info;
		rav_trace_get_info(w->t, &info);
		usleep(200);
	}
	rav_state_free(s);
	return NULL;
}

static void write_all(int fd, const uint8_t *p, size_t n) /* (blocking) */
{
	while (n) {
		ssize_t w = write(fd, p, n);
		REQUIRE(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

int main(void)
{
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	char path[] = "/tmp/live-incremental-XXXXXX";
	int tmp = mkstemp(path);
	REQUIRE(tmp >= 0);
	close(tmp);
	gen_params gp = {.path = path,
	                 .events = small ? 300000 : 1500000,
	                 .live_target = 20000,
	                 .threads = 1,
	                 .seed = 11,
	                 .access = true};
	uint64_t written;
	REQUIRE(gen_trace(&gp, &written) == 0);
	size_t len;
	uint8_t *bytes = tt_slurp(path, &len);
	rav_trace_error err;
	rav_trace *file = rav_trace_open(path, &err);
	unlink(path);
	REQUIRE(file);
	REQUIRE(rav_trace_index(file, NULL, NULL, &err) == 0);
	uint64_t total = rav_trace_indexed_events(file);

	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ravt_header h;
	memcpy(&h, bytes, sizeof h);
	write_all(sv[1], bytes, h.header_size);
	rav_trace *t = rav_trace_open_fd(sv[0], &err);
	if (!t)
		fprintf(stderr, "open_fd: %s\n", err.message);
	REQUIRE(t);
	watcher w = {.t = t};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, watch, &w) == 0);

	/* Pieces of equal size, a poll after each (and an idle poll now and then). */
	enum { PIECES = 60 };
	size_t piece = (len - h.header_size) / PIECES + 1, off = h.header_size;
	uint64_t work_of[PIECES + 2] = {0}, new_of[PIECES + 2] = {0};
	unsigned npoll = 0;
	ravt_trace_work before, after;
	REQUIRE(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	while (off < len) {
		size_t end = len - off < piece ? len : off + piece;
		ravt_trace_get_work(t, &before);
		uint64_t merged0 = rav_trace_indexed_events(t);
		/* the piece goes in as the socket takes it, polled meanwhile;
		 * then polled until the reader has all of it */
		for (int k = 0; k < 100000; k++) {
			if (off < end) {
				ssize_t wr = write(sv[1], bytes + off, end - off);
				if (wr > 0)
					off += (size_t)wr;
				if (off == len)
					shutdown(sv[1], SHUT_WR);
			}
			int64_t r = rav_trace_poll(t, &err);
			CHECK(r >= 0);
			if (off == end && r == 0)
				break;
		}
		ravt_trace_get_work(t, &after);
		uint64_t merged = rav_trace_indexed_events(t) - merged0;
		uint64_t decoded = after.reader.merge_events - before.reader.merge_events;
		uint64_t applied = after.replay_events - before.replay_events;
		/* what a poll decodes and applies is what it brought */
		CHECK_EQ(decoded, merged);
		CHECK_EQ(applied, merged);
		if (npoll < PIECES + 2) {
			work_of[npoll] = decoded + applied;
			new_of[npoll] = merged;
		}
		npoll++;
		/* nothing new: no work, no wait */
		ravt_trace_get_work(t, &before);
		CHECK_EQ(rav_trace_poll(t, &err), 0);
		ravt_trace_get_work(t, &after);
		CHECK_EQ(after.reader.merge_events, before.reader.merge_events);
		CHECK_EQ(after.replay_events, before.replay_events);
	}
	for (int k = 0; k < 1000 && !rav_trace_stream_ended(t); k++)
		rav_trace_poll(t, &err);
	CHECK(rav_trace_stream_ended(t));
	atomic_store(&w.stop, true);
	pthread_join(th, NULL);
	tt_failures += (int)w.failures;

	CHECK_EQ(rav_trace_indexed_events(t), total);
	ravt_trace_work all;
	ravt_trace_get_work(t, &all);
	CHECK_EQ(all.reader.merge_events, total); /* each event decoded once */
	CHECK_EQ(all.replay_events, total);       /* and applied once */
	CHECK(!ravt_trace_replay_error(t, &err));
	/* the work of a late poll is that of an early one, per event and in all */
	uint64_t early = 0, late = 0, early_new = 0, late_new = 0;
	unsigned q = npoll < PIECES ? npoll / 4 : PIECES / 4;
	for (unsigned i = 1; i <= q; i++) {
		early += work_of[i];
		early_new += new_of[i];
		late += work_of[npoll - i];
		late_new += new_of[npoll - i];
	}
	CHECK(early_new > 0 && late_new > 0);
	CHECK_EQ(early, 2 * early_new);
	CHECK_EQ(late, 2 * late_new);
	CHECK(late < 2 * early + 10000);

	/* the same trace as the file */
	rav_trace_info fi, si;
	rav_trace_get_info(file, &fi);
	rav_trace_get_info(t, &si);
	CHECK_EQ(si.events, fi.events);
	CHECK_EQ(si.file_size, fi.file_size);
	CHECK(!si.truncated);
	CHECK_EQ(si.keyframes, fi.keyframes);
	CHECK(si.keyframes >= 1);
	rav_state *a = rav_state_new(file), *b = rav_state_new(t);
	uint64_t x = 5;
	for (int i = 0; i < (small ? 6 : 20); i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t at = (x >> 11) % (total + 1);
		CHECK(rav_state_seek(a, at, &err) == 0 && rav_state_seek(b, at, &err) == 0);
		rav_state_totals ta, tb;
		rav_state_get_totals(a, &ta);
		rav_state_get_totals(b, &tb);
		if (memcmp(&ta, &tb, sizeof ta) != 0) {
			fprintf(stderr, "the state at event %llu differs between file and stream\n",
			        (unsigned long long)at);
			tt_failures++;
		}
	}
	rav_state_free(a);
	rav_state_free(b);
	double fb[50], sb[50];
	CHECK(rav_trace_series(file, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 50, fb));
	CHECK(rav_trace_series(t, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 50, sb));
	CHECK(memcmp(fb, sb, sizeof fb) == 0);
	CHECK(rav_trace_series(file, RAV_SERIES_EVENTS, -1, 0, 0, 50, fb));
	CHECK(rav_trace_series(t, RAV_SERIES_EVENTS, -1, 0, 0, 50, sb));
	CHECK(memcmp(fb, sb, sizeof fb) == 0);
	/* the stream's bytes are spooled, not held by the reader */
	size_t mem_file = ravt_reader_memory(ravt_trace_reader(file));
	size_t mem_stream = ravt_reader_memory(ravt_trace_reader(t));
	if (mem_stream > 2 * mem_file + (1u << 20)) {
		fprintf(stderr, "the stream's reader holds %zu bytes, the file's %zu (trace %zu bytes)\n",
		        mem_stream, mem_file, len);
		tt_failures++;
	}
	fprintf(stderr,
	        "%llu events, %zu bytes in %u polls; work per poll early %llu, late %llu; %u seeks meanwhile "
	        "(%u refused); reader memory: stream %zu, file %zu\n",
	        (unsigned long long)total, len, npoll, (unsigned long long)(q ? early / q : 0),
	        (unsigned long long)(q ? late / q : 0), w.seeks, w.refused, mem_stream, mem_file);
	rav_trace_close(t);
	rav_trace_close(file);
	close(sv[0]);
	close(sv[1]);
	free(bytes);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
