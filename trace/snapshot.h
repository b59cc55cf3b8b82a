/* snapshot.h - SNAPSHOT chunks (format 1.1): the state of a heap, of the type
 * registry or of the page pool at one point of a live session, written by
 * the session recorder (session.c) and read by the reader and replay.
 *
 * FORMAT.md §11 specifies the bytes; the head is ravt_snap_head in
 * format.h.  Bodies are plain byte streams of varints built here, so the
 * writer needs no engine and the reader trusts nothing: every length, page
 * index, fill and tag is checked before it is used.
 */
#ifndef RAV_TRACE_SNAPSHOT_H
#define RAV_TRACE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

/* Geometry a body is coded with (the trace header's, plus the pool range of
 * the recorded process on the writing side). */
typedef struct ravt_snap_geom {
	uint64_t pool_base, pool_bytes; /* writer only */
	uint8_t word_size;
	uint32_t page_size;
	uint32_t cells_per_page;
} ravt_snap_geom;

typedef struct ravt_snap_body {
	uint8_t *p;
	size_t len, cap;
} ravt_snap_body;

/* ---- writing ---- */

/* Append one page of a heap: `words` holds fill cells of 4 words (cell 0,
 * the page header, is not coded).  refmask[type] bit f: payload field f of
 * that type is a reference (4096 entries).  Type words must already have
 * their transient flags cleared.  false: out of memory. */
bool ravt_snap_put_page(ravt_snap_body *b, const ravt_snap_geom *g, const uint8_t *refmask, uint32_t index,
                        uint8_t kind, uint32_t fill, const uint64_t *words);
bool ravt_snap_put_type(ravt_snap_body *b, uint16_t id, unsigned refmask, const char *text, size_t len);
/* Pool: free page indices in increasing order (*prev: the previous one, start at 0). */
bool ravt_snap_put_free_page(ravt_snap_body *b, uint32_t index, uint32_t *prev);
void ravt_snap_body_free(ravt_snap_body *b);

/* Write one part: head (piece, part, parts, items, ids, stamp... filled in
 * by the caller; head_size and name_len are set here) + the body, zstd
 * level 1 if that makes it smaller.  0 or -1 (the writer's error). */
int ravt_snap_write(ravt_writer *w, ravt_snap_head *head, const char *name, const ravt_snap_body *body);

/* Body bytes after which a heap piece starts a new part. */
#define RAVT_SNAP_PART_BYTES (4u << 20)

/* ---- reading ---- */

/* Check a SNAPSHOT chunk's frame and head, before any body byte is used:
 * NULL if good (then *head and name are filled; name gets at most 255 bytes
 * and a NUL), else why not. */
const char *ravt_snap_check(const ravt_frame *f, const uint8_t *payload, ravt_snap_head *head,
                            char name[256]);

/* What a decoded body says.  Words of cells are as replay keeps them: pool
 * addresses as rav_loc, other words as stored.  state: rav_cell_state
 * (EMPTY, LIVE or DEAD). */
typedef struct ravt_snap_visitor {
	bool (*page)(void *user, uint32_t index, uint8_t kind, uint32_t fill);
	bool (*cell)(void *user, uint32_t index, uint32_t cell, uint8_t state, const uint64_t w[4]);
	bool (*type)(void *user, uint16_t id, unsigned refmask, const char *name, size_t len);
	bool (*free_page)(void *user, uint32_t index);
	void *user;
} ravt_snap_visitor;

/* Decompress (if needed) and decode the body of a checked chunk.  0, or -1
 * with a message in err: damaged body, or a visitor returned false ("out of
 * memory" unless the visitor says otherwise through its own state). */
int ravt_snap_decode(const ravt_frame *f, const uint8_t *payload, const ravt_snap_head *head,
                     const ravt_snap_geom *g, const ravt_snap_visitor *v, char *err, size_t errlen);

/* A whole piece as a reader found it: the chunks of its parts, in part
 * order, each pointing at its 40-byte frame (the payload follows). */
#define RAVT_SNAP_MAX_PARTS 65536u
typedef struct ravt_piece {
	ravt_snap_head head; /* of part 0 */
	char name[256];
	uint32_t parts;
	const uint8_t *const *chunk;
	/* index + 1 of the snapshot event that named it first (0: none yet):
	 * a piece is named by one event, so a trace cannot make replay
	 * install one big piece again and again */
	uint64_t named_by;
} ravt_piece;

/* Decode every part of a piece in order (items of each part counted
 * against its head).  0, or -1 with a message. */
int ravt_snap_decode_piece(const ravt_piece *p, const ravt_snap_geom *g, const ravt_snap_visitor *v,
                           char *err, size_t errlen);

#endif /* RAV_TRACE_SNAPSHOT_H */
