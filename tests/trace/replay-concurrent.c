/* replay-concurrent.c - the viewer's pattern: rav_trace_index runs on a
 * worker thread while another thread seeks, steps, reads series and cell
 * histories over the prefix indexed so far.  Checks that every call either
 * succeeds or fails with a precise "not indexed yet" error, and that once
 * indexing is done, states reached during indexing agree with states
 * reached afterwards.  It starts with an indexing pass cancelled early, so
 * the real pass rebuilds the replay index in place.  Meant to run under the
 * helgrind / TSan setups too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ravtrace.h"
#include "replay-gen.h"
#include "trace-test.h"
#include "trace-private.h"

typedef struct probe {
	uint64_t at;
	rav_state_totals tot;
} probe;

static bool index_done;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;

static bool cancel_at_once(uint64_t done, uint64_t total, void *user)
{
	return false;
}

static void *indexer(void *arg)
{
	rav_trace *t = arg;
	rav_trace_error err;
	if (rav_trace_index(t, NULL, NULL, &err) < 0) {
		fprintf(stderr, "index: %s\n", err.message);
		tt_failures++;
	}
	pthread_mutex_lock(&done_lock);
	index_done = true;
	pthread_mutex_unlock(&done_lock);
	return NULL;
}

int main(void)
{
	char path[] = "/tmp/replay-concurrent-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	bool small = getenv("RAV_TEST_SMALL") != NULL;
	gen_params gp = {.path = path,
	                 .events = small ? 600000 : 2500000,
	                 .live_target = 10000,
	                 .threads = 2,
	                 .seed = 3,
	                 .access = true};
	if (gen_trace(&gp, NULL) < 0) {
		unlink(path);
		return 1;
	}
	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	unlink(path);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	/* a first pass cancelled at its first progress report: the second pass
	 * (on the worker) continues where it stopped, and what the two built
	 * together must equal what one pass builds */
	if (rav_trace_index(t, cancel_at_once, NULL, &err) == 0)
		printf("(the trace indexed before the first progress report: no cancelled pass)\n");
	else
		CHECK(err.code == RAV_TRACE_ECANCELLED);
	pthread_t th;
	if (pthread_create(&th, NULL, indexer, t) != 0) {
		fprintf(stderr, "pthread_create failed\n");
		return 1;
	}
	enum { MAXP = 256 };
	probe probes[MAXP];
	unsigned np = 0;
	rav_state *s = rav_state_new(t);
	uint64_t rng = 5;
	unsigned rounds = 0;
	for (;;) {
		pthread_mutex_lock(&done_lock);
		bool done = index_done;
		pthread_mutex_unlock(&done_lock);
		uint64_t avail = rav_trace_indexed_events(t);
		xorshift64(&rng);
		uint64_t at = avail ? rng % (avail + 1) : 0;
		if (rav_state_seek(s, at, &err) == 0) {
			for (int k = 0; k < 100 && rav_state_step(s, NULL, &err); k++)
				;
			if (np < MAXP) {
				probes[np].at = rav_state_position(s);
				rav_state_get_totals(s, &probes[np].tot);
				np++;
			}
		} else {
			/* acceptable: "not indexed that far yet"; a cursor meeting
			 * the end of the merged prefix ("the trace ended at event")
			 * is tolerated too */
			bool ok = err.code == RAV_TRACE_EREPLAY && strstr(err.message, "indexed") != NULL;
			ok = ok || (err.code == RAV_TRACE_EDECODE &&
			            strstr(err.message, "the trace ended at event") != NULL);
			if (!ok)
				fprintf(stderr, "seek to %llu (of %llu indexed): %s\n",
				        (unsigned long long)at, (unsigned long long)avail, err.message);
			CHECK(ok);
		}
		double bins[64];
		rav_trace_series(t, RAV_SERIES_LIVE_CELLS, -1, 0, 0, 64, bins);
		rav_trace_series(t, RAV_SERIES_EVENTS, -1, 0, 0, 64, bins);
		rav_cell_event he[16];
		unsigned total;
		rav_trace_cell_history(t, rav_loc_make(2, 3, 0), at, he, 16, &total);
		rounds++;
		if (done)
			break;
	}
	pthread_join(th, NULL);
	CHECK(!ravt_trace_replay_error(t, &err));
	/* states reached while indexing equal the same states reached now */
	rav_state *s2 = rav_state_new(t);
	for (unsigned i = 0; i < np; i++) {
		CHECK(rav_state_seek(s2, probes[i].at, &err) == 0);
		rav_state_totals tt;
		rav_state_get_totals(s2, &tt);
		if (memcmp(&tt, &probes[i].tot, sizeof tt) != 0) {
			fprintf(stderr, "state at %llu differs between during and after indexing\n",
			        (unsigned long long)probes[i].at);
			tt_failures++;
		}
	}
	rav_state_free(s);
	rav_state_free(s2);
	rav_trace_close(t);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("replay-concurrent: %u rounds during indexing, %u states checked\n", rounds, np);
	return 0;
}
