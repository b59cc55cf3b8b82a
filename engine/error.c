/* error.c - status names, per-thread error messages and the misuse handler.
 *
 * Plain-C layers report failures as a status plus a precise message kept
 * per thread (rav_last_error).  Misuse found by debug checks (stale borrows,
 * cross-heap references) is not something a caller can handle locally, so it
 * goes to a process-wide handler; the default prints and aborts, tests
 * install their own. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "rav-private.h"

static _Thread_local char last_error[512];
static _Thread_local rav_status last_misuse;
static rav_error_handler handler;
static void *handler_user;
static void (*abort_hook)(void);

void rav_record_set_abort_hook(void (*fn)(void))
{
	__atomic_store_n(&abort_hook, fn, __ATOMIC_RELEASE);
}

/* Let the recorder write out what it has, once (a failure inside the hook
 * aborts without it), then abort. */
static _Noreturn void die(void)
{
	void (*fn)(void) = __atomic_exchange_n(&abort_hook, NULL, __ATOMIC_ACQ_REL);
	if (fn)
		fn();
	abort();
}

const char *rav_status_name(rav_status s)
{
	static const char *const names[] = {
		"RAV_OK", "RAV_ENOMEM", "RAV_EINVAL", "RAV_ETYPE", "RAV_ECROSS", "RAV_ESTALE",
		"RAV_ECLOSED", "RAV_EAGAIN", "RAV_EIO", "RAV_EFORMAT", "RAV_ESTATE", "RAV_ERANGE",
	};
	if ((unsigned)s < sizeof names / sizeof names[0])
		return names[s];
	return "RAV_E?";
}

const char *rav_last_error(void)
{
	return last_error;
}

/* Keep the message for rav_last_error. */
static size_t keep_message(rav_status s, const char *fmt, va_list ap)
{
	int n = snprintf(last_error, sizeof last_error, "%s: ", rav_status_name(s));
	if (n < 0 || (size_t)n >= sizeof last_error)
		n = 0;
	vsnprintf(last_error + n, sizeof last_error - (size_t)n, fmt, ap);
	return strlen(last_error);
}

/* ... and put it in the trace. */
static void set_message(rav_status s, const char *fmt, va_list ap)
{
	size_t len = keep_message(s, fmt, ap);
	rav__emit_text(RAV_EV_ERROR, (uint32_t)s, 0, len, last_error, len);
}

rav_status rav__fail(rav_status s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_message(s, fmt, ap);
	va_end(ap);
	return s;
}

rav_status rav__outcome(rav_status s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	keep_message(s, fmt, ap);
	va_end(ap);
	return s;
}

void rav_set_error_handler(rav_error_handler h, void *user)
{
	handler = h;
	handler_user = user;
}

rav_status rav__misuse_status(void)
{
	return last_misuse ? last_misuse : RAV_EINVAL;
}

void rav__misuse(rav_status s, const char *fmt, ...)
{
	last_misuse = s;
	rav__site_misuse(); /* the error event's call site: the call that misused */
	va_list ap;
	va_start(ap, fmt);
	set_message(s, fmt, ap);
	va_end(ap);
	if (handler) {
		handler(s, last_error, handler_user);
		return;
	}
	fprintf(stderr, "ravioli: %s\n", last_error);
	fflush(stderr);
	die();
}

void rav__assert_fail(const char *cond, const char *file, int line, const char *func)
{
	fprintf(stderr, "ravioli: internal invariant broken: %s (%s:%d, in %s)\n", cond, file, line, func);
	fflush(stderr);
	die();
}
