/* acache-order.c - the reader's address cache (reader-decode.h: cells in
 * fixed slots, a 64-bit word of slot numbers most recent first) behaves
 * exactly as the writer's (format.h ravt_acache: entries moved to the
 * front), which FORMAT.md 5.3 specifies; and so does the writer's own
 * (writer-private.h ravt_wcache: fixed slots, each with its rank in the
 * list).
 *
 * Both are driven by the same random sequence of operations — a hit on
 * any entry (the first and the last ones often), a new cell (many more
 * than 16, so slots are taken over), the occasional reset of a new chunk —
 * and after every operation the whole cache is compared entry by entry.
 * The decoder refuses a hit on an entry not held by finding a free slot
 * there (it keeps no count): after every operation, the places below the
 * entries held name slots filled since the reset, the others free ones.
 * The seed is fixed and printed.
 */
#include "reader-decode.h"
#include "writer-private.h"
#include "trace-test.h"

static uint64_t rng;
static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

/* Entry i of the reader's cache. */
static uint64_t entry(uint64_t order, const uint64_t *cells, unsigned i)
{
	return cells[(order >> (4 * i)) & 15];
}

int main(void)
{
	rng = 0x5eed0acac4eull;
	printf("seed %#llx\n", (unsigned long long)rng);
	ravt_acache w = {.n = 0};
	ravt_wcache wc;
	ravt_wcache_reset(&wc);
	uint64_t order = RAVT_DAC_ORDER_INIT, cells[RAVT_ACACHE_SIZE];
	unsigned n = 0, filled = 0; /* (filled: a bit per slot filled since the reset) */
	memset(cells, 0, sizeof cells);
	uint64_t next_cell = 1;
	int mismatches = 0;
	for (int step = 0; step < 2000000 && mismatches < 5; step++) {
		uint64_t r = rnd();
		unsigned op = (unsigned)(r % 100);
		if (op == 0) {
			/* a new chunk */
			w.n = 0;
			ravt_wcache_reset(&wc);
			n = 0;
			filled = 0;
			order = RAVT_DAC_ORDER_INIT;
		} else if (op < 40 || w.n == 0) {
			/* a cell not in the cache: new, or one that fell out */
			uint64_t cell = (r >> 8) % 4 == 0 ? next_cell++ : (r >> 16) % (next_cell + 1);
			ravt_acache_push(&w, cell);
			ravt_wcache_push(&wc, cell);
			unsigned slot = ravt_dac_push(&order);
			cells[slot] = cell;
			filled |= 1u << slot;
			n += n < RAVT_ACACHE_SIZE;
		} else {
			unsigned i;
			switch ((r >> 8) % 4) {
			case 0:
				i = 0;
				break;
			case 1:
				i = w.n - 1;
				break;
			default:
				i = (unsigned)((r >> 16) % w.n);
				break;
			}
			/* the writer finds the slot by the cell (the test pushes a
			 * cell already held now and then, which the writer never
			 * does: then any slot holding it will do for the lookup) */
			uint64_t want = ravt_wcache_entry(&wc, i);
			int s = ravt_wcache_slot(&wc, want);
			CHECK(s >= 0 && wc.cell[s] == want);
			unsigned place_slot = ravt_wcache_slot_at(&wc, i);
			CHECK_EQ(ravt_wcache_take(&wc, place_slot), i);
			uint64_t a = ravt_acache_take(&w, i);
			uint64_t b = cells[ravt_dac_take(&order, i)];
			if (a != b)
				mismatches++;
			CHECK_EQ(a, b);
		}
		CHECK_EQ(n, w.n);
		CHECK_EQ(wc.n, w.n);
		for (unsigned i = 0; i < w.n && i < wc.n; i++) {
			if (ravt_wcache_entry(&wc, i) != w.cell[i]) {
				fprintf(stderr, "step %d: entry %u of the writer's cache is %llu, ravt_acache's %llu\n",
				        step, i, (unsigned long long)ravt_wcache_entry(&wc, i),
				        (unsigned long long)w.cell[i]);
				tt_failures++;
				mismatches++;
				break;
			}
		}
		for (unsigned i = 0; i < RAVT_ACACHE_SIZE; i++) {
			bool full = filled >> ((order >> (4 * i)) & 15) & 1;
			if (full != (i < n)) {
				fprintf(stderr, "step %d: place %u (of %u held) names a %s slot\n", step, i, n,
				        full ? "filled" : "free");
				tt_failures++;
				mismatches++;
				break;
			}
		}
		for (unsigned i = 0; i < w.n && i < n; i++) {
			if (entry(order, cells, i) != w.cell[i]) {
				fprintf(stderr, "step %d: entry %u is %llu, the writer's %llu\n", step, i,
				        (unsigned long long)entry(order, cells, i),
				        (unsigned long long)w.cell[i]);
				tt_failures++;
				mismatches++;
				break;
			}
		}
	}
	printf("%s\n", tt_failures ? "FAILED" : "ok");
	return tt_failures ? 1 : 0;
}
