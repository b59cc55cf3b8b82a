/* explain.c - what an event means in the model's words, and the glossary
 * of those words (ravtrace.h: rav_event_explain, rav_glossary_*).
 *
 * One sentence or two per event kind: what happened, then why the model
 * does it (a move happens because the heap keeps no gaps; a fix-up is
 * possible because every reference is known both ways).  The CLI prints
 * them (`ravtrace dump --explain`) and the viewer shows them for the
 * current event with the glossary's terms as links, so the wording lives
 * here once.  A state just after the event, when given, names the types
 * of the cells and says which word of a cell a slot is (a field, a
 * back-link, a root slot); without it the sentences stay generic.
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

/* The cell's state after the event (0 type when unknown). */
static bool cell_in(const rav_state *s, rav_loc cell, rav_state_cell *out)
{
	return s && cell && !(cell & RAV_LOC_EXTERNAL) &&
	       rav_state_cell_at(s, rav_loc_page(cell), rav_loc_cell(cell), out);
}

static uint16_t live_type(const rav_state *s, rav_loc cell)
{
	rav_state_cell c;
	return cell_in(s, cell, &c) && c.state == RAV_CELL_LIVE ? c.type : 0;
}

static const char *type_name(rav_trace *t, uint16_t type)
{
	return rav_trace_type_name(t, type);
}

/* Ravioli whose words 1 and 2 are fields: user types and the engine's
 * vectors and strings. */
static bool has_fields(uint16_t type)
{
	return type >= RAV_TYPE_VEC;
}

static void put_cell(out_buf *b, rav_trace *t, rav_loc cell, uint16_t type)
{
	put(b, "%u.%u", rav_loc_page(cell), rav_loc_cell(cell));
	const char *n = type ? type_name(t, type) : NULL;
	if (n && has_fields(type))
		put(b, " (a %s)", n);
}

/* What a slot (a word location) is: "field 1 of 3.2 (a node)", "the
 * back-link of 3.2", "root slot 0.1.2", "a back-link of reference raviolo
 * 3.9". */
static void put_slot(out_buf *b, rav_trace *t, const rav_state *s, rav_loc slot)
{
	rav_loc cell = cell_of(slot);
	unsigned w = rav_loc_word(slot);
	uint16_t type = live_type(s, cell);
	if (type == RAV_TYPE_ROOT) {
		put(b, "root slot %u.%u.%u", rav_loc_page(slot), rav_loc_cell(slot), w);
	} else if (type == RAV_TYPE_REF) {
		put(b,
		    w == RAV_W_FWD ? "the forward link of reference raviolo %u.%u"
		                   : "a back-link of reference raviolo %u.%u",
		    rav_loc_page(slot), rav_loc_cell(slot));
	} else if (has_fields(type) && w == RAV_W_BACK) {
		put(b, "the back-link of ");
		put_cell(b, t, cell, type);
	} else if (has_fields(type) && (w == RAV_W_F0 || w == RAV_W_F1)) {
		put(b, "field %u of ", w - 1);
		put_cell(b, t, cell, type);
	} else {
		put(b, "slot %u.%u.%u", rav_loc_page(slot), rav_loc_cell(slot), w);
	}
}

static void put_value(out_buf *b, rav_loc v)
{
	if (!v)
		put(b, "nothing");
	else if (rav_loc_word(v))
		put(b, "slot %u.%u.%u", rav_loc_page(v), rav_loc_cell(v), rav_loc_word(v));
	else
		put(b, "%u.%u", rav_loc_page(v), rav_loc_cell(v));
}

static void put_thread(out_buf *b, rav_trace *t, uint32_t id)
{
	rav_trace_thread th;
	if (rav_trace_thread_by_id(t, id, &th) && th.name[0])
		put(b, "%s (heap %u)", th.name, id);
	else
		put(b, "heap %u", id);
}

/* A move of a receive made before its compaction began went up, not down
 * into a hole: the arrival moving the receiver's cells after the arrived
 * ones (rav-record.h, RAV_EV_MOVE). */
static bool moved_up(rav_trace *t, const rav_event *e)
{
	rav_operation op;
	if (!rav_trace_operation_at(t, e->index, &op) ||
	    (op.kind != RAV_OP_RECEIVE && op.kind != RAV_OP_DESERIALIZE) || !op.evacuated)
		return false;
	rav_event_filter f = {
	    .kinds = (uint64_t)1 << RAV_EV_COMPACT_BEGIN, .thread = e->thread, .from = op.first};
	return rav_trace_find_prev(t, e->index, &f) < 0;
}

/* A heap as the state after its snapshot holds it: ": 3 pages holding
 * 120 live ravioli" (nothing without a state that has it). */
static void put_heap_size(out_buf *b, const rav_state *s, uint64_t after, uint32_t heap)
{
	if (!s || rav_state_position(s) <= after)
		return;
	rav_state_heap h;
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		if (!rav_state_heap_at(s, i, &h) || h.id != heap)
			continue;
		put(b, ": %u page%s holding %llu live raviol%s", h.page_count, h.page_count == 1 ? "" : "s",
		    (unsigned long long)h.live_cells, h.live_cells == 1 ? "o" : "i");
		return;
	}
}

/* A snapshot event: a live session's picture of one heap, of the types or
 * of the pool (rav-record.h, trace/FORMAT.md section 11). */
static void put_snapshot(out_buf *b, rav_trace *t, const rav_state *s, const rav_event *e)
{
	switch (e->aux) {
	case RAV_SNAP_TYPES:
		put(b, "A snapshot of the types the program had registered when ravscope attached to it. A "
		       "recording that attaches to a running program cannot replay from an empty heap: it "
		       "starts from snapshots of the types, the pool and every heap.");
		return;
	case RAV_SNAP_POOL:
		put(b, "A snapshot of the pool of free pages when ravscope attached to the running program: "
		       "which pages were free. Heaps take their pages from it and give them back.");
		return;
	case RAV_SNAP_HEAP:
		break;
	default:
		put(b, "A snapshot of a kind (%u) this version does not know.", e->aux);
		return;
	}
	if (e->b == RAV_SNAP_IN_FLIGHT) {
		put(b,
		    "A snapshot of message %u, in flight in a channel's queue, taken under the channel's "
		    "lock",
		    e->x);
		put_heap_size(b, s, e->index, e->x);
		put(b, ". Whoever receives it takes its pages as they are.");
		return;
	}
	put(b, "A snapshot of ");
	put_thread(b, t, e->x);
	if (e->b == RAV_SNAP_PARKED)
		put(b, ", taken while its thread waited in a receive (under the channel's lock)");
	else
		put(b, ", taken by its own thread at its next engine call (a safe point: no operation is "
		       "half done)");
	put_heap_size(b, s, e->index, e->x);
	put(b, ". The recording attached to a running program, so what happened before is not in the "
	       "trace: replay starts this heap from the snapshot, and its events change it from here on.");
}

size_t rav_event_explain(rav_trace *t, const rav_state *s, const rav_event *e, char *buf, size_t len)
{
	out_buf b = {buf, len, 0};
	if (len)
		buf[0] = 0;
	switch (e->kind) {
	case RAV_EV_TIME:
		put(&b,
		    "A clock reading. The trace notes the processor's time now and then, so the events of "
		    "different threads can be put in one order and shown in microseconds.");
		break;
	case RAV_EV_THREAD_START:
		put(&b,
		    "A thread starts and gets its own heap (heap %u). Each thread allocates only in its own "
		    "heap, and no thread may hold a reference into another thread's heap.",
		    e->x);
		break;
	case RAV_EV_THREAD_NAME:
		put(&b, "The thread of heap %u names itself \"%s\".", e->x, e->text ? e->text : "");
		break;
	case RAV_EV_THREAD_END:
		put(&b, "The thread of heap %u ends; the pages its heap still held went back to the pool.",
		    e->x);
		break;
	case RAV_EV_HEAP_NEW:
		if (e->aux == RAV_HEAP_MESSAGE) {
			put(&b, "Message heap %u is created by ", e->x);
			put_thread(&b, t, (uint32_t)e->a);
			put(&b,
			    ". A message is built in its own buffer pages, apart from the thread's heap, so "
			    "that the pages can be handed over whole when it is sent.");
		} else {
			put(&b,
			    "Heap %u is created for its thread: a list of pages that only this thread "
			    "allocates in.",
			    e->x);
		}
		break;
	case RAV_EV_HEAP_END:
		put(&b,
		    "Heap %u ends: a message whose pages joined the receiver's heap, or a heap torn "
		    "down with its thread.",
		    e->x);
		break;
	case RAV_EV_TYPE_DEF:
		put(&b,
		    "Type %u \"%s\" is defined: field 0 holds %s, field 1 holds %s. The engine keeps a "
		    "back-link for every reference, so it must know which fields are references.",
		    e->aux, e->text ? e->text : "", (e->x & 1) ? "a reference" : "data",
		    (e->x & 2) ? "a reference" : "data");
		break;
	case RAV_EV_PAGE_ACQUIRE:
		put(&b, "Page %u comes from the pool ", rav_loc_page(e->a));
		if (e->aux == RAV_PAGE_BUFFER)
			put(&b,
			    "as a buffer page of message heap %u: the message is built there, apart from the "
			    "sender's heap.",
			    e->x);
		else if (e->aux == RAV_PAGE_ROOT)
			put(&b,
			    "as a root page of heap %u: it holds root cells, whose words are the program's "
			    "roots.",
			    e->x);
		else
			put(&b,
			    "into heap %u: the current page is full, so the top of the heap continues on a "
			    "new "
			    "page. Taking a page from the pool is the only moment threads coordinate to "
			    "allocate.",
			    e->x);
		break;
	case RAV_EV_PAGE_RELEASE:
		put(&b,
		    "Page %u leaves heap %u and goes back to the pool. A heap keeps one empty page in hand "
		    "and "
		    "returns a second one (the two-empty-page rule); a heap that ends returns them all.",
		    rav_loc_page(e->a), e->x);
		break;
	case RAV_EV_PAGE_HANDOFF:
		put(&b, "Page %u is handed over from heap %llu to ", rav_loc_page(e->a),
		    (unsigned long long)e->b);
		put_thread(&b, t, e->x);
		put(&b,
		    ": a message moves whole pages from one thread to another by relinking them. Nothing is "
		    "copied, and no pointer into the sender's heap is left behind.");
		break;
	case RAV_EV_PAGE_TO_MSG:
		put(&b, "Page %llu leaves heap %llu for message heap %u with its %u cells: the structure "
		    "being sent was built last, at the top of the heap, so its pages join the message as "
		    "they are instead of being copied cell by cell.",
		    (unsigned long long)e->a, (unsigned long long)e->b, e->x, e->aux ? e->aux - 1 : 0);
		break;
	case RAV_EV_ALLOC:
		if (e->aux == RAV_TYPE_REF) {
			put(&b,
			    "Reference raviolo %u.%u is allocated: a raviolo that gets a second referrer "
			    "needs "
			    "one, because a raviolo has room for only one back-link.",
			    rav_loc_page(e->a), rav_loc_cell(e->a));
		} else if (e->aux == RAV_TYPE_ROOT) {
			put(&b,
			    "Root cell %u.%u is allocated: its three words are root slots, which the program "
			    "uses to hold on to ravioli across engine calls.",
			    rav_loc_page(e->a), rav_loc_cell(e->a));
		} else {
			put(&b, "A new raviolo ");
			put_cell(&b, t, e->a, (uint16_t)e->aux);
			put(&b, " is allocated at the top of the heap (or in a hole waiting to be filled): "
			        "allocation is a bump of the top, so it is O(1) and leaves no gap.");
		}
		break;
	case RAV_EV_FREE:
		if (e->aux == 0) {
			put(&b,
			    "Cell %u.%u becomes a hole: a message's pages joined the heap, and the unused "
			    "tail "
			    "of a page that is no longer at the top must not stay a gap. Arrival compaction "
			    "will "
			    "fill it.",
			    rav_loc_page(e->a), rav_loc_cell(e->a));
		} else if (e->aux == RAV_TYPE_REF) {
			put(&b,
			    "Reference raviolo %u.%u is freed: its target has one referrer fewer, so the "
			    "tree of "
			    "reference ravioli above it shrinks.",
			    rav_loc_page(e->a), rav_loc_cell(e->a));
		} else if (e->aux == RAV_TYPE_ROOT) {
			put(&b,
			    "The arrived message's root cell %u.%u becomes a hole: its reference now lives "
			    "in "
			    "the receiver's root.",
			    rav_loc_page(e->a), rav_loc_cell(e->a));
		} else {
			put(&b, "Raviolo ");
			put_cell(&b, t, e->a, (uint16_t)e->aux);
			put(&b, " is freed: nothing refers to it any more. Its outgoing references are "
			        "dropped (a "
			        "child left with no referrer dies too), and the cell becomes a hole that "
			        "compaction "
			        "fills by moving the top cell into it.");
		}
		break;
	case RAV_EV_MOVE:
		if (moved_up(t, e)) {
			/* An arrival that moves the receiver's cells after the arrived ones. */
			put(&b,
			    "Arrival: cell %u.%u of the receiver's old, partly filled top page moves up to "
			    "%u.%u, "
			    "after the cells that arrived; once its cells are gone that page goes back to "
			    "the pool, "
			    "and the heap has no gap. Its referrer and its children's back-links are fixed "
			    "next.",
			    rav_loc_page(e->a), rav_loc_cell(e->a), rav_loc_page(e->b), rav_loc_cell(e->b));
			break;
		}
		put(&b, "Compaction: the top cell %u.%u", rav_loc_page(e->a), rav_loc_cell(e->a));
		{
			uint16_t ty = live_type(s, e->b);
			const char *n = has_fields(ty) ? type_name(t, ty) : NULL;
			if (n)
				put(&b, " (a %s)", n);
			else if (ty == RAV_TYPE_REF)
				put(&b, " (a reference raviolo)");
		}
		put(&b,
		    " moves into the hole at %u.%u, and the top of the heap shrinks by one, so the heap "
		    "keeps no gaps. Every reference is known both ways, so the engine knows exactly what to "
		    "fix next: the slot that referred to the cell and the back-links of its children.",
		    rav_loc_page(e->b), rav_loc_cell(e->b));
		break;
	case RAV_EV_TRIM:
		put(&b,
		    "The dead cell %u.%u is at the top of the heap: it is simply dropped and the top shrinks "
		    "by one; nothing needs to move.",
		    rav_loc_page(e->a), rav_loc_cell(e->a));
		break;
	case RAV_EV_FIXUP:
		put(&b, "Fix-up after a move: ");
		put_slot(&b, t, s, e->a);
		put(&b, " named ");
		put_value(&b, e->b);
		put(&b, ", the moved cell's old place; it now names ");
		put_value(&b, e->c);
		put(&b, ". ");
		if (rav_loc_word(e->c))
			put(&b, "A back-link always names the one slot that refers to its cell.");
		else
			put(&b,
			    "The moved cell's back-link said which slot this was, so no search was needed.");
		break;
	case RAV_EV_REF_STORE:
		put(&b, "The program stores a reference: ");
		put_slot(&b, t, s, e->a);
		put(&b, " now refers to ");
		put_value(&b, e->c);
		put(&b, ". The target's back-link will name this slot, so a later move of the target can fix "
		        "it.");
		break;
	case RAV_EV_REF_CLEAR: {
		put_slot(&b, t, s, e->a);
		put(&b, " is cleared (it referred to ");
		put_value(&b, e->b);
		put(&b, "). ");
		if (live_type(s, cell_of(e->b)) == RAV_TYPE_REF)
			put(&b, "That was a reference raviolo: it is spliced out and its other referrer "
			        "takes its "
			        "target.");
		else
			put(&b, "A normal raviolo has exactly one referrer, so the old target is now "
			        "unreferenced: "
			        "it is freed with everything only it referred to (a cascade), unless a "
			        "collection "
			        "is cutting garbage apart.");
		break;
	}
	case RAV_EV_DATA_STORE:
		put(&b, "A data field is written: ");
		put_slot(&b, t, s, e->a);
		put(&b, " = %llu (was %llu). Data fields hold plain numbers, so no link changes.",
		    (unsigned long long)e->c, (unsigned long long)e->b);
		break;
	case RAV_EV_LINK:
		put(&b, "A link word is written by the engine: ");
		put_slot(&b, t, s, e->a);
		put(&b, " = ");
		put_value(&b, e->c);
		put(&b,
		    ". Back-links and forward links are how every reference is known in both directions.");
		break;
	case RAV_EV_TYPE_WORD: {
		uint16_t ty = (uint16_t)(e->c & RAV_TYPE_MASK);
		put(&b, "The type word of %u.%u changes: scalar %llu -> %llu.", rav_loc_page(e->a),
		    rav_loc_cell(e->a), (unsigned long long)(e->b >> RAV_SCALAR_SHIFT),
		    (unsigned long long)(e->c >> RAV_SCALAR_SHIFT));
		if (ty == RAV_TYPE_REF)
			put(&b,
			    " A reference raviolo's scalar counts the referrers below it, which keeps the "
			    "tree of reference ravioli balanced.");
		else
			put(&b, " The spare high bits of the type word hold a small number for the program.");
		break;
	}
	case RAV_EV_REFRAV_INSERT:
		put(&b, "Reference raviolo %u.%u is inserted above ", rav_loc_page(e->a), rav_loc_cell(e->a));
		put_value(&b, cell_of(e->b));
		put(&b,
		    ": the target gets one more referrer, and since a raviolo has one back-link, its "
		    "referrers are joined by a small balanced tree of reference ravioli, each with a forward "
		    "link and two back-links.");
		break;
	case RAV_EV_REFRAV_REMOVE:
		put(&b,
		    "Reference raviolo %u.%u is removed: one of its two referrers went away, so the other "
		    "takes its target directly.",
		    rav_loc_page(e->a), rav_loc_cell(e->a));
		break;
	case RAV_EV_ROOT_NEW:
		put(&b,
		    "Root slot %u.%u.%u is given to the program. Roots are slots the engine owns and fixes "
		    "up: a raw pointer on the C stack would go stale at the next move, a root never does.",
		    rav_loc_page(e->a), rav_loc_cell(e->a), rav_loc_word(e->a));
		break;
	case RAV_EV_ROOT_FREE:
		put(&b, "Root slot %u.%u.%u is given back.", rav_loc_page(e->a), rav_loc_cell(e->a),
		    rav_loc_word(e->a));
		break;
	case RAV_EV_MSG_BUILD:
		put(&b,
		    "Message %u is building: its sender allocates into its buffer pages; once sent it is in "
		    "flight until a thread receives it.",
		    e->x);
		break;
	case RAV_EV_MSG_SEND:
		put(&b,
		    "Message %u is sent on channel %llu: its %llu page%s are now in flight and will be "
		    "handed "
		    "over whole to the receiving thread. Nothing is copied.",
		    e->x, (unsigned long long)e->a, (unsigned long long)e->b, e->b == 1 ? "" : "s");
		break;
	case RAV_EV_MSG_RECV:
		put_thread(&b, t, (uint32_t)e->b);
		put(&b,
		    " receives message %u from channel %llu: the message's pages are linked into its heap, "
		    "then arrival compaction fills the holes they bring.",
		    e->x, (unsigned long long)e->a);
		break;
	case RAV_EV_COMPACT_BEGIN:
		switch (e->aux) {
		case RAV_COMPACT_ARRIVAL:
			put(&b,
			    "Arrival compaction begins in heap %u: cells from the top move into the holes an "
			    "arriving message left, restoring \"no gaps\".",
			    e->x);
			break;
		case RAV_COMPACT_DEFERRED:
			put(&b,
			    "A deferred compaction step begins in heap %u: the heap queued its holes "
			    "(deferred "
			    "free mode) and fills them now, in a bounded step.",
			    e->x);
			break;
		case RAV_COMPACT_COLLECT:
			put(&b, "Compaction after a collection begins in heap %u: the garbage left holes.",
			    e->x);
			break;
		default:
			put(&b,
			    "Compaction begins in heap %u after a free: the top cells move into the holes "
			    "until "
			    "none is left.",
			    e->x);
			break;
		}
		break;
	case RAV_EV_COMPACT_END:
		put(&b, "Compaction ends: %llu cell%s moved; heap %u has no gaps again.",
		    (unsigned long long)e->a, e->a == 1 ? "" : "s", e->x);
		break;
	case RAV_EV_SERIALIZE:
		put(&b,
		    "Message heap %u is serialized: %llu cells written as %llu bytes. Its pointers are "
		    "written as page + offset, to be rewritten when read back.",
		    e->x, (unsigned long long)e->a, (unsigned long long)e->b);
		break;
	case RAV_EV_DESERIALIZE:
		put(&b,
		    "%llu cells are read back (%llu bytes) for heap %u: the page bits of every pointer are "
		    "rewritten to the real pages (a fix-up pass), then the pages join the heap like an "
		    "arriving message.",
		    (unsigned long long)e->a, (unsigned long long)e->b, e->x);
		break;
	case RAV_EV_GC_BEGIN:
		put(&b,
		    "A collection begins in heap %u: every raviolo reachable from the roots is marked; the "
		    "rest, such as cycles that back-links alone never free, will be freed.",
		    e->x);
		break;
	case RAV_EV_GC_END:
		put(&b, "The collection ends: %llu unreachable ravioli freed in heap %u.",
		    (unsigned long long)e->a, e->x);
		break;
	case RAV_EV_ERROR:
		/* status 0: not the engine's; the recorder's note that the program
		 * died of a signal (trace/recorder.c) */
		if (e->aux == 0)
			put(&b, "The recording ends: %s.", e->text ? e->text : "(no message)");
		else
			put(&b, "The engine reported an error: %s", e->text ? e->text : "(no message)");
		break;
	case RAV_EV_MARK:
		put(&b, "The program marked this moment: \"%s\".", e->text ? e->text : "");
		break;
	case RAV_EV_ACCESS:
		put(&b, "A recorded memory %s of %llu bytes ", e->aux ? "write" : "read",
		    (unsigned long long)e->b);
		if (e->a & RAV_LOC_EXTERNAL)
			put(&b, "at 0x%llx, outside the ravioli heap (malloc'd memory). ",
			    (unsigned long long)(e->a & ~RAV_LOC_EXTERNAL));
		else {
			put(&b, "of ");
			put_slot(&b, t, s, e->a);
			put(&b, ". ");
		}
		put(&b, "The cache model replays these to count cache lines moving between cores.");
		break;
	case RAV_EV_SNAPSHOT:
		put_snapshot(&b, t, s, e);
		break;
	case RAV_EV_LOST:
		put(&b,
		    "The live session lost %llu event%s: the program made them faster than ravscope took "
		    "them, and it does not wait for a slow reader. What changed in between is unknown, so "
		    "every heap is forgotten here (the types stay); the snapshots that follow show each heap "
		    "as it is afterwards.",
		    (unsigned long long)e->a, e->a == 1 ? "" : "s");
		break;
	default:
		put(&b, "An event of kind %u that this version does not know.", e->kind);
		break;
	}
	/* Sentences that open with a slot's name ("root slot ...") start a line. */
	if (len && buf[0] >= 'a' && buf[0] <= 'z')
		buf[0] = (char)(buf[0] - 'a' + 'A');
	return b.used;
}

/* ---- glossary ------------------------------------------------------------------ */

static const rav_glossary_entry glossary[] = {
    {"raviolo", "Raviolo", "ravioli|raviolo",
     "The unit of ravioli memory: a cell of four machine words (32 bytes on a 64-bit machine), aligned so "
     "it never straddles a cache line. Word 0 is the type word, words 1 and 2 are its fields, word 3 its "
     "back-link. Anything bigger than one raviolo (a vector, a string) is a tree of ravioli."},
    {"top", "Top of the heap", "top of the heap|top cells|top cell|the top",
     "A heap's live ravioli are packed without gaps; the top is the cell after the last live one. An "
     "allocation takes the cell at the top (a bump); a free moves the top cell into the hole it made."},
    {"hole", "Hole", "holes|hole",
     "A cell freed in the middle of the heap. It does not stay: compaction moves the top cell into it. "
     "In deferred mode it waits as a dead cell until a compaction step."},
    {"back-link", "Back-link", "back-links|back-link",
     "Word 3 of a raviolo: the address of the one slot that refers to it. With back-links every reference "
     "is known in both directions, so moving a cell costs O(1): fix the slot that points at it and the "
     "back-links of its children."},
    {"reference-raviolo", "Reference raviolo", "reference ravioli|reference raviolo",
     "A raviolo that stands for an extra referrer. A raviolo has room for one back-link, so when several "
     "slots refer to it, reference ravioli form a small balanced tree above it: each has a forward link to "
     "its target and two back-links to the slots pointing at it. k referrers cost about k-1 reference "
     "ravioli, and a dereference walks O(log k) hops."},
    {"dead-cell", "Dead cell", "dead cells|dead cell",
     "A freed cell waiting for compaction. In immediate mode a hole is filled at once; in deferred mode "
     "dead cells are queued and filled in bounded steps (rav_compact)."},
    {"page-header", "Page header", "page headers|page header",
     "The first cell of every page, reserved: it links the heap's pages into a list (and the pool's free "
     "pages into another) and records the page's fill and kind, so a heap's pages need not be "
     "contiguous."},
    {"building", "Building / in flight", "in flight|building",
     "A message is building while its sender allocates into its buffer pages, and in flight from the "
     "moment it is sent until a thread receives it. Buffer pages are never compacted while in flight."},
    {"pool", "Pool", "pool",
     "The process-wide store of free pages. A heap takes a page from the pool when its top page is full "
     "and gives pages back when it has two empty ones: the only coordination between threads for "
     "allocation."},
    {"hand-off", "Hand-off", "hand-offs|hand-off|handed over",
     "Sending a message hands its pages to the receiver by unlinking them from one page list and linking "
     "them into another. Nothing is copied, and no thread ever points into another thread's heap."},
    {"arrival-compaction", "Arrival compaction", "arrival compaction",
     "When a message's pages join a heap, the receiver's partly filled top page would leave a gap. Either "
     "its few cells move up after the arrived ones and the emptied page goes back to the pool, or its "
     "empty tail becomes holes that cells from the top fill: whichever moves fewer cells. The unused tails "
     "of the other arrived pages become holes too. Afterwards the message is ordinary heap memory."},
    {"compaction", "Compaction", "compaction",
     "Filling holes by moving the top cell into each one, fixing the slot that referred to the moved cell "
     "and the back-links of its children; the heap shrinks from the top."},
    {"move", "Move", "moves|move",
     "One step of compaction: the top cell's four words are copied into a hole and the top shrinks by "
     "one. Fix-ups follow."},
    {"fix-up", "Fix-up", "fix-ups|fix-up|pointers fixed",
     "After a move, a word that named the moved cell's old place (the slot referring to it, or a child's "
     "back-link) is rewritten to name the new place. Back-links say exactly which words these are."},
    {"slot", "Slot", "slots|slot",
     "A word that refers to a raviolo: a reference field of another raviolo, a root, or a link word of a "
     "reference raviolo. A normal raviolo is referred to by exactly one slot."},
    {"root", "Root", "root slots|root slot|roots|root",
     "A slot the engine owns for the program: the way a program keeps hold of a raviolo across engine "
     "calls, since any free may move any cell and a raw pointer would go stale. Root slots live in root "
     "cells on root pages."},
    {"borrow", "Borrow", "borrows|borrow",
     "A raw pointer to a raviolo, valid between two engine calls only: any call that frees may move cells. "
     "Debug builds report a stale borrow with a precise message."},
    {"field", "Field", "fields|field",
     "Words 1 and 2 of a raviolo. Each holds data (a number) or a reference, as the raviolo's type says."},
    {"type-word", "Type word", "type word",
     "Word 0 of a raviolo: its type id, flag bits and, in the spare high bits, a small scalar."},
    {"heap", "Heap", "heaps|heap",
     "Each thread's own list of pages. A thread allocates only in its heap, and no thread may hold a "
     "reference into another thread's heap: that is what makes moving cells safe without stopping "
     "threads."},
    {"page", "Page", "pages|page",
     "4 KB of memory by default: 128 ravioli, the first of which is the page header. Heaps grow and "
     "shrink, and messages travel, a page at a time."},
    {"two-empty-page-rule", "Two-empty-page rule", "two-empty-page rule|two empty pages",
     "Hysteresis: a heap keeps one completely empty page in hand and returns a page to the pool only when "
     "it has two, so a heap whose size hovers at a page boundary does not hammer the pool."},
    {"message", "Message", "messages|message",
     "A small heap of its own, built in buffer pages and sent through a channel. On arrival its pages "
     "become part of the receiver's heap."},
    {"buffer-page", "Buffer page", "buffer pages|buffer page",
     "A page of a message: the sender builds the message there, apart from its heap top."},
    {"channel", "Channel", "channels|channel", "A queue of messages between threads."},
    {"cascade", "Cascade", "cascade",
     "Freeing a raviolo drops its outgoing references; a child left with no referrer is freed in turn, and "
     "so on down the structure."},
    {"deferred-mode", "Deferred mode", "deferred mode|deferred",
     "A heap may queue its dead cells and compact in bounded steps (rav_compact) instead of at once, so "
     "tearing down a large structure costs a bounded pause per step."},
    {"collection", "Collection", "collection|rav_collect",
     "rav_collect: every raviolo reachable from the roots is marked and the rest is freed. Back-links free "
     "a raviolo when its one referrer lets go, which never happens in a cycle; a collection finds it."},
    {"cycle", "Cycle", "cycles|cycle",
     "Ravioli that refer to each other in a ring: each keeps a referrer, so none is freed when the program "
     "lets go of the ring. Only a collection finds them unreachable."},
    {"serialization", "Serialization", "serialization|serialized|serialize",
     "Writing a message's buffer pages to a file or a socket. Pointers inside become page + offset and are "
     "rewritten to the real pages when read back (deserialization)."},
    {"cache-line", "Cache line", "cache lines|cache line",
     "64 bytes of memory that move between the cores' caches as one piece. A line written by one core and "
     "then used by another has to move."},
    {"transfer", "Transfer", "transfers|transfer",
     "A cache miss served by another core's cache: a cache line moving between cores. ravscope's cache "
     "model counts them from the recorded loads and stores."},
    {"invalidation", "Invalidation", "invalidations|invalidation",
     "A write that removes another core's copy of a cache line."},
    {"chatty", "Chatty threads", "chatty",
     "Threads that share memory and keep touching the same cache lines (a lock, counters, a queue), so "
     "lines bounce between cores all the time. The essays argue that ravioli messages confine that "
     "traffic to the moment of a hand-off."},
    {"trim", "Trim", "trimmed|trim",
     "A dead cell at the very top of the heap is dropped without a move: the top shrinks by one."},
    {"snapshot", "Snapshot", "snapshots|snapshot",
     "The state of one heap (or of the types, or of the pool) taken while the program runs, when "
     "ravscope attaches to it. A recording that starts late replays from its snapshots instead of from "
     "an empty heap, and after a loss fresh snapshots rebuild every heap."},
    {"safe-point", "Safe point", "safe points|safe point",
     "The start of an engine call, where no operation on the thread's heap is half done. A live session "
     "takes a heap's snapshot there, on the heap's own thread, so the program never stops for it."},
    {"lost-events", "Lost events", "lost events|events lost",
     "Events of a live session that never reached ravscope: the program does not wait for a slow "
     "reader. The heaps are forgotten at the loss and rebuilt from the snapshots that follow."},
    {"operation", "Operation", "operations|operation",
     "One thing the program asked of the engine, such as an allocation, a free or a send, and everything "
     "it caused: the events of one step in ravscope's operation stepping."},
    {"event", "Event", "events|event",
     "One recorded step of the engine: an allocation, a move, a fix-up, a page hand-off. Replaying the "
     "events rebuilds the heap exactly."},
};

unsigned rav_glossary_count(void)
{
	return sizeof glossary / sizeof glossary[0];
}

const rav_glossary_entry *rav_glossary_at(unsigned i)
{
	return i < rav_glossary_count() ? &glossary[i] : NULL;
}

const rav_glossary_entry *rav_glossary_find(const char *id)
{
	if (!id)
		return NULL;
	for (unsigned i = 0; i < rav_glossary_count(); i++)
		if (strcmp(glossary[i].id, id) == 0)
			return &glossary[i];
	return NULL;
}
