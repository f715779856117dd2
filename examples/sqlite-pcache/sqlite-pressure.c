// SPDX-License-Identifier: GPL-2.0
/*
 * sqlite-pressure: SQLite's page cache under memory pressure, three ways
 * (what make sqlite-demo runs in its VM, as root).
 *
 * The machine is first made small: a ballast process, which the OOM killer
 * leaves alone, takes all but --free MiB of the available memory.  There
 * is no swap, and dirty page cache is kept under 4 MiB, so that what is
 * left is memory the programs can have.  Then speedtest1 runs three times
 * on a database on disk (--dir) that grows larger than the cache, and while
 * it runs, from its test --trigger on, a competitor allocates and touches
 * --competitor MiB of anonymous memory, holds it --hold seconds and exits.
 *
 *   softmem   the softmem page cache, with cache_size all the free memory
 *             that speedtest1's heap (--heap MiB) and the dirty pages leave,
 *             but no more than --pinned MiB of it pinned (dirty pages spill
 *             to the database file first: speedtest1 --softmem-pinned)
 *   fit       SQLite's default cache, sized so that it, the heap, the dirty
 *             pages and the competitor fit in free memory
 *   overflow  SQLite's default cache with the softmem cache's cache_size:
 *             it does not fit once the competitor comes
 *
 * For each it prints speedtest1's wall time, whether its results equal the
 * fit run's (speedtest1 --verify's hash of every row returned) and the
 * database passed integrity_check, the competitor's allocation time, the
 * OOM kills (/proc/vmstat oom_kill), and speedtest1's memory (its anonymous
 * memory plus its softmem pages) before the competitor came, at its lowest
 * while the competitor held its memory, and at the end, with what softmem
 * discarded.
 *
 *   sqlite-pressure [--dir DIR] [--free MiB] [--competitor MiB] [--heap MiB]
 *                   [--pinned MiB] [--group KiB] [--size N] [--trigger N]
 *                   [--hold SECONDS]
 *                   [--runs softmem,fit,overflow] [--trace 1]
 *
 * --trace 1 prints a "trace" line of the memory every 2 seconds.
 *
 * Exits 0 when the softmem run completed with the fit run's results, no
 * OOM kill and the competitor served; 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

#define MiB		(1024ULL * 1024)

#define DIRTY_MIB	4

static const char *dir = "/mnt";
static unsigned long free_mib = 30, competitor_mib = 14, heap_mib = 6;
static unsigned long pinned_mib = 2, group_kib = 16;
static unsigned int size = 85, trigger = 310, hold_s = 10;
static bool trace;
static const char *runs = "softmem,fit,overflow";
static char here[PATH_MAX];

struct result {
	char name[16];
	long cache_kib;
	bool ran;
	double secs;
	bool exited_ok;		/* speedtest1 exited 0 */
	bool killed;		/* ... or was killed (by SIGKILL) */
	char hash[128];
	bool integrity_ok;
	bool comp_started, comp_ok, comp_killed;
	double comp_secs;
	long oom_kills;
	uint64_t mem_before, mem_low, mem_end;	/* speedtest1's, bytes */
	uint64_t sm_before, sm_low, sm_end;	/* softmem resident bytes */
	uint64_t discarded;			/* softmem discarded bytes */
	char stats[1024];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* The value of field @key (up to its colon) in a /proc or sysfs file. */
static long long read_field(const char *path, const char *key)
{
	char line[256];
	long long v = -1;
	size_t len = strlen(key);
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) &&
		    (line[len] == ':' || line[len] == ' ')) {
			v = strtoll(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static uint64_t read_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

#define SOFTMEM_STATS	"/sys/class/misc/softmem/stats/"

/*
 * The anonymous memory of @pid (its heap, and SQLite's default cache).
 * Its softmem pages are added apart: they show in both RssFile (mapped)
 * and RssShmem (held), so VmRSS counts them twice.
 */
static uint64_t anon_of(pid_t pid)
{
	char path[64];
	long long kib;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	kib = read_field(path, "RssAnon");
	return kib > 0 ? (uint64_t)kib * 1024 : 0;
}

/* Touches @bytes of new anonymous memory; returns it (or NULL). */
static char *grab(uint64_t bytes)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t off;

	if (p == MAP_FAILED)
		return NULL;
	for (off = 0; off < bytes; off += 4096)
		p[off] = (char)(off >> 12 | 1);
	return p;
}

/* The ballast: all but @keep MiB of available memory, never OOM-killed. */
static pid_t start_ballast(unsigned long keep)
{
	long long avail;
	int ready[2];
	pid_t pid;
	char c;

	write_file("/proc/sys/vm/drop_caches", "3");
	avail = read_field("/proc/meminfo", "MemAvailable") / 1024;
	if (avail <= (long long)keep + 16) {
		printf("only %lld MiB available: no ballast\n", avail);
		return -1;
	}
	if (pipe(ready))
		return -1;
	pid = fork();
	if (!pid) {
		write_file("/proc/self/oom_score_adj", "-1000");
		/* Half of what is left above @keep at a time, then 1 MiB. */
		c = 1;
		while (c && (avail = read_field("/proc/meminfo",
						"MemAvailable") / 1024) >
			    (long long)keep) {
			long long step = (avail - (long long)keep) / 2;

			c = !!grab((uint64_t)(step > 1 ? step : 1) * MiB);
		}
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1 || !c) {
		close(ready[0]);
		return -1;
	}
	close(ready[0]);
	return pid;
}

/*
 * The competitor: allocates and touches @mib MiB, tells the parent how long
 * that took through @fd (a double), holds the memory @hold_s seconds.
 */
static pid_t start_competitor(int fd)
{
	pid_t pid = fork();

	if (!pid) {
		double t0 = now(), dt;

		if (!grab(competitor_mib * MiB))
			_exit(2);
		dt = now() - t0;
		if (write(fd, &dt, sizeof(dt)) != sizeof(dt))
			_exit(3);
		sleep(hold_s);
		_exit(0);
	}
	return pid;
}

static void log_kmsg(const char *text)
{
	write_file("/dev/kmsg", text);
}

static void parse_line(struct result *r, const char *line)
{
	if (!strncmp(line, "Verification Hash: ", 19))
		snprintf(r->hash, sizeof(r->hash), "%.100s", line + 19);
	else if (!strcmp(line, "integrity_check: ok"))
		r->integrity_ok = true;
	else if (!strncmp(line, "softmem-pcache: ", 16))
		snprintf(r->stats, sizeof(r->stats), "%.1000s", line + 16);
}

/* The number of the speedtest1 test whose name @line starts with, or 0. */
static unsigned int test_number(const char *line)
{
	unsigned int n;
	char dash;

	if (sscanf(line, " %u %c", &n, &dash) == 2 && dash == '-')
		return n;
	return 0;
}

static void run(struct result *r)
{
	char cache[32], sz[16], pinned[32], group[32], db[PATH_MAX];
	char prog[PATH_MAX + 16];
	char buf[8192], line[2048];
	int out[2], cfd[2], status;
	size_t ll = 0;
	pid_t st, comp = -1;
	long long oom0, oom1;
	uint64_t disc0;
	double t0;
	bool softmem = !strcmp(r->name, "softmem");
	bool comp_done = false, eof = false;
	double next_trace = 0;
	unsigned int test = 0;

	snprintf(cache, sizeof(cache), "%ld", -r->cache_kib);
	snprintf(sz, sizeof(sz), "%u", size);
	snprintf(pinned, sizeof(pinned), "%llu", pinned_mib * MiB);
	snprintf(group, sizeof(group), "%lu", group_kib * 1024);
	snprintf(db, sizeof(db), "%s/speedtest1.db", dir);
	snprintf(prog, sizeof(prog), "%s/speedtest1", here);
	unlink(db);
	sync();
	write_file("/proc/sys/vm/drop_caches", "3");
	if (pipe(out) || pipe(cfd))
		return;
	oom0 = read_field("/proc/vmstat", "oom_kill");
	disc0 = read_u64(SOFTMEM_STATS "discarded_bytes");
	/* vm-run fails a run on an OOM report outside these lines. */
	log_kmsg("softmem-selftest: OOM kill expected");
	r->ran = true;
	r->mem_low = UINT64_MAX;
	r->sm_low = UINT64_MAX;
	t0 = now();
	st = fork();
	if (!st) {
		char *args[] = { prog, "--softmem", "--softmem-pinned", pinned,
				 "--softmem-group", group, "--size", sz,
				 "--cachesize", cache, "--nosync", "--verify", db,
				 NULL };

		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		/* Temporary files (sorts, indexes) on disk too, not in tmpfs. */
		setenv("SQLITE_TMPDIR", dir, 1);
		if (!softmem)
			memmove(&args[1], &args[6],
				sizeof(args) - 6 * sizeof(args[0]));
		execv(prog, args);
		_exit(127);
	}
	close(out[1]);
	while (!eof) {
		struct pollfd pfd = { .fd = out[0], .events = POLLIN };
		uint64_t mem, sm;
		ssize_t n;
		size_t i;

		if (poll(&pfd, 1, 100) > 0) {
			n = read(out[0], buf, sizeof(buf));
			if (n <= 0)
				eof = true;
			for (i = 0; n > 0 && i < (size_t)n; i++) {
				if (buf[i] != '\n' && ll < sizeof(line) - 1) {
					line[ll++] = buf[i];
					continue;
				}
				if (buf[i] != '\n')
					continue;
				line[ll] = 0;
				ll = 0;
				parse_line(r, line);
			}
			/* The test being run: its name came without '\n'. */
			line[ll] = 0;
			if (test_number(line))
				test = test_number(line);
			if (comp < 0 && test_number(line) >= trigger) {
				comp = start_competitor(cfd[1]);
				r->comp_started = comp > 0;
			}
		}
		/* Memory, sampled every 100 ms. */
		mem = anon_of(st);
		sm = read_u64(SOFTMEM_STATS "resident_bytes");
		if (mem)
			mem += sm;
		if (comp < 0) {
			if (mem > r->mem_before)
				r->mem_before = mem;
			if (sm > r->sm_before)
				r->sm_before = sm;
		} else if (!comp_done) {
			if (mem && mem < r->mem_low)
				r->mem_low = mem;
			if (sm < r->sm_low)
				r->sm_low = sm;
			if (waitpid(comp, &status, WNOHANG) == comp) {
				comp_done = true;
				r->comp_ok = WIFEXITED(status) &&
					     !WEXITSTATUS(status);
				r->comp_killed = WIFSIGNALED(status);
			}
		}
		if (mem) {
			r->mem_end = mem;
			r->sm_end = sm;
		}
		if (trace && now() >= next_trace) {
			next_trace = now() + 2;
			printf("trace %s %.0fs test %u: speedtest1 %.1f MiB, softmem resident %.1f suspended %.1f MiB, MemFree %lld MiB, competitor %s\n",
			       r->name, now() - t0, test, mem / (double)MiB,
			       sm / (double)MiB,
			       read_u64(SOFTMEM_STATS "suspended_bytes") /
			       (double)MiB,
			       read_field("/proc/meminfo", "MemFree") / 1024,
			       comp < 0 ? "-" : comp_done ? "gone" : "holding");
		}
	}
	waitpid(st, &status, 0);
	r->secs = now() - t0;
	r->exited_ok = WIFEXITED(status) && !WEXITSTATUS(status);
	r->killed = WIFSIGNALED(status);
	if (comp > 0 && !comp_done) {
		waitpid(comp, &status, 0);
		r->comp_ok = WIFEXITED(status) && !WEXITSTATUS(status);
		r->comp_killed = WIFSIGNALED(status);
	}
	if (r->comp_ok && read(cfd[0], &r->comp_secs, sizeof(r->comp_secs)) !=
	    sizeof(r->comp_secs))
		r->comp_ok = false;
	oom1 = read_field("/proc/vmstat", "oom_kill");
	r->oom_kills = oom1 - oom0;
	r->discarded = read_u64(SOFTMEM_STATS "discarded_bytes") - disc0;
	log_kmsg("softmem-selftest: OOM kill over");
	if (r->mem_low == UINT64_MAX)
		r->mem_low = 0;
	if (r->sm_low == UINT64_MAX)
		r->sm_low = 0;
	close(out[0]);
	close(cfd[0]);
	close(cfd[1]);
	unlink(db);
}

static void mib(char *buf, size_t size_buf, uint64_t bytes)
{
	snprintf(buf, size_buf, "%.1f", bytes / (double)MiB);
}

static void print_table(struct result *rs, int n, const char *ref_hash)
{
	int i;

	printf("\n%-9s %9s %10s %-9s %12s %4s %-28s %s\n", "cache",
	       "cache_size", "speedtest1", "results", "competitor", "OOM",
	       "speedtest1 MiB", "softmem MiB");
	printf("%-9s %9s %10s %-9s %12s %4s %-28s %s\n", "", "(MiB)", "(s)",
	       "", "alloc (s)", "kills", "before/low/end",
	       "before/low/end, discarded");
	for (i = 0; i < n; i++) {
		struct result *r = &rs[i];
		char secs[32], comp[32], res[16], rss[64], sm[96];
		char a[16], b[16], c[16], d[16];

		if (!r->ran)
			continue;
		if (r->killed)
			snprintf(secs, sizeof(secs), "killed");
		else
			snprintf(secs, sizeof(secs), "%.1f", r->secs);
		if (r->killed || !r->exited_ok)
			snprintf(res, sizeof(res), "none");
		else if (ref_hash[0] && !strcmp(r->hash, ref_hash) &&
			 r->integrity_ok)
			snprintf(res, sizeof(res), "equal");
		else if (!ref_hash[0] && r->integrity_ok)
			snprintf(res, sizeof(res), "no ref.");
		else
			snprintf(res, sizeof(res), "DIFFER");
		if (!r->comp_started)
			snprintf(comp, sizeof(comp), "not run");
		else if (r->comp_killed)
			snprintf(comp, sizeof(comp), "killed");
		else if (!r->comp_ok)
			snprintf(comp, sizeof(comp), "failed");
		else
			snprintf(comp, sizeof(comp), "%.2f", r->comp_secs);
		mib(a, sizeof(a), r->mem_before);
		mib(b, sizeof(b), r->mem_low);
		mib(c, sizeof(c), r->mem_end);
		snprintf(rss, sizeof(rss), "%s/%s/%s", a, b, c);
		mib(a, sizeof(a), r->sm_before);
		mib(b, sizeof(b), r->sm_low);
		mib(c, sizeof(c), r->sm_end);
		mib(d, sizeof(d), r->discarded);
		snprintf(sm, sizeof(sm), "%s/%s/%s, %s", a, b, c, d);
		printf("%-9s %9.0f %10s %-9s %12s %4ld %-28s %s\n", r->name,
		       r->cache_kib / 1024.0, secs, res, comp, r->oom_kills,
		       rss, strcmp(r->name, "softmem") ? "-" : sm);
	}
	for (i = 0; i < n; i++)
		if (rs[i].ran && rs[i].stats[0])
			printf("\n%s page cache: %s\n", rs[i].name, rs[i].stats);
}

int main(int argc, char **argv)
{
	struct result rs[8];
	char *list, *name, *save = NULL;
	const char *ref_hash = "";
	struct result *soft = NULL;
	char dirty[32];
	pid_t ballast;
	ssize_t len;
	int i, n = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			fprintf(stderr, "sqlite-pressure: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--dir")) {
			dir = v;
		} else if (!strcmp(a, "--free")) {
			free_mib = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--heap")) {
			heap_mib = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--pinned")) {
			pinned_mib = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--group")) {
			group_kib = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--competitor")) {
			competitor_mib = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--size")) {
			size = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--trigger")) {
			trigger = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--hold")) {
			hold_s = strtoul(v, NULL, 0);
		} else if (!strcmp(a, "--runs")) {
			runs = v;
		} else if (!strcmp(a, "--trace")) {
			trace = strtoul(v, NULL, 0);
		} else {
			fprintf(stderr, "sqlite-pressure: unknown option %s\n", a);
			return 2;
		}
	}
	len = readlink("/proc/self/exe", here, sizeof(here) - 1);
	if (len <= 0)
		return 1;
	here[len] = 0;
	*strrchr(here, '/') = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Few dirty pages: writeback cannot keep up in a small machine. */
	snprintf(dirty, sizeof(dirty), "%llu", DIRTY_MIB * MiB);
	write_file("/proc/sys/vm/dirty_bytes", dirty);
	snprintf(dirty, sizeof(dirty), "%llu", DIRTY_MIB * MiB / 4);
	write_file("/proc/sys/vm/dirty_background_bytes", dirty);
	ballast = start_ballast(free_mib);
	printf("memory: %lld MiB, %lld MiB available after the ballast, swap %lld kB, dirty pages up to %d MiB\n",
	       read_field("/proc/meminfo", "MemTotal") / 1024,
	       read_field("/proc/meminfo", "MemAvailable") / 1024,
	       read_field("/proc/meminfo", "SwapTotal"), DIRTY_MIB);
	printf("speedtest1 --size %u on %s; the competitor takes %lu MiB from test %u on, for %u s\n",
	       size, dir, competitor_mib, trigger, hold_s);
	printf("the softmem cache: %lu KiB regions, at most %lu MiB pinned (PRAGMA cache_spill)\n",
	       group_kib, pinned_mib);

	list = strdup(runs);
	for (name = strtok_r(list, ",", &save); name && n < 8;
	     name = strtok_r(NULL, ",", &save)) {
		struct result *r = &rs[n];

		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		if (!strcmp(name, "fit"))
			r->cache_kib = ((long)free_mib - (long)competitor_mib -
					(long)heap_mib - DIRTY_MIB) * 1024;
		else
			r->cache_kib = ((long)free_mib - (long)heap_mib -
					DIRTY_MIB) * 1024;
		if (r->cache_kib < 1024)
			r->cache_kib = 1024;
		printf("run %s: cache_size %ld KiB ...\n", name, r->cache_kib);
		run(r);
		printf("run %s: %s in %.1f s, %ld OOM kills\n", name,
		       r->killed ? "killed" : r->exited_ok ? "done" : "failed",
		       r->secs, r->oom_kills);
		if (!strcmp(name, "fit") && r->exited_ok && r->integrity_ok)
			ref_hash = r->hash;
		if (!strcmp(name, "softmem"))
			soft = r;
		n++;
	}
	if (!ref_hash[0]) {
		for (i = 0; i < n; i++)
			if (rs[i].exited_ok && rs[i].integrity_ok &&
			    strcmp(rs[i].name, "softmem")) {
				ref_hash = rs[i].hash;
				break;
			}
	}
	print_table(rs, n, ref_hash);
	if (ballast > 0) {
		kill(ballast, SIGKILL);
		waitpid(ballast, NULL, 0);
	}
	free(list);
	if (!soft)
		return 0;
	return soft->exited_ok && soft->integrity_ok && !soft->oom_kills &&
	       soft->comp_ok && (!ref_hash[0] || !strcmp(soft->hash, ref_hash)) ?
	       0 : 1;
}
