/* sites-inline.c - the call site of an allocation recorded by ravioli.h's
 * inline traced allocation names the program's line.
 *
 * Built with RAV_INLINE_FAST=1 and line tables.  Records to a file (the
 * real recorder, call sites on) allocations from known lines of this file:
 * inline ones (bumps), one that the inline code hands to the library (the
 * first of a new page), one into an occupied slot (the library, from the
 * same call site), and a library call (rav_root_new) as a control.  Then
 * each allocation's site must resolve to this file's function and line:
 * the inline code's own address lies in ravioli.h's inlined code, whose
 * frame the symbolizer drops (trace/symbols.c).  And the allocations of
 * one call site, inline or not, carry one site.
 */
#include <unistd.h>

#include "ravioli.h"
#include "ravtrace.h"
#include "trace-test.h"

static unsigned line_root, line_list, line_replace, line_rootnew;
static rav_type T;

__attribute__((noinline)) static void list(rav_heap *h, rav_root r, unsigned n)
{
	rav_ref cur;
	line_root = __LINE__ + 1;
	REQUIRE(rav_new_root(h, T, r, &cur) == RAV_OK);
	for (unsigned i = 1; i < n; i++) {
		line_list = __LINE__ + 1;
		REQUIRE(rav_new_field(h, T, cur, 1, &cur) == RAV_OK);
		__asm__ volatile("" ::: "memory"); /* (one call site, not unrolled) */
	}
}

__attribute__((noinline)) static void replace(rav_heap *h, rav_root r)
{
	rav_ref head = rav_root_get(h, r);
	line_replace = __LINE__ + 1;
	REQUIRE(rav_new_field(h, T, head, 1, NULL) == RAV_OK); /* (frees the rest of the list first) */
}

__attribute__((noinline)) static rav_root new_root(rav_heap *h)
{
	line_rootnew = __LINE__ + 1;
	rav_root r = rav_root_new(h);
	__asm__ volatile("" ::: "memory");
	return r;
}

/* The events of kind `kind` in [from, to): the first `first` of them (0:
 * none) must have a site at function fn0, line line0, the others one site
 * at function fn, line `line`.  Returns how many there were; their sites
 * in *site0 and *site. */
static bool site_is(rav_trace *t, uint32_t site, const char *fn, unsigned line)
{
	rav_trace_symbol sy;
	if (site == 0 || !rav_trace_site_call(t, site, &sy) || sy.status != RAV_SYMBOL_OK)
		return false;
	fprintf(stderr, "# site %u: %s %s:%u (want %s:%u)\n", site, sy.function ? sy.function : "?",
	        sy.file ? sy.file : "?", sy.line, fn, line);
	return sy.function && strcmp(sy.function, fn) == 0 && sy.file && strstr(sy.file, "sites-inline.c") &&
	       sy.line == line;
}

static uint64_t sites_of(rav_trace *t, uint64_t from, uint64_t to, unsigned kind, unsigned first, const char *fn0,
                         unsigned line0, const char *fn, unsigned line, uint32_t *site0, uint32_t *site)
{
	uint64_t n = 0;
	*site0 = *site = 0;
	for (uint64_t i = from; i < to; i++) {
		rav_event ev;
		REQUIRE(rav_trace_event_at(t, i, &ev));
		if (ev.kind != kind)
			continue;
		bool early = n++ < first;
		uint32_t *want = early ? site0 : site;
		if (*want == 0) {
			*want = ev.site;
			CHECK(early ? site_is(t, ev.site, fn0, line0) : site_is(t, ev.site, fn, line));
		} else if (ev.site != *want) {
			fprintf(stderr, "event %" PRIu64 ": site %u, the first had %u\n", i, ev.site, *want);
			tt_failures++;
			return n;
		}
	}
	return n;
}

int main(void)
{
	char path[] = "/tmp/sites-inline-XXXXXX";
	int fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);
	char eb[256];
	unsetenv("RAVIOLI_TRACE_SITES");
	unsetenv("RAVIOLI_TRACE_STACK");
	REQUIRE(rav_trace_start(path, false, eb, sizeof eb) == 0);
	T = rav_type_register("sites.node", RAV_DATA, RAV_REF);
	REQUIRE(T);
	rav_heap *h = rav_heap_self();
	rav_root r = new_root(h);
	REQUIRE(r);
	rav_mark("list");
	list(h, r, 3 * RAV_PAGE_CELLS); /* bumps, and new pages through the library */
	rav_mark("replace");
	replace(h, r);
	rav_mark("end");
	rav_root_free(h, r);
	rav_trace_stop();

	rav_trace_error err;
	rav_trace *t = rav_trace_open(path, &err);
	if (!t)
		fprintf(stderr, "open: %s\n", err.message);
	REQUIRE(t);
	REQUIRE(rav_trace_index(t, NULL, NULL, &err) == 0);
	uint64_t n = rav_trace_indexed_events(t), mark[3] = {0, 0, 0};
	unsigned marks = 0;
	for (uint64_t i = 0; i < n && marks < 3; i++) {
		rav_event ev;
		REQUIRE(rav_trace_event_at(t, i, &ev));
		if (ev.kind == RAV_EV_MARK)
			mark[marks++] = i;
	}
	REQUIRE(marks == 3);
	uint32_t s_rootnew, s_none, s_root, s_list, s_replace;
	CHECK(sites_of(t, 0, mark[0], RAV_EV_ROOT_NEW, 0, NULL, 0, "new_root", line_rootnew, &s_none, &s_rootnew) ==
	      1);
	/* the list: its first cell (rav_new_root), then its cells in fields,
	 * inline or through the library: one store event each */
	CHECK_EQ(sites_of(t, mark[0], mark[1], RAV_EV_REF_STORE, 1, "list", line_root, "list", line_list, &s_root,
	                  &s_list),
	         3 * RAV_PAGE_CELLS);
	CHECK(s_root != s_list && s_root != s_rootnew);
	/* into an occupied slot: the old value's free first, then the cell */
	CHECK_EQ(sites_of(t, mark[1], mark[2], RAV_EV_ALLOC, 0, NULL, 0, "replace", line_replace, &s_none, &s_replace),
	         1);
	CHECK(s_replace != s_list);
	rav_trace_close(t);
	unlink(path);
	return tt_failures ? 1 : 0;
}
