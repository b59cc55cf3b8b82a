/* reader-sites.c - call sites (format 1.3): SITES and MAPS chunks, the
 * object and site tables, and the runs that give each event its site.
 *
 * Sites are interned while chunks are framed, in file order, so a site
 * keeps its number whatever order chunks are later decoded in: a SITES
 * chunk's dictionary (stacks of return addresses) is read once, each frame
 * is placed in the objects of the memory map current at that point of the
 * file (the last MAPS chunk before it), and each stack, as (object,
 * offset) frames, gets the id of an equal stack seen before or a new one.
 * Placing frames by object makes a library that was unloaded and loaded
 * again at another address keep its sites.  The runs (which events carry
 * which site) are left in the file and decoded with the EVENTS chunk they
 * belong to (reader-decode.c), so an open trace holds one small map per
 * SITES chunk, never a site per event.
 *
 * Trust: every count is checked against its limit and against the bytes
 * present before anything is allocated from it; the whole table of frames
 * is bounded by the size of the trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "hash.h"
#include "reader-private.h"

/* ---- Payloads ------------------------------------------------------------- */

/* The raw payload of a SITES or MAPS chunk: decompressed into buf (grown as
 * needed), or the stored bytes.  NULL with *why. */
static const uint8_t *payload_raw(ravt_reader *rd, void **dctx, const uint8_t *stored, uint32_t stored_len,
                                  uint32_t raw_len, uint16_t flags, uint8_t **buf, size_t *cap, bool *nomem,
                                  const char **why)
{
	if (!(flags & RAVT_CF_ZSTD)) {
		if (raw_len != stored_len) {
			*why = "uncompressed but raw and stored lengths differ";
			return NULL;
		}
		return stored;
	}
	(void)rd;
	if (*cap < (size_t)raw_len + 1) {
		size_t ncap = *cap ? *cap : 4096;
		while (ncap < (size_t)raw_len + 1)
			ncap *= 2;
		uint8_t *b = realloc(*buf, ncap);
		if (!b) {
			*nomem = true;
			*why = "out of memory";
			return NULL;
		}
		*buf = b;
		*cap = ncap;
	}
	if (!*dctx && !(*dctx = ZSTD_createDCtx())) {
		*nomem = true;
		*why = "out of memory";
		return NULL;
	}
	size_t r = ZSTD_decompressDCtx(*dctx, *buf, raw_len, stored, stored_len);
	if (ZSTD_isError(r) || r != raw_len) {
		*why = "the payload does not decompress to its raw length";
		return NULL;
	}
	return *buf;
}

/* ---- Objects and the memory map ------------------------------------------ */

static int cmp_seg(const void *pa, const void *pb)
{
	const ravt_mapseg *a = pa, *b = pb;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

/* Where an object's key (its interned path, its build id) starts probing
 * the object table.  A MAPS chunk lists up to 65,536 objects and every
 * MAPS chunk lists them all again, so the lookup per object listed is a
 * probe, not a scan of the objects known (a file of a few MB that named
 * 262,144 objects took minutes to open). */
static size_t object_slot(const char *ipath, const uint8_t *bid, size_t blen, size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)ipath;
	for (size_t i = 0; i < blen; i++)
		h = (h ^ bid[i]) * 0x100000001b3ull;
	return (size_t)(ravt_mix(h ^ blen) & (cap - 1));
}

/* Make room in the object table for one more (lock held). */
static bool object_hash_grow(ravt_reader *rd)
{
	if ((rd->nobjects + 1) * 2 <= rd->object_hcap)
		return true;
	size_t cap = rd->object_hcap ? rd->object_hcap * 2 : 64;
	uint32_t *t = calloc(cap, sizeof *t);
	if (!t)
		return false;
	for (size_t i = 0; i < rd->nobjects; i++) {
		const ravt_object *o = &rd->objects[i];
		size_t j = object_slot(o->path, o->build_id, o->build_id_len, cap);
		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(rd->object_hash);
	rd->object_hash = t;
	rd->object_hcap = cap;
	return true;
}

/* The object with this path and build id, added if new (lock held). */
static int64_t object_for(ravt_reader *rd, const uint8_t *path, size_t plen, const uint8_t *bid, size_t blen,
                          uint64_t base, uint64_t start, uint64_t end)
{
	const char *ipath = ravt_reader_intern(rd, path, plen, false);
	if (!ipath || !object_hash_grow(rd))
		return -1;
	size_t j = object_slot(ipath, bid, blen, rd->object_hcap);
	for (; rd->object_hash[j]; j = (j + 1) & (rd->object_hcap - 1)) {
		size_t i = rd->object_hash[j] - 1;
		const ravt_object *o = &rd->objects[i];
		if (o->path == ipath && o->build_id_len == blen && memcmp(o->build_id, bid, blen) == 0)
			return (int64_t)i;
	}
	if (rd->nobjects >= RAVT_MAP_OBJECTS_MAX * 4u)
		return -2;
	if (rd->nobjects == rd->cap_objects) {
		size_t cap = rd->cap_objects ? rd->cap_objects * 2 : 16;
		ravt_object *o = realloc(rd->objects, cap * sizeof *o);
		if (!o)
			return -1;
		rd->objects = o;
		rd->cap_objects = cap;
	}
	rd->object_hash[j] = (uint32_t)rd->nobjects + 1;
	ravt_object *o = &rd->objects[rd->nobjects];
	memset(o, 0, sizeof *o);
	o->base = base;
	o->start = start;
	o->end = end;
	o->path = ipath;
	o->build_id_len = (uint8_t)blen;
	if (blen)
		memcpy(o->build_id, bid, blen);
	return (int64_t)rd->nobjects++;
}

const char *ravt_add_maps_chunk(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, bool *nomem)
{
	const char *why = NULL;
	if (f->flags & ~RAVT_CF_ZSTD)
		return "maps chunk: unknown flags";
	if (f->count > RAVT_MAP_OBJECTS_MAX)
		return "maps chunk: more objects than a map may list";
	if (f->first != rd->maps_seen + 1)
		return "maps chunk: out of sequence (a maps chunk is missing or repeated)";
	const uint8_t *p = payload_raw(rd, &rd->site_dctx, payload, f->stored_len, f->raw_len, f->flags,
	                               &rd->site_buf, &rd->site_buf_cap, nomem, &why);
	if (!p)
		return why;
	const uint8_t *end = p + f->raw_len;
	/* segments of the new map, built aside and swapped in whole */
	ravt_mapseg *segs = NULL;
	size_t nsegs = 0, cap = 0;
	pthread_mutex_lock(&rd->lock);
	for (uint32_t i = 0; i < f->count && !why; i++) {
		uint64_t base, n, vaddr[RAVT_MAP_SEGS_MAX], memsz[RAVT_MAP_SEGS_MAX], plen;
		if (!ravt_get_varint(&p, end, &base) || !ravt_get_varint(&p, end, &n) || n == 0 ||
		    n > RAVT_MAP_SEGS_MAX) {
			why = "maps chunk: an object's segment count is missing or out of range";
			break;
		}
		uint64_t lo = UINT64_MAX, hi = 0;
		for (uint64_t k = 0; k < n && !why; k++) {
			if (!ravt_get_varint(&p, end, &vaddr[k]) || !ravt_get_varint(&p, end, &memsz[k]) || p >= end ||
			    (*p & ~(RAVT_SEG_X | RAVT_SEG_W | RAVT_SEG_R))) {
				why = "maps chunk: a segment is malformed";
				break;
			}
			p++;
			uint64_t a = base + vaddr[k];
			if (a < base || a + memsz[k] < a) {
				why = "maps chunk: a segment wraps around the address space";
				break;
			}
			if (a < lo)
				lo = a;
			if (a + memsz[k] > hi)
				hi = a + memsz[k];
		}
		if (why)
			break;
		if (p >= end || *p > RAVT_BUILD_ID_MAX || (size_t)(end - p) < 1u + *p) {
			why = "maps chunk: a build id is malformed";
			break;
		}
		size_t blen = *p++;
		const uint8_t *bid = p;
		p += blen;
		if (!ravt_get_varint(&p, end, &plen) || plen > RAVT_MAP_PATH_MAX || plen > (uint64_t)(end - p)) {
			why = "maps chunk: a path is malformed";
			break;
		}
		int64_t obj = object_for(rd, p, (size_t)plen, bid, blen, base, lo, hi);
		p += plen;
		if (obj == -2) {
			why = "maps chunk: more distinct objects than a trace may name";
			break;
		}
		if (obj < 0 || nsegs + n > SIZE_MAX / sizeof *segs) {
			why = "out of memory";
			*nomem = true;
			break;
		}
		if (nsegs + n > cap) {
			size_t ncap = cap ? cap * 2 : 64;
			while (ncap < nsegs + n)
				ncap *= 2;
			ravt_mapseg *s = realloc(segs, ncap * sizeof *s);
			if (!s) {
				why = "out of memory";
				*nomem = true;
				break;
			}
			segs = s;
			cap = ncap;
		}
		for (uint64_t k = 0; k < n; k++) {
			if (!memsz[k])
				continue;
			segs[nsegs++] = (ravt_mapseg){base + vaddr[k], base + vaddr[k] + memsz[k], base, (uint32_t)obj};
		}
	}
	if (!why && p != end)
		why = "maps chunk: bytes left over after its objects";
	if (!why) {
		qsort(segs, nsegs, sizeof *segs, cmp_seg);
		free(rd->mapsegs);
		rd->mapsegs = segs;
		rd->nmapsegs = nsegs;
		rd->cap_mapsegs = cap;
		rd->maps_seen++;
		segs = NULL;
	}
	pthread_mutex_unlock(&rd->lock);
	free(segs);
	return why;
}

/* Where an address lies in the current map: object or -1 (lock held). */
static int32_t place(const ravt_reader *rd, uint64_t addr, uint64_t *offset)
{
	size_t lo = 0, hi = rd->nmapsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (rd->mapsegs[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* segments may overlap only in damaged maps: look back a little */
	for (size_t i = lo, k = 0; i-- > 0 && k < 4; k++) {
		const ravt_mapseg *s = &rd->mapsegs[i];
		if (addr >= s->lo && addr < s->hi) {
			*offset = addr - s->base;
			return (int32_t)s->object;
		}
	}
	*offset = addr;
	return -1;
}

/* ---- Site interning ------------------------------------------------------- */

static uint32_t hash_site(const ravt_site_frame *f, unsigned n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (unsigned i = 0; i < n; i++) {
		h ^= f[i].offset + ((uint64_t)(uint32_t)f[i].object << 40);
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h;
}

static bool same_site(const ravt_reader *rd, const ravt_site *s, const ravt_site_frame *f, unsigned n)
{
	if (s->n != n)
		return false;
	const ravt_site_frame *g = rd->sframes + s->at;
	for (unsigned i = 0; i < n; i++)
		if (g[i].object != f[i].object || g[i].offset != f[i].offset)
			return false;
	return true;
}

/* Over the open trace's memory limit (budget.h): what intern_site and
 * grow_site_hash return then. */
#define SITES_LIMIT (UINT32_MAX - 1)
static const char sites_what[] = "the call sites' frames";

/* 1 grown, 0 out of memory, -1 over the memory limit. */
static int grow_site_hash(ravt_reader *rd)
{
	uint32_t cap = rd->shcap ? rd->shcap * 2 : 1024;
	if (!ravt_budget_recharge(&rd->budget, (uint64_t)rd->shcap * sizeof *rd->shash,
	                          (uint64_t)cap * sizeof *rd->shash, sites_what))
		return -1;
	uint32_t *h = calloc(cap, sizeof *h);
	if (!h)
		return 0;
	for (uint32_t id = 1; id <= rd->nsites; id++) {
		const ravt_site *s = &rd->sites[id - 1];
		uint32_t i = hash_site(rd->sframes + s->at, s->n) & (cap - 1);
		while (h[i])
			i = (i + 1) & (cap - 1);
		h[i] = id;
	}
	free(rd->shash);
	rd->shash = h;
	rd->shcap = cap;
	return 1;
}

/* The id of a stack (lock held): 0 out of memory, UINT32_MAX over the
 * limit of frames a file may name, SITES_LIMIT over the open trace's
 * memory limit.  The tables are charged to the trace's budget: a file of
 * a few kilobytes names 16 M frames (384 MiB) in compressed dictionaries
 * (hostile-gen's sites-frames-bound). */
static uint32_t intern_site(ravt_reader *rd, const ravt_site_frame *f, unsigned n)
{
	if ((rd->nsites + 1u) * 2 > rd->shcap) {
		int grown = rd->shcap >= (1u << 31) ? 0 : grow_site_hash(rd);
		if (grown <= 0)
			return grown < 0 ? SITES_LIMIT : 0;
	}
	uint32_t i = hash_site(f, n) & (rd->shcap - 1);
	while (rd->shash[i]) {
		uint32_t id = rd->shash[i];
		if (same_site(rd, &rd->sites[id - 1], f, n))
			return id;
		i = (i + 1) & (rd->shcap - 1);
	}
	/* A real program has thousands of sites; a trace may name at most as
	 * many frames as it has bytes (and 16 M in any case). */
	size_t limit = rd->size > (1u << 24) ? rd->size : (1u << 24);
	if (rd->nsframes + n > limit || rd->nsites >= (1u << 30))
		return UINT32_MAX;
	if (rd->nsites == rd->cap_sites) {
		uint32_t cap = rd->cap_sites ? rd->cap_sites * 2 : 256;
		if (!ravt_budget_recharge(&rd->budget, (uint64_t)rd->cap_sites * sizeof *rd->sites,
		                          (uint64_t)cap * sizeof *rd->sites, sites_what))
			return SITES_LIMIT;
		ravt_site *s = realloc(rd->sites, cap * sizeof *s);
		if (!s)
			return 0;
		rd->sites = s;
		rd->cap_sites = cap;
	}
	if (rd->nsframes + n > rd->cap_sframes) {
		size_t cap = rd->cap_sframes ? rd->cap_sframes * 2 : 1024;
		while (cap < rd->nsframes + n)
			cap *= 2;
		if (!ravt_budget_recharge(&rd->budget, (uint64_t)rd->cap_sframes * sizeof *rd->sframes,
		                          (uint64_t)cap * sizeof *rd->sframes, sites_what))
			return SITES_LIMIT;
		ravt_site_frame *fr = realloc(rd->sframes, cap * sizeof *fr);
		if (!fr)
			return 0;
		rd->sframes = fr;
		rd->cap_sframes = cap;
	}
	memcpy(rd->sframes + rd->nsframes, f, n * sizeof *f);
	rd->sites[rd->nsites] = (ravt_site){(uint32_t)rd->nsframes, (uint8_t)n};
	rd->nsframes += n;
	uint32_t id = ++rd->nsites;
	rd->shash[i] = id;
	return id;
}

/* ---- SITES chunks ----------------------------------------------------------- */

/* Check the runs from p: nruns pairs covering `count` events, dictionary
 * entries 0 ... nlocal.  NULL or why. */
static const char *check_runs(const uint8_t *p, const uint8_t *end, uint32_t count, uint32_t nlocal)
{
	uint64_t nruns, total = 0;
	if (!ravt_get_varint(&p, end, &nruns) || nruns == 0 || nruns > count)
		return "sites chunk: run count is missing, 0 or larger than the event count";
	for (uint64_t i = 0; i < nruns; i++) {
		uint64_t n, k;
		if (!ravt_get_varint(&p, end, &n) || !ravt_get_varint(&p, end, &k))
			return "sites chunk: a run is malformed";
		if (n == 0 || n > count - total)
			return "sites chunk: its runs cover more events than the chunk holds (or a run is empty)";
		if (k > nlocal)
			return "sites chunk: a run names a site its dictionary does not have";
		total += n;
	}
	if (total != count)
		return "sites chunk: its runs cover fewer events than the chunk holds";
	if (p != end)
		return "sites chunk: bytes left over after its runs";
	return NULL;
}

const char *ravt_add_sites_chunk(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, uint64_t off,
                                 bool *nomem)
{
	const char *why = NULL;
	if (f->flags & ~RAVT_CF_ZSTD)
		return "sites chunk: unknown flags";
	if (f->count == 0 || f->count > RAVT_EVENTS_RAW_MAX)
		return "sites chunk: its event count is 0 or larger than an events chunk can hold";
	const uint8_t *p = payload_raw(rd, &rd->site_dctx, payload, f->stored_len, f->raw_len, f->flags,
	                               &rd->site_buf, &rd->site_buf_cap, nomem, &why);
	if (!p)
		return why;
	const uint8_t *start = p, *end = p + f->raw_len;
	uint64_t nlocal;
	if (!ravt_get_varint(&p, end, &nlocal) || nlocal > f->count)
		return "sites chunk: its dictionary is larger than its event count";
	uint32_t *map = calloc(nlocal ? nlocal : 1, sizeof *map);
	if (!map) {
		*nomem = true;
		return "out of memory";
	}
	uint64_t prev[RAVT_SITE_FRAMES_MAX] = {0};
	uint64_t prev_n = 0;
	ravt_site_frame fr[RAVT_SITE_FRAMES_MAX];
	pthread_mutex_lock(&rd->lock);
	uint64_t have = 0;
	for (size_t si = 0; si < rd->nstreams; si++) {
		if (rd->streams[si].id == f->thread) {
			have = rd->streams[si].events;
			break;
		}
	}
	if (rd->pending_sites)
		why = "sites chunk: the sites chunk before it is not followed by its events chunk";
	else if (f->first != have)
		why = "sites chunk: it does not start where its thread's next events chunk must";
	for (uint64_t k = 0; k < nlocal && !why; k++) {
		uint64_t n;
		if (!ravt_get_varint(&p, end, &n) || n == 0 || n > RAVT_SITE_FRAMES_MAX) {
			why = "sites chunk: a site's frame count is missing or out of range";
			break;
		}
		for (uint64_t i = 0; i < n; i++) {
			uint64_t z;
			if (!ravt_get_varint(&p, end, &z)) {
				why = "sites chunk: a frame is malformed";
				break;
			}
			uint64_t a = (i < prev_n ? prev[i] : 0) + (uint64_t)ravt_unzigzag(z);
			prev[i] = a;
			fr[i].address = a;
			fr[i].object = place(rd, a, &fr[i].offset);
		}
		if (why)
			break;
		prev_n = n;
		uint32_t id = intern_site(rd, fr, (unsigned)n);
		if (id == 0) {
			why = "out of memory";
			*nomem = true;
		} else if (id == UINT32_MAX) {
			why = "sites chunk: more call sites than a trace of this size can name";
		} else if (id == SITES_LIMIT) {
			why = "limit"; /* (the caller says which limit: ravt_budget_error) */
		}
		map[k] = id;
	}
	if (!why)
		why = check_runs(p, end, f->count, (uint32_t)nlocal);
	if (!why && rd->nsitechunks == rd->cap_sitechunks) {
		size_t cap = rd->cap_sitechunks ? rd->cap_sitechunks * 2 : 64;
		ravt_sitechunk *c = realloc(rd->sitechunks, cap * sizeof *c);
		if (!c) {
			why = "out of memory";
			*nomem = true;
		} else {
			rd->sitechunks = c;
			rd->cap_sitechunks = cap;
		}
	}
	if (!why) {
		rd->sitechunks[rd->nsitechunks] = (ravt_sitechunk){
		    .offset = off,
		    .thread = f->thread,
		    .first = f->first,
		    .count = f->count,
		    .stored = f->stored_len,
		    .raw = f->raw_len,
		    .flags = f->flags,
		    .runs_at = (uint32_t)(p - start),
		    .nlocal = (uint32_t)nlocal,
		    .map = map,
		};
		rd->pending_sites = (uint32_t)++rd->nsitechunks;
		map = NULL;
	}
	pthread_mutex_unlock(&rd->lock);
	free(map);
	return why;
}

const char *ravt_claim_sites(ravt_reader *rd, const ravt_frame *f, ravt_chunk *c)
{
	uint32_t pend = rd->pending_sites;
	rd->pending_sites = 0;
	if (c)
		c->sites = 0;
	if (!pend)
		return NULL;
	const ravt_sitechunk *sc = &rd->sitechunks[pend - 1];
	if (!ravt_chunk_is_events(f->kind) || !c)
		return "the sites chunk before it is not followed by its events chunk";
	if (sc->thread != f->thread || sc->first != f->first || sc->count != f->count)
		return "the sites chunk before it describes other events (thread, first event or count differ)";
	c->sites = pend;
	return NULL;
}

uint32_t ravt_sites_runs(ravt_reader *rd, const ravt_sitechunk *sc, void *dctx, uint8_t **buf, size_t *cap,
                         uint32_t **runs, uint32_t *runs_cap, char *whybuf, size_t whylen)
{
	const char *why = NULL;
	bool nomem = false;
	void *dc = dctx;
	const uint8_t *stored = rd->data + sc->offset + sizeof(ravt_frame);
	const uint8_t *p = payload_raw(rd, &dc, stored, sc->stored, sc->raw, sc->flags, buf, cap, &nomem, &why);
	if (!p) {
		snprintf(whybuf, whylen, "its sites chunk: %s", why);
		return 0;
	}
	const uint8_t *end = p + sc->raw;
	p += sc->runs_at;
	uint64_t nruns, total = 0;
	if (p > end || !ravt_get_varint(&p, end, &nruns) || nruns == 0 || nruns > sc->count) {
		snprintf(whybuf, whylen, "its sites chunk: run count is malformed");
		return 0;
	}
	if (*runs_cap < nruns) {
		uint32_t *r = realloc(*runs, (size_t)nruns * 2 * sizeof *r);
		if (!r) {
			snprintf(whybuf, whylen, "out of memory for %llu runs of call sites",
			         (unsigned long long)nruns);
			return 0;
		}
		*runs = r;
		*runs_cap = (uint32_t)nruns;
	}
	uint32_t *r = *runs;
	for (uint64_t i = 0; i < nruns; i++) {
		uint64_t n, k;
		if (!ravt_get_varint(&p, end, &n) || !ravt_get_varint(&p, end, &k) || n == 0 ||
		    n > sc->count - total || k > sc->nlocal) {
			snprintf(whybuf, whylen, "its sites chunk: run %llu is malformed", (unsigned long long)i);
			return 0;
		}
		total += n;
		r[2 * i] = (uint32_t)n;
		r[2 * i + 1] = k ? sc->map[k - 1] : 0;
	}
	if (total != sc->count) {
		snprintf(whybuf, whylen, "its sites chunk: runs cover fewer events than the chunk holds");
		return 0;
	}
	return (uint32_t)nruns;
}

/* ---- Queries ---------------------------------------------------------------- */

uint32_t ravt_reader_site_count(const ravt_reader *rd)
{
	ravt_reader *m = (ravt_reader *)rd;
	pthread_mutex_lock(&m->lock);
	uint32_t n = rd->nsites;
	pthread_mutex_unlock(&m->lock);
	return n;
}

unsigned ravt_reader_site_frames(const ravt_reader *rd, uint32_t site, rav_trace_frame *out, unsigned max)
{
	ravt_reader *m = (ravt_reader *)rd;
	pthread_mutex_lock(&m->lock);
	unsigned n = 0;
	if (site >= 1 && site <= rd->nsites) {
		const ravt_site *s = &rd->sites[site - 1];
		n = s->n;
		for (unsigned i = 0; i < n && i < max; i++) {
			const ravt_site_frame *f = &rd->sframes[s->at + i];
			out[i] = (rav_trace_frame){f->address, f->object, f->offset};
		}
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

size_t ravt_reader_sites_with_call(const ravt_reader *rd, const rav_trace_frame *call, uint32_t *out, size_t max)
{
	ravt_reader *m = (ravt_reader *)rd;
	size_t n = 0;
	pthread_mutex_lock(&m->lock);
	for (uint32_t id = 1; id <= rd->nsites; id++) {
		const ravt_site_frame *f = &rd->sframes[rd->sites[id - 1].at];
		if (f->object == call->object && f->offset == call->offset) {
			if (n < max)
				out[n] = id;
			n++;
		}
	}
	pthread_mutex_unlock(&m->lock);
	return n;
}

unsigned ravt_reader_object_count(const ravt_reader *rd)
{
	ravt_reader *m = (ravt_reader *)rd;
	pthread_mutex_lock(&m->lock);
	unsigned n = (unsigned)rd->nobjects;
	pthread_mutex_unlock(&m->lock);
	return n;
}

bool ravt_reader_object_at(const ravt_reader *rd, unsigned i, rav_trace_object *out)
{
	ravt_reader *m = (ravt_reader *)rd;
	pthread_mutex_lock(&m->lock);
	bool ok = i < rd->nobjects;
	if (ok) {
		const ravt_object *o = &rd->objects[i];
		memset(out, 0, sizeof *out);
		out->base = o->base;
		out->start = o->start;
		out->end = o->end;
		out->path = o->path;
		out->build_id_len = o->build_id_len;
		memcpy(out->build_id, o->build_id, o->build_id_len);
	}
	pthread_mutex_unlock(&m->lock);
	return ok;
}

void ravt_sites_free(ravt_reader *rd)
{
	for (size_t i = 0; i < rd->nsitechunks; i++)
		free((void *)rd->sitechunks[i].map);
	free(rd->sitechunks);
	free(rd->objects);
	free(rd->object_hash);
	free(rd->mapsegs);
	free(rd->sframes);
	free(rd->sites);
	free(rd->shash);
	free(rd->site_buf);
	ZSTD_freeDCtx(rd->site_dctx);
}
