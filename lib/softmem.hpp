// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * softmem.hpp: C++17 RAII over libsoftmem, header-only.
 *
 * A region is a *weak* reference to data the kernel may discard while it is
 * suspended; lock() makes a strong one, as std::weak_ptr::lock() does:
 *
 *	softmem::pool pool;				// opens /dev/softmem
 *	softmem::region r = pool.alloc(len);		// resumed, zeros
 *	r.lock().write(0, data, len);			// suspended again after
 *	...
 *	if (auto g = r.lock()) {			// resumed while g lives
 *		g.read(0, out, len);			// contents survived
 *	} else {					// discarded: g holds it
 *		rebuild(out, len);			// resumed and empty, so
 *		g.write(0, out, len);			// refill it in place
 *	}						// g ends: suspended
 *
 * Unlike an empty std::shared_ptr, a guard whose contents were lost still
 * holds the region resumed: the loss has been acknowledged, the region reads
 * as zeros and can be refilled through the same guard.  Refill it (or free
 * the region): the next lock() reports it intact, zeros and all.
 *
 * Errors are exceptions: every call that fails throws std::system_error whose
 * code() is the errno in std::generic_category() (e.code() ==
 * std::errc::not_enough_memory) and whose what() names the libsoftmem
 * function.  Destructors never throw; their errors are ignored.
 *
 * Ownership and lifetime:
 * - pool, region, guard and mapping are move-only; a moved-from object is
 *   empty and its destructor does nothing.
 * - ~pool() closes the pool, which frees every region in it: destroy the
 *   regions first (declare them after the pool).  A region must not be used
 *   after its pool is closed.
 * - ~region() frees the region.  A region may be moved while guards on it
 *   live (they refer to a small heap block that does not move); freed while
 *   guards live, it is freed at once and their operations throw ENOENT.
 * - Guards nest: the first lock() of a region resumes it and reports whether
 *   the contents survived, later ones while it is held report intact, and the
 *   region is suspended when the last guard ends.
 * - A mapping (region::map()) does not hold the region resumed: touch it
 *   only while a guard lives, or a discard makes it raise SIGBUS.
 * - Objects are not synchronized: one thread at a time per region and its
 *   guards, as for any standard container.
 *
 * See Documentation/userspace-api/softmem.rst and softmem(3).
 */
#ifndef SOFTMEM_HPP
#define SOFTMEM_HPP

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

/*
 * Each libsoftmem function has the name of its command's struct, which
 * -Wshadow reports in C++ ("hides constructor"): harmless, and not the
 * includer's business.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#include "softmem.h"
#pragma GCC diagnostic pop

namespace softmem {

namespace detail {

[[noreturn]] inline void throw_errno(int err, const char *what)
{
	throw std::system_error(err, std::generic_category(), what);
}

/* A libsoftmem return value: itself if >= 0, else thrown as its errno. */
inline int check(int ret, const char *what)
{
	if (ret < 0)
		throw_errno(-ret, what);
	return ret;
}

/*
 * What a region and its guards share; it does not move with the region, so
 * guards stay valid when the region is moved.  When the region goes while
 * guards live, it is left to the last guard to delete.
 */
struct region_state {
	int pool = -1;
	std::uint64_t handle = 0;
	std::uint64_t length = 0;
	unsigned int locks = 0;		// live guards
	bool freed = false;		// the region object is gone
};

} // namespace detail

/* A view of @size elements at @data: std::span's basics, for C++17. */
template <class T>
class span {
public:
	using element_type = T;
	using value_type = std::remove_cv_t<T>;
	using size_type = std::size_t;
	using pointer = T *;
	using reference = T &;
	using iterator = T *;

	constexpr span() noexcept = default;
	constexpr span(T *p, std::size_t n) noexcept : data_(p), size_(n)
	{
	}
	/* span<const T> from span<T>. */
	template <class U, std::enable_if_t<
		std::is_convertible_v<U (*)[], T (*)[]>, int> = 0>
	constexpr span(const span<U> &other) noexcept
		: data_(other.data()), size_(other.size())
	{
	}

	constexpr T *data() const noexcept { return data_; }
	constexpr std::size_t size() const noexcept { return size_; }
	constexpr std::size_t size_bytes() const noexcept
	{
		return size_ * sizeof(T);
	}
	constexpr bool empty() const noexcept { return !size_; }
	constexpr T *begin() const noexcept { return data_; }
	constexpr T *end() const noexcept { return data_ + size_; }
	constexpr T &operator[](std::size_t i) const noexcept
	{
		return data_[i];
	}
	/* @count elements from @offset (to the end by default), clamped. */
	constexpr span subspan(std::size_t offset,
			       std::size_t count = SIZE_MAX) const noexcept
	{
		if (offset > size_)
			offset = size_;
		if (count > size_ - offset)
			count = size_ - offset;
		return span(data_ + offset, count);
	}

private:
	T *data_ = nullptr;
	std::size_t size_ = 0;
};

/*
 * The C structs, by names C++ can use without "struct" (the libsoftmem
 * functions of the same names hide them).
 */
using pool_stats = struct ::softmem_stats;
using pool_node_stats = struct ::softmem_node_stats;

/* The order in which a pool's suspended regions are discarded. */
enum class policy : unsigned int {
	lru = SOFTMEM_POLICY_LRU,	// least recently suspended first
	fifo = SOFTMEM_POLICY_FIFO,	// first allocated first
};

class region;

/*
 * A mapping of (part of) a region, from region::map(): unmapped on
 * destruction.  It does not hold the region resumed (see the top of this
 * file).
 */
class mapping {
public:
	mapping() noexcept = default;
	mapping(const mapping &) = delete;
	mapping &operator=(const mapping &) = delete;
	mapping(mapping &&other) noexcept
		: addr_(std::exchange(other.addr_, nullptr)),
		  size_(std::exchange(other.size_, 0))
	{
	}
	mapping &operator=(mapping &&other) noexcept
	{
		if (this != &other) {
			reset();
			addr_ = std::exchange(other.addr_, nullptr);
			size_ = std::exchange(other.size_, 0);
		}
		return *this;
	}
	~mapping() { reset(); }

	void *get() const noexcept { return addr_; }
	std::byte *data() const noexcept
	{
		return static_cast<std::byte *>(addr_);
	}
	std::size_t size() const noexcept { return size_; }
	bool empty() const noexcept { return !addr_; }
	explicit operator bool() const noexcept { return addr_; }

	span<std::byte> bytes() const noexcept { return { data(), size_ }; }
	/* The mapping as whole Ts (a trailing part of a T is left out). */
	template <class T>
	span<T> as() const noexcept
	{
		static_assert(std::is_trivially_copyable_v<T>,
			      "a mapping holds plain bytes");
		return { static_cast<T *>(addr_), size_ / sizeof(T) };
	}

	/* munmap() now; errors are ignored (as by the destructor). */
	void reset() noexcept
	{
		if (addr_)
			munmap(addr_, size_);
		addr_ = nullptr;
		size_ = 0;
	}

private:
	friend class region;
	mapping(void *addr, std::size_t size) noexcept
		: addr_(addr), size_(size)
	{
	}

	void *addr_ = nullptr;
	std::size_t size_ = 0;
};

/*
 * A strong reference to a region, from region::lock(): the region is resumed
 * (and cannot be discarded) while the guard lives, and suspended when the
 * last guard of the region ends.  Data operations are here, not on the
 * region, so that they only ever touch a region known to be resumed.
 */
class guard {
public:
	guard() noexcept = default;
	guard(const guard &) = delete;
	guard &operator=(const guard &) = delete;
	guard(guard &&other) noexcept
		: s_(std::exchange(other.s_, nullptr)),
		  intact_(std::exchange(other.intact_, false))
	{
	}
	guard &operator=(guard &&other) noexcept
	{
		if (this != &other) {
			release(true);
			s_ = std::exchange(other.s_, nullptr);
			intact_ = std::exchange(other.intact_, false);
		}
		return *this;
	}
	~guard() { release(true); }

	/* Whether the guard holds a region. */
	bool owns_lock() const noexcept { return s_; }
	/* The contents survived: what was written before is there. */
	bool intact() const noexcept { return s_ && intact_; }
	/* They were discarded: the region is resumed and reads as zeros. */
	bool discarded() const noexcept { return s_ && !intact_; }
	/* intact(): "if (auto g = r.lock())" uses the data, "else" refills. */
	explicit operator bool() const noexcept { return intact(); }

	/*
	 * Suspend now (if this is the last guard of the region) and let go;
	 * throws if the suspend fails, and lets go anyway.
	 */
	void unlock() { release(false); }

	std::uint64_t handle() const { return state("handle")->handle; }
	std::uint64_t length() const { return state("length")->length; }

	void read(std::uint64_t offset, void *buf, std::size_t length) const
	{
		const detail::region_state *s = state("softmem_read");

		detail::check(softmem_read(s->pool, s->handle, offset, buf,
					   length), "softmem_read");
	}
	/* @length bytes from @offset as a string. */
	std::string read(std::uint64_t offset, std::size_t length) const
	{
		std::string out(length, '\0');

		read(offset, out.data(), length);
		return out;
	}
	void write(std::uint64_t offset, const void *buf, std::size_t length)
	{
		const detail::region_state *s = state("softmem_write");

		detail::check(softmem_write(s->pool, s->handle, offset, buf,
					    length), "softmem_write");
	}
	void write(std::uint64_t offset, std::string_view data)
	{
		write(offset, data.data(), data.size());
	}
	/* memset(): @length bytes from @offset to @value (0 allocates nothing). */
	void fill(std::uint64_t offset, unsigned char value,
		  std::uint64_t length)
	{
		const detail::region_state *s = state("softmem_set");

		detail::check(softmem_set(s->pool, s->handle, offset, value,
					  length), "softmem_set");
	}
	/* A T stored at @offset (as its bytes). */
	template <class T>
	T load(std::uint64_t offset) const
	{
		static_assert(std::is_trivially_copyable_v<T> &&
			      std::is_default_constructible_v<T>,
			      "load() copies bytes");
		T value{};

		read(offset, &value, sizeof(value));
		return value;
	}
	template <class T>
	void store(std::uint64_t offset, const T &value)
	{
		static_assert(std::is_trivially_copyable_v<T>,
			      "store() copies bytes");
		write(offset, &value, sizeof(value));
	}

private:
	friend class region;
	guard(detail::region_state *s, bool intact) noexcept
		: s_(s), intact_(intact)
	{
	}

	const detail::region_state *state(const char *what) const
	{
		if (!s_)
			detail::throw_errno(EINVAL, what);	// no region
		if (s_->freed)
			detail::throw_errno(ENOENT, what);	// freed under us
		return s_;
	}

	void release(bool quiet)
	{
		detail::region_state *s = std::exchange(s_, nullptr);
		int ret = 0;

		intact_ = false;
		if (!s || --s->locks)
			return;
		if (s->freed) {
			delete s;		// the region went first
			return;
		}
		ret = softmem_suspend(s->pool, s->handle);
		if (ret < 0 && !quiet)
			detail::throw_errno(-ret, "softmem_suspend");
	}

	detail::region_state *s_ = nullptr;
	bool intact_ = false;
};

/*
 * A weak reference to a region of a pool: freed on destruction.  Its data
 * is reached through lock().
 */
class region {
public:
	region() noexcept = default;
	region(const region &) = delete;
	region &operator=(const region &) = delete;
	region(region &&other) noexcept = default;
	region &operator=(region &&other) noexcept
	{
		if (this != &other) {
			reset();
			s_ = std::move(other.s_);
		}
		return *this;
	}
	~region() { reset(); }

	/*
	 * Resume the region and hold it resumed: a guard that tells whether
	 * the contents survived (see guard).  Throws on error, e.g. ENOENT if
	 * the region was freed behind this object's back.
	 */
	[[nodiscard]] guard lock()
	{
		detail::region_state *s = state("softmem_resume");
		bool discarded = false;

		if (s->locks) {
			++s->locks;		// already resumed by a guard
			return guard(s, true);
		}
		detail::check(softmem_resume(s->pool, s->handle, &discarded),
			      "softmem_resume");
		++s->locks;
		return guard(s, !discarded);
	}

	bool empty() const noexcept { return !s_; }
	/* Whether a guard of this region lives. */
	bool locked() const noexcept { return s_ && s_->locks; }
	int pool_fd() const noexcept { return s_ ? s_->pool : -1; }
	std::uint64_t handle() const noexcept { return s_ ? s_->handle : 0; }
	/* Bytes: as allocated, or (imported) the region's page-rounded length. */
	std::uint64_t length() const noexcept { return s_ ? s_->length : 0; }

	/* Its class among SOFTMEM_NR_PRIORITIES (0 goes first). */
	void set_priority(unsigned int priority)
	{
		const detail::region_state *s = state("softmem_set_priority");

		detail::check(softmem_set_priority(s->pool, s->handle,
						   priority),
			      "softmem_set_priority");
	}

	/*
	 * A new descriptor for the region, to pass to another process for
	 * pool::import(); the caller closes it.  Close-on-exec unless @flags
	 * has SOFTMEM_EXPORT_NO_CLOEXEC.
	 */
	[[nodiscard]] int export_fd(unsigned int flags = 0) const
	{
		const detail::region_state *s = state("softmem_export");

		return detail::check(softmem_export(s->pool, s->handle, flags),
				     "softmem_export");
	}

	/*
	 * mmap(MAP_SHARED) @length bytes from @offset (a multiple of the page
	 * size); by default all of the region.  Touch it only while a guard
	 * lives.
	 */
	[[nodiscard]] mapping map(std::uint64_t offset = 0,
				  std::size_t length = SIZE_MAX,
				  int prot = PROT_READ | PROT_WRITE) const
	{
		const detail::region_state *s = state("softmem_map");
		void *addr = nullptr;

		if (length == SIZE_MAX)
			length = offset < s->length ?
				 static_cast<std::size_t>(s->length - offset) : 0;
		detail::check(softmem_map(s->pool, s->handle, offset, length,
					  prot, &addr), "softmem_map");
		return mapping(addr, length);
	}

	/* Free the region now; errors are ignored (as by the destructor). */
	void reset() noexcept
	{
		if (!s_)
			return;
		softmem_free(s_->pool, s_->handle);
		if (s_->locks) {
			s_->freed = true;	// the last guard deletes it
			(void)s_.release();
		}
		s_.reset();
	}

	/* Let go of the handle without freeing it: it is the caller's. */
	std::uint64_t release() noexcept
	{
		std::uint64_t handle = 0;

		if (!s_)
			return 0;
		handle = s_->handle;
		if (s_->locks) {
			s_->freed = true;	// the last guard deletes it
			(void)s_.release();
		}
		s_.reset();
		return handle;
	}

private:
	friend class pool;
	explicit region(std::unique_ptr<detail::region_state> s) noexcept
		: s_(std::move(s))
	{
	}

	detail::region_state *state(const char *what) const
	{
		if (!s_)
			detail::throw_errno(EINVAL, what);	// empty region
		return s_.get();
	}

	std::unique_ptr<detail::region_state> s_;
};

/* A pool: an open /dev/softmem, closed on destruction. */
class pool {
public:
	/* softmem_open(): /dev/softmem, or $SOFTMEM_DEVICE. */
	pool() : fd_(detail::check(softmem_open(), "softmem_open")) {}
	pool(const pool &) = delete;
	pool &operator=(const pool &) = delete;
	pool(pool &&other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
	pool &operator=(pool &&other) noexcept
	{
		if (this != &other) {
			reset();
			fd_ = std::exchange(other.fd_, -1);
		}
		return *this;
	}
	~pool() { reset(); }

	/* Take ownership of descriptor @fd of an open /dev/softmem. */
	static pool adopt(int fd) noexcept { return pool(fd, 0); }

	int fd() const noexcept { return fd_; }
	explicit operator bool() const noexcept { return fd_ >= 0; }
	/* Let go of the descriptor without closing it: it is the caller's. */
	int release() noexcept { return std::exchange(fd_, -1); }
	/* Close now (freeing every region in the pool); errors are ignored. */
	void reset() noexcept
	{
		if (fd_ >= 0)
			softmem_close(fd_);
		fd_ = -1;
	}

	void set_limit(std::uint64_t limit_bytes)
	{
		detail::check(softmem_set_limit(checked_fd("softmem_set_limit"),
						limit_bytes),
			      "softmem_set_limit");
	}
	/* Only while the pool has no region (else EBUSY). */
	void set_policy(softmem::policy p)
	{
		detail::check(softmem_set_policy(checked_fd("softmem_set_policy"),
						 static_cast<unsigned int>(p)),
			      "softmem_set_policy");
	}
	pool_stats stats() const
	{
		pool_stats st;

		std::memset(&st, 0, sizeof(st));
		detail::check(softmem_stats(checked_fd("softmem_stats"), &st),
			      "softmem_stats");
		return st;
	}
	pool_node_stats node_stats(unsigned int node) const
	{
		pool_node_stats st;

		std::memset(&st, 0, sizeof(st));
		detail::check(softmem_node_stats(checked_fd("softmem_node_stats"),
						 node, &st),
			      "softmem_node_stats");
		return st;
	}

	/* A new region of @length bytes: resumed, reading as zeros. */
	[[nodiscard]] region alloc(std::uint64_t length)
	{
		auto s = new_state(length, "softmem_alloc");

		detail::check(softmem_alloc(fd_, length, &s->handle),
			      "softmem_alloc");
		return region(std::move(s));
	}
	/* ... in priority class @priority (see softmem_alloc_priority(3)). */
	[[nodiscard]] region alloc(std::uint64_t length, unsigned int priority)
	{
		auto s = new_state(length, "softmem_alloc_priority");

		detail::check(softmem_alloc_priority(fd_, length, priority,
						     &s->handle),
			      "softmem_alloc_priority");
		return region(std::move(s));
	}
	/* ... backed by huge pages where it can be (softmem_alloc_huge(3)). */
	[[nodiscard]] region alloc_huge(std::uint64_t length)
	{
		auto s = new_state(length, "softmem_alloc_huge");

		detail::check(softmem_alloc_huge(fd_, length, &s->handle),
			      "softmem_alloc_huge");
		return region(std::move(s));
	}
	/* ... whose pages will be on NUMA node @node. */
	[[nodiscard]] region alloc_on_node(std::uint64_t length,
					   unsigned int node)
	{
		auto s = new_state(length, "softmem_alloc_on_node");

		detail::check(softmem_alloc_on_node(fd_, length, node,
						    &s->handle),
			      "softmem_alloc_on_node");
		return region(std::move(s));
	}
	/*
	 * A region from a descriptor of region::export_fd() (the descriptor
	 * stays the caller's).  It starts suspended: its first lock() tells
	 * whether the data is still there.
	 */
	[[nodiscard]] region import(int fd)
	{
		auto s = new_state(0, "softmem_import");

		detail::check(softmem_import(fd_, fd, &s->handle, &s->length),
			      "softmem_import");
		return region(std::move(s));
	}

private:
	pool(int fd, int) noexcept : fd_(fd) {}

	int checked_fd(const char *what) const
	{
		if (fd_ < 0)
			detail::throw_errno(EBADF, what);
		return fd_;
	}

	/* Allocated before the region, so that nothing leaks if this fails. */
	std::unique_ptr<detail::region_state> new_state(std::uint64_t length,
							const char *what)
	{
		auto s = std::make_unique<detail::region_state>();

		s->pool = checked_fd(what);
		s->length = length;
		return s;
	}

	int fd_ = -1;
};

} // namespace softmem

#endif /* SOFTMEM_HPP */
