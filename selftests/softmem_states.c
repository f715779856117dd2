// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_states: resumed, suspended and discarded regions.
 *
 * `echo 2 > /proc/sys/vm/drop_caches` runs every shrinker, which discards
 * every suspended region that has pages; resume then reports the loss once.
 * Data operations on a discarded region fail with ESTALE and change nothing;
 * on a suspended intact region they resume it implicitly.
 *
 * Every test runs twice: with suspend and resume as ioctls ("ioctl"), and
 * through the pool's state words, without a system call unless the kernel
 * has a loss to report ("lockfree", see softmem_words.c).
 */
#include "softmem_test.h"

#include <pthread.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>

#define REGION_PAGES	4
#define OP_LENGTH	200
#define TARGET_SEED	1
#define OTHER_SEED	2
#define FILL_BYTE	0x77

FIXTURE(states) {
	int pool;
	size_t page;
};

FIXTURE_VARIANT(states) {
	bool lockfree;
};

FIXTURE_VARIANT_ADD(states, ioctl) {};
FIXTURE_VARIANT_ADD(states, lockfree) { .lockfree = true };

FIXTURE_SETUP(states)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	if (variant->lockfree)
		ASSERT_EQ(0, softmem_lockfree(self->pool, LOCKFREE_HANDLES));
}

FIXTURE_TEARDOWN(states)
{
	if (self->pool > 0)
		softmem_close(self->pool);
}

TEST_F(states, new_region_is_resumed)
{
	struct softmem_stats stats;
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 1, &h));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 0),
		  stats.suspended_bytes);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 2 * self->page, 1));
}

TEST_F(states, suspend_resume_without_pressure_intact)
{
	uint64_t length = 4 * MiB + 3 * self->page, h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 2, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, 2));
}

TEST_F(states, suspend_twice_changes_nothing)
{
	struct softmem_stats stats;
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 3 * self->page, 3, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 3 * self->page),
		  stats.suspended_bytes);
	EXPECT_EQ(3 * self->page, stats.resident_bytes);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 0),
		  stats.suspended_bytes);
	/* One resume undoes any number of suspends. */
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 3 * self->page, 3));
}

TEST_F(states, suspended_bytes_follow_state)
{
	struct softmem_stats stats;
	uint64_t a, b;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 4, &a));
	ASSERT_EQ(0, softmem_alloc(self->pool, 8 * self->page, &b));
	ASSERT_EQ(0, region_write_pattern(self->pool, b, self->page,
					  3 * self->page, 4));
	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	ASSERT_EQ(0, softmem_suspend(self->pool, b));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 5 * self->page),
		  stats.suspended_bytes);
	EXPECT_EQ(5 * self->page, stats.resident_bytes);
	EXPECT_EQ(10 * self->page, stats.length_bytes);

	ASSERT_EQ(0, softmem_resume(self->pool, a, NULL));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 3 * self->page),
		  stats.suspended_bytes);
}

TEST_F(states, drop_caches_discards_only_suspended)
{
	uint64_t suspended[3], resumed[2], length = 5 * self->page;
	struct softmem_stats stats;
	int i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->pool, length, 10 + i,
						 &suspended[i]));
		ASSERT_EQ(0, softmem_suspend(self->pool, suspended[i]));
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->pool, length, 20 + i,
						 &resumed[i]));
	}
	ASSERT_EQ(0, drop_caches());

	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(5, stats.regions);
	EXPECT_EQ(5 * length, stats.length_bytes);
	EXPECT_EQ(2 * length, stats.resident_bytes);
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 0),
		  stats.suspended_bytes);
	EXPECT_EQ(3 * length, stats.discarded_bytes);
	EXPECT_EQ(3, stats.discard_events);

	for (i = 0; i < 3; i++) {
		EXPECT_EQ(SOFTMEM_DISCARDED,
			  region_resume_state(self->pool, suspended[i]));
		EXPECT_EQ(1, region_matches(self->pool, suspended[i], 0,
					    length, REGION_ZERO));
	}
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(SOFTMEM_INTACT,
			  region_resume_state(self->pool, resumed[i]));
		EXPECT_EQ(1, region_matches(self->pool, resumed[i], 0, length,
					    20 + i));
	}
}

TEST_F(states, discard_reported_once)
{
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 5, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
}

TEST_F(states, suspend_discarded_changes_nothing)
{
	struct softmem_stats stats;
	uint8_t byte;
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 6, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(-ESTALE, softmem_read(self->pool, h, 0, &byte, 1));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.discard_events);
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
}

TEST_F(states, discarded_region_usable_after_resume)
{
	struct softmem_stats stats;
	uint64_t h, length = 6 * self->page;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 7, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(length, stats.length_bytes);
	EXPECT_EQ(0, stats.resident_bytes);

	/* Same length, whole range addressable, reads zeros until written. */
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 2 * self->page,
					  4 * self->page, 8));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 2 * self->page,
				    REGION_ZERO));
	EXPECT_EQ(1, region_matches(self->pool, h, 2 * self->page,
				    4 * self->page, 8));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(4 * self->page, stats.resident_bytes);

	/* It can be suspended and discarded again. */
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.discard_events);
	EXPECT_EQ(length + 4 * self->page, stats.discarded_bytes);
}

TEST_F(states, resumed_after_suspend_survives_drop_caches)
{
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 8 * self->page, 9, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 8 * self->page, 9));
}

TEST_F(states, free_suspended_and_discarded)
{
	struct softmem_stats stats;
	uint64_t a, b;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 10, &a));
	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 11, &b));
	ASSERT_EQ(0, softmem_suspend(self->pool, b));

	EXPECT_EQ(0, softmem_free(self->pool, a));
	EXPECT_EQ(0, softmem_free(self->pool, b));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.regions);
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 0),
		  stats.suspended_bytes);
	EXPECT_EQ(1, stats.discard_events);
}

TEST_F(states, module_stats_count_discards)
{
	uint64_t events, bytes, suspended, events_after, bytes_after;
	uint64_t length = 7 * self->page, h;

	ASSERT_EQ(0, module_stat("discard_events", &events));
	ASSERT_EQ(0, module_stat("discarded_bytes", &bytes));
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 12, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, module_stat("suspended_bytes", &suspended));
	EXPECT_EQ(length, suspended);
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, module_stat("discard_events", &events_after));
	ASSERT_EQ(0, module_stat("discarded_bytes", &bytes_after));
	EXPECT_EQ(events + 1, events_after);
	EXPECT_EQ(bytes + length, bytes_after);
	ASSERT_EQ(0, module_stat("suspended_bytes", &suspended));
	EXPECT_EQ(0, suspended);
}

/*
 * Race resume against reclaim: whenever resume reports INTACT the data must
 * be there, whenever it reports DISCARDED the region must read as zeros.
 */
TEST_F_TIMEOUT(states, resume_atomic_with_reclaim, 120)
{
	uint64_t length = 16 * self->page, h;
	unsigned int intact = 0, discarded = 0, round;
	double deadline = now_seconds() + 20;
	pid_t reclaimer;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 13, &h));
	reclaimer = fork();
	ASSERT_LE(0, reclaimer);
	if (!reclaimer) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			drop_caches();
	}

	for (round = 0; now_seconds() < deadline; round++) {
		int state;

		ASSERT_EQ(0, softmem_suspend(self->pool, h));
		if (round & 1)
			usleep(2000);
		state = region_resume_state(self->pool, h);
		if (state == SOFTMEM_INTACT) {
			intact++;
			ASSERT_EQ(1, region_matches(self->pool, h, 0, length,
						    13))
				TH_LOG("round %u: INTACT but data lost",
				       round);
		} else {
			ASSERT_EQ(SOFTMEM_DISCARDED, state);
			discarded++;
			ASSERT_EQ(1, region_matches(self->pool, h, 0, length,
						    REGION_ZERO))
				TH_LOG("round %u: DISCARDED but not zero",
				       round);
			ASSERT_EQ(0, region_write_pattern(self->pool, h, 0,
							  length, 13));
		}
		if (intact >= 50 && discarded >= 50)
			break;
	}
	kill(reclaimer, SIGKILL);
	wait_child(reclaimer);
	TH_LOG("%u rounds: %u intact, %u discarded", round, intact, discarded);
	EXPECT_LT(0, intact);
	EXPECT_LT(0, discarded);
}

/*
 * One variant per data operation, each run on the "target" region, with a
 * second "other" region where the operation takes two.
 */
enum data_op {
	OP_READ,
	OP_WRITE,
	OP_COPY_TO,	/* target is the destination */
	OP_COPY_FROM,	/* target is the source */
	OP_MOVE_TO,
	OP_MOVE_FROM,
	OP_SET,
	OP_COMPARE,	/* target is the first operand */
	OP_COMPARE_WITH,	/* target is the second operand */
	OP_COMPARE_BUF,
	OP_FIND,
};

struct reader {
	int pool;
	uint64_t handle;
	void *buf;
	uint64_t length;
	int ret;
	int uffd;		/* the buffer's userfaultfd, or -errno */
	pthread_t thread;
};

static void *read_region(void *arg)
{
	struct reader *r = arg;

	r->ret = softmem_read(r->pool, r->handle, 0, r->buf, r->length);
	return NULL;
}

/*
 * Starts a READ of a new region of @length bytes holding @seed, in another
 * thread, into a buffer under userfaultfd, and waits until it stops at the
 * buffer's first fault.  @r->uffd is -errno if the kernel has no
 * userfaultfd, and nothing is started then.
 */
static void reader_stop_at_fault(struct __test_metadata *_metadata, int pool,
				 uint64_t length, unsigned int seed,
				 struct reader *r)
{
	struct uffd_msg msg;

	r->buf = mmap(NULL, length, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r->buf);
	r->uffd = uffd_watch_missing(_metadata, r->buf, length);
	if (r->uffd < 0)
		return;

	ASSERT_EQ(0, region_alloc_filled(pool, length, seed, &r->handle));
	r->pool = pool;
	r->length = length;
	ASSERT_EQ(0, pthread_create(&r->thread, NULL, read_region, r));
	ASSERT_EQ(sizeof(msg), read(r->uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
}

/*
 * A READ that has found its region usable keeps it: reclaim cannot discard
 * the region while the READ faults in its buffer.  The buffer is under
 * userfaultfd, so the READ stops at its first fault until the test, having
 * suspended the region and run every shrinker meanwhile, supplies the page.
 */
TEST_F_TIMEOUT(states, read_pins_region_while_faulting_in_buffer, 60)
{
	uint64_t length = 4 * self->page, h;
	struct uffdio_copy copy = { 0 };
	struct reader r;
	void *zeros;

	reader_stop_at_fault(_metadata, self->pool, length, 21, &r);
	if (r.uffd < 0)
		SKIP(return, "no userfaultfd (%s): kernel without CONFIG_USERFAULTFD",
		     strerror(-r.uffd));
	h = r.handle;
	zeros = calloc(1, length);
	ASSERT_NE(NULL, zeros);

	/* The READ is inside its fault-in now: suspend, and reclaim all. */
	EXPECT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(0, drop_caches());

	copy.dst = (uintptr_t)r.buf;
	copy.src = (uintptr_t)zeros;
	copy.len = length;
	ASSERT_EQ(0, ioctl(r.uffd, UFFDIO_COPY, &copy));
	ASSERT_EQ(0, pthread_join(r.thread, NULL));

	EXPECT_EQ(0, r.ret) TH_LOG("READ failed: %s", err_name(r.ret));
	for (uint64_t i = 0; i < length; i++)
		if (((uint8_t *)r.buf)[i] != pattern_byte(i, 21)) {
			EXPECT_EQ(pattern_byte(i, 21), ((uint8_t *)r.buf)[i])
				TH_LOG("byte %llu", (unsigned long long)i);
			break;
		}
	/* The READ took the region back into use: nothing was lost. */
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	close(r.uffd);
	munmap(r.buf, length);
	free(zeros);
}

/*
 * A READ whose handle is freed while it faults in its buffer fails with
 * ENOENT and lets the region go once: the region, still held through an
 * exported descriptor, is discardable again.  (It used to be let go twice,
 * its count of operations in flight wrapped, and reclaim never took it; or,
 * with another operation in flight, took it under that operation.)
 */
TEST_F_TIMEOUT(states, read_whose_handle_is_freed_lets_region_go_once, 60)
{
	uint64_t length = 2 * self->page, h, again;
	struct uffdio_copy copy = { 0 };
	struct uffd_msg msg;
	struct reader r;
	pthread_t thread;
	void *zeros;
	int uffd, fd;

	r.buf = mmap(NULL, length, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	zeros = calloc(1, length);
	ASSERT_NE(MAP_FAILED, r.buf);
	ASSERT_NE(NULL, zeros);
	uffd = uffd_watch_missing(_metadata, r.buf, length);
	if (uffd < 0)
		SKIP(return, "no userfaultfd (%s): kernel without CONFIG_USERFAULTFD",
		     strerror(-uffd));

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 22, &h));
	fd = softmem_export(self->pool, h, 0);
	ASSERT_LE(0, fd);
	r.pool = self->pool;
	r.handle = h;
	r.length = length;
	ASSERT_EQ(0, pthread_create(&thread, NULL, read_region, &r));

	/* The READ is inside its copy: free its handle under it. */
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(0, softmem_free(self->pool, h));
	copy.dst = (uintptr_t)r.buf;
	copy.src = (uintptr_t)zeros;
	copy.len = length;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(-ENOENT, r.ret);

	/* Nothing holds it in use now: suspended, it is discarded. */
	ASSERT_EQ(0, softmem_import(self->pool, fd, &again, NULL));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, again));
	close(fd);
	close(uffd);
	munmap(r.buf, length);
	free(zeros);
}

/*
 * A READ or a compare with a user buffer that fails with EFAULT changes no
 * state: here the buffer's second page is unmapped, so the operation has
 * read the region's first page when it fails.  The region stays suspended,
 * and drop_caches can discard it.
 */
TEST_F(states, read_into_half_unmapped_buffer_leaves_suspended)
{
	uint64_t length = 2 * self->page, h;
	struct softmem_stats stats;
	int result = 99;
	uint8_t *buf;

	buf = mmap(NULL, length, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, munmap(buf + self->page, self->page));
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 22, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));

	EXPECT_EQ(-EFAULT, softmem_read(self->pool, h, 0, buf, length));
	/* The first page now matches: the compare reaches the second. */
	EXPECT_EQ(-EFAULT, softmem_compare_buf(self->pool, h, 0, buf, length,
					       &result));
	EXPECT_EQ(-EFAULT, softmem_read(self->pool, h, self->page - 8,
					buf + self->page - 8, 16));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, length),
		  stats.suspended_bytes);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	munmap(buf, self->page);
}

/*
 * A READ that has found its region usable and fails with EFAULT after a
 * SUSPEND from another thread leaves the SUSPEND in effect: the READ stops
 * at its buffer's first fault (userfaultfd), the test suspends the region,
 * checks that reclaim leaves the pinned region alone, then unmaps the
 * buffer and lets the READ go on, into EFAULT.
 */
TEST_F_TIMEOUT(states, read_efault_after_suspend_leaves_suspended, 60)
{
	uint64_t length = 4 * self->page, h;
	struct softmem_stats stats;
	struct uffdio_range wake;
	struct reader r;

	reader_stop_at_fault(_metadata, self->pool, length, 23, &r);
	if (r.uffd < 0)
		SKIP(return, "no userfaultfd (%s): kernel without CONFIG_USERFAULTFD",
		     strerror(-r.uffd));
	h = r.handle;
	EXPECT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(0, drop_caches());
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(0, stats.discard_events);

	ASSERT_EQ(0, munmap(r.buf, length));
	wake.start = (uintptr_t)r.buf;
	wake.len = length;
	ASSERT_EQ(0, ioctl(r.uffd, UFFDIO_WAKE, &wake));
	ASSERT_EQ(0, pthread_join(r.thread, NULL));

	EXPECT_EQ(-EFAULT, r.ret) TH_LOG("READ gave %s", err_name(r.ret));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, length),
		  stats.suspended_bytes);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	close(r.uffd);
}

FIXTURE(data_op) {
	int pool;
	size_t page;
	uint64_t target;	/* TARGET_SEED over REGION_PAGES */
	uint64_t other;		/* OTHER_SEED over REGION_PAGES */
	uint8_t buf[OP_LENGTH];
	int result;		/* compare */
	int64_t position;	/* find */
};

FIXTURE_VARIANT(data_op) {
	enum data_op op;
	bool uses_other;
	bool lockfree;
};

/* Each operation with suspend and resume as ioctls, then lock-free. */
#define DATA_OP(name, ...) \
	FIXTURE_VARIANT_ADD(data_op, name) { __VA_ARGS__ }; \
	FIXTURE_VARIANT_ADD(data_op, name##_lockfree) { __VA_ARGS__, \
						       .lockfree = true }

DATA_OP(read, .op = OP_READ);
DATA_OP(write, .op = OP_WRITE);
DATA_OP(copy_to, .op = OP_COPY_TO, .uses_other = 1);
DATA_OP(copy_from, .op = OP_COPY_FROM, .uses_other = 1);
DATA_OP(move_to, .op = OP_MOVE_TO, .uses_other = 1);
DATA_OP(move_from, .op = OP_MOVE_FROM, .uses_other = 1);
DATA_OP(set, .op = OP_SET);
DATA_OP(compare, .op = OP_COMPARE, .uses_other = 1);
DATA_OP(compare_with, .op = OP_COMPARE_WITH, .uses_other = 1);
DATA_OP(compare_buf, .op = OP_COMPARE_BUF);
DATA_OP(find, .op = OP_FIND);

FIXTURE_SETUP(data_op)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	if (variant->lockfree)
		ASSERT_EQ(0, softmem_lockfree(self->pool, LOCKFREE_HANDLES));
	ASSERT_EQ(0, region_alloc_filled(self->pool, REGION_PAGES * self->page,
					 TARGET_SEED, &self->target));
	ASSERT_EQ(0, region_alloc_filled(self->pool, REGION_PAGES * self->page,
					 OTHER_SEED, &self->other));
	memset(self->buf, FILL_BYTE, sizeof(self->buf));
	self->result = 99;
	self->position = 99;
}

FIXTURE_TEARDOWN(data_op)
{
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* The operation on [offset, offset + length) of the target. */
static uint64_t op_offset(FIXTURE_DATA(data_op) *self)
{
	return self->page - OP_LENGTH / 2;	/* straddles a page boundary */
}

static int run_op(FIXTURE_DATA(data_op) *self, enum data_op op,
		  uint64_t length)
{
	uint64_t t = self->target, o = self->other, off = op_offset(self);
	int pool = self->pool;

	switch (op) {
	case OP_READ:
		return softmem_read(pool, t, off, self->buf, length);
	case OP_WRITE:
		return softmem_write(pool, t, off, self->buf, length);
	case OP_COPY_TO:
		return softmem_copy(pool, t, off, o, off, length);
	case OP_COPY_FROM:
		return softmem_copy(pool, o, off, t, off, length);
	case OP_MOVE_TO:
		return softmem_move(pool, t, off, o, off, length);
	case OP_MOVE_FROM:
		return softmem_move(pool, o, off, t, off, length);
	case OP_SET:
		return softmem_set(pool, t, off, FILL_BYTE, length);
	case OP_COMPARE:
		return softmem_compare(pool, t, off, o, off, length,
				       &self->result);
	case OP_COMPARE_WITH:
		return softmem_compare(pool, o, off, t, off, length,
				       &self->result);
	case OP_COMPARE_BUF:
		return softmem_compare_buf(pool, t, off, self->buf, length,
					   &self->result);
	case OP_FIND:
		return softmem_find(pool, t, off, length,
				    pattern_byte(off + 150, TARGET_SEED),
				    &self->position);
	}
	return -EINVAL;
}

/* Expected byte @pos of the target (or other) after a successful op. */
static uint8_t expected_byte(enum data_op op, bool target, uint64_t pos,
			     uint64_t off, uint64_t length)
{
	bool in_range = pos >= off && pos < off + length;
	unsigned int seed = target ? TARGET_SEED : OTHER_SEED;

	if (in_range && target) {
		if (op == OP_WRITE || op == OP_SET)
			return FILL_BYTE;
		if (op == OP_COPY_TO || op == OP_MOVE_TO)
			return pattern_byte(pos, OTHER_SEED);
	}
	if (in_range && !target &&
	    (op == OP_COPY_FROM || op == OP_MOVE_FROM))
		return pattern_byte(pos, TARGET_SEED);
	return pattern_byte(pos, seed);
}

static void check_contents(struct __test_metadata *_metadata,
			   FIXTURE_DATA(data_op) *self, enum data_op op,
			   bool target, uint64_t length)
{
	size_t size = REGION_PAGES * self->page, i;
	uint8_t *got = malloc(size);

	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, softmem_read(self->pool, target ? self->target :
				  self->other, 0, got, size));
	for (i = 0; i < size; i++) {
		ASSERT_EQ(expected_byte(op, target, i, op_offset(self), length),
			  got[i])
			TH_LOG("%s byte %zu", target ? "target" : "other", i);
	}
	free(got);
}

/* What read, compare and find must report for the untouched regions. */
static void check_results(struct __test_metadata *_metadata,
			  FIXTURE_DATA(data_op) *self, enum data_op op,
			  uint64_t length)
{
	uint64_t off = op_offset(self), i;
	uint8_t want[OP_LENGTH];
	int expect_cmp;

	pattern_fill(want, OP_LENGTH, off, TARGET_SEED);
	switch (op) {
	case OP_READ:
		EXPECT_EQ(0, memcmp(want, self->buf, length));
		break;
	case OP_COMPARE:
	case OP_COMPARE_WITH:
	case OP_COMPARE_BUF:
		expect_cmp = 0;
		for (i = 0; i < length && !expect_cmp; i++) {
			uint8_t o = op == OP_COMPARE_BUF ? FILL_BYTE :
				    pattern_byte(off + i, OTHER_SEED);

			if (want[i] != o)
				expect_cmp = want[i] < o ? -1 : 1;
		}
		if (op == OP_COMPARE_WITH)
			expect_cmp = -expect_cmp;
		EXPECT_EQ(expect_cmp, self->result);
		break;
	case OP_FIND:
		for (i = 0; i < length; i++)
			if (want[i] == pattern_byte(off + 150, TARGET_SEED))
				break;
		EXPECT_EQ(i < length ? (int64_t)(off + i) : -1,
			  self->position);
		break;
	default:
		break;
	}
}

/* Suspend the target and let drop_caches discard it. */
static void discard_target(struct __test_metadata *_metadata,
			   FIXTURE_DATA(data_op) *self,
			   const FIXTURE_VARIANT(data_op) *variant)
{
	struct softmem_stats stats;

	ASSERT_EQ(0, softmem_suspend(self->pool, self->target));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	ASSERT_EQ(1, stats.discard_events);
	ASSERT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 0),
		  stats.suspended_bytes);
}

static void check_estale(struct __test_metadata *_metadata,
			 FIXTURE_DATA(data_op) *self,
			 const FIXTURE_VARIANT(data_op) *variant,
			 uint64_t length)
{
	discard_target(_metadata, self, variant);
	EXPECT_EQ(-ESTALE, run_op(self, variant->op, length));
	/* Still stale: the failed operation did not resume the region. */
	EXPECT_EQ(-ESTALE, run_op(self, variant->op, length));
	EXPECT_EQ(99, self->result);
	EXPECT_EQ(99, self->position);
	check_contents(_metadata, self, OP_READ, false, 0);
	EXPECT_EQ(SOFTMEM_DISCARDED,
		  region_resume_state(self->pool, self->target));
	EXPECT_EQ(1, region_matches(self->pool, self->target, 0,
				    REGION_PAGES * self->page, REGION_ZERO));
	/* Acknowledged: now the operation works. */
	EXPECT_EQ(0, run_op(self, variant->op, length));
}

TEST_F(data_op, estale_when_discarded)
{
	check_estale(_metadata, self, variant, OP_LENGTH);
}

TEST_F(data_op, estale_when_discarded_zero_length)
{
	check_estale(_metadata, self, variant, 0);
}

TEST_F(data_op, failed_op_leaves_other_suspended)
{
	struct softmem_stats stats;

	discard_target(_metadata, self, variant);
	ASSERT_EQ(0, softmem_suspend(self->pool, self->other));
	EXPECT_EQ(-ESTALE, run_op(self, variant->op, OP_LENGTH));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, REGION_PAGES * self->page),
		  stats.suspended_bytes);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED,
		  region_resume_state(self->pool, self->other));
}

static void check_implicit_resume(struct __test_metadata *_metadata,
				  FIXTURE_DATA(data_op) *self,
				  const FIXTURE_VARIANT(data_op) *variant,
				  uint64_t length)
{
	struct softmem_stats stats;

	ASSERT_EQ(0, softmem_suspend(self->pool, self->target));
	ASSERT_EQ(0, run_op(self, variant->op, length));
	check_results(_metadata, self, variant->op, length);
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, stats, 0),
		  stats.suspended_bytes);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool,
						      self->target));
	check_contents(_metadata, self, variant->op, true, length);
	check_contents(_metadata, self, variant->op, false, length);
}

TEST_F(data_op, implicit_resume)
{
	check_implicit_resume(_metadata, self, variant, OP_LENGTH);
}

TEST_F(data_op, implicit_resume_zero_length)
{
	check_implicit_resume(_metadata, self, variant, 0);
}

TEST_F(data_op, implicit_resume_of_other)
{
	ASSERT_EQ(0, softmem_suspend(self->pool, self->target));
	ASSERT_EQ(0, softmem_suspend(self->pool, self->other));
	ASSERT_EQ(0, run_op(self, variant->op, OP_LENGTH));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool,
						      self->target));
	/* Only an operation that touched the other region resumed it. */
	EXPECT_EQ(variant->uses_other ? SOFTMEM_INTACT : SOFTMEM_DISCARDED,
		  region_resume_state(self->pool, self->other));
	if (variant->uses_other)
		check_contents(_metadata, self, variant->op, false, OP_LENGTH);
}

TEST_HARNESS_MAIN
