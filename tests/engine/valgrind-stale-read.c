/* valgrind-stale-read.c - reads a moved-away cell through a stale borrow.
 *
 * Run by test-engine-valgrind under memcheck.  Freeing cell A moves the top
 * cell B into A's place; B's old address is then above the heap top, which
 * the engine describes to memcheck as freed (mempool client requests).  The
 * program keeps a raw copy of B's old address and reads a word through it,
 * exactly the bug a stale borrow is; memcheck must report that read.  The
 * address goes to stdout first so the runner can match it in the report.
 */
#include <stdio.h>

#include "ravioli.h"

int main(void)
{
	rav_type t = rav_type_register("stale.data", RAV_DATA, RAV_DATA);
	rav_heap *h = rav_heap_self();
	rav_root ra = rav_root_new(h), rb = rav_root_new(h);
	rav_ref a, b;
	if (!t || rav_new_root(h, t, ra, &a) != RAV_OK || rav_new_root(h, t, rb, &b) != RAV_OK) {
		fprintf(stderr, "setup failed: %s\n", rav_last_error());
		return 2;
	}
	rav_store(h, b, 0, 1234);
	rav_root_clear(h, ra); /* b moves into a's cell */
	rav_ref moved = rav_root_get(h, rb);
	volatile uintptr_t *stale = &b.cell->w[RAV_W_F0];
	printf("moved-from %p moved-to %p read-at %p\n", (void *)b.cell, (void *)moved.cell, (void *)stale);
	fflush(stdout);
	if (moved.cell == b.cell) {
		fprintf(stderr, "the engine did not move the top cell into the hole\n");
		return 3;
	}
	/* The bug under test: a raw read through the stale borrow. */
	uintptr_t v = *stale;
	printf("read %ju through the stale borrow\n", (uintmax_t)v);
	rav_root_free(h, ra);
	rav_root_free(h, rb);
	rav_thread_exit();
	return 0;
}
