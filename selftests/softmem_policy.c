// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_policy: the order in which suspended regions are discarded.
 *
 * Each pool has a replacement policy, LRU (least recently suspended first,
 * the default) or FIFO (first allocated first), and each region a priority
 * class: the lowest class goes first, in every pool.  Pools of one class
 * give in proportion to what they have suspended.  Two discards of a known
 * size show the order: the pool's own limit, lowered (one pool), and the
 * manager's watermarks (every pool, through the reclaim lists).
 */
#include "softmem_test.h"

#define REGION_BYTES	(1 * MiB)
#define NR		8
/* Far above the manager's reaction time. */
#define WAIT_SECONDS	30

FIXTURE(policy) {
	int pool, other;
};

FIXTURE_SETUP(policy)
{
	SKIP_IF_NO_DEVICE();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	self->other = -1;
}

FIXTURE_TEARDOWN(policy)
{
	set_module_param("manager_high_bytes", 0);
	set_module_param("manager_low_bytes", 0);
	if (self->pool > 0)
		softmem_close(self->pool);
	if (self->other > 0)
		softmem_close(self->other);
}

/*
 * A region of REGION_BYTES in class @prio on node 0 (one reclaim list for
 * all), filled with @value.
 */
static uint64_t region(struct __test_metadata *_metadata, int pool,
		       unsigned int prio, int value)
{
	struct softmem_alloc arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_ALLOC_NODE | SOFTMEM_ALLOC_PRIORITY,
		.length = REGION_BYTES,
		.node = 0,
		.priority = prio,
	};

	EXPECT_EQ(0, softmem_raw_ioctl(pool, SOFTMEM_IOC_ALLOC, &arg));
	EXPECT_EQ(0, softmem_set(pool, arg.handle, 0, value, REGION_BYTES));
	return arg.handle;
}

/* Suspend h[order[0]], h[order[1]], ... in that order. */
static void suspend_in_order(struct __test_metadata *_metadata, int pool,
			     const uint64_t *h, const int *order, int n)
{
	int i;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, softmem_suspend(pool, h[order[i]]));
}

/* Resume every region; a bit per discarded one, by index. */
static unsigned int discarded_mask(struct __test_metadata *_metadata,
				   int pool, const uint64_t *h, int n)
{
	unsigned int mask = 0;
	int i, state;

	for (i = 0; i < n; i++) {
		state = region_resume_state(pool, h[i]);
		EXPECT_TRUE(state == SOFTMEM_INTACT ||
			    state == SOFTMEM_DISCARDED);
		if (state == SOFTMEM_DISCARDED)
			mask |= 1U << i;
	}
	return mask;
}

/* Lower the pool's limit by @bytes below what it holds. */
static void shrink_pool(struct __test_metadata *_metadata, int pool,
			uint64_t bytes)
{
	struct softmem_stats st;

	ASSERT_EQ(0, pool_stats(pool, &st));
	ASSERT_EQ(0, softmem_set_limit(pool, st.resident_bytes - bytes));
}

/*
 * Have the manager discard @bytes from every pool: both watermarks that
 * much under the module's resident bytes; wait until it has.
 */
static void manager_discard(struct __test_metadata *_metadata, uint64_t bytes)
{
	uint64_t resident, now;
	double deadline;

	ASSERT_EQ(0, module_stat("resident_bytes", &resident));
	ASSERT_EQ(0, set_module_param("manager_low_bytes", resident - bytes));
	ASSERT_EQ(0, set_module_param("manager_high_bytes", resident - bytes));
	deadline = now_seconds() + WAIT_SECONDS;
	do {
		usleep(10 * 1000);
		ASSERT_EQ(0, module_stat("resident_bytes", &now));
	} while (now > resident - bytes && now_seconds() < deadline);
	EXPECT_EQ(resident - bytes, now);
	ASSERT_EQ(0, set_module_param("manager_high_bytes", 0));
}

/* Suspended in an order unlike the allocation order. */
static const int suspend_order[NR] = { 5, 2, 7, 0, 3, 6, 1, 4 };

static void fill(struct __test_metadata *_metadata, int pool, uint64_t *h,
		 const unsigned int *prio)
{
	int i;

	for (i = 0; i < NR; i++)
		h[i] = region(_metadata, pool, prio ? prio[i] :
			      SOFTMEM_PRIORITY_DEFAULT, 1 + i);
	suspend_in_order(_metadata, pool, h, suspend_order, NR);
}

TEST_F(policy, policy_lru)
{
	uint64_t h[NR];
	struct softmem_stats st;

	ASSERT_EQ(0, pool_stats(self->pool, &st));
	EXPECT_EQ(SOFTMEM_POLICY_LRU, st.policy);

	/* Least recently suspended first: 5, 2, 7. */
	fill(_metadata, self->pool, h, NULL);
	shrink_pool(_metadata, self->pool, 3 * REGION_BYTES);
	EXPECT_EQ(1U << 5 | 1U << 2 | 1U << 7,
		  discarded_mask(_metadata, self->pool, h, NR));

	/* The same through the reclaim lists. */
	ASSERT_EQ(0, softmem_close(self->pool));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	fill(_metadata, self->pool, h, NULL);
	manager_discard(_metadata, 3 * REGION_BYTES);
	EXPECT_EQ(1U << 5 | 1U << 2 | 1U << 7,
		  discarded_mask(_metadata, self->pool, h, NR));
}

TEST_F(policy, policy_fifo)
{
	uint64_t h[NR];
	struct softmem_stats st;
	int i;

	ASSERT_EQ(-EINVAL, softmem_set_policy(self->pool, 2));
	ASSERT_EQ(0, softmem_set_policy(self->pool, SOFTMEM_POLICY_FIFO));
	ASSERT_EQ(0, pool_stats(self->pool, &st));
	EXPECT_EQ(SOFTMEM_POLICY_FIFO, st.policy);

	/* First allocated first, whenever suspended: 0, 1, 2. */
	fill(_metadata, self->pool, h, NULL);
	/* Changeable only while empty. */
	EXPECT_EQ(-EBUSY, softmem_set_policy(self->pool, SOFTMEM_POLICY_LRU));
	/* A resume and suspend does not move a region under FIFO. */
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	shrink_pool(_metadata, self->pool, 3 * REGION_BYTES);
	EXPECT_EQ(1U << 0 | 1U << 1 | 1U << 2,
		  discarded_mask(_metadata, self->pool, h, NR));

	/* The same through the reclaim lists. */
	ASSERT_EQ(0, softmem_close(self->pool));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, softmem_set_policy(self->pool, SOFTMEM_POLICY_FIFO));
	fill(_metadata, self->pool, h, NULL);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h[0]));
	ASSERT_EQ(0, softmem_suspend(self->pool, h[0]));
	manager_discard(_metadata, 3 * REGION_BYTES);
	EXPECT_EQ(1U << 0 | 1U << 1 | 1U << 2,
		  discarded_mask(_metadata, self->pool, h, NR));

	/* Emptied again, the pool may change its policy. */
	for (i = 0; i < NR; i++)
		ASSERT_EQ(0, softmem_free(self->pool, h[i]));
	EXPECT_EQ(0, softmem_set_policy(self->pool, SOFTMEM_POLICY_LRU));
}

TEST_F(policy, policy_priority)
{
	static const unsigned int prio[NR] = { 3, 0, 2, 1, 3, 0, 2, 1 };
	uint64_t h[NR], a, b[2];
	int i;

	/* Class 0 (1, 5) and class 1 (3, 7) before any older region. */
	fill(_metadata, self->pool, h, prio);
	shrink_pool(_metadata, self->pool, 4 * REGION_BYTES);
	EXPECT_EQ(1U << 1 | 1U << 5 | 1U << 3 | 1U << 7,
		  discarded_mask(_metadata, self->pool, h, NR));

	/* A region moved to class 0 goes before class 2 and 3. */
	for (i = 0; i < NR; i++)
		ASSERT_EQ(0, softmem_suspend(self->pool, h[i]));
	ASSERT_EQ(0, softmem_set_priority(self->pool, h[6], 0));
	EXPECT_EQ(-EINVAL, softmem_set_priority(self->pool, h[6],
						SOFTMEM_NR_PRIORITIES));
	EXPECT_EQ(-ENOENT, softmem_set_priority(self->pool, 1 << 30, 0));
	shrink_pool(_metadata, self->pool, REGION_BYTES);
	EXPECT_EQ(1U << 6, discarded_mask(_metadata, self->pool, h, NR));

	/*
	 * Across pools: an older region of class 3 in one pool outlives a
	 * newer one of class 1 in another.
	 */
	ASSERT_EQ(0, softmem_close(self->pool));
	self->pool = softmem_open();
	self->other = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_LE(0, self->other);
	a = region(_metadata, self->pool, 3, 1);
	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	for (i = 0; i < 2; i++) {
		b[i] = region(_metadata, self->other, 1, 2 + i);
		ASSERT_EQ(0, softmem_suspend(self->other, b[i]));
	}
	manager_discard(_metadata, 2 * REGION_BYTES);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, a));
	EXPECT_EQ(3, discarded_mask(_metadata, self->other, b, 2));
}

TEST_F(policy, fairness)
{
	uint64_t a[12], b[4];
	int i, order[12];

	/*
	 * Pool b suspends first, so its regions are the oldest; pool a holds
	 * three times as much.  8 regions discarded: 6 of a, 2 of b, each
	 * pool's oldest.
	 */
	self->other = softmem_open();
	ASSERT_LE(0, self->other);
	for (i = 0; i < 4; i++) {
		b[i] = region(_metadata, self->other, SOFTMEM_PRIORITY_DEFAULT,
			      20 + i);
		order[i] = i;
	}
	suspend_in_order(_metadata, self->other, b, order, 4);
	for (i = 0; i < 12; i++) {
		a[i] = region(_metadata, self->pool, SOFTMEM_PRIORITY_DEFAULT,
			      1 + i);
		order[i] = i;
	}
	suspend_in_order(_metadata, self->pool, a, order, 12);

	manager_discard(_metadata, 8 * REGION_BYTES);
	EXPECT_EQ(0x3f, discarded_mask(_metadata, self->pool, a, 12));
	EXPECT_EQ(0x3, discarded_mask(_metadata, self->other, b, 4));
}

TEST_HARNESS_MAIN
