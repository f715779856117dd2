// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_mmap: regions mapped with mmap(MAP_SHARED) of an exported
 * descriptor (softmem_map()).
 *
 * A mapping shows the same bytes as the ioctls, both ways.  Touching it never
 * changes the handle's state: a suspended region stays suspended and can be
 * discarded under the mapping.  A page of a discarded region raises SIGBUS
 * until the region is resumed, and then reads as fresh zeros.  A mapping keeps
 * the region alive after its handle and pool are gone, and mprotect(),
 * madvise(MADV_DONTNEED), mremap() and fork() behave as for any shared file
 * mapping that cannot grow.
 *
 * Touches that may fault go through map_copy() and map_access64(), which
 * turn SIGBUS and SIGSEGV into a return value and record si_addr.
 */
#include "softmem_test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RW		(PROT_READ | PROT_WRITE)

FIXTURE(mapping) {
	int pool;
	size_t page;
	uint8_t *map;		/* unmapped by the teardown */
	size_t map_length;
};

FIXTURE_SETUP(mapping)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, map_fault_catch());
}

FIXTURE_TEARDOWN(mapping)
{
	if (self->map)
		munmap(self->map, self->map_length);
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* Map [@offset, @offset + @length) of region @h as self->map. */
static void map_region(struct __test_metadata *_metadata,
		       FIXTURE_DATA(mapping) *self, uint64_t h,
		       uint64_t offset, size_t length, int prot)
{
	void *addr = NULL;
	int ret;

	ASSERT_EQ(NULL, self->map);
	ret = softmem_map(self->pool, h, offset, length, prot, &addr);
	ASSERT_EQ(0, ret) TH_LOG("softmem_map: %s", err_name(ret));
	self->map = addr;
	self->map_length = length;
}

static void unmap_region(struct __test_metadata *_metadata,
			 FIXTURE_DATA(mapping) *self)
{
	ASSERT_EQ(0, munmap(self->map, self->map_length));
	self->map = NULL;
}

/*
 * Compare @length bytes at @map, which shows region offset @pos, with pattern
 * @seed (zeros for REGION_ZERO): 1 if they match, 0 if not, -signal if
 * touching them raised one.
 */
static int map_matches(const uint8_t *map, uint64_t pos, size_t length,
		       unsigned int seed)
{
	uint8_t *got = malloc(length), *want = malloc(length);
	struct map_fault fault;
	int ret = -ENOMEM;

	if (got && want) {
		ret = map_copy(got, map, length, &fault);
		if (ret) {
			ret = -ret;
		} else {
			if (seed == REGION_ZERO)
				memset(want, 0, length);
			else
				pattern_fill(want, length, pos, seed);
			ret = !memcmp(got, want, length);
		}
	}
	free(got);
	free(want);
	return ret;
}

/* Write pattern @seed through @map, which shows region offset @pos. */
static int map_fill(uint8_t *map, uint64_t pos, size_t length,
		    unsigned int seed)
{
	uint8_t *buf = malloc(length);
	struct map_fault fault;
	int ret;

	if (!buf)
		return -ENOMEM;
	pattern_fill(buf, length, pos, seed);
	ret = map_copy(map, buf, length, &fault);
	free(buf);
	return ret;
}

static uint64_t resident(struct __test_metadata *_metadata, int pool)
{
	struct softmem_stats stats;

	EXPECT_EQ(0, pool_stats(pool, &stats));
	return stats.resident_bytes;
}

/* --- what a mapping shows ------------------------------------------------- */

TEST_F(mapping, mmap_data_agrees_with_ioctls)
{
	uint64_t length = 4 * self->page, h;
	uint8_t want[20], got[20];
	struct map_fault fault;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));

	/* Written through the mapping, across a page boundary: READ sees it. */
	ASSERT_EQ(0, map_fill(self->map + self->page - 100, self->page - 100,
			      self->page + 200, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page - 100, 1));
	EXPECT_EQ(1, region_matches(self->pool, h, self->page - 100,
				    self->page + 200, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, 2 * self->page + 100,
				    2 * self->page - 100, 1));

	/* WRITE and SET: the mapping sees them. */
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 3 * self->page - 50,
					  100, 3));
	EXPECT_EQ(1, map_matches(self->map + 3 * self->page - 50,
				 3 * self->page - 50, 100, 3));
	ASSERT_EQ(0, softmem_set(self->pool, h, 3 * self->page + 10, 0x5a,
				 sizeof(want)));
	memset(want, 0x5a, sizeof(want));
	ASSERT_EQ(0, map_copy(got, self->map + 3 * self->page + 10,
			      sizeof(got), &fault));
	EXPECT_EQ(0, memcmp(want, got, sizeof(got)));
	unmap_region(_metadata, self);
}

TEST_F(mapping, mmap_offset_maps_page_range)
{
	uint64_t length = 8 * self->page, h;
	void *last = NULL;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 2 * self->page, 3 * self->page, RW);
	EXPECT_EQ(1, map_matches(self->map, 2 * self->page, 3 * self->page,
				 1));
	ASSERT_EQ(0, map_fill(self->map + self->page, 3 * self->page, 16, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, 3 * self->page, 16, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, 3 * self->page + 16,
				    self->page - 16, 1));

	/* The last page alone. */
	ASSERT_EQ(0, softmem_map(self->pool, h, 7 * self->page, self->page,
				 PROT_READ, &last));
	EXPECT_EQ(1, map_matches(last, 7 * self->page, self->page, 1));
	EXPECT_EQ(0, munmap(last, self->page));
	unmap_region(_metadata, self);
}

TEST_F(mapping, mmap_private_einval)
{
	int prots[] = { PROT_READ, RW }, fd, err;
	uint64_t h;
	void *addr;
	size_t i;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 1, &h));
	fd = softmem_export(self->pool, h, 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(prots); i++) {
		addr = mmap(NULL, self->page, prots[i], MAP_PRIVATE, fd, 0);
		err = errno;
		EXPECT_EQ(MAP_FAILED, addr) TH_LOG("prot %#x", prots[i]);
		if (addr != MAP_FAILED)
			munmap(addr, self->page);
		else
			EXPECT_EQ(EINVAL, err);
	}
	/* The same descriptor maps shared. */
	addr = mmap(NULL, self->page, RW, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, addr);
	EXPECT_EQ(1, map_matches(addr, 0, self->page, 1));
	EXPECT_EQ(0, munmap(addr, self->page));
	EXPECT_EQ(0, close(fd));
}

/* Up to the region's page-rounded end, and not a byte further. */
TEST_F(mapping, mmap_past_end_einval)
{
	uint64_t end = 4 * self->page, h;
	int next_fd = lowest_free_fd();
	void *addr = NULL;

	ASSERT_LE(0, next_fd);
	ASSERT_EQ(0, softmem_alloc(self->pool, 3 * self->page + 100, &h));
	ASSERT_EQ(0, softmem_map(self->pool, h, 0, end, PROT_READ, &addr));
	EXPECT_EQ(0, munmap(addr, end));
	ASSERT_EQ(0, softmem_map(self->pool, h, 3 * self->page, self->page,
				 PROT_READ, &addr));
	EXPECT_EQ(0, munmap(addr, self->page));

	addr = NULL;
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, 0, end + self->page,
				       PROT_READ, &addr));
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, 0, end + 1, PROT_READ,
				       &addr));
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, 3 * self->page,
				       2 * self->page, PROT_READ, &addr));
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, end, self->page,
				       PROT_READ, &addr));
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, end + self->page,
				       self->page, PROT_READ, &addr));
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, SOFTMEM_MAX_LENGTH,
				       self->page, PROT_READ, &addr));
	/* Not page-aligned. */
	EXPECT_EQ(-EINVAL, softmem_map(self->pool, h, self->page + 1,
				       self->page, PROT_READ, &addr));
	EXPECT_EQ(-ENOENT, softmem_map(self->pool, h + 1000, 0, self->page,
				       PROT_READ, &addr));
	EXPECT_EQ(NULL, addr);
	/* softmem_map() closed every descriptor it made. */
	EXPECT_EQ(next_fd, lowest_free_fd());
}

/* --- discards under a mapping --------------------------------------------- */

/* Suspend the region and let drop_caches discard it. */
static void discard(struct __test_metadata *_metadata, int pool, uint64_t h)
{
	struct softmem_stats before, after;

	ASSERT_EQ(0, pool_stats(pool, &before));
	ASSERT_EQ(0, softmem_suspend(pool, h));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, pool_stats(pool, &after));
	ASSERT_EQ(before.discard_events + 1, after.discard_events);
}

/* Touch byte @target: read (@write false) or write; the signal, if any. */
static int touch(uint8_t *target, bool write, struct map_fault *fault)
{
	uint8_t byte = 0x42;

	return write ? map_copy(target, &byte, 1, fault) :
		       map_copy(&byte, target, 1, fault);
}

TEST_F(mapping, sigbus_on_discarded_mapping)
{
	uint64_t length = 4 * self->page, h;
	struct map_fault fault;
	uint8_t *target, byte;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
	discard(_metadata, self->pool, h);

	target = self->map + 2 * self->page + 123;
	EXPECT_EQ(SIGBUS, touch(target, false, &fault));
	EXPECT_EQ(target, fault.addr);
	EXPECT_EQ(BUS_ADRERR, fault.code);
	target = self->map + 3 * self->page;
	EXPECT_EQ(SIGBUS, touch(target, true, &fault));
	EXPECT_EQ(target, fault.addr);
	/* Again: a SIGBUS acknowledges nothing. */
	target = self->map + 5;
	EXPECT_EQ(SIGBUS, touch(target, false, &fault));
	EXPECT_EQ(target, fault.addr);
	EXPECT_EQ(-ESTALE, softmem_read(self->pool, h, 0, &byte, 1));

	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	EXPECT_EQ(0, touch(self->map + 2 * self->page + 123, false, &fault));
	unmap_region(_metadata, self);
}

TEST_F(mapping, mmap_resume_zeros)
{
	uint64_t length = 4 * self->page, h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
	discard(_metadata, self->pool, h);
	ASSERT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));

	EXPECT_EQ(1, map_matches(self->map, 0, length, REGION_ZERO));
	/* Writable again, and what it writes is the region's. */
	EXPECT_EQ(0, map_fill(self->map + self->page, self->page,
			      2 * self->page, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, self->page, 2 * self->page,
				    2));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page,
				    REGION_ZERO));
	EXPECT_EQ(1, region_matches(self->pool, h, 3 * self->page, self->page,
				    REGION_ZERO));
	unmap_region(_metadata, self);
}

/* Touching a suspended, intact region works and leaves it suspended. */
TEST_F(mapping, touch_suspended_mapping_does_not_resume)
{
	uint64_t length = 2 * self->page, h;
	struct softmem_stats stats;
	struct map_fault fault;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
	EXPECT_EQ(0, map_fill(self->map, 0, 64, 2));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(length, stats.suspended_bytes);

	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SIGBUS, touch(self->map, false, &fault));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	unmap_region(_metadata, self);
}

/* A page never written reads as zeros through the mapping, and is allocated. */
TEST_F(mapping, never_written_page_reads_zero_and_allocates)
{
	uint64_t length = 4 * self->page, h;

	ASSERT_EQ(0, softmem_alloc(self->pool, length, &h));
	map_region(_metadata, self, h, 0, length, RW);
	EXPECT_EQ(0, resident(_metadata, self->pool));
	EXPECT_EQ(1, map_matches(self->map + 2 * self->page + 7,
				 2 * self->page + 7, 1, REGION_ZERO));
	EXPECT_EQ(self->page, resident(_metadata, self->pool));
	EXPECT_EQ(1, map_matches(self->map, 0, length, REGION_ZERO));
	EXPECT_EQ(length, resident(_metadata, self->pool));
	EXPECT_EQ(0, map_fill(self->map + 3 * self->page, 3 * self->page, 10,
			      4));
	EXPECT_EQ(1, region_matches(self->pool, h, 3 * self->page, 10, 4));
	EXPECT_EQ(length, resident(_metadata, self->pool));
	unmap_region(_metadata, self);
}

/* --- a writer racing discards --------------------------------------------- */

/*
 * A writer thread stores an increasing counter into the mapping while a
 * resumer thread loops suspend, (every other round) drop_caches, resume.  The
 * writer publishes each store that landed together with the number of
 * discards the resumer had acknowledged when it began it.  Whenever a resume
 * reports INTACT and no discard was acknowledged since that store began, the
 * store must still be there.  Every drop_caches round must report a discard
 * (the resumer writes a byte first, so the region has a page), no other
 * round may, and each SIGBUS streak the writer meets needs a discard.
 */
#define RACE_PAGES		2
#define RACE_ROUNDS		64
#define RACE_ROUNDS_DEBUG	24
#define RACE_WAIT_YIELDS	10000000

struct race {
	int pool;
	uint64_t handle;
	uint64_t *slot;			/* the counter, at the mapping's start */
	unsigned int rounds;
	atomic_uint_fast64_t published;	/* acks << 32 | counter value */
	atomic_uint acks;		/* DISCARDED resumes so far */
	atomic_bool done;
	/* the writer's */
	uint64_t writes;
	uint64_t sigbus;
	uint64_t streaks;		/* runs of SIGBUS between stores */
	uint64_t bad_faults;		/* not SIGBUS, or not at the slot */
	/* the resumer's */
	unsigned int intact;
	unsigned int discarded;
	unsigned int checked;		/* INTACT resumes with a store to check */
	unsigned int lost;		/* ... whose store was gone */
	unsigned int missed;		/* drop_caches rounds reported INTACT */
	unsigned int unexpected;	/* other rounds reported DISCARDED */
	uint64_t lost_want, lost_got;
	int error;
	const char *failed;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	struct map_fault fault;
	uint64_t value = 0;
	bool streak = false;

	while (!atomic_load(&r->done) && value < UINT32_MAX) {
		uint64_t acks = atomic_load(&r->acks), next = value + 1;
		int sig = map_access64(r->slot, &next, true, &fault);

		if (!sig) {
			value = next;
			r->writes++;
			streak = false;
			atomic_store(&r->published, acks << 32 | value);
			continue;
		}
		if (sig != SIGBUS || fault.addr != r->slot) {
			r->bad_faults++;
			continue;
		}
		r->sigbus++;
		if (!streak)
			r->streaks++;
		streak = true;
	}
	return NULL;
}

static void race_fail(struct race *r, const char *what, int error)
{
	r->failed = what;
	r->error = error;
}

/* Wait, counting yields, for a store begun after the last acknowledgment. */
static bool race_wait_store(struct race *r, unsigned int acks)
{
	unsigned long i;

	for (i = 0; i < RACE_WAIT_YIELDS; i++) {
		if (atomic_load(&r->published) >> 32 == acks)
			return true;
		sched_yield();
	}
	return false;
}

/* One round; false when the race must stop. */
static bool race_round(struct race *r, unsigned int round)
{
	unsigned int acks = atomic_load(&r->acks);
	bool drop = round & 1;
	struct map_fault fault;
	uint64_t published, got = 0;
	uint8_t mark = 1;
	int state;

	if (!race_wait_store(r, acks)) {
		race_fail(r, "the writer stored nothing", -ETIMEDOUT);
		return false;
	}
	if (drop && softmem_write(r->pool, r->handle, page_size(), &mark, 1)) {
		race_fail(r, "write", -EIO);
		return false;
	}
	if (softmem_suspend(r->pool, r->handle)) {
		race_fail(r, "suspend", -EIO);
		return false;
	}
	if (drop && drop_caches()) {
		race_fail(r, "drop_caches", -EIO);
		return false;
	}
	published = atomic_load(&r->published);
	state = region_resume_state(r->pool, r->handle);
	if (state < 0) {
		race_fail(r, "resume", state);
		return false;
	}
	if (state == SOFTMEM_DISCARDED) {
		r->discarded++;
		r->unexpected += !drop;
		atomic_store(&r->acks, acks + 1);
		return true;
	}
	r->intact++;
	r->missed += drop;
	if (published >> 32 != acks)
		return true;
	r->checked++;
	if (map_access64(r->slot, &got, false, &fault)) {
		race_fail(r, "read of the slot after INTACT", -fault.signo);
		return false;
	}
	if (got < (uint32_t)published) {
		if (!r->lost++) {
			r->lost_want = (uint32_t)published;
			r->lost_got = got;
		}
	}
	return true;
}

static void *race_resumer(void *arg)
{
	struct race *r = arg;
	unsigned int round;

	for (round = 0; round < r->rounds; round++)
		if (!race_round(r, round))
			break;
	atomic_store(&r->done, true);
	return NULL;
}

TEST_F_TIMEOUT(mapping, mmap_race, 180)
{
	uint64_t length = RACE_PAGES * self->page;
	struct softmem_stats stats;
	pthread_t writer, resumer;
	struct race r;

	memset(&r, 0, sizeof(r));
	r.pool = self->pool;
	r.rounds = debug_kernel() ? RACE_ROUNDS_DEBUG : RACE_ROUNDS;
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &r.handle));
	map_region(_metadata, self, r.handle, 0, length, RW);
	r.slot = (uint64_t *)self->map;
	/* No store yet: the first round waits for one. */
	atomic_init(&r.published, UINT64_MAX);
	atomic_init(&r.acks, 0);
	atomic_init(&r.done, false);

	ASSERT_EQ(0, pthread_create(&writer, NULL, race_writer, &r));
	ASSERT_EQ(0, pthread_create(&resumer, NULL, race_resumer, &r));
	ASSERT_EQ(0, pthread_join(resumer, NULL));
	ASSERT_EQ(0, pthread_join(writer, NULL));

	TH_LOG("%u rounds: %u intact (%u checked), %u discarded; writer: %llu stores, %llu SIGBUS in %llu streaks",
	       r.rounds, r.intact, r.checked, r.discarded,
	       (unsigned long long)r.writes, (unsigned long long)r.sigbus,
	       (unsigned long long)r.streaks);
	EXPECT_EQ(0, r.error) TH_LOG("%s: %s", r.failed, err_name(r.error));
	EXPECT_EQ(0, r.lost)
		TH_LOG("INTACT, but the store of %llu read back as %llu",
		       (unsigned long long)r.lost_want,
		       (unsigned long long)r.lost_got);
	EXPECT_EQ(0, r.missed);
	EXPECT_EQ(0, r.unexpected);
	EXPECT_EQ(r.rounds / 2, r.discarded);
	EXPECT_EQ(r.rounds - r.rounds / 2, r.checked);
	EXPECT_EQ(0, r.bad_faults);
	EXPECT_GE(r.discarded, r.streaks);
	/* Each discard was reported once. */
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(r.discarded, stats.discard_events);
	unmap_region(_metadata, self);
}

/* --- lifetime ------------------------------------------------------------- */

/* Like a memfd mapping: the region outlives its handle and its pool. */
TEST_F(mapping, mapping_keeps_region_after_free_and_close)
{
	uint64_t length = 2 * self->page, base, now = 0, h;

	ASSERT_EQ(0, module_stat("resident_bytes", &base));
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	ASSERT_EQ(0, softmem_free(self->pool, h));
	EXPECT_EQ(0, softmem_close(self->pool));
	self->pool = -1;

	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
	EXPECT_EQ(0, map_fill(self->map, 0, self->page, 2));
	EXPECT_EQ(1, map_matches(self->map, 0, self->page, 2));
	ASSERT_EQ(0, module_stat("resident_bytes", &now));
	EXPECT_EQ(base + length, now);
	unmap_region(_metadata, self);
	EXPECT_TRUE(module_stat_reach("resident_bytes", base, &now))
		TH_LOG("resident_bytes %llu after munmap, want %llu",
		       (unsigned long long)now, (unsigned long long)base);
}

/* --- memory-management calls on a mapping --------------------------------- */

TEST_F(mapping, mprotect_read_only_write_sigsegv)
{
	uint64_t length = 2 * self->page, h;
	struct map_fault fault;
	uint8_t *target, byte = 0x33, got = 0;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	ASSERT_EQ(0, mprotect(self->map, length, PROT_READ));
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
	target = self->map + self->page + 5;
	EXPECT_EQ(SIGSEGV, map_copy(target, &byte, 1, &fault));
	EXPECT_EQ(target, fault.addr);
	EXPECT_EQ(SEGV_ACCERR, fault.code);
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, 1));

	ASSERT_EQ(0, mprotect(self->map, length, RW));
	EXPECT_EQ(0, map_copy(target, &byte, 1, &fault));
	ASSERT_EQ(0, softmem_read(self->pool, h, self->page + 5, &got, 1));
	EXPECT_EQ(byte, got);

	/* PROT_NONE on one page: reads fault there, not on the other. */
	ASSERT_EQ(0, mprotect(self->map, self->page, PROT_NONE));
	EXPECT_EQ(SIGSEGV, map_copy(&got, self->map + 9, 1, &fault));
	EXPECT_EQ(self->map + 9, fault.addr);
	EXPECT_EQ(1, map_matches(self->map + self->page + 6,
				 self->page + 6, 10, 1));
	unmap_region(_metadata, self);
}

/* MADV_DONTNEED drops the page table entries, not the region's pages. */
TEST_F(mapping, madvise_dontneed_keeps_data)
{
	uint64_t length = 4 * self->page, h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
	ASSERT_EQ(0, map_fill(self->map + self->page, self->page,
			      self->page, 2));
	ASSERT_EQ(0, madvise(self->map, length, MADV_DONTNEED));
	EXPECT_EQ(1, map_matches(self->map, 0, self->page, 1));
	EXPECT_EQ(1, map_matches(self->map + self->page, self->page,
				 self->page, 2));
	EXPECT_EQ(1, map_matches(self->map + 2 * self->page, 2 * self->page,
				 2 * self->page, 1));
	EXPECT_EQ(length, resident(_metadata, self->pool));
	unmap_region(_metadata, self);
}

TEST_F(mapping, mremap_cannot_grow_past_region)
{
	uint64_t length = 4 * self->page, h;
	void *grown, *moved, *spot;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	grown = mremap(self->map, length, length + self->page, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, grown);
	if (grown != MAP_FAILED) {
		self->map = grown;
		self->map_length = length + self->page;
	}
	grown = mremap(self->map, length, length + self->page, 0);
	EXPECT_EQ(MAP_FAILED, grown);
	ASSERT_EQ(length, self->map_length);
	EXPECT_EQ(1, map_matches(self->map, 0, length, 1));

	/* Shrinking and moving keep the data. */
	ASSERT_EQ(self->map, mremap(self->map, length, 2 * self->page, 0));
	self->map_length = 2 * self->page;
	EXPECT_EQ(1, map_matches(self->map, 0, 2 * self->page, 1));
	spot = mmap(NULL, 2 * self->page, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, spot);
	moved = mremap(self->map, 2 * self->page, 2 * self->page,
		       MREMAP_MAYMOVE | MREMAP_FIXED, spot);
	ASSERT_EQ(spot, moved) TH_LOG("mremap: %s", strerror(errno));
	self->map = moved;
	EXPECT_EQ(1, map_matches(self->map, 0, 2 * self->page, 1));
	ASSERT_EQ(0, map_fill(self->map, 0, 32, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 32, 2));
	unmap_region(_metadata, self);
}

/* A child forked with a live mapping shares its pages, both ways. */
TEST_F(mapping, fork_shares_live_mapping)
{
	uint64_t length = 2 * self->page, h, token;
	struct peer c;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 1, &h));
	map_region(_metadata, self, h, 0, length, RW);
	ASSERT_LE(0, fork_peer(&c));
	if (!c.pid) {
		size_t page = page_size();

		EXPECT_EQ(1, map_matches(self->map, 0, length, 1));
		EXPECT_EQ(0, map_fill(self->map + page, page, page, 2));
		EXPECT_EQ(0, peer_send(&c, 0));
		/* The parent's write, seen here. */
		EXPECT_EQ(0, peer_recv(&c, &token));
		EXPECT_EQ(1, map_matches(self->map, 0, 16, 3));
		_exit(_metadata->exit_code);
	}
	ASSERT_EQ(0, peer_recv(&c, &token));
	EXPECT_EQ(1, map_matches(self->map + self->page, self->page,
				 self->page, 2));
	EXPECT_EQ(1, region_matches(self->pool, h, self->page, self->page, 2));
	ASSERT_EQ(0, map_fill(self->map, 0, 16, 3));
	ASSERT_EQ(0, peer_send(&c, 0));
	EXPECT_EQ(0, peer_wait(&c));
	/* The child's exit took its own mapping only. */
	EXPECT_EQ(1, map_matches(self->map, 0, 16, 3));
	EXPECT_EQ(1, region_matches(self->pool, h, 16, self->page - 16, 1));
	unmap_region(_metadata, self);
}

TEST_HARNESS_MAIN
