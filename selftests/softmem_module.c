// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_module: unloading and reloading softmem.ko.
 *
 * An open pool pins the module; with no pool open, rmmod works and an insmod
 * of /lib/softmem/softmem.ko (where tools/vm-run puts it) brings the device
 * back with fresh counters and a working shrinker.  run_all.sh runs this last.
 */
#include "softmem_test.h"

FIXTURE(module) {
	bool unloaded;		/* teardown reloads the module */
};

FIXTURE_SETUP(module)
{
	SKIP_IF_NO_DEVICE();
	if (access(SOFTMEM_MODULE_KO, R_OK))
		SKIP(return, "%s missing: cannot reload the module",
		     SOFTMEM_MODULE_KO);
}

FIXTURE_TEARDOWN(module)
{
	if (self->unloaded && access(SOFTMEM_MODULE_SYSFS, F_OK))
		insmod_softmem();
}

TEST_F(module, rmmod_fails_while_pool_open)
{
	uint64_t h;
	int pool = softmem_open();
	int status;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, page_size(), 1, &h));
	status = rmmod_softmem();
	if (status == 127)
		SKIP(return, "no rmmod in PATH");
	if (!status)
		self->unloaded = true;
	ASSERT_NE(0, status) TH_LOG("rmmod succeeded with a pool open");
	EXPECT_EQ(0, access(SOFTMEM_MODULE_SYSFS, F_OK));
	EXPECT_EQ(1, region_matches(pool, h, 0, page_size(), 1));
	EXPECT_EQ(0, softmem_close(pool));
}

TEST_F(module, reload_without_pools)
{
	struct softmem_stats stats;
	uint64_t pools, h;
	int pool;

	ASSERT_EQ(0, module_stat("pools", &pools));
	ASSERT_EQ(0, pools) TH_LOG("a pool is still open");
	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	EXPECT_TRUE(wait_for_path(SOFTMEM_MODULE_SYSFS, false));
	EXPECT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, false));
	EXPECT_EQ(-ENOENT, softmem_open());

	ASSERT_EQ(0, insmod_softmem());
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, 4 * page_size(), 2, &h));
	EXPECT_EQ(1, region_matches(pool, h, 0, 4 * page_size(), 2));
	ASSERT_EQ(0, pool_stats(pool, &stats));
	EXPECT_EQ(1, stats.regions);
	EXPECT_EQ(4 * page_size(), stats.resident_bytes);
	softmem_close(pool);
}

TEST_F(module, reloaded_module_starts_fresh)
{
	static const char * const zero_after_reload[] = {
		"pools", "regions", "length_bytes", "resident_bytes",
		"suspended_bytes", "discarded_bytes", "discard_events",
	};
	uint64_t value;
	size_t i;

	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	ASSERT_EQ(0, insmod_softmem());
	ASSERT_TRUE(wait_for_path(SOFTMEM_SYSFS_STATS "/pools", true));
	for (i = 0; i < sizeof(zero_after_reload) / sizeof(char *); i++) {
		ASSERT_EQ(0, module_stat(zero_after_reload[i], &value));
		EXPECT_EQ(0, value) TH_LOG("%s", zero_after_reload[i]);
	}
}

TEST_F(module, reloaded_module_shrinker_works)
{
	uint64_t events, h;
	int pool;

	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	ASSERT_EQ(0, insmod_softmem());
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, 8 * page_size(), 3, &h));
	ASSERT_EQ(0, softmem_suspend(pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(pool, h));
	ASSERT_EQ(0, module_stat("discard_events", &events));
	EXPECT_EQ(1, events);
	softmem_close(pool);
}

TEST_HARNESS_MAIN
