/* replay-history.c - the events in the life of one raviolo, followed
 * across its moves (rav_trace_cell_history), found through the per-block
 * page filter that replay fills (replay-history.h).
 *
 * A query walks backward from the given event to the cell's allocation and
 * forward to its free, changing the location it looks for at every move.
 * Blocks whose filter lacks the page being looked for are not decoded; the
 * part of the trace past the filtered blocks is scanned whole.
 */
#include <stdlib.h>
#include <string.h>

#include "replay-history.h"

ravt_history *ravt_history_new(ravt_budget *budget)
{
	ravt_history *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->budget = budget;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

void ravt_history_free(ravt_history *h)
{
	if (!h)
		return;
	free(h->bloom);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* The marks of the block being filled as filter bits: byte i of hit (0
 * or 1) becomes bit i, eight at a time (the multiplication gathers the low
 * bit of each of the eight bytes into the top byte, in order). */
static void fold_hits(const uint8_t *hit, uint8_t *bits)
{
	for (size_t i = 0; i < RAVT_HISTORY_BITS / 8; i++) {
		uint64_t v;
		memcpy(&v, hit + 8 * i, 8);
		bits[i] = (uint8_t)(((v & 0x0101010101010101ull) * 0x0102040810204080ull) >> 56);
	}
}

unsigned ravt_history_block_end(ravt_history *h)
{
	pthread_mutex_lock(&h->lock);
	if (h->stopped) {
		pthread_mutex_unlock(&h->lock);
		return RAVT_HISTORY_BITS;
	}
	if (h->nblocks == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		void *n = NULL;
		if (ravt_budget_charge(h->budget, sizeof *h->bloom * (ncap - h->cap),
		                       "the cell-history filter"))
			n = realloc(h->bloom, sizeof *h->bloom * ncap);
		if (!n) {
			/* Without room the filter stops here for good: entry i must be
			 * block i's, so a later block, even if a later charge succeeds,
			 * may not take this block's place.  Queries scan the blocks past
			 * the filter whole: exact, only slower. */
			h->stopped = true;
			h->pub_valid = false;
			pthread_mutex_unlock(&h->lock);
			return RAVT_HISTORY_BITS;
		}
		h->bloom = n;
		h->cap = ncap;
	}
	fold_hits(h->hit, h->bloom[h->nblocks]);
	memset(h->hit, 0, sizeof h->hit);
	unsigned touched = 0;
	for (size_t i = 0; i < RAVT_HISTORY_BITS / 64; i++) {
		uint64_t v;
		memcpy(&v, h->bloom[h->nblocks] + 8 * i, 8);
		touched += (unsigned)__builtin_popcountll(v);
	}
	h->nblocks++;
	pthread_mutex_unlock(&h->lock);
	return touched;
}

void ravt_history_publish(ravt_history *h, uint64_t end)
{
	pthread_mutex_lock(&h->lock);
	if (h->stopped) { /* the block being filled is not the filter's next entry */
		pthread_mutex_unlock(&h->lock);
		return;
	}
	fold_hits(h->hit, h->pub);
	h->pub_block = h->nblocks;
	h->pub_end = end;
	h->pub_valid = true;
	pthread_mutex_unlock(&h->lock);
}

static inline bool has_page(const uint8_t *bits, uint32_t page)
{
	uint32_t p = page % RAVT_HISTORY_BITS;
	return bits[p >> 3] & (1u << (p & 7));
}

typedef struct hist_buf {
	rav_cell_event *v;
	size_t n, cap;
	bool oom;
} hist_buf;

static void hist_push(hist_buf *h, uint64_t ev, uint16_t kind, rav_loc where)
{
	if (h->n == h->cap) {
		size_t ncap = h->cap ? h->cap * 2 : 64;
		rav_cell_event *n = realloc(h->v, sizeof *n * ncap);
		if (!n) {
			h->oom = true;
			return;
		}
		h->v = n;
		h->cap = ncap;
	}
	h->v[h->n++] = (rav_cell_event){ev, kind, where};
}

#define CELL_OF(l) ((l) & ~(rav_loc)3)

/* Does a non-structural event concern the cell `cur`?  (stores into its
 * words, slots naming it being fixed or stored) */
static bool concerns(const rav_event *e, rav_loc cur)
{
	switch (e->kind) {
	case RAV_EV_DATA_STORE:
	case RAV_EV_TYPE_WORD:
		return CELL_OF(e->a) == cur;
	case RAV_EV_FIXUP:
	case RAV_EV_REF_STORE:
	case RAV_EV_LINK:
		return CELL_OF(e->a) == cur || (e->b && CELL_OF(e->b) == cur) ||
		       (e->c && CELL_OF(e->c) == cur);
	case RAV_EV_REF_CLEAR:
		return CELL_OF(e->a) == cur || (e->b && CELL_OF(e->b) == cur);
	case RAV_EV_REFRAV_INSERT:
		return CELL_OF(e->a) == cur || CELL_OF(e->b) == cur;
	case RAV_EV_REFRAV_REMOVE:
		return CELL_OF(e->a) == cur;
	default:
		return false;
	}
}

static bool relevant_kind(unsigned k)
{
	return k == RAV_EV_ALLOC || k == RAV_EV_FREE || k == RAV_EV_MOVE || k == RAV_EV_TRIM ||
	       k == RAV_EV_FIXUP || k == RAV_EV_REF_STORE || k == RAV_EV_REF_CLEAR ||
	       k == RAV_EV_DATA_STORE || k == RAV_EV_LINK || k == RAV_EV_TYPE_WORD ||
	       k == RAV_EV_REFRAV_INSERT || k == RAV_EV_REFRAV_REMOVE;
}

unsigned ravt_history_query(ravt_history *h, ravt_reader *rd, uint64_t available, rav_loc cell, uint64_t at,
                            rav_cell_event *out, unsigned max, unsigned *total)
{
	if (total)
		*total = 0;
	if (cell & RAV_LOC_EXTERNAL)
		return 0;
	uint64_t end = available;
	if (at > end)
		at = end;
	/* a copy of the filter: indexing may go on meanwhile */
	pthread_mutex_lock(&h->lock);
	bool with_pub = h->pub_valid && h->pub_block == h->nblocks && h->pub_end >= end;
	size_t nblocks = h->nblocks + (with_pub ? 1 : 0);
	uint8_t(*bloom)[RAVT_HISTORY_BITS / 8] = NULL;
	if (nblocks && (bloom = malloc(sizeof *bloom * nblocks))) {
		if (h->nblocks)
			memcpy(bloom, h->bloom, sizeof *bloom * h->nblocks);
		if (with_pub)
			memcpy(bloom[h->nblocks], h->pub, sizeof h->pub);
	}
	pthread_mutex_unlock(&h->lock);
	uint64_t filtered_end = bloom ? (uint64_t)nblocks * RAVT_HISTORY_BLOCK : 0; /* past it: no filter */

	hist_buf back = {0}, fwd = {0};
	rav_event *buf = malloc(sizeof *buf * RAVT_HISTORY_BLOCK);
	if (!buf) {
		free(bloom);
		return 0;
	}
	ravt_cursor cur;
	bool open = false;

	/* backward from at: blocks in reverse, each decoded forward and walked back */
	rav_loc c = CELL_OF(cell);
	bool stop = false;
	for (uint64_t blk = at ? (at - 1) / RAVT_HISTORY_BLOCK + 1 : 0; blk-- > 0 && !stop;) {
		uint64_t b0 = blk * RAVT_HISTORY_BLOCK, b1 = b0 + RAVT_HISTORY_BLOCK;
		if (b1 > at)
			b1 = at;
		if (b0 < filtered_end && !has_page(bloom[blk], rav_loc_page(c)))
			continue;
		if (open)
			ravt_cursor_fini(&cur);
		ravt_cursor_init(&cur, rd, b0);
		open = true;
		size_t n = 0;
		rav_event e;
		while (b0 + n < b1 && ravt_cursor_next(&cur, &e))
			buf[n++] = e;
		for (size_t i = n; i-- > 0 && !stop;) {
			const rav_event *ev = &buf[i];
			if (!relevant_kind(ev->kind))
				continue;
			switch (ev->kind) {
			case RAV_EV_MOVE:
				if (CELL_OF(ev->b) == c) {
					hist_push(&back, ev->index, ev->kind, c);
					c = CELL_OF(ev->a);
				} else if (CELL_OF(ev->a) == c) {
					stop = true;
				}
				break;
			case RAV_EV_ALLOC:
				if (CELL_OF(ev->a) == c) {
					hist_push(&back, ev->index, ev->kind, c);
					stop = true;
				}
				break;
			case RAV_EV_TRIM:
				if (CELL_OF(ev->a) == c)
					stop = true;
				break;
			case RAV_EV_FREE:
				if (CELL_OF(ev->a) == c)
					hist_push(&back, ev->index, ev->kind, c);
				break;
			default:
				if (concerns(ev, c))
					hist_push(&back, ev->index, ev->kind, c);
				break;
			}
		}
	}

	/* forward from at */
	c = CELL_OF(cell);
	stop = false;
	for (uint64_t blk = at / RAVT_HISTORY_BLOCK; blk * RAVT_HISTORY_BLOCK < end && !stop; blk++) {
		uint64_t b0 = blk * RAVT_HISTORY_BLOCK, b1 = b0 + RAVT_HISTORY_BLOCK;
		if (b0 < at)
			b0 = at;
		if (b1 > end)
			b1 = end;
		if (blk * RAVT_HISTORY_BLOCK < filtered_end && !has_page(bloom[blk], rav_loc_page(c)))
			continue;
		if (!open || cur.next != b0) {
			if (open)
				ravt_cursor_fini(&cur);
			ravt_cursor_init(&cur, rd, b0);
			open = true;
		}
		rav_event e;
		for (uint64_t i = b0; i < b1 && !stop && ravt_cursor_next(&cur, &e); i++) {
			if (!relevant_kind(e.kind))
				continue;
			switch (e.kind) {
			case RAV_EV_MOVE:
				if (CELL_OF(e.a) == c) {
					c = CELL_OF(e.b);
					hist_push(&fwd, e.index, e.kind, c);
				} else if (CELL_OF(e.b) == c) {
					stop = true;
				}
				break;
			case RAV_EV_ALLOC:
				if (CELL_OF(e.a) == c)
					stop = true;
				break;
			case RAV_EV_TRIM:
				if (CELL_OF(e.a) == c) {
					hist_push(&fwd, e.index, e.kind, c);
					stop = true;
				}
				break;
			case RAV_EV_FREE:
				if (CELL_OF(e.a) == c)
					hist_push(&fwd, e.index, e.kind, c);
				break;
			default:
				if (concerns(&e, c))
					hist_push(&fwd, e.index, e.kind, c);
				break;
			}
		}
	}
	if (open)
		ravt_cursor_fini(&cur);

	size_t all = back.n + fwd.n, w = 0;
	for (size_t i = back.n; i-- > 0 && w < max;)
		out[w++] = back.v[i];
	for (size_t i = 0; i < fwd.n && w < max; i++)
		out[w++] = fwd.v[i];
	if (total)
		*total = all > UINT32_MAX ? UINT32_MAX : (unsigned)all;
	free(back.v);
	free(fwd.v);
	free(buf);
	free(bloom);
	return (unsigned)w;
}
