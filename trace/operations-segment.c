/* operations-segment.c - which event starts an operation: the state
 * machine each recording thread's events go through (operations.h).
 *
 * The engine records what it writes, not which call it is in, so the
 * grouping is read from the shape of the sequence.  Most operations
 * announce themselves: a receive runs from its msg-recv to the end of the
 * message heap, a collection from gc-begin to the compaction after gc-end,
 * a compaction from compact-begin to compact-end.  The heap operations
 * (allocate, clear, store a reference) have phases: before their effect (a
 * page taken, reference ravioli inserted, the slot's old value dropped with
 * its cascade of frees), the effect (the reference stored), then the
 * compaction that fills the holes.  An event that cannot continue the open
 * operation in its phase starts the next one.  The rules follow
 * engine/heap.c, msg.c and collect.c; tests/trace/operations.c records the
 * real engine doing each operation between marks and checks the grouping.
 */
#include <string.h>

#include "operations.h"
#include "rav-record.h"

/* Memory accesses grouped into one operation at most. */
#define ACCESS_RUN_MAX 32

/* ---- segmentation ------------------------------------------------------------ */

enum op_class {
	CLS_NONE = 0, /* before the thread's first event */
	CLS_LEAD,     /* only clock readings so far: the next event decides */
	CLS_HEAP,     /* allocate / clear / store a reference / compact */
	CLS_SINGLE,   /* one event */
	CLS_ACCESS,   /* a run of memory accesses */
	CLS_TYPEDEF,  /* a run of type definitions */
	CLS_THREAD,   /* thread start (+ its heap) */
	CLS_RELEASE,  /* pages released outside a compaction: a heap torn down */
	CLS_NEWMSG,   /* heap-new of a message: msg-build follows (new message) or not (deserialize) */
	CLS_RECV,     /* msg-recv .. heap-end of the message */
	CLS_DESER,    /* heap-new .. deserialize, then the arrival */
	CLS_GC,       /* gc-begin .. gc-end, then its compaction */
	CLS_ADOPT,    /* 1.6: page-to-msg events, the last page's holes, the root changing slots */
};

enum heap_phase { PH_BEFORE = 0, PH_EFFECT, PH_COMPACTING, PH_DONE };
enum gc_phase { GC_MARKING = 0, GC_ENDED, GC_COMPACTING };
enum deser_phase { DS_LOADING = 0, DS_ARRIVING, DS_COMPACTING };

static bool neutral(const rav_event *e)
{
	return e->kind == RAV_EV_TIME || e->kind == RAV_EV_NONE;
}

static rav_loc cell_of(rav_loc l)
{
	return l & ~(rav_loc)3;
}

/* Start an operation at e. */
static void start(ravt_opseg *s, const rav_event *e)
{
	uint16_t prev = s->prev_kind;
	memset(s, 0, sizeof *s);
	s->prev_kind = prev;
	switch (e->kind) {
	case RAV_EV_TIME:
	case RAV_EV_NONE:
		s->cls = CLS_LEAD;
		break;
	case RAV_EV_MSG_RECV:
		s->cls = CLS_RECV;
		s->bracket = e->x;
		break;
	case RAV_EV_GC_BEGIN:
		s->cls = CLS_GC;
		break;
	case RAV_EV_PAGE_TO_MSG:
		s->cls = CLS_ADOPT;
		s->bracket = e->x;
		break;
	case RAV_EV_HEAP_NEW:
		if (e->aux == RAV_HEAP_MESSAGE) {
			s->cls = CLS_NEWMSG;
			s->bracket = e->x;
		} else {
			s->cls = CLS_THREAD;
		}
		break;
	case RAV_EV_THREAD_START:
		s->cls = CLS_THREAD;
		break;
	case RAV_EV_ACCESS:
		s->cls = CLS_ACCESS;
		s->run = 1;
		break;
	case RAV_EV_TYPE_DEF:
		s->cls = CLS_TYPEDEF;
		break;
	case RAV_EV_PAGE_RELEASE:
	case RAV_EV_HEAP_END:
		s->cls = CLS_RELEASE;
		break;
	case RAV_EV_THREAD_END:
		s->cls = CLS_RELEASE;
		s->closed = true;
		break;
	case RAV_EV_PAGE_ACQUIRE:
	case RAV_EV_LINK:
	case RAV_EV_REF_STORE:
	case RAV_EV_FREE:
	case RAV_EV_MOVE:
	case RAV_EV_FIXUP:
	case RAV_EV_TRIM:
	case RAV_EV_REFRAV_INSERT:
		s->cls = CLS_HEAP;
		s->phase = e->kind == RAV_EV_REF_STORE ? PH_EFFECT : PH_BEFORE;
		if (e->kind == RAV_EV_MOVE || e->kind == RAV_EV_FIXUP || e->kind == RAV_EV_TRIM)
			s->phase = PH_COMPACTING;
		break;
	case RAV_EV_ALLOC:
		s->cls = CLS_HEAP;
		if (e->aux != RAV_TYPE_REF && e->aux != RAV_TYPE_ROOT)
			s->alloc_cell = cell_of(e->a);
		break;
	case RAV_EV_REF_CLEAR:
		s->cls = CLS_HEAP;
		s->dropped = true;
		s->drop_slot = e->a;
		break;
	case RAV_EV_REFRAV_REMOVE:
		s->cls = CLS_HEAP;
		break;
	case RAV_EV_COMPACT_BEGIN:
		s->cls = CLS_HEAP;
		s->phase = PH_COMPACTING;
		break;
	default:
		/* marks, sends, data stores, scalars, roots, errors, names... */
		s->cls = CLS_SINGLE;
		s->closed = true;
		break;
	}
}

/* Whether the open heap operation takes e (and its new phase). */
static bool heap_takes(ravt_opseg *s, const rav_event *e)
{
	switch (e->kind) {
	case RAV_EV_PAGE_ACQUIRE:
		return s->phase < PH_COMPACTING;
	case RAV_EV_ALLOC:
		if (s->phase != PH_BEFORE)
			return false;
		if (e->aux == RAV_TYPE_REF)
			return true;
		if (s->alloc_cell)
			return false;
		if (e->aux != RAV_TYPE_ROOT)
			s->alloc_cell = cell_of(e->a);
		return true;
	case RAV_EV_REFRAV_INSERT:
		return s->phase == PH_BEFORE;
	case RAV_EV_TYPE_WORD:
		/* Reference ravioli's weights change with the tree; a new cell's
		 * type word may be set (copying into a message). */
		if ((e->c & RAV_TYPE_MASK) == RAV_TYPE_REF)
			return s->phase <= PH_EFFECT;
		return s->phase == PH_BEFORE && s->alloc_cell && cell_of(e->a) == s->alloc_cell;
	case RAV_EV_LINK:
		if (s->phase == PH_BEFORE || s->phase == PH_COMPACTING)
			return true;
		/* After the store: its back-link (names a slot) or a cleared
		 * source slot; a link naming a cell starts the next store. */
		return s->phase == PH_EFFECT && (e->c == 0 || rav_loc_word(e->c) != 0);
	case RAV_EV_REF_STORE:
		if (s->phase != PH_BEFORE)
			return false;
		s->phase = PH_EFFECT;
		return true;
	case RAV_EV_DATA_STORE:
		return s->phase == PH_BEFORE && s->alloc_cell && cell_of(e->a) == s->alloc_cell;
	case RAV_EV_REF_CLEAR:
		if (s->prev_kind == RAV_EV_REFRAV_REMOVE && s->phase <= PH_EFFECT) {
			if (!s->dropped) {
				s->dropped = true;
				s->drop_slot = e->a;
			}
			return true;
		}
		if (s->phase != PH_BEFORE || s->dropped)
			return false;
		s->dropped = true;
		s->drop_slot = e->a;
		return true;
	case RAV_EV_REFRAV_REMOVE:
		if (s->phase == PH_BEFORE)
			return true;
		return s->phase == PH_EFFECT && s->prev_kind == RAV_EV_FREE;
	case RAV_EV_FREE:
		return s->phase <= PH_EFFECT;
	case RAV_EV_COMPACT_BEGIN:
		if (s->phase > PH_EFFECT)
			return false;
		s->phase = PH_COMPACTING;
		return true;
	case RAV_EV_MOVE:
	case RAV_EV_FIXUP:
	case RAV_EV_TRIM:
	case RAV_EV_PAGE_RELEASE:
		return s->phase == PH_COMPACTING;
	case RAV_EV_COMPACT_END:
		if (s->phase != PH_COMPACTING)
			return false;
		s->phase = PH_DONE;
		return true;
	case RAV_EV_ROOT_NEW:
		/* rav_root_new with a fresh root cell: [page] root cell, slot. */
		if (s->phase != PH_BEFORE || s->prev_kind != RAV_EV_ALLOC || s->alloc_cell || s->dropped)
			return false;
		s->closed = true;
		return true;
	case RAV_EV_ROOT_FREE:
		/* rav_root_free: the root's value dropped and compacted, then the slot. */
		if (!s->dropped || e->a != s->drop_slot)
			return false;
		s->closed = true;
		return true;
	default:
		return false;
	}
}

/* What an arriving message brings into the receiver (rav__arrive). */
static bool arrival_takes(const rav_event *e)
{
	switch (e->kind) {
	case RAV_EV_PAGE_HANDOFF:
	case RAV_EV_PAGE_ACQUIRE:
	case RAV_EV_FREE:
	case RAV_EV_ALLOC:
	case RAV_EV_ROOT_NEW:
	case RAV_EV_REF_STORE:
	case RAV_EV_REF_CLEAR:
	case RAV_EV_REFRAV_REMOVE:
	case RAV_EV_LINK:
	case RAV_EV_TYPE_WORD:
	case RAV_EV_ERROR:
		return true;
	default:
		return false;
	}
}

static bool takes(ravt_opseg *s, const rav_event *e)
{
	switch (s->cls) {
	case CLS_HEAP:
		return heap_takes(s, e);
	case CLS_ACCESS:
		if (e->kind != RAV_EV_ACCESS || s->run >= ACCESS_RUN_MAX)
			return false;
		s->run++;
		return true;
	case CLS_TYPEDEF:
		return e->kind == RAV_EV_TYPE_DEF;
	case CLS_THREAD:
		if (e->kind == RAV_EV_HEAP_NEW && e->aux == RAV_HEAP_THREAD) {
			s->closed = true;
			return true;
		}
		return false;
	case CLS_RELEASE:
		if (e->kind == RAV_EV_THREAD_END) {
			s->closed = true;
			return true;
		}
		return e->kind == RAV_EV_PAGE_RELEASE || e->kind == RAV_EV_HEAP_END;
	case CLS_RECV:
		/* Everything up to the end of the message heap is the arrival. */
		if (e->kind == RAV_EV_HEAP_END && e->x == s->bracket)
			s->closed = true;
		return true;
	case CLS_NEWMSG:
		if (s->phase == 0) {
			s->phase = 1;
			if (e->kind == RAV_EV_MSG_BUILD)
				return true;
			/* No msg-build: the heap being loaded by a deserialization. */
			s->cls = CLS_DESER;
			s->phase = DS_LOADING;
			return takes(s, e);
		}
		/* The message root: a buffer page, a root cell, the slot. */
		if (e->kind == RAV_EV_ROOT_NEW) {
			s->closed = true;
			return true;
		}
		return e->kind == RAV_EV_PAGE_ACQUIRE || (e->kind == RAV_EV_ALLOC && e->aux == RAV_TYPE_ROOT);
	case CLS_DESER:
		if (s->phase == DS_LOADING) {
			if (e->kind == RAV_EV_DESERIALIZE)
				s->phase = DS_ARRIVING;
			return true;
		}
		if (s->phase == DS_ARRIVING) {
			if (e->kind == RAV_EV_COMPACT_BEGIN) {
				s->phase = DS_COMPACTING;
				return true;
			}
			return arrival_takes(e);
		}
		if (e->kind == RAV_EV_COMPACT_END)
			s->closed = true;
		return true;
	case CLS_ADOPT:
		/* rav_msg_adopt's pages way (msg.c adopt_pages): the run of pages
		 * to one message, the unused tail of the last made holes (free of
		 * an empty cell), then the source slot cleared, the message root
		 * stored and the structure's back-link set. */
		switch (e->kind) {
		case RAV_EV_PAGE_TO_MSG:
			return s->phase == 0 && e->x == s->bracket;
		case RAV_EV_FREE:
			return s->phase == 0 && e->aux == 0;
		case RAV_EV_REF_CLEAR:
			if (s->phase != 0)
				return false;
			s->phase = 1;
			return true;
		case RAV_EV_REF_STORE:
			if (s->phase != 1)
				return false;
			s->phase = 2;
			return true;
		case RAV_EV_LINK:
			if (s->phase != 2)
				return false;
			s->closed = true;
			return true;
		default:
			return false;
		}
	case CLS_GC:
		if (s->phase == GC_MARKING) {
			if (e->kind == RAV_EV_GC_END)
				s->phase = GC_ENDED;
			return true;
		}
		if (s->phase == GC_ENDED) {
			if (e->kind != RAV_EV_COMPACT_BEGIN)
				return false;
			s->phase = GC_COMPACTING;
			return true;
		}
		if (e->kind == RAV_EV_COMPACT_END)
			s->closed = true;
		return true;
	default:
		return false;
	}
}

bool ravt_opseg_feed(ravt_opseg *s, const rav_event *e)
{
	bool head;
	if (s->cls == CLS_NONE) {
		start(s, e);
		head = true;
	} else if (neutral(e)) {
		head = false;
	} else if (s->cls == CLS_LEAD) {
		/* Clock readings before the thread's first real event belong to it. */
		start(s, e);
		head = false;
	} else if (!s->closed && takes(s, e)) {
		head = false;
	} else {
		start(s, e);
		head = true;
	}
	if (!neutral(e))
		s->prev_kind = e->kind;
	return head;
}
