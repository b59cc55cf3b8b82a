/* live.c - rav-sample-live: a program that keeps running, to attach to.
 *
 *	rav-sample-live [--seconds S] [--flat-out] [--errors] [--quiet]
 *
 * Attach with `ravscope --attach PID` (or start it with `ravscope --
 * rav-sample-live`) and watch: a "builder" thread keeps a sorted list of
 * `entry` cells, inserting and deleting at random (every delete compacts:
 * the top cell moves into the hole and its referrer is fixed up); every
 * few rounds it packs a batch into a message for the "summer" thread,
 * whose arrival hands pages over and compacts on arrival; the summer
 * answers with a small `total`.  A mark ("round N") every 256 rounds gives
 * breakpoints on marks something to stop at.
 *
 * By default it is paced (about 5000 rounds a second: watchable); with
 * --flat-out it runs as fast as it can (the live benchmark: well over a
 * million events a second).  --errors makes it misuse the engine once a
 * second (allocating a reserved type), which the engine reports as an
 * error event - for the Errors panel.  It stops after S seconds (default
 * 60; 0 runs until killed; with --errors not before its first error) and
 * prints a checksum that depends only on the rounds done.
 */
#include "sample.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static rav_type entry, total_type;
static rav_channel *to_summer, *to_builder;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *summer(void *arg)
{
	(void)arg;
	rav_thread_name("summer");
	rav_heap *h = rav_heap_self();
	rav_root in = rav_root_new(h);
	for (;;) {
		rav_status st = rav_recv(to_summer, h, in);
		if (st == RAV_ECLOSED)
			break;
		sample_check(st, "summer: receive");
		uint64_t s = 0;
		for (rav_ref c = rav_root_get(h, in); !rav_ref_is_null(c); c = rav_load_ref(h, c, 1))
			s += rav_load(h, c, 0);
		rav_root_clear(h, in);
		rav_msg *m = rav_msg_new();
		if (!m)
			sample_check(RAV_ENOMEM, "summer: message");
		rav_ref t;
		sample_check(rav_new_root(rav_msg_heap(m), total_type, rav_msg_root(m), &t), "summer: total");
		rav_store(rav_msg_heap(m), t, 0, s);
		sample_check(rav_send(to_builder, m), "summer: send");
	}
	rav_root_free(h, in);
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 60;
	int flat_out = 0, errors = 0, quiet = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--flat-out"))
			flat_out = 1;
		else if (!strcmp(argv[i], "--errors"))
			errors = 1;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else {
			fprintf(stderr,
			        "usage: %s [--seconds S] [--flat-out] [--errors] [--quiet]\n"
			        "  a program that keeps running (S seconds, default 60, 0: until killed),\n"
			        "  to attach to with ravscope --attach PID or ravtrace attach PID\n",
			        argv[0]);
			return 2;
		}
	}
	if (seconds < 0) {
		fprintf(stderr, "rav-sample-live: --seconds must be 0 or more\n");
		return 2;
	}
	rav_thread_name("builder");
	entry = rav_type_register("entry", RAV_DATA, RAV_REF);
	total_type = rav_type_register("total", RAV_DATA, RAV_DATA);
	rav_heap *h = rav_heap_self();
	if (!h || !entry || !total_type)
		sample_check(RAV_ENOMEM, "setup");
	to_summer = rav_channel_new();
	to_builder = rav_channel_new();
	pthread_t ts;
	if (pthread_create(&ts, NULL, summer, NULL) != 0)
		sample_check(RAV_ENOMEM, "thread");
	if (!quiet)
		printf("rav-sample-live: pid %ld, running %s%s\n", (long)getpid(),
		       seconds > 0 ? "for a while" : "until killed", flat_out ? " flat out" : "");
	fflush(stdout);
	rav_root list = rav_root_new(h), reply = rav_root_new(h);
	sample_rng rng = {0x9e3779b97f4a7c15ULL};
	uint64_t checksum = 0, rounds = 0, length = 0;
	double t0 = now_s(), next_error = t0 + 1;
	unsigned long errors_made = 0;
	for (;; rounds++) {
		if ((rounds & 255) == 0) {
			/* with --errors, not before the first one (a run on a slow
			 * machine would otherwise end without any) */
			if (seconds > 0 && now_s() - t0 >= seconds && (!errors || errors_made))
				break;
			char mark[32];
			snprintf(mark, sizeof mark, "round %llu", (unsigned long long)rounds);
			rav_mark(mark);
		}
		/* insert a key in order, or delete one (the list stays about 2000 long) */
		uint64_t key = sample_below(&rng, 100000);
		bool insert = length < 1000 || (length < 3000 && sample_below(&rng, 2) == 0);
		rav_ref prev = RAV_NULL_REF, cur = rav_root_get(h, list);
		uint64_t steps = sample_below(&rng, length + 1);
		for (uint64_t i = 0; i < steps && !rav_ref_is_null(cur); i++) {
			prev = cur;
			cur = rav_load_ref(h, cur, 1);
		}
		if (insert) {
			rav_ref n;
			if (rav_ref_is_null(prev)) {
				/* a new head: the old list hangs off the new cell */
				rav_root tmp = rav_root_new(h);
				rav_root_set(h, tmp, rav_root_get(h, list));
				sample_check(rav_new_root(h, entry, list, &n), "insert head");
				rav_store(h, n, 0, key);
				rav_store_ref(h, n, 1, rav_root_get(h, tmp));
				rav_root_free(h, tmp);
			} else {
				rav_root tmp = rav_root_new(h);
				rav_root_set(h, tmp, cur);
				sample_check(rav_new_field(h, entry, prev, 1, &n), "insert");
				rav_store(h, n, 0, key);
				rav_store_ref(h, n, 1, rav_root_get(h, tmp));
				rav_root_free(h, tmp);
			}
			length++;
		} else if (!rav_ref_is_null(cur)) {
			/* unlink cur: its successor takes its place */
			rav_root tmp = rav_root_new(h);
			rav_root_set(h, tmp, rav_load_ref(h, cur, 1));
			if (rav_ref_is_null(prev))
				rav_root_set(h, list, rav_root_get(h, tmp));
			else
				rav_store_ref(h, prev, 1, rav_root_get(h, tmp));
			rav_root_free(h, tmp);
			length--;
		}
		/* every 64 rounds: a batch to the summer, and its answer */
		if ((rounds & 63) == 0) {
			rav_msg *m = rav_msg_new();
			if (!m)
				sample_check(RAV_ENOMEM, "message");
			rav_ref c;
			sample_check(rav_new_root(rav_msg_heap(m), entry, rav_msg_root(m), &c), "batch");
			rav_store(rav_msg_heap(m), c, 0, rounds);
			for (unsigned i = 1; i < 8 + rounds % 24; i++) {
				sample_check(rav_new_field(rav_msg_heap(m), entry, c, 1, &c), "batch");
				rav_store(rav_msg_heap(m), c, 0, rounds + i);
			}
			sample_check(rav_send(to_summer, m), "send");
			sample_check(rav_recv(to_builder, h, reply), "receive");
			checksum += rav_load(h, rav_root_get(h, reply), 0);
			rav_root_clear(h, reply);
		}
		if (errors && (rounds & 255) == 0 && now_s() >= next_error) {
			/* a deliberate misuse: the engine refuses and records an error */
			rav_ref bad;
			(void)rav_new_root(h, 3 /* reserved: RAV_TYPE_ROOT */, reply, &bad);
			errors_made++;
			next_error = now_s() + 1;
		}
		if (!flat_out && (rounds & 31) == 0)
			usleep(5000);
	}
	rav_channel_close(to_summer);
	pthread_join(ts, NULL);
	rav_root_free(h, list);
	rav_root_free(h, reply);
	rav_channel_free(to_summer);
	rav_channel_free(to_builder);
	if (!quiet)
		printf("rav-sample-live: %llu rounds, checksum %llu\n", (unsigned long long)rounds,
		       (unsigned long long)checksum);
	return 0;
}
