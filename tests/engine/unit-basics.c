/* unit-basics.c - test-engine-unit's cases for types, roots, fields and
 * scalars.
 */
#include "unit.h"

/* ---- types ---- */

void t_types(void)
{
	CHECK(T_NODE != T_PAIR && T_PAIR != T_DATA);
	CHECK_EQ(rav_type_register("test.node", RAV_DATA, RAV_REF), T_NODE);
	CHECK_EQ(rav_type_lookup("test.pair"), T_PAIR);
	CHECK_EQ(rav_type_lookup("no.such.type"), 0);
	CHECK(strcmp(rav_type_name(T_DATA), "test.data") == 0);
	CHECK_EQ(rav_type_field_kind(T_NODE, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(T_NODE, 1), RAV_REF);
	CHECK(rav_type_count() > T_DATA);
	CHECK(rav_type_name((rav_type)(RAV_TYPE_MAX - 1)) == NULL);
	/* Same name, other kinds: refused with a message. */
	CHECK_EQ(rav_type_register("test.node", RAV_REF, RAV_REF), 0);
	CHECK(strlen(rav_last_error()) > 0);
	CHECK_EQ(rav_type_register(NULL, RAV_DATA, RAV_DATA), 0);

	/* Named fields: kept, NULL where none; the old call leaves them unnamed. */
	CHECK(rav_type_field_name(T_NODE, 0) == NULL && rav_type_field_name(T_NODE, 1) == NULL);
	rav_type named = rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, "next");
	CHECK(named != 0);
	CHECK(strcmp(rav_type_field_name(named, 0), "value") == 0);
	CHECK(strcmp(rav_type_field_name(named, 1), "next") == 0);
	CHECK(rav_type_field_name(named, 2) == NULL && rav_type_field_name((rav_type)(RAV_TYPE_MAX - 1), 0) == NULL);
	/* Again: the same id, with the same names or none given (a
	 * deserialization knows only kinds); other names are refused. */
	CHECK_EQ(rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, "next"), named);
	CHECK_EQ(rav_type_register("test.named", RAV_DATA, RAV_REF), named);
	CHECK_EQ(rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, NULL), named);
	CHECK_EQ(rav_type_register_named("test.named", RAV_DATA, "value", RAV_REF, "tail"), 0);
	CHECK(strstr(rav_last_error(), "next") != NULL);
	/* A type registered without names takes them when first given. */
	rav_type later = rav_type_register("test.later", RAV_REF, RAV_REF);
	CHECK_EQ(rav_type_register_named("test.later", RAV_REF, "left", RAV_REF, "right"), later);
	CHECK(strcmp(rav_type_field_name(later, 1), "right") == 0);
	/* Bad names: empty, too long, control characters, spaces at the ends. */
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, "", RAV_DATA, NULL), 0);
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, "a name longer than thirty-one bytes", RAV_DATA, NULL), 0);
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, "new\nline", RAV_DATA, NULL), 0);
	CHECK_EQ(rav_type_register_named("test.bad", RAV_DATA, " left", RAV_DATA, NULL), 0);
	CHECK(strlen(rav_last_error()) > 0);
	CHECK_EQ(rav_type_lookup("test.bad"), 0);
	/* Type names follow the same rule: control characters (a tab, a
	 * newline, an escape, DEL), spaces at the ends, empty, too long are
	 * refused with the misuse error, and nothing is registered. */
	static const char *const bad_types[] = {"test\tbad", "test.bad\n", "\x1b[31mtest.bad", "test.bad\x7f",
	                                        " test.bad", "test.bad ", "",
	                                        "test.a-type-name-of-sixty-four-bytes-which-is-one-too-many-xxxxx"};
	CHECK_EQ(strlen(bad_types[7]), 64);
	for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
		CHECK_EQ(rav_type_register(bad_types[i], RAV_DATA, RAV_DATA), 0);
		CHECK(strstr(rav_last_error(), "control characters") != NULL);
		CHECK_EQ(rav_type_register_named(bad_types[i], RAV_DATA, "a", RAV_DATA, "b"), 0);
		CHECK_EQ(rav_type_lookup(bad_types[i]), 0);
	}
	/* Inner spaces and UTF-8 stay allowed, and 63 bytes fit. */
	CHECK(rav_type_register("test.with space", RAV_DATA, RAV_DATA) != 0);
	CHECK(rav_type_register("test.caf\xc3\xa9", RAV_DATA, RAV_DATA) != 0);
	CHECK(rav_type_register("test.a-type-name-of-sixty-three-bytes-which-is-just-enough-xxxx", RAV_DATA, RAV_DATA) != 0);
	CHECK_EQ(strlen("test.a-type-name-of-sixty-three-bytes-which-is-just-enough-xxxx"), 63);
	/* The built-in tree types name their fields. */
	CHECK(strcmp(rav_type_field_name(RAV_TYPE_VEC_NODE, 0), "left") == 0);
	CHECK(strcmp(rav_type_field_name(RAV_TYPE_VEC, 0), "length") == 0);

	/* Built-in tree types carry the field kinds vec.c relies on. */
	CHECK(rav_type_name(RAV_TYPE_VEC) != NULL && rav_type_name(RAV_TYPE_BYTES) != NULL);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC, 1), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_BYTES, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_BYTES, 1), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_NODE, 0), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_NODE, 1), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_LEAF, 0), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_LEAF, 1), RAV_DATA);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_RLEAF, 0), RAV_REF);
	CHECK_EQ(rav_type_field_kind(RAV_TYPE_VEC_RLEAF, 1), RAV_REF);
	CHECK(strcmp(rav_status_name(RAV_ENOMEM), "RAV_ENOMEM") == 0);
}

/* ---- roots, fields, scalars ---- */

void t_roots(void)
{
	rav_heap *h = rav_heap_self();
	CHECK(h != NULL);
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	CHECK(r != NULL);
	CHECK(!rav_root_is_set(h, r));
	CHECK(rav_ref_is_null(rav_root_get(h, r)));

	rav_ref a;
	CHECK_OK(rav_new_root(h, T_NODE, r, &a));
	CHECK(rav_root_is_set(h, r));
	CHECK(rav_root_get(h, r).cell == a.cell);
	CHECK_EQ(live(h), base + 1);

	/* A second root on the same cell: two referrers, one reference raviolo. */
	rav_root r2 = rav_root_new(h);
	CHECK_OK(rav_root_set(h, r2, a));
	CHECK_EQ(stats(h).ref_cells, 1);
	CHECK(rav_root_get(h, r2).cell == rav_root_get(h, r).cell);
	CHECK_OK(rav_root_clear(h, r));
	CHECK(!rav_root_is_set(h, r));
	CHECK_EQ(stats(h).ref_cells, 0);
	CHECK_EQ(live(h), base + 1);
	CHECK_HEAP(h);

	/* Replacing the only reference frees the old target. */
	rav_ref b;
	CHECK_OK(rav_new_root(h, T_DATA, r2, &b));
	CHECK_EQ(live(h), base + 1);
	CHECK_EQ(rav_type_of(h, rav_root_get(h, r2)), T_DATA);
	CHECK_OK(rav_root_set(h, r2, RAV_NULL_REF));
	CHECK_EQ(live(h), base);
	rav_root_free(h, r);
	rav_root_free(h, r2);
	CHECK_HEAP(h);
}

void t_fields(void)
{
	rav_heap *h = rav_heap_self();
	uint64_t base = live(h);
	rav_root r = rav_root_new(h);
	rav_ref a, b;
	CHECK_OK(rav_new_root(h, T_NODE, r, &a));
	CHECK_EQ(rav_type_of(h, a), T_NODE);
	CHECK_EQ(rav_load(h, a, 0), 0);
	CHECK(rav_ref_is_null(rav_load_ref(h, a, 1)));
	rav_store(h, a, 0, 0xdeadbeef);
	CHECK_EQ(rav_load(h, a, 0), 0xdeadbeef);
	rav_set_scalar(h, a, RAV_SCALAR_MAX);
	CHECK_EQ(rav_scalar(h, a), RAV_SCALAR_MAX);
	CHECK_EQ(rav_type_of(h, a), T_NODE); /* the scalar leaves the type alone */
	rav_set_scalar(h, a, 12345);
	CHECK_EQ(rav_scalar(h, a), 12345);

	CHECK_OK(rav_new_field(h, T_DATA, a, 1, &b));
	rav_store(h, b, 0, 1);
	rav_store(h, b, 1, UINTPTR_MAX);
	CHECK(rav_load_ref(h, a, 1).cell == b.cell);
	CHECK_EQ(rav_load(h, rav_load_ref(h, a, 1), 1), UINTPTR_MAX);
	CHECK_EQ(live(h), base + 2);

#if RAV_DEBUG
	/* Wrong kinds and indexes are misuse, caught by debug builds only
	 * (without the checks they are undefined behaviour, as documented). */
	misuse_log log = { 0, RAV_OK };
	rav_set_error_handler(log_misuse, &log);
	CHECK(rav_new_field(h, T_DATA, a, 0, NULL) != RAV_OK);
	CHECK(rav_new_field(h, T_DATA, a, 2, NULL) != RAV_OK);
	rav_set_error_handler(NULL, NULL);
	CHECK_EQ(log.count, 2);
	CHECK(log.last == RAV_ETYPE || log.last == RAV_EINVAL);
#endif
	CHECK(rav_new_root(h, (rav_type)(RAV_TYPE_MAX - 1), r, NULL) != RAV_OK);
	CHECK_EQ(live(h), base + 2);
	CHECK_HEAP(h);

	/* Clearing the field frees the child. */
	a = rav_root_get(h, r);
	CHECK_OK(rav_clear_ref(h, a, 1));
	CHECK_EQ(live(h), base + 1);
	a = rav_root_get(h, r);
	CHECK_EQ(rav_load(h, a, 0), 0xdeadbeef);
	CHECK_EQ(rav_scalar(h, a), 12345);
	rav_root_free(h, r);
	CHECK_EQ(live(h), base);
	CHECK_HEAP(h);
}
