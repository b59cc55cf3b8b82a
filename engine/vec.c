/* vec.c - growable vectors and byte strings as trees of ravioli.
 *
 * Built only on the public cell API (rav_new_field, rav_load_ref, rav_store,
 * rav_store_ref, rav_clear_ref, rav_move, rav_scalar), so vectors obey
 * exactly the rules every program obeys and show up in traces as ordinary
 * cells.
 *
 * Shape.  A vector (RAV_TYPE_VEC) or byte string (RAV_TYPE_BYTES) header
 * keeps its length in f0 and in f1 the root of a complete binary tree whose
 * leaves carry two elements each: VEC_LEAF (two data words) for data vectors
 * and byte strings, VEC_RLEAF (two references) for reference vectors, and
 * VEC_NODE (two references) above them.  The height is derived from the
 * length (the smallest H with 2^(H+1) >= length), so it is never stored;
 * element i sits in leaf i / 2, reached by the bits of i / 2 from the top:
 * O(log n) hops.
 *
 * Only cells below the length exist.  Push allocates the missing path into
 * empty fields; when the tree is full it first grows a new root above the
 * old one: the new node is made in a scratch root and the old root moves
 * under it with rav_move, which re-links without a reference raviolo, so
 * push, set and append never free and never move cells (the caller's
 * borrows stay valid).  Pop frees the largest subtree it empties with a
 * single call issued after every other write; when that leaves the root
 * with one child, the same call collapses the root (rav_move of its left
 * child into the header drops the old root, and the engine's cascade frees
 * the emptied right path with it).  Callers' borrows on the heap are stale
 * after pop and set_ref, as ravioli.h says.
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

/* Height of the tree holding len >= 1 elements (0: the root is a leaf). */
static unsigned height_for(size_t len)
{
	size_t leaves = (len + 1) / 2;
	unsigned hgt = 0;
	while (((size_t)1 << hgt) < leaves)
		hgt++;
	return hgt;
}

typedef enum walk_mode { WALK_FIND, WALK_CREATE } walk_mode;

/* Find (or with WALK_CREATE, build) the leaf holding element i of the tree
 * of height hgt under header `hdr`.  Creation only allocates into empty
 * fields, so no borrow goes stale. */
static rav_status leaf_of(rav_heap *h, rav_ref hdr, size_t i, unsigned hgt, rav_type leaf_type, walk_mode mode,
			  rav_ref *leaf)
{
	size_t leaf_idx = i >> 1;
	rav_ref node = hdr;
	int field = 1;
	for (unsigned d = 0; d <= hgt; d++) {
		rav_ref child = rav_load_ref(h, node, field);
		if (rav_ref_is_null(child)) {
			if (mode != WALK_CREATE)
				return rav__fail(RAV_EINVAL,
						 "vector tree is missing a depth-%u cell for element %zu", d, i);
			rav_status st = rav_new_field(h, d == hgt ? leaf_type : RAV_TYPE_VEC_NODE, node, field, &child);
			if (st != RAV_OK)
				return st;
		}
		node = child;
		if (d < hgt)
			field = (int)((leaf_idx >> (hgt - 1 - d)) & 1);
	}
	*leaf = node;
	return RAV_OK;
}

/* Grow a full tree of height hgt - 1 holding `len` elements: a new root
 * goes above the old one (which becomes its left child) and the path to
 * element `len`, the first of the new right half, is built under it.  All
 * of it is built in a scratch root first, so running out of memory leaves
 * the vector as it was; then two rav_move calls into empty slots re-link
 * without freeing anything.  *leaf is the new element's leaf. */
static rav_status grow_root(rav_heap *h, rav_ref hdr, unsigned hgt, rav_type leaf_type, rav_ref *leaf)
{
	rav_root scratch = rav_root_new(h);
	if (scratch == NULL)
		return RAV_ENOMEM;
	rav_ref top, node;
	rav_status st = rav_new_root(h, RAV_TYPE_VEC_NODE, scratch, &top);
	node = top;
	for (unsigned d = 1; d <= hgt && st == RAV_OK; d++)
		st = rav_new_field(h, d == hgt ? leaf_type : RAV_TYPE_VEC_NODE, node, d == 1 ? 1 : 0, &node);
	if (st == RAV_OK)
		st = rav_move(h, rav_field_slot(top, 0), rav_field_slot(hdr, 1));
	if (st == RAV_OK)
		st = rav_move(h, rav_field_slot(hdr, 1), rav_root_slot(scratch));
	rav_root_free(h, scratch); /* empty unless a step failed: then it frees the partial path */
	*leaf = node;
	return st;
}

/* Checks that `vec` is a vector header; *of_refs tells its element kind. */
static rav_status check_vec(rav_heap *h, rav_ref vec, const char *fn, bool *of_refs)
{
	*of_refs = false;
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
	*len = 0;
	bool of_refs;
	rav_status st = check_vec(h, vec, fn, &of_refs);
	if (st != RAV_OK)
		return st;
	if (of_refs != want_refs)
		return rav__fail(RAV_ETYPE, "%s: this is a %s vector", fn, of_refs ? "reference" : "data");
	*len = (size_t)rav_load(h, vec, 0);
	return RAV_OK;
}

static rav_status vec_new_root_impl(rav_heap *h, rav_root r, bool of_refs)
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

static size_t vec_len_impl(rav_heap *h, rav_ref vec)
{
	bool of_refs;
	if (check_vec(h, vec, "rav_vec_len", &of_refs) != RAV_OK)
		return 0;
	return (size_t)rav_load(h, vec, 0);
}

/* The leaf that will hold element `len` (growing the tree if full). */
static rav_status push_slot(rav_heap *h, rav_ref hdr, size_t len, rav_type leaf_type, rav_ref *leaf)
{
	if (len >= SIZE_MAX / 4)
		return rav__fail(RAV_ERANGE, "vector is full (%zu elements)", len);
	if (len > 0 && len == (size_t)2 << height_for(len))
		return grow_root(h, hdr, height_for(len) + 1, leaf_type, leaf);
	return leaf_of(h, hdr, len, height_for(len + 1), leaf_type, WALK_CREATE, leaf);
}

static rav_status vec_push_impl(rav_heap *h, rav_ref vec, uintptr_t value)
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

static rav_status vec_push_ref_impl(rav_heap *h, rav_ref vec, rav_ref target)
{
	size_t len;
	rav_ref leaf;
	rav_status st = check_kind(h, vec, "rav_vec_push_ref", true, &len);
	if (st != RAV_OK)
		return st;
	/* A target the engine refuses (stale, another heap's: reported by
	 * debug checks) is refused before the tree changes shape. */
	if (!rav_ref_is_null(target) && rav_type_of(h, target) == RAV_TYPE_EMPTY)
		return rav__fail(RAV_EINVAL, "rav_vec_push_ref: the target is not a live raviolo of this heap");
	bool grows = len > 0 && len == (size_t)2 << height_for(len);
	st = push_slot(h, vec, len, RAV_TYPE_VEC_RLEAF, &leaf);
	if (st != RAV_OK)
		return st;
	/* The leaf field is empty, so storing drops nothing and moves nothing. */
	if (!rav_ref_is_null(target)) {
		st = rav_store_ref(h, leaf, (int)(len & 1), target);
		if (st != RAV_OK) {
			/* The length still says the old height: take the new root
			 * away again (this frees it and the new path, moving cells). */
			if (grows)
				(void)rav_move(h, rav_field_slot(vec, 1), rav_field_slot(rav_load_ref(h, vec, 1), 0));
			return st;
		}
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
	return leaf_of(h, vec, i, height_for(len), want_refs ? RAV_TYPE_VEC_RLEAF : RAV_TYPE_VEC_LEAF, WALK_FIND,
		       leaf);
}

static rav_status vec_get_impl(rav_heap *h, rav_ref vec, size_t i, uintptr_t *out)
{
	rav_ref leaf;
	rav_status st = index_leaf(h, vec, i, "rav_vec_get", false, &leaf);
	if (st != RAV_OK)
		return st;
	if (out)
		*out = rav_load(h, leaf, (int)(i & 1));
	return RAV_OK;
}

static rav_status vec_set_impl(rav_heap *h, rav_ref vec, size_t i, uintptr_t value)
{
	rav_ref leaf;
	rav_status st = index_leaf(h, vec, i, "rav_vec_set", false, &leaf);
	if (st != RAV_OK)
		return st;
	rav_store(h, leaf, (int)(i & 1), value);
	return RAV_OK;
}

static rav_ref vec_get_ref_impl(rav_heap *h, rav_ref vec, size_t i)
{
	rav_ref leaf;
	if (index_leaf(h, vec, i, "rav_vec_get_ref", true, &leaf) != RAV_OK)
		return RAV_NULL_REF;
	return rav_load_ref(h, leaf, (int)(i & 1));
}

static rav_status vec_set_ref_impl(rav_heap *h, rav_ref vec, size_t i, rav_ref target)
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

/* Remove the last element of the tree under `hdr` (whose length was
 * len > 0) after the caller stored the new length.  Whatever the element
 * leaves empty is freed by a single call, issued last. */
static rav_status drop_last(rav_heap *h, rav_ref hdr, size_t len, rav_type leaf_type, bool of_refs)
{
	size_t i = len - 1;
	if (i == 0) /* the root leaf held only this element */
		return rav_clear_ref(h, hdr, 1);
	unsigned hgt = height_for(len);
	if (hgt > 0 && i == (size_t)1 << hgt) {
		/* The element was alone in the root's right half: the left child
		 * becomes the root, and the old root goes with the right path. */
		rav_ref root = rav_load_ref(h, hdr, 1);
		return rav_move(h, rav_field_slot(hdr, 1), rav_field_slot(root, 0));
	}
	if (i & 1) {
		/* Second slot of a leaf that keeps its first element. */
		rav_ref leaf;
		rav_status st = leaf_of(h, hdr, i, hgt, leaf_type, WALK_FIND, &leaf);
		if (st != RAV_OK)
			return st;
		if (of_refs)
			return rav_clear_ref(h, leaf, 1);
		rav_store(h, leaf, 1, 0);
		return RAV_OK;
	}

	/* The leaf empties, and so does every ancestor of which it is the first
	 * leaf: the largest such subtree hangs at depth hgt - tz(leaf_idx) as a
	 * right child (leaf_idx > 0, and depth >= 2 since the root-half case was
	 * handled above). */
	size_t leaf_idx = i >> 1;
	unsigned depth = hgt - trailing_zeros(leaf_idx);
	rav_ref node = hdr;
	int field = 1;
	for (unsigned d = 0; d < depth; d++) {
		node = rav_load_ref(h, node, field);
		if (rav_ref_is_null(node))
			return rav__fail(RAV_EINVAL, "vector tree is missing a depth-%u cell for element %zu", d,
					 i);
		field = (int)((leaf_idx >> (hgt - 1 - d)) & 1);
	}
	return rav_clear_ref(h, node, field);
}

static rav_status vec_pop_impl(rav_heap *h, rav_ref vec, uintptr_t *out)
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
			st = leaf_of(h, vec, len - 1, height_for(len), RAV_TYPE_VEC_LEAF, WALK_FIND, &leaf);
			if (st != RAV_OK)
				return st;
			*out = rav_load(h, leaf, (int)((len - 1) & 1));
		}
	}
	rav_store(h, vec, 0, (uintptr_t)(len - 1));
	st = drop_last(h, vec, len, of_refs ? RAV_TYPE_VEC_RLEAF : RAV_TYPE_VEC_LEAF, of_refs);
	if (st != RAV_OK) /* nothing was freed (the failing call was the freeing one): vec is still valid */
		rav_store(h, vec, 0, (uintptr_t)len);
	return st;
}

/* ---- Byte strings ------------------------------------------------------- */

static rav_status check_bytes(rav_heap *h, rav_ref bytes, const char *fn, size_t *len)
{
	*len = 0;
	if (h == NULL || rav_ref_is_null(bytes))
		return rav__fail(RAV_EINVAL, "%s: null heap or byte string", fn);
	rav_type t = rav_type_of(h, bytes);
	if (t != RAV_TYPE_BYTES)
		return rav__fail(RAV_ETYPE, "%s: raviolo is of type %u (%s), not a byte string", fn,
				 (unsigned)t, rav_type_name(t) ? rav_type_name(t) : "unknown");
	*len = (size_t)rav_load(h, bytes, 0);
	return RAV_OK;
}

static rav_status bytes_new_root_impl(rav_heap *h, rav_root r, const void *data, size_t len)
{
	rav_ref bytes;
	if (h == NULL || r == NULL || (data == NULL && len > 0))
		return rav__fail(RAV_EINVAL, "rav_bytes_new_root: null heap, root or data");
	rav_status st = rav_new_root(h, RAV_TYPE_BYTES, r, &bytes);
	if (st != RAV_OK || len == 0)
		return st;
	return rav_bytes_append(h, bytes, data, len);
}

static size_t bytes_len_impl(rav_heap *h, rav_ref bytes)
{
	size_t len;
	if (check_bytes(h, bytes, "rav_bytes_len", &len) != RAV_OK)
		return 0;
	return len;
}

/* Words 2k and 2k+1 share a leaf, and a leaf never moves while bytes are
 * appended or read (growth only adds cells above it), so consecutive word
 * accesses reuse the leaf found for the previous one. */
typedef struct word_cursor {
	size_t word; /* word index the cached leaf holds, or SIZE_MAX */
	rav_ref leaf;
} word_cursor;

/* Leaf of `word` in a string of `nwords` words; WALK_CREATE appends word
 * number nwords (growing the tree when full). */
static rav_status cursor_leaf(rav_heap *h, rav_ref bytes, word_cursor *c, size_t word, size_t nwords,
			      walk_mode mode)
{
	if (c->word != SIZE_MAX && (c->word | 1) == (word | 1)) {
		c->word = word;
		return RAV_OK;
	}
	rav_status st = mode == WALK_CREATE
				? push_slot(h, bytes, word, RAV_TYPE_VEC_LEAF, &c->leaf)
				: leaf_of(h, bytes, word, height_for(nwords), RAV_TYPE_VEC_LEAF, WALK_FIND, &c->leaf);
	c->word = st == RAV_OK ? word : SIZE_MAX;
	return st;
}

static rav_status bytes_append_impl(rav_heap *h, rav_ref bytes, const void *data, size_t len)
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
		st = cursor_leaf(h, bytes, &cur, word, word + 1, at ? WALK_FIND : WALK_CREATE);
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

static int bytes_at_impl(rav_heap *h, rav_ref bytes, size_t i)
{
	unsigned char b;
	if (rav_bytes_read(h, bytes, i, &b, 1) != 1)
		return -1;
	return b;
}

static size_t bytes_read_impl(rav_heap *h, rav_ref bytes, size_t off, void *buf, size_t len)
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
		if (cursor_leaf(h, bytes, &cur, word, (total + WORD_BYTES - 1) / WORD_BYTES, WALK_FIND) != RAV_OK)
			break;
		uintptr_t w = rav_load(h, cur.leaf, (int)(word & 1));
		memcpy(dst + done, (unsigned char *)&w + at, take);
		done += take;
	}
	return done;
}

/* ---- public entry points ----
 * Each takes the program's call site once (RAV_SITE_BEGIN): the public
 * calls the implementations make keep it, so every cell a vector operation
 * touches is the program's line's doing. */

rav_status rav_vec_new_root(rav_heap *h, rav_root r, bool of_refs)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_new_root_impl(h, r, of_refs);
	RAV_SITE_END();
	return ret;
}

size_t rav_vec_len(rav_heap *h, rav_ref vec)
{
	RAV_SITE_BEGIN();
	size_t ret = vec_len_impl(h, vec);
	RAV_SITE_END();
	return ret;
}

rav_status rav_vec_push(rav_heap *h, rav_ref vec, uintptr_t value)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_push_impl(h, vec, value);
	RAV_SITE_END();
	return ret;
}

rav_status rav_vec_push_ref(rav_heap *h, rav_ref vec, rav_ref target)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_push_ref_impl(h, vec, target);
	RAV_SITE_END();
	return ret;
}

rav_status rav_vec_get(rav_heap *h, rav_ref vec, size_t i, uintptr_t *out)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_get_impl(h, vec, i, out);
	RAV_SITE_END();
	return ret;
}

rav_status rav_vec_set(rav_heap *h, rav_ref vec, size_t i, uintptr_t value)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_set_impl(h, vec, i, value);
	RAV_SITE_END();
	return ret;
}

rav_ref rav_vec_get_ref(rav_heap *h, rav_ref vec, size_t i)
{
	RAV_SITE_BEGIN();
	rav_ref ret = vec_get_ref_impl(h, vec, i);
	RAV_SITE_END();
	return ret;
}

rav_status rav_vec_set_ref(rav_heap *h, rav_ref vec, size_t i, rav_ref target)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_set_ref_impl(h, vec, i, target);
	RAV_SITE_END();
	return ret;
}

rav_status rav_vec_pop(rav_heap *h, rav_ref vec, uintptr_t *out)
{
	RAV_SITE_BEGIN();
	rav_status ret = vec_pop_impl(h, vec, out);
	RAV_SITE_END();
	return ret;
}

rav_status rav_bytes_new_root(rav_heap *h, rav_root r, const void *data, size_t len)
{
	RAV_SITE_BEGIN();
	rav_status ret = bytes_new_root_impl(h, r, data, len);
	RAV_SITE_END();
	return ret;
}

size_t rav_bytes_len(rav_heap *h, rav_ref bytes)
{
	RAV_SITE_BEGIN();
	size_t ret = bytes_len_impl(h, bytes);
	RAV_SITE_END();
	return ret;
}

rav_status rav_bytes_append(rav_heap *h, rav_ref bytes, const void *data, size_t len)
{
	RAV_SITE_BEGIN();
	rav_status ret = bytes_append_impl(h, bytes, data, len);
	RAV_SITE_END();
	return ret;
}

int rav_bytes_at(rav_heap *h, rav_ref bytes, size_t i)
{
	RAV_SITE_BEGIN();
	int ret = bytes_at_impl(h, bytes, i);
	RAV_SITE_END();
	return ret;
}

size_t rav_bytes_read(rav_heap *h, rav_ref bytes, size_t off, void *buf, size_t len)
{
	RAV_SITE_BEGIN();
	size_t ret = bytes_read_impl(h, bytes, off, buf, len);
	RAV_SITE_END();
	return ret;
}
