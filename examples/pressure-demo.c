// SPDX-License-Identifier: GPL-2.0
/*
 * pressure-demo: one cache under memory pressure, kept five ways.
 *
 *   pressure-demo [options] BACKING
 *
 * BACKING is where the cache keeps its entries:
 *   softmem    regions of a lock-free softmem pool, mapped; an entry is
 *              resumed while it is looked up and suspended otherwise, and a
 *              resume says whether it survived
 *   anon       anonymous memory (swapped if the guest has swap: the caller
 *              sets up zram and names the run with --name)
 *   madv-free  anonymous memory given back with MADV_FREE while idle
 *   droppable  a MAP_DROPPABLE mapping (Linux 6.11 and later)
 *   none       no cache at all: the competitor's baseline
 *
 * The run: the cache fills (--cache-mib, by default 45 % of MemAvailable,
 * 65 % with --balloon) and serves lookups of random entries (--rate a
 * second, 200 by default, or as fast as it can when that is slower),
 * checking every byte of every entry it finds; after --before seconds,
 * a competitor process asks for --hog-mib (75 % of MemAvailable) of
 * anonymous memory, touches it, holds it --hold seconds and leaves; the
 * cache goes on for --after seconds.  With --balloon, no competitor runs:
 * the run prints "pressure-demo: ready" when the cache is full and the
 * before phase is over, for the host to inflate the guest's balloon; the
 * during phase then lasts --hold seconds.
 *
 * Every 200 ms a line
 *   sample NAME T_MS MEMFREE_KIB MEMTOTAL_KIB HELD_KIB
 * gives the time from the start of the pressure, free memory, the guest's
 * memory (which a balloon shrinks) and what the cache holds in memory; at
 * the end one line "result NAME key=value..." gives the run's figures:
 * the competitor's time to get its memory, direct-reclaim stalls, swap
 * traffic, OOM kills and whom they hit, the cache's hit rate per phase,
 * losses reported by the backing and losses it did not report (found only
 * because the cache checks every byte), and what the cache holds at the end.
 *
 * The parent process is the referee: it is never the OOM killer's choice
 * (oom_score_adj -1000), and it tells the kernel log that an OOM kill may
 * follow, so that the test runner does not take its report for a splat.
 * Exits 0 when the run completed, whatever it measured; 1 on a setup error
 * or when softmem data reported intact was not (which must never happen).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <softmem.h>

#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE	0x08
#endif

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define SAMPLE_MS	200

enum backing { NONE, SOFTMEM, ANON, MADV_FREE_BACKING, DROPPABLE };

static const char *const backing_names[] = {
	[NONE] = "none", [SOFTMEM] = "softmem", [ANON] = "anon",
	[MADV_FREE_BACKING] = "madv-free", [DROPPABLE] = "droppable",
};

enum phase { FILL, BEFORE, DURING, AFTER, STOP, NR_PHASES = STOP };

static const char *const phase_names[] = { "fill", "before", "during", "after" };

/* What the cache and the competitor tell the referee, in shared memory. */
struct board {
	_Atomic int phase;
	_Atomic int ready;			/* the cache is full */
	_Atomic uint64_t held;			/* bytes the cache has in memory */
	_Atomic uint64_t lookups[NR_PHASES];
	_Atomic uint64_t hits[NR_PHASES];
	_Atomic uint64_t reported;		/* losses the backing reported */
	_Atomic uint64_t silent;		/* losses found by checking bytes */
	_Atomic uint64_t wrong;			/* softmem said intact, was not */
	_Atomic int64_t hog_ms;			/* competitor's time to get memory */
	char error[160];			/* a child's setup error */
};

struct options {
	enum backing backing;
	const char *name;
	uint64_t cache_bytes, hog_bytes, entry_bytes;
	unsigned int before_s, hold_s, after_s;
	unsigned int rate;			/* lookups a second */
	bool balloon;
};

static struct board *board;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void child_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(board->error, sizeof(board->error), fmt, ap);
	va_end(ap);
	_exit(1);
}

/* A /proc file's "key value" line, in the file's unit; -1 if absent. */
static long long proc_value(const char *path, const char *key)
{
	char line[256];
	size_t len = strlen(key);
	long long value = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) &&
		    (line[len] == ' ' || line[len] == ':')) {
			value = strtoll(line + len + 1 + (line[len] == ':'),
					NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

/* The sum of /proc/vmstat's counters whose names start with @prefix. */
static long long vmstat_sum(const char *prefix)
{
	char name[128];
	long long value, sum = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fscanf(f, "%127s %lld", name, &value) == 2)
		if (!strncmp(name, prefix, strlen(prefix)))
			sum += value;
	fclose(f);
	return sum;
}

static void kmsg(const char *msg)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, msg, strlen(msg)) < 0)
			perror("pressure-demo: /dev/kmsg");
		close(fd);
	}
}

/* ------------------------------------------------------------- the cache */

struct cache {
	enum backing backing;
	uint64_t nr, entry_bytes;
	uint8_t *area;				/* anon, madv-free, droppable */
	int pool;				/* softmem */
	uint64_t *handle;
	uint8_t **map;				/* read through, written by ioctl */
	bool *empty;				/* discarded and not made again */
	uint64_t *buf;				/* an entry's bytes, to write */
	uint64_t discard_events;		/* the pool's, at the last look */
	int64_t backoff_until;			/* no refill before: reclaim runs */
	unsigned char *vec;			/* mincore() */
};

/* An entry's bytes: a sequence only its key gives. */
static uint64_t entry_word(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static void entry_fill(uint64_t key, uint64_t *p, uint64_t bytes)
{
	uint64_t state = (key + 1) * 0x9e3779b97f4a7c15ULL;

	for (uint64_t i = 0; i < bytes / 8; i++)
		p[i] = entry_word(&state);
}

static bool entry_intact(uint64_t key, const volatile uint64_t *p,
			 uint64_t bytes)
{
	uint64_t state = (key + 1) * 0x9e3779b97f4a7c15ULL;

	for (uint64_t i = 0; i < bytes / 8; i++)
		if (p[i] != entry_word(&state))
			return false;
	return true;
}

static uint8_t *entry_addr(struct cache *c, uint64_t key)
{
	return c->backing == SOFTMEM ? c->map[key] : c->area + key * c->entry_bytes;
}

static void cache_setup(struct cache *c, const struct options *o)
{
	int flags = MAP_ANONYMOUS | MAP_PRIVATE, ret;

	c->backing = o->backing;
	c->entry_bytes = o->entry_bytes;
	c->nr = o->cache_bytes / o->entry_bytes;
	if (c->backing != SOFTMEM) {
		if (c->backing == DROPPABLE)
			flags = MAP_ANONYMOUS | MAP_DROPPABLE;
		c->area = mmap(NULL, c->nr * c->entry_bytes,
			       PROT_READ | PROT_WRITE, flags, -1, 0);
		if (c->area == MAP_FAILED)
			child_fail("mmap of %llu MiB (%s): %s",
				   (unsigned long long)(o->cache_bytes / MiB),
				   backing_names[c->backing], strerror(errno));
		c->vec = malloc(c->nr * c->entry_bytes / getpagesize());
		if (!c->vec)
			child_fail("out of memory");
		return;
	}
	c->pool = softmem_open();
	if (c->pool < 0)
		child_fail("softmem_open: %s", strerror(-c->pool));
	ret = softmem_lockfree(c->pool, c->nr);
	if (ret)
		child_fail("softmem_lockfree: %s", strerror(-ret));
	c->handle = calloc(c->nr, sizeof(*c->handle));
	c->map = calloc(c->nr, sizeof(*c->map));
	c->empty = calloc(c->nr, sizeof(*c->empty));
	c->buf = malloc(c->entry_bytes);
	if (!c->handle || !c->map || !c->empty || !c->buf)
		child_fail("out of memory");
	for (uint64_t key = 0; key < c->nr; key++) {
		void *addr;

		ret = softmem_alloc(c->pool, c->entry_bytes, &c->handle[key]);
		if (!ret)
			ret = softmem_map(c->pool, c->handle[key], 0,
					  c->entry_bytes,
					  PROT_READ | PROT_WRITE, &addr);
		if (ret)
			child_fail("softmem entry %llu: %s",
				   (unsigned long long)key, strerror(-ret));
		c->map[key] = addr;
	}
}

/*
 * Bytes of the cache in memory: resident pages, which swap does not count.
 * For softmem, also whether reclaim has discarded entries since the last
 * look: while it does, and for a second after, the cache serves a lost
 * entry's lookup without keeping the entry, rather than taking back the
 * memory the kernel is asking for.  The other ways cannot tell.
 */
static uint64_t cache_held(struct cache *c)
{
	uint64_t pages = 0, len = c->nr * c->entry_bytes;
	struct softmem_stats stats;

	if (c->backing == SOFTMEM) {
		if (softmem_stats(c->pool, &stats))
			return 0;
		if (stats.discard_events != c->discard_events)
			c->backoff_until = now_ms() + 1000;
		c->discard_events = stats.discard_events;
		return stats.resident_bytes;
	}
	if (mincore(c->area, len, c->vec))
		return 0;
	for (uint64_t i = 0; i < len / getpagesize(); i++)
		pages += c->vec[i] & 1;
	return pages * getpagesize();
}

static void entry_resume(struct cache *c, uint64_t key, bool *discarded)
{
	int ret = softmem_resume(c->pool, c->handle[key], discarded);

	if (ret)
		child_fail("softmem_resume: %s", strerror(-ret));
}

static void entry_suspend(struct cache *c, uint64_t key)
{
	int ret = softmem_suspend(c->pool, c->handle[key]);

	if (ret)
		child_fail("softmem_suspend: %s", strerror(-ret));
}

/*
 * Makes an entry again.  softmem's is written with one command, not through
 * its mapping: under pressure a write may find no memory, which the command
 * reports with ENOMEM (and writes nothing), where a store through the
 * mapping would raise SIGBUS.  The entry then stays empty until a later
 * lookup makes it; so does it while reclaim takes softmem's memory back.
 */
static void entry_make(struct cache *c, uint64_t key)
{
	int ret;

	if (c->backing != SOFTMEM) {
		entry_fill(key, (uint64_t *)entry_addr(c, key), c->entry_bytes);
		return;
	}
	entry_fill(key, c->buf, c->entry_bytes);
	c->empty[key] = true;
	if (now_ms() < c->backoff_until)
		return;
	ret = softmem_write(c->pool, c->handle[key], 0, c->buf, c->entry_bytes);
	if (ret && ret != -ENOMEM)
		child_fail("softmem_write: %s", strerror(-ret));
	c->empty[key] = ret;
}

/* One lookup: true when the entry was there and whole. */
static bool cache_lookup(struct cache *c, uint64_t key)
{
	uint8_t *p = entry_addr(c, key);
	bool discarded = false, intact;

	if (c->backing == SOFTMEM)
		entry_resume(c, key, &discarded);
	if (discarded) {
		atomic_fetch_add(&board->reported, 1);
		intact = false;
	} else if (c->backing == SOFTMEM && c->empty[key]) {
		intact = false;
	} else {
		intact = entry_intact(key, (uint64_t *)p, c->entry_bytes);
		if (!intact && c->backing == SOFTMEM)
			atomic_fetch_add(&board->wrong, 1);
		else if (!intact)
			atomic_fetch_add(&board->silent, 1);
	}
	if (!intact)
		entry_make(c, key);
	if (c->backing == SOFTMEM)
		entry_suspend(c, key);
	if (c->backing == MADV_FREE_BACKING &&
	    madvise(p, c->entry_bytes, MADV_FREE))
		child_fail("madvise(MADV_FREE): %s", strerror(errno));
	return intact;
}

static void cache_run(const struct options *o)
{
	struct cache c = { 0 };
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	int64_t next_sample = 0, start;
	int phase;

	prctl(PR_SET_NAME, "demo-cache");
	cache_setup(&c, o);
	for (uint64_t key = 0; key < c.nr; key++) {
		uint8_t *p = entry_addr(&c, key);

		/* A new region is resumed: fill it, then suspend it. */
		entry_make(&c, key);
		if (c.backing == SOFTMEM)
			entry_suspend(&c, key);
		if (c.backing == MADV_FREE_BACKING)
			madvise(p, c.entry_bytes, MADV_FREE);
	}
	atomic_store(&board->held, cache_held(&c));
	atomic_store(&board->ready, 1);

	/*
	 * Lookups come at a steady rate, as requests to a cache do, so that
	 * the cache does not take a CPU from the competitor: what it costs
	 * the competitor is then its memory, not its loop.
	 */
	start = now_ms();
	for (uint64_t n = 0; (phase = atomic_load(&board->phase)) != STOP; n++) {
		uint64_t key = entry_word(&rng) % c.nr;
		int64_t wait = start + (int64_t)(n * 1000 / o->rate) - now_ms();

		/* Behind by more than 100 ms (a stall): no burst to catch up. */
		if (wait < -100)
			start -= wait;
		else if (wait > 0)
			sleep_ms(wait);
		atomic_fetch_add(&board->lookups[phase], 1);
		if (cache_lookup(&c, key))
			atomic_fetch_add(&board->hits[phase], 1);
		if (now_ms() >= next_sample) {
			atomic_store(&board->held, cache_held(&c));
			next_sample = now_ms() + SAMPLE_MS / 2;
		}
	}
	atomic_store(&board->held, cache_held(&c));
	_exit(0);
}

/* --------------------------------------------------------- the competitor */

static void hog_run(const struct options *o)
{
	int64_t start = now_ms();
	uint8_t *p;

	prctl(PR_SET_NAME, "demo-hog");
	p = mmap(NULL, o->hog_bytes, PROT_READ | PROT_WRITE,
		 MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (p == MAP_FAILED)
		child_fail("competitor: mmap: %s", strerror(errno));
	for (uint64_t off = 0; off < o->hog_bytes; off += getpagesize())
		p[off] = 1;
	atomic_store(&board->hog_ms, now_ms() - start);
	sleep_ms(o->hold_s * 1000);
	_exit(0);
}

/* ------------------------------------------------------------ the referee */

struct child {
	const char *what;
	pid_t pid;
	int status;
	bool done;
};

static void set_oom_score_adj(const char *value)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY);

	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value)) {
		perror("pressure-demo: oom_score_adj");
		exit(1);
	}
	close(fd);
}

/* The cache and the competitor are the OOM killer's to choose from. */
static pid_t spawn(void (*run)(const struct options *), const struct options *o)
{
	pid_t pid = fork();

	if (pid < 0) {
		perror("pressure-demo: fork");
		exit(1);
	}
	if (!pid) {
		set_oom_score_adj("0");
		run(o);
	}
	return pid;
}

static bool reap(struct child *ch)
{
	if (ch->pid > 0 && !ch->done &&
	    waitpid(ch->pid, &ch->status, WNOHANG) == ch->pid)
		ch->done = true;
	return ch->done;
}

static bool killed(const struct child *ch)
{
	return ch->done && WIFSIGNALED(ch->status) &&
	       WTERMSIG(ch->status) == SIGKILL;
}

/* Says why a child ended other than by the OOM killer; returns 1. */
static int child_failed(const struct child *ch)
{
	if (WIFSIGNALED(ch->status))
		fprintf(stderr, "pressure-demo: the %s died of signal %d (%s)\n",
			ch->what, WTERMSIG(ch->status),
			strsignal(WTERMSIG(ch->status)));
	else
		fprintf(stderr, "pressure-demo: the %s failed: %s\n", ch->what,
			board->error);
	return 1;
}

static int64_t t0;

static void sample(const struct options *o)
{
	printf("sample %s %lld %lld %lld %llu\n", o->name,
	       (long long)(now_ms() - t0),
	       proc_value("/proc/meminfo", "MemFree"),
	       proc_value("/proc/meminfo", "MemTotal"),
	       (unsigned long long)(atomic_load(&board->held) / KiB));
	fflush(stdout);
}

/* Samples for @ms, or until @until is done when it is given. */
static void watch(const struct options *o, unsigned int ms, struct child *until,
		  struct child *cache)
{
	int64_t end = now_ms() + ms;

	while (until ? !reap(until) : now_ms() < end) {
		if (reap(cache))
			atomic_store(&board->held, 0);
		sample(o);
		sleep_ms(SAMPLE_MS);
	}
}

static double rate(int phase)
{
	uint64_t n = atomic_load(&board->lookups[phase]);

	return n ? 100.0 * atomic_load(&board->hits[phase]) / n : -1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pressure-demo [--name NAME] [--cache-mib N] [--hog-mib N]\n"
		"       [--entry-kib N] [--rate N] [--before S] [--hold S] [--after S]\n"
		"       [--balloon]\n"
		"       softmem|anon|madv-free|droppable|none\n");
	exit(2);
}

static void parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "cache-mib", required_argument, NULL, 'c' },
		{ "hog-mib", required_argument, NULL, 'g' },
		{ "entry-kib", required_argument, NULL, 'e' },
		{ "before", required_argument, NULL, 'b' },
		{ "hold", required_argument, NULL, 'h' },
		{ "after", required_argument, NULL, 'a' },
		{ "balloon", no_argument, NULL, 'B' },
		{ "rate", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	long long avail = proc_value("/proc/meminfo", "MemAvailable") * KiB;
	int opt;

	*o = (struct options){
		.hog_bytes = avail * 75 / 100,
		.entry_bytes = 256 * KiB, .before_s = 4, .hold_s = 8,
		.after_s = 8, .rate = 200,
	};
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n': o->name = optarg; break;
		case 'c': o->cache_bytes = strtoull(optarg, NULL, 0) * MiB; break;
		case 'g': o->hog_bytes = strtoull(optarg, NULL, 0) * MiB; break;
		case 'e': o->entry_bytes = strtoull(optarg, NULL, 0) * KiB; break;
		case 'b': o->before_s = atoi(optarg); break;
		case 'h': o->hold_s = atoi(optarg); break;
		case 'a': o->after_s = atoi(optarg); break;
		case 'B': o->balloon = true; break;
		case 'r': o->rate = atoi(optarg); break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	/* Most of the guest under a balloon; less with a competitor. */
	if (!o->cache_bytes)
		o->cache_bytes = avail * (o->balloon ? 65 : 45) / 100;
	for (o->backing = NONE; o->backing <= DROPPABLE; o->backing++)
		if (!strcmp(argv[optind], backing_names[o->backing]))
			break;
	if (o->backing > DROPPABLE || !o->entry_bytes || !o->rate ||
	    o->entry_bytes % getpagesize() || o->cache_bytes < o->entry_bytes)
		usage();
	if (!o->name)
		o->name = backing_names[o->backing];
}

int main(int argc, char **argv)
{
	struct child cache = { .what = "cache" }, hog = { .what = "competitor" };
	long long stalls, swapin, swapout, kills;
	struct options o;
	int64_t fill_start;
	int status = 0;

	parse(argc, argv, &o);
	set_oom_score_adj("-1000");
	board = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED) {
		perror("pressure-demo: mmap");
		return 1;
	}
	atomic_store(&board->hog_ms, -1);
	printf("# %s: cache of %llu MiB in %s, %s %llu MiB\n", o.name,
	       (unsigned long long)(o.backing == NONE ? 0 : o.cache_bytes / MiB),
	       backing_names[o.backing],
	       o.balloon ? "balloon; guest of" : "competitor of",
	       o.balloon ? (unsigned long long)proc_value("/proc/meminfo", "MemTotal") / 1024 :
			   (unsigned long long)(o.hog_bytes / MiB));

	/* The kernel log says that an OOM kill from here on is the demo's. */
	kmsg("softmem-selftest: OOM kill expected (pressure-demo)\n");
	fill_start = now_ms();
	t0 = fill_start;
	if (o.backing != NONE) {
		cache.pid = spawn(cache_run, &o);
		while (!atomic_load(&board->ready) && !reap(&cache))
			sleep_ms(50);
		if (cache.done)
			return child_failed(&cache);
	}
	printf("# %s: cache filled in %lld ms\n", o.name,
	       (long long)(now_ms() - fill_start));

	atomic_store(&board->phase, BEFORE);
	t0 = now_ms() + o.before_s * 1000;
	watch(&o, o.before_s * 1000, NULL, &cache);

	stalls = vmstat_sum("allocstall");
	swapin = vmstat_sum("pswpin");
	swapout = vmstat_sum("pswpout");
	kills = vmstat_sum("oom_kill");
	atomic_store(&board->phase, DURING);
	if (o.balloon) {
		printf("pressure-demo: ready\n");
		fflush(stdout);
		watch(&o, o.hold_s * 1000, NULL, &cache);
	} else {
		hog.pid = spawn(hog_run, &o);
		watch(&o, 0, &hog, &cache);
		if (hog.done && !killed(&hog) &&
		    (!WIFEXITED(hog.status) || WEXITSTATUS(hog.status)))
			status = child_failed(&hog);
	}
	atomic_store(&board->phase, AFTER);
	watch(&o, o.after_s * 1000, NULL, &cache);
	atomic_store(&board->phase, STOP);
	while (cache.pid > 0 && !reap(&cache))
		sleep_ms(20);
	kmsg("softmem-selftest: OOM kill over (pressure-demo)\n");

	printf("result %s backing=%s cache_mib=%llu hog_mib=%llu hog_ms=%lld "
	       "stalls=%lld swapin_mib=%lld swapout_mib=%lld oom_kills=%lld "
	       "killed=%s",
	       o.name, backing_names[o.backing],
	       (unsigned long long)(o.backing == NONE ? 0 : o.cache_bytes / MiB),
	       (unsigned long long)(o.balloon ? 0 : o.hog_bytes / MiB),
	       (long long)atomic_load(&board->hog_ms),
	       vmstat_sum("allocstall") - stalls,
	       (vmstat_sum("pswpin") - swapin) * getpagesize() / (long long)MiB,
	       (vmstat_sum("pswpout") - swapout) * getpagesize() / (long long)MiB,
	       vmstat_sum("oom_kill") - kills,
	       killed(&cache) && killed(&hog) ? "cache+competitor" :
	       killed(&cache) ? "cache" : killed(&hog) ? "competitor" : "none");
	for (int phase = BEFORE; phase < NR_PHASES; phase++)
		printf(" hit_%s=%.1f lookups_%s=%llu", phase_names[phase],
		       rate(phase), phase_names[phase],
		       (unsigned long long)atomic_load(&board->lookups[phase]));
	printf(" reported=%llu silent=%llu wrong=%llu held_end_mib=%llu\n",
	       (unsigned long long)atomic_load(&board->reported),
	       (unsigned long long)atomic_load(&board->silent),
	       (unsigned long long)atomic_load(&board->wrong),
	       (unsigned long long)(killed(&cache) ? 0 :
				    atomic_load(&board->held) / MiB));
	if (atomic_load(&board->wrong)) {
		fprintf(stderr, "pressure-demo: softmem reported intact data that was not\n");
		return 1;
	}
	if (cache.done && !killed(&cache) &&
	    (!WIFEXITED(cache.status) || WEXITSTATUS(cache.status)))
		return child_failed(&cache);
	return status;
}
