// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * softmem_pcache: SQLite's page cache (SQLITE_CONFIG_PCACHE2) on softmem.
 *
 * Layout.  A cache keeps its pages in groups: one softmem region, mapped
 * MAP_SHARED, holds a group's pages, back to back and page aligned:
 * group_bytes of them, or more once cache_size is so large that the cache
 * would need more than SMPC_MAX_GROUPS regions, and so mappings (the
 * process has vm.max_map_count of them, 65530 by default); and twice as
 * many each time the number of groups doubles past SMPC_MAX_GROUPS / 2
 * (an in-memory database has no cache_size).  Everything else lives in
 * ordinary memory beside the group: each page's extra bytes (SQLite's page
 * header, zeroed whenever a slot takes a new page) and what the cache
 * needs (key, hash chain, LRU links).
 *
 * States.  A group is
 *   ACTIVE     resumed, with at least one pinned page;
 *   IDLE       resumed, no page pinned: on the cache's idle list, to be
 *              suspended with the next batch (or freed if empty by then);
 *   SUSPENDED  suspended: the kernel may discard it at any time.
 * SQLite touches only pinned pages, so it only ever touches resumed
 * regions: a pointer it holds never points into memory that can be
 * discarded under it.  A region is resumed before any page of it is handed
 * out and suspended only once none of its pages is pinned.
 *
 * Fetch.  A page of an ACTIVE or IDLE group is a hit with no system call.
 * A page of a SUSPENDED group costs a resume: SOFTMEM_INTACT is a hit,
 * SOFTMEM_DISCARDED a miss for every page of the group (they are dropped
 * from the cache, and the group, now resumed and empty, takes new pages).
 *
 * Unpin.  A group whose last pinned page is unpinned goes to the tail of
 * the idle list; when the list is full, one SOFTMEM_IOC_BATCH suspends the
 * older half of it (and frees the empty groups), and the newer half stays
 * resumed.  The list holds idle_batch groups (32: 2 MiB of 4 KiB pages),
 * but no more than an eighth of the cache's groups (at least 4).  So a
 * page fetched again soon after its unpin costs no system call, a suspend
 * costs a fraction of one, and besides the groups with a pinned page at
 * most that much of the cache is not discardable.  With idle_batch 1 a
 * group is suspended at once.
 *
 * New pages.  A new page takes a free slot of a resumed group, else, when
 * the cache holds cache_size pages, the slot of the least recently unpinned
 * page (a page of a suspended group takes its whole group with it, which
 * is resumed to be reused), else a new group.  A group's memory is
 * populated (MADV_POPULATE_WRITE) before its first page is handed out, so
 * running out of memory is an error SQLite sees (SQLITE_NOMEM), never a
 * SIGBUS in a later access.
 *
 * Threads.  SQLite serialises the calls on one cache (its pager's mutex);
 * different caches share only the pool descriptor and the counters, which
 * are atomic.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <softmem.h>

#include "softmem_pcache.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#define SMPC_DEFAULT_GROUP_BYTES	(64 * 1024)
#define SMPC_DEFAULT_IDLE_BATCH		32
#define SMPC_MAX_GROUP_PAGES		1024
#define SMPC_MAX_GROUPS			16384
#define SMPC_MAX_IDLE_BATCH		1024

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/* A circular doubly linked list, as the kernel's list_head. */
struct smpc_list {
	struct smpc_list *next, *prev;
};

static void list_init(struct smpc_list *head)
{
	head->next = head;
	head->prev = head;
}

static bool list_empty(const struct smpc_list *head)
{
	return head->next == head;
}

static void list_add_tail(struct smpc_list *entry, struct smpc_list *head)
{
	entry->prev = head->prev;
	entry->next = head;
	head->prev->next = entry;
	head->prev = entry;
}

static void list_del_init(struct smpc_list *entry)
{
	entry->prev->next = entry->next;
	entry->next->prev = entry->prev;
	list_init(entry);
}

static bool list_linked(const struct smpc_list *entry)
{
	return entry->next != entry;
}

enum smpc_state {
	SMPC_ACTIVE,
	SMPC_IDLE,
	SMPC_SUSPENDED,
};

struct smpc_group;

/* One slot of a group; SQLite is handed &slot->base. */
struct smpc_page {
	sqlite3_pcache_page base;	/* pBuf and pExtra, in the mapping */
	struct smpc_page *hash_next;
	struct smpc_list lru;		/* on cache->lru while unpinned */
	struct smpc_group *group;
	unsigned int key;		/* 0: the slot is free */
	bool pinned;
};

struct smpc_cache;

struct smpc_group {
	struct smpc_cache *cache;
	uint64_t handle;
	unsigned char *map;
	size_t map_len;
	unsigned int nr_slots;
	unsigned int used;		/* slots holding a page */
	unsigned int pinned;		/* of which pinned */
	enum smpc_state state;
	bool populated;			/* every page of the region allocated */
	struct smpc_list open;		/* on cache->open: resumed, a slot free */
	struct smpc_list idle;		/* on cache->idle: IDLE */
	struct smpc_list all;		/* on cache->groups */
	struct smpc_page slots[];	/* then the slots' extra bytes */
};

struct smpc_cache {
	unsigned int page_size;
	unsigned int extra_size;
	unsigned int extra_stride;	/* extra_size rounded up to 8 */
	bool purgeable;
	unsigned int min_group_pages;	/* group_bytes, in pages */
	unsigned int group_pages;	/* of a new group */
	unsigned int grow_at;		/* groups from which they double */
	unsigned int idle_batch;

	unsigned int max_pages;		/* cache_size */
	unsigned int max_pinned;	/* createFlag 1 fails above */
	unsigned int pinned_limit;	/* max_pinned_bytes, in pages */
	unsigned int pages;
	unsigned int pinned;
	unsigned int max_key;

	struct smpc_page **hash;
	unsigned int nr_buckets;	/* a power of two */

	struct smpc_list lru;		/* unpinned pages, least recent first */
	struct smpc_list open;
	struct smpc_list idle;
	unsigned int nr_idle;
	unsigned int nr_groups;
	struct smpc_list groups;
	struct softmem_batch_entry *batch;
};

static struct softmem_pcache_config smpc_config;
static int smpc_pool = -1;
static struct softmem_pcache_stats smpc_stats;

#define STAT_ADD(field, n) \
	__atomic_fetch_add(&smpc_stats.field, (n), __ATOMIC_RELAXED)
#define STAT_INC(field)	STAT_ADD(field, 1)

/* Raises the pinned_peak counter to @c's pinned bytes. */
static void smpc_note_pinned(const struct smpc_cache *c)
{
	uint64_t bytes = (uint64_t)c->pinned * c->page_size;
	uint64_t peak = __atomic_load_n(&smpc_stats.pinned_peak,
					__ATOMIC_RELAXED);

	while (bytes > peak &&
	       !__atomic_compare_exchange_n(&smpc_stats.pinned_peak, &peak,
					    bytes, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* ------------------------------------------------------------ system calls */

static int smpc_resume(struct smpc_group *g, bool *discarded)
{
	STAT_INC(resumes);
	STAT_INC(syscalls);
	return softmem_resume(smpc_pool, g->handle, discarded);
}

/* Allocates every page of @g's region, as a write would. */
static int smpc_populate(struct smpc_group *g)
{
	static const unsigned char zeros[4096];
	size_t off;
	int ret;

	STAT_INC(syscalls);
	if (!madvise(g->map, g->map_len, MADV_POPULATE_WRITE)) {
		g->populated = true;
		return 0;
	}
	if (errno != EINVAL)
		return -ENOMEM;
	/* Before Linux 5.14: write zeros, which allocates as well. */
	for (off = 0; off < g->map_len; off += sizeof(zeros)) {
		size_t len = g->map_len - off < sizeof(zeros) ?
			     g->map_len - off : sizeof(zeros);

		STAT_INC(syscalls);
		ret = softmem_write(smpc_pool, g->handle, off, zeros, len);
		if (ret)
			return ret;
	}
	g->populated = true;
	return 0;
}

/* ----------------------------------------------------------------- hashing */

static unsigned int smpc_bucket(const struct smpc_cache *c, unsigned int key)
{
	return (key * 2654435761u) & (c->nr_buckets - 1);
}

static struct smpc_page *smpc_lookup(struct smpc_cache *c, unsigned int key)
{
	struct smpc_page *p = c->hash[smpc_bucket(c, key)];

	while (p && p->key != key)
		p = p->hash_next;
	return p;
}

static void smpc_hash_insert(struct smpc_cache *c, struct smpc_page *p)
{
	unsigned int b = smpc_bucket(c, p->key);

	p->hash_next = c->hash[b];
	c->hash[b] = p;
}

static void smpc_hash_remove(struct smpc_cache *c, struct smpc_page *p)
{
	struct smpc_page **pp = &c->hash[smpc_bucket(c, p->key)];

	while (*pp != p)
		pp = &(*pp)->hash_next;
	*pp = p->hash_next;
	p->hash_next = NULL;
}

/* Doubles the table once it holds as many pages as buckets. */
static void smpc_hash_grow(struct smpc_cache *c)
{
	unsigned int old = c->nr_buckets, i;
	struct smpc_page **table, **old_table = c->hash;

	if (c->pages < old || old >= (1u << 30))
		return;
	table = calloc((size_t)old * 2, sizeof(*table));
	if (!table)
		return;		/* longer chains, still correct */
	c->hash = table;
	c->nr_buckets = old * 2;
	for (i = 0; i < old; i++) {
		struct smpc_page *p = old_table[i], *next;

		for (; p; p = next) {
			next = p->hash_next;
			smpc_hash_insert(c, p);
		}
	}
	free(old_table);
}

/* ------------------------------------------------------------------ groups */

/*
 * Puts @g on the lists its state calls for: open when resumed with a free
 * slot, idle when resumed with nothing pinned (for a cache whose pages
 * SQLite never unpins, only when empty: such a group is never suspended).
 */
static void smpc_group_settle(struct smpc_group *g)
{
	struct smpc_cache *c = g->cache;
	bool resumed = g->state != SMPC_SUSPENDED;
	bool open = resumed && g->used < g->nr_slots;
	bool idle = resumed && !g->pinned && (c->purgeable || !g->used);

	if (resumed)
		g->state = g->pinned ? SMPC_ACTIVE : SMPC_IDLE;
	if (open && !list_linked(&g->open))
		list_add_tail(&g->open, &c->open);
	else if (!open && list_linked(&g->open))
		list_del_init(&g->open);
	if (idle && !list_linked(&g->idle)) {
		list_add_tail(&g->idle, &c->idle);
		c->nr_idle++;
	} else if (!idle && list_linked(&g->idle)) {
		list_del_init(&g->idle);
		c->nr_idle--;
	}
}

static struct smpc_group *smpc_group_new(struct smpc_cache *c)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len;
	struct smpc_group *g;
	unsigned int i, n;
	void *map;

	/* However the cache grows, its mappings grow by a logarithm. */
	if (c->nr_groups >= c->grow_at) {
		c->grow_at *= 2;
		if (c->min_group_pages < SMPC_MAX_GROUP_PAGES / 2)
			c->min_group_pages *= 2;
		if (c->group_pages < c->min_group_pages)
			c->group_pages = c->min_group_pages;
	}
	n = c->group_pages;
	len = ((size_t)n * c->page_size + pg - 1) & ~(pg - 1);

	g = calloc(1, sizeof(*g) + n * (sizeof(g->slots[0]) + c->extra_stride));
	if (!g)
		return NULL;
	STAT_ADD(syscalls, 4);	/* alloc; export, mmap and close */
	if (softmem_alloc(smpc_pool, len, &g->handle)) {
		free(g);
		return NULL;
	}
	if (softmem_map(smpc_pool, g->handle, 0, len,
			PROT_READ | PROT_WRITE, &map)) {
		STAT_INC(syscalls);
		softmem_free(smpc_pool, g->handle);
		free(g);
		return NULL;
	}
	STAT_INC(regions_allocated);
	g->cache = c;
	g->map = map;
	g->map_len = len;
	g->nr_slots = n;
	g->state = SMPC_IDLE;	/* a new region is resumed */
	list_init(&g->open);
	list_init(&g->idle);
	list_add_tail(&g->all, &c->groups);
	c->nr_groups++;
	for (i = 0; i < n; i++) {
		struct smpc_page *p = &g->slots[i];

		p->base.pBuf = g->map + (size_t)i * c->page_size;
		p->base.pExtra = (char *)&g->slots[n] +
				 (size_t)i * c->extra_stride;
		p->group = g;
		list_init(&p->lru);
	}
	smpc_group_settle(g);
	return g;
}

/* Unmaps @g and forgets it; its region was freed (or is freed here). */
static void smpc_group_release(struct smpc_group *g, bool free_region)
{
	struct smpc_cache *c = g->cache;

	if (list_linked(&g->open))
		list_del_init(&g->open);
	if (list_linked(&g->idle)) {
		list_del_init(&g->idle);
		c->nr_idle--;
	}
	list_del_init(&g->all);
	c->nr_groups--;
	if (free_region) {
		STAT_INC(syscalls);
		softmem_free(smpc_pool, g->handle);
	}
	STAT_INC(syscalls);
	munmap(g->map, g->map_len);
	STAT_INC(regions_freed);
	free(g);
}

/*
 * Removes page @p from the cache (unpinning it first if need be).  An
 * empty suspended group is freed at once: @p's group must not be used
 * after this unless it is known to be resumed.
 */
static void smpc_page_remove(struct smpc_cache *c, struct smpc_page *p)
{
	struct smpc_group *g = p->group;

	if (p->pinned) {
		p->pinned = false;
		g->pinned--;
		c->pinned--;
	} else if (list_linked(&p->lru)) {
		list_del_init(&p->lru);
	}
	smpc_hash_remove(c, p);
	p->key = 0;
	g->used--;
	c->pages--;
	if (g->state == SMPC_SUSPENDED && !g->used)
		smpc_group_release(g, true);
	else
		smpc_group_settle(g);
}

/* Drops every page of @g, which has none pinned; keeps the group. */
static unsigned int smpc_group_drop_pages(struct smpc_group *g)
{
	struct smpc_cache *c = g->cache;
	unsigned int i, n = 0;

	for (i = 0; i < g->nr_slots && g->used; i++) {
		struct smpc_page *p = &g->slots[i];

		if (!p->key)
			continue;
		list_del_init(&p->lru);
		smpc_hash_remove(c, p);
		p->key = 0;
		g->used--;
		c->pages--;
		n++;
	}
	return n;
}

/*
 * Resumes suspended group @g for reuse or for a hit.  Returns 1 if it was
 * intact, 0 if it was discarded (its pages are then dropped: they are
 * misses), -1 if it could not be resumed (the group is then gone).
 */
static int smpc_group_resume(struct smpc_group *g)
{
	bool discarded = false;
	unsigned int lost;

	if (smpc_resume(g, &discarded)) {
		smpc_group_drop_pages(g);
		smpc_group_release(g, true);
		return -1;
	}
	g->state = SMPC_IDLE;
	if (!discarded) {
		smpc_group_settle(g);
		return 1;
	}
	lost = smpc_group_drop_pages(g);
	STAT_INC(discards);
	STAT_ADD(discarded_pages, lost);
	g->populated = false;	/* fresh zero pages, not allocated yet */
	smpc_group_settle(g);
	return 0;
}

/*
 * Suspends idle groups that hold pages and frees the empty ones, oldest
 * first, until @keep are left: one SOFTMEM_IOC_BATCH per idle_batch groups
 * (one call each when there is only one, or the module has no batches).
 */
static void smpc_flush_idle(struct smpc_cache *c, unsigned int keep)
{
	struct smpc_group *gs[SMPC_MAX_IDLE_BATCH];

	while (c->nr_idle > keep) {
		struct softmem_batch_entry *e = c->batch;
		unsigned int n = 0, done = 0, i;
		struct smpc_list *pos;
		int ret = -ENOTTY;

		for (pos = c->idle.next; pos != &c->idle && n < c->idle_batch &&
		     n < c->nr_idle - keep; pos = pos->next) {
			gs[n] = container_of(pos, struct smpc_group, idle);
			e[n] = (struct softmem_batch_entry){
				.handle = gs[n]->handle,
				.op = gs[n]->used ? SOFTMEM_BATCH_SUSPEND :
						    SOFTMEM_BATCH_FREE,
			};
			n++;
		}
		if (n > 1) {
			while (done < n) {
				unsigned int now = 0;

				STAT_INC(batches);
				STAT_INC(syscalls);
				ret = softmem_batch(smpc_pool, e + done,
						    n - done, &now);
				done += now;
				if (ret != -EINTR)
					break;
			}
		}
		/* Entries the batch did not apply go one by one. */
		for (i = done; i < n; i++) {
			STAT_INC(syscalls);
			if (e[i].op == SOFTMEM_BATCH_SUSPEND)
				e[i].error = softmem_suspend(smpc_pool,
							     e[i].handle);
			else
				e[i].error = softmem_free(smpc_pool,
							  e[i].handle);
		}
		for (i = 0; i < n; i++) {
			struct smpc_group *g = gs[i];

			if (e[i].op == SOFTMEM_BATCH_FREE) {
				smpc_group_release(g, false);
				continue;
			}
			list_del_init(&g->idle);
			c->nr_idle--;
			if (e[i].error)
				continue;	/* stays resumed: only costs */
			STAT_INC(suspends);
			g->state = SMPC_SUSPENDED;
			smpc_group_settle(g);
		}
	}
}

/* How many idle groups may stay resumed (see the top of the file). */
static unsigned int smpc_idle_max(const struct smpc_cache *c)
{
	unsigned int max = c->nr_groups / 8;

	if (c->idle_batch <= 1)
		return 1;
	if (max < 4)
		max = 4;
	return max < c->idle_batch ? max : c->idle_batch;
}

/* Suspends the older half of the idle groups once there are too many. */
static void smpc_trim_idle(struct smpc_cache *c)
{
	unsigned int max = smpc_idle_max(c);

	if (c->nr_idle >= max)
		smpc_flush_idle(c, max / 2);
}

/* ------------------------------------------------------------------- pages */

static void smpc_page_pin(struct smpc_cache *c, struct smpc_page *p)
{
	struct smpc_group *g = p->group;

	if (p->pinned)
		return;
	if (list_linked(&p->lru))
		list_del_init(&p->lru);
	p->pinned = true;
	g->pinned++;
	c->pinned++;
	smpc_note_pinned(c);
	smpc_group_settle(g);
}

/*
 * A resumed, populated group with a free slot for a new page, making room
 * as the comment at the top says; NULL if none can be had.
 */
static struct smpc_group *smpc_find_slot(struct smpc_cache *c, int create)
{
	bool flushed = false, reuse = false;
	struct smpc_group *g;
	int tries;

	for (tries = 0; tries < 8; tries++) {
		if (!list_empty(&c->open)) {
			g = container_of(c->open.next, struct smpc_group, open);
		} else if (c->purgeable && !list_empty(&c->lru) &&
			   (c->pages >= c->max_pages || reuse)) {
			struct smpc_page *victim =
				container_of(c->lru.next, struct smpc_page, lru);
			struct smpc_group *vg = victim->group;

			if (vg->state != SMPC_SUSPENDED) {
				STAT_INC(evictions);
				smpc_page_remove(c, victim);
			} else {
				STAT_ADD(evictions, smpc_group_drop_pages(vg));
				smpc_group_resume(vg);
			}
			continue;
		} else {
			g = smpc_group_new(c);
			if (!g) {
				/* Out of regions or mappings: reuse pages. */
				if (create == 2 && c->purgeable &&
				    !list_empty(&c->lru) && !reuse) {
					reuse = true;
					continue;
				}
				return NULL;
			}
		}
		if (g->populated || !smpc_populate(g))
			return g;
		/*
		 * No memory for it.  Make the idle groups discardable (and
		 * free the empty ones, @g perhaps among them) and try again,
		 * once, when SQLite has nothing left to spill (create 2).
		 */
		if (create != 2 || flushed)
			return NULL;
		smpc_flush_idle(c, 0);
		flushed = true;
	}
	return NULL;
}

static struct smpc_page *smpc_page_new(struct smpc_cache *c, unsigned int key,
				       int create)
{
	struct smpc_group *g = smpc_find_slot(c, create);
	struct smpc_page *p = NULL;
	unsigned int i;

	if (!g) {
		STAT_INC(alloc_failures);
		return NULL;
	}
	for (i = 0; i < g->nr_slots; i++) {
		if (!g->slots[i].key) {
			p = &g->slots[i];
			break;
		}
	}
	if (!p)
		return NULL;	/* cannot be: an open group has a free slot */
	p->key = key;
	p->pinned = true;
	g->used++;
	g->pinned++;
	c->pages++;
	c->pinned++;
	smpc_note_pinned(c);
	if (key > c->max_key)
		c->max_key = key;
	smpc_hash_insert(c, p);
	/* SQLite tells a new page by its zeroed header. */
	memset(p->base.pExtra, 0, c->extra_size);
	smpc_group_settle(g);
	smpc_hash_grow(c);
	return p;
}

/* Evicts unpinned pages, least recently unpinned first, down to @max. */
static void smpc_enforce_max(struct smpc_cache *c, unsigned int max)
{
	while (c->pages > max && !list_empty(&c->lru)) {
		STAT_INC(evictions);
		smpc_page_remove(c, container_of(c->lru.next,
						 struct smpc_page, lru));
	}
}

/*
 * cache_size, the pinned pages beyond which createFlag 1 fails, and the
 * size of new groups: enough pages that cache_size needs no more than
 * SMPC_MAX_GROUPS of them.
 */
static void smpc_set_max(struct smpc_cache *c, unsigned int max)
{
	unsigned int n = max / SMPC_MAX_GROUPS + 1;

	c->group_pages = n > c->min_group_pages ? n : c->min_group_pages;
	if (c->group_pages > SMPC_MAX_GROUP_PAGES)
		c->group_pages = SMPC_MAX_GROUP_PAGES;
	c->max_pages = max;
	c->max_pinned = max - max / 10;
	if (c->pinned_limit && c->pinned_limit < c->max_pinned)
		c->max_pinned = c->pinned_limit;
}

/* ----------------------------------------------------------------- methods */

static int smpc_init(void *arg)
{
	(void)arg;
	if (smpc_pool >= 0)
		return SQLITE_OK;
	STAT_INC(syscalls);
	smpc_pool = softmem_open();
	if (smpc_pool < 0)
		return SQLITE_CANTOPEN;
	if (smpc_config.pool_limit) {
		STAT_INC(syscalls);
		if (softmem_set_limit(smpc_pool, smpc_config.pool_limit)) {
			softmem_close(smpc_pool);
			smpc_pool = -1;
			return SQLITE_ERROR;
		}
	}
	return SQLITE_OK;
}

static void smpc_shutdown(void *arg)
{
	(void)arg;
	if (smpc_pool >= 0) {
		STAT_INC(syscalls);
		softmem_close(smpc_pool);
	}
	smpc_pool = -1;
}

static sqlite3_pcache *smpc_create(int page_size, int extra_size,
				   int purgeable)
{
	size_t group_bytes = smpc_config.group_bytes ?: SMPC_DEFAULT_GROUP_BYTES;
	unsigned int batch = smpc_config.idle_batch ?: SMPC_DEFAULT_IDLE_BATCH;
	struct smpc_cache *c;

	if (page_size <= 0 || extra_size < 0 || smpc_pool < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->page_size = (unsigned int)page_size;
	c->extra_size = (unsigned int)extra_size;
	c->extra_stride = (c->extra_size + 7) & ~7u;
	c->purgeable = purgeable;
	c->min_group_pages = group_bytes / c->page_size ?: 1;
	if (c->min_group_pages > SMPC_MAX_GROUP_PAGES)
		c->min_group_pages = SMPC_MAX_GROUP_PAGES;
	c->group_pages = c->min_group_pages;
	c->grow_at = SMPC_MAX_GROUPS / 2;
	c->idle_batch = batch > SMPC_MAX_IDLE_BATCH ? SMPC_MAX_IDLE_BATCH : batch;
	c->pinned_limit = smpc_config.max_pinned_bytes / c->page_size;
	if (smpc_config.max_pinned_bytes && c->pinned_limit < 16)
		c->pinned_limit = 16;
	smpc_set_max(c, 100);
	c->nr_buckets = 256;
	c->hash = calloc(c->nr_buckets, sizeof(*c->hash));
	c->batch = calloc(c->idle_batch, sizeof(*c->batch));
	if (!c->hash || !c->batch) {
		free(c->hash);
		free(c->batch);
		free(c);
		return NULL;
	}
	list_init(&c->lru);
	list_init(&c->open);
	list_init(&c->idle);
	list_init(&c->groups);
	return (sqlite3_pcache *)c;
}

static void smpc_cachesize(sqlite3_pcache *pcache, int max)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;

	if (!c->purgeable)
		return;
	smpc_set_max(c, max > 0 ? (unsigned int)max : 0);
	smpc_enforce_max(c, c->max_pages);
}

static int smpc_pagecount(sqlite3_pcache *pcache)
{
	return (int)((struct smpc_cache *)pcache)->pages;
}

static sqlite3_pcache_page *smpc_fetch(sqlite3_pcache *pcache,
				       unsigned int key, int create)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;
	struct smpc_page *p = smpc_lookup(c, key);

	STAT_INC(fetches);
	if (p) {
		struct smpc_group *g = p->group;

		if (g->state != SMPC_SUSPENDED) {
			STAT_INC(hits);
			smpc_page_pin(c, p);
			return &p->base;
		}
		if (smpc_group_resume(g) > 0) {
			STAT_INC(hits);
			STAT_INC(hits_resumed);
			smpc_page_pin(c, p);
			return &p->base;
		}
		/* Discarded: a miss, as for a page never cached. */
	}
	STAT_INC(misses);
	if (!create)
		return NULL;
	if (create == 1 && c->purgeable && c->pinned >= c->max_pinned)
		return NULL;	/* SQLite spills dirty pages, asks with 2 */
	p = smpc_page_new(c, key, create);
	return p ? &p->base : NULL;
}

static void smpc_unpin(sqlite3_pcache *pcache, sqlite3_pcache_page *page,
		       int discard)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;
	struct smpc_page *p = container_of(page, struct smpc_page, base);
	struct smpc_group *g = p->group;

	if (discard) {
		smpc_page_remove(c, p);
	} else if (p->pinned) {
		p->pinned = false;
		g->pinned--;
		c->pinned--;
		/* A cache SQLite never unpins keeps its pages off the LRU. */
		if (c->purgeable)
			list_add_tail(&p->lru, &c->lru);
		smpc_group_settle(g);
		if (c->purgeable && c->pages > c->max_pages)
			smpc_enforce_max(c, c->max_pages);
	}
	smpc_trim_idle(c);
}

static void smpc_rekey(sqlite3_pcache *pcache, sqlite3_pcache_page *page,
		       unsigned int old_key, unsigned int new_key)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;
	struct smpc_page *p = container_of(page, struct smpc_page, base);
	struct smpc_page *other = smpc_lookup(c, new_key);

	(void)old_key;
	if (other == p)
		return;
	/* Never pinned, says the contract: dropped (it may be discarded). */
	if (other)
		smpc_page_remove(c, other);
	smpc_hash_remove(c, p);
	p->key = new_key;
	smpc_hash_insert(c, p);
	if (new_key > c->max_key)
		c->max_key = new_key;
}

static void smpc_truncate(sqlite3_pcache *pcache, unsigned int limit)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;
	unsigned int b;

	if (limit > c->max_key)
		return;
	for (b = 0; b < c->nr_buckets; b++) {
		struct smpc_page *p = c->hash[b], *next;

		for (; p; p = next) {
			next = p->hash_next;
			if (p->key >= limit)
				smpc_page_remove(c, p);
		}
	}
	c->max_key = limit ? limit - 1 : 0;
	smpc_trim_idle(c);
}

static void smpc_destroy(sqlite3_pcache *pcache)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;

	while (!list_empty(&c->groups))
		smpc_group_release(container_of(c->groups.next,
						struct smpc_group, all), true);
	free(c->hash);
	free(c->batch);
	free(c);
}

static void smpc_shrink(sqlite3_pcache *pcache)
{
	struct smpc_cache *c = (struct smpc_cache *)pcache;

	if (c->purgeable)
		smpc_enforce_max(c, 0);
	smpc_flush_idle(c, 0);
}

static const sqlite3_pcache_methods2 smpc_methods = {
	.iVersion	= 1,
	.xInit		= smpc_init,
	.xShutdown	= smpc_shutdown,
	.xCreate	= smpc_create,
	.xCachesize	= smpc_cachesize,
	.xPagecount	= smpc_pagecount,
	.xFetch		= smpc_fetch,
	.xUnpin		= smpc_unpin,
	.xRekey		= smpc_rekey,
	.xTruncate	= smpc_truncate,
	.xDestroy	= smpc_destroy,
	.xShrink	= smpc_shrink,
};

const sqlite3_pcache_methods2 *
softmem_pcache_methods(const struct softmem_pcache_config *config)
{
	struct softmem_pcache_config none = { 0 };

	smpc_config = config ? *config : none;
	return &smpc_methods;
}

int softmem_pcache_install(const struct softmem_pcache_config *config)
{
	int pool = softmem_open();

	if (pool < 0)
		return SQLITE_CANTOPEN;
	softmem_close(pool);
	return sqlite3_config(SQLITE_CONFIG_PCACHE2,
			      softmem_pcache_methods(config));
}

void softmem_pcache_get_stats(struct softmem_pcache_stats *stats)
{
	const uint64_t *src = (const uint64_t *)&smpc_stats;
	uint64_t *dst = (uint64_t *)stats;
	size_t i;

	for (i = 0; i < sizeof(*stats) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}
