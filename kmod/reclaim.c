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
 *
 * A call discards no more than the reclaim that called it needs (its
 * budget), whole regions at a time, so at most one region more, and never
 * more than the core asks for:
 *
 *  - a memory cgroup over, or about to go over, its memory.max or
 *    memory.high (its own or an ancestor's): what it takes to bring the
 *    cgroup back under the limit, read from its page counters;
 *  - a node short of free memory (global reclaim): what its zones lack to
 *    reach their high watermarks;
 *  - an explicit request (drop_caches, the shrinker's debugfs scan file),
 *    which is no reclaim and has no reclaim state: what it asks for;
 *  - any other reclaim, memory.reclaim above all: nothing.  memory.reclaim
 *    does not tell a shrinker how much it wants and, since 6.4, does not
 *    count what a shrinker frees either, so it would call again and again
 *    until every suspended region in the cgroup was gone.  (6.1 counts the
 *    frees, but a shrinker cannot tell memory.reclaim from global reclaim
 *    there either, and one rule on every kernel is easier to rely on.)
 */
#include <linux/list_lru.h>
#include <linux/memcontrol.h>
#include <linux/mmzone.h>
#include <linux/page_counter.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

#include "compat.h"
#include "softmem.h"

struct list_lru softmem_lru;
static struct shrinker *softmem_shrinker;
/* Callbacks may run before the list_lru exists on kernels before 6.7. */
static bool softmem_lru_ready;

/*
 * Puts a suspended region's pages on the reclaim list of their node and
 * memory cgroup: the list of their page set (see &struct softmem_pages).
 */
void softmem_lru_add(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->backing)
		softmem_compat_lru_add(&softmem_lru, &region->backing->lru);
}

void softmem_lru_del(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->backing)
		softmem_compat_lru_del(&softmem_lru, &region->backing->lru);
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

/*
 * Pages that the memory cgroup @memcg, or the nearest of its ancestors in
 * that state, is over its memory.max or memory.high, counting the charge
 * batch a task is waiting to add: 0 when every level has room.
 */
static unsigned long softmem_memcg_excess(struct mem_cgroup *memcg)
{
	struct page_counter *counter;
	unsigned long excess = 0;

	if (!memcg || mem_cgroup_disabled())
		return 0;
	for (counter = &memcg->memory; counter; counter = counter->parent) {
		unsigned long limit = min(READ_ONCE(counter->max),
					  READ_ONCE(counter->high));
		unsigned long usage = page_counter_read(counter);

		if (usage + MEMCG_CHARGE_BATCH > limit)
			excess = max(excess, usage + MEMCG_CHARGE_BATCH - limit);
	}
	return excess;
}

/*
 * Pages that node @nid's zones lack to reach their high watermarks: when
 * nonzero, global reclaim (kswapd or a direct reclaimer) is at work on the
 * node, counts our frees as progress, and is done once the node has them.
 */
static unsigned long softmem_node_shortfall(int nid)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	unsigned long shortfall = 0;
	int i;

	for (i = 0; i < MAX_NR_ZONES; i++) {
		struct zone *zone = &pgdat->node_zones[i];
		unsigned long free, high;

		if (!managed_zone(zone))
			continue;
		free = zone_page_state(zone, NR_FREE_PAGES);
		high = high_wmark_pages(zone);
		if (free < high)
			shortfall += high - free;
	}
	return shortfall;
}

/*
 * Pages this call may discard: see the top of this file.  A cgroup over its
 * limit gives what it is over, and the node's shortfall is left to the other
 * cgroups, unless kswapd, which is surely global reclaim, is asking.
 */
static unsigned long softmem_reclaim_budget(struct shrink_control *sc)
{
	unsigned long excess = softmem_memcg_excess(sc->memcg);
	unsigned long shortfall = softmem_node_shortfall(sc->nid);
	unsigned long freed = softmem_compat_reclaimed_so_far();

	/* Not reclaim but drop_caches or the shrinker's debugfs scan file. */
	if (!current->reclaim_state)
		return ULONG_MAX;
	if (excess && !current_is_kswapd())
		return excess;
	/*
	 * Pages just freed may still sit in per-CPU lists, where the free
	 * page count does not see them: what this reclaim pass has freed
	 * already counts against the node's shortfall.
	 */
	shortfall = shortfall > freed ? shortfall - freed : 0;
	return max(excess, shortfall);
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
	/* Nothing to give this reclaim; the list stays marked non-empty. */
	if (!softmem_reclaim_budget(sc))
		return 0;
	/*
	 * Reclaim asks for work in batches, of 128 pages unless the shrinker
	 * says otherwise; a batch smaller than a region would discard a whole
	 * region for every few pages asked for.
	 */
	per_region = softmem_pages_per_region();
	WRITE_ONCE(shrinker->batch, per_region > 128 ? per_region : 0);
	return regions * per_region;
}

/**
 * struct softmem_scan - one call of softmem_shrink_scan()
 * @dispose: page sets of the regions discarded, freed after the walk
 * @budget: pages the call may still discard; it discards whole regions, so
 *	the last one may take it past, unless @within
 * @within: discard only regions that fit in what is left of @budget
 */
struct softmem_scan {
	struct list_head dispose;
	unsigned long budget;
	bool within;
};

/*
 * Called with the list's lock held: takes the region's lock only if it is
 * free, leaves regions that a data operation is using, and moves the pages
 * of the rest to the scan's dispose list for freeing after the walk.  The
 * region stays on its pool's list of suspended regions, which skips
 * discarded entries.  Once the budget is spent the rest of the walk only
 * skips.
 */
static enum lru_status softmem_isolate(struct list_head *item,
				       struct list_lru_one *list, void *arg)
{
	struct softmem_pages *backing =
		container_of(item, struct softmem_pages, lru);
	struct softmem_region *region = backing->region;
	struct softmem_scan *scan = arg;
	unsigned long nr;

	/*
	 * The region cannot go while its pages are on the list: taking them
	 * off takes the list's lock, which the walk holds.
	 */
	if (!scan->budget || !spin_trylock(&region->lock))
		return LRU_SKIP;
	if (region->users) {
		spin_unlock(&region->lock);
		return LRU_ROTATE;
	}
	nr = backing->nr_pages;
	if (scan->within && nr > scan->budget) {
		spin_unlock(&region->lock);
		return LRU_SKIP;
	}
	list_lru_isolate(list, item);
	softmem_region_discard_locked(region, &scan->dispose);
	spin_unlock(&region->lock);
	scan->budget -= min(nr, scan->budget);
	return LRU_REMOVED;
}

static unsigned long softmem_shrink_scan(struct shrinker *shrinker,
					 struct shrink_control *sc)
{
	struct softmem_scan scan = {
		.dispose = LIST_HEAD_INIT(scan.dispose),
	};
	unsigned long pages = sc->nr_to_scan;
	unsigned long freed;

	/* Pairs with the release at the end of softmem_reclaim_init(). */
	if (!smp_load_acquire(&softmem_lru_ready))
		return SHRINK_STOP;
	scan.budget = min(pages, softmem_reclaim_budget(sc));
	if (!scan.budget)
		return SHRINK_STOP;

	/*
	 * Walk as many regions as make up the pages asked for.  The core
	 * still accounts sc->nr_scanned, left at the pages it asked for: a
	 * larger value would underflow its remaining scan count.
	 */
	sc->nr_to_scan = DIV_ROUND_UP(pages, softmem_pages_per_region());
	softmem_compat_lru_shrink_walk(&softmem_lru, sc, softmem_isolate,
				       &scan);
	freed = softmem_region_free_pages(&scan.dispose);
	softmem_compat_account_reclaimed(freed);
	return freed;
}

/*
 * Discards suspended regions whose pages are on node @nid, in every memory
 * cgroup, least recently suspended first in each, until @budget pages are
 * freed, and only regions that fit in it if @within (for the manager, see
 * manager.c).  Returns the pages freed.
 */
unsigned long softmem_reclaim_node(int nid, unsigned long budget, bool within)
{
	struct softmem_scan scan = {
		.dispose = LIST_HEAD_INIT(scan.dispose),
		.budget = budget,
		.within = within,
	};
	unsigned long nr_to_walk;

	/* Pairs with the release at the end of softmem_reclaim_init(). */
	if (!smp_load_acquire(&softmem_lru_ready))
		return 0;
	nr_to_walk = list_lru_count_node(&softmem_lru, nid);
	softmem_compat_lru_walk_node(&softmem_lru, nid, softmem_isolate,
				     &scan, &nr_to_walk);
	return softmem_region_free_pages(&scan.dispose);
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
