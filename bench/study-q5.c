/* study-q5.c - question 5: memory overhead of ravioli against malloc.
 *
 * The same data in five everyday structures, built once with the engine
 * and once with malloc as a C programmer would write it:
 *
 *  - list of N 64-bit numbers: C node {value, next} (16 B); ravioli: one
 *    cell, data field + reference field;
 *  - binary search tree of N keys: C node {key, left, right} (24 B);
 *    ravioli: the key in the type word's spare bits (40 bits), both fields
 *    children;
 *  - vector of N 64-bit numbers: C array grown by doubling (realloc);
 *    ravioli: rav_vec (a tree of cells, O(log n) access);
 *  - string of N bytes appended 64 at a time: C buffer grown by doubling;
 *    ravioli: rav_bytes;
 *  - shared objects: N objects (one 64-bit value each) each referred to
 *    from 3 lists of holders: C object 8 B, holder {object*, next} 16 B;
 *    ravioli: object cells, holder cells, and the reference ravioli that 3
 *    referrers need (2 per object).
 *
 * Payload is what the C structs hold (values and pointers: the bytes any
 * representation needs).  Ravioli's total is every page its heap holds
 * (rav_stats.pages x page size), broken down into cells' payload words,
 * their type and back-link words, reference ravioli, page headers and the
 * unused tail of pages.  The ravioli side runs on a fresh thread so its
 * heap holds this structure only.
 *
 * malloc: glibc's in-use bytes including chunk headers and padding
 * (mallinfo2().uordblks before and after, in the main arena: measured on
 * the main thread), and for jemalloc and mimalloc (if rav-bench loaded
 * them) the sum of malloc_usable_size / mi_usable_size over the blocks,
 * which counts size-class rounding but not their per-page metadata (a
 * few percent for small objects), so those columns are lower bounds.
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ravioli.h"
#include "study.h"

static void q5_die(const char *what)
{
	fprintf(stderr, "rav-bench --study q5: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define Q5_OK(expr)                                                                                          \
	do {                                                                                                 \
		if ((expr) != RAV_OK)                                                                        \
			q5_die(#expr);                                                                       \
	} while (0)

enum { ST_LIST, ST_BST, ST_VEC, ST_STR, ST_SHARED, NST };
static const char *const st_names[NST] = {"list", "bst", "vector", "string", "shared x3"};

static rav_type T_LIST, T_NODE, T_OBJ, T_HOLD;

typedef struct rav_mem {
	uint64_t pages_bytes, cells, ref_cells, pages, root_cells;
} rav_mem;

typedef struct rav_job {
	int kind;
	size_t n;
	rav_mem out;
} rav_job;

static void rbst_insert(rav_heap *h, rav_root root, uintptr_t key)
{
	rav_ref parent = RAV_NULL_REF, cur;
	int f = 0;
	for (;;) {
		cur = rav_ref_is_null(parent) ? rav_root_get(h, root) : rav_load_ref(h, parent, f);
		if (rav_ref_is_null(cur))
			break;
		uintptr_t k = rav_scalar(h, cur);
		if (k == key)
			return;
		parent = cur;
		f = key < k ? 0 : 1;
	}
	rav_ref n;
	if (rav_ref_is_null(parent))
		Q5_OK(rav_new_root(h, T_NODE, root, &n));
	else
		Q5_OK(rav_new_field(h, T_NODE, parent, f, &n));
	rav_set_scalar(h, n, key);
}

/* Distinct pseudo-random keys below 2^40 (the scalar's room). */
static uint64_t key_of(size_t i)
{
	uint64_t s = i;
	return (bench_rand(&s) & (((uint64_t)1 << 39) - 1)) | 1;
}

static void *rav_build(void *arg)
{
	rav_job *j = arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	rav_root lists[3] = {rav_root_new(h), rav_root_new(h), rav_root_new(h)};
	switch (j->kind) {
	case ST_LIST:
		for (size_t i = 0; i < j->n; i++) {
			rav_ref c;
			Q5_OK(rav_new_before(h, T_LIST, rav_root_slot(r), 1, &c));
			rav_store(h, c, 0, i);
		}
		break;
	case ST_BST:
		for (size_t i = 0; i < j->n; i++)
			rbst_insert(h, r, key_of(i));
		break;
	case ST_VEC: {
		Q5_OK(rav_vec_new_root(h, r, false));
		for (size_t i = 0; i < j->n; i++)
			Q5_OK(rav_vec_push(h, rav_root_get(h, r), i));
		break;
	}
	case ST_STR: {
		char chunk[64];
		memset(chunk, 'x', sizeof chunk);
		Q5_OK(rav_bytes_new_root(h, r, chunk, 0));
		for (size_t i = 0; i < j->n; i += sizeof chunk)
			Q5_OK(rav_bytes_append(h, rav_root_get(h, r), chunk,
			                       j->n - i < sizeof chunk ? j->n - i : sizeof chunk));
		break;
	}
	case ST_SHARED:
		/* Each object is made by the first list's holder, then the
		 * other two lists' holders refer to it too. */
		for (size_t i = 0; i < j->n; i++) {
			rav_ref hold, obj;
			Q5_OK(rav_new_before(h, T_HOLD, rav_root_slot(lists[0]), 1, &hold));
			Q5_OK(rav_new_field(h, T_OBJ, hold, 0, &obj));
			rav_store(h, obj, 0, i);
			for (int l = 1; l < 3; l++) {
				rav_ref h2;
				Q5_OK(rav_new_before(h, T_HOLD, rav_root_slot(lists[l]), 1, &h2));
				obj = rav_load_ref(h, rav_root_get(h, lists[0]), 0);
				Q5_OK(rav_store_ref(h, h2, 0, obj));
			}
		}
		break;
	}
	rav_stats s;
	rav_heap_stats(h, &s);
	/* root cells are not in live_cells; they sit on root pages, counted here */
	j->out = (rav_mem){(s.pages + s.root_pages) * RAV_PAGE_SIZE, s.live_cells, s.ref_cells,
	                   s.pages + s.root_pages, 0};
	rav_root_free(h, r);
	for (int l = 0; l < 3; l++)
		rav_root_free(h, lists[l]);
	rav_thread_exit();
	return NULL;
}

/* ---- malloc side ---- */

typedef size_t (*usable_fn)(void *);

typedef struct malloc_side {
	const bench_alloc *a;
	usable_fn usable; /* NULL: glibc, measured with mallinfo2 */
	uint64_t usable_sum;
	void **blocks;
	size_t nblocks, cap;
} malloc_side;

static void m_track(malloc_side *m, void *p)
{
	if (m->nblocks == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 1024;
		m->blocks = realloc(m->blocks, m->cap * sizeof *m->blocks);
		if (!m->blocks)
			q5_die("out of memory");
	}
	m->blocks[m->nblocks++] = p;
}

static void *m_alloc(malloc_side *m, size_t n)
{
	void *p = m->a->malloc_fn(n);
	if (!p)
		q5_die("malloc");
	m_track(m, p);
	return p;
}

/* A block grown by doubling, as realloc would: the old one is freed. */
static void *m_grow(malloc_side *m, void *old, size_t old_size, size_t new_size)
{
	void *p = m->a->malloc_fn(new_size);
	if (!p)
		q5_die("malloc");
	if (!old) {
		m_track(m, p);
		return p;
	}
	memcpy(p, old, old_size);
	for (size_t i = 0; i < m->nblocks; i++)
		if (m->blocks[i] == old)
			m->blocks[i] = p;
	m->a->free_fn(old);
	return p;
}

typedef struct mlist {
	uint64_t v;
	struct mlist *next;
} mlist;
typedef struct mbst {
	uint64_t key;
	struct mbst *l, *r;
} mbst;
typedef struct mhold {
	uint64_t *obj;
	struct mhold *next;
} mhold;

/* Build kind with malloc; returns payload bytes. */
static uint64_t m_build(malloc_side *m, int kind, size_t n)
{
	switch (kind) {
	case ST_LIST: {
		mlist *head = NULL;
		for (size_t i = 0; i < n; i++) {
			mlist *x = m_alloc(m, sizeof *x);
			x->v = i;
			x->next = head;
			head = x;
		}
		return n * sizeof(mlist);
	}
	case ST_BST: {
		mbst *root = NULL;
		for (size_t i = 0; i < n; i++) {
			uint64_t k = key_of(i);
			mbst **at = &root;
			while (*at && (*at)->key != k)
				at = k < (*at)->key ? &(*at)->l : &(*at)->r;
			if (*at)
				continue;
			mbst *x = m_alloc(m, sizeof *x);
			*x = (mbst){k, NULL, NULL};
			*at = x;
		}
		return n * sizeof(mbst);
	}
	case ST_VEC: {
		uint64_t *v = NULL;
		size_t cap = 0;
		for (size_t i = 0; i < n; i++) {
			if (i == cap) {
				size_t nc = cap ? 2 * cap : 4;
				v = m_grow(m, v, cap * sizeof *v, nc * sizeof *v);
				cap = nc;
			}
			v[i] = i;
		}
		return n * sizeof(uint64_t);
	}
	case ST_STR: {
		char *s = NULL;
		size_t cap = 0, len = 0;
		while (len < n) {
			size_t add = n - len < 64 ? n - len : 64;
			if (len + add > cap) {
				size_t nc = cap ? 2 * cap : 64;
				while (nc < len + add)
					nc *= 2;
				s = m_grow(m, s, len, nc);
				cap = nc;
			}
			memset(s + len, 'x', add);
			len += add;
		}
		return n;
	}
	case ST_SHARED: {
		mhold *lists[3] = {NULL, NULL, NULL};
		for (size_t i = 0; i < n; i++) {
			uint64_t *obj = m_alloc(m, sizeof *obj);
			*obj = i;
			for (int l = 0; l < 3; l++) {
				mhold *x = m_alloc(m, sizeof *x);
				*x = (mhold){obj, lists[l]};
				lists[l] = x;
			}
		}
		return n * (sizeof(uint64_t) + 3 * sizeof(mhold));
	}
	}
	return 0;
}

/* Bytes the implementation holds for the structure. */
static uint64_t m_measure(const bench_alloc *a, usable_fn usable, int kind, size_t n, uint64_t *payload)
{
	/* The block table is sized before the "before" snapshot, so it never
	 * grows inside the measurement. */
	malloc_side m = {a, usable, 0, NULL, 0, 4 * n + 256};
	m.blocks = malloc(m.cap * sizeof *m.blocks);
	if (!m.blocks)
		q5_die("out of memory");
	struct mallinfo2 before = mallinfo2();
	*payload = m_build(&m, kind, n);
	uint64_t bytes;
	if (!usable) {
		/* in-use chunks of the arena plus mmapped blocks (big arrays) */
		struct mallinfo2 after = mallinfo2();
		bytes = (after.uordblks + after.hblkhd) - (before.uordblks + before.hblkhd);
	} else {
		bytes = 0;
		for (size_t i = 0; i < m.nblocks; i++)
			bytes += usable(m.blocks[i]);
	}
	for (size_t i = 0; i < m.nblocks; i++)
		a->free_fn(m.blocks[i]);
	free(m.blocks);
	return bytes;
}

static usable_fn find_usable(const char *name)
{
	const char *lib = strcmp(name, "jemalloc") == 0 ? "libjemalloc.so.2" : "libmimalloc.so.2";
	const char *sym = strcmp(name, "jemalloc") == 0 ? "malloc_usable_size" : "mi_usable_size";
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
	if (!h)
		return NULL;
	void *f = dlsym(h, sym);
	usable_fn fn = NULL;
	memcpy(&fn, &f, sizeof fn < sizeof f ? sizeof fn : sizeof f);
	return fn;
}

static void types(void)
{
	T_LIST = rav_type_register("q5.list", RAV_DATA, RAV_REF);
	T_NODE = rav_type_register("q5.node", RAV_REF, RAV_REF);
	T_OBJ = rav_type_register("q5.object", RAV_DATA, RAV_DATA);
	T_HOLD = rav_type_register("q5.holder", RAV_REF, RAV_REF);
	if (!T_LIST || !T_NODE || !T_OBJ || !T_HOLD)
		q5_die("rav_type_register");
}

static rav_mem rav_measure(int kind, size_t n)
{
	rav_job j = {kind, n, {0}};
	pthread_t t;
	if (pthread_create(&t, NULL, rav_build, &j) != 0)
		q5_die("pthread_create");
	pthread_join(t, NULL);
	return j.out;
}

/* --study-child q5 N: each structure once with N elements, for ravscope. */
static int q5_child(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	size_t n = strtoull(argv[1], NULL, 10);
	if (n < 1 || n > 1000000)
		return 2;
	types();
	for (int k = 0; k < NST; k++) {
		char mark[64];
		snprintf(mark, sizeof mark, "%s of %zu (on its own thread)", st_names[k], n);
		rav_mark(mark);
		rav_measure(k, k == ST_STR ? n * 8 : n);
	}
	uint64_t ok = 1;
	return study_child_reply(&ok, sizeof ok);
}

static bool q5_run(study_ctx *c)
{
	types();
	size_t n = c->quick ? 2000 : 100000;
	usable_fn usable[3] = {NULL, NULL, NULL};
	for (unsigned i = 0; i < c->nallocs; i++)
		if (strcmp(c->allocs[i].name, "glibc") != 0)
			usable[i] = find_usable(c->allocs[i].name);
	FILE *f = study_open(c, "q5.md");
	if (!f)
		return false;
	fprintf(
	    f,
	    "Bytes held per byte of payload (payload: the C structs' values and pointers), N = %zu elements "
	    "(the string: %zu bytes). Ravioli: all pages its heap holds; glibc: in-use bytes with chunk "
	    "headers, and mmapped blocks (mallinfo2); jemalloc, mimalloc: usable sizes (lower bounds: their "
	    "page metadata is not "
	    "counted).\n\n| structure | payload | ravioli | of which: type + back-link words | reference "
	    "ravioli | page headers + unused page tails | other: interior tree cells' links, unused fields |",
	    n, n * 8);
	for (unsigned i = 0; i < c->nallocs; i++)
		fprintf(f, " %s |", c->allocs[i].name);
	fprintf(f, "\n|---|---|---|---|---|---|---|");
	for (unsigned i = 0; i < c->nallocs; i++)
		fprintf(f, "---|");
	fprintf(f, "\n");
	plot p = {
	    .title = "Q5: bytes held per byte of payload",
	    .xlabel = "structure",
	    .ylabel = "bytes per payload byte",
	    .bars = true,
	    .note = "ravioli: whole pages; glibc: in-use incl. headers; others: usable sizes (lower bound)"};
	for (int k = 0; k < NST; k++)
		p.cats[k] = st_names[k];
	plot_series *sr = plot_add(&p, "ravioli"), *sm[3];
	for (unsigned i = 0; i < c->nallocs; i++)
		sm[i] = plot_add(&p, c->allocs[i].name);
	double worst_ratio = 0, best_ratio = 1e9;
	for (int k = 0; k < NST; k++) {
		size_t items = k == ST_STR ? n * 8 : n;
		rav_mem r = rav_measure(k, items);
		uint64_t payload = 0, mb[3];
		for (unsigned i = 0; i < c->nallocs; i++)
			mb[i] = m_measure(&c->allocs[i], usable[i], k, items, &payload);
		uint64_t normal = r.cells - r.ref_cells;
		/* type word + back-link of each normal cell, less the payload the
		 * bst keeps in the type word's scalar bits (its keys) */
		double words =
		    (double)normal * (2 * sizeof(uintptr_t) - (k == ST_BST ? sizeof(uint64_t) : 0));
		double refs = (double)r.ref_cells * RAV_CELL_SIZE;
		double pages = (double)r.pages_bytes - (double)r.cells * RAV_CELL_SIZE;
		double ratio = (double)r.pages_bytes / (double)payload;
		if (ratio > worst_ratio)
			worst_ratio = ratio;
		if (ratio < best_ratio)
			best_ratio = ratio;
		char b1[32], b2[32];
		double other = (double)r.pages_bytes - (double)payload - words - refs - pages;
		fprintf(f, "| %s | %s B | %s B (**%.2fx**) | %.2fx | %.2fx | %.2fx | %.2fx |", st_names[k],
		        study_int(b1, sizeof b1, payload), study_int(b2, sizeof b2, r.pages_bytes), ratio,
		        words / payload, refs / payload, pages / payload, other / payload);
		plot_point(sr, k, ratio);
		for (unsigned i = 0; i < c->nallocs; i++) {
			fprintf(f, " %.2fx |", (double)mb[i] / (double)payload);
			plot_point(sm[i], k, (double)mb[i] / (double)payload);
		}
		fprintf(f, "\n");
		study_log(c,
		          "%s: payload %llu B, ravioli %llu B (%.2fx: %llu cells, %llu reference ravioli, "
		          "%llu pages)",
		          st_names[k], (unsigned long long)payload, (unsigned long long)r.pages_bytes, ratio,
		          (unsigned long long)r.cells, (unsigned long long)r.ref_cells,
		          (unsigned long long)r.pages);
	}
	fprintf(f,
	        "\nIn one line: ravioli holds %.2fx to %.2fx its payload across these structures (the \"of "
	        "which\" "
	        "columns are bytes per payload byte and add up to the ravioli column minus one; the bst "
	        "keeps its keys in "
	        "the type words' spare bits, which count as payload there).\n\n![memory "
	        "overhead](study/q5-overhead.svg)\n",
	        best_ratio, worst_ratio);
	if (!study_close(c, f, "q5.md"))
		return false;
	if (!plot_write(c, &p, "q5-overhead.svg"))
		return false;
	char *path = study_path(c, c->trace_dir, "q5-structures.ravtrace");
	char env[4200];
	snprintf(env, sizeof env, "RAVIOLI_TRACE=%s", path);
	free(path);
	char *args[] = {c->quick ? "50" : "200", NULL}, *envp[] = {env, NULL};
	uint64_t ok;
	return study_spawn(c, c->exe, "q5", args, envp, &ok, sizeof ok);
}

const study_def study_q5 = {"q5", "memory overhead against malloc", q5_run, q5_child};
