/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the softmem selftests.
 *
 * Include this first: it pulls in the kselftest harness, the uAPI header and
 * libsoftmem.  Every helper returns 0 (or a value) on success and a negative
 * errno on failure, like libsoftmem, so a test can ASSERT_EQ(0, helper(...)).
 */
#ifndef SOFTMEM_TEST_H
#define SOFTMEM_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#include <linux/magic.h>
#include <linux/userfaultfd.h>
#include <linux/softmem.h>
#include "softmem.h"

#define SOFTMEM_DEVICE_PATH	"/dev/softmem"
#define SOFTMEM_SYSFS_STATS	"/sys/class/misc/softmem/stats"
#define SOFTMEM_SYSFS_PARAMS	"/sys/module/softmem/parameters"
#define CGROUP2_ROOT		"/sys/fs/cgroup"
#define DEBUGFS_ROOT		"/sys/kernel/debug"

#define KiB			(1ULL << 10)
#define MiB			(1ULL << 20)

#ifndef offsetofend
#define offsetofend(type, member) \
	(offsetof(type, member) + sizeof(((type *)0)->member))
#endif

/* Skip the test (from FIXTURE_SETUP or a test body) without the device. */
#define SKIP_IF_NO_DEVICE()						\
	do {								\
		if (access(SOFTMEM_DEVICE_PATH, R_OK | W_OK))		\
			SKIP(return, "%s: %s (softmem.ko not loaded)",	\
			     SOFTMEM_DEVICE_PATH, strerror(errno));	\
	} while (0)

static inline size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline uint64_t page_round_up(uint64_t length)
{
	return (length + page_size() - 1) & ~((uint64_t)page_size() - 1);
}

/* A raw softmem ioctl, for the ABI tests: 0 or -errno. */
static inline int softmem_raw_ioctl(int pool, unsigned long request, void *arg)
{
	int ret = ioctl(pool, request, arg);

	if (ret < 0)
		return -errno;
	return ret;
}

/*
 * A userfaultfd that stops the first touch of each page of [@addr, @addr +
 * @length) until the test supplies it, or -errno if the kernel has none
 * (CONFIG_USERFAULTFD): the caller skips then.  A kernel that has one must
 * take the registration.
 */
static inline int uffd_watch_missing(struct __test_metadata *_metadata,
				     void *addr, size_t length)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)addr, .len = length },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);

	if (uffd < 0)
		return -errno;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));
	return uffd;
}

/* A result for a message: "success" or the text of errno -@ret. */
static inline const char *err_name(long ret)
{
	return ret ? strerror(-ret) : "success";
}

/* Byte @pos of pattern @seed: never zero, so it is told from a discard. */
static inline uint8_t pattern_byte(uint64_t pos, unsigned int seed)
{
	return (uint8_t)((pos * 131 + (pos >> 9) * 17 + seed * 29) | 1);
}

static inline void pattern_fill(uint8_t *buf, size_t length, uint64_t pos,
				unsigned int seed)
{
	size_t i;

	for (i = 0; i < length; i++)
		buf[i] = pattern_byte(pos + i, seed);
}

#define REGION_CHUNK	(1 * MiB)

/*
 * Write pattern @seed over [offset, offset + length) of a region, through
 * @buf of @size bytes.
 */
static inline int region_write_pattern_via(int pool, uint64_t handle,
					   uint64_t offset, uint64_t length,
					   unsigned int seed, uint8_t *buf,
					   size_t size)
{
	int ret = 0;

	while (length && !ret) {
		size_t chunk = length < size ? length : size;

		pattern_fill(buf, chunk, offset, seed);
		ret = softmem_write(pool, handle, offset, buf, chunk);
		offset += chunk;
		length -= chunk;
	}
	return ret;
}

/* Write pattern @seed over [offset, offset + length) of a region. */
static inline int region_write_pattern(int pool, uint64_t handle,
				       uint64_t offset, uint64_t length,
				       unsigned int seed)
{
	uint8_t *buf = malloc(REGION_CHUNK);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = region_write_pattern_via(pool, handle, offset, length, seed, buf,
				       REGION_CHUNK);
	free(buf);
	return ret;
}

/*
 * Compare [offset, offset + length) of a region with pattern @seed, or with
 * zeros when @seed is REGION_ZERO: 1 if it matches, 0 if not, -errno if the
 * read fails.
 */
#define REGION_ZERO	(~0U)

static inline int region_matches(int pool, uint64_t handle, uint64_t offset,
				 uint64_t length, unsigned int seed)
{
	uint8_t *buf = malloc(REGION_CHUNK);
	uint8_t *want = malloc(REGION_CHUNK);
	int ret = 1;

	if (!buf || !want) {
		ret = -ENOMEM;
		goto out;
	}
	while (length && ret == 1) {
		size_t chunk = length < REGION_CHUNK ? length : REGION_CHUNK;
		int err = softmem_read(pool, handle, offset, buf, chunk);

		if (err) {
			ret = err;
			break;
		}
		if (seed == REGION_ZERO)
			memset(want, 0, chunk);
		else
			pattern_fill(want, chunk, offset, seed);
		if (memcmp(buf, want, chunk))
			ret = 0;
		offset += chunk;
		length -= chunk;
	}
out:
	free(buf);
	free(want);
	return ret;
}

/* Resume a region: SOFTMEM_INTACT, SOFTMEM_DISCARDED or -errno. */
static inline int region_resume_state(int pool, uint64_t handle)
{
	bool discarded = false;
	int ret = softmem_resume(pool, handle, &discarded);

	if (ret)
		return ret;
	return discarded ? SOFTMEM_DISCARDED : SOFTMEM_INTACT;
}

/* Allocate a region and write pattern @seed over all of it. */
static inline int region_alloc_filled(int pool, uint64_t length,
				      unsigned int seed, uint64_t *handle)
{
	int ret = softmem_alloc(pool, length, handle);

	if (ret)
		return ret;
	return region_write_pattern(pool, *handle, 0, page_round_up(length),
				    seed);
}

static inline int write_file(const char *path, const char *text)
{
	ssize_t len = (ssize_t)strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != len)
		ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static inline int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	close(fd);
	if (len < 0)
		return -errno;
	buf[len] = '\0';
	return 0;
}

/* Field @key ("softmem-pool") of /proc/self/fdinfo/@fd, or -1. */
static inline int64_t fdinfo_field(int fd, const char *key)
{
	char path[64], line[256];
	size_t len = strlen(key);
	int64_t value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			value = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return value;
}

static inline int read_u64_file(const char *path, uint64_t *value)
{
	char buf[64], *end;
	int ret = read_file(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*value = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	return 0;
}

static inline int write_u64_file(const char *path, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return write_file(path, buf);
}

static inline int set_oom_score_adj(int value)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", value);
	return write_file("/proc/self/oom_score_adj", buf);
}

/* A module-wide counter from /sys/class/misc/softmem/stats/@name. */
static inline int module_stat(const char *name, uint64_t *value)
{
	char path[128];

	snprintf(path, sizeof(path), SOFTMEM_SYSFS_STATS "/%s", name);
	return read_u64_file(path, value);
}

/* A module parameter from /sys/module/softmem/parameters/@name. */
static inline int module_param(const char *name, uint64_t *value)
{
	char path[128];

	snprintf(path, sizeof(path), SOFTMEM_SYSFS_PARAMS "/%s", name);
	return read_u64_file(path, value);
}

/* Set module parameter @name; run_all.sh restores it after each test. */
static inline int set_module_param(const char *name, uint64_t value)
{
	char path[128];

	snprintf(path, sizeof(path), SOFTMEM_SYSFS_PARAMS "/%s", name);
	return write_u64_file(path, value);
}

/* Run every shrinker once: discards every suspended region with pages. */
static inline int drop_caches(void)
{
	return write_file("/proc/sys/vm/drop_caches", "2");
}

static inline int pool_stats(int pool, struct softmem_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
	return softmem_stats(pool, stats);
}

/*
 * The first counter of @st that is negative (as a signed number), its value
 * in @value; NULL if none is.  No counter may ever be, not even for a moment.
 */
/*
 * The handles a pool set up for suspend and resume without a system call
 * (softmem_lockfree()) may have: far more than any test holds at once.
 */
#define LOCKFREE_HANDLES	4096

/*
 * Suspended bytes as a pool counts them: with state words the kernel learns
 * of a resume only when reclaim asks the word, so every resident byte of a
 * region held only through them counts as suspended (discardable unless its
 * word says otherwise).
 */
#define COUNTED_SUSPENDED(lockfree, stats, expected) \
	((lockfree) ? (stats).resident_bytes : (uint64_t)(expected))

static inline const char *stats_negative(const struct softmem_stats *st,
					 int64_t *value)
{
	const struct {
		const char *name;
		uint64_t value;
	} counters[] = {
		{ "regions", st->regions },
		{ "length_bytes", st->length_bytes },
		{ "resident_bytes", st->resident_bytes },
		{ "suspended_bytes", st->suspended_bytes },
		{ "discarded_bytes", st->discarded_bytes },
		{ "discard_events", st->discard_events },
	};
	size_t i;

	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		if ((int64_t)counters[i].value < 0) {
			*value = counters[i].value;
			return counters[i].name;
		}
	}
	return NULL;
}

/* Mount @type at @dir unless a file system with @magic is there already. */
static inline int ensure_mounted(const char *type, const char *dir,
				 unsigned long magic)
{
	struct statfs fs;

	if (!statfs(dir, &fs) && (unsigned long)fs.f_type == magic)
		return 0;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	if (mount(type, dir, type, 0, NULL))
		return -errno;
	return 0;
}

static inline int ensure_cgroup2(void)
{
	return ensure_mounted("cgroup2", CGROUP2_ROOT, CGROUP2_SUPER_MAGIC);
}

static inline int ensure_debugfs(void)
{
	return ensure_mounted("debugfs", DEBUGFS_ROOT, DEBUGFS_MAGIC);
}

/*
 * A fresh cgroup CGROUP2_ROOT/@name-<pid> with memory.max = @max, its path
 * in @cgroup (set before it is made, for the teardown to remove); SKIP and
 * false without the memory controller.
 */
static inline bool make_memcg(struct __test_metadata *_metadata, char *cgroup,
			      size_t size, const char *name, uint64_t max)
{
	char path[192], controllers[256];

	if (ensure_cgroup2())
		SKIP(return false, "cannot mount cgroup2 at %s", CGROUP2_ROOT);
	if (read_file(CGROUP2_ROOT "/cgroup.controllers", controllers,
		      sizeof(controllers)) || !strstr(controllers, "memory"))
		SKIP(return false, "cgroup v2 memory controller not available");
	if (write_file(CGROUP2_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return false, "cannot enable +memory in %s", CGROUP2_ROOT);
	snprintf(cgroup, size, CGROUP2_ROOT "/%s-%d", name, getpid());
	ASSERT_EQ(0, mkdir(cgroup, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", cgroup);
	ASSERT_EQ(0, write_u64_file(path, max));
	return true;
}

/* Move the calling task into the cgroup v2 directory @cgroup. */
static inline int join_cgroup(const char *cgroup)
{
	char procs[256];

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
	return write_file(procs, "0");
}

/*
 * Sum of field @field ("high", "boost") over node @nid's zones, or over
 * every zone for @nid -1, in bytes (/proc/zoneinfo).
 */
static inline uint64_t zoneinfo_sum(int nid, const char *field)
{
	FILE *f = fopen("/proc/zoneinfo", "re");
	unsigned long long pages, sum = 0;
	char line[256], name[32];
	int node = -1;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d,", &node) == 1)
			continue;
		if ((nid < 0 || node == nid) &&
		    sscanf(line, " %31s %llu", name, &pages) == 2 &&
		    !strcmp(name, field))
			sum += pages;
	}
	fclose(f);
	return sum * page_size();
}

/* Sum of the high watermarks of node @nid's zones, or of every zone (-1). */
static inline uint64_t high_watermarks(int nid)
{
	return zoneinfo_sum(nid, "high");
}

/* Wait for child @pid; its exit code, or 128 + signal if it was killed. */
static inline int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/*
 * Lines that tell the guest's splat scan (tools/vm-run) that an OOM report
 * is due, and that it is over.
 */
#define OOM_KILL_EXPECTED	"softmem-selftest: OOM kill expected"
#define OOM_KILL_OVER		"softmem-selftest: OOM kill over"

/* Writes @text to the kernel log, e.g. one of the lines above. */
static inline void kmsg(const char *text)
{
	write_file("/dev/kmsg", text);
}

/* Signal readiness on @fd, then wait to be killed. */
static inline void __attribute__((noreturn)) hold_until_killed(int fd)
{
	char c = 0;

	if (write(fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/*
 * Start @fn in a child (oom_score_adj 0), which says on its fd when it is
 * ready; *@ready tells whether it said so.  Returns its pid, -1 if not.
 */
static inline pid_t start_ready_child(void (*fn)(int fd), int *ready)
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
		ksft_print_msg("child %d ended before it was ready: status 0x%x\n",
			       pid, status);
		return -1;
	}
	return pid;
}

/*
 * Anonymous memory of @bytes, in base pages, for a process that makes
 * itself the OOM killer's first choice (oom_score_adj 1000).
 */
static inline char *oom_victim_map(uint64_t bytes)
{
	set_oom_score_adj(1000);
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	return mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* Populate @len bytes at @p in one call, or write them where it lacks. */
static inline void populate(char *p, uint64_t len)
{
	if (madvise(p, len, MADV_POPULATE_WRITE))
		memset(p, 0x5a, len);
}

static inline void __attribute__((noreturn)) oom_first_choice(int fd)
{
	set_oom_score_adj(1000);
	hold_until_killed(fd);
}

/*
 * A manual OOM kill (sysrq f) of a child that makes itself the OOM killer's
 * first choice, its report bracketed for the splat scan.  Returns the
 * child's pid once SIGKILL ended it, else -1.
 */
static inline pid_t sysrq_oom_kill_child(void)
{
	int ready, status = 0;
	bool asked;
	pid_t pid;

	pid = start_ready_child(oom_first_choice, &ready);
	if (pid < 0)
		return -1;
	kmsg(OOM_KILL_EXPECTED);
	asked = !write_file("/proc/sysrq-trigger", "f");
	if (!asked)
		kill(pid, SIGKILL);
	if (waitpid(pid, &status, 0) != pid)
		asked = false;
	kmsg(OOM_KILL_OVER);
	return asked && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ?
		pid : -1;
}

static inline double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reproducible pseudo-random numbers (splitmix64) from a printed seed. */
static inline uint64_t test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, @n), 0 when @n is 0. */
static inline uint64_t test_rand_below(uint64_t *state, uint64_t n)
{
	return n ? test_rand(state) % n : 0;
}

/* Environment variable @name as a number, or @fallback if unset or bad. */
static inline uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *text = getenv(name);
	char *end;
	uint64_t value;

	if (!text || !*text)
		return fallback;
	errno = 0;
	value = strtoull(text, &end, 0);
	return errno || *end ? fallback : value;
}

/* The debug kernel (KASAN, lockdep, kmemleak, ...) is the one with kmemleak. */
static inline bool debug_kernel(void)
{
	ensure_debugfs();
	return !access(DEBUGFS_ROOT "/kmemleak", F_OK);
}

/*
 * A counter from a "key value" file: memory.events, /proc/vmstat;
 * UINT64_MAX if missing.
 */
static inline uint64_t keyed_value(const char *path, const char *key)
{
	char line[256];
	size_t len = strlen(key);
	uint64_t value = UINT64_MAX;
	FILE *f = fopen(path, "r");

	if (!f)
		return UINT64_MAX;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ' ') {
			value = strtoull(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

/*
 * Field @key of a meminfo file in bytes, 0 if missing: /proc/meminfo, or a
 * node's, whose keys are "Node <nid> <field>".
 */
static inline uint64_t meminfo_file_bytes(const char *path, const char *key)
{
	char line[128];
	uint64_t kib = 0;
	size_t len = strlen(key);
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			kib = strtoull(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return kib * KiB;
}

/* Field @key of /proc/meminfo in bytes, 0 if missing. */
static inline uint64_t meminfo_bytes(const char *key)
{
	return meminfo_file_bytes("/proc/meminfo", key);
}

/* Field @field ("MemUsed") of NUMA node @nid's meminfo, in bytes. */
static inline uint64_t node_meminfo(int nid, const char *field)
{
	char path[96], key[48];

	snprintf(path, sizeof(path),
		 "/sys/devices/system/node/node%d/meminfo", nid);
	snprintf(key, sizeof(key), "Node %d %s", nid, field);
	return meminfo_file_bytes(path, key);
}

/* Runs the calling thread on CPU @cpu only: 0, or -errno. */
static inline int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Whether NUMA node @nid exists. */
static inline bool node_exists(int nid)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", nid);
	return !access(path, F_OK);
}

/*
 * Waits up to @seconds for every NUMA node to have more free memory than
 * its high watermarks and their boosts (kswapd is then done); whether they
 * all have.
 */
static inline bool wait_nodes_balanced(int seconds)
{
	bool balanced = false;
	int tick, nid;

	for (tick = 0; !balanced && tick < seconds * 10; tick++) {
		if (tick)
			usleep(100 * 1000);
		balanced = true;
		for (nid = 0; balanced && node_exists(nid); nid++)
			balanced = node_meminfo(nid, "MemFree") >
				   high_watermarks(nid) +
				   zoneinfo_sum(nid, "boost");
	}
	return balanced;
}

/* Where tools/vm-run puts the module in the guest, and its sysfs directory. */
#define SOFTMEM_MODULE_KO	"/lib/softmem/softmem.ko"
#define SOFTMEM_MODULE_SYSFS	"/sys/module/softmem"

/* Run @argv; its exit status, 127 if it cannot be run, -errno on failure. */
static inline int run_command(char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (!pid) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	return wait_child(pid);
}

static inline int rmmod_softmem(void)
{
	char *const argv[] = { "rmmod", "softmem", NULL };

	return run_command(argv);
}

static inline int insmod_softmem(void)
{
	char *const argv[] = { "insmod", SOFTMEM_MODULE_KO, NULL };

	return run_command(argv);
}

/*
 * The module-wide counters that go back to where they were once the pools
 * opened since are closed (the cumulative discard counters do not).
 */
static const char * const module_live_stats[] = {
	"pools", "regions", "length_bytes", "resident_bytes", "suspended_bytes",
};
#define NR_MODULE_LIVE_STATS \
	(sizeof(module_live_stats) / sizeof(module_live_stats[0]))

static inline int module_live_read(uint64_t values[NR_MODULE_LIVE_STATS])
{
	size_t i;
	int ret;

	for (i = 0; i < NR_MODULE_LIVE_STATS; i++) {
		ret = module_stat(module_live_stats[i], &values[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Wait up to 5 s for @path to exist (@present) or to be gone. */
static inline bool wait_for_path(const char *path, bool present)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (!access(path, F_OK) == present)
			return true;
		usleep(10000);
	}
	return false;
}

/* One line to stdout in a single write(), so parallel workers never mix. */
static inline void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if (len > (int)sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';
	if (write(STDOUT_FILENO, line, len) < 0)
		return;
}

/*
 * Say "@head @id @tag: " and the message from @fmt (cut at 400 bytes): how a
 * worker reports a broken check.
 */
static inline void __attribute__((format(printf, 4, 0)))
say_report(const char *head, unsigned int id, const char *tag,
	   const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	say("%s %u %s: %s", head, id, tag, msg);
}

/* --- shared regions and mappings ---------------------------------------- */

/*
 * Export region @handle of pool @from and import it into pool @to as
 * @imported; the descriptor is closed again.  0 or -errno.
 */
static inline int region_share(int from, uint64_t handle, int to,
			       uint64_t *imported)
{
	int fd = softmem_export(from, handle, 0);
	int ret;

	if (fd < 0)
		return fd;
	ret = softmem_import(to, fd, imported, NULL);
	close(fd);
	return ret;
}

/* The lowest free descriptor: what the next open() would return. */
static inline int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return fd;
}

/*
 * Wait up to 10 s for module counter @name to read @want (freeing may finish
 * after the close that starts it); false if it does not, @last its value.
 */
static inline bool module_stat_reach(const char *name, uint64_t want,
				     uint64_t *last)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (module_stat(name, last))
			return false;
		if (*last == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* A child and a pipe each way, to pass values and wait for each other. */
struct peer {
	pid_t pid;	/* 0 in the child */
	int rx;
	int tx;
};

/*
 * fork(): 0 in the child, its pid in the parent, -1 on failure; @p talks to
 * the other side.  The child is killed if the parent dies.
 */
static inline pid_t fork_peer(struct peer *p)
{
	int down[2], up[2];

	if (pipe2(down, O_CLOEXEC))
		return -1;
	if (pipe2(up, O_CLOEXEC)) {
		close(down[0]);
		close(down[1]);
		return -1;
	}
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		close(down[0]);
		close(down[1]);
		close(up[0]);
		close(up[1]);
		return -1;
	}
	/* Each side keeps one end of each pipe: a dead peer reads as EOF. */
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(down[1]);
		close(up[0]);
		p->rx = down[0];
		p->tx = up[1];
	} else {
		close(down[0]);
		close(up[1]);
		p->rx = up[0];
		p->tx = down[1];
	}
	return p->pid;
}

/* -EPIPE when the other side is gone. */
static inline int peer_send(const struct peer *p, uint64_t value)
{
	return write(p->tx, &value, sizeof(value)) == sizeof(value) ? 0 : -EPIPE;
}

/* -EPIPE when the other side is gone. */
static inline int peer_recv(const struct peer *p, uint64_t *value)
{
	return read(p->rx, value, sizeof(*value)) == sizeof(*value) ? 0 : -EPIPE;
}

/* In the parent: the child's exit status (see wait_child()). */
static inline int peer_wait(struct peer *p)
{
	close(p->rx);
	close(p->tx);
	return wait_child(p->pid);
}

/*
 * Passing a descriptor over a unix socket (SCM_RIGHTS): one byte of data
 * and room for one descriptor, the same for send_fd() and recv_fd().
 */
struct fd_message {
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	char byte;
	struct iovec iov;
	struct msghdr msg;
};

static inline struct msghdr *fd_message_init(struct fd_message *m)
{
	memset(m, 0, sizeof(*m));
	m->byte = 'F';
	m->iov.iov_base = &m->byte;
	m->iov.iov_len = 1;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->control.buf;
	m->msg.msg_controllen = sizeof(m->control.buf);
	return &m->msg;
}

/* Send a copy of @fd over socket @sock: 0 or -errno. */
static inline int send_fd(int sock, int fd)
{
	struct fd_message m;
	struct msghdr *msg = fd_message_init(&m);
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(msg);
	ssize_t n;

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	n = sendmsg(sock, msg, 0);
	if (n != 1)
		return n < 0 ? -errno : -EIO;
	return 0;
}

/*
 * Receive a descriptor from socket @sock, close-on-exec: it, -EPIPE if the
 * other side is gone, -EBADMSG if no descriptor came, or -errno.
 */
static inline int recv_fd(int sock)
{
	struct fd_message m;
	struct msghdr *msg = fd_message_init(&m);
	struct cmsghdr *cmsg;
	ssize_t n;
	int fd;

	n = recvmsg(sock, msg, MSG_CMSG_CLOEXEC);
	if (n != 1)
		return n < 0 ? -errno : -EPIPE;
	cmsg = CMSG_FIRSTHDR(msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET ||
	    cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EBADMSG;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * Touching a mapping of a region may raise SIGBUS (a discarded region, or no
 * page to be had) or SIGSEGV (the protection forbids it).  map_copy() and
 * map_access64() catch them, per thread, once map_fault_catch() has
 * installed the handler; outside them the signals kill as usual.
 */
struct map_fault {
	int signo;	/* SIGBUS or SIGSEGV; 0 if nothing was raised */
	int code;	/* its si_code */
	void *addr;	/* its si_addr */
};

static __thread sigjmp_buf map_fault_env;
static __thread volatile sig_atomic_t map_fault_armed;
static __thread struct map_fault map_fault_seen;

static inline void map_fault_handler(int sig, siginfo_t *info, void *ucontext)
{
	if (!map_fault_armed) {
		/* Not a guarded touch: fault again and die of it. */
		signal(sig, SIG_DFL);
		return;
	}
	map_fault_armed = 0;
	map_fault_seen.signo = sig;
	map_fault_seen.code = info->si_code;
	map_fault_seen.addr = info->si_addr;
	siglongjmp(map_fault_env, 1);
}

static inline int map_fault_catch(void)
{
	struct sigaction sa = {
		.sa_sigaction = map_fault_handler,
		.sa_flags = SA_SIGINFO,
	};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, NULL) || sigaction(SIGSEGV, &sa, NULL))
		return -errno;
	return 0;
}

/* Keep the compiler from moving the touch out of the armed window. */
static inline void map_fault_barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

/*
 * memcpy() from or to a mapping: 0, or the signal that stopped it part way,
 * described in @fault.
 */
static inline int map_copy(void *dst, const void *src, size_t length,
			   struct map_fault *fault)
{
	memset(fault, 0, sizeof(*fault));
	if (sigsetjmp(map_fault_env, 1)) {
		*fault = map_fault_seen;
		return fault->signo;
	}
	map_fault_armed = 1;
	map_fault_barrier();
	memcpy(dst, src, length);
	map_fault_barrier();
	map_fault_armed = 0;
	return 0;
}

/*
 * One aligned 64-bit load (@store false) or store of *@value at @addr of a
 * mapping, so that a racing reader sees the old or the new value whole: 0,
 * or the signal it raised, described in @fault.
 */
static inline int map_access64(uint64_t *addr, uint64_t *value, bool store,
			       struct map_fault *fault)
{
	memset(fault, 0, sizeof(*fault));
	if (sigsetjmp(map_fault_env, 1)) {
		*fault = map_fault_seen;
		return fault->signo;
	}
	map_fault_armed = 1;
	map_fault_barrier();
	if (store)
		__atomic_store_n(addr, *value, __ATOMIC_RELAXED);
	else
		*value = __atomic_load_n(addr, __ATOMIC_RELAXED);
	map_fault_barrier();
	map_fault_armed = 0;
	return 0;
}

#endif /* SOFTMEM_TEST_H */
