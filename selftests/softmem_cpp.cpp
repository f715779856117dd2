// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_cpp: the C++ header lib/softmem.hpp (C++17, RAII).
 *
 * - pool, region, guard and mapping are move-only, and close, free, suspend
 *   or unmap on destruction, exactly once;
 * - lock() resumes, the guard's end suspends; guards nest;
 * - a lost region is reported by the guard (false, discarded()), reads as
 *   zeros and is refilled through it; the next lock() finds it intact;
 * - read/write/fill/load/store, a mapping, export and import;
 * - errors are std::system_error with the errno.
 *
 * kselftest_harness.h is C only, so this prints KTAP with kselftest.h and
 * runs each case in a child of its own, as the harness does.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include "kselftest.h"

#include "softmem.hpp"

namespace {

/* A failed check: unwinds the case, which then fails. */
struct check_failed {};
/* SKIP(): unwinds the case, which is then skipped. */
struct skipped {};

void check_at(bool ok, const char *what, const char *file, int line)
{
	if (ok)
		return;
	std::printf("# %s:%d: check failed: %s\n", file, line, what);
	throw check_failed{};
}

#define CHECK(cond)	check_at(static_cast<bool>(cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ(want, got)						\
	do {								\
		unsigned long long want_ = (want);			\
		unsigned long long got_ = (got);			\
		if (!(want_ == got_))					\
			std::printf("# %s == %s: %llu != %llu\n", #want, #got, \
				    want_, got_);			\
		check_at(want_ == got_, #want " == " #got, __FILE__,	\
			 __LINE__);					\
	} while (0)

/* @fn throws std::system_error with errno @err from a call named @name. */
#define CHECK_THROWS(err, name, ...)					\
	do {								\
		int got_ = 0;						\
		std::string what_;					\
		try {							\
			__VA_ARGS__;					\
		} catch (const std::system_error &e) {			\
			got_ = e.code().value();			\
			what_ = e.what();				\
			check_at(e.code().category() ==			\
				 std::generic_category(),		\
				 "generic_category", __FILE__, __LINE__); \
		}							\
		if (got_ != (err))					\
			std::printf("# %s: errno %d (%s), want %d\n",	\
				    #__VA_ARGS__, got_, what_.c_str(), (err)); \
		check_at(got_ == (err), #__VA_ARGS__ " throws " #err,	\
			 __FILE__, __LINE__);				\
		check_at(what_.find(name) != std::string::npos,		\
			 "what() names " name, __FILE__, __LINE__);	\
	} while (0)

size_t page()
{
	return static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::string pattern(size_t length, unsigned int seed)
{
	std::string s(length, '\0');

	for (size_t i = 0; i < length; i++)
		s[i] = static_cast<char>((i * 131 + seed * 29) | 1);
	return s;
}

uint64_t module_stat(const char *name)
{
	std::string path = std::string("/sys/class/misc/softmem/stats/") + name;
	unsigned long long v = 0;
	FILE *f = std::fopen(path.c_str(), "re");

	CHECK(f);
	CHECK(std::fscanf(f, "%llu", &v) == 1);
	std::fclose(f);
	return v;
}

bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The pool discards @r: its limit is @r's pages, and a write needs more. */
void discard_by_limit(softmem::pool &pool, const softmem::region &r)
{
	softmem::region other = pool.alloc(page());

	pool.set_limit(pool.stats().resident_bytes);
	other.lock().write(0, "x");
	(void)r;
}

// --- the cases ---------------------------------------------------------

static_assert(!std::is_copy_constructible_v<softmem::pool> &&
	      !std::is_copy_assignable_v<softmem::pool> &&
	      std::is_nothrow_move_constructible_v<softmem::pool> &&
	      std::is_nothrow_move_assignable_v<softmem::pool>);
static_assert(!std::is_copy_constructible_v<softmem::region> &&
	      !std::is_copy_assignable_v<softmem::region> &&
	      std::is_nothrow_move_constructible_v<softmem::region> &&
	      std::is_nothrow_move_assignable_v<softmem::region>);
static_assert(!std::is_copy_constructible_v<softmem::guard> &&
	      std::is_nothrow_move_constructible_v<softmem::guard>);
static_assert(!std::is_copy_constructible_v<softmem::mapping> &&
	      std::is_nothrow_move_constructible_v<softmem::mapping>);
static_assert(std::is_convertible_v<softmem::span<int>,
				    softmem::span<const int>> &&
	      !std::is_convertible_v<softmem::span<const int>,
				     softmem::span<int>>);

void pool_closes_once()
{
	uint64_t pools = module_stat("pools");
	int fd;

	{
		softmem::pool a;

		fd = a.fd();
		CHECK(fd >= 0 && a);
		CHECK_EQ(pools + 1, module_stat("pools"));
		softmem::pool b(std::move(a));
		CHECK(!a && a.fd() == -1 && b.fd() == fd);
		softmem::pool c;
		int cfd = c.fd();

		c = std::move(b);	// closes c's own pool
		CHECK(!fd_open(cfd) && c.fd() == fd);
		CHECK_EQ(pools + 1, module_stat("pools"));
		c.stats();
	}
	CHECK(!fd_open(fd));
	CHECK_EQ(pools, module_stat("pools"));

	/* release() and adopt(). */
	fd = softmem::pool().release();
	CHECK(fd_open(fd));
	{
		softmem::pool p = softmem::pool::adopt(fd);

		CHECK_EQ(fd, p.fd());
	}
	CHECK(!fd_open(fd));
}

void region_frees_once()
{
	softmem::pool pool;

	{
		softmem::region r = pool.alloc(3 * page());

		CHECK(!r.empty() && r.handle() && r.length() == 3 * page());
		CHECK_EQ(pool.fd(), r.pool_fd());
		CHECK_EQ(1, pool.stats().regions);
		softmem::region s(std::move(r));
		CHECK(r.empty() && r.handle() == 0 && s.length() == 3 * page());
		softmem::region t = pool.alloc(page());

		CHECK_EQ(2, pool.stats().regions);
		t = std::move(s);	// frees t's own region
		CHECK_EQ(1, pool.stats().regions);
		std::vector<softmem::region> v;
		v.push_back(std::move(t));
		v.push_back(pool.alloc(page()));
		CHECK_EQ(2, pool.stats().regions);
	}
	CHECK_EQ(0, pool.stats().regions);

	/* release(): the handle is the caller's. */
	uint64_t h = pool.alloc(page()).release();
	CHECK_EQ(1, pool.stats().regions);
	CHECK_EQ(0, softmem_free(pool.fd(), h));
	softmem::region r = pool.alloc(page());
	r.reset();
	CHECK(r.empty());
	CHECK_EQ(0, pool.stats().regions);

	/* alloc_huge(): the same kind of region, freed the same way. */
	r = pool.alloc_huge(3 * page());
	CHECK(!r.empty() && r.length() == 3 * page());
	CHECK_EQ(1, pool.stats().regions);
	r.reset();
	CHECK_EQ(0, pool.stats().regions);
}

void guard_resumes_and_suspends()
{
	const size_t len = 2 * page();
	std::string data = pattern(len, 1);
	softmem::pool pool;
	softmem::region r = pool.alloc(len);

	r.lock().write(0, data);	/* a temporary guard: suspended at ; */
	CHECK_EQ(len, pool.stats().suspended_bytes);
	CHECK(!r.locked());
	{
		softmem::guard g = r.lock();

		CHECK(g && g.intact() && !g.discarded() && g.owns_lock());
		CHECK(r.locked());
		CHECK_EQ(0, pool.stats().suspended_bytes);
		CHECK(g.read(0, len) == data);
		{
			softmem::guard inner = r.lock();	/* nests */

			CHECK(inner.intact());
		}
		CHECK_EQ(0, pool.stats().suspended_bytes);

		/* Moving the region or the guard keeps the hold. */
		softmem::region moved(std::move(r));
		softmem::guard g2(std::move(g));
		CHECK(!g.owns_lock() && !g && g2.intact());
		CHECK_EQ(0, pool.stats().suspended_bytes);
		CHECK(g2.read(0, len) == data);
		r = std::move(moved);
	}
	CHECK_EQ(len, pool.stats().suspended_bytes);
	CHECK_EQ(len, pool.stats().resident_bytes);

	/* unlock() suspends at once. */
	softmem::guard g = r.lock();
	CHECK_EQ(0, pool.stats().suspended_bytes);
	g.unlock();
	CHECK(!g.owns_lock());
	CHECK_EQ(len, pool.stats().suspended_bytes);
	g.unlock();		/* nothing to let go: nothing happens */
	CHECK_EQ(len, pool.stats().suspended_bytes);
}

void lost_region_is_reported_and_refilled()
{
	const size_t len = 4 * page();
	std::string data = pattern(len, 2);
	softmem::pool pool;
	softmem::region r = pool.alloc(len);

	r.lock().write(0, data);
	discard_by_limit(pool, r);
	CHECK_EQ(1, pool.stats().discard_events);
	CHECK_EQ(len, pool.stats().discarded_bytes);
	pool.set_limit(64 * page());

	if (auto g = r.lock()) {
		CHECK(!"a discarded region locked as intact");
	} else {
		/* The loss is acknowledged; g holds the region resumed. */
		CHECK(g.owns_lock() && g.discarded() && !g.intact());
		CHECK(g.read(0, len) == std::string(len, '\0'));
		g.write(0, data);
		CHECK_EQ(0, pool.stats().suspended_bytes);
	}
	CHECK_EQ(len, pool.stats().suspended_bytes);

	auto g = r.lock();
	CHECK(g.intact());
	CHECK(g.read(0, len) == data);
}

void data_helpers()
{
	struct point {
		int x, y;
	};
	softmem::pool pool;
	softmem::region r = pool.alloc(page());
	softmem::guard g = r.lock();
	std::vector<char> buf(16);

	CHECK(g.intact());	/* a new region: resumed, zeros */
	g.write(8, "hello, softmem");
	CHECK(g.read(8, 14) == "hello, softmem");
	g.read(8, buf.data(), 5);
	CHECK(std::memcmp(buf.data(), "hello", 5) == 0);
	g.store<uint64_t>(32, 0x1122334455667788ULL);
	CHECK_EQ(0x1122334455667788ULL, g.load<uint64_t>(32));
	g.store(64, point{ 3, -4 });
	CHECK(g.load<point>(64).x == 3 && g.load<point>(64).y == -4);
	g.fill(100, 0xab, 10);
	CHECK(g.read(99, 12) == std::string("\0", 1) + std::string(10, '\xab') +
	      std::string("\0", 1));
	CHECK_EQ(r.handle(), g.handle());
	CHECK_EQ(page(), g.length());
}

void mapping_shows_the_region()
{
	const size_t len = 2 * page();
	softmem::pool pool;
	softmem::region r = pool.alloc(len);
	softmem::guard g = r.lock();
	softmem::mapping m = r.map();
	void *addr = m.get();
	unsigned char vec;

	CHECK(m && m.size() == len);
	softmem::span<std::byte> bytes = m.bytes();
	CHECK_EQ(len, bytes.size());
	bytes[10] = std::byte{ 0x5a };
	CHECK(g.read(10, 1) == "\x5a");
	g.write(page(), "through the ioctl");
	softmem::span<const char> text(m.as<char>().subspan(page(), 17));
	CHECK(std::string(text.begin(), text.end()) == "through the ioctl");
	CHECK_EQ(len / 4, m.as<uint32_t>().size());
	CHECK_EQ(len, m.as<uint32_t>().size_bytes());
	CHECK(m.bytes().subspan(len - 1).size() == 1 &&
	      m.bytes().subspan(len + 5).empty());

	/* The second page only, read-only. */
	softmem::mapping ro = r.map(page(), page(), PROT_READ);
	CHECK(std::memcmp(ro.data(), "through the ioctl", 17) == 0);

	softmem::mapping moved(std::move(m));
	CHECK(!m && moved.get() == addr);
	CHECK(mincore(addr, page(), &vec) == 0);
	moved.reset();		/* unmapped */
	CHECK(mincore(addr, page(), &vec) == -1 && errno == ENOMEM);
}

void export_and_import()
{
	const size_t len = 3 * page() - 100;
	std::string data = pattern(len, 3);
	softmem::pool a, b;
	softmem::region r = a.alloc(len);

	r.lock().write(0, data);
	int fd = r.export_fd();
	softmem::region imported = b.import(fd);
	close(fd);
	CHECK_EQ(3 * page(), imported.length());
	CHECK_EQ(1, b.stats().regions);
	{
		auto g = imported.lock();

		CHECK(g.intact());
		CHECK(g.read(0, len) == data);
	}
	imported.set_priority(0);
}

void errors_are_system_errors()
{
	softmem::pool pool;
	softmem::region r = pool.alloc(page());
	softmem::region empty;

	CHECK_THROWS(EINVAL, "softmem_alloc", (void)pool.alloc(0));
	CHECK_THROWS(EINVAL, "softmem_read", r.lock().read(page(), 1));
	CHECK_THROWS(EINVAL, "softmem_write", r.lock().write(page() - 1, "ab"));
	CHECK_THROWS(EBUSY, "softmem_set_policy",
		     pool.set_policy(softmem::policy::fifo));
	CHECK_THROWS(EINVAL, "softmem_resume", (void)empty.lock());
	CHECK_THROWS(EBADF, "softmem_import", (void)pool.import(-1));
	CHECK_THROWS(EINVAL, "softmem_map", (void)r.map(1));
	CHECK_THROWS(EINVAL, "softmem_set_priority",
		     r.set_priority(SOFTMEM_NR_PRIORITIES));

	/* The errc comparison works. */
	try {
		(void)pool.alloc(0);
		CHECK(!"alloc(0) did not throw");
	} catch (const std::system_error &e) {
		CHECK(e.code() == std::errc::invalid_argument);
	}

	/* A region freed while a guard lives: ENOENT, and no harm. */
	softmem::region s = pool.alloc(page());
	softmem::guard g = s.lock();
	s.reset();
	CHECK_EQ(1, pool.stats().regions);	/* r */
	CHECK_THROWS(ENOENT, "softmem_read", (void)g.read(0, 1));
	g.unlock();

	/* A moved-from pool, and a missing device. */
	r.reset();
	softmem::pool moved(std::move(pool));
	CHECK_THROWS(EBADF, "softmem_stats", (void)pool.stats());
	CHECK_THROWS(EBADF, "softmem_alloc", (void)pool.alloc(1));
	setenv("SOFTMEM_DEVICE", "/nonexistent/softmem", 1);
	CHECK_THROWS(ENOENT, "softmem_open", softmem::pool p);
	unsetenv("SOFTMEM_DEVICE");
}

void policy_and_stats()
{
	softmem::pool pool;

	pool.set_policy(softmem::policy::fifo);
	pool.set_limit(8 * page());
	softmem::pool_stats st = pool.stats();
	CHECK_EQ(SOFTMEM_POLICY_FIFO, st.policy);
	CHECK_EQ(8 * page(), st.limit_bytes);

	softmem::region r = pool.alloc_on_node(page(), 0);
	r.lock().write(0, "node 0");
	CHECK_EQ(page(), pool.node_stats(0).suspended_bytes);
	softmem::region low = pool.alloc(page(), 0);
	CHECK_EQ(2, pool.stats().regions);
}

struct test_case {
	const char *name;
	void (*fn)();
};

const test_case tests[] = {
	{ "pool_closes_once", pool_closes_once },
	{ "region_frees_once", region_frees_once },
	{ "guard_resumes_and_suspends", guard_resumes_and_suspends },
	{ "lost_region_is_reported_and_refilled",
	  lost_region_is_reported_and_refilled },
	{ "data_helpers", data_helpers },
	{ "mapping_shows_the_region", mapping_shows_the_region },
	{ "export_and_import", export_and_import },
	{ "errors_are_system_errors", errors_are_system_errors },
	{ "policy_and_stats", policy_and_stats },
};

/* Run @t in a child: 0 passed, 1 failed, 4 (KSFT_SKIP) skipped. */
int run(const test_case &t)
{
	std::fflush(nullptr);
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 1;
	if (!pid) {
		int ret = 0;

		try {
			t.fn();
		} catch (const check_failed &) {
			ret = 1;
		} catch (const skipped &) {
			ret = KSFT_SKIP;
		} catch (const std::exception &e) {
			std::printf("# unexpected exception: %s\n", e.what());
			ret = 1;
		}
		std::fflush(nullptr);
		_exit(ret);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	if (WIFSIGNALED(status)) {
		std::printf("# killed by signal %d\n", WTERMSIG(status));
		return 1;
	}
	return WEXITSTATUS(status);
}

} // namespace

int main()
{
	const size_t n = sizeof(tests) / sizeof(tests[0]);
	bool device = !access("/dev/softmem", R_OK | W_OK);

	ksft_print_header();
	ksft_set_plan(n);
	for (const test_case &t : tests) {
		if (!device) {
			ksft_test_result_skip("%s: /dev/softmem: %s\n", t.name,
					      strerror(errno));
			continue;
		}
		std::printf("# RUN %s\n", t.name);
		switch (run(t)) {
		case 0:
			ksft_test_result_pass("%s\n", t.name);
			break;
		case KSFT_SKIP:
			ksft_test_result_skip("%s\n", t.name);
			break;
		default:
			ksft_test_result_fail("%s\n", t.name);
		}
	}
	ksft_finished();
}
