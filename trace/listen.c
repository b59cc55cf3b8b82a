/* listen.c - every program linked with ravioli_dep can be attached to.
 *
 * A constructor starts one thread that waits in poll() on a Unix socket,
 * DIR/PID.sock, in a directory only the user can enter (live.c).  That
 * thread is all a program pays while nobody is attached: the engine's only
 * check stays the one-branch tracing test.  RAVIOLI_LISTEN=0 switches it
 * off.  A program recording to a file (RAVIOLI_TRACE) still answers, to say
 * so.
 *
 * Connections: the peer's credentials are checked (SO_PEERCRED: the same
 * user, or root; a refusal is written to stderr once per user), then the
 * peer has a few seconds to send one whole control message.  Every message
 * is length-checked, checksummed and validated field by field (live.h);
 * anything else gets a SESSION ERROR reply and the connection is closed.
 * Nothing a client sends can block this thread: sockets are non-blocking,
 * partial messages wait with a deadline, at most MAX_PENDING handshakes at
 * once.
 *
 * ATTACH starts a session (session.c) on the connection; the listener
 * keeps reading that client's control messages (DETACH, STATS) and notices
 * when it goes away.  A second client gets "already attached by PID N".
 * The program's end is reported to the client: exit() from any thread (an
 * on_exit handler gives the status), or a fatal signal (handlers installed
 * for the session's duration on signals left at their default action, then
 * the signal takes its normal course).  A child forked without exec does not
 * listen.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "membuf.h"
#include "format.h"
#include "live.h"
#include "rav-record.h"
#include "ravioli.h"
#include "ravtrace.h"
#include "session.h"

#define MAX_PENDING 8
#define HANDSHAKE_MS 5000  /* a new connection sends its request within this */
#define PARTIAL_MS 10000   /* a started control message completes within this */
#define EXIT_WAIT_MS 3000  /* at exit(), the client gets this long to take the rest */
#define CRASH_WAIT_MS 2000 /* the same on a fatal signal */
#define LOST_SETTLE_MS 250 /* our descriptors closed: listen afresh this much later */
#define GONE_WAIT_MS 5000  /* an ATTACH waits this long for the end of a session whose client is gone (memcheck) */

typedef struct conn {
	int fd;
	ravt_fdid id;
	pid_t pid;
	uid_t uid;
	uint8_t buf[sizeof(ravt_ctl) + RAVT_CTL_MAX];
	size_t got;
	uint64_t deadline; /* ms */
} conn;

static const int hooked_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL,  SIGABRT, SIGTRAP, SIGSYS,
                                     SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGXCPU, SIGXFSZ};
#define NHOOKED (sizeof hooked_signals / sizeof hooked_signals[0])

static struct {
	int lfd; /* -1 while not listening */
	ravt_fdid lfd_id, wake_id[2]; /* lfd's and wake's */
	uint64_t lost_ms;             /* when our descriptors were found gone (0: they are not) */
	uint64_t relisten_ms;         /* when listening afresh was last tried */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int wake[2];
	pid_t pid;
	uint64_t start_ns;
	conn pend[MAX_PENDING];
	unsigned npend;
	conn ctl; /* the attached client's control stream (a dup of its socket) */
	bool has_ctl;
	uid_t refused[16];
	unsigned nrefused;
	bool hooked[NHOOKED];
	struct sigaction old[NHOOKED];
} L = {.lfd = -1, .lfd_id = {.fd = -1}, .wake = {-1, -1}, .wake_id = {{.fd = -1}, {.fd = -1}}};

/* ---- replies outside a session: a trace header and one SESSION record ---- */


/* Best effort, never blocks: the reply is small and the peer may be gone.
 * with_program: the header names the program (not for refused peers). */
static void reply(int fd, bool with_program, uint16_t type, const int64_t *v, unsigned nv, const char *text)
{
	static char cmdline[4096];
	ravt_writer_params p = {
	    .word_size = (uint8_t)sizeof(uintptr_t),
	    .cell_size = (uint16_t)RAV_CELL_SIZE,
	    .page_size = RAV_PAGE_SIZE,
	    .cmdline = cmdline,
	};
	if (with_program)
		p.cmdline_len = ravt_read_cmdline(cmdline, sizeof cmdline);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	p.start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	ravt_membuf m = {0};
	char err[256];
	ravt_writer *w = ravt_writer_new(&p, ravt_membuf_sink, &m, err, sizeof err);
	if (w) {
		size_t tlen = text ? strlen(text) : 0;
		uint8_t buf[sizeof(ravt_session) + 1024];
		if (tlen > 1024)
			tlen = 1024;
		ravt_session r = {
		    .type = type, .text_len = (uint32_t)tlen, .realtime_ns = p.start_realtime_ns};
		for (unsigned i = 0; i < nv && i < 16; i++)
			r.v[i] = v[i];
		memcpy(buf, &r, sizeof r);
		if (tlen)
			memcpy(buf + sizeof r, text, tlen);
		ravt_writer_raw_chunk(w, RAVT_CHUNK_SESSION, 0, buf, (uint32_t)(sizeof r + tlen), 0, 0, 0);
		ravt_writer_free(w);
		ssize_t n = send(fd, m.p, m.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		(void)n;
	}
	free(m.p);
}

static void reply_error(int fd, bool with_program, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(int fd, bool with_program, int code, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	int64_t v = code;
	reply(fd, with_program, RAVT_SESSION_ERROR, &v, 1, text);
}

/* ---- descriptors (session.h) ---- */

#define FD_FLOOR 64

int ravt_fd_keep(int fd, ravt_fdid *id)
{
	/* What it is, taken before it moves: a program closing every
	 * descriptor while this runs (a daemon's start, as the listener
	 * thread starts) may close the copy and put a pipe of its own there
	 * first; the copy is then not ours, and the original is closed only
	 * while it still is. */
	struct stat sb;
	id->fd = -1;
	if (fd < 0 || fstat(fd, &sb) != 0)
		return fd;
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	id->fd = fd;
	if (fd < FD_FLOOR) {
		int hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
		if (hi < 0 && fd < 3)
			hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (hi >= 0) {
			/* (the copy is of what had the number when it was made:
			 * ours, or already a file of the program's, which the copy
			 * must not keep open) */
			ravt_fdid copy = *id;
			copy.fd = hi;
			if (!ravt_fd_ours(&copy)) {
				close(hi);
				id->fd = -1;
				return fd;
			}
			if (ravt_fd_ours(id))
				close(fd);
			id->fd = fd = hi;
		}
	}
	return fd;
}

bool ravt_fd_ours(const ravt_fdid *id)
{
	struct stat sb;
	return id->fd >= 0 && fstat(id->fd, &sb) == 0 && sb.st_dev == id->dev && sb.st_ino == id->ino;
}

void ravt_fd_drop(ravt_fdid *id)
{
	if (ravt_fd_ours(id))
		close(id->fd);
	id->fd = -1;
}

static void close_conn(conn *c)
{
	if (c->fd >= 0 && ravt_fd_ours(&c->id)) {
		shutdown(c->fd, SHUT_WR);
		close(c->fd);
	}
	c->fd = -1;
	c->id.fd = -1;
}

/* ---- fatal signals during a session ---- */

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	ravt_session_crash(sig, CRASH_WAIT_MS);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(sig, &dfl, NULL);
	if (L.path[0])
		unlink(L.path);
	/* A signal that was sent is sent again (it is blocked until we
	 * return); a fault recurs when the instruction runs again. */
	if (!si || si->si_code <= 0)
		raise(sig);
	errno = saved;
}

static void hook_signals(void)
{
	for (size_t i = 0; i < NHOOKED; i++) {
		struct sigaction cur;
		if (sigaction(hooked_signals[i], NULL, &cur) != 0)
			continue;
		if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
			continue; /* the program has its own: leave it alone */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
		sigemptyset(&sa.sa_mask);
		if (sigaction(hooked_signals[i], &sa, &L.old[i]) == 0)
			L.hooked[i] = true;
	}
}

static void unhook_signals(void)
{
	for (size_t i = 0; i < NHOOKED; i++) {
		if (!L.hooked[i])
			continue;
		struct sigaction cur;
		if (sigaction(hooked_signals[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == on_signal)
			sigaction(hooked_signals[i], &L.old[i], NULL);
		L.hooked[i] = false;
	}
}

/* ---- requests ---- */

static bool is_known_type(uint16_t t)
{
	return t == RAVT_CTL_ATTACH || t == RAVT_CTL_INFO || t == RAVT_CTL_DETACH || t == RAVT_CTL_STATS ||
	       (t >= RAVT_CTL_PAUSE && t <= RAVT_CTL_BREAK_CLEAR);
}

static void answer_info(int fd)
{
	rav_census c;
	rav_record_census(&c, NULL, 0);
	pid_t client = 0;
	bool live = ravt_session_live(&client);
	bool busy = rav_record_active() && !live;
	int64_t v[8] = {getpid(),
	                geteuid(),
	                (int64_t)L.start_ns,
	                c.threads,
	                (int64_t)c.live_cells,
	                (int64_t)c.pool_used_pages,
	                live ? client : 0,
	                busy};
	reply(fd, true, RAVT_SESSION_INFO, v, 8, NULL);
}

/* The attached client's control descriptor is done with. */
static void end_ctl(void)
{
	if (L.has_ctl)
		ravt_fd_drop(&L.ctl.id);
	L.has_ctl = false;
}

/* A complete request on a connection that is not attached.  Returns true if
 * the connection became the session's. */
static bool handle_request(conn *c, const ravt_ctl *h, const uint8_t *payload)
{
	if (!is_known_type(h->type)) {
		reply_error(c->fd, true, RAVT_LIVE_EPROTO, "unknown request type %u", h->type);
		return false;
	}
	if (h->type == RAVT_CTL_INFO) {
		if (h->len)
			reply_error(c->fd, true, RAVT_LIVE_EPROTO, "INFO takes no payload (%u bytes sent)",
			            h->len);
		else
			answer_info(c->fd);
		return false;
	}
	if (h->type != RAVT_CTL_ATTACH) {
		reply_error(c->fd, true, RAVT_LIVE_ESTATE,
		            "not attached: send ATTACH first (request type %u)", h->type);
		return false;
	}
	ravt_ctl_attach a;
	if (h->len != sizeof a) {
		reply_error(c->fd, true, RAVT_LIVE_EPROTO, "ATTACH takes %zu bytes of payload, not %u",
		            sizeof a, h->len);
		return false;
	}
	memcpy(&a, payload, sizeof a);
	if (a.protocol != RAVT_LIVE_PROTOCOL) {
		reply_error(c->fd, true, RAVT_LIVE_EVERSION,
		            "protocol %u is not spoken here (this program speaks %u)", a.protocol,
		            RAVT_LIVE_PROTOCOL);
		return false;
	}
	if ((a.mode & ~RAVT_MODE_ALL) || a.reserved ||
	    (a.queue_kib &&
	     (a.queue_kib < RAVT_LIVE_QUEUE_KIB_MIN || a.queue_kib > RAVT_LIVE_QUEUE_KIB_MAX)) ||
	    a.stats_ms > 3600 * 1000) {
		reply_error(
		    c->fd, true, RAVT_LIVE_EPROTO,
		    "ATTACH fields out of range (mode %#x, queue %u KiB: %u to %u or 0, stats every %u ms: "
		    "at most an hour, reserved %u)",
		    a.mode, a.queue_kib, RAVT_LIVE_QUEUE_KIB_MIN, RAVT_LIVE_QUEUE_KIB_MAX, a.stats_ms,
		    a.reserved);
		return false;
	}
	pid_t other;
	if (ravt_session_live(&other) && (!L.has_ctl || (other > 0 && kill(other, 0) != 0 && errno == ESRCH))) {
		/* The session's client is gone (its connection closed, or its
		 * process is: killed, and its hang-up not read here yet) and the
		 * session is ending: this client waits for that end instead of
		 * being told the program is "already attached by" a dead
		 * process.  (A session thread busy snapshotting messages in
		 * flight once kept that up for seconds.) */
		if (L.has_ctl) {
			ravt_session_client_gone();
			end_ctl();
		}
		ravt_session_stop(RAVT_END_CLOSED, 0, "the client went away", GONE_WAIT_MS);
	}
	if (ravt_session_live(&other)) {
		reply_error(c->fd, true, RAVT_LIVE_EBUSY, "already attached by PID %ld", (long)other);
		return false;
	}
	if (rav_record_active()) {
		reply_error(
		    c->fd, true, RAVT_LIVE_ERECORDING,
		    "this program records its whole run to a file (RAVIOLI_TRACE); attach is not available");
		return false;
	}
	/* An earlier session that has just ended, its end not seen by this
	 * thread yet (the wake-up comes in a later round): done with it here,
	 * its control descriptor included, or L.ctl below would drop it open. */
	if (ravt_session_reap())
		unhook_signals();
	end_ctl();
	int rfd = fcntl(c->fd, F_DUPFD_CLOEXEC, FD_FLOOR);
	if (rfd < 0)
		rfd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
	if (rfd < 0) {
		reply_error(c->fd, true, RAVT_LIVE_ERESOURCE, "cannot attach: %s", strerror(errno));
		return false;
	}
	ravt_fdid rid;
	ravt_fd_keep(rfd, &rid);
	rav_session_opts o = {c->fd, c->id, a.mode, a.queue_kib, a.stats_ms, c->pid, c->uid, L.start_ns};
	char err[256];
	if (ravt_session_start(&o, err, sizeof err) != 0) {
		ravt_fd_drop(&rid);
		reply_error(c->fd, true, RAVT_LIVE_ERESOURCE, "cannot attach: %s", err);
		return false;
	}
	hook_signals();
	L.ctl = *c;
	L.ctl.fd = rfd;
	L.ctl.id = rid;
	L.ctl.got = 0;
	L.ctl.deadline = 0;
	L.has_ctl = true;
	return true;
}

/* The attached client's whole messages in L.ctl.buf, in order; false if
 * the framing broke (the session is ended and the descriptor closed). */
static bool take_ctl(void)
{
	for (;;) {
		ravt_ctl h;
		const uint8_t *payload;
		size_t used;
		const char *why;
		int r = ravt_ctl_parse(L.ctl.buf, L.ctl.got, &h, &payload, &used, &why);
		if (r < 0) {
			char text[256];
			snprintf(text, sizeof text, "the client sent an invalid control message: %s", why);
			ravt_session_reply_error(RAVT_LIVE_EPROTO, text);
			ravt_session_stop(RAVT_END_ERROR, 0, text, 0);
			end_ctl();
			return false;
		}
		if (r == 0) {
			L.ctl.deadline = L.ctl.got ? ravt_mono_ms() + PARTIAL_MS : 0;
			return true;
		}
		if (!is_known_type(h.type)) {
			char text[96];
			snprintf(text, sizeof text, "unknown request type %u", h.type);
			ravt_session_reply_error(RAVT_LIVE_EPROTO, text);
		} else if ((h.type == RAVT_CTL_DETACH || h.type == RAVT_CTL_STATS) && h.len) {
			ravt_session_reply_error(RAVT_LIVE_EPROTO, "DETACH and STATS take no payload");
		} else if (h.type == RAVT_CTL_DETACH) {
			ravt_session_stop(RAVT_END_DETACHED, 0, "detached by the client", 0);
		} else if (h.type == RAVT_CTL_STATS) {
			ravt_session_request_stats();
		} else if (h.type == RAVT_CTL_ATTACH || h.type == RAVT_CTL_INFO) {
			ravt_session_reply_error(RAVT_LIVE_ESTATE, "already attached (by this connection)");
		} else {
			ravt_debugger_control(h.type, payload, h.len);
		}
		memmove(L.ctl.buf, L.ctl.buf + used, L.ctl.got - used);
		L.ctl.got -= used;
		L.ctl.deadline = 0;
	}
}

/* Bytes from the attached client. */
static void read_ctl(void)
{
	for (;;) {
		ssize_t n = recv(L.ctl.fd, L.ctl.buf + L.ctl.got, sizeof L.ctl.buf - L.ctl.got, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			ravt_session_client_gone();
			end_ctl();
			return;
		}
		L.ctl.got += (size_t)n;
		if (!take_ctl())
			return;
		if (L.ctl.got == sizeof L.ctl.buf)
			break; /* cannot happen: a whole message fits, and it was parsed */
	}
}

static void drop_pending(unsigned i)
{
	L.pend[i] = L.pend[--L.npend];
}

/* Bytes on a connection waiting for its request; true if it is done with. */
static bool read_pending(conn *c)
{
	ssize_t n = recv(c->fd, c->buf + c->got, sizeof c->buf - c->got, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return false;
	if (n <= 0) {
		close_conn(c);
		return true;
	}
	c->got += (size_t)n;
	ravt_ctl h;
	const uint8_t *payload;
	size_t used;
	const char *why;
	int r = ravt_ctl_parse(c->buf, c->got, &h, &payload, &used, &why);
	if (r == 0)
		return false;
	if (r < 0) {
		reply_error(c->fd, true, RAVT_LIVE_EPROTO, "%s", why);
		close_conn(c);
		return true;
	}
	if (handle_request(c, &h, payload)) {
		/* bytes after the request are the session's first control
		 * bytes: taken now (a client that sent ATTACH and DETACH in one
		 * write had its DETACH wait for its next bytes, which a client
		 * waiting for the end never sent) */
		if (c->got > used) {
			memcpy(L.ctl.buf, c->buf + used, c->got - used);
			L.ctl.got = c->got - used;
			take_ctl();
		}
		return true;
	}
	close_conn(c);
	return true;
}

static void log_refusal(uid_t uid, pid_t pid)
{
	for (unsigned i = 0; i < L.nrefused; i++)
		if (L.refused[i] == uid)
			return;
	if (L.nrefused < sizeof L.refused / sizeof L.refused[0])
		L.refused[L.nrefused++] = uid;
	fprintf(stderr, "ravioli: refused an attach from uid %u (pid %ld): only uid %u or root may attach\n",
	        (unsigned)uid, (long)pid, (unsigned)geteuid());
}

static void accept_all(void)
{
	for (;;) {
		int fd = accept4(L.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		ravt_fdid id;
		fd = ravt_fd_keep(fd, &id);
		struct ucred cr;
		socklen_t len = sizeof cr;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
			ravt_fd_drop(&id);
			continue;
		}
		if (cr.uid != geteuid() && cr.uid != 0) {
			log_refusal(cr.uid, cr.pid);
			reply_error(fd, false, RAVT_LIVE_EREFUSED,
			            "refused: this program runs as uid %u, you are uid %u",
			            (unsigned)geteuid(), (unsigned)cr.uid);
			conn c = {.fd = fd, .id = id};
			close_conn(&c);
			continue;
		}
		if (L.npend == MAX_PENDING) {
			reply_error(fd, true, RAVT_LIVE_EBUSY, "too many connections are waiting; try again");
			conn c = {.fd = fd, .id = id};
			close_conn(&c);
			continue;
		}
		conn *c = &L.pend[L.npend++];
		c->fd = fd;
		c->id = id;
		c->pid = cr.pid;
		c->uid = cr.uid;
		c->got = 0;
		c->deadline = ravt_mono_ms() + HANDSHAKE_MS;
	}
}

static int make_listener(bool again, char *err, size_t errlen);
static bool listen_verbose;

/* The program may have closed our descriptors (daemons close every one above
 * 2 at their start) and taken the numbers for its own files and pipes:
 * polled, the listener spun on a file that is always readable and read the
 * program's pipe; written, the session's end went into it.  Checked before
 * each poll (which wakes at least once a second: a poll() on a closed
 * descriptor's socket sleeps on and hears nobody); whatever is not ours any
 * more is forgotten, never closed, and the socket made anew. */
static void check_fds(void)
{
	if (L.has_ctl && !ravt_fd_ours(&L.ctl.id)) {
		ravt_session_client_gone();
		L.ctl.id.fd = -1;
		L.has_ctl = false;
	}
	for (unsigned k = L.npend; k-- > 0;)
		if (!ravt_fd_ours(&L.pend[k].id))
			drop_pending(k);
	uint64_t now = ravt_mono_ms();
	if (!L.lost_ms) {
		if (L.lfd >= 0 && ravt_fd_ours(&L.lfd_id) && ravt_fd_ours(&L.wake_id[0]) &&
		    ravt_fd_ours(&L.wake_id[1]))
			return;
		/* Forgotten at once (never polled again: the numbers may be the
		 * program's pipes now), not closed, even those still ours: the
		 * program is likely closing descriptors right now, and one it
		 * closed between our check and our close() may be a pipe of its
		 * own already (a daemon's loop closing them all reaches ours
		 * anyway). */
		L.lfd_id.fd = L.wake_id[0].fd = L.wake_id[1].fd = -1;
		L.lfd = L.wake[0] = L.wake[1] = -1;
		L.lost_ms = now ? now : 1;
	}
	/* Listening afresh waits until the program's burst of closing and
	 * opening is over (a new socket made in the middle of a daemon's loop
	 * over its descriptors was closed by it again, and raced its opens),
	 * and tries at most once a second. */
	if (now - L.lost_ms < LOST_SETTLE_MS || (L.relisten_ms && now - L.relisten_ms < 1000))
		return;
	L.relisten_ms = now;
	char err[600];
	if (make_listener(true, err, sizeof err) != 0) {
		if (listen_verbose)
			fprintf(stderr, "ravioli: the program closed the attach socket; listening again failed: %s\n",
			        err);
		return;
	}
	L.lost_ms = 0;
	ravt_session_init(&L.wake_id[1]);
	/* a session that ended while the wake-up socket was gone */
	if (ravt_session_reap()) {
		end_ctl();
		unhook_signals();
	}
}

/* Set by the listener thread once it runs its own code (atfork_prepare). */
static int listener_up;

static void *listener_main(void *arg)
{
	(void)arg;
	__atomic_store_n(&listener_up, 1, __ATOMIC_RELEASE);
	for (;;) {
		check_fds();
		struct pollfd pf[3 + MAX_PENDING];
		unsigned n = 0;
		pf[n++] = (struct pollfd){L.lfd, POLLIN, 0};
		pf[n++] = (struct pollfd){L.wake[0], POLLIN, 0};
		unsigned ctl_at = n;
		if (L.has_ctl)
			pf[n++] = (struct pollfd){L.ctl.fd, POLLIN, 0};
		unsigned pend_at = n;
		for (unsigned i = 0; i < L.npend; i++)
			pf[n++] = (struct pollfd){L.pend[i].fd, POLLIN, 0};
		uint64_t now = ravt_mono_ms(), next = UINT64_MAX;
		for (unsigned i = 0; i < L.npend; i++)
			if (L.pend[i].deadline < next)
				next = L.pend[i].deadline;
		if (L.has_ctl && L.ctl.deadline && L.ctl.deadline < next)
			next = L.ctl.deadline;
		int timeout = next == UINT64_MAX ? 1000 : next > now ? (int)(next - now) : 0;
		if (timeout > 1000)
			timeout = 1000;
		if (L.lost_ms && timeout > 100)
			timeout = 100; /* listening afresh soon (check_fds) */
		int r = poll(pf, n, timeout);
		if (r < 0 && errno != EINTR)
			return NULL;
		if (r > 0 && (pf[0].revents & (POLLERR | POLLNVAL)))
			continue; /* the program closed our socket: check_fds */
		if (r > 0 && (pf[1].revents & POLLIN)) {
			char junk[64];
			while (recv(L.wake[0], junk, sizeof junk, MSG_DONTWAIT) > 0)
				;
			if (ravt_session_reap()) {
				end_ctl();
				unhook_signals();
			}
		}
		if (r > 0 && L.has_ctl && (pf[ctl_at].revents & (POLLIN | POLLHUP | POLLERR)))
			read_ctl();
		/* pending connections, newest last: walk backwards as they leave */
		for (unsigned k = L.npend; k-- > 0;) {
			unsigned slot = pend_at + k;
			bool ready = r > 0 && slot < n && (pf[slot].revents & (POLLIN | POLLHUP | POLLERR));
			if (ready && read_pending(&L.pend[k])) {
				drop_pending(k);
				continue;
			}
			if (ravt_mono_ms() >= L.pend[k].deadline) {
				reply_error(L.pend[k].fd, true, RAVT_LIVE_ETIMEOUT,
				            "no complete request within %d ms", HANDSHAKE_MS);
				close_conn(&L.pend[k]);
				drop_pending(k);
			}
		}
		if (L.has_ctl && L.ctl.deadline && ravt_mono_ms() >= L.ctl.deadline) {
			ravt_session_reply_error(RAVT_LIVE_ETIMEOUT,
			                         "a control message did not arrive whole in time");
			ravt_session_stop(RAVT_END_ERROR, 0, "a control message did not arrive whole in time",
			                  0);
			end_ctl();
		}
		if (r > 0 && (pf[0].revents & POLLIN))
			accept_all();
	}
	return NULL;
}

/* ---- process start, exit, fork ---- */

static void on_exit_cb(int status, void *arg)
{
	(void)arg;
	if (getpid() != L.pid)
		return;
	if (ravt_session_live(NULL)) {
		char text[64];
		snprintf(text, sizeof text, "exited with status %d", status);
		ravt_session_stop(RAVT_END_EXITED, status, text, EXIT_WAIT_MS);
	}
	if (L.path[0])
		unlink(L.path);
}

/* exec-hook.c: the program calls exec (no on_exit handler runs): an
 * attached client gets the END record (how RAVT_END_CLOSED) and the rest of
 * the stream.  The socket stays: the new image, same pid, replaces it. */
bool ravt_listen_before_exec(const char *what)
{
	if (L.pid == 0 || getpid() != L.pid || !ravt_session_live(NULL))
		return false;
	char text[128];
	snprintf(text, sizeof text, "the program called exec (%.80s)", what ? what : "(null)");
	ravt_session_stop(RAVT_END_CLOSED, 0, text, EXIT_WAIT_MS);
	return true;
}

/* A program that forks in its first instants forks while the listener
 * thread may still be starting.  Under AddressSanitizer (gcc 12's libasan)
 * that start-up takes the sanitizer's thread-registry and allocator locks,
 * which fork() does not take first: a child forked meanwhile inherited them
 * held and hung at its first thread or allocation (tests/trace/
 * attach-fork-early.c: 3 runs in 100 under load).  Nothing else of the
 * listener's is held across fork (it waits in poll() between connections),
 * so fork waits for the start-up to be over: microseconds, once; at most a
 * second if the thread never runs. */
static void atfork_prepare(void)
{
	if (!L.pid || getpid() != L.pid)
		return;
	for (int i = 0; i < 20000 && !__atomic_load_n(&listener_up, __ATOMIC_ACQUIRE); i++) {
		struct timespec d = {0, 50 * 1000};
		nanosleep(&d, NULL);
	}
}

static void atfork_child(void)
{
	/* No listener thread here: nobody can attach to this child. */
	ravt_session_atfork_child();
	ravt_fd_drop(&L.lfd_id);
	L.lfd = -1;
	if (L.has_ctl)
		ravt_fd_drop(&L.ctl.id);
	L.has_ctl = false;
	for (unsigned i = 0; i < L.npend; i++)
		ravt_fd_drop(&L.pend[i].id);
	L.npend = 0;
	L.path[0] = 0;
}

/* Another process owns this path if something accepts connections on it. */
static bool someone_listens(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool yes = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
	close(fd);
	return yes;
}

/* The socket (bound, listening, renamed into place) and the wake-up pair,
 * in L.  again: the process listened before and the program closed the
 * socket (whatever is at the path is ours to replace). */
static int make_listener(bool again, char *err, size_t errlen)
{
	char dir[4096];
	if (ravt_live_dir(dir, sizeof dir, true, err, errlen) != 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (ravt_live_socket_path(sa.sun_path, sizeof sa.sun_path, dir, getpid()) != 0) {
		snprintf(err, errlen, "socket path in %.200s is too long", dir);
		return -1;
	}
	/* The socket is made under a name `ravtrace list` skips (".PID.sock.new")
	 * and renamed into place once it listens: a path that exists always
	 * accepts.  (Bound straight to PID.sock, the path existed before
	 * listen(): a client connecting then was refused, and `ravtrace list`
	 * took the socket for one a dead process left and removed it.) */
	struct sockaddr_un tmp = {.sun_family = AF_UNIX};
	int tn = snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s/.%ld.sock.new", dir, (long)getpid());
	if (tn < 0 || (size_t)tn >= sizeof tmp.sun_path) {
		snprintf(err, errlen, "socket path in %.200s is too long", dir);
		return -1;
	}
	struct stat sb;
	if (!again && lstat(sa.sun_path, &sb) == 0 && someone_listens(&sa)) {
		snprintf(err, errlen, "cannot listen on %s: another process listens there", sa.sun_path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	ravt_fdid fd_id;
	fd = ravt_fd_keep(fd, &fd_id);
	unlink(tmp.sun_path); /* left by a dead process with our pid */
	if (bind(fd, (struct sockaddr *)&tmp, sizeof tmp) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", tmp.sun_path, strerror(errno));
		ravt_fd_drop(&fd_id);
		return -1;
	}
	chmod(tmp.sun_path, 0600);
	if (listen(fd, 8) != 0) {
		snprintf(err, errlen, "listen: %s", strerror(errno));
		unlink(tmp.sun_path);
		ravt_fd_drop(&fd_id);
		return -1;
	}
	/* replaces a socket a dead process with our pid left */
	if (rename(tmp.sun_path, sa.sun_path) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", sa.sun_path, strerror(errno));
		unlink(tmp.sun_path);
		ravt_fd_drop(&fd_id);
		return -1;
	}
	/* A socket pair rather than a pipe: recv() and send() fail on a pipe
	 * or file of the program's that took the number between our check
	 * and the call (check_fds) where read() and write() took its data. */
	int wake[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, wake) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		unlink(sa.sun_path);
		ravt_fd_drop(&fd_id);
		return -1;
	}
	L.wake[0] = ravt_fd_keep(wake[0], &L.wake_id[0]);
	L.wake[1] = ravt_fd_keep(wake[1], &L.wake_id[1]);
	L.lfd = fd;
	L.lfd_id = fd_id;
	snprintf(L.path, sizeof L.path, "%s", sa.sun_path);
	return 0;
}

static int start_listening(char *err, size_t errlen)
{
	if (make_listener(false, err, errlen) != 0)
		return -1;
	ravt_session_init(&L.wake_id[1]);
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Signals stay with the program's threads. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&th, &attr, listener_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the listener thread: %s", strerror(rc));
		unlink(L.path);
		L.path[0] = 0;
		ravt_fd_drop(&L.lfd_id);
		L.lfd = -1;
		return -1;
	}
	return 0;
}

/* Called by the recorder's constructor (recorder.c), so that a static link
 * that pulls in the recorder pulls in the listener too. */
void ravt_listen_autostart(void)
{
	const char *v = getenv("RAVIOLI_LISTEN");
	if (v && strcmp(v, "0") == 0)
		return;
	listen_verbose = v && *v;
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	L.start_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	L.pid = getpid();
	char err[600];
	if (start_listening(err, sizeof err) != 0) {
		/* Say why when asked to listen, or when the reason looks like
		 * someone tampering with the socket directory. */
		if ((v && *v) || strstr(err, "refusing"))
			fprintf(stderr, "ravioli: not listening for attach: %s\n", err);
		return;
	}
	on_exit(on_exit_cb, NULL);
	pthread_atfork(atfork_prepare, NULL, atfork_child);
	/* RAVIOLI_LISTEN_WAIT=S: a debugger starting this program attaches
	 * before main() runs (so it sees every event); wait up to S seconds. */
	const char *w = getenv("RAVIOLI_LISTEN_WAIT");
	if (w && *w) {
		char *end;
		long secs = strtol(w, &end, 10);
		unsetenv("RAVIOLI_LISTEN_WAIT"); /* not for the programs this one starts */
		if (*end || secs <= 0 || secs > 3600) {
			fprintf(stderr, "ravioli: RAVIOLI_LISTEN_WAIT=%s: expected seconds (1-3600)\n", w);
			return;
		}
		/* (until it records, not only until it is attached: the
		 * session thread begins recording, and a loaded machine ran
		 * 256 rounds of a program before it did, which the client
		 * never saw) */
		for (long waited = 0; waited < secs * 100 && !ravt_session_recording(); waited++) {
			struct timespec d = {0, 10 * 1000 * 1000};
			nanosleep(&d, NULL);
		}
		if (!ravt_session_recording())
			fprintf(stderr, "ravioli: no client attached within %ld s (RAVIOLI_LISTEN_WAIT); running\n",
			        secs);
		/* RAVIOLI_LISTEN_PAUSED=1 (with the wait): the debugger has
		 * breakpoints to set before the program runs (ravscope
		 * --break=WHERE -- PROG): start paused, every thread held at
		 * its first engine call, until the client continues.  A pause
		 * the client sent after the attach came 0.1-0.2 s late. */
		const char *p = getenv("RAVIOLI_LISTEN_PAUSED");
		bool paused = p && !strcmp(p, "1");
		unsetenv("RAVIOLI_LISTEN_PAUSED");
		if (paused && ravt_session_recording())
			rav_debug_pause(true);
	}
}
