/* test-engine-unit.c - one test case per engine operation, through ravioli.h.
 *
 * Each case checks the visible result of an operation (field contents,
 * counters, the shape of reference trees) and ends with rav_heap_check so an
 * invariant broken on the way is caught at the case that broke it.  Cases
 * leave the thread's heap as they found it (same live cell count), which is
 * itself a check that frees, cascades and compaction account for every cell.
 *
 * One file per area of the engine (unit-*.c, sharing unit.h); this one
 * holds the shared helpers and the table of cases, whose names the meson
 * tests and an argument select.
 */
#include "unit.h"

rav_type T_NODE; /* f0 data, f1 ref */
rav_type T_PAIR; /* f0 ref, f1 ref */
rav_type T_DATA; /* f0 data, f1 data */

static void register_types(void)
{
	T_NODE = rav_type_register("test.node", RAV_DATA, RAV_REF);
	T_PAIR = rav_type_register("test.pair", RAV_REF, RAV_REF);
	T_DATA = rav_type_register("test.data", RAV_DATA, RAV_DATA);
	CHECK(T_NODE >= RAV_TYPE_FIRST_USER && T_PAIR >= RAV_TYPE_FIRST_USER && T_DATA >= RAV_TYPE_FIRST_USER);
}

rav_stats stats(rav_heap *h)
{
	rav_stats s;
	rav_heap_stats(h, &s);
	return s;
}

uint64_t live(rav_heap *h)
{
	return stats(h).live_cells;
}

#if RAV_DEBUG
void log_misuse(rav_status s, const char *message, void *user)
{
	misuse_log *log = user;
	log->count++;
	log->last = s;
	CHECK(message != NULL && strlen(message) > 0);
}
#endif

static bool count_slot(uintptr_t *slot, void *user)
{
	(void)slot;
	(*(size_t *)user)++;
	return true;
}

size_t referrers(rav_heap *h, rav_ref obj)
{
	size_t n = 0;
	rav_referrers(h, obj, count_slot, &n);
	return n;
}

/* A list of n nodes under root r, f0 = index. */
void build_list(rav_heap *h, rav_root r, size_t n)
{
	rav_ref cur;
	CHECK_OK(rav_new_root(h, T_NODE, r, &cur));
	for (size_t i = 1; i < n; i++) {
		rav_store(h, cur, 0, i - 1);
		CHECK_OK(rav_new_field(h, T_NODE, cur, 1, &cur));
	}
	rav_store(h, cur, 0, n - 1);
}

/* Checks that root r holds a list of n nodes with f0 = salt + index. */
void check_list(rav_heap *h, rav_root r, size_t n, uintptr_t salt)
{
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_type_of(h, cur), T_NODE);
		CHECK_EQ(rav_load(h, cur, 0), salt + i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
}

void build_salted_list(rav_heap *h, rav_root r, size_t n, uintptr_t salt)
{
	build_list(h, r, n);
	rav_ref cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		rav_store(h, cur, 0, salt + i);
		cur = rav_load_ref(h, cur, 1);
	}
}

static const rav_test_case cases[] = {
	{ "types", t_types },
	{ "roots", t_roots },
	{ "fields", t_fields },
	{ "ref-tree", t_ref_tree },
	{ "overwrite", t_overwrite },
	{ "free-cascade", t_free_cascade },
	{ "deferred", t_deferred },
	{ "collect", t_collect },
	{ "hysteresis", t_hysteresis },
	{ "stale-borrow", t_stale_borrow },
	{ "cross-heap", t_cross_heap },
	{ "null-args", t_null_args },
	{ "foreign-root", t_foreign_root },
	{ "freed-handles", t_freed_handles },
	{ "root-double-free", t_root_double_free },
	{ "sent-heap", t_sent_heap },
	{ "heap-after-exit", t_heap_after_exit },
	{ "message-misuse", t_message_misuse },
	{ "adopt-from-message", t_adopt_from_message },
	{ "free-waited-channel", t_free_waited_channel },
	{ "vec-data", t_vec_data },
	{ "vec-refs", t_vec_refs },
	{ "bytes", t_bytes },
	{ "messages", t_messages },
	{ "adopt-pages", t_adopt_pages },
	{ "arrive-small", t_arrive_small },
	{ "adopt-small", t_adopt_small },
	{ "dirty-top", t_dirty_top },
	{ "serialize", t_serialize },
	{ "serialize-large", t_serialize_large },
	{ "serialize-corrupt", t_serialize_corrupt },
	{ "serialize-stream", t_serialize_stream },
	{ "channel-leftovers", t_channel_leftovers },
	{ "thread-exit", t_thread_exit },
	{ "inspect", t_inspect },
};

int main(int argc, char **argv)
{
	register_types();
	int rc = rav_test_run(cases, sizeof cases / sizeof cases[0], argc, argv);
	rav_thread_exit();
	return rc;
}

