/* debugger.c - breakpoints of a live session: the client's control
 * messages (PAUSE, CONTINUE, STEP, BREAK_SET, BREAK_CLEAR, FORMAT.md
 * §12.5) turned into the engine's debugging primitives (rav_debug_* in
 * rav-record.h), and the engine's stops turned into SESSION records.
 *
 * The table of breakpoints is read on program threads, in the engine's
 * callback, for each event while event filtering is on (only when a
 * breakpoint other than a cell's is set) and for each event on a watched
 * cell; one mutex guards it (a debugged program runs slowly anyway, and
 * nothing of this runs without breakpoints).  A cell breakpoint follows
 * its cell: the engine reports the watched cell's moves, and the table's
 * address follows them.  A breakpoint on a call site carries plain address
 * ranges (the client resolved the user's function or line with the debug
 * information, FORMAT.md §12.5): the event's site, a word the engine keeps
 * per thread (rav_debug_site), is compared with them, so nothing is ever
 * symbolized on a thread of the program.  Such a breakpoint counts calls,
 * as gdb counts a location reached: one hit per engine call of the program
 * (rav_debug_call names it), at the first of its events the breakpoint
 * wants, however many it makes (a compaction's moves, a receive's pages);
 * the others count events.
 *
 * Every request is validated before use (sizes, ranges, ids, text length);
 * a bad one gets an ERROR record and changes nothing.  The session's end,
 * for whatever reason (the client detaching, closing or dying), removes
 * the debugger, which releases every held thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "session.h"

typedef struct bp {
	bool used;
	ravt_ctl_break req;
	char text[RAVT_BREAK_TEXT_MAX + 1];
	size_t text_len;
	uint64_t hits;
	uint64_t serial; /* told apart from an earlier breakpoint in the same slot */
	uintptr_t cell; /* CELL: where the cell is now (0: freed or never set) */
	uint64_t ranges[2 * RAVT_BREAK_SITE_RANGES_MAX]; /* AT_SITE: [lo, hi) pairs, run-time addresses */
	unsigned nranges;
	int watch_req;  /* CELL: the engine's request number while pending, else 0 */
	/* CELL: the PENDING record is posted.  break_set posts it after
	 * dropping D.lock (the session thread takes S.lock then D.lock), so
	 * the session thread's poll and a free on the cell's thread wait for
	 * it: a SET or GONE posted first would be followed by the PENDING one
	 * and the client would be left with a breakpoint that never settles. */
	bool announced;
	bool gone_unposted; /* the cell was freed before `announced` */
} bp;

static struct {
	pthread_mutex_t lock;
	bool installed;
	bp table[RAVT_BREAK_MAX];
	rav_debugger dbg;
} D = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* What the event callback found, for the `stopped` callback that follows
 * on the same thread. */
static _Thread_local struct {
	bool valid;
	uint32_t id;
	uint64_t hits;
	rav_raw_event e;
	uintptr_t cell;
	char text[160];
} tl_hit;

/* AT_SITE: per table slot, the engine call (rav_debug_call) this thread
 * last counted a hit in, and the breakpoint's serial then. */
static _Thread_local struct {
	uint64_t call, serial;
} tl_counted[RAVT_BREAK_MAX];
static uint64_t next_serial; /* under D.lock */

static void loc_of(uintptr_t addr, int64_t *page, int64_t *cell)
{
	size_t bytes = 0;
	char *base = rav_record_pool_base(&bytes);
	*page = *cell = -1;
	if (!base || addr < (uintptr_t)base || addr >= (uintptr_t)base + bytes)
		return;
	uintptr_t off = addr - (uintptr_t)base;
	*page = (int64_t)(off / RAV_PAGE_SIZE);
	*cell = (int64_t)((off % RAV_PAGE_SIZE) / RAV_CELL_SIZE);
}

/* An operand as libravtrace names it (rav_loc: page << 16 | cell << 2 |
 * word), -1 if it is not an address in the pool. */
static int64_t loc_word(uint64_t addr)
{
	int64_t page, cell;
	loc_of((uintptr_t)addr, &page, &cell);
	if (page < 0)
		return -1;
	return (page << 16) | (cell << 2) | (int64_t)((addr % RAV_CELL_SIZE) / sizeof(uintptr_t));
}

static void post_break(uint32_t id, int state, uintptr_t cell, const char *text)
{
	int64_t v[4] = {id, state, -1, -1};
	if (cell)
		loc_of(cell, &v[2], &v[3]);
	ravt_session_post(RAVT_SESSION_BREAK, v, 4, text);
}

/* Under D.lock: filtering is on while a breakpoint other than a cell's is set. */
static void update_filter_locked(void)
{
	bool any = false;
	for (unsigned i = 0; i < RAVT_BREAK_MAX; i++)
		if (D.table[i].used && D.table[i].req.what != RAVT_BREAK_CELL)
			any = true;
	rav_debug_filter(any);
}

static bool text_contains(const char *hay, size_t n, const char *needle, size_t m)
{
	if (m == 0)
		return true;
	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static bool matches(const bp *b, const rav_raw_event *e, const char *text, size_t len)
{
	unsigned kind = RAV_EV_KIND(e), aux = RAV_EV_AUX(e);
	switch (b->req.what) {
	case RAVT_BREAK_ALLOC:
		return kind == RAV_EV_ALLOC && (b->req.arg == 0 || aux == b->req.arg);
	case RAVT_BREAK_FREE:
		/* aux 0: an empty cell made a hole on arrival, not a raviolo freed */
		return kind == RAV_EV_FREE && aux != 0 && (b->req.arg == 0 || aux == b->req.arg);
	case RAVT_BREAK_KIND:
		return kind == b->req.arg && (!(b->req.flags & RAVT_BREAK_MATCH_AUX) || aux == b->req.arg2);
	case RAVT_BREAK_MARK:
		return kind == RAV_EV_MARK && text && text_contains(text, len, b->text, b->text_len);
	case RAVT_BREAK_ERROR:
		return kind == RAV_EV_ERROR && (b->req.arg == 0 || aux == b->req.arg);
	case RAVT_BREAK_ANY:
		return kind != RAV_EV_TIME;
	default:
		return false;
	}
}

/* AT_SITE: the call instruction (return address - 1, as a symbolizer
 * looks it up) in one of the ranges. */
static bool site_in(const bp *b, uintptr_t site)
{
	if (!site)
		return false;
	uint64_t call = (uint64_t)site - 1;
	for (unsigned i = 0; i < b->nranges; i++)
		if (call >= b->ranges[2 * i] && call < b->ranges[2 * i + 1])
			return true;
	return false;
}

static unsigned cell_condition(unsigned kind)
{
	switch (kind) {
	case RAV_EV_MOVE:
		return RAVT_BREAK_ON_MOVE;
	case RAV_EV_FIXUP:
		return RAVT_BREAK_ON_FIXUP;
	case RAV_EV_FREE:
		return RAVT_BREAK_ON_FREE;
	case RAV_EV_REF_STORE:
	case RAV_EV_REFRAV_INSERT:
		return RAVT_BREAK_ON_REFERRER;
	default:
		return 0;
	}
}

static bool on_event(const rav_raw_event *e, const char *text, size_t len, uint32_t heap_id,
                     uintptr_t watched, void *user)
{
	(void)user;
	unsigned kind = RAV_EV_KIND(e);
	bp *hit = NULL;
	bool stop_all = false;
	uint32_t gone[RAVT_BREAK_MAX];
	unsigned ngone = 0;
	uintptr_t site = 0; /* the thread's call site, read once, if a breakpoint asks */
	uint64_t call = 0;  /* and its engine call */
	bool site_known = false;
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < RAVT_BREAK_MAX; i++) {
		bp *b = &D.table[i];
		if (!b->used)
			continue;
		bool m;
		if (watched) {
			if (b->req.what != RAVT_BREAK_CELL || b->cell != watched)
				continue;
			unsigned want = b->req.flags & (RAVT_BREAK_ON_MOVE | RAVT_BREAK_ON_FIXUP |
			                                RAVT_BREAK_ON_FREE | RAVT_BREAK_ON_REFERRER);
			m = (want ? want : 0xfu) & cell_condition(kind);
			/* Follow the cell (whether or not this stops). */
			if (kind == RAV_EV_MOVE)
				b->cell = (uintptr_t)e->b;
			else if (kind == RAV_EV_FREE) {
				b->cell = 0;
				b->watch_req = 0; /* GONE says it all; no SET after it */
				if (b->announced)
					gone[ngone++] = b->req.id;
				else
					b->gone_unposted = true;
			}
		} else {
			if (b->req.what == RAVT_BREAK_CELL)
				continue;
			m = matches(b, e, text, len);
			if (m && (b->req.flags & RAVT_BREAK_AT_SITE)) {
				if (!site_known) {
					call = rav_debug_call();
					site = rav_debug_site();
					site_known = true;
				}
				m = site_in(b, site);
			}
		}
		if (!m || (b->req.thread && b->req.thread != heap_id))
			continue;
		if (b->req.flags & RAVT_BREAK_AT_SITE) {
			/* one hit per call: the rest of a call counted is no hit */
			if (call && tl_counted[i].call == call && tl_counted[i].serial == b->serial)
				continue;
			tl_counted[i].call = call;
			tl_counted[i].serial = b->serial;
		}
		b->hits++;
		if ((b->req.count == 0 || b->hits == b->req.count) && !hit) {
			hit = b;
			stop_all = b->req.flags & RAVT_BREAK_STOP_ALL;
		}
	}
	if (hit) {
		tl_hit.valid = true;
		tl_hit.id = hit->req.id;
		tl_hit.hits = hit->hits;
		tl_hit.e = *e;
		tl_hit.cell =
		    hit->req.what == RAVT_BREAK_CELL ? (kind == RAV_EV_MOVE ? (uintptr_t)e->b : watched) : 0;
		tl_hit.text[0] = 0;
		if (text && len)
			snprintf(tl_hit.text, sizeof tl_hit.text, "%.*s", (int)(len < 150 ? len : 150), text);
	}
	pthread_mutex_unlock(&D.lock);
	for (unsigned i = 0; i < ngone; i++)
		post_break(gone[i], RAVT_BREAK_STATE_GONE, 0, "the watched cell was freed");
	if (stop_all)
		rav_debug_pause(true);
	return hit != NULL;
}

static void on_stopped(uint32_t heap_id, rav_debug_why why, void *user)
{
	(void)user;
	uint32_t ids[1];
	int64_t v[11] = {heap_id, why, 0, 0, 0, 0, 0, 0, -1, -1, 0};
	char text[256] = "";
	if (why == RAV_DEBUG_BREAK && tl_hit.valid) {
		v[2] = tl_hit.id;
		v[3] = (int64_t)tl_hit.hits;
		v[4] = tl_hit.e.kind;
		v[5] = loc_word(tl_hit.e.a);
		v[6] = loc_word(tl_hit.e.b);
		v[7] = loc_word(tl_hit.e.c);
		if (tl_hit.cell)
			loc_of(tl_hit.cell, &v[8], &v[9]);
		snprintf(text, sizeof text, "breakpoint %u (hit %llu)%s%s", tl_hit.id,
		         (unsigned long long)tl_hit.hits, tl_hit.text[0] ? ": " : "", tl_hit.text);
	} else {
		snprintf(text, sizeof text, "%s",
		         why == RAV_DEBUG_PAUSE  ? "paused"
		         : why == RAV_DEBUG_STEP ? "step done"
		                                 : "stopped");
	}
	tl_hit.valid = false;
	/* This thread is listed as held before the callback: count it. */
	v[10] = rav_debug_held(ids, 0);
	ravt_session_post(RAVT_SESSION_STOPPED, v, 11, text);
}

static void on_resumed(uint32_t heap_id, void *user)
{
	(void)user;
	uint32_t ids[1];
	int64_t v[2] = {heap_id, rav_debug_held(ids, 0)};
	ravt_session_post(RAVT_SESSION_RESUMED, v, 2, NULL);
}

void ravt_debugger_start(void)
{
	pthread_mutex_lock(&D.lock);
	memset(D.table, 0, sizeof D.table);
	D.dbg = (rav_debugger){.event = on_event, .stopped = on_stopped, .resumed = on_resumed};
	D.installed = true;
	pthread_mutex_unlock(&D.lock);
	rav_debug_install(&D.dbg);
}

void ravt_debugger_stop(void)
{
	pthread_mutex_lock(&D.lock);
	bool was = D.installed;
	D.installed = false;
	memset(D.table, 0, sizeof D.table);
	pthread_mutex_unlock(&D.lock);
	if (was)
		rav_debug_install(
		    NULL); /* releases every held thread; watched cells lose their flag lazily */
}

/* Under D.lock: stop watching addr unless another breakpoint watches it. */
static void unwatch_locked(const bp *except, uintptr_t addr)
{
	if (!addr)
		return;
	for (unsigned i = 0; i < RAVT_BREAK_MAX; i++)
		if (&D.table[i] != except && D.table[i].used && D.table[i].req.what == RAVT_BREAK_CELL &&
		    D.table[i].cell == addr)
			return;
	rav_debug_watch(addr, false);
}

static void refuse(uint32_t id, const char *why)
{
	post_break(id, RAVT_BREAK_STATE_REFUSED, 0, why);
	ravt_session_reply_error(RAVT_LIVE_EPROTO, why);
}

static void break_set(const uint8_t *payload, uint32_t len)
{
	ravt_ctl_break r;
	if (len < sizeof r || len > sizeof r + RAVT_BREAK_TEXT_MAX) {
		ravt_session_reply_error(RAVT_LIVE_EPROTO, "BREAK_SET: the payload must be 32 to 288 bytes");
		return;
	}
	memcpy(&r, payload, sizeof r);
	size_t tlen = len - sizeof r;
	char why[160];
	if (r.id == 0) {
		ravt_session_reply_error(RAVT_LIVE_EPROTO, "BREAK_SET: breakpoint id 0 is reserved");
		return;
	}
	if (r.what < 1 || r.what > RAVT_BREAK_WHAT_LAST) {
		snprintf(why, sizeof why, "BREAK_SET %u: unknown condition %u", r.id, r.what);
		refuse(r.id, why);
		return;
	}
	if (r.flags & ~RAVT_BREAK_FLAGS_ALL) {
		snprintf(why, sizeof why, "BREAK_SET %u: unknown flags 0x%x", r.id,
		         r.flags & ~RAVT_BREAK_FLAGS_ALL);
		refuse(r.id, why);
		return;
	}
	bool at_site = r.flags & RAVT_BREAK_AT_SITE;
	if (at_site && (r.what == RAVT_BREAK_CELL || r.what == RAVT_BREAK_MARK)) {
		snprintf(why, sizeof why, "BREAK_SET %u: a call site cannot be combined with a %s breakpoint", r.id,
		         r.what == RAVT_BREAK_CELL ? "cell" : "mark");
		refuse(r.id, why);
		return;
	}
	if (tlen && r.what != RAVT_BREAK_MARK && !at_site) {
		snprintf(why, sizeof why, "BREAK_SET %u: only a mark breakpoint takes text", r.id);
		refuse(r.id, why);
		return;
	}
	uint64_t ranges[2 * RAVT_BREAK_SITE_RANGES_MAX];
	unsigned nranges = 0;
	if (at_site) {
		if (tlen == 0 || tlen % 16 || tlen / 16 > RAVT_BREAK_SITE_RANGES_MAX) {
			snprintf(why, sizeof why, "BREAK_SET %u: a call site is 1 to %u address ranges of 16 bytes (%zu bytes)",
			         r.id, RAVT_BREAK_SITE_RANGES_MAX, tlen);
			refuse(r.id, why);
			return;
		}
		nranges = (unsigned)(tlen / 16);
		memcpy(ranges, payload + sizeof r, tlen);
		for (unsigned i = 0; i < nranges; i++)
			if (ranges[2 * i] >= ranges[2 * i + 1]) {
				snprintf(why, sizeof why, "BREAK_SET %u: call site range %u is empty (0x%llx to 0x%llx)", r.id,
				         i, (unsigned long long)ranges[2 * i], (unsigned long long)ranges[2 * i + 1]);
				refuse(r.id, why);
				return;
			}
	} else if (memchr(payload + sizeof r, 0, tlen)) {
		snprintf(why, sizeof why, "BREAK_SET %u: the text contains a NUL byte", r.id);
		refuse(r.id, why);
		return;
	}
	bool bad = false;
	uintptr_t addr = 0;
	switch (r.what) {
	case RAVT_BREAK_CELL: {
		size_t bytes = 0;
		char *base = rav_record_pool_base(&bytes);
		uint64_t page = r.arg >> 32, cell = r.arg & 0xffffffffu;
		if (!base || page >= bytes / RAV_PAGE_SIZE || cell == 0 ||
		    cell >= RAV_PAGE_SIZE / RAV_CELL_SIZE) {
			snprintf(why, sizeof why, "BREAK_SET %u: cell %llu.%llu is not in the page pool",
			         r.id, (unsigned long long)page, (unsigned long long)cell);
			refuse(r.id, why);
			return;
		}
		addr = (uintptr_t)base + page * RAV_PAGE_SIZE + cell * RAV_CELL_SIZE;
		bad = r.arg2 != 0 || (r.flags & RAVT_BREAK_MATCH_AUX);
		break;
	}
	case RAVT_BREAK_ALLOC:
	case RAVT_BREAK_FREE:
		bad = r.arg >= RAV_TYPE_MAX || r.arg2 != 0;
		break;
	case RAVT_BREAK_KIND:
		bad = r.arg == RAV_EV_NONE || r.arg == RAV_EV_TIME || r.arg >= RAV_EV_KIND_COUNT ||
		      r.arg2 >= (1u << 24) || (!(r.flags & RAVT_BREAK_MATCH_AUX) && r.arg2);
		break;
	case RAVT_BREAK_ERROR:
		bad = r.arg > 255 || r.arg2 != 0;
		break;
	default:
		bad = r.arg != 0 || r.arg2 != 0;
	}
	if (!bad && r.what != RAVT_BREAK_CELL && (r.flags & 15u))
		bad = true;
	if (!bad && r.what != RAVT_BREAK_KIND && (r.flags & RAVT_BREAK_MATCH_AUX))
		bad = true;
	if (bad) {
		snprintf(why, sizeof why, "BREAK_SET %u: argument out of range for this condition", r.id);
		refuse(r.id, why);
		return;
	}
	pthread_mutex_lock(&D.lock);
	if (!D.installed) {
		pthread_mutex_unlock(&D.lock);
		return;
	}
	bp *slot = NULL;
	for (unsigned i = 0; i < RAVT_BREAK_MAX && !slot; i++)
		if (D.table[i].used && D.table[i].req.id == r.id)
			slot = &D.table[i];
	if (slot && slot->req.what == RAVT_BREAK_CELL) {
		uintptr_t old = slot->cell;
		slot->used = false;
		unwatch_locked(NULL, old);
	}
	for (unsigned i = 0; i < RAVT_BREAK_MAX && !slot; i++)
		if (!D.table[i].used)
			slot = &D.table[i];
	if (!slot) {
		pthread_mutex_unlock(&D.lock);
		snprintf(why, sizeof why, "BREAK_SET %u: a program keeps at most %u breakpoints", r.id,
		         RAVT_BREAK_MAX);
		refuse(r.id, why);
		return;
	}
	*slot = (bp){.used = true, .req = r, .serial = ++next_serial};
	if (at_site) {
		memcpy(slot->ranges, ranges, nranges * 16u);
		slot->nranges = nranges;
	} else {
		slot->text_len = tlen;
		memcpy(slot->text, payload + sizeof r, tlen);
		slot->text[tlen] = 0;
	}
	int state = RAVT_BREAK_STATE_SET;
	if (r.what == RAVT_BREAK_CELL) {
		slot->cell = addr;
		slot->watch_req = rav_debug_watch(addr, true);
		if (slot->watch_req < 0) {
			slot->used = false;
			pthread_mutex_unlock(&D.lock);
			snprintf(why, sizeof why, "BREAK_SET %u: too many watch requests waiting", r.id);
			refuse(r.id, why);
			return;
		}
		state = RAVT_BREAK_STATE_PENDING;
	}
	update_filter_locked();
	pthread_mutex_unlock(&D.lock);
	post_break(r.id, state, addr,
	           state == RAVT_BREAK_STATE_PENDING ? "waiting for the cell's thread" : "set");
	if (state != RAVT_BREAK_STATE_PENDING)
		return;
	bool gone = false;
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < RAVT_BREAK_MAX; i++) {
		bp *b = &D.table[i];
		if (b->used && b->req.id == r.id && !b->announced) {
			b->announced = true;
			gone = b->gone_unposted;
			b->gone_unposted = false;
		}
	}
	pthread_mutex_unlock(&D.lock);
	if (gone)
		post_break(r.id, RAVT_BREAK_STATE_GONE, 0, "the watched cell was freed");
}

static void break_clear(const uint8_t *payload, uint32_t len)
{
	uint32_t id;
	if (len != sizeof id) {
		ravt_session_reply_error(RAVT_LIVE_EPROTO, "BREAK_CLEAR: the payload is one u32 (0: all)");
		return;
	}
	memcpy(&id, payload, sizeof id);
	uint32_t cleared[RAVT_BREAK_MAX];
	unsigned n = 0;
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < RAVT_BREAK_MAX; i++) {
		bp *b = &D.table[i];
		if (!b->used || (id && b->req.id != id))
			continue;
		b->used = false;
		if (b->req.what == RAVT_BREAK_CELL)
			unwatch_locked(NULL, b->cell);
		cleared[n++] = b->req.id;
	}
	update_filter_locked();
	pthread_mutex_unlock(&D.lock);
	if (id && !n) {
		char why[96];
		snprintf(why, sizeof why, "BREAK_CLEAR: no breakpoint %u", id);
		ravt_session_reply_error(RAVT_LIVE_ESTATE, why);
	}
	for (unsigned i = 0; i < n; i++)
		post_break(cleared[i], RAVT_BREAK_STATE_CLEARED, 0, "cleared");
}

void ravt_debugger_control(uint16_t type, const uint8_t *payload, uint32_t len)
{
	pthread_mutex_lock(&D.lock);
	bool installed = D.installed;
	pthread_mutex_unlock(&D.lock);
	if (!installed) {
		ravt_session_reply_error(RAVT_LIVE_ESTATE, "a statistics-only session has no debugger");
		return;
	}
	switch (type) {
	case RAVT_CTL_PAUSE:
	case RAVT_CTL_CONTINUE:
		if (len) {
			ravt_session_reply_error(RAVT_LIVE_EPROTO, "PAUSE and CONTINUE take no payload");
			return;
		}
		if (type == RAVT_CTL_PAUSE) {
			rav_debug_pause(true);
		} else {
			rav_debug_continue();
		}
		return;
	case RAVT_CTL_STEP: {
		ravt_ctl_step st;
		if (len != sizeof st) {
			ravt_session_reply_error(RAVT_LIVE_EPROTO,
			                         "STEP: the payload is 8 bytes (heap id, mode)");
			return;
		}
		memcpy(&st, payload, sizeof st);
		if (st.mode != RAV_DEBUG_STEP_EVENT && st.mode != RAV_DEBUG_STEP_CALL) {
			ravt_session_reply_error(RAVT_LIVE_EPROTO,
			                         "STEP: mode must be 1 (one event) or 2 (one call)");
			return;
		}
		if (!rav_debug_step(st.heap_id, (rav_debug_step_mode)st.mode)) {
			char why[96];
			snprintf(why, sizeof why, "STEP: thread %u is not held", st.heap_id);
			ravt_session_reply_error(RAVT_LIVE_ESTATE, why);
		}
		return;
	}
	case RAVT_CTL_BREAK_SET:
		break_set(payload, len);
		return;
	case RAVT_CTL_BREAK_CLEAR:
		break_clear(payload, len);
		return;
	default:
		ravt_session_reply_error(RAVT_LIVE_EPROTO, "not a debugger request");
	}
}

void ravt_debugger_poll(void)
{
	struct {
		uint32_t id;
		int state;
		uintptr_t cell;
	} done[RAVT_BREAK_MAX];
	unsigned n = 0;
	pthread_mutex_lock(&D.lock);
	for (unsigned i = 0; i < RAVT_BREAK_MAX; i++) {
		bp *b = &D.table[i];
		if (!b->used || !b->watch_req || !b->announced)
			continue;
		int st = rav_debug_watch_status(b->watch_req);
		if (st == 0)
			continue;
		b->watch_req = 0;
		done[n].id = b->req.id;
		done[n].cell = b->cell;
		done[n++].state = st == 1 ? RAVT_BREAK_STATE_SET : RAVT_BREAK_STATE_REFUSED;
		if (st != 1)
			b->used = false;
	}
	pthread_mutex_unlock(&D.lock);
	for (unsigned i = 0; i < n; i++)
		post_break(done[i].id, done[i].state, done[i].cell,
		           done[i].state == RAVT_BREAK_STATE_SET
		               ? "watching the cell"
		               : "not a live cell (freed, empty or a root)");
}
