/* rav-tsc.h - the clock of a trace's time stamps, read in one way by
 * everything in the recording process that stamps or compares with them:
 * the engine (RAV_EV_TIME events, order stamps: record.c), the recorder's
 * calibration of ticks per second (trace/recorder.c) and live sessions
 * (trace/session*.c).  Two readings of different clocks would not compare,
 * so there is one definition.  Not installed: a program reads times from
 * its trace, and the trace says how many ticks make a second.
 *
 * The TSC on x86 (a few cycles, no system call: it is read every
 * RAV_TIME_EVERY events); CLOCK_MONOTONIC in nanoseconds elsewhere.
 */
#ifndef RAV_TSC_H
#define RAV_TSC_H

#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#else
#include <time.h>
#endif

static inline uint64_t rav__tsc_now(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

#endif /* RAV_TSC_H */
