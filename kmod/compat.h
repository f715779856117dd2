/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels softmem builds on.  The code is written
 * against the newest API; older kernels get it from here.  Each switch is a
 * compile probe (kmod/probes/, results in compat-probes.h), not a version
 * number, because distributions backport.
 */
#ifndef _SOFTMEM_COMPAT_H
#define _SOFTMEM_COMPAT_H

#include <linux/list_lru.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/percpu_counter.h>
#include <linux/shrinker.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/swap.h>

#include "compat-probes.h"

/*
 * A page set's list_lru list is the one of its node and memory cgroup
 * (softmem_pages_get() made sure it exists).  Since 6.8 the
 * object-based calls are list_lru_add_obj() and list_lru_del_obj(); before,
 * list_lru_add() and list_lru_del() were.  Deriving the cgroup from the
 * object, not from a pointer kept in the region, keeps add and del on the
 * same list while the cgroup is being reparented.
 */
static inline bool softmem_compat_lru_add(struct list_lru *lru,
					  struct list_head *item)
{
#ifdef SOFTMEM_HAVE_LIST_LRU_ADD_OBJ
	return list_lru_add_obj(lru, item);
#else
	return list_lru_add(lru, item);
#endif
}

static inline bool softmem_compat_lru_del(struct list_lru *lru,
					  struct list_head *item)
{
#ifdef SOFTMEM_HAVE_LIST_LRU_ADD_OBJ
	return list_lru_del_obj(lru, item);
#else
	return list_lru_del(lru, item);
#endif
}

/* A list_lru walk callback as 6.13 has it: without the list's spinlock. */
typedef enum lru_status (*softmem_lru_isolate_t)(struct list_head *item,
						 struct list_lru_one *list,
						 void *arg);

#ifdef SOFTMEM_HAVE_LRU_WALK_CB_NO_LOCK
static inline unsigned long
softmem_compat_lru_shrink_walk(struct list_lru *lru, struct shrink_control *sc,
			       softmem_lru_isolate_t isolate, void *arg)
{
	return list_lru_shrink_walk(lru, sc, isolate, arg);
}

static inline unsigned long
softmem_compat_lru_walk_node(struct list_lru *lru, int nid,
			     softmem_lru_isolate_t isolate, void *arg,
			     unsigned long *nr_to_walk)
{
	return list_lru_walk_node(lru, nid, isolate, arg, nr_to_walk);
}
#else
struct softmem_compat_walk {
	softmem_lru_isolate_t isolate;
	void *arg;
};

static inline enum lru_status
softmem_compat_walk_cb(struct list_head *item, struct list_lru_one *list,
		       spinlock_t *lock, void *arg)
{
	struct softmem_compat_walk *walk = arg;

	return walk->isolate(item, list, walk->arg);
}

static inline unsigned long
softmem_compat_lru_shrink_walk(struct list_lru *lru, struct shrink_control *sc,
			       softmem_lru_isolate_t isolate, void *arg)
{
	struct softmem_compat_walk walk = { .isolate = isolate, .arg = arg };

	return list_lru_shrink_walk(lru, sc, softmem_compat_walk_cb, &walk);
}

static inline unsigned long
softmem_compat_lru_walk_node(struct list_lru *lru, int nid,
			     softmem_lru_isolate_t isolate, void *arg,
			     unsigned long *nr_to_walk)
{
	struct softmem_compat_walk walk = { .isolate = isolate, .arg = arg };

	return list_lru_walk_node(lru, nid, softmem_compat_walk_cb, &walk,
				  nr_to_walk);
}
#endif

/*
 * Pages a shrinker frees outside the LRU lists count towards the progress of
 * the reclaim that called it, or reclaim keeps escalating.  6.4 named it.
 */
static inline void softmem_compat_account_reclaimed(unsigned long pages)
{
#ifdef SOFTMEM_HAVE_MM_ACCOUNT_RECLAIMED_PAGES
	mm_account_reclaimed_pages(pages);
#else
	if (current->reclaim_state)
		current->reclaim_state->reclaimed_slab += pages;
#endif
}

/* Pages freed outside the LRU lists so far in the reclaim pass under way. */
static inline unsigned long softmem_compat_reclaimed_so_far(void)
{
	if (!current->reclaim_state)
		return 0;
#ifdef SOFTMEM_HAVE_MM_ACCOUNT_RECLAIMED_PAGES
	return current->reclaim_state->reclaimed;
#else
	return current->reclaim_state->reclaimed_slab;
#endif
}

/*
 * Adds @pages to the shared-memory pages of @mm's RSS, which the OOM killer
 * counts.  add_mm_counter() would also emit the rss_stat tracepoint, whose
 * helper is not exported.  6.2 made the counters percpu_counters.
 */
static inline void softmem_compat_add_rss(struct mm_struct *mm, long pages)
{
#ifdef SOFTMEM_HAVE_RSS_STAT_PERCPU
	percpu_counter_add(&mm->rss_stat[MM_SHMEMPAGES], pages);
#else
	atomic_long_add(pages, &mm->rss_stat.count[MM_SHMEMPAGES]);
#endif
}

/*
 * Shrinkers are allocated by shrinker_alloc() since 6.7, which also assigns
 * the id a memcg-aware list_lru needs.  Before, they were registered in one
 * step that assigns the id: register first, initialise the list_lru after,
 * and let the callbacks ignore calls until it is ready.
 */
#ifdef SOFTMEM_HAVE_SHRINKER_ALLOC
#define SOFTMEM_SHRINKER_ID_BEFORE_REGISTER	true

static inline struct shrinker *softmem_compat_shrinker_alloc(const char *name)
{
	return shrinker_alloc(SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE, "%s",
			      name);
}

static inline int softmem_compat_shrinker_register(struct shrinker *shrinker,
						   const char *name)
{
	shrinker_register(shrinker);
	return 0;
}

static inline void softmem_compat_shrinker_free(struct shrinker *shrinker)
{
	shrinker_free(shrinker);
}
#else
#define SOFTMEM_SHRINKER_ID_BEFORE_REGISTER	false

static inline struct shrinker *softmem_compat_shrinker_alloc(const char *name)
{
	struct shrinker *shrinker = kzalloc(sizeof(*shrinker), GFP_KERNEL);

	if (shrinker)
		shrinker->flags = SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE;
	return shrinker;
}

static inline int softmem_compat_shrinker_register(struct shrinker *shrinker,
						   const char *name)
{
	return register_shrinker(shrinker, "%s", name);
}

static inline void softmem_compat_shrinker_free(struct shrinker *shrinker)
{
	unregister_shrinker(shrinker);
	kfree(shrinker);
}
#endif

/*
 * Since 6.3 vm_flags is read-only outside mm, changed through
 * vm_flags_set(); before, drivers or-ed flags in directly.  (Only kernels
 * without mmap_prepare, below, call it.)
 */
static inline void softmem_compat_vm_flags_set(struct vm_area_struct *vma,
					       unsigned long flags)
{
#ifdef SOFTMEM_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * Huge folios mapped with one PMD each: a special PMD, as for a PFN mapping,
 * which takes no reference on the pages (they are freed only after every
 * mapping of them is zapped, see softmem_region_zap()) and which the rest of
 * mm (GUP, smaps, zap) leaves alone.  pmd_special() came with 6.12, on
 * architectures with ARCH_SUPPORTS_PMD_PFNMAP; before, such a PMD in a
 * VM_MIXEDMAP mapping would pass for a refcounted, rmapped THP mapping of
 * the folio, which it is not, so older kernels map the folio's pages one PTE
 * each.  7.x takes the PFN as a plain number, 6.12 as a pfn_t.
 */
#if defined(SOFTMEM_HAVE_HUGE_PFN_PMD_ULONG)
#define SOFTMEM_HAVE_HUGE_MAP
#define softmem_compat_pmd_pfn(page)	page_to_pfn(page)
#elif defined(SOFTMEM_HAVE_HUGE_PFN_PMD)
#include <linux/pfn_t.h>
#define SOFTMEM_HAVE_HUGE_MAP
#define softmem_compat_pmd_pfn(page)	page_to_pfn_t(page)
#endif

#ifdef SOFTMEM_HAVE_HUGE_MAP
static inline vm_fault_t softmem_compat_insert_pmd(struct vm_fault *vmf,
						   struct page *page,
						   bool write)
{
	return vmf_insert_pfn_pmd(vmf, softmem_compat_pmd_pfn(page), write);
}
#endif

#endif /* _SOFTMEM_COMPAT_H */
