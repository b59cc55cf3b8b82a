/* replay-errors.c - a trace whose events do not fit the heap model.
 *
 * A small trace is written with the encoder: a heap, a page, two cells,
 * then an allocation of a cell that is already live, then more events.
 * Indexing must still finish (the file is well formed), keep the replay
 * error with the index of the bad event, let states before it be reached,
 * and refuse states after it with that same precise error; stepping onto the
 * bad event fails the same way.  No crash, no guess.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "format.h"
#include "ravtrace.h"
#include "trace-test.h"
#include "trace-private.h"

#define BASE 0x7f0000000000ull
static uint64_t A(uint32_t page, uint32_t cell, uint32_t word)
{
	return BASE + (uint64_t)page * 4096 + (uint64_t)cell * 32 + (uint64_t)word * 8;
}

static int sink(const void *data, size_t len, void *user)
{
	return fwrite(data, 1, len, (FILE *)user) == len ? 0 : -1;
}

int main(void)
{
	char path[] = "/tmp/replay-errors-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	FILE *f = fdopen(fd, "wb");
	ravt_writer_params wp;
	memset(&wp, 0, sizeof wp);
	wp.word_size = 8;
	wp.cell_size = 32;
	wp.page_size = 4096;
	wp.pool_base = BASE;
	wp.pool_bytes = (uint64_t)1 << 32;
	wp.cmdline = "replay-errors";
	wp.cmdline_len = strlen(wp.cmdline);
	char eb[256];
	ravt_writer *w = ravt_writer_new(&wp, sink, f, eb, sizeof eb);
	if (!w) {
		fprintf(stderr, "writer: %s\n", eb);
		return 1;
	}
	/* TIME + ordering event pairs carry sequence numbers, as the engine writes them */
	rav_raw_event ev[] = {
	    {RAV_EV_TIME, 0, 100, 0, 1},
	    {RAV_EV_HEAP_NEW | (RAV_HEAP_THREAD << 8), 1, 1, 0, 1},
	    {RAV_EV_TIME, 0, 101, 0, 2},
	    {RAV_EV_PAGE_ACQUIRE | (RAV_PAGE_HEAP << 8), 1, A(3, 0, 0), 0, 2},
	    {RAV_EV_ALLOC | (17u << 8), 0, A(3, 1, 0), 0, 0},
	    {RAV_EV_ALLOC | (17u << 8), 0, A(3, 2, 0), 0, 0},
	    {RAV_EV_DATA_STORE, 0, A(3, 1, 1), 0, 42},
	    {RAV_EV_ALLOC | (17u << 8), 0, A(3, 2, 0), 0, 0}, /* cell 2 is live: inconsistent */
	    {RAV_EV_DATA_STORE, 0, A(3, 1, 1), 42, 43},
	    {RAV_EV_FREE | (17u << 8), 0, A(3, 1, 0), 0, 0},
	};
	size_t n = sizeof ev / sizeof ev[0];
	if (ravt_writer_add(w, 1, ev, n) < 0 || ravt_writer_finish(w, 0) < 0) {
		fprintf(stderr, "writer: %s\n", ravt_writer_error(w));
		return 1;
	}
	ravt_writer_free(w);
	fclose(f);

	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	unlink(path);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return 1;
	}
	CHECK(rav_trace_index(t, NULL, NULL, &err) == 0);
	uint64_t total = rav_trace_indexed_events(t);
	CHECK(total == n);
	/* the bad event: the third ALLOC */
	uint64_t bad = UINT64_MAX;
	for (uint64_t i = 0, allocs = 0; i < total; i++) {
		rav_event e;
		if (rav_trace_event_at(t, i, &e) && e.kind == RAV_EV_ALLOC && ++allocs == 3)
			bad = i;
	}
	CHECK(bad != UINT64_MAX);
	char want[64];
	snprintf(want, sizeof want, "event %llu", (unsigned long long)bad);

	rav_trace_error ierr;
	CHECK(ravt_trace_replay_error(t, &ierr));
	CHECK(ierr.code == RAV_TRACE_EREPLAY);
	CHECK(strstr(ierr.message, want) != NULL);
	CHECK(strstr(ierr.message, "page 3 cell 2, which is live") != NULL);

	rav_state *s = rav_state_new(t);
	/* up to the bad event: fine, and the model is right */
	CHECK(rav_state_seek(s, bad, &err) == 0);
	rav_state_cell c;
	CHECK(rav_state_cell_at(s, 3, 1, &c) && c.state == RAV_CELL_LIVE && c.word[1] == 42);
	/* applying it fails precisely */
	CHECK(!rav_state_step(s, NULL, &err));
	CHECK(err.code == RAV_TRACE_EREPLAY && strstr(err.message, want) != NULL);
	/* past it: refused with the same error, from a fresh state too */
	rav_state *s2 = rav_state_new(t);
	CHECK(rav_state_seek(s2, total, &err) != 0);
	CHECK(err.code == RAV_TRACE_EREPLAY && strstr(err.message, want) != NULL);
	/* and the first state can still go back */
	CHECK(rav_state_seek(s, 2, &err) == 0 && rav_state_position(s) == 2);
	rav_state_free(s);
	rav_state_free(s2);
	rav_trace_close(t);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	printf("replay-errors: the inconsistent event %llu is reported: %s\n", (unsigned long long)bad,
	       ierr.message);
	return 0;
}
