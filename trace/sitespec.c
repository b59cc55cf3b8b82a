/* sitespec.c - "break func", "break file.c:123", "break *0xADDR": a
 * breakpoint's call site, resolved once into ranges of program code.
 *
 * A running program must never symbolize (it would block the thread that
 * hit in libdw), and a trace's sites are only those recorded so far: so a
 * spec is turned, on the viewer's side, into the run-time address ranges
 * of the code it names, and both a live program (debugger.c, FORMAT.md
 * §12.5) and Run to Breakpoint on a file (rav_trace_sites_in_ranges) match
 * a call site by testing its call instruction (return address - 1, as the
 * symbolizer looks it up) against plain ranges.
 *
 * What a spec names, in each object of the trace's memory map that
 * symbols.c could open (the very file the program ran, by build id):
 *  - FUNCTION: the code of every subprogram of that name, and of every
 *    copy of it inlined elsewhere (a call made in it, or in a function
 *    inlined into it, is "in" it); from the symbol table when the object
 *    has no debug info.
 *  - FILE:LINE: the line table rows of that line (the file matched by
 *    whole trailing path components, as rav_trace_sites_find does), and
 *    the code of inline functions called from that line (DW_AT_call_file
 *    and _line): a program's call through the engine's inline API
 *    (ravioli.h) is such a call.
 *  - *OBJECT+OFFSET: the same, as shown without debug info.
 *  - *ADDRESS: the site at that return address; an address in no recorded
 *    object but inside an object's own (ELF) address range (the main
 *    program's first, else the only such object) is taken as that, and
 *    moved by the object's load bias.
 * ELF addresses become run-time ones by the object's recorded base.
 */
#include <ctype.h>
#include <errno.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "symbols-private.h"
#include "trace-private.h"

typedef struct ranges {
	rav_site_range *v;
	size_t n, cap;
	bool oom;
} ranges;

static void add(ranges *r, uint64_t lo, uint64_t hi)
{
	if (hi <= lo || r->oom)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		rav_site_range *v = realloc(r->v, cap * sizeof *v);
		if (!v) {
			r->oom = true;
			return;
		}
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = (rav_site_range){lo, hi};
}

static int by_lo(const void *a, const void *b)
{
	const rav_site_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* Sort and merge ranges that overlap or touch. */
static void normalize(ranges *r)
{
	if (!r->n)
		return;
	qsort(r->v, r->n, sizeof *r->v, by_lo);
	size_t k = 0;
	for (size_t i = 1; i < r->n; i++) {
		if (r->v[i].lo <= r->v[k].hi) {
			if (r->v[i].hi > r->v[k].hi)
				r->v[k].hi = r->v[i].hi;
		} else {
			r->v[++k] = r->v[i];
		}
	}
	r->n = k + 1;
}

/* path (as the debug info has it, relative to the unit's directory dir)
 * ends with spec's file part, at a component boundary, once made absolute
 * and folded as the symbolizer shows it */
static bool file_matches(const char *dir, const char *raw, const char *file, size_t len)
{
	if (!raw)
		return false;
	/* cheap test first: the last components must agree */
	const char *fb = memrchr(file, '/', len);
	fb = fb ? fb + 1 : file;
	size_t fbl = len - (size_t)(fb - file);
	const char *rb = strrchr(raw, '/');
	rb = rb ? rb + 1 : raw;
	if (strlen(rb) != fbl || memcmp(rb, fb, fbl) != 0)
		return false;
	char buf[4096];
	const char *path = ravt_source_path_fold(dir, raw, buf, sizeof buf);
	if (!path)
		return false;
	size_t pl = strlen(path);
	if (pl < len || strncmp(path + pl - len, file, len) != 0)
		return false;
	return pl == len || path[pl - len - 1] == '/';
}

/* ---- Walking one object's debug information ------------------------------------ */

typedef struct query {
	const char *function; /* FUNCTION spec, or NULL */
	const char *file;     /* FILE:LINE spec: file part (not NUL-terminated at len) */
	size_t file_len;
	unsigned line;
	uint64_t base; /* the object's load bias */
	ranges *out;
	size_t before; /* ranges found before this object */
	/* why the program's own object gave nothing, for the message */
	char main_why[256];
} query;


static void add_die_ranges(query *q, Dwarf_Die *die, Dwarf_Addr bias)
{
	Dwarf_Addr base, start, end;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0)
		add(q->out, start + bias + q->base, end + bias + q->base);
}

/* Whether an inlined subroutine was called from q's FILE:LINE. */
static bool called_from_line(query *q, Dwarf_Die *die, Dwarf_Files *files, size_t nfiles, const char *dir)
{
	Dwarf_Attribute at;
	Dwarf_Word line, file;
	if (!files || !dwarf_attr(die, DW_AT_call_line, &at) || dwarf_formudata(&at, &line) != 0 || line != q->line)
		return false;
	if (!dwarf_attr(die, DW_AT_call_file, &at) || dwarf_formudata(&at, &file) != 0 || file >= nfiles)
		return false;
	return file_matches(dir, dwarf_filesrc(files, file, NULL, NULL), q->file, q->file_len);
}

static void walk(query *q, Dwarf_Die *die, Dwarf_Addr bias, Dwarf_Files *files, size_t nfiles, const char *dir,
                 unsigned depth)
{
	if (depth > 256) /* hostile or broken nesting */
		return;
	do {
		int tag = dwarf_tag(die);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			if (q->function) {
				const char *n = ravt_die_name(die);
				if (n && strcmp(n, q->function) == 0)
					add_die_ranges(q, die, bias);
			} else if (tag == DW_TAG_inlined_subroutine && called_from_line(q, die, files, nfiles, dir)) {
				add_die_ranges(q, die, bias);
			}
		}
		Dwarf_Die child;
		if (dwarf_haschildren(die) > 0 && dwarf_child(die, &child) == 0)
			walk(q, &child, bias, files, nfiles, dir, depth + 1);
	} while (dwarf_siblingof(die, die) == 0);
}

static void line_rows(query *q, Dwarf_Die *cu, Dwarf_Addr bias, const char *dir)
{
	Dwarf_Lines *lines;
	size_t n;
	if (dwarf_getsrclines(cu, &lines, &n) != 0)
		return;
	for (size_t i = 0; i + 1 < n; i++) {
		Dwarf_Line *l = dwarf_onesrcline(lines, i);
		int ln = 0;
		bool end = false;
		if (!l || dwarf_lineno(l, &ln) != 0 || (unsigned)ln != q->line || dwarf_lineendsequence(l, &end) != 0 ||
		    end)
			continue;
		if (!file_matches(dir, dwarf_linesrc(l, NULL, NULL), q->file, q->file_len))
			continue;
		/* a row's code runs to the next row's address (a sequence ends
		 * with an end_sequence row, so the next row is in it) */
		Dwarf_Addr a, b;
		Dwarf_Line *next = dwarf_onesrcline(lines, i + 1);
		if (next && dwarf_lineaddr(l, &a) == 0 && dwarf_lineaddr(next, &b) == 0)
			add(q->out, a + bias + q->base, b + bias + q->base);
	}
}

static void symtab_function(query *q, Dwfl_Module *mod)
{
	int n = dwfl_module_getsymtab(mod);
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, NULL, NULL, NULL);
		if (name && GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_size && strcmp(name, q->function) == 0)
			add(q->out, addr + q->base, addr + sym.st_size + q->base);
	}
}

/* Only the main program's (object 0, listed first): the vDSO is never on
 * disk and libraries seldom have debug info, which says nothing useful. */
static void note_why(query *q, unsigned object, const char *why)
{
	if (why && object == 0)
		snprintf(q->main_why, sizeof q->main_why, "%s", why);
}

static void each_object(unsigned object, struct Dwfl_Module *mod, const char *why, void *user)
{
	query *q = user;
	note_why(q, object, why);
	if (!mod)
		return;
	q->before = q->out->n;
	Dwarf_Die *cu = NULL;
	Dwarf_Addr bias = 0;
	while ((cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL) {
		Dwarf_Files *files = NULL;
		size_t nfiles = 0;
		Dwarf_Attribute at;
		const char *dir = dwarf_attr(cu, DW_AT_comp_dir, &at) ? dwarf_formstring(&at) : NULL;
		if (!q->function) {
			line_rows(q, cu, bias, dir);
			if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
				files = NULL;
		}
		Dwarf_Die child;
		if (dwarf_haschildren(cu) > 0 && dwarf_child(cu, &child) == 0)
			walk(q, &child, bias, files, nfiles, dir, 0);
	}
	/* without debug info (or a function only in the symbol table) */
	if (q->function && q->out->n == q->before)
		symtab_function(q, mod);
}

/* The query with what it needs of the trace: each object's load bias. */
typedef struct walk_ctx {
	query q;
	rav_trace *t;
} walk_ctx;

static void each_object_based(unsigned object, struct Dwfl_Module *mod, const char *why, void *user)
{
	walk_ctx *w = user;
	rav_trace_object o;
	w->q.base = rav_trace_object_at(w->t, object, &o) ? o.base : 0;
	each_object(object, mod, why, &w->q);
}

/* ---- The spec -------------------------------------------------------------------- */

static long fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static long fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n >= errlen) /* the spec quoted did not fit */
			ravt_text_end_at_char(err);
	}
	return -1;
}

/* *OBJECT+OFFSET, as a site without debug info is shown ("prog+0x88c3"):
 * the object by its path or file name, the offset an ELF address in it. */
static long resolve_object_offset(rav_trace *t, const char *spec, const char *p, const char *plus, ranges *r,
                                  char *err, size_t errlen)
{
	char *end;
	errno = 0;
	unsigned long long off = strtoull(plus + 1, &end, 0);
	while (isspace((unsigned char)*end))
		end++;
	if (!isdigit((unsigned char)plus[1]) || *end || errno || off == 0)
		return fail(err, errlen, "%s: not OBJECT+OFFSET (e.g. *prog+0x88c3)", spec);
	size_t nl = (size_t)(plus - p);
	while (nl && isspace((unsigned char)p[nl - 1]))
		nl--;
	unsigned n = rav_trace_object_count(t);
	for (unsigned i = 0; i < n; i++) {
		rav_trace_object o;
		if (!rav_trace_object_at(t, i, &o) || !o.path)
			continue;
		const char *b = strrchr(o.path, '/');
		b = b ? b + 1 : o.path;
		if ((strlen(o.path) == nl && memcmp(o.path, p, nl) == 0) || (strlen(b) == nl && memcmp(b, p, nl) == 0)) {
			add(r, off + o.base - 1, off + o.base);
			return 0;
		}
	}
	return fail(err, errlen, "%s: the trace's memory map has no object %.*s", spec, (int)nl, p);
}

/* No object to look in: a trace recorded without call sites, or one that
 * records them whose memory map has not come yet (a live stream received
 * from a program of an older recorder, held before its first call site). */
static long no_map(rav_trace *t, const char *spec, char *err, size_t errlen)
{
	if (ravt_reader_records_sites(ravt_trace_reader(t)))
		return fail(err, errlen,
		            "%s: the program's memory map has not been received yet (its recorder sends it before "
		            "the first call site): try again once the program has run on",
		            spec);
	return fail(err, errlen,
	            "%s: this trace has no memory map (recorded without call sites, or before format 1.3), so no "
	            "code can be found for it",
	            spec);
}

static long resolve_address(rav_trace *t, const char *spec, ranges *r, char *err, size_t errlen)
{
	const char *p = spec + 1;
	while (isspace((unsigned char)*p))
		p++;
	const char *plus = strrchr(p, '+');
	if (plus && plus != p)
		return resolve_object_offset(t, spec, p, plus, r, err, errlen);
	char *end;
	if (!isdigit((unsigned char)*p))
		return fail(err, errlen, "%s: give an address after '*' (e.g. *0x401a2b)", spec);
	errno = 0;
	unsigned long long a = strtoull(p, &end, 0);
	while (isspace((unsigned char)*end))
		end++;
	if (*end || errno || a == 0)
		return fail(err, errlen, "%s: not an address (write it in hex, e.g. *0x401a2b)", spec);
	unsigned n = rav_trace_object_count(t);
	if (n == 0)
		return no_map(t, spec, err, errlen);
	for (unsigned i = 0; i < n; i++) {
		rav_trace_object o;
		if (rav_trace_object_at(t, i, &o) && a >= o.start && a < o.end) {
			add(r, a - 1, a);
			return 0;
		}
	}
	/* an ELF address of an object loaded elsewhere (a position-independent
	 * executable or a shared library, as objdump and nm show it): the main
	 * program's (the loader lists it first, so does the map), else the one
	 * object whose addresses hold it */
	unsigned found = 0, which = 0;
	for (unsigned i = 0; i < n; i++) {
		rav_trace_object o;
		if (rav_trace_object_at(t, i, &o) && o.base && a >= o.start - o.base && a < o.end - o.base) {
			if (i == 0 || found == 0)
				which = i;
			found++;
			if (i == 0)
				break;
		}
	}
	rav_trace_object o;
	if (found && (which == 0 || found == 1) && rav_trace_object_at(t, which, &o)) {
		add(r, a + o.base - 1, a + o.base);
		return 0;
	}
	if (found > 1)
		return fail(err, errlen,
		            "%s: an ELF address of %u objects of the trace: give the run-time address ravscope or "
		            "ravtrace shows for the site",
		            spec, found);
	return fail(err, errlen, "%s: no object of the trace's memory map holds this address", spec);
}

long rav_trace_site_spec_resolve(rav_trace *t, const char *spec, rav_site_range *out, size_t max, char *err,
                                 size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	while (spec && isspace((unsigned char)*spec))
		spec++;
	if (!t || !spec || !*spec)
		return fail(err, errlen, "no call site given: write FUNCTION, FILE:LINE or *ADDRESS");
	size_t len = strlen(spec);
	while (len && isspace((unsigned char)spec[len - 1]))
		len--;
	if (len > 1024)
		return fail(err, errlen, "the call site is too long (%zu characters)", len);
	char *s = strndup(spec, len);
	if (!s)
		return fail(err, errlen, "out of memory");
	ranges r = {0};
	long rc = 0;
	if (s[0] == '*') {
		rc = resolve_address(t, s, &r, err, errlen);
	} else {
		walk_ctx w = {.t = t, .q = {.out = &r}};
		const char *colon = strrchr(s, ':');
		if (colon) {
			char *end;
			errno = 0;
			unsigned long line = strtoul(colon + 1, &end, 10);
			if (colon == s || !isdigit((unsigned char)colon[1]) || *end || errno || line == 0 ||
			    line > 100000000) {
				rc = fail(err, errlen, "%s: FILE:LINE needs a line number above 0 after the colon", s);
				goto out;
			}
			w.q.file = s;
			w.q.file_len = (size_t)(colon - s);
			w.q.line = (unsigned)line;
		} else if (strpbrk(s, "./")) {
			rc = fail(err, errlen, "%s: a file needs a line (FILE:LINE), or give a function", s);
			goto out;
		} else {
			w.q.function = s;
		}
		if (rav_trace_object_count(t) == 0) {
			rc = no_map(t, s, err, errlen);
			goto out;
		}
		ravt_symbols_each_object(t, each_object_based, &w);
		if (r.n == 0 && !r.oom) {
			char why[400] = "";
			if (w.q.main_why[0])
				snprintf(why, sizeof why, " (the program: %s)", w.q.main_why);
			if (w.q.function)
				rc = fail(err, errlen, "no function %s in the program's code%s", s, why);
			else
				rc = fail(err, errlen, "no code at %s in the program's code%s", s, why);
		}
	}
	if (rc == 0 && r.oom)
		rc = fail(err, errlen, "out of memory");
	if (rc == 0) {
		normalize(&r);
		for (size_t i = 0; i < r.n && i < max; i++)
			out[i] = r.v[i];
		rc = (long)r.n;
	}
out:
	free(r.v);
	free(s);
	return rc;
}

bool rav_site_ranges_match(const rav_site_range *r, size_t n, uint64_t return_address)
{
	if (!return_address)
		return false;
	uint64_t call = return_address - 1;
	for (size_t i = 0; i < n; i++)
		if (call >= r[i].lo && call < r[i].hi)
			return true;
	return false;
}

size_t rav_trace_sites_in_ranges(const rav_trace *t, const rav_site_range *r, size_t n, uint32_t *out, size_t max)
{
	uint32_t count = rav_trace_site_count(t);
	size_t found = 0;
	for (uint32_t id = 1; id <= count; id++) {
		rav_trace_frame fr;
		if (!rav_trace_site_frames(t, id, &fr, 1) || !rav_site_ranges_match(r, n, fr.address))
			continue;
		if (found < max)
			out[found] = id;
		found++;
	}
	return found;
}
