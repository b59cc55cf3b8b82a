/* debug.c - holding threads for a live debugger (rav_debug_* in
 * rav-record.h).  The engine knows nothing of sockets or clients: the live
 * session (trace/session.c) installs a rav_debugger and drives these calls.
 *
 * Where a thread stops:
 *  - after an event the debugger's `event` callback claims (event
 *    filtering: while it is on, the recording slow path is taken for every
 *    event, see record.c), or after an event on a watched cell;
 *  - at its next safe point while a pause is asked for, or after a step.
 * A held thread waits on one condition variable, in a node on its own stack
 * listed in `held`; continue and step mark nodes released and broadcast.
 * While it waits, a held thread also applies the watch requests that name
 * cells of its own heap: a cell's type word may only be written by its
 * owner, so a watch is set by the owner (at its next safe point, or here).
 *
 * Holding happens where the event is recorded, which may be under an
 * engine lock (a page hand-off, a send): threads that need that lock wait
 * for it, as they would behind any slow thread.  The session thread and
 * the listener take no lock a held thread can hold, so a client can always
 * continue, and its going away always releases everyone.
 *
 * Cost: nothing at all unless a debugger is installed, beyond one test of a
 * flag bit the move, free, fix-up and attach paths already have loaded
 * (RAV_FLAG_WATCH), and, during a session, one load in the safe point's
 * due test (rav__debug_safepoints).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rav-private.h"

const rav_debugger *rav__debugger;        /* atomic */
int rav__debug_filter;                    /* atomic: every event goes to the debugger */
int rav__debug_safepoints;                /* atomic: safe points have debugger work (see due()) */
_Thread_local int rav__debug_tl_step;     /* rav_debug_step_mode the thread runs in, 0 none */
static _Thread_local bool tl_in_debugger; /* a callback is running on this thread */
static _Thread_local bool tl_never_hold;  /* rav_debug_never_hold: the recorder's own thread */

typedef struct held_node {
	struct held_node *next;
	uint32_t heap_id;
	bool released;
	int step; /* mode to run in once released */
} held_node;

#define MAX_WATCH_REQ 64
typedef struct watch_req {
	uintptr_t cell;
	bool on;
	int state; /* 0 free slot, 1 pending, 2 applied, 3 refused */
	int number;
} watch_req;

static pthread_mutex_t dbg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dbg_cond = PTHREAD_COND_INITIALIZER;
static held_node *held;
static bool pausing;
static watch_req reqs[MAX_WATCH_REQ];
static int next_req = 1;
static int steppers_to_call; /* threads in RAV_DEBUG_STEP_CALL mode of this installation's steps */
/* Counts rav_debug_install calls (atomic; written under dbg_lock).  A step
 * belongs to the installation it was given under (tl_step_gen): a debugger
 * removed while a released thread had not yet reached its step's end (a
 * client detaching right after Step Over, the thread asleep before its next
 * engine call) leaves that step void, not pending for the next session. */
static unsigned install_gen;
static _Thread_local unsigned tl_step_gen;
static unsigned pending_reqs;

static const rav_debugger *debugger(void)
{
	return __atomic_load_n(&rav__debugger, __ATOMIC_ACQUIRE);
}

/* Under dbg_lock: whether safe points have work. */
static void update_safepoints_locked(void)
{
	int on = pausing || pending_reqs > 0 || steppers_to_call > 0;
	__atomic_store_n(&rav__debug_safepoints, on, __ATOMIC_RELEASE);
}

void rav_debug_install(const rav_debugger *d)
{
	pthread_mutex_lock(&dbg_lock);
	__atomic_store_n(&rav__debugger, d, __ATOMIC_RELEASE);
	__atomic_store_n(&install_gen, install_gen + 1, __ATOMIC_RELEASE);
	steppers_to_call = 0; /* (their steps are void: see install_gen) */
	if (!d) {
		__atomic_store_n(&rav__debug_filter, 0, __ATOMIC_RELEASE);
		pausing = false;
		for (held_node *n = held; n; n = n->next) {
			n->released = true;
			n->step = 0;
		}
		for (unsigned i = 0; i < MAX_WATCH_REQ; i++)
			if (reqs[i].state == 1)
				reqs[i].state = 3;
		pending_reqs = 0;
		pthread_cond_broadcast(&dbg_cond);
	}
	update_safepoints_locked();
	pthread_mutex_unlock(&dbg_lock);
}

void rav_debug_filter(bool on)
{
	__atomic_store_n(&rav__debug_filter, on ? 1 : 0, __ATOMIC_RELEASE);
}

void rav_debug_pause(bool on)
{
	pthread_mutex_lock(&dbg_lock);
	pausing = on && debugger();
	update_safepoints_locked();
	pthread_mutex_unlock(&dbg_lock);
}

unsigned rav_debug_continue(void)
{
	unsigned n = 0;
	pthread_mutex_lock(&dbg_lock);
	pausing = false;
	for (held_node *h = held; h; h = h->next) {
		if (!h->released)
			n++;
		h->released = true;
		h->step = 0;
	}
	update_safepoints_locked();
	pthread_cond_broadcast(&dbg_cond);
	pthread_mutex_unlock(&dbg_lock);
	return n;
}

bool rav_debug_step(uint32_t heap_id, rav_debug_step_mode mode)
{
	if (mode != RAV_DEBUG_STEP_EVENT && mode != RAV_DEBUG_STEP_CALL)
		return false;
	bool found = false;
	pthread_mutex_lock(&dbg_lock);
	for (held_node *h = held; h; h = h->next)
		if (h->heap_id == heap_id && !h->released) {
			h->released = true;
			h->step = (int)mode;
			found = true;
			break;
		}
	if (found)
		pthread_cond_broadcast(&dbg_cond);
	pthread_mutex_unlock(&dbg_lock);
	return found;
}

unsigned rav_debug_held(uint32_t *ids, unsigned max)
{
	unsigned n = 0;
	pthread_mutex_lock(&dbg_lock);
	for (held_node *h = held; h; h = h->next)
		if (!h->released) {
			if (n < max)
				ids[n] = h->heap_id;
			n++;
		}
	pthread_mutex_unlock(&dbg_lock);
	return n;
}

int rav_debug_watch(uintptr_t cell, bool on)
{
	if (!cell || cell % RAV_CELL_SIZE)
		return -1;
	int number = -1;
	pthread_mutex_lock(&dbg_lock);
	if (debugger()) {
		/* A free slot, or the oldest finished one. */
		int pick = -1;
		for (int i = 0; i < MAX_WATCH_REQ && pick < 0; i++)
			if (reqs[i].state == 0)
				pick = i;
		for (int i = 0; i < MAX_WATCH_REQ && pick < 0; i++)
			if (reqs[i].state >= 2 && (pick < 0 || reqs[i].number < reqs[pick].number))
				pick = i;
		if (pick >= 0) {
			reqs[pick] = (watch_req){.cell = cell, .on = on, .state = 1, .number = next_req++};
			if (next_req == 0x7fffffff)
				next_req = 1;
			number = reqs[pick].number;
			pending_reqs++;
			update_safepoints_locked();
			pthread_cond_broadcast(&dbg_cond); /* held threads apply it */
		}
	}
	pthread_mutex_unlock(&dbg_lock);
	return number;
}

int rav_debug_watch_status(int request)
{
	int st = -2;
	pthread_mutex_lock(&dbg_lock);
	for (unsigned i = 0; i < MAX_WATCH_REQ; i++)
		if (reqs[i].state && reqs[i].number == request)
			st = reqs[i].state == 1 ? 0 : reqs[i].state == 2 ? 1 : -1;
	pthread_mutex_unlock(&dbg_lock);
	return st;
}

/* Under dbg_lock, on the thread of heap self: apply the requests naming
 * cells of pages self owns.  A request whose page nobody owns (freed, or
 * not a heap page) is refused by whoever looks first. */
static void apply_requests_locked(rav_heap *self)
{
	if (!pending_reqs || !self)
		return;
	size_t pool_bytes = rav__pool.reserved * (size_t)RAV_PAGE_SIZE;
	char *base = rav__pool.base;
	for (unsigned i = 0; i < MAX_WATCH_REQ; i++) {
		watch_req *r = &reqs[i];
		if (r->state != 1)
			continue;
		char *p = (char *)r->cell;
		if (!base || p < base || p >= base + pool_bytes || slot_in_page(p) == 0) {
			r->state = 3;
			pending_reqs--;
			continue;
		}
		rav_cell *page = page_of(p);
		rav_heap *owner = (rav_heap *)__atomic_load_n(&page->w[PH_OWNER], __ATOMIC_RELAXED);
		if (owner != self)
			continue;
		rav_cell *c = (rav_cell *)p;
		rav_type t = cell_type(c);
		/* (a cell above the top holds nothing, whatever a dirty page's
		 * old contents say: PAGE_DIRTY in rav-private.h) */
		bool above = page == self->top_page ? c >= &page[self->top] : page_dirty(page);
		bool live = !above && t != RAV_TYPE_EMPTY && t != RAV_TYPE_HEADER && t != RAV_TYPE_DEAD &&
		            t != RAV_TYPE_ROOT && !(c->w[0] & RAV_FLAG_DYING);
		if (!live) {
			r->state = 3;
		} else {
			/* Transient: not recorded (like the collector's mark). */
			if (r->on)
				c->w[0] |= RAV_FLAG_WATCH;
			else
				c->w[0] &= ~RAV_FLAG_WATCH;
			r->state = 2;
		}
		pending_reqs--;
	}
	update_safepoints_locked();
}

/* Hold the calling thread until released. */
static void stop(const rav_debugger *d, rav_debug_why why)
{
	if (tl_never_hold)
		return;
	rav_heap *self = rav__self_heap;
	held_node node = {.heap_id = self ? self->id : 0};
	pthread_mutex_lock(&dbg_lock);
	/* A pause read at the safe point may have been continued since (the
	 * lock was let go in between): a thread listed now would stay held
	 * after the continue that released everyone listed before it. */
	if (debugger() != d || (why == RAV_DEBUG_PAUSE && !pausing)) {
		pthread_mutex_unlock(&dbg_lock);
		return;
	}
	node.next = held;
	held = &node;
	pthread_mutex_unlock(&dbg_lock);
	tl_in_debugger = true;
	d->stopped(node.heap_id, why, d->user);
	pthread_mutex_lock(&dbg_lock);
	for (;;) {
		apply_requests_locked(self);
		if (node.released)
			break;
		pthread_cond_wait(&dbg_cond, &dbg_lock);
	}
	for (held_node **pp = &held; *pp; pp = &(*pp)->next)
		if (*pp == &node) {
			*pp = node.next;
			break;
		}
	if (node.step == RAV_DEBUG_STEP_CALL) {
		steppers_to_call++;
		update_safepoints_locked();
	}
	tl_step_gen = install_gen;
	/* Removed while held (rav_debug_install(NULL)): the callbacks may be gone. */
	bool still = debugger() == d;
	pthread_mutex_unlock(&dbg_lock);
	rav__debug_tl_step = node.step;
	/* a one-event step: the next event must reach rav__debug_event */
	rav__record_recheck();
	if (still)
		d->resumed(node.heap_id, d->user);
	tl_in_debugger = false;
}

void rav_debug_never_hold(void)
{
	tl_never_hold = true;
}

/* A breakpoint held the thread before its step ended: the step is
 * cancelled (gdb's `next`/`step` stop at a breakpoint hit on the way and
 * report it; the step does not resume after it). */
static void cancel_step(void)
{
	if (rav__debug_tl_step == RAV_DEBUG_STEP_CALL) {
		pthread_mutex_lock(&dbg_lock);
		if (tl_step_gen == install_gen)
			steppers_to_call--;
		update_safepoints_locked();
		pthread_mutex_unlock(&dbg_lock);
	}
	rav__debug_tl_step = 0;
}

/* The thread's step was given under a debugger since removed: dropped
 * (a one-event step no longer sends its events down the slow path). */
static bool drop_void_step(void)
{
	if (!rav__debug_tl_step || tl_step_gen == __atomic_load_n(&install_gen, __ATOMIC_ACQUIRE))
		return false;
	rav__debug_tl_step = 0;
	rav__record_recheck();
	return true;
}

void rav__debug_event(const rav_raw_event *e, const char *text, size_t len)
{
	const rav_debugger *d = debugger();
	if (tl_in_debugger)
		return;
	drop_void_step();
	if (!d)
		return;
	unsigned kind = RAV_EV_KIND(e);
	if (kind == RAV_EV_TIME)
		return;
	rav_heap *self = rav__self_heap;
	/* Breakpoints first, whatever step the thread runs: a step that meets
	 * one stops there as that breakpoint ("breakpoint N"), as gdb's
	 * `stepi`, `step` and `next` report a breakpoint they reach, and the
	 * step is over.  Stepping over the rest of the call the thread was held
	 * in (RAV_DEBUG_STEP_CALL) checks that rest too: a breakpoint on a call
	 * site counts one hit per call, so the call it held in does not hold it
	 * again (trace/debugger.c); a condition that counts events (a type, an
	 * event kind, "any event") stops at its next event there, as gdb's
	 * `next` stops at a breakpoint in a callee. */
	bool hold = false;
	if (__atomic_load_n(&rav__debug_filter, __ATOMIC_ACQUIRE)) {
		tl_in_debugger = true;
		hold = d->event(e, text, len, self ? self->id : 0, 0, d->user);
		tl_in_debugger = false;
	}
	if (hold) {
		cancel_step();
		stop(d, RAV_DEBUG_BREAK);
	} else if (rav__debug_tl_step == RAV_DEBUG_STEP_EVENT) {
		rav__debug_tl_step = 0;
		stop(d, RAV_DEBUG_STEP);
	}
}

void rav__watch_hit(uint32_t kind, rav_cell *cell, uintptr_t a, uintptr_t b, uintptr_t c)
{
	const rav_debugger *d = debugger();
	if (!d) {
		/* Nobody watches any more: drop the flag (the owner is here). */
		cell->w[0] &= ~RAV_FLAG_WATCH;
		return;
	}
	if (tl_in_debugger)
		return;
	rav_heap *self = rav__self_heap;
	rav_raw_event e = {.kind = kind, .x = 0, .a = a, .b = b, .c = c};
	/* A move reports where the cell was (it is at b now). */
	uintptr_t before = RAV_EV_KIND(&e) == RAV_EV_MOVE ? a : (uintptr_t)cell;
	tl_in_debugger = true;
	bool hold = d->event(&e, NULL, 0, self ? self->id : 0, before, d->user);
	tl_in_debugger = false;
	if (hold) {
		cancel_step(); /* (as rav__debug_event) */
		stop(d, RAV_DEBUG_BREAK);
	}
}

void rav__debug_apply_watches(void)
{
	if (!debugger())
		return;
	pthread_mutex_lock(&dbg_lock);
	apply_requests_locked(rav__self_heap);
	pthread_mutex_unlock(&dbg_lock);
}

void rav__debug_safepoint(rav_heap *h)
{
	(void)h;
	const rav_debugger *d = debugger();
	if (tl_in_debugger)
		return;
	/* (a step of a removed debugger ends here too, with no stop) */
	if (drop_void_step() || !d)
		return;
	rav_heap *self = rav__self_heap;
	bool pause, step_call = rav__debug_tl_step == RAV_DEBUG_STEP_CALL;
	pthread_mutex_lock(&dbg_lock);
	apply_requests_locked(self);
	pause = pausing;
	if (step_call) {
		if (tl_step_gen == install_gen)
			steppers_to_call--;
		else
			step_call = false; /* (removed since drop_void_step looked) */
		update_safepoints_locked();
	}
	pthread_mutex_unlock(&dbg_lock);
	if (rav__debug_tl_step == RAV_DEBUG_STEP_CALL)
		rav__debug_tl_step = 0;
	if (step_call)
		stop(d, RAV_DEBUG_STEP);
	else if (pause)
		stop(d, RAV_DEBUG_PAUSE);
}
