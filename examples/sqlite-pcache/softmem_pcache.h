/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * softmem_pcache: an SQLite page cache (SQLITE_CONFIG_PCACHE2) whose pages
 * live in softmem regions, so that the kernel can take them back under
 * memory pressure instead of swapping them or killing the process.
 *
 * Pages are handed to SQLite by pointer, through a MAP_SHARED mapping of
 * their region.  A region holds a small group of pages; it is resumed while
 * any of its pages is pinned and suspended (discardable) once all of them
 * are unpinned.  Fetching a page of a suspended region resumes it: a region
 * the kernel discarded is a miss for every page it held, and SQLite reads
 * them again from the database file.
 *
 * Install before sqlite3_initialize() (or after sqlite3_shutdown()):
 *
 *	if (softmem_pcache_install(NULL) != SQLITE_OK)
 *		... no softmem: SQLite keeps its default page cache ...
 *
 * See Documentation/userspace-api/softmem-sqlite.rst.
 */
#ifndef SOFTMEM_PCACHE_H
#define SOFTMEM_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct softmem_pcache_config - how the page cache uses softmem
 * @group_bytes: bytes of one region: as many pages as fit, at least one.
 *	0 means 64 KiB (16 pages of 4 KiB).  Larger groups make fewer
 *	regions, mappings and system calls; smaller ones lose less to a
 *	discard and keep less memory resumed around a pinned page.
 * @idle_batch: how many idle regions (every page unpinned) a cache keeps
 *	resumed, at most: when that many are (or an eighth of the cache's
 *	regions, if fewer, but at least 4), the older half is suspended in
 *	one SOFTMEM_IOC_BATCH.  0 means 32; 1 suspends each region as its
 *	last page is unpinned.  A page of a region still resumed costs no
 *	system call to fetch again; a page of a suspended one costs a resume.
 * @pool_limit: the softmem pool's limit on resident bytes, or 0 for the
 *	module's default (pool_max_bytes).  Reaching it discards the cache's
 *	own suspended regions, least recently suspended first.
 * @max_pinned_bytes: pinned pages a cache may hold before it refuses SQLite
 *	a new page when asked with createFlag 1, which makes SQLite spill a
 *	dirty page (if PRAGMA cache_spill allows it) and ask again.  0 means
 *	90% of cache_size, as SQLite's own cache does.  SQLite keeps every
 *	dirty page pinned until it is written, and a pinned page cannot be
 *	discarded: with a large cache_size, this bounds what a write
 *	transaction holds that the kernel cannot take back.
 */
struct softmem_pcache_config {
	size_t group_bytes;
	unsigned int idle_batch;
	uint64_t pool_limit;
	uint64_t max_pinned_bytes;
};

/**
 * struct softmem_pcache_stats - what the page cache did, since the process
 *	started, summed over every cache instance
 * @fetches: xFetch calls
 * @hits: fetches that found their page intact
 * @hits_resumed: hits that had to resume the page's region first
 * @misses: fetches that did not find their page (never cached, evicted,
 *	or lost with its region)
 * @discards: resumes that reported SOFTMEM_DISCARDED
 * @discarded_pages: pages lost with those regions
 * @evictions: pages the cache dropped itself (cache_size, xShrink)
 * @suspends: regions suspended
 * @resumes: SOFTMEM_IOC_RESUME calls
 * @batches: SOFTMEM_IOC_BATCH calls
 * @syscalls: system calls made, all kinds
 * @regions_allocated: regions allocated and mapped
 * @regions_freed: regions freed and unmapped
 * @alloc_failures: pages that could not be had (no region, no memory)
 * @pinned_peak: the most bytes one cache has had pinned at once
 */
struct softmem_pcache_stats {
	uint64_t fetches;
	uint64_t hits;
	uint64_t hits_resumed;
	uint64_t misses;
	uint64_t discards;
	uint64_t discarded_pages;
	uint64_t evictions;
	uint64_t suspends;
	uint64_t resumes;
	uint64_t batches;
	uint64_t syscalls;
	uint64_t regions_allocated;
	uint64_t regions_freed;
	uint64_t alloc_failures;
	uint64_t pinned_peak;
};

/*
 * Sets the configuration (NULL: the defaults) and installs the page cache
 * with sqlite3_config(SQLITE_CONFIG_PCACHE2).  Returns SQLITE_OK, or
 * SQLITE_CANTOPEN when /dev/softmem cannot be opened (SQLite's default page
 * cache then stays), or what sqlite3_config() returned (SQLITE_MISUSE after
 * sqlite3_initialize()).
 */
int softmem_pcache_install(const struct softmem_pcache_config *config);

/*
 * The methods themselves, configured with @config (NULL: the defaults), for
 * a program that calls them directly or wraps them.  Caches created after
 * the call use the new configuration.
 */
const sqlite3_pcache_methods2 *
softmem_pcache_methods(const struct softmem_pcache_config *config);

/* A snapshot of the counters. */
void softmem_pcache_get_stats(struct softmem_pcache_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* SOFTMEM_PCACHE_H */
