/* writer.c - the trace writer: raw engine records in, framed chunks out.
 *
 * One writer serves all threads of a recording.  Each recording thread has
 * its own stream of events, encoded into its own chunk buffer; a chunk holds
 * events of one thread only, so a thread's events stay in program order and
 * can be decoded without looking at other threads.  Delta registers are
 * reset at every chunk start, which is what makes each chunk decodable on
 * its own (seeking, and recovering a truncated file).
 *
 * Alongside the events, each chunk carries a small segment table: the
 * thread's events cut at every TIME and every ordering event, with the TSC
 * and sequence number of each cut.  The reader merges threads into one
 * global order from those tables alone, so the merge never decodes an event
 * twice.  FORMAT.md is the specification of everything written here.
 */
/* ZSTD_c_literalCompressionMode is in zstd's experimental section (since
 * 1.5.1 under this name; Debian 12 has 1.5.4).  It is a parameter value
 * passed to the stable ZSTD_CCtx_setParameter, so the shared library
 * takes it; a libzstd that did not know it would refuse it and the
 * writer would compress literals as before. */
#define ZSTD_STATIC_LINKING_ONLY
#include <errno.h>
#include <stdio.h>

#include "writer-private.h"

/* The context is reused for every chunk; only a level change touches its
 * parameters.  At level 1 a hash table of 2^12 entries (default 2^13 for
 * 64 KiB inputs) compresses event chunks 10-20% faster for under 2% more
 * bytes: most of what zstd gains on them is entropy coding, not matches.
 * Also at level 1, literals are stored, not Huffman-coded: decoding
 * Huffman literals was ~55 of the reader's ~200 instructions per event
 * and is ~35 without, for 9% more bytes (10M-event young and uniform
 * traces, decode4's measure); the level-1 writer is the one that has
 * to keep up with a program, and it skips the literal coding too. */
static void set_level(ravt_writer *w, int level)
{
	if (level == w->level_now)
		return;
	w->level_now = level;
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_hashLog, level == 1 ? 12 : 0);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_literalCompressionMode,
	                       level == 1 ? ZSTD_ps_disable : ZSTD_ps_auto);
}

int ravt_writer_fail(ravt_writer *w, const char *fmt, const char *detail)
{
	if (!w->failed) {
		w->failed = true;
		snprintf(w->error, sizeof w->error, fmt, detail);
	}
	return -1;
}

static int emit(ravt_writer *w, const void *data, size_t len)
{
	if (w->failed)
		return -1;
	if (w->sink(data, len, w->user) != 0)
		return ravt_writer_fail(w, "writing the trace failed: %s", strerror(errno));
	w->offset += len;
	return 0;
}

/* The pool range the fast path tests with one compare (address - base <
 * bytes): 0 while the base is unknown (a null address would pass for pool
 * word 0), and never reaching past the top of the address space (an
 * address below the base would pass). */
static uint64_t fast_pool_bytes(uint64_t base, uint64_t bytes)
{
	if (!base)
		return 0;
	return bytes > 0 - base ? 0 - base : bytes;
}

ravt_writer *ravt_writer_new(const ravt_writer_params *p, ravt_output_fn sink, void *user, char *errbuf,
                             size_t errlen)
{
	const char *why = NULL;
	if (p->word_size != 4 && p->word_size != 8)
		why = "word size must be 4 or 8 bytes";
	else if (p->cell_size != 4u * p->word_size)
		why = "a raviolo must be 4 words";
	else if (p->page_size < 256 || (p->page_size & (p->page_size - 1)) ||
	         p->page_size / p->cell_size > 16384)
		why = "page size must be a power of two of at most 16384 cells";
	else if (p->cmdline_len > RAVT_HEADER_MAX - sizeof(ravt_header) - 8)
		why = "command line too long";
	if (why) {
		snprintf(errbuf, errlen, "bad trace geometry: %s", why);
		return NULL;
	}
	ravt_writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	w->p = *p;
	w->fast_pool_bytes = fast_pool_bytes(p->pool_base, p->pool_bytes);
	if (!w->p.chunk_bytes)
		w->p.chunk_bytes = 64 * 1024;
	/* A chunk holds chunk_bytes of events plus one last event (its text
	 * is at most 64 KiB) and the segment table: keep it under the
	 * reader's limit. */
	if (w->p.chunk_bytes > RAVT_EVENTS_RAW_MAX / 4)
		w->p.chunk_bytes = RAVT_EVENTS_RAW_MAX / 4;
	/* Events are encoded after room for the frame, the segment table and
	 * its length, so that a chunk is usually written from where its
	 * events are, without assembling a copy (a typical segment table is a
	 * few percent of the events). */
	w->ev_head = (sizeof(ravt_frame) + 10 + w->p.chunk_bytes / 4 + 7) & ~(size_t)7;
	w->ev_full = w->ev_head + w->p.chunk_bytes;
	if (!w->p.zstd_level)
		w->p.zstd_level = 1;
	w->sink = sink;
	w->user = user;
	w->compress_now = !p->no_compress;
	w->word_shift = p->word_size == 8 ? 3 : 2;
	for (unsigned k = 0; k < 256; k++) {
		unsigned shape = ravt_shape_of(k);
		w->used[k] = (uint8_t)ravt_shape_fields(shape);
		w->text_field[k] = shape == RAVT_SHAPE_XTEXT                                 ? 1
		                   : shape == RAVT_SHAPE_TYPEDEF || shape == RAVT_SHAPE_TEXT ? 2
		                                                                             : 0;
		bool plain = shape == RAVT_SHAPE_TIME || shape == RAVT_SHAPE_X || shape == RAVT_SHAPE_XA ||
		             shape == RAVT_SHAPE_A || shape == RAVT_SHAPE_AB || shape == RAVT_SHAPE_ABC ||
		             shape == RAVT_SHAPE_AVV || shape == RAVT_SHAPE_ACCESS;
		w->fast[k] = k < RAVT_KIND_MAX && plain ? (uint8_t)shape : RAVT_FAST_NO;
	}
	w->cctx = ZSTD_createCCtx();
	if (!w->cctx) {
		free(w);
		snprintf(errbuf, errlen, "out of memory (zstd)");
		return NULL;
	}
	w->level_now = 0;
	set_level(w, w->p.zstd_level);

	size_t hsize = (sizeof(ravt_header) + p->cmdline_len + 7) & ~(size_t)7;
	uint8_t *h = calloc(1, hsize);
	if (!h) {
		ravt_writer_free(w);
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	ravt_header *hd = (ravt_header *)h;
	memcpy(hd->magic, RAVT_MAGIC, 8);
	hd->version_major = p->version_major ? p->version_major : RAVT_VERSION_MAJOR;
	hd->version_minor = p->version_major ? p->version_minor : RAVT_VERSION_MINOR;
	/* 1.5: events in EVENTS_AC chunks (a writer asked for an older version
	 * writes that version's EVENTS chunks) */
	w->acache = hd->version_major == 1 && hd->version_minor >= RAVT_MINOR_ACACHE;
	hd->endian = RAVT_ENDIAN_LITTLE;
	hd->word_size = p->word_size;
	hd->cell_size = p->cell_size;
	hd->page_size = p->page_size;
	hd->cells_per_page = p->page_size / p->cell_size;
	hd->header_size = (uint32_t)hsize;
	hd->flags = p->flags;
	hd->tsc_hz = p->tsc_hz;
	hd->tsc_start = p->tsc_start;
	hd->start_realtime_ns = p->start_realtime_ns;
	hd->pool_base = p->pool_base;
	hd->cmdline_len = (uint32_t)p->cmdline_len;
	if (p->cmdline_len)
		memcpy(h + sizeof *hd, p->cmdline, p->cmdline_len);
	hd->header_crc = ravt_header_crc(h, hsize);
	int rc = emit(w, h, hsize);
	free(h);
	if (rc) {
		snprintf(errbuf, errlen, "%s", w->error);
		ravt_writer_free(w);
		return NULL;
	}
	return w;
}

static ravt_wthread *thread_find(const ravt_writer *w, uint32_t id)
{
	if (!w->tmap_cap)
		return NULL;
	size_t mask = w->tmap_cap - 1;
	for (size_t i = ravt_hash32(id) & mask; w->tmap[i]; i = (i + 1) & mask)
		if (w->tmap[i]->id == id)
			return w->tmap[i];
	return NULL;
}

static void tmap_put(ravt_wthread **map, size_t cap, ravt_wthread *th)
{
	size_t i = ravt_hash32(th->id) & (cap - 1);
	while (map[i])
		i = (i + 1) & (cap - 1);
	map[i] = th;
}

ravt_wthread *ravt_writer_thread(ravt_writer *w, uint32_t id)
{
	if (w->last && w->last->id == id)
		return w->last;
	ravt_wthread *found = thread_find(w, id);
	if (found)
		return w->last = found;
	if (w->nthreads == w->cap_threads) {
		size_t cap = w->cap_threads ? w->cap_threads * 2 : 16;
		ravt_wthread **t = realloc(w->threads, cap * sizeof *t);
		if (!t)
			return NULL;
		w->threads = t;
		w->cap_threads = cap;
	}
	if ((w->nthreads + 1) * 2 > w->tmap_cap) {
		size_t cap = w->tmap_cap ? w->tmap_cap * 2 : 64;
		ravt_wthread **map = calloc(cap, sizeof *map);
		if (!map)
			return NULL;
		for (size_t i = 0; i < w->nthreads; i++)
			tmap_put(map, cap, w->threads[i]);
		free(w->tmap);
		w->tmap = map;
		w->tmap_cap = cap;
	}
	ravt_wthread *th = calloc(1, sizeof *th);
	if (!th)
		return NULL;
	th->id = id;
	th->site_run = UINT32_MAX;
	ravt_wcache_reset(&th->acache);
	th->cur_tsc = w->last_tsc_any;
	th->ev.len = w->ev_head;
	w->threads[w->nthreads++] = th;
	tmap_put(w->tmap, w->tmap_cap, th);
	return w->last = th;
}
/* A RAV_RAW_SITE record at ev[0] with its frame records (some may come in
 * the thread's next buffer).  Returns the records used, 0 on failure. */
static size_t site_record(ravt_writer *w, ravt_wthread *th, const rav_raw_event *ev, size_t n)
{
	unsigned frames = RAV_EV_AUX(&ev[0]);
	if (frames > RAV_SITE_FRAMES_MAX)
		frames = RAV_SITE_FRAMES_MAX;
	uint64_t f[RAV_SITE_FRAMES_MAX];
	/* only the frames aux counts: the engine leaves the words after them
	 * unwritten (site.c) */
	const uint64_t head[3] = {ev[0].a, frames > 1 ? ev[0].b : 0, frames > 2 ? ev[0].c : 0};
	memcpy(f, head, sizeof head);
	unsigned have = frames < 3 ? frames : 3;
	size_t used = 1;
	while (have < frames && used < n) {
		const uint64_t *wds = (const uint64_t *)(const void *)&ev[used];
		for (unsigned k = 0; k < 4 && have < frames; k++)
			f[have++] = wds[k];
		used++;
	}
	if (have < frames) {
		memcpy(th->site_pend, f, have * sizeof *f);
		th->site_have = have;
		th->site_want = frames;
		return used;
	}
	return ravt_writer_site(w, th, f, frames) == 0 ? used : 0;
}

/* Plain events (no text, no call site) through the fast path where it
 * takes them, else the general encoder: what ravt_writer_add does with a
 * run of them. */
static int add_plain(ravt_writer *w, ravt_wthread *th, const rav_raw_event *ev, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (th->seg_open && th->ev.len < w->ev_full && !w->p.no_fast_path) {
			if (!ravt_buf_reserve(&th->ev, w->ev_full - th->ev.len + RAVT_FAST_SLACK) ||
			    !ravt_writer_site_mark(th))
				return ravt_writer_fail(w, "%s", "out of memory");
			i += ravt_writer_encode_run(w, th, ev + i, n - i);
			if (th->ev.len >= w->ev_full && ravt_writer_flush_chunk(w, th) != 0)
				return -1;
			if (i >= n)
				break;
		}
		if (ravt_writer_encode(w, th, &ev[i], NULL, 0) != 0)
			return -1;
		i++;
	}
	return 0;
}

/* Events expanded from compound records and the plain events between
 * them go to add_plain in batches of up to this many (one fast-path run
 * each, not one per compound). */
#define EXPAND_BATCH 256

/* A compound record at ev[0] (rav-record.h: the events of one engine
 * operation), expanded into its events, with the compound and plain
 * records that follow it (up to a text, a call site or the batch's end).
 * The engine publishes a compound's records together, so they are never
 * split across buffers or reads.  Returns the records consumed, 0 on
 * error. */
static size_t compound_records(ravt_writer *w, ravt_wthread *th, const rav_raw_event *ev, size_t n)
{
	rav_raw_event x[EXPAND_BATCH];
	size_t nx = 0, i = 0;
	while (i < n && nx + RAV_RAW_EXPAND_MAX <= EXPAND_BATCH) {
		unsigned kind = RAV_EV_KIND(&ev[i]);
		unsigned recs = rav_raw_compound_records(&ev[i]);
		if (recs) {
			unsigned got = recs <= n - i ? rav_raw_expand(&ev[i], x + nx) : 0;
			if (!got) {
				char what[96];
				snprintf(what, sizeof what, "kind 0x%x, %u of its %u records", kind,
					 (unsigned)(recs <= n - i ? recs : n - i), recs);
				ravt_writer_fail(w, "malformed compound raw record (%s)", what);
				return 0;
			}
			nx += got;
			i += recs;
		} else if (kind < RAV_RAW_SITE && !w->text_field[kind]) {
			x[nx++] = ev[i++];
		} else {
			break;
		}
	}
	return add_plain(w, th, x, nx) == 0 ? i : 0;
}

int ravt_writer_add(ravt_writer *w, uint32_t thread, const rav_raw_event *ev, size_t n)
{
	if (w->failed)
		return -1;
	/* The engine tags a buffer with its thread's heap id when it hands the
	 * buffer out, so a thread's first buffer, taken before its heap
	 * existed, says thread 0.  If the buffer holds the thread's own
	 * THREAD_START, all of it is that heap's thread's (splitting it would
	 * put the two halves in different streams, whose order the reader
	 * could then only guess from equal timestamps). */
	if (thread == 0) {
		for (size_t k = 0; k < n; k++) {
			const rav_raw_event *e = &ev[k];
			if (RAV_EV_KIND(e) == RAV_EV_THREAD_START && e->x != 0) {
				thread = e->x;
				break;
			}
			if (RAV_EV_KIND(e) == RAV_RAW_SITE) {
				k += ravt_site_extra_records(e);
				continue;
			}
			unsigned crecs = rav_raw_compound_records(e);
			if (crecs) {
				k += crecs - 1;
				continue;
			}
			int8_t tf = w->text_field[RAV_EV_KIND(e)];
			if (tf)
				k += ((tf == 1             ? RAV_EV_AUX(e)
				       : e->a > (1u << 30) ? (1u << 30)
				                           : e->a) +
				      31) /
				     32;
		}
	}
	ravt_wthread *th = ravt_writer_thread(w, thread);
	if (!th)
		return ravt_writer_fail(w, "%s", "out of memory");
	w->current = thread;
	size_t i = 0;
	if (th->site_want) {
		/* frames of a SITE record that began in the previous buffer */
		while (i < n && th->site_have < th->site_want) {
			const uint64_t *wds = (const uint64_t *)(const void *)&ev[i];
			for (unsigned k = 0; k < 4 && th->site_have < th->site_want; k++)
				th->site_pend[th->site_have++] = wds[k];
			i++;
		}
		if (th->site_have < th->site_want)
			return 0;
		unsigned want = th->site_want;
		th->site_want = 0;
		if (ravt_writer_site(w, th, th->site_pend, want) != 0)
			return -1;
	}
	if (th->pending) {
		while (i < n && th->text_recs) {
			size_t have = th->text.len;
			if (have < th->text_len && have < RAVT_TEXT_MAX) {
				size_t take = 32;
				if (take > th->text_len - have)
					take = (size_t)(th->text_len - have);
				if (!ravt_buf_reserve(&th->text, take))
					return ravt_writer_fail(w, "%s", "out of memory");
				memcpy(th->text.p + have, &ev[i], take);
				th->text.len += take;
			}
			th->text_recs--;
			i++;
		}
		if (th->text_recs)
			return 0;
		th->pending = false;
		if (ravt_writer_encode_text(w, th, &th->pend, th->text.p, th->text.len) != 0)
			return -1;
	}
	while (i < n) {
		if (__builtin_expect(RAV_EV_KIND(&ev[i]) >= RAV_RAW_SITE, 0)) {
			if (RAV_EV_KIND(&ev[i]) == RAV_RAW_SITE) {
				size_t used = site_record(w, th, ev + i, n - i);
				if (!used)
					return -1;
				i += used;
				continue;
			}
			if (rav_raw_compound_records(&ev[i])) {
				size_t used = compound_records(w, th, ev + i, n - i);
				if (!used)
					return -1;
				i += used;
				continue;
			}
		}
		if (th->seg_open && th->ev.len < w->ev_full && !w->p.no_fast_path) {
			if (!ravt_buf_reserve(&th->ev, w->ev_full - th->ev.len + RAVT_FAST_SLACK) ||
			    !ravt_writer_site_mark(th))
				return ravt_writer_fail(w, "%s", "out of memory");
			i += ravt_writer_encode_run(w, th, ev + i, n - i);
			if (th->ev.len >= w->ev_full && ravt_writer_flush_chunk(w, th) != 0)
				return -1;
			if (i >= n)
				break;
			if (RAV_EV_KIND(&ev[i]) == RAV_RAW_SITE || rav_raw_compound_records(&ev[i]))
				continue;
		}
		const rav_raw_event *e = &ev[i];
		if (__builtin_expect(!w->text_field[RAV_EV_KIND(e)], 1)) {
			if (ravt_writer_encode(w, th, e, NULL, 0) != 0)
				return -1;
			i++;
			continue;
		}
		int64_t tl = ravt_text_len_of(e);
		if (tl < 0) {
			if (ravt_writer_encode(w, th, e, NULL, 0) != 0)
				return -1;
			i++;
			continue;
		}
		uint64_t recs = ((uint64_t)tl + 31) / 32;
		if (recs <= n - i - 1) {
			if (ravt_writer_encode_text(w, th, e, (const uint8_t *)&ev[i + 1], (uint64_t)tl) != 0)
				return -1;
			i += 1 + recs;
			continue;
		}
		/* The text continues in this thread's next buffer. */
		th->pending = true;
		th->pend = *e;
		th->text_len = (uint64_t)tl;
		th->text_recs = recs;
		th->text.len = 0;
		i++;
		while (i < n) {
			size_t have = th->text.len;
			size_t take = 32;
			if (take > th->text_len - have)
				take = (size_t)(th->text_len - have);
			if (have < RAVT_TEXT_MAX) {
				if (!ravt_buf_reserve(&th->text, take))
					return ravt_writer_fail(w, "%s", "out of memory");
				memcpy(th->text.p + have, &ev[i], take);
				th->text.len += take;
			}
			th->text_recs--;
			i++;
		}
	}
	return 0;
}

static bool index_add(ravt_writer *w, uint64_t offset, const ravt_wthread *th)
{
	if (w->nindex == w->cap_index) {
		size_t cap = w->cap_index ? w->cap_index * 2 : 256;
		ravt_index_entry *e = realloc(w->index, cap * sizeof *e);
		if (!e)
			return false;
		w->index = e;
		w->cap_index = cap;
	}
	w->index[w->nindex++] = (ravt_index_entry){offset, th->ordinal, th->id, th->count};
	return true;
}

/* Frames and writes one chunk.  With `in_place`, raw has sizeof(ravt_frame)
 * writable bytes before it and 8 after it, so a chunk stored raw is framed
 * and written where it is instead of being copied. */
static int write_chunk(ravt_writer *w, uint16_t kind, uint8_t *raw, size_t raw_len, bool compress,
                       bool in_place, uint32_t thread, uint32_t count, uint64_t first)
{
	/* A trailer's index grows with the chunks (24 bytes each): from format
	 * 1.2 on it may pass the 16 MiB of other chunks, up to what the
	 * frame's 32-bit length says. */
	if (raw_len > (kind == RAVT_CHUNK_TRAILER ? RAVT_TRAILER_MAX : RAVT_PAYLOAD_MAX))
		return ravt_writer_fail(
		    w, "%s",
		    kind == RAVT_CHUNK_TRAILER
		        ? "the trailer's chunk index is larger than 4 GiB (over 178 million "
		          "chunks)"
		        : "chunk payload too large");
	uint8_t *payload = raw;
	size_t stored = raw_len;
	uint16_t flags = 0;
	if (compress) {
		size_t bound = ZSTD_compressBound(raw_len);
		w->out.len = 0;
		if (!ravt_buf_reserve(&w->out, sizeof(ravt_frame) + bound + 8))
			return ravt_writer_fail(w, "%s", "out of memory");
		size_t z = ZSTD_compress2(w->cctx, w->out.p + sizeof(ravt_frame), bound, raw, raw_len);
		if (ZSTD_isError(z))
			return ravt_writer_fail(w, "zstd compression failed: %s", ZSTD_getErrorName(z));
		if (z < raw_len) {
			payload = w->out.p + sizeof(ravt_frame);
			stored = z;
			flags = RAVT_CF_ZSTD;
		}
	}
	if (!flags && !in_place) {
		w->out.len = 0;
		if (!ravt_buf_reserve(&w->out, sizeof(ravt_frame) + raw_len + 8))
			return ravt_writer_fail(w, "%s", "out of memory");
		payload = w->out.p + sizeof(ravt_frame);
		memcpy(payload, raw, raw_len);
	}
	size_t padded = (stored + 7) & ~(size_t)7;
	memset(payload + stored, 0, padded - stored);
	ravt_frame f = {
	    .sync = RAVT_CHUNK_SYNC,
	    .kind = kind,
	    .flags = flags,
	    .stored_len = (uint32_t)stored,
	    .raw_len = (uint32_t)raw_len,
	    .thread = thread,
	    .count = count,
	    .first = first,
	    .payload_crc = ravt_crc32c(0, payload, stored),
	};
	f.frame_crc = ravt_frame_crc(&f);
	memcpy(payload - sizeof f, &f, sizeof f);
	w->chunks++;
	return emit(w, payload - sizeof f, sizeof f + padded);
}

int ravt_writer_chunk(ravt_writer *w, uint16_t kind, uint8_t *raw, size_t raw_len, bool compress,
                      uint32_t thread, uint32_t count, uint64_t first)
{
	return write_chunk(w, kind, raw, raw_len, compress, false, thread, count, first);
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int ravt_writer_flush_chunk(ravt_writer *w, ravt_wthread *th)
{
	if (w->failed)
		return -1;
	if (th->count == 0)
		return 0;
	if (!ravt_writer_seg_close(th))
		return ravt_writer_fail(w, "%s", "out of memory");
	/* The chunk's call sites go before it (a reader streaming the file
	 * has them when the events arrive). */
	if (ravt_writer_sites_flush(w, th) != 0)
		return -1;
	/* Padding (and put_vu's 4-byte stores) after the events. */
	if (!ravt_buf_reserve(&th->ev, 8))
		return ravt_writer_fail(w, "%s", "out of memory");
	size_t evlen = th->ev.len - w->ev_head;
	size_t pre = varint_len(th->seg.len) + th->seg.len;
	uint8_t *payload;
	bool in_place = pre + sizeof(ravt_frame) <= w->ev_head;
	if (in_place) {
		/* The usual case: the segment table goes in front of the events. */
		payload = th->ev.p + w->ev_head - pre;
	} else {
		w->payload.len = 0;
		if (!ravt_buf_reserve(&w->payload, pre + evlen))
			return ravt_writer_fail(w, "%s", "out of memory");
		payload = w->payload.p;
		memcpy(payload + pre, th->ev.p + w->ev_head, evlen);
	}
	uint8_t *p = ravt_put_varint(payload, th->seg.len);
	memcpy(p, th->seg.p, th->seg.len);
	uint64_t off = w->offset;
	if (!index_add(w, off, th))
		return ravt_writer_fail(w, "%s", "out of memory");
	if (write_chunk(w, w->acache ? RAVT_CHUNK_EVENTS_AC : RAVT_CHUNK_EVENTS, payload, pre + evlen, w->compress_now, in_place, th->id,
	                th->count, th->ordinal) != 0)
		return -1;
	th->ordinal += th->count;
	ravt_writer_chunk_reset(w, th);
	return 0;
}

int ravt_writer_flush_thread(ravt_writer *w, uint32_t thread)
{
	if (w->failed)
		return -1;
	ravt_wthread *th = thread_find(w, thread);
	if (!th)
		return 0;
	if (ravt_writer_flush_chunk(w, th) != 0)
		return -1;
	/* The thread ended (or a flush bounds latency): its buffers go, so a
	 * program that runs through many threads costs the writer what its
	 * live ones do; the next events of the thread allocate them again. */
	if (!th->pending) {
		free(th->ev.p);
		free(th->seg.p);
		free(th->text.p);
		th->ev = (ravt_buf){NULL, w->ev_head, 0};
		th->seg = th->text = (ravt_buf){NULL, 0, 0};
	}
	return 0;
}

int ravt_writer_finish(ravt_writer *w, uint64_t dropped)
{
	for (size_t i = 0; i < w->nthreads; i++) {
		if (ravt_writer_flush_chunk(w, w->threads[i]) != 0)
			return -1;
	}
	if (w->failed)
		return -1;
	size_t len = sizeof(ravt_trailer) + w->nindex * sizeof(ravt_index_entry) + 8;
	if (len > RAVT_TRAILER_MAX)
		return ravt_writer_fail(
		    w, "%s", "the trailer's chunk index is larger than 4 GiB (over 178 million chunks)");
	uint8_t *t = calloc(1, len);
	if (!t)
		return ravt_writer_fail(w, "%s", "out of memory");
	ravt_trailer tr = {
	    .events = w->events,
	    .chunks = w->nindex,
	    .threads = (uint32_t)w->nthreads,
	    .last_tsc = w->last_tsc,
	    .dropped = dropped,
	};
	memcpy(t, &tr, sizeof tr);
	if (w->nindex)
		memcpy(t + sizeof tr, w->index, w->nindex * sizeof(ravt_index_entry));
	uint64_t self = w->offset;
	memcpy(t + len - 8, &self, 8);
	int rc = write_chunk(w, RAVT_CHUNK_TRAILER, t, len, false, false, 0, 0, 0);
	free(t);
	return rc;
}

int ravt_writer_raw_chunk(ravt_writer *w, uint16_t kind, uint16_t flags, const void *payload, uint32_t len,
                          uint32_t thread, uint32_t count, uint64_t first)
{
	if (w->failed)
		return -1;
	w->out.len = 0;
	size_t padded = ((size_t)len + 7) & ~(size_t)7;
	if (!ravt_buf_reserve(&w->out, sizeof(ravt_frame) + padded))
		return ravt_writer_fail(w, "%s", "out of memory");
	memset(w->out.p, 0, sizeof(ravt_frame) + padded);
	if (len)
		memcpy(w->out.p + sizeof(ravt_frame), payload, len);
	ravt_frame f = {
	    .sync = RAVT_CHUNK_SYNC,
	    .kind = kind,
	    .flags = flags,
	    .stored_len = len,
	    .raw_len = len,
	    .thread = thread,
	    .count = count,
	    .first = first,
	    .payload_crc = ravt_crc32c(0, w->out.p + sizeof(ravt_frame), len),
	};
	f.frame_crc = ravt_frame_crc(&f);
	memcpy(w->out.p, &f, sizeof f);
	return emit(w, w->out.p, sizeof f + padded);
}

void ravt_writer_set_compress(ravt_writer *w, bool compress)
{
	w->compress_now = compress;
	if (compress)
		set_level(w, w->p.zstd_level);
}

void ravt_writer_set_level(ravt_writer *w, int level)
{
	w->compress_now = level != 0;
	if (level)
		set_level(w, level);
}

void ravt_writer_set_pool(ravt_writer *w, uint64_t base, uint64_t bytes)
{
	w->p.pool_base = base;
	w->p.pool_bytes = bytes;
	/* With base 0 the fast path would take a null address for a pool one. */
	w->fast_pool_bytes = fast_pool_bytes(base, bytes);
}

const char *ravt_writer_error(const ravt_writer *w)
{
	return w->failed ? w->error : NULL;
}

uint32_t ravt_writer_current_thread(const ravt_writer *w)
{
	return w->current;
}

uint64_t ravt_writer_events(const ravt_writer *w)
{
	return w->events;
}

uint64_t ravt_writer_bytes(const ravt_writer *w)
{
	return w->offset;
}

void ravt_writer_free(ravt_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nthreads; i++) {
		ravt_wthread *th = w->threads[i];
		free(th->seg.p);
		free(th->ev.p);
		free(th->text.p);
		free(th->site_marks.p);
		free(th);
	}
	free(w->threads);
	free(w->tmap);
	free(w->index);
	free(w->payload.p);
	free(w->out.p);
	ravt_writer_sites_free(w);
	ZSTD_freeCCtx(w->cctx);
	free(w);
}
