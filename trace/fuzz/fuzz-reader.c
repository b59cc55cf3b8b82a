/* fuzz-reader.c - libFuzzer target for the trace reader alone (reader.h):
 * no replay, no tables, no GLib.
 *
 * Any byte string is read twice: from memory, merged in steps, and as a
 * stream fed through a socket in pieces whose sizes come from the input,
 * polled and merged after each piece (the live path).  Besides "no crash,
 * no leak, no hang" (the sanitizers and libFuzzer see to those), the
 * target checks what the reader promises and aborts when it breaks:
 * sinks get every event once, in index order without gaps; the merged
 * count matches what the sinks got; random access and a cursor give the
 * same events.  Built with RAVT_FUZZING (no checksum verification) so
 * mutations reach the decoders.  Seeds: trace/fuzz/corpus/. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct checker {
	ravt_sink sink;
	uint64_t next, events;
	uint64_t kinds;
	bool begun, final;
} checker;

static void ck_begin(ravt_sink *sink, uint64_t from)
{
	checker *c = (checker *)sink;
	if (c->begun || c->final || from != c->next)
		abort();
	c->begun = true;
}

static void ck_events(ravt_sink *sink, const rav_event *evs, size_t n)
{
	checker *c = (checker *)sink;
	if (!c->begun || n == 0)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (evs[i].index != c->next++)
			abort();
		c->kinds |= evs[i].kind < 64 ? 1ull << evs[i].kind : 0;
	}
	c->events += n;
}

static void ck_end(ravt_sink *sink, uint64_t upto, bool final)
{
	checker *c = (checker *)sink;
	if (!c->begun || upto != c->next)
		abort();
	c->begun = false;
	c->final = final;
}

static const ravt_sink_ops ck_ops = {.begin = ck_begin, .events = ck_events, .end = ck_end};

/* What the merged events look like through random access and a cursor. */
static void use(ravt_reader *rd, const checker *c, size_t size)
{
	uint64_t n = ravt_reader_merged(rd);
	if (n != c->next)
		abort();
	rav_event a, b;
	ravt_cursor cur;
	uint64_t from = n / 3;
	ravt_cursor_init(&cur, rd, from);
	for (uint64_t i = from; i < n && i < from + 5000; i++) {
		if (!ravt_cursor_next(&cur, &a))
			break; /* a chunk failed to decode past the merged prefix: allowed only with an error
			        */
		if (a.index != i || !ravt_reader_event_at(rd, i, &b) || b.kind != a.kind || b.a != a.a ||
		    b.b != a.b || b.c != a.c || b.x != a.x || b.thread != a.thread || b.time_ns != a.time_ns)
			abort();
	}
	ravt_cursor_fini(&cur);
	uint64_t x = size * 2654435761u;
	for (int i = 0; i < 8 && n; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		ravt_reader_event_at(rd, (x >> 11) % n, &a);
	}
	rav_event_filter f = {.kinds = 1ull << 13, .thread = -1, .cell = rav_loc_make(1, 1, 0)};
	if (n) {
		ravt_reader_scan(rd, n / 3, n, 1, &f, NULL);
		ravt_reader_scan(rd, n, 0, -1, &f, NULL);
	}
	rav_trace_info info;
	ravt_reader_get_info(rd, &info);
}

static void from_memory(const uint8_t *data, size_t size)
{
	rav_trace_error err;
	ravt_reader *rd = ravt_reader_open_memory(data, size, &err);
	if (!rd)
		return;
	checker c = {.sink.ops = &ck_ops};
	ravt_sink *sinks[] = {&c.sink};
	int rc;
	/* in steps, as rav_trace_index with a progress callback does */
	while ((rc = ravt_reader_merge(rd, sinks, 1, 1000, &err)) == 1)
		;
	if (!c.final || (rc == 0 && ravt_reader_merged(rd) != ravt_reader_framed_events(rd)))
		abort();
	use(rd, &c, size);
	ravt_reader_close(rd);
}

static void from_stream(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	/* the header goes first (at most 64 KiB): open waits for it */
	size_t first = size < 65536 ? size : 65536, off = 0;
	while (off < first) {
		ssize_t w = write(sv[1], data + off, first - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < first || size <= off)
		shutdown(sv[1], SHUT_WR); /* all of it is there: open must not wait for more */
	rav_trace_error err;
	ravt_reader *rd = ravt_reader_open_fd(sv[0], &err);
	checker c = {.sink.ops = &ck_ops};
	ravt_sink *sinks[] = {&c.sink};
	uint32_t step = size > 8 ? (uint32_t)data[size / 2] * 37u + 1u : 977u;
	while (rd) {
		if (off < size) {
			size_t want = size - off < step ? size - off : step;
			ssize_t w = write(sv[1], data + off, want);
			if (w > 0)
				off += (size_t)w;
			if (off >= size)
				shutdown(sv[1], SHUT_WR);
		}
		if (ravt_reader_poll(rd, &err) < 0)
			break;
		int rc = ravt_reader_merge(rd, sinks, 1, 0, &err);
		if (rc < 0 || (c.final && ravt_reader_stream_ended(rd)))
			break;
		if (ravt_reader_stream_ended(rd) && off >= size && rc == 0)
			break;
	}
	if (rd) {
		use(rd, &c, size);
		ravt_reader_close(rd);
	}
	close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	from_memory(data, size);
	from_stream(data, size);
	return 0;
}
