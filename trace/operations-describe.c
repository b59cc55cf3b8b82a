/* operations-describe.c - one line per operation in the model's words
 * (rav_operation_describe, rav_op_kind_name): "3.32 (node) freed → top
 * cell 3.47 moves into the hole at 3.32 → 2 pointers fixed".  The viewer's
 * caption of an operation step and `ravtrace dump --ops` print it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "outbuf.h"
#include "rav-record.h"
#include "ravtrace.h"

static rav_loc cell_of(rav_loc l)
{
	return l & ~(rav_loc)3;
}

/* ---- names and sentences -------------------------------------------------------- */

static const char *const op_names[RAV_OP_KIND_COUNT] = {
    "other",  "alloc",   "free",   "store-ref", "store",   "scalar",    "compact",
    "root",   "msg-new", "send",   "receive",   "collect", "serialize", "deserialize",
    "access", "pages",   "thread", "mark",      "error",   "snapshot",  "lost",
    "adopt",
};

const char *rav_op_kind_name(unsigned kind)
{
	return kind < RAV_OP_KIND_COUNT ? op_names[kind] : "unknown";
}

static const char *type_name(rav_trace *t, uint16_t type)
{
	const char *n = type ? rav_trace_type_name(t, type) : NULL;
	return n ? n : NULL;
}

static uint16_t type_in_state(const rav_state *s, rav_loc cell)
{
	rav_state_cell c;
	if (!s || !cell || (cell & RAV_LOC_EXTERNAL) ||
	    !rav_state_cell_at(s, rav_loc_page(cell), rav_loc_cell(cell), &c) || c.state != RAV_CELL_LIVE)
		return 0;
	return c.type;
}

/* "3.32" or "3.32 (node)" */
static void put_cell(out_buf *b, rav_trace *t, rav_loc cell, uint16_t type)
{
	put(b, "%u.%u", rav_loc_page(cell), rav_loc_cell(cell));
	const char *n = type_name(t, type);
	if (n && type != RAV_TYPE_EMPTY && type != RAV_TYPE_DEAD && type != RAV_TYPE_HEADER)
		put(b, " (%s)", n);
}

/* Ravioli whose words 1 and 2 are fields: user types and the engine's
 * vectors and strings. */
static bool has_fields(uint16_t type)
{
	return type >= RAV_TYPE_VEC;
}

/* "field 1 of 3.2", "root slot 0.1.3", "slot 3.2.3" */
static void put_slot(out_buf *b, rav_trace *t, const rav_state *s, rav_loc slot)
{
	uint16_t owner = type_in_state(s, cell_of(slot));
	unsigned w = rav_loc_word(slot);
	if (owner == RAV_TYPE_ROOT) {
		put(b, "root slot %u.%u.%u", rav_loc_page(slot), rav_loc_cell(slot), w);
	} else if (has_fields(owner) && (w == RAV_W_F0 || w == RAV_W_F1)) {
		put(b, "field %u of ", w - 1);
		put_cell(b, t, cell_of(slot), owner);
	} else if (owner == RAV_TYPE_REF) {
		put(b, "reference raviolo %u.%u", rav_loc_page(slot), rav_loc_cell(slot));
	} else {
		put(b, "slot %u.%u.%u", rav_loc_page(slot), rav_loc_cell(slot), w);
	}
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* "snapshot of main (heap 1) at a safe point: 3 pages, 120 live ravioli" */
static void put_snapshot(out_buf *b, rav_trace *t, const rav_state *s, const rav_operation *op)
{
	rav_event ev;
	if (!rav_trace_event_at(t, op->mark_event, &ev) || ev.kind != RAV_EV_SNAPSHOT) {
		put(b, "snapshot");
		return;
	}
	if (ev.aux == RAV_SNAP_TYPES) {
		put(b, "snapshot of the program's types");
		return;
	}
	if (ev.aux == RAV_SNAP_POOL) {
		put(b, "snapshot of the pool's free pages");
		return;
	}
	rav_trace_thread th;
	if (ev.b == RAV_SNAP_IN_FLIGHT)
		put(b, "snapshot of message %u, in flight", op->heap);
	else if (rav_trace_thread_by_id(t, op->heap, &th) && th.name[0])
		put(b, "snapshot of %s (heap %u)%s", th.name, op->heap,
		    ev.b == RAV_SNAP_PARKED ? ", waiting in a receive" : " at a safe point");
	else
		put(b, "snapshot of heap %u%s", op->heap,
		    ev.b == RAV_SNAP_PARKED ? ", waiting in a receive" : " at a safe point");
	if (!s || rav_state_position(s) <= op->mark_event)
		return;
	rav_state_heap h;
	for (unsigned i = 0; i < rav_state_heap_count(s); i++)
		if (rav_state_heap_at(s, i, &h) && h.id == op->heap) {
			put(b, ": %u %s, %llu live %s", h.page_count, plural(h.page_count, "page", "pages"),
			    (unsigned long long)h.live_cells, plural(h.live_cells, "raviolo", "ravioli"));
			break;
		}
}

/* "→ top cell 3.47 moves into the hole → 2 pointers fixed" */
static void put_compaction(out_buf *b, rav_trace *t, const rav_state *s, const rav_operation *op,
                           bool after_free)
{
	if (op->moves == 1) {
		uint16_t mt = type_in_state(s, op->move_to);
		put(b, " → top cell %u.%u", rav_loc_page(op->move_from), rav_loc_cell(op->move_from));
		const char *n = has_fields(mt) ? type_name(t, mt) : NULL;
		if (n)
			put(b, " (%s)", n);
		put(b, " moves into the hole at %u.%u → %u %s fixed", rav_loc_page(op->move_to),
		    rav_loc_cell(op->move_to), op->fixups, plural(op->fixups, "pointer", "pointers"));
	} else if (op->moves > 1) {
		put(b, " → %u top cells move into the holes (the first %u.%u → %u.%u) → %u %s fixed",
		    op->moves, rav_loc_page(op->move_from), rav_loc_cell(op->move_from),
		    rav_loc_page(op->move_to), rav_loc_cell(op->move_to), op->fixups,
		    plural(op->fixups, "pointer", "pointers"));
	}
	if (op->trims && !op->moves && after_free)
		put(b, " → it was the top cell: the heap just shrinks");
	else if (op->trims && !op->moves)
		put(b, " → %u dead %s at the top trimmed, nothing moves", op->trims,
		    plural(op->trims, "cell", "cells"));
	else if (op->trims)
		put(b, ", %u dead %s at the top trimmed", op->trims, plural(op->trims, "cell", "cells"));
	if (op->pages_released)
		put(b, " → %u %s back to the pool", op->pages_released,
		    plural(op->pages_released, "page", "pages"));
}

size_t rav_operation_describe(rav_trace *t, const rav_state *s, const rav_operation *op, char *buf,
                              size_t len)
{
	out_buf b = {buf, len, 0};
	if (len)
		buf[0] = 0;
	uint16_t type = op->type ? op->type : type_in_state(s, op->cell);
	switch (op->kind) {
	case RAV_OP_ALLOC:
		put(&b, "new ");
		put_cell(&b, t, op->cell, type);
		if (op->slot) {
			put(&b, " in ");
			put_slot(&b, t, s, op->slot);
		}
		if (op->pages_acquired)
			put(&b, " (a new page from the pool)");
		if (op->frees > op->refs_removed) {
			put(&b, " → the old value freed");
			if (op->frees > 1 + op->refs_removed)
				put(&b, " with %u more in a cascade", op->frees - 1 - op->refs_removed);
		} else if (op->refs_removed) {
			put(&b, " → the old reference dropped (its target keeps its other referrer)");
		}
		if (op->refs_inserted)
			put(&b, " → %u reference %s added", op->refs_inserted,
			    plural(op->refs_inserted, "raviolo", "ravioli"));
		put_compaction(&b, t, s, op, false);
		break;
	case RAV_OP_FREE: {
		if (op->cell) {
			put_cell(&b, t, op->cell, type);
			put(&b, " freed");
		} else if (op->refs_removed) {
			put(&b, "one referrer fewer: reference raviolo removed");
		} else {
			put(&b, "slot cleared");
		}
		if (op->slot) {
			put(&b, " (");
			put_slot(&b, t, s, op->slot);
			put(&b, " cleared)");
		}
		/* An operation a live session's loss cut short may lack its frees. */
		uint32_t normal = op->frees > op->refs_removed ? op->frees - op->refs_removed : 0;
		if (normal > 1)
			put(&b, " with %u more in a cascade", normal - 1);
		if (op->refs_removed && op->cell)
			put(&b, ", %u reference %s removed", op->refs_removed,
			    plural(op->refs_removed, "raviolo", "ravioli"));
		put_compaction(&b, t, s, op, op->frees == 1 && op->trims == 1);
		if (!op->compactions && op->frees)
			put(&b, " → the hole waits for compaction");
		break;
	}
	case RAV_OP_STORE_REF:
		if (op->slot) {
			put_slot(&b, t, s, op->slot);
			put(&b, " now refers to ");
			put_cell(&b, t, op->target, type_in_state(s, op->target));
		} else {
			put(&b, "a reference moved");
		}
		if (op->refs_inserted)
			put(&b, " through %u new reference %s (it has several referrers)", op->refs_inserted,
			    plural(op->refs_inserted, "raviolo", "ravioli"));
		if (op->refs_removed)
			put(&b, "; %u reference %s removed", op->refs_removed,
			    plural(op->refs_removed, "raviolo", "ravioli"));
		if (op->frees > op->refs_removed && op->cell) {
			put(&b, " → the old value ");
			put_cell(&b, t, op->cell, op->type);
			put(&b, " freed");
			if (op->frees > op->refs_removed + 1)
				put(&b, " with %u more in a cascade", op->frees - op->refs_removed - 1);
		} else if (op->frees > op->refs_removed) {
			put(&b, " → the old value freed (%u %s)", op->frees - op->refs_removed,
			    plural(op->frees - op->refs_removed, "cell", "cells"));
		}
		put_compaction(&b, t, s, op, op->frees - op->refs_removed == 1 && op->trims == 1);
		break;
	case RAV_OP_STORE:
		put_slot(&b, t, s, op->slot);
		put(&b, " = %llu", (unsigned long long)op->value);
		break;
	case RAV_OP_SCALAR:
		put(&b, "scalar of ");
		put_cell(&b, t, op->cell, type);
		put(&b, " = %llu", (unsigned long long)op->value);
		break;
	case RAV_OP_COMPACT:
		if (op->frees)
			put(&b, "deferred free: %u %s", op->frees,
			    plural(op->frees, "cell dies", "cells die"));
		else
			put(&b, "compaction step");
		put_compaction(&b, t, s, op, false);
		if (!op->moves && !op->trims && !op->frees)
			put(&b, ": nothing to move");
		break;
	case RAV_OP_ROOT:
		put(&b, "root slot %u.%u.%u", rav_loc_page(op->slot), rav_loc_cell(op->slot),
		    rav_loc_word(op->slot));
		if (!op->value) {
			put(&b, " given to the program");
			if (op->allocs)
				put(&b, " (a new root cell%s)",
				    op->pages_acquired ? " on a new root page" : "");
			break;
		}
		put(&b, " given back");
		if (op->cell) {
			put(&b, ", the ");
			put_cell(&b, t, op->cell, type);
			put(&b, " it held freed");
			if (op->frees > 1 + op->refs_removed)
				put(&b, " with %u more in a cascade", op->frees - 1 - op->refs_removed);
		}
		put_compaction(&b, t, s, op, op->frees == 1 && op->trims == 1);
		break;
	case RAV_OP_MSG_NEW:
		put(&b, "message %u created: it is built in its own buffer pages", op->heap);
		break;
	case RAV_OP_SEND:
		put(&b, "message %u sent on channel %u: its %llu %s the thread (nothing is copied)", op->heap,
		    op->channel, (unsigned long long)op->value,
		    plural(op->value, "page leaves", "pages leave"));
		break;
	case RAV_OP_RECEIVE:
	case RAV_OP_DESERIALIZE:
		if (op->kind == RAV_OP_RECEIVE)
			put(&b, "message %u received from channel %u: %u %s handed over", op->heap,
			    op->channel, op->pages_handed, plural(op->pages_handed, "page", "pages"));
		else
			put(&b, "deserialized %u %s: %u %s loaded and handed over", op->allocs,
			    plural(op->allocs, "cell", "cells"), op->pages_handed,
			    plural(op->pages_handed, "page", "pages"));
		if (op->evacuated)
			put(&b, " → the %u %s of the old top page move%s up after the arrived ones",
			    op->evacuated, plural(op->evacuated, "cell", "cells"),
			    op->evacuated == 1 ? "s" : "");
		if (op->frees)
			put(&b, " → %u %s", op->frees, plural(op->frees, "hole", "holes"));
		if (op->moves > op->evacuated)
			put(&b, " → arrival compaction moves %u %s into %s", op->moves - op->evacuated,
			    plural(op->moves - op->evacuated, "cell", "cells"),
			    op->frees == 1 ? "it" : "them");
		if (op->moves)
			put(&b, ", %u %s fixed", op->fixups, plural(op->fixups, "pointer", "pointers"));
		if (op->trims)
			put(&b, ", %u trimmed at the top", op->trims);
		if (op->pages_released)
			put(&b, " → %u %s back to the pool", op->pages_released,
			    plural(op->pages_released, "page", "pages"));
		break;
	case RAV_OP_COLLECT:
		put(&b, "collection: %llu unreachable %s freed", (unsigned long long)op->value,
		    plural(op->value, "raviolo", "ravioli"));
		put_compaction(&b, t, s, op, false);
		break;
	case RAV_OP_SERIALIZE:
		put(&b, "message %u serialized: %llu bytes written", op->heap, (unsigned long long)op->value);
		break;
	case RAV_OP_ACCESS:
		put(&b, "%u memory %s (%u %s, %u %s)", op->reads + op->writes,
		    plural(op->reads + op->writes, "access", "accesses"), op->reads,
		    plural(op->reads, "read", "reads"), op->writes, plural(op->writes, "write", "writes"));
		break;
	case RAV_OP_PAGES:
		if (op->pages_acquired)
			put(&b, "%u %s taken from the pool", op->pages_acquired,
			    plural(op->pages_acquired, "page", "pages"));
		else if (op->pages_released)
			put(&b, "heap torn down: %u %s back to the pool", op->pages_released,
			    plural(op->pages_released, "page", "pages"));
		else
			put(&b, "heap ended");
		break;
	case RAV_OP_THREAD: {
		rav_event ev;
		if (!rav_trace_event_at(t, op->mark_event, &ev))
			ev.kind = RAV_EV_NONE;
		if (ev.kind == RAV_EV_THREAD_NAME)
			put(&b, "the thread names itself \"%s\"", ev.text ? ev.text : "");
		else if (ev.kind == RAV_EV_THREAD_END)
			put(&b, "thread of heap %u ends", op->heap);
		else
			put(&b, "a thread starts with its own heap (heap %u)", op->heap);
		break;
	}
	case RAV_OP_MARK:
	case RAV_OP_ERROR: {
		rav_event ev;
		if (rav_trace_event_at(t, op->mark_event, &ev) && ev.text)
			put(&b, op->kind == RAV_OP_MARK ? "mark: %s" : "error: %s", ev.text);
		else
			put(&b, op->kind == RAV_OP_MARK ? "mark" : "error");
		break;
	}
	case RAV_OP_SNAPSHOT:
		put_snapshot(&b, t, s, op);
		break;
	case RAV_OP_ADOPT:
		put(&b, "moved into message %u: %u %s of %llu %s handed as %s (nothing copied)", op->heap,
		    op->pages_handed, plural(op->pages_handed, "page", "pages"), (unsigned long long)op->value,
		    plural(op->value, "cell", "cells"), op->pages_handed == 1 ? "it is" : "they are");
		if (op->frees)
			put(&b, " → the last page's %u empty %s become holes", op->frees,
			    plural(op->frees, "cell", "cells"));
		break;
	case RAV_OP_LOST:
		put(&b, "%llu %s lost by the live session: every heap is forgotten until its next snapshot",
		    (unsigned long long)op->value, plural(op->value, "event", "events"));
		break;
	default:
		if (op->value)
			put(&b, "%llu %s defined", (unsigned long long)op->value,
			    plural(op->value, "type", "types"));
		else
			put(&b, "%u %s of bookkeeping", op->events, plural(op->events, "event", "events"));
		break;
	}
	return b.used;
}
