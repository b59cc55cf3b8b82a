/* recorder.c - record a real engine workload in-process and read it back.
 *
 * Three threads build lists, exchange them as messages and free them while
 * the recorder runs (with memory accesses recorded).  The trace must open
 * complete, index without a replay error, and contain exactly what the
 * program did: its marks, thread names, type, message sends and receives,
 * and as many allocations as the engine counted.  Starting a second
 * recording, or one after heaps exist, must fail with a message. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rav-record.h"
#include "ravioli.h"
#include "trace-private.h"
#include "trace-test.h"

#define MESSAGES 40
#define ITEMS 300

static rav_type item;
static rav_channel *to_main;

static void build(rav_heap *h, rav_root head, size_t n)
{
	rav_ref cur;
	CHECK(rav_new_root(h, item, head, &cur) == RAV_OK);
	for (size_t i = 1; i < n; i++) {
		CHECK(rav_new_field(h, item, cur, 1, &cur) == RAV_OK);
		rav_store(h, cur, 0, i);
	}
}

static void *worker(void *arg)
{
	rav_thread_name(arg);
	rav_heap *h = rav_heap_self();
	rav_root scratch = rav_root_new(h);
	for (int i = 0; i < MESSAGES / 2; i++) {
		rav_msg *m = rav_msg_new();
		CHECK(m != NULL);
		build(rav_msg_heap(m), rav_msg_root(m), 20);
		CHECK(rav_send(to_main, m) == RAV_OK);
		/* Local churn: build and drop a list (frees, moves, fix-ups). */
		build(h, scratch, ITEMS / 10);
		rav_root_clear(h, scratch);
	}
	rav_root_free(h, scratch);
	rav_mark("worker done");
	return NULL;
}

int main(void)
{
	char path[] = "/tmp/rav-recorder-test-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);

	char err[256];
	if (rav_trace_start(path, true, err, sizeof err) != 0) {
		fprintf(stderr, "rav_trace_start: %s\n", err);
		return 1;
	}
	CHECK(rav_trace_start(path, false, err, sizeof err) != 0 && strstr(err, "already"));

	item = rav_type_register("test_item", RAV_DATA, RAV_REF);
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	rav_root list = rav_root_new(h), got = rav_root_new(h);
	rav_mark("start");
	build(h, list, ITEMS);
	to_main = rav_channel_new();
	pthread_t th[2];
	pthread_create(&th[0], NULL, worker, "worker-a");
	pthread_create(&th[1], NULL, worker, "worker-b");
	for (int i = 0; i < MESSAGES; i++) {
		CHECK(rav_recv(to_main, h, got) == RAV_OK);
		/* Walk what arrived (recorded as memory accesses). */
		size_t len = 0;
		for (rav_ref r = rav_root_get(h, got); !rav_ref_is_null(r); r = rav_load_ref(h, r, 1))
			len++;
		CHECK(len == 20);
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	rav_root_clear(h, list);
	rav_root_clear(h, got);
	rav_stats stats;
	rav_heap_stats(h, &stats);
	/* a mark longer than RAV_MARK_MAX is cut before the character that
	 * straddles the cut, not through it */
	char *long_mark = malloc(RAV_MARK_MAX + 16);
	REQUIRE(long_mark);
	memset(long_mark, 'a', RAV_MARK_MAX - 1);
	strcpy(long_mark + RAV_MARK_MAX - 1, "\xc3\xa9 and more");
	rav_mark(long_mark);
	rav_mark("end");
	rav_trace_stop();
	rav_trace_stop(); /* twice is harmless */
	/* After the first heap exists a new recording cannot start. */
	CHECK(rav_trace_start(path, false, err, sizeof err) != 0 && err[0]);

	rav_trace_error e;
	rav_trace *t = rav_trace_open(path, &e);
	if (!t) {
		fprintf(stderr, "open: %s\n", e.message);
		return 1;
	}
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	CHECK(!info.truncated);
	CHECK(info.cell_size == RAV_CELL_SIZE && info.page_size == RAV_PAGE_SIZE);
	CHECK(strstr(info.program, "recorder") != NULL);
	CHECK(rav_trace_index(t, NULL, NULL, &e) == 0);
	rav_trace_error re;
	if (ravt_trace_replay_error(t, &re)) {
		fprintf(stderr, "replay: %s\n", re.message);
		tt_failures++;
	}
	uint64_t n = rav_trace_indexed_events(t), kinds[RAV_EV_KIND_COUNT] = { 0 };
	uint64_t main_allocs = 0;
	unsigned marks_seen = 0;
	rav_event_iter it;
	rav_event_iter_init(&it, t, NULL);
	rav_event ev;
	while (rav_event_iter_next(&it, &ev)) {
		if (ev.kind < RAV_EV_KIND_COUNT)
			kinds[ev.kind]++;
		if (ev.kind == RAV_EV_ALLOC && ev.aux == item && ev.thread == rav_heap_id(h))
			main_allocs++;
		if (ev.kind == RAV_EV_MARK)
			marks_seen++;
	}
	CHECK(n > 1000);
	CHECK(marks_seen == 5);
	CHECK(rav_trace_mark_count(t) == 5);
	rav_trace_mark mk;
	CHECK(rav_trace_mark_at(t, 0, &mk) && strcmp(mk.text, "start") == 0);
	long_mark[RAV_MARK_MAX - 1] = 0;
	CHECK(rav_trace_mark_at(t, 3, &mk) && strcmp(mk.text, long_mark) == 0);
	free(long_mark);
	CHECK(rav_trace_mark_at(t, 4, &mk) && strcmp(mk.text, "end") == 0);
	CHECK(kinds[RAV_EV_MSG_SEND] == MESSAGES);
	CHECK(kinds[RAV_EV_MSG_RECV] == MESSAGES);
	CHECK(kinds[RAV_EV_ACCESS] > 0);
	CHECK(kinds[RAV_EV_MOVE] > 0 && kinds[RAV_EV_FIXUP] > 0);
	/* The main thread allocated ITEMS items itself (received lists arrive
	 * as pages, not allocations), all attributed to its heap even though
	 * its first buffer was handed out before the heap existed. */
	CHECK(main_allocs == ITEMS);
	CHECK(kinds[RAV_EV_ALLOC] >= stats.allocs);
	rav_trace_type ty, found;
	bool have = false;
	for (unsigned i = 0; i < rav_trace_type_count(t); i++) {
		if (rav_trace_type_at(t, i, &ty) && strcmp(ty.name, "test_item") == 0) {
			found = ty;
			have = true;
		}
	}
	CHECK(have && found.id == item && !found.field_is_ref[0] && found.field_is_ref[1]);
	unsigned named = 0;
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread entry;
		const char *nm = rav_trace_thread_at(t, i, &entry) ? entry.name : "";
		named += strcmp(nm, "main") == 0 || strcmp(nm, "worker-a") == 0 || strcmp(nm, "worker-b") == 0;
	}
	CHECK(named == 3);
	/* Replay reaches the end and agrees with the engine on the main heap. */
	rav_state *s = rav_state_new(t);
	CHECK(s != NULL);
	if (s) {
		CHECK(rav_state_seek(s, n, &e) == 0);
		rav_state_free(s);
	}
	rav_trace_close(t);
	if (tt_failures)
		fprintf(stderr, "trace kept for inspection: %s\n", path);
	else
		unlink(path);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
