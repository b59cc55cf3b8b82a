/* live-follow.c - rav_state_seek_head: the heap at the newest event of a
 * growing trace, copied from the indexer instead of replayed.
 *
 * A synthetic workload (replay-gen.c, two threads handing pages over) is
 * fed to a trace opened on a socket in pieces; after each piece is polled
 * in, a state jumps to the head.  The test counts work, not time:
 *   - the head state is at the newest event indexed and replayed nothing
 *     (ravt_state_seek_replayed 0, no event applied beyond indexing's own:
 *     the events are applied once however often the view jumps);
 *   - it is the heap an ordinary seek to the same event builds (totals,
 *     heaps and their page lists, every page's cells);
 *   - it stays that heap while indexing goes on writing the model it was
 *     copied from (copy on write): another thread reads it meanwhile and
 *     its digest is checked against a fresh seek afterwards (TSan watches
 *     the shared blocks);
 *   - the last jump, after the stream ended, shows the final state.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay-gen.h"
#include "replay.h"
#include "trace-private.h"
#include "trace-test.h"

/* A digest of what a state shows: totals, heaps, page lists, cell types. */
static uint64_t digest(const rav_state *s, uint32_t cpp)
{
	uint64_t h = 1469598103934665603ull;
#define MIX(v) (h = (h ^ (uint64_t)(v)) * 1099511628211ull)
	rav_state_totals t;
	rav_state_get_totals(s, &t);
	MIX(t.live_cells);
	MIX(t.ref_cells);
	MIX(t.dead_cells);
	MIX(t.pages);
	MIX(t.pool_pages);
	MIX(t.allocs);
	MIX(t.frees);
	MIX(t.moves);
	MIX(t.fixups);
	MIX(t.handoffs);
	MIX(rav_state_position(s));
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		rav_state_heap hp;
		if (!rav_state_heap_at(s, i, &hp))
			continue;
		MIX(hp.id);
		MIX(hp.page_count);
		MIX(hp.live_cells);
		for (uint32_t k = 0; k < hp.page_count; k++)
			MIX(hp.pages[k]);
	}
	uint16_t *types = malloc(sizeof *types * cpp);
	uint32_t span = rav_state_page_span(s);
	for (uint32_t p = 0; p < span; p++) {
		if (!rav_state_page_types(s, p, types))
			continue;
		MIX(p);
		for (uint32_t c = 0; c < cpp; c++)
			MIX(types[c]);
		rav_state_cell cell;
		for (uint32_t c = 0; c < cpp; c += 7)
			if (rav_state_cell_at(s, p, c, &cell))
				MIX(cell.state ^ (uint64_t)cell.type << 8 ^ cell.word[0] * 31 ^ cell.word[1] * 131 ^ cell.word[2] * 1313 ^ cell.word[3] * 13131);
	}
	free(types);
#undef MIX
	return h;
}

typedef struct reading {
	const rav_state *s;
	uint32_t cpp;
	uint64_t digest;
} reading;

static void *read_state(void *arg)
{
	reading *r = arg;
	r->digest = digest(r->s, r->cpp);
	return NULL;
}

int main(void)
{
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	char path[] = "/tmp/live-follow-XXXXXX";
	int tmp = mkstemp(path);
	REQUIRE(tmp >= 0);
	close(tmp);
	gen_params gp = {.path = path,
	                 .events = small ? 200000 : 800000,
	                 .live_target = 20000,
	                 .threads = 2,
	                 .seed = 23};
	uint64_t written;
	REQUIRE(gen_trace(&gp, &written) == 0);
	size_t len;
	uint8_t *bytes = tt_slurp(path, &len);
	unlink(path);

	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	ravt_header hd;
	memcpy(&hd, bytes, sizeof hd);
	size_t off = 0;
	while (off < hd.header_size) {
		ssize_t w = write(sv[1], bytes + off, hd.header_size - off);
		REQUIRE(w > 0);
		off += (size_t)w;
	}
	rav_trace_error err;
	rav_trace *t = rav_trace_open_fd(sv[0], &err);
	REQUIRE(t);
	REQUIRE(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	uint32_t cpp = info.cells_per_page;
	REQUIRE(cpp > 0);

	rav_state *head = rav_state_new(t), *ref = rav_state_new(t), *kept = rav_state_new(t);
	REQUIRE(head && ref && kept);
	enum { PIECES = 24 };
	size_t piece = (len - hd.header_size) / PIECES + 1;
	unsigned jumps = 0, checked = 0;
	uint64_t kept_at = 0, kept_digest = 0;
	for (;;) {
		size_t end = len - off < piece ? len : off + piece;
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
		bool ended = off == len;
		for (int k = 0; ended && k < 1000 && !rav_trace_stream_ended(t); k++)
			rav_trace_poll(t, &err);
		if (ended)
			CHECK(rav_trace_stream_ended(t));
		/* The state kept from the last round: unchanged by this round's
		 * indexing (read by another thread while this one polled). */
		if (kept_at) {
			CHECK(rav_state_seek(ref, kept_at, &err) == 0);
			CHECK_EQ(digest(ref, cpp), kept_digest);
			checked++;
		}
		uint64_t n = rav_trace_indexed_events(t);
		ravt_trace_work before, after;
		ravt_trace_get_work(t, &before);
		CHECK(rav_state_seek_head(head, &err) == 0);
		ravt_trace_get_work(t, &after);
		CHECK_EQ(rav_state_position(head), n);
		CHECK_EQ(ravt_state_seek_replayed(head), 0);
		CHECK_EQ(after.replay_events, before.replay_events);
		CHECK_EQ(after.reader.merge_events, before.reader.merge_events);
		CHECK(rav_state_seek(ref, n, &err) == 0);
		uint64_t dh = digest(head, cpp), dr = digest(ref, cpp);
		if (dh != dr) {
			fprintf(stderr, "the head state at event %llu differs from a seek there\n",
			        (unsigned long long)n);
			tt_failures++;
		}
		jumps++;
		if (ended)
			break;
		/* head becomes the kept one; the next piece is polled in while
		 * another thread reads it */
		rav_state *x = kept;
		kept = head;
		head = x;
		kept_at = n;
		kept_digest = dh;
		reading rd = {.s = kept, .cpp = cpp};
		pthread_t th;
		REQUIRE(pthread_create(&th, NULL, read_state, &rd) == 0);
		/* (the next loop's polls run while it reads) */
		size_t end2 = len - off < piece ? len : off + piece;
		for (int k = 0; k < 100000 && off < end2; k++) {
			ssize_t wr = write(sv[1], bytes + off, end2 - off);
			if (wr > 0)
				off += (size_t)wr;
			if (off == len)
				shutdown(sv[1], SHUT_WR);
			CHECK(rav_trace_poll(t, &err) >= 0);
		}
		pthread_join(th, NULL);
		CHECK_EQ(rd.digest, kept_digest);
	}
	/* the last jump showed the final state: that of the same trace as a file */
	uint64_t total = rav_trace_indexed_events(t);
	CHECK_EQ(rav_state_position(head), total);
	CHECK(!ravt_trace_replay_error(t, &err));
	ravt_trace_work all;
	ravt_trace_get_work(t, &all);
	CHECK_EQ(all.replay_events, total); /* each event applied once, jumps or not */
	CHECK(jumps >= 3 && checked >= 2);
	fprintf(stderr, "%llu events in %zu bytes: %u jumps to the head, %u kept states checked\n",
	        (unsigned long long)total, len, jumps, checked);
	rav_state_free(head);
	rav_state_free(ref);
	rav_state_free(kept);
	rav_trace_close(t);
	close(sv[0]);
	close(sv[1]);
	free(bytes);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
