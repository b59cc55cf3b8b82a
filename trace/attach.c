/* attach.c - the client side of live attach (ravtrace.h, "Live attach"):
 * find programs, attach, follow the stream.
 *
 * A program's stream is a trace like any file: this side checks its header
 * and every chunk frame and checksum as it arrives (as the reader does), so
 * a damaged stream is reported, not written on silently; SESSION records
 * are decoded to say what happened (statistics, losses, the end).  The
 * bytes themselves go on unchanged to wherever the caller wants them (a
 * .ravtrace file, a pipe into rav_trace_open_fd).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "live.h"
#include "ravtrace.h"

/* The fuzz targets' copy (trace/fuzz, RAVT_FUZZING) accepts wrong
 * checksums, as the reader's does, so that mutated streams reach the
 * records behind them. */
#ifdef RAVT_FUZZING
#define ATTACH_VERIFY_CRC 0
#else
#define ATTACH_VERIFY_CRC 1
#endif

struct rav_live_session {
	int fd;
	int pid;
	uint8_t *buf;
	size_t len, cap;
	bool have_header;
	ravt_header hdr;
	char cmdline[256];
	bool got_first;    /* ATTACHED or ERROR seen */
	bool refused;      /* an ERROR came before ATTACHED */
	uint64_t lost_in_episodes; /* the LOST records' counts added up: the status's
	                            * total never says less than its own episodes */
	ravt_session last; /* the last record (for list) */
	char last_text[512];
	/* Events per thread in the EVENTS chunks so far (open addressing by
	 * heap id; a STOPPED record names its thread's count: the stop's
	 * event).  Grows with the threads the stream names. */
	struct thread_count {
		uint32_t id;
		bool used;
		uint64_t events;
	} *counts;
	size_t ncounts, cap_counts;
};

/* The entry of thread id (created if new); NULL when out of memory. */
static struct thread_count *thread_count(rav_live_session *s, uint32_t id)
{
	if (s->cap_counts) {
		size_t mask = s->cap_counts - 1;
		for (size_t i = ravt_hash32(id) & mask; s->counts[i].used; i = (i + 1) & mask)
			if (s->counts[i].id == id)
				return &s->counts[i];
	}
	if ((s->ncounts + 1) * 2 > s->cap_counts) {
		size_t cap = s->cap_counts ? s->cap_counts * 2 : 16;
		struct thread_count *c = calloc(cap, sizeof *c);
		if (!c)
			return NULL;
		for (size_t k = 0; k < s->cap_counts; k++)
			if (s->counts[k].used) {
				size_t i = ravt_hash32(s->counts[k].id) & (cap - 1);
				while (c[i].used)
					i = (i + 1) & (cap - 1);
				c[i] = s->counts[k];
			}
		free(s->counts);
		s->counts = c;
		s->cap_counts = cap;
	}
	size_t mask = s->cap_counts - 1, i = ravt_hash32(id) & mask;
	while (s->counts[i].used)
		i = (i + 1) & mask;
	s->counts[i] = (struct thread_count){.id = id, .used = true};
	s->ncounts++;
	return &s->counts[i];
}

/* How long the client waits for a program: its first answer to ATTACH
 * (5 s) and to `list` (2 s).  RAV_TEST_ATTACH_WAIT_MS replaces both, for
 * tests that pose as programs which never answer (tests/trace/
 * hostile-live.py) and would otherwise wait out the full time; nothing
 * else sets it, so users get the defaults. */
static int wait_ms_or(int default_ms)
{
	const char *env = getenv("RAV_TEST_ATTACH_WAIT_MS");
	if (!env || !*env)
		return default_ms;
	char *end;
	long v = strtol(env, &end, 10);
	return *end == 0 && v > 0 && v <= 600000 ? (int)v : default_ms;
}

static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(rav_trace_error *err, rav_trace_errcode code, const char *fmt, ...)
{
	if (!err)
		return;
	err->code = code;
	err->offset = 0;
	err->chunk = -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof err->message) /* a program's text did not fit */
		ravt_text_end_at_char(err->message);
}

static double tsc_seconds(const rav_live_session *s, uint64_t tsc)
{
	if (tsc <= s->hdr.tsc_start)
		return 0;
	double hz = s->hdr.tsc_hz ? (double)s->hdr.tsc_hz : 1e9;
	return (double)(tsc - s->hdr.tsc_start) / hz;
}

/* Texts from the program (its command line, its messages) end up on a
 * terminal and in GTK labels, and the program at the other end of the
 * socket need not be ours: keep well-formed UTF-8 only, with control
 * characters and bytes that are not UTF-8 as '?', so that no text can move
 * the cursor, retitle the terminal or fake a line; cut at a character. */
static void clean_text(char *dst, size_t cap, const uint8_t *src, size_t n, char nul_as)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap;) {
		uint8_t c = src[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		bool ok = len > 0 && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = (src[i + k] & 0xc0) == 0x80;
		if (ok && len == 3) /* no overlong forms, no surrogates */
			ok = !(c == 0xe0 && src[i + 1] < 0xa0) && !(c == 0xed && src[i + 1] >= 0xa0);
		if (ok && len == 4)
			ok = !(c == 0xf0 && src[i + 1] < 0x90) && !(c == 0xf4 && src[i + 1] >= 0x90);
		if (ok && len > 1 && (c == 0xc2 && src[i + 1] < 0xa0)) /* C1 controls */
			ok = false;
		if (!ok || (len == 1 && (c < 32 || c == 127))) {
			dst[o++] = c == 0 && nul_as ? nul_as : '?';
			i += ok ? len : 1;
			continue;
		}
		if (o + len >= cap)
			break;
		memcpy(dst + o, src + i, len);
		o += len;
		i += len;
	}
	dst[o] = 0;
}

/* A cleaned text into a shorter field, cut at a character (the fields of
 * rav_live_status are shorter than the text kept: "%.255s" cut a
 * two-byte character in half, which is no UTF-8; fuzz-attach). */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	if (src[n]) /* cut: not inside a character */
		while (n && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* A counter the program reports: negative is no count. */
static uint64_t count_of(int64_t v)
{
	return v > 0 ? (uint64_t)v : 0;
}

static void on_record(rav_live_session *s, const ravt_session *r, const char *text, size_t tlen,
                      rav_live_status *st)
{
	s->last = *r;
	clean_text(s->last_text, sizeof s->last_text, (const uint8_t *)text, tlen, 0);
	if (!s->got_first && r->type == RAVT_SESSION_ERROR)
		s->refused = true;
	s->got_first = true;
	switch (r->type) {
	case RAVT_SESSION_ERROR:
		if (st)
			snprintf(st->message, sizeof st->message, "%s", s->last_text);
		break;
	case RAVT_SESSION_STATS:
		if (st) {
			st->have_stats = true;
			st->stats_records++;
			memcpy(st->stats, r->v, sizeof st->stats);
			for (size_t i = 0; i < sizeof st->stats / sizeof st->stats[0]; i++)
				if (st->stats[i] < 0) /* counters and gauges: never negative */
					st->stats[i] = 0;
			if (count_of(r->v[1]) > st->lost)
				st->lost = count_of(r->v[1]);
		}
		break;
	case RAVT_SESSION_END:
		if (st) {
			st->end_known = true;
			st->end_how = (int)r->v[0];
			st->end_value = r->v[1];
			copy_text(st->end_text, sizeof st->end_text, s->last_text);
			if (count_of(r->v[3]) > st->lost)
				st->lost = count_of(r->v[3]);
		}
		break;
	case RAVT_SESSION_LOST:
		if (st) {
			if (st->nlosses < sizeof st->losses / sizeof st->losses[0])
				st->losses[st->nlosses] =
				    (rav_live_lost){count_of(r->v[0]), tsc_seconds(s, (uint64_t)r->v[1]),
				                    tsc_seconds(s, (uint64_t)r->v[2])};
			st->nlosses++;
			/* the statistics' total comes later (once a second): until
			 * then the bar would say "0 dropped (resynchronised 1x)" */
			s->lost_in_episodes += (uint64_t)r->v[0];
			if (s->lost_in_episodes > st->lost)
				st->lost = s->lost_in_episodes;
		}
		break;
	case RAVT_SESSION_STOPPED:
		if (st) {
			struct rav_live_stop *x = &st->last_stop;
			x->heap_id = (uint32_t)r->v[0];
			x->why = (int)r->v[1];
			x->break_id = (uint32_t)r->v[2];
			x->hits = (uint64_t)r->v[3];
			x->kind = (uint32_t)r->v[4];
			x->a = r->v[5];
			x->b = r->v[6];
			x->c = r->v[7];
			x->cell_page = r->v[8];
			x->cell_index = r->v[9];
			struct thread_count *c = thread_count(s, x->heap_id);
			x->thread_events = c ? c->events : 0;
			copy_text(x->text, sizeof x->text, s->last_text);
			st->held = r->v[10] > 0 ? (uint32_t)r->v[10] : 0;
			st->stops++;
		}
		break;
	case RAVT_SESSION_RESUMED:
		if (st) {
			st->held = r->v[1] > 0 ? (uint32_t)r->v[1] : 0;
			st->resumes++;
		}
		break;
	case RAVT_SESSION_BREAK:
		if (st) {
			uint32_t id = (uint32_t)r->v[0];
			struct rav_live_break_state *b = (struct rav_live_break_state *)rav_live_break_state(st, id);
			if (!b && st->nbreaks < sizeof st->breaks / sizeof st->breaks[0])
				b = &st->breaks[st->nbreaks++];
			if (b) {
				b->id = id;
				b->state = (int)r->v[1];
				b->page = r->v[2];
				b->cell = r->v[3];
				copy_text(b->text, sizeof b->text, s->last_text);
			}
		}
		break;
	case RAVT_SESSION_SYNCED:
		if (st && !st->synced && !st->pending) {
			st->synced = (uint32_t)r->v[1];
			st->pending = (uint32_t)r->v[2];
		}
		break;
	default:
		break;
	}
}

/* Take whole units (the header, then chunks) from the buffer. */
static int parse(rav_live_session *s, rav_live_status *st, rav_trace_error *err)
{
	size_t at = 0;
	int rc = 0;
	if (!s->have_header) {
		if (s->len < sizeof(ravt_header))
			return 0;
		memcpy(&s->hdr, s->buf, sizeof s->hdr);
		if (memcmp(s->hdr.magic, RAVT_MAGIC, 8) != 0) {
			set_err(err, RAV_TRACE_EMAGIC, "the program did not answer with a trace stream");
			return -1;
		}
		if (s->hdr.version_major != RAVT_VERSION_MAJOR || s->hdr.header_size < sizeof(ravt_header) ||
		    s->hdr.header_size > RAVT_HEADER_MAX || s->hdr.header_size % 8 ||
		    s->hdr.cmdline_len > s->hdr.header_size - sizeof(ravt_header)) {
			set_err(err, RAV_TRACE_EVERSION,
			        "the program's stream has format %u.%u (or a damaged header); this tool "
			        "reads %u.x",
			        s->hdr.version_major, s->hdr.version_minor, RAVT_VERSION_MAJOR);
			return -1;
		}
		if (s->len < s->hdr.header_size)
			return 0;
		uint32_t crc = ravt_header_crc(s->buf, s->hdr.header_size);
		if (ATTACH_VERIFY_CRC && crc != s->hdr.header_crc) {
			set_err(err, RAV_TRACE_EHEADER, "the program's stream header has a bad checksum");
			return -1;
		}
		clean_text(s->cmdline, sizeof s->cmdline, s->buf + sizeof(ravt_header), s->hdr.cmdline_len, ' ');
		s->have_header = true;
		at = s->hdr.header_size;
		if (st)
			st->bytes = at;
	}
	while (s->len - at >= sizeof(ravt_frame)) {
		ravt_frame f;
		memcpy(&f, s->buf + at, sizeof f);
		if (f.sync != RAVT_CHUNK_SYNC || (ATTACH_VERIFY_CRC && ravt_frame_crc(&f) != f.frame_crc) ||
		    f.stored_len > RAVT_PAYLOAD_MAX || f.raw_len > RAVT_PAYLOAD_MAX) {
			set_err(err, RAV_TRACE_ECHUNK, "the stream is damaged: no valid chunk at byte %llu",
			        (unsigned long long)(st ? st->bytes : 0));
			rc = -1;
			break;
		}
		size_t padded = ((size_t)f.stored_len + 7) & ~(size_t)7;
		if (s->len - at - sizeof f < padded)
			break;
		const uint8_t *payload = s->buf + at + sizeof f;
		if (ATTACH_VERIFY_CRC && ravt_crc32c(0, payload, f.stored_len) != f.payload_crc) {
			set_err(err, RAV_TRACE_ECHUNK, "the stream is damaged: chunk checksum mismatch");
			rc = -1;
			break;
		}
		if (st)
			st->chunks++;
		if (ravt_chunk_is_events(f.kind)) {
			if (st)
				st->events += f.count;
			/* the thread's count as the reader numbers its events: a
			 * chunk's first + count (chunks come in its order) */
			struct thread_count *c = thread_count(s, f.thread);
			if (c && f.first + f.count > c->events)
				c->events = f.first + f.count;
		}
		else if (f.kind == RAVT_CHUNK_SNAPSHOT && st && f.stored_len >= sizeof(ravt_snap_head)) {
			ravt_snap_head h;
			memcpy(&h, payload, sizeof h);
			if (h.part == 0)
				st->snapshots++;
		} else if (f.kind == RAVT_CHUNK_SESSION && f.stored_len >= sizeof(ravt_session)) {
			ravt_session r;
			memcpy(&r, payload, sizeof r);
			if (r.text_len <= f.stored_len - sizeof r)
				on_record(s, &r, (const char *)payload + sizeof r, r.text_len, st);
		}
		at += sizeof f + padded;
		if (st)
			st->bytes += sizeof f + padded;
	}
	memmove(s->buf, s->buf + at, s->len - at);
	s->len -= at;
	return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int64_t rav_live_pump(rav_live_session *s, int timeout_ms, int out_fd, rav_live_status *st,
                      rav_trace_error *err)
{
	if (st->ended)
		return 0;
	struct pollfd pf = {s->fd, POLLIN, 0};
	int r = poll(&pf, 1, timeout_ms);
	if (r < 0 && errno != EINTR) {
		set_err(err, RAV_TRACE_EIO, "waiting for the program: %s", strerror(errno));
		return -1;
	}
	if (r <= 0)
		return 0;
	if (s->cap - s->len < 65536) {
		size_t cap = s->cap ? s->cap * 2 : 1 << 20;
		uint8_t *b = realloc(s->buf, cap);
		if (!b) {
			set_err(err, RAV_TRACE_ENOMEM, "out of memory");
			return -1;
		}
		s->buf = b;
		s->cap = cap;
	}
	ssize_t n = recv(s->fd, s->buf + s->len, s->cap - s->len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		st->ended = true; /* ECONNRESET counts as the program closing */
		return 0;
	}
	if (out_fd >= 0 && write_all(out_fd, s->buf + s->len, (size_t)n) != 0) {
		set_err(err, RAV_TRACE_EIO, "cannot write the trace: %s", strerror(errno));
		return -1;
	}
	s->len += (size_t)n;
	if (parse(s, st, err) != 0)
		return -1;
	return n;
}

int rav_live_fd(const rav_live_session *s)
{
	return s->fd;
}

int rav_live_pid(const rav_live_session *s)
{
	return s->pid;
}

static int send_ctl(int fd, uint16_t type, const void *payload, uint32_t len)
{
	uint8_t buf[sizeof(ravt_ctl) + RAVT_CTL_MAX];
	size_t n = ravt_ctl_encode(buf, type, payload, len);
	return send(fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

int rav_live_detach(rav_live_session *s)
{
	return send_ctl(s->fd, RAVT_CTL_DETACH, NULL, 0);
}

int rav_live_request_stats(rav_live_session *s)
{
	return send_ctl(s->fd, RAVT_CTL_STATS, NULL, 0);
}

_Static_assert((int)RAV_LIVE_BREAK_CELL == (int)RAVT_BREAK_CELL && (int)RAV_LIVE_BREAK_ANY == (int)RAVT_BREAK_ANY,
	       "breakpoint kinds match live.h");
_Static_assert(RAV_LIVE_ON_MOVE == RAVT_BREAK_ON_MOVE && RAV_LIVE_ON_REFERRER == RAVT_BREAK_ON_REFERRER &&
		   RAV_LIVE_MATCH_AUX == RAVT_BREAK_MATCH_AUX && RAV_LIVE_STOP_ALL == RAVT_BREAK_STOP_ALL,
	       "breakpoint flags match live.h");
_Static_assert((int)RAV_LIVE_BREAK_STATE_GONE == (int)RAVT_BREAK_STATE_GONE, "breakpoint states match live.h");

int rav_live_pause(rav_live_session *s)
{
	return send_ctl(s->fd, RAVT_CTL_PAUSE, NULL, 0);
}

int rav_live_continue(rav_live_session *s)
{
	return send_ctl(s->fd, RAVT_CTL_CONTINUE, NULL, 0);
}

int rav_live_step(rav_live_session *s, uint32_t heap_id, int mode)
{
	ravt_ctl_step st = {heap_id, (uint32_t)mode};
	return send_ctl(s->fd, RAVT_CTL_STEP, &st, sizeof st);
}

int rav_live_break_set(rav_live_session *s, const rav_live_break *b)
{
	uint8_t buf[sizeof(ravt_ctl_break) + RAVT_BREAK_TEXT_MAX];
	size_t tlen = b->text ? strlen(b->text) : 0;
	if (tlen > RAVT_BREAK_TEXT_MAX || b->what > 0xffff || b->flags > 0xffff)
		return -1;
	ravt_ctl_break r = {b->id, (uint16_t)b->what, (uint16_t)b->flags, b->thread, b->count, b->arg, b->arg2};
	memcpy(buf, &r, sizeof r);
	if (tlen)
		memcpy(buf + sizeof r, b->text, tlen);
	return send_ctl(s->fd, RAVT_CTL_BREAK_SET, buf, (uint32_t)(sizeof r + tlen));
}

int rav_live_break_set_at_site(rav_live_session *s, const rav_live_break *b, const rav_site_range *r, size_t n)
{
	uint8_t buf[sizeof(ravt_ctl_break) + RAVT_BREAK_TEXT_MAX];
	if (!r || n == 0 || n > RAVT_BREAK_SITE_RANGES_MAX || b->what > 0xffff || b->flags > 0xffff)
		return -1;
	ravt_ctl_break q = {b->id, (uint16_t)b->what, (uint16_t)(b->flags | RAVT_BREAK_AT_SITE), b->thread, b->count,
	                    b->arg, b->arg2};
	memcpy(buf, &q, sizeof q);
	for (size_t i = 0; i < n; i++) {
		uint64_t pair[2] = {r[i].lo, r[i].hi};
		memcpy(buf + sizeof q + 16 * i, pair, 16);
	}
	return send_ctl(s->fd, RAVT_CTL_BREAK_SET, buf, (uint32_t)(sizeof q + 16 * n));
}

int rav_live_break_clear(rav_live_session *s, uint32_t id)
{
	return send_ctl(s->fd, RAVT_CTL_BREAK_CLEAR, &id, sizeof id);
}

const struct rav_live_break_state *rav_live_break_state(const rav_live_status *st, uint32_t id)
{
	for (unsigned i = 0; i < st->nbreaks; i++)
		if (st->breaks[i].id == id)
			return &st->breaks[i];
	return NULL;
}

void rav_live_close(rav_live_session *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->buf);
	free(s->counts);
	free(s);
}

/* The socket of `pid` in one of the user's socket directories. */
static bool find_socket(int pid, char *path, size_t cap)
{
	char dirs[2][4096];
	int nd = ravt_live_dirs(dirs);
	for (int i = 0; i < nd; i++) {
		if (ravt_live_socket_path(path, cap, dirs[i], pid) != 0)
			continue;
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

static int connect_path(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

rav_live_session *rav_live_attach(int pid, const rav_live_options *o, rav_trace_error *err)
{
	char path[4200];
	if (pid <= 0) {
		set_err(err, RAV_TRACE_EIO, "not a process id: %d", pid);
		return NULL;
	}
	if (!find_socket(pid, path, sizeof path)) {
		if (kill(pid, 0) == 0 || errno == EPERM)
			set_err(err, RAV_TRACE_EIO,
			        "process %d does not listen for attach: it is not linked with libravioli's "
			        "recorder, runs "
			        "with RAVIOLI_LISTEN=0, runs as another user, or could not create its socket "
			        "(run it with "
			        "RAVIOLI_LISTEN=1 to see why)",
			        pid);
		else
			set_err(err, RAV_TRACE_EIO, "no process with PID %d", pid);
		return NULL;
	}
	int fd = connect_path(path);
	if (fd < 0) {
		set_err(err, RAV_TRACE_EIO, "cannot connect to process %d (%s): %s", pid, path,
		        errno == ECONNREFUSED ? "nobody listens there any more (the process ended?)"
		                              : strerror(errno));
		return NULL;
	}
	rav_live_session *s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return NULL;
	}
	s->fd = fd;
	s->pid = pid;
	ravt_ctl_attach a = {RAVT_LIVE_PROTOCOL, 0, o ? o->queue_kib : 0, o ? o->stats_ms : 0, 0};
	if (o && o->lossless)
		a.mode |= RAVT_MODE_LOSSLESS;
	if (o && o->stats_only)
		a.mode |= RAVT_MODE_STATS_ONLY;
	if (o && o->access)
		a.mode |= RAVT_MODE_ACCESS;
	if (send_ctl(fd, RAVT_CTL_ATTACH, &a, sizeof a) != 0) {
		set_err(err, RAV_TRACE_EIO, "cannot send to process %d: %s", pid, strerror(errno));
		rav_live_close(s);
		return NULL;
	}
	/* Peek at the answer without consuming it: the caller reads the whole
	 * stream from the start. */
	rav_live_status st = {0};
	struct pollfd pf = {fd, POLLIN, 0};
	int wait_ms = wait_ms_or(5000);
	if (poll(&pf, 1, wait_ms) <= 0) {
		set_err(err, RAV_TRACE_EIO, "process %d did not answer within %g s", pid, wait_ms / 1000.0);
		rav_live_close(s);
		return NULL;
	}
	/* The answer's first record comes right after the header: read with
	 * MSG_PEEK until it is there, so that nothing is taken from the stream.
	 * The buffer holds the largest header and a record.  A program that
	 * hung up before its first record is done with at once (all it sent is
	 * in the peek), not after the loop's 5 s. */
	size_t peek_cap = RAVT_HEADER_MAX + 8192;
	uint8_t *peek = malloc(peek_cap);
	if (!peek) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		rav_live_close(s);
		return NULL;
	}
	ssize_t n = 0;
	for (int tries = 0; tries < 500; tries++) {
		struct pollfd hp = {fd, POLLRDHUP, 0};
		bool hung_up = poll(&hp, 1, 0) > 0 && (hp.revents & (POLLRDHUP | POLLHUP | POLLERR));
		n = recv(fd, peek, peek_cap, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0) {
			rav_live_session tmp = {.fd = -1};
			tmp.buf = malloc((size_t)n);
			if (!tmp.buf)
				break;
			memcpy(tmp.buf, peek, (size_t)n);
			tmp.len = tmp.cap = (size_t)n;
			rav_trace_error perr;
			int prc = parse(&tmp, &st, &perr);
			free(tmp.buf);
			free(tmp.counts);
			if (prc != 0) {
				free(peek);
				*err = perr;
				rav_live_close(s);
				return NULL;
			}
			if (tmp.got_first) {
				free(peek);
				if (tmp.refused) {
					set_err(err, RAV_TRACE_EIO, "process %d: %s", pid, tmp.last_text);
					rav_live_close(s);
					return NULL;
				}
				return s;
			}
			if ((size_t)n == peek_cap)
				break; /* more than a header and a record, and no record */
		}
		if (hung_up)
			break;
		struct timespec d = {0, 10 * 1000 * 1000};
		nanosleep(&d, NULL);
	}
	free(peek);
	if (n > 0) {
		set_err(err, RAV_TRACE_EIO,
		        "process %d closed the connection or did not answer: %zd bytes of its stream came, but "
		        "not its answer to the attach",
		        pid, n);
		rav_live_close(s);
		return NULL;
	}
	set_err(err, RAV_TRACE_EIO, "process %d closed the connection or did not answer", pid);
	rav_live_close(s);
	return NULL;
}

/* ---- list ---- */

static int cmp_pid(const void *a, const void *b)
{
	const rav_live_program *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* One program being asked (list). */
typedef struct asking {
	rav_live_session s;
	rav_live_status st;
	char path[4200];
	bool done;
} asking;

int rav_live_list(rav_live_program **out, size_t *n, unsigned *removed, rav_trace_error *err)
{
	*out = NULL;
	*n = 0;
	if (removed)
		*removed = 0;
	char dirs[2][4096];
	int nd = ravt_live_dirs(dirs);
	size_t na = 0, acap = 0;
	asking *a = NULL;
	/* Ask every program at once, so that a slow one costs its 2 s once,
	 * not 2 s per program. */
	for (int d = 0; d < nd; d++) {
		DIR *dir = opendir(dirs[d]);
		if (!dir)
			continue;
		struct dirent *de;
		while ((de = readdir(dir)) != NULL) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);
			if (pid <= 0 || strcmp(end, ".sock") != 0)
				continue;
			char path[4200];
			if (ravt_live_socket_path(path, sizeof path, dirs[d], (pid_t)pid) != 0)
				continue;
			int fd = connect_path(path);
			if (fd < 0) {
				/* Nobody accepts there: a process that died (or a
				 * socket it left behind before its pid was reused). */
				if (errno == ECONNREFUSED && unlink(path) == 0 && removed)
					(*removed)++;
				continue;
			}
			if (send_ctl(fd, RAVT_CTL_INFO, NULL, 0) != 0) {
				close(fd);
				continue;
			}
			if (na == acap) {
				acap = acap ? acap * 2 : 16;
				asking *g = realloc(a, acap * sizeof *g);
				if (!g) {
					close(fd);
					break;
				}
				a = g;
			}
			memset(&a[na], 0, sizeof a[na]);
			a[na].s.fd = fd;
			a[na].s.pid = (int)pid;
			snprintf(a[na].path, sizeof a[na].path, "%s", path);
			na++;
		}
		closedir(dir);
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int list_wait_ms = wait_ms_or(2000);
	struct pollfd *pf = calloc(na ? na : 1, sizeof *pf);
	for (;;) {
		size_t np = 0;
		for (size_t i = 0; i < na; i++)
			if (!a[i].done)
				pf[np++] = (struct pollfd){a[i].s.fd, POLLIN, 0};
		clock_gettime(CLOCK_MONOTONIC, &t1);
		int spent = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (np == 0 || spent >= list_wait_ms || !pf)
			break;
		if (poll(pf, np, list_wait_ms - spent) <= 0)
			continue;
		for (size_t i = 0; i < na; i++) {
			if (a[i].done)
				continue;
			rav_trace_error e2;
			if (rav_live_pump(&a[i].s, 0, -1, &a[i].st, &e2) < 0 || a[i].s.got_first ||
			    a[i].st.ended)
				a[i].done = true;
		}
	}
	free(pf);
	rav_live_program *v = calloc(na ? na : 1, sizeof *v);
	for (size_t i = 0; i < na; i++) {
		rav_live_session *s = &a[i].s;
		if (v && s->got_first && s->last.type == RAVT_SESSION_INFO) {
			rav_live_program *p = &v[(*n)++];
			/* the pid its socket is named for: the one `attach PID` reaches
			 * (not the one the program claims, which may be anything) */
			p->pid = s->pid;
			p->uid = (unsigned)s->last.v[1];
			p->start_ns = (uint64_t)s->last.v[2];
			p->threads = (uint32_t)s->last.v[3];
			p->live_cells = (uint64_t)s->last.v[4];
			p->pool_pages = (uint64_t)s->last.v[5];
			p->attached_by = (int)s->last.v[6];
			p->records_to_file = s->last.v[7] != 0;
			snprintf(p->command, sizeof p->command, "%s", s->cmdline);
			snprintf(p->socket, sizeof p->socket, "%.107s", a[i].path);
		}
		close(s->fd);
		free(s->buf);
		free(s->counts);
	}
	free(a);
	if (!v) {
		set_err(err, RAV_TRACE_ENOMEM, "out of memory");
		return -1;
	}
	if (*n)
		qsort(v, *n, sizeof *v, cmp_pid);
	*out = v;
	return 0;
}

bool rav_live_process_runs(int pid)
{
	if (pid <= 0)
		return false;
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* the state follows the name, which may hold ')' itself */
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}
