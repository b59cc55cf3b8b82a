/* contention.c - cache-line contention model: who makes which cache lines
 * bounce between cores.
 *
 * The recorded loads and stores (RAV_EV_ACCESS) and the engine's own memory
 * writes (alloc, move, fix-up, stores, links: every word the engine writes
 * is in the trace) are replayed, in the global event order, through a MESI
 * coherence model with one cache per recording thread.  Per line we keep
 * the set of threads holding a copy and which one holds it exclusively
 * (E or M).  A miss on a line that another thread's cache holds is a
 * cross-thread transfer (the data comes from that cache); a write that
 * removes other threads' copies counts one invalidation per copy removed.
 * A miss on a line no cache holds is a cold miss and is not counted.
 *
 * Caches have infinite capacity: only coherence misses are modelled, never
 * capacity or conflict misses.  That is the quantity ravscope wants (the
 * traffic threads cause each other), and it keeps the model exact and fast.
 * Page hand-offs are not memory accesses: the receiver pays for the lines
 * it later touches, which is where ravioli messages cost what they cost.
 *
 * Threads are reported by their index in rav_trace_thread_at order (the
 * table also lists message heaps).  Each thread that touches memory gets a
 * cache, numbered in order of first access; holder masks have 64 bits, so a
 * 65th accessing thread would share cache 63 with another (their mutual
 * traffic would then be invisible): stated here rather than hidden; no
 * sample comes near it.  A line keeps the caches that touched it (64
 * bits), so the threads of a line are named by cache, whatever their index
 * in the thread table, which also lists every message heap:
 * rav_contention_line_threads gives them all, and says when threads past
 * the 64th shared cache 63.  thread_mask in the results has the same threads
 * limited to the first 64 thread indices (what it always meant).
 *
 * Lines are kept in an open-addressing hash table keyed by line number
 * (pool-relative byte address / line size, or raw address / line size with
 * bit 63 for memory outside the pool).  The table may take no more than the
 * trace's memory limit (rav_trace_memory_limit): past it the run stops
 * with RAV_TRACE_ELIMIT.  Transfers per page are summed from the lines
 * into a small table of the pages that have any, so a page index far up
 * costs nothing.  Heap ids are looked up in a hash table whose keys are 64
 * bits wide: every 32-bit id, 2^32-1 included, is a valid key.
 *
 * One file of about 800 lines on purpose: the line table, the coherence
 * step and the sums per page, thread, site and window that the queries at
 * the end read are one model built in one pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contention.h"
#include "hash.h"
#include "rav-record.h"
#include "trace-private.h"

typedef struct cline {
	uint64_t key;     /* line key + 1; 0 = free slot */
	uint64_t holders; /* threads holding a copy */
	uint64_t tmask;   /* caches (threads, cache_thread) that ever touched it */
	uint64_t transfers, invalidations, reads, writes;
	int16_t owner; /* thread bit holding it E or M, -1 if shared or nobody */
	uint32_t hot;  /* index in the hottest-lines list (after finish) */
} cline;

/* Transfers of one line caused by one call site's accesses. */
typedef struct lsite {
	uint64_t key; /* line key + 1 (0 = free slot) */
	uint32_t site;
	uint64_t transfers;
} lsite;

struct rav_contention {
	uint32_t line_size, page_size, cell_size, word_size;
	uint32_t cpp;
	cline *tab;
	size_t cap, used;
	rav_contention_totals tot;
	rav_contention_line *hot;
	unsigned nhot;
	struct page_count {
		uint64_t page_plus1; /* 0: empty slot */
		uint64_t transfers;
	} * pages; /* open addressing, built by con_finish */
	size_t pages_cap;
	uint64_t limit; /* bytes the line table may take (0: no limit) */
	bool limit_hit;
	uint64_t *threads;
	unsigned nthreads;
	unsigned windows;
	uint64_t from, to;
	uint64_t *win;
	/* thread heap id -> index (keys are id + 1 in 64 bits: 0 is free) */
	uint64_t *tid_keys;
	uint32_t *tid_vals;
	uint32_t tid_cap;
	bool tid_cached;
	uint32_t tid_cache;
	unsigned ti_cache, bit_cache;
	/* Caches are numbered 0..63 in the order threads first access memory
	 * (message heaps never do, so the thread table's length does not
	 * matter); a 65th accessing thread would share cache 63. */
	uint8_t *cache_of; /* per thread index: cache number + 1, 0 = none yet */
	unsigned ncaches;
	uint32_t cache_thread[64]; /* thread index of each cache's first thread */
	bool cache_shared;         /* a 65th thread was given cache 63 */
	cline *last;      /* entry of the last line touched (NULL after the table grows) */
	unsigned cur_win; /* current window and the first event index of the next */
	uint64_t win_next;
	/* Call sites (format 1.3): the site of the event being fed, transfers
	 * per site, and per (line, site) for the hottest lines' culprits. */
	uint32_t site;
	uint64_t *site_tr;
	uint32_t nsite_tr;
	lsite *ls;
	size_t ls_cap, ls_used;
	uint32_t *hot_site_start; /* per hot line: its sites in hot_sites[start[i] .. start[i + 1]) */
	lsite *hot_sites;
	bool oom;
};

#define EXT_BIT ((uint64_t)1 << 63)

static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *msg)
{
	ravt_error_set(err, code, "contention", msg);
}


/* Home slot of a stored key (line + 1).  Pool lines are small dense
 * numbers: they index the table directly, so neighbouring lines sit in
 * neighbouring slots and the model keeps the locality of the program's
 * accesses (hashing them made every access a cache miss).  External
 * addresses are hashed. */
static inline size_t home(uint64_t key, size_t mask)
{
	return (size_t)(((key - 1) & EXT_BIT) ? ravt_mix_fast(key) : key) & mask;
}

static bool tab_grow(rav_contention *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 1u << 12;
	if (c->limit && ncap * sizeof(cline) > c->limit) {
		c->limit_hit = true;
		return false;
	}
	cline *n = calloc(ncap, sizeof *n);
	if (!n)
		return false;
	for (size_t i = 0; i < c->cap; i++) {
		if (!c->tab[i].key)
			continue;
		size_t j = home(c->tab[i].key, ncap - 1);
		while (n[j].key)
			j = (j + 1) & (ncap - 1);
		n[j] = c->tab[i];
	}
	free(c->tab);
	c->tab = n;
	c->cap = ncap;
	c->last = NULL;
	return true;
}

static cline *tab_find(const rav_contention *c, uint64_t line)
{
	if (!c->cap)
		return NULL;
	uint64_t k = line + 1;
	for (size_t i = home(k, c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
		if (c->tab[i].key == k)
			return &c->tab[i];
		if (!c->tab[i].key)
			return NULL;
	}
}

static cline *tab_get(rav_contention *c, uint64_t line)
{
	if ((c->used + 1) * 2 > c->cap && !tab_grow(c))
		return NULL;
	uint64_t k = line + 1;
	size_t i = home(k, c->cap - 1);
	while (c->tab[i].key) {
		if (c->tab[i].key == k)
			return &c->tab[i];
		i = (i + 1) & (c->cap - 1);
	}
	cline *e = &c->tab[i];
	memset(e, 0, sizeof *e);
	e->key = k;
	e->owner = -1;
	c->used++;
	return e;
}

static unsigned thread_index(rav_contention *c, uint32_t heap_id)
{
	uint32_t mask = c->tid_cap - 1;
	uint64_t key = (uint64_t)heap_id + 1;
	for (uint32_t i = (heap_id * 2654435761u) & mask;; i = (i + 1) & mask) {
		if (c->tid_keys[i] == key)
			return c->tid_vals[i];
		if (!c->tid_keys[i])
			return UINT32_MAX;
	}
}

static struct page_count *page_slot(const rav_contention *c, uint64_t page)
{
	if (!c->pages_cap)
		return NULL;
	size_t mask = c->pages_cap - 1;
	for (size_t i = (size_t)ravt_mix_fast(page + 1) & mask;; i = (i + 1) & mask)
		if (c->pages[i].page_plus1 == page + 1 || !c->pages[i].page_plus1)
			return &c->pages[i];
}

static void site_transfer(rav_contention *c, uint64_t key)
{
	uint32_t site = c->site;
	if (site >= c->nsite_tr) {
		uint32_t n = c->nsite_tr ? c->nsite_tr : 64;
		while (n <= site && n < (1u << 30))
			n *= 2;
		if (n <= site) {
			c->oom = true;
			return;
		}
		uint64_t *p = realloc(c->site_tr, sizeof *p * n);
		if (!p) {
			c->oom = true;
			return;
		}
		memset(p + c->nsite_tr, 0, sizeof *p * (n - c->nsite_tr));
		c->site_tr = p;
		c->nsite_tr = n;
	}
	c->site_tr[site]++;
	if ((c->ls_used + 1) * 2 > c->ls_cap) {
		size_t ncap = c->ls_cap ? c->ls_cap * 2 : 1024;
		lsite *n = calloc(ncap, sizeof *n);
		if (!n) {
			c->oom = true;
			return;
		}
		for (size_t i = 0; i < c->ls_cap; i++) {
			if (!c->ls[i].key)
				continue;
			size_t j = ravt_mix_fast(c->ls[i].key ^ ((uint64_t)c->ls[i].site << 32)) & (ncap - 1);
			while (n[j].key)
				j = (j + 1) & (ncap - 1);
			n[j] = c->ls[i];
		}
		free(c->ls);
		c->ls = n;
		c->ls_cap = ncap;
	}
	size_t j = ravt_mix_fast(key ^ ((uint64_t)site << 32)) & (c->ls_cap - 1);
	while (c->ls[j].key && (c->ls[j].key != key || c->ls[j].site != site))
		j = (j + 1) & (c->ls_cap - 1);
	if (!c->ls[j].key) {
		c->ls[j].key = key;
		c->ls[j].site = site;
		c->ls_used++;
	}
	c->ls[j].transfers++;
}

/* One access by thread `ti` (index in the thread table; nthreads for an
 * unknown one), whose cache is `bitno`, to line `line`; false on out of
 * memory. */
static bool touch(rav_contention *c, uint64_t line, unsigned ti, unsigned bitno, bool write, unsigned window)
{
	/* the engine writes the same cell several times in a row: a hit on the
	 * line this thread just touched needs no table lookup */
	cline *e = c->last;
	if (e && e->key == line + 1 && e->owner == (int16_t)bitno && e->holders == (uint64_t)1 << bitno) {
		if (write)
			e->writes++;
		else
			e->reads++;
		return true;
	}
	e = tab_get(c, line);
	if (!e)
		return false;
	c->last = e;
	uint64_t bit = (uint64_t)1 << bitno;
	e->tmask |= bit;
	uint64_t others = e->holders & ~bit;
	bool transfer = false;
	if (!write) {
		e->reads++;
		if (e->holders & bit)
			return true; /* hit in S, E or M */
		if (others) {
			transfer = true;
			e->owner = -1; /* the E/M holder, if any, drops to S */
		} else {
			e->owner = (int16_t)bitno; /* E */
		}
		e->holders |= bit;
	} else {
		e->writes++;
		if ((e->holders & bit) && e->owner == (int16_t)bitno)
			return true; /* E or M: silent upgrade / hit */
		if (!(e->holders & bit) && others)
			transfer = true; /* read-for-ownership from another cache */
		if (others) {
			uint64_t n = (uint64_t)__builtin_popcountll(others);
			e->invalidations += n;
			c->tot.invalidations += n;
		}
		e->holders = bit;
		e->owner = (int16_t)bitno;
	}
	if (transfer) {
		e->transfers++;
		c->tot.transfers++;
		site_transfer(c, e->key);
		c->threads[ti]++;
		c->win[window]++;
	}
	return true;
}

/* Access of `size` bytes at a location by thread ti. */
static bool access_range(rav_contention *c, rav_loc l, uint64_t size, unsigned ti, unsigned bit, bool write,
                         unsigned window)
{
	uint64_t byte, ext = 0;
	if (l & RAV_LOC_EXTERNAL) {
		byte = l & ~RAV_LOC_EXTERNAL;
		ext = EXT_BIT;
	} else {
		byte = (uint64_t)rav_loc_page(l) * c->page_size + (uint64_t)rav_loc_cell(l) * c->cell_size +
		       (uint64_t)rav_loc_word(l) * c->word_size;
	}
	if (size == 0)
		size = 1;
	uint64_t first = byte / c->line_size, last = (byte + size - 1) / c->line_size;
	if (last - first > 64)
		last = first + 64; /* a huge recorded range: bound the work per event */
	c->tot.accesses++;
	for (uint64_t ln = first; ln <= last; ln++)
		if (!touch(c, (ln & ~EXT_BIT) | ext, ti, bit, write, window))
			return false;
	return true;
}

static int cmp_hot(const void *pa, const void *pb)
{
	const rav_contention_line *a = pa, *b = pb;
	if (a->transfers != b->transfers)
		return a->transfers < b->transfers ? 1 : -1;
	if (a->invalidations != b->invalidations)
		return a->invalidations < b->invalidations ? 1 : -1;
	return a->line < b->line ? -1 : a->line > b->line;
}

/* First event index of window w. */
static uint64_t window_first(const rav_contention *c, unsigned w)
{
	uint64_t span = c->to - c->from;
	return c->from + (uint64_t)(((unsigned __int128)span * w + c->windows - 1) / c->windows);
}

static rav_contention *con_new(uint32_t page_size, uint32_t cell_size, uint8_t word_size,
                               const rav_contention_config *cfg, uint64_t from, uint64_t to,
                               rav_trace_error *err)
{
	rav_contention *c = calloc(1, sizeof *c);
	if (!c) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return NULL;
	}
	c->line_size = cfg && cfg->line_size ? cfg->line_size : 64;
	c->page_size = page_size;
	c->cell_size = cell_size ? cell_size : 32;
	c->word_size = word_size ? word_size : 8;
	if (c->line_size & (c->line_size - 1) || c->line_size < 8 || c->line_size > 65536) {
		char m[128];
		snprintf(m, sizeof m, "line size %u is not a power of two between 8 and 65536", c->line_size);
		set_err(err, RAV_TRACE_EHEADER, m);
		free(c);
		return NULL;
	}
	if (!c->page_size || c->page_size % c->cell_size) {
		set_err(err, RAV_TRACE_EHEADER, "the trace header gives no usable page and cell size");
		free(c);
		return NULL;
	}
	c->from = from;
	c->to = to < from ? from : to;
	c->windows = cfg && cfg->windows ? cfg->windows : 64;
	c->win = calloc(c->windows, sizeof *c->win);
	if (!c->win || !tab_grow(c)) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		rav_contention_free(c);
		return NULL;
	}
	c->tid_cached = false;
	c->cur_win = 0;
	/* no range given (detached runs): everything in window 0 */
	c->win_next = c->to > c->from ? window_first(c, 1) : UINT64_MAX;
	return c;
}

static bool map_threads(rav_contention *c, const uint32_t *ids, unsigned n)
{
	c->tid_cap = 16;
	while (c->tid_cap < (n + 1) * 2)
		c->tid_cap *= 2;
	c->tid_keys = calloc(c->tid_cap, sizeof *c->tid_keys);
	c->tid_vals = calloc(c->tid_cap, sizeof *c->tid_vals);
	c->nthreads = n;
	/* one more slot: events of a thread missing from the table */
	c->threads = calloc(n + 1, sizeof *c->threads);
	c->cache_of = calloc(n + 1, sizeof *c->cache_of);
	if (!c->tid_keys || !c->tid_vals || !c->threads || !c->cache_of)
		return false;
	for (unsigned i = 0; i < n; i++) {
		uint32_t mask = c->tid_cap - 1, j = (ids[i] * 2654435761u) & mask;
		uint64_t key = (uint64_t)ids[i] + 1;
		while (c->tid_keys[j] && c->tid_keys[j] != key)
			j = (j + 1) & mask;
		if (c->tid_keys[j])
			continue; /* the first entry of an id keeps it */
		c->tid_keys[j] = key;
		c->tid_vals[j] = i;
	}
	return true;
}

/* Feed one event (global order).  false on out of memory. */
static bool con_feed(rav_contention *c, const rav_event *ev)
{
	/* events come in order: advance the window when its end is passed
	 * (event e is in window floor((e - from) * W / span)) */
	while (ev->index >= c->win_next && c->cur_win + 1 < c->windows) {
		c->cur_win++;
		c->win_next = window_first(c, c->cur_win + 1);
	}
	unsigned w = c->cur_win;
	/* Only events that touch memory give their heap a cache: a message
	 * heap names itself in the events that make it and hand it pages
	 * (heap-new, page-to-msg, ...) but never accesses a line, and must not
	 * take one of the 64 caches from the threads (with many messages the
	 * threads would share the last one). */
	switch (ev->kind) {
	case RAV_EV_ACCESS:
	case RAV_EV_ALLOC:
	case RAV_EV_MOVE:
	case RAV_EV_FREE:
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_REF_CLEAR:
	case RAV_EV_DATA_STORE:
	case RAV_EV_LINK:
	case RAV_EV_TYPE_WORD:
		break;
	default:
		return true;
	}
	if (!c->tid_cached || ev->thread != c->tid_cache) {
		c->tid_cached = true;
		c->tid_cache = ev->thread;
		c->ti_cache = thread_index(c, ev->thread);
		if (c->ti_cache == UINT32_MAX)
			c->ti_cache = c->nthreads; /* not in the thread table */
		c->bit_cache = UINT32_MAX;
	}
	unsigned ti = c->ti_cache;
	if (c->bit_cache == UINT32_MAX) {
		if (!c->cache_of[ti]) {
			if (c->ncaches < 64)
				c->cache_thread[c->ncaches] = ti;
			else
				c->cache_shared = true;
			c->cache_of[ti] = (uint8_t)(1 + (c->ncaches < 64 ? c->ncaches++ : 63));
		}
		c->bit_cache = c->cache_of[ti] - 1u;
	}
	unsigned bit = c->bit_cache;
	c->site = ev->site;
	switch (ev->kind) {
	case RAV_EV_ACCESS:
		return access_range(c, ev->a, ev->b ? ev->b : c->word_size, ti, bit, ev->aux & 1, w);
	case RAV_EV_ALLOC:
		return access_range(c, ev->a & ~(rav_loc)3, c->cell_size, ti, bit, true, w);
	case RAV_EV_MOVE:
		return access_range(c, ev->a & ~(rav_loc)3, c->cell_size, ti, bit, false, w) &&
		       access_range(c, ev->b & ~(rav_loc)3, c->cell_size, ti, bit, true, w);
	case RAV_EV_FREE:
		return access_range(c, ev->a & ~(rav_loc)3, c->word_size, ti, bit, true, w);
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_REF_CLEAR:
	case RAV_EV_DATA_STORE:
	case RAV_EV_LINK:
	case RAV_EV_TYPE_WORD:
		return access_range(c, ev->a, c->word_size, ti, bit, true, w);
	default:
		/* (not reached: the kinds above are the ones that touch memory;
		 * page-to-msg (1.6) and page-handoff move pages without touching
		 * their cells, only the page header, whose writes no page event
		 * models) */
		return true;
	}
}

static int cmp_lsite(const void *pa, const void *pb)
{
	const lsite *a = pa, *b = pb;
	if (a->transfers != b->transfers)
		return a->transfers < b->transfers ? 1 : -1;
	return a->site < b->site ? -1 : a->site > b->site;
}

/* Each hot line's sites, most transfers first. */
static bool finish_sites(rav_contention *c, rav_trace_error *err)
{
	free(c->hot_site_start);
	free(c->hot_sites);
	c->hot_site_start = calloc(c->nhot + 1, sizeof *c->hot_site_start);
	c->hot_sites = calloc(c->ls_used ? c->ls_used : 1, sizeof *c->hot_sites);
	if (!c->hot_site_start || !c->hot_sites) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return false;
	}
	for (unsigned i = 0; i < c->nhot; i++) {
		const rav_contention_line *h = &c->hot[i];
		cline *e = tab_find(c, h->line | (h->external ? EXT_BIT : 0));
		if (e)
			e->hot = i;
	}
	/* count per line, then place */
	for (size_t i = 0; i < c->ls_cap; i++) {
		if (!c->ls[i].key)
			continue;
		cline *e = tab_find(c, c->ls[i].key - 1);
		if (e && e->transfers)
			c->hot_site_start[e->hot + 1]++;
	}
	for (unsigned i = 0; i < c->nhot; i++)
		c->hot_site_start[i + 1] += c->hot_site_start[i];
	uint32_t *fill = calloc(c->nhot + 1, sizeof *fill);
	if (!fill) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return false;
	}
	for (size_t i = 0; i < c->ls_cap; i++) {
		if (!c->ls[i].key)
			continue;
		cline *e = tab_find(c, c->ls[i].key - 1);
		if (e && e->transfers)
			c->hot_sites[c->hot_site_start[e->hot] + fill[e->hot]++] = c->ls[i];
	}
	free(fill);
	for (unsigned i = 0; i < c->nhot; i++)
		qsort(c->hot_sites + c->hot_site_start[i], c->hot_site_start[i + 1] - c->hot_site_start[i],
		      sizeof *c->hot_sites, cmp_lsite);
	return true;
}

/* Build the hottest-lines list and totals. */
static bool con_finish(rav_contention *c, rav_trace_error *err)
{
	c->tot.lines_touched = c->used;
	size_t nh = 0;
	for (size_t i = 0; i < c->cap; i++)
		if (c->tab[i].key && c->tab[i].transfers)
			nh++;
	c->tot.lines_contended = nh;
	free(c->hot);
	c->nhot = 0;
	c->hot = calloc(nh ? nh : 1, sizeof *c->hot);
	if (!c->hot) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return false;
	}
	for (size_t i = 0; i < c->cap; i++) {
		const cline *e = &c->tab[i];
		if (!e->key || !e->transfers)
			continue;
		rav_contention_line *h = &c->hot[c->nhot++];
		uint64_t line = e->key - 1;
		h->external = (line & EXT_BIT) != 0;
		h->line = line & ~EXT_BIT;
		if (!h->external) {
			uint64_t byte = h->line * c->line_size;
			h->first_cell = rav_loc_make((uint32_t)(byte / c->page_size),
			                             (uint32_t)(byte % c->page_size / c->cell_size), 0);
		}
		h->transfers = e->transfers;
		h->invalidations = e->invalidations;
		h->reads = e->reads;
		h->writes = e->writes;
		h->thread_mask = 0;
		for (uint64_t m = e->tmask; m; m &= m - 1) {
			uint32_t ti = c->cache_thread[__builtin_ctzll(m)];
			if (ti < 64 && ti < c->nthreads)
				h->thread_mask |= (uint64_t)1 << ti;
		}
	}
	qsort(c->hot, c->nhot, sizeof *c->hot, cmp_hot);
	/* transfers per pool page, from the contended lines (a line larger
	 * than a page counts for the page it starts in) */
	size_t want = 16;
	while (want < nh * 2)
		want *= 2;
	free(c->pages);
	c->pages = calloc(want, sizeof *c->pages);
	if (!c->pages) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return false;
	}
	c->pages_cap = want;
	for (unsigned i = 0; i < c->nhot; i++) {
		const rav_contention_line *h = &c->hot[i];
		if (h->external)
			continue;
		struct page_count *pc = page_slot(c, h->line * c->line_size / c->page_size);
		pc->page_plus1 = h->line * c->line_size / c->page_size + 1;
		pc->transfers += h->transfers;
	}
	return c->oom ? (set_err(err, RAV_TRACE_ENOMEM, "out of memory counting call sites"), false)
	              : finish_sites(c, err);
}

rav_contention *rav_contention_run(rav_trace *t, const rav_contention_config *cfg,
                                   rav_trace_progress progress, void *user, rav_trace_error *err)
{
	uint64_t avail = rav_trace_indexed_events(t);
	uint64_t from = cfg ? cfg->from : 0, to = cfg && cfg->to ? cfg->to : avail;
	if (to > avail)
		to = avail;
	if (from > to)
		from = to;
	rav_trace_info in;
	rav_trace_get_info(t, &in);
	rav_contention *c = con_new(in.page_size, in.cell_size, in.word_size, cfg, from, to, err);
	if (!c)
		return NULL;
	c->limit = rav_trace_memory_limit(t);
	unsigned n = rav_trace_thread_count(t);
	uint32_t *ids = calloc(n ? n : 1, sizeof *ids);
	for (unsigned i = 0; ids && i < n; i++) {
		rav_trace_thread th;
		/* (the table only grows: entry i exists) */
		ids[i] = rav_trace_thread_at(t, i, &th) ? th.heap_id : 0;
	}
	bool mapped = ids && map_threads(c, ids, n);
	free(ids);
	if (!mapped) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		rav_contention_free(c);
		return NULL;
	}
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(t), c->from);
	uint64_t span = c->to - c->from, done = 0;
	rav_event ev;
	bool ok = true;
	while (c->from + done < c->to) {
		if (!ravt_cursor_next(&cur, &ev)) {
			if (cur.failed) {
				if (err)
					*err = cur.error;
				ok = false;
			}
			break;
		}
		done++;
		if (progress && (done & 0xfffff) == 0 && !progress(done, span, user)) {
			set_err(err, RAV_TRACE_ECANCELLED, "cancelled");
			ok = false;
			break;
		}
		if (!con_feed(c, &ev)) {
			if (c->limit_hit) {
				char m[300];
				snprintf(
				    m, sizeof m,
				    "the table of cache lines touched needs more than the trace's memory "
				    "limit of %llu MiB (at event %llu); set RAVTRACE_MEMORY_MB to a larger "
				    "number of MiB, or give a range of events",
				    (unsigned long long)(c->limit >> 20), (unsigned long long)ev.index);
				set_err(err, RAV_TRACE_ELIMIT, m);
			} else {
				set_err(err, RAV_TRACE_ENOMEM, "out of memory growing the line table");
			}
			ok = false;
			break;
		}
	}
	ravt_cursor_fini(&cur);
	if (!ok || !con_finish(c, err)) {
		rav_contention_free(c);
		return NULL;
	}
	if (progress)
		progress(done, span, user);
	return c;
}

rav_contention *ravt_contention_new_detached(uint32_t page_size, uint32_t cell_size, uint8_t word_size,
                                             const rav_contention_config *cfg, const uint32_t *thread_ids,
                                             unsigned nthreads, rav_trace_error *err)
{
	uint64_t to = cfg && cfg->to ? cfg->to : 0;
	rav_contention *c = con_new(page_size, cell_size, word_size, cfg, cfg ? cfg->from : 0, to, err);
	if (!c)
		return NULL;
	if (!map_threads(c, thread_ids, nthreads)) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		rav_contention_free(c);
		return NULL;
	}
	return c;
}

bool ravt_contention_feed(rav_contention *c, const rav_event *ev)
{
	return con_feed(c, ev);
}

bool ravt_contention_finish(rav_contention *c, rav_trace_error *err)
{
	return con_finish(c, err);
}

void rav_contention_free(rav_contention *c)
{
	if (!c)
		return;
	free(c->tab);
	free(c->hot);
	free(c->pages);
	free(c->threads);
	free(c->win);
	free(c->tid_keys);
	free(c->tid_vals);
	free(c->cache_of);
	free(c->site_tr);
	free(c->ls);
	free(c->hot_site_start);
	free(c->hot_sites);
	free(c);
}

uint64_t rav_contention_site(const rav_contention *c, uint32_t site)
{
	return site < c->nsite_tr ? c->site_tr[site] : 0;
}

unsigned rav_contention_line_sites(const rav_contention *c, unsigned line_index, uint32_t *sites,
                                   uint64_t *transfers, unsigned max)
{
	if (line_index >= c->nhot || !c->hot_site_start)
		return 0;
	uint32_t a = c->hot_site_start[line_index], b = c->hot_site_start[line_index + 1];
	for (uint32_t i = a; i < b && i - a < max; i++) {
		if (sites)
			sites[i - a] = c->hot_sites[i].site;
		if (transfers)
			transfers[i - a] = c->hot_sites[i].transfers;
	}
	return b - a;
}

unsigned rav_contention_line_threads(const rav_contention *c, unsigned line_index, unsigned *threads,
                                     unsigned max, bool *more)
{
	if (more)
		*more = false;
	if (line_index >= c->nhot)
		return 0;
	const rav_contention_line *h = &c->hot[line_index];
	const cline *e = tab_find(c, h->line | (h->external ? EXT_BIT : 0));
	if (!e)
		return 0;
	/* thread indices in ascending order (at most 64: insertion) */
	unsigned idx[64], n = 0;
	for (uint64_t m = e->tmask; m; m &= m - 1) {
		unsigned bitno = (unsigned)__builtin_ctzll(m), ti = c->cache_thread[bitno];
		if (bitno == 63 && c->cache_shared && more)
			*more = true;
		if (ti >= c->nthreads)
			continue; /* a heap missing from the thread table */
		unsigned j = n++;
		for (; j > 0 && idx[j - 1] > ti; j--)
			idx[j] = idx[j - 1];
		idx[j] = ti;
	}
	for (unsigned i = 0; i < n && i < max; i++)
		threads[i] = idx[i];
	return n;
}

void rav_contention_get_totals(const rav_contention *c, rav_contention_totals *out)
{
	*out = c->tot;
}

unsigned rav_contention_line_count(const rav_contention *c)
{
	return c->nhot;
}

const rav_contention_line *rav_contention_line_at(const rav_contention *c, unsigned i)
{
	return i < c->nhot ? &c->hot[i] : NULL;
}

uint64_t rav_contention_page(const rav_contention *c, uint32_t page)
{
	const struct page_count *pc = page_slot(c, page);
	return pc && pc->page_plus1 ? pc->transfers : 0;
}

uint64_t rav_contention_thread(const rav_contention *c, unsigned thread_index)
{
	return thread_index < c->nthreads ? c->threads[thread_index] : 0;
}

unsigned rav_contention_window_count(const rav_contention *c)
{
	return c->windows;
}

uint64_t rav_contention_window(const rav_contention *c, unsigned w, uint64_t *first_event,
                               uint64_t *last_event)
{
	if (w >= c->windows) {
		if (first_event)
			*first_event = 0;
		if (last_event)
			*last_event = 0;
		return 0;
	}
	uint64_t span = c->to - c->from;
	/* event e is in window floor((e - from) * W / span): the first index of
	 * window w is ceil(w * span / W) */
	uint64_t lo = c->from + (uint64_t)(((unsigned __int128)span * w + c->windows - 1) / c->windows);
	uint64_t hi = c->from + (uint64_t)(((unsigned __int128)span * (w + 1) + c->windows - 1) / c->windows);
	if (first_event)
		*first_event = lo;
	if (last_event)
		*last_event = hi > lo ? hi - 1 : lo;
	return c->win[w];
}

void rav_contention_page_lines(const rav_contention *c, uint32_t page, uint64_t *out)
{
	if (c->line_size >= c->page_size) {
		const cline *e = tab_find(c, (uint64_t)page * c->page_size / c->line_size);
		out[0] = e ? e->transfers : 0;
		return;
	}
	uint32_t n = c->page_size / c->line_size;
	uint64_t first = (uint64_t)page * n;
	for (uint32_t i = 0; i < n; i++) {
		const cline *e = tab_find(c, first + i);
		out[i] = e ? e->transfers : 0;
	}
}
