/* pool-test.h - what the page pool's tests share: a clock, a sleep, a
 * list built page by page (one address per page remembered), and how many
 * of those pages are resident (mincore).  Include after rav-test.h. */
#pragma once

#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rav-test.h"

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Build a list of n cells of `type` in root r; remember one address per page. */
static inline size_t build(rav_heap *h, rav_type type, rav_root r, size_t n, void **pages, size_t max_pages)
{
	rav_ref cur;
	size_t np = 0;
	CHECK_OK(rav_new_root(h, type, r, &cur));
	for (size_t i = 1; i < n; i++) {
		CHECK_OK(rav_new_field(h, type, cur, 1, &cur));
		void *pg = (void *)((uintptr_t)cur.cell & ~(uintptr_t)(RAV_PAGE_SIZE - 1));
		if (np < max_pages && (np == 0 || pages[np - 1] != pg))
			pages[np++] = pg;
	}
	return np;
}

/* How many of the n pages are resident. */
static inline size_t resident(void **pages, size_t n)
{
	long os = sysconf(_SC_PAGESIZE);
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char v = 0;
		void *base = (void *)((uintptr_t)pages[i] & ~(uintptr_t)(os - 1));
		CHECK_EQ(mincore(base, (size_t)os, &v), 0);
		count += v & 1;
	}
	return count;
}
