/* types.c - the process-wide type registry.
 *
 * Types are registered rarely and read on every reference operation, so the
 * table is a fixed array read without locks; registration takes a mutex and
 * publishes the new count with a release store. */
#include <stdio.h>

#include "rav-private.h"

typedef struct type_entry {
	char name[64];
	rav_field_kind kind[2];
} type_entry;

uint8_t rav__refmask[RAV_TYPE_MAX];
uint8_t rav__allocatable[RAV_TYPE_MAX];
static type_entry types[RAV_TYPE_MAX];
static atomic_uint ntypes;
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t types_once = PTHREAD_ONCE_INIT;

static void put(rav_type id, const char *name, rav_field_kind f0, rav_field_kind f1)
{
	snprintf(types[id].name, sizeof types[id].name, "%s", name);
	types[id].kind[0] = f0;
	types[id].kind[1] = f1;
	rav__refmask[id] = (uint8_t)((f0 == RAV_REF ? 1 : 0) | (f1 == RAV_REF ? 2 : 0));
	bool allocatable = id >= RAV_TYPE_FIRST_USER || id == RAV_TYPE_VEC || id == RAV_TYPE_VEC_NODE ||
			   id == RAV_TYPE_VEC_LEAF || id == RAV_TYPE_VEC_RLEAF || id == RAV_TYPE_BYTES;
	/* Read without a lock by every allocation (a relaxed load is a plain
	 * load): a program uses an id only after its registration returned it. */
	__atomic_store_n(&rav__allocatable[id], (uint8_t)allocatable, __ATOMIC_RELAXED);
}

static void init_builtin(void)
{
	put(RAV_TYPE_EMPTY, "empty", RAV_DATA, RAV_DATA);
	put(RAV_TYPE_HEADER, "page-header", RAV_DATA, RAV_DATA);
	put(RAV_TYPE_REF, "reference", RAV_REF, RAV_DATA);
	put(RAV_TYPE_ROOT, "roots", RAV_DATA, RAV_DATA);
	put(RAV_TYPE_DEAD, "dead", RAV_DATA, RAV_DATA);
	put(RAV_TYPE_VEC, "vector", RAV_DATA, RAV_REF);
	put(RAV_TYPE_VEC_NODE, "vector-node", RAV_REF, RAV_REF);
	put(RAV_TYPE_VEC_LEAF, "vector-leaf", RAV_DATA, RAV_DATA);
	put(RAV_TYPE_VEC_RLEAF, "vector-ref-leaf", RAV_REF, RAV_REF);
	put(RAV_TYPE_BYTES, "bytes", RAV_DATA, RAV_REF);
	for (unsigned i = RAV_TYPE_BYTES + 1; i < RAV_TYPE_FIRST_USER; i++)
		put((rav_type)i, "reserved", RAV_DATA, RAV_DATA);
	atomic_store_explicit(&ntypes, RAV_TYPE_FIRST_USER, memory_order_release);
}

void rav__types_init(void)
{
	pthread_once(&types_once, init_builtin);
}

static void record_type(rav_type id)
{
	size_t len = strlen(types[id].name);
	rav__emit_text(RAV_EV_TYPE_DEF, id, rav__refmask[id], len, types[id].name, len);
}

void rav__types_record_all(void)
{
	unsigned n = rav_type_count();
	for (unsigned i = 0; i < n; i++)
		record_type((rav_type)i);
}

rav_type rav_type_register(const char *name, rav_field_kind f0, rav_field_kind f1)
{
	RAV_SITE_ENTER();
	rav__types_init();
	if (!name || !*name || strlen(name) >= sizeof types[0].name) {
		rav__fail(RAV_EINVAL, "rav_type_register: type name must be 1 to %zu bytes",
			  sizeof types[0].name - 1);
		return 0;
	}
	if ((f0 != RAV_DATA && f0 != RAV_REF) || (f1 != RAV_DATA && f1 != RAV_REF)) {
		rav__fail(RAV_EINVAL, "rav_type_register(\"%s\"): field kinds must be RAV_DATA or RAV_REF", name);
		return 0;
	}
	pthread_mutex_lock(&types_lock);
	unsigned n = atomic_load_explicit(&ntypes, memory_order_relaxed);
	for (unsigned i = RAV_TYPE_FIRST_USER; i < n; i++) {
		if (strcmp(types[i].name, name) == 0) {
			pthread_mutex_unlock(&types_lock);
			if (types[i].kind[0] != f0 || types[i].kind[1] != f1) {
				rav__fail(RAV_ETYPE, "rav_type_register(\"%s\"): already registered with other field kinds",
					  name);
				return 0;
			}
			return (rav_type)i;
		}
	}
	if (n >= RAV_TYPE_MAX) {
		pthread_mutex_unlock(&types_lock);
		rav__fail(RAV_ENOMEM, "rav_type_register(\"%s\"): registry full (%d types)", name, RAV_TYPE_MAX);
		return 0;
	}
	put((rav_type)n, name, f0, f1);
	atomic_store_explicit(&ntypes, n + 1, memory_order_release);
	pthread_mutex_unlock(&types_lock);
	/* After the type is in the table: a session's types piece, taken under
	 * the lock, has it, or this thread records it (joining the session
	 * first if it was not recording). */
	RAV_SAFEPOINT(NULL);
	record_type((rav_type)n);
	return (rav_type)n;
}

void rav__types_snapshot(void (*fn)(uint16_t id, unsigned refmask, const char *name, void *user), uint64_t *seq,
			 uint64_t *tsc, void *user)
{
	rav__types_init();
	pthread_mutex_lock(&types_lock);
	*seq = rav_record_stamp(tsc);
	unsigned n = atomic_load_explicit(&ntypes, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++)
		fn((uint16_t)i, rav__refmask[i], types[i].name, user);
	pthread_mutex_unlock(&types_lock);
}

unsigned rav_type_count(void)
{
	unsigned n = atomic_load_explicit(&ntypes, memory_order_acquire);
	if (RAV_UNLIKELY(n == 0)) {
		rav__types_init();
		n = atomic_load_explicit(&ntypes, memory_order_acquire);
	}
	return n;
}

const char *rav_type_name(rav_type t)
{
	if (t >= rav_type_count())
		return NULL;
	return types[t].name;
}

rav_field_kind rav_type_field_kind(rav_type t, int field)
{
	if (t >= rav_type_count() || field < 0 || field > 1)
		return RAV_DATA;
	return types[t].kind[field];
}

rav_type rav_type_lookup(const char *name)
{
	if (!name)
		return 0;
	unsigned n = rav_type_count();
	for (unsigned i = 1; i < n; i++)
		if (strcmp(types[i].name, name) == 0)
			return (rav_type)i;
	return 0;
}
