/* tables.c - the thread, type and mark tables, filled from indexed events.
 *
 * Threads: a heap gets its entry when an event names it (HEAP_NEW,
 * THREAD_NAME); a recording thread no event names (heap 0: what the
 * process recorded before any thread had a heap) gets one at the end of the
 * delivery that saw its events.  Each entry's first and last event cover
 * the events the thread recorded and, for message heaps, the events that
 * built, sent and received them.  Entries keep the order in which they were
 * created, which is the order the CLI prints and the contention model
 * numbers threads by.
 *
 * Types: a type id has 16 bits (the low bits of a type word, FORMAT.md
 * 5.4); a definition of a larger id names no type (replay reports it as an
 * inconsistency) and stays out of the table.  A type defined again keeps
 * its place and takes the new name and fields.
 *
 * Every lookup made per event or per switch between threads is a hash
 * probe, and every table is charged to the trace's memory budget as it
 * grows (budget.h).  Names are cut to the public structs' 64 bytes at a
 * character boundary.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "format.h"
#include "rav-record.h"
#include "ravtrace.h"
#include "tables.h"

typedef struct type_entry {
	rav_trace_type t;
	const char *name;          /* the interned text, not cut to the struct's 64 bytes */
	const char *field_name[2]; /* into the same text (format 1.4); NULL: unnamed */
	char *own;                 /* a snapshot's name (not NUL-terminated in the trace): a copy */
	size_t own_size;           /* bytes of `own` charged to the budget (field names included) */
} type_entry;

typedef struct extent {
	uint32_t id;
	uint64_t first, last;
} extent;

/* Open addressing from a 32-bit key to a value (an index); slots with
 * val 0 are empty, so values are stored + 1. */
typedef struct idslot {
	uint32_t key, val;
} idslot;

typedef struct idmap {
	idslot *slot;
	size_t cap, n;
} idmap;

struct ravt_tables {
	ravt_sink sink;
	ravt_budget *budget;
	pthread_mutex_t lock;
	rav_trace_thread *threads;
	unsigned nthreads;
	size_t cap_threads;
	idmap tmap; /* heap id -> thread index */
	type_entry *types;
	unsigned ntypes;
	size_t cap_types;
	idmap tymap; /* type id -> type index */
	rav_trace_mark *marks;
	unsigned nmarks;
	size_t cap_marks;
	/* recording threads seen without an entry yet */
	extent *orphans;
	size_t norphans, cap_orphans;
	idmap omap; /* recording thread id -> orphan index */
	bool any;
	uint64_t last_time_ns;
};

static bool grow(ravt_tables *tb, void **arr, size_t *cap, size_t elem, size_t need, const char *what)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	if (!ravt_budget_charge(tb->budget, (n - *cap) * elem, what))
		return false;
	void *p = realloc(*arr, n * elem);
	if (!p) {
		ravt_budget_release(tb->budget, (n - *cap) * elem);
		return false;
	}
	*arr = p;
	*cap = n;
	return true;
}

/* The value stored for key, or -1. */
static long idmap_get(const idmap *m, uint32_t key)
{
	if (!m->cap)
		return -1;
	size_t mask = m->cap - 1;
	for (size_t i = ravt_hash32(key) & mask; m->slot[i].val; i = (i + 1) & mask)
		if (m->slot[i].key == key)
			return (long)m->slot[i].val - 1;
	return -1;
}

static void idmap_insert(idslot *slot, size_t cap, uint32_t key, uint32_t val)
{
	size_t i = ravt_hash32(key) & (cap - 1);
	while (slot[i].val)
		i = (i + 1) & (cap - 1);
	slot[i] = (idslot){key, val};
}

/* Add key -> val (key not present); false when out of memory or budget. */
static bool idmap_put(ravt_tables *tb, idmap *m, uint32_t key, uint32_t val, const char *what)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		if (!ravt_budget_charge(tb->budget, (cap - m->cap) * sizeof(idslot), what))
			return false;
		idslot *s = calloc(cap, sizeof *s);
		if (!s) {
			ravt_budget_release(tb->budget, (cap - m->cap) * sizeof(idslot));
			return false;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->slot[i].val)
				idmap_insert(s, cap, m->slot[i].key, m->slot[i].val);
		free(m->slot);
		m->slot = s;
		m->cap = cap;
	}
	idmap_insert(m->slot, m->cap, key, val + 1);
	m->n++;
	return true;
}

static void idmap_clear(idmap *m)
{
	if (m->n)
		memset(m->slot, 0, m->cap * sizeof *m->slot);
	m->n = 0;
}

/* A C string cut to fit `len` bytes without splitting a character. */
static void copy_name(char *dst, size_t len, const char *src)
{
	size_t n = ravt_utf8_cut(src, strlen(src), len - 1);
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* Index of heap id's entry, or -1 (lock held). */
static long thread_find(const ravt_tables *tb, uint32_t id)
{
	return idmap_get(&tb->tmap, id);
}

static rav_trace_thread *thread_create(ravt_tables *tb, uint32_t id)
{
	if (!grow(tb, (void **)&tb->threads, &tb->cap_threads, sizeof *tb->threads, tb->nthreads + 1,
	          "the table of threads and heaps") ||
	    !idmap_put(tb, &tb->tmap, id, tb->nthreads, "the table of threads and heaps"))
		return NULL;
	rav_trace_thread *th = &tb->threads[tb->nthreads++];
	memset(th, 0, sizeof *th);
	th->heap_id = id;
	th->first_event = UINT64_MAX;
	return th;
}

static rav_trace_thread *thread_get(ravt_tables *tb, uint32_t id, bool create)
{
	long i = thread_find(tb, id);
	if (i >= 0)
		return &tb->threads[i];
	return create ? thread_create(tb, id) : NULL;
}

static void widen(rav_trace_thread *th, uint64_t first, uint64_t last)
{
	if (first < th->first_event)
		th->first_event = first;
	if (last > th->last_event)
		th->last_event = last;
}

/* The events [first, last] were recorded by thread id (lock held). */
static void note_extent(ravt_tables *tb, uint32_t id, uint64_t first, uint64_t last)
{
	rav_trace_thread *th = thread_get(tb, id, false);
	if (th) {
		widen(th, first, last);
		return;
	}
	long o = idmap_get(&tb->omap, id);
	if (o >= 0) {
		if (last > tb->orphans[o].last)
			tb->orphans[o].last = last;
		return;
	}
	if (!grow(tb, (void **)&tb->orphans, &tb->cap_orphans, sizeof *tb->orphans, tb->norphans + 1,
	          "the table of threads and heaps") ||
	    !idmap_put(tb, &tb->omap, id, (uint32_t)tb->norphans, "the table of threads and heaps"))
		return;
	tb->orphans[tb->norphans++] = (extent){id, first, last};
}

/* The entry of type id, made if new; NULL when out of memory or budget. */
static type_entry *type_slot(ravt_tables *tb, uint16_t id)
{
	long i = idmap_get(&tb->tymap, id);
	if (i >= 0)
		return &tb->types[i];
	if (!grow(tb, (void **)&tb->types, &tb->cap_types, sizeof *tb->types, tb->ntypes + 1,
	          "the table of types") ||
	    !idmap_put(tb, &tb->tymap, id, tb->ntypes, "the table of types"))
		return NULL;
	type_entry *ty = &tb->types[tb->ntypes++];
	memset(ty, 0, sizeof *ty);
	ty->t.id = id;
	return ty;
}

static void note_event(ravt_tables *tb, const rav_event *ev)
{
	rav_trace_thread *th;
	switch (ev->kind) {
	case RAV_EV_HEAP_NEW:
		th = thread_get(tb, ev->x, true);
		if (th) {
			th->kind = (uint8_t)ev->aux;
			th->parent = (uint32_t)ev->a;
			widen(th, ev->index, ev->index);
		}
		break;
	case RAV_EV_THREAD_NAME:
		th = thread_get(tb, ev->x, true);
		if (th && ev->text)
			copy_name(th->name, sizeof th->name, ev->text);
		break;
	case RAV_EV_HEAP_END:
	case RAV_EV_MSG_SEND:
	case RAV_EV_MSG_RECV:
	case RAV_EV_MSG_BUILD:
		th = thread_get(tb, ev->x, false);
		if (th && th->kind == RAV_HEAP_MESSAGE && ev->index > th->last_event)
			th->last_event = ev->index;
		break;
	case RAV_EV_TYPE_DEF: {
		if (ev->aux > RAV_TYPE_MASK)
			break; /* not a type id: replay says so */
		type_entry *ty = type_slot(tb, (uint16_t)ev->aux);
		if (ty) {
			ty->t.field_is_ref[0] = ev->x & 1;
			ty->t.field_is_ref[1] = (ev->x >> 1) & 1;
			ty->name = ev->text ? ev->text : "";
			copy_name(ty->t.name, sizeof ty->t.name, ty->name);
			rav_event_type_field_names(ev, ty->field_name);
		}
		break;
	}
	case RAV_EV_MARK:
		if (grow(tb, (void **)&tb->marks, &tb->cap_marks, sizeof *tb->marks, tb->nmarks + 1,
		         "the table of marks"))
			tb->marks[tb->nmarks++] =
			    (rav_trace_mark){ev->index, ev->thread, ev->text ? ev->text : ""};
		break;
	default:
		break;
	}
}

/* The kinds note_event looks at. */
#define NOTED_KINDS                                                                                          \
	((1ull << RAV_EV_HEAP_NEW) | (1ull << RAV_EV_THREAD_NAME) | (1ull << RAV_EV_HEAP_END) |              \
	 (1ull << RAV_EV_MSG_SEND) | (1ull << RAV_EV_MSG_RECV) | (1ull << RAV_EV_MSG_BUILD) |                \
	 (1ull << RAV_EV_TYPE_DEF) | (1ull << RAV_EV_MARK))
_Static_assert((NOTED_KINDS & ~RAVT_SPAN_NAMING_KINDS) == 0, "a span that names nothing has none of them");

static void sink_begin(ravt_sink *sink, uint64_t from)
{
	(void)sink, (void)from;
}

static void sink_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	ravt_tables *tb = (ravt_tables *)sink;
	pthread_mutex_lock(&tb->lock);
	uint32_t cur = evs[0].thread;
	uint64_t first = evs[0].index;
	/* the latest time, not the last event's: a clock that went back (a
	 * wrapped or reset TSC) must not make the duration 0 */
	uint64_t latest = tb->last_time_ns;
	for (size_t k = 0; k < n; k++) {
		const rav_event *ev = &evs[k];
		latest = ev->time_ns > latest ? ev->time_ns : latest;
		if (ev->thread != cur) {
			note_extent(tb, cur, first, ev->index - 1);
			cur = ev->thread;
			first = ev->index;
		}
		/* the bit test first: it rules out nearly every event */
		if (__builtin_expect((NOTED_KINDS >> (ev->kind & 63)) & 1, 0) && ev->kind < 64)
			note_event(tb, ev);
	}
	note_extent(tb, cur, first, evs[n - 1].index);
	tb->any = true;
	tb->last_time_ns = latest;
	pthread_mutex_unlock(&tb->lock);
}

/* As sink_events, from the spans the merge knows (sink.h): a test per
 * span instead of three per event; the events themselves are read only in
 * spans that may name something (few: a heap's or a thread's birth, a type,
 * a mark, a message). */
static void sink_events_spans(ravt_sink *sink, const rav_event *evs, size_t n, const ravt_span *spans,
                              size_t nspans)
{
	ravt_tables *tb = (ravt_tables *)sink;
	pthread_mutex_lock(&tb->lock);
	uint32_t cur = spans[0].thread;
	uint64_t first = evs[0].index;
	uint64_t latest = tb->last_time_ns;
	for (size_t s = 0; s < nspans; s++) {
		const ravt_span *sp = &spans[s];
		if (sp->thread != cur) {
			note_extent(tb, cur, first, evs[sp->at].index - 1);
			cur = sp->thread;
			first = evs[sp->at].index;
		}
		latest = sp->latest_ns > latest ? sp->latest_ns : latest;
		if (__builtin_expect(sp->naming, 0))
			for (size_t k = sp->at, e = (size_t)sp->at + sp->n; k < e; k++)
				if (__builtin_expect((NOTED_KINDS >> (evs[k].kind & 63)) & 1, 0) && evs[k].kind < 64)
					note_event(tb, &evs[k]);
	}
	note_extent(tb, cur, first, evs[n - 1].index);
	tb->any = true;
	tb->last_time_ns = latest;
	pthread_mutex_unlock(&tb->lock);
}

static void sink_end(ravt_sink *sink, uint64_t upto, bool final)
{
	(void)upto, (void) final;
	ravt_tables *tb = (ravt_tables *)sink;
	pthread_mutex_lock(&tb->lock);
	for (size_t i = 0; i < tb->norphans; i++) {
		rav_trace_thread *th = thread_get(tb, tb->orphans[i].id, true);
		if (th)
			widen(th, tb->orphans[i].first, tb->orphans[i].last);
	}
	tb->norphans = 0;
	idmap_clear(&tb->omap);
	pthread_mutex_unlock(&tb->lock);
}

/* A snapshot (format 1.1) names a heap that may have existed long before
 * the recording: its thread's name and kind come with it; a types piece
 * defines types as type-def events do. */
static bool piece_type(void *user, uint16_t id, unsigned refmask, const char *name, size_t len)
{
	ravt_tables *tb = user;
	type_entry *ty = type_slot(tb, id);
	if (!ty)
		return false;
	/* one copy per type id, the previous one replaced: a piece that
	 * defines one id a million times holds one name */
	if (!ravt_budget_charge(tb->budget, len + 1, "the table of types (names from snapshots)"))
		return false;
	char *copy = malloc(len + 1);
	if (!copy) {
		ravt_budget_release(tb->budget, len + 1);
		return false;
	}
	memcpy(copy, name, len);
	copy[len] = 0;
	/* the text may hold field names after NULs (1.4): release what was
	 * charged, not strlen's share of it */
	if (ty->own)
		ravt_budget_release(tb->budget, ty->own_size);
	free(ty->own);
	ty->own = copy;
	ty->own_size = len + 1;
	ty->t.field_is_ref[0] = refmask & 1;
	ty->t.field_is_ref[1] = (refmask >> 1) & 1;
	ty->name = copy;
	copy_name(ty->t.name, sizeof ty->t.name, copy);
	ravt_type_text_field_names(copy, len, ty->field_name);
	return true;
}

static void sink_snapshot(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece)
{
	ravt_tables *tb = (ravt_tables *)sink;
	/* a piece counts once: a second event naming it is replay's error,
	 * and must not make the tables decode a big piece again and again */
	if (!piece || (piece->named_by && piece->named_by != ev->index + 1))
		return;
	pthread_mutex_lock(&tb->lock);
	if (piece->head.piece == RAV_SNAP_HEAP) {
		rav_trace_thread *th = thread_get(tb, piece->head.heap_id, true);
		if (th) {
			th->kind = piece->head.heap_kind;
			th->parent = piece->head.parent;
			if (piece->name[0] && !th->name[0])
				copy_name(th->name, sizeof th->name, piece->name);
			widen(th, ev->index, ev->index);
		}
	} else if (piece->head.piece == RAV_SNAP_TYPES) {
		ravt_snap_geom g = {0};
		ravt_snap_visitor v = {.type = piece_type, .user = tb};
		char err[256];
		ravt_snap_decode_piece(piece, &g, &v, err,
		                       sizeof err); /* a damaged piece is replay's to report */
	}
	pthread_mutex_unlock(&tb->lock);
}

static const ravt_sink_ops tables_ops = {
    .begin = sink_begin,
    .events = sink_events,
    .end = sink_end,
    .snapshot = sink_snapshot,
    .events_spans = sink_events_spans};

ravt_tables *ravt_tables_new(ravt_budget *budget)
{
	ravt_tables *tb = calloc(1, sizeof *tb);
	if (!tb)
		return NULL;
	tb->sink.ops = &tables_ops;
	tb->budget = budget;
	pthread_mutex_init(&tb->lock, NULL);
	return tb;
}

void ravt_tables_free(ravt_tables *tb)
{
	if (!tb)
		return;
	free(tb->threads);
	free(tb->tmap.slot);
	for (unsigned i = 0; i < tb->ntypes; i++)
		free(tb->types[i].own);
	free(tb->types);
	free(tb->tymap.slot);
	free(tb->marks);
	free(tb->orphans);
	free(tb->omap.slot);
	pthread_mutex_destroy(&tb->lock);
	free(tb);
}

ravt_sink *ravt_tables_sink(ravt_tables *tb)
{
	return &tb->sink;
}

/* ---- Reading the tables (copies, under the lock) ---------------------------- */

#define LOCKED(tb, expr)                                                                                     \
	do {                                                                                                 \
		pthread_mutex_lock(&((ravt_tables *)(tb))->lock);                                            \
		expr;                                                                                        \
		pthread_mutex_unlock(&((ravt_tables *)(tb))->lock);                                          \
	} while (0)

unsigned ravt_tables_thread_count(const ravt_tables *tb)
{
	unsigned n;
	LOCKED(tb, n = tb->nthreads);
	return n;
}

bool ravt_tables_thread_at(const ravt_tables *tb, unsigned i, rav_trace_thread *out)
{
	bool ok;
	LOCKED(tb, ok = i < tb->nthreads; if (ok) *out = tb->threads[i]);
	return ok;
}

bool ravt_tables_thread_by_id(const ravt_tables *tb, uint32_t heap_id, rav_trace_thread *out)
{
	long i;
	LOCKED(tb, i = thread_find(tb, heap_id); if (i >= 0) *out = tb->threads[i]);
	return i >= 0;
}

long ravt_tables_thread_index(const ravt_tables *tb, uint32_t heap_id)
{
	long i;
	LOCKED(tb, i = thread_find(tb, heap_id));
	return i;
}

unsigned ravt_tables_type_count(const ravt_tables *tb)
{
	unsigned n;
	LOCKED(tb, n = tb->ntypes);
	return n;
}

bool ravt_tables_type_at(const ravt_tables *tb, unsigned i, rav_trace_type *out)
{
	bool ok;
	LOCKED(tb, ok = i < tb->ntypes; if (ok) *out = tb->types[i].t);
	return ok;
}

/* (lock held) */
static const type_entry *type_find(const ravt_tables *tb, uint16_t id)
{
	long i = idmap_get(&tb->tymap, id);
	return i >= 0 ? &tb->types[i] : NULL;
}

bool ravt_tables_type_by_id(const ravt_tables *tb, uint16_t id, rav_trace_type *out)
{
	const type_entry *ty;
	LOCKED(tb, ty = type_find(tb, id); if (ty) *out = ty->t);
	return ty != NULL;
}

const char *ravt_tables_type_name(const ravt_tables *tb, uint16_t id)
{
	const type_entry *ty;
	const char *name = NULL;
	LOCKED(tb, ty = type_find(tb, id); if (ty) name = ty->name);
	return name;
}

const char *ravt_tables_type_field_name(const ravt_tables *tb, uint16_t id, int field)
{
	const type_entry *ty;
	const char *name = NULL;
	if (field < 0 || field > 1)
		return NULL;
	LOCKED(tb, ty = type_find(tb, id); if (ty) name = ty->field_name[field]);
	return name;
}

unsigned ravt_tables_mark_count(const ravt_tables *tb)
{
	unsigned n;
	LOCKED(tb, n = tb->nmarks);
	return n;
}

bool ravt_tables_mark_at(const ravt_tables *tb, unsigned i, rav_trace_mark *out)
{
	bool ok;
	LOCKED(tb, ok = i < tb->nmarks; if (ok) *out = tb->marks[i]);
	return ok;
}

bool ravt_tables_last_time(const ravt_tables *tb, uint64_t *time_ns)
{
	bool any;
	LOCKED(tb, any = tb->any; *time_ns = tb->last_time_ns);
	return any;
}
