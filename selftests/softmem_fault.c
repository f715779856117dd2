// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_fault: every command, and opening and closing a pool, while the
 * allocations and user copies it makes fail one at a time.
 *
 * Writing N to /proc/thread-self/fail-nth makes the N-th fault-injection
 * site this task then reaches (a slab or page allocation, a user copy) fail;
 * reading it back gives 0 once that happened.  For each operation the sweep
 * runs N = 1, 2, ... on a fresh scene, up to the number of sites the call
 * reaches.  After every injected failure
 *
 *  - the call succeeded (the failure was absorbed) or failed with an errno
 *    the operation can give for it: ENOMEM where it allocates, EFAULT where it
 *    copies from or to user space, SIGBUS for a touch of a mapping (SIGSEGV
 *    in the matrix, when the failure was the delivery of that SIGBUS); any
 *    other errno is a problem;
 *  - a failure changed nothing it must not: ENOMEM from write, copy, move
 *    and set leaves the region as it was; EFAULT from a write leaves every
 *    byte outside the range alone and every byte in it old or new; no other
 *    command changes data on failure, and a discard is never reported lost;
 *  - the same call then succeeds, with the right result;
 *  - once the scene's regions are freed (free must work), the pool's and the
 *    module's counters are back at their baseline, the resumed bystander
 *    region holds its data and the suspended one holds it or reports its
 *    discard.
 *
 * Sharing and mapping are swept too: export (no descriptor leaked, the
 * region's state unchanged), import (no handle left behind in the pool),
 * mmap of an exported region (no descriptor and no mapping left behind),
 * the first touch through a mapping of a page never written, which must
 * raise SIGBUS when its allocation fails and never change a handle's state
 * or a byte, and data operations and resumes on a handle imported from
 * another pool, whose own handle must see the same bytes and be told of a
 * discard exactly once.  So are the pool commands node-stats and the
 * configuration of state words.
 *
 * Then the matrix: each region command (write, read, copy, move, set,
 * compare, compare-buf, find, resume, suspend, set-priority, batch, export,
 * import, mmap+touch, free) in each state of the region (resumed,
 * suspended, discarded, shared: a handle imported from another pool,
 * mapped: a live mapping of it, huge: backed by a huge folio, where the
 * allocator has one), over ranges of several pages crossing page
 * boundaries, in a window whose first half was written and second half
 * never (in the huge state, the end of the huge chunk and the start of the
 * next), so that what writes allocates pages in every state.  A command a
 * state does not allow still runs and is swept: on a
 * discarded region a data operation must give ESTALE and a touch SIGBUS.
 * What the window of the region the command works on holds is modelled:
 * after a failure it is unchanged (old or new byte by byte for a write whose
 * copy stopped part way), after success it holds what the command wrote, as
 * do the other pool's handle and the mapping; a discarded region is told of
 * its discard exactly once, by the command or by a resume after it.
 *
 * Each sweep first runs the call unfailed, with fail-nth armed so high that
 * nothing fails, to count the sites it reaches.  With KCOV of softmem.ko
 * (the debug leg of make check builds it with SOFTMEM_COVERAGE=1) that run
 * is traced too, and so is each failed call: they agree up to the failing
 * site, so the last block of softmem's code they share is the one that made
 * the failing call.  A distinct injection point is such a block, a call
 * site in softmem's code; a failure injected before softmem's code ran (in
 * the core kernel's mmap()) is counted apart.  A matrix cell whose unfailed
 * call ran no block the earlier calls did not (its path is theirs) stops
 * once STALE_RUN failures in a row reached no new point, which it says.
 * The stack fault injection can print of each failure (verbose 2) is not
 * used: it prints none for an allocation with __GFP_NOWARN, every region
 * page and huge folio, and thousands of stacks on the console would read
 * as splats.
 *
 * At the end every pool is closed and the module-wide counters must be back
 * at their start values.  The points are listed (softmem's function and
 * offset), and the summary lines are
 *   # fault-injection: D distinct injection points reached (...), N injected failures, P problems
 *   # fault-injection: O failures injected before any softmem code ran, C of M cells stopped early (...)
 * (without KCOV, "N injected failures (...), P problems"); any problem fails
 * the test.  The fault-injection attributes are set so
 * that fail-nth reaches every allocation softmem makes (min-order 0, no
 * ignore-gfp-wait or ignore-gfp-highmem) while probability stays 0, so
 * nothing else fails, and verbose 0: an injected failure prints nothing.
 * Kernels without CONFIG_FAULT_INJECTION (every stock Debian kernel) skip.
 * SOFTMEM_FAULT_CELL=cmd/state sweeps that cell alone of the matrix, and
 * SOFTMEM_FAULT_VERBOSE=1 prints each failure before it is injected.
 */
#include "softmem_test.h"

#include <glob.h>
#include <linux/kcov.h>
#include <linux/mempolicy.h>
#include <stdarg.h>
#include <sys/ioctl.h>

#define FAIL_NTH_PATH	"/proc/thread-self/fail-nth"
/* More sites than any operation here reaches: a sweep that long is stuck. */
#define SWEEP_MAX	2000

#define SEED_OLD	11
#define SEED_NEW	12
#define SEED_KEEP	13
#define SEED_HELD	14

/* An operation may fail with ENOMEM, with EFAULT, with SIGBUS. */
#define ALLOW_ENOMEM	(1U << 0)
#define ALLOW_EFAULT	(1U << 1)
#define ALLOW_SIGBUS	(1U << 2)
/*
 * A SIGBUS whose delivery failed (the copy of its siginfo to the signal
 * frame) is turned into a SIGSEGV by the kernel.
 */
#define ALLOW_SIGSEGV	(1U << 3)

/* What a call that touches a mapping returns for a signal it caught. */
#define RET_SIGNAL(sig)	(-1000 - (sig))
#define RET_SIGBUS	RET_SIGNAL(SIGBUS)
#define RET_SIGSEGV	RET_SIGNAL(SIGSEGV)

/*
 * KCOV of this thread: only softmem.ko is instrumented (SOFTMEM_COVERAGE=1
 * on a kernel with CONFIG_KCOV: the debug leg of make check), so a trace
 * holds the blocks of softmem's code a call ran, in order.
 */
#define KCOV_PATH	"/sys/kernel/debug/kcov"
#define KCOV_WORDS	(64 * 1024)
/* What fail-nth is armed with to count a call's sites without failing one. */
#define COUNT_ARM	1000000
/* A matrix cell stops after this many failures in a row found no new point. */
#define STALE_RUN	4
#define MAX_POINTS	1024
/* The blocks of softmem's code the unfailed calls ran: a hash set. */
#define BLOCK_BITS	14
#define BLOCK_SLOTS	(1 << BLOCK_BITS)

/* The reserve a scene's mapping is placed in (see map_scene()). */
#define SCENE_AREA	(4 * MiB)
#define PMD_BYTES	(2 * MiB)

/* A fault-injection attribute to set, and its value to restore. */
struct fault_knob {
	char path[96];
	char saved[32];
};

#define MAX_KNOBS	32

FIXTURE(fault) {
	int fail_fd;
	int pool;
	size_t page;
	struct fault_knob knobs[MAX_KNOBS];
	int nr_knobs;
	bool usercopy;			/* fail_usercopy exists */
	uint64_t module_start[NR_MODULE_LIVE_STATS];
	uint64_t module_base[NR_MODULE_LIVE_STATS];
	struct softmem_stats base;	/* pool with the bystanders only */
	uint64_t keep, held;		/* bystanders: resumed, suspended */

	/* The scene of the operation under test. */
	const char *op;
	unsigned int nth;
	uint64_t a, b;			/* regions, 0 when none */
	uint64_t window;		/* offset of a that is checked */
	uint64_t filled;		/* bytes of a that hold SEED_OLD */
	int other;			/* a second pool, -1 when none */
	uint64_t peer;			/* a's region's handle in other */
	int fd;				/* an exported region, -1 when none */
	int free_fd;			/* lowest free descriptor before */
	uint64_t length;		/* output of an import */
	uint8_t *map;			/* a's mapping, NULL when none */
	uint8_t *area;			/* what to unmap: the mapping or */
	size_t area_length;		/* the reserve it is in */
	bool suspended;			/* a is to stay suspended */
	bool held_resumed;		/* the held bystander, for a while */
	struct map_fault fault;		/* what the touch raised */
	unsigned int sigbus;		/* failures that raised SIGBUS */
	uint8_t *src;			/* user buffers, SCENE_PAGES pages: */
	uint8_t *buf;			/* what a call writes or compares, */
	uint8_t *want;			/* what is read, what it should be */
	int result;			/* output of the call */
	int64_t position;
	bool discarded;
	struct softmem_stats stats;

	/* Matrix cells (see "the matrix" below). */
	int expect;			/* what the call returns unfailed */
	unsigned int cell_cmd, cell_state;
	uint64_t c;			/* a second handle of region a */
	uint8_t *model;			/* what region a holds at the window */
	int reports;			/* discards reported for region a */
	uint8_t *second;		/* a second mapping, NULL when none */
	bool mapped_now;		/* the call's mmap() succeeded */
	char cell_name[40];
	unsigned int stopped_early;	/* cells cut short */

	/* Distinct injection points, when KCOV traces softmem's code. */
	unsigned long *cover;		/* KCOV area: count, then PCs */
	int kcov;
	bool traced;			/* some call left a trace */
	unsigned long *ref;		/* the unfailed call's trace */
	size_t ref_len;
	struct {
		unsigned long site;	/* the block that made the call */
		char first[40];		/* the sweep that first failed it */
		unsigned int nth;
	} points[MAX_POINTS];
	unsigned long *blocks;		/* blocks unfailed calls ran */
	unsigned int nr_blocks;
	unsigned int new_blocks;	/* of the last unfailed call */
	unsigned int nr_points;
	unsigned int outside;		/* failures before any softmem block */

	unsigned int problems;
};

#define SCENE_PAGES	4

/* Records a problem: the test fails at the end, after the summary line. */
static void __attribute__((format(printf, 2, 3)))
problem(FIXTURE_DATA(fault) *self, const char *fmt, ...)
{
	va_list ap;

	self->problems++;
	printf("# PROBLEM: %s, failure %u: ", self->op, self->nth);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * region_write_pattern() and region_matches() for the scenes' few pages,
 * through one buffer of SCENE_PAGES pages: theirs are 1 MiB, allocated at
 * every call and, with every mapping locked, faulted in whole each time.
 */
static uint8_t *small_buf;

static int small_write_pattern(int pool, uint64_t handle, uint64_t offset,
			       uint64_t length, unsigned int seed)
{
	return region_write_pattern_via(pool, handle, offset, length, seed,
					small_buf, SCENE_PAGES * page_size());
}

/* 1 if the range holds pattern @seed (REGION_ZERO: zeros), 0, or -errno. */
static int small_matches(int pool, uint64_t handle, uint64_t offset,
			 uint64_t length, unsigned int seed)
{
	size_t most = SCENE_PAGES * page_size(), i;

	while (length) {
		size_t n = length < most ? length : most;
		int ret = softmem_read(pool, handle, offset, small_buf, n);

		if (ret)
			return ret;
		for (i = 0; i < n; i++)
			if (small_buf[i] != (seed == REGION_ZERO ? 0 :
					     pattern_byte(offset + i, seed)))
				return 0;
		offset += n;
		length -= n;
	}
	return 1;
}

/* --- fail-nth -------------------------------------------------------- */

/* Fail the @nth fault-injection site this thread reaches from now on. */
static int fail_nth_arm(FIXTURE_DATA(fault) *self, unsigned int nth)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%u", nth);

	if (pwrite(self->fail_fd, text, len, 0) != len)
		return -errno;
	return 0;
}

/*
 * The count fail-nth has left (@left sites more to reach before its
 * failure); disarms.  Nothing may have been injected.
 */
static int fail_nth_left(FIXTURE_DATA(fault) *self, unsigned int *left)
{
	char text[16];
	ssize_t len = pread(self->fail_fd, text, sizeof(text) - 1, 0);

	if (len <= 0)
		return len < 0 ? -errno : -EIO;
	text[len] = '\0';
	*left = strtoul(text, NULL, 10);
	if (pwrite(self->fail_fd, "0", 1, 0) != 1)
		return -errno;
	return *left ? 0 : -EIO;
}

/*
 * Whether the armed failure was injected (1) or the call reached fewer
 * sites (0); disarms either way.  Reading and writing fail-nth are user
 * copies, and so sites themselves: a read that fails with EFAULT used up the
 * last armed count, and a write of 0 is repeated until one gets through.
 */
static int fail_nth_disarm(FIXTURE_DATA(fault) *self)
{
	char text[16];
	ssize_t len = pread(self->fail_fd, text, sizeof(text) - 1, 0);
	int injected, i;

	if (len > 0) {
		text[len] = '\0';
		injected = strtoul(text, NULL, 10) == 0;
	} else if (len < 0 && errno == EFAULT) {
		injected = 0;
	} else {
		return len < 0 ? -errno : -EIO;
	}
	for (i = 0; i < 4; i++)
		if (pwrite(self->fail_fd, "0", 1, 0) == 1)
			return injected;
	return -errno;
}

/*
 * Ends a call armed with fail_nth_arm(@self, @nth ? @nth : COUNT_ARM): for
 * @nth 0, the unfailed call, sets *@sites to the sites it reached and
 * returns 0; else returns 1 if the failure was injected, 0 if the call
 * reached fewer sites.  A negative errno if fail-nth cannot be read.
 */
static int fail_nth_end(FIXTURE_DATA(fault) *self, unsigned int nth,
			unsigned int *sites)
{
	unsigned int left;
	int err;

	if (nth)
		return fail_nth_disarm(self);
	err = fail_nth_left(self, &left);
	if (!err)
		*sites = COUNT_ARM - left;
	return err;
}

/* --- setup ----------------------------------------------------------- */

static int knob_set(FIXTURE_DATA(fault) *self, const char *path,
		    const char *value)
{
	struct fault_knob *knob;
	int ret;

	if (access(path, F_OK))
		return 0;
	if (self->nr_knobs == MAX_KNOBS)
		return -ENOSPC;
	knob = &self->knobs[self->nr_knobs];
	snprintf(knob->path, sizeof(knob->path), "%s", path);
	ret = read_file(path, knob->saved, sizeof(knob->saved));
	if (ret)
		return ret;
	knob->saved[strcspn(knob->saved, "\n")] = '\0';
	ret = write_file(path, value);
	if (!ret)
		self->nr_knobs++;
	return ret;
}

/*
 * fail-nth ignores probability, interval, times and task-filter, but the
 * per-attribute filters still apply: failslab and fail_page_alloc skip
 * allocations that may sleep (ignore-gfp-wait) and fail_page_alloc skips
 * highmem and order-0 ones, which is every page softmem allocates.
 */
static int knobs_configure(FIXTURE_DATA(fault) *self)
{
	static const char * const settings[][2] = {
		{ "failslab/ignore-gfp-wait", "N" },
		{ "failslab/cache-filter", "N" },
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
	};
	char path[128];
	glob_t dirs;
	size_t i;
	int ret = 0;

	/* Every attribute: no random failures, and silent injected ones. */
	if (glob(DEBUGFS_ROOT "/fail*/verbose", 0, NULL, &dirs) == 0) {
		for (i = 0; i < dirs.gl_pathc && !ret; i++) {
			char *dir = dirs.gl_pathv[i];

			*strrchr(dir, '/') = '\0';
			snprintf(path, sizeof(path), "%s/probability", dir);
			ret = knob_set(self, path, "0");
			snprintf(path, sizeof(path), "%s/verbose", dir);
			if (!ret)
				ret = knob_set(self, path, "0");
		}
		globfree(&dirs);
	}
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]) && !ret; i++) {
		snprintf(path, sizeof(path), DEBUGFS_ROOT "/%s", settings[i][0]);
		ret = knob_set(self, path, settings[i][1]);
	}
	return ret;
}

static void knobs_restore(FIXTURE_DATA(fault) *self)
{
	while (self->nr_knobs > 0) {
		struct fault_knob *knob = &self->knobs[--self->nr_knobs];

		write_file(knob->path, knob->saved);
	}
}

/*
 * Nothing may fault while a failure is armed: a page fault in user mode that
 * fails its allocation ends in the OOM path.  Touch enough stack, then lock
 * every page present and future.
 */
static int lock_memory(void)
{
	char stack[64 * 1024];

	memset(stack, 0, sizeof(stack));
	__asm__ volatile("" : : "r"(stack) : "memory");
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		return -errno;
	return 0;
}

/*
 * KCOV traces of this thread's calls, when there is KCOV; whether softmem's
 * code is instrumented shows in the first trace.
 */
static void kcov_open(FIXTURE_DATA(fault) *self)
{
	size_t bytes = KCOV_WORDS * sizeof(unsigned long);
	void *cover;
	int fd = open(KCOV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	if (ioctl(fd, KCOV_INIT_TRACE, KCOV_WORDS)) {
		close(fd);
		return;
	}
	cover = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (cover == MAP_FAILED) {
		close(fd);
		return;
	}
	if (ioctl(fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		munmap(cover, bytes);
		close(fd);
		return;
	}
	self->kcov = fd;
	self->cover = cover;
}

static void kcov_close(FIXTURE_DATA(fault) *self)
{
	if (self->cover) {
		ioctl(self->kcov, KCOV_DISABLE, 0);
		munmap(self->cover, KCOV_WORDS * sizeof(unsigned long));
		close(self->kcov);
	}
	self->cover = NULL;
	self->kcov = -1;
}

static void trace_start(FIXTURE_DATA(fault) *self)
{
	if (self->cover)
		__atomic_store_n(&self->cover[0], 0, __ATOMIC_RELAXED);
}

/* The blocks traced since trace_start(), at self->cover + 1. */
static size_t trace_length(FIXTURE_DATA(fault) *self)
{
	unsigned long n;

	if (!self->cover)
		return 0;
	n = __atomic_load_n(&self->cover[0], __ATOMIC_RELAXED);
	if (n > KCOV_WORDS - 1)
		n = KCOV_WORDS - 1;
	if (n)
		self->traced = true;
	return n;
}

FIXTURE_SETUP(fault)
{
	self->fail_fd = -1;
	self->kcov = -1;
	self->pool = -1;
	self->other = -1;
	self->fd = -1;
	self->page = page_size();
	SKIP_IF_NO_DEVICE();
	self->fail_fd = open(FAIL_NTH_PATH, O_RDWR | O_CLOEXEC);
	if (self->fail_fd < 0)
		SKIP(return, "%s: %s (kernel without CONFIG_FAULT_INJECTION)",
		     FAIL_NTH_PATH, strerror(errno));
	ASSERT_EQ(0, ensure_debugfs());
	ASSERT_EQ(0, knobs_configure(self));
	self->usercopy = !access(DEBUGFS_ROOT "/fail_usercopy", F_OK);
	kcov_open(self);
	ASSERT_EQ(0, lock_memory());
	ASSERT_EQ(0, map_fault_catch());

	self->src = malloc(SCENE_PAGES * self->page);
	self->buf = malloc(SCENE_PAGES * self->page);
	self->want = malloc(SCENE_PAGES * self->page);
	small_buf = malloc(SCENE_PAGES * self->page);
	ASSERT_NE(NULL, small_buf);
	self->model = malloc(SCENE_PAGES * self->page);
	self->ref = malloc(KCOV_WORDS * sizeof(unsigned long));
	self->blocks = calloc(BLOCK_SLOTS, sizeof(unsigned long));
	ASSERT_NE(NULL, self->blocks);
	ASSERT_NE(NULL, self->model);
	ASSERT_NE(NULL, self->ref);
	ASSERT_NE(NULL, self->src);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->want);
	ASSERT_EQ(0, module_live_read(self->module_start));

	self->pool = softmem_open();
	ASSERT_LE(0, self->pool);
	ASSERT_EQ(0, region_alloc_filled(self->pool, 4 * self->page, SEED_KEEP,
					 &self->keep));
	ASSERT_EQ(0, region_alloc_filled(self->pool, 2 * self->page, SEED_HELD,
					 &self->held));
	ASSERT_EQ(0, softmem_suspend(self->pool, self->held));
	ASSERT_EQ(0, pool_stats(self->pool, &self->base));
	ASSERT_EQ(0, module_live_read(self->module_base));
}

FIXTURE_TEARDOWN(fault)
{
	if (self->fail_fd >= 0)
		pwrite(self->fail_fd, "0", 1, 0);
	if (self->area)
		munmap(self->area, self->area_length);
	if (self->fd >= 0)
		close(self->fd);
	if (self->other >= 0)
		close(self->other);
	if (self->pool >= 0)
		close(self->pool);
	knobs_restore(self);
	kcov_close(self);
	free(self->model);
	free(self->ref);
	free(self->blocks);
	free(small_buf);
	small_buf = NULL;
	free(self->src);
	free(self->buf);
	free(self->want);
}

/* --- scene helpers --------------------------------------------------- */

/* Byte @pos of a region holding pattern @seed on its first @filled bytes. */
static uint8_t half_filled_byte(uint64_t pos, uint64_t filled,
				unsigned int seed)
{
	return pos < filled ? pattern_byte(pos, seed) : 0;
}

/* Region of SCENE_PAGES pages whose first @filled bytes hold @seed. */
static int scene_region(FIXTURE_DATA(fault) *self, uint64_t filled,
			unsigned int seed, uint64_t *handle)
{
	int ret = softmem_alloc(self->pool, SCENE_PAGES * self->page, handle);

	if (ret)
		return ret;
	return small_write_pattern(self->pool, *handle, 0, filled, seed);
}

/* Reads SCENE_PAGES pages of region @h at self->window into self->buf. */
static int scene_read(FIXTURE_DATA(fault) *self, uint64_t h)
{
	return softmem_read(self->pool, h, self->window, self->buf,
			    SCENE_PAGES * self->page);
}

/* Frees a scene region; free must work. */
static void scene_free(FIXTURE_DATA(fault) *self, uint64_t *h)
{
	int ret;

	if (!*h)
		return;
	ret = softmem_free(self->pool, *h);
	if (ret)
		problem(self, "free of region %llu: %s",
			(unsigned long long)*h, strerror(-ret));
	*h = 0;
}

/* Whether region @h reads as self->want; reports the first mismatch. */
static bool scene_expect(FIXTURE_DATA(fault) *self, uint64_t h,
			 const char *what)
{
	size_t length = SCENE_PAGES * self->page, i;
	int ret = scene_read(self, h);

	if (ret) {
		problem(self, "%s: read: %s", what, strerror(-ret));
		return false;
	}
	for (i = 0; i < length; i++)
		if (self->buf[i] != self->want[i]) {
			problem(self, "%s: byte %zu is %#x, not %#x", what, i,
				self->buf[i], self->want[i]);
			return false;
		}
	return true;
}

/* --- the operations -------------------------------------------------- */

/*
 * struct fault_op - one operation under fault injection
 * @name: shown in the output
 * @allow: ALLOW_* errnos an injected failure may give
 * @prepare: builds the scene; 0 or -errno
 * @call: the armed call; 0 or -errno, results in the fixture
 * @failed: checks what a failed call left behind
 * @done: checks the result and effect of a successful call
 * @cleanup: frees what the scene and the call made
 */
struct fault_op {
	const char *name;
	unsigned int allow;
	int (*prepare)(FIXTURE_DATA(fault) *self);
	int (*call)(FIXTURE_DATA(fault) *self);
	void (*failed)(FIXTURE_DATA(fault) *self, int ret);
	void (*done)(FIXTURE_DATA(fault) *self);
	void (*cleanup)(FIXTURE_DATA(fault) *self);
};

static void scene_cleanup(FIXTURE_DATA(fault) *self)
{
	scene_free(self, &self->a);
	scene_free(self, &self->b);
}

/* Scene: region a, fully holding SEED_OLD. */
static int prepare_full(FIXTURE_DATA(fault) *self)
{
	return scene_region(self, SCENE_PAGES * self->page, SEED_OLD, &self->a);
}

/* Scene: region a with its first half holding SEED_OLD, the rest unwritten. */
#define HALF	(SCENE_PAGES / 2 * self->page)

static int prepare_half(FIXTURE_DATA(fault) *self)
{
	self->filled = HALF;
	return scene_region(self, HALF, SEED_OLD, &self->a);
}

/*
 * Scene: a large region never written, checked around pages 63 and 64: a
 * write there allocates the page set and, in its index, a node for each.
 */
#define FRESH_PAGES	130
#define FRESH_OFFSET	(63 * self->page - 10)
#define FRESH_LENGTH	(2 * self->page + 20)

static int prepare_fresh(FIXTURE_DATA(fault) *self)
{
	self->window = 62 * self->page;
	self->filled = 0;
	pattern_fill(self->src, FRESH_LENGTH, FRESH_OFFSET, SEED_NEW);
	return softmem_alloc(self->pool, FRESH_PAGES * self->page, &self->a);
}

/*
 * Scene: a huge-backed region of two chunks never written, checked in its
 * first pages: a write there backs chunk 0 with a huge folio where the
 * allocator has one, whose every index is reserved before any is filled
 * (else with base pages).
 */
#define HUGE_FRESH_OFFSET	(self->page - 10)
#define HUGE_FRESH_LENGTH	(2 * self->page + 20)

static int prepare_huge_fresh(FIXTURE_DATA(fault) *self)
{
	size_t chunk = self->page * (self->page / sizeof(uint64_t));

	self->window = 0;
	self->filled = 0;
	pattern_fill(self->src, HUGE_FRESH_LENGTH, HUGE_FRESH_OFFSET, SEED_NEW);
	/* A free 2 MiB block, where compaction can make one. */
	write_file("/proc/sys/vm/compact_memory", "1");
	return softmem_alloc_huge(self->pool, 2 * chunk, &self->a);
}

/* self->want = what a partly filled region holds in its window. */
static void want_half(FIXTURE_DATA(fault) *self)
{
	size_t i;

	for (i = 0; i < SCENE_PAGES * self->page; i++)
		self->want[i] = half_filled_byte(self->window + i, self->filled,
						 SEED_OLD);
}

static void want_full(FIXTURE_DATA(fault) *self)
{
	pattern_fill(self->want, SCENE_PAGES * self->page, 0, SEED_OLD);
}

/* A failed operation that must not have touched region a (full). */
static void failed_full_untouched(FIXTURE_DATA(fault) *self, int ret)
{
	want_full(self);
	scene_expect(self, self->a, "region after failure");
}

/* alloc */

static int call_alloc(FIXTURE_DATA(fault) *self)
{
	return softmem_alloc(self->pool, 3 * self->page, &self->a);
}

static void failed_alloc(FIXTURE_DATA(fault) *self, int ret)
{
	struct softmem_stats stats;

	self->a = 0;
	if (pool_stats(self->pool, &stats) || stats.regions != self->base.regions)
		problem(self, "a failed alloc left a region behind");
}

/*
 * A successful alloc of 3 pages as handle @h of @pool, which held @regions
 * regions of @length bytes before: counted, and reading as zeros.
 */
static void check_allocated(FIXTURE_DATA(fault) *self, int pool, uint64_t h,
			    uint64_t regions, uint64_t length)
{
	struct softmem_stats stats;

	if (!h) {
		problem(self, "alloc returned handle 0");
		return;
	}
	if (pool_stats(pool, &stats) || stats.regions != regions + 1 ||
	    stats.length_bytes != length + 3 * self->page)
		problem(self, "alloc: pool counters wrong");
	if (small_matches(pool, h, 0, 3 * self->page, REGION_ZERO) != 1)
		problem(self, "a new region does not read as zeros");
}

static void done_alloc(FIXTURE_DATA(fault) *self)
{
	check_allocated(self, self->pool, self->a, self->base.regions,
			self->base.length_bytes);
}

/*
 * The first region of a fresh pool: its handle number is the first entry
 * of the pool's index, whose node is allocated then too.
 */
static int prepare_other(FIXTURE_DATA(fault) *self)
{
	self->peer = 0;
	self->other = softmem_open();
	return self->other < 0 ? self->other : 0;
}

static int call_alloc_first(FIXTURE_DATA(fault) *self)
{
	return softmem_alloc(self->other, 3 * self->page, &self->peer);
}

static void failed_alloc_first(FIXTURE_DATA(fault) *self, int ret)
{
	struct softmem_stats stats;

	if (pool_stats(self->other, &stats) || stats.regions ||
	    stats.length_bytes)
		problem(self, "a failed alloc left a region behind");
}

static void done_alloc_first(FIXTURE_DATA(fault) *self)
{
	check_allocated(self, self->other, self->peer, 0, 0);
}

/* free */

static int call_free(FIXTURE_DATA(fault) *self)
{
	return softmem_free(self->pool, self->a);
}

static void done_free(FIXTURE_DATA(fault) *self)
{
	int ret = softmem_read(self->pool, self->a, 0, self->buf, 1);

	if (ret != -ENOENT)
		problem(self, "read of a freed region: %s", strerror(-ret));
	self->a = 0;
}

/* suspend */

static int call_suspend(FIXTURE_DATA(fault) *self)
{
	return softmem_suspend(self->pool, self->a);
}

static void suspend_check(FIXTURE_DATA(fault) *self, bool suspended)
{
	struct softmem_stats stats;
	uint64_t want = self->base.suspended_bytes +
			(suspended ? SCENE_PAGES * self->page : 0);

	if (pool_stats(self->pool, &stats) || stats.suspended_bytes != want)
		problem(self, "suspended_bytes %llu, not %llu",
			(unsigned long long)stats.suspended_bytes,
			(unsigned long long)want);
	if (region_resume_state(self->pool, self->a) != SOFTMEM_INTACT)
		problem(self, "region not intact after suspend");
	failed_full_untouched(self, 0);
}

static void failed_suspend(FIXTURE_DATA(fault) *self, int ret)
{
	suspend_check(self, false);
}

static void done_suspend(FIXTURE_DATA(fault) *self)
{
	suspend_check(self, true);
}

/* resume of an intact region, and of a discarded one */

static int prepare_suspended(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_full(self);

	return ret ?: softmem_suspend(self->pool, self->a);
}

/*
 * A discarded region: drop_caches discards every suspended region with
 * pages, so the held bystander is resumed meanwhile.
 */
/*
 * drop_caches with the held bystander resumed meanwhile, so that only the
 * scene's suspended region goes.
 */
static int discard_but_held(FIXTURE_DATA(fault) *self)
{
	int ret = region_resume_state(self->pool, self->held);

	if (ret != SOFTMEM_INTACT)
		return ret < 0 ? ret : -ESTALE;
	ret = drop_caches();
	return ret ?: softmem_suspend(self->pool, self->held);
}

/* Discards region a, suspended, and makes sure it was. */
static int discard_a(FIXTURE_DATA(fault) *self)
{
	struct softmem_stats stats;
	int ret = discard_but_held(self);

	if (!ret)
		ret = pool_stats(self->pool, &stats);
	if (!ret && stats.resident_bytes != self->base.resident_bytes)
		ret = -EAGAIN;	/* region a was not discarded */
	return ret;
}

static int prepare_discarded(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_suspended(self);

	return ret ?: discard_a(self);
}

static int call_resume(FIXTURE_DATA(fault) *self)
{
	return softmem_resume(self->pool, self->a, &self->discarded);
}

/*
 * Nothing to check beyond the retry and the baseline: a failed resume may
 * have resumed the region, a failed close has closed the descriptor.
 */
static void failed_nothing(FIXTURE_DATA(fault) *self, int ret)
{
}

static void done_resume_intact(FIXTURE_DATA(fault) *self)
{
	if (self->discarded)
		problem(self, "an intact region resumed as discarded");
	failed_full_untouched(self, 0);
}

static void done_resume_discarded(FIXTURE_DATA(fault) *self)
{
	if (!self->discarded)
		problem(self, "a discarded region resumed as intact: the loss was never reported");
	memset(self->want, 0, SCENE_PAGES * self->page);
	scene_expect(self, self->a, "discarded region after resume");
}

/* read */

#define RW_OFFSET	100
#define RW_LENGTH	(3 * self->page + 7)

static int call_read(FIXTURE_DATA(fault) *self)
{
	return softmem_read(self->pool, self->a, RW_OFFSET, self->buf,
			    RW_LENGTH);
}

static void done_read(FIXTURE_DATA(fault) *self)
{
	pattern_fill(self->want, RW_LENGTH, RW_OFFSET, SEED_OLD);
	if (memcmp(self->buf, self->want, RW_LENGTH))
		problem(self, "read returned wrong data");
	failed_full_untouched(self, 0);
}

/* write, set, copy and move: region a half-filled, so pages get allocated */

static int call_write(FIXTURE_DATA(fault) *self)
{
	return softmem_write(self->pool, self->a, RW_OFFSET, self->src,
			     RW_LENGTH);
}

static int call_write_fresh(FIXTURE_DATA(fault) *self)
{
	return softmem_write(self->pool, self->a, FRESH_OFFSET, self->src,
			     FRESH_LENGTH);
}

static int call_write_huge(FIXTURE_DATA(fault) *self)
{
	return softmem_write(self->pool, self->a, HUGE_FRESH_OFFSET, self->src,
			     HUGE_FRESH_LENGTH);
}

static int prepare_write(FIXTURE_DATA(fault) *self)
{
	pattern_fill(self->src, RW_LENGTH, RW_OFFSET, SEED_NEW);
	return prepare_half(self);
}

static uint8_t new_write(FIXTURE_DATA(fault) *self, uint64_t pos)
{
	return pattern_byte(pos, SEED_NEW);
}

#define SET_VALUE	0x5a

static int call_set(FIXTURE_DATA(fault) *self)
{
	return softmem_set(self->pool, self->a, RW_OFFSET, SET_VALUE, RW_LENGTH);
}

static uint8_t new_set(FIXTURE_DATA(fault) *self, uint64_t pos)
{
	return SET_VALUE;
}

/* copy: a[RW_OFFSET...] = b[COPY_SRC...], b full of SEED_NEW */
#define COPY_SRC	(self->page / 2 - 3)

static int prepare_copy(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_half(self);

	return ret ?: scene_region(self, SCENE_PAGES * self->page, SEED_NEW,
				   &self->b);
}

static int call_copy(FIXTURE_DATA(fault) *self)
{
	return softmem_copy(self->pool, self->a, RW_OFFSET, self->b, COPY_SRC,
			    RW_LENGTH);
}

static uint8_t new_copy(FIXTURE_DATA(fault) *self, uint64_t pos)
{
	return pattern_byte(pos - RW_OFFSET + COPY_SRC, SEED_NEW);
}

/* move within a: [0, MOVE_LENGTH) to [MOVE_DST, ...), overlapping */
#define MOVE_DST	(self->page + 9)
#define MOVE_LENGTH	(2 * self->page + 100)

static int call_move(FIXTURE_DATA(fault) *self)
{
	return softmem_move(self->pool, self->a, MOVE_DST, self->a, 0,
			    MOVE_LENGTH);
}

static uint8_t new_move(FIXTURE_DATA(fault) *self, uint64_t pos)
{
	return half_filled_byte(pos - MOVE_DST, HALF, SEED_OLD);
}

/* The range of region a an operation changes, and its new bytes. */
struct fault_range {
	uint64_t start, length;
	uint8_t (*new_byte)(FIXTURE_DATA(fault) *self, uint64_t pos);
};

#define IMPORTED	"imported-"

/* The operation's name, without "imported-" for one on an imported handle. */
static const char *op_base(FIXTURE_DATA(fault) *self)
{
	size_t len = strlen(IMPORTED);

	return strncmp(self->op, IMPORTED, len) ? self->op : self->op + len;
}

static struct fault_range op_range(FIXTURE_DATA(fault) *self)
{
	const char *op = op_base(self);

	if (!strcmp(op, "write"))
		return (struct fault_range){ RW_OFFSET, RW_LENGTH, new_write };
	if (!strcmp(op, "write-fresh"))
		return (struct fault_range){ FRESH_OFFSET, FRESH_LENGTH,
					     new_write };
	if (!strcmp(op, "write-huge"))
		return (struct fault_range){ HUGE_FRESH_OFFSET,
					     HUGE_FRESH_LENGTH, new_write };
	if (!strcmp(op, "set"))
		return (struct fault_range){ RW_OFFSET, RW_LENGTH, new_set };
	if (!strcmp(op, "copy"))
		return (struct fault_range){ RW_OFFSET, RW_LENGTH, new_copy };
	return (struct fault_range){ MOVE_DST, MOVE_LENGTH, new_move };
}

/*
 * A failure changed nothing, except that a write whose copy from user
 * space failed may have written part of its range: every byte outside the
 * range must be old, and every byte in it old or new.
 */
static void failed_modify(FIXTURE_DATA(fault) *self, int ret)
{
	struct fault_range range = op_range(self);
	size_t length = SCENE_PAGES * self->page, i;
	int err;

	want_half(self);
	if (ret != -EFAULT || strncmp(op_base(self), "write", 5)) {
		scene_expect(self, self->a, "region after failure");
		return;
	}
	err = scene_read(self, self->a);
	if (err) {
		problem(self, "read after EFAULT: %s", strerror(-err));
		return;
	}
	for (i = 0; i < length; i++) {
		uint64_t pos = self->window + i;
		bool inside = pos >= range.start &&
			      pos < range.start + range.length;

		if (self->buf[i] == self->want[i])
			continue;
		if (inside && self->buf[i] == range.new_byte(self, pos))
			continue;
		problem(self, "byte %llu is %#x after EFAULT: neither old %#x%s",
			(unsigned long long)pos, self->buf[i], self->want[i],
			inside ? " nor new" : " (outside the range)");
		return;
	}
}

static void done_modify(FIXTURE_DATA(fault) *self)
{
	struct fault_range range = op_range(self);
	size_t i;

	want_half(self);
	for (i = 0; i < SCENE_PAGES * self->page; i++) {
		uint64_t pos = self->window + i;

		if (pos >= range.start && pos < range.start + range.length)
			self->want[i] = range.new_byte(self, pos);
	}
	scene_expect(self, self->a, "region after the operation");
	if (self->b) {
		pattern_fill(self->want, SCENE_PAGES * self->page, 0, SEED_NEW);
		scene_expect(self, self->b, "copy source");
	}
}

/* compare between regions: b is a with one byte changed */
#define DIFF_POS	(3 * self->page + 5)

static int prepare_compare(FIXTURE_DATA(fault) *self)
{
	uint8_t byte = pattern_byte(DIFF_POS, SEED_OLD) ^ 0x80;
	int ret = prepare_full(self);

	ret = ret ?: scene_region(self, SCENE_PAGES * self->page, SEED_OLD,
				  &self->b);
	return ret ?: softmem_write(self->pool, self->b, DIFF_POS, &byte, 1);
}

static int expected_sign(FIXTURE_DATA(fault) *self)
{
	uint8_t a = pattern_byte(DIFF_POS, SEED_OLD);

	return a < (a ^ 0x80) ? -1 : 1;
}

static int call_compare(FIXTURE_DATA(fault) *self)
{
	return softmem_compare(self->pool, self->a, 0, self->b, 0,
			       SCENE_PAGES * self->page, &self->result);
}

static void done_compare(FIXTURE_DATA(fault) *self)
{
	if (self->result != expected_sign(self))
		problem(self, "compare gave %d, not %d", self->result,
			expected_sign(self));
	failed_full_untouched(self, 0);
}

/* compare with a user buffer: self->src is a with one byte changed */
static int prepare_compare_buf(FIXTURE_DATA(fault) *self)
{
	pattern_fill(self->src, SCENE_PAGES * self->page, 0, SEED_OLD);
	self->src[DIFF_POS] ^= 0x80;
	return prepare_full(self);
}

static int call_compare_buf(FIXTURE_DATA(fault) *self)
{
	return softmem_compare_buf(self->pool, self->a, 0, self->src,
				   SCENE_PAGES * self->page, &self->result);
}

/* find: a full of odd pattern bytes and one 0x02 */
#define FIND_VALUE	0x02

static int prepare_find(FIXTURE_DATA(fault) *self)
{
	uint8_t byte = FIND_VALUE;
	int ret = prepare_full(self);

	return ret ?: softmem_write(self->pool, self->a, DIFF_POS, &byte, 1);
}

static int call_find(FIXTURE_DATA(fault) *self)
{
	return softmem_find(self->pool, self->a, 5, SCENE_PAGES * self->page - 5,
			    FIND_VALUE, &self->position);
}

static void done_find(FIXTURE_DATA(fault) *self)
{
	if (self->position != (int64_t)DIFF_POS)
		problem(self, "find gave %lld, not %llu",
			(long long)self->position,
			(unsigned long long)DIFF_POS);
}

static void failed_find(FIXTURE_DATA(fault) *self, int ret)
{
	want_full(self);
	self->want[DIFF_POS] = FIND_VALUE;
	scene_expect(self, self->a, "region after failure");
}

/* stats */

static int prepare_nothing(FIXTURE_DATA(fault) *self)
{
	return 0;
}

static int call_stats(FIXTURE_DATA(fault) *self)
{
	memset(&self->stats, 0, sizeof(self->stats));
	return softmem_stats(self->pool, &self->stats);
}

static void done_stats(FIXTURE_DATA(fault) *self)
{
	const struct softmem_stats *s = &self->stats, *b = &self->base;

	if (s->regions != b->regions || s->length_bytes != b->length_bytes ||
	    s->resident_bytes != b->resident_bytes ||
	    s->suspended_bytes != b->suspended_bytes ||
	    s->limit_bytes != b->limit_bytes)
		problem(self, "stats: regions %llu resident %llu suspended %llu, not %llu %llu %llu",
			(unsigned long long)s->regions,
			(unsigned long long)s->resident_bytes,
			(unsigned long long)s->suspended_bytes,
			(unsigned long long)b->regions,
			(unsigned long long)b->resident_bytes,
			(unsigned long long)b->suspended_bytes);
}

/* configure: halve the limit, then put it back */
static uint64_t half_limit(FIXTURE_DATA(fault) *self)
{
	return self->base.limit_bytes / 2 & ~((uint64_t)self->page - 1);
}

static int call_configure(FIXTURE_DATA(fault) *self)
{
	return softmem_set_limit(self->pool, half_limit(self));
}

static void limit_check(FIXTURE_DATA(fault) *self, uint64_t want)
{
	struct softmem_stats stats;

	if (pool_stats(self->pool, &stats) || stats.limit_bytes != want)
		problem(self, "limit %llu, not %llu",
			(unsigned long long)stats.limit_bytes,
			(unsigned long long)want);
}

static void failed_configure(FIXTURE_DATA(fault) *self, int ret)
{
	limit_check(self, self->base.limit_bytes);
}

static void done_configure(FIXTURE_DATA(fault) *self)
{
	limit_check(self, half_limit(self));
}

static void cleanup_configure(FIXTURE_DATA(fault) *self)
{
	int ret = softmem_set_limit(self->pool, self->base.limit_bytes);

	if (ret)
		problem(self, "restoring the limit: %s", strerror(-ret));
}

/* open and close of a pool */

static void module_pools_check(FIXTURE_DATA(fault) *self, uint64_t extra)
{
	uint64_t pools = 0;

	if (module_stat("pools", &pools) || pools != self->module_base[0] + extra)
		problem(self, "%llu pools open, not %llu",
			(unsigned long long)pools,
			(unsigned long long)(self->module_base[0] + extra));
}

static int call_open(FIXTURE_DATA(fault) *self)
{
	int fd = softmem_open();

	if (fd < 0)
		return fd;
	self->other = fd;
	return 0;
}

static void failed_open(FIXTURE_DATA(fault) *self, int ret)
{
	module_pools_check(self, 0);
}

/* The new pool works, and closing it releases it. */
static void done_open(FIXTURE_DATA(fault) *self)
{
	uint64_t h;
	int ret;

	module_pools_check(self, 1);
	ret = softmem_alloc(self->other, self->page, &h);
	if (!ret)
		ret = small_write_pattern(self->other, h, 0, self->page, SEED_NEW);
	if (!ret && small_matches(self->other, h, 0, self->page, SEED_NEW) != 1)
		ret = -EIO;
	if (ret)
		problem(self, "the new pool does not work: %s", strerror(-ret));
}

static void cleanup_other(FIXTURE_DATA(fault) *self)
{
	if (self->other >= 0 && close(self->other))
		problem(self, "close: %s", strerror(errno));
	self->other = -1;
}

/* Scene: a second pool holding a written region and a suspended one. */
static int prepare_close(FIXTURE_DATA(fault) *self)
{
	uint64_t h, s;
	int ret;

	self->other = softmem_open();
	if (self->other < 0)
		return self->other;
	ret = softmem_alloc(self->other, 2 * self->page, &h);
	ret = ret ?: small_write_pattern(self->other, h, 0, 2 * self->page,
					  SEED_NEW);
	ret = ret ?: softmem_alloc(self->other, self->page, &s);
	ret = ret ?: small_write_pattern(self->other, s, 0, self->page,
					  SEED_NEW);
	return ret ?: softmem_suspend(self->other, s);
}

/* Closing never fails; the release runs before close() returns. */
static int call_close(FIXTURE_DATA(fault) *self)
{
	int ret = softmem_close(self->other);

	self->other = -1;
	return ret;
}

static void done_close(FIXTURE_DATA(fault) *self)
{
	module_pools_check(self, 0);
}

/* node-stats: node 0 holds at most the pool's pages */
static int call_node_stats(FIXTURE_DATA(fault) *self)
{
	struct softmem_node_stats ns;
	int ret = softmem_node_stats(self->pool, 0, &ns);

	if (!ret)
		self->length = ns.resident_bytes;
	return ret;
}

static void done_node_stats(FIXTURE_DATA(fault) *self)
{
	if (self->length > self->base.resident_bytes)
		problem(self, "node 0 has %llu resident bytes of the pool's %llu",
			(unsigned long long)self->length,
			(unsigned long long)self->base.resident_bytes);
}

/* state words: configured in a new pool, then mapped */
#define NR_WORDS	64

static int call_words(FIXTURE_DATA(fault) *self)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_CONFIGURE_WORDS,
		.nr_words = NR_WORDS,
	};

	return softmem_raw_ioctl(self->other, SOFTMEM_IOC_CONFIGURE, &arg);
}

/* A failed configure gave no words: a handle is not numbered below them. */
static void failed_words(FIXTURE_DATA(fault) *self, int ret)
{
	size_t length = NR_WORDS * sizeof(uint64_t);
	void *words = mmap(NULL, length, PROT_READ, MAP_SHARED, self->other, 0);

	if (words != MAP_FAILED) {
		problem(self, "a pool whose words failed maps words");
		munmap(words, length);
	}
}

/* Every word but those of live handles says FREE; a handle gets a word. */
static void done_words(FIXTURE_DATA(fault) *self)
{
	size_t length = NR_WORDS * sizeof(uint64_t);
	uint64_t *words = mmap(NULL, length, PROT_READ, MAP_SHARED,
			       self->other, 0);
	uint64_t h = 0;

	if (words == MAP_FAILED) {
		problem(self, "cannot map the words: %s", strerror(errno));
		return;
	}
	if (!(words[1] & SOFTMEM_WORD_FREE))
		problem(self, "word 1 is %#llx before any handle",
			(unsigned long long)words[1]);
	if (softmem_alloc(self->other, self->page, &h) || !h ||
	    h >= NR_WORDS || words[h] & SOFTMEM_WORD_FREE)
		problem(self, "handle %llu, word %#llx",
			(unsigned long long)h,
			(unsigned long long)(h && h < NR_WORDS ? words[h] : 0));
	munmap(words, length);
}

/* --- sharing and mapping --------------------------------------------- */

/* "SIGBUS", or the errno text of a call's result. */
static const char *ret_name(int ret)
{
	static char text[32];

	if (ret == RET_SIGBUS)
		return "SIGBUS";
	if (ret <= RET_SIGNAL(1) && ret > RET_SIGNAL(64)) {
		snprintf(text, sizeof(text), "signal %d", RET_SIGNAL(0) - ret);
		return text;
	}
	return strerror(-ret);
}

/*
 * The pool's counters with region a in it, @resident bytes of pages, in its
 * state (self->suspended): a suspended region's pages are suspended, and
 * stay so whatever touches the mapping.  A failed page allocation may have
 * discarded the suspended bystander (2 pages) to make room, unless the
 * scene holds it resumed.
 */
static void pool_check(FIXTURE_DATA(fault) *self, uint64_t resident,
		       const char *what)
{
	uint64_t suspended = self->suspended ? resident : 0;
	struct softmem_stats s;
	uint64_t held;

	if (self->held_resumed)
		suspended -= 2 * self->page;

	if (pool_stats(self->pool, &s)) {
		problem(self, "%s: no pool stats", what);
		return;
	}
	for (held = 0; held <= 2 * self->page; held += 2 * self->page)
		if (s.resident_bytes + held ==
		    self->base.resident_bytes + resident &&
		    s.suspended_bytes + held ==
		    self->base.suspended_bytes + suspended)
			return;
	problem(self, "%s: resident %llu, suspended %llu bytes, not %llu, %llu (region %s)",
		what, (unsigned long long)s.resident_bytes,
		(unsigned long long)s.suspended_bytes,
		(unsigned long long)(self->base.resident_bytes + resident),
		(unsigned long long)(self->base.suspended_bytes + suspended),
		self->suspended ? "suspended" : "resumed");
}

/* Region a, still suspended, resumes intact and full; suspended again. */
static void suspended_full_check(FIXTURE_DATA(fault) *self, const char *what)
{
	pool_check(self, SCENE_PAGES * self->page, what);
	if (region_resume_state(self->pool, self->a) != SOFTMEM_INTACT)
		problem(self, "%s: the region does not resume intact", what);
	failed_full_untouched(self, 0);
	if (softmem_suspend(self->pool, self->a))
		problem(self, "%s: cannot suspend the region again", what);
}

/* No descriptor was left open (or closed) by the call. */
static void fd_check(FIXTURE_DATA(fault) *self, const char *what)
{
	int fd = lowest_free_fd();

	if (fd != self->free_fd)
		problem(self, "%s: lowest free descriptor %d, not %d", what, fd,
			self->free_fd);
}

/* How many mappings of exported regions this process has. */
static int region_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int n = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "softmem-region"))
			n++;
	fclose(f);
	return n;
}

static void mappings_check(FIXTURE_DATA(fault) *self, int want,
			   const char *what)
{
	int n = region_mappings();

	if (n != want)
		problem(self, "%s: %d mappings of regions, not %d", what, n,
			want);
}

/* export */

/* Scene: region a full and suspended; the lowest free descriptor noted. */
static int prepare_export(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_suspended(self);

	self->suspended = true;
	self->free_fd = lowest_free_fd();
	return ret;
}

static int call_export(FIXTURE_DATA(fault) *self)
{
	int fd = softmem_export(self->pool, self->a, 0);

	if (fd < 0)
		return fd;
	self->fd = fd;
	return 0;
}

static void failed_export(FIXTURE_DATA(fault) *self, int ret)
{
	fd_check(self, "after a failed export");
	suspended_full_check(self, "after a failed export");
}

/* A close-on-exec descriptor that another pool imports, data intact. */
static void done_export(FIXTURE_DATA(fault) *self)
{
	int flags = fcntl(self->fd, F_GETFD);
	uint64_t h = 0;
	int ret;

	pool_check(self, SCENE_PAGES * self->page, "after the export");
	if (flags < 0 || !(flags & FD_CLOEXEC))
		problem(self, "the exported descriptor is not close-on-exec");
	self->other = softmem_open();
	ret = self->other < 0 ? self->other :
	      softmem_import(self->other, self->fd, &h, NULL);
	if (!ret && region_resume_state(self->other, h) != SOFTMEM_INTACT)
		ret = -ESTALE;
	if (!ret && small_matches(self->other, h, 0, SCENE_PAGES * self->page,
				   SEED_OLD) != 1)
		ret = -EIO;
	if (ret)
		problem(self, "the exported region, imported: %s",
			strerror(-ret));
}

static void cleanup_fd(FIXTURE_DATA(fault) *self)
{
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
}

static void cleanup_shared(FIXTURE_DATA(fault) *self)
{
	cleanup_fd(self);
	scene_cleanup(self);
	cleanup_other(self);
	self->suspended = false;
}

/* import */

/*
 * Scene: a region of another pool, @filled bytes of SEED_OLD, its handle
 * there (peer) suspended.
 */
static int prepare_peer(FIXTURE_DATA(fault) *self, uint64_t filled)
{
	int ret;

	self->filled = filled;
	self->other = softmem_open();
	if (self->other < 0)
		return self->other;
	ret = softmem_alloc(self->other, SCENE_PAGES * self->page, &self->peer);
	ret = ret ?: small_write_pattern(self->other, self->peer, 0, filled,
					  SEED_OLD);
	return ret ?: softmem_suspend(self->other, self->peer);
}

/* Scene: the peer region full, exported, not yet imported. */
static int prepare_import(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_peer(self, SCENE_PAGES * self->page);

	if (ret)
		return ret;
	self->fd = softmem_export(self->other, self->peer, 0);
	return self->fd < 0 ? self->fd : 0;
}

static int call_import(FIXTURE_DATA(fault) *self)
{
	return softmem_import(self->pool, self->fd, &self->a, &self->length);
}

/* The region reads as self->want through the peer handle. */
static void peer_expect(FIXTURE_DATA(fault) *self, const char *what)
{
	size_t length = SCENE_PAGES * self->page, i;
	int ret = softmem_read(self->other, self->peer, 0, self->buf, length);

	if (ret) {
		problem(self, "%s: read through the other pool: %s", what,
			strerror(-ret));
		return;
	}
	for (i = 0; i < length; i++)
		if (self->buf[i] != self->want[i]) {
			problem(self, "%s: byte %zu is %#x through the other pool, not %#x",
				what, i, self->buf[i], self->want[i]);
			return;
		}
}

static void failed_import(FIXTURE_DATA(fault) *self, int ret)
{
	struct softmem_stats s;

	self->a = 0;
	if (pool_stats(self->pool, &s) || s.regions != self->base.regions ||
	    s.length_bytes != self->base.length_bytes)
		problem(self, "a failed import left a handle: %llu regions, %llu bytes",
			(unsigned long long)s.regions,
			(unsigned long long)s.length_bytes);
	if (region_resume_state(self->other, self->peer) != SOFTMEM_INTACT)
		problem(self, "the exporter's handle does not resume intact");
	want_full(self);
	peer_expect(self, "after a failed import");
	if (softmem_suspend(self->other, self->peer))
		problem(self, "cannot suspend the exporter's handle again");
}

/* A new suspended handle of the right length, intact, in the counters. */
static void done_import(FIXTURE_DATA(fault) *self)
{
	struct softmem_stats s;

	if (!self->a || self->length != SCENE_PAGES * self->page) {
		problem(self, "import gave handle %llu of %llu bytes",
			(unsigned long long)self->a,
			(unsigned long long)self->length);
		return;
	}
	if (pool_stats(self->pool, &s) || s.regions != self->base.regions + 1 ||
	    s.length_bytes != self->base.length_bytes + self->length)
		problem(self, "import: pool counters wrong");
	if (region_resume_state(self->pool, self->a) != SOFTMEM_INTACT)
		problem(self, "the imported handle does not resume intact");
	failed_full_untouched(self, 0);
}

/* mmap */

/* Scene: region a full and suspended; future mappings not locked. */
static int prepare_mmap(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_export(self);

	if (!ret && mlockall(MCL_CURRENT))
		ret = -errno;
	return ret;
}

static int call_mmap(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	void *map = NULL;
	int ret = softmem_map(self->pool, self->a, 0, length,
			      PROT_READ | PROT_WRITE, &map);

	if (ret)
		return ret;
	self->map = self->area = map;
	self->area_length = length;
	return 0;
}

static void failed_mmap(FIXTURE_DATA(fault) *self, int ret)
{
	fd_check(self, "after a failed mmap");
	mappings_check(self, 0, "after a failed mmap");
	suspended_full_check(self, "after a failed mmap");
}

/* The mapping shows the data and touching it leaves the region suspended. */
static void done_mmap(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;

	fd_check(self, "after the mmap");
	mappings_check(self, 1, "after the mmap");
	if (map_copy(self->buf, self->map, length, &self->fault)) {
		problem(self, "reading the mapping raised signal %d",
			self->fault.signo);
		return;
	}
	want_full(self);
	if (memcmp(self->buf, self->want, length))
		problem(self, "the mapping does not show the region's data");
	pool_check(self, length, "after reading the mapping");
}

static void cleanup_map(FIXTURE_DATA(fault) *self)
{
	if (self->area)
		munmap(self->area, self->area_length);
	self->area = self->map = NULL;
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		problem(self, "mlockall: %s", strerror(errno));
	cleanup_shared(self);
	/* check_baseline() suspends the held bystander again. */
	self->held_resumed = false;
}

/* the first touch of a page never written, through a mapping */

/*
 * The start of the scene's reserve, 2 MiB aligned, made at the first call:
 * an anonymous page there, touched, made the page tables of those 2 MiB, so
 * that an armed touch of a region mapped after it reaches the region's page
 * allocation, not theirs.  Future mappings are no longer locked.
 */
static int scene_reserve(FIXTURE_DATA(fault) *self, uint8_t **base)
{
	uint8_t *area;

	if (self->area) {
		*base = (uint8_t *)(((uintptr_t)self->area + PMD_BYTES - 1) &
				    ~(uintptr_t)(PMD_BYTES - 1));
		return 0;
	}
	if (mlockall(MCL_CURRENT))
		return -errno;
	area = mmap(NULL, SCENE_AREA, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		return -errno;
	self->area = area;
	self->area_length = SCENE_AREA;
	scene_reserve(self, base);
	if (mmap(*base, self->page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return -errno;
	(*base)[0] = 1;
	return 0;
}

/*
 * Maps SCENE_PAGES pages of region a from the window, unlocked, right after
 * the anonymous page of the scene's reserve.
 */
static int map_scene(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	uint8_t *base;
	void *map;
	int fd, ret = scene_reserve(self, &base);

	if (ret)
		return ret;
	fd = softmem_export(self->pool, self->a, 0);
	if (fd < 0)
		return fd;
	map = mmap(base + self->page, length, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_FIXED, fd, self->window);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	self->map = map;
	return 0;
}

/* A range of page 2, which the scenes never write. */
#define TOUCH_PAGE	2
#define TOUCH_OFFSET	(TOUCH_PAGE * self->page + 100)
#define TOUCH_LENGTH	200

/*
 * Scene: region a half-filled and suspended, mapped, and the held bystander
 * resumed: the pool has nothing to discard for a page it fails to get.
 */
static int prepare_touch(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_half(self);

	pattern_fill(self->src, TOUCH_LENGTH, TOUCH_OFFSET, SEED_NEW);
	self->suspended = true;
	ret = ret ?: softmem_suspend(self->pool, self->a);
	if (!ret && region_resume_state(self->pool, self->held) !=
		    SOFTMEM_INTACT)
		ret = -ESTALE;
	self->held_resumed = !ret;
	return ret ?: map_scene(self);
}

/* Scene: region a never written and resumed, mapped: no page set yet. */
static int prepare_touch_fresh(FIXTURE_DATA(fault) *self)
{
	int ret = softmem_alloc(self->pool, SCENE_PAGES * self->page, &self->a);

	self->filled = 0;
	pattern_fill(self->src, TOUCH_LENGTH, TOUCH_OFFSET, SEED_NEW);
	return ret ?: map_scene(self);
}

/* Writes the touched range through the mapping: 0, or the signal caught. */
static int call_touch(FIXTURE_DATA(fault) *self)
{
	uint8_t *page = self->map + TOUCH_PAGE * self->page;
	int sig = map_copy(self->map + TOUCH_OFFSET, self->src, TOUCH_LENGTH,
			   &self->fault);

	if (!sig)
		return 0;
	if (sig == SIGBUS && (uint8_t *)self->fault.addr >= page &&
	    (uint8_t *)self->fault.addr < page + self->page)
		return RET_SIGBUS;
	return RET_SIGNAL(sig);
}

/*
 * No page was added and the handle's state did not change; the filled
 * part reads as before through the mapping, and, for the resumed region,
 * everything through the handle (reading would resume a suspended one).
 */
static void failed_touch(FIXTURE_DATA(fault) *self, int ret)
{
	self->sigbus++;
	pool_check(self, self->filled, "after a failed touch");
	want_half(self);
	if (self->filled && (map_copy(self->buf, self->map, self->filled,
				      &self->fault) ||
			     memcmp(self->buf, self->want, self->filled)))
		problem(self, "after a failed touch, the mapping does not show the data");
	if (!self->suspended)
		scene_expect(self, self->a, "region after a failed touch");
}

/* One page more, state unchanged; the new bytes both ways. */
static void done_touch(FIXTURE_DATA(fault) *self)
{
	size_t i;

	pool_check(self, self->filled + self->page, "after the touch");
	if (map_copy(self->buf, self->map + TOUCH_OFFSET, TOUCH_LENGTH,
		     &self->fault) ||
	    memcmp(self->buf, self->src, TOUCH_LENGTH))
		problem(self, "the touched bytes do not read back through the mapping");
	want_half(self);
	for (i = 0; i < TOUCH_LENGTH; i++)
		self->want[TOUCH_OFFSET + i] = self->src[i];
	scene_expect(self, self->a, "region after the touch");
}

/* data operations on a handle imported from another pool */

/*
 * Scene: region a is the peer region, @filled bytes of SEED_OLD, imported
 * into the pool (so its pages are charged to the other one): both handles
 * suspended.
 */
static int prepare_imported(FIXTURE_DATA(fault) *self, uint64_t filled)
{
	int ret = prepare_peer(self, filled);
	int fd;

	if (ret)
		return ret;
	fd = softmem_export(self->other, self->peer, 0);
	if (fd < 0)
		return fd;
	ret = softmem_import(self->pool, fd, &self->a, NULL);
	close(fd);
	return ret;
}

static int prepare_imported_full(FIXTURE_DATA(fault) *self)
{
	return prepare_imported(self, SCENE_PAGES * self->page);
}

static int prepare_imported_half(FIXTURE_DATA(fault) *self)
{
	return prepare_imported(self, HALF);
}

static int prepare_imported_write(FIXTURE_DATA(fault) *self)
{
	pattern_fill(self->src, RW_LENGTH, RW_OFFSET, SEED_NEW);
	return prepare_imported_half(self);
}

static int prepare_imported_copy(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_imported_half(self);

	return ret ?: scene_region(self, SCENE_PAGES * self->page, SEED_NEW,
				   &self->b);
}

/* The other pool's handle sees what region a holds, self->want. */
static void failed_imported_read(FIXTURE_DATA(fault) *self, int ret)
{
	failed_full_untouched(self, ret);
	peer_expect(self, "after the failure");
}

static void done_imported_read(FIXTURE_DATA(fault) *self)
{
	done_read(self);
	peer_expect(self, "after the read");
}

static void failed_imported_modify(FIXTURE_DATA(fault) *self, int ret)
{
	failed_modify(self, ret);
	/* Partly written by EFAULT: a's bytes, checked, are the truth. */
	if (ret == -EFAULT && !scene_read(self, self->a))
		memcpy(self->want, self->buf, SCENE_PAGES * self->page);
	peer_expect(self, "after the failure");
}

static void done_imported_modify(FIXTURE_DATA(fault) *self)
{
	struct fault_range range = op_range(self);
	size_t i;

	done_modify(self);
	want_half(self);
	for (i = range.start; i < range.start + range.length; i++)
		self->want[i] = range.new_byte(self, i);
	peer_expect(self, "after the operation");
}

/* Resuming the imported handle, intact, tells the peer nothing either. */
static void done_imported_resume(FIXTURE_DATA(fault) *self)
{
	done_resume_intact(self);
	if (region_resume_state(self->other, self->peer) != SOFTMEM_INTACT)
		problem(self, "the other pool's handle does not resume intact");
	want_full(self);
	peer_expect(self, "after the resume");
}

/*
 * Scene: the imported region discarded under both handles (drop_caches,
 * with the held bystander resumed meanwhile, as in prepare_discarded()).
 */
static int prepare_imported_discarded(FIXTURE_DATA(fault) *self)
{
	struct softmem_stats stats;
	int ret = prepare_imported_full(self);

	if (!ret)
		ret = discard_but_held(self);
	if (!ret)
		ret = pool_stats(self->other, &stats);
	if (!ret && stats.resident_bytes)
		ret = -EAGAIN;	/* the region was not discarded */
	return ret;
}

/*
 * The imported handle was told (done_resume_discarded()); the other pool's
 * handle is told once too, whatever the failures before, and the region
 * reads as zeros through it.
 */
static void done_imported_discarded(FIXTURE_DATA(fault) *self)
{
	done_resume_discarded(self);
	if (region_resume_state(self->other, self->peer) != SOFTMEM_DISCARDED)
		problem(self, "the other pool's handle was not told of the discard");
	if (region_resume_state(self->other, self->peer) != SOFTMEM_INTACT)
		problem(self, "the other pool's handle was told of the discard twice");
	memset(self->want, 0, SCENE_PAGES * self->page);
	peer_expect(self, "after the discard");
}

/*
 * Scene: as prepare_imported_discarded(), and the other pool's handle told
 * of the discard already and holding the region resumed.  A resume of the
 * imported handle whose report cannot be written back must leave its loss
 * to report without taking the region from the other holder.
 */
static int prepare_imported_discarded_peer_resumed(FIXTURE_DATA(fault) *self)
{
	int ret = prepare_imported_discarded(self);

	if (ret)
		return ret;
	ret = region_resume_state(self->other, self->peer);
	return ret == SOFTMEM_DISCARDED ? 0 : ret < 0 ? ret : -ESTALE;
}

static void done_imported_discarded_peer_resumed(FIXTURE_DATA(fault) *self)
{
	done_resume_discarded(self);
	if (region_resume_state(self->other, self->peer) != SOFTMEM_INTACT)
		problem(self, "the other pool's handle was told of the discard twice");
	memset(self->want, 0, SCENE_PAGES * self->page);
	peer_expect(self, "after the discard");
}

/*
 * Scene: as prepare_imported_discarded_peer_resumed(), and the other pool's
 * handle has written the region whole again and suspended it: the imported
 * handle's resume finds the region holding pages, resumed by it alone.  A
 * report of that resume which cannot be written back must leave its loss
 * to report without throwing the other holder's new data away.
 */
static int prepare_imported_discarded_rewritten(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	int ret = prepare_imported_discarded_peer_resumed(self);

	if (ret)
		return ret;
	pattern_fill(self->src, length, 0, SEED_NEW);
	ret = softmem_write(self->other, self->peer, 0, self->src, length);
	return ret ?: softmem_suspend(self->other, self->peer);
}

/*
 * Whatever failed, the region is as the other holder left it: suspended,
 * as its pool (the other pool) counts it, with the new data, which the
 * other holder reads.
 */
static void failed_imported_discarded_rewritten(FIXTURE_DATA(fault) *self,
						int ret)
{
	uint64_t length = SCENE_PAGES * self->page;
	struct softmem_stats stats;

	if (pool_stats(self->other, &stats) || stats.suspended_bytes != length)
		problem(self, "the other pool's suspended_bytes are %llu, not %llu",
			(unsigned long long)stats.suspended_bytes,
			(unsigned long long)length);
	pattern_fill(self->want, length, 0, SEED_NEW);
	peer_expect(self, "after a failed resume of the imported handle");
}

static void done_imported_discarded_rewritten(FIXTURE_DATA(fault) *self)
{
	if (!self->discarded)
		problem(self, "a discarded region resumed as intact: the loss was never reported");
	if (region_resume_state(self->other, self->peer) != SOFTMEM_INTACT)
		problem(self, "the other pool's rewritten region was reported lost");
	pattern_fill(self->want, SCENE_PAGES * self->page, 0, SEED_NEW);
	scene_expect(self, self->a, "region rewritten by the other holder");
	peer_expect(self, "after the rewrite");
}

/*
 * Scene: a lock-free handle (its pool has state words) of a discarded
 * region, peer in the other pool.  Its resume goes to the kernel, which
 * reports the loss; should that report not reach user space, the next
 * resume must report it again.
 */
static int prepare_lockfree_discarded(FIXTURE_DATA(fault) *self)
{
	struct softmem_configure arg = {
		.size = sizeof(arg),
		.flags = SOFTMEM_CONFIGURE_WORDS,
		.nr_words = NR_WORDS,
	};
	struct softmem_stats stats;
	int ret;

	self->other = softmem_open();
	if (self->other < 0)
		return self->other;
	ret = softmem_raw_ioctl(self->other, SOFTMEM_IOC_CONFIGURE, &arg);
	ret = ret ?: softmem_alloc(self->other, SCENE_PAGES * self->page,
				   &self->peer);
	ret = ret ?: small_write_pattern(self->other, self->peer, 0,
					  SCENE_PAGES * self->page, SEED_OLD);
	ret = ret ?: softmem_suspend(self->other, self->peer);
	ret = ret ?: discard_but_held(self);
	ret = ret ?: pool_stats(self->other, &stats);
	if (!ret && stats.resident_bytes)
		ret = -EAGAIN;	/* the region was not discarded */
	return ret;
}

static int call_resume_lockfree(FIXTURE_DATA(fault) *self)
{
	return softmem_resume(self->other, self->peer, &self->discarded);
}

static void done_lockfree_discarded(FIXTURE_DATA(fault) *self)
{
	if (!self->discarded)
		problem(self, "a discarded region resumed as intact: the loss was never reported");
	if (region_resume_state(self->other, self->peer) != SOFTMEM_INTACT)
		problem(self, "the lock-free handle was told of the discard twice");
	memset(self->want, 0, SCENE_PAGES * self->page);
	peer_expect(self, "after the discard");
}

static const struct fault_op fault_ops[] = {
	{ "alloc", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_nothing, call_alloc,
	  failed_alloc, done_alloc, scene_cleanup },
	{ "alloc-first", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_other,
	  call_alloc_first, failed_alloc_first, done_alloc_first,
	  cleanup_other },
	{ "free", ALLOW_EFAULT, prepare_full, call_free,
	  failed_full_untouched, done_free, scene_cleanup },
	{ "suspend", ALLOW_EFAULT, prepare_full, call_suspend,
	  failed_suspend, done_suspend, scene_cleanup },
	{ "resume", ALLOW_EFAULT, prepare_suspended, call_resume,
	  failed_nothing, done_resume_intact, scene_cleanup },
	{ "resume-discarded", ALLOW_EFAULT, prepare_discarded, call_resume,
	  failed_nothing, done_resume_discarded, scene_cleanup },
	{ "read", ALLOW_EFAULT, prepare_full, call_read,
	  failed_full_untouched, done_read, scene_cleanup },
	{ "write", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_write, call_write,
	  failed_modify, done_modify, scene_cleanup },
	{ "write-fresh", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_fresh,
	  call_write_fresh, failed_modify, done_modify, scene_cleanup },
	{ "write-huge", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_huge_fresh,
	  call_write_huge, failed_modify, done_modify, scene_cleanup },
	{ "copy", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_copy, call_copy,
	  failed_modify, done_modify, scene_cleanup },
	{ "move", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_half, call_move,
	  failed_modify, done_modify, scene_cleanup },
	{ "set", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_half, call_set,
	  failed_modify, done_modify, scene_cleanup },
	{ "compare", ALLOW_EFAULT, prepare_compare, call_compare,
	  failed_full_untouched, done_compare, scene_cleanup },
	{ "compare-buf", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_compare_buf,
	  call_compare_buf, failed_full_untouched, done_compare, scene_cleanup },
	{ "find", ALLOW_EFAULT, prepare_find, call_find,
	  failed_find, done_find, scene_cleanup },
	{ "stats", ALLOW_EFAULT, prepare_nothing, call_stats,
	  failed_nothing, done_stats, scene_cleanup },
	{ "configure", ALLOW_EFAULT, prepare_nothing, call_configure,
	  failed_configure, done_configure, cleanup_configure },
	{ "open", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_nothing, call_open,
	  failed_open, done_open, cleanup_other },
	{ "close", 0, prepare_close, call_close,
	  failed_nothing, done_close, cleanup_other },
	{ "node-stats", ALLOW_EFAULT, prepare_nothing, call_node_stats,
	  failed_nothing, done_node_stats, scene_cleanup },
	{ "words", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_other, call_words,
	  failed_words, done_words, cleanup_other },
};

/* Sharing and mapping, whose injection points are also counted apart. */
static const struct fault_op sharing_ops[] = {
	{ "export", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_export, call_export,
	  failed_export, done_export, cleanup_shared },
	{ "import", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_import, call_import,
	  failed_import, done_import, cleanup_shared },
	{ "mmap", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_mmap, call_mmap,
	  failed_mmap, done_mmap, cleanup_map },
	{ "map-touch", ALLOW_SIGBUS, prepare_touch, call_touch,
	  failed_touch, done_touch, cleanup_map },
	{ "map-touch-fresh", ALLOW_SIGBUS, prepare_touch_fresh, call_touch,
	  failed_touch, done_touch, cleanup_map },
	{ IMPORTED "read", ALLOW_EFAULT, prepare_imported_full, call_read,
	  failed_imported_read, done_imported_read, cleanup_shared },
	{ IMPORTED "write", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_imported_write,
	  call_write, failed_imported_modify, done_imported_modify,
	  cleanup_shared },
	{ IMPORTED "set", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_imported_half,
	  call_set, failed_imported_modify, done_imported_modify,
	  cleanup_shared },
	{ IMPORTED "copy", ALLOW_ENOMEM | ALLOW_EFAULT, prepare_imported_copy,
	  call_copy, failed_imported_modify, done_imported_modify,
	  cleanup_shared },
	{ IMPORTED "resume", ALLOW_EFAULT, prepare_imported_full, call_resume,
	  failed_nothing, done_imported_resume, cleanup_shared },
	{ IMPORTED "discard", ALLOW_EFAULT, prepare_imported_discarded,
	  call_resume, failed_nothing, done_imported_discarded,
	  cleanup_shared },
	{ IMPORTED "discard-held", ALLOW_EFAULT,
	  prepare_imported_discarded_peer_resumed, call_resume,
	  failed_nothing, done_imported_discarded_peer_resumed,
	  cleanup_shared },
	{ IMPORTED "discard-rewritten", ALLOW_EFAULT,
	  prepare_imported_discarded_rewritten, call_resume,
	  failed_imported_discarded_rewritten,
	  done_imported_discarded_rewritten, cleanup_shared },
	{ "lockfree-discard", ALLOW_EFAULT, prepare_lockfree_discarded,
	  call_resume_lockfree, failed_nothing, done_lockfree_discarded,
	  cleanup_shared },
};

/* --- the matrix: every command in every state ------------------------ */

/*
 * Each command on region a in each state it can be in: resumed, suspended,
 * discarded, shared (a handle imported from another pool), mapped (a live
 * mapping of the region) and huge-backed.  The command's range is the
 * window of SCENE_PAGES pages at self->window, crossing page boundaries;
 * self->model is what the window holds, kept up to date with what each
 * successful command did.
 */
enum cell_state {
	STATE_RESUMED,
	STATE_SUSPENDED,
	STATE_DISCARDED,
	STATE_SHARED,
	STATE_MAPPED,
	STATE_HUGE,
	NR_STATES
};

static const char * const state_names[NR_STATES] = {
	"resumed", "suspended", "discarded", "shared", "mapped", "huge",
};

enum cell_cmd {
	CMD_WRITE,
	CMD_READ,
	CMD_COPY,
	CMD_MOVE,
	CMD_SET,
	CMD_COMPARE,
	CMD_COMPARE_BUF,
	CMD_FIND,
	CMD_RESUME,
	CMD_SUSPEND,
	CMD_PRIORITY,
	CMD_BATCH,
	CMD_EXPORT,
	CMD_IMPORT,
	CMD_MMAP_TOUCH,
	CMD_FREE,
	NR_CMDS
};

/*
 * struct cell_cmd_info - a command of the matrix
 * @name: shown in the output
 * @allow: ALLOW_* errnos an injected failure may give
 * @data: a data operation: ESTALE on a discarded region
 * @partial: may have written part of its range when it fails
 */
static const struct cell_cmd_info {
	const char *name;
	unsigned int allow;
	bool data, partial;
} cell_cmds[NR_CMDS] = {
	[CMD_WRITE] = { "write", ALLOW_ENOMEM | ALLOW_EFAULT, true, true },
	[CMD_READ] = { "read", ALLOW_EFAULT, true, false },
	[CMD_COPY] = { "copy", ALLOW_ENOMEM | ALLOW_EFAULT, true, false },
	[CMD_MOVE] = { "move", ALLOW_ENOMEM | ALLOW_EFAULT, true, false },
	[CMD_SET] = { "set", ALLOW_ENOMEM | ALLOW_EFAULT, true, false },
	[CMD_COMPARE] = { "compare", ALLOW_EFAULT, true, false },
	[CMD_COMPARE_BUF] = { "compare-buf", ALLOW_ENOMEM | ALLOW_EFAULT, true,
			      false },
	[CMD_FIND] = { "find", ALLOW_EFAULT, true, false },
	[CMD_RESUME] = { "resume", ALLOW_EFAULT, false, false },
	[CMD_SUSPEND] = { "suspend", ALLOW_EFAULT, false, false },
	[CMD_PRIORITY] = { "set-priority", ALLOW_EFAULT, false, false },
	[CMD_BATCH] = { "batch", ALLOW_EFAULT, false, false },
	[CMD_EXPORT] = { "export", ALLOW_ENOMEM | ALLOW_EFAULT, false, false },
	[CMD_IMPORT] = { "import", ALLOW_ENOMEM | ALLOW_EFAULT, false, false },
	[CMD_MMAP_TOUCH] = { "mmap+touch", ALLOW_ENOMEM | ALLOW_EFAULT |
			     ALLOW_SIGBUS | ALLOW_SIGSEGV, false, true },
	[CMD_FREE] = { "free", ALLOW_EFAULT, false, false },
};

/* What one PMD maps: a huge chunk. */
static size_t huge_chunk(FIXTURE_DATA(fault) *self)
{
	return self->page * (self->page / sizeof(uint64_t));
}

/*
 * Scene: a huge region of two chunks whose first chunk is backed by a huge
 * folio; the window is its last two pages, written, and the first two of
 * the second chunk, never written: a command that writes the window backs
 * the second chunk.  EAGAIN when the allocator had no huge page for it.
 */
static int prepare_huge(FIXTURE_DATA(fault) *self)
{
	size_t chunk = huge_chunk(self);
	struct softmem_stats stats;
	int ret = softmem_alloc_huge(self->pool, 2 * chunk, &self->a);

	self->window = chunk - HALF;
	ret = ret ?: small_write_pattern(self->pool, self->a, self->window,
					  HALF, SEED_OLD);
	ret = ret ?: pool_stats(self->pool, &stats);
	if (!ret && stats.huge_bytes != self->base.huge_bytes + chunk)
		ret = -EAGAIN;
	return ret;
}

/* The byte the command sets at window offset @i (in its range). */
static uint8_t cell_new_byte(FIXTURE_DATA(fault) *self, size_t i)
{
	switch (self->cell_cmd) {
	case CMD_COPY:
		return pattern_byte(i - RW_OFFSET + COPY_SRC, SEED_NEW);
	case CMD_SET:
		return SET_VALUE;
	default:
		return self->src[i - RW_OFFSET];
	}
}

/* What a successful command did to the window. */
static void model_apply(FIXTURE_DATA(fault) *self)
{
	size_t i;

	switch (self->cell_cmd) {
	case CMD_WRITE:
	case CMD_COPY:
	case CMD_SET:
	case CMD_MMAP_TOUCH:
		for (i = RW_OFFSET; i < RW_OFFSET + RW_LENGTH; i++)
			self->model[i] = cell_new_byte(self, i);
		break;
	case CMD_MOVE:
		memmove(self->model + MOVE_DST, self->model, MOVE_LENGTH);
		break;
	}
}

/* The value find looks for: the byte at DIFF_POS, and where it is first. */
static int find_value(FIXTURE_DATA(fault) *self)
{
	return self->model[DIFF_POS];
}

static int64_t find_expected(FIXTURE_DATA(fault) *self)
{
	size_t i;

	for (i = 5; i < SCENE_PAGES * self->page; i++)
		if (self->model[i] == find_value(self))
			return (int64_t)(self->window + i);
	return -1;
}

/* The window with the byte at DIFF_POS changed: what compare compares to. */
static void cell_compare_buf(FIXTURE_DATA(fault) *self, uint8_t *buf)
{
	memcpy(buf, self->model, SCENE_PAGES * self->page);
	buf[DIFF_POS] ^= 0x80;
}

static int cell_expected_sign(FIXTURE_DATA(fault) *self)
{
	uint8_t a = self->model[DIFF_POS];

	return a < (a ^ 0x80) ? -1 : 1;
}

/* Builds region a in the cell's state, and what the command needs. */
static int cell_prepare(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	const struct cell_cmd_info *cmd = &cell_cmds[self->cell_cmd];
	uint8_t *base;
	int ret;

	/* The window's first half written, its second never. */
	switch (self->cell_state) {
	case STATE_RESUMED:
		ret = prepare_half(self);
		break;
	case STATE_SUSPENDED:
	case STATE_DISCARDED:
		ret = prepare_half(self);
		ret = ret ?: softmem_suspend(self->pool, self->a);
		if (self->cell_state == STATE_DISCARDED)
			ret = ret ?: discard_a(self);
		break;
	case STATE_SHARED:
		ret = prepare_imported_half(self);
		break;
	case STATE_MAPPED:
		ret = prepare_half(self);
		ret = ret ?: map_scene(self);
		break;
	default:
		ret = prepare_huge(self);
		break;
	}
	memset(self->model, 0, length);
	if (self->cell_state == STATE_DISCARDED) {
		if (cmd->data)
			self->expect = -ESTALE;
		else if (self->cell_cmd == CMD_MMAP_TOUCH)
			self->expect = RET_SIGBUS;
	} else {
		pattern_fill(self->model, HALF, self->window, SEED_OLD);
	}
	if (ret)
		return ret;

	switch (self->cell_cmd) {
	case CMD_WRITE:
	case CMD_MMAP_TOUCH:
		pattern_fill(self->src, RW_LENGTH, self->window + RW_OFFSET,
			     SEED_NEW);
		break;
	case CMD_COPY:
		ret = scene_region(self, length, SEED_NEW, &self->b);
		break;
	case CMD_COMPARE:
		cell_compare_buf(self, self->buf);
		ret = softmem_alloc(self->pool, length, &self->b);
		ret = ret ?: softmem_write(self->pool, self->b, 0, self->buf,
					   length);
		break;
	case CMD_COMPARE_BUF:
		cell_compare_buf(self, self->src);
		break;
	case CMD_EXPORT:
		self->free_fd = lowest_free_fd();
		break;
	}
	if (ret)
		return ret;
	if (self->cell_cmd == CMD_IMPORT || self->cell_cmd == CMD_MMAP_TOUCH) {
		self->fd = softmem_export(self->pool, self->a, 0);
		if (self->fd < 0)
			return self->fd;
	}
	if (self->cell_cmd == CMD_MMAP_TOUCH)
		ret = scene_reserve(self, &base);
	return ret;
}

/* The second mapping of the mmap+touch command, after the scene's. */
static uint8_t *second_map_address(FIXTURE_DATA(fault) *self)
{
	uint8_t *base;

	scene_reserve(self, &base);
	return base + (SCENE_PAGES + 2) * self->page;
}

/* Writes @length bytes of the window through @map: 0 or the signal. */
static int touch(uint8_t *map, const uint8_t *src, size_t length,
		 struct map_fault *fault)
{
	int sig = map_copy(map, src, length, fault);

	return sig == SIGBUS ? RET_SIGBUS : sig ? RET_SIGNAL(sig) : 0;
}

static int cell_call(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	uint64_t w = self->window;
	struct softmem_batch_entry entries[2] = {
		{ .handle = self->a, .op = SOFTMEM_BATCH_RESUME },
		{ .handle = self->a, .op = SOFTMEM_BATCH_SUSPEND },
	};
	unsigned int done = 0;
	void *map;
	int ret;

	switch (self->cell_cmd) {
	case CMD_WRITE:
		return softmem_write(self->pool, self->a, w + RW_OFFSET,
				     self->src, RW_LENGTH);
	case CMD_READ:
		return softmem_read(self->pool, self->a, w + RW_OFFSET,
				    self->buf, RW_LENGTH);
	case CMD_COPY:
		return softmem_copy(self->pool, self->a, w + RW_OFFSET,
				    self->b, COPY_SRC, RW_LENGTH);
	case CMD_MOVE:
		return softmem_move(self->pool, self->a, w + MOVE_DST, self->a,
				    w, MOVE_LENGTH);
	case CMD_SET:
		return softmem_set(self->pool, self->a, w + RW_OFFSET,
				   SET_VALUE, RW_LENGTH);
	case CMD_COMPARE:
		return softmem_compare(self->pool, self->a, w, self->b, 0,
				       length, &self->result);
	case CMD_COMPARE_BUF:
		return softmem_compare_buf(self->pool, self->a, w, self->src,
					   length, &self->result);
	case CMD_FIND:
		return softmem_find(self->pool, self->a, w + 5, length - 5,
				    find_value(self), &self->position);
	case CMD_RESUME:
		ret = softmem_resume(self->pool, self->a, &self->discarded);
		if (!ret && self->discarded)
			self->reports++;
		return ret;
	case CMD_SUSPEND:
		return softmem_suspend(self->pool, self->a);
	case CMD_PRIORITY:
		return softmem_set_priority(self->pool, self->a, 1);
	case CMD_BATCH:
		ret = softmem_batch(self->pool, entries, 2, &done);
		if (done >= 1 && entries[0].state == SOFTMEM_DISCARDED) {
			self->reports++;
		} else if (ret == -EFAULT && entries[0].state ==
			   SOFTMEM_DISCARDED) {
			/*
			 * The entry was applied and its discard written back,
			 * but done does not count it: user space must ignore
			 * it, and the loss would never be reported.
			 */
			problem(self, "%s, failure %u: batch entry 0 reports a discard past done %u",
				self->op, self->nth, done);
			self->reports++;
		}
		return ret;
	case CMD_EXPORT:
		ret = softmem_export(self->pool, self->a, 0);
		if (ret < 0)
			return ret;
		self->fd = ret;
		return 0;
	case CMD_IMPORT:
		return softmem_import(self->pool, self->fd, &self->c,
				      &self->length);
	case CMD_MMAP_TOUCH:
		map = mmap(second_map_address(self), length,
			   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			   self->fd, w);
		if (map == MAP_FAILED)
			return -errno;
		self->second = map;
		self->mapped_now = true;
		return touch(self->second + RW_OFFSET, self->src, RW_LENGTH,
			     &self->fault);
	default:
		return softmem_free(self->pool, self->a);
	}
}

/*
 * The window reads as the model; with @partial, bytes of the command's
 * range may be new instead, and the model takes what the window holds.
 */
static void window_check(FIXTURE_DATA(fault) *self, bool partial,
			 const char *what)
{
	size_t length = SCENE_PAGES * self->page, i;
	int ret = scene_read(self, self->a);

	if (ret) {
		problem(self, "%s: read: %s", what, strerror(-ret));
		return;
	}
	for (i = 0; i < length; i++) {
		bool inside = i >= RW_OFFSET && i < RW_OFFSET + RW_LENGTH;

		if (self->buf[i] == self->model[i])
			continue;
		if (partial && inside && self->buf[i] == cell_new_byte(self, i))
			continue;
		problem(self, "%s: window byte %zu is %#x, not %#x%s", what, i,
			self->buf[i], self->model[i],
			partial && inside ? " nor new" : "");
		return;
	}
	if (partial)
		memcpy(self->model, self->buf, length);
}

/*
 * After a failure: no mapping or descriptor left behind, and the window as
 * it was (old or new byte by byte for a write whose copy stopped part way).
 * A discarded region is not read: that would fail, and the discard must
 * still be reported after the retry.
 */
static void cell_failed(FIXTURE_DATA(fault) *self, int ret)
{
	bool partial = cell_cmds[self->cell_cmd].partial &&
		       (ret == -EFAULT || ret == RET_SIGBUS ||
			ret == RET_SIGSEGV);

	if (ret == RET_SIGBUS)
		self->sigbus++;
	if (self->cell_cmd == CMD_MMAP_TOUCH && !self->mapped_now)
		mappings_check(self, self->cell_state == STATE_MAPPED,
			       "after a failed mmap");
	if (self->cell_cmd == CMD_EXPORT)
		fd_check(self, "after a failed export");
	if (self->cell_state != STATE_DISCARDED)
		window_check(self, partial, "after the failure");
}

/* What the command gave, when it gave what it should. */
static void cell_result_check(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	int flags, ret;

	switch (self->cell_cmd) {
	case CMD_READ:
		if (memcmp(self->buf, self->model + RW_OFFSET, RW_LENGTH))
			problem(self, "read returned wrong data");
		break;
	case CMD_COMPARE:
	case CMD_COMPARE_BUF:
		if (self->result != cell_expected_sign(self))
			problem(self, "compare gave %d, not %d", self->result,
				cell_expected_sign(self));
		break;
	case CMD_FIND:
		if (self->position != find_expected(self))
			problem(self, "find gave %lld, not %lld",
				(long long)self->position,
				(long long)find_expected(self));
		break;
	case CMD_EXPORT:
		flags = fcntl(self->fd, F_GETFD);
		if (flags < 0 || !(flags & FD_CLOEXEC))
			problem(self, "the exported descriptor is not close-on-exec");
		break;
	case CMD_IMPORT:
		if (!self->c || self->c == self->a ||
		    self->length != (self->cell_state == STATE_HUGE ?
				     2 * huge_chunk(self) : length))
			problem(self, "import gave handle %llu of %llu bytes",
				(unsigned long long)self->c,
				(unsigned long long)self->length);
		break;
	case CMD_MMAP_TOUCH:
		model_apply(self);
		if (map_copy(self->buf, self->second, length, &self->fault) ||
		    memcmp(self->buf, self->model, length))
			problem(self, "the new mapping does not show the window");
		break;
	case CMD_FREE:
		ret = softmem_read(self->pool, self->a, 0, self->buf, 1);
		if (ret != -ENOENT)
			problem(self, "read of a freed handle: %s",
				strerror(-ret));
		self->a = 0;
		break;
	}
}

/*
 * After success: the command's result, then region a: told of its discard
 * exactly once in the discarded state (by the command or by the resume
 * here), never in another; the window holds the model, and so do the other
 * pool's handle and the mapping of the scene, which a free leaves working.
 */
static void cell_done(FIXTURE_DATA(fault) *self)
{
	size_t length = SCENE_PAGES * self->page;
	int want = 0, state;

	if (self->expect == 0) {
		cell_result_check(self);
		if (self->cell_cmd != CMD_MMAP_TOUCH)
			model_apply(self);
	}
	if (self->a) {
		state = region_resume_state(self->pool, self->a);
		if (state == SOFTMEM_DISCARDED)
			self->reports++;
		else if (state != SOFTMEM_INTACT)
			problem(self, "resume: %s", ret_name(state));
		want = self->cell_state == STATE_DISCARDED;
	}
	if (self->reports != want)
		problem(self, "the region was reported discarded %d times, not %d",
			self->reports, want);
	if (self->a)
		window_check(self, false, "after the command");
	memcpy(self->want, self->model, length);
	if (self->cell_state == STATE_SHARED)
		peer_expect(self, "after the command");
	if (self->cell_state == STATE_MAPPED &&
	    (map_copy(self->buf, self->map, length, &self->fault) ||
	     memcmp(self->buf, self->model, length)))
		problem(self, "the scene's mapping does not show the window");
}

static void cell_cleanup(FIXTURE_DATA(fault) *self)
{
	scene_free(self, &self->c);
	if (self->area)
		cleanup_map(self);
	else
		cleanup_shared(self);
	self->second = NULL;
	self->mapped_now = false;
}

/* --- consistency ----------------------------------------------------- */

/*
 * With the scene gone, the pool holds its bystanders only: the resumed one
 * intact, the suspended one intact or reported discarded (a failed page
 * allocation may discard the pool's own suspended regions), and every
 * counter, the pool's and the module's, at its baseline.
 */
static void check_baseline(FIXTURE_DATA(fault) *self)
{
	uint64_t module[NR_MODULE_LIVE_STATS];
	struct softmem_stats s;
	size_t i;
	int state;

	if (small_matches(self->pool, self->keep, 0, 4 * self->page,
			   SEED_KEEP) != 1)
		problem(self, "the resumed bystander region lost its data");

	state = region_resume_state(self->pool, self->held);
	if (state == SOFTMEM_DISCARDED) {
		if (small_matches(self->pool, self->held, 0, 2 * self->page,
				   REGION_ZERO) != 1)
			problem(self, "a discarded bystander does not read as zeros");
		if (small_write_pattern(self->pool, self->held, 0,
					 2 * self->page, SEED_HELD))
			problem(self, "cannot refill the bystander");
	} else if (state != SOFTMEM_INTACT ||
		   small_matches(self->pool, self->held, 0, 2 * self->page,
				  SEED_HELD) != 1) {
		problem(self, "the suspended bystander lost its data silently");
	}
	if (softmem_suspend(self->pool, self->held))
		problem(self, "cannot suspend the bystander");

	if (pool_stats(self->pool, &s) || s.regions != self->base.regions ||
	    s.length_bytes != self->base.length_bytes ||
	    s.resident_bytes != self->base.resident_bytes ||
	    s.suspended_bytes != self->base.suspended_bytes ||
	    s.limit_bytes != self->base.limit_bytes)
		problem(self, "pool counters: regions %llu length %llu resident %llu suspended %llu, not %llu %llu %llu %llu",
			(unsigned long long)s.regions,
			(unsigned long long)s.length_bytes,
			(unsigned long long)s.resident_bytes,
			(unsigned long long)s.suspended_bytes,
			(unsigned long long)self->base.regions,
			(unsigned long long)self->base.length_bytes,
			(unsigned long long)self->base.resident_bytes,
			(unsigned long long)self->base.suspended_bytes);

	if (module_live_read(module)) {
		problem(self, "cannot read the module's counters");
		return;
	}
	for (i = 0; i < NR_MODULE_LIVE_STATS; i++)
		if (module[i] != self->module_base[i])
			problem(self, "module %s is %llu, not %llu",
				module_live_stats[i],
				(unsigned long long)module[i],
				(unsigned long long)self->module_base[i]);
}

/*
 * The point an injected failure reached, from the trace @n blocks long of
 * the failed call: the calls agree with the unfailed one (self->ref) up to
 * the failing site, so the last block they share made the failing call.
 * Returns whether the point is new.
 */
static bool point_record(FIXTURE_DATA(fault) *self, size_t n)
{
	const unsigned long *trace = self->cover + 1;
	unsigned long site;
	size_t d = 0;
	unsigned int i;

	if (!self->cover || !self->traced)
		return false;
	while (d < n && d < self->ref_len && trace[d] == self->ref[d])
		d++;
	if (!d) {
		self->outside++;
		return false;
	}
	site = self->ref[d - 1];
	for (i = 0; i < self->nr_points; i++)
		if (self->points[i].site == site)
			return false;
	if (self->nr_points == MAX_POINTS) {
		problem(self, "more than %u injection points", MAX_POINTS);
		return false;
	}
	self->points[i].site = site;
	snprintf(self->points[i].first, sizeof(self->points[i].first), "%s",
		 self->op);
	self->points[i].nth = self->nth;
	self->nr_points++;
	return true;
}

/*
 * Adds the blocks of the unfailed call's trace to those of the calls
 * before; returns how many were new.
 */
static unsigned int blocks_add(FIXTURE_DATA(fault) *self)
{
	unsigned int fresh = 0;
	size_t i, slot;

	for (i = 0; i < self->ref_len; i++) {
		unsigned long pc = self->ref[i];

		slot = (pc * 0x9e3779b97f4a7c15ULL) >> (64 - BLOCK_BITS);
		while (self->blocks[slot] && self->blocks[slot] != pc)
			slot = (slot + 1) % BLOCK_SLOTS;
		if (self->blocks[slot] || self->nr_blocks >= BLOCK_SLOTS / 2)
			continue;
		self->blocks[slot] = pc;
		self->nr_blocks++;
		fresh++;
	}
	return fresh;
}

/*
 * siglongjmp() out of the handler of a touch restores the signal mask with
 * a system call whose user copy may be the armed failure: SIGBUS and
 * SIGSEGV then stay blocked, and the next touch, forced to their default
 * action, would kill the test.
 */
static void fault_signals_unblock(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGBUS);
	sigaddset(&set, SIGSEGV);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* What a scene starts from before its prepare(). */
static void scene_reset(FIXTURE_DATA(fault) *self)
{
	self->window = 0;
	self->filled = SCENE_PAGES * self->page;
	self->expect = 0;
	self->reports = 0;
}

/*
 * Runs @op unfailed, with fail-nth armed high enough to count the sites it
 * reaches and KCOV tracing it: its result is checked as after a retry, and
 * its trace is the reference the failed calls are compared with.  Returns
 * the number of sites, 0 when the scene cannot be built.
 */
static unsigned int count_sites(FIXTURE_DATA(fault) *self,
				const struct fault_op *op)
{
	unsigned int left = 0;
	size_t n;
	int ret, err;

	self->nth = 0;
	scene_reset(self);
	err = op->prepare(self);
	if (err) {
		problem(self, "cannot build the scene: %s", strerror(-err));
		op->cleanup(self);
		return 0;
	}
	trace_start(self);
	err = fail_nth_arm(self, COUNT_ARM);
	ret = err ?: op->call(self);
	n = trace_length(self);
	err = err ?: fail_nth_left(self, &left);
	if (err) {
		problem(self, "fail-nth: %s", strerror(-err));
		op->cleanup(self);
		return 0;
	}
	self->ref_len = n;
	if (self->cover)
		memcpy(self->ref, self->cover + 1, n * sizeof(unsigned long));
	self->new_blocks = blocks_add(self);
	if (ret != self->expect)
		problem(self, "unfailed, gave %s, not %s", ret_name(ret),
			ret_name(self->expect));
	else
		op->done(self);
	op->cleanup(self);
	check_baseline(self);
	return left < COUNT_ARM ? COUNT_ARM - left : 0;
}

/*
 * Runs @op with its 1st, 2nd, ... fault-injection site failing, up to the
 * number of sites the unfailed call reaches.  With @may_stop and KCOV, when
 * the unfailed call ran no block of softmem's code the earlier ones did not
 * (its path is theirs), stops once STALE_RUN failures in a row reached no
 * point new to the whole sweep.  Returns the failures injected.
 */
static unsigned int sweep(FIXTURE_DATA(fault) *self, const struct fault_op *op,
			  bool may_stop)
{
	unsigned int injected = 0, problems = self->problems, points, sites;
	unsigned int stale = 0;
	bool stopped = false;
	int ret, was, err;
	size_t n;

	self->op = op->name;
	self->sigbus = 0;
	points = self->nr_points;
	sites = count_sites(self, op);
	for (self->nth = 1; self->nth <= sites; self->nth++) {
		if (getenv("SOFTMEM_FAULT_VERBOSE"))
			ksft_print_msg("%s: failure %u\n", op->name, self->nth);
		scene_reset(self);
		err = op->prepare(self);
		if (err) {
			problem(self, "cannot build the scene: %s", strerror(-err));
			op->cleanup(self);
			break;
		}
		trace_start(self);
		err = fail_nth_arm(self, self->nth);
		ret = err ?: op->call(self);
		n = trace_length(self);
		was = err ?: fail_nth_disarm(self);
		fault_signals_unblock();
		if (was < 0) {
			problem(self, "fail-nth: %s", strerror(-was));
			op->cleanup(self);
			break;
		}
		if (!was) {
			/* The call reached fewer sites than unfailed. */
			if (ret != self->expect)
				problem(self, "gave %s, nothing injected",
					ret_name(ret));
			else
				op->done(self);
			op->cleanup(self);
			check_baseline(self);
			break;
		}
		injected++;
		stale = point_record(self, n) ? 0 : stale + 1;
		if (ret != self->expect &&
		    !((ret == -ENOMEM && op->allow & ALLOW_ENOMEM) ||
		      (ret == -EFAULT && op->allow & ALLOW_EFAULT) ||
		      (ret == RET_SIGBUS && op->allow & ALLOW_SIGBUS) ||
		      (ret == RET_SIGSEGV && op->allow & ALLOW_SIGSEGV)))
			problem(self, "failed with %s (%d)", ret_name(ret), ret);
		if (ret != self->expect) {
			op->failed(self, ret);
			ret = op->call(self);
			if (ret != self->expect)
				problem(self, "the retry gave %s, not %s",
					ret_name(ret), ret_name(self->expect));
		}
		if (ret == self->expect)
			op->done(self);
		op->cleanup(self);
		check_baseline(self);
		if (may_stop && self->traced && !self->new_blocks &&
		    stale >= STALE_RUN && self->nth < sites) {
			stopped = true;
			break;
		}
	}
	if (stopped)
		self->stopped_early++;
	ksft_print_msg("%-22s %3u of %3u sites failed, %2u new points%s, %u problems\n",
		       op->name, injected, sites, self->nr_points - points,
		       stopped ? " (known path, no new point: stopped)" : "",
		       self->problems - problems);
	if (self->sigbus)
		ksft_print_msg("%-22s %3u of them raised SIGBUS\n", op->name,
			       self->sigbus);
	return injected;
}

/*
 * Whether the huge state can be built: a kernel whose softmem has
 * SOFTMEM_ALLOC_HUGE and an allocator with a free 2 MiB block.
 */
static bool huge_available(FIXTURE_DATA(fault) *self)
{
	int ret;

	drop_caches();
	write_file("/proc/sys/vm/compact_memory", "1");
	ret = prepare_huge(self);
	scene_free(self, &self->a);
	if (ret)
		ksft_print_msg("huge: no huge-backed region (%s): state skipped\n",
			       strerror(-ret));
	return !ret;
}

/*
 * Sweeps every command of the matrix in every state; each cell stops early
 * once its failures reach no new point (see sweep()).  Returns the failures
 * injected, and the number of states swept in @states.
 */
static unsigned int sweep_matrix(FIXTURE_DATA(fault) *self,
				 unsigned int *states)
{
	struct fault_op op = {
		.prepare = cell_prepare,
		.call = cell_call,
		.failed = cell_failed,
		.done = cell_done,
		.cleanup = cell_cleanup,
	};
	unsigned int injected = 0;

	*states = 0;
	for (self->cell_state = 0; self->cell_state < NR_STATES;
	     self->cell_state++) {
		if (self->cell_state == STATE_HUGE && !huge_available(self))
			continue;
		++*states;
		for (self->cell_cmd = 0; self->cell_cmd < NR_CMDS;
		     self->cell_cmd++) {
			const char *only = getenv("SOFTMEM_FAULT_CELL");

			snprintf(self->cell_name, sizeof(self->cell_name),
				 "%s/%s", cell_cmds[self->cell_cmd].name,
				 state_names[self->cell_state]);
			if (only && strcmp(only, self->cell_name))
				continue;
			op.name = self->cell_name;
			op.allow = cell_cmds[self->cell_cmd].allow;
			injected += sweep(self, &op, true);
		}
	}
	return injected;
}

/* --- tests ----------------------------------------------------------- */

/*
 * The mechanism works: an armed failure reaches an early site of an alloc
 * and fails it.  With fail_usercopy that is a user copy: not the first,
 * the read of the whole struct, whose failure the command absorbs by
 * reading it again as its size says, but the second, that read of the size.
 */
TEST_F(fault, armed_alloc_fails_then_works)
{
	uint64_t h = 0;
	int ret;

	ASSERT_EQ(0, fail_nth_arm(self, self->usercopy ? 2 : 1));
	ret = softmem_alloc(self->pool, self->page, &h);
	ASSERT_EQ(1, fail_nth_disarm(self));
	EXPECT_EQ(self->usercopy ? -EFAULT : -ENOMEM, ret);
	ASSERT_EQ(0, softmem_alloc(self->pool, self->page, &h));
	EXPECT_EQ(0, softmem_free(self->pool, h));
}

/* The first CPU of NUMA node @nid, -1 for none. */
static int node_first_cpu(int nid)
{
	char path[64], text[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 nid);
	if (read_file(path, text, sizeof(text)) || text[0] < '0' ||
	    text[0] > '9')
		return -1;
	return atoi(text);
}

/*
 * The pool's resumed bytes on node @nid: resident, less suspended (which a
 * write short of memory may discard), 0 when they cannot be read.
 */
static uint64_t node_resumed(int pool, int nid)
{
	struct softmem_node_stats st = { .size = sizeof(st) };

	if (softmem_node_stats(pool, nid, &st))
		return 0;
	return st.resident_bytes - st.suspended_bytes;
}

/*
 * Sweeps fail-nth over the first write into a fresh region of @length
 * bytes, on node @node (-1: where softmem places it), from CPU @cpu: the
 * write either fails with ENOMEM or EFAULT and leaves the region unwritten,
 * or succeeds (the failure absorbed) and the byte reads back, its page
 * counted on @node when one was asked for (a page allocation that failed
 * may have discarded the pool's suspended region, and then succeeded).
 * Returns the absorbed failures.
 */
static unsigned int first_write_sweep(struct __test_metadata *_metadata,
				      FIXTURE_DATA(fault) *self, int cpu,
				      int node, uint64_t length)
{
	unsigned int nth, sites = 0, absorbed = 0;
	uint64_t h, before = 0;
	int ret, injected;
	char c;

	ASSERT_EQ(0, pin_to_cpu(cpu));
	for (nth = 0; nth <= sites; nth++) {
		ret = node < 0 ? softmem_alloc(self->pool, length, &h) :
		      softmem_alloc_on_node(self->pool, length, node, &h);
		ASSERT_EQ(0, ret) TH_LOG("alloc: %s", err_name(ret));
		if (node >= 0)
			before = node_resumed(self->pool, node);
		ASSERT_EQ(0, fail_nth_arm(self, nth ? nth : COUNT_ARM));
		ret = softmem_write(self->pool, h, 0, "x", 1);
		injected = fail_nth_end(self, nth, &sites);
		ASSERT_LE(0, injected);
		ASSERT_EQ(0, softmem_read(self->pool, h, 0, &c, 1));
		if (ret) {
			EXPECT_TRUE(ret == -ENOMEM || ret == -EFAULT)
				TH_LOG("failure %u: %s", nth, err_name(ret));
			EXPECT_EQ(0, c) TH_LOG("failure %u", nth);
		} else {
			EXPECT_EQ('x', c) TH_LOG("failure %u", nth);
			if (node >= 0)
				EXPECT_EQ(before + self->page,
					  node_resumed(self->pool, node))
					TH_LOG("failure %u", nth);
			absorbed += injected;
		}
		ASSERT_EQ(0, softmem_free(self->pool, h));
	}
	return absorbed;
}

/*
 * A region's first write places its page set and first page: on the
 * region's node when it has one (here from a CPU of the other node), else
 * on the writer's node, or on a roomier one when the writer's lacks room
 * for the whole region (here a region the size of all memory, from a CPU
 * of each node).  Failing any allocation on the way fails the write with
 * nothing written, or is absorbed: a page that cannot be had on the
 * roomier node is taken where the first one was, a page short of memory
 * after a discard of the pool's own suspended region.
 */
TEST_F(fault, first_write_absorbs_failed_placement)
{
	uint64_t whole = meminfo_bytes("MemTotal");
	unsigned int absorbed = 0;
	int nid, cpu;

	if (!node_exists(1))
		SKIP(return, "one NUMA node: nowhere else to place a page");
	for (nid = 0; nid < 2; nid++) {
		cpu = node_first_cpu(nid);
		if (cpu < 0)
			continue;
		absorbed += first_write_sweep(_metadata, self, cpu, !nid,
					      self->page);
		absorbed += first_write_sweep(_metadata, self, cpu, -1,
					      page_round_up(whole));
	}
	TH_LOG("%u injected failures absorbed", absorbed);
	EXPECT_LT(0, absorbed);
}

/* A first write of several pages: the scene's buffers' size. */
#define MOVE_PAGES	SCENE_PAGES

/* How the region of move_sweep() may be placed. */
enum move_rule {
	MOVE_FREE,		/* no node, default memory policy */
	MOVE_REGION_NODE,	/* SOFTMEM_ALLOC_NODE: the writer's node */
	MOVE_POLICY_BIND,	/* MPOL_BIND to the writer's node */
};

/*
 * Sweeps fail-nth over a MOVE_PAGES-page first write into a fresh region
 * of pool @pool, which holds no suspended region a failed page could
 * discard, from a CPU of node @nid, placed as @rule says.  Every write
 * either fails with ENOMEM or EFAULT and leaves the region unwritten, or
 * succeeds with every byte read back and every page on one node.  Counts
 * the injected failures absorbed by a write that went whole to the other
 * node (*@moved) and the writes failed with ENOMEM (*@failed).  A copy
 * from user space that failed part way leaves what it copied.
 */
static void move_sweep(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fault) *self, int pool, int nid,
		       enum move_rule rule, unsigned int *moved,
		       unsigned int *failed)
{
	uint64_t length = MOVE_PAGES * self->page, h, here, there;
	unsigned int nth, sites = 0;
	unsigned long mask = 1UL << nid;
	int ret, injected;
	uint64_t i;

	*moved = *failed = 0;
	ASSERT_EQ(0, pin_to_cpu(node_first_cpu(nid)));
	if (rule == MOVE_POLICY_BIND)
		ASSERT_EQ(0, syscall(SYS_set_mempolicy, MPOL_BIND, &mask,
				     8 * sizeof(mask)));
	for (nth = 0; nth <= sites; nth++) {
		ret = rule == MOVE_REGION_NODE ?
		      softmem_alloc_on_node(pool, length, nid, &h) :
		      softmem_alloc(pool, length, &h);
		ASSERT_EQ(0, ret) TH_LOG("alloc: %s", err_name(ret));
		memset(self->src, 0x5a, length);
		ASSERT_EQ(0, fail_nth_arm(self, nth ? nth : COUNT_ARM));
		ret = softmem_write(pool, h, 0, self->src, length);
		injected = fail_nth_end(self, nth, &sites);
		ASSERT_LE(0, injected);
		ASSERT_EQ(0, softmem_read(pool, h, 0, self->buf, length));
		here = node_resumed(pool, nid);
		there = node_resumed(pool, !nid);
		if (ret) {
			EXPECT_TRUE(ret == -ENOMEM || ret == -EFAULT)
				TH_LOG("failure %u: %s", nth, err_name(ret));
			/* A copy that stopped part way wrote what it got. */
			memset(self->want, 0, length);
			for (i = 0; ret == -EFAULT && i < length; i++)
				if (self->buf[i])
					self->want[i] = self->src[i];
			*failed += ret == -ENOMEM;
		} else {
			memcpy(self->want, self->src, length);
			EXPECT_TRUE(here + there == length &&
				    (!here || !there))
				TH_LOG("failure %u: %llu bytes on node %d, %llu on node %d",
				       nth, (unsigned long long)here, nid,
				       (unsigned long long)there, !nid);
			*moved += injected && there == length;
		}
		EXPECT_EQ(0, memcmp(self->want, self->buf, length))
			TH_LOG("failure %u", nth);
		ASSERT_EQ(0, softmem_free(pool, h));
	}
	if (rule == MOVE_POLICY_BIND)
		ASSERT_EQ(0, syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0));
}

/*
 * A region's pages are all on one node, and its first write allocates all
 * of them before any is used.  When a page after the first cannot be had
 * on the writer's node, the whole write goes to the other node instead of
 * failing: every such failure is absorbed so (MOVE_PAGES - 1 of them, one
 * per later page).  A region bound to the node, or a writer whose memory
 * policy binds it there, has nowhere else to go: none moves, and the
 * failure of any of its pages fails the write with ENOMEM.
 */
TEST_F(fault, first_write_moves_to_a_node_with_room)
{
	unsigned int moved, failed;
	int pool;

	if (!node_exists(1) || node_first_cpu(0) < 0)
		SKIP(return, "one NUMA node: nowhere else to place a page");
	pool = softmem_open();
	ASSERT_LE(0, pool);

	move_sweep(_metadata, self, pool, 0, MOVE_FREE, &moved, &failed);
	TH_LOG("free region: %u failures absorbed on node 1, %u writes failed",
	       moved, failed);
	EXPECT_LE(MOVE_PAGES - 1, moved);

	move_sweep(_metadata, self, pool, 0, MOVE_REGION_NODE, &moved,
		   &failed);
	TH_LOG("region on node 0: %u moved, %u writes failed", moved, failed);
	EXPECT_EQ(0, moved);
	EXPECT_LE(MOVE_PAGES, failed);

	move_sweep(_metadata, self, pool, 0, MOVE_POLICY_BIND, &moved,
		   &failed);
	TH_LOG("writer bound to node 0: %u moved, %u writes failed", moved,
	       failed);
	EXPECT_EQ(0, moved);
	EXPECT_LE(MOVE_PAGES, failed);
	close(pool);
}

/* Each distinct point: softmem's block that made the failing call. */
static void points_print(FIXTURE_DATA(fault) *self)
{
	char line[256], name[128], best[128] = "";
	unsigned long addr, best_addr;
	unsigned int i;
	FILE *f;

	for (i = 0; i < self->nr_points; i++) {
		unsigned long site = self->points[i].site;

		best_addr = 0;
		f = fopen("/proc/kallsyms", "re");
		while (f && fgets(line, sizeof(line), f)) {
			char type;

			if (!strstr(line, "[softmem]") ||
			    sscanf(line, "%lx %c %127s", &addr, &type, name) != 3)
				continue;
			if (addr <= site && addr > best_addr) {
				best_addr = addr;
				snprintf(best, sizeof(best), "%s", name);
			}
		}
		if (f)
			fclose(f);
		if (best_addr)
			ksft_print_msg("point %3u: %s+%#lx (%s, failure %u)\n",
				       i + 1, best, site - best_addr,
				       self->points[i].first,
				       self->points[i].nth);
		else
			ksft_print_msg("point %3u: %#lx (%s, failure %u)\n",
				       i + 1, site, self->points[i].first,
				       self->points[i].nth);
	}
}

TEST_F_TIMEOUT(fault, every_operation_every_site, 600)
{
	size_t nr_ops = sizeof(fault_ops) / sizeof(fault_ops[0]);
	size_t nr_sharing = sizeof(sharing_ops) / sizeof(sharing_ops[0]);
	unsigned int injected = 0, states, n;
	uint64_t module[NR_MODULE_LIVE_STATS];
	size_t i;

	/* Each operation's own scene, every site failed in turn. */
	for (i = 0; i < nr_ops + nr_sharing; i++) {
		const struct fault_op *op = i < nr_ops ? &fault_ops[i] :
					    &sharing_ops[i - nr_ops];

		n = sweep(self, op, false);
		/* Every command copies its struct from user space. */
		if (!n && self->usercopy && strcmp(op->name, "close")) {
			self->op = op->name;
			problem(self, "no failure could be injected");
		}
		injected += n;
	}
	/* Every command in every state, cut short where nothing is new. */
	injected += sweep_matrix(self, &states);

	/* Last: the bystanders, then every pool closed. */
	self->op = "end";
	if (region_resume_state(self->pool, self->held) == SOFTMEM_INTACT &&
	    small_matches(self->pool, self->held, 0, 2 * self->page,
			   SEED_HELD) != 1)
		problem(self, "the suspended bystander lost its data");
	if (softmem_close(self->pool))
		problem(self, "close of the pool failed");
	self->pool = -1;
	ASSERT_EQ(0, module_live_read(module));
	for (i = 0; i < NR_MODULE_LIVE_STATS; i++)
		if (module[i] != self->module_start[i])
			problem(self, "module %s is %llu at the end, not %llu",
				module_live_stats[i],
				(unsigned long long)module[i],
				(unsigned long long)self->module_start[i]);

	if (self->traced) {
		points_print(self);
		ksft_print_msg("fault-injection: %u distinct injection points reached (softmem call sites, by KCOV; in %u states x %u commands and %zu scenes of their own), %u injected failures, %u problems\n",
			       self->nr_points, states, NR_CMDS,
			       nr_ops + nr_sharing, injected, self->problems);
		ksft_print_msg("fault-injection: %u failures injected before any softmem code ran, %u of %u cells stopped early (a known path, no new point in %u failures in a row)\n",
			       self->outside, self->stopped_early,
			       states * NR_CMDS, STALE_RUN);
	} else {
		ksft_print_msg("fault-injection: %u injected failures (in %u states x %u commands and %zu scenes of their own; distinct points not counted: no KCOV of softmem.ko, build it with SOFTMEM_COVERAGE=1), %u problems\n",
			       injected, states, NR_CMDS, nr_ops + nr_sharing,
			       self->problems);
	}
	EXPECT_LT(0, injected);
	EXPECT_EQ(0, self->problems);
}

TEST_HARNESS_MAIN
