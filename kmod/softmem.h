/* SPDX-License-Identifier: GPL-2.0 */
/*
 * softmem internals: pools, regions, their pages and reclaim.
 *
 * Locks, and the only orders in which one is taken while holding another:
 *
 *   softmem_region.lock   -> list_lru lock        (suspend, resume, free)
 *   softmem_region.lock   -> softmem_pool.lru_lock (suspend, resume, free)
 *   softmem_pool.lru_lock -> list_lru lock        (discard within a pool)
 *
 * Reclaim runs the other way: it holds the list_lru lock (shrinker) or a
 * pool's lru_lock (pool limit) and takes region locks with spin_trylock() only,
 * skipping a region whose lock is busy.  No lock is held across a page
 * allocation or a user copy: a region in use by a data operation is pinned by
 * softmem_region.users instead, and reclaim leaves pinned regions alone.
 */
#ifndef _SOFTMEM_H
#define _SOFTMEM_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/list_lru.h>
#include <linux/nodemask.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include "../uapi/linux/softmem.h"

/*
 * Every allocation made on behalf of user space: charged to its memory
 * cgroup, and failing with ENOMEM rather than invoking the OOM killer or
 * warning when memory (or the cgroup's limit) runs out.
 */
#define SOFTMEM_GFP_KERNEL \
	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/**
 * enum softmem_stat - usage counters kept per pool and module-wide
 * @SOFTMEM_STAT_REGIONS: live regions
 * @SOFTMEM_STAT_LENGTH_PAGES: sum of region lengths, in pages
 * @SOFTMEM_STAT_RESIDENT_PAGES: pages allocated to regions
 * @SOFTMEM_STAT_SUSPENDED_PAGES: resident pages of suspended regions
 * @SOFTMEM_STAT_DISCARDED_PAGES: pages discarded, cumulative
 * @SOFTMEM_STAT_DISCARD_EVENTS: regions discarded, cumulative
 * @SOFTMEM_NR_STATS: number of counters
 */
enum softmem_stat {
	SOFTMEM_STAT_REGIONS,
	SOFTMEM_STAT_LENGTH_PAGES,
	SOFTMEM_STAT_RESIDENT_PAGES,
	SOFTMEM_STAT_SUSPENDED_PAGES,
	SOFTMEM_STAT_DISCARDED_PAGES,
	SOFTMEM_STAT_DISCARD_EVENTS,
	SOFTMEM_NR_STATS,
};

/**
 * enum softmem_node_stat - usage counters kept per pool and NUMA node
 * @SOFTMEM_NODE_RESIDENT_PAGES: pages of the pool's regions on the node
 * @SOFTMEM_NODE_SUSPENDED_PAGES: those of them in suspended regions
 * @SOFTMEM_NR_NODE_STATS: number of counters
 *
 * A region's pages are all on one node, its page set's.
 */
enum softmem_node_stat {
	SOFTMEM_NODE_RESIDENT_PAGES,
	SOFTMEM_NODE_SUSPENDED_PAGES,
	SOFTMEM_NR_NODE_STATS,
};

/**
 * struct softmem_pool - the regions of one open /dev/softmem
 * @regions: handle -> &struct softmem_region; lookups under RCU
 * @next_handle: cursor for cyclic handle allocation, under @regions' lock
 * @policy: &enum softmem_policy; changes only while the pool is empty
 * @lru_lock: protects @suspended
 * @suspended: per priority class, the pool's regions in the order its own
 *	limit discards them: under %SOFTMEM_POLICY_LRU its suspended regions,
 *	least recently suspended first, discarded ones unlinked lazily by
 *	whoever next holds them; under %SOFTMEM_POLICY_FIFO every region from
 *	allocation to free, first allocated first
 * @limit_pages: limit on @stats.resident_pages
 * @stats: usage of this pool, indexed by &enum softmem_stat
 * @node_stats: usage per node: nr_node_ids rows indexed by
 *	&enum softmem_node_stat
 */
struct softmem_pool {
	struct xarray regions;
	u32 next_handle;
	u32 policy;
	spinlock_t lru_lock;		/* protects @suspended */
	struct list_head suspended[SOFTMEM_NR_PRIORITIES];
	unsigned long limit_pages;
	atomic_long_t stats[SOFTMEM_NR_STATS];
	atomic_long_t node_stats[][SOFTMEM_NR_NODE_STATS];
};

/**
 * enum softmem_state - life of a region
 * @SOFTMEM_REGION_RESUMED: in use; never discarded
 * @SOFTMEM_REGION_SUSPENDED: discardable; on the reclaim list_lru and the pool list
 * @SOFTMEM_REGION_DISCARDED: pages gone; data operations fail until resumed
 * @SOFTMEM_REGION_DEAD: freed by user space; only in-flight operations still hold it
 */
enum softmem_state {
	SOFTMEM_REGION_RESUMED,
	SOFTMEM_REGION_SUSPENDED,
	SOFTMEM_REGION_DISCARDED,
	SOFTMEM_REGION_DEAD,
};

/**
 * struct softmem_pages - the pages of a region
 * @pages: page index -> struct page; populated on first write
 * @nr_pages: pages in @pages, under the owning region's lock
 * @nid: the NUMA node of every page in @pages
 * @mm: the address space of the process whose write made the set, in whose
 *	RSS the pages count (as shared memory) for the OOM killer; grabbed
 * @region: the region the pages belong to
 * @lru: entry on the reclaim list_lru while the region is suspended; the
 *	set itself is allocated on @nid, in the memory cgroup its pages are
 *	charged to, so that it sits on that node's and that cgroup's list
 * @dispose: entry on a list of page sets to free once locks are dropped
 *
 * Kept apart from the region so that a discard can detach all pages in O(1)
 * under the region lock and free them after.  A region without pages is on
 * no reclaim list: discarding it would free nothing.
 */
struct softmem_pages {
	struct xarray pages;
	unsigned long nr_pages;
	int nid;
	struct mm_struct *mm;
	struct softmem_region *region;
	struct list_head lru;
	struct list_head dispose;
};

/**
 * struct softmem_region - a discardable byte range
 * @lock: protects @state, @loss_unreported, @users, @backing,
 *	@backing->nr_pages and @priority
 * @state: &enum softmem_state
 * @loss_unreported: resumed from discarded and nothing done since, so a
 *	resume whose report could not reach user space can be taken back
 * @users: data operations in flight; reclaim leaves the region alone while
 *	nonzero
 * @backing: the pages, NULL until the first write and after a discard
 * @pool_lru: entry on @pool->suspended[@priority]
 * @priority: priority class, below %SOFTMEM_NR_PRIORITIES
 * @pool: the owning pool
 * @nr_pages: length in pages
 * @nid: NUMA node for pages, or NUMA_NO_NODE for the node the policy of the
 *	first writer picks
 * @ref: references: the pool's index and each operation in flight
 * @rcu: frees the descriptor after RCU lookups are done
 */
struct softmem_region {
	spinlock_t lock;		/* see above */
	enum softmem_state state;
	bool loss_unreported;
	unsigned int users;
	struct softmem_pages *backing;
	struct list_head pool_lru;
	u8 priority;
	struct softmem_pool *pool;
	unsigned long nr_pages;
	int nid;
	refcount_t ref;
	struct rcu_head rcu;
};

/* stats.c */
extern atomic_long_t softmem_global_stats[SOFTMEM_NR_STATS];
extern atomic_long_t softmem_global_node_stats[MAX_NUMNODES][SOFTMEM_NR_NODE_STATS];
extern atomic_long_t softmem_pools;
extern const struct attribute_group *softmem_stats_groups[];

/* Adds @delta to counter @item of @pool and of the module. */
static inline void softmem_stat_add(struct softmem_pool *pool,
				    enum softmem_stat item, long delta)
{
	atomic_long_add(delta, &pool->stats[item]);
	atomic_long_add(delta, &softmem_global_stats[item]);
}

/* Adds @delta to counter @item of node @nid, for @pool and the module. */
static inline void softmem_node_stat_add(struct softmem_pool *pool, int nid,
					 enum softmem_node_stat item,
					 long delta)
{
	atomic_long_add(delta, &pool->node_stats[nid][item]);
	atomic_long_add(delta, &softmem_global_node_stats[nid][item]);
}

static inline bool softmem_pool_fifo(struct softmem_pool *pool)
{
	return READ_ONCE(pool->policy) == SOFTMEM_POLICY_FIFO;
}

/* main.c: module parameters */
unsigned long softmem_max_pages(void);
unsigned long softmem_pool_max_pages(void);
unsigned long softmem_max_regions(void);
unsigned long softmem_pool_max_regions(void);

/* pool.c */
struct softmem_pool *softmem_pool_create(void);
void softmem_pool_destroy(struct softmem_pool *pool);
unsigned long softmem_pool_discard_own(struct softmem_pool *pool,
				       unsigned long nr_pages);
int softmem_pool_set_limit(struct softmem_pool *pool, u64 limit_bytes);
int softmem_pool_set_policy(struct softmem_pool *pool, u32 policy);
int softmem_pool_charge(struct softmem_pool *pool, unsigned long nr);
void softmem_pool_uncharge(struct softmem_pool *pool, unsigned long nr);
int softmem_pool_charge_region(struct softmem_pool *pool);

/* region.c */
int softmem_regions_init(void);
void softmem_regions_exit(void);
int softmem_region_create(struct softmem_pool *pool, u64 length, int nid,
			  unsigned int priority, u32 *handle);
int softmem_region_set_priority(struct softmem_pool *pool, u64 handle,
				unsigned int priority);
void softmem_region_remove(struct softmem_region *region);
struct softmem_region *softmem_region_get(struct softmem_pool *pool,
					  u64 handle);
void softmem_region_put(struct softmem_region *region);
int softmem_region_free(struct softmem_pool *pool, u64 handle);
int softmem_region_suspend(struct softmem_pool *pool, u64 handle);
int softmem_region_resume(struct softmem_pool *pool, u64 handle,
			  bool *discarded);
void softmem_region_unresume(struct softmem_pool *pool, u64 handle);
int softmem_region_begin(struct softmem_region *region);
int softmem_region_hold(struct softmem_region *region);
int softmem_region_begin_held(struct softmem_region *region);
int softmem_region_begin_pair(struct softmem_region *a,
			      struct softmem_region *b);
void softmem_region_end(struct softmem_region *region);
void softmem_region_add_suspended(struct softmem_region *region, long delta);
void softmem_region_discard_locked(struct softmem_region *region,
				   struct list_head *dispose);
unsigned long softmem_region_free_pages(struct list_head *dispose);

/* pages.c */
int softmem_pages_init(void);
void softmem_pages_exit(void);
int softmem_pages_populate(struct softmem_region *region, u64 offset,
			   u64 length);
struct page *softmem_page_lookup(struct softmem_region *region,
				 unsigned long index);
struct page *softmem_page_lookup_or_zero(struct softmem_region *region,
					 unsigned long index);
void softmem_pages_account(struct softmem_pool *pool,
			   struct softmem_pages *backing, long delta);
void softmem_pages_destroy(struct softmem_pages *backing);

/* access.c */
int softmem_access_read(struct softmem_region *r, u64 offset, u64 length,
			void __user *buf);
int softmem_access_write(struct softmem_region *r, u64 offset, u64 length,
			 const void __user *buf);
int softmem_access_set(struct softmem_region *r, u64 offset, u64 length,
		       u8 value);
int softmem_access_find(struct softmem_region *r, u64 offset, u64 length,
			u8 value, s64 *position);
int softmem_access_compare_user(struct softmem_region *r, u64 offset,
				u64 length, const void __user *buf,
				int *result);
int softmem_access_copy(struct softmem_region *dst, u64 dst_offset,
			struct softmem_region *src, u64 src_offset,
			u64 length);
int softmem_access_compare(struct softmem_region *a, u64 a_offset,
			   struct softmem_region *b, u64 b_offset, u64 length,
			   int *result);

/* reclaim.c */
extern struct list_lru softmem_lru[SOFTMEM_NR_PRIORITIES];
int softmem_reclaim_init(void);
void softmem_reclaim_exit(void);
void softmem_lru_add(struct softmem_region *region);
void softmem_lru_del(struct softmem_region *region);
unsigned long softmem_reclaim_node(int nid, unsigned long budget,
				   bool within);

/* manager.c */
void softmem_manager_init(void);
void softmem_manager_exit(void);
void softmem_manager_kick(void);
void softmem_manager_charged(void);

/* ioctl.c */
long softmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _SOFTMEM_H */
