/* operations.c - the events of a thread grouped into operations: "one
 * operation, one step" for a viewer and `ravtrace dump --ops`.
 *
 * A small state machine per recording thread (operations-segment.c) says
 * which events start an operation.  The map: one bit per event in global
 * order, set on an operation's first event, built by one pass over the
 * events (a cursor) as far as it is asked for, under a lock.  A clock
 * reading taken for an ordering event starts that event's operation.  An operation's extent is found from the
 * bits: back to the nearest head of the same thread, forward to its next head.  The last operation summarised
 * is kept (a viewer asks for the same one often).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "operations.h"
#include "rav-record.h"
#include "trace-private.h"

/* Events segmented per step of a lazy extension beyond the one asked for. */
#define EXTEND_AHEAD 4096
/* Events segmented under one holding of the lock by a full preparation. */
#define PREPARE_PIECE ((uint64_t)1 << 20)

static bool neutral(const rav_event *e)
{
	return e->kind == RAV_EV_TIME || e->kind == RAV_EV_NONE;
}

static rav_loc cell_of(rav_loc l)
{
	return l & ~(rav_loc)3;
}

/* ---- the map ----------------------------------------------------------------- */

typedef struct thread_seg {
	uint32_t key; /* heap id + 1; 0 = free */
	bool lead_pending;
	uint64_t lead; /* a clock reading taken for the ordering event that follows it */
	ravt_opseg seg;
} thread_seg;

typedef struct ravt_ops {
	pthread_mutex_t lock;
	rav_trace *trace;
	uint64_t *heads; /* bit per event: first event of an operation */
	uint64_t words;  /* allocated 64-bit words */
	uint64_t done;   /* events segmented */
	thread_seg *th;
	uint32_t th_cap, th_used;
	bool failed;
	rav_trace_error error;
	bool have_last; /* the last operation summarised */
	rav_operation last;
} ravt_ops;

void ravt_ops_free(void *p)
{
	ravt_ops *o = p;
	if (!o)
		return;
	pthread_mutex_destroy(&o->lock);
	free(o->heads);
	free(o->th);
	free(o);
}

static void *ops_new(rav_trace *t)
{
	ravt_ops *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	o->trace = t;
	return o;
}

static ravt_ops *ops_of(rav_trace *t)
{
	return ravt_trace_extension(t, RAVT_EXT_OPERATIONS, ops_new, ravt_ops_free);
}

static thread_seg *thread_state(ravt_ops *o, uint32_t thread)
{
	if (o->th_used * 2 >= o->th_cap) {
		uint32_t cap = o->th_cap ? o->th_cap * 2 : 16;
		thread_seg *tab = calloc(cap, sizeof *tab);
		if (!tab)
			return NULL;
		for (uint32_t i = 0; i < o->th_cap; i++) {
			if (!o->th[i].key)
				continue;
			uint32_t h = (o->th[i].key * 2654435761u) & (cap - 1);
			while (tab[h].key)
				h = (h + 1) & (cap - 1);
			tab[h] = o->th[i];
		}
		free(o->th);
		o->th = tab;
		o->th_cap = cap;
	}
	uint32_t key = thread + 1, h = (key * 2654435761u) & (o->th_cap - 1);
	while (o->th[h].key && o->th[h].key != key)
		h = (h + 1) & (o->th_cap - 1);
	if (!o->th[h].key) {
		o->th[h].key = key;
		o->th_used++;
	}
	return &o->th[h];
}

static bool is_head(const ravt_ops *o, uint64_t i)
{
	return i < o->done && (o->heads[i >> 6] >> (i & 63)) & 1;
}

/* A live session lost events: whatever operation a thread had open was
 * cut short there (its end is among the lost events), so each thread's
 * next event starts a new one.  Without this a receive open at the loss
 * would wait for its message heap's end and swallow the rest of the
 * thread. */
static void forget_threads(ravt_ops *o)
{
	for (uint32_t i = 0; i < o->th_cap; i++) {
		if (!o->th[i].key)
			continue;
		uint16_t prev = o->th[i].seg.prev_kind;
		memset(&o->th[i].seg, 0, sizeof o->th[i].seg);
		o->th[i].seg.prev_kind = prev;
		o->th[i].lead_pending = false;
	}
}

/* Segment events [done, upto) (lock held).  Returns false on failure (out
 * of memory, or a chunk that does not decode: the map stops there). */
static bool extend(ravt_ops *o, uint64_t upto, rav_trace_progress progress, void *user, uint64_t total)
{
	if (o->failed)
		return false;
	uint64_t avail = rav_trace_indexed_events(o->trace);
	if (upto > avail)
		upto = avail;
	if (upto <= o->done)
		return true;
	uint64_t need = (upto + 63) / 64;
	if (need > o->words) {
		uint64_t words = o->words ? o->words : 1024;
		while (words < need)
			words *= 2;
		uint64_t *h = realloc(o->heads, words * sizeof *h);
		if (!h) {
			o->failed = true;
			ravt_set_error(&o->error, RAV_TRACE_ENOMEM, 0, -1,
			               "out of memory for the map of operations");
			return false;
		}
		memset(h + o->words, 0, (words - o->words) * sizeof *h);
		o->heads = h;
		o->words = words;
	}
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(o->trace), o->done);
	rav_event ev;
	bool ok = true;
	while (o->done < upto) {
		if (!ravt_cursor_next(&cur, &ev)) {
			ok = false;
			break;
		}
		thread_seg *ts = thread_state(o, ev.thread);
		if (!ts) {
			ok = false;
			ravt_set_error(&cur.error, RAV_TRACE_ENOMEM, 0, -1,
			               "out of memory for the map of operations");
			break;
		}
		/* A clock reading taken for an ordering event (c: its sequence
		 * number) belongs with that event: when the event starts an
		 * operation, the operation starts at the reading. */
		bool started = ts->seg.cls != 0;
		if (ev.kind == RAV_EV_TIME && ev.c && started && !ts->lead_pending) {
			ts->lead_pending = true;
			ts->lead = o->done;
		}
		if (ravt_opseg_feed(&ts->seg, &ev)) {
			uint64_t at = ts->lead_pending && started ? ts->lead : o->done;
			o->heads[at >> 6] |= (uint64_t)1 << (at & 63);
		}
		if (!neutral(&ev))
			ts->lead_pending = false;
		if (ev.kind == RAV_EV_LOST)
			forget_threads(o);
		/* Read without the lock by rav_trace_operations_known. */
		__atomic_store_n(&o->done, o->done + 1, __ATOMIC_RELEASE);
		if (progress && (o->done & 0xfffff) == 0 && !progress(o->done, total, user)) {
			ravt_set_error(&o->error, RAV_TRACE_ECANCELLED, 0, -1, "cancelled after %llu events",
			               (unsigned long long)o->done);
			ravt_cursor_fini(&cur);
			return false;
		}
	}
	if (!ok) {
		o->failed = true;
		o->error = cur.error;
		if (o->error.code == RAV_TRACE_OK)
			ravt_set_error(&o->error, RAV_TRACE_EDECODE, 0, -1, "events stop at %llu",
			               (unsigned long long)o->done);
	}
	ravt_cursor_fini(&cur);
	return ok;
}

int rav_trace_operations_prepare(rav_trace *t, rav_trace_progress progress, void *user, rav_trace_error *err)
{
	ravt_ops *o = ops_of(t);
	if (!o) {
		ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory for the map of operations");
		return -1;
	}
	uint64_t n = rav_trace_indexed_events(t);
	bool ok = true;
	/* A piece at a time, so that a viewer asking about one operation
	 * meanwhile waits for a piece, not for the whole trace. */
	for (;;) {
		pthread_mutex_lock(&o->lock);
		uint64_t from = o->done;
		ok = extend(o, from + PREPARE_PIECE < n ? from + PREPARE_PIECE : n, progress, user, n);
		if (!ok && err)
			*err = o->error;
		if (o->error.code == RAV_TRACE_ECANCELLED)
			ravt_clear_error(&o->error), o->failed = false; /* a later call goes on */
		bool more = ok && o->done < n;
		pthread_mutex_unlock(&o->lock);
		if (!more)
			break;
	}
	if (ok && progress)
		progress(n, n, user);
	return ok ? 0 : -1;
}

uint64_t rav_trace_operations_known(rav_trace *t)
{
	ravt_ops *o = ravt_trace_extension(t, RAVT_EXT_OPERATIONS, NULL, NULL);
	return o ? __atomic_load_n(&o->done, __ATOMIC_ACQUIRE) : 0;
}

/* ---- one operation ------------------------------------------------------------ */

/* What a summary collects besides the operation's own fields. */
typedef struct acc {
	bool first_real, dropped, stored, root_freed, compacting;
	rav_loc alloc_cell, freed_cell, drop_slot, store_slot, store_value, root_slot;
	uint16_t alloc_type, freed_type;
} acc;

static void summarise_event(rav_operation *op, acc *a, const rav_event *e)
{
	if (!neutral(e) && a->first_real) {
		a->first_real = false;
		switch (e->kind) {
		case RAV_EV_MSG_RECV:
			op->kind = RAV_OP_RECEIVE;
			op->heap = e->x;
			op->channel = (uint32_t)e->a;
			break;
		case RAV_EV_GC_BEGIN:
			op->kind = RAV_OP_COLLECT;
			op->heap = e->x;
			break;
		case RAV_EV_HEAP_NEW:
			op->kind = e->aux == RAV_HEAP_MESSAGE ? RAV_OP_DESERIALIZE : RAV_OP_THREAD;
			op->heap = e->x;
			break;
		case RAV_EV_PAGE_TO_MSG:
			op->kind = RAV_OP_ADOPT;
			op->heap = e->x;
			break;
		case RAV_EV_MSG_SEND:
			op->kind = RAV_OP_SEND;
			op->heap = e->x;
			op->channel = (uint32_t)e->a;
			op->value = e->b;
			break;
		case RAV_EV_SERIALIZE:
			op->kind = RAV_OP_SERIALIZE;
			op->heap = e->x;
			op->value = e->b;
			break;
		case RAV_EV_MARK:
			op->kind = RAV_OP_MARK;
			op->mark_event = e->index;
			break;
		case RAV_EV_ERROR:
			op->kind = RAV_OP_ERROR;
			op->mark_event = e->index;
			break;
		case RAV_EV_THREAD_START:
		case RAV_EV_THREAD_NAME:
		case RAV_EV_THREAD_END:
			op->kind = RAV_OP_THREAD;
			op->heap = e->x;
			op->mark_event = e->index;
			break;
		case RAV_EV_ACCESS:
			op->kind = RAV_OP_ACCESS;
			break;
		case RAV_EV_PAGE_RELEASE:
		case RAV_EV_HEAP_END:
			op->kind = RAV_OP_PAGES;
			break;
		case RAV_EV_ROOT_NEW:
		case RAV_EV_ROOT_FREE:
			op->kind = RAV_OP_ROOT;
			op->slot = e->a;
			op->value = e->kind == RAV_EV_ROOT_FREE;
			break;
		case RAV_EV_DATA_STORE:
			op->kind = RAV_OP_STORE;
			op->slot = e->a;
			op->cell = cell_of(e->a);
			op->value = e->c;
			break;
		case RAV_EV_TYPE_WORD:
			op->kind = RAV_OP_SCALAR;
			op->cell = cell_of(e->a);
			op->type = (uint16_t)(e->c & RAV_TYPE_MASK);
			op->value = e->c >> RAV_SCALAR_SHIFT;
			break;
		case RAV_EV_TYPE_DEF:
			op->kind = RAV_OP_OTHER;
			break;
		case RAV_EV_SNAPSHOT:
			op->kind = RAV_OP_SNAPSHOT;
			op->heap = e->x;
			op->mark_event = e->index;
			break;
		case RAV_EV_LOST:
			op->kind = RAV_OP_LOST;
			op->value = e->a;
			op->mark_event = e->index;
			break;
		default:
			op->kind = RAV_OP_KIND_COUNT; /* a heap operation: decided at the end */
			break;
		}
	}
	bool heap_op = op->kind == RAV_OP_KIND_COUNT;
	switch (e->kind) {
	case RAV_EV_ALLOC:
		op->allocs++;
		if (e->aux == RAV_TYPE_REF)
			op->refs_inserted++;
		else if (e->aux != RAV_TYPE_ROOT && !a->alloc_cell) {
			a->alloc_cell = cell_of(e->a);
			a->alloc_type = (uint16_t)e->aux;
		}
		break;
	case RAV_EV_FREE:
		op->frees++;
		/* The first normal cell freed is the one the cleared slot held. */
		if (e->aux != RAV_TYPE_REF && e->aux != 0 && !a->freed_cell) {
			a->freed_cell = cell_of(e->a);
			a->freed_type = (uint16_t)e->aux;
		}
		break;
	case RAV_EV_REF_STORE:
		if (!a->stored) {
			a->stored = true;
			a->store_slot = e->a;
			a->store_value = e->c;
		}
		break;
	case RAV_EV_REFRAV_INSERT:
		if (!op->target)
			op->target = cell_of(e->b);
		break;
	case RAV_EV_REF_CLEAR:
		/* The first slot cleared (after a reference raviolo's removal,
		 * which already marked the operation a drop, too: its slot was
		 * lost, and a lesson's step pointed at nothing). */
		if (!a->drop_slot) {
			a->dropped = true;
			a->drop_slot = e->a;
		}
		break;
	case RAV_EV_REFRAV_REMOVE:
		op->refs_removed++;
		if (!a->stored)
			a->dropped = true; /* its slot comes with the ref-clear that follows */
		break;
	case RAV_EV_MOVE:
		/* An arrival's moves before its compaction: the receiver's cells
		 * moving up after the arrived ones. */
		if (!a->compacting && (op->kind == RAV_OP_RECEIVE || op->kind == RAV_OP_DESERIALIZE))
			op->evacuated++;
		if (!op->moves) {
			op->move_from = cell_of(e->a);
			op->move_to = cell_of(e->b);
		}
		op->moves++;
		break;
	case RAV_EV_FIXUP:
		op->fixups++;
		if (op->moves == 1)
			op->move_fixups++;
		break;
	case RAV_EV_TRIM:
		op->trims++;
		break;
	case RAV_EV_COMPACT_BEGIN:
		a->compacting = true;
		if (!op->compactions)
			op->compact_reason = (uint8_t)e->aux;
		op->compactions++;
		if (!op->heap)
			op->heap = e->x;
		break;
	case RAV_EV_PAGE_ACQUIRE:
		op->pages_acquired++;
		break;
	case RAV_EV_PAGE_RELEASE:
		op->pages_released++;
		break;
	case RAV_EV_PAGE_HANDOFF:
	case RAV_EV_PAGE_TO_MSG: /* 1.6: rav_msg_adopt handing pages at the sender's top */
		op->pages_handed++;
		if (op->kind == RAV_OP_ADOPT && e->aux > 1)
			op->value += e->aux - 1; /* the page's cells, its header left out */
		break;
	case RAV_EV_ACCESS:
		if (e->aux)
			op->writes++;
		else
			op->reads++;
		break;
	case RAV_EV_GC_END:
		if (op->kind == RAV_OP_COLLECT)
			op->value = e->a;
		break;
	case RAV_EV_MSG_BUILD:
		if (op->kind == RAV_OP_DESERIALIZE)
			op->kind = RAV_OP_MSG_NEW;
		break;
	case RAV_EV_DATA_STORE:
		if (heap_op && !op->value)
			op->value = e->c;
		break;
	case RAV_EV_ROOT_NEW:
	case RAV_EV_ROOT_FREE:
		if (heap_op && !a->root_slot) {
			a->root_slot = e->a;
			a->root_freed = e->kind == RAV_EV_ROOT_FREE;
		}
		break;
	case RAV_EV_TYPE_DEF:
		if (op->kind == RAV_OP_OTHER)
			op->value++;
		break;
	default:
		break;
	}
}

/* The kind and main cells of a heap operation, from what it did. */
static void decide_heap_kind(rav_operation *op, const acc *a)
{
	if (op->kind != RAV_OP_KIND_COUNT)
		return;
	if (a->alloc_cell) {
		op->kind = RAV_OP_ALLOC;
		op->cell = a->alloc_cell;
		op->type = a->alloc_type;
		op->slot = a->store_slot;
	} else if (a->stored) {
		op->kind = RAV_OP_STORE_REF;
		op->slot = a->store_slot;
		if (!op->target)
			op->target = cell_of(a->store_value);
		op->cell = a->freed_cell;
		op->type = a->freed_type;
	} else if (a->root_slot && a->root_freed) {
		/* rav_root_free: the value it held dropped, then the slot given back. */
		op->kind = RAV_OP_ROOT;
		op->slot = a->root_slot;
		op->value = 1;
		op->cell = a->freed_cell;
		op->type = a->freed_type;
	} else if (a->dropped) {
		op->kind = RAV_OP_FREE;
		op->slot = a->drop_slot;
		op->cell = a->freed_cell;
		op->type = a->freed_type;
	} else if (op->frees || op->compactions || op->moves || op->trims) {
		op->kind = RAV_OP_COMPACT; /* a deferred cascade step and/or a compaction */
		op->cell = a->freed_cell;
		op->type = a->freed_type;
	} else if (a->root_slot) {
		op->kind = RAV_OP_ROOT; /* a root cell (maybe on a new page) and its first slot */
		op->slot = a->root_slot;
	} else if (op->pages_acquired || op->pages_released) {
		op->kind = RAV_OP_PAGES;
	} else {
		op->kind = RAV_OP_STORE_REF; /* links alone: a reference moved between slots */
	}
}

/* Spans asked of the reader at a time. */
#define SPANS 64

/* Summarise thread's events [first, last] (no lock needed: reads events):
 * first, then the thread's runs after it up to last, so that no other
 * thread's event is read (on a trace of hundreds of threads an operation's
 * range holds mostly theirs).  Random access reads them from the reader's
 * window of this thread's events. */
static void summarise(rav_trace *t, uint32_t thread, uint64_t first, uint64_t last, rav_operation *op)
{
	memset(op, 0, sizeof *op);
	op->first = first;
	op->last = last;
	op->thread = thread;
	op->kind = RAV_OP_KIND_COUNT;
	acc a = {.first_real = true};
	rav_event ev;
	ravt_reader *rd = ravt_trace_reader(t);
	ravt_gspan sp[SPANS];
	sp[0] = (ravt_gspan){first, first};
	size_t ns = 1;
	bool more = true;
	while (more && ns > 0) {
		for (size_t k = 0; k < ns && more; k++) {
			uint64_t hi = sp[k].hi < last ? sp[k].hi : last;
			for (uint64_t i = sp[k].lo; i <= hi; i++) {
				if (!rav_trace_event_at(t, i, &ev)) {
					more = false;
					break;
				}
				if (ev.thread != thread)
					continue;
				op->events++;
				summarise_event(op, &a, &ev);
			}
			if (sp[k].hi >= last)
				more = false;
		}
		if (more)
			ns = ravt_reader_thread_spans(rd, sp[ns - 1].hi, true, sp, SPANS);
	}
	if (op->kind == RAV_OP_DESERIALIZE && !op->pages_handed && !op->allocs && !op->frees)
		op->kind = RAV_OP_MSG_NEW; /* a message heap created and nothing loaded */
	if (op->kind == RAV_OP_KIND_COUNT && !a.first_real)
		decide_heap_kind(op, &a);
	else if (op->kind == RAV_OP_KIND_COUNT)
		op->kind = RAV_OP_OTHER; /* clock readings only */
}

static bool thread_of(rav_trace *t, uint64_t i, uint32_t *thread)
{
	rav_event ev;
	if (!rav_trace_event_at(t, i, &ev))
		return false;
	*thread = ev.thread;
	return true;
}

/* The highest (lowest) head in [lo, hi], all below o->done; -1 if none. */
static int64_t head_down(const ravt_ops *o, uint64_t lo, uint64_t hi)
{
	uint64_t w = hi >> 6, lw = lo >> 6;
	uint64_t bits = o->heads[w] & (hi % 64 == 63 ? ~(uint64_t)0 : (((uint64_t)1 << (hi % 64 + 1)) - 1));
	for (;;) {
		if (w == lw)
			bits &= ~(uint64_t)0 << (lo % 64);
		if (bits)
			return (int64_t)(w * 64 + 63 - (uint64_t)__builtin_clzll(bits));
		if (w == lw)
			return -1;
		bits = o->heads[--w];
	}
}

static int64_t head_up(const ravt_ops *o, uint64_t lo, uint64_t hi)
{
	uint64_t w = lo >> 6, hw = hi >> 6;
	uint64_t bits = o->heads[w] & (~(uint64_t)0 << (lo % 64));
	for (;;) {
		if (w == hw)
			bits &= hi % 64 == 63 ? ~(uint64_t)0 : (((uint64_t)1 << (hi % 64 + 1)) - 1);
		if (bits)
			return (int64_t)(w * 64 + (uint64_t)__builtin_ctzll(bits));
		if (w == hw)
			return -1;
		bits = o->heads[++w];
	}
}

bool rav_trace_operation_at(rav_trace *t, uint64_t index, rav_operation *out)
{
	ravt_ops *o = ops_of(t);
	uint32_t thread;
	if (!o || !thread_of(t, index, &thread))
		return false;
	pthread_mutex_lock(&o->lock);
	if (!extend(o, index + 1 + EXTEND_AHEAD, NULL, NULL, 0) && o->done <= index) {
		pthread_mutex_unlock(&o->lock);
		return false;
	}
	if (o->have_last && o->last.thread == thread && o->last.first <= index && index <= o->last.last &&
	    o->last.complete) {
		*out = o->last;
		pthread_mutex_unlock(&o->lock);
		return true;
	}
	/* Back to the nearest head of this thread, forward to its next one:
	 * along the thread's own runs (the other threads' events in between are
	 * not read), the heads told by the map's bits. */
	ravt_reader *rd = ravt_trace_reader(t);
	ravt_gspan sp[SPANS];
	size_t ns;
	uint64_t first = index;
	if (!is_head(o, index)) {
		bool found = false;
		uint64_t from = index;
		while (!found && (ns = ravt_reader_thread_spans(rd, from, false, sp, SPANS)) > 0) {
			for (size_t k = 0; k < ns && !found; k++) {
				int64_t h = head_down(o, sp[k].lo, sp[k].hi);
				found = h >= 0;
				first = found ? (uint64_t)h : sp[k].lo;
			}
			from = sp[ns - 1].lo;
		}
	}
	uint64_t last = index, from = index;
	bool found = false, stopped = false;
	while (!found && !stopped && (ns = ravt_reader_thread_spans(rd, from, true, sp, SPANS)) > 0) {
		for (size_t k = 0; k < ns && !found && !stopped; k++) {
			if (sp[k].hi >= o->done) {
				/* the map grows as the search goes (geometrically, as a
				 * thread's next operation may be far) */
				uint64_t want = sp[k].hi + 1 + EXTEND_AHEAD;
				uint64_t step = o->done < (1u << 20) ? o->done + 1 : (1u << 20);
				if (want < o->done + step)
					want = o->done + step;
				extend(o, want, NULL, NULL, 0);
			}
			if (sp[k].lo >= o->done) {
				stopped = true; /* not mapped (yet): the operation goes on */
				break;
			}
			uint64_t hi = sp[k].hi < o->done ? sp[k].hi : o->done - 1;
			int64_t h = head_up(o, sp[k].lo, hi);
			if (h >= 0) {
				found = true;
				if ((uint64_t)h > sp[k].lo)
					last = (uint64_t)h - 1;
				break;
			}
			last = hi;
			stopped = hi < sp[k].hi;
		}
		from = sp[ns - 1].hi;
	}
	bool complete = found;
	if (!found) {
		/* The thread's last operation of a trace that will not grow. */
		rav_trace_info info;
		rav_trace_get_info(t, &info);
		complete = !stopped && !o->failed && ravt_reader_merge_final(rd) &&
		           rav_trace_indexed_events(t) == info.events;
	}
	pthread_mutex_unlock(&o->lock);
	rav_operation op;
	summarise(t, thread, first, last, &op);
	op.complete = complete;
	pthread_mutex_lock(&o->lock);
	o->last = op;
	o->have_last = true;
	pthread_mutex_unlock(&o->lock);
	*out = op;
	return true;
}
