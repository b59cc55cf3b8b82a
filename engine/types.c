/* types.c - the process-wide type registry.
 *
 * Types are registered rarely and read on every reference operation, so the
 * table is a fixed array read without locks; registration takes a mutex and
 * publishes the new count with a release store.
 *
 * A type's two fields may have names (`left`, `right`) for tools that show
 * cells; they ride in the type's TYPE_DEF text after the type name, each
 * after a NUL byte, so a reader that knows only the name (format 1.0-1.2)
 * reads the text up to the first NUL and sees the name alone. */
#include <stdio.h>

#include "rav-private.h"

#define FIELD_NAME_MAX 32 /* bytes with the NUL */

typedef struct type_entry {
	char name[64];
	rav_field_kind kind[2];
	char field_name[2][FIELD_NAME_MAX]; /* "" = unnamed */
} type_entry;

uint8_t rav__refmask[RAV_TYPE_MAX];
uint8_t rav__allocatable[RAV_TYPE_MAX];
/* The allocation gate of ravioli.h's inline fast paths: rav__allocatable
 * over every possible rav_type while nothing records, all zeros while
 * something does.  64 KiB each so the inline test needs no bound; beyond
 * RAV_TYPE_MAX they are never written, and the shut table never is (the
 * kernel's zero page backs what is read of them).  The pointer is read by
 * every inline allocation of every thread and written only when recording
 * starts or stops: it starts a cache line, among this file's read-mostly
 * data. */
_Static_assert(sizeof(rav_type) == 2, "the gate has one byte per possible rav_type");
static uint8_t gate_open[1u << 16];
static const uint8_t gate_shut[1u << 16];
__attribute__((aligned(64))) const uint8_t *rav__alloc_gate = gate_open;
/* The gate of ravioli.h's inline traced allocation: rav__allocatable while
 * something records and nothing else asks for the library's path
 * (rav__hooks_flag 0: no reads recorded, no live session), shut otherwise. */
const uint8_t *rav__alloc_gate_rec = gate_shut;
static type_entry types[RAV_TYPE_MAX];
static atomic_uint ntypes;
static pthread_mutex_t types_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t types_once = PTHREAD_ONCE_INIT;

static void put_names(rav_type id, const char *f0_name, const char *f1_name)
{
	snprintf(types[id].field_name[0], FIELD_NAME_MAX, "%s", f0_name ? f0_name : "");
	snprintf(types[id].field_name[1], FIELD_NAME_MAX, "%s", f1_name ? f1_name : "");
}

static void put(rav_type id, const char *name, rav_field_kind f0, const char *f0_name, rav_field_kind f1,
                const char *f1_name)
{
	snprintf(types[id].name, sizeof types[id].name, "%s", name);
	types[id].kind[0] = f0;
	types[id].kind[1] = f1;
	put_names(id, f0_name, f1_name);
	rav__refmask[id] = (uint8_t)((f0 == RAV_REF ? 1 : 0) | (f1 == RAV_REF ? 2 : 0));
	bool allocatable = id >= RAV_TYPE_FIRST_USER || id == RAV_TYPE_VEC || id == RAV_TYPE_VEC_NODE ||
			   id == RAV_TYPE_VEC_LEAF || id == RAV_TYPE_VEC_RLEAF || id == RAV_TYPE_BYTES;
	/* Read without a lock by every allocation (a relaxed load is a plain
	 * load): a program uses an id only after its registration returned it. */
	__atomic_store_n(&rav__allocatable[id], (uint8_t)allocatable, __ATOMIC_RELAXED);
	__atomic_store_n(&gate_open[id], (uint8_t)allocatable, __ATOMIC_RELAXED);
}

/* Called after every change of rav__tracing_flag or rav__hooks_flag
 * (record.c, record-live.c).
 * Two threads switching recording at once (a recorder installed while a
 * session ends) must not leave the gate open while the flag says recording:
 * under the lock, the last call sees the last flag written before it (each
 * caller wrote the flag before it took the lock).  A thread that reads the
 * old pointer makes one more allocation the way it would have a moment
 * earlier, as with the flag itself (see rav__tracing in rav-private.h). */
void rav__alloc_gate_sync(void)
{
	static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&gate_lock);
	bool tracing = __atomic_load_n(&rav__tracing_flag, __ATOMIC_ACQUIRE) != 0;
	bool hooks = __atomic_load_n(&rav__hooks_flag, __ATOMIC_ACQUIRE) != 0;
	__atomic_store_n(&rav__alloc_gate, tracing ? gate_shut : gate_open, __ATOMIC_RELEASE);
	__atomic_store_n(&rav__alloc_gate_rec, tracing && !hooks ? gate_open : gate_shut, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gate_lock);
}

static void init_builtin(void)
{
	/* The built-in layouts of rav-record.h, with the names the vector and
	 * byte-string code gives their fields. */
	put(RAV_TYPE_EMPTY, "empty", RAV_DATA, NULL, RAV_DATA, NULL);
	put(RAV_TYPE_HEADER, "page-header", RAV_DATA, NULL, RAV_DATA, NULL);
	put(RAV_TYPE_REF, "reference", RAV_REF, "target", RAV_DATA, NULL);
	put(RAV_TYPE_ROOT, "roots", RAV_DATA, NULL, RAV_DATA, NULL);
	put(RAV_TYPE_DEAD, "dead", RAV_DATA, NULL, RAV_DATA, NULL);
	put(RAV_TYPE_VEC, "vector", RAV_DATA, "length", RAV_REF, "tree");
	put(RAV_TYPE_VEC_NODE, "vector-node", RAV_REF, "left", RAV_REF, "right");
	put(RAV_TYPE_VEC_LEAF, "vector-leaf", RAV_DATA, "item0", RAV_DATA, "item1");
	put(RAV_TYPE_VEC_RLEAF, "vector-ref-leaf", RAV_REF, "item0", RAV_REF, "item1");
	put(RAV_TYPE_BYTES, "bytes", RAV_DATA, "length", RAV_REF, "tree");
	for (unsigned i = RAV_TYPE_BYTES + 1; i < RAV_TYPE_FIRST_USER; i++)
		put((rav_type)i, "reserved", RAV_DATA, NULL, RAV_DATA, NULL);
	atomic_store_explicit(&ntypes, RAV_TYPE_FIRST_USER, memory_order_release);
}

void rav__types_init(void)
{
	pthread_once(&types_once, init_builtin);
}

/* A type's text, in TYPE_DEF events and live sessions' types pieces: the
 * name, then, when a field is named, a NUL, field 0's name, a NUL and field
 * 1's name (an unnamed one empty).  Returns its length (no final NUL). */
#define TYPE_TEXT_MAX (sizeof(((type_entry *)0)->name) + 2 * FIELD_NAME_MAX)
static size_t type_text(const type_entry *t, char text[TYPE_TEXT_MAX])
{
	size_t len = strlen(t->name);
	memcpy(text, t->name, len);
	if (t->field_name[0][0] || t->field_name[1][0]) {
		for (int f = 0; f < 2; f++) {
			size_t fl = strlen(t->field_name[f]);
			text[len++] = 0;
			memcpy(text + len, t->field_name[f], fl);
			len += fl;
		}
	}
	return len;
}

static void record_type(rav_type id)
{
	char text[TYPE_TEXT_MAX];
	size_t len = type_text(&types[id], text);
	rav__emit_text(RAV_EV_TYPE_DEF, id, rav__refmask[id], len, text, len);
}

void rav__types_record_all(void)
{
	unsigned n = rav_type_count();
	for (unsigned i = 0; i < n; i++)
		record_type((rav_type)i);
}

/* A type's or a field's name: 1 to max - 1 bytes of printable text (no
 * control characters: tabs, newlines, escapes) without spaces at its ends,
 * so every tool can show it on one line.  Type and field names follow the
 * same rule. */
static bool name_ok(const char *n, size_t max)
{
	size_t len = strlen(n);
	if (len == 0 || len >= max || n[0] == ' ' || n[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)n[i] < 0x20 || n[i] == 0x7f)
			return false;
	return true;
}

bool rav__type_name_ok(const char *name)
{
	return name && name_ok(name, sizeof types[0].name);
}

/* A field name: NULL (none given) or as name_ok. */
static bool field_name_ok(const char *n)
{
	return !n || name_ok(n, FIELD_NAME_MAX);
}

/* Given names (not NULL) against the names a registered type has: equal, or
 * the type has none yet. */
static bool names_fit(const type_entry *t, const char *f0_name, const char *f1_name)
{
	const char *given[2] = {f0_name, f1_name};
	bool unnamed = !t->field_name[0][0] && !t->field_name[1][0];
	for (int f = 0; f < 2; f++)
		if (given[f] && !unnamed && strcmp(given[f], t->field_name[f]) != 0)
			return false;
	return true;
}

/* Both public entry points take their call site themselves and then come
 * here: one calling the other would record the engine's own call as the
 * site wherever the compiler does not make it a tail call (-O0, sanitizer
 * builds). */
static rav_type register_named(const char *name, rav_field_kind f0, const char *f0_name, rav_field_kind f1,
                               const char *f1_name)
{
	rav__types_init();
	if (!rav__type_name_ok(name)) {
		rav__fail(RAV_EINVAL,
		          "rav_type_register: a type name must be 1 to %zu bytes of printable text without "
		          "control characters or spaces at its ends",
		          sizeof types[0].name - 1);
		return 0;
	}
	if ((f0 != RAV_DATA && f0 != RAV_REF) || (f1 != RAV_DATA && f1 != RAV_REF)) {
		rav__fail(RAV_EINVAL, "rav_type_register(\"%s\"): field kinds must be RAV_DATA or RAV_REF",
		          name);
		return 0;
	}
	if (!field_name_ok(f0_name) || !field_name_ok(f1_name)) {
		rav__fail(
		    RAV_EINVAL,
		    "rav_type_register_named(\"%s\"): a field name must be 1 to %d bytes of printable text "
		    "without control characters or spaces at its ends",
		    name, FIELD_NAME_MAX - 1);
		return 0;
	}
	pthread_mutex_lock(&types_lock);
	unsigned n = atomic_load_explicit(&ntypes, memory_order_relaxed);
	for (unsigned i = RAV_TYPE_FIRST_USER; i < n; i++) {
		type_entry *t = &types[i];
		if (strcmp(t->name, name) != 0)
			continue;
		if (t->kind[0] != f0 || t->kind[1] != f1) {
			pthread_mutex_unlock(&types_lock);
			rav__fail(RAV_ETYPE,
			          "rav_type_register(\"%s\"): already registered with other field kinds",
			          name);
			return 0;
		}
		if (!names_fit(t, f0_name, f1_name)) {
			pthread_mutex_unlock(&types_lock);
			rav__fail(RAV_ETYPE,
			          "rav_type_register_named(\"%s\"): already registered with fields \"%s\" "
			          "and \"%s\"",
			          name, t->field_name[0], t->field_name[1]);
			return 0;
		}
		/* Names given now for a type registered without them (by a
		 * deserialization, say): take them, and tell the trace again. */
		bool adopt = (f0_name || f1_name) && !t->field_name[0][0] && !t->field_name[1][0];
		if (adopt)
			put_names((rav_type)i, f0_name, f1_name);
		pthread_mutex_unlock(&types_lock);
		if (adopt)
			record_type((rav_type)i);
		return (rav_type)i;
	}
	if (n >= RAV_TYPE_MAX) {
		pthread_mutex_unlock(&types_lock);
		rav__fail(RAV_ENOMEM, "rav_type_register(\"%s\"): registry full (%d types)", name,
		          RAV_TYPE_MAX);
		return 0;
	}
	put((rav_type)n, name, f0, f0_name, f1, f1_name);
	atomic_store_explicit(&ntypes, n + 1, memory_order_release);
	pthread_mutex_unlock(&types_lock);
	/* After the type is in the table: a session's types piece, taken under
	 * the lock, has it, or this thread records it (joining the session
	 * first if it was not recording). */
	RAV_SAFEPOINT(NULL);
	record_type((rav_type)n);
	return (rav_type)n;
}

rav_type rav_type_register_named(const char *name, rav_field_kind f0, const char *f0_name, rav_field_kind f1,
                                 const char *f1_name)
{
	RAV_SITE_ENTER();
	return register_named(name, f0, f0_name, f1, f1_name);
}

rav_type rav_type_register(const char *name, rav_field_kind f0, rav_field_kind f1)
{
	RAV_SITE_ENTER();
	return register_named(name, f0, NULL, f1, NULL);
}

void rav__types_snapshot(void (*fn)(uint16_t id, unsigned refmask, const char *text, size_t len, void *user),
                         uint64_t *seq, uint64_t *tsc, void *user)
{
	rav__types_init();
	pthread_mutex_lock(&types_lock);
	*seq = rav_record_stamp(tsc);
	unsigned n = atomic_load_explicit(&ntypes, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		char text[TYPE_TEXT_MAX];
		size_t len = type_text(&types[i], text);
		fn((uint16_t)i, rav__refmask[i], text, len, user);
	}
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

const char *rav_type_field_name(rav_type t, int field)
{
	if (t >= rav_type_count() || field < 0 || field > 1 || !types[t].field_name[field][0])
		return NULL;
	return types[t].field_name[field];
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
