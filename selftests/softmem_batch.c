// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_batch: SOFTMEM_IOC_BATCH applies suspends, resumes and frees as
 * the single commands would, reports each entry's result, and stops early
 * (EINTR for a signal, EFAULT for an entry it cannot reach) telling how far
 * it got, with nothing applied past that.  Every test runs on a pool that
 * suspends and resumes by ioctl ("ioctl") and on one whose single commands
 * go through its state words ("lockfree"), where the batch must rewrite the
 * words as the single commands mean.
 */
#include "softmem_test.h"

#include <pthread.h>

#define NR	64

FIXTURE(batch) {
	int pool;
	uint64_t h[NR];
	struct softmem_batch_entry e[NR];
};

FIXTURE_VARIANT(batch) {
	bool lockfree;
};

FIXTURE_VARIANT_ADD(batch, ioctl) {};
FIXTURE_VARIANT_ADD(batch, lockfree) { .lockfree = true };

FIXTURE_SETUP(batch)
{
	int i;

	SKIP_IF_NO_DEVICE();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	if (variant->lockfree)
		ASSERT_EQ(0, softmem_lockfree(self->pool, LOCKFREE_HANDLES));
	for (i = 0; i < NR; i++)
		ASSERT_EQ(0, region_alloc_filled(self->pool, page_size(),
						 i + 1, &self->h[i]));
}

FIXTURE_TEARDOWN(batch)
{
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* Entries @op on handles @h[0..@n), results poisoned to catch no write. */
static void fill(struct softmem_batch_entry *e, const uint64_t *h, int n,
		 unsigned int op)
{
	int i;

	for (i = 0; i < n; i++) {
		e[i] = (struct softmem_batch_entry) {
			.handle = h[i], .op = op, .state = 0xdead,
			.error = 0x5a5a,
		};
	}
}

TEST_F(batch, suspend_resume_free_as_single_commands)
{
	struct softmem_stats st;
	unsigned int done = 7;
	int i;

	fill(self->e, self->h, NR, SOFTMEM_BATCH_SUSPEND);
	ASSERT_EQ(0, softmem_batch(self->pool, self->e, NR, &done));
	EXPECT_EQ(NR, done);
	for (i = 0; i < NR; i++) {
		EXPECT_EQ(0, self->e[i].error);
		EXPECT_EQ(0, self->e[i].state);
	}
	ASSERT_EQ(0, pool_stats(self->pool, &st));
	EXPECT_EQ(COUNTED_SUSPENDED(variant->lockfree, st, NR * page_size()),
		  st.suspended_bytes);

	/* The odd ones are discarded meanwhile, the even ones kept. */
	for (i = 0; i < NR; i += 2)
		ASSERT_EQ(0, softmem_resume(self->pool, self->h[i], NULL));
	ASSERT_EQ(0, drop_caches());
	for (i = 0; i < NR; i += 2)
		ASSERT_EQ(0, softmem_suspend(self->pool, self->h[i]));

	fill(self->e, self->h, NR, SOFTMEM_BATCH_RESUME);
	ASSERT_EQ(0, softmem_batch(self->pool, self->e, NR, &done));
	EXPECT_EQ(NR, done);
	for (i = 0; i < NR; i++) {
		EXPECT_EQ(0, self->e[i].error);
		EXPECT_EQ(i % 2 ? SOFTMEM_DISCARDED : SOFTMEM_INTACT,
			  self->e[i].state) TH_LOG("entry %d", i);
	}
	/* Told once: now intact, and the survivors hold their data. */
	for (i = 0; i < NR; i++) {
		EXPECT_EQ(SOFTMEM_INTACT,
			  region_resume_state(self->pool, self->h[i]));
		if (i % 2 == 0)
			EXPECT_EQ(1, region_matches(self->pool, self->h[i], 0,
						    page_size(), i + 1));
	}

	fill(self->e, self->h, NR, SOFTMEM_BATCH_FREE);
	ASSERT_EQ(0, softmem_batch(self->pool, self->e, NR, &done));
	EXPECT_EQ(NR, done);
	ASSERT_EQ(0, pool_stats(self->pool, &st));
	EXPECT_EQ(0, st.regions);
	EXPECT_EQ(0, st.resident_bytes);
}

TEST_F(batch, failed_entries_do_not_stop_the_batch)
{
	struct softmem_batch_entry e[4] = {
		{ .handle = self->h[0], .op = SOFTMEM_BATCH_SUSPEND },
		{ .handle = 0, .op = SOFTMEM_BATCH_RESUME },
		{ .handle = self->h[1], .op = 77 },
		{ .handle = self->h[1], .op = SOFTMEM_BATCH_FREE },
	};
	unsigned int done;

	ASSERT_EQ(0, softmem_batch(self->pool, e, 4, &done));
	EXPECT_EQ(4, done);
	EXPECT_EQ(0, e[0].error);
	EXPECT_EQ(-ENOENT, e[1].error);
	EXPECT_EQ(0, e[1].state);
	EXPECT_EQ(-EINVAL, e[2].error);
	EXPECT_EQ(0, e[3].error);
	EXPECT_EQ(-ENOENT, softmem_suspend(self->pool, self->h[1]));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, self->h[0]));
}

TEST_F(batch, bad_struct_einval_and_nothing_done)
{
	struct softmem_batch arg = {
		.size = sizeof(arg), .entries = (uintptr_t)self->e, .count = 1,
		.entry_size = sizeof(self->e[0]),
	};

	fill(self->e, self->h, 1, SOFTMEM_BATCH_SUSPEND);
	arg.flags = 1;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_BATCH, &arg));
	arg.flags = 0;
	arg.__reserved = 1;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_BATCH, &arg));
	arg.__reserved = 0;
	arg.entry_size = sizeof(self->e[0]) - 8;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_BATCH, &arg));
	arg.entry_size = page_size() + 8;
	EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_BATCH, &arg));
	EXPECT_EQ(0x5a5a, self->e[0].error);
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, self->h[0]));
}

/* Larger entries from a newer library: a zero tail works, another E2BIG. */
TEST_F(batch, larger_entries_need_a_zero_tail)
{
	struct { struct softmem_batch_entry e; uint64_t tail; } big[2] = {
		{ { .handle = self->h[0], .op = SOFTMEM_BATCH_SUSPEND }, 0 },
		{ { .handle = self->h[1], .op = SOFTMEM_BATCH_SUSPEND }, 1 },
	};
	struct softmem_batch arg = {
		.size = sizeof(arg), .entries = (uintptr_t)big, .count = 2,
		.entry_size = sizeof(big[0]),
	};

	EXPECT_EQ(-E2BIG, softmem_raw_ioctl(self->pool, SOFTMEM_IOC_BATCH, &arg));
	EXPECT_EQ(1, arg.done);
	EXPECT_EQ(0, big[0].e.error);
	/* The second was never applied: still resumed, so never discarded. */
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(1, region_matches(self->pool, self->h[1], 0, page_size(), 2));
	EXPECT_EQ(SOFTMEM_DISCARDED,
		  region_resume_state(self->pool, self->h[0]));
}

/*
 * Entries running into an unreadable page: those before it are applied and
 * counted, the rest untouched.  The same where only the results cannot be
 * written (a read-only page): the entry there is not applied.
 */
TEST_F(batch, unreachable_entry_stops_with_efault_and_done)
{
	size_t page = page_size();
	size_t per_page = page / sizeof(struct softmem_batch_entry);
	struct softmem_batch_entry *e;
	unsigned int done = 99;
	uint8_t *map;
	size_t i, n = per_page + 1;

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	e = (struct softmem_batch_entry *)map;
	for (i = 0; i < per_page; i++)
		e[i] = (struct softmem_batch_entry) {
			.handle = self->h[i % NR], .op = SOFTMEM_BATCH_SUSPEND,
		};
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	EXPECT_EQ(-EFAULT, softmem_batch(self->pool, e, n, &done));
	EXPECT_EQ(per_page, done);

	/* Results unwritable: the resume there must not happen. */
	ASSERT_EQ(0, mprotect(map + page, page, PROT_READ | PROT_WRITE));
	for (i = 0; i < per_page; i++)
		e[i].op = SOFTMEM_BATCH_RESUME;
	e[per_page] = (struct softmem_batch_entry) {
		.handle = self->h[NR - 1], .op = SOFTMEM_BATCH_RESUME,
	};
	ASSERT_EQ(0, softmem_suspend(self->pool, self->h[NR - 1]));
	e[0].handle = self->h[NR - 1];
	ASSERT_EQ(0, mprotect(map, page, PROT_READ));
	EXPECT_EQ(-EFAULT, softmem_batch(self->pool, e, 1, &done));
	EXPECT_EQ(0, done);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED,
		  region_resume_state(self->pool, self->h[NR - 1]));
	munmap(map, 2 * page);
}

static void on_usr1(int sig)
{
}

struct signaller {
	pthread_t target;
	volatile bool stop;
};

static void *signal_loop(void *arg)
{
	struct signaller *s = arg;

	while (!s->stop) {
		pthread_kill(s->target, SIGUSR1);
		sched_yield();
	}
	return NULL;
}

/*
 * A signal stops a long batch with EINTR: entries up to done are applied
 * (suspended), the rest untouched (still resumed).  Bounded by rounds, not
 * time: a round where the batch finished first simply tries again.
 */
TEST_F_TIMEOUT(batch, signal_stops_with_eintr_and_done, 300)
{
	const unsigned int n = 1 << 16;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct softmem_batch_entry *e = calloc(n, sizeof(*e));
	struct signaller s = { .target = pthread_self() };
	unsigned int done = 0, i, round;
	pthread_t thread;
	uint64_t h;
	int ret = 0;

	ASSERT_NE(NULL, e);
	ASSERT_EQ(0, softmem_alloc(self->pool, page_size(), &h));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));	/* no SA_RESTART */
	ASSERT_EQ(0, pthread_create(&thread, NULL, signal_loop, &s));
	for (round = 0; round < 50 && ret != -EINTR; round++) {
		/* Suspends of one region: each is cheap, so many fit. */
		for (i = 0; i < n; i++)
			e[i] = (struct softmem_batch_entry) {
				.handle = h, .op = i % 2 ? SOFTMEM_BATCH_RESUME :
							   SOFTMEM_BATCH_SUSPEND,
				.error = 0x5a5a,
			};
		ret = softmem_batch(self->pool, e, n, &done);
	}
	s.stop = true;
	pthread_join(thread, NULL);
	TH_LOG("%u rounds, stopped after %u of %u entries", round, done, n);
	ASSERT_EQ(-EINTR, ret);
	EXPECT_LT(done, n);
	EXPECT_LT(0, done);
	for (i = 0; i < done; i++)
		if (e[i].error)
			break;
	EXPECT_EQ(done, i);
	for (i = done; i < n; i++)
		if (e[i].error != 0x5a5a)
			break;
	EXPECT_EQ(n, i) TH_LOG("entry %u past done was written", i);
	free(e);
}

struct batcher {
	int pool;
	struct softmem_batch *arg;
	int ret;
};

static void *run_batch(void *p)
{
	struct batcher *b = p;

	b->ret = softmem_raw_ioctl(b->pool, SOFTMEM_IOC_BATCH, b->arg);
	return NULL;
}

/*
 * done made unwritable while the batch runs (another thread protecting the
 * struct): the batch stops with EFAULT, done as last written.  The entry
 * then applied was a resume that found its region discarded; its result is
 * written, but done does not count it, so user space must not read it: the
 * resume is taken back, and the next one reports the loss.  Entries are a
 * page each, the second on a page under userfaultfd, so that the batch
 * stops there, between its two entries, while the test protects the struct.
 */
TEST_F(batch, done_unwritable_takes_resume_back)
{
	struct softmem_batch_entry first = {
		.handle = self->h[0], .op = SOFTMEM_BATCH_SUSPEND,
	}, second = {
		.handle = self->h[1], .op = SOFTMEM_BATCH_RESUME,
	}, *out;
	struct batcher b = { .pool = self->pool };
	struct uffdio_copy copy = { 0 };
	size_t page = page_size();
	struct uffd_msg msg;
	pthread_t thread;
	uint8_t *map, *src;
	int uffd;

	map = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	src = calloc(1, page);
	ASSERT_NE(NULL, src);
	uffd = uffd_watch_missing(_metadata, map + page, page);
	if (uffd < 0)
		SKIP(return, "no userfaultfd (%s): kernel without CONFIG_USERFAULTFD",
		     strerror(-uffd));
	ASSERT_EQ(0, softmem_suspend(self->pool, self->h[1]));
	ASSERT_EQ(0, drop_caches());

	/* Entry 0 on page 0, entry 1 on page 1, the struct on page 2. */
	memcpy(map, &first, sizeof(first));
	memcpy(src, &second, sizeof(second));
	b.arg = (struct softmem_batch *)(map + 2 * page);
	*b.arg = (struct softmem_batch) {
		.size = sizeof(*b.arg),
		.entries = (uintptr_t)map,
		.count = 2,
		.entry_size = page,
	};
	ASSERT_EQ(0, pthread_create(&thread, NULL, run_batch, &b));

	/* Stopped reading entry 1: entry 0 is done. */
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	EXPECT_EQ(1, b.arg->done);
	ASSERT_EQ(0, mprotect(b.arg, page, PROT_READ));
	copy.dst = (uintptr_t)map + page;
	copy.src = (uintptr_t)src;
	copy.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_COPY, &copy));
	ASSERT_EQ(0, pthread_join(thread, NULL));

	EXPECT_EQ(-EFAULT, b.ret);
	EXPECT_EQ(1, b.arg->done);
	out = (struct softmem_batch_entry *)map;
	EXPECT_EQ(0, out->error);
	EXPECT_EQ(0, out->state);
	/* Applied and written back, but past done. */
	out = (struct softmem_batch_entry *)(map + page);
	EXPECT_EQ(0, out->error);
	EXPECT_EQ(SOFTMEM_DISCARDED, out->state);
	/* So the loss is still to be reported, once. */
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool,
							 self->h[1]));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, self->h[1]));
	/* The suspend stays done: region 0 is suspended, and whole. */
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, self->h[0]));
	EXPECT_EQ(1, region_matches(self->pool, self->h[0], 0, page_size(), 1));
	close(uffd);
	free(src);
	munmap(map, 3 * page);
}

struct protector {
	struct softmem_batch *arg;
	size_t page;
	volatile bool stop;
};

/* Once the batch has applied an entry, makes its struct read-only. */
static void *protect_when_started(void *p)
{
	struct protector *pr = p;

	while (!pr->stop && !*(volatile __u32 *)&pr->arg->done)
		;
	if (!pr->stop)
		mprotect(pr->arg, pr->page, PROT_READ);
	return NULL;
}

/*
 * Runs the batch of entries @e[0..@n) from @arg, a page of its own made
 * writable first, while another thread makes it read-only once the batch
 * has applied an entry: 0 or -errno.
 */
static int batch_protected(int pool, struct softmem_batch *arg,
			   struct softmem_batch_entry *e, unsigned int n)
{
	struct protector pr = { .arg = arg, .page = page_size() };
	pthread_t thread;
	int ret;

	if (mprotect(arg, pr.page, PROT_READ | PROT_WRITE))
		return -errno;
	*arg = (struct softmem_batch) {
		.size = sizeof(*arg),
		.entries = (uintptr_t)e,
		.count = n,
		.entry_size = sizeof(*e),
	};
	ret = pthread_create(&thread, NULL, protect_when_started, &pr);
	if (ret)
		return -ret;
	ret = softmem_raw_ioctl(pool, SOFTMEM_IOC_BATCH, arg);
	pr.stop = true;
	pthread_join(thread, NULL);
	return ret;
}

/*
 * The same, on kernels without userfaultfd too: the struct made read-only
 * by another thread as soon as a long batch has applied an entry.  The
 * batch stops with EFAULT; done as last written counts entries applied
 * with their results written; the entry after them may have been applied
 * too, those past it are untouched.  Bounded by rounds, not time: a round
 * where the batch finished first tries again.
 */
TEST_F_TIMEOUT(batch, struct_made_read_only_stops_with_efault, 300)
{
	const unsigned int n = 1 << 16;
	struct softmem_batch_entry *e = calloc(n, sizeof(*e));
	size_t page = page_size();
	struct softmem_batch *arg;
	unsigned int i, round;
	int ret = 0;
	uint64_t h;

	ASSERT_NE(NULL, e);
	arg = mmap(NULL, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arg);
	ASSERT_EQ(0, softmem_alloc(self->pool, page, &h));
	for (round = 0; round < 20 && ret != -EFAULT; round++) {
		for (i = 0; i < n; i++)
			e[i] = (struct softmem_batch_entry) {
				.handle = h, .op = i % 2 ? SOFTMEM_BATCH_RESUME :
							   SOFTMEM_BATCH_SUSPEND,
				.state = 0xdead, .error = 0x5a5a,
			};
		ret = batch_protected(self->pool, arg, e, n);
		ASSERT_TRUE(ret == 0 || ret == -EFAULT) TH_LOG("%s", err_name(ret));
	}
	TH_LOG("%u rounds, stopped after %u of %u entries", round, arg->done,
	       n);
	ASSERT_EQ(-EFAULT, ret);
	EXPECT_LT(0, arg->done);
	EXPECT_GT(n, arg->done);
	for (i = 0; i < arg->done; i++)
		if (e[i].error || e[i].state != (i % 2 ? SOFTMEM_INTACT : 0))
			break;
	EXPECT_EQ(arg->done, i) TH_LOG("entry %u: error %lld, state %u", i,
				       (long long)e[i].error, e[i].state);
	for (i = arg->done + 1; i < n; i++)
		if (e[i].error != 0x5a5a || e[i].state != 0xdead)
			break;
	EXPECT_EQ(n, i) TH_LOG("entry %u past done was written", i);
	/* The region is whole, and works. */
	EXPECT_EQ(0, softmem_resume(self->pool, h, NULL));
	EXPECT_EQ(0, softmem_write(self->pool, h, 0, "x", 1));
	munmap(arg, page);
	free(e);
}

/*
 * The same with resumes that each find their region discarded: the entry
 * whose done the batch could not write is applied and written back, but
 * user space must take it as not done, so its region's loss is reported
 * again by the next resume; the entries before it are reported, those
 * after it untouched.  A round the batch finishes first writes the regions
 * again for the next.
 */
TEST_F_TIMEOUT(batch, done_unwritable_after_discarded_resume_keeps_loss, 300)
{
	const unsigned int n = 2048;
	struct softmem_batch_entry *e = calloc(n, sizeof(*e));
	uint64_t *h = calloc(n, sizeof(*h));
	size_t page = page_size();
	struct softmem_batch *arg;
	unsigned int i, round, k;
	int ret = 0;

	ASSERT_NE(NULL, e);
	ASSERT_NE(NULL, h);
	arg = mmap(NULL, page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arg);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, softmem_alloc(self->pool, page, &h[i]));
	for (round = 0; round < 20; round++) {
		for (i = 0; i < n; i++) {
			ASSERT_EQ(0, softmem_write(self->pool, h[i], 0, "x", 1));
			ASSERT_EQ(0, softmem_suspend(self->pool, h[i]));
		}
		ASSERT_EQ(0, drop_caches());
		fill(e, h, n, SOFTMEM_BATCH_RESUME);
		ret = batch_protected(self->pool, arg, e, n);
		ASSERT_TRUE(ret == 0 || ret == -EFAULT) TH_LOG("%s", err_name(ret));
		if (ret == -EFAULT && arg->done < n)
			break;
	}
	k = arg->done;
	TH_LOG("%u rounds, stopped after %u of %u entries", round + 1, k, n);
	ASSERT_EQ(-EFAULT, ret);
	ASSERT_GT(n, k);
	EXPECT_LT(0, k);
	for (i = 0; i < k; i++)
		if (e[i].error || e[i].state != SOFTMEM_DISCARDED)
			break;
	EXPECT_EQ(k, i) TH_LOG("entry %u: error %lld, state %u", i,
			       (long long)e[i].error, e[i].state);
	/* Applied and written back, but past done: the loss stays. */
	EXPECT_EQ(0, e[k].error);
	EXPECT_EQ(SOFTMEM_DISCARDED, e[k].state);
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool, h[k]));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h[k]));
	/* Reported before it; never applied after it. */
	if (k)
		EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool,
							      h[k - 1]));
	for (i = k + 1; i < n; i++)
		if (e[i].error != 0x5a5a || e[i].state != 0xdead)
			break;
	EXPECT_EQ(n, i) TH_LOG("entry %u past done was written", i);
	if (k + 1 < n)
		EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->pool,
								 h[k + 1]));
	munmap(arg, page);
	free(h);
	free(e);
}

TEST_HARNESS_MAIN
