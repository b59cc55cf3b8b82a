/* unit-vectors.c - test-engine-unit's cases for data and reference vectors,
 * byte strings.
 */
#include <signal.h>
#include <unistd.h>

#include "unit.h"

/* ---- vectors and byte strings ---- */

void t_vec_data(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, r, false));
	rav_ref v = rav_root_get(h, r);
	CHECK_EQ(rav_vec_len(h, v), 0);
	enum { N = 10000 };
	for (size_t i = 0; i < N; i++)
		CHECK_OK(rav_vec_push(h, v, i * 7 + 1)); /* push keeps borrows valid */
	CHECK_EQ(rav_vec_len(h, v), N);
	for (size_t i = 0; i < N; i++) {
		uintptr_t x;
		CHECK_OK(rav_vec_get(h, v, i, &x));
		CHECK_EQ(x, i * 7 + 1);
	}
	for (size_t i = 0; i < N; i += 3)
		CHECK_OK(rav_vec_set(h, v, i, ~(uintptr_t)i));
	CHECK_HEAP(h);
	uintptr_t x;
	CHECK_STATUS(rav_vec_get(h, v, N, &x), RAV_ERANGE);
	CHECK_STATUS(rav_vec_set(h, v, N + 5, 1), RAV_ERANGE);
	CHECK_STATUS(rav_vec_push_ref(h, v, v), RAV_ETYPE);
	CHECK(rav_ref_is_null(rav_vec_get_ref(h, v, 0)));
	/* Pop everything back: every tree cell is freed along the way. */
	for (size_t i = N; i-- > 0;) {
		CHECK_OK(rav_vec_pop(h, rav_root_get(h, r), &x));
		CHECK_EQ(x, i % 3 == 0 ? ~(uintptr_t)i : i * 7 + 1);
		if (i % 1000 == 0)
			CHECK_HEAP(h);
	}
	CHECK_EQ(live(h), base + 1);
	v = rav_root_get(h, r);
	CHECK_STATUS(rav_vec_pop(h, v, &x), RAV_ERANGE);

	/* Random pushes and pops against an array. */
	rav_rng rng = { 7 };
	uintptr_t *model = malloc(sizeof(uintptr_t) * 4096);
	size_t len = 0;
	for (int op = 0; op < 20000; op++) {
		v = rav_root_get(h, r);
		unsigned k = (unsigned)rav_rng_below(&rng, 10);
		if (k < 5 && len < 4096) {
			model[len] = rav_rng_next(&rng);
			CHECK_OK(rav_vec_push(h, v, model[len]));
			len++;
		} else if (k < 8 && len > 0) {
			CHECK_OK(rav_vec_pop(h, v, &x));
			CHECK_EQ(x, model[--len]);
		} else if (len > 0) {
			size_t i = rav_rng_below(&rng, len);
			CHECK_OK(rav_vec_get(h, v, i, &x));
			CHECK_EQ(x, model[i]);
			model[i] ^= 0x5555;
			CHECK_OK(rav_vec_set(h, v, i, model[i]));
		}
		if (op % 2000 == 0)
			CHECK_HEAP(h);
	}
	v = rav_root_get(h, r);
	CHECK_EQ(rav_vec_len(h, v), len);
	for (size_t i = 0; i < len; i++) {
		CHECK_OK(rav_vec_get(h, v, i, &x));
		CHECK_EQ(x, model[i]);
	}
	free(model);
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);

	/* A vector made in a field is a data vector. */
	rav_root p = rav_root_new(h);
	rav_ref holder, fv;
	CHECK_OK(rav_new_root(h, T_NODE, p, &holder));
	CHECK_OK(rav_new_field(h, RAV_TYPE_VEC, holder, 1, &fv));
	CHECK_OK(rav_vec_push(h, fv, 3));
	CHECK_OK(rav_vec_get(h, rav_load_ref(h, rav_root_get(h, p), 1), 0, &x));
	CHECK_EQ(x, 3);
	CHECK_STATUS(rav_vec_push(h, holder, 1), RAV_ETYPE);
	rav_root_free(h, p);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

void t_vec_refs(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	enum { T = 8, N = 3000 };
	rav_root targets[T];
	for (int t = 0; t < T; t++) {
		rav_ref x;
		targets[t] = rav_root_new(h);
		CHECK_OK(rav_new_root(h, T_DATA, targets[t], &x));
		rav_store(h, x, 0, (uintptr_t)t);
	}
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_vec_new_root(h, r, true));
	int which[N];
	for (int i = 0; i < N; i++) {
		which[i] = i % T;
		CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, r), rav_root_get(h, targets[which[i]])));
	}
	CHECK_OK(rav_vec_push_ref(h, rav_root_get(h, r), RAV_NULL_REF)); /* a null element */
	rav_ref v = rav_root_get(h, r);
	CHECK_EQ(rav_vec_len(h, v), N + 1);
	CHECK(rav_ref_is_null(rav_vec_get_ref(h, v, N)));
	for (int t = 0; t < T; t++)
		CHECK_EQ(referrers(h, rav_root_get(h, targets[t])), N / T + 1);
	uintptr_t x;
	CHECK_STATUS(rav_vec_get(h, v, 0, &x), RAV_ETYPE);
	CHECK_STATUS(rav_vec_push(h, v, 1), RAV_ETYPE);
	CHECK_HEAP(h);
	/* Retarget every fifth element (moves cells). */
	for (int i = 0; i < N; i += 5) {
		which[i] = (which[i] + 1) % T;
		CHECK_OK(rav_vec_set_ref(h, rav_root_get(h, r), (size_t)i, rav_root_get(h, targets[which[i]])));
	}
	CHECK_HEAP(h);
	v = rav_root_get(h, r);
	for (int i = 0; i < N; i++)
		CHECK_EQ(rav_load(h, rav_vec_get_ref(h, v, (size_t)i), 0), which[i]);
	/* The vector alone keeps targets alive. */
	for (int t = 0; t < T; t++)
		CHECK_OK(rav_root_clear(h, targets[t]));
	v = rav_root_get(h, r);
	for (int i = 0; i < N; i += 7)
		CHECK_EQ(rav_load(h, rav_vec_get_ref(h, v, (size_t)i), 0), which[i]);
	CHECK_OK(rav_vec_set_ref(h, v, 1, RAV_NULL_REF));
	CHECK_OK(rav_vec_pop(h, rav_root_get(h, r), NULL));
	for (int i = N; i-- > 1;) {
		CHECK_OK(rav_vec_pop(h, rav_root_get(h, r), &x));
		if (i % 500 == 0)
			CHECK_HEAP(h);
	}
	/* One element left (index 0): header, one leaf and its target remain. */
	CHECK_EQ(live(h), base + 3);
	rav_root_free(h, r);
	for (int t = 0; t < T; t++)
		rav_root_free(h, targets[t]);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}

void t_bytes(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	enum { N = 10000 };
	unsigned char *data = malloc(N), *back = malloc(N + 16);
	rav_rng rng = { 99 };
	for (size_t i = 0; i < N; i++)
		data[i] = (unsigned char)rav_rng_next(&rng);
	rav_root r = rav_root_new(h);
	CHECK_OK(rav_bytes_new_root(h, r, data, 3));
	rav_ref b = rav_root_get(h, r);
	size_t len = 3;
	while (len < N) {
		size_t chunk = rav_rng_below(&rng, 38);
		if (chunk > N - len)
			chunk = N - len;
		CHECK_OK(rav_bytes_append(h, b, data + len, chunk));
		len += chunk;
		CHECK_EQ(rav_bytes_len(h, b), len);
	}
	CHECK_EQ(rav_bytes_read(h, b, 0, back, N + 16), N);
	CHECK(memcmp(back, data, N) == 0);
	for (int k = 0; k < 2000; k++) {
		size_t off = rav_rng_below(&rng, N), n = rav_rng_below(&rng, 50);
		size_t want = n < N - off ? n : N - off;
		CHECK_EQ(rav_bytes_read(h, b, off, back, n), want);
		CHECK(memcmp(back, data + off, want) == 0);
		CHECK_EQ(rav_bytes_at(h, b, off), data[off]);
	}
	CHECK_EQ(rav_bytes_at(h, b, N), -1);
	CHECK_EQ(rav_bytes_read(h, b, N, back, 10), 0);
	CHECK_STATUS(rav_bytes_append(h, b, NULL, 5), RAV_EINVAL);
	CHECK_OK(rav_bytes_append(h, b, NULL, 0));
	CHECK_STATUS(rav_vec_push(h, b, 1), RAV_ETYPE);
	/* 16 bytes per leaf, so about N/16 leaves plus the tree above them. */
	uint64_t cells = live(h) - base;
	printf("# %d bytes in %" PRIu64 " ravioli\n", N, cells);
	CHECK(cells >= N / 16 && cells <= N / 16 * 2 + 64);
	CHECK_HEAP(h);
	/* Empty string. */
	rav_root e = rav_root_new(h);
	CHECK_OK(rav_bytes_new_root(h, e, NULL, 0));
	CHECK_EQ(rav_bytes_len(h, rav_root_get(h, e)), 0);
	CHECK_EQ(rav_bytes_at(h, rav_root_get(h, e), 0), -1);
	rav_root_free(h, e);
	rav_root_free(h, r);
	free(data);
	free(back);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}
