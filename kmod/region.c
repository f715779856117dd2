// SPDX-License-Identifier: GPL-2.0
/*
 * Regions: the objects behind handles and exported files, their lifetime
 * and the state machine they share among their holders
 *
 *   RESUMED --last holder suspends--> SUSPENDED --reclaim--> DISCARDED
 *      ^                                  |                      |
 *      +---- a holder resumes, or a ------+                      |
 *      |     data operation resumes one                          |
 *      +------------------ a holder resumes --------------------+
 *
 * and DEAD once no handle and no file is left.  What each holder was told
 * is in its handle (handle.c); a region counts the handles that hold it
 * resumed and is discardable only when none does and no data operation or
 * page fault is using it (softmem_region.users).  Lock-free handles are not
 * counted: a region only they hold stays SUSPENDED, and reclaim asks their
 * state words before each discard (words.c).
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "softmem.h"
#include "trace.h"

static struct kmem_cache *softmem_region_cache;
static atomic64_t softmem_region_ids;

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

/*
 * A new region of @pool, resumed, with no holder yet: the caller makes its
 * first handle, which takes over the reference returned.
 */
struct softmem_region *softmem_region_create(struct softmem_pool *pool,
					     u64 length, int nid,
					     unsigned int priority, bool huge)
{
	struct softmem_region *region;

	region = kmem_cache_zalloc(softmem_region_cache, SOFTMEM_GFP_KERNEL);
	if (!region)
		return NULL;
	region->id = atomic64_inc_return(&softmem_region_ids);
	spin_lock_init(&region->lock);
	region->state = SOFTMEM_REGION_RESUMED;
	INIT_LIST_HEAD(&region->pool_lru);
	INIT_LIST_HEAD(&region->word_handles);
	region->pool = pool;
	region->nr_pages = length >> PAGE_SHIFT;
	region->nid = nid;
	region->huge = huge;
	region->priority = priority;
	refcount_set(&region->ref, 1);
	softmem_pool_get(pool);
	softmem_region_link_pool(region);
	/* Its %REGIONS the caller charged, with the limits. */
	atomic_long_add(region->nr_pages,
			&softmem_global_stats[SOFTMEM_STAT_LENGTH_PAGES]);
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
	/* Unlinked from every list when its last holder went. */
	if (region->backing) {
		softmem_pool_uncharge(pool, region->backing->nr_pages);
		softmem_pages_account(pool, region->backing,
				      -(long)region->backing->nr_pages);
		softmem_stat_add(pool, SOFTMEM_STAT_HUGE_PAGES,
				 -(long)region->backing->nr_huge);
		softmem_pages_destroy(region->backing);
	}
	if (region->inode)
		softmem_export_release_inode(region->inode);
	atomic_long_dec(&softmem_global_stats[SOFTMEM_STAT_REGIONS]);
	atomic_long_sub(region->nr_pages,
			&softmem_global_stats[SOFTMEM_STAT_LENGTH_PAGES]);
	call_rcu(&region->rcu, softmem_region_free_rcu);
	softmem_pool_put(pool);
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

/* The last handle holding a region resumed let it go: it is discardable. */
static void softmem_region_suspend(struct softmem_region *region)
{
	struct softmem_pool *pool = region->pool;

	lockdep_assert_held(&region->lock);
	region->state = SOFTMEM_REGION_SUSPENDED;
	softmem_region_add_suspended(region, softmem_region_resident(region));
	if (softmem_pool_fifo(pool))
		return;
	softmem_lru_add(region);
	spin_lock(&pool->lru_lock);
	list_move_tail(&region->pool_lru, &pool->suspended[region->priority]);
	spin_unlock(&pool->lru_lock);
}

/*
 * @region got its first pages since allocation or discard.  It is listed
 * from then on under SOFTMEM_POLICY_FIFO, or if it is suspended (a mapping
 * or a lock-free holder wrote it): on the reclaim lists, and again at the
 * end of its pool's if a pool walk unlinked it while it had no pages.
 * Never once freed, or its pages would stay listed.
 */
void softmem_region_got_pages(struct softmem_region *region)
{
	struct softmem_pool *pool = region->pool;

	lockdep_assert_held(&region->lock);
	if (region->state == SOFTMEM_REGION_DEAD)
		return;
	if (softmem_pool_fifo(pool)) {
		softmem_lru_add(region);
		return;
	}
	if (region->state != SOFTMEM_REGION_SUSPENDED)
		return;
	softmem_lru_add(region);
	spin_lock(&pool->lru_lock);
	if (list_empty(&region->pool_lru))
		list_add_tail(&region->pool_lru,
			      &pool->suspended[region->priority]);
	spin_unlock(&pool->lru_lock);
}

/* A handle now holds @region resumed. */
void softmem_region_take_resumed(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->resumed++)
		return;
	switch (region->state) {
	case SOFTMEM_REGION_SUSPENDED:
		softmem_region_unsuspend(region);
		break;
	case SOFTMEM_REGION_DISCARDED:
		if (!softmem_pool_fifo(region->pool))
			softmem_region_unlink_pool(region);
		region->state = SOFTMEM_REGION_RESUMED;
		break;
	default:
		break;
	}
}

/* A handle no longer holds @region resumed: the last one suspends it. */
void softmem_region_drop_resumed(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (WARN_ON_ONCE(!region->resumed))
		return;
	if (--region->resumed)
		return;
	if (region->state == SOFTMEM_REGION_RESUMED)
		softmem_region_suspend(region);
}

/*
 * A lock-free handle (words.c), which the count of resumed handles does not
 * show, resumed @region: a discarded region is in use again, and a new one
 * no counted handle holds resumed is suspended as far as reclaim knows, so
 * that reclaim asks the state words before discarding it.
 */
void softmem_region_settle(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->state == SOFTMEM_REGION_DEAD)
		return;
	softmem_region_take_resumed(region);
	softmem_region_drop_resumed(region);
}

/*
 * A handle or file of @region went away; the last one kills the region,
 * which only operations in flight still hold.
 */
void softmem_region_drop_holder(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->handles || region->files)
		return;
	if (region->state == SOFTMEM_REGION_SUSPENDED)
		softmem_region_unsuspend(region);
	/* Off every list it may still be on, whatever the policy. */
	softmem_lru_del(region);
	softmem_region_unlink_pool(region);
	/* Read unlocked by softmem_pages_populate(). */
	WRITE_ONCE(region->state, SOFTMEM_REGION_DEAD);
}

/*
 * Moves a region to priority class @priority: if it is on the reclaim lists,
 * to the end of the new class's, as if it joined them now.
 */
void softmem_region_set_priority(struct softmem_region *region,
				 unsigned int priority)
{
	struct softmem_pool *pool = region->pool;
	bool listed;

	spin_lock(&region->lock);
	if (region->state != SOFTMEM_REGION_DEAD &&
	    region->priority != priority) {
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
}

/*
 * Pins @region for a page fault on one of its mappings: fails with -ESTALE
 * if it is discarded and no holder has resumed it since.  A mapping changes
 * no holder's state, so a suspended region stays suspended (and listed),
 * only pinned until softmem_region_end().
 */
int softmem_region_fault_begin(struct softmem_region *region)
{
	int ret = 0;

	spin_lock(&region->lock);
	if (region->state == SOFTMEM_REGION_DISCARDED)
		ret = -ESTALE;
	else
		region->users++;
	spin_unlock(&region->lock);
	return ret;
}

void softmem_region_end(struct softmem_region *region)
{
	spin_lock(&region->lock);
	region->users--;
	spin_unlock(&region->lock);
}

/*
 * Removes every mapping of the pages of the region's last discard from the
 * page tables (and TLBs) of the processes that map it: faults from then on
 * find the region discarded and raise SIGBUS, or find its new pages.  May
 * sleep.  A resume waits for it (see handle.c), so that no write through an
 * old mapping can follow the resume and land in a page about to be freed.
 */
void softmem_region_zap(struct softmem_region *region)
{
	u64 target;

	spin_lock(&region->lock);
	target = region->zap_gen;
	spin_unlock(&region->lock);
	if (target <= READ_ONCE(region->zapped_gen))
		return;
	unmap_mapping_range(region->inode->i_mapping, 0, 0, 1);
	spin_lock(&region->lock);
	if (region->zapped_gen < target)
		region->zapped_gen = target;
	spin_unlock(&region->lock);
}

/*
 * Discards a suspended region the caller has already taken off the reclaim
 * list_lru: detaches its pages onto @dispose and marks it discarded.  The
 * pages are freed by softmem_region_free_pages() once locks are dropped,
 * after the mappings of a mapped region are zapped; the page set holds a
 * reference on the region for that.
 */
void softmem_region_discard_locked(struct softmem_region *region,
				   struct list_head *dispose,
				   enum softmem_discard_reason reason)
{
	struct softmem_pool *pool = region->pool;
	unsigned long nr = softmem_region_resident(region);

	lockdep_assert_held(&region->lock);
	WARN_ON_ONCE(region->state != SOFTMEM_REGION_SUSPENDED ||
		     region->users || region->resumed);
	trace_softmem_discard(region, nr, reason);

	softmem_region_add_suspended(region, -(long)nr);
	region->gen++;
	if (region->backing) {
		softmem_pages_account(pool, region->backing, -(long)nr);
		softmem_stat_add(pool, SOFTMEM_STAT_HUGE_PAGES,
				 -(long)region->backing->nr_huge);
		/*
		 * Only a mapping can hold page table entries: one made before
		 * a fault that filled them, which finished (unpinned) before
		 * this discard could start, so it is in the tree by now.
		 */
		if (region->inode && mapping_mapped(region->inode->i_mapping)) {
			region->zap_gen = region->gen;
			refcount_inc(&region->ref);
			region->backing->zap = true;
		}
		list_add(&region->backing->dispose, dispose);
		region->backing = NULL;
	}
	region->state = SOFTMEM_REGION_DISCARDED;
	softmem_pool_uncharge(pool, nr);
	softmem_stat_add(pool, SOFTMEM_STAT_DISCARDED_PAGES, nr);
	softmem_stat_add(pool, SOFTMEM_STAT_DISCARD_EVENTS, 1);
}

/*
 * Frees the page sets on @dispose, each after zapping the mappings of its
 * region if it may have any; returns the number of pages freed.
 */
unsigned long softmem_region_free_pages(struct list_head *dispose)
{
	struct softmem_pages *backing, *next;
	unsigned long freed = 0;

	list_for_each_entry_safe(backing, next, dispose, dispose) {
		struct softmem_region *region = backing->region;
		bool zap = backing->zap;

		if (zap)
			softmem_region_zap(region);
		freed += backing->nr_pages;
		softmem_pages_destroy(backing);
		if (zap)
			softmem_region_put(region);
	}
	return freed;
}
