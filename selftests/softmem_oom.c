// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_oom: the OOM killer sees who holds softmem pages.
 *
 * Resumed pages can be neither swapped nor discarded, so they weigh like
 * locked memory.  They count in the RSS (as shared memory, RssShmem) of the
 * process whose write made the region's pages, which is what the OOM killer
 * ranks processes by.  Three processes: A holds resumed softmem, B less
 * ordinary anonymous memory, and C grows until the OOM killer runs; it
 * must pick A.  Suspended softmem goes first: the OOM killer asks softmem
 * before it picks a victim, and kills nobody while reclaim could still
 * discard a suspended region.  Resumed softmem is not locked memory in the
 * RLIMIT_MEMLOCK sense: memory cgroups and the pool and module limits bound
 * it instead, as a test as nobody shows.
 */
#include "softmem_test.h"

#include <sys/resource.h>

#define C_STEP		(4 * MiB)

/*
 * A takes 40% and B 25% of the guest's memory, in 4 MiB steps, so that C,
 * which gets what the kernel and the rest leave before the OOM killer
 * runs, stays the smallest on any guest size (about 192 and 120 MiB in a
 * 512 MiB guest).  Shares of MemTotal, not of MemAvailable: memory still
 * being freed by the test before would make C the largest.
 */
static uint64_t a_bytes, b_bytes;

static uint64_t share_of_memory(unsigned int percent)
{
	return meminfo_bytes("MemTotal") / 100 * percent & ~(C_STEP - 1);
}

/*
 * /dev/kmsg opened at its end: what the kernel logs from now on.
 */
static int kmsg_open_tail(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The pid of the first process the OOM killer killed since @fd was opened
 * ("Out of memory: Killed process PID (comm) ..."), or -1.  The order in
 * which the victims exit is not the order in which they were chosen: a
 * victim whose memory the OOM reaper cannot free (resumed softmem is only
 * freed when its pool closes, late in exit) is skipped after a while, and
 * the next victim may exit first on a slow kernel.  The record follows the
 * SIGKILL, so it may come after the victim is gone: wait up to 10 s for it.
 */
static pid_t kmsg_first_oom_victim(int fd)
{
	char record[2048];
	int waits = 0;
	ssize_t n;

	for (;;) {
		char *text;
		int pid;

		n = read(fd, record, sizeof(record) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records overwritten: go on */
		if (n < 0 && errno == EAGAIN && waits++ < 100) {
			usleep(100 * 1000);
			continue;
		}
		if (n <= 0)
			return -1;
		record[n] = '\0';
		text = strstr(record, "Killed process ");
		if (text && sscanf(text, "Killed process %d", &pid) == 1) {
			ksft_print_msg("kernel: %s", strchr(record, ';') ?
				       strchr(record, ';') + 1 : record);
			return pid;
		}
	}
}

/* Kibibytes of field @key ("RssShmem") in /proc/@pid/status. */
static uint64_t status_kib(pid_t pid, const char *key)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	return meminfo_file_bytes(path, key) / KiB;
}

static void __attribute__((noreturn)) holder_softmem(int fd)
{
	int pool = softmem_open();
	uint64_t h, done;

	if (pool < 0)
		_exit(1);
	for (done = 0; done < a_bytes; done += 4 * MiB) {
		int ret = region_alloc_filled(pool, 4 * MiB, 1, &h);

		if (ret) {
			uint64_t pools = 0, resident = 0;

			module_stat("pools", &pools);
			module_stat("resident_bytes", &resident);
			ksft_print_msg("A: %s after %llu MiB, %llu MiB free (node 0 %llu, node 1 %llu; min marks %llu and %llu KiB, boosts %llu and %llu KiB); softmem: %llu pools, %llu MiB resident\n",
				       strerror(-ret),
				       (unsigned long long)(done / MiB),
				       (unsigned long long)(meminfo_bytes("MemFree") / MiB),
				       (unsigned long long)(node_meminfo(0, "MemFree") / MiB),
				       (unsigned long long)(node_meminfo(1, "MemFree") / MiB),
				       (unsigned long long)(zoneinfo_sum(0, "min") / KiB),
				       (unsigned long long)(zoneinfo_sum(1, "min") / KiB),
				       (unsigned long long)(zoneinfo_sum(0, "boost") / KiB),
				       (unsigned long long)(zoneinfo_sum(1, "boost") / KiB),
				       (unsigned long long)pools,
				       (unsigned long long)(resident / MiB));
			_exit(2);
		}
	}
	hold_until_killed(fd);
}

static void __attribute__((noreturn)) holder_anon(int fd)
{
	char *p = mmap(NULL, b_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
	memset(p, 0x5a, b_bytes);
	hold_until_killed(fd);
}

/* Take memory step by step until killed; bounded by the guest's RAM. */
static void __attribute__((noreturn)) grower(void)
{
	uint64_t total = meminfo_bytes("MemTotal"), taken;

	for (taken = 0; taken < total; taken += C_STEP) {
		char *p = mmap(NULL, C_STEP, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(1);
		memset(p, 0x5a, C_STEP);
	}
	_exit(0);
}

FIXTURE(oom_sees_softmem) {
	pid_t pids[3];
};

FIXTURE_SETUP(oom_sees_softmem)
{
	SKIP_IF_NO_DEVICE();
	ASSERT_EQ(0, set_oom_score_adj(-1000));
}

FIXTURE_TEARDOWN(oom_sees_softmem)
{
	int i;

	for (i = 0; i < 3; i++) {
		if (self->pids[i] > 0) {
			kill(self->pids[i], SIGKILL);
			waitpid(self->pids[i], NULL, 0);
		}
	}
}

TEST_F_TIMEOUT(oom_sees_softmem, resumed_holder_is_killed, 600)
{
	static const char *const names[] = { "A (softmem)", "B (anon)", "C" };
	int ready, status, i, kmsg_fd, victim = -1;
	uint64_t rss_shmem;
	pid_t pid, chosen;

	a_bytes = share_of_memory(40);
	b_bytes = share_of_memory(25);
	TH_LOG("A takes %llu MiB of softmem, B %llu MiB of anonymous memory",
	       (unsigned long long)(a_bytes / MiB),
	       (unsigned long long)(b_bytes / MiB));
	self->pids[0] = start_ready_child(holder_softmem, &ready);
	ASSERT_TRUE(ready);
	rss_shmem = status_kib(self->pids[0], "RssShmem");
	TH_LOG("A holds %llu MiB of resumed softmem, RssShmem %llu MiB",
	       (unsigned long long)(a_bytes / MiB),
	       (unsigned long long)(rss_shmem / 1024));
	EXPECT_LE(a_bytes / KiB, rss_shmem);
	self->pids[1] = start_ready_child(holder_anon, &ready);
	ASSERT_TRUE(ready);

	kmsg_fd = kmsg_open_tail();
	ASSERT_LE(0, kmsg_fd) TH_LOG("/dev/kmsg: %s", strerror(errno));
	kmsg(OOM_KILL_EXPECTED);
	self->pids[2] = fork();
	ASSERT_LE(0, self->pids[2]);
	if (!self->pids[2]) {
		set_oom_score_adj(0);
		grower();
	}
	pid = waitpid(-1, &status, 0);
	kmsg(OOM_KILL_OVER);
	chosen = kmsg_first_oom_victim(kmsg_fd);
	close(kmsg_fd);
	for (i = 0; i < 3; i++)
		if (chosen == self->pids[i])
			victim = i;
	for (i = 0; i < 3; i++)
		if (pid == self->pids[i]) {
			TH_LOG("first to exit: %s, %s %d", names[i],
			       WIFSIGNALED(status) ? "signal" : "exit status",
			       WIFSIGNALED(status) ? WTERMSIG(status) :
						     WEXITSTATUS(status));
			self->pids[i] = 0;
		}
	ASSERT_LE(0, victim) TH_LOG("no OOM kill of A, B or C logged (first: %d)",
				    chosen);
	TH_LOG("first chosen by the OOM killer: %s", names[victim]);
	EXPECT_EQ(0, victim);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

#define SUSPENDED_REGION	(4 * MiB)
#define MAX_SUSPENDED		64
/* Processes that take memory at once: twice the test guest's CPUs. */
#define TAKERS			4
#define TAKER_ROUNDS		3

FIXTURE(suspended_first) {
	int pool;
	int nr;
	uint64_t h[MAX_SUSPENDED];
};

FIXTURE_SETUP(suspended_first)
{
	SKIP_IF_NO_DEVICE();
	ASSERT_EQ(0, set_oom_score_adj(-1000));
	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
}

FIXTURE_TEARDOWN(suspended_first)
{
	if (self->pool > 0)
		softmem_close(self->pool);
}

/* @nr suspended regions of SUSPENDED_REGION bytes, region i filled with i + 1. */
static void suspend_regions(struct __test_metadata *_metadata,
			    FIXTURE_DATA(suspended_first) *self, int nr)
{
	int i;

	ASSERT_GE(MAX_SUSPENDED, nr);
	for (i = 0; i < nr; i++) {
		ASSERT_EQ(0, softmem_alloc(self->pool, SUSPENDED_REGION,
					   &self->h[i]));
		ASSERT_EQ(0, softmem_set(self->pool, self->h[i], 0, 1 + i,
					 SUSPENDED_REGION));
		ASSERT_EQ(0, softmem_suspend(self->pool, self->h[i]));
	}
	self->nr = nr;
}

/*
 * Resume and free every region: each is discarded or holds what was
 * written (its first and last pages are checked).  Returns the discarded.
 */
static int resume_regions(struct __test_metadata *_metadata,
			  FIXTURE_DATA(suspended_first) *self)
{
	uint64_t ends[2] = { 0, SUSPENDED_REGION - page_size() };
	uint8_t *page = malloc(page_size());
	int i, j, lost = 0;

	ASSERT_NE(NULL, page);
	for (i = 0; i < self->nr; i++) {
		int state = region_resume_state(self->pool, self->h[i]);

		ASSERT_LE(0, state) TH_LOG("resume: %s", strerror(-state));
		lost += state == SOFTMEM_DISCARDED;
		for (j = 0; state == SOFTMEM_INTACT && j < 2; j++) {
			ASSERT_EQ(0, softmem_read(self->pool, self->h[i],
						  ends[j], page, page_size()));
			EXPECT_TRUE(page[0] == 1 + i &&
				    !memcmp(page, page + 1, page_size() - 1))
				TH_LOG("region %d changed at %llu", i,
				       (unsigned long long)ends[j]);
		}
		ASSERT_EQ(0, softmem_free(self->pool, self->h[i]));
	}
	free(page);
	self->nr = 0;
	return lost;
}

/*
 * Take @bytes in 4 MiB steps, each populated in one call, tell @done_fd,
 * and hold them until @go_fd is closed.
 */
static void __attribute__((noreturn)) taker(uint64_t bytes, int done_fd,
					    int go_fd)
{
	const uint64_t step = 4 * MiB;
	uint64_t done;
	char c = 0, *p;

	p = oom_victim_map(bytes);
	if (p == MAP_FAILED)
		_exit(1);
	for (done = 0; done + step <= bytes; done += step)
		populate(p + done, step);
	if (write(done_fd, &c, 1) != 1)
		_exit(2);
	close(done_fd);
	if (read(go_fd, &c, 1) != 0)
		_exit(3);
	_exit(0);
}

/*
 * TAKERS processes take @bytes between them, all at once, and hold them
 * until each has its share or was killed; returns how many were killed.
 */
static int take_at_once(struct __test_metadata *_metadata, uint64_t bytes)
{
	int done[2], go[2], killed = 0, i;
	pid_t pid[TAKERS];
	char c;

	ASSERT_EQ(0, pipe(done));
	ASSERT_EQ(0, pipe(go));
	for (i = 0; i < TAKERS; i++) {
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			close(done[0]);
			close(go[1]);
			taker(bytes / TAKERS, done[1], go[0]);
		}
	}
	close(done[1]);
	close(go[0]);
	/* Every taker wrote a byte and closed its end, or was killed. */
	while (read(done[0], &c, 1) == 1)
		;
	close(done[0]);
	close(go[1]);
	for (i = 0; i < TAKERS; i++) {
		int ret = wait_child(pid[i]);

		if (ret == 128 + SIGKILL) {
			killed++;
			continue;
		}
		EXPECT_EQ(0, ret) TH_LOG("taker %d", i);
	}
	return killed;
}

/*
 * Processes take all that is available and all the suspended regions
 * more, four at once on two CPUs: reclaim discards while others allocate,
 * and an allocation may find the pages it freed taken already.  The OOM
 * killer may kill one of them (that is more than there is), but only once
 * every region is gone: whatever reclaim leaves, the OOM killer's notifier
 * takes first.  Before the notifier, a taker was killed beside 192 MiB of
 * suspended regions about once in four whole runs (manager_free_threshold's
 * "manager off" phase, 6.12).
 */
TEST_F_TIMEOUT(suspended_first, no_kill_while_suspended_regions_remain, 900)
{
	int nr = share_of_memory(25) / SUSPENDED_REGION, round, killed, lost;
	uint64_t kills, take;

	if (nr > MAX_SUSPENDED)
		nr = MAX_SUSPENDED;
	for (round = 0; round < TAKER_ROUNDS; round++) {
		suspend_regions(_metadata, self, nr);
		wait_nodes_balanced(10);
		take = (meminfo_bytes("MemAvailable") + nr * SUSPENDED_REGION) &
		       ~(4 * MiB * TAKERS - 1);
		kills = keyed_value("/proc/vmstat", "oom_kill");
		ASSERT_NE(UINT64_MAX, kills);
		kmsg(OOM_KILL_EXPECTED);
		killed = take_at_once(_metadata, take);
		kmsg(OOM_KILL_OVER);
		kills = keyed_value("/proc/vmstat", "oom_kill") - kills;
		lost = resume_regions(_metadata, self);
		TH_LOG("round %d: %llu MiB taken, %d of %d regions discarded, %llu OOM kills",
		       round, (unsigned long long)(take / MiB), lost, nr,
		       (unsigned long long)kills);
		EXPECT_EQ(killed, kills);
		if (kills)
			EXPECT_EQ(nr, lost);
		/* Only softmem had the memory asked beyond MemAvailable. */
		EXPECT_LE(1, lost);
	}
}

/*
 * A manual OOM kill (sysrq f) asks the notifier too, and kills all the
 * same.  No node is short of its high watermark, so each node gives its
 * least recently suspended region and no more: a region per node at most.
 */
TEST_F_TIMEOUT(suspended_first, oom_notifier_discards_a_region_per_node, 120)
{
	int nr = 8, nodes = 0, kmsg_fd, lost;
	pid_t victim;

	while (node_exists(nodes))
		nodes++;
	suspend_regions(_metadata, self, nr);
	ASSERT_TRUE(wait_nodes_balanced(30));
	kmsg_fd = kmsg_open_tail();
	ASSERT_LE(0, kmsg_fd) TH_LOG("/dev/kmsg: %s", strerror(errno));
	victim = sysrq_oom_kill_child();
	ASSERT_LT(0, victim);
	EXPECT_EQ(victim, kmsg_first_oom_victim(kmsg_fd));
	close(kmsg_fd);

	lost = resume_regions(_metadata, self);
	TH_LOG("%d of %d regions discarded, %d nodes", lost, nr, nodes);
	EXPECT_LE(1, lost);
	EXPECT_GE(nodes, lost);
}

/*
 * Resumed softmem is not RLIMIT_MEMLOCK memory: nobody, with a limit of
 * 64 KiB, holds 16 MiB of resumed regions.
 */
TEST(memlock_limit_does_not_apply_to_resumed_softmem)
{
	pid_t pid;

	if (access(SOFTMEM_DEVICE_PATH, F_OK))
		SKIP(return, "%s not present", SOFTMEM_DEVICE_PATH);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct rlimit lim = { 64 * KiB, 64 * KiB };
		uint64_t h;
		int pool;

		if (setrlimit(RLIMIT_MEMLOCK, &lim) || setgid(65534) ||
		    setuid(65534))
			_exit(1);
		pool = softmem_open();
		if (pool < 0)
			_exit(2);
		_exit(region_alloc_filled(pool, 16 * MiB, 3, &h) ? 3 : 0);
	}
	EXPECT_EQ(0, wait_child(pid));
}

TEST_HARNESS_MAIN
