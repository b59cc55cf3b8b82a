/* budget.h - how much memory an open trace may take, and who took it.
 *
 * What an open trace holds grows with its content, not with its file:
 * zstd turns a chunk of a few dozen bytes into a megabyte of events, so a
 * file of a few kilobytes can name millions of threads, pages, marks and
 * thread switches.  Every structure that grows with the content (the
 * reader's chunk table, merged order, texts and chunk buffers; the tables;
 * the live replay model; series and history) charges what it allocates to
 * the trace's budget before allocating it.  A charge that would pass the
 * limit is refused, and the budget remembers which structure asked: the
 * reader's merge then stops with RAV_TRACE_ELIMIT and a message that names
 * the limit and the setting that raises it (FORMAT.md section 13).
 *
 * The limit is the larger of RAVT_BUDGET_FLOOR and RAVT_BUDGET_PER_BYTE
 * times the trace's size (a stream's grows as it arrives), unless
 * RAVTRACE_MEMORY_MB or rav_trace_set_memory_limit sets it.  Keyframes
 * have their own budget (replay-index.c), and so do copies of the model a
 * rav_state makes (one model each, no larger than the live one).
 *
 * Charges are atomic adds at growth points (an array doubling, a new
 * block), never per event; a refused charge changes nothing but the
 * sticky `exceeded` flag, which the merge reads once per segment.
 */
#ifndef RAVT_BUDGET_H
#define RAVT_BUDGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ravtrace.h"

#define RAVT_BUDGET_FLOOR ((uint64_t)256 << 20)
#define RAVT_BUDGET_PER_BYTE 64u

typedef struct ravt_budget {
	_Atomic uint64_t used;
	_Atomic uint64_t limit;
	_Atomic bool exceeded;
	pthread_mutex_t lock; /* the settings below, what, asked */
	uint64_t trace_bytes; /* file size, or stream bytes so far */
	uint64_t env_limit;   /* RAVTRACE_MEMORY_MB in bytes, 0 if unset */
	uint64_t api_limit;   /* rav_trace_set_memory_limit, 0 if unset */
	const char *what;     /* the structure whose charge was refused */
	uint64_t asked;       /* bytes it asked for */
	_Atomic uint64_t peak;
} ravt_budget;

void ravt_budget_init(ravt_budget *b);
void ravt_budget_destroy(ravt_budget *b);
/* The trace holds `bytes` (file size, or stream bytes so far): the default
 * limit follows it. */
void ravt_budget_set_trace_bytes(ravt_budget *b, uint64_t bytes);
/* The program's limit in bytes (0: back to RAVTRACE_MEMORY_MB, else the
 * default). */
void ravt_budget_set_limit(ravt_budget *b, uint64_t bytes);
uint64_t ravt_budget_limit(const ravt_budget *b);

/* Take `bytes` for `what` (a static string naming the structure).  false
 * when that would pass the limit: nothing is taken and the budget is
 * marked exceeded.  A NULL budget always grants. */
bool ravt_budget_charge(ravt_budget *b, uint64_t bytes, const char *what);
/* Take `bytes` whatever the limit (a small, bounded amount that keeps
 * what was already done consistent, after a refused charge). */
void ravt_budget_force(ravt_budget *b, uint64_t bytes);
/* Give back what a charge took. */
void ravt_budget_release(ravt_budget *b, uint64_t bytes);
/* Grow a charge from `old` to `now` bytes (release when smaller). */
bool ravt_budget_recharge(ravt_budget *b, uint64_t old, uint64_t now, const char *what);

static inline bool ravt_budget_is_exceeded(const ravt_budget *b)
{
	return b && atomic_load_explicit(&((ravt_budget *)b)->exceeded, memory_order_relaxed);
}
/* The RAV_TRACE_ELIMIT error for an exceeded budget; false if it is not. */
bool ravt_budget_error(const ravt_budget *b, rav_trace_error *err);
/* Bytes charged now and at most so far. */
uint64_t ravt_budget_used(const ravt_budget *b);
uint64_t ravt_budget_peak(const ravt_budget *b);

#endif /* RAVT_BUDGET_H */
