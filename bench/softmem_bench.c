// SPDX-License-Identifier: GPL-2.0
/*
 * softmem_bench: the speed ratios softmem is held to, each measured against
 * its baseline in the same run.
 *
 * Runs as root in a test guest with softmem.ko loaded (tools/bench.sh, that
 * is make bench, boots one).  It prints a header (kernel, CPU model, KVM or
 * TCG), the raw figures, each the median of several repetitions with their
 * min and max, and then one line per ratio:
 *
 *	ratio NAME VALUE (target OP X)
 *	ratio NAME VALUE (target OP X; NOTE)	a size scaled down, a
 *						baseline TCG distorts
 *	ratio NAME skipped (WHY)		needs work not done yet
 *	ratio NAME failed (WHY)			an error
 *
 * The ratios and their baselines are described in
 * Documentation/testing/softmem.rst.  Baselines and subjects alternate
 * within each repetition, so that a busy host slows both alike.
 *
 * Environment: BENCH_QUICK=1 takes few repetitions and small sizes (make
 * check runs it so that the bench cannot rot: its figures mean nothing);
 * SOFTMEM_BENCH_ACCEL (kvm or tcg) says how the guest runs when the host
 * knows, otherwise the CPUID hypervisor leaf and the CPU model decide;
 * SOFTMEM_BENCH_HOST_CPU is the host's CPU model, shown beside the guest's.
 *
 * "softmem_bench --list" prints the name of every ratio, one a line.
 * "softmem_bench --pressure FILE" also reads the "result" lines of the
 * pressure demo's ways (examples/pressure-demo: none, softmem, anon and
 * anon+zram), which tools/bench.sh runs in the same guest first, for the
 * two ratios of a competitor under pressure.
 * Exit status: 0 when every ratio was measured or skipped for a reason it
 * prints, 1 when a measurement failed, 2 on bad usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <softmem.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#define KiB		(1ULL << 10)
#define MiB		(1ULL << 20)
#define PAGE		4096

#define PARAMS		"/sys/module/softmem/parameters/"
#define CGROUP_ROOT	"/sys/fs/cgroup"
#define MAX_REPS	15

/* ------------------------------------------------------------- the ratios */

enum ratio_id {
	R_PAIR_64M,
	R_PAIR_MADV,
	R_BATCH,
	R_LOCKFREE,
	R_SHRINKER,
	R_SHRINKER_HUGE,
	R_READ_1M_MOVSB,
	R_WRITE_1M_MOVSB,
	R_READ_1M_MEMCPY,
	R_WRITE_1M_MEMCPY,
	R_READ_4K_MEMCPY,
	R_READ_4K_MOVSB,
	R_REGIONS_PAIR,
	R_REGIONS_READ,
	R_THREADS,
	R_MEMCG,
	R_ZRAM,
	R_OOM,
	NR_RATIOS
};

struct ratio {
	const char *name;
	const char *target;	/* "<= 1.2" */
	const char *skip;	/* why it cannot be measured yet, or NULL */
	bool measured;
	double value;
	char note[192];		/* after the target: "; " and the note */
	char failed[192];	/* why the measurement failed */
	char unformed[192];	/* why this run could not form it */
};

#define RATIO(n, t)		{ .name = (n), .target = (t) }
#define LATER(n, t, why)	{ .name = (n), .target = (t), .skip = (why) }

static struct ratio ratios[NR_RATIOS] = {
	[R_PAIR_64M] = RATIO("suspend_resume_64m_vs_4k", "<= 1.2"),
	[R_PAIR_MADV] = RATIO("suspend_resume_vs_madv_free", "<= 1.0"),
	/* No target in DESIGN; issue 9 asks for the figure: below 1 pays. */
	[R_BATCH] = RATIO("batch_10k_vs_single", "< 1.0"),
	[R_LOCKFREE] = RATIO("lockfree_pair_vs_madv_free", "<= 0.05"),
	[R_SHRINKER] = RATIO("shrinker_256m_vs_munmap", "<= 1.5"),
	[R_SHRINKER_HUGE] = RATIO("shrinker_256m_huge_vs_munmap_thp", "<= 1.5"),
	[R_READ_1M_MOVSB] = RATIO("read_1m_vs_rep_movsb", ">= 0.8"),
	[R_WRITE_1M_MOVSB] = RATIO("write_1m_vs_rep_movsb", ">= 0.8"),
	[R_READ_1M_MEMCPY] = RATIO("read_1m_vs_memcpy", ">= 0.8"),
	[R_WRITE_1M_MEMCPY] = RATIO("write_1m_vs_memcpy", ">= 0.8"),
	[R_READ_4K_MEMCPY] = RATIO("read_4k_vs_memcpy", ">= 0.3"),
	[R_READ_4K_MOVSB] = RATIO("read_4k_vs_rep_movsb", ">= 0.3"),
	[R_REGIONS_PAIR] = RATIO("regions_1m_vs_1k_suspend_resume", "<= 1.3"),
	[R_REGIONS_READ] = RATIO("regions_1m_vs_1k_read64", "<= 1.3"),
	[R_THREADS] = RATIO("threads_2_vs_1_over_plain", ">= 0.8"),
	[R_MEMCG] = RATIO("memcg_high_discarded_vs_asked", "<= 1.5"),
	[R_ZRAM] = RATIO("competing_alloc_softmem_vs_zram", "<= 0.5"),
	[R_OOM] = RATIO("oom_kills_softmem_vs_anon", "0 / >= 1"),
};

static void ratio_set(enum ratio_id id, double value)
{
	ratios[id].value = value;
	ratios[id].measured = true;
}

static void ratio_note(enum ratio_id id, const char *fmt, ...)
{
	struct ratio *r = &ratios[id];
	size_t len = strlen(r->note);
	va_list ap;

	if (len + 3 >= sizeof(r->note))
		return;
	strcpy(r->note + len, "; ");
	va_start(ap, fmt);
	vsnprintf(r->note + len + 2, sizeof(r->note) - len - 2, fmt, ap);
	va_end(ap);
}

/*
 * A ratio this run measured but could not form: its baseline took no time,
 * or the event it counts did not happen.  Printed as skipped, with why.
 */
static void ratio_unformed(enum ratio_id id, const char *fmt, ...)
{
	struct ratio *r = &ratios[id];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->unformed, sizeof(r->unformed), fmt, ap);
	va_end(ap);
	r->skip = r->unformed;
}

static void ratio_fail(enum ratio_id id, const char *fmt, ...)
{
	struct ratio *r = &ratios[id];
	va_list ap;

	if (r->failed[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->failed, sizeof(r->failed), fmt, ap);
	va_end(ap);
}

/* Print a ratio with two decimals, three below 0.1 (0.07 is not 0.1). */
static void print_ratio(const struct ratio *r)
{
	if (r->failed[0])
		printf("ratio %s failed (%s)\n", r->name, r->failed);
	else if (r->skip)
		printf("ratio %s skipped (%s)\n", r->name, r->skip);
	else if (!r->measured)
		printf("ratio %s failed (not measured)\n", r->name);
	else
		printf("ratio %s %.*f (target %s%s)\n", r->name,
		       r->value < 0.1 ? 3 : 2, r->value, r->target, r->note);
}

/* ------------------------------------------------------------ the figures */

/* One raw figure: a value per repetition, in seconds (or a plain number). */
struct figure {
	const char *name;
	const char *unit;	/* "ns", "us", "ms" or "" for a plain number */
	double v[MAX_REPS];
	int n;
};

#define FIGURE(n, u)	{ .name = (n), .unit = (u) }

static void fig_add(struct figure *f, double v)
{
	if (f->n < MAX_REPS)
		f->v[f->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double fig_median(const struct figure *f)
{
	double s[MAX_REPS];

	if (!f->n)
		return 0;
	memcpy(s, f->v, f->n * sizeof(s[0]));
	qsort(s, f->n, sizeof(s[0]), cmp_double);
	return f->n % 2 ? s[f->n / 2] : (s[f->n / 2 - 1] + s[f->n / 2]) / 2;
}

static double fig_scale(const struct figure *f)
{
	if (!strcmp(f->unit, "ns"))
		return 1e9;
	if (!strcmp(f->unit, "us"))
		return 1e6;
	if (!strcmp(f->unit, "ms"))
		return 1e3;
	return 1;
}

/* Decimals enough for three significant digits, at most three. */
static int decimals(double v)
{
	return v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
}

static void fig_print(const struct figure *f, const char *what)
{
	double scale = fig_scale(f), med = fig_median(f) * scale;
	double lo = f->v[0], hi = f->v[0];
	int i;

	for (i = 1; i < f->n; i++) {
		lo = f->v[i] < lo ? f->v[i] : lo;
		hi = f->v[i] > hi ? f->v[i] : hi;
	}
	lo *= scale;
	hi *= scale;
	printf("figure %-22s %10.*f %-2s (min %.*f, max %.*f, %d reps)  %s\n",
	       f->name, decimals(med), med, f->unit, decimals(lo), lo,
	       decimals(hi), hi, f->n, what);
}

/* ----------------------------------------------------------------- setup */

static struct {
	bool quick;
	int reps;		/* repetitions of the cheap figures */
	int heavy_reps;		/* of those that fill hundreds of MiB */
	long iters;		/* operations a repetition, per-op figures */
	bool tcg;
	int cpus;
} cfg;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_text(const char *path, char *buf, size_t size)
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

static int write_text(const char *path, const char *text)
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

static int read_u64(const char *path, uint64_t *value)
{
	char buf[64], *end;
	int ret = read_text(path, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*value = strtoull(buf, &end, 10);
	return errno || end == buf ? -EINVAL : 0;
}

static int write_u64(const char *path, uint64_t value)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	return write_text(path, buf);
}

/* A /proc/meminfo field in bytes, 0 if missing. */
static uint64_t meminfo(const char *key)
{
	size_t len = strlen(key);
	unsigned long long kib = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

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

static const char *err(int ret)
{
	return strerror(ret < 0 ? -ret : ret);
}

/* The module parameters the bench raises, restored at exit. */
static const char *const param_names[] = {
	"max_bytes", "pool_max_bytes", "max_regions", "pool_max_regions",
};

static uint64_t param_saved[4];
static bool param_changed[4];

static int param_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < sizeof(param_names) / sizeof(param_names[0]); i++)
		if (!strcmp(param_names[i], name))
			return i;
	return -1;
}

/* Raise module parameter @name to at least @value (0 means no limit). */
static int param_raise(const char *name, uint64_t value)
{
	char path[128];
	uint64_t old;
	int i = param_index(name), ret;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	ret = read_u64(path, &old);
	if (ret)
		return ret;
	if (old >= value)
		return 0;
	if (!param_changed[i]) {
		param_saved[i] = old;
		param_changed[i] = true;
	}
	return write_u64(path, value);
}

static void params_restore(void)
{
	char path[128];
	int i;

	/* Reverse order: a pool's cap never exceeds the module's. */
	for (i = 3; i >= 0; i--) {
		if (!param_changed[i])
			continue;
		snprintf(path, sizeof(path), PARAMS "%s", param_names[i]);
		write_u64(path, param_saved[i]);
	}
}

static uint64_t pool_discarded(int pool)
{
	struct softmem_stats st;

	memset(&st, 0, sizeof(st));
	if (softmem_stats(pool, &st))
		return 0;
	return st.discarded_bytes;
}

/* Resident bytes of the pool in huge pages. */
static uint64_t pool_huge(int pool)
{
	struct softmem_stats st;

	memset(&st, 0, sizeof(st));
	if (softmem_stats(pool, &st))
		return 0;
	return st.huge_bytes;
}

/* Splitmix64: a fixed sequence, the same for both sides of a ratio. */
static uint64_t rnd(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* --------------------------------------------------------- the baselines */

/* glibc's memcpy, called as a library call whatever the compiler knows. */
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

/* The copy the kernel's copy_to_user()/copy_from_user() use on x86. */
static void rep_movsb(void *dst, const void *src, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	asm volatile("rep movsb"
		     : "+D" (dst), "+S" (src), "+c" (len) : : "memory");
#else
	memcpy_fn(dst, src, len);
#endif
}

/* Keep the compiler from dropping stores to @p. */
static void clobber(void *p)
{
	asm volatile("" : : "r" (p) : "memory");
}

/* -------------------------------------------------------------- sections */

/* A written region of @len bytes, resumed. */
static int region_filled_as(int pool, uint64_t len, bool huge, uint64_t *h)
{
	int ret = huge ? softmem_alloc_huge(pool, len, h) :
			 softmem_alloc(pool, len, h);

	return ret ? ret : softmem_set(pool, *h, 0, 0x5a, len);
}

static int region_filled(int pool, uint64_t len, uint64_t *h)
{
	return region_filled_as(pool, len, false, h);
}

/* @iters suspend+resume pairs of region @h; seconds per pair. */
static int time_pairs(int pool, uint64_t h, long iters, double *per_op)
{
	double t = now();
	bool lost;
	long i;
	int ret;

	for (i = 0; i < iters; i++) {
		ret = softmem_suspend(pool, h);
		if (!ret)
			ret = softmem_resume(pool, h, &lost);
		if (ret)
			return ret;
		if (lost)
			return -ESTALE;	/* discarded under us */
	}
	*per_op = (now() - t) / iters;
	return 0;
}

/* @iters of MADV_FREE of a page and a write that takes it back. */
static double time_madv_free(char *page, long iters)
{
	double t = now();
	long i;

	for (i = 0; i < iters; i++) {
		madvise(page, PAGE, MADV_FREE);
		page[i % PAGE] = (char)i;
		clobber(page);
	}
	return (now() - t) / iters;
}

static double time_getpid(long iters)
{
	double t = now();
	long i;

	for (i = 0; i < iters; i++)
		syscall(SYS_getpid);
	return (now() - t) / iters;
}

/*
 * batch_10k_vs_single: suspending and resuming 10 000 regions with one
 * SOFTMEM_IOC_BATCH each way, against one ioctl per region and state.
 */
static void bench_batch(void)
{
	struct figure fbatch = FIGURE("batch_10k", "ms");
	struct figure fsingle = FIGURE("single_10k", "ms");
	unsigned int n = cfg.quick ? 1000 : 10000, i, done;
	struct softmem_batch_entry *e = calloc(n, sizeof(*e));
	uint64_t *h = calloc(n, sizeof(*h));
	int pool = softmem_open(), ret = 0, rep;
	bool lost;
	double t;

	if (pool < 0 || !e || !h) {
		ret = pool < 0 ? pool : -ENOMEM;
		goto fail;
	}
	for (i = 0; i < n && !ret; i++)
		ret = region_filled(pool, PAGE, &h[i]);
	for (rep = 0; rep < cfg.reps && !ret; rep++) {
		t = now();
		for (i = 0; i < n && !ret; i++)
			ret = softmem_suspend(pool, h[i]);
		for (i = 0; i < n && !ret; i++)
			ret = softmem_resume(pool, h[i], &lost);
		fig_add(&fsingle, now() - t);

		t = now();
		for (i = 0; i < n; i++)
			e[i] = (struct softmem_batch_entry) {
				.handle = h[i], .op = SOFTMEM_BATCH_SUSPEND,
			};
		if (!ret)
			ret = softmem_batch(pool, e, n, &done);
		for (i = 0; i < n; i++)
			e[i].op = SOFTMEM_BATCH_RESUME;
		if (!ret)
			ret = softmem_batch(pool, e, n, &done);
		fig_add(&fbatch, now() - t);
	}
	if (ret)
		goto fail;
	fig_print(&fsingle, n == 10000 ?
		  "10000 suspends, then 10000 resumes, one ioctl each" :
		  "1000 suspends, then 1000 resumes, one ioctl each (quick)");
	fig_print(&fbatch, "the same as two SOFTMEM_IOC_BATCH calls");
	ratio_set(R_BATCH, fig_median(&fbatch) / fig_median(&fsingle));
	if (n != 10000)
		ratio_note(R_BATCH, "%u regions, quick", n);
	goto out;
fail:
	ratio_fail(R_BATCH, "%s", err(ret));
out:
	if (pool >= 0)
		softmem_close(pool);
	free(e);
	free(h);
}

/*
 * suspend_resume_64m_vs_4k, suspend_resume_vs_madv_free and
 * lockfree_pair_vs_madv_free: suspend+resume pairs on a written 4 KiB region
 * and a written 64 MiB one, by ioctl, and on a written 4 KiB region of a
 * pool with state words (no system call), MADV_FREE of a page and its
 * re-touch, and getpid() for scale.
 */
static void bench_pairs(void)
{
	struct figure f4k = FIGURE("pair_4k", "ns");
	struct figure f64m = FIGURE("pair_64m", "ns");
	struct figure flf = FIGURE("pair_lockfree_4k", "ns");
	struct figure fmadv = FIGURE("madv_free_retouch", "ns");
	struct figure fpid = FIGURE("getpid", "ns");
	uint64_t big = cfg.quick ? 16 * MiB : 64 * MiB, h4k, hbig, hlf;
	char *page = MAP_FAILED;
	int pool, lockfree = -1, ret, rep;
	double t;

	pool = softmem_open();
	if (pool < 0) {
		ret = pool;
		goto fail;
	}
	lockfree = softmem_open();
	if (lockfree < 0) {
		ret = lockfree;
		goto fail;
	}
	ret = softmem_lockfree(lockfree, 16);
	if (!ret)
		ret = region_filled(lockfree, 4 * KiB, &hlf);
	if (!ret)
		ret = region_filled(pool, 4 * KiB, &h4k);
	if (!ret)
		ret = region_filled(pool, big, &hbig);
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!ret && page == MAP_FAILED)
		ret = -errno;
	if (ret)
		goto fail;
	memset(page, 1, PAGE);

	for (rep = 0; rep < cfg.reps; rep++) {
		ret = time_pairs(pool, h4k, cfg.iters, &t);
		if (ret)
			goto fail;
		fig_add(&f4k, t);
		ret = time_pairs(pool, hbig, cfg.iters, &t);
		if (ret)
			goto fail;
		fig_add(&f64m, t);
		ret = time_pairs(lockfree, hlf, cfg.iters, &t);
		if (ret)
			goto fail;
		fig_add(&flf, t);
		fig_add(&fmadv, time_madv_free(page, cfg.iters));
		fig_add(&fpid, time_getpid(cfg.iters));
	}
	fig_print(&f4k, "suspend+resume of a written 4 KiB region");
	fig_print(&f64m, big == 64 * MiB ?
		  "suspend+resume of a written 64 MiB region" :
		  "suspend+resume of a written 16 MiB region (quick)");
	fig_print(&flf, "the same pair of a 4 KiB region, through state words");
	fig_print(&fmadv, "madvise(MADV_FREE) of a page + a write to it");
	fig_print(&fpid, "getpid(), for scale");
	ratio_set(R_PAIR_64M, fig_median(&f64m) / fig_median(&f4k));
	if (big != 64 * MiB)
		ratio_note(R_PAIR_64M, "%llu MiB, quick",
			   (unsigned long long)(big / MiB));
	ratio_set(R_PAIR_MADV, fig_median(&f4k) / fig_median(&fmadv));
	ratio_note(R_PAIR_MADV, "a pair costs %.1f getpid calls",
		   fig_median(&f4k) / fig_median(&fpid));
	ratio_set(R_LOCKFREE, fig_median(&flf) / fig_median(&fmadv));
	ratio_note(R_LOCKFREE, "%.3f of an ioctl pair, %.2f getpid calls",
		   fig_median(&flf) / fig_median(&f4k),
		   fig_median(&flf) / fig_median(&fpid));
	goto out;
fail:
	ratio_fail(R_PAIR_64M, "%s", err(ret));
	ratio_fail(R_PAIR_MADV, "%s", err(ret));
	ratio_fail(R_LOCKFREE, "%s", err(ret));
out:
	if (page != MAP_FAILED)
		munmap(page, PAGE);
	if (lockfree >= 0)
		softmem_close(lockfree);
	if (pool >= 0)
		softmem_close(pool);
}

/*
 * One discard of @bytes by the shrinker: regions of 4 MiB (or fewer bytes)
 * filled and suspended, huge-backed if *@huge, then drop_caches; seconds it
 * took, and in *@huge the bytes that were in huge pages.
 */
static int time_shrinker(uint64_t bytes, double *secs, uint64_t *huge)
{
	uint64_t region = bytes < 4 * MiB ? bytes : 4 * MiB, h, done, before;
	int pool = softmem_open(), ret = 0;
	double t;

	if (pool < 0)
		return pool;
	for (done = 0; done < bytes && !ret; done += region) {
		ret = region_filled_as(pool, region, huge && *huge, &h);
		if (!ret)
			ret = softmem_suspend(pool, h);
	}
	if (ret)
		goto out;
	if (huge)
		*huge = pool_huge(pool);
	before = pool_discarded(pool);
	t = now();
	ret = write_text("/proc/sys/vm/drop_caches", "2");
	*secs = now() - t;
	if (!ret && pool_discarded(pool) - before != bytes) {
		fprintf(stderr, "shrinker: discarded %llu of %llu bytes\n",
			(unsigned long long)(pool_discarded(pool) - before),
			(unsigned long long)bytes);
		ret = -EAGAIN;
	}
out:
	softmem_close(pool);
	return ret;
}

/* munmap() of @bytes of touched anonymous memory in base pages. */
static int time_munmap(uint64_t bytes, double *secs)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t;

	if (p == MAP_FAILED)
		return -errno;
	madvise(p, bytes, MADV_NOHUGEPAGE);
	memset(p, 0x5a, bytes);
	t = now();
	munmap(p, bytes);
	*secs = now() - t;
	return 0;
}

/*
 * shrinker_256m_vs_munmap: the shrinker discarding 256 MiB of suspended
 * regions (drop_caches) against munmap() of 256 MiB of touched anonymous
 * memory in base pages.  Half as much, or
 * less, when a third of the guest's available memory is less than that.
 */
static void bench_shrinker(void)
{
	struct figure fshr = FIGURE("shrinker_discard", "ms");
	struct figure fmun = FIGURE("munmap_anon", "ms");
	struct figure fnone = FIGURE("drop_caches_empty", "ms");
	uint64_t want = cfg.quick ? 16 * MiB : 256 * MiB, bytes = want;
	uint64_t avail = meminfo("MemAvailable");
	char what[96];
	int ret = 0, rep;
	double t;

	while (bytes > 4 * MiB && bytes > avail / 3)
		bytes /= 2;
	/* Other caches go first: the timed drops find only softmem's. */
	write_text("/proc/sys/vm/drop_caches", "3");
	for (rep = 0; rep < cfg.heavy_reps; rep++) {
		ret = time_shrinker(bytes, &t, NULL);
		if (ret)
			break;
		fig_add(&fshr, t);
		ret = time_munmap(bytes, &t);
		if (ret)
			break;
		fig_add(&fmun, t);
		t = now();
		write_text("/proc/sys/vm/drop_caches", "2");
		fig_add(&fnone, now() - t);
	}
	if (ret) {
		ratio_fail(R_SHRINKER, "%s", err(ret));
		return;
	}
	snprintf(what, sizeof(what),
		 "drop_caches discarding %llu MiB of suspended 4 MiB regions",
		 (unsigned long long)(bytes / MiB));
	fig_print(&fshr, what);
	snprintf(what, sizeof(what),
		 "munmap() of %llu MiB of touched anon, base pages",
		 (unsigned long long)(bytes / MiB));
	fig_print(&fmun, what);
	fig_print(&fnone, "drop_caches with nothing of softmem's to drop");
	ratio_set(R_SHRINKER, fig_median(&fshr) / fig_median(&fmun));
	if (bytes != want)
		ratio_note(R_SHRINKER, "%llu MiB: the guest is too small",
			   (unsigned long long)(bytes / MiB));
	else if (cfg.quick)
		ratio_note(R_SHRINKER, "%llu MiB, quick",
			   (unsigned long long)(bytes / MiB));
}

#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

/*
 * THP as the guest has it: a guest under 512 MiB starts at "never", which
 * would leave both sides of the huge ratio on base pages.  Sets "madvise"
 * then (both sides ask with MADV_HUGEPAGE) and returns the mode to restore,
 * else "".
 */
static const char *thp_madvise(void)
{
	static char mode[16];
	char buf[128], *open, *close;

	mode[0] = '\0';
	if (read_text(THP_ENABLED, buf, sizeof(buf)) || !strstr(buf, "[never]"))
		return mode;
	open = strchr(buf, '[');
	close = strchr(buf, ']');
	snprintf(mode, sizeof(mode), "%.*s", (int)(close - open - 1), open + 1);
	if (write_text(THP_ENABLED, "madvise"))
		mode[0] = '\0';
	return mode;
}

/*
 * munmap() of @bytes of touched anonymous memory, 2 MiB-aligned and asked
 * for THP (MADV_HUGEPAGE); seconds, and in *@thp the bytes THP backed.
 */
static int time_munmap_thp(uint64_t bytes, double *secs, uint64_t *thp)
{
	size_t len = bytes + 2 * MiB;
	char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *p = (char *)(((uintptr_t)raw + 2 * MiB - 1) & ~(2 * MiB - 1));
	uint64_t before = meminfo("AnonHugePages");
	double t;

	if (raw == MAP_FAILED)
		return -errno;
	madvise(p, bytes, MADV_HUGEPAGE);
	memset(p, 0x5a, bytes);
	*thp = meminfo("AnonHugePages") - before;
	t = now();
	munmap(raw, len);
	*secs = now() - t;
	return 0;
}

/*
 * First writes to a fresh region of @bytes, huge-backed or not: through
 * WRITE (SET of all of it) when @map is false, else one store a page
 * through a mapping.  Seconds.
 */
static int time_first_write(uint64_t bytes, bool huge, bool map, double *secs)
{
	int pool = softmem_open(), ret;
	void *addr = NULL;
	uint64_t h, off;
	double t;

	if (pool < 0)
		return pool;
	ret = huge ? softmem_alloc_huge(pool, bytes, &h) :
		     softmem_alloc(pool, bytes, &h);
	if (!ret && map) {
		ret = softmem_map(pool, h, 0, bytes, PROT_READ | PROT_WRITE,
				  &addr);
		if (!ret)
			madvise(addr, bytes, MADV_HUGEPAGE);
	}
	if (ret)
		goto out;
	t = now();
	if (map)
		for (off = 0; off < bytes; off += PAGE)
			((volatile char *)addr)[off] = 1;
	else
		ret = softmem_set(pool, h, 0, 0x5a, bytes);
	*secs = now() - t;
out:
	if (addr)
		munmap(addr, bytes);
	softmem_close(pool);
	return ret;
}

/*
 * @iters 8-byte loads at random offsets of a written region of @bytes,
 * mapped, huge-backed or not; seconds per load.
 */
static int time_random_map(uint64_t bytes, bool huge, long iters,
			   double *per_op)
{
	int pool = softmem_open(), ret;
	uint64_t h, seed = 1, sum = 0;
	void *addr = NULL;
	double t;
	long i;

	if (pool < 0)
		return pool;
	ret = region_filled_as(pool, bytes, huge, &h);
	if (!ret)
		ret = softmem_map(pool, h, 0, bytes, PROT_READ, &addr);
	if (ret)
		goto out;
	madvise(addr, bytes, MADV_HUGEPAGE);
	/* Every page mapped before the clock starts. */
	for (i = 0; i < (long)(bytes / PAGE); i++)
		sum += ((volatile uint64_t *)addr)[i * (PAGE / 8)];
	t = now();
	for (i = 0; i < iters; i++)
		sum += ((volatile uint64_t *)addr)[rnd(&seed) % (bytes / 8)];
	*per_op = (now() - t) / iters;
	if (sum == 42)
		printf("#\n");	/* keeps the loads */
out:
	if (addr)
		munmap(addr, bytes);
	softmem_close(pool);
	return ret;
}

/*
 * Prints a figure measured on huge-backed regions of @bytes, then the same
 * on base pages with the ratio between them; @what has a %llu for MiB.
 */
static void print_huge_base(struct figure *huge, struct figure *base,
			    const char *what, uint64_t bytes)
{
	char text[128], line[160];

	snprintf(text, sizeof(text), what, (unsigned long long)(bytes / MiB));
	snprintf(line, sizeof(line), "%s, huge", text);
	fig_print(huge, line);
	snprintf(line, sizeof(line), "the same, base pages (huge/base %.2f)",
		 fig_median(huge) / fig_median(base));
	fig_print(base, line);
}

/*
 * shrinker_256m_huge_vs_munmap_thp: the shrinker discarding 256 MiB of
 * suspended huge-backed regions against munmap() of 256 MiB of THP-backed
 * anonymous memory; then first writes and random loads through a mapping,
 * huge-backed against base pages (figures only).
 */
static void bench_huge(void)
{
	struct figure fshr = FIGURE("shrinker_discard_huge", "ms");
	struct figure fthp = FIGURE("munmap_thp", "ms");
	struct figure fwh = FIGURE("first_write_huge", "ms");
	struct figure fwb = FIGURE("first_write_base", "ms");
	struct figure fmh = FIGURE("first_touch_map_huge", "ms");
	struct figure fmb = FIGURE("first_touch_map_base", "ms");
	struct figure frh = FIGURE("random_map_load_huge", "ns");
	struct figure frb = FIGURE("random_map_load_base", "ns");
	struct figure *access[] = { &fwh, &fwb, &fmh, &fmb, &frh, &frb };
	uint64_t want = cfg.quick ? 16 * MiB : 256 * MiB, bytes = want;
	uint64_t small = cfg.quick ? 16 * MiB : 64 * MiB;
	uint64_t avail = meminfo("MemAvailable"), huge = 0, thp = 0;
	const char *thp_mode;
	char what[128];
	int ret = 0, rep, i;
	double t;

	while (bytes > 4 * MiB && bytes > avail / 3)
		bytes /= 2;
	thp_mode = thp_madvise();
	write_text("/proc/sys/vm/drop_caches", "3");
	write_text("/proc/sys/vm/compact_memory", "1");
	for (rep = 0; rep < cfg.heavy_reps && !ret; rep++) {
		huge = 1;
		ret = time_shrinker(bytes, &t, &huge);
		if (ret)
			break;
		fig_add(&fshr, t);
		ret = time_munmap_thp(bytes, &t, &thp);
		if (!ret)
			fig_add(&fthp, t);
	}
	if (ret) {
		ratio_fail(R_SHRINKER_HUGE, "%s", err(ret));
	} else {
		snprintf(what, sizeof(what),
			 "drop_caches discarding %llu MiB of suspended 4 MiB huge-backed regions",
			 (unsigned long long)(bytes / MiB));
		fig_print(&fshr, what);
		snprintf(what, sizeof(what),
			 "munmap() of %llu MiB of touched anon, MADV_HUGEPAGE",
			 (unsigned long long)(bytes / MiB));
		fig_print(&fthp, what);
		ratio_set(R_SHRINKER_HUGE,
			  fig_median(&fshr) / fig_median(&fthp));
		if (huge < bytes)
			ratio_note(R_SHRINKER_HUGE, "only %llu of %llu MiB huge",
				   (unsigned long long)(huge / MiB),
				   (unsigned long long)(bytes / MiB));
		if (thp < bytes)
			ratio_note(R_SHRINKER_HUGE,
				   "THP backed %llu of %llu MiB of anon",
				   (unsigned long long)(thp / MiB),
				   (unsigned long long)(bytes / MiB));
		if (thp_mode[0])
			ratio_note(R_SHRINKER_HUGE,
				   "THP was %s in the guest, set to madvise",
				   thp_mode);
		if (bytes != want)
			ratio_note(R_SHRINKER_HUGE,
				   "%llu MiB: the guest is too small",
				   (unsigned long long)(bytes / MiB));
		else if (cfg.quick)
			ratio_note(R_SHRINKER_HUGE, "%llu MiB, quick",
				   (unsigned long long)(bytes / MiB));
	}

	/* Huge then base, for each kind: first SET, first stores, loads. */
	for (rep = 0; rep < cfg.heavy_reps && !ret; rep++) {
		for (i = 0; i < 6 && !ret; i++) {
			bool huge_side = !(i % 2);

			if (i < 4)
				ret = time_first_write(small, huge_side, i >= 2,
						       &t);
			else
				ret = time_random_map(small, huge_side,
						      cfg.iters * 10, &t);
			if (!ret)
				fig_add(access[i], t);
		}
	}
	if (thp_mode[0])
		write_text(THP_ENABLED, thp_mode);
	if (ret) {
		printf("# huge-page figures failed: %s\n", err(ret));
		return;
	}
	print_huge_base(&fwh, &fwb, "SET of a fresh %llu MiB region", small);
	print_huge_base(&fmh, &fmb,
			"a store a page through a mapping of a fresh %llu MiB region",
			small);
	print_huge_base(&frh, &frb,
			"8-byte load at a random offset of a mapped %llu MiB region",
			small);
}

/*
 * read/write_1m_vs_rep_movsb, read/write_1m_vs_memcpy, read_4k_vs_memcpy
 * and read_4k_vs_rep_movsb: READ and WRITE of a written region against
 * user-space copies of the same length between touched buffers.  Each
 * value is the baseline's time over softmem's: above 1, softmem is faster.
 */
static void bench_copies(void)
{
	struct figure frd = FIGURE("read_1m", "us");
	struct figure fwr = FIGURE("write_1m", "us");
	struct figure fmov = FIGURE("rep_movsb_1m", "us");
	struct figure fmem = FIGURE("memcpy_1m", "us");
	struct figure frd4 = FIGURE("read_4k", "ns");
	struct figure fmem4 = FIGURE("memcpy_4k", "ns");
	struct figure fmov4 = FIGURE("rep_movsb_4k", "ns");
	long big_iters = cfg.quick ? 10 : 100, i;
	enum ratio_id id;
	char *src = NULL, *dst = NULL;
	uint64_t h1m, h4k;
	int pool, ret, rep;
	double t;

	pool = softmem_open();
	if (pool < 0) {
		ret = pool;
		goto fail;
	}
	ret = region_filled(pool, MiB, &h1m);
	if (!ret)
		ret = region_filled(pool, 4 * KiB, &h4k);
	if (ret)
		goto fail;
	src = aligned_alloc(PAGE, MiB);
	dst = aligned_alloc(PAGE, MiB);
	if (!src || !dst) {
		ret = -ENOMEM;
		goto fail;
	}
	memset(src, 0x5a, MiB);
	memset(dst, 0xa5, MiB);

	for (rep = 0; rep < cfg.reps; rep++) {
		t = now();
		for (i = 0; i < big_iters && !ret; i++)
			ret = softmem_read(pool, h1m, 0, dst, MiB);
		fig_add(&frd, (now() - t) / big_iters);
		t = now();
		for (i = 0; i < big_iters && !ret; i++)
			ret = softmem_write(pool, h1m, 0, src, MiB);
		fig_add(&fwr, (now() - t) / big_iters);
		t = now();
		for (i = 0; i < big_iters; i++)
			rep_movsb(dst, src, MiB);
		fig_add(&fmov, (now() - t) / big_iters);
		t = now();
		for (i = 0; i < big_iters; i++)
			memcpy_fn(dst, src, MiB);
		fig_add(&fmem, (now() - t) / big_iters);

		t = now();
		for (i = 0; i < cfg.iters && !ret; i++)
			ret = softmem_read(pool, h4k, 0, dst, 4 * KiB);
		fig_add(&frd4, (now() - t) / cfg.iters);
		t = now();
		for (i = 0; i < cfg.iters; i++)
			memcpy_fn(dst, src, 4 * KiB);
		fig_add(&fmem4, (now() - t) / cfg.iters);
		t = now();
		for (i = 0; i < cfg.iters; i++)
			rep_movsb(dst, src, 4 * KiB);
		fig_add(&fmov4, (now() - t) / cfg.iters);
		if (ret)
			goto fail;
	}
	fig_print(&frd, "SOFTMEM_IOC_READ of 1 MiB");
	fig_print(&fwr, "SOFTMEM_IOC_WRITE of 1 MiB");
	fig_print(&fmov, "user-space rep movsb of 1 MiB");
	fig_print(&fmem, "user-space memcpy() of 1 MiB");
	fig_print(&frd4, "SOFTMEM_IOC_READ of 4 KiB");
	fig_print(&fmem4, "user-space memcpy() of 4 KiB");
	fig_print(&fmov4, "user-space rep movsb of 4 KiB");
	ratio_set(R_READ_1M_MOVSB, fig_median(&fmov) / fig_median(&frd));
	ratio_set(R_WRITE_1M_MOVSB, fig_median(&fmov) / fig_median(&fwr));
	ratio_set(R_READ_1M_MEMCPY, fig_median(&fmem) / fig_median(&frd));
	ratio_set(R_WRITE_1M_MEMCPY, fig_median(&fmem) / fig_median(&fwr));
	ratio_set(R_READ_4K_MEMCPY, fig_median(&fmem4) / fig_median(&frd4));
	ratio_set(R_READ_4K_MOVSB, fig_median(&fmov4) / fig_median(&frd4));
	/*
	 * TCG emulates rep movsb, which the kernel copies with, far slower
	 * than the vector loads of glibc's memcpy(): there the rep movsb
	 * baseline is the fair one, and the target applies to it.
	 */
	if (cfg.tcg) {
		ratio_note(R_READ_1M_MEMCPY,
			   "TCG: the target applies to rep movsb");
		ratio_note(R_WRITE_1M_MEMCPY,
			   "TCG: the target applies to rep movsb");
		ratio_note(R_READ_4K_MEMCPY,
			   "TCG slows the kernel's rep movsb: see rep movsb");
		ratio_note(R_READ_4K_MOVSB, "the baseline TCG treats alike");
	}
	goto out;
fail:
	for (id = R_READ_1M_MOVSB; id <= R_READ_4K_MOVSB; id++)
		ratio_fail(id, "%s", err(ret));
out:
	free(src);
	free(dst);
	if (pool >= 0)
		softmem_close(pool);
}

/* Allocate up to @want empty regions in @pool; how many it got. */
static uint64_t alloc_regions(int pool, uint64_t want, uint64_t *handles,
			      uint64_t keep_free)
{
	uint64_t n;

	for (n = 0; n < want; n++) {
		if (n % 16384 == 0 && n && meminfo("MemAvailable") < keep_free)
			break;
		if (softmem_alloc(pool, PAGE, &handles[n]))
			break;
	}
	return n;
}

/* @iters suspend+resume pairs on random regions of @handles[0..n). */
static int time_random_pairs(int pool, const uint64_t *handles, uint64_t n,
			     long iters, double *per_op)
{
	uint64_t seed = 1, h;
	double t = now();
	bool lost;
	long i;
	int ret;

	for (i = 0; i < iters; i++) {
		h = handles[rnd(&seed) % n];
		ret = softmem_suspend(pool, h);
		if (!ret)
			ret = softmem_resume(pool, h, &lost);
		if (ret)
			return ret;
	}
	*per_op = (now() - t) / iters;
	return 0;
}

/* @iters reads of 64 bytes from random regions of @handles[0..n). */
static int time_random_reads(int pool, const uint64_t *handles, uint64_t n,
			     long iters, double *per_op)
{
	uint64_t seed = 2;
	char buf[64];
	double t = now();
	long i;
	int ret;

	for (i = 0; i < iters; i++) {
		ret = softmem_read(pool, handles[rnd(&seed) % n], 0, buf,
				   sizeof(buf));
		if (ret)
			return ret;
	}
	*per_op = (now() - t) / iters;
	return 0;
}

/*
 * regions_1m_vs_1k_*: the cost of an operation on a random region of a pool
 * of 1 M regions against one of 1 K.  The regions are empty (a page each
 * would take 4 GiB): this is the cost of finding a region, not its pages.
 */
static void bench_regions(void)
{
	struct figure fsp = FIGURE("pair_1k_regions", "ns");
	struct figure fbp = FIGURE("pair_1m_regions", "ns");
	struct figure fsr = FIGURE("read64_1k_regions", "ns");
	struct figure fbr = FIGURE("read64_1m_regions", "ns");
	uint64_t want = cfg.quick ? 16384 : 1ULL << 20, small_n = 1024, big_n;
	uint64_t *small = NULL, *big = NULL, avail;
	int small_pool = -1, big_pool = -1, ret = 0, rep;
	char what[96];
	double t;

	ret = param_raise("max_regions", want + small_n + 1024);
	if (!ret)
		ret = param_raise("pool_max_regions", want + small_n + 1024);
	small = calloc(small_n, sizeof(*small));
	big = calloc(want, sizeof(*big));
	if (!ret && (!small || !big))
		ret = -ENOMEM;
	if (ret)
		goto fail;
	small_pool = softmem_open();
	big_pool = softmem_open();
	if (small_pool < 0 || big_pool < 0) {
		ret = small_pool < 0 ? small_pool : big_pool;
		goto fail;
	}
	if (alloc_regions(small_pool, small_n, small, 0) != small_n) {
		ret = -ENOMEM;
		goto fail;
	}
	t = now();
	avail = meminfo("MemAvailable");
	big_n = alloc_regions(big_pool, want, big, 96 * MiB);
	printf("# %llu regions allocated in %.1f s, MemAvailable down %lld MiB\n",
	       (unsigned long long)big_n, now() - t,
	       ((long long)avail - (long long)meminfo("MemAvailable")) /
	       (long long)MiB);
	if (big_n < small_n * 8) {
		ret = -ENOMEM;
		goto fail;
	}

	for (rep = 0; rep < cfg.reps && !ret; rep++) {
		ret = time_random_pairs(small_pool, small, small_n, cfg.iters,
					&t);
		fig_add(&fsp, t);
		if (!ret)
			ret = time_random_pairs(big_pool, big, big_n, cfg.iters,
						&t);
		fig_add(&fbp, t);
		if (!ret)
			ret = time_random_reads(small_pool, small, small_n,
						cfg.iters, &t);
		fig_add(&fsr, t);
		if (!ret)
			ret = time_random_reads(big_pool, big, big_n, cfg.iters,
						&t);
		fig_add(&fbr, t);
	}
	if (ret)
		goto fail;
	fig_print(&fsp, "suspend+resume of a random region of 1024");
	snprintf(what, sizeof(what),
		 "suspend+resume of a random region of %llu",
		 (unsigned long long)big_n);
	fig_print(&fbp, what);
	fig_print(&fsr, "64-byte READ of a random region of 1024");
	snprintf(what, sizeof(what), "64-byte READ of a random region of %llu",
		 (unsigned long long)big_n);
	fig_print(&fbr, what);
	ratio_set(R_REGIONS_PAIR, fig_median(&fbp) / fig_median(&fsp));
	ratio_set(R_REGIONS_READ, fig_median(&fbr) / fig_median(&fsr));
	if (big_n != want) {
		ratio_note(R_REGIONS_PAIR,
			   "%llu regions: the guest is too small",
			   (unsigned long long)big_n);
		ratio_note(R_REGIONS_READ,
			   "%llu regions: the guest is too small",
			   (unsigned long long)big_n);
	} else if (cfg.quick) {
		ratio_note(R_REGIONS_PAIR, "%llu regions, quick",
			   (unsigned long long)big_n);
		ratio_note(R_REGIONS_READ, "%llu regions, quick",
			   (unsigned long long)big_n);
	}
	goto out;
fail:
	ratio_fail(R_REGIONS_PAIR, "%s", err(ret));
	ratio_fail(R_REGIONS_READ, "%s", err(ret));
out:
	t = now();
	if (big_pool >= 0)
		softmem_close(big_pool);
	if (small_pool >= 0)
		softmem_close(small_pool);
	if (big_pool >= 0)
		printf("# pools of regions closed in %.1f s\n", now() - t);
	free(small);
	free(big);
}

/*
 * What one thread of bench_threads() runs.  Workers are cache-line aligned,
 * their buffers too, so that the two threads share no line.
 */
struct worker {
	pthread_t thread;
	pthread_barrier_t *start;
	int pool;		/* -1: the plain memory loop */
	int ret;
	uint64_t handle;
	long iters;
	/* The plain loop's memory. */
	uint64_t buf[512] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	bool lost;
	long i;
	int j;

	pthread_barrier_wait(w->start);
	for (i = 0; i < w->iters && !w->ret; i++) {
		if (w->pool < 0) {
			for (j = 0; j < 512; j++)
				w->buf[j] += j ^ i;
			clobber(w->buf);
			continue;
		}
		w->ret = softmem_suspend(w->pool, w->handle);
		if (!w->ret)
			w->ret = softmem_resume(w->pool, w->handle, &lost);
	}
	return NULL;
}

/* Run @n workers of @w at once; the wall time from start to the last end. */
static int time_workers(struct worker *w, int n, double *secs)
{
	pthread_barrier_t start;
	int i, ret = 0;
	double t;

	pthread_barrier_init(&start, NULL, n + 1);
	for (i = 0; i < n; i++) {
		w[i].start = &start;
		w[i].ret = 0;
		ret = -pthread_create(&w[i].thread, NULL, worker_run, &w[i]);
		if (ret) {
			/* Nobody would wait for the barrier: give up. */
			fprintf(stderr, "pthread_create: %s\n", err(ret));
			exit(1);
		}
	}
	pthread_barrier_wait(&start);
	t = now();
	for (i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		ret = ret ? ret : w[i].ret;
	}
	*secs = now() - t;
	pthread_barrier_destroy(&start);
	return ret;
}

/* Set the workers up for a run: pools, handles and operations. */
static void workers_set(struct worker *w, int pool0, uint64_t h0, int pool1,
			uint64_t h1, long iters)
{
	w[0].pool = pool0;
	w[0].handle = h0;
	w[1].pool = pool1;
	w[1].handle = h1;
	w[0].iters = iters;
	w[1].iters = iters;
}

/*
 * threads_2_vs_1_over_plain: how 2 threads doing suspend+resume pairs on
 * distinct regions of one pool scale over 1 (2 x T1 / T2, 2 is perfect),
 * over how a plain memory loop scales in the same guest at the same time.
 * The same with the regions in two pools is a raw figure: it tells the
 * pool's locks from the module's.
 */
static void bench_threads(void)
{
	struct figure fs = FIGURE("scaling_softmem", "");
	struct figure fs2 = FIGURE("scaling_2_pools", "");
	struct figure fp = FIGURE("scaling_plain", "");
	struct figure fs1 = FIGURE("pair_1_thread", "ns");
	struct figure fp1 = FIGURE("plain_1_thread", "ns");
	int pool = -1, other = -1, ret = 0, rep;
	uint64_t h[2], h_other;
	struct worker *w;
	long plain_iters;
	double t1, t2, t2p, tp1, tp2;

	if (cfg.cpus < 2) {
		ratio_fail(R_THREADS, "the guest has 1 CPU");
		return;
	}
	w = aligned_alloc(64, 2 * sizeof(*w));
	if (!w) {
		ret = -ENOMEM;
		goto fail;
	}
	memset(w, 0, 2 * sizeof(*w));
	pool = softmem_open();
	other = softmem_open();
	if (pool < 0 || other < 0) {
		ret = pool < 0 ? pool : other;
		goto fail;
	}
	ret = region_filled(pool, 4 * KiB, &h[0]);
	if (!ret)
		ret = region_filled(pool, 4 * KiB, &h[1]);
	if (!ret)
		ret = region_filled(other, 4 * KiB, &h_other);
	if (ret)
		goto fail;

	/* The plain loop runs about as long as the pairs. */
	workers_set(w, pool, h[0], pool, h[1], cfg.iters);
	ret = time_workers(w, 1, &t1);
	workers_set(w, -1, 0, -1, 0, cfg.iters);
	if (!ret)
		ret = time_workers(w, 1, &tp1);
	if (ret)
		goto fail;
	plain_iters = (long)(cfg.iters * t1 / tp1);
	plain_iters = plain_iters < 100 ? 100 : plain_iters;

	for (rep = 0; rep < cfg.reps && !ret; rep++) {
		workers_set(w, pool, h[0], pool, h[1], cfg.iters);
		ret = time_workers(w, 1, &t1);
		if (!ret)
			ret = time_workers(w, 2, &t2);
		workers_set(w, pool, h[0], other, h_other, cfg.iters);
		if (!ret)
			ret = time_workers(w, 2, &t2p);
		workers_set(w, -1, 0, -1, 0, plain_iters);
		if (!ret)
			ret = time_workers(w, 1, &tp1);
		if (!ret)
			ret = time_workers(w, 2, &tp2);
		fig_add(&fs, 2 * t1 / t2);
		fig_add(&fs2, 2 * t1 / t2p);
		fig_add(&fp, 2 * tp1 / tp2);
		fig_add(&fs1, t1 / cfg.iters);
		fig_add(&fp1, tp1 / plain_iters);
	}
	if (ret)
		goto fail;
	fig_print(&fs1, "suspend+resume, 1 thread");
	fig_print(&fp1, "a pass of a plain loop over 4 KiB, 1 thread");
	fig_print(&fs, "2 threads' pairs over 1's (2 x T1 / T2), one pool");
	fig_print(&fs2, "the same, each thread's region in its own pool");
	fig_print(&fp, "2 threads' plain loops over 1's");
	ratio_set(R_THREADS, fig_median(&fs) / fig_median(&fp));
	ratio_note(R_THREADS, "%.2f / %.2f", fig_median(&fs), fig_median(&fp));
	goto out;
fail:
	ratio_fail(R_THREADS, "%s", err(ret));
out:
	if (other >= 0)
		softmem_close(other);
	if (pool >= 0)
		softmem_close(pool);
	free(w);
}

/* Fill @nr suspended regions of @bytes in @pool from a child in @cgroup. */
static int fill_in_cgroup(int pool, const char *cgroup, int nr, uint64_t bytes)
{
	char procs[192];
	uint64_t h;
	pid_t child;
	int i, status;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup);
	child = fork();
	if (child < 0)
		return -errno;
	if (!child) {
		if (write_text(procs, "0"))
			_exit(1);
		for (i = 0; i < nr; i++)
			if (region_filled(pool, bytes, &h) ||
			    softmem_suspend(pool, h))
				_exit(2);
		_exit(0);
	}
	if (waitpid(child, &status, 0) != child)
		return -errno;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -EIO;
}

/*
 * One memory.high lowering by @asked in a fresh cgroup holding @nr suspended
 * regions of @bytes: the bytes discarded over @asked.
 */
static int memcg_once(int nr, uint64_t bytes, uint64_t asked, double *ratio)
{
	char cgroup[128], path[192];
	uint64_t usage, before;
	int pool, ret;

	snprintf(cgroup, sizeof(cgroup), CGROUP_ROOT "/softmem-bench-%d",
		 getpid());
	if (mkdir(cgroup, 0755) && errno != EEXIST)
		return -errno;
	/* A cgroup left over from a repetition whose rmdir failed. */
	snprintf(path, sizeof(path), "%s/memory.high", cgroup);
	write_text(path, "max");
	pool = softmem_open();
	if (pool < 0) {
		ret = pool;
		goto out;
	}
	ret = fill_in_cgroup(pool, cgroup, nr, bytes);
	if (ret)
		goto out;
	before = pool_discarded(pool);
	if (before) {
		ret = -EAGAIN;	/* discards while filling: no measure */
		goto out;
	}
	snprintf(path, sizeof(path), "%s/memory.current", cgroup);
	ret = read_u64(path, &usage);
	if (ret)
		goto out;
	snprintf(path, sizeof(path), "%s/memory.high", cgroup);
	ret = write_u64(path, usage - asked);
	if (!ret)
		*ratio = (double)(pool_discarded(pool) - before) / asked;
out:
	if (pool >= 0)
		softmem_close(pool);
	rmdir(cgroup);
	return ret;
}

/*
 * memcg_high_discarded_vs_asked: a memory cgroup holds 64 suspended regions
 * of 4 MiB; memory.high lowered by 64 MiB below its usage must discard
 * about 64 MiB, not all of them.
 */
static void bench_memcg(void)
{
	struct figure f = FIGURE("memcg_discarded", "");
	int nr = cfg.quick ? 16 : 64, rep, ret = 0;
	uint64_t asked = nr / 4 * 4 * MiB;
	char controllers[256], what[96];
	double r = 0;

	if (read_text(CGROUP_ROOT "/cgroup.controllers", controllers,
		      sizeof(controllers)) || !strstr(controllers, "memory")) {
		ratio_fail(R_MEMCG, "no cgroup v2 memory controller at "
			   CGROUP_ROOT);
		return;
	}
	write_text(CGROUP_ROOT "/cgroup.subtree_control", "+memory");
	for (rep = 0; rep < cfg.heavy_reps && !ret; rep++) {
		ret = memcg_once(nr, 4 * MiB, asked, &r);
		fig_add(&f, r * asked / MiB);
	}
	if (ret) {
		ratio_fail(R_MEMCG, "%s", err(ret));
		return;
	}
	snprintf(what, sizeof(what),
		 "MiB discarded for %llu MiB asked of %d x 4 MiB suspended",
		 (unsigned long long)(asked / MiB), nr);
	fig_print(&f, what);
	ratio_set(R_MEMCG, fig_median(&f) * MiB / asked);
	if (cfg.quick)
		ratio_note(R_MEMCG, "%llu MiB of %d MiB, quick",
			   (unsigned long long)(asked / MiB), nr * 4);
}

/* --------------------------------------------------------------- pressure */

/*
 * The two ratios of the pressure demo (examples/pressure-demo), from the
 * "result" lines of its ways run in this guest before the bench
 * (tools/bench.sh): none, softmem, anon (no swap) and anon+zram.
 */
struct way {
	const char *name;
	long long hog_ms, oom_kills;
	bool found;
};

static void pressure_read(const char *path, struct way *ways, int nr)
{
	char line[1024], name[64];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		const char *hog = strstr(line, " hog_ms=");
		const char *kills = strstr(line, " oom_kills=");

		if (sscanf(line, "result %63s", name) != 1 || !hog || !kills)
			continue;
		for (int i = 0; i < nr; i++) {
			if (strcmp(name, ways[i].name))
				continue;
			ways[i].hog_ms = strtoll(hog + 8, NULL, 10);
			ways[i].oom_kills = strtoll(kills + 11, NULL, 10);
			ways[i].found = true;
		}
	}
	fclose(f);
}

static void bench_pressure(const char *path)
{
	struct way ways[] = {
		{ .name = "none" }, { .name = "softmem" },
		{ .name = "anon" }, { .name = "anon+zram" },
	};
	struct way *none = &ways[0], *soft = &ways[1], *anon = &ways[2];
	struct way *zram = &ways[3];
	double extra_soft, extra_zram;

	pressure_read(path, ways, 4);
	for (int i = 0; i < 4; i++) {
		if (ways[i].found)
			continue;
		ratio_fail(R_ZRAM, "no result of the way %s in %s",
			   ways[i].name, path);
		ratio_fail(R_OOM, "no result of the way %s in %s",
			   ways[i].name, path);
		return;
	}
	printf("# pressure: competitor's ms to get its memory: none %lld, softmem %lld, anon+zram %lld; OOM kills: softmem %lld, anon %lld\n",
	       none->hog_ms, soft->hog_ms, zram->hog_ms, soft->oom_kills,
	       anon->oom_kills);
	extra_soft = soft->hog_ms - none->hog_ms;
	extra_zram = zram->hog_ms - none->hog_ms;
	/* A busy host moves each way's time by seconds: no ratio then. */
	if (none->hog_ms < 0 || soft->hog_ms < 0 || zram->hog_ms < 0)
		ratio_unformed(R_ZRAM, "a competitor was OOM-killed: none %lld, softmem %lld, anon+zram %lld ms",
			       none->hog_ms, soft->hog_ms, zram->hog_ms);
	else if (extra_zram <= 0)
		ratio_unformed(R_ZRAM, "zram cost the competitor no time this run: %lld ms, %lld with no cache",
			       zram->hog_ms, none->hog_ms);
	else
		ratio_set(R_ZRAM, extra_soft / extra_zram);
	ratio_note(R_ZRAM, "extra %.0f vs %.0f ms", extra_soft, extra_zram);
	if (anon->oom_kills) {
		ratio_set(R_OOM, (double)soft->oom_kills / anon->oom_kills);
		ratio_note(R_OOM, "%lld / %lld kills", soft->oom_kills,
			   anon->oom_kills);
	} else {
		ratio_unformed(R_OOM, "anon without swap caused no OOM kill this run; softmem %lld",
			       soft->oom_kills);
	}
	if (cfg.quick) {
		ratio_note(R_ZRAM, "quick");
		ratio_note(R_OOM, "quick");
	}
}

/* ----------------------------------------------------------------- header */

/* "kvm", "tcg" or another word for how the guest runs. */
static const char *accelerator(const char *cpu_model, char *how, size_t size)
{
	const char *env = getenv("SOFTMEM_BENCH_ACCEL");
	unsigned int a = 0, b = 0, c = 0, d = 0;
	char sig[13] = "";

	if (env && *env) {
		snprintf(how, size, "from the host");
		return env;
	}
#if defined(__x86_64__) || defined(__i386__)
	__cpuid(1, a, b, c, d);
	if (c & (1U << 31)) {
		__cpuid(0x40000000, a, b, c, d);
		memcpy(sig, &b, 4);
		memcpy(sig + 4, &c, 4);
		memcpy(sig + 8, &d, 4);
	}
#endif
	if (!strcmp(sig, "KVMKVMKVM")) {
		snprintf(how, size, "CPUID hypervisor signature");
		return "kvm";
	}
	if (strstr(cpu_model, "TCG") || !strcmp(sig, "TCGTCGTCGTCG")) {
		snprintf(how, size, "CPU model and CPUID");
		return "tcg";
	}
	snprintf(how, size, "CPUID");
	return sig[0] ? "another hypervisor" : "bare metal";
}

static void print_header(void)
{
	const char *host = getenv("SOFTMEM_BENCH_HOST_CPU");
	char line[256], model[160] = "unknown", how[64];
	const char *accel;
	struct utsname u;
	FILE *f;

	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			snprintf(model, sizeof(model), "%s",
				 strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	}
	if (f)
		fclose(f);
	accel = accelerator(model, how, sizeof(how));
	cfg.tcg = !strcasecmp(accel, "tcg");
	uname(&u);
	printf("# softmem bench: kernel %s, %d CPUs, %llu MiB RAM\n",
	       u.release, cfg.cpus,
	       (unsigned long long)(meminfo("MemTotal") / MiB));
	printf("# CPU: %s (guest)%s%s%s\n", model, host && *host ? ", " : "",
	       host && *host ? host : "", host && *host ? " (host)" : "");
	printf("# accelerator: %s (%s)\n", cfg.tcg ? "TCG" :
	       !strcasecmp(accel, "kvm") ? "KVM" : accel, how);
	printf("# mode: %s, %d repetitions (%d for the heavy ones), %ld operations a repetition\n",
	       cfg.quick ? "quick (BENCH_QUICK=1: the figures mean nothing)" :
	       "full", cfg.reps, cfg.heavy_reps, cfg.iters);
	printf("# figures: median of the repetitions, then min and max\n");
	fflush(stdout);
}

static const struct {
	const char *name;
	void (*run)(void);
} sections[] = {
	{ "pairs", bench_pairs },
	{ "batch", bench_batch },
	{ "copies", bench_copies },
	{ "threads", bench_threads },
	{ "shrinker", bench_shrinker },
	{ "huge", bench_huge },
	{ "memcg", bench_memcg },
	{ "regions", bench_regions },
};

int main(int argc, char **argv)
{
	const char *quick = getenv("BENCH_QUICK"), *pressure = NULL;
	double start = now();
	bool failed = false;
	int i;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (i = 0; i < NR_RATIOS; i++)
			printf("%s\n", ratios[i].name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--pressure")) {
		pressure = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: %s [--list | --pressure RESULTS]\n",
			argv[0]);
		return 2;
	}
	cfg.quick = quick && *quick && strcmp(quick, "0");
	cfg.reps = cfg.quick ? 3 : 7;
	cfg.heavy_reps = cfg.quick ? 2 : 5;
	cfg.iters = cfg.quick ? 2000 : 20000;
	cfg.cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	print_header();

	if (access("/dev/softmem", R_OK | W_OK)) {
		for (i = 0; i < NR_RATIOS; i++)
			if (!ratios[i].skip)
				ratio_fail(i, "/dev/softmem: %s",
					   strerror(errno));
	} else {
		/* Room for 256 MiB in one pool whatever the guest's size. */
		if (param_raise("max_bytes", 1ULL << 30) ||
		    param_raise("pool_max_bytes", 1ULL << 30))
			printf("# cannot raise max_bytes and pool_max_bytes\n");
		write_text("/proc/self/oom_score_adj", "-1000");
		for (i = 0; i < (int)(sizeof(sections) / sizeof(sections[0]));
		     i++) {
			double t = now();

			sections[i].run();
			printf("# %s took %.1f s\n", sections[i].name,
			       now() - t);
		}
		params_restore();
	}
	if (pressure) {
		bench_pressure(pressure);
	} else {
		ratio_fail(R_ZRAM, "no --pressure results");
		ratio_fail(R_OOM, "no --pressure results");
	}
	for (i = 0; i < NR_RATIOS; i++) {
		print_ratio(&ratios[i]);
		failed |= ratios[i].failed[0] || (!ratios[i].skip &&
						  !ratios[i].measured);
	}
	printf("# bench done in %.1f s\n", now() - start);
	return failed;
}
