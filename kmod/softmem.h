/* SPDX-License-Identifier: GPL-2.0 */
/*
 * softmem internals: pools, handles, regions, their pages and reclaim.
 *
 * A region is the object; a handle is one pool's reference to it, and an
 * exported file another.  Locks, and the only orders in which one is taken
 * while holding another:
 *
 *   softmem_region.lock   -> list_lru lock        (suspend, resume, free)
 *   softmem_region.lock   -> softmem_pool.lru_lock (suspend, resume, free)
 *   softmem_pool.lru_lock -> list_lru lock        (discard within a pool)
 *   softmem_region.lock   -> softmem_region.lock  (two regions of a copy,
 *                                                  lower address first)
 *
 * Reclaim runs the other way: it holds the list_lru lock (shrinker) or a
 * pool's lru_lock (pool limit) and takes region locks with spin_trylock() only,
 * skipping a region whose lock is busy.  No lock is held across a page
 * allocation, a user copy or the zap of a region's mappings: a region in use
 * by a data operation or a page fault is pinned by softmem_region.users
 * instead, and reclaim leaves pinned regions alone.
 */
#ifndef _SOFTMEM_H
#define _SOFTMEM_H

#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/list_lru.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
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
 * @SOFTMEM_STAT_HUGE_PAGES: resident pages in huge (PMD-order) folios
 * @SOFTMEM_NR_STATS: number of counters
 */
enum softmem_stat {
	SOFTMEM_STAT_REGIONS,
	SOFTMEM_STAT_LENGTH_PAGES,
	SOFTMEM_STAT_RESIDENT_PAGES,
	SOFTMEM_STAT_SUSPENDED_PAGES,
	SOFTMEM_STAT_DISCARDED_PAGES,
	SOFTMEM_STAT_DISCARD_EVENTS,
	SOFTMEM_STAT_HUGE_PAGES,
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
 * @ref: references: the open file, and each region the pool allocated,
 *	which stays charged to the pool while other pools or files hold it
 * @id: the pool's number, in creation order, for tracepoints and fdinfo
 * @words: with %SOFTMEM_CONFIGURE_WORDS, the state words shared with user
 *	space, one per handle number (words.c); set once, before the first
 *	handle, and freed with the pool
 * @nr_words: entries in @words
 * @id_max: the highest handle number: below @nr_words once @words is set
 *
 * @regions maps handles to &struct softmem_handle.  Counters %REGIONS and
 * %LENGTH_PAGES count the pool's handles (imports included); the page
 * counters count the pages of the regions the pool allocated, wherever
 * they are held.
 */
struct softmem_pool {
	struct xarray regions;
	u32 next_handle;
	u32 policy;
	spinlock_t lru_lock;		/* protects @suspended */
	struct list_head suspended[SOFTMEM_NR_PRIORITIES];
	unsigned long limit_pages;
	atomic_long_t stats[SOFTMEM_NR_STATS];
	refcount_t ref;
	u64 id;
	u64 *words;
	u32 nr_words;
	u32 id_max;
	atomic_long_t node_stats[][SOFTMEM_NR_NODE_STATS];
};

/**
 * enum softmem_state - life of a region, whoever holds it
 * @SOFTMEM_REGION_RESUMED: a handle holds it resumed; never discarded
 * @SOFTMEM_REGION_SUSPENDED: no handle holds it resumed: discardable, on
 *	the reclaim list_lru and its pool's list once it has pages
 * @SOFTMEM_REGION_DISCARDED: pages gone, and no handle resumed it since
 * @SOFTMEM_REGION_DEAD: no handle and no file left; only operations in
 *	flight still hold it
 */
enum softmem_state {
	SOFTMEM_REGION_RESUMED,
	SOFTMEM_REGION_SUSPENDED,
	SOFTMEM_REGION_DISCARDED,
	SOFTMEM_REGION_DEAD,
};

/* A chunk of a huge-backed region: PMD-sized, one huge folio or base pages. */
#define SOFTMEM_HUGE_ORDER	(PMD_SHIFT - PAGE_SHIFT)
#define SOFTMEM_HUGE_PAGES	BIT(SOFTMEM_HUGE_ORDER)

/**
 * struct softmem_pages - the pages of a region
 * @pages: page index -> struct page; populated on first write.  A huge
 *	folio fills every index of its chunk, one entry per page
 * @nr_pages: pages in @pages, under the owning region's lock
 * @nr_huge: those of them in huge folios, under the same lock
 * @install: serialises the installs of a huge-backed region, so that a
 *	chunk gets either one huge folio or base pages, never both
 * @nid: the NUMA node of every page in @pages
 * @mm: the address space of the process whose write made the set, in whose
 *	RSS the pages count (as shared memory) for the OOM killer; grabbed
 * @region: the region the pages belong to
 * @lru: entry on the reclaim list_lru while the region is suspended; the
 *	set itself is allocated on @nid, in the memory cgroup its pages are
 *	charged to, so that it sits on that node's and that cgroup's list
 * @dispose: entry on a list of page sets to free once locks are dropped
 * @zap: on @dispose, the region's mappings must be zapped before the pages
 *	are freed, and the set holds a reference on the region for that
 *
 * Kept apart from the region so that a discard can detach all pages in O(1)
 * under the region lock and free them after.  A region without pages is on
 * no reclaim list: discarding it would free nothing.
 */
struct softmem_pages {
	struct xarray pages;
	unsigned long nr_pages;
	unsigned long nr_huge;
	struct mutex install;		/* see above */
	int nid;
	struct mm_struct *mm;
	struct softmem_region *region;
	struct list_head lru;
	struct list_head dispose;
	bool zap;
};

/**
 * struct softmem_region - a discardable byte range, the object handles and
 *	exported files refer to
 * @lock: protects @state, @resumed, @handles, @files, @gen, @zap_gen,
 *	@zapped_gen, @users, @backing, @backing->nr_pages, @priority and the
 *	words of the region's handles
 * @state: &enum softmem_state
 * @resumed: handles that hold the region resumed, lock-free ones aside
 * @handles: live handles, in any pool
 * @word_handles: the lock-free ones among them, whose state words reclaim
 *	asks before a discard (words.c)
 * @files: open files from %SOFTMEM_IOC_EXPORT, mappings included
 * @gen: discards so far; a handle that has seen fewer is told of the loss
 * @zap_gen: @gen of the last discard whose pages may still be mapped
 * @zapped_gen: @zap_gen up to which mappings have been zapped
 * @users: data operations and page faults in flight; reclaim leaves the
 *	region alone while nonzero
 * @backing: the pages, NULL until the first write and after a discard
 * @pool_lru: entry on @pool->suspended[@priority]
 * @priority: priority class, below %SOFTMEM_NR_PRIORITIES
 * @pool: the pool that allocated the region, charged for its pages
 * @nr_pages: length in pages
 * @nid: NUMA node for pages, or NUMA_NO_NODE for the node the policy of the
 *	first writer picks
 * @huge: back whole chunks with huge folios where the allocator gives them
 *	(%SOFTMEM_ALLOC_HUGE)
 * @inode: the inode of the region's exported files, whose mapping holds
 *	every mmap() of it; NULL until first exported
 * @ref: references: each handle, each file and each operation in flight
 * @id: the region's number, in creation order, for tracepoints and fdinfo
 * @rcu: frees the descriptor after RCU lookups are done
 */
struct softmem_region {
	spinlock_t lock;		/* see above */
	enum softmem_state state;
	unsigned int resumed;
	unsigned int handles;
	struct list_head word_handles;
	unsigned int files;
	u64 gen;
	u64 zap_gen;
	u64 zapped_gen;
	unsigned int users;
	struct softmem_pages *backing;
	struct list_head pool_lru;
	u8 priority;
	struct softmem_pool *pool;
	unsigned long nr_pages;
	int nid;
	bool huge;
	struct inode *inode;
	refcount_t ref;
	u64 id;
	struct rcu_head rcu;
};

/*
 * The word of a handle: bits below, and above them the discard generation
 * (&softmem_region.gen) the holder has been told of.  Changed under the
 * region's lock, with atomic stores, so that it can later live in a page
 * shared with user space.
 */
#define SOFTMEM_HANDLE_RESUMED		BIT_ULL(0)	/* holds the region resumed */
#define SOFTMEM_HANDLE_UNREPORTED	BIT_ULL(1)	/* loss reported, not yet acted on */
#define SOFTMEM_HANDLE_DEAD		BIT_ULL(2)	/* freed */
#define SOFTMEM_HANDLE_GEN_SHIFT	3

/**
 * struct softmem_handle - one pool's reference to a region
 * @region: the region; the handle holds a reference
 * @pool: the pool whose index holds the handle
 * @word: SOFTMEM_HANDLE_* bits and the discard generation seen
 * @shared: for a handle of a pool with state words, its word there, which
 *	says whether it holds the region resumed (SOFTMEM_WORD_*): a
 *	lock-free handle never counts in &softmem_region.resumed and never
 *	sets %SOFTMEM_HANDLE_RESUMED in @word; NULL otherwise
 * @word_link: entry on &softmem_region.word_handles, with @shared
 * @ref: references: the pool's index and each operation in flight
 * @id: the handle's number in @pool, set before it is published
 * @rcu: frees the handle after RCU lookups are done
 */
struct softmem_handle {
	struct softmem_region *region;
	struct softmem_pool *pool;
	atomic64_t word;
	u64 *shared;
	struct list_head word_link;
	refcount_t ref;
	u32 id;
	struct rcu_head rcu;
};

/**
 * enum softmem_discard_reason - why a region was discarded (tracepoint)
 * @SOFTMEM_DISCARD_SHRINKER: the shrinker, for global reclaim or when
 *	asked outright (drop_caches, the shrinker's debugfs file)
 * @SOFTMEM_DISCARD_MEMCG: the shrinker, for a memory cgroup over its limit
 * @SOFTMEM_DISCARD_POOL_LIMIT: the pool's own limit or the module's cap
 * @SOFTMEM_DISCARD_MANAGER: the manager, ahead of the free-memory threshold
 * @SOFTMEM_DISCARD_WATERMARK: the manager, above its high watermark
 * @SOFTMEM_DISCARD_OOM: the OOM killer's notifier, before it kills
 */
enum softmem_discard_reason {
	SOFTMEM_DISCARD_SHRINKER,
	SOFTMEM_DISCARD_MEMCG,
	SOFTMEM_DISCARD_POOL_LIMIT,
	SOFTMEM_DISCARD_MANAGER,
	SOFTMEM_DISCARD_WATERMARK,
	SOFTMEM_DISCARD_OOM,
};

/* stats.c */
extern atomic_long_t softmem_global_stats[SOFTMEM_NR_STATS];
extern atomic_long_t softmem_global_node_stats[MAX_NUMNODES][SOFTMEM_NR_NODE_STATS];
extern atomic_long_t softmem_pools;
extern const struct attribute_group *softmem_stats_groups[];
struct seq_file;
void softmem_pool_show_fdinfo(struct seq_file *m, struct file *file);

/* Adds @delta to counter @item of @pool and of the module. */
static inline void softmem_stat_add(struct softmem_pool *pool,
				    enum softmem_stat item, long delta)
{
	atomic_long_add(delta, &pool->stats[item]);
	atomic_long_add(delta, &softmem_global_stats[item]);
}

/* Adds @delta to counter @item of @pool only. */
static inline void softmem_pool_stat_add(struct softmem_pool *pool,
					 enum softmem_stat item, long delta)
{
	atomic_long_add(delta, &pool->stats[item]);
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
void softmem_pool_get(struct softmem_pool *pool);
void softmem_pool_put(struct softmem_pool *pool);
unsigned long softmem_pool_discard_own(struct softmem_pool *pool,
				       unsigned long nr_pages);
void softmem_pool_set_limit(struct softmem_pool *pool, u64 limit_bytes);
int softmem_pool_set_policy(struct softmem_pool *pool, u32 policy);
int softmem_pool_charge(struct softmem_pool *pool, unsigned long nr);
int softmem_pool_charge_spare(struct softmem_pool *pool, unsigned long nr);
void softmem_pool_uncharge(struct softmem_pool *pool, unsigned long nr);
int softmem_pool_charge_region(struct softmem_pool *pool);
int softmem_pool_charge_handle(struct softmem_pool *pool);

/* region.c */
int softmem_regions_init(void);
void softmem_regions_exit(void);
struct softmem_region *softmem_region_create(struct softmem_pool *pool,
					     u64 length, int nid,
					     unsigned int priority, bool huge);
void softmem_region_put(struct softmem_region *region);
void softmem_region_got_pages(struct softmem_region *region);
void softmem_region_take_resumed(struct softmem_region *region);
void softmem_region_drop_resumed(struct softmem_region *region);
void softmem_region_settle(struct softmem_region *region);
void softmem_region_drop_holder(struct softmem_region *region);
void softmem_region_set_priority(struct softmem_region *region,
				 unsigned int priority);
int softmem_region_fault_begin(struct softmem_region *region);
void softmem_region_end(struct softmem_region *region);
void softmem_region_zap(struct softmem_region *region);
void softmem_region_add_suspended(struct softmem_region *region, long delta);
void softmem_region_discard_locked(struct softmem_region *region,
				   struct list_head *dispose,
				   enum softmem_discard_reason reason);
unsigned long softmem_region_free_pages(struct list_head *dispose);

/* handle.c */
int softmem_handles_init(void);
void softmem_handles_exit(void);
int softmem_handle_alloc(struct softmem_pool *pool, u64 length, int nid,
			 unsigned int priority, bool huge, u32 *id);
int softmem_handle_create(struct softmem_pool *pool,
			  struct softmem_region *region, bool resumed,
			  u32 *id);
struct softmem_handle *softmem_handle_get(struct softmem_pool *pool, u64 id);
void softmem_handle_put(struct softmem_handle *handle);
bool softmem_handle_stale(struct softmem_handle *handle);
void softmem_handle_remove(struct softmem_handle *handle);
int softmem_handle_free(struct softmem_pool *pool, u64 id);
int softmem_handle_suspend(struct softmem_pool *pool, u64 id);
int softmem_handle_resume(struct softmem_pool *pool, u64 id,
			  bool *discarded);
void softmem_handle_unresume(struct softmem_pool *pool, u64 id);
int softmem_handle_set_priority(struct softmem_pool *pool, u64 id,
				unsigned int priority);
int softmem_handle_begin(struct softmem_handle *handle);
int softmem_handle_hold(struct softmem_handle *handle);
int softmem_handle_begin_held(struct softmem_handle *handle);
int softmem_handle_end_held(struct softmem_handle *handle);
int softmem_handle_begin_pair(struct softmem_handle *a,
			      struct softmem_handle *b);
void softmem_handle_end(struct softmem_handle *handle);

/* words.c */
struct vm_area_desc;
bool softmem_words_valid(u32 nr);
int softmem_words_configure(struct softmem_pool *pool, u32 nr);
void softmem_words_free(struct softmem_pool *pool);
u64 *softmem_words_slot(struct softmem_pool *pool, u32 id);
int softmem_words_claim(struct softmem_region *region, bool clock);
int softmem_words_mmap_prepare(struct vm_area_desc *desc);
int softmem_words_mmap(struct file *file, struct vm_area_struct *vma);

/* export.c */
int softmem_export_init(void);
void softmem_export_exit(void);
int softmem_export(struct softmem_handle *handle, bool cloexec,
		   struct file **filep);
int softmem_import(struct softmem_pool *pool, int fd, u32 *id, u64 *length);
void softmem_export_release_inode(struct inode *inode);

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
				   bool within,
				   enum softmem_discard_reason reason);
unsigned long softmem_node_room(int nid);

/* manager.c */
void softmem_manager_init(void);
void softmem_manager_exit(void);
void softmem_manager_kick(void);
void softmem_manager_charged(void);

/* ioctl.c */
long softmem_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

#endif /* _SOFTMEM_H */
