/* vec.c - growable vectors and byte strings as trees of ravioli.
 *
 * Built only on the public cell API (rav_new_field, rav_load_ref, rav_store,
 * rav_store_ref, rav_clear_ref, rav_scalar), so vectors obey exactly the
 * rules every program obeys and show up in traces as ordinary cells.
 *
 * Shape.  A vector (RAV_TYPE_VEC) or byte string (RAV_TYPE_BYTES) header
 * keeps its length in f0 and a *spine* in f1.  Spine node j (a
 * RAV_TYPE_VEC_NODE) holds in f0 a complete binary tree of height j whose
 * leaves carry two elements each, and in f1 spine node j + 1.  Tree j thus
 * holds 2^(j+1) elements, and elements [2^(j+1) - 2, 2^(j+2) - 2) live
 * there.  Reaching element i walks about log2(i) spine nodes and log2(i)
 * tree levels: O(log n).
 *
 * Why a spine rather than one tree that grows a new root above the old one:
 * the public API has no "move a reference from one slot to another" step,
 * so re-parenting the old root means adding a second referrer (a reference
 * raviolo) and then dropping the first, which frees that reference raviolo
 * and moves cells.  Push would then invalidate the caller's borrows once per
 * doubling, against the header's promise that only pop and set_ref move
 * cells.  With the spine, growth only ever allocates into empty fields, so
 * push, set and append never free and never move.
 *
 * Leaves are VEC_LEAF (two data words) for data vectors and byte strings,
 * VEC_RLEAF (two references) for reference vectors.  Cells exist only for
 * elements below the length: pop frees the largest subtree that it empties
 * with one rav_clear_ref (the engine cascades iteratively), after every
 * other write, so the function never touches a cell after a move.  Callers'
 * borrows on the heap are stale after pop and set_ref, as documented.
 *
 * The header's scalar bit 0 says "reference vector".  A vector made with
 * rav_new_field(..., RAV_TYPE_VEC, ...) is therefore a data vector; setting
 * the scalar to 1 (rav_set_scalar) before the first push makes it a
 * reference vector.
 */
#include <string.h>

#include "ravioli.h"
#include "rav-private.h"

#define VEC_SCALAR_REFS ((uintptr_t)1)
#define WORD_BYTES sizeof(uintptr_t)

/* Spine level holding element i: floor(log2(i + 2)) - 1. */
static unsigned level_of(size_t i)
{
	size_t v = i + 2;
	unsigned lg = 0;
	while (v >>= 1)
		lg++;
	return lg - 1;
}

static size_t level_base(unsigned j)
{
	return ((size_t)2 << j) - 2;
}

typedef enum walk_mode { WALK_FIND, WALK_CREATE } walk_mode;

/* Find (or with WALK_CREATE, build) the leaf holding element i of the tree
 * under header `hdr`.  Creation only allocates into empty fields, so no
 * borrow goes stale. */
static rav_status leaf_of(rav_heap *h, rav_ref hdr, size_t i, rav_type leaf_type, walk_mode mode,
			  rav_ref *leaf)
{
	unsigned j = level_of(i);
	size_t leaf_idx = (i - level_base(j)) >> 1;
	rav_ref parent = hdr;
	rav_ref node;
	rav_status st;

	/* Spine: header.f1 is spine 0, spine k.f1 is spine k + 1. */
	for (unsigned k = 0;; k++) {
		node = rav_load_ref(h, parent, 1);
		if (rav_ref_is_null(node)) {
			if (mode != WALK_CREATE)
				return rav__fail(RAV_EINVAL, "vector tree is missing spine node %u for element %zu",
						 k, i);
			st = rav_new_field(h, RAV_TYPE_VEC_NODE, parent, 1, &node);
			if (st != RAV_OK)
				return st;
		}
		if (k == j)
			break;
		parent = node;
	}

	/* Tree j: field 0 of the spine node, then one bit of leaf_idx per level. */
	int field = 0;
	for (unsigned d = 0; d <= j; d++) {
		rav_ref child = rav_load_ref(h, node, field);
		if (rav_ref_is_null(child)) {
			if (mode != WALK_CREATE)
				return rav__fail(RAV_EINVAL,
						 "vector tree is missing a depth-%u cell for element %zu", d, i);
			st = rav_new_field(h, d == j ? leaf_type : RAV_TYPE_VEC_NODE, node, field, &child);
			if (st != RAV_OK)
				return st;
		}
		node = child;
		if (d < j)
			field = (int)((leaf_idx >> (j - 1 - d)) & 1);
	}
	*leaf = node;
	return RAV_OK;
}

/* Checks that `vec` is a vector header; *of_refs tells its element kind. */
static rav_status check_vec(rav_heap *h, rav_ref vec, const char *fn, bool *of_refs)
{
	if (h == NULL || rav_ref_is_null(vec))
		return rav__fail(RAV_EINVAL, "%s: null heap or vector", fn);
	rav_type t = rav_type_of(h, vec);
	if (t != RAV_TYPE_VEC)
		return rav__fail(RAV_ETYPE, "%s: raviolo is of type %u (%s), not a vector", fn, (unsigned)t,
				 rav_type_name(t) ? rav_type_name(t) : "unknown");
	*of_refs = (rav_scalar(h, vec) & VEC_SCALAR_REFS) != 0;
	return RAV_OK;
}

static rav_status check_kind(rav_heap *h, rav_ref vec, const char *fn, bool want_refs, size_t *len)
{
	bool of_refs;
	rav_status st = check_vec(h, vec, fn, &of_refs);
	if (st != RAV_OK)
		return st;
	if (of_refs != want_refs)
		return rav__fail(RAV_ETYPE, "%s: this is a %s vector", fn, of_refs ? "reference" : "data");
	*len = (size_t)rav_load(h, vec, 0);
	return RAV_OK;
}

rav_status rav_vec_new_root(rav_heap *h, rav_root r, bool of_refs)
{
	rav_ref vec;
	if (h == NULL || r == NULL)
		return rav__fail(RAV_EINVAL, "rav_vec_new_root: null heap or root");
	rav_status st = rav_new_root(h, RAV_TYPE_VEC, r, &vec);
	if (st != RAV_OK)
		return st;
	if (of_refs)
		rav_set_scalar(h, vec, VEC_SCALAR_REFS);
	return RAV_OK;
}

size_t rav_vec_len(rav_heap *h, rav_ref vec)
{
	bool of_refs;
	if (check_vec(h, vec, "rav_vec_len", &of_refs) != RAV_OK)
		return 0;
	return (size_t)rav_load(h, vec, 0);
}

static rav_status push_slot(rav_heap *h, rav_ref vec, size_t len, rav_type leaf_type, rav_ref *leaf)
{
	if (len >= (size_t)UINTPTR_MAX - 2)
		return rav__fail(RAV_ERANGE, "vector is full (%zu elements)", len);
	return leaf_of(h, vec, len, leaf_type, WALK_CREATE, leaf);
}

rav_status rav_vec_push(rav_heap *h, rav_ref vec, uintptr_t value)
{
	size_t len;
	rav_ref leaf;
	rav_status st = check_kind(h, vec, "rav_vec_push", false, &len);
	if (st == RAV_OK)
		st = push_slot(h, vec, len, RAV_TYPE_VEC_LEAF, &leaf);
	if (st != RAV_OK)
		return st;
	rav_store(h, leaf, (int)(len & 1), value);
	rav_store(h, vec, 0, (uintptr_t)(len + 1));
	return RAV_OK;
}

rav_status rav_vec_push_ref(rav_heap *h, rav_ref vec, rav_ref target)
{
	size_t len;
	rav_ref leaf;
	rav_status st = check_kind(h, vec, "rav_vec_push_ref", true, &len);
	if (st == RAV_OK)
		st = push_slot(h, vec, len, RAV_TYPE_VEC_RLEAF, &leaf);
	if (st != RAV_OK)
		return st;
	/* The leaf field is empty, so storing drops nothing and moves nothing. */
	if (!rav_ref_is_null(target)) {
		st = rav_store_ref(h, leaf, (int)(len & 1), target);
		if (st != RAV_OK)
			return st;
	}
	rav_store(h, vec, 0, (uintptr_t)(len + 1));
	return RAV_OK;
}

static rav_status index_leaf(rav_heap *h, rav_ref vec, size_t i, const char *fn, bool want_refs,
			     rav_ref *leaf)
{
	size_t len;
	rav_status st = check_kind(h, vec, fn, want_refs, &len);
	if (st != RAV_OK)
		return st;
	if (i >= len)
		return rav__fail(RAV_ERANGE, "%s: index %zu out of range (length %zu)", fn, i, len);
	return leaf_of(h, vec, i, want_refs ? RAV_TYPE_VEC_RLEAF : RAV_TYPE_VEC_LEAF, WALK_FIND, leaf);
}

rav_status rav_vec_get(rav_heap *h, rav_ref vec, size_t i, uintptr_t *out)
{
	rav_ref leaf;
	rav_status st = index_leaf(h, vec, i, "rav_vec_get", false, &leaf);
	if (st != RAV_OK)
		return st;
	if (out)
		*out = rav_load(h, leaf, (int)(i & 1));
	return RAV_OK;
}

rav_status rav_vec_set(rav_heap *h, rav_ref vec, size_t i, uintptr_t value)
{
	rav_ref leaf;
	rav_status st = index_leaf(h, vec, i, "rav_vec_set", false, &leaf);
	if (st != RAV_OK)
		return st;
	rav_store(h, leaf, (int)(i & 1), value);
	return RAV_OK;
}

rav_ref rav_vec_get_ref(rav_heap *h, rav_ref vec, size_t i)
{
	rav_ref leaf;
	if (index_leaf(h, vec, i, "rav_vec_get_ref", true, &leaf) != RAV_OK)
		return RAV_NULL_REF;
	return rav_load_ref(h, leaf, (int)(i & 1));
}

rav_status rav_vec_set_ref(rav_heap *h, rav_ref vec, size_t i, rav_ref target)
{
	rav_ref leaf;
	rav_status st = index_leaf(h, vec, i, "rav_vec_set_ref", true, &leaf);
	if (st != RAV_OK)
		return st;
	/* Last call: dropping the old element may free and move cells. */
	if (rav_ref_is_null(target))
		return rav_clear_ref(h, leaf, (int)(i & 1));
	return rav_store_ref(h, leaf, (int)(i & 1), target);
}

/* Count of trailing zero bits of a non-zero value. */
static unsigned trailing_zeros(size_t v)
{
	unsigned n = 0;
	while (!(v & 1)) {
		v >>= 1;
		n++;
	}
	return n;
}

/* Remove the last element of the tree under `hdr` (whose length is len > 0,
 * already checked) after the caller stored the new length.  Whatever cell
 * the element leaves empty is freed with a single clear, issued last. */
static rav_status drop_last(rav_heap *h, rav_ref hdr, size_t len, rav_type leaf_type, bool of_refs)
{
	size_t i = len - 1;
	unsigned j = level_of(i);
	size_t off = i - level_base(j);
	rav_ref parent = hdr;
	rav_ref node;

	/* Walk the spine down to node j, remembering its parent. */
	for (unsigned k = 0;; k++) {
		node = rav_load_ref(h, parent, 1);
		if (rav_ref_is_null(node))
			return rav__fail(RAV_EINVAL, "vector tree is missing spine node %u for element %zu", k,
					 i);
		if (k == j)
			break;
		parent = node;
	}
	if (off == 0) /* Tree j held only this element: drop spine node j and its tree. */
		return rav_clear_ref(h, parent, 1);

	size_t leaf_idx = off >> 1;
	if (off & 1) {
		/* Second slot of a leaf that keeps its first element. */
		rav_ref leaf;
		rav_status st = leaf_of(h, hdr, i, leaf_type, WALK_FIND, &leaf);
		if (st != RAV_OK)
			return st;
		if (of_refs)
			return rav_clear_ref(h, leaf, 1);
		rav_store(h, leaf, 1, 0);
		return RAV_OK;
	}

	/* The leaf empties, and so does every ancestor of which it is the first
	 * leaf: the largest such subtree hangs at depth j - tz(leaf_idx) as a
	 * right child (leaf_idx > 0 here because off >= 2). */
	unsigned depth = j - trailing_zeros(leaf_idx);
	int field = 0;
	for (unsigned d = 0; d < depth; d++) {
		node = rav_load_ref(h, node, field);
		if (rav_ref_is_null(node))
			return rav__fail(RAV_EINVAL, "vector tree is missing a depth-%u cell for element %zu",
					 d, i);
		field = (int)((leaf_idx >> (j - 1 - d)) & 1);
	}
	return rav_clear_ref(h, node, field);
}

rav_status rav_vec_pop(rav_heap *h, rav_ref vec, uintptr_t *out)
{
	bool of_refs;
	rav_status st = check_vec(h, vec, "rav_vec_pop", &of_refs);
	if (st != RAV_OK)
		return st;
	size_t len = (size_t)rav_load(h, vec, 0);
	if (len == 0)
		return rav__fail(RAV_ERANGE, "rav_vec_pop: vector is empty");
	if (out) {
		if (of_refs) {
			*out = 0; /* the popped reference is dropped, not returned */
		} else {
			rav_ref leaf;
			st = leaf_of(h, vec, len - 1, RAV_TYPE_VEC_LEAF, WALK_FIND, &leaf);
			if (st != RAV_OK)
				return st;
			*out = rav_load(h, leaf, (int)((len - 1) & 1));
		}
	}
	rav_store(h, vec, 0, (uintptr_t)(len - 1));
	return drop_last(h, vec, len, of_refs ? RAV_TYPE_VEC_RLEAF : RAV_TYPE_VEC_LEAF, of_refs);
}

/* ---- Byte strings ------------------------------------------------------- */

static rav_status check_bytes(rav_heap *h, rav_ref bytes, const char *fn, size_t *len)
{
	if (h == NULL || rav_ref_is_null(bytes))
		return rav__fail(RAV_EINVAL, "%s: null heap or byte string", fn);
	rav_type t = rav_type_of(h, bytes);
	if (t != RAV_TYPE_BYTES)
		return rav__fail(RAV_ETYPE, "%s: raviolo is of type %u (%s), not a byte string", fn,
				 (unsigned)t, rav_type_name(t) ? rav_type_name(t) : "unknown");
	*len = (size_t)rav_load(h, bytes, 0);
	return RAV_OK;
}

rav_status rav_bytes_new_root(rav_heap *h, rav_root r, const void *data, size_t len)
{
	rav_ref bytes;
	if (h == NULL || r == NULL || (data == NULL && len > 0))
		return rav__fail(RAV_EINVAL, "rav_bytes_new_root: null heap, root or data");
	rav_status st = rav_new_root(h, RAV_TYPE_BYTES, r, &bytes);
	if (st != RAV_OK || len == 0)
		return st;
	return rav_bytes_append(h, bytes, data, len);
}

size_t rav_bytes_len(rav_heap *h, rav_ref bytes)
{
	size_t len;
	if (check_bytes(h, bytes, "rav_bytes_len", &len) != RAV_OK)
		return 0;
	return len;
}

/* Words 2k and 2k+1 share a leaf (level bases are even), so consecutive
 * word accesses reuse the leaf found for the previous one. */
typedef struct word_cursor {
	size_t word; /* word index the cached leaf holds, or SIZE_MAX */
	rav_ref leaf;
} word_cursor;

static rav_status cursor_leaf(rav_heap *h, rav_ref bytes, word_cursor *c, size_t word, walk_mode mode)
{
	if (c->word != SIZE_MAX && (c->word | 1) == (word | 1)) {
		c->word = word;
		return RAV_OK;
	}
	rav_status st = leaf_of(h, bytes, word, RAV_TYPE_VEC_LEAF, mode, &c->leaf);
	c->word = st == RAV_OK ? word : SIZE_MAX;
	return st;
}

rav_status rav_bytes_append(rav_heap *h, rav_ref bytes, const void *data, size_t len)
{
	size_t pos;
	rav_status st = check_bytes(h, bytes, "rav_bytes_append", &pos);
	if (st != RAV_OK)
		return st;
	if (data == NULL && len > 0)
		return rav__fail(RAV_EINVAL, "rav_bytes_append: null data");
	if (len > SIZE_MAX / 2 - pos)
		return rav__fail(RAV_ERANGE, "rav_bytes_append: length overflow");

	const unsigned char *src = data;
	word_cursor cur = { SIZE_MAX, RAV_NULL_REF };
	while (len > 0) {
		size_t word = pos / WORD_BYTES;
		size_t at = pos % WORD_BYTES;
		size_t take = WORD_BYTES - at < len ? WORD_BYTES - at : len;
		uintptr_t w = 0;
		/* A partly filled last word exists already; a word starting here does not. */
		st = cursor_leaf(h, bytes, &cur, word, at ? WALK_FIND : WALK_CREATE);
		if (st != RAV_OK)
			break;
		if (at)
			w = rav_load(h, cur.leaf, (int)(word & 1));
		memcpy((unsigned char *)&w + at, src, take);
		rav_store(h, cur.leaf, (int)(word & 1), w);
		pos += take;
		src += take;
		len -= take;
	}
	/* On failure the string keeps what was appended so far, consistently. */
	rav_store(h, bytes, 0, (uintptr_t)pos);
	return st;
}

int rav_bytes_at(rav_heap *h, rav_ref bytes, size_t i)
{
	unsigned char b;
	if (rav_bytes_read(h, bytes, i, &b, 1) != 1)
		return -1;
	return b;
}

size_t rav_bytes_read(rav_heap *h, rav_ref bytes, size_t off, void *buf, size_t len)
{
	size_t total;
	if (check_bytes(h, bytes, "rav_bytes_read", &total) != RAV_OK)
		return 0;
	if (off >= total || buf == NULL)
		return 0;
	if (len > total - off)
		len = total - off;

	unsigned char *dst = buf;
	size_t done = 0;
	word_cursor cur = { SIZE_MAX, RAV_NULL_REF };
	while (done < len) {
		size_t pos = off + done;
		size_t word = pos / WORD_BYTES;
		size_t at = pos % WORD_BYTES;
		size_t take = WORD_BYTES - at < len - done ? WORD_BYTES - at : len - done;
		if (cursor_leaf(h, bytes, &cur, word, WALK_FIND) != RAV_OK)
			break;
		uintptr_t w = rav_load(h, cur.leaf, (int)(word & 1));
		memcpy(dst + done, (unsigned char *)&w + at, take);
		done += take;
	}
	return done;
}
