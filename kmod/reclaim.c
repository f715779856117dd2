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
 *  - a node short of free memory (global reclaim): what it lacks to be
 *    balanced as kswapd sees it, one zone above its high watermark;
 *  - an explicit request (drop_caches, the shrinker's debugfs scan file),
 *    which is no reclaim and has no reclaim state: what it asks for;
 *  - the OOM killer, before it kills (an OOM notifier): what each node lacks
 *    to its high watermark, boost included, and at least a region;
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
#include <linux/oom.h>
#include <linux/page_counter.h>
#include <linux/shrinker.h>
#include <linux/slab.h>

#include "compat.h"
#include "softmem.h"

/* One list_lru per priority class, lowest discarded first. */
struct list_lru softmem_lru[SOFTMEM_NR_PRIORITIES];
static struct shrinker *softmem_shrinker;
/* Callbacks may run before the list_lru exists on kernels before 6.7. */
static bool softmem_lru_ready;

/*
 * Puts a region's pages on the reclaim list of their priority class, node
 * and memory cgroup: the list of their page set (see &struct softmem_pages).
 * Whether a region is listed depends on its pool's policy (region.c).
 */
void softmem_lru_add(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->backing)
		softmem_compat_lru_add(&softmem_lru[region->priority],
				       &region->backing->lru);
}

void softmem_lru_del(struct softmem_region *region)
{
	lockdep_assert_held(&region->lock);
	if (region->backing)
		softmem_compat_lru_del(&softmem_lru[region->priority],
				       &region->backing->lru);
}

/* Listed regions of every class, on one node and cgroup or all of them. */
static unsigned long softmem_lru_count(struct shrink_control *sc)
{
	unsigned long regions = 0;
	int prio;

	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES; prio++)
		regions += sc ? list_lru_shrink_count(&softmem_lru[prio], sc) :
				list_lru_count(&softmem_lru[prio]);
	return regions;
}

/* Pages per suspended region, on average over the module; at least 1. */
static unsigned long softmem_pages_per_region(void)
{
	long regions = softmem_lru_count(NULL);
	long pages = atomic_long_read(&softmem_global_stats[SOFTMEM_STAT_SUSPENDED_PAGES]);

	if (regions <= 0 || pages <= regions)
		return 1;
	return pages / regions;
}

/*
 * Pages by which the memory cgroup @memcg or one of its ancestors (the most
 * of any level) is over its memory.max or memory.high, counting a charge
 * batch a task may be waiting to add: 0 when every level has room.
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

/* The highest zone of @pgdat with pages, -1 for a node without memory. */
static int softmem_top_zone(pg_data_t *pgdat)
{
	int top;

	for (top = MAX_NR_ZONES - 1; top >= 0; top--)
		if (managed_zone(&pgdat->node_zones[top]))
			break;
	return top;
}

/*
 * The pages @zone's watermarks may still rise by: a boost is up to one and
 * a half times its high watermark (the default watermark_boost_factor, which
 * modules cannot read), at least a pageblock.  An unmovable allocation that
 * takes a pageblock of another type boosts them, the region's own pages
 * among such allocations.
 */
static unsigned long softmem_zone_boost_left(struct zone *zone)
{
	unsigned long most = max_t(unsigned long, pageblock_nr_pages,
				   zone->_watermark[WMARK_HIGH] * 3 / 2);
	unsigned long boost = READ_ONCE(zone->watermark_boost);

	return most > boost ? most - boost : 0;
}

/*
 * Pages node @nid can give before its zones reach their high watermarks,
 * raised as far as a boost could still raise them, less what each zone
 * keeps from allocations that could use the node's highest zone (a
 * region's pages could: they would not get the reserve of a DMA zone, and
 * counting it had regions fill a node to its low watermark and wake
 * kswapd), so that a boost during a region's write does not make its
 * later pages fail on the node it was placed on.
 */
unsigned long softmem_node_room(int nid)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	unsigned long room = 0;
	int i, top = softmem_top_zone(pgdat);

	for (i = 0; i <= top; i++) {
		struct zone *zone = &pgdat->node_zones[i];
		unsigned long free, keep;

		if (!managed_zone(zone))
			continue;
		free = zone_page_state(zone, NR_FREE_PAGES);
		keep = high_wmark_pages(zone) + softmem_zone_boost_left(zone) +
		       zone->lowmem_reserve[top];
		if (free > keep)
			room += free - keep;
	}
	return room;
}

/*
 * Pages that node @nid lacks to be balanced as kswapd sees it: 0 once any of
 * its zones has free pages above its high watermark and the reserve it
 * keeps from allocations that could use the node's highest zone, else what
 * the zone closest to it lacks.  When nonzero, global reclaim (kswapd or a
 * direct reclaimer) is at work on the node, counts our frees as progress,
 * and is done once the node has them.  A small zone that stays short (the
 * DMA zone the hog cannot use) does not keep the budget open.
 *
 * The high watermark counts without its boost, the min one with it, and
 * the higher of the two wins.  The allocator boosts a zone's watermarks
 * when an allocation steals a pageblock of another migratetype, and wakes
 * kswapd to reclaim the boost, to head off fragmentation; a discarded
 * region frees unmovable pageblocks, which the next movable allocation
 * steals, so giving the boost had kswapd discard a region at each of its
 * wakes (40 MiB for 16 needed, 6.1).  But the boosted min is where
 * allocations fail and reclaim directly: below it, the boost must be
 * given, or a direct reclaimer finds nothing and the OOM killer runs with
 * suspended regions left (seen with the boost left out).  @full_boost
 * counts the high watermark with its boost, for the OOM notifier.
 */
static unsigned long softmem_node_shortfall(int nid, bool full_boost)
{
	pg_data_t *pgdat = NODE_DATA(nid);
	unsigned long shortfall = ULONG_MAX;
	int i, top = softmem_top_zone(pgdat);

	for (i = 0; i <= top; i++) {
		struct zone *zone = &pgdat->node_zones[i];
		unsigned long free, want;

		if (!managed_zone(zone))
			continue;
		free = zone_page_state(zone, NR_FREE_PAGES);
		if (full_boost)
			want = high_wmark_pages(zone);
		else
			want = max(READ_ONCE(zone->_watermark[WMARK_HIGH]),
				   min_wmark_pages(zone));
		want += zone->lowmem_reserve[top];
		if (free >= want)
			return 0;
		shortfall = min(shortfall, want - free);
	}
	return top < 0 ? 0 : shortfall;
}

/*
 * Pages this call may discard: see the top of this file.  A cgroup over its
 * limit gives what it is over, and the node's shortfall is left to the other
 * cgroups, unless kswapd, which is surely global reclaim, is asking.
 */
static unsigned long softmem_reclaim_budget(struct shrink_control *sc,
					    enum softmem_discard_reason *reason)
{
	unsigned long excess, shortfall, freed;

	*reason = SOFTMEM_DISCARD_SHRINKER;
	/* Not reclaim but drop_caches or the shrinker's debugfs scan file. */
	if (!current->reclaim_state)
		return ULONG_MAX;
	excess = softmem_memcg_excess(sc->memcg);
	if (excess && !current_is_kswapd()) {
		*reason = SOFTMEM_DISCARD_MEMCG;
		return excess;
	}
	shortfall = softmem_node_shortfall(sc->nid, false);
	freed = softmem_compat_reclaimed_so_far();
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
	enum softmem_discard_reason reason;
	unsigned long regions, per_region;

	/* Pairs with the release at the end of softmem_reclaim_init(). */
	if (!smp_load_acquire(&softmem_lru_ready))
		return 0;
	regions = softmem_lru_count(sc);
	if (!regions)
		return SHRINK_EMPTY;
	/* Nothing to give this reclaim; the list stays marked non-empty. */
	if (!softmem_reclaim_budget(sc, &reason))
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

/* Pools a walk keeps shares for; those beyond go unchecked. */
#define SOFTMEM_SCAN_SHARES	8

/**
 * struct softmem_share - what one pool gives to one walk
 * @pool: the pool
 * @allowed: pages it should give: its part of the walk's budget, in
 *	proportion to what it has suspended
 * @given: pages it gave
 */
struct softmem_share {
	struct softmem_pool *pool;
	unsigned long allowed;
	unsigned long given;
};

/**
 * struct softmem_scan - one walk of the reclaim lists
 * @dispose: page sets of the regions discarded, freed after the walk
 * @budget: pages the walk may still discard; it discards whole regions, so
 *	the last one may take it past, unless @within
 * @within: discard only regions that fit in what is left of @budget
 * @reason: what the discards are for, for the tracepoint
 * @clock: give a region its lock-free holders referenced a second chance
 *	(words.c); not for an explicit request, which takes what it can
 * @fair: skip regions of pools that gave their share already
 * @unfair_skips: regions skipped for that reason
 * @total: the budget the walk started with
 * @nr_shares: entries of @shares in use
 * @shares: what each pool met so far gave
 */
struct softmem_scan {
	struct list_head dispose;
	unsigned long budget;
	bool within;
	enum softmem_discard_reason reason;
	bool clock;
	bool fair;
	unsigned long unfair_skips;
	unsigned long total;
	unsigned int nr_shares;
	struct softmem_share shares[SOFTMEM_SCAN_SHARES];
};

/*
 * The share of @pool in @scan: its part of the budget in proportion to the
 * pages it has suspended out of all suspended pages, at least a page.  NULL
 * when the table is full.
 */
static struct softmem_share *softmem_scan_share(struct softmem_scan *scan,
						struct softmem_pool *pool)
{
	struct softmem_share *share;
	unsigned long mine, all;
	unsigned int i;

	for (i = 0; i < scan->nr_shares; i++)
		if (scan->shares[i].pool == pool)
			return &scan->shares[i];
	if (scan->nr_shares == SOFTMEM_SCAN_SHARES)
		return NULL;
	mine = max(atomic_long_read(&pool->stats[SOFTMEM_STAT_SUSPENDED_PAGES]), 0L);
	all = max(atomic_long_read(&softmem_global_stats[SOFTMEM_STAT_SUSPENDED_PAGES]), 1L);
	share = &scan->shares[scan->nr_shares++];
	share->pool = pool;
	share->allowed = max(mult_frac(scan->total, min(mine, all), all), 1UL);
	share->given = 0;
	return share;
}

/*
 * Called with the list's lock held: takes the region's lock only if it is
 * free, leaves regions that a data operation is using or that are not
 * suspended (listed under SOFTMEM_POLICY_FIFO while resumed), and moves the
 * pages of the rest to the scan's dispose list for freeing after the walk.
 * The region stays on its pool's list, which skips discarded entries.  Once
 * the budget is spent the rest of the walk only skips.
 */
static enum lru_status softmem_isolate(struct list_head *item,
				       struct list_lru_one *list, void *arg)
{
	struct softmem_pages *backing =
		container_of(item, struct softmem_pages, lru);
	struct softmem_region *region = backing->region;
	struct softmem_scan *scan = arg;
	struct softmem_share *share;
	bool fifo, over_share;
	unsigned long nr;

	/*
	 * The region cannot go while its pages are on the list: taking them
	 * off takes the list's lock, which the walk holds.
	 */
	if (!scan->budget || !spin_trylock(&region->lock))
		return LRU_SKIP;
	fifo = softmem_pool_fifo(region->pool);
	if (region->state != SOFTMEM_REGION_SUSPENDED) {
		spin_unlock(&region->lock);
		return LRU_SKIP;
	}
	if (region->users) {
		spin_unlock(&region->lock);
		/* FIFO keeps its order; LRU treats the use as recent. */
		return fifo ? LRU_SKIP : LRU_ROTATE;
	}
	nr = backing->nr_pages;
	share = scan->fair ? softmem_scan_share(scan, region->pool) : NULL;
	over_share = share && share->given >= share->allowed;
	if (over_share || (scan->within && nr > scan->budget)) {
		scan->unfair_skips += over_share;
		spin_unlock(&region->lock);
		return LRU_SKIP;
	}
	/* A lock-free holder resumed it, or did lately: see words.c. */
	if (softmem_words_claim(region, scan->clock)) {
		spin_unlock(&region->lock);
		return fifo ? LRU_SKIP : LRU_ROTATE;
	}
	list_lru_isolate(list, item);
	softmem_region_discard_locked(region, &scan->dispose, scan->reason);
	spin_unlock(&region->lock);
	scan->budget -= min(nr, scan->budget);
	if (share)
		share->given += nr;
	return LRU_REMOVED;
}

/*
 * Walks the lists of every priority class, lowest first, until the budget
 * is spent: @walk walks one class's list.  In each class a first pass keeps
 * to each pool's share; if it left budget only because of that, a second
 * pass takes what is left in list order.
 */
static void softmem_scan_classes(struct softmem_scan *scan,
				 void (*walk)(struct list_lru *lru,
					      struct softmem_scan *scan,
					      void *arg),
				 void *arg)
{
	int prio;

	scan->total = scan->budget;
	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES && scan->budget; prio++) {
		scan->fair = true;
		scan->unfair_skips = 0;
		scan->nr_shares = 0;
		walk(&softmem_lru[prio], scan, arg);
		if (scan->budget && scan->unfair_skips) {
			scan->fair = false;
			walk(&softmem_lru[prio], scan, arg);
		}
	}
}

static void softmem_shrink_walk(struct list_lru *lru,
				struct softmem_scan *scan, void *arg)
{
	struct shrink_control *sc = arg;

	softmem_compat_lru_shrink_walk(lru, sc, softmem_isolate, scan);
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
	scan.budget = min(pages, softmem_reclaim_budget(sc, &scan.reason));
	if (!scan.budget)
		return SHRINK_STOP;
	scan.clock = !!current->reclaim_state;

	/*
	 * Walk as many regions as make up the pages asked for, over all
	 * classes and passes.  The core still accounts sc->nr_scanned, left
	 * at the pages it asked for: a larger value would underflow its
	 * remaining scan count.
	 */
	sc->nr_to_scan = DIV_ROUND_UP(pages, softmem_pages_per_region());
	softmem_scan_classes(&scan, softmem_shrink_walk, sc);
	freed = softmem_region_free_pages(&scan.dispose);
	softmem_compat_account_reclaimed(freed);
	return freed;
}

static void softmem_node_walk(struct list_lru *lru, struct softmem_scan *scan,
			      void *arg)
{
	int nid = *(int *)arg;
	unsigned long nr_to_walk = list_lru_count_node(lru, nid);

	softmem_compat_lru_walk_node(lru, nid, softmem_isolate, scan,
				     &nr_to_walk);
}

/* Walks node @nid's lists for @scan; returns the pages freed. */
static unsigned long softmem_scan_node(int nid, struct softmem_scan *scan)
{
	/* Pairs with the release at the end of softmem_reclaim_init(). */
	if (!smp_load_acquire(&softmem_lru_ready))
		return 0;
	softmem_scan_classes(scan, softmem_node_walk, &nid);
	return softmem_region_free_pages(&scan->dispose);
}

/*
 * Discards suspended regions whose pages are on node @nid, in every memory
 * cgroup, in the order reclaim takes them, until @budget pages are freed,
 * and only regions that fit in it if @within (for the manager, see
 * manager.c).  Returns the pages freed.
 */
unsigned long softmem_reclaim_node(int nid, unsigned long budget, bool within,
				   enum softmem_discard_reason reason)
{
	struct softmem_scan scan = {
		.dispose = LIST_HEAD_INIT(scan.dispose),
		.budget = budget,
		.within = within,
		.reason = reason,
		.clock = true,
	};

	return softmem_scan_node(nid, &scan);
}

/*
 * The OOM killer's last question: out_of_memory() calls its notifiers
 * before it picks a victim, and picks none if they freed pages (a memory
 * cgroup's OOM calls none; the cgroup's reclaim is given its excess).
 * Reclaim can get there with suspended regions left: a discard brings a
 * node to its min watermark, another allocator takes the pages first, and
 * the allocator's retry check counts free and LRU pages, nothing a
 * shrinker could still give, so it gives up (6.12: a kill beside 192 MiB
 * of suspended regions).  Each node gives what it lacks up to its high
 * watermark, boost included, and at least its least recently suspended
 * region, with no second chance for recent use.  An OOM the free counts
 * do not explain (a higher-order allocation, a cpuset) asks again after
 * each such round, so the OOM killer kills only once no suspended region
 * is left that reclaim could take.
 */
static int softmem_oom_notify(struct notifier_block *nb, unsigned long event,
			      void *arg)
{
	unsigned long *freed = arg;
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		struct softmem_scan scan = {
			.dispose = LIST_HEAD_INIT(scan.dispose),
			.budget = max(softmem_node_shortfall(nid, true), 1UL),
			.reason = SOFTMEM_DISCARD_OOM,
		};

		*freed += softmem_scan_node(nid, &scan);
	}
	return NOTIFY_OK;
}

static struct notifier_block softmem_oom_nb = {
	.notifier_call = softmem_oom_notify,
};

/* The lists of every class, for @shrinker; undone on failure. */
static int softmem_lru_init(struct shrinker *shrinker)
{
	int prio, ret;

	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES; prio++) {
		ret = list_lru_init_memcg(&softmem_lru[prio], shrinker);
		if (ret) {
			while (prio--)
				list_lru_destroy(&softmem_lru[prio]);
			return ret;
		}
	}
	return 0;
}

static void softmem_lru_destroy(void)
{
	int prio;

	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES; prio++)
		list_lru_destroy(&softmem_lru[prio]);
}

int softmem_reclaim_init(void)
{
	int ret;

	/* Its calls find no regions until the list_lru is ready. */
	ret = register_oom_notifier(&softmem_oom_nb);
	if (ret)
		return ret;
	softmem_shrinker = softmem_compat_shrinker_alloc("softmem");
	if (!softmem_shrinker) {
		ret = -ENOMEM;
		goto err_oom;
	}
	softmem_shrinker->count_objects = softmem_shrink_count;
	softmem_shrinker->scan_objects = softmem_shrink_scan;
	softmem_shrinker->seeks = DEFAULT_SEEKS;

	if (SOFTMEM_SHRINKER_ID_BEFORE_REGISTER) {
		ret = softmem_lru_init(softmem_shrinker);
		if (ret)
			goto err_free;
		ret = softmem_compat_shrinker_register(softmem_shrinker, "softmem");
		if (ret)
			goto err_lru;
	} else {
		ret = softmem_compat_shrinker_register(softmem_shrinker, "softmem");
		if (ret)
			goto err_free;
		ret = softmem_lru_init(softmem_shrinker);
		if (ret)
			goto err_free;
	}
	/* Callbacks that see the flag see an initialised list_lru. */
	smp_store_release(&softmem_lru_ready, true);
	return 0;

err_lru:
	softmem_lru_destroy();
err_free:
	softmem_compat_shrinker_free(softmem_shrinker);
err_oom:
	unregister_oom_notifier(&softmem_oom_nb);
	return ret;
}

void softmem_reclaim_exit(void)
{
	unregister_oom_notifier(&softmem_oom_nb);
	softmem_compat_shrinker_free(softmem_shrinker);
	softmem_lru_destroy();
}
