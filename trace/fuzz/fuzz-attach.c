/* fuzz-attach.c - libFuzzer target for the client side of live attach
 * (attach.c): what `ravtrace attach` and ravscope's Attach do with the
 * bytes a broken or hostile program sends back.
 *
 * This process poses as the program: its socket is DIR/PID.sock in a
 * private XDG_RUNTIME_DIR made at start-up, named after its own PID, and a
 * thread answers each connection with the input (after reading the
 * client's request).  The real rav_live_attach connects, sends ATTACH and
 * peeks at the answer; when it accepts, rav_live_pump reads the stream to
 * its end, and a few control requests and the status's queries run as a
 * client would.  The last input byte picks the options; the bytes before
 * it are what the "program" sends (so the trace corpus, which holds
 * streams saved from sessions, seeds it).  Every answer must end
 * in a session or a message within bounded time.  `ravtrace list` (INFO)
 * takes the same parse() but walks /tmp/ravioli-UID as well, where other
 * programs of the user listen: it is left to tests/trace/hostile-live.py.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "live.h"
#include "ravtrace.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ANSWER (256u << 10)

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const uint8_t *answer;
	size_t len;
	unsigned served, wanted;
	int lfd;
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, -1};

static void write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* The "program": take the request, send the answer, close. */
static void *program_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(P.lfd, NULL, NULL);
		if (fd < 0)
			continue;
		uint8_t req[sizeof(ravt_ctl) + RAVT_CTL_MAX];
		size_t got = 0;
		while (got < sizeof(ravt_ctl)) {
			struct pollfd pf = {fd, POLLIN, 0};
			if (poll(&pf, 1, 2000) <= 0)
				break;
			ssize_t n = recv(fd, req + got, sizeof req - got, 0);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		pthread_mutex_lock(&P.lock);
		const uint8_t *a = P.answer;
		size_t len = P.len;
		pthread_mutex_unlock(&P.lock);
		write_all(fd, a, len);
		shutdown(fd, SHUT_WR);
		/* what the client sends on (DETACH, STATS, ...) until it closes */
		for (;;) {
			struct pollfd pf = {fd, POLLIN, 0};
			if (poll(&pf, 1, 5000) <= 0 || recv(fd, req, sizeof req, 0) <= 0)
				break;
		}
		close(fd);
		pthread_mutex_lock(&P.lock);
		P.served++;
		pthread_cond_broadcast(&P.cond);
		pthread_mutex_unlock(&P.lock);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	static char tmpl[] = "/tmp/fuzz-attach-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("fuzz-attach: mkdtemp");
		abort();
	}
	setenv("XDG_RUNTIME_DIR", tmpl, 1);
	/* the first answer's wait (tests' variable; the default is 5 s) */
	setenv("RAV_TEST_ATTACH_WAIT_MS", "1000", 1);
	char dir[4096], err[512];
	if (ravt_live_dir(dir, sizeof dir, true, err, sizeof err) != 0 || strncmp(dir, tmpl, strlen(tmpl)) != 0) {
		fprintf(stderr, "fuzz-attach: socket directory: %s\n", err);
		abort();
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	ravt_live_socket_path(sa.sun_path, sizeof sa.sun_path, dir, getpid());
	P.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (P.lfd < 0 || bind(P.lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(P.lfd, 4) != 0) {
		perror("fuzz-attach: socket");
		abort();
	}
	pthread_t th;
	if (pthread_create(&th, NULL, program_main, NULL) != 0)
		abort();
	pthread_detach(th);
	return 0;
}

/* What the client shows of the program's texts (messages, the end, stops,
 * breakpoints) goes to terminals and GTK labels: well-formed UTF-8 without
 * control characters, whatever the program sent (attach.c clean_text). */
static void check_text(const char *what, const char *t, size_t cap)
{
	size_t n = strnlen(t, cap);
	if (n == cap) {
		fprintf(stderr, "fuzz-attach: %s is not terminated\n", what);
		abort();
	}
	const unsigned char *u = (const unsigned char *)t;
	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 && c >= 0xc2 ? 2 : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 && c <= 0xf4 ? 4 : 0;
		bool ok = len > 0 && i + len <= n && !(len == 1 && (c < 32 || c == 127));
		for (size_t k = 1; ok && k < len; k++)
			ok = (u[i + k] & 0xc0) == 0x80;
		if (ok && len == 2 && c == 0xc2 && u[i + 1] < 0xa0)
			ok = false; /* C1 controls */
		if (!ok) {
			fprintf(stderr, "fuzz-attach: %s is not clean UTF-8 at byte %zu: \"%s\"\n", what, i, t);
			abort();
		}
		i += len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_ANSWER)
		return 0;
	uint8_t opt = data[size - 1];
	pthread_mutex_lock(&P.lock);
	P.answer = data;
	P.len = size - 1;
	unsigned want = P.served + 1;
	pthread_mutex_unlock(&P.lock);

	rav_live_options o = {.lossless = opt & 1, .stats_only = opt & 2, .access = opt & 4, .stats_ms = opt & 8 ? 1000 : 0};
	rav_trace_error err;
	rav_live_session *s = rav_live_attach(getpid(), &o, &err);
	if (!s) {
		if (!err.message[0])
			abort(); /* a refusal says why */
		check_text("the refusal", err.message, sizeof err.message);
	} else {
		rav_live_status st;
		memset(&st, 0, sizeof st);
		for (unsigned round = 0; !st.ended; round++) {
			int64_t n = rav_live_pump(s, 2000, -1, &st, &err);
			if (n < 0)
				break;
			if (n == 0 && !st.ended)
				abort(); /* the "program" closed: the client must see the end */
			if (round == 0 && (opt & 16)) {
				rav_live_request_stats(s);
				rav_live_pause(s);
				rav_live_break s_break = {.id = 7, .what = RAV_LIVE_BREAK_MARK, .text = "x"};
				rav_live_break_set(s, &s_break);
				rav_live_detach(s);
			}
		}
		for (unsigned i = 0; i < st.nbreaks && i < sizeof st.breaks / sizeof st.breaks[0]; i++) {
			rav_live_break_state(&st, st.breaks[i].id);
			check_text("a breakpoint's text", st.breaks[i].text, sizeof st.breaks[i].text);
		}
		check_text("the program's message", st.message, sizeof st.message);
		check_text("the end's text", st.end_text, sizeof st.end_text);
		check_text("the stop's text", st.last_stop.text, sizeof st.last_stop.text);
		rav_live_close(s);
	}
	/* the "program" is done with this connection before the next input */
	pthread_mutex_lock(&P.lock);
	while (P.served < want)
		pthread_cond_wait(&P.cond, &P.lock);
	pthread_mutex_unlock(&P.lock);
	return 0;
}
