/* reader-framing.c - the header and the chunk frames (FORMAT.md sections 3,
 * 4, 6 and 7): validation, the chunk table, per-thread chunk lists, the
 * trailer check.
 *
 * Trust rule: nothing read from the file is used before it is checked.
 * Frames are validated (sync word, frame checksum, lengths against caps and
 * against the bytes present) while walking; an EVENTS payload's checksum is
 * verified before its first decode (reader-decode.c), other payloads here.
 * Walking reads only frame headers (a file's with pread: see read_frame), so
 * opening a big trace is fast.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reader-private.h"

int ravt_parse_header(ravt_reader *rd, rav_trace_error *err)
{
	const uint8_t *d = rd->data;
	size_t size = rd->size;
	if (size == 0) {
		ravt_set_error(err, RAV_TRACE_EEMPTY, 0, -1,
		               "the file is empty (0 bytes): the recording never started");
		return -1;
	}
	size_t m = size < 8 ? size : 8;
	if (memcmp(d, RAVT_MAGIC, m) != 0) {
		/* what ravtrace export writes, given back to it by mistake */
		if (size >= 16 && memcmp(d, "SQLite format 3", 16) == 0)
			ravt_set_error(err, RAV_TRACE_EMAGIC, 0, -1,
			               "not a ravtrace file but an SQLite database (ravtrace export "
			               "--format=sqlite writes these): query it with sqlite3");
		else if (size >= 18 && memcmp(d, "{\"displayTimeUnit\"", 18) == 0)
			ravt_set_error(err, RAV_TRACE_EMAGIC, 0, -1,
			               "not a ravtrace file but trace-event JSON (ravtrace export "
			               "--format=chrome writes these): open it in Perfetto UI or chrome://tracing");
		else
			ravt_set_error(err, RAV_TRACE_EMAGIC, 0, -1,
			               "not a ravtrace file: it does not start with the magic \"RAVTRACE\"");
		return -1;
	}
	if (size < sizeof(ravt_header)) {
		ravt_set_error(err, RAV_TRACE_ETRUNCATED, size, -1,
		               "the file ends inside the header (%zu of %zu bytes): nothing was recorded",
		               size, sizeof(ravt_header));
		return -1;
	}
	memcpy(&rd->hdr, d, sizeof rd->hdr);
	ravt_header *h = &rd->hdr;
	if (h->version_major > RAVT_VERSION_MAJOR) {
		ravt_set_error(err, RAV_TRACE_EVERSION, 8, -1,
		               "trace format version %u.%u is newer than this reader (%u.%u): update "
		               "ravscope to read it",
		               h->version_major, h->version_minor, RAVT_VERSION_MAJOR, RAVT_VERSION_MINOR);
		return -1;
	}
	if (h->version_major < RAVT_VERSION_MAJOR) {
		ravt_set_error(err, RAV_TRACE_EVERSION, 8, -1,
		               "trace format version %u.%u is older than any supported (%u.x)",
		               h->version_major, h->version_minor, RAVT_VERSION_MAJOR);
		return -1;
	}
	const char *why = NULL;
	uint64_t where = 0;
	if (h->endian != RAVT_ENDIAN_LITTLE)
		why = "byte order is not little-endian", where = 12;
	else if (h->word_size != 4 && h->word_size != 8)
		why = "word size is not 4 or 8 bytes", where = 13;
	else if (h->cell_size != 4u * h->word_size)
		why = "raviolo size is not 4 words", where = 14;
	else if (h->page_size < 256 || h->page_size > (1u << 20) || (h->page_size & (h->page_size - 1)))
		why = "page size is not a power of two between 256 bytes and 1 MiB", where = 16;
	else if (h->cells_per_page != h->page_size / h->cell_size || h->cells_per_page > 16384)
		why = "cells per page does not match page and raviolo sizes", where = 20;
	else if (h->header_size < sizeof(ravt_header) || h->header_size > RAVT_HEADER_MAX ||
	         (h->header_size & 7))
		why = "header size is not a multiple of 8 between 128 and 65536", where = 24;
	else if (h->cmdline_len > h->header_size - sizeof(ravt_header))
		why = "command line length runs past the header", where = 64;
	if (why) {
		ravt_set_error(err, RAV_TRACE_EHEADER, where, -1, "invalid header: %s", why);
		return -1;
	}
	if (h->header_size > size) {
		ravt_set_error(err, RAV_TRACE_ETRUNCATED, size, -1,
		               "the file ends inside the header (%zu of %u bytes)", size, h->header_size);
		return -1;
	}
	uint32_t crc = ravt_header_crc(d, h->header_size);
	if (RAVT_VERIFY_CRC && crc != h->header_crc) {
		ravt_set_error(err, RAV_TRACE_EHEADER, 68, -1,
		               "header checksum mismatch (stored %08x, computed %08x): the header is damaged",
		               h->header_crc, crc);
		return -1;
	}
	rd->word_shift = h->word_size == 8 ? 3 : 2;
	unsigned wpp = h->page_size >> rd->word_shift;
	rd->wpp_shift = (unsigned)__builtin_ctz(wpp);
	rd->wpp_mask = wpp - 1;
	rd->ns_per_tick = h->tsc_hz ? 1e9 / (double)h->tsc_hz : 1.0;

	rav_trace_info *in = &rd->info;
	in->version_major = h->version_major;
	in->version_minor = h->version_minor;
	in->word_size = h->word_size;
	in->cell_size = h->cell_size;
	in->page_size = h->page_size;
	in->cells_per_page = h->cells_per_page;
	in->start_ns = h->start_realtime_ns;
	in->clock_known = h->tsc_hz != 0;
	size_t n =
	    ravt_utf8_cut((const char *)d + sizeof(ravt_header), h->cmdline_len, sizeof in->program - 1);
	for (size_t i = 0; i < n; i++) {
		/* NULs separate the arguments; other control bytes are not shown
		 * (bytes of UTF-8 characters, and any others, are kept) */
		unsigned char c = d[sizeof(ravt_header) + i];
		in->program[i] = c == 0 ? ' ' : (c < 32 || c == 0x7f ? '?' : (char)c);
	}
	while (n && in->program[n - 1] == ' ')
		n--;
	in->program[n] = 0;
	rd->parse_pos = h->header_size;
	return 0;
}

/* The stream of thread `id`, created if new (lock held).  Looked up once
 * per chunk: a hash map, so a file of many threads frames in linear time. */
static ravt_stream *stream_for(ravt_reader *rd, uint32_t id, uint32_t *idx)
{
	if (rd->smap_cap) {
		size_t mask = rd->smap_cap - 1;
		for (size_t i = ravt_hash32(id) & mask; rd->smap[i]; i = (i + 1) & mask) {
			if (rd->streams[rd->smap[i] - 1].id == id) {
				*idx = rd->smap[i] - 1;
				return &rd->streams[*idx];
			}
		}
	}
	if (rd->nstreams == rd->cap_streams) {
		size_t cap = rd->cap_streams ? rd->cap_streams * 2 : 8;
		if (!ravt_budget_charge(&rd->budget, (cap - rd->cap_streams) * sizeof(ravt_stream),
		                        "the table of recording threads"))
			return NULL;
		ravt_stream *s = realloc(rd->streams, cap * sizeof *s);
		if (!s)
			return NULL;
		rd->streams = s;
		rd->cap_streams = cap;
	}
	if ((rd->nstreams + 1) * 2 > rd->smap_cap) {
		size_t cap = rd->smap_cap ? rd->smap_cap * 2 : 32;
		if (!ravt_budget_charge(&rd->budget, (cap - rd->smap_cap) * sizeof(uint32_t),
		                        "the table of recording threads"))
			return NULL;
		uint32_t *map = calloc(cap, sizeof *map);
		if (!map)
			return NULL;
		for (size_t k = 0; k < rd->nstreams; k++) {
			size_t i = ravt_hash32(rd->streams[k].id) & (cap - 1);
			while (map[i])
				i = (i + 1) & (cap - 1);
			map[i] = (uint32_t)k + 1;
		}
		free(rd->smap);
		rd->smap = map;
		rd->smap_cap = cap;
	}
	ravt_stream *s = &rd->streams[rd->nstreams];
	memset(s, 0, sizeof *s);
	s->id = id;
	size_t i = ravt_hash32(id) & (rd->smap_cap - 1);
	while (rd->smap[i])
		i = (i + 1) & (rd->smap_cap - 1);
	rd->smap[i] = (uint32_t)rd->nstreams + 1;
	*idx = (uint32_t)rd->nstreams++;
	return s;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return false;
	}
	return true;
}

/* Check the trailer against what the walk found. */
static int check_trailer(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, uint64_t off,
                         int64_t chunkno, rav_trace_error *err)
{
	if (f->flags || f->stored_len != f->raw_len || f->stored_len < sizeof(ravt_trailer) + 8 ||
	    (f->stored_len - sizeof(ravt_trailer) - 8) % sizeof(ravt_index_entry)) {
		ravt_set_error(err, RAV_TRACE_ECHUNK, off, chunkno,
		               "chunk %lld at offset %llu: trailer has an invalid length (%u)",
		               (long long)chunkno, (unsigned long long)off, f->stored_len);
		return -1;
	}
	ravt_trailer tr;
	memcpy(&tr, payload, sizeof tr);
	uint64_t entries = (f->stored_len - sizeof(ravt_trailer) - 8) / sizeof(ravt_index_entry);
	uint64_t self = ravt_le64(payload + f->stored_len - 8);
	const char *why = NULL;
	if (self != off)
		why = "its own offset is wrong";
	else if (tr.chunks != entries || tr.chunks != rd->nchunks)
		why = "its chunk count disagrees with the chunks in the file";
	else if (tr.events != rd->total_events)
		why = "its event count disagrees with the chunks in the file";
	for (uint64_t i = 0; !why && i < entries; i++) {
		ravt_index_entry e;
		memcpy(&e, payload + sizeof tr + i * sizeof e, sizeof e);
		const ravt_chunk *c = &rd->chunks[i];
		if (e.offset != c->offset || e.first != c->first || e.count != c->count ||
		    e.thread != rd->streams[c->stream].id)
			why = "its chunk index disagrees with the chunks in the file";
	}
	if (why) {
		ravt_set_error(err, RAV_TRACE_ECHUNK, off, chunkno,
		               "chunk %lld at offset %llu: invalid trailer: %s", (long long)chunkno,
		               (unsigned long long)off, why);
		return -1;
	}
	rd->complete = true;
	return 0;
}

/* Append an EVENTS chunk to the tables (lock held).  NULL, "" (chunk out
 * of sequence: *have), or why it is invalid ("out of memory" is ENOMEM). */
static const char *add_events_chunk(ravt_reader *rd, const ravt_frame *f, uint64_t off, int64_t chunkno,
                                    uint64_t *have)
{
	uint32_t si;
	ravt_stream *s = stream_for(rd, f->thread, &si);
	if (!s)
		return ravt_budget_is_exceeded(&rd->budget) ? "limit" : "out of memory";
	if (f->first != s->events) {
		*have = s->events;
		return "";
	}
	if (rd->nchunks == rd->cap_chunks) {
		size_t cap = rd->cap_chunks ? rd->cap_chunks * 2 : 256;
		if (!ravt_budget_charge(&rd->budget, (cap - rd->cap_chunks) * sizeof(ravt_chunk),
		                        "the chunk table"))
			return "limit";
		ravt_chunk *c = realloc(rd->chunks, cap * sizeof *c);
		if (!c)
			return "out of memory";
		rd->chunks = c;
		rd->cap_chunks = cap;
	}
	if (s->nchunks == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		if (!ravt_budget_charge(&rd->budget, (cap - s->cap) * sizeof(uint32_t), "the chunk table"))
			return "limit";
		uint32_t *c = realloc(s->chunks, cap * sizeof *c);
		if (!c)
			return "out of memory";
		s->chunks = c;
		s->cap = cap;
	}
	ravt_chunk c = {.offset = off,
	                .first = f->first,
	                .stored = f->stored_len,
	                .raw = f->raw_len,
	                .count = f->count,
	                .stream = si,
	                .no = (uint32_t)chunkno,
	                .crc = f->payload_crc,
	                .flags = f->flags,
	                .acache = f->kind == RAVT_CHUNK_EVENTS_AC};
	const char *why = ravt_claim_sites(rd, f, &c);
	if (why)
		return why;
	s->chunks[s->nchunks++] = (uint32_t)rd->nchunks;
	rd->chunks[rd->nchunks++] = c;
	s->events += f->count;
	rd->total_events += f->count;
	return NULL;
}

/* A file's frames far apart are read with pread, not through its mapping:
 * touching one byte of the mapping maps the pages around it as well (the
 * kernel's fault-around, 64 KiB), so a walk through frames tens of KB apart
 * mapped nearly the whole file, only for the open to give it all back
 * again (merge-bench --open, 354 MB, 7,516 chunks: 5,400 page faults and
 * 26 ms of system time, two thirds of it mapping and unmapping; 4.5 ms
 * with pread).  Frames close together (a trace of 100,000 threads has
 * 100,000 chunks of a few hundred bytes) are read as mapped: a fault maps
 * the next frames too, where a pread per frame cost as much as the faults
 * did.  A stream's spool is read as mapped (its writer just wrote those
 * pages). */
enum { FRAME_FAR = 4096 };

/* The frame at `off` (within the bytes present); *last: the offset of the
 * frame read before.  false: the file ended before it (it shrank under
 * us). */
static bool read_frame(ravt_reader *rd, uint64_t *last, uint64_t off, ravt_frame *f)
{
	bool far = off - *last >= FRAME_FAR;
	*last = off;
	if (rd->file_fd < 0 || rd->is_stream || !far) {
		memcpy(f, rd->data + off, sizeof *f);
		return true;
	}
	size_t got = 0;
	while (got < sizeof *f) {
		ssize_t r = pread(rd->file_fd, (char *)f + got, sizeof *f - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

int64_t ravt_walk_chunks(ravt_reader *rd, rav_trace_error *err, bool *partial)
{
	const uint8_t *d = rd->data;
	uint64_t size = rd->size;
	uint64_t off = rd->parse_pos;
	int64_t added = 0;
	*partial = false;
	uint64_t last = off;
	while (off < size) {
		int64_t chunkno = (int64_t)(rd->nchunks + rd->skipped_chunks + (rd->complete ? 1 : 0));
		if (rd->complete) {
			ravt_set_error(err, RAV_TRACE_ECHUNK, off, chunkno,
			               "%llu bytes follow the trailer at offset %llu: the file was appended "
			               "to or damaged",
			               (unsigned long long)(size - off), (unsigned long long)off);
			return -1;
		}
		if (size - off < sizeof(ravt_frame)) {
			*partial = true;
			break;
		}
		ravt_frame f;
		if (!read_frame(rd, &last, off, &f)) {
			ravt_set_error(err, RAV_TRACE_EIO, off, chunkno,
			               "chunk %lld at offset %llu: the file ends before its frame (it shrank "
			               "while being opened)",
			               (long long)chunkno, (unsigned long long)off);
			return -1;
		}
		if (f.sync != RAVT_CHUNK_SYNC) {
			if (!rd->is_stream && all_zero(d + off, size - off)) {
				*partial = true; /* a crash left a zero-filled tail */
				break;
			}
			ravt_set_error(
			    err, RAV_TRACE_ECHUNK, off, chunkno,
			    "chunk %lld at offset %llu: no chunk starts here (sync word %08x, expected %08x)",
			    (long long)chunkno, (unsigned long long)off, f.sync, RAVT_CHUNK_SYNC);
			return -1;
		}
		uint32_t fcrc = ravt_frame_crc(&f);
		if (RAVT_VERIFY_CRC && fcrc != f.frame_crc) {
			ravt_set_error(
			    err, RAV_TRACE_ECHUNK, off, chunkno,
			    "chunk %lld at offset %llu: frame checksum mismatch (stored %08x, computed %08x)",
			    (long long)chunkno, (unsigned long long)off, f.frame_crc, fcrc);
			return -1;
		}
		uint32_t cap = f.kind == RAVT_CHUNK_TRAILER ? RAVT_TRAILER_MAX : RAVT_PAYLOAD_MAX;
		if (f.stored_len > cap || f.raw_len > cap) {
			ravt_set_error(
			    err, RAV_TRACE_ECHUNK, off, chunkno,
			    "chunk %lld at offset %llu: payload length %u (raw %u) exceeds the %u-byte limit",
			    (long long)chunkno, (unsigned long long)off, f.stored_len, f.raw_len, cap);
			return -1;
		}
		uint64_t padded = ((uint64_t)f.stored_len + 7) & ~(uint64_t)7;
		if (size - off - sizeof f < padded) {
			*partial = true;
			if (err && !rd->is_stream)
				ravt_set_error(err, RAV_TRACE_ETRUNCATED, off, chunkno,
				               "the file ends inside chunk %lld at offset %llu (%llu of %llu "
				               "bytes present); "
				               "the %llu bytes before it are usable",
				               (long long)chunkno, (unsigned long long)off,
				               (unsigned long long)(size - off),
				               (unsigned long long)(sizeof f + padded),
				               (unsigned long long)off);
			break;
		}
		const uint8_t *payload = d + off + sizeof f;
		/* EVENTS payloads are checked when first decoded (opening a big
		 * trace then reads only frame headers); others now. */
		uint32_t pcrc =
		    ravt_chunk_is_events(f.kind) ? f.payload_crc : ravt_crc32c(0, payload, f.stored_len);
		if (RAVT_VERIFY_CRC && pcrc != f.payload_crc) {
			ravt_set_error(err, RAV_TRACE_ECHUNK, off, chunkno,
			               "chunk %lld at offset %llu: payload checksum mismatch (stored %08x, "
			               "computed %08x)",
			               (long long)chunkno, (unsigned long long)off, f.payload_crc, pcrc);
			return -1;
		}
		if (ravt_chunk_is_events(f.kind)) {
			const char *why = NULL;
			if (f.flags & ~RAVT_CF_ZSTD)
				why = "unknown flags";
			else if (!(f.flags & RAVT_CF_ZSTD) && f.raw_len != f.stored_len)
				why = "uncompressed but raw and stored lengths differ";
			else if (f.raw_len > RAVT_EVENTS_RAW_MAX)
				why = "raw payload is larger than 1 MiB";
			else if (f.count == 0 || f.count > f.raw_len)
				why = "event count is 0 or larger than its payload";
			if (why) {
				ravt_set_error(err, RAV_TRACE_ECHUNK, off, chunkno,
				               "chunk %lld at offset %llu: events chunk: %s",
				               (long long)chunkno, (unsigned long long)off, why);
				return -1;
			}
			uint64_t have = 0;
			pthread_mutex_lock(&rd->lock);
			why = add_events_chunk(rd, &f, off, chunkno, &have);
			pthread_mutex_unlock(&rd->lock);
			if (why && strcmp(why, "limit") == 0) {
				ravt_budget_error(&rd->budget, err);
				return -1;
			}
			if (why && why[0]) {
				bool nomem = strcmp(why, "out of memory") == 0;
				ravt_set_error(err, nomem ? RAV_TRACE_ENOMEM : RAV_TRACE_ECHUNK, off, chunkno,
				               "chunk %lld at offset %llu: %s", (long long)chunkno,
				               (unsigned long long)off, why);
				return -1;
			}
			if (why) {
				ravt_set_error(err, RAV_TRACE_ECHUNK, off, chunkno,
				               "chunk %lld at offset %llu: thread %u's chunk starts at its "
				               "event %llu, but %llu "
				               "events of it came before (a chunk is missing or repeated)",
				               (long long)chunkno, (unsigned long long)off, f.thread,
				               (unsigned long long)f.first, (unsigned long long)have);
				return -1;
			}
			added += f.count;
		} else {
			/* A SITES chunk is followed by the EVENTS chunk it describes. */
			const char *why = rd->pending_sites ? ravt_claim_sites(rd, &f, NULL) : NULL;
			bool nomem = false;
			if (!why && f.kind == RAVT_CHUNK_SITES)
				why = ravt_add_sites_chunk(rd, &f, payload, off, &nomem);
			else if (!why && f.kind == RAVT_CHUNK_MAPS)
				why = ravt_add_maps_chunk(rd, &f, payload, &nomem);
			if (why && strcmp(why, "limit") == 0) { /* the call sites' tables (reader-sites.c) */
				ravt_budget_error(&rd->budget, err);
				return -1;
			}
			if (why) {
				ravt_set_error(err, nomem ? RAV_TRACE_ENOMEM : RAV_TRACE_ECHUNK, off, chunkno,
				               "chunk %lld at offset %llu: %s", (long long)chunkno,
				               (unsigned long long)off, why);
				return -1;
			}
			if (f.kind == RAVT_CHUNK_TRAILER) {
				pthread_mutex_lock(&rd->lock);
				int rc = check_trailer(rd, &f, payload, off, chunkno, err);
				pthread_mutex_unlock(&rd->lock);
				if (rc != 0)
					return -1;
			} else if (f.kind == RAVT_CHUNK_SNAPSHOT || f.kind == RAVT_CHUNK_SESSION) {
				/* 1.1: live sessions (reader-snapshot.c) */
				pthread_mutex_lock(&rd->lock);
				why = f.kind == RAVT_CHUNK_SNAPSHOT ? ravt_note_snapshot(rd, &f, payload, off)
				                                    : ravt_note_session(rd, &f, payload);
				pthread_mutex_unlock(&rd->lock);
				if (why && strcmp(why, "limit") == 0) {
					ravt_budget_error(&rd->budget, err);
					return -1;
				}
				if (why) {
					ravt_set_error(err, why[0] ? RAV_TRACE_ECHUNK : RAV_TRACE_ENOMEM, off,
					               chunkno, "chunk %lld at offset %llu: %s",
					               (long long)chunkno, (unsigned long long)off,
					               why[0] ? why : "out of memory");
					return -1;
				}
				rd->skipped_chunks++; /* numbered with the chunks that are not events */
			} else {
				rd->skipped_chunks++; /* sites, maps, or a kind from a newer minor version */
			}
		}
		off += sizeof f + padded;
		rd->parse_pos = off;
	}
	return added;
}
