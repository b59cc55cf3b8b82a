/* test-engine-deserialize-fuzz.c - mutated serialized images never crash.
 *
 * Usage: test-engine-deserialize-fuzz [ITERATIONS [SEED]]
 * (default 50000, or 2000 with RAV_TEST_SMALL=1).
 *
 * Serialized data comes from files and sockets, so rav_deserialize must
 * treat it as hostile: every mutated image must either load into a heap
 * that passes rav_heap_check, or be refused with RAV_EFORMAT, leaving the
 * heap as it was.  Seeds are real images (subtrees and messages, with and
 * without compression, with sharing, vectors and byte strings); mutations
 * flip bits, overwrite words with nearby pointers and small integers, cut,
 * duplicate and splice.  Run it in the ASan build to catch reads outside
 * the buffers as well as wrong answers.
 */
#include <unistd.h>

#include "rav-test.h"

static rav_type T_NODE, T_PAIR;

typedef struct image {
	unsigned char *data;
	size_t len;
} image;

static int temp_fd(void)
{
	char path[] = "/tmp/rav-fuzz-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	unlink(path);
	return fd;
}

static image slurp(int fd)
{
	image im;
	off_t end = lseek(fd, 0, SEEK_END);
	CHECK(end > 0);
	im.len = (size_t)end;
	im.data = malloc(im.len);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(read(fd, im.data, im.len) == (ssize_t)im.len);
	close(fd);
	return im;
}

/* A tree with a list, a vector and a byte string. */
static void build(rav_heap *h, rav_root r, size_t n)
{
	rav_ref top, x;
	CHECK_OK(rav_new_root(h, T_PAIR, r, &top));
	CHECK_OK(rav_new_field(h, T_NODE, top, 0, &x));
	for (size_t i = 0; i < n; i++) {
		rav_store(h, x, 0, i * 0x10001);
		rav_set_scalar(h, x, i);
		CHECK_OK(rav_new_field(h, T_NODE, x, 1, &x));
	}
	rav_ref inner;
	CHECK_OK(rav_new_field(h, T_PAIR, top, 1, &inner));
	CHECK_OK(rav_new_field(h, RAV_TYPE_VEC, inner, 0, &x));
	for (uintptr_t i = 0; i < n; i++)
		CHECK_OK(rav_vec_push(h, x, i));
	CHECK_OK(rav_new_field(h, RAV_TYPE_BYTES, inner, 1, &x));
	CHECK_OK(rav_bytes_append(h, x, "fuzzing the deserializer", 24));
}

static image seed_subtree(rav_heap *h, unsigned flags, size_t n)
{
	rav_root r = rav_root_new(h);
	build(h, r, n);
	int fd = temp_fd();
	CHECK_OK(rav_serialize(h, r, fd, flags));
	rav_root_free(h, r);
	return slurp(fd);
}

static image seed_message(unsigned flags, size_t n)
{
	rav_msg *m = rav_msg_new();
	rav_heap *mh = rav_msg_heap(m);
	build(mh, rav_msg_root(m), n);
	/* Messages may share: the list's last node refers back to the top. */
	rav_ref top = rav_root_get(mh, rav_msg_root(m));
	rav_ref x = rav_load_ref(mh, top, 0);
	while (!rav_ref_is_null(rav_load_ref(mh, x, 1)))
		x = rav_load_ref(mh, x, 1);
	CHECK_OK(rav_store_ref(mh, x, 1, top));
	int fd = temp_fd();
	CHECK_OK(rav_serialize_msg(m, fd, flags));
	rav_msg_free(m);
	return slurp(fd);
}

static void mutate(rav_rng *rng, const image *src, image *out)
{
	size_t len = src->len;
	unsigned char *d = malloc(len * 2 + 64);
	memcpy(d, src->data, len);
	unsigned rounds = 1 + (unsigned)rav_rng_below(rng, 4);
	for (unsigned k = 0; k < rounds; k++) {
		size_t at = len ? rav_rng_below(rng, len) : 0;
		switch (rav_rng_below(rng, 7)) {
		case 0: /* bit flip */
			if (len)
				d[at] ^= (unsigned char)(1u << rav_rng_below(rng, 8));
			break;
		case 1: /* an aligned word becomes a small integer */
			if (len >= 8) {
				uint64_t v = rav_rng_below(rng, 70000);
				memcpy(d + rav_rng_below(rng, len / 8) * 8, &v, 8);
			}
			break;
		case 2: /* a word becomes another word of the image (often a pointer) */
			if (len >= 16) {
				size_t from = rav_rng_below(rng, len / 8) * 8, to = rav_rng_below(rng, len / 8) * 8;
				memmove(d + to, d + from, 8);
			}
			break;
		case 3: /* all-ones word */
			if (at + 8 <= len)
				memset(d + at, 0xff, 8);
			break;
		case 4: /* cut */
			len = at;
			break;
		case 5: /* duplicate a run (grows the image) */
			if (len) {
				size_t run = 1 + rav_rng_below(rng, 32);
				if (at + run > len)
					run = len - at;
				if (len + run <= src->len * 2 + 64) {
					memmove(d + at + run, d + at, len - at);
					len += run;
				}
			}
			break;
		default: /* random byte */
			if (len)
				d[at] = (unsigned char)rav_rng_next(rng);
			break;
		}
	}
	out->data = d;
	out->len = len;
}

/* Keep the failing image for a reproducer (RAV_FUZZ_DUMP_DIR, default /tmp). */
static void dump(const image *m, uint64_t seed, unsigned long iter)
{
	const char *dir = getenv("RAV_FUZZ_DUMP_DIR");
	char path[512];
	snprintf(path, sizeof path, "%s/rav-deserialize-fail-%" PRIu64 "-%lu.bin", dir ? dir : "/tmp", seed, iter);
	FILE *f = fopen(path, "wb");
	if (f && fwrite(m->data, 1, m->len, f) == m->len)
		fprintf(stderr, "failing image written to %s (%zu bytes)\n", path, m->len);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	unsigned long iters = rav_test_small() ? 2000 : 50000;
	uint64_t seed = 1;
	if (argc > 1)
		iters = strtoul(argv[1], NULL, 0);
	if (argc > 2)
		seed = strtoull(argv[2], NULL, 0);
	T_NODE = rav_type_register("fuzz.node", RAV_DATA, RAV_REF);
	T_PAIR = rav_type_register("fuzz.pair", RAV_REF, RAV_REF);
	rav_heap *h = rav_heap_self();
	image seeds[6] = {
		seed_subtree(h, 0, 20),   seed_subtree(h, RAV_SER_COMPRESS, 20), seed_subtree(h, 0, 300),
		seed_message(0, 10),      seed_message(RAV_SER_COMPRESS, 10),    seed_message(0, 200),
	};
	rav_root dst = rav_root_new(h);
	rav_stats s0;
	rav_heap_stats(h, &s0);
	rav_rng rng = { seed };
	unsigned long loaded = 0, refused = 0;
	printf("# %lu mutated images, seed %" PRIu64 "\n", iters, seed);
	for (unsigned long i = 0; i < iters; i++) {
		image m;
		const image *src = &seeds[rav_rng_below(&rng, 6)];
		mutate(&rng, src, &m);
		int fd = temp_fd();
		CHECK(write(fd, m.data, m.len) == (ssize_t)m.len);
		CHECK(lseek(fd, 0, SEEK_SET) == 0);
		rav_status st = rav_deserialize(h, fd, dst);
		close(fd);
		if (st != RAV_OK && st != RAV_EFORMAT) {
			fprintf(stderr, "iteration %lu (seed %" PRIu64 "): %s: %s\n", i, seed, rav_status_name(st),
				rav_last_error());
			dump(&m, seed, i);
			exit(1);
		}
		if (rav_heap_check(h) != RAV_OK) {
			fprintf(stderr, "iteration %lu (seed %" PRIu64 "): heap broken after %s: %s\n", i, seed,
				rav_status_name(st), rav_last_error());
			dump(&m, seed, i);
			exit(1);
		}
		if (st == RAV_OK) {
			loaded++;
			CHECK_OK(rav_root_clear(h, dst));
			rav_collect(h);
		} else {
			refused++;
			CHECK(!rav_root_is_set(h, dst));
		}
		rav_stats s;
		rav_heap_stats(h, &s);
		if (s.live_cells != s0.live_cells) {
			fprintf(stderr, "iteration %lu (seed %" PRIu64 "): %s left %" PRIu64 " cells behind\n", i, seed,
				rav_status_name(st), s.live_cells - s0.live_cells);
			exit(1);
		}
		free(m.data);
	}
	printf("# %lu loaded (and freed), %lu refused with RAV_EFORMAT\n", loaded, refused);
	for (int k = 0; k < 6; k++)
		free(seeds[k].data);
	rav_root_free(h, dst);
	rav_thread_exit();
	printf("ok deserialize-fuzz\n");
	return 0;
}
