/* unit-messages.c - test-engine-unit's cases for messages: building,
 * sending, receiving, adopting.
 */
#include <unistd.h>

#include "unit.h"

/* ---- messages ---- */


typedef struct walk_count_t {
	uint64_t live, other;
} walk_count_t;

/* Cells that are objects (not headers, roots, holes). */
static bool count_live(rav_heap *hh, const rav_cell_info *info, void *user)
{
	walk_count_t *w = user;
	switch (info->type) {
	case RAV_TYPE_HEADER:
	case RAV_TYPE_ROOT:
	case RAV_TYPE_EMPTY:
	case RAV_TYPE_DEAD:
		w->other++;
		break;
	default:
		w->live++;
	}
	return true;
}

void t_messages(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_channel *ch = rav_channel_new();
	CHECK(ch != NULL);
	rav_root dst = rav_root_new(h);
	CHECK_STATUS(rav_try_recv(ch, h, dst), RAV_EAGAIN);

	/* Built directly in the message heap. */
	rav_msg *m = rav_msg_new();
	CHECK(m != NULL);
	rav_heap *mh = rav_msg_heap(m);
	CHECK(mh != NULL && mh != h);
	build_salted_list(mh, rav_msg_root(m), 500, 1000);
	CHECK_HEAP(mh);
	walk_count_t mw = { 0, 0 };
	rav_heap_walk(mh, NULL, count_live, &mw);
	CHECK_EQ(mw.live, stats(mh).live_cells);
	uint64_t received = stats(h).pages_received;
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_try_recv(ch, h, dst));
	CHECK(stats(h).pages_received > received);
	check_list(h, dst, 500, 1000);
	CHECK_EQ(live(h), base + 500);
	CHECK_HEAP(h);
	CHECK_STATUS(rav_try_recv(ch, h, dst), RAV_EAGAIN);
	CHECK(rav_root_is_set(h, dst)); /* a failed receive leaves dst alone */

	/* Built in the heap and adopted, then received over the old content. */
	rav_root src = rav_root_new(h);
	build_salted_list(h, src, 800, 5);
	m = rav_msg_new();
	CHECK_OK(rav_msg_adopt(m, h, src));
	CHECK(!rav_root_is_set(h, src));
	CHECK_EQ(live(h), base + 500);
	CHECK_HEAP(h);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst)); /* drops the 500-list */
	check_list(h, dst, 800, 5);
	CHECK_EQ(live(h), base + 800);
	CHECK_HEAP(h);

	/* Several queued messages arrive in order. */
	for (int k = 0; k < 5; k++) {
		m = rav_msg_new();
		build_salted_list(rav_msg_heap(m), rav_msg_root(m), 10, (uintptr_t)k * 100);
		CHECK_OK(rav_send(ch, m));
	}
	for (int k = 0; k < 5; k++) {
		CHECK_OK(rav_recv(ch, h, dst));
		check_list(h, dst, 10, (uintptr_t)k * 100);
	}
	/* Buffer pages are never compacted while a message is built: a free
	 * there leaves a hole instead of moving the top cell into it. */
	m = rav_msg_new();
	mh = rav_msg_heap(m);
	rav_ref first, last;
	CHECK_OK(rav_new_root(mh, T_PAIR, rav_msg_root(m), &first));
	CHECK_OK(rav_new_field(mh, T_DATA, first, 0, NULL));
	CHECK_OK(rav_new_field(mh, T_DATA, first, 1, &last));
	rav_cell *where = last.cell;
	CHECK_OK(rav_clear_ref(mh, rav_root_get(mh, rav_msg_root(m)), 0));
	CHECK(rav_load_ref(mh, rav_root_get(mh, rav_msg_root(m)), 1).cell == where);
	CHECK(stats(mh).dead_cells >= 1);
	CHECK_HEAP(mh);
	CHECK_OK(rav_send(ch, m));
	CHECK_OK(rav_recv(ch, h, dst)); /* the hole is compacted away on arrival */
	CHECK_EQ(stats(h).dead_cells, 0);
	CHECK_EQ(rav_type_of(h, rav_load_ref(h, rav_root_get(h, dst), 1)), T_DATA);
	CHECK_HEAP(h);

	/* Unsent messages are discarded whole. */
	m = rav_msg_new();
	build_salted_list(rav_msg_heap(m), rav_msg_root(m), 300, 0);
	rav_msg_free(m);

	rav_channel_close(ch);
	CHECK_STATUS(rav_recv(ch, h, dst), RAV_ECLOSED);
	rav_status st = rav_try_recv(ch, h, dst);
	CHECK(st == RAV_ECLOSED || st == RAV_EAGAIN);
	rav_channel_free(ch);
	rav_root_free(h, dst);
	rav_root_free(h, src);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}
