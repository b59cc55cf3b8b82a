/* unit.h - what the files of test-engine-unit share: the test types, the
 * helpers more than one area uses, and the test cases the table in
 * test-engine-unit.c runs (one file per area of the engine: unit-*.c).
 */
#ifndef RAV_TEST_ENGINE_UNIT_H
#define RAV_TEST_ENGINE_UNIT_H

#include "rav-test.h"

extern rav_type T_NODE; /* f0 data, f1 ref */
extern rav_type T_PAIR; /* f0 ref, f1 ref */
extern rav_type T_DATA; /* f0 data, f1 data */

rav_stats stats(rav_heap *h);
uint64_t live(rav_heap *h);
/* Slots referring to obj. */
size_t referrers(rav_heap *h, rav_ref obj);
/* A list of n nodes under root r, f0 = index. */
void build_list(rav_heap *h, rav_root r, size_t n);
/* The same with f0 = salt + index, and the check that root r holds one. */
void build_salted_list(rav_heap *h, rav_root r, size_t n, uintptr_t salt);
void check_list(rav_heap *h, rav_root r, size_t n, uintptr_t salt);

#if RAV_DEBUG
/* An error handler counting the misuses the engine reports. */
typedef struct misuse_log {
	int count;
	rav_status last;
} misuse_log;
void log_misuse(rav_status s, const char *message, void *user);
#endif

/* unit-basics.c */
void t_types(void);
void t_roots(void);
void t_fields(void);
/* unit-trees.c */
void t_ref_tree(void);
void t_overwrite(void);
void t_free_cascade(void);
void t_deferred(void);
void t_collect(void);
void t_hysteresis(void);
/* unit-misuse.c */
void t_stale_borrow(void);
void t_cross_heap(void);
void t_null_args(void);
void t_foreign_root(void);
void t_freed_handles(void);
void t_root_double_free(void);
void t_sent_heap(void);
void t_heap_after_exit(void);
void t_message_misuse(void);
void t_adopt_from_message(void);
void t_free_waited_channel(void);
/* unit-vectors.c */
void t_vec_data(void);
void t_vec_refs(void);
void t_bytes(void);
/* unit-messages.c */
void t_messages(void);
void t_adopt_pages(void);
void t_arrive_small(void);
void t_adopt_small(void);
void t_dirty_top(void);
/* unit-serialize.c */
void t_serialize(void);
void t_serialize_large(void);
void t_serialize_corrupt(void);
void t_serialize_stream(void);
void t_channel_leftovers(void);
void t_thread_exit(void);
/* unit-inspect.c */
void t_inspect(void);

#endif /* RAV_TEST_ENGINE_UNIT_H */
