/* make-seeds.c - writes the synthetic part of the fuzz seed corpus
 * (tests/trace/corpus/): small traces whose chunks are stored uncompressed,
 * so that the fuzzer's mutations land directly in segment tables and event
 * encodings (with the address cache of 1.5, and once more in the plain
 * encoding of 1.1), plus a compressed one, a truncated one and a
 * header-only one.
 * The rest of the corpus is tiny real recordings of the samples.
 *
 *	make-seeds DIR
 */
#include "trace-test.h"

static int save(const char *dir, const char *name, const uint8_t *p, size_t len)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len) {
		perror(path);
		return -1;
	}
	fclose(f);
	return 0;
}

static void add(ravt_writer *w, uint32_t th, rav_raw_event e)
{
	ravt_writer_add(w, th, &e, 1);
}

static void add_text(ravt_writer *w, uint32_t th, rav_raw_event e, const char *text)
{
	rav_raw_event r[4];
	memset(r, 0, sizeof r);
	r[0] = e;
	size_t len = strlen(text);
	memcpy(&r[1], text, len);
	ravt_writer_add(w, th, r, 1 + (len + 31) / 32);
}

static void workload(ravt_writer *w)
{
	uint64_t seq = 1, tsc = 2000;
	for (uint32_t th = 1; th <= 2; th++) {
		add(w, th, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
		add(w, th, tt_ev(RAV_EV_THREAD_START, 0, th, 100 + th, 0, seq++));
		add(w, th, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
		add(w, th, tt_ev(RAV_EV_HEAP_NEW, 0, th, th, 0, seq++));
		add_text(w, th, tt_ev(RAV_EV_THREAD_NAME, 4, th, 0, 0, 0), th == 1 ? "main" : "work");
		add_text(w, th, tt_ev(RAV_EV_TYPE_DEF, 16, 2, 4, 0, 0), "node");
		add(w, th, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
		add(w, th, tt_ev(RAV_EV_PAGE_ACQUIRE, 0, th, tt_addr(th, 0, 0), 0, seq++));
	}
	for (int i = 1; i < 40; i++) {
		uint32_t th = 1 + (uint32_t)(i % 2);
		if (i % 8 == 0)
			add(w, th, tt_ev(RAV_EV_TIME, 0, 0, tsc += 30, 0, 0));
		add(w, th, tt_ev(RAV_EV_ALLOC, 16, 0, tt_addr(th, (uint32_t)i / 2 + 1, 0), 0, 0));
		add(w, th, tt_ev(RAV_EV_LINK, 0, 0, tt_addr(th, (uint32_t)i / 2 + 1, 3), 0, tt_addr(th, 1, 2)));
		add(w, th, tt_ev(RAV_EV_DATA_STORE, 0, 0, tt_addr(th, (uint32_t)i / 2 + 1, 1), 0, (uint64_t)i));
		add(w, th, tt_ev(RAV_EV_ACCESS, 1, 0, 0x10000 + (uint64_t)i * 8, 8, 0));
		if (i % 5 == 0) {
			add(w, th, tt_ev(RAV_EV_FREE, 16, 0, tt_addr(th, 2, 0), 0, 0));
			add(w, th, tt_ev(RAV_EV_MOVE, 0, 0, tt_addr(th, (uint32_t)i / 2 + 1, 0), tt_addr(th, 2, 0), 0));
			add(w, th, tt_ev(RAV_EV_FIXUP, 0, 0, tt_addr(th, 1, 2), tt_addr(th, (uint32_t)i / 2 + 1, 0),
					 tt_addr(th, 2, 0)));
		}
	}
	add(w, 1, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
	add(w, 1, tt_ev(RAV_EV_MSG_SEND, 0, 3, 1, 1, seq++));
	add(w, 2, tt_ev(RAV_EV_TIME, 0, 0, tsc += 10, 0, seq));
	add(w, 2, tt_ev(RAV_EV_MSG_RECV, 0, 3, 1, 2, seq++));
	add_text(w, 2, tt_ev(RAV_EV_MARK, 0, 0, 9, 0, 0), "recv done");
	add(w, 2, tt_ev(RAV_EV_ALLOC, 16, 77, tt_addr(2, 9, 0), 0, 0)); /* escape form */
	add(w, 2, tt_ev(45, 3, 1, 2, 3, 4));                               /* generic shape */
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	const char *dir = argv[1];
	int rc = 0;
	for (int compressed = 0; compressed < 2; compressed++) {
		tt_mem m = { 0 };
		ravt_writer *w = tt_writer(&m, 200, !compressed);
		if (!w)
			return 1;
		workload(w);
		ravt_writer_finish(w, 0);
		ravt_writer_free(w);
		rc |= save(dir, compressed ? "synthetic-zstd.ravtrace" : "synthetic-raw.ravtrace", m.buf.p, m.buf.len);
		if (!compressed) {
			rc |= save(dir, "synthetic-truncated.ravtrace", m.buf.p, m.buf.len * 2 / 3);
			rc |= save(dir, "header-only.ravtrace", m.buf.p, m.bounds[0]);
		}
		tt_mem_free(&m);
	}
	/* the same in the plain address encoding of 1.1 (EVENTS chunks; the
	 * current writer's are EVENTS_AC, 1.5), uncompressed */
	tt_mem m = { 0 };
	ravt_writer_params p = tt_params("synthetic");
	p.chunk_bytes = 200;
	p.no_compress = true;
	p.version_major = 1;
	p.version_minor = 1;
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, tt_sink, &m, err, sizeof err);
	if (!w) {
		fprintf(stderr, "writer: %s\n", err);
		return 1;
	}
	workload(w);
	ravt_writer_finish(w, 0);
	ravt_writer_free(w);
	rc |= save(dir, "synthetic-raw-1.1.ravtrace", m.buf.p, m.buf.len);
	tt_mem_free(&m);
	return rc ? 1 : 0;
}
