// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl dispatch: a table indexed by command number gives each command's
 * struct size, the smallest size user space may pass and its handler.
 * Structs are read with copy_struct_from_user(), so older (shorter) and
 * newer (longer, zero tail) callers both work, and results are copied back
 * in the struct, never returned as positive values.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/nodemask.h>
#include <linux/nospec.h>
#include <linux/overflow.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "softmem.h"

union softmem_ioctl_arg {
	struct softmem_alloc alloc;
	struct softmem_free free;
	struct softmem_suspend suspend;
	struct softmem_resume resume;
	struct softmem_rw rw;
	struct softmem_copy copy;
	struct softmem_set set;
	struct softmem_compare compare;
	struct softmem_find find;
	struct softmem_stats stats;
	struct softmem_configure configure;
	struct softmem_node_stats node_stats;
	struct softmem_set_priority set_priority;
	struct {
		struct softmem_export uarg;
		struct file *file;
	} export;
	struct softmem_import import;
	struct {
		struct softmem_batch uarg;
		struct softmem_batch __user *user;
	} batch;
};

/* Checks that [offset, offset + length) lies within @region. */
static int softmem_check_range(struct softmem_region *region, u64 offset,
			       u64 length)
{
	u64 end;

	if (check_add_overflow(offset, length, &end) ||
	    end > (u64)region->nr_pages << PAGE_SHIFT)
		return -EINVAL;
	return 0;
}

/* Looks up a handle for a data operation on [offset, offset + length). */
static struct softmem_handle *softmem_get_range(struct softmem_pool *pool,
						u64 id, u64 offset, u64 length)
{
	struct softmem_handle *handle;
	int ret;

	handle = softmem_handle_get(pool, id);
	if (!handle)
		return ERR_PTR(-ENOENT);
	ret = softmem_check_range(handle->region, offset, length);
	if (ret) {
		softmem_handle_put(handle);
		return ERR_PTR(ret);
	}
	return handle;
}

static int softmem_ioc_alloc(struct softmem_pool *pool, void *data)
{
	struct softmem_alloc *arg = data;
	unsigned int priority = SOFTMEM_PRIORITY_DEFAULT;
	int nid = NUMA_NO_NODE;
	u32 handle;
	int ret;

	if (arg->flags & ~SOFTMEM_ALLOC_VALID_FLAGS)
		return -EINVAL;
	if (arg->flags & SOFTMEM_ALLOC_PRIORITY) {
		if (arg->priority >= SOFTMEM_NR_PRIORITIES)
			return -EINVAL;
		priority = arg->priority;
	} else if (arg->priority) {
		return -EINVAL;
	}
	if (!arg->length || arg->length > SOFTMEM_MAX_LENGTH)
		return -EINVAL;
	if (arg->flags & SOFTMEM_ALLOC_NODE) {
		if (arg->node >= MAX_NUMNODES ||
		    !node_state(arg->node, N_MEMORY))
			return -EINVAL;
		nid = arg->node;
	} else if (arg->node) {
		return -EINVAL;
	}

	ret = softmem_handle_alloc(pool, PAGE_ALIGN(arg->length), nid,
				   priority, arg->flags & SOFTMEM_ALLOC_HUGE,
				   &handle);
	if (ret)
		return ret;
	arg->handle = handle;
	return 0;
}

/* The region was never seen by user space: take it back. */
static void softmem_ioc_alloc_undo(struct softmem_pool *pool, void *data)
{
	struct softmem_alloc *arg = data;

	softmem_handle_free(pool, arg->handle);
}

static int softmem_ioc_free(struct softmem_pool *pool, void *data)
{
	struct softmem_free *arg = data;

	if (arg->flags)
		return -EINVAL;
	return softmem_handle_free(pool, arg->handle);
}

static int softmem_ioc_suspend(struct softmem_pool *pool, void *data)
{
	struct softmem_suspend *arg = data;

	if (arg->flags)
		return -EINVAL;
	return softmem_handle_suspend(pool, arg->handle);
}

static int softmem_ioc_resume(struct softmem_pool *pool, void *data)
{
	struct softmem_resume *arg = data;
	bool discarded;
	int ret;

	if (arg->flags || arg->__reserved)
		return -EINVAL;
	ret = softmem_handle_resume(pool, arg->handle, &discarded);
	if (ret)
		return ret;
	arg->state = discarded ? SOFTMEM_DISCARDED : SOFTMEM_INTACT;
	return 0;
}

/* A discard user space was not told about stays to be reported. */
static void softmem_ioc_resume_undo(struct softmem_pool *pool, void *data)
{
	struct softmem_resume *arg = data;

	if (arg->state == SOFTMEM_DISCARDED)
		softmem_handle_unresume(pool, arg->handle);
}

/*
 * Takes @handle's region into use for a write from a user buffer: pins it
 * against reclaim, faults the buffer in, then takes the region into use.
 * A bad buffer fails with EFAULT with the handle's state untouched, and a
 * region found usable here is not discarded however long the faults take.
 */
static int softmem_begin_user(struct softmem_handle *handle, u64 addr,
			      u64 length)
{
	void __user *buf = u64_to_user_ptr(addr);
	int ret;

	if (length && !access_ok(buf, length))
		return -EFAULT;
	ret = softmem_handle_hold(handle);
	if (ret)
		return ret;
	if (length && fault_in_readable(buf, length)) {
		softmem_handle_end(handle);
		return -EFAULT;
	}
	return softmem_handle_begin_held(handle);
}

/*
 * For an operation that only reads the region (a READ into a user buffer, a
 * compare with one): it runs with the region pinned but the handle's state
 * untouched, faulting the buffer as it goes, and only once it has succeeded
 * is the handle taken into use (the implicit resume).  A bad buffer fails
 * with EFAULT and changes no state, without faulting the whole buffer in
 * first.
 */
static int softmem_read_user(struct softmem_handle *handle, u64 addr,
			     u64 length,
			     int (*op)(struct softmem_handle *handle,
				       void *arg),
			     void *arg)
{
	int ret;

	if (length && !access_ok(u64_to_user_ptr(addr), length))
		return -EFAULT;
	ret = softmem_handle_hold(handle);
	if (ret)
		return ret;
	ret = op(handle, arg);
	if (ret) {
		softmem_handle_end(handle);
		return ret;
	}
	/* Lets the region go, even when it fails (the handle was freed). */
	return softmem_handle_end_held(handle);
}

static int softmem_rw_read(struct softmem_handle *handle, void *data)
{
	struct softmem_rw *arg = data;

	return softmem_access_read(handle->region, arg->offset, arg->length,
				   u64_to_user_ptr(arg->addr));
}

static int softmem_ioc_rw(struct softmem_pool *pool, void *data, bool write)
{
	struct softmem_rw *arg = data;
	struct softmem_handle *handle;
	int ret;

	if (arg->flags)
		return -EINVAL;
	handle = softmem_get_range(pool, arg->handle, arg->offset, arg->length);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	if (!write) {
		ret = softmem_read_user(handle, arg->addr, arg->length,
					softmem_rw_read, arg);
		goto out;
	}
	ret = softmem_begin_user(handle, arg->addr, arg->length);
	if (ret)
		goto out;
	ret = softmem_access_write(handle->region, arg->offset, arg->length,
				   u64_to_user_ptr(arg->addr));
	softmem_handle_end(handle);
out:
	softmem_handle_put(handle);
	return ret;
}

static int softmem_ioc_read(struct softmem_pool *pool, void *data)
{
	return softmem_ioc_rw(pool, data, false);
}

static int softmem_ioc_write(struct softmem_pool *pool, void *data)
{
	return softmem_ioc_rw(pool, data, true);
}

/* Both ranges of a copy or move, or of a compare between regions. */
struct softmem_handle_pair {
	struct softmem_handle *a, *b;
};

/*
 * Takes the handles of both ranges into use.  With @disjoint, ranges of one
 * region that overlap are EINVAL, whether one handle or two name it.
 */
static int softmem_pair_begin(struct softmem_pool *pool,
			      struct softmem_handle_pair *pair,
			      u64 a, u64 a_offset, u64 b, u64 b_offset,
			      u64 length, bool disjoint)
{
	int ret;

	pair->a = softmem_get_range(pool, a, a_offset, length);
	if (IS_ERR(pair->a))
		return PTR_ERR(pair->a);
	pair->b = softmem_get_range(pool, b, b_offset, length);
	if (IS_ERR(pair->b)) {
		softmem_handle_put(pair->a);
		return PTR_ERR(pair->b);
	}
	/* Both ranges lie within their regions: no sum below overflows. */
	if (disjoint && pair->a->region == pair->b->region &&
	    a_offset < b_offset + length && b_offset < a_offset + length)
		ret = -EINVAL;
	else
		ret = softmem_handle_begin_pair(pair->a, pair->b);
	if (ret) {
		softmem_handle_put(pair->b);
		softmem_handle_put(pair->a);
	}
	return ret;
}

static void softmem_pair_end(struct softmem_handle_pair *pair)
{
	softmem_handle_end(pair->a);
	if (pair->b != pair->a)
		softmem_handle_end(pair->b);
	softmem_handle_put(pair->b);
	softmem_handle_put(pair->a);
}

static int softmem_copy_or_move(struct softmem_pool *pool, void *data,
				bool move)
{
	struct softmem_copy *arg = data;
	struct softmem_handle_pair pair;
	int ret;

	if (arg->flags)
		return -EINVAL;
	/* memcpy() semantics: overlapping ranges are a caller bug. */
	ret = softmem_pair_begin(pool, &pair, arg->dst_handle, arg->dst_offset,
				 arg->src_handle, arg->src_offset, arg->length,
				 !move);
	if (ret)
		return ret;
	ret = softmem_access_copy(pair.a->region, arg->dst_offset,
				  pair.b->region, arg->src_offset, arg->length);
	softmem_pair_end(&pair);
	return ret;
}

static int softmem_ioc_copy(struct softmem_pool *pool, void *data)
{
	return softmem_copy_or_move(pool, data, false);
}

static int softmem_ioc_move(struct softmem_pool *pool, void *data)
{
	return softmem_copy_or_move(pool, data, true);
}

static int softmem_ioc_set(struct softmem_pool *pool, void *data)
{
	struct softmem_set *arg = data;
	struct softmem_handle *handle;
	int ret;

	if (arg->flags || arg->__reserved || arg->value > U8_MAX)
		return -EINVAL;
	handle = softmem_get_range(pool, arg->handle, arg->offset, arg->length);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	ret = softmem_handle_begin(handle);
	if (!ret) {
		ret = softmem_access_set(handle->region, arg->offset,
					 arg->length, arg->value);
		softmem_handle_end(handle);
	}
	softmem_handle_put(handle);
	return ret;
}

static int softmem_compare_read(struct softmem_handle *handle, void *data)
{
	struct softmem_compare *arg = data;

	return softmem_access_compare_user(handle->region, arg->offset,
					   arg->length,
					   u64_to_user_ptr(arg->addr),
					   &arg->result);
}

static int softmem_compare_user(struct softmem_pool *pool,
				struct softmem_compare *arg)
{
	struct softmem_handle *handle;
	int ret;

	if (arg->other_handle || arg->other_offset)
		return -EINVAL;
	handle = softmem_get_range(pool, arg->handle, arg->offset, arg->length);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	ret = softmem_read_user(handle, arg->addr, arg->length,
				softmem_compare_read, arg);
	softmem_handle_put(handle);
	return ret;
}

static int softmem_ioc_compare(struct softmem_pool *pool, void *data)
{
	struct softmem_compare *arg = data;
	struct softmem_handle_pair pair;
	int ret;

	if (arg->flags & ~SOFTMEM_COMPARE_VALID_FLAGS || arg->__reserved)
		return -EINVAL;
	if (arg->flags & SOFTMEM_COMPARE_USER)
		return softmem_compare_user(pool, arg);
	if (arg->addr)
		return -EINVAL;

	ret = softmem_pair_begin(pool, &pair, arg->handle, arg->offset,
				 arg->other_handle, arg->other_offset,
				 arg->length, false);
	if (ret)
		return ret;
	ret = softmem_access_compare(pair.a->region, arg->offset,
				     pair.b->region, arg->other_offset,
				     arg->length, &arg->result);
	softmem_pair_end(&pair);
	return ret;
}

static int softmem_ioc_find(struct softmem_pool *pool, void *data)
{
	struct softmem_find *arg = data;
	struct softmem_handle *handle;
	int ret;

	if (arg->flags || arg->__reserved || arg->value > U8_MAX)
		return -EINVAL;
	handle = softmem_get_range(pool, arg->handle, arg->offset, arg->length);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	ret = softmem_handle_begin(handle);
	if (!ret) {
		ret = softmem_access_find(handle->region, arg->offset,
					  arg->length, arg->value,
					  &arg->position);
		softmem_handle_end(handle);
	}
	softmem_handle_put(handle);
	return ret;
}

static u64 softmem_bytes(atomic_long_t *pages)
{
	return (u64)atomic_long_read(pages) << PAGE_SHIFT;
}

static int softmem_ioc_stats(struct softmem_pool *pool, void *data)
{
	struct softmem_stats *arg = data;

	if (arg->flags)
		return -EINVAL;
	arg->regions = atomic_long_read(&pool->stats[SOFTMEM_STAT_REGIONS]);
	arg->length_bytes = softmem_bytes(&pool->stats[SOFTMEM_STAT_LENGTH_PAGES]);
	arg->resident_bytes = softmem_bytes(&pool->stats[SOFTMEM_STAT_RESIDENT_PAGES]);
	arg->suspended_bytes = softmem_bytes(&pool->stats[SOFTMEM_STAT_SUSPENDED_PAGES]);
	arg->discarded_bytes = softmem_bytes(&pool->stats[SOFTMEM_STAT_DISCARDED_PAGES]);
	arg->discard_events = atomic_long_read(&pool->stats[SOFTMEM_STAT_DISCARD_EVENTS]);
	arg->limit_bytes = (u64)READ_ONCE(pool->limit_pages) << PAGE_SHIFT;
	arg->policy = READ_ONCE(pool->policy);
	arg->huge_bytes = softmem_bytes(&pool->stats[SOFTMEM_STAT_HUGE_PAGES]);
	return 0;
}

static int softmem_ioc_node_stats(struct softmem_pool *pool, void *data)
{
	struct softmem_node_stats *arg = data;
	unsigned int nid;

	if (arg->flags || arg->__reserved)
		return -EINVAL;
	if (arg->node >= nr_node_ids || !node_possible(arg->node))
		return -EINVAL;
	nid = array_index_nospec(arg->node, nr_node_ids);
	arg->resident_bytes =
		softmem_bytes(&pool->node_stats[nid][SOFTMEM_NODE_RESIDENT_PAGES]);
	arg->suspended_bytes =
		softmem_bytes(&pool->node_stats[nid][SOFTMEM_NODE_SUSPENDED_PAGES]);
	return 0;
}

static int softmem_ioc_configure(struct softmem_pool *pool, void *data)
{
	struct softmem_configure *arg = data;
	int ret;

	if (arg->flags & ~SOFTMEM_CONFIGURE_VALID_FLAGS)
		return -EINVAL;
	if (!(arg->flags & SOFTMEM_CONFIGURE_POLICY) && arg->policy)
		return -EINVAL;
	if (!(arg->flags & SOFTMEM_CONFIGURE_WORDS) && arg->nr_words)
		return -EINVAL;
	/*
	 * All or nothing: the limit and the number of words are checked
	 * before the policy is set, and both the policy and the words need a
	 * pool without handles.
	 */
	if (arg->flags & SOFTMEM_CONFIGURE_LIMIT &&
	    arg->limit_bytes >> PAGE_SHIFT > softmem_pool_max_pages())
		return -EINVAL;
	if (arg->flags & SOFTMEM_CONFIGURE_WORDS &&
	    !softmem_words_valid(arg->nr_words))
		return -EINVAL;
	if (arg->flags & SOFTMEM_CONFIGURE_POLICY) {
		ret = softmem_pool_set_policy(pool, arg->policy);
		if (ret)
			return ret;
	}
	if (arg->flags & SOFTMEM_CONFIGURE_WORDS) {
		ret = softmem_words_configure(pool, arg->nr_words);
		if (ret)
			return ret;
	}
	if (arg->flags & SOFTMEM_CONFIGURE_LIMIT)
		softmem_pool_set_limit(pool, arg->limit_bytes);
	return 0;
}

static int softmem_ioc_set_priority(struct softmem_pool *pool, void *data)
{
	struct softmem_set_priority *arg = data;

	if (arg->flags || arg->__reserved ||
	    arg->priority >= SOFTMEM_NR_PRIORITIES)
		return -EINVAL;
	return softmem_handle_set_priority(pool, arg->handle, arg->priority);
}

static int softmem_ioc_export(struct softmem_pool *pool, void *data)
{
	struct softmem_export *arg = data;
	struct file **filep = &((union softmem_ioctl_arg *)data)->export.file;
	struct softmem_handle *handle;
	int fd;

	if (arg->flags & ~SOFTMEM_EXPORT_VALID_FLAGS || arg->__reserved)
		return -EINVAL;
	handle = softmem_handle_get(pool, arg->handle);
	if (!handle)
		return -ENOENT;
	fd = softmem_export(handle, !(arg->flags & SOFTMEM_EXPORT_NO_CLOEXEC),
			    filep);
	softmem_handle_put(handle);
	if (fd < 0)
		return fd;
	arg->fd = fd;
	return 0;
}

/* User space has the number: the descriptor goes live. */
static void softmem_ioc_export_commit(struct softmem_pool *pool, void *data)
{
	union softmem_ioctl_arg *arg = data;

	fd_install(arg->export.uarg.fd, arg->export.file);
}

static void softmem_ioc_export_undo(struct softmem_pool *pool, void *data)
{
	union softmem_ioctl_arg *arg = data;

	put_unused_fd(arg->export.uarg.fd);
	fput(arg->export.file);
}

static int softmem_ioc_import(struct softmem_pool *pool, void *data)
{
	struct softmem_import *arg = data;
	u32 handle;
	int ret;

	if (arg->flags || arg->__reserved)
		return -EINVAL;
	ret = softmem_import(pool, arg->fd, &handle, &arg->length);
	if (ret)
		return ret;
	arg->handle = handle;
	return 0;
}

/* The handle was never seen by user space: take it back. */
static void softmem_ioc_import_undo(struct softmem_pool *pool, void *data)
{
	struct softmem_import *arg = data;

	softmem_handle_free(pool, arg->handle);
}

/* Applies one batch entry as its single command would be. */
static void softmem_batch_apply(struct softmem_pool *pool,
				struct softmem_batch_entry *e)
{
	bool discarded;

	e->state = 0;
	switch (e->op) {
	case SOFTMEM_BATCH_SUSPEND:
		e->error = softmem_handle_suspend(pool, e->handle);
		break;
	case SOFTMEM_BATCH_RESUME:
		e->error = softmem_handle_resume(pool, e->handle, &discarded);
		if (!e->error)
			e->state = discarded ? SOFTMEM_DISCARDED : SOFTMEM_INTACT;
		break;
	case SOFTMEM_BATCH_FREE:
		e->error = softmem_handle_free(pool, e->handle);
		break;
	default:
		e->error = -EINVAL;
		break;
	}
}

/* The output fields of an entry, contiguous: state, then error. */
#define SOFTMEM_BATCH_OUT	offsetof(struct softmem_batch_entry, state)
#define SOFTMEM_BATCH_OUT_SIZE \
	(sizeof(struct softmem_batch_entry) - SOFTMEM_BATCH_OUT)

/*
 * Applies the entries in order, writing each one's results, then @done, to
 * user space before the next; stops with -EINTR for a pending signal, or
 * -EFAULT / -E2BIG for an entry it cannot read or write, @done telling how
 * far it got.  @done is written as it goes, not only with the struct once
 * the batch is over: should that last copy fail, user space still knows
 * which entries were applied, and a discard reported in one of them is not
 * lost.
 */
static int softmem_ioc_batch(struct softmem_pool *pool, void *data)
{
	union softmem_ioctl_arg *buf = data;
	struct softmem_batch *arg = &buf->batch.uarg;
	struct softmem_batch __user *user = buf->batch.user;
	u8 __user *base = u64_to_user_ptr(arg->entries);
	struct softmem_batch_entry e;
	int ret = 0;
	u32 i;

	if (arg->flags || arg->__reserved)
		return -EINVAL;
	if (arg->entry_size < sizeof(e) || arg->entry_size > PAGE_SIZE)
		return -EINVAL;
	arg->done = 0;
	if (put_user(arg->done, &user->done))
		return -EFAULT;
	for (i = 0; i < arg->count; i++) {
		u8 __user *entry = base + (u64)i * arg->entry_size;

		if (i && signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		ret = copy_struct_from_user(&e, sizeof(e), entry,
					    arg->entry_size);
		if (ret)
			break;
		/* Writable before anything is done, as for single commands. */
		if (copy_to_user(entry + SOFTMEM_BATCH_OUT,
				 (u8 *)&e + SOFTMEM_BATCH_OUT,
				 SOFTMEM_BATCH_OUT_SIZE)) {
			ret = -EFAULT;
			break;
		}
		softmem_batch_apply(pool, &e);
		if (copy_to_user(entry + SOFTMEM_BATCH_OUT,
				 (u8 *)&e + SOFTMEM_BATCH_OUT,
				 SOFTMEM_BATCH_OUT_SIZE) ||
		    put_user(arg->done + 1, &user->done)) {
			/* Unmapped meanwhile: a loss stays to be reported. */
			if (e.state == SOFTMEM_DISCARDED)
				softmem_handle_unresume(pool, e.handle);
			ret = -EFAULT;
			break;
		}
		arg->done++;
		cond_resched();
	}
	return ret;
}

/**
 * struct softmem_ioctl_op - how to run one command
 * @size: size of the command's struct in this kernel
 * @min_size: smallest struct user space may pass: up to the last field
 *	the command cannot do without
 * @output: whether results are copied back to user space
 * @execute: the handler; gets the struct, zero-extended to @size
 * @undo: reverts @execute when its results cannot be copied back
 * @commit: completes @execute once its results are copied back
 * @partial: results are copied back when @execute fails too: they say how
 *	far it got
 */
struct softmem_ioctl_op {
	unsigned int size;
	unsigned int min_size;
	bool output;
	int (*execute)(struct softmem_pool *pool, void *arg);
	void (*undo)(struct softmem_pool *pool, void *arg);
	void (*commit)(struct softmem_pool *pool, void *arg);
	bool partial;
};

static const struct softmem_ioctl_op softmem_ioctl_ops[] = {
	[SOFTMEM_CMD_ALLOC] = {
		.size = sizeof(struct softmem_alloc),
		.min_size = offsetofend(struct softmem_alloc, handle),
		.output = true,
		.execute = softmem_ioc_alloc,
		.undo = softmem_ioc_alloc_undo,
	},
	[SOFTMEM_CMD_FREE] = {
		.size = sizeof(struct softmem_free),
		.min_size = offsetofend(struct softmem_free, handle),
		.execute = softmem_ioc_free,
	},
	[SOFTMEM_CMD_SUSPEND] = {
		.size = sizeof(struct softmem_suspend),
		.min_size = offsetofend(struct softmem_suspend, handle),
		.execute = softmem_ioc_suspend,
	},
	[SOFTMEM_CMD_RESUME] = {
		.size = sizeof(struct softmem_resume),
		.min_size = offsetofend(struct softmem_resume, state),
		.output = true,
		.execute = softmem_ioc_resume,
		.undo = softmem_ioc_resume_undo,
	},
	[SOFTMEM_CMD_READ] = {
		.size = sizeof(struct softmem_rw),
		.min_size = offsetofend(struct softmem_rw, addr),
		.execute = softmem_ioc_read,
	},
	[SOFTMEM_CMD_WRITE] = {
		.size = sizeof(struct softmem_rw),
		.min_size = offsetofend(struct softmem_rw, addr),
		.execute = softmem_ioc_write,
	},
	[SOFTMEM_CMD_COPY] = {
		.size = sizeof(struct softmem_copy),
		.min_size = offsetofend(struct softmem_copy, length),
		.execute = softmem_ioc_copy,
	},
	[SOFTMEM_CMD_MOVE] = {
		.size = sizeof(struct softmem_copy),
		.min_size = offsetofend(struct softmem_copy, length),
		.execute = softmem_ioc_move,
	},
	[SOFTMEM_CMD_SET] = {
		.size = sizeof(struct softmem_set),
		.min_size = offsetofend(struct softmem_set, value),
		.execute = softmem_ioc_set,
	},
	[SOFTMEM_CMD_COMPARE] = {
		.size = sizeof(struct softmem_compare),
		.min_size = offsetofend(struct softmem_compare, result),
		.output = true,
		.execute = softmem_ioc_compare,
	},
	[SOFTMEM_CMD_FIND] = {
		.size = sizeof(struct softmem_find),
		.min_size = offsetofend(struct softmem_find, position),
		.output = true,
		.execute = softmem_ioc_find,
	},
	[SOFTMEM_CMD_STATS] = {
		.size = sizeof(struct softmem_stats),
		.min_size = offsetofend(struct softmem_stats, discard_events),
		.output = true,
		.execute = softmem_ioc_stats,
	},
	[SOFTMEM_CMD_CONFIGURE] = {
		.size = sizeof(struct softmem_configure),
		.min_size = offsetofend(struct softmem_configure, limit_bytes),
		.execute = softmem_ioc_configure,
	},
	[SOFTMEM_CMD_NODE_STATS] = {
		.size = sizeof(struct softmem_node_stats),
		.min_size = offsetofend(struct softmem_node_stats, suspended_bytes),
		.output = true,
		.execute = softmem_ioc_node_stats,
	},
	[SOFTMEM_CMD_SET_PRIORITY] = {
		.size = sizeof(struct softmem_set_priority),
		.min_size = offsetofend(struct softmem_set_priority, priority),
		.execute = softmem_ioc_set_priority,
	},
	[SOFTMEM_CMD_EXPORT] = {
		.size = sizeof(struct softmem_export),
		.min_size = offsetofend(struct softmem_export, fd),
		.output = true,
		.execute = softmem_ioc_export,
		.undo = softmem_ioc_export_undo,
		.commit = softmem_ioc_export_commit,
	},
	[SOFTMEM_CMD_IMPORT] = {
		.size = sizeof(struct softmem_import),
		.min_size = offsetofend(struct softmem_import, length),
		.output = true,
		.execute = softmem_ioc_import,
		.undo = softmem_ioc_import_undo,
	},
	[SOFTMEM_CMD_BATCH] = {
		.size = sizeof(struct softmem_batch),
		.min_size = offsetofend(struct softmem_batch, done),
		.output = true,
		.partial = true,
		.execute = softmem_ioc_batch,
	},
};

/*
 * Reads the struct of command @op into @buf, its size into *@usize.  Most
 * callers pass a struct of this kernel's size, which one user copy reads,
 * size included; any other size, or a struct that copy cannot read whole
 * (a shorter one at the end of a mapping), is read as the size says.
 */
static int softmem_ioctl_copy_in(const struct softmem_ioctl_op *op,
				 union softmem_ioctl_arg *buf,
				 void __user *uarg, u32 *usize)
{
	if (!copy_from_user(buf, uarg, op->size)) {
		memcpy(usize, buf, sizeof(*usize));
		if (*usize == op->size)
			return 0;
	}
	if (get_user(*usize, (u32 __user *)uarg))
		return -EFAULT;
	if (*usize < op->min_size)
		return -EINVAL;
	if (*usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(buf, op->size, uarg, *usize);
}

long softmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct softmem_pool *pool = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct softmem_ioctl_op *op;
	union softmem_ioctl_arg buf;
	unsigned int nr = _IOC_NR(cmd);
	u32 usize;
	int ret;

	if (cmd != _IO(SOFTMEM_IOCTL_MAGIC, nr) ||
	    nr >= ARRAY_SIZE(softmem_ioctl_ops))
		return -ENOTTY;
	op = &softmem_ioctl_ops[array_index_nospec(nr,
					ARRAY_SIZE(softmem_ioctl_ops))];

	ret = softmem_ioctl_copy_in(op, &buf, uarg, &usize);
	if (ret)
		return ret;
	/* The batch writes its progress back as it goes. */
	if (nr == SOFTMEM_CMD_BATCH)
		buf.batch.user = uarg;

	/*
	 * Make sure the results can be written back before acting: writing
	 * back what was just read fails only on a read-only struct.
	 */
	if (op->output && copy_to_user(uarg, &buf, min(usize, op->size)))
		return -EFAULT;

	ret = op->execute(pool, &buf);
	if (!op->output || (ret && !op->partial))
		return ret;

	if (copy_to_user(uarg, &buf, min(usize, op->size))) {
		if (!ret && op->undo)
			op->undo(pool, &buf);
		return -EFAULT;
	}
	if (!ret && op->commit)
		op->commit(pool, &buf);
	return ret;
}
