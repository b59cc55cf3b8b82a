/* pages.c - lesson "One heap per thread, pages, and the two-empty-page
 * rule" (samples/lessons/pages.lesson).
 *
 * Two threads, each with its own heap.  alpha fills three pages, beta a
 * part of one; then alpha frees its cells from the top, one by one.  When
 * its top page empties the heap keeps it (one empty page in hand); when a
 * second page empties, one page goes back to the pool.  The threads take
 * turns (a condition variable), so the marks come in the order the lesson
 * tells them.
 */
#include "sample.h"

#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int turn; /* 0 alpha fills, 1 beta, 2 alpha frees */
static rav_type node;
static size_t per_page; /* cells a page holds besides its header */

static void wait_turn(int t)
{
	pthread_mutex_lock(&lock);
	while (turn != t)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

static void give_turn(int t)
{
	pthread_mutex_lock(&lock);
	turn = t;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

/* list = new node -> list: the newest node is the top cell. */
static void push(rav_heap *h, rav_root list, rav_root tmp)
{
	sample_check(rav_new_root(h, node, tmp, NULL), "allocate");
	sample_check(rav_move(h, rav_field_slot(rav_root_get(h, tmp), 1), rav_root_slot(list)), "link");
	sample_check(rav_move(h, rav_root_slot(list), rav_root_slot(tmp)), "make it the head");
}

static void *alpha(void *arg)
{
	size_t cells = *(size_t *)arg;
	rav_thread_name("alpha");
	rav_heap *h = rav_heap_self();
	rav_root list = rav_root_new(h), tmp = rav_root_new(h);
	if (!h || !list || !tmp)
		sample_check(RAV_ENOMEM, "alpha");
	for (size_t i = 0; i < cells; i++)
		push(h, list, tmp);
	rav_mark("alpha: three pages");
	give_turn(1);
	wait_turn(2);
	rav_mark("alpha: freeing from the top");
	/* Popping the head frees the top cell: nothing moves. */
	for (size_t left = cells; left > 0; left--) {
		rav_ref head = rav_root_get(h, list);
		sample_check(rav_move(h, rav_root_slot(list), rav_field_slot(head, 1)), "pop");
		if (left - 1 == 2 * per_page)
			rav_mark("alpha: the top page is empty");
		if (left - 1 == per_page)
			rav_mark("alpha: a second page is empty");
	}
	rav_mark("alpha: all freed");
	sample_check_heap("alpha", h);
	give_turn(3);
	return NULL;
}

static void *beta(void *arg)
{
	size_t cells = *(size_t *)arg;
	wait_turn(1);
	rav_thread_name("beta");
	rav_heap *h = rav_heap_self();
	rav_root list = rav_root_new(h), tmp = rav_root_new(h);
	if (!h || !list || !tmp)
		sample_check(RAV_ENOMEM, "beta");
	for (size_t i = 0; i < cells; i++)
		push(h, list, tmp);
	rav_mark("beta: a heap of its own");
	give_turn(2);
	wait_turn(3);
	sample_check_heap("beta", h);
	return NULL;
}

int main(int argc, char **argv)
{
	size_t extra = sample_size_arg(argc, argv, 40, 10000, "cells alpha puts on its third page",
	                               "Lesson sample: two threads, pages, and the two-empty-page rule.");
	rav_thread_name("main");
	node = rav_type_register("node", RAV_DATA, RAV_REF);
	if (!node)
		sample_check(RAV_ENOMEM, "set up");
	per_page = RAV_PAGE_CELLS - 1;
	size_t a_cells = 2 * per_page + extra, b_cells = per_page / 2;
	pthread_t a, b;
	if (pthread_create(&a, NULL, alpha, &a_cells) != 0 || pthread_create(&b, NULL, beta, &b_cells) != 0) {
		fprintf(stderr, "rav-lesson-pages: cannot start threads\n");
		return 1;
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("rav-lesson-pages: alpha used %zu cells, beta %zu\n", a_cells, b_cells);
	return 0;
}
