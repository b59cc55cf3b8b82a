/* budget.c - the memory budget of an open trace (budget.h).
 *
 * The default limit is generous for real recordings (their index and live
 * model take a few times the file; a heap of mostly sequential
 * allocations compresses to well under a byte per event and still fits
 * RAVT_BUDGET_PER_BYTE) and tight for content that decompresses to far
 * more than the file suggests.  The message of a refused charge says
 * which structure asked, the limit, how it was set and how to raise it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

/* The limit from what is known (lock held): the program's, else the
 * environment's, else the default for the trace's size. */
static void update_limit(ravt_budget *b)
{
	uint64_t l;
	if (b->api_limit)
		l = b->api_limit;
	else if (b->env_limit)
		l = b->env_limit;
	else {
		uint64_t n = b->trace_bytes;
		l = n > UINT64_MAX / RAVT_BUDGET_PER_BYTE ? UINT64_MAX : n * RAVT_BUDGET_PER_BYTE;
		if (l < RAVT_BUDGET_FLOOR)
			l = RAVT_BUDGET_FLOOR;
	}
	atomic_store(&b->limit, l);
}

void ravt_budget_init(ravt_budget *b)
{
	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->lock, NULL);
	atomic_init(&b->used, 0);
	atomic_init(&b->peak, 0);
	atomic_init(&b->exceeded, false);
	atomic_init(&b->limit, RAVT_BUDGET_FLOOR);
	const char *env = getenv("RAVTRACE_MEMORY_MB");
	if (env && *env) {
		char *end;
		unsigned long long mb = strtoull(env, &end, 10);
		if (*end == 0 && mb > 0)
			b->env_limit = mb > (UINT64_MAX >> 20) ? UINT64_MAX : (uint64_t)mb << 20;
	}
	update_limit(b);
}

void ravt_budget_destroy(ravt_budget *b)
{
	pthread_mutex_destroy(&b->lock);
}

void ravt_budget_set_trace_bytes(ravt_budget *b, uint64_t bytes)
{
	pthread_mutex_lock(&b->lock);
	b->trace_bytes = bytes;
	update_limit(b);
	pthread_mutex_unlock(&b->lock);
}

void ravt_budget_set_limit(ravt_budget *b, uint64_t bytes)
{
	pthread_mutex_lock(&b->lock);
	b->api_limit = bytes;
	update_limit(b);
	pthread_mutex_unlock(&b->lock);
}

uint64_t ravt_budget_limit(const ravt_budget *b)
{
	return atomic_load(&((ravt_budget *)b)->limit);
}

bool ravt_budget_charge(ravt_budget *b, uint64_t bytes, const char *what)
{
	if (!b || !bytes)
		return true;
	uint64_t limit = atomic_load_explicit(&b->limit, memory_order_relaxed);
	uint64_t now = atomic_fetch_add_explicit(&b->used, bytes, memory_order_relaxed) + bytes;
	if (now <= limit && now >= bytes) {
		/* a maximum kept without a loop: a statistic, not a limit */
		if (now > atomic_load_explicit(&b->peak, memory_order_relaxed))
			atomic_store_explicit(&b->peak, now, memory_order_relaxed);
		return true;
	}
	atomic_fetch_sub_explicit(&b->used, bytes, memory_order_relaxed);
	pthread_mutex_lock(&b->lock);
	if (!atomic_load(&b->exceeded)) {
		b->what = what;
		b->asked = bytes;
		atomic_store(&b->exceeded, true);
	}
	pthread_mutex_unlock(&b->lock);
	return false;
}

void ravt_budget_force(ravt_budget *b, uint64_t bytes)
{
	if (b && bytes)
		atomic_fetch_add_explicit(&b->used, bytes, memory_order_relaxed);
}

void ravt_budget_release(ravt_budget *b, uint64_t bytes)
{
	if (b && bytes)
		atomic_fetch_sub_explicit(&b->used, bytes, memory_order_relaxed);
}

bool ravt_budget_recharge(ravt_budget *b, uint64_t old, uint64_t now, const char *what)
{
	if (now >= old)
		return ravt_budget_charge(b, now - old, what);
	ravt_budget_release(b, old - now);
	return true;
}

static void fmt_bytes(char *buf, size_t len, uint64_t v)
{
	if (v >= (uint64_t)10 << 30)
		snprintf(buf, len, "%llu GiB", (unsigned long long)(v >> 30));
	else if (v >= (uint64_t)10 << 20)
		snprintf(buf, len, "%llu MiB", (unsigned long long)(v >> 20));
	else if (v >= (uint64_t)10 << 10)
		snprintf(buf, len, "%llu KiB", (unsigned long long)(v >> 10));
	else
		snprintf(buf, len, "%llu bytes", (unsigned long long)v);
}

bool ravt_budget_error(const ravt_budget *b, rav_trace_error *err)
{
	if (!ravt_budget_is_exceeded(b))
		return false;
	ravt_budget *w = (ravt_budget *)b;
	pthread_mutex_lock(&w->lock);
	const char *what = b->what ? b->what : "indexing";
	uint64_t asked = b->asked, used = atomic_load(&w->used), limit = atomic_load(&w->limit);
	bool api = b->api_limit != 0, env = !api && b->env_limit != 0;
	pthread_mutex_unlock(&w->lock);
	char l[32], u[32], a[32];
	fmt_bytes(l, sizeof l, limit);
	fmt_bytes(u, sizeof u, used);
	fmt_bytes(a, sizeof a, asked);
	char how[160];
	if (api)
		snprintf(how, sizeof how, "set by the program");
	else if (env)
		snprintf(how, sizeof how, "set by RAVTRACE_MEMORY_MB");
	else
		snprintf(how, sizeof how, "the larger of %llu MiB and %u times the trace's size",
		         (unsigned long long)(RAVT_BUDGET_FLOOR >> 20), RAVT_BUDGET_PER_BYTE);
	if (!err)
		return true;
	err->code = RAV_TRACE_ELIMIT;
	err->offset = 0;
	err->chunk = -1;
	snprintf(err->message, sizeof err->message,
	         "this trace needs more memory than an open trace may take: %s asked for %s more "
	         "with %s in use, past the limit of %s (%s); set RAVTRACE_MEMORY_MB to a larger "
	         "number of MiB to open it anyway",
	         what, a, u, l, how);
	return true;
}

uint64_t ravt_budget_used(const ravt_budget *b)
{
	return atomic_load(&((ravt_budget *)b)->used);
}

uint64_t ravt_budget_peak(const ravt_budget *b)
{
	return atomic_load(&((ravt_budget *)b)->peak);
}
