// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the softmem page cache against SQLite's PCACHE2 contract.
 *
 * SQLite's own page-cache tests (test/pcache*.test) need a testfixture, a
 * Tcl interpreter built with SQLite's test hooks, and they test pcache1's
 * internals (its pcache_stats counters), not a replacement.  These tests
 * check the contract itself instead, by calling the methods directly, and
 * then through SQLite: createFlag 0/1/2, a zeroed pExtra on every new page,
 * xUnpin with and without discard, random eviction of unpinned pages by
 * reclaim (drop_caches discards every suspended region) while pinned pages
 * stay intact, xRekey, xTruncate, xCachesize, xShrink, bPurgeable == 0
 * caches that never lose a page, the pool limit, file and in-memory
 * databases under drop_caches, and speedtest1 against the default cache.
 *
 * Needs /dev/softmem (skips without it); drop_caches needs root.  Run by
 * run-tests.sh in the test guest; SQLITE_SPEEDTEST1_SIZE sets speedtest1's
 * --size (default 5), SQLITE_PCACHE_QUICK (for a debug kernel) makes the
 * direct tests smaller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <sqlite3.h>

#include "softmem_pcache.h"

#define PAGE_SIZE_SQL	4096
#define EXTRA_SIZE	136

#define SKIP_IF_NO_DEVICE()						\
	do {								\
		if (access("/dev/softmem", R_OK | W_OK))		\
			SKIP(return, "/dev/softmem: %s", strerror(errno)); \
	} while (0)

/* SQLITE_PCACHE_QUICK (a slow kernel): fewer pages and rounds. */
static bool quick(void)
{
	return getenv("SQLITE_PCACHE_QUICK") != NULL;
}

/* Discards every suspended softmem region (and the page cache). */
static int vm_drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, "2", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

#define SKIP_IF_NO_DROP_CACHES()					\
	do {								\
		if (access("/proc/sys/vm/drop_caches", W_OK))		\
			SKIP(return, "drop_caches: %s", strerror(errno)); \
	} while (0)

/* The content page @key gets in round @seed: never all zeros. */
static uint8_t pat(unsigned int key, unsigned int seed, size_t i)
{
	return (uint8_t)((key * 2654435761u + seed * 40503u + i * 131u) | 1);
}

static void fill(sqlite3_pcache_page *pg, unsigned int key, unsigned int seed)
{
	uint8_t *buf = pg->pBuf, *extra = pg->pExtra;
	size_t i;

	for (i = 0; i < PAGE_SIZE_SQL; i++)
		buf[i] = pat(key, seed, i);
	for (i = 0; i < EXTRA_SIZE; i++)
		extra[i] = pat(key, seed + 1, i);
}

static bool intact(const sqlite3_pcache_page *pg, unsigned int key,
		   unsigned int seed)
{
	const uint8_t *buf = pg->pBuf, *extra = pg->pExtra;
	size_t i;

	for (i = 0; i < PAGE_SIZE_SQL; i++)
		if (buf[i] != pat(key, seed, i))
			return false;
	for (i = 0; i < EXTRA_SIZE; i++)
		if (extra[i] != pat(key, seed + 1, i))
			return false;
	return true;
}

static bool extra_zero(const sqlite3_pcache_page *pg)
{
	const uint8_t *extra = pg->pExtra;
	size_t i;

	for (i = 0; i < EXTRA_SIZE; i++)
		if (extra[i])
			return false;
	return true;
}

static uint64_t stat_discards(void)
{
	struct softmem_pcache_stats s;

	softmem_pcache_get_stats(&s);
	return s.discards;
}

/* ------------------------------------------------- the methods, directly */

FIXTURE(pcache) {
	const sqlite3_pcache_methods2 *m;
	sqlite3_pcache *c;
};

/* One page per region suspended at each unpin; groups of 16, batched. */
FIXTURE_VARIANT(pcache) {
	size_t group_bytes;
	unsigned int idle_batch;
};

FIXTURE_VARIANT_ADD(pcache, page) {
	.group_bytes = PAGE_SIZE_SQL,
	.idle_batch = 1,
};

FIXTURE_VARIANT_ADD(pcache, group) {
	.group_bytes = 0,
	.idle_batch = 0,
};

FIXTURE_SETUP(pcache)
{
	struct softmem_pcache_config config = {
		.group_bytes = variant->group_bytes,
		.idle_batch = variant->idle_batch,
	};

	self->c = NULL;
	SKIP_IF_NO_DEVICE();
	self->m = softmem_pcache_methods(&config);
	ASSERT_EQ(SQLITE_OK, self->m->xInit(self->m->pArg));
	self->c = self->m->xCreate(PAGE_SIZE_SQL, EXTRA_SIZE, 1);
	ASSERT_NE(NULL, self->c);
	self->m->xCachesize(self->c, 10000);
}

FIXTURE_TEARDOWN(pcache)
{
	if (self->c) {
		self->m->xDestroy(self->c);
		self->m->xShutdown(self->m->pArg);
	}
}

TEST_F(pcache, create_flags)
{
	const sqlite3_pcache_methods2 *m = self->m;
	sqlite3_pcache_page *a, *b, *pinned[10];
	unsigned int i;

	ASSERT_EQ(NULL, m->xFetch(self->c, 1, 0));
	a = m->xFetch(self->c, 1, 1);
	ASSERT_NE(NULL, a);
	ASSERT_TRUE(extra_zero(a));
	ASSERT_EQ(1, m->xPagecount(self->c));
	fill(a, 1, 0);
	/* A pinned page fetched again is the same page, no reference count. */
	ASSERT_EQ(a, m->xFetch(self->c, 1, 0));
	b = m->xFetch(self->c, 2, 2);
	ASSERT_NE(NULL, b);
	ASSERT_TRUE(extra_zero(b));
	ASSERT_EQ(2, m->xPagecount(self->c));
	m->xUnpin(self->c, a, 0);
	m->xUnpin(self->c, b, 1);
	ASSERT_EQ(1, m->xPagecount(self->c));

	/* With 90% of cache_size pinned, createFlag 1 fails and 2 does not. */
	m->xCachesize(self->c, 10);
	for (i = 0; i < 9; i++) {
		pinned[i] = m->xFetch(self->c, 100 + i, 2);
		ASSERT_NE(NULL, pinned[i]);
	}
	ASSERT_EQ(NULL, m->xFetch(self->c, 200, 1));
	pinned[9] = m->xFetch(self->c, 200, 2);
	ASSERT_NE(NULL, pinned[9]);
	ASSERT_TRUE(extra_zero(pinned[9]));
	for (i = 0; i < 10; i++)
		m->xUnpin(self->c, pinned[i], 0);
}

TEST_F(pcache, unpin_keeps_or_misses)
{
	const sqlite3_pcache_methods2 *m = self->m;
	unsigned int key, n = 500, hits = 0, misses = 0;
	uint64_t lost = stat_discards();

	for (key = 1; key <= n; key++) {
		sqlite3_pcache_page *pg = m->xFetch(self->c, key, 1);

		ASSERT_NE(NULL, pg);
		ASSERT_TRUE(extra_zero(pg));
		fill(pg, key, 7);
		m->xUnpin(self->c, pg, 0);
	}
	ASSERT_EQ(n, (unsigned int)m->xPagecount(self->c));
	for (key = 1; key <= n; key++) {
		sqlite3_pcache_page *pg = m->xFetch(self->c, key, 0);

		if (!pg) {
			misses++;
			continue;
		}
		ASSERT_TRUE(intact(pg, key, 7)) TH_LOG("page %u changed", key);
		hits++;
		m->xUnpin(self->c, pg, 0);
	}
	/* Only a discard (memory pressure) may have lost pages. */
	if (stat_discards() == lost)
		ASSERT_EQ(n, hits);
	ASSERT_EQ(n, hits + misses);
}

TEST_F(pcache, unpin_discard_evicts)
{
	const sqlite3_pcache_methods2 *m = self->m;
	sqlite3_pcache_page *pg = m->xFetch(self->c, 42, 1);

	ASSERT_NE(NULL, pg);
	fill(pg, 42, 1);
	m->xUnpin(self->c, pg, 1);
	ASSERT_EQ(0, m->xPagecount(self->c));
	ASSERT_EQ(NULL, m->xFetch(self->c, 42, 0));
	pg = m->xFetch(self->c, 42, 1);
	ASSERT_NE(NULL, pg);
	ASSERT_TRUE(extra_zero(pg));
	m->xUnpin(self->c, pg, 0);
}

/*
 * Pages pinned at random, the others unpinned, then drop_caches: every
 * pinned page is intact (and touching it raises no SIGBUS), every unpinned
 * one is intact or a miss, some are misses, and a missed key comes back as
 * a new page with a zeroed pExtra.
 */
TEST_F_TIMEOUT(pcache, random_eviction_while_unpinned, 300)
{
	const sqlite3_pcache_methods2 *m = self->m;
	enum { MAX_N = 2400 };
	static sqlite3_pcache_page *pin[MAX_N + 1];
	static unsigned int seed[MAX_N + 1];
	static unsigned int order[MAX_N];
	unsigned int round, key, i, misses = 0, kept = 0;
	unsigned int npages = quick() ? 800 : MAX_N, rounds = quick() ? 2 : 3;

	SKIP_IF_NO_DROP_CACHES();
	srandom(1234);
	for (i = 0; i < npages; i++)
		order[i] = i + 1;
	for (key = 1; key <= npages; key++) {
		pin[key] = m->xFetch(self->c, key, 1);
		ASSERT_NE(NULL, pin[key]);
		seed[key] = 1;
		fill(pin[key], key, 1);
	}
	for (round = 0; round < rounds; round++) {
		/*
		 * Unpin about 31 in 32, in random order; the rest stay
		 * pinned, and so do their groups.
		 */
		for (i = npages - 1; i > 0; i--) {
			unsigned int j = (unsigned int)random() % (i + 1);
			unsigned int t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (i = 0; i < npages; i++) {
			key = order[i];
			if (random() % 32) {
				m->xUnpin(self->c, pin[key], 0);
				pin[key] = NULL;
			}
		}
		ASSERT_EQ(0, vm_drop_caches());
		for (key = 1; key <= npages; key++) {
			sqlite3_pcache_page *pg = pin[key];

			if (pg) {
				ASSERT_TRUE(intact(pg, key, seed[key]))
					TH_LOG("pinned page %u changed", key);
				kept++;
				continue;
			}
			pg = m->xFetch(self->c, key, 0);
			if (pg) {
				ASSERT_TRUE(intact(pg, key, seed[key]))
					TH_LOG("unpinned page %u changed", key);
			} else {
				misses++;
				pg = m->xFetch(self->c, key, 1);
				ASSERT_NE(NULL, pg);
				ASSERT_TRUE(extra_zero(pg));
			}
			/* Refill, with new content, and keep it pinned. */
			seed[key] = round + 2;
			fill(pg, key, seed[key]);
			pin[key] = pg;
		}
	}
	for (key = 1; key <= npages; key++)
		m->xUnpin(self->c, pin[key], 0);
	TH_LOG("%u pinned pages intact, %u unpinned pages lost to discards",
	       kept, misses);
	ASSERT_GT(misses, 0);
	ASSERT_GT(kept, 0);
}

TEST_F(pcache, rekey)
{
	const sqlite3_pcache_methods2 *m = self->m;
	sqlite3_pcache_page *a, *b, *pg;

	a = m->xFetch(self->c, 5, 1);
	b = m->xFetch(self->c, 10, 1);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	fill(a, 5, 3);
	fill(b, 10, 3);
	m->xUnpin(self->c, b, 0);

	/* To a free key: the page moves with its content. */
	m->xRekey(self->c, a, 5, 20);
	ASSERT_EQ(NULL, m->xFetch(self->c, 5, 0));
	ASSERT_EQ(a, m->xFetch(self->c, 20, 0));
	ASSERT_TRUE(intact(a, 5, 3));
	ASSERT_EQ(2, m->xPagecount(self->c));

	/* Onto an unpinned page's key: that page is discarded. */
	m->xRekey(self->c, a, 20, 10);
	ASSERT_EQ(1, m->xPagecount(self->c));
	ASSERT_EQ(NULL, m->xFetch(self->c, 20, 0));
	pg = m->xFetch(self->c, 10, 0);
	ASSERT_EQ(a, pg);
	ASSERT_TRUE(intact(pg, 5, 3));
	m->xUnpin(self->c, pg, 0);

	/* Onto the key of a page whose region was discarded meanwhile. */
	b = m->xFetch(self->c, 30, 1);
	ASSERT_NE(NULL, b);
	fill(b, 30, 4);
	m->xUnpin(self->c, b, 0);
	a = m->xFetch(self->c, 10, 0);
	if (!a)
		a = m->xFetch(self->c, 10, 1);
	ASSERT_NE(NULL, a);
	if (!access("/proc/sys/vm/drop_caches", W_OK))
		ASSERT_EQ(0, vm_drop_caches());
	m->xRekey(self->c, a, 10, 30);
	ASSERT_EQ(a, m->xFetch(self->c, 30, 0));
	ASSERT_EQ(NULL, m->xFetch(self->c, 10, 0));
	ASSERT_EQ(1, m->xPagecount(self->c));
	m->xUnpin(self->c, a, 0);
}

TEST_F(pcache, truncate)
{
	const sqlite3_pcache_methods2 *m = self->m;
	static sqlite3_pcache_page *pg[201];
	unsigned int key;

	for (key = 1; key <= 200; key++) {
		pg[key] = m->xFetch(self->c, key, 1);
		ASSERT_NE(NULL, pg[key]);
		fill(pg[key], key, 9);
		/* Pinned: multiples of 3; unpinned: the rest. */
		if (key % 3) {
			m->xUnpin(self->c, pg[key], 0);
			pg[key] = NULL;
		}
	}
	/* Drops 100..200, pinned ones too (implicitly unpinned). */
	m->xTruncate(self->c, 100);
	ASSERT_EQ(99, m->xPagecount(self->c));
	for (key = 100; key <= 200; key++)
		ASSERT_EQ(NULL, m->xFetch(self->c, key, 0));
	if (!access("/proc/sys/vm/drop_caches", W_OK))
		ASSERT_EQ(0, vm_drop_caches());
	for (key = 1; key < 100; key++) {
		sqlite3_pcache_page *p = pg[key];

		if (p) {
			ASSERT_TRUE(intact(p, key, 9));
			continue;
		}
		p = m->xFetch(self->c, key, 0);
		if (p) {
			ASSERT_TRUE(intact(p, key, 9));
			m->xUnpin(self->c, p, 0);
		}
	}
	/* A truncated key comes back as a new page. */
	pg[150] = m->xFetch(self->c, 150, 1);
	ASSERT_NE(NULL, pg[150]);
	ASSERT_TRUE(extra_zero(pg[150]));
	/* Truncate to nothing. */
	m->xTruncate(self->c, 1);
	ASSERT_EQ(0, m->xPagecount(self->c));
	ASSERT_EQ(NULL, m->xFetch(self->c, 3, 0));
}

TEST_F(pcache, cachesize_evicts_least_recent)
{
	const sqlite3_pcache_methods2 *m = self->m;
	sqlite3_pcache_page *pg;
	unsigned int key;

	m->xCachesize(self->c, 50);
	for (key = 1; key <= 300; key++) {
		pg = m->xFetch(self->c, key, 1);
		ASSERT_NE(NULL, pg);
		fill(pg, key, 2);
		m->xUnpin(self->c, pg, 0);
		ASSERT_LE(m->xPagecount(self->c), 50);
	}
	ASSERT_EQ(NULL, m->xFetch(self->c, 1, 0));
	pg = m->xFetch(self->c, 300, 0);
	if (pg) {
		ASSERT_TRUE(intact(pg, 300, 2));
		m->xUnpin(self->c, pg, 0);
	}
	m->xCachesize(self->c, 10);
	ASSERT_LE(m->xPagecount(self->c), 10);
}

TEST_F(pcache, shrink_keeps_pinned_only)
{
	const sqlite3_pcache_methods2 *m = self->m;
	sqlite3_pcache_page *pg[101];
	unsigned int key;

	for (key = 1; key <= 100; key++) {
		pg[key] = m->xFetch(self->c, key, 1);
		ASSERT_NE(NULL, pg[key]);
		fill(pg[key], key, 5);
		if (key % 10) {
			m->xUnpin(self->c, pg[key], 0);
			pg[key] = NULL;
		}
	}
	m->xShrink(self->c);
	ASSERT_EQ(10, m->xPagecount(self->c));
	for (key = 10; key <= 100; key += 10) {
		ASSERT_TRUE(intact(pg[key], key, 5));
		ASSERT_EQ(pg[key], m->xFetch(self->c, key, 0));
		m->xUnpin(self->c, pg[key], 0);
	}
	ASSERT_EQ(NULL, m->xFetch(self->c, 11, 0));
}

/* Tests that make their own caches (or SQLite's). */
FIXTURE(cache) {
};

FIXTURE_SETUP(cache)
{
}

FIXTURE_TEARDOWN(cache)
{
}

/* max_pinned_bytes: createFlag 1 fails beyond it, createFlag 2 does not. */
TEST_F(cache, max_pinned_refuses_createflag_1)
{
	struct softmem_pcache_config config = {
		.max_pinned_bytes = 16 * PAGE_SIZE_SQL,
	};
	const sqlite3_pcache_methods2 *m;
	sqlite3_pcache_page *pg[18];
	sqlite3_pcache *c;
	unsigned int i;

	SKIP_IF_NO_DEVICE();
	m = softmem_pcache_methods(&config);
	ASSERT_EQ(SQLITE_OK, m->xInit(m->pArg));
	c = m->xCreate(PAGE_SIZE_SQL, EXTRA_SIZE, 1);
	ASSERT_NE(NULL, c);
	m->xCachesize(c, 1000);
	for (i = 0; i < 16; i++) {
		pg[i] = m->xFetch(c, i + 1, 1);
		ASSERT_NE(NULL, pg[i]);
	}
	ASSERT_EQ(NULL, m->xFetch(c, 17, 1));
	pg[16] = m->xFetch(c, 17, 2);
	ASSERT_NE(NULL, pg[16]);
	/* Unpinning one makes room again. */
	m->xUnpin(c, pg[0], 0);
	m->xUnpin(c, pg[1], 0);
	pg[17] = m->xFetch(c, 18, 1);
	ASSERT_NE(NULL, pg[17]);
	m->xDestroy(c);
	m->xShutdown(m->pArg);
}

/* A huge cache_size makes large groups: mappings stay few. */
TEST_F(cache, huge_cache_size_makes_large_groups)
{
	struct softmem_pcache_stats before, after;
	const sqlite3_pcache_methods2 *m;
	sqlite3_pcache_page *pg;
	sqlite3_pcache *c;
	unsigned int key;

	SKIP_IF_NO_DEVICE();
	m = softmem_pcache_methods(NULL);
	ASSERT_EQ(SQLITE_OK, m->xInit(m->pArg));
	c = m->xCreate(PAGE_SIZE_SQL, EXTRA_SIZE, 1);
	ASSERT_NE(NULL, c);
	m->xCachesize(c, 1 << 27);	/* 512 GiB of 4 KiB pages */
	softmem_pcache_get_stats(&before);
	for (key = 1; key <= 1024; key++) {
		pg = m->xFetch(c, key, 1);
		ASSERT_NE(NULL, pg);
		m->xUnpin(c, pg, 0);
	}
	softmem_pcache_get_stats(&after);
	/* 1024 pages in one region of 4 MiB, not 64 of 64 KiB. */
	ASSERT_EQ(1, after.regions_allocated - before.regions_allocated);
	m->xDestroy(c);
	m->xShutdown(m->pArg);
}

/* bPurgeable == 0 (an in-memory database): never loses a page. */
TEST_F_TIMEOUT(cache, nonpurgeable_never_loses_pages, 300)
{
	const sqlite3_pcache_methods2 *m;
	static sqlite3_pcache_page *pg[3001];
	unsigned int key, n = quick() ? 1000 : 3000;
	sqlite3_pcache *c;
	int round;

	SKIP_IF_NO_DEVICE();
	SKIP_IF_NO_DROP_CACHES();
	m = softmem_pcache_methods(NULL);
	ASSERT_EQ(SQLITE_OK, m->xInit(m->pArg));
	c = m->xCreate(PAGE_SIZE_SQL, EXTRA_SIZE, 0);
	ASSERT_NE(NULL, c);
	m->xCachesize(c, 10);	/* advisory, and ignored here */
	for (key = 1; key <= n; key++) {
		pg[key] = m->xFetch(c, key, 2);
		ASSERT_NE(NULL, pg[key]);
		fill(pg[key], key, 11);
		/* SQLite never does this here; the cache must cope anyway. */
		if (key % 2)
			m->xUnpin(c, pg[key], 0);
	}
	m->xShrink(c);
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, vm_drop_caches());
		ASSERT_EQ(n, (unsigned int)m->xPagecount(c));
		for (key = 1; key <= n; key++) {
			sqlite3_pcache_page *p = m->xFetch(c, key, 0);

			ASSERT_NE(NULL, p) TH_LOG("page %u lost", key);
			ASSERT_TRUE(intact(p, key, 11))
				TH_LOG("page %u changed", key);
		}
	}
	m->xDestroy(c);
	m->xShutdown(m->pArg);
}

/*
 * A pool limit far below what the cache holds: the kernel discards the
 * cache's own suspended regions to make room for new ones, and every page
 * is then intact or a miss.
 */
TEST_F_TIMEOUT(cache, pool_limit_discards_own_regions, 180)
{
	struct softmem_pcache_config config = {
		.idle_batch = 1,
		.pool_limit = 1 << 20,
	};
	const sqlite3_pcache_methods2 *m;
	unsigned int key, hits = 0, misses = 0;
	uint64_t discards = stat_discards();
	sqlite3_pcache *c;

	SKIP_IF_NO_DEVICE();
	m = softmem_pcache_methods(&config);
	ASSERT_EQ(SQLITE_OK, m->xInit(m->pArg));
	c = m->xCreate(PAGE_SIZE_SQL, EXTRA_SIZE, 1);
	ASSERT_NE(NULL, c);
	m->xCachesize(c, 100000);
	for (key = 1; key <= 2000; key++) {
		sqlite3_pcache_page *pg = m->xFetch(c, key, 1);

		ASSERT_NE(NULL, pg) TH_LOG("no page %u under the limit", key);
		fill(pg, key, 13);
		m->xUnpin(c, pg, 0);
	}
	for (key = 1; key <= 2000; key++) {
		sqlite3_pcache_page *pg = m->xFetch(c, key, 0);

		if (!pg) {
			misses++;
			continue;
		}
		ASSERT_TRUE(intact(pg, key, 13)) TH_LOG("page %u changed", key);
		hits++;
		m->xUnpin(c, pg, 0);
	}
	TH_LOG("%u hits, %u misses, %llu discards under a 1 MiB limit", hits,
	       misses, (unsigned long long)(stat_discards() - discards));
	ASSERT_GT(misses, 1000);
	ASSERT_GT(hits, 0);
	m->xDestroy(c);
	m->xShutdown(m->pArg);
}

/* ------------------------------------------------------- through SQLite */

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fprintf(stderr, "# %s: %s\n", sql, err ? err : "?");
	sqlite3_free(err);
	return rc;
}

static long long query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool integrity_ok(sqlite3 *db)
{
	sqlite3_stmt *st;
	bool ok = false;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	if (sqlite3_step(st) == SQLITE_ROW)
		ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
	if (sqlite3_step(st) != SQLITE_DONE)
		ok = false;
	sqlite3_finalize(st);
	return ok;
}

#define ROWS	20000

/* Rows i = 1..ROWS: b is 200 bytes derived from i, c = i * 7 % 1000. */
static int load(sqlite3 *db)
{
	static const char *const sql[] = {
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c INT)",
		"CREATE INDEX tc ON t(c)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO t SELECT i, printf('%.200c', char(65 + i % 26)), i * 7 % 1000 FROM n",
	};
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < ARRAY_SIZE(sql) && rc == SQLITE_OK; i++)
		rc = exec(db, sql[i]);
	return rc;
}

/* The sums the rows must give, and point lookups of pseudo-random rows. */
static void verify(struct __test_metadata *_metadata, sqlite3 *db,
		   long long delta)
{
	long long sum_c = 0, i;
	char sql[160];

	for (i = 1; i <= ROWS; i++)
		sum_c += i * 7 % 1000;
	ASSERT_EQ(ROWS, query_int(db, "SELECT count(*) FROM t"));
	ASSERT_EQ(sum_c + delta, query_int(db, "SELECT sum(c) FROM t"));
	ASSERT_EQ(200LL * ROWS, query_int(db, "SELECT sum(length(b)) FROM t"));
	ASSERT_EQ(ROWS / 1000,
		  query_int(db, "SELECT count(*) FROM t INDEXED BY tc WHERE c = 7"));
	for (i = 0; i < 50; i++) {
		long long row = 1 + (i * 7919) % ROWS;

		snprintf(sql, sizeof(sql),
			 "SELECT b = printf('%%.200c', char(65 + %lld %% 26)) FROM t WHERE a = %lld",
			 row, row);
		ASSERT_EQ(1, query_int(db, sql)) TH_LOG("row %lld", row);
	}
}

/*
 * A file database with the page cache installed, with every suspended
 * region discarded before each round of queries and updates: the results
 * stay right and the database passes integrity_check.
 */
TEST_F_TIMEOUT(cache, sqlite_file_database_under_drop_caches, 300)
{
	struct softmem_pcache_config config = { .idle_batch = 1 };
	const char *path = "/tmp/softmem-pcache-test.db";
	uint64_t discards;
	long long delta = 0;
	sqlite3 *db;
	int round;

	SKIP_IF_NO_DEVICE();
	SKIP_IF_NO_DROP_CACHES();
	unlink(path);
	ASSERT_EQ(SQLITE_OK, softmem_pcache_install(&config));
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &db));
	ASSERT_EQ(SQLITE_OK, exec(db, "PRAGMA cache_size = -32768"));
	ASSERT_EQ(SQLITE_OK, load(db));
	discards = stat_discards();
	for (round = 0; round < 4; round++) {
		ASSERT_EQ(0, vm_drop_caches());
		verify(_metadata, db, delta);
		ASSERT_EQ(SQLITE_OK,
			  exec(db, "BEGIN; UPDATE t SET c = c + 1 WHERE a % 10 = 0; COMMIT"));
		delta += ROWS / 10;
		/* A rolled back change must leave no trace either. */
		ASSERT_EQ(SQLITE_OK,
			  exec(db, "BEGIN; DELETE FROM t WHERE a % 3 = 0; ROLLBACK"));
	}
	ASSERT_TRUE(integrity_ok(db));
	TH_LOG("%llu regions discarded under SQLite",
	       (unsigned long long)(stat_discards() - discards));
	ASSERT_GT(stat_discards(), discards);
	ASSERT_EQ(SQLITE_OK, sqlite3_close(db));
	/* And as SQLite's default cache sees it. */
	ASSERT_EQ(SQLITE_OK, sqlite3_shutdown());
	ASSERT_EQ(SQLITE_OK, sqlite3_config(SQLITE_CONFIG_PCACHE2,
					    &(sqlite3_pcache_methods2){ 0 }));
	ASSERT_EQ(SQLITE_OK, sqlite3_open(path, &db));
	verify(_metadata, db, delta);
	ASSERT_TRUE(integrity_ok(db));
	sqlite3_close(db);
	unlink(path);
}

/* An in-memory database (bPurgeable == 0) under drop_caches. */
TEST_F_TIMEOUT(cache, sqlite_memory_database_never_loses, 180)
{
	uint64_t discards;
	sqlite3 *db;
	int round;

	SKIP_IF_NO_DEVICE();
	SKIP_IF_NO_DROP_CACHES();
	ASSERT_EQ(SQLITE_OK, softmem_pcache_install(NULL));
	ASSERT_EQ(SQLITE_OK, sqlite3_open(":memory:", &db));
	ASSERT_EQ(SQLITE_OK, exec(db, "PRAGMA cache_size = 10"));
	ASSERT_EQ(SQLITE_OK, load(db));
	discards = stat_discards();
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, vm_drop_caches());
		verify(_metadata, db, 0);
	}
	ASSERT_TRUE(integrity_ok(db));
	ASSERT_EQ(discards, stat_discards());
	sqlite3_close(db);
}

/* ------------------------------------------------------------ speedtest1 */

struct run {
	char hash[1024];
	char total[1024];
	char stats[1024];
	bool integrity_ok;
	int status;
};

/* A child that discards every suspended region every 100 ms, until killed. */
static pid_t start_dropper(void)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	for (;;) {
		vm_drop_caches();
		usleep(100000);
	}
}

static void stop_dropper(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Runs ./speedtest1 (beside this program) with @args, with drop_caches in
 * the background if @drop; parses its output.
 */
static void run_speedtest1(struct __test_metadata *_metadata,
			   const char *args, bool drop, struct run *r)
{
	pid_t dropper = -1;
	char self[PATH_MAX], cmd[PATH_MAX + 512], line[1024];
	const char *size = getenv("SQLITE_SPEEDTEST1_SIZE");
	ssize_t len;
	FILE *out;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_GT(len, 0);
	self[len] = 0;
	snprintf(cmd, sizeof(cmd),
		 "%s/speedtest1 %s --size %s --verify --nosync /tmp/speedtest1.db 2>&1",
		 dirname(self), args, size ? size : "5");
	memset(r, 0, sizeof(*r));
	out = popen(cmd, "r");
	ASSERT_NE(NULL, out);
	if (drop)
		dropper = start_dropper();
	while (fgets(line, sizeof(line), out)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "Verification Hash: ", 19))
			snprintf(r->hash, sizeof(r->hash), "%s", line + 19);
		else if (strstr(line, "TOTAL"))
			snprintf(r->total, sizeof(r->total), "%s", line);
		else if (!strncmp(line, "softmem-pcache: ", 16))
			snprintf(r->stats, sizeof(r->stats), "%s", line + 16);
		else if (!strcmp(line, "integrity_check: ok"))
			r->integrity_ok = true;
		else if (strstr(line, "rror") || strstr(line, "integrity"))
			TH_LOG("speedtest1: %s", line);
	}
	r->status = pclose(out);
	stop_dropper(dropper);
	TH_LOG("speedtest1 %s%s: %s", args[0] ? args : "(default cache)",
	       drop ? " (drop_caches every 100 ms)" : "",
	       r->total + strspn(r->total, " "));
	if (r->stats[0])
		TH_LOG("  %s", r->stats);
	unlink("/tmp/speedtest1.db");
}

/* The value of counter @name in a "softmem-pcache:" line. */
static unsigned long long stat_of(const char *stats, const char *name)
{
	const char *p = strstr(stats, name);

	return p ? strtoull(p + strlen(name), NULL, 10) : 0;
}

/*
 * speedtest1 gives the same results (the hash of every row every query
 * returned) with SQLite's default cache, with the softmem cache, and with
 * the softmem cache suspending every idle region at once and pinning at
 * most 256 KiB (so that SQLite spills dirty pages early) while another
 * process discards every suspended region every 100 ms; and each time the
 * database passes integrity_check.
 */
TEST_F_TIMEOUT(cache, speedtest1_matches_default_cache, 600)
{
	struct run ref, r;

	SKIP_IF_NO_DEVICE();
	run_speedtest1(_metadata, "", false, &ref);
	ASSERT_EQ(0, ref.status);
	ASSERT_NE(0, ref.hash[0]);
	ASSERT_TRUE(ref.integrity_ok);

	run_speedtest1(_metadata, "--softmem", false, &r);
	ASSERT_EQ(0, r.status);
	ASSERT_STREQ(ref.hash, r.hash);
	ASSERT_TRUE(r.integrity_ok);
	ASSERT_NE(0, r.stats[0]);

	if (access("/proc/sys/vm/drop_caches", W_OK))
		SKIP(return, "drop_caches: %s", strerror(errno));
	run_speedtest1(_metadata,
		       "--softmem --softmem-group 16384 --softmem-batch 1 --softmem-pinned 262144",
		       true, &r);
	ASSERT_EQ(0, r.status);
	ASSERT_STREQ(ref.hash, r.hash);
	ASSERT_TRUE(r.integrity_ok);
	ASSERT_GT(stat_of(r.stats, " discards "), 0);
}

TEST_HARNESS_MAIN
