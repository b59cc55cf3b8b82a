/* test-engine-traced-inline.c - ravioli.h's inline traced allocation
 * records exactly what the library records.
 *
 * Compiled with RAV_INLINE_FAST=1.  The same deterministic workload runs in
 * two forked children of one parent, each recording from the start into a
 * recorder of this test (small buffers, so the fast path's bound, buffer
 * exchanges and clock readings fall in the middle of the allocations):
 * once through the macros of ravioli.h (the inline traced allocation, and
 * the library through rav__new_root_at / rav__new_field_at wherever it
 * hands over), once through the library's functions themselves
 * (`(rav_new_field)(...)`).  The two recordings must be the same record
 * for record: kinds, values, and addresses (as offsets from the pool's
 * base, in case the two children got different ones); clock readings at
 * the same places (their readings and the thread ids aside); call-site records at the same
 * places naming the same call sites (a site's address differs, the inline
 * one being inside this header's code: each recording's sites are
 * numbered in order of first appearance and the numbers compared).
 *
 * The workload takes every way out of the inline path: page boundaries,
 * the bound (clock readings, full buffers), two call sites alternating,
 * occupied slots (the old value freed), holes of deferred mode, a type
 * the program may not allocate, roots and fields, message heaps; and
 * calls that record through the library in both (stores, frees, moves).
 * Cases: call sites on (one return address), off, and backtraces.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "rav-test.h"
#include "rav-record.h"

#if !RAV_INLINE_FAST
#error "this test is about the inline fast paths: build it with -DRAV_INLINE_FAST=1"
#endif

/* ---- the recorder: every record, copied as buffers fill ---- */

#define BUF_CAP 96 /* records per buffer: exchanges every few dozen allocations */

static rav_raw_event *got;
static size_t ngot, capgot;

static void keep(const rav_evbuf *b)
{
	if (!b)
		return;
	if (ngot + b->count > capgot) {
		capgot = (ngot + b->count) * 2 + 1024;
		got = realloc(got, capgot * sizeof *got);
		CHECK(got);
	}
	memcpy(got + ngot, b->ev, b->count * sizeof *got);
	ngot += b->count;
}

static rav_evbuf *rec_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	keep(full);
	if (full) {
		full->count = 0;
		/* stale records in a reused buffer would show as differences
		 * where a record leaves a word unwritten (a one-frame site) */
		memset(full->ev, 0xa5, full->cap * sizeof full->ev[0]);
		return full;
	}
	rav_evbuf *b = calloc(1, sizeof *b + BUF_CAP * sizeof(rav_raw_event));
	CHECK(b);
	b->cap = BUF_CAP;
	return b;
}

static void rec_release(rav_evbuf *last, void *user)
{
	(void)user;
	keep(last);
	free(last);
}

/* ---- the workload, through either path ---- */

static bool lib; /* the library's functions, not ravioli.h's macros */

#define NEW_FIELD(h, t, p, f, o) (lib ? (rav_new_field)((h), (t), (p), (f), (o)) : rav_new_field((h), (t), (p), (f), (o)))
#define NEW_ROOT(h, t, r, o) (lib ? (rav_new_root)((h), (t), (r), (o)) : rav_new_root((h), (t), (r), (o)))

static rav_type T, LEAF;

static void tree(rav_heap *h, rav_ref parent, int field, int depth)
{
	if (depth == 0)
		return;
	rav_ref n;
	CHECK_OK(NEW_FIELD(h, T, parent, field, &n));
	tree(h, n, 0, depth - 1);
	tree(h, n, 1, depth - 1);
}

static void workload(void)
{
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h), c = rav_root_new(h);
	CHECK(a && b && c);
	rav_ref top, x, y;
	/* a tree over several pages, one call site */
	CHECK_OK(NEW_ROOT(h, T, a, &top));
	tree(h, top, 0, 8);
	tree(h, top, 1, 7);
	/* two call sites alternating, a list each, leaves from a third */
	CHECK_OK(NEW_ROOT(h, T, b, &x));
	CHECK_OK(NEW_ROOT(h, T, c, &y));
	for (int i = 0; i < 300; i++) {
		CHECK_OK(NEW_FIELD(h, T, x, 1, &x));
		CHECK_OK(NEW_FIELD(h, T, y, 1, &y));
		if (i % 7 == 0) {
			rav_ref leaf;
			CHECK_OK(NEW_FIELD(h, LEAF, x, 0, &leaf));
			rav_store(h, leaf, 0, (uintptr_t)i);
			rav_set_scalar(h, leaf, (uintptr_t)i + 1);
		}
	}
	/* occupied slots: the old value (a subtree) is freed first */
	for (int i = 0; i < 40; i++) {
		rav_ref r = rav_root_get(h, a);
		for (int d = 0; d < 3 && !rav_ref_is_null(r); d++)
			r = rav_load_ref(h, r, (i >> d) & 1);
		if (!rav_ref_is_null(r))
			CHECK_OK(NEW_FIELD(h, T, r, i & 1, NULL));
		CHECK_OK(NEW_ROOT(h, LEAF, c, NULL)); /* (drops the list held by c the first time) */
	}
	/* a type the program may not allocate, and a bad field: errors */
	CHECK_STATUS(NEW_ROOT(h, RAV_TYPE_REF, b, NULL), RAV_ETYPE);
	CHECK(rav_root_is_set(h, b));
	/* deferred mode: holes taken by the allocations */
	rav_set_free_mode(h, RAV_FREE_DEFERRED);
	CHECK_OK(rav_root_clear(h, b));
	rav_compact(h, 100);
	CHECK_OK(NEW_ROOT(h, T, b, &x));
	for (int i = 0; i < 200; i++)
		CHECK_OK(NEW_FIELD(h, T, x, 1, &x));
	rav_compact(h, 0); /* (cells moved: borrows taken afresh) */
	rav_set_free_mode(h, RAV_FREE_IMMEDIATE);
	x = rav_root_get(h, b);
	for (int i = 0; i < 200; i++)
		CHECK_OK(NEW_FIELD(h, T, x, 0, &x));
	/* a message heap, built and freed */
	rav_msg *m = rav_msg_new();
	CHECK(m);
	rav_heap *mh = rav_msg_heap(m);
	CHECK_OK(NEW_ROOT(mh, T, rav_msg_root(m), &x));
	for (int i = 0; i < 150; i++)
		CHECK_OK(NEW_FIELD(mh, T, x, i & 1, &x));
	rav_msg_free(m);
	/* shared references and a collection */
	CHECK_OK(rav_root_set(h, c, rav_load_ref(h, rav_root_get(h, a), 1)));
	CHECK_OK(rav_root_clear(h, a));
	rav_collect(h);
	CHECK_HEAP(h);
	rav_root_free(h, a);
	rav_root_free(h, b);
	rav_root_free(h, c);
	CHECK_HEAP(h);
}

/* ---- one recording, in a child; the parent compares two ---- */

/* The recording normalized: addresses as offsets from the pool's base,
 * clock readings without their reading, call sites as the order of their
 * first appearance.  Four words per record. */
typedef struct norm {
	uint64_t *w;
	size_t n;
} norm;

typedef struct sitemap {
	uint64_t pc[256];
	unsigned n;
} sitemap;

static uint64_t site_number(sitemap *m, uint64_t pc)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->pc[i] == pc)
			return i + 1;
	CHECK(m->n < 256);
	m->pc[m->n++] = pc;
	return m->n;
}

static uint64_t text_records(const rav_raw_event *e)
{
	uint64_t len;
	switch (RAV_EV_KIND(e)) {
	case RAV_EV_THREAD_NAME:
		len = RAV_EV_AUX(e);
		break;
	case RAV_EV_TYPE_DEF:
	case RAV_EV_ERROR:
	case RAV_EV_MARK:
		len = e->a;
		break;
	default:
		return 0;
	}
	if (len > 4096)
		len = 4096;
	return (len + sizeof *e - 1) / sizeof *e;
}

static void normalize(uint64_t base, uint64_t span, uint64_t *w, size_t n)
{
	sitemap sites = { .n = 0 };
	size_t i = 0;
	while (i < n) {
		uint64_t *r = &w[4 * i];
		rav_raw_event e;
		memcpy(&e, r, sizeof e);
		unsigned kind = RAV_EV_KIND(&e);
		if (kind == RAV_EV_TIME || kind == RAV_EV_THREAD_START) {
			r[1] = 0; /* a clock reading, an OS thread id */
			i++;
			continue;
		}
		if (kind == RAV_RAW_SITE) {
			unsigned frames = RAV_EV_AUX(&e);
			CHECK(frames <= RAV_SITE_FRAMES_MAX);
			unsigned recs = RAV_SITE_RECORDS(frames);
			CHECK(i + recs <= n);
			/* frames: words 1-3 of the first record, then 4 a record */
			for (unsigned k = 0; k < 3 + 4 * (recs - 1); k++) {
				uint64_t *fw = k < 3 ? &r[1 + k] : &r[4 + (k - 3)];
				*fw = k < frames ? site_number(&sites, *fw) : 0;
			}
			i += recs;
			continue;
		}
		uint64_t text = text_records(&e);
		unsigned recs = rav_raw_compound_records(&e);
		if (!recs)
			recs = 1;
		CHECK(i + recs + text <= n);
		for (unsigned k = 0; k < 4 * recs; k++)
			if (r[k] - base < span)
				r[k] = (r[k] - base) | (uint64_t)1 << 63;
		i += recs + text; /* (text compared as it is) */
	}
}

static void record_child(int fd, unsigned depth)
{
	rav_config cfg = { .no_purge_thread = true, .purge_delay_ms = RAV_POOL_MAX_PURGE_DELAY_MS };
	CHECK_OK(rav_init(&cfg));
	static rav_recorder rec = { .exchange = rec_exchange, .release = rec_release };
	rec.site_depth = (uint8_t)depth;
	CHECK(rav_record_install(&rec));
	T = rav_type_register("inline.node", RAV_REF, RAV_REF);
	LEAF = rav_type_register("inline.leaf", RAV_DATA, RAV_DATA);
	CHECK(T && LEAF);
	workload();
	rav_record_flush();
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	uint64_t base = (uint64_t)(uintptr_t)rav_pool_base();
	uint64_t span = ps.reserved_pages * (uint64_t)RAV_PAGE_SIZE;
	CHECK(rav_record_install(NULL));
	uint64_t *w = (uint64_t *)(void *)got;
	normalize(base, span, w, ngot);
	uint64_t hdr = ngot;
	CHECK(write(fd, &hdr, sizeof hdr) == (ssize_t)sizeof hdr);
	size_t bytes = ngot * sizeof *got, off = 0;
	while (off < bytes) {
		ssize_t k = write(fd, (char *)w + off, bytes - off);
		CHECK(k > 0);
		off += (size_t)k;
	}
	free(got);
}

static norm run(bool through_library, unsigned depth)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		lib = through_library;
		record_child(fds[1], depth);
		close(fds[1]);
		_exit(0);
	}
	close(fds[1]);
	uint64_t n = 0;
	CHECK(read(fds[0], &n, sizeof n) == (ssize_t)sizeof n);
	norm out = { malloc(n * 4 * sizeof(uint64_t) + 1), (size_t)n };
	CHECK(out.w);
	size_t bytes = n * 4 * sizeof(uint64_t), off = 0;
	while (off < bytes) {
		ssize_t k = read(fds[0], (char *)out.w + off, bytes - off);
		CHECK(k > 0);
		off += (size_t)k;
	}
	close(fds[0]);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	return out;
}

static void compare(unsigned depth)
{
	norm in = run(false, depth), li = run(true, depth);
	printf("# call sites %u: %zu records inline, %zu through the library\n", depth, in.n, li.n);
	size_t allocs = 0;
	for (size_t i = 0; i < in.n && i < li.n; i++) {
		if (memcmp(&in.w[4 * i], &li.w[4 * i], 4 * sizeof(uint64_t)) != 0) {
			fprintf(stderr, "record %zu differs: inline %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64
					", library %#" PRIx64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64 "\n",
				i, in.w[4 * i], in.w[4 * i + 1], in.w[4 * i + 2], in.w[4 * i + 3], li.w[4 * i],
				li.w[4 * i + 1], li.w[4 * i + 2], li.w[4 * i + 3]);
			exit(1);
		}
		if ((in.w[4 * i] & 0xff) == RAV_RAW_ALLOC_INTO)
			allocs++;
	}
	CHECK_EQ(in.n, li.n);
	/* (the workload's allocations into empty slots, most of them bumps) */
	CHECK(allocs > 1000);
	free(in.w);
	free(li.w);
}

static void sites_case(void)
{
	compare(1);
}

static void nosites_case(void)
{
	compare(0);
}

static void stack_case(void)
{
	compare(4);
}

/* The traced gate is open exactly while something records and nothing
 * else asks for the library's path: not with accesses recorded (reads
 * record, and so does the library's allocation path's safe point), not
 * once recording stops. */
static void gate_case(void)
{
	static rav_recorder rec = { .exchange = rec_exchange, .release = rec_release, .site_depth = 1 };
	rav_type t = rav_type_register("inline.gate", RAV_REF, RAV_DATA);
	CHECK(t);
	CHECK(!rav__alloc_gate_rec[t] && rav__alloc_gate[t]);
	rec.record_access = true;
	CHECK(rav_record_install(&rec));
	CHECK(!rav__alloc_gate_rec[t] && !rav__alloc_gate[t]);
	CHECK(rav_record_install(NULL));
	CHECK(!rav__alloc_gate_rec[t] && rav__alloc_gate[t]);
	rec.record_access = false;
	CHECK(rav_record_install(&rec));
	CHECK(rav__alloc_gate_rec[t] && !rav__alloc_gate[t]);
	CHECK(!rav__alloc_gate_rec[RAV_TYPE_REF] && !rav__alloc_gate_rec[RAV_TYPE_ROOT]);
	CHECK(!rav__alloc_gate_rec[0xffff]);
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	CHECK(r);
	size_t before = ngot;
	CHECK_OK(rav_new_root(h, t, r, NULL));
	rav_record_flush();
	CHECK(ngot > before);
	CHECK(rav_record_install(NULL));
	CHECK(!rav__alloc_gate_rec[t] && rav__alloc_gate[t]);
	rav_root_free(h, r);
	free(got);
	got = NULL;
	ngot = capgot = 0;
}

int main(int argc, char **argv)
{
	/* the inline traced path exists where ravioli.h can take a call site's
	 * address (x86-64, AArch64) in a program's own code */
#if (defined(__x86_64__) || defined(__aarch64__)) && RAV_TRACING
	CHECK(RAV__TRACED_INLINE);
#endif
	static const rav_test_case cases[] = {
		{ "sites", sites_case },
		{ "nosites", nosites_case },
		{ "stack", stack_case },
		{ "gate", gate_case },
	};
	return rav_test_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
