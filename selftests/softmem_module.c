// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_module: unloading and reloading softmem.ko.
 *
 * An open pool pins the module; with no pool open, rmmod works and an insmod
 * of /lib/softmem/softmem.ko (where tools/vm-run puts it) brings the device
 * back with fresh counters and a working shrinker.  run_all.sh runs this last.
 *
 * On a kernel with fault injection, each step of softmem's init fails at its
 * first allocation while the module loads, and a step with more ways to fail
 * in each (fail-nth, counting only the allocations made under the step's
 * function: see init_failures[]): each failed load must unwind what the
 * steps before it set up, leaving no device, sysfs directory or shrinker
 * behind (kmemleak, scanned at the end of a vm-run, sees what it freed), and
 * a load after them all must work.  A load with every limit given as a
 * parameter must keep them.
 */
#include "softmem_test.h"

#include <limits.h>
#include <sys/syscall.h>

#define FAIL_NTH_PATH	"/proc/thread-self/fail-nth"

/* finit_module() of SOFTMEM_MODULE_KO with @params: 0 or -errno. */
static int load_softmem(const char *params)
{
	int fd = open(SOFTMEM_MODULE_KO, O_RDONLY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		ret = -errno;
	close(fd);
	return ret;
}

/* What rmmod does: 0 or -errno. */
static int unload_softmem(void)
{
	return syscall(SYS_delete_module, "softmem", O_NONBLOCK) ? -errno : 0;
}

/* A fault-injection attribute changed, and its value to restore. */
struct init_knob {
	char path[96];
	char saved[32];
};

#define MAX_INIT_KNOBS	32

FIXTURE(module) {
	bool unloaded;		/* teardown reloads the module */
	int fail_fd;		/* FAIL_NTH_PATH, -1 when not open */
	struct init_knob knobs[MAX_INIT_KNOBS];
	int nr_knobs;
	bool dumping;		/* stack dumps expected: see vm-run */
};

FIXTURE_SETUP(module)
{
	self->fail_fd = -1;
	SKIP_IF_NO_DEVICE();
	if (access(SOFTMEM_MODULE_KO, R_OK))
		SKIP(return, "%s missing: cannot reload the module",
		     SOFTMEM_MODULE_KO);
}

static void knobs_restore(FIXTURE_DATA(module) *self)
{
	while (self->nr_knobs > 0) {
		struct init_knob *knob = &self->knobs[--self->nr_knobs];

		write_file(knob->path, knob->saved);
	}
}

FIXTURE_TEARDOWN(module)
{
	if (self->fail_fd >= 0) {
		pwrite(self->fail_fd, "0", 1, 0);
		close(self->fail_fd);
	}
	if (self->dumping)
		kmsg("softmem-selftest: stack dump over");
	knobs_restore(self);
	if (self->unloaded && access(SOFTMEM_MODULE_SYSFS, F_OK))
		insmod_softmem();
}

TEST_F(module, rmmod_fails_while_pool_open)
{
	uint64_t h;
	int pool = softmem_open();
	int status;

	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, page_size(), 1, &h));
	status = rmmod_softmem();
	if (status == 127)
		SKIP(return, "no rmmod in PATH");
	if (!status)
		self->unloaded = true;
	ASSERT_NE(0, status) TH_LOG("rmmod succeeded with a pool open");
	EXPECT_EQ(0, access(SOFTMEM_MODULE_SYSFS, F_OK));
	EXPECT_EQ(1, region_matches(pool, h, 0, page_size(), 1));
	EXPECT_EQ(0, softmem_close(pool));
}

TEST_F(module, reload_without_pools)
{
	struct softmem_stats stats;
	uint64_t pools, h;
	int pool;

	ASSERT_EQ(0, module_stat("pools", &pools));
	ASSERT_EQ(0, pools) TH_LOG("a pool is still open");
	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	EXPECT_TRUE(wait_for_path(SOFTMEM_MODULE_SYSFS, false));
	EXPECT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, false));
	EXPECT_EQ(-ENOENT, softmem_open());

	ASSERT_EQ(0, insmod_softmem());
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, 4 * page_size(), 2, &h));
	EXPECT_EQ(1, region_matches(pool, h, 0, 4 * page_size(), 2));
	ASSERT_EQ(0, pool_stats(pool, &stats));
	EXPECT_EQ(1, stats.regions);
	EXPECT_EQ(4 * page_size(), stats.resident_bytes);
	softmem_close(pool);
}

TEST_F(module, reloaded_module_starts_fresh)
{
	static const char * const zero_after_reload[] = {
		"pools", "regions", "length_bytes", "resident_bytes",
		"suspended_bytes", "discarded_bytes", "discard_events",
	};
	uint64_t value;
	size_t i;

	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	ASSERT_EQ(0, insmod_softmem());
	ASSERT_TRUE(wait_for_path(SOFTMEM_SYSFS_STATS "/pools", true));
	for (i = 0; i < sizeof(zero_after_reload) / sizeof(char *); i++) {
		ASSERT_EQ(0, module_stat(zero_after_reload[i], &value));
		EXPECT_EQ(0, value) TH_LOG("%s", zero_after_reload[i]);
	}
}

TEST_F(module, reloaded_module_shrinker_works)
{
	uint64_t events, h;
	int pool;

	ASSERT_EQ(0, rmmod_softmem());
	self->unloaded = true;
	ASSERT_EQ(0, insmod_softmem());
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
	pool = softmem_open();
	ASSERT_LE(0, pool);
	ASSERT_EQ(0, region_alloc_filled(pool, 8 * page_size(), 3, &h));
	ASSERT_EQ(0, softmem_suspend(pool, h));
	ASSERT_EQ(0, drop_caches());
	EXPECT_EQ(SOFTMEM_DISCARDED, region_resume_state(pool, h));
	ASSERT_EQ(0, module_stat("discard_events", &events));
	EXPECT_EQ(1, events);
	softmem_close(pool);
}

/* Sets fault-injection attribute @attr/@name to @value, to be restored. */
static int knob_set(FIXTURE_DATA(module) *self, const char *attr,
		    const char *name, const char *value)
{
	struct init_knob *knob;
	int ret;

	if (self->nr_knobs == MAX_INIT_KNOBS)
		return -ENOSPC;
	knob = &self->knobs[self->nr_knobs];
	snprintf(knob->path, sizeof(knob->path), DEBUGFS_ROOT "/%s/%s", attr,
		 name);
	ret = read_file(knob->path, knob->saved, sizeof(knob->saved));
	if (ret)
		return ret;
	knob->saved[strcspn(knob->saved, "\n")] = '\0';
	ret = write_file(knob->path, value);
	if (!ret)
		self->nr_knobs++;
	return ret;
}

/*
 * The address of function @name in /proc/kallsyms (of softmem's if @module),
 * and the next symbol's as its end: 0 if it is not there (or addresses are
 * hidden).
 */
static unsigned long kallsyms_range(const char *name, bool module,
				    unsigned long *end)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	unsigned long start = 0, addr;
	char line[256], sym[128], owner[64];
	int pass, n;

	*end = 0;
	if (!f)
		return 0;
	/* The function first, then the lowest address above it. */
	for (pass = 0; pass < 2 && (!pass || start); pass++) {
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			owner[0] = '\0';
			n = sscanf(line, "%lx %*s %127s %63s", &addr, sym, owner);
			if (n < 2 || !!strstr(owner, "[softmem]") != module)
				continue;
			if (!pass && !strcmp(sym, name))
				start = addr;
			else if (pass && addr > start && (!*end || addr < *end))
				*end = addr;
		}
	}
	fclose(f);
	if (!*end)
		start = 0;
	return start;
}

/*
 * fail-nth counts every allocation (see softmem_fault.c), and none fails at
 * random or says so.  Which ones it counts, the filters below set.
 */
static int init_knobs_configure(FIXTURE_DATA(module) *self)
{
	static const char * const attrs[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
	};
	static const char * const settings[][3] = {
		{ "failslab", "ignore-gfp-wait", "N" },
		{ "failslab", "cache-filter", "N" },
		{ "fail_page_alloc", "ignore-gfp-wait", "N" },
		{ "fail_page_alloc", "ignore-gfp-highmem", "N" },
		{ "fail_page_alloc", "min-order", "0" },
	};
	static const char * const filters[] = {
		"stacktrace-depth", "require-start", "require-end",
		"reject-start", "reject-end",
	};
	size_t i, j;
	int ret = 0;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]) && !ret; i++) {
		char dir[64];

		snprintf(dir, sizeof(dir), DEBUGFS_ROOT "/%s", attrs[i]);
		if (access(dir, F_OK))
			continue;
		ret = knob_set(self, attrs[i], "probability", "0");
		if (!ret)
			ret = knob_set(self, attrs[i], "verbose", "0");
		/* Saved to be restored; set by filter_set(). */
		for (j = 0; j < sizeof(filters) / sizeof(filters[0]) && !ret; j++)
			ret = knob_set(self, attrs[i], filters[j],
				       j ? "0" : "32");
	}
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]) && !ret; i++)
		ret = knob_set(self, settings[i][0], settings[i][1],
			       settings[i][2]);
	return ret;
}

/*
 * Counts only the allocations and user copies with code of [@start, @end)
 * on the stack and none of [@reject_start, @reject_end).
 */
static int filter_set(unsigned long start, unsigned long end,
		      unsigned long reject_start, unsigned long reject_end)
{
	static const char * const attrs[] = {
		"failslab", "fail_page_alloc", "fail_usercopy",
	};
	const unsigned long values[] = { reject_start, reject_end, start, end };
	static const char * const names[] = {
		"reject-start", "reject-end", "require-start", "require-end",
	};
	char path[96], text[32];
	size_t i, j;
	int ret;

	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		snprintf(path, sizeof(path), DEBUGFS_ROOT "/%s", attrs[i]);
		if (access(path, F_OK))
			continue;
		/* Never [0, ULONG_MAX) on the way: that counts everything. */
		for (j = 0; j < 4; j++) {
			snprintf(path, sizeof(path), DEBUGFS_ROOT "/%s/%s",
				 attrs[i], names[j]);
			snprintf(text, sizeof(text), "%#lx", values[j]);
			ret = write_file(path, text);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Fail the @nth site from now on (0: none). */
static int fail_nth_arm(FIXTURE_DATA(module) *self, unsigned int nth)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%u", nth);

	return pwrite(self->fail_fd, text, len, 0) == len ? 0 : -errno;
}

/* Sites left of the count armed; disarms. */
static long fail_nth_left(FIXTURE_DATA(module) *self)
{
	char text[16];
	ssize_t len = pread(self->fail_fd, text, sizeof(text) - 1, 0);

	if (len <= 0)
		return -EIO;
	text[len] = '\0';
	if (fail_nth_arm(self, 0))
		return -errno;
	return strtol(text, NULL, 10);
}

/* What a failed load may leave: nothing in sysfs, no shrinker. */
static bool softmem_traces_left(void)
{
	bool found = false;
	struct dirent *d;
	DIR *dir;

	if (!access(SOFTMEM_MODULE_SYSFS, F_OK) ||
	    !access("/sys/class/misc/softmem", F_OK))
		return true;
	dir = opendir(DEBUGFS_ROOT "/shrinker");
	if (!dir)
		return false;
	while ((d = readdir(dir)))
		found = found || !strncmp(d->d_name, "softmem-", 8);
	closedir(dir);
	return found;
}

/**
 * struct init_failure - a step of softmem's init made to fail
 * @what: what fails
 * @in: the function it is made in, softmem's if @module, else the kernel's
 * @module: see @in
 * @skip: a kernel function whose allocations do not count, NULL for none
 * @nth: the first of those left to fail, counting from 1
 *
 * Each step fails at the first allocation from the @nth on whose failure
 * fails the load: the ones before it that the kernel absorbs (kmemleak's
 * and the stack depot's own, which fall back on their reserves; misc
 * minor numbers) let the load succeed, and the next one is tried.  The
 * second list_lru starts after the first's allocation, the only one there
 * whose failure fails the step.  A failure in sysfs_slab_add() is never
 * injected: it leaks the name of the cache's kobject (6.12:
 * kobject_init_and_add() fails without the kobject_put() that frees it),
 * which kmemleak reports; a kernel bug, not softmem's.
 */
struct init_failure {
	const char *what, *in;
	bool module;
	const char *skip;
	unsigned int nth;
};

static const struct init_failure init_failures[] = {
	{ "page set cache", "softmem_pages_init", true, "sysfs_slab_add", 1 },
	{ "zero page", "softmem_pages_init", true, "__kmem_cache_create_args", 1 },
	{ "region cache", "softmem_regions_init", true, "sysfs_slab_add", 1 },
	{ "handle cache", "softmem_handles_init", true, "sysfs_slab_add", 1 },
	{ "pseudo filesystem", "softmem_export_init", true, NULL, 1 },
	{ "pseudo filesystem's context", "softmem_export_init", true, NULL, 2 },
	{ "shrinker", "softmem_reclaim_init", true, NULL, 1 },
	{ "first list_lru", "softmem_reclaim_init", true, "shrinker_alloc", 1 },
	{ "second list_lru", "softmem_reclaim_init", true, "shrinker_alloc", 2 },
	{ "misc device", "misc_register", false, NULL, 1 },
};

/* Absorbed allocations tried past init_failure.nth before giving up. */
#define INIT_ABSORBED_MAX	8

#define NR_INIT_FAILURES	(sizeof(init_failures) / sizeof(init_failures[0]))

/* Where each init_failures[].in is, [start, end), read while it is loaded. */
struct init_ranges {
	unsigned long start[NR_INIT_FAILURES], end[NR_INIT_FAILURES];
};

static void init_ranges_read(struct init_ranges *r)
{
	unsigned int i;

	for (i = 0; i < NR_INIT_FAILURES; i++)
		r->start[i] = kallsyms_range(init_failures[i].in,
					     init_failures[i].module,
					     &r->end[i]);
}

/*
 * Loads the module with allocation @nth of step @i failing: 0 if the load
 * failed, having left nothing behind, 1 if the failure was absorbed (the
 * module is loaded), 2 if softmem's code moved since @r was read (the
 * module is loaded again: read it again), -errno or a problem's line
 * otherwise.
 */
static int init_fail(FIXTURE_DATA(module) *self, unsigned int i,
		     const struct init_ranges *r, unsigned int nth)
{
	const struct init_failure *f = &init_failures[i];
	unsigned long start = r->start[i], end = r->end[i];
	unsigned long skip_start = 0, skip_end = 0;
	long left;
	int ret;

	if (f->skip)
		skip_start = kallsyms_range(f->skip, false, &skip_end);
	if (!start || (f->skip && !skip_start)) {
		say("# PROBLEM: %s: no %s or %s in /proc/kallsyms", f->what,
		    f->in, f->skip ?: "-");
		return -ENOENT;
	}
	ret = filter_set(start, end, skip_start, skip_end);
	ret = ret ?: fail_nth_arm(self, nth);
	if (ret)
		return ret;
	ret = load_softmem("");
	left = fail_nth_left(self);
	if (left < 0)
		return left;
	if (!ret)
		return !left ? 1 : f->module ? 2 : -EPROTO;
	if (left) {
		say("# PROBLEM: %s: load failed (%s) before failure %u in %s",
		    f->what, strerror(-ret), nth, f->in);
		return -EPROTO;
	}
	if (softmem_traces_left()) {
		say("# PROBLEM: %s: the failed load left softmem in sysfs or "
		    "a shrinker behind", f->what);
		return -EPROTO;
	}
	return 0;
}

/* Step @i failed at its first allocation that can fail it: 0 or -errno. */
static int init_step_fail(FIXTURE_DATA(module) *self, unsigned int i,
			  struct init_ranges *r, unsigned int *absorbed)
{
	unsigned int nth = init_failures[i].nth;
	bool moved = false;
	int ret;

	while (nth < init_failures[i].nth + INIT_ABSORBED_MAX) {
		ret = init_fail(self, i, r, nth);
		if (ret <= 0)
			return ret;
		if (unload_softmem())
			return -EBUSY;
		if (ret == 2 && moved)
			break;
		if (ret == 2) {
			/* Loaded elsewhere: again, where it is now. */
			moved = true;
			ret = load_softmem("");
			init_ranges_read(r);
			if (ret || unload_softmem())
				return -EBUSY;
			continue;
		}
		(*absorbed)++;
		nth++;
	}
	say("# PROBLEM: %s: no failure from %u to %u in %s failed the load",
	    init_failures[i].what, init_failures[i].nth, nth - 1,
	    init_failures[i].in);
	return -EPROTO;
}

TEST_F_TIMEOUT(module, init_failures_unwind, 300)
{
	unsigned int i, failed = 0, absorbed = 0, problems = 0;
	struct init_ranges ranges;
	double start;

	self->fail_fd = open(FAIL_NTH_PATH, O_RDWR | O_CLOEXEC);
	if (self->fail_fd < 0)
		SKIP(return, "%s: %s (kernel without CONFIG_FAULT_INJECTION)",
		     FAIL_NTH_PATH, strerror(errno));
	ASSERT_EQ(0, ensure_debugfs());
	if (access(DEBUGFS_ROOT "/failslab/require-start", F_OK))
		SKIP(return, "no failslab stack filter in %s "
		     "(CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)", DEBUGFS_ROOT);
	ASSERT_EQ(0, init_knobs_configure(self));
	start = now_seconds();

	init_ranges_read(&ranges);
	ASSERT_EQ(0, unload_softmem());
	self->unloaded = true;
	/*
	 * A slab cache that cannot be made dumps the stack: no splat here
	 * (tools/vm-run), every other kind of report still is.
	 */
	kmsg("softmem-selftest: stack dump expected");
	self->dumping = true;
	for (i = 0; i < NR_INIT_FAILURES; i++) {
		if (init_step_fail(self, i, &ranges, &absorbed))
			problems++;
		else
			failed++;
	}
	kmsg("softmem-selftest: stack dump over");
	self->dumping = false;
	say("# fault-injection: %u module loads failed, each at one step of "
	    "the init, %u absorbed failures, %u problems (%.1f s)", failed,
	    absorbed, problems, now_seconds() - start);
	knobs_restore(self);
	EXPECT_EQ(0, problems);

	/* Nothing left half set up: a plain load works. */
	ASSERT_EQ(0, insmod_softmem());
	self->unloaded = false;
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
}

TEST_F(module, load_keeps_given_limits)
{
	static const char * const names[] = {
		"max_bytes", "pool_max_bytes", "max_regions", "pool_max_regions",
	};
	uint64_t values[4], value;
	char params[256];
	size_t i, len = 0;

	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, module_param(names[i], &values[i]));
		/* Not the default: each a little under it. */
		values[i] -= values[i] / 4;
		len += snprintf(params + len, sizeof(params) - len,
				"%s=%llu ", names[i],
				(unsigned long long)values[i]);
	}
	/* Runs the manager's parameter hook before the manager is up. */
	snprintf(params + len, sizeof(params) - len, "manager_low_bytes=0");
	ASSERT_EQ(0, unload_softmem());
	self->unloaded = true;
	ASSERT_EQ(0, load_softmem(params));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, module_param(names[i], &value));
		EXPECT_EQ(values[i], value) TH_LOG("%s", names[i]);
	}
	/* Back to the defaults for the tests that follow. */
	ASSERT_EQ(0, unload_softmem());
	ASSERT_EQ(0, insmod_softmem());
	self->unloaded = false;
	ASSERT_TRUE(wait_for_path(SOFTMEM_DEVICE_PATH, true));
}

TEST_HARNESS_MAIN
