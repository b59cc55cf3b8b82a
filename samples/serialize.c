/* serialize.c - rav-sample-serialize: a structure written to a file and read
 * back into other heaps.
 *
 * What to watch in the trace: serialization writes the pages that hold a
 * subtree with their pointers made page-relative; deserialization brings
 * those pages into the reading heap, rewrites the page bits of every
 * pointer (the fix-up pass) and compacts them into the heap like a
 * received message.  The same bytes load into a different thread's heap,
 * at different addresses, and mean the same thing.
 *
 * The structure is a small catalog: a vector of references to entries,
 * each entry holding an id (data) and a name (a byte string, itself a tree
 * of ravioli).  It is written twice, plain and zstd-compressed, to compare
 * sizes: most pointer bits are redundant, so it compresses well.
 */
#include "sample.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static rav_type entry_type;

static size_t entry_name(char *buf, size_t len, uintptr_t id)
{
	return (size_t)snprintf(buf, len, "entry %lu: %s", (unsigned long)id,
	                        id % 3 == 0   ? "a raviolo is four words"
	                        : id % 3 == 1 ? "no gaps, ever"
	                                      : "pages travel");
}

static void build_catalog(rav_heap *h, rav_root catalog, size_t entries)
{
	rav_root entry = rav_root_new(h), name = rav_root_new(h);
	if (!entry || !name)
		sample_check(RAV_ENOMEM, "create roots");
	sample_check(rav_vec_new_root(h, catalog, true), "create the catalog vector");
	for (size_t i = 0; i < entries; i++) {
		char text[96];
		size_t len = entry_name(text, sizeof text, i);
		rav_ref e;
		sample_check(rav_new_root(h, entry_type, entry, &e), "allocate an entry");
		rav_store(h, e, 0, i);
		sample_check(rav_bytes_new_root(h, name, text, len), "allocate a name");
		/* The name is held by its root and now by the entry too (a
		 * reference raviolo for a moment); dropping the root leaves the
		 * entry as its only referrer.  Same for the entry and the vector. */
		sample_check(rav_store_ref(h, rav_root_get(h, entry), 1, rav_root_get(h, name)),
		             "name an entry");
		sample_check(rav_root_clear(h, name), "release the name root");
		sample_check(rav_vec_push_ref(h, rav_root_get(h, catalog), rav_root_get(h, entry)),
		             "add an entry");
		sample_check(rav_root_clear(h, entry), "release the entry root");
	}
	rav_root_free(h, name);
	rav_root_free(h, entry);
}

/* Compare a catalog with what build_catalog made; returns a reason or NULL. */
static const char *verify_catalog(rav_heap *h, rav_root catalog, size_t entries)
{
	rav_ref vec = rav_root_get(h, catalog);
	if (rav_ref_is_null(vec) || rav_type_of(h, vec) != RAV_TYPE_VEC)
		return "the root does not hold a vector";
	if (rav_vec_len(h, vec) != entries)
		return "wrong number of entries";
	for (size_t i = 0; i < entries; i++) {
		rav_ref e = rav_vec_get_ref(h, vec, i);
		if (rav_ref_is_null(e) || rav_type_of(h, e) != entry_type || rav_load(h, e, 0) != i)
			return "an entry has the wrong type or id";
		char want[96], got[96];
		size_t len = entry_name(want, sizeof want, i);
		rav_ref name = rav_load_ref(h, e, 1);
		if (rav_bytes_len(h, name) != len || rav_bytes_read(h, name, 0, got, len) != len ||
		    memcmp(want, got, len) != 0)
			return "an entry's name differs";
	}
	return NULL;
}

typedef struct loader_job {
	int fd;
	size_t entries;
	const char *failure;
} loader_job;

static void *loader(void *arg)
{
	loader_job *job = arg;
	rav_thread_name("loader");
	rav_heap *h = rav_heap_self();
	rav_root copy = rav_root_new(h);
	if (!h || !copy)
		sample_check(RAV_ENOMEM, "loader setup");
	rav_mark("loader: deserialize the compressed file");
	if (lseek(job->fd, 0, SEEK_SET) != 0)
		sample_check(RAV_EIO, "rewind the file");
	sample_check(rav_deserialize(h, job->fd, copy), "deserialize in the loader thread");
	job->failure = verify_catalog(h, copy, job->entries);
	sample_check_heap("in the loader", h);
	sample_print_stats("loader thread, after loading", h);
	rav_root_free(h, copy);
	rav_thread_exit();
	return NULL;
}

/* An anonymous scratch file: unlinked at once, gone when closed. */
static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/rav-sample-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("rav-sample-serialize: cannot create a scratch file");
		exit(1);
	}
	unlink(path);
	return fd;
}

int main(int argc, char **argv)
{
	size_t entries =
	    sample_size_arg(argc, argv, 200, 1000000, "catalog entries",
	                    "Serialization round trip: write a catalog to a file, read it into other heaps.");
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	entry_type = rav_type_register_named("catalog_entry", RAV_DATA, "number", RAV_REF, "name");
	rav_root catalog = rav_root_new(h), copy = rav_root_new(h);
	if (!h || !entry_type || !catalog || !copy)
		sample_check(RAV_ENOMEM, "set up the heap");

	rav_mark("build the catalog");
	build_catalog(h, catalog, entries);
	sample_print_stats("main thread, catalog built", h);

	rav_mark("serialize: plain and compressed");
	int plain = temp_fd(), packed = temp_fd();
	sample_check(rav_serialize(h, catalog, plain, 0), "serialize");
	sample_check(rav_serialize(h, catalog, packed, RAV_SER_COMPRESS), "serialize compressed");
	off_t plain_size = lseek(plain, 0, SEEK_END), packed_size = lseek(packed, 0, SEEK_END);
	printf("rav-sample-serialize: %zu entries: %lld bytes plain, %lld compressed (%.1f%%)\n", entries,
	       (long long)plain_size, (long long)packed_size,
	       plain_size > 0 ? 100.0 * (double)packed_size / (double)plain_size : 0.0);

	loader_job job = {packed, entries, NULL};
	pthread_t t;
	if (pthread_create(&t, NULL, loader, &job) != 0) {
		fprintf(stderr, "rav-sample-serialize: cannot start the loader thread\n");
		return 1;
	}
	pthread_join(t, NULL);
	if (job.failure) {
		fprintf(stderr, "rav-sample-serialize: the loader's copy is wrong: %s\n", job.failure);
		return 1;
	}

	rav_mark("deserialize the plain file into this heap, next to the original");
	if (lseek(plain, 0, SEEK_SET) != 0)
		sample_check(RAV_EIO, "rewind the file");
	sample_check(rav_deserialize(h, plain, copy), "deserialize");
	const char *why = verify_catalog(h, copy, entries);
	if (!why)
		why = verify_catalog(h, catalog, entries);
	if (why) {
		fprintf(stderr, "rav-sample-serialize: after loading a second copy: %s\n", why);
		return 1;
	}
	sample_check_heap("after the round trip", h);
	printf("rav-sample-serialize: both copies match the original\n");
	sample_print_stats("main thread, original and copy", h);

	rav_mark("drop both copies");
	rav_root_free(h, copy);
	rav_root_free(h, catalog);
	close(plain);
	close(packed);
	return 0;
}
