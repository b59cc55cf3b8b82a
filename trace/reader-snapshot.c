/* reader-snapshot.c - the reader's part of live-session traces (format
 * 1.1): the table of snapshot pieces (FORMAT.md §11) and what SESSION
 * records say (§12.4).
 *
 * A piece may span several SNAPSHOT chunks (parts).  Framing checks each
 * chunk's head (snapshot.c) and files it under its piece id; the parts of
 * one piece must agree (same heap, same part count, each part once).  The
 * piece is handed out only once all its parts are framed, as pointers into
 * the trace bytes, which never move.
 *
 * SESSION records also tell a live merge which sequence numbers will never
 * come: a session's first number, and after a loss everything below the
 * next epoch's first number (the seq floor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "live.h"
#include "reader-private.h"


static long piece_index(const ravt_reader *rd, uint64_t id)
{
	if (!rd->pmap_cap)
		return -1;
	size_t mask = rd->pmap_cap - 1;
	for (size_t i = (size_t)ravt_mix_fast(id) & mask;; i = (i + 1) & mask) {
		uint32_t v = rd->pmap[i];
		if (!v)
			return -1;
		if (rd->pieces[v - 1]->piece.head.piece_id == id)
			return (long)v - 1;
	}
}

#define PIECES_WHAT "the table of snapshot pieces"

static bool pmap_put(ravt_reader *rd, uint64_t id, uint32_t index)
{
	if ((rd->npieces + 1) * 2 > rd->pmap_cap) {
		size_t cap = rd->pmap_cap ? rd->pmap_cap * 2 : 64;
		if (!ravt_budget_charge(&rd->budget, (cap - rd->pmap_cap) * sizeof(uint32_t), PIECES_WHAT))
			return false;
		uint32_t *m = calloc(cap, sizeof *m);
		if (!m)
			return false;
		for (size_t k = 0; k < rd->npieces; k++) {
			size_t mask = cap - 1;
			for (size_t i = (size_t)ravt_mix_fast(rd->pieces[k]->piece.head.piece_id) & mask;;
			     i = (i + 1) & mask)
				if (!m[i]) {
					m[i] = (uint32_t)k + 1;
					break;
				}
		}
		free(rd->pmap);
		rd->pmap = m;
		rd->pmap_cap = cap;
	}
	size_t mask = rd->pmap_cap - 1;
	for (size_t i = (size_t)ravt_mix_fast(id) & mask;; i = (i + 1) & mask)
		if (!rd->pmap[i]) {
			rd->pmap[i] = index + 1;
			return true;
		}
}

const char *ravt_note_snapshot(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload, uint64_t off)
{
	ravt_snap_head h;
	char name[256];
	const char *why = ravt_snap_check(f, payload, &h, name);
	if (why)
		return why;
	if (h.parts > RAVT_SNAP_MAX_PARTS)
		return "more parts than a reader accepts";
	/* every part is a chunk of at least a frame and a head: a piece of
	 * more parts than the file has room for is not one (a stream's size
	 * is not known yet: the budget bounds it) */
	if (!rd->is_stream && h.parts > rd->size / (sizeof *f + sizeof h))
		return "more parts than the file has room for";
	long k = piece_index(rd, h.piece_id);
	ravt_piece_entry *e;
	if (k < 0) {
		if (rd->npieces == rd->cap_pieces) {
			size_t cap = rd->cap_pieces ? rd->cap_pieces * 2 : 64;
			if (!ravt_budget_charge(&rd->budget, (cap - rd->cap_pieces) * sizeof *rd->pieces,
			                        PIECES_WHAT))
				return "limit";
			ravt_piece_entry **g = realloc(rd->pieces, cap * sizeof *g);
			if (!g)
				return "";
			rd->pieces = g;
			rd->cap_pieces = cap;
		}
		/* each entry on its own: the table grows while replay holds
		 * pieces it handed out (a stream frames as a seek reads) */
		if (!ravt_budget_charge(&rd->budget,
		                        sizeof *e + (uint64_t)h.parts * (sizeof *e->off + sizeof *e->chunk),
		                        PIECES_WHAT))
			return "limit";
		e = calloc(1, sizeof *e);
		if (e)
			e->off = calloc(h.parts, sizeof *e->off);
		if (!e || !e->off || !pmap_put(rd, h.piece_id, (uint32_t)rd->npieces)) {
			if (e)
				free(e->off);
			free(e);
			return ravt_budget_is_exceeded(&rd->budget) ? "limit" : "";
		}
		rd->pieces[rd->npieces++] = e;
		e->piece.parts = h.parts;
		if (h.part == 0) {
			e->piece.head = h;
			snprintf(e->piece.name, sizeof e->piece.name, "%s", name);
		} else {
			e->piece.head.piece_id = h.piece_id; /* the rest comes with part 0 */
		}
	} else {
		e = rd->pieces[k];
		if (e->piece.parts != h.parts ||
		    (e->piece.head.heap_id && e->piece.head.heap_id != h.heap_id))
			return "a part of a snapshot piece disagrees with its other parts";
		if (e->off[h.part])
			return "a part of a snapshot piece comes twice";
		if (h.part == 0) {
			e->piece.head = h;
			snprintf(e->piece.name, sizeof e->piece.name, "%s", name);
		}
	}
	e->off[h.part] = off;
	if (++e->have == e->piece.parts) {
		e->chunk = malloc(e->piece.parts * sizeof *e->chunk);
		if (!e->chunk)
			return "";
		for (uint32_t i = 0; i < e->piece.parts; i++)
			e->chunk[i] = rd->data + e->off[i];
		e->piece.chunk = e->chunk;
	}
	return NULL;
}

static void floor_at(ravt_reader *rd, uint64_t seq)
{
	if (seq > rd->seq_floor)
		rd->seq_floor = seq;
}

static bool in_range(int64_t v, int64_t lo, int64_t hi)
{
	return v >= lo && v <= hi;
}

/* A SESSION record (FORMAT.md §12.4).  The records the reader takes in
 * (ATTACHED, STATS, END, SYNCED, LOST) are checked against their ranges
 * and against the records before them: one ATTACHED, first; nothing of
 * the session after its END; each loss a later epoch.  A record that
 * breaks that is a damaged chunk, not figures shown as they came (a pid of
 * 2^40 + 5 shown as 5, a loss of -1 events as 2^64 - 1). */
const char *ravt_note_session(ravt_reader *rd, const ravt_frame *f, const uint8_t *payload)
{
	ravt_session r;
	if (f->flags || f->raw_len != f->stored_len || f->stored_len < sizeof r)
		return "session record: wrong length or flags";
	memcpy(&r, payload, sizeof r);
	if (r.flags || r.text_len > f->stored_len - sizeof r)
		return "session record: its text runs past the chunk";
	if (r.type < RAVT_SESSION_ATTACHED || r.type > RAVT_SESSION_LOST)
		return NULL; /* a later record type, or one the reader does not use: skipped */
	rav_trace_session *s = &rd->session;
	bool attached = s->pid != 0;
	if (r.type == RAVT_SESSION_ERROR || r.type == RAVT_SESSION_INFO)
		return NULL; /* (answers to a connection, not read from a trace) */
	if (r.type != RAVT_SESSION_ATTACHED && !attached)
		return "session record: a session record before the session's ATTACHED record";
	if (rd->session_ended)
		return "session record: a session record after the session's END record";
	switch (r.type) {
	case RAVT_SESSION_ATTACHED:
		if (attached)
			return "session record: a second ATTACHED record";
		if (rd->nchunks || rd->npieces)
			return "session record: an ATTACHED record after the session's events or snapshots "
			       "began";
		if (!in_range(r.v[0], 1, INT32_MAX) || !in_range(r.v[2], 0, INT32_MAX))
			return "session record: ATTACHED names a process id out of range";
		if (r.v[6] < 0 || !in_range(r.v[7] >> RAVT_SEQ_EPOCH_SHIFT, 0, (1 << 24) - 1))
			return "session record: ATTACHED gives a program start or a first sequence number "
			       "out of range";
		s->pid = (int)r.v[0];
		s->client_pid = (int)r.v[2];
		s->lossless = (r.v[3] & RAVT_MODE_LOSSLESS) != 0;
		s->program_start_ns = (uint64_t)r.v[6];
		rd->session_epoch = (uint64_t)r.v[7] >> RAVT_SEQ_EPOCH_SHIFT;
		if (r.v[7] > 0)
			floor_at(rd, (uint64_t)r.v[7]);
		break;
	case RAVT_SESSION_END: {
		if (!in_range(r.v[0], RAVT_END_DETACHED, RAVT_END_CLOSED))
			return "session record: END says how the session ended with an unknown value";
		if ((r.v[0] == RAVT_END_SIGNAL && !in_range(r.v[1], 1, 64)) ||
		    !in_range(r.v[1], INT32_MIN, INT32_MAX))
			return "session record: END gives an exit status or a signal out of range";
		if (r.v[2] < 0 || r.v[3] < 0)
			return "session record: END gives a negative count of events";
		rd->session_ended = true;
		s->end_known = true;
		s->end_how = (int)r.v[0];
		s->end_value = r.v[1];
		/* UTF-8 as the program wrote it, cut at a character; control
		 * bytes (a newline that fakes a line of `info`) as '?' */
		size_t tl = ravt_utf8_cut((const char *)payload + sizeof r, r.text_len, sizeof s->end_text - 1);
		for (size_t i = 0; i < tl; i++) {
			unsigned char c = payload[sizeof r + i];
			s->end_text[i] = c < 32 || c == 0x7f ? '?' : (char)c;
		}
		s->end_text[tl] = 0;
		if ((uint64_t)r.v[3] > s->lost)
			s->lost = (uint64_t)r.v[3];
		break;
	}
	case RAVT_SESSION_STATS:
		for (int i = 0; i < 14; i++)
			if (r.v[i] < 0)
				return "session record: STATS gives a negative count";
		if ((uint64_t)r.v[1] > s->lost)
			s->lost = (uint64_t)r.v[1];
		break;
	case RAVT_SESSION_SYNCED:
		if (!in_range(r.v[1], 0, UINT32_MAX) || !in_range(r.v[2], 0, UINT32_MAX) ||
		    r.v[1] + r.v[2] > UINT32_MAX)
			return "session record: SYNCED counts more heaps than there can be";
		/* the first report of the session (one per session) */
		if (!s->synced_known) {
			s->synced_known = true;
			s->synced_heaps = (uint32_t)r.v[1];
			s->pending_heaps = (uint32_t)r.v[2];
		}
		break;
	case RAVT_SESSION_LOST:
		if (r.v[0] < 0)
			return "session record: LOST gives a negative count of events";
		if (!in_range(r.v[3], 1, (1 << 24) - 1) || (uint64_t)r.v[3] <= rd->session_epoch)
			return "session record: LOST begins an epoch that is not after the session's last";
		rd->session_epoch = (uint64_t)r.v[3];
		s->losses++;
		s->last_lost_events = (uint64_t)r.v[0];
		/* below the next epoch's first number, nothing more comes */
		floor_at(rd, ((uint64_t)r.v[3] << RAVT_SEQ_EPOCH_SHIFT) + 1);
		break;
	default:
		break;
	}
	return NULL;
}

const ravt_piece *ravt_piece_find(const ravt_reader *rd, uint64_t id)
{
	long k = piece_index(rd, id);
	if (k < 0 || !rd->pieces[k]->chunk)
		return NULL;
	return &rd->pieces[k]->piece;
}

const ravt_piece *ravt_piece_claim(ravt_reader *rd, uint64_t id, uint64_t event)
{
	long k = piece_index(rd, id);
	if (k < 0 || !rd->pieces[k]->chunk)
		return NULL;
	if (!rd->pieces[k]->piece.named_by)
		rd->pieces[k]->piece.named_by = event + 1;
	return &rd->pieces[k]->piece;
}

const ravt_piece *ravt_reader_piece(ravt_reader *rd, uint64_t id)
{
	pthread_mutex_lock(&rd->lock);
	const ravt_piece *p = ravt_piece_find(rd, id);
	pthread_mutex_unlock(&rd->lock);
	return p;
}

bool ravt_reader_session(const ravt_reader *rd, rav_trace_session *out)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	*out = rd->session;
	pthread_mutex_unlock(&w->lock);
	if (out->pid == -1)
		out->pid = 0;
	return rd->session.pid != 0;
}

void ravt_pieces_free(ravt_reader *rd)
{
	for (size_t i = 0; i < rd->npieces; i++) {
		free(rd->pieces[i]->off);
		free(rd->pieces[i]->chunk);
		free(rd->pieces[i]);
	}
	free(rd->pieces);
	free(rd->pmap);
}
