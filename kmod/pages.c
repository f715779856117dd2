// SPDX-License-Identifier: GPL-2.0
/*
 * The pages of a region: allocated zeroed on first write, charged to the
 * writer's memory cgroup, never on an LRU list and so never swapped.
 *
 * A region allocated with SOFTMEM_ALLOC_HUGE is cut into PMD-sized chunks.
 * The first write to a chunk backs the whole chunk with one huge folio (a
 * compound page of PMD order) when the allocator has one at hand, or else
 * the written pages alone with base pages; a chunk with a base page stays
 * base until its region is discarded.  The page index keeps one entry per
 * page either way, the folio's pages in a huge chunk, so lookups do not
 * care; freeing a chunk frees its folio whole.
 */
#include <linux/cpuset.h>
#include <linux/gfp.h>
#include <linux/memcontrol.h>
#include <linux/mempolicy.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "compat.h"
#include "softmem.h"

/* Region pages: zeroed, and as SOFTMEM_GFP_KERNEL fails, never OOM-kills. */
#define SOFTMEM_GFP_PAGE	(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT | \
				 __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/*
 * Huge folios: only what the allocator has at hand.  __GFP_NORETRY makes
 * one light attempt at compaction and reclaim, never the OOM killer; the
 * chunk falls back to base pages instead.  Charged like base pages.
 */
#define SOFTMEM_GFP_HUGE	(GFP_HIGHUSER | __GFP_ZERO | __GFP_ACCOUNT | \
				 __GFP_COMP | __GFP_NORETRY | __GFP_NOWARN)

/* What reads of never-written pages see. */
static struct page *softmem_zero_page;

/* Page sets: SLAB_ACCOUNT, charged like the pages they hold. */
static struct kmem_cache *softmem_pages_cache;

int softmem_pages_init(void)
{
	softmem_pages_cache = KMEM_CACHE(softmem_pages, SLAB_ACCOUNT);
	if (!softmem_pages_cache)
		return -ENOMEM;
	softmem_zero_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!softmem_zero_page) {
		kmem_cache_destroy(softmem_pages_cache);
		return -ENOMEM;
	}
	return 0;
}

void softmem_pages_exit(void)
{
	__free_page(softmem_zero_page);
	kmem_cache_destroy(softmem_pages_cache);
}

/*
 * A page set on node @nid in the current memory cgroup, whose lists of the
 * reclaim list_lrus it will sit on.  kmem_cache_alloc_lru() makes sure such
 * a list exists but takes no node; when its object is elsewhere, one from
 * @nid replaces it.
 */
static struct softmem_pages *softmem_pages_alloc_in_memcg(int nid)
{
	struct softmem_pages *backing = NULL, *other;
	int prio;

	/* A region may change class: make the lists of every class. */
	for (prio = 0; prio < SOFTMEM_NR_PRIORITIES; prio++) {
		other = kmem_cache_alloc_lru(softmem_pages_cache,
					     &softmem_lru[prio],
					     SOFTMEM_GFP_KERNEL);
		if (!other)
			goto err;
		if (backing)
			kmem_cache_free(softmem_pages_cache, other);
		else
			backing = other;
	}
	if (page_to_nid(virt_to_page(backing)) != nid) {
		other = kmem_cache_alloc_node(softmem_pages_cache,
					      SOFTMEM_GFP_KERNEL, nid);
		if (other) {
			kmem_cache_free(softmem_pages_cache, backing);
			backing = other;
		}
	}
	memset(backing, 0, sizeof(*backing));
	xa_init(&backing->pages);
	mutex_init(&backing->install);
	backing->nid = nid;
	INIT_LIST_HEAD(&backing->lru);
	backing->mm = current->mm;
	if (backing->mm)
		mmgrab(backing->mm);
	return backing;

err:
	if (backing)
		kmem_cache_free(softmem_pages_cache, backing);
	return NULL;
}

/* The same, with every allocation in the current task's cgroup. */
static struct softmem_pages *softmem_pages_alloc(int nid)
{
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(current->mm);
	struct softmem_pages *backing;
	struct mem_cgroup *old;

	/*
	 * All in one cgroup, the one the lists are made in, even if the task
	 * moves to another meanwhile: a page set charged to a cgroup without
	 * lists would crash list_lru_add().
	 */
	old = set_active_memcg(memcg);
	backing = softmem_pages_alloc_in_memcg(nid);
	set_active_memcg(old);
	mem_cgroup_put(memcg);
	return backing;
}

/* Frees a page set that holds no page. */
static void softmem_pages_free(struct softmem_pages *backing)
{
	xa_destroy(&backing->pages);
	mutex_destroy(&backing->install);
	if (backing->mm)
		mmdrop(backing->mm);
	kmem_cache_free(softmem_pages_cache, backing);
}

/*
 * Counts @delta pages into (or out of) @backing: in its node's resident
 * pages, and in the RSS of the process whose write made it, where the OOM
 * killer sees them.
 */
void softmem_pages_account(struct softmem_pool *pool,
			   struct softmem_pages *backing, long delta)
{
	softmem_node_stat_add(pool, backing->nid, SOFTMEM_NODE_RESIDENT_PAGES,
			      delta);
	if (backing->mm)
		softmem_compat_add_rss(backing->mm, delta);
}

/*
 * The region's page set, made for pages on node @nid if it has none.  Only
 * the region's first writer installs it; while a data operation holds the
 * region, the set stays installed.
 */
static struct softmem_pages *softmem_pages_get(struct softmem_region *region,
					       int nid)
{
	/* Pairs with the release below: see the set fully initialised. */
	struct softmem_pages *backing = smp_load_acquire(&region->backing);
	struct softmem_pages *fresh;

	if (backing)
		return backing;

	fresh = softmem_pages_alloc(nid);
	if (!fresh)
		return NULL;
	fresh->region = region;

	spin_lock(&region->lock);
	backing = region->backing;
	if (!backing) {
		/* Lockless readers in this operation see an initialised set. */
		smp_store_release(&region->backing, fresh);
		softmem_region_got_pages(region);
		backing = fresh;
		fresh = NULL;
	}
	spin_unlock(&region->lock);
	if (fresh)
		softmem_pages_free(fresh);
	return backing;
}

/*
 * A page on node @nid, or where the memory policy of the task puts it for
 * NUMA_NO_NODE.
 */
static struct page *softmem_page_alloc(int nid)
{
	if (nid == NUMA_NO_NODE)
		return alloc_page(SOFTMEM_GFP_PAGE);
	return alloc_pages_node(nid, SOFTMEM_GFP_PAGE | __GFP_THISNODE, 0);
}

/* The pages @page stands for: a huge folio's head, or a base page. */
static unsigned long softmem_page_nr(struct page *page)
{
	return PageHead(page) ? SOFTMEM_HUGE_PAGES : 1;
}

/* Frees a base page or a whole huge folio, given its head. */
static void softmem_page_free(struct page *page)
{
	__free_pages(page, PageHead(page) ? SOFTMEM_HUGE_ORDER : 0);
}

/* A zeroed huge folio on node @nid, or as softmem_page_alloc() places it. */
static struct page *softmem_huge_alloc(int nid)
{
	if (nid == NUMA_NO_NODE)
		return alloc_pages(SOFTMEM_GFP_HUGE, SOFTMEM_HUGE_ORDER);
	return alloc_pages_node(nid, SOFTMEM_GFP_HUGE | __GFP_THISNODE,
				SOFTMEM_HUGE_ORDER);
}

/*
 * Whether page @index of @region is to come with a huge folio for its whole
 * chunk: the region asked for huge pages, the chunk lies wholly within the
 * region, and none of its pages is installed (a chunk that has base pages
 * keeps them).  @backing is NULL for a region without pages.
 */
static bool softmem_chunk_wants_huge(struct softmem_region *region,
				     struct softmem_pages *backing,
				     unsigned long index)
{
	unsigned long first = round_down(index, SOFTMEM_HUGE_PAGES);

	if (!region->huge || first + SOFTMEM_HUGE_PAGES > region->nr_pages)
		return false;
	return !backing || !xa_find(&backing->pages, &first,
				    first + SOFTMEM_HUGE_PAGES - 1, XA_PRESENT);
}

/*
 * A charged, zeroed page for @region on node @nid (see above), or an error:
 * -ENOSPC when the pool's limit refuses it, -ENOMEM when the node has none.
 */
static struct page *softmem_page_new(struct softmem_region *region, int nid)
{
	struct softmem_pool *pool = region->pool;
	struct page *page;

	if (softmem_pool_charge(pool, 1))
		return ERR_PTR(-ENOSPC);
	page = softmem_page_alloc(nid);
	if (!page && softmem_pool_discard_own(pool, 1))
		page = softmem_page_alloc(nid);
	if (!page) {
		softmem_pool_uncharge(pool, 1);
		return ERR_PTR(-ENOMEM);
	}
	return page;
}

/*
 * What the write of page @index of @region gets: a charged, zeroed huge folio
 * for its chunk if the chunk wants one, the pool has room for it without
 * discarding any of its suspended regions and the allocator has one, else a
 * base page or an error as softmem_page_new() gives.  *@base_chunk is the
 * chunk this write already fell back to base pages for, which it does not
 * try again.
 */
static struct page *softmem_chunk_new(struct softmem_region *region,
				      struct softmem_pages *backing,
				      unsigned long index, int nid,
				      unsigned long *base_chunk)
{
	unsigned long chunk = index >> SOFTMEM_HUGE_ORDER;
	struct softmem_pool *pool = region->pool;
	struct page *page;

	if (chunk != *base_chunk &&
	    softmem_chunk_wants_huge(region, backing, index) &&
	    !softmem_pool_charge_spare(pool, SOFTMEM_HUGE_PAGES)) {
		page = softmem_huge_alloc(nid);
		if (page) {
			set_page_private(page, chunk << SOFTMEM_HUGE_ORDER);
			return page;
		}
		softmem_pool_uncharge(pool, SOFTMEM_HUGE_PAGES);
	}
	*base_chunk = chunk;
	page = softmem_page_new(region, nid);
	if (!IS_ERR(page))
		set_page_private(page, index);
	return page;
}

/* Frees pages of softmem_pages_populate() that were never installed. */
static void softmem_pages_drop(struct softmem_pool *pool,
			       struct list_head *fresh)
{
	struct page *page, *next;
	unsigned long nr = 0;

	list_for_each_entry_safe(page, next, fresh, lru) {
		list_del(&page->lru);
		set_page_private(page, 0);
		nr += softmem_page_nr(page);
		softmem_page_free(page);
	}
	softmem_pool_uncharge(pool, nr);
}

/*
 * Installs huge folio @page over the chunk starting at page_private(), or
 * fails with -EEXIST if a page of the chunk is installed already.  Every
 * index is reserved before any is filled, so that a failure to allocate
 * leaves nothing a reader could have seen.
 */
static int softmem_huge_install(struct softmem_pages *backing,
				struct page *page)
{
	unsigned long first = page_private(page), index = first, i;
	struct folio *folio = page_folio(page);
	int ret;

	lockdep_assert_held(&backing->install);
	if (xa_find(&backing->pages, &index, first + SOFTMEM_HUGE_PAGES - 1,
		    XA_PRESENT))
		return -EEXIST;
	for (i = 0; i < SOFTMEM_HUGE_PAGES; i++) {
		ret = xa_reserve(&backing->pages, first + i,
				 SOFTMEM_GFP_KERNEL);
		if (ret) {
			while (i--)
				xa_release(&backing->pages, first + i);
			return ret;
		}
	}
	/* Reserved slots take a page without allocating. */
	for (i = 0; i < SOFTMEM_HUGE_PAGES; i++)
		xa_store(&backing->pages, first + i, folio_page(folio, i), 0);
	return 0;
}

/*
 * Makes the pages on @fresh (index in page_private()) part of the region.
 * A page whose index another writer filled meanwhile is dropped; so is a
 * huge folio whose chunk another writer gave a base page meanwhile, and
 * then -EAGAIN asks the caller to back what it wanted of that chunk with
 * base pages.  A huge-backed region's installs hold @backing->install.
 */
static int softmem_pages_install(struct softmem_region *region,
				 struct softmem_pages *backing,
				 struct list_head *fresh)
{
	unsigned long added = 0, huge = 0;
	struct page *page, *next, *old;
	LIST_HEAD(unused);
	bool again = false;
	int ret = 0;

	if (region->huge)
		mutex_lock(&backing->install);
	list_for_each_entry_safe(page, next, fresh, lru) {
		if (ret)
			break;
		if (PageHead(page)) {
			ret = softmem_huge_install(backing, page);
			if (ret == -EEXIST) {
				ret = 0;
				again = true;
				list_move(&page->lru, &unused);
			} else if (!ret) {
				list_del(&page->lru);
				set_page_private(page, 0);
				added += SOFTMEM_HUGE_PAGES;
				huge += SOFTMEM_HUGE_PAGES;
			}
			continue;
		}
		old = xa_cmpxchg(&backing->pages, page_private(page), NULL,
				 page, SOFTMEM_GFP_KERNEL);
		if (xa_is_err(old)) {
			ret = xa_err(old);
			break;
		}
		list_del(&page->lru);
		if (old) {
			list_add(&page->lru, &unused);
			continue;
		}
		set_page_private(page, 0);
		added++;
	}
	if (region->huge)
		mutex_unlock(&backing->install);
	list_splice(&unused, fresh);
	softmem_pages_drop(region->pool, fresh);

	spin_lock(&region->lock);
	backing->nr_pages += added;
	backing->nr_huge += huge;
	softmem_pages_account(region->pool, backing, added);
	softmem_stat_add(region->pool, SOFTMEM_STAT_HUGE_PAGES, huge);
	if (region->state == SOFTMEM_REGION_SUSPENDED)
		softmem_region_add_suspended(region, added);
	spin_unlock(&region->lock);
	return ret ?: again ? -EAGAIN : 0;
}

/*
 * The nodes the writer may use: its cpuset's, narrowed to its memory
 * policy's nodes unless that policy only prefers a node.
 */
static void softmem_allowed_nodes(nodemask_t *allowed)
{
	struct mempolicy *pol;

	task_lock(current);
	nodes_and(*allowed, cpuset_current_mems_allowed,
		  node_states[N_MEMORY]);
	pol = current->mempolicy;
	if (pol && pol->mode != MPOL_PREFERRED && pol->mode != MPOL_LOCAL)
		nodes_and(*allowed, *allowed, pol->nodes);
	task_unlock(current);
}

/*
 * The node of @nodes with the most room, if it has more than @room pages;
 * else NUMA_NO_NODE.
 */
static int softmem_roomiest_node(const nodemask_t *nodes, unsigned long room)
{
	int node, best = NUMA_NO_NODE;

	for_each_node_mask(node, *nodes) {
		unsigned long r = softmem_node_room(node);

		if (r > room) {
			best = node;
			room = r;
		}
	}
	return best;
}

/*
 * A node with more room than @nid for a region of @nr_pages pages, among
 * those the writer may use.  NUMA_NO_NODE if @nid has room for the whole
 * region or no node has more.  A region's pages are all on one node, so a
 * first page placed on a node about to run out would make the region's
 * later pages fail while other nodes have plenty.
 */
static int softmem_roomier_node(int nid, unsigned long nr_pages)
{
	unsigned long room = softmem_node_room(nid);
	nodemask_t allowed;

	if (room >= nr_pages)
		return NUMA_NO_NODE;
	softmem_allowed_nodes(&allowed);
	return softmem_roomiest_node(&allowed, room);
}

/*
 * Allocates the pages of [@index, @last] that @backing (NULL for none yet)
 * lacks on node @nid, onto @fresh, which the caller empties on an error.
 */
static int softmem_pages_alloc_range(struct softmem_region *region,
				     struct softmem_pages *backing,
				     unsigned long index, unsigned long last,
				     int nid, struct list_head *fresh,
				     unsigned long *base_chunk)
{
	struct page *page;

	for (; index <= last; index++) {
		if (backing && xa_load(&backing->pages, index))
			continue;
		/*
		 * Freed meanwhile: its pages would go at the last reference,
		 * and charging them could discard the pool's other regions.
		 */
		if (READ_ONCE(region->state) == SOFTMEM_REGION_DEAD)
			return -ENOENT;
		page = softmem_chunk_new(region, backing, index, nid,
					 base_chunk);
		if (IS_ERR(page))
			return PTR_ERR(page);
		/* A huge folio covers the rest of its chunk. */
		index = page_private(page) + softmem_page_nr(page) - 1;
		list_add_tail(&page->lru, fresh);
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

/*
 * The first page of a region that has none, at @index: on the region's
 * node, or where the writer's memory policy puts it, moved to another node
 * it allows if that one lacks room for the whole region.
 */
static struct page *softmem_first_page(struct softmem_region *region,
				       unsigned long index,
				       unsigned long *base_chunk)
{
	struct page *page, *other = NULL;
	int nid;

	page = softmem_chunk_new(region, NULL, index, region->nid, base_chunk);
	if (IS_ERR(page) || region->nid != NUMA_NO_NODE)
		return page;
	nid = softmem_roomier_node(page_to_nid(page), region->nr_pages);
	if (nid != NUMA_NO_NODE)
		other = PageHead(page) ? softmem_huge_alloc(nid) :
					 softmem_page_alloc(nid);
	/* The charge of the first page covers its replacement. */
	if (other) {
		set_page_private(other, page_private(page));
		set_page_private(page, 0);
		softmem_page_free(page);
		page = other;
	}
	return page;
}

/*
 * Allocates the pages of a region's first write, [@index, @last], onto
 * @fresh, all on one node: the first page's (softmem_first_page()).  When a
 * later page cannot be had there, a region not bound to a node moves the
 * whole write to the roomiest other node the writer may use, and so on:
 * nothing of it is visible yet, and a node that ran out mid-write must not
 * fail a write that another node has room for.  Returns the node, or an
 * error with @fresh emptied.
 */
static int softmem_pages_alloc_first(struct softmem_region *region,
				     unsigned long index, unsigned long last,
				     struct list_head *fresh)
{
	unsigned long base_chunk = ULONG_MAX;
	nodemask_t untried;
	struct page *page;
	int nid, ret;

	page = softmem_first_page(region, index, &base_chunk);
	if (IS_ERR(page))
		return PTR_ERR(page);
	nid = page_to_nid(page);
	list_add_tail(&page->lru, fresh);
	ret = softmem_pages_alloc_range(region, NULL,
					page_private(page) + softmem_page_nr(page),
					last, nid, fresh, &base_chunk);
	if (ret == -ENOMEM && region->nid == NUMA_NO_NODE)
		softmem_allowed_nodes(&untried);
	while (ret == -ENOMEM && region->nid == NUMA_NO_NODE) {
		node_clear(nid, untried);
		nid = softmem_roomiest_node(&untried, 0);
		if (nid == NUMA_NO_NODE)
			nid = first_node(untried);
		if (nid >= MAX_NUMNODES)
			break;
		softmem_pages_drop(region->pool, fresh);
		base_chunk = ULONG_MAX;
		ret = softmem_pages_alloc_range(region, NULL, index, last, nid,
						fresh, &base_chunk);
	}
	if (ret) {
		softmem_pages_drop(region->pool, fresh);
		return ret;
	}
	return nid;
}

/*
 * One pass of softmem_pages_populate(): -EAGAIN when a huge folio it got
 * lost its chunk to another writer's base page, for another pass; -ENOSPC
 * when the pool's limit refused a page.  A region
 * without pages gets its page set on the node of its first write's pages,
 * made once they are all allocated; if a concurrent writer made the set on
 * another node meanwhile, the pages are allocated again there.
 */
static int softmem_pages_populate_once(struct softmem_region *region,
				       u64 offset, u64 length)
{
	unsigned long index, last, base_chunk = ULONG_MAX;
	struct softmem_pages *backing;
	LIST_HEAD(fresh);
	int ret;

	index = offset >> PAGE_SHIFT;
	last = (offset + length - 1) >> PAGE_SHIFT;
	if (READ_ONCE(region->state) == SOFTMEM_REGION_DEAD)
		return -ENOENT;
	/* Pairs with the release in softmem_pages_get(). */
	backing = smp_load_acquire(&region->backing);
	if (!backing) {
		int nid = softmem_pages_alloc_first(region, index, last, &fresh);

		if (nid < 0)
			return nid;
		backing = softmem_pages_get(region, nid);
		if (backing && backing->nid == nid)
			return softmem_pages_install(region, backing, &fresh);
		softmem_pages_drop(region->pool, &fresh);
		if (!backing)
			return -ENOMEM;
	}

	ret = softmem_pages_alloc_range(region, backing, index, last,
					backing->nid, &fresh, &base_chunk);
	if (ret) {
		softmem_pages_drop(region->pool, &fresh);
		return ret;
	}
	return softmem_pages_install(region, backing, &fresh);
}

/*
 * Allocates every missing page of [offset, offset + length) before any is
 * installed, so that a write either fails for lack of memory with nothing
 * changed or can no longer fail for it halfway.  All pages of a region are
 * on one node, so that reclaim on that node finds them all.
 */
int softmem_pages_populate(struct softmem_region *region, u64 offset,
			   u64 length)
{
	int ret;

	if (!length)
		return 0;
	/* Again, for the chunks another writer took for base pages. */
	do {
		ret = softmem_pages_populate_once(region, offset, length);
	} while (ret == -EAGAIN);
	/* The pool's limit refused a page: out of memory, to user space. */
	return ret == -ENOSPC ? -ENOMEM : ret;
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
		/* A huge chunk: its folio, whole, then the next chunk. */
		if (PageHead(page))
			index += SOFTMEM_HUGE_PAGES - 1;
		softmem_page_free(page);
		cond_resched();
	}
	softmem_pages_free(backing);
}
