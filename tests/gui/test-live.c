/* test-live.c - ravscope attached to running programs, under X (Xvfb).
 *
 *	test-live TARGET SAMPLE_LIVE
 *
 * TARGET is tests/trace/attach-target (deterministic output), SAMPLE_LIVE
 * rav-sample-live; both run in a private socket directory.
 *   /live/follow       attach to a running sample: the view follows and
 *                      reaches a live event count; the attach dialog lists
 *                      it; detaching leaves it running; Save As writes what
 *                      was received and it reopens with the same events
 *   /live/breakpoint   pause, a breakpoint on a live cell of the worker
 *                      (selected in the view), continue: the view stops at
 *                      exactly the engine event (the STOPPED record against
 *                      the trace) with the cell selected and inspected; the
 *                      program resumes and finishes with its normal output
 *   /live/breakpoint-mark  a breakpoint on a mark of a thread that
 *                      depends on nobody (attach-target --spinners 1):
 *                      the view goes to exactly that event although its
 *                      operand is no address, the bar describes it; the
 *                      other threads run on and End follows them while it
 *                      stays held
 *   /live/killed       a ravscope process (this program in child mode)
 *                      pauses the program and is killed with SIGKILL: the
 *                      program is released and finishes normally
 *   /live/run          ravscope -- PROG: attached from the first event,
 *                      the program's output in the Output panel, exit status
 *   /live/flat-out     a program flat out: the view follows by taking the
 *                      worker's newest heap state (jumps of more than a
 *                      step's worth), stays put while scrubbed back, and
 *                      ends on the final state, 0 s behind
 *   /live/file-breakpoints  (TRACE) Run to Breakpoint forward and back on a
 *                      file; the Errors panel's count matches the trace
 */
#include <adwaita.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ravscope-heapdraw.h"

#include "ravscope-attach-dialog.h"
#include "ravscope-breakpoints-panel.h"
#include "ravscope-heap-view.h"
#include "ravscope-live.h"
#include "ravscope-window.h"
#include "gui-test.h"

static const char *target, *sample_live;
static char rundir[256];

static void spin_ms(int ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;
	while (g_get_monotonic_time() < end) {
		while (g_main_context_iteration(NULL, FALSE))
			;
		g_usleep(1000);
	}
}

typedef struct {
	GPid pid;
	int out; /* its stdout */
} Prog;

static Prog start(const char *const *argv)
{
	Prog p = { 0 };
	GError *error = NULL;
	if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &p.pid, NULL,
				      &p.out, NULL, &error))
		g_error("cannot start %s: %s", argv[0], error->message);
	return p;
}

static char *finish(Prog *p, int *status)
{
	GString *s = g_string_new(NULL);
	char buf[4096];
	ssize_t n;
	while ((n = read(p->out, buf, sizeof buf)) > 0)
		g_string_append_len(s, buf, n);
	close(p->out);
	waitpid(p->pid, status, 0);
	return g_string_free(s, FALSE);
}

/* attach-target's output depends only on its rounds: the reference run
 * skips the pauses (--pace-us 0), which are there to give a client time. */
/* The checks are done: attach-target finishes its remaining rounds without
 * pausing (SIGUSR1), then finish(). */
static char *finish_hurried(Prog *p, int *status)
{
	kill(p->pid, SIGUSR1);
	return finish(p, status);
}

static char *reference_output(const char *const *argv)
{
	const char *fast[32];
	int n = 0;
	for (int i = 0; argv[i] && n < 31; i++) {
		fast[n++] = argv[i];
		if (!strcmp(argv[i], "--pace-us") && argv[i + 1] && n < 31) {
			fast[n++] = "0";
			i++;
		}
	}
	fast[n] = NULL;
	g_setenv("RAVIOLI_LISTEN", "0", TRUE);
	Prog p = start(fast);
	g_unsetenv("RAVIOLI_LISTEN");
	int st;
	char *out = finish(&p, &st);
	g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return out;
}

static void wait_socket(GPid pid)
{
	g_autofree char *path = g_strdup_printf("%s/ravioli/%d.sock", rundir, pid);
	for (int i = 0; i < 3000 && !g_file_test(path, G_FILE_TEST_EXISTS); i++)
		g_usleep(10000);
	g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* A widget drawn by its own class right after a frame of its surface was
 * painted (the frame clock's after-paint: every allocation of the frame is
 * done, its children's nodes are fresh, nothing relayouts before the main
 * loop runs again).  A paintable of the widget (gtk_widget_paintable_new),
 * as this used to take, stayed empty for the attach dialog however long it
 * waited ("nothing to save", docs/attach-dialog.png made by hand): the
 * picture is now taken the same way every time. */
typedef struct {
	GtkWidget *w;
	GskRenderNode *node;
	gulong id;
} FrameShot;

static void on_after_paint(GdkFrameClock *clock, FrameShot *fs)
{
	GtkSnapshot *snap = gtk_snapshot_new();
	GTK_WIDGET_GET_CLASS(fs->w)->snapshot(fs->w, snap);
	fs->node = gtk_snapshot_free_to_node(snap);
	g_signal_handler_disconnect(clock, fs->id);
	fs->id = 0;
}

/* The widget's picture at its size, or NULL (the test then fails). */
static GdkTexture *render_widget(GtkWidget *w)
{
	GdkFrameClock *clock = gtk_widget_get_frame_clock(w);
	GskRenderer *r = gtk_native_get_renderer(gtk_widget_get_native(w));
	if (!clock || !r)
		return NULL;
	FrameShot fs = { w, NULL, 0 };
	fs.id = g_signal_connect(clock, "after-paint", G_CALLBACK(on_after_paint), &fs);
	gtk_widget_queue_draw(w);
	for (int i = 0; i < 600 && fs.id; i++) /* a frame comes within 60 s */
		spin_ms(100);
	if (fs.id)
		g_signal_handler_disconnect(clock, fs.id);
	if (!fs.node)
		return NULL;
	GdkTexture *tex = gsk_renderer_render_texture(
		r, fs.node, &GRAPHENE_RECT_INIT(0, 0, gtk_widget_get_width(w), gtk_widget_get_height(w)));
	gsk_render_node_unref(fs.node);
	return tex;
}

/* How many colours the texture has, up to `most` (a picture of a blank
 * surface has one). */
static guint texture_colours(GdkTexture *tex, guint most)
{
	int width = gdk_texture_get_width(tex), height = gdk_texture_get_height(tex);
	gsize stride = (gsize)width * 4;
	g_autofree guchar *px = g_malloc(stride * (gsize)height);
	gdk_texture_download(tex, px, stride);
	g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
	for (gsize i = 0; i + 4 <= stride * (gsize)height && g_hash_table_size(seen) < most; i += 4) {
		guint32 c;
		memcpy(&c, px + i, 4);
		g_hash_table_add(seen, GUINT_TO_POINTER(c | 1u)); /* (never 0: NULL is no key here) */
	}
	return g_hash_table_size(seen);
}

/* The widget's picture, checked to show something; RAVSCOPE_SHOTS=DIR:
 * also saved there under `name` (the moments the README shows). */
static void shot(GtkWidget *w, const char *name)
{
	GdkTexture *tex = render_widget(w);
	if (!tex)
		g_error("no picture of %s: the widget was not drawn", name);
	g_assert_cmpint(gdk_texture_get_width(tex), ==, gtk_widget_get_width(w));
	g_assert_cmpint(gdk_texture_get_height(tex), ==, gtk_widget_get_height(w));
	if (texture_colours(tex, 16) < 16)
		g_error("the picture of %s is nearly blank (%u colours)", name, texture_colours(tex, 16));
	const char *dir = g_getenv("RAVSCOPE_SHOTS");
	if (dir) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!gdk_texture_save_to_png(tex, path))
			g_error("could not save %s", path);
		g_printerr("saved %s (%dx%d)\n", path, gdk_texture_get_width(tex), gdk_texture_get_height(tex));
	}
	g_object_unref(tex);
}

static RavscopeWindow *new_window(void)
{
	return present_window(1200, 800);
}

static guint64 want_events;
static gboolean has_events(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc && ravscope_document_get_event_count(doc) >= want_events &&
	       ravscope_document_get_position(doc) + 50000 >= ravscope_document_get_event_count(doc);
}

static gboolean is_held(gpointer w)
{
	return ravscope_window_get_live_status(w)->held > 0;
}

/* Conditions waited for (spin_until: 60 s) where a fixed pause was once
 * assumed long enough: a seek, a frame of reception or the Errors panel's
 * count can take longer than that on a loaded machine. */
static guint64 want_count, want_pos;
static gboolean count_above(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc && ravscope_document_get_event_count(doc) > want_count;
}

static gboolean at_position(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc && ravscope_document_get_position(doc) == want_pos;
}

static guint want_errors;
static gboolean errors_counted(gpointer w)
{
	return ravscope_window_get_error_count(w) == want_errors;
}

static gboolean has_ended(gpointer w)
{
	return ravscope_window_get_live_status(w)->ended;
}

/* The dialog lists both samples (not only some rows: it also lists any
 * other program of this user's listening in /tmp/ravioli-UID, which made
 * "two rows" true before the samples were there). */
static GPid listed_pids[2];
static gboolean dialog_lists(gpointer d)
{
	return ravscope_attach_dialog_lists(d, listed_pids[0]) && ravscope_attach_dialog_lists(d, listed_pids[1]);
}

static gboolean has_errors(gpointer w)
{
	return ravscope_window_get_error_count(w) >= 2;
}

static void test_follow(void)
{
	const char *argv[] = { sample_live, "--seconds", "60", NULL };
	const char *argv2[] = { sample_live, "--seconds", "60", "--errors", NULL };
	Prog p = start(argv), p2 = start(argv2);
	wait_socket(p.pid);
	wait_socket(p2.pid);
	RavscopeWindow *w = new_window();
	/* the dialog lists it */
	RavscopeAttachDialog *d = ravscope_attach_dialog_new(GTK_WINDOW(w));
	gtk_window_present(GTK_WINDOW(d));
	listed_pids[0] = p.pid;
	listed_pids[1] = p2.pid;
	spin_until(dialog_lists, d, "the attach dialog's rows of both samples");
	g_assert_false(ravscope_attach_dialog_shows_empty(d));
	shot(GTK_WIDGET(d), "attach-dialog.png");
	gtk_window_destroy(GTK_WINDOW(d));

	ravscope_window_attach(w, p.pid);
	g_assert_cmpstr(ravscope_window_get_page(w), ==, "trace");
	g_assert_nonnull(ravscope_window_get_live(w));
	g_assert_true(ravscope_window_is_following(w));
	want_events = 20000;
	spin_until(has_events, w, "a live event count");
	spin_ms(400);
	g_assert_true(ravscope_window_is_following(w));
	g_assert_nonnull(strstr(ravscope_window_get_live_text(w), "received"));
	/* Lanes in creation (heap id) order, as a recorded file has them, not
	 * in the order the threads' snapshots came (dbg13) */
	{
		RavscopeDocument *doc = ravscope_window_get_document(w);
		rav_trace *t = ravscope_document_get_trace(doc);
		GString *table = g_string_new(NULL), *lanes = g_string_new(NULL);
		for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
			rav_trace_thread th;
			if (rav_trace_thread_at(t, i, &th) && th.kind == RAV_HEAP_THREAD)
				g_string_append_printf(table, " %u", th.heap_id);
		}
		RavscopeViewport vp = {.gutter = 170, .x0 = 170, .width = 900 - 170, .height = 600,
				       .selected = RAV_LOC_NONE, .hover = RAV_LOC_NONE};
		RavscopeHeapLayout *L = ravscope_heap_layout_build_fit(doc, NULL, 0, &vp, 40.0);
		guint32 last = 0, nlanes = 0;
		for (guint i = 0; i < L->lanes->len; i++) {
			const RavscopeLane *lane = &g_array_index(L->lanes, RavscopeLane, i);
			if (lane->kind != RAVSCOPE_LANE_THREAD)
				continue;
			g_string_append_printf(lanes, " %u", lane->heap_id);
			g_assert_cmpuint(lane->heap_id, >, last);
			last = lane->heap_id;
			nlanes++;
		}
		g_printerr("thread table:%s; lanes:%s\n", table->str, lanes->str);
		g_assert_cmpuint(nlanes, >=, 2);
		ravscope_heap_layout_free(L);
		g_string_free(table, TRUE);
		g_string_free(lanes, TRUE);
	}
	/* lossless or dropped first: a narrow window cuts the line's end */
	{
		const char *text = ravscope_window_get_live_text(w), *dot = strstr(text, " · ");
		g_assert_nonnull(dot);
		g_autofree char *first = g_strndup(text, (gsize)(dot - text));
		if (strcmp(first, "lossless") != 0 && !g_str_has_suffix(first, " dropped") && !strstr(first, " dropped ("))
			g_error("the live bar's line does not start with lossless / dropped: \"%s\"", text);
	}
	shot(GTK_WIDGET(w), "live-follow.png");
	g_assert_cmpuint(ravscope_window_get_live_frames(w), >, 0);
	/* scrubbing back stops following, reception goes on, End follows again */
	RavscopeDocument *doc = ravscope_window_get_document(w);
	guint64 n0 = ravscope_document_get_event_count(doc);
	ravscope_window_seek(w, n0 / 2);
	want_count = n0;
	spin_until(count_above, w, "more events while scrubbed back");
	g_assert_false(ravscope_window_is_following(w));
	g_assert_cmpuint(ravscope_document_get_event_count(doc), >, n0);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-follow", NULL));
	spin_ms(100);
	g_assert_true(ravscope_window_is_following(w));

	/* Save As: the events received reopen the same */
	g_autofree char *saved = g_build_filename(rundir, "saved.ravtrace", NULL);
	rav_trace_error err;
	g_assert_cmpint(rav_trace_save(ravscope_document_get_trace(doc), saved, &err), ==, 0);
	rav_trace *t = rav_trace_open(saved, &err);
	g_assert_nonnull(t);
	rav_trace_index(t, NULL, NULL, &err);
	g_assert_cmpuint(rav_trace_indexed_events(t), >=, n0);
	rav_trace_close(t);

	/* detaching leaves the program running */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-detach", NULL));
	spin_until(has_ended, w, "the end of the session");
	g_assert_true(ravscope_window_get_live_status(w)->end_known);
	g_assert_cmpint(ravscope_window_get_live_status(w)->end_how, ==, 1);
	spin_ms(200);
	g_assert_cmpint(kill(p.pid, 0), ==, 0);
	g_assert_cmpstr(ravscope_window_get_page(w), ==, "trace"); /* what was received stays open */

	/* the other one misuses the engine once a second: the Errors panel lists it */
	/* with memory accesses: the contention overlay slides with the newest events */
	ravscope_window_attach_full(w, p2.pid, TRUE);
	g_object_set(w, "show-contention", TRUE, NULL);
	spin_until(has_errors, w, "error events");
	gboolean contention = FALSE;
	g_object_get(w, "show-contention", &contention, NULL);
	g_assert_true(contention);
	shot(GTK_WIDGET(w), "live-contention.png");
	gtk_widget_activate_action(GTK_WIDGET(w), "win.show-errors", NULL);
	shot(GTK_WIDGET(w), "errors-panel.png");
	gtk_window_destroy(GTK_WINDOW(w));
	kill(p.pid, SIGTERM);
	kill(p2.pid, SIGTERM);
	int st;
	g_free(finish(&p, &st));
	g_free(finish(&p2, &st));
}

/* 60 s of rounds: the program must still be running when a loaded machine
 * gets to the breakpoint (1500 rounds, 6 s, ran out once at load 17); the
 * tests hurry it once their checks are done (finish_hurried). */
static const char *target_args[] = { NULL, "--rounds", "15000", "--pace-us", "4000", NULL };

static guint64 want_stops;
static gboolean stop_shown(gpointer w)
{
	const rav_live_status *st = ravscope_window_get_live_status(w);
	/* shown with the event it stopped at ("... (hit N): what it did"), not
	 * only the stop: under load the event may be indexed seconds after */
	return st->stops >= want_stops && st->last_stop.why == 1 && !ravscope_window_is_following(w) &&
	       ravscope_window_get_live_stop_text(w) && strstr(ravscope_window_get_live_stop_text(w), "breakpoint") &&
	       strstr(ravscope_window_get_live_stop_text(w), "). Its event: ");
}

/* A live user-type cell of heap `heap` at the playhead. */
static rav_loc live_cell_of(RavscopeDocument *doc, guint32 heap)
{
	rav_state *s = ravscope_document_get_state(doc);
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	for (unsigned i = 0; i < rav_state_heap_count(s); i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(s, i, &h) || h.id != heap)
			continue;
		for (unsigned p = 0; p < h.page_count; p++)
			for (unsigned c = 1; c < cpp; c++) {
				rav_state_cell cell;
				if (rav_state_cell_at(s, h.pages[p], c, &cell) && cell.state == RAV_CELL_LIVE &&
				    cell.type >= RAVSCOPE_TYPE_FIRST_USER)
					return rav_loc_make(h.pages[p], c, 0);
			}
	}
	return RAV_LOC_NONE;
}

static guint32 heap_named(RavscopeDocument *doc, const char *name)
{
	rav_trace *t = ravscope_document_get_trace(doc);
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread th;
		if (rav_trace_thread_at(t, i, &th) && !strcmp(th.name, name))
			return th.heap_id;
	}
	return 0;
}

/* The view, following, has the worker's heap with a live cell in it (the
 * events recorded before the pause are in: not after a fixed time). */
static gboolean worker_cell_shown(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	guint32 worker = doc ? heap_named(doc, "worker") : 0;
	return worker && ravscope_window_is_following(w) && live_cell_of(doc, worker) != RAV_LOC_NONE;
}

static void test_breakpoint(void)
{
	target_args[0] = target;
	g_autofree char *ref = reference_output(target_args);
	Prog p = start(target_args);
	wait_socket(p.pid);
	RavscopeWindow *w = new_window();
	ravscope_window_attach(w, p.pid);
	want_events = 2000;
	spin_until(has_events, w, "events");
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-pause", NULL));
	spin_until(is_held, w, "the program to pause");
	spin_ms(500); /* what was recorded before the pause is in */
	RavscopeDocument *doc = ravscope_window_get_document(w);
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-follow", NULL));
	spin_ms(100);
	spin_until(worker_cell_shown, w, "a live cell of the worker at the newest event");
	guint32 worker = heap_named(doc, "worker");
	g_assert_cmpuint(worker, !=, 0);
	rav_loc cell = live_cell_of(doc, worker);
	g_assert_cmpuint(cell, !=, RAV_LOC_NONE);
	ravscope_window_select_cell(w, cell);
	RavscopeBreakpointsPanel *bp = ravscope_window_get_breakpoints_panel(w);
	/* Every cell of the worker dies within a round (its lists are rebuilt
	 * each round): without "is freed", a cell freed before anything moved
	 * it or fixed it up never fires the breakpoint (3 of 8 runs failed so;
	 * with it 8 of 8 stopped, 4 of them at the free). */
	guint32 id = ravscope_breakpoints_panel_add_cell(
		bp, cell, RAV_LIVE_ON_MOVE | RAV_LIVE_ON_FIXUP | RAV_LIVE_ON_FREE | RAV_LIVE_ON_REFERRER);
	g_assert_cmpuint(id, >, 0);
	want_stops = ravscope_window_get_live_status(w)->stops + 1;
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-continue", NULL));
	const rav_live_status *st = ravscope_window_get_live_status(w);
	if (!spin_until_for(stop_shown, w, 60)) {
		const struct rav_live_break_state *bs = rav_live_break_state(st, id);
		g_error("no stop at the breakpoint: stops %llu (want %llu), last why %d break %u, held %u, "
			"breakpoint state %d (%s), bar: %s", (unsigned long long)st->stops,
			(unsigned long long)want_stops, st->last_stop.why, st->last_stop.break_id, st->held,
			bs ? bs->state : -1, bs ? bs->text : "", ravscope_window_get_live_text(w));
	}
	if (st->last_stop.break_id != id || st->last_stop.heap_id != worker) {
		/* (seen once in 30 runs under load: breakpoint 2 with only 1 set) */
		GString *bs = g_string_new(NULL);
		for (unsigned i = 0; i < st->nbreaks; i++)
			g_string_append_printf(bs, " [%u: state %d, %s]", st->breaks[i].id, st->breaks[i].state,
					       st->breaks[i].text);
		g_error("stopped at breakpoint %u in thread %u (want breakpoint %u in the worker, %u): \"%s\"; "
			"stops %llu (want %llu), held %u; breakpoints:%s", st->last_stop.break_id, st->last_stop.heap_id,
			id, worker, st->last_stop.text, (unsigned long long)st->stops, (unsigned long long)want_stops,
			st->held, bs->str);
	}
	/* the view is just after the engine event the program stopped at */
	guint64 pos = ravscope_document_get_position(doc);
	g_assert_cmpuint(pos, >, 0);
	rav_event ev;
	g_assert_true(rav_trace_event_at(ravscope_document_get_trace(doc), pos - 1, &ev));
	g_assert_cmpuint(ev.kind, ==, st->last_stop.kind & 0xff);
	g_assert_cmpint((gint64)ev.a, ==, st->last_stop.a);
	g_assert_cmpuint(ev.thread, ==, worker);
	/* nothing of that thread after it but the move's fix-ups */
	rav_event_filter f = { .kinds = ~((1ull << RAV_EV_TIME) | (1ull << RAV_EV_FIXUP)), .thread = worker };
	g_assert_cmpint(rav_trace_find_next(ravscope_document_get_trace(doc), pos, &f), <, 0);
	g_printerr("stopped at event %" G_GUINT64_FORMAT ": %s (%s)\n", pos - 1, rav_event_kind_name(ev.kind),
		   ravscope_window_get_live_stop_text(w));
	/* the inspector shows the watched cell */
	g_autofree char *insp = ravscope_window_dup_inspector_text(w);
	g_autofree char *loc = g_strdup_printf("%u.%u", (unsigned)st->last_stop.cell_page,
					       (unsigned)st->last_stop.cell_index);
	if (st->last_stop.cell_page >= 0)
		g_assert_nonnull(strstr(insp, loc));
	g_printerr("inspector: %.200s\n", insp);
	shot(GTK_WIDGET(w), "live-breakpoint.png");

	/* held: F11 and F5 are the debugger's Step and Continue, the Shift
	 * ones still full screen and Present (ravscope-window-teach.c) */
	g_assert_null(ravscope_window_projector_key(w, GDK_KEY_F11, 0));
	g_assert_null(ravscope_window_projector_key(w, GDK_KEY_F5, 0));
	g_assert_cmpstr(ravscope_window_projector_key(w, GDK_KEY_F11, GDK_SHIFT_MASK), ==, "win.fullscreen");
	g_assert_cmpstr(ravscope_window_projector_key(w, GDK_KEY_F5, GDK_SHIFT_MASK), ==, "win.present");

	/* step one event of that thread: it stops again */
	want_stops = st->stops + 1;
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-step", NULL));
	for (int i = 0; i < 5000 && ravscope_window_get_live_status(w)->stops < want_stops; i++)
		spin_ms(2);
	g_assert_cmpuint(ravscope_window_get_live_status(w)->stops, >=, want_stops);
	g_assert_cmpint(ravscope_window_get_live_status(w)->last_stop.why, ==, 3);

	/* close the window: the program is released, resumes and finishes */
	gtk_window_destroy(GTK_WINDOW(w));
	spin_ms(100);
	int status;
	g_autofree char *out = finish_hurried(&p, &status);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_assert_cmpstr(out, ==, ref);
}

static guint64 want_position;
static gboolean followed_past(gpointer w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return ravscope_window_is_following(w) && ravscope_document_get_position(doc) >= want_position;
}

static void test_breakpoint_mark(void)
{
	const char *args[] = { target, "--rounds", "15000", "--pace-us", "4000", "--spinners", "1", NULL };
	g_autofree char *ref = reference_output(args);
	Prog p = start(args);
	wait_socket(p.pid);
	RavscopeWindow *w = new_window();
	ravscope_window_attach(w, p.pid);
	want_events = 2000;
	spin_until(has_events, w, "events");
	RavscopeDocument *doc = ravscope_window_get_document(w);
	/* "Stop on: Mark text", empty: any mark (only the spinner makes them) */
	guint32 id = ravscope_breakpoints_panel_add_kind(ravscope_window_get_breakpoints_panel(w), 4);
	g_assert_cmpuint(id, >, 0);
	want_stops = ravscope_window_get_live_status(w)->stops + 1;
	const rav_live_status *st = ravscope_window_get_live_status(w);
	if (!spin_until_for(stop_shown, w, 60))
		g_error("no stop at the mark: stops %llu, held %u, bar: %s", (unsigned long long)st->stops, st->held,
			ravscope_window_get_live_text(w));
	g_assert_cmpuint(st->last_stop.break_id, ==, id);
	guint32 spinner = heap_named(doc, "spinner-1");
	g_assert_cmpuint(st->last_stop.heap_id, ==, spinner);
	/* the view is just after the mark, and the bar says what it was */
	guint64 pos = ravscope_document_get_position(doc);
	g_assert_cmpuint(pos, >, 0);
	rav_event ev;
	g_assert_true(rav_trace_event_at(ravscope_document_get_trace(doc), pos - 1, &ev));
	g_assert_cmpuint(ev.kind, ==, RAV_EV_MARK);
	g_assert_cmpuint(ev.thread, ==, spinner);
	g_assert_nonnull(ev.text);
	g_assert_nonnull(strstr(ravscope_window_get_live_stop_text(w), ev.text));
	g_printerr("stopped at event %" G_GUINT64_FORMAT ": %s\n", pos - 1, ravscope_window_get_live_stop_text(w));
	/* main and the worker run on: End follows them, the spinner still held */
	g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-follow", NULL));
	want_position = pos + 2000;
	spin_until(followed_past, w, "the view to follow the threads that run");
	g_assert_cmpuint(ravscope_window_get_live_status(w)->held, ==, 1);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_ms(100);
	int status;
	g_autofree char *out = finish_hurried(&p, &status);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_assert_cmpstr(out, ==, ref);
}

/* Child mode: attach, pause, say so, wait to be killed. */
static G_NORETURN int child_pause(int pid)
{
	RavscopeWindow *w = new_window();
	ravscope_window_attach(w, pid);
	want_events = 1000;
	spin_until(has_events, w, "events");
	gtk_widget_activate_action(GTK_WIDGET(w), "win.live-pause", NULL);
	spin_until(is_held, w, "the pause");
	printf("held\n");
	fflush(stdout);
	for (;;)
		spin_ms(100);
}

static void test_killed(void)
{
	target_args[0] = target;
	g_autofree char *ref = reference_output(target_args);
	Prog p = start(target_args);
	wait_socket(p.pid);
	g_autofree char *self_exe = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *pid_s = g_strdup_printf("%d", p.pid);
	const char *argv[] = { self_exe, "--child-pause", pid_s, NULL };
	Prog c = start(argv);
	char line[16] = "";
	ssize_t n = 0, got;
	while (n < 5 && (got = read(c.out, line + n, sizeof line - 1 - (size_t)n)) > 0)
		n += got;
	g_assert_true(g_str_has_prefix(line, "held"));
	/* paused: it makes no progress */
	kill(c.pid, SIGKILL);
	int cs;
	g_free(finish(&c, &cs));
	g_assert_true(WIFSIGNALED(cs) && WTERMSIG(cs) == SIGKILL);
	int status;
	g_autofree char *out = finish_hurried(&p, &status);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	g_assert_cmpstr(out, ==, ref);
}

static gboolean run_done(gpointer w)
{
	RavscopeLive *l = ravscope_window_get_live(w);
	return l && ravscope_live_get_wait_status(l) >= 0 && ravscope_window_get_live_status(w)->ended;
}

static void test_run(void)
{
	RavscopeWindow *w = new_window();
	const char *argv[] = { sample_live, "--seconds", "1", NULL };
	ravscope_window_run(w, argv);
	g_assert_nonnull(ravscope_window_get_live(w));
	spin_until(run_done, w, "the program's end");
	spin_ms(300);
	const rav_live_status *st = ravscope_window_get_live_status(w);
	g_assert_true(st->end_known && st->end_how == 2 && st->end_value == 0);
	/* started here: lossless, however loaded the machine */
	g_assert_cmpuint(st->lost, ==, 0);
	g_assert_cmpuint(st->nlosses, ==, 0);
	g_assert_true(g_str_has_prefix(ravscope_window_get_live_text(w), "lossless · "));
	RavscopeDocument *doc = ravscope_window_get_document(w);
	/* from the first event: the type definitions and the first thread's start are there */
	rav_trace *t = ravscope_document_get_trace(doc);
	g_assert_cmpuint(rav_trace_type_count(t), >=, 2);
	rav_event_filter f = { .kinds = 1ull << RAV_EV_MARK, .thread = -1 };
	gint64 first_mark = rav_trace_find_next(t, 0, &f);
	g_assert_cmpint(first_mark, >=, 0);
	rav_event ev;
	g_assert_true(rav_trace_event_at(t, (guint64)first_mark, &ev));
	g_assert_cmpstr(ev.text, ==, "round 0");
	g_assert_nonnull(strstr(ravscope_window_get_live_text(w), "received"));
	gtk_window_destroy(GTK_WINDOW(w));
}

/* A program ravscope started ends when its window closes, as gdb's quit
 * ends the program it started (it ran on before, orphaned: a server-like
 * program never ended); one the user detached from runs on. */
static gboolean received_some(gpointer w)
{
	return ravscope_window_get_live_status(w)->events > 0;
}

static void test_run_close(void)
{
	for (int detach = 0; detach < 2; detach++) {
		RavscopeWindow *w = new_window();
		const char *argv[] = { sample_live, "--seconds", "60", "--quiet", NULL };
		ravscope_window_run(w, argv);
		RavscopeLive *l = ravscope_window_get_live(w);
		g_assert_nonnull(l);
		int pid = ravscope_live_get_pid(l);
		g_assert_cmpint(pid, >, 0);
		spin_until(received_some, w, "the program's first events");
		if (detach)
			g_assert_true(gtk_widget_activate_action(GTK_WIDGET(w), "win.live-detach", NULL));
		gtk_window_destroy(GTK_WINDOW(w));
		spin_ms(200);
		int status = 0;
		if (!detach) {
			/* ended and reaped by the window's session */
			g_assert_cmpint(kill(pid, 0), ==, -1);
			g_assert_cmpint(errno, ==, ESRCH);
		} else {
			/* runs on until we end it */
			g_assert_cmpint(waitpid(pid, &status, WNOHANG), ==, 0);
			kill(pid, SIGTERM);
			g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
		}
	}
}

/* Run Program on a program that closes every descriptor above 2 in main()
 * (attach-target --close-fds, as daemons do): the session, attached before
 * main(), is cut by the program itself, which runs on.  The live bar says
 * so (it said "Connection lost", as for a program killed), and closing the
 * window still ends the program. */
static gboolean stream_ended(gpointer w)
{
	return ravscope_window_get_live_status(w)->ended &&
	       strstr(ravscope_window_get_live_text(w), "closed the connection itself") != NULL;
}

static void test_run_daemon(void)
{
	RavscopeWindow *w = new_window();
	const char *argv[] = { target, "--close-fds", "--rounds", "100000", "--pace-us", "2000", NULL };
	ravscope_window_run(w, argv);
	RavscopeLive *l = ravscope_window_get_live(w);
	g_assert_nonnull(l);
	int pid = ravscope_live_get_pid(l);
	spin_until(stream_ended, w, "the program closing the connection, said in the live bar");
	g_assert_false(ravscope_window_get_live_status(w)->end_known);
	g_assert_cmpint(kill(pid, 0), ==, 0);
	gtk_window_destroy(GTK_WINDOW(w));
	spin_ms(200);
	g_assert_cmpint(kill(pid, 0), ==, -1);
}

/* A program flat out sends far more events a frame than the view steps
 * (4000): the view follows by taking the worker's newest state, scrubbing
 * back stops that without stopping reception, Follow resumes it, and once
 * the program ended the view shows the final state (the same heap as a
 * seek to the end) and is no longer behind. */
static guint64 doc_position(RavscopeWindow *w)
{
	RavscopeDocument *doc = ravscope_window_get_document(w);
	return doc ? ravscope_document_get_position(doc) : 0;
}

static void test_flat_out(void)
{
	RavscopeWindow *w = new_window();
	const char *argv[] = { sample_live, "--flat-out", "--quiet", "--seconds", "3", NULL };
	ravscope_window_run(w, argv);
	g_assert_nonnull(ravscope_window_get_live(w));
	RavscopeDocument *doc = ravscope_window_get_document(w);
	/* follow: the view moves in jumps of more than a step's worth (the
	 * worker's states); scrubbed back after a second, it stays there
	 * while events keep coming, and Follow resumes.  Watched until the
	 * view has caught up with the end, not only while the program runs:
	 * on a loaded machine the window may index little of the program's
	 * 3 s before it has ended, and the view's one jump is the one Follow
	 * makes when it resumes, which the loop must see (it ended with the
	 * program, before looking again: "biggest jump 0"). */
	guint64 biggest = 0, last = 0;
	gint64 scrub_at = g_get_monotonic_time() + G_USEC_PER_SEC;
	gint64 deadline = g_get_monotonic_time() + 90 * G_USEC_PER_SEC;
	gboolean scrubbed = FALSE;
	for (;;) {
		guint64 pos = doc_position(w);
		if (pos > last && pos - last > biggest)
			biggest = pos - last;
		last = pos;
		if (run_done(w) && is_indexed(w) && scrubbed && pos == ravscope_document_get_event_count(doc))
			break;
		if (g_get_monotonic_time() > deadline) {
			/* (once, the view at 0 of 444,924 events for 90 s after the
			 * end, not explained: whether replay could reach the end (a
			 * seek past it fails, and the window's seek to the end after
			 * the worker is done ignores that) says if that was it) */
			rav_trace *t = ravscope_document_get_trace(doc);
			rav_trace_error terr = { 0 };
			gboolean consistent = rav_trace_consistent(t, &terr);
			g_error("flat-out: the view not at the end of the stream after 90 s: at %" G_GUINT64_FORMAT
				" of %" G_GUINT64_FORMAT " events (%" G_GUINT64_FORMAT " replayed%s%s), program %s, %s, %s, %s, %"
				G_GUINT64_FORMAT " frames followed, biggest jump so far %" G_GUINT64_FORMAT,
				pos, ravscope_document_get_event_count(doc), rav_trace_replayed_events(t),
				consistent ? "" : "; ", consistent ? "" : terr.message, run_done(w) ? "done" : "running",
				is_indexed(w) ? "indexed" : "indexing", scrubbed ? "scrubbed" : "not scrubbed yet",
				ravscope_window_is_following(w) ? "following" : "not following",
				ravscope_window_get_live_frames(w), biggest);
		}
		g_main_context_iteration(NULL, FALSE);
		double behind = ravscope_window_get_live_behind(w);
		g_assert_true(behind >= 0 && behind < 3600);
		if (!scrubbed && g_get_monotonic_time() > scrub_at) {
			g_assert_true(ravscope_window_is_following(w));
			ravscope_document_seek(doc, 0, NULL);
			g_assert_false(ravscope_window_is_following(w));
			want_pos = 0;
			spin_until(at_position, w, "the seek to the start");
			spin_ms(200); /* it stays there while events come */
			g_assert_cmpuint(doc_position(w), ==, 0);
			gtk_widget_activate_action(GTK_WIDGET(w), "win.live-follow", NULL);
			g_assert_true(ravscope_window_is_following(w));
			scrubbed = TRUE;
			last = 0;
			continue; /* (where Follow took the view: looked at before anything else) */
		}
		g_usleep(1000);
	}
	g_printerr("flat-out: biggest jump %" G_GUINT64_FORMAT " events\n", biggest);
	g_assert_cmpuint(biggest, >, 4000);
	spin_until(is_indexed, w, "the end of the stream");
	want_pos = ravscope_document_get_event_count(doc);
	spin_until(at_position, w, "the view at the last event");
	const rav_live_status *st = ravscope_window_get_live_status(w);
	g_assert_true(st->end_known && st->end_how == 2 && st->end_value == 0);
	guint64 n = ravscope_document_get_event_count(doc);
	g_printerr("flat-out: %" G_GUINT64_FORMAT " events\n", n);
	g_assert_cmpuint(n, >, 100000);
	g_assert_cmpuint(doc_position(w), ==, n);
	g_assert_true(ravscope_window_is_following(w));
	g_assert_cmpfloat(ravscope_window_get_live_behind(w), ==, 0);
	g_assert_null(strstr(ravscope_window_get_live_text(w), "behind"));
	/* what it shows is the final heap */
	rav_state *fresh = rav_state_new(ravscope_document_get_trace(doc));
	g_assert_cmpint(rav_state_seek(fresh, n, NULL), ==, 0);
	rav_state_totals a, b;
	rav_state_get_totals(ravscope_document_get_state(doc), &a);
	rav_state_get_totals(fresh, &b);
	g_assert_cmpmem(&a, sizeof a, &b, sizeof b);
	g_assert_cmpuint(rav_state_page_span(ravscope_document_get_state(doc)), ==, rav_state_page_span(fresh));
	rav_state_free(fresh);
	gtk_window_destroy(GTK_WINDOW(w));
}

/* The same breakpoints on a file: Run to Breakpoint forward and back, via
 * the reader's search; the Errors panel counts the trace's error events. */
static void test_file(gconstpointer data)
{
	const char *path = data;
	RavscopeWindow *w = new_window();
	open_path(w, path);
	spin_until(is_indexed, w, "indexing");
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	/* what the reader finds */
	rav_event_filter ef = { .kinds = 1ull << RAV_EV_ERROR, .thread = -1 };
	guint nerr = 0;
	for (gint64 at = rav_trace_find_next(t, 0, &ef); at >= 0; at = rav_trace_find_next(t, (guint64)at + 1, &ef))
		nerr++;
	want_errors = nerr;
	spin_until(errors_counted, w, "the Errors panel's count");
	g_assert_cmpuint(ravscope_window_get_error_count(w), ==, nerr);
	rav_event_filter af = { .kinds = 1ull << RAV_EV_ALLOC, .thread = -1 };
	gint64 first_alloc = rav_trace_find_next(t, 0, &af);
	g_assert_cmpint(first_alloc, >=, 0);
	gint64 second_alloc = rav_trace_find_next(t, (guint64)first_alloc + 1, &af);
	RavscopeBreakpointsPanel *bp = ravscope_window_get_breakpoints_panel(w);
	ravscope_breakpoints_panel_add_kind(bp, 1); /* allocation of any type */
	ravscope_window_seek(w, 0);
	want_pos = 0;
	spin_until(at_position, w, "the seek to the start");
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	want_pos = (guint64)first_alloc + 1;
	spin_until(at_position, w, "the run to the first allocation");
	guint64 pos = ravscope_document_get_position(doc);
	/* win.seek-event plays the event: the playhead is just after it */
	g_assert_cmpuint(pos, ==, (guint64)first_alloc + 1);
	g_assert_true(ravscope_breakpoints_panel_run(bp, TRUE));
	want_pos = (guint64)second_alloc + 1;
	spin_until(at_position, w, "the run to the second allocation");
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, (guint64)second_alloc + 1);
	g_assert_true(ravscope_breakpoints_panel_run(bp, FALSE));
	want_pos = (guint64)first_alloc + 1;
	spin_until(at_position, w, "the run back to the first allocation");
	g_assert_cmpuint(ravscope_document_get_position(doc), ==, (guint64)first_alloc + 1);
	g_assert_false(ravscope_breakpoints_panel_run(bp, FALSE));
	gtk_window_destroy(GTK_WINDOW(w));
}

/* ravscope --break=WHERE -- PROG: the program is held from the start until
 * the breakpoint is in it, as gdb sets breakpoints before a program runs.
 * Paused only once the document was open, it ran 0.1-0.2 s first (red9:
 * a server-like loop stopped at the 67th allocation of the line; a pause
 * sent at once still let 1-5 calls through): the program starts paused
 * (RAVIOLI_LISTEN_PAUSED), so it stops at the line's first call. */
/* The line of samples/live.c that holds the builder's "insert" allocation
 * (found in the source, so that editing the sample does not break this). */
static guint insert_line(void)
{
	char *text = NULL;
	GError *error = NULL;
	if (!g_file_get_contents(LIVE_SOURCE, &text, NULL, &error))
		g_error("%s", error->message);
	guint line = 1, found = 0;
	for (const char *p = text; *p && !found; p++) {
		if (g_str_has_prefix(p, "\"insert\");"))
			found = line;
		line += *p == '\n';
	}
	g_free(text);
	if (!found)
		g_error("no \"insert\"); in %s", LIVE_SOURCE);
	return found;
}

static gboolean hint_says_hit(gpointer w)
{
	const char *h = ravscope_breakpoints_panel_get_hint(ravscope_window_get_breakpoints_panel(w));
	return g_str_has_prefix(h, "Hit 1 time in this run");
}

static void test_start_break(void)
{
	RavscopeWindow *w = new_window();
	guint at = insert_line();
	char *where = g_strdup_printf("live.c:%u", at);
	ravscope_window_set_start_break(w, where); /* the builder's "insert" allocation */
	g_free(where);
	const char *argv[] = { sample_live, "--seconds", "20", "--quiet", NULL };
	want_stops = 1;
	ravscope_window_run(w, argv);
	g_assert_nonnull(ravscope_window_get_live(w));
	spin_until(stop_shown, w, "the stop at the first hit");
	/* the form under the entry said "No call of live.c:N seen yet" after
	 * the hit (qadev14): now the hits */
	if (!spin_until_for(hint_says_hit, w, 30))
		g_error("the Breaks form does not say the breakpoint was hit: \"%s\"",
			ravscope_breakpoints_panel_get_hint(ravscope_window_get_breakpoints_panel(w)));
	g_assert_null(strstr(ravscope_breakpoints_panel_get_hint(ravscope_window_get_breakpoints_panel(w)), "seen yet"));
	RavscopeDocument *doc = ravscope_window_get_document(w);
	rav_trace *t = ravscope_document_get_trace(doc);
	guint64 pos = ravscope_document_get_position(doc);
	/* the view is after the hit (position = its index + 1): the hit is
	 * the line's only allocation so far */
	guint64 before = 0, last = 0;
	for (guint64 i = 0; i < pos; i++) {
		rav_event ev;
		rav_trace_symbol sy[4];
		if (!rav_trace_event_at(t, i, &ev) || ev.kind != RAV_EV_ALLOC || !ev.site)
			continue;
		unsigned n = rav_trace_site_resolve(t, ev.site, sy, 4);
		if (n > 0 && sy[0].file && g_str_has_suffix(sy[0].file, "live.c") && sy[0].line == at) {
			before++;
			last = i;
		}
	}
	/* what the user sees: the view just after the stopped thread's event
	 * (found by its identity: the thread and its number of events before
	 * the STOPPED record), that event's cell selected */
	const rav_live_status *stst = ravscope_window_get_live_status(w);
	g_assert_cmpuint(stst->last_stop.thread_events, >, 0);
	gint64 stop_at = rav_trace_thread_event(t, stst->last_stop.heap_id, stst->last_stop.thread_events - 1);
	rav_event stop_ev = { 0 };
	g_assert_cmpint(stop_at, >=, 0);
	g_assert_true(rav_trace_event_at(t, (guint64)stop_at, &stop_ev));
	g_assert_cmpuint(stop_ev.kind, ==, RAV_EV_ALLOC);
	g_assert_cmpint((gint64)stop_ev.a, ==, stst->last_stop.a);
	rav_loc selected = ravscope_heap_view_get_selected(RAVSCOPE_HEAP_VIEW(ravscope_window_get_heap_view(w)));
	if ((guint64)stop_at + 1 != pos || rav_loc_page(selected) != rav_loc_page(stop_ev.a) ||
	    rav_loc_cell(selected) != rav_loc_cell(stop_ev.a))
		g_error("start-break: the view is at %" G_GUINT64_FORMAT " with cell %u.%u selected; the stop's event "
			"(the thread's event number %" G_GUINT64_FORMAT ") is at %" G_GINT64_FORMAT ", cell %u.%u; %" G_GUINT64_FORMAT
			" events indexed, %" G_GUINT64_FORMAT " replayed; the stop: \"%s\"",
			pos, rav_loc_page(selected), rav_loc_cell(selected), stst->last_stop.thread_events - 1, stop_at,
			rav_loc_page(stop_ev.a), rav_loc_cell(stop_ev.a), rav_trace_indexed_events(t),
			rav_trace_replayed_events(t), ravscope_window_get_live_stop_text(w));
	if (before != 1 || last + 1 != pos) {
		rav_event ev = { 0 };
		rav_trace_symbol sy[4];
		memset(sy, 0, sizeof sy);
		unsigned n = pos > 0 && rav_trace_event_at(t, pos - 1, &ev) && ev.site
				     ? rav_trace_site_resolve(t, ev.site, sy, 4) : 0;
		/* where the stopped thread's last event is now */
		const rav_live_status *st = ravscope_window_get_live_status(w);
		rav_event_filter f = { .kinds = ~(1ull << RAV_EV_TIME), .thread = st->last_stop.heap_id };
		guint64 count = ravscope_document_get_event_count(doc);
		gint64 now_at = rav_trace_find_prev(t, count, &f);
		rav_event last_ev = { 0 };
		if (now_at >= 0)
			rav_trace_event_at(t, (guint64)now_at, &last_ev);
		g_error("start-break: %" G_GUINT64_FORMAT " allocations at live.c:%u before the view's position %"
			G_GUINT64_FORMAT " (the last at %" G_GUINT64_FORMAT "), want 1 just before it; the stop: \"%s\"; "
			"the event before the view: %s, site %" G_GUINT64_FORMAT " (%u frames: %s:%u), %u objects, %u sites; "
			"the stopped thread's last event now: %" G_GINT64_FORMAT " of %" G_GUINT64_FORMAT " (%s)",
			before, at, pos, last, ravscope_window_get_live_stop_text(w), rav_event_kind_name(ev.kind),
			(guint64)ev.site, n, n && sy[0].file ? sy[0].file : "?", n ? sy[0].line : 0,
			rav_trace_object_count(t), rav_trace_site_count(t), now_at, count, rav_event_kind_name(last_ev.kind));
	}
	gtk_window_destroy(GTK_WINDOW(w));
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--child-pause")) {
		gtk_init();
		adw_init();
		return child_pause(atoi(argv[2]));
	}
	gtk_test_init(&argc, &argv, NULL);
	adw_init();
	if (argc < 3) {
		g_printerr("usage: %s ATTACH_TARGET RAV_SAMPLE_LIVE [TRACE]\n", argv[0]);
		return 2;
	}
	target = argv[1];
	sample_live = argv[2];
	signal(SIGPIPE, SIG_IGN);
	g_snprintf(rundir, sizeof rundir, "/tmp/ravscope-live-XXXXXX");
	g_assert_nonnull(g_mkdtemp_full(rundir, 0700));
	g_setenv("XDG_RUNTIME_DIR", rundir, TRUE);
	g_test_add_func("/live/follow", test_follow);
	g_test_add_func("/live/breakpoint", test_breakpoint);
	g_test_add_func("/live/breakpoint-mark", test_breakpoint_mark);
	g_test_add_func("/live/killed", test_killed);
	g_test_add_func("/live/run", test_run);
	g_test_add_func("/live/run-close", test_run_close);
	g_test_add_func("/live/run-daemon", test_run_daemon);
	g_test_add_func("/live/start-break", test_start_break);
	g_test_add_func("/live/flat-out", test_flat_out);
	if (argc > 3)
		g_test_add_data_func("/live/file-breakpoints", argv[3], test_file);
	int rc = g_test_run();
	g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", rundir);
	if (system(cmd) != 0)
		g_printerr("could not remove %s\n", rundir);
	return rc;
}
