/* odd-function.c - a program whose own function has a name that is not
 * UTF-8 and is Pango markup, recorded with call sites (test-markup's
 * /breaks-function).
 *
 *	RAVIOLI_TRACE=TRACE RAVIOLI_TRACE_STACK=4 odd-function
 *
 * The function's symbol is "odd\xff<b>&fn" (an asm label; the quotes let the
 * assembler take its bytes), as a binary built from another language, or
 * mangled oddly, can have.  Built without debug information, so that the
 * viewer names the call sites in it from the symbol table: the bytes as
 * they are.  It allocates a list, marks, misuses the engine once (an ERROR
 * at a call site in it) and sends a message to a second thread, all from
 * that function.  Recorded at build time (samples/record-demo.sh, with
 * RAVIOLI_TRACE_STACK=4: tests/gui/meson.build).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ravioli.h"

static rav_type node;
static rav_channel *to_taker;

void odd_function(rav_heap *h, rav_root r, unsigned n) __asm__("\"odd\xff<b>&fn\"");

__attribute__((noinline)) void odd_function(rav_heap *h, rav_root r, unsigned n)
{
	rav_ref cur;
	if (rav_new_root(h, node, r, &cur) != RAV_OK)
		exit(4);
	for (unsigned i = 1; i < n; i++)
		if (rav_new_field(h, node, cur, 1, &cur) != RAV_OK)
			exit(4);
	rav_mark("odd\xff<b>&fn made its list");
	rav_ref bad;
	(void)rav_new_root(h, 3 /* reserved: RAV_TYPE_ROOT */, r, &bad); /* refused: an ERROR */
	rav_msg *m = rav_msg_new();
	if (!m || rav_new_root(rav_msg_heap(m), node, rav_msg_root(m), &cur) != RAV_OK)
		exit(4);
	if (rav_send(to_taker, m) != RAV_OK)
		exit(4);
}

static void *taker(void *arg)
{
	(void)arg;
	rav_heap *h = rav_heap_self();
	rav_root r = rav_root_new(h);
	while (rav_recv(to_taker, h, r) == RAV_OK)
		rav_root_clear(h, r);
	rav_root_free(h, r);
	return NULL;
}

int main(void)
{
	rav_thread_name("main");
	node = rav_type_register("odd-node", RAV_DATA, RAV_REF);
	to_taker = rav_channel_new();
	rav_heap *h = rav_heap_self();
	if (!node || !to_taker || !h)
		return 4;
	pthread_t th;
	if (pthread_create(&th, NULL, taker, NULL) != 0)
		return 5;
	rav_root r = rav_root_new(h);
	for (unsigned i = 0; i < 8; i++) {
		odd_function(h, r, 10 + i);
		rav_root_clear(h, r);
	}
	rav_channel_close(to_taker);
	pthread_join(th, NULL);
	rav_root_free(h, r);
	rav_channel_free(to_taker);
	printf("odd-function: done\n");
	return 0;
}
