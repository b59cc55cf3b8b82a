/* symbols.c - call sites resolve to the right function, file and line.
 *
 * The test is its own "program": it takes return addresses of calls at
 * known lines of this file, writes them as call sites of a synthetic trace
 * with its own memory map (writer-maps.c, as the recorder does), and
 * resolves them back with libdw (trace/symbols.c).  Then the cases a user
 * meets: the object rebuilt since (another build id: no lines, "binary
 * changed"), moved (found again through rav_trace_set_object_path),
 * without debug info (symbol table names the function, no line), stripped
 * bare (object and offset), gone, and an address in no object.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace-private.h"
#include "trace-test.h"

static char exe[4096];

/* Return address of the call to it: a call site. */
__attribute__((noinline)) static uint64_t here(void)
{
	uint64_t r = (uint64_t)(uintptr_t)__builtin_return_address(0);
	__asm__ volatile("" ::: "memory");
	return r;
}

static unsigned line_a, line_b, line_inl;

__attribute__((noinline)) static uint64_t call_a(void)
{
	line_a = __LINE__ + 1;
	uint64_t r = here();
	__asm__ volatile("" ::: "memory"); /* no tail call: the return address stays in call_a */
	return r;
}

static inline __attribute__((always_inline)) uint64_t inlined_helper(void)
{
	line_inl = __LINE__ + 1;
	uint64_t r = here();
	__asm__ volatile("" ::: "memory");
	return r;
}

__attribute__((noinline)) static uint64_t call_b(void)
{
	line_b = __LINE__ + 1;
	uint64_t r = inlined_helper();
	__asm__ volatile("" ::: "memory");
	return r;
}

/* A trace whose call sites are `frames` (one site each, one event each),
 * with this process's memory map, or the map `maps` if given. */
static void write_trace(tt_mem *m, const uint64_t *frames, unsigned n, const ravt_map_object *maps,
                        size_t nmaps)
{
	ravt_selfmaps self = {0};
	ravt_writer_params p = tt_params("symbols");
	p.sites_hook = maps ? NULL : ravt_selfmaps_hook;
	p.sites_user = &self;
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, m, err, sizeof err);
	REQUIRE(w);
	if (maps)
		REQUIRE(ravt_writer_maps(w, maps, nmaps) == 0);
	rav_raw_event ev[2] = {tt_ev(RAV_EV_TIME, 0, 0, 2000, 0, 1), tt_ev(RAV_EV_THREAD_START, 0, 1, 7, 0, 1)};
	REQUIRE(ravt_writer_add(w, 1, ev, 2) == 0);
	for (unsigned i = 0; i < n; i++) {
		rav_raw_event r[2] = {tt_ev(RAV_RAW_SITE, 1, 0, frames[i], 0, 0),
		                      tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(1, 1, 1), i, i + 1)};
		REQUIRE(ravt_writer_add(w, 1, r, 2) == 0);
	}
	REQUIRE(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);
	ravt_selfmaps_free(&self);
}

static rav_trace *open_indexed(tt_mem *m)
{
	rav_trace_error e;
	rav_trace *t = rav_trace_open_memory(m->buf.p, m->buf.len, &e);
	if (!t)
		fprintf(stderr, "open: %s\n", e.message);
	REQUIRE(t);
	REQUIRE(rav_trace_index(t, NULL, NULL, &e) == 0);
	return t;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);
	return s && a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The site of event 2 + i. */
static uint32_t site_of(rav_trace *t, unsigned i)
{
	rav_event ev;
	REQUIRE(rav_trace_event_at(t, 2 + i, &ev));
	return ev.site;
}

/* How many of the trace's sites the spec's code ranges hold (the first in
 * *first); -1 if the spec does not resolve (its message in err). */
static long spec_sites(rav_trace *t, const char *spec, uint32_t *first, char *err, size_t errlen)
{
	rav_site_range r[64];
	long n = rav_trace_site_spec_resolve(t, spec, r, 64, err, errlen);
	if (n < 0)
		return -1;
	CHECK(n > 0 && n <= 64);
	for (long i = 1; i < n && i < 64; i++)
		CHECK(r[i - 1].hi < r[i].lo); /* sorted, merged */
	uint32_t ids[8] = {0};
	size_t k = rav_trace_sites_in_ranges(t, r, (size_t)(n < 64 ? n : 64), ids, 8);
	if (first)
		*first = k ? ids[0] : 0;
	return (long)k;
}

/* Breakpoint specs (rav_trace_site_spec_resolve): what gdb users type,
 * resolved to code ranges at run-time addresses (this test is a
 * position-independent executable: the map's base is not 0), matched
 * against the sites' addresses. */
static void breakpoint_specs(rav_trace *t, const uint64_t *f, uint32_t sa, uint32_t sb)
{
	char err[512], spec[4200];
	uint32_t first;
	CHECK(spec_sites(t, "call_a", &first, err, sizeof err) == 1 && first == sa);
	/* call_b's code holds the helper inlined into it: its call is in call_b */
	CHECK(spec_sites(t, "call_b", &first, err, sizeof err) == 1 && first == sb);
	CHECK(spec_sites(t, "inlined_helper", &first, err, sizeof err) == 1 && first == sb);
	snprintf(spec, sizeof spec, "symbols.c:%u", line_a);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sa);
	/* the line that calls the inline helper, and the helper's own line */
	snprintf(spec, sizeof spec, "trace/symbols.c:%u", line_b);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sb);
	snprintf(spec, sizeof spec, "symbols.c:%u", line_inl);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sb);
	/* a line with code but no call site of this trace: resolves, holds none */
	snprintf(spec, sizeof spec, "symbols.c:%u", line_a - 1);
	long none = spec_sites(t, spec, NULL, err, sizeof err);
	CHECK(none == 0 || none == -1);
	/* the site's address as shown, and the ELF address objdump shows for it */
	snprintf(spec, sizeof spec, "*0x%llx", (unsigned long long)f[0]);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sa);
	rav_trace_frame fr;
	CHECK(rav_trace_site_frames(t, sa, &fr, 1) == 1);
	CHECK(fr.offset != fr.address); /* PIE */
	snprintf(spec, sizeof spec, "  *%#llx ", (unsigned long long)fr.offset);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sa);
	const char *base = strrchr(exe, '/');
	snprintf(spec, sizeof spec, "*%s+%#llx", base ? base + 1 : exe, (unsigned long long)fr.offset);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sa);
	snprintf(spec, sizeof spec, "*%s+%#llx", exe, (unsigned long long)fr.offset);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 1 && first == sa);
	snprintf(spec, sizeof spec, "*0x%llx", (unsigned long long)f[0] + 1);
	CHECK(spec_sites(t, spec, &first, err, sizeof err) == 0);
	/* errors say what is wrong */
	static const struct {
		const char *spec, *says;
	} bad[] = {
	    {"", "no call site given"},
	    {"no_such_function_xyz", "no function no_such_function_xyz"},
	    {"symbols.c:99999", "no code at symbols.c:99999"},
	    {"nosuchfile.c:10", "no code at nosuchfile.c:10"},
	    {"symbols.c", "needs a line"},
	    {"symbols.c:0", "line number above 0"},
	    {"symbols.c:12x", "line number above 0"},
	    {":12", "line number above 0"},
	    {"*", "give an address"},
	    {"*0xzz", "not an address"},
	    {"*0xfffffffffff0", "no object"},
	    {"*nosuchobject+0x10", "has no object nosuchobject"},
	    {"*prog+zz", "not OBJECT+OFFSET"},
	};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = 0;
		long n = spec_sites(t, bad[i].spec, NULL, err, sizeof err);
		CHECK(n == -1);
		if (!strstr(err, bad[i].says)) {
			fprintf(stderr, "spec '%s': '%s' lacks '%s'\n", bad[i].spec, err, bad[i].says);
			tt_failures++;
		}
	}
	/* a spec longer than the message, of two-byte characters: the message
	 * quoting it (for a GTK label) is cut at a character, not inside one
	 * ("no function " and 499 bytes of it ended in half an 'é';
	 * fuzz-sitespec) */
	size_t k = 0;
	for (unsigned i = 0; i < 300; i++) {
		spec[k++] = (char)0xc3;
		spec[k++] = (char)0xa9;
	}
	spec[k] = 0;
	CHECK(spec_sites(t, spec, NULL, err, sizeof err) == -1);
	size_t len = strlen(err), i = len;
	while (i && ((unsigned char)err[i - 1] & 0xc0) == 0x80)
		i--;
	CHECK(len > 400 && i && (unsigned char)err[i - 1] == 0xc3 && len - i == 1); /* a whole 'é' last */
}

static void resolves(void)
{
	uint64_t f[3] = {call_a(), call_b(), 0x10};
	tt_mem m = {0};
	write_trace(&m, f, 3, NULL, 0);
	rav_trace *t = open_indexed(&m);
	CHECK(rav_trace_object_count(t) >= 2); /* the test and at least libc */

	rav_trace_symbol sy[8];
	uint32_t sa = site_of(t, 0);
	CHECK(sa != 0);
	CHECK(rav_trace_site_call(t, sa, &sy[0]));
	CHECK(sy[0].status == RAV_SYMBOL_OK);
	CHECK(sy[0].function && strcmp(sy[0].function, "call_a") == 0);
	CHECK(ends_with(sy[0].file, "tests/trace/symbols.c"));
	CHECK_EQ(sy[0].line, line_a);
	CHECK(!sy[0].inlined && sy[0].frame == 0 && sy[0].message == NULL);
	CHECK(sy[0].object && strcmp(sy[0].object, exe) == 0);
	if (sy[0].function)
		fprintf(stderr, "site A: %s %s:%u:%u\n", sy[0].function, sy[0].file, sy[0].line, sy[0].column);

	/* the inlined helper, then the function it was inlined into, at the
	 * line that called it */
	uint32_t sb = site_of(t, 1);
	unsigned n = rav_trace_site_resolve(t, sb, sy, 8);
	for (unsigned i = 0; i < n && i < 8; i++)
		fprintf(stderr, "site B [%u]: %s %s:%u%s\n", i, sy[i].function, sy[i].file, sy[i].line,
		        sy[i].inlined ? " (inlined)" : "");
	CHECK(n == 2);
	if (n >= 2) {
		CHECK(sy[0].function && strcmp(sy[0].function, "inlined_helper") == 0 && sy[0].inlined);
		CHECK_EQ(sy[0].line, line_inl);
		CHECK(sy[1].function && strcmp(sy[1].function, "call_b") == 0 && !sy[1].inlined);
		CHECK_EQ(sy[1].line, line_b);
		CHECK(ends_with(sy[1].file, "symbols.c"));
	}

	/* an address in no object */
	uint32_t sc = site_of(t, 2);
	CHECK(rav_trace_site_call(t, sc, &sy[0]));
	CHECK(sy[0].status == RAV_SYMBOL_UNMAPPED && sy[0].object == NULL && sy[0].offset == 0x10);
	CHECK(sy[0].message && strstr(sy[0].message, "no object"));
	CHECK(!rav_trace_site_call(t, 0, &sy[0]));

	/* finding sites by function, file, file:line */
	uint32_t ids[8];
	CHECK(rav_trace_sites_find(t, "call_a", ids, 8) == 1 && ids[0] == sa);
	CHECK(rav_trace_sites_find(t, "inlined_helper", ids, 8) == 1 && ids[0] == sb);
	CHECK(rav_trace_sites_find(t, "call_b", ids, 8) == 0); /* its call is the inlined helper's line */
	CHECK(rav_trace_sites_find(t, "symbols.c", ids, 8) == 2);
	CHECK(rav_trace_sites_find(t, "trace/symbols.c", ids, 8) == 2);
	CHECK(rav_trace_sites_find(t, "ymbols.c", ids, 8) == 0);
	char spec[64];
	snprintf(spec, sizeof spec, "symbols.c:%u", line_a);
	CHECK(rav_trace_sites_find(t, spec, ids, 8) == 1 && ids[0] == sa);
	snprintf(spec, sizeof spec, "symbols.c:%u", line_a + 1000);
	CHECK(rav_trace_sites_find(t, spec, ids, 8) == 0);
	breakpoint_specs(t, f, sa, sb);
	rav_trace_close(t);
	tt_mem_free(&m);
}

/* The test's own executable segments, as a one-object map under `path`. */
static ravt_map_object self_as(const char *path, const uint8_t *bid, unsigned blen, ravt_map_segment *seg)
{
	/* the call site's offset from its object base, known from a real map */
	uint64_t a = call_a();
	tt_mem m = {0};
	write_trace(&m, &a, 1, NULL, 0);
	rav_trace *t = open_indexed(&m);
	rav_trace_frame fr;
	REQUIRE(rav_trace_site_frames(t, site_of(t, 0), &fr, 1) == 1 && fr.object >= 0);
	rav_trace_object o;
	REQUIRE(rav_trace_object_at(t, (unsigned)fr.object, &o));
	*seg = (ravt_map_segment){o.start - o.base, o.end - o.start, RAVT_SEG_X | RAVT_SEG_R};
	ravt_map_object mo = {o.base, seg, 1, bid ? bid : o.build_id, bid ? blen : o.build_id_len, path, strlen(path)};
	static uint8_t keep[64];
	if (!bid) {
		memcpy(keep, o.build_id, o.build_id_len);
		mo.build_id = keep;
	}
	rav_trace_close(t);
	tt_mem_free(&m);
	return mo;
}

/* resolve_as also resolves this breakpoint spec, if set */
static const char *spec_to_try;
static long spec_result;
static char spec_err[512];

static rav_trace_symbol resolve_as(const char *path, const uint8_t *bid, unsigned blen, const char *object_path)
{
	ravt_map_segment seg;
	ravt_map_object mo = self_as(path, bid, blen, &seg);
	uint64_t a = call_a();
	tt_mem m = {0};
	write_trace(&m, &a, 1, &mo, 1);
	rav_trace *t = open_indexed(&m);
	if (object_path)
		rav_trace_set_object_path(t, object_path);
	rav_trace_symbol sy;
	memset(&sy, 0, sizeof sy);
	CHECK(rav_trace_site_call(t, site_of(t, 0), &sy));
	if (spec_to_try)
		spec_result = spec_sites(t, spec_to_try, NULL, spec_err, sizeof spec_err);
	/* strings live until close: keep copies of what the checks look at */
	static char fn[256], file[1024], msg[1024];
	snprintf(fn, sizeof fn, "%s", sy.function ? sy.function : "");
	snprintf(file, sizeof file, "%s", sy.file ? sy.file : "");
	snprintf(msg, sizeof msg, "%s", sy.message ? sy.message : "");
	sy.function = sy.function ? fn : NULL;
	sy.file = sy.file ? file : NULL;
	sy.message = sy.message ? msg : NULL;
	sy.object = NULL;
	rav_trace_close(t);
	tt_mem_free(&m);
	return sy;
}

static int run(const char *cmd)
{
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void changed_moved_stripped(void)
{
	/* rebuilt: the file on disk has another build id */
	uint8_t other[20] = {9, 9, 9};
	rav_trace_symbol sy = resolve_as(exe, other, sizeof other, NULL);
	CHECK(sy.status == RAV_SYMBOL_CHANGED);
	CHECK(sy.line == 0 && sy.file == NULL);
	CHECK(sy.message && strstr(sy.message, "binary changed"));

	/* gone */
	sy = resolve_as("/nonexistent/dir/test-symbols", NULL, 0, NULL);
	CHECK(sy.status == RAV_SYMBOL_NO_OBJECT && sy.message && strstr(sy.message, "not on disk"));

	/* moved: found by file name in a directory given afterwards */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", exe);
	char *slash = strrchr(dir, '/');
	REQUIRE(slash);
	char gone[4200];
	snprintf(gone, sizeof gone, "/nonexistent/dir%s", slash);
	*slash = 0;
	sy = resolve_as(gone, NULL, 0, dir);
	CHECK(sy.status == RAV_SYMBOL_OK && sy.function && strcmp(sy.function, "call_a") == 0);
	CHECK_EQ(sy.line, line_a);

	/* copies without debug info, then without any symbols */
	char tmp[] = "/tmp/rav-symbols-XXXXXX";
	REQUIRE(mkdtemp(tmp));
	char cmd[20000], nodebug[4200], bare[4200];
	snprintf(nodebug, sizeof nodebug, "%s/nodebug", tmp);
	snprintf(bare, sizeof bare, "%s/bare", tmp);
	snprintf(cmd, sizeof cmd, "objcopy --strip-debug '%s' '%s' && objcopy --strip-all '%s' '%s'", exe, nodebug,
	         exe, bare);
	if (run(cmd) != 0) {
		fprintf(stderr, "objcopy not available: skipping the stripped cases\n");
	} else {
		sy = resolve_as(nodebug, NULL, 0, NULL);
		CHECK(sy.status == RAV_SYMBOL_NO_DEBUG_INFO);
		CHECK(sy.function && strcmp(sy.function, "call_a") == 0 && sy.function_offset > 0);
		CHECK(sy.line == 0 && sy.file == NULL);
		CHECK(sy.message && strstr(sy.message, "no debug info"));
		/* breakpoints: a function from the symbol table; no line without debug info */
		spec_to_try = "call_a";
		resolve_as(nodebug, NULL, 0, NULL);
		CHECK(spec_result == 1);
		char spec[64];
		snprintf(spec, sizeof spec, "symbols.c:%u", line_a);
		spec_to_try = spec;
		resolve_as(nodebug, NULL, 0, NULL);
		CHECK(spec_result == -1 && strstr(spec_err, "no code at") && strstr(spec_err, "no debug info"));
		spec_to_try = "call_a";
		sy = resolve_as(bare, NULL, 0, NULL);
		CHECK(spec_result == -1 && strstr(spec_err, "no function call_a"));
		spec_to_try = NULL;
		CHECK(sy.status == RAV_SYMBOL_NO_DEBUG_INFO);
		CHECK(sy.function == NULL && sy.line == 0); /* object and offset only */
		CHECK(sy.offset > 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	run(cmd);
}

/* Source paths folded in place: a clean absolute path (gcc 12's DWARF 5
 * names the primary file with its full path) must end where it ends, not
 * run on into whatever the buffer held after it (a '/' written over the
 * terminator showed sites as "/tmp/x/prog.c/<garbage>:23"). */
static void folds_paths(void)
{
	static const struct {
		const char *dir, *file, *want;
	} cases[] = {
		{"/tmp/red", "/tmp/red/hashtab.c", "/tmp/red/hashtab.c"},
		{NULL, "/a/b/c.c", "/a/b/c.c"},
		{"/src/build", "../lib/x.c", "/src/lib/x.c"},
		{"/src/build", "./y.c", "/src/build/y.c"},
		{"/src", "a/./b/../c.c", "/src/a/c.c"},
		{"/", "z.c", "/z.c"},
		{NULL, "/../../q.c", "/q.c"},
		{"/d", "e/", "/d/e"},
		{NULL, "rel.c", "rel.c"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[64];
		memset(buf, 'X', sizeof buf); /* no stray terminator to stop a walk past the end */
		buf[sizeof buf - 1] = 0;
		const char *got = ravt_source_path_fold(cases[i].dir, cases[i].file, buf, sizeof buf);
		if (!got || strcmp(got, cases[i].want) != 0)
			fprintf(stderr, "fold(%s, %s) = %s, want %s\n", cases[i].dir ? cases[i].dir : "NULL",
				cases[i].file, got ? got : "NULL", cases[i].want);
		CHECK(got && strcmp(got, cases[i].want) == 0);
	}
}

int main(void)
{
	ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
	REQUIRE(k > 0);
	exe[k] = 0;
	folds_paths();
	resolves();
	changed_moved_stripped();
	if (tt_failures)
		fprintf(stderr, "%d checks failed\n", tt_failures);
	return tt_failures ? 1 : 0;
}
