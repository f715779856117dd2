// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_shared: one region, several holders.
 *
 * SOFTMEM_IOC_EXPORT turns a handle into a file descriptor for its region,
 * SOFTMEM_IOC_IMPORT such a descriptor into a new handle, in any pool, that
 * starts suspended.  Each handle has its own state: the region can be
 * discarded only while no handle holds it resumed, each handle's next resume
 * reports a discard once, and until then its data operations fail with
 * ESTALE.  The descriptor keeps the region alive but holds it in no state.
 * The pages stay charged to the pool that allocated the region, and are
 * freed when the last handle and the last descriptor are gone.
 *
 * Pool "a" allocates and exports, pool "b" imports.  Children report through
 * EXPECT_*() and their exit status, never ASSERT_*().  Every test runs with
 * both pools suspending and resuming by ioctl ("ioctl"), with both through
 * state words ("lockfree", see softmem_words.c), and with "a" through its
 * words and "b" by ioctl ("mixed").
 */
#include "softmem_test.h"

#include <sys/resource.h>

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>

#define SHARED_REGIONS	16
#define SHELL		"/bin/sh"

FIXTURE(shared) {
	int a;				/* allocates and exports */
	int b;				/* imports */
	size_t page;
	uint64_t saved_pool_max_regions;	/* restored when nonzero */
};

FIXTURE_VARIANT(shared) {
	bool lockfree_a;
	bool lockfree_b;
};

FIXTURE_VARIANT_ADD(shared, ioctl) {};
FIXTURE_VARIANT_ADD(shared, lockfree) {
	.lockfree_a = true, .lockfree_b = true
};
FIXTURE_VARIANT_ADD(shared, mixed) { .lockfree_a = true };

/* A pool for the test, lock-free if @lockfree. */
static int shared_pool(bool lockfree)
{
	int pool = softmem_open(), ret;

	if (pool < 0 || !lockfree)
		return pool;
	ret = softmem_lockfree(pool, LOCKFREE_HANDLES);
	if (ret) {
		softmem_close(pool);
		return ret;
	}
	return pool;
}

FIXTURE_SETUP(shared)
{
	SKIP_IF_NO_DEVICE();
	self->page = page_size();
	self->a = shared_pool(variant->lockfree_a);
	ASSERT_LE(0, self->a);
	self->b = shared_pool(variant->lockfree_b);
	ASSERT_LE(0, self->b);
}

FIXTURE_TEARDOWN(shared)
{
	if (self->saved_pool_max_regions)
		set_module_param("pool_max_regions",
				 self->saved_pool_max_regions);
	if (self->b > 0)
		softmem_close(self->b);
	if (self->a > 0)
		softmem_close(self->a);
}

static bool fd_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

/* --- export --------------------------------------------------------------- */

TEST_F(shared, export_gives_cloexec_fd)
{
	uint64_t h;
	int fd, again;

	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 1, &h));
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd) TH_LOG("export: %s", err_name(fd));
	EXPECT_NE(self->a, fd);
	EXPECT_NE(self->b, fd);
	EXPECT_TRUE(fd_cloexec(fd));
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	/* Every export is a new descriptor. */
	again = softmem_export(self->a, h, 0);
	ASSERT_LE(0, again);
	EXPECT_NE(fd, again);
	EXPECT_EQ(0, close(again));
	EXPECT_EQ(0, close(fd));
	/* The handle is as it was. */
	EXPECT_EQ(1, region_matches(self->a, h, 0, 2 * self->page, 1));
}

/* The descriptor holds the region in no state, and exporting changes none. */
TEST_F(shared, export_changes_no_state)
{
	uint64_t kept, idle;
	int kept_fd, idle_fd;

	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 1, &kept));
	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 2, &idle));
	ASSERT_EQ(0, softmem_suspend(self->a, idle));
	kept_fd = softmem_export(self->a, kept, 0);
	idle_fd = softmem_export(self->a, idle, 0);
	ASSERT_LE(0, kept_fd);
	ASSERT_LE(0, idle_fd);
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->a, kept));
	EXPECT_EQ(1, region_matches(self->a, kept, 0, 2 * self->page, 1));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->a, idle));
	EXPECT_EQ(0, close(kept_fd));
	EXPECT_EQ(0, close(idle_fd));
}

/*
 * With no descriptor free, export fails with EMFILE after making the file:
 * that file goes without a trace, and the region keeps its state and data.
 */
TEST_F(shared, export_without_free_fd_emfile)
{
	struct softmem_stats before, after;
	struct rlimit saved, none;
	int fd, lowest;
	uint64_t h;

	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 1, &h));
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, pool_stats(self->a, &before));
	lowest = lowest_free_fd();
	ASSERT_LE(0, lowest);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &saved));
	none = saved;
	none.rlim_cur = lowest;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &none));
	fd = softmem_export(self->a, h, 0);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &saved));
	EXPECT_EQ(-EMFILE, fd);
	EXPECT_EQ(lowest, lowest_free_fd());
	ASSERT_EQ(0, pool_stats(self->a, &after));
	EXPECT_EQ(before.regions, after.regions);
	EXPECT_EQ(before.resident_bytes, after.resident_bytes);
	EXPECT_EQ(before.suspended_bytes, after.suspended_bytes);
	/* Still suspended, and still whole. */
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->a, h));
	EXPECT_EQ(1, region_matches(self->a, h, 0, 2 * self->page, 1));
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
}

TEST_F(shared, export_unknown_flags_einval)
{
	struct softmem_export arg = { .size = sizeof(arg) };
	int next_fd = lowest_free_fd();
	unsigned int bit;
	uint64_t h;

	ASSERT_LE(0, next_fd);
	ASSERT_EQ(0, softmem_alloc(self->a, self->page, &h));
	arg.handle = h;
	for (bit = 0; bit < 32; bit++) {
		if (SOFTMEM_EXPORT_VALID_FLAGS & (1U << bit))
			continue;
		arg.flags = 1U << bit;
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->a,
						     SOFTMEM_IOC_EXPORT, &arg))
			TH_LOG("flag bit %u", bit);
	}
	EXPECT_EQ(-EINVAL, softmem_export(self->a, h, ~0U));
	EXPECT_EQ(-EINVAL, softmem_export(self->a, h,
					  (unsigned int)~SOFTMEM_EXPORT_VALID_FLAGS));
	/* No descriptor was made. */
	EXPECT_EQ(next_fd, lowest_free_fd());
}

TEST_F(shared, export_reserved_einval)
{
	struct softmem_export arg = { .size = sizeof(arg) };
	uint32_t reserved[] = { 1, 0x80000000, ~0U };
	int next_fd = lowest_free_fd();
	uint64_t h;
	size_t i;

	ASSERT_LE(0, next_fd);
	ASSERT_EQ(0, softmem_alloc(self->a, self->page, &h));
	arg.handle = h;
	for (i = 0; i < ARRAY_SIZE(reserved); i++) {
		arg.__reserved = reserved[i];
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(self->a,
						     SOFTMEM_IOC_EXPORT, &arg))
			TH_LOG("__reserved %#x", reserved[i]);
	}
	EXPECT_EQ(next_fd, lowest_free_fd());
}

TEST_F(shared, export_bad_handle_enoent)
{
	int next_fd = lowest_free_fd();
	uint64_t h, freed;

	ASSERT_LE(0, next_fd);
	ASSERT_EQ(0, softmem_alloc(self->a, self->page, &h));
	ASSERT_EQ(0, softmem_alloc(self->a, self->page, &freed));
	ASSERT_EQ(0, softmem_free(self->a, freed));
	EXPECT_EQ(-ENOENT, softmem_export(self->a, 0, 0));
	EXPECT_EQ(-ENOENT, softmem_export(self->a, freed, 0));
	EXPECT_EQ(-ENOENT, softmem_export(self->a, h + 1000, 0));
	EXPECT_EQ(-ENOENT, softmem_export(self->a, h | 1ULL << 32, 0));
	EXPECT_EQ(-ENOENT, softmem_export(self->a, UINT64_MAX, 0));
	/* A handle of pool a means nothing in pool b, which has none. */
	EXPECT_EQ(-ENOENT, softmem_export(self->b, h, 0));
	EXPECT_EQ(next_fd, lowest_free_fd());
}

/* --- import --------------------------------------------------------------- */

TEST_F(shared, import_starts_suspended)
{
	struct softmem_stats stats;
	uint64_t h, hb;

	ASSERT_EQ(0, region_alloc_filled(self->a, 4 * self->page, 1, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(1, stats.regions);
	EXPECT_EQ(0, stats.resident_bytes);
	/* Only a's handle holds it resumed: once a suspends, it can go. */
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->b, hb));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->a, h));
}

TEST_F(shared, import_sees_same_bytes)
{
	uint64_t length = 4 * self->page, h, hb;

	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	/* The first read resumes b's handle: nothing was lost. */
	EXPECT_EQ(1, region_matches(self->b, hb, 0, length, 1));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->b, hb));

	/* b writes, a reads; a writes, b reads. */
	ASSERT_EQ(0, region_write_pattern(self->b, hb, self->page - 100,
					  self->page + 200, 2));
	EXPECT_EQ(1, region_matches(self->a, h, 0, self->page - 100, 1));
	EXPECT_EQ(1, region_matches(self->a, h, self->page - 100,
				    self->page + 200, 2));
	EXPECT_EQ(1, region_matches(self->a, h, 2 * self->page + 100,
				    2 * self->page - 100, 1));
	ASSERT_EQ(0, region_write_pattern(self->a, h, 3 * self->page,
					  self->page, 3));
	EXPECT_EQ(1, region_matches(self->b, hb, 3 * self->page, self->page,
				    3));
}

TEST_F(shared, import_closed_fd_ebadf)
{
	struct softmem_stats stats;
	uint64_t h, hb = 0;
	int fd;

	ASSERT_EQ(0, softmem_alloc(self->a, self->page, &h));
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	EXPECT_EQ(-EBADF, softmem_import(self->b, fd, &hb, NULL));
	EXPECT_EQ(-EBADF, softmem_import(self->b, -1, &hb, NULL));
	EXPECT_EQ(-EBADF, softmem_import(self->b, INT_MAX, &hb, NULL));
	EXPECT_EQ(0, hb);
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(0, stats.regions);
}

TEST_F(shared, import_non_softmem_fd_einval)
{
	struct softmem_stats stats;
	int pipe_fd[2], null_fd;
	uint64_t hb = 0;

	ASSERT_EQ(0, pipe2(pipe_fd, O_CLOEXEC));
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, null_fd);
	EXPECT_EQ(-EINVAL, softmem_import(self->b, pipe_fd[0], &hb, NULL));
	EXPECT_EQ(-EINVAL, softmem_import(self->b, pipe_fd[1], &hb, NULL));
	EXPECT_EQ(-EINVAL, softmem_import(self->b, null_fd, &hb, NULL));
	/* A pool is no region: neither another pool nor the importer. */
	EXPECT_EQ(-EINVAL, softmem_import(self->b, self->a, &hb, NULL));
	EXPECT_EQ(-EINVAL, softmem_import(self->b, self->b, &hb, NULL));
	EXPECT_EQ(0, hb);
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(0, stats.regions);
	close(pipe_fd[0]);
	close(pipe_fd[1]);
	close(null_fd);
}

/* The length is the region's, rounded up to pages as at allocation. */
TEST_F(shared, import_returns_length)
{
	uint64_t h, one, hb, hb2, length = 0;
	struct softmem_stats stats;
	int fd;

	ASSERT_EQ(0, softmem_alloc(self->a, 3 * self->page + 100, &h));
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, softmem_import(self->b, fd, &hb, &length));
	EXPECT_EQ(4 * self->page, length);
	/* Without the length, and a second import is a second handle. */
	ASSERT_EQ(0, softmem_import(self->b, fd, &hb2, NULL));
	EXPECT_NE(hb, hb2);
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(2, stats.regions);

	ASSERT_EQ(0, softmem_alloc(self->a, 1, &one));
	fd = softmem_export(self->a, one, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, softmem_import(self->b, fd, &hb, &length));
	EXPECT_EQ(self->page, length);
	EXPECT_EQ(0, close(fd));
}

/* The exporting pool may import too: a second handle of its own. */
TEST_F(shared, import_into_exporting_pool_new_handle)
{
	struct softmem_stats stats;
	uint64_t h, h2;

	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 1, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->a, &h2));
	EXPECT_NE(h, h2);
	ASSERT_EQ(0, pool_stats(self->a, &stats));
	EXPECT_EQ(2, stats.regions);
	ASSERT_EQ(0, region_write_pattern(self->a, h2, 0, self->page, 2));
	EXPECT_EQ(1, region_matches(self->a, h, 0, self->page, 2));
	ASSERT_EQ(0, softmem_free(self->a, h));
	EXPECT_EQ(1, region_matches(self->a, h2, 0, self->page, 2));
	EXPECT_EQ(1, region_matches(self->a, h2, self->page, self->page, 1));
}

/*
 * Two handles of one region in one pool: copy, move and compare between
 * them work on the one region's bytes, a move between overlapping ranges
 * as memmove() does, and a copy between overlapping ranges is EINVAL, as
 * through one handle, and changes nothing.
 */
TEST_F(shared, two_handles_of_one_region_copy_move_compare)
{
	size_t length = 4 * self->page;
	uint8_t *buf = malloc(length), *again = malloc(length);
	int result = 7;
	uint64_t h, h2;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, again);
	ASSERT_EQ(0, region_alloc_filled(self->a, length, 3, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->a, &h2));

	/* The same bytes through either handle compare equal. */
	ASSERT_EQ(0, softmem_compare(self->a, h, 100, h2, 100,
				     2 * self->page, &result));
	EXPECT_EQ(0, result);
	ASSERT_EQ(0, softmem_compare(self->a, h, 0, h2, 1, 2 * self->page,
				     &result));
	EXPECT_NE(0, result);

	/* A copy of disjoint ranges, across a page boundary. */
	ASSERT_EQ(0, softmem_copy(self->a, h2, 3 * self->page - 10, h, 5,
				  self->page));
	ASSERT_EQ(0, softmem_read(self->a, h, 0, buf, length));
	for (size_t i = 0; i < length; i++) {
		uint8_t want = pattern_byte(i, 3);

		if (i >= 3 * self->page - 10 && i < 4 * self->page - 10)
			want = pattern_byte(i - (3 * self->page - 15), 3);
		ASSERT_EQ(want, buf[i]) TH_LOG("byte %zu", i);
	}

	/* Overlapping ranges of one region are no copy, by any handles. */
	EXPECT_EQ(-EINVAL, softmem_copy(self->a, h, 3, h2, 0, self->page));
	EXPECT_EQ(-EINVAL, softmem_copy(self->a, h2, 0, h, 3, self->page));
	EXPECT_EQ(-EINVAL, softmem_copy(self->a, h2, 0, h, 0, 1));
	ASSERT_EQ(0, softmem_read(self->a, h, 0, again, length));
	EXPECT_EQ(0, memcmp(buf, again, length));

	/* A move up by 3 bytes of overlapping ranges, through both. */
	ASSERT_EQ(0, region_write_pattern(self->a, h, 0, length, 4));
	ASSERT_EQ(0, softmem_move(self->a, h, 3, h2, 0, 2 * self->page));
	ASSERT_EQ(0, softmem_read(self->a, h2, 0, buf, length));
	for (size_t i = 0; i < length; i++) {
		uint8_t want = pattern_byte(i, 4);

		if (i >= 3 && i < 2 * self->page + 3)
			want = pattern_byte(i - 3, 4);
		ASSERT_EQ(want, buf[i]) TH_LOG("byte %zu", i);
	}
	free(again);
	free(buf);
}

/*
 * A region one handle holds resumed is not discarded for the pool limit,
 * whatever its other handle does: with state words, the discard first
 * claims the newer, suspended handle's word, then finds the older one
 * resumed and must give the claimed word back, so that the newer handle
 * resumes intact.
 */
TEST_F(shared, limit_spares_region_another_handle_holds)
{
	struct softmem_stats stats;
	uint64_t h, h2;

	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 8, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->a, &h2));
	ASSERT_EQ(0, softmem_set_limit(self->a, 0));
	ASSERT_EQ(0, pool_stats(self->a, &stats));
	EXPECT_EQ(0, stats.discard_events);
	EXPECT_EQ(2 * self->page, stats.resident_bytes);
	EXPECT_EQ(1, region_matches(self->a, h, 0, 2 * self->page, 8));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->a, h2));
	EXPECT_EQ(1, region_matches(self->a, h2, 0, 2 * self->page, 8));
}

/* --- passing the descriptor ----------------------------------------------- */

/* A child imports the descriptor it inherited; each sees the other's bytes. */
TEST_F(shared, fork_child_imports_inherited_fd)
{
	struct peer c;
	uint64_t h, token;
	int fd;

	ASSERT_EQ(0, region_alloc_filled(self->a, 2 * self->page, 1, &h));
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, fork_peer(&c));
	if (!c.pid) {
		int pool = softmem_open();
		uint64_t mine = 0;

		EXPECT_LE(0, pool);
		EXPECT_EQ(0, softmem_import(pool, fd, &mine, NULL));
		EXPECT_EQ(1, region_matches(pool, mine, 0, 2 * page_size(), 1));
		EXPECT_EQ(0, region_write_pattern(pool, mine, page_size(),
						  page_size(), 2));
		EXPECT_EQ(0, peer_send(&c, 0));
		/* The parent's write, seen here. */
		EXPECT_EQ(0, peer_recv(&c, &token));
		EXPECT_EQ(1, region_matches(pool, mine, 0, page_size(), 3));
		_exit(_metadata->exit_code);
	}
	EXPECT_EQ(0, close(fd));
	ASSERT_EQ(0, peer_recv(&c, &token));
	EXPECT_EQ(1, region_matches(self->a, h, self->page, self->page, 2));
	EXPECT_EQ(0, region_write_pattern(self->a, h, 0, self->page, 3));
	ASSERT_EQ(0, peer_send(&c, 0));
	EXPECT_EQ(0, peer_wait(&c));
}

/*
 * The child is forked before the export, so the descriptor can reach it only
 * over the socket; the sender closes its own copy while it is in flight.
 */
TEST_F(shared, scm_rights_child_imports)
{
	uint64_t length = 2 * self->page, h;
	pid_t child;
	int sv[2], fd;

	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		uint64_t mine = 0, got = 0;
		int pool, received;

		close(sv[0]);
		received = recv_fd(sv[1]);
		EXPECT_LE(0, received) TH_LOG("recvmsg: %s", err_name(received));
		pool = softmem_open();
		EXPECT_LE(0, pool);
		EXPECT_EQ(0, softmem_import(pool, received, &mine, &got));
		EXPECT_EQ(length, got);
		EXPECT_EQ(1, region_matches(pool, mine, 0, length, 1));
		EXPECT_EQ(0, region_write_pattern(pool, mine, 0, page_size(),
						  2));
		_exit(_metadata->exit_code);
	}
	close(sv[1]);
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, send_fd(sv[0], fd));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, wait_child(child));
	close(sv[0]);
	EXPECT_EQ(1, region_matches(self->a, h, 0, self->page, 2));
	EXPECT_EQ(1, region_matches(self->a, h, self->page, self->page, 1));
}

/* Exit status of a shell testing, after execve(), whether @fd is open. */
static int exec_sees_fd(int fd)
{
	char script[64];
	char *const argv[] = { SHELL, "-c", script, NULL };

	snprintf(script, sizeof(script), "test -e /proc/self/fd/%d", fd);
	return run_command(argv);
}

TEST_F(shared, cloexec_default_and_no_cloexec)
{
	int closed, kept;
	uint64_t h;

	if (access(SHELL, X_OK))
		SKIP(return, "no %s to exec", SHELL);
	ASSERT_EQ(0, softmem_alloc(self->a, self->page, &h));
	closed = softmem_export(self->a, h, 0);
	kept = softmem_export(self->a, h, SOFTMEM_EXPORT_NO_CLOEXEC);
	ASSERT_LE(0, closed);
	ASSERT_LE(0, kept);
	EXPECT_TRUE(fd_cloexec(closed));
	EXPECT_FALSE(fd_cloexec(kept));
	/* What an exec'ed program really gets. */
	EXPECT_EQ(1, exec_sees_fd(closed)) TH_LOG("fd %d", closed);
	EXPECT_EQ(0, exec_sees_fd(kept)) TH_LOG("fd %d", kept);
	EXPECT_EQ(0, close(closed));
	EXPECT_EQ(0, close(kept));
}

/* --- several regions, several holders ------------------------------------- */

TEST_F(shared, sixteen_regions_shared_between_pools)
{
	uint64_t ha[SHARED_REGIONS], hb[SHARED_REGIONS];
	uint64_t length = 2 * self->page;
	struct softmem_stats stats;
	int fd[SHARED_REGIONS];
	int i, j;

	for (i = 0; i < SHARED_REGIONS; i++) {
		ASSERT_EQ(0, region_alloc_filled(self->a, length, 10 + i,
						 &ha[i]));
		fd[i] = softmem_export(self->a, ha[i], 0);
		ASSERT_LE(0, fd[i]);
	}
	/* All exported at once; imported in the other order. */
	for (i = SHARED_REGIONS - 1; i >= 0; i--)
		ASSERT_EQ(0, softmem_import(self->b, fd[i], &hb[i], NULL));
	for (i = 0; i < SHARED_REGIONS; i++)
		EXPECT_EQ(0, close(fd[i]));
	for (i = 0; i < SHARED_REGIONS; i++)
		for (j = 0; j < i; j++)
			EXPECT_NE(hb[i], hb[j]);
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(SHARED_REGIONS, stats.regions);

	for (i = 0; i < SHARED_REGIONS; i++) {
		EXPECT_EQ(1, region_matches(self->b, hb[i], 0, length, 10 + i))
			TH_LOG("region %d", i);
		EXPECT_EQ(0, region_write_pattern(self->b, hb[i], self->page,
						  self->page, 40 + i));
	}
	for (i = 0; i < SHARED_REGIONS; i++) {
		EXPECT_EQ(1, region_matches(self->a, ha[i], 0, self->page,
					    10 + i));
		EXPECT_EQ(1, region_matches(self->a, ha[i], self->page,
					    self->page, 40 + i))
			TH_LOG("region %d", i);
	}
}

/*
 * Three holders: a frees its handle while b holds the region resumed and c
 * suspended; neither changes.  Then b frees: c's handle carries on alone.
 */
TEST_F(shared, free_by_one_holder_leaves_others)
{
	uint64_t length = 4 * self->page, h, hb, hc;
	int c = softmem_open();

	ASSERT_LE(0, c);
	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	ASSERT_EQ(0, region_share(self->a, h, c, &hc));
	ASSERT_EQ(SOFTMEM_INTACT, region_resume_state(self->b, hb));
	ASSERT_EQ(0, softmem_free(self->a, h));
	EXPECT_EQ(-ENOENT, softmem_suspend(self->a, h));

	/* b still holds it resumed: nothing to discard. */
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(1, region_matches(self->b, hb, 0, length, 1));
	/* c is still suspended: once b suspends, the region can go. */
	ASSERT_EQ(0, softmem_suspend(self->b, hb));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->b, hb));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(c, hc));

	ASSERT_EQ(0, region_write_pattern(c, hc, 0, length, 2));
	ASSERT_EQ(0, softmem_free(self->b, hb));
	/* c's handle is still resumed, and still has the data. */
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(c, hc));
	EXPECT_EQ(1, region_matches(c, hc, 0, length, 2));
	EXPECT_EQ(0, softmem_close(c));
}

TEST_F(shared, exporting_pool_close_leaves_importer)
{
	uint64_t length = 2 * self->page, h, hb;

	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	EXPECT_EQ(0, softmem_close(self->a));
	self->a = -1;
	EXPECT_EQ(1, region_matches(self->b, hb, 0, length, 1));
	ASSERT_EQ(0, region_write_pattern(self->b, hb, 0, self->page, 2));
	EXPECT_EQ(1, region_matches(self->b, hb, 0, self->page, 2));
	/* Its only holder now: suspended, it can be discarded. */
	ASSERT_EQ(0, softmem_suspend(self->b, hb));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->b, hb));
}

/*
 * Each holder is told of a discard once, whatever the others did: a's
 * resume acknowledges it for a only, and b's late acknowledgment does not
 * wipe what a wrote since.
 */
TEST_F(shared, discard_told_to_each_holder_once)
{
	uint64_t length = 2 * self->page, h, hb;
	uint8_t byte;

	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, drop_caches());

	EXPECT_EQ(-ESTALE, softmem_read(self->a, h, 0, &byte, 1));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->a, h));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->a, h));
	EXPECT_EQ(1, region_matches(self->a, h, 0, length, REGION_ZERO));
	ASSERT_EQ(0, region_write_pattern(self->a, h, 0, self->page, 2));
	/* b has not been told yet. */
	EXPECT_EQ(-ESTALE, softmem_read(self->b, hb, 0, &byte, 1));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->b, hb));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->b, hb));
	EXPECT_EQ(1, region_matches(self->b, hb, 0, self->page, 2));
	EXPECT_EQ(1, region_matches(self->b, hb, self->page, self->page,
				    REGION_ZERO));

	/* A second discard: each is told once more. */
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, softmem_suspend(self->b, hb));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(-ESTALE, softmem_read(self->b, hb, 0, &byte, 1));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->b, hb));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->b, hb));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->a, h));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->a, h));
	EXPECT_EQ(1, region_matches(self->a, h, 0, length, REGION_ZERO));
}

/* A discard no holder has acknowledged is reported to a new handle too. */
TEST_F(shared, import_of_discarded_region_reports_discard)
{
	uint64_t length = 2 * self->page, h, hb;
	uint8_t byte;

	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	EXPECT_EQ(-ESTALE, softmem_read(self->b, hb, 0, &byte, 1));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->b, hb));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->b, hb));
	EXPECT_EQ(1, region_matches(self->b, hb, 0, length, REGION_ZERO));
	/* The exporter is told as well. */
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->a, h));
}

/* Once a holder has acknowledged the discard, a new handle has no news. */
TEST_F(shared, import_after_acknowledged_discard_intact)
{
	uint64_t length = 2 * self->page, h, hb;

	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	ASSERT_EQ(0, softmem_suspend(self->a, h));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(SOFTMEM_DISCARDED, region_resume_state(self->a, h));
	ASSERT_EQ(0, region_write_pattern(self->a, h, 0, self->page, 2));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(self->b, hb));
	EXPECT_EQ(1, region_matches(self->b, hb, 0, self->page, 2));
	EXPECT_EQ(1, region_matches(self->b, hb, self->page, self->page,
				    REGION_ZERO));
}

/* --- lifetime and accounting ---------------------------------------------- */

static void expect_module_resident(struct __test_metadata *_metadata,
				   uint64_t want, const char *when)
{
	uint64_t now = 0;

	ASSERT_EQ(0, module_stat("resident_bytes", &now));
	EXPECT_EQ(want, now) TH_LOG("module resident_bytes %s", when);
}

/*
 * The pages go only once the last handle and the last exported descriptor
 * are gone: first with the descriptor last, then with a handle last.
 */
TEST_F(shared, last_holder_close_frees_pages)
{
	uint64_t length = 4 * self->page, base, now = 0, h, hb, again;
	int fd;

	ASSERT_EQ(0, module_stat("resident_bytes", &base));
	ASSERT_EQ(0, region_alloc_filled(self->a, length, 1, &h));
	fd = softmem_export(self->a, h, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, softmem_import(self->b, fd, &hb, NULL));
	expect_module_resident(_metadata, base + length, "when shared");
	ASSERT_EQ(0, softmem_free(self->a, h));
	ASSERT_EQ(0, softmem_close(self->b));
	self->b = -1;
	expect_module_resident(_metadata, base + length,
			       "with only the descriptor left");
	/* The data is still there for a new handle. */
	ASSERT_EQ(0, softmem_import(self->a, fd, &again, NULL));
	EXPECT_EQ(1, region_matches(self->a, again, 0, length, 1));
	ASSERT_EQ(0, softmem_free(self->a, again));
	expect_module_resident(_metadata, base + length,
			       "with only the descriptor left");
	EXPECT_EQ(0, close(fd));
	EXPECT_TRUE(module_stat_reach("resident_bytes", base, &now))
		TH_LOG("resident_bytes %llu after the last close, want %llu",
		       (unsigned long long)now, (unsigned long long)base);

	/* Descriptor first, then the exporter's handle, then the importer. */
	self->b = shared_pool(variant->lockfree_b);
	ASSERT_LE(0, self->b);
	ASSERT_EQ(0, region_alloc_filled(self->a, length, 2, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	ASSERT_EQ(0, softmem_free(self->a, h));
	expect_module_resident(_metadata, base + length,
			       "with only the importer's handle left");
	EXPECT_EQ(1, region_matches(self->b, hb, 0, length, 2));
	ASSERT_EQ(0, softmem_close(self->b));
	self->b = -1;
	EXPECT_TRUE(module_stat_reach("resident_bytes", base, &now))
		TH_LOG("resident_bytes %llu after the last close, want %llu",
		       (unsigned long long)now, (unsigned long long)base);
}

/* Whoever writes, the pages count in the allocating pool, under its limit. */
TEST_F(shared, pages_charged_to_allocating_pool)
{
	struct softmem_stats stats;
	uint64_t h, hb, h2, hb2, own;

	ASSERT_EQ(0, softmem_alloc(self->a, 4 * self->page, &h));
	ASSERT_EQ(0, region_share(self->a, h, self->b, &hb));
	ASSERT_EQ(0, region_write_pattern(self->b, hb, 0, 3 * self->page, 1));
	ASSERT_EQ(0, pool_stats(self->a, &stats));
	EXPECT_EQ(3 * self->page, stats.resident_bytes);
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(0, stats.resident_bytes);
	EXPECT_EQ(1, stats.regions);

	/* a's limit, not b's, bounds b's writes to a's region. */
	ASSERT_EQ(0, softmem_set_limit(self->a, 5 * self->page));
	ASSERT_EQ(0, softmem_alloc(self->a, 4 * self->page, &h2));
	ASSERT_EQ(0, region_share(self->a, h2, self->b, &hb2));
	EXPECT_EQ(-ENOMEM, region_write_pattern(self->b, hb2, 0,
						3 * self->page, 2));
	EXPECT_EQ(0, region_write_pattern(self->b, hb2, 0, 2 * self->page, 2));
	ASSERT_EQ(0, softmem_alloc(self->b, 4 * self->page, &own));
	EXPECT_EQ(0, region_write_pattern(self->b, own, 0, 4 * self->page, 3));
	ASSERT_EQ(0, pool_stats(self->a, &stats));
	EXPECT_EQ(5 * self->page, stats.resident_bytes);
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(4 * self->page, stats.resident_bytes);
}

/* An imported handle counts against the importer's pool_max_regions. */
TEST_F(shared, import_counts_against_pool_max_regions)
{
	struct softmem_stats stats;
	uint64_t h1, h2, own, hb1, hb2 = 0, extra = 0;
	int fd;

	ASSERT_EQ(0, module_param("pool_max_regions",
				  &self->saved_pool_max_regions));
	ASSERT_EQ(0, set_module_param("pool_max_regions", 2));
	ASSERT_EQ(0, region_alloc_filled(self->a, self->page, 1, &h1));
	ASSERT_EQ(0, region_alloc_filled(self->a, self->page, 2, &h2));
	ASSERT_EQ(0, softmem_alloc(self->b, self->page, &own));
	ASSERT_EQ(0, region_share(self->a, h1, self->b, &hb1));

	fd = softmem_export(self->a, h2, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOMEM, softmem_import(self->b, fd, &hb2, NULL));
	EXPECT_EQ(-ENOMEM, softmem_alloc(self->b, self->page, &extra));
	ASSERT_EQ(0, pool_stats(self->b, &stats));
	EXPECT_EQ(2, stats.regions);
	/* A free makes room for an import. */
	ASSERT_EQ(0, softmem_free(self->b, hb1));
	ASSERT_EQ(0, softmem_import(self->b, fd, &hb2, NULL));
	EXPECT_EQ(1, region_matches(self->b, hb2, 0, self->page, 2));
	EXPECT_EQ(0, close(fd));
}

/* Exports the handle of each round the test starts, beside the test. */
struct export_racer {
	int pool;
	atomic_uint_fast64_t handle;
	atomic_uint round;		/* bumped to start a round */
	atomic_uint finished;		/* the last round exported in */
	atomic_bool stop;
	int fd;
};

static void *race_export(void *p)
{
	struct export_racer *r = p;
	unsigned int seen = 0, round;

	for (;;) {
		/* Yields: with one CPU the test thread must run to start it. */
		while ((round = atomic_load(&r->round)) == seen &&
		       !atomic_load(&r->stop))
			sched_yield();
		if (round == seen)
			return NULL;
		seen = round;
		r->fd = softmem_export(r->pool, atomic_load(&r->handle), 0);
		atomic_store(&r->finished, round);
	}
}

/*
 * Two threads export a region no file was made for yet, at once: both get
 * a file, and both files are of the region's one inode, whichever thread
 * made it (the other's is dropped).  Bounded by rounds, not time.
 */
TEST_F_TIMEOUT(shared, racing_first_exports_share_one_inode, 300)
{
	unsigned int rounds = 1000;
	struct export_racer r = { .pool = self->a };
	unsigned int round, same = 0;
	struct stat mine, theirs;
	pthread_t thread;
	uint64_t h;
	int fd;

	ASSERT_EQ(0, pthread_create(&thread, NULL, race_export, &r));
	for (round = 1; round <= rounds; round++) {
		ASSERT_EQ(0, softmem_alloc(self->a, self->page, &h));
		atomic_store(&r.handle, h);
		atomic_store(&r.round, round);
		fd = softmem_export(self->a, h, 0);
		while (atomic_load(&r.finished) != round)
			sched_yield();
		ASSERT_LE(0, fd) TH_LOG("round %u: %s", round, err_name(fd));
		ASSERT_LE(0, r.fd) TH_LOG("round %u: %s", round,
					  err_name(r.fd));
		ASSERT_EQ(0, fstat(fd, &mine));
		ASSERT_EQ(0, fstat(r.fd, &theirs));
		same += mine.st_ino == theirs.st_ino &&
			mine.st_dev == theirs.st_dev;
		EXPECT_EQ(0, close(r.fd));
		EXPECT_EQ(0, close(fd));
		ASSERT_EQ(0, softmem_free(self->a, h));
	}
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	EXPECT_EQ(rounds, same);
}

TEST_HARNESS_MAIN
