// SPDX-License-Identifier: GPL-2.0
/*
 * The pages of a region: allocated zeroed on first write, charged to the
 * writer's memory cgroup, never on an LRU list and so never swapped.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "softmem.h"

/*
 * __GFP_RETRY_MAYFAIL: a pool that cannot get memory sees ENOMEM rather than
 * invoking the OOM killer on its own or its cgroup's behalf.
 */
#define SOFTMEM_GFP	(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT | \
			 __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* What reads of never-written pages see. */
static struct page *softmem_zero_page;

int softmem_pages_init(void)
{
	softmem_zero_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	return softmem_zero_page ? 0 : -ENOMEM;
}

void softmem_pages_exit(void)
{
	__free_page(softmem_zero_page);
}

/*
 * Only the region's first writer installs the page set; while a data
 * operation holds the region, the set stays installed.
 */
static struct softmem_pages *softmem_pages_get(struct softmem_region *region)
{
	/* Pairs with the release below: see the set fully initialised. */
	struct softmem_pages *backing = smp_load_acquire(&region->backing);
	struct softmem_pages *fresh;

	if (backing)
		return backing;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	xa_init(&fresh->pages);

	spin_lock(&region->lock);
	backing = region->backing;
	if (!backing) {
		/* Lockless readers in this operation see an initialised set. */
		smp_store_release(&region->backing, fresh);
		backing = fresh;
		fresh = NULL;
	}
	spin_unlock(&region->lock);
	kfree(fresh);
	return backing;
}

static struct page *softmem_page_alloc(struct softmem_region *region)
{
	if (region->nid == NUMA_NO_NODE)
		return alloc_page(SOFTMEM_GFP);
	return alloc_pages_node(region->nid, SOFTMEM_GFP | __GFP_THISNODE, 0);
}

static int softmem_page_add(struct softmem_region *region,
			    struct softmem_pages *backing, unsigned long index)
{
	struct softmem_pool *pool = region->pool;
	struct page *page, *old;
	int ret;

	ret = softmem_pool_charge(pool, 1);
	if (ret)
		return ret;

	page = softmem_page_alloc(region);
	if (!page && softmem_pool_discard_own(pool, 1))
		page = softmem_page_alloc(region);
	if (!page) {
		softmem_pool_uncharge(pool, 1);
		return -ENOMEM;
	}

	old = xa_cmpxchg(&backing->pages, index, NULL, page, GFP_KERNEL_ACCOUNT);
	if (old) {
		/* Lost a race with another writer, or out of memory. */
		__free_page(page);
		softmem_pool_uncharge(pool, 1);
		return xa_is_err(old) ? xa_err(old) : 0;
	}

	spin_lock(&region->lock);
	if (!backing->nr_pages && region->state != SOFTMEM_REGION_SUSPENDED)
		region->lru_nid = page_to_nid(page);
	backing->nr_pages++;
	if (region->state == SOFTMEM_REGION_SUSPENDED)
		softmem_stat_add(pool, SOFTMEM_STAT_SUSPENDED_PAGES, 1);
	spin_unlock(&region->lock);
	return 0;
}

/*
 * Allocates every missing page of [offset, offset + length) so that a write
 * can then no longer fail for lack of memory halfway.
 */
int softmem_pages_populate(struct softmem_region *region, u64 offset,
			   u64 length)
{
	struct softmem_pages *backing;
	unsigned long index, last;
	int ret;

	if (!length)
		return 0;
	backing = softmem_pages_get(region);
	if (!backing)
		return -ENOMEM;

	last = (offset + length - 1) >> PAGE_SHIFT;
	for (index = offset >> PAGE_SHIFT; index <= last; index++) {
		if (xa_load(&backing->pages, index))
			continue;
		ret = softmem_page_add(region, backing, index);
		if (ret)
			return ret;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

struct page *softmem_page_lookup(struct softmem_region *region,
				 unsigned long index)
{
	/* Pairs with the release in softmem_pages_get(). */
	struct softmem_pages *backing = smp_load_acquire(&region->backing);

	return backing ? xa_load(&backing->pages, index) : NULL;
}

struct page *softmem_page_lookup_or_zero(struct softmem_region *region,
					 unsigned long index)
{
	return softmem_page_lookup(region, index) ?: softmem_zero_page;
}

void softmem_pages_destroy(struct softmem_pages *backing)
{
	struct page *page;
	unsigned long index;

	xa_for_each(&backing->pages, index, page) {
		__free_page(page);
		cond_resched();
	}
	xa_destroy(&backing->pages);
	kfree(backing);
}
