/* site.c - call sites: which call of the program each recorded event
 * comes from (trace format 1.3).
 *
 * Every public engine call that can record an event starts with
 * RAV_SITE_ENTER (rav-private.h), which, when tracing is on, compares the
 * call's return address with the thread's current site and comes here only
 * when it differs.  A changed site is one RAV_RAW_SITE record in the
 * thread's buffer; the writer keeps it as a register and gives it to every
 * event after it, so the events a call causes (moves, fix-ups, page
 * traffic of a compaction) carry its site and the bytes per event hardly
 * move.  The address is taken once, in the public function the program
 * called (its own __builtin_return_address; for the hot entry points, in
 * the recording copy they tail-call: access.c), never in helpers: public
 * functions built on other public ones (vectors, serialization, message
 * helpers) hold the site with RAV_SITE_BEGIN/END so their inner calls keep
 * the program's.
 *
 * With RAVIOLI_TRACE_STACK=N (the recorder passes it as site_depth) a site
 * is the call's backtrace of up to N frames, taken with the unwinder
 * (glibc's backtrace: libgcc reading .eh_frame, about 100 ns for 7 frames
 * here against 160-190 ns for libunwind's unw_backtrace).  Following frame
 * pointers would be cheaper, but neither Debian's default builds nor the
 * engine keep them, and the engine cannot read the program's frame pointer
 * at a public function's entry without making every call pay for a frame
 * of its own.  A backtrace is taken on every call (its callers may differ
 * even when the call site does not) and recorded when its hash changes.
 * Symbols are never looked up here: the reader does that from the
 * recorded memory map.
 */
#include <execinfo.h>

#include "rav-private.h"

unsigned rav__site_depth;
_Thread_local uintptr_t rav__read_check_ra;
uint32_t rav__site_gen;
bool rav__api_entries_unsure;
/* rav_debug_call: the number of the engine call the thread is in (0: none
 * asked yet), and the last number given out (atomic). */
static _Thread_local uint64_t tl_call;
static uint64_t last_call;

/* Stack mode stores this as the current call site, so that every call
 * takes the slow path (no return address is 1). */
#define SITE_ALWAYS ((uintptr_t)1)

static void emit_site(const uintptr_t *frames, unsigned n)
{
	unsigned recs = RAV_SITE_RECORDS(n);
	rav_raw_event *e = rav__reserve_raw(recs);
	if (!e)
		return;
	memset(e, 0, recs * sizeof *e);
	e->kind = RAV_RAW_SITE | ((uint32_t)n << 8);
	e->a = n > 0 ? frames[0] : 0;
	e->b = n > 1 ? frames[1] : 0;
	e->c = n > 2 ? frames[2] : 0;
	for (unsigned k = 3; k < n; k++) {
		uint64_t *w = (uint64_t *)(void *)&e[1 + (k - 3) / 4];
		w[(k - 3) % 4] = frames[k];
	}
	rav__commit_raw();
}

/* A one-frame site on the slow path (the bound: a clock reading due, a full
 * buffer), out of line: inlined, its use of pc's address kept pc in a saved
 * register on rav__site_change's fast path too (a push, a move and a pop
 * of its ~20 instructions, objdump). */
static __attribute__((noinline)) void emit_site_one(uintptr_t pc)
{
	emit_site(&pc, 1);
}

static uint32_t hash_frames(const uintptr_t *f, unsigned n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (unsigned i = 0; i < n; i++) {
		h ^= f[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h | 1; /* 0 means "none recorded yet" */
}

static void site_stack(uintptr_t pc, unsigned depth);

/* Sites off (RAVIOLI_TRACE_SITES=0): the thread holds a site forever, so
 * its calls stop at the hold test and never come here again. */
#define HOLD_FOREVER (UINT32_MAX / 2)

void rav__site_change(uintptr_t pc)
{
	/* relaxed: set while no thread records (rav__site_prepare), read by
	 * threads that may still be in a call from an earlier live session */
	unsigned depth = __atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED);
	if (depth == 1) {
		/* the usual case: one record, written as rav__emit writes events */
		rav__site.pc = pc;
		rav__site.gen = __atomic_load_n(&rav__site_gen, __ATOMIC_RELAXED);
		rav_evbuf *buf = rav__tbuf;
		uint32_t n = buf->count;
		/* below the bound, as an event */
		if (RAV_LIKELY(n < rav__tlimit)) {
			rav_raw_event *e = &buf->ev[n];
			/* b and c (frames 1 and 2) are not written: a record of one
			 * frame says so in aux, and readers of it (the writer's
			 * site_record, session-buffers' walks) read frames up to aux
			 * only.  Two stores of the five in the ~0.1 site changes per
			 * event of rav-bench trace-record. */
			rav__put_kind_x(e, RAV_RAW_SITE | (1u << 8), 0);
			e->a = pc;
			/* after the record: a live reader may read up to count.
			 * The next clock reading stays where it was, one record
			 * sooner in events (the slow path's reserve() moves it
			 * along instead): moving it and the bound cost 6 of the 22
			 * instructions here, and readings came every RAV_TIME_EVERY records
			 * anyway, events or not (callgrind, rav-bench
			 * trace-record: 0.08 site records per event). */
			__atomic_store_n(&buf->count, n + 1, __ATOMIC_RELEASE);
			return;
		}
		emit_site_one(pc);
		return;
	}
	if (depth == 0) {
		rav__site.hold = HOLD_FOREVER;
		return;
	}
	site_stack(pc, depth);
}

/* A backtrace per call (its callers may change with the same call site),
 * recorded when it differs from the last one.  Kept out of
 * rav__site_change, whose common case must not set up its arrays. */
static __attribute__((noinline)) void site_stack(uintptr_t pc, unsigned depth)
{
	rav__site.pc = SITE_ALWAYS;
	rav__site.gen = __atomic_load_n(&rav__site_gen, __ATOMIC_RELAXED);
	uintptr_t frames[RAV_SITE_FRAMES_MAX];
	unsigned n = 0;
	/* the unwinder's frames start inside this function: the call site is
	 * where the public function returns to */
	void *raw[RAV_SITE_FRAMES_MAX + 8];
	int got = backtrace(raw, (int)depth + 8);
	int at = -1;
	for (int i = 0; i < got && at < 0; i++)
		if ((uintptr_t)raw[i] == pc)
			at = i;
	if (at < 0) {
		frames[n++] = pc;
	} else {
		for (int i = at; i < got && n < depth; i++)
			frames[n++] = (uintptr_t)raw[i];
	}
	rav__site.top = n ? frames[0] : 0;
	tl_call = 0; /* a new call: rav_debug_call numbers it when asked */
	uint32_t h = hash_frames(frames, n);
	if (h == rav__site.hash)
		return;
	rav__site.hash = h;
	emit_site(frames, n);
}

/* A public hot function made a real call to its recording copy (a build
 * without tail calls: rav__tail_caller), which returns to ra inside the
 * public function: the program's call site is the frame after that one. */
__attribute__((noinline)) uintptr_t rav__site_caller_of(uintptr_t ra)
{
	if (__atomic_load_n(&rav__api_entries_unsure, __ATOMIC_RELAXED) && !rav__api_entries_contain(ra - 1))
		return ra; /* a tail call after all: ra is in the program */
	void *raw[8];
	int got = backtrace(raw, 8);
	for (int i = 0; i + 1 < got; i++)
		if ((uintptr_t)raw[i] == ra)
			return (uintptr_t)raw[i + 1];
	return 0;
}

/* A misuse report (error.c) on a recording thread.  The call that made it
 * may be a read (rav_load, rav_load_ref, rav_root_get, rav_scalar), which
 * takes no call site while a file records without accesses (access.c,
 * HOT_ENTRY_READ): the ERROR event then carried the site of the program's
 * previous engine call, so a stale borrow was shown a line early, at the
 * call that had freed.  The site is found here, on this cold path only,
 * from the stack: the frame a public hot function returns to, or, in a
 * build that tail-calls out of the public function (it is then not on the
 * stack), the address a read's out-of-line check returns to
 * (rav__read_check_ra).  Nothing when the site is held (an operation built
 * on public calls) or not recorded; the other public functions take their
 * site when called. */
void rav__site_misuse(void)
{
	uintptr_t ra = rav__read_check_ra;
	rav__read_check_ra = 0;
#if RAV_TRACING
	if (!rav__tracing || rav__site.hold != 0 || __atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED) == 0)
		return;
	void *raw[32];
	int got = backtrace(raw, 32);
	uintptr_t pc = ra;
	for (int i = 1; i + 1 < got; i++)
		if (rav__api_entries_contain((uintptr_t)raw[i] - 1)) {
			pc = (uintptr_t)raw[i + 1];
			break;
		}
	if (pc && pc != rav__site.pc)
		rav__site_change(pc);
#else
	(void)ra;
#endif
}

void rav__site_clear(void)
{
	if (__atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED) == 0 || (rav__site.pc == 0 && rav__site.hash == 0))
		return;
	rav__site.pc = 0;
	rav__site.top = 0;
	rav__site.hash = 0;
	emit_site(NULL, 0);
}

/* A live session reads a thread's stream from the buffer it starts in
 * the session's epoch, so the site the thread recorded before (into a
 * buffer the session discards) is recorded again.  One record per thread
 * and epoch.  Only a site recorded since recording was last switched on:
 * an older one may be stale (the thread's calls while nothing recorded
 * did not update it), and the stream then starts with no site until the
 * thread's next engine call.  A backtrace is not kept (64 words of TLS per
 * thread for this): in stack mode the new stream starts with no site. */
void rav__site_restream(void)
{
	unsigned depth = __atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED);
	if (depth == 0)
		return;
	/* (one frame, after rav_debug_call: the site is in top) */
	uintptr_t cur = depth == 1 && rav__site.pc == SITE_ALWAYS ? rav__site.top : rav__site.pc;
	if (depth == 1 && cur > SITE_ALWAYS &&
	    rav__site.gen == __atomic_load_n(&rav__site_gen, __ATOMIC_RELAXED)) {
		uintptr_t pc = cur;
		emit_site(&pc, 1);
		return;
	}
	rav__site.pc = 0;
	rav__site.hash = 0;
	emit_site(NULL, 0);
}

void rav__site_prepare(unsigned depth)
{
	/* (re-installs store the same answer; relaxed: other threads may be
	 * recording) */
	__atomic_store_n(&rav__api_entries_unsure, !rav__api_entries_verify(), __ATOMIC_RELAXED);
	depth = depth > RAV_SITE_FRAMES_MAX ? RAV_SITE_FRAMES_MAX : depth;
	__atomic_store_n(&rav__site_depth, depth, __ATOMIC_RELAXED);
	/* glibc loads the unwinder on the first backtrace: do it now, not
	 * inside some engine call of the program */
	if (depth > 1) {
		void *one[2];
		backtrace(one, 2);
	}
}

uintptr_t rav_debug_site(void)
{
	unsigned depth = __atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED);
	if (depth == 0)
		return 0;
	if (rav__site.pc == SITE_ALWAYS)
		return rav__site.top;
	return rav__site.pc;
}

/* One frame: a call from the same place as the last one passes no code of
 * site.c (RAV_SITE_ENTER compares and goes on), so the call is told from
 * the last by hiding the recorded site: pc becomes SITE_ALWAYS (its value
 * kept in top, which rav_debug_site and rav__site_restream read), and the
 * next call's RAV_SITE_ENTER finds a changed site and records it again (a
 * site record per call, only while a debugger asks).  An event that finds
 * pc a real address again is in a new call.  In stack mode every call
 * takes its backtrace here (site_stack), which says so. */
uint64_t rav_debug_call(void)
{
	unsigned depth = __atomic_load_n(&rav__site_depth, __ATOMIC_RELAXED);
	if (depth == 0)
		return 0;
	if (depth == 1 && rav__site.pc != SITE_ALWAYS) {
		rav__site.top = rav__site.pc;
		rav__site.pc = SITE_ALWAYS;
		tl_call = 0;
	}
	if (tl_call == 0)
		tl_call = __atomic_add_fetch(&last_call, 1, __ATOMIC_RELAXED);
	return tl_call;
}
