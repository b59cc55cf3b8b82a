/* ravscope-bench-live.c - `ravscope --bench --live [PROG ARGS...]`: the
 * viewer's frame loop against a running program, without a display.
 *
 * It starts PROG (default: rav-sample-live --flat-out, which produces well
 * over a million events a second) attached from its first event, exactly as
 * Run Program does, and runs what the window's 16 ms tick runs while a
 * worker indexes the stream (ravscope-live-follow.h): move to the newest
 * event (step a small gap here, take the worker's newest state for a large
 * one), lay out and draw the heap into an image.  It reports the frame
 * time (p50 / p99 / max) and the drawing thread's CPU time per frame (less
 * noisy on a shared machine), the events that thread applied per frame,
 * the delay from an event happening in the program to the frame that
 * shows it (the event at the playhead: its time in the trace against the
 * clock, both CLOCK_REALTIME based), the "behind" figure the live bar
 * shows, events per second received, events dropped, and the worker's
 * work (events per slice, CPU).
 */
#include "ravscope-headless.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ravscope-application.h"
#include "ravscope-heapdraw.h"
#include "ravscope-live-follow.h"
#include "ravscope-live.h"

#include <time.h>

#define TICK_US 16667
#define FOLLOW_STEP_MAX 4000 /* as the window: beyond this gap, take the worker's state */

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(gconstpointer a, gconstpointer b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(GArray *a, double p)
{
	if (!a->len)
		return 0;
	guint i = (guint)((a->len - 1) * p / 100.0 + 0.5);
	return g_array_index(a, double, MIN(i, a->len - 1));
}

/* build/samples/ from the build tree, libexecdir/ravscope installed. */
static char *default_sample(void)
{
	return ravscope_application_find_sample("live");
}

int ravscope_headless_bench_live(const RavscopeRenderOptions *o, char **argv_in)
{
	int w = 1280, h = 800;
	if (o->size && sscanf(o->size, "%dx%d", &w, &h) != 2) {
		g_printerr("ravscope: --size %s: expected WIDTHxHEIGHT\n", o->size);
		return 2;
	}
	double seconds = o->frames > 0 ? o->frames / 60.0 : 5.0;
	g_autofree char *sample = NULL;
	g_autofree char *secs = g_strdup_printf("%.0f", seconds + 30);
	const char *dflt[] = { NULL, "--flat-out", "--quiet", "--seconds", secs, NULL };
	const char *const *argv = (const char *const *)argv_in;
	if (!argv || !argv[0]) {
		sample = default_sample();
		if (!sample) {
			g_printerr("ravscope: --bench --live: rav-sample-live not found; name a program: "
				   "ravscope --bench --live PROG [ARGS...]\n");
			return 2;
		}
		dflt[0] = sample;
		argv = dflt;
	}
	GError *error = NULL;
	RavscopeLive *live = ravscope_live_spawn(argv, &error);
	if (!live) {
		g_printerr("ravscope: %s\n", error->message);
		g_error_free(error);
		return 1;
	}
	RavscopeDocument *doc = NULL;
	for (int i = 0; i < 500 && !doc; i++) {
		rav_live_status st;
		ravscope_live_get_status(live, &st);
		if (st.bytes > 0 || st.ended)
			doc = ravscope_document_open_stream(ravscope_live_get_stream_fd(live), "live", &error);
		else
			g_usleep(10000);
	}
	if (!doc) {
		g_printerr("ravscope: the program sent no trace: %s\n", error ? error->message : "timeout");
		g_clear_error(&error);
		kill(ravscope_live_get_pid(live), SIGTERM);
		ravscope_live_close(live);
		g_object_unref(live);
		return 1;
	}
	cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
	cairo_t *cr = cairo_create(surf);
	RavscopeViewport vp = { .gutter = 170, .x0 = 170, .y0 = 0, .width = w - 170, .height = h, .legend = TRUE,
				.selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE };
	vp.accent[0] = 0.21, vp.accent[1] = 0.52, vp.accent[2] = 0.89;
	RavscopeHeapPainter *painter = ravscope_heap_painter_new();
	ravscope_heap_painter_set_playing(painter, TRUE);
	RavscopeHeapLayout *layout = NULL;
	GArray *frames = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *cpu = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *work = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *delays = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *behinds = g_array_new(FALSE, FALSE, sizeof(double));
	GArray *applied = g_array_new(FALSE, FALSE, sizeof(rav_event));
	RavscopeLiveFollow *follow = ravscope_live_follow_new(doc, ravscope_live_get_stream_fd(live), &error);
	if (!follow) {
		g_printerr("ravscope: %s\n", error->message);
		g_clear_error(&error);
		kill(ravscope_live_get_pid(live), SIGTERM);
		ravscope_live_close(live);
		g_object_unref(live);
		g_object_unref(doc);
		return 1;
	}
	gint64 t0 = g_get_monotonic_time(), next = t0;
	guint64 takes = 0, steps = 0, waits = 0;
	const rav_trace_info *info = ravscope_document_get_info(doc);
	rav_live_status st = { 0 };
	while (g_get_monotonic_time() - t0 < (gint64)(seconds * G_USEC_PER_SEC)) {
		gint64 a = g_get_monotonic_time();
		double c0 = thread_cpu_ms();
		gboolean broke = FALSE;
		ravscope_document_sync_stream(doc);
		if (ravscope_live_follow_done(follow, &broke, &error) && broke) {
			g_printerr("ravscope: the stream broke: %s\n", error->message);
			g_clear_error(&error);
			break;
		}
		guint64 n = ravscope_document_get_event_count(doc), pos = ravscope_document_get_position(doc);
		double stepped = 0;
		/* As the window follows: a small gap is stepped and the painter
		 * redraws the pages its events touched; a large one takes the
		 * worker's newest state and redraws everything. */
		gboolean far = n - pos > FOLLOW_STEP_MAX;
		ravscope_live_follow_set_wanted(follow, far);
		gboolean took = far && ravscope_live_follow_take(follow, doc);
		if (took) {
			ravscope_heap_painter_invalidate(painter);
			takes++;
		} else if (n > pos) {
			/* (far: the worker's state is on the way; a step's worth meanwhile) */
			waits += far;
			g_array_set_size(applied, 0);
			ravscope_document_step_many(doc, (guint)MIN(n - pos, FOLLOW_STEP_MAX), applied, NULL);
			ravscope_heap_painter_note_events(painter, (const rav_event *)applied->data, applied->len);
			stepped = applied->len;
			steps++;
		}
		g_array_append_val(work, stepped);
		RavscopeHeapLayout *nl = ravscope_heap_layout_build_fit(doc, layout, layout ? layout->page_cols : 0, &vp, 40);
		if (layout)
			ravscope_heap_layout_free(layout);
		layout = nl;
		ravscope_heap_draw(cr, painter, doc, layout, &vp);
		cairo_surface_flush(surf);
		gint64 b = g_get_monotonic_time();
		double ms = (b - a) / 1000.0, cms = thread_cpu_ms() - c0;
		g_array_append_val(frames, ms);
		g_array_append_val(cpu, cms);
		double behind = ravscope_live_follow_behind(follow, doc);
		g_array_append_val(behinds, behind);
		rav_event ev;
		pos = ravscope_document_get_position(doc);
		if (pos > 0 && rav_trace_event_at(ravscope_document_get_trace(doc), pos - 1, &ev) && info->start_ns) {
			double delay = (g_get_real_time() * 1000.0 - (double)(info->start_ns + ev.time_ns)) / 1e6;
			if (delay > -1000 && delay < 60000)
				g_array_append_val(delays, delay);
		}
		next += TICK_US;
		gint64 now = g_get_monotonic_time();
		if (next > now)
			g_usleep((gulong)(next - now));
		else
			next = now;
	}
	double elapsed = (g_get_monotonic_time() - t0) / 1e6;
	RavscopeLiveFollowStats fs;
	ravscope_live_follow_get_stats(follow, &fs);
	ravscope_live_follow_free(follow);
	ravscope_live_get_status(live, &st);
	g_print("ravscope live bench: %s attached from its first event, %.1f s, %dx%d px\n", argv[0], elapsed, w, h);
	g_print("  received %" G_GUINT64_FORMAT " events (%.2f M events/s), %" G_GUINT64_FORMAT " dropped, %u resyncs\n",
		st.events, st.events / elapsed / 1e6, st.lost, st.nlosses);
	g_print("  shown: %" G_GUINT64_FORMAT " events indexed; frames moved by steps %" G_GUINT64_FORMAT
		", by taking the worker's state %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " stepped while waiting for one)\n",
		ravscope_document_get_event_count(doc), steps, takes, waits);
	g_array_unref(applied);
	g_array_sort(frames, cmp_double);
	g_array_sort(cpu, cmp_double);
	g_array_sort(work, cmp_double);
	g_array_sort(delays, cmp_double);
	g_array_sort(behinds, cmp_double);
	g_print("  frame (follow + layout + draw): p50 %.2f ms, p99 %.2f ms, max %.2f ms over %u frames "
		"(goal: p99 <= 16 ms)\n",
		pct(frames, 50), pct(frames, 99), frames->len ? g_array_index(frames, double, frames->len - 1) : 0.0,
		frames->len);
	g_print("  drawing thread CPU per frame: p50 %.2f ms, p99 %.2f ms, max %.2f ms; events it applied per frame: "
		"p50 %.0f, p99 %.0f, max %.0f\n",
		pct(cpu, 50), pct(cpu, 99), cpu->len ? g_array_index(cpu, double, cpu->len - 1) : 0.0, pct(work, 50),
		pct(work, 99), work->len ? g_array_index(work, double, work->len - 1) : 0.0);
	g_print("  event to screen: p50 %.1f ms, p99 %.1f ms (goal: <= 100 ms); \"behind\" shown: p50 %.2f s, max %.2f s\n",
		pct(delays, 50), pct(delays, 99), pct(behinds, 50),
		behinds->len ? g_array_index(behinds, double, behinds->len - 1) : 0.0);
	g_print("  worker: %" G_GUINT64_FORMAT " events indexed, at most %" G_GUINT64_FORMAT
		" in a slice, %" G_GUINT64_FORMAT " states made, %.2f s CPU (%.0f%% of a core)\n",
		fs.events, fs.slice_events_max, fs.published, fs.cpu_s, 100 * fs.cpu_s / elapsed);
	kill(ravscope_live_get_pid(live), SIGTERM);
	ravscope_live_close(live);
	g_object_unref(live);
	if (layout)
		ravscope_heap_layout_free(layout);
	g_array_unref(frames);
	g_array_unref(cpu);
	g_array_unref(work);
	g_array_unref(delays);
	g_array_unref(behinds);
	cairo_destroy(cr);
	cairo_surface_destroy(surf);
	ravscope_heap_painter_free(painter);
	g_object_unref(doc);
	return 0;
}
