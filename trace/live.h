/* live.h - the attach protocol between a client (ravtrace, ravscope) and a
 * running program's listener (listen.c), and the socket directory rules both
 * sides follow.  FORMAT.md §12 is the specification.
 *
 * Program -> client: a trace stream (header, chunks), in which SESSION chunks
 * carry what the session says (attached, statistics, errors, how it ended).
 * Client -> program: control messages, each a 16-byte header and at most
 * RAVT_CTL_MAX bytes of payload, checksummed and validated before use.
 */
#ifndef RAV_TRACE_LIVE_H
#define RAV_TRACE_LIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define RAVT_LIVE_PROTOCOL 1

/* The clock of the protocol's deadlines (a handshake, a partial message,
 * the end's wait for a client) and of a session's flushes and statistics:
 * monotonic milliseconds, on both sides of the socket. */
static inline uint64_t ravt_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
#define RAVT_CTL_MAGIC 0x4c544352u /* "RCTL" */
#define RAVT_CTL_MAX 1024u

typedef struct ravt_ctl {
	uint32_t magic; /* RAVT_CTL_MAGIC */
	uint16_t type;  /* RAVT_CTL_* */
	uint16_t flags; /* zero */
	uint32_t len;   /* payload bytes that follow (<= RAVT_CTL_MAX) */
	uint32_t crc;   /* crc32c of the 12 bytes above, then of the payload */
} ravt_ctl;
_Static_assert(sizeof(ravt_ctl) == 16, "control message header is 16 bytes");

enum {
	RAVT_CTL_ATTACH = 1, /* payload ravt_ctl_attach: start a session */
	RAVT_CTL_INFO = 2,   /* no payload: answer INFO and close */
	RAVT_CTL_DETACH = 3, /* no payload: end the session (END, trailer, close) */
	RAVT_CTL_STATS = 4,  /* no payload: send a STATS record now */
	/* The live debugger's (ravscope; FORMAT.md §12.5): */
	RAVT_CTL_PAUSE = 16,       /* no payload: every thread holds at its next engine call */
	RAVT_CTL_CONTINUE = 17,    /* no payload: release every held thread */
	RAVT_CTL_STEP = 18,        /* ravt_ctl_step: release one held thread for one event or one call */
	RAVT_CTL_BREAK_SET = 19,   /* ravt_ctl_break (+ text): add or replace a breakpoint */
	RAVT_CTL_BREAK_CLEAR = 20, /* u32 id (0: all) */
	RAVT_CTL_LAST = 31,
};

typedef struct ravt_ctl_step {
	uint32_t heap_id; /* the held thread's heap */
	uint32_t mode;    /* RAV_DEBUG_STEP_EVENT (1) or RAV_DEBUG_STEP_CALL (2) */
} ravt_ctl_step;
_Static_assert(sizeof(ravt_ctl_step) == 8, "step request is 8 bytes");

/* What a breakpoint stops on (ravt_ctl_break.what). */
enum {
	RAVT_BREAK_CELL = 1,   /* arg: page << 32 | cell; flags: RAVT_BREAK_ON_* (0: all four) */
	RAVT_BREAK_ALLOC = 2,  /* arg: type id (0: any) */
	RAVT_BREAK_FREE = 3,   /* arg: type id (0: any) */
	RAVT_BREAK_KIND = 4,   /* arg: rav_ev_kind; with RAVT_BREAK_MATCH_AUX only events whose aux is arg2 */
	RAVT_BREAK_MARK = 5,   /* text: a mark containing it (empty: any mark) */
	RAVT_BREAK_ERROR = 6,  /* arg: rav_status (0: any engine error) */
	RAVT_BREAK_ANY = 7,    /* every event (with `thread`: the thread's next event) */
	RAVT_BREAK_WHAT_LAST = 7,
};
#define RAVT_BREAK_ON_MOVE 1u     /* the cell moves */
#define RAVT_BREAK_ON_FIXUP 2u    /* one of its words is fixed up */
#define RAVT_BREAK_ON_FREE 4u     /* it is freed */
#define RAVT_BREAK_ON_REFERRER 8u /* it gets a new referrer */
#define RAVT_BREAK_MATCH_AUX 16u  /* KIND: also match aux == arg2 */
#define RAVT_BREAK_STOP_ALL 32u   /* hold every thread (at its next engine call), not only the one that hit */
#define RAVT_BREAK_AT_SITE 64u    /* also: the event's call site is in the ranges the text holds */
#define RAVT_BREAK_FLAGS_ALL 127u
#define RAVT_BREAK_SITE_RANGES_MAX 16u /* u64 lo, u64 hi each: 256 bytes of text */
#define RAVT_BREAK_MAX 64u        /* breakpoints a program keeps */
#define RAVT_BREAK_TEXT_MAX 256u

typedef struct ravt_ctl_break {
	uint32_t id;      /* the client's number for it (not 0); setting an id again replaces it */
	uint16_t what;    /* RAVT_BREAK_* */
	uint16_t flags;   /* RAVT_BREAK_ON_*, RAVT_BREAK_MATCH_AUX, RAVT_BREAK_STOP_ALL */
	uint32_t thread;  /* only events of this thread heap (0: any thread) */
	uint32_t count;   /* stop at this hit only (0: at every hit) */
	uint64_t arg, arg2;
	/* then up to RAVT_BREAK_TEXT_MAX bytes of text (MARK; AT_SITE: ranges) */
} ravt_ctl_break;
_Static_assert(sizeof(ravt_ctl_break) == 32, "breakpoint request is 32 bytes");

/* RAVT_SESSION_BREAK's state. */
enum {
	RAVT_BREAK_STATE_SET = 1,      /* in force */
	RAVT_BREAK_STATE_PENDING = 2,  /* a cell: waiting for its owner's next engine call */
	RAVT_BREAK_STATE_REFUSED = 3,  /* not set (text: why) */
	RAVT_BREAK_STATE_CLEARED = 4,
	RAVT_BREAK_STATE_GONE = 5,     /* a cell that was freed: the breakpoint hit its last */
};

typedef struct ravt_ctl_attach {
	uint16_t protocol;  /* RAVT_LIVE_PROTOCOL */
	uint16_t mode;      /* RAVT_MODE_* */
	uint32_t queue_kib; /* memory for events waiting for the client (0: the program's default) */
	uint32_t stats_ms;  /* a STATS record every so many ms (0: none) */
	uint32_t reserved;  /* zero */
} ravt_ctl_attach;
_Static_assert(sizeof(ravt_ctl_attach) == 16, "attach request is 16 bytes");

#define RAVT_MODE_LOSSLESS 1u   /* the program waits for the client instead of losing events */
#define RAVT_MODE_ACCESS 2u     /* also record the engine's loads and stores */
#define RAVT_MODE_STATS_ONLY 4u /* no snapshots, no events: STATS records only */
#define RAVT_MODE_ALL 7u

/* Codes of SESSION ERROR records (v[0]). */
enum {
	RAVT_LIVE_EBUSY = 1,        /* another client is attached */
	RAVT_LIVE_EREFUSED = 2,     /* the client runs as another user */
	RAVT_LIVE_EPROTO = 3,       /* a malformed control message */
	RAVT_LIVE_EVERSION = 4,     /* protocol version not spoken here */
	RAVT_LIVE_EUNSUPPORTED = 5, /* a known request this program does not do */
	RAVT_LIVE_ESTATE = 6,       /* not possible now (detach before attach, ...) */
	RAVT_LIVE_ETIMEOUT = 7,     /* a control message did not arrive whole in time */
	RAVT_LIVE_ERECORDING = 8,   /* the program records to a file (RAVIOLI_TRACE) */
	RAVT_LIVE_ERESOURCE = 9,    /* out of memory or threads */
};

/* SESSION record type 7: a loss, once resynchronised.
 * v: events lost, TSC when losing began, TSC of the resynchronisation, epoch. */
#define RAVT_SESSION_LOST 7

/* Sequence numbers of a live session carry its epoch from this bit on
 * (FORMAT.md 12.3; the engine's RAV_SEQ_EPOCH_SHIFT). */
#define RAVT_SEQ_EPOCH_SHIFT 40

/* Defaults the program uses when the client does not say. */
#define RAVT_LIVE_QUEUE_KIB_DEFAULT (32u << 10) /* 32 MiB (RAVIOLI_LISTEN_QUEUE_KIB) */
#define RAVT_LIVE_QUEUE_KIB_MIN 256u
#define RAVT_LIVE_QUEUE_KIB_MAX (4u << 20)

/* ---- helpers shared by both sides (live.c) ---- */

/* Encode a control message into out (16 + len bytes). */
size_t ravt_ctl_encode(void *out, uint16_t type, const void *payload, uint32_t len);
/* Look at the bytes received so far: 1 with *hdr and *payload (pointing into
 * buf) and *used when a whole valid message is there, 0 when more bytes are
 * needed, -1 with why (the framing is broken: bad magic, flags, length or
 * checksum; the connection cannot be read further). */
int ravt_ctl_parse(const uint8_t *buf, size_t n, ravt_ctl *hdr, const uint8_t **payload, size_t *used,
                   const char **why);

/* The directory of this user's program sockets: $XDG_RUNTIME_DIR/ravioli,
 * else /tmp/ravioli-UID.  With create, made 0700 if missing.  A directory
 * is used only if it is a real directory (not a symlink) owned by the user
 * with mode 0700; 0 with the path, else -1 with a message. */
int ravt_live_dir(char *out, size_t cap, bool create, char *err, size_t errlen);
/* Both places a client looks (n written, at most 2; checked like above,
 * missing or unsafe ones left out). */
int ravt_live_dirs(char out[2][4096]);
/* "DIR/PID.sock" */
int ravt_live_socket_path(char *out, size_t cap, const char *dir, pid_t pid);

#endif /* RAV_TRACE_LIVE_H */
