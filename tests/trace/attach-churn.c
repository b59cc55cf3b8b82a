/* attach-churn.c - attach and detach over and over while threads pass
 * messages as fast as they can; every recording must replay (issue #7: the
 * attach recording must be exact in every interleaving).
 *
 *	test-attach-churn [sessions]
 *
 * Two pairs of threads ping-pong messages with no pause: each message is
 * built, sent, queued (several at a time, so channels hold messages in
 * flight), received and compacted into the receiver's heap, whose page goes
 * back to its page cache and into the next message.  Meanwhile a client
 * thread of the same process attaches through the socket as `ravtrace
 * attach -o` does, records a few milliseconds and detaches, again and
 * again.  Each recording is then opened, indexed and replayed through the
 * heap model, as `ravtrace validate` does: any event that does not follow
 * from the snapshots and the events before it fails the test.
 *
 * The race this pins (found by attach-cli, about one run in eight): the end
 * of a session was not a consistent cut.  A sender's events (the message's
 * creation, its page, the send) could still be unwritten when the final
 * drain read its buffer while the receiver's hand-off of that page, with a
 * later sequence number, was read after them: the recording said a page
 * was handed from a message heap it had never seen.  With many short
 * sessions over a continuous message stream the end of a session falls in
 * such a window often; no timing is assumed (the count of sessions bounds
 * the run).
 *
 * Sessions take turns: lossy (the default: the in-process client falls
 * behind, so losses and resynchronisations happen), lossless
 * ones, and lossy ones with the smallest queue (losses all the time);
 * RAV_CHURN_MODE=lossy, small or lossless keeps to one.  Three more races
 * it found: a thread that could not number an event went on appending its
 * later ones through the fast path; a thread whose snapshot the session
 * refused (it was stopping) recorded in the epoch anyway; and the cut of a
 * loss was made by clock reading, not by sequence number.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rav-record.h"
#include "ravioli.h"
#include "ravtrace.h"
#include "xorshift.h"

static rav_type T_ITEM;
static int stop_flag; /* atomic: the pairs stop at their next round */

/* Messages each side keeps in flight: channels are rarely empty. */
#define IN_FLIGHT 3

typedef struct pair_end {
	rav_channel *in, *out;
	uint64_t rng;
	const char *name;
	unsigned rounds;
	bool failed;
} pair_end;

static uint64_t rnd(pair_end *p)
{
	return xorshift64(&p->rng);
}

/* A chain of n cells, sometimes more than a page (the message then hands
 * several pages over). */
static rav_msg *build(pair_end *p)
{
	rav_msg *m = rav_msg_new();
	if (!m)
		return NULL;
	rav_heap *mh = rav_msg_heap(m);
	unsigned n = 1 + (unsigned)(rnd(p) % 8 == 0 ? 150 + rnd(p) % 200 : rnd(p) % 40);
	rav_ref top;
	if (rav_new_root(mh, T_ITEM, rav_msg_root(m), &top) != RAV_OK)
		return m;
	for (unsigned i = 1; i < n; i++) {
		rav_store(mh, top, 0, i);
		if (rav_new_field(mh, T_ITEM, top, 1, &top) != RAV_OK)
			break;
	}
	return m;
}

static void *pair_main(void *arg)
{
	pair_end *p = arg;
	rav_thread_name(p->name);
	rav_heap *h = rav_heap_self();
	rav_root roots[4];
	for (int i = 0; i < 4; i++)
		roots[i] = rav_root_new(h);
	for (int i = 0; i < IN_FLIGHT; i++) {
		rav_msg *m = build(p);
		if (!m || rav_send(p->out, m) != RAV_OK) {
			p->failed = true;
			break;
		}
	}
	while (!p->failed) {
		rav_root r = roots[rnd(p) % 4];
		rav_status st = rav_recv(p->in, h, r);
		if (st == RAV_ECLOSED)
			break;
		if (st != RAV_OK) {
			fprintf(stderr, "%s: receive: %s\n", p->name, rav_last_error());
			p->failed = true;
			break;
		}
		/* frees that compact the receiver's heap now and then */
		if (rnd(p) % 3 == 0)
			rav_root_clear(h, roots[rnd(p) % 4]);
		p->rounds++;
		if (__atomic_load_n(&stop_flag, __ATOMIC_ACQUIRE)) {
			rav_channel_close(p->out);
			continue; /* take what is still queued, until ours closes */
		}
		rav_msg *m = build(p);
		if (!m)
			continue;
		st = rav_send(p->out, m);
		if (st == RAV_ECLOSED) {
			rav_msg_free(m);
			continue;
		}
		if (st != RAV_OK) {
			fprintf(stderr, "%s: send: %s\n", p->name, rav_last_error());
			p->failed = true;
		}
	}
	rav_channel_close(p->out);
	for (int i = 0; i < 4; i++)
		rav_root_free(h, roots[i]);
	rav_thread_exit();
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* One session of `ms` milliseconds into path; false (and a message) if it
 * did not run or end cleanly. */
/* How a session is recorded: the client cannot keep up with the four
 * threads, so the program loses events and resynchronises (all the more
 * with the smallest queue, four buffers for four threads), or it waits for
 * the client. */
typedef enum churn_mode { LOSSY, LOSSY_SMALL, LOSSLESS, NMODES } churn_mode;
static const char *const mode_names[NMODES] = {"lossy", "small", "lossless"};

static unsigned sessions_lost, sessions_resynced; /* sessions that lost events, resynchronised */

static bool record_once(const char *path, unsigned ms, churn_mode mode)
{
	rav_trace_error err;
	rav_live_options opts = {.lossless = mode == LOSSLESS, .queue_kib = mode == LOSSY_SMALL ? 256 : 0};
	rav_live_session *s = NULL;
	/* the previous session's end may still be reaped: "already attached"
	 * (retried for up to 30 s, not 200 tries: a loaded machine can take
	 * longer than the second those took) */
	for (uint64_t t0 = now_ms(); !s && now_ms() - t0 < 30000;) {
		s = rav_live_attach(getpid(), &opts, &err);
		if (!s)
			usleep(5000);
	}
	if (!s) {
		fprintf(stderr, "attach: %s\n", err.message);
		return false;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(path);
		rav_live_close(s);
		return false;
	}
	rav_live_status st = {0};
	bool ok = true;
	/* pump until the session has run ms milliseconds, then detach and pump
	 * to its end */
	uint64_t until = now_ms() + ms;
	while (!st.ended && now_ms() < until) {
		if (rav_live_pump(s, 5, fd, &st, &err) < 0) {
			fprintf(stderr, "client: %s\n", err.message);
			ok = false;
			break;
		}
	}
	if (ok && !st.ended) {
		rav_live_detach(s);
		while (!st.ended)
			if (rav_live_pump(s, 50, fd, &st, &err) < 0) {
				fprintf(stderr, "client: %s\n", err.message);
				ok = false;
				break;
			}
	}
	close(fd);
	rav_live_close(s);
	sessions_lost += st.lost > 0;
	sessions_resynced += st.nlosses > 0;
	if (ok && !(st.end_known && st.end_how == 1)) {
		fprintf(stderr, "the session did not end with a clean detach (how %d: %s)\n", st.end_how,
		        st.end_text);
		ok = false;
	}
	return ok;
}

/* What `ravtrace validate` checks: every chunk decodes and every event
 * replays through the heap model. */
static bool replays(const char *path, uint64_t *events)
{
	rav_trace_error err;
	memset(&err, 0, sizeof err);
	rav_trace *t = rav_trace_open(path, &err);
	if (!t) {
		fprintf(stderr, "open: %s\n", err.message);
		return false;
	}
	bool ok = true;
	if (rav_trace_index(t, NULL, NULL, &err) != 0) {
		fprintf(stderr, "index: %s\n", err.message);
		ok = false;
	} else if (!rav_trace_consistent(t, &err)) {
		fprintf(stderr, "replay: %s\n", err.message);
		ok = false;
	}
	rav_trace_info info;
	rav_trace_get_info(t, &info);
	*events = info.events;
	rav_trace_close(t);
	return ok;
}

int main(int argc, char **argv)
{
	unsigned sessions = argc > 1 ? (unsigned)atoi(argv[1]) : getenv("RAV_TEST_SMALL") ? 8 : 24;
	if (sessions == 0)
		sessions = 1;
	T_ITEM = rav_type_register("churn-item", RAV_DATA, RAV_REF);
	rav_thread_name("main");
	rav_heap_self();
	enum { PAIRS = 2 };
	rav_channel *ch[PAIRS][2];
	pair_end ends[PAIRS][2];
	pthread_t th[PAIRS][2];
	static const char *names[PAIRS][2] = {{"ping-a", "pong-a"}, {"ping-b", "pong-b"}};
	for (int i = 0; i < PAIRS; i++) {
		ch[i][0] = rav_channel_new();
		ch[i][1] = rav_channel_new();
		for (int k = 0; k < 2; k++) {
			ends[i][k] = (pair_end){.in = ch[i][k], .out = ch[i][!k],
			                        .rng = 0x9e3779b97f4a7c15ull * (unsigned long long)(2 * i + k + 1),
			                        .name = names[i][k]};
			pthread_create(&th[i][k], NULL, pair_main, &ends[i][k]);
		}
	}
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/attach-churn-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int tfd = mkstemp(path);
	if (tfd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(tfd);
	int failures = 0;
	uint64_t total = 0;
	uint64_t rng = 0x2545f4914f6cdd1dull;
	const char *only = getenv("RAV_CHURN_MODE"); /* lossy, small or lossless: that one only */
	if (only) {
		bool known = false;
		for (int m = 0; m < NMODES; m++)
			known |= !strcmp(only, mode_names[m]);
		if (!known) {
			fprintf(stderr, "RAV_CHURN_MODE=%s: lossy, small or lossless\n", only);
			return 2;
		}
	}
	unsigned done = 0;
	for (unsigned i = 0; i < sessions && (!failures || getenv("RAV_CHURN_ALL")); i++, done++) {
		xorshift64(&rng);
		/* sessions of 2 to 40 ms: the end falls anywhere in a round */
		unsigned ms = 2 + (unsigned)(rng % 39);
		uint64_t events = 0;
		churn_mode mode = (churn_mode)(i % NMODES);
		for (int m = 0; only && m < NMODES; m++)
			if (!strcmp(only, mode_names[m]))
				mode = (churn_mode)m;
		if (!record_once(path, ms, mode)) {
			failures++;
		} else if (!replays(path, &events)) {
			/* kept under its own name: the next session reuses path */
			char kept[sizeof path + 16];
			snprintf(kept, sizeof kept, "%s.%u", path, i + 1);
			if (rename(path, kept) != 0)
				snprintf(kept, sizeof kept, "%s", path);
			fprintf(stderr, "session %u (%u ms, %s) does not replay; the recording is kept in %s\n",
			        i + 1, ms, mode_names[mode], kept);
			failures++;
		}
		total += events;
	}
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELEASE);
	unsigned rounds = 0;
	for (int i = 0; i < PAIRS; i++)
		for (int k = 0; k < 2; k++) {
			pthread_join(th[i][k], NULL);
			rounds += ends[i][k].rounds;
			if (ends[i][k].failed)
				failures++;
		}
	for (int i = 0; i < PAIRS; i++) {
		rav_channel_free(ch[i][0]);
		rav_channel_free(ch[i][1]);
	}
	fprintf(stderr,
	        "%u sessions (%u lost events, %u resynchronised), %llu events recorded, %u messages "
	        "received\n",
	        done, sessions_lost, sessions_resynced, (unsigned long long)total, rounds);
	if (failures)
		return 1;
	unlink(path);
	return 0;
}
