/* outbuf.h - a bounded text buffer for the functions that describe things
 * in sentences (explain.c, operations-describe.c).  They return what
 * snprintf would: the length the whole text needs, so a caller with a
 * short buffer can ask again; `put` therefore counts what it could not
 * write and never writes past `len`.
 */
#ifndef RAV_OUTBUF_H
#define RAV_OUTBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct out_buf {
	char *p;
	size_t len, used;
} out_buf;

static inline void put(out_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void put(out_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *dst = b->used < b->len ? b->p + b->used : NULL;
	size_t room = b->used < b->len ? b->len - b->used : 0;
	int n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->used += (size_t)n;
}

#endif
