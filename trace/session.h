/* session.h - the live recorder of an attach session (session.c), as the
 * listener (listen.c) drives it.  One session at a time per process.
 */
#ifndef RAV_TRACE_SESSION_H
#define RAV_TRACE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A descriptor the attach machinery opened, and how to tell it is still
 * ours: programs close descriptors they did not open (a daemon closes all
 * above 2 at its start, often while our threads are in poll() on them) and
 * reuse the numbers; read, written or closed then, the numbers would be the
 * program's pipes and files.  (listen.c) */
typedef struct ravt_fdid {
	int fd; /* -1: none */
	dev_t dev;
	ino_t ino;
} ravt_fdid;
/* Takes fd (CLOEXEC) out of the program's way: moved to a number of 64 or
 * more when the limit allows, at least above 0-2 (a program started with
 * standard input or output closed gets those from its own open()), and
 * remembers what it is.  Returns the descriptor (fd itself if it could not
 * be moved). */
int ravt_fd_keep(int fd, ravt_fdid *id);
/* The descriptor is still the one ravt_fd_keep saw (async-signal-safe). */
bool ravt_fd_ours(const ravt_fdid *id);
/* Close it if it is still ours; forget it either way. */
void ravt_fd_drop(ravt_fdid *id);

typedef struct rav_session_opts {
	int fd;             /* connected socket (non-blocking); the session owns it from now on */
	ravt_fdid fd_id;    /* fd's identity (ravt_fd_keep) */
	uint32_t mode;      /* RAVT_MODE_* */
	uint32_t queue_kib; /* 0: default */
	uint32_t stats_ms;
	pid_t client_pid;
	uid_t client_uid;
	uint64_t program_start_ns; /* CLOCK_REALTIME when the program started */
} rav_session_opts;


/* notify: written to (one byte) when a session thread has finished and
 * may be reaped.  Called by the listener, again when it listens afresh. */
void ravt_session_init(const ravt_fdid *notify);
/* Writes the trace header and ATTACHED, then starts recording.  0, or -1
 * with a message (the caller answers the client and closes fd). */
int ravt_session_start(const rav_session_opts *o, char *err, size_t errlen);
/* True while a session runs (*client: its pid). */
bool ravt_session_live(pid_t *client);
/* True once a running session records: its thread has begun the first
 * epoch (ravt_session_live is true before, from the start: a program
 * waiting for its debugger, RAVIOLI_LISTEN_WAIT, must wait for this). */
bool ravt_session_recording(void);
/* Ask the session to end (how: RAVT_END_*; value: exit status or signal;
 * text may be NULL).  With wait_ms > 0, wait up to that long for it to
 * finish (the stream ended and the socket closed). */
void ravt_session_stop(int how, int64_t value, const char *text, int wait_ms);
/* The client went away: end without an END record. */
void ravt_session_client_gone(void);
/* From a signal handler (async-signal-safe): the program is dying of sig;
 * wait up to wait_ms for the stream to end with what it had.  Does nothing
 * when called on the session's own thread. */
void ravt_session_crash(int sig, int wait_ms);
void ravt_session_request_stats(void);
/* A SESSION ERROR record for the client (from the listener thread). */
void ravt_session_reply_error(int code, const char *text);
/* A SESSION record from a program thread or the listener, written by the
 * session thread after the events recorded before the call (a bounded
 * queue: records beyond it are dropped and counted in the next one). */
void ravt_session_post(uint16_t type, const int64_t *v, unsigned nv, const char *text);
/* debugger.c: breakpoints.  Started with a session, stopped with it (which
 * releases every held thread); control messages 16-20 from the listener;
 * polled by the session thread. */
void ravt_debugger_start(void);
void ravt_debugger_stop(void);
void ravt_debugger_control(uint16_t type, const uint8_t *payload, uint32_t len);
void ravt_debugger_poll(void);
/* Join a finished session thread; true if one was joined. */
bool ravt_session_reap(void);
/* In a forked child: no session (the threads are not there). */
void ravt_session_atfork_child(void);

/* listen.c: start listening unless RAVIOLI_LISTEN=0 (the recorder's
 * constructor calls it). */
void ravt_listen_autostart(void);
/* exec-hook.c, before the program's exec: end this process's attach
 * session (listen.c) and finish its trace file (recorder.c) as exit()
 * would; each returns whether there was one to end. */
bool ravt_listen_before_exec(const char *what);
bool ravt_recorder_before_exec(void);

/* recorder.c: this process's command line for a trace header (NUL-separated
 * arguments, trailing NULs dropped), used by the recorder, the listener and
 * the session.  0 if unreadable. */
size_t ravt_read_cmdline(char *buf, size_t cap);

#endif /* RAV_TRACE_SESSION_H */
