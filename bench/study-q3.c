/* study-q3.c - question 3: reference trees against referrer lists for an
 * object with k referrers.
 *
 * The engine implements the essay's reference trees: k slots referring to
 * one raviolo go through a balanced tree of k-1 reference ravioli, so a
 * dereference walks O(log k) hops, adding or removing a referrer touches
 * O(log k) cells (and removing frees a reference raviolo, which moves the
 * heap's top cell into its place), and moving any cell touches O(1) words.
 *
 * The older variant of the essays keeps a list of referrers per object.
 * It is not in the engine and must not be; this file has a bench-only
 * model of it with the engine's cell size: an object's back-link word
 * heads a singly linked list threaded through its referrers (each holder
 * cell: type, reference, next referrer, back-link).  Dereferencing is one
 * load, adding is a push, removing walks the list to unlink (O(k)), and
 * moving the object rewrites every referrer (O(k)); moving a referrer
 * must find its predecessor in the list (O(k)).
 *
 * A third variant, a bare model of the reference trees on the same cells
 * (below), separates the structure from the engine's per-call costs.
 *
 * Method: for k from 1 to 16384, targets held by roots, each with k
 * holder cells referring to it (one target from k=512 on; below, enough
 * targets for 512 referrers, so a timed batch is 512 operations long).
 * Measured per operation (best of N rounds, the three variants
 * interleaved; within a round the median batch): a dereference of a
 * random holder's reference followed by a load of the target's field;
 * removing a random referrer; adding one back; and, for the list model,
 * moving a target and moving one referrer (the engine's moves are counted
 * in fix-ups, from rav_stats during the removes, which move cells).  The
 * engine pays a call, generation checks and tracing branches per
 * operation that the bare models do not: the models compare the
 * structures, the engine column says what the real thing costs.
 * Mixes are weighted sums of the measured per-operation costs:
 * change-heavy 45% add, 45% remove, 10% dereference; query-heavy 90%
 * dereference, 5% add, 5% remove.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ravioli.h"
#include "study.h"

static void q3_die(const char *what)
{
	fprintf(stderr, "rav-bench --study q3: %s: %s\n", what, rav_last_error());
	exit(1);
}

#define Q3_OK(expr)                                                                                          \
	do {                                                                                                 \
		if ((expr) != RAV_OK)                                                                        \
			q3_die(#expr);                                                                       \
	} while (0)

/* Removes (and as many adds) per round: a quarter of the operations, fewer
 * at large k where the list's O(k) removal would take minutes. */
static size_t removes_for(size_t ops, size_t k)
{
	size_t n = ops / 4 + 1, cap = 30000000 / (k ? k : 1);
	return n < cap ? n : cap < 512 ? 512 : cap;
}

typedef struct q3_costs {
	double deref, add, remove, move_target, move_referrer; /* ns per operation; < 0: not measured */
	double fixups_per_move;
} q3_costs;

/* Per-operation times of the batches of one round: the median is kept,
 * so a batch the scheduler interrupts (a time slice is 1e5 times an
 * operation) does not count, and the clock's own cost is taken off each
 * batch (batches at small k are one operation long). */
typedef struct samples {
	double *v;
	size_t n, cap;
} samples;

static void sample_add(samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			q3_die("out of memory");
	}
	s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double sample_median(samples *s)
{
	if (!s->n)
		return 0;
	qsort(s->v, s->n, sizeof *s->v, cmp_double);
	double m = s->v[s->n / 2];
	free(s->v);
	*s = (samples){0};
	return m > 0 ? m : 0;
}

/* ---- the engine: reference trees ---- */

static rav_type T_OBJ, T_HOLDER;

typedef struct tree_set {
	size_t k, ops;
	uint64_t seed;
	q3_costs out;
	uint64_t sink;
} tree_set;

/* Objects per round: at small k one object's referrers are too few for a
 * timed batch (the clock ticks in tens of nanoseconds), so the round holds
 * enough objects, each with k referrers, for 512 of them. */
static size_t objects_for(size_t k)
{
	return k >= 512 ? 1 : (512 + k - 1) / k;
}

static double tree_round(void *arg)
{
	tree_set *t = arg;
	rav_heap *h = rav_heap_self();
	size_t k = t->k, nobj = objects_for(k), nh = nobj * k;
	rav_root *objs = malloc(nobj * sizeof *objs);
	rav_root *holders = malloc(nh * sizeof *holders);
	rav_ref *tg = malloc(nobj * sizeof *tg);
	bool *set = calloc(nh, 1);
	size_t *pick = malloc(nh * sizeof *pick);
	if (!objs || !holders || !tg || !set || !pick)
		q3_die("out of memory");
	for (size_t o = 0; o < nobj; o++) {
		rav_ref target;
		objs[o] = rav_root_new(h);
		Q3_OK(rav_new_root(h, T_OBJ, objs[o], &target));
		rav_store(h, target, 0, 12345);
	}
	for (size_t i = 0; i < nh; i++) {
		holders[i] = rav_root_new(h);
		rav_ref hold;
		Q3_OK(rav_new_root(h, T_HOLDER, holders[i], &hold));
		Q3_OK(rav_store_ref(h, hold, 0, rav_root_get(h, objs[i / k])));
		set[i] = true;
	}
	uint64_t rng = t->seed;
	/* dereference */
	double t0 = study_now();
	uint64_t sum = 0;
	for (size_t i = 0; i < t->ops; i++) {
		rav_ref hold = rav_root_get(h, holders[bench_rand(&rng) % nh]);
		sum += rav_load(h, rav_load_ref(h, hold, 0), 0);
	}
	t->out.deref = (study_now() - t0) / (double)t->ops * 1e9;
	/* remove a batch of distinct referrers, then add them back */
	size_t batch = nh < 512 ? nh : 512, done = 0;
	samples rm = {0}, ad = {0};
	rav_stats s0, s1;
	rav_heap_stats(h, &s0);
	while (done < removes_for(t->ops, k)) {
		size_t n = 0;
		for (size_t tries = 0; n < batch && tries < 4 * batch; tries++) {
			size_t i = bench_rand(&rng) % nh;
			if (set[i]) {
				set[i] = false;
				pick[n++] = i;
			}
		}
		double a = study_now();
		for (size_t j = 0; j < n; j++)
			Q3_OK(rav_clear_ref(h, rav_root_get(h, holders[pick[j]]), 0));
		double b = study_now();
		/* adds allocate only, so borrows of the targets taken now serve them all */
		for (size_t o = 0; o < nobj; o++)
			tg[o] = rav_root_get(h, objs[o]);
		double c = study_now();
		for (size_t j = 0; j < n; j++)
			Q3_OK(rav_store_ref(h, rav_root_get(h, holders[pick[j]]), 0, tg[pick[j] / k]));
		double e = study_now();
		for (size_t j = 0; j < n; j++)
			set[pick[j]] = true;
		if (n) {
			sample_add(&rm, (b - a - study_clock_cost()) / (double)n);
			sample_add(&ad, (e - c - study_clock_cost()) / (double)n);
		}
		done += n;
	}
	rav_heap_stats(h, &s1);
	t->out.remove = sample_median(&rm) * 1e9;
	t->out.add = sample_median(&ad) * 1e9;
	t->out.move_target = t->out.move_referrer = -1;
	t->out.fixups_per_move =
	    s1.moves > s0.moves ? (double)(s1.fixups - s0.fixups) / (double)(s1.moves - s0.moves) : 0;
	t->sink += sum;
	for (size_t i = 0; i < nh; i++)
		rav_root_free(h, holders[i]);
	for (size_t o = 0; o < nobj; o++)
		rav_root_free(h, objs[o]);
	free(objs);
	free(holders);
	free(tg);
	free(set);
	free(pick);
	return t->out.deref + t->out.add + t->out.remove;
}

/* ---- the bench-only model: referrer lists ---- */

typedef struct lcell {
	uintptr_t w[4];
} __attribute__((aligned(32))) lcell;

enum { L_TYPE = 0, L_REF = 1, L_NEXT = 2, L_BACK = 3 }; /* holder words */
enum { L_HEAD = 1, L_DATA = 2 };                        /* object words (w[3]: back-link to its root) */

typedef struct list_set {
	size_t k, ops;
	uint64_t seed;
	q3_costs out;
	uint64_t sink;
} list_set;

/* Rewrite the references of every referrer of obj: what moving it costs. */
static void lmove_object(lcell *from, lcell *to, lcell **root)
{
	*to = *from;
	*root = to;
	for (lcell *r = (lcell *)to->w[L_HEAD]; r; r = (lcell *)r->w[L_NEXT])
		r->w[L_REF] = (uintptr_t)to;
}

/* Moving a referrer: its root's slot, and its predecessor's link (found by
 * walking the list from the object). */
static void lmove_referrer(lcell *from, lcell *to, lcell **root)
{
	*to = *from;
	*root = to;
	lcell *obj = (lcell *)to->w[L_REF];
	if (!obj)
		return;
	uintptr_t *link = &obj->w[L_HEAD];
	while ((lcell *)*link != from)
		link = &((lcell *)*link)->w[L_NEXT];
	*link = (uintptr_t)to;
}

/* ---- the bench-only model: reference trees, bare ----
 *
 * The engine's structure without the engine (no call, no generation
 * check, no tracing branch), in the same cells as the list model, so the
 * two models compare structures and the engine column shows what the
 * real implementation adds.  A reference cell: w[0] type | leaf count,
 * w[1] forward (a reference cell or the object), w[2] and w[3] the two
 * slots referring to it.  The object's back-link (w[3]) names the one
 * slot referring to it.  Insertion goes up from the object towards the
 * lighter side, as the engine does. */

enum { M_OBJ = 1, M_HOLDER = 2, M_REF = 3 };
#define M_TYPE(c) ((c)->w[0] & 0xff)
#define M_COUNT(c) ((c)->w[0] >> 8)

static lcell *cell_of_slot(uintptr_t *slot)
{
	return (lcell *)((uintptr_t)slot & ~(uintptr_t)31);
}

typedef struct tmodel {
	lcell *refs; /* reference cells: a free list through w[1] */
	lcell *free;
} tmodel;

static lcell *tm_new_ref(tmodel *m)
{
	lcell *r = m->free;
	m->free = (lcell *)r->w[1];
	return r;
}

/* Slot s (empty) now refers to obj too. */
static void tm_add(tmodel *m, uintptr_t *s, lcell *obj)
{
	uintptr_t *at = (uintptr_t *)obj->w[3];
	if (!at) {
		*s = (uintptr_t)obj;
		obj->w[3] = (uintptr_t)s;
		return;
	}
	/* Walk from the object's referring slot towards the leaves, lighter side first. */
	for (;;) {
		lcell *owner = cell_of_slot(at);
		if (M_TYPE(owner) != M_REF)
			break;
		owner->w[0] += 1 << 8;
		uintptr_t *a = (uintptr_t *)owner->w[2], *b = (uintptr_t *)owner->w[3];
		lcell *ca = cell_of_slot(a), *cb = cell_of_slot(b);
		uintptr_t na = M_TYPE(ca) == M_REF && a == &ca->w[1] ? M_COUNT(ca) : 1;
		uintptr_t nb = M_TYPE(cb) == M_REF && b == &cb->w[1] ? M_COUNT(cb) : 1;
		at = na <= nb ? a : b;
	}
	/* at is a leaf slot referring to x: put a new reference cell between. */
	lcell *x = (lcell *)*at, *r = tm_new_ref(m);
	r->w[0] = M_REF | (2u << 8);
	r->w[1] = (uintptr_t)x;
	r->w[2] = (uintptr_t)at;
	r->w[3] = (uintptr_t)s;
	*at = (uintptr_t)r;
	*s = (uintptr_t)r;
	if (M_TYPE(x) == M_REF)
		x->w[(uintptr_t *)x->w[2] == at ? 2 : 3] = (uintptr_t)&r->w[1];
	else
		x->w[3] = (uintptr_t)&r->w[1];
}

static void tm_remove(tmodel *m, uintptr_t *s)
{
	lcell *r = (lcell *)*s;
	*s = 0;
	if (M_TYPE(r) != M_REF) { /* the only referrer */
		r->w[3] = 0;
		return;
	}
	uintptr_t *other = (uintptr_t *)r->w[(uintptr_t *)r->w[2] == s ? 3 : 2];
	lcell *x = (lcell *)r->w[1];
	*other = (uintptr_t)x;
	if (M_TYPE(x) == M_REF)
		x->w[(uintptr_t *)x->w[2] == &r->w[1] ? 2 : 3] = (uintptr_t)other;
	else
		x->w[3] = (uintptr_t)other;
	for (lcell *d = x; M_TYPE(d) == M_REF; d = (lcell *)d->w[1])
		d->w[0] -= 1 << 8;
	r->w[0] = 0;
	r->w[1] = (uintptr_t)m->free;
	m->free = r;
}

static inline lcell *tm_deref(uintptr_t *s)
{
	lcell *p = (lcell *)*s;
	while (M_TYPE(p) == M_REF)
		p = (lcell *)p->w[1];
	return p;
}

typedef struct tmodel_set {
	size_t k, ops;
	uint64_t seed;
	q3_costs out;
	uint64_t sink;
} tmodel_set;

static double tmodel_round(void *arg)
{
	tmodel_set *t = arg;
	size_t k = t->k, nobj = objects_for(k), nh = nobj * k;
	/* cells: the objects, the holders, and reference cells (k-1 per object, plus spares) */
	size_t ncells = nobj + nh + nh + nobj;
	lcell *cells = aligned_alloc(32, ncells * sizeof(lcell));
	bool *set = calloc(nh, 1);
	size_t *pick = malloc(nh * sizeof *pick);
	if (!cells || !set || !pick)
		q3_die("out of memory");
	memset(cells, 0, ncells * sizeof(lcell));
	lcell *objs = &cells[0], *holders = &cells[nobj];
	for (size_t o = 0; o < nobj; o++) {
		objs[o].w[0] = M_OBJ;
		objs[o].w[2] = 12345;
	}
	tmodel m = {&cells[nobj + nh], NULL};
	for (size_t i = 0; i < nh + nobj; i++) {
		m.refs[i].w[1] = (uintptr_t)m.free;
		m.free = &m.refs[i];
	}
	for (size_t i = 0; i < nh; i++) {
		holders[i].w[0] = M_HOLDER;
		tm_add(&m, &holders[i].w[1], &objs[i / k]);
		set[i] = true;
	}
	uint64_t rng = t->seed, sum = 0;
	double t0 = study_now();
	for (size_t i = 0; i < t->ops; i++)
		sum += tm_deref(&holders[bench_rand(&rng) % nh].w[1])->w[2];
	t->out.deref = (study_now() - t0) / (double)t->ops * 1e9;
	size_t batch = nh < 512 ? nh : 512, done = 0;
	samples rm = {0}, ad = {0};
	while (done < removes_for(t->ops, k)) {
		size_t n = 0;
		for (size_t tries = 0; n < batch && tries < 4 * batch; tries++) {
			size_t i = bench_rand(&rng) % nh;
			if (set[i]) {
				set[i] = false;
				pick[n++] = i;
			}
		}
		double a = study_now();
		for (size_t j = 0; j < n; j++)
			tm_remove(&m, &holders[pick[j]].w[1]);
		double b = study_now();
		for (size_t j = 0; j < n; j++)
			tm_add(&m, &holders[pick[j]].w[1], &objs[pick[j] / k]);
		double e = study_now();
		for (size_t j = 0; j < n; j++)
			set[pick[j]] = true;
		if (n) {
			sample_add(&rm, (b - a - study_clock_cost()) / (double)n);
			sample_add(&ad, (e - b - study_clock_cost()) / (double)n);
		}
		done += n;
	}
	t->out.remove = sample_median(&rm) * 1e9;
	t->out.add = sample_median(&ad) * 1e9;
	t->out.move_target = t->out.move_referrer = -1;
	t->out.fixups_per_move = 1;
	for (size_t i = 0; i < nh; i++)
		if (tm_deref(&holders[i].w[1]) != &objs[i / k])
			q3_die("the reference-tree model lost a referrer");
	t->sink += sum;
	free(cells);
	free(set);
	free(pick);
	return t->out.deref + t->out.add + t->out.remove;
}

static double list_round(void *arg)
{
	list_set *t = arg;
	size_t k = t->k, nobj = objects_for(k), nh = nobj * k;
	/* cells: the objects, the holders, and two spare cells to move into */
	lcell *cells = aligned_alloc(32, (nobj + nh + 2) * sizeof(lcell));
	lcell **roots = malloc(nh * sizeof *roots), **objr = malloc(nobj * sizeof *objr);
	bool *set = calloc(nh, 1);
	size_t *pick = malloc(nh * sizeof *pick);
	if (!cells || !roots || !objr || !set || !pick)
		q3_die("out of memory");
	memset(cells, 0, (nobj + nh + 2) * sizeof(lcell));
	for (size_t o = 0; o < nobj; o++) {
		cells[o].w[L_DATA] = 12345;
		objr[o] = &cells[o];
	}
	for (size_t i = 0; i < nh; i++) {
		lcell *hd = &cells[nobj + i], *obj = objr[i / k];
		roots[i] = hd;
		hd->w[L_REF] = (uintptr_t)obj;
		hd->w[L_NEXT] = obj->w[L_HEAD];
		obj->w[L_HEAD] = (uintptr_t)hd;
		set[i] = true;
	}
	uint64_t rng = t->seed;
	double t0 = study_now();
	uint64_t sum = 0;
	for (size_t i = 0; i < t->ops; i++) {
		lcell *hd = roots[bench_rand(&rng) % nh];
		sum += ((lcell *)hd->w[L_REF])->w[L_DATA];
	}
	t->out.deref = (study_now() - t0) / (double)t->ops * 1e9;
	size_t batch = nh < 512 ? nh : 512, done = 0;
	samples rm = {0}, ad = {0};
	while (done < removes_for(t->ops, k)) {
		size_t n = 0;
		for (size_t tries = 0; n < batch && tries < 4 * batch; tries++) {
			size_t i = bench_rand(&rng) % nh;
			if (set[i]) {
				set[i] = false;
				pick[n++] = i;
			}
		}
		double a = study_now();
		for (size_t j = 0; j < n; j++) {
			lcell *hd = roots[pick[j]], *o = (lcell *)hd->w[L_REF];
			uintptr_t *link = &o->w[L_HEAD];
			while ((lcell *)*link != hd)
				link = &((lcell *)*link)->w[L_NEXT];
			*link = hd->w[L_NEXT];
			hd->w[L_REF] = hd->w[L_NEXT] = 0;
		}
		double b = study_now();
		for (size_t j = 0; j < n; j++) {
			lcell *hd = roots[pick[j]], *o = objr[pick[j] / k];
			hd->w[L_REF] = (uintptr_t)o;
			hd->w[L_NEXT] = o->w[L_HEAD];
			o->w[L_HEAD] = (uintptr_t)hd;
		}
		double e = study_now();
		for (size_t j = 0; j < n; j++)
			set[pick[j]] = true;
		if (n) {
			sample_add(&rm, (b - a - study_clock_cost()) / (double)n);
			sample_add(&ad, (e - b - study_clock_cost()) / (double)n);
		}
		done += n;
	}
	t->out.remove = sample_median(&rm) * 1e9;
	t->out.add = sample_median(&ad) * 1e9;
	/* Moves: object 0 back and forth between its cell and a spare one;
	 * one of its referrers, at random, into the other spare and back. */
	size_t moves = t->ops / 16 + 2;
	if (moves > 20000)
		moves = 20000;
	if (moves * k > 50000000)
		moves = 50000000 / k + 2;
	lcell *home0 = &cells[0], *spare = &cells[nobj + nh], *spare2 = &cells[nobj + nh + 1];
	double m0 = study_now();
	for (size_t i = 0; i < moves; i++) {
		lcell *at = objr[0];
		lmove_object(at, at == home0 ? spare : home0, &objr[0]);
	}
	double m1 = study_now();
	for (size_t i = 0; i < moves; i++) {
		size_t r = bench_rand(&rng) % k; /* object 0's referrers are holders 0..k-1 */
		lcell *home = roots[r];
		lmove_referrer(home, spare2, &roots[r]);
		lmove_referrer(spare2, home, &roots[r]);
	}
	double m2 = study_now();
	t->out.move_target = (m1 - m0) / (double)moves * 1e9;
	t->out.move_referrer = (m2 - m1) / (double)(2 * moves) * 1e9;
	t->out.fixups_per_move = -1;
	/* Check the lists are intact: every referrer reaches its object. */
	for (size_t o = 0; o < nobj; o++) {
		size_t count = 0;
		for (lcell *r = (lcell *)objr[o]->w[L_HEAD]; r; r = (lcell *)r->w[L_NEXT])
			count += (lcell *)r->w[L_REF] == objr[o];
		if (count != k)
			q3_die("the referrer-list model lost a referrer");
	}
	t->sink += sum;
	free(cells);
	free(roots);
	free(objr);
	free(set);
	free(pick);
	return t->out.deref + t->out.add + t->out.remove;
}

static double mix(const q3_costs *c, double add, double rm, double deref)
{
	return add * c->add + rm * c->remove + deref * c->deref;
}

/* --study-child q3 K: a target with K referrers, some removed and added
 * back, for ravscope. */
static int q3_child(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	T_OBJ = rav_type_register("q3.object", RAV_DATA, RAV_DATA);
	T_HOLDER = rav_type_register("q3.holder", RAV_REF, RAV_DATA);
	rav_thread_name("referrers");
	rav_mark("objects, their referrers added one by one: balanced trees of reference ravioli grow");
	tree_set t = {strtoull(argv[1], NULL, 10), 64, 3, {0, 0, 0, 0, 0, 0}, 0};
	if (t.k < 1 || t.k > 100000)
		return 2;
	tree_round(&t);
	return study_child_reply(&t.out, sizeof t.out);
}

static void keep_best(q3_costs *b, const q3_costs *x)
{
	b->deref = fmin(b->deref, x->deref);
	b->add = fmin(b->add, x->add);
	b->remove = fmin(b->remove, x->remove);
	b->move_target = x->move_target < 0 ? -1 : fmin(b->move_target, x->move_target);
	b->move_referrer = x->move_referrer < 0 ? -1 : fmin(b->move_referrer, x->move_referrer);
	b->fixups_per_move = x->fixups_per_move;
}

static bool q3_run(study_ctx *c)
{
	T_OBJ = rav_type_register("q3.object", RAV_DATA, RAV_DATA);
	T_HOLDER = rav_type_register("q3.holder", RAV_REF, RAV_DATA);
	if (!T_OBJ || !T_HOLDER)
		q3_die("rav_type_register");
	static const size_t full_k[] = {1, 4, 16, 64, 256, 1024, 4096, 16384}, quick_k[] = {1, 16, 256};
	const size_t *ks = c->quick ? quick_k : full_k;
	unsigned nk = c->quick ? 3 : 8;
	size_t ops = c->quick ? 2000 : 400000;
	q3_costs eng[8], tree[8], list[8];
	uint64_t sink = 0;
	for (unsigned i = 0; i < nk; i++) {
		tree_set es = {ks[i], ops, 99, {0, 0, 0, 0, 0, 0}, 0};
		tmodel_set ts = {ks[i], ops, 99, {0, 0, 0, 0, 0, 0}, 0};
		list_set ls = {ks[i], ops, 99, {0, 0, 0, 0, 0, 0}, 0};
		/* best per operation over the rounds, the variants interleaved */
		const q3_costs init = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, 0};
		eng[i] = tree[i] = list[i] = init;
		for (unsigned r = 0; r < c->repeat; r++) {
			tree_round(&es);
			tmodel_round(&ts);
			list_round(&ls);
			keep_best(&eng[i], &es.out);
			keep_best(&tree[i], &ts.out);
			keep_best(&list[i], &ls.out);
		}
		sink += es.sink + ts.sink + ls.sink;
		study_log(c,
		          "k=%zu: engine deref %.1f add %.1f remove %.1f; tree model %.1f %.1f %.1f; list "
		          "model %.1f "
		          "%.1f %.1f, move object %.1f ns",
		          ks[i], eng[i].deref, eng[i].add, eng[i].remove, tree[i].deref, tree[i].add,
		          tree[i].remove, list[i].deref, list[i].add, list[i].remove, list[i].move_target);
	}
	if (sink == 1) /* keeps the loads the dereference loops time */
		study_log(c, "(sink)");
	char *p = study_path(c, c->trace_dir, "q3-reftree.ravtrace");
	char env[4200];
	snprintf(env, sizeof env, "RAVIOLI_TRACE=%s", p);
	free(p);
	char *args[] = {"64", NULL}, *envp[] = {env, NULL};
	q3_costs dummy;
	if (!study_spawn(c, c->exe, "q3", args, envp, &dummy, sizeof dummy))
		return false;

	FILE *f = study_open(c, "q3.md");
	if (!f)
		return false;
	fprintf(
	    f,
	    "Nanoseconds per operation on one object with k referrers (best of %u rounds, the three variants "
	    "interleaved). *Tree model* and *list model* are bench-only, bare C on the same 32-byte cells "
	    "(compare them with each other); *engine* is libravioli's reference trees through the public "
	    "API (a call, generation checks and tracing branches per operation on top of the structure):\n\n"
	    "| k | tree model: deref | add | remove | list model: deref | add | remove | move object | move "
	    "referrer | engine: deref | add | remove | fix-ups / move |\n"
	    "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
	    c->repeat);
	for (unsigned i = 0; i < nk; i++)
		fprintf(f,
		        "| %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f "
		        "| %.2f |\n",
		        ks[i], tree[i].deref, tree[i].add, tree[i].remove, list[i].deref, list[i].add,
		        list[i].remove, list[i].move_target, list[i].move_referrer, eng[i].deref, eng[i].add,
		        eng[i].remove, eng[i].fixups_per_move);
	fprintf(
	    f,
	    "\nMixes (weighted sums of the rows above, ns per operation). Change-heavy: 45%% add, 45%% "
	    "remove, "
	    "10%% dereference; query-heavy: 90%% dereference, 5%% add, 5%% remove. Moves are not in the "
	    "mixes: "
	    "the list pays *move object* each time compaction moves the object (the tree one fix-up):\n\n"
	    "| k | change-heavy: tree model | list model | engine | query-heavy: tree model | list model | "
	    "engine |\n|---|---|---|---|---|---|---|\n");
	int list_last[2] = {-1, -1}; /* the largest k where the list model is cheaper, per mix */
	for (unsigned i = 0; i < nk; i++) {
		double tc = mix(&tree[i], 0.45, 0.45, 0.10), lc = mix(&list[i], 0.45, 0.45, 0.10);
		double tq = mix(&tree[i], 0.05, 0.05, 0.90), lq = mix(&list[i], 0.05, 0.05, 0.90);
		if (lc < tc)
			list_last[0] = (int)i;
		if (lq < tq)
			list_last[1] = (int)i;
		fprintf(f, "| %zu | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", ks[i], tc, lc,
		        mix(&eng[i], 0.45, 0.45, 0.10), tq, lq, mix(&eng[i], 0.05, 0.05, 0.90));
	}
	unsigned last = nk - 1;
	char cc[96], cq[96];
	char *const dst[2] = {cc, cq};
	for (int j = 0; j < 2; j++) {
		if (list_last[j] < 0)
			snprintf(dst[j], 96, "the tree model is cheaper at every k");
		else if (list_last[j] == (int)last)
			snprintf(dst[j], 96, "the list model is cheaper even at k=%zu", ks[last]);
		else
			snprintf(dst[j], 96,
			         "the tree model is cheaper from k=%zu on (the list model up to k=%zu)",
			         ks[list_last[j] + 1], ks[list_last[j]]);
	}
	fprintf(f,
	        "\nIn one line: from k=%zu to k=%zu the tree model's dereference goes from %.1f to %.1f ns "
	        "and the "
	        "engine's from %.1f to %.1f ns, while the list model's removal goes from %.1f to %.1f ns and "
	        "moving "
	        "the object costs it %.0f ns at k=%zu (the tree: one fix-up). Change-heavy: %s; query-heavy: "
	        "%s.\n",
	        ks[0], ks[last], tree[0].deref, tree[last].deref, eng[0].deref, eng[last].deref,
	        list[0].remove, list[last].remove, list[last].move_target, ks[last], cc, cq);
	fprintf(f, "\n![cost per operation against k](study/q3-referrers.svg)\n");
	if (!study_close(c, f, "q3.md"))
		return false;
	plot pl = {
	    .title = "Q3: one object with k referrers",
	    .xlabel = "referrers k",
	    .ylabel = "ns per operation",
	    .xlog = true,
	    .ylog = true,
	    .note = "solid: bare reference-tree model; dashed: bare referrer-list model; engine: libravioli"};
	plot_series *sr[8] = {plot_add(&pl, "tree: deref"),       plot_add(&pl, "tree: add"),
	                      plot_add(&pl, "tree: remove"),      plot_add(&pl, "list: deref"),
	                      plot_add(&pl, "list: add"),         plot_add(&pl, "list: remove"),
	                      plot_add(&pl, "list: move object"), plot_add(&pl, "engine: deref")};
	for (int j = 3; j < 7; j++)
		sr[j]->dashed = true;
	for (unsigned i = 0; i < nk; i++) {
		double x = (double)ks[i];
		plot_point(sr[0], x, tree[i].deref);
		plot_point(sr[1], x, tree[i].add);
		plot_point(sr[2], x, tree[i].remove);
		plot_point(sr[3], x, list[i].deref);
		plot_point(sr[4], x, list[i].add);
		plot_point(sr[5], x, list[i].remove);
		plot_point(sr[6], x, list[i].move_target);
		plot_point(sr[7], x, eng[i].deref);
	}
	return plot_write(c, &pl, "q3-referrers.svg");
}

const study_def study_q3 = {"q3", "reference trees against referrer lists", q3_run, q3_child};
