/* fuzz-listen.c - libFuzzer target for the program side of live attach:
 * what a client sends to a program (FORMAT.md §12.2, §12.5), taken by the
 * listener (listen.c), the session (session*.c) and the debugger
 * (debugger.c) exactly as in any program linked with ravioli_dep.
 *
 * This process is such a program: the recorder's constructor starts its
 * listener, and a thread ("work") makes engine calls all the time (lists
 * built and dropped, marks), so that sessions snapshot a heap, stream
 * events, and breakpoints, pauses and steps have a thread to hold.  Each
 * input is a client's conversation, sent through the real socket:
 *   0 N BYTES...        N raw bytes (framing errors, partial messages)
 *   1 TYPE LEN16 ...    a control message of that type and payload length
 *                       (up to 1100: past the limit too), checksummed
 *                       correctly, its payload the next LEN input bytes
 *                       (zeros past the end)
 *   2                   read what the program sent for 20 ms
 *   3                   close the sending side (the client hangs up)
 *   4                   sleep 50 ms without reading (a client falling
 *                       behind)
 *   5 N                 the program's work thread makes (N+1)*1024 rounds
 *                       at once, not sleeping between them (a burst of
 *                       some 15 events a round, up to 4M events pending):
 *                       more than a client that does not read takes (the
 *                       socket's buffer, then the smallest queue, 256
 *                       KiB): the program loses events, and resynchronises
 *                       (fresh snapshots) once the client has read the rest
 *   other               ignored
 * Then the client hangs up and reads to the end.  The program must answer
 * with a trace stream (every answer begins with a trace header), close the
 * connection, and end the session within bounded time; nothing may crash,
 * leak or hang.  Seeds: trace/fuzz/corpus-listen/ (make-listen-seeds.py).
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "live.h"
#include "ravioli.h"
#include "session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WAIT_MS 15000 /* a program that has not closed or ended by then hangs */

static struct sockaddr_un program;

/* Rounds the work thread is to make without sleeping (op 5); the end of
 * an input drops what is left. */
#define BURST_MAX (256u * 1024)
static unsigned burst;

static bool take_burst_round(void)
{
	unsigned n = __atomic_load_n(&burst, __ATOMIC_RELAXED);
	while (n && !__atomic_compare_exchange_n(&burst, &n, n - 1, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return n != 0;
}

/* The program's own work: engine calls all the time. */
static void *work_main(void *arg)
{
	(void)arg;
	rav_thread_name("work");
	rav_type item = rav_type_register("fuzz-item", RAV_DATA, RAV_REF);
	rav_heap *h = rav_heap_self();
	if (!h || !item)
		abort();
	rav_root list = rav_root_new(h);
	for (uint64_t round = 0;; round++) {
		rav_ref cur;
		if (rav_new_root(h, item, list, &cur) == RAV_OK) {
			rav_store(h, cur, 0, round);
			for (unsigned i = 0; i < 6; i++)
				if (rav_new_field(h, item, cur, 1, &cur) == RAV_OK)
					rav_store(h, cur, 0, i);
		}
		if (round % 4 == 0)
			rav_mark("fuzz round");
		rav_root_clear(h, list);
		if (take_burst_round())
			continue;
		struct timespec d = {0, 200 * 1000};
		nanosleep(&d, NULL);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dirs[2][4096];
	int nd = ravt_live_dirs(dirs);
	program.sun_family = AF_UNIX;
	bool found = false;
	for (int i = 0; i < nd && !found; i++)
		found = ravt_live_socket_path(program.sun_path, sizeof program.sun_path, dirs[i], getpid()) == 0 &&
		        access(program.sun_path, F_OK) == 0;
	if (!found) {
		fprintf(stderr, "fuzz-listen: this process does not listen (RAVIOLI_LISTEN=0?)\n");
		abort();
	}
	pthread_t th;
	if (pthread_create(&th, NULL, work_main, NULL) != 0)
		abort();
	pthread_detach(th);
	return 0;
}

static uint64_t now_ms(void)
{
	return ravt_mono_ms();
}

/* Take what the program sent within ms; false at the end of its stream. */
static bool drain(int fd, int ms, size_t *got, uint8_t *first8)
{
	uint64_t until = now_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t t = now_ms();
		int left = t >= until ? 0 : (int)(until - t);
		struct pollfd pf = {fd, POLLIN, 0};
		int r = poll(&pf, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return true;
		uint8_t buf[65536];
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return false;
		for (size_t i = 0; i < (size_t)n && *got + i < 8; i++)
			first8[*got + i] = buf[i];
		*got += (size_t)n;
		if (left == 0)
			return true;
	}
}

static void send_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the program closed: what is left is not read */
		p += w;
		n -= (size_t)w;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	if (connect(fd, (struct sockaddr *)&program, sizeof program) != 0) {
		fprintf(stderr, "fuzz-listen: connect: %s\n", strerror(errno));
		abort();
	}
	size_t got = 0;
	uint8_t first8[8];
	bool open = true, sending = true;
	for (size_t i = 0; i < size && open;) {
		uint8_t op = data[i++];
		if (op == 0 && i < size) {
			size_t n = data[i++];
			if (n > size - i)
				n = size - i;
			if (sending)
				send_all(fd, data + i, n);
			i += n;
		} else if (op == 1 && i + 3 <= size) {
			uint16_t type = data[i];
			uint32_t len = (uint32_t)data[i + 1] | (uint32_t)data[i + 2] << 8;
			i += 3;
			if (len > 1100)
				len = 1100;
			uint8_t msg[sizeof(ravt_ctl) + 1100];
			memset(msg, 0, sizeof msg);
			size_t have = size - i < len ? size - i : len;
			memcpy(msg + sizeof(ravt_ctl), data + i, have);
			i += have;
			ravt_ctl h = {RAVT_CTL_MAGIC, type, 0, len, 0};
			memcpy(msg, &h, sizeof h);
			uint32_t crc = ravt_crc32c(0, msg, 12);
			crc = ravt_crc32c(crc, msg + sizeof h, len);
			memcpy(msg + 12, &crc, 4);
			if (sending)
				send_all(fd, msg, sizeof h + len);
		} else if (op == 2) {
			open = drain(fd, 20, &got, first8);
		} else if (op == 3 && sending) {
			shutdown(fd, SHUT_WR);
			sending = false;
		} else if (op == 4) {
			struct timespec d = {0, 50 * 1000 * 1000};
			nanosleep(&d, NULL);
		} else if (op == 5 && i < size) {
			unsigned add = ((unsigned)data[i++] + 1) * 1024;
			unsigned n = __atomic_load_n(&burst, __ATOMIC_RELAXED), want;
			do
				want = n + add > BURST_MAX ? BURST_MAX : n + add;
			while (!__atomic_compare_exchange_n(&burst, &n, want, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
		}
	}
	__atomic_store_n(&burst, 0, __ATOMIC_RELAXED);
	if (sending)
		shutdown(fd, SHUT_WR);
	/* The program closes every connection whose client hung up: at once,
	 * or (during a session) once the session has ended. */
	uint64_t until = now_ms() + WAIT_MS;
	while (open && now_ms() < until)
		open = drain(fd, 100, &got, first8);
	if (open) {
		fprintf(stderr, "fuzz-listen: the program did not close the connection within %d ms\n", WAIT_MS);
		abort();
	}
	close(fd);
	if (got && memcmp(first8, RAVT_MAGIC, got < 8 ? got : 8) != 0) {
		fprintf(stderr, "fuzz-listen: the program's answer is not a trace stream\n");
		abort();
	}
	while (ravt_session_live(NULL) && now_ms() < until) {
		struct timespec d = {0, 1000 * 1000};
		nanosleep(&d, NULL);
	}
	if (ravt_session_live(NULL)) {
		fprintf(stderr, "fuzz-listen: the session did not end within %d ms of the client's going\n", WAIT_MS);
		abort();
	}
	return 0;
}
