/* ravscope-live-follow.c - indexing a live stream on a worker, and the
 * heap at its newest event handed to the view.
 *
 * A program running flat out sends some 100 000 events per 16 ms frame.
 * Indexing them (decode, merge, replay into the indexer's own model,
 * series, keyframes) on the main thread, then moving the playhead there by
 * a seek from the nearest keyframe (replaying up to a keyframe interval,
 * hundreds of thousands of events), made every frame cost tens of ms and
 * the newest event reach the screen a fifth of a second late.
 *
 * Here a worker polls the stream in slices of at most SLICE_US, and after
 * each slice that brought events, while the view wants the newest state,
 * copies the indexer's model into a spare rav_state (rav_state_seek_head:
 * tables copied, cell blocks shared copy-on-write - in proportion to the
 * pages, not to the events).  The state is published in a one-slot
 * mailbox; the main thread swaps it with the document's playhead state in
 * O(1) and hands the old one back through the same slot for reuse, so
 * blocks are released on the worker and the main thread never replays.
 * The events are applied once, by the indexer, whatever the rate.  Like
 * Tracy's and Sysprof's live views, what the view shows is the newest
 * consistent picture the background side has, and how stale it is
 * (ravscope_live_follow_behind) is said rather than hidden.
 *
 * Small gaps (a paced program) are still stepped by the view itself, which
 * then redraws only the pages the events touched and animates them; the
 * worker makes states only while the view asks (set_wanted).
 */
#include "ravscope-live-follow.h"

#include <poll.h>
#include <time.h>

#define SLICE_US 8000   /* indexing between two states made (at most) */
#define IDLE_WAIT_MS 10 /* nothing to read: wait this long for the stream */

struct _RavscopeLiveFollow {
	rav_trace *trace;
	int fd;
	GThread *thread;
	rav_state *spare; /* the worker's */
	GMutex lock;
	rav_state *ready;     /* under lock: the newest state made, or one handed back */
	gboolean ready_new;   /* under lock: `ready` is one to take */
	guint64 ready_pos;    /* under lock: its position when new */
	gboolean wanted;      /* under lock: the view asked for a state (once) */
	gboolean stop;        /* under lock */
	gboolean done, broke; /* under lock */
	gboolean caught_up;   /* under lock: the last poll found nothing more */
	rav_trace_error error; /* under lock */
	RavscopeLiveFollowStats stats; /* under lock */
};

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Make the newest state and put it in the mailbox (whatever was there,
 * taken or not, becomes the spare). */
static void publish(RavscopeLiveFollow *f)
{
	rav_trace_error err = { 0 };
	if (!f->spare)
		f->spare = rav_state_new(f->trace);
	if (!f->spare || rav_state_seek_head(f->spare, &err) != 0)
		return; /* out of memory or a replay error: the view keeps what it has
			   (a replay error is the document's to report once it ends) */
	guint64 pos = rav_state_position(f->spare);
	g_mutex_lock(&f->lock);
	rav_state *t = f->ready;
	f->ready = f->spare;
	f->ready_new = TRUE;
	f->ready_pos = pos;
	f->stats.published++;
	g_mutex_unlock(&f->lock);
	f->spare = t;
}

static gpointer worker_main(gpointer data)
{
	RavscopeLiveFollow *f = data;
	double cpu0 = thread_cpu_s();
	guint64 made = 0; /* the position of the last state made */
	for (;;) {
		g_mutex_lock(&f->lock);
		gboolean stop = f->stop;
		g_mutex_unlock(&f->lock);
		if (stop)
			break;
		gint64 t0 = g_get_monotonic_time();
		gint64 got = 0, n;
		rav_trace_error err = { 0 };
		do {
			n = rav_trace_poll(f->trace, &err);
			if (n > 0)
				got += n;
		} while (n > 0 && g_get_monotonic_time() - t0 < SLICE_US);
		gboolean ended = n < 0 || rav_trace_stream_ended(f->trace);
		g_mutex_lock(&f->lock);
		f->caught_up = n == 0;
		f->stats.events += (guint64)got;
		if ((guint64)got > f->stats.slice_events_max)
			f->stats.slice_events_max = (guint64)got;
		f->stats.cpu_s = thread_cpu_s() - cpu0;
		gboolean wanted = f->wanted;
		g_mutex_unlock(&f->lock);
		if (n < 0) {
			g_mutex_lock(&f->lock);
			f->broke = TRUE;
			f->error = err;
			g_mutex_unlock(&f->lock);
		}
		guint64 head = rav_trace_indexed_events(f->trace);
		if (n >= 0 && wanted && head > made) {
			/* one state per request: the view asks again next frame */
			g_mutex_lock(&f->lock);
			f->wanted = FALSE;
			g_mutex_unlock(&f->lock);
			publish(f);
			made = head;
		}
		if (ended)
			break;
		if (n == 0) {
			struct pollfd pf = { f->fd, POLLIN, 0 };
			poll(&pf, 1, IDLE_WAIT_MS);
		}
	}
	g_mutex_lock(&f->lock);
	f->done = TRUE;
	f->stats.cpu_s = thread_cpu_s() - cpu0;
	g_mutex_unlock(&f->lock);
	return NULL;
}

RavscopeLiveFollow *ravscope_live_follow_new(RavscopeDocument *doc, int fd, GError **error)
{
	RavscopeLiveFollow *f = g_new0(RavscopeLiveFollow, 1);
	f->trace = ravscope_document_get_trace(doc);
	f->fd = fd;
	f->spare = rav_state_new(f->trace);
	if (!f->spare) {
		g_free(f);
		g_set_error_literal(error, RAVSCOPE_ERROR, RAV_TRACE_ENOMEM, "out of memory creating a replay state");
		return NULL;
	}
	g_mutex_init(&f->lock);
	f->thread = g_thread_new("ravscope-follow", worker_main, f);
	return f;
}

void ravscope_live_follow_free(RavscopeLiveFollow *f)
{
	if (!f)
		return;
	g_mutex_lock(&f->lock);
	f->stop = TRUE;
	g_mutex_unlock(&f->lock);
	g_thread_join(f->thread);
	rav_state_free(f->spare);
	rav_state_free(f->ready);
	g_mutex_clear(&f->lock);
	g_free(f);
}

void ravscope_live_follow_set_wanted(RavscopeLiveFollow *f, gboolean wanted)
{
	g_mutex_lock(&f->lock);
	f->wanted = wanted;
	g_mutex_unlock(&f->lock);
}

gboolean ravscope_live_follow_take(RavscopeLiveFollow *f, RavscopeDocument *doc)
{
	rav_state *s = NULL;
	g_mutex_lock(&f->lock);
	if (f->ready_new && f->ready_pos > ravscope_document_get_position(doc)) {
		s = f->ready;
		f->ready = NULL;
		f->ready_new = FALSE;
	}
	g_mutex_unlock(&f->lock);
	if (!s)
		return FALSE;
	rav_state *old = ravscope_document_exchange_state(doc, s);
	g_mutex_lock(&f->lock);
	if (!f->ready)
		f->ready = old; /* back to the worker, which reuses its blocks' memory */
	else
		s = old;
	g_mutex_unlock(&f->lock);
	if (s == old)
		rav_state_free(old); /* (the worker filled the slot meanwhile) */
	return TRUE;
}

gboolean ravscope_live_follow_done(RavscopeLiveFollow *f, gboolean *broke, GError **error)
{
	g_mutex_lock(&f->lock);
	gboolean done = f->done;
	if (broke)
		*broke = f->broke;
	if (f->broke && error)
		g_set_error_literal(error, RAVSCOPE_ERROR, f->error.code, f->error.message);
	g_mutex_unlock(&f->lock);
	return done;
}

double ravscope_live_follow_behind(RavscopeLiveFollow *f, RavscopeDocument *doc)
{
	guint64 pos = ravscope_document_get_position(doc);
	guint64 head = ravscope_document_get_event_count(doc);
	g_mutex_lock(&f->lock);
	gboolean caught_up = f->caught_up || f->done;
	g_mutex_unlock(&f->lock);
	if (head == 0)
		return 0;
	guint64 t_head = ravscope_document_event_time_ns(doc, head - 1);
	guint64 t_shown = pos ? ravscope_document_event_time_ns(doc, pos - 1) : 0;
	double behind = t_head > t_shown ? (double)(t_head - t_shown) / 1e9 : 0;
	const rav_trace_info *info = ravscope_document_get_info(doc);
	if (!caught_up && info->start_ns) {
		double since = (double)g_get_real_time() / 1e6 - (double)(info->start_ns + t_head) / 1e9;
		if (since > 0 && since < 3600)
			behind += since;
	}
	return behind;
}

void ravscope_live_follow_get_stats(RavscopeLiveFollow *f, RavscopeLiveFollowStats *out)
{
	g_mutex_lock(&f->lock);
	*out = f->stats;
	g_mutex_unlock(&f->lock);
}
