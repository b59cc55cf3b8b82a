/* engine-model-ops.c - the random operations of test-engine-model: each
 * picks its operands at random, calls the engine and applies the same
 * change to the model (engine-model.h), checking the engine's answer on
 * the way.
 */
#include <fcntl.h>
#include <unistd.h>

#include "engine-model.h"

/* ---- operations ---- */

void op_new_root(void)
{
	int r = (int)rav_rng_below(&rng, NROOTS);
	mtype t = random_type();
	OPDESC("new_root r%d type %d (old target %u)", r, t, M.root_target[r]);
	rav_ref out;
	MOK(rav_new_root(h, engine_type[t], roots[r], &out));
	uint32_t id = m_new(t), old = M.root_target[r];
	M.root_target[r] = id;
	m_dec(old);
	init_obj(h, root_ref(r), id);
}

void op_new_field(void)
{
	pick p;
	if (!pick_obj(&p))
		return op_new_root();
	int f = field_of_kind(p.id, true);
	if (f < 0)
		return op_new_root();
	mtype t = random_type();
	OPDESC("new_field obj %u.f%d type %d (old %u)", p.id, f, t, (unsigned)M.obj[p.id].f[f]);
	rav_ref out;
	MOK(rav_new_field(h, engine_type[t], p.ref, f, &out));
	uint32_t id = m_new(t), old = (uint32_t)M.obj[p.id].f[f];
	M.obj[p.id].f[f] = id;
	/* `out` is promised fresh even when the call dropped (and freed) the
	 * old target; p.ref may be stale by now. */
	init_obj(h, out, id);
	m_dec(old);
}

void op_store_data(void)
{
	pick p;
	if (!pick_obj(&p))
		return;
	int f = field_of_kind(p.id, false);
	if (f < 0)
		return;
	uintptr_t v = (uintptr_t)rav_rng_next(&rng);
	OPDESC("store obj %u.f%d = %#jx", p.id, f, (uintmax_t)v);
	MCHECK(rav_load(h, p.ref, f) == M.obj[p.id].f[f]);
	rav_store(h, p.ref, f, v);
	M.obj[p.id].f[f] = v;
}

void op_store_ref(void)
{
	pick x, y;
	if (!pick_obj(&x) || !pick_obj(&y))
		return;
	int f = field_of_kind(x.id, true);
	if (f < 0)
		return;
	OPDESC("store_ref obj %u.f%d = obj %u (old %u)", x.id, f, y.id, (unsigned)M.obj[x.id].f[f]);
	MOK(rav_store_ref(h, x.ref, f, y.ref));
	m_inc(y.id);
	uint32_t old = (uint32_t)M.obj[x.id].f[f];
	M.obj[x.id].f[f] = y.id;
	m_dec(old);
}

void op_root_set(void)
{
	pick y;
	if (!pick_obj(&y))
		return;
	int r = (int)rav_rng_below(&rng, NROOTS);
	OPDESC("root_set r%d = obj %u (old %u)", r, y.id, M.root_target[r]);
	MOK(rav_root_set(h, roots[r], y.ref));
	m_inc(y.id);
	uint32_t old = M.root_target[r];
	M.root_target[r] = y.id;
	m_dec(old);
}

void op_clear_field(void)
{
	pick x;
	if (!pick_obj(&x))
		return;
	int f = field_of_kind(x.id, true);
	if (f < 0)
		return;
	OPDESC("clear obj %u.f%d (old %u)", x.id, f, (unsigned)M.obj[x.id].f[f]);
	MOK(rav_clear_ref(h, x.ref, f));
	uint32_t old = (uint32_t)M.obj[x.id].f[f];
	M.obj[x.id].f[f] = 0;
	m_dec(old);
}

void op_clear_root(void)
{
	int r = (int)rav_rng_below(&rng, NROOTS);
	bool refree = rav_rng_below(&rng, 4) == 0;
	OPDESC("%s r%d (old %u)", refree ? "root_free+new" : "root_clear", r, M.root_target[r]);
	if (refree) {
		rav_root_free(h, roots[r]);
		roots[r] = rav_root_new(h);
		MCHECK(roots[r] != NULL);
	} else {
		MOK(rav_root_clear(h, roots[r]));
	}
	uint32_t old = M.root_target[r];
	M.root_target[r] = 0;
	m_dec(old);
}

/* A slot for rav_move: a reference field of a reachable object, or a root. */
typedef struct mslot {
	rav_slot slot;
	uint32_t owner; /* 0: root */
	int index;      /* field, or root number */
} mslot;

static bool pick_slot(mslot *s)
{
	pick p;
	if (rav_rng_below(&rng, 3) && pick_obj(&p)) {
		int f = field_of_kind(p.id, true);
		if (f >= 0) {
			*s = (mslot){ rav_field_slot(p.ref, f), p.id, f };
			return true;
		}
	}
	int r = (int)rav_rng_below(&rng, NROOTS);
	*s = (mslot){ rav_root_slot(roots[r]), 0, r };
	return true;
}

static uint32_t *slot_target(const mslot *s)
{
	static uint32_t tmp;
	if (s->owner == 0)
		return &M.root_target[s->index];
	tmp = (uint32_t)M.obj[s->owner].f[s->index];
	return &tmp;
}

static void set_slot(const mslot *s, uint32_t id)
{
	if (s->owner == 0)
		M.root_target[s->index] = id;
	else
		M.obj[s->owner].f[s->index] = id;
}

/* rav_new_before: a new object takes the place of what a slot held, which
 * moves into the new object's reference field f (a push on a list). */
void op_new_before(void)
{
	mslot at;
	pick_slot(&at);
	mtype t = rav_rng_below(&rng, 2) ? M_NODE : M_PAIR; /* the types with a reference field */
	unsigned mask = ref_mask[t];
	int f = mask == 3 ? (int)rav_rng_below(&rng, 2) : mask == 1 ? 0 : 1;
	uint32_t held = *slot_target(&at);
	OPDESC("new_before %s%u.%d (holds %u) type %d field %d", at.owner ? "obj " : "root ", at.owner, at.index, held,
	       t, f);
	rav_ref out;
	MOK(rav_new_before(h, engine_type[t], at.slot, f, &out));
	uint32_t id = m_new(t);
	M.obj[id].f[f] = held;
	set_slot(&at, id);
	/* nothing was freed: every borrow, the slot's included, stays valid */
	init_obj(h, out, id);
}

void op_move(void)
{
	mslot dst, src;
	pick_slot(&dst);
	pick_slot(&src);
	uint32_t t = *slot_target(&src), old = *slot_target(&dst);
	OPDESC("move %s%u.%d (holds %u) <- %s%u.%d (holds %u)", dst.owner ? "obj " : "root ", dst.owner, dst.index,
	       old, src.owner ? "obj " : "root ", src.owner, src.index, t);
	MOK(rav_move(h, dst.slot, src.slot));
	if (dst.owner == src.owner && dst.index == src.index)
		return;
	set_slot(&src, 0);
	set_slot(&dst, t);
	m_dec(old);
}

void op_collect(void)
{
	OPDESC("collect (%u alive)", M.nalive);
	size_t freed = rav_collect(h);
	uint32_t before = M.nalive;
	m_collect();
	MCHECK(freed >= before - M.nalive);
}

void op_dvec(void)
{
	int k = (int)rav_rng_below(&rng, DVECS);
	rav_ref v = rav_root_get(h, droots[k]);
	unsigned what = (unsigned)rav_rng_below(&rng, 10);
	size_t n = M.dlen[k];
	uintptr_t x;
	if ((what < 5 && n < DVEC_MAX) || n == 0) {
		unsigned burst = 1 + (unsigned)rav_rng_below(&rng, 20);
		OPDESC("dvec%d push x%u (len %zu)", k, burst, n);
		for (unsigned i = 0; i < burst && M.dlen[k] < DVEC_MAX; i++) {
			x = (uintptr_t)rav_rng_next(&rng);
			MOK(rav_vec_push(h, v, x));
			M.dvec[k][M.dlen[k]++] = x;
		}
	} else if (what < 8) {
		unsigned burst = 1 + (unsigned)rav_rng_below(&rng, 20);
		OPDESC("dvec%d pop x%u (len %zu)", k, burst, n);
		for (unsigned i = 0; i < burst && M.dlen[k] > 0; i++) {
			MOK(rav_vec_pop(h, rav_root_get(h, droots[k]), &x));
			MCHECK(x == M.dvec[k][--M.dlen[k]]);
		}
	} else {
		size_t i = rav_rng_below(&rng, n);
		x = (uintptr_t)rav_rng_next(&rng);
		OPDESC("dvec%d set [%zu] (len %zu)", k, i, n);
		uintptr_t got;
		MOK(rav_vec_get(h, v, i, &got));
		MCHECK(got == M.dvec[k][i]);
		MOK(rav_vec_set(h, v, i, x));
		M.dvec[k][i] = x;
	}
}

void op_rvec(void)
{
	unsigned what = (unsigned)rav_rng_below(&rng, 10);
	if ((what < 5 && M.rlen < RVEC_MAX) || M.rlen == 0) {
		pick y;
		bool null = rav_rng_below(&rng, 10) == 0 || !pick_obj(&y);
		OPDESC("rvec push obj %u (len %zu)", null ? 0 : y.id, M.rlen);
		MOK(rav_vec_push_ref(h, rav_root_get(h, rroot), null ? RAV_NULL_REF : y.ref));
		M.rvec[M.rlen++] = null ? 0 : y.id;
		if (!null)
			m_inc(y.id);
	} else if (what < 8) {
		OPDESC("rvec pop (len %zu, last %u)", M.rlen, M.rvec[M.rlen - 1]);
		MOK(rav_vec_pop(h, rav_root_get(h, rroot), NULL));
		m_dec(M.rvec[--M.rlen]);
	} else {
		size_t i = rav_rng_below(&rng, M.rlen);
		pick y;
		bool null = rav_rng_below(&rng, 5) == 0 || !pick_obj(&y);
		OPDESC("rvec set [%zu] = obj %u (old %u)", i, null ? 0 : y.id, M.rvec[i]);
		MOK(rav_vec_set_ref(h, rav_root_get(h, rroot), i, null ? RAV_NULL_REF : y.ref));
		if (!null)
			m_inc(y.id);
		uint32_t old = M.rvec[i];
		M.rvec[i] = null ? 0 : y.id;
		m_dec(old);
	}
}

void op_bytes(void)
{
	unsigned char chunk[40];
	size_t n = rav_rng_below(&rng, sizeof chunk + 1);
	if (M.blen + n > BYTES_MAX) {
		OPDESC("bytes reset (len %zu)", M.blen);
		MOK(rav_bytes_new_root(h, broot, "x", 1));
		M.bytes[0] = 'x';
		M.blen = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		chunk[i] = (unsigned char)rav_rng_next(&rng);
	OPDESC("bytes append %zu (len %zu)", n, M.blen);
	MOK(rav_bytes_append(h, rav_root_get(h, broot), chunk, n));
	memcpy(M.bytes + M.blen, chunk, n);
	M.blen += n;
	size_t at = rav_rng_below(&rng, M.blen + 1);
	MCHECK(rav_bytes_at(h, rav_root_get(h, broot), at) == (at < M.blen ? M.bytes[at] : -1));
}

/* Receive the next message into root r2, replacing its target with `id`. */
static void receive_into(int r2, uint32_t id, bool blocking)
{
	rav_status st = blocking ? rav_recv(chan, h, roots[r2]) : rav_try_recv(chan, h, roots[r2]);
	MOK(st);
	uint32_t old = M.root_target[r2];
	M.root_target[r2] = id;
	m_dec(old);
	verify(root_ref(r2), id);
}

void op_msg_adopt(void)
{
	int r = (int)rav_rng_below(&rng, NROOTS), r2 = (int)rav_rng_below(&rng, NROOTS);
	bool shared;
	uint32_t n = m_closed_subtree(r, &shared);
	if (!n)
		return;
	uint32_t id = M.root_target[r];
	OPDESC("message: adopt r%d (obj %u, %u objects%s), send, receive into r%d (old %u)", r, id, n,
	       shared ? ", shared cells: refused" : "", r2, M.root_target[r2]);
	rav_msg *m = rav_msg_new();
	MCHECK(m != NULL);
	if (shared) {
		/* Only subtrees without shared cells move; the refusal changes nothing. */
		MCHECK(rav_msg_adopt(m, h, roots[r]) == RAV_EINVAL);
		MCHECK(rav_root_is_set(h, roots[r]));
		verify(root_ref(r), id);
		rav_msg_free(m);
		return;
	}
	MOK(rav_msg_adopt(m, h, roots[r]));
	MCHECK(!rav_root_is_set(h, roots[r]));
	M.root_target[r] = 0; /* in flight: still one referrer, the message root */
	MOK(rav_send(chan, m));
	receive_into(r2, id, rav_rng_below(&rng, 2));
}

static int temp_fd(void)
{
	char path[] = "/tmp/rav-model-XXXXXX";
	int fd = mkstemp(path);
	MCHECK(fd >= 0);
	unlink(path);
	return fd;
}

void op_msg_build(void)
{
	int r2 = (int)rav_rng_below(&rng, NROOTS);
	unsigned len = 1 + (unsigned)rav_rng_below(&rng, 60);
	OPDESC("message: build %u objects in a message heap, receive into r%d (old %u)", len, r2,
	       M.root_target[r2]);
	rav_msg *m = rav_msg_new();
	MCHECK(m != NULL);
	rav_heap *mh = rav_msg_heap(m);
	mtype t = random_type();
	rav_ref x;
	MOK(rav_new_root(mh, engine_type[t], rav_msg_root(m), &x));
	uint32_t first = m_new(t), id = first;
	init_obj(mh, x, id);
	for (unsigned i = 1; i < len; i++) {
		int f = field_of_kind(id, true);
		if (f < 0)
			break;
		t = random_type();
		MOK(rav_new_field(mh, engine_type[t], x, f, &x));
		uint32_t child = m_new(t);
		M.obj[id].f[f] = child;
		id = child;
		init_obj(mh, x, id);
	}
	/* Sometimes close a cycle back to the first object: a shared cell,
	 * which messages may carry. */
	int f = field_of_kind(id, true);
	if (f >= 0 && rav_rng_below(&rng, 3) == 0) {
		MOK(rav_store_ref(mh, x, f, rav_root_get(mh, rav_msg_root(m))));
		M.obj[id].f[f] = first;
		m_inc(first);
	}
	MOK(rav_heap_check(mh));
	if (rav_rng_below(&rng, 3) == 0) {
		/* Deliver through a file instead of the channel. */
		int fd = temp_fd();
		unsigned flags = rav_rng_below(&rng, 2) ? RAV_SER_COMPRESS : 0;
		MOK(rav_serialize_msg(m, fd, flags));
		rav_msg_free(m);
		MCHECK(lseek(fd, 0, SEEK_SET) == 0);
		MOK(rav_deserialize(h, fd, roots[r2]));
		close(fd);
		uint32_t old = M.root_target[r2];
		M.root_target[r2] = first;
		m_dec(old);
		verify(root_ref(r2), first);
		return;
	}
	MOK(rav_send(chan, m));
	receive_into(r2, first, rav_rng_below(&rng, 2));
}

void op_serialize(void)
{
	int r = (int)rav_rng_below(&rng, NROOTS), r2 = (int)rav_rng_below(&rng, NROOTS);
	bool shared;
	uint32_t n = m_closed_subtree(r, &shared);
	if (!n || r == r2 || shared)
		return;
	unsigned flags = rav_rng_below(&rng, 2) ? RAV_SER_COMPRESS : 0;
	bool use_pipe = n < 400 && rav_rng_below(&rng, 2);
	bool as_msg = rav_rng_below(&rng, 4) == 0;
	uint32_t id = M.root_target[r];
	OPDESC("serialize r%d (obj %u, %u objects, flags %u, %s, %s), drop it, deserialize into r%d (old %u)", r,
	       id, n, flags, use_pipe ? "pipe" : "file",
	       as_msg ? "as a message" : "subtree", r2, M.root_target[r2]);
	int fds[2];
	if (use_pipe) {
		MCHECK(pipe(fds) == 0);
		MCHECK(fcntl(fds[1], F_SETPIPE_SZ, 1 << 20) > 0);
	} else {
		fds[0] = fds[1] = temp_fd();
	}
	/* The copy replaces the original: ids stay unique in the heap. */
	if (as_msg) {
		rav_msg *m = rav_msg_new();
		MCHECK(m != NULL);
		MOK(rav_msg_adopt(m, h, roots[r]));
		MOK(rav_serialize_msg(m, fds[1], flags));
		rav_msg_free(m);
	} else {
		MOK(rav_serialize(h, roots[r], fds[1], flags));
		MOK(rav_root_clear(h, roots[r]));
	}
	if (use_pipe)
		close(fds[1]);
	else
		MCHECK(lseek(fds[0], 0, SEEK_SET) == 0);
	MOK(rav_deserialize(h, fds[0], roots[r2]));
	close(fds[0]);
	M.root_target[r] = 0;
	uint32_t old = M.root_target[r2];
	M.root_target[r2] = id;
	m_dec(old);
	verify(root_ref(r2), id);
}

void op_mode(void)
{
	bool deferred = rav_rng_below(&rng, 2);
	OPDESC("free mode %s", deferred ? "deferred" : "immediate");
	if (!deferred)
		rav_compact(h, 0);
	rav_set_free_mode(h, deferred ? RAV_FREE_DEFERRED : RAV_FREE_IMMEDIATE);
}

void op_compact(void)
{
	size_t steps = rav_rng_below(&rng, 64);
	OPDESC("compact %zu", steps);
	rav_stats s;
	rav_heap_stats(h, &s);
	size_t left = rav_compact(h, steps);
	/* Deferred work is the kill cascade then the moves; a cascade step can
	 * reveal more work (children), so only consistency is checked. */
	rav_heap_stats(h, &s);
	MCHECK(steps == 0 ? left == 0 : left == s.dead_cells + s.dying_cells);
}
