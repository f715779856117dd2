// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_manager: the worker that discards ahead of pressure.
 *
 * Watermarks: past manager_high_bytes of resident softmem, suspended
 * regions go until manager_low_bytes is reached, and none below it.
 * Free-memory threshold: while MemAvailable is under manager_free_bytes,
 * suspended regions go, so that a process taking memory finds it free
 * instead of stalling in direct reclaim (allocstall in /proc/vmstat) to get
 * it from softmem.  Waits are bounded (seconds, far above the worker's
 * period), never timed assertions.
 */
#include "softmem_test.h"

#define REGION_BYTES	(4 * MiB)
#define NR_REGIONS	48
/* Far above the worker's period (manager_interval_ms, 100 ms). */
#define WAIT_SECONDS	120

static const char *const manager_params[] = {
	"manager_high_bytes", "manager_low_bytes", "manager_free_bytes",
};

FIXTURE(manager) {
	int pool;
	uint64_t h[NR_REGIONS];
};

/* The manager off: its default, and where each test starts and ends. */
static void manager_off(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(manager_params) / sizeof(*manager_params); i++)
		set_module_param(manager_params[i], 0);
}

FIXTURE_SETUP(manager)
{
	SKIP_IF_NO_DEVICE();
	/* A test stopped by its timeout had no teardown. */
	manager_off();
	ASSERT_EQ(0, set_oom_score_adj(-1000));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(manager)
{
	manager_off();
	if (self->pool > 0)
		softmem_close(self->pool);
}

static uint64_t resident(struct __test_metadata *_metadata,
			 FIXTURE_DATA(manager) *self)
{
	struct softmem_stats st;

	EXPECT_EQ(0, pool_stats(self->pool, &st));
	return st.resident_bytes;
}

/*
 * Write regions @from to @to - 1 (REGION_BYTES each, on node 0, so that
 * they are on one reclaim list, in order), and suspend them if @suspend.
 */
static void fill(struct __test_metadata *_metadata,
		 FIXTURE_DATA(manager) *self, int from, int to, bool suspend)
{
	int i;

	for (i = from; i < to; i++) {
		ASSERT_EQ(0, softmem_alloc_on_node(self->pool, REGION_BYTES, 0,
						   &self->h[i]));
		ASSERT_EQ(0, softmem_set(self->pool, self->h[i], 0, 1 + i,
					 REGION_BYTES));
		if (suspend)
			ASSERT_EQ(0, softmem_suspend(self->pool, self->h[i]));
	}
}

/* Total of allocstall_* in /proc/vmstat: direct reclaim entries. */
static uint64_t allocstalls(void)
{
	FILE *f = fopen("/proc/vmstat", "re");
	unsigned long long n, sum = 0;
	char key[64];

	if (!f)
		return 0;
	while (fscanf(f, "%63s %llu", key, &n) == 2)
		if (!strncmp(key, "allocstall_", strlen("allocstall_")))
			sum += n;
	fclose(f);
	return sum;
}

/*
 * Wait (a bounded time) until the pool's resident bytes are at least @lo
 * and at most @hi; returns them once they have stayed a while.
 */
static uint64_t wait_resident_between(struct __test_metadata *_metadata,
				      FIXTURE_DATA(manager) *self,
				      uint64_t lo, uint64_t hi)
{
	double deadline = now_seconds() + WAIT_SECONDS;
	uint64_t now;

	while (((now = resident(_metadata, self)) < lo || now > hi) &&
	       now_seconds() < deadline)
		usleep(10 * 1000);
	/* And it stays there: nothing more goes. */
	usleep(300 * 1000);
	return resident(_metadata, self);
}

/* Wait (a bounded time) until the pool's resident bytes are @want. */
static uint64_t wait_resident(struct __test_metadata *_metadata,
			      FIXTURE_DATA(manager) *self, uint64_t want)
{
	return wait_resident_between(_metadata, self, want, want);
}

/* Regions @from to @to - 1 report @state on resume. */
static void expect_states(struct __test_metadata *_metadata,
			  FIXTURE_DATA(manager) *self, int from, int to,
			  int state)
{
	int i;

	for (i = from; i < to; i++) {
		EXPECT_EQ(state, region_resume_state(self->pool, self->h[i]))
			TH_LOG("region %d", i);
	}
}

TEST_F_TIMEOUT(manager, manager_watermark, 600)
{
	const uint64_t high = 64 * MiB, low = 40 * MiB;
	uint64_t now;
	int extra;

	/* 80 MiB suspended; setting the marks under it wakes the worker. */
	fill(_metadata, self, 0, 20, true);
	ASSERT_EQ(0, set_module_param("manager_low_bytes", low));
	ASSERT_EQ(0, set_module_param("manager_high_bytes", high));
	EXPECT_EQ(low, wait_resident(_metadata, self, low));

	/* Up to the high mark: nothing happens. */
	fill(_metadata, self, 20, 26, true);
	EXPECT_EQ(high, wait_resident(_metadata, self, high));

	/*
	 * Past it by a resumed region: down to the low mark at that moment,
	 * the oldest suspended regions first, whole regions that fit in
	 * what is over it.  The worker wakes at the region's first page: if
	 * it runs while the region is being written, six regions and part
	 * of one are over, six go, and the region grows on to the low mark
	 * and a region; if it runs after (a loaded host), seven are over
	 * and go.  Which depends on the host's speed: either is right.
	 */
	fill(_metadata, self, 26, 27, false);
	now = wait_resident_between(_metadata, self, low, low + REGION_BYTES);
	TH_LOG("resident after the worker: %llu MiB",
	       (unsigned long long)(now / MiB));
	EXPECT_TRUE(now == low || now == low + REGION_BYTES);
	extra = now == low;
	expect_states(_metadata, self, 0, 16 + extra, SOFTMEM_DISCARDED);
	expect_states(_metadata, self, 16 + extra, 27, SOFTMEM_INTACT);
}

/* Workers that take memory at once, one per CPU of the test guest. */
#define TAKERS		2

/*
 * Takes @bytes 4 MiB at a time, each step populated in one call
 * (MADV_POPULATE_WRITE, or written where the kernel lacks it), after waiting
 * (a bounded time) for MemAvailable to be back above @wait_for.  Exits.
 */
static void take_share(uint64_t bytes, uint64_t wait_for)
{
	const uint64_t step = 4 * MiB;
	uint64_t done;
	char *p;

	p = oom_victim_map(bytes);
	if (p == MAP_FAILED)
		_exit(1);
	for (done = 0; done + step <= bytes; done += step) {
		double deadline = now_seconds() + 5;

		while (meminfo_bytes("MemAvailable") < wait_for &&
		       now_seconds() < deadline)
			usleep(10 * 1000);
		populate(p + done, step);
	}
	_exit(0);
}

/*
 * TAKERS children take @take bytes between them (take_share()), as quickly
 * as processes can and on every CPU at once, for kswapd to keep up with.
 * The manager, when on, restores MemAvailable above @wait_for between
 * their steps.  Returns the allocstall count they caused.
 */
static uint64_t take_memory(struct __test_metadata *_metadata, uint64_t take,
			    uint64_t wait_for)
{
	uint64_t before = allocstalls();
	pid_t child[TAKERS];
	int i;

	for (i = 0; i < TAKERS; i++) {
		child[i] = fork();
		ASSERT_LE(0, child[i]);
		if (!child[i])
			take_share(take / TAKERS, wait_for);
	}
	for (i = 0; i < TAKERS; i++)
		EXPECT_EQ(0, wait_child(child[i]));
	return allocstalls() - before;
}

TEST_F_TIMEOUT(manager, manager_free_threshold, 900)
{
	const uint64_t threshold = 32 * MiB, need = 32 * MiB;
	uint64_t take, available, free_above_min, mins, other;
	uint64_t stalls_on, stalls_off, discarded;
	struct softmem_stats st;
	int n = NR_REGIONS;

	/*
	 * 192 MiB of suspended cache, and processes that take all that is
	 * available and 32 MiB more, which only softmem can give.  What is
	 * available: MemAvailable, or the memory free above the min marks and
	 * the page cache and reclaimable slab if more.  MemAvailable keeps
	 * the low marks back, which carry the boost an earlier test's
	 * fragmentation left (softmem_huge's), and counts only part of the
	 * rest: taking MemAvailable and 16 MiB then fitted in what reclaim
	 * found elsewhere, and nothing was discarded (6.1, and once 6.12).
	 */
	fill(_metadata, self, 0, n, true);
	wait_nodes_balanced(10);
	available = meminfo_bytes("MemAvailable");
	free_above_min = meminfo_bytes("MemFree");
	mins = zoneinfo_sum(-1, "min");
	free_above_min = free_above_min > mins ? free_above_min - mins : 0;
	/* Page cache and slab that reclaim may give before softmem. */
	other = meminfo_bytes("Active(file)") + meminfo_bytes("Inactive(file)") +
		meminfo_bytes("SReclaimable");
	take = available > free_above_min + other ? available :
						   free_above_min + other;
	TH_LOG("MemAvailable %llu MiB, free above the min marks %llu MiB, file and reclaimable slab %llu MiB: taking %llu MiB",
	       (unsigned long long)(available / MiB),
	       (unsigned long long)(free_above_min / MiB),
	       (unsigned long long)(other / MiB),
	       (unsigned long long)((take + need) / MiB));
	take = (take + need) & ~(4 * MiB - 1);

	ASSERT_EQ(0, set_module_param("manager_free_bytes", threshold));
	stalls_on = take_memory(_metadata, take, threshold - 8 * MiB);
	ASSERT_EQ(0, pool_stats(self->pool, &st));
	discarded = st.discarded_bytes;
	ASSERT_EQ(0, set_module_param("manager_free_bytes", 0));
	TH_LOG("manager on: %llu MiB discarded ahead, %llu allocation stalls",
	       (unsigned long long)(discarded / MiB),
	       (unsigned long long)stalls_on);
	/*
	 * Other reclaimable memory (MemAvailable counts it) may give part
	 * of the need: at least a region came from softmem, ahead.
	 */
	EXPECT_LE(REGION_BYTES, discarded);
	EXPECT_EQ(0, stalls_on);
	/* Nothing resident needs the memory back: the cache was spared. */
	EXPECT_GT(n * REGION_BYTES, discarded);

	/*
	 * The same with the manager off: kswapd and direct reclaim get it.
	 * How often the takers stall depends on how kswapd keeps up with
	 * them, which is the host's speed: reported, not judged (0 to 5 in
	 * the test guest; discarding a region is quick).
	 */
	ASSERT_EQ(0, softmem_close(self->pool));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	fill(_metadata, self, 0, n, true);
	stalls_off = take_memory(_metadata, take, 0);
	TH_LOG("manager off: %llu allocation stalls", (unsigned long long)stalls_off);
}

/* A value that is no number changes nothing and wakes no worker. */
TEST_F(manager, bad_value_refused)
{
	uint64_t value;

	ASSERT_EQ(0, set_module_param("manager_high_bytes", 4 * MiB));
	EXPECT_NE(0, write_file(SOFTMEM_SYSFS_PARAMS "/manager_high_bytes",
				"lots"));
	ASSERT_EQ(0, module_param("manager_high_bytes", &value));
	EXPECT_EQ(4 * MiB, value);
}

/*
 * Marks the worker reads but that ask for nothing: a low mark above the
 * footprint (set above the high one), and a free-memory threshold below
 * what is available, which the worker keeps checking every interval, the
 * shortest (an interval of 0 ms counts as 1).  Nothing is discarded.
 */
TEST_F(manager, marks_that_ask_nothing_discard_nothing)
{
	uint64_t interval;

	fill(_metadata, self, 0, 2, true);
	ASSERT_EQ(0, module_param("manager_interval_ms", &interval));
	ASSERT_EQ(0, set_module_param("manager_interval_ms", 0));
	ASSERT_EQ(0, set_module_param("manager_low_bytes", 1024 * MiB));
	ASSERT_EQ(0, set_module_param("manager_high_bytes", 1 * MiB));
	ASSERT_EQ(0, set_module_param("manager_free_bytes", 1 * MiB));
	/* Many of the worker's intervals. */
	usleep(200 * 1000);
	EXPECT_EQ(2 * REGION_BYTES, resident(_metadata, self));
	manager_off();
	EXPECT_EQ(0, set_module_param("manager_interval_ms", interval));
	expect_states(_metadata, self, 0, 2, SOFTMEM_INTACT);
}

/*
 * Both rules at once, the watermarks asking more than the free-memory
 * threshold: the worker takes the larger target, and with nothing
 * suspended discards nothing.  The threshold is 8 MiB above what is
 * available, the watermarks ask 24 MiB; each parameter written wakes the
 * worker.  With the threshold off again the regions are suspended: the
 * watermarks alone take them down to the low mark, oldest first, and no
 * further.  (With the threshold still on, what is available after a
 * discard decides how far the worker goes: not a state to assert.)
 */
TEST_F_TIMEOUT(manager, watermarks_above_free_threshold, 300)
{
	const uint64_t mark = 2 * REGION_BYTES;
	int i;

	fill(_metadata, self, 0, 8, false);
	ASSERT_EQ(0, set_module_param("manager_low_bytes", mark));
	ASSERT_EQ(0, set_module_param("manager_free_bytes",
				      meminfo_bytes("MemAvailable") + 8 * MiB));
	ASSERT_EQ(0, set_module_param("manager_high_bytes", mark));
	/* A moment for the worker: nothing resumed goes. */
	usleep(200 * 1000);
	EXPECT_EQ(8 * REGION_BYTES, resident(_metadata, self));
	ASSERT_EQ(0, set_module_param("manager_free_bytes", 0));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, softmem_suspend(self->pool, self->h[i]));
	EXPECT_EQ(mark, wait_resident(_metadata, self, mark));
	manager_off();
	expect_states(_metadata, self, 0, 6, SOFTMEM_DISCARDED);
	expect_states(_metadata, self, 6, 8, SOFTMEM_INTACT);
}

TEST_HARNESS_MAIN
