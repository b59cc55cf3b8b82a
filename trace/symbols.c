/* symbols.c - call sites to functions, files and lines (elfutils libdw).
 *
 * The recording side only writes return addresses and the memory map;
 * everything here runs in the reader, after the program is gone, the way
 * Sysprof symbolizes its captures:
 *
 *  - Each recorded object is opened once, lazily: at its recorded path, or
 *    by file name in the directories of rav_trace_set_object_path.  The
 *    file's GNU build id must equal the recorded one; a rebuilt binary
 *    would give plausible but wrong lines, so it is refused ("changed").
 *    Each object gets its own Dwfl with the file reported at bias 0, so
 *    frame offsets (ELF virtual addresses) are looked up as they are, and
 *    objects that overlapped in different memory maps never collide.
 *    Separate debug files are found as libdwfl finds them (build-id paths
 *    under /usr/lib/debug, .gnu_debuglink).
 *  - A frame is a return address: the call is the instruction before it,
 *    so offset - 1 is looked up.  Its line comes from the line table; the
 *    scopes at that address give the inlined functions, innermost first,
 *    each placed at the call site (DW_AT_call_file/line) of the one inside
 *    it.  Without debug info the symbol table names the function.
 *  - The engine's public header has inline functions; a call made from one
 *    of them records an address inside the program's function, where
 *    libdw shows the inline function first.  Those frames (file ravioli.h)
 *    are dropped from a site's symbols, so a site's first symbol is the
 *    program's own line.
 *
 * Results are cached per (object, offset) and strings interned, so the
 * answers stay valid until the trace is closed (the trace owns the
 * symbolizer: ravt_trace_extension).  libdw is not thread-safe:
 * one lock serialises a trace's resolutions.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbols-private.h"
#include "trace-private.h"

#define MAX_INLINE 32 /* symbols one frame expands to at most */

typedef struct objstate {
	bool tried;
	rav_symbol_status status; /* OK (found, debug info or not: see no_debug), CHANGED, NO_OBJECT */
	bool no_debug;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	const char *path;    /* recorded */
	const char *message; /* for non-OK statuses and no_debug */
} objstate;

typedef struct centry {
	int64_t object; /* -2: free slot */
	uint64_t offset;
	uint32_t start, n;
} centry;

typedef struct ravt_symbols {
	rav_trace *t;
	pthread_mutex_t lock;
	char *search;
	objstate *objs;
	size_t nobjs;
	centry *cache;
	size_t ccap, cused;
	rav_trace_symbol *syms;
	size_t nsyms, capsyms;
	/* interned strings */
	char **stab;
	size_t scap, sused;
} ravt_symbols;

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

static void *symbols_new(rav_trace *t)
{
	ravt_symbols *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->t = t;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void forget(ravt_symbols *s)
{
	for (size_t i = 0; i < s->nobjs; i++)
		if (s->objs[i].dwfl)
			dwfl_end(s->objs[i].dwfl);
	free(s->objs);
	s->objs = NULL;
	s->nobjs = 0;
	free(s->cache);
	s->cache = NULL;
	s->ccap = s->cused = 0;
	s->nsyms = 0;
}

static void symbols_free(void *p)
{
	ravt_symbols *s = p;
	if (!s)
		return;
	forget(s);
	free(s->syms);
	for (size_t i = 0; i < s->scap; i++)
		free(s->stab[i]);
	free(s->stab);
	free(s->search);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- Strings ------------------------------------------------------------------ */

static uint64_t hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ull;
	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return h;
}

/* A copy of str that lives as long as the symbolizer; NULL for NULL or on
 * out of memory. */
static const char *intern(ravt_symbols *s, const char *str)
{
	if (!str)
		return NULL;
	if ((s->sused + 1) * 2 > s->scap) {
		size_t cap = s->scap ? s->scap * 2 : 256;
		char **n = calloc(cap, sizeof *n);
		if (!n)
			return NULL;
		for (size_t i = 0; i < s->scap; i++) {
			if (!s->stab[i])
				continue;
			size_t j = hash_str(s->stab[i]) & (cap - 1);
			while (n[j])
				j = (j + 1) & (cap - 1);
			n[j] = s->stab[i];
		}
		free(s->stab);
		s->stab = n;
		s->scap = cap;
	}
	size_t j = hash_str(str) & (s->scap - 1);
	while (s->stab[j]) {
		if (strcmp(s->stab[j], str) == 0)
			return s->stab[j];
		j = (j + 1) & (s->scap - 1);
	}
	char *c = strdup(str);
	if (!c)
		return NULL;
	s->stab[j] = c;
	s->sused++;
	return c;
}

static const char *internf(ravt_symbols *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *internf(ravt_symbols *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return intern(s, buf);
}

static void hex(char *out, size_t cap, const uint8_t *b, unsigned n)
{
	size_t k = 0;
	for (unsigned i = 0; i < n && k + 3 <= cap; i++)
		k += (size_t)snprintf(out + k, cap - k, "%02x", b[i]);
	if (k == 0 && cap)
		out[0] = 0;
}

/* ---- Objects ------------------------------------------------------------------ */

/* Try the file at path for object o: OK, CHANGED or NO_OBJECT, with the
 * Dwfl kept on OK. */
static rav_symbol_status try_file(ravt_symbols *s, objstate *st, const rav_trace_object *o, const char *path,
                                  char *why, size_t whylen)
{
	/* the path comes from the trace: never block on a FIFO or a device */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, whylen, "%s is not on disk (%s)", path, strerror(errno));
		return RAV_SYMBOL_NO_OBJECT;
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		snprintf(why, whylen, "%s is not a regular file", path);
		return RAV_SYMBOL_NO_OBJECT;
	}
	Dwfl *dwfl = dwfl_begin(&callbacks);
	if (!dwfl) {
		close(fd);
		snprintf(why, whylen, "libdw: %s", dwfl_errmsg(-1));
		return RAV_SYMBOL_NO_OBJECT;
	}
	dwfl_report_begin(dwfl);
	/* the module takes the descriptor (closed by dwfl_end) */
	Dwfl_Module *mod = dwfl_report_elf(dwfl, path, path, fd, 0, false);
	dwfl_report_end(dwfl, NULL, NULL);
	if (!mod) {
		snprintf(why, whylen, "%s cannot be read as an ELF object (%s)", path, dwfl_errmsg(-1));
		dwfl_end(dwfl);
		return RAV_SYMBOL_NO_OBJECT;
	}
	/* An object the recorder saw without a build id (it reads the loaded
	 * notes, so one it had is always recorded) is not a file that has one:
	 * a trace naming /proc/self/exe would give the reader's own lines. */
	{
		const unsigned char *bits = NULL;
		GElf_Addr va;
		int n = dwfl_module_build_id(mod, &bits, &va);
		if (n < 0) /* (none found) */
			n = 0;
		if (n != (int)o->build_id_len || (n > 0 && memcmp(bits, o->build_id, o->build_id_len) != 0)) {
			char want[2 * 64 + 1], got[2 * 64 + 1] = "none";
			if (!o->build_id_len)
				snprintf(want, sizeof want, "none");
			else
				hex(want, sizeof want, o->build_id, o->build_id_len);
			if (n > 0)
				hex(got, sizeof got, bits, (unsigned)n > 64 ? 64 : (unsigned)n);
			snprintf(why, whylen,
			         "binary changed: %s is not the file the program ran (build id %s on disk, %s "
			         "recorded), so its lines would be wrong",
			         path, got, want);
			dwfl_end(dwfl);
			return RAV_SYMBOL_CHANGED;
		}
	}
	st->dwfl = dwfl;
	st->mod = mod;
	Dwarf_Addr bias;
	if (!dwfl_module_getdwarf(mod, &bias)) {
		st->no_debug = true;
		st->message = internf(s, "no debug info in %s (build it with -g, or install its debug symbols)", path);
	}
	return RAV_SYMBOL_OK;
}

static objstate *object(ravt_symbols *s, int32_t idx)
{
	if (idx < 0)
		return NULL;
	if ((size_t)idx >= s->nobjs) {
		size_t n = (size_t)idx + 1;
		objstate *o = realloc(s->objs, n * sizeof *o);
		if (!o)
			return NULL;
		memset(o + s->nobjs, 0, (n - s->nobjs) * sizeof *o);
		s->objs = o;
		s->nobjs = n;
	}
	objstate *st = &s->objs[idx];
	if (st->tried)
		return st;
	st->tried = true;
	rav_trace_object o;
	if (!rav_trace_object_at(s->t, (unsigned)idx, &o)) {
		st->status = RAV_SYMBOL_UNMAPPED;
		st->message = intern(s, "the trace names no such object");
		return st;
	}
	st->path = o.path;
	char why[1024] = "";
	st->status = try_file(s, st, &o, o.path, why, sizeof why);
	/* Elsewhere, by file name: a copy of the program (or the right build
	 * of it) kept in another directory. */
	const char *base = strrchr(o.path, '/');
	base = base ? base + 1 : o.path;
	for (const char *d = s->search; st->status != RAV_SYMBOL_OK && d && *d;) {
		const char *e = strchr(d, ':');
		size_t dl = e ? (size_t)(e - d) : strlen(d);
		if (dl) {
			char path[4096], why2[1024] = "";
			snprintf(path, sizeof path, "%.*s/%s", (int)dl, d, base);
			rav_symbol_status r = try_file(s, st, &o, path, why2, sizeof why2);
			if (r == RAV_SYMBOL_OK || (r == RAV_SYMBOL_CHANGED && st->status == RAV_SYMBOL_NO_OBJECT)) {
				st->status = r;
				snprintf(why, sizeof why, "%s", why2);
			}
		}
		d = e ? e + 1 : NULL;
	}
	if (st->status != RAV_SYMBOL_OK)
		st->message = intern(s, why);
	return st;
}

/* ---- Resolving one frame ------------------------------------------------------ */

static bool push(ravt_symbols *s, const rav_trace_symbol *sym)
{
	if (s->nsyms == s->capsyms) {
		size_t cap = s->capsyms ? s->capsyms * 2 : 256;
		rav_trace_symbol *n = realloc(s->syms, cap * sizeof *n);
		if (!n)
			return false;
		s->syms = n;
		s->capsyms = cap;
	}
	s->syms[s->nsyms++] = *sym;
	return true;
}

const char *ravt_die_name(Dwarf_Die *die)
{
	Dwarf_Attribute at;
	const char *n = NULL;
	/* the linkage name says which of several C++ overloads; C has none */
	if (dwarf_attr_integrate(die, DW_AT_name, &at))
		n = dwarf_formstring(&at);
	if (!n && dwarf_attr_integrate(die, DW_AT_linkage_name, &at))
		n = dwarf_formstring(&at);
	return n;
}

/* A source file's name as the debug info gives it, made absolute with the
 * compilation directory when it is relative ("../src/x.c" of a build in
 * build/), with "." and ".." components folded, into buf. */
const char *ravt_source_path_fold(const char *dir, const char *file, char *buf, size_t cap)
{
	if (!file || cap < 2)
		return NULL;
	if (file[0] != '/') {
		if (!dir || dir[0] != '/')
			return file;
		snprintf(buf, cap, "%s/%s", dir, file);
	} else {
		snprintf(buf, cap, "%s", file);
	}
	/* fold components in place: parts are copied down, ".." drops one */
	char *out = buf + 1, *in = buf + 1;
	while (*in) {
		char *slash = strchr(in, '/');
		size_t len = slash ? (size_t)(slash - in) : strlen(in);
		if (len == 0 || (len == 1 && in[0] == '.')) {
			/* skip */
		} else if (len == 2 && in[0] == '.' && in[1] == '.') {
			if (out > buf + 1) {
				out--; /* the '/' after the last part */
				while (out > buf + 1 && out[-1] != '/')
					out--;
			}
		} else {
			memmove(out, in, len);
			out += len;
			/* a separator only where one follows: out may be in,
			 * and the last part's '/' would overwrite the end */
			if (slash)
				*out++ = '/';
		}
		in += len;
		if (*in == '/')
			in++;
	}
	if (out > buf + 1 && out[-1] == '/')
		out--;
	*out = 0;
	return buf;
}

/* The same, interned. */
static const char *source_path(ravt_symbols *s, Dwarf_Die *cu, const char *file)
{
	char buf[4096];
	Dwarf_Attribute at;
	const char *dir = cu && dwarf_attr(cu, DW_AT_comp_dir, &at) ? dwarf_formstring(&at) : NULL;
	return intern(s, ravt_source_path_fold(dir, file, buf, sizeof buf));
}

/* The symbol of a frame in an object without debug information to read
 * (no object at all, one not found or changed on disk): made on the spot,
 * never cached.  A file may name millions of distinct such addresses (its
 * frames are bounded, not their values), and keeping one entry, or one
 * message naming the address, for each would cost the symbolizer memory
 * far beyond the file's; the address is in the symbol's offset.  False
 * for a frame of an object that is read. */
static bool plain_symbol(ravt_symbols *s, int32_t obj, uint64_t offset, rav_trace_symbol *out)
{
	objstate *st = object(s, obj);
	if (st && st->status == RAV_SYMBOL_OK)
		return false;
	*out = (rav_trace_symbol){.offset = offset};
	if (!st || st->status == RAV_SYMBOL_UNMAPPED) {
		out->status = RAV_SYMBOL_UNMAPPED;
		out->message = st ? st->message : intern(s, "the address is in no object the program had loaded");
		return true;
	}
	out->object = st->path;
	out->status = st->status;
	out->message = st->message;
	return true;
}

/* Symbols of (object, offset) appended to s->syms; how many. */
static unsigned resolve(ravt_symbols *s, int32_t obj, uint64_t offset)
{
	rav_trace_symbol base;
	if (plain_symbol(s, obj, offset, &base))
		return push(s, &base) ? 1 : 0;
	objstate *st = object(s, obj);
	base = (rav_trace_symbol){.offset = offset, .object = st->path};
	/* the call instruction ends where the return address points */
	Dwarf_Addr pc = offset ? offset - 1 : 0;
	GElf_Off soff = 0;
	GElf_Sym sym;
	const char *symname = dwfl_module_addrinfo(st->mod, pc, &soff, &sym, NULL, NULL, NULL);
	/* a stripped object's nearest dynamic symbol is usually another
	 * function: only a symbol that covers the address names it */
	if (symname && ((sym.st_size && soff >= sym.st_size) || (!sym.st_size && soff >= 256)))
		symname = NULL;
	if (st->no_debug) {
		base.status = RAV_SYMBOL_NO_DEBUG_INFO;
		base.message = st->message;
		base.function = intern(s, symname);
		base.function_offset = symname ? soff + 1 : 0;
		return push(s, &base) ? 1 : 0;
	}
	base.status = RAV_SYMBOL_OK;
	const char *file = NULL;
	int line = 0, col = 0;
	Dwfl_Line *dl = dwfl_module_getsrc(st->mod, pc);
	if (dl)
		file = dwfl_lineinfo(dl, NULL, &line, &col, NULL, NULL);
	unsigned before = (unsigned)s->nsyms, n = 0;
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(st->mod, pc, &bias);
	Dwarf_Die *scopes = NULL;
	int nscopes = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
	/* Past an inlined function, dwarf_getscopes goes on with the scopes of
	 * its abstract definition; the functions it was inlined into are the
	 * DIE's parents: take the chain from the innermost function's DIE. */
	for (int i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram) {
			Dwarf_Die *chain = NULL;
			int nchain = tag == DW_TAG_inlined_subroutine ? dwarf_getscopes_die(&scopes[i], &chain) : -1;
			if (nchain > 0) {
				free(scopes);
				scopes = chain;
				nscopes = nchain;
			}
			break;
		}
	}
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	if (cu && dwarf_getsrcfiles(cu, &files, &nfiles) != 0)
		files = NULL;
	for (int i = 0; i < nscopes && n < MAX_INLINE; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		rav_trace_symbol sy = base;
		sy.function = intern(s, ravt_die_name(&scopes[i]));
		sy.file = source_path(s, cu, file);
		sy.line = line > 0 ? (unsigned)line : 0;
		sy.column = col > 0 ? (unsigned)col : 0;
		sy.inlined = tag == DW_TAG_inlined_subroutine;
		if (!push(s, &sy))
			break;
		n++;
		if (tag == DW_TAG_subprogram)
			break;
		/* the next function out is at this one's call site */
		Dwarf_Attribute at;
		Dwarf_Word cf = 0, cl = 0, cc = 0;
		if (dwarf_attr(&scopes[i], DW_AT_call_file, &at))
			dwarf_formudata(&at, &cf);
		if (dwarf_attr(&scopes[i], DW_AT_call_line, &at))
			dwarf_formudata(&at, &cl);
		if (dwarf_attr(&scopes[i], DW_AT_call_column, &at))
			dwarf_formudata(&at, &cc);
		file = files && cf < nfiles ? dwarf_filesrc(files, cf, NULL, NULL) : NULL;
		line = (int)cl;
		col = (int)cc;
	}
	free(scopes);
	if (n == 0) {
		/* no scope for the address: the line table and the symbol table */
		rav_trace_symbol sy = base;
		sy.function = intern(s, symname);
		sy.function_offset = symname ? soff + 1 : 0;
		sy.file = source_path(s, cu, file);
		sy.line = line > 0 ? (unsigned)line : 0;
		sy.column = col > 0 ? (unsigned)col : 0;
		if (!sy.file)
			sy.message = intern(s, "no line information for this address");
		if (push(s, &sy))
			n = 1;
	}
	(void)before;
	return n;
}

static uint64_t hash_frame(int64_t obj, uint64_t off)
{
	uint64_t h = (uint64_t)obj * 0x9e3779b97f4a7c15ull ^ off;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 32);
}

/* The cached symbols of a frame (lock held); NULL on out of memory. */
static const centry *lookup(ravt_symbols *s, int32_t obj, uint64_t off)
{
	if ((s->cused + 1) * 2 > s->ccap) {
		size_t cap = s->ccap ? s->ccap * 2 : 256;
		centry *n = malloc(cap * sizeof *n);
		if (!n)
			return NULL;
		for (size_t i = 0; i < cap; i++)
			n[i].object = -2;
		for (size_t i = 0; i < s->ccap; i++) {
			if (s->cache[i].object == -2)
				continue;
			size_t j = hash_frame(s->cache[i].object, s->cache[i].offset) & (cap - 1);
			while (n[j].object != -2)
				j = (j + 1) & (cap - 1);
			n[j] = s->cache[i];
		}
		free(s->cache);
		s->cache = n;
		s->ccap = cap;
	}
	size_t j = hash_frame(obj, off) & (s->ccap - 1);
	while (s->cache[j].object != -2) {
		if (s->cache[j].object == obj && s->cache[j].offset == off)
			return &s->cache[j];
		j = (j + 1) & (s->ccap - 1);
	}
	uint32_t start = (uint32_t)s->nsyms;
	unsigned n = resolve(s, obj, off);
	if (!n)
		return NULL;
	/* resolve() may have grown the table: find the slot again */
	j = hash_frame(obj, off) & (s->ccap - 1);
	while (s->cache[j].object != -2)
		j = (j + 1) & (s->ccap - 1);
	s->cache[j] = (centry){obj, off, start, n};
	s->cused++;
	return &s->cache[j];
}

/* The trace's symbolizer, made on first use and freed with the trace. */
static ravt_symbols *get(rav_trace *t)
{
	return ravt_trace_extension(t, RAVT_EXT_SYMBOLS, symbols_new, symbols_free);
}

static bool is_api_header(const char *file)
{
	if (!file)
		return false;
	const char *b = strrchr(file, '/');
	b = b ? b + 1 : file;
	return strcmp(b, "ravioli.h") == 0 || strcmp(b, "rav-record.h") == 0;
}

/* Symbols of frames [0, n) of a site into out (lock held). */
static unsigned site_symbols(ravt_symbols *s, const rav_trace_frame *fr, unsigned nfr, rav_trace_symbol *out,
                             unsigned max)
{
	unsigned total = 0;
	for (unsigned k = 0; k < nfr; k++) {
		rav_trace_symbol plain;
		if (plain_symbol(s, fr[k].object, fr[k].offset, &plain)) {
			if (total < max) {
				out[total] = plain;
				out[total].frame = k;
			}
			total++;
			continue;
		}
		const centry *c = lookup(s, fr[k].object, fr[k].offset);
		if (!c)
			break;
		for (uint32_t i = 0; i < c->n; i++) {
			const rav_trace_symbol *sy = &s->syms[c->start + i];
			/* the engine's inline API at the call site: the program's line is the next one */
			if (k == 0 && total == 0 && i + 1 < c->n && is_api_header(sy->file))
				continue;
			if (total < max) {
				out[total] = *sy;
				out[total].frame = k;
				if (sy->status == RAV_SYMBOL_UNMAPPED)
					out[total].offset = fr[k].offset;
			}
			total++;
		}
	}
	return total;
}

unsigned rav_trace_site_resolve(rav_trace *t, uint32_t site, rav_trace_symbol *out, unsigned max)
{
	rav_trace_frame fr[RAV_TRACE_SITE_FRAMES_MAX];
	unsigned nfr = rav_trace_site_frames(t, site, fr, RAV_TRACE_SITE_FRAMES_MAX);
	if (!nfr)
		return 0;
	ravt_symbols *s = get(t);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	unsigned n = site_symbols(s, fr, nfr, out, max);
	pthread_mutex_unlock(&s->lock);
	return n;
}

bool rav_trace_site_call(rav_trace *t, uint32_t site, rav_trace_symbol *out)
{
	rav_trace_frame fr;
	if (!rav_trace_site_frames(t, site, &fr, 1))
		return false;
	ravt_symbols *s = get(t);
	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	unsigned n = site_symbols(s, &fr, 1, out, 1);
	pthread_mutex_unlock(&s->lock);
	return n > 0;
}

unsigned rav_trace_frame_resolve(rav_trace *t, const rav_trace_frame *frame, rav_trace_symbol *out, unsigned max)
{
	ravt_symbols *s = get(t);
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	rav_trace_symbol plain;
	if (plain_symbol(s, frame->object, frame->offset, &plain)) {
		pthread_mutex_unlock(&s->lock);
		if (max)
			out[0] = plain;
		return 1;
	}
	const centry *c = lookup(s, frame->object, frame->offset);
	unsigned n = c ? c->n : 0;
	for (unsigned i = 0; i < n && i < max; i++)
		out[i] = s->syms[c->start + i];
	pthread_mutex_unlock(&s->lock);
	return n;
}

void rav_trace_set_object_path(rav_trace *t, const char *dirs)
{
	ravt_symbols *s = get(t);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	free(s->search);
	s->search = dirs && *dirs ? strdup(dirs) : NULL;
	forget(s);
	pthread_mutex_unlock(&s->lock);
}

unsigned ravt_symbols_each_object(rav_trace *t, ravt_module_fn fn, void *user)
{
	ravt_symbols *s = get(t);
	unsigned n = rav_trace_object_count(t);
	if (!s)
		return n;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < n; i++) {
		objstate *st = object(s, (int32_t)i);
		if (!st)
			continue;
		bool ok = st->status == RAV_SYMBOL_OK && st->mod;
		fn(i, ok ? st->mod : NULL, !ok || st->no_debug ? st->message : NULL, user);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- Finding sites by function or line ------------------------------------------- */

static bool file_matches(const char *path, const char *spec, size_t len)
{
	if (!path)
		return false;
	size_t pl = strlen(path);
	if (pl < len || strncmp(path + pl - len, spec, len) != 0)
		return false;
	return pl == len || path[pl - len - 1] == '/';
}

size_t rav_trace_sites_find(rav_trace *t, const char *spec, uint32_t *out, size_t max)
{
	if (!spec || !*spec)
		return 0;
	/* FILE:LINE, FILE (has a '.' or a '/'), else FUNCTION */
	const char *colon = strrchr(spec, ':');
	unsigned long want_line = 0;
	size_t flen = strlen(spec);
	if (colon && colon[1]) {
		char *end;
		want_line = strtoul(colon + 1, &end, 10);
		if (*end == 0 && want_line > 0)
			flen = (size_t)(colon - spec);
		else
			want_line = 0;
	}
	bool is_file = want_line || strpbrk(spec, "./") != NULL;
	uint32_t n = rav_trace_site_count(t);
	size_t found = 0;
	for (uint32_t id = 1; id <= n; id++) {
		rav_trace_symbol sy;
		if (!rav_trace_site_call(t, id, &sy))
			continue;
		bool hit = is_file ? file_matches(sy.file, spec, flen) && (!want_line || sy.line == want_line)
		                   : sy.function && strcmp(sy.function, spec) == 0;
		if (!hit)
			continue;
		if (found < max)
			out[found] = id;
		found++;
	}
	return found;
}
