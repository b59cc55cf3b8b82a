/* unit-misuse.c - test-engine-unit's cases for the debug checks: stale
 * borrows and another thread's heap.
 */
#include <pthread.h>
#include <unistd.h>

#include "unit.h"

/* ---- debug checks ---- */

void t_stale_borrow(void)
{
#if RAV_DEBUG
	rav_heap *h = rav_heap_self();
	rav_root ra = rav_root_new(h), rb = rav_root_new(h);
	rav_ref a, b;
	CHECK_OK(rav_new_root(h, T_DATA, ra, &a));
	CHECK_OK(rav_new_root(h, T_DATA, rb, &b));
	rav_store(h, b, 0, 99);
	uint32_t gen = rav_heap_gen(h);
	CHECK_OK(rav_root_clear(h, ra)); /* frees a: b moves into its place */
	CHECK(rav_heap_gen(h) != gen);
	misuse_log log = { 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	(void)rav_load(h, b, 0);
	rav_set_error_handler(NULL, NULL);
	CHECK_EQ(log.count, 1);
	CHECK_EQ(log.last, RAV_ESTALE);
	/* A fresh borrow works. */
	CHECK_EQ(rav_load(h, rav_root_get(h, rb), 0), 99);
	rav_root_free(h, ra);
	rav_root_free(h, rb);
	CHECK_HEAP(h);
#else
	printf("# debug checks are off in this build: nothing to detect\n");
#endif
}

#if RAV_DEBUG
typedef struct cross_ctx {
	pthread_barrier_t ready, done;
	rav_ref foreign;
} cross_ctx;

static void *cross_thread(void *arg)
{
	cross_ctx *ctx = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_new_root(h, T_DATA, r, &ctx->foreign));
	pthread_barrier_wait(&ctx->ready);
	pthread_barrier_wait(&ctx->done);
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

#endif

void t_cross_heap(void)
{
#if RAV_DEBUG
	rav_heap *h = rav_heap_self();
	cross_ctx ctx;
	pthread_t th;
	pthread_barrier_init(&ctx.ready, NULL, 2);
	pthread_barrier_init(&ctx.done, NULL, 2);
	CHECK_EQ(pthread_create(&th, NULL, cross_thread, &ctx), 0);
	pthread_barrier_wait(&ctx.ready);

	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	rav_ref mine;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &mine));
	misuse_log log = { 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	rav_status st = rav_store_ref(h, mine, 0, ctx.foreign);
	rav_set_error_handler(NULL, NULL);
	printf("# cross-heap store: returned %s, misuse handler called %d time(s), last %s\n", rav_status_name(st),
	       log.count, rav_status_name(log.last));
	CHECK(st == RAV_ECROSS || (log.count >= 1 && log.last == RAV_ECROSS));
	CHECK(log.count == 0 || log.last == RAV_ECROSS);
	mine = rav_root_get(h, r);
	CHECK(rav_ref_is_null(rav_load_ref(h, mine, 0)));
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);

	/* A refused push into a full reference vector leaves it as it was
	 * (the push would have grown the tree first). */
	rav_root vr = rav_root_new(h), t = rav_root_new(h);
	rav_ref x;
	CHECK_OK(rav_new_root(h, T_DATA, t, &x));
	CHECK_OK(rav_vec_new_root(h, vr, true));
	CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, vr), rav_root_get(h, t)));
	CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, vr), rav_root_get(h, t)));
	uint64_t before = live(h);
	log = (misuse_log){ 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	st = rav_vec_push_ref(h, rav_root_get(h, vr), ctx.foreign);
	rav_set_error_handler(NULL, NULL);
	CHECK(st != RAV_OK);
	CHECK_EQ(log.last, RAV_ECROSS);
	CHECK_EQ(live(h), before);
	CHECK_EQ(rav_vec_len(h, rav_root_get(h, vr)), 2);
	CHECK(rav_vec_get_ref(h, rav_root_get(h, vr), 1).cell == rav_root_get(h, t).cell);
	CHECK_HEAP(h);
	rav_root_free(h, vr);
	rav_root_free(h, t);
	CHECK_EQ(live(h), base);

	pthread_barrier_wait(&ctx.done);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&ctx.ready);
	pthread_barrier_destroy(&ctx.done);
#else
	printf("# debug checks are off in this build: nothing to detect\n");
#endif
}
