/* access.c - the public entry points that read and write a heap: roots,
 * fields, allocation into a slot, rav_move, scalars; and attaching a
 * referrer to a cell's reference tree, which their stores need.
 *
 * These run for every access a program makes, so each checks only what the
 * build asks for (CHECK_REF: the full check with -Ddebug_checks, a null test
 * without), inlines the steps it needs from heap-inline.h, and comes in two
 * compiled copies: without any event code, and with it (HOT_ENTRY below),
 * picked by the recording flag on entry.
 *
 * Over 800 lines because the per-cell calls' fast paths and their checks
 * belong together: debug builds add an out-of-line checked copy of each
 * hot field access (FIELD_CHECKED), kept next to the call it serves.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unwind.h>

#include "heap-inline.h"

/* ---- checks of the hot API ---- */

static inline bool check_field(rav_heap *h, rav_ref obj, int field, rav_field_kind kind, const char *what)
{
	if (RAV_UNLIKELY(!CHECK_REF(h, obj, what)))
		return false;
	if (RAV_UNLIKELY((unsigned)field > 1)) {
		rav__misuse(RAV_EINVAL, "%s: field index %d out of range (0 or 1)", what, field);
		return false;
	}
#if RAV_DEBUG
	if (((type_refmask(cell_type(obj.cell)) >> field) & 1) != (kind == RAV_REF)) {
		rav__misuse(RAV_ETYPE, "%s: field %d of type %s is a %s field", what, field,
			    rav_type_name(cell_type(obj.cell)), kind == RAV_REF ? "data" : "reference");
		return false;
	}
#else
	(void)kind;
#endif
	return true;
}

#if RAV_DEBUG
/* What rav__check_root (roots.c) accepts, tested inline: a word-aligned
 * engine address in a root cell's slot, of a page of h, used by h's thread.
 * A root is checked on most calls of a list's push and pop (churn: 130 of
 * the debug build's 696 instructions per step went to the full check). */
static inline bool root_passes(const rav_heap *h, rav_root r)
{
	const uintptr_t *s = (const uintptr_t *)r;
	if (!s || ((uintptr_t)s & (sizeof(uintptr_t) - 1)) != 0 || !rav__in_pool(s) || !owner_is_self(h))
		return false;
	const rav_cell *c = cell_of(s);
	unsigned w = word_of(s);
	/* (a freed slot carries its RAV_FLAG_ROOT_FREE bit: not a root) */
	return (c->w[0] & (RAV_TYPE_MASK | RAV_FLAG_ROOT_FREE(w))) == RAV_TYPE_ROOT && w != 0 &&
	       page_owner(page_of(c)) == h;
}
#endif

/* FIELD_CHECKED(ret, name, h, obj, field, kind, ...): the start of a
 * per-cell call that takes a field of obj.  With debug checks, the common
 * case (check_ref_passes, a field of that kind) is tested inline, and a
 * call that fails it goes whole to name_checked, an out-of-line copy with
 * the full check, which reports: the inline path then calls nothing in its
 * middle (callgrind, rav-bench binary-trees --scale 0.25, release with debug
 * checks: rav_load_ref 294 -> 272M instructions, rav_new_field 339 ->
 * 329M).  Without debug checks, check_field's null test as before. */
#if RAV_DEBUG
static inline bool field_passes(const rav_heap *h, rav_ref obj, int field, rav_field_kind kind)
{
	return check_ref_passes(h, obj) && (unsigned)field <= 1 &&
	       ((type_refmask(cell_type(obj.cell)) >> field) & 1) == (kind == RAV_REF);
}
#define FIELD_CHECKED(name, h, obj, field, kind, ...)                                                    \
	do {                                                                                             \
		if (RAV_UNLIKELY(!field_passes((h), (obj), (field), (kind))))                            \
			return name##_checked(__VA_ARGS__);                                              \
	} while (0)
#else
#define FIELD_CHECKED(name, h, obj, field, kind, ...) ((void)0)
#endif

static inline bool check_root(rav_heap *h, rav_root r, const char *what)
{
#if RAV_DEBUG
	return RAV_LIKELY(root_passes(h, r)) || rav__check_root(h, r, what);
#else
	(void)h;
	if (RAV_UNLIKELY(!r)) {
		rav__misuse(RAV_EINVAL, "%s: null root", what);
		return false;
	}
	return true;
#endif
}

/* The reference check of the calls that take an optional target. */
static inline bool check_target(rav_heap *h, rav_ref r, const char *what)
{
	return !r.cell || CHECK_REF(h, r, what);
}

#define ACCESS_READ_T(tr, addr)                                                                          \
	do {                                                                                             \
		if (RAV_UNLIKELY(tr) && (rav__hooks & RAV_HOOK_ACCESS))                                  \
			RECT(tr, RAV_EV_ACCESS, 0, 0, (addr), sizeof(uintptr_t), 0);                     \
	} while (0)

static inline rav_ref mkref(rav_heap *h, rav_cell *c)
{
	return (rav_ref){ c, c ? h->gen : 0 };
}

/* *out = a borrow of c, written whole, padding included: a caller that
 * reads it back as one 16-byte value (a rav_ref passed on by value) would
 * otherwise wait for the two stores, and every store before them, to
 * reach the cache (a store-forwarding failure: the new cell's stores miss,
 * so that is a miss per allocation). */
static inline void put_ref(rav_ref *out, rav_heap *h, rav_cell *c)
{
#if UINTPTR_MAX > 0xffffffffu
	_Static_assert(sizeof(rav_ref) == 2 * sizeof(uint64_t) && offsetof(rav_ref, gen) == sizeof(uint64_t),
		       "rav_ref is two words");
	const uint64_t words[2] = { (uint64_t)(uintptr_t)c, c ? h->gen : 0 };
	memcpy(out, words, sizeof words);
#else
	*out = mkref(h, c);
#endif
}

static inline __attribute__((always_inline)) rav_cell *walk_read_t(uintptr_t *slot, bool tr)
{
	ACCESS_READ_T(tr, slot);
	rav_cell *c = (rav_cell *)*slot;
	while (c && cell_type(c) == RAV_TYPE_REF) {
		ACCESS_READ_T(tr, &c->w[RAV_W_FWD]);
		c = (rav_cell *)c->w[RAV_W_FWD];
	}
	return c;
}

/* The hot entry points exist twice: NAME_impl(..., tr) is compiled with
 * tr the constant false (no event code: fewer branches, fewer registers to
 * save) and true (the recording copy: out of line, but not `cold`, which
 * makes gcc compile it for size - 1.2 more instructions per event of the
 * recording thread, callgrind, rav-bench trace-record), and NAME picks one
 * by the recording flag.
 * The traced copy begins with the call's safe point (live sessions; the
 * first parameter is always the heap, h), then takes the call's site.
 *
 * The recording copy is where the call's site is taken, without touching
 * the untraced path (not even its stack frame, which
 * __builtin_return_address in the public function would cost): the public
 * function tail-calls the recording copy, so the copy's return address is
 * the program's call site.  Builds that make a real call instead (-O0/-O1,
 * sanitizers) are told by the return address lying between the markers
 * around the public functions (RAV_API_ENTRY, RAV_TAIL_CALLER) and unwind
 * one frame further.  The untraced body is a function of its own too
 * (name_untraced), so that the public function is a test and two tail
 * calls: with the body inlined, gcc saved the body's six registers before
 * the test of rav__tracing, and every recorded call paid 16 instructions
 * of a frame it did not use (callgrind, rav-bench trace-record: the
 * recording thread's instructions per event 25.8 -> 24.7), against one
 * jump for an untraced call that leaves the inline fast paths of ravioli.h
 * (tracing off: +0.05% of the workload's instructions).  Reads
 * record nothing unless accesses are recorded, so they take a site only
 * then, and take their recording copy only when there is such work (an
 * access to record, or a live session's safe point: rav__hooks): recording
 * to a file costs a read nothing (HOT_ENTRY_READ; callgrind, rav-bench
 * trace-record: 9.8 instructions per event of the recording thread went to
 * reads that record nothing).  The safe point comes first: a thread joining a
 * live session there starts a new stream, and its site is recorded into
 * that one (rav__site_restream). */
#if RAV_TRACING
/* The markers before and after the hot entry points (RAV_API_ENTRY): GNU
 * ld and gold sort .text.sorted.* sections by name, lld keeps them in the
 * order they first appear here; distinct bodies so that identical code
 * folding keeps them apart. */
__attribute__((section(".text.sorted.ravioli_api.0"), noinline, used)) int rav__api_entries_begin(void)
{
	return 0x5241;
}
#define HOT_ENTRY_SITE(ret, name, params, site_test, ...)                                                \
	static __attribute__((noinline)) ret name##_traced params                                        \
	{                                                                                                \
		RAV_SAFEPOINT_TRACED(h);                                                                 \
		if (site_test && rav__site.hold == 0)                                                    \
			RAV_TAIL_SITE_ENTER();                                                 \
		return name##_impl(__VA_ARGS__, true);                                                   \
	}                                                                                                \
	static __attribute__((noinline)) ret name##_untraced params                                      \
	{                                                                                                \
		return name##_impl(__VA_ARGS__, false);                                                  \
	}                                                                                                \
	RAV_API_ENTRY ret name params                                                                    \
	{                                                                                                \
		if (RAV_UNLIKELY(rav__tracing))                                                          \
			return name##_traced(__VA_ARGS__);                                               \
		return name##_untraced(__VA_ARGS__);                                                     \
	}
#define HOT_ENTRY(ret, name, params, ...) HOT_ENTRY_SITE(ret, name, params, true, __VA_ARGS__)
#define HOT_ENTRY_READ(ret, name, params, ...)                                                           \
	static __attribute__((noinline)) ret name##_traced params                                        \
	{                                                                                                \
		RAV_SAFEPOINT_TRACED(h);                                                                 \
		if (rav__site_reads() && rav__site.hold == 0)                                            \
			RAV_TAIL_SITE_ENTER();                                                 \
		return name##_impl(__VA_ARGS__, true);                                                   \
	}                                                                                                \
	RAV_API_ENTRY ret name params                                                                    \
	{                                                                                                \
		if (RAV_UNLIKELY(rav__hooks) && rav__tracing)                                            \
			return name##_traced(__VA_ARGS__);                                               \
		return name##_impl(__VA_ARGS__, false);                                                  \
	}
#define HOT_ENTRY_VOID(name, params, ...)                                                                \
	static __attribute__((noinline)) void name##_traced params                                       \
	{                                                                                                \
		RAV_SAFEPOINT_TRACED(h);                                                                 \
		if (rav__site.hold == 0)                                                                 \
			RAV_TAIL_SITE_ENTER();                                                 \
		name##_impl(__VA_ARGS__, true);                                                          \
	}                                                                                                \
	static __attribute__((noinline)) void name##_untraced params                                     \
	{                                                                                                \
		name##_impl(__VA_ARGS__, false);                                                         \
	}                                                                                                \
	RAV_API_ENTRY void name params                                                                   \
	{                                                                                                \
		if (RAV_UNLIKELY(rav__tracing))                                                          \
			name##_traced(__VA_ARGS__);                                                      \
		else                                                                                     \
			name##_untraced(__VA_ARGS__);                                                    \
	}
#else
#define HOT_ENTRY(ret, name, params, ...)                                                                \
	ret name params                                                                                  \
	{                                                                                                \
		return name##_impl(__VA_ARGS__, false);                                                  \
	}
#define HOT_ENTRY_VOID(name, params, ...)                                                                \
	void name params                                                                                 \
	{                                                                                                \
		name##_impl(__VA_ARGS__, false);                                                         \
	}
#define HOT_ENTRY_READ HOT_ENTRY
#endif
#define IMPL static inline __attribute__((always_inline))

/* ---- reference trees (the stores below, msg.c, serialize.c) ---- */

rav_cell *rav__deref_slot(uintptr_t v)
{
	rav_cell *c = (rav_cell *)v;
	while (c && cell_type(c) == RAV_TYPE_REF)
		c = (rav_cell *)c->w[RAV_W_FWD];
	return c;
}

/* Make the empty slot refer to target (a normal raviolo). */
IMPL rav_status attach_t(rav_heap *h, uintptr_t *slot, rav_cell *target, unsigned evkind, bool tr)
{
	rav_assert(*slot == 0 && cell_type(target) != RAV_TYPE_REF && !cell_gone(target));
	uintptr_t back = target->w[RAV_W_BACK];
	if (!back) {
#if RAV_TRACING
		uint32_t next;
		rav_raw_event *e;
		if (tr && RAV_LIKELY((e = rav__compound_room_t(tr, 1, &next)) != NULL)) {
			/* the store and the back-link as one RAV_RAW_ATTACH record */
			rav__compound_put(e, RAV_RAW_ATTACH | evkind << 8, (uintptr_t)slot, (uintptr_t)target, 0);
			rav__compound_done(next);
			*slot = (uintptr_t)target;
			target->w[RAV_W_BACK] = (uintptr_t)slot;
			if (evkind == RAV_EV_REF_STORE)
				RAV_WATCH_TEST(tr, target->w[0], RAV_EV_REF_STORE, target, slot, 0, target);
			return RAV_OK;
		}
#endif
		WRITE_WORD_T(tr, evkind, slot, target);
		WRITE_WORD_T(tr, RAV_EV_LINK, &target->w[RAV_W_BACK], slot);
		if (evkind == RAV_EV_REF_STORE)
			RAV_WATCH_TEST(tr, target->w[0], RAV_EV_REF_STORE, target, slot, 0, target);
		return RAV_OK;
	}
	/* Walk up from the target to the lightest leaf slot and split it. */
	uintptr_t *leaf = (uintptr_t *)back;
	while (is_fwd_slot(leaf)) {
		rav_cell *r = cell_of(leaf);
		uintptr_t *s1 = (uintptr_t *)r->w[RAV_W_BACK1];
		uintptr_t *s2 = (uintptr_t *)r->w[RAV_W_BACK2];
		leaf = leaf_weight(s1) <= leaf_weight(s2) ? s1 : s2;
	}
	/* Its ALLOC is recorded below, with the events of the insertion. */
	rav_cell *n = rav__alloc_t(h, RAV_TYPE_REF, false);
	if (!n)
		return RAV_ENOMEM;
	rav_cell *p = (rav_cell *)*leaf;
	uintptr_t *pbl = backlink_slot_of(p, leaf);
#if RAV_TRACING
	uint32_t next;
	rav_raw_event *e;
	if (tr && RAV_LIKELY((e = rav__compound_room_t(tr, 2, &next)) != NULL)) {
		/* the nine events as one RAV_RAW_REFRAV_NEW record (and its second) */
		rav__compound_put(e, RAV_RAW_REFRAV_NEW | evkind << 8 | (uint32_t)(pbl - p->w) << 16, (uintptr_t)n,
				  (uintptr_t)target, (uintptr_t)leaf);
		rav__compound_words(&e[1], (uintptr_t)slot, (uintptr_t)p);
		rav__compound_done(next);
		n->w[0] = RAV_TYPE_REF | (uintptr_t)2 << RAV_SCALAR_SHIFT;
		n->w[RAV_W_FWD] = (uintptr_t)p;
		n->w[RAV_W_BACK1] = (uintptr_t)leaf;
		n->w[RAV_W_BACK2] = (uintptr_t)slot;
		*pbl = (uintptr_t)&n->w[RAV_W_FWD];
		*leaf = (uintptr_t)n;
		*slot = (uintptr_t)n;
	} else
#endif
	{
		RECT(tr, RAV_EV_ALLOC, RAV_TYPE_REF, 0, n, 0, 0);
		RECT(tr, RAV_EV_REFRAV_INSERT, 0, 0, n, target, leaf);
		set_scalar_t(n, 2, tr);
		WRITE_WORD_T(tr, RAV_EV_LINK, &n->w[RAV_W_FWD], p);
		WRITE_WORD_T(tr, RAV_EV_LINK, &n->w[RAV_W_BACK1], leaf);
		WRITE_WORD_T(tr, RAV_EV_LINK, &n->w[RAV_W_BACK2], slot);
		WRITE_WORD_T(tr, RAV_EV_LINK, pbl, &n->w[RAV_W_FWD]);
		WRITE_WORD_T(tr, RAV_EV_LINK, leaf, n);
		WRITE_WORD_T(tr, evkind, slot, n);
	}
#if RAV_TRACING
	if (tr) {
		/* the chain's weights as one run of events (rav__em_begin) */
		rav_emitter m;
		rav__em_begin(&m);
		for (rav_cell *q = p; cell_type(q) == RAV_TYPE_REF; q = (rav_cell *)q->w[RAV_W_FWD]) {
			uintptr_t ow = q->w[0];
			uintptr_t nw = (ow & ((1u << RAV_SCALAR_SHIFT) - 1)) | ((ow >> RAV_SCALAR_SHIFT) + 1) << RAV_SCALAR_SHIFT;
			rav__em_put(&m, RAV_EV_TYPE_WORD, 0, (uintptr_t)q, ow & ~RAV_FLAG_TRANSIENT, nw & ~RAV_FLAG_TRANSIENT);
			q->w[0] = nw;
		}
		rav__em_done(&m);
	} else
#endif
	{
		for (rav_cell *q = p; cell_type(q) == RAV_TYPE_REF; q = (rav_cell *)q->w[RAV_W_FWD])
			set_scalar_t(q, cell_scalar(q) + 1, false);
	}
	RAV_WATCH_TEST(tr, target->w[0], RAV_EV_REFRAV_INSERT, target, n, target, leaf);
	return RAV_OK;
}

rav_status rav__attach(rav_heap *h, uintptr_t *slot, rav_cell *target, unsigned evkind)
{
	/* (two copies: the traced one takes a due clock reading in front of
	 * its compound, rav__compound_room_t, and the untraced one has no
	 * event code) */
	if (rav__tracing)
		return attach_t(h, slot, target, evkind, true);
	return attach_t(h, slot, target, evkind, false);
}

void rav__transfer(rav_heap *h, uintptr_t *from, uintptr_t *to, unsigned evkind)
{
	(void)h;
	transfer(from, to, evkind);
}

/* ---- public: roots ---- */

void rav_root_free(rav_heap *h, rav_root r)
{
	RAV_SITE_ENTER();
	if (!check_root(h, r, "rav_root_free"))
		return;
	/* (in every build, before anything is dropped: a null, ended or sent
	 * heap, a message's own root; roots.c) */
	if (RAV_UNLIKELY(!h || h->builder >= RAV_BUILDER_ENDED || h->kind == RAV_HEAP_MESSAGE) &&
	    rav__root_free_refused(h, r))
		return;
	RAV_SAFEPOINT(h);
	uintptr_t *slot = (uintptr_t *)r;
	if (*slot) {
		prefetch_top(h);
		rav__drop_whole(h, slot);
		settle(h);
	}
	rav__root_slot_free(h, slot);
}

IMPL rav_ref rav_root_get_impl(rav_heap *h, rav_root r, bool tr)
{
	if (!check_root(h, r, "rav_root_get"))
		return RAV_NULL_REF;
	return mkref(h, walk_read_t((uintptr_t *)r, tr));
}
HOT_ENTRY_READ(rav_ref, rav_root_get, (rav_heap * h, rav_root r), h, r)

bool rav_root_is_set(rav_heap *h, rav_root r)
{
	RAV_SAFEPOINT(h);
	return check_root(h, r, "rav_root_is_set") && *(uintptr_t *)r != 0;
}

/* Store target into slot (dropping the old value).  The old value is
 * dropped only after target is attached, so a target reachable only through
 * the old value survives. `owner` is the cell containing the slot (NULL for
 * roots): if dropping the old value frees it, the new reference goes too. */
static rav_status store_slot_replacing(rav_heap *h, uintptr_t *slot, rav_cell *owner, rav_cell *target);

/* The common case inline (an empty slot: attach, nothing freed), the
 * overwrite out of line. */
IMPL rav_status store_slot_t(rav_heap *h, uintptr_t *slot, rav_cell *owner, rav_cell *target, bool tr)
{
	if (!*slot) {
		if (!target)
			return RAV_OK;
		return attach_t(h, slot, target, RAV_EV_REF_STORE, tr);
	}
	return store_slot_replacing(h, slot, owner, target);
}

static rav_status store_slot(rav_heap *h, uintptr_t *slot, rav_cell *owner, rav_cell *target)
{
	if (rav__tracing) /* (two copies, as rav__attach) */
		return store_slot_t(h, slot, owner, target, true);
	return store_slot_t(h, slot, owner, target, false);
}

static __attribute__((noinline)) rav_status store_slot_replacing(rav_heap *h, uintptr_t *slot, rav_cell *owner,
								 rav_cell *target)
{
	prefetch_top(h);
	if (!target) {
		rav__drop_whole(h, slot);
		settle(h);
		return RAV_OK;
	}
	uintptr_t *tmp = rav__scratch_slot(h);
	if (!tmp)
		return RAV_ENOMEM;
	rav_status s = rav__attach(h, tmp, target, RAV_EV_LINK);
	if (s != RAV_OK)
		return s;
	/* Nothing moves until rav__settle: owner's address stays valid. */
	rav__drop(h, slot, RAV_EV_REF_CLEAR);
	if (owner && cell_gone(owner))
		rav__drop(h, tmp, RAV_EV_LINK);
	else {
		transfer(tmp, slot, RAV_EV_REF_STORE);
		RAV_WATCH_TEST(rav__tracing, target->w[0], RAV_EV_REF_STORE, target, slot, 0, *slot);
	}
	settle(h);
	return RAV_OK;
}

rav_status rav_root_set(rav_heap *h, rav_root r, rav_ref target)
{
	RAV_SITE_ENTER();
	if (!check_root(h, r, "rav_root_set"))
		return rav__misuse_status();
	if (!check_target(h, target, "rav_root_set"))
		return rav__misuse_status();
	RAV_SAFEPOINT(h);
	return store_slot(h, (uintptr_t *)r, NULL, target.cell);
}

IMPL rav_status rav_root_clear_impl(rav_heap *h, rav_root r, bool tr)
{
	if (!check_root(h, r, "rav_root_clear"))
		return rav__misuse_status();
	uintptr_t *slot = (uintptr_t *)r;
	if (*slot) {
		prefetch_top(h);
		rav__drop_whole(h, slot);
		settle_t(h, tr);
	}
	return RAV_OK;
}
HOT_ENTRY(rav_status, rav_root_clear, (rav_heap * h, rav_root r), h, r)

/* ---- public: allocation ---- */

static rav_status bad_type(rav_type t)
{
	if (t < RAV_TYPE_FIRST_USER)
		return rav__fail(RAV_ETYPE, "rav_new: type %u is reserved by the engine", t);
	return rav__fail(RAV_ETYPE, "rav_new: unknown type %u (register it with rav_type_register)", t);
}

/* new_into with a slot that holds something: drop it first, then allocate
 * (possibly into the hole it left), then compact with the new cell pinned. */
static rav_status new_into_replacing(rav_heap *h, rav_type t, uintptr_t *slot, rav_cell *owner, rav_ref *out)
{
	prefetch_top(h);
	rav__drop(h, slot, RAV_EV_REF_CLEAR);
	/* Nothing has moved yet (moves happen in rav__settle): owner is valid. */
	if (owner && cell_gone(owner)) {
		settle(h);
		return rav__fail(RAV_ESTATE, "rav_new_field: the parent was freed when its field's old value "
					     "was dropped (it was only reachable through it)");
	}
	rav_cell *c = rav__alloc(h, t);
	if (!c) {
		settle(h);
		return RAV_ENOMEM;
	}
	WRITE_WORD(RAV_EV_REF_STORE, slot, c);
	WRITE_WORD(RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
	rav_assert(h->pinned == NULL);
	h->pinned = c;
	settle(h);
	c = h->pinned;
	h->pinned = NULL;
	if (out)
		put_ref(out, h, c);
	return RAV_OK;
}

/* Allocate into slot.  `owner` contains the slot (NULL for roots).  An
 * empty slot takes the fast path: nothing is freed, so nothing moves. */
/* new_into when the slot holds something or the allocation needs a new
 * page. */
static __attribute__((noinline)) rav_status new_into_slow(rav_heap *h, rav_type t, uintptr_t *slot, rav_cell *owner,
							  rav_ref *out, bool tr)
{
	/* A sent message or an ended heap shows no room, so its allocations
	 * come here: stopped before the old value is dropped (roots.c). */
	if (RAV_UNLIKELY(h->builder >= RAV_BUILDER_ENDED)) {
		rav__heap_gone(h, "rav_new");
		return rav__misuse_status();
	}
	if (*slot != 0)
		return new_into_replacing(h, t, slot, owner, out);
	rav_cell *c = rav__alloc_t(h, t, tr);
	if (!c)
		return RAV_ENOMEM;
	WRITE_WORD_T(tr, RAV_EV_REF_STORE, slot, c);
	WRITE_WORD_T(tr, RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
	if (out)
		put_ref(out, h, c);
	return RAV_OK;
}

/* Every way out of the fast path is a tail call, so the fast path saves no
 * register. */
#if RAV_TRACING
/* The events and writes of a bump allocation into an empty slot, one by
 * one, each write after its event: the way when the three records cannot
 * go in together (a clock reading or a buffer exchange due, a debugger that
 * sees every event and may stop the thread at any one of them). */
static inline __attribute__((always_inline)) bool alloc_into_traced(rav_type t, rav_cell *c, uintptr_t *slot, bool clk);

static __attribute__((noinline, cold)) void alloc_into_one_by_one(rav_type t, rav_cell *c, uintptr_t *slot)
{
	/* the compound again, where only a clock reading was due */
	if (alloc_into_traced(t, c, slot, true))
		return;
	RECT(true, RAV_EV_ALLOC, t, 0, c, 0, 0);
	WRITE_WORD_T(true, RAV_EV_REF_STORE, slot, c);
	WRITE_WORD_T(true, RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
}

/* The three events of a bump allocation into an empty slot - the cell's
 * alloc, the slot's store, the cell's back-link, each write's old value 0 -
 * as one RAV_RAW_ALLOC_INTO record (one test of the bound, one publication,
 * four stores), then the two writes.  Every node of a tree a program builds
 * is one such allocation.  False (nothing done) when the records do not
 * pass together. */
static inline __attribute__((always_inline)) bool alloc_into_traced(rav_type t, rav_cell *c, uintptr_t *slot, bool clk)
{
	uint32_t next;
	rav_raw_event *e = clk ? rav__compound_room_clk(1, &next) : rav__compound_room(1, &next);
	if (RAV_UNLIKELY(!e))
		return false;
	rav__compound_put(e, RAV_RAW_ALLOC_INTO | ((uint32_t)t << 8), (uintptr_t)c, (uintptr_t)slot, 0);
	rav__compound_done(next);
	*slot = (uintptr_t)c;
	c->w[RAV_W_BACK] = (uintptr_t)slot;
	return true;
}
#endif

IMPL rav_status new_into(rav_heap *h, rav_type t, uintptr_t *slot, rav_cell *owner, rav_ref *out, bool tr)
{
	if (RAV_UNLIKELY(t >= RAV_TYPE_MAX || !__atomic_load_n(&rav__allocatable[t], __ATOMIC_RELAXED)))
		return bad_type(t);
	if (RAV_UNLIKELY(*slot != 0))
		return new_into_slow(h, t, slot, owner, out, tr);
	rav_cell *c;
	if (RAV_LIKELY(h->dead == NULL && h->top < CELLS)) {
		c = rav__alloc_t(h, t, false); /* the bump: cannot fail; its event below */
#if RAV_TRACING
		if (tr) {
			if (!alloc_into_traced(t, c, slot, false))
				alloc_into_one_by_one(t, c, slot);
		} else
#endif
		{
			*slot = (uintptr_t)c;
			c->w[RAV_W_BACK] = (uintptr_t)slot;
		}
	} else if (h->dead) {
		c = alloc_hole_t(h, t, tr); /* a hole (deferred mode): cannot fail */
		WRITE_WORD_T(tr, RAV_EV_REF_STORE, slot, c);
		WRITE_WORD_T(tr, RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
	} else
		return new_into_slow(h, t, slot, owner, out, tr);
	if (out)
		put_ref(out, h, c);
	return RAV_OK;
}

IMPL rav_status rav_new_root_impl(rav_heap *h, rav_type t, rav_root r, rav_ref *out, bool tr)
{
	if (!h)
		return rav__fail(RAV_EINVAL, "rav_new_root: null heap");
	if (!check_root(h, r, "rav_new_root"))
		return rav__misuse_status();
	return new_into(h, t, (uintptr_t *)r, NULL, out, tr);
}
HOT_ENTRY(rav_status, rav_new_root, (rav_heap * h, rav_type t, rav_root r, rav_ref * out), h, t, r, out)

#if RAV_DEBUG
/* (one copy per value of tr: with it, the call would take a seventh
 * argument, on the stack, and not be a tail call) */
static __attribute__((noinline)) rav_status rav_new_field_checked_untraced(rav_heap *h, rav_type t, rav_ref parent,
									    int field, rav_ref *out)
{
	if (!check_field(h, parent, field, RAV_REF, "rav_new_field"))
		return rav__misuse_status();
	return new_into(h, t, &parent.cell->w[1 + field], parent.cell, out, false);
}
static __attribute__((noinline, cold)) rav_status rav_new_field_checked_traced(rav_heap *h, rav_type t, rav_ref parent,
									        int field, rav_ref *out)
{
	if (!check_field(h, parent, field, RAV_REF, "rav_new_field"))
		return rav__misuse_status();
	return new_into(h, t, &parent.cell->w[1 + field], parent.cell, out, true);
}
#define rav_new_field_checked(h, t, parent, field, out, tr)                                              \
	((tr) ? rav_new_field_checked_traced(h, t, parent, field, out)                                   \
	      : rav_new_field_checked_untraced(h, t, parent, field, out))
#endif
IMPL rav_status rav_new_field_impl(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out, bool tr)
{
	FIELD_CHECKED(rav_new_field, h, parent, field, RAV_REF, h, t, parent, field, out, tr);
	if (!RAV_DEBUG && !check_field(h, parent, field, RAV_REF, "rav_new_field"))
		return rav__misuse_status();
	return new_into(h, t, &parent.cell->w[1 + field], parent.cell, out, tr);
}
HOT_ENTRY(rav_status, rav_new_field, (rav_heap * h, rav_type t, rav_ref parent, int field, rav_ref *out), h, t,
	  parent, field, out)

/* rav_new_root and rav_new_field called by ravioli.h's inline allocation
 * when it cannot do a recorded call itself (a new page, a hole, a clock
 * reading or a buffer due, a call site to record): pc is the call site
 * that code records (its return address, inside the program), so every
 * call of one call site of the program carries one site, inline or not.
 * In stack mode (a backtrace per call) the inline code always comes here,
 * and the backtrace starts at pc, a return address on the stack (site.c,
 * site_stack), whether or not the call here was a tail call. */
#if RAV_TRACING
#define SITE_ENTER_AT(pc) rav__site_enter_traced(pc)
static __attribute__((noinline)) rav_status rav_new_root_traced_at(rav_heap *h, rav_type t, rav_root r, rav_ref *out,
								    uintptr_t pc)
{
	RAV_SAFEPOINT_TRACED(h);
	SITE_ENTER_AT(pc);
	return rav_new_root_impl(h, t, r, out, true);
}
RAV_API_ENTRY rav_status rav__new_root_at(rav_heap *h, rav_type t, rav_root r, rav_ref *out, uintptr_t pc)
{
	if (RAV_UNLIKELY(rav__tracing))
		return rav_new_root_traced_at(h, t, r, out, pc);
	return rav_new_root_untraced(h, t, r, out);
}
static __attribute__((noinline)) rav_status rav_new_field_traced_at(rav_heap *h, rav_type t, rav_ref parent, int field,
								     rav_ref *out, uintptr_t pc)
{
	RAV_SAFEPOINT_TRACED(h);
	SITE_ENTER_AT(pc);
	return rav_new_field_impl(h, t, parent, field, out, true);
}
RAV_API_ENTRY rav_status rav__new_field_at(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out,
					   uintptr_t pc)
{
	if (RAV_UNLIKELY(rav__tracing))
		return rav_new_field_traced_at(h, t, parent, field, out, pc);
	return rav_new_field_untraced(h, t, parent, field, out);
}
/* The same with the parent's cell alone (what a build without debug
 * checks passes, its generation 0): six arguments, all in registers, so
 * that the inline traced allocation's way here is a tail call and its
 * fast path saves no registers (ravioli.h, rav__traced_new_field). */
RAV_API_ENTRY rav_status rav__new_field_pc(rav_heap *h, rav_type t, rav_cell *parent, int field, rav_ref *out,
					   uintptr_t pc)
{
	rav_ref p = { parent, 0 };
	if (RAV_UNLIKELY(rav__tracing))
		return rav_new_field_traced_at(h, t, p, field, out, pc);
	return rav_new_field_untraced(h, t, p, field, out);
}
#else
rav_status rav__new_root_at(rav_heap *h, rav_type t, rav_root r, rav_ref *out, uintptr_t pc)
{
	(void)pc;
	return rav_new_root(h, t, r, out);
}
rav_status rav__new_field_at(rav_heap *h, rav_type t, rav_ref parent, int field, rav_ref *out, uintptr_t pc)
{
	(void)pc;
	return rav_new_field(h, t, parent, field, out);
}
rav_status rav__new_field_pc(rav_heap *h, rav_type t, rav_cell *parent, int field, rav_ref *out, uintptr_t pc)
{
	(void)pc;
	return rav_new_field(h, t, (rav_ref){ parent, 0 }, field, out);
}
#endif

/* ---- public: fields ---- */

IMPL uintptr_t load_body(rav_ref obj, int field, bool tr)
{
	ACCESS_READ_T(tr, &obj.cell->w[1 + field]);
	return obj.cell->w[1 + field];
}
#if RAV_DEBUG
static __attribute__((noinline)) uintptr_t rav_load_checked(rav_heap *h, rav_ref obj, int field, bool tr)
{
	/* a misuse's call site (reads take none while a file records) */
	rav__read_check_ra = (uintptr_t)__builtin_return_address(0);
	bool ok = check_field(h, obj, field, RAV_DATA, "rav_load");
	rav__read_check_ra = 0;
	if (!ok)
		return 0;
	return load_body(obj, field, tr);
}
#endif
IMPL uintptr_t rav_load_impl(rav_heap *h, rav_ref obj, int field, bool tr)
{
	FIELD_CHECKED(rav_load, h, obj, field, RAV_DATA, h, obj, field, tr);
	if (!RAV_DEBUG && !check_field(h, obj, field, RAV_DATA, "rav_load"))
		return 0;
	return load_body(obj, field, tr);
}
HOT_ENTRY_READ(uintptr_t, rav_load, (rav_heap * h, rav_ref obj, int field), h, obj, field)

#if RAV_DEBUG
static __attribute__((noinline)) void rav_store_checked(rav_heap *h, rav_ref obj, int field, uintptr_t value, bool tr)
{
	if (!check_field(h, obj, field, RAV_DATA, "rav_store"))
		return;
	WRITE_WORD_T(tr, RAV_EV_DATA_STORE, &obj.cell->w[1 + field], value);
}
#endif
IMPL void rav_store_impl(rav_heap *h, rav_ref obj, int field, uintptr_t value, bool tr)
{
	FIELD_CHECKED(rav_store, h, obj, field, RAV_DATA, h, obj, field, value, tr);
	if (!RAV_DEBUG && !check_field(h, obj, field, RAV_DATA, "rav_store"))
		return;
	WRITE_WORD_T(tr, RAV_EV_DATA_STORE, &obj.cell->w[1 + field], value);
}
HOT_ENTRY_VOID(rav_store, (rav_heap * h, rav_ref obj, int field, uintptr_t value), h, obj, field, value)

#if RAV_DEBUG
static __attribute__((noinline)) rav_ref rav_load_ref_checked(rav_heap *h, rav_ref obj, int field, bool tr)
{
	rav__read_check_ra = (uintptr_t)__builtin_return_address(0); /* as rav_load_checked */
	bool ok = check_field(h, obj, field, RAV_REF, "rav_load_ref");
	rav__read_check_ra = 0;
	if (!ok)
		return RAV_NULL_REF;
	return mkref(h, walk_read_t(&obj.cell->w[1 + field], tr));
}
#endif
IMPL rav_ref rav_load_ref_impl(rav_heap *h, rav_ref obj, int field, bool tr)
{
	FIELD_CHECKED(rav_load_ref, h, obj, field, RAV_REF, h, obj, field, tr);
	if (!RAV_DEBUG && !check_field(h, obj, field, RAV_REF, "rav_load_ref"))
		return RAV_NULL_REF;
	return mkref(h, walk_read_t(&obj.cell->w[1 + field], tr));
}
HOT_ENTRY_READ(rav_ref, rav_load_ref, (rav_heap * h, rav_ref obj, int field), h, obj, field)

IMPL rav_status rav_store_ref_impl(rav_heap *h, rav_ref obj, int field, rav_ref target, bool tr)
{
	if (!check_field(h, obj, field, RAV_REF, "rav_store_ref"))
		return rav__misuse_status();
	if (!check_target(h, target, "rav_store_ref"))
		return rav__misuse_status();
	return store_slot_t(h, &obj.cell->w[1 + field], obj.cell, target.cell, tr);
}
HOT_ENTRY(rav_status, rav_store_ref, (rav_heap * h, rav_ref obj, int field, rav_ref target), h, obj, field, target)

rav_status rav_clear_ref(rav_heap *h, rav_ref obj, int field)
{
	RAV_SITE_ENTER();
	if (!check_field(h, obj, field, RAV_REF, "rav_clear_ref"))
		return rav__misuse_status();
	RAV_SAFEPOINT(h);
	return store_slot(h, &obj.cell->w[1 + field], obj.cell, NULL);
}

static inline bool check_slot(rav_heap *h, rav_slot s, const char *what)
{
	if (RAV_UNLIKELY(!s.word)) {
		rav__misuse(RAV_EINVAL, "%s: null slot", what);
		return false;
	}
#if RAV_DEBUG
	if (((uintptr_t)s.word & (sizeof(uintptr_t) - 1)) != 0 || !rav__in_pool(s.word)) {
		rav__misuse(RAV_EINVAL, "%s: %p is not a slot (not an engine address)", what, (void *)s.word);
		return false;
	}
#endif
	rav_cell *c = cell_of(s.word);
	if (cell_type(c) == RAV_TYPE_ROOT)
		return check_root(h, (rav_root)s.word, what);
	if (!CHECK_REF(h, ((rav_ref){ c, s.gen }), what))
		return false;
	unsigned w = word_of(s.word);
	if (RAV_UNLIKELY(w < 1 || w > 2 || !(type_refmask(cell_type(c)) & (1u << (w - 1))))) {
		rav__misuse(RAV_ETYPE, "%s: word %u of a %s is not a reference field", what, w,
			    rav_type_name(cell_type(c)));
		return false;
	}
	return true;
}

/* rav_move when dst held something (checked slots, distinct and both set). */
static __attribute__((noinline)) rav_status move_replacing(rav_heap *h, uintptr_t *d, uintptr_t *s, bool tr)
{
	rav_cell *old = (rav_cell *)*d, *moved = (rav_cell *)*s;
	prefetch_top(h);
	if (RAV_UNLIKELY(old == moved)) {
		/* Both slots are the two referrers of one reference raviolo: go
		 * through the scratch slot so the splice sees two distinct slots. */
		uintptr_t *tmp = rav__scratch_slot(h);
		if (!tmp)
			return RAV_ENOMEM;
		transfer(d, tmp, RAV_EV_LINK);
		transfer(s, d, RAV_EV_REF_STORE);
		rav__drop(h, tmp, RAV_EV_LINK);
		settle(h);
		return RAV_OK;
	}
	/* dst takes src's reference, then what dst held loses dst as a
	 * referrer (in that order, so a value reachable only through the old
	 * one survives; if dst lies inside what dies, the moved value dies with
	 * it, as it would have with any order). */
	WRITE_WORD_T(tr, RAV_EV_REF_STORE, d, moved);
	WRITE_WORD_T(tr, RAV_EV_LINK, backlink_slot_of(moved, s), d);
	WRITE_WORD_T(tr, RAV_EV_LINK, s, 0);
	if (cell_type(old) == RAV_TYPE_REF) {
		RECT(tr, RAV_EV_REFRAV_REMOVE, 0, 0, old, 0, 0);
		rav__splice_out(h, old, d);
	} else {
		rav_assert(old->w[RAV_W_BACK] == (uintptr_t)d);
		WRITE_WORD_T(tr, RAV_EV_LINK, &old->w[RAV_W_BACK], 0);
		queue_dying_t(h, old, tr);
	}
	settle_t(h, tr);
	return RAV_OK;
}

/* rav_move's commonest shape, a list pop (rav_move(h, slot, field of the
 * cell in slot)), when not recording: dst holds a normal raviolo `old`,
 * src is old's reference field, and old's other field holds no reference,
 * so old dies without children.  In an immediate-mode thread heap with no
 * hole and nothing dying, the top cell then moves straight into old's
 * place (free_alone_t's work, without first writing the words the move
 * overwrites); in a deferred-mode one, old becomes a hole.  What
 * check_slot tests in a build without debug checks (slots not null; each a
 * root slot or a reference field) is tested here in one pass with the
 * shape: src, a field of the cell dst holds, is checked as a field of that
 * cell, with the type word the shape reads anyway (a build with debug
 * checks runs check_slot in full first, then this).  The general path
 * (move_general) tests the same things one by one in a stack frame:
 * callgrind, the churn workload (1M live nodes), 144 -> 120 instructions
 * per pop in immediate mode, 106 -> 77 in deferred mode.  In a churn loop
 * the instructions between two pops bound how many pops' cache misses the
 * core overlaps (a pop is a dependent pair of misses: the popped cell,
 * then its successor's back-link, a load only where the heap holds
 * reference ravioli: backlink_slot_in), so they are what a step costs.
 * False, with nothing done, for every other call: old a reference
 * raviolo, old the top cell, a heap with holes (immediate mode) or dying
 * cells, a message heap. */
/* pop_fast's immediate-mode step once every test passed: the top cell t
 * moves into old's place.  dst takes src's reference (if any), moved's
 * back-link written without reading moved when h holds no reference
 * raviolo (no_refs: the read would be the pop's second cache miss, after
 * old's, and would hold up what follows: backlink_slot_in).  Old's words
 * need no clearing: the top cell's are copied over them.  (Two copies, by
 * no_refs: neither keeps the count in a register across the move.) */
static inline __attribute__((always_inline)) void pop_move_top(rav_heap *h, uintptr_t *d, uintptr_t *s,
								rav_cell *old, rav_cell *moved, rav_cell *t,
								bool no_refs)
{
	*d = (uintptr_t)moved;
	if (moved)
		*backlink_slot_in(moved, s, no_refs) = (uintptr_t)d;
	rav_assert(!h->pinned); /* (set only inside rav_new_root / rav_new_field) */
#if RAV_DEBUG
	*s = 0;
	old->w[RAV_W_BACK] = 0;
	old->w[0] = RAV_TYPE_DEAD; /* (what move_words_t checks of a hole) */
#else
	(void)s;
#endif
	unsigned fixups = move_words_z(t, old, false, true, no_refs);
	/* (the free's counts and the move's, together: free_alone_t) */
	h->st.live_cells--;
	h->st.frees++;
	h->st.moves++;
	h->st.fixups += fixups;
	h->gen += 2;
	/* shrink, with the top cell known: t's index is the new top */
	unsigned top = slot_in_page(t);
	h->bump = t;
	h->top = top;
	if (RAV_UNLIKELY(top == 1))
		rav__top_page_emptied(h);
}

/* The copy for a heap that holds reference ravioli, out of line: inline,
 * its registers were saved on the common path too. */
static __attribute__((noinline)) void pop_move_top_refs(rav_heap *h, uintptr_t *d, uintptr_t *s, rav_cell *old,
							 rav_cell *moved, rav_cell *t)
{
	pop_move_top(h, d, s, old, moved, t, false);
}

static inline __attribute__((always_inline)) bool pop_fast(rav_heap *h, uintptr_t *d, uintptr_t *s)
{
	rav_cell *old;
	/* (s null: its cell is not old) */
	if (RAV_UNLIKELY(!d || d == s || !(old = (rav_cell *)*d) || cell_of(s) != old))
		return false;
	rav_type ot = cell_type(old);
	/* Bit w of `words`: word w of old is a reference field (words 1, 2). */
	unsigned w = word_of(s), words = type_refmask(ot) << 1;
	/* src is a reference field of old; old's other field (word 3 - w)
	 * holds no reference (which excludes dst inside old: a slot of old
	 * holding old is its other field).  With bit w set, the other field
	 * is a reference field when both are (words 6). */
	if (RAV_UNLIKELY(ot == RAV_TYPE_REF || !(words >> w & 1) || (words == 6 && old->w[3 - w])))
		return false;
	rav_type dt = cell_type(cell_of(d));
	if (RAV_UNLIKELY(dt != RAV_TYPE_ROOT && !((type_refmask(dt) << 1) >> word_of(d) & 1)))
		return false;
	rav_cell *moved = (rav_cell *)*s;
	rav_assert(old->w[RAV_W_BACK] == (uintptr_t)d && (!moved || *backlink_slot_of(moved, s) == (uintptr_t)s));
	/* (RAV_HEAP_THREAD and RAV_FREE_IMMEDIATE are 0: one test for both) */
	_Static_assert(RAV_HEAP_THREAD == 0 && RAV_FREE_IMMEDIATE == 0, "a thread heap in immediate mode: 0 and 0");
	if (RAV_LIKELY((h->kind | h->mode) == 0)) {
		if (RAV_UNLIKELY(((uintptr_t)h->dead | (uintptr_t)h->dying) != 0))
			return false;
		/* The top cell: bump is &top_page[top] (no hole, so bumping is on;
		 * a cell lives, so a page exists) */
		rav_cell *t = h->bump - 1;
		rav_assert(h->bump == &h->top_page[h->top] && h->top > 1);
		if (RAV_UNLIKELY(t == old))
			return false;
		if (RAV_LIKELY(h->st.ref_cells == 0))
			pop_move_top(h, d, s, old, moved, t, true);
		else
			pop_move_top_refs(h, d, s, old, moved, t);
		return true;
	}
	if (RAV_UNLIKELY(h->kind != RAV_HEAP_THREAD || h->dying))
		return false;
	*d = (uintptr_t)moved;
	if (moved)
		*backlink_slot_in(moved, s, h->st.ref_cells == 0) = (uintptr_t)d;
	/* Step 4 (make_dead_t) with old's type known (a normal raviolo): old
	 * joins the hole list.  (s, word 1 or 2 of old, is overwritten by the
	 * hole list's links; old's back-link word may keep its stale value: a
	 * hole's word 3 is read only as a run's tag, which run_holds checks
	 * against the run) */
	h->st.live_cells--;
	h->st.frees++;
	h->gen++;
	dead_push(h, old);
	return true;
}

/* move_general's four writes before old dies, while recording, where src
 * is old's own field (a list pop): one RAV_RAW_POP record (rav-record.h)
 * for their four events, when it passes the bound (a due clock reading
 * taken first); false, nothing done, otherwise (they are then recorded one
 * by one).  Old's death (the FREE and its one-move compaction, a record of
 * their own) is the caller's, as before.  Callgrind, churn-probe imm
 * (HACKING.md, rec17): see there. */
static inline __attribute__((always_inline)) bool pop_recorded(uintptr_t *d, uintptr_t *s, rav_cell *old,
								rav_cell *moved)
{
#if RAV_TRACING
	if (cell_of(s) != old)
		return false;
	uintptr_t *bl = backlink_slot_of(moved, s);
	uint32_t next;
	rav_raw_event *e = rav__compound_room_clk(1, &next);
	if (RAV_UNLIKELY(!e))
		return false;
	rav__put_kind_x(e, RAV_RAW_POP | (word_of(s) | (uint32_t)(bl - moved->w) << 2) << 8, 0);
	e->a = (uintptr_t)d;
	e->b = (uintptr_t)old;
	e->c = (uintptr_t)moved;
	rav__compound_done(next);
	*d = (uintptr_t)moved;
	*bl = (uintptr_t)d;
	*s = 0;
	old->w[RAV_W_BACK] = 0;
	return true;
#else
	(void)d, (void)s, (void)old, (void)moved;
	return false;
#endif
}

/* The two common cases inline (dst empty: a transfer; dst holding a
 * childless cell: it dies, and in immediate mode the top cell moves into
 * its place), every other way out a tail call, so the fast path saves no
 * register. */
IMPL rav_status move_general(rav_heap *h, rav_slot dst, rav_slot src, bool tr)
{
	if (!check_slot(h, dst, "rav_move (destination)") || !check_slot(h, src, "rav_move (source)"))
		return rav__misuse_status();
	uintptr_t *d = dst.word, *s = src.word;
	if (d == s)
		return RAV_OK;
	if (!*s)
		return store_slot(h, d, cell_type(cell_of(d)) == RAV_TYPE_ROOT ? NULL : cell_of(d), NULL);
	if (!*d) {
		transfer_t(s, d, RAV_EV_REF_STORE, tr);
		return RAV_OK;
	}
	rav_cell *old = (rav_cell *)*d, *moved = (rav_cell *)*s;
	/* old has no child left once s (maybe its own field: a list pop) is cleared */
	unsigned mask = type_refmask(cell_type(old));
	bool children = ((mask & 1) && old->w[1] && &old->w[1] != s) || ((mask & 2) && old->w[2] && &old->w[2] != s);
	if (RAV_UNLIKELY(old == moved || cell_type(old) == RAV_TYPE_REF || children || h->dying ||
			 (h->mode == RAV_FREE_IMMEDIATE && h->dead)))
		return move_replacing(h, d, s, tr);
	rav_cell *t = &h->top_page[h->top - 1]; /* old is below or at the top */
	rav_prefetch((void *)t->w[RAV_W_BACK]);
	rav_assert(old->w[RAV_W_BACK] == (uintptr_t)d);
	if (!tr || !pop_recorded(d, s, old, moved)) {
		WRITE_WORD_T(tr, RAV_EV_REF_STORE, d, moved);
		WRITE_WORD_T(tr, RAV_EV_LINK, backlink_slot_of(moved, s), d);
		WRITE_WORD_T(tr, RAV_EV_LINK, s, 0);
		WRITE_WORD_T(tr, RAV_EV_LINK, &old->w[RAV_W_BACK], 0);
	}
	if (h->mode == RAV_FREE_IMMEDIATE && h->kind == RAV_HEAP_THREAD) {
		free_alone_t(h, old, tr); /* (no hole: tested above) */
		return RAV_OK;
	}
	make_dead_t(h, old, tr);
	settle_t(h, tr);
	return RAV_OK;
}

#if RAV_DEBUG
static __attribute__((noinline)) rav_status move_general_untraced(rav_heap *h, rav_slot dst, rav_slot src)
{
	return move_general(h, dst, src, false);
}
#else
/* (the borrows' generations are checked only with debug checks: the slots
 * are passed on without them, so pop_fast keeps two registers more and the
 * padding of the rav_slot arguments need not be kept for the call) */
static __attribute__((noinline)) rav_status move_general_untraced(rav_heap *h, uintptr_t *d, uintptr_t *s)
{
	return move_general(h, (rav_slot){ d, 0 }, (rav_slot){ s, 0 }, false);
}
#endif

/* Untraced, a list pop (pop_fast) without a stack frame, everything else
 * in move_general (a tail call).  With debug checks, the slots are checked
 * in full first. */
IMPL rav_status rav_move_impl(rav_heap *h, rav_slot dst, rav_slot src, bool tr)
{
	if (tr)
		return move_general(h, dst, src, true);
#if RAV_DEBUG
	if (!check_slot(h, dst, "rav_move (destination)") || !check_slot(h, src, "rav_move (source)"))
		return rav__misuse_status();
#endif
	if (RAV_LIKELY(pop_fast(h, dst.word, src.word)))
		return RAV_OK;
#if RAV_DEBUG
	return move_general_untraced(h, dst, src);
#else
	return move_general_untraced(h, dst.word, src.word);
#endif
}
HOT_ENTRY(rav_status, rav_move, (rav_heap * h, rav_slot dst, rav_slot src), h, dst, src)

/* rav_move as ravioli.h's inline rav_move calls it (the slots' words in
 * registers of their own; the generations 0 unless the library has debug
 * checks). */
IMPL rav_status rav__move_slots_impl(rav_heap *h, uintptr_t *dst, uintptr_t *src, uint32_t dst_gen, uint32_t src_gen,
			       bool tr)
{
	return rav_move_impl(h, (rav_slot){ dst, dst_gen }, (rav_slot){ src, src_gen }, tr);
}
HOT_ENTRY(rav_status, rav__move_slots, (rav_heap * h, uintptr_t * dst, uintptr_t * src, uint32_t dst_gen, uint32_t src_gen),
	  h, dst, src, dst_gen, src_gen)

/* rav_new_before when the allocation needs a new page. */
static __attribute__((noinline)) rav_status new_before_slow(rav_heap *h, rav_type t, uintptr_t *slot, int field,
							    rav_ref *out, bool tr)
{
	rav_cell *c = rav__alloc_t(h, t, tr);
	if (!c)
		return RAV_ENOMEM;
	if (*slot)
		transfer_t(slot, &c->w[1 + field], RAV_EV_REF_STORE, tr);
	WRITE_WORD_T(tr, RAV_EV_REF_STORE, slot, c);
	WRITE_WORD_T(tr, RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
	if (out)
		put_ref(out, h, c);
	return RAV_OK;
}

/* rav_new_before's bump while recording: its events (ALLOC, the slot's
 * old target moved into the new cell's field, the slot's store and the
 * new cell's back-link) as one RAV_RAW_NEW_BEFORE record (rav-record.h)
 * when it passes the bound (a due clock reading taken first); false,
 * nothing done, otherwise.  The caller tested that the heap bumps. */
static inline __attribute__((always_inline)) bool new_before_recorded(rav_heap *h, rav_type t, uintptr_t *slot,
								       int field, rav_ref *out)
{
#if RAV_TRACING
	rav_cell *p = (rav_cell *)*slot;
	uintptr_t *bl = p ? backlink_slot_of(p, slot) : NULL;
	uint32_t next;
	rav_raw_event *e = rav__compound_room_clk(1, &next);
	if (RAV_UNLIKELY(!e))
		return false;
	rav_cell *c = rav__alloc_t(h, t, false); /* the bump: cannot fail */
	uint32_t kb = p ? (uint32_t)(bl - p->w) : 0;
	rav__put_kind_x(e,
			RAV_RAW_NEW_BEFORE | (t | (uint32_t)field << RAV_RAW_NEW_BEFORE_FIELD_SHIFT |
					      kb << RAV_RAW_NEW_BEFORE_KB_SHIFT) << 8,
			0);
	e->a = (uintptr_t)c;
	e->b = (uintptr_t)slot;
	e->c = (uintptr_t)p;
	rav__compound_done(next);
	if (p) {
		c->w[1 + field] = (uintptr_t)p;
		*bl = (uintptr_t)&c->w[1 + field];
	}
	*slot = (uintptr_t)c;
	c->w[RAV_W_BACK] = (uintptr_t)slot;
	if (out)
		put_ref(out, h, c);
	return true;
#else
	(void)h, (void)t, (void)slot, (void)field, (void)out;
	return false;
#endif
}

IMPL rav_status rav_new_before_impl(rav_heap *h, rav_type t, rav_slot at, int field, rav_ref *out, bool tr)
{
	if (!h)
		return rav__fail(RAV_EINVAL, "rav_new_before: null heap");
	if (!check_slot(h, at, "rav_new_before"))
		return rav__misuse_status();
	if (RAV_UNLIKELY(t >= RAV_TYPE_MAX || !__atomic_load_n(&rav__allocatable[t], __ATOMIC_RELAXED)))
		return bad_type(t);
	if (RAV_UNLIKELY((unsigned)field > 1 || !(type_refmask(t) & (1u << field))))
		return rav__fail(RAV_ETYPE, "rav_new_before: field %d of type %s is not a reference field", field,
				 rav_type_name(t));
	rav_cell *c;
	if (tr && RAV_LIKELY(h->dead == NULL && h->top < CELLS) && new_before_recorded(h, t, at.word, field, out))
		return RAV_OK;
	if (RAV_LIKELY(h->dead == NULL && h->top < CELLS))
		c = rav__alloc_t(h, t, tr); /* the bump: cannot fail */
	else if (h->dead)
		c = alloc_hole_t(h, t, tr); /* a hole (deferred mode): cannot fail */
	else
		return new_before_slow(h, t, at.word, field, out, tr);
	uintptr_t *slot = at.word;
	if (*slot)
		transfer_t(slot, &c->w[1 + field], RAV_EV_REF_STORE, tr);
	WRITE_WORD_T(tr, RAV_EV_REF_STORE, slot, c);
	WRITE_WORD_T(tr, RAV_EV_LINK, &c->w[RAV_W_BACK], slot);
	if (out)
		put_ref(out, h, c);
	return RAV_OK;
}
HOT_ENTRY(rav_status, rav_new_before, (rav_heap * h, rav_type t, rav_slot at, int field, rav_ref *out), h, t, at,
	  field, out)

rav_type rav_type_of(rav_heap *h, rav_ref obj)
{
	RAV_SAFEPOINT(h);
	if (!CHECK_REF(h, obj, "rav_type_of"))
		return 0;
	return cell_type(obj.cell);
}

IMPL uintptr_t rav_scalar_impl(rav_heap *h, rav_ref obj, bool tr)
{
	if (!CHECK_REF(h, obj, "rav_scalar"))
		return 0;
	ACCESS_READ_T(tr, &obj.cell->w[0]);
	return cell_scalar(obj.cell);
}
HOT_ENTRY_READ(uintptr_t, rav_scalar, (rav_heap * h, rav_ref obj), h, obj)

IMPL void rav_set_scalar_impl(rav_heap *h, rav_ref obj, uintptr_t value, bool tr)
{
	if (!CHECK_REF(h, obj, "rav_set_scalar"))
		return;
	if (value > RAV_SCALAR_MAX) {
		rav__misuse(RAV_ERANGE, "rav_set_scalar: %#lx does not fit in %d bits", (unsigned long)value,
			    (int)(sizeof(uintptr_t) * 8 - RAV_SCALAR_SHIFT));
		return;
	}
	set_scalar_t(obj.cell, value, tr);
}
HOT_ENTRY_VOID(rav_set_scalar, (rav_heap * h, rav_ref obj, uintptr_t value), h, obj, value)

#if RAV_TRACING
__attribute__((section(".text.sorted.ravioli_api.2"), noinline, used)) int rav__api_entries_end(void)
{
	return 0x5645;
}

/* The hot entry points (every HOT_ENTRY above), to check the markers and
 * for links that did not keep the order. */
static void (*const hot_entries[])(void) = {
    (void (*)(void))rav_root_get,  (void (*)(void))rav_root_clear, (void (*)(void))rav_new_root,
    (void (*)(void))rav_new_field, (void (*)(void))rav_load,       (void (*)(void))rav_store,
    (void (*)(void))rav_load_ref,  (void (*)(void))rav_move,       (void (*)(void))rav_new_before,
    (void (*)(void))rav_scalar,    (void (*)(void))rav_set_scalar, (void (*)(void))rav_store_ref,
    (void (*)(void))rav__move_slots, (void (*)(void))rav__new_root_at, (void (*)(void))rav__new_field_at,
    (void (*)(void))rav__new_field_pc,
};

/* Are the hot entry points between the markers in this link? */
bool rav__api_entries_verify(void)
{
	uintptr_t begin = (uintptr_t)rav__api_entries_begin, end = (uintptr_t)rav__api_entries_end;
	for (size_t i = 0; i < sizeof hot_entries / sizeof hot_entries[0]; i++)
		if ((uintptr_t)hot_entries[i] <= begin || (uintptr_t)hot_entries[i] >= end)
			return false;
	return true;
}

/* Is pc inside one of the hot entry points?  Where they are not between
 * the markers: the unwind tables know where each function starts. */
bool rav__api_entries_contain(uintptr_t pc)
{
	void *fn = _Unwind_FindEnclosingFunction((void *)pc);
	for (size_t i = 0; i < sizeof hot_entries / sizeof hot_entries[0]; i++)
		if (fn == (void *)hot_entries[i])
			return true;
	return false;
}
#endif
