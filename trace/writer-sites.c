/* writer-sites.c - call sites in the writer (format 1.3, FORMAT.md section
 * "Call sites").
 *
 * The engine records a RAV_RAW_SITE record only when a thread's call site
 * changes, so a site costs the recording thread nothing per event.  Here
 * each thread keeps its current site as a register, and the events of an
 * open chunk are cut into runs that share one.  When the chunk is written,
 * a SITES chunk goes before it: the chunk's own dictionary of the stacks
 * its runs use (so it decodes alone, like the EVENTS chunk it describes)
 * and the runs.  Stacks are interned once per recording, so a dictionary is
 * built from small ids; frame addresses are delta-coded against the frame
 * at the same depth of the dictionary's previous stack (stacks of one
 * program share their outer frames and lie close together).
 *
 * The addresses mean something only with the program's memory map: before
 * each SITES chunk the writer hands the addresses it has not announced yet
 * to params.sites_hook, where the recorder writes a MAPS chunk when they
 * lie outside the objects it listed last (a dlopen) or objects came and
 * went.  MAPS chunks are written by ravt_writer_maps.
 */
#include "writer-private.h"

static uint32_t hash_frames(const uint64_t *f, unsigned n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (unsigned i = 0; i < n; i++) {
		h ^= f[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return (uint32_t)h;
}

static bool same_frames(const ravt_writer *w, const ravt_wsite *s, const uint64_t *f, unsigned n)
{
	return s->n == n && memcmp(w->sframes + s->at, f, n * sizeof *f) == 0;
}

static bool grow_hash(ravt_writer *w)
{
	uint32_t cap = w->shcap ? w->shcap * 2 : 1024;
	uint32_t *h = calloc(cap, sizeof *h);
	if (!h)
		return false;
	for (uint32_t id = 1; id <= w->nsites; id++) {
		const ravt_wsite *s = &w->sites[id - 1];
		uint32_t i = hash_frames(w->sframes + s->at, s->n) & (cap - 1);
		while (h[i])
			i = (i + 1) & (cap - 1);
		h[i] = id;
	}
	free(w->shash);
	w->shash = h;
	w->shcap = cap;
	return true;
}

/* The id of a stack, interned on first sight; 0 on out of memory. */
static uint32_t intern(ravt_writer *w, const uint64_t *f, unsigned n)
{
	if ((w->nsites + 1) * 2 > w->shcap && !grow_hash(w))
		return 0;
	uint32_t i = hash_frames(f, n) & (w->shcap - 1);
	while (w->shash[i]) {
		uint32_t id = w->shash[i];
		if (same_frames(w, &w->sites[id - 1], f, n))
			return id;
		i = (i + 1) & (w->shcap - 1);
	}
	if (w->nsites == UINT32_MAX - 1)
		return 0;
	if (w->nsites == w->cap_sites) {
		uint32_t cap = w->cap_sites ? w->cap_sites * 2 : 256;
		ravt_wsite *s = realloc(w->sites, cap * sizeof *s);
		if (!s)
			return 0;
		w->sites = s;
		w->cap_sites = cap;
	}
	if (w->nsframes + n > w->cap_sframes) {
		size_t cap = w->cap_sframes ? w->cap_sframes * 2 : 1024;
		while (cap < w->nsframes + n)
			cap *= 2;
		uint64_t *fr = realloc(w->sframes, cap * sizeof *fr);
		if (!fr)
			return 0;
		w->sframes = fr;
		w->cap_sframes = cap;
	}
	memcpy(w->sframes + w->nsframes, f, n * sizeof *f);
	w->sites[w->nsites] = (ravt_wsite){.at = (uint32_t)w->nsframes, .n = (uint8_t)n};
	w->nsframes += n;
	uint32_t id = ++w->nsites;
	w->shash[i] = id;
	return id;
}

int ravt_writer_site(ravt_writer *w, ravt_wthread *th, const uint64_t *frames, unsigned n)
{
	if (n > RAV_SITE_FRAMES_MAX)
		n = RAV_SITE_FRAMES_MAX;
	/* trailing zero frames (an unwinder that stopped early) carry nothing */
	while (n && frames[n - 1] == 0)
		n--;
	/* The chunk's SITES payload lists each stack its events use (a count
	 * and at most 10 bytes a frame) and each run (two 32-bit varints).
	 * Events that change between many deep stacks would pass the payload
	 * limit long before the events fill the chunk: the chunk is cut
	 * first, between two events, rather than failing the recording. */
	if (th->count == 0)
		th->site_bytes = 0; /* no event yet: no run, no stack listed */
	th->site_bytes += 21 + 10 * (size_t)n;
	if (n == 0) {
		th->site_cur = 0;
	} else {
		uint32_t id = intern(w, frames, n);
		if (!id)
			return ravt_writer_fail(w, "%s", "out of memory (call site table)");
		th->site_cur = id;
	}
	if (th->site_bytes > RAVT_SITES_SOFT_MAX && !th->pending)
		return ravt_writer_flush_chunk(w, th);
	return 0;
}

bool ravt_writer_site_mark_slow(ravt_wthread *th)
{
	if (!ravt_buf_reserve(&th->site_marks, 8))
		return false;
	uint32_t m[2] = {th->count, th->site_cur};
	/* a run that got no event (two SITE records in a row) is replaced */
	if (th->site_marks.len >= 8) {
		uint32_t last[2];
		memcpy(last, th->site_marks.p + th->site_marks.len - 8, 8);
		if (last[0] == th->count)
			th->site_marks.len -= 8;
	}
	memcpy(th->site_marks.p + th->site_marks.len, m, 8);
	th->site_marks.len += 8;
	th->site_run = th->site_cur;
	if (th->site_cur)
		th->site_any = true;
	return true;
}

void ravt_writer_sites_reset(ravt_wthread *th)
{
	th->site_marks.len = 0;
	th->site_run = UINT32_MAX;
	th->site_any = false;
	th->site_bytes = 0;
}

static bool put(ravt_buf *b, uint64_t v)
{
	if (!ravt_buf_reserve(b, 10))
		return false;
	b->len = (size_t)(ravt_put_varint(b->p + b->len, v) - b->p);
	return true;
}

static bool put_bytes(ravt_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return true;
	if (!ravt_buf_reserve(b, n))
		return false;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return true;
}

int ravt_writer_sites_flush(ravt_writer *w, ravt_wthread *th)
{
	if (!th->site_any || th->count == 0)
		return 0;
	size_t nmarks = th->site_marks.len / 8;
	const uint32_t *marks = (const uint32_t *)(void *)th->site_marks.p;
	/* Local dictionary, in order of first use; addresses never given to
	 * the hook are collected for it. */
	if (++w->sstamp == 0)
		w->sstamp = 1; /* wrapped: stale stamps could only match after 2^32 chunks */
	uint32_t nlocal = 0;
	w->nsnew = 0;
	for (size_t i = 0; i < nmarks; i++) {
		uint32_t id = marks[2 * i + 1];
		if (!id)
			continue;
		ravt_wsite *s = &w->sites[id - 1];
		if (s->stamp == w->sstamp)
			continue;
		if (nlocal == w->cap_slocal) {
			uint32_t cap = w->cap_slocal ? w->cap_slocal * 2 : 64;
			uint32_t *l = realloc(w->slocal, cap * sizeof *l);
			if (!l)
				return ravt_writer_fail(w, "%s", "out of memory");
			w->slocal = l;
			w->cap_slocal = cap;
		}
		w->slocal[nlocal++] = id;
		s->stamp = w->sstamp;
		s->local = nlocal;
		if (!s->announced) {
			s->announced = true;
			if (w->nsnew + s->n > w->cap_snew) {
				size_t cap = w->cap_snew ? w->cap_snew * 2 : 256;
				while (cap < w->nsnew + s->n)
					cap *= 2;
				uint64_t *a = realloc(w->snew, cap * sizeof *a);
				if (!a)
					return ravt_writer_fail(w, "%s", "out of memory");
				w->snew = a;
				w->cap_snew = cap;
			}
			memcpy(w->snew + w->nsnew, w->sframes + s->at, s->n * sizeof(uint64_t));
			w->nsnew += s->n;
		}
	}
	if (w->p.sites_hook && w->p.sites_hook(w, w->snew, w->nsnew, w->p.sites_user) != 0)
		return ravt_writer_fail(w, "%s", "recording the memory map failed");
	if (w->failed)
		return -1;

	ravt_buf *b = &w->sbuf;
	b->len = 0;
	uint64_t prev[RAV_SITE_FRAMES_MAX] = {0};
	unsigned prev_n = 0;
	bool ok = put(b, nlocal);
	for (uint32_t i = 0; ok && i < nlocal; i++) {
		const ravt_wsite *s = &w->sites[w->slocal[i] - 1];
		const uint64_t *f = w->sframes + s->at;
		ok = put(b, s->n);
		for (unsigned k = 0; ok && k < s->n; k++) {
			uint64_t base = k < prev_n ? prev[k] : 0;
			ok = put(b, ravt_zigzag((int64_t)(f[k] - base)));
			prev[k] = f[k];
		}
		prev_n = s->n;
	}
	ok = ok && put(b, nmarks);
	for (size_t i = 0; ok && i < nmarks; i++) {
		uint32_t start = marks[2 * i], id = marks[2 * i + 1];
		uint32_t end = i + 1 < nmarks ? marks[2 * i + 2] : th->count;
		ok = put(b, end - start) && put(b, id ? w->sites[id - 1].local : 0);
	}
	if (!ok)
		return ravt_writer_fail(w, "%s", "out of memory");
	return ravt_writer_chunk(w, RAVT_CHUNK_SITES, b->p, b->len, w->compress_now, th->id, th->count,
	                         th->ordinal);
}

int ravt_writer_maps(ravt_writer *w, const ravt_map_object *objs, size_t n)
{
	if (w->failed)
		return -1;
	if (n > RAVT_MAP_OBJECTS_MAX)
		n = RAVT_MAP_OBJECTS_MAX;
	ravt_buf *b = &w->sbuf;
	b->len = 0;
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		const ravt_map_object *o = &objs[i];
		unsigned nsegs = o->nsegs > RAVT_MAP_SEGS_MAX ? RAVT_MAP_SEGS_MAX : o->nsegs;
		unsigned blen = o->build_id_len > RAVT_BUILD_ID_MAX ? RAVT_BUILD_ID_MAX : o->build_id_len;
		size_t plen = o->path_len > RAVT_MAP_PATH_MAX ? RAVT_MAP_PATH_MAX : o->path_len;
		ok = put(b, o->base) && put(b, nsegs);
		for (unsigned k = 0; ok && k < nsegs; k++) {
			uint8_t fl = (uint8_t)(o->segs[k].flags & (RAVT_SEG_X | RAVT_SEG_W | RAVT_SEG_R));
			ok = put(b, o->segs[k].vaddr) && put(b, o->segs[k].memsz) && put_bytes(b, &fl, 1);
		}
		uint8_t bl = (uint8_t)blen;
		ok = ok && put_bytes(b, &bl, 1) && put_bytes(b, o->build_id, blen) && put(b, plen) &&
		     put_bytes(b, o->path, plen);
	}
	if (!ok)
		return ravt_writer_fail(w, "%s", "out of memory");
	w->maps_written++;
	return ravt_writer_chunk(w, RAVT_CHUNK_MAPS, b->p, b->len, w->compress_now, 0, (uint32_t)n,
	                         w->maps_written);
}

uint32_t ravt_writer_sites(const ravt_writer *w)
{
	return w->nsites;
}

void ravt_writer_sites_free(ravt_writer *w)
{
	free(w->sites);
	free(w->sframes);
	free(w->shash);
	free(w->slocal);
	free(w->snew);
	free(w->sbuf.p);
}
