/* membuf.h - a growing byte buffer that a trace writer can write into
 * (its sink callback), for the replies the listener builds outside a
 * session and for tools that make a trace in memory. */
#ifndef RAVT_MEMBUF_H
#define RAVT_MEMBUF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ravt_membuf {
	uint8_t *p;
	size_t len, cap;
} ravt_membuf;

/* The writer's sink: appends, doubling the buffer; -1 when memory runs out
 * (the writer then fails with its own message). */
static inline int ravt_membuf_sink(const void *data, size_t len, void *user)
{
	ravt_membuf *m = user;
	if (len > SIZE_MAX / 2 - m->len)
		return -1;
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		while (cap < m->len + len)
			cap *= 2;
		uint8_t *p = realloc(m->p, cap);
		if (!p)
			return -1;
		m->p = p;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, len);
	m->len += len;
	return 0;
}

#endif
