/* ravscope-playback.c - moving the playhead: play, step, jump, seek.
 *
 * Playing runs on the ticker widget's frame clock: each frame adds
 * elapsed time x speed to a debt and pays it.  The slow speeds (up to
 * SLOW_MAX per second) count changes: a change is what one step does, the
 * events up to the next one that alters the heap picture (a move with its
 * fix-ups), animated when animation is on; the ladder says "changes/s"
 * there.  Faster speeds count events, applied in quiet batches
 * (ravscope_document_step_many) and announced at once.  Stepping back is a seek to just before the last
 * event a step would have stopped at, with the undone events played
 * backwards (a move slides back out of the hole, an allocation shrinks
 * away), so stepping back and forth over a compaction shows the same
 * picture.  An operation step does the same over all the events of one
 * operation (rav_trace_operation_at), over a period that grows with the
 * number of things to watch, so a free, the move of the top cell and the
 * fix-ups read as one motion.
 */
#include "ravscope-playback.h"

#include <math.h>

#include "ravscope-charts.h"

#define STEP_ANIM_MS 600
#define UNDO_MAX 4096 /* events of one step back that are played backwards */
/* An operation's animation: this long per visible part, within bounds;
 * operations bigger than OP_ANIM_EVENTS events only redraw. */
#define OP_PART_MS 450
#define OP_MIN_MS 900
#define OP_MAX_MS 4000
#define OP_ANIM_EVENTS 4096

struct _RavscopePlayback {
	GObject parent_instance;
	RavscopeDocument *doc;
	GtkWidget *ticker; /* weak */
	guint tick;
	gint64 last_frame_us;
	double event_debt;
	gboolean user_moved;
	double speed;
	guint jump_kind;
	gboolean animate;
};

G_DEFINE_FINAL_TYPE(RavscopePlayback, ravscope_playback, G_TYPE_OBJECT)

enum { PROP_0, PROP_PLAYING, PROP_USER_MOVED, PROP_SPEED, PROP_JUMP_KIND, PROP_ANIMATE, N_PROPS };
static GParamSpec *props[N_PROPS];
enum { SIGNAL_APPLIED, SIGNAL_JUMPED, SIGNAL_MESSAGE, SIGNAL_OPERATION, N_SIGNALS };
static guint signals[N_SIGNALS];

#define SLOW_MAX 20 /* speeds up to this count changes, not events */
static const double speeds[] = { 2, 5, 20, 100, 1000, 10000, 100000, 1000000 };
static const char *const speed_names[] = { "2 changes/s", "5 changes/s", "20 changes/s", "100 events/s",
					   "1k events/s", "10k events/s", "100k events/s", "1M events/s", NULL };
/* Jump targets: event families, then user marks and errors. */
static const char *const jump_names[] = { "allocation", "free", "move", "fix-up", "reference", "page", "message",
					  "access", "mark", "error", NULL };

const double *ravscope_playback_speeds(guint *n)
{
	*n = G_N_ELEMENTS(speeds);
	return speeds;
}

const char *const *ravscope_playback_speed_names(void) { return speed_names; }
const char *const *ravscope_playback_jump_kind_names(void) { return jump_names; }

static guint64 kinds_mask_for_jump(guint i)
{
	/* "move" means a compaction move, not the compaction's bookends. */
	if (i == RAVSCOPE_FAMILY_MOVE)
		return (guint64)1 << RAV_EV_MOVE;
	if (i < RAVSCOPE_FAMILY_OTHER)
		return ravscope_family_kinds((RavscopeFamily)i);
	if (i == RAVSCOPE_FAMILY_OTHER)
		return (guint64)1 << RAV_EV_MARK;
	return (guint64)1 << RAV_EV_ERROR;
}

static void message(RavscopePlayback *self, const char *text)
{
	g_signal_emit(self, signals[SIGNAL_MESSAGE], 0, text);
}

static void applied(RavscopePlayback *self, GArray *events, guint duration_ms)
{
	g_signal_emit(self, signals[SIGNAL_APPLIED], 0, events->data, events->len, duration_ms);
}

static guint step_ms(RavscopePlayback *self)
{
	return self->animate ? STEP_ANIM_MS : 0;
}

static void set_user_moved(RavscopePlayback *self, gboolean moved)
{
	if (self->user_moved == moved)
		return;
	self->user_moved = moved;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_USER_MOVED]);
}

/* ---- moves -------------------------------------------------------------------- */

void ravscope_playback_seek(RavscopePlayback *self, guint64 event)
{
	if (!self->doc)
		return;
	guint64 from = ravscope_document_get_position(self->doc);
	GError *error = NULL;
	set_user_moved(self, TRUE);
	if (!ravscope_document_seek(self->doc, event, &error)) {
		message(self, error->message);
		g_error_free(error);
		return;
	}
	g_signal_emit(self, signals[SIGNAL_JUMPED], 0, from, ravscope_document_get_position(self->doc));
}

/* Apply events until one that changes the picture (or a mark) has been
 * applied, then animate what was applied. */
static void step_forward(RavscopePlayback *self, guint duration_ms)
{
	if (!self->doc)
		return;
	set_user_moved(self, TRUE);
	GArray *events = g_array_new(FALSE, FALSE, sizeof(rav_event));
	GError *error = NULL;
	ravscope_document_step_visible(self->doc, events, &error);
	if (error) {
		message(self, error->message);
		g_error_free(error);
	}
	applied(self, events, duration_ms);
	g_array_unref(events);
}

static guint op_duration(RavscopePlayback *self, const GArray *events);

/* Seek back to `target`, playing the events undone backwards (as one
 * operation's period when as_op).  Returns the period. */
static guint undo_to(RavscopePlayback *self, guint64 target, guint duration_ms, gboolean as_op)
{
	guint64 pos = ravscope_document_get_position(self->doc);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	GArray *undone = g_array_new(FALSE, FALSE, sizeof(rav_event));
	for (guint64 i = target; i < pos && undone->len < UNDO_MAX; i++) {
		rav_event ev;
		if (!rav_trace_event_at(t, i, &ev))
			break;
		switch (ev.kind) {
		case RAV_EV_MOVE: {
			uint64_t tmp = ev.a;
			ev.a = ev.b;
			ev.b = tmp;
			break;
		}
		case RAV_EV_FIXUP:
		case RAV_EV_REF_STORE: {
			uint64_t tmp = ev.b;
			ev.b = ev.c;
			ev.c = tmp;
			break;
		}
		case RAV_EV_ALLOC:
			ev.kind = RAV_EV_FREE;
			break;
		case RAV_EV_FREE:
			ev.kind = RAV_EV_ALLOC;
			break;
		default:
			break;
		}
		g_array_prepend_val(undone, ev);
	}
	GError *error = NULL;
	set_user_moved(self, TRUE);
	if (as_op)
		duration_ms = pos - target > OP_ANIM_EVENTS ? 0 : op_duration(self, undone);
	if (!ravscope_document_seek(self->doc, target, &error)) {
		message(self, error->message);
		g_error_free(error);
	} else {
		applied(self, undone, duration_ms);
	}
	g_array_unref(undone);
	return duration_ms;
}

static void step_back(RavscopePlayback *self, guint duration_ms)
{
	if (!self->doc)
		return;
	guint64 pos = ravscope_document_get_position(self->doc);
	if (pos == 0)
		return;
	rav_trace *t = ravscope_document_get_trace(self->doc);
	/* Back to just before the last event a step would have stopped at
	 * (for a move, its fix-ups go with it). */
	rav_event_filter f = { .kinds = ravscope_step_stop_kinds() & ~((guint64)1 << RAV_EV_FIXUP), .thread = -1 };
	int64_t prev = rav_trace_find_prev(t, pos, &f);
	undo_to(self, prev >= 0 ? (guint64)prev : 0, duration_ms, FALSE);
}

/* How long an operation plays: by the things a person can watch happen. */
static guint op_duration(RavscopePlayback *self, const GArray *events)
{
	if (!self->animate || events->len > OP_ANIM_EVENTS)
		return 0;
	guint parts = 0;
	for (guint i = 0; i < events->len; i++) {
		unsigned k = g_array_index(events, rav_event, i).kind;
		parts += ravscope_event_kind_is_visual(k) && k != RAV_EV_LINK && k != RAV_EV_TYPE_WORD;
	}
	return CLAMP(OP_MIN_MS / 2 + parts * OP_PART_MS, OP_MIN_MS, OP_MAX_MS);
}

void ravscope_playback_step_operation(RavscopePlayback *self, gboolean forward)
{
	ravscope_playback_stop(self);
	if (!self->doc)
		return;
	rav_trace *t = ravscope_document_get_trace(self->doc);
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	rav_operation op;
	if (forward ? pos >= n : pos == 0)
		return;
	if (!ravscope_document_operations_ready(self->doc, forward ? pos : pos - 1)) {
		message(self, "Still working out the operations of this trace; step one change at a time meanwhile (Shift+Right)");
		return;
	}
	/* Forward: the operation of the next event, to its end (a playhead
	 * inside an operation finishes it).  Back: the one of the last event
	 * applied, to its start. */
	if (!rav_trace_operation_at(t, forward ? pos : pos - 1, &op)) {
		message(self, "The operations of this trace could not be worked out here");
		return;
	}
	set_user_moved(self, TRUE);
	guint duration = 0;
	if (forward) {
		guint64 end = MIN(op.last + 1, n);
		GArray *events = g_array_new(FALSE, FALSE, sizeof(rav_event));
		GError *error = NULL;
		while (ravscope_document_get_position(self->doc) < end && !error) {
			guint64 left = end - ravscope_document_get_position(self->doc);
			if (ravscope_document_step_many(self->doc, (guint)MIN(left, 1u << 20), events, &error) == 0)
				break;
		}
		if (error) {
			message(self, error->message);
			g_error_free(error);
		}
		duration = op_duration(self, events);
		applied(self, events, duration);
		g_array_unref(events);
	} else {
		duration = undo_to(self, op.first, 0, TRUE);
	}
	g_signal_emit(self, signals[SIGNAL_OPERATION], 0, &op, forward, duration);
}

void ravscope_playback_step_forward(RavscopePlayback *self)
{
	ravscope_playback_stop(self);
	step_forward(self, step_ms(self));
}

void ravscope_playback_step_back(RavscopePlayback *self)
{
	ravscope_playback_stop(self);
	step_back(self, step_ms(self));
}

void ravscope_playback_go_to(RavscopePlayback *self, guint64 event)
{
	ravscope_playback_stop(self);
	ravscope_playback_seek(self, event);
	if (!self->doc || ravscope_document_get_position(self->doc) != event)
		return;
	/* That event (with a move's fix-ups), not on to the next change. */
	GArray *events = g_array_new(FALSE, FALSE, sizeof(rav_event));
	GError *error = NULL;
	ravscope_document_step_event(self->doc, events, &error);
	if (error) {
		message(self, error->message);
		g_error_free(error);
	}
	applied(self, events, step_ms(self));
	g_array_unref(events);
}

void ravscope_playback_jump(RavscopePlayback *self, gboolean forward)
{
	if (!self->doc)
		return;
	guint kind = MIN(self->jump_kind, G_N_ELEMENTS(jump_names) - 2);
	rav_event_filter f = { .kinds = kinds_mask_for_jump(kind), .thread = -1 };
	guint64 pos = ravscope_document_get_position(self->doc);
	rav_trace *t = ravscope_document_get_trace(self->doc);
	/* The event at pos-1 is the one on screen: search past it. */
	int64_t idx = forward ? rav_trace_find_next(t, pos, &f) : (pos >= 2 ? rav_trace_find_prev(t, pos - 1, &f) : -1);
	if (idx < 0) {
		g_autofree char *msg = g_strdup_printf("No %s %s here", forward ? "later" : "earlier", jump_names[kind]);
		message(self, msg);
		return;
	}
	ravscope_playback_go_to(self, (guint64)idx);
}

void ravscope_playback_home(RavscopePlayback *self)
{
	ravscope_playback_stop(self);
	ravscope_playback_seek(self, 0);
}

void ravscope_playback_end(RavscopePlayback *self)
{
	if (!self->doc)
		return;
	ravscope_playback_stop(self);
	ravscope_playback_seek(self, ravscope_document_get_event_count(self->doc));
}

/* ---- playing -------------------------------------------------------------------- */

static gboolean tick_cb(GtkWidget *widget, GdkFrameClock *clock, gpointer user)
{
	RavscopePlayback *self = user;
	if (!self->doc) {
		self->tick = 0;
		g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLAYING]);
		return G_SOURCE_REMOVE;
	}
	gint64 now = gdk_frame_clock_get_frame_time(clock);
	double dt = self->last_frame_us ? (now - self->last_frame_us) / 1e6 : 0;
	self->last_frame_us = now;
	self->event_debt += MIN(dt, 0.25) * self->speed;
	if (self->event_debt < 1)
		return G_SOURCE_CONTINUE;
	guint64 pos = ravscope_document_get_position(self->doc);
	guint64 n = ravscope_document_get_event_count(self->doc);
	if (pos >= n) {
		ravscope_playback_stop(self);
		return G_SOURCE_REMOVE;
	}
	if (self->speed <= SLOW_MAX) {
		/* One change per period, animated across most of it. */
		self->event_debt = MIN(self->event_debt - 1, 1);
		step_forward(self, self->animate ? (guint)(900 / self->speed) : 0);
		return G_SOURCE_CONTINUE;
	}
	guint count = (guint)MIN(self->event_debt, 5e6);
	self->event_debt -= count;
	GArray *events = g_array_sized_new(FALSE, FALSE, sizeof(rav_event), MIN(count, 65536));
	GError *error = NULL;
	ravscope_document_step_many(self->doc, count, events, &error);
	applied(self, events, 0);
	g_array_unref(events);
	if (error) {
		message(self, error->message);
		g_error_free(error);
		ravscope_playback_stop(self);
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

void ravscope_playback_stop(RavscopePlayback *self)
{
	if (!self->tick)
		return;
	if (self->ticker)
		gtk_widget_remove_tick_callback(self->ticker, self->tick);
	self->tick = 0;
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLAYING]);
}

void ravscope_playback_toggle(RavscopePlayback *self)
{
	if (!self->doc || !self->ticker)
		return;
	if (self->tick) {
		ravscope_playback_stop(self);
		return;
	}
	if (ravscope_document_get_position(self->doc) >= ravscope_document_get_event_count(self->doc))
		ravscope_playback_seek(self, 0);
	set_user_moved(self, TRUE);
	self->last_frame_us = 0;
	self->event_debt = 1; /* start moving at once */
	self->tick = gtk_widget_add_tick_callback(self->ticker, tick_cb, self, NULL);
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PLAYING]);
}

gboolean ravscope_playback_get_playing(RavscopePlayback *self) { return self->tick != 0; }
gboolean ravscope_playback_get_user_moved(RavscopePlayback *self) { return self->user_moved; }

void ravscope_playback_set_document(RavscopePlayback *self, RavscopeDocument *doc)
{
	ravscope_playback_stop(self);
	g_set_object(&self->doc, doc);
	set_user_moved(self, FALSE);
}

void ravscope_playback_set_ticker(RavscopePlayback *self, GtkWidget *ticker)
{
	ravscope_playback_stop(self);
	if (self->ticker)
		g_object_remove_weak_pointer(G_OBJECT(self->ticker), (gpointer *)&self->ticker);
	self->ticker = ticker;
	if (ticker)
		g_object_add_weak_pointer(G_OBJECT(ticker), (gpointer *)&self->ticker);
}

double ravscope_playback_get_speed(RavscopePlayback *self) { return self->speed; }

void ravscope_playback_set_speed(RavscopePlayback *self, double want)
{
	guint best = 2;
	if (want > 0)
		for (guint i = 0; i < G_N_ELEMENTS(speeds); i++)
			if (fabs(log(speeds[i] / want)) < fabs(log(speeds[best] / want)))
				best = i;
	if (self->speed == speeds[best])
		return;
	self->speed = speeds[best];
	g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SPEED]);
}

gboolean ravscope_playback_speed_counts_changes(double speed)
{
	return speed <= SLOW_MAX;
}

/* ---- class ------------------------------------------------------------------------- */

static void ravscope_playback_get_property(GObject *o, guint id, GValue *v, GParamSpec *pspec)
{
	RavscopePlayback *self = RAVSCOPE_PLAYBACK(o);
	switch (id) {
	case PROP_PLAYING: g_value_set_boolean(v, self->tick != 0); break;
	case PROP_USER_MOVED: g_value_set_boolean(v, self->user_moved); break;
	case PROP_SPEED: g_value_set_double(v, self->speed); break;
	case PROP_JUMP_KIND: g_value_set_uint(v, self->jump_kind); break;
	case PROP_ANIMATE: g_value_set_boolean(v, self->animate); break;
	default: G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
	}
}

static void ravscope_playback_set_property(GObject *o, guint id, const GValue *v, GParamSpec *pspec)
{
	RavscopePlayback *self = RAVSCOPE_PLAYBACK(o);
	switch (id) {
	case PROP_SPEED:
		ravscope_playback_set_speed(self, g_value_get_double(v));
		break;
	case PROP_JUMP_KIND:
		if (self->jump_kind != g_value_get_uint(v)) {
			self->jump_kind = g_value_get_uint(v);
			g_object_notify_by_pspec(o, pspec);
		}
		break;
	case PROP_ANIMATE:
		if (self->animate != g_value_get_boolean(v)) {
			self->animate = g_value_get_boolean(v);
			g_object_notify_by_pspec(o, pspec);
		}
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(o, id, pspec);
	}
}

static void ravscope_playback_dispose(GObject *object)
{
	RavscopePlayback *self = RAVSCOPE_PLAYBACK(object);
	ravscope_playback_set_ticker(self, NULL);
	g_clear_object(&self->doc);
	G_OBJECT_CLASS(ravscope_playback_parent_class)->dispose(object);
}

static void ravscope_playback_class_init(RavscopePlaybackClass *klass)
{
	GObjectClass *oc = G_OBJECT_CLASS(klass);
	oc->dispose = ravscope_playback_dispose;
	oc->get_property = ravscope_playback_get_property;
	oc->set_property = ravscope_playback_set_property;
	props[PROP_PLAYING] = g_param_spec_boolean("playing", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_USER_MOVED] = g_param_spec_boolean("user-moved", NULL, NULL, FALSE,
		G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_SPEED] = g_param_spec_double("speed", NULL, NULL, 0, 1e9, 20,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_JUMP_KIND] = g_param_spec_uint("jump-kind", NULL, NULL, 0, G_N_ELEMENTS(jump_names) - 2,
		RAVSCOPE_FAMILY_MOVE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	props[PROP_ANIMATE] = g_param_spec_boolean("animate", NULL, NULL, TRUE,
		G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
	g_object_class_install_properties(oc, N_PROPS, props);
	signals[SIGNAL_APPLIED] = g_signal_new("applied", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
					       G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_UINT, G_TYPE_UINT);
	signals[SIGNAL_JUMPED] = g_signal_new("jumped", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
					      G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_UINT64);
	signals[SIGNAL_OPERATION] = g_signal_new("operation", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
						 NULL, G_TYPE_NONE, 3, G_TYPE_POINTER, G_TYPE_BOOLEAN, G_TYPE_UINT);
	signals[SIGNAL_MESSAGE] = g_signal_new("message", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
					       G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void ravscope_playback_init(RavscopePlayback *self)
{
	self->speed = 20;
	self->jump_kind = RAVSCOPE_FAMILY_MOVE;
	self->animate = TRUE;
}

RavscopePlayback *ravscope_playback_new(void)
{
	return g_object_new(RAVSCOPE_TYPE_PLAYBACK, NULL);
}
