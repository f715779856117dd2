// SPDX-License-Identifier: GPL-2.0
/*
 * Regions: lifetime, lookup by handle and the state machine
 *
 *   RESUMED --suspend--> SUSPENDED --reclaim--> DISCARDED
 *      ^                     |                      |
 *      +-- resume, or any ---+                      |
 *      |   data operation                           |
 *      +------------------- resume -----------------+
 *
 * and DEAD once freed.  Data operations bracket their work with
 * softmem_region_begin() and softmem_region_end(); in between the region is
 * resumed and pinned against reclaim by softmem_region.users.
 */
#include <linux/nodemask.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "softmem.h"

static struct kmem_cache *softmem_region_cache;

int softmem_regions_init(void)
{
	/* SLAB_ACCOUNT: a descriptor is charged to its memory cgroup. */
	softmem_region_cache = KMEM_CACHE(softmem_region, SLAB_ACCOUNT);
	return softmem_region_cache ? 0 : -ENOMEM;
}

void softmem_regions_exit(void)
{
	rcu_barrier();	/* descriptors still in softmem_region_free_rcu() */
	kmem_cache_destroy(softmem_region_cache);
}

/*
 * Under SOFTMEM_POLICY_FIFO a region is on its pool's list from allocation
 * to free, in allocation order.  The policy is read under the pool's
 * lru_lock, which softmem_pool_set_policy() holds while it checks that the
 * pool has no region.
 */
static void softmem_region_link_pool(struct softmem_region *region)
{
	struct softmem_pool *pool = region->pool;

	spin_lock(&pool->lru_lock);
	if (softmem_pool_fifo(pool))
		list_add_tail(&region->pool_lru,
			      &pool->suspended[region->priority]);
	spin_unlock(&pool->lru_lock);
}

static void softmem_region_unlink_pool(struct softmem_region *region)
{
	struct softmem_pool *pool = region->pool;

	spin_lock(&pool->lru_lock);
	list_del_init(&region->pool_lru);
	spin_unlock(&pool->lru_lock);
}

int softmem_region_create(struct softmem_pool *pool, u64 length, int nid,
			  unsigned int priority, u32 *handle)
{
	struct softmem_region *region;
	int ret;

	ret = softmem_pool_charge_region(pool);
	if (ret)
		return ret;

	region = kmem_cache_zalloc(softmem_region_cache, SOFTMEM_GFP_KERNEL);
	if (!region) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	spin_lock_init(&region->lock);
	region->state = SOFTMEM_REGION_RESUMED;
	INIT_LIST_HEAD(&region->pool_lru);
	region->pool = pool;
	region->nr_pages = length >> PAGE_SHIFT;
	region->nid = nid;
	region->priority = priority;
	refcount_set(&region->ref, 1);
	softmem_region_link_pool(region);

	/*
	 * Accounted in full before the handle is published: from then on a
	 * FREE guessing the handle may drop the region at once.
	 */
	softmem_stat_add(pool, SOFTMEM_STAT_LENGTH_PAGES, region->nr_pages);
	ret = xa_alloc_cyclic(&pool->regions, handle, region, xa_limit_32b,
			      &pool->next_handle, SOFTMEM_GFP_KERNEL);
	if (ret < 0) {
		softmem_stat_add(pool, SOFTMEM_STAT_LENGTH_PAGES,
				 -(long)region->nr_pages);
		softmem_region_unlink_pool(region);
		kmem_cache_free(softmem_region_cache, region);
		ret = ret == -EBUSY ? -ENOSPC : ret;
		goto err_uncharge;
	}
	return 0;

err_uncharge:
	softmem_stat_add(pool, SOFTMEM_STAT_REGIONS, -1);
	return ret;
}

struct softmem_region *softmem_region_get(struct softmem_pool *pool,
					  u64 handle)
{
	struct softmem_region *region;

	if (!handle || handle > U32_MAX)
		return NULL;
	rcu_read_lock();
	region = xa_load(&pool->regions, handle);
	if (region && !refcount_inc_not_zero(&region->ref))
		region = NULL;
	rcu_read_unlock();
	return region;
}

static void softmem_region_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(softmem_region_cache,
			container_of(rcu, struct softmem_region, rcu));
}

void softmem_region_put(struct softmem_region *region)
{
	struct softmem_pool *pool = region->pool;

	if (!refcount_dec_and_test(&region->ref))
		return;
	if (region->backing) {
		softmem_pool_uncharge(pool, region->backing->nr_pages);
		softmem_pages_account(pool, region->backing,
				      -(long)region->backing->nr_pages);
		softmem_pages_destroy(region->backing);
	}
	softmem_stat_add(pool, SOFTMEM_STAT_REGIONS, -1);
	softmem_stat_add(pool, SOFTMEM_STAT_LENGTH_PAGES, -(long)region->nr_pages);
	call_rcu(&region->rcu, softmem_region_free_rcu);
}

static unsigned long softmem_region_resident(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	return region->backing ? region->backing->nr_pages : 0;
}

/*
 * Adds @delta pages to the suspended pages of the region's pool, of the
 * module and of the node of its pages.
 */
void softmem_region_add_suspended(struct softmem_region *region, long delta)
{
	lockdep_assert_held(&region->lock);
	if (!region->backing)
		return;
	softmem_stat_add(region->pool, SOFTMEM_STAT_SUSPENDED_PAGES, delta);
	softmem_node_stat_add(region->pool, region->backing->nid,
			      SOFTMEM_NODE_SUSPENDED_PAGES, delta);
}

/*
 * Resumes a suspended region: under SOFTMEM_POLICY_LRU it leaves the reclaim
 * lists, to join them at the end when next suspended; under FIFO it keeps
 * its place.
 */
static void softmem_region_unsuspend(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (!softmem_pool_fifo(region->pool)) {
		softmem_lru_del(region);
		softmem_region_unlink_pool(region);
	}
	softmem_region_add_suspended(region,
				     -(long)softmem_region_resident(region));
	region->state = SOFTMEM_REGION_RESUMED;
}

/* Drops the index's reference of a region already erased from it. */
void softmem_region_remove(struct softmem_region *region)
{
	spin_lock(&region->lock);
	if (region->state == SOFTMEM_REGION_SUSPENDED)
		softmem_region_unsuspend(region);
	/* Off every list it may still be on, whatever the policy. */
	softmem_lru_del(region);
	softmem_region_unlink_pool(region);
	/* Read unlocked by softmem_pages_populate(). */
	WRITE_ONCE(region->state, SOFTMEM_REGION_DEAD);
	spin_unlock(&region->lock);
	softmem_region_put(region);
}

int softmem_region_free(struct softmem_pool *pool, u64 handle)
{
	struct softmem_region *region;

	if (!handle || handle > U32_MAX)
		return -ENOENT;
	region = xa_erase(&pool->regions, handle);
	if (!region)
		return -ENOENT;
	softmem_region_remove(region);
	return 0;
}

int softmem_region_suspend(struct softmem_pool *pool, u64 handle)
{
	struct softmem_region *region;
	int ret = 0;

	region = softmem_region_get(pool, handle);
	if (!region)
		return -ENOENT;

	spin_lock(&region->lock);
	switch (region->state) {
	case SOFTMEM_REGION_RESUMED:
		region->state = SOFTMEM_REGION_SUSPENDED;
		region->loss_unreported = false;
		softmem_region_add_suspended(region,
					     softmem_region_resident(region));
		if (softmem_pool_fifo(pool))
			break;
		softmem_lru_add(region);
		spin_lock(&pool->lru_lock);
		list_move_tail(&region->pool_lru,
			       &pool->suspended[region->priority]);
		spin_unlock(&pool->lru_lock);
		break;
	case SOFTMEM_REGION_SUSPENDED:
	case SOFTMEM_REGION_DISCARDED:
		break;
	case SOFTMEM_REGION_DEAD:
		ret = -ENOENT;
		break;
	}
	spin_unlock(&region->lock);
	softmem_region_put(region);
	/* More to discard: the manager may have work now. */
	if (!ret)
		softmem_manager_charged();
	return ret;
}

int softmem_region_resume(struct softmem_pool *pool, u64 handle,
			  bool *discarded)
{
	struct softmem_region *region;
	int ret = 0;

	region = softmem_region_get(pool, handle);
	if (!region)
		return -ENOENT;

	*discarded = false;
	spin_lock(&region->lock);
	switch (region->state) {
	case SOFTMEM_REGION_RESUMED:
		/* Reported intact: the loss can no longer be reported. */
		region->loss_unreported = false;
		break;
	case SOFTMEM_REGION_SUSPENDED:
		softmem_region_unsuspend(region);
		break;
	case SOFTMEM_REGION_DISCARDED:
		if (!softmem_pool_fifo(pool))
			softmem_region_unlink_pool(region);
		region->state = SOFTMEM_REGION_RESUMED;
		region->loss_unreported = true;
		*discarded = true;
		break;
	case SOFTMEM_REGION_DEAD:
		ret = -ENOENT;
		break;
	}
	spin_unlock(&region->lock);
	softmem_region_put(region);
	return ret;
}

/*
 * Moves a region to priority class @priority: if it is on the reclaim lists,
 * to the end of the new class's, as if it joined them now.
 */
int softmem_region_set_priority(struct softmem_pool *pool, u64 handle,
				unsigned int priority)
{
	struct softmem_region *region;
	bool listed;
	int ret = 0;

	region = softmem_region_get(pool, handle);
	if (!region)
		return -ENOENT;

	spin_lock(&region->lock);
	if (region->state == SOFTMEM_REGION_DEAD) {
		ret = -ENOENT;
	} else if (region->priority != priority) {
		listed = softmem_pool_fifo(pool) ||
			 region->state == SOFTMEM_REGION_SUSPENDED;
		if (listed)
			softmem_lru_del(region);
		region->priority = priority;
		if (listed) {
			softmem_lru_add(region);
			spin_lock(&pool->lru_lock);
			list_move_tail(&region->pool_lru,
				       &pool->suspended[priority]);
			spin_unlock(&pool->lru_lock);
		}
	}
	spin_unlock(&region->lock);
	softmem_region_put(region);
	return ret;
}

/*
 * Takes back the resume of a discarded region whose report never reached
 * user space, so that the next resume reports the loss: unless anything has
 * happened to the region since (a data operation, a suspend, or another
 * resume, which reported it intact).
 */
void softmem_region_unresume(struct softmem_pool *pool, u64 handle)
{
	struct softmem_region *region;

	region = softmem_region_get(pool, handle);
	if (!region)
		return;
	spin_lock(&region->lock);
	if (region->state == SOFTMEM_REGION_RESUMED &&
	    region->loss_unreported) {
		region->state = SOFTMEM_REGION_DISCARDED;
		region->loss_unreported = false;
	}
	spin_unlock(&region->lock);
	softmem_region_put(region);
}

static int softmem_region_usable(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	switch (region->state) {
	case SOFTMEM_REGION_DISCARDED:
		return -ESTALE;
	case SOFTMEM_REGION_DEAD:
		return -ENOENT;
	default:
		return 0;
	}
}

static void softmem_region_pin(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->state == SOFTMEM_REGION_SUSPENDED)
		softmem_region_unsuspend(region);
	region->loss_unreported = false;
	region->users++;
}

/*
 * Takes a region into use for a data operation: implicitly resumes it if it
 * is suspended and intact, fails with -ESTALE if it was discarded.
 */
int softmem_region_begin(struct softmem_region *region)
{
	int ret;

	spin_lock(&region->lock);
	ret = softmem_region_usable(region);
	if (!ret)
		softmem_region_pin(region);
	spin_unlock(&region->lock);
	return ret;
}

/*
 * Pins a usable region against reclaim without taking it into use, for an
 * operation that must fault in a user buffer before it may change anything:
 * reclaim cannot discard the region meanwhile.  softmem_region_begin_held()
 * then takes it into use, or softmem_region_end() lets it go unchanged.
 */
int softmem_region_hold(struct softmem_region *region)
{
	int ret;

	spin_lock(&region->lock);
	ret = softmem_region_usable(region);
	if (!ret)
		region->users++;
	spin_unlock(&region->lock);
	return ret;
}

/*
 * softmem_region_begin() for a region softmem_region_hold() pinned: fails,
 * letting the region go, only if it was freed meanwhile.
 */
int softmem_region_begin_held(struct softmem_region *region)
{
	int ret;

	spin_lock(&region->lock);
	region->users--;
	ret = softmem_region_usable(region);
	if (!ret)
		softmem_region_pin(region);
	spin_unlock(&region->lock);
	return ret;
}

/*
 * The same for two regions at once: either both are taken into use or
 * neither changes.
 */
int softmem_region_begin_pair(struct softmem_region *a,
			      struct softmem_region *b)
{
	struct softmem_region *first = a < b ? a : b;
	struct softmem_region *second = a < b ? b : a;
	int ret;

	if (a == b)
		return softmem_region_begin(a);

	spin_lock(&first->lock);
	spin_lock_nested(&second->lock, SINGLE_DEPTH_NESTING);
	ret = softmem_region_usable(a);
	if (!ret)
		ret = softmem_region_usable(b);
	if (!ret) {
		softmem_region_pin(a);
		softmem_region_pin(b);
	}
	spin_unlock(&second->lock);
	spin_unlock(&first->lock);
	return ret;
}

void softmem_region_end(struct softmem_region *region)
{
	spin_lock(&region->lock);
	region->users--;
	spin_unlock(&region->lock);
}

/*
 * Discards a suspended region the caller has already taken off the reclaim
 * list_lru: detaches its pages onto @dispose and marks it discarded.  The
 * pages are freed by softmem_region_free_pages() once locks are dropped.
 */
void softmem_region_discard_locked(struct softmem_region *region,
				   struct list_head *dispose)
{
	struct softmem_pool *pool = region->pool;
	unsigned long nr = softmem_region_resident(region);

	lockdep_assert_held(&region->lock);
	WARN_ON_ONCE(region->state != SOFTMEM_REGION_SUSPENDED || region->users);

	softmem_region_add_suspended(region, -(long)nr);
	if (region->backing) {
		softmem_pages_account(pool, region->backing, -(long)nr);
		list_add(&region->backing->dispose, dispose);
		region->backing = NULL;
	}
	region->state = SOFTMEM_REGION_DISCARDED;
	softmem_pool_uncharge(pool, nr);
	softmem_stat_add(pool, SOFTMEM_STAT_DISCARDED_PAGES, nr);
	softmem_stat_add(pool, SOFTMEM_STAT_DISCARD_EVENTS, 1);
}

/* Frees the page sets on @dispose; returns the number of pages freed. */
unsigned long softmem_region_free_pages(struct list_head *dispose)
{
	struct softmem_pages *backing, *next;
	unsigned long freed = 0;

	list_for_each_entry_safe(backing, next, dispose, dispose) {
		freed += backing->nr_pages;
		softmem_pages_destroy(backing);
	}
	return freed;
}
