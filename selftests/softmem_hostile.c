// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_hostile: /dev/softmem is mode 0666, so any user may open it.
 *
 * Each test runs the other side as nobody (uid and gid 65534, no
 * supplementary groups) in a forked child and checks that such a user
 *
 *  - cannot reach another pool's regions by guessing handles, and gets into a
 *    pool only through its open file (fork, SCM_RIGHTS), never through /proc
 *    or pidfd_getfd() of another user's process;
 *  - never sees another user's data in fresh pages or in pages of a region
 *    that was discarded;
 *  - is held by its pool limit (at most pool_max_bytes), by the module-wide
 *    max_bytes cap and by its memory cgroup: it loses its own suspended
 *    regions first, least recently suspended first, then gets ENOMEM; other
 *    pools and resumed regions are never touched and nothing is OOM-killed;
 *  - gets EINVAL, with nothing changed, for every overflowing offset, length,
 *    size or node.
 *
 * Children report through EXPECT_*(), which works across fork() because the
 * harness keeps _metadata in shared memory, and through their exit status.
 * They never ASSERT_*(): that would unwind into the parent's stack frame.
 */
#include "softmem_test.h"

/* Charges the kernel may force past memory.max on its own behalf. */
#define MEMCG_FORCED_CHARGE_SLACK	(256 * KiB)

#include <grp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define NOBODY_ID		65534
/* Exit status of a child that could not set itself up. */
#define CHILD_SETUP_FAILED	90

FIXTURE(hostile) {
	int pool;			/* root's pool */
	size_t page;
	uint64_t saved_max_bytes;	/* restored by teardown when nonzero */
	char cgroup[128];		/* removed by teardown when set */
};

FIXTURE_SETUP(hostile)
{
	SKIP_IF_NO_DEVICE();
	if (geteuid())
		SKIP(return, "not root: cannot drop privileges to nobody");
	self->page = page_size();
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->saved_max_bytes)
		write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes",
			       self->saved_max_bytes);
	if (self->cgroup[0])
		rmdir(self->cgroup);
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* Close every open /dev/softmem this process inherited. */
static void close_pools(void)
{
	char path[64], target[64];
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		int fd = atoi(d->d_name);
		ssize_t n;

		if (d->d_name[0] == '.' || fd == dirfd(dir))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, SOFTMEM_DEVICE_PATH))
			close(fd);
	}
	closedir(dir);
}

/* Become nobody for good, as a login does: no way back to root. */
static int drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY_ID) || setuid(NOBODY_ID))
		return -errno;
	if (getuid() != NOBODY_ID || geteuid() != NOBODY_ID ||
	    getgid() != NOBODY_ID || getegid() != NOBODY_ID ||
	    getgroups(0, NULL) != 0)
		return -EPERM;
	if (!setuid(0) || !seteuid(0))
		return -EPERM;
	return 0;
}

/* In a child: become nobody, without the parent's pools unless @keep. */
static void child_become_nobody(struct __test_metadata *_metadata, bool keep)
{
	int ret;

	if (!keep)
		close_pools();
	ret = drop_privileges();
	EXPECT_EQ(0, ret)
		TH_LOG("cannot become uid/gid %d: %s", NOBODY_ID,
		       strerror(-ret));
	if (ret)
		_exit(CHILD_SETUP_FAILED);
}

/* In a child: a pool opened as nobody, or exit. */
static int child_open_pool(struct __test_metadata *_metadata)
{
	int pool = softmem_open();

	EXPECT_LE(0, pool)
		TH_LOG("nobody cannot open %s: %s", SOFTMEM_DEVICE_PATH,
		       strerror(-pool));
	if (pool < 0)
		_exit(CHILD_SETUP_FAILED);
	return pool;
}

static struct softmem_stats stats_of(struct __test_metadata *_metadata,
				     int pool)
{
	struct softmem_stats stats;

	EXPECT_EQ(0, pool_stats(pool, &stats));
	return stats;
}

/* An anonymous shared mapping, zeroed and faulted in now. */
static void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 0, size);
	return p;
}

/* Bytes of @buf that are not @value. */
static size_t count_not(const uint8_t *buf, size_t length, uint8_t value)
{
	size_t i, n = 0;

	for (i = 0; i < length; i++)
		n += buf[i] != value;
	return n;
}

TEST_F(hostile, device_is_0666_and_nobody_opens_a_pool_of_its_own)
{
	struct stat st;
	struct peer p;
	uint64_t h;

	ASSERT_EQ(0, stat(SOFTMEM_DEVICE_PATH, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0666, st.st_mode & 07777);
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 1, &h));

	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		struct softmem_stats stats;
		int pool;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		stats = stats_of(_metadata, pool);
		EXPECT_EQ(0, stats.regions);
		EXPECT_EQ(0, stats.resident_bytes);
		EXPECT_EQ(-ENOENT, softmem_free(pool, h));
		EXPECT_EQ(0, softmem_alloc(pool, self->page, &h));
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 1));
}

/*
 * Regions with secret data, most resumed, every fifth freed (a hole in the
 * handles) and the second suspended.
 */
#define SECRET_REGIONS	40
#define SECRET_SEED	0x5ec

struct secrets {
	uint64_t h[SECRET_REGIONS];
	uint64_t live, suspended_bytes;
};

static bool secret_live(int i)
{
	return i % 5 != 4;
}

static void secrets_make(struct __test_metadata *_metadata, int pool,
			 struct secrets *s)
{
	size_t page = page_size();
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < SECRET_REGIONS; i++) {
		EXPECT_EQ(0, region_alloc_filled(pool, (1 + i % 3) * page,
						 SECRET_SEED + i, &s->h[i]));
	}
	for (i = 0; i < SECRET_REGIONS; i++) {
		if (secret_live(i))
			s->live++;
		else
			EXPECT_EQ(0, softmem_free(pool, s->h[i]));
	}
	EXPECT_EQ(0, softmem_suspend(pool, s->h[1]));
	s->suspended_bytes = 2 * page;
}

/* Everything as secrets_make() left it. */
static void secrets_check(struct __test_metadata *_metadata, int pool,
			  const struct secrets *s)
{
	struct softmem_stats stats = stats_of(_metadata, pool);
	size_t page = page_size();
	int i;

	EXPECT_EQ(s->live, stats.regions);
	EXPECT_EQ(s->suspended_bytes, stats.suspended_bytes);
	EXPECT_EQ(0, stats.discard_events);
	for (i = 0; i < SECRET_REGIONS; i++) {
		if (!secret_live(i))
			continue;
		EXPECT_EQ(1, region_matches(pool, s->h[i], 0,
					    (1 + i % 3) * page,
					    SECRET_SEED + i))
			TH_LOG("secret region %d (handle %llu)", i,
			       (unsigned long long)s->h[i]);
	}
}

#define POKE(call)	(bad += (call) != -ENOENT)

/*
 * Every command that takes a handle, on handle @g that the pool does not
 * have: each must fail with ENOENT and hand nothing back.  @mine, when
 * nonzero, is a region of the pool, the other side of the two-region
 * commands.  Returns how many commands did otherwise.
 */
static int poke_handle(int pool, uint64_t g, uint64_t mine)
{
	const uint64_t other = mine ? mine : g + 1;
	uint8_t buf[64];
	int64_t position;
	bool discarded;
	int result, bad = 0;

	memset(buf, 0xee, sizeof(buf));
	POKE(softmem_read(pool, g, 0, buf, sizeof(buf)));
	POKE(softmem_write(pool, g, 0, buf, sizeof(buf)));
	POKE(softmem_set(pool, g, 0, 0x41, sizeof(buf)));
	POKE(softmem_find(pool, g, 0, sizeof(buf), 0, &position));
	POKE(softmem_compare_buf(pool, g, 0, buf, sizeof(buf), &result));
	POKE(softmem_suspend(pool, g));
	POKE(softmem_resume(pool, g, &discarded));
	POKE(softmem_move(pool, g, 0, g, 8, sizeof(buf)));
	POKE(softmem_compare(pool, g, 0, g, 0, sizeof(buf), &result));
	POKE(softmem_copy(pool, g, 0, other, 0, sizeof(buf)));
	POKE(softmem_copy(pool, other, 0, g, 0, sizeof(buf)));
	POKE(softmem_move(pool, g, 0, other, 0, sizeof(buf)));
	POKE(softmem_move(pool, other, 0, g, 0, sizeof(buf)));
	POKE(softmem_compare(pool, g, 0, other, 0, sizeof(buf), &result));
	POKE(softmem_compare(pool, other, 0, g, 0, sizeof(buf), &result));
	POKE(softmem_free(pool, g));
	bad += count_not(buf, sizeof(buf), 0xee) != 0;
	return bad;
}

#define GUESS_RANGE	2048
#define GUESS_RANDOM	512

/* Handles that are not in a fresh pool: 0..GUESS_RANGE, aliases, random. */
static int poke_guesses(int pool, uint64_t mine, uint64_t *first_bad)
{
	uint64_t state = 0x50f7 + mine, g;
	int i, bad = 0, n;

	for (g = 0; g <= GUESS_RANGE + 2 * GUESS_RANDOM; g++) {
		uint64_t guess = g;

		/* Beyond the range: random 32 and 64 bit values. */
		if (g > GUESS_RANGE)
			guess = g % 2 ? (uint32_t)test_rand(&state) :
					test_rand(&state);
		if (guess == mine)
			continue;
		n = poke_handle(pool, guess, mine);
		if (n && !bad)
			*first_bad = guess;
		bad += n;
	}
	/* Handles are 32 bits: a high bit must not alias a low handle. */
	for (i = 0; i <= 64; i++) {
		const uint64_t high[] = { 1ULL << 32, 1ULL << 63,
					  0xffffffff00000000ULL };
		size_t k;

		for (k = 0; k < ARRAY_SIZE(high); k++) {
			g = high[k] | (uint64_t)i;
			if (i == 64)
				g = high[k] | mine;
			n = poke_handle(pool, g, mine);
			if (n && !bad)
				*first_bad = g;
			bad += n;
		}
	}
	return bad;
}

/* As nobody, in a pool of its own, guess handles of every other pool. */
static void guess_foreign_handles(struct __test_metadata *_metadata)
{
	uint64_t mine, first_bad = 0;
	struct softmem_stats stats;
	int pool, bad;

	child_become_nobody(_metadata, false);
	pool = child_open_pool(_metadata);

	/* With no region of its own, every handle is foreign. */
	bad = poke_guesses(pool, 0, &first_bad);
	EXPECT_EQ(0, bad)
		TH_LOG("first handle not refused with ENOENT: %#llx",
		       (unsigned long long)first_bad);

	/* With one, also as the other side of copy, move and compare. */
	EXPECT_EQ(0, region_alloc_filled(pool, page_size(), 7, &mine));
	bad = poke_guesses(pool, mine, &first_bad);
	EXPECT_EQ(0, bad)
		TH_LOG("first handle not refused with ENOENT: %#llx",
		       (unsigned long long)first_bad);

	EXPECT_EQ(1, region_matches(pool, mine, 0, page_size(), 7));
	stats = stats_of(_metadata, pool);
	EXPECT_EQ(1, stats.regions);
	EXPECT_EQ(page_size(), stats.resident_bytes);
	_exit(0);
}

TEST_F_TIMEOUT(hostile, nobody_guessing_handles_never_reaches_root_pool, 180)
{
	struct secrets s;
	struct peer p;

	secrets_make(_metadata, self->pool, &s);
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid)
		guess_foreign_handles(_metadata);
	EXPECT_EQ(0, peer_wait(&p));
	secrets_check(_metadata, self->pool, &s);
}

TEST_F_TIMEOUT(hostile, nobody_guessing_handles_never_reaches_nobody_pool,
	       180)
{
	struct peer owner, guesser;
	uint64_t token;

	/* The owner is nobody too, in a process of its own. */
	ASSERT_LE(0, fork_peer(&owner));
	if (!owner.pid) {
		struct secrets s;
		int pool;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		secrets_make(_metadata, pool, &s);
		if (peer_send(&owner, 1) || peer_recv(&owner, &token))
			_exit(CHILD_SETUP_FAILED);
		secrets_check(_metadata, pool, &s);
		_exit(0);
	}
	ASSERT_EQ(0, peer_recv(&owner, &token));

	ASSERT_LE(0, fork_peer(&guesser));
	if (!guesser.pid)
		guess_foreign_handles(_metadata);
	EXPECT_EQ(0, peer_wait(&guesser));

	EXPECT_EQ(0, peer_send(&owner, 1));
	EXPECT_EQ(0, peer_wait(&owner));
}

TEST_F(hostile, nobody_cannot_take_root_pool_through_proc_or_pidfd)
{
	char path[64];
	uint64_t pools, now, h;
	struct peer p;
	int fd;

	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 2, &h));
	ASSERT_EQ(0, module_stat("pools", &pools));

	/* Even for root, reopening the file opens a new, empty pool. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->pool);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, module_stat("pools", &now));
	EXPECT_EQ(pools + 1, now);
	EXPECT_EQ(-ENOENT, softmem_free(fd, h));
	close(fd);

	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		pid_t parent = getppid();

		child_become_nobody(_metadata, false);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", parent,
			 self->pool);
		fd = open(path, O_RDWR | O_CLOEXEC);
		EXPECT_EQ(-1, fd);
		EXPECT_EQ(EACCES, errno);
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
		{
			int pidfd = syscall(SYS_pidfd_open, parent, 0);

			if (pidfd >= 0) {
				fd = syscall(SYS_pidfd_getfd, pidfd,
					     self->pool, 0);
				EXPECT_EQ(-1, fd);
				EXPECT_EQ(EPERM, errno);
			}
		}
#endif
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 2));
}

TEST_F(hostile, fork_shares_pool_until_last_close_whoever_holds_it)
{
	uint64_t pools, now, h, h2;
	struct peer p;

	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 3, &h));
	ASSERT_EQ(0, module_stat("pools", &pools));
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		uint64_t token;

		/* Credentials do not matter: the open file is the pool. */
		child_become_nobody(_metadata, true);
		EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 3));
		EXPECT_EQ(0, region_write_pattern(self->pool, h, 0,
						  self->page, 4));
		EXPECT_EQ(0, region_alloc_filled(self->pool, self->page, 5,
						 &h2));
		if (peer_send(&p, h2) || peer_recv(&p, &token))
			_exit(CHILD_SETUP_FAILED);
		/* The parent has closed: the pool lives on in this child. */
		EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 4));
		EXPECT_EQ(1, region_matches(self->pool, h2, 0, self->page, 5));
		_exit(0);
	}
	ASSERT_EQ(0, peer_recv(&p, &h2));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 4));
	EXPECT_EQ(1, region_matches(self->pool, h2, 0, self->page, 5));
	ASSERT_EQ(0, softmem_close(self->pool));
	self->pool = -1;
	ASSERT_EQ(0, module_stat("pools", &now));
	EXPECT_EQ(pools, now);
	EXPECT_EQ(0, peer_send(&p, 1));
	EXPECT_EQ(0, peer_wait(&p));
	ASSERT_EQ(0, module_stat("pools", &now));
	EXPECT_EQ(pools - 1, now);
}

TEST_F(hostile, fd_over_unix_socket_hands_over_the_whole_pool)
{
	struct softmem_stats stats;
	int sv[2];
	struct peer p;
	uint64_t h, h2;

	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 6, &h));
	ASSERT_EQ(0, region_alloc_filled(self->pool, self->page, 7, &h2));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		SKIP(return, "no unix sockets: %s", strerror(errno));
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		int pool;

		close(sv[0]);
		child_become_nobody(_metadata, false);
		pool = recv_fd(sv[1]);
		EXPECT_LE(0, pool);
		if (pool < 0)
			_exit(CHILD_SETUP_FAILED);
		/* Read, write and free: the receiver holds the pool. */
		EXPECT_EQ(1, region_matches(pool, h, 0, self->page, 6));
		EXPECT_EQ(0, region_write_pattern(pool, h, 0, self->page, 8));
		EXPECT_EQ(0, softmem_free(pool, h2));
		_exit(0);
	}
	close(sv[1]);
	EXPECT_EQ(0, send_fd(sv[0], self->pool));
	close(sv[0]);
	EXPECT_EQ(0, peer_wait(&p));
	EXPECT_EQ(1, region_matches(self->pool, h, 0, self->page, 8));
	EXPECT_EQ(-ENOENT, softmem_free(self->pool, h2));
	ASSERT_EQ(0, pool_stats(self->pool, &stats));
	EXPECT_EQ(1, stats.regions);
}

/* Root's stale data: a byte no fresh page may show, and a tag. */
#define STALE_BYTE	0xa5
#define STALE_MIB	48

/* Fill @n 1 MiB regions of @pool with root's stale data. */
static void fill_stale(struct __test_metadata *_metadata, int pool,
		       uint64_t *h, int n)
{
	static uint8_t buf[MiB];
	int i;

	memset(buf, STALE_BYTE, sizeof(buf));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, softmem_alloc(pool, MiB, &h[i]));
		ASSERT_EQ(0, softmem_write(pool, h[i], 0, buf, sizeof(buf)));
	}
}

/*
 * Set one byte (1) in every page of @h, which allocates that page, then read
 * it all back: everything else must be zero.  Returns the wrong bytes.
 */
static size_t touch_and_check(int pool, uint64_t h, uint64_t length,
			      uint8_t *buf)
{
	const size_t page = page_size();
	size_t wrong = 0, p;

	for (p = 0; p < length / page; p++) {
		if (softmem_set(pool, h, p * page + p * 37 % page, 1, 1))
			return length;
	}
	if (softmem_read(pool, h, 0, buf, length))
		return length;
	for (p = 0; p < length / page; p++) {
		uint8_t *at = buf + p * page + p * 37 % page;

		wrong += *at != 1;
		*at = 0;
	}
	return wrong + count_not(buf, length, 0);
}

/*
 * As nobody: new regions, then a region of its own that was discarded, read
 * as zeros, before and after their pages are allocated.
 *
 * A kernel booted with init_on_alloc=1 (Debian's default) zeroes every page
 * it hands out, which would hide a softmem that forgot to: boot with
 * init_on_alloc=0 (vm-run --append) to test softmem's own zeroing.
 */
static void nobody_sees_only_zeros(struct __test_metadata *_metadata)
{
	static uint8_t buf[MiB];
	uint64_t h[STALE_MIB], limit;
	size_t wrong = 0;
	int pool, i;

	child_become_nobody(_metadata, false);
	pool = child_open_pool(_metadata);
	for (i = 0; i < STALE_MIB; i++) {
		EXPECT_EQ(0, softmem_alloc(pool, MiB, &h[i]));
		EXPECT_EQ(0, softmem_read(pool, h[i], 0, buf, MiB));
		wrong += count_not(buf, MiB, 0);
		wrong += touch_and_check(pool, h[i], MiB, buf);
	}
	EXPECT_EQ(0, wrong);

	/* Discard one of its own (a limit of 0 discards every suspended). */
	limit = stats_of(_metadata, pool).limit_bytes;
	EXPECT_EQ(0, region_write_pattern(pool, h[0], 0, MiB, 9));
	EXPECT_EQ(0, softmem_suspend(pool, h[0]));
	EXPECT_EQ(0, softmem_set_limit(pool, 0));
	EXPECT_EQ(0, softmem_set_limit(pool, limit));
	EXPECT_EQ(-ESTALE, softmem_read(pool, h[0], 0, buf, MiB));
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(pool, h[0]));
	EXPECT_EQ(0, softmem_read(pool, h[0], 0, buf, MiB));
	EXPECT_EQ(0, count_not(buf, MiB, 0));
	EXPECT_EQ(0, touch_and_check(pool, h[0], MiB, buf));
	_exit(0);
}

TEST_F_TIMEOUT(hostile, freed_root_pages_reach_nobody_as_zeros, 120)
{
	uint64_t h[STALE_MIB];
	struct peer p;
	int i;

	fill_stale(_metadata, self->pool, h, STALE_MIB);
	for (i = 0; i < STALE_MIB; i++)
		ASSERT_EQ(0, softmem_free(self->pool, h[i]));
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid)
		nobody_sees_only_zeros(_metadata);
	EXPECT_EQ(0, peer_wait(&p));
}

TEST_F_TIMEOUT(hostile, discarded_root_pages_reach_nobody_as_zeros, 120)
{
	static uint8_t buf[MiB];
	uint64_t h[STALE_MIB], before, after;
	struct peer p;
	int i;

	fill_stale(_metadata, self->pool, h, STALE_MIB);
	for (i = 0; i < STALE_MIB; i++)
		ASSERT_EQ(0, softmem_suspend(self->pool, h[i]));
	ASSERT_EQ(0, module_stat("discard_events", &before));
	ASSERT_EQ(0, drop_caches());
	ASSERT_EQ(0, module_stat("discard_events", &after));
	ASSERT_LE(before + STALE_MIB, after);

	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid)
		nobody_sees_only_zeros(_metadata);
	EXPECT_EQ(0, peer_wait(&p));

	/* Root's own regions come back empty too. */
	for (i = 0; i < STALE_MIB; i++) {
		EXPECT_EQ(SOFTMEM_DISCARDED,
			  region_resume_state(self->pool, h[i]));
		ASSERT_EQ(0, softmem_read(self->pool, h[i], 0, buf, MiB));
		EXPECT_EQ(0, count_not(buf, MiB, 0));
	}
}

/* Root's pool: a resumed and a suspended region that nobody may not touch. */
struct bystander {
	uint64_t resumed, suspended;
};

#define BYSTANDER_PAGES	8

static void bystander_make(struct __test_metadata *_metadata, int pool,
			   struct bystander *b)
{
	size_t length = BYSTANDER_PAGES * page_size();

	ASSERT_EQ(0, region_alloc_filled(pool, length, 50, &b->resumed));
	ASSERT_EQ(0, region_alloc_filled(pool, length, 51, &b->suspended));
	ASSERT_EQ(0, softmem_suspend(pool, b->suspended));
}

static void bystander_check(struct __test_metadata *_metadata, int pool,
			    const struct bystander *b)
{
	size_t length = BYSTANDER_PAGES * page_size();
	struct softmem_stats stats = stats_of(_metadata, pool);

	EXPECT_EQ(0, stats.discard_events);
	EXPECT_EQ(2 * length, stats.resident_bytes);
	EXPECT_EQ(length, stats.suspended_bytes);
	EXPECT_EQ(1, region_matches(pool, b->resumed, 0, length, 50));
	EXPECT_EQ(SOFTMEM_INTACT, region_resume_state(pool, b->suspended));
	EXPECT_EQ(1, region_matches(pool, b->suspended, 0, length, 51));
}

TEST_F(hostile, nobody_cannot_raise_limits)
{
	uint64_t pool_max, max_bytes, now;
	struct peer p;

	ASSERT_EQ(0, module_param("pool_max_bytes", &pool_max));
	ASSERT_EQ(0, module_param("max_bytes", &max_bytes));
	ASSERT_LE(16 * self->page, pool_max);
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		uint64_t limit;
		int pool;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		limit = stats_of(_metadata, pool).limit_bytes;
		EXPECT_GE(pool_max, limit);
		EXPECT_EQ(-EINVAL, softmem_set_limit(pool,
						     pool_max + self->page));
		EXPECT_EQ(-EINVAL, softmem_set_limit(pool, 2 * pool_max +
						     self->page));
		EXPECT_EQ(-EINVAL, softmem_set_limit(pool, UINT64_MAX));
		EXPECT_EQ(-EINVAL, softmem_set_limit(pool, 1ULL << 63));
		EXPECT_EQ(limit, stats_of(_metadata, pool).limit_bytes);
		/* Lowering and raising again up to pool_max is allowed. */
		EXPECT_EQ(0, softmem_set_limit(pool, 16 * self->page));
		EXPECT_EQ(0, softmem_set_limit(pool, pool_max));
		EXPECT_EQ(-EACCES, write_u64_file(SOFTMEM_SYSFS_PARAMS
						  "/max_bytes", UINT64_MAX));
		EXPECT_EQ(-EACCES, write_u64_file(SOFTMEM_SYSFS_PARAMS
						  "/pool_max_bytes",
						  UINT64_MAX));
		EXPECT_EQ(-EACCES, drop_caches());
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
	ASSERT_EQ(0, module_param("pool_max_bytes", &now));
	EXPECT_EQ(pool_max, now);
	ASSERT_EQ(0, module_param("max_bytes", &now));
	EXPECT_EQ(max_bytes, now);
}

TEST_F(hostile, nobody_pool_limit_discards_own_lru_then_enomem)
{
	struct bystander b;
	struct peer p;

	bystander_make(_metadata, self->pool, &b);
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		const size_t page = self->page, four = 4 * page;
		uint64_t kept, s[3], n, m;
		struct softmem_stats stats;
		uint8_t byte = 1;
		int pool, i;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		EXPECT_EQ(0, softmem_set_limit(pool, 4 * four));
		EXPECT_EQ(0, region_alloc_filled(pool, four, 60, &kept));
		for (i = 0; i < 3; i++)
			EXPECT_EQ(0, region_alloc_filled(pool, four, 61 + i,
							 &s[i]));
		/* Least recently suspended first: 1, then 0, then 2. */
		EXPECT_EQ(0, softmem_suspend(pool, s[1]));
		EXPECT_EQ(0, softmem_suspend(pool, s[0]));
		EXPECT_EQ(0, softmem_suspend(pool, s[2]));

		EXPECT_EQ(0, softmem_alloc(pool, 3 * four, &n));
		EXPECT_EQ(0, region_write_pattern(pool, n, 0, four, 64));
		EXPECT_EQ(-ESTALE, softmem_read(pool, s[1], 0, &byte, 1));
		EXPECT_EQ(1, stats_of(_metadata, pool).discard_events);
		EXPECT_EQ(0, region_write_pattern(pool, n, four, four, 64));
		EXPECT_EQ(-ESTALE, softmem_read(pool, s[0], 0, &byte, 1));
		EXPECT_EQ(2, stats_of(_metadata, pool).discard_events);
		EXPECT_EQ(0, region_write_pattern(pool, n, 2 * four, four,
						  64));
		EXPECT_EQ(-ESTALE, softmem_read(pool, s[2], 0, &byte, 1));

		/* Nothing left to discard but the resumed regions: ENOMEM. */
		EXPECT_EQ(0, softmem_alloc(pool, page, &m));
		EXPECT_EQ(-ENOMEM, softmem_write(pool, m, 0, &byte, 1));
		EXPECT_EQ(-ENOMEM, softmem_set(pool, m, 0, 1, 1));
		EXPECT_EQ(-ENOMEM, softmem_copy(pool, m, 0, kept, 0, 1));
		stats = stats_of(_metadata, pool);
		EXPECT_EQ(3, stats.discard_events);
		EXPECT_EQ(4 * four, stats.resident_bytes);
		EXPECT_EQ(0, stats.suspended_bytes);
		EXPECT_EQ(1, region_matches(pool, m, 0, page, REGION_ZERO));
		EXPECT_EQ(1, region_matches(pool, kept, 0, four, 60));
		EXPECT_EQ(1, region_matches(pool, n, 0, 3 * four, 64));
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
	bystander_check(_metadata, self->pool, &b);
}

TEST_F(hostile, nobody_over_module_cap_discards_own_then_enomem)
{
	uint64_t resident, token;
	struct bystander b;
	struct peer p;

	if (access(SOFTMEM_SYSFS_PARAMS "/max_bytes", W_OK))
		SKIP(return, "max_bytes parameter not writable");
	bystander_make(_metadata, self->pool, &b);
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		const size_t four = 4 * self->page;
		uint64_t kept, s, n;
		uint8_t byte = 1;
		int pool;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		EXPECT_EQ(0, region_alloc_filled(pool, four, 70, &kept));
		EXPECT_EQ(0, region_alloc_filled(pool, four, 71, &s));
		EXPECT_EQ(0, softmem_suspend(pool, s));
		EXPECT_EQ(0, softmem_alloc(pool, 3 * four, &n));
		/* Root caps the module at what is resident plus four pages. */
		if (peer_send(&p, 1) || peer_recv(&p, &token))
			_exit(CHILD_SETUP_FAILED);

		EXPECT_EQ(0, region_write_pattern(pool, n, 0, four, 72));
		EXPECT_EQ(0, stats_of(_metadata, pool).discard_events);
		/* Over the cap: its own suspended region goes first. */
		EXPECT_EQ(0, region_write_pattern(pool, n, four, four, 72));
		EXPECT_EQ(-ESTALE, softmem_read(pool, s, 0, &byte, 1));
		EXPECT_EQ(1, stats_of(_metadata, pool).discard_events);
		EXPECT_EQ(-ENOMEM, softmem_write(pool, n, 2 * four, &byte, 1));
		EXPECT_EQ(1, region_matches(pool, n, 2 * four, four,
					    REGION_ZERO));
		EXPECT_EQ(1, region_matches(pool, n, 0, 2 * four, 72));
		EXPECT_EQ(1, region_matches(pool, kept, 0, four, 70));
		EXPECT_EQ(3 * four, stats_of(_metadata, pool).resident_bytes);
		if (peer_send(&p, 1))
			_exit(CHILD_SETUP_FAILED);
		_exit(0);
	}
	ASSERT_EQ(0, peer_recv(&p, &token));
	ASSERT_EQ(0, module_param("max_bytes", &self->saved_max_bytes));
	ASSERT_EQ(0, module_stat("resident_bytes", &resident));
	ASSERT_EQ(0, write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes",
				    resident + 4 * self->page));
	EXPECT_EQ(0, peer_send(&p, 1));
	EXPECT_EQ(0, peer_recv(&p, &token));
	EXPECT_EQ(0, peer_wait(&p));
	ASSERT_EQ(0, write_u64_file(SOFTMEM_SYSFS_PARAMS "/max_bytes",
				    self->saved_max_bytes));
	self->saved_max_bytes = 0;
	bystander_check(_metadata, self->pool, &b);
}

/* Bad (offset, length) pairs for a region of @length bytes. */
static int bad_ranges(uint64_t length, uint64_t pairs[][2])
{
	const uint64_t page = page_size();
	const uint64_t list[][2] = {
		{ UINT64_MAX, 1 },
		{ UINT64_MAX, 0 },
		{ 1, UINT64_MAX },
		{ page, -page },			/* end wraps to 0 */
		{ length, -length },			/* end wraps to 0 */
		{ UINT64_MAX - page + 1, 2 * page },	/* end wraps to page */
		{ 1ULL << 63, 1ULL << 63 },
		{ 0, length + 1 },
		{ length, 1 },
		{ length + 1, 0 },
		{ 0, SOFTMEM_MAX_LENGTH + 1 },
		{ SOFTMEM_MAX_LENGTH, 1 },
		{ 0, UINT64_MAX },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(list); i++) {
		pairs[i][0] = list[i][0];
		pairs[i][1] = list[i][1];
	}
	return ARRAY_SIZE(list);
}

/* Every data command over a bad range of @h: counts the non-EINVAL. */
static int poke_range(int pool, uint64_t h, uint64_t other, uint64_t offset,
		      uint64_t length, uint8_t *buf)
{
	struct softmem_rw rw = {
		.size = sizeof(rw), .handle = h, .offset = offset,
		.length = length, .addr = (uintptr_t)buf,
	};
	struct softmem_set set = {
		.size = sizeof(set), .handle = h, .offset = offset,
		.length = length, .value = 0x5a,
	};
	struct softmem_find find = {
		.size = sizeof(find), .handle = h, .offset = offset,
		.length = length, .value = 0x5a,
	};
	struct softmem_compare cmp_user = {
		.size = sizeof(cmp_user), .flags = SOFTMEM_COMPARE_USER,
		.handle = h, .offset = offset, .addr = (uintptr_t)buf,
		.length = length,
	};
	/* Bad on the first side, on the second side, and on one region. */
	const uint64_t sides[][4] = {
		{ h, offset, other, 0 },
		{ other, 0, h, offset },
		{ h, offset, h, 0 },
		{ h, 0, h, offset },
	};
	int bad = 0;
	size_t i;

#define POKE_EINVAL(cmd, arg) \
	(bad += softmem_raw_ioctl(pool, cmd, arg) != -EINVAL)
	POKE_EINVAL(SOFTMEM_IOC_READ, &rw);
	POKE_EINVAL(SOFTMEM_IOC_WRITE, &rw);
	POKE_EINVAL(SOFTMEM_IOC_SET, &set);
	POKE_EINVAL(SOFTMEM_IOC_FIND, &find);
	POKE_EINVAL(SOFTMEM_IOC_COMPARE, &cmp_user);
	for (i = 0; i < ARRAY_SIZE(sides); i++) {
		struct softmem_copy copy = {
			.size = sizeof(copy),
			.dst_handle = sides[i][0], .dst_offset = sides[i][1],
			.src_handle = sides[i][2], .src_offset = sides[i][3],
			.length = length,
		};
		struct softmem_compare cmp = {
			.size = sizeof(cmp),
			.handle = sides[i][0], .offset = sides[i][1],
			.other_handle = sides[i][2],
			.other_offset = sides[i][3],
			.length = length,
		};

		POKE_EINVAL(SOFTMEM_IOC_COPY, &copy);
		POKE_EINVAL(SOFTMEM_IOC_MOVE, &copy);
		POKE_EINVAL(SOFTMEM_IOC_COMPARE, &cmp);
	}
#undef POKE_EINVAL
	return bad;
}

/* Everything a pool holds, to check that refused commands changed nothing. */
static void check_unchanged(struct __test_metadata *_metadata, int pool,
			    const struct softmem_stats *was, uint64_t h,
			    uint64_t other, uint64_t length)
{
	struct softmem_stats now = stats_of(_metadata, pool);

	EXPECT_EQ(was->regions, now.regions);
	EXPECT_EQ(was->length_bytes, now.length_bytes);
	EXPECT_EQ(was->resident_bytes, now.resident_bytes);
	EXPECT_EQ(was->limit_bytes, now.limit_bytes);
	EXPECT_EQ(1, region_matches(pool, h, 0, length, 80));
	EXPECT_EQ(1, region_matches(pool, other, 0, length, 81));
}

TEST_F(hostile, overflowing_offsets_and_lengths_einval_for_every_command)
{
	struct peer p;

	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		const uint64_t length = 4 * self->page;
		uint64_t pairs[16][2], h, other, first_bad = 0;
		struct softmem_stats was;
		uint8_t buf[64];
		int pool, i, n, bad = 0;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		EXPECT_EQ(0, region_alloc_filled(pool, length, 80, &h));
		EXPECT_EQ(0, region_alloc_filled(pool, length, 81, &other));
		EXPECT_EQ(0, softmem_suspend(pool, other));
		was = stats_of(_metadata, pool);
		memset(buf, 0xee, sizeof(buf));

		n = bad_ranges(length, pairs);
		for (i = 0; i < n; i++) {
			int k = poke_range(pool, h, other, pairs[i][0],
					   pairs[i][1], buf);

			if (k && !bad)
				first_bad = i;
			bad += k;
		}
		EXPECT_EQ(0, bad)
			TH_LOG("first range not refused with EINVAL: %#llx+%#llx",
			       (unsigned long long)pairs[first_bad][0],
			       (unsigned long long)pairs[first_bad][1]);
		EXPECT_EQ(0, count_not(buf, sizeof(buf), 0xee));
		/* A refused command does not even resume the region. */
		EXPECT_EQ(was.suspended_bytes,
			  stats_of(_metadata, pool).suspended_bytes);
		check_unchanged(_metadata, pool, &was, h, other, length);
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
}

TEST_F(hostile, overflowing_sizes_nodes_and_values_einval)
{
	uint64_t pool_max;
	struct peer p;

	ASSERT_EQ(0, module_param("pool_max_bytes", &pool_max));
	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		const uint64_t page = self->page, length = 4 * page;
		const uint64_t lengths[] = {
			0, SOFTMEM_MAX_LENGTH + 1, SOFTMEM_MAX_LENGTH + page,
			UINT64_MAX, UINT64_MAX - page + 2, 1ULL << 63,
			-SOFTMEM_MAX_LENGTH,
		};
		const uint32_t nodes[] = {
			0xffffffff, 0x80000000, 0x10000, 1024,
		};
		const uint64_t limits[] = {
			UINT64_MAX, pool_max + page, UINT64_MAX - page + 1,
			1ULL << 63,
		};
		uint64_t h, other, before, now;
		struct softmem_stats was;
		size_t i;
		int pool;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		EXPECT_EQ(0, region_alloc_filled(pool, length, 80, &h));
		EXPECT_EQ(0, region_alloc_filled(pool, length, 81, &other));
		was = stats_of(_metadata, pool);
		EXPECT_EQ(0, module_stat("regions", &before));

#define EXPECT_EINVAL(request, type, ...) do {			\
		struct type arg = { .size = sizeof(arg), __VA_ARGS__ };	\
									\
		EXPECT_EQ(-EINVAL, softmem_raw_ioctl(pool, request, &arg)); \
	} while (0)
		for (i = 0; i < ARRAY_SIZE(lengths); i++) {
			EXPECT_EINVAL(SOFTMEM_IOC_ALLOC, softmem_alloc,
				      .length = lengths[i]);
			EXPECT_EINVAL(SOFTMEM_IOC_ALLOC, softmem_alloc,
				      .length = lengths[i],
				      .flags = SOFTMEM_ALLOC_NODE);
		}
		for (i = 0; i < ARRAY_SIZE(nodes); i++) {
			EXPECT_EINVAL(SOFTMEM_IOC_ALLOC, softmem_alloc,
				      .length = page,
				      .flags = SOFTMEM_ALLOC_NODE,
				      .node = nodes[i]);
			/* Without the flag, the node must be 0. */
			EXPECT_EINVAL(SOFTMEM_IOC_ALLOC, softmem_alloc,
				      .length = page, .node = nodes[i]);
		}
		EXPECT_EINVAL(SOFTMEM_IOC_ALLOC, softmem_alloc,
			      .length = page, .flags = 0xffffffff);
		EXPECT_EINVAL(SOFTMEM_IOC_ALLOC, softmem_alloc,
			      .length = page, .priority = 0xffffffff);
		for (i = 0; i < ARRAY_SIZE(limits); i++) {
			EXPECT_EINVAL(SOFTMEM_IOC_CONFIGURE, softmem_configure,
				      .flags = SOFTMEM_CONFIGURE_LIMIT,
				      .limit_bytes = limits[i]);
		}
		EXPECT_EINVAL(SOFTMEM_IOC_CONFIGURE, softmem_configure,
			      .flags = 0xffffffff);
		EXPECT_EINVAL(SOFTMEM_IOC_SET, softmem_set,
			      .handle = h, .length = 1, .value = 0x100);
		EXPECT_EINVAL(SOFTMEM_IOC_SET, softmem_set,
			      .handle = h, .length = 1, .value = 0xffffffff);
		EXPECT_EINVAL(SOFTMEM_IOC_FIND, softmem_find,
			      .handle = h, .length = 1, .value = 0x100);
		EXPECT_EINVAL(SOFTMEM_IOC_FIND, softmem_find,
			      .handle = h, .length = 1, .value = 0xffffffff);
#undef EXPECT_EINVAL

		/* A struct size beyond any kernel's: E2BIG, not a huge copy. */
		{
			struct softmem_stats big = { .size = 0xffffffff };

			EXPECT_EQ(-E2BIG, softmem_raw_ioctl(pool,
							    SOFTMEM_IOC_STATS,
							    &big));
		}
		check_unchanged(_metadata, pool, &was, h, other, length);
		EXPECT_EQ(0, module_stat("regions", &now));
		EXPECT_EQ(before, now);
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
}

TEST_F(hostile, largest_region_usable_to_its_last_byte_only)
{
	struct peer p;

	ASSERT_LE(0, fork_peer(&p));
	if (!p.pid) {
		const uint64_t end = SOFTMEM_MAX_LENGTH, page = self->page;
		struct softmem_stats stats;
		uint8_t byte = 0x77, back = 0;
		int64_t position = 0;
		uint64_t h;
		int pool;

		child_become_nobody(_metadata, false);
		pool = child_open_pool(_metadata);
		EXPECT_EQ(0, softmem_alloc(pool, end, &h));
		EXPECT_EQ(0, softmem_write(pool, h, end - 1, &byte, 1));
		EXPECT_EQ(0, softmem_read(pool, h, end - 1, &back, 1));
		EXPECT_EQ(byte, back);
		EXPECT_EQ(0, softmem_find(pool, h, end - page, page, byte,
					  &position));
		EXPECT_EQ((int64_t)(end - 1), position);
		EXPECT_EQ(0, softmem_read(pool, h, end, &back, 0));
		EXPECT_EQ(-EINVAL, softmem_read(pool, h, end, &back, 1));
		EXPECT_EQ(-EINVAL, softmem_write(pool, h, end, &byte, 1));
		EXPECT_EQ(-EINVAL, softmem_read(pool, h, end - 1, &back, 2));
		stats = stats_of(_metadata, pool);
		EXPECT_EQ(end, stats.length_bytes);
		EXPECT_EQ(page, stats.resident_bytes);
		_exit(0);
	}
	EXPECT_EQ(0, peer_wait(&p));
}

static uint64_t memcg_value(const char *cgroup, const char *file)
{
	char path[192];
	uint64_t value;

	snprintf(path, sizeof(path), "%s/%s", cgroup, file);
	return read_u64_file(path, &value) ? UINT64_MAX : value;
}

static uint64_t memcg_event(const char *cgroup, const char *key)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/memory.events", cgroup);
	return keyed_value(path, key);
}

static void __attribute__((noinline)) prefault_stack(void)
{
	volatile uint8_t pad[256 * KiB];
	size_t i;

	for (i = 0; i < sizeof(pad); i += 1024)
		pad[i] = 1;
}

/*
 * In a child: enter @cgroup as nobody.  Everything the child will touch is
 * faulted in and locked first, charged to the cgroup it comes from, so that
 * inside only softmem is charged: a child at memory.max must never need a
 * page of its own, or the cgroup would have to OOM-kill it.  The child must
 * not malloc() or print until it has closed its pool.
 */
static void child_enter_memcg(struct __test_metadata *_metadata,
			      const char *cgroup)
{
	int ret;

	close_pools();
	prefault_stack();
	ret = mlockall(MCL_CURRENT) ? -errno : join_cgroup(cgroup);
	EXPECT_EQ(0, ret)
		TH_LOG("cannot lock memory and join %s: %s", cgroup,
		       strerror(-ret));
	if (ret)
		_exit(CHILD_SETUP_FAILED);
	child_become_nobody(_metadata, true);
}

/* Shared by the outsider and the parent. */
struct outsider {
	volatile int stop;
	volatile long iterations;
};

/*
 * As nobody, outside the cgroup: write, read and check 1 MiB of softmem and
 * 1 MiB of fresh anonymous memory, every few milliseconds until told to stop
 * (a quarter of that every 20 ms on the debug kernel, so that it does not
 * take a whole CPU from the hog there).
 */
static void outsider_run(struct __test_metadata *_metadata,
			 struct outsider *o)
{
	bool debug = debug_kernel();
	const size_t length = debug ? MiB / 4 : MiB;
	uint64_t h;
	int pool;

	child_become_nobody(_metadata, false);
	pool = child_open_pool(_metadata);
	EXPECT_EQ(0, softmem_alloc(pool, length, &h));
	while (!o->stop) {
		unsigned int seed = o->iterations % 251;
		uint8_t *anon = mmap(NULL, length, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		EXPECT_NE(MAP_FAILED, anon);
		if (anon == MAP_FAILED)
			break;
		memset(anon, seed, length);
		EXPECT_EQ(0, region_write_pattern(pool, h, 0, length, seed));
		EXPECT_EQ(1, region_matches(pool, h, 0, length, seed));
		EXPECT_EQ(0, count_not(anon, length, seed));
		munmap(anon, length);
		o->iterations++;
		usleep(debug ? 20000 : 5000);
	}
	_exit(0);
}

/* Wait up to 30 s for the outsider to finish more than @iterations. */
static bool outsider_moves_past(struct outsider *o, long iterations)
{
	double deadline = now_seconds() + 30;

	while (o->iterations <= iterations) {
		if (now_seconds() > deadline)
			return false;
		usleep(1000);
	}
	return true;
}

/* The parent's side: nothing OOM-killed, the cgroup held at @max. */
struct memcg_watch {
	struct outsider *outsider;
	struct peer outsider_peer;
	uint64_t oom_kills;	/* /proc/vmstat oom_kill at the start */
	long iterations;	/* of the outsider when the hog started */
};

static void watch_start(struct __test_metadata *_metadata,
			struct memcg_watch *w)
{
	w->oom_kills = keyed_value("/proc/vmstat", "oom_kill");
	ASSERT_NE(UINT64_MAX, w->oom_kills);
	w->outsider = shared_alloc(sizeof(*w->outsider));
	ASSERT_NE(NULL, w->outsider);
	ASSERT_LE(0, fork_peer(&w->outsider_peer));
	if (!w->outsider_peer.pid)
		outsider_run(_metadata, w->outsider);
	ASSERT_TRUE(outsider_moves_past(w->outsider, 0));
	w->iterations = w->outsider->iterations;
}

/* Wait for @hog while sampling memory.current; then check everything. */
static void watch_finish(struct __test_metadata *_metadata,
			 struct memcg_watch *w, const char *cgroup,
			 struct peer *hog, uint64_t max)
{
	/* Every 2 ms; every 20 on the debug kernel, or the reads take a CPU. */
	useconds_t poll = debug_kernel() ? 20000 : 2000;
	uint64_t current, highest = 0, peak;
	int status;

	while (waitpid(hog->pid, &status, WNOHANG) == 0) {
		current = memcg_value(cgroup, "memory.current");
		if (current != UINT64_MAX && current > highest)
			highest = current;
		usleep(poll);
	}
	close(hog->rx);
	close(hog->tx);
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("hog wait status %#x", status);

	/* The outsider kept going all along. */
	EXPECT_TRUE(outsider_moves_past(w->outsider, w->iterations));
	w->outsider->stop = 1;
	EXPECT_EQ(0, peer_wait(&w->outsider_peer));

	TH_LOG("memory.current at most %llu KiB of %llu KiB",
	       (unsigned long long)highest / KiB,
	       (unsigned long long)max / KiB);
	/*
	 * The kernel force-charges some allocations past memory.max (atomic
	 * ones, __GFP_NOFAIL, a dying task's): allow those few pages, not
	 * softmem's megabytes.  Seen on the debug kernel: one page over.
	 */
	EXPECT_GE(max + MEMCG_FORCED_CHARGE_SLACK, highest);
	peak = memcg_value(cgroup, "memory.peak");
	if (peak != UINT64_MAX)
		EXPECT_GE(max + MEMCG_FORCED_CHARGE_SLACK, peak);
	EXPECT_EQ(0, memcg_event(cgroup, "oom"));
	EXPECT_EQ(0, memcg_event(cgroup, "oom_kill"));
	EXPECT_EQ(w->oom_kills, keyed_value("/proc/vmstat", "oom_kill"));
	munmap(w->outsider, sizeof(*w->outsider));
}

#define HOG_MIB		256	/* 128 on the debug kernel: twice HOG_MAX */
#define HOG_MIB_DEBUG	128
#define HOG_MAX		(64 * MiB)

/* Pattern @seed with region @i's number stamped on every page. */
static void hog_pattern(uint8_t *buf, const uint8_t *base, uint64_t i)
{
	size_t off;

	memcpy(buf, base, MiB);
	for (off = 0; off < MiB; off += page_size())
		memcpy(buf + off, &i, sizeof(i));
}

/*
 * In @cgroup, as nobody, write HOG_MIB regions of 1 MiB, suspending each
 * after writing it if @suspend.  Without @suspend, once refused, suspend the
 * two oldest and write one more.  Then check every region.
 */
static void hog_run(struct __test_metadata *_metadata, const char *cgroup,
		    bool suspend)
{
	static uint8_t base[MiB], want[MiB], got[MiB];
	static uint64_t h[HOG_MIB + 1];
	int hog_mib = debug_kernel() ? HOG_MIB_DEBUG : HOG_MIB;
	int pool, i, n, ret = 0, late = 0, intact = 0, discarded = 0;
	int corrupt = 0, wrongly_discarded = 0;

	pattern_fill(base, MiB, 0, 33);
	child_enter_memcg(_metadata, cgroup);

	/* From here until the pool is closed: no malloc(), no output. */
	pool = softmem_open();
	for (n = 0; pool >= 0 && n < hog_mib; n++) {
		hog_pattern(want, base, n);
		ret = softmem_alloc(pool, MiB, &h[n]);
		if (!ret)
			ret = softmem_write(pool, h[n], 0, want, MiB);
		if (!ret && suspend)
			ret = softmem_suspend(pool, h[n]);
		if (ret)
			break;
	}
	if (pool >= 0 && !suspend && ret == -ENOMEM && n > 2) {
		late = softmem_suspend(pool, h[0]);
		if (!late)
			late = softmem_suspend(pool, h[1]);
		hog_pattern(want, base, n);
		if (!late)
			late = softmem_alloc(pool, MiB, &h[n]);
		if (!late)
			late = softmem_write(pool, h[n], 0, want, MiB);
		if (!late)
			n++;
	}
	for (i = 0; pool >= 0 && i < n; i++) {
		int state = region_resume_state(pool, h[i]);

		if (state == SOFTMEM_DISCARDED) {
			discarded++;
			wrongly_discarded += !suspend && i > 1;
			memset(want, 0, MiB);
		} else {
			intact += state == SOFTMEM_INTACT;
			hog_pattern(want, base, i);
		}
		if (softmem_read(pool, h[i], 0, got, MiB) ||
		    memcmp(want, got, MiB))
			corrupt++;
	}
	if (pool >= 0)
		softmem_close(pool);

	EXPECT_LE(0, pool);
	TH_LOG("%s: %d MiB written, then %d; %d intact, %d discarded",
	       suspend ? "suspending" : "all resumed", n, ret, intact,
	       discarded);
	EXPECT_EQ(0, corrupt);
	EXPECT_EQ(n, intact + discarded);
	if (suspend) {
		EXPECT_EQ(0, ret);
		EXPECT_EQ(hog_mib, n);
		EXPECT_LE(hog_mib - HOG_MAX / MiB, discarded);
	} else {
		EXPECT_EQ(-ENOMEM, ret);
		EXPECT_GE(HOG_MAX / MiB, n);
		EXPECT_LE(HOG_MAX / MiB / 4, n);
		/* Room came from what it suspended, and only from that. */
		EXPECT_EQ(0, late);
		EXPECT_LE(1, discarded);
		EXPECT_EQ(0, wrongly_discarded);
	}
	_exit(0);
}

static void memcg_hog_test(struct __test_metadata *_metadata,
			   FIXTURE_DATA(hostile) *self, bool suspend)
{
	struct memcg_watch w;
	struct peer hog;

	if (!make_memcg(_metadata, self->cgroup, sizeof(self->cgroup),
			"softmem-hostile", HOG_MAX))
		return;
	watch_start(_metadata, &w);
	ASSERT_LE(0, fork_peer(&hog));
	if (!hog.pid)
		hog_run(_metadata, self->cgroup, suspend);
	watch_finish(_metadata, &w, self->cgroup, &hog, HOG_MAX);
}

/*
 * The memcg tests take about a minute on the debug kernel, and several
 * times that on a loaded host: their timeouts leave room for both.
 */
#define MEMCG_TEST_TIMEOUT	900

TEST_F_TIMEOUT(hostile, memcg_refuses_resumed_softmem_beyond_memory_max,
	       MEMCG_TEST_TIMEOUT)
{
	memcg_hog_test(_metadata, self, false);
}

TEST_F_TIMEOUT(hostile, memcg_discards_own_suspended_softmem_at_memory_max,
	       MEMCG_TEST_TIMEOUT)
{
	memcg_hog_test(_metadata, self, true);
}

#define DESCRIPTOR_MAX		(4 * MiB)
/* About 5000 descriptors on the debug kernel instead of 10000. */
#define DESCRIPTOR_MAX_DEBUG	(2 * MiB)
#define DESCRIPTOR_BOUND	(1 << 20)

/* In @cgroup, as nobody: empty regions until refused. */
static void descriptor_hog_run(struct __test_metadata *_metadata,
			       const char *cgroup)
{
	struct softmem_stats stats = { 0 };
	int pool, n, ret = 0, stats_ret = -1;
	uint64_t h;

	child_enter_memcg(_metadata, cgroup);
	pool = softmem_open();
	for (n = 0; pool >= 0 && n < DESCRIPTOR_BOUND; n++) {
		ret = softmem_alloc(pool, SOFTMEM_MAX_LENGTH, &h);
		if (ret)
			break;
	}
	if (pool >= 0) {
		stats_ret = pool_stats(pool, &stats);
		softmem_close(pool);
	}
	EXPECT_LE(0, pool);
	TH_LOG("%d regions of 1 TiB, then %d", n, ret);
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(0, stats_ret);
	EXPECT_EQ(n, stats.regions);
	EXPECT_EQ(0, stats.resident_bytes);
	_exit(0);
}

TEST_F_TIMEOUT(hostile, memcg_bounds_region_descriptors, MEMCG_TEST_TIMEOUT)
{
	uint64_t max = debug_kernel() ? DESCRIPTOR_MAX_DEBUG : DESCRIPTOR_MAX;
	uint64_t regions, now;
	struct memcg_watch w;
	struct peer hog;

	if (!make_memcg(_metadata, self->cgroup, sizeof(self->cgroup),
			"softmem-hostile", max))
		return;
	ASSERT_EQ(0, module_stat("regions", &regions));
	watch_start(_metadata, &w);
	ASSERT_LE(0, fork_peer(&hog));
	if (!hog.pid)
		descriptor_hog_run(_metadata, self->cgroup);
	watch_finish(_metadata, &w, self->cgroup, &hog, max);
	ASSERT_EQ(0, module_stat("regions", &now));
	EXPECT_EQ(regions, now);
}

TEST_HARNESS_MAIN
