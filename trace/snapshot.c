/* snapshot.c - reading SNAPSHOT chunk bodies (format 1.1); writing them is
 * writer-snapshot.c (the reader links without the writer).
 *
 * A heap body is its pages in list order (data pages, then root pages),
 * each as: varint page index, kind byte, varint fill, then for cells 1 ...
 * fill-1 a tag byte and the cell's words.  The tag says which of words 1-3
 * are pool addresses (references, back-links, root slots): those are coded
 * as the zigzagged distance in words from the word's own address, which is
 * small for the usual neighbours and independent of where the pool was
 * mapped.  Dead cells are a tag alone (their words are the engine's hole
 * list, unspecified in traces), and so are empty ones.
 *
 * The writer decides "address" from the cell's type (the field kinds of
 * the type registry), never from how a value looks: a data word that
 * happens to hold a pool address stays data, as replay must see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "ravioli.h" /* type ids of the engine's built-in cell types */
#include "ravtrace.h"
#include "snapshot.h"

/* ---- reading ---- */

const char *ravt_snap_check(const ravt_frame *f, const uint8_t *payload, ravt_snap_head *head, char name[256])
{
	if (f->flags || f->raw_len != f->stored_len)
		return "frame flags set or raw and stored lengths differ";
	if (f->stored_len < sizeof *head)
		return "shorter than its head";
	memcpy(head, payload, sizeof *head);
	if (head->piece < RAV_SNAP_TYPES || head->piece > RAV_SNAP_HEAP)
		return "unknown piece kind";
	if (head->head_size < sizeof *head + head->name_len || head->head_size % 8 ||
	    head->head_size > f->stored_len)
		return "head size out of range";
	if (head->body_flags & ~RAVT_SBF_ZSTD)
		return "unknown body flags";
	if (head->body_raw > RAVT_SNAP_BODY_MAX ||
	    (!(head->body_flags & RAVT_SBF_ZSTD) && head->body_raw != f->stored_len - head->head_size))
		return "body length out of range or different from the bytes present";
	if (head->parts == 0 || head->part >= head->parts)
		return "part number out of range";
	if (head->piece_id == 0 || head->piece_id != f->first)
		return "piece id is 0 or differs from the frame's";
	if (head->heap_id != f->thread || head->items != f->count)
		return "heap id or item count differs from the frame's";
	if (head->piece == RAV_SNAP_HEAP && head->heap_id == 0)
		return "heap piece without a heap id";
	if (head->heap_kind > RAV_HEAP_MESSAGE || head->where > RAV_SNAP_IN_FLIGHT)
		return "heap kind or place out of range";
	memcpy(name, payload + sizeof *head, head->name_len);
	name[head->name_len] = 0;
	return NULL;
}

typedef struct reader {
	const uint8_t *p, *end;
	char *err;
	size_t errlen;
	const char *noun; /* the items ("pages", "types", "free pages"), once known */
	uint32_t item, items;
} reader;

static bool bad(reader *r, const char *what)
{
	if (r->noun) /* which item, of how many the head says: a count the body cannot hold is told as such */
		snprintf(r->err, r->errlen, "snapshot body: %s at byte %td from its end (item %u of the %u %s its head lists)",
		         what, r->end - r->p, r->item + 1, r->items, r->noun);
	else
		snprintf(r->err, r->errlen, "snapshot body: %s at byte %td from its end", what, r->end - r->p);
	return false;
}

static bool get(reader *r, uint64_t *v, const char *what)
{
	if (!ravt_get_varint(&r->p, r->end, v)) {
		*v = 0; /* (never used: the callers stop; but bad() is too long to inline for that to be seen) */
		return bad(r, what);
	}
	return true;
}

static bool get_byte(reader *r, uint8_t *v, const char *what)
{
	if (r->p >= r->end) {
		*v = 0;
		return bad(r, what);
	}
	*v = *r->p++;
	return true;
}

static bool decode_heap(reader *r, const ravt_snap_head *h, const ravt_snap_geom *g,
                        const ravt_snap_visitor *v)
{
	uint64_t wpp = g->page_size / g->word_size;
	r->noun = "pages", r->items = h->items;
	for (uint32_t i = 0; i < h->items; i++) {
		r->item = i;
		uint64_t index, fill;
		uint8_t kind;
		if (!get(r, &index, "truncated page index") || !get_byte(r, &kind, "truncated page kind") ||
		    !get(r, &fill, "truncated page fill"))
			return false;
		if (index >= RAVT_MAX_PAGES)
			return bad(r, "page index beyond the largest pool a reader accepts");
		if (kind > RAV_PAGE_ROOT)
			return bad(r, "unknown page kind");
		if (fill < 1 || fill > g->cells_per_page)
			return bad(r, "page fill out of range");
		if (v->page && !v->page(v->user, (uint32_t)index, kind, (uint32_t)fill))
			return bad(r, "out of memory");
		uint64_t page_word = index * wpp;
		for (uint32_t c = 1; c < fill; c++) {
			uint8_t tag;
			uint64_t w[4] = {0, 0, 0, 0};
			uint8_t state = RAV_CELL_LIVE;
			if (!get_byte(r, &tag, "truncated cell"))
				return false;
			if (tag == RAVT_CELL_DEAD) {
				state = RAV_CELL_DEAD;
				w[0] = RAV_TYPE_DEAD;
			} else if (tag == RAVT_CELL_EMPTY) {
				state = RAV_CELL_EMPTY;
			} else if (tag & ~RAVT_CELL_ADDR_MASK) {
				return bad(r, "unknown cell tag");
			} else {
				if (!get(r, &w[0], "truncated type word"))
					return false;
				for (unsigned j = 1; j < 4; j++) {
					uint64_t u;
					if (!get(r, &u, "truncated cell word"))
						return false;
					if (!((tag >> (j - 1)) & 1u)) {
						w[j] = u;
						continue;
					}
					uint64_t own = page_word + (uint64_t)c * 4 + j;
					uint64_t target = own + (uint64_t)ravt_unzigzag(u);
					uint64_t page = target / wpp, in = target % wpp;
					if (page >= RAVT_MAX_PAGES)
						return bad(
						    r, "address beyond the largest pool a reader accepts");
					w[j] = rav_loc_make((uint32_t)page, (uint32_t)(in / 4),
					                    (uint32_t)(in % 4));
				}
			}
			if (v->cell && !v->cell(v->user, (uint32_t)index, c, state, w))
				return bad(r, "out of memory");
		}
	}
	return true;
}

static bool decode_types(reader *r, const ravt_snap_head *h, const ravt_snap_visitor *v)
{
	r->noun = "types", r->items = h->items;
	for (uint32_t i = 0; i < h->items; i++) {
		r->item = i;
		uint64_t id;
		uint8_t mask, len;
		if (!get(r, &id, "truncated type id") || !get_byte(r, &mask, "truncated type") ||
		    !get_byte(r, &len, "truncated type"))
			return false;
		if (id >= RAV_TYPE_MAX || mask > 3)
			return bad(r, "type id or field kinds out of range");
		if ((size_t)(r->end - r->p) < len)
			return bad(r, "truncated type name");
		if (v->type && !v->type(v->user, (uint16_t)id, mask, (const char *)r->p, len))
			return bad(r, "out of memory");
		r->p += len;
	}
	return true;
}

static bool decode_pool(reader *r, const ravt_snap_head *h, const ravt_snap_visitor *v)
{
	uint64_t at = 0;
	r->noun = "free pages", r->items = h->items;
	for (uint32_t i = 0; i < h->items; i++) {
		r->item = i;
		uint64_t d;
		if (!get(r, &d, "truncated free page"))
			return false;
		if ((i && d == 0) || d >= RAVT_MAX_PAGES || (at += d) >= RAVT_MAX_PAGES)
			return bad(r,
			           "free pages not increasing or beyond the largest pool a reader accepts");
		if (v->free_page && !v->free_page(v->user, (uint32_t)at))
			return bad(r, "out of memory");
	}
	return true;
}

int ravt_snap_decode(const ravt_frame *f, const uint8_t *payload, const ravt_snap_head *head,
                     const ravt_snap_geom *g, const ravt_snap_visitor *v, char *err, size_t errlen)
{
	size_t body_raw = (size_t)head->body_raw, body_stored = f->stored_len - head->head_size;
	const uint8_t *body = payload + head->head_size;
	uint8_t *tmp = NULL;
	if (head->body_flags & RAVT_SBF_ZSTD) {
		tmp = malloc(body_raw ? body_raw : 1);
		if (!tmp) {
			snprintf(err, errlen, "out of memory for a %zu-byte snapshot body", body_raw);
			return -1;
		}
		size_t n = ZSTD_decompress(tmp, body_raw, body, body_stored);
		if (ZSTD_isError(n) || n != body_raw) {
			snprintf(err, errlen, "snapshot body does not decompress to its %zu bytes (%s)",
			         body_raw, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size");
			free(tmp);
			return -1;
		}
		body = tmp;
	}
	reader r = {body, body + body_raw, err, errlen, NULL, 0, 0};
	bool ok;
	switch (head->piece) {
	case RAV_SNAP_HEAP:
		ok = decode_heap(&r, head, g, v);
		break;
	case RAV_SNAP_TYPES:
		ok = decode_types(&r, head, v);
		break;
	default:
		ok = decode_pool(&r, head, v);
		break;
	}
	if (ok && r.p != r.end) {
		r.noun = NULL;
		ok = bad(&r, "bytes left over after the last item");
	}
	free(tmp);
	return ok ? 0 : -1;
}

int ravt_snap_decode_piece(const ravt_piece *p, const ravt_snap_geom *g, const ravt_snap_visitor *v,
                           char *err, size_t errlen)
{
	for (uint32_t k = 0; k < p->parts; k++) {
		ravt_frame f;
		memcpy(&f, p->chunk[k], sizeof f);
		const uint8_t *payload = p->chunk[k] + sizeof f;
		ravt_snap_head h;
		char name[256];
		const char *why = ravt_snap_check(&f, payload, &h, name);
		if (why) {
			snprintf(err, errlen, "snapshot piece %llu part %u: %s",
			         (unsigned long long)p->head.piece_id, k, why);
			return -1;
		}
		if (ravt_snap_decode(&f, payload, &h, g, v, err, errlen) != 0)
			return -1;
	}
	return 0;
}
