// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_oom: the OOM killer sees who holds softmem pages.
 *
 * Resumed pages can be neither swapped nor discarded, so they weigh like
 * locked memory.  They count in the RSS (as shared memory, RssShmem) of the
 * process whose write made the region's pages, which is what the OOM killer
 * ranks processes by.  Three processes: A holds resumed softmem, B less
 * ordinary anonymous memory, and C grows until the OOM killer runs; it
 * must pick A.  Resumed softmem is not locked memory in the
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

/* Tell the guest's splat scan (tools/vm-run) that an OOM report is due. */
static void kmsg(const char *text)
{
	write_file("/dev/kmsg", text);
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

/* Signal readiness on @fd, then wait to be killed. */
static void __attribute__((noreturn)) hold(int fd)
{
	char c = 0;

	if (write(fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
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
			ksft_print_msg("A: %s after %llu MiB, %llu MiB free (node 0 %llu, node 1 %llu); softmem: %llu pools, %llu MiB resident\n",
				       strerror(-ret),
				       (unsigned long long)(done / MiB),
				       (unsigned long long)(meminfo_bytes("MemFree") / MiB),
				       (unsigned long long)(node_meminfo(0, "MemFree") / MiB),
				       (unsigned long long)(node_meminfo(1, "MemFree") / MiB),
				       (unsigned long long)pools,
				       (unsigned long long)(resident / MiB));
			_exit(2);
		}
	}
	hold(fd);
}

static void __attribute__((noreturn)) holder_anon(int fd)
{
	char *p = mmap(NULL, b_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(1);
	memset(p, 0x5a, b_bytes);
	hold(fd);
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

/* Start @fn in a child; *@ready tells whether it got its memory. */
static pid_t start(void (*fn)(int fd), int *ready)
{
	int pipefd[2];
	pid_t pid;
	char c;

	*ready = 0;
	if (pipe(pipefd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(pipefd[0]);
		set_oom_score_adj(0);
		fn(pipefd[1]);
	}
	close(pipefd[1]);
	*ready = read(pipefd[0], &c, 1) == 1;
	close(pipefd[0]);
	if (!*ready) {
		int status = 0;

		waitpid(pid, &status, 0);
		ksft_print_msg("child %d ended without its memory: status 0x%x\n",
			       pid, status);
		return -1;
	}
	return pid;
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
	self->pids[0] = start(holder_softmem, &ready);
	ASSERT_TRUE(ready);
	rss_shmem = status_kib(self->pids[0], "RssShmem");
	TH_LOG("A holds %llu MiB of resumed softmem, RssShmem %llu MiB",
	       (unsigned long long)(a_bytes / MiB),
	       (unsigned long long)(rss_shmem / 1024));
	EXPECT_LE(a_bytes / KiB, rss_shmem);
	self->pids[1] = start(holder_anon, &ready);
	ASSERT_TRUE(ready);

	kmsg_fd = kmsg_open_tail();
	ASSERT_LE(0, kmsg_fd) TH_LOG("/dev/kmsg: %s", strerror(errno));
	kmsg("softmem-selftest: OOM kill expected");
	self->pids[2] = fork();
	ASSERT_LE(0, self->pids[2]);
	if (!self->pids[2]) {
		set_oom_score_adj(0);
		grower();
	}
	pid = waitpid(-1, &status, 0);
	kmsg("softmem-selftest: OOM kill over");
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
