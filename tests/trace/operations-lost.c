/* operations-lost.c - a live session's loss ends every thread's open
 * operation, and the sentences about losses and snapshots.
 *
 * When a live session loses events (trace/FORMAT.md section 12.3) the end
 * of whatever a thread was doing is among the lost events: a receive open
 * at the loss never sees its message heap end.  The grouping must close it
 * at the loss; before, such a receive went on to the end of the trace and
 * took every later event of its thread.  A small trace is written with the
 * encoder: a thread receives a message (pages handed over), then the
 * process thread's `lost` event, then the thread allocates and stores
 * again.  Whether replay accepts the heaps does not matter here: the
 * grouping reads the events only.  The explanations of `lost` and of
 * every snapshot piece must be real sentences, not the fallback for a kind
 * this version does not know.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "ravtrace.h"
#include "trace-test.h"

static int sink(const void *data, size_t len, void *user)
{
	return fwrite(data, 1, len, (FILE *)user) == len ? 0 : -1;
}

#define EPOCH1 ((uint64_t)1 << 40)

static bool known(rav_trace *t, const rav_event *e)
{
	char buf[1024];
	size_t n = rav_event_explain(t, NULL, e, buf, sizeof buf);
	if (n == 0 || strstr(buf, "does not know")) {
		fprintf(stderr, "event kind %u: no real explanation: %s\n", e->kind, buf);
		return false;
	}
	return true;
}

int main(void)
{
	char path[] = "/tmp/operations-lost-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	FILE *f = fdopen(fd, "wb");
	REQUIRE(f);
	ravt_writer_params wp;
	memset(&wp, 0, sizeof wp);
	wp.word_size = 8;
	wp.cell_size = 32;
	wp.page_size = TT_PAGE;
	wp.pool_base = TT_BASE;
	wp.pool_bytes = TT_POOL_BYTES;
	wp.cmdline = "operations-lost";
	wp.cmdline_len = strlen(wp.cmdline);
	char eb[256];
	ravt_writer *w = ravt_writer_new(&wp, sink, f, eb, sizeof eb);
	REQUIRE(w);
	/* Ordering events come after a TIME carrying their sequence number. */
	rav_raw_event before[] = {
	    {RAV_EV_TIME, 0, 100, 0, 1},
	    {RAV_EV_HEAP_NEW | (RAV_HEAP_THREAD << 8), 1, 1, 0, 1},
	    {RAV_EV_TIME, 0, 101, 0, 2},
	    {RAV_EV_PAGE_ACQUIRE | (RAV_PAGE_HEAP << 8), 1, tt_addr(3, 0, 0), 0, 2},
	    {RAV_EV_ALLOC | (17u << 8), 0, tt_addr(3, 1, 0), 0, 0},
	    {RAV_EV_TIME, 0, 102, 0, 3},
	    {RAV_EV_MSG_RECV, 2, 1, 1, 3}, /* message heap 2 from channel 1 into heap 1 */
	    {RAV_EV_TIME, 0, 103, 0, 4},
	    {RAV_EV_PAGE_HANDOFF, 1, tt_addr(5, 0, 0), 2, 4},
	};
	rav_raw_event lost[] = {
	    {RAV_EV_TIME, 0, 200, 0, 5}, {RAV_EV_LOST, 1, 1234, 150, 5}, /* x = the epoch that follows */
	};
	rav_raw_event after[] = {
	    {RAV_EV_TIME, 0, 300, 0, EPOCH1 + 1},
	    {RAV_EV_PAGE_ACQUIRE | (RAV_PAGE_HEAP << 8), 1, tt_addr(7, 0, 0), 0, EPOCH1 + 1},
	    {RAV_EV_ALLOC | (17u << 8), 0, tt_addr(7, 1, 0), 0, 0},
	    {RAV_EV_DATA_STORE, 0, tt_addr(7, 1, 1), 0, 42},
	};
	REQUIRE(ravt_writer_add(w, 1, before, sizeof before / sizeof before[0]) == 0);
	REQUIRE(ravt_writer_add(w, 0, lost, sizeof lost / sizeof lost[0]) == 0);
	REQUIRE(ravt_writer_add(w, 1, after, sizeof after / sizeof after[0]) == 0);
	if (ravt_writer_finish(w, 0) < 0) {
		fprintf(stderr, "writer: %s\n", ravt_writer_error(w));
		return 1;
	}
	ravt_writer_free(w);
	fclose(f);

	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	unlink(path);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
	uint64_t n = rav_trace_indexed_events(t);
	CHECK_EQ(n, 15);
	uint64_t lost_at = UINT64_MAX, recv_at = UINT64_MAX, store_at = UINT64_MAX;
	for (uint64_t i = 0; i < n; i++) {
		rav_event e;
		REQUIRE(rav_trace_event_at(t, i, &e));
		if (e.kind == RAV_EV_LOST)
			lost_at = i;
		else if (e.kind == RAV_EV_MSG_RECV)
			recv_at = i;
		else if (e.kind == RAV_EV_DATA_STORE)
			store_at = i;
	}
	REQUIRE(lost_at != UINT64_MAX && recv_at < lost_at && store_at > lost_at);

	/* The receive ends before the loss; the thread's later events are
	 * operations of their own. */
	rav_operation op;
	REQUIRE(rav_trace_operation_at(t, recv_at, &op));
	CHECK_EQ(op.kind, RAV_OP_RECEIVE);
	CHECK(op.last < lost_at);
	REQUIRE(rav_trace_operation_at(t, store_at, &op));
	CHECK(op.first > lost_at);
	CHECK(op.kind != RAV_OP_RECEIVE);
	REQUIRE(rav_trace_operation_at(t, lost_at, &op));
	CHECK_EQ(op.kind, RAV_OP_LOST);
	CHECK_EQ(op.value, 1234);
	CHECK(strcmp(rav_op_kind_name(op.kind), "lost") == 0);
	char what[512];
	rav_operation_describe(t, NULL, &op, what, sizeof what);
	CHECK(strstr(what, "1234 events lost") != NULL);
	printf("lost: %s\n", what);

	rav_event e;
	REQUIRE(rav_trace_event_at(t, lost_at, &e));
	CHECK(known(t, &e));
	rav_event_explain(t, NULL, &e, what, sizeof what);
	CHECK(strstr(what, "1234 events") != NULL);
	/* Every piece and place of a snapshot has its sentence. */
	rav_event snap = {.kind = RAV_EV_SNAPSHOT, .thread = 1, .x = 1, .a = 7};
	for (unsigned piece = RAV_SNAP_TYPES; piece <= RAV_SNAP_HEAP; piece++)
		for (unsigned where = RAV_SNAP_OWNER; where <= RAV_SNAP_IN_FLIGHT; where++) {
			snap.aux = (uint16_t)piece;
			snap.b = where;
			CHECK(known(t, &snap));
		}
	/* Every kind this version has is explained for real. */
	for (unsigned k = 1; k < RAV_EV_KIND_COUNT; k++) {
		rav_event any = {.kind = (uint16_t)k, .thread = 1, .x = 1, .aux = RAV_SNAP_HEAP};
		CHECK(known(t, &any));
	}
	CHECK(rav_glossary_find("snapshot") != NULL);
	CHECK(rav_glossary_find("lost-events") != NULL);
	rav_trace_close(t);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
