/* misuse-site.c - a misuse's ERROR event names the program's call that
 * made it.  Reads (rav_load, rav_load_ref, rav_root_get) take no call site
 * while a file records without accesses, so a stale borrow found in one
 * was reported at the program's previous engine call: the line that freed,
 * one line early, in `ravtrace dump`, the Errors panel and the Sites panel
 * (engine/site.c, rav__site_misuse).
 *
 * Records in-process, with an error handler that returns: builds a list,
 * takes a borrow, frees the list's tail (cells move), then reads through the
 * stale borrow (rav_load, then rav_load_ref), each on a line of its own;
 * each ERROR event's site must be its read's line, the frees' the clear's.  Needs the engine's debug checks
 * (skipped without them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flush-test.h"

#if RAV_DEBUG && !RAV_INLINE_FAST
static int misuses;

static void on_misuse(rav_status s, const char *message, void *user)
{
	(void)s, (void)message, (void)user;
	misuses++;
}

/* the line of the event's call site in this file, 0 if none */
static unsigned site_line(rav_trace *t, uint32_t site)
{
	rav_trace_symbol sy[4];
	unsigned n = rav_trace_site_resolve(t, site, sy, 4);
	if (n == 0 || !sy[0].file || !strstr(sy[0].file, "misuse-site.c"))
		return 0;
	return sy[0].line;
}
#endif

int main(void)
{
#if !RAV_DEBUG || RAV_INLINE_FAST
	fprintf(stderr, "skipped: the engine was built without debug checks (no stale borrows found)\n");
	return 77;
#else
	char path[] = "/tmp/rav-misuse-site-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	ft_record(path);
	rav_set_error_handler(on_misuse, NULL);
	ft_cells c = ft_allocate("node", 20, "built");
	rav_heap *h = c.heap;
	rav_ref first = rav_root_get(h, c.root);
	rav_ref second = rav_load_ref(h, first, 1);
	const unsigned clear_line = __LINE__; CHECK(rav_clear_ref(h, second, 1) == RAV_OK);
	const unsigned stale_line = __LINE__; uintptr_t v = rav_load(h, first, 0);
	const unsigned stale_ref_line = __LINE__; rav_ref r = rav_load_ref(h, first, 1);
	(void)v, (void)r;
	rav_mark("after the misuse");
	rav_root_free(h, c.root);
	rav_trace_stop();
	CHECK_EQ(misuses, 2);

	rav_trace *t = ft_open(path);
	rav_event_filter all = {.thread = -1};
	rav_event_iter it;
	rav_event ev;
	unsigned errors = 0, frees = 0, frees_at_clear = 0;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		if (ev.kind == RAV_EV_FREE && ev.thread != 0) {
			frees++;
			frees_at_clear += site_line(t, ev.site) == clear_line;
		}
		if (ev.kind == RAV_EV_ERROR && ev.text && strstr(ev.text, "stale borrow")) {
			unsigned line = site_line(t, ev.site), want = errors++ ? stale_ref_line : stale_line;
			if (line != want)
				fprintf(stderr, "the stale borrow's error %u is at line %u, not %u (the read)\n", errors, line,
				        want);
			CHECK_EQ(line, want);
		}
	}
	CHECK_EQ(errors, 2);
	CHECK(frees_at_clear >= 18 && frees_at_clear <= frees); /* the list's tail, freed by the clear */
	rav_trace_close(t);
	unlink(path);
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
#endif
}
