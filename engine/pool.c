/* pool.c - the process-wide page pool.
 *
 * Address space: one contiguous range is reserved at start (MAP_NORESERVE,
 * so it costs nothing until touched) and pages are carved from it in
 * order.  A contiguous range makes "which page is this address in" a
 * subtraction, which the recorder does for every address it writes.
 *
 * Memory: a program whose working set is rebuilt (a request's data, a
 * message, the next repetition of a benchmark) must not pay a page fault
 * per 4 KB every time, and a program that freed most of its data must see
 * its resident memory come down.  So a free page is in one of these places:
 *
 *  - its thread's page cache: acquiring and releasing a page take no lock
 *    while the cache has a page, or room.  A cache holds at most cache_max
 *    pages and moves half of that to or from the shared pool at a time,
 *    taking the shared lock once per batch.  A thread's cache empties into
 *    the shared pool when the thread ends.
 *  - warm, in the shared pool: committed, youngest first (reused first: the
 *    youngest pages are the likeliest to be in cache and in the TLB), each
 *    stamped with the time it came back.
 *
 * Layout: a heap's next page should be the page after its last one in
 * memory.  A walk over a structure allocated in order (a list, a tree
 * built depth first) then goes through memory in one direction across
 * pages, as it does through a malloc heap, and the hardware prefetcher
 * follows; with pages in any order it stops at every page and learns the
 * stream anew (HACKING.md, "Measuring the bulk free": 3x the time of the
 * same walk).  So a thread's cache is an array sorted by address, and a
 * heap takes from it the lowest page above its last one (else the lowest);
 * the cache gives its highest pages to the shared pool when it overflows;
 * a batch from the shared pool (the youngest warm pages, cold ones, fresh
 * ones carved in increasing address order) is sorted before the cache
 * gets it; and a batch given back keeps its order at the head of the warm
 * list.  A heap that gives back its top pages from the highest down
 * (truncate.c) thus leaves the warm list in increasing address order, and
 * grows back into the same pages in the same order.
 *  - cold: a warm page beyond what the pool keeps (below) that stayed
 *    unused for the purge delay is given back to the OS (MADV_DONTNEED) and
 *    kept on a stack
 *    outside the pages (writing a link into one would commit it again).
 *    Taken back, youngest first, only when no warm page is left, and
 *    committed again with MADV_POPULATE_WRITE (one call, not a fault per page).
 *  - in flight: both madvise calls run outside the lock, so no thread's page
 *    operation ever waits for the kernel working on another's pages.
 *
 * What the pool keeps warm follows the program's recent peak use and
 * decays (pool-decay.h, which also says why not as jemalloc or mimalloc
 * do): keep = max(pool_hot_pages, mark - pages in use), the mark held for
 * half of purge_decay_ms after use last stood at it, then falling to zero
 * over the other half.  A warm page beyond keep goes back once it has been
 * unused for the purge delay, oldest first.  A background thread, started
 * the first time warm pages exceed the floor, sleeps until the oldest warm
 * page is due or the mark falls (in ticks of delay/8 and fall/8, so pages
 * freed together go back together), purges what is due and sleeps again,
 * without a timeout once nothing is above the floor.  Resident memory
 * therefore comes back to live + floor + caches within purge_decay_ms (+ a
 * tick) of a large free even if the program never calls the engine again.
 * Without the thread (rav_config.no_purge_thread, or it could not be
 * created) page operations purge what is due.
 *
 * The limit counts pages out of the shared pool (held by heaps, messages
 * and caches): one thread hits it exactly when its heaps hold limit pages;
 * with several threads the others' caches (at most cache_max pages each)
 * count too.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "rav-private.h"

#define POPULATE_MAX 64  /* fresh pages committed ahead in one madvise */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

rav_pool rav__pool = { .lock = PTHREAD_MUTEX_INITIALIZER,
		       .purger_wake = PTHREAD_COND_INITIALIZER,
		       .purge_done = PTHREAD_COND_INITIALIZER };
atomic_ullong rav__seq;

static rav_config pending_config;
static bool config_given;
static atomic_size_t committing; /* pages being committed outside the lock */

/* A thread's page cache.  Only its thread touches page and n; the
 * counters are published with relaxed atomics for rav_pool_stats. */
typedef struct rav_page_cache {
	rav_cell *page[RAV_POOL_CACHE_PAGES + 1]; /* in increasing address order */
	size_t n;
	atomic_size_t n_pub;
	atomic_ullong acquires, releases;
	struct rav_page_cache *next, *prev; /* rav__pool.caches, under the lock */
	bool registered;
} rav_page_cache;

static _Thread_local rav_page_cache tcache;

/* Owner-only counter update: a plain load and store (an atomic
 * read-modify-write would cost a locked instruction per page). */
static inline void bump(atomic_ullong *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1, memory_order_relaxed);
}

/* Warm pages carry the time they came back, in ms since the pool started,
 * in their header's scalar (40 bits: 34 years). */
static inline void warm_stamp(rav_cell *p, uint64_t now)
{
	p->w[0] = make_tw(RAV_TYPE_HEADER, p->w[0] & PAGE_DIRTY, (now - rav__pool.t0_ns) / 1000000u);
}

/* ---- set-up ---- */

rav_status rav_init(const rav_config *config)
{
	if (config) {
		if (config->pool_limit_pages > RAV_POOL_MAX_PAGES)
			return rav__fail(RAV_EINVAL,
					 "rav_init: pool_limit_pages %zu is beyond the largest pool (%zu pages of %d bytes)",
					 config->pool_limit_pages, (size_t)RAV_POOL_MAX_PAGES, RAV_PAGE_SIZE);
		if (config->pool_hot_pages > RAV_POOL_MAX_PAGES)
			return rav__fail(RAV_EINVAL, "rav_init: pool_hot_pages %zu is beyond the largest pool (%zu pages)",
					 config->pool_hot_pages, (size_t)RAV_POOL_MAX_PAGES);
		if (config->purge_delay_ms > RAV_POOL_MAX_PURGE_DELAY_MS)
			return rav__fail(RAV_EINVAL, "rav_init: purge_delay_ms %u is longer than a day (%u ms)",
					 config->purge_delay_ms, RAV_POOL_MAX_PURGE_DELAY_MS);
		if (config->purge_decay_ms > RAV_POOL_MAX_PURGE_DELAY_MS)
			return rav__fail(RAV_EINVAL, "rav_init: purge_decay_ms %u is longer than a day (%u ms)",
					 config->purge_decay_ms, RAV_POOL_MAX_PURGE_DELAY_MS);
	}
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

/* fork() while another thread holds the pool lock must not leave the
 * child with a lock nobody will release; the purge thread does not survive
 * into the child. */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&rav__pool.lock);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&rav__pool.lock);
}

static void atfork_child(void)
{
	rav__pool.purger_running = false;
	rav__pool.purger_idle = false;
	/* A purge round in flight belongs to a thread the child does not have:
	 * its pages never come back here, so no acquire may wait for them. */
	rav__pool.purging = 0;
	pthread_mutex_unlock(&rav__pool.lock);
}

static rav_status reserve_locked(void)
{
	size_t want = config_given && pending_config.pool_limit_pages ? pending_config.pool_limit_pages
								       : RAV_POOL_DEFAULT_LIMIT_PAGES;
#if RAV_VALGRIND
	/* Memcheck keeps shadow state for every reserved byte: the default
	 * reservation costs seconds per process under it. */
	if (!(config_given && pending_config.pool_limit_pages) && RUNNING_ON_VALGRIND)
		want = RAV_POOL_VALGRIND_LIMIT_PAGES;
#endif
	size_t pages = want;
	char *base = MAP_FAILED;
	/* Reserve one extra page so the range can be aligned to RAV_PAGE_SIZE.
	 * rav_init bounds want, so the size cannot overflow. */
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
	rav__pool.reserve = config_given && pending_config.pool_hot_pages ? pending_config.pool_hot_pages
									   : RAV_POOL_DEFAULT_RESERVE_PAGES;
	unsigned delay = config_given && pending_config.purge_delay_ms ? pending_config.purge_delay_ms
								       : RAV_POOL_DEFAULT_PURGE_DELAY_MS;
	rav__pool.delay_ns = (uint64_t)delay * 1000000u;
	unsigned decay = config_given && pending_config.purge_decay_ms ? pending_config.purge_decay_ms
								       : RAV_POOL_DEFAULT_DECAY_MS;
	rav__pool.mark.hold_ns = (uint64_t)decay * 1000000u / 2;
	rav__pool.mark.fall_ns = (uint64_t)decay * 1000000u - rav__pool.mark.hold_ns;
	rav__pool.purger_off = config_given && pending_config.no_purge_thread;
	/* A small limit must not vanish into caches: a cache holds at most
	 * 1/16 of it. */
	size_t cmax = rav__pool.limit / 16;
	rav__pool.cache_max = cmax < 1 ? 1 : cmax > RAV_POOL_CACHE_PAGES ? RAV_POOL_CACHE_PAGES : cmax;
	rav__pool.t0_ns = rav__pool_now_ns();
	rav__pool.populate_ok = true;
	const char *arr = getenv("RAVIOLI_ARRIVAL");
	if (arr && strcmp(arr, "fill-tail") == 0)
		rav__arrive_policy = RAV_ARRIVE_FILL_TAIL;
	else if (arr && strcmp(arr, "evacuate") == 0)
		rav__arrive_policy = RAV_ARRIVE_EVACUATE;
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* The purger's timed waits are on the monotonic clock. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_destroy(&rav__pool.purger_wake);
	pthread_cond_init(&rav__pool.purger_wake, &ca);
	pthread_condattr_destroy(&ca);
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

uint64_t rav__seq_next_locked(void)
{
	return atomic_fetch_add_explicit(&rav__seq, 1, memory_order_relaxed) + 1;
}

/* ---- the shared pool (everything here runs under rav__pool.lock) ---- */

/* Pages (linked through PH_NEXT) become the head of the warm list, in
 * their order: they are its youngest, all stamped now. */
static void warm_push_list_locked(rav_cell *list, size_t n, uint64_t now)
{
	rav_cell *prev = NULL, *p = list;
	for (size_t i = 0; i < n; i++) {
		warm_stamp(p, now);
		p->w[PH_OWNER] = 0;
		p->w[PH_PREV] = (uintptr_t)prev;
		prev = p;
		p = (rav_cell *)p->w[PH_NEXT];
	}
	rav_assert(p == NULL);
	prev->w[PH_NEXT] = (uintptr_t)rav__pool.warm;
	if (rav__pool.warm)
		rav__pool.warm->w[PH_PREV] = (uintptr_t)prev;
	else
		rav__pool.warm_tail = prev;
	rav__pool.warm = list;
	rav__pool.nwarm += n;
}

static rav_cell *warm_pop_locked(void)
{
	rav_cell *p = rav__pool.warm;
	rav__pool.warm = (rav_cell *)p->w[PH_NEXT];
	if (rav__pool.warm)
		rav__pool.warm->w[PH_PREV] = 0;
	else
		rav__pool.warm_tail = NULL;
	rav__pool.nwarm--;
	return p;
}

/* Put n pages (linked through PH_NEXT) back into the shared pool. */
static void shared_release(rav_cell *list, size_t n, uint64_t releases)
{
	uint64_t now = rav__pool_now_ns();
	pthread_mutex_lock(&rav__pool.lock);
	warm_push_list_locked(list, n, now);
	rav_mark_note(&rav__pool.mark, rav__pool.out, now); /* use falls from here */
	rav__pool.out -= n;
	rav__pool.releases += releases;
	rav__pool.shared_locks++;
	bool start = rav__purger_notify_locked();
	rav__purge_inline_locked();
	pthread_mutex_unlock(&rav__pool.lock);
	if (start)
		rav__purger_start();
}

/* Take up to `want` pages from the shared pool (at least one, or 0 with
 * an error) into out[], in increasing address order: warm first, then
 * cold, then fresh ones.  Cold and fresh pages are committed after the
 * lock is released. */
static size_t shared_acquire(size_t want, rav_cell **out, bool count_one)
{
	rav_cell *commit[POPULATE_MAX + 8];
	size_t ncommit = 0;
	rav_cell *fresh = NULL;
	size_t nfresh = 0;
	uint64_t now = rav__pool_now_ns();
	pthread_mutex_lock(&rav__pool.lock);
	rav__pool.shared_locks++;
retry:
	if (rav__pool.out >= rav__pool.limit) {
		size_t limit = rav__pool.limit;
		pthread_mutex_unlock(&rav__pool.lock);
		rav__fail(RAV_ENOMEM, "page pool limit reached: %zu pages of %d bytes are in use (by heaps, messages "
				      "and threads' page caches)", limit, RAV_PAGE_SIZE);
		return 0;
	}
	if (want > rav__pool.limit - rav__pool.out)
		want = rav__pool.limit - rav__pool.out;
	if (want > POPULATE_MAX)
		want = POPULATE_MAX;
	size_t got = 0;
	while (got < want && rav__pool.warm)
		out[got++] = warm_pop_locked();
	size_t nwarm = got;
	while (got < want && rav__pool.ncold) {
		rav_cell *p = rav__pool.cold[--rav__pool.ncold];
		commit[ncommit++] = p;
		got++;
	}
	rav__pool.recommitted_pages += ncommit;
	if (got < want && rav__pool.bump < rav__pool.reserved) {
		nfresh = want - got;
		if (nfresh > rav__pool.reserved - rav__pool.bump)
			nfresh = rav__pool.reserved - rav__pool.bump;
		fresh = (rav_cell *)(rav__pool.base + rav__pool.bump * (size_t)RAV_PAGE_SIZE);
		rav__pool.bump += nfresh;
		got += nfresh;
	}
	if (got == 0 && rav__pool.purging > 0) {
		/* Every free page is on its way back to the OS (a purge round
		 * runs outside the lock): those are free pages all the same, so
		 * wait for the round to put them on the cold stack rather than
		 * report an exhausted pool.  Nothing was taken yet. */
		pthread_cond_wait(&rav__pool.purge_done, &rav__pool.lock);
		goto retry;
	}
	if (got == 0) {
		size_t reserved = rav__pool.reserved;
		pthread_mutex_unlock(&rav__pool.lock);
		rav__fail(RAV_ENOMEM, "page pool exhausted: all %zu reserved pages are in use", reserved);
		return 0;
	}
	rav__pool.out += got;
	rav_mark_note(&rav__pool.mark, rav__pool.out, now);
	if (count_one)
		rav__pool.acquires++;
	bool populate = rav__pool.populate_ok;
	rav__purge_inline_locked();
	pthread_mutex_unlock(&rav__pool.lock);
	if (ncommit || nfresh)
		atomic_fetch_add(&committing, ncommit + nfresh);
	/* Commit outside the lock: one call per run instead of a fault per page.
	 * Older kernels say EINVAL: then pages fault in one by one. */
	bool ok = true;
	if (nfresh && populate)
		ok = madvise(fresh, nfresh * (size_t)RAV_PAGE_SIZE, MADV_POPULATE_WRITE) == 0;
	if (ncommit && populate && ok)
		ok = rav__advise_runs(commit, ncommit, MADV_POPULATE_WRITE);
	if (!ok) {
		pthread_mutex_lock(&rav__pool.lock);
		rav__pool.populate_ok = false;
		pthread_mutex_unlock(&rav__pool.lock);
	}
	size_t k = nwarm;
	for (size_t i = 0; i < ncommit; i++)
		out[k++] = commit[i];
	for (size_t i = 0; i < nfresh; i++) {
		rav_cell *p = (rav_cell *)((char *)fresh + i * (size_t)RAV_PAGE_SIZE);
		VG_CELL_ALLOC(p);
		out[k++] = p;
	}
	rav_assert(k == got);
	if (ncommit || nfresh)
		atomic_fetch_sub(&committing, ncommit + nfresh);
	/* Fresh pages come in order and above all others; warm ones usually
	 * do too (a heap gave them back from its highest down), so this is
	 * mostly a check. */
	for (size_t i = 1; i < got; i++) {
		rav_cell *p = out[i];
		size_t j = i;
		for (; j > 0 && (uintptr_t)out[j - 1] > (uintptr_t)p; j--)
			out[j] = out[j - 1];
		out[j] = p;
	}
	return got;
}

/* ---- the thread's cache ---- */

static void cache_register(rav_page_cache *c)
{
	pthread_mutex_lock(&rav__pool.lock);
	c->prev = NULL;
	c->next = rav__pool.caches;
	if (c->next)
		c->next->prev = c;
	rav__pool.caches = c;
	c->registered = true;
	pthread_mutex_unlock(&rav__pool.lock);
}

/* Give the cache's n highest pages to the shared pool (in their order). */
static void cache_spill(rav_page_cache *c, size_t n)
{
	size_t keep = c->n - n;
	for (size_t i = keep; i < c->n; i++)
		c->page[i]->w[PH_NEXT] = i + 1 < c->n ? (uintptr_t)c->page[i + 1] : 0;
	rav_cell *list = c->page[keep];
	c->n = keep;
	atomic_store_explicit(&c->n_pub, keep, memory_order_relaxed);
	shared_release(list, n, 0);
}

/* The index of the first cached page above `after` (c->n if none). */
static size_t cache_above(const rav_page_cache *c, const rav_cell *after)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if ((uintptr_t)c->page[mid] > (uintptr_t)after)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Take the cache's page at index i. */
static rav_cell *cache_take(rav_page_cache *c, size_t i)
{
	rav_cell *p = c->page[i];
	memmove(&c->page[i], &c->page[i + 1], (c->n - i - 1) * sizeof c->page[0]);
	c->n--;
	atomic_store_explicit(&c->n_pub, c->n, memory_order_relaxed);
	return p;
}

void rav__page_cache_flush(void)
{
	rav_page_cache *c = &tcache;
	if (c->n)
		cache_spill(c, c->n);
	if (c->registered) {
		pthread_mutex_lock(&rav__pool.lock);
		if (c->prev)
			c->prev->next = c->next;
		else
			rav__pool.caches = c->next;
		if (c->next)
			c->next->prev = c->prev;
		rav__pool.acquires += atomic_load_explicit(&c->acquires, memory_order_relaxed);
		rav__pool.releases += atomic_load_explicit(&c->releases, memory_order_relaxed);
		atomic_store_explicit(&c->acquires, 0, memory_order_relaxed);
		atomic_store_explicit(&c->releases, 0, memory_order_relaxed);
		c->registered = false;
		pthread_mutex_unlock(&rav__pool.lock);
	}
}

/* ---- page operations of heaps ---- */

/* A page for h; a dirty one is zeroed first unless the caller takes it
 * dirty (rav__page_acquire_dirty). */
static rav_cell *page_take(rav_heap *h, unsigned kind, bool clean)
{
	if (rav__pool_ensure() != RAV_OK)
		return NULL;
	rav_cell *p;
	/* Threads that have a heap cache pages (their heap's destructor
	 * empties the cache); others go to the shared pool every time. */
	rav_page_cache *c = rav__self() ? &tcache : NULL;
	if (c) {
		if (RAV_UNLIKELY(c->n == 0)) {
			if (!c->registered)
				cache_register(c);
			rav_cell *got[POPULATE_MAX];
			size_t n = shared_acquire(rav__pool.cache_max / 2 + 1, got, false);
			if (n == 0)
				return NULL;
			memcpy(c->page, got, n * sizeof got[0]);
			c->n = n;
		}
		/* The page after the heap's last one in memory, or as near above
		 * it as the cache has (see the top); a root page, which no walk
		 * follows, the highest. */
		size_t i = kind == RAV_PAGE_ROOT ? c->n - 1 : h->last ? cache_above(c, h->last) : 0;
		p = cache_take(c, i < c->n ? i : 0);
		bump(&c->acquires);
	} else if (shared_acquire(1, &p, true) == 0) {
		return NULL;
	}
	/* Ordering: this page's release (on this or another thread) took its
	 * sequence number before the page left that thread; the shared lock
	 * or program order makes this one larger. */
	rav_stamp stamp = rav__stamp();
	uintptr_t dirty = 0;
	if (page_dirty(p)) {
		if (clean)
			rav__page_clean(p);
		else
			dirty = PAGE_DIRTY;
	}
	page_set(p, 1, kind);
	p->w[0] |= dirty;
	p->w[PH_NEXT] = 0;
	p->w[PH_PREV] = 0;
	p->w[PH_OWNER] = (uintptr_t)h;
	h->st.pages_acquired++;
	REC_SYNC(RAV_EV_PAGE_ACQUIRE | (kind << 8), h->id, (uint64_t)(uintptr_t)p, 0, stamp);
	return p;
}

rav_cell *rav__page_acquire(rav_heap *h, unsigned kind)
{
	return page_take(h, kind, true);
}

rav_cell *rav__page_acquire_dirty(rav_heap *h, unsigned kind)
{
	return page_take(h, kind, false);
}

/* A dirty page's cells were never zeroed (PAGE_DIRTY in rav-private.h);
 * to memcheck they are free chunks of the pool. */
void rav__page_clean(rav_cell *p)
{
	VG_OPEN(&p[1], RAV_PAGE_SIZE - RAV_CELL_SIZE);
	memset(&p[1], 0, RAV_PAGE_SIZE - RAV_CELL_SIZE);
	VG_CLOSE(&p[1], RAV_PAGE_SIZE - RAV_CELL_SIZE);
	p->w[0] &= ~PAGE_DIRTY;
}

void rav__page_release(rav_heap *h, rav_cell *p)
{
	uintptr_t dirty = p->w[0] & PAGE_DIRTY; /* stays with the page until it is used again */
	page_set(p, 1, 0);
	p->w[0] |= dirty;
	p->w[PH_OWNER] = 0;
	p->w[PH_PREV] = 0;
	h->st.pages_released++;
	REC_SYNC(RAV_EV_PAGE_RELEASE, h->id, (uint64_t)(uintptr_t)p, 0, rav__stamp());
	rav_page_cache *c = rav__self() ? &tcache : NULL;
	if (!c) {
		p->w[PH_NEXT] = 0;
		shared_release(p, 1, 1);
		return;
	}
	if (!c->registered)
		cache_register(c);
	size_t i = cache_above(c, p);
	memmove(&c->page[i + 1], &c->page[i], (c->n - i) * sizeof c->page[0]);
	c->page[i] = p;
	c->n++;
	atomic_store_explicit(&c->n_pub, c->n, memory_order_relaxed);
	bump(&c->releases);
	if (RAV_UNLIKELY(c->n > rav__pool.cache_max))
		cache_spill(c, c->n - rav__pool.cache_max / 2);
}

void rav_pool_stats_get(rav_pool_stats *out)
{
	if (!out) {
		rav__misuse(RAV_EINVAL, "rav_pool_stats_get: null output");
		return;
	}
	memset(out, 0, sizeof *out);
	if (rav__pool_ensure() != RAV_OK)
		return;
	uint64_t now = rav__pool_now_ns();
	pthread_mutex_lock(&rav__pool.lock);
	uint64_t cached = 0, acq = rav__pool.acquires, rel = rav__pool.releases;
	uint32_t threads = 0;
	for (rav_page_cache *c = rav__pool.caches; c; c = c->next) {
		cached += atomic_load_explicit(&c->n_pub, memory_order_relaxed);
		acq += atomic_load_explicit(&c->acquires, memory_order_relaxed);
		rel += atomic_load_explicit(&c->releases, memory_order_relaxed);
		threads++;
	}
	size_t in_flight = rav__pool.purging + atomic_load(&committing);
	out->reserved_pages = rav__pool.reserved;
	out->used_pages = rav__pool.out - cached;
	out->cached_pages = cached;
	out->warm_pages = rav__pool.nwarm;
	out->reserve_pages = rav__pool.reserve;
	out->cold_pages = rav__pool.ncold;
	out->purging_pages = in_flight;
	out->free_pages = cached + rav__pool.nwarm + rav__pool.ncold + rav__pool.purging;
	out->committed_free = cached + rav__pool.nwarm;
	out->acquires = acq;
	out->releases = rel;
	out->limit_pages = rav__pool.limit;
	out->purge_delay_ms = rav__pool.delay_ns / 1000000u;
	out->oldest_warm_ms = rav__pool.warm_tail && now > rav__warm_time_ns(rav__pool.warm_tail)
				      ? (now - rav__warm_time_ns(rav__pool.warm_tail)) / 1000000u
				      : 0;
	size_t keep = rav__pool_keep_locked(now);
	out->keep_pages = keep;
	out->due_pages = rav__pool.nwarm > keep ? rav__pool.nwarm - keep : 0;
	out->purge_decay_ms = (rav__pool.mark.hold_ns + rav__pool.mark.fall_ns) / 1000000u;
	out->peak_pages = rav__pool.mark.peak;
	out->mark_pages = rav_mark_at(&rav__pool.mark, now);
	out->peak_age_ms = now > rav__pool.mark.peak_ns ? (now - rav__pool.mark.peak_ns) / 1000000u : 0;
	out->purged_pages = rav__pool.purged_pages;
	out->recommitted_pages = rav__pool.recommitted_pages;
	out->shared_locks = rav__pool.shared_locks;
	out->threads_caching = threads;
	out->cache_pages_max = (uint32_t)rav__pool.cache_max;
	out->purge_thread = rav__pool.purger_running && !rav__pool.purger_off;
	pthread_mutex_unlock(&rav__pool.lock);
}
