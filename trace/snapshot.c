/* snapshot.c - coding of SNAPSHOT chunk bodies (format 1.1).
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

static bool reserve(ravt_snap_body *b, size_t extra)
{
	if (b->len + extra <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return false;
	b->p = p;
	b->cap = cap;
	return true;
}

void ravt_snap_body_free(ravt_snap_body *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Which of words 1-3 of a cell of this type hold pool addresses. */
static unsigned address_words(uint16_t type, const uint8_t *refmask)
{
	switch (type) {
	case RAV_TYPE_REF:
	case RAV_TYPE_ROOT:
		return 7u;
	case RAV_TYPE_EMPTY:
	case RAV_TYPE_HEADER:
	case RAV_TYPE_DEAD:
		return 0;
	default:
		return (refmask[type & (RAV_TYPE_MAX - 1)] & 3u) |
		       4u; /* fields per type; word 3 is the back-link */
	}
}

bool ravt_snap_put_page(ravt_snap_body *b, const ravt_snap_geom *g, const uint8_t *refmask, uint32_t index,
                        uint8_t kind, uint32_t fill, const uint64_t *words)
{
	/* worst case per cell: a tag and four 10-byte varints */
	if (!reserve(b, 32 + (size_t)fill * 41))
		return false;
	uint8_t *p = b->p + b->len;
	p = ravt_put_varint(p, index);
	*p++ = kind;
	p = ravt_put_varint(p, fill);
	uint64_t ws = g->word_size;
	uint64_t page_word = (uint64_t)index * (g->page_size / ws);
	for (uint32_t c = 1; c < fill; c++) {
		const uint64_t *w = words + (size_t)c * 4;
		uint16_t type = (uint16_t)(w[0] & 0xffffu);
		if (type == RAV_TYPE_DEAD) {
			*p++ = RAVT_CELL_DEAD;
			continue;
		}
		if (type == RAV_TYPE_EMPTY && !w[0] && !w[1] && !w[2] && !w[3]) {
			*p++ = RAVT_CELL_EMPTY;
			continue;
		}
		unsigned want = address_words(type, refmask), tag = 0;
		for (unsigned j = 1; j < 4; j++) {
			uint64_t v = w[j];
			if ((want >> (j - 1)) & 1u && v && v - g->pool_base < g->pool_bytes &&
			    (v - g->pool_base) % ws == 0)
				tag |= 1u << (j - 1);
		}
		*p++ = (uint8_t)tag;
		p = ravt_put_varint(p, w[0]);
		for (unsigned j = 1; j < 4; j++) {
			if ((tag >> (j - 1)) & 1u) {
				uint64_t own = page_word + (uint64_t)c * 4 + j;
				uint64_t target = (w[j] - g->pool_base) / ws;
				p = ravt_put_varint(p, ravt_zigzag((int64_t)(target - own)));
			} else {
				p = ravt_put_varint(p, w[j]);
			}
		}
	}
	b->len = (size_t)(p - b->p);
	return true;
}

bool ravt_snap_put_type(ravt_snap_body *b, uint16_t id, unsigned refmask, const char *name)
{
	size_t len = strlen(name);
	if (len > 255)
		len = 255;
	if (!reserve(b, 16 + len))
		return false;
	uint8_t *p = b->p + b->len;
	p = ravt_put_varint(p, id);
	*p++ = (uint8_t)(refmask & 3u);
	*p++ = (uint8_t)len;
	memcpy(p, name, len);
	b->len = (size_t)(p + len - b->p);
	return true;
}

bool ravt_snap_put_free_page(ravt_snap_body *b, uint32_t index, uint32_t *prev)
{
	if (!reserve(b, 10))
		return false;
	uint8_t *p = ravt_put_varint(b->p + b->len, index - *prev);
	*prev = index;
	b->len = (size_t)(p - b->p);
	return true;
}

int ravt_snap_write(ravt_writer *w, ravt_snap_head *head, const char *name, const ravt_snap_body *body)
{
	size_t nlen = name ? strlen(name) : 0;
	if (nlen > 255)
		nlen = 255;
	head->name_len = (uint8_t)nlen;
	head->head_size = (uint16_t)((sizeof *head + nlen + 7) & ~(size_t)7);
	size_t bound = ZSTD_compressBound(body->len);
	size_t cap = head->head_size + (bound > body->len ? bound : body->len);
	uint8_t *payload = calloc(1, cap ? cap : 1);
	if (!payload)
		return -1;
	if (nlen)
		memcpy(payload + sizeof *head, name, nlen);
	size_t stored = body->len;
	head->body_flags = 0;
	head->body_raw = body->len;
	if (body->len > 256) {
		size_t z = ZSTD_compress(payload + head->head_size, bound, body->p, body->len, 1);
		if (!ZSTD_isError(z) && z < body->len) {
			stored = z;
			head->body_flags = RAVT_SBF_ZSTD;
		}
	}
	if (!head->body_flags && body->len)
		memcpy(payload + head->head_size, body->p, body->len);
	memcpy(payload, head, sizeof *head);
	int rc =
	    ravt_writer_raw_chunk(w, RAVT_CHUNK_SNAPSHOT, 0, payload, (uint32_t)(head->head_size + stored),
	                          head->heap_id, head->items, head->piece_id);
	free(payload);
	return rc;
}

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
} reader;

static bool bad(reader *r, const char *what)
{
	snprintf(r->err, r->errlen, "snapshot body: %s at byte %td from its end", what, r->end - r->p);
	return false;
}

static bool get(reader *r, uint64_t *v, const char *what)
{
	if (!ravt_get_varint(&r->p, r->end, v))
		return bad(r, what);
	return true;
}

static bool get_byte(reader *r, uint8_t *v, const char *what)
{
	if (r->p >= r->end)
		return bad(r, what);
	*v = *r->p++;
	return true;
}

static bool decode_heap(reader *r, const ravt_snap_head *h, const ravt_snap_geom *g,
                        const ravt_snap_visitor *v)
{
	uint64_t wpp = g->page_size / g->word_size;
	for (uint32_t i = 0; i < h->items; i++) {
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
	for (uint32_t i = 0; i < h->items; i++) {
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
	for (uint32_t i = 0; i < h->items; i++) {
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
	reader r = {body, body + body_raw, err, errlen};
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
	if (ok && r.p != r.end)
		ok = bad(&r, "bytes left over after the last item");
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
