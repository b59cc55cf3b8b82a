/* replay-gen.h - a synthetic but model-consistent event generator for replay
 * tests and the replay benchmark.
 *
 * It plays a ravioli heap the way the engine does (no gaps: a free moves
 * the top cell into the hole and fixes the one slot naming it; every cell is
 * referred to by one root slot; pages are acquired at the top and the
 * second empty page goes back to the pool) and writes the raw events through
 * the trace encoder, so the trace is valid for the replay model and large
 * traces can be made without running the engine.  Two threads (heaps 1 and
 * 2) may alternate; each has its own heap, and both write a shared external
 * counter line through ACCESS events so the contention model has work too.
 */
#ifndef REPLAY_GEN_H
#define REPLAY_GEN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct gen_params {
	const char *path;     /* trace file to write */
	uint64_t events;      /* stop after about this many events */
	uint64_t live_target; /* live cells per heap in steady state */
	unsigned threads;     /* 1 to GEN_MAX_THREADS (0: 1) */
	uint64_t seed;
	bool access;  /* also write ACCESS events */
	bool uniform; /* frees and stores hit uniformly random cells (worst case
	               * for keyframes); default: mostly young cells near the top */
} gen_params;

#define GEN_MAX_THREADS 65536

/* Returns 0, or -1 with a message on stderr.  *written gets the event count. */
int gen_trace(const gen_params *p, uint64_t *written);

#endif
