// SPDX-License-Identifier: GPL-2.0
/*
 * Reclaim: a shrinker that discards whole suspended regions, least recently
 * suspended first.
 *
 * Suspended regions sit on one list_lru, which keeps a list per NUMA node and
 * per memory cgroup: a cgroup at memory.max discards its own regions, and
 * pressure on one node discards regions whose pages are there.  The shrinker
 * counts and scans in pages; the list_lru counts regions, so the page count
 * of a list is estimated from the average size of a suspended region.
 */
#include <linux/list_lru.h>
#include <linux/memcontrol.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

#include "compat.h"
#include "softmem.h"

struct list_lru softmem_lru;
static struct shrinker *softmem_shrinker;
/* Callbacks may run before the list_lru exists on kernels before 6.7. */
static bool softmem_lru_ready;

void softmem_lru_add(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	softmem_compat_lru_add(&softmem_lru, &region->lru);
}

void softmem_lru_del(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	softmem_compat_lru_del(&softmem_lru, &region->lru);
}

/* Pages per suspended region, on average over the module; at least 1. */
static unsigned long softmem_pages_per_region(void)
{
	long regions = list_lru_count(&softmem_lru);
	long pages = atomic_long_read(&softmem_global_stats[SOFTMEM_STAT_SUSPENDED_PAGES]);

	if (regions <= 0 || pages <= regions)
		return 1;
	return pages / regions;
}

static unsigned long softmem_shrink_count(struct shrinker *shrinker,
					  struct shrink_control *sc)
{
	unsigned long regions, per_region;

	/* Pairs with the release at the end of softmem_reclaim_init(). */
	if (!smp_load_acquire(&softmem_lru_ready))
		return 0;
	regions = list_lru_shrink_count(&softmem_lru, sc);
	if (!regions)
		return SHRINK_EMPTY;
	/*
	 * Reclaim asks for work in batches, of 128 pages unless the shrinker
	 * says otherwise; a batch smaller than a region would discard a whole
	 * region for every few pages asked for.
	 */
	per_region = softmem_pages_per_region();
	WRITE_ONCE(shrinker->batch, per_region > 128 ? per_region : 0);
	return regions * per_region;
}

/*
 * Called with the list's lock held: takes the region's lock only if it is
 * free, leaves regions that a data operation is using, and moves the pages
 * of the rest to @arg for freeing after the walk.  The region stays on its
 * pool's list of suspended regions, which skips discarded entries.
 */
static enum lru_status softmem_isolate(struct list_head *item,
				       struct list_lru_one *list, void *arg)
{
	struct softmem_region *region =
		container_of(item, struct softmem_region, lru);

	if (!spin_trylock(&region->lock))
		return LRU_SKIP;
	if (region->users) {
		spin_unlock(&region->lock);
		return LRU_ROTATE;
	}
	list_lru_isolate(list, item);
	softmem_region_discard_locked(region, arg);
	spin_unlock(&region->lock);
	return LRU_REMOVED;
}

static unsigned long softmem_shrink_scan(struct shrinker *shrinker,
					 struct shrink_control *sc)
{
	unsigned long pages = sc->nr_to_scan;
	unsigned long freed;
	LIST_HEAD(dispose);

	/* Pairs with the release at the end of softmem_reclaim_init(). */
	if (!smp_load_acquire(&softmem_lru_ready))
		return SHRINK_STOP;

	/*
	 * Walk as many regions as make up the pages asked for.  The core
	 * still accounts sc->nr_scanned, left at the pages it asked for: a
	 * larger value would underflow its remaining scan count.
	 */
	sc->nr_to_scan = DIV_ROUND_UP(pages, softmem_pages_per_region());
	softmem_compat_lru_shrink_walk(&softmem_lru, sc, softmem_isolate,
				       &dispose);
	freed = softmem_region_free_pages(&dispose);
	softmem_compat_account_reclaimed(freed);
	return freed;
}

int softmem_reclaim_init(void)
{
	int ret;

	softmem_shrinker = softmem_compat_shrinker_alloc("softmem");
	if (!softmem_shrinker)
		return -ENOMEM;
	softmem_shrinker->count_objects = softmem_shrink_count;
	softmem_shrinker->scan_objects = softmem_shrink_scan;
	softmem_shrinker->seeks = DEFAULT_SEEKS;

	if (SOFTMEM_SHRINKER_ID_BEFORE_REGISTER) {
		ret = list_lru_init_memcg(&softmem_lru, softmem_shrinker);
		if (ret)
			goto err_free;
		ret = softmem_compat_shrinker_register(softmem_shrinker, "softmem");
		if (ret)
			goto err_lru;
	} else {
		ret = softmem_compat_shrinker_register(softmem_shrinker, "softmem");
		if (ret)
			goto err_free;
		ret = list_lru_init_memcg(&softmem_lru, softmem_shrinker);
		if (ret)
			goto err_free;
	}
	/* Callbacks that see the flag see an initialised list_lru. */
	smp_store_release(&softmem_lru_ready, true);
	return 0;

err_lru:
	list_lru_destroy(&softmem_lru);
err_free:
	softmem_compat_shrinker_free(softmem_shrinker);
	return ret;
}

void softmem_reclaim_exit(void)
{
	softmem_compat_shrinker_free(softmem_shrinker);
	list_lru_destroy(&softmem_lru);
}
