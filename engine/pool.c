/* pool.c - the process-wide page pool.
 *
 * One contiguous range of address space is reserved at start (MAP_NORESERVE,
 * so it costs nothing until touched); pages are carved from it in order.
 * A contiguous range makes "which page is this address in" a subtraction,
 * which the recorder does for every address it writes.  Freed pages go to a
 * "hot" list (still backed by memory, reused first); past pool_hot_pages
 * they are handed back to the OS with MADV_DONTNEED and kept on a "cold"
 * list, so resident memory follows the live heap after a large free.
 *
 * The pool lock is the only coordination between threads for allocation; it
 * is taken once per page, never per cell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rav-private.h"

#define DEFAULT_LIMIT ((size_t)1 << 20) /* pages: 4 GiB of address space with 4 KiB pages */
#define DEFAULT_HOT 64
#define POPULATE_BATCH 64 /* fresh pages are committed this many at a time */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

rav_pool rav__pool = { .lock = PTHREAD_MUTEX_INITIALIZER };
atomic_ullong rav__seq;
static rav_config pending_config;
static bool config_given;

rav_status rav_init(const rav_config *config)
{
	pthread_mutex_lock(&rav__pool.lock);
	if (rav__pool.ready) {
		pthread_mutex_unlock(&rav__pool.lock);
		return rav__fail(RAV_ESTATE, "rav_init: the engine is already in use; call rav_init before the first heap");
	}
	if (config) {
		pending_config = *config;
		config_given = true;
	}
	pthread_mutex_unlock(&rav__pool.lock);
	return RAV_OK;
}

static rav_status reserve_locked(void)
{
	size_t want = config_given && pending_config.pool_limit_pages ? pending_config.pool_limit_pages : DEFAULT_LIMIT;
#if RAV_VALGRIND
	/* Memcheck keeps shadow state for every reserved byte: the default
	 * 4 GiB reservation costs about 9 s per process under it, which adds
	 * minutes to the checker runs.  Without an explicit limit, 256 MiB. */
	if (!(config_given && pending_config.pool_limit_pages) && RUNNING_ON_VALGRIND)
		want = (size_t)1 << 16;
#endif
	size_t hot = config_given && pending_config.pool_hot_pages ? pending_config.pool_hot_pages : DEFAULT_HOT;
	size_t pages = want;
	char *base = MAP_FAILED;
	/* Reserve one extra page so the range can be aligned to RAV_PAGE_SIZE. */
	while (pages >= 16) {
		size_t bytes = (pages + 1) * (size_t)RAV_PAGE_SIZE;
		base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (base != MAP_FAILED)
			break;
		pages /= 2;
	}
	if (base == MAP_FAILED)
		return rav__fail(RAV_ENOMEM, "page pool: cannot reserve address space (%s)", strerror(errno));
	uintptr_t aligned = ((uintptr_t)base + PAGE_MASK) & ~PAGE_MASK;
	rav__pool.base = (char *)aligned;
	rav__pool.reserved = pages;
	rav__pool.limit = pages < want ? pages : want;
	rav__pool.hot_limit = hot;
	rav__pool.populate_ok = true;
	rav__types_init();
#if RAV_VALGRIND
	VALGRIND_CREATE_MEMPOOL(rav__pool.base, 0, 1);
#endif
	/* Published last: rav__pool_ensure reads it without the lock.  Helgrind
	 * does not model C11 atomics, hence the annotation. */
#if RAV_VALGRIND
	ANNOTATE_HAPPENS_BEFORE(&rav__pool.ready);
#endif
	__atomic_store_n(&rav__pool.ready, true, __ATOMIC_RELEASE);
	return RAV_OK;
}

#if RAV_VALGRIND
/* The ready flag is read without the lock by design (release/acquire);
 * helgrind models neither, so tell it before any thread exists. */
__attribute__((constructor)) static void annotate_ready(void)
{
	ANNOTATE_BENIGN_RACE_SIZED(&rav__pool.ready, sizeof rav__pool.ready, "published with release/acquire");
}
#endif

rav_status rav__pool_ensure(void)
{
	if (RAV_LIKELY(__atomic_load_n(&rav__pool.ready, __ATOMIC_ACQUIRE))) {
#if RAV_VALGRIND
		ANNOTATE_HAPPENS_AFTER(&rav__pool.ready);
#endif
		return RAV_OK;
	}
	pthread_mutex_lock(&rav__pool.lock);
	rav_status s = __atomic_load_n(&rav__pool.ready, __ATOMIC_RELAXED) ? RAV_OK : reserve_locked();
	pthread_mutex_unlock(&rav__pool.lock);
	return s;
}

void *rav_pool_base(void)
{
	if (rav__pool_ensure() != RAV_OK)
		return NULL;
	return rav__pool.base;
}

size_t rav_page_index(const void *addr)
{
	return (size_t)(((uintptr_t)addr - (uintptr_t)rav__pool.base) / RAV_PAGE_SIZE);
}

static int by_address(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (rav_cell *const *)a, y = (uintptr_t) * (rav_cell *const *)b;
	return x < y ? -1 : x > y;
}

/* Apply advice to a batch of pages, one call per run of adjacent pages.
 * With ravioli pages smaller than the OS page, MADV_DONTNEED may only touch
 * OS pages the run covers completely (it would zero live neighbours), and
 * committing advice is widened to whole OS pages (harmless). */
static bool advise_runs(rav_cell **pages, size_t n, int advice)
{
	static uintptr_t os_page;
	if (!os_page) {
		long ps = sysconf(_SC_PAGESIZE);
		os_page = ps > 0 ? (uintptr_t)ps : 4096;
	}
	qsort(pages, n, sizeof *pages, by_address);
	bool ok = true;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		while (j < n && (char *)pages[j] == (char *)pages[j - 1] + RAV_PAGE_SIZE)
			j++;
		uintptr_t start = (uintptr_t)pages[i], end = start + (j - i) * (uintptr_t)RAV_PAGE_SIZE;
		if (advice == MADV_DONTNEED) {
			start = (start + os_page - 1) & ~(os_page - 1);
			end &= ~(os_page - 1);
		} else {
			start &= ~(os_page - 1);
			end = (end + os_page - 1) & ~(os_page - 1);
		}
		if (end > start && madvise((void *)start, end - start, advice) != 0)
			ok = false;
		i = j;
	}
	return ok;
}

/* Too many free pages are committed: give all but hot_limit back to the OS,
 * sorted so that adjacent pages go in one call.  The cold stack lives
 * outside the pages: writing a link into a page would commit it again. */
static void spill_cold_locked(void)
{
	size_t n = rav__pool.nhot - rav__pool.hot_limit;
	if (rav__pool.ncold + n > rav__pool.cold_cap) {
		size_t cap = rav__pool.cold_cap ? rav__pool.cold_cap : 1024;
		while (cap < rav__pool.ncold + n)
			cap *= 2;
		rav_cell **grown = realloc(rav__pool.cold, cap * sizeof *grown);
		if (!grown)
			return; /* keep them committed rather than lose them */
		rav__pool.cold = grown;
		rav__pool.cold_cap = cap;
	}
	rav_cell **batch = rav__pool.cold + rav__pool.ncold;
	for (size_t i = 0; i < n; i++) {
		batch[i] = rav__pool.hot;
		rav__pool.hot = (rav_cell *)rav__pool.hot->w[PH_NEXT];
	}
	rav__pool.nhot -= n;
	advise_runs(batch, n, MADV_DONTNEED);
	rav__pool.ncold += n;
}

/* Take a batch of cold pages back, committing adjacent runs in one call. */
static void refill_hot_locked(void)
{
	size_t n = rav__pool.ncold < POPULATE_BATCH ? rav__pool.ncold : POPULATE_BATCH;
	rav_cell **batch = rav__pool.cold + rav__pool.ncold - n;
	if (rav__pool.populate_ok && !advise_runs(batch, n, MADV_POPULATE_WRITE))
		rav__pool.populate_ok = false;
	/* Highest address first on the cold stack's end, so pop order is ascending. */
	for (size_t i = n; i-- > 0;) {
		rav_cell *p = batch[i];
		page_set(p, 1, 0);
		p->w[PH_NEXT] = (uintptr_t)rav__pool.hot;
		rav__pool.hot = p;
		rav__pool.nhot++;
	}
	rav__pool.ncold -= n;
}

uint64_t rav__seq_next_locked(void)
{
	return atomic_fetch_add_explicit(&rav__seq, 1, memory_order_relaxed) + 1;
}

rav_cell *rav__page_acquire(rav_heap *h, unsigned kind)
{
	if (rav__pool_ensure() != RAV_OK)
		return NULL;
	rav_cell *p = NULL;
	pthread_mutex_lock(&rav__pool.lock);
	if (rav__pool.used >= rav__pool.limit) {
		size_t limit = rav__pool.limit;
		pthread_mutex_unlock(&rav__pool.lock);
		rav__fail(RAV_ENOMEM, "page pool limit reached: %zu pages of %d bytes are in use", limit,
			  RAV_PAGE_SIZE);
		return NULL;
	}
	if (!rav__pool.hot && rav__pool.ncold)
		refill_hot_locked();
	if (rav__pool.hot) {
		p = rav__pool.hot;
		rav__pool.hot = (rav_cell *)p->w[PH_NEXT];
		rav__pool.nhot--;
	} else if (rav__pool.bump < rav__pool.reserved) {
		p = (rav_cell *)(rav__pool.base + rav__pool.bump * (size_t)RAV_PAGE_SIZE);
		if (rav__pool.bump % POPULATE_BATCH == 0 && rav__pool.populate_ok) {
			/* One call commits a batch instead of a page fault per page.
			 * Older kernels say EINVAL: then pages fault in one by one. */
			size_t n = rav__pool.reserved - rav__pool.bump;
			if (n > POPULATE_BATCH)
				n = POPULATE_BATCH;
			if (madvise(p, n * (size_t)RAV_PAGE_SIZE, MADV_POPULATE_WRITE) != 0)
				rav__pool.populate_ok = false;
		}
		rav__pool.bump++;
		VG_CELL_ALLOC(p);
	} else {
		pthread_mutex_unlock(&rav__pool.lock);
		rav__fail(RAV_ENOMEM, "page pool exhausted: all %zu reserved pages are in use", rav__pool.reserved);
		return NULL;
	}
	rav__pool.used++;
	rav__pool.acquires++;
	rav_stamp stamp = rav__stamp();
	pthread_mutex_unlock(&rav__pool.lock);
	page_set(p, 1, kind);
	p->w[PH_NEXT] = 0;
	p->w[PH_PREV] = 0;
	p->w[PH_OWNER] = (uintptr_t)h;
	h->st.pages_acquired++;
	REC_SYNC(RAV_EV_PAGE_ACQUIRE | (kind << 8), h->id, (uint64_t)(uintptr_t)p, 0, stamp);
	return p;
}

void rav__page_release(rav_heap *h, rav_cell *p)
{
	page_set(p, 1, 0);
	p->w[PH_OWNER] = 0;
	p->w[PH_PREV] = 0;
	h->st.pages_released++;
	pthread_mutex_lock(&rav__pool.lock);
	p->w[PH_NEXT] = (uintptr_t)rav__pool.hot;
	rav__pool.hot = p;
	rav__pool.nhot++;
	if (rav__pool.nhot > 2 * rav__pool.hot_limit)
		spill_cold_locked();
	rav__pool.used--;
	rav__pool.releases++;
	rav_stamp stamp = rav__stamp();
	pthread_mutex_unlock(&rav__pool.lock);
	REC_SYNC(RAV_EV_PAGE_RELEASE, h->id, (uint64_t)(uintptr_t)p, 0, stamp);
}

void rav_pool_stats_get(rav_pool_stats *out)
{
	memset(out, 0, sizeof *out);
	if (rav__pool_ensure() != RAV_OK)
		return;
	pthread_mutex_lock(&rav__pool.lock);
	out->reserved_pages = rav__pool.reserved;
	out->used_pages = rav__pool.used;
	out->free_pages = rav__pool.nhot + rav__pool.ncold;
	out->committed_free = rav__pool.nhot;
	out->acquires = rav__pool.acquires;
	out->releases = rav__pool.releases;
	out->limit_pages = rav__pool.limit;
	pthread_mutex_unlock(&rav__pool.lock);
}
