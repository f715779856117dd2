// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_reclaim: who gets discarded, and when.
 *
 * Order: least recently suspended first, checked deterministically through
 * the pool limit and, where CONFIG_SHRINKER_DEBUG gives a scan file, through
 * the shrinker itself.  Then real pressure: a memory hog next to resumed and
 * suspended regions, a memory cgroup at memory.max, and NUMA placement.
 */
#include "softmem_test.h"

#include <glob.h>
#include <sys/syscall.h>
#include <linux/mempolicy.h>

#define REGION_PAGES	4

FIXTURE(reclaim) {
	int pool;
	size_t page;
	uint64_t region_bytes;		/* REGION_PAGES pages */
	char cgroup[128];		/* removed by teardown when set */
};

FIXTURE_SETUP(reclaim)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->region_bytes = REGION_PAGES * self->page;
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(reclaim)
{
	if (self->cgroup[0])
		rmdir(self->cgroup);
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* Allocate @n regions of REGION_PAGES pages, pattern 100 + index. */
static void alloc_regions(struct __test_metadata *_metadata,
			  FIXTURE_DATA(reclaim) *self, uint64_t *h, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->pool, self->region_bytes,
						 100 + i, &h[i]));
	}
}

/* Check each region: @want[i] is SOFTMEM_INTACT or SOFTMEM_DISCARDED. */
static void check_regions(struct __test_metadata *_metadata,
			  FIXTURE_DATA(reclaim) *self, const uint64_t *h,
			  const int *want, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		unsigned int seed = want[i] == SOFTMEM_INTACT ? 100U + i :
				    REGION_ZERO;

		EXPECT_EQ(want[i], region_resume_state(self->pool, h[i]))
			TH_LOG("region %d", i);
		EXPECT_EQ(1, region_matches(self->pool, h[i], 0,
					    self->region_bytes, seed))
			TH_LOG("region %d", i);
	}
}

/* Make room for @pages more pages under a limit of 3 regions. */
static void write_new_region(struct __test_metadata *_metadata,
			     FIXTURE_DATA(reclaim) *self, size_t pages)
{
	uint64_t h;

	ASSERT_EQ(0, softmem_alloc(self->pool, pages * self->page, &h));
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, pages * self->page,
					  99));
}

TEST_F(reclaim, limit_discards_least_recently_suspended)
{
	const int want[] = { SOFTMEM_DISCARDED, SOFTMEM_INTACT,
			     SOFTMEM_INTACT };
	uint64_t h[3];

	ASSERT_EQ(0, softmem_set_limit(self->pool, 3 * self->region_bytes));
	alloc_regions(_metadata, self, h, 3);
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[1]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[2]));
	write_new_region(_metadata, self, REGION_PAGES);
	check_regions(_metadata, self, h, want, 3);
}

TEST_F(reclaim, limit_order_is_suspend_time_not_allocation)
{
	const int want[] = { SOFTMEM_INTACT, SOFTMEM_INTACT,
			     SOFTMEM_DISCARDED };
	uint64_t h[3];

	ASSERT_EQ(0, softmem_set_limit(self->pool, 3 * self->region_bytes));
	alloc_regions(_metadata, self, h, 3);
	ASSERT_EQ(0, softmem_suspend(self->pool, h[2]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[1]));
	write_new_region(_metadata, self, REGION_PAGES);
	check_regions(_metadata, self, h, want, 3);
}

TEST_F(reclaim, limit_resuspend_moves_to_tail)
{
	const int want[] = { SOFTMEM_INTACT, SOFTMEM_DISCARDED,
			     SOFTMEM_INTACT };
	uint64_t h[3];
	uint8_t byte;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 3 * self->region_bytes));
	alloc_regions(_metadata, self, h, 3);
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[1]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[2]));
	/* Implicitly resumed by a read, then suspended again: now newest. */
	ASSERT_EQ(0, softmem_read(self->pool, h[0], 0, &byte, 1));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	write_new_region(_metadata, self, REGION_PAGES);
	check_regions(_metadata, self, h, want, 3);
}

TEST_F(reclaim, limit_discards_whole_regions_until_enough)
{
	const int want[] = { SOFTMEM_DISCARDED, SOFTMEM_DISCARDED,
			     SOFTMEM_INTACT };
	struct softmem_stats stats;
	uint64_t h[3];

	ASSERT_EQ(0, softmem_set_limit(self->pool, 3 * self->region_bytes));
	alloc_regions(_metadata, self, h, 3);
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[1]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[2]));
	/* REGION_PAGES + 1 pages: two regions must go, not three. */
	write_new_region(_metadata, self, REGION_PAGES + 1);
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.discard_events);
	EXPECT_EQ(2 * self->region_bytes, stats.discarded_bytes);
	check_regions(_metadata, self, h, want, 3);
}

/* The one shrinker directory of softmem in debugfs, or SKIP. */
static bool find_shrinker_dir(struct __test_metadata *_metadata,
			      char *dir, size_t size)
{
	glob_t g;

	if (ensure_debugfs())
		SKIP(return false, "debugfs not available");
	if (glob(DEBUGFS_ROOT "/shrinker/softmem-*", 0, NULL, &g)) {
		SKIP(return false,
		     "no %s/shrinker/softmem-*: kernel without CONFIG_SHRINKER_DEBUG",
		     DEBUGFS_ROOT);
	}
	snprintf(dir, size, "%s", g.gl_pathv[0]);
	globfree(&g);
	return true;
}

/*
 * From the shrinker's count file ("<memcg ino> <count node 0> ..."), the
 * memcg and the node holding @want objects; false if they are spread.
 */
static bool shrinker_list_of(const char *dir, uint64_t want,
			     unsigned long *ino, int *nid)
{
	char path[320], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/count", dir);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *end;
		unsigned long memcg = strtoul(p, &end, 10);
		int node = 0;

		for (p = end; ; node++) {
			uint64_t count = strtoull(p, &end, 10);

			if (end == p)
				break;
			p = end;
			if (count == want) {
				*ino = memcg;
				*nid = node;
				found = true;
			}
		}
	}
	fclose(f);
	return found;
}

static int shrinker_scan(const char *dir, unsigned long ino, int nid,
			 unsigned long nr)
{
	char path[320], cmd[64];

	snprintf(path, sizeof(path), "%s/scan", dir);
	snprintf(cmd, sizeof(cmd), "%lu %d %lu", ino, nid, nr);
	return write_file(path, cmd);
}

/* The inode number of our memory cgroup: what the scan file takes. */
static unsigned long own_memcg_ino(void)
{
	char line[256], path[320];
	struct stat st;

	if (read_file("/proc/self/cgroup", line, sizeof(line)) ||
	    strncmp(line, "0::", 3))
		return 0;
	line[strcspn(line, "\n")] = '\0';
	snprintf(path, sizeof(path), CGROUP2_ROOT "%s", line + 3);
	return stat(path, &st) ? 0 : st.st_ino;
}

/* Scan node @nid for our memcg (globally if not memcg aware). */
static int shrinker_scan_own(const char *dir, int nid, unsigned long nr)
{
	unsigned long ino = own_memcg_ino();

	if (ino && !shrinker_scan(dir, ino, nid, nr))
		return 0;
	return shrinker_scan(dir, 0, nid, nr);
}

TEST_F(reclaim, shrinker_discards_least_recently_suspended)
{
	const int want[] = { SOFTMEM_DISCARDED, SOFTMEM_DISCARDED,
			     SOFTMEM_INTACT };
	struct softmem_stats stats;
	unsigned long ino;
	char dir[256];
	uint64_t h[3];
	int nid;

	if (!find_shrinker_dir(_metadata, dir, sizeof(dir)))
		return;
	/* Keep every region on one node's list. */
	ASSERT_EQ(0, pin_to_cpu(0));
	alloc_regions(_metadata, self, h, 3);
	ASSERT_EQ(0, softmem_suspend(self->pool, h[1]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[2]));
	ASSERT_TRUE(shrinker_list_of(dir, 3 * REGION_PAGES, &ino, &nid))
		TH_LOG("%s/count does not show %d pages on one list", dir,
		       3 * REGION_PAGES);

	/* Scanning one page discards one whole region: the oldest, h[1]. */
	ASSERT_EQ(0, shrinker_scan(dir, ino, nid, 1));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.discard_events);
	EXPECT_EQ(2 * self->region_bytes, stats.suspended_bytes);
	EXPECT_TRUE(shrinker_list_of(dir, 2 * REGION_PAGES, &ino, &nid));
	ASSERT_EQ(0, shrinker_scan(dir, ino, nid, 1));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.discard_events);
	check_regions(_metadata, self, h, want, 3);
}

TEST_F(reclaim, shrinker_never_discards_resumed)
{
	struct softmem_stats stats;
	unsigned long ino = 0;
	char dir[256];
	uint64_t h[2];
	int nid;

	if (!find_shrinker_dir(_metadata, dir, sizeof(dir)))
		return;
	alloc_regions(_metadata, self, h, 2);
	ASSERT_EQ(0, softmem_suspend(self->pool, h[1]));
	ASSERT_EQ(0, softmem_resume(self->pool, h[1], NULL));
	/* Nothing is discardable: the shrinker counts nothing of ours. */
	EXPECT_FALSE(shrinker_list_of(dir, REGION_PAGES, &ino, &nid));
	ASSERT_EQ(0, shrinker_scan_own(dir, 0, 1 << 20));
	if (node_exists(1)) {
		ASSERT_EQ(0, shrinker_scan_own(dir, 1, 1 << 20));
	}
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.discard_events);
	EXPECT_EQ(1, region_matches(self->pool, h[0], 0, self->region_bytes,
				    100));
	EXPECT_EQ(1, region_matches(self->pool, h[1], 0, self->region_bytes,
				    101));
}

/*
 * Touch anonymous memory until softmem reports a discard or @bound bytes are
 * touched.  Runs in a child that the OOM killer prefers.
 */
static void __attribute__((noreturn)) hog_memory(uint64_t discards,
						 uint64_t bound)
{
	const size_t chunk = 4 * MiB;
	uint64_t touched, now;

	set_oom_score_adj(1000);
	for (touched = 0; touched < bound; touched += chunk) {
		void *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 0x5a, chunk);
		if (!module_stat("discard_events", &now) && now > discards)
			_exit(0);
	}
	_exit(0);
}

TEST_F_TIMEOUT(reclaim, pressure_discards_only_suspended, 300)
{
	const int nr_suspended = 4;
	uint64_t length = 16 * MiB, resumed, suspended[4], discards, bound;
	int i, lost = 0;
	pid_t hog;

	ASSERT_EQ(0, set_oom_score_adj(-1000));
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &resumed));
	for (i = 0; i < nr_suspended; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->pool, length, 2 + i,
						 &suspended[i]));
		ASSERT_EQ(0, softmem_suspend(self->pool, suspended[i]));
	}
	/* One suspend/resume cycle on the resumed region, for good measure. */
	ASSERT_EQ(0, softmem_suspend(self->pool, resumed));
	ASSERT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, resumed));

	ASSERT_EQ(0, module_stat("discard_events", &discards));
	bound = 2 * meminfo_bytes("MemTotal");
	ASSERT_LT(0, bound);
	hog = fork();
	ASSERT_LE(0, hog);
	if (!hog)
		hog_memory(discards, bound);
	i = wait_child(hog);
	TH_LOG("memory hog ended with status %d", i);

	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, resumed));
	EXPECT_EQ(1, region_matches(self->pool, resumed, 0, length, 1));
	for (i = 0; i < nr_suspended; i++) {
		int state = region_resume_state(self->pool, suspended[i]);

		if (state != SOFTMEM_DISCARDED) {
			EXPECT_EQ(SOFTMEM_INTACT, state);
		} else {
			lost++;
		}
		EXPECT_EQ(1, region_matches(self->pool, suspended[i], 0,
					    length,
					    state == SOFTMEM_DISCARDED ?
					    REGION_ZERO : 2 + (unsigned int)i))
			TH_LOG("suspended region %d, state %d", i, state);
	}
	EXPECT_LT(0, lost);
}

enum memcg_child_status {
	MEMCG_OK,
	MEMCG_JOIN_FAILED,
	MEMCG_OPEN_FAILED,
	MEMCG_WRITE_FAILED,
	MEMCG_OVER_MAX,
	MEMCG_INTACT_CORRUPT,
	MEMCG_DISCARDED_NOT_ZERO,
	MEMCG_NOTHING_DISCARDED,
};

/* Fill @total bytes of softmem in 1 MiB regions from inside @cgroup. */
static void __attribute__((noreturn)) fill_in_memcg(const char *cgroup,
						   uint64_t max, int total_mib)
{
	char current_path[192];
	uint64_t *h = calloc(total_mib, sizeof(*h)), current;
	int pool, i, discarded = 0;

	snprintf(current_path, sizeof(current_path), "%s/memory.current",
		 cgroup);
	if (!h || join_cgroup(cgroup))
		_exit(MEMCG_JOIN_FAILED);
	pool = softmem_open();
	if (pool < 0)
		_exit(MEMCG_OPEN_FAILED);
	for (i = 0; i < total_mib; i++) {
		if (region_alloc_filled(pool, MiB, i, &h[i])) {
			ksft_print_msg("region %d: write failed\n", i);
			_exit(MEMCG_WRITE_FAILED);
		}
		if (read_u64_file(current_path, &current) || current > max) {
			ksft_print_msg("memory.current %llu > max\n",
				       (unsigned long long)current);
			_exit(MEMCG_OVER_MAX);
		}
		if (softmem_suspend(pool, h[i]))
			_exit(MEMCG_WRITE_FAILED);
	}
	for (i = 0; i < total_mib; i++) {
		int state = region_resume_state(pool, h[i]);

		if (state == SOFTMEM_DISCARDED) {
			discarded++;
			if (region_matches(pool, h[i], 0, MiB, REGION_ZERO) != 1)
				_exit(MEMCG_DISCARDED_NOT_ZERO);
		} else if (state != SOFTMEM_INTACT ||
			   region_matches(pool, h[i], 0, MiB, i) != 1) {
			_exit(MEMCG_INTACT_CORRUPT);
		}
	}
	ksft_print_msg("%d of %d regions discarded in the memcg\n",
		       discarded, total_mib);
	_exit(discarded ? MEMCG_OK : MEMCG_NOTHING_DISCARDED);
}

TEST_F_TIMEOUT(reclaim, memcg_max_discards_own_regions, 300)
{
	uint64_t max = 32 * MiB;
	char path[192], events[512], *oom;
	pid_t child;

	if (!make_memcg(_metadata, self->cgroup, sizeof(self->cgroup),
			"softmem-selftest", max))
		return;
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		fill_in_memcg(self->cgroup, max, 100);
	EXPECT_EQ(MEMCG_OK, wait_child(child));

	snprintf(path, sizeof(path), "%s/memory.events", self->cgroup);
	ASSERT_EQ(0, read_file(path, events, sizeof(events)));
	oom = strstr(events, "oom_kill ");
	ASSERT_NE(NULL, oom);
	EXPECT_EQ(0, strtoul(oom + strlen("oom_kill "), NULL, 10))
		TH_LOG("%s", events);
}

static bool have_node1(struct __test_metadata *_metadata)
{
	if (!node_exists(1))
		SKIP(return false, "one NUMA node only");
	return true;
}

/* The pool's resident and suspended bytes on @nid, via ioctl and sysfs. */
static void check_node_stats(struct __test_metadata *_metadata, int pool,
			     int nid, uint64_t resident, uint64_t suspended)
{
	struct softmem_node_stats st;
	char text[256], want[64];

	ASSERT_EQ(0, softmem_node_stats(pool, nid, &st));
	EXPECT_EQ(resident, st.resident_bytes) TH_LOG("node %d", nid);
	EXPECT_EQ(suspended, st.suspended_bytes) TH_LOG("node %d", nid);
	/* The only pool: the module's figures are the same. */
	ASSERT_EQ(0, read_file(SOFTMEM_SYSFS_STATS "/node_resident_bytes",
			       text, sizeof(text)));
	snprintf(want, sizeof(want), "%d %llu\n", nid,
		 (unsigned long long)resident);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("%s", text);
	ASSERT_EQ(0, read_file(SOFTMEM_SYSFS_STATS "/node_suspended_bytes",
			       text, sizeof(text)));
	snprintf(want, sizeof(want), "%d %llu\n", nid,
		 (unsigned long long)suspended);
	EXPECT_NE(NULL, strstr(text, want)) TH_LOG("%s", text);
}

/* Write @length bytes of region @h in a child bound to node @bind_node. */
static int write_bound_to_node(int pool, uint64_t h, uint64_t length,
			       int bind_node)
{
	pid_t child = fork();

	if (child < 0)
		return -errno;
	if (!child) {
		unsigned long mask = 1UL << bind_node;

		if (syscall(SYS_set_mempolicy, MPOL_BIND, &mask,
			    8 * sizeof(mask)))
			_exit(2);
		_exit(region_write_pattern(pool, h, 0, length, 7) ? 1 : 0);
	}
	return wait_child(child);
}

/* Write 64 MiB (bound to @bind_node if >= 0), check it lands on @want. */
static void check_placement(struct __test_metadata *_metadata,
			    FIXTURE_DATA(reclaim) *self, uint64_t h,
			    int bind_node, int want)
{
	uint64_t length = 64 * MiB, before[2], grew[2];
	int nid;

	/* Settle page cache and slab first: MemUsed is a noisy measure. */
	ASSERT_EQ(0, drop_caches());
	for (nid = 0; nid < 2; nid++)
		before[nid] = node_meminfo(nid, "MemUsed");
	if (bind_node >= 0) {
		ASSERT_EQ(0, write_bound_to_node(self->pool, h, length,
						 bind_node));
	} else {
		ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, length,
						  7));
	}
	for (nid = 0; nid < 2; nid++) {
		uint64_t now = node_meminfo(nid, "MemUsed");

		grew[nid] = now > before[nid] ? now - before[nid] : 0;
	}
	TH_LOG("node 0 grew %llu MiB, node 1 grew %llu MiB",
	       (unsigned long long)(grew[0] / MiB),
	       (unsigned long long)(grew[1] / MiB));
	/* Exact: the module files the region by the node of its pages. */
	check_node_stats(_metadata, self->pool, want, length, 0);
	check_node_stats(_metadata, self->pool, !want, 0, 0);
	/*
	 * Independent of the module, but blurred by pages parked on per-cpu
	 * lists and by what other tasks free meanwhile (a debug kernel's
	 * KASAN quarantine and kmemleak): a quarter of it must show on the
	 * node, less on the other (29 of 64 MiB showed once on 6.12 beside
	 * another guest, with the module's own count exact).
	 */
	EXPECT_LE(length / 4, grew[want]);
	EXPECT_GT(length / 4, grew[!want]);
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, 7));
}

TEST_F_TIMEOUT(reclaim, numa_pages_follow_writer_policy, 120)
{
	uint64_t h;

	if (!have_node1(_metadata))
		return;
	ASSERT_EQ(0, softmem_alloc(self->pool, 64 * MiB, &h));
	check_placement(_metadata, self, h, 1, 1);
}

TEST_F_TIMEOUT(reclaim, numa_alloc_node_places_pages, 120)
{
	uint64_t h;

	if (!have_node1(_metadata))
		return;
	ASSERT_EQ(0, softmem_alloc_on_node(self->pool, 64 * MiB, 1, &h));
	check_placement(_metadata, self, h, -1, 1);
}

TEST_F_TIMEOUT(reclaim, numa_alloc_node_overrides_policy, 120)
{
	uint64_t h;

	if (!have_node1(_metadata))
		return;
	ASSERT_EQ(0, softmem_alloc_on_node(self->pool, 64 * MiB, 0, &h));
	check_placement(_metadata, self, h, 1, 0);
}

/*
 * Regions on both nodes, pressure on node 1 only (a hog bound to it takes
 * its free memory, its page cache and reclaimable slab, and 16 MiB more):
 * only node-1 regions are discarded, and the per-node counters follow.
 */
TEST_F_TIMEOUT(reclaim, numa_node_pressure_discards_only_its_regions, 300)
{
	const int per_node = 16;
	const uint64_t length = 4 * MiB, total = per_node * length;
	struct softmem_node_stats st;
	uint64_t h[2][16], take, beyond, node_free;
	int nid, i, round, wait, lost[2] = { 0, 0 };
	pid_t hog;

	if (!have_node1(_metadata))
		return;
	ASSERT_EQ(0, set_oom_score_adj(-1000));
	for (nid = 0; nid < 2; nid++) {
		for (i = 0; i < per_node; i++) {
			ASSERT_EQ(0, softmem_alloc_on_node(self->pool, length,
							   nid, &h[nid][i]));
			ASSERT_EQ(0, region_write_pattern(self->pool,
							  h[nid][i], 0, length,
							  nid * per_node + i));
		}
		check_node_stats(_metadata, self->pool, nid, total, 0);
	}
	for (nid = 0; nid < 2; nid++)
		for (i = 0; i < per_node; i++)
			ASSERT_EQ(0, softmem_suspend(self->pool, h[nid][i]));
	for (nid = 0; nid < 2; nid++)
		check_node_stats(_metadata, self->pool, nid, total, total);

	/*
	 * What node 1 can give besides the regions (page cache, slab) comes
	 * first or alongside: ask for that too, and 16 MiB more, short of
	 * all 64 MiB of regions there.  The clean page cache goes first
	 * ("1": no shrinker runs), or a cache of over 32 MiB could meet the
	 * whole pressure before reclaim got to the regions.  A hog that
	 * stays above the node's min watermark leaves reclaim to kswapd,
	 * which may run after the hog is done (seen on 6.12 beside another
	 * guest): the test waits up to 5 s for a discard, then the hog asks
	 * again, 16 MiB more each time, up to 48 MiB beyond the node's high
	 * watermark, where its own allocations must reclaim.
	 */
	for (round = 1; round <= 3; round++) {
		ASSERT_EQ(0, write_file("/proc/sys/vm/drop_caches", "1"));
		beyond = round * 16 * MiB +
			 node_meminfo(1, "Active(file)") +
			 node_meminfo(1, "Inactive(file)") +
			 node_meminfo(1, "SReclaimable");
		node_free = node_meminfo(1, "MemFree");
		take = node_free - high_watermarks(1) +
		       (beyond < 48 * MiB ? beyond : 48 * MiB);
		hog = fork();
		ASSERT_LE(0, hog);
		if (!hog) {
			unsigned long mask = 2;
			char *p;

			set_oom_score_adj(1000);
			if (syscall(SYS_set_mempolicy, MPOL_BIND, &mask,
				    8 * sizeof(mask)))
				_exit(2);
			p = mmap(NULL, take, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(3);
			memset(p, 0x5a, take);
			_exit(0);
		}
		EXPECT_EQ(0, wait_child(hog));
		TH_LOG("round %d: node 1 pressure of %llu MiB (free %llu, cache and slab %llu)",
		       round, (unsigned long long)(take / MiB),
		       (unsigned long long)(node_free / MiB),
		       (unsigned long long)((beyond - round * 16 * MiB) / MiB));
		/* Node stats tell without resuming a region. */
		for (wait = 0; wait < 50; wait++) {
			ASSERT_EQ(0, softmem_node_stats(self->pool, 1, &st));
			if (st.resident_bytes < total)
				break;
			usleep(100 * 1000);
		}
		if (st.resident_bytes < total)
			break;
	}

	for (nid = 0; nid < 2; nid++) {
		for (i = 0; i < per_node; i++) {
			int state = region_resume_state(self->pool, h[nid][i]);

			if (state == SOFTMEM_DISCARDED) {
				lost[nid]++;
				continue;
			}
			EXPECT_EQ(SOFTMEM_INTACT, state);
			EXPECT_EQ(1, region_matches(self->pool, h[nid][i], 0,
						    length,
						    nid * per_node + i));
		}
		ASSERT_EQ(0, softmem_node_stats(self->pool, nid, &st));
		EXPECT_EQ(total - lost[nid] * length, st.resident_bytes);
		EXPECT_EQ(0, st.suspended_bytes);
	}
	TH_LOG("node 1 pressure discarded %d node-0 and %d node-1 regions",
	       lost[0], lost[1]);
	EXPECT_EQ(0, lost[0]);
	EXPECT_LT(0, lost[1]);
	EXPECT_EQ(-EINVAL, softmem_node_stats(self->pool, 1 << 20, &st));
}

/*
 * Write the first page of a fresh region larger than any node's free
 * memory, in a child under memory policy @mode over @mask, and give the node
 * that holds it (-1 if none or more than one does).  A region's pages are
 * all on one node, and it is not enough room: the module looks for a
 * roomier node among those the policy allows, all of them for MPOL_LOCAL
 * and MPOL_PREFERRED, which only say where to start.  With @huge the region
 * is SOFTMEM_ALLOC_HUGE: its first page is a huge folio where the allocator
 * has one (its whole chunk resident), base pages otherwise.
 */
static int big_region_node(struct __test_metadata *_metadata, int pool,
			   size_t page, int mode, unsigned long mask, bool huge)
{
	size_t chunk = page * (page / sizeof(uint64_t));
	struct softmem_node_stats st;
	int nid, node = -1;
	uint64_t h;
	pid_t child;

	ASSERT_EQ(0, huge ? softmem_alloc_huge(pool, SOFTMEM_MAX_LENGTH, &h) :
			    softmem_alloc(pool, SOFTMEM_MAX_LENGTH, &h));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (syscall(SYS_set_mempolicy, mode, mode == MPOL_LOCAL ?
			    NULL : &mask, 8 * sizeof(mask)))
			_exit(2);
		_exit(region_write_pattern(pool, h, 0, page, 9) ? 1 : 0);
	}
	EXPECT_EQ(0, wait_child(child)) TH_LOG("mode %d, nodes %#lx", mode,
					       mask);
	EXPECT_EQ(1, region_matches(pool, h, 0, page, 9));
	for (nid = 0; nid < 2 && node_exists(nid); nid++) {
		ASSERT_EQ(0, softmem_node_stats(pool, nid, &st));
		if (st.resident_bytes == page ||
		    (huge && st.resident_bytes == chunk))
			node = node < 0 ? nid : -1;
		else
			EXPECT_EQ(0, st.resident_bytes);
	}
	ASSERT_EQ(0, softmem_free(pool, h));
	return node;
}

/*
 * Under each policy, the first page of a big region: a bound writer's stays
 * on its nodes, one that only starts on a node ends on one; when the node
 * it starts on has less room than the other, the page, a huge folio with
 * @huge, is put on the other instead.
 */
static void big_region_within_policy(struct __test_metadata *_metadata,
				     int pool, size_t page, bool huge)
{
	int node;

	if (syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0) &&
	    errno == ENOSYS)
		SKIP(return, "no NUMA memory policies (CONFIG_NUMA=n)");
	EXPECT_EQ(0, big_region_node(_metadata, pool, page, MPOL_BIND, 1,
				     huge));
	if (node_exists(1)) {
		EXPECT_EQ(1, big_region_node(_metadata, pool, page, MPOL_BIND,
					     2, huge));
	}
	/* Starting on either node, the page ends on one. */
	node = big_region_node(_metadata, pool, page, MPOL_PREFERRED, 1, huge);
	EXPECT_LE(0, node);
	if (node_exists(1)) {
		node = big_region_node(_metadata, pool, page, MPOL_PREFERRED,
				       2, huge);
		EXPECT_LE(0, node);
	}
	node = big_region_node(_metadata, pool, page, MPOL_LOCAL, 0, huge);
	EXPECT_LE(0, node);
}

TEST_F(reclaim, numa_big_region_within_policy)
{
	big_region_within_policy(_metadata, self->pool, self->page, false);
}

TEST_F(reclaim, numa_big_huge_region_within_policy)
{
	big_region_within_policy(_metadata, self->pool, self->page, true);
}

TEST_HARNESS_MAIN
