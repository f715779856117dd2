// SPDX-License-Identifier: GPL-2.0
/*
 * Pools: the regions of one open /dev/softmem, and the pool's limit on
 * resident pages.
 */
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "softmem.h"

static atomic64_t softmem_pool_ids;

struct softmem_pool *softmem_pool_create(void)
{
	struct softmem_pool *pool;
	int prio;

	pool = kzalloc(struct_size(pool, node_stats, nr_node_ids),
		       SOFTMEM_GFP_KERNEL);
	if (!pool)
		return NULL;
	xa_init_flags(&pool->regions, XA_FLAGS_ALLOC1);
	spin_lock_init(&pool->lru_lock);
	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES; prio++)
		INIT_LIST_HEAD(&pool->suspended[prio]);
	pool->limit_pages = softmem_pool_max_pages();
	pool->id_max = U32_MAX;
	refcount_set(&pool->ref, 1);
	pool->id = atomic64_inc_return(&softmem_pool_ids);
	atomic_long_inc(&softmem_pools);
	return pool;
}

void softmem_pool_get(struct softmem_pool *pool)
{
	refcount_inc(&pool->ref);
}

/* The last reference: the pool is closed and its regions are gone. */
void softmem_pool_put(struct softmem_pool *pool)
{
	if (!refcount_dec_and_test(&pool->ref))
		return;
	WARN_ON_ONCE(atomic_long_read(&pool->stats[SOFTMEM_STAT_RESIDENT_PAGES]));
	softmem_words_free(pool);
	kfree(pool);
}

/*
 * Called on the last close: no operation can be in flight any more.  The
 * pool's handles go; regions other pools or files still hold stay, charged
 * to the pool, which lives on until the last of them is freed.
 */
void softmem_pool_destroy(struct softmem_pool *pool)
{
	struct softmem_handle *handle;
	unsigned long index;

	xa_for_each(&pool->regions, index, handle) {
		xa_erase(&pool->regions, index);
		softmem_handle_remove(handle);
		cond_resched();
	}
	xa_destroy(&pool->regions);
	atomic_long_dec(&softmem_pools);
	softmem_pool_put(pool);
}

/*
 * Takes the first region off @list, one of its pool's lists, and discards
 * it if it is suspended, has pages and no data operation is using it; a
 * region whose lock is busy goes to @skipped.  Under SOFTMEM_POLICY_FIFO
 * the list holds every region, and each goes to @skipped, keeping its
 * place; under LRU a region that is not (or no longer) suspended with
 * pages is unlinked, the others go to @skipped.  A region whose lock-free
 * holders refuse (words.c) counts in @refused.  Returns the pages it will
 * free.
 */
static unsigned long softmem_pool_discard_first(struct softmem_pool *pool,
						struct list_head *list,
						struct list_head *skipped,
						struct list_head *dispose,
						unsigned long *refused)
{
	struct softmem_region *region;
	bool fifo = softmem_pool_fifo(pool);
	unsigned long nr = 0;

	lockdep_assert_held(&pool->lru_lock);
	region = list_first_entry(list, struct softmem_region, pool_lru);
	if (!spin_trylock(&region->lock)) {
		list_move_tail(&region->pool_lru, skipped);
		return 0;
	}

	if (region->state == SOFTMEM_REGION_SUSPENDED && !region->users &&
	    region->backing) {
		if (softmem_words_claim(region, true)) {
			(*refused)++;
		} else {
			nr = region->backing->nr_pages;
			softmem_lru_del(region);
			softmem_region_discard_locked(region, dispose,
						      SOFTMEM_DISCARD_POOL_LIMIT);
		}
	}
	/*
	 * Under LRU only regions with pages to give stay listed: a region
	 * without (never written, or emptied) has nothing to discard and
	 * reads as zeros either way; it is listed again when next suspended.
	 */
	if (fifo || (region->state == SOFTMEM_REGION_SUSPENDED &&
		     region->backing))
		list_move_tail(&region->pool_lru, skipped);
	else
		list_del_init(&region->pool_lru);
	spin_unlock(&region->lock);
	return nr;
}

/* Regions looked at between two chances to reschedule. */
#define SOFTMEM_DISCARD_BATCH	256

/*
 * Discards the pool's suspended regions, lowest priority class first, each
 * class in the order of the pool's policy, until at least @nr_pages pages
 * are freed or none is left.  Returns pages freed.  A list may be long
 * (empty regions cost no pages; under FIFO resumed regions are listed too),
 * so the walk takes one region at a time off its head and lets others in
 * now and then; regions it skipped go back to the head, in their order.  A
 * class whose lock-free holders refused some regions is walked once more if
 * that left pages to free: the first walk cleared their reference bits.
 */
unsigned long softmem_pool_discard_own(struct softmem_pool *pool,
				       unsigned long nr_pages)
{
	unsigned long freed = 0, seen = 0, refused;
	LIST_HEAD(skipped);
	LIST_HEAD(dispose);
	int prio;

	might_sleep();
	spin_lock(&pool->lru_lock);
	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES; prio++) {
		struct list_head *list = &pool->suspended[prio];
		int pass;

		for (pass = 0, refused = 0; pass < 2; pass++) {
			while (freed < nr_pages && !list_empty(list)) {
				freed += softmem_pool_discard_first(pool, list,
								    &skipped,
								    &dispose,
								    &refused);
				if (++seen % SOFTMEM_DISCARD_BATCH == 0)
					cond_resched_lock(&pool->lru_lock);
			}
			list_splice_init(&skipped, list);
			if (!refused)
				break;
		}
	}
	spin_unlock(&pool->lru_lock);

	softmem_region_free_pages(&dispose);
	return freed;
}

/* Sets the pool's policy; only while it has no region. */
int softmem_pool_set_policy(struct softmem_pool *pool, u32 policy)
{
	int ret = 0;

	if (policy != SOFTMEM_POLICY_LRU && policy != SOFTMEM_POLICY_FIFO)
		return -EINVAL;
	/* Pairs with softmem_region_link_pool(): see region.c. */
	spin_lock(&pool->lru_lock);
	if (atomic_long_read(&pool->stats[SOFTMEM_STAT_REGIONS]))
		ret = -EBUSY;
	else
		WRITE_ONCE(pool->policy, policy);
	spin_unlock(&pool->lru_lock);
	return ret;
}

/*
 * Sets @pool's limit, which the caller has checked against
 * softmem_pool_max_pages(), and discards the pool's own suspended regions
 * down to it.
 */
void softmem_pool_set_limit(struct softmem_pool *pool, u64 limit_bytes)
{
	unsigned long limit = limit_bytes >> PAGE_SHIFT;
	unsigned long resident;

	WRITE_ONCE(pool->limit_pages, limit);
	resident = atomic_long_read(&pool->stats[SOFTMEM_STAT_RESIDENT_PAGES]);
	if (resident > limit)
		softmem_pool_discard_own(pool, resident - limit);
}

static bool softmem_charge_counter(atomic_long_t *counter, unsigned long nr,
				   unsigned long limit)
{
	if (atomic_long_add_return(nr, counter) <= limit)
		return true;
	atomic_long_sub(nr, counter);
	return false;
}

/* Adds @nr to counter @item of @pool and of the module, or to neither. */
static int softmem_charge_stat(struct softmem_pool *pool, enum softmem_stat item,
			       unsigned long nr, unsigned long pool_limit,
			       unsigned long module_limit)
{
	if (!softmem_charge_counter(&pool->stats[item], nr, pool_limit))
		return -ENOMEM;
	if (!softmem_charge_counter(&softmem_global_stats[item], nr,
				    module_limit)) {
		atomic_long_sub(nr, &pool->stats[item]);
		return -ENOMEM;
	}
	return 0;
}

static int softmem_pool_try_charge(struct softmem_pool *pool, unsigned long nr)
{
	return softmem_charge_stat(pool, SOFTMEM_STAT_RESIDENT_PAGES, nr,
				   READ_ONCE(pool->limit_pages),
				   softmem_max_pages());
}

/*
 * Accounts a new region to @pool.  Descriptors are small, but without a cap
 * a user outside any memory cgroup limit could fill the kernel with them.
 */
int softmem_pool_charge_region(struct softmem_pool *pool)
{
	return softmem_charge_stat(pool, SOFTMEM_STAT_REGIONS, 1,
				   softmem_pool_max_regions(),
				   softmem_max_regions());
}

/*
 * Accounts an imported handle to @pool: it counts in the pool's regions and
 * their limit, not in the module's, which counts each region once.
 */
int softmem_pool_charge_handle(struct softmem_pool *pool)
{
	if (!softmem_charge_counter(&pool->stats[SOFTMEM_STAT_REGIONS], 1,
				    softmem_pool_max_regions()))
		return -ENOMEM;
	return 0;
}

/*
 * Accounts @nr new resident pages to @pool, first discarding the pool's own
 * suspended regions if the pool limit or the module-wide cap is reached.
 */
int softmem_pool_charge(struct softmem_pool *pool, unsigned long nr)
{
	int ret = softmem_pool_try_charge(pool, nr);

	if (ret) {
		if (!softmem_pool_discard_own(pool, nr))
			return -ENOMEM;
		ret = softmem_pool_try_charge(pool, nr);
	}
	if (!ret)
		softmem_manager_charged();
	return ret;
}

/*
 * Accounts @nr new resident pages to @pool only if they fit as things are:
 * for pages the caller can do without (a huge folio, where base pages would
 * do), which are not worth the pool's own suspended regions.
 */
int softmem_pool_charge_spare(struct softmem_pool *pool, unsigned long nr)
{
	int ret = softmem_pool_try_charge(pool, nr);

	if (!ret)
		softmem_manager_charged();
	return ret;
}

void softmem_pool_uncharge(struct softmem_pool *pool, unsigned long nr)
{
	softmem_stat_add(pool, SOFTMEM_STAT_RESIDENT_PAGES, -(long)nr);
}
