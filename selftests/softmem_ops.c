// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_ops: every operation's happy path and every errno it documents,
 * through libsoftmem on resumed regions.
 */
#include "softmem_test.h"

#include <pthread.h>
#include <stdatomic.h>

FIXTURE(ops) {
	int pool;
	size_t page;
};

FIXTURE_SETUP(ops)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(ops)
{
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* Region of @pages pages holding pattern @seed. */
static uint64_t filled_region(struct __test_metadata *_metadata, int pool,
			      uint64_t length, unsigned int seed)
{
	uint64_t handle = 0;

	ASSERT_EQ(0, region_alloc_filled(pool, length, seed, &handle));
	return handle;
}

TEST_F(ops, alloc_handles_nonzero_and_unique)
{
	uint64_t handles[64];
	int i, j;

	for (i = 0; i < 64; i++) {
		ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &handles[i]));
		ASSERT_NE(0, handles[i]);
		for (j = 0; j < i; j++) {
			ASSERT_NE(handles[j], handles[i]);
		}
	}
	/* A freed handle's replacement is still distinct from live ones. */
	ASSERT_EQ(0, softmem_free(self->pool, handles[10]));
	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &handles[10]));
	for (j = 0; j < 64; j++)
		if (j != 10) {
			ASSERT_NE(handles[j], handles[10]);
		}
}

TEST_F(ops, alloc_bad_length_einval)
{
	struct softmem_stats stats;
	uint64_t handle = 0;

	EXPECT_EQ(-EINVAL, softmem_alloc(self->pool, 0, &handle));
	EXPECT_EQ(-EINVAL, softmem_alloc(self->pool, SOFTMEM_MAX_LENGTH + 1,
					 &handle));
	EXPECT_EQ(-EINVAL, softmem_alloc(self->pool, UINT64_MAX, &handle));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.regions);
}

TEST_F(ops, alloc_max_length_is_sparse)
{
	uint64_t last = SOFTMEM_MAX_LENGTH - 1, handle;
	struct softmem_stats stats;
	uint8_t byte = 0x5a;

	ASSERT_EQ(0, softmem_alloc(self->pool, SOFTMEM_MAX_LENGTH, &handle));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(SOFTMEM_MAX_LENGTH, stats.length_bytes);
	EXPECT_EQ(0, stats.resident_bytes);

	ASSERT_EQ(0, softmem_write(self->pool, handle, last, &byte, 1));
	byte = 0;
	ASSERT_EQ(0, softmem_read(self->pool, handle, last, &byte, 1));
	EXPECT_EQ(0x5a, byte);
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(self->page, stats.resident_bytes);
}

TEST_F(ops, alloc_unknown_flags_einval)
{
	struct softmem_alloc arg = {
		.size = sizeof(arg),
		.length = self->page,
	};
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		if (SOFTMEM_ALLOC_VALID_FLAGS & (1U << bit))
			continue;
		arg.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool,
						     SOFTMEM_IOC_ALLOC, &arg));
	}
}

TEST_F(ops, alloc_node_without_flag_einval)
{
	struct softmem_alloc arg = {
		.size = sizeof(arg),
		.length = self->page,
		.node = 1,
	};

	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_ALLOC,
					     &arg));
}

TEST_F(ops, alloc_offline_node_einval)
{
	struct softmem_stats stats;
	uint64_t handle;

	EXPECT_EQ(-EINVAL, softmem_alloc_on_node(self->pool, self->page, 7,
						 &handle));
	EXPECT_EQ(-EINVAL, softmem_alloc_on_node(self->pool, self->page, 1024,
						 &handle));
	EXPECT_EQ(-EINVAL, softmem_alloc_on_node(self->pool, self->page,
						 UINT32_MAX, &handle));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.regions);
	/* Node 0 is always online. */
	EXPECT_EQ(0, softmem_alloc_on_node(self->pool, self->page, 0, &handle));
}

TEST_F(ops, alloc_rounds_up_to_pages)
{
	struct softmem_stats stats;
	uint8_t byte = 0x42;
	uint64_t handle;

	ASSERT_EQ(0, softmem_alloc(self->pool, 1, &handle));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(self->page, stats.length_bytes);
	/* The whole rounded page is addressable, not a byte more. */
	EXPECT_EQ(0, softmem_write(self->pool, handle, self->page - 1, &byte,
				   1));
	EXPECT_EQ(-EINVAL, softmem_write(self->pool, handle, self->page,
					 &byte, 1));
	byte = 0;
	EXPECT_EQ(0, softmem_read(self->pool, handle, self->page - 1, &byte,
				  1));
	EXPECT_EQ(0x42, byte);

	ASSERT_EQ(0, softmem_alloc(self->pool, self->page + 1, &handle));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(3 * self->page, stats.length_bytes);
}

TEST_F(ops, new_region_reads_zeros)
{
	size_t length = 3 * self->page;
	uint64_t handle;

	ASSERT_EQ(0, softmem_alloc(self->pool, length, &handle));
	EXPECT_EQ(1, region_matches(self->pool, handle, 0, length,
				    REGION_ZERO));
}

TEST_F(ops, unwritten_pages_cost_nothing)
{
	struct softmem_stats stats;
	uint8_t buf[64] = { 0 };
	uint64_t handle;

	ASSERT_EQ(0, softmem_alloc(self->pool, 64 * MiB, &handle));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.regions);
	EXPECT_EQ(64 * MiB, stats.length_bytes);
	EXPECT_EQ(0, stats.resident_bytes);

	/* Reading never-written pages does not populate them. */
	ASSERT_EQ(0, softmem_read(self->pool, handle, 32 * MiB, buf,
				  sizeof(buf)));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.resident_bytes);

	/* A write straddling two pages populates exactly those two. */
	ASSERT_EQ(0, softmem_write(self->pool, handle, 32 * MiB - 8, buf,
				   16));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2 * self->page, stats.resident_bytes);
}

TEST_F(ops, write_read_roundtrip_unaligned)
{
	size_t length = 5 * self->page + 123, offset = self->page / 2 + 7;
	uint8_t *in = malloc(length), *out = malloc(length);
	uint64_t handle;

	ASSERT_NE(NULL, in);
	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, softmem_alloc(self->pool, offset + length, &handle));
	pattern_fill(in, length, 0, 3);
	ASSERT_EQ(0, softmem_write(self->pool, handle, offset, in, length));
	ASSERT_EQ(0, softmem_read(self->pool, handle, offset, out, length));
	EXPECT_EQ(0, memcmp(in, out, length));
	/* Bytes around the written range stayed zero. */
	EXPECT_EQ(1, region_matches(self->pool, handle, 0, offset,
				    REGION_ZERO));
	EXPECT_EQ(1, region_matches(self->pool, handle, offset + length,
				    page_round_up(offset + length) -
				    (offset + length), REGION_ZERO));
	free(in);
	free(out);
}

TEST_F(ops, zero_length_ops_succeed)
{
	uint64_t a = filled_region(_metadata, self->pool, self->page, 1);
	uint64_t b = filled_region(_metadata, self->pool, self->page, 2);
	int64_t position = 0;
	int result = 5;
	uint8_t byte;

	EXPECT_EQ(0, softmem_read(self->pool, a, 0, &byte, 0));
	EXPECT_EQ(0, softmem_write(self->pool, a, 0, &byte, 0));
	EXPECT_EQ(0, softmem_write(self->pool, a, self->page, &byte, 0));
	EXPECT_EQ(0, softmem_copy(self->pool, a, 0, b, 0, 0));
	EXPECT_EQ(0, softmem_move(self->pool, a, 0, b, 0, 0));
	EXPECT_EQ(0, softmem_set(self->pool, a, 0, 0, 0));
	EXPECT_EQ(0, softmem_compare(self->pool, a, 0, b, 0, 0, &result));
	EXPECT_EQ(0, result);
	result = 5;
	EXPECT_EQ(0, softmem_compare_buf(self->pool, a, 0, &byte, 0, &result));
	EXPECT_EQ(0, result);
	EXPECT_EQ(0, softmem_find(self->pool, a, 0, 0, pattern_byte(0, 1),
				  &position));
	EXPECT_EQ(-1, position);
	EXPECT_EQ(1, region_matches(self->pool, a, 0, self->page, 1));
	EXPECT_EQ(1, region_matches(self->pool, b, 0, self->page, 2));
}

TEST_F(ops, rw_past_end_einval_and_unchanged)
{
	uint64_t handle = filled_region(_metadata, self->pool,
					2 * self->page, 4);
	uint64_t end = 2 * self->page;
	uint8_t buf[32];

	memset(buf, 0xee, sizeof(buf));
	EXPECT_EQ(-EINVAL, softmem_write(self->pool, handle, end - 16, buf,
					 32));
	EXPECT_EQ(-EINVAL, softmem_write(self->pool, handle, end, buf, 1));
	EXPECT_EQ(-EINVAL, softmem_write(self->pool, handle, end + 1, buf, 0));
	EXPECT_EQ(-EINVAL, softmem_read(self->pool, handle, end - 16, buf, 32));
	EXPECT_EQ(-EINVAL, softmem_read(self->pool, handle, end, buf, 1));
	EXPECT_EQ(-EINVAL, softmem_read(self->pool, handle, UINT64_MAX, buf,
					1));
	EXPECT_EQ(1, region_matches(self->pool, handle, 0, end, 4));
}

TEST_F(ops, offset_length_overflow_einval)
{
	uint64_t a = filled_region(_metadata, self->pool, self->page, 5);
	uint64_t b = filled_region(_metadata, self->pool, self->page, 6);
	uint64_t huge = UINT64_MAX - 7;
	int64_t position;
	int result;

	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, a, huge, b, 0, 16));
	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, a, 0, b, huge, 16));
	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, a, 16, b, 0, UINT64_MAX));
	EXPECT_EQ(-EINVAL, softmem_move(self->pool, a, huge, b, 0, 16));
	EXPECT_EQ(-EINVAL, softmem_set(self->pool, a, huge, 1, 16));
	EXPECT_EQ(-EINVAL, softmem_set(self->pool, a, 16, 1, UINT64_MAX));
	EXPECT_EQ(-EINVAL, softmem_compare(self->pool, a, huge, b, 0, 16,
					   &result));
	EXPECT_EQ(-EINVAL, softmem_compare(self->pool, a, 0, b, huge, 16,
					   &result));
	EXPECT_EQ(-EINVAL, softmem_find(self->pool, a, huge, 16, 1,
					&position));
	EXPECT_EQ(-EINVAL, softmem_find(self->pool, a, 16, UINT64_MAX, 1,
					&position));
	EXPECT_EQ(1, region_matches(self->pool, a, 0, self->page, 5));
	EXPECT_EQ(1, region_matches(self->pool, b, 0, self->page, 6));
}

TEST_F(ops, unknown_handle_enoent)
{
	uint64_t a = filled_region(_metadata, self->pool, self->page, 7);
	uint64_t bogus[] = { 0, a + 1000, UINT64_MAX };
	int64_t position;
	uint8_t buf[8];
	bool discarded;
	int result;
	size_t i;

	for (i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		uint64_t h = bogus[i];

		EXPECT_EQ(-ENOENT, softmem_free(self->pool, h));
		EXPECT_EQ(-ENOENT, softmem_suspend(self->pool, h));
		EXPECT_EQ(-ENOENT, softmem_resume(self->pool, h, &discarded));
		EXPECT_EQ(-ENOENT, softmem_read(self->pool, h, 0, buf, 8));
		EXPECT_EQ(-ENOENT, softmem_write(self->pool, h, 0, buf, 8));
		EXPECT_EQ(-ENOENT, softmem_copy(self->pool, h, 0, a, 0, 8));
		EXPECT_EQ(-ENOENT, softmem_copy(self->pool, a, 0, h, 0, 8));
		EXPECT_EQ(-ENOENT, softmem_move(self->pool, h, 0, a, 0, 8));
		EXPECT_EQ(-ENOENT, softmem_move(self->pool, a, 0, h, 0, 8));
		EXPECT_EQ(-ENOENT, softmem_set(self->pool, h, 0, 1, 8));
		EXPECT_EQ(-ENOENT, softmem_compare(self->pool, h, 0, a, 0, 8,
						   &result));
		EXPECT_EQ(-ENOENT, softmem_compare(self->pool, a, 0, h, 0, 8,
						   &result));
		EXPECT_EQ(-ENOENT, softmem_compare_buf(self->pool, h, 0, buf,
						       8, &result));
		EXPECT_EQ(-ENOENT, softmem_find(self->pool, h, 0, 8, 1,
						&position));
	}
	EXPECT_EQ(1, region_matches(self->pool, a, 0, self->page, 7));
}

TEST_F(ops, freed_handle_enoent)
{
	struct softmem_stats stats;
	uint64_t a = filled_region(_metadata, self->pool, 4 * self->page, 8);
	uint8_t buf[8];
	bool discarded;

	ASSERT_EQ(0, softmem_free(self->pool, a));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.regions);
	EXPECT_EQ(0, stats.length_bytes);
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(-ENOENT, softmem_free(self->pool, a));
	EXPECT_EQ(-ENOENT, softmem_read(self->pool, a, 0, buf, 8));
	EXPECT_EQ(-ENOENT, softmem_write(self->pool, a, 0, buf, 8));
	EXPECT_EQ(-ENOENT, softmem_suspend(self->pool, a));
	EXPECT_EQ(-ENOENT, softmem_resume(self->pool, a, &discarded));
}

TEST_F(ops, write_bad_buffer_efault_unchanged)
{
	uint64_t handle = filled_region(_metadata, self->pool,
					2 * self->page, 9);
	struct softmem_stats before, after;
	void *unmapped;

	unmapped = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, unmapped);
	ASSERT_EQ(0, munmap(unmapped, self->page));

	ASSERT_EQ(0, softmem_suspend(self->pool, handle));
	ASSERT_EQ(0, pool_stats(self->pool, &before));
	EXPECT_EQ(-EFAULT, softmem_write(self->pool, handle, 0, NULL, 64));
	EXPECT_EQ(-EFAULT, softmem_write(self->pool, handle, 100, unmapped,
					 self->page));
	ASSERT_EQ(0, pool_stats(self->pool, &after));
	EXPECT_EQ(before.suspended_bytes, after.suspended_bytes);
	EXPECT_EQ(before.resident_bytes, after.resident_bytes);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, handle));
	EXPECT_EQ(1, region_matches(self->pool, handle, 0, 2 * self->page, 9));
}

TEST_F(ops, write_bad_buffer_allocates_nothing)
{
	struct softmem_stats stats;
	uint64_t handle;

	ASSERT_EQ(0, softmem_alloc(self->pool, 16 * self->page, &handle));
	EXPECT_EQ(-EFAULT, softmem_write(self->pool, handle, 0, NULL,
					 16 * self->page));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.resident_bytes);
}

TEST_F(ops, read_bad_buffer_efault)
{
	uint64_t handle = filled_region(_metadata, self->pool, self->page, 10);
	uint8_t *ro;

	ro = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, softmem_read(self->pool, handle, 0, NULL, 16));
	EXPECT_EQ(-EFAULT, softmem_read(self->pool, handle, 0, ro, 16));
	EXPECT_EQ(0, ro[0]);
	EXPECT_EQ(-EFAULT, softmem_read(self->pool, handle, 0,
					(void *)(uintptr_t)-4096, 16));
	munmap(ro, self->page);
	EXPECT_EQ(1, region_matches(self->pool, handle, 0, self->page, 10));
}

TEST_F(ops, copy_between_regions)
{
	uint64_t src = filled_region(_metadata, self->pool, 4 * self->page, 11);
	uint64_t dst = filled_region(_metadata, self->pool, 4 * self->page, 12);
	size_t length = 2 * self->page + 100, off = self->page - 50;
	uint8_t *buf = malloc(4 * self->page);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, softmem_copy(self->pool, dst, off + 3, src, off, length));
	ASSERT_EQ(0, softmem_read(self->pool, dst, 0, buf, 4 * self->page));
	for (size_t i = 0; i < 4 * self->page; i++) {
		uint8_t want = pattern_byte(i, 12);

		if (i >= off + 3 && i < off + 3 + length)
			want = pattern_byte(i - 3, 11);
		ASSERT_EQ(want, buf[i]) TH_LOG("byte %zu", i);
	}
	EXPECT_EQ(1, region_matches(self->pool, src, 0, 4 * self->page, 11));
	free(buf);
}

TEST_F(ops, copy_within_region_disjoint)
{
	uint64_t h = filled_region(_metadata, self->pool, 4 * self->page, 13);
	uint8_t buf[256];

	ASSERT_EQ(0, softmem_copy(self->pool, h, 3 * self->page, h, 10, 256));
	ASSERT_EQ(0, softmem_read(self->pool, h, 3 * self->page, buf, 256));
	for (size_t i = 0; i < 256; i++) {
		ASSERT_EQ(pattern_byte(10 + i, 13), buf[i]);
	}
	/* Adjacent ranges do not overlap. */
	EXPECT_EQ(0, softmem_copy(self->pool, h, 256, h, 0, 256));
}

TEST_F(ops, copy_overlap_einval)
{
	uint64_t h = filled_region(_metadata, self->pool, 4 * self->page, 14);

	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, h, 100, h, 0, 101));
	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, h, 0, h, 100, 101));
	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, h, 0, h, 0, 1));
	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, h, self->page, h, 0,
					2 * self->page));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 4 * self->page, 14));
}

TEST_F(ops, copy_past_end_einval)
{
	uint64_t a = filled_region(_metadata, self->pool, 2 * self->page, 15);
	uint64_t b = filled_region(_metadata, self->pool, self->page, 16);

	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, b, 0, a, 0,
					2 * self->page));
	EXPECT_EQ(-EINVAL, softmem_copy(self->pool, a, 2 * self->page - 8, b,
					0, 16));
	EXPECT_EQ(-EINVAL, softmem_move(self->pool, b, 0, a, 0,
					2 * self->page));
	EXPECT_EQ(1, region_matches(self->pool, a, 0, 2 * self->page, 15));
	EXPECT_EQ(1, region_matches(self->pool, b, 0, self->page, 16));
}

/* memmove() of @length bytes from @src to @dst in one region, checked. */
static void check_move(struct __test_metadata *_metadata, int pool,
		       size_t region_length, uint64_t dst, uint64_t src,
		       size_t length)
{
	uint8_t *want = malloc(region_length), *got = malloc(region_length);
	uint64_t h;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, region_alloc_filled(pool, region_length, 17, &h));
	pattern_fill(want, region_length, 0, 17);
	memmove(want + dst, want + src, length);
	ASSERT_EQ(0, softmem_move(pool, h, dst, h, src, length));
	ASSERT_EQ(0, softmem_read(pool, h, 0, got, region_length));
	EXPECT_EQ(0, memcmp(want, got, region_length));
	free(want);
	free(got);
}

TEST_F(ops, move_overlap_forward)
{
	/* dst above src, crossing two page boundaries. */
	check_move(_metadata, self->pool, 4 * self->page, 100 + 1,
		   100, 2 * self->page + 500);
	check_move(_metadata, self->pool, 4 * self->page, self->page + 17,
		   self->page - 3, 2 * self->page);
}

TEST_F(ops, move_overlap_backward)
{
	check_move(_metadata, self->pool, 4 * self->page, 100,
		   101, 2 * self->page + 500);
	check_move(_metadata, self->pool, 4 * self->page, self->page - 3,
		   self->page + 17, 2 * self->page);
}

TEST_F(ops, move_between_regions)
{
	uint64_t src = filled_region(_metadata, self->pool, 2 * self->page, 18);
	uint64_t dst;
	uint8_t buf[64];

	ASSERT_EQ(0, softmem_alloc(self->pool, 2 * self->page, &dst));
	ASSERT_EQ(0, softmem_move(self->pool, dst, self->page - 32, src, 5,
				  64));
	ASSERT_EQ(0, softmem_read(self->pool, dst, self->page - 32, buf, 64));
	for (size_t i = 0; i < 64; i++) {
		ASSERT_EQ(pattern_byte(5 + i, 18), buf[i]);
	}
	EXPECT_EQ(1, region_matches(self->pool, src, 0, 2 * self->page, 18));
}

TEST_F(ops, set_fills_only_range)
{
	uint64_t h = filled_region(_metadata, self->pool, 3 * self->page, 19);
	size_t off = self->page - 10, length = self->page + 20;
	uint8_t *buf = malloc(3 * self->page);

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, softmem_set(self->pool, h, off, 0xab, length));
	ASSERT_EQ(0, softmem_read(self->pool, h, 0, buf, 3 * self->page));
	for (size_t i = 0; i < 3 * self->page; i++) {
		uint8_t want = (i >= off && i < off + length) ?
			       0xab : pattern_byte(i, 19);

		ASSERT_EQ(want, buf[i]) TH_LOG("byte %zu", i);
	}
	/* Value 0 and 255 are bytes too. */
	EXPECT_EQ(0, softmem_set(self->pool, h, 0, 0, 1));
	EXPECT_EQ(0, softmem_set(self->pool, h, 1, 255, 1));
	ASSERT_EQ(0, softmem_read(self->pool, h, 0, buf, 2));
	EXPECT_EQ(0, buf[0]);
	EXPECT_EQ(255, buf[1]);
	free(buf);
}

TEST_F(ops, set_bad_value_einval)
{
	uint64_t h = filled_region(_metadata, self->pool, self->page, 20);

	EXPECT_EQ(-EINVAL, softmem_set(self->pool, h, 0, 256, 16));
	EXPECT_EQ(-EINVAL, softmem_set(self->pool, h, 0, -1, 16));
	EXPECT_EQ(-EINVAL, softmem_set(self->pool, h, 0, 0x10041, 16));
	EXPECT_EQ(-EINVAL, softmem_set(self->pool, h, self->page - 8, 1, 16));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 20));
}

TEST_F(ops, set_on_sparse_region_populates)
{
	struct softmem_stats stats;
	uint64_t h;

	ASSERT_EQ(0, softmem_alloc(self->pool, 8 * self->page, &h));
	ASSERT_EQ(0, softmem_set(self->pool, h, 2 * self->page, 0x33,
				 2 * self->page));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2 * self->page, stats.resident_bytes);
}

TEST_F(ops, compare_regions_result)
{
	uint64_t a, b;
	uint8_t lo = 0x01, hi = 0x80;
	int result = 9;

	ASSERT_EQ(0, softmem_alloc(self->pool, 2 * self->page, &a));
	ASSERT_EQ(0, softmem_alloc(self->pool, 2 * self->page, &b));
	ASSERT_EQ(0, region_write_pattern(self->pool, a, 0, 2 * self->page,
					  21));
	ASSERT_EQ(0, region_write_pattern(self->pool, b, 0, 2 * self->page,
					  21));
	ASSERT_EQ(0, softmem_compare(self->pool, a, 0, b, 0, 2 * self->page,
				     &result));
	EXPECT_EQ(0, result);

	/* First difference past a page boundary; bytes are unsigned. */
	ASSERT_EQ(0, softmem_write(self->pool, a, self->page + 5, &hi, 1));
	ASSERT_EQ(0, softmem_write(self->pool, b, self->page + 5, &lo, 1));
	ASSERT_EQ(0, softmem_write(self->pool, a, self->page + 9, &lo, 1));
	ASSERT_EQ(0, softmem_write(self->pool, b, self->page + 9, &hi, 1));
	ASSERT_EQ(0, softmem_compare(self->pool, a, 0, b, 0, 2 * self->page,
				     &result));
	EXPECT_EQ(1, result);
	ASSERT_EQ(0, softmem_compare(self->pool, b, 0, a, 0, 2 * self->page,
				     &result));
	EXPECT_EQ(-1, result);
	/* A range ending before the difference is equal. */
	ASSERT_EQ(0, softmem_compare(self->pool, a, 0, b, 0, self->page + 5,
				     &result));
	EXPECT_EQ(0, result);
	/* Ranges at different offsets, within one region. */
	ASSERT_EQ(0, softmem_compare(self->pool, a, self->page + 9, a,
				     self->page + 5, 1, &result));
	EXPECT_EQ(-1, result);
}

TEST_F(ops, compare_user_buffer)
{
	uint64_t h = filled_region(_metadata, self->pool, 2 * self->page, 22);
	size_t length = self->page + 64;
	uint8_t *buf = malloc(length);
	int result = 9;

	ASSERT_NE(NULL, buf);
	pattern_fill(buf, length, 10, 22);
	ASSERT_EQ(0, softmem_compare_buf(self->pool, h, 10, buf, length,
					 &result));
	EXPECT_EQ(0, result);
	buf[length - 1] = 0xff;
	ASSERT_EQ(0, softmem_compare_buf(self->pool, h, 10, buf, length,
					 &result));
	EXPECT_EQ(-1, result);
	buf[self->page] = 0x00;
	ASSERT_EQ(0, softmem_compare_buf(self->pool, h, 10, buf, length,
					 &result));
	EXPECT_EQ(1, result);
	EXPECT_EQ(-EFAULT, softmem_compare_buf(self->pool, h, 0, NULL, 16,
					       &result));
	free(buf);
}

TEST_F(ops, compare_bad_arguments_einval)
{
	uint64_t a = filled_region(_metadata, self->pool, self->page, 23);
	uint64_t b = filled_region(_metadata, self->pool, self->page, 23);
	uint8_t buf[16];
	struct softmem_compare arg = {
		.size = sizeof(arg),
		.handle = a,
		.length = sizeof(buf),
	};
	unsigned int bit;

	/* With SOFTMEM_COMPARE_USER, other_handle and other_offset are 0. */
	pattern_fill(buf, sizeof(buf), 0, 23);
	arg.flags = SOFTMEM_COMPARE_USER;
	arg.addr = (uintptr_t)buf;
	arg.other_handle = b;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_COMPARE,
					     &arg));
	arg.other_handle = 0;
	arg.other_offset = 1;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_COMPARE,
					     &arg));
	arg.other_offset = 0;
	EXPECT_EQ(0, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_COMPARE, &arg));

	/* Without it, addr must be 0. */
	arg.flags = 0;
	arg.other_handle = b;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_COMPARE,
					     &arg));
	arg.addr = 0;
	EXPECT_EQ(0, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_COMPARE, &arg));

	for (bit = 0; bit < 32; bit++) {
		if (SOFTMEM_COMPARE_VALID_FLAGS & (1U << bit))
			continue;
		arg.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool,
						     SOFTMEM_IOC_COMPARE,
						     &arg));
	}
}

TEST_F(ops, find_positions)
{
	uint64_t h;
	uint8_t mark = 0x7e;
	int64_t position = 0;

	ASSERT_EQ(0, softmem_alloc(self->pool, 4 * self->page, &h));
	ASSERT_EQ(0, softmem_write(self->pool, h, self->page + 3, &mark, 1));
	ASSERT_EQ(0, softmem_write(self->pool, h, 3 * self->page, &mark, 1));

	ASSERT_EQ(0, softmem_find(self->pool, h, 0, 4 * self->page, 0x7e,
				  &position));
	EXPECT_EQ(self->page + 3, position);
	/* The position is a region offset, not relative to @offset. */
	ASSERT_EQ(0, softmem_find(self->pool, h, self->page + 4,
				  3 * self->page - 4, 0x7e, &position));
	EXPECT_EQ(3 * self->page, position);
	/* A match just past the range is not found. */
	ASSERT_EQ(0, softmem_find(self->pool, h, self->page + 4,
				  2 * self->page - 4, 0x7e, &position));
	EXPECT_EQ(-1, position);
	/* Zero bytes in never-written pages are found. */
	ASSERT_EQ(0, softmem_find(self->pool, h, self->page + 3,
				  self->page, 0, &position));
	EXPECT_EQ(self->page + 4, position);
	ASSERT_EQ(0, softmem_find(self->pool, h, 0, 4 * self->page, 0x7f,
				  &position));
	EXPECT_EQ(-1, position);
}

TEST_F(ops, find_bad_arguments_einval)
{
	uint64_t h = filled_region(_metadata, self->pool, self->page, 24);
	int64_t position = 77;

	EXPECT_EQ(-EINVAL, softmem_find(self->pool, h, 0, 16, 256, &position));
	EXPECT_EQ(-EINVAL, softmem_find(self->pool, h, 0, 16, -1, &position));
	EXPECT_EQ(-EINVAL, softmem_find(self->pool, h, self->page - 8, 16, 1,
					&position));
	EXPECT_EQ(-EINVAL, softmem_find(self->pool, h, self->page + 1, 0, 1,
					&position));
	EXPECT_EQ(77, position);
}

/* The long commands a fatal signal must stop part way. */
enum long_op { LONG_SET, LONG_FIND, LONG_COMPARE, LONG_COMPARE_BUF };

/*
 * A child runs @op over all but the first page of the largest region, and
 * over a second one or a read-only buffer as large, again and again: each
 * call takes minutes at least, far past the harness's timeout, unless
 * SIGKILL stops it.  The child must die of the signal, and the call must
 * leave the region as it was and unpinned: its first page holds its data,
 * and it can still be discarded.
 */
static void killed_part_way(struct __test_metadata *_metadata, int pool,
			    size_t page, enum long_op op)
{
	uint64_t length = SOFTMEM_MAX_LENGTH - page, h, other;
	struct softmem_stats stats;
	void *zeros = MAP_FAILED;
	int ready[2], result;
	int64_t position;
	pid_t pid;
	char c;

	ASSERT_EQ(0, softmem_alloc(pool, SOFTMEM_MAX_LENGTH, &h));
	ASSERT_EQ(0, region_write_pattern(pool, h, 0, page, 31));
	ASSERT_EQ(0, softmem_alloc(pool, SOFTMEM_MAX_LENGTH, &other));
	if (op == LONG_COMPARE_BUF) {
		zeros = mmap(NULL, length, PROT_READ, MAP_PRIVATE |
			     MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		ASSERT_NE(MAP_FAILED, zeros);
	}
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;) {
			switch (op) {
			case LONG_SET:
				softmem_set(pool, h, page, 0, length);
				break;
			case LONG_FIND:
				softmem_find(pool, h, page, length, 0x5a,
					     &position);
				break;
			case LONG_COMPARE:
				softmem_compare(pool, h, page, other, page,
						length, &result);
				break;
			case LONG_COMPARE_BUF:
				softmem_compare_buf(pool, h, page, zeros,
						    length, &result);
				break;
			}
		}
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);
	/* Not a time limit: a moment for the child to be in the call. */
	usleep(100000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(128 + SIGKILL, wait_child(pid));
	if (zeros != MAP_FAILED)
		munmap(zeros, length);

	EXPECT_EQ(1, region_matches(pool, h, 0, page, 31));
	ASSERT_EQ(0, pool_stats(pool, &stats));
	EXPECT_EQ(page, stats.resident_bytes);
	ASSERT_EQ(0, softmem_suspend(pool, h));
	ASSERT_EQ(0, softmem_set_limit(pool, 0));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(pool, h));
	ASSERT_EQ(0, pool_stats(pool, &stats));
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(1, stats.discard_events);
}

TEST_F(ops, set_killed_part_way)
{
	killed_part_way(_metadata, self->pool, self->page, LONG_SET);
}

TEST_F(ops, find_killed_part_way)
{
	killed_part_way(_metadata, self->pool, self->page, LONG_FIND);
}

TEST_F(ops, compare_killed_part_way)
{
	killed_part_way(_metadata, self->pool, self->page, LONG_COMPARE);
}

TEST_F(ops, compare_buf_killed_part_way)
{
	killed_part_way(_metadata, self->pool, self->page, LONG_COMPARE_BUF);
}

struct racer {
	int pool;
	atomic_ullong handle;		/* the one to act on, 0 when none */
	atomic_bool stop;
	unsigned long done, gone, wrong;
	int wrong_ret;
};

/* Suspends, resumes and reprioritises whatever handle is current. */
static void *race_commands(void *arg)
{
	struct racer *r = arg;
	unsigned int i;

	for (i = 0; !atomic_load(&r->stop); i++) {
		uint64_t h = atomic_load(&r->handle);
		bool discarded;
		int ret;

		if (!h)
			continue;
		switch (i % 3) {
		case 0:
			ret = softmem_suspend(r->pool, h);
			break;
		case 1:
			ret = softmem_resume(r->pool, h, &discarded);
			break;
		default:
			ret = softmem_set_priority(r->pool, h, i % 4);
			break;
		}
		if (!ret) {
			r->done++;
		} else if (ret == -ENOENT) {
			r->gone++;
		} else {
			r->wrong++;
			r->wrong_ret = ret;
		}
	}
	return NULL;
}

/*
 * FREE racing suspend, resume and set-priority on the same handle: each of
 * them succeeds or finds the handle gone (ENOENT), whichever way the race
 * goes, and once every region is freed the pool holds nothing.  Bounded by
 * rounds, not time.
 */
TEST_F_TIMEOUT(ops, free_racing_commands_on_one_handle, 600)
{
	/* A minute on the debug kernel beside other guests at 5000. */
	unsigned int rounds = debug_kernel() ? 3000 : 5000;
	struct racer r = { .pool = self->pool };
	struct softmem_stats stats;
	pthread_t thread;
	unsigned int round;
	uint64_t h;

	ASSERT_EQ(0, pthread_create(&thread, NULL, race_commands, &r));
	for (round = 0; round < rounds; round++) {
		ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &h));
		atomic_store(&r.handle, h);
		ASSERT_EQ(0, softmem_free(self->pool, h));
	}
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	TH_LOG("%lu commands done, %lu found their handle gone", r.done,
	       r.gone);
	EXPECT_EQ(0, r.wrong) TH_LOG("%s", err_name(r.wrong_ret));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.regions);
	EXPECT_EQ(0, stats.length_bytes);
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(0, stats.suspended_bytes);
}

TEST_F(ops, stats_follow_regions)
{
	struct softmem_stats stats;
	uint64_t a, b;

	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.regions);
	EXPECT_EQ(0, stats.length_bytes);
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(0, stats.suspended_bytes);
	EXPECT_EQ(0, stats.discarded_bytes);
	EXPECT_EQ(0, stats.discard_events);

	a = filled_region(_metadata, self->pool, 3 * self->page, 25);
	ASSERT_EQ(0, softmem_alloc(self->pool, 5 * self->page, &b));
	ASSERT_EQ(0, softmem_write(self->pool, b, 0, "x", 1));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.regions);
	EXPECT_EQ(8 * self->page, stats.length_bytes);
	EXPECT_EQ(4 * self->page, stats.resident_bytes);
	EXPECT_EQ(0, stats.suspended_bytes);

	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(3 * self->page, stats.suspended_bytes);
	EXPECT_EQ(4 * self->page, stats.resident_bytes);

	ASSERT_EQ(0, softmem_free(self->pool, a));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.regions);
	EXPECT_EQ(5 * self->page, stats.length_bytes);
	EXPECT_EQ(self->page, stats.resident_bytes);
	EXPECT_EQ(0, stats.suspended_bytes);
}

TEST_F(ops, closed_pool_ebadf)
{
	uint64_t handle;
	int pool = softmem_open();

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, softmem_close(pool));
	EXPECT_EQ(-EBADF, softmem_alloc(pool, self->page, &handle));
	EXPECT_EQ(-EBADF, softmem_close(pool));
}

TEST_F(ops, open_honours_softmem_device)
{
	int pool;

	ASSERT_EQ(0, setenv("SOFTMEM_DEVICE", "/nonexistent/softmem", 1));
	EXPECT_EQ(-ENOENT, softmem_open());
	ASSERT_EQ(0, unsetenv("SOFTMEM_DEVICE"));
	pool = softmem_open();
	ASSERT_LE(0, pool);
	EXPECT_NE(0, fcntl(pool, F_GETFD) & FD_CLOEXEC);
	softmem_close(pool);
}

TEST_HARNESS_MAIN
