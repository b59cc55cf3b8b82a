/* replay-gen.c - see replay-gen.h: a consistent synthetic heap workload
 * written through the trace encoder. */
#include "replay-gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "xorshift.h"

#define GP 4096u
#define GC 32u
#define GCPP (GP / GC)
#define GUSE (GCPP - 1) /* cells per page after the header */
#define GBASE 0x7f0000000000ull
#define TYPE_NODE 17u

typedef struct gheap {
	uint32_t id;
	uint32_t *pages;
	uint32_t npages, cap;
	uint64_t n;     /* live cells, positions 0..n-1 */
	uint64_t *slot; /* root slot naming the cell at each position */
	uint64_t *val;  /* its data word 1 */
	uint64_t pcap;
	uint64_t *free_slots;
	uint64_t nfree, fcap;
	uint32_t root_page;
	uint32_t root_next; /* next root cell in root_page (GCPP: page full) */
	uint64_t since_time;
} gheap;

typedef struct gen {
	ravt_writer *w;
	FILE *f;
	uint64_t written, seq, tsc;
	uint32_t next_page;
	uint32_t *pool;
	uint32_t npool, pool_cap;
	uint64_t rng;
	bool failed;
	bool uniform;
} gen;

static uint64_t rnd(gen *g)
{
	return xorshift64(&g->rng);
}

/* A victim position: uniform, or (young) mostly within a few thousand
 * cells of the top with a rare uniform pick, as in generational churn. */
static uint64_t pick(gen *g, uint64_t n)
{
	uint64_t r = rnd(g);
	if (g->uniform || r % 1000 == 0)
		return (r >> 10) % n;
	/* roughly exponential distance from the top, mean about 2000 cells */
	uint64_t d = ((r >> 10) & 4095) * (((r >> 22) & 3) + 1) / 4;
	return d < n ? n - 1 - d : (r >> 10) % n;
}

static uint64_t addr(uint32_t page, uint32_t cell, uint32_t word)
{
	return GBASE + (uint64_t)page * GP + (uint64_t)cell * GC + (uint64_t)word * 8;
}

static int sink(const void *data, size_t len, void *user)
{
	return fwrite(data, 1, len, (FILE *)user) == len ? 0 : -1;
}

static void emit_raw(gen *g, gheap *h, const rav_raw_event *e, size_t n)
{
	if (g->failed)
		return;
	if (ravt_writer_add(g->w, h->id, e, n) < 0) {
		fprintf(stderr, "gen: encoder: %s\n", ravt_writer_error(g->w));
		g->failed = true;
	}
	g->written++;
}

static void emit(gen *g, gheap *h, uint32_t kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b,
                 uint64_t c)
{
	g->tsc += 7;
	if (++h->since_time >= RAV_TIME_EVERY) {
		rav_raw_event t = {RAV_EV_TIME, 0, g->tsc, 1000000000ull, 0};
		h->since_time = 0;
		emit_raw(g, h, &t, 1);
	}
	rav_raw_event e = {kind | (aux << 8), x, a, b, c};
	emit_raw(g, h, &e, 1);
}

/* Ordering events: TIME first, then the event with the next sequence number. */
static void emit_sync(gen *g, gheap *h, uint32_t kind, uint32_t aux, uint32_t x, uint64_t a, uint64_t b)
{
	g->tsc += 7;
	rav_raw_event t = {RAV_EV_TIME, 0, g->tsc, 1000000000ull, 0};
	h->since_time = 0;
	emit_raw(g, h, &t, 1);
	rav_raw_event e = {kind | (aux << 8), x, a, b, ++g->seq};
	emit_raw(g, h, &e, 1);
}

static uint32_t page_take(gen *g)
{
	return g->npool ? g->pool[--g->npool] : g->next_page++;
}

static bool grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	uint64_t ncap = *cap ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*p, ncap * elem);
	if (!n)
		return false;
	*p = n;
	*cap = ncap;
	return true;
}

static uint64_t root_slot(gen *g, gheap *h)
{
	if (h->nfree)
		return h->free_slots[--h->nfree];
	if (h->root_next >= GCPP) {
		h->root_page = page_take(g);
		emit_sync(g, h, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_ROOT, h->id, addr(h->root_page, 0, 0), 0);
		h->root_next = 1;
	}
	uint32_t c = h->root_next++;
	emit(g, h, RAV_EV_ALLOC, 3, 0, addr(h->root_page, c, 0), 0, 0);
	if (!grow((void **)&h->free_slots, &h->fcap, h->nfree + 3, sizeof(uint64_t))) {
		g->failed = true;
		return 0;
	}
	for (uint32_t w = 3; w >= 2; w--) {
		emit(g, h, RAV_EV_ROOT_NEW, 0, 0, addr(h->root_page, c, w), 0, 0);
		h->free_slots[h->nfree++] = addr(h->root_page, c, w);
	}
	emit(g, h, RAV_EV_ROOT_NEW, 0, 0, addr(h->root_page, c, 1), 0, 0);
	return addr(h->root_page, c, 1);
}

static uint64_t pos_addr(const gheap *h, uint64_t pos, uint32_t word)
{
	return addr(h->pages[pos / GUSE], 1 + (uint32_t)(pos % GUSE), word);
}

static void op_alloc(gen *g, gheap *h)
{
	if (h->n / GUSE >= h->npages) {
		uint64_t cap = h->cap;
		if (!grow((void **)&h->pages, &cap, h->npages + 1, sizeof(uint32_t))) {
			g->failed = true;
			return;
		}
		h->cap = (uint32_t)cap;
		uint32_t pg = page_take(g);
		h->pages[h->npages++] = pg;
		emit_sync(g, h, RAV_EV_PAGE_ACQUIRE, RAV_PAGE_HEAP, h->id, addr(pg, 0, 0), 0);
	}
	uint64_t pcap = h->pcap;
	if (!grow((void **)&h->slot, &pcap, h->n + 1, sizeof(uint64_t)) ||
	    !grow((void **)&h->val, &h->pcap, h->n + 1, sizeof(uint64_t))) {
		g->failed = true;
		return;
	}
	uint64_t slot = root_slot(g, h);
	uint64_t cell = pos_addr(h, h->n, 0);
	emit(g, h, RAV_EV_ALLOC, TYPE_NODE, 0, cell, 0, 0);
	emit(g, h, RAV_EV_REF_STORE, 0, 0, slot, 0, cell);
	emit(g, h, RAV_EV_LINK, 0, 0, cell + 24, 0, slot);
	h->slot[h->n] = slot;
	h->val[h->n] = 0;
	h->n++;
}

static void op_free(gen *g, gheap *h)
{
	uint64_t x = pick(g, h->n), top = h->n - 1;
	uint64_t cx = pos_addr(h, x, 0);
	emit(g, h, RAV_EV_REF_CLEAR, 0, 0, h->slot[x], cx, 0);
	emit(g, h, RAV_EV_FREE, TYPE_NODE, 0, cx, 0, 0);
	if (!grow((void **)&h->free_slots, &h->fcap, h->nfree + 1, sizeof(uint64_t))) {
		g->failed = true;
		return;
	}
	h->free_slots[h->nfree++] = h->slot[x];
	if (x != top) {
		uint64_t ct = pos_addr(h, top, 0);
		emit(g, h, RAV_EV_MOVE, 0, 0, ct, cx, 0);
		emit(g, h, RAV_EV_FIXUP, 0, 0, h->slot[top], ct, cx);
		h->slot[x] = h->slot[top];
		h->val[x] = h->val[top];
	} else {
		emit(g, h, RAV_EV_TRIM, 0, 0, cx, 0, 0);
	}
	h->n--;
	/* hysteresis: keep one empty page, release the second */
	uint64_t needed = (h->n + GUSE - 1) / GUSE;
	if (h->npages > needed + 1) {
		uint32_t pg = h->pages[--h->npages];
		emit_sync(g, h, RAV_EV_PAGE_RELEASE, 0, h->id, addr(pg, 0, 0), 0);
		if (g->npool == g->pool_cap) {
			uint64_t cap = g->pool_cap;
			if (!grow((void **)&g->pool, &cap, g->npool + 1, sizeof(uint32_t))) {
				g->failed = true;
				return;
			}
			g->pool_cap = (uint32_t)cap;
		}
		g->pool[g->npool++] = pg;
	}
}

static void op_store(gen *g, gheap *h)
{
	uint64_t x = pick(g, h->n);
	uint64_t v = rnd(g) & 0xffffffffffull;
	emit(g, h, RAV_EV_DATA_STORE, 0, 0, pos_addr(h, x, 1), h->val[x], v);
	h->val[x] = v;
}

int gen_trace(const gen_params *p, uint64_t *written)
{
	gen g;
	memset(&g, 0, sizeof g);
	g.rng = p->seed ? p->seed : 88172645463325252ull;
	g.uniform = p->uniform;
	g.f = fopen(p->path, "wb");
	if (!g.f) {
		perror(p->path);
		return -1;
	}
	ravt_writer_params wp;
	memset(&wp, 0, sizeof wp);
	wp.word_size = 8;
	wp.cell_size = GC;
	wp.page_size = GP;
	wp.pool_base = GBASE;
	wp.pool_bytes = (uint64_t)1 << 40;
	wp.tsc_hz = 1000000000ull;
	wp.cmdline = "replay-gen";
	wp.cmdline_len = strlen(wp.cmdline);
	wp.flags = p->access ? RAVT_HF_ACCESS : 0;
	char eb[256];
	g.w = ravt_writer_new(&wp, sink, g.f, eb, sizeof eb);
	if (!g.w) {
		fprintf(stderr, "gen: %s\n", eb);
		fclose(g.f);
		return -1;
	}
	unsigned nt = p->threads ? p->threads : 1;
	if (nt > GEN_MAX_THREADS) {
		fprintf(stderr, "gen: %u threads: at most %u\n", nt, GEN_MAX_THREADS);
		ravt_writer_free(g.w);
		fclose(g.f);
		return -1;
	}
	gheap *heaps = calloc(nt, sizeof *heaps);
	if (!heaps) {
		fprintf(stderr, "gen: out of memory for %u threads\n", nt);
		ravt_writer_free(g.w);
		fclose(g.f);
		return -1;
	}
	for (unsigned i = 0; i < nt; i++) {
		gheap *h = &heaps[i];
		h->id = i + 1;
		h->root_next = GCPP;
		/* as the engine does: both ordering events, numbered */
		emit_sync(&g, h, RAV_EV_THREAD_START, 0, h->id, 1000 + i, 0);
		emit_sync(&g, h, RAV_EV_HEAP_NEW, RAV_HEAP_THREAD, h->id, 0, 0);
		rav_raw_event td[2];
		memset(td, 0, sizeof td);
		td[0].kind = RAV_EV_TYPE_DEF | (TYPE_NODE << 8);
		td[0].a = 4;
		memcpy(&td[1], "node", 4);
		emit_raw(&g, h, td, 2);
	}
	gheap *h = &heaps[0];
	uint64_t target = p->live_target ? p->live_target : 100000;
	while (g.written < p->events && !g.failed) {
		if (nt == 2 && rnd(&g) % 512 == 0)
			h = h == &heaps[0] ? &heaps[1] : &heaps[0];
		else if (nt > 2 && rnd(&g) % 64 == 0)
			h = &heaps[(h - heaps + 1) % nt];
		uint64_t r = rnd(&g) % 1000;
		/* alloc probability pulls the live count toward the target */
		uint64_t pa = h->n < target ? 300 + 200 * (target - h->n) / target : 250;
		if (h->n == 0 || r < pa)
			op_alloc(&g, h);
		else if (r < 700)
			op_free(&g, h);
		else
			op_store(&g, h);
		if (p->access && (r & 7) == 0)
			emit(&g, h, RAV_EV_ACCESS, 1, 0, 0x1000, 8, 0);
	}
	int rc = 0;
	if (g.failed || ravt_writer_finish(g.w, 0) < 0) {
		fprintf(stderr, "gen: %s\n", ravt_writer_error(g.w));
		rc = -1;
	}
	ravt_writer_free(g.w);
	if (fclose(g.f) != 0)
		rc = -1;
	for (unsigned i = 0; i < nt; i++) {
		free(heaps[i].pages);
		free(heaps[i].slot);
		free(heaps[i].val);
		free(heaps[i].free_slots);
	}
	free(heaps);
	free(g.pool);
	if (written)
		*written = g.written;
	return rc;
}
