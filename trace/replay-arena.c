/* replay-arena.c - cell blocks on 2 MB slabs the kernel may back with huge
 * pages (replay-model.h: ravt_arena_alloc / ravt_arena_free).
 *
 * Replaying a program that touches cells all over its heap reads the cell
 * block of nearly every event from a model of tens of megabytes: through
 * malloc the blocks sit on 4 KB pages, one TLB entry covers seven of them,
 * and the page walk comes before the cache miss that the prefetch was
 * meant to hide.  Blocks are carved instead from 2 MB-aligned slabs marked
 * MADV_HUGEPAGE: with transparent huge pages set to "madvise" or "always",
 * one TLB entry covers a slab's 3,640 blocks.  Where the kernel says no,
 * the slabs are ordinary pages and nothing is lost but the slack below.
 *
 * One arena per process, behind a mutex: blocks are shared between the
 * indexing thread's models and states on other threads, and any of them
 * may drop the last reference.  The per-thread block caches of the models
 * (replay-model.c) sit in front, so the lock is taken only when a cache is
 * empty or full.  A slab that becomes empty is kept mapped as a spare, up
 * to SPARE_MAX spares, and unmapped beyond (keeping no more spares than
 * slabs in use gave back only half of the gain: a seek's state and the
 * model's copy-on-write blocks come and go together): a seek builds a
 * state of tens of megabytes and the one before it is dropped, and on
 * the VMs this runs on each 4 KB page faulted in again
 * costs ~1-2 us (a state of 36 MB: ~10 ms of a 40 ms seek; the worst seek
 * of rav-bench's uniform trace went from 66-69 to 37-40 ms wall with the
 * spares kept, the median from 26-30 to 14-16).  Blocks come from slabs
 * with holes before a new slab is mapped, so the holes dropped keyframes
 * leave are filled again: what the arena holds beyond the blocks in use
 * (which the budget counts at their full 576 bytes) is the holes of partly
 * used slabs and the spares, never over SPARE_MAX slabs (128 MB).
 *
 * A slab mapped fresh costs its first write a fault that zeroes 2 MB (or
 * 512 faults of 4 KB): on the VMs this runs on, ~5 ms each, a quarter of
 * the indexing thread's time in a heap churned uniformly (perf: the
 * live model's copies on write take ~70 slabs in 10M events while the
 * packer gives the keyframes' blocks back).  So once a slab had to be
 * mapped in line, a filler thread (started then, living as long as the
 * process) keeps FILL_TARGET spares mapped and written ahead, on the
 * other core, while the decoding thread waits for the applying one.  It
 * maps only when fewer than FILL_LOW spares are left, so the spares it
 * adds stay within SPARE_MAX; it starts after FILL_AFTER slabs were mapped
 * in line (a small trace never starts it).
 *
 * Under AddressSanitizer the blocks come from malloc, so that a block
 * used after its release is still caught.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "replay-model.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_USE_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_USE_MALLOC 1
#endif
#endif

#ifdef ARENA_USE_MALLOC

ravt_cellblock *ravt_arena_alloc(void)
{
	return aligned_alloc(_Alignof(ravt_cellblock), sizeof(ravt_cellblock));
}

void ravt_arena_free(ravt_cellblock *k)
{
	free(k);
}

size_t ravt_arena_alloc_batch(void **out, size_t n)
{
	size_t got = 0;
	for (; got < n; got++)
		if (!(out[got] = ravt_arena_alloc()))
			break;
	return got;
}

void ravt_arena_free_batch(void *const *blocks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
}

bool ravt_arena_huge(void)
{
	return false; /* (malloc's memory, which ASan checks) */
}

#else

/* Memcheck sees the slabs as one mapping: a block handed out is marked
 * undefined again, so that reading a cell never written is still reported
 * (no cost outside Valgrind). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_UNDEFINED
#define VALGRIND_MAKE_MEM_UNDEFINED(a, n) ((void)0)
#endif

#define SLAB_BYTES ((size_t)2 << 20)
#define BLOCK_BYTES sizeof(ravt_cellblock)

#define SLAB_BLOCKS ((uint32_t)(SLAB_BYTES / BLOCK_BYTES))
#define MAP_WORDS ((SLAB_BLOCKS + 63) / 64)

/* At the start of each slab, in its first block slots (HEAD_SLOTS: one
 * for 16-cell blocks, more for smaller ones).  Released blocks
 * are bits of a map, not a list through the blocks: taking one does not
 * wait for the memory of the block (a list made each block taken a
 * dependent cache miss, 32 in a row for a block cache's refill), and
 * giving one back does not write to it. */
typedef struct slab {
	struct slab *next, *prev; /* the list of slabs with free blocks */
	uint32_t used;            /* blocks handed out and not released */
	uint32_t fresh;           /* next never-used slot (HEAD_SLOTS .. SLAB_BLOCKS) */
	uint32_t nfree;           /* released blocks (bits set in map) */
	uint32_t scan;            /* map words below this one are 0 */
	bool listed;
	uint64_t map[MAP_WORDS]; /* bit i: slot i was released and is free */
} slab;

#define HEAD_SLOTS ((uint32_t)((sizeof(slab) + BLOCK_BYTES - 1) / BLOCK_BYTES))
_Static_assert(HEAD_SLOTS < SLAB_BLOCKS / 64, "the slab header takes few block slots");

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static slab *partial; /* slabs with a free block (a slab joins at its first hole) */
static slab *spare;       /* empty slabs kept mapped, linked by next */
static size_t nspare;     /* slabs on the spare list */

/* Spares beyond this are unmapped whatever is in use (2 MB each). */
enum { SPARE_MAX = 64 };
/* The filler maps slabs while fewer than FILL_LOW spares are left, up to
 * FILL_TARGET. */
enum { FILL_LOW = 2, FILL_TARGET = 4 };
/* Slabs mapped in line before the filler starts: a small trace's few
 * slabs are not worth a thread and 8 MB written ahead. */
enum { FILL_AFTER = 4 };
static unsigned mapped_inline;

static pthread_cond_t fill_cv = PTHREAD_COND_INITIALIZER;
static bool filler_on;   /* the filler thread runs (started once) */
static bool fill_start;  /* a slab was mapped in line: start the filler (once the lock is let go) */
static bool fill_failed; /* the filler could not map: the arena maps in line again */

/* Whether slabs are advised to be huge pages.  A huge page is worth its
 * TLB reach where it costs about what its 512 small pages cost to get,
 * but on some VMs it costs several times more: on the VMs this runs on, a
 * slab faulted in as a huge page of memory the process never had took 4.8
 * ms of thread CPU and one of small pages 0.74 ms (a loop of mmap,
 * madvise and a write per 4 KB page, best of 3x20), so the filler's
 * zeroing was most of the process's CPU after the apply thread's in a
 * heap churned uniformly (perf: a quarter of the samples in
 * clear_page_erms under slab_map), and the apply thread's own when the
 * filler fell behind.  Huge pages a process just gave back cost little,
 * so one timing does not decide: the filler times every slab it writes
 * (two clock readings per 2 MB) and keeps a running mean per kind, writes
 * the kind that costs less (huge pages while they cost at most
 * HUGE_MAX_RATIO times as much), and one slab in HUGE_PROBE of the other
 * kind to follow a change.  Slabs mapped in line follow the filler's
 * choice (advised until it has one).  The choice changes no result, only
 * where the memory comes from. */
static bool huge_off;                /* (__atomic: read by any thread that maps) */
static double huge_mean, small_mean; /* the filler's: CPU per slab of each kind (0: none yet) */
static unsigned filler_slabs;        /* the filler's: slabs it wrote */
#define HUGE_MAX_RATIO 2.0
#define HUGE_PROBE 8u

static slab *slab_map(bool huge)
{
	/* twice the size, then the unaligned ends trimmed: the slab of a block
	 * is found by masking its address */
	char *raw = mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	uintptr_t a = ((uintptr_t)raw + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1);
	char *s = (char *)a;
	if (s > raw)
		munmap(raw, (size_t)(s - raw));
	if (s + SLAB_BYTES < raw + 2 * SLAB_BYTES)
		munmap(s + SLAB_BYTES, (size_t)(raw + 2 * SLAB_BYTES - (s + SLAB_BYTES)));
#ifdef MADV_HUGEPAGE
	if (huge)
		(void)madvise(s, SLAB_BYTES, MADV_HUGEPAGE); /* advice: refused is fine */
#else
	(void)huge;
#endif
	slab *sl = (slab *)s;
	sl->next = sl->prev = NULL;
	sl->used = 0;
	sl->fresh = HEAD_SLOTS;
	sl->nfree = 0;
	sl->scan = 0;
	sl->listed = false;
	memset(sl->map, 0, sizeof sl->map);
	return sl;
}

/* A slab mapped and written ahead, so that its faults are taken here
 * (NULL when the kernel says no).  Each 4 KB page is written once: a huge
 * page takes one fault at the first write, ordinary pages one each. */
static double thread_cpu(void)
{
	struct timespec t;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0)
		return 0;
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static slab *slab_map_written(void)
{
	/* the kind with no timing yet (huge first), else one slab in
	 * HUGE_PROBE of the kind not chosen, else the chosen one */
	bool best = !(huge_mean > HUGE_MAX_RATIO * small_mean && small_mean > 0);
	bool huge;
	if (huge_mean == 0 || small_mean == 0)
		huge = huge_mean == 0;
	else
		huge = ++filler_slabs % HUGE_PROBE == 0 ? !best : best;
	double t0 = thread_cpu();
	slab *s = slab_map(huge);
	if (!s)
		return NULL;
	for (size_t off = 4096; off < SLAB_BYTES; off += 4096)
		((volatile char *)s)[off] = 0;
	double t = thread_cpu() - t0, *mean = huge ? &huge_mean : &small_mean;
	if (t <= 0)
		t = 1e-9; /* (no thread clock: equal means, huge pages stay) */
	*mean = *mean == 0 ? t : (3 * *mean + t) / 4;
	if (huge_mean > 0 && small_mean > 0)
		__atomic_store_n(&huge_off, huge_mean > HUGE_MAX_RATIO * small_mean, __ATOMIC_RELAXED);
	return s;
}

bool ravt_arena_huge(void)
{
	return !__atomic_load_n(&huge_off, __ATOMIC_RELAXED);
}

static void *filler_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&arena_lock);
	for (;;) {
		while (nspare >= FILL_LOW || fill_failed)
			pthread_cond_wait(&fill_cv, &arena_lock);
		while (nspare < FILL_TARGET) {
			pthread_mutex_unlock(&arena_lock);
			slab *s = slab_map_written();
			pthread_mutex_lock(&arena_lock);
			if (!s) {
				fill_failed = true;
				break;
			}
			s->next = spare;
			spare = s;
			nspare++;
		}
	}
	return NULL;
}

/* Start the filler if an allocation under the lock asked for it. */
static void filler_check(void)
{
	if (!__atomic_load_n(&fill_start, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&arena_lock);
	bool start = __atomic_load_n(&fill_start, __ATOMIC_RELAXED) && !filler_on;
	__atomic_store_n(&fill_start, false, __ATOMIC_RELAXED);
	if (start)
		filler_on = true;
	pthread_mutex_unlock(&arena_lock);
	if (!start)
		return;
	pthread_attr_t at;
	pthread_t th;
	bool ok = pthread_attr_init(&at) == 0;
	if (ok) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		ok = pthread_create(&th, &at, filler_main, NULL) == 0;
		pthread_attr_destroy(&at);
	}
	if (!ok) {
		/* maps in line, as before there was a filler */
		pthread_mutex_lock(&arena_lock);
		filler_on = false;
		fill_failed = true;
		pthread_mutex_unlock(&arena_lock);
	}
}

static void list_add(slab *s)
{
	s->prev = NULL;
	s->next = partial;
	if (partial)
		partial->prev = s;
	partial = s;
	s->listed = true;
}

static void list_del(slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
	s->listed = false;
}

/* One block, the lock held; NULL when no slab can be mapped. */
static void *take_locked(void)
{
	slab *s = partial;
	if (!s) {
		if (spare) {
			s = spare;
			spare = s->next;
			s->next = NULL;
			nspare--;
			if (nspare < FILL_LOW && filler_on)
				pthread_cond_signal(&fill_cv);
		} else {
			if (filler_on)
				pthread_cond_signal(&fill_cv); /* (it is behind) */
			s = slab_map(!__atomic_load_n(&huge_off, __ATOMIC_RELAXED));
			if (s && !filler_on && !fill_failed && ++mapped_inline >= FILL_AFTER)
				__atomic_store_n(&fill_start, true, __ATOMIC_RELAXED);
		}
		if (!s)
			return NULL;
		list_add(s);
	}
	uint32_t slot;
	if (s->nfree) {
		while (!s->map[s->scan])
			s->scan++;
		uint64_t w = s->map[s->scan];
		slot = s->scan * 64 + (uint32_t)__builtin_ctzll(w);
		s->map[s->scan] = w & (w - 1);
		s->nfree--;
	} else {
		slot = s->fresh++;
	}
	void *b = (char *)s + (size_t)slot * BLOCK_BYTES;
	s->used++;
	if (!s->nfree && s->fresh == SLAB_BLOCKS)
		list_del(s);
	(void)VALGRIND_MAKE_MEM_UNDEFINED(b, BLOCK_BYTES);
	return b;
}

ravt_cellblock *ravt_arena_alloc(void)
{
	pthread_mutex_lock(&arena_lock);
	void *b = take_locked();
	pthread_mutex_unlock(&arena_lock);
	filler_check();
	return b;
}

size_t ravt_arena_alloc_batch(void **out, size_t n)
{
	size_t got = 0;
	pthread_mutex_lock(&arena_lock);
	for (; got < n; got++)
		if (!(out[got] = take_locked()))
			break;
	pthread_mutex_unlock(&arena_lock);
	filler_check();
	return got;
}

/* Block k back to its slab, the lock held; a slab that becomes empty and
 * is not kept as a spare is returned, to be unmapped once the lock is let
 * go (NULL: none). */
static slab *give_locked(void *k)
{
	slab *s = (slab *)((uintptr_t)k & ~(uintptr_t)(SLAB_BYTES - 1));
	uint32_t slot = (uint32_t)(((uintptr_t)k - (uintptr_t)s) / BLOCK_BYTES);
	s->map[slot / 64] |= (uint64_t)1 << (slot % 64);
	s->nfree++;
	if (slot / 64 < s->scan)
		s->scan = slot / 64;
	if (--s->used == 0) {
		if (s->listed)
			list_del(s);
		memset(s->map, 0, sizeof s->map);
		s->nfree = 0;
		s->scan = 0;
		s->fresh = HEAD_SLOTS;
		if (nspare < SPARE_MAX) {
			s->next = spare;
			spare = s;
			nspare++;
			return NULL;
		}
		return s;
	}
	if (!s->listed)
		list_add(s); /* its first hole */
	return NULL;
}

void ravt_arena_free(ravt_cellblock *k)
{
	if (!k)
		return;
	pthread_mutex_lock(&arena_lock);
	slab *gone = give_locked(k);
	pthread_mutex_unlock(&arena_lock);
	if (gone)
		munmap(gone, SLAB_BYTES);
}

void ravt_arena_free_batch(void *const *blocks, size_t n)
{
	/* the slabs to unmap go on a list through their headers (a slab
	 * that is empty has no block in use that could be on it) */
	if (!n)
		return;
	slab *gone = NULL;
	pthread_mutex_lock(&arena_lock);
	for (size_t i = 0; i < n; i++) {
		slab *g = give_locked(blocks[i]);
		if (g) {
			g->next = gone;
			gone = g;
		}
	}
	pthread_mutex_unlock(&arena_lock);
	while (gone) {
		slab *next = gone->next;
		munmap(gone, SLAB_BYTES);
		gone = next;
	}
}

#endif
