// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_lifecycle: the module and pools coming and going under use.
 *
 *  - module: 100 cycles of rmmod + insmod, taking turns with nothing open,
 *    with a pool open (rmmod fails, the module stays usable, closing lets it
 *    go) and with a child hammering its pool (rmmod fails while the child
 *    holds the pool; once the child is killed, mid-ioctl, unloading works).
 *    The module is left loaded.  It unloads softmem.ko, so run_all.sh runs
 *    this program last, with softmem_module.  SOFTMEM_LIFECYCLE_CYCLES
 *    changes the number of cycles (at least 3: make check's KCSAN leg, which
 *    looks for races rather than leaks, runs fewer).
 *  - close: a pool closed by one thread while others are inside long reads,
 *    writes, copies and compares on it.  The calls in flight finish or fail
 *    cleanly, the pool goes only after the last one, and the module's
 *    counters come back to their start values.
 *  - fork: a child shares its parent's pools.
 */
#include "softmem_test.h"

#include <pthread.h>
#include <sys/syscall.h>

#define CYCLES		100

/*
 * Whether the module's live counters reach @want within 5 s: a pool goes
 * when the last reference to its file is dropped, which for a killed child
 * may be just after the parent is told that it exited.  Reports the first
 * counter that does not.
 */
static bool live_reach(const uint64_t *want)
{
	uint64_t now[NR_MODULE_LIVE_STATS];
	size_t i;
	int tries;

	for (tries = 0; tries < 500; tries++) {
		if (module_live_read(now)) {
			ksft_print_msg("cannot read the module's counters\n");
			return false;
		}
		for (i = 0; i < NR_MODULE_LIVE_STATS && now[i] == want[i]; i++)
			;
		if (i == NR_MODULE_LIVE_STATS)
			return true;
		usleep(10000);
	}
	ksft_print_msg("module %s is %llu, not %llu\n", module_live_stats[i],
		       (unsigned long long)now[i], (unsigned long long)want[i]);
	return false;
}

/* A small region round trip on @pool: 0 or -errno. */
static int pool_works(int pool, unsigned int seed)
{
	uint64_t h;
	int ret = region_alloc_filled(pool, 3 * page_size(), seed, &h);

	if (ret)
		return ret;
	ret = region_matches(pool, h, 0, 3 * page_size(), seed);
	if (ret != 1)
		return ret < 0 ? ret : -EIO;
	return softmem_free(pool, h);
}

/* --- module load and unload ------------------------------------------- */

FIXTURE(lifecycle) {
	bool unloaded;		/* teardown reloads the module */
	pid_t child;		/* teardown kills it when > 0 */
	uint64_t seed;
};

FIXTURE_SETUP(lifecycle)
{
	SKIP_IF_NO_DEVICE();
	if (geteuid())
		SKIP(return, "not root: cannot load modules");
	if (access(SOFTMEM_MODULE_KO, R_OK))
		SKIP(return, "%s missing: cannot reload the module",
		     SOFTMEM_MODULE_KO);
	self->seed = getpid();
}

FIXTURE_TEARDOWN(lifecycle)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->unloaded && access(SOFTMEM_MODULE_SYSFS, F_OK))
		insmod_softmem();
}

/*
 * What rmmod does (busybox's too): delete_module(O_NONBLOCK), which fails
 * with EWOULDBLOCK while the module is in use.  Called directly to check the
 * errno and keep rmmod's complaint out of the log.
 */
static int delete_softmem(void)
{
	if (syscall(SYS_delete_module, "softmem", O_NONBLOCK))
		return -errno;
	return 0;
}

/* rmmod with busybox; then the device, sysfs and module are gone. */
static void unload(struct __test_metadata *_metadata,
		   FIXTURE_DATA(lifecycle) *self)
{
	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	ASSERT_TRUE(wait_for_path(SOFTMEM_MODULE_SYSFS, false));
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, false));
	ASSERT_EQ(-ENOENT, softmem_open());
}

static void load(struct __test_metadata *_metadata,
		 FIXTURE_DATA(lifecycle) *self)
{
	uint64_t zero[NR_MODULE_LIVE_STATS] = { 0 };

	ASSERT_EQ(0, insmod_softmem());
	self->unloaded = false;
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
	EXPECT_TRUE(live_reach(zero));
}

/* In use by @pool: unloading fails and changes nothing. */
static void unload_refused(struct __test_metadata *_metadata, int pool)
{
	int other;

	ASSERT_EQ(-EWOULDBLOCK, delete_softmem());
	ASSERT_EQ(0, access(SOFTMEM_MODULE_SYSFS, F_OK));
	EXPECT_EQ(0, pool_works(pool, 5));
	other = softmem_open();
	ASSERT_LE(0, other);
	EXPECT_EQ(0, pool_works(other, 6));
	EXPECT_EQ(0, softmem_close(other));
}

static void cycle_idle(struct __test_metadata *_metadata,
		       FIXTURE_DATA(lifecycle) *self)
{
	int pool = softmem_open();

	/* Used once, so that unloading has something to have cleaned up. */
	ASSERT_LE(0, pool);
	EXPECT_EQ(0, pool_works(pool, 1));
	EXPECT_EQ(0, softmem_close(pool));
	unload(_metadata, self);
}

static void cycle_pool_open(struct __test_metadata *_metadata,
			    FIXTURE_DATA(lifecycle) *self)
{
	uint64_t h, s;
	int pool = softmem_open();

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, 8 * page_size(), 2, &h));
	ASSERT_EQ(0, region_alloc_filled(pool, 4 * page_size(), 3, &s));
	ASSERT_EQ(0, softmem_suspend(pool, s));
	unload_refused(_metadata, pool);
	EXPECT_EQ(1, region_matches(pool, h, 0, 8 * page_size(), 2));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(pool, s));
	EXPECT_EQ(0, softmem_close(pool));
	unload(_metadata, self);
}

/* Until killed: every kind of call on its own pool, in a loop. */
static void __attribute__((noreturn)) hammer(int ready_fd)
{
	size_t page = page_size(), length = 3 * page;
	uint8_t *buf = malloc(length);
	uint64_t h[4] = { 0 };
	unsigned int i;
	bool discarded;
	int pool = softmem_open();

	if (pool < 0 || !buf)
		_exit(1);
	for (i = 0; i < 4; i++)
		if (softmem_alloc(pool, 64 * page, &h[i]))
			_exit(2);
	if (write(ready_fd, "r", 1) != 1)
		_exit(3);
	for (i = 0;; i++) {
		uint64_t a = h[i % 4], b = h[(i + 1) % 4];

		memset(buf, i, length);
		softmem_write(pool, a, i % 60 * page, buf, length);
		softmem_copy(pool, b, 0, a, 0, 32 * page);
		softmem_read(pool, b, page, buf, length);
		softmem_suspend(pool, a);
		softmem_resume(pool, a, &discarded);
		if (i % 16 == 0) {
			softmem_free(pool, b);
			softmem_alloc(pool, 64 * page, &h[(i + 1) % 4]);
		}
	}
}

static void cycle_in_flight(struct __test_metadata *_metadata,
			    FIXTURE_DATA(lifecycle) *self)
{
	uint64_t start[NR_MODULE_LIVE_STATS] = { 0 };
	int ready[2], pool;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(ready[0]);
		hammer(ready[1]);
	}
	self->child = pid;
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1));
	close(ready[0]);

	/* While the child runs, with and without a pool of our own. */
	ASSERT_EQ(-EWOULDBLOCK, delete_softmem());
	pool = softmem_open();
	ASSERT_LE(0, pool);
	unload_refused(_metadata, pool);
	EXPECT_EQ(0, softmem_close(pool));
	ASSERT_EQ(-EWOULDBLOCK, delete_softmem());
	usleep(1000 + test_rand_below(&self->seed, 20000));

	/* Killed in the middle of whatever it was doing. */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	self->child = 0;
	ASSERT_EQ(128 + SIGKILL, wait_child(pid));
	EXPECT_TRUE(live_reach(start));
	unload(_metadata, self);
}

/*
 * An exported descriptor holds the module after its pool is closed, and a
 * mapping after the descriptor is closed: unloading is refused until the
 * last of them goes, and the region's pages live exactly as long.
 */
TEST_F(lifecycle, exported_and_mapped_regions_refuse_unload)
{
	size_t length = 4 * page_size();
	uint64_t zero[NR_MODULE_LIVE_STATS] = { 0 };
	uint64_t h;
	uint8_t *p;
	int pool, fd;
	size_t i;

	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, length, 9, &h));
	fd = softmem_export(pool, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, softmem_close(pool));
	EXPECT_EQ(-EWOULDBLOCK, delete_softmem());

	p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(-EWOULDBLOCK, delete_softmem());
	ASSERT_EQ(0, access(SOFTMEM_MODULE_SYSFS, F_OK));
	for (i = 0; i < length; i++)
		if (p[i] != pattern_byte(i, 9))
			break;
	EXPECT_EQ(length, i);

	ASSERT_EQ(0, munmap(p, length));
	ASSERT_TRUE(live_reach(zero));
	unload(_metadata, self);
	load(_metadata, self);
}

TEST_F_TIMEOUT(lifecycle, unload_reload_100_cycles, 600)
{
	uint64_t asked = env_u64("SOFTMEM_LIFECYCLE_CYCLES", CYCLES);
	int cycles = asked >= 3 && asked <= 100000 ? (int)asked : CYCLES;
	double spent[3] = { 0 }, t;
	int i;

	TH_LOG("seed %llu, %d cycles (SOFTMEM_LIFECYCLE_CYCLES)",
	       (unsigned long long)self->seed, cycles);
	for (i = 0; i < cycles && !_metadata->exit_code; i++) {
		t = now_seconds();
		switch (i % 3) {
		case 0:
			cycle_idle(_metadata, self);
			break;
		case 1:
			cycle_pool_open(_metadata, self);
			break;
		case 2:
			cycle_in_flight(_metadata, self);
			break;
		}
		load(_metadata, self);
		spent[i % 3] += now_seconds() - t;
	}
	EXPECT_EQ(cycles, i);
	TH_LOG("%d cycles; seconds each: idle %.2f, pool open %.2f, in flight %.2f",
	       i, spent[0] / ((i + 2) / 3), spent[1] / ((i + 1) / 3),
	       spent[2] / (i / 3));
	ASSERT_EQ(0, access(SOFTMEM_DEVICE_PATH, R_OK | W_OK));
}

/* --- closing a pool with calls in flight ------------------------------- */

#define BIG		(4 * MiB)
#define CLOSE_THREADS	4
#define CLOSE_ROUNDS	24

struct closer {
	int pool;
	uint64_t a, b;		/* BIG regions, a holding data */
	int kind;		/* 0 read, 1 write, 2 copy, 3 compare + find */
	uint8_t *buf;		/* BIG */
	const bool *closed;	/* set once close() has returned */
	unsigned int calls;	/* calls that succeeded */
	unsigned int spanned;	/* of which in flight across the close */
	int error;		/* first unexpected result, 0 if none */
};

/*
 * Until the pool's descriptor is closed: calls that take a while on BIG
 * regions.  A call in flight when the descriptor is closed must finish (0);
 * the next one gets EBADF.  Nothing opens files meanwhile, so the number is
 * not reused.  A call that succeeds and finds close() returned was in
 * flight across it: it began before the close, or it would get EBADF.
 */
static void *closer_thread(void *arg)
{
	struct closer *c = arg;
	int64_t pos;
	int ret, cmp;

	for (;;) {
		switch (c->kind) {
		case 0:
			ret = softmem_read(c->pool, c->a, 0, c->buf, BIG);
			break;
		case 1:
			ret = softmem_write(c->pool, c->b, 0, c->buf, BIG);
			break;
		case 2:
			ret = softmem_copy(c->pool, c->b, 0, c->a, 0, BIG);
			break;
		default:
			ret = softmem_compare(c->pool, c->a, 0, c->b, 0, BIG,
					      &cmp);
			if (!ret)
				ret = softmem_find(c->pool, c->a, 0, BIG, 0,
						   &pos);
			break;
		}
		if (ret == -EBADF)
			return NULL;
		if (ret) {
			c->error = ret;
			return NULL;
		}
		c->calls++;
		if (__atomic_load_n(c->closed, __ATOMIC_ACQUIRE))
			c->spanned++;
	}
}

/* One round: a pool, its two regions and the threads working on them. */
struct close_round {
	int pool;
	uint64_t a, b;
	bool closed;
	struct closer c[CLOSE_THREADS];
	pthread_t threads[CLOSE_THREADS];
};

FIXTURE(close_in_flight) {
	uint64_t start[NR_MODULE_LIVE_STATS];
	uint64_t seed;
	uint8_t *bufs[CLOSE_THREADS];
	struct close_round r;
};

FIXTURE_SETUP(close_in_flight)
{
	int i;

	SKIP_IF_NO_DEVICE();
	ASSERT_EQ(0, module_live_read(self->start));
	for (i = 0; i < CLOSE_THREADS; i++) {
		self->bufs[i] = malloc(BIG);
		ASSERT_NE(NULL, self->bufs[i]);
		memset(self->bufs[i], i + 1, BIG);
	}
	self->seed = getpid();
	TH_LOG("seed %llu", (unsigned long long)self->seed);
}

FIXTURE_TEARDOWN(close_in_flight)
{
	int i;

	for (i = 0; i < CLOSE_THREADS; i++)
		free(self->bufs[i]);
}

static void round_start(struct __test_metadata *_metadata,
			FIXTURE_DATA(close_in_flight) *self, int round)
{
	struct close_round *r = &self->r;
	int i;

	r->pool = softmem_open();
	ASSERT_LE(0, r->pool);
	ASSERT_EQ(0, region_alloc_filled(r->pool, BIG, 1, &r->a));
	ASSERT_EQ(0, softmem_alloc(r->pool, BIG, &r->b));
	r->closed = false;
	for (i = 0; i < CLOSE_THREADS; i++) {
		r->c[i] = (struct closer){
			.pool = r->pool, .a = r->a, .b = r->b,
			.buf = self->bufs[i], .kind = (round + i) % 4,
			.closed = &r->closed,
		};
		ASSERT_EQ(0, pthread_create(&r->threads[i], NULL,
					    closer_thread, &r->c[i]));
	}
}

/* Close the pool under the threads and wait for them. */
static void round_close(struct __test_metadata *_metadata,
			FIXTURE_DATA(close_in_flight) *self)
{
	struct close_round *r = &self->r;
	int i;

	EXPECT_EQ(0, close(r->pool));
	__atomic_store_n(&r->closed, true, __ATOMIC_RELEASE);
	for (i = 0; i < CLOSE_THREADS; i++)
		ASSERT_EQ(0, pthread_join(r->threads[i], NULL));
	/* The last call in flight dropped the pool. */
	EXPECT_TRUE(live_reach(self->start));
}

TEST_F_TIMEOUT(close_in_flight, close_while_threads_in_ioctls, 300)
{
	unsigned int calls = 0, spanned = 0;
	int round, i;

	for (round = 0; round < CLOSE_ROUNDS; round++) {
		round_start(_metadata, self, round);
		usleep(test_rand_below(&self->seed, 40000));
		round_close(_metadata, self);
		for (i = 0; i < CLOSE_THREADS; i++) {
			struct closer *c = &self->r.c[i];

			EXPECT_EQ(0, c->error)
				TH_LOG("round %d, kind %d: %s", round, c->kind,
				       strerror(-c->error));
			calls += c->calls;
			spanned += c->spanned;
		}
	}
	TH_LOG("%u calls, %u of them in flight across one of %d closes",
	       calls, spanned, CLOSE_ROUNDS);
	/* Else the test missed its point: delays too long for the calls. */
	EXPECT_LT(0, spanned);
}

/*
 * The same while a region is suspended and reclaimed and the other freed
 * under the calls: each call completes or fails cleanly (ENOENT, ESTALE).
 */
TEST_F_TIMEOUT(close_in_flight, free_and_reclaim_under_calls, 300)
{
	int round, i, ret;

	for (round = 0; round < CLOSE_ROUNDS / 2; round++) {
		round_start(_metadata, self, round);
		usleep(test_rand_below(&self->seed, 20000));
		EXPECT_EQ(0, softmem_suspend(self->r.pool, self->r.a));
		EXPECT_EQ(0, drop_caches());
		usleep(test_rand_below(&self->seed, 20000));
		EXPECT_EQ(0, softmem_free(self->r.pool, self->r.b));
		usleep(test_rand_below(&self->seed, 20000));
		round_close(_metadata, self);
		for (i = 0; i < CLOSE_THREADS; i++) {
			ret = self->r.c[i].error;
			EXPECT_TRUE(!ret || ret == -ENOENT || ret == -ESTALE)
				TH_LOG("round %d, kind %d: %s", round,
				       self->r.c[i].kind, strerror(-ret));
		}
	}
}

/* --- fork ----------------------------------------------------------------- */

/*
 * What a child gets: fork() copies the descriptor table, not the pool.  The
 * child's descriptor is the same open file of /dev/softmem, so it is the same
 * pool: the same handles, the same data (one copy, not copy-on-write), the
 * same limit and counters, and a write or free by either is seen by the
 * other.  The pool lives until the last descriptor of that file is closed,
 * in whichever process; a process that exits closes its own.  (libsoftmem
 * opens with O_CLOEXEC: exec() closes it, fork() does not.)
 *
 * Children report through EXPECT_*() and their exit status, never ASSERT_*().
 */
FIXTURE(fork_pool) {
	uint64_t start[NR_MODULE_LIVE_STATS];
	int pool;
	int to_child[2], to_parent[2];
	pid_t child;
};

FIXTURE_SETUP(fork_pool)
{
	SKIP_IF_NO_DEVICE();
	self->child = -1;
	ASSERT_EQ(0, module_live_read(self->start));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, pipe(self->to_child));
	ASSERT_EQ(0, pipe(self->to_parent));
}

FIXTURE_TEARDOWN(fork_pool)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->pool >= 0)
		close(self->pool);
}

/* One byte through a pipe: a step of the other side is done. */
static bool step_send(int fd)
{
	return write(fd, "s", 1) == 1;
}

static bool step_wait(int fd)
{
	char c;

	return read(fd, &c, 1) == 1;
}

TEST_F(fork_pool, child_shares_handles_and_data)
{
	struct softmem_stats stats;
	uint64_t h, from_child = 0;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * page_size(), 1, &h));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		/* Same handle, same data; then changes of its own. */
		EXPECT_EQ(1, region_matches(self->pool, h, 0, 4 * page_size(), 1));
		EXPECT_EQ(0, region_write_pattern(self->pool, h, page_size(),
						  page_size(), 2));
		EXPECT_EQ(0, region_alloc_filled(self->pool, page_size(), 3,
						 &from_child));
		EXPECT_EQ((ssize_t)sizeof(from_child),
			  write(self->to_parent[1], &from_child,
				sizeof(from_child)));
		/* The parent's write, seen here. */
		EXPECT_TRUE(step_wait(self->to_child[0]));
		EXPECT_EQ(1, region_matches(self->pool, h, 0, page_size(), 4));
		EXPECT_EQ(0, softmem_close(self->pool));
		_exit(_metadata->exit_code);
	}
	ASSERT_EQ((ssize_t)sizeof(from_child),
		  read(self->to_parent[0], &from_child, sizeof(from_child)));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, page_size(), 1));
	EXPECT_EQ(1, region_matches(self->pool, h, page_size(), page_size(), 2));
	EXPECT_EQ(1, region_matches(self->pool, from_child, 0, page_size(), 3));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(2, stats.regions);
	EXPECT_EQ(5 * page_size(), stats.resident_bytes);
	EXPECT_EQ(0, region_write_pattern(self->pool, h, 0, page_size(), 4));
	ASSERT_TRUE(step_send(self->to_child[1]));
	EXPECT_EQ(0, wait_child(self->child));
	self->child = -1;
	/* The child's close did not end the pool. */
	EXPECT_EQ(1, region_matches(self->pool, from_child, 0, page_size(), 3));
}

TEST_F(fork_pool, pool_lives_until_both_close)
{
	uint64_t pools, h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * page_size(), 1, &h));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		/* The parent has closed: the pool is still here. */
		EXPECT_TRUE(step_wait(self->to_child[0]));
		EXPECT_EQ(1, region_matches(self->pool, h, 0, 2 * page_size(), 1));
		EXPECT_EQ(0, pool_works(self->pool, 7));
		EXPECT_EQ(0, softmem_close(self->pool));
		EXPECT_TRUE(step_send(self->to_parent[1]));
		EXPECT_TRUE(step_wait(self->to_child[0]));
		_exit(_metadata->exit_code);
	}
	EXPECT_EQ(0, softmem_close(self->pool));
	self->pool = -1;
	ASSERT_EQ(0, module_stat("pools", &pools));
	EXPECT_EQ(self->start[0] + 1, pools);
	ASSERT_TRUE(step_send(self->to_child[1]));
	ASSERT_TRUE(step_wait(self->to_parent[0]));
	/* Both closed; the child is still alive. */
	EXPECT_TRUE(live_reach(self->start));
	ASSERT_TRUE(step_send(self->to_child[1]));
	EXPECT_EQ(0, wait_child(self->child));
	self->child = -1;
}

TEST_F(fork_pool, child_exits_without_closing)
{
	uint64_t pools, h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * page_size(), 1, &h));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		EXPECT_EQ(0, region_write_pattern(self->pool, h, 0, page_size(),
						  2));
		_exit(_metadata->exit_code);	/* pool still open */
	}
	EXPECT_EQ(0, wait_child(self->child));
	self->child = -1;
	EXPECT_EQ(1, region_matches(self->pool, h, 0, page_size(), 2));
	EXPECT_EQ(1, region_matches(self->pool, h, page_size(), page_size(), 1));
	EXPECT_EQ(0, pool_works(self->pool, 3));
	ASSERT_EQ(0, module_stat("pools", &pools));
	EXPECT_EQ(self->start[0] + 1, pools);
	EXPECT_EQ(0, softmem_close(self->pool));
	self->pool = -1;
	EXPECT_TRUE(live_reach(self->start));
}

TEST_F(fork_pool, last_holder_exiting_frees_the_pool)
{
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * page_size(), 1, &h));
	ASSERT_EQ(0, softmem_suspend(self->pool, h));
	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child) {
		EXPECT_TRUE(step_wait(self->to_child[0]));
		EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->pool, h));
		EXPECT_EQ(1, region_matches(self->pool, h, 0, 4 * page_size(), 1));
		_exit(_metadata->exit_code);	/* the last holder */
	}
	EXPECT_EQ(0, softmem_close(self->pool));
	self->pool = -1;
	ASSERT_TRUE(step_send(self->to_child[1]));
	EXPECT_EQ(0, wait_child(self->child));
	self->child = -1;
	EXPECT_TRUE(live_reach(self->start));
}

TEST_HARNESS_MAIN
