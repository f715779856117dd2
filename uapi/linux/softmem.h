/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * softmem: discardable memory regions.
 *
 * Each open() of /dev/softmem creates a pool.  A pool holds regions: page
 * rounded byte ranges named by a handle.  A suspended region may be
 * discarded by the kernel under memory pressure; resuming it reports, atomically
 * with respect to reclaim, whether its contents survived.  Data is reached by
 * (handle, offset, length), never by address.
 *
 * Every command takes a struct that starts with @size and @flags.  User space
 * sets @size to sizeof() the struct it was built with: an older, shorter
 * struct reads the missing fields as zero, a newer, longer one is accepted when
 * the bytes the kernel does not know are zero (else E2BIG).  Unknown flags and
 * nonzero reserved fields fail with EINVAL.  Results are returned in the
 * struct, never as a positive ioctl() return value.
 */
#ifndef _UAPI_LINUX_SOFTMEM_H
#define _UAPI_LINUX_SOFTMEM_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * define SOFTMEM_IOCTL_MAGIC - the ioctl type of every softmem command
 *
 * Not listed in Documentation/userspace-api/ioctl/ioctl-number.rst (6.12)
 * nor used by any uAPI header of 7.2.
 */
#define SOFTMEM_IOCTL_MAGIC	0xBB

/**
 * define SOFTMEM_MAX_LENGTH - largest region length, in bytes (1 TiB)
 */
#define SOFTMEM_MAX_LENGTH	_BITULL(40)

/**
 * enum softmem_cmd - ioctl command numbers, see SOFTMEM_IOC_*
 * @SOFTMEM_CMD_ALLOC: see &struct softmem_alloc
 * @SOFTMEM_CMD_FREE: see &struct softmem_free
 * @SOFTMEM_CMD_SUSPEND: see &struct softmem_suspend
 * @SOFTMEM_CMD_RESUME: see &struct softmem_resume
 * @SOFTMEM_CMD_READ: see &struct softmem_rw
 * @SOFTMEM_CMD_WRITE: see &struct softmem_rw
 * @SOFTMEM_CMD_COPY: see &struct softmem_copy
 * @SOFTMEM_CMD_MOVE: see &struct softmem_copy
 * @SOFTMEM_CMD_SET: see &struct softmem_set
 * @SOFTMEM_CMD_COMPARE: see &struct softmem_compare
 * @SOFTMEM_CMD_FIND: see &struct softmem_find
 * @SOFTMEM_CMD_STATS: see &struct softmem_stats
 * @SOFTMEM_CMD_CONFIGURE: see &struct softmem_configure
 * @SOFTMEM_CMD_NODE_STATS: see &struct softmem_node_stats
 * @SOFTMEM_CMD_SET_PRIORITY: see &struct softmem_set_priority
 * @SOFTMEM_CMD_EXPORT: see &struct softmem_export
 * @SOFTMEM_CMD_IMPORT: see &struct softmem_import
 * @SOFTMEM_CMD_BATCH: see &struct softmem_batch
 */
enum softmem_cmd {
	SOFTMEM_CMD_ALLOC = 0x00,
	SOFTMEM_CMD_FREE,
	SOFTMEM_CMD_SUSPEND,
	SOFTMEM_CMD_RESUME,
	SOFTMEM_CMD_READ,
	SOFTMEM_CMD_WRITE,
	SOFTMEM_CMD_COPY,
	SOFTMEM_CMD_MOVE,
	SOFTMEM_CMD_SET,
	SOFTMEM_CMD_COMPARE,
	SOFTMEM_CMD_FIND,
	SOFTMEM_CMD_STATS,
	SOFTMEM_CMD_CONFIGURE,
	SOFTMEM_CMD_NODE_STATS,
	SOFTMEM_CMD_SET_PRIORITY,
	SOFTMEM_CMD_EXPORT,
	SOFTMEM_CMD_IMPORT,
	SOFTMEM_CMD_BATCH,
};

/**
 * define SOFTMEM_ALLOC_NODE - place the region's pages on &softmem_alloc.node
 *
 * Without it, pages follow the memory policy of the task that first writes
 * them (numactl --membind works as for anonymous memory).
 */
#define SOFTMEM_ALLOC_NODE		_BITUL(0)
/**
 * define SOFTMEM_ALLOC_PRIORITY - put the region in priority class
 *	&softmem_alloc.priority instead of %SOFTMEM_PRIORITY_DEFAULT
 */
#define SOFTMEM_ALLOC_PRIORITY		_BITUL(1)
/**
 * define SOFTMEM_ALLOC_HUGE - back the region with huge pages where the
 *	allocator can give them
 *
 * The region is cut into chunks of the size a PMD maps (2 MiB on x86-64)
 * from offset 0.  The first write to a chunk decides how it is backed: by
 * one huge page if the allocator has one at once (no heavy compaction, no
 * OOM killer), else by base pages as without the flag.  A chunk at the
 * region's end shorter than that is always base pages.  A huge chunk is
 * resident as a whole (it counts its full size in &softmem_stats), reads as
 * zeros where it was never written, and is discarded as a whole with its
 * region.  Mappings of the region map huge chunks with one PMD where the
 * kernel allows it and the mapping is aligned to the chunk size.
 */
#define SOFTMEM_ALLOC_HUGE		_BITUL(2)
/**
 * define SOFTMEM_ALLOC_VALID_FLAGS - every flag &struct softmem_alloc knows
 */
#define SOFTMEM_ALLOC_VALID_FLAGS	(SOFTMEM_ALLOC_NODE | \
					 SOFTMEM_ALLOC_PRIORITY | \
					 SOFTMEM_ALLOC_HUGE)

/**
 * define SOFTMEM_NR_PRIORITIES - number of priority classes
 *
 * Reclaim, the pool limit and the manager discard suspended regions of the
 * lowest class first, in every pool, before any region of a higher class;
 * within a class, in the order of each pool's policy (see
 * &enum softmem_policy).
 */
#define SOFTMEM_NR_PRIORITIES		4
/**
 * define SOFTMEM_PRIORITY_DEFAULT - the class of a region allocated without
 *	%SOFTMEM_ALLOC_PRIORITY: the highest, discarded last
 */
#define SOFTMEM_PRIORITY_DEFAULT	(SOFTMEM_NR_PRIORITIES - 1)

/**
 * struct softmem_alloc - create a region (SOFTMEM_IOC_ALLOC)
 * @size: sizeof(struct softmem_alloc)
 * @flags: SOFTMEM_ALLOC_* flags
 * @length: length in bytes, 1 to %SOFTMEM_MAX_LENGTH; rounded up to pages
 * @node: NUMA node for the pages when @flags has %SOFTMEM_ALLOC_NODE, else 0
 * @priority: priority class, below %SOFTMEM_NR_PRIORITIES, when @flags has
 *	%SOFTMEM_ALLOC_PRIORITY, else 0
 * @handle: output: the new region's handle, never 0, unique in the pool
 *
 * The region starts resumed and reads as zeros.  Its pages are allocated on
 * first write and charged to the memory cgroup of the writer.
 */
struct softmem_alloc {
	__u32 size;
	__u32 flags;
	__u64 length;
	__u32 node;
	__u32 priority;
	__u64 handle;
};

/**
 * struct softmem_free - free a region and its pages (SOFTMEM_IOC_FREE)
 * @size: sizeof(struct softmem_free)
 * @flags: must be 0
 * @handle: the region
 */
struct softmem_free {
	__u32 size;
	__u32 flags;
	__u64 handle;
};

/**
 * struct softmem_suspend - make a region discardable (SOFTMEM_IOC_SUSPEND)
 * @size: sizeof(struct softmem_suspend)
 * @flags: must be 0
 * @handle: the region
 *
 * Constant time whatever the region's length.  Suspending a suspended or a
 * discarded region changes nothing.
 */
struct softmem_suspend {
	__u32 size;
	__u32 flags;
	__u64 handle;
};

/**
 * enum softmem_resume_state - what &softmem_resume.state reports
 * @SOFTMEM_INTACT: the contents survived (or the region was not suspended)
 * @SOFTMEM_DISCARDED: the contents were discarded; the region now reads as
 *	zeros and is in use again
 */
enum softmem_resume_state {
	SOFTMEM_INTACT = 1,
	SOFTMEM_DISCARDED = 2,
};

/**
 * struct softmem_resume - take a region back into use (SOFTMEM_IOC_RESUME)
 * @size: sizeof(struct softmem_resume)
 * @flags: must be 0
 * @handle: the region
 * @state: output: &enum softmem_resume_state
 * @__reserved: must be 0
 *
 * Atomic with respect to reclaim: once it returns %SOFTMEM_INTACT the region
 * can no longer be discarded until it is suspended again.  Resuming a
 * discarded region acknowledges the loss; data operations fail with ESTALE
 * until then.
 */
struct softmem_resume {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u32 state;
	__u32 __reserved;
};

/**
 * struct softmem_rw - copy between a region and user memory
 * @size: sizeof(struct softmem_rw)
 * @flags: must be 0
 * @handle: the region
 * @offset: byte offset in the region
 * @length: bytes to copy; @offset + @length must not pass the region's end
 * @addr: user buffer (a pointer cast to __u64)
 *
 * SOFTMEM_IOC_READ copies region bytes to @addr, SOFTMEM_IOC_WRITE copies
 * @addr into the region.  Like every data operation, it implicitly resumes a
 * suspended, intact region and fails with ESTALE on a discarded one.
 */
struct softmem_rw {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u64 offset;
	__u64 length;
	__u64 addr;
};

/**
 * struct softmem_copy - copy bytes between two regions of the pool
 * @size: sizeof(struct softmem_copy)
 * @flags: must be 0
 * @dst_handle: destination region
 * @dst_offset: byte offset in the destination
 * @src_handle: source region (may equal @dst_handle)
 * @src_offset: byte offset in the source
 * @length: bytes to copy
 *
 * SOFTMEM_IOC_COPY is memcpy(): overlapping ranges of one region fail with
 * EINVAL, whether one handle or two name it.  SOFTMEM_IOC_MOVE is
 * memmove(): ranges may overlap.
 */
struct softmem_copy {
	__u32 size;
	__u32 flags;
	__u64 dst_handle;
	__u64 dst_offset;
	__u64 src_handle;
	__u64 src_offset;
	__u64 length;
};

/**
 * struct softmem_set - fill a range with one byte (SOFTMEM_IOC_SET)
 * @size: sizeof(struct softmem_set)
 * @flags: must be 0
 * @handle: the region
 * @offset: byte offset in the region
 * @length: bytes to fill
 * @value: the byte, 0 to 255
 * @__reserved: must be 0
 */
struct softmem_set {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u64 offset;
	__u64 length;
	__u32 value;
	__u32 __reserved;
};

/**
 * define SOFTMEM_COMPARE_USER - compare with user memory at
 * &softmem_compare.addr instead of another region
 */
#define SOFTMEM_COMPARE_USER		_BITUL(0)
/**
 * define SOFTMEM_COMPARE_VALID_FLAGS - every flag &struct softmem_compare knows
 */
#define SOFTMEM_COMPARE_VALID_FLAGS	(SOFTMEM_COMPARE_USER)

/**
 * struct softmem_compare - memcmp() a region range (SOFTMEM_IOC_COMPARE)
 * @size: sizeof(struct softmem_compare)
 * @flags: SOFTMEM_COMPARE_* flags
 * @handle: the region
 * @offset: byte offset in the region
 * @other_handle: the region to compare with; 0 with %SOFTMEM_COMPARE_USER
 * @other_offset: byte offset in @other_handle; 0 with %SOFTMEM_COMPARE_USER
 * @addr: user buffer with %SOFTMEM_COMPARE_USER, else 0
 * @length: bytes to compare
 * @result: output: -1, 0 or 1 as the first differing byte of @handle is
 *	smaller, equal or greater (bytes compare as unsigned char)
 * @__reserved: must be 0
 */
struct softmem_compare {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u64 offset;
	__u64 other_handle;
	__u64 other_offset;
	__u64 addr;
	__u64 length;
	__s32 result;
	__u32 __reserved;
};

/**
 * struct softmem_find - memchr() in a region range (SOFTMEM_IOC_FIND)
 * @size: sizeof(struct softmem_find)
 * @flags: must be 0
 * @handle: the region
 * @offset: byte offset where the search starts
 * @length: bytes to search
 * @value: the byte to find, 0 to 255
 * @__reserved: must be 0
 * @position: output: region offset of the first match, or -1 if none
 */
struct softmem_find {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u64 offset;
	__u64 length;
	__u32 value;
	__u32 __reserved;
	__s64 position;
};

/**
 * struct softmem_stats - counters of the pool (SOFTMEM_IOC_STATS)
 * @size: sizeof(struct softmem_stats)
 * @flags: must be 0
 * @regions: output: regions in the pool
 * @length_bytes: output: sum of the regions' page-rounded lengths
 * @resident_bytes: output: bytes of pages allocated to the regions
 * @suspended_bytes: output: resident bytes in suspended regions: what
 *	reclaim may discard
 * @discarded_bytes: output: bytes discarded since the pool was created
 * @discard_events: output: regions discarded since the pool was created
 * @limit_bytes: output: the pool's limit on resident bytes
 * @policy: output: the pool's &enum softmem_policy
 * @__reserved: output: 0
 * @huge_bytes: output: resident bytes in huge pages, part of
 *	@resident_bytes (see %SOFTMEM_ALLOC_HUGE)
 *
 * The same counters, summed over every pool, are in
 * /sys/class/misc/softmem/stats/.
 */
struct softmem_stats {
	__u32 size;
	__u32 flags;
	__u64 regions;
	__u64 length_bytes;
	__u64 resident_bytes;
	__u64 suspended_bytes;
	__u64 discarded_bytes;
	__u64 discard_events;
	__u64 limit_bytes;
	__u32 policy;
	__u32 __reserved;
	__u64 huge_bytes;
};

/**
 * enum softmem_policy - the order in which a pool's suspended regions of one
 *	priority class are discarded
 * @SOFTMEM_POLICY_LRU: least recently suspended first (the default)
 * @SOFTMEM_POLICY_FIFO: first allocated first, whenever each was suspended;
 *	more exactly, in the order the regions got their first page since
 *	allocation or since their last discard (a region without pages has
 *	nothing to discard)
 *
 * Regions of different pools in one class are discarded in proportion to
 * what each pool has suspended, each pool's in the order of its policy.
 */
enum softmem_policy {
	SOFTMEM_POLICY_LRU = 0,
	SOFTMEM_POLICY_FIFO = 1,
};

/**
 * define SOFTMEM_CONFIGURE_LIMIT - set &softmem_configure.limit_bytes
 */
#define SOFTMEM_CONFIGURE_LIMIT		_BITUL(0)
/**
 * define SOFTMEM_CONFIGURE_POLICY - set &softmem_configure.policy; only
 *	while the pool has no region (EBUSY otherwise)
 */
#define SOFTMEM_CONFIGURE_POLICY	_BITUL(1)
/**
 * define SOFTMEM_CONFIGURE_WORDS - give the pool &softmem_configure.nr_words
 *	state words, for suspend and resume without a system call; only
 *	before the pool's first handle (EBUSY otherwise, and once set)
 */
#define SOFTMEM_CONFIGURE_WORDS		_BITUL(2)
/**
 * define SOFTMEM_CONFIGURE_VALID_FLAGS - every flag &struct softmem_configure
 * knows
 */
#define SOFTMEM_CONFIGURE_VALID_FLAGS	(SOFTMEM_CONFIGURE_LIMIT | \
					 SOFTMEM_CONFIGURE_POLICY | \
					 SOFTMEM_CONFIGURE_WORDS)

/**
 * define SOFTMEM_MAX_WORDS - the most state words a pool may have
 */
#define SOFTMEM_MAX_WORDS		_BITUL(24)

/**
 * struct softmem_configure - set pool parameters (SOFTMEM_IOC_CONFIGURE)
 * @size: sizeof(struct softmem_configure)
 * @flags: SOFTMEM_CONFIGURE_* flags: which fields to apply
 * @limit_bytes: with %SOFTMEM_CONFIGURE_LIMIT, the pool's limit on resident
 *	bytes, rounded down to pages; at most the module's pool_max_bytes
 *	parameter (EINVAL above it)
 * @policy: with %SOFTMEM_CONFIGURE_POLICY, the pool's &enum softmem_policy
 * @nr_words: with %SOFTMEM_CONFIGURE_WORDS, the number of state words, from
 *	2 to %SOFTMEM_MAX_WORDS and at most one more than the module's
 *	pool_max_regions parameter (EINVAL otherwise); 0 without the flag
 *
 * A write that would take the pool over its limit first discards the pool's
 * own suspended regions, least recently suspended first, then fails with
 * ENOMEM.  Lowering the limit below the pool's resident bytes discards its
 * suspended regions the same way until it fits; resumed regions are never
 * touched, so the pool may stay above a new limit until they are freed.
 * Flags 0 changes nothing.  With several flags, the policy and the state
 * words are checked first and nothing changes unless all can be applied.
 *
 * State words (see &define SOFTMEM_WORD_RESUMED) are allocated zeroed but
 * for %SOFTMEM_WORD_FREE, charged to the caller's memory cgroup, and
 * mapped with mmap(MAP_SHARED) of the pool's file at offset 0, 8 bytes
 * each, word N for handle N.  The pool's handles are numbered below
 * @nr_words from then on: allocations and imports fail with ENOSPC once
 * @nr_words - 1 handles are live.
 */
struct softmem_configure {
	__u32 size;
	__u32 flags;
	__u64 limit_bytes;
	__u32 policy;
	__u32 nr_words;
};

/**
 * define SOFTMEM_WORD_RESUMED - state word bit, the handle holds its region
 *	resumed
 *
 * A pool configured with %SOFTMEM_CONFIGURE_WORDS shares one 64-bit state
 * word per handle with user space, which suspends and resumes the handle by
 * changing it with atomic compare-and-exchange instead of
 * %SOFTMEM_IOC_SUSPEND and %SOFTMEM_IOC_RESUME:
 *
 * - resume: if %SOFTMEM_WORD_DISCARDED or %SOFTMEM_WORD_FREE is set, call
 *   %SOFTMEM_IOC_RESUME (which reports the loss, or fails with ENOENT);
 *   otherwise set %SOFTMEM_WORD_RESUMED and %SOFTMEM_WORD_REFERENCED in one
 *   compare-and-exchange, and the region is intact and no longer
 *   discardable, as after the ioctl;
 * - suspend: if %SOFTMEM_WORD_FREE is set, call %SOFTMEM_IOC_SUSPEND (ENOENT);
 *   otherwise clear %SOFTMEM_WORD_RESUMED in one compare-and-exchange.
 *
 * Before discarding a region the kernel sets %SOFTMEM_WORD_DISCARDED in the
 * word of each of its handles that has one, with compare-and-exchange, only
 * where %SOFTMEM_WORD_RESUMED is clear: a region any of whose holders is
 * resumed is not discarded, and a resume that loses the race finds
 * %SOFTMEM_WORD_DISCARDED.  A region whose %SOFTMEM_WORD_REFERENCED bit is
 * set is skipped once and the bit cleared (CLOCK), so that reclaim takes
 * regions resumed least recently first.  The ioctls keep working on such
 * handles, mean the same and rewrite the word.  Other bits are 0 and
 * reserved.
 *
 * The words only tell the kernel what user space asks for: the kernel keeps
 * its own state of every handle and never relies on a word for memory
 * safety.  A process that writes anything into its words can only lose its
 * own data (and see it reported, or not, accordingly).
 */
#define SOFTMEM_WORD_RESUMED		_BITULL(0)
/**
 * define SOFTMEM_WORD_REFERENCED - state word bit, resumed since reclaim
 *	last looked at the region; set by user space with
 *	%SOFTMEM_WORD_RESUMED, cleared by the kernel
 */
#define SOFTMEM_WORD_REFERENCED		_BITULL(1)
/**
 * define SOFTMEM_WORD_DISCARDED - state word bit, the region was discarded
 *	while the handle was suspended; set by the kernel, cleared by
 *	%SOFTMEM_IOC_RESUME, which reports the loss
 */
#define SOFTMEM_WORD_DISCARDED		_BITULL(2)
/**
 * define SOFTMEM_WORD_FREE - state word bit, no handle has this number; set
 *	by the kernel
 */
#define SOFTMEM_WORD_FREE		_BITULL(3)

/**
 * struct softmem_set_priority - move a region to another priority class
 *	(SOFTMEM_IOC_SET_PRIORITY)
 * @size: sizeof(struct softmem_set_priority)
 * @flags: must be 0
 * @handle: the region
 * @priority: the class, below %SOFTMEM_NR_PRIORITIES
 * @__reserved: must be 0
 *
 * A suspended region goes to the end of its new class, as if suspended
 * now (under %SOFTMEM_POLICY_FIFO, as if it got its pages now).  The state
 * of the region does not change.
 */
struct softmem_set_priority {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u32 priority;
	__u32 __reserved;
};

/**
 * struct softmem_node_stats - the pool's pages on one NUMA node
 *	(SOFTMEM_IOC_NODE_STATS)
 * @size: sizeof(struct softmem_node_stats)
 * @flags: must be 0
 * @node: the node; EINVAL if the system has no such node
 * @__reserved: must be 0
 * @resident_bytes: output: bytes of the pool's pages on @node
 * @suspended_bytes: output: those of them in suspended regions: what
 *	reclaim on @node may discard
 *
 * All pages of a region are on one node: the node given at allocation
 * (%SOFTMEM_ALLOC_NODE), else the one the memory policy of the region's
 * first writer picked for its first page.  Reclaim on a node discards only
 * regions whose pages are there.  The same counters summed over every pool
 * are in /sys/class/misc/softmem/stats/node_resident_bytes and
 * node_suspended_bytes, one "<node> <bytes>" line per node with memory.
 */
struct softmem_node_stats {
	__u32 size;
	__u32 flags;
	__u32 node;
	__u32 __reserved;
	__u64 resident_bytes;
	__u64 suspended_bytes;
};

/**
 * define SOFTMEM_EXPORT_NO_CLOEXEC - leave the new descriptor open on execve()
 */
#define SOFTMEM_EXPORT_NO_CLOEXEC	_BITUL(0)
/**
 * define SOFTMEM_EXPORT_VALID_FLAGS - every flag &struct softmem_export knows
 */
#define SOFTMEM_EXPORT_VALID_FLAGS	(SOFTMEM_EXPORT_NO_CLOEXEC)

/**
 * struct softmem_export - a file descriptor for a region (SOFTMEM_IOC_EXPORT)
 * @size: sizeof(struct softmem_export)
 * @flags: %SOFTMEM_EXPORT_NO_CLOEXEC or 0
 * @handle: the region, in any state
 * @fd: output: a new file descriptor for the region, open for reading and
 *	writing, close-on-exec unless %SOFTMEM_EXPORT_NO_CLOEXEC
 * @__reserved: must be 0
 *
 * The descriptor refers to the region itself, not to this pool's handle: it
 * can be passed over a UNIX socket or inherited, and imported into any pool
 * (%SOFTMEM_IOC_IMPORT), and it can be mapped with mmap(%MAP_SHARED), at a
 * page-aligned byte offset of the region, for at most the region's length
 * (anything else fails with %EINVAL).  It keeps the region and its pages
 * alive, but holds it in no state: a region is discardable while none of
 * its handles holds it resumed, mapped or not.  Touching a mapping never
 * changes a handle's state.  Touching a page of a discarded region, until
 * one of its holders resumes it, raises %SIGBUS; after that resume the
 * mapping shows fresh zero pages.  Touching a never-written page allocates
 * it, charged as a write would be, and raises %SIGBUS if that fails.
 */
struct softmem_export {
	__u32 size;
	__u32 flags;
	__u64 handle;
	__u32 fd;
	__u32 __reserved;
};

/**
 * struct softmem_import - a handle in this pool for an exported region
 *	(SOFTMEM_IOC_IMPORT)
 * @size: sizeof(struct softmem_import)
 * @flags: must be 0
 * @fd: a descriptor from %SOFTMEM_IOC_EXPORT (%EBADF if not open,
 *	%EINVAL if not a softmem region)
 * @__reserved: must be 0
 * @handle: output: the new handle, unique in this pool
 * @length: output: the region's length in bytes
 *
 * The new handle starts suspended: importing takes nothing into use.  Its
 * first resume (or data operation) reports the region discarded if it was
 * discarded before the import and no holder has resumed it since, or if it
 * is discarded after; otherwise intact.  Each handle has its own state, and
 * each is told of every discard once.  The region's pages stay charged to
 * the pool that allocated the region and to the memory cgroups of the tasks
 * that wrote them, whoever writes them later; the handle counts in this
 * pool's regions (and its limit on them).
 */
struct softmem_import {
	__u32 size;
	__u32 flags;
	__u32 fd;
	__u32 __reserved;
	__u64 handle;
	__u64 length;
};

/**
 * enum softmem_batch_op - what one entry of %SOFTMEM_IOC_BATCH does
 * @SOFTMEM_BATCH_SUSPEND: as %SOFTMEM_IOC_SUSPEND
 * @SOFTMEM_BATCH_RESUME: as %SOFTMEM_IOC_RESUME; the entry's state says
 *	whether the region was discarded
 * @SOFTMEM_BATCH_FREE: as %SOFTMEM_IOC_FREE
 */
enum softmem_batch_op {
	SOFTMEM_BATCH_SUSPEND = 0,
	SOFTMEM_BATCH_RESUME = 1,
	SOFTMEM_BATCH_FREE = 2,
};

/**
 * struct softmem_batch_entry - one command of a batch
 * @handle: the region
 * @op: &enum softmem_batch_op
 * @state: output: for %SOFTMEM_BATCH_RESUME, &enum softmem_resume_state;
 *	otherwise 0
 * @error: output: 0, or the negative errno the single command would have
 *	failed with (%-ENOENT for an unknown handle, %-EINVAL for an unknown
 *	@op); the batch goes on after a failed entry
 */
struct softmem_batch_entry {
	__u64 handle;
	__u32 op;
	__u32 state;
	__s64 error;
};

/**
 * struct softmem_batch - apply many suspends, resumes and frees at once
 *	(SOFTMEM_IOC_BATCH)
 * @size: sizeof(struct softmem_batch)
 * @flags: must be 0
 * @entries: array of @count entries of @entry_size bytes (a pointer cast to
 *	__u64)
 * @count: number of entries
 * @entry_size: sizeof(struct softmem_batch_entry) as user space knows it: at
 *	least 24; the tail of a larger entry must be zero (%E2BIG otherwise)
 * @done: output: entries applied, their results written back; written as
 *	each entry is applied, so it holds even when the call fails
 * @__reserved: must be 0
 *
 * Entries are applied in order, each as its single command would be, and
 * each entry's @state and @error, then @done, are written back as it is
 * applied.  The call returns 0 once every entry is applied.  It stops early,
 * with @done telling how far it got (as %UFFDIO_COPY reports its progress),
 * with %EINTR when a signal is pending, or %EFAULT (%E2BIG) when an entry
 * cannot be read or its results cannot be written.  That entry is not
 * applied: its results are checked writable first, and should they or @done
 * become unwritable while it is applied (another thread unmapping them), a
 * resume is taken back; a suspend or free stays done.  Entries past @done
 * are not applied.  Should the struct itself not be written back at the end
 * (%EFAULT), @done as written still counts the entries applied, whose
 * results user space must read.
 */
struct softmem_batch {
	__u32 size;
	__u32 flags;
	__u64 entries;
	__u32 count;
	__u32 entry_size;
	__u32 done;
	__u32 __reserved;
};

#define SOFTMEM_IOC_ALLOC	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_ALLOC)
#define SOFTMEM_IOC_FREE	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_FREE)
#define SOFTMEM_IOC_SUSPEND	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_SUSPEND)
#define SOFTMEM_IOC_RESUME	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_RESUME)
#define SOFTMEM_IOC_READ	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_READ)
#define SOFTMEM_IOC_WRITE	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_WRITE)
#define SOFTMEM_IOC_COPY	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_COPY)
#define SOFTMEM_IOC_MOVE	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_MOVE)
#define SOFTMEM_IOC_SET		_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_SET)
#define SOFTMEM_IOC_COMPARE	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_COMPARE)
#define SOFTMEM_IOC_FIND	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_FIND)
#define SOFTMEM_IOC_STATS	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_STATS)
#define SOFTMEM_IOC_CONFIGURE	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_CONFIGURE)
#define SOFTMEM_IOC_NODE_STATS	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_NODE_STATS)
#define SOFTMEM_IOC_SET_PRIORITY _IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_SET_PRIORITY)
#define SOFTMEM_IOC_EXPORT	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_EXPORT)
#define SOFTMEM_IOC_IMPORT	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_IMPORT)
#define SOFTMEM_IOC_BATCH	_IO(SOFTMEM_IOCTL_MAGIC, SOFTMEM_CMD_BATCH)

#endif /* _UAPI_LINUX_SOFTMEM_H */
