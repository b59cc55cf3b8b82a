/* codec-engine.c - the encoder and decoder are exact on real engine output.
 *
 * A test recorder (installed with rav_record_install) keeps a copy of every
 * raw record the engine produces while a single thread churns lists with
 * shared references (reference ravioli), frees (moves, fix-ups) and marks.
 * The copy goes through the writer into a trace in memory; reading it back
 * must give exactly the raw events, in program order, with every address
 * argument turned into the location the engine's pool geometry says.  When
 * a replay test fails on a real trace, this separates "the engine's events
 * are wrong" from "the format lost something".  Call sites are recorded
 * too (RAV_RAW_SITE records between the events): every event must come
 * back with the site that was current before it, and the sites must lie
 * in this program's workload. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rav-record.h"
#include "ravioli.h"
#include "trace-private.h"
#include "trace-test.h"

typedef struct rawlog {
	rav_raw_event *ev;
	size_t n, cap;
} rawlog;
static rawlog raw;

static rav_evbuf *buf_new(void)
{
	rav_evbuf *b = calloc(1, sizeof *b + 4096 * sizeof(rav_raw_event));
	if (b)
		b->cap = 4096;
	return b;
}

static void keep(rav_evbuf *b)
{
	if (!b)
		return;
	if (raw.n + b->count > raw.cap) {
		raw.cap = (raw.cap + b->count) * 2;
		raw.ev = realloc(raw.ev, raw.cap * sizeof *raw.ev);
		REQUIRE(raw.ev);
	}
	memcpy(raw.ev + raw.n, b->ev, b->count * sizeof *b->ev);
	raw.n += b->count;
}

static rav_evbuf *t_exchange(rav_evbuf *full, void *user)
{
	(void)user;
	keep(full);
	if (full) {
		full->count = 0;
		return full;
	}
	return buf_new();
}

static void t_release(rav_evbuf *last, void *user)
{
	(void)user;
	keep(last);
	free(last);
}

static rav_loc expect_loc(uint64_t addr, uint64_t base, uint64_t bytes)
{
	if (addr == 0)
		return 0;
	if (addr >= base && addr - base < bytes) {
		uint64_t off = addr - base;
		return rav_loc_make((uint32_t)(off / RAV_PAGE_SIZE), (uint32_t)(off % RAV_PAGE_SIZE / RAV_CELL_SIZE),
				    (uint32_t)(off % RAV_CELL_SIZE / sizeof(uintptr_t)));
	}
	return RAV_LOC_EXTERNAL | (addr & ~RAV_LOC_EXTERNAL);
}

static void workload(void)
{
	rav_type node = rav_type_register("codec_node", RAV_DATA, RAV_REF);
	rav_heap *h = rav_heap_self();
	rav_root a = rav_root_new(h), b = rav_root_new(h), tail = rav_root_new(h), lst = rav_root_new(h);
	uint64_t rng = 12345;
	for (int round = 0; round < 30; round++) {
		rav_ref cur;
		CHECK(rav_new_root(h, node, a, &cur) == RAV_OK);
		CHECK(rav_root_set(h, tail, cur) == RAV_OK);
		for (int i = 0; i < 200; i++) {
			/* Any store of a reference may free or move cells: borrows
			 * are re-read from a root after it. */
			cur = rav_root_get(h, tail);
			CHECK(rav_new_field(h, node, cur, 1, &cur) == RAV_OK);
			rav_store(h, cur, 0, (uintptr_t)i * 7919u);
			CHECK(rav_root_set(h, tail, cur) == RAV_OK);
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			if ((rng >> 61) == 0) /* a third referrer now and then */
				CHECK(rav_root_set(h, b, rav_root_get(h, tail)) == RAV_OK);
		}
		if (round % 5 == 0)
			rav_mark("round");
		/* A list pushed at a root and popped (rav_new_before, rav_move of
		 * the head's field into the root: RAV_RAW_NEW_BEFORE, RAV_RAW_POP) */
		for (int i = 0; i < 40; i++)
			CHECK(rav_new_before(h, node, rav_root_slot(lst), 1, NULL) == RAV_OK);
		for (int i = 0; i < 30; i++)
			CHECK(rav_move(h, rav_root_slot(lst), rav_field_slot(rav_root_get(h, lst), 1)) == RAV_OK);
		/* Drop it all: cascading frees, compaction moves and fix-ups. */
		rav_root_clear(h, tail);
		rav_root_clear(h, round % 2 ? a : b);
		rav_root_clear(h, round % 2 ? b : a);
	}
}

/* The expansions of the compound records that stand for a free with its
 * one-move compaction, a run of trims, a reference raviolo's drop, a
 * list's pop and push (rav-record.h), event by event: what the engine
 * recorded one by one before them. */
static void expand_shapes(void)
{
	const uint64_t t = 0x10000, d = 0x8000, s0 = 0x20008, s1 = 0x30010, x = 7;
	rav_raw_event r[2] = { { 0 } }, out[RAV_RAW_EXPAND_MAX];
	/* FREE(d, type 16), COMPACT_BEGIN, MOVE(t, d), FIXUP x2, COMPACT_END */
	uint32_t aux = 2 | 0u << 2 | 1u << 4 | RAV_RAW_MOVE_FREE | RAV_RAW_MOVE_BEGIN | RAV_RAW_MOVE_END |
		       16u << RAV_RAW_MOVE_TYPE_SHIFT;
	r[0] = (rav_raw_event){ RAV_RAW_MOVE | aux << 8, (uint32_t)x, t, d, s0 };
	r[1] = (rav_raw_event){ (uint32_t)s1, (uint32_t)(s1 >> 32), 0, 0, 0 };
	CHECK_EQ(rav_raw_compound_records(r), 2);
	CHECK_EQ(rav_raw_expand(r, out), 6);
	const rav_raw_event want[6] = {
		{ RAV_EV_FREE | 16u << 8, 0, d, 0, 0 },
		{ RAV_EV_COMPACT_BEGIN | (uint32_t)RAV_COMPACT_FREE << 8, (uint32_t)x, 0, 0, 0 },
		{ RAV_EV_MOVE, 0, t, d, 0 },
		{ RAV_EV_FIXUP, 0, s0, t, d },
		{ RAV_EV_FIXUP, 0, s1, t + 8, d + 8 },
		{ RAV_EV_COMPACT_END, (uint32_t)x, 1, 0, 0 },
	};
	for (unsigned i = 0; i < 6; i++)
		CHECK(memcmp(&out[i], &want[i], sizeof want[i]) == 0);
	/* BEGIN alone (the END is recorded after the page's release) */
	r[0].kind = RAV_RAW_MOVE | (0u | RAV_RAW_MOVE_BEGIN) << 8;
	CHECK_EQ(rav_raw_compound_records(r), 1);
	CHECK_EQ(rav_raw_expand(r, out), 2);
	CHECK_EQ(RAV_EV_KIND(&out[0]), RAV_EV_COMPACT_BEGIN);
	CHECK_EQ(out[0].x, x);
	CHECK_EQ(RAV_EV_KIND(&out[1]), RAV_EV_MOVE);
	/* a type without RAV_RAW_MOVE_FREE, an unknown bit: malformed */
	r[0].kind = RAV_RAW_MOVE | (16u << RAV_RAW_MOVE_TYPE_SHIFT) << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0].kind = RAV_RAW_MOVE | (1u << 11) << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	/* a reference raviolo at t dropped from s0, its other referrer s1, its target d */
	r[0] = (rav_raw_event){ RAV_RAW_REFRAV_DROP | (uint32_t)RAV_EV_REF_CLEAR << 8, 0, t, s0, s1 };
	r[1] = (rav_raw_event){ (uint32_t)d, (uint32_t)(d >> 32), 0, 0, 0 };
	CHECK_EQ(rav_raw_compound_records(r), 2);
	CHECK_EQ(rav_raw_expand(r, out), 5);
	const rav_raw_event want_drop[5] = {
		{ RAV_EV_REFRAV_REMOVE, 0, t, 0, 0 },
		{ RAV_EV_REF_CLEAR, 0, s0, t, 0 },
		{ RAV_EV_LINK, 0, s1, t, d },
		{ RAV_EV_LINK, 0, d + 8 * RAV_W_BACK, t + 8 * RAV_W_FWD, s1 },
		{ RAV_EV_FREE | (uint32_t)RAV_TYPE_REF << 8, 0, t, 0, 0 },
	};
	for (unsigned i = 0; i < 5; i++)
		CHECK(memcmp(&out[i], &want_drop[i], sizeof want_drop[i]) == 0);
	/* TRIM x5 from the cell at t down */
	r[0] = (rav_raw_event){ RAV_RAW_TRIM_RUN | 5u << 8, 0, t, 0x55, 0x66 };
	CHECK_EQ(rav_raw_compound_records(r), 1);
	CHECK_EQ(rav_raw_expand(r, out), 5);
	for (unsigned i = 0; i < 5; i++) {
		const rav_raw_event w = { RAV_EV_TRIM, 0, t - i * RAV_CELL_SIZE, 0, 0 };
		CHECK(memcmp(&out[i], &w, sizeof w) == 0);
	}
	r[0].kind = RAV_RAW_TRIM_RUN | 1u << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0].kind = RAV_RAW_TRIM_RUN | (RAV_RAW_EXPAND_MAX + 1u) << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0].kind = RAV_RAW_TRIM_RUN | (uint32_t)RAV_RAW_EXPAND_MAX << 8;
	CHECK_EQ(rav_raw_expand(r, out), RAV_RAW_EXPAND_MAX);
	CHECK_EQ(out[RAV_RAW_EXPAND_MAX - 1].a, t - (RAV_RAW_EXPAND_MAX - 1) * RAV_CELL_SIZE);
	/* a pop: slot s0 held t, t's field 2 held d, whose back-link is its word 3 */
	r[0] = (rav_raw_event){ RAV_RAW_POP | (2u | 3u << 2) << 8, 0, s0, t, d };
	CHECK_EQ(rav_raw_compound_records(r), 1);
	CHECK_EQ(rav_raw_expand(r, out), 4);
	const rav_raw_event want_pop[4] = {
		{ RAV_EV_REF_STORE, 0, s0, t, d },
		{ RAV_EV_LINK, 0, d + 8 * RAV_W_BACK, t + 16, s0 },
		{ RAV_EV_LINK, 0, t + 16, d, 0 },
		{ RAV_EV_LINK, 0, t + 8 * RAV_W_BACK, s0, 0 },
	};
	for (unsigned i = 0; i < 4; i++)
		CHECK(memcmp(&out[i], &want_pop[i], sizeof want_pop[i]) == 0);
	/* malformed: no field, field 3, no back-link word, an unknown bit */
	r[0].kind = RAV_RAW_POP | (0u | 3u << 2) << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0].kind = RAV_RAW_POP | (3u | 3u << 2) << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0].kind = RAV_RAW_POP | 1u << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0].kind = RAV_RAW_POP | (1u | 3u << 2 | 1u << 4) << 8;
	CHECK_EQ(rav_raw_expand(r, out), 0);
	/* a push: new cell t of type 17 before slot s0, which held d (its
	 * back-link: word 3); t's field 1 (word 2) takes d */
	r[0] = (rav_raw_event){ RAV_RAW_NEW_BEFORE |
					(17u | 1u << RAV_RAW_NEW_BEFORE_FIELD_SHIFT | 3u << RAV_RAW_NEW_BEFORE_KB_SHIFT)
						<< 8,
				0, t, s0, d };
	CHECK_EQ(rav_raw_compound_records(r), 1);
	CHECK_EQ(rav_raw_expand(r, out), 6);
	const rav_raw_event want_push[6] = {
		{ RAV_EV_ALLOC | 17u << 8, 0, t, 0, 0 },
		{ RAV_EV_REF_STORE, 0, t + 16, 0, d },
		{ RAV_EV_LINK, 0, d + 8 * RAV_W_BACK, s0, t + 16 },
		{ RAV_EV_LINK, 0, s0, d, 0 },
		{ RAV_EV_REF_STORE, 0, s0, 0, t },
		{ RAV_EV_LINK, 0, t + 8 * RAV_W_BACK, 0, s0 },
	};
	for (unsigned i = 0; i < 6; i++)
		CHECK(memcmp(&out[i], &want_push[i], sizeof want_push[i]) == 0);
	/* into an empty slot (field 0): ALLOC, the store, the back-link */
	r[0] = (rav_raw_event){ RAV_RAW_NEW_BEFORE | 17u << 8, 0, t, s0, 0 };
	CHECK_EQ(rav_raw_expand(r, out), 3);
	CHECK(memcmp(&out[0], &want_push[0], sizeof want_push[0]) == 0);
	CHECK(memcmp(&out[1], &want_push[4], sizeof want_push[4]) == 0);
	CHECK(memcmp(&out[2], &want_push[5], sizeof want_push[5]) == 0);
	/* malformed: a held cell without its back-link word, a back-link word
	 * without a held cell, an unknown bit */
	r[0] = (rav_raw_event){ RAV_RAW_NEW_BEFORE | 17u << 8, 0, t, s0, d };
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0] = (rav_raw_event){ RAV_RAW_NEW_BEFORE | (17u | 3u << RAV_RAW_NEW_BEFORE_KB_SHIFT) << 8, 0, t, s0, 0 };
	CHECK_EQ(rav_raw_expand(r, out), 0);
	r[0] = (rav_raw_event){ RAV_RAW_NEW_BEFORE | (17u | 4u << RAV_RAW_NEW_BEFORE_KB_SHIFT) << 8, 0, t, s0, d };
	CHECK_EQ(rav_raw_expand(r, out), 0);
}

int main(void)
{
	expand_shapes();
	static rav_recorder rec = { .exchange = t_exchange, .release = t_release, .record_access = true, .site_depth = 1 };
	REQUIRE(rav_record_install(&rec));
	workload();
	rav_record_flush();
	rav_record_install(NULL);
	REQUIRE(raw.n > 1000);

	static ravt_selfmaps self_maps;
	rav_pool_stats ps;
	rav_pool_stats_get(&ps);
	uint64_t base = (uint64_t)(uintptr_t)rav_pool_base(), bytes = ps.reserved_pages * (uint64_t)RAV_PAGE_SIZE;
	tt_mem m = { 0 };
	ravt_writer_params p = {
		.word_size = sizeof(uintptr_t),
		.cell_size = RAV_CELL_SIZE,
		.page_size = RAV_PAGE_SIZE,
		.pool_base = base,
		.pool_bytes = bytes,
		.tsc_hz = 1000000000ull,
		.sites_hook = ravt_selfmaps_hook,
		.sites_user = &self_maps,
	};
	char err[128];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, &m, err, sizeof err);
	REQUIRE(w);
	/* One thread: hand the records over as the recorder would, tagged as
	 * the engine tags a thread's first buffer (0, before its heap). */
	CHECK(ravt_writer_add(w, 0, raw.ev, raw.n) == 0);
	CHECK(ravt_writer_finish(w, 0) == 0);
	ravt_writer_free(w);

	rav_trace_error e;
	rav_trace *t = rav_trace_open_memory(m.buf.p, m.buf.len, &e);
	REQUIRE(t);
	CHECK(rav_trace_index(t, NULL, NULL, &e) == 0);
	ravt_cursor cur;
	ravt_cursor_init(&cur, ravt_trace_reader(t), 0);
	/* The engine writes the events of one operation as one compound record
	 * where it can (rav-record.h); the trace holds them expanded. */
	size_t compounds = 0, trim_runs = 0, one_move_compactions = 0, refrav_drops = 0, pops = 0, pushes = 0;
	{
		rawlog x = { NULL, 0, 0 };
		x.cap = raw.n * 3 + RAV_RAW_EXPAND_MAX;
		x.ev = malloc(x.cap * sizeof *x.ev);
		REQUIRE(x.ev);
		for (size_t k = 0; k < raw.n;) {
			const rav_raw_event *r = &raw.ev[k];
			unsigned recs = rav_raw_compound_records(r);
			if (!recs) {
				/* a record and what belongs to it (frames, text) */
				unsigned kind = RAV_EV_KIND(r), shape = ravt_shape_of(kind);
				uint64_t tl = kind == RAV_RAW_SITE                 ? 0
					      : shape == RAVT_SHAPE_XTEXT          ? RAV_EV_AUX(r)
					      : (shape == RAVT_SHAPE_TEXT || shape == RAVT_SHAPE_TYPEDEF) ? r->a
													 : 0;
				size_t take = kind == RAV_RAW_SITE ? RAV_SITE_RECORDS(RAV_EV_AUX(r)) : 1 + (tl + 31) / 32;
				REQUIRE(k + take <= raw.n);
				while (x.n + take > x.cap) {
					x.cap *= 2;
					x.ev = realloc(x.ev, x.cap * sizeof *x.ev);
					REQUIRE(x.ev);
				}
				memcpy(x.ev + x.n, r, take * sizeof *r);
				x.n += take;
				k += take;
				continue;
			}
			REQUIRE(k + recs <= raw.n);
			if (x.n + RAV_RAW_EXPAND_MAX > x.cap) {
				x.cap *= 2;
				x.ev = realloc(x.ev, x.cap * sizeof *x.ev);
				REQUIRE(x.ev);
			}
			unsigned nx = rav_raw_expand(&raw.ev[k], x.ev + x.n);
			REQUIRE(nx > 0);
			x.n += nx;
			if (RAV_EV_KIND(r) == RAV_RAW_TRIM_RUN)
				trim_runs++;
			else if (RAV_EV_KIND(r) == RAV_RAW_MOVE && (RAV_EV_AUX(r) & RAV_RAW_MOVE_BEGIN))
				one_move_compactions++;
			else if (RAV_EV_KIND(r) == RAV_RAW_REFRAV_DROP)
				refrav_drops++;
			else if (RAV_EV_KIND(r) == RAV_RAW_POP)
				pops++;
			else if (RAV_EV_KIND(r) == RAV_RAW_NEW_BEFORE)
				pushes++;
			k += recs;
			compounds++;
		}
		free(raw.ev);
		raw = x;
	}
	CHECK(compounds > 100);
	/* the frees of the workload: compactions of one move and runs of trims recorded whole */
	fprintf(stderr,
		"%zu compound records: %zu one-move compactions, %zu trim runs, %zu reference ravioli dropped, "
		"%zu pops, %zu pushes\n",
		compounds, one_move_compactions, trim_runs, refrav_drops, pops, pushes);
	CHECK(one_move_compactions > 10 && trim_runs > 0 && refrav_drops > 10 && pops > 100 && pushes > 100);
	rav_event ev;
	size_t i = 0, events = 0, bad = 0, bad_sites = 0, site_records = 0, with_site = 0;
	uint64_t cur_site = 0;
	while (i < raw.n) {
		const rav_raw_event *r = &raw.ev[i];
		unsigned kind = RAV_EV_KIND(r);
		if (kind == RAV_RAW_SITE) {
			cur_site = RAV_EV_AUX(r) ? r->a : 0;
			site_records++;
			i += RAV_SITE_RECORDS(RAV_EV_AUX(r));
			continue;
		}
		unsigned shape = ravt_shape_of(kind);
		uint64_t tl = shape == RAVT_SHAPE_XTEXT ? RAV_EV_AUX(r)
			      : (shape == RAVT_SHAPE_TEXT || shape == RAVT_SHAPE_TYPEDEF) ? r->a
											: 0;
		if (!ravt_cursor_next(&cur, &ev)) {
			fprintf(stderr, "trace ends after %zu events, raw record %zu of %zu\n", events, i, raw.n);
			tt_failures++;
			break;
		}
		unsigned amask = ravt_shape_addr_mask(shape);
		uint64_t wa = amask & 1 ? expect_loc(r->a, base, bytes) : r->a;
		uint64_t wb = amask & 2 ? expect_loc(r->b, base, bytes) : r->b;
		uint64_t wc = amask & 4 ? expect_loc(r->c, base, bytes) : r->c;
		bool ok = ev.kind == kind && ev.aux == RAV_EV_AUX(r) && ev.x == r->x && ev.a == wa && ev.b == wb &&
			  ev.c == wc;
		if (tl)
			ok = ok && ev.text && strncmp(ev.text, (const char *)(r + 1), tl) == 0;
		if (!ok && bad++ < 5) {
			fprintf(stderr,
				"event %zu (%s): got aux %u x %u a %llx b %llx c %llx, raw aux %u x %u a %llx b %llx c %llx\n",
				events, rav_event_kind_name(kind), ev.aux, ev.x, (unsigned long long)ev.a,
				(unsigned long long)ev.b, (unsigned long long)ev.c, RAV_EV_AUX(r), r->x,
				(unsigned long long)wa, (unsigned long long)wb, (unsigned long long)wc);
		}
		rav_trace_frame fr;
		uint64_t got = rav_trace_site_frames(t, ev.site, &fr, 1) ? fr.address : 0;
		if (got != cur_site && bad_sites++ < 5)
			fprintf(stderr, "event %zu (%s): site at 0x%llx, expected 0x%llx\n", events,
				rav_event_kind_name(kind), (unsigned long long)got, (unsigned long long)cur_site);
		with_site += got != 0;
		events++;
		i += 1 + (tl + 31) / 32;
	}
	CHECK_EQ(bad_sites, 0);
	CHECK(site_records > 10 && with_site > events / 2);
	/* the call sites are this program's calls in workload() */
	unsigned in_workload = 0, sites = rav_trace_site_count(t);
	for (uint32_t s = 1; s <= sites; s++) {
		rav_trace_symbol sy;
		if (rav_trace_site_call(t, s, &sy) && sy.function && strcmp(sy.function, "workload") == 0 &&
		    sy.file && strstr(sy.file, "codec-engine.c"))
			in_workload++;
		else if (rav_trace_site_call(t, s, &sy))
			fprintf(stderr, "site %u: %s (%s:%u)\n", s, sy.function ? sy.function : "?",
				sy.file ? sy.file : "?", sy.line);
	}
	CHECK(sites > 3 && in_workload == sites);
	CHECK(!ravt_cursor_next(&cur, &ev));
	ravt_cursor_fini(&cur);
	CHECK_EQ(bad, 0);
	fprintf(stderr, "%zu engine events compared, %zu bytes (%.2f per event)\n", events, m.buf.len,
		(double)m.buf.len / (double)events);
	rav_trace_close(t);
	tt_mem_free(&m);
	free(raw.ev);
	if (tt_failures) {
		fprintf(stderr, "%d check(s) failed\n", tt_failures);
		return 1;
	}
	return 0;
}
