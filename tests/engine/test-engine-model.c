/* test-engine-model.c - the engine against a reference model, on random work.
 *
 * Usage: test-engine-model [OPS [SEED]]   (default, or OPS 0: 1000000 ops,
 * or 50000 with RAV_TEST_SMALL=1; default seed 1).  RAV_MODEL_LOG_OPS=1 prints every
 * operation on stderr.
 *
 * Operations: allocate into roots and fields (and before what a slot holds:
 * rav_new_before), store data, store, move (rav_move) and clear references,
 * set and free roots, data/reference vector and byte string edits,
 * messages (adopt or build, send, receive), subtree and message
 * serialization through files and pipes, collection, free mode switches
 * and partial compaction.
 *
 * The model is a plain graph: objects with ids, a type, two fields (a data
 * value or the id of the target), a referrer count, plus the program's
 * roots, two data vectors, a reference vector and a byte string.  Each
 * engine object keeps its model id in its scalar bits, so any engine cell
 * reached through the API can be matched with its model object.
 *
 * The model frees exactly like reference counting (an object dies when its
 * last referrer goes; its own references go with it, iteratively) and keeps
 * unreachable cycles until a collection, which is what the engine promises.
 * Every ~1000 operations the test runs rav_heap_check and compares the
 * whole reachable structure, the per-type cell counts and the number of
 * reference ravioli (sum over objects of referrers - 1) with the model.
 * Every borrow is re-derived from a root after any call that may free, and
 * every step of a walk checks the id it lands on, so the first divergence
 * is reported at the operation that caused it, with the seed to replay it.
 *
 * The model is in this file, the operations in engine-model-ops.c
 * (engine-model.h).
 */
#include "engine-model.h"

/* Which fields of a model type are references (bit f). */
const unsigned ref_mask[M_TYPES] = { 0, 2, 3, 0 };
rav_type engine_type[M_TYPES];

struct model M;

rav_heap *h;
rav_root roots[NROOTS];
rav_root droots[DVECS], rroot, broot;
rav_channel *chan;
rav_rng rng;
uint64_t seed, op_no;
char ops_ring[16][160];

void fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: MODEL MISMATCH: %s\n", file, line, what);
	fprintf(stderr, "seed %" PRIu64 ", failing op #%" PRIu64 ": %s\n", seed, op_no, ops_ring[op_no % 16]);
	fprintf(stderr, "engine says: %s\nprevious ops:\n", rav_last_error());
	for (uint64_t k = op_no > 15 ? op_no - 15 : 0; k < op_no; k++)
		fprintf(stderr, "  #%" PRIu64 ": %s\n", k, ops_ring[k % 16]);
	fprintf(stderr, "replay with: test-engine-model %" PRIu64 " %" PRIu64 "\n", op_no + 1, seed);
	exit(1);
}

static void on_misuse(rav_status s, const char *message, void *user)
{
	(void)user;
	fprintf(stderr, "engine reported misuse %s: %s\n", rav_status_name(s), message);
	fail(__FILE__, __LINE__, "misuse handler called");
}

/* ---- model bookkeeping ---- */

uint32_t m_new(mtype t)
{
	if (M.nobj == M.cap) {
		M.cap = M.cap ? M.cap * 2 : 1024;
		M.obj = realloc(M.obj, sizeof(mobj) * M.cap);
		M.alive = realloc(M.alive, sizeof(uint32_t) * M.cap);
		M.stack = realloc(M.stack, sizeof(uint32_t) * M.cap);
		CHECK(M.obj && M.alive && M.stack);
		if (M.nobj == 0)
			M.nobj = 1; /* id 0 means null */
	}
	uint32_t id = M.nobj++;
	M.obj[id] = (mobj){ .type = (uint8_t)t, .refc = 1, .alive_at = M.nalive };
	M.alive[M.nalive++] = id;
	return id;
}

void m_bury(uint32_t id)
{
	mobj *o = &M.obj[id];
	uint32_t last = M.alive[--M.nalive];
	M.alive[o->alive_at] = last;
	M.obj[last].alive_at = o->alive_at;
	o->type = M_NONE;
}

void m_inc(uint32_t id)
{
	if (id)
		M.obj[id].refc++;
}

/* Drop one reference to id; free what dies, iteratively. */
void m_dec(uint32_t id)
{
	if (!id)
		return;
	MCHECK(M.obj[id].type != M_NONE && M.obj[id].refc > 0);
	if (--M.obj[id].refc > 0)
		return;
	uint32_t sp = 0;
	M.stack[sp++] = id;
	while (sp) {
		uint32_t x = M.stack[--sp];
		mobj *o = &M.obj[x];
		for (int f = 0; f < 2; f++) {
			if (!(ref_mask[o->type] >> f & 1) || !o->f[f])
				continue;
			uint32_t t = (uint32_t)o->f[f];
			o->f[f] = 0;
			if (--M.obj[t].refc == 0)
				M.stack[sp++] = t;
		}
		m_bury(x);
	}
}

/* Mark everything reachable from the roots and the reference vector. */
static uint32_t m_mark_all(void)
{
	uint32_t epoch = ++M.epoch, sp = 0, n = 0;
	for (int r = 0; r < NROOTS; r++)
		if (M.root_target[r] && M.obj[M.root_target[r]].mark != epoch) {
			M.obj[M.root_target[r]].mark = epoch;
			M.stack[sp++] = M.root_target[r];
		}
	for (size_t i = 0; i < M.rlen; i++)
		if (M.rvec[i] && M.obj[M.rvec[i]].mark != epoch) {
			M.obj[M.rvec[i]].mark = epoch;
			M.stack[sp++] = M.rvec[i];
		}
	while (sp) {
		uint32_t x = M.stack[--sp];
		n++;
		for (int f = 0; f < 2; f++) {
			uint32_t t = (ref_mask[M.obj[x].type] >> f & 1) ? (uint32_t)M.obj[x].f[f] : 0;
			if (t && M.obj[t].mark != epoch) {
				M.obj[t].mark = epoch;
				M.stack[sp++] = t;
			}
		}
	}
	return n;
}

void m_collect(void)
{
	uint32_t epoch = M.epoch + 1;
	m_mark_all();
	/* Garbage referring to survivors stops counting as a referrer. */
	for (uint32_t k = 0; k < M.nalive; k++) {
		mobj *o = &M.obj[M.alive[k]];
		if (o->mark == epoch)
			continue;
		for (int f = 0; f < 2; f++)
			if ((ref_mask[o->type] >> f & 1) && o->f[f] && M.obj[o->f[f]].mark == epoch)
				M.obj[o->f[f]].refc--;
	}
	for (uint32_t k = 0; k < M.nalive;) {
		uint32_t id = M.alive[k];
		if (M.obj[id].mark != epoch)
			m_bury(id); /* moves another id into slot k */
		else
			k++;
	}
}

/* The subtree of root r is "closed" when every referrer of every object in
 * it lies inside it (or is root r): then it can move as a unit.  Returns its
 * size, or 0 if not closed or too big. */
uint32_t m_closed_subtree(int r, bool *shared)
{
	uint32_t t = M.root_target[r];
	if (!t)
		return 0;
	uint32_t epoch = ++M.epoch, sp = 0, n = 0;
	M.obj[t].mark = epoch;
	M.stack[sp++] = t;
	/* Count in-edges from inside in alive_at's neighbour: use a side array. */
	static uint32_t *inside_refs;
	static uint32_t inside_cap;
	if (inside_cap < M.nobj) {
		inside_cap = M.cap;
		inside_refs = realloc(inside_refs, sizeof(uint32_t) * inside_cap);
		CHECK(inside_refs);
	}
	uint32_t *list = malloc(sizeof(uint32_t) * (CLOSED_MAX + 1));
	CHECK(list);
	inside_refs[t] = 1; /* root r */
	while (sp) {
		uint32_t x = M.stack[--sp];
		if (n == CLOSED_MAX) {
			free(list);
			return 0;
		}
		list[n++] = x;
		for (int f = 0; f < 2; f++) {
			uint32_t y = (ref_mask[M.obj[x].type] >> f & 1) ? (uint32_t)M.obj[x].f[f] : 0;
			if (!y)
				continue;
			if (M.obj[y].mark != epoch) {
				M.obj[y].mark = epoch;
				inside_refs[y] = 0;
				M.stack[sp++] = y;
			}
			inside_refs[y]++;
		}
	}
	bool closed = true;
	if (shared)
		*shared = false;
	for (uint32_t k = 0; k < n && closed; k++) {
		closed = inside_refs[list[k]] == M.obj[list[k]].refc;
		if (shared && M.obj[list[k]].refc > 1)
			*shared = true;
	}
	free(list);
	return closed ? n : 0;
}

/* ---- engine side ---- */

rav_ref root_ref(int r)
{
	return rav_root_get(h, roots[r]);
}

void verify(rav_ref ref, uint32_t id)
{
	MCHECK(id != 0 && M.obj[id].type != M_NONE);
	MCHECK(!rav_ref_is_null(ref));
	MCHECK(rav_type_of(h, ref) == engine_type[M.obj[id].type]);
	MCHECK(rav_scalar(h, ref) == id);
}

/* A random object reachable from a root or the reference vector, by a
 * random walk that checks each step. */
bool pick_obj(pick *p)
{
	for (int tries = 0; tries < 8; tries++) {
		uint32_t id;
		rav_ref ref;
		if (M.rlen && rav_rng_below(&rng, 8) == 0) {
			size_t i = rav_rng_below(&rng, M.rlen);
			id = M.rvec[i];
			if (!id)
				continue;
			ref = rav_vec_get_ref(h, rav_root_get(h, rroot), i);
		} else {
			int r = (int)rav_rng_below(&rng, NROOTS);
			id = M.root_target[r];
			if (!id)
				continue;
			ref = root_ref(r);
		}
		verify(ref, id);
		unsigned steps = (unsigned)rav_rng_below(&rng, 6);
		for (unsigned s = 0; s < steps; s++) {
			mobj *o = &M.obj[id];
			int f = (int)rav_rng_below(&rng, 2);
			if (!((ref_mask[o->type] >> f & 1) && o->f[f]))
				f ^= 1;
			if (!((ref_mask[o->type] >> f & 1) && o->f[f]))
				break;
			id = (uint32_t)o->f[f];
			ref = rav_load_ref(h, ref, f);
			verify(ref, id);
		}
		p->ref = ref;
		p->id = id;
		return true;
	}
	return false;
}

/* A random field of the picked object with the wanted kind (-1: none). */
int field_of_kind(uint32_t id, bool want_ref)
{
	unsigned mask = ref_mask[M.obj[id].type];
	if (!want_ref)
		mask = ~mask & 3;
	if (!mask)
		return -1;
	if (mask == 3)
		return (int)rav_rng_below(&rng, 2);
	return mask == 1 ? 0 : 1;
}

mtype random_type(void)
{
	return (mtype)(1 + rav_rng_below(&rng, 3));
}

/* Fill a new engine object's scalar and data fields, and the model's. */
void init_obj(rav_heap *hh, rav_ref ref, uint32_t id)
{
	rav_set_scalar(hh, ref, id);
	for (int f = 0; f < 2; f++) {
		if (ref_mask[M.obj[id].type] >> f & 1)
			continue;
		uintptr_t v = (uintptr_t)rav_rng_next(&rng);
		rav_store(hh, ref, f, v);
		M.obj[id].f[f] = v;
	}
}

/* ---- full comparison ---- */

/* Cells of a vector of n elements in vec.c's shape: the header, ceil(n/2)
 * leaves, and above them halving levels up to a single root. */
static uint64_t vec_cells(size_t n)
{
	uint64_t c = 1;
	if (n == 0)
		return c;
	size_t level = (n + 1) / 2;
	c += level;
	while (level > 1) {
		level = (level + 1) / 2;
		c += level;
	}
	return c;
}

typedef struct census {
	uint64_t by_type[M_TYPES];
	uint64_t vec_cells, ref_cells, other;
} census;

static bool census_cell(rav_heap *hh, const rav_cell_info *info, void *user)
{
	census *c = user;
	switch (info->type) {
	case RAV_TYPE_HEADER:
	case RAV_TYPE_ROOT:
	case RAV_TYPE_EMPTY:
	case RAV_TYPE_DEAD:
		return true;
	case RAV_TYPE_REF:
		c->ref_cells++;
		return true;
	case RAV_TYPE_VEC:
	case RAV_TYPE_VEC_NODE:
	case RAV_TYPE_VEC_LEAF:
	case RAV_TYPE_VEC_RLEAF:
	case RAV_TYPE_BYTES:
		c->vec_cells++;
		return true;
	default:
		for (int t = 1; t < M_TYPES; t++)
			if (info->type == engine_type[t]) {
				c->by_type[t]++;
				return true;
			}
		c->other++;
		return true;
	}
}

static void compare_all(void)
{
	MOK(rav_heap_check(h));

	/* Reachable structure, depth-first from every holder. */
	uint32_t epoch = ++M.epoch;
	typedef struct item {
		rav_ref ref;
		uint32_t id;
	} item;
	static item *stack;
	static uint32_t stack_cap;
	/* An object is pushed once per edge to it: at most two per object. */
	if (stack_cap < 2 * M.nalive + NROOTS + RVEC_MAX + 8) {
		stack_cap = (2 * M.nalive + NROOTS + RVEC_MAX + 8) * 2;
		stack = realloc(stack, sizeof(item) * stack_cap);
		CHECK(stack);
	}
	uint32_t sp = 0;
	for (int r = 0; r < NROOTS; r++) {
		rav_ref ref = root_ref(r);
		MCHECK(rav_ref_is_null(ref) == (M.root_target[r] == 0));
		if (M.root_target[r])
			stack[sp++] = (item){ ref, M.root_target[r] };
	}
	rav_ref rv = rav_root_get(h, rroot);
	MCHECK(rav_vec_len(h, rv) == M.rlen);
	for (size_t i = 0; i < M.rlen; i++) {
		rav_ref ref = rav_vec_get_ref(h, rv, i);
		MCHECK(rav_ref_is_null(ref) == (M.rvec[i] == 0));
		if (M.rvec[i])
			stack[sp++] = (item){ ref, M.rvec[i] };
	}
	while (sp) {
		item it = stack[--sp];
		verify(it.ref, it.id);
		mobj *o = &M.obj[it.id];
		if (o->mark == epoch)
			continue;
		o->mark = epoch;
		for (int f = 0; f < 2; f++) {
			if (ref_mask[o->type] >> f & 1) {
				rav_ref t = rav_load_ref(h, it.ref, f);
				MCHECK(rav_ref_is_null(t) == (o->f[f] == 0));
				if (o->f[f])
					stack[sp++] = (item){ t, (uint32_t)o->f[f] };
			} else {
				MCHECK(rav_load(h, it.ref, f) == o->f[f]);
			}
		}
	}

	/* Vectors and bytes, element by element. */
	for (int k = 0; k < DVECS; k++) {
		rav_ref v = rav_root_get(h, droots[k]);
		MCHECK(rav_vec_len(h, v) == M.dlen[k]);
		for (size_t i = 0; i < M.dlen[k]; i++) {
			uintptr_t x;
			MOK(rav_vec_get(h, v, i, &x));
			MCHECK(x == M.dvec[k][i]);
		}
	}
	static unsigned char buf[BYTES_MAX];
	rav_ref b = rav_root_get(h, broot);
	MCHECK(rav_bytes_len(h, b) == M.blen);
	MCHECK(rav_bytes_read(h, b, 0, buf, sizeof buf) == M.blen);
	MCHECK(memcmp(buf, M.bytes, M.blen) == 0);

	/* In deferred mode the kill cascade may still be queued: those cells
	 * are unreachable (the walks above never met them) but still count as
	 * live and still hold their references.  Run just the kills, one unit
	 * at a time (kills come before moves), so the census below compares
	 * settled counts while dead holes stay queued. */
	rav_stats pending;
	rav_heap_stats(h, &pending);
	while (pending.dying_cells > 0) {
		(void)rav_compact(h, 1);
		rav_heap_stats(h, &pending);
	}
	MOK(rav_heap_check(h));

	/* Cell census: objects (unreachable cycles included), tree cells and
	 * reference ravioli. */
	census c = { { 0 }, 0, 0, 0 };
	rav_heap_walk(h, NULL, census_cell, &c);
	uint64_t want[M_TYPES] = { 0 }, want_refs = 0;
	for (uint32_t k = 0; k < M.nalive; k++) {
		mobj *o = &M.obj[M.alive[k]];
		want[o->type]++;
		want_refs += o->refc - 1;
		MCHECK(o->refc > 0);
	}
	for (int t = 1; t < M_TYPES; t++)
		MCHECK(c.by_type[t] == want[t]);
	MCHECK(c.other == 0);
	MCHECK(c.ref_cells == want_refs);
	uint64_t vc = vec_cells(M.rlen) + vec_cells((M.blen + sizeof(uintptr_t) - 1) / sizeof(uintptr_t));
	for (int k = 0; k < DVECS; k++)
		vc += vec_cells(M.dlen[k]);
	MCHECK(c.vec_cells == vc);
	rav_stats s;
	rav_heap_stats(h, &s);
	MCHECK(s.ref_cells == want_refs);
	MCHECK(s.live_cells == M.nalive + want_refs + vc);
	/* A move fixes at most three words: the referring slot(s) and the
	 * children's back-links (a reference raviolo: its target's back-link
	 * and its two referring slots). */
	MCHECK(s.fixups <= 3 * s.moves);
}

int main(int argc, char **argv)
{
	uint64_t ops = rav_test_small() ? 50000 : 1000000;
	seed = 1;
	if (argc > 1 && strtoull(argv[1], NULL, 0) != 0)
		ops = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	rng.s = seed;
	printf("# model test: %" PRIu64 " ops, seed %" PRIu64 "\n", ops, seed);
	fflush(stdout);
	rav_set_error_handler(on_misuse, NULL);

	engine_type[M_NODE] = rav_type_register("model.node", RAV_DATA, RAV_REF);
	engine_type[M_PAIR] = rav_type_register("model.pair", RAV_REF, RAV_REF);
	engine_type[M_DATA] = rav_type_register("model.data", RAV_DATA, RAV_DATA);
	CHECK(engine_type[M_NODE] && engine_type[M_PAIR] && engine_type[M_DATA]);
	h = rav_heap_self();
	CHECK(h != NULL);
	m_new(M_NONE); /* sets up arrays */
	m_bury(1);
	for (int r = 0; r < NROOTS; r++)
		CHECK((roots[r] = rav_root_new(h)) != NULL);
	for (int k = 0; k < DVECS; k++) {
		droots[k] = rav_root_new(h);
		CHECK_OK(rav_vec_new_root(h, droots[k], false));
	}
	rroot = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, rroot, true));
	broot = rav_root_new(h);
	CHECK_OK(rav_bytes_new_root(h, broot, NULL, 0));
	chan = rav_channel_new();
	CHECK(chan != NULL);

	uint64_t counts[17] = { 0 };
	bool log_ops = getenv("RAV_MODEL_LOG_OPS") != NULL; /* every op on stderr, for reducing a failure */
	for (op_no = 0; op_no < ops; op_no++) {
		snprintf(ops_ring[op_no % 16], sizeof ops_ring[0], "(no-op: nothing suitable)");
		unsigned k = (unsigned)rav_rng_below(&rng, 1000);
		bool crowded = M.nalive > LIVE_SOFT_MAX;
		if (k < 100) {
			crowded ? op_clear_root() : op_new_root();
			counts[0]++;
		} else if (k < 260) {
			if (crowded)
				op_clear_field();
			else if (rav_rng_below(&rng, 4) == 0)
				op_new_before();
			else
				op_new_field();
			counts[1]++;
		} else if (k < 360) {
			op_store_data();
			counts[2]++;
		} else if (k < 400) {
			op_move();
			counts[16]++;
		} else if (k < 560) {
			op_store_ref();
			counts[3]++;
		} else if (k < 610) {
			op_root_set();
			counts[4]++;
		} else if (k < 690) {
			op_clear_field();
			counts[5]++;
		} else if (k < 730) {
			op_clear_root();
			counts[6]++;
		} else if (k < 800) {
			op_dvec();
			counts[7]++;
		} else if (k < 870) {
			op_rvec();
			counts[8]++;
		} else if (k < 930) {
			op_bytes();
			counts[9]++;
		} else if (k < 945) {
			op_msg_adopt();
			counts[10]++;
		} else if (k < 955) {
			op_msg_build();
			counts[11]++;
		} else if (k < 960) {
			op_serialize();
			counts[12]++;
		} else if (k < 962) {
			op_collect();
			counts[13]++;
		} else if (k < 964) {
			op_mode();
			counts[14]++;
		} else {
			op_compact();
			counts[15]++;
		}
		if (log_ops)
			fprintf(stderr, "#%" PRIu64 ": %s\n", op_no, ops_ring[op_no % 16]);
		if (op_no % CHECK_EVERY == CHECK_EVERY - 1) {
			OPDESC("full comparison after op #%" PRIu64, op_no);
			compare_all();
		}
	}
	OPDESC("final comparison");
	rav_compact(h, 0);
	compare_all();
	op_collect();
	compare_all();
	printf("# ops: new_root %" PRIu64 ", new_field %" PRIu64 ", store %" PRIu64 ", store_ref %" PRIu64
	       ", root_set %" PRIu64 ", clear %" PRIu64 ", clear_root %" PRIu64 ", dvec %" PRIu64 ", rvec %" PRIu64
	       ", bytes %" PRIu64 ", msg_adopt %" PRIu64 ", msg_build %" PRIu64 ", serialize %" PRIu64
	       ", collect %" PRIu64 ", mode %" PRIu64 ", compact %" PRIu64 ", move %" PRIu64 "\n",
	       counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7], counts[8],
	       counts[9], counts[10], counts[11], counts[12], counts[13], counts[14], counts[15], counts[16]);
	printf("# %u objects alive at the end, %u ids used\n", M.nalive, M.nobj - 1);

	/* Tear down and check that everything goes. */
	for (int r = 0; r < NROOTS; r++)
		rav_root_free(h, roots[r]);
	for (int k = 0; k < DVECS; k++)
		rav_root_free(h, droots[k]);
	rav_root_free(h, rroot);
	rav_root_free(h, broot);
	rav_collect(h);
	rav_compact(h, 0);
	rav_stats s;
	rav_heap_stats(h, &s);
	CHECK_EQ(s.live_cells, 0);
	CHECK_OK(rav_heap_check(h));
	rav_channel_free(chan);
	rav_thread_exit();
	free(M.obj);
	free(M.alive);
	free(M.stack);
	printf("ok model\n");
	return 0;
}

