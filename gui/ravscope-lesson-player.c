/* ravscope-lesson-player.c - playing a lesson.
 *
 * Travelling to a step: when only a few operations lie between the
 * playhead and the step, each plays as an operation step (slowly, one
 * after the other); when more do, the playhead jumps to the start of the
 * step's operation.  The step's own operation always plays animated, then
 * the player stops: the narration undims and the heap points at what the
 * step names (its operation's cells, a type, a thread, its pages).  Back
 * goes to the previous step at once.  A person may step or seek by hand
 * in between; Next continues from the step it was on.
 */
#include "ravscope-lesson-player.h"

#include "ravscope-explain.h"

/* Operations between steps that are played one by one; more: a jump. */
#define TRAVEL_OPS_MAX 6
/* Pause between the operations played while travelling. */
#define TRAVEL_PAUSE_MS 350
/* Cells of a type pointed at, at most. */
#define TYPE_SPOTS_MAX 400

struct _RavscopeLessonPlayer {
	GObject parent_instance;
	RavscopePlayback *playback;
	RavscopeHeapView *heap_view;
	RavscopeNarration *narration;
	RavscopeContention *contention;
	RavscopeDocument *doc;
	RavscopeLesson *lesson;
	int step;
	gboolean busy;
	int travel_left; /* operation steps still to play before the step's own */
	guint timer;
	guint last_op_ms; /* period of the last operation step the playback played */
};

G_DEFINE_FINAL_TYPE(RavscopeLessonPlayer, ravscope_lesson_player, G_TYPE_OBJECT)

enum { SIGNAL_STEP_REACHED, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

static RavscopeLessonStep *step_at(RavscopeLessonPlayer *self, int k)
{
	return self->lesson && k >= 0 && (guint)k < self->lesson->steps->len
	           ? g_ptr_array_index(self->lesson->steps, k)
	           : NULL;
}

static void cancel_travel(RavscopeLessonPlayer *self)
{
	g_clear_handle_id(&self->timer, g_source_remove);
	self->travel_left = 0;
}

static guint32 thread_id(RavscopeDocument *doc, const char *name)
{
	rav_trace *t = ravscope_document_get_trace(doc);
	for (unsigned i = 0; i < rav_trace_thread_count(t); i++) {
		rav_trace_thread th;
		if (rav_trace_thread_at(t, i, &th) && th.kind == RAV_HEAP_THREAD && !g_strcmp0(th.name, name))
			return th.heap_id;
	}
	return 0;
}

static void merge(RavscopeSpotlight *into, RavscopeSpotlight *from)
{
	for (guint i = 0; i < from->spots->len; i++) {
		RavscopeSpot *s = &g_array_index(from->spots, RavscopeSpot, i);
		switch (s->kind) {
		case RAVSCOPE_SPOT_CELL:
			ravscope_spotlight_add_cell(into, s->cell, s->label);
			break;
		case RAVSCOPE_SPOT_PAGE:
			ravscope_spotlight_add_page(into, s->page, s->label);
			break;
		case RAVSCOPE_SPOT_LANE:
			ravscope_spotlight_add_lane(into, s->heap_id, s->label);
			break;
		}
	}
	if (from->caption && !into->caption)
		ravscope_spotlight_set_caption(into, from->caption);
	ravscope_spotlight_free(from);
}

static void add_type_cells(RavscopeSpotlight *sp, RavscopeDocument *doc, const RavscopeLessonShow *s)
{
	rav_trace *t = ravscope_document_get_trace(doc);
	rav_state *st = ravscope_document_get_state(doc);
	int type = -1;
	for (unsigned i = 0; i < rav_trace_type_count(t) && type < 0; i++) {
		rav_trace_type ty;
		if (rav_trace_type_at(t, i, &ty) && !g_strcmp0(ty.name, s->arg))
			type = ty.id;
	}
	if (type < 0)
		return;
	unsigned cpp = ravscope_document_get_info(doc)->cells_per_page;
	guint16 *types = g_new(guint16, cpp);
	guint n = 0;
	for (uint32_t p = 0; p < rav_state_page_span(st) && n < TYPE_SPOTS_MAX; p++) {
		if (!rav_state_page_types(st, p, types))
			continue;
		for (unsigned c = 1; c < cpp && n < TYPE_SPOTS_MAX; c++)
			if (types[c] == type) {
				ravscope_spotlight_add_cell(sp, rav_loc_make(p, c, 0),
				                            n == 0 ? (s->label ? s->label : s->arg) : NULL);
				n++;
			}
	}
	g_free(types);
}

static void add_thread_pages(RavscopeSpotlight *sp, RavscopeDocument *doc, const RavscopeLessonShow *s)
{
	guint32 id = thread_id(doc, s->arg);
	rav_state *st = ravscope_document_get_state(doc);
	for (unsigned i = 0; i < rav_state_heap_count(st); i++) {
		rav_state_heap h;
		if (!rav_state_heap_at(st, i, &h) || h.id != id)
			continue;
		for (guint32 k = 0; k < h.page_count; k++) {
			g_autofree char *label =
			    k == 0 ? (s->label ? g_strdup(s->label) : g_strdup_printf("pages of %s", s->arg))
			           : NULL;
			ravscope_spotlight_add_page(sp, h.pages[k], label);
		}
	}
}

/* The playhead is at the step: show it. */
static void arrive(RavscopeLessonPlayer *self)
{
	cancel_travel(self);
	RavscopeLessonStep *st = step_at(self, self->step);
	if (!st)
		return;
	self->busy = FALSE;
	ravscope_narration_set_busy(self->narration, FALSE);
	RavscopeSpotlight *sp = ravscope_spotlight_new();
	if (!st->show) {
		if (st->has_op)
			merge(sp, ravscope_operation_spotlight(self->doc, &st->op, TRUE));
	} else {
		for (guint i = 0; i < st->show->len; i++) {
			const RavscopeLessonShow *s = &g_array_index(st->show, RavscopeLessonShow, i);
			switch (s->kind) {
			case RAVSCOPE_SHOW_OPERATION:
				merge(sp, ravscope_operation_spotlight(self->doc, &st->op, TRUE));
				break;
			case RAVSCOPE_SHOW_CELL:
				ravscope_spotlight_add_cell(sp, s->cell, s->label);
				break;
			case RAVSCOPE_SHOW_TYPE:
				add_type_cells(sp, self->doc, s);
				break;
			case RAVSCOPE_SHOW_THREAD:
				ravscope_spotlight_add_lane(sp, thread_id(self->doc, s->arg),
				                            s->label ? s->label : s->arg);
				break;
			case RAVSCOPE_SHOW_PAGES:
				add_thread_pages(sp, self->doc, s);
				break;
			}
		}
	}
	sp->links = st->links;
	if (sp->spots->len || sp->caption)
		ravscope_heap_view_set_spotlight(self->heap_view, sp);
	else
		ravscope_spotlight_free(sp);
	RavscopeZoom zoom = st->zoom;
	/* "keep" keeps the view unless the page of the step's operation is
	 * not in it whole (lesson 6's message built on a page cut at the
	 * bottom of the lanes shown, at 900 x 600): then onto it, as
	 * "operation" does. */
	if (zoom == RAVSCOPE_ZOOM_KEEP && st->has_op) {
		rav_loc c = st->op.cell ? st->op.cell : st->op.move_to ? st->op.move_to : st->op.slot;
		if (c && !(c & RAV_LOC_EXTERNAL) && !ravscope_heap_view_page_in_view(self->heap_view, rav_loc_page(c)))
			zoom = RAVSCOPE_ZOOM_OPERATION;
	}
	switch (zoom) {
	case RAVSCOPE_ZOOM_FIT:
		ravscope_heap_view_zoom_whole(self->heap_view);
		break;
	case RAVSCOPE_ZOOM_OPERATION: {
		/* The pages the operation touches, whole, as many as fit
		 * readably, the most telling first: the cell's, the one it
		 * moves to, the slot's, the target's, where the moved cell came
		 * from, and the words the move's fix-ups rewrote (a root on the
		 * roots page: lesson 2's free showed that page cut at the edge,
		 * while its next step talks about the root fixed). */
		const rav_operation *op = &st->op;
		rav_loc cells[RAVSCOPE_FOCUS_CELLS_MAX] = {
		    op->cell ? op->cell : op->move_to ? op->move_to : op->slot,
		    op->move_to, op->slot, op->target, op->move_from};
		guint n = 5;
		n += ravscope_operation_fixed_words(self->doc, op, cells + n, RAVSCOPE_FOCUS_CELLS_MAX - n);
		if (cells[0])
			ravscope_heap_view_focus_cells(self->heap_view, cells, n);
		break;
	}
	case RAVSCOPE_ZOOM_KEEP:
		break;
	}
	if (st->contention >= 0 && self->contention)
		ravscope_contention_set_active(self->contention, st->contention);
	g_signal_emit(self, signals[SIGNAL_STEP_REACHED], 0, (guint)self->step);
}

static gboolean travel_cb(gpointer user);

static gboolean arrive_cb(gpointer user)
{
	RavscopeLessonPlayer *self = user;
	self->timer = 0;
	arrive(self);
	return G_SOURCE_REMOVE;
}

static void on_operation(RavscopePlayback *p, gpointer op, gboolean forward, guint duration_ms,
                         RavscopeLessonPlayer *self)
{
	self->last_op_ms = duration_ms;
}

/* Play one operation, then `then` once it has been seen. */
static void play_operation_then(RavscopeLessonPlayer *self, GSourceFunc then, guint pause_ms)
{
	self->last_op_ms = 0;
	ravscope_playback_step_operation(self->playback, TRUE);
	g_clear_handle_id(&self->timer, g_source_remove);
	self->timer = g_timeout_add(self->last_op_ms + pause_ms, then, self);
}

static gboolean travel_cb(gpointer user)
{
	RavscopeLessonPlayer *self = user;
	self->timer = 0;
	RavscopeLessonStep *st = step_at(self, self->step);
	if (!st || !self->doc)
		return G_SOURCE_REMOVE;
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 goal = st->has_op ? st->op.first : st->target;
	if (pos < goal && self->travel_left > 0) {
		rav_operation op;
		if (rav_trace_operation_at(ravscope_document_get_trace(self->doc), pos, &op) &&
		    op.last < goal) {
			self->travel_left--;
			play_operation_then(self, travel_cb, TRAVEL_PAUSE_MS);
			return G_SOURCE_REMOVE;
		}
	}
	if (pos != goal && pos < st->target) {
		ravscope_playback_seek(self->playback, goal);
		pos = goal;
	}
	if (st->has_op && pos == st->op.first) {
		/* Stop once the class has seen it move. */
		play_operation_then(self, arrive_cb, 150);
		return G_SOURCE_REMOVE;
	}
	if (pos != st->target)
		ravscope_playback_seek(self->playback, st->target);
	arrive(self);
	return G_SOURCE_REMOVE;
}

/* Go to step k, playing the way there. */
static void travel(RavscopeLessonPlayer *self, int k)
{
	cancel_travel(self);
	RavscopeLessonStep *st = step_at(self, k);
	if (!st)
		return;
	self->step = k;
	self->busy = TRUE;
	ravscope_heap_view_set_spotlight(self->heap_view, NULL);
	ravscope_narration_set_step(self->narration, (guint)k, self->lesson->steps->len, st->title, st->text);
	ravscope_narration_set_busy(self->narration, TRUE);
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 goal = st->has_op ? st->op.first : st->target;
	if (goal < pos) {
		/* Behind the playhead: start from there. */
		ravscope_playback_seek(self->playback, goal);
		pos = goal;
	}
	/* Few operations to the step: play them; many: jump. */
	rav_trace *t = ravscope_document_get_trace(self->doc);
	int ops = 0;
	for (guint64 i = pos; i < goal && ops <= TRAVEL_OPS_MAX;) {
		rav_operation op;
		if (!rav_trace_operation_at(t, i, &op))
			break;
		ops++;
		i = op.last + 1;
	}
	self->travel_left = ops <= TRAVEL_OPS_MAX ? ops : 0;
	if (st->has_op || pos != st->target || self->travel_left) {
		travel_cb(self);
		if (!self->timer && self->busy)
			arrive(self);
	} else {
		arrive(self);
	}
}

void ravscope_lesson_player_start(RavscopeLessonPlayer *self, RavscopeLesson *lesson, RavscopeDocument *doc)
{
	ravscope_lesson_player_stop(self);
	self->lesson = lesson;
	g_set_object(&self->doc, doc);
	self->step = -1;
	ravscope_narration_set_lesson_title(self->narration, lesson->title);
	ravscope_heap_view_zoom_whole(self->heap_view);
	travel(self, 0);
}

void ravscope_lesson_player_stop(RavscopeLessonPlayer *self)
{
	cancel_travel(self);
	gboolean was = self->lesson != NULL;
	g_clear_pointer(&self->lesson, ravscope_lesson_free);
	g_clear_object(&self->doc);
	self->step = -1;
	self->busy = FALSE;
	if (was) {
		ravscope_heap_view_set_spotlight(self->heap_view, NULL);
		g_signal_emit(self, signals[SIGNAL_FINISHED], 0);
	}
}

void ravscope_lesson_player_next(RavscopeLessonPlayer *self)
{
	if (!self->lesson)
		return;
	RavscopeLessonStep *st = step_at(self, self->step);
	if (self->busy && st) {
		/* Skip ahead: straight to the step. */
		cancel_travel(self);
		ravscope_playback_stop(self->playback);
		if (ravscope_document_get_position(self->doc) != st->target)
			ravscope_playback_seek(self->playback, st->target);
		arrive(self);
		return;
	}
	if ((guint)(self->step + 1) >= self->lesson->steps->len) {
		ravscope_lesson_player_stop(self);
		return;
	}
	travel(self, self->step + 1);
}

void ravscope_lesson_player_back(RavscopeLessonPlayer *self)
{
	if (!self->lesson || self->step <= 0)
		return;
	cancel_travel(self);
	ravscope_playback_stop(self->playback);
	self->step--;
	RavscopeLessonStep *st = step_at(self, self->step);
	ravscope_narration_set_step(self->narration, (guint)self->step, self->lesson->steps->len, st->title,
	                            st->text);
	ravscope_playback_seek(self->playback, st->target);
	arrive(self);
}

RavscopeLesson *ravscope_lesson_player_get_lesson(RavscopeLessonPlayer *self)
{
	return self->lesson;
}

int ravscope_lesson_player_get_step(RavscopeLessonPlayer *self)
{
	return self->step;
}

gboolean ravscope_lesson_player_is_busy(RavscopeLessonPlayer *self)
{
	return self->busy;
}

static void ravscope_lesson_player_dispose(GObject *o)
{
	RavscopeLessonPlayer *self = RAVSCOPE_LESSON_PLAYER(o);
	cancel_travel(self);
	g_clear_pointer(&self->lesson, ravscope_lesson_free);
	g_clear_object(&self->doc);
	if (self->playback)
		g_signal_handlers_disconnect_by_data(self->playback, self);
	g_clear_object(&self->playback);
	g_clear_object(&self->heap_view);
	g_clear_object(&self->narration);
	g_clear_object(&self->contention);
	G_OBJECT_CLASS(ravscope_lesson_player_parent_class)->dispose(o);
}

static void ravscope_lesson_player_class_init(RavscopeLessonPlayerClass *klass)
{
	G_OBJECT_CLASS(klass)->dispose = ravscope_lesson_player_dispose;
	signals[SIGNAL_STEP_REACHED] =
	    g_signal_new("step-reached", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
	                 G_TYPE_NONE, 1, G_TYPE_UINT);
	signals[SIGNAL_FINISHED] = g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
	                                        NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void ravscope_lesson_player_init(RavscopeLessonPlayer *self)
{
	self->step = -1;
}

RavscopeLessonPlayer *ravscope_lesson_player_new(RavscopePlayback *playback, RavscopeHeapView *heap_view,
                                                 RavscopeNarration *narration, RavscopeContention *contention)
{
	RavscopeLessonPlayer *self = g_object_new(RAVSCOPE_TYPE_LESSON_PLAYER, NULL);
	self->playback = g_object_ref(playback);
	g_signal_connect(playback, "operation", G_CALLBACK(on_operation), self);
	self->heap_view = g_object_ref(heap_view);
	self->narration = g_object_ref(narration);
	self->contention = contention ? g_object_ref(contention) : NULL;
	return self;
}
