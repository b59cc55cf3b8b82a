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
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "tables.h"

typedef struct type_entry {
	rav_trace_type t;
	const char *name; /* the interned text, not cut to the struct's 64 bytes */
} type_entry;

typedef struct extent {
	uint32_t id;
	uint64_t first, last;
} extent;

struct ravt_tables {
	ravt_sink sink;
	pthread_mutex_t lock;
	rav_trace_thread *threads;
	unsigned nthreads;
	size_t cap_threads;
	uint32_t *tmap; /* open addressing: heap id -> index + 1 */
	size_t tmap_cap;
	type_entry *types;
	unsigned ntypes;
	size_t cap_types;
	rav_trace_mark *marks;
	unsigned nmarks;
	size_t cap_marks;
	/* recording threads seen without an entry yet */
	extent *orphans;
	size_t norphans, cap_orphans;
	bool any;
	uint64_t last_time_ns;
	/* type names that came in snapshot pieces (their bytes are not
	 * NUL-terminated in the trace): copies, freed at the end */
	char **names;
	size_t nnames, cap_names;
};

static bool grow(void **arr, size_t *cap, size_t elem, size_t need)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *p = realloc(*arr, n * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = n;
	return true;
}

static inline size_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

/* Index of heap id's entry, or -1 (lock held). */
static long thread_find(const ravt_tables *tb, uint32_t id)
{
	if (!tb->tmap_cap)
		return -1;
	size_t mask = tb->tmap_cap - 1;
	for (size_t i = hash32(id) & mask;; i = (i + 1) & mask) {
		uint32_t v = tb->tmap[i];
		if (!v)
			return -1;
		if (tb->threads[v - 1].heap_id == id)
			return (long)v - 1;
	}
}

static rav_trace_thread *thread_create(ravt_tables *tb, uint32_t id)
{
	if (!grow((void **)&tb->threads, &tb->cap_threads, sizeof *tb->threads, tb->nthreads + 1))
		return NULL;
	if ((tb->nthreads + 1) * 2 > tb->tmap_cap) {
		size_t cap = tb->tmap_cap ? tb->tmap_cap * 2 : 64;
		uint32_t *map = calloc(cap, sizeof *map);
		if (!map)
			return NULL;
		for (unsigned k = 0; k < tb->nthreads; k++) {
			size_t i = hash32(tb->threads[k].heap_id) & (cap - 1);
			while (map[i])
				i = (i + 1) & (cap - 1);
			map[i] = k + 1;
		}
		free(tb->tmap);
		tb->tmap = map;
		tb->tmap_cap = cap;
	}
	rav_trace_thread *th = &tb->threads[tb->nthreads];
	memset(th, 0, sizeof *th);
	th->heap_id = id;
	th->first_event = UINT64_MAX;
	size_t i = hash32(id) & (tb->tmap_cap - 1);
	while (tb->tmap[i])
		i = (i + 1) & (tb->tmap_cap - 1);
	tb->tmap[i] = ++tb->nthreads;
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
	for (size_t i = 0; i < tb->norphans; i++) {
		if (tb->orphans[i].id == id) {
			if (last > tb->orphans[i].last)
				tb->orphans[i].last = last;
			return;
		}
	}
	if (!grow((void **)&tb->orphans, &tb->cap_orphans, sizeof *tb->orphans, tb->norphans + 1))
		return;
	tb->orphans[tb->norphans++] = (extent){id, first, last};
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
			snprintf(th->name, sizeof th->name, "%s", ev->text);
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
		type_entry *ty = NULL;
		for (unsigned i = 0; i < tb->ntypes; i++) {
			if (tb->types[i].t.id == ev->aux)
				ty = &tb->types[i];
		}
		if (!ty && grow((void **)&tb->types, &tb->cap_types, sizeof *tb->types, tb->ntypes + 1)) {
			ty = &tb->types[tb->ntypes++];
			memset(ty, 0, sizeof *ty);
			ty->t.id = (uint16_t)ev->aux;
		}
		if (ty) {
			ty->t.field_is_ref[0] = ev->x & 1;
			ty->t.field_is_ref[1] = (ev->x >> 1) & 1;
			ty->name = ev->text ? ev->text : "";
			snprintf(ty->t.name, sizeof ty->t.name, "%s", ty->name);
		}
		break;
	}
	case RAV_EV_MARK:
		if (grow((void **)&tb->marks, &tb->cap_marks, sizeof *tb->marks, tb->nmarks + 1))
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
	for (size_t k = 0; k < n; k++) {
		const rav_event *ev = &evs[k];
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
	tb->last_time_ns = evs[n - 1].time_ns;
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
	pthread_mutex_unlock(&tb->lock);
}

/* A snapshot (format 1.1) names a heap that may have existed long before
 * the recording: its thread's name and kind come with it; a types piece
 * defines types as type-def events do. */
static bool piece_type(void *user, uint16_t id, unsigned refmask, const char *name, size_t len)
{
	ravt_tables *tb = user;
	type_entry *ty = NULL;
	for (unsigned i = 0; i < tb->ntypes; i++)
		if (tb->types[i].t.id == id)
			ty = &tb->types[i];
	if (!ty) {
		if (!grow((void **)&tb->types, &tb->cap_types, sizeof *tb->types, tb->ntypes + 1))
			return false;
		ty = &tb->types[tb->ntypes++];
		memset(ty, 0, sizeof *ty);
		ty->t.id = id;
	}
	if (!grow((void **)&tb->names, &tb->cap_names, sizeof *tb->names, tb->nnames + 1))
		return false;
	char *copy = malloc(len + 1);
	if (!copy)
		return false;
	memcpy(copy, name, len);
	copy[len] = 0;
	tb->names[tb->nnames++] = copy;
	ty->t.field_is_ref[0] = refmask & 1;
	ty->t.field_is_ref[1] = (refmask >> 1) & 1;
	ty->name = copy;
	snprintf(ty->t.name, sizeof ty->t.name, "%s", copy);
	return true;
}

static void sink_snapshot(ravt_sink *sink, const rav_event *ev, const ravt_piece *piece)
{
	ravt_tables *tb = (ravt_tables *)sink;
	if (!piece)
		return;
	pthread_mutex_lock(&tb->lock);
	if (piece->head.piece == RAV_SNAP_HEAP) {
		rav_trace_thread *th = thread_get(tb, piece->head.heap_id, true);
		if (th) {
			th->kind = piece->head.heap_kind;
			th->parent = piece->head.parent;
			if (piece->name[0] && !th->name[0])
				snprintf(th->name, sizeof th->name, "%.63s", piece->name);
			widen(th, ev->index, ev->index);
		}
	} else if (piece->head.piece == RAV_SNAP_TYPES) {
		ravt_snap_geom g = { 0 };
		ravt_snap_visitor v = { .type = piece_type, .user = tb };
		char err[256];
		ravt_snap_decode_piece(piece, &g, &v, err, sizeof err); /* a damaged piece is replay's to report */
	}
	pthread_mutex_unlock(&tb->lock);
}

static const ravt_sink_ops tables_ops = {sink_begin, sink_events, sink_end, sink_snapshot};

ravt_tables *ravt_tables_new(void)
{
	ravt_tables *tb = calloc(1, sizeof *tb);
	if (!tb)
		return NULL;
	tb->sink.ops = &tables_ops;
	pthread_mutex_init(&tb->lock, NULL);
	return tb;
}

void ravt_tables_free(ravt_tables *tb)
{
	if (!tb)
		return;
	free(tb->threads);
	free(tb->tmap);
	free(tb->types);
	free(tb->marks);
	free(tb->orphans);
	for (size_t i = 0; i < tb->nnames; i++)
		free(tb->names[i]);
	free(tb->names);
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
	const type_entry *found = NULL;
	for (unsigned i = 0; i < tb->ntypes; i++) {
		if (tb->types[i].t.id == id)
			found = &tb->types[i];
	}
	return found;
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
