// SPDX-License-Identifier: GPL-2.0
/*
 * softmem-demo: discardable memory at work, as a cache author sees it.
 *
 * 1. A cache fills 48 regions of 4 MiB with data it could regenerate (each
 *    region's bytes are derived from its index) and, being idle, suspends
 *    them all.
 * 2. Another process needs memory: it allocates and touches more anonymous
 *    memory than is free.  There is no swap; the kernel makes room by
 *    discarding suspended regions, and nobody is OOM-killed.
 * 3. The cache comes back: resume tells it, region by region, whether the
 *    data survived.  Intact regions must be byte-for-byte what was written;
 *    discarded ones are regenerated.
 *
 * Exits 0 when all of that held, 1 otherwise (an intact region that changed,
 * a loss resume did not report, an OOM kill, the hog failing).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <softmem.h>

#define MiB		(1024ULL * 1024)
#define NR_REGIONS	48
#define REGION_SIZE	(4 * MiB)

/* The cache: regions it can regenerate from their index. */
struct cache {
	int pool;
	unsigned int nr;			/* regions in use */
	uint64_t handle[NR_REGIONS];
	bool lost[NR_REGIONS];			/* resume said: discarded */
	uint64_t *buf;				/* one region's worth */
	uint64_t *zeros;
};

/* What the cache found when it came back. */
struct outcome {
	unsigned int lost;		/* reported discarded by resume */
	unsigned int changed;		/* reported intact, data differs */
	unsigned int not_zero;		/* reported discarded, not zeros */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The value of @key in a "key value" file such as /proc/vmstat, or -1. */
static long long read_key(const char *path, const char *key)
{
	size_t len = strlen(key);
	long long value = -1;
	char line[256];
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) &&
		    (line[len] == ' ' || line[len] == ':')) {
			value = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -errno;
	ret = fputs(text, f) < 0 ? -EIO : 0;
	if (fclose(f) && !ret)
		ret = -errno;
	return ret;
}

/* What region @index holds: 64-bit words "S", index, word number. */
static void fill_pattern(uint64_t *buf, unsigned int index)
{
	size_t i;

	for (i = 0; i < REGION_SIZE / sizeof(*buf); i++)
		buf[i] = (0x53ULL << 56) | ((uint64_t)index << 32) | i;
}

/* Prints region indices whose flag equals @want as "0-3,7,9-12". */
static void print_ranges(const bool *flags, unsigned int n, bool want)
{
	unsigned int i = 0, start;
	bool first = true;

	while (i < n) {
		if (flags[i] != want) {
			i++;
			continue;
		}
		start = i;
		while (i < n && flags[i] == want)
			i++;
		printf("%s%u", first ? "" : ",", start);
		if (i - 1 > start)
			printf("-%u", i - 1);
		first = false;
	}
}

/*
 * The hog: another process that needs memory.  Allocates and touches @bytes
 * of anonymous memory and exits 0, or 2 if it cannot get it.  It is the one
 * the OOM killer would pick, were it to run.
 */
static void hog_process(uint64_t bytes)
{
	uint64_t off;
	char *p;

	if (write_file("/proc/self/oom_score_adj", "0"))
		fprintf(stderr, "hog: cannot set oom_score_adj\n");
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("hog: mmap");
		_exit(2);
	}
	for (off = 0; off < bytes; off += 4096)
		memset(p + off, (int)(off >> 12), 4096);
	_exit(0);
}

/* Runs the hog and returns 0 if it got its memory, -1 otherwise. */
static int run_hog(uint64_t bytes, double *seconds)
{
	double t0 = now();
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return -1;
	}
	if (pid == 0)
		hog_process(bytes);
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		return -1;
	}
	*seconds = now() - t0;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "FAIL: hog killed by signal %d%s\n",
			WTERMSIG(status),
			WTERMSIG(status) == SIGKILL ? " (OOM kill?)" : "");
		return -1;
	}
	if (WEXITSTATUS(status)) {
		fprintf(stderr, "FAIL: hog could not get its memory\n");
		return -1;
	}
	return 0;
}

/* Fills every region with its data, then suspends them all: idle. */
static int cache_fill(struct cache *c)
{
	unsigned int i;
	int ret;

	for (i = 0; i < c->nr; i++) {
		ret = softmem_alloc(c->pool, REGION_SIZE, &c->handle[i]);
		if (ret)
			return ret;
		fill_pattern(c->buf, i);
		ret = softmem_write(c->pool, c->handle[i], 0, c->buf,
				    REGION_SIZE);
		if (ret)
			return ret;
	}
	for (i = 0; i < c->nr; i++) {
		ret = softmem_suspend(c->pool, c->handle[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The cache comes back.  Resume says which regions were lost; every other
 * one must hold exactly what was written.  A lost one reads as zeros and is
 * regenerated.
 */
static int cache_come_back(struct cache *c, struct outcome *out)
{
	unsigned int i;
	int ret, cmp;

	for (i = 0; i < c->nr; i++) {
		ret = softmem_resume(c->pool, c->handle[i], &c->lost[i]);
		if (ret)
			return ret;
		fill_pattern(c->buf, i);
		if (!c->lost[i]) {
			ret = softmem_compare_buf(c->pool, c->handle[i], 0,
						  c->buf, REGION_SIZE, &cmp);
			if (ret)
				return ret;
			if (cmp) {
				fprintf(stderr,
					"FAIL: region %u intact but changed\n",
					i);
				out->changed++;
			}
			continue;
		}
		out->lost++;
		ret = softmem_compare_buf(c->pool, c->handle[i], 0, c->zeros,
					  REGION_SIZE, &cmp);
		if (ret)
			return ret;
		if (cmp)
			out->not_zero++;
		ret = softmem_write(c->pool, c->handle[i], 0, c->buf,
				    REGION_SIZE);
		if (ret)
			return ret;
	}
	return 0;
}

static void cache_destroy(struct cache *c)
{
	unsigned int i;

	for (i = 0; i < c->nr; i++)
		softmem_free(c->pool, c->handle[i]);
	softmem_close(c->pool);
	free(c->buf);
	free(c->zeros);
}

int main(void)
{
	static struct cache cache;
	struct cache *c = &cache;
	long long mem_total, oom_before, oom_after;
	uint64_t cache_bytes, hog_bytes;
	struct outcome out = { 0 };
	double t0, fill_s, hog_s, back_s;
	struct softmem_stats st;
	bool failed = false;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (write_file("/proc/self/oom_score_adj", "-1000"))
		fprintf(stderr, "note: cannot protect the cache from the OOM killer\n");

	mem_total = read_key("/proc/meminfo", "MemTotal") * 1024;
	oom_before = read_key("/proc/vmstat", "oom_kill");
	if (mem_total <= 0 || oom_before < 0) {
		fprintf(stderr, "cannot read /proc/meminfo or /proc/vmstat\n");
		return 1;
	}

	c->pool = softmem_open();
	if (c->pool < 0) {
		fprintf(stderr, "softmem_open: %s\n", strerror(-c->pool));
		return 1;
	}
	ret = softmem_stats(c->pool, &st);
	if (ret) {
		fprintf(stderr, "softmem_stats: %s\n", strerror(-ret));
		return 1;
	}
	/* The cache's budget: 48 regions, or what the pool's limit allows. */
	c->nr = NR_REGIONS;
	if (c->nr * REGION_SIZE > st.limit_bytes)
		c->nr = st.limit_bytes / REGION_SIZE;
	cache_bytes = c->nr * REGION_SIZE;
	c->buf = malloc(REGION_SIZE);
	c->zeros = calloc(1, REGION_SIZE);
	if (!c->buf || !c->zeros) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	/*
	 * The hog asks for all memory but three quarters of the cache: more
	 * than is free while the cache is resident, far less than is free
	 * once the kernel discards it.
	 */
	hog_bytes = (mem_total - cache_bytes * 3 / 4) / MiB * MiB;

	printf("memory: MemTotal %lld MiB, swap %lld MiB\n", mem_total / MiB,
	       read_key("/proc/meminfo", "SwapTotal") / 1024);

	/* 1. Fill the cache, then leave it idle. */
	t0 = now();
	ret = cache_fill(c);
	if (ret) {
		fprintf(stderr, "filling the cache: %s\n", strerror(-ret));
		return 1;
	}
	fill_s = now() - t0;
	printf("cache: %u regions x %llu MiB filled (%llu MiB) in %.1f s, suspended\n",
	       c->nr, REGION_SIZE / MiB, cache_bytes / MiB, fill_s);

	/* 2. Another process needs memory. */
	if (run_hog(hog_bytes, &hog_s)) {
		printf("hog: FAILED to get %llu MiB, ", hog_bytes / MiB);
		failed = true;
	} else {
		printf("hog: allocated %llu MiB of anonymous memory in %.1f s, ",
		       hog_bytes / MiB, hog_s);
	}
	oom_after = read_key("/proc/vmstat", "oom_kill");
	if (oom_after == oom_before) {
		printf("no OOM kill (oom_kill %lld in /proc/vmstat)\n",
		       oom_after);
	} else {
		printf("OOM KILLS: %lld (oom_kill %lld -> %lld)\n",
		       oom_after - oom_before, oom_before, oom_after);
		failed = true;
	}

	/* 3. The cache comes back. */
	t0 = now();
	ret = cache_come_back(c, &out);
	if (ret) {
		fprintf(stderr, "bringing the cache back: %s\n", strerror(-ret));
		return 1;
	}
	back_s = now() - t0;

	/*
	 * What the kernel counted.  Read now that every region is resumed:
	 * reclaim may still have been at work after the hog exited.
	 */
	ret = softmem_stats(c->pool, &st);
	if (ret) {
		fprintf(stderr, "softmem_stats: %s\n", strerror(-ret));
		return 1;
	}
	printf("kernel: discarded %llu regions (%llu MiB) under pressure\n",
	       (unsigned long long)st.discard_events,
	       (unsigned long long)(st.discarded_bytes / MiB));
	printf("cache: resume reported %u discarded", out.lost);
	if (out.lost) {
		printf(": regions ");
		print_ranges(c->lost, c->nr, true);
	}
	printf("; %u intact, %s; %u silent losses\n", c->nr - out.lost,
	       out.changed ? "NOT all verified" : "all verified", out.changed);
	printf("cache: %u regenerated, resume+verify took %.1f s\n",
	       out.lost, back_s);

	if (out.changed)
		failed = true;
	if (out.lost != st.discard_events) {
		fprintf(stderr, "FAIL: the kernel counted %llu discards, resume reported %u\n",
			(unsigned long long)st.discard_events, out.lost);
		failed = true;
	}
	if (out.not_zero) {
		fprintf(stderr, "FAIL: %u discarded regions did not read as zeros\n",
			out.not_zero);
		failed = true;
	}
	if (!failed && out.lost == 0)
		printf("note: no region was discarded: the hog fit anyway\n");
	if (!failed && out.lost == c->nr)
		printf("note: reclaim discarded the whole cache, more than the hog needed\n");

	cache_destroy(c);
	printf("demo: %s\n", failed ? "FAILED" : "ok");
	return failed;
}
