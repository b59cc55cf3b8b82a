/* ravscope-live.c - a live session, receiving on a worker thread.
 *
 * The worker calls rav_live_pump in a loop: every byte the program sends is
 * written into a pipe whose read end the document reads with
 * rav_trace_open_fd / rav_trace_poll on the main loop (libravtrace keeps
 * the bytes in a spool file, so a long session costs what an open file
 * costs), and what the SESSION records say lands in a rav_live_status the
 * window copies out under a lock.  The pipe holds 256 KiB and the
 * worker blocks on it when the window falls behind: the program is then
 * protected by its own bounded queue (it drops and resynchronises), never
 * by ravscope buffering without bound.
 *
 * Control requests (pause, continue, step, breakpoints, detach) are sent
 * on the session's socket from the main thread while the worker reads it
 * (a socket is full duplex).  Closing the session closes the socket, which
 * releases a program this client paused.
 *
 * A program started here (Run Program) gets RAVIOLI_LISTEN_WAIT, so it
 * waits for this client before main(), and a lossless session, so it
 * waits for us whenever we fall behind: the session has every event.  Its
 * stdout and stderr come through a pipe the worker also drains.
 */
#include "ravscope-live.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ravscope-document.h"

struct _RavscopeLive {
	GObject parent_instance;
	rav_live_session *session;
	int pid;
	char *command;
	int pipe_r, pipe_w; /* the stream, worker -> document */
	int out_r;          /* a spawned program's stdout + stderr, or -1 */
	GThread *worker;
	GMutex lock;
	rav_live_status status; /* under lock */
	GString *output;        /* under lock */
	int wait_status;        /* under lock: -1 until reaped */
	gboolean stop;          /* under lock: the worker should end */
	gboolean spawned;
	gboolean detached;      /* the user detached: a spawned program runs on */
	gboolean ended_by_us;   /* ravscope_live_end_program sent SIGTERM */
	gboolean lossless;      /* started here: the program waits for us */
	gint worker_done; /* atomic */
	/* events/s from the status over time (main thread) */
	gint64 rate_t0;
	guint64 rate_events0;
	double rate;
};

G_DEFINE_FINAL_TYPE(RavscopeLive, ravscope_live, G_TYPE_OBJECT)

static gpointer worker_main(gpointer data)
{
	RavscopeLive *self = data;
	rav_live_status st = { 0 };
	rav_trace_error err = { 0 };
	for (;;) {
		g_mutex_lock(&self->lock);
		gboolean stop = self->stop;
		g_mutex_unlock(&self->lock);
		if (stop)
			break;
		if (self->out_r >= 0) {
			char buf[4096];
			ssize_t n;
			while ((n = read(self->out_r, buf, sizeof buf)) > 0) {
				g_mutex_lock(&self->lock);
				/* bounded: a chatty program keeps its last 256 KiB */
				if (self->output->len > (256u << 10))
					g_string_erase(self->output, 0, self->output->len - (128u << 10));
				g_string_append_len(self->output, buf, n);
				g_mutex_unlock(&self->lock);
			}
			if (n == 0) {
				close(self->out_r);
				self->out_r = -1;
			}
		}
		if (self->spawned) {
			int ws;
			g_mutex_lock(&self->lock);
			gboolean running = self->wait_status < 0;
			g_mutex_unlock(&self->lock);
			if (running && waitpid(self->pid, &ws, WNOHANG) == self->pid) {
				g_mutex_lock(&self->lock);
				self->wait_status = ws;
				g_mutex_unlock(&self->lock);
			}
		}
		if (st.ended) {
			if (self->pipe_w >= 0) {
				close(self->pipe_w); /* end of stream for the document */
				self->pipe_w = -1;
			}
			/* A spawned program: its output and exit status still come. */
			if (!self->spawned)
				break;
			g_mutex_lock(&self->lock);
			gboolean reaped = self->wait_status >= 0;
			g_mutex_unlock(&self->lock);
			if (reaped && self->out_r < 0)
				break;
			g_usleep(20000);
			continue;
		}
		int64_t n = rav_live_pump(self->session, 50, self->pipe_w, &st, &err);
		if (n < 0) {
			g_mutex_lock(&self->lock);
			snprintf(self->status.message, sizeof self->status.message, "%s", err.message);
			g_mutex_unlock(&self->lock);
			st.ended = TRUE;
		}
		g_mutex_lock(&self->lock);
		char msg[512];
		memcpy(msg, self->status.message, sizeof msg);
		self->status = st;
		if (n < 0)
			memcpy(self->status.message, msg, sizeof msg);
		g_mutex_unlock(&self->lock);
	}
	if (self->pipe_w >= 0) {
		close(self->pipe_w);
		self->pipe_w = -1;
	}
	g_atomic_int_set(&self->worker_done, 1);
	return NULL;
}

static void ravscope_live_finalize(GObject *object)
{
	RavscopeLive *self = RAVSCOPE_LIVE(object);
	ravscope_live_close(self);
	if (self->pipe_r >= 0)
		close(self->pipe_r);
	if (self->out_r >= 0)
		close(self->out_r);
	g_string_free(self->output, TRUE);
	g_free(self->command);
	g_mutex_clear(&self->lock);
	G_OBJECT_CLASS(ravscope_live_parent_class)->finalize(object);
}

static void ravscope_live_class_init(RavscopeLiveClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = ravscope_live_finalize;
}

static void ravscope_live_init(RavscopeLive *self)
{
	g_mutex_init(&self->lock);
	self->pipe_r = self->pipe_w = self->out_r = -1;
	self->output = g_string_new(NULL);
	self->wait_status = -1;
}

static gboolean start_worker(RavscopeLive *self, GError **error)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0) {
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_EIO, "cannot create a pipe: %s", g_strerror(errno));
		return FALSE;
	}
	fcntl(p[1], F_SETPIPE_SZ, 256 << 10);
	self->pipe_r = p[0];
	self->pipe_w = p[1];
	/* the document must not wait for more than the header: it polls */
	fcntl(self->pipe_r, F_SETFL, fcntl(self->pipe_r, F_GETFL) | O_NONBLOCK);
	self->rate_t0 = g_get_monotonic_time();
	self->worker = g_thread_new("ravscope-live", worker_main, self);
	return TRUE;
}

static char *command_of(int pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", pid);
	gsize n = 0;
	char *raw = NULL;
	if (!g_file_get_contents(path, &raw, &n, NULL) || n == 0) {
		g_free(raw);
		return g_strdup_printf("process %d", pid);
	}
	for (gsize i = 0; i + 1 < n; i++)
		if (raw[i] == 0)
			raw[i] = ' ';
	return raw;
}

RavscopeLive *ravscope_live_attach(int pid, gboolean accesses, GError **error)
{
	rav_trace_error err = { 0 };
	rav_live_options o = { .access = accesses };
	rav_live_session *s = rav_live_attach(pid, &o, &err);
	if (!s) {
		g_set_error_literal(error, RAVSCOPE_ERROR, err.code, err.message);
		return NULL;
	}
	RavscopeLive *self = g_object_new(RAVSCOPE_TYPE_LIVE, NULL);
	self->session = s;
	self->pid = pid;
	self->command = command_of(pid);
	if (!start_worker(self, error)) {
		g_object_unref(self);
		return NULL;
	}
	return self;
}

RavscopeLive *ravscope_live_spawn(const char *const *argv, GError **error)
{
	return ravscope_live_spawn_full(argv, FALSE, error);
}

RavscopeLive *ravscope_live_spawn_full(const char *const *argv, gboolean paused, GError **error)
{
	if (!argv || !argv[0]) {
		g_set_error_literal(error, RAVSCOPE_ERROR, RAV_TRACE_EIO, "no program to run");
		return NULL;
	}
	int out[2];
	if (pipe2(out, O_CLOEXEC) != 0) {
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_EIO, "cannot create a pipe: %s", g_strerror(errno));
		return NULL;
	}
	/* exec failure is reported through this pipe */
	int errp[2];
	if (pipe2(errp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_EIO, "cannot create a pipe: %s", g_strerror(errno));
		return NULL;
	}
	/* The program's environment, made before the fork: the child of a
	 * process with threads (GTK's, the live workers') may call only
	 * async-signal-safe functions, and setenv() allocates (a child forked
	 * while another thread held the allocator's lock would hang in it). */
	char **envp = g_get_environ();
	envp = g_environ_setenv(envp, "RAVIOLI_LISTEN", "1", TRUE);
	envp = g_environ_setenv(envp, "RAVIOLI_LISTEN_WAIT", "20", TRUE);
	if (paused) /* held at its first engine call until we continue */
		envp = g_environ_setenv(envp, "RAVIOLI_LISTEN_PAUSED", "1", TRUE);
	envp = g_environ_unsetenv(envp, "RAVIOLI_TRACE");
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		g_strfreev(envp);
		close(out[0]);
		close(out[1]);
		close(errp[0]);
		close(errp[1]);
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_EIO, "cannot start %s: %s", argv[0], g_strerror(e));
		return NULL;
	}
	if (pid == 0) {
		/* A ravscope that dies without running its end (SIGKILL, or its
		 * X display gone: GTK leaves at once) must not leave the program
		 * it started running on alone: the program gets SIGTERM then, as
		 * when ravscope ends normally.  (Forked by the main thread, which
		 * lives as long as ravscope: the signal comes when the forking
		 * thread ends.)  A ravscope already gone: do not start it. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		dup2(out[1], 1);
		dup2(out[1], 2);
		execvpe(argv[0], (char *const *)argv, envp);
		int e = errno;
		ssize_t w = write(errp[1], &e, sizeof e);
		(void)w;
		_exit(127);
	}
	g_strfreev(envp);
	close(out[1]);
	close(errp[1]);
	int e = 0;
	ssize_t got = read(errp[0], &e, sizeof e);
	close(errp[0]);
	if (got == (ssize_t)sizeof e) {
		waitpid(pid, NULL, 0);
		close(out[0]);
		g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_EIO, "cannot run %s: %s", argv[0], g_strerror(e));
		return NULL;
	}
	/* It waits for us in its constructor: attach as soon as it listens. */
	rav_trace_error err = { 0 };
	/* Lossless: the user started it here to see it from its first event,
	 * so it waits for us when we fall behind (a loaded machine, a long
	 * frame) instead of dropping events and resynchronising. */
	rav_live_options o = { .lossless = true };
	/* A lossless session's queue is how far the program runs ahead of the
	 * view when it fills: 8 MiB (256k events) kept a flat-out program's
	 * event-to-screen p99 at 32-34 ms where the 32 MiB default gave 41-116
	 * ms, at the same rate (ravscope --bench --live; 2 MiB cost a fifth of
	 * the rate).  RAVIOLI_LISTEN_QUEUE_KIB, which the program inherits,
	 * still decides when set. */
	const char *q = g_getenv("RAVIOLI_LISTEN_QUEUE_KIB");
	if (!q || !*q)
		o.queue_kib = 8192;
	rav_live_session *s = NULL;
	for (int i = 0; i < 200 && !s; i++) {
		s = rav_live_attach(pid, &o, &err);
		if (!s) {
			int ws;
			if (waitpid(pid, &ws, WNOHANG) == pid) {
				GString *txt = g_string_new(NULL);
				char buf[1024];
				ssize_t n;
				while ((n = read(out[0], buf, sizeof buf)) > 0)
					g_string_append_len(txt, buf, n);
				close(out[0]);
				g_set_error(error, RAVSCOPE_ERROR, RAV_TRACE_EIO,
					    "%s ended before it could be attached to (%s %d)%s%s", argv[0],
					    WIFEXITED(ws) ? "exit status" : "signal",
					    WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws), txt->len ? ": " : "", txt->str);
				g_string_free(txt, TRUE);
				return NULL;
			}
			g_usleep(50000);
		}
	}
	if (!s) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		close(out[0]);
		g_set_error(error, RAVSCOPE_ERROR, err.code,
			    "%s does not accept a debugger (is it linked with libravioli?): %s", argv[0], err.message);
		return NULL;
	}
	RavscopeLive *self = g_object_new(RAVSCOPE_TYPE_LIVE, NULL);
	self->session = s;
	self->pid = pid;
	self->spawned = TRUE;
	self->lossless = o.lossless;
	self->command = g_strjoinv(" ", (char **)argv);
	self->out_r = out[0];
	fcntl(self->out_r, F_SETFL, fcntl(self->out_r, F_GETFL) | O_NONBLOCK);
	if (!start_worker(self, error)) {
		g_object_unref(self);
		return NULL;
	}
	return self;
}

int ravscope_live_get_stream_fd(RavscopeLive *self) { return self->pipe_r; }
int ravscope_live_get_pid(RavscopeLive *self) { return self->pid; }
const char *ravscope_live_get_command(RavscopeLive *self) { return self->command; }

void ravscope_live_get_status(RavscopeLive *self, rav_live_status *out)
{
	g_mutex_lock(&self->lock);
	*out = self->status;
	g_mutex_unlock(&self->lock);
	gint64 now = g_get_monotonic_time();
	if (now - self->rate_t0 >= 1000000) {
		self->rate = (double)(out->events - self->rate_events0) * 1e6 / (double)(now - self->rate_t0);
		self->rate_t0 = now;
		self->rate_events0 = out->events;
	}
}

double ravscope_live_get_rate(RavscopeLive *self) { return self->rate; }
gboolean ravscope_live_is_lossless(RavscopeLive *self) { return self->lossless; }

char *ravscope_live_take_output(RavscopeLive *self)
{
	char *s = NULL;
	g_mutex_lock(&self->lock);
	if (self->output->len) {
		s = g_strdup(self->output->str);
		g_string_truncate(self->output, 0);
	}
	g_mutex_unlock(&self->lock);
	return s;
}

int ravscope_live_get_wait_status(RavscopeLive *self)
{
	g_mutex_lock(&self->lock);
	int ws = self->wait_status;
	g_mutex_unlock(&self->lock);
	return ws;
}

gboolean ravscope_live_program_runs(RavscopeLive *self)
{
	if (self->pid <= 0 || ravscope_live_get_wait_status(self) >= 0)
		return FALSE;
	return rav_live_process_runs((int)self->pid);
}

gboolean ravscope_live_is_attached(RavscopeLive *self)
{
	return self->session != NULL;
}

gboolean ravscope_live_pause(RavscopeLive *self) { return self->session && rav_live_pause(self->session) == 0; }
gboolean ravscope_live_continue(RavscopeLive *self) { return self->session && rav_live_continue(self->session) == 0; }

gboolean ravscope_live_step(RavscopeLive *self, guint32 heap_id, int mode)
{
	return self->session && rav_live_step(self->session, heap_id, mode) == 0;
}

gboolean ravscope_live_break_set(RavscopeLive *self, const rav_live_break *b)
{
	return self->session && rav_live_break_set(self->session, b) == 0;
}

gboolean ravscope_live_break_set_at_site(RavscopeLive *self, const rav_live_break *b, const rav_site_range *r,
				       gsize n)
{
	return self->session && rav_live_break_set_at_site(self->session, b, r, n) == 0;
}

gboolean ravscope_live_break_clear(RavscopeLive *self, guint32 id)
{
	return self->session && rav_live_break_clear(self->session, id) == 0;
}

void ravscope_live_detach(RavscopeLive *self)
{
	self->detached = TRUE;
	if (self->session)
		rav_live_detach(self->session);
}

gboolean ravscope_live_end_program(RavscopeLive *self)
{
	if (!self->spawned || self->detached || self->ended_by_us)
		return FALSE;
	g_mutex_lock(&self->lock);
	gboolean running = self->wait_status < 0;
	g_mutex_unlock(&self->lock);
	if (!running)
		return FALSE;
	/* released first, so that a program held at a breakpoint (or one
	 * with a SIGTERM handler of its own) can act on the signal */
	if (self->session)
		rav_live_detach(self->session);
	kill(self->pid, SIGTERM);
	self->ended_by_us = TRUE;
	return TRUE;
}

/* After the worker stopped: reap a program ended by
 * ravscope_live_end_program, SIGKILL if SIGTERM did not end it in 2 s. */
static void reap_ended(RavscopeLive *self)
{
	if (!self->ended_by_us || self->wait_status >= 0)
		return;
	int ws;
	for (int i = 0; i < 200; i++) {
		if (waitpid(self->pid, &ws, WNOHANG) == self->pid) {
			self->wait_status = ws;
			return;
		}
		g_usleep(10000);
	}
	kill(self->pid, SIGKILL);
	if (waitpid(self->pid, &ws, 0) == self->pid)
		self->wait_status = ws;
}

void ravscope_live_close(RavscopeLive *self)
{
	if (self->worker) {
		g_mutex_lock(&self->lock);
		self->stop = TRUE;
		g_mutex_unlock(&self->lock);
		/* The worker waits at most 50 ms in a pump, or on the pipe if
		 * the document stopped reading: drain it meanwhile. */
		if (self->pipe_r >= 0) {
			char buf[65536];
			while (!g_atomic_int_get(&self->worker_done)) {
				struct pollfd pf = { self->pipe_r, POLLIN, 0 };
				if (poll(&pf, 1, 10) > 0 && read(self->pipe_r, buf, sizeof buf) <= 0)
					break;
			}
		}
		g_thread_join(self->worker);
		self->worker = NULL;
	}
	if (self->session) {
		rav_live_close(self->session);
		self->session = NULL;
	}
	reap_ended(self);
}
