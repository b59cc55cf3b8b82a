/* study-q1.h - what the two workloads of question 1 share: a child's
 * result, and recording a child's run to measure its cache-line traffic
 * (study-q1.c: the pipeline; study-q1b.c: threads updating one table).
 */
#ifndef RAV_STUDY_Q1_H
#define RAV_STUDY_Q1_H

#include "ravtrace.h"
#include "study.h"

typedef struct q1_result {
	double seconds;
	uint64_t checksum;
} q1_result;

/* Run `--study-child q1 ARGS...` recording a trace with memory accesses to
 * path, then replay it through the contention model (64-byte lines). */
bool q1_record_traffic(study_ctx *c, char *const args[], const char *path, rav_contention_totals *out);

/* The table workload: its part of q1.md (appended to f) and its plot. */
bool q1b_run(study_ctx *c, FILE *f);
int q1b_child(int argc, char **argv);

#endif /* RAV_STUDY_Q1_H */
