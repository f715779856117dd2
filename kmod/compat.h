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
#include <linux/shrinker.h>

#include "compat-probes.h"

/*
 * list_lru_add() and list_lru_del() take the node and memory cgroup
 * explicitly since 6.8; before, both came from the slab page of the item.
 */
#ifdef SOFTMEM_HAVE_LIST_LRU_ADD_OBJ
#define softmem_compat_lru_add(lru, item, nid, memcg) \
	list_lru_add(lru, item, nid, memcg)
#define softmem_compat_lru_del(lru, item, nid, memcg) \
	list_lru_del(lru, item, nid, memcg)
#else
#define softmem_compat_lru_add(lru, item, nid, memcg) list_lru_add(lru, item)
#define softmem_compat_lru_del(lru, item, nid, memcg) list_lru_del(lru, item)
#endif

/* The list_lru walk callback lost its spinlock_t * argument in 6.13. */
#ifdef SOFTMEM_HAVE_LRU_WALK_CB_NO_LOCK
#define SOFTMEM_LRU_WALK_CB(name, isolate)	\
	static list_lru_walk_cb name = isolate
#else
#define SOFTMEM_LRU_WALK_CB(name, isolate)				\
	static enum lru_status name(struct list_head *item,		\
				    struct list_lru_one *list,		\
				    spinlock_t *lock, void *arg)	\
	{								\
		return isolate(item, list, arg);			\
	}
#endif

/*
 * Shrinkers are allocated by shrinker_alloc() since 6.7.  Before, they were
 * embedded and registered in one step, which assigns the id a memcg-aware
 * list_lru needs: register first, initialise the list_lru after, and let the
 * callbacks ignore calls until it is ready.
 */
#ifdef SOFTMEM_HAVE_SHRINKER_ALLOC
static inline struct shrinker *softmem_compat_shrinker_alloc(const char *name)
{
	return shrinker_alloc(SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE, "%s",
			      name);
}

#define softmem_compat_shrinker_register(shrinker) \
	({ shrinker_register(shrinker); 0; })
#define softmem_compat_shrinker_free(shrinker) shrinker_free(shrinker)
#define SOFTMEM_SHRINKER_ID_BEFORE_REGISTER true
#else
static inline struct shrinker *softmem_compat_shrinker_alloc(const char *name)
{
	struct shrinker *shrinker = kzalloc(sizeof(*shrinker), GFP_KERNEL);

	if (shrinker)
		shrinker->flags = SHRINKER_MEMCG_AWARE | SHRINKER_NUMA_AWARE;
	return shrinker;
}

#define softmem_compat_shrinker_register(shrinker) \
	register_shrinker(shrinker, "softmem")
static inline void softmem_compat_shrinker_free(struct shrinker *shrinker)
{
	unregister_shrinker(shrinker);
	kfree(shrinker);
}
#define SOFTMEM_SHRINKER_ID_BEFORE_REGISTER false
#endif

#endif /* _SOFTMEM_COMPAT_H */
