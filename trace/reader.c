/* reader.c - the reader's lifetime: opening a file, bytes in memory or a
 * stream; polling a stream; closing; what it reports about the trace; the
 * text arena.
 *
 * A file is mapped.  A stream (pipe, socket) is spooled: every byte that
 * arrives is appended to an unlinked temporary file ($TMPDIR, else /tmp)
 * which is mapped once, read-only and larger than it will grow, so the bytes
 * of a chunk never move once they arrived (cursors and the random-access
 * cache on other threads keep pointers into them) and a long live session
 * costs page cache, as an open file does, not heap.  (O_TMPFILE needs
 * _GNU_SOURCE, which the build defines.)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader-decode.h"

/* ---- Errors ---------------------------------------------------------------- */

void ravt_set_error(rav_trace_error *err, rav_trace_errcode code, uint64_t offset, int64_t chunkno,
                    const char *fmt, ...)
{
	if (!err)
		return;
	err->code = code;
	err->offset = offset;
	err->chunk = chunkno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	va_end(ap);
}

void ravt_clear_error(rav_trace_error *err)
{
	if (err) {
		err->code = RAV_TRACE_OK;
		err->offset = 0;
		err->chunk = -1;
		err->message[0] = 0;
	}
}

/* ---- Text interning --------------------------------------------------------
 * Event texts are copied once into arena blocks, NUL-terminated and shared
 * by content, so an event's text pointer stays valid until close whatever
 * chunk buffers come and go.  Each copy is preceded by its length (4 bytes,
 * unaligned): a type definition's text keeps its embedded NULs (the field
 * names after the type name), every other text is cut at its first NUL. */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h ^ n;
}

static size_t interned_len(const char *s)
{
	uint32_t len;
	memcpy(&len, s - sizeof len, sizeof len);
	return len;
}

static const char *intern_locked(ravt_reader *rd, const uint8_t *p, size_t n, bool keep_nuls)
{
	if (rd->icount * 2 >= rd->icap) {
		size_t cap = rd->icap ? rd->icap * 2 : 256;
		if (!ravt_budget_charge(&rd->budget, (cap - rd->icap) * sizeof(char *),
		                        "the texts of names and marks"))
			return NULL;
		char **tab = calloc(cap, sizeof *tab);
		if (!tab)
			return NULL;
		for (size_t i = 0; i < rd->icap; i++) {
			char *s = rd->itab[i];
			if (!s)
				continue;
			size_t j = hash_bytes((const uint8_t *)s, interned_len(s)) & (cap - 1);
			while (tab[j])
				j = (j + 1) & (cap - 1);
			tab[j] = s;
		}
		free(rd->itab);
		rd->itab = tab;
		rd->icap = cap;
	}
	/* Texts are cut at an embedded NUL: they are C strings for callers. */
	size_t len = keep_nuls ? n : strnlen((const char *)p, n);
	if (len > UINT32_MAX)
		return NULL;
	size_t j = hash_bytes(p, len) & (rd->icap - 1);
	while (rd->itab[j]) {
		if (interned_len(rd->itab[j]) == len && memcmp(rd->itab[j], p, len) == 0)
			return rd->itab[j];
		j = (j + 1) & (rd->icap - 1);
	}
	uint32_t len32 = (uint32_t)len;
	size_t need = sizeof len32 + len + 1;
	if (rd->ileft < need) {
		size_t bs = need > 60000 ? need + sizeof(ravt_block) : 65536;
		if (!ravt_budget_charge(&rd->budget, bs, "the texts of names and marks"))
			return NULL;
		ravt_block *b = malloc(bs);
		if (!b)
			return NULL;
		b->next = rd->iblocks;
		rd->iblocks = b;
		rd->iblock = (char *)(b + 1);
		rd->ileft = bs - sizeof(ravt_block);
	}
	memcpy(rd->iblock, &len32, sizeof len32);
	char *s = rd->iblock + sizeof len32;
	memcpy(s, p, len);
	s[len] = 0;
	rd->iblock += need;
	rd->ileft -= need;
	rd->itab[j] = s;
	rd->icount++;
	return s;
}

const char *ravt_reader_intern(ravt_reader *rd, const uint8_t *p, size_t n, bool keep_nuls)
{
	pthread_mutex_lock(&rd->intern_lock);
	const char *s = intern_locked(rd, p, n, keep_nuls);
	pthread_mutex_unlock(&rd->intern_lock);
	return s ? s : "";
}

/* ---- Opening ------------------------------------------------------------- */

static ravt_reader *reader_alloc(void)
{
	ravt_reader *rd = calloc(1, sizeof *rd);
	if (!rd)
		return NULL;
	rd->fd = -1;
	rd->spool_fd = -1;
	rd->file_fd = -1;
	rd->data = (const uint8_t *)"";
	pthread_mutex_init(&rd->lock, NULL);
	pthread_mutex_init(&rd->intern_lock, NULL);
	for (int i = 0; i < RAVT_LRU_SLOTS; i++)
		rd->lru[i].chunk = -1;
	ravt_budget_init(&rd->budget);
	return rd;
}

static void update_buf_limit(ravt_reader *rd)
{
	ravt_budget_set_trace_bytes(&rd->budget, rd->size);
}

typedef struct frame_args {
	ravt_reader *rd;
	rav_trace_error *err, *terr;
	bool header_ok, partial;
	int64_t walked;
} frame_args;

/* Header and frames: the bytes read at open (under the guard for files). */
static bool parse_and_walk(void *arg)
{
	frame_args *a = arg;
	if (ravt_parse_header(a->rd, a->err) != 0)
		return false;
	a->header_ok = true;
	a->walked = ravt_walk_chunks(a->rd, a->terr, &a->partial);
	return true;
}

/* Header and framing of bytes present at open. */
static ravt_reader *open_bytes(ravt_reader *rd, rav_trace_error *err)
{
	update_buf_limit(rd);
	rav_trace_error terr;
	ravt_clear_error(&terr);
	frame_args a = {rd, err, &terr, false, false, 0};
	if (!ravt_guarded(rd, parse_and_walk, &a, err) || !a.header_ok) {
		ravt_reader_close(rd);
		return NULL;
	}
	bool partial = a.partial;
	if (a.walked < 0) {
		if (ravt_file_changed(rd))
			ravt_changed_error(rd, err);
		else if (err)
			*err = terr;
		ravt_reader_close(rd);
		return NULL;
	}
	if (!rd->complete || partial) {
		rd->truncated = true;
		if (err) {
			if (terr.code == RAV_TRACE_ETRUNCATED)
				*err = terr;
			else
				ravt_set_error(
				    err, RAV_TRACE_ETRUNCATED, rd->parse_pos, (int64_t)rd->nchunks,
				    "the trace has no trailer (the program did not finish recording): "
				    "%llu bytes in %zu complete chunks are usable",
				    (unsigned long long)rd->parse_pos, rd->nchunks);
		}
	}
	return rd;
}

static const char *file_kind(mode_t m)
{
	return S_ISFIFO(m)   ? "a named pipe (FIFO)"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISDIR(m)  ? "a directory"
	                     : "not a regular file";
}

ravt_reader *ravt_reader_open_file(const char *path, rav_trace_error *err)
{
	ravt_clear_error(err);
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer, maybe forever; it is refused below anyway (no effect on
	 * regular files) */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (S_ISDIR(st.st_mode))
			ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "%s is a directory, not a trace file",
			               path);
		else
			ravt_set_error(err, RAV_TRACE_EIO, 0, -1,
			               "%s is %s, not a trace file: read a trace that arrives through it as "
			               "a stream (ravtrace COMMAND --follow FILE, or rav_trace_open_fd)",
			               path, file_kind(st.st_mode));
		return NULL;
	}
	ravt_reader *rd = reader_alloc();
	if (!rd) {
		close(fd);
		ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return NULL;
	}
	rd->size = (size_t)st.st_size;
	if (rd->size) {
		void *m = mmap(NULL, rd->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED) {
			ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "cannot map %s: %s", path, strerror(errno));
			close(fd);
			ravt_reader_close(rd);
			return NULL;
		}
		madvise(m, rd->size, MADV_SEQUENTIAL);
		rd->data = m;
		rd->mapped = true;
		rd->map_len = rd->size;
		/* others may truncate the file while it is mapped */
		ravt_guard_install();
		rd->guard_map = true;
	}
	rd->file_fd = fd;
	rd->file_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	rd = open_bytes(rd, err);
	/* the framing walk read every frame (and with the kernel's fault-around
	 * mapped nearly every page): indexing reads each payload once more */
	if (rd)
		ravt_reader_release_bytes(rd, 0, rd->size);
	return rd;
}

ravt_reader *ravt_reader_open_memory(const void *data, size_t size, rav_trace_error *err)
{
	ravt_clear_error(err);
	ravt_reader *rd = reader_alloc();
	if (!rd) {
		ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return NULL;
	}
	rd->data = size ? data : (const uint8_t *)"";
	rd->size = size;
	return open_bytes(rd, err);
}

/* A mapped page the reader has read stays in the process's resident set
 * until unmapped, so a reader that read its whole file once would hold the
 * file's size for as long as it stays open, though it needs none of it in
 * memory once decoded (payloads are decompressed or copied into a decoder's
 * buffer).  The pages stay in the page cache, shared and reclaimable like
 * any cached file; a later read maps them again (a minor fault).  The
 * mapping is read-only and never written, so dropping it loses nothing,
 * whichever thread reads there at the same time. */
#define RELEASE_MIN_PAGES 4u

void ravt_reader_release_bytes(const ravt_reader *rd, uint64_t off, uint64_t len)
{
	/* (map_len, not size: a stream's size grows under its lock while
	 * cursors on other threads read chunks it framed before) */
	if (!rd->mapped || len == 0 || off >= rd->map_len)
		return;
	if (len > rd->map_len - off)
		len = rd->map_len - off;
	long page = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)(rd->data + off), e = a + len, pg = page > 0 ? (uintptr_t)page : 4096;
	/* only the whole pages inside: a page shared with a neighbouring chunk
	 * may be read again next (small chunks would each fault their page in
	 * again), and a range of a page or two is not worth a system call.
	 * What is left goes with the whole mapping when indexing is done. */
	a = (a + pg - 1) & ~(pg - 1);
	e &= ~(pg - 1);
	if (e > a && e - a >= RELEASE_MIN_PAGES * pg)
		(void)madvise((void *)a, e - a, MADV_DONTNEED);
}

/* ---- Streams ------------------------------------------------------------- */

/* The spool file and its mapping.  The mapping is reserved at the largest
 * size the address space allows (memory checkers allow less), so it never
 * moves; pages past the end of the file are never touched. */
static int spool_open(ravt_reader *rd, rav_trace_error *err)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char path[4096];
		snprintf(path, sizeof path, "%s/ravtrace-stream-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0) {
		ravt_set_error(err, RAV_TRACE_EIO, 0, -1,
		               "cannot create a spool file for the stream in %s: %s", dir, strerror(errno));
		return -1;
	}
	static const unsigned shifts[] = {40, 38, 36, 34, 32, 30};
	for (size_t i = 0; i < sizeof shifts / sizeof shifts[0]; i++) {
		size_t len = (size_t)1 << shifts[i];
		void *m = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
		if (m != MAP_FAILED) {
			rd->spool_fd = fd;
			rd->data = m;
			rd->mapped = true;
			rd->map_len = len;
			return 0;
		}
	}
	ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "cannot map a spool file for the stream: %s",
	               strerror(errno));
	close(fd);
	return -1;
}

static int spool_write(ravt_reader *rd, const uint8_t *p, size_t n, rav_trace_error *err)
{
	if (n > rd->map_len - rd->size) {
		ravt_set_error(
		    err, RAV_TRACE_EIO, rd->size, -1,
		    "the stream is longer than the %zu GiB this reader can map: save what was received "
		    "and reopen it as a file",
		    rd->map_len >> 30);
		return -1;
	}
	while (n) {
		ssize_t w = pwrite(rd->spool_fd, p, n, (off_t)rd->size);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ravt_set_error(err, RAV_TRACE_EIO, rd->size, -1,
			               "writing the stream's spool file failed: %s", strerror(errno));
			return -1;
		}
		p += w;
		n -= (size_t)w;
		pthread_mutex_lock(&rd->lock);
		rd->size += (size_t)w;
		pthread_mutex_unlock(&rd->lock);
	}
	update_buf_limit(rd);
	return 0;
}

/* Read what the stream has now into the spool; with `wait`, block until at
 * least `want` bytes are there (or the stream ends). */
static int stream_read(ravt_reader *rd, bool wait, size_t want, rav_trace_error *err)
{
	uint8_t buf[65536];
	/* A writer faster than the reader must not keep a non-blocking poll
	 * busy forever: take at most this much per call. */
	size_t budget = (size_t)16 << 20;
	for (;;) {
		if (!wait && budget < sizeof buf)
			return 0;
		if (rd->stream_eof || (wait && rd->size >= want))
			return 0;
		struct pollfd pf = {.fd = rd->fd, .events = POLLIN};
		int n = poll(&pf, 1, wait ? -1 : 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			ravt_set_error(err, RAV_TRACE_EIO, rd->size, -1,
			               "poll on the trace stream failed: %s", strerror(errno));
			return -1;
		}
		ssize_t got = read(rd->fd, buf, sizeof buf);
		if (got < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			ravt_set_error(err, RAV_TRACE_EIO, rd->size, -1,
			               "reading the trace stream failed: %s", strerror(errno));
			return -1;
		}
		if (got == 0) {
			pthread_mutex_lock(&rd->lock);
			rd->stream_eof = true;
			pthread_mutex_unlock(&rd->lock);
			return 0;
		}
		if (spool_write(rd, buf, (size_t)got, err) != 0)
			return -1;
		budget -= (size_t)got < budget ? (size_t)got : budget;
	}
}

ravt_reader *ravt_reader_open_fd(int fd, rav_trace_error *err)
{
	ravt_clear_error(err);
	ravt_reader *rd = reader_alloc();
	if (!rd) {
		ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return NULL;
	}
	rd->is_stream = true;
	if (spool_open(rd, err) != 0)
		goto fail;
	rd->fd = fd;
	/* The writer sends its header at once: wait for it. */
	if (stream_read(rd, true, sizeof(ravt_header), err) != 0)
		goto fail;
	if (rd->size >= sizeof(ravt_header) && memcmp(rd->data, RAVT_MAGIC, 8) == 0) {
		ravt_header h;
		memcpy(&h, rd->data, sizeof h);
		if (h.header_size <= RAVT_HEADER_MAX && stream_read(rd, true, h.header_size, err) != 0)
			goto fail;
	}
	if (ravt_parse_header(rd, err) != 0)
		goto fail;
	if (ravt_reader_poll(rd, err) < 0)
		goto fail;
	return rd;
fail:
	rd->fd = -1; /* the caller's */
	ravt_reader_close(rd);
	return NULL;
}

int64_t ravt_reader_poll(ravt_reader *rd, rav_trace_error *err)
{
	ravt_clear_error(err);
	if (!rd->is_stream)
		return 0;
	if (stream_read(rd, false, 0, err) != 0)
		return -1;
	bool partial;
	int64_t added = ravt_walk_chunks(rd, err, &partial);
	if (added < 0)
		return -1;
	if (rd->stream_eof && (!rd->complete || rd->parse_pos < rd->size)) {
		pthread_mutex_lock(&rd->lock);
		rd->truncated = true;
		pthread_mutex_unlock(&rd->lock);
	}
	return added;
}

bool ravt_reader_is_stream(const ravt_reader *rd)
{
	return rd->is_stream;
}

bool ravt_reader_stream_ended(const ravt_reader *rd)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	bool e = rd->is_stream && rd->stream_eof;
	pthread_mutex_unlock(&w->lock);
	return e;
}

int ravt_reader_save(ravt_reader *rd, const char *path, rav_trace_error *err)
{
	ravt_clear_error(err);
	pthread_mutex_lock(&rd->lock);
	/* A stream: what was framed (whole chunks); a file: all of it. */
	size_t n = rd->is_stream ? (size_t)rd->parse_pos : rd->size;
	pthread_mutex_unlock(&rd->lock);
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp) {
		ravt_set_error(err, RAV_TRACE_ENOMEM, 0, -1, "out of memory");
		return -1;
	}
	snprintf(tmp, plen + 16, "%s.partXXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "cannot create a file beside %s: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	const uint8_t *p = rd->data;
	size_t left = n;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "writing %s failed: %s", path,
			               w < 0 ? strerror(errno) : "no space");
			close(fd);
			unlink(tmp);
			free(tmp);
			return -1;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		ravt_set_error(err, RAV_TRACE_EIO, 0, -1, "saving %s failed: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

void ravt_reader_close(ravt_reader *rd)
{
	if (!rd)
		return;
	ravt_merge_free(rd);
	ravt_lru_free(rd);
	ravt_pieces_free(rd);
	if (rd->mapped)
		munmap((void *)rd->data, rd->map_len);
	if (rd->spool_fd >= 0)
		close(rd->spool_fd);
	if (rd->file_fd >= 0)
		close(rd->file_fd);
	for (size_t i = 0; i < rd->nstreams; i++)
		free(rd->streams[i].chunks);
	free(rd->streams);
	free(rd->smap);
	free(rd->chunks);
	free(rd->runs);
	ravt_sites_free(rd);
	free(rd->itab);
	while (rd->iblocks) {
		ravt_block *n = rd->iblocks->next;
		free(rd->iblocks);
		rd->iblocks = n;
	}
	pthread_mutex_destroy(&rd->lock);
	pthread_mutex_destroy(&rd->intern_lock);
	ravt_budget_destroy(&rd->budget);
	free(rd);
}

/* ---- What the reader reports ---------------------------------------------- */

void ravt_reader_get_info(const ravt_reader *rd, rav_trace_info *out)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	*out = rd->info;
	out->file_size = rd->size;
	out->chunks = rd->nchunks;
	out->events = rd->total_events;
	out->truncated = rd->truncated;
	out->recovered_bytes = rd->truncated ? rd->parse_pos : 0;
	pthread_mutex_unlock(&w->lock);
}

bool ravt_reader_records_sites(const ravt_reader *rd)
{
	return (rd->hdr.flags & RAVT_HF_SITES) != 0; /* (the header does not change once read) */
}

uint64_t ravt_reader_framed_events(const ravt_reader *rd)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	uint64_t n = rd->total_events;
	pthread_mutex_unlock(&w->lock);
	return n;
}

uint64_t ravt_reader_size(const ravt_reader *rd)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	uint64_t n = rd->size;
	pthread_mutex_unlock(&w->lock);
	return n;
}

size_t ravt_reader_memory(const ravt_reader *rd)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	size_t n = sizeof *rd + rd->cap_chunks * sizeof(ravt_chunk) + rd->cap_streams * sizeof(ravt_stream) +
	           rd->cap_runs * sizeof(ravt_run) + (size_t)atomic_load(&w->buf_bytes);
	for (size_t i = 0; i < rd->nstreams; i++)
		n += rd->streams[i].cap * sizeof(uint32_t);
	for (int i = 0; i < RAVT_LRU_SLOTS; i++)
		n += rd->lru[i].ev ? RAVT_LRU_WINDOW * sizeof(rav_event) : 0;
	pthread_mutex_unlock(&w->lock);
	pthread_mutex_lock(&w->intern_lock);
	n += rd->icap * sizeof(char *);
	for (const ravt_block *b = rd->iblocks; b; b = b->next)
		n += 65536;
	pthread_mutex_unlock(&w->intern_lock);
	return n;
}

ravt_budget *ravt_reader_budget(ravt_reader *rd)
{
	return &rd->budget;
}

void ravt_reader_get_work(const ravt_reader *rd, ravt_reader_work *out)
{
	ravt_reader *w = (ravt_reader *)rd;
	pthread_mutex_lock(&w->lock);
	*out = rd->work;
	pthread_mutex_unlock(&w->lock);
}
