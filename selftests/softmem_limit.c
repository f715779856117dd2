// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_limit: the pool limit on resident bytes (SOFTMEM_IOC_CONFIGURE)
 * and the module-wide max_bytes cap.
 *
 * A write needing pages beyond a limit first discards the pool's own
 * suspended regions, least recently suspended first, then fails with ENOMEM
 * and changes nothing.
 */
#include "softmem_test.h"

FIXTURE(limit) {
	int pool;
	size_t page;
	uint64_t pool_max;
	uint64_t saved_max_bytes;	/* restored by teardown when nonzero */
};

FIXTURE_SETUP(limit)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, module_param("pool_max_bytes", &self->pool_max));
	ASSERT_LE(64 * self->page, self->pool_max);
}

FIXTURE_TEARDOWN(limit)
{
	if (self->saved_max_bytes)
		write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes",
			       self->saved_max_bytes);
	if (self->pool > 0)
		softmem_close(self->pool);
}

static uint64_t stats_limit(struct __test_metadata *_metadata, int pool)
{
	struct softmem_stats stats;

	ASSERT_EQ(0, pool_stats(pool, &stats));
	return stats.limit_bytes;
}

static uint64_t stats_resident(struct __test_metadata *_metadata, int pool)
{
	struct softmem_stats stats;

	ASSERT_EQ(0, pool_stats(pool, &stats));
	return stats.resident_bytes;
}

TEST_F(limit, default_limit_within_pool_max)
{
	uint64_t limit = stats_limit(_metadata, self->pool);

	EXPECT_LT(0, limit);
	EXPECT_GE(self->pool_max, limit);
}

TEST_F(limit, limit_rounded_down_and_reported)
{
	ASSERT_EQ(0, softmem_set_limit(self->pool, 5 * self->page + 100));
	EXPECT_EQ(5 * self->page, stats_limit(_metadata, self->pool));
	ASSERT_EQ(0, softmem_set_limit(self->pool, 9 * self->page - 1));
	EXPECT_EQ(8 * self->page, stats_limit(_metadata, self->pool));
	ASSERT_EQ(0, softmem_set_limit(self->pool, self->pool_max));
	EXPECT_EQ(self->pool_max & ~((uint64_t)self->page - 1),
		  stats_limit(_metadata, self->pool));
}

TEST_F(limit, limit_above_pool_max_einval)
{
	ASSERT_EQ(0, softmem_set_limit(self->pool, 16 * self->page));
	EXPECT_EQ(-EINVAL, softmem_set_limit(self->pool,
					     self->pool_max + self->page));
	EXPECT_EQ(-EINVAL, softmem_set_limit(self->pool, UINT64_MAX));
	EXPECT_EQ(16 * self->page, stats_limit(_metadata, self->pool));
}

TEST_F(limit, configure_without_flags_changes_nothing)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = 0,
		.limit_bytes = 3 * self->page,
	};

	ASSERT_EQ(0, softmem_set_limit(self->pool, 16 * self->page));
	EXPECT_EQ(0, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_CONFIGURE,
				       &arg));
	EXPECT_EQ(16 * self->page, stats_limit(_metadata, self->pool));
}

TEST_F(limit, write_beyond_limit_enomem_unchanged)
{
	uint8_t byte = 0x99;
	uint64_t h;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 4 * self->page));
	ASSERT_EQ(0, softmem_alloc(self->pool, 8 * self->page, &h));
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, 4 * self->page,
					  1));
	EXPECT_EQ(-ENOMEM, softmem_write(self->pool, h, 4 * self->page, &byte,
					 1));
	EXPECT_EQ(4 * self->page, stats_resident(_metadata, self->pool));
	EXPECT_EQ(1, region_matches(self->pool, h, 4 * self->page,
				    4 * self->page, REGION_ZERO));
	/* Pages already resident can be rewritten at the limit. */
	EXPECT_EQ(0, region_write_pattern(self->pool, h, 0, 4 * self->page,
					  2));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 4 * self->page, 2));
	/* Raising the limit lets the write through. */
	ASSERT_EQ(0, softmem_set_limit(self->pool, 5 * self->page));
	EXPECT_EQ(0, softmem_write(self->pool, h, 4 * self->page, &byte, 1));
}

TEST_F(limit, enomem_write_is_all_or_nothing)
{
	uint8_t *buf = malloc(2 * self->page);
	uint64_t h;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, softmem_set_limit(self->pool, 4 * self->page));
	ASSERT_EQ(0, softmem_alloc(self->pool, 8 * self->page, &h));
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, 3 * self->page,
					  3));
	/* Page 3 would fit, page 4 would not: neither is written. */
	memset(buf, 0x44, 2 * self->page);
	EXPECT_EQ(-ENOMEM, softmem_write(self->pool, h, 3 * self->page, buf,
					 2 * self->page));
	EXPECT_EQ(3 * self->page, stats_resident(_metadata, self->pool));
	EXPECT_EQ(1, region_matches(self->pool, h, 3 * self->page,
				    5 * self->page, REGION_ZERO));
	/* The same with the first bytes on a resident page. */
	EXPECT_EQ(-ENOMEM, softmem_write(self->pool, h, 3 * self->page - 10,
					 buf, self->page + 20));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 3 * self->page, 3));
	free(buf);
}

TEST_F(limit, set_copy_move_beyond_limit_enomem)
{
	uint64_t src, dst;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 2 * self->page));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 4, &src));
	ASSERT_EQ(0, softmem_alloc(self->pool, 2 * self->page, &dst));
	EXPECT_EQ(-ENOMEM, softmem_set(self->pool, dst, 0, 1, 16));
	EXPECT_EQ(-ENOMEM, softmem_copy(self->pool, dst, 0, src, 0, 16));
	EXPECT_EQ(-ENOMEM, softmem_move(self->pool, dst, 0, src, 0, 16));
	EXPECT_EQ(2 * self->page, stats_resident(_metadata, self->pool));
	EXPECT_EQ(1, region_matches(self->pool, dst, 0, 2 * self->page,
				    REGION_ZERO));
	/* Within resident pages they work. */
	EXPECT_EQ(0, softmem_copy(self->pool, src, 0, src, self->page, 16));
	EXPECT_EQ(0, softmem_set(self->pool, src, 0, 1, 16));
}

TEST_F(limit, write_discards_own_suspended_first)
{
	struct softmem_stats stats;
	uint64_t old, young, h;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 8 * self->page));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 3 * self->page, 5, &old));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 3 * self->page, 6,
					 &young));
	ASSERT_EQ(0, softmem_suspend(self->pool, old));
	ASSERT_EQ(0, softmem_suspend(self->pool, young));
	/* 6 resident + 2 new = 8: fits, nothing is discarded. */
	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 7, &h));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.discard_events);
	/* One more page: the oldest suspended region goes, whole. */
	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &h));
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, self->page, 8));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.discard_events);
	EXPECT_EQ(3 * self->page, stats.discarded_bytes);
	EXPECT_EQ(6 * self->page, stats.resident_bytes);
	EXPECT_EQ(3 * self->page, stats.suspended_bytes);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, old));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, young));
	EXPECT_EQ(1, region_matches(self->pool, young, 0, 3 * self->page, 6));
}

TEST_F(limit, resumed_regions_never_discarded_for_limit)
{
	struct softmem_stats stats;
	uint64_t kept, h;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 8 * self->page));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 6 * self->page, 9,
					 &kept));
	ASSERT_EQ(0, softmem_alloc(self->pool, 4 * self->page, &h));
	EXPECT_EQ(-ENOMEM, region_write_pattern(self->pool, h, 0,
						4 * self->page, 10));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.discard_events);
	EXPECT_EQ(6 * self->page, stats.resident_bytes);
	EXPECT_EQ(1, region_matches(self->pool, kept, 0, 6 * self->page, 9));
}

TEST_F(limit, lowering_limit_discards_suspended_lru)
{
	uint64_t suspended[3], resumed;
	struct softmem_stats stats;
	int i;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 32 * self->page));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * self->page,
						 11 + i, &suspended[i]));
	}
	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * self->page, 14,
					 &resumed));
	/* Suspended in the order 1, 0, 2: 1 is the least recent. */
	ASSERT_EQ(0, softmem_suspend(self->pool, suspended[1]));
	ASSERT_EQ(0, softmem_suspend(self->pool, suspended[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, suspended[2]));

	/* 16 pages resident; 9 allowed: 1 and 0 go, 2 and the rest stay. */
	ASSERT_EQ(0, softmem_set_limit(self->pool, 9 * self->page));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(9 * self->page, stats.limit_bytes);
	EXPECT_EQ(8 * self->page, stats.resident_bytes);
	EXPECT_EQ(2, stats.discard_events);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool,
							 suspended[1]));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool,
							 suspended[0]));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool,
						      suspended[2]));
	EXPECT_EQ(1, region_matches(self->pool, suspended[2], 0,
				    4 * self->page, 13));
	EXPECT_EQ(1, region_matches(self->pool, resumed, 0, 4 * self->page,
				    14));
}

/*
 * A limit walk through more regions than it looks at between two chances
 * to reschedule (256) goes on in the same order: of 300 one-page regions
 * suspended in turn, the first 290 go, the last 10 stay whole.
 */
#define MANY_REGIONS	300
#define MANY_KEPT	10

TEST_F(limit, lowering_limit_discards_hundreds_in_order)
{
	uint64_t h[MANY_REGIONS];
	struct softmem_stats stats;
	int i;

	for (i = 0; i < MANY_REGIONS; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, i,
						 &h[i]));
		ASSERT_EQ(0, softmem_suspend(self->pool, h[i]));
	}
	ASSERT_EQ(0, softmem_set_limit(self->pool, MANY_KEPT * self->page));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(MANY_REGIONS - MANY_KEPT, stats.discard_events);
	EXPECT_EQ(MANY_KEPT * self->page, stats.resident_bytes);
	EXPECT_EQ(MANY_KEPT * self->page, stats.suspended_bytes);
	for (i = 0; i < MANY_REGIONS; i++) {
		if (i < MANY_REGIONS - MANY_KEPT) {
			ASSERT_EQ(SOFTMEM_DISCARDED,
				  region_resume_state(self->pool, h[i]))
				TH_LOG("region %d", i);
			continue;
		}
		ASSERT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h[i]))
			TH_LOG("region %d", i);
		ASSERT_EQ(1, region_matches(self->pool, h[i], 0, self->page, i))
			TH_LOG("region %d", i);
	}
}

/* uapi/linux/softmem.h: not below what the resumed regions hold (EBUSY). */
/*
 * A limit below what resumed regions hold is accepted: nothing resumed is
 * discarded, and writes needing new pages fail until the pool fits again.
 */
TEST_F(limit, lowering_limit_below_resumed_keeps_them)
{
	uint64_t h, h2;

	ASSERT_EQ(0, softmem_set_limit(self->pool, 32 * self->page));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 6 * self->page, 15, &h));
	EXPECT_EQ(0, softmem_set_limit(self->pool, 4 * self->page));
	EXPECT_EQ(4 * self->page, stats_limit(_metadata, self->pool));
	EXPECT_EQ(6 * self->page, stats_resident(_metadata, self->pool));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 6 * self->page, 15));
	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &h2));
	EXPECT_EQ(-ENOMEM, region_write_pattern(self->pool, h2, 0, self->page,
						16));
	EXPECT_EQ(6 * self->page, stats_resident(_metadata, self->pool));
	ASSERT_EQ(0, softmem_free(self->pool, h));
	EXPECT_EQ(0, region_write_pattern(self->pool, h2, 0, self->page, 16));
}

/* Lower the module-wide cap to what is resident now plus @extra bytes. */
static void cap_module(struct __test_metadata *_metadata,
		       FIXTURE_DATA(limit) *self, uint64_t extra)
{
	uint64_t resident;

	if (access(SOFTMEM_SYSFS_PARAMS "/max_bytes", W_OK))
		SKIP(return, "max_bytes parameter not writable");
	ASSERT_EQ(0, module_param("max_bytes", &self->saved_max_bytes));
	ASSERT_EQ(0, module_stat("resident_bytes", &resident));
	ASSERT_EQ(0, write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes",
				    resident + extra));
}

TEST_F(limit, module_max_bytes_enomem)
{
	uint64_t h;

	ASSERT_EQ(0, softmem_alloc(self->pool, 16 * self->page, &h));
	cap_module(_metadata, self, 4 * self->page);
	if (!self->saved_max_bytes)
		return;
	EXPECT_EQ(0, region_write_pattern(self->pool, h, 0, 4 * self->page,
					  16));
	EXPECT_EQ(-ENOMEM, region_write_pattern(self->pool, h, 4 * self->page,
						self->page, 16));
	EXPECT_EQ(4 * self->page, stats_resident(_metadata, self->pool));
	EXPECT_EQ(1, region_matches(self->pool, h, 4 * self->page,
				    self->page, REGION_ZERO));
}

TEST_F(limit, module_max_bytes_discards_own_suspended)
{
	struct softmem_stats stats;
	uint64_t old, h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * self->page, 17,
					 &old));
	ASSERT_EQ(0, softmem_suspend(self->pool, old));
	cap_module(_metadata, self, 2 * self->page);
	if (!self->saved_max_bytes)
		return;
	ASSERT_EQ(0, softmem_alloc(self->pool, 4 * self->page, &h));
	EXPECT_EQ(0, region_write_pattern(self->pool, h, 0, 4 * self->page,
					  18));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.discard_events);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, old));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 4 * self->page, 18));
}

TEST_HARNESS_MAIN
