/* unit-misuse.c - test-engine-unit's cases for API misuse: stale borrows,
 * another thread's heap, null or foreign arguments (debug checks), and
 * handles used after their end (a root freed twice, a sent message's heap,
 * a heap after rav_thread_exit, freed messages and channels, a channel
 * freed under a blocked receiver), which every build reports.
 */
#include <pthread.h>
#include <sys/syscall.h>
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

/* ---- null and foreign arguments: a precise report, never a crash ---- */

typedef struct misuse_text {
	int count;
	rav_status last;
	char message[256];
} misuse_text;

static void keep_misuse(rav_status s, const char *message, void *user)
{
	misuse_text *m = user;
	m->count++;
	m->last = s;
	snprintf(m->message, sizeof m->message, "%s", message);
}

/* expr misuses the API: the handler hears of it once, with `needle` in the
 * message (which rav_last_error also gives). */
#define EXPECT_MISUSE(expr, needle) EXPECT_MISUSE_AS(RAV_EINVAL, needle, expr)
/* (expr last: once expanded, its commas are arguments too) */
#define EXPECT_MISUSE_AS(status, needle, ...)                                                                \
	do {                                                                                                 \
		misuse_text m_ = {0, RAV_OK, ""};                                                            \
		rav_set_error_handler(keep_misuse, &m_);                                                     \
		__VA_ARGS__;                                                                                 \
		rav_set_error_handler(NULL, NULL);                                                           \
		if (m_.count != 1 || m_.last != (status) || !strstr(m_.message, needle) ||                   \
		    !strstr(rav_last_error(), needle)) {                                                     \
			fprintf(stderr,                                                                      \
			        "%s:%d: %s: misuse reported %d time(s) (%s) with '%s', expected "            \
			        "%s with '%s'\n",                                                            \
			        __FILE__, __LINE__, #__VA_ARGS__, m_.count, rav_status_name(m_.last), m_.message,   \
			        rav_status_name(status), needle);                                            \
			CHECK(0);                                                                            \
		}                                                                                            \
	} while (0)

static bool no_slot(uintptr_t *slot, void *user)
{
	(void)slot;
	(void)user;
	return true;
}

void t_null_args(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h), list = rav_root_new(h);
	rav_ref x;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &x));
	rav_stats st;
	rav_cell_info info;

	/* Checked in every build: the calls that are not per cell. */
	EXPECT_MISUSE(CHECK_EQ(rav_heap_gen(NULL), 0), "rav_heap_gen: null heap");
	EXPECT_MISUSE(rav_heap_stats(h, NULL), "null output");
	EXPECT_MISUSE(rav_pool_stats_get(NULL), "null output");
	EXPECT_MISUSE(rav_cell_inspect(h, NULL, &info), "not a raviolo address");
	EXPECT_MISUSE(rav_cell_inspect(h, (rav_cell *)&st, &info), "not a raviolo address");
	EXPECT_MISUSE(rav_cell_inspect(h, x.cell, NULL), "null output");
	EXPECT_MISUSE(rav_referrers(NULL, x, no_slot, NULL), "null heap");
	EXPECT_MISUSE(rav_referrers(h, x, NULL, NULL), "null visitor");
	EXPECT_MISUSE(rav_set_free_mode(NULL, RAV_FREE_DEFERRED), "rav_set_free_mode: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_compact(NULL, 0), 0), "rav_compact: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_collect(NULL), 0), "rav_collect: null heap");
	/* (and those that were already: a status and rav_last_error) */
	CHECK_EQ(rav_heap_check(NULL), RAV_EINVAL);
	CHECK(rav_root_new(NULL) == NULL && strstr(rav_last_error(), "null heap"));
	CHECK_EQ(rav_vec_new_root(NULL, r, false), RAV_EINVAL);
	rav_heap_stats(NULL, &st);
	CHECK_EQ(st.live_cells, 0);
	rav_cell_inspect(h, x.cell, &info);
	CHECK(info.cell == x.cell && info.type == T_PAIR);

#if RAV_DEBUG
	/* The per-cell calls check their heap with debug checks (a build
	 * without them tests only what the inline fast paths test: a null
	 * borrow, root or field index).  The library's functions by name, so
	 * that this runs the same with the inline paths forced on. */
	rav_ref out = {(rav_cell *)1, 1};
	EXPECT_MISUSE(CHECK_EQ((rav_new_field)(NULL, T_DATA, x, 0, &out), RAV_EINVAL),
	              "rav_new_field: null heap");
	EXPECT_MISUSE(CHECK_EQ((rav_load)(NULL, x, 0), 0), "rav_load: null heap");
	EXPECT_MISUSE((rav_store)(NULL, x, 0, 1), "rav_store: null heap");
	EXPECT_MISUSE(CHECK((rav_load_ref)(NULL, x, 0).cell == NULL), "rav_load_ref: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_store_ref(NULL, x, 0, x), RAV_EINVAL), "rav_store_ref: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_clear_ref(NULL, x, 0), RAV_EINVAL), "rav_clear_ref: null heap");
	EXPECT_MISUSE(CHECK((rav_root_get)(NULL, r).cell == NULL), "rav_root_get: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_root_set(NULL, r, x), RAV_EINVAL), "rav_root_set: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_root_clear(NULL, r), RAV_EINVAL), "rav_root_clear: null heap");
	EXPECT_MISUSE(CHECK(!rav_root_is_set(NULL, r)), "rav_root_is_set: null heap");
	EXPECT_MISUSE(rav_root_free(NULL, r), "rav_root_free: null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_move(NULL, rav_root_slot(list), rav_root_slot(r)), RAV_EINVAL),
	              "null heap");
	EXPECT_MISUSE(CHECK_EQ(rav_type_of(NULL, x), 0), "rav_type_of: null heap");
	EXPECT_MISUSE(CHECK_EQ((rav_scalar)(NULL, x), 0), "rav_scalar: null heap");
	EXPECT_MISUSE((rav_set_scalar)(NULL, x, 1), "rav_set_scalar: null heap");
	/* Addresses that are not the engine's, where a root or slot goes. */
	uintptr_t word = 0;
	EXPECT_MISUSE(CHECK((rav_root_get)(h, (rav_root)&word).cell == NULL), "not a root");
	EXPECT_MISUSE(CHECK_EQ(rav_move(h, rav_root_slot(list), (rav_slot){&word, 0}), RAV_EINVAL),
	              "not a slot");
	EXPECT_MISUSE(CHECK_EQ((rav_new_before)(h, T_PAIR, (rav_slot){&word, 0}, 0, NULL), RAV_EINVAL),
	              "not a slot");
	/* Nothing changed on the way. */
	CHECK(rav_root_get(h, r).cell == x.cell);
	CHECK(!rav_root_is_set(h, list));
	CHECK_EQ(rav_scalar(h, x), 0);
#else
	printf("# debug checks are off in this build: the per-cell calls do not test their heap\n");
#endif
	rav_root_free(h, r);
	rav_root_free(h, list);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

/* ---- a root of another heap where a message goes or comes from ---- */

typedef struct foreign_ctx {
	pthread_barrier_t ready, done;
	rav_root root; /* the other thread's, holding one raviolo */
} foreign_ctx;

static void *foreign_thread(void *arg)
{
	foreign_ctx *ctx = arg;
	rav_heap *h = rav_heap_self();
	ctx->root = rav_root_new(h);
	rav_ref x;
	CHECK_OK(rav_new_root(h, T_DATA, ctx->root, &x));
	rav_store(h, x, 0, 77);
	pthread_barrier_wait(&ctx->ready);
	pthread_barrier_wait(&ctx->done);
	/* nothing of its heap changed on the way */
	CHECK_EQ(rav_load(h, rav_root_get(h, ctx->root), 0), 77);
	CHECK_HEAP(h);
	rav_root_free(h, ctx->root);
	rav_thread_exit();
	return NULL;
}

/* rav_msg_adopt of another heap's root crashed (the subtree walk went
 * through the other thread's cells), and rav_try_recv into another heap's
 * root returned RAV_OK with the message's cells linked into that heap.
 * Both are checked in every build: one check per call, next to a walk or a
 * lock. */
void t_foreign_root(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	foreign_ctx ctx;
	pthread_t th;
	pthread_barrier_init(&ctx.ready, NULL, 2);
	pthread_barrier_init(&ctx.done, NULL, 2);
	CHECK_EQ(pthread_create(&th, NULL, foreign_thread, &ctx), 0);
	pthread_barrier_wait(&ctx.ready);

	rav_msg *m = rav_msg_new();
	CHECK(m != NULL);
	EXPECT_MISUSE(CHECK_EQ(rav_msg_adopt(m, h, ctx.root), RAV_EINVAL), "rav_msg_adopt");
	CHECK_EQ(rav_msg_adopt(m, h, NULL), RAV_EINVAL); /* (a null argument: a status, as before) */
	rav_ref x;
	CHECK_OK(rav_new_root(rav_msg_heap(m), T_DATA, rav_msg_root(m), &x));
	rav_store(rav_msg_heap(m), x, 0, 5);
	rav_channel *ch = rav_channel_new();
	CHECK_OK(rav_send(ch, m));
	EXPECT_MISUSE(CHECK_EQ(rav_try_recv(ch, h, ctx.root), RAV_EINVAL), "rav_recv");
	EXPECT_MISUSE(CHECK_EQ(rav_try_recv(ch, h, NULL), RAV_EINVAL), "rav_recv");
	/* the message is still there for a root of this heap */
	rav_root mine = rav_root_new(h);
	CHECK_OK(rav_try_recv(ch, h, mine));
	CHECK_EQ(rav_load(h, rav_root_get(h, mine), 0), 5);
	rav_root_free(h, mine);
	rav_channel_free(ch);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);

	pthread_barrier_wait(&ctx.done);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&ctx.ready);
	pthread_barrier_destroy(&ctx.done);
}

/* ---- messages and channels used after they were freed ---- */

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UNIT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNIT_ASAN 1
#endif
#endif

/* A message freed twice had its pages torn down twice (silently), sending
 * a freed one crashed, a channel freed twice aborted in free(): each is now
 * a report, in every build, from a word cleared before the memory goes
 * back.  The calls read freed memory on purpose, which ASan and memcheck
 * report themselves: skipped there. */
void t_freed_handles(void)
{
#ifdef UNIT_ASAN
	printf("# ASan reports these uses of freed memory itself: skipped\n");
	return;
#else
	if (RUNNING_ON_VALGRIND) {
		printf("# memcheck reports these uses of freed memory itself: skipped\n");
		return;
	}
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_channel *ch = rav_channel_new();
	rav_msg *m = rav_msg_new();
	rav_ref x;
	CHECK_OK(rav_new_root(rav_msg_heap(m), T_DATA, rav_msg_root(m), &x));
	rav_msg_free(m);
	EXPECT_MISUSE(rav_msg_free(m), "rav_msg_free: ");
	EXPECT_MISUSE(CHECK_EQ(rav_send(ch, m), RAV_EINVAL), "is not a message the program holds");
	EXPECT_MISUSE(CHECK(rav_msg_heap(m) == NULL), "rav_msg_heap: ");
	EXPECT_MISUSE(CHECK(rav_msg_root(m) == NULL), "rav_msg_root: ");

	/* a sent message belongs to its channel */
	rav_msg *sent = rav_msg_new();
	CHECK_OK(rav_new_root(rav_msg_heap(sent), T_DATA, rav_msg_root(sent), &x));
	CHECK_OK(rav_send(ch, sent));
	EXPECT_MISUSE(rav_msg_free(sent), "was sent");
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_try_recv(ch, h, r));
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);

	rav_channel_free(ch);
	EXPECT_MISUSE(rav_channel_free(ch), "is not a channel");
	EXPECT_MISUSE(rav_channel_close(ch), "is not a channel");
	rav_root q = rav_root_new(h);
	EXPECT_MISUSE(CHECK_EQ(rav_try_recv(ch, h, q), RAV_EINVAL), "is not a channel");
	rav_root_free(h, q);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
#endif
}

/* ---- roots, messages and heaps used after their end ---- */

/* A root freed twice went onto the free-slot stack twice, and the next two
 * rav_root_new handed the same slot to two owners.  Reported in every build
 * (rav_root_free is not a per-cell call); debug builds also report any
 * other use of the freed root. */
void t_root_double_free(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	rav_ref x;
	CHECK_OK(rav_new_root(h, T_DATA, r, &x));
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);
	EXPECT_MISUSE_AS(RAV_ESTALE, "freed", rav_root_free(h, r));
#if RAV_DEBUG
	EXPECT_MISUSE_AS(RAV_ESTALE, "was freed with rav_root_free", CHECK((rav_root_get)(h, r).cell == NULL));
	EXPECT_MISUSE_AS(RAV_ESTALE, "rav_new_root: root", CHECK((rav_new_root)(h, T_DATA, r, NULL) != RAV_OK));
	EXPECT_MISUSE_AS(RAV_ESTALE, "rav_root_is_set: root", CHECK(!rav_root_is_set(h, r)));
#endif
	/* Two new roots are two slots. */
	rav_root a = rav_root_new(h), b = rav_root_new(h);
	CHECK(a != NULL && b != NULL && a != b);
	CHECK_OK(rav_new_root(h, T_DATA, a, &x));
	rav_store(h, x, 0, 11);
	CHECK_OK(rav_new_root(h, T_DATA, b, &x));
	rav_store(h, x, 0, 22);
	CHECK_EQ(rav_load(h, rav_root_get(h, a), 0), 11);
	CHECK_EQ(rav_load(h, rav_root_get(h, b), 0), 22);
	rav_root_free(h, a);
	rav_root_free(h, b);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);

	/* A message root too (message heaps keep root cells in their pages). */
	rav_msg *m = rav_msg_new();
	rav_heap *mh = rav_msg_heap(m);
	rav_root extra = rav_root_new(mh);
	rav_root_free(mh, extra);
	EXPECT_MISUSE_AS(RAV_ESTALE, "freed", rav_root_free(mh, extra));
	rav_root e1 = rav_root_new(mh), e2 = rav_root_new(mh);
	CHECK(e1 != e2 && e1 != rav_msg_root(m) && e2 != rav_msg_root(m));
	rav_root_free(mh, e1);
	rav_root_free(mh, e2);
	rav_msg_free(m);
}

/* A message's heap after rav_send: its pages are the channel's (and then the
 * receiver's), but rav_root_new and allocations into it returned RAV_OK and
 * wrote into them.  Reported in every build. */
void t_sent_heap(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_channel *ch = rav_channel_new();
	rav_msg *m = rav_msg_new();
	rav_heap *mh = rav_msg_heap(m);
	rav_root mroot = rav_msg_root(m);
	rav_ref x;
	CHECK_OK(rav_new_root(mh, T_DATA, mroot, &x));
	rav_store(mh, x, 0, 31);
	CHECK_OK(rav_send(ch, m));
	EXPECT_MISUSE_AS(RAV_ESTATE, "was sent", CHECK(rav_root_new(mh) == NULL));
	/* an allocation (by the library's function: the inline path ends there
	 * too once the top has no room) */
	EXPECT_MISUSE_AS(RAV_ESTATE, "was sent", CHECK((rav_new_root)(mh, T_DATA, mroot, NULL) != RAV_OK));
	EXPECT_MISUSE_AS(RAV_ESTATE, "was sent", CHECK(rav_new_root(mh, T_DATA, mroot, NULL) != RAV_OK));
	EXPECT_MISUSE_AS(RAV_ESTATE, "was sent", CHECK(rav_new_root(mh, T_DATA, mroot, NULL) != RAV_OK));
#if RAV_DEBUG
	EXPECT_MISUSE_AS(RAV_ESTATE, "was sent", CHECK((rav_root_get)(mh, mroot).cell == NULL));
#endif
	/* The message arrives as it was sent. */
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_try_recv(ch, h, r));
	x = rav_root_get(h, r);
	CHECK_EQ(rav_load(h, x, 0), 31);
	CHECK_EQ(live(h), base + 1);
	rav_root_free(h, r);
	rav_channel_free(ch);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

typedef struct ended_ctx {
	rav_heap *heap;
	rav_root root;
} ended_ctx;

static void *ending_thread(void *arg)
{
	ended_ctx *ctx = arg;
	ctx->heap = rav_heap_self();
	ctx->root = rav_root_new(ctx->heap);
	CHECK_OK(rav_new_root(ctx->heap, T_DATA, ctx->root, NULL));
	rav_thread_exit();
	return NULL;
}

static void *other_thread(void *arg)
{
	rav_heap **out = arg;
	*out = rav_heap_self();
	rav_root r = rav_root_new(*out);
	CHECK_OK(rav_new_root(*out, T_DATA, r, NULL));
	rav_root_free(*out, r);
	return NULL; /* (its heap ends with the thread) */
}

/* A heap used after its thread's rav_thread_exit: its structure was freed,
 * and every call read and wrote freed memory.  The structure is kept (for
 * a while, bounded): rav_root_new and allocations report it in every build,
 * debug builds every call. */
void t_heap_after_exit(void)
{
	ended_ctx ctx = {NULL, NULL};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, ending_thread, &ctx), 0);
	pthread_join(th, NULL);
	EXPECT_MISUSE_AS(RAV_ESTALE, "rav_thread_exit", CHECK(rav_root_new(ctx.heap) == NULL));
	CHECK_EQ(rav_heap_id(ctx.heap) != 0, 1);
#if RAV_DEBUG
	EXPECT_MISUSE_AS(RAV_ESTALE, "ended", CHECK((rav_root_get)(ctx.heap, ctx.root).cell == NULL));
	EXPECT_MISUSE_AS(RAV_ESTALE, "ended", CHECK((rav_new_root)(ctx.heap, T_DATA, ctx.root, NULL) != RAV_OK));
#endif
	EXPECT_MISUSE_AS(RAV_ESTALE, "ended", rav_root_free(ctx.heap, ctx.root));
	/* A thread started now gets a heap of its own, not the ended one. */
	rav_heap *other = NULL;
	CHECK_EQ(pthread_create(&th, NULL, other_thread, &other), 0);
	pthread_join(th, NULL);
	CHECK(other != NULL && other != ctx.heap);
	EXPECT_MISUSE_AS(RAV_ESTALE, "ended", CHECK(rav_root_new(other) == NULL));
	/* The calling thread's heap is untouched. */
	CHECK_HEAP(rav_heap_self());
}

/* More of the same kind: a message root freed as if it were the program's
 * (the next rav_root_new handed it out again: two owners of one slot), a
 * message adopting its own root, a sent message serialized (its pages read
 * while the receiver may be taking them). */
void t_message_misuse(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_msg *m = rav_msg_new();
	rav_heap *mh = rav_msg_heap(m);
	rav_ref x;
	CHECK_OK(rav_new_root(mh, T_DATA, rav_msg_root(m), &x));
	rav_store(mh, x, 0, 41);
	EXPECT_MISUSE(rav_root_free(mh, rav_msg_root(m)), "message root");
	rav_root other = rav_root_new(mh);
	CHECK(other != rav_msg_root(m));
	rav_root_free(mh, other);
	rav_status st = RAV_OK;
	EXPECT_MISUSE(st = rav_msg_adopt(m, mh, rav_msg_root(m)), "rav_msg_adopt");
	CHECK(st != RAV_OK);
	rav_channel *ch = rav_channel_new();
	CHECK_OK(rav_send(ch, m));
	int fds[2];
	CHECK_EQ(pipe(fds), 0);
	CHECK_EQ(rav_serialize_msg(m, fds[1], 0), RAV_ESTATE);
	CHECK(strstr(rav_last_error(), "was sent") != NULL);
	close(fds[0]);
	close(fds[1]);
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_try_recv(ch, h, r));
	CHECK_EQ(rav_load(h, rav_root_get(h, r), 0), 41);
	rav_root_free(h, r);
	rav_channel_free(ch);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

/* rav_msg_adopt from another message's heap (not its own). */
void t_adopt_from_message(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_msg *a = rav_msg_new(), *b = rav_msg_new();
	rav_heap *ah = rav_msg_heap(a);
	rav_root src = rav_root_new(ah);
	rav_ref x;
	CHECK_OK(rav_new_root(ah, T_DATA, src, &x));
	rav_store(ah, x, 0, 52);
	rav_status st = rav_msg_adopt(b, ah, src);
	printf("# adopt from another message's heap: %s\n", rav_status_name(st));
	rav_root_free(ah, src);
	rav_msg_free(a);
	rav_channel *ch = rav_channel_new();
	CHECK_OK(rav_send(ch, b));
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_try_recv(ch, h, r));
	if (st == RAV_OK)
		CHECK_EQ(rav_load(h, rav_root_get(h, r), 0), 52);
	rav_root_free(h, r);
	rav_channel_free(ch);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

typedef struct blocked_ctx {
	rav_channel *ch;
	rav_status st;
	_Atomic long tid; /* the receiver's, once it is about to call rav_recv */
} blocked_ctx;

static void *blocked_receiver(void *arg)
{
	blocked_ctx *ctx = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	ctx->tid = (long)syscall(SYS_gettid);
	ctx->st = rav_recv(ctx->ch, h, r);
	rav_root_free(h, r);
	rav_thread_exit();
	return NULL;
}

/* Is thread tid of this process asleep (state S in /proc)? */
static bool thread_sleeps(long tid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *end = strrchr(buf, ')'); /* state follows the command name */
	return end && end[1] == ' ' && end[2] == 'S';
}

/* rav_channel_free while a receiver sleeps in rav_recv destroyed the
 * condition variable it waits on.  Refused; close, join, free works. */
void t_free_waited_channel(void)
{
	blocked_ctx ctx = {rav_channel_new(), RAV_OK, 0};
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, blocked_receiver, &ctx), 0);
	/* until it sleeps in rav_recv (parked on the channel before it waits) */
	while (!ctx.tid || !thread_sleeps(ctx.tid))
		usleep(1000);
	EXPECT_MISUSE_AS(RAV_ESTATE, "blocked in rav_recv", rav_channel_free(ctx.ch));
	rav_channel_close(ctx.ch);
	pthread_join(th, NULL);
	CHECK_EQ(ctx.st, RAV_ECLOSED);
	rav_channel_free(ctx.ch);
}
