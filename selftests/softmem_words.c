// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_words: suspend and resume without a system call.
 *
 * SOFTMEM_CONFIGURE_WORDS gives a pool one state word per handle number,
 * which user space maps from the pool's file and flips with atomics
 * (softmem_lockfree() in the library); reclaim claims a word with
 * compare-and-exchange before it discards the region, and takes back what
 * it claimed when another holder is resumed.  The words are the process's
 * own: whatever it writes into them, it can lose only its own data, and the
 * kernel still tells it the truth through its ioctls.
 *
 * The semantic tests of suspend and resume (softmem_states, softmem_shared)
 * run through this path too, in their "lockfree" variants.
 */
#include "softmem_test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define NR_WORDS	64
#define HELD		(SOFTMEM_WORD_RESUMED | SOFTMEM_WORD_REFERENCED)

FIXTURE(words) {
	int pool;
	size_t page;
	volatile uint64_t *words;	/* the test's own mapping of them */
};

/* Maps @nr words of @pool, or returns MAP_FAILED. */
static volatile uint64_t *words_map(int pool, uint32_t nr)
{
	return mmap(NULL, nr * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		    MAP_SHARED, pool, 0);
}

static int configure_words(int pool, uint32_t flags, uint32_t nr)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = flags,
		.nr_words = nr,
	};

	return softmem_raw_ioctl(pool, SOFTMEM_IOC_CONFIGURE, &arg);
}

FIXTURE_SETUP(words)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, softmem_lockfree(self->pool, NR_WORDS - 1));
	self->words = words_map(self->pool, NR_WORDS);
	ASSERT_NE(MAP_FAILED, self->words);
}

FIXTURE_TEARDOWN(words)
{
	if (self->words && self->words != MAP_FAILED)
		munmap((void *)self->words, NR_WORDS * sizeof(uint64_t));
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* --- configuration and mapping -------------------------------------------- */

TEST(configure_rejects_bad_counts)
{
	int pool;

	SKIP_IF_NO_DEVICE();
	pool = softmem_open();
	ASSERT_LE(0, pool);
	EXPECT_EQ(-EINVAL, configure_words(pool, SOFTMEM_CONFIGURE_WORDS, 0));
	EXPECT_EQ(-EINVAL, configure_words(pool, SOFTMEM_CONFIGURE_WORDS, 1));
	EXPECT_EQ(-EINVAL, configure_words(pool, SOFTMEM_CONFIGURE_WORDS,
					   SOFTMEM_MAX_WORDS + 1));
	/* A count without its flag is a reserved field that is not zero. */
	EXPECT_EQ(-EINVAL, configure_words(pool, 0, 8));
	EXPECT_EQ(-EINVAL, configure_words(pool, SOFTMEM_CONFIGURE_LIMIT, 8));
	/* Nothing changed: still no words to map, and any count works. */
	EXPECT_EQ(MAP_FAILED, words_map(pool, 2));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, configure_words(pool, SOFTMEM_CONFIGURE_WORDS, 2));
	softmem_close(pool);
}

TEST(configure_after_first_handle_ebusy)
{
	uint64_t h;
	int pool;

	SKIP_IF_NO_DEVICE();
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, softmem_alloc(pool, page_size(), &h));
	EXPECT_EQ(-EBUSY, softmem_lockfree(pool, 16));
	/* Freed, but the pool had a handle: its numbers may be anywhere. */
	ASSERT_EQ(0, softmem_free(pool, h));
	ASSERT_EQ(0, softmem_alloc(pool, page_size(), &h));
	EXPECT_EQ(-EBUSY, softmem_lockfree(pool, 16));
	softmem_close(pool);
}

TEST_F(words, configure_twice_ebusy)
{
	EXPECT_EQ(-EBUSY, configure_words(self->pool, SOFTMEM_CONFIGURE_WORDS,
					  NR_WORDS));
	EXPECT_EQ(-EBUSY, configure_words(self->pool, SOFTMEM_CONFIGURE_WORDS,
					  2 * NR_WORDS));
}

TEST_F(words, mmap_private_or_too_long_einval)
{
	size_t words_bytes = NR_WORDS * sizeof(uint64_t);
	void *map;

	map = mmap(NULL, words_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   self->pool, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);
	/* 64 words fit in one page: a second is past them. */
	map = mmap(NULL, 2 * self->page, PROT_READ, MAP_SHARED, self->pool, 0);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);
	map = mmap(NULL, self->page, PROT_READ, MAP_SHARED, self->pool,
		   self->page);
	EXPECT_EQ(MAP_FAILED, map);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(words, words_follow_handles)
{
	uint64_t h[NR_WORDS - 1], extra;
	unsigned int i;

	for (i = 0; i < NR_WORDS; i++)
		EXPECT_EQ(SOFTMEM_WORD_FREE, self->words[i]);
	/* Numbered below the words, each word resumed and referenced. */
	for (i = 0; i < NR_WORDS - 1; i++) {
		ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &h[i]));
		ASSERT_LT(0, h[i]);
		ASSERT_GT(NR_WORDS, h[i]);
		EXPECT_EQ(HELD, self->words[h[i]]);
	}
	EXPECT_EQ(-ENOSPC, softmem_alloc(self->pool, self->page, &extra));
	ASSERT_EQ(0, softmem_free(self->pool, h[5]));
	EXPECT_EQ(SOFTMEM_WORD_FREE, self->words[h[5]]);
	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &extra));
	EXPECT_EQ(h[5], extra);
	EXPECT_EQ(HELD, self->words[extra]);
	/* Word 0 never belongs to a handle. */
	EXPECT_EQ(SOFTMEM_WORD_FREE, self->words[0]);
}

/* --- the words and the ioctls mean the same ------------------------------- */

static int ioctl_suspend(int pool, uint64_t h)
{
	struct softmem_suspend arg = { .size = sizeof(arg), .handle = h };

	return softmem_raw_ioctl(pool, SOFTMEM_IOC_SUSPEND, &arg);
}

static int ioctl_resume(int pool, uint64_t h)
{
	struct softmem_resume arg = { .size = sizeof(arg), .handle = h };
	int ret = softmem_raw_ioctl(pool, SOFTMEM_IOC_RESUME, &arg);

	return ret ?: (int)arg.state;
}

TEST_F(words, ioctls_rewrite_the_word)
{
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, 3, &h));
	ASSERT_EQ(0, ioctl_suspend(self->pool, h));
	EXPECT_EQ(SOFTMEM_WORD_REFERENCED, self->words[h]);
	EXPECT_EQ(SOFTMEM_INTACT, ioctl_resume(self->pool, h));
	EXPECT_EQ(HELD, self->words[h]);
	/* Suspended through the word, resumed by the ioctl, and back. */
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	EXPECT_EQ(SOFTMEM_WORD_REFERENCED, self->words[h]);
	EXPECT_EQ(SOFTMEM_INTACT, ioctl_resume(self->pool, h));
	ASSERT_EQ(0, ioctl_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_WORD_DISCARDED,
		  self->words[h] & ~SOFTMEM_WORD_REFERENCED);
	/* The word's bit sends the library to the kernel, which reports. */
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	EXPECT_EQ(HELD, self->words[h]);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 2 * self->page,
				    REGION_ZERO));
	/* A data operation resumes implicitly, in the word too. */
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, self->page, 4));
	EXPECT_EQ(HELD, self->words[h]);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 4));
}

TEST_F(words, freed_handle_enoent_both_ways)
{
	uint64_t h;

	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &h));
	ASSERT_EQ(0, softmem_free(self->pool, h));
	EXPECT_EQ(-ENOENT, softmem_suspend(self->pool, h));
	EXPECT_EQ(-ENOENT, softmem_resume(self->pool, h, NULL));
	EXPECT_EQ(-ENOENT, ioctl_suspend(self->pool, h));
	EXPECT_EQ(-ENOENT, ioctl_resume(self->pool, h));
	EXPECT_EQ(SOFTMEM_WORD_FREE, self->words[h]);
}

/* --- without a system call ------------------------------------------------ */

/* From now on every ioctl of this process fails with EPERM. */
static int forbid_ioctl(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -errno;
	return 0;
}

/*
 * In a child that may not call ioctl() at all: with @rounds, that many
 * suspend and resume pairs of @h, each reported intact, and a last suspend;
 * without, one resume, which must fail with EPERM: it needs the kernel.
 * Exit 0 when all went as expected.
 */
static int pairs_without_ioctl(int pool, uint64_t h, int rounds)
{
	struct softmem_stats stats;
	bool discarded;
	int i;

	if (forbid_ioctl())
		return 2;
	/* The filter works: a call that needs the kernel fails. */
	if (softmem_stats(pool, &stats) != -EPERM)
		return 3;
	if (!rounds)
		return softmem_resume(pool, h, &discarded) == -EPERM ? 0 : 4;
	for (i = 0; i < rounds; i++) {
		discarded = true;
		if (softmem_suspend(pool, h) ||
		    softmem_resume(pool, h, &discarded) || discarded)
			return 5;
	}
	return softmem_suspend(pool, h) ? 6 : 0;
}

TEST_F(words, suspend_resume_without_system_call)
{
	uint64_t h;
	pid_t pid;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * self->page, 7, &h));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pairs_without_ioctl(self->pool, h, 1000));
	ASSERT_EQ(0, wait_child(pid));
	/* The child left it suspended: reclaim may take it. */
	EXPECT_EQ(SOFTMEM_WORD_REFERENCED, self->words[h]);
	ASSERT_EQ(0, drop_caches());
	/* A loss needs the kernel: the child's resume asks it, and fails. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(pairs_without_ioctl(self->pool, h, 0));
	ASSERT_EQ(0, wait_child(pid));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, 4 * self->page,
				    REGION_ZERO));
}

/* --- reclaim and the words ------------------------------------------------ */

TEST_F(words, clock_spares_referenced_region)
{
	uint64_t a, b, c, d, e;

	/* A pool limit of three pages: each new page discards another. */
	ASSERT_EQ(0, softmem_set_limit(self->pool, 3 * self->page));
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 1, &a));
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 2, &b));
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 3, &c));
	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	ASSERT_EQ(0, softmem_suspend(self->pool, b));
	ASSERT_EQ(0, softmem_suspend(self->pool, c));
	/*
	 * All were referenced when resumed: the first walk clears their
	 * bits, a second takes the oldest.
	 */
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 4, &d));
	EXPECT_EQ(SOFTMEM_WORD_DISCARDED, self->words[a]);
	EXPECT_EQ(0, self->words[b]);
	EXPECT_EQ(0, self->words[c]);
	/* b is used again: the next page takes c, not b. */
	ASSERT_EQ(0, softmem_resume(self->pool, b, NULL));
	ASSERT_EQ(0, softmem_suspend(self->pool, b));
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 5, &e));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, a));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, b));
	EXPECT_EQ(1, region_matches(self->pool, b, 0, self->page, 2));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, c));
	/* d and e are resumed and intact: their words say so. */
	EXPECT_EQ(1, region_matches(self->pool, d, 0, self->page, 4));
	EXPECT_EQ(1, region_matches(self->pool, e, 0, self->page, 5));
}

TEST_F(words, resumed_holder_keeps_shared_region)
{
	uint64_t h, imported, length = 3 * self->page;
	int other, fd;

	/* One holder lock-free, one through ioctls, of the same region. */
	other = softmem_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 9, &h));
	fd = softmem_export(self->pool, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, softmem_import(other, fd, &imported, NULL));
	close(fd);

	/* Resumed in its word only: reclaim must not take it. */
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(other, imported));
	ASSERT_EQ(0, softmem_suspend(other, imported));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(HELD, self->words[h]);
	EXPECT_EQ(1, region_matches(other, imported, 0, length, 9));
	/* Resumed through the ioctl only: the word alone cannot free it. */
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_WORD_REFERENCED, self->words[h]);
	ASSERT_EQ(0, softmem_suspend(other, imported));
	ASSERT_EQ(0, drop_caches());
	/* Both told once. */
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(other, imported));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(other, imported));
	softmem_close(other);
}

/*
 * A claim taken back (one holder resumed) leaves the loss of an earlier
 * discard in the word of a holder not told yet: found by softmem_stress.
 */
TEST_F(words, failed_claim_keeps_earlier_loss)
{
	uint64_t a, b, length = 2 * self->page;
	int other, fd;

	other = softmem_open();
	ASSERT_LE(0, other);
	ASSERT_EQ(0, softmem_lockfree(other, LOCKFREE_HANDLES));
	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 13, &a));
	fd = softmem_export(self->pool, a, 0);
	ASSERT_LE(0, fd);
	/* The newer holder's word is claimed first. */
	ASSERT_EQ(0, softmem_import(other, fd, &b, NULL));
	close(fd);
	ASSERT_EQ(0, softmem_suspend(self->pool, a));
	ASSERT_EQ(0, drop_caches());
	/* a is told and uses the region again; b is not told yet. */
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, a));
	ASSERT_EQ(0, region_write_pattern(self->pool, a, 0, length, 14));
	/* Claims b's word (it is suspended), then finds a resumed. */
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(other, b));
	EXPECT_EQ(1, region_matches(other, b, 0, length, 14));
	softmem_close(other);
}

/* --- words that lie ------------------------------------------------------- */

TEST_F(words, lying_word_never_returns_wrong_data)
{
	uint64_t h, length = 2 * self->page;
	bool discarded = true;
	uint8_t byte = 0x5a;

	ASSERT_EQ(0, region_alloc_filled(self->pool, length, 11, &h));
	/* "Suspended" while resumed: reclaim believes it, the data goes. */
	self->words[h] = 0;
	ASSERT_EQ(0, drop_caches());
	EXPECT_TRUE(self->words[h] & SOFTMEM_WORD_DISCARDED);
	/* The bit scrubbed: the library believes it, the kernel does not. */
	self->words[h] = 0;
	ASSERT_EQ(0, softmem_resume(self->pool, h, &discarded));
	EXPECT_FALSE(discarded);
	EXPECT_EQ(-ESTALE, softmem_read(self->pool, h, 0, &byte, 1));
	EXPECT_EQ(0x5a, byte);
	/* The ioctl tells the truth and puts the word right. */
	EXPECT_EQ(SOFTMEM_DISCARDED, ioctl_resume(self->pool, h));
	EXPECT_EQ(HELD, self->words[h]);
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, REGION_ZERO));

	/* "Resumed" while suspended: the region is kept, nothing else. */
	ASSERT_EQ(0, region_write_pattern(self->pool, h, 0, length, 12));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	self->words[h] = ~0ULL;
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(~0ULL, self->words[h]);
	EXPECT_EQ(SOFTMEM_INTACT, ioctl_resume(self->pool, h));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, length, 12));
	/* A word of a free slot claims nothing. */
	self->words[NR_WORDS - 1] = 0;
	EXPECT_EQ(-ENOENT, ioctl_resume(self->pool, NR_WORDS - 1));
}

struct scribbler {
	volatile uint64_t *words;
	atomic_bool stop;
	uint64_t seed;
	unsigned long writes;
};

/* Writes random values, random bits set, into random words. */
static void *scribble(void *arg)
{
	struct scribbler *s = arg;

	while (!atomic_load(&s->stop)) {
		uint64_t r = test_rand(&s->seed);
		uint64_t v = test_rand(&s->seed);

		s->words[r % NR_WORDS] = r & 1 ? v : v & 0xf;
		s->writes++;
	}
	return NULL;
}

#define HONEST_REGIONS	8
#define HOSTILE_REGIONS	16
#define SHARED_INTO	4

/*
 * A process scribbles on its pool's words while that pool and two honest
 * ones (one lock-free, one through ioctls) work under reclaim, sharing
 * regions with it.  The honest pools only ever see the truth: a resume
 * reported intact finds its data; the hostile pool's calls fail only with
 * the errors their documentation gives; the module's counts come back.
 */
TEST_F_TIMEOUT(words, scribbled_words_harm_only_their_pool, 300)
{
	uint64_t seed = env_u64("SOFTMEM_WORDS_SEED", 0x5c1b);
	/* A drop_caches takes about 2 s on the debug kernel: fewer there. */
	uint64_t rounds = env_u64("SOFTMEM_WORDS_ROUNDS",
				  debug_kernel() ? 1000 : 4000);
	uint64_t honest_h[2][HONEST_REGIONS], hostile_h[HOSTILE_REGIONS];
	uint64_t regions_before, regions_after, r;
	struct scribbler s = { .words = self->words, .seed = seed };
	struct softmem_stats stats;
	int honest[2], i, k, bad = 0, ret;
	size_t length = 2 * self->page;
	uint8_t buf[64] = { 0 };
	pthread_t thread;

	TH_LOG("seed 0x%llx, %llu rounds", (unsigned long long)seed,
	       (unsigned long long)rounds);
	ASSERT_EQ(0, module_stat("regions", &regions_before));
	honest[0] = softmem_open();
	honest[1] = softmem_open();
	ASSERT_LE(0, honest[0]);
	ASSERT_LE(0, honest[1]);
	ASSERT_EQ(0, softmem_lockfree(honest[0], LOCKFREE_HANDLES));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < HONEST_REGIONS; i++) {
			ASSERT_EQ(0, region_alloc_filled(honest[k], length,
							 100 * k + i,
							 &honest_h[k][i]));
			ASSERT_EQ(0, softmem_suspend(honest[k],
						     honest_h[k][i]));
		}
	}
	for (i = 0; i < HOSTILE_REGIONS; i++) {
		if (i < SHARED_INTO) {
			/* Imports of honest regions, from both pools. */
			int fd = softmem_export(honest[i % 2],
						honest_h[i % 2][i], 0);

			ASSERT_LE(0, fd);
			ASSERT_EQ(0, softmem_import(self->pool, fd,
						    &hostile_h[i], NULL));
			close(fd);
			continue;
		}
		ASSERT_EQ(0, region_alloc_filled(self->pool, length, 50 + i,
						 &hostile_h[i]));
	}
	ASSERT_EQ(0, pthread_create(&thread, NULL, scribble, &s));

	for (r = 0; r < rounds && !bad; r++) {
		uint64_t x = test_rand(&seed);
		unsigned int slot = x % HOSTILE_REGIONS;
		uint64_t *hh = &hostile_h[slot];
		int pool = (x >> 8) % 2;
		uint64_t h = honest_h[pool][(x >> 16) % HONEST_REGIONS];
		bool discarded = false;
		unsigned int want;

		/* The hostile pool: any call, any result but a wrong one. */
		switch ((x >> 24) % 6) {
		case 0:
			ret = softmem_suspend(self->pool, *hh);
			break;
		case 1:
			ret = softmem_resume(self->pool, *hh, NULL);
			break;
		case 2:
			ret = softmem_read(self->pool, *hh, 0, buf, sizeof(buf));
			break;
		case 3:
			/* Writing a shared region is any holder's right. */
			if (slot < SHARED_INTO)
				ret = softmem_read(self->pool, *hh, 0, buf,
						   sizeof(buf));
			else
				ret = softmem_write(self->pool, *hh, 0, buf,
						    sizeof(buf));
			break;
		case 4:
			ret = ioctl_resume(self->pool, *hh);
			ret = ret > 0 ? 0 : ret;
			break;
		default:
			/* The shared regions stay shared to the end. */
			if (slot < SHARED_INTO) {
				ret = softmem_suspend(self->pool, *hh);
				break;
			}
			ret = softmem_free(self->pool, *hh);
			if (!ret || ret == -ENOENT)
				ret = softmem_alloc(self->pool, length, hh);
			break;
		}
		if (ret && ret != -ENOENT && ret != -ESTALE && ret != -ENOSPC) {
			TH_LOG("round %llu: hostile call %d: %s",
			       (unsigned long long)r, (int)((x >> 24) % 6),
			       err_name(ret));
			bad++;
		}

		/* An honest pool: the truth, every time. */
		ret = softmem_resume(honest[pool], h, &discarded);
		want = 100 * pool + (unsigned int)(((x >> 16) % HONEST_REGIONS));
		if (ret) {
			TH_LOG("round %llu: honest resume: %s",
			       (unsigned long long)r, err_name(ret));
			bad++;
		} else if (discarded) {
			if (region_matches(honest[pool], h, 0, length,
					   REGION_ZERO) != 1 ||
			    region_write_pattern(honest[pool], h, 0, length,
						 want)) {
				TH_LOG("round %llu: discarded region not zeros",
				       (unsigned long long)r);
				bad++;
			}
		} else if (region_matches(honest[pool], h, 0, length,
					  want) != 1) {
			TH_LOG("round %llu: pool %d region %llu resumed intact with wrong data",
			       (unsigned long long)r, pool,
			       (unsigned long long)h);
			bad++;
		}
		if (softmem_suspend(honest[pool], h))
			bad++;
		if (r % 64 == 0)
			drop_caches();
	}
	atomic_store(&s.stop, true);
	pthread_join(thread, NULL);
	TH_LOG("%lu scribbles", s.writes);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, s.writes);

	for (k = 0; k < 2; k++) {
		int64_t value;

		ASSERT_EQ(0, pool_stats(honest[k], &stats));
		EXPECT_FALSE(stats_negative(&stats, &value));
		EXPECT_GE(stats.resident_bytes, stats.suspended_bytes);
		EXPECT_EQ(HONEST_REGIONS, stats.regions);
		softmem_close(honest[k]);
	}
	/* A mapping of the words holds the pool open, as any mapping. */
	munmap((void *)self->words, NR_WORDS * sizeof(uint64_t));
	self->words = NULL;
	softmem_close(self->pool);
	self->pool = -1;
	ASSERT_EQ(0, module_stat("regions", &regions_after));
	EXPECT_EQ(regions_before, regions_after);
}

TEST_HARNESS_MAIN
