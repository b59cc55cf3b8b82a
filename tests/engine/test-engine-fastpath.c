/* test-engine-fastpath.c - the inline fast paths of ravioli.h at their edges.
 *
 * Compiled with RAV_INLINE_FAST=1, so the per-cell calls run the header's
 * inline code in every build (in a build with debug checks, against a
 * library that checks every borrow the inline code hands it: the
 * generations it passes must be right there).  What is tested is where the
 * inline code hands over to the library and back:
 *  - bump: allocation filling the top page to its last cell and going on
 *    into new pages (rav_new_field, rav_new_root, rav_new_before), every
 *    borrow current, the heap consistent at each page boundary;
 *  - gate: recording switched on and off while a thread allocates (a live
 *    recorder's session begins and ends mid-run): every allocation made
 *    while recording is recorded, as a bump and as a queued hole taken in
 *    deferred mode, none before or after; the inline writes (rav_store,
 *    rav_set_scalar) recorded exactly while recording is on, and the inline
 *    tests of rav__tracing_flag / rav__hooks_flag agreeing with the flags;
 *  - top: every way the library moves a heap's top (a random free moving
 *    the top cell down, a structure allocated last dropped whole, holes
 *    of deferred mode and their compaction, a message built, adopted,
 *    received, a serialized subtree read back), each followed by inline
 *    allocations: they must land exactly where the library would put the
 *    next cell (the hole a deferred free left, the top after the move), so
 *    the bump pointer and limit the inline code reads (struct
 *    rav__heap_head) never lag behind the top;
 *  - pool-limit: the pool running out while the inline code bumps through
 *    the last page it could get: RAV_ENOMEM at the page boundary, the slot
 *    and the heap as they were, allocation working again once pages come
 *    back.  rav_init is process-wide: meson runs each case in its own
 *    process (tests/engine/meson.build).
 */
#include "rav-test.h" /* (ravioli.h first: rav-record.h alone lacks <stddef.h>) */
#include "rav-record.h"

#if !RAV_INLINE_FAST
#error "this test is about the inline fast paths: build it with -DRAV_INLINE_FAST=1"
#endif

static rav_type node_type(void)
{
	rav_type t = rav_type_register("fastpath_node", RAV_DATA, RAV_REF);
	CHECK(t != 0);
	return t;
}

/* ---- bump ---- */

static void bump_case(void)
{
	rav_type t = node_type();
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	CHECK(r);
	rav_stats s;
	rav_heap_stats(h, &s);
	uint64_t pages0 = s.pages, allocs0 = s.allocs;
	/* A list of n cells: each rav_new_field a bump, every page boundary
	 * (top == RAV_PAGE_CELLS) the library's path taking a page. */
	size_t n = 3 * RAV_PAGE_CELLS + 7;
	rav_ref cur;
	CHECK_OK(rav_new_root(h, t, r, &cur));
	rav_store(h, cur, 0, 0);
	for (size_t i = 1; i < n; i++) {
		rav_ref prev = cur;
		CHECK_OK(rav_new_field(h, t, prev, 1, &cur));
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(cur.gen, rav_heap_gen(h));
		CHECK(rav_load_ref(h, prev, 1).cell == cur.cell);
		CHECK_EQ(rav_type_of(h, cur), t);
		CHECK_EQ(rav_load(h, cur, 0), 0);
		CHECK(rav_ref_is_null(rav_load_ref(h, cur, 1)));
		rav_store(h, cur, 0, i);
		rav_heap_stats(h, &s);
		if (s.pages != pages0) {
			/* a page boundary was just crossed: the heap is whole */
			CHECK_HEAP(h);
			pages0 = s.pages;
		}
	}
	rav_heap_stats(h, &s);
	CHECK_EQ(s.allocs - allocs0, n);
	CHECK(s.pages >= 4);
	CHECK_HEAP(h);
	cur = rav_root_get(h, r);
	for (size_t i = 0; i < n; i++) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
	CHECK_OK(rav_root_clear(h, r));
	CHECK_HEAP(h);

	/* The same through rav_new_before (a stack pushed at the root) and
	 * rav_new_root into a fresh root each time (roots then share pages
	 * with nothing: root cells live on their own pages). */
	for (size_t i = 0; i < n; i++) {
		rav_ref top;
		CHECK_OK(rav_new_before(h, t, rav_root_slot(r), 1, &top));
		CHECK_EQ(top.gen, rav_heap_gen(h));
		rav_store(h, top, 0, i);
		if (i % RAV_PAGE_CELLS == RAV_PAGE_CELLS - 1)
			CHECK_HEAP(h);
	}
	CHECK_HEAP(h);
	cur = rav_root_get(h, r);
	for (size_t i = n; i-- > 0;) {
		CHECK_EQ(rav_load(h, cur, 0), i);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
	enum { NROOTS = RAV_PAGE_CELLS + 3 };
	static rav_root roots[NROOTS];
	for (size_t i = 0; i < NROOTS; i++) {
		roots[i] = rav_root_new(h);
		CHECK(roots[i]);
		rav_ref c;
		CHECK_OK(rav_new_root(h, t, roots[i], &c));
		rav_set_scalar(h, c, i);
	}
	CHECK_HEAP(h);
	for (size_t i = 0; i < NROOTS; i++) {
		CHECK_EQ(rav_scalar(h, rav_root_get(h, roots[i])), i);
		rav_root_free(h, roots[i]);
	}
	rav_root_free(h, r);
	CHECK_HEAP(h);
	rav_heap_stats(h, &s);
	CHECK_EQ(s.live_cells, 0);
}

/* ---- gate ---- */

/* What the recorder was handed: ALLOC events of one type, counted. */
static rav_type counted_type;
static uint64_t allocs_seen;
static uint64_t stores_seen; /* data stores and type-word writes, of any cell */
static uint64_t snapshots;

static void count_buffer(const rav_evbuf *b)
{
	if (!b)
		return;
	for (uint32_t i = 0; i < b->count;) {
		const rav_raw_event *e = &b->ev[i];
		unsigned recs = rav_raw_compound_records(e);
		rav_raw_event out[RAV_RAW_EXPAND_MAX];
		unsigned n = 1;
		const rav_raw_event *evs = e;
		if (recs) {
			CHECK(i + recs <= b->count);
			n = rav_raw_expand(e, out);
			CHECK(n > 0);
			evs = out;
		}
		for (unsigned k = 0; k < n; k++)
			if ((evs[k].kind & 0xffu) == RAV_EV_ALLOC && (evs[k].kind >> 8) == counted_type)
				allocs_seen++;
			else if ((evs[k].kind & 0xffu) == RAV_EV_DATA_STORE || (evs[k].kind & 0xffu) == RAV_EV_TYPE_WORD)
				stores_seen++;
		i += recs ? recs : 1;
	}
}

static rav_evbuf *gate_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	count_buffer(full);
	if (full) {
		full->count = 0;
		return full;
	}
	rav_evbuf *b = calloc(1, sizeof *b + 1024 * sizeof(rav_raw_event));
	CHECK(b);
	b->cap = 1024;
	return b;
}

static void gate_release(rav_evbuf *last, void *user)
{
	(void)user;
	count_buffer(last);
	free(last);
}

static uint64_t gate_snapshot(const rav_snap_heap *heap, void *user)
{
	(void)heap, (void)user;
	return ++snapshots;
}

/* n cells allocated through the inline calls: a list under r (bumps), or,
 * with holes queued in deferred mode, into them. */
static rav_ref allocate_list(rav_heap *h, rav_type t, rav_root r, size_t n)
{
	rav_ref cur;
	CHECK_OK(rav_new_root(h, t, r, &cur));
	for (size_t i = 1; i < n; i++)
		CHECK_OK(rav_new_field(h, t, cur, 1, &cur));
	return cur; /* the last cell */
}

static uint64_t flushed_allocs(void)
{
	rav_record_flush();
	return allocs_seen;
}

/* The inline writes (rav_store, rav_set_scalar) take the library's path,
 * which records them, exactly while recording is on; the inline tests of
 * the two flags say what the flags say. */
static void check_inline_writes(rav_heap *h, rav_root r, bool recording)
{
	CHECK_EQ(rav__fast_ok(), __atomic_load_n(&rav__tracing_flag, __ATOMIC_SEQ_CST) == 0);
	CHECK_EQ(rav__fast_read_ok(), __atomic_load_n(&rav__hooks_flag, __ATOMIC_SEQ_CST) == 0);
	CHECK_EQ(rav__fast_ok(), !recording);
	rav_record_flush();
	uint64_t before = stores_seen;
	rav_ref c = rav_root_get(h, r);
	rav_store(h, c, 0, 41);
	rav_set_scalar(h, c, 7);
	CHECK_EQ(rav_load(h, c, 0), 41);
	CHECK_EQ(rav_scalar(h, c), 7);
	rav_record_flush();
	CHECK_EQ(stores_seen - before, recording ? 2 : 0);
}

static void gate_case(void)
{
	static rav_recorder rec = { .exchange = gate_exchange, .release = gate_release, .snapshot = gate_snapshot };
	counted_type = node_type();
	rav_type t = counted_type;
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h);
	CHECK(a && b);
	CHECK(rav_record_install_live(&rec));

	/* installed, no session: nothing recorded */
	allocate_list(h, t, a, 300);
	CHECK_EQ(flushed_allocs(), 0);
	check_inline_writes(h, a, false);

	/* a session begins mid-run: every allocation from here on is recorded */
	rav_record_session_begin();
	check_inline_writes(h, a, true);
	allocate_list(h, t, b, 300);
	CHECK(snapshots >= 1);
	CHECK_EQ(flushed_allocs(), 300);
	/* holes taken in deferred mode while recording */
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	CHECK_OK(rav_root_clear(h, a)); /* 300 cells queued (the cascade waits for rav_compact) */
	rav_compact(h, 300);            /* killed: 300 holes, not compacted yet */
	rav_stats s;
	rav_heap_stats(h, &s);
	CHECK(s.dead_cells > 0);
	uint64_t holes = s.dead_cells;
	allocate_list(h, t, a, (size_t)holes);
	rav_heap_stats(h, &s);
	CHECK_EQ(s.dead_cells, 0); /* every allocation took a hole */
	CHECK_EQ(flushed_allocs(), 300 + holes);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	CHECK_HEAP(h);

	/* the session ends: the inline bumps come back, unrecorded */
	rav_record_seq_close();
	rav_record_session_end();
	check_inline_writes(h, b, false);
	uint64_t before = flushed_allocs();
	CHECK_OK(rav_root_clear(h, a));
	allocate_list(h, t, a, 300);
	CHECK_EQ(flushed_allocs(), before);

	/* and a second session records again */
	rav_record_session_begin();
	CHECK_OK(rav_root_clear(h, a));
	allocate_list(h, t, a, 50);
	CHECK_EQ(flushed_allocs(), before + 50);
	rav_record_seq_close();
	rav_record_session_end();
	rav_record_flush();
	CHECK(rav_record_install(NULL));
	CHECK_HEAP(h);
	rav_root_free(h, a);
	rav_root_free(h, b);
	CHECK_HEAP(h);
}

/* ---- pool limit ---- */

enum { LIMIT = 32 };

/* ---- top ---- */

/* Inline allocations after the library moved h's top: a list of n cells
 * in root `probe` (crossing a page boundary), the heap checked (its bump
 * pointer is the top; a bump at a stale place would also leave a gap or
 * overwrite a cell), then dropped. */
static void probe_bumps(rav_heap *h, rav_type t, rav_root probe, size_t n)
{
	CHECK_HEAP(h);
	allocate_list(h, t, probe, n);
	CHECK_HEAP(h);
	rav_ref cur = rav_root_get(h, probe);
	for (size_t i = 0; i < n; i++) {
		CHECK(!rav_ref_is_null(cur));
		CHECK_EQ(rav_type_of(h, cur), t);
		cur = rav_load_ref(h, cur, 1);
	}
	CHECK(rav_ref_is_null(cur));
	CHECK_OK(rav_root_clear(h, probe));
	CHECK_HEAP(h);
}

static void top_case(void)
{
	rav_type t = node_type();
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h), probe = rav_root_new(h);
	CHECK(a && b && probe);
	const size_t P = RAV_PAGE_CELLS;
	probe_bumps(h, t, probe, P + 3); /* a fresh heap */

	/* A random free (immediate mode): the top cell moves into the hole and
	 * the next bump takes the top cell's old place. */
	rav_ref leaf;
	CHECK_OK(rav_new_root(h, t, b, &leaf));
	rav_cell *hole = leaf.cell;
	rav_cell *top = allocate_list(h, t, a, 2 * P + 5).cell;
	CHECK_OK(rav_root_clear(h, b));
	CHECK_EQ(rav_load(h, rav_root_get(h, a), 0), 0); /* the list is whole... */
	rav_ref next;
	CHECK_OK(rav_new_root(h, t, b, &next));
	CHECK(next.cell == top); /* ...and its last cell went into the hole */
	CHECK(top != hole);
	CHECK_HEAP(h);
	probe_bumps(h, t, probe, 3);

	/* The top cell freed (a trim), then the list, allocated last, dropped
	 * whole: the top comes down over pages to where the list's cell in the
	 * hole lies, and the next bump takes that place. */
	CHECK_OK(rav_root_clear(h, b));
	CHECK_OK(rav_new_root(h, t, b, &next));
	CHECK(next.cell == top);
	CHECK_OK(rav_root_clear(h, b));
	CHECK_OK(rav_root_clear(h, a));
	CHECK_HEAP(h);
	CHECK_OK(rav_new_root(h, t, a, &next));
	CHECK(next.cell == hole);
	CHECK_OK(rav_root_clear(h, a));
	probe_bumps(h, t, probe, 2 * P + 1);

	/* Deferred mode: a free leaves a hole, which the next allocation
	 * (inline: rav__take_hole) takes instead of bumping; a subtree's
	 * cascade leaves several; rav_compact closes them and bumping resumes. */
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	rav_ref mid;
	CHECK_OK(rav_new_root(h, t, b, &mid));
	hole = mid.cell;
	allocate_list(h, t, a, P + 9);
	CHECK_OK(rav_root_clear(h, b));
	CHECK_OK(rav_new_root(h, t, b, &next));
	CHECK(next.cell == hole);
	CHECK_HEAP(h);
	CHECK_OK(rav_root_clear(h, b));
	CHECK_OK(rav_root_clear(h, a)); /* P + 9 holes (and the one above) */
	rav_compact(h, 0);
	CHECK_HEAP(h);
	probe_bumps(h, t, probe, P + 2);
	allocate_list(h, t, a, 2 * P);
	rav_ref keep;
	CHECK_OK(rav_new_root(h, t, b, &keep));
	CHECK_OK(rav_root_clear(h, a)); /* dying cells below a live one */
	rav_compact(h, 1);              /* some of them holes */
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	CHECK(s0.dead_cells > 0);
	CHECK_OK(rav_new_root(h, t, a, &next)); /* a hole, not a bump above `keep` */
	rav_heap_stats(h, &s1);
	CHECK_EQ(s1.dead_cells, s0.dead_cells - 1);
	CHECK(next.cell != keep.cell + 1);
	CHECK_HEAP(h);
	rav_compact(h, 0);
	CHECK_HEAP(h);
	probe_bumps(h, t, probe, 5);
	CHECK_OK(rav_root_clear(h, a));
	CHECK_OK(rav_root_clear(h, b));
	rav_compact(h, 0);
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	probe_bumps(h, t, probe, P + 1);

	/* A message: built with inline allocations in its own heap, sent,
	 * received into h (its pages join h's and the top moves onto them). */
	rav_channel *ch = rav_channel_new();
	CHECK(ch);
	for (int round = 0; round < 3; round++) {
		allocate_list(h, t, b, 5 + (size_t)round * P / 2); /* h's top page partly filled */
		rav_msg *m = rav_msg_new();
		CHECK(m);
		rav_heap *mh = rav_msg_heap(m);
		allocate_list(mh, t, rav_msg_root(m), P + 17 + (size_t)round);
		CHECK_HEAP(mh);
		CHECK_OK(rav_send(ch, m));
		CHECK_OK(rav_recv(ch, h, a));
		probe_bumps(h, t, probe, P + 2);
		/* and passed on whole: adopted, h's top comes down under it */
		rav_msg *m2 = rav_msg_new();
		CHECK(m2);
		CHECK_OK(rav_msg_adopt(m2, h, a));
		probe_bumps(h, t, probe, 3);
		probe_bumps(rav_msg_heap(m2), t, rav_msg_root(m2), 2); /* (replaces the adopted list) */
		rav_msg_free(m2);
		CHECK_OK(rav_root_clear(h, b));
		probe_bumps(h, t, probe, 2);
	}
	rav_channel_free(ch);

	/* A subtree serialized and read back (its pages join h). */
	FILE *f = tmpfile();
	CHECK(f);
	allocate_list(h, t, a, P + 4);
	CHECK_OK(rav_serialize(h, a, fileno(f), 0));
	CHECK_OK(rav_root_clear(h, a));
	CHECK(fseek(f, 0, SEEK_SET) == 0);
	CHECK_OK(rav_deserialize(h, fileno(f), a));
	fclose(f);
	probe_bumps(h, t, probe, P + 2);
	CHECK_OK(rav_root_clear(h, a));
	probe_bumps(h, t, probe, 1);
	rav_root_free(h, a);
	rav_root_free(h, b);
	rav_root_free(h, probe);
	CHECK_HEAP(h);
}

static void pool_limit_case(void)
{
	rav_config cfg = { .pool_limit_pages = LIMIT, .no_purge_thread = true };
	CHECK_OK(rav_init(&cfg));
	rav_type t = node_type();
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h), extra = rav_root_new(h);
	CHECK(r && extra);
	rav_ref cur;
	CHECK_OK(rav_new_root(h, t, r, &cur));
	size_t n = 1;
	rav_status st;
	while ((st = rav_new_field(h, t, cur, 1, &cur)) == RAV_OK) {
		rav_store(h, cur, 0, n);
		n++;
		CHECK(n < (size_t)LIMIT * RAV_PAGE_CELLS);
	}
	CHECK_STATUS(st, RAV_ENOMEM);
	/* It failed where a page was needed: the top page is full. */
	rav_stats s;
	rav_heap_stats(h, &s);
	CHECK_EQ(s.live_cells, n);
	CHECK(rav_ref_is_null(rav_load_ref(h, cur, 1))); /* the slot stayed empty */
	CHECK_EQ(cur.gen, rav_heap_gen(h));              /* nothing moved */
	CHECK_HEAP(h);
	printf("# %zu cells in %" PRIu64 " pages, then RAV_ENOMEM\n", n, s.pages);
	/* again, through rav_new_root and rav_new_before */
	CHECK_STATUS(rav_new_root(h, t, extra, NULL), RAV_ENOMEM);
	CHECK(!rav_root_is_set(h, extra));
	CHECK_STATUS(rav_new_before(h, t, rav_root_slot(r), 1, NULL), RAV_ENOMEM);
	CHECK_EQ(rav_load(h, rav_root_get(h, r), 0), 0); /* the list's head is as it was */
	CHECK_HEAP(h);
	/* pages back: the same allocations succeed, through the new page */
	CHECK_OK(rav_root_clear(h, r));
	CHECK_HEAP(h);
	allocate_list(h, t, r, n - 1);
	CHECK_OK(rav_new_root(h, t, extra, NULL)); /* the n-th cell: the pool is full again */
	CHECK_STATUS(rav_new_field(h, t, rav_root_get(h, extra), 1, NULL), RAV_ENOMEM);
	CHECK_HEAP(h);
	rav_root_free(h, r);
	rav_root_free(h, extra);
	CHECK_HEAP(h);
}

int main(int argc, char **argv)
{
	static const rav_test_case cases[] = {
		{ "bump", bump_case },
		{ "gate", gate_case },
		{ "top", top_case },
		{ "pool-limit", pool_limit_case },
	};
	return rav_test_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
