/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libsoftmem: a thin C binding of the /dev/softmem ioctls.
 *
 * A pool is the file descriptor of an open /dev/softmem.  Every function
 * returns 0 (or a descriptor) on success and a negative errno on failure; it
 * never sets errno for the caller to inspect.  The library makes no policy;
 * its only state is the state words of the pools softmem_lockfree() set up.
 * See softmem(3) and Documentation/userspace-api/softmem.rst.
 */
#ifndef SOFTMEM_H
#define SOFTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/softmem.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Pools */
int softmem_open(void);
int softmem_close(int pool);
int softmem_set_limit(int pool, uint64_t limit_bytes);
int softmem_set_policy(int pool, unsigned int policy);
int softmem_lockfree(int pool, uint32_t max_handles);
int softmem_stats(int pool, struct softmem_stats *stats);
int softmem_node_stats(int pool, unsigned int node,
		       struct softmem_node_stats *stats);

/* Region lifetime and state */
int softmem_alloc(int pool, uint64_t length, uint64_t *handle);
int softmem_alloc_priority(int pool, uint64_t length, unsigned int priority,
			   uint64_t *handle);
int softmem_set_priority(int pool, uint64_t handle, unsigned int priority);
int softmem_alloc_on_node(int pool, uint64_t length, unsigned int node,
			  uint64_t *handle);
int softmem_alloc_huge(int pool, uint64_t length, uint64_t *handle);
int softmem_free(int pool, uint64_t handle);
int softmem_suspend(int pool, uint64_t handle);
int softmem_resume(int pool, uint64_t handle, bool *discarded);

/* Data, by (handle, offset, length) */
int softmem_read(int pool, uint64_t handle, uint64_t offset, void *buf,
		 size_t length);
int softmem_write(int pool, uint64_t handle, uint64_t offset, const void *buf,
		  size_t length);
int softmem_copy(int pool, uint64_t dst, uint64_t dst_offset, uint64_t src,
		 uint64_t src_offset, uint64_t length);
int softmem_move(int pool, uint64_t dst, uint64_t dst_offset, uint64_t src,
		 uint64_t src_offset, uint64_t length);
int softmem_set(int pool, uint64_t handle, uint64_t offset, int value,
		uint64_t length);
int softmem_compare(int pool, uint64_t handle, uint64_t offset,
		    uint64_t other, uint64_t other_offset, uint64_t length,
		    int *result);
int softmem_compare_buf(int pool, uint64_t handle, uint64_t offset,
			const void *buf, size_t length, int *result);
int softmem_find(int pool, uint64_t handle, uint64_t offset, uint64_t length,
		 int value, int64_t *position);

/* Many suspends, resumes and frees in one call */
int softmem_batch(int pool, struct softmem_batch_entry *entries,
		  unsigned int count, unsigned int *done);

/* Sharing a region with other pools and processes, and mapping it */
int softmem_export(int pool, uint64_t handle, unsigned int flags);
int softmem_import(int pool, int fd, uint64_t *handle, uint64_t *length);
int softmem_map(int pool, uint64_t handle, uint64_t offset, size_t length,
		int prot, void **addr);

#ifdef __cplusplus
}
#endif

#endif /* SOFTMEM_H */
