/* writer-snapshot.c - writing SNAPSHOT chunks (format 1.1): the bodies the
 * session recorder builds from the heaps it copies, and their chunks.
 * snapshot.c reads them; snapshot.c's opening comment describes the coding.
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

bool ravt_snap_put_type(ravt_snap_body *b, uint16_t id, unsigned refmask, const char *text, size_t len)
{
	if (len > 255)
		len = 255;
	if (!reserve(b, 16 + len))
		return false;
	uint8_t *p = b->p + b->len;
	p = ravt_put_varint(p, id);
	*p++ = (uint8_t)(refmask & 3u);
	*p++ = (uint8_t)len;
	memcpy(p, text, len);
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
