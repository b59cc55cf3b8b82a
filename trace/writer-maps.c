/* writer-maps.c - the memory map of the calling process, for MAPS chunks
 * (format 1.3): which objects (the program, its shared libraries) are
 * loaded where, with their build ids, so that call sites recorded as
 * return addresses resolve after the program is gone, also for
 * position-independent executables and libraries loaded with dlopen.
 *
 * The recorder passes ravt_selfmaps_hook as the writer's sites_hook: before
 * every SITES chunk it asks the loader (dl_iterate_phdr, stopping at the
 * first object) whether objects were loaded or unloaded since it last
 * looked, and it checks the chunk's new addresses against the executable
 * segments it listed; if either says so, it lists the objects again and
 * writes a MAPS chunk.  That costs one loader call per chunk of events,
 * never anything on the recording threads.
 */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <unistd.h>

#include "writer-private.h"

#define MAX_OBJECTS 4096

typedef struct scan_obj {
	ravt_map_object o;
	ravt_map_segment segs[RAVT_MAP_SEGS_MAX];
	uint8_t bid[RAVT_BUILD_ID_MAX];
	char path[512];
} scan_obj;

typedef struct scan {
	scan_obj *objs;
	size_t n, cap;
	bool failed;
} scan;

/* The GNU build id from the object's notes, as mapped. */
static unsigned build_id(const struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
			size_t name = (nh->n_namesz + 3) & ~(size_t)3, desc = (nh->n_descsz + 3) & ~(size_t)3;
			const uint8_t *q = p + sizeof *nh;
			if ((size_t)(end - q) < name + desc)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(q, "GNU", 4) == 0) {
				unsigned n = nh->n_descsz > RAVT_BUILD_ID_MAX ? RAVT_BUILD_ID_MAX : nh->n_descsz;
				memcpy(out, q + name, n);
				return n;
			}
			p = q + name + desc;
		}
	}
	return 0;
}

static int scan_one(struct dl_phdr_info *info, size_t size, void *user)
{
	(void)size;
	scan *sc = user;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 32;
		if (cap > MAX_OBJECTS)
			return 1;
		scan_obj *o = realloc(sc->objs, cap * sizeof *o);
		if (!o) {
			sc->failed = true;
			return 1;
		}
		sc->objs = o;
		sc->cap = cap;
	}
	scan_obj *so = &sc->objs[sc->n];
	unsigned nsegs = 0;
	for (int i = 0; i < info->dlpi_phnum && nsegs < RAVT_MAP_SEGS_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		uint32_t fl = ((ph->p_flags & PF_X) ? RAVT_SEG_X : 0) | ((ph->p_flags & PF_W) ? RAVT_SEG_W : 0) |
		              ((ph->p_flags & PF_R) ? RAVT_SEG_R : 0);
		so->segs[nsegs++] = (ravt_map_segment){ph->p_vaddr, ph->p_memsz, fl};
	}
	if (!nsegs)
		return 0;
	const char *name = info->dlpi_name;
	if (!name || !*name) {
		/* the main program: the loader gives no name */
		ssize_t k = readlink("/proc/self/exe", so->path, sizeof so->path - 1);
		so->path[k > 0 ? k : 0] = 0;
	} else {
		snprintf(so->path, sizeof so->path, "%s", name);
	}
	unsigned blen = build_id(info, so->bid);
	/* pointers into the entry are set once the array stops moving */
	so->o = (ravt_map_object){
	    .base = info->dlpi_addr,
	    .nsegs = nsegs,
	    .build_id_len = blen,
	    .path_len = strlen(so->path),
	};
	sc->n++;
	return 0;
}

static int count_changes(struct dl_phdr_info *info, size_t size, void *user)
{
	unsigned long long *ch = user;
	/* dlpi_adds and dlpi_subs come after dlpi_phnum (glibc >= 2.4) */
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
		ch[0] = info->dlpi_adds;
		ch[1] = info->dlpi_subs;
	}
	return 1;
}

static bool covered(const ravt_selfmaps *m, uint64_t a)
{
	size_t lo = 0, hi = m->nranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->ranges[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && a < m->ranges[lo - 1].hi;
}

static int cmp_range(const void *pa, const void *pb)
{
	const ravt_range *a = pa, *b = pb;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

int ravt_selfmaps_write(ravt_writer *w, ravt_selfmaps *m)
{
	scan sc = {0};
	unsigned long long ch[2] = {0, 0};
	dl_iterate_phdr(count_changes, ch);
	dl_iterate_phdr(scan_one, &sc);
	if (sc.failed) {
		free(sc.objs);
		return ravt_writer_fail(w, "%s", "out of memory listing the loaded objects");
	}
	ravt_map_object *objs = malloc((sc.n ? sc.n : 1) * sizeof *objs);
	size_t nr = 0;
	for (size_t i = 0; i < sc.n; i++)
		nr += sc.objs[i].o.nsegs;
	ravt_range *r = malloc((nr ? nr : 1) * sizeof *r);
	if (!objs || !r) {
		free(objs);
		free(r);
		free(sc.objs);
		return ravt_writer_fail(w, "%s", "out of memory listing the loaded objects");
	}
	nr = 0;
	for (size_t i = 0; i < sc.n; i++) {
		objs[i] = sc.objs[i].o;
		objs[i].segs = sc.objs[i].segs;
		objs[i].build_id = sc.objs[i].bid;
		objs[i].path = sc.objs[i].path;
		for (unsigned k = 0; k < objs[i].nsegs; k++) {
			if (!(objs[i].segs[k].flags & RAVT_SEG_X))
				continue;
			uint64_t lo = objs[i].base + objs[i].segs[k].vaddr;
			r[nr++] = (ravt_range){lo, lo + objs[i].segs[k].memsz};
		}
	}
	qsort(r, nr, sizeof *r, cmp_range);
	free(m->ranges);
	m->ranges = r;
	m->nranges = nr;
	m->adds = ch[0];
	m->subs = ch[1];
	m->written++;
	int rc = ravt_writer_maps(w, objs, sc.n);
	free(objs);
	free(sc.objs);
	return rc;
}

int ravt_selfmaps_hook(ravt_writer *w, const uint64_t *addrs, size_t n, void *user)
{
	ravt_selfmaps *m = user;
	bool again = m->written == 0;
	if (!again) {
		unsigned long long ch[2] = {m->adds, m->subs};
		dl_iterate_phdr(count_changes, ch);
		again = ch[0] != m->adds || ch[1] != m->subs;
	}
	for (size_t i = 0; i < n && !again; i++)
		again = addrs[i] && !covered(m, addrs[i]);
	return again ? ravt_selfmaps_write(w, m) : 0;
}

void ravt_selfmaps_free(ravt_selfmaps *m)
{
	free(m->ranges);
	memset(m, 0, sizeof *m);
}

/* Call sites as the program's environment asks, for the recorder (a file)
 * and a live session alike: the return address of every engine call (on
 * unless RAVIOLI_TRACE_SITES=0), or a backtrace of N frames with
 * RAVIOLI_TRACE_STACK=N (2 ... RAV_SITE_FRAMES_MAX; 0 and 1 mean the
 * return address only). */
int ravt_site_depth_from_env(char *err, size_t errlen)
{
	const char *sites = getenv("RAVIOLI_TRACE_SITES");
	if (sites && strcmp(sites, "0") == 0)
		return 0;
	const char *stack = getenv("RAVIOLI_TRACE_STACK");
	if (!stack || !*stack)
		return 1;
	char *end;
	long n = strtol(stack, &end, 10);
	if (*end || n < 0 || n > RAV_SITE_FRAMES_MAX) {
		snprintf(err, errlen, "RAVIOLI_TRACE_STACK=%s: give a number of frames from 1 to %d", stack,
		         RAV_SITE_FRAMES_MAX);
		return -1;
	}
	return n < 1 ? 1 : (int)n;
}
