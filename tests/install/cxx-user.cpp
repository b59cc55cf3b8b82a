/* cxx-user.cpp - a C++ program of a user's own on the installed headers.
 *
 * C++ programs link allocators built on libravioli and tools built on
 * libravtrace, so ravioli.h, rav-record.h and ravtrace.h must compile as
 * C++ (test-install.sh builds this with g++ -std=c++17 -Wall -Wextra
 * -pedantic -Werror, with the inline fast paths of ravioli.h both off and
 * forced on) and work there.  Two modes:
 *
 *   cxx-user build N   builds a binary search tree of N keys with
 *                      rav_new_field / rav_new_root / rav_new_before /
 *                      rav_move, a vector and a byte string, frees half the
 *                      keys (cells move), sends the rest to a std::thread
 *                      in a message and checks every value on the way;
 *                      prints "sum KEYS" as the receiver saw it
 *   cxx-user count F   reads trace F with libravtrace: "EVENTS ALLOCS"
 *
 * Every failure names what went wrong and exits 1.
 */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <ravioli.h>
#include <ravtrace.h>

namespace
{

[[noreturn]] void die(const std::string &what)
{
	std::fprintf(stderr, "cxx-user: %s: %s\n", what.c_str(), rav_last_error());
	std::exit(1);
}

void check(rav_status s, const char *what)
{
	if (s != RAV_OK)
		die(std::string(what) + " (" + rav_status_name(s) + ")");
}

rav_type node_type; /* field 0: key (data), field 1: children (a reference vector of 2) */
rav_type pair_type; /* field 0: left, field 1: right (references) */
rav_type item_type; /* a list item: field 0 value (data), field 1 next (reference) */

/* Insert key into the tree held by root `tree`: node -> pair -> nodes. */
void insert(rav_heap *h, rav_root tree, uintptr_t key)
{
	if (!rav_root_is_set(h, tree)) {
		rav_ref n;
		check(rav_new_root(h, node_type, tree, &n), "new root node");
		rav_store(h, n, 0, key);
		rav_set_scalar(h, n, key & 0xff);
		return;
	}
	rav_ref n = rav_root_get(h, tree);
	for (;;) {
		rav_ref pair = rav_load_ref(h, n, 1);
		if (rav_ref_is_null(pair))
			check(rav_new_field(h, pair_type, n, 1, &pair), "new pair");
		int side = key < rav_load(h, n, 0) ? 0 : 1;
		rav_ref child = rav_load_ref(h, pair, side);
		if (rav_ref_is_null(child)) {
			check(rav_new_field(h, node_type, pair, side, &child), "new node");
			rav_store(h, child, 0, key);
			rav_set_scalar(h, child, key & 0xff);
			return;
		}
		n = child;
	}
}

void walk(rav_heap *h, rav_ref n, std::vector<uintptr_t> &out)
{
	if (rav_ref_is_null(n))
		return;
	if (rav_scalar(h, n) != (rav_load(h, n, 0) & 0xff))
		die("scalar of a node lost");
	rav_ref pair = rav_load_ref(h, n, 1);
	if (!rav_ref_is_null(pair))
		walk(h, rav_load_ref(h, pair, 0), out);
	out.push_back(rav_load(h, n, 0));
	if (!rav_ref_is_null(pair))
		walk(h, rav_load_ref(h, pair, 1), out);
}

int build(long count)
{
	rav_set_error_handler(
	    [](rav_status s, const char *message, void *) {
		    std::fprintf(stderr, "cxx-user: engine error %s: %s\n", rav_status_name(s), message);
		    std::abort();
	    },
	    nullptr);
	rav_thread_name("main");
	rav_heap *h = rav_heap_self();
	node_type = rav_type_register_named("cxx-node", RAV_DATA, "key", RAV_REF, "children");
	pair_type = rav_type_register_named("cxx-pair", RAV_REF, "left", RAV_REF, "right");
	item_type = rav_type_register_named("cxx-item", RAV_DATA, "value", RAV_REF, "next");
	if (!h || !node_type || !pair_type || !item_type)
		die("set up");

	/* A tree of pseudo-random distinct keys (a bijection of 0..count-1). */
	rav_root tree = rav_root_new(h);
	std::vector<uintptr_t> keys;
	long step = count % 7919 ? 7919 : 1;
	for (long i = 0; i < count; i++)
		keys.push_back((uintptr_t)((i * step + count / 2) % count) + 1); /* the middle first */
	for (uintptr_t k : keys)
		insert(h, tree, k);
	std::vector<uintptr_t> seen;
	walk(h, rav_root_get(h, tree), seen);
	if (seen.size() != (size_t)count)
		die("tree holds " + std::to_string(seen.size()) + " keys");
	for (size_t i = 0; i < seen.size(); i++)
		if (seen[i] != i + 1)
			die("tree out of order at " + std::to_string(i));

	/* A list pushed with rav_new_before, then moved to another root. */
	rav_root list = rav_root_new(h), moved = rav_root_new(h);
	for (uintptr_t v = 1; v <= 100; v++) {
		rav_ref item;
		check(rav_new_before(h, item_type, rav_root_slot(list), 1, &item), "push an item");
		rav_store(h, item, 0, v);
	}
	check(rav_move(h, rav_root_slot(moved), rav_root_slot(list)), "move the list");
	uintptr_t expect = 100;
	for (rav_ref it = rav_root_get(h, moved); !rav_ref_is_null(it); it = rav_load_ref(h, it, 1))
		if (rav_load(h, it, 0) != expect--)
			die("list out of order");
	if (expect != 0 || rav_root_is_set(h, list))
		die("list incomplete after rav_move");
	rav_slot none = rav_field_slot(RAV_NULL_REF, 0);
	if (none.word != nullptr)
		die("rav_field_slot of a null borrow");

	/* A vector and a byte string. */
	rav_root vec = rav_root_new(h), bytes = rav_root_new(h);
	check(rav_vec_new_root(h, vec, false), "new vector");
	for (uintptr_t v = 0; v < 1000; v++)
		check(rav_vec_push(h, rav_root_get(h, vec), v * v), "vector push");
	uintptr_t v500 = 0;
	check(rav_vec_get(h, rav_root_get(h, vec), 500, &v500), "vector get");
	const std::string text = "ravioli from C++";
	check(rav_bytes_new_root(h, bytes, text.data(), text.size()), "new bytes");
	char back[32] = {0};
	size_t got = rav_bytes_read(h, rav_root_get(h, bytes), 0, back, sizeof back);
	if (v500 != 250000 || got != text.size() || text != back)
		die("vector or bytes read back wrong");

	/* Free every key of the left subtree of the root: the cells above move
	 * into the holes, and the rest of the tree must still read the same. */
	rav_ref top = rav_root_get(h, tree);
	rav_ref top_pair = rav_load_ref(h, top, 1);
	check(rav_clear_ref(h, top_pair, 0), "drop the left subtree");
	rav_mark("left subtree dropped");
	check(rav_heap_check(h), "heap check");
	seen.clear();
	walk(h, rav_root_get(h, tree), seen);
	uintptr_t first = rav_load(h, rav_root_get(h, tree), 0);
	for (size_t i = 0; i < seen.size(); i++)
		if (seen[i] != first + i)
			die("tree changed by the free at " + std::to_string(i));
	rav_stats st;
	rav_heap_stats(h, &st);
	if (count > 100 && st.moves == 0)
		die("a free of a subtree moved nothing");

	/* Send what is left to a thread; its sum must match. */
	uintptr_t want = 0;
	for (uintptr_t k : seen)
		want += k;
	rav_channel *ch = rav_channel_new();
	rav_msg *msg = rav_msg_new();
	if (!ch || !msg)
		die("channel or message");
	uintptr_t sum = 0;
	size_t received = 0;
	std::thread worker([&] {
		rav_thread_name("worker");
		rav_heap *wh = rav_heap_self();
		rav_root r = rav_root_new(wh);
		check(rav_recv(ch, wh, r), "receive");
		std::vector<uintptr_t> keys_there;
		walk(wh, rav_root_get(wh, r), keys_there);
		for (uintptr_t k : keys_there)
			sum += k;
		received = keys_there.size();
		check(rav_heap_check(wh), "receiver's heap check");
		rav_root_free(wh, r);
	});
	check(rav_msg_adopt(msg, h, tree), "adopt the tree");
	check(rav_send(ch, msg), "send");
	worker.join();
	rav_channel_free(ch);
	if (sum != want || received != seen.size())
		die("worker summed " + std::to_string(sum) + " over " + std::to_string(received) +
		    " keys, expected " + std::to_string(want) + " over " + std::to_string(seen.size()));
	for (rav_root r : {tree, list, moved, vec, bytes})
		rav_root_free(h, r);
	check(rav_heap_check(h), "final heap check");
	std::printf("sum %lu %zu\n", (unsigned long)sum, received);
	return 0;
}

int count_events(const char *path)
{
	rav_trace_error err;
	std::memset(&err, 0, sizeof err);
	rav_trace *t = rav_trace_open(path, &err);
	if (!t || rav_trace_index(t, nullptr, nullptr, &err) != 0) {
		std::fprintf(stderr, "cxx-user: %s: %s\n", path, err.message);
		if (t)
			rav_trace_close(t);
		return 1;
	}
	rav_event_filter all;
	std::memset(&all, 0, sizeof all);
	all.thread = -1;
	rav_event_iter it;
	rav_event ev;
	uint64_t events = 0, allocs = 0;
	rav_event_iter_init(&it, t, &all);
	while (rav_event_iter_next(&it, &ev)) {
		events++;
		allocs += ev.kind == RAV_EV_ALLOC;
	}
	std::printf("%llu %llu\n", (unsigned long long)events, (unsigned long long)allocs);
	rav_trace_close(t);
	return 0;
}

} // namespace

int main(int argc, char **argv)
{
	if (argc == 3 && std::strcmp(argv[1], "build") == 0) {
		long n = std::strtol(argv[2], nullptr, 10);
		if (n < 1 || n > 1000000)
			return std::fprintf(stderr, "cxx-user: build N: 1 to 1000000\n"), 2;
		return build(n);
	}
	if (argc == 3 && std::strcmp(argv[1], "count") == 0)
		return count_events(argv[2]);
	std::fprintf(stderr, "usage: cxx-user build N | cxx-user count TRACE\n");
	return 2;
}
