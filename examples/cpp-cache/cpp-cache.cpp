// SPDX-License-Identifier: GPL-2.0
/*
 * cpp-cache: a memoizing cache on softmem, in C++17 with <softmem.hpp>.
 *
 * Each entry is the result of an "expensive" function of its key (a block of
 * pseudo-random words), kept in a softmem region: a weak reference that the
 * kernel may discard while the entry is not in use.  get() locks the region:
 * if the contents survived they are used as they are, otherwise the guard
 * holds the emptied region resumed and the entry is recomputed into it.
 *
 * To show discards on any machine, the pool's limit is set below what the
 * cache holds: storing an entry beyond it discards the least recently used
 * suspended ones, as memory pressure would.
 *
 *   cpp-cache [ENTRIES [ENTRY_KIB [LIMIT_KIB]]]    (64 entries of 64 KiB,
 *                                                   limit 2048 KiB)
 *
 * Prints hits and recomputations per phase; exits 0 when every value the
 * cache returned was right, 1 otherwise, 2 on a bad argument, 3 when
 * softmem is not available.
 */
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <softmem.hpp>

namespace {

using block = std::vector<std::uint64_t>;

/* The expensive function: @words words derived from @key. */
block compute(std::uint64_t key, std::size_t words)
{
	block out(words);
	std::uint64_t x = key * 0x9e3779b97f4a7c15ULL + 1;

	for (auto &w : out) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		w = x;
	}
	return out;
}

class cache {
public:
	cache(std::size_t entry_bytes) : words_(entry_bytes / 8) {}

	void set_limit(std::uint64_t bytes) { pool_.set_limit(bytes); }

	/* The value of @key: from the cache when it survived, else computed. */
	block get(std::uint64_t key)
	{
		block value(words_);
		auto it = entries_.find(key);
		bool added = it == entries_.end();

		if (added)	/* a region: resumed, reading as zeros */
			it = entries_.emplace(key, pool_.alloc(bytes())).first;
		/* Resumed while g lives, suspended when it goes. */
		softmem::guard g = it->second.lock();

		if (g && !added) {
			g.read(0, value.data(), bytes());	/* survived */
			hits_++;
		} else {
			/*
			 * New, or discarded: g holds the emptied region, and
			 * the value goes back into it for next time.  (A lost
			 * region must be refilled or dropped: the next lock()
			 * would find it intact, and zeros.)
			 */
			value = compute(key, words_);
			g.write(0, value.data(), bytes());
			misses_++;
		}
		return value;
	}

	/* Sum of @key's words read through a mapping, without a copy. */
	std::uint64_t sum_mapped(std::uint64_t key)
	{
		softmem::region &r = entries_.at(key);
		softmem::mapping m = r.map();
		softmem::guard g = r.lock();	/* touch m only while locked */
		std::uint64_t sum = 0;

		if (!g) {			/* lost: refill, then map */
			block value = compute(key, words_);

			g.write(0, value.data(), bytes());
			misses_++;
		}
		for (std::uint64_t w : m.as<const std::uint64_t>())
			sum += w;
		return sum;
	}

	softmem::pool_stats stats() const { return pool_.stats(); }
	unsigned long hits() const { return hits_; }
	unsigned long misses() const { return misses_; }
	void reset_counts() { hits_ = misses_ = 0; }

private:
	std::size_t bytes() const { return words_ * 8; }

	/* Declared first: the regions go before their pool. */
	softmem::pool pool_;
	std::unordered_map<std::uint64_t, softmem::region> entries_;
	std::size_t words_;
	unsigned long hits_ = 0, misses_ = 0;
};

unsigned long arg(char **argv, int argc, int i, unsigned long fallback)
{
	char *end;
	unsigned long v;

	if (i >= argc)
		return fallback;
	v = std::strtoul(argv[i], &end, 10);
	if (*end || !v) {
		std::fprintf(stderr, "cpp-cache: not a positive number: %s\n",
			     argv[i]);
		std::exit(2);
	}
	return v;
}

} // namespace

int main(int argc, char **argv)
{
	const unsigned long entries = arg(argv, argc, 1, 64);
	const unsigned long entry_kib = arg(argv, argc, 2, 64);
	const unsigned long limit_kib = arg(argv, argc, 3, 2048);
	const std::size_t words = entry_kib * 1024 / 8;
	const unsigned long hot = entries / 4;
	unsigned long wrong = 0;

	try {
		cache c(entry_kib * 1024);

		c.set_limit(std::uint64_t(limit_kib) * 1024);
		auto check = [&](std::uint64_t key) {
			if (c.get(key) != compute(key, words))
				wrong++;
		};
		auto phase = [&](const char *what) {
			softmem::pool_stats st = c.stats();

			std::printf("%-34s %4lu hits %4lu computed  "
				    "(resident %" PRIu64 " KiB, %" PRIu64
				    " regions discarded so far)\n", what,
				    c.hits(), c.misses(),
				    std::uint64_t(st.resident_bytes) / 1024,
				    std::uint64_t(st.discard_events));
			c.reset_counts();
		};

		std::printf("%lu entries of %lu KiB, pool limit %lu KiB\n",
			    entries, entry_kib, limit_kib);
		for (unsigned long k = 0; k < entries; k++)
			check(k);
		phase("fill");
		for (int round = 0; round < 2; round++)
			for (unsigned long k = entries - hot; k < entries; k++)
				check(k);
		phase("the last quarter, twice (hot)");
		for (unsigned long k = 0; k < hot; k++)
			check(k);
		phase("the first quarter (discarded)");

		block last = compute(entries - 1, words);
		std::uint64_t want = 0;

		for (std::uint64_t w : last)
			want += w;
		bool right = c.sum_mapped(entries - 1) == want;

		wrong += !right;
		std::printf("entry %lu summed through a mapping: %s\n",
			    entries - 1, right ? "right" : "WRONG");
	} catch (const std::system_error &e) {
		std::fprintf(stderr, "cpp-cache: %s\n", e.what());
		return e.code() == std::errc::no_such_file_or_directory ? 3 : 1;
	}
	std::printf("%s\n", wrong ? "some values were WRONG" :
		    "every value the cache returned was right");
	return wrong ? 1 : 0;
}
