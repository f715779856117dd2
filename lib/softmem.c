// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libsoftmem: a thin C binding of the /dev/softmem ioctls.
 *
 * Each function fills the command's struct (with .size set to the size this
 * library was built with), issues the ioctl and returns 0 (softmem_export():
 * the new descriptor) or a negative errno.  errno itself is left as the
 * ioctl left it; callers must not rely on it.  Suspend and resume on a pool
 * set up with softmem_lockfree() go through its state words (words.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "softmem.h"
#include "words.h"

#define SOFTMEM_EXPORT __attribute__((visibility("default")))

#define SOFTMEM_DEFAULT_DEVICE "/dev/softmem"

/* Issue one softmem ioctl; 0 or -errno, never a positive value. */
static int softmem_ioctl(int pool, unsigned long request, void *arg)
{
	int ret = ioctl(pool, request, arg);

	if (ret < 0)
		return errno > 0 ? -errno : -EIO;
	return ret ? -EPROTO : 0;
}

SOFTMEM_EXPORT int softmem_open(void)
{
	const char *path = getenv("SOFTMEM_DEVICE");
	int fd;

	if (!path || !*path)
		path = SOFTMEM_DEFAULT_DEVICE;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno > 0 ? -errno : -EIO;
	/* Words of a pool this number named before, closed with close(). */
	softmem_words_remove(fd);
	return fd;
}

SOFTMEM_EXPORT int softmem_close(int pool)
{
	softmem_words_remove(pool);
	/* Linux releases the descriptor even when close() fails. */
	if (close(pool) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

SOFTMEM_EXPORT int softmem_set_limit(int pool, uint64_t limit_bytes)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_CONFIGURE_LIMIT,
		.limit_bytes = limit_bytes,
	};

	return softmem_ioctl(pool, SOFTMEM_IOC_CONFIGURE, &arg);
}

SOFTMEM_EXPORT int softmem_set_policy(int pool, unsigned int policy)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_CONFIGURE_POLICY,
		.policy = policy,
	};

	return softmem_ioctl(pool, SOFTMEM_IOC_CONFIGURE, &arg);
}

SOFTMEM_EXPORT int softmem_lockfree(int pool, uint32_t max_handles)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_CONFIGURE_WORDS,
	};
	size_t length;
	void *words;
	int ret;

	if (max_handles >= SOFTMEM_MAX_WORDS)
		return -EINVAL;
	arg.nr_words = max_handles + 1;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_CONFIGURE, &arg);
	if (ret)
		return ret;
	length = (size_t)arg.nr_words * sizeof(uint64_t);
	words = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, pool, 0);
	if (words == MAP_FAILED)
		return errno > 0 ? -errno : -EIO;
	ret = softmem_words_add(pool, words, arg.nr_words);
	if (ret)
		munmap(words, length);
	return ret;
}

SOFTMEM_EXPORT int softmem_stats(int pool, struct softmem_stats *stats)
{
	struct softmem_stats arg = {
		.size = sizeof(arg),
	};
	int ret;

	if (!stats)
		return -EFAULT;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_STATS, &arg);
	if (!ret)
		*stats = arg;
	return ret;
}

SOFTMEM_EXPORT int softmem_node_stats(int pool, unsigned int node,
				      struct softmem_node_stats *stats)
{
	struct softmem_node_stats arg = {
		.size = sizeof(arg),
		.node = node,
	};
	int ret;

	if (!stats)
		return -EFAULT;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_NODE_STATS, &arg);
	if (!ret)
		*stats = arg;
	return ret;
}

static int softmem_alloc_flags(int pool, uint64_t length, uint32_t flags,
			       uint32_t node, uint32_t priority,
			       uint64_t *handle)
{
	struct softmem_alloc arg = {
		.size = sizeof(arg),
		.flags = flags,
		.length = length,
		.node = node,
		.priority = priority,
	};
	int ret;

	if (!handle)
		return -EFAULT;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_ALLOC, &arg);
	if (!ret)
		*handle = arg.handle;
	return ret;
}

SOFTMEM_EXPORT int softmem_alloc(int pool, uint64_t length, uint64_t *handle)
{
	return softmem_alloc_flags(pool, length, 0, 0, 0, handle);
}

SOFTMEM_EXPORT int softmem_alloc_on_node(int pool, uint64_t length,
					 unsigned int node, uint64_t *handle)
{
	return softmem_alloc_flags(pool, length, SOFTMEM_ALLOC_NODE, node, 0,
				   handle);
}

SOFTMEM_EXPORT int softmem_alloc_huge(int pool, uint64_t length,
				      uint64_t *handle)
{
	return softmem_alloc_flags(pool, length, SOFTMEM_ALLOC_HUGE, 0, 0,
				   handle);
}

SOFTMEM_EXPORT int softmem_alloc_priority(int pool, uint64_t length,
					  unsigned int priority,
					  uint64_t *handle)
{
	return softmem_alloc_flags(pool, length, SOFTMEM_ALLOC_PRIORITY, 0,
				   priority, handle);
}

SOFTMEM_EXPORT int softmem_set_priority(int pool, uint64_t handle,
					unsigned int priority)
{
	struct softmem_set_priority arg = {
		.size = sizeof(arg),
		.handle = handle,
		.priority = priority,
	};

	return softmem_ioctl(pool, SOFTMEM_IOC_SET_PRIORITY, &arg);
}

SOFTMEM_EXPORT int softmem_free(int pool, uint64_t handle)
{
	struct softmem_free arg = {
		.size = sizeof(arg),
		.handle = handle,
	};

	return softmem_ioctl(pool, SOFTMEM_IOC_FREE, &arg);
}

SOFTMEM_EXPORT int softmem_suspend(int pool, uint64_t handle)
{
	struct softmem_suspend arg = {
		.size = sizeof(arg),
		.handle = handle,
	};
	int ret = softmem_words_suspend(pool, handle);

	if (ret != SOFTMEM_WORDS_ASK_KERNEL)
		return ret;
	return softmem_ioctl(pool, SOFTMEM_IOC_SUSPEND, &arg);
}

SOFTMEM_EXPORT int softmem_resume(int pool, uint64_t handle, bool *discarded)
{
	struct softmem_resume arg = {
		.size = sizeof(arg),
		.handle = handle,
	};
	int ret = softmem_words_resume(pool, handle, discarded);

	if (ret != SOFTMEM_WORDS_ASK_KERNEL)
		return ret;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_RESUME, &arg);
	if (ret)
		return ret;
	if (arg.state != SOFTMEM_INTACT && arg.state != SOFTMEM_DISCARDED)
		return -EPROTO;
	if (discarded)
		*discarded = arg.state == SOFTMEM_DISCARDED;
	return 0;
}

static int softmem_rw(int pool, unsigned long request, uint64_t handle,
		      uint64_t offset, uintptr_t addr, size_t length)
{
	struct softmem_rw arg = {
		.size = sizeof(arg),
		.handle = handle,
		.offset = offset,
		.length = length,
		.addr = addr,
	};

	return softmem_ioctl(pool, request, &arg);
}

SOFTMEM_EXPORT int softmem_read(int pool, uint64_t handle, uint64_t offset,
				void *buf, size_t length)
{
	return softmem_rw(pool, SOFTMEM_IOC_READ, handle, offset,
			  (uintptr_t)buf, length);
}

SOFTMEM_EXPORT int softmem_write(int pool, uint64_t handle, uint64_t offset,
				 const void *buf, size_t length)
{
	return softmem_rw(pool, SOFTMEM_IOC_WRITE, handle, offset,
			  (uintptr_t)buf, length);
}

static int softmem_copy_range(int pool, unsigned long request, uint64_t dst,
			      uint64_t dst_offset, uint64_t src,
			      uint64_t src_offset, uint64_t length)
{
	struct softmem_copy arg = {
		.size = sizeof(arg),
		.dst_handle = dst,
		.dst_offset = dst_offset,
		.src_handle = src,
		.src_offset = src_offset,
		.length = length,
	};

	return softmem_ioctl(pool, request, &arg);
}

SOFTMEM_EXPORT int softmem_copy(int pool, uint64_t dst, uint64_t dst_offset,
				uint64_t src, uint64_t src_offset,
				uint64_t length)
{
	return softmem_copy_range(pool, SOFTMEM_IOC_COPY, dst, dst_offset,
				  src, src_offset, length);
}

SOFTMEM_EXPORT int softmem_move(int pool, uint64_t dst, uint64_t dst_offset,
				uint64_t src, uint64_t src_offset,
				uint64_t length)
{
	return softmem_copy_range(pool, SOFTMEM_IOC_MOVE, dst, dst_offset,
				  src, src_offset, length);
}

SOFTMEM_EXPORT int softmem_set(int pool, uint64_t handle, uint64_t offset,
			       int value, uint64_t length)
{
	struct softmem_set arg = {
		.size = sizeof(arg),
		.handle = handle,
		.offset = offset,
		.length = length,
		.value = (uint32_t)value,
	};

	return softmem_ioctl(pool, SOFTMEM_IOC_SET, &arg);
}

static int softmem_compare_cmd(int pool, struct softmem_compare *arg,
			       int *result)
{
	int ret;

	if (!result)
		return -EFAULT;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_COMPARE, arg);
	if (!ret)
		*result = arg->result;
	return ret;
}

SOFTMEM_EXPORT int softmem_compare(int pool, uint64_t handle, uint64_t offset,
				   uint64_t other, uint64_t other_offset,
				   uint64_t length, int *result)
{
	struct softmem_compare arg = {
		.size = sizeof(arg),
		.handle = handle,
		.offset = offset,
		.other_handle = other,
		.other_offset = other_offset,
		.length = length,
	};

	return softmem_compare_cmd(pool, &arg, result);
}

SOFTMEM_EXPORT int softmem_compare_buf(int pool, uint64_t handle,
				       uint64_t offset, const void *buf,
				       size_t length, int *result)
{
	struct softmem_compare arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_COMPARE_USER,
		.handle = handle,
		.offset = offset,
		.addr = (uintptr_t)buf,
		.length = length,
	};

	return softmem_compare_cmd(pool, &arg, result);
}

SOFTMEM_EXPORT int softmem_find(int pool, uint64_t handle, uint64_t offset,
				uint64_t length, int value, int64_t *position)
{
	struct softmem_find arg = {
		.size = sizeof(arg),
		.handle = handle,
		.offset = offset,
		.length = length,
		.value = (uint32_t)value,
	};
	int ret;

	if (!position)
		return -EFAULT;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_FIND, &arg);
	if (!ret)
		*position = arg.position;
	return ret;
}

SOFTMEM_EXPORT int softmem_export(int pool, uint64_t handle,
				  unsigned int flags)
{
	struct softmem_export arg = {
		.size = sizeof(arg),
		.flags = flags,
		.handle = handle,
	};
	int ret;

	ret = softmem_ioctl(pool, SOFTMEM_IOC_EXPORT, &arg);
	if (ret)
		return ret;
	if (arg.fd > INT_MAX)
		return -EPROTO;
	return (int)arg.fd;
}

SOFTMEM_EXPORT int softmem_batch(int pool, struct softmem_batch_entry *entries,
				 unsigned int count, unsigned int *done)
{
	struct softmem_batch arg = {
		.size = sizeof(arg),
		.entries = (uintptr_t)entries,
		.count = count,
		.entry_size = sizeof(*entries),
	};
	int ret = softmem_ioctl(pool, SOFTMEM_IOC_BATCH, &arg);

	/* How far it got, also when it stopped early (0 if it did not run). */
	if (done)
		*done = arg.done;
	return ret;
}

SOFTMEM_EXPORT int softmem_import(int pool, int fd, uint64_t *handle,
				  uint64_t *length)
{
	struct softmem_import arg = {
		.size = sizeof(arg),
		.fd = (uint32_t)fd,
	};
	int ret;

	if (!handle)
		return -EFAULT;
	ret = softmem_ioctl(pool, SOFTMEM_IOC_IMPORT, &arg);
	if (ret)
		return ret;
	*handle = arg.handle;
	if (length)
		*length = arg.length;
	return 0;
}

/*
 * mmap(MAP_SHARED) of a close-on-exec export of the region; the mapping
 * keeps the region alive, so the descriptor is closed at once.
 */
SOFTMEM_EXPORT int softmem_map(int pool, uint64_t handle, uint64_t offset,
			       size_t length, int prot, void **addr)
{
	off_t off = (off_t)offset;
	void *map;
	int fd, ret = 0;

	if (!addr)
		return -EFAULT;
	if (off < 0 || (uint64_t)off != offset)
		return -EINVAL;
	fd = softmem_export(pool, handle, 0);
	if (fd < 0)
		return fd;
	map = mmap(NULL, length, prot, MAP_SHARED, fd, off);
	if (map == MAP_FAILED)
		ret = errno > 0 ? -errno : -EIO;
	close(fd);
	if (!ret)
		*addr = map;
	return ret;
}
