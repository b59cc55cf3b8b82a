/* operations.c - the grouping of events into operations
 * (rav_trace_operation_at) and the sentences about them.
 *
 * Part 1 records the real engine doing one known operation after each mark
 * (an allocation, a data store, a reference shared through a reference
 * raviolo, a free whose hole the top cell fills, a message built, sent and
 * received, a collection of a cycle, a root given back) and checks that
 * the events between two marks form exactly the expected operations, with
 * the right kind, main cell, slot and counts, and that each one has a
 * sentence.
 *
 * Part 2 holds on every trace named on the command line (the demo traces
 * and an attach recording, which starts from snapshots) and on part 1's:
 * every event lies in the operation rav_trace_operation_at gives for it,
 * operations of a thread follow each other without gap or overlap, asking
 * from any of an operation's events gives the same operation, every
 * operation is described, and every event is explained.
 *
 * Part 3: asking while another thread builds the whole map gives the
 * answers of the finished map (suite threads: TSan runs it).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ravioli.h"
#include "ravtrace.h"
#include "trace-test.h"

static void ok(rav_status st, const char *what)
{
	if (st != RAV_OK) {
		fprintf(stderr, "engine call failed: %s: %s\n", what, rav_last_error());
		exit(1);
	}
}

static rav_loc loc_of(const void *p)
{
	/* Pool-relative location of a cell, as the trace names it. */
	uintptr_t off = (uintptr_t)p - (uintptr_t)rav_pool_base();
	return rav_loc_make((uint32_t)(off / RAV_PAGE_SIZE), (uint32_t)(off % RAV_PAGE_SIZE / RAV_CELL_SIZE),
	                    0);
}

/* Cells whose locations the checks need, read while the program runs. */
static rav_loc loc_x, loc_y, loc_a, loc_b;

static void record(const char *path)
{
	char eb[256];
	REQUIRE(rav_trace_start(path, false, eb, sizeof eb) == 0);
	rav_thread_name("ops");
	rav_heap *h = rav_heap_self();
	REQUIRE(h);
	rav_type node = rav_type_register("node", RAV_DATA, RAV_REF);
	rav_type pair = rav_type_register("pair", RAV_REF, RAV_REF);
	rav_root r1 = rav_root_new(h), r2 = rav_root_new(h), r3 = rav_root_new(h);
	rav_root r4 = rav_root_new(h), r5 = rav_root_new(h), r6 = rav_root_new(h), r7 = rav_root_new(h);
	REQUIRE(r1 && r2 && r3 && r4 && r5 && r6 && r7);
	rav_ref a, b, x, y;

	rav_mark("alloc");
	ok(rav_new_root(h, node, r1, &a), "new a");
	loc_a = loc_of(a.cell);
	rav_mark("store");
	rav_store(h, a, 0, 42);
	rav_mark("alloc-field");
	ok(rav_new_field(h, node, a, 1, &b), "new b");
	loc_b = loc_of(b.cell);
	rav_mark("share");
	ok(rav_root_set(h, r2, b), "share b");
	rav_mark("unshare");
	ok(rav_root_clear(h, r2), "unshare b");
	rav_mark("two");
	ok(rav_new_root(h, node, r3, &x), "new x");
	ok(rav_new_root(h, node, r4, &y), "new y");
	loc_x = loc_of(x.cell);
	loc_y = loc_of(y.cell);
	rav_mark("free");
	ok(rav_root_clear(h, r3), "free x");

	rav_mark("message");
	rav_channel *ch = rav_channel_new();
	rav_msg *m = rav_msg_new();
	REQUIRE(ch && m);
	ok(rav_new_root(rav_msg_heap(m), node, rav_msg_root(m), NULL), "message cell");
	ok(rav_send(ch, m), "send");
	ok(rav_recv(ch, h, r5), "receive");

	/* A list built last (at the top, over three pages) sent on: its
	 * pages go to the message (format 1.6). */
	rav_mark("list");
	rav_ref c;
	ok(rav_new_root(h, node, r7, &c), "list head");
	for (int i = 1; i < 300; i++)
		ok(rav_new_field(h, node, c, 1, &c), "list node");
	rav_mark("adopt");
	rav_msg *m2 = rav_msg_new();
	REQUIRE(m2);
	ok(rav_msg_adopt(m2, h, r7), "adopt");
	ok(rav_send(ch, m2), "send the list");
	ok(rav_recv(ch, h, r7), "receive the list");

	rav_mark("cycle");
	rav_ref p, q;
	ok(rav_new_root(h, pair, r6, &p), "new p");
	ok(rav_new_field(h, pair, p, 0, &q), "new q");
	ok(rav_store_ref(h, q, 1, rav_root_get(h, r6)), "q.1 = p");
	ok(rav_root_clear(h, r6), "drop the cycle");
	rav_mark("collect");
	size_t freed = rav_collect(h);
	REQUIRE(freed >= 2);

	rav_mark("root-free");
	rav_root_free(h, r1);
	rav_mark("end");
	rav_channel_free(ch);
	rav_trace_stop();
}

/* The operations of `thread` strictly between the marks with these texts. */
static unsigned ops_between(rav_trace *t, const char *from, const char *to, rav_operation *out, unsigned max)
{
	int64_t a = -1, b = -1;
	for (unsigned i = 0; i < rav_trace_mark_count(t); i++) {
		rav_trace_mark mk;
		REQUIRE(rav_trace_mark_at(t, i, &mk));
		if (strcmp(mk.text, from) == 0)
			a = (int64_t)mk.event;
		if (strcmp(mk.text, to) == 0)
			b = (int64_t)mk.event;
	}
	REQUIRE(a >= 0 && b > a);
	rav_operation mop;
	REQUIRE(rav_trace_operation_at(t, (uint64_t)a, &mop));
	CHECK_EQ(mop.kind, RAV_OP_MARK);
	unsigned n = 0;
	uint64_t i = mop.last + 1;
	while (i < (uint64_t)b) {
		rav_event ev;
		REQUIRE(rav_trace_event_at(t, i, &ev));
		if (ev.thread != mop.thread) {
			i++;
			continue;
		}
		rav_operation op;
		REQUIRE(rav_trace_operation_at(t, i, &op));
		CHECK_EQ(op.first, i);
		if (op.first != i)
			break;
		if (n < max)
			out[n] = op;
		n++;
		i = op.last + 1;
	}
	rav_operation end;
	REQUIRE(rav_trace_operation_at(t, (uint64_t)b, &end));
	CHECK_EQ(end.kind, RAV_OP_MARK);
	return n;
}

static void show(rav_trace *t, const rav_operation *op)
{
	char buf[512];
	size_t n = rav_operation_describe(t, NULL, op, buf, sizeof buf);
	CHECK(n > 0 && n < sizeof buf);
	printf("  %" PRIu64 "..%" PRIu64 " %s: %s\n", op->first, op->last, rav_op_kind_name(op->kind), buf);
}

static void check_known(rav_trace *t)
{
	rav_operation ops[16];
	unsigned n;

	n = ops_between(t, "alloc", "store", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_ALLOC);
	CHECK_EQ(ops[0].cell, loc_a);
	CHECK_EQ(rav_loc_word(ops[0].slot), 1); /* root slot r1: word 1 of the first root cell */
	rav_loc first_root_slot = ops[0].slot;
	CHECK_EQ(ops[0].pages_acquired, 1);     /* the heap's first page */
	show(t, &ops[0]);

	n = ops_between(t, "store", "alloc-field", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_STORE);
	CHECK_EQ(ops[0].value, 42);
	CHECK_EQ(ops[0].slot, loc_a | RAV_W_F0);
	show(t, &ops[0]);

	n = ops_between(t, "alloc-field", "share", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_ALLOC);
	CHECK_EQ(ops[0].cell, loc_b);
	CHECK_EQ(ops[0].slot, loc_a | RAV_W_F1);
	show(t, &ops[0]);

	n = ops_between(t, "share", "unshare", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_STORE_REF);
	CHECK_EQ(ops[0].refs_inserted, 1);
	CHECK_EQ(ops[0].target, loc_b);
	show(t, &ops[0]);

	n = ops_between(t, "unshare", "two", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_FREE);
	CHECK_EQ(ops[0].refs_removed, 1);
	CHECK_EQ(ops[0].frees, 1); /* the reference raviolo, nothing else */
	/* the slot let go (root r2: word 2 of the first root cell), which the
	 * reference raviolo's removal, recorded first, used to hide */
	CHECK_EQ(rav_loc_word(ops[0].slot), 2);
	CHECK_EQ(rav_loc_cell(ops[0].slot), rav_loc_cell(first_root_slot));
	show(t, &ops[0]);

	n = ops_between(t, "two", "free", ops, 16);
	CHECK_EQ(n, 2);
	CHECK_EQ(ops[0].kind, RAV_OP_ALLOC);
	CHECK_EQ(ops[1].kind, RAV_OP_ALLOC);

	n = ops_between(t, "free", "message", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_FREE);
	CHECK_EQ(ops[0].cell, loc_x);
	CHECK_EQ(ops[0].frees, 1);
	CHECK_EQ(ops[0].compactions, 1);
	CHECK_EQ(ops[0].moves, 1); /* y was the top cell: it moves into x's hole */
	CHECK_EQ(ops[0].move_from, loc_y);
	CHECK_EQ(ops[0].move_to, loc_x);
	CHECK_EQ(ops[0].fixups, 1); /* root r4 named y */
	show(t, &ops[0]);
	char buf[512];
	rav_operation_describe(t, NULL, &ops[0], buf, sizeof buf);
	CHECK(strstr(buf, "freed") && strstr(buf, "moves into the hole") && strstr(buf, "1 pointer fixed"));

	n = ops_between(t, "message", "list", ops, 16);
	CHECK_EQ(n, 4);
	CHECK_EQ(ops[0].kind, RAV_OP_MSG_NEW);
	CHECK_EQ(ops[1].kind, RAV_OP_ALLOC);
	CHECK_EQ(ops[2].kind, RAV_OP_SEND);
	CHECK_EQ(ops[2].value, 1); /* one page */
	CHECK_EQ(ops[3].kind, RAV_OP_RECEIVE);
	CHECK_EQ(ops[3].pages_handed, 1);
	CHECK_EQ(ops[3].heap, ops[2].heap);
	for (unsigned i = 0; i < n && i < 16; i++)
		show(t, &ops[i]);

	/* msg-new, the cells of the list's lowest page that are not handed
	 * moving into the message (a compaction-like run, when there are any),
	 * the pages handed, send, receive */
	n = ops_between(t, "adopt", "cycle", ops, 16);
	CHECK(n >= 4 && n <= 16);
	unsigned adopts = 0;
	for (unsigned i = 0; i < n && i < 16; i++) {
		show(t, &ops[i]);
		if (ops[i].kind != RAV_OP_ADOPT)
			continue;
		adopts++;
		CHECK(ops[i].pages_handed >= 2);
		CHECK(ops[i].value > (ops[i].pages_handed - 1) * (RAV_PAGE_CELLS - 1) && ops[i].value <= 300);
		CHECK_EQ(ops[i].heap, ops[0].heap); /* the message msg-new made */
		CHECK(i + 2 < n && ops[i + 1].kind == RAV_OP_SEND && ops[i + 2].kind == RAV_OP_RECEIVE);
		rav_operation_describe(t, NULL, &ops[i], buf, sizeof buf);
		CHECK(strstr(buf, "handed as they are") != NULL);
	}
	CHECK_EQ(adopts, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_MSG_NEW);

	n = ops_between(t, "cycle", "collect", ops, 16);
	CHECK_EQ(n, 4); /* p, q, q.1 = p (a reference raviolo), the root cleared (p stays) */
	CHECK_EQ(ops[2].kind, RAV_OP_STORE_REF);
	CHECK_EQ(ops[3].kind, RAV_OP_FREE);
	CHECK_EQ(ops[3].frees, 1); /* only the reference raviolo: the cycle holds p */

	n = ops_between(t, "collect", "root-free", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_COLLECT);
	CHECK(ops[0].value >= 2);
	show(t, &ops[0]);

	n = ops_between(t, "root-free", "end", ops, 16);
	CHECK_EQ(n, 1);
	CHECK_EQ(ops[0].kind, RAV_OP_ROOT);
	CHECK_EQ(ops[0].value, 1); /* given back */
	/* a itself (the arrival may have moved it: only its type is sure) */
	CHECK(ops[0].cell != 0 && !strcmp(rav_trace_type_name(t, ops[0].type), "node"));
	CHECK(ops[0].frees >= 2); /* a and b with it */
	show(t, &ops[0]);
}

/* Every event is in exactly one operation of its thread. */
static void check_partition(const char *path)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	if (!t) {
		fprintf(stderr, "%s: %s\n", path, err.message);
		tt_failures++;
		return;
	}
	REQUIRE(rav_trace_index(t, NULL, NULL, &err) == 0);
	REQUIRE(rav_trace_operations_prepare(t, NULL, NULL, &err) == 0);
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	/* Per thread: where its current operation ends. */
	enum { MAXT = 64 };
	uint32_t tid[MAXT];
	uint64_t end[MAXT];
	bool have[MAXT] = {false};
	unsigned nt = 0, nops = 0, fails = 0;
	/* Under a memory checker, the start of each trace is enough. */
	uint64_t n = info.events;
	if (getenv("RAV_TEST_SMALL") && n > 3000)
		n = 3000;
	for (uint64_t i = 0; i < n && fails < 5; i++) {
		rav_event ev;
		rav_operation op;
		REQUIRE(rav_trace_event_at(t, i, &ev));
		if (!rav_trace_operation_at(t, i, &op)) {
			fprintf(stderr, "%s: no operation for event %" PRIu64 "\n", path, i);
			tt_failures++, fails++;
			continue;
		}
		unsigned k = 0;
		while (k < nt && tid[k] != ev.thread)
			k++;
		REQUIRE(k < MAXT);
		if (k == nt)
			tid[nt++] = ev.thread;
		if (op.first > i || op.last < i || op.thread != ev.thread) {
			fprintf(stderr,
			        "%s: event %" PRIu64 " (thread %u) got operation %" PRIu64 "..%" PRIu64
			        " of thread %u\n",
			        path, i, ev.thread, op.first, op.last, op.thread);
			tt_failures++, fails++;
			continue;
		}
		if ((ev.kind == RAV_EV_SNAPSHOT && op.kind != RAV_OP_SNAPSHOT) ||
		    (ev.kind == RAV_EV_LOST && op.kind != RAV_OP_LOST)) {
			fprintf(stderr, "%s: event %" PRIu64 " (%s) is in a %s operation\n", path, i,
			        rav_event_kind_name(ev.kind), rav_op_kind_name(op.kind));
			tt_failures++, fails++;
		}
		if (!have[k] || i > end[k]) {
			/* A new operation of this thread starts exactly here. */
			if (op.first != i) {
				fprintf(stderr,
				        "%s: event %" PRIu64
				        " starts no operation but follows the last one of its thread\n",
				        path, i);
				tt_failures++, fails++;
			}
			have[k] = true;
			end[k] = op.last;
			nops++;
			char buf[512];
			if (rav_operation_describe(t, NULL, &op, buf, sizeof buf) == 0) {
				fprintf(stderr, "%s: operation %" PRIu64 " has no sentence\n", path,
				        op.first);
				tt_failures++, fails++;
			}
			if (!op.complete && op.last + 1 < info.events) {
				/* Only a thread's last operation may be unfinished. */
				rav_event_filter f = {.thread = ev.thread};
				if (rav_trace_find_next(t, op.last + 1, &f) >= 0) {
					fprintf(stderr, "%s: operation %" PRIu64 " is not complete\n", path,
					        op.first);
					tt_failures++, fails++;
				}
			}
		} else if (op.last != end[k]) {
			fprintf(stderr,
			        "%s: event %" PRIu64 " is in %" PRIu64 "..%" PRIu64
			        ", its neighbour in ..%" PRIu64 "\n",
			        path, i, op.first, op.last, end[k]);
			tt_failures++, fails++;
		}
		/* Explanations exist for every event. */
		char eb[1024];
		if (rav_event_explain(t, NULL, &ev, eb, sizeof eb) == 0 || strstr(eb, "does not know")) {
			fprintf(stderr, "%s: event %" PRIu64 " has no explanation\n", path, i);
			tt_failures++, fails++;
		}
	}
	printf("%s: %" PRIu64 " events in %u operations\n", path, info.events, nops);
	rav_trace_close(t);
}

/* A viewer asks about operations while a worker builds the map: the
 * answers are the ones the finished map gives. */
typedef struct {
	rav_trace *t;
	int rc;
} prep_job;

static void *prepare_thread(void *arg)
{
	prep_job *j = arg;
	rav_trace_error err;
	j->rc = rav_trace_operations_prepare(j->t, NULL, NULL, &err);
	return NULL;
}

static void check_concurrent(const char *path)
{
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	REQUIRE(t && rav_trace_index(t, NULL, NULL, &err) == 0);
	rav_trace *ref = rav_trace_open(path, &err);
	REQUIRE(ref && rav_trace_index(ref, NULL, NULL, &err) == 0);
	REQUIRE(rav_trace_operations_prepare(ref, NULL, NULL, &err) == 0);
	uint64_t n = rav_trace_indexed_events(t);
	CHECK_EQ(rav_trace_operations_known(t), 0);
	prep_job j = {t, -1};
	pthread_t th;
	REQUIRE(pthread_create(&th, NULL, prepare_thread, &j) == 0);
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int k = 0; k < (getenv("RAV_TEST_SMALL") ? 20 : 300); k++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t i = x % n;
		rav_operation a, b;
		REQUIRE(rav_trace_operation_at(t, i, &a));
		REQUIRE(rav_trace_operation_at(ref, i, &b));
		CHECK_EQ(a.first, b.first);
		CHECK_EQ(a.last, b.last);
		CHECK_EQ(a.kind, b.kind);
	}
	pthread_join(th, NULL);
	CHECK_EQ(j.rc, 0);
	CHECK_EQ(rav_trace_operations_known(t), n);
	rav_trace_close(t);
	rav_trace_close(ref);
}

static void check_glossary(void)
{
	CHECK(rav_glossary_count() >= 11);
	/* The terms the model's essay leans on are all there. */
	const char *need[] = {
	    "raviolo",     "top",      "hole", "back-link", "reference-raviolo", "dead-cell",
	    "page-header", "building", "pool", "hand-off",  "arrival-compaction"};
	for (unsigned i = 0; i < sizeof need / sizeof need[0]; i++) {
		const rav_glossary_entry *e = rav_glossary_find(need[i]);
		CHECK(e != NULL);
		if (e)
			CHECK(e->term[0] && e->forms[0] && strlen(e->definition) > 40);
	}
	CHECK(rav_glossary_find("no-such-term") == NULL);
	CHECK(rav_glossary_at(rav_glossary_count()) == NULL);
}

int main(int argc, char **argv)
{
	char path[] = "/tmp/test-operations-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	record(path);
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	REQUIRE(t);
	REQUIRE(rav_trace_index(t, NULL, NULL, &err) == 0);
	check_known(t);
	rav_trace_close(t);
	check_partition(path);
	unlink(path);
	for (int i = 1; i < argc; i++)
		check_partition(argv[i]);
	if (argc > 1)
		check_concurrent(argv[argc - 1]);
	check_glossary();
	for (unsigned k = 0; k < RAV_OP_KIND_COUNT; k++)
		CHECK(strcmp(rav_op_kind_name(k), "unknown") != 0);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
